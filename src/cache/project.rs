//! The project-level cache: the findings of the cross-file rules for one exact set of linted
//! files, so that a run in which nothing changed replays them instead of rebuilding the
//! project index, the roles and every refactoring (most of a warm run otherwise).
//!
//! A project result depends on more than the linted files' contents, and all of it is
//! recorded with the entry and checked again before the entry is used:
//! - the key of every linted file (content, settings, rules, path, package: see
//!   [`super::Cache::key`]) — hashed together into the entry's key;
//! - the context files read for their facts (imported, not linted), with their keys;
//! - the module-resolution probes that found (or did not find) those context files;
//! - every path whose existence a rule asked about (`is there a losses.py?`) and every file
//!   outside the project a refactoring read (an existing `loss.py` it appends to).
//!
//! After an edit, no result has the new key, but the newest one of the same project files (the
//! same paths, in the same order, so file ids mean the same files) is the *base* of an
//! incremental run: each file's findings are stored with what its project rules read
//! (`semantic::reads`: the files whose facts, text or roles they read, and the questions they
//! put to project-wide tables with a fingerprint of each answer). A file's findings are
//! replayed when neither the file nor any file it read has a new fingerprint (its key, and a
//! fingerprint of its roles, which other files decide too) and every question has the same
//! answer; the project rules of the other files run again. The full analysis (facts, index,
//! roles) still runs, but what each file's imports resolve to and the training model's
//! resolved calls are taken from the base for the files whose resolution read nothing that
//! changed. The base's file-system observations are
//! checked, and carried into the new result.
//!
//! Stored beside the per-file cache as `<hash of the root>.project.bin`: the last few
//! results (a pre-commit run on three files and a CI run on the whole tree do not evict each
//! other), written atomically with a trailing checksum; anything unreadable is ignored.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ruff_text_size::TextRange;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use super::{Cache, write_atomically};
use crate::diagnostic::{Applicability, Diagnostic, Edit, FileEdits, Fix, Label, Suggestion};
use crate::rules::find_rule;
use crate::semantic::calls::ScopeCallee;
use crate::semantic::index::{FileId, ResolvedImports, ReusedCallees, ReusedImports, Symbol};
use crate::semantic::reads::{Query, Reads};

/// Format version of the project cache file.
const MAGIC: &[u8; 8] = b"DLLINTP\x06";
/// How many project results are kept per project root.
const KEPT: usize = 4;

/// What a full run learnt, to be stored with its project findings.
#[derive(Default)]
pub struct Observed<'a> {
    /// Context files (absolute) and their keys.
    pub context: Vec<(PathBuf, u128)>,
    /// Module probes: import root, dotted module, the file found.
    pub probes: Vec<(PathBuf, String, Option<PathBuf>)>,
    /// Paths checked for existence, and the answer.
    pub exists: Vec<(PathBuf, bool)>,
    /// Outside files read, and their fingerprint (see `ProjectIndex::read_outside`).
    pub outside: Vec<(PathBuf, u64)>,
    /// Every file of the project index in its order, with its fingerprint (see
    /// [`Entry::fingerprints`]); empty when a file has no key (then no later run builds on
    /// this result).
    pub files: Vec<(PathBuf, Fingerprint)>,
    /// The training model's callee table, if this run built it: each file's resolved calls
    /// with what resolving them read, stored for a later run to reuse.
    pub callees: Option<&'a crate::semantic::calls::CalleeTable>,
    /// Per file of the index, what its module-level imports resolved to and what resolving
    /// them read, if this run resolved them (see `ProjectIndex::resolved_imports_so_far`).
    pub imports: Vec<Option<ResolvedImports<'a>>>,
}

/// What a later run compares to know whether a file changed for its readers: the file's key
/// (content, settings, path, package) and a fingerprint of its roles and of whether it is
/// linted (the roles of a file depend on other files too).
pub type Fingerprint = (u128, u64);

