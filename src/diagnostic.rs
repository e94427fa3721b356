//! A finding: what is wrong, where, why it matters and what to do instead, with an optional fix.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ruff_text_size::{TextRange, TextSize};

use crate::source::SourceText;

/// What a finding needs to know of the rule that reports it. The rule's metadata (name,
/// documentation, family) lives in the catalog; a finding carries only the code.
pub trait RuleIdentity {
    /// The stable code, e.g. `DL101`.
    fn code(&self) -> &'static str;
    /// The severity the rule has unless the configuration changes it.
    fn default_severity(&self) -> Severity;
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

/// One finding in one file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// The code of the rule that reports it (`DL101`).
    pub code: &'static str,
    /// How loudly it is shown: the rule's default, or what `[tool.dllint.severity]` sets for
    /// the file's configuration (applied when the report is assembled).
    pub severity: Severity,
    pub message: String,
    /// The primary span: where the finding starts is where `# noqa` goes.
    pub range: TextRange,
    /// Secondary spans: the other code involved (the class holding a loss, the loop, ...).
    pub labels: Vec<Label>,
    /// What to do instead, concretely.
    pub help: Option<String>,
    pub fix: Option<Fix>,
    /// A generated refactoring (a Loss component extracted from the code, a Runner, ...):
    /// shown under the help text; applied with `--unsafe-fixes --fix` through [`Diagnostic::fix`].
    pub suggestion: Option<Box<Suggestion>>,
    /// The rule writes a refactoring for this finding, but the run did not ask for it (the
    /// human formats build refactorings only with `--show-refactorings`): the full output says
    /// how to see it.
    pub refactoring_withheld: bool,
    /// The run asked for the finding's refactoring and the rule could not write one: why (the
    /// full output says so, where it would show the refactoring).
    pub refactoring_declined: Option<String>,
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
    /// Non-overlapping edits in the diagnostic's file, sorted by position.
    pub edits: Vec<Edit>,
    /// Edits in other files, applied together with `edits` or not at all (a refactoring that
    /// writes a new component to `loss.py` and rewrites the call site).
    pub other_files: Vec<FileEdits>,
}

/// Edits in a file other than the diagnostic's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdits {
    /// The path as the diagnostic's file is given (relative or absolute).
    pub path: PathBuf,
    /// True if the file does not exist yet: the edits are one insertion at offset 0.
    pub create: bool,
    /// Non-overlapping edits, sorted by position.
    pub edits: Vec<Edit>,
}

impl Fix {
    pub fn new(title: impl Into<String>, applicability: Applicability, edits: Vec<Edit>) -> Self {
        let mut edits = edits;
        edits.sort_by_key(|e| (e.range.start(), e.range.end()));
        Fix {
            title: title.into(),
            applicability,
            edits,
            other_files: Vec::new(),
        }
    }

    /// A fix applied by `--fix`.
    pub fn safe(title: impl Into<String>, edits: Vec<Edit>) -> Self {
        Fix::new(title, Applicability::Safe, edits)
    }

    /// A fix applied only with `--unsafe-fixes`.
    pub fn unsafe_edits(title: impl Into<String>, edits: Vec<Edit>) -> Self {
        Fix::new(title, Applicability::Unsafe, edits)
    }

    pub fn with_other_file(mut self, file: FileEdits) -> Self {
        self.other_files.push(file);
        self
    }

    /// The span of the edits in the diagnostic's file (`None` without edits there).
    pub fn span(&self) -> Option<TextRange> {
        let start = self.edits.iter().map(|e| e.range.start()).min()?;
        let end = self.edits.iter().map(|e| e.range.end()).max()?;
        Some(TextRange::new(start, end))
    }
}

/// A refactoring generated from the user's code: the new component and where it goes. Every
/// snippet is verified before it is attached (it parses, and reads only names it binds,
/// imports or receives); otherwise the finding keeps its prose help only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// What the refactoring does, e.g. "Extract the loss into `FasterRCNNLoss` in `loss.py`".
    pub title: String,
    /// Where the component goes, relative to the diagnostic's file (`loss.py`, `../losses.py`).
    pub target_file: String,
    /// The component's code (with the imports it needs), as it would be written.
    pub code: String,
    /// The call-site line that replaces the moved code, for display.
    pub call: Option<String>,
}

impl Diagnostic {
    pub fn new<R: RuleIdentity + ?Sized>(
        rule: &R,
        message: impl Into<String>,
        range: TextRange,
    ) -> Self {
        Diagnostic {
            code: rule.code(),
            severity: rule.default_severity(),
            message: message.into(),
            range,
            labels: Vec::new(),
            help: None,
            fix: None,
            suggestion: None,
            refactoring_withheld: false,
            refactoring_declined: None,
        }
    }

    /// Mark the finding as one whose refactoring the run did not build (see
    /// [`Diagnostic::refactoring_withheld`]).
    pub fn withholding_refactoring(mut self) -> Self {
        self.refactoring_withheld = true;
        self
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

    pub fn with_optional_fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix;
        self
    }

    pub fn with_suggestion(mut self, suggestion: Suggestion) -> Self {
        self.suggestion = Some(Box::new(suggestion));
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
    /// Where the text the findings refer to is.
    pub text: ReportText,
    pub diagnostics: Vec<Diagnostic>,
}

/// Where a [`FileReport`]'s text is: kept when it cannot be read again, else on disk.
#[derive(Clone)]
pub enum ReportText {
    /// Stdin or an editor's buffer.
    Kept(Arc<SourceText>),
    /// A file on disk, read by [`FileReport::source`] when it is rendered.
    OnDisk,
    /// No text (stdin that could not be read).
    Unavailable,
}

impl FileReport {
    /// The text the findings refer to: the kept one, or the file read now (`None` when it
    /// cannot be read). Outputs read it one file at a time as they render it, so a run never
    /// holds the text of every file with findings at once.
    pub fn source(&self) -> Option<Arc<SourceText>> {
        match &self.text {
            ReportText::Kept(text) => Some(text.clone()),
            ReportText::OnDisk => crate::source::read_source(&self.path).ok().map(Arc::new),
            ReportText::Unavailable => None,
        }
    }
}

/// Deterministic order within a file: position (byte order equals line/column order), then
/// code, then the rest, so that equal inputs always print equal bytes.
pub fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        a.range
            .start()
            .cmp(&b.range.start())
            .then_with(|| a.code.cmp(b.code))
            .then_with(|| a.range.end().cmp(&b.range.end()))
            .then_with(|| a.message.cmp(&b.message))
    });
}
