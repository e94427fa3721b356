//! The default human format: each finding with its source excerpt, primary and secondary
//! labels, and the help that says what to do instead (rendered by codespan-reporting).

use std::io::{self, Write};
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::files::{Error as FilesError, Files, SimpleFiles};
use codespan_reporting::term::termcolor::{Ansi, NoColor};
use codespan_reporting::term::{self, Chars, Config};
use ruff_text_size::{TextRange, TextSize};

use crate::engine::Report;
use crate::notebook::Notebook;
use crate::registry::Severity;
use crate::source::SourceText;

use super::{OtherFiles, RenderOptions};

/// The files excerpts are shown from, for codespan: the reported file (id 0), with the line
/// starts its text already has (codespan's own table would copy the text and find its lines
/// again), then notebook cells and other files, as codespan's simple files.
struct ExcerptFiles<'a> {
    name: &'a str,
    text: &'a str,
    lines: LineStarts<'a>,
    others: SimpleFiles<String, String>,
}

/// Where each line of a text starts, as codespan counts lines (after each `\n`).
enum LineStarts<'a> {
    /// The source's own line index: the same starts when no `\r` stands alone (the index also
    /// ends a line at a lone `\r`).
    Indexed(&'a [TextSize]),
    Counted(Vec<usize>),
}

impl<'a> ExcerptFiles<'a> {
    fn new(name: &'a str, source: Option<&'a SourceText>) -> ExcerptFiles<'a> {
        let text = source.map_or("", SourceText::text);
        let bytes = text.as_bytes();
        let lone_cr = memchr::memchr_iter(b'\r', bytes).any(|i| bytes.get(i + 1) != Some(&b'\n'));
        let lines = match source {
            Some(source) if !lone_cr => LineStarts::Indexed(source.index().line_starts()),
            _ => LineStarts::Counted(codespan_reporting::files::line_starts(text).collect()),
        };
        ExcerptFiles {
            name,
            text,
            lines,
            others: SimpleFiles::new(),
        }
    }

    /// The id of the reported file.
    const MAIN: usize = 0;

    /// Add a text to show excerpts of; its id.
    fn add(&mut self, name: String, text: String) -> usize {
        self.others.add(name, text) + 1
    }

    /// The start of line `line` (0-based) of the reported file; its length for the line after
    /// the last.
    fn line_start(&self, line: usize) -> Result<usize, FilesError> {
        let (count, start) = match &self.lines {
            LineStarts::Indexed(starts) => (starts.len(), starts.get(line).map(|s| s.to_usize())),
            LineStarts::Counted(starts) => (starts.len(), starts.get(line).copied()),
        };
        match start {
            Some(start) => Ok(start),
            None if line == count => Ok(self.text.len()),
            None => Err(FilesError::LineTooLarge {
                given: line,
                max: count - 1,
            }),
        }
    }
}

impl<'f> Files<'f> for ExcerptFiles<'_> {
    type FileId = usize;
    type Name = String;
    type Source = &'f str;

    fn name(&'f self, id: usize) -> Result<String, FilesError> {
        match id {
            Self::MAIN => Ok(self.name.to_string()),
            other => self.others.name(other - 1),
        }
    }

    fn source(&'f self, id: usize) -> Result<&'f str, FilesError> {
        match id {
            Self::MAIN => Ok(self.text),
            other => self.others.source(other - 1),
        }
    }

    fn line_index(&'f self, id: usize, byte_index: usize) -> Result<usize, FilesError> {
        if id != Self::MAIN {
            return self.others.line_index(id - 1, byte_index);
        }
        let line = match &self.lines {
            LineStarts::Indexed(starts) => {
                let at = TextSize::try_from(byte_index).unwrap_or(TextSize::new(u32::MAX));
                starts.binary_search(&at)
            }
            LineStarts::Counted(starts) => starts.binary_search(&byte_index),
        };
        Ok(line.unwrap_or_else(|next| next - 1))
    }

    fn line_range(&'f self, id: usize, line_index: usize) -> Result<Range<usize>, FilesError> {
        if id != Self::MAIN {
            return self.others.line_range(id - 1, line_index);
        }
        Ok(self.line_start(line_index)?..self.line_start(line_index + 1)?)
    }
}

/// A notebook's cells as files of their own, so that excerpts show the cell's text with its
/// own line numbers and the header reads `nb.ipynb:cell 3:4:5`.
struct Cells<'a> {
    display: &'a str,
    notebook: Option<&'a Notebook>,
    /// (cell number, file id), added on first use.
    ids: Vec<(usize, usize)>,
}

impl Cells<'_> {
    /// The file and range to show for a range of the reported file's text.
    fn place(
        &mut self,
        files: &mut ExcerptFiles<'_>,
        main: usize,
        range: TextRange,
    ) -> (usize, Range<usize>) {
        let (start, end) = (range.start().to_usize(), range.end().to_usize());
        let Some(notebook) = self.notebook else {
            return (main, start..end);
        };
        let Some(cell) = notebook.cell_at(range.start()) else {
            return (main, start..end);
        };
        let id = match self.ids.iter().find(|(n, _)| *n == cell.number) {
            Some((_, id)) => *id,
            None => {
                let text = notebook.text()[cell.start..cell.start + cell.len].to_string();
                let id = files.add(format!("{}:cell {}", self.display, cell.number), text);
                self.ids.push((cell.number, id));
                id
            }
        };
        let local = |offset: usize| offset.saturating_sub(cell.start).min(cell.len);
        (id, local(start)..local(end).max(local(start)))
    }
}

