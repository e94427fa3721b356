//! Finding the files to lint: `.gitignore`-aware directory walks, configured excludes, and the
//! package each file belongs to (for relative imports and cross-file resolution).

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::WalkBuilder;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::config::{ConfigError, Resolver, Settings};

/// A file to lint and the settings that govern it.
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub path: PathBuf,
    pub settings: Arc<Settings>,
}

/// Why discovery stopped: every one of these ends the run with exit code 2.
#[derive(Debug)]
pub enum DiscoveryError {
    NotFound(PathBuf),
    Config(ConfigError),
}

impl std::fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiscoveryError::NotFound(path) => {
                write!(f, "{}: no such file or directory", path.display())
            }
            DiscoveryError::Config(err) => write!(f, "{err}"),
        }
    }
}

/// Extensions linted when walking directories.
pub const PYTHON_EXTENSIONS: [&str; 2] = ["py", "pyi"];

pub fn is_python_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PYTHON_EXTENSIONS.contains(&e))
}

use crate::source::is_notebook;

/// Files linted when walking directories: Python sources and notebooks.
pub fn is_lintable_file(path: &Path) -> bool {
    is_python_file(path) || is_notebook(path)
}

/// What discovery found: the files to lint, and the directories (or ignore files) it could
/// not read, with why — reported, never skipped in silence.
#[derive(Debug, Default)]
pub struct Discovered {
    pub files: Vec<FileEntry>,
    /// Sorted by path.
    pub unreadable: Vec<(PathBuf, std::io::Error)>,
}

/// Expand the command-line paths into the sorted, de-duplicated list of files to lint.
///
/// Files named explicitly are always linted, unless `force_exclude` is set and they are
/// excluded. Directories are walked honouring `.gitignore` and the excludes of the nearest
/// configuration. Symbolic links are not followed (no loops); FIFOs and devices are skipped.
/// A directory that cannot be read is listed in [`Discovered::unreadable`].
pub fn discover(
    paths: &[PathBuf],
    resolver: &Arc<Resolver>,
    force_exclude: bool,
) -> Result<Discovered, DiscoveryError> {
    let mut files = Vec::new();
    let mut unreadable = Vec::new();
    for path in paths {
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => Some(metadata),
            // A link that exists but cannot be followed (a cycle): linted, so that reading it
            // reports why, like any other unreadable file; a dangling link is not found.
            Err(err)
                if err.kind() != std::io::ErrorKind::NotFound
                    && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) =>
            {
                None
            }
            Err(_) => return Err(DiscoveryError::NotFound(path.clone())),
        };
        if !metadata.is_some_and(|m| m.is_dir()) {
            let settings = resolver
                .settings_for(path)
                .map_err(DiscoveryError::Config)?;
            if force_exclude && settings.is_excluded_with_parents(&absolute(path)) {
                continue;
            }
            files.push(FileEntry {
                path: normalize(path),
                settings,
            });
            continue;
        }
        // The directory itself may be excluded when named explicitly with --force-exclude.
        let settings = resolver
            .settings_for(path)
            .map_err(DiscoveryError::Config)?;
        if force_exclude && settings.is_excluded_with_parents(&absolute(path)) {
            continue;
        }
        walk_directory(path, resolver, &mut files, &mut unreadable, usize::MAX)?;
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    unreadable.sort_by(|a, b| a.0.cmp(&b.0));
    unreadable.dedup_by(|a, b| a.0 == b.0);
    Ok(Discovered { files, unreadable })
}

/// At most this many files are read as project context; a larger "project" (a home directory
/// under version control, a monorepo) is linted without it, with a warning.
pub const MAX_PROJECT_CONTEXT_FILES: usize = 10_000;

/// The root of the project `file` (absolute) belongs to, for project context: the directory of
/// the configuration file that governs it, else the root of the git repository holding it — the
/// nearer of the two when both exist, so that a configuration file above the repository (in a
/// home directory) does not make everything below it one project. `None` outside any project.
pub fn project_root(file: &Path, settings: &Settings, cwd: &Path) -> Option<PathBuf> {
    let git = file
        .ancestors()
        .skip(1)
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf);
    let config = settings
        .config_path
        .as_deref()
        .map(|config| absolute_lexical(config, cwd))
        .and_then(|config| config.parent().map(Path::to_path_buf))
        .filter(|dir| file.starts_with(dir));
    match (config, git) {
        (Some(config), Some(git)) if !config.starts_with(&git) => Some(git),
        (Some(config), _) => Some(config),
        (None, git) => git,
    }
}

