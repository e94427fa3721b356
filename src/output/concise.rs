//! `path:line:col: severity[CODE] message` (`nb.ipynb:cell 3:4:5: ...` in a notebook), one
//! finding per line: for grep, editors' quickfix lists and humans who want the list without
//! excerpts.

use std::io::{self, Write};

use crate::engine::Report;

use super::{RenderOptions, location, severity_code};

pub fn render(report: &Report, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let (bold, reset) = if options.color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    super::render_each(&report.files, out, |file, text, out| {
        for d in &file.diagnostics {
            let location = location(text.as_deref(), d.range.start());
            // As ruff: `[*]` marks what `--fix` fixes (unsafe fixes need `--unsafe-fixes`).
            let safe = d
                .fix
                .as_ref()
                .is_some_and(|f| f.applicability == crate::diagnostic::Applicability::Safe);
            let fixable = if safe { " [*]" } else { "" };
            writeln!(
                out,
                "{bold}{}{reset}:{location}: {}{fixable} {}",
                file.display,
                severity_code(d, options.color),
                d.message
            )?;
        }
        Ok(())
    })
}
