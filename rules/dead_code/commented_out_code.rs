use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{ExceptHandler, ExprContext, ModModule};
use ruff_python_parser::parse_module;
use ruff_python_trivia::CommentRanges;
use ruff_source_file::LineRanges;
use rustc_hash::FxHashSet;

use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds blocks of at least `min-lines` (default 2) consecutive comment lines that are
    /// Python code: the block, with the `#` removed, parses as Python, and it holds real
    /// statements (an assignment, a call, an import, a `def`/`class`, a `return` with a value,
    /// an `if`/`for`/`while`/`with`/`try` with a body, ...). Only lines of real statements count
    /// towards `min-lines`: a shape note next to one commented `print` (`# print(x.shape)`,
    /// `# [b, 10]`) is not two lines of code. A disabled block that blank lines or comments
    /// split into several runs is reported once.
    ///
    /// Not reported: prose (two words in a row are prose, not code), license headers, pragma
    /// comments (`type:`, `noqa`, `pragma`, `fmt:`, `pylint:`, ...), task tags (`TODO`,
    /// `FIXME`, ...), shape notes such as `# (B, C, H, W)`, `# x: (B, T)` or `# [b], int32`,
    /// doctest-style lines (`# >>> ...`), Markdown code fences and their contents (a notebook's
    /// Markdown written as comments), inline script metadata (PEP 723, `# /// script` ...
    /// `# ///`), examples and explanations introduced as such (a preceding line that ends with
    /// a colon, or its paragraph says "e.g.", "example", "usage", "same as", ...), code kept
    /// commented out on purpose (the paragraph just above says "uncomment ...", "commented out
    /// because ...", "alternative ...", "instead of ...", or a comment on the code says
    /// "uncomment" / "comment out"), snippets offered to the reader (the paragraph speaks to
    /// them: "you", "your", "below", "the following") — an example or snippet goes on across
    /// blank lines —, notation and worked values (`# C = hidden_size`, `# tp = [4, 1, 0]`), and
    /// pseudo-code whose names exist nowhere else in the file (`# x = x + attn(ln1(x))`; a name
    /// read only as a module, `spaces.Discrete`, is forgiven when two other names the block reads
    /// exist: disabled code loses its import with it).
    /// Docstrings are strings, not comments, so examples in docstrings are never looked at.
    ///
    /// The fix deletes the block's lines. It is always offered and always unsafe (applied with `--unsafe-fixes` only): a commented-out variant may be
    /// kept on purpose, as documentation of an alternative.
    ///
    /// ## Why is this bad?
    /// Trial-and-error development leaves commented-out variants behind: the old loss, a
    /// disabled augmentation, a debugging loop. Nobody runs or tests them, they rot as the code
    /// around them changes, and readers cannot tell whether they are a switched-off experiment
    /// or a warning. Version control already keeps every old variant.
    ///
    /// ## Example
    /// ```python
    /// def training_step(self, batch):
    ///     x, y = batch
    ///     # logits = self.old_head(self.backbone(x))
    ///     # loss = F.nll_loss(F.log_softmax(logits, -1), y)
    ///     loss = F.cross_entropy(self(x), y)
    ///     return loss
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def training_step(self, batch):
    ///     x, y = batch
    ///     loss = F.cross_entropy(self(x), y)
    ///     return loss
    /// ```
    ///
    /// ## Notebooks
    /// Linted: commented-out code in a cell is as dead as in a module, and a notebook that keeps
    /// variants commented out hides which one produced the outputs saved below it.
    pub static COMMENTED_OUT_CODE = {
        code: "DL302",
        name: "commented-out-code",
        family: Family::DeadCode,
        severity: Severity::Warning,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::AlwaysUnsafe,
        options: &[OptionSpec {
            key: "min-lines",
            kind: OptionKind::Int,
            default: "2",
            doc: "The fewest comment lines of real statements that are reported.",
        }],
        check: Check::File(|options| {
            Box::new(CommentedOutCode {
                min_lines: usize::try_from(options.int(&COMMENTED_OUT_CODE, "min-lines"))
                    .unwrap_or(usize::MAX)
                    .max(1),
            })
        }),
        needs: Needs::Nothing,
    };
}

