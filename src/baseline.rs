//! Baselines: adopt dllint on an existing code base without fixing everything first.
//!
//! `dllint check --write-baseline FILE` records every current finding; `dllint check --baseline
//! FILE` then reports only findings that are not recorded, and counts the recorded ones that
//! are gone (fixed). A finding is recorded by its file (relative to the baseline file's
//! directory, so that the baseline works from any working directory), its rule code and the fingerprint of the line
//! where it starts (see [`crate::fingerprint`]: the line's normalised text, not its number),
//! plus an occurrence index for identical lines. So adding or removing lines elsewhere keeps a
//! recorded finding suppressed; editing the offending line makes it new again.
//!
//! The file is JSON, sorted and pretty-printed, so that it diffs well in review:
//!
//! ```json
//! {
//!   "version": 1,
//!   "findings": [
//!     {"path": "train.py", "code": "DL305", "fingerprint": "…", "occurrence": 0, "message": "…"}
//!   ]
//! }
//! ```

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::Report;
use crate::fingerprint::identities;
use crate::output::{absolute, relative, slashes};

/// The format version written in the file; a different version is refused.
pub const VERSION: u32 = 1;

/// The file as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    pub version: u32,
    pub findings: Vec<Entry>,
}

/// One recorded finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// `/`-separated, relative to the baseline file's directory (`..` allowed).
    pub path: String,
    pub code: String,
    pub fingerprint: String,
    /// Index among findings of the same rule on identical lines of the file (0 for the first).
    #[serde(default)]
    pub occurrence: usize,
    /// The message when recorded: for people reading the file; not used for matching.
    #[serde(default)]
    pub message: String,
}

impl Entry {
    fn key(&self) -> (&str, &str, &str, usize) {
        (&self.path, &self.code, &self.fingerprint, self.occurrence)
    }
}

/// A loaded baseline, with the directory its paths are relative to.
#[derive(Debug)]
pub struct Baseline {
    keys: Keys,
    entries: Vec<Entry>,
}

/// What applying a baseline did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Findings of this run that the baseline recorded (no longer reported).
    pub suppressed: usize,
    /// Baseline entries of files checked in this run that no longer occur: fixed.
    pub fixed: usize,
}

/// How a report's files are named in a baseline file.
#[derive(Debug, Clone)]
struct Keys {
    base: PathBuf,
    cwd: PathBuf,
}

impl Keys {
    fn new(file: &Path, cwd: &Path) -> Self {
        let file = absolute(file, cwd);
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        Keys {
            base,
            cwd: cwd.to_path_buf(),
        }
    }

    fn key(&self, path: &Path) -> String {
        let file = absolute(path, &self.cwd);
        relative(&file, &self.base)
            .or_else(|| relative_with_parents(&file, &self.base))
            .or_else(|| relative(&file, &self.cwd))
            .unwrap_or_else(|| slashes(&file))
    }
}