/// The project context of a partial run: the files that `dllint check <root>` would lint for
/// the project root of each file named explicitly ([`project_root`]) — the same walk,
/// `.gitignore`s and excludes — less the files linted. The engine reads them for their facts
/// only, so that cross-file rules judge the named files as a run on the whole project would.
///
/// `paths` are the paths as given, `named` the files they expanded to, both relative to `cwd`
/// or absolute. Only files named as such (pre-commit's staged files, `check one_file.py`, an
/// editor's buffer) bring their project in: a directory is the scope its user chose, linted as
/// it always was (`check fixtures/projects/gan` inside a repository of examples judges that
/// example alone). Context paths are absolute, or relative to `cwd` when below it and
/// `relative` is set (as a directory walk from `cwd` gives them). `Err` says why no context is
/// used (a broken configuration in the project, more than [`MAX_PROJECT_CONTEXT_FILES`]
/// files); the run goes on without it.
pub fn project_context(
    paths: &[PathBuf],
    named: &[FileEntry],
    resolver: &Arc<Resolver>,
    cwd: &Path,
    relative: bool,
) -> Result<Vec<FileEntry>, String> {
    let (covered, files_named): (Vec<PathBuf>, Vec<PathBuf>) = paths
        .iter()
        .map(|p| absolute_lexical(p, cwd))
        .partition(|p| p.is_dir());
    let files_named: FxHashSet<PathBuf> = files_named.into_iter().collect();
    let named_absolute: Vec<PathBuf> = named
        .iter()
        .map(|f| absolute_lexical(&f.path, cwd))
        .collect();
    let mut roots: Vec<PathBuf> = named
        .iter()
        .zip(&named_absolute)
        .filter(|(_, absolute)| files_named.contains(absolute.as_path()))
        .filter_map(|(f, absolute)| project_root(absolute, &f.settings, cwd))
        // A directory named holds this project whole: its files are all linted.
        .filter(|root| !covered.iter().any(|dir| root.starts_with(dir)))
        .collect();
    roots.sort();
    roots.dedup();
    let shown = |root: &Path| match display_path(root, cwd) {
        shown if shown.is_empty() => ".".to_string(),
        shown => shown,
    };
    let mut files = Vec::new();
    for root in &roots {
        // Below another root: walked with it.
        if roots.iter().any(|r| r != root && root.starts_with(r)) {
            continue;
        }
        // Unreadable directories are reported by a run on the whole project, not here.
        let mut unreadable = Vec::new();
        walk_directory(
            root,
            resolver,
            &mut files,
            &mut unreadable,
            MAX_PROJECT_CONTEXT_FILES + 1,
        )
        .map_err(|err| format!("project context of {} not loaded: {err}", shown(root)))?;
        if files.len() > MAX_PROJECT_CONTEXT_FILES {
            return Err(format!(
                "project context not loaded: {} holds more than {MAX_PROJECT_CONTEXT_FILES} \
                 files to lint (exclude some in the configuration, or pass \
                 `--no-project-context`)",
                shown(root)
            ));
        }
    }
    let named_absolute: FxHashSet<PathBuf> = named_absolute.into_iter().collect();
    files.retain(|f| !named_absolute.contains(&f.path));
    if relative {
        for file in &mut files {
            if let Ok(below) = file.path.strip_prefix(cwd) {
                file.path = below.to_path_buf();
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}

/// The path and the I/O error inside a walk error, if it is one (a directory or an ignore
/// file that could not be read).
fn io_failure(err: ignore::Error, path: Option<PathBuf>) -> Option<(PathBuf, std::io::Error)> {
    match err {
        ignore::Error::WithPath { path, err } => io_failure(*err, Some(path)),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            io_failure(*err, path)
        }
        ignore::Error::Partial(errs) => errs.into_iter().find_map(|e| io_failure(e, path.clone())),
        ignore::Error::Io(err) => Some((path?, err)),
        _ => None,
    }
}

/// Add the lintable files below `root` to `files`, stopping once it holds `limit` (then it may
/// hold a few more). The walk runs on several threads: the files are in no particular order
/// (the callers sort them), and of several broken configurations the one first in path order
/// is reported.
fn walk_directory(
    root: &Path,
    resolver: &Arc<Resolver>,
    files: &mut Vec<FileEntry>,
    unreadable: &mut Vec<(PathBuf, std::io::Error)>,
    limit: usize,
) -> Result<(), DiscoveryError> {
    // Configuration errors, with the path that met each.
    let failures: Arc<Mutex<Vec<(PathBuf, ConfigError)>>> = Arc::default();
    let filter_resolver = resolver.clone();
    let filter_failures = failures.clone();
    let cwd = std::env::current_dir().ok();
    let walker = WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .ignore(true)
        .parents(true)
        .follow_links(false)
        .filter_entry(move |entry| {
            if entry.depth() == 0 {
                return true;
            }
            let path = entry.path();
            let absolute = match &cwd {
                Some(cwd) if !path.is_absolute() => cwd.join(path),
                _ => path.to_path_buf(),
            };
            let settings = if entry.file_type().is_some_and(|t| t.is_dir()) {
                filter_resolver.settings_for(path)
            } else {
                filter_resolver.settings_for_file(path)
            };
            match settings {
                Ok(settings) => !settings.is_excluded(&absolute),
                Err(err) => {
                    filter_failures
                        .lock()
                        .expect("failure lock")
                        .push((path.to_path_buf(), err));
                    false
                }
            }
        })
        .build_parallel();
    let found = Mutex::new((std::mem::take(files), std::mem::take(unreadable)));
    walker.run(|| {
        Box::new(|entry| {
            use ignore::WalkState;
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    let failure = io_failure(err, None).map(|(p, e)| (normalize(&p), e));
                    found.lock().expect("walk lock").1.extend(failure);
                    return WalkState::Continue;
                }
            };
            let path = entry.path();
            let is_file = match entry.file_type() {
                Some(t) if t.is_file() => true,
                // A symlink to a regular file is linted; to anything else (or dangling),
                // skipped.
                Some(t) if t.is_symlink() => std::fs::metadata(path).is_ok_and(|m| m.is_file()),
                _ => false,
            };
            if !is_file || !is_lintable_file(path) {
                return WalkState::Continue;
            }
            match resolver.settings_for(path) {
                Ok(settings) => {
                    let mut found = found.lock().expect("walk lock");
                    found.0.push(FileEntry {
                        path: normalize(path),
                        settings,
                    });
                    if found.0.len() >= limit {
                        return WalkState::Quit;
                    }
                    WalkState::Continue
                }
                // The walk goes on: which error is reported must not depend on which
                // thread met one first.
                Err(err) => {
                    failures
                        .lock()
                        .expect("failure lock")
                        .push((path.to_path_buf(), err));
                    WalkState::Continue
                }
            }
        })
    });
    (*files, *unreadable) = found.into_inner().expect("walk lock");
    let mut failures = std::mem::take(&mut *failures.lock().expect("failure lock"));
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    match failures.into_iter().next() {
        Some((_, err)) => Err(DiscoveryError::Config(err)),
        None => Ok(()),
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
    }
}

