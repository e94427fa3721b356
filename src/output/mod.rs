//! Rendering a report in the formats users and tools read: `full` (source excerpts, labels and
//! help), `concise` (`path:line:col: severity[CODE] message`), `grouped` (findings under their file),
//! `pylint` (`path:line: [CODE] message`), `json` and `json-lines`, and for CI: `sarif`
//! (SARIF 2.1.0, code scanning), `github` (Actions workflow commands), `gitlab` (Code Quality)
//! and `junit` (XML test report). Names and shapes follow ruff's `--output-format`.

mod concise;
mod full;
mod github;
mod gitlab;
mod grouped;
mod json;
mod junit;
mod pylint;
mod sarif;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ruff_text_size::TextSize;

use crate::diagnostic::FileReport;
use crate::engine::Report;
use crate::source::{Position, SourceText};

/// The output formats of `dllint check --output-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Full,
    Concise,
    Grouped,
    Pylint,
    Json,
    JsonLines,
    Sarif,
    Github,
    Gitlab,
    Junit,
}

impl OutputFormat {
    /// Formats meant for people: they get the "Found N findings" summary line.
    pub fn is_human(self) -> bool {
        matches!(
            self,
            OutputFormat::Full | OutputFormat::Concise | OutputFormat::Grouped
        )
    }
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
        OutputFormat::Grouped => grouped::render(report, options, out),
        OutputFormat::Pylint => pylint::render(report, out),
        OutputFormat::Json => json::render(report, out, false),
        OutputFormat::JsonLines => json::render(report, out, true),
        OutputFormat::Sarif => sarif::render(report, &Locator::from_cwd(), out),
        OutputFormat::Github => github::render(report, &Locator::from_cwd(), out),
        OutputFormat::Gitlab => gitlab::render(report, &Locator::from_cwd(), out),
        OutputFormat::Junit => junit::render(report, &Locator::from_cwd(), out),
    }
}

/// How many files [`with_sources`] and [`render_each`] read ahead, per thread.
const READ_AHEAD_PER_THREAD: usize = 8;

/// The text of a reported file, as [`FileReport::source`] gives it, line-indexed when the file
/// has findings.
fn read_indexed(file: &FileReport) -> Option<Arc<SourceText>> {
    let text = file.source();
    if let Some(text) = &text
        && !file.diagnostics.is_empty()
    {
        text.index();
    }
    text
}

/// How many files are read (and rendered) at once: a few per thread of the current pool.
fn read_ahead() -> usize {
    (rayon::current_num_threads() * READ_AHEAD_PER_THREAD).max(1)
}

/// Each file of a report with its text ([`read_indexed`]), for an output that gathers every
/// finding before writing (JSON, SARIF). An output reads the text of every file with findings
/// again (to locate them), and those reads were the larger part of rendering: the texts are
/// read a few files ahead, in parallel on the current thread pool. The order is the files'
/// order, and at most a few files per thread are held at once.
pub(crate) fn with_sources(
    files: &[FileReport],
) -> impl Iterator<Item = (&FileReport, Option<Arc<SourceText>>)> {
    use rayon::prelude::*;
    files.chunks(read_ahead()).flat_map(|chunk| {
        let texts: Vec<Option<Arc<SourceText>>> = chunk.par_iter().map(read_indexed).collect();
        chunk.iter().zip(texts)
    })
}

/// Write each file of a report to `out` as `render` writes it, given its text
/// ([`read_indexed`]), in the files' order, for an output whose files are independent: a few
/// files per thread at a time are read and rendered in parallel on the current thread pool,
/// each into a buffer of its own, and written in order.
pub(crate) fn render_each(
    files: &[FileReport],
    out: &mut dyn Write,
    render: impl Fn(&FileReport, Option<Arc<SourceText>>, &mut Vec<u8>) -> io::Result<()> + Sync,
) -> io::Result<()> {
    use rayon::prelude::*;
    for chunk in files.chunks(read_ahead()) {
        let rendered: Vec<io::Result<Vec<u8>>> = chunk
            .par_iter()
            .map(|file| {
                let mut buffer = Vec::new();
                render(file, read_indexed(file), &mut buffer).map(|()| buffer)
            })
            .collect();
        for bytes in rendered {
            out.write_all(&bytes?)?;
        }
    }
    Ok(())
}

/// `warning[DL305]`, as the text formats (`concise`, `grouped`, JUnit's failure text) show a
/// finding's severity and code; coloured as `full` colours its header (red errors, yellow
/// warnings, cyan info) when `color` is on.
pub(crate) fn severity_code(d: &crate::diagnostic::Diagnostic, color: bool) -> String {
    use crate::registry::Severity;
    let severity = d.severity.as_str();
    if !color {
        return format!("{severity}[{}]", d.code);
    }
    let paint = match d.severity {
        Severity::Error => "\x1b[1;31m",
        Severity::Warning => "\x1b[1;33m",
        Severity::Info => "\x1b[1;36m",
    };
    format!("{paint}{severity}[{}]\x1b[0m", d.code)
}

