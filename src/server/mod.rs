//! `dllint server`: the language server editors talk to over stdio (LSP).
//!
//! It is a thin front end over the same engine as `dllint check` (see [`lint`]): open buffers go
//! into [`crate::engine::run`] as in-memory inputs, and the findings come back as LSP
//! diagnostics carrying their fix and `# noqa` edits, so code actions need no second analysis.
//!
//! Modules: [`transport`] (framing that survives malformed input), [`main_loop`] (routing,
//! debounce, panic isolation), [`session`] (documents, workspaces, lint schedule),
//! [`document`] (incremental edits), [`position`] and [`uri`] (conversions), [`lint`] (engine
//! run and diagnostic conversion), [`noqa`] (suppression edits), [`requests`] (code actions,
//! hover, pull diagnostics).

pub mod document;
pub mod lint;
pub mod main_loop;
pub mod position;
pub mod requests;
pub mod session;
pub mod transport;
pub mod uri;

use std::path::PathBuf;

use clap::Args;

use crate::cli::ExitStatus;
use crate::config::Overrides;
use crate::registry::Rule;
use crate::rules;

/// Options of `dllint server`; editors pass them through their `args` setting.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Use this configuration file for every document (instead of the nearest one).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore all configuration files (implies `--no-project-context`).
    #[arg(long, conflicts_with = "config")]
    pub isolated: bool,
    /// Lint each open document alone. By default the other files of its project (the directory
    /// of the nearest configuration file, else the git repository) are read for their facts,
    /// so that cross-file rules see the whole project.
    #[arg(long)]
    pub no_project_context: bool,
    /// Only these rules (codes or prefixes; `ALL`). Replaces the configured selection.
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    pub select: Option<Vec<String>>,
    /// Rules to enable on top of the selection.
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    pub extend_select: Vec<String>,
    /// Rules to disable (codes or prefixes).
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    pub ignore: Vec<String>,
    /// Talk LSP over standard input and output: the only transport, and the default; accepted
    /// because language clients add it (vscode-languageclient with `TransportKind.stdio`).
    #[arg(long)]
    pub stdio: bool,
}

fn selectors(flag: &str, values: &[String]) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for value in values {
        rules.extend(rules::parse_selector(value).map_err(|e| format!("--{flag}: {e}"))?);
    }
    Ok(rules)
}

/// Serve LSP on stdin/stdout until the client sends `exit` or closes the connection.
pub fn run(args: ServerArgs) -> Result<ExitStatus, String> {
    let config = match args.config {
        Some(path) if path.is_relative() => Some(
            std::env::current_dir()
                .map_err(|e| format!("cannot read the working directory: {e}"))?
                .join(path),
        ),
        other => other,
    };
    let options = session::Options {
        config,
        isolated: args.isolated,
        no_project_context: args.no_project_context,
        overrides: Overrides {
            select: args
                .select
                .as_deref()
                .map(|s| selectors("select", s))
                .transpose()?,
            extend_select: selectors("extend-select", &args.extend_select)?,
            ignore: selectors("ignore", &args.ignore)?,
            exclude: None,
            extend_exclude: Vec::new(),
        },
    };
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("dllint:reader".into())
        .spawn(move || transport::read_loop(std::io::stdin().lock(), sender))
        .map_err(|e| format!("cannot start the reader thread: {e}"))?;
    // Linting runs on the main-loop thread: give it the engine's worker stack (deep ASTs).
    let main = std::thread::Builder::new()
        .name("dllint:main".into())
        .stack_size(crate::engine::WORKER_STACK)
        .spawn(move || {
            let output = transport::Output::new(std::io::stdout());
            main_loop::Server::new(options, output).run(receiver)
        })
        .map_err(|e| format!("cannot start the server thread: {e}"))?;
    match main.join() {
        Ok(main_loop::Ending::Clean) => Ok(ExitStatus::Success),
        Ok(main_loop::Ending::Abrupt) => Ok(ExitStatus::Failure),
        Err(_) => Err("the server thread panicked".to_string()),
    }
}
