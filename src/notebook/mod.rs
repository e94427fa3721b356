//! Jupyter notebooks (`.ipynb`, nbformat 4): the code cells joined into one virtual Python
//! source, positions mapped back to `cell N, line L`, and edits made on the virtual source
//! written back into the notebook JSON without touching any other byte.
//!
//! The virtual source is the text of every code cell in order, each followed by a newline if
//! it does not end with one (as ruff builds it). It is parsed in IPython mode
//! (`PySourceType::Ipynb`, from the `.ipynb` extension), in which line magics (`%time f()`,
//! `x = %env`), shell escapes (`!pip install`, `files = !ls`) and help (`obj?`, `??obj`) are
//! escape-command nodes that no rule looks into: they are skipped without changing a byte, so
//! offsets in the virtual source are offsets in the cells. A cell magic (`%%bash`, `%%html`,
//! `%%writefile`) makes its whole cell another language: [`Notebook::python_source`] blanks
//! such cells (spaces, newlines kept), except for the magics whose body is Python
//! (`%%time`, `%%timeit`, `%%capture`, `%%prun`, `%%debug`, `%%python`, `%%python3`,
//! `%%pypy`). Markdown and raw cells, and notebooks whose kernel is not Python, are not linted.
//!
//! Cells are numbered from 1 counting every cell of the notebook (markdown cells too), the
//! number Jupyter and VS Code show.

pub mod json;

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use ruff_source_file::LineIndex;
use ruff_text_size::{TextRange, TextSize};

use crate::diagnostic::Edit;
use json::{Escaping, Node, ValueKind};

/// Cell magics whose body is Python: the cell is linted, only the magic line is skipped.
const PYTHON_CELL_MAGICS: &[&str] = &[
    "time", "timeit", "capture", "prun", "debug", "python", "python3", "pypy",
];

/// A parsed notebook: the raw JSON, the code cells, and the virtual source.
pub struct Notebook {
    raw: String,
    text: String,
    cells: Vec<Cell>,
    escaping: Escaping,
    raw_index: OnceLock<LineIndex>,
}

/// One code cell in the virtual source.
#[derive(Debug, Clone)]
pub struct Cell {
    /// 1-based position among all cells of the notebook.
    pub number: usize,
    /// Offset of the cell's first byte in the virtual source.
    pub start: usize,
    /// Length of the cell's own text (without the newline added after it).
    pub len: usize,
    /// A newline was added after the cell text in the virtual source.
    pub added_newline: bool,
    /// 0-based line of the virtual source where the cell starts.
    pub first_line: usize,
    /// The cell is another language (a cell magic such as `%%bash`): blanked for analysis.
    pub foreign: bool,
    /// The cell object in the raw JSON.
    span: Range<usize>,
    source: Option<SourceField>,
}

impl Cell {
    /// End of the cell in the virtual source, the added newline included.
    pub fn end(&self) -> usize {
        self.start + self.len + usize::from(self.added_newline)
    }
}

/// The `source` value of a code cell in the raw JSON.
#[derive(Debug, Clone)]
struct SourceField {
    /// The value (array or string), brackets/quotes included.
    span: Range<usize>,
    is_array: bool,
    pieces: Vec<Piece>,
}

/// One JSON string of a cell's source.
#[derive(Debug, Clone)]
struct Piece {
    /// The string token, quotes included.
    token: Range<usize>,
    /// Offset of its decoded text within the cell text, and the decoded length.
    start: usize,
    len: usize,
}

/// A position in a notebook: cell number (1-based, all cells counted), then the 1-based line
/// and character column within the cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellLocation {
    pub cell: usize,
    pub row: usize,
    pub column: usize,
}

/// Why a file is not a notebook dllint can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotebookError {
    /// Not JSON: the message and the 1-based line and column in the file.
    Json {
        message: String,
        line: usize,
        column: usize,
    },
    /// JSON, but not a notebook of a supported format.
    Format(String),
}

