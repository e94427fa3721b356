//! Reading Python source: bytes from disk (or stdin, or an editor buffer) to text, with every
//! problem a user can fix named precisely, and offsets mapped to lines and columns.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use ruff_source_file::{LineIndex, OneIndexed, PositionEncoding};
use ruff_text_size::{TextRange, TextSize};

use crate::notebook::{CellLocation, Notebook, NotebookError};

/// The text of one file plus a lazily built line index (most files never need one: only files
/// with findings are rendered). For a notebook, the text is the virtual source (the code cells
/// joined) and the notebook maps its offsets back to cells.
pub struct SourceText {
    text: String,
    index: OnceLock<LineIndex>,
    notebook: Option<Arc<Notebook>>,
    /// The text is a notebook's code (the cells joined), whether or not the notebook itself is
    /// kept for display.
    from_notebook: bool,
    /// [`SourceText::is_cell_script`] of the text, computed once.
    cell_script: OnceLock<bool>,
}

/// A 1-based line and character column, as editors and `path:line:col` show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    pub row: usize,
    pub column: usize,
}

impl SourceText {
    pub fn new(text: String) -> Self {
        SourceText {
            text,
            index: OnceLock::new(),
            notebook: None,
            from_notebook: false,
            cell_script: OnceLock::new(),
        }
    }

    /// The Python code of a notebook's cells, as the rules analyse it (magics and shell escapes
    /// already neutralised): rules see that it comes from a notebook through
    /// [`SourceText::is_notebook`].
    pub fn notebook_code(text: String) -> Self {
        SourceText {
            from_notebook: true,
            ..SourceText::new(text)
        }
    }

    /// A notebook kept as a Python file: cells marked `# %%` (jupytext's percent format, VS
    /// Code and Spyder cells) or `# In[ ]:` (a notebook exported with nbconvert), at least two.
    /// Rules treat it as a notebook; positions stay the file's lines.
    pub fn is_cell_script(text: &str) -> bool {
        // Most files have no marker at all: a vectorised search for the markers' cores rules
        // them out without walking the lines.
        let bytes = text.as_bytes();
        if memchr::memmem::find(bytes, b"%%").is_none()
            && memchr::memmem::find(bytes, b"In[").is_none()
        {
            return false;
        }
        text.lines()
            .filter(|line| {
                let line = line.trim_start();
                line.starts_with("# %%") || line.starts_with("#%%") || line.starts_with("# In[")
            })
            .take(2)
            .count()
            == 2
    }

    /// This text with [`SourceText::cell_script`] already known (`cell_script`: what
    /// [`SourceText::is_cell_script`] said of it).
    pub fn knowing_cell_script(self, cell_script: bool) -> Self {
        let _ = self.cell_script.set(cell_script);
        self
    }

    /// [`SourceText::is_cell_script`] of this text (computed once).
    pub fn cell_script(&self) -> bool {
        *self
            .cell_script
            .get_or_init(|| Self::is_cell_script(&self.text))
    }

    /// The virtual source of a notebook (its code cells, as written).
    pub fn from_notebook(notebook: Arc<Notebook>) -> Self {
        SourceText {
            text: notebook.text().to_string(),
            index: OnceLock::new(),
            cell_script: OnceLock::new(),
            notebook: Some(notebook),
            from_notebook: true,
        }
    }

    /// The text of `path` as dllint shows it: a notebook's virtual source for `.ipynb` files.
    pub fn for_path(path: &Path, text: String) -> Result<Self, ReadError> {
        if is_notebook(path) {
            let notebook = Notebook::parse(text).map_err(ReadError::Notebook)?;
            Ok(SourceText::from_notebook(Arc::new(notebook)))
        } else {
            Ok(SourceText::new(text))
        }
    }

    /// True if the text is a Jupyter notebook's code: its cells are what a reader runs one by
    /// one and whose output they read, not a module.
    pub fn is_notebook(&self) -> bool {
        self.from_notebook
    }

    /// The notebook this text comes from, if any.
    pub fn notebook(&self) -> Option<&Notebook> {
        self.notebook.as_deref()
    }

    /// For a notebook: the cell, and the line and column within it, of a byte offset.
    pub fn cell_location(&self, offset: TextSize) -> Option<CellLocation> {
        let notebook = self.notebook.as_deref()?;
        let offset = offset.min(self.text_len());
        let position = self.position(offset);
        notebook.locate(offset, position.row, position.column)
    }

