//! How a file names what it calls or inherits from, as precisely as the file alone can: a
//! qualified name through the imports, a local definition, a member of `self`, an instance.

use std::borrow::Borrow;
use std::cell::Cell;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ptr::NonNull;
use std::sync::Mutex;

use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

/// A name or dotted name kept in the facts, interned: one pointer wide, each distinct text
/// stored once for the whole process (a project's facts repeat the same few thousand names,
/// `forward`, `torch.nn.functional.cross_entropy`, hundreds of thousands of times), and two
/// names are equal exactly when they are the same pointer.
///
/// Interned texts are never freed. A run holds every file's facts until it ends anyway; a
/// long-lived language server keeps one copy of each distinct name it has seen.
///
/// Hashing and ordering follow the text, as for `str` (so `Borrow<str>` lookups work and no
/// output depends on where a text was stored).
#[derive(Clone, Copy)]
pub struct Name(NonNull<u8>);

// SAFETY: a `Name` points at immutable bytes that live for the rest of the process.
unsafe impl Send for Name {}
unsafe impl Sync for Name {}

/// Bytes before each interned text: its length.
const HEADER: usize = std::mem::size_of::<u32>();
/// The arena's chunk sizes: each shard's first chunk is small (a run on a few files interns
/// a few kilobytes), the next ones double up to the largest. A text of over a quarter of the
/// largest gets a chunk of its own.
const FIRST_CHUNK: usize = 1024;
const CHUNK: usize = 64 * 1024;
const SHARDS: usize = 32;

struct Shard {
    names: hashbrown::HashTable<Name>,
    /// The unused rest of the current chunk (leaked, never written again once handed out).
    free: *mut u8,
    left: usize,
    /// The size of the current chunk.
    chunk: usize,
}

// SAFETY: the raw pointer is only used under the shard's mutex.
unsafe impl Send for Shard {}

static INTERNER: [Mutex<Shard>; SHARDS] = [const {
    Mutex::new(Shard {
        names: hashbrown::HashTable::new(),
        free: std::ptr::null_mut(),
        left: 0,
        chunk: 0,
    })
}; SHARDS];

impl Shard {
    /// Copies `text` into the arena, after its length.
    fn store(&mut self, text: &str) -> Name {
        let need = HEADER + text.len();
        let at = if need > CHUNK / 4 {
            Box::leak(vec![0u8; need].into_boxed_slice()).as_mut_ptr()
        } else {
            if need > self.left {
                self.chunk = (self.chunk * 2).clamp(FIRST_CHUNK, CHUNK).max(need);
                self.free = Box::leak(vec![0u8; self.chunk].into_boxed_slice()).as_mut_ptr();
                self.left = self.chunk;
            }
            let at = self.free;
            // SAFETY: `need <= left`, within the current chunk.
            self.free = unsafe { self.free.add(need) };
            self.left -= need;
            at
        };
        let len = u32::try_from(text.len()).expect("a name shorter than 4 GiB");
        // SAFETY: `at` has `need` writable bytes that nothing else refers to.
        unsafe {
            at.cast::<[u8; HEADER]>().write(len.to_le_bytes());
            std::ptr::copy_nonoverlapping(text.as_ptr(), at.add(HEADER), text.len());
            Name(NonNull::new_unchecked(at))
        }
    }
}

/// Slots of each thread's cache of the names it interned last (a power of two).
const RECENT_SLOTS: usize = 1024;

thread_local! {
    /// Each thread's most recent name per slot, with its hash: a name a thread interned before
    /// is found without taking a shard's lock or probing its table. A file's facts (and a
    /// project's files) name the same few things over and over (`self`, `forward`, `torch`).
    static RECENT: [Cell<Option<(u64, Name)>>; RECENT_SLOTS] =
        const { [const { Cell::new(None) }; RECENT_SLOTS] };
}

impl Name {
    /// The interned name for `text`.
    pub fn new(text: &str) -> Name {
        let hash = FxBuildHasher.hash_one(text);
        let slot = hash as usize % RECENT_SLOTS;
        if let Some((seen, name)) = RECENT.with(|recent| recent[slot].get())
            && seen == hash
            && name.as_str() == text
        {
            return name;
        }
        let name = Name::intern(text, hash);
        RECENT.with(|recent| recent[slot].set(Some((hash, name))));
        name
    }

