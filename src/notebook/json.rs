//! A small JSON parser that keeps the byte span of every value, so that a notebook can be
//! edited in place: only the `source` of a changed cell is rewritten, every other byte of the
//! file (key order, indentation, escapes, outputs) stays as it was.
//!
//! Strings are validated but decoded only on demand ([`decode`]). Python's `json` module
//! writes `NaN`, `Infinity` and `-Infinity` for non-finite floats (notebook outputs and
//! metadata can hold them), so they are accepted as numbers.

use std::fmt;
use std::ops::Range;

/// Deepest nesting accepted; deeper documents are refused (no stack overflow on input).
const MAX_DEPTH: usize = 256;

/// A JSON value and the bytes it spans in the document.
#[derive(Debug, Clone)]
pub struct Node {
    /// The whole value; for a string, including its quotes.
    pub span: Range<usize>,
    pub kind: ValueKind,
}

#[derive(Debug, Clone)]
pub enum ValueKind {
    Null,
    Bool(bool),
    Number,
    /// A string; `span` includes the quotes.
    Str,
    Array(Vec<Node>),
    /// Members in document order: (key, value); keys are strings (`ValueKind::Str`).
    Object(Vec<(Node, Node)>),
}

impl Node {
    /// The member `key` of an object (the last one if repeated, as Python's `json` keeps).
    pub fn get<'n>(&'n self, text: &str, key: &str) -> Option<&'n Node> {
        match &self.kind {
            ValueKind::Object(members) => members
                .iter()
                .rev()
                .find(|(k, _)| decode(text, k).as_deref() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The decoded value of a string node.
    pub fn as_str(&self, text: &str) -> Option<String> {
        decode(text, self)
    }

    pub fn as_array(&self) -> Option<&[Node]> {
        match &self.kind {
            ValueKind::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The text between the quotes of a string node (escapes not decoded).
    pub fn inner(&self) -> Range<usize> {
        self.span.start + 1..self.span.end.saturating_sub(1).max(self.span.start + 1)
    }
}

/// Why a document is not JSON, at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parse a whole document (a UTF-8 byte-order mark before it is allowed).
pub fn parse(text: &str) -> Result<Node, JsonError> {
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut parser = Parser {
        bytes: text.as_bytes(),
        pos: start,
        depth: 0,
    };
    parser.skip_ws();
    let node = parser.value()?;
    parser.skip_ws();
    if parser.pos < parser.bytes.len() {
        return Err(parser.error("extra data after the end of the JSON document"));
    }
    Ok(node)
}

struct Parser<'t> {
    bytes: &'t [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> JsonError {
        JsonError {
            offset: self.pos.min(self.bytes.len()),
            message: message.into(),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn literal(&mut self, word: &str, kind: ValueKind) -> Result<Node, JsonError> {
        let start = self.pos;
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(Node {
                span: start..self.pos,
                kind,
            })
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn value(&mut self) -> Result<Node, JsonError> {
        match self.peek() {
            None => Err(self.error("unexpected end of the file (truncated JSON?)")),
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => self.string(),
            Some(b't') => self.literal("true", ValueKind::Bool(true)),
            Some(b'f') => self.literal("false", ValueKind::Bool(false)),
            Some(b'n') => self.literal("null", ValueKind::Null),
            Some(b'N') => self.literal("NaN", ValueKind::Number),
            Some(b'I') => self.literal("Infinity", ValueKind::Number),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a JSON value")),
        }
    }

    fn nested(
        &mut self,
        parse: fn(&mut Self) -> Result<Node, JsonError>,
    ) -> Result<Node, JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("JSON nested more than {MAX_DEPTH} levels deep")));
        }
        let node = parse(self);
        self.depth -= 1;
        node
    }

    fn object(&mut self) -> Result<Node, JsonError> {
        let start = self.pos;
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Node {
                span: start..self.pos,
                kind: ValueKind::Object(members),
            });
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key in an object"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:` after an object key"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            members.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node {
                        span: start..self.pos,
                        kind: ValueKind::Object(members),
                    });
                }
                None => return Err(self.error("unexpected end of the file (truncated JSON?)")),
                Some(_) => return Err(self.error("expected `,` or `}` in an object")),
            }
        }
    }

    fn array(&mut self) -> Result<Node, JsonError> {
        let start = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Node {
                span: start..self.pos,
                kind: ValueKind::Array(items),
            });
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node {
                        span: start..self.pos,
                        kind: ValueKind::Array(items),
                    });
                }
                None => return Err(self.error("unexpected end of the file (truncated JSON?)")),
                Some(_) => return Err(self.error("expected `,` or `]` in an array")),
            }
        }
    }

    fn string(&mut self) -> Result<Node, JsonError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            let rest = &self.bytes[self.pos..];
            let Some(at) = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            else {
                self.pos = self.bytes.len();
                return Err(self.error("unterminated string (truncated JSON?)"));
            };
            self.pos += at;
            match self.bytes[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(Node {
                        span: start..self.pos,
                        kind: ValueKind::Str,
                    });
                }
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1
                        }
                        Some(b'u') => {
                            let hex = self.bytes.get(self.pos + 1..self.pos + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(self.error("invalid `\\u` escape in a string"));
                            }
                            self.pos += 5;
                        }
                        _ => return Err(self.error("invalid escape in a string")),
                    }
                }
                _ => return Err(self.error("control character in a string")),
            }
        }
    }

    fn number(&mut self) -> Result<Node, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
            if self.bytes[self.pos..].starts_with(b"Infinity") {
                self.pos += "Infinity".len();
                return Ok(Node {
                    span: start..self.pos,
                    kind: ValueKind::Number,
                });
            }
        }
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos - from
        };
        if self.peek() == Some(b'0') {
            // No leading zeros: `01` is two tokens, as Python's `json` reads it.
            self.pos += 1;
        } else if digits(self) == 0 {
            return Err(self.error("invalid number"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
        }
        Ok(Node {
            span: start..self.pos,
            kind: ValueKind::Number,
        })
    }
}

