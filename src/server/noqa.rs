//! The "Disable DLxxx for this line" edit: `# noqa: DLxxx` at the end of the line where the
//! finding starts (the line suppression looks at, see `crate::suppression`), or the code
//! appended to the `# noqa: A, B` list already there.

use ruff_text_size::{TextRange, TextSize};

use crate::diagnostic::Edit;

/// The edit that suppresses `code` for a finding starting at `start`; `None` where a comment
/// cannot go (a line continued with `\`, a line that ends inside a string) or where it would
/// change nothing.
pub fn noqa_edit(text: &str, start: TextSize, code: &str) -> Option<Edit> {
    let start = usize::from(start).min(text.len());
    let line_start = text[..start].rfind(['\n', '\r']).map_or(0, |p| p + 1);
    let line_end = text[start..]
        .find(['\n', '\r'])
        .map_or(text.len(), |p| start + p);
    let line = &text[line_start..line_end];
    let at = |offset: usize| TextSize::try_from(line_start + offset).ok();
    match scan(line) {
        Scan::OpenString => None,
        Scan::Code if line.trim_end().ends_with('\\') => None,
        Scan::Code => {
            let content_end = line.trim_end().len();
            let separator = if content_end == 0 { "" } else { "  " };
            Some(Edit {
                range: TextRange::new(at(content_end)?, at(line.len())?),
                content: format!("{separator}# noqa: {code}"),
            })
        }
        Scan::Comment(hash) => match existing_codes(&line[hash..]) {
            Some(Existing::All) => None,
            Some(Existing::Codes { end, codes }) => {
                if codes.contains(&code) {
                    return None;
                }
                Some(Edit::insertion(at(hash + end)?, format!(", {code}")))
            }
            Some(Existing::Empty { end }) => {
                Some(Edit::insertion(at(hash + end)?, format!(" {code}")))
            }
            None => {
                let content_end = line.trim_end().len();
                Some(Edit {
                    range: TextRange::new(at(content_end)?, at(line.len())?),
                    content: format!("  # noqa: {code}"),
                })
            }
        },
    }
}

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
    /// `# noqa: A, B`; `end` is just after the last code.
    Codes { end: usize, codes: Vec<&'c str> },
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
        let mut end = colon_end;
        let mut offset = colon_end;
        for token in after_colon.split_inclusive([',', ' ', '\t']) {
            let word = token.trim_end_matches([',', ' ', '\t']);
            if !word.is_empty() {
                if !is_code(word) {
                    break;
                }
                codes.push(word);
                end = offset + word.len();
            }
            offset += token.len();
        }
        return Some(if codes.is_empty() {
            Existing::Empty { end: colon_end }
        } else {
            Existing::Codes { end, codes }
        });
    }
    None
}

fn is_code(token: &str) -> bool {
    let letters = token.chars().take_while(char::is_ascii_uppercase).count();
    letters > 0 && letters < token.len() && token[letters..].chars().all(|c| c.is_ascii_digit())
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
    fn extends_an_existing_list() {
        assert_eq!(
            apply("import pdb  # noqa: F401\n", "DL305").unwrap(),
            "import pdb  # noqa: F401, DL305\n"
        );
        assert_eq!(
            apply("import pdb  # NOQA:E501 F401 keep\n", "DL305").unwrap(),
            "import pdb  # NOQA:E501 F401, DL305 keep\n"
        );
        assert_eq!(
            apply("import pdb  # noqa:\n", "DL305").unwrap(),
            "import pdb  # noqa: DL305\n"
        );
        assert_eq!(apply("import pdb  # noqa: DL305\n", "DL305"), None);
        assert_eq!(apply("import pdb  # noqa\n", "DL305"), None);
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
        let rule = crate::rules::find_rule("DL305").unwrap();
        let diagnostic = crate::diagnostic::Diagnostic::new(
            rule,
            "x",
            TextRange::new(TextSize::new(0), TextSize::new(10)),
        );
        assert!(suppressions.suppresses(&diagnostic));
    }
}