    /// The 1-based line and column of an offset in the file as stored: the position itself
    /// for Python files; for a notebook, where the character is written in its JSON.
    pub fn file_position(&self, offset: TextSize) -> Position {
        match self.notebook.as_deref() {
            Some(notebook) => {
                let (row, column) = notebook.file_position(offset.min(self.text_len()));
                Position { row, column }
            }
            None => self.position(offset),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn into_text(self) -> String {
        self.text
    }

    pub fn index(&self) -> &LineIndex {
        self.index
            .get_or_init(|| LineIndex::from_source_text(&self.text))
    }

    /// 1-based line and character column of a byte offset.
    pub fn position(&self, offset: TextSize) -> Position {
        let offset = offset.min(self.text_len());
        let lc = self.index().line_column(offset, &self.text);
        Position {
            row: lc.line.get(),
            column: lc.column.get(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: TextSize) -> usize {
        self.index().line_index(offset.min(self.text_len())).get()
    }

    /// The range of a 1-based line, without its line terminator.
    pub fn line_range(&self, row: usize) -> TextRange {
        let row = OneIndexed::new(row.max(1)).unwrap_or(OneIndexed::MIN);
        self.index().line_range(row, &self.text)
    }

    pub fn line_count(&self) -> usize {
        self.index().line_count()
    }

    pub fn text_len(&self) -> TextSize {
        TextSize::try_from(self.text.len()).unwrap_or(TextSize::new(u32::MAX))
    }

    /// LSP position (0-based line, character offset in `encoding` units).
    pub fn lsp_position(&self, offset: TextSize, encoding: PositionEncoding) -> (u32, u32) {
        let loc = self
            .index()
            .source_location(offset.min(self.text_len()), &self.text, encoding);
        (
            loc.line.to_zero_indexed() as u32,
            loc.character_offset.to_zero_indexed() as u32,
        )
    }
}

/// Why a file's bytes are not Python source dllint can analyse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The file starts with a UTF-16 byte-order mark.
    Utf16,
    /// The file holds a NUL byte: Python refuses such files, and it is usually binary data.
    NulByte { line: usize },
    /// Bytes that are not UTF-8, possibly under a PEP 263 encoding declaration.
    InvalidUtf8 {
        line: usize,
        column: usize,
        declared: Option<String>,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Utf16 => write!(
                f,
                "file is encoded as UTF-16; dllint (like most Python tools) reads UTF-8 source: \
                 re-save it as UTF-8"
            ),
            DecodeError::NulByte { line } => write!(
                f,
                "file contains a NUL byte on line {line}; Python cannot import it (binary data?)"
            ),
            DecodeError::InvalidUtf8 {
                line,
                column,
                declared: Some(encoding),
            } => write!(
                f,
                "file is not valid UTF-8 (first bad byte at line {line}, byte column {column}); it \
                 declares `coding: {encoding}`: convert it with `iconv -f {encoding} -t UTF-8`"
            ),
            DecodeError::InvalidUtf8 {
                line,
                column,
                declared: None,
            } => write!(
                f,
                "file is not valid UTF-8 (first bad byte at line {line}, byte column {column}): \
                 re-save it as UTF-8"
            ),
        }
    }
}

/// Decode raw bytes as Python source. A UTF-8 byte-order mark is kept (the parser and the line
/// index both understand it) so that fixes can write it back unchanged.
pub fn decode(bytes: Vec<u8>) -> Result<String, DecodeError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(DecodeError::Utf16);
    }
    match String::from_utf8(bytes) {
        // The SIMD search of the memchr crate: every file of a run is scanned, cached or not.
        Ok(text) => match memchr::memchr(0, text.as_bytes()) {
            Some(at) => Err(DecodeError::NulByte {
                line: line_number(text.as_bytes(), at),
            }),
            None => Ok(text),
        },
        Err(err) => {
            let bytes = err.as_bytes();
            let at = err.utf8_error().valid_up_to();
            let line_start = bytes[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            Err(DecodeError::InvalidUtf8 {
                line: line_number(bytes, at),
                column: at - line_start + 1,
                declared: declared_encoding(bytes),
            })
        }
    }
}

fn line_number(bytes: &[u8], at: usize) -> usize {
    bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The PEP 263 encoding declaration (`# -*- coding: latin-1 -*-`) on line 1 or 2, if any.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    for line in bytes.split(|&b| b == b'\n').take(2) {
        let line = String::from_utf8_lossy(line);
        let trimmed = line.trim_start();
        if !trimmed.starts_with('#') {
            continue;
        }
        if let Some(pos) = trimmed.find("coding") {
            let rest = &trimmed[pos + "coding".len()..];
            let rest = rest.strip_prefix(':').or_else(|| rest.strip_prefix('='))?;
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            if !name.is_empty() {
                return Some(name);
            }
        }
    }
    None
}

/// Read a file as dllint shows it (see [`SourceText::for_path`]).
pub fn read_source(path: &Path) -> Result<SourceText, ReadError> {
    SourceText::for_path(path, read_file(path)?)
}

/// Read a file for linting. Refuses anything that is not a regular file (FIFOs and devices would
/// block or never end).
pub fn read_file(path: &Path) -> Result<String, ReadError> {
    use std::io::Read;
    // Non-blocking open: opening a FIFO for reading would otherwise wait for a writer.
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(_) if path.is_dir() => return Err(ReadError::Directory),
        Err(err) => return Err(ReadError::Io(err)),
    };
    let metadata = file.metadata().map_err(ReadError::Io)?;
    if metadata.is_dir() {
        return Err(ReadError::Directory);
    }
    if !metadata.is_file() {
        return Err(ReadError::NotRegular);
    }
    if metadata.len() > MAX_SOURCE_BYTES {
        return Err(ReadError::TooLarge);
    }
    let mut bytes = Vec::with_capacity(
        usize::try_from(metadata.len())
            .unwrap_or(0)
            .saturating_add(1),
    );
    // The file may grow while it is read.
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(ReadError::TooLarge);
    }
    decode(bytes).map_err(ReadError::Decode)
}

