//! GitHub Actions workflow commands: one annotation per finding, shown on the pull request's
//! diff and in the run summary.
//!
//! ```text
//! ::warning file=train.py,line=5,col=5,endLine=5,endColumn=19,title=DL305 debug-leftover::`print(x.shape)` is a shape-debugging print
//! ```
//!
//! Paths are relative to the repository root (where Actions checks the code out). Data is
//! escaped as the runner expects: `%`, CR and LF in the message; additionally `:` and `,` in
//! property values.

use std::io::{self, Write};

use crate::engine::Report;
use crate::registry::Severity;

use super::{Locator, location, stored_position};

pub fn render(report: &Report, locator: &Locator, out: &mut dyn Write) -> io::Result<()> {
    super::render_each(&report.files, out, |file, text, out| {
        let source = text.as_deref();
        let path = locator.root_relative_or_absolute(&file.path);
        for d in &file.diagnostics {
            // Annotations point into the file as stored (a notebook's JSON); the message says
            // which cell.
            let start = stored_position(source, d.range.start());
            let end = stored_position(source, d.range.end());
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            let mut message = location(source, d.range.start()).cell_prefix();
            message.push_str(&d.message);
            if let Some(help) = &d.help {
                message.push_str("\n\nhelp: ");
                message.push_str(help);
            }
            writeln!(
                out,
                "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                escape_property(&path),
                start.row,
                start.column,
                end.row,
                end.column,
                escape_property(&format!(
                    "{} {}",
                    d.code,
                    crate::rules::of_code(d.code).name
                )),
                escape_data(&message),
            )?;
        }
        Ok(())
    })
}

/// Escaping of a command's message (`toCommandValue` + `escapeData` in `@actions/core`).
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of a command's property value (`escapeProperty` in `@actions/core`).
pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_actions_core() {
        assert_eq!(escape_data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
        assert_eq!(escape_property("a%b\r\nc:d,e"), "a%25b%0D%0Ac%3Ad%2Ce");
    }
}
