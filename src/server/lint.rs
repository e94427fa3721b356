//! Linting open buffers with the same engine as `dllint check`, and turning its findings into
//! LSP diagnostics. All open documents of a workspace go into one engine run as in-memory
//! inputs, so a base class edited in one buffer changes the findings of its subclasses in the
//! others; files that are not open are read from disk by the engine, as context: the other
//! files of each document's project (see [`crate::discovery::project_context`]; from the cache
//! of `dllint check` where it holds them), and files outside it that a document imports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    TextEdit, Uri,
};
use ruff_source_file::LineIndex;
use ruff_text_size::TextRange;
use serde::{Deserialize, Serialize};

use crate::cache::{self, Cache};
use crate::config::{ConfigError, Overrides, Resolver, Settings};
use crate::diagnostic::{Diagnostic, Edit, Fix};
use crate::discovery::{self, FileEntry};
use crate::engine::{self, Input};
use crate::registry::{Rule, Severity};

use super::document::Document;
use super::position::{Encoding, Lines};
use super::uri;
use crate::suppression::edit::noqa_edit;

/// One finding in an open document, converted for the client once, at lint time.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: Rule,
    /// Byte range in the text that was linted.
    pub range: TextRange,
    pub fix: Option<Fix>,
    pub noqa: Option<Edit>,
    pub lsp: lsp_types::Diagnostic,
}

/// What a diagnostic carries in `data`: enough for a client (or a later code action) to apply
/// the fix or the suppression without linting again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticData {
    pub code: String,
    pub fix: Option<FixData>,
    pub noqa: Option<TextEdit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixData {
    pub title: String,
    /// `safe` or `unsafe`.
    pub applicability: String,
    pub edits: Vec<TextEdit>,
}

/// One workspace root: its configuration, resolved like the CLI's (nearest file wins).
pub struct Workspace {
    pub root: PathBuf,
    pub resolver: Arc<Resolver>,
    /// Settings used when a configuration file is invalid (the error is shown to the user).
    fallback: Arc<Settings>,
    /// Read the other files of each document's project as context (not `--isolated`, not
    /// `--no-project-context`).
    project_context: bool,
    /// The root whose cache `dllint check` run in this workspace writes (and reads).
    cache_root: PathBuf,
}

impl Workspace {
    pub fn new(
        root: PathBuf,
        config: Option<&Path>,
        isolated: bool,
        overrides: &Overrides,
        project_context: bool,
    ) -> Result<Self, ConfigError> {
        let resolver = Arc::new(Resolver::new(
            root.clone(),
            config,
            isolated,
            overrides.clone(),
        )?);
        let fallback = Arc::new(Settings::resolve(root.clone(), None, overrides)?);
        let cache_root = cache::project_root(&root, config, isolated);
        Ok(Workspace {
            root,
            resolver,
            fallback,
            project_context: project_context && !isolated,
            cache_root,
        })
    }

    /// The other files of the documents' projects, read for their facts only; a project whose
    /// files cannot be listed is linted without them (`Err` says why).
    fn context(&self, inputs: &[Input]) -> Result<Vec<FileEntry>, String> {
        if !self.project_context {
            return Ok(Vec::new());
        }
        let named: Vec<FileEntry> = inputs
            .iter()
            .map(|input| FileEntry {
                path: input.path.clone(),
                settings: input.settings.clone(),
            })
            .collect();
        let paths: Vec<PathBuf> = named.iter().map(|f| f.path.clone()).collect();
        discovery::project_context(&paths, &named, &self.resolver, &self.root, false)
    }

    /// The cache of `dllint check` for this workspace, unless `DLLINT_NO_CACHE` is set.
    fn cache(&self) -> Option<Cache> {
        let disabled = std::env::var_os("DLLINT_NO_CACHE")
            .is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
        (!disabled).then(|| {
            Cache::open(
                cache::cache_dir(&self.cache_root, &self.root),
                &self.cache_root,
            )
        })
    }

    /// Settings for a document, or the defaults plus the error to show when its configuration
    /// is invalid (an editor keeps working while the user fixes the file).
    fn settings_for(&self, path: &Path) -> (Arc<Settings>, Option<ConfigError>) {
        match self.resolver.settings_for_file(path) {
            Ok(settings) => (settings, None),
            Err(error) => (self.fallback.clone(), Some(error)),
        }
    }
}

/// The result of linting the open documents of one workspace.
pub struct Outcome {
    /// Findings per document URI (empty for documents that are not linted).
    pub findings: BTreeMap<String, Vec<Finding>>,
    /// Configuration errors met (each to be shown once).
    pub config_errors: Vec<String>,
}