/// The largest source dllint reads, from a file or from standard input: 256 MiB, far beyond
/// any hand-written or generated Python module (the parser's offsets end at 4 GiB, and the
/// syntax tree of a file takes many times its size in memory).
pub const MAX_SOURCE_BYTES: u64 = 256 << 20;

/// Read all of `input`, but no more than [`MAX_SOURCE_BYTES`]: `Ok(None)` if there is more
/// (standard input may be endless: `< /dev/zero`).
pub fn read_capped(input: impl std::io::Read) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    input.take(MAX_SOURCE_BYTES + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= MAX_SOURCE_BYTES).then_some(bytes))
}

/// `O_NONBLOCK`: 0o4000 on Linux, 0x0004 on macOS and the BSDs (no libc dependency for one
/// flag).
#[cfg(all(unix, any(target_os = "linux", target_os = "android")))]
const NONBLOCK: i32 = 0o4000;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
const NONBLOCK: i32 = 0x0004;

#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    Directory,
    NotRegular,
    /// Larger than [`MAX_SOURCE_BYTES`].
    TooLarge,
    /// A directory found while walking that could not be read (its files are not linted).
    UnreadableDirectory(std::io::Error),
    Decode(DecodeError),
    /// A `.ipynb` file that is not a notebook dllint can read.
    Notebook(NotebookError),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(err) if err.kind() == std::io::ErrorKind::PermissionDenied => {
                write!(
                    f,
                    "cannot read file: permission denied (check its mode with `ls -l`)"
                )
            }
            ReadError::Io(err) => write!(f, "cannot read file: {err}"),
            ReadError::Directory => write!(f, "expected a file but found a directory"),
            ReadError::NotRegular => {
                write!(f, "not a regular file (FIFO, socket or device); skipped")
            }
            ReadError::UnreadableDirectory(err)
                if err.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                write!(
                    f,
                    "cannot read directory: permission denied (check its mode with `ls -ld`); \
                     its files are not linted"
                )
            }
            ReadError::UnreadableDirectory(err) => {
                write!(f, "cannot read directory: {err}; its files are not linted")
            }
            ReadError::TooLarge => write!(
                f,
                "file is larger than {} MiB, the most dllint reads from one file; skipped",
                MAX_SOURCE_BYTES >> 20
            ),
            ReadError::Decode(err) => write!(f, "{err}"),
            ReadError::Notebook(err) => write!(f, "{err}"),
        }
    }
}