impl fmt::Display for NotebookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotebookError::Json {
                message,
                line,
                column,
            } => write!(
                f,
                "invalid notebook: the file is not valid JSON ({message} at line {line}, column \
                 {column})"
            ),
            NotebookError::Format(message) => write!(f, "invalid notebook: {message}"),
        }
    }
}

/// Why edits could not be written back into a notebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// An edit spans more than one cell (or the gap between two).
    CrossesCells { start: usize, end: usize },
    /// An edit lies outside the virtual source.
    OutOfRange { offset: usize },
    /// Two edits overlap.
    Overlap { offset: usize },
    /// The cell has no `source` key to write into.
    NoSource { cell: usize },
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::CrossesCells { start, end } => {
                write!(f, "an edit spans cells {start} to {end} of the notebook")
            }
            EditError::OutOfRange { offset } => {
                write!(
                    f,
                    "an edit at offset {offset} lies outside the notebook's cells"
                )
            }
            EditError::Overlap { offset } => write!(f, "edits overlap at offset {offset}"),
            EditError::NoSource { cell } => write!(f, "cell {cell} has no `source` to edit"),
        }
    }
}

impl std::error::Error for EditError {}

impl Notebook {
    /// Parse a notebook from its JSON text.
    pub fn parse(raw: String) -> Result<Notebook, NotebookError> {
        let root = json::parse(&raw).map_err(|error| {
            let (line, column) = line_column(&raw, error.offset);
            NotebookError::Json {
                message: error.message,
                line,
                column,
            }
        })?;
        if !matches!(root.kind, ValueKind::Object(_)) {
            return Err(NotebookError::Format(
                "the top level is not a JSON object (expected an nbformat 4 notebook)".into(),
            ));
        }
        if let Some(version) = root.get(&raw, "nbformat")
            && let Ok(major) = raw[version.span.clone()].parse::<u32>()
            && major < 4
        {
            return Err(NotebookError::Format(format!(
                "nbformat {major} is not supported: convert it with `jupyter nbconvert --to \
                 notebook --nbformat 4`"
            )));
        }
        let Some(cells) = root.get(&raw, "cells").and_then(Node::as_array) else {
            return Err(NotebookError::Format(
                "no `cells` list (expected an nbformat 4 notebook)".into(),
            ));
        };
        let python = is_python_notebook(&raw, &root);
        let mut text = String::new();
        let mut code_cells = Vec::new();
        let mut line = 0;
        for (index, cell) in cells.iter().enumerate() {
            if !matches!(cell.kind, ValueKind::Object(_)) {
                return Err(NotebookError::Format(format!(
                    "cell {} is not a JSON object",
                    index + 1
                )));
            }
            let cell_type = cell.get(&raw, "cell_type").and_then(|t| t.as_str(&raw));
            if !python || cell_type.as_deref() != Some("code") {
                continue;
            }
            let (cell_text, source) = match cell.get(&raw, "source") {
                None => (String::new(), None),
                Some(node) => {
                    let (cell_text, field) = source_field(&raw, node).ok_or_else(|| {
                        NotebookError::Format(format!(
                            "the `source` of cell {} is neither a string nor a list of strings",
                            index + 1
                        ))
                    })?;
                    (cell_text, Some(field))
                }
            };
            let start = text.len();
            text.push_str(&cell_text);
            let added_newline = !cell_text.ends_with(['\n', '\r']);
            if added_newline {
                text.push('\n');
            }
            code_cells.push(Cell {
                number: index + 1,
                start,
                len: cell_text.len(),
                added_newline,
                first_line: line,
                foreign: is_foreign_cell(&cell_text),
                span: cell.span.clone(),
                source,
            });
            line += count_lines(&text[start..]);
        }
        let escaping = Escaping::detect(&raw);
        Ok(Notebook {
            raw,
            text,
            cells: code_cells,
            escaping,
            raw_index: OnceLock::new(),
        })
    }

