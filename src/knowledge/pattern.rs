//! Matching qualified names against the patterns of the knowledge data:
//! `torch.optim.Adam` (exact), `torch.optim.*` (any member, at any depth below the prefix) and
//! `torch.nn.*Loss` (a direct member whose name ends in `Loss`).

use rustc_hash::FxHashSet;

#[derive(Debug, Default, Clone)]
pub struct NameSet {
    exact: FxHashSet<String>,
    /// `prefix.*`: anything below `prefix`.
    prefixes: Vec<String>,
    /// `prefix.*Suffix`: a direct member of `prefix` ending in `Suffix`.
    suffixed: Vec<(String, String)>,
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
        if let Some(prefix) = pattern.strip_suffix(".*") {
            self.prefixes.push(prefix.to_string());
        } else if let Some((prefix, last)) = pattern.rsplit_once('.')
            && let Some(suffix) = last.strip_prefix('*')
        {
            self.suffixed.push((prefix.to_string(), suffix.to_string()));
        } else {
            self.exact.insert(pattern);
        }
    }

    pub fn contains(&self, qualified: &str) -> bool {
        if self.exact.contains(qualified) {
            return true;
        }
        for prefix in &self.prefixes {
            if qualified.len() > prefix.len()
                && qualified.starts_with(prefix.as_str())
                && qualified.as_bytes()[prefix.len()] == b'.'
            {
                return true;
            }
        }
        if let Some((parent, last)) = qualified.rsplit_once('.') {
            for (prefix, suffix) in &self.suffixed {
                if parent == prefix && last.ends_with(suffix.as_str()) && last.len() > suffix.len()
                {
                    return true;
                }
            }
        }
        false
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefixes.is_empty() && self.suffixed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_prefix_and_suffix_patterns() {
        let set = NameSet::new(
            ["torch.optim.Adam", "optax.*", "torch.nn.*Loss"]
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
    }
}
