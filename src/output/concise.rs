//! `path:line:col: CODE message`, one finding per line: for grep, editors' quickfix lists and
//! humans who want the list without excerpts.

use std::io::{self, Write};

use crate::engine::Report;

use super::RenderOptions;

pub fn render(report: &Report, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let (bold, red, reset) = if options.color {
        ("\x1b[1m", "\x1b[1;31m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    for file in &report.files {
        for d in &file.diagnostics {
            let pos = file
                .source
                .as_ref()
                .map(|s| s.position(d.range.start()))
                .unwrap_or_default();
            // As ruff: `[*]` marks what `--fix` fixes (unsafe fixes need `--unsafe-fixes`).
            let safe = d
                .fix
                .as_ref()
                .is_some_and(|f| f.applicability == crate::diagnostic::Applicability::Safe);
            let fixable = if safe { " [*]" } else { "" };
            writeln!(
                out,
                "{bold}{}{reset}:{}:{}: {red}{}{reset}{fixable} {}",
                file.display,
                pos.row.max(1),
                pos.column.max(1),
                d.rule.code,
                d.message
            )?;
        }
    }
    Ok(())
}