/// A result the project rules of one file can be replayed from after other files changed.
pub struct Base {
    files: Vec<Fingerprint>,
    /// Per file of the index (in its order), the calls the earlier run resolved, with what
    /// resolving them read; empty if it stored none.
    callees: Vec<StoredCallees>,
    /// Per file of the index (in its order), what the earlier run resolved its module-level
    /// imports to, with what resolving them read; empty if it stored none.
    imports: Vec<Option<StoredImports>>,
    /// Per linted file (absolute path): its project findings and the files they read.
    by_file: rustc_hash::FxHashMap<PathBuf, (Vec<Diagnostic>, Reads)>,
    /// What the earlier run learnt from the file system (still true: checked on lookup).
    exists: Vec<(PathBuf, bool)>,
    outside: Vec<(PathBuf, u64)>,
}

impl Base {
    /// The files of the index whose fingerprint differs from the stored one (`current`: in
    /// index order, `None` for a file without a key).
    pub fn changed(&self, current: &[Option<Fingerprint>]) -> Vec<bool> {
        current
            .iter()
            .zip(&self.files)
            .map(|(now, then)| now.as_ref() != Some(then))
            .collect()
    }

    /// The resolved calls of every file whose calls the earlier run resolved reading only
    /// files with the same key now (`keys`: each file's key in index order) and asking
    /// questions that get the same answer (`answer`: its fingerprint now; never a question
    /// about call sites, which the resolved calls answer): for
    /// `ProjectIndex::reuse_callees`. Taken: a second call returns none.
    pub fn take_callees(
        &mut self,
        keys: &[Option<u128>],
        answer: impl Fn(&Query) -> u64,
    ) -> Vec<Option<ReusedCallees>> {
        let same = SameKeys::new(keys, &self.files);
        std::mem::take(&mut self.callees)
            .into_iter()
            .enumerate()
            .map(|(f, (scopes, stored))| {
                same.still_valid(f, &stored, |q, then| {
                    !matches!(q, Query::CallSites(..) | Query::Forwarded(..)) && answer(q) == then
                })
                .then(|| (scopes, restore_reads(stored)))
            })
            .collect()
    }

    /// What the earlier run resolved the module-level imports of every file to, where it read
    /// only files with the same key now (`keys`: each file's key in index order) and asked no
    /// question: for `ProjectIndex::reuse_resolved_imports`. Taken: a second call returns
    /// none.
    pub fn take_resolved_imports(&mut self, keys: &[Option<u128>]) -> Vec<Option<ReusedImports>> {
        let same = SameKeys::new(keys, &self.files);
        std::mem::take(&mut self.imports)
            .into_iter()
            .enumerate()
            .map(|(f, stored)| {
                let (resolved, stored) = stored?;
                same.still_valid(f, &stored, |_, _| false)
                    .then(|| (resolved, restore_reads(stored)))
            })
            .collect()
    }

    /// The stored findings of linted file `absolute` (and what they read), if neither the
    /// file nor any file they read changed (`changed`: from [`Base::changed`]) and every
    /// question they put to the project's tables has the same answer (`answer`: its
    /// fingerprint now).
    pub fn reusable(
        &self,
        file: FileId,
        absolute: &Path,
        changed: &[bool],
        answer: impl Fn(&Query) -> u64,
    ) -> Option<(Vec<Diagnostic>, Reads)> {
        let unchanged = |f: FileId| !changed.get(f as usize).copied().unwrap_or(true);
        if !unchanged(file) {
            return None;
        }
        let (found, reads) = self.by_file.get(absolute)?;
        let fresh = if reads.all {
            !changed.iter().any(|&c| c)
        } else {
            reads.files.iter().all(|&f| unchanged(f))
                && reads.queries.iter().all(|(q, a)| answer(q) == *a)
        };
        fresh.then(|| (found.clone(), reads.clone()))
    }

