//! Refactorings generated from the user's code: a Loss component extracted from a model or a
//! training loop (`DL101`–`DL104`), a Runner extracted from a module-level loop (`DL107`), an
//! optimizer factory moved out of a model (`DL105`).
//!
//! Project rules see facts, not syntax trees; a rule that reports a finding asks for a
//! refactoring here, and only then is the file parsed again (once per file, see
//! [`ProjectContext::parsed`]). Every generated snippet is verified before it is offered: it
//! parses, and every name it reads is a parameter, a local, an import it adds or a builtin;
//! the rewritten call site parses too. Otherwise the finding keeps its prose help only.

pub mod callers;
pub mod component;
pub mod extract;
pub mod model_calls;
pub mod names;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ruff_python_ast::{ModModule, PySourceType, Stmt, StmtClassDef, StmtFunctionDef};
use ruff_python_parser::{Parsed, parse_unchecked_source};
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::rule_context::ProjectContext;
use crate::semantic::index::ProjectFile;
use crate::semantic::ranges::containing;
use crate::source::SourceText;

pub use component::{Line, Refactoring};

/// A file's text and its syntax tree, parsed again for a refactoring.
pub struct ParsedSource {
    pub source: Arc<SourceText>,
    /// Shared with the file's pass when its text was handed in memory (see
    /// [`ProjectFile::tree`]).
    parsed: Arc<Parsed<ModModule>>,
    /// What the module level binds, computed on first use: every refactoring of the file
    /// needs it, and recomputing it per finding made a file with thousands of findings
    /// quadratic.
    names: std::sync::OnceLock<ModuleNames>,
    /// The file's import statements and where it reads names, computed on first use.
    imports: std::sync::OnceLock<(crate::fix::edits::FileImports, crate::fix::edits::NameReads)>,
    /// The same for the name usage of each function body (and of the module), and for the
    /// names each statement list reads.
    analyses: std::sync::Mutex<Analyses>,
}

/// Per-file analyses cached across the findings of a file.
#[derive(Default)]
struct Analyses {
    /// Name usage of a function body by the function's start; `None` is the module.
    blocks: rustc_hash::FxHashMap<Option<TextSize>, Arc<names::Indexed>>,
    /// For a statement list (by its first statement's start): each name read, and the index of
    /// the last statement that reads it.
    last_reads: rustc_hash::FxHashMap<TextSize, Arc<rustc_hash::FxHashMap<String, usize>>>,
}

impl ParsedSource {
    /// Parse `file` again: its in-memory text, or the file on disk (a notebook's code cells,
    /// as the facts saw them, not its JSON). `None` if it cannot be read, does not parse
    /// cleanly, or nests too deeply.
    pub fn of(file: &ProjectFile) -> Option<ParsedSource> {
        if let (Some(text), Some(tree)) = (&file.text, &file.tree) {
            // The tree the file's pass parsed from this text, which had no syntax error.
            return Some(ParsedSource::new(text.clone(), tree.clone()));
        }
        let source = match &file.text {
            Some(text) => text.clone(),
            None => Arc::new(crate::source::read_source(&file.absolute).ok()?),
        };
        Self::parse(source, &file.absolute)
    }

    pub fn parse(source: Arc<SourceText>, path: &Path) -> Option<ParsedSource> {
        let parsed = parse_unchecked_source(source.text(), PySourceType::from(path));
        if crate::semantic::parse::is_too_deep(&parsed) {
            std::mem::forget(parsed);
            return None;
        }
        if parsed.has_syntax_errors() {
            return None;
        }
        Some(ParsedSource::new(source, Arc::new(parsed)))
    }

    fn new(source: Arc<SourceText>, parsed: Arc<Parsed<ModModule>>) -> ParsedSource {
        ParsedSource {
            source,
            parsed,
            names: std::sync::OnceLock::new(),
            imports: std::sync::OnceLock::new(),
            analyses: std::sync::Mutex::default(),
        }
    }

    pub fn text(&self) -> &str {
        self.source.text()
    }

    /// The ranges of the comments that start inside `range` (by binary search over the
    /// tokens; never a panic on a range that cuts a token).
    pub fn comments_in(&self, range: TextRange) -> Vec<TextRange> {
        let tokens: &[ruff_python_ast::token::Token] = self.parsed.tokens();
        let first = tokens.partition_point(|t| t.start() < range.start());
        tokens[first..]
            .iter()
            .take_while(|t| t.start() < range.end())
            .filter(|t| t.kind() == ruff_python_ast::token::TokenKind::Comment)
            .map(Ranged::range)
            .collect()
    }

