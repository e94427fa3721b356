//! Writing `# noqa` comments: the "Disable DLxxx for this line" edit of the language server
//! and `dllint check --add-noqa` share it. The comment goes at the end of the line where the
//! finding starts (the line suppression looks at, see `crate::suppression`); codes already
//! listed in a `# noqa: A, B` comment there are kept, merged with the new ones and sorted
//! (codes of other tools included), without duplicates.

use ruff_python_ast::token::{TokenKind, Tokens};
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::diagnostic::Edit;

/// What suppressing codes on one line takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoqaEdit {
    /// This edit.
    Edit(Edit),
    /// The line's `# noqa` suppresses the codes already.
    Unchanged,
    /// A comment cannot go on the line: it is continued with `\`, or it starts or ends inside
    /// a string (a multi-line string, when `strings` are given to [`line_noqa_edit`]).
    Impossible,
}

impl NoqaEdit {
    pub fn into_edit(self) -> Option<Edit> {
        match self {
            NoqaEdit::Edit(edit) => Some(edit),
            NoqaEdit::Unchanged | NoqaEdit::Impossible => None,
        }
    }
}

/// The edit that suppresses `code` for a finding starting at `start`; `None` where a comment
/// cannot go (a line continued with `\`, a line that ends inside a string) or where it would
/// change nothing.
pub fn noqa_edit(text: &str, start: TextSize, code: &str) -> Option<Edit> {
    line_noqa_edit(text, start, &[code], &[]).into_edit()
}

/// The edit that suppresses `codes` on the line holding `start`. `strings`: the ranges of the
/// multi-line strings of the file (see [`multiline_strings`]), sorted; a line that starts or
/// ends inside one is [`NoqaEdit::Impossible`] (a `#` there would be text of the string).
pub fn line_noqa_edit(
    text: &str,
    start: TextSize,
    codes: &[&str],
    strings: &[TextRange],
) -> NoqaEdit {
    let start = usize::from(start).min(text.len());
    let line_start = text[..start].rfind(['\n', '\r']).map_or(0, |p| p + 1);
    let line_end = text[start..]
        .find(['\n', '\r'])
        .map_or(text.len(), |p| start + p);
    if [line_start, line_end]
        .into_iter()
        .any(|offset| inside_string(strings, offset))
    {
        return NoqaEdit::Impossible;
    }
    let line = &text[line_start..line_end];
    let at = |offset: usize| TextSize::try_from(line_start + offset).ok();
    let mut new: Vec<&str> = codes.to_vec();
    new.sort_unstable();
    new.dedup();
    let append = |prefix: &str| -> NoqaEdit {
        let content_end = line.trim_end().len();
        let separator = if content_end == 0 { "" } else { prefix };
        match (at(content_end), at(line.len())) {
            (Some(from), Some(to)) => NoqaEdit::Edit(Edit {
                range: TextRange::new(from, to),
                content: format!("{separator}# noqa: {}", new.join(", ")),
            }),
            _ => NoqaEdit::Impossible,
        }
    };
    match scan(line) {
        Scan::OpenString => NoqaEdit::Impossible,
        Scan::Code if line.trim_end().ends_with('\\') => NoqaEdit::Impossible,
        Scan::Code => append("  "),
        Scan::Comment(hash) => match existing_codes(&line[hash..]) {
            Some(Existing::All) => NoqaEdit::Unchanged,
            Some(Existing::Codes {
                start: first,
                end,
                codes: old,
            }) => {
                if new.iter().all(|code| old.contains(code)) {
                    return NoqaEdit::Unchanged;
                }
                let mut merged: Vec<&str> = old.iter().chain(&new).copied().collect();
                merged.sort_unstable();
                merged.dedup();
                match (at(hash + first), at(hash + end)) {
                    (Some(from), Some(to)) => NoqaEdit::Edit(Edit {
                        range: TextRange::new(from, to),
                        content: merged.join(", "),
                    }),
                    _ => NoqaEdit::Impossible,
                }
            }
            Some(Existing::Empty { end }) => match at(hash + end) {
                Some(offset) => {
                    NoqaEdit::Edit(Edit::insertion(offset, format!(" {}", new.join(", "))))
                }
                None => NoqaEdit::Impossible,
            },
            None => append("  "),
        },
    }
}