struct CommentedOutCode {
    min_lines: usize,
}

impl<'a> FilePass<'a> for CommentedOutCode {
    fn hooks(&self) -> Hooks {
        Hooks::NONE
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        let text = cx.text();
        let known = Known {
            text,
            knowledge: cx.knowledge,
            star_import: cx.module.body.iter().any(|stmt| {
                matches!(stmt, Stmt::ImportFrom(import)
                    if import.names.iter().any(|alias| alias.name.as_str() == "*"))
            }),
        };
        // Blocks of consecutive own-line comments.
        let mut blocks: Vec<Vec<Line<'_>>> = Vec::new();
        let mut block: Vec<Line<'_>> = Vec::new();
        let mut next_line_start: Option<TextSize> = None;
        for range in cx.comments {
            let line_start = text.line_start(range.start());
            let own_line = text[TextRange::new(line_start, range.start())]
                .trim()
                .is_empty();
            let continues = own_line && next_line_start == Some(line_start);
            if !continues && !block.is_empty() {
                blocks.push(std::mem::take(&mut block));
            }
            if own_line {
                block.push(Line::new(range, &text[range]));
                next_line_start = Some(text.full_line_end(range.end()));
            } else {
                next_line_start = None;
            }
        }
        if !block.is_empty() {
            blocks.push(block);
        }
        let mut found = Vec::new();
        // The previous block ended in an example or a snippet kept on purpose.
        let mut excluded = false;
        for i in 0..blocks.len() {
            mark_documentation(&mut blocks[i]);
            // The block just above, when only blank lines separate the two: its last lines
            // may be the prose that introduces this one.
            let above = i
                .checked_sub(1)
                .map(|j| &blocks[j])
                .filter(|above| {
                    let (end, start) = (
                        above[above.len() - 1].range.end(),
                        blocks[i][0].range.start(),
                    );
                    end <= start && text[TextRange::new(end, start)].trim().is_empty()
                })
                .map(Vec::as_slice);
            // An example or opt-in snippet goes on across blank lines.
            let continues = excluded && above.is_some();
            excluded = self.block(&known, &blocks[i], above, continues, &mut found);
        }
        for finding in merge_blocks(text, cx.comments, found) {
            report(cx, &finding);
        }
    }
}

/// One own-line comment.
struct Line<'t> {
    range: TextRange,
    /// The text after the leading `#` characters.
    body: &'t str,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `#` alone: a blank line inside the code.
    Blank,
    /// Could be a line of code.
    Code,
    /// Certainly not code: prose, a pragma, a separator. Ends a run of code.
    Stop,
}

impl<'t> Line<'t> {
    fn new(range: TextRange, comment: &'t str) -> Self {
        let body = comment.trim_start_matches('#');
        Line {
            range,
            body,
            kind: classify(body),
        }
    }
}

/// Comment lines that are code: one run, or several runs of one disabled block.
struct Finding {
    range: TextRange,
    /// Runs of code merged into this block.
    runs: usize,
    lines: usize,
    first: String,
}

/// Findings with nothing but blank lines and comments between them are one disabled block,
/// split by blank lines or by comments inside it: report them once.
fn merge_blocks(text: &str, comments: &CommentRanges, found: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for finding in found {
        if let Some(last) = out.last_mut()
            && last.range.end() <= finding.range.start()
            && only_comments_between(text, comments, last.range.end(), finding.range.start())
        {
            last.range = TextRange::new(last.range.start(), finding.range.end());
            last.runs += finding.runs;
            last.lines += finding.lines;
            continue;
        }
        out.push(finding);
    }
    out
}

fn only_comments_between(
    text: &str,
    comments: &CommentRanges,
    start: TextSize,
    end: TextSize,
) -> bool {
    let gap = TextRange::new(start, end);
    let mut at = start;
    for comment in comments.comments_in_range(gap) {
        if !text[TextRange::new(at, comment.start())].trim().is_empty() {
            return false;
        }
        at = comment.end();
    }
    text[TextRange::new(at, end)].trim().is_empty()
}

