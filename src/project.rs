//! What project rules see: the whole project's facts, the roles, and the file being checked.

use crate::config::Settings;
use crate::diagnostic::Diagnostic;
use crate::knowledge::Knowledge;
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
}

impl<'p> ProjectContext<'p> {
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
