//! The one lint pipeline every front end uses (CLI, stdin, editor server):
//!
//! 1. per file, in parallel: read → parse → one walk (semantic model, facts, file rules) →
//!    suppressions; project context files (the rest of the project in a partial run, see
//!    [`crate::discovery::project_context`]) are read for their facts only;
//! 2. load context files the linted files import (a base class outside the given paths);
//! 3. build the project index and the roles (sequential, cheap);
//! 4. per linted file, in parallel: project rules on facts + index;
//! 5. sort; the output does not depend on the number of threads.
//!
//! With a cache, step 1 skips files whose key matches, and when every linted file, every
//! context file and everything the project rules saw of the file system are as last time,
//! steps 2–4 are replayed from the project cache (see [`crate::cache::project`]).

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use ruff_python_ast::{ModModule, PySourceType};
use ruff_python_parser::{Parsed, parse_unchecked_source};
use ruff_python_trivia::CommentRanges;
use rustc_hash::FxHashMap;

use crate::cache::{self, Cache, project};
use crate::checker::{Checker, FilePass};
use crate::config::{Resolver, Settings};
use crate::diagnostic::{Diagnostic, FileReport, ReportText, sort_diagnostics};
use crate::discovery::{FileEntry, PackageResolver, display_path, is_python_file};
use crate::notebook::Notebook;
use crate::registry::Needs;
use crate::rule_context::ProjectContext;
use crate::rules::RuleSet;
use crate::rules::syntax::syntax_error;
use crate::semantic::Semantic;
use crate::semantic::facts::{Callee, FileFacts};
use crate::semantic::index::{ModuleMap, ProjectFile, ProjectIndex, dotted_prefixes};
use crate::semantic::parse;
use crate::semantic::reads::{self, Reads};
use crate::semantic::roles::Roles;
use crate::source::is_notebook;
use crate::source::{ReadError, SourceText, read_file};
use crate::suppression::Suppressions;

/// Stack size of lint worker threads: deep (but guarded) recursion in the tree walk and in the
/// parser's own frames needs more than the 2 MiB default.
pub const WORKER_STACK: usize = 16 << 20;

/// At most this many files are read only for context (imported, but not linted).
const MAX_CONTEXT_FILES: usize = 2_000;

/// How far the current run is, for a progress display (`dllint check` on a terminal): the
/// files read and analysed of those to analyse, then the cross-file step. One per process:
/// runs at the same time (the editor server) share it, which only a display reads.
pub mod progress {
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// What the run is doing.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Phase {
        Idle,
        /// Reading, parsing and walking the files; `done` of `total`.
        Files,
        /// Imports outside the given files, the project index, roles and project rules.
        Project,
    }

    static PHASE: AtomicUsize = AtomicUsize::new(0);
    static TOTAL: AtomicUsize = AtomicUsize::new(0);
    static DONE: AtomicUsize = AtomicUsize::new(0);

    pub(super) fn start(total: usize) {
        DONE.store(0, Ordering::Relaxed);
        TOTAL.store(total, Ordering::Relaxed);
        PHASE.store(1, Ordering::Relaxed);
    }

    pub(super) fn file_done() {
        DONE.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn project() {
        PHASE.store(2, Ordering::Relaxed);
    }

    pub(super) fn finish() {
        PHASE.store(0, Ordering::Relaxed);
    }

    /// The phase, and the files done and to do in it.
    pub fn snapshot() -> (Phase, usize, usize) {
        let phase = match PHASE.load(Ordering::Relaxed) {
            1 => Phase::Files,
            2 => Phase::Project,
            _ => Phase::Idle,
        };
        let total = TOTAL.load(Ordering::Relaxed);
        (phase, DONE.load(Ordering::Relaxed).min(total), total)
    }
}

/// The result of a run over many files.
#[derive(Default)]
pub struct Report {
    /// Files with findings, sorted by path.
    pub files: Vec<FileReport>,
    /// Number of files linted.
    pub files_checked: usize,
    /// Every file linted (clean or not), as given or discovered, sorted: for formats that
    /// list clean files too (JUnit) and for baselines (which entries belong to this run).
    pub checked: Vec<PathBuf>,
    /// Files on which dllint failed internally.
    pub internal_errors: usize,
}

impl Report {
    pub fn diagnostic_count(&self) -> usize {
        self.files.iter().map(|f| f.diagnostics.len()).sum()
    }
}

/// One file to analyse: from disk, or with its text supplied (stdin, an editor buffer).
pub struct Input {
    pub path: PathBuf,
    pub settings: Arc<Settings>,
    pub text: Option<String>,
}

/// What a file is to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Named (or found in a named directory): analysed with every rule, reported.
    Linted,
    /// The rest of the project in a partial run: facts only, part of the project as in a run
    /// on the whole project (a training script among them is one), never reported.
    Project,
    /// Outside the project, read because a linted file imports it: facts only.
    Imported,
}

impl Kind {
    /// Part of the linted project (the index's notion): everything but imported files.
    fn linted(self) -> bool {
        self != Kind::Imported
    }
}

/// A file read and keyed, not analysed yet.
struct Prepared {
    path: PathBuf,
    absolute: PathBuf,
    settings: Arc<Settings>,
    /// `None` once the text was hashed: a file on disk is read again when it is analysed, so
    /// a run never holds every file's text at once (the project's source would otherwise be
    /// in memory, whole, before the first file is parsed).
    text: Option<Result<String, ReadError>>,
    kind: Kind,
    keep_source: bool,
    rules: RuleSet,
    package: Option<String>,
    /// The cache key (files on disk, with a cache).
    key: Option<u128>,
    /// A project context file: the key a run on the whole project gives it (with its file
    /// rules), also accepted from the cache; it is stored under `key` (facts only).
    whole_key: Option<u128>,
    /// What of the file's facts the run's cross-file rules need (none: only its findings).
    facts: Needs,
}

