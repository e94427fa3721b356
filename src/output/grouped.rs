//! Findings grouped under their file, as ruff's `grouped` format:
//!
//! ```text
//! train.py:
//!   1:8  DL305 `pdb` is imported: a debugger left in the code
//!   5:5  DL305 `print(x.shape)` is a shape-debugging print
//!
//! ```

use std::io::{self, Write};

use crate::engine::Report;

use super::pylint::one_line;
use super::{RenderOptions, position};

pub fn render(report: &Report, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let (header, red, reset) = if options.color {
        ("\x1b[1;4m", "\x1b[1;31m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    for file in &report.files {
        let source = file.source.as_deref();
        let positions: Vec<_> = file
            .diagnostics
            .iter()
            .map(|d| position(source, d.range.start()))
            .collect();
        let row_width = positions.iter().map(|p| digits(p.row)).max().unwrap_or(1);
        let col_width = positions
            .iter()
            .map(|p| digits(p.column))
            .max()
            .unwrap_or(1);
        writeln!(out, "{header}{}{reset}:", file.display)?;
        for (d, pos) in file.diagnostics.iter().zip(&positions) {
            let location = format!("{}:{}", pos.row, pos.column);
            // As ruff: `[*]` marks what `--fix` fixes (unsafe fixes need `--unsafe-fixes`).
            let safe = d
                .fix
                .as_ref()
                .is_some_and(|f| f.applicability == crate::diagnostic::Applicability::Safe);
            let fixable = if safe { " [*]" } else { "" };
            writeln!(
                out,
                "  {location:<width$} {red}{}{reset}{fixable} {}",
                d.rule.code,
                one_line(&d.message),
                width = row_width + col_width + 1,
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}
