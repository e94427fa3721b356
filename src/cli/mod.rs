//! The command line: `dllint check`, `dllint rule`. Exit codes follow ruff: 0 no findings,
//! 1 findings, 2 usage, configuration or internal error.

mod add_noqa;
mod analyze;
mod check;
mod fix_driver;
mod map;
mod progress;
mod rule;
mod settings;
mod survey;
mod watch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use check::CheckArgs;
pub use rule::RuleArgs;

#[derive(Debug, Parser)]
#[command(
    name = "dllint",
    version,
    about = "A fast linter for the architecture of deep-learning training code (MODLR: Model, \
             Optimizer, Dataset, Loss, Runner).",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the `check` arguments does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lint Python files and directories (the default workflow).
    Check(CheckArgs),
    /// Explain a rule (`dllint rule DL101`) or list them all (`dllint rule --all`).
    Rule(RuleArgs),
    /// Show the project's MODLR architecture: components, roles, evidence and dependencies.
    Map(map::MapArgs),
    /// Count where loss definitions sit, in the MODLR thesis's categories.
    Survey(survey::SurveyArgs),
    /// Remove what dllint wrote into its cache directories (`.dllint_cache`, `--cache-dir`,
    /// `DLLINT_CACHE_DIR`) of the current project and below the working directory; other
    /// files are never touched.
    Clean(CleanArgs),
    /// Run the language server (LSP over stdio) for editors.
    Server(crate::server::ServerArgs),
    /// Print the semantic facts dllint extracts from one file, as JSON (for debugging dllint).
    #[command(hide = true)]
    Facts { path: std::path::PathBuf },
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    Failure,
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        match status {
            ExitStatus::Success => ExitCode::from(0),
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> ExitStatus {
    crate::timing::start();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Rule(args) => rule::run(args),
        Command::Map(args) => map::run(args),
        Command::Survey(args) => survey::run(args),
        Command::Clean(args) => clean(&args),
        Command::Server(args) => crate::server::run(args),
        Command::Facts { path } => facts(&path),
    };
    match result {
        Ok(status) => status,
        Err(message) => {
            eprintln!("dllint: error: {message}");
            ExitStatus::Error
        }
    }
}

/// `dllint clean`.
#[derive(Debug, clap::Args)]
pub struct CleanArgs {
    /// Also clean this cache directory (as given to `check --cache-dir`; default
    /// `DLLINT_CACHE_DIR`).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<std::path::PathBuf>,
}

fn clean(args: &CleanArgs) -> Result<ExitStatus, String> {
    use crate::cache::Cleaned;
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let root = crate::cache::project_root(&cwd, None, false);
    let named = args.cache_dir.clone().or_else(|| {
        std::env::var_os(crate::cache::CACHE_DIR_ENV)
            .filter(|d| !d.is_empty())
            .map(std::path::PathBuf::from)
    });
    let (cleaned, errors) = crate::cache::clean(&cwd, &root, named.as_deref());
    let show = |dir: &std::path::Path| match crate::discovery::display_path(dir, &cwd) {
        shown if shown.is_empty() => ".".to_string(),
        shown => shown,
    };
    for done in &cleaned {
        match done {
            Cleaned::Directory(dir) => eprintln!("Removed cache directory {}", show(dir)),
            Cleaned::Entries { dir, removed, kept } => eprintln!(
                "Removed dllint's {} from {} (kept {kept} other {})",
                removed.join(", "),
                show(dir),
                if *kept == 1 { "entry" } else { "entries" }
            ),
        }
    }
    if cleaned.is_empty() && errors.is_empty() {
        eprintln!("No cache directory found.");
    }
    if errors.is_empty() {
        return Ok(ExitStatus::Success);
    }
    for (path, err) in &errors {
        eprintln!(
            "dllint: error: dllint clean: cannot remove {}: {err}",
            show(path)
        );
    }
    Ok(ExitStatus::Error)
}

fn facts(path: &std::path::Path) -> Result<ExitStatus, String> {
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let resolver = crate::config::Resolver::new(cwd.clone(), None, false, Default::default())
        .map_err(|e| e.to_string())?;
    let settings = resolver.settings_for(path).map_err(|e| e.to_string())?;
    let input = crate::engine::Input {
        path: path.to_path_buf(),
        settings,
        text: None,
    };
    let project = crate::engine::run_for_facts(vec![input], Some(1), &cwd, &resolver);
    for file in project.index.all_files() {
        println!(
            "# {}{}",
            file.path.display(),
            if file.linted { "" } else { " (context)" }
        );
        println!(
            "{}",
            serde_json::to_string_pretty(&file.facts).map_err(|e| e.to_string())?
        );
    }
    Ok(ExitStatus::Success)
}
