//! The vocabulary of the rule catalog: the metadata each rule declares, sets of rules, and
//! selectors (`DL1`, `DL305`, `ALL`) as users write them in `--select` and configuration.
//!
//! The catalog itself (the one registration list) is `rules/mod.rs`; this module only knows how
//! to describe and look up what is registered there.

use std::fmt;

use crate::checker::FilePass;
use crate::config::RuleOptions;
use crate::rules;

/// What part of the MODLR story a rule belongs to; also decides the code's hundreds digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// `DL0xx`: files dllint could not read or parse.
    Syntax,
    /// `DL1xx`: MODLR roles tangled together (loss in model, loss in runner, ...).
    Coupling,
    /// `DL2xx`: structure and size smells (god files, long parameter lists, ...).
    Structure,
    /// `DL3xx`: dead experimental code and debugging leftovers.
    DeadCode,
    /// `DL4xx`: tensor-shape documentation.
    Shapes,
    /// `DL5xx`: training-correctness bugs.
    Training,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Syntax => "syntax",
            Family::Coupling => "coupling",
            Family::Structure => "structure",
            Family::DeadCode => "dead-code",
            Family::Shapes => "shapes",
            Family::Training => "training",
        }
    }
}

/// How loudly a finding is shown. Editors map this to their own levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// How a rule treats Jupyter notebooks. A notebook's code cells are linted as one module, but a
/// notebook is not a module: its loop is at module level by construction, it shows model, loss
/// and loop together on purpose, and what it prints is output the reader is meant to see. Each
/// rule says which of its findings still hold there (its doc comment's "Notebooks" section says
/// why); `notebook-ignore` / `extend-notebook-ignore` in the configuration override it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notebooks {
    /// Linted in notebooks as in any Python file.
    Lint,
    /// Not run on notebooks (the default `notebook-ignore` list).
    Skip,
    /// Runs on notebooks with a narrower scope, described in a few words ("debuggers and
    /// breakpoints only"); the rule asks
    /// [`Context::is_notebook`](crate::checker::Context::is_notebook).
    Narrowed(&'static str),
}

impl Notebooks {
    pub fn as_str(self) -> &'static str {
        match self {
            Notebooks::Lint => "lint",
            Notebooks::Skip => "skip",
            Notebooks::Narrowed(_) => "narrowed",
        }
    }

    /// How `dllint rule` and the docs say it.
    pub fn describe(self) -> &'static str {
        match self {
            Notebooks::Lint => "linted",
            Notebooks::Skip => "skipped",
            Notebooks::Narrowed(scope) => scope,
        }
    }
}

/// Whether a rule's diagnostics carry fixes. Tests enforce that rules keep their promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixAvailability {
    None,
    Sometimes,
    Always,
    /// Every diagnostic carries a fix, and it is unsafe: applied with `--unsafe-fixes` only.
    AlwaysUnsafe,
}

impl FixAvailability {
    pub fn as_str(self) -> &'static str {
        match self {
            FixAvailability::None => "none",
            FixAvailability::Sometimes => "sometimes",
            FixAvailability::Always => "always",
            FixAvailability::AlwaysUnsafe => "always (unsafe)",
        }
    }
}

/// The type of a per-rule option, used to validate configuration strictly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    Int,
    Bool,
    Str,
    StrList,
    /// An array of strings, each one of these values (compared without case).
    Choices(&'static [&'static str]),
}

impl OptionKind {
    pub fn describe(self) -> &'static str {
        match self {
            OptionKind::Int => "a non-negative integer",
            OptionKind::Bool => "a boolean",
            OptionKind::Str => "a string",
            OptionKind::StrList => "an array of strings",
            OptionKind::Choices(_) => "an array of strings",
        }
    }
}

/// One option a rule accepts in its configuration sub-table (`[tool.dllint.<rule-name>]`).
#[derive(Debug)]
pub struct OptionSpec {
    pub key: &'static str,
    pub kind: OptionKind,
    /// The default, written as TOML (shown in `dllint rule`).
    pub default: &'static str,
    pub doc: &'static str,
}

/// How the engine runs a rule.
pub enum Check {
    /// Emitted by the engine itself (`DL000`).
    Engine,
    /// Runs during the single per-file tree walk; a fresh pass is made for every file.
    File(MakePass),
    /// Runs after every file has been read, on the facts and the cross-file project index.
    Project(crate::project::ProjectRuleFn),
    /// Both: what one file shows is found during the walk, what takes the project (a Model's
    /// `forward` in another file) afterwards. The two parts must not report the same thing.
    FileAndProject(MakePass, crate::project::ProjectRuleFn),
}

impl Check {
    /// The per-file pass maker, if the rule has one.
    pub fn file_pass(&self) -> Option<MakePass> {
        match self {
            Check::File(make) | Check::FileAndProject(make, _) => Some(*make),
            _ => None,
        }
    }

    /// The project check, if the rule has one.
    pub fn project_check(&self) -> Option<crate::project::ProjectRuleFn> {
        match self {
            Check::Project(check) | Check::FileAndProject(_, check) => Some(*check),
            _ => None,
        }
    }
}

/// Builds a rule's per-file pass from the (resolved) rule options.
pub type MakePass = for<'a> fn(&'a RuleOptions) -> Box<dyn FilePass<'a> + 'a>;

