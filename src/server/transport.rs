//! JSON-RPC over stdio with `Content-Length` framing.
//!
//! lsp-server's own stdio reader stops at the first malformed message, which would take the
//! server down with it; this reader reports a bad frame or bad JSON to the main loop (which
//! answers with a JSON-RPC error) and resynchronises on the next `Content-Length` header.

use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc::Sender;

use lsp_server::Message;
use serde_json::Value;

/// What the reader hands to the main loop.
#[derive(Debug)]
pub enum Incoming {
    Message(Message),
    /// A frame that is not a JSON-RPC message; `id` is the request id when one could be read.
    Malformed {
        id: Option<Value>,
        error: String,
    },
    /// The client closed its end.
    Closed,
}

/// Read frames until end of input, forwarding each to `sink`. Never fails on bad input.
pub fn read_loop(mut input: impl BufRead, sink: Sender<Incoming>) {
    loop {
        let incoming = match read_frame(&mut input) {
            Ok(Some(Frame::Body(body))) => parse(&body),
            Ok(Some(Frame::TooLarge(length))) => Incoming::Malformed {
                id: None,
                error: format!(
                    "message of {length} bytes is larger than {} MiB; skipped",
                    MAX_MESSAGE_BYTES >> 20
                ),
            },
            Ok(None) | Err(_) => {
                let _ = sink.send(Incoming::Closed);
                return;
            }
        };
        let is_exit =
            matches!(&incoming, Incoming::Message(Message::Notification(n)) if n.method == "exit");
        if sink.send(incoming).is_err() || is_exit {
            return;
        }
    }
}

/// The largest message body read: twice the largest source file (a document travels as a
/// JSON string, where quotes, backslashes and newlines take two bytes). A larger body is read
/// and dropped, and reported as malformed, so a runaway client cannot exhaust memory.
pub const MAX_MESSAGE_BYTES: u64 = 2 * crate::source::MAX_SOURCE_BYTES;
/// The longest header line kept; the rest of a longer line is read and dropped.
const MAX_HEADER_LINE: u64 = 8 << 10;

/// What [`read_frame`] found.
enum Frame {
    Body(Vec<u8>),
    /// A body over [`MAX_MESSAGE_BYTES`], skipped.
    TooLarge(u64),
}

/// One header line into `line` (at most [`MAX_HEADER_LINE`] bytes kept, the rest of a longer
/// line skipped); 0 at end of input.
fn read_header_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<usize> {
    let read = input
        .by_ref()
        .take(MAX_HEADER_LINE)
        .read_until(b'\n', line)?;
    if read as u64 == MAX_HEADER_LINE && !line.ends_with(b"\n") {
        let mut rest = Vec::new();
        while input
            .by_ref()
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut rest)?
            > 0
        {
            if rest.ends_with(b"\n") {
                break;
            }
            rest.clear();
        }
    }
    Ok(read)
}

/// The body of the next frame, or `Ok(None)` at end of input. A header block without a valid
/// `Content-Length` yields an empty body (reported as malformed) rather than an error.
fn read_frame(input: &mut impl BufRead) -> io::Result<Option<Frame>> {
    let mut length: Option<u64> = None;
    let mut saw_header = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        if read_header_line(input, &mut line)? == 0 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        let trimmed = text.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            if saw_header {
                break;
            }
            continue; // stray blank lines between frames
        }
        saw_header = true;
        // Found anywhere in the line: after a truncated body the next header follows the junk.
        let lower = trimmed.to_ascii_lowercase();
        if let Some(at) = lower.find("content-length:") {
            length = trimmed[at + "content-length:".len()..].trim().parse().ok();
        }
    }
    let Some(length) = length else {
        return Ok(Some(Frame::Body(Vec::new())));
    };
    if length > MAX_MESSAGE_BYTES {
        let skipped = io::copy(&mut input.take(length), &mut io::sink())?;
        if skipped < length {
            return Ok(None);
        }
        return Ok(Some(Frame::TooLarge(length)));
    }
    let mut body = Vec::new();
    input.take(length).read_to_end(&mut body)?;
    if (body.len() as u64) < length {
        return Ok(None);
    }
    Ok(Some(Frame::Body(body)))
}

