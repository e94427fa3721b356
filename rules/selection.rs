//! Looking rules up in the catalog and selecting sets of them: what the configuration, the
//! command line and the outputs ask of the registration list in `rules/mod.rs`.

use std::fmt;

use crate::registry::{Notebooks, Rule, closest};
use crate::rules;

/// Position of `rule` in the registration list; the list is sorted by code (a test checks
/// this). A rule that is not registered (only possible in a test) sorts as the syntax error.
pub fn index(rule: Rule) -> usize {
    // A registered rule is one of the statics `ALL` points to: found by address (a few
    // pointer comparisons, where the search by code compares strings), else by code.
    rules::ALL
        .iter()
        .position(|r| std::ptr::eq(*r, rule))
        .or_else(|| index_of(rule.code))
        .unwrap_or(0)
}

fn index_of(code: &str) -> Option<usize> {
    rules::ALL.binary_search_by(|r| r.code.cmp(code)).ok()
}

/// The registered rule with exactly this code (what a finding carries).
pub fn by_code(code: &str) -> Option<Rule> {
    index_of(code).map(|i| rules::ALL[i])
}

/// The rule that reported a finding with this code. Findings are made from registered rules,
/// so this only falls back (to the syntax-error rule) for a code no rule has.
pub fn of_code(code: &str) -> Rule {
    by_code(code).unwrap_or(rules::ALL[0])
}

/// Look a rule up by its exact code (`DL101`) or its name (`loss-in-model`).
pub fn find_rule(code_or_name: &str) -> Option<Rule> {
    let upper = code_or_name.to_ascii_uppercase();
    rules::ALL
        .iter()
        .copied()
        .find(|r| r.code == upper || r.name == code_or_name)
}

/// A set of rules, as a bitset over the registration list.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RuleSet([u64; 2]);

impl RuleSet {
    pub const fn empty() -> Self {
        RuleSet([0, 0])
    }

    pub fn all() -> Self {
        let mut set = Self::empty();
        for rule in rules::ALL {
            set.insert(rule);
        }
        set
    }

    /// The rules that do not run on notebooks unless the configuration says otherwise.
    pub fn notebook_defaults() -> Self {
        let mut set = Self::empty();
        for rule in rules::ALL.iter().filter(|r| r.notebooks == Notebooks::Skip) {
            set.insert(rule);
        }
        set
    }

    /// The rules that run when the user selects nothing.
    pub fn defaults() -> Self {
        let mut set = Self::empty();
        for rule in rules::ALL.iter().filter(|r| r.default_enabled) {
            set.insert(rule);
        }
        set
    }

    pub fn insert(&mut self, rule: Rule) {
        let i = index(rule);
        self.0[i / 64] |= 1 << (i % 64);
    }

    pub fn remove(&mut self, rule: Rule) {
        let i = index(rule);
        self.0[i / 64] &= !(1 << (i % 64));
    }

    /// True if the set holds the rule with this code (a finding's rule).
    pub fn contains_code(&self, code: &str) -> bool {
        index_of(code).is_some_and(|i| self.0[i / 64] & (1 << (i % 64)) != 0)
    }

    pub fn contains(&self, rule: Rule) -> bool {
        let i = index(rule);
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    pub fn extend(&mut self, rules: impl IntoIterator<Item = Rule>) {
        for rule in rules {
            self.insert(rule);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0 == [0, 0]
    }

    pub fn iter(&self) -> impl Iterator<Item = Rule> + '_ {
        rules::ALL.iter().copied().filter(|r| self.contains(r))
    }
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(|r| r.code)).finish()
    }
}

/// Resolve a selector (`ALL`, `DL`, `DL1`, `DL10`, `DL101`) to the rules it names.
///
/// On failure returns a message naming the closest valid selector.
pub fn parse_selector(selector: &str) -> Result<Vec<Rule>, String> {
    let trimmed = selector.trim();
    if trimmed == "ALL" {
        return Ok(rules::ALL.to_vec());
    }
    let matched: Vec<Rule> = rules::ALL
        .iter()
        .copied()
        .filter(|r| r.code.starts_with(trimmed) && trimmed.len() >= 2)
        .collect();
    if !matched.is_empty() {
        return Ok(matched);
    }
    if let Some(rule) = rules::ALL.iter().find(|r| r.name == trimmed) {
        return Ok(vec![rule]);
    }
    let mut message = format!("unknown rule selector `{selector}`");
    if let Some(best) = closest(
        trimmed,
        rules::ALL
            .iter()
            .flat_map(|r| [r.code, r.name])
            .chain(["ALL"]),
    ) {
        message.push_str(&format!("; did you mean `{best}`?"));
    } else {
        message.push_str("; run `dllint rule --all` for the list of rules");
    }
    Err(message)
}
