//! The lint cache: per file, the result of the read → parse → walk phase (the file's facts and
//! the findings of its file rules), so that a warm run parses only the files that changed.
//!
//! An entry is found by the file's absolute path and is valid only if its key matches: a hash
//! of the dllint build, the settings that change a file's analysis, the rules enabled for the
//! file, the path, its package, and the file's **content** (modification times are not
//! trusted). Project rules run again on the facts of all files, so a finding that depends on
//! another file (a base class, a loss) follows any change to that file — unless nothing at
//! all changed, which [`project`] detects and then replays their findings.
//!
//! Storage, as ruff's: `<project root>/.dllint_cache/<version>/`, files named by the hash of
//! the project root; `DLLINT_CACHE_DIR` moves the directory (into a `.dllint_cache` of its own
//! if it names an existing directory that dllint did not create: [`resolve_dir`]). A root's
//! entries are spread over [`SHARDS`] files by the hash of the file's path
//! (`<hash of the root>.<shard>.bin`, only the non-empty ones), so that a run after an edit
//! rewrites the shard of the edited file, not the results of the whole project. The shards are
//! read once at the start (entries are decoded only when used); a shard that a run changed is
//! replaced at the end by writing a temporary file and renaming it over the old one: readers
//! always see a complete file, concurrent runs cannot corrupt it (the last one wins). A shard
//! that is truncated or corrupt (checked by a trailing hash) is ignored and rewritten; no cache
//! problem is ever fatal.

use std::hash::Hash;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use ruff_text_size::TextRange;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use crate::config::Settings;
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Label};
use crate::rules::{RuleSet, find_rule};
use crate::semantic::facts::FileFacts;
use crate::semantic::facts::{Name, name_table};

pub mod project;

/// Name of the cache directory in the project root.
pub const CACHE_DIR_NAME: &str = ".dllint_cache";
/// Environment variable naming another cache directory.
pub const CACHE_DIR_ENV: &str = "DLLINT_CACHE_DIR";

/// File format: magic (with the format version), build id, entry count, entries, checksum.
const MAGIC: &[u8; 8] = b"DLLINTC\x06";

/// How many files a project root's entries are spread over.
pub const SHARDS: usize = 64;

/// The shard that holds the entry of `path`.
fn shard_of(path: &Path) -> usize {
    (xxh3_64(path.as_os_str().as_encoded_bytes()) % SHARDS as u64) as usize
}

/// The cache of one run.
pub struct Cache {
    /// The cache directory (`.dllint_cache`).
    dir: PathBuf,
    /// The files of this project root, without their extension: `<version>/<hash of root>`.
    stem: PathBuf,
    build: u64,
    /// Each shard as read; entries point into them.
    buffers: Vec<Vec<u8>>,
    entries: FxHashMap<PathBuf, StoredEntry>,
    /// Entries computed in this run: (absolute path, key, encoded result).
    fresh: Mutex<Vec<(PathBuf, u128, Vec<u8>)>>,
    /// The shards that must be rewritten even if nothing in them is fresh (unreadable, or an
    /// entry in them did not decode), one bit per shard.
    dirty: AtomicU64,
    hits: AtomicUsize,
    misses: AtomicUsize,
    /// The project results, read on first use (see [`project`]): a run looks up an exact
    /// result, then a base, then stores, from one read of the file.
    project: Mutex<Option<Vec<project::Entry>>>,
}

/// Where a stored entry is: its key, its shard and its bytes there, and whether this run
/// looked it up (a file it looked up is known to exist).
struct StoredEntry {
    key: u128,
    shard: u8,
    range: Range<usize>,
    seen: AtomicBool,
}

/// What the cache returns for a file.
pub struct Hit {
    pub facts: Option<FileFacts>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Where the cache of a run lives: `DLLINT_CACHE_DIR` if set (relative to `cwd`), else
/// `.dllint_cache` in the project root.
pub fn cache_dir(project_root: &Path, cwd: &Path) -> PathBuf {
    match std::env::var_os(CACHE_DIR_ENV) {
        Some(dir) if !dir.is_empty() => cwd.join(dir),
        _ => project_root.join(CACHE_DIR_NAME),
    }
}

/// The project root for the cache, as ruff chooses it: the directory of `--config FILE`, else
/// (unless `--isolated`) of the configuration file governing the working directory, else the
/// working directory.
pub fn project_root(cwd: &Path, config: Option<&Path>, isolated: bool) -> PathBuf {
    if let Some(config) = config {
        let absolute = cwd.join(config);
        return absolute
            .parent()
            .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);
    }
    if isolated {
        return cwd.to_path_buf();
    }
    // A broken configuration is reported by the resolver; here it only has no root.
    crate::config::find_config_file(cwd)
        .ok()
        .flatten()
        .and_then(|file| file.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| cwd.to_path_buf())
}

/// What the analysis of a file that a cache entry holds was for: the file is linted (else only
/// read for its facts), and its facts were built (a run with no cross-file rule builds none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Analysis {
    pub linted: bool,
    pub facts: crate::registry::Needs,
}