/// Phase-1 result of one file.
struct Analysis {
    path: PathBuf,
    absolute: PathBuf,
    key: Option<u128>,
    settings: Arc<Settings>,
    facts: Option<FileFacts>,
    diagnostics: Vec<Diagnostic>,
    source: Option<Arc<SourceText>>,
    /// The syntax tree of `source`, when the text is kept and parsed without error (see
    /// [`ProjectFile::tree`]).
    tree: Option<Arc<Parsed<ModModule>>>,
    internal_error: bool,
    kind: Kind,
    /// The file changed between its hashing and its analysis: the project result is not
    /// stored (it would be keyed by what the file was).
    changed: bool,
}

/// Everything a run produced, before rendering: the index stays available (e.g. for `map`).
pub struct Project {
    pub index: ProjectIndex,
    /// The roles, computed when a project rule needed them or on first use (`map`, `survey`).
    roles: std::sync::OnceLock<Roles>,
    pub report: Report,
}

impl Project {
    /// The MODLR roles of the project's classes and functions.
    pub fn roles(&self) -> &Roles {
        self.roles.get_or_init(|| Roles::compute(&self.index))
    }

    /// The report of a run whose index is not needed afterwards. Freeing every file's facts
    /// costs as much as building the index, and the process is about to exit: the OS
    /// reclaims them.
    pub fn into_report(self) -> Report {
        let Project {
            index,
            roles,
            report,
        } = self;
        std::mem::forget((index, roles));
        report
    }
}

fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    crate::discovery::normalize(&joined)
}

/// Read state of one file: its settings, rules, package and cache key. `text` is the text of
/// an editor's buffer or stdin (kept), or `None` for a file on disk: read here only when a
/// cache needs its key, and then dropped (`analyze` reads it again).
#[allow(clippy::too_many_arguments)]
fn prepare(
    path: &Path,
    text: Option<Result<String, ReadError>>,
    settings: &Arc<Settings>,
    packages: &PackageResolver,
    cwd: &Path,
    kind: Kind,
    keep_source: bool,
    cache: Option<&Cache>,
    facts: Needs,
) -> Prepared {
    let absolute = absolute(path, cwd);
    let rules = if kind == Kind::Linted {
        settings.rules_for(path)
    } else {
        RuleSet::empty()
    };
    let package = packages.package_of(&absolute);
    let cache = cache.filter(|_| !keep_source);
    let text = text.or_else(|| cache.map(|_| read_file(path)));
    let (key, whole_key) = match (&text, cache) {
        (Some(Ok(text)), Some(cache)) => {
            let package = package.as_deref();
            let linted = kind == Kind::Linted;
            let key = cache.key(
                settings,
                rules,
                path,
                package,
                cache::Analysis { linted, facts },
                text,
            );
            let whole = (kind == Kind::Project).then(|| {
                cache.key(
                    settings,
                    settings.rules_for(path),
                    path,
                    package,
                    cache::Analysis {
                        linted: true,
                        facts,
                    },
                    text,
                )
            });
            (Some(key), whole)
        }
        _ => (None, None),
    };
    // Text that can be read again is dropped (a file on disk); an editor's buffer, stdin and
    // a read error are kept.
    let text = match text {
        Some(Ok(_)) if !keep_source => None,
        text => text,
    };
    Prepared {
        path: path.to_path_buf(),
        absolute,
        settings: settings.clone(),
        text,
        kind,
        keep_source,
        rules,
        package,
        key,
        whole_key,
        facts,
    }
}