    /// Merge what the earlier run learnt from the file system into `exists` and `outside`:
    /// the findings replayed from it were made with it.
    pub fn carry_observations(
        &self,
        exists: &mut Vec<(PathBuf, bool)>,
        outside: &mut Vec<(PathBuf, u64)>,
    ) {
        exists.extend(self.exists.iter().cloned());
        exists.sort();
        exists.dedup_by(|a, b| a.0 == b.0);
        outside.extend(self.outside.iter().cloned());
        outside.sort();
        outside.dedup_by(|a, b| a.0 == b.0);
    }
}

/// One stored project result.
#[derive(Serialize, Deserialize)]
pub struct Entry {
    key: u128,
    context: Vec<(String, u128)>,
    probes: Vec<(String, String, Option<String>)>,
    exists: Vec<(String, bool)>,
    outside: Vec<(String, u64)>,
    /// Whether the findings carry their refactorings.
    refactorings: bool,
    /// Every file of the project index, in order: absolute path and fingerprint.
    files: Vec<(String, Fingerprint)>,
    /// Per linted file (absolute path), its project-rule findings and the files of the index
    /// (by position in `files`) they read, or all of them.
    diagnostics: Vec<(String, Vec<StoredDiagnostic>, StoredReads)>,
    /// Per file of `files`, its resolved calls and what resolving them read (empty if the
    /// run built no callee table).
    callees: Vec<StoredCallees>,
    /// Per file of `files`, what its module-level imports resolved to and what resolving them
    /// read, if the run resolved them (empty if the run stored none).
    imports: Vec<Option<StoredImports>>,
}

/// Which files of the index kept the key an earlier run stored for them.
struct SameKeys {
    unchanged: Vec<bool>,
    /// Every file did (and the index has the same number of files).
    all: bool,
}

impl SameKeys {
    fn new(keys: &[Option<u128>], files: &[Fingerprint]) -> SameKeys {
        let unchanged: Vec<bool> = keys
            .iter()
            .zip(files)
            .map(|(now, then)| *now == Some(then.0))
            .collect();
        let all = unchanged.len() == files.len() && unchanged.iter().all(|&u| u);
        SameKeys { unchanged, all }
    }

    fn same(&self, f: usize) -> bool {
        self.unchanged.get(f).copied().unwrap_or(false)
    }

    /// True if a value computed for file `f` that read `stored` is still valid: the file and
    /// every file read kept their keys, and `accept` accepts every question asked (with the
    /// fingerprint of its answer then).
    fn still_valid(
        &self,
        f: usize,
        (all, files, queries): &StoredReads,
        accept: impl Fn(&Query, u64) -> bool,
    ) -> bool {
        self.same(f)
            && if *all {
                self.all
            } else {
                files.iter().all(|&g| self.same(g as usize))
            }
            && queries.iter().all(|(q, then)| accept(q, *then))
    }
}

/// A file's resolved calls per scope, and what resolving them read.
type StoredCallees = (Vec<Vec<ScopeCallee>>, StoredReads);

/// What a file's module-level imports resolved to, and what resolving them read.
type StoredImports = (Vec<Option<Symbol>>, StoredReads);

/// Every file (`true`), or these.
type StoredReads = (bool, Vec<u32>, Vec<(Query, u64)>);

fn store_reads(reads: &Reads) -> StoredReads {
    (reads.all, reads.files.to_vec(), reads.queries.to_vec())
}

fn restore_reads((all, files, queries): StoredReads) -> Reads {
    Reads {
        all,
        files: files.into(),
        queries: queries.into(),
    }
}

impl Entry {
    /// Context files to re-check: absolute path and recorded key.
    pub fn context(&self) -> impl Iterator<Item = (&Path, u128)> {
        self.context
            .iter()
            .map(|(p, k)| (Path::new(p.as_str()), *k))
    }

    /// Module probes to re-run: root, module, recorded answer.
    pub fn probes(&self) -> impl Iterator<Item = (&Path, &str, Option<&Path>)> {
        self.probes.iter().map(|(root, module, found)| {
            (
                Path::new(root.as_str()),
                module.as_str(),
                found.as_deref().map(Path::new),
            )
        })
    }

