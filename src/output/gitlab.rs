//! GitLab Code Quality report: a JSON array of issues, uploaded as the
//! `artifacts:reports:codequality` of a CI job and shown in merge requests.
//!
//! Each issue has the fields GitLab requires: `description`, `check_name`, `fingerprint`,
//! `severity` (`info`, `minor`, `major`, `critical` or `blocker`; dllint's errors are
//! `critical`, warnings `major`, info `minor`), `location.path` (relative to
//! the repository root) and `location.lines.begin`. The fingerprint hashes the path, the rule
//! code and the offending line's text, not its number, so an issue keeps its identity when
//! lines are added above it (GitLab then shows it as neither fixed nor new).

use std::io::{self, Write};

use serde_json::json;

use crate::engine::Report;
use crate::fingerprint::{identities, unique_fingerprint};
use crate::registry::Severity;

use super::{Locator, location, stored_position};

pub fn render(report: &Report, locator: &Locator, out: &mut dyn Write) -> io::Result<()> {
    let mut issues = Vec::new();
    for (file, text) in super::with_sources(&report.files) {
        let source = text.as_deref();
        let path = locator.root_relative_or_absolute(&file.path);
        for (d, identity) in file.diagnostics.iter().zip(identities(&path, file, source)) {
            let start = stored_position(source, d.range.start());
            let end = stored_position(source, d.range.end());
            let severity = match d.severity {
                Severity::Error => "critical",
                Severity::Warning => "major",
                Severity::Info => "minor",
            };
            let mut description = format!(
                "{} {}{}",
                d.code,
                location(source, d.range.start()).cell_prefix(),
                d.message
            );
            if let Some(help) = &d.help {
                description.push_str(" (help: ");
                description.push_str(help);
                description.push(')');
            }
            issues.push(json!({
                "type": "issue",
                "description": description,
                "check_name": d.code,
                "categories": [category(crate::rules::of_code(d.code).family)],
                "fingerprint": unique_fingerprint(&identity.fingerprint, identity.occurrence),
                "severity": severity,
                "location": {
                    "path": path,
                    "lines": {"begin": start.row, "end": end.row.max(start.row)},
                },
            }));
        }
    }
    serde_json::to_writer_pretty(&mut *out, &issues)?;
    writeln!(out)
}

/// GitLab's (Code Climate's) issue categories.
fn category(family: crate::registry::Family) -> &'static str {
    use crate::registry::Family;
    match family {
        Family::Syntax | Family::Training => "Bug Risk",
        Family::Coupling | Family::Structure => "Complexity",
        Family::DeadCode | Family::Shapes => "Clarity",
    }
}
