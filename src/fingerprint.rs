//! Stable identities of findings that survive unrelated edits: a hash of the file's path, the
//! rule code and the text of the line where the finding starts (whitespace-normalised), not of
//! the line number. Lines added above a finding do not change it; editing the offending line
//! does. Several findings of one rule on identical lines of one file are told apart by an
//! occurrence index (0, 1, … in source order).
//!
//! Used by the GitLab Code Quality output (`fingerprint`), the SARIF output
//! (`partialFingerprints`) and baselines (`--baseline`). The hash is FNV-1a 128, implemented
//! here so that it never changes with a dependency's version.

use crate::diagnostic::FileReport;
use crate::source::SourceText;

const FNV128_OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const FNV128_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

/// FNV-1a, 128 bits.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a128(u128);

impl Default for Fnv1a128 {
    fn default() -> Self {
        Fnv1a128(FNV128_OFFSET)
    }
}

impl Fnv1a128 {
    pub fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u128::from(byte);
            self.0 = self.0.wrapping_mul(FNV128_PRIME);
        }
    }

    /// Write a field followed by a separator byte that cannot occur in source text (dllint
    /// refuses files with NUL bytes), so that `("ab", "c")` and `("a", "bc")` differ.
    pub fn field(&mut self, text: &str) {
        self.write(text.as_bytes());
        self.write(&[0]);
    }

    pub fn finish(&self) -> u128 {
        self.0
    }

    /// 32 lowercase hexadecimal digits.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

/// The line's text with leading and trailing whitespace removed and every run of inner
/// whitespace collapsed to one space: re-indenting a block does not change its fingerprints.
pub fn normalize_line(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The fingerprint of a finding of rule `code` in the file `path` (as the consumer names it,
/// `/`-separated) whose first line reads `line`.
pub fn fingerprint(path: &str, code: &str, line: &str) -> String {
    let mut hash = Fnv1a128::default();
    hash.field("dllint-fingerprint-v1");
    hash.field(path);
    hash.field(code);
    hash.field(&normalize_line(line));
    hash.hex()
}

/// A fingerprint made unique within a file: the occurrence index is folded in when it is not
/// the first occurrence, so the first one equals [`fingerprint`].
pub fn unique_fingerprint(fingerprint: &str, occurrence: usize) -> String {
    if occurrence == 0 {
        return fingerprint.to_string();
    }
    let mut hash = Fnv1a128::default();
    hash.field(fingerprint);
    hash.field(&occurrence.to_string());
    hash.hex()
}

/// The text of the line holding `offset` (empty when the text is unavailable).
pub fn line_at(source: Option<&SourceText>, offset: ruff_text_size::TextSize) -> &str {
    match source {
        Some(source) => {
            let range = source.line_range(source.line_of(offset));
            source
                .text()
                .get(range.start().to_usize()..range.end().to_usize())
                .unwrap_or("")
        }
        None => "",
    }
}

/// A finding's identity: its fingerprint and its occurrence index among the findings of the
/// same rule on identical lines of the same file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity {
    pub fingerprint: String,
    pub occurrence: usize,
}

/// The identity of every diagnostic of `file`, in the file's (sorted) order, with the file
/// named `path` (`/`-separated, relative to whatever the consumer is relative to). `source`:
/// the file's text ([`FileReport::source`]), which the caller reads once for everything it
/// renders of the file.
pub fn identities(path: &str, file: &FileReport, source: Option<&SourceText>) -> Vec<Identity> {
    let mut seen: Vec<(&str, String, usize)> = Vec::new();
    file.diagnostics
        .iter()
        .map(|d| {
            let fingerprint = fingerprint(path, d.code, line_at(source, d.range.start()));
            let occurrence = match seen
                .iter_mut()
                .find(|(code, fp, _)| *code == d.code && *fp == fingerprint)
            {
                Some((_, _, count)) => {
                    *count += 1;
                    *count - 1
                }
                None => {
                    seen.push((d.code, fingerprint.clone(), 1));
                    0
                }
            };
            Identity {
                fingerprint,
                occurrence,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_128_matches_the_reference_vectors() {
        // Published FNV-1a 128-bit test vectors.
        let hash = |s: &str| {
            let mut h = Fnv1a128::default();
            h.write(s.as_bytes());
            h.hex()
        };
        assert_eq!(hash(""), "6c62272e07bb014262b821756295c58d");
        assert_eq!(hash("a"), "d228cb696f1a8caf78912b704e4a8964");
    }

    #[test]
    fn fingerprints_ignore_indentation_but_not_content() {
        let a = fingerprint("a.py", "DL305", "    print(x.shape)\n");
        let b = fingerprint("a.py", "DL305", "print(x.shape)");
        let c = fingerprint("a.py", "DL305", "print(  x.shape)");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, fingerprint("b.py", "DL305", "print(x.shape)"));
        assert_ne!(a, fingerprint("a.py", "DL301", "print(x.shape)"));
        assert_eq!(a.len(), 32);
        assert_eq!(unique_fingerprint(&a, 0), a);
        assert_ne!(unique_fingerprint(&a, 1), a);
    }
}