impl Cache {
    /// Open the cache of `project_root` in `dir` (or in a `.dllint_cache` of its own inside
    /// `dir` if that is an existing directory that dllint did not create: see
    /// [`resolve_dir`]). Never fails: a missing or unreadable cache is an empty one.
    pub fn open(dir: PathBuf, project_root: &Path) -> Cache {
        let dir = resolve_dir(dir);
        let root = project_root.to_string_lossy();
        let stem = dir
            .join(env!("CARGO_PKG_VERSION"))
            .join(format!("{:016x}", xxh3_64(root.as_bytes())));
        let build = build_id();
        let mut entries = FxHashMap::default();
        let mut dirty = 0u64;
        let mut buffers = Vec::with_capacity(SHARDS);
        for shard in 0..SHARDS {
            let buffer = std::fs::read(shard_file(&stem, shard)).unwrap_or_default();
            if !buffer.is_empty() && !parse(&buffer, build, shard, &mut entries) {
                // Unreadable (truncated, corrupt, another build): start afresh and replace it.
                entries.retain(|_, e: &mut StoredEntry| usize::from(e.shard) != shard);
                dirty |= 1 << shard;
            }
            buffers.push(buffer);
        }
        Cache {
            dir,
            stem,
            build,
            buffers,
            entries,
            fresh: Mutex::default(),
            dirty: AtomicU64::new(dirty),
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
            project: Mutex::new(None),
        }
    }

    /// The file of this project root named `suffix` (`project.bin`), beside its shards.
    pub fn file_named(&self, suffix: &str) -> PathBuf {
        self.stem.with_extension(suffix)
    }

    /// The files of this project root's shards that exist.
    pub fn shard_files(&self) -> Vec<PathBuf> {
        (0..SHARDS)
            .map(|shard| shard_file(&self.stem, shard))
            .filter(|file| file.is_file())
            .collect()
    }