/// Decode a string node (`None` if it is not a string). Lone surrogates become U+FFFD.
pub fn decode(text: &str, node: &Node) -> Option<String> {
    if !matches!(node.kind, ValueKind::Str) {
        return None;
    }
    let raw = text.get(node.inner())?;
    if !raw.contains('\\') {
        return Some(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((at, escape)) = chars.next() else {
            break;
        };
        match escape {
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let unit = hex4(raw, at + 1);
                for _ in 0..4 {
                    chars.next();
                }
                let decoded = if (0xD800..0xDC00).contains(&unit)
                    && raw.get(at + 5..at + 7) == Some("\\u")
                    && (0xDC00..0xE000).contains(&hex4(raw, at + 7))
                {
                    let low = hex4(raw, at + 7);
                    for _ in 0..6 {
                        chars.next();
                    }
                    char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                } else {
                    char::from_u32(unit)
                };
                out.push(decoded.unwrap_or('\u{fffd}'));
            }
            other => out.push(other),
        }
    }
    Some(out)
}

fn hex4(raw: &str, at: usize) -> u32 {
    raw.get(at..at + 4)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or(0xFFFD)
}

/// The byte offset in the raw string body `raw` (between the quotes) at which the decoded text
/// reaches `decoded` bytes (clamped to the end).
pub fn raw_offset(raw: &str, decoded: usize) -> usize {
    let mut produced = 0;
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() && produced < decoded {
        if bytes[i] != b'\\' {
            let len = utf8_len(bytes[i]);
            produced += len;
            i += len;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'u') => {
                let unit = hex4(raw, i + 2);
                if (0xD800..0xDC00).contains(&unit)
                    && raw.get(i + 6..i + 8) == Some("\\u")
                    && (0xDC00..0xE000).contains(&hex4(raw, i + 8))
                {
                    produced += 4;
                    i += 12;
                } else {
                    produced += char::from_u32(unit).map_or(3, char::len_utf8);
                    i += 6;
                }
            }
            _ => {
                produced += 1;
                i += 2;
            }
        }
    }
    i.min(bytes.len())
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// How a document escapes strings, so that rewritten strings look like their neighbours:
/// Python's `json.dump` writes non-ASCII characters as they are (`ensure_ascii=False`, what
/// Jupyter uses) or as `\uXXXX` escapes (`ensure_ascii=True`, the default of `json.dump`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escaping {
    pub ascii_only: bool,
    pub upper_hex: bool,
}