    /// The virtual source: every code cell's text, as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The notebook's JSON, as read.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// The text to parse (in IPython mode): the virtual source with the cells of other
    /// languages (`%%bash`, ...) blanked, byte for byte, so that offsets do not move.
    pub fn python_source(&self) -> String {
        let mut text = self.text.clone().into_bytes();
        for cell in self.cells.iter().filter(|c| c.foreign) {
            for byte in &mut text[cell.start..cell.start + cell.len] {
                if !matches!(*byte, b'\n' | b'\r') {
                    *byte = b' ';
                }
            }
        }
        // Only ASCII bytes were replaced, and only whole characters (every byte of a
        // multi-byte character becomes a space).
        String::from_utf8(text).unwrap_or_default()
    }

    /// The code cell holding a virtual-source offset (the end of the source belongs to the
    /// last cell).
    pub fn cell_at(&self, offset: TextSize) -> Option<&Cell> {
        let offset = offset.to_usize();
        let after = self.cells.partition_point(|c| c.start <= offset);
        let cell = self.cells.get(after.checked_sub(1)?)?;
        (offset <= cell.end()).then_some(cell)
    }

    /// The cell, line and column of a virtual-source offset, given the 1-based line and
    /// column of the offset in the virtual source.
    pub fn locate(&self, offset: TextSize, row: usize, column: usize) -> Option<CellLocation> {
        let cell = self.cell_at(offset)?;
        Some(CellLocation {
            cell: cell.number,
            row: row.saturating_sub(cell.first_line).max(1),
            column,
        })
    }

    /// The virtual-source range of a code cell (its own text, without the added newline).
    pub fn cell_range(&self, cell: &Cell) -> TextRange {
        TextRange::new(to_size(cell.start), to_size(cell.start + cell.len))
    }

    /// The 1-based line and character column in the notebook file (the JSON) where the
    /// character at a virtual-source offset is written: for tools that show findings on the
    /// file as stored (CI annotations).
    pub fn file_position(&self, offset: TextSize) -> (usize, usize) {
        let raw_offset = self.raw_offset(offset.to_usize());
        let index = self
            .raw_index
            .get_or_init(|| LineIndex::from_source_text(&self.raw));
        let lc = index.line_column(to_size(raw_offset), &self.raw);
        (lc.line.get(), lc.column.get())
    }

    /// The byte offset in the JSON of a virtual-source offset.
    fn raw_offset(&self, offset: usize) -> usize {
        let Some(cell) = self.cell_at(to_size(offset)) else {
            return 0;
        };
        let Some(field) = &cell.source else {
            return cell.span.start;
        };
        let local = offset - cell.start;
        let piece = field
            .pieces
            .iter()
            .find(|p| p.start <= local && local < p.start + p.len)
            .or_else(|| field.pieces.iter().rev().find(|p| p.len > 0));
        match piece {
            Some(piece) => {
                let inner = piece.token.start + 1..piece.token.end - 1;
                let within = local.saturating_sub(piece.start);
                inner.start + json::raw_offset(&self.raw[inner], within)
            }
            None => field.span.start,
        }
    }