    pub fn module(&self) -> &ModModule {
        self.parsed.syntax()
    }

    /// The file's import statements and where it reads names (for removing the imports a
    /// refactoring leaves unused), computed once per file.
    pub fn imports(&self) -> &(crate::fix::edits::FileImports, crate::fix::edits::NameReads) {
        self.imports.get_or_init(|| {
            let body = &self.module().body;
            (
                crate::fix::edits::FileImports::of(body),
                crate::fix::edits::NameReads::of(self.text(), body),
            )
        })
    }

    /// The deletions of the imports that only the code `edits` remove used (`import
    /// torch.nn.functional as F` with the moved loss), and where a new import goes: where the
    /// imports end (`names.import_at`), or where a removed import started.
    pub fn imports_left_unused(
        &self,
        names: &ModuleNames,
        edits: &[crate::diagnostic::Edit],
    ) -> (Vec<crate::diagnostic::Edit>, ruff_text_size::TextSize) {
        let (imports, reads) = self.imports();
        let unused =
            crate::fix::edits::imports_left_unused(self.text(), imports, |_| true, reads, edits);
        let mut import_at = names.import_at;
        for deletion in &unused {
            if deletion.range.start() < import_at && import_at < deletion.range.end() {
                import_at = deletion.range.start();
            }
        }
        (unused, import_at)
    }

    /// What the module level of this file binds.
    pub fn names(&self) -> &ModuleNames {
        self.names
            .get_or_init(|| ModuleNames::of(self.text(), self.module()))
    }

    /// The name usage of `function`'s body with its parameters bound, or of the module body.
    pub fn block_usage(&self, function: Option<&StmtFunctionDef>) -> Arc<names::Indexed> {
        let key = function.map(Ranged::start);
        let cached = self.lock().blocks.get(&key).cloned();
        cached.unwrap_or_else(|| {
            let usage = Arc::new(names::Indexed::new(match function {
                Some(def) => {
                    let params: Vec<&str> =
                        def.parameters.iter().map(|p| p.name().as_str()).collect();
                    names::analyze(&def.body, &params)
                }
                None => names::analyze(&self.module().body, &[]),
            }));
            self.lock().blocks.insert(key, usage.clone());
            usage
        })
    }

