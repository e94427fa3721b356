//! `dllint survey [PATHS]`: count where loss definitions sit, in the MODLR thesis's categories.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::ExitStatus;
use super::analyze::{ProjectArgs, analyze, is_dir, print};
use crate::survey;

#[derive(Debug, Args)]
pub struct SurveyArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[arg(long, value_enum, default_value_t = SurveyFormat::Table)]
    pub format: SurveyFormat,
    /// Treat each immediate subdirectory of DIR as one repository (the thesis's unit); DIR is
    /// analysed in place of PATHS.
    #[arg(long, value_name = "DIR")]
    pub per_repo: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SurveyFormat {
    Table,
    Csv,
    Json,
}

pub fn run(mut args: SurveyArgs) -> Result<ExitStatus, String> {
    let per_repo = args.per_repo.is_some();
    if let Some(dir) = &args.per_repo {
        if !is_dir(dir) {
            return Err(format!("--per-repo {}: not a directory", dir.display()));
        }
        args.project.paths = vec![dir.clone()];
    }
    let (project, cwd, mut progress, _) = analyze(&args.project, false)?;
    let repository_of =
        survey::repository_resolver(args.project.paths.clone(), per_repo, cwd.clone());
    let result = survey::survey(&project, &cwd, &repository_of);
    progress.stop();
    let text = match args.format {
        SurveyFormat::Table => survey::render_table(&result),
        SurveyFormat::Csv => survey::render_csv(&result),
        SurveyFormat::Json => {
            let mut text = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
            text.push('\n');
            text
        }
    };
    print(&text)?;
    Ok(ExitStatus::Success)
}