    /// True if every existence check and outside read still gives the recorded answer.
    pub fn file_system_unchanged(&self) -> bool {
        self.exists
            .iter()
            .all(|(path, exists)| Path::new(path).exists() == *exists)
            && self.outside.iter().all(|(path, fingerprint)| {
                crate::semantic::index::outside_unchanged(Path::new(path), *fingerprint)
            })
    }

    /// The project findings of every linted file, by absolute path; `None` if a rule is
    /// unknown to this build.
    pub fn into_diagnostics(self) -> Option<Vec<(PathBuf, Vec<Diagnostic>)>> {
        self.diagnostics
            .into_iter()
            .map(|(path, stored, _)| {
                let diagnostics = stored
                    .into_iter()
                    .map(StoredDiagnostic::restore)
                    .collect::<Option<Vec<_>>>()?;
                Some((PathBuf::from(path), diagnostics))
            })
            .collect()
    }
}

/// The key of a project result: the build, whether the findings carry their refactorings,
/// and every linted file with its key, in path order.
pub fn key(cache: &Cache, mut linted: Vec<(&Path, u128)>, refactorings: bool) -> u128 {
    linted.sort();
    let mut hasher = Xxh3::new();
    hasher.update(&cache.build().to_le_bytes());
    hasher.update(&[u8::from(refactorings)]);
    hasher.update(&(linted.len() as u64).to_le_bytes());
    for (path, key) in linted {
        let path = path.as_os_str().as_encoded_bytes();
        hasher.update(&(path.len() as u64).to_le_bytes());
        hasher.update(path);
        hasher.update(&key.to_le_bytes());
    }
    hasher.digest128()
}

fn file_of(cache: &Cache) -> PathBuf {
    cache.file_named("project.bin")
}

/// Every stored result of this project root (newest first); empty if the file is missing or
/// unreadable.
fn read_all(cache: &Cache) -> Vec<Entry> {
    let Ok(bytes) = std::fs::read(file_of(cache)) else {
        return Vec::new();
    };
    let Some(body_len) = bytes.len().checked_sub(8) else {
        return Vec::new();
    };
    let (body, checksum) = bytes.split_at(body_len);
    if !body.starts_with(MAGIC) || xxh3_64(body).to_le_bytes() != checksum {
        return Vec::new();
    }
    let Some(rest) = body.get(MAGIC.len()..) else {
        return Vec::new();
    };
    postcard::from_bytes::<(u64, Vec<Entry>)>(rest)
        .ok()
        .filter(|(build, _)| *build == cache.build())
        .map(|(_, entries)| entries)
        .unwrap_or_default()
}

/// Take the first stored result (newest first) that `pred` accepts, reading the file on
/// first use. Taken: a run that uses a result and then stores one stores its own instead.
fn take(cache: &Cache, pred: impl Fn(&Entry) -> bool) -> Option<Entry> {
    let mut entries = cache.project.lock().ok()?;
    let entries = entries.get_or_insert_with(|| read_all(cache));
    let at = entries.iter().position(pred)?;
    Some(entries.remove(at))
}

/// The stored result with `key`, if any.
pub fn lookup(cache: &Cache, key: u128) -> Option<Entry> {
    take(cache, |e| e.key == key)
}