/// `path` made absolute against `cwd`, with `.` and `..` resolved lexically (as ruff does: a
/// symlinked folder followed by `..` is not looked up).
pub fn absolute_lexical(path: &Path, cwd: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in cwd.join(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(component);
                }
            }
            _ => out.push(component),
        }
    }
    out
}

/// Drop `.` components so `./train.py` and `train.py` are the same file.
pub fn normalize(path: &Path) -> PathBuf {
    let normalized: PathBuf = path
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    if normalized.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        normalized
    }
}

/// How a path is shown: relative to the working directory when it is below it.
pub fn display_path(path: &Path, cwd: &Path) -> String {
    let shown = if path.is_absolute() {
        path.strip_prefix(cwd).unwrap_or(path)
    } else {
        path
    };
    shown.display().to_string()
}

/// Dotted package names of directories, computed from `__init__.py` files and cached.
#[derive(Default)]
pub struct PackageResolver {
    cache: Mutex<FxHashMap<PathBuf, Option<String>>>,
}

impl PackageResolver {
    /// The dotted package containing `file` (`proj/models/net.py` → `proj.models` when both
    /// directories hold an `__init__.py`); `None` for a file outside any package.
    pub fn package_of(&self, file: &Path) -> Option<String> {
        let dir = absolute(file).parent()?.to_path_buf();
        self.package_of_dir(&dir)
    }

    fn package_of_dir(&self, dir: &Path) -> Option<String> {
        if let Some(found) = self.cache.lock().expect("package cache").get(dir) {
            return found.clone();
        }
        let result = if dir.join("__init__.py").is_file() || dir.join("__init__.pyi").is_file() {
            let name = dir.file_name().and_then(|n| n.to_str()).map(str::to_string);
            match (name, dir.parent()) {
                (Some(name), Some(parent)) => Some(match self.package_of_dir(parent) {
                    Some(outer) => format!("{outer}.{name}"),
                    None => name,
                }),
                (Some(name), None) => Some(name),
                _ => None,
            }
        } else {
            None
        };
        self.cache
            .lock()
            .expect("package cache")
            .insert(dir.to_path_buf(), result.clone());
        result
    }
}
