//! Fixes: choosing which to apply, applying edits to text (keeping the file's line endings,
//! byte-order mark and trailing newline), checking the result still parses, and the
//! fixed-point loop behind `dllint check --fix` / `--diff` / `--fix-only`. The editor server
//! uses the same selection for "fix all".
//!
//! - [`edits`]: helpers rules use to build edits (delete a statement, re-indent a block).
//! - [`driver`]: the passes over a project (lint → apply → verify → re-lint) and the result.
//! - [`write`]: atomic writes that keep permissions.
//! - [`diff`]: unified diffs for `--diff`.

pub mod diff;
pub mod edits;
pub mod write;

use std::path::Path;

use ruff_python_ast::PySourceType;
use ruff_python_parser::parse_unchecked_source;
use ruff_text_size::TextSize;

use crate::diagnostic::{Applicability, Edit, Fix};

/// The UTF-8 byte-order mark, kept at the start of a file by every fix.
pub const BOM: char = '\u{feff}';

/// The line ending a file uses: that of its first line break (`\n` when it has none).
pub fn line_ending(text: &str) -> &'static str {
    match memchr::memchr(b'\n', text.as_bytes()) {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// True if a fix may be applied with these settings.
pub fn is_applicable(fix: &Fix, unsafe_fixes: bool) -> bool {
    (fix.applicability == Applicability::Safe || unsafe_fixes)
        && (!fix.edits.is_empty() || !fix.other_files.is_empty())
}

/// The fixes to apply together in one pass: the applicable ones in text order, skipping any
/// whose edits overlap a fix already taken (it is retried on the next pass, against the fixed
/// text). Edits that only touch (one ends where the next starts) do not overlap.
pub fn select<'f>(fixes: impl IntoIterator<Item = &'f Fix>, unsafe_fixes: bool) -> Vec<&'f Fix> {
    let mut candidates: Vec<&Fix> = fixes
        .into_iter()
        .filter(|f| is_applicable(f, unsafe_fixes))
        .collect();
    candidates.sort_by_key(|f| {
        f.span()
            .map_or((TextSize::new(u32::MAX), TextSize::new(u32::MAX)), |s| {
                (s.start(), s.end())
            })
    });
    let mut taken: Vec<&Fix> = Vec::new();
    let mut end: Option<TextSize> = None;
    for fix in candidates {
        let Some(span) = fix.span() else {
            taken.push(fix);
            continue;
        };
        if end.is_some_and(|end| span.start() < end) {
            continue;
        }
        end = Some(span.end());
        taken.push(fix);
    }
    taken
}

/// Apply non-overlapping `edits` to `text`. Line breaks in inserted text take the file's line
/// ending (`\r\n` files stay `\r\n`), and a byte-order mark at the start is never removed. An
/// edit that overlaps an earlier one is skipped (callers select non-overlapping edits).
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let ending = line_ending(text);
    let protected = if text.starts_with(BOM) {
        BOM.len_utf8()
    } else {
        0
    };
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start(), e.range.end()));
    let mut out = String::with_capacity(text.len() + 64);
    let mut last = 0usize;
    for edit in sorted {
        let start = edit.range.start().to_usize().max(protected).min(text.len());
        let end = edit.range.end().to_usize().max(start).min(text.len());
        if start < last || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            continue;
        }
        out.push_str(&text[last..start]);
        push_with_ending(&mut out, &edit.content, ending);
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// Append `content` with its bare `\n` line breaks written as `ending`.
fn push_with_ending(out: &mut String, content: &str, ending: &str) {
    if ending == "\n" {
        out.push_str(content);
        return;
    }
    let mut previous = '\0';
    for c in content.chars() {
        if c == '\n' && previous != '\r' {
            out.push('\r');
        }
        out.push(c);
        previous = c;
    }
}

/// Give `fixed` the trailing-newline state of `original`: a file that ended without a newline
/// still does, and one that ended with one still does (unless it became empty).
pub fn keep_trailing_newline(original: &str, mut fixed: String) -> String {
    let had = original.ends_with('\n');
    let has = fixed.ends_with('\n');
    let content_len = fixed.trim_start_matches(BOM).len();
    if had && !has && content_len > 0 {
        fixed.push_str(line_ending(original));
    } else if !had && has {
        fixed.pop();
        if fixed.ends_with('\r') {
            fixed.pop();
        }
    }
    fixed
}

/// True if `text` parses as Python without errors (fixes must never break a file).
pub fn parses(text: &str, path: &Path) -> bool {
    if crate::source::is_notebook(path) {
        // A notebook is fixed in its JSON: the result must still be a notebook whose code
        // cells parse.
        return crate::notebook::Notebook::parse(text.to_string())
            .is_ok_and(|notebook| parses_python(&notebook.python_source(), path));
    }
    parses_python(text, path)
}

fn parses_python(text: &str, path: &Path) -> bool {
    let parsed = parse_unchecked_source(text, PySourceType::from(path));
    let ok = !parsed.has_syntax_errors();
    if crate::semantic::parse::is_too_deep(&parsed) {
        // Dropping a pathologically deep tree could overflow the stack (see `checker`).
        std::mem::forget(parsed);
    }
    ok
}

#[cfg(test)]
mod tests {
    use ruff_text_size::TextRange;

    use super::*;

    fn range(a: u32, b: u32) -> TextRange {
        TextRange::new(TextSize::new(a), TextSize::new(b))
    }

    #[test]
    fn applies_edits_with_the_files_line_ending_and_keeps_the_bom() {
        let text = "\u{feff}a = 1\r\nb = 2\r\n";
        let bom = BOM.len_utf8() as u32;
        let out = apply_edits(
            text,
            &[
                Edit::deletion(range(0, bom + 7)),
                Edit::insertion(TextSize::new(bom + 14), "c = 3\n"),
            ],
        );
        assert_eq!(out, "\u{feff}b = 2\r\nc = 3\r\n");
    }

    #[test]
    fn keeps_the_trailing_newline_state() {
        assert_eq!(keep_trailing_newline("x\n", "y".into()), "y\n");
        assert_eq!(keep_trailing_newline("x", "y\n".into()), "y");
        assert_eq!(keep_trailing_newline("x\r\n", "y".into()), "y\r\n");
        assert_eq!(keep_trailing_newline("x\n", String::new()), "");
    }

    #[test]
    fn selects_non_overlapping_applicable_fixes() {
        let a = Fix::safe("a", vec![Edit::deletion(range(0, 5))]);
        let b = Fix::safe("b", vec![Edit::deletion(range(3, 8))]);
        let c = Fix::safe("c", vec![Edit::deletion(range(5, 9))]);
        let d = Fix::unsafe_edits("d", vec![Edit::deletion(range(20, 21))]);
        let chosen: Vec<&str> = select([&b, &c, &a, &d], false)
            .iter()
            .map(|f| f.title.as_str())
            .collect();
        assert_eq!(chosen, ["a", "c"]);
        assert_eq!(select([&d], true).len(), 1);
    }
}