/// The ranges of the strings of a file that span more than one line (triple-quoted strings,
/// f-strings and t-strings included), in order.
pub fn multiline_strings(text: &str, tokens: &Tokens) -> Vec<TextRange> {
    let mut out = Vec::new();
    // Interpolated strings come as start, middle and end tokens (nested ones inside).
    let mut open: Vec<TextSize> = Vec::new();
    let mut push = |range: TextRange| {
        if text
            .get(range.start().to_usize()..range.end().to_usize())
            .is_some_and(|s| s.contains(['\n', '\r']))
        {
            out.push(range);
        }
    };
    for token in tokens.iter() {
        match token.kind() {
            TokenKind::String => push(token.range()),
            TokenKind::FStringStart | TokenKind::TStringStart => open.push(token.start()),
            TokenKind::FStringEnd | TokenKind::TStringEnd => {
                if let Some(start) = open.pop()
                    && open.is_empty()
                {
                    push(TextRange::new(start, token.end()));
                }
            }
            _ => {}
        }
    }
    out.sort_by_key(|r| r.start());
    out
}

/// True if `offset` lies strictly inside one of the (sorted, non-overlapping) `strings`.
fn inside_string(strings: &[TextRange], offset: usize) -> bool {
    let Ok(offset) = TextSize::try_from(offset) else {
        return false;
    };
    let after = strings.partition_point(|r| r.start() < offset);
    after > 0 && offset < strings[after - 1].end()
}

use super::is_code;

enum Scan {
    /// Only code on the line.
    Code,
    /// A comment starts at this byte.
    Comment(usize),
    /// The line ends inside a (triple-quoted) string.
    OpenString,
}

/// Find the comment of one line of Python, skipping `#` inside string literals.
fn scan(line: &str) -> Scan {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => return Scan::Comment(i),
            quote @ (b'\'' | b'"') => {
                let triple = bytes[i..].starts_with(&[quote; 3]);
                let width = if triple { 3 } else { 1 };
                i += width;
                loop {
                    if i >= bytes.len() {
                        return Scan::OpenString;
                    }
                    if bytes[i] == b'\\' {
                        i += 2;
                    } else if bytes[i] == quote && (!triple || bytes[i..].starts_with(&[quote; 3]))
                    {
                        i += width;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            _ => i += 1,
        }
    }
    Scan::Code
}

enum Existing<'c> {
    /// `# noqa` without codes: everything on the line is suppressed already.
    All,
    /// `# noqa:` followed by nothing that looks like a code; `end` is after the colon.
    Empty { end: usize },
    /// `# noqa: A, B`; `start` is at the first code, `end` just after the last one.
    Codes {
        start: usize,
        end: usize,
        codes: Vec<&'c str>,
    },
}