/// Phase 1 for one file. Never panics: a panic inside a rule becomes a `DL000` diagnostic.
/// With a cache (files read from disk only), a file whose key matches is not parsed at all.
fn analyze(prepared: Prepared, cache: Option<&Cache>) -> Analysis {
    let Prepared {
        path,
        absolute,
        settings,
        text,
        kind,
        keep_source,
        rules,
        package,
        key,
        whole_key,
        facts: wants_facts,
    } = prepared;
    let reported = kind == Kind::Linted;
    let path = path.as_path();
    let settings = &settings;
    let mut analysis = Analysis {
        path: path.to_path_buf(),
        absolute,
        key,
        settings: settings.clone(),
        facts: None,
        diagnostics: Vec::new(),
        source: None,
        tree: None,
        internal_error: false,
        kind,
        changed: false,
    };
    let cache = cache.filter(|_| !keep_source);
    let hit = match (cache, key, whole_key) {
        (Some(cache), Some(key), Some(whole)) => cache.get_either(&analysis.absolute, key, whole),
        (Some(cache), Some(key), None) => cache.get(&analysis.absolute, key),
        _ => None,
    };
    if let Some(hit) = hit {
        analysis.facts = hit.facts;
        // What a run on the whole project found in a context file is not reported here.
        if reported {
            analysis.diagnostics = hit.diagnostics;
        }
        return analysis;
    }
    let text = match text.unwrap_or_else(|| read_file(path)) {
        Ok(text) => {
            // Read again after hashing: a file changed since is analysed as it is now, and
            // its result is not stored under the key of what it was.
            if let (Some(cache), Some(recorded)) = (cache, analysis.key) {
                let linted = kind == Kind::Linted;
                let now = cache.key(
                    settings,
                    rules,
                    path,
                    package.as_deref(),
                    cache::Analysis {
                        linted,
                        facts: wants_facts,
                    },
                    &text,
                );
                if now != recorded {
                    analysis.key = None;
                    analysis.changed = true;
                }
            }
            text
        }
        Err(error) => {
            if reported {
                analysis.diagnostics.push(syntax_error::read_error(&error));
            }
            return analysis;
        }
    };
    // A notebook is analysed as its virtual source (the code cells joined), parsed in IPython
    // mode; what is shown (stdin, editor buffers) is the cells as written.
    let (text, display) = if is_notebook(path) {
        match Notebook::parse(text) {
            Ok(notebook) => {
                let python = notebook.python_source();
                let display = keep_source.then(|| SourceText::from_notebook(Arc::new(notebook)));
                (python, display)
            }
            Err(error) => {
                if reported {
                    analysis
                        .diagnostics
                        .push(syntax_error::read_error(&ReadError::Notebook(error)));
                }
                if let (Some(cache), Some(key)) = (cache, analysis.key) {
                    cache.put(&analysis.absolute, key, None, &analysis.diagnostics);
                }
                return analysis;
            }
        }
    } else {
        (text, None)
    };
    // A notebook kept as a Python file gets the notebook policy too.
    let cell_script = !is_notebook(path) && SourceText::is_cell_script(&text);
    let (source, rules) = if is_notebook(path) {
        (SourceText::notebook_code(text), rules)
    } else if cell_script || settings.is_teaching_path(path) {
        let rules = if kind == Kind::Project {
            rules
        } else {
            settings.rules_for_source(path, true)
        };
        (
            SourceText::notebook_code(text).knowing_cell_script(cell_script),
            rules,
        )
    } else {
        (SourceText::new(text).knowing_cell_script(false), rules)
    };
    let source = Arc::new(source);
    // The tree of a text kept in memory is kept with it; a notebook's kept text is its
    // display form, which is parsed again when needed.
    let keep_tree = keep_source && display.is_none();
    let result = catch_unwind(AssertUnwindSafe(|| {
        lint_parsed(
            path,
            &source,
            settings,
            rules,
            package,
            wants_facts,
            keep_tree,
        )
    }));
    match result {
        Ok((facts, diagnostics, tree)) => {
            analysis.facts = facts;
            analysis.diagnostics = diagnostics;
            analysis.tree = tree.map(Arc::new);
        }
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            analysis.diagnostics = vec![syntax_error::internal_error(&message)];
            analysis.internal_error = true;
        }
    }
    if !reported {
        analysis.diagnostics.clear();
    }
    analysis.diagnostics.retain(|d| rules.contains_code(d.code));
    if let (Some(cache), Some(key)) = (cache, analysis.key)
        && !analysis.internal_error
    {
        cache.put(
            &analysis.absolute,
            key,
            analysis.facts.as_ref(),
            &analysis.diagnostics,
        );
    }
    // Keep the text only where it cannot be read again (stdin, editor buffers); files on disk
    // are re-read when their findings are rendered, so memory does not grow with the project.
    if keep_source {
        analysis.source = Some(display.map_or(source, Arc::new));
    }
    analysis
}

fn lint_parsed(
    path: &Path,
    source: &SourceText,
    settings: &Settings,
    rules: RuleSet,
    package: Option<String>,
    wants_facts: Needs,
    keep_tree: bool,
) -> (
    Option<FileFacts>,
    Vec<Diagnostic>,
    Option<Parsed<ModModule>>,
) {
    let parsed = parse_unchecked_source(source.text(), PySourceType::from(path));
    if parse::is_too_deep(&parsed) {
        // Dropping the tree would recurse as deep as it nests: leak it instead (bounded: one
        // tree per pathological file).
        std::mem::forget(parsed);
        return (
            None,
            vec![syntax_error::too_deeply_nested(parse::MAX_DEPTH)],
            None,
        );
    }
    let comments = CommentRanges::from(parsed.tokens());
    let mut diagnostics = Vec::new();
    if let Some(first) = parsed.errors().first() {
        diagnostics.push(syntax_error::syntax_error(first, parsed.errors().len()));
    }
    let passes: Vec<Box<dyn FilePass<'_> + '_>> = rules
        .iter()
        .filter_map(|rule| {
            rule.check
                .file_pass()
                .map(|make| make(&settings.rule_options))
        })
        .collect();
    let semantic = Semantic::new(package);
    let checker = Checker::new(
        path,
        source,
        &parsed,
        &comments,
        semantic,
        &settings.scope.knowledge,
        passes,
    );
    let checker = match wants_facts {
        Needs::Nothing => checker.without_facts(),
        Needs::Symbols => checker.without_scope_facts(),
        Needs::Training => checker,
    };
    let (mut facts, found) = checker.run();
    diagnostics.extend(found);
    let suppressions = Suppressions::from_comments(source, &comments);
    suppressions.filter(&mut diagnostics);
    facts.suppressions = suppressions;
    facts.recovered = parsed.has_syntax_errors();
    facts.line_count = count_lines(source.text());
    facts.cell_script = source.cell_script();
    facts.shrink_to_fit();
    let tree = (keep_tree && !parsed.has_syntax_errors()).then_some(parsed);
    (Some(facts), diagnostics, tree)
}

/// A pool of `threads` workers (the machine's cores by default), with the stack the walks need.
pub(crate) fn thread_pool(threads: Option<usize>) -> Option<rayon::ThreadPool> {
    let mut builder = rayon::ThreadPoolBuilder::new().stack_size(WORKER_STACK);
    if let Some(threads) = threads {
        builder = builder.num_threads(threads.max(1));
    }
    builder.build().ok()
}

