//! Machine-readable output: `json` (one array) and `json-lines` (one object per line). The
//! field names follow ruff's JSON output so existing tooling can read it; as in ruff, `cell`
//! is the notebook cell of a finding (`null` in Python files) and positions in a notebook are
//! within that cell.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::diagnostic::{Diagnostic, FileReport};
use crate::engine::Report;
use crate::source::SourceText;

use super::OtherFiles;

pub fn render(report: &Report, out: &mut dyn Write, lines: bool) -> io::Result<()> {
    let mut others = OtherFiles::default();
    let mut values = Vec::new();
    for (file, text) in super::with_sources(&report.files) {
        for d in &file.diagnostics {
            values.push(diagnostic_json(file, text.as_ref(), d, &mut others));
        }
    }
    if lines {
        for value in values {
            writeln!(out, "{value}")?;
        }
    } else {
        serde_json::to_writer_pretty(&mut *out, &values)?;
        writeln!(out)?;
    }
    Ok(())
}

/// Line and column; in a notebook, within the cell (the `cell` field says which), as ruff
/// reports notebook positions.
fn location(source: Option<&SourceText>, offset: ruff_text_size::TextSize) -> Value {
    match source {
        Some(s) => {
            let l = super::location(Some(s), offset);
            json!({"row": l.row, "column": l.column})
        }
        None => json!({"row": 1, "column": 1}),
    }
}

/// `text`: the file's text ([`FileReport::source`], read once per file by the caller).
pub(crate) fn diagnostic_json(
    file: &FileReport,
    text: Option<&std::sync::Arc<SourceText>>,
    d: &Diagnostic,
    others: &mut OtherFiles,
) -> Value {
    let source = text.map(|t| &**t);
    let labels: Vec<Value> = d
        .labels
        .iter()
        .map(|label| {
            let (filename, text) = match &label.file {
                None => (file.display.clone(), text.cloned()),
                Some(path) => (path.display().to_string(), others.get(path)),
            };
            json!({
                "filename": filename,
                "location": location(text.as_deref(), label.range.start()),
                "end_location": location(text.as_deref(), label.range.end()),
                "message": label.message,
            })
        })
        .collect();
    let fix = d.fix.as_ref().map(|fix| {
        json!({
            "applicability": fix.applicability.as_str(),
            "message": fix.title,
            "edits": fix.edits.iter().map(|e| json!({
                "content": e.content,
                "location": location(source, e.range.start()),
                "end_location": location(source, e.range.end()),
            })).collect::<Vec<_>>(),
        })
    });
    let suggestion = d.suggestion.as_ref().map(|suggestion| {
        // The edits of the call site; the component's code goes to `target_file`.
        let edits: Vec<Value> = d
            .fix
            .as_ref()
            .filter(|fix| !fix.other_files.is_empty())
            .map(|fix| {
                fix.edits
                    .iter()
                    .map(|e| {
                        json!({
                            "content": e.content,
                            "location": location(source, e.range.start()),
                            "end_location": location(source, e.range.end()),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "title": suggestion.title,
            "target_file": suggestion.target_file,
            "code": suggestion.code,
            "call": suggestion.call,
            "edits": edits,
        })
    });
    json!({
        "code": d.code,
        "name": crate::rules::of_code(d.code).name,
        "message": d.message,
        "severity": d.severity.as_str(),
        "filename": file.display,
        "cell": super::location(source, d.range.start()).cell,
        "location": location(source, d.range.start()),
        "end_location": location(source, d.range.end()),
        "noqa_row": source.map_or(1, |s| s.line_of(d.range.start())),
        "labels": labels,
        "help": d.help,
        "fix": fix,
        "suggestion": suggestion,
        "url": crate::rules::of_code(d.code).url(),
    })
}
