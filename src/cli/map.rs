//! `dllint map [PATHS]`: see the project's MODLR architecture.

use std::io::IsTerminal;

use clap::{Args, ValueEnum};

use super::ExitStatus;
use super::analyze::{ProjectArgs, analyze, print};
use super::check::ColorChoice;
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
    let (project, cwd, mut progress) = analyze(&args.project, true)?;
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
