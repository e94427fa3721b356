//! Rendering a report in the formats users and tools read: `full` (source excerpts, labels and
//! help), `concise` (`path:line:col: CODE message`), `json` and `json-lines`.

mod concise;
mod full;
mod json;

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use crate::engine::Report;
use crate::source::SourceText;

/// The output formats of `dllint check --output-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Full,
    Concise,
    Json,
    JsonLines,
}

/// How to render.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub color: bool,
}

/// Write the report's diagnostics in `format`.
pub fn render(
    format: OutputFormat,
    report: &Report,
    options: RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        OutputFormat::Full => full::render(report, options, out),
        OutputFormat::Concise => concise::render(report, options, out),
        OutputFormat::Json => json::render(report, out, false),
        OutputFormat::JsonLines => json::render(report, out, true),
    }
}

/// Texts of files referenced by labels in other files, loaded once per render.
#[derive(Default)]
pub(crate) struct OtherFiles {
    loaded: Vec<(Arc<Path>, Option<Arc<SourceText>>)>,
}

impl OtherFiles {
    pub(crate) fn get(&mut self, path: &Arc<Path>) -> Option<Arc<SourceText>> {
        if let Some((_, text)) = self.loaded.iter().find(|(p, _)| p == path) {
            return text.clone();
        }
        let text = crate::source::read_file(path)
            .ok()
            .map(|t| Arc::new(SourceText::new(t)));
        self.loaded.push((path.clone(), text.clone()));
        text
    }
}