    /// Number of entries read from disk.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The key of one file's analysis.
    pub fn key(
        &self,
        settings: &Settings,
        rules: RuleSet,
        path: &Path,
        package: Option<&str>,
        analysis: Analysis,
        text: &str,
    ) -> u128 {
        let Analysis { linted, facts } = analysis;
        let mut hasher = Xxh3::new();
        hasher.update(&self.build.to_le_bytes());
        hasher.update(&settings.cache_key.to_le_bytes());
        rules.hash(&mut hasher);
        path.hash(&mut hasher);
        package.hash(&mut hasher);
        linted.hash(&mut hasher);
        // A run with no cross-file rule builds no facts: its entries must not serve one that
        // needs them.
        facts.hash(&mut hasher);
        hasher.update(&(text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
        hasher.digest128()
    }

    /// Files found in the cache and files analysed in this run so far (`DLLINT_TIMING=1`
    /// prints them).
    pub fn stats(&self) -> (usize, usize) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// The cached result for `absolute` if its key matches.
    pub fn get(&self, absolute: &Path, key: u128) -> Option<Hit> {
        let hit = self.lookup(absolute, key);
        let counter = if hit.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        hit
    }

    /// [`Cache::get`] accepting either key: a project context file is found whether a run
    /// on the whole project (`whole`) or a partial run (`context`) analysed it last.
    pub fn get_either(&self, absolute: &Path, context: u128, whole: u128) -> Option<Hit> {
        let stored = self.entries.get(absolute).map(|e| e.key);
        let key = if stored == Some(whole) {
            whole
        } else {
            context
        };
        self.get(absolute, key)
    }

    /// The entry of `absolute`, if stored with `key`; marks it seen either way.
    fn entry(&self, absolute: &Path, key: u128) -> Option<(&StoredEntry, &[u8])> {
        let entry = self.entries.get(absolute)?;
        entry.seen.store(true, Ordering::Relaxed);
        if entry.key != key {
            return None;
        }
        let bytes = self.buffers[usize::from(entry.shard)].get(entry.range.clone())?;
        Some((entry, bytes))
    }

    fn lookup(&self, absolute: &Path, key: u128) -> Option<Hit> {
        let (entry, bytes) = self.entry(absolute, key)?;
        let decoded = decode_entry(bytes);
        if decoded.is_none() {
            self.dirty.fetch_or(1 << entry.shard, Ordering::Relaxed);
        }
        decoded
    }

    /// The file-rule findings of `absolute` if its key matches, without decoding its facts
    /// (for a run whose project result is replayed; not counted, see [`Cache::record_hits`]).
    pub fn get_diagnostics(&self, absolute: &Path, key: u128) -> Option<Vec<Diagnostic>> {
        let (_, bytes) = self.entry(absolute, key)?;
        let (_names, bytes) = postcard::take_from_bytes::<Vec<&str>>(bytes).ok()?;
        let (stored, _) = postcard::take_from_bytes::<StoredDiagnostics>(bytes).ok()?;
        restore(stored.diagnostics)
    }

    /// Count `n` files served from the cache by a replayed run.
    pub fn record_hits(&self, n: usize) {
        self.hits.fetch_add(n, Ordering::Relaxed);
    }

    /// The identity of the dllint build the cache belongs to.
    pub fn build(&self) -> u64 {
        self.build
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Record the result of analysing `absolute` (written by [`Cache::save`]).
    pub fn put(
        &self,
        absolute: &Path,
        key: u128,
        facts: Option<&FileFacts>,
        diagnostics: &[Diagnostic],
    ) {
        // Paths that are not UTF-8 are not cached (the file stores paths as text).
        let labels_utf8 = diagnostics
            .iter()
            .flat_map(|d| &d.labels)
            .all(|l| l.file.as_deref().is_none_or(|f| f.to_str().is_some()));
        // Refactorings (a suggestion, edits in other files) belong to cross-file rules, which
        // are never cached; a file-local finding carrying one is not cached either.
        let local_only = diagnostics.iter().all(|d| {
            d.suggestion.is_none() && d.fix.as_ref().is_none_or(|f| f.other_files.is_empty())
        });
        if absolute.to_str().is_none() || !labels_utf8 || !local_only {
            return;
        }
        let stored = StoredRef {
            facts,
            diagnostics: diagnostics.iter().map(DiagnosticRef::from).collect(),
        };
        let Some(bytes) = encode_entry(&stored) else {
            return;
        };
        self.fresh
            .lock()
            .expect("cache lock")
            .push((absolute.to_path_buf(), key, bytes));
    }

    /// Write back the shards this run changed. Entries of files that no longer exist are
    /// dropped when anything is written (only the files this run did not look up are checked);
    /// entries of files this run did not look at are kept.
    pub fn save(self) -> io::Result<()> {
        let fresh = self.fresh.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut write = self.dirty.load(Ordering::Relaxed);
        for (path, _, _) in &fresh {
            write |= 1 << shard_of(path);
        }
        if write == 0 {
            return Ok(());
        }
        let replaced: rustc_hash::FxHashSet<&Path> = fresh.iter().map(|f| f.0.as_path()).collect();
        let mut shards: Vec<std::collections::BTreeMap<&Path, (u128, &[u8])>> = (0..SHARDS)
            .map(|_| std::collections::BTreeMap::new())
            .collect();
        for (path, entry) in &self.entries {
            let shard = usize::from(entry.shard);
            if replaced.contains(path.as_path()) {
                continue;
            }
            if !entry.seen.load(Ordering::Relaxed) && !path.is_file() {
                write |= 1 << shard;
                continue;
            }
            shards[shard].insert(path, (entry.key, &self.buffers[shard][entry.range.clone()]));
        }
        for (path, key, bytes) in &fresh {
            shards[shard_of(path)].insert(path, (*key, bytes));
        }
        // The single file of earlier builds of this version, replaced by the shards.
        let _ = std::fs::remove_file(self.stem.with_extension("bin"));
        let mut result = Ok(());
        for (shard, all) in shards.iter().enumerate() {
            if write & (1 << shard) == 0 {
                continue;
            }
            let file = shard_file(&self.stem, shard);
            let written = if all.is_empty() {
                match std::fs::remove_file(&file) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                }
            } else {
                write_atomically(&self.dir, &file, &encode(self.build, all))
            };
            if result.is_ok() {
                result = written;
            }
        }
        result
    }
}

/// The file of shard `shard` of the project root whose files are `stem`.
fn shard_file(stem: &Path, shard: usize) -> PathBuf {
    stem.with_extension(format!("{shard:02x}.bin"))
}

/// A shard's bytes: magic, build, entry count, the entries (path, key, encoded result) and a
/// trailing checksum.
fn encode(build: u64, entries: &std::collections::BTreeMap<&Path, (u128, &[u8])>) -> Vec<u8> {
    let size: usize = entries
        .iter()
        .map(|(p, (_, b))| p.as_os_str().len() + b.len() + 32)
        .sum();
    let mut out = Vec::with_capacity(size + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&build.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (path, (key, bytes)) in entries {
        let path = path.to_str().unwrap_or_default().as_bytes();
        out.extend_from_slice(&(path.len() as u64).to_le_bytes());
        out.extend_from_slice(path);
        out.extend_from_slice(&key.to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    let checksum = xxh3_64(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    out
}

/// The identity of this dllint binary: its version and, so that a rebuilt binary (a
/// development build, an upgrade that kept the version) does not trust old results, the size
/// and modification time of the executable.
fn build_id() -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    if let Ok(exe) = std::env::current_exe()
        && let Ok(metadata) = std::fs::metadata(exe)
    {
        hasher.update(&metadata.len().to_le_bytes());
        if let Ok(modified) = metadata.modified()
            && let Ok(since) = modified.duration_since(std::time::UNIX_EPOCH)
        {
            hasher.update(&since.as_nanos().to_le_bytes());
        }
    }
    hasher.digest()
}

/// Add the entries of shard `shard` (as read: `buffer`) to `entries`; false if it is not a
/// complete shard of this build (some entries may have been added: the caller drops them).
fn parse(
    buffer: &[u8],
    build: u64,
    shard: usize,
    entries: &mut FxHashMap<PathBuf, StoredEntry>,
) -> bool {
    parse_entries(buffer, build, |path, key, range| {
        // An entry filed under another shard (a file renamed by hand) is not trusted.
        if shard_of(Path::new(path)) != shard {
            return false;
        }
        entries.insert(
            PathBuf::from(path),
            StoredEntry {
                key,
                shard: shard as u8,
                range,
                seen: AtomicBool::new(false),
            },
        );
        true
    })
    .is_some()
}

fn parse_entries(
    buffer: &[u8],
    build: u64,
    mut entry: impl FnMut(&str, u128, Range<usize>) -> bool,
) -> Option<()> {
    let body_len = buffer.len().checked_sub(8)?;
    let (body, checksum) = buffer.split_at(body_len);
    if !body.starts_with(MAGIC) || xxh3_64(body).to_le_bytes() != checksum {
        return None;
    }
    let mut reader = Reader {
        bytes: body,
        pos: MAGIC.len(),
    };
    if reader.u64()? != build {
        return None;
    }
    let count = reader.u64()?;
    for _ in 0..count {
        let path_len = usize::try_from(reader.u64()?).ok()?;
        let path = std::str::from_utf8(reader.take(path_len)?).ok()?;
        let key = u128::from_le_bytes(reader.take(16)?.try_into().ok()?);
        let blob_len = usize::try_from(reader.u64()?).ok()?;
        let start = reader.pos;
        reader.take(blob_len)?;
        if !entry(path, key, start..start + blob_len) {
            return None;
        }
    }
    (reader.pos == body.len()).then_some(())
}

struct Reader<'b> {
    bytes: &'b [u8],
    pos: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, len: usize) -> Option<&'b [u8]> {
        let end = self.pos.checked_add(len)?;
        let slice = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// The cache directory tag (<https://bford.info/cachedir/>) dllint writes into a directory it
/// created for the cache.
const TAG_NAME: &str = "CACHEDIR.TAG";
const TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag \
                   created by dllint.\n# For information about cache directory tags see \
                   https://bford.info/cachedir/\n";
/// The `.gitignore` dllint writes into a directory it created for the cache.
const IGNORE_NAME: &str = ".gitignore";
const IGNORE: &str = "# Automatically created by dllint.\n*\n";

/// Where the cache really goes when the user names `dir`: `dir` itself if it does not exist
/// yet (dllint creates it, and only then tags it) or is a cache directory dllint created (its
/// tag, and nothing but dllint's own entries); otherwise — an existing directory holding
/// anything else, such as the project root — a `.dllint_cache` of its own inside it. A
/// directory that is not dllint's is never tagged, filled with a `.gitignore`, or removed.
pub fn resolve_dir(dir: PathBuf) -> PathBuf {
    if std::fs::symlink_metadata(&dir).is_err() || is_cache_dir(&dir) {
        dir
    } else {
        dir.join(CACHE_DIR_NAME)
    }
}

/// True if `dir` is a cache directory dllint created: it holds dllint's tag and nothing but
/// entries dllint writes.
fn is_cache_dir(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut tagged = false;
    for entry in entries {
        let Ok(entry) = entry else {
            return false;
        };
        match classify(&entry.path()) {
            Some(Entry::Tag) => tagged = true,
            Some(Entry::Ignore | Entry::Version) => {}
            None => return false,
        }
    }
    tagged
}

/// What dllint writes into its cache directory.
enum Entry {
    Tag,
    Ignore,
    /// A directory of one dllint version's cache files.
    Version,
}

/// Which of dllint's own entries `path` is, if it is one: the tag and the `.gitignore` with
/// the exact text dllint writes, or a version directory holding only cache files.
fn classify(path: &Path) -> Option<Entry> {
    let name = path.file_name()?.to_str()?;
    let metadata = std::fs::symlink_metadata(path).ok()?;
    let is_ours = |text: &str| {
        metadata.is_file()
            && metadata.len() == text.len() as u64
            && std::fs::read(path).is_ok_and(|b| b == text.as_bytes())
    };
    match name {
        TAG_NAME if is_ours(TAG) => Some(Entry::Tag),
        IGNORE_NAME if is_ours(IGNORE) => Some(Entry::Ignore),
        _ if metadata.is_dir() && is_version_name(name) => {
            let entries = std::fs::read_dir(path).ok()?;
            for entry in entries {
                let entry = entry.ok()?;
                let is_file = entry.file_type().ok()?.is_file();
                if !is_file || !is_cache_file_name(entry.file_name().to_str()?) {
                    return None;
                }
            }
            Some(Entry::Version)
        }
        _ => None,
    }
}

/// A dllint version (`0.1.0`, `1.2.0-rc.1`): the name of a version directory.
fn is_version_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_digit())
        && name.contains('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
}

/// The files dllint writes into a version directory: `<16 hex digits>.<2 hex digits>.bin`
/// (a shard), `<16 hex digits>.project.bin`, `<16 hex digits>.bin` (the unsharded file of
/// earlier builds), and their temporaries (`.<name>.<pid>-<nanos>.tmp`).
fn is_cache_file_name(name: &str) -> bool {
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let stored = |name: &str| {
        if let Some(stem) = name.strip_suffix(".project.bin") {
            return hex(stem, 16);
        }
        let Some(stem) = name.strip_suffix(".bin") else {
            return false;
        };
        match stem.split_once('.') {
            Some((root, shard)) => hex(root, 16) && hex(shard, 2),
            None => hex(stem, 16),
        }
    };
    if let Some(temp) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp"))
        && let Some((file, suffix)) = temp.rsplit_once('.')
    {
        return stored(file)
            && suffix
                .split_once('-')
                .is_some_and(|(pid, nanos)| is_digits(pid) && is_digits(nanos));
    }
    stored(name)
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Create the cache directory if needed. Only a directory created here is tagged (for backup
/// tools and git, as ruff does): an existing one that is not dllint's was avoided by
/// [`resolve_dir`].
fn create_cache_dir(dir: &Path) -> io::Result<()> {
    if let Some(parent) = dir.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {
            let _ = std::fs::write(dir.join(TAG_NAME), TAG);
            let _ = std::fs::write(dir.join(IGNORE_NAME), IGNORE);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Write `file` through a temporary file in the same directory and a rename, so that no
/// reader ever sees a partial file.
fn write_atomically(dir: &Path, file: &Path, bytes: &[u8]) -> io::Result<()> {
    create_cache_dir(dir)?;
    let parent = file.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let temp = parent.join(format!(
        ".{}.{}-{nanos}.tmp",
        file.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        std::process::id()
    ));
    let result = std::fs::write(&temp, bytes).and_then(|()| std::fs::rename(&temp, file));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// What `dllint clean` did in one directory.
#[derive(Debug, PartialEq, Eq)]
pub enum Cleaned {
    /// The directory held only dllint's entries and is gone.
    Directory(PathBuf),
    /// dllint's entries were removed (names relative to the directory); the directory stays
    /// because it holds other things (`kept` entries) or must never be removed.
    Entries {
        dir: PathBuf,
        removed: Vec<String>,
        kept: usize,
    },
}

/// `dllint clean`: remove what dllint wrote into the cache directories — the one named by
/// `named` (`--cache-dir` or `DLLINT_CACHE_DIR`), the project root's `.dllint_cache`, every
/// `.dllint_cache` below the working directory, and the `.dllint_cache` that [`resolve_dir`]
/// puts inside each of them. Only dllint's own entries are removed (its tag, its `.gitignore`,
/// version directories of cache files); a directory is removed only if nothing else is left
/// in it, and never the working directory, the project root, one of their ancestors or the
/// home directory. Errors are collected, not fatal to the rest.
pub fn clean(
    cwd: &Path,
    project_root: &Path,
    named: Option<&Path>,
) -> (Vec<Cleaned>, Vec<(PathBuf, io::Error)>) {
    let mut candidates = vec![project_root.join(CACHE_DIR_NAME)];
    if let Some(named) = named {
        candidates.push(cwd.join(named));
    }
    find_cache_dirs(cwd, 0, &mut candidates);
    let nested: Vec<PathBuf> = candidates.iter().map(|c| c.join(CACHE_DIR_NAME)).collect();
    candidates.extend(nested);
    candidates.retain(|c| c.is_dir());
    // Deepest first: a `.dllint_cache` inside a named directory goes before its parent is
    // looked at.
    let mut canonical: Vec<(PathBuf, PathBuf)> = candidates
        .into_iter()
        .filter_map(|c| Some((std::fs::canonicalize(&c).ok()?, c)))
        .collect();
    canonical.sort_by(|a, b| b.0.cmp(&a.0));
    canonical.dedup_by(|a, b| a.0 == b.0);
    let protected = protected_dirs(cwd, project_root);
    let mut cleaned = Vec::new();
    let mut errors = Vec::new();
    for (real, dir) in canonical {
        let mut removed = Vec::new();
        let mut kept = 0;
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let result = match classify(&path) {
                Some(Entry::Tag | Entry::Ignore) => std::fs::remove_file(&path),
                Some(Entry::Version) => remove_version_dir(&path),
                None => {
                    kept += 1;
                    continue;
                }
            };
            match result {
                Ok(()) => removed.push(name),
                Err(e) => {
                    kept += 1;
                    errors.push((path, e));
                }
            }
        }
        let removable = kept == 0
            && !protected.contains(&real)
            && !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_symlink());
        if removable && std::fs::remove_dir(&dir).is_ok() {
            cleaned.push(Cleaned::Directory(dir));
        } else if !removed.is_empty() {
            cleaned.push(Cleaned::Entries { dir, removed, kept });
        }
    }
    cleaned.reverse();
    (cleaned, errors)
}

/// Remove a version directory of cache files, file by file (nothing else is in it: see
/// [`classify`]); `remove_dir` fails rather than lose a file that appeared meanwhile.
fn remove_version_dir(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_str().is_some_and(is_cache_file_name) {
            std::fs::remove_file(entry.path())?;
        }
    }
    std::fs::remove_dir(dir)
}

/// Directories `dllint clean` never removes, even empty: the working directory, the project
/// root and their ancestors (`/` among them), and the home directory.
fn protected_dirs(cwd: &Path, project_root: &Path) -> Vec<PathBuf> {
    let mut protected = Vec::new();
    for start in [cwd, project_root] {
        if let Ok(real) = std::fs::canonicalize(start) {
            protected.extend(real.ancestors().map(Path::to_path_buf));
        }
    }
    if let Some(home) = std::env::var_os("HOME")
        && let Ok(real) = std::fs::canonicalize(home)
    {
        protected.push(real);
    }
    protected
}

/// `.dllint_cache` directories below `dir` (symbolic links not followed, depth bounded).
fn find_cache_dirs(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if depth > 32 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if !kind.is_dir() {
            continue;
        }
        let path = entry.path();
        if entry.file_name() == CACHE_DIR_NAME {
            found.push(path);
        } else if entry.file_name() != ".git" {
            find_cache_dirs(&path, depth + 1, found);
        }
    }
}

// The encoded form of a file's result. Rules are stored by code (looked up again on
// reading: an unknown code makes the entry a miss).

/// A fix: its title, whether it is safe, its edits.
type FixRef<'a> = (&'a str, bool, Vec<(TextRange, &'a str)>);
type StoredFix = (String, bool, Vec<(TextRange, String)>);

// Diagnostics first: a warm run that replays the project result decodes them alone.
#[derive(Serialize)]
struct StoredRef<'a> {
    diagnostics: Vec<DiagnosticRef<'a>>,
    facts: Option<&'a FileFacts>,
}

#[derive(Serialize)]
struct DiagnosticRef<'a> {
    code: &'a str,
    message: &'a str,
    range: TextRange,
    labels: Vec<(TextRange, &'a str, Option<&'a str>)>,
    help: Option<&'a str>,
    fix: Option<FixRef<'a>>,
}

impl<'a> From<&'a Diagnostic> for DiagnosticRef<'a> {
    fn from(d: &'a Diagnostic) -> Self {
        DiagnosticRef {
            code: d.code,
            message: &d.message,
            range: d.range,
            labels: d
                .labels
                .iter()
                .map(|l| {
                    (
                        l.range,
                        l.message.as_str(),
                        l.file.as_deref().map(|p| p.to_str().unwrap_or_default()),
                    )
                })
                .collect(),
            help: d.help.as_deref(),
            fix: d.fix.as_ref().map(|fix| {
                (
                    fix.title.as_str(),
                    fix.applicability == Applicability::Safe,
                    fix.edits
                        .iter()
                        .map(|e| (e.range, e.content.as_str()))
                        .collect(),
                )
            }),
        }
    }
}

#[derive(Deserialize)]
struct Stored {
    diagnostics: Vec<StoredDiagnostic>,
    facts: Option<FileFacts>,
}

/// An entry's bytes: the distinct names of its facts, then the entry, which refers to each
/// name by its number there (each name is written, and interned on reading, once per file:
/// interning the names of the facts was the larger part of decoding them).
fn encode_entry(stored: &StoredRef<'_>) -> Option<Vec<u8>> {
    let (entry, names) = name_table::encoding(|| postcard::to_stdvec(stored));
    let names: Vec<&str> = names.iter().map(Name::as_str).collect();
    let mut bytes = postcard::to_stdvec(&names).ok()?;
    bytes.extend(entry.ok()?);
    Some(bytes)
}

/// The entry [`encode_entry`] wrote, if it decodes.
fn decode_entry(bytes: &[u8]) -> Option<Hit> {
    let (names, entry) = postcard::take_from_bytes::<Vec<&str>>(bytes).ok()?;
    let names = names.into_iter().map(Name::new).collect();
    name_table::decoding(names, || postcard::from_bytes::<Stored>(entry))
        .ok()
        .and_then(Stored::into_hit)
}

/// The leading part of [`Stored`].
#[derive(Deserialize)]
struct StoredDiagnostics {
    diagnostics: Vec<StoredDiagnostic>,
}

#[derive(Deserialize)]
struct StoredDiagnostic {
    code: String,
    message: String,
    range: TextRange,
    labels: Vec<(TextRange, String, Option<String>)>,
    help: Option<String>,
    fix: Option<StoredFix>,
}

impl Stored {
    fn into_hit(self) -> Option<Hit> {
        Some(Hit {
            diagnostics: restore(self.diagnostics)?,
            facts: self.facts,
        })
    }
}

/// The diagnostics of an entry; `None` if a rule code is unknown to this build.
fn restore(stored: Vec<StoredDiagnostic>) -> Option<Vec<Diagnostic>> {
    stored
        .into_iter()
        .map(|d| {
            let rule = find_rule(&d.code).filter(|r| r.code == d.code)?;
            Some(Diagnostic {
                code: rule.code,
                // The configured severity is applied when the report is assembled.
                severity: rule.severity,
                message: d.message,
                range: d.range,
                labels: d
                    .labels
                    .into_iter()
                    .map(|(range, message, file)| Label {
                        range,
                        message,
                        file: file.map(|f| std::sync::Arc::from(Path::new(&f))),
                    })
                    .collect(),
                help: d.help,
                fix: d.fix.map(|(title, safe, edits)| Fix {
                    title,
                    applicability: if safe {
                        Applicability::Safe
                    } else {
                        Applicability::Unsafe
                    },
                    edits: edits
                        .into_iter()
                        .map(|(range, content)| Edit { range, content })
                        .collect(),
                    other_files: Vec::new(),
                }),
                suggestion: None,
                refactoring_withheld: false,
                refactoring_declined: None,
            })
        })
        .collect::<Option<Vec<_>>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> (Cache, PathBuf) {
        let cache = Cache::open(dir.to_path_buf(), Path::new("/project"));
        let file = dir.join("a.py");
        std::fs::write(&file, "x = 1\n").unwrap();
        (cache, file)
    }

    #[test]
    fn round_trips_facts_and_diagnostics() {
        let dir = tempfile::tempdir().unwrap();
        let (cache, file) = sample(dir.path());
        let facts = FileFacts {
            package: Some("pkg".into()),
            line_count: 7,
            imports: vec![("nn".into(), "torch.nn".into())],
            ..FileFacts::default()
        };
        let rule = find_rule("DL305").unwrap();
        let diagnostic = Diagnostic::new(rule, "msg", TextRange::new(1.into(), 4.into()))
            .with_help("help")
            .with_label(TextRange::new(0.into(), 1.into()), "label")
            .with_file_label(
                std::sync::Arc::from(Path::new("/x/b.py")),
                TextRange::default(),
                "other",
            )
            .with_fix(Fix {
                title: "remove".into(),
                applicability: Applicability::Unsafe,
                edits: vec![Edit::deletion(TextRange::new(1.into(), 4.into()))],
                other_files: Vec::new(),
            });
        cache.put(&file, 42, Some(&facts), std::slice::from_ref(&diagnostic));
        cache.save().unwrap();

        let cache = Cache::open(dir.path().to_path_buf(), Path::new("/project"));
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&file, 41).is_none());
        let hit = cache.get(&file, 42).unwrap();
        assert_eq!(hit.facts.as_ref(), Some(&facts));
        let d = &hit.diagnostics[0];
        assert_eq!(
            (d.code, &d.message, d.range, &d.help, &d.labels, &d.fix),
            (
                "DL305",
                &diagnostic.message,
                diagnostic.range,
                &diagnostic.help,
                &diagnostic.labels,
                &diagnostic.fix
            )
        );
        // Another project root has its own file.
        assert!(Cache::open(dir.path().to_path_buf(), Path::new("/other")).is_empty());
    }

