//! `dllint map [PATHS]`: see the project's MODLR architecture.

use std::io::IsTerminal;

use clap::{Args, ValueEnum};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ExitStatus;
use super::analyze::{ProjectArgs, analyze, print};
use super::check::ColorChoice;
use super::check::{MAX_FIX_PASSES, relint_project};
use super::fix_driver as driver;
use crate::config::Resolver;
use crate::engine::{self, Project};
use crate::map;

#[derive(Debug, Args)]
pub struct MapArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[arg(long, value_enum, default_value_t = MapFormat::Text)]
    pub format: MapFormat,
    /// Show the evidence for every component's role.
    #[arg(long)]
    pub explain: bool,
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Show the architecture the fixes would produce (refactorings included, as
    /// `check --fix --unsafe-fixes` would apply them), without writing anything.
    #[arg(long)]
    pub after_fix: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MapFormat {
    Text,
    Json,
    Mermaid,
    Dot,
    /// One self-contained HTML page: the graph as inline SVG, findings, evidence on hover.
    Html,
}

pub fn run(args: MapArgs) -> Result<ExitStatus, String> {
    let (project, cwd, mut progress, resolver) = analyze(&args.project, true)?;
    let project = if args.after_fix {
        let (fixed, note) = after_fix(&project, &cwd, &resolver, args.project.threads)?;
        progress.stop();
        eprintln!("{note}");
        fixed
    } else {
        project
    };
    let map = map::build(&project, &cwd);
    progress.stop();
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let text = match args.format {
        MapFormat::Text => map::render_text(&map, args.explain, color),
        MapFormat::Json => map::render_json(&map),
        MapFormat::Mermaid => map::render_mermaid(&map),
        MapFormat::Dot => map::render_dot(&map),
        MapFormat::Html => map::render_html(&map),
    };
    print(&text)?;
    Ok(ExitStatus::Success)
}

/// The project as `check --fix --unsafe-fixes` would leave it, analysed again in memory: the
/// fix passes run on the first lint's findings, and the changed and created files are read
/// from their fixed texts. Returns it with a note saying what the fixes changed.
fn after_fix(
    project: &Project,
    cwd: &Path,
    resolver: &Arc<Resolver>,
    threads: Option<usize>,
) -> Result<(Project, String), String> {
    let linted = project.report.checked.clone();
    let mut relint = |inputs: &[(PathBuf, String)], scope: driver::Scope| {
        relint_project(inputs, scope, &linted, &[], threads, cwd, resolver)
    };
    let options = driver::Options {
        unsafe_fixes: true,
        other_files: true,
        max_passes: MAX_FIX_PASSES,
    };
    let outcome = driver::run(&project.report, cwd, &mut relint, options);
    let changed: std::collections::BTreeSet<&PathBuf> = outcome.changed().map(|(k, _)| k).collect();
    let mut inputs: Vec<engine::Input> = Vec::new();
    for path in &linted {
        if changed.contains(&driver::key(cwd, path)) {
            continue;
        }
        let settings = resolver
            .settings_for_file(path)
            .map_err(|e| e.to_string())?;
        inputs.push(engine::Input {
            path: path.clone(),
            settings,
            text: None,
        });
    }
    let mut created = Vec::new();
    for (_, state) in outcome.changed() {
        if state.original.is_none() {
            created.push(state.display.clone());
        }
        let settings = resolver
            .settings_for_file(&state.path)
            .map_err(|e| e.to_string())?;
        inputs.push(engine::Input {
            path: state.path.clone(),
            settings,
            text: Some(state.current.clone()),
        });
    }
    inputs.sort_by(|a, b| a.path.cmp(&b.path));
    let fixed = engine::run_for_facts(inputs, threads, cwd, resolver);
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut note = match outcome.fixed() {
        0 => "dllint: no fix applies: the architecture is the one `dllint map` shows".to_string(),
        fixed => format!(
            "dllint: the architecture after {} in {} (nothing written; `dllint check --fix \
             --unsafe-fixes` applies them)",
            plural(fixed, "fix", "fixes"),
            plural(changed.len(), "file", "files")
        ),
    };
    if !created.is_empty() {
        note.push_str(&format!("; new: {}", created.join(", ")));
    }
    for error in &outcome.errors {
        note.push_str(&format!("\ndllint: warning: {error}"));
    }
    Ok((fixed, note))
}