/// True if `word` occurs in `text` as a whole identifier: not preceded or followed by an ASCII
/// letter, digit or `_` (`log` in `torch.log(p)`, not in `logits`). A non-ASCII neighbour does
/// not count as part of the identifier, so such an occurrence is found too (a pre-filter may
/// find too much, never too little).
pub fn contains_word(text: &[u8], word: &[u8]) -> bool {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    memchr::memmem::find_iter(text, word).any(|at| {
        let before = at.checked_sub(1).map(|i| text[i]);
        let after = text.get(at + word.len()).copied();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// True if `text` holds a character whose NFKC normalisation has an ASCII letter, digit or
/// `_` (`ｌ`, `ℓ`, `ﬁ`, `𝐱`): Python reads an identifier after NFKC normalisation, so such a
/// text may name `log` without spelling it. A pre-filter that looks for a name in the text
/// does not apply to it. An accented letter (`ï`) normalises to itself: a name that holds one
/// is not an ASCII name.
pub fn spells_names_in_compatibility_forms(text: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    if text.is_ascii() {
        return false;
    }
    // Each distinct character once: a text that has non-ASCII characters tends to repeat a
    // few of them (quotes, dashes, the letters of one script). The ASCII runs between them
    // are skipped byte by byte, not decoded.
    let mut seen = rustc_hash::FxHashSet::default();
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(start) = next_non_ascii(bytes, at) {
        let Some(c) = text[start..].chars().next() else {
            break;
        };
        at = start + c.len_utf8();
        if seen.insert(c)
            && std::iter::once(c)
                .nfkc()
                .any(|d| d.is_ascii_alphanumeric() || d == '_')
        {
            return true;
        }
    }
    false
}

/// The position of the first byte at or after `from` that is not ASCII: eight bytes at a time.
fn next_non_ascii(bytes: &[u8], from: usize) -> Option<usize> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let rest = bytes.get(from..)?;
    let mut chunks = rest.chunks_exact(8);
    let mut at = from;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default()) & HIGH;
        if word != 0 {
            return Some(at + word.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let tail = chunks.remainder();
    tail.iter().position(|b| !b.is_ascii()).map(|i| at + i)
}

/// A Jupyter notebook (`.ipynb`): linted cell by cell.
pub fn is_notebook(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "ipynb")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names Python reads as ASCII although the text does not spell them so, and only those.
    #[test]
    fn compatibility_forms_are_the_characters_nfkc_turns_into_ascii_names() {
        for text in [
            "F.ｃｒｏｓｓ_ｅｎｔｒｏｐｙ(p, y)\n",
            "ℓ = 1\n",
            "# ﬁne\n",
            "x = 1  # — ²\n",
        ] {
            assert!(spells_names_in_compatibility_forms(text), "{text:?}");
        }
        for text in ["log(p)\n", "# naïve café — ‘quoted’ 中文\n", "ɑ = 1\n"] {
            assert!(!spells_names_in_compatibility_forms(text), "{text:?}");
        }
    }

    #[test]
    fn the_next_non_ascii_byte_is_found_at_any_position() {
        for len in 0..20 {
            for at in 0..=len {
                let mut bytes = vec![b'a'; len];
                if at < len {
                    bytes[at] = 0xC3;
                }
                for from in 0..=len + 1 {
                    let naive = bytes
                        .get(from..)
                        .and_then(|rest| rest.iter().position(|b| !b.is_ascii()))
                        .map(|i| from + i);
                    assert_eq!(next_non_ascii(&bytes, from), naive, "{len} {at} {from}");
                }
            }
        }
    }

    #[test]
    fn decodes_utf8_and_keeps_bom() {
        let text = decode(b"\xEF\xBB\xBFx = 1\n".to_vec()).unwrap();
        assert!(text.starts_with('\u{feff}'));
    }

    #[test]
    fn names_utf16_nul_and_bad_bytes() {
        assert_eq!(decode(vec![0xFF, 0xFE, b'x', 0]), Err(DecodeError::Utf16));
        assert_eq!(
            decode(b"a\nb\0".to_vec()),
            Err(DecodeError::NulByte { line: 2 })
        );
        let err = decode(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n".to_vec()).unwrap_err();
        assert_eq!(
            err,
            DecodeError::InvalidUtf8 {
                line: 2,
                column: 6,
                declared: Some("latin-1".into())
            }
        );
    }

    #[test]
    fn positions_count_characters() {
        let src = SourceText::new("s = 'é'\ny = 1\n".into());
        assert_eq!(
            src.position(TextSize::new(13)),
            Position { row: 2, column: 5 }
        );
        assert_eq!(src.line_of(TextSize::new(0)), 1);
    }
}
