//! `dllint check --watch`: lint, then lint again whenever a file that can change the findings
//! changes — a Python file, a notebook or a configuration file — until interrupted. Each run is
//! an ordinary `check` run (the configuration is read again, the cache makes unchanged files
//! cheap); a burst of events (an editor's save, a `git checkout`) makes one run.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use notify::{EventKind, RecursiveMode, Watcher};

use super::ExitStatus;
use super::check::{CheckArgs, run_once};
use crate::config::{CONFIG_FILES, Resolver};
use crate::discovery;

/// Events closer together than this are one change.
const QUIET: Duration = Duration::from_millis(100);
/// A stream of events that never pauses still runs the linter this often.
const MAX_DELAY: Duration = Duration::from_secs(1);

pub fn run(args: &CheckArgs) -> Result<ExitStatus, String> {
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err("--watch cannot be used with `-` (standard input)".to_string());
    }
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let (sender, events) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(sender)
        .map_err(|e| format!("--watch: cannot watch files: {e}"))?;
    for (dir, mode) in watched(args, &cwd) {
        watcher
            .watch(&dir, mode)
            .map_err(|e| format!("--watch: cannot watch {}: {e}", shown(&dir, &cwd)))?;
    }
    let cache_dir = args
        .cache_dir
        .as_ref()
        .map(|d| discovery::absolute_lexical(d, &cwd));
    let mut message = "Starting linter in watch mode...";
    loop {
        if std::io::stdout().is_terminal() && args.output_file.is_none() {
            // Clear the screen: the findings shown are always those of the last run.
            let mut stdout = std::io::stdout().lock();
            let _ = stdout
                .write_all(b"\x1b[2J\x1b[H")
                .and_then(|()| stdout.flush());
        }
        eprintln!("[{}] {message}", clock());
        if let Err(error) = run_once(args) {
            // A broken configuration file is reported and waited out, not fatal.
            eprintln!("dllint: error: {error}");
        }
        eprintln!("Watching for file changes.");
        wait_for_change(&events, cache_dir.as_deref())?;
        message = "File change detected...";
    }
}

/// Block until a relevant change, then until the events pause (at most [`MAX_DELAY`]).
fn wait_for_change(
    events: &mpsc::Receiver<notify::Result<notify::Event>>,
    cache_dir: Option<&Path>,
) -> Result<(), String> {
    let stopped = || "--watch: the file watcher stopped".to_string();
    loop {
        let event = events.recv().map_err(|_| stopped())?;
        if changes_findings(&event, cache_dir) {
            break;
        }
    }
    let start = Instant::now();
    while start.elapsed() < MAX_DELAY {
        match events.recv_timeout(QUIET) {
            Ok(_) => continue,
            Err(RecvTimeoutError::Timeout) => break,
            Err(RecvTimeoutError::Disconnected) => return Err(stopped()),
        }
    }
    Ok(())
}

/// Whether an event may change the findings: a Python file, notebook or configuration file
/// was created, written, renamed or removed (not read, and not in a cache or `.git`). An
/// error of the watcher (events lost) counts as a change.
fn changes_findings(event: &notify::Result<notify::Event>, cache_dir: Option<&Path>) -> bool {
    let event = match event {
        Ok(event) => event,
        Err(error) => {
            eprintln!("dllint: warning: --watch: {error}");
            return true;
        }
    };
    if matches!(event.kind, EventKind::Access(_)) {
        return false;
    }
    event.paths.iter().any(|path| relevant(path, cache_dir))
}

fn relevant(path: &Path, cache_dir: Option<&Path>) -> bool {
    if cache_dir.is_some_and(|dir| path.starts_with(dir)) {
        return false;
    }
    let hidden_tool_dir = path.components().any(|c| {
        let c = c.as_os_str();
        c == crate::cache::CACHE_DIR_NAME || c == ".git"
    });
    if hidden_tool_dir {
        return false;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    CONFIG_FILES.contains(&name)
        || matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("py" | "pyi" | "ipynb")
        )
}

/// What to watch: each directory named, recursively; for a file named, its project (the
/// files read as its context) when project context is on, else its directory alone (editors
/// save by replacing the file, which a watch on the file itself would lose). A directory below
/// another watched recursively is dropped.
fn watched(args: &CheckArgs, cwd: &Path) -> Vec<(PathBuf, RecursiveMode)> {
    let context = !(args.no_project_context || args.isolated);
    // Only used to find a named file's project; a configuration error is reported by the run.
    let resolver = Resolver::new(
        cwd.to_path_buf(),
        args.config.as_deref(),
        args.isolated,
        Default::default(),
    )
    .ok();
    let mut dirs: Vec<(PathBuf, RecursiveMode)> = Vec::new();
    for path in &args.paths {
        let absolute = discovery::absolute_lexical(path, cwd);
        if absolute.is_dir() {
            dirs.push((absolute, RecursiveMode::Recursive));
            continue;
        }
        let project = context
            .then_some(resolver.as_ref())
            .flatten()
            .and_then(|resolver| resolver.settings_for(&absolute).ok())
            .and_then(|settings| discovery::project_root(&absolute, &settings, cwd));
        match project {
            Some(root) => dirs.push((root, RecursiveMode::Recursive)),
            None => {
                let parent = absolute
                    .parent()
                    .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);
                dirs.push((parent, RecursiveMode::NonRecursive));
            }
        }
    }
    dirs.sort();
    dirs.dedup();
    let recursive: Vec<PathBuf> = dirs
        .iter()
        .filter(|(_, mode)| *mode == RecursiveMode::Recursive)
        .map(|(dir, _)| dir.clone())
        .collect();
    dirs.retain(|(dir, mode)| {
        !recursive
            .iter()
            .any(|r| dir.starts_with(r) && (dir != r || *mode == RecursiveMode::NonRecursive))
    });
    dirs
}

fn shown(dir: &Path, cwd: &Path) -> String {
    match discovery::display_path(dir, cwd) {
        shown if shown.is_empty() => ".".to_string(),
        shown => shown,
    }
}

/// The time of day (UTC) at the start of a run: `12:04:31`.
fn clock() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_python_notebooks_and_configuration_outside_caches_are_relevant() {
        let cache = Path::new("/p/cache");
        for path in [
            "/p/a.py",
            "/p/s/b.pyi",
            "/p/n.ipynb",
            "/p/pyproject.toml",
            "/p/dllint.toml",
        ] {
            assert!(relevant(Path::new(path), Some(cache)), "{path}");
        }
        for path in [
            "/p/notes.txt",
            "/p/setup.cfg",
            "/p/.git/index",
            "/p/.dllint_cache/v1/x.py",
            "/p/cache/a.py",
            "/p/a.py~",
        ] {
            assert!(!relevant(Path::new(path), Some(cache)), "{path}");
        }
    }
}