/// Lines that are documentation, not code, whatever they look like: a Markdown code fence and
/// the example inside it (```` ```python ````, in a notebook's Markdown written as comments),
/// and inline script metadata (PEP 723: `# /// script` ... `# ///`).
fn mark_documentation(block: &mut [Line<'_>]) {
    let mut fence = false;
    let mut metadata = false;
    for line in block.iter_mut() {
        let text = line.body.trim();
        if text.starts_with("```") {
            fence = !fence;
            line.kind = Kind::Stop;
        } else if let Some(rest) = text.strip_prefix("///") {
            // `/// script` opens a metadata block, a bare `///` closes it.
            let rest = rest.trim();
            metadata = !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            line.kind = Kind::Stop;
        } else if fence || metadata {
            line.kind = Kind::Stop;
        }
    }
}

impl CommentedOutCode {
    /// Find the runs of code in one block of consecutive own-line comments. `above` is the
    /// block just above, when only blank lines separate them; `continues` says that block
    /// ended in an example or a snippet kept on purpose, which a run at the very start of this
    /// block continues. Returns whether this block ends in one.
    fn block(
        &self,
        known: &Known<'_>,
        block: &[Line<'_>],
        above: Option<&[Line<'_>]>,
        continues: bool,
        found: &mut Vec<Finding>,
    ) -> bool {
        let mut excluded = false;
        let mut start = 0;
        while start < block.len() {
            if block[start].kind != Kind::Code {
                start += 1;
                continue;
            }
            let mut end = start;
            while end < block.len() && block[end].kind != Kind::Stop {
                end += 1;
            }
            // Trailing blank comment lines are not part of the code.
            let mut last = end;
            while last > start && block[last - 1].kind == Kind::Blank {
                last -= 1;
            }
            let run = &block[start..last];
            let at_start = block[..start].iter().all(|l| stripped(l).is_empty());
            excluded = (continues && at_start)
                || introduces_example(&block[..start])
                || kept_on_purpose(&block[..start], above, run);
            if !excluded && block.len() >= self.min_lines {
                self.run(known, run, found);
            }
            start = end;
        }
        // Prose after the last run ends the example.
        excluded
            && block
                .iter()
                .rev()
                .find(|l| !stripped(l).is_empty())
                .is_some_and(|l| l.kind == Kind::Code)
    }

    /// Report `run` if it, or the run with up to two lines cut off at either end, is code.
    fn run(&self, known: &Known<'_>, run: &[Line<'_>], found: &mut Vec<Finding>) {
        let code_lines = |lines: &[Line<'_>]| lines.iter().filter(|l| l.kind == Kind::Code).count();
        if code_lines(run) < self.min_lines {
            return;
        }
        for cut in 0..=4usize {
            for front in 0..=cut.min(2) {
                let back = cut - front;
                if back > 2 || front + back >= run.len() {
                    continue;
                }
                let lines = &run[front..run.len() - back];
                // A cut that leaves a block header behind (`# if flag:`) cuts its body off.
                if (front > 0
                    && (introduces_example(&run[..front])
                        || stripped(&run[front - 1]).ends_with(':')))
                    || lines.first().is_none_or(|l| l.kind != Kind::Code)
                    || lines.last().is_none_or(|l| l.kind != Kind::Code)
                    || code_lines(lines) < self.min_lines
                {
                    continue;
                }
                if let Some(code) = is_code(known, lines) {
                    if code.lines < self.min_lines {
                        return; // Notes and notation around too few real statements.
                    }
                    let lines = &lines[code.first..=code.last];
                    // Shown in the message without its own trailing comment.
                    let body = lines[0].body.trim();
                    let first = body.split_once("  #").map_or(body, |(code, _)| code);
                    let first = first.trim_end().to_string();
                    let range =
                        TextRange::new(lines[0].range.start(), lines[lines.len() - 1].range.end());
                    found.push(Finding {
                        range,
                        runs: 1,
                        lines: code.lines,
                        first,
                    });
                    return;
                }
            }
        }
    }
}

/// The text of a comment line without any of its leading `#`: `# # Example` is prose that
/// was commented out together with the code below it.
fn stripped<'t>(line: &Line<'t>) -> &'t str {
    line.body.trim_start_matches(['#', ' ', '\t']).trim_end()
}

/// A line that reads as prose (or a directive, or a lone word such as `Example`), not as code,
/// once all its `#` are removed.
fn is_prose(line: &Line<'_>) -> bool {
    let text = stripped(line);
    let word = text.trim_end_matches([':', '.']);
    !text.is_empty()
        && (classify(text) != Kind::Code || word.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// The prose line just before a run says that what follows is an example or an explanation
/// (it ends with a colon, or says "e.g.", "example", "same as", ...), not old code.
fn introduces_example(before: &[Line<'_>]) -> bool {
    let Some(line) = before.iter().rev().find(|l| !stripped(l).is_empty()) else {
        return false;
    };
    if !is_prose(line) {
        return false;
    }
    let text = stripped(line);
    if text.ends_with(':') {
        return true; // "... are views of the buffers:", "Example:"
    }
    let lower = text.to_ascii_lowercase();
    EXAMPLE.iter().any(|w| lower.contains(w))
}

/// Words that introduce an example or an explanation.
const EXAMPLE: &[&str] = &[
    "e.g",
    "example",
    "usage",
    "for instance",
    "such as",
    "i.e.",
    "like this",
    "like so",
    "equivalent",
    "something like",
    "as follows",
    "in other words",
    "would be",
    "you can",
    "can be used",
    "is used as",
    "to use",
    "same as",
];

/// Words that say the code below is kept commented out on purpose: an instruction to
/// uncomment it ("uncomment for full output", "uncomment the following to enable wandb"), or
/// an explanation of why it is disabled or what it is an alternative to.
const ON_PURPOSE: &[&str] = &[
    "uncomment",
    "comment out",
    "commented out",
    "comment it out",
    "comment this out",
    "alternative",
    "instead of",
];

/// Whole words with which prose speaks to the reader about the code under it ("replace
/// `data_dir` below", "modify for your local setup", "the following"): an instruction, so the
/// code is a snippet offered to the reader, not a leftover.
const TO_THE_READER: &[&str] = &["you", "your", "below", "following"];

/// The paragraph of prose just above the run (across blank lines, into the comment block
/// above), or a comment inside the run itself, says the code is kept commented out on purpose,
/// is an example, or is offered to the reader.
fn kept_on_purpose(before: &[Line<'_>], above: Option<&[Line<'_>]>, run: &[Line<'_>]) -> bool {
    let on_purpose = |lower: &str| ON_PURPOSE.iter().any(|w| lower.contains(w));
    let says = |text: &str| on_purpose(&text.to_ascii_lowercase());
    let explains = |text: &str| {
        let lower = text.to_ascii_lowercase();
        on_purpose(&lower)
            || EXAMPLE.iter().any(|w| lower.contains(w))
            || lower
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|word| TO_THE_READER.contains(&word))
    };
    // `# summary(model)  # uncomment for the full table`
    if run.iter().any(|l| {
        l.body
            .split_once('#')
            .is_some_and(|(code, comment)| !code.trim().is_empty() && says(comment))
    }) {
        return true;
    }
    let mut paragraph: Vec<&str> = Vec::new();
    for line in before
        .iter()
        .rev()
        .chain(above.into_iter().flat_map(|a| a.iter().rev()))
    {
        let text = stripped(line);
        if text.is_empty() {
            if paragraph.is_empty() {
                continue;
            }
            break;
        }
        if !is_prose(line) || paragraph.len() >= 8 {
            break;
        }
        paragraph.push(text);
    }
    paragraph.iter().any(|t| explains(t))
}

/// Python keywords that may stand next to another word in code (`for x in y`, `import a as b`).
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// A Python keyword: [`KEYWORDS`] is sorted, and no keyword is shorter than 2 bytes or longer
/// than 8 (most words of a comment are rejected by their length or a few comparisons).
fn is_keyword(word: &str) -> bool {
    (2..=8).contains(&word.len()) && KEYWORDS.binary_search(&word).is_ok()
}

/// Comments that are directives or task markers, never code (compared case-insensitively, as a
/// whole word at the start of the comment).
const DIRECTIVES: &[&str] = &[
    "type",
    "noqa",
    "pragma",
    "pylint",
    "mypy",
    "pyright",
    "fmt",
    "isort",
    "ruff",
    "flake8",
    "nosec",
    "yapf",
    "coding",
    "vim",
    "region",
    "endregion",
    "todo",
    "fixme",
    "xxx",
    "hack",
    "bug",
    "note",
    "nb",
    "warning",
    "see",
    "cf",
];

fn classify(body: &str) -> Kind {
    let trimmed = body.trim();
    // `#` alone, or a comment inside the commented-out code (`# # explain`).
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Kind::Blank;
    }
    // Shebangs (`#!`), Sphinx attribute docs (`#:`), doctest prompts, notebook cell markers,
    // encoding declarations.
    if trimmed.starts_with(['!', ':', '%'])
        || trimmed.starts_with(">>>")
        || trimmed.starts_with("...")
        || trimmed.starts_with("-*-")
        || trimmed.starts_with("In[")
    {
        return Kind::Stop;
    }
    let first_word = &trimmed[..trimmed
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or(trimmed.len())];
    if !first_word.is_empty()
        && DIRECTIVES
            .iter()
            .any(|d| first_word.eq_ignore_ascii_case(d))
        && !trimmed[first_word.len()..]
            .trim_start()
            .starts_with(['=', '(', '.', '['])
    {
        return Kind::Stop;
    }
    // Separators: `-----`, `=====`, `*****`.
    if !trimmed
        .chars()
        .any(|c| c.is_alphanumeric() || "()[]{}".contains(c))
    {
        return Kind::Stop;
    }
    if has_adjacent_words(trimmed) {
        return Kind::Stop;
    }
    Kind::Code
}

/// Two words (identifiers or numbers, not keywords) separated only by whitespace, outside
/// string literals: `see above`, `the loss`. Python never puts two such words side by side.
/// Also a word or closing bracket, whitespace, then an opening bracket: a parenthetical remark
/// (`C = W + L (key size)`, `x: [B, T] (batch, time)`), which code writes without the space.
fn has_adjacent_words(line: &str) -> bool {
    let bytes = line.as_bytes();
    let mut i = 0;
    // The previous token was a non-keyword word, and only whitespace followed it.
    let mut after_word = false;
    // The previous token was a non-keyword word or a closing bracket, and whitespace followed.
    let mut after_operand_space = false;
    let mut after_operand = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' || c == b'\'' {
            // Skip the string literal (to the matching quote or the end of the line).
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            after_word = false;
            after_operand = false;
            after_operand_space = false;
        } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
            {
                i += 1;
            }
            let word = &line[start..i];
            let keyword = is_keyword(word);
            // String prefixes (`f"..."`, `rb'...'`) belong to the string that follows; any
            // other word directly before a quote is prose (`What's`, `model's`).
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                if word.len() > 2
                    || !word
                        .bytes()
                        .all(|b| matches!(b.to_ascii_lowercase(), b'f' | b'r' | b'b' | b'u' | b't'))
                {
                    return true;
                }
                after_word = false;
                after_operand = false;
                after_operand_space = false;
                continue;
            }
            if after_word && !keyword {
                return true;
            }
            after_word = !keyword;
            after_operand = !keyword;
            after_operand_space = false;
        } else if c == b' ' || c == b'\t' {
            after_operand_space = after_operand_space || after_operand;
            after_operand = false;
            i += 1;
        } else if c == b'#' {
            return false; // A comment inside the comment: the rest is not code.
        } else {
            if after_operand_space && (c == b'(' || c == b'[') {
                return true;
            }
            after_word = false;
            after_operand = c == b')' || c == b']';
            after_operand_space = false;
            i += 1;
        }
    }
    false
}