/// Everything dllint knows about a rule. Declared next to the rule's code with
/// [`declare_rule!`](crate::declare_rule) and registered once in `rules/mod.rs`.
pub struct RuleMeta {
    /// Stable short code, e.g. `DL101`; used by `# noqa`, `--select` and configuration.
    pub code: &'static str,
    /// Kebab-case name that reads as "allow <name>", e.g. `loss-in-model`.
    pub name: &'static str,
    pub family: Family,
    /// The default severity (what a finding costs the user); `[tool.dllint.severity]`
    /// overrides it.
    pub severity: Severity,
    /// How the rule treats notebooks by default.
    pub notebooks: Notebooks,
    /// Whether the rule runs when the user selects nothing.
    pub default_enabled: bool,
    pub fix: FixAvailability,
    pub options: &'static [OptionSpec],
    pub check: Check,
    /// The rule's documentation, taken from its doc comment.
    pub docs: &'static str,
}

/// A rule is identified by its (static) metadata.
pub type Rule = &'static RuleMeta;

impl RuleMeta {
    /// The documentation with the one leading space of `///` comments removed.
    pub fn documentation(&self) -> String {
        self.docs
            .lines()
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string()
    }

    /// One sentence for listings: the first paragraph under "What it does".
    pub fn summary(&self) -> String {
        let docs = self.documentation();
        let mut lines = docs
            .lines()
            .skip_while(|l| !l.starts_with("## What it does"))
            .skip(1);
        let mut out = Vec::new();
        for line in lines.by_ref() {
            if line.trim().is_empty() {
                if out.is_empty() {
                    continue;
                }
                break;
            }
            out.push(line.trim());
        }
        out.join(" ")
    }

    /// Position in the registration list; the list is sorted by code (a test checks this).
    pub fn index(&self) -> usize {
        rules::ALL
            .binary_search_by(|r| r.code.cmp(self.code))
            .expect("every rule is registered in rules/mod.rs")
    }

    /// Where the rule's documentation lives (the anchor in `docs/rules.md`).
    pub fn url(&self) -> String {
        format!(
            "{}/blob/main/docs/rules.md#{}-{}",
            env!("CARGO_PKG_REPOSITORY"),
            self.code.to_ascii_lowercase(),
            self.name
        )
    }

    /// `Family: coupling · Default: on · Severity: warning · Notebooks: skipped · Fix: sometimes`,
    /// under the rule's heading in `dllint rule` and `docs/rules.md`.
    pub fn metadata_line(&self) -> String {
        format!(
            "Family: {} · Default: {} · Severity: {} · Notebooks: {} · Fix: {}",
            self.family.as_str(),
            if self.default_enabled { "on" } else { "off" },
            self.severity.as_str(),
            self.notebooks.describe(),
            self.fix.as_str()
        )
    }

    pub fn is_fixable(&self) -> bool {
        self.fix != FixAvailability::None
    }
}

impl fmt::Debug for RuleMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)
    }
}

impl PartialEq for RuleMeta {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}
impl Eq for RuleMeta {}
impl PartialOrd for RuleMeta {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for RuleMeta {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.code.cmp(other.code)
    }
}
impl std::hash::Hash for RuleMeta {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.code.hash(state);
    }
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
        let i = rule.index();
        self.0[i / 64] |= 1 << (i % 64);
    }

    pub fn remove(&mut self, rule: Rule) {
        let i = rule.index();
        self.0[i / 64] &= !(1 << (i % 64));
    }

    pub fn contains(&self, rule: Rule) -> bool {
        let i = rule.index();
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

/// The candidate most similar to `input`, if any is reasonably close. Used by every
/// "did you mean" in configuration and CLI errors.
pub fn closest<'c>(input: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let lowered = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lowered, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Declare a rule's metadata with its documentation taken from the doc comment.
///
/// ```ignore
/// declare_rule! {
///     /// ## What it does
///     /// ...
///     pub static DEBUG_LEFTOVER = {
///         code: "DL305", name: "debug-leftover", family: Family::DeadCode,
///         severity: Severity::Warning, notebooks: Notebooks::Lint, default_enabled: true,
///         fix: FixAvailability::None,
///         options: &[], check: Check::File(|_| Box::new(DebugLeftover::default())),
///     };
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis static $NAME:ident = { $($field:ident : $value:expr),* $(,)? };
    ) => {
        $vis static $NAME: $crate::registry::RuleMeta = $crate::registry::RuleMeta {
            docs: concat!($($doc, "\n"),*),
            $($field: $value),*
        };
    };
}

/// Everything a rule file needs, in one import.
pub mod prelude {
    pub use crate::checker::{Context, FilePass, Hooks};
    pub use crate::config::RuleOptions;
    pub use crate::declare_rule;
    pub use crate::diagnostic::{Applicability, Diagnostic, Edit, FileEdits, Fix, Suggestion};
    pub use crate::knowledge::Knowledge;
    pub use crate::project::ProjectContext;
    pub use crate::registry::{
        Check, Family, FixAvailability, Notebooks, OptionKind, OptionSpec, Severity,
    };
    pub use ruff_python_ast::{self as ast, Expr, Stmt};
    pub use ruff_text_size::{Ranged, TextRange, TextSize};
}
