//! A finding: what is wrong, where, why it matters and what to do instead, with an optional fix.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ruff_text_size::{TextRange, TextSize};

use crate::registry::Rule;
use crate::source::SourceText;

/// One finding in one file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub rule: Rule,
    pub message: String,
    /// The primary span: where the finding starts is where `# noqa` goes.
    pub range: TextRange,
    /// Secondary spans: the other code involved (the class holding a loss, the loop, ...).
    pub labels: Vec<Label>,
    /// What to do instead, concretely.
    pub help: Option<String>,
    pub fix: Option<Fix>,
}

/// A secondary span, possibly in another file (a superclass, a Loss component).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub range: TextRange,
    pub message: String,
    /// `None`: the same file as the diagnostic.
    pub file: Option<Arc<Path>>,
}

/// Whether a fix is applied by `--fix` alone or needs `--unsafe-fixes` too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Applicability {
    /// Keeps behaviour; applied by `--fix`.
    Safe,
    /// May change behaviour or intent; applied only with `--unsafe-fixes`.
    Unsafe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// A text edit in the diagnostic's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: TextRange,
    pub content: String,
}

impl Edit {
    pub fn deletion(range: TextRange) -> Self {
        Edit {
            range,
            content: String::new(),
        }
    }
    pub fn replacement(range: TextRange, content: impl Into<String>) -> Self {
        Edit {
            range,
            content: content.into(),
        }
    }
    pub fn insertion(at: TextSize, content: impl Into<String>) -> Self {
        Edit {
            range: TextRange::empty(at),
            content: content.into(),
        }
    }
}

/// A set of edits that together resolve one diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub applicability: Applicability,
    /// Non-overlapping edits, sorted by position.
    pub edits: Vec<Edit>,
}

impl Diagnostic {
    pub fn new(rule: Rule, message: impl Into<String>, range: TextRange) -> Self {
        Diagnostic {
            rule,
            message: message.into(),
            range,
            labels: Vec::new(),
            help: None,
            fix: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, range: TextRange, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            range,
            message: message.into(),
            file: None,
        });
        self
    }

    pub fn with_file_label(
        mut self,
        file: Arc<Path>,
        range: TextRange,
        message: impl Into<String>,
    ) -> Self {
        self.labels.push(Label {
            range,
            message: message.into(),
            file: Some(file),
        });
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }
}

/// The findings of one file, with the text needed to show them.
#[derive(Clone)]
pub struct FileReport {
    /// The path as given or discovered (used for configuration and reading).
    pub path: PathBuf,
    /// The path as shown to the user (relative to the working directory where possible).
    pub display: String,
    /// The text the findings refer to; `None` when it could not be read.
    pub source: Option<Arc<SourceText>>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Deterministic order within a file: position (byte order equals line/column order), then
/// code, then the rest, so that equal inputs always print equal bytes.
pub fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        a.range
            .start()
            .cmp(&b.range.start())
            .then_with(|| a.rule.code.cmp(b.rule.code))
            .then_with(|| a.range.end().cmp(&b.range.end()))
            .then_with(|| a.message.cmp(&b.message))
    });
}
