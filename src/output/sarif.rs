//! SARIF 2.1.0 (Static Analysis Results Interchange Format), the format GitHub code scanning
//! (`github/codeql-action/upload-sarif`), Azure DevOps and IDE SARIF viewers read.
//!
//! One run whose `tool.driver.rules` is the whole rule catalog (code, name, summary,
//! documentation, URL, default level), and one result per finding: rule id and index, level,
//! message (with the help), the primary location, the secondary labels as related locations,
//! a stable partial fingerprint and the fix when there is one. Artifact URIs are relative to
//! the repository root, declared as the `%SRCROOT%` base; columns count Unicode code points.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use crate::diagnostic::Diagnostic;
use crate::engine::Report;
use crate::fingerprint::{identities, unique_fingerprint};
use crate::registry::{RuleMeta, Severity};
use crate::rules;
use crate::source::SourceText;

use super::{Locator, OtherFiles, location, slashes, stored_position};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";

pub fn render(report: &Report, locator: &Locator, out: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<Value> = rules::ALL.iter().map(|r| descriptor(r)).collect();
    let mut others = OtherFiles::default();
    let mut results = Vec::new();
    for (file, text) in super::with_sources(&report.files) {
        let source = text.as_deref();
        let artifact = artifact_location(locator, &file.path);
        let key = locator.root_relative_or_absolute(&file.path);
        for (d, identity) in file.diagnostics.iter().zip(identities(&key, file, source)) {
            let mut result = json!({
                "ruleId": d.code,
                "ruleIndex": crate::rules::selection::index(crate::rules::of_code(d.code)),
                "level": level(d.severity),
                "message": {"text": format!("{}{}", location(source, d.range.start()).cell_prefix(), message(d))},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact.clone(),
                        "region": region(source, d.range),
                    },
                }],
                "partialFingerprints": {
                    "dllint/v1": unique_fingerprint(&identity.fingerprint, identity.occurrence),
                },
            });
            let related: Vec<Value> = d
                .labels
                .iter()
                .enumerate()
                .map(|(id, label)| {
                    let physical = match &label.file {
                        None => json!({
                            "artifactLocation": artifact.clone(),
                            "region": region(source, label.range),
                        }),
                        Some(path) => {
                            let mut physical =
                                json!({"artifactLocation": artifact_location(locator, path)});
                            if let Some(text) = others.get(path) {
                                physical["region"] = region(Some(&text), label.range);
                            }
                            physical
                        }
                    };
                    json!({
                        "id": id,
                        "physicalLocation": physical,
                        "message": {"text": label.message},
                    })
                })
                .collect();
            if !related.is_empty() {
                result["relatedLocations"] = Value::Array(related);
            }
            // A notebook's fix edits its cells, not the JSON text a SARIF region points into.
            if let Some(fix) = d.fix.as_ref().filter(|_| !is_notebook(source)) {
                let replacements: Vec<Value> = fix
                    .edits
                    .iter()
                    .map(|edit| {
                        json!({
                            "deletedRegion": region(source, edit.range),
                            "insertedContent": {"text": edit.content},
                        })
                    })
                    .collect();
                result["fixes"] = json!([{
                    "description": {"text": format!("{} ({} fix)", fix.title, fix.applicability.as_str())},
                    "artifactChanges": [{
                        "artifactLocation": artifact.clone(),
                        "replacements": replacements,
                    }],
                }]);
            }
            results.push(result);
        }
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "dllint",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules,
                },
            },
            "invocations": [{"executionSuccessful": report.internal_errors == 0}],
            "originalUriBaseIds": {
                SRCROOT: {"uri": file_uri(&locator.root, true)},
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn message(d: &Diagnostic) -> String {
    match &d.help {
        Some(help) => format!("{}\n\nHelp: {help}", d.message),
        None => d.message.clone(),
    }
}

/// The rule's entry in `tool.driver.rules`.
fn descriptor(rule: &RuleMeta) -> Value {
    let documentation = rule.documentation();
    let mut summary = rule.summary();
    if summary.is_empty() {
        summary = rule.name.to_string();
    }
    json!({
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": documentation},
        "help": {"text": documentation, "markdown": documentation},
        "helpUri": rule.url(),
        "defaultConfiguration": {
            "enabled": rule.default_enabled,
            "level": level(rule.severity),
        },
        "properties": {
            "tags": ["dllint", rule.family.as_str()],
        },
    })
}

fn is_notebook(source: Option<&SourceText>) -> bool {
    source.is_some_and(|s| s.notebook().is_some())
}

/// A region of the file as stored (for a notebook, in its JSON).
fn region(source: Option<&SourceText>, range: ruff_text_size::TextRange) -> Value {
    let start = stored_position(source, range.start());
    let end = stored_position(source, range.end());
    json!({
        "startLine": start.row,
        "startColumn": start.column,
        "endLine": end.row,
        "endColumn": end.column,
    })
}

/// A path inside the repository as a relative URI on `%SRCROOT%`; elsewhere a `file:` URI.
fn artifact_location(locator: &Locator, path: &Path) -> Value {
    match locator.relative_to_root(path) {
        Some(relative) => json!({"uri": encode(&relative, false), "uriBaseId": SRCROOT}),
        None => json!({"uri": file_uri(&locator.absolute(path), false)}),
    }
}

/// `file:///abs/path` (with a trailing `/` for a directory, as base URIs need).
fn file_uri(path: &Path, directory: bool) -> String {
    let mut written = slashes(path);
    if !written.starts_with('/') {
        written.insert(0, '/'); // `C:/x` → `/C:/x`
    }
    if directory && !written.ends_with('/') {
        written.push('/');
    }
    format!("file://{}", encode(&written, true))
}

/// Percent-encode a `/`-separated path for use in a URI: everything but unreserved characters
/// and `/` (and `:` in absolute paths, for drive letters) as `%XX` of its UTF-8 bytes.
fn encode(path: &str, absolute: bool) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/')
            || (absolute && byte == b':');
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(
            encode("src/my model/ü.py", false),
            "src/my%20model/%C3%BC.py"
        );
        assert_eq!(encode("a:b#c?d%", false), "a%3Ab%23c%3Fd%25");
        assert_eq!(
            file_uri(Path::new("/work/my repo"), true),
            "file:///work/my%20repo/"
        );
    }
}