    #[test]
    fn corrupt_and_truncated_files_are_ignored_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let (cache, file) = sample(dir.path());
        cache.put(&file, 1, None, &[]);
        cache.save().unwrap();
        let [path] = Cache::open(dir.path().to_path_buf(), Path::new("/project"))
            .shard_files()
            .try_into()
            .unwrap();
        let good = std::fs::read(&path).unwrap();
        for bad in [
            good[..good.len() - 3].to_vec(),
            good[..10].to_vec(),
            {
                let mut flipped = good.clone();
                flipped[30] ^= 0xFF;
                flipped
            },
            b"garbage".to_vec(),
        ] {
            std::fs::write(&path, &bad).unwrap();
            let cache = Cache::open(dir.path().to_path_buf(), Path::new("/project"));
            assert!(cache.is_empty());
            assert!(cache.get(&file, 1).is_none());
            // Saved even with nothing new: the unreadable file is replaced.
            cache.save().unwrap();
            let cache = Cache::open(dir.path().to_path_buf(), Path::new("/project"));
            assert!(cache.get(&file, 1).is_none());
            cache.put(&file, 1, None, &[]);
            cache.save().unwrap();
            let cache = Cache::open(dir.path().to_path_buf(), Path::new("/project"));
            assert!(cache.get(&file, 1).is_some());
        }
    }

    #[test]
    fn entries_of_deleted_files_are_dropped_on_save() {
        let dir = tempfile::tempdir().unwrap();
        let (cache, file) = sample(dir.path());
        let other = dir.path().join("b.py");
        std::fs::write(&other, "y = 2\n").unwrap();
        cache.put(&file, 1, None, &[]);
        cache.put(&other, 2, None, &[]);
        cache.save().unwrap();
        std::fs::remove_file(&other).unwrap();
        let cache = Cache::open(dir.path().to_path_buf(), Path::new("/project"));
        assert_eq!(cache.len(), 2);
        cache.put(&file, 3, None, &[]);
        cache.save().unwrap();
        let cache = Cache::open(dir.path().to_path_buf(), Path::new("/project"));
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&file, 3).is_some());
    }

    #[test]
    fn a_run_rewrites_only_the_shards_it_changed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().to_path_buf(), Path::new("/project"));
        let files: Vec<PathBuf> = (0..40)
            .map(|i| {
                let file = dir.path().join(format!("m{i}.py"));
                std::fs::write(&file, "x = 1\n").unwrap();
                file
            })
            .collect();
        for (i, file) in files.iter().enumerate() {
            cache.put(file, i as u128, None, &[]);
        }
        cache.save().unwrap();
        let cache = Cache::open(dir.path().to_path_buf(), Path::new("/project"));
        let shards = cache.shard_files();
        assert!(shards.len() > 1, "{shards:?}");
        assert_eq!(cache.len(), files.len());
        let written = |shards: &[PathBuf]| -> Vec<std::time::SystemTime> {
            shards
                .iter()
                .map(|s| std::fs::metadata(s).unwrap().modified().unwrap())
                .collect()
        };
        let before = written(&shards);
        std::thread::sleep(std::time::Duration::from_millis(20));
        // Every file looked up (as a run does), one of them changed.
        for (i, file) in files.iter().enumerate() {
            assert!(cache.get(file, i as u128).is_some());
        }
        cache.put(&files[7], 1000, None, &[]);
        let edited = shard_file(&cache.stem, shard_of(&files[7]));
        cache.save().unwrap();
        let after = written(&shards);
        let changed: Vec<&PathBuf> = shards
            .iter()
            .zip(before.iter().zip(&after))
            .filter(|(_, (b, a))| b != a)
            .map(|(s, _)| s)
            .collect();
        assert_eq!(changed, [&edited]);
        let cache = Cache::open(dir.path().to_path_buf(), Path::new("/project"));
        assert_eq!(cache.len(), files.len());
        assert!(cache.get(&files[7], 1000).is_some());
        assert!(cache.get(&files[8], 8).is_some());
        // A shard emptied by deleted files is removed.
        for file in &files {
            std::fs::remove_file(file).unwrap();
        }
        let cache = Cache::open(dir.path().to_path_buf(), Path::new("/project"));
        cache.put(&files[0], 0, None, &[]);
        cache.save().unwrap();
        let cache = Cache::open(dir.path().to_path_buf(), Path::new("/project"));
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.shard_files().len(), 1);
    }

    #[test]
    fn clean_removes_only_what_dllint_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path();
        let nested = project.join("sub").join(CACHE_DIR_NAME);
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(project.join("a.py"), "x = 1\n").unwrap();
        let cache = Cache::open(project.join(CACHE_DIR_NAME), project);
        cache.put(&project.join("a.py"), 1, None, &[]);
        cache.save().unwrap();
        assert!(project.join(CACHE_DIR_NAME).join(TAG_NAME).is_file());
        // An existing directory with other files: the cache goes into a folder of its own.
        let data = project.join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("keep.txt"), "keep").unwrap();
        let cache = Cache::open(data.clone(), project);
        assert_eq!(cache.dir(), data.join(CACHE_DIR_NAME));
        cache.put(&project.join("a.py"), 1, None, &[]);
        cache.save().unwrap();
        assert!(!data.join(TAG_NAME).exists() && !data.join(IGNORE_NAME).exists());
        // `nested` is named `.dllint_cache` but holds nothing of dllint's: kept.
        std::fs::write(nested.join("mine.txt"), "mine").unwrap();
        let (cleaned, errors) = clean(project, project, Some(&data));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            cleaned,
            vec![
                Cleaned::Directory(project.join(CACHE_DIR_NAME)),
                Cleaned::Directory(data.join(CACHE_DIR_NAME)),
            ]
        );
        assert!(data.join("keep.txt").is_file() && nested.join("mine.txt").is_file());
        assert!(project.join("a.py").is_file());
    }

    #[test]
    fn cache_file_names() {
        assert!(is_cache_file_name("0123456789abcdef.bin"));
        assert!(is_cache_file_name("0123456789abcdef.3f.bin"));
        assert!(is_cache_file_name(".0123456789abcdef.3f.bin.123-456.tmp"));
        assert!(!is_cache_file_name("0123456789abcdef.3.bin"));
        assert!(!is_cache_file_name("0123456789abcdef.3fg.bin"));
        assert!(is_cache_file_name("0123456789abcdef.project.bin"));
        assert!(is_cache_file_name(".0123456789abcdef.bin.123-456.tmp"));
        assert!(!is_cache_file_name("model.bin"));
        assert!(!is_cache_file_name(".model.bin.1-2.tmp"));
        assert!(is_version_name("0.1.0") && is_version_name("1.2.0-rc.1"));
        assert!(!is_version_name("src") && !is_version_name("2024"));
    }
}