/// Lint many files, building every file's facts (for `map` and `survey`, which show them).
/// `resolver` gives the settings of context files found through imports.
pub fn lint_files(
    files: &[FileEntry],
    threads: Option<usize>,
    cwd: &Path,
    resolver: &Resolver,
) -> Project {
    let inputs: Vec<Input> = files
        .iter()
        .map(|f| Input {
            path: f.path.clone(),
            settings: f.settings.clone(),
            text: None,
        })
        .collect();
    run_for_facts(inputs, threads, cwd, resolver)
}

/// [`lint_files`] with a cache (see [`crate::cache`]) and the project context of a partial
/// run (the project's other files, read for their facts only: see
/// [`crate::discovery::project_context`]), for `check`: only the report, which may be
/// replayed from the project cache without building the index. `refactorings`: whether the
/// findings get their refactorings (an output that neither shows nor counts them does not
/// need them).
pub fn lint_files_cached(
    files: &[FileEntry],
    context: &[FileEntry],
    threads: Option<usize>,
    cwd: &Path,
    resolver: &Resolver,
    cache: Option<&Cache>,
    refactorings: bool,
) -> Report {
    let inputs: Vec<Input> = files
        .iter()
        .map(|f| Input {
            path: f.path.clone(),
            settings: f.settings.clone(),
            text: None,
        })
        .collect();
    let mode = Mode {
        replay: true,
        facts: Facts::ForRules,
        refactorings,
    };
    match pipeline(inputs, context, threads, cwd, resolver, cache, mode) {
        Outcome::Full(project) => project.into_report(),
        Outcome::Replayed(report) => report,
    }
}

/// Lint text that is not on disk (stdin, an editor buffer) as if it were the file at `path`.
pub fn lint_text(
    path: &Path,
    text: String,
    settings: &Arc<Settings>,
    cwd: &Path,
    resolver: &Resolver,
) -> Report {
    let input = Input {
        path: path.to_path_buf(),
        settings: settings.clone(),
        text: Some(text),
    };
    run(vec![input], Some(1), cwd, resolver).report
}

/// The whole pipeline.
pub fn run(inputs: Vec<Input>, threads: Option<usize>, cwd: &Path, resolver: &Resolver) -> Project {
    run_in_project(inputs, &[], threads, cwd, resolver, None, true)
}

/// [`run`] that builds every file's facts whatever the rules (`map`, `survey`, `facts`: what
/// they show is the facts), where a run whose rules are all per-file builds none.
pub fn run_for_facts(
    inputs: Vec<Input>,
    threads: Option<usize>,
    cwd: &Path,
    resolver: &Resolver,
) -> Project {
    project_run(
        inputs,
        &[],
        threads,
        cwd,
        resolver,
        None,
        Facts::Always,
        true,
    )
}

/// How a run goes: `replay` allows answering from the project cache (only the report is
/// needed); `facts` says which facts it builds.
#[derive(Clone, Copy)]
struct Mode {
    replay: bool,
    facts: Facts,
    /// Build the refactorings of the findings (see [`ProjectContext::refactorings`]).
    refactorings: bool,
}

/// Which files' facts a run builds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Facts {
    /// Every file's, when a cross-file rule is enabled for some linted file; else none.
    ForRules,
    Always,
}

/// [`run`] with the project context of a partial run: `context` (files on disk, not among the
/// inputs) is read for its facts only — from `cache` where it holds them — so that the
/// cross-file rules judge the inputs as a run on the whole project would; only the inputs
/// are reported. `refactorings`: whether the findings get their refactorings (see
/// [`lint_files_cached`]).
pub fn run_in_project(
    inputs: Vec<Input>,
    context: &[FileEntry],
    threads: Option<usize>,
    cwd: &Path,
    resolver: &Resolver,
    cache: Option<&Cache>,
    refactorings: bool,
) -> Project {
    project_run(
        inputs,
        context,
        threads,
        cwd,
        resolver,
        cache,
        Facts::ForRules,
        refactorings,
    )
}

/// The pipeline to its project (index, roles, report), replaying nothing.
#[allow(clippy::too_many_arguments)]
fn project_run(
    inputs: Vec<Input>,
    context: &[FileEntry],
    threads: Option<usize>,
    cwd: &Path,
    resolver: &Resolver,
    cache: Option<&Cache>,
    facts: Facts,
    refactorings: bool,
) -> Project {
    let mode = Mode {
        replay: false,
        facts,
        refactorings,
    };
    match pipeline(inputs, context, threads, cwd, resolver, cache, mode) {
        Outcome::Full(project) => *project,
        // Only a replaying run answers with a report alone.
        Outcome::Replayed(report) => Project {
            index: ProjectIndex::new(Vec::new()),
            roles: std::sync::OnceLock::new(),
            report,
        },
    }
}

/// What the pipeline produced: a full analysis, or a report replayed from the project cache.
enum Outcome {
    Full(Box<Project>),
    Replayed(Report),
}

/// The whole pipeline, with an optional cache of files on disk; `replay` allows answering
/// from the project cache (only the report is needed).
fn pipeline(
    inputs: Vec<Input>,
    context: &[FileEntry],
    threads: Option<usize>,
    cwd: &Path,
    resolver: &Resolver,
    cache: Option<&Cache>,
    mode: Mode,
) -> Outcome {
    let pool = thread_pool(threads);
    progress::start(inputs.len() + context.len());
    let work = || run_in_pool(inputs, context, cwd, resolver, cache, mode);
    let outcome = match pool {
        Some(pool) => pool.install(work),
        None => work(),
    };
    progress::finish();
    outcome
}

