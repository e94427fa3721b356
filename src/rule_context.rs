//! What project rules see: one file of the project (a [`FileView`]: facts, index, roles), the
//! rule options configured for it, and its syntax tree when a refactoring needs it.

use std::cell::OnceCell;
use std::ops::Deref;

use crate::diagnostic::Diagnostic;
use crate::refactor::ParsedSource;
use crate::registry::RuleOptions;
use crate::semantic::index::{FileId, ProjectIndex};
use crate::semantic::roles::Roles;
pub use crate::semantic::view::FileView;

/// A project rule: runs once per linted file, after every file's facts are known.
pub type ProjectRuleFn = fn(&ProjectContext<'_>, &mut Vec<Diagnostic>);

pub struct ProjectContext<'p> {
    view: FileView<'p>,
    /// The rule options of the file's configuration.
    options: &'p RuleOptions,
    /// The file's syntax tree, parsed again on first use: only rules that build a refactoring
    /// (for a finding) need it, so the cost follows the findings.
    parsed: OnceCell<Option<ParsedSource>>,
    /// Whether the run shows or applies refactorings (see [`ProjectContext::refactorings`]).
    refactorings: bool,
    /// Analyses of the file that several project rules read, computed once.
    shared: crate::checker::SharedAnalyses,
}

impl<'p> ProjectContext<'p> {
    pub fn new(
        index: &'p ProjectIndex,
        roles: &'p Roles,
        file: FileId,
        options: &'p RuleOptions,
        refactorings: bool,
    ) -> Self {
        ProjectContext {
            view: FileView::new(index, roles, file),
            options,
            parsed: OnceCell::new(),
            refactorings,
            shared: crate::checker::SharedAnalyses::default(),
        }
    }

    /// The file's analysis of type `T`, computed by `compute` the first time a rule asks for
    /// it and shared with every other project rule of this file (the evaluation loops DL504
    /// and DL505 both judge).
    pub fn shared<T: 'static>(&self, compute: impl FnOnce(&Self) -> T) -> std::rc::Rc<T> {
        self.shared.get_or_compute(|| compute(self))
    }

    /// Whether refactorings are built for the findings: a run that applies fixes, shows
    /// them (`--diff`, the full text output, JSON, SARIF, an editor's code actions) or counts
    /// them (the summary's hidden fixes) builds them; one whose output has no place for them
    /// (`--output-format github`, `--statistics`, `-q` with the concise format) does not.
    /// A rule reports the same finding either way: only the fix and the suggestion are left
    /// out.
    pub fn refactorings(&self) -> bool {
        self.refactorings
    }

    /// The file seen from the project, without the rule-specific parts.
    pub fn view(&self) -> FileView<'p> {
        self.view
    }

    /// The file's text and syntax tree (`None` if it cannot be read again).
    pub fn parsed(&self) -> Option<&ParsedSource> {
        self.parsed
            .get_or_init(|| ParsedSource::of(self.view.project_file()))
            .as_ref()
    }

    /// The rule options configured for the file.
    pub fn options(&self) -> &'p RuleOptions {
        self.options
    }
}

impl<'p> Deref for ProjectContext<'p> {
    type Target = FileView<'p>;

    fn deref(&self) -> &FileView<'p> {
        &self.view
    }
}