fn parse(body: &[u8]) -> Incoming {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => {
            return Incoming::Malformed {
                id: None,
                error: format!("invalid JSON: {error}"),
            };
        }
    };
    let id = value.get("id").cloned();
    // Classify by shape first: lsp-server's untagged `Message` would read any object with an
    // `id` and no valid `method` as a response and drop it silently.
    let has = |key: &str| value.get(key).is_some();
    let parsed = if has("method") {
        if id.as_ref().is_some_and(|id| !id.is_null()) {
            serde_json::from_value(value).map(Message::Request)
        } else {
            serde_json::from_value(value).map(Message::Notification)
        }
    } else if id.is_some() && (has("result") || has("error")) {
        serde_json::from_value(value).map(Message::Response)
    } else {
        return Incoming::Malformed {
            id,
            error: "not a JSON-RPC message: no `method`, `result` or `error`".to_string(),
        };
    };
    match parsed {
        Ok(message) => Incoming::Message(message),
        Err(error) => Incoming::Malformed {
            id,
            error: format!("not a JSON-RPC message: {error}"),
        },
    }
}

/// The server's output channel (stdout, or a buffer in tests).
pub struct Output {
    out: Box<dyn Write + Send>,
}

impl Output {
    pub fn new(out: impl Write + Send + 'static) -> Self {
        Output { out: Box::new(out) }
    }

    pub fn send(&mut self, message: impl Into<Message>) -> io::Result<()> {
        message.into().write(&mut self.out)
    }

    /// A JSON-RPC error response whose id may be `null` (lsp-server's `RequestId` cannot be).
    pub fn send_error(&mut self, id: Option<Value>, code: i32, message: &str) -> io::Result<()> {
        let body = serde_json::json!({
            "jsonrpc": "2.0",
            "id": id.unwrap_or(Value::Null),
            "error": { "code": code, "message": message },
        })
        .to_string();
        write!(self.out, "Content-Length: {}\r\n\r\n{body}", body.len())?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    fn read_all(input: &str) -> Vec<Incoming> {
        let (tx, rx) = std::sync::mpsc::channel();
        read_loop(io::Cursor::new(input.as_bytes().to_vec()), tx);
        rx.into_iter().collect()
    }

    #[test]
    fn survives_malformed_frames() {
        let ok = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = [
            frame("{not json"),
            frame(r#"{"jsonrpc":"2.0","id":7,"params":1}"#),
            "Garbage-Header\r\n\r\n".to_string(),
            frame(ok),
            "Content-Length: 99\r\n\r\n{}".to_string(),
        ]
        .concat();
        let got = read_all(&input);
        assert!(matches!(&got[0], Incoming::Malformed { id: None, .. }));
        assert!(matches!(&got[1], Incoming::Malformed { id: Some(id), .. } if id == 7));
        assert!(matches!(&got[2], Incoming::Malformed { id: None, .. }));
        assert!(
            matches!(&got[3], Incoming::Message(Message::Notification(n)) if n.method == "initialized")
        );
        assert!(matches!(&got[4], Incoming::Closed));
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn an_endless_header_line_is_not_kept() {
        let ok = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        let input = format!("{}\r\n\r\n{}", "x".repeat(1 << 20), frame(ok));
        let mut cursor = io::Cursor::new(input.into_bytes());
        let mut line = Vec::new();
        assert_eq!(
            read_header_line(&mut cursor, &mut line).unwrap() as u64,
            MAX_HEADER_LINE
        );
        assert_eq!(line.len() as u64, MAX_HEADER_LINE);
        let got = read_all(&String::from_utf8(cursor.into_inner()).unwrap());
        assert!(got.iter().any(
            |m| matches!(m, Incoming::Message(Message::Notification(n)) if n.method == "exit")
        ));
    }

    #[test]
    fn resynchronises_after_junk_between_frames() {
        let ok = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        // Bytes beyond the announced length run into the next header; the reader finds it.
        let input = format!("Content-Length: 2\r\n\r\n{{}}}}}}{}", frame(ok));
        let got = read_all(&input);
        assert!(got.iter().any(
            |m| matches!(m, Incoming::Message(Message::Notification(n)) if n.method == "exit")
        ));
    }
}
