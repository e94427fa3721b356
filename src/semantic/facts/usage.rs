//! How a file uses names and configuration: the names it reads, the command-line options it
//! declares, and the places where a whole parsed namespace is used.

use ruff_text_size::TextRange;
use serde::{Deserialize, Serialize};

use super::*;

/// How a command-line option is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptionSource {
    /// `parser.add_argument("--lr", ...)`: read as `args.lr` anywhere in the project.
    Argparse,
    /// `@click.option("--lr")`: a parameter of the decorated function, read in its body. Only
    /// options that body does not read are kept.
    Click,
}

/// A command-line option declared in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigOption {
    /// Where the parsed value lands: `learning_rate` for `--learning-rate`, or `dest=`.
    pub dest: String,
    /// The option as written (`--learning-rate`), for messages.
    pub flag: String,
    /// The option string in the declaring call.
    pub range: TextRange,
    pub source: OptionSource,
}

/// A place where a whole parsed namespace is used, so that every option counts as read:
/// `vars(args)` passed on, `args.__dict__`, `wandb.config.update(args)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WholesaleUse {
    pub range: TextRange,
    /// `None`: always a whole-namespace use. `Some`: the namespace is handed to this callee,
    /// which is a use unless the callee is a project function or class (its reads count).
    pub callee: Option<Callee>,
    /// The namespace is put into a literal container (`{"args": args}` saved with a
    /// checkpoint, `return model, args`): it leaves the file, so the file's own reads are not
    /// all its reads, but whoever reads it later reads options by name.
    pub stored: bool,
}

/// Sorted, deduplicated names, stored as one string (one allocation per file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameList(Box<str>);

impl NameList {
    pub fn new<'n>(names: impl IntoIterator<Item = &'n str>) -> Self {
        let mut names: Vec<&str> = names
            .into_iter()
            .filter(|n| !n.is_empty() && !n.contains('\n'))
            .collect();
        names.sort_unstable();
        names.dedup();
        NameList(names.join("\n").into_boxed_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split('\n').filter(|n| !n.is_empty())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|n| n == name)
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How the file uses names and configuration (which command-line options it reads, which
/// components it references), kept compact: every file of a large project carries one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageFacts {
    /// Names read: attribute names (`args.lr`, `losses.FocalLoss`, not `self.x`), string keys
    /// (`cfg["lr"]`, `getattr(args, "lr")`, `d.get("lr")`, `"lr" in d`), names imported with
    /// `from m import x` (outside `__init__.py`), module-level definitions used in the file
    /// (outside their own body) or decorated, `__all__` entries, and CamelCase identifiers in
    /// strings (registries: `{"type": "FocalLoss"}`).
    pub names: NameList,
    /// Command-line options declared here.
    pub options: Vec<ConfigOption>,
    /// Attribute names read on a namespace (`args.lr`, `self.hparams.lr`) and where first, for
    /// "did you mean" suggestions.
    pub namespace_reads: Vec<(String, TextRange)>,
    pub wholesale: Vec<WholesaleUse>,
    /// `globals()`, `locals()`, `eval`/`exec`: any module-level name may be used.
    pub dynamic: bool,
    /// Modules whose members are looked up by a computed name (`getattr(models, name)`,
    /// `models.__dict__[name]`), as qualified names.
    pub dynamic_modules: Vec<String>,
    /// The file parses command-line arguments itself (`parser.parse_args()`).
    pub parses: bool,
}
