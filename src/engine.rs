//! The one lint pipeline every front end uses (CLI, stdin, editor server):
//! read → parse → one walk (semantic model + rules) → suppressions → sorted diagnostics.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use ruff_python_ast::PySourceType;
use ruff_python_parser::parse_unchecked_source;
use ruff_python_trivia::CommentRanges;

use crate::checker::{self, Checker, FilePass};
use crate::config::Settings;
use crate::diagnostic::{Diagnostic, FileReport, sort_diagnostics};
use crate::discovery::{FileEntry, PackageResolver, display_path};
use crate::registry::{Check, RuleSet};
use crate::rules::syntax::syntax_error;
use crate::semantic::Semantic;
use crate::source::{SourceText, read_file};
use crate::suppression::Suppressions;

/// Stack size of lint worker threads: deep (but guarded) recursion in the tree walk and in the
/// parser's own frames needs more than the 2 MiB default.
pub const WORKER_STACK: usize = 16 << 20;

/// The result of linting one file.
pub struct FileOutcome {
    pub diagnostics: Vec<Diagnostic>,
    /// The text the diagnostics refer to (kept only when there are diagnostics).
    pub source: Option<Arc<SourceText>>,
    /// dllint itself failed on this file (a bug): the run must exit with code 2.
    pub internal_error: bool,
}

/// The result of a run over many files.
#[derive(Default)]
pub struct Report {
    /// Files with findings, sorted by path.
    pub files: Vec<FileReport>,
    /// Number of files linted.
    pub files_checked: usize,
    /// Files on which dllint failed internally.
    pub internal_errors: usize,
}

impl Report {
    pub fn diagnostic_count(&self) -> usize {
        self.files.iter().map(|f| f.diagnostics.len()).sum()
    }
}

/// Lint one file's text. Never panics: a panic inside a rule becomes a `DL000` diagnostic.
pub fn lint_source(
    path: &Path,
    text: String,
    settings: &Settings,
    package: Option<String>,
) -> FileOutcome {
    let source = Arc::new(SourceText::new(text));
    let rules = settings.rules_for(path);
    let result = catch_unwind(AssertUnwindSafe(|| {
        lint_parsed(path, &source, settings, rules, package)
    }));
    let (mut diagnostics, internal_error) = match result {
        Ok(diagnostics) => (diagnostics, false),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            (vec![syntax_error::internal_error(&message)], true)
        }
    };
    diagnostics.retain(|d| rules.contains(d.rule));
    sort_diagnostics(&mut diagnostics);
    let source = (!diagnostics.is_empty()).then_some(source);
    FileOutcome {
        diagnostics,
        source,
        internal_error,
    }
}

fn lint_parsed(
    path: &Path,
    source: &SourceText,
    settings: &Settings,
    rules: RuleSet,
    package: Option<String>,
) -> Vec<Diagnostic> {
    let parsed = parse_unchecked_source(source.text(), PySourceType::from(path));
    if checker::is_too_deep(parsed.syntax()) {
        // Dropping the tree would recurse as deep as it nests: leak it instead (bounded: one
        // tree per pathological file).
        std::mem::forget(parsed);
        return vec![syntax_error::too_deeply_nested(checker::MAX_DEPTH)];
    }
    let comments = CommentRanges::from(parsed.tokens());
    let mut diagnostics = Vec::new();
    if let Some(first) = parsed.errors().first() {
        diagnostics.push(syntax_error::syntax_error(first, parsed.errors().len()));
    }

    let passes: Vec<Box<dyn FilePass<'_> + '_>> = rules
        .iter()
        .filter_map(|rule| match rule.check {
            Check::File(make) => Some(make(&settings.rule_options)),
            Check::Engine => None,
        })
        .collect();
    let semantic = Semantic::new(package);
    let checker = Checker::new(path, source, &parsed, &comments, semantic, passes);
    let (_semantic, found) = checker.run();
    diagnostics.extend(found);

    Suppressions::from_comments(source, &comments).filter(source, &mut diagnostics);
    diagnostics
}

/// Read and lint one file from disk.
pub fn lint_path(path: &Path, settings: &Settings, packages: &PackageResolver) -> FileOutcome {
    match read_file(path) {
        Ok(text) => lint_source(path, text, settings, packages.package_of(path)),
        Err(error) => FileOutcome {
            diagnostics: vec![syntax_error::read_error(&error)],
            source: None,
            internal_error: false,
        },
    }
}

/// Lint many files in parallel. The output does not depend on the number of threads.
pub fn lint_files(files: &[FileEntry], threads: Option<usize>, cwd: &Path) -> Report {
    let packages = PackageResolver::default();
    let run = || -> Vec<(PathBuf, FileOutcome)> {
        files
            .par_iter()
            .map(|entry| {
                (
                    entry.path.clone(),
                    lint_path(&entry.path, &entry.settings, &packages),
                )
            })
            .collect()
    };
    let mut builder = rayon::ThreadPoolBuilder::new().stack_size(WORKER_STACK);
    if let Some(threads) = threads {
        builder = builder.num_threads(threads.max(1));
    }
    let outcomes = match builder.build() {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    };
    collect_report(outcomes, cwd)
}

fn collect_report(outcomes: Vec<(PathBuf, FileOutcome)>, cwd: &Path) -> Report {
    let mut report = Report {
        files_checked: outcomes.len(),
        ..Report::default()
    };
    for (path, outcome) in outcomes {
        if outcome.internal_error {
            report.internal_errors += 1;
        }
        if outcome.diagnostics.is_empty() {
            continue;
        }
        report.files.push(FileReport {
            display: display_path(&path, cwd),
            path,
            source: outcome.source,
            diagnostics: outcome.diagnostics,
        });
    }
    report
        .files
        .sort_by(|a, b| a.display.cmp(&b.display).then_with(|| a.path.cmp(&b.path)));
    report
}

/// Lint text that is not on disk (stdin, an editor buffer) as if it were the file at `path`.
pub fn lint_text(path: &Path, text: String, settings: &Settings, cwd: &Path) -> Report {
    let packages = PackageResolver::default();
    let package = packages.package_of(path);
    let path_owned = path.to_path_buf();
    let settings_ptr = settings;
    let outcome = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn_scoped(scope, move || {
                lint_source(&path_owned, text, settings_ptr, package)
            })
            .map(|handle| handle.join())
    });
    let outcome = match outcome {
        Ok(Ok(outcome)) => outcome,
        _ => FileOutcome {
            diagnostics: vec![syntax_error::internal_error(
                "could not start a lint thread",
            )],
            source: None,
            internal_error: true,
        },
    };
    collect_report(vec![(path.to_path_buf(), outcome)], cwd)
}

/// A report for a single file that could not be read (e.g. stdin that is not UTF-8).
pub fn read_failure_report(path: &Path, error: &crate::source::ReadError, cwd: &Path) -> Report {
    let outcome = FileOutcome {
        diagnostics: vec![syntax_error::read_error(error)],
        source: None,
        internal_error: false,
    };
    collect_report(vec![(path.to_path_buf(), outcome)], cwd)
}
