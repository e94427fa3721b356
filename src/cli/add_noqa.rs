//! `dllint check --add-noqa`: suppress every current finding with a `# noqa: DLxxx` comment on
//! the line where it starts, written by the same code as the editor's "Disable DLxxx for this
//! line" (`crate::suppression::edit`). In a notebook the comment goes into the cell's source,
//! through the mapping `--fix` uses.

use std::collections::BTreeMap;
use std::path::Path;

use ruff_python_ast::PySourceType;
use ruff_text_size::TextSize;

use super::ExitStatus;
use crate::diagnostic::{Edit, FileReport};
use crate::engine::Report;
use crate::fix::{self, write};
use crate::source::read_source;
use crate::suppression::edit::{NoqaEdit, line_noqa_edit, multiline_strings};

/// What was done to one file.
#[derive(Default)]
struct Outcome {
    /// Lines given a directive (or more codes in theirs).
    added: usize,
    /// Findings on lines that cannot hold a comment.
    skipped: usize,
}

/// Add the directives for the findings of `report`; messages go to standard error.
pub fn run(report: &Report, cwd: &Path, quiet: bool) -> Result<ExitStatus, String> {
    let mut total = Outcome::default();
    let mut unsuppressible = 0;
    let mut errors = Vec::new();
    for file in &report.files {
        unsuppressible += file
            .diagnostics
            .iter()
            .filter(|d| d.code == "DL000")
            .count();
        match add_to_file(file) {
            Ok(outcome) => {
                total.added += outcome.added;
                total.skipped += outcome.skipped;
            }
            Err(message) => errors.push(format!(
                "{}: {message}; no noqa directive was added to it",
                crate::discovery::display_path(&file.path, cwd)
            )),
        }
    }
    if !quiet {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        eprintln!(
            "Added {} noqa directive{}.",
            total.added,
            plural(total.added)
        );
        if total.skipped > 0 {
            let (finding, line) = if total.skipped == 1 {
                ("finding", "a line")
            } else {
                ("findings", "lines")
            };
            eprintln!(
                "Skipped {} {finding} on {line} that cannot hold a comment (starting or ending \
                 inside a multi-line string, or continued with `\\`): suppress them with a \
                 file-level `# dllint: noqa: CODE` or `per-file-ignores`.",
                total.skipped
            );
        }
        if unsuppressible > 0 {
            eprintln!(
                "Skipped {unsuppressible} DL000 finding{}: a file dllint cannot read or parse \
                 cannot be suppressed (fix or exclude it).",
                plural(unsuppressible)
            );
        }
    }
    for error in &errors {
        eprintln!("dllint: error: {error}");
    }
    if !errors.is_empty() {
        return Ok(ExitStatus::Error);
    }
    if report.internal_errors > 0 {
        eprintln!(
            "dllint: error: dllint failed internally on {} file(s); see the DL000 findings",
            report.internal_errors
        );
        return Ok(ExitStatus::Error);
    }
    Ok(ExitStatus::Success)
}

/// Add the directives of one file's findings and write it.
fn add_to_file(file: &FileReport) -> Result<Outcome, String> {
    let mut outcome = Outcome::default();
    // The codes to suppress, by the line (its first byte) where their findings start.
    let findings: Vec<_> = file
        .diagnostics
        .iter()
        .filter(|d| d.code != "DL000")
        .collect();
    if findings.is_empty() {
        return Ok(outcome);
    }
    // Read as the lint read it: offsets are in the same text (a notebook's joined cells).
    let source = read_source(&file.path).map_err(|e| e.to_string())?;
    let text = source.text();
    let mut lines: BTreeMap<usize, (TextSize, Vec<&str>, usize)> = BTreeMap::new();
    for d in findings {
        let start = d.range.start().to_usize().min(text.len());
        let line_start = text[..start].rfind(['\n', '\r']).map_or(0, |p| p + 1);
        let entry = lines
            .entry(line_start)
            .or_insert((d.range.start(), Vec::new(), 0));
        entry.1.push(d.code);
        entry.2 += 1;
    }
    let strings = {
        // The strings as the file is parsed: a notebook in IPython mode, its foreign cells
        // (`%%bash`) blanked byte for byte.
        let (python, kind) = match source.notebook() {
            Some(notebook) => (notebook.python_source(), PySourceType::Ipynb),
            None => (text.to_string(), PySourceType::from(file.path.as_path())),
        };
        let parsed = ruff_python_parser::parse_unchecked_source(&python, kind);
        let strings = multiline_strings(&python, parsed.tokens());
        if crate::semantic::parse::is_too_deep(&parsed) {
            // Dropping a pathologically deep tree could overflow the stack.
            std::mem::forget(parsed);
        }
        strings
    };
    let mut edits: Vec<Edit> = Vec::new();
    for (start, codes, count) in lines.into_values() {
        match line_noqa_edit(text, start, &codes, &strings) {
            NoqaEdit::Edit(edit) => edits.push(edit),
            NoqaEdit::Unchanged => {}
            NoqaEdit::Impossible => outcome.skipped += count,
        }
    }
    if edits.is_empty() {
        return Ok(outcome);
    }
    let (old, new) = match source.notebook() {
        Some(notebook) => (
            notebook.raw(),
            notebook.apply_edits(&edits).map_err(|e| e.to_string())?,
        ),
        None => (text, fix::apply_edits(text, &edits)),
    };
    // Comments never break a file; should one, the file is left as it was.
    if fix::parses(old, &file.path) && !fix::parses(&new, &file.path) {
        return Err(
            "the comments would make it invalid Python (please report this dllint bug)".into(),
        );
    }
    write::write_group(&[write::Output {
        path: &file.path,
        text: &new,
        create: false,
    }])?;
    outcome.added = edits.len();
    Ok(outcome)
}