    /// The interned name for `text`, whose hash is `hash`, from the shared table.
    fn intern(text: &str, hash: u64) -> Name {
        // Middle bits pick the shard: the table places an entry by the low bits and tags it
        // with the top seven, which must still tell its entries apart (picked by the top
        // bits, every entry of a shard had one of four tags, and a lookup compared the text of
        // about a quarter of the entries it probed).
        let shard = &INTERNER[(hash >> 32) as usize % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&name) = shard.names.find(hash, |name| name.as_str() == text) {
            return name;
        }
        let name = shard.store(text);
        shard
            .names
            .insert_unique(hash, name, |name| FxBuildHasher.hash_one(name.as_str()));
        name
    }

    pub fn as_str(&self) -> &'static str {
        // SAFETY: `store` wrote the length and then that many bytes of a `str`, never changed
        // and never freed.
        unsafe {
            let at = self.0.as_ptr();
            let len = u32::from_le_bytes(at.cast::<[u8; HEADER]>().read()) as usize;
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(at.add(HEADER), len))
        }
    }
}

impl Default for Name {
    fn default() -> Self {
        Name::new("")
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        // Interned: one text, one pointer.
        self.0 == other.0
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        if self == other {
            return std::cmp::Ordering::Equal;
        }
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Name {
        Name::new(text)
    }
}

impl From<&String> for Name {
    fn from(text: &String) -> Name {
        Name::new(text)
    }
}

impl From<String> for Name {
    fn from(text: String) -> Name {
        Name::new(&text)
    }
}

impl From<Name> for String {
    fn from(name: Name) -> String {
        name.as_str().to_owned()
    }
}

/// A table of the distinct names of one encoded value, so that each name is written (and, on
/// decoding, interned) once per value instead of once per occurrence: the lint cache encodes
/// each file's facts with one ([`name_table::encoding`], [`name_table::decoding`]). Inside
/// those calls, on their thread, a `Name` is encoded as its number in the table; anywhere
/// else, as text.
pub mod name_table {
    use std::cell::RefCell;

    use rustc_hash::FxHashMap;

    use super::Name;

    enum Table {
        /// Each name's number (by address: one text, one address), and the names in order.
        Encoding(FxHashMap<usize, u32>, Vec<Name>),
        Decoding(Vec<Name>),
    }

    thread_local! {
        static TABLE: RefCell<Option<Table>> = const { RefCell::new(None) };
    }