/// The newest stored result of a run on exactly these project files (`files`: the index's
/// absolute paths, in its order), made with refactorings as asked, whose observations of
/// the file system still hold: the base of an incremental run.
pub fn base(cache: &Cache, files: &[&Path], refactorings: bool) -> Option<Base> {
    let entry = take(cache, |e| {
        e.refactorings == refactorings
            && e.files.len() == files.len()
            && e.files
                .iter()
                .zip(files)
                .all(|((stored, _), path)| Path::new(stored) == *path)
    })?;
    if !entry.file_system_unchanged() {
        return None;
    }
    let by_file = entry
        .diagnostics
        .into_iter()
        .map(|(path, stored, reads)| {
            let found = stored
                .into_iter()
                .map(StoredDiagnostic::restore)
                .collect::<Option<Vec<_>>>()?;
            Some((PathBuf::from(path), (found, restore_reads(reads))))
        })
        .collect::<Option<_>>()?;
    let callees = if entry.callees.len() == entry.files.len() {
        entry.callees
    } else {
        Vec::new()
    };
    let imports = if entry.imports.len() == entry.files.len() {
        entry.imports
    } else {
        Vec::new()
    };
    Some(Base {
        files: entry.files.into_iter().map(|(_, f)| f).collect(),
        callees,
        imports,
        by_file,
        exists: entry
            .exists
            .into_iter()
            .map(|(p, e)| (PathBuf::from(p), e))
            .collect(),
        outside: entry
            .outside
            .into_iter()
            .map(|(p, f)| (PathBuf::from(p), f))
            .collect(),
    })
}