/// Lint `documents` (all open documents of `workspace`) in one engine run.
pub fn lint(workspace: &Workspace, documents: &[&Document], encoding: Encoding) -> Outcome {
    let mut outcome = Outcome {
        findings: BTreeMap::new(),
        config_errors: Vec::new(),
    };
    let mut inputs = Vec::new();
    let mut by_path: BTreeMap<PathBuf, &Document> = BTreeMap::new();
    for document in documents {
        outcome
            .findings
            .insert(document.uri.as_str().to_string(), Vec::new());
        if !document.is_python() || by_path.contains_key(&document.path) {
            continue;
        }
        let (settings, error) = workspace.settings_for(&document.path);
        if let Some(error) = error {
            outcome.config_errors.push(error.to_string());
        }
        if settings.is_excluded_with_parents(&document.path) {
            continue;
        }
        by_path.insert(document.path.clone(), document);
        inputs.push(Input {
            path: document.path.clone(),
            settings,
            text: Some(document.text().to_string()),
        });
    }
    if inputs.is_empty() {
        return outcome;
    }
    let context = workspace.context(&inputs).unwrap_or_else(|warning| {
        outcome.config_errors.push(warning);
        Vec::new()
    });
    // Context files come from the cache where it holds them (buffers are never cached).
    let cache = if context.is_empty() {
        None
    } else {
        workspace.cache()
    };
    // No refactorings: one writes another file (a new `loss.py`), and such a fix is never
    // offered as a code action (see `convert`), nor is its suggestion shown; building them
    // for every keystroke cost about a fifth of the time to publish.
    let project = engine::run_in_project(
        inputs,
        &context,
        None,
        &workspace.root,
        &workspace.resolver,
        cache.as_ref(),
        false,
    );
    if let Some(cache) = cache {
        // A cache that cannot be written only makes the next lint slower.
        let _ = cache.save();
    }
    let mut others = OtherFiles::default();
    for file in project.report.files {
        let Some(document) = by_path.get(&file.path) else {
            continue;
        };
        let findings = file
            .diagnostics
            .into_iter()
            .map(|d| convert(d, document, &by_path, &mut others, encoding))
            .collect();
        outcome
            .findings
            .insert(document.uri.as_str().to_string(), findings);
    }
    outcome
}

/// Texts of files named by secondary labels that are not open, read once per run.
#[derive(Default)]
struct OtherFiles {
    files: BTreeMap<PathBuf, Option<(String, LineIndex)>>,
}

impl OtherFiles {
    fn location(&mut self, path: &Path, range: TextRange, encoding: Encoding) -> Option<Location> {
        let entry = self.files.entry(path.to_path_buf()).or_insert_with(|| {
            let text = crate::source::read_file(path).ok()?;
            let index = LineIndex::from_source_text(&text);
            Some((text, index))
        });
        let (text, index) = entry.as_ref()?;
        Some(Location {
            uri: uri::from_path(path)?,
            range: Lines::new(text, index).range(range, encoding),
        })
    }
}

fn convert(
    diagnostic: Diagnostic,
    document: &Document,
    open: &BTreeMap<PathBuf, &Document>,
    others: &mut OtherFiles,
    encoding: Encoding,
) -> Finding {
    let mut diagnostic = diagnostic;
    // A refactoring also writes another file (a new `loss.py`): it is applied with
    // `dllint check --unsafe-fixes --fix`, never as a code action that would apply half of it.
    if diagnostic
        .fix
        .as_ref()
        .is_some_and(|fix| !fix.other_files.is_empty())
    {
        diagnostic.fix = None;
    }
    let lines = document.lines();
    let rule = crate::rules::of_code(diagnostic.code);
    let related: Vec<DiagnosticRelatedInformation> = diagnostic
        .labels
        .iter()
        .filter_map(|label| {
            let location = match &label.file {
                None => Some(Location {
                    uri: document.uri.clone(),
                    range: lines.range(label.range, encoding),
                }),
                Some(path) => match open.get(&**path) {
                    Some(other) => Some(Location {
                        uri: other.uri.clone(),
                        range: other.lines().range(label.range, encoding),
                    }),
                    None => others.location(path, label.range, encoding),
                },
            }?;
            Some(DiagnosticRelatedInformation {
                location,
                message: label.message.clone(),
            })
        })
        .collect();
    let noqa = if rule.code == "DL000" {
        None // unparsable files cannot be suppressed
    } else {
        noqa_edit(document.text(), diagnostic.range.start(), rule.code)
    };
    let text_edit = |edit: &Edit| TextEdit {
        range: lines.range(edit.range, encoding),
        new_text: edit.content.clone(),
    };
    let data = DiagnosticData {
        code: rule.code.to_string(),
        fix: diagnostic.fix.as_ref().map(|fix| FixData {
            title: fix.title.clone(),
            applicability: fix.applicability.as_str().to_string(),
            edits: fix.edits.iter().map(text_edit).collect(),
        }),
        noqa: noqa.as_ref().map(text_edit),
    };
    let message = match &diagnostic.help {
        Some(help) => format!("{}\nhelp: {help}", diagnostic.message),
        None => diagnostic.message.clone(),
    };
    let lsp = lsp_types::Diagnostic {
        range: lines.range(diagnostic.range, encoding),
        severity: Some(severity(diagnostic.severity)),
        code: Some(NumberOrString::String(rule.code.to_string())),
        code_description: rule
            .url()
            .parse::<Uri>()
            .ok()
            .map(|href| CodeDescription { href }),
        source: Some("dllint".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: serde_json::to_value(&data).ok(),
    };
    Finding {
        rule,
        range: diagnostic.range,
        fix: diagnostic.fix,
        noqa,
        lsp,
    }
}

fn severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Info => DiagnosticSeverity::INFORMATION,
    }
}