fn run_in_pool(
    inputs: Vec<Input>,
    context: &[FileEntry],
    cwd: &Path,
    resolver: &Resolver,
    cache: Option<&Cache>,
    mode: Mode,
) -> Outcome {
    let Mode {
        replay,
        facts,
        refactorings,
    } = mode;
    let timing = crate::timing::enabled();
    let lap = crate::timing::lap;
    let packages = PackageResolver::default();
    // Facts (and the files read for them) serve the cross-file rules only, as far as the
    // enabled rules need: a run of file rules alone (`--select DL30`) builds none, one whose
    // cross-file rules read only symbols and usage (`--select DL304`) builds no scope facts.
    let facts = if facts == Facts::Always {
        Needs::Training
    } else {
        inputs
            .iter()
            .filter_map(|input| {
                let rules = input.settings.rules_for(&input.path);
                rules.iter().map(|rule| rule.needs).max()
            })
            .max()
            .unwrap_or(Needs::Nothing)
    };
    let mut prepared: Vec<Prepared> = inputs
        .into_par_iter()
        .map(|input| {
            let (text, keep) = match input.text {
                // An editor's buffer is held to the same limit as a file.
                Some(text) if text.len() as u64 > crate::source::MAX_SOURCE_BYTES => {
                    (Some(Err(ReadError::TooLarge)), true)
                }
                Some(text) => (Some(Ok(text)), true),
                None => (None, false),
            };
            prepare(
                &input.path,
                text,
                &input.settings,
                &packages,
                cwd,
                Kind::Linted,
                keep,
                cache,
                facts,
            )
        })
        .collect();
    if !context.is_empty() {
        prepared.par_extend(context.par_iter().map(|file| {
            prepare(
                &file.path,
                None,
                &file.settings,
                &packages,
                cwd,
                Kind::Project,
                false,
                cache,
                facts,
            )
        }));
        // In the order of a run on the whole project.
        prepared.sort_by(|a, b| a.absolute.cmp(&b.absolute));
    }
    lap("read, hash");
    // The project key needs every linted file's key (all read from disk), and the key of
    // every project context file.
    let project_key = cache.and_then(|cache| {
        let keys = |kind: Kind| -> Option<Vec<(&Path, u128)>> {
            prepared
                .iter()
                .filter(|p| p.kind == kind)
                .map(|p| Some((p.absolute.as_path(), p.key?)))
                .collect()
        };
        let key = project::key(cache, keys(Kind::Linted)?, refactorings);
        let context = keys(Kind::Project)?;
        if context.is_empty() {
            return Some((cache, key));
        }
        let context = project::key(cache, context, refactorings);
        let mut both = [0u8; 32];
        both[..16].copy_from_slice(&key.to_le_bytes());
        both[16..].copy_from_slice(&context.to_le_bytes());
        Some((cache, xxhash_rust::xxh3::xxh3_128(&both)))
    });
    if project_key.is_some() {
        // The project findings are stored with what they read (see `semantic::reads`).
        reads::enable();
    }
    // Only a result made with refactorings as asked is replayed: a run without them says, for
    // each finding that has one, that it was not built (the full output shows that), which a
    // result with them does not record.
    if replay
        && let Some(report) = project_key.and_then(|(cache, key)| {
            replay_project(&prepared, cache, key, resolver, &packages, cwd, facts)
        })
    {
        lap("replayed project result");
        if timing {
            let (hits, misses) = cache.map_or((0, 0), |c| c.stats());
            eprintln!("dllint cache: {hits} hits, {misses} misses");
        }
        return Outcome::Replayed(report);
    }
    let mut analyses: Vec<Analysis> = prepared
        .into_par_iter()
        .map(|p| {
            let analysis = analyze(p, cache);
            progress::file_done();
            analysis
        })
        .collect();
    progress::project();
    lap("parse, walk");
    let probes = load_context(&mut analyses, &packages, cwd, resolver, cache, facts);
    lap("context files");
    if let (true, Some(cache)) = (timing, cache) {
        let (hits, misses) = cache.stats();
        eprintln!("dllint cache: {hits} hits, {misses} misses");
    }

    // Index and roles.
    let mut diagnostics_by_file: Vec<Vec<Diagnostic>> = Vec::with_capacity(analyses.len());
    let mut sources = Vec::with_capacity(analyses.len());
    let mut meta = Vec::with_capacity(analyses.len());
    // Exact: the files live until the end of the run (grown by doubling, the list kept room
    // for 1,730 more files on the corpus: 0.7 MB).
    let mut project_files =
        Vec::with_capacity(analyses.iter().filter(|a| a.facts.is_some()).count());
    let mut file_ids = Vec::with_capacity(analyses.len());
    let mut context_keys: Vec<(PathBuf, Option<u128>)> = Vec::new();
    let mut linted_absolute: Vec<PathBuf> = Vec::with_capacity(analyses.len());
    // The key of each file of the index, in its order.
    let mut index_keys: Vec<Option<u128>> = Vec::with_capacity(analyses.len());
    let mut changed_during_run = false;
    for analysis in analyses {
        let Analysis {
            path,
            absolute,
            key,
            settings,
            facts,
            diagnostics,
            source,
            tree,
            internal_error,
            kind,
            changed,
        } = analysis;
        changed_during_run |= changed;
        if kind == Kind::Imported {
            context_keys.push((absolute.clone(), key));
        }
        linted_absolute.push(absolute.clone());
        match facts {
            Some(facts) => {
                file_ids.push(Some(project_files.len() as u32));
                index_keys.push(key);
                let teaching = settings.is_teaching_path(&absolute);
                project_files.push(ProjectFile {
                    path: Arc::from(path.as_path()),
                    absolute,
                    facts,
                    scope: settings.scope.clone(),
                    teaching,
                    linted: kind.linted(),
                    text: source.clone(),
                    tree,
                });
            }
            None => file_ids.push(None),
        }
        diagnostics_by_file.push(diagnostics);
        sources.push(source);
        meta.push((path, settings, internal_error, kind == Kind::Linted));
    }
    let index = ProjectIndex::new(project_files);
    if timing {
        let mut counts = [0usize; 8];
        for file in index.all_files() {
            let f = &file.facts;
            counts[0] += f.classes.len();
            counts[1] += f.functions.len();
            for scope in std::iter::once(&f.module).chain(f.functions.iter().map(|x| &x.body)) {
                counts[2] += scope.evidence().count();
                counts[3] += scope.project_calls.len();
                counts[4] += scope.api_calls.len();
                counts[5] += scope.losses().differentiated.len() + scope.losses().returned.len();
                counts[6] += scope.loops.len();
            }
            counts[7] += f.line_count as usize;
        }
        eprintln!(
            "dllint facts: classes {} functions {} evidence {} project_calls {} api_calls {} loss_values {} loops {} lines {}",
            counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6], counts[7]
        );
    }
    lap("index");
    // Project rules, when one is enabled for some linted file: a run of file rules only
    // (`--select DL3`) computes no roles.
    let roles = std::sync::OnceLock::new();
    let project_rules = meta.iter().any(|(_, settings, _, reported)| {
        *reported
            && settings
                .rules
                .iter()
                .any(|r| r.check.project_check().is_some())
    });
    // With a project cache, each file's project findings are stored with the files they read
    // (`semantic::reads`), and a run after an edit replays those of every file none of whose
    // reads changed: the newest stored result of the same project files is the base. Its
    // resolved calls serve the training model first, for the files whose calls read nothing
    // that changed.
    let mut base = match project_key {
        Some((cache, _)) if replay && project_rules => {
            let paths: Vec<&Path> = index
                .all_files()
                .iter()
                .map(|f| f.absolute.as_path())
                .collect();
            project::base(cache, &paths, refactorings)
        }
        _ => None,
    };
    if let Some(base) = &mut base {
        // First the imports: answering the callees' questions resolves imports.
        let imports = base.take_resolved_imports(&index_keys);
        if timing {
            eprintln!(
                "dllint incremental: {} files' resolved imports reused",
                imports.iter().filter(|r| r.is_some()).count()
            );
        }
        index.reuse_resolved_imports(imports);
        let reused = base.take_callees(&index_keys, |q| index.answer(q));
        if timing {
            eprintln!(
                "dllint incremental: {} files' resolved calls reused",
                reused.iter().filter(|r| r.is_some()).count()
            );
        }
        index.reuse_callees(reused);
        lap("project cache read");
    }
    if project_rules {
        roles.get_or_init(|| Roles::compute(&index));
        lap("roles");
    }
    let roles_ref = roles.get();
    let fingerprints: Vec<Option<project::Fingerprint>> = match (project_key, roles_ref) {
        (Some(_), Some(roles)) => roles
            .fingerprints()
            .into_iter()
            .zip(index.all_files())
            .zip(&index_keys)
            .map(|((roles, file), key)| {
                let roles = xxhash_rust::xxh3::xxh3_64_with_seed(
                    &roles.to_le_bytes(),
                    u64::from(file.linted),
                );
                Some(((*key)?, roles))
            })
            .collect(),
        _ => Vec::new(),
    };
    let changed = base.as_ref().map(|base| base.changed(&fingerprints));
    if base.is_some() {
        // Replaying asks the stored questions again, from every thread at once.
        index.prepare_import_spellings();
    }
    let reused = std::sync::atomic::AtomicUsize::new(0);
    let mut project_diagnostics: Vec<(Vec<Diagnostic>, Option<Reads>)> = file_ids
        .par_iter()
        .zip(meta.par_iter())
        .map(|(id, (path, settings, _, reported))| {
            let (Some(id), Some(roles)) = (*id, roles_ref) else {
                return (Vec::new(), None);
            };
            if !reported {
                return (Vec::new(), None);
            }
            if let (Some(base), Some(changed)) = (&base, &changed)
                && let Some((found, reads)) =
                    base.reusable(id, &index.file(id).absolute, changed, |q| index.answer(q))
            {
                reused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return (found, Some(reads));
            }
            let run = || {
                let rules = settings
                    .rules_for_source(path, index.facts(id).cell_script || roles.in_collection(id));
                let cx =
                    ProjectContext::new(&index, roles, id, &settings.rule_options, refactorings);
                let mut found = Vec::new();
                for rule in rules.iter() {
                    if let Some(check) = rule.check.project_check() {
                        let result = catch_unwind(AssertUnwindSafe(|| {
                            let mut out = Vec::new();
                            check(&cx, &mut out);
                            out
                        }));
                        match result {
                            Ok(out) => found
                                .extend(out.into_iter().filter(|d| rules.contains_code(d.code))),
                            Err(_) => found.push(syntax_error::internal_error(&format!(
                                "rule {} failed",
                                rule.code
                            ))),
                        }
                    }
                }
                found
            };
            if project_key.is_some() {
                let (found, reads) = reads::recording(run);
                (found, Some(reads))
            } else {
                (run(), None)
            }
        })
        .collect();

    lap("project rules");
    if timing && base.is_some() {
        eprintln!(
            "dllint incremental: {} files' project findings replayed",
            reused.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
    // What the project rules found, per linted file, for the project cache.
    let mut to_store: Option<Vec<(PathBuf, Vec<Diagnostic>, Reads)>> =
        project_key.map(|_| Vec::new());
    let mut report = Report::default();
    for (i, ((path, settings, internal_error, reported), mut diagnostics)) in
        meta.into_iter().zip(diagnostics_by_file).enumerate()
    {
        if !reported {
            continue;
        }
        report.files_checked += 1;
        report.checked.push(path.clone());
        if internal_error {
            report.internal_errors += 1;
        }
        let (mut extra, read) = std::mem::take(&mut project_diagnostics[i]);
        if !extra.is_empty() {
            report.internal_errors += extra
                .iter()
                .filter(|d| d.message.starts_with("internal error"))
                .count();
            if let Some(id) = file_ids[i] {
                index.facts(id).suppressions.filter(&mut extra);
            }
        }
        if let Some(store) = &mut to_store {
            // A file without project facts reads nothing of the project.
            store.push((
                linted_absolute[i].clone(),
                extra.clone(),
                read.unwrap_or_default(),
            ));
        }
        diagnostics.append(&mut extra);
        if diagnostics.is_empty() {
            continue;
        }
        apply_severity(&settings, &mut diagnostics);
        sort_diagnostics(&mut diagnostics);
        report.files.push(FileReport {
            display: display_path(&path, cwd),
            path,
            text: sources[i]
                .clone()
                .map_or(ReportText::OnDisk, ReportText::Kept),
            diagnostics,
        });
    }
    finish_report(&mut report);
    lap("report");
    if let (Some((cache, key)), Some(by_file)) = (project_key, to_store)
        && report.internal_errors == 0
        && !changed_during_run
    {
        let context: Option<Vec<(PathBuf, u128)>> = context_keys
            .into_iter()
            .map(|(path, key)| Some((path, key?)))
            .collect();
        if let Some(context) = context {
            let (mut exists, mut outside) = index.observations();
            if let Some(base) = &base {
                base.carry_observations(&mut exists, &mut outside);
            }
            let files = fingerprints
                .iter()
                .zip(index.all_files())
                .map(|(fingerprint, file)| Some((file.absolute.clone(), (*fingerprint)?)))
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default();
            let observed = project::Observed {
                context,
                probes,
                exists,
                outside,
                files,
                callees: index.built_callees(),
                imports: index.resolved_imports_so_far(),
            };
            let by_file = by_file
                .iter()
                .map(|(path, found, reads)| (path.as_path(), found.as_slice(), reads))
                .collect();
            // A result that cannot be stored only makes the next run slower.
            let _ = project::store(cache, key, refactorings, observed, by_file);
        }
        lap("project cache");
    }
    Outcome::Full(Box::new(Project {
        index,
        roles,
        report,
    }))
}

/// The severity each finding is shown with, from the file's configuration. Applied to the
/// assembled report (not before caching), so `[severity]` never invalidates the cache.
fn apply_severity(settings: &Settings, diagnostics: &mut [Diagnostic]) {
    for d in diagnostics {
        d.severity = settings.severity_of(crate::rules::of_code(d.code));
    }
}

/// Files in path order, and the checked paths sorted. (No file's text is read here: each
/// output reads a file on disk when it renders its findings.)
fn finish_report(report: &mut Report) {
    report
        .files
        .sort_by(|a, b| a.display.cmp(&b.display).then_with(|| a.path.cmp(&b.path)));
    report.checked.sort();
}

/// The report of a run in which nothing changed since a stored project result: the linted
/// files' own findings from the per-file cache and the project findings from the project
/// cache, after checking that the context files and everything the project rules saw of the
/// file system are as recorded. `None` (a full run follows) if anything differs.
fn replay_project(
    prepared: &[Prepared],
    cache: &Cache,
    key: u128,
    resolver: &Resolver,
    packages: &PackageResolver,
    cwd: &Path,
    facts: Needs,
) -> Option<Report> {
    let entry = project::lookup(cache, key)?;
    let context: Vec<(&Path, u128)> = entry.context().collect();
    let context_unchanged = context.par_iter().all(|(path, recorded)| {
        let Ok(settings) = resolver.settings_for_file(path) else {
            return false;
        };
        let Ok(text) = read_file(path) else {
            return false;
        };
        let package = packages.package_of(path);
        cache.key(
            &settings,
            RuleSet::empty(),
            path,
            package.as_deref(),
            cache::Analysis {
                linted: false,
                facts,
            },
            &text,
        ) == *recorded
    });
    let probes_unchanged = || {
        entry.probes().all(|(root, module, found)| {
            ProjectIndex::module_candidates(root, module)
                .into_iter()
                .find(|c| c.is_file())
                .as_deref()
                == found
        })
    };
    if !context_unchanged || !probes_unchanged() || !entry.file_system_unchanged() {
        return None;
    }
    let mut project: FxHashMap<PathBuf, Vec<Diagnostic>> =
        entry.into_diagnostics()?.into_iter().collect();
    // Project context files are in the project key: unchanged, and not reported.
    let linted: Vec<&Prepared> = prepared.iter().filter(|p| p.kind == Kind::Linted).collect();
    let local: Vec<Option<Vec<Diagnostic>>> = linted
        .par_iter()
        .map(|p| cache.get_diagnostics(&p.absolute, p.key?))
        .collect();
    let mut report = Report::default();
    for (p, local) in linted.into_iter().zip(local) {
        let mut diagnostics = local?;
        diagnostics.extend(project.remove(&p.absolute).unwrap_or_default());
        report.files_checked += 1;
        report.checked.push(p.path.clone());
        if diagnostics.is_empty() {
            continue;
        }
        apply_severity(&p.settings, &mut diagnostics);
        sort_diagnostics(&mut diagnostics);
        report.files.push(FileReport {
            display: display_path(&p.path, cwd),
            path: p.path.clone(),
            text: ReportText::OnDisk,
            diagnostics,
        });
    }
    cache.record_hits(prepared.len());
    finish_report(&mut report);
    Some(report)
}

/// Qualified names a file refers to that may live in other project files.
fn references<'f>(facts: &'f FileFacts, linted: bool) -> Vec<&'f str> {
    let mut refs: Vec<&'f str> = Vec::new();
    let mut push = |callee: &'f Callee| match callee {
        Callee::Qualified(q) => refs.push(q),
        Callee::InstanceOf(inner) => {
            if let Callee::Qualified(q) = &**inner {
                refs.push(q);
            }
        }
        _ => {}
    };
    for class in &facts.classes {
        class.bases.iter().for_each(&mut push);
        class.attributes.iter().for_each(|a| push(&a.ctor));
    }
    let scopes = std::iter::once(&facts.module).chain(facts.functions.iter().map(|f| &f.body));
    for scope in scopes {
        scope.project_calls.iter().for_each(|c| push(&c.callee));
        scope.losses().grad_transformed.iter().for_each(&mut push);
    }
    // Context files are followed through their re-exports; linted files through what they use.
    if !linted {
        refs.extend(facts.imports.iter().map(|(_, q)| q.as_str()));
    }
    refs.sort();
    refs.dedup();
    refs
}