/// Store a full run's project findings (`by_file`: absolute path of each linted file and its
/// project-rule findings). Not stored if a path is not UTF-8 (the file stores text).
pub fn store(
    cache: &Cache,
    key: u128,
    refactorings: bool,
    observed: Observed,
    by_file: Vec<(&Path, &[Diagnostic], &Reads)>,
) -> std::io::Result<()> {
    let text = |p: &Path| p.to_str().map(str::to_string);
    let entry = (|| {
        Some(Entry {
            key,
            context: observed
                .context
                .iter()
                .map(|(p, k)| Some((text(p)?, *k)))
                .collect::<Option<_>>()?,
            probes: observed
                .probes
                .iter()
                .map(|(root, module, found)| {
                    let found = match found {
                        Some(f) => Some(text(f)?),
                        None => None,
                    };
                    Some((text(root)?, module.clone(), found))
                })
                .collect::<Option<_>>()?,
            exists: observed
                .exists
                .iter()
                .map(|(p, e)| Some((text(p)?, *e)))
                .collect::<Option<_>>()?,
            outside: observed
                .outside
                .iter()
                .map(|(p, f)| Some((text(p)?, *f)))
                .collect::<Option<_>>()?,
            refactorings,
            files: observed
                .files
                .iter()
                .map(|(p, f)| Some((text(p)?, *f)))
                .collect::<Option<_>>()?,
            callees: match observed.callees {
                Some(table) if !observed.files.is_empty() => (0..observed.files.len() as FileId)
                    .map(|f| {
                        let (scopes, reads) = table.of_file(f);
                        (scopes, store_reads(reads))
                    })
                    .collect(),
                _ => Vec::new(),
            },
            imports: if observed.files.is_empty() {
                Vec::new()
            } else {
                observed
                    .imports
                    .iter()
                    .map(|resolved| {
                        resolved.map(|(resolved, reads)| (resolved.to_vec(), store_reads(reads)))
                    })
                    .collect()
            },
            diagnostics: by_file
                .iter()
                .map(|(path, found, reads)| {
                    let stored = found
                        .iter()
                        .map(StoredDiagnostic::of)
                        .collect::<Option<Vec<_>>>()?;
                    Some((text(path)?, stored, store_reads(reads)))
                })
                .collect::<Option<_>>()?,
        })
    })();
    let Some(entry) = entry else {
        return Ok(());
    };
    let mut entries = match cache.project.lock().ok().and_then(|mut e| e.take()) {
        Some(entries) => entries,
        None => read_all(cache),
    };
    entries.retain(|e| e.key != key);
    entries.insert(0, entry);
    entries.truncate(KEPT);
    let Ok(encoded) = postcard::to_stdvec(&(cache.build(), &entries)) else {
        return Ok(());
    };
    let mut out = Vec::with_capacity(encoded.len() + 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&encoded);
    let checksum = xxh3_64(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    write_atomically(cache.dir(), &file_of(cache), &out)
}

/// A finding with everything a project rule can attach: labels in other files, a fix with
/// edits in other files, a generated refactoring.
#[derive(Serialize, Deserialize)]
struct StoredDiagnostic {
    code: String,
    message: String,
    range: TextRange,
    labels: Vec<(TextRange, String, Option<String>)>,
    help: Option<String>,
    fix: Option<StoredFix>,
    suggestion: Option<(String, String, String, Option<String>)>,
    refactoring_withheld: bool,
    refactoring_declined: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredFix {
    title: String,
    safe: bool,
    edits: Vec<(TextRange, String)>,
    other_files: Vec<StoredFileEdits>,
}

/// Edits in another file: its path, whether it is created, the edits.
type StoredFileEdits = (String, bool, Vec<(TextRange, String)>);

fn edits_of(edits: &[Edit]) -> Vec<(TextRange, String)> {
    edits.iter().map(|e| (e.range, e.content.clone())).collect()
}

fn restore_edits(edits: Vec<(TextRange, String)>) -> Vec<Edit> {
    edits
        .into_iter()
        .map(|(range, content)| Edit { range, content })
        .collect()
}

impl StoredDiagnostic {
    fn of(d: &Diagnostic) -> Option<StoredDiagnostic> {
        let labels = d
            .labels
            .iter()
            .map(|l| {
                let file = match &l.file {
                    Some(f) => Some(f.to_str()?.to_string()),
                    None => None,
                };
                Some((l.range, l.message.clone(), file))
            })
            .collect::<Option<Vec<_>>>()?;
        let fix = match &d.fix {
            Some(fix) => Some(StoredFix {
                title: fix.title.clone(),
                safe: fix.applicability == Applicability::Safe,
                edits: edits_of(&fix.edits),
                other_files: fix
                    .other_files
                    .iter()
                    .map(|f| Some((f.path.to_str()?.to_string(), f.create, edits_of(&f.edits))))
                    .collect::<Option<Vec<_>>>()?,
            }),
            None => None,
        };
        Some(StoredDiagnostic {
            code: d.code.to_string(),
            message: d.message.clone(),
            range: d.range,
            labels,
            help: d.help.clone(),
            fix,
            suggestion: d.suggestion.as_ref().map(|s| {
                (
                    s.title.clone(),
                    s.target_file.clone(),
                    s.code.clone(),
                    s.call.clone(),
                )
            }),
            refactoring_withheld: d.refactoring_withheld,
            refactoring_declined: d.refactoring_declined.clone(),
        })
    }

    fn restore(self) -> Option<Diagnostic> {
        let rule = find_rule(&self.code).filter(|r| r.code == self.code)?;
        Some(Diagnostic {
            code: rule.code,
            // The configured severity is applied when the report is assembled.
            severity: rule.severity,
            message: self.message,
            range: self.range,
            labels: self
                .labels
                .into_iter()
                .map(|(range, message, file)| Label {
                    range,
                    message,
                    file: file.map(|f| Arc::from(Path::new(&f))),
                })
                .collect(),
            help: self.help,
            fix: self.fix.map(|fix| Fix {
                title: fix.title,
                applicability: if fix.safe {
                    Applicability::Safe
                } else {
                    Applicability::Unsafe
                },
                edits: restore_edits(fix.edits),
                other_files: fix
                    .other_files
                    .into_iter()
                    .map(|(path, create, edits)| FileEdits {
                        path: PathBuf::from(path),
                        create,
                        edits: restore_edits(edits),
                    })
                    .collect(),
            }),
            suggestion: self.suggestion.map(|(title, target_file, code, call)| {
                Box::new(Suggestion {
                    title,
                    target_file,
                    code,
                    call,
                })
            }),
            refactoring_withheld: self.refactoring_withheld,
            refactoring_declined: self.refactoring_declined,
        })
    }
}