    /// Apply edits made on the virtual source (non-overlapping; each within one cell) and
    /// return the new notebook JSON. Only the `source` values of the changed cells are
    /// rewritten, in the notebook's own style: the same layout of the list, unchanged lines
    /// keep their exact JSON text, new text is escaped as the rest of the file is. Every other
    /// byte of the file is kept.
    pub fn apply_edits(&self, edits: &[Edit]) -> Result<String, EditError> {
        let mut sorted: Vec<&Edit> = edits.iter().collect();
        sorted.sort_by_key(|e| (e.range.start(), e.range.end()));
        for pair in sorted.windows(2) {
            if pair[0].range.end() > pair[1].range.start() {
                return Err(EditError::Overlap {
                    offset: pair[1].range.start().to_usize(),
                });
            }
        }
        // Group the edits by cell, in order.
        let mut by_cell: Vec<(usize, Vec<&Edit>)> = Vec::new();
        for edit in sorted {
            let (start, end) = (edit.range.start().to_usize(), edit.range.end().to_usize());
            if end > self.text.len() {
                return Err(EditError::OutOfRange { offset: end });
            }
            let after = self.cells.partition_point(|c| c.start <= start);
            let Some(index) = after.checked_sub(1) else {
                return Err(EditError::OutOfRange { offset: start });
            };
            let cell = &self.cells[index];
            if end > cell.end() {
                let last = self
                    .cells
                    .iter()
                    .take_while(|c| c.start < end)
                    .last()
                    .map_or(cell.number, |c| c.number);
                return Err(EditError::CrossesCells {
                    start: cell.number,
                    end: last,
                });
            }
            match by_cell.last_mut() {
                Some((i, list)) if *i == index => list.push(edit),
                _ => by_cell.push((index, vec![edit])),
            }
        }
        let mut replacements: Vec<(Range<usize>, String)> = Vec::new();
        for (index, cell_edits) in by_cell {
            let cell = &self.cells[index];
            let segment = &self.text[cell.start..cell.end()];
            let mut new_text = String::with_capacity(segment.len());
            let mut last = 0;
            for edit in cell_edits {
                let start = edit.range.start().to_usize() - cell.start;
                let end = edit.range.end().to_usize() - cell.start;
                new_text.push_str(&segment[last..start]);
                new_text.push_str(&edit.content);
                last = end;
            }
            new_text.push_str(&segment[last..]);
            // The newline the virtual source added after the cell is not the cell's own:
            // drop it again, unless the edits made the cell end with a blank line.
            if cell.added_newline
                && new_text.ends_with('\n')
                && !new_text[..new_text.len() - 1].ends_with(['\n', '\r'])
            {
                new_text.pop();
            }
            if new_text == self.text[cell.start..cell.start + cell.len] {
                continue;
            }
            let Some(field) = &cell.source else {
                return Err(EditError::NoSource { cell: cell.number });
            };
            replacements.push((field.span.clone(), self.render_source(field, &new_text)));
        }
        let mut out = String::with_capacity(self.raw.len() + 64);
        let mut last = 0;
        for (span, text) in replacements {
            out.push_str(&self.raw[last..span.start]);
            out.push_str(&text);
            last = span.end;
        }
        out.push_str(&self.raw[last..]);
        Ok(out)
    }

    /// The JSON for a cell's new source, in the style of the old one.
    fn render_source(&self, field: &SourceField, text: &str) -> String {
        let reuse = |line: &str| -> String {
            field
                .pieces
                .iter()
                .find(|p| {
                    p.len == line.len()
                        && json::decode(&self.raw, &string_node(p.token.clone())).as_deref()
                            == Some(line)
                })
                .map_or_else(
                    || self.escaping.encode(line),
                    |p| self.raw[p.token.clone()].to_string(),
                )
        };
        if !field.is_array {
            return reuse(text);
        }
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        if lines.is_empty() {
            return "[]".to_string();
        }
        let (open, separator, close) = self.array_layout(field);
        let mut out = String::from("[");
        out.push_str(&open);
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                out.push_str(&separator);
            }
            out.push_str(&reuse(line));
        }
        out.push_str(&close);
        out.push(']');
        out
    }

    /// Whitespace after `[`, between items (with the comma), and before `]` of a source list.
    fn array_layout(&self, field: &SourceField) -> (String, String, String) {
        let raw = &self.raw;
        if let (Some(first), Some(last)) = (field.pieces.first(), field.pieces.last()) {
            let open = raw[field.span.start + 1..first.token.start].to_string();
            let close = raw[last.token.end..field.span.end - 1].to_string();
            let separator = match field.pieces.get(1) {
                Some(second) => raw[first.token.end..second.token.start].to_string(),
                None => format!(",{open}"),
            };
            return (open, separator, close);
        }
        // An empty list (`"source": []`): indent like the other cells' sources, relative to
        // the line holding the key.
        let key_indent = indentation_before(raw, field.span.start);
        let unit = self
            .cells
            .iter()
            .filter_map(|c| c.source.as_ref())
            .filter(|f| f.is_array)
            .find_map(|f| {
                let first = f.pieces.first()?;
                let open = &raw[f.span.start + 1..first.token.start];
                let item = open.strip_prefix('\n')?;
                let key = indentation_before(raw, f.span.start);
                item.strip_prefix(key).map(str::to_string)
            });
        let multiline = raw.contains('\n');
        match (unit, multiline) {
            (Some(unit), _) => {
                let open = format!("\n{key_indent}{unit}");
                (open.clone(), format!(",{open}"), format!("\n{key_indent}"))
            }
            // Jupyter writes with `indent=1`.
            (None, true) => {
                let open = format!("\n{key_indent} ");
                (open.clone(), format!(",{open}"), format!("\n{key_indent}"))
            }
            (None, false) => (String::new(), ",".to_string(), String::new()),
        }
    }
}