/// Read the project files that linted files import but that were not given on the command
/// line (a base class in a sibling package, a loss in `../losses.py`), for their facts only.
fn load_context(
    analyses: &mut Vec<Analysis>,
    packages: &PackageResolver,
    cwd: &Path,
    resolver: &Resolver,
    cache: Option<&Cache>,
    facts: Needs,
) -> Vec<(PathBuf, String, Option<PathBuf>)> {
    let mut known: ModuleMap<()> = ModuleMap::default();
    for analysis in analyses.iter() {
        known.insert(&analysis.absolute, ());
    }
    let probes: Mutex<FxHashMap<(PathBuf, String), Option<PathBuf>>> = Mutex::default();
    let mut frontier: Vec<usize> = (0..analyses.len()).collect();
    let mut loaded = 0;
    for _round in 0..4 {
        // Per file, in parallel: references to modules that are neither external nor known.
        let wanted: BTreeSet<PathBuf> = frontier
            .par_iter()
            .flat_map_iter(|&i| {
                let analysis = &analyses[i];
                let mut found = Vec::new();
                let Some(facts) = &analysis.facts else {
                    return found;
                };
                let knowledge = &analysis.settings.scope.knowledge;
                let roots = ProjectIndex::roots_for(
                    &analysis.absolute,
                    facts.package.as_deref(),
                    &analysis.settings.scope,
                );
                let root_ids: Vec<u32> = roots.iter().filter_map(|r| known.root_id(r)).collect();
                for qualified in references(facts, analysis.kind.linted()) {
                    if knowledge.is_external_from(qualified, facts.package.as_deref())
                        || known
                            .longest_prefix(&root_ids, qualified, |_, _| false)
                            .is_some()
                    {
                        continue;
                    }
                    if let Some(path) = probe(&roots, qualified, &probes) {
                        found.push(path);
                    }
                }
                found
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        if wanted.is_empty() || loaded >= MAX_CONTEXT_FILES {
            break;
        }
        let batch: Vec<PathBuf> = wanted
            .into_iter()
            .take(MAX_CONTEXT_FILES - loaded)
            .collect();
        loaded += batch.len();
        let start = analyses.len();
        let new: Vec<Analysis> = batch
            .par_iter()
            .filter(|p| is_python_file(p))
            .filter_map(|path| {
                let settings = resolver.settings_for_file(path).ok()?;
                let prepared = prepare(
                    path,
                    None,
                    &settings,
                    packages,
                    cwd,
                    Kind::Imported,
                    false,
                    cache,
                    facts,
                );
                Some(analyze(prepared, cache))
            })
            .collect();
        for path in &batch {
            known.insert(path, ());
        }
        analyses.extend(new);
        frontier = (start..analyses.len()).collect();
    }
    // The probes, in a stable order, for the project cache to check again.
    let mut probes: Vec<(PathBuf, String, Option<PathBuf>)> = probes
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|((root, module), found)| (root, module, found))
        .collect();
    probes.sort();
    probes
}

/// The file a qualified name lives in, from the file system (for modules not yet known),
/// trying the longest module prefix first. Shared, memoised across files and threads.
fn probe(
    roots: &[PathBuf],
    qualified: &str,
    cache: &Mutex<FxHashMap<(PathBuf, String), Option<PathBuf>>>,
) -> Option<PathBuf> {
    for (_, module) in dotted_prefixes(qualified) {
        for root in roots {
            let key = (root.clone(), module.to_string());
            if let Some(found) = cache.lock().expect("probe cache").get(&key) {
                if found.is_some() {
                    return found.clone();
                }
                continue;
            }
            let found = ProjectIndex::module_candidates(root, module)
                .into_iter()
                .find(|c| c.is_file());
            cache
                .lock()
                .expect("probe cache")
                .insert(key, found.clone());
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

/// A report for a single file that could not be read (e.g. stdin that is not UTF-8).
pub fn read_failure_report(path: &Path, error: &crate::source::ReadError, cwd: &Path) -> Report {
    let diagnostics = vec![syntax_error::read_error(error)];
    Report {
        files: vec![FileReport {
            path: path.to_path_buf(),
            display: display_path(path, cwd),
            text: ReportText::Unavailable,
            diagnostics,
        }],
        files_checked: 1,
        checked: vec![path.to_path_buf()],
        internal_errors: 0,
    }
}

/// Number of lines, as editors count them (a final line without newline counts).
fn count_lines(text: &str) -> u32 {
    let newlines = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    let last_unterminated = usize::from(!text.is_empty() && !text.ends_with('\n'));
    u32::try_from(newlines + last_unterminated).unwrap_or(u32::MAX)
}