/// 1-based line and column of `offset`, or 1:1 when the text is unavailable.
pub(crate) fn position(source: Option<&SourceText>, offset: TextSize) -> Position {
    match source {
        Some(source) => {
            let p = source.position(offset);
            Position {
                row: p.row.max(1),
                column: p.column.max(1),
            }
        }
        None => Position { row: 1, column: 1 },
    }
}

/// Where a finding is, as people read it: `4:5`, or in a notebook `cell 3:4:5` (the line and
/// column within the cell, as Jupyter numbers them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Location {
    pub cell: Option<usize>,
    pub row: usize,
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.cell {
            Some(cell) => write!(f, "cell {cell}:{}:{}", self.row, self.column),
            None => write!(f, "{}:{}", self.row, self.column),
        }
    }
}

impl Location {
    /// `cell 3, line 4: ` for a notebook, empty otherwise: a prefix for messages of formats
    /// whose positions are those of the stored file.
    pub fn cell_prefix(&self) -> String {
        match self.cell {
            Some(cell) => format!("cell {cell}, line {}: ", self.row),
            None => String::new(),
        }
    }
}

/// The location of `offset` as people read it (see [`Location`]); 1:1 without the text.
pub(crate) fn location(source: Option<&SourceText>, offset: TextSize) -> Location {
    if let Some(cell) = source.and_then(|s| s.cell_location(offset)) {
        return Location {
            cell: Some(cell.cell),
            row: cell.row.max(1),
            column: cell.column.max(1),
        };
    }
    let p = position(source, offset);
    Location {
        cell: None,
        row: p.row,
        column: p.column,
    }
}

/// 1-based line and column of `offset` in the file as stored: for a notebook, where the
/// character is written in its JSON (so that CI annotations land on the file's real lines).
pub(crate) fn stored_position(source: Option<&SourceText>, offset: TextSize) -> Position {
    match source {
        Some(source) if source.notebook().is_some() => {
            let p = source.file_position(offset);
            Position {
                row: p.row.max(1),
                column: p.column.max(1),
            }
        }
        _ => position(source, offset),
    }
}

/// Where the paths of a report are relative to: the working directory (paths as given) and
/// the repository root (the nearest ancestor holding `.git`, else the working directory), to
/// which CI formats (SARIF, GitHub, GitLab) make paths relative.
pub struct Locator {
    pub cwd: PathBuf,
    pub root: PathBuf,
}

impl Locator {
    pub fn new(cwd: PathBuf) -> Self {
        let root = repository_root(&cwd);
        Locator { cwd, root }
    }

    /// From the process's working directory (the directory the CLI resolved paths against).
    pub fn from_cwd() -> Self {
        Locator::new(std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
    }

    /// The absolute, normalised form of a report path.
    pub fn absolute(&self, path: &Path) -> PathBuf {
        absolute(path, &self.cwd)
    }

    /// `path` relative to the repository root, `/`-separated; `None` outside the root.
    pub fn relative_to_root(&self, path: &Path) -> Option<String> {
        relative(&self.absolute(path), &self.root)
    }

    /// `path` relative to the root where possible, else as an absolute `/`-separated path.
    pub fn root_relative_or_absolute(&self, path: &Path) -> String {
        self.relative_to_root(path)
            .unwrap_or_else(|| slashes(&self.absolute(path)))
    }
}

/// `path` made absolute against `cwd`, with `.` and `..` resolved lexically.
pub fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    crate::discovery::absolute_lexical(path, cwd)
}

/// The nearest ancestor of `dir` (itself included) holding a `.git` directory or file (a
/// worktree or a submodule), else `dir`.
pub fn repository_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}

/// `path` relative to `base` with `/` separators, if it is inside `base`; tries the paths as
/// written first, then with symbolic links resolved.
pub fn relative(path: &Path, base: &Path) -> Option<String> {
    if let Ok(rest) = path.strip_prefix(base) {
        return Some(slashes(rest));
    }
    let path = path.canonicalize().ok()?;
    let base = base.canonicalize().ok()?;
    path.strip_prefix(&base).ok().map(slashes)
}

/// A path written with `/` separators whatever the platform.
pub fn slashes(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => Some("..".to_string()),
            std::path::Component::RootDir => Some(String::new()),
            std::path::Component::Prefix(prefix) => {
                Some(prefix.as_os_str().to_string_lossy().into_owned())
            }
            std::path::Component::CurDir => None,
        })
        .collect();
    if parts.len() == 1 && parts[0].is_empty() {
        return "/".to_string();
    }
    parts.join("/")
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
        let text = crate::source::read_source(path).ok().map(Arc::new);
        self.loaded.push((path.clone(), text.clone()));
        text
    }
}
