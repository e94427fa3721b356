//! The default human format: each finding with its source excerpt, primary and secondary
//! labels, and the help that says what to do instead (rendered by codespan-reporting).

use std::io::{self, Write};

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::termcolor::{Ansi, NoColor};
use codespan_reporting::term::{self, Chars, Config};

use crate::engine::Report;
use crate::registry::Severity;

use super::{OtherFiles, RenderOptions};

pub fn render(report: &Report, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let config = Config {
        chars: Chars::ascii(),
        ..Config::default()
    };
    let mut others = OtherFiles::default();
    for file in &report.files {
        // One file table per reported file: the text is added once, not once per finding.
        let source = file.source.as_ref().map(|s| s.text()).unwrap_or("");
        let mut files: SimpleFiles<String, String> = SimpleFiles::new();
        let main = files.add(file.display.clone(), source.to_string());
        let mut other_ids: Vec<(std::sync::Arc<std::path::Path>, usize, usize)> = Vec::new();
        for d in &file.diagnostics {
            let severity = match d.rule.severity {
                Severity::Error => CsSeverity::Error,
                Severity::Warning => CsSeverity::Warning,
                Severity::Info => CsSeverity::Note,
            };
            let fixable = if d.fix.is_some() { " [*]" } else { "" };
            let mut diagnostic = CsDiagnostic::new(severity)
                .with_code(d.rule.code)
                .with_message(format!("{}{fixable}", d.message));
            let mut labels = Vec::new();
            // A minified or generated line of megabytes is not shown: only where it is.
            let long_line = file.source.as_deref().and_then(|source| {
                std::iter::once(d.range)
                    .chain(
                        d.labels
                            .iter()
                            .filter(|l| l.file.is_none())
                            .map(|l| l.range),
                    )
                    .find_map(|range| long_line(source, range))
            });
            let show_excerpt = file.source.is_some() && long_line.is_none();
            if show_excerpt {
                labels.push(
                    Label::primary(main, d.range.start().to_usize()..d.range.end().to_usize())
                        .with_message(d.rule.name),
                );
            }
            for label in &d.labels {
                let (id, len) = match &label.file {
                    None => (main, source.len()),
                    Some(path) => match other_ids.iter().find(|(p, _, _)| p == path) {
                        Some((_, id, len)) => (*id, *len),
                        None => match others.get(path) {
                            Some(text) => {
                                let len = text.text().len();
                                let name = path.display().to_string();
                                let id = files.add(name, text.text().to_string());
                                other_ids.push((path.clone(), id, len));
                                (id, len)
                            }
                            None => continue,
                        },
                    },
                };
                if !show_excerpt && label.file.is_none() {
                    continue;
                }
                let start = label.range.start().to_usize().min(len);
                let end = label.range.end().to_usize().min(len).max(start);
                labels.push(Label::secondary(id, start..end).with_message(label.message.clone()));
            }
            diagnostic = diagnostic.with_labels(labels);
            let mut notes = Vec::new();
            if let (Some(source), Some((row, length))) = (file.source.as_deref(), long_line) {
                let at = source.position(d.range.start());
                notes.push(format!(
                    "at {}:{}:{} (line {row} is {length} characters long: excerpt omitted)",
                    file.display, at.row, at.column
                ));
            } else if file.source.is_none() {
                notes.push(format!("in {}", file.display));
            }
            if let Some(help) = &d.help {
                notes.push(format!("help: {help}"));
            }
            if let Some(fix) = &d.fix {
                notes.push(format!(
                    "fix ({}): {}",
                    fix.applicability.as_str(),
                    fix.title
                ));
            }
            diagnostic = diagnostic.with_notes(notes);
            let result = if options.color {
                let mut writer = Ansi::new(Vec::new());
                term::emit_to_write_style(&mut writer, &config, &files, &diagnostic)
                    .map(|()| writer.into_inner())
            } else {
                let mut writer = NoColor::new(Vec::new());
                term::emit_to_write_style(&mut writer, &config, &files, &diagnostic)
                    .map(|()| writer.into_inner())
            };
            match result {
                Ok(bytes) => out.write_all(&bytes)?,
                Err(err) => writeln!(
                    out,
                    "{}: {} {} ({err})",
                    file.display, d.rule.code, d.message
                )?,
            }
        }
    }
    Ok(())
}

/// Lines longer than this (in bytes) are not shown in excerpts.
const MAX_EXCERPT_LINE: usize = 1_000;

/// The first line touched by `range` that is too long to show, with its length in characters.
fn long_line(
    source: &crate::source::SourceText,
    range: ruff_text_size::TextRange,
) -> Option<(usize, usize)> {
    let first = source.line_of(range.start());
    let last = source.line_of(range.end()).max(first);
    (first..=last).find_map(|row| {
        let line = &source.text()[source.line_range(row)];
        (line.len() > MAX_EXCERPT_LINE).then(|| (row, line.chars().count()))
    })
}