/// Where the real statements of a snippet are: the first and last line (indices into the
/// snippet's lines) and how many code lines they cover.
struct CodeSpan {
    first: usize,
    last: usize,
    lines: usize,
}

/// Whether the uncommented lines parse as Python and hold real statements; if so, where.
fn is_code(known: &Known<'_>, lines: &[Line<'_>]) -> Option<CodeSpan> {
    let indent = lines
        .iter()
        .filter(|l| l.kind == Kind::Code)
        .map(|l| l.body.len() - l.body.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut source = String::new();
    for line in lines {
        if line.kind == Kind::Code {
            source.push_str(line.body.get(indent..).unwrap_or(line.body.trim_start()));
        }
        source.push('\n');
    }
    if source.len() > 20_000 || bracket_depth(&source) > 32 {
        return None;
    }
    let parsed = parse_module(&source).ok()?;
    let module = parsed.syntax();
    let range = TextRange::new(lines[0].range.start(), lines[lines.len() - 1].range.end());
    if !has_real_statements(module) || !known.names_exist(module, range) {
        return None;
    }
    // Every snippet line ends with one line break, so a line's index is the number of breaks
    // before it.
    let line_of = |offset: TextSize| source[..offset.to_usize()].matches('\n').count();
    let mut span: Option<CodeSpan> = None;
    for stmt in module.body.iter().filter(|s| is_real(s)) {
        let (first, last) = (line_of(stmt.start()), line_of(stmt.end()));
        let covered = lines
            .get(first..=last.min(lines.len() - 1))
            .map_or(0, |ls| ls.iter().filter(|l| l.kind == Kind::Code).count());
        span = Some(match span {
            None => CodeSpan {
                first,
                last,
                lines: covered,
            },
            Some(s) => CodeSpan {
                first: s.first.min(first),
                last: s.last.max(last),
                lines: s.lines + covered,
            },
        });
    }
    span.filter(|s| s.last < lines.len())
}

fn bracket_depth(source: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for c in source.bytes() {
        match c {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// At least one statement, and at least half of them, is unmistakably code. Bare names, tuples
/// of names (`(B, C, H, W)`), `x: (B, T)` annotations without a value, `not used`, a lone
/// `return` or `pass` parse as Python but are as likely prose or notes.
fn has_real_statements(module: &ModModule) -> bool {
    let total = module.body.len();
    let real = module.body.iter().filter(|s| is_real(s)).count();
    real > 0 && real * 2 >= total
}

fn is_real(stmt: &Stmt) -> bool {
    match stmt {
        // `C = key_context_size` is a notation and `tp = [4, 1, 0]` a worked example, as often
        // as they are code.
        Stmt::Assign(assign) => {
            // Only names are notation (`tp = [...]`, `[b] = [1, 1, 1]`): `m[i] = False` and
            // `config.lr = 0.1` are code.
            let names = assign.targets.iter().all(|t| is_notation_target(t, 0));
            let alias = names && matches!(&*assign.value, Expr::Name(_));
            let worked_values = names && is_literal(&assign.value, 0);
            !alias && !worked_values
        }
        Stmt::AugAssign(_)
        | Stmt::Import(_)
        | Stmt::ImportFrom(_)
        | Stmt::FunctionDef(_)
        | Stmt::ClassDef(_)
        | Stmt::If(_)
        | Stmt::For(_)
        | Stmt::While(_)
        | Stmt::With(_)
        | Stmt::Try(_)
        | Stmt::Match(_)
        | Stmt::Delete(_)
        | Stmt::Assert(_) => true,
        Stmt::AnnAssign(assign) => assign.value.as_deref().is_some_and(|v| !is_literal(v, 0)),
        Stmt::Return(ret) => ret.value.is_some(),
        Stmt::Raise(raise) => raise.exc.is_some(),
        Stmt::Expr(expr) => match &*expr.value {
            Expr::Call(call) => matches!(&*call.func, Expr::Name(_) | Expr::Attribute(_)),
            // `# layers.Dense(64),`: a commented-out element of a list of calls.
            Expr::Tuple(tuple) if !tuple.parenthesized && !tuple.elts.is_empty() => {
                tuple.elts.iter().all(|e| {
                    matches!(e, Expr::Call(call)
                        if matches!(&*call.func, Expr::Name(_) | Expr::Attribute(_)))
                })
            }
            Expr::Await(_) | Expr::Yield(_) | Expr::YieldFrom(_) => true,
            _ => false,
        },
        _ => false,
    }
}

/// A name, or a list or tuple of names: what notation assigns to.
fn is_notation_target(target: &Expr, depth: usize) -> bool {
    match target {
        Expr::Name(_) => true,
        Expr::List(list) if depth < 4 => list.elts.iter().all(|e| is_notation_target(e, depth + 1)),
        Expr::Tuple(tuple) if depth < 4 => {
            tuple.elts.iter().all(|e| is_notation_target(e, depth + 1))
        }
        _ => false,
    }
}

/// Values written out in full: numbers, `True`/`False`/`None`, and lists, tuples, sets and
/// dicts of those (`tp = [4, 1, 0]`). Strings are left out: a commented-out keyword argument
/// (`# hf_hub_id='org/model',`) is code.
fn is_literal(expr: &Expr, depth: usize) -> bool {
    if depth > 16 {
        return false;
    }
    match expr {
        Expr::NumberLiteral(_)
        | Expr::BooleanLiteral(_)
        | Expr::NoneLiteral(_)
        | Expr::EllipsisLiteral(_) => true,
        Expr::UnaryOp(op) => is_literal(&op.operand, depth + 1),
        Expr::List(list) => list.elts.iter().all(|e| is_literal(e, depth + 1)),
        Expr::Tuple(tuple) => tuple.elts.iter().all(|e| is_literal(e, depth + 1)),
        Expr::Set(set) => set.elts.iter().all(|e| is_literal(e, depth + 1)),
        Expr::Dict(dict) => dict.items.iter().all(|item| {
            item.key.as_ref().is_some_and(|k| is_literal(k, depth + 1))
                && is_literal(&item.value, depth + 1)
        }),
        _ => false,
    }
}

fn report(cx: &mut Context<'_, '_>, finding: &Finding) {
    let first = cx.source.line_of(finding.range.start());
    let last = cx.source.line_of(finding.range.end());
    let snippet: String = if finding.first.chars().count() > 40 {
        finding.first.chars().take(37).collect::<String>() + "..."
    } else {
        finding.first.clone()
    };
    let (what, title) = if finding.runs > 1 {
        (
            format!("the disabled block, lines {first}-{last}"),
            format!("Delete the disabled block (lines {first}-{last})"),
        )
    } else {
        (
            format!("lines {first}-{last}"),
            format!("Delete the commented-out code (lines {first}-{last})"),
        )
    };
    let edits = vec![Edit::deletion(whole_lines(cx.source.text(), finding.range))];
    cx.report(
        Diagnostic::new(
            &COMMENTED_OUT_CODE,
            format!(
                "{} lines of commented-out code (`{snippet}`)",
                finding.lines
            ),
            finding.range,
        )
        .with_help(format!(
            "delete {what} (version control keeps the old code); if this is a variant worth \
             keeping, make it a real option (a config or command-line switch) instead of a \
             comment"
        ))
        .with_fix(Fix::unsafe_edits(title, edits)),
    );
}

/// `range` widened to whole lines, with the last line's line break: deleting it leaves no
/// blank line behind. Unsafe as a fix: the comment may be documentation of intent.
fn whole_lines(text: &str, range: TextRange) -> TextRange {
    TextRange::new(
        text.line_start(range.start()),
        text.full_line_end(range.end()),
    )
}

/// Checks that the names a block of commented-out code reads exist in the file.
struct Known<'t> {
    text: &'t str,
    knowledge: &'t Knowledge,
    /// The file has a `from module import *`: any called name may come from it.
    star_import: bool,
}

impl Known<'_> {
    /// Every name the snippet reads but does not bind is a builtin or occurs as a word in the
    /// file outside `block`. Old code refers to the names of the code around it; a formula or
    /// pseudo-code in a comment (`x = x + attn(ln1(x))`) uses names that exist nowhere. A file
    /// with a star import may call any name (`# net = ResNet18()` after `from models import *`).
    fn names_exist(&self, module: &ModModule, block: TextRange) -> bool {
        let mut names = SnippetNames::default();
        names.visit_body(&module.body);
        let unbound: Vec<&String> = names
            .loads
            .iter()
            .filter(|n| !names.stores.contains(*n) && !self.knowledge.is_builtin_name(n))
            .filter(|n| !(self.star_import && names.called.contains(*n)))
            .collect();
        let (known, unknown): (Vec<&String>, Vec<&String>) = unbound
            .into_iter()
            .partition(|n| self.occurs_outside(n, block));
        // A module the disabled code used (`spaces.Discrete`) lost its import with it: a name
        // read only as the base of an attribute is forgiven when the snippet is anchored in the
        // code around it (two other names it reads exist in the file).
        unknown.is_empty()
            || known.len() >= 2
                && unknown
                    .iter()
                    .all(|n| names.attribute_bases.contains(*n) && !names.plain.contains(*n))
    }

    fn occurs_outside(&self, name: &str, block: TextRange) -> bool {
        let bytes = self.text.as_bytes();
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
        self.text.match_indices(name).any(|(at, _)| {
            let end = at + name.len();
            let offset = TextSize::try_from(at).unwrap_or_default();
            !block.contains(offset)
                && (at == 0 || !is_word(bytes[at - 1]))
                && (end == bytes.len() || !is_word(bytes[end]))
        })
    }
}

/// The names a snippet reads and binds (in any of its scopes: it is only a heuristic), and the
/// names it calls.
#[derive(Default)]
struct SnippetNames {
    loads: FxHashSet<String>,
    /// Names read as the base of an attribute (`spaces` in `spaces.Discrete`).
    attribute_bases: FxHashSet<String>,
    /// Names read otherwise.
    plain: FxHashSet<String>,
    stores: FxHashSet<String>,
    called: FxHashSet<String>,
}

impl<'a> Visitor<'a> for SnippetNames {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => {
                self.stores.insert(def.name.to_string());
                for param in def.parameters.iter() {
                    self.stores.insert(param.name().to_string());
                }
            }
            Stmt::ClassDef(class) => {
                self.stores.insert(class.name.to_string());
            }
            Stmt::Import(import) => {
                for alias in &import.names {
                    let local = alias.asname.as_ref().map_or_else(
                        || alias.name.split('.').next().unwrap_or_default(),
                        |a| a.as_str(),
                    );
                    self.stores.insert(local.to_string());
                }
            }
            Stmt::ImportFrom(import) => {
                for alias in &import.names {
                    self.stores
                        .insert(alias.asname.as_ref().unwrap_or(&alias.name).to_string());
                }
            }
            Stmt::Try(try_stmt) => {
                for handler in &try_stmt.handlers {
                    let ExceptHandler::ExceptHandler(handler) = handler;
                    if let Some(name) = &handler.name {
                        self.stores.insert(name.to_string());
                    }
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(name) => {
                if name.ctx == ExprContext::Load {
                    self.loads.insert(name.id.to_string());
                    self.plain.insert(name.id.to_string());
                } else {
                    self.stores.insert(name.id.to_string());
                }
            }
            Expr::Call(call) => {
                if let Expr::Name(name) = &*call.func {
                    self.called.insert(name.id.to_string());
                }
            }
            Expr::Attribute(attr) => {
                if let Expr::Name(base) = &*attr.value
                    && base.ctx == ExprContext::Load
                {
                    self.attribute_bases.insert(base.id.to_string());
                    self.loads.insert(base.id.to_string());
                    return;
                }
            }
            Expr::Lambda(lambda) => {
                if let Some(parameters) = &lambda.parameters {
                    for param in parameters.iter() {
                        self.stores.insert(param.name().to_string());
                    }
                }
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_found_by_their_sorted_list() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]), "sorted");
        for keyword in KEYWORDS {
            assert!(is_keyword(keyword), "{keyword}");
        }
        for word in ["loss", "i", "x", "Return", "continued", "nonlocals", "ifs"] {
            assert!(!is_keyword(word), "{word}");
        }
    }
}