/// `path` relative to `base` through `..` when it is not inside it (`../src/train.py` for a
/// baseline kept in `ci/`); `None` when they share no root (another drive).
fn relative_with_parents(path: &Path, base: &Path) -> Option<String> {
    let path: Vec<_> = path.components().collect();
    let base: Vec<_> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<String> = vec!["..".to_string(); base.len() - common];
    parts.extend(
        path[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Some(parts.join("/"))
}

/// The entries recording every finding of `report`, sorted.
fn entries(report: &Report, keys: &Keys) -> Vec<Entry> {
    let mut entries = Vec::new();
    for file in &report.files {
        let path = keys.key(&file.path);
        let text = file.source();
        let ids = identities(&path, file, text.as_deref());
        for (d, identity) in file.diagnostics.iter().zip(ids) {
            entries.push(Entry {
                path: path.clone(),
                code: d.code.to_string(),
                fingerprint: identity.fingerprint,
                occurrence: identity.occurrence,
                message: d.message.clone(),
            });
        }
    }
    entries.sort();
    entries.dedup_by(|a, b| a.key() == b.key());
    entries
}

/// Write the baseline of `report` to `file`; returns the number of entries written.
pub fn write(file: &Path, cwd: &Path, report: &Report) -> Result<usize, String> {
    let keys = Keys::new(file, cwd);
    let baseline = BaselineFile {
        version: VERSION,
        findings: entries(report, &keys),
    };
    let mut text = serde_json::to_string_pretty(&baseline)
        .map_err(|e| format!("cannot serialise the baseline: {e}"))?;
    text.push('\n');
    let path = cwd.join(file);
    refuse_to_overwrite_other_files(&path, file)?;
    // Through a temporary file and a rename: an interrupted write leaves the old baseline.
    let temp = path.with_file_name(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("baseline"),
        std::process::id()
    ));
    std::fs::write(&temp, text)
        .and_then(|()| std::fs::rename(&temp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            format!("cannot write the baseline {}: {e}", file.display())
        })?;
    Ok(baseline.findings.len())
}

/// `--write-baseline` replaces only a baseline (or an empty file): a mistyped path
/// (`--write-baseline train.py`) must not destroy the user's file.
fn refuse_to_overwrite_other_files(path: &Path, file: &Path) -> Result<(), String> {
    let Ok(metadata) = std::fs::metadata(path) else {
        return Ok(()); // a new file
    };
    if !metadata.is_file() {
        return Err(format!(
            "cannot write the baseline {}: not a regular file",
            file.display()
        ));
    }
    let bytes = crate::source::read_capped(
        std::fs::File::open(path)
            .map_err(|e| format!("cannot write the baseline {}: {e}", file.display()))?,
    )
    .ok()
    .flatten()
    .unwrap_or_default();
    let is_baseline = bytes.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<serde_json::Value>(&bytes)
            .is_ok_and(|v| v.get("version").is_some() && v.get("findings").is_some());
    if is_baseline {
        Ok(())
    } else {
        Err(format!(
            "refusing to overwrite {}: it is not a dllint baseline (remove it first if it should \
             be replaced)",
            file.display()
        ))
    }
}

impl Baseline {
    /// Read and validate `file` (relative paths are taken from `cwd`).
    pub fn load(file: &Path, cwd: &Path) -> Result<Self, String> {
        // Reading a FIFO would wait for a writer forever.
        if std::fs::metadata(cwd.join(file)).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            return Err(format!(
                "cannot read the baseline {}: not a regular file",
                file.display()
            ));
        }
        let text = std::fs::read_to_string(cwd.join(file))
            .map_err(|e| format!("cannot read the baseline {}: {e}", file.display()))?;
        let parsed: BaselineFile = serde_json::from_str(&text).map_err(|e| {
            format!(
                "invalid baseline {}: {e} (write one with `dllint check --write-baseline {}`)",
                file.display(),
                file.display()
            )
        })?;
        if parsed.version != VERSION {
            return Err(format!(
                "baseline {} has version {}, this dllint reads version {VERSION}; write it again \
                 with `--write-baseline`",
                file.display(),
                parsed.version
            ));
        }
        Ok(Baseline {
            keys: Keys::new(file, cwd),
            entries: parsed.findings,
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Remove the recorded findings from `report` and count the recorded ones that are gone.
    /// Only entries of files checked in this run can count as fixed: linting one file does
    /// not make the other files' entries look fixed.
    pub fn apply(&self, report: &mut Report) -> Outcome {
        let recorded: HashSet<(&str, &str, &str, usize)> =
            self.entries.iter().map(Entry::key).collect();
        let mut matched: HashSet<(String, String, String, usize)> = HashSet::new();
        let mut outcome = Outcome::default();
        for file in &mut report.files {
            let path = self.keys.key(&file.path);
            let ids = identities(&path, file, file.source().as_deref());
            let mut keep = Vec::with_capacity(file.diagnostics.len());
            for (d, id) in std::mem::take(&mut file.diagnostics).into_iter().zip(ids) {
                let key = (
                    path.as_str(),
                    d.code,
                    id.fingerprint.as_str(),
                    id.occurrence,
                );
                if recorded.contains(&key) {
                    outcome.suppressed += 1;
                    matched.insert((
                        path.clone(),
                        d.code.to_string(),
                        id.fingerprint.clone(),
                        id.occurrence,
                    ));
                } else {
                    keep.push(d);
                }
            }
            file.diagnostics = keep;
        }
        report.files.retain(|f| !f.diagnostics.is_empty());
        let checked: BTreeSet<String> = report.checked.iter().map(|p| self.keys.key(p)).collect();
        let mut seen = HashSet::new();
        for entry in &self.entries {
            if !checked.contains(&entry.path) || !seen.insert(entry.key()) {
                continue;
            }
            let key = (
                entry.path.clone(),
                entry.code.clone(),
                entry.fingerprint.clone(),
                entry.occurrence,
            );
            if !matched.contains(&key) {
                outcome.fixed += 1;
            }
        }
        outcome
    }
}
