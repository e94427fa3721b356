//! Which files of the project a computation read: the dependencies of one file's project
//! findings, so that a run after an edit re-runs the project rules only of the files whose
//! findings may have changed (see `cache::project`).
//!
//! Every read of another file's facts, text, knowledge or roles goes through the index's or the
//! roles' accessors, which report it here. A computation records what it reads in a *frame*
//! ([`recording`]); frames nest per thread. Whatever the index computes once and shares (a
//! file's resolved bases, the call sites of the whole project) is a [`Recorded`] value: it keeps
//! what its computation read, and every reader of the value is charged with those reads, not
//! only the first. A computation that reads every file (a project-wide table) is charged with
//! all of them ([`all`]).
//!
//! The answer is conservative by construction: a read reported that the computation did not
//! need only re-runs a file for nothing. A read *not* reported would replay a stale finding,
//! which is why `ProjectIndex::files` is private and the accessors report.
//!
//! A frame is per thread. A computation that hands work to other threads (rayon) records in
//! each piece of work separately (the callee table does) or is recorded as reading all files.

use std::cell::RefCell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use thin_vec::ThinVec;

use crate::semantic::facts::FunctionId;
use crate::semantic::index::FileId;

/// A question put to one of the index's project-wide tables. Who asks is charged with the
/// question and a fingerprint of the answer, not with the files the table was built from: the
/// answer is compared again (`ProjectIndex::answer`), and what it names is read through the
/// accessors as usual.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Query {
    /// The calls of a project function.
    CallSites(FileId, FunctionId),
    /// The callers that hand a function one of their own parameters.
    Forwarded(FileId, FunctionId),
    /// The instances the project's calls hand to a function.
    InstanceArgs(FileId, FunctionId),
    /// The class attributes built by a constructor of this name.
    AttributesBuiltBy(String),
    /// How other files spell their imports of a file.
    ImportSpellings(FileId),
    /// The files that import a file.
    Importers(FileId),
}

/// What a computation read: every file, or these (sorted, each once), and the questions it
/// put to project-wide tables with a fingerprint of each answer.
///
/// (`ThinVec`s: the index keeps one per file for each of its shared per-file values.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    pub all: bool,
    pub files: ThinVec<FileId>,
    pub queries: ThinVec<(Query, u64)>,
}

impl Reads {
    /// True if the computation read file `file` (or every file).
    pub fn contains(&self, file: FileId) -> bool {
        self.all || self.files.binary_search(&file).is_ok()
    }
}