    /// Puts back the table that was in use before (also when encoding panics).
    struct Restore(Option<Table>);

    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            TABLE.with_borrow_mut(|table| *table = previous);
        }
    }

    /// Run `run` with `table` in use on this thread: its result, and the table after.
    fn with<T>(table: Table, run: impl FnOnce() -> T) -> (T, Option<Table>) {
        let previous = TABLE.with_borrow_mut(|current| current.replace(table));
        let restore = Restore(previous);
        let result = run();
        let used = TABLE.with_borrow_mut(Option::take);
        drop(restore);
        (result, used)
    }

    /// Run `encode`, numbering the names it encodes: its result, and the names in the order of
    /// their numbers.
    pub fn encoding<T>(encode: impl FnOnce() -> T) -> (T, Vec<Name>) {
        match with(Table::Encoding(FxHashMap::default(), Vec::new()), encode) {
            (result, Some(Table::Encoding(_, names))) => (result, names),
            (result, _) => (result, Vec::new()),
        }
    }

    /// Run `decode`, reading the names it decodes as numbers in `names`.
    pub fn decoding<T>(names: Vec<Name>, decode: impl FnOnce() -> T) -> T {
        with(Table::Decoding(names), decode).0
    }

    /// The number of `name` when encoding with a table (numbered on first sight).
    pub(super) fn number(name: Name) -> Option<u32> {
        TABLE.with_borrow_mut(|table| match table {
            Some(Table::Encoding(numbers, names)) => {
                let next = names.len() as u32;
                let number = *numbers.entry(name.0.as_ptr() as usize).or_insert(next);
                if number == next {
                    names.push(name);
                }
                Some(number)
            }
            _ => None,
        })
    }

    /// The name numbered `number` in the table decoding uses, if there is one.
    pub(super) fn name(number: u32) -> Option<Name> {
        TABLE.with_borrow(|table| match table {
            Some(Table::Decoding(names)) => names.get(number as usize).copied(),
            _ => None,
        })
    }

    /// True when decoding with a table.
    pub(super) fn is_decoding() -> bool {
        TABLE.with_borrow(|table| matches!(table, Some(Table::Decoding(_))))
    }
}

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match name_table::number(*self) {
            Some(number) => serializer.serialize_u32(number),
            None => serializer.serialize_str(self.as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
        if name_table::is_decoding() {
            let number = u32::deserialize(deserializer)?;
            return name_table::name(number).ok_or_else(|| {
                serde::de::Error::custom(format_args!("no name numbered {number} in the table"))
            });
        }
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Name, E> {
                Ok(Name::new(text))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// A callee (or a base class), as precisely as the file alone can name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Callee {
    /// Resolved through the imports: `torch.nn.functional.cross_entropy`, `proj.losses.focal`.
    Qualified(Name),
    /// A module-level class or function of this file.
    Local(Name),
    /// `self.<name>`: a method or an instance attribute, resolved through the class hierarchy.
    SelfMember(Name),
    /// A variable bound to the result of calling this callee (`model = Net()`).
    InstanceOf(Box<Callee>),
    /// A variable or parameter of unknown value: only its name is evidence.
    Variable(Name),
}

impl Callee {
    /// The last name segment, for messages and name heuristics.
    pub fn name(&self) -> &str {
        match self {
            Callee::Qualified(q) => q.rsplit('.').next().unwrap_or(q),
            Callee::Local(n) | Callee::SelfMember(n) | Callee::Variable(n) => n,
            Callee::InstanceOf(inner) => inner.name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_names_are_one_pointer_per_text() {
        let long = "torch.nn.functional.binary_cross_entropy_with_logits".repeat(500);
        let texts = [
            "",
            "x",
            "forward",
            "torch.nn.functional.cross_entropy",
            &long,
        ];
        for text in texts {
            let a = Name::new(text);
            let b = Name::from(text.to_string());
            assert_eq!(a.as_str(), text);
            assert_eq!(a, b);
            assert_eq!(a.0, b.0, "{text:?} is stored once");
        }
        assert_ne!(Name::new("loss"), Name::new("loss_fn"));
        assert!(Name::new("a") < Name::new("b"));
        assert_eq!(Name::default(), "");
        // Texts interned from several threads at once are still stored once.
        let names: Vec<Vec<Name>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| (0..2000).map(|i| Name::new(&format!("n{i}"))).collect()))
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        for other in &names[1..] {
            assert_eq!(&names[0], other);
        }
        assert_eq!(std::mem::size_of::<Option<Name>>(), 8);
    }

    #[test]
    fn a_thread_s_recent_names_never_answer_for_another_text() {
        // Two texts in the same slot of the thread's cache, and two with the same hash's slot
        // and the same length: each lookup must give its own text, in any order.
        let slot = |text: &str| FxBuildHasher.hash_one(text) as usize % RECENT_SLOTS;
        let first = "r0000000".to_string();
        let other = (1..1_000_000)
            .map(|i| format!("r{i:07}"))
            .find(|t| slot(t) == slot(&first) && t.len() == first.len())
            .expect("a text in the same slot");
        for _ in 0..3 {
            for text in [&first, &other, &other, &first] {
                assert_eq!(Name::new(text).as_str(), text.as_str());
            }
        }
        assert_ne!(Name::new(&first), Name::new(&other));
        assert_eq!(Name::new(&first).0, Name::new(&first.clone()).0);
    }

    /// Within a table, each distinct name is written once and every occurrence by its number;
    /// decoding with the table gives the same names back; outside one, a name is its text.
    #[test]
    fn a_name_table_writes_each_name_once() {
        let callees = vec![
            Callee::Qualified(Name::new("torch.nn.functional.cross_entropy")),
            Callee::SelfMember(Name::new("forward")),
            Callee::InstanceOf(Box::new(Callee::Qualified(Name::new(
                "torch.nn.functional.cross_entropy",
            )))),
            Callee::Variable(Name::new("forward")),
        ];
        let (bytes, names) = name_table::encoding(|| postcard::to_stdvec(&callees).unwrap());
        let texts: Vec<&str> = names.iter().map(Name::as_str).collect();
        assert_eq!(texts, ["torch.nn.functional.cross_entropy", "forward"]);
        let text = b"torch.nn.functional.cross_entropy";
        assert!(!bytes.windows(text.len()).any(|w| w == text));
        let decoded: Vec<Callee> =
            name_table::decoding(names.clone(), || postcard::from_bytes(&bytes).unwrap());
        assert_eq!(decoded, callees);
        // A number the table does not have is an error, not a name.
        let short = names[..1].to_vec();
        assert!(
            name_table::decoding(short, || postcard::from_bytes::<Vec<Callee>>(&bytes)).is_err()
        );
        // The table is used only inside those calls.
        let plain = postcard::to_stdvec(&callees).unwrap();
        assert!(plain.windows(text.len()).any(|w| w == text));
        assert_eq!(
            postcard::from_bytes::<Vec<Callee>>(&plain).unwrap(),
            callees
        );
        assert_eq!(
            serde_json::to_string(&Name::new("forward")).unwrap(),
            "\"forward\""
        );
    }
}