    /// True if a statement of `body` after `index` reads `name`.
    pub fn read_after(&self, body: &[Stmt], index: usize, name: &str) -> bool {
        let Some(first) = body.first() else {
            return false;
        };
        let key = first.start();
        let cached = self.lock().last_reads.get(&key).cloned();
        let last_reads = cached.unwrap_or_else(|| {
            let mut last = rustc_hash::FxHashMap::default();
            for (i, stmt) in body.iter().enumerate() {
                for read in names::analyze(std::iter::once(stmt), &[]).reads {
                    last.insert(read, i);
                }
            }
            let last = Arc::new(last);
            self.lock().last_reads.insert(key, last.clone());
            last
        });
        last_reads.get(name).is_some_and(|&i| i > index)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Analyses> {
        // A poisoned cache only lost an entry being written; the rest is still valid.
        self.analyses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A module-level import binding of a file: the local name, what it names, and the import
/// statement that binds it, rewritten to bind only that name.
#[derive(Debug, Clone)]
pub struct ImportBinding {
    pub local: String,
    pub qualified: String,
    pub line: String,
    pub relative: bool,
}

/// What the module level of a file binds.
#[derive(Debug, Default)]
pub struct ModuleNames {
    pub imports: Vec<ImportBinding>,
    /// Every name bound at module level (imports, definitions, assignments).
    pub bound: BTreeSet<String>,
    /// The functions and classes defined directly at module level.
    pub defined: BTreeSet<String>,
    /// Indices into `imports` by local name (a file can have thousands of imports, and each
    /// finding asks about a few names).
    imports_by_local: rustc_hash::FxHashMap<String, Vec<usize>>,
    /// The first absolute import of `torch.nn` (a generated `nn.Module` reuses its binding).
    torch_nn: Option<usize>,
    /// Where an import can be inserted: after the last module-level import (or after the
    /// docstring and `__future__` imports), at the start of a line.
    pub import_at: ruff_text_size::TextSize,
}

impl ModuleNames {
    pub fn of(text: &str, module: &ModModule) -> ModuleNames {
        let mut names = ModuleNames::default();
        let mut last_import = None;
        let mut preamble_end = None;
        for (i, stmt) in module.body.iter().enumerate() {
            let is_docstring =
                i == 0 && matches!(stmt, Stmt::Expr(e) if e.value.is_string_literal_expr());
            if is_docstring {
                preamble_end = Some(stmt.end());
            }
            match stmt {
                Stmt::FunctionDef(d) => {
                    names.defined.insert(d.name.to_string());
                }
                Stmt::ClassDef(c) => {
                    names.defined.insert(c.name.to_string());
                }
                _ => {}
            }
            collect_module_bindings(text, stmt, &mut names, &mut last_import, 0);
        }
        for (i, import) in names.imports.iter().enumerate() {
            names
                .imports_by_local
                .entry(import.local.clone())
                .or_default()
                .push(i);
        }
        names.torch_nn = names
            .imports
            .iter()
            .position(|i| i.qualified == "torch.nn" && !i.relative);
        let at = last_import.or(preamble_end);
        names.import_at = match at {
            Some(end) => crate::fix::edits::line_end_with_newline(text, end),
            None => module
                .body
                .first()
                .map_or(ruff_text_size::TextSize::new(0), |s| {
                    crate::fix::edits::line_start(text, s.start())
                }),
        };
        names
    }

    /// The first absolute import of `torch.nn`.
    pub fn torch_nn(&self) -> Option<&ImportBinding> {
        self.torch_nn.and_then(|i| self.imports.get(i))
    }

    pub fn import_of(&self, local: &str) -> Vec<&ImportBinding> {
        self.imports_by_local
            .get(local)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.imports.get(i))
            .collect()
    }

    /// The qualified name an expression's head refers to through the imports (`F.mse_loss`
    /// → `torch.nn.functional.mse_loss`).
    pub fn resolve(&self, expr: &ruff_python_ast::Expr) -> Option<String> {
        let name = ruff_python_ast::name::UnqualifiedName::from_expr(expr)?;
        let segments = name.segments();
        let head = *self.import_of(segments[0]).last()?;
        let mut qualified = head.qualified.clone();
        for segment in &segments[1..] {
            qualified.push('.');
            qualified.push_str(segment);
        }
        Some(qualified)
    }
}

fn collect_module_bindings(
    text: &str,
    stmt: &Stmt,
    names: &mut ModuleNames,
    last_import: &mut Option<ruff_text_size::TextSize>,
    depth: usize,
) {
    match stmt {
        Stmt::Import(_) | Stmt::ImportFrom(_) => {
            if depth == 0 {
                *last_import = Some(stmt.end());
            }
            let (keyword, relative) = match stmt {
                Stmt::ImportFrom(import) => (
                    format!(
                        "from {}{} import ",
                        ".".repeat(import.level as usize),
                        import.module.as_ref().map_or("", |m| m.as_str())
                    ),
                    import.level > 0,
                ),
                _ => ("import ".to_string(), false),
            };
            for binding in crate::semantic::imports::import_bindings(stmt) {
                names.bound.insert(binding.local.to_string());
                names.imports.push(ImportBinding {
                    local: binding.local.to_string(),
                    qualified: binding.qualified(),
                    line: format!("{keyword}{}", &text[binding.alias.range()]),
                    relative,
                });
            }
        }
        Stmt::FunctionDef(def) => {
            names.bound.insert(def.name.to_string());
        }
        Stmt::ClassDef(class) => {
            names.bound.insert(class.name.to_string());
        }
        // Conditional and guarded imports (`try: import x`) bind at module level too.
        Stmt::Try(t) if depth < 2 => {
            for s in t.body.iter().chain(&t.orelse).chain(&t.finalbody) {
                collect_module_bindings(text, s, names, last_import, depth + 1);
            }
            for handler in &t.handlers {
                let ruff_python_ast::ExceptHandler::ExceptHandler(h) = handler;
                for s in &h.body {
                    collect_module_bindings(text, s, names, last_import, depth + 1);
                }
            }
        }
        Stmt::If(i) if depth < 2 => {
            for s in i
                .body
                .iter()
                .chain(i.elif_else_clauses.iter().flat_map(|c| &c.body))
            {
                collect_module_bindings(text, s, names, last_import, depth + 1);
            }
        }
        other => {
            let usage = names::analyze(std::iter::once(other), &[]);
            names.bound.extend(usage.bound);
        }
    }
}

/// The innermost function containing `range`, and the class it is a method of.
pub fn enclosing_function(
    body: &[Stmt],
    range: TextRange,
) -> (Option<&StmtFunctionDef>, Option<&StmtClassDef>) {
    fn walk<'a>(
        body: &'a [Stmt],
        range: TextRange,
        class: Option<&'a StmtClassDef>,
        found: &mut (Option<&'a StmtFunctionDef>, Option<&'a StmtClassDef>),
    ) {
        for stmt in containing(body, range) {
            match stmt {
                Stmt::FunctionDef(def) => {
                    *found = (Some(def), class);
                    walk(&def.body, range, None, found);
                }
                Stmt::ClassDef(def) => walk(&def.body, range, Some(def), found),
                other => {
                    for b in child_bodies(other) {
                        walk(b, range, class, found);
                    }
                }
            }
        }
    }
    let mut found = (None, None);
    walk(body, range, None, &mut found);
    found
}

/// The statement lists directly inside a compound statement (not function or class bodies).
pub fn child_bodies(stmt: &Stmt) -> Vec<&[Stmt]> {
    match stmt {
        Stmt::FunctionDef(_) | Stmt::ClassDef(_) => Vec::new(),
        other => crate::semantic::ranges::bodies(other),
    }
}

/// One step of a path to a statement: `body[index]` contains the target.
#[derive(Clone, Copy)]
pub struct Step<'a> {
    pub body: &'a [Stmt],
    pub index: usize,
}

