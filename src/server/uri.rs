//! `file://` URIs ↔ paths. lsp-types 0.97's `Uri` has no `to_file_path`/`from_file_path`, and
//! clients spell the same path differently (VS Code writes `file:///c%3A/x`, Neovim
//! `file:///C:/x`), so the conversion percent-decodes every byte and never trusts the input.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::Uri;

/// The local path of a `file:` URI; `None` for other schemes, remote hosts or bad escapes.
pub fn to_path(uri: &Uri) -> Option<PathBuf> {
    let text = uri.as_str();
    let scheme_end = text.find(':')?;
    if !text[..scheme_end].eq_ignore_ascii_case("file") {
        return None;
    }
    let rest = &text[scheme_end + 1..];
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let path = match rest.strip_prefix("//") {
        Some(after) => {
            let slash = after.find('/').unwrap_or(after.len());
            let host = &after[..slash];
            if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
                return None;
            }
            &after[slash..]
        }
        None => rest,
    };
    let bytes = percent_decode(path)?;
    bytes_to_path(bytes)
}

#[cfg(unix)]
fn bytes_to_path(bytes: Vec<u8>) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    if bytes.first() != Some(&b'/') {
        return None;
    }
    Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

#[cfg(not(unix))]
fn bytes_to_path(bytes: Vec<u8>) -> Option<PathBuf> {
    let text = String::from_utf8(bytes).ok()?;
    // `/C:/dir` → `C:/dir`.
    let trimmed = match text.as_bytes() {
        [b'/', drive, b':', ..] if drive.is_ascii_alphabetic() => &text[1..],
        _ => &text[..],
    };
    Some(PathBuf::from(trimmed.replace('/', "\\")))
}

fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The `file://` URI of an absolute path, percent-encoding everything but unreserved
/// characters and `/`.
pub fn from_path(path: &Path) -> Option<Uri> {
    let mut encoded = String::from("file://");
    let raw = path_bytes(path)?;
    if raw.first() != Some(&b'/') {
        encoded.push('/');
    }
    for &byte in &raw {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                encoded.push(byte as char)
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    Uri::from_str(&encoded).ok()
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    Some(path.as_os_str().as_bytes().to_vec())
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Option<Vec<u8>> {
    Some(path.to_str()?.replace('\\', "/").into_bytes())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn uri(text: &str) -> Uri {
        Uri::from_str(text).unwrap()
    }

    #[test]
    fn decodes_file_uris() {
        assert_eq!(
            to_path(&uri("file:///home/me/my%20project/caf%C3%A9.py")),
            Some(PathBuf::from("/home/me/my project/café.py"))
        );
        assert_eq!(
            to_path(&uri("file://localhost/tmp/a.py")),
            Some(PathBuf::from("/tmp/a.py"))
        );
        assert_eq!(
            to_path(&uri("FILE:///tmp/a.py")),
            Some(PathBuf::from("/tmp/a.py"))
        );
        assert_eq!(to_path(&uri("untitled:Untitled-1")), None);
        assert_eq!(to_path(&uri("file://server/share/a.py")), None);
    }

    #[test]
    fn round_trips_paths() {
        for path in ["/tmp/a b/ü#1%.py", "/x/[y]/z?.py", "/plain/path.py"] {
            let uri = from_path(Path::new(path)).unwrap();
            assert_eq!(to_path(&uri), Some(PathBuf::from(path)), "{}", uri.as_str());
        }
        assert_eq!(
            from_path(Path::new("/tmp/a b.py")).unwrap().as_str(),
            "file:///tmp/a%20b.py"
        );
    }
}
