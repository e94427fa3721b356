//! An open editor buffer: the client's text (not the file on disk), its version, and the edits
//! of `textDocument/didChange` applied incrementally.

use std::path::PathBuf;

use lsp_types::{TextDocumentContentChangeEvent, Uri};
use ruff_source_file::LineIndex;

use super::position::{Encoding, Lines};

pub struct Document {
    /// The URI exactly as the client sent it: diagnostics must be published under it.
    pub uri: Uri,
    /// Where the buffer lives (or would live): decides configuration and import resolution.
    pub path: PathBuf,
    pub language_id: String,
    pub version: i32,
    text: String,
    index: LineIndex,
}

impl Document {
    pub fn new(uri: Uri, path: PathBuf, language_id: String, version: i32, text: String) -> Self {
        let index = LineIndex::from_source_text(&text);
        Document {
            uri,
            path,
            language_id,
            version,
            text,
            index,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn lines(&self) -> Lines<'_> {
        Lines::new(&self.text, &self.index)
    }

    /// Apply the changes of one `didChange`, in order (each range refers to the text left by
    /// the previous change). A change without a range replaces the whole text.
    pub fn apply(
        &mut self,
        changes: Vec<TextDocumentContentChangeEvent>,
        version: i32,
        encoding: Encoding,
    ) {
        for change in changes {
            match change.range {
                None => self.text = change.text,
                Some(range) => {
                    let range = self.lines().text_range(range, encoding);
                    self.text.replace_range(
                        usize::from(range.start())..usize::from(range.end()),
                        &change.text,
                    );
                }
            }
            self.index = LineIndex::from_source_text(&self.text);
        }
        self.version = version;
    }

    /// Whether dllint lints this buffer: Python by language id, or by file name when the
    /// client sends no useful id.
    pub fn is_python(&self) -> bool {
        matches!(self.language_id.as_str(), "python" | "py")
            || crate::discovery::is_python_file(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use lsp_types::{Position, Range};

    use super::*;

    fn change(
        range: Option<((u32, u32), (u32, u32))>,
        text: &str,
    ) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: range.map(|((l1, c1), (l2, c2))| Range {
                start: Position::new(l1, c1),
                end: Position::new(l2, c2),
            }),
            range_length: None,
            text: text.into(),
        }
    }

    #[test]
    fn applies_incremental_changes_in_order() {
        let uri = Uri::from_str("file:///t.py").unwrap();
        let mut doc = Document::new(
            uri,
            "/t.py".into(),
            "python".into(),
            1,
            "a = 'é'\nb = 2\n".into(),
        );
        doc.apply(
            vec![
                // Replace `2` on line 1, then insert a line after the first (UTF-16 columns).
                change(Some(((1, 4), (1, 5))), "3"),
                change(Some(((0, 7), (0, 7))), "\nc = '😀'"),
                change(Some(((1, 7), (1, 8))), "!"),
            ],
            2,
            Encoding::Utf16,
        );
        assert_eq!(doc.text(), "a = 'é'\nc = '😀!\nb = 3\n");
        assert_eq!(doc.version, 2);
        doc.apply(vec![change(None, "x = 1\n")], 3, Encoding::Utf16);
        assert_eq!(doc.text(), "x = 1\n");
        // Ranges past the end clamp instead of panicking.
        doc.apply(
            vec![change(Some(((9, 9), (12, 0))), "y")],
            4,
            Encoding::Utf8,
        );
        assert_eq!(doc.text(), "x = 1\ny");
    }
}
