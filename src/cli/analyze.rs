//! Shared by `map` and `survey`: discover the paths and run the engine once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use crate::config::{Overrides, Resolver};
use crate::discovery;
use crate::engine::{self, Project};
use crate::rules;

use super::progress::Progress;

/// Options common to the commands that analyse a project.
#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// Files or directories to analyse.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Use this configuration file for every file (instead of the nearest one).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore all configuration files.
    #[arg(long, conflicts_with = "config")]
    pub isolated: bool,
    /// Number of worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Run the engine over the paths. `with_rules`: run the enabled rules too (to mark findings);
/// otherwise only facts and roles are computed. The progress line (on a terminal) runs on
/// until the caller stops it, before it prints.
pub fn analyze(
    args: &ProjectArgs,
    with_rules: bool,
) -> Result<(Project, PathBuf, Progress, Arc<Resolver>), String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let overrides = Overrides {
        select: (!with_rules).then(|| rules::parse_selector("DL000").unwrap_or_default()),
        ..Overrides::default()
    };
    let resolver = Arc::new(
        Resolver::new(
            cwd.clone(),
            args.config.as_deref(),
            args.isolated,
            overrides,
        )
        .map_err(|e| e.to_string())?,
    );
    let discovered =
        discovery::discover(&args.paths, &resolver, false).map_err(|e| e.to_string())?;
    for (path, err) in &discovered.unreadable {
        eprintln!(
            "dllint: warning: cannot read directory {}: {err}; its files are not analysed",
            discovery::display_path(path, &cwd),
        );
    }
    let progress = Progress::start(false);
    let project = engine::lint_files(&discovered.files, args.threads, &cwd, &resolver);
    Ok((project, cwd, progress, resolver))
}

/// Write to stdout, ignoring a closed pipe (`dllint map | head`).
pub fn print(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to stdout: {err}"))
        }
        _ => Ok(()),
    }
}

pub fn is_dir(path: &Path) -> bool {
    path.is_dir()
}