/// The `noqa` directive in a comment (which may follow other text: `# note # noqa: X`), with the
/// same reading as `crate::suppression`.
fn existing_codes(comment: &str) -> Option<Existing<'_>> {
    let lower = comment.to_ascii_lowercase();
    let mut search = 0;
    while let Some(found) = lower[search..].find("noqa") {
        let at = search + found;
        search = at + 4;
        if !comment[..at].trim_end().ends_with('#') {
            continue;
        }
        let rest = &comment[at + 4..];
        if rest.is_empty()
            || rest.starts_with(char::is_whitespace) && !rest.trim_start().starts_with(':')
        {
            return Some(Existing::All);
        }
        let Some(after_colon) = rest.trim_start().strip_prefix(':') else {
            continue;
        };
        let colon_end = comment.len() - after_colon.len();
        let mut codes = Vec::new();
        let mut first = colon_end;
        let mut end = colon_end;
        let mut offset = colon_end;
        for token in after_colon.split_inclusive([',', ' ', '\t']) {
            let word = token.trim_end_matches([',', ' ', '\t']);
            if !word.is_empty() {
                if !is_code(word) {
                    break;
                }
                if codes.is_empty() {
                    first = offset;
                }
                codes.push(word);
                end = offset + word.len();
            }
            offset += token.len();
        }
        return Some(if codes.is_empty() {
            Existing::Empty { end: colon_end }
        } else {
            Existing::Codes {
                start: first,
                end,
                codes,
            }
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, code: &str) -> Option<String> {
        let start = TextSize::new(text.find("pdb").unwrap_or(0) as u32);
        let edit = noqa_edit(text, start, code)?;
        let mut out = text.to_string();
        out.replace_range(
            usize::from(edit.range.start())..usize::from(edit.range.end()),
            &edit.content,
        );
        Some(out)
    }

    #[test]
    fn appends_a_new_directive() {
        assert_eq!(
            apply("import pdb\n", "DL305").unwrap(),
            "import pdb  # noqa: DL305\n"
        );
        assert_eq!(
            apply("import pdb   \r\nx\n", "DL305").unwrap(),
            "import pdb  # noqa: DL305\r\nx\n"
        );
        assert_eq!(
            apply("x = '#'; import pdb", "DL305").unwrap(),
            "x = '#'; import pdb  # noqa: DL305"
        );
        assert_eq!(
            apply("import pdb  # debugging\n", "DL305").unwrap(),
            "import pdb  # debugging  # noqa: DL305\n"
        );
    }

    #[test]
    fn extends_an_existing_list_sorted() {
        assert_eq!(
            apply("import pdb  # noqa: F401\n", "DL305").unwrap(),
            "import pdb  # noqa: DL305, F401\n"
        );
        assert_eq!(
            apply("import pdb  # NOQA:E501 F401 keep\n", "DL305").unwrap(),
            "import pdb  # NOQA:DL305, E501, F401 keep\n"
        );
        assert_eq!(
            apply("import pdb  # noqa:\n", "DL305").unwrap(),
            "import pdb  # noqa: DL305\n"
        );
        assert_eq!(apply("import pdb  # noqa: DL305\n", "DL305"), None);
        assert_eq!(apply("import pdb  # noqa\n", "DL305"), None);
    }

    fn apply_all(text: &str, codes: &[&str]) -> NoqaEdit {
        let start = TextSize::new(text.find("pdb").unwrap_or(0) as u32);
        line_noqa_edit(text, start, codes, &[])
    }

    #[test]
    fn merges_several_codes_without_duplicates() {
        let NoqaEdit::Edit(edit) = apply_all(
            "import pdb  # noqa: F401, DL101, F401\n",
            &["DL305", "DL101", "DL305"],
        ) else {
            panic!("an edit");
        };
        assert_eq!(edit.content, "DL101, DL305, F401");
        let NoqaEdit::Edit(edit) = apply_all("import pdb\n", &["DL305", "DL101"]) else {
            panic!("an edit");
        };
        assert_eq!(edit.content, "  # noqa: DL101, DL305");
        assert_eq!(
            apply_all("import pdb  # noqa: DL101, DL305\n", &["DL305", "DL101"]),
            NoqaEdit::Unchanged
        );
        assert_eq!(
            apply_all("import pdb; x = 1 + \\\n  2\n", &["DL305"]),
            NoqaEdit::Impossible
        );
    }

    #[test]
    fn lines_in_multiline_strings_are_refused() {
        let text = "x = f\"\"\"a {1}\nb\"\"\"; import pdb\ns = '''\nimport pdb\n'''\nimport pdb\n";
        let parsed =
            ruff_python_parser::parse_unchecked_source(text, ruff_python_ast::PySourceType::Python);
        let strings = multiline_strings(text, parsed.tokens());
        assert_eq!(strings.len(), 2, "{strings:?}");
        let at =
            |nth: usize| TextSize::new(text.match_indices("import pdb").nth(nth).unwrap().0 as u32);
        // The line that ends an f-string, a line inside a string: no comment there.
        for nth in [0, 1] {
            assert_eq!(
                line_noqa_edit(text, at(nth), &["DL305"], &strings),
                NoqaEdit::Impossible
            );
        }
        // The line after the string is code.
        assert!(matches!(
            line_noqa_edit(text, at(2), &["DL305"], &strings),
            NoqaEdit::Edit(_)
        ));
    }

    #[test]
    fn refuses_lines_that_cannot_hold_a_comment() {
        assert_eq!(apply("import pdb; x = 1 + \\\n  2\n", "DL305"), None);
        assert_eq!(
            apply("pdb.set_trace(); s = \"\"\"open\n\"\"\"\n", "DL305"),
            None
        );
    }

    #[test]
    fn the_edit_suppresses_the_finding() {
        // The edited text must be read by the suppression parser as suppressing the code.
        let text = apply("import pdb  # noqa: F401\n", "DL305").unwrap();
        let parsed = ruff_python_parser::parse_unchecked_source(
            &text,
            ruff_python_ast::PySourceType::Python,
        );
        let comments = ruff_python_trivia::CommentRanges::from(parsed.tokens());
        let source = crate::source::SourceText::new(text.clone());
        let suppressions = crate::suppression::Suppressions::from_comments(&source, &comments);
        struct Rule;
        impl crate::diagnostic::RuleIdentity for Rule {
            fn code(&self) -> &'static str {
                "DL305"
            }
            fn default_severity(&self) -> crate::diagnostic::Severity {
                crate::diagnostic::Severity::Warning
            }
        }
        let diagnostic = crate::diagnostic::Diagnostic::new(
            &Rule,
            "x",
            TextRange::new(TextSize::new(0), TextSize::new(10)),
        );
        assert!(suppressions.suppresses(&diagnostic));
    }
}
