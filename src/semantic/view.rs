//! One file seen from the whole project: its facts, the index that resolves its names across
//! files, and the roles. What the rules, `dllint map` and `dllint survey` ask about a file.

use crate::knowledge::Knowledge;
use crate::semantic::FileFacts;
use crate::semantic::facts::ClassId;
use crate::semantic::index::{FileId, ProjectFile, ProjectIndex};
use crate::semantic::roles::Roles;
use crate::semantic::verdict::Classifier;

#[derive(Clone, Copy)]
pub struct FileView<'p> {
    pub index: &'p ProjectIndex,
    pub roles: &'p Roles,
    pub file: FileId,
}

impl<'p> FileView<'p> {
    pub fn new(index: &'p ProjectIndex, roles: &'p Roles, file: FileId) -> Self {
        FileView { index, roles, file }
    }

    pub fn project_file(&self) -> &'p ProjectFile {
        self.index.file(self.file)
    }

    pub fn facts(&self) -> &'p FileFacts {
        self.index.facts(self.file)
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
