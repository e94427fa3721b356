//! The vocabulary of the rule catalog: the metadata each rule declares, sets of rules, and
//! selectors (`DL1`, `DL305`, `ALL`) as users write them in `--select` and configuration.
//!
//! The catalog itself (the one registration list) is `rules/mod.rs`; this module only knows how
//! to describe and look up what is registered there.

use std::collections::BTreeMap;
use std::fmt;

use crate::checker::FilePass;

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

pub use crate::diagnostic::Severity;

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

/// What a rule reads of the facts every file contributes to the project, declared per rule
/// (as oxc declares the node types a rule visits): a run builds only what its enabled rules
/// need. Ordered: each level includes the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Needs {
    /// Nothing across files: the rule reads one file's tree.
    Nothing,
    /// The project's symbols and usage: definitions, imports, base classes, names read,
    /// command-line options. Not what each scope does (calls, loops, gradient steps, loss
    /// values, component flow), nor the roles built from it.
    Symbols,
    /// Everything: each scope's training facts too, and the MODLR roles.
    Training,
}

/// How the engine runs a rule.
pub enum Check {
    /// Emitted by the engine itself (`DL000`).
    Engine,
    /// Runs during the single per-file tree walk; a fresh pass is made for every file.
    File(MakePass),
    /// Runs after every file has been read, on the facts and the cross-file project index.
    Project(crate::rule_context::ProjectRuleFn),
    /// Both: what one file shows is found during the walk, what takes the project (a Model's
    /// `forward` in another file) afterwards. The two parts must not report the same thing.
    FileAndProject(MakePass, crate::rule_context::ProjectRuleFn),
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
    pub fn project_check(&self) -> Option<crate::rule_context::ProjectRuleFn> {
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
    /// What the rule reads of the facts files contribute to the project: a run builds only
    /// what its enabled rules need.
    pub needs: Needs,
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

impl crate::diagnostic::RuleIdentity for RuleMeta {
    fn code(&self) -> &'static str {
        self.code
    }
    fn default_severity(&self) -> Severity {
        self.severity
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

/// A value of a per-rule option.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OptionValue {
    Int(u64),
    Bool(bool),
    Str(String),
    StrList(Vec<String>),
}

/// Written as TOML, as the configuration would hold it (`800`, `true`, `["Model", "Loss"]`).
impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
        match self {
            OptionValue::Int(v) => write!(f, "{v}"),
            OptionValue::Bool(v) => write!(f, "{v}"),
            OptionValue::Str(v) => f.write_str(&quote(v)),
            OptionValue::StrList(items) => {
                let items: Vec<String> = items.iter().map(|s| quote(s)).collect();
                write!(f, "[{}]", items.join(", "))
            }
        }
    }
}

/// Per-rule options as configured (`[tool.dllint.god-file] max-lines = 1000`). Rules read their
/// own keys; unset keys fall back to the default declared in the rule's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RuleOptions {
    values: BTreeMap<(&'static str, &'static str), OptionValue>,
}

impl RuleOptions {
    /// Set an option of `rule` (what the configuration gave).
    pub fn set(&mut self, rule: Rule, key: &'static str, value: OptionValue) {
        self.values.insert((rule.code, key), value);
    }

    /// The value the configuration gave an option of `rule`, if it gave one.
    pub fn configured(&self, rule: Rule, key: &str) -> Option<&OptionValue> {
        self.values
            .iter()
            .find(|((code, k), _)| *code == rule.code && *k == key)
            .map(|(_, value)| value)
    }

    /// The effective value of an option of `rule`: as configured, else the rule's default.
    pub fn value(&self, rule: Rule, key: &str) -> OptionValue {
        self.get(rule, key)
    }

    fn get(&self, rule: Rule, key: &str) -> OptionValue {
        let spec = rule
            .options
            .iter()
            .find(|o| o.key == key)
            .unwrap_or_else(|| panic!("{} declares no option `{key}`", rule.code));
        if let Some(value) = self.values.get(&(rule.code, spec.key)) {
            return value.clone();
        }
        default_value(rule.code, spec)
    }

    pub fn int(&self, rule: Rule, key: &str) -> u64 {
        match self.get(rule, key) {
            OptionValue::Int(v) => v,
            other => panic!("{}.{key} is not an integer: {other:?}", rule.code),
        }
    }

    pub fn bool(&self, rule: Rule, key: &str) -> bool {
        match self.get(rule, key) {
            OptionValue::Bool(v) => v,
            other => panic!("{}.{key} is not a boolean: {other:?}", rule.code),
        }
    }

    pub fn string(&self, rule: Rule, key: &str) -> String {
        match self.get(rule, key) {
            OptionValue::Str(v) => v,
            other => panic!("{}.{key} is not a string: {other:?}", rule.code),
        }
    }

    pub fn strings(&self, rule: Rule, key: &str) -> Vec<String> {
        match self.get(rule, key) {
            OptionValue::StrList(v) => v,
            other => panic!("{}.{key} is not a list of strings: {other:?}", rule.code),
        }
    }
}

/// The default of an option, parsed from its TOML once per process: rules read their options
/// for every file they check.
fn default_value(code: &'static str, spec: &'static OptionSpec) -> OptionValue {
    type Defaults = rustc_hash::FxHashMap<(&'static str, &'static str), OptionValue>;
    static DEFAULTS: std::sync::Mutex<Option<Defaults>> = std::sync::Mutex::new(None);
    let mut defaults = DEFAULTS.lock().unwrap_or_else(|e| e.into_inner());
    defaults
        .get_or_insert_with(Defaults::default)
        .entry((code, spec.key))
        .or_insert_with(|| {
            let key = spec.key;
            let table: toml::Table = toml::from_str(&format!("v = {}", spec.default))
                .unwrap_or_else(|e| panic!("default of {code}.{key} is not TOML: {e}"));
            parse_default(spec.kind, &table["v"])
                .unwrap_or_else(|| panic!("default of {code}.{key} has the wrong type"))
        })
        .clone()
}

fn parse_default(kind: OptionKind, value: &toml::Value) -> Option<OptionValue> {
    Some(match (kind, value) {
        (OptionKind::Int, toml::Value::Integer(i)) => OptionValue::Int(u64::try_from(*i).ok()?),
        (OptionKind::Bool, toml::Value::Boolean(b)) => OptionValue::Bool(*b),
        (OptionKind::Str, toml::Value::String(s)) => OptionValue::Str(s.clone()),
        (OptionKind::StrList | OptionKind::Choices(_), toml::Value::Array(items)) => {
            OptionValue::StrList(
                items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect::<Option<_>>()?,
            )
        }
        _ => return None,
    })
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
    pub use crate::declare_rule;
    pub use crate::diagnostic::{Applicability, Diagnostic, Edit, FileEdits, Fix, Suggestion};
    pub use crate::knowledge::Knowledge;
    pub use crate::registry::{
        Check, Family, FixAvailability, Needs, Notebooks, OptionKind, OptionSpec, RuleOptions,
        Severity,
    };
    pub use crate::rule_context::ProjectContext;
    pub use ruff_python_ast::{self as ast, Expr, Stmt};
    pub use ruff_text_size::{Ranged, TextRange, TextSize};
}
