//! `path:line: [CODE] message`, the format pylint's parsers (and ruff's `pylint` output) use.

use std::io::{self, Write};

use crate::engine::Report;

use super::{location, stored_position};

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    super::render_each(&report.files, out, |file, text, out| {
        let source = text.as_deref();
        for d in &file.diagnostics {
            // The line in the file as stored (a notebook's JSON); the message names the cell.
            let pos = stored_position(source, d.range.start());
            writeln!(
                out,
                "{}:{}: [{}] {}{}",
                file.display,
                pos.row,
                d.code,
                location(source, d.range.start()).cell_prefix(),
                one_line(&d.message)
            )?;
        }
        Ok(())
    })
}

/// Messages are one line by construction; keep it so even if a rule's message is not.
pub(crate) fn one_line(message: &str) -> String {
    if message.contains(['\n', '\r']) {
        message
            .split(['\n', '\r'])
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        message.to_string()
    }
}