#[derive(Default)]
struct Frame {
    all: bool,
    files: FxHashSet<FileId>,
    /// The last file reported: most reads repeat it.
    last: Option<FileId>,
    queries: FxHashMap<Query, u64>,
    /// A frame whose reads are dropped (see [`hidden`]).
    hidden: bool,
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// How many frames are open on all threads: with none, a read costs one atomic load.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Whether reads are recorded at all: only a run that stores its project findings needs
/// them. Once on, on for the life of the process (runs may overlap in the editor server).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Record reads from now on (see [`ENABLED`]).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

fn with_top(f: impl FnOnce(&mut Frame)) {
    if OPEN.load(Ordering::Relaxed) == 0 {
        return;
    }
    FRAMES.with(|frames| {
        if let Ok(mut frames) = frames.try_borrow_mut()
            && let Some(top) = frames.last_mut()
        {
            f(top);
        }
    });
}

/// Report a read of file `id`.
#[inline]
pub fn file(id: FileId) {
    with_top(|top| {
        if top.last != Some(id) {
            top.last = Some(id);
            if !top.all {
                top.files.insert(id);
            }
        }
    });
}

/// Report a read of every file of the project.
pub fn all() {
    with_top(|top| {
        top.all = true;
        top.files = FxHashSet::default();
        top.queries = FxHashMap::default();
    });
}

/// True if a frame on this thread records reads (else there is nothing to compute for it).
fn wanted() -> bool {
    if OPEN.load(Ordering::Relaxed) == 0 {
        return false;
    }
    FRAMES.with(|frames| {
        frames
            .try_borrow()
            .ok()
            .and_then(|frames| frames.last().map(|top| !top.all && !top.hidden))
            .unwrap_or(false)
    })
}

/// Report a question put to a project-wide table. Nothing is built when no frame records:
/// `question` makes the question, and `answer` fingerprints its answer (computed without
/// charging its reads) only if the question is new to the frame.
pub fn query(question: impl FnOnce() -> Query, answer: impl FnOnce(&Query) -> u64) {
    if !wanted() {
        return;
    }
    let query = question();
    let known = FRAMES.with(|frames| {
        frames
            .borrow()
            .last()
            .is_some_and(|top| top.queries.contains_key(&query))
    });
    if known {
        return;
    }
    let answer = hidden(|| answer(&query));
    with_top(|top| {
        if !top.all {
            top.queries.insert(query, answer);
        }
    });
}

/// Report the reads of a computation whose result is being used.
pub fn merge(reads: &Reads) {
    if reads.all {
        all();
        return;
    }
    with_top(|top| {
        if !top.all {
            top.files.extend(reads.files.iter().copied());
            top.queries
                .extend(reads.queries.iter().map(|(q, a)| (q.clone(), *a)));
        }
    });
}

/// Closes the frame it opened, also when the computation panics (rules run under
/// `catch_unwind`).
struct Open;

impl Drop for Open {
    fn drop(&mut self) {
        FRAMES.with(|frames| {
            frames.borrow_mut().pop();
        });
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Run `compute`, and what it read. The reads are also charged to the enclosing frame, if any.
pub fn recording<T>(compute: impl FnOnce() -> T) -> (T, Reads) {
    if !ENABLED.load(Ordering::Relaxed) {
        return (compute(), Reads::default());
    }
    FRAMES.with(|frames| frames.borrow_mut().push(Frame::default()));
    OPEN.fetch_add(1, Ordering::Relaxed);
    let open = Open;
    let value = compute();
    let frame = FRAMES.with(|frames| frames.borrow_mut().last_mut().map(std::mem::take));
    drop(open);
    let reads = match frame {
        Some(frame) if !frame.all => {
            let mut files: ThinVec<FileId> = frame.files.into_iter().collect();
            files.sort_unstable();
            let mut queries: ThinVec<(Query, u64)> = frame.queries.into_iter().collect();
            queries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            Reads {
                all: false,
                files,
                queries,
            }
        }
        _ => Reads {
            all: true,
            ..Reads::default()
        },
    };
    merge(&reads);
    (value, reads)
}

/// Run `compute` charging its reads to no one: the build of a table whose readers are
/// charged with their questions ([`query`]) instead.
pub fn hidden<T>(compute: impl FnOnce() -> T) -> T {
    if !ENABLED.load(Ordering::Relaxed) {
        return compute();
    }
    FRAMES.with(|frames| {
        frames.borrow_mut().push(Frame {
            hidden: true,
            ..Frame::default()
        })
    });
    OPEN.fetch_add(1, Ordering::Relaxed);
    let _open = Open;
    compute()
}

/// A value computed once and shared, with what its computation read: each reader is charged
/// with those reads.
pub struct Recorded<T>(OnceLock<(T, Reads)>);

impl<T> Default for Recorded<T> {
    fn default() -> Self {
        Recorded(OnceLock::new())
    }
}

impl<T> Recorded<T> {
    pub fn get_or_init(&self, compute: impl FnOnce() -> T) -> &T {
        let (value, reads) = self.0.get_or_init(|| recording(compute));
        merge(reads);
        value
    }

    /// Set the value, with what computing it read, unless it is computed already (an earlier
    /// run's value that is still valid). Charges no one.
    pub fn seed(&self, value: T, reads: Reads) {
        let _ = self.0.set((value, reads));
    }

    /// The value and its reads, if computed or seeded (charges no one).
    pub fn peek(&self) -> Option<(&T, &Reads)> {
        self.0.get().map(|(value, reads)| (value, reads))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_nest_and_shared_values_charge_every_reader() {
        enable();
        let shared: Recorded<u32> = Recorded::default();
        let ((), outer) = recording(|| {
            file(3);
            let ((), inner) = recording(|| {
                file(7);
                assert_eq!(
                    *shared.get_or_init(|| {
                        file(9);
                        1
                    }),
                    1
                );
            });
            assert_eq!(inner.files.as_slice(), [7, 9]);
            // The value is computed already; its reads are charged again.
            assert_eq!(*shared.get_or_init(|| 2), 1);
            file(3);
        });
        assert_eq!(outer.files.as_slice(), [3, 7, 9]);
        assert!(!outer.all);
        let ((), everything) = recording(|| {
            file(1);
            all();
            file(2);
        });
        assert!(everything.all && everything.contains(40));
        // A question is recorded with its answer once; what answering it read is not.
        let ((), asked) = recording(|| {
            query(
                || Query::Importers(4),
                |_| {
                    file(8);
                    17
                },
            );
            query(|| Query::Importers(4), |_| unreachable!());
            hidden(|| file(6));
        });
        assert!(asked.files.is_empty());
        assert_eq!(asked.queries.as_slice(), [(Query::Importers(4), 17)]);
        // Outside a frame, reads are not recorded anywhere.
        file(5);
        all();
    }

    #[test]
    fn a_panicking_computation_closes_its_frame() {
        enable();
        let result = std::panic::catch_unwind(|| recording(|| panic!("rule failed")));
        assert!(result.is_err());
        let ((), reads) = recording(|| file(2));
        assert_eq!(reads.files.as_slice(), [2]);
    }
}