impl Escaping {
    /// Guess the style from the document: raw non-ASCII bytes mean `ensure_ascii=False`;
    /// `\u` escapes of non-ASCII characters (and no raw ones) mean `ensure_ascii=True`.
    pub fn detect(text: &str) -> Escaping {
        let raw_non_ascii = text.bytes().any(|b| b >= 0x80);
        let mut escaped_non_ascii = false;
        let mut upper_hex = false;
        let mut seen_hex_letter = false;
        let bytes = text.as_bytes();
        let mut i = 0;
        while let Some(at) = memchr::memchr(b'\\', &bytes[i..]) {
            let p = i + at;
            match bytes.get(p + 1) {
                Some(b'u') => {
                    if let Some(hex) = text.get(p + 2..p + 6) {
                        if u32::from_str_radix(hex, 16).is_ok_and(|v| v >= 0x80) {
                            escaped_non_ascii = true;
                        }
                        if !seen_hex_letter
                            && let Some(c) = hex.chars().find(char::is_ascii_alphabetic)
                        {
                            seen_hex_letter = true;
                            upper_hex = c.is_ascii_uppercase();
                        }
                    }
                    i = p + 2;
                }
                Some(_) => i = p + 2,
                None => break,
            }
        }
        Escaping {
            ascii_only: escaped_non_ascii && !raw_non_ascii,
            upper_hex,
        }
    }

    /// A JSON string literal (with quotes) for `value`, escaped as Python's `json.dumps`.
    pub fn encode(self, value: &str) -> String {
        let mut out = String::with_capacity(value.len() + 2);
        out.push('"');
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => self.unit(&mut out, c as u32),
                c if self.ascii_only && !c.is_ascii() => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        self.unit(&mut out, u32::from(*unit));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    fn unit(self, out: &mut String, unit: u32) {
        if self.upper_hex {
            out.push_str(&format!("\\u{unit:04X}"));
        } else {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> String {
        decode(text, &parse(text).unwrap()).unwrap()
    }

    #[test]
    fn parses_values_with_spans() {
        let text = r#" {"a": [1, -2.5e3, true, null, "x"], "b": {"c": NaN}} "#;
        let root = parse(text).unwrap();
        assert_eq!(&text[root.span.clone()], &text[1..text.len() - 1]);
        let a = root.get(text, "a").unwrap().as_array().unwrap();
        assert_eq!(a.len(), 5);
        assert_eq!(&text[a[1].span.clone()], "-2.5e3");
        assert_eq!(&text[a[4].span.clone()], "\"x\"");
        assert!(root.get(text, "b").unwrap().get(text, "c").is_some());
        assert!(root.get(text, "z").is_none());
    }

    #[test]
    fn decodes_escapes_and_surrogates() {
        assert_eq!(s(r#""a\n\t\"\\\/b""#), "a\n\t\"\\/b");
        assert_eq!(s(r#""\u00e9\ud83d\ude00""#), "é😀");
        assert_eq!(s(r#""\ud83d x""#), "\u{fffd} x");
        assert_eq!(s("\"é\""), "é");
    }

    #[test]
    fn reports_errors_with_offsets() {
        for (text, offset) in [
            ("{\"a\": 1,}", 8),
            ("[1 2]", 3),
            ("{\"a\" 1}", 5),
            ("\"abc", 4),
            ("[1, 2", 5),
            ("{} x", 3),
            ("\"a\nb\"", 2),
            ("[01x]", 2),
            ("", 0),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.offset, offset, "{text:?}: {err:?}");
        }
    }

    #[test]
    fn refuses_deep_nesting_without_overflow() {
        let text = "[".repeat(100_000);
        assert!(parse(&text).unwrap_err().message.contains("nested"));
    }

    #[test]
    fn raw_offsets_follow_escapes() {
        let raw = r#"a\"\u00e9b\ud83d\ude00c"#;
        assert_eq!(raw_offset(raw, 0), 0);
        assert_eq!(raw_offset(raw, 1), 1);
        assert_eq!(raw_offset(raw, 2), 3);
        assert_eq!(raw_offset(raw, 4), 9);
        assert_eq!(raw_offset(raw, 5), 10);
        assert_eq!(raw_offset(raw, 9), 22);
        assert_eq!(raw_offset(raw, 100), raw.len());
    }

    #[test]
    fn encodes_like_python() {
        let plain = Escaping {
            ascii_only: false,
            upper_hex: false,
        };
        assert_eq!(plain.encode("a\"b\\c\n\u{1}é"), r#""a\"b\\c\n\u0001é""#);
        let ascii = Escaping {
            ascii_only: true,
            upper_hex: false,
        };
        assert_eq!(ascii.encode("é😀"), r#""\u00e9\ud83d\ude00""#);
        assert_eq!(
            Escaping::detect(r#"["\u00E9"]"#),
            Escaping {
                ascii_only: true,
                upper_hex: true
            }
        );
        assert!(!Escaping::detect("[\"é\", \"\\u00e9\"]").ascii_only);
    }
}
