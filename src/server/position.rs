//! LSP positions ↔ byte offsets in the negotiated encoding (UTF-8, UTF-16 or UTF-32).
//!
//! Written here rather than taken from `ruff_source_file::LineIndex::offset` because editor
//! input is untrusted: a position past the end of a line or of the file, or a UTF-8 column in
//! the middle of a character, must clamp to a valid character boundary instead of panicking
//! when the text is sliced later.

use lsp_types::{Position, PositionEncodingKind, Range};
use ruff_source_file::LineIndex;
use ruff_text_size::{TextRange, TextSize};

/// The unit in which `Position::character` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    Utf8,
    /// The LSP default: every client must support it.
    #[default]
    Utf16,
    Utf32,
}

impl Encoding {
    /// The best encoding the client offers: UTF-8 (no conversion at all), then UTF-32, then the
    /// mandatory UTF-16.
    pub fn negotiate(offered: &[String]) -> Encoding {
        let has = |name: &str| offered.iter().any(|o| o == name);
        if has("utf-8") {
            Encoding::Utf8
        } else if has("utf-32") {
            Encoding::Utf32
        } else {
            Encoding::Utf16
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn width(self, c: char) -> u32 {
        match self {
            Encoding::Utf8 => c.len_utf8() as u32,
            Encoding::Utf16 => c.len_utf16() as u32,
            Encoding::Utf32 => 1,
        }
    }
}

/// A text with its line starts, for converting positions both ways.
pub struct Lines<'t> {
    text: &'t str,
    index: &'t LineIndex,
}

impl<'t> Lines<'t> {
    pub fn new(text: &'t str, index: &'t LineIndex) -> Self {
        Lines { text, index }
    }

    /// The byte range of a 0-based line without its terminator; `None` past the last line.
    fn line(&self, line: u32) -> Option<(usize, &'t str)> {
        let starts = self.index.line_starts();
        let start = usize::from(*starts.get(line as usize)?);
        let end = starts
            .get(line as usize + 1)
            .map_or(self.text.len(), |s| usize::from(*s));
        let content = self.text[start..end].trim_end_matches(['\n', '\r']);
        Some((start, content))
    }

    /// The byte offset of an LSP position, clamped to the line's end and the text's end.
    pub fn offset(&self, position: Position, encoding: Encoding) -> TextSize {
        let Some((start, content)) = self.line(position.line) else {
            return text_size(self.text.len());
        };
        let mut units = 0u32;
        let mut bytes = 0usize;
        for c in content.chars() {
            if units >= position.character {
                break;
            }
            let width = encoding.width(c);
            // A position inside a character (a UTF-16 surrogate half, a UTF-8 continuation
            // byte) snaps to the character's start.
            if units + width > position.character {
                break;
            }
            units += width;
            bytes += c.len_utf8();
        }
        text_size(start + bytes)
    }

    /// The LSP position of a byte offset (clamped, snapped to a character boundary).
    pub fn position(&self, offset: TextSize, encoding: Encoding) -> Position {
        let mut offset = usize::from(offset).min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.index.line_index(text_size(offset)).to_zero_indexed();
        let start = usize::from(self.index.line_starts()[line]);
        let character = self.text[start..offset]
            .chars()
            .map(|c| encoding.width(c))
            .sum();
        Position {
            line: line as u32,
            character,
        }
    }

    pub fn range(&self, range: TextRange, encoding: Encoding) -> Range {
        Range {
            start: self.position(range.start(), encoding),
            end: self.position(range.end(), encoding),
        }
    }

    /// The byte range of an LSP range; an inverted range is normalised.
    pub fn text_range(&self, range: Range, encoding: Encoding) -> TextRange {
        let start = self.offset(range.start, encoding);
        let end = self.offset(range.end, encoding);
        TextRange::new(start.min(end), start.max(end))
    }
}

fn text_size(n: usize) -> TextSize {
    TextSize::try_from(n).unwrap_or(TextSize::new(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn converts_non_ascii_in_every_encoding() {
        // `y` is at (0-based) UTF-32 column 9, UTF-16 column 10, UTF-8 column 12.
        let text = "s = '😀'; y = 1\nz\n";
        let index = LineIndex::from_source_text(text);
        let lines = Lines::new(text, &index);
        let y = TextSize::new(text.find('y').unwrap() as u32);
        for (encoding, column) in [
            (Encoding::Utf32, 9),
            (Encoding::Utf16, 10),
            (Encoding::Utf8, 12),
        ] {
            assert_eq!(lines.position(y, encoding), pos(0, column));
            assert_eq!(lines.offset(pos(0, column), encoding), y);
        }
        assert_eq!(lines.offset(pos(1, 0), Encoding::Utf16), TextSize::new(18));
    }

    #[test]
    fn clamps_untrusted_positions() {
        let text = "é\r\nab";
        let index = LineIndex::from_source_text(text);
        let lines = Lines::new(text, &index);
        // Past the end of a line: the line's end, before `\r\n`.
        assert_eq!(lines.offset(pos(0, 99), Encoding::Utf16), TextSize::new(2));
        // Inside `é` in UTF-8: snaps back to its start.
        assert_eq!(lines.offset(pos(0, 1), Encoding::Utf8), TextSize::new(0));
        // Past the last line: the end of the text.
        assert_eq!(lines.offset(pos(7, 3), Encoding::Utf16), TextSize::new(6));
        assert_eq!(
            lines.offset(pos(u32::MAX, u32::MAX), Encoding::Utf8),
            TextSize::new(6)
        );
        // An offset inside a character or past the end.
        assert_eq!(lines.position(TextSize::new(1), Encoding::Utf16), pos(0, 0));
        assert_eq!(
            lines.position(TextSize::new(99), Encoding::Utf16),
            pos(1, 2)
        );
    }

    #[test]
    fn negotiates_the_cheapest_offered_encoding() {
        let offer = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(Encoding::negotiate(&offer(&[])), Encoding::Utf16);
        assert_eq!(
            Encoding::negotiate(&offer(&["utf-16", "utf-8"])),
            Encoding::Utf8
        );
        assert_eq!(
            Encoding::negotiate(&offer(&["utf-32", "utf-16"])),
            Encoding::Utf32
        );
    }
}