impl<'a> Step<'a> {
    pub fn stmt(&self) -> &'a Stmt {
        &self.body[self.index]
    }
}

/// The path from `body` down to the innermost statement containing `range` (not entering
/// function or class definitions).
pub fn locate(body: &[Stmt], range: TextRange) -> Vec<Step<'_>> {
    let mut path = Vec::new();
    let mut current = body;
    while let Some(index) = containing_index(current, range) {
        path.push(Step {
            body: current,
            index,
        });
        let stmt = &current[index];
        if stmt.range() == range {
            break;
        }
        match child_bodies(stmt)
            .into_iter()
            .find(|b| containing_index(b, range).is_some())
        {
            Some(b) => current = b,
            None => break,
        }
    }
    path
}

/// The body of the loop statement with exactly `range`, searched everywhere (function and
/// class bodies included) by binary search over each statement list.
pub fn find_loop_body(body: &[Stmt], range: TextRange) -> Option<&[Stmt]> {
    let first = body.partition_point(|s| s.end() < range.end());
    for stmt in body[first..]
        .iter()
        .take_while(|s| s.start() <= range.start())
    {
        if !stmt.range().contains_range(range) {
            continue;
        }
        if stmt.range() == range {
            match stmt {
                Stmt::For(s) => return Some(&s.body),
                Stmt::While(s) => return Some(&s.body),
                _ => {}
            }
        }
        let children: Vec<&[Stmt]> = match stmt {
            Stmt::FunctionDef(def) => vec![&def.body],
            Stmt::ClassDef(def) => vec![&def.body],
            other => child_bodies(other),
        };
        for child in children {
            if let Some(found) = find_loop_body(child, range) {
                return Some(found);
            }
        }
    }
    None
}

/// The index of the first statement of `body` that contains `range`.
fn containing_index(body: &[Stmt], range: TextRange) -> Option<usize> {
    let first = body.partition_point(|s| s.end() < range.end());
    body[first..]
        .iter()
        .take_while(|s| s.start() <= range.start())
        .position(|s| s.range().contains_range(range))
        .map(|i| first + i)
}

/// The statement with exactly `range`, if there is one (not inside definitions).
pub fn find_stmt(body: &[Stmt], range: TextRange) -> Option<&Stmt> {
    locate(body, range)
        .last()
        .map(Step::stmt)
        .filter(|s| s.range() == range)
}

/// Every simple (non-compound) statement inside `stmt`, itself included if simple.
pub fn leaves(stmt: &Stmt) -> Vec<&Stmt> {
    let bodies = child_bodies(stmt);
    if bodies.is_empty() {
        return vec![stmt];
    }
    bodies
        .into_iter()
        .flat_map(|b| b.iter().flat_map(leaves))
        .collect()
}