pub fn render(report: &Report, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let config = Config {
        chars: Chars::ascii(),
        ..Config::default()
    };
    // Files other findings point into, read once for all the files rendered in parallel.
    let others = std::sync::Mutex::new(OtherFiles::default());
    super::render_each(&report.files, out, |file, text, out| {
        // One file table per reported file: the text is added once, not once per finding.
        let source = text.as_ref().map(|s| s.text()).unwrap_or("");
        let mut files = ExcerptFiles::new(&file.display, text.as_deref());
        let main = ExcerptFiles::MAIN;
        let mut other_ids: Vec<(std::sync::Arc<std::path::Path>, usize, usize)> = Vec::new();
        let mut cells = Cells {
            display: &file.display,
            notebook: text.as_deref().and_then(SourceText::notebook),
            ids: Vec::new(),
        };
        for d in &file.diagnostics {
            let severity = match d.severity {
                Severity::Error => CsSeverity::Error,
                Severity::Warning => CsSeverity::Warning,
                Severity::Info => CsSeverity::Note,
            };
            // As ruff: `[*]` marks what `--fix` fixes (unsafe fixes need `--unsafe-fixes`).
            let safe = d
                .fix
                .as_ref()
                .is_some_and(|f| f.applicability == crate::diagnostic::Applicability::Safe);
            let fixable = if safe { " [*]" } else { "" };
            let mut diagnostic = CsDiagnostic::new(severity)
                .with_code(d.code)
                .with_message(format!("{}{fixable}", d.message));
            let mut labels = Vec::new();
            // A minified or generated line of megabytes is not shown: only where it is.
            let long_line = text.as_deref().and_then(|source| {
                std::iter::once(d.range)
                    .chain(
                        d.labels
                            .iter()
                            .filter(|l| l.file.is_none())
                            .map(|l| l.range),
                    )
                    .find_map(|range| long_line(source, range))
            });
            let show_excerpt = text.is_some() && long_line.is_none();
            if show_excerpt {
                let (id, range) = cells.place(&mut files, main, d.range);
                labels.push(
                    Label::primary(id, range).with_message(crate::rules::of_code(d.code).name),
                );
            }
            for label in &d.labels {
                if label.file.is_none() && show_excerpt {
                    let (id, range) = cells.place(&mut files, main, label.range);
                    labels.push(Label::secondary(id, range).with_message(label.message.clone()));
                    continue;
                }
                let (id, len) = match &label.file {
                    None => (main, source.len()),
                    Some(path) => match other_ids.iter().find(|(p, _, _)| p == path) {
                        Some((_, id, len)) => (*id, *len),
                        None => match others
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .get(path)
                        {
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
            if let (Some(source), Some((row, length))) = (text.as_deref(), long_line) {
                let at = source.position(d.range.start());
                notes.push(format!(
                    "at {}:{}:{} (line {row} is {length} characters long: excerpt omitted)",
                    file.display, at.row, at.column
                ));
            } else if text.is_none() {
                notes.push(format!("in {}", file.display));
            }
            if let Some(help) = &d.help {
                notes.push(format!("help: {help}"));
            }
            if let Some(suggestion) = &d.suggestion {
                notes.push(suggestion_note(suggestion));
            } else if let Some(why) = &d.refactoring_declined {
                notes.push(format!("refactoring: none written for this finding: {why}"));
            } else if d.refactoring_withheld {
                notes.push(
                    "refactoring: not built in this run; `--show-refactorings` writes and \
                         shows it, where the code allows one"
                        .to_string(),
                );
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
                Err(err) => writeln!(out, "{}: {} {} ({err})", file.display, d.code, d.message)?,
            }
        }
        Ok(())
    })
}

/// A generated refactoring under the help: the title, the component's code and the line that
/// replaces the moved code.
fn suggestion_note(suggestion: &crate::diagnostic::Suggestion) -> String {
    let mut note = format!(
        "suggestion: {} (new code for `{}`):\n",
        suggestion.title, suggestion.target_file
    );
    for line in suggestion.code.lines() {
        note.push_str("    ");
        note.push_str(line);
        note.push('\n');
    }
    if let Some(call) = &suggestion.call {
        note.push_str("  and at the call site:\n");
        for line in call.lines() {
            note.push_str("    ");
            note.push_str(line);
            note.push('\n');
        }
    }
    note.trim_end().to_string()
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

#[cfg(test)]
mod tests {
    use super::*;
    use codespan_reporting::files::SimpleFile;

    /// The reported file's lines are codespan's lines, whatever ends them: `\n`, `\r\n`, a
    /// lone `\r` (which codespan does not count, and the line index does), none at the end.
    #[test]
    fn excerpt_lines_are_codespans_lines() {
        for text in [
            "",
            "x = 1",
            "x = 1\ny = 2\n",
            "x = 1\r\ny = 2\r\n\r\nz",
            "x = 1  # a\rb\ny = 2\n",
            "\r",
            "a\r\rb\n\n",
        ] {
            let source = SourceText::new(text.to_string());
            let ours = ExcerptFiles::new("f.py", Some(&source));
            let theirs = SimpleFile::new("f.py".to_string(), text.to_string());
            for byte in 0..=text.len() {
                assert_eq!(
                    ours.line_index(ExcerptFiles::MAIN, byte).unwrap(),
                    theirs.line_index((), byte).unwrap(),
                    "{text:?} at {byte}"
                );
            }
            let lines = text.matches('\n').count() + 1;
            for line in 0..=lines + 1 {
                let (a, b) = (
                    ours.line_range(ExcerptFiles::MAIN, line),
                    theirs.line_range((), line),
                );
                assert_eq!(a.ok(), b.ok(), "{text:?} line {line}");
            }
        }
    }
}
