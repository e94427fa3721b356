//! What project rules see: the whole project's facts, the roles, and the file being checked.

use std::cell::OnceCell;

use crate::config::Settings;
use crate::diagnostic::Diagnostic;
use crate::knowledge::Knowledge;
use crate::refactor::ParsedSource;
use crate::semantic::FileFacts;
use crate::semantic::facts::ClassId;
use crate::semantic::index::{FileId, ProjectFile, ProjectIndex};
use crate::semantic::roles::Roles;
use crate::semantic::verdict::Classifier;

/// A project rule: runs once per linted file, after every file's facts are known.
pub type ProjectRuleFn = fn(&ProjectContext<'_>, &mut Vec<Diagnostic>);

pub struct ProjectContext<'p> {
    pub index: &'p ProjectIndex,
    pub roles: &'p Roles,
    pub file: FileId,
    /// The file's syntax tree, parsed again on first use: only rules that build a refactoring
    /// (for a finding) need it, so the cost follows the findings.
    parsed: OnceCell<Option<ParsedSource>>,
}

impl<'p> ProjectContext<'p> {
    pub fn new(index: &'p ProjectIndex, roles: &'p Roles, file: FileId) -> Self {
        ProjectContext {
            index,
            roles,
            file,
            parsed: OnceCell::new(),
        }
    }

    /// The file's text and syntax tree (`None` if it cannot be read again).
    pub fn parsed(&self) -> Option<&ParsedSource> {
        self.parsed
            .get_or_init(|| ParsedSource::of(self.project_file()))
            .as_ref()
    }

    pub fn project_file(&self) -> &'p ProjectFile {
        self.index.file(self.file)
    }

    pub fn facts(&self) -> &'p FileFacts {
        self.index.facts(self.file)
    }

    pub fn settings(&self) -> &'p Settings {
        &self.index.file(self.file).settings
    }

    pub fn knowledge(&self) -> &'p Knowledge {
        self.index.knowledge(self.file)
    }

    /// The outermost loops of a scope of this file (`None`: module level) that train, as the
    /// training model sees them (through calls too).
    pub fn training_loops(
        &self,
        function: Option<crate::semantic::facts::FunctionId>,
    ) -> Vec<crate::semantic::training::TrainingLoop> {
        self.roles
            .training
            .outermost(self.facts(), self.file, function)
    }

    /// The file is an entry point: a `__main__` block, or training, a run call or a launcher at
    /// module level.
    pub fn is_script(&self) -> bool {
        let facts = self.facts();
        let module = &facts.module;
        facts.main_guard.is_some()
            || self.roles.training.trains(self.file, None)
            || !module.flow().run_calls.is_empty()
            || !module.flow().passed_functions.is_empty()
    }

    /// A demo: a short, self-contained script that takes no options (a tutorial, a lab, an
    /// example). It shows one technique top to bottom in one file, by design, and is not re-run
    /// for results. The entry script of a project (it imports the project's own modules) is no
    /// demo, however short.
    pub fn is_demo_script(&self) -> bool {
        let facts = self.facts();
        self.is_script()
            && !facts.takes_options
            && facts.line_count <= self.knowledge().demo_script_lines
            && !facts
                .imports
                .iter()
                .any(|(_, qualified)| self.index.resolve_qualified(self.file, qualified).is_some())
    }

    /// A classifier for loss values in `class` (or in a function outside any class).
    pub fn classifier(&self, class: Option<ClassId>) -> Classifier<'p> {
        Classifier {
            index: self.index,
            roles: self.roles,
            file: self.file,
            class,
        }
    }
}