/// The whole lines of `range` as code at indentation zero: `renames` (edits inside single
/// lines, e.g. `self` → `model`) applied, the indentation `from` removed; lines that begin
/// inside a multi-line string (`strings`) are content and kept verbatim. `None` if an edit
/// spans lines.
pub fn moved_lines(
    text: &str,
    range: TextRange,
    renames: &[crate::diagnostic::Edit],
    from: &str,
    strings: &[TextRange],
) -> Option<Vec<Line>> {
    let lines = crate::fix::edits::full_lines(text, range);
    let mut out = Vec::new();
    let mut offset = lines.start().to_usize();
    for raw in text[lines].split_inclusive('\n') {
        let start = ruff_text_size::TextSize::try_from(offset).ok()?;
        let end = ruff_text_size::TextSize::try_from(offset + raw.len()).ok()?;
        offset += raw.len();
        let here: Vec<&crate::diagnostic::Edit> = renames
            .iter()
            .filter(|e| e.range.start() >= start && e.range.start() < end)
            .collect();
        let mut line = String::with_capacity(raw.len());
        let mut last = start;
        for edit in here {
            if edit.range.end() > end || edit.range.start() < last {
                return None;
            }
            line.push_str(&text[TextRange::new(last, edit.range.start())]);
            line.push_str(&edit.content);
            last = edit.range.end();
        }
        line.push_str(&text[TextRange::new(last, end)]);
        let line = line.replace("\r\n", "\n");
        let verbatim = strings.iter().any(|s| s.start() < start && start < s.end());
        if verbatim {
            out.push(Line {
                text: line,
                verbatim: true,
            });
            continue;
        }
        let stripped = match line.strip_prefix(from) {
            Some(rest) => rest.to_string(),
            None => line.trim_start_matches([' ', '\t']).to_string(),
        };
        out.push(Line::code(stripped));
    }
    Some(out)
}

/// `FasterRCNN` → `faster_rcnn`; `loss_fn` stays.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if i > 0 && (prev_lower || (prev_upper && next_lower)) && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `train_raw_formula` → `TrainRawFormula`; `FasterRCNN` stays.
pub fn camel_case(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The path of `relative` next to `file` (`a/model.py` + `../loss.py` → `loss.py`), with
/// `..` resolved lexically.
pub fn beside(file: &Path, relative: &str) -> PathBuf {
    let mut out = file.parent().map(Path::to_path_buf).unwrap_or_default();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if !out.pop() || out.as_os_str().is_empty() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Print why a refactoring was not generated, when `DLLINT_DEBUG_REFACTOR` is set (for
/// working on the generator; users see the prose help).
pub fn debug_skip(cx: &ProjectContext<'_>, what: &str, why: &str) {
    if std::env::var_os("DLLINT_DEBUG_REFACTOR").is_some() {
        eprintln!(
            "dllint refactor: {}: {what}: {why}",
            cx.project_file().path.display()
        );
    }
}

/// The first expression with exactly `range` that `accept` takes: among `stmt`'s
/// expressions (nested function and class bodies are not entered), or inside `expr`.
pub(super) enum Within<'a> {
    Stmt(&'a Stmt),
    Expr(&'a ruff_python_ast::Expr),
}

pub(super) fn expr_at<'a>(
    within: Within<'a>,
    range: TextRange,
    accept: fn(&ruff_python_ast::Expr) -> bool,
) -> Option<&'a ruff_python_ast::Expr> {
    use ruff_python_ast::Expr;
    use ruff_python_ast::visitor::{self, Visitor};
    struct Finder<'a> {
        range: TextRange,
        accept: fn(&Expr) -> bool,
        found: Option<&'a Expr>,
    }
    impl<'a> Visitor<'a> for Finder<'a> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.found.is_some() || !expr.range().contains_range(self.range) {
                return;
            }
            if expr.range() == self.range && (self.accept)(expr) {
                self.found = Some(expr);
                return;
            }
            visitor::walk_expr(self, expr);
        }
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                return;
            }
            visitor::walk_stmt(self, stmt);
        }
    }
    let mut finder = Finder {
        range,
        accept,
        found: None,
    };
    match within {
        Within::Stmt(stmt) => visitor::walk_stmt(&mut finder, stmt),
        Within::Expr(expr) => finder.visit_expr(expr),
    }
    finder.found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_change_case() {
        assert_eq!(snake_case("FasterRCNN"), "faster_rcnn");
        assert_eq!(snake_case("BertForMaskedLM"), "bert_for_masked_lm");
        assert_eq!(snake_case("VQLayer"), "vq_layer");
        assert_eq!(snake_case("TF1Classifier"), "tf1_classifier");
        assert_eq!(camel_case("train_raw_formula"), "TrainRawFormula");
        assert_eq!(camel_case("FasterRCNN"), "FasterRCNN");
    }

    #[test]
    fn paths_beside_a_file() {
        assert_eq!(
            beside(Path::new("a/b/m.py"), "../loss.py"),
            PathBuf::from("a/loss.py")
        );
        assert_eq!(
            beside(Path::new("m.py"), "loss.py"),
            PathBuf::from("loss.py")
        );
        assert_eq!(
            beside(Path::new("m.py"), "../x.py"),
            PathBuf::from("../x.py")
        );
    }
}
