//! Findings grouped under their file, as ruff's `grouped` format:
//!
//! ```text
//! train.py:
//!   1:8 warning[DL305] `pdb` is imported: a debugger left in the code
//!   5:5 warning[DL305] `print(x.shape)` is a shape-debugging print
//!
//! ```

use std::io::{self, Write};

use crate::engine::Report;

use super::pylint::one_line;
use super::{Location, RenderOptions, location, severity_code};

pub fn render(report: &Report, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let (header, reset) = if options.color {
        ("\x1b[1;4m", "\x1b[0m")
    } else {
        ("", "")
    };
    super::render_each(&report.files, out, |file, text, out| {
        let source = text.as_deref();
        let locations: Vec<_> = file
            .diagnostics
            .iter()
            .map(|d| location(source, d.range.start()))
            .collect();
        let widest = |f: &dyn Fn(&Location) -> usize| locations.iter().map(f).max().unwrap_or(1);
        let cell_width = widest(&|l| l.cell.map_or(0, |c| digits(c) + "cell :".len()));
        let width = cell_width + widest(&|l| digits(l.row)) + widest(&|l| digits(l.column)) + 1;
        writeln!(out, "{header}{}{reset}:", file.display)?;
        for (d, location) in file.diagnostics.iter().zip(&locations) {
            let location = location.to_string();
            // As ruff: `[*]` marks what `--fix` fixes (unsafe fixes need `--unsafe-fixes`).
            let safe = d
                .fix
                .as_ref()
                .is_some_and(|f| f.applicability == crate::diagnostic::Applicability::Safe);
            let fixable = if safe { " [*]" } else { "" };
            writeln!(
                out,
                "  {location:<width$} {}{fixable} {}",
                severity_code(d, options.color),
                one_line(&d.message),
            )?;
        }
        writeln!(out)?;
        Ok(())
    })
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}