/// The safe fixes of `findings` that do not overlap, in text order: what "fix all" applies in
/// one step (the rest are left for the next round, as `dllint check --fix` does). Fixes that
/// change other files (refactorings) are unsafe and never part of it.
pub fn safe_fix_edits(findings: &[Finding]) -> Vec<Edit> {
    let fixes = findings
        .iter()
        .filter_map(|f| f.fix.as_ref())
        .filter(|fix| fix.other_files.is_empty() && !fix.edits.is_empty());
    let mut edits: Vec<Edit> = crate::fix::select(fixes, false)
        .into_iter()
        .flat_map(|fix| fix.edits.iter().cloned())
        .collect();
    edits.sort_by_key(|e| (e.range.start(), e.range.end()));
    edits
}

#[cfg(test)]
mod tests {
    use ruff_text_size::TextSize;

    use super::*;
    use crate::diagnostic::Applicability;

    fn finding(start: u32, end: u32, applicability: Applicability) -> Finding {
        let rule = crate::rules::find_rule("DL305").unwrap();
        let range = TextRange::new(TextSize::new(start), TextSize::new(end));
        Finding {
            rule,
            range,
            fix: Some(Fix {
                title: "Remove".into(),
                applicability,
                edits: vec![Edit::deletion(range)],
                other_files: Vec::new(),
            }),
            noqa: None,
            lsp: lsp_types::Diagnostic::default(),
        }
    }

    #[test]
    fn fix_all_takes_safe_non_overlapping_fixes() {
        let findings = [
            finding(10, 20, Applicability::Safe),
            finding(0, 5, Applicability::Safe),
            finding(15, 25, Applicability::Safe),
            finding(30, 35, Applicability::Unsafe),
            finding(20, 22, Applicability::Safe),
        ];
        let ranges: Vec<(u32, u32)> = safe_fix_edits(&findings)
            .iter()
            .map(|e| (e.range.start().into(), e.range.end().into()))
            .collect();
        assert_eq!(ranges, [(0, 5), (10, 20), (20, 22)]);
    }

    #[test]
    fn converts_findings_with_fix_noqa_and_labels() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("t.py");
        let text = "x = 'é'; import pdb\n";
        let document = Document::new(
            uri::from_path(&path).unwrap(),
            path.clone(),
            "python".into(),
            1,
            text.into(),
        );
        let rule = crate::rules::find_rule("DL305").unwrap();
        let at = text.find("import").unwrap() as u32;
        let range = TextRange::new(TextSize::new(at), TextSize::new(at + 10));
        let diagnostic = Diagnostic::new(rule, "debugger import", range)
            .with_help("remove it")
            .with_label(TextRange::new(TextSize::new(0), TextSize::new(1)), "here")
            .with_fix(Fix {
                title: "Remove the import".into(),
                applicability: Applicability::Unsafe,
                edits: vec![Edit::deletion(range)],
                other_files: Vec::new(),
            });
        let open = BTreeMap::from([(path.clone(), &document)]);
        let finding = convert(
            diagnostic,
            &document,
            &open,
            &mut OtherFiles::default(),
            Encoding::Utf16,
        );
        let lsp = &finding.lsp;
        assert_eq!(lsp.range.start, lsp_types::Position::new(0, 9));
        assert_eq!(lsp.code, Some(NumberOrString::String("DL305".into())));
        assert_eq!(lsp.source.as_deref(), Some("dllint"));
        assert_eq!(lsp.message, "debugger import\nhelp: remove it");
        assert_eq!(lsp.severity, Some(severity(rule.severity)));
        assert!(
            lsp.code_description
                .as_ref()
                .unwrap()
                .href
                .as_str()
                .ends_with("#dl305-debug-leftover")
        );
        assert_eq!(lsp.related_information.as_ref().unwrap()[0].message, "here");
        let data: DiagnosticData = serde_json::from_value(lsp.data.clone().unwrap()).unwrap();
        let fix = data.fix.unwrap();
        assert_eq!(fix.applicability, "unsafe");
        assert_eq!(fix.edits[0].range.end, lsp_types::Position::new(0, 19));
        assert_eq!(data.noqa.unwrap().new_text, "  # noqa: DL305");
    }
}