fn string_node(span: Range<usize>) -> Node {
    Node {
        span,
        kind: ValueKind::Str,
    }
}

/// The decoded text of a `source` value and where its strings are.
fn source_field(raw: &str, node: &Node) -> Option<(String, SourceField)> {
    let mut text = String::new();
    let mut pieces = Vec::new();
    let mut push = |item: &Node| -> Option<()> {
        let decoded = json::decode(raw, item)?;
        pieces.push(Piece {
            token: item.span.clone(),
            start: text.len(),
            len: decoded.len(),
        });
        text.push_str(&decoded);
        Some(())
    };
    let is_array = match &node.kind {
        ValueKind::Str => {
            push(node)?;
            false
        }
        ValueKind::Array(items) => {
            for item in items {
                push(item)?;
            }
            true
        }
        _ => return None,
    };
    Some((
        text,
        SourceField {
            span: node.span.clone(),
            is_array,
            pieces,
        },
    ))
}

/// False when the notebook declares a kernel language other than Python.
fn is_python_notebook(raw: &str, root: &Node) -> bool {
    let Some(metadata) = root.get(raw, "metadata") else {
        return true;
    };
    let declared = metadata
        .get(raw, "language_info")
        .and_then(|info| info.get(raw, "name"))
        .or_else(|| {
            metadata
                .get(raw, "kernelspec")
                .and_then(|k| k.get(raw, "language"))
        })
        .and_then(|n| n.as_str(raw));
    declared.is_none_or(|name| {
        let name = name.to_ascii_lowercase();
        name.is_empty() || name.starts_with("python") || name == "ipython" || name == "py"
    })
}

/// A cell whose first non-blank line is a cell magic of another language (`%%bash`).
fn is_foreign_cell(text: &str) -> bool {
    let Some(first) = text.lines().find(|l| !l.trim().is_empty()) else {
        return false;
    };
    let Some(magic) = first.trim_start().strip_prefix("%%") else {
        return false;
    };
    let name = magic
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("");
    !PYTHON_CELL_MAGICS.contains(&name)
}

/// Lines in a piece of text that ends with a line terminator.
fn count_lines(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut lines = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => lines += 1,
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => lines += 1,
            _ => {}
        }
        i += 1;
    }
    lines
}

/// The leading whitespace of the line holding `offset`.
fn indentation_before(raw: &str, offset: usize) -> &str {
    let line_start = raw[..offset].rfind('\n').map_or(0, |p| p + 1);
    let line = &raw[line_start..offset];
    &line[..line.len() - line.trim_start().len()]
}

/// 1-based line and character column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

fn to_size(offset: usize) -> TextSize {
    TextSize::try_from(offset).unwrap_or(TextSize::new(u32::MAX))
}

#[cfg(test)]
mod tests;
