//! The command line: `dllint check`, `dllint rule`. Exit codes follow ruff: 0 no findings,
//! 1 findings, 2 usage, configuration or internal error.

mod analyze;
mod check;
mod map;
mod rule;
mod survey;

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
    /// Remove the cache directories (`.dllint_cache`, `DLLINT_CACHE_DIR`) of the current
    /// project and below the working directory.
    Clean,
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
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Rule(args) => rule::run(args),
        Command::Map(args) => map::run(args),
        Command::Survey(args) => survey::run(args),
        Command::Clean => clean(),
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

fn clean() -> Result<ExitStatus, String> {
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let root = crate::cache::project_root(&cwd, None, false);
    let removed = crate::cache::clean(&cwd, &root).map_err(|e| format!("dllint clean: {e}"))?;
    for dir in &removed {
        eprintln!(
            "Removed cache directory {}",
            crate::discovery::display_path(dir, &cwd)
        );
    }
    if removed.is_empty() {
        eprintln!("No cache directory found.");
    }
    Ok(ExitStatus::Success)
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
    let project = crate::engine::run(vec![input], Some(1), &cwd, &resolver);
    for file in &project.index.files {
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
