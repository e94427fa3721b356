//! Matching qualified names against the patterns of the knowledge data:
//! `torch.optim.Adam` (exact), `torch.optim.*` (anything below `torch.optim`, at any depth) and
//! `torch.nn.*Loss` / `optax.*cross_entropy*` (a direct member whose name matches the glob).

use rustc_hash::{FxHashMap, FxHashSet};

/// Lookups are hot (several per call expression), so prefixes are indexed by their first
/// segment and globs by their exact parent: a miss costs one or two hash lookups.
#[derive(Debug, Default, Clone)]
pub struct NameSet {
    /// First segments of all patterns, for [`NameSet::has_head`].
    heads: FxHashSet<String>,
    exact: FxHashSet<String>,
    /// `prefix.*`: anything below `prefix`, indexed by the prefix's first segment.
    prefixes: FxHashMap<String, Vec<String>>,
    /// `prefix.<glob>`: a direct member of `prefix` whose name matches the glob.
    globs: FxHashMap<String, Vec<String>>,
}

/// A list of canonical patterns in the data (`[training]` tables) reads directly as a set.
impl<'de> serde::Deserialize<'de> for NameSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<String>::deserialize(deserializer).map(NameSet::new)
    }
}

impl NameSet {
    pub fn new(patterns: impl IntoIterator<Item = String>) -> Self {
        let mut set = NameSet::default();
        for pattern in patterns {
            set.add(pattern);
        }
        set
    }

    pub fn add(&mut self, pattern: String) {
        self.heads
            .insert(pattern.split('.').next().unwrap_or(&pattern).to_string());
        if let Some(prefix) = pattern.strip_suffix(".*") {
            let head = prefix.split('.').next().unwrap_or(prefix).to_string();
            self.prefixes
                .entry(head)
                .or_default()
                .push(prefix.to_string());
        } else if let Some((prefix, last)) = pattern.rsplit_once('.')
            && last.contains('*')
        {
            self.globs
                .entry(prefix.to_string())
                .or_default()
                .push(last.to_string());
        } else {
            self.exact.insert(pattern);
        }
    }

    pub fn contains(&self, qualified: &str) -> bool {
        if self.exact.contains(qualified) {
            return true;
        }
        let head = qualified.split('.').next().unwrap_or(qualified);
        if let Some(prefixes) = self.prefixes.get(head) {
            for prefix in prefixes {
                if qualified.len() > prefix.len()
                    && qualified.starts_with(prefix.as_str())
                    && qualified.as_bytes()[prefix.len()] == b'.'
                {
                    return true;
                }
            }
        }
        if !self.globs.is_empty()
            && let Some((parent, last)) = qualified.rsplit_once('.')
            && let Some(globs) = self.globs.get(parent)
        {
            return globs.iter().any(|glob| glob_match(glob, last));
        }
        false
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefixes.is_empty() && self.globs.is_empty()
    }

    /// True if some pattern starts with the module `head` (a cheap pre-filter).
    pub fn has_head(&self, head: &str) -> bool {
        self.heads.contains(head)
    }

    /// The patterns of the set, as they were added (in no particular order).
    pub fn patterns(&self) -> Vec<String> {
        let prefixes = (self.prefixes.values().flatten()).map(|prefix| format!("{prefix}.*"));
        let globs = (self.globs.iter())
            .flat_map(|(parent, globs)| globs.iter().map(move |glob| format!("{parent}.{glob}")));
        self.exact
            .iter()
            .cloned()
            .chain(prefixes)
            .chain(globs)
            .collect()
    }

    /// The first segments of the patterns (in no particular order).
    pub fn heads(&self) -> impl Iterator<Item = &str> {
        self.heads.iter().map(String::as_str)
    }
}

/// `*` matches any run of characters (including none), but the whole name must not be matched
/// by `*` alone: `*Loss` does not match `Loss`.
fn glob_match(glob: &str, name: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    let literal: usize = parts.iter().map(|p| p.len()).sum();
    if name.len() <= literal && glob.starts_with('*') {
        return false;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_prefix_and_glob_patterns() {
        let set = NameSet::new(
            [
                "torch.optim.Adam",
                "optax.*",
                "torch.nn.*Loss",
                "tf.image.decode_*",
                "optax2.*cross_entropy*",
            ]
            .into_iter()
            .map(String::from),
        );
        assert!(set.contains("torch.optim.Adam"));
        assert!(!set.contains("torch.optim.AdamW"));
        assert!(set.contains("optax.adam"));
        assert!(set.contains("optax.schedules.cosine"));
        assert!(!set.contains("optaxx.adam"));
        assert!(set.contains("torch.nn.CrossEntropyLoss"));
        assert!(!set.contains("torch.nn.Loss"));
        assert!(!set.contains("torch.nn.modules.CrossEntropyLoss"));
        assert!(set.contains("tf.image.decode_png"));
        assert!(set.contains("optax2.softmax_cross_entropy_with_integer_labels"));
        assert!(set.contains("optax2.softmax_cross_entropy"));
        assert!(!set.contains("optax2.adam"));
    }
}

/// Many pattern lists at once: which lists (numbered 0..32) a name matches, as a bit mask. A
/// lookup costs one hash probe per dot in the name (prefix patterns are looked up by each of
/// the name's own prefixes), whatever the number of patterns. Used for call classification,
/// which runs for every resolved call of every file.
#[derive(Debug, Default, Clone)]
pub struct MaskTable {
    exact: FxHashMap<String, u32>,
    /// `prefix.*` → lists.
    prefixes: FxHashMap<String, u32>,
    /// `parent.<glob>` → (glob, lists).
    globs: FxHashMap<String, Vec<(String, u32)>>,
}

impl MaskTable {
    pub fn add(&mut self, pattern: &str, list: u32) {
        let bit = 1u32 << list;
        if let Some(prefix) = pattern.strip_suffix(".*") {
            *self.prefixes.entry(prefix.to_string()).or_default() |= bit;
        } else if let Some((prefix, last)) = pattern.rsplit_once('.')
            && last.contains('*')
        {
            self.globs
                .entry(prefix.to_string())
                .or_default()
                .push((last.to_string(), bit));
        } else {
            *self.exact.entry(pattern.to_string()).or_default() |= bit;
        }
    }

    /// Adds `name` to the list `list` as a name, never a pattern.
    pub fn add_exact(&mut self, name: &str, list: u32) {
        *self.exact.entry(name.to_string()).or_default() |= 1u32 << list;
    }

    /// The lists `qualified` matches.
    pub fn mask(&self, qualified: &str) -> u32 {
        let mut mask = self.exact.get(qualified).copied().unwrap_or(0);
        let bytes = qualified.as_bytes();
        let mut last_dot = None;
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'.' {
                if let Some(bits) = self.prefixes.get(&qualified[..i]) {
                    mask |= bits;
                }
                last_dot = Some(i);
            }
        }
        if let Some(dot) = last_dot
            && let Some(globs) = self.globs.get(&qualified[..dot])
        {
            let last = &qualified[dot + 1..];
            for (glob, bit) in globs {
                if glob_match(glob, last) {
                    mask |= bit;
                }
            }
        }
        mask
    }
}
