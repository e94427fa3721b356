//! `DL1xx`: MODLR roles tangled together. These rules run on the project index, after every
//! file's facts are known, so that roles resolve across files.

pub mod data_prep_in_runner;
pub mod loss_in_model;
pub mod loss_in_model_runner;
pub mod loss_in_runner;
pub mod loss_with_backward;
pub mod module_level_training_loop;
pub mod optimizer_in_model;

use ruff_text_size::TextRange;

use crate::project::ProjectContext;
use crate::semantic::facts::{ClassId, Evidence, FunctionFacts, FunctionId, LossValue, Role};
use crate::semantic::index::Symbol;
use crate::semantic::verdict::{CalleeClass, Definition, Verdict};

/// Where a model computes a loss.
pub struct LossSite {
    pub range: TextRange,
    pub method: FunctionId,
    /// Set when the site is a loss definition (formula), not only a call of a loss.
    pub definition: Option<Definition>,
}

/// What a framework calls a method for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Computes the loss (Lightning `training_step`, Keras `train_step`, HF `compute_loss`).
    Loss,
    /// Builds the optimizer (Lightning `configure_optimizers`, Keras `compile`).
    Optimizer,
}

/// The framework hook a method implements, with the framework's name.
pub fn hook<'p>(
    cx: &ProjectContext<'p>,
    class: ClassId,
    method: &FunctionFacts,
) -> Option<(Hook, &'p str)> {
    let framework = cx.roles.framework(cx.index, cx.file, class)?;
    if framework.loss_hooks.contains(&method.name) {
        return Some((Hook::Loss, framework.name.as_str()));
    }
    if framework.optimizer_hooks.contains(&method.name) {
        return Some((Hook::Optimizer, framework.name.as_str()));
    }
    None
}

/// Definitions among a scope's differentiated and returned loss values, deduplicated by the
/// statement that defines them.
pub(crate) fn definitions<'v>(
    cx: &ProjectContext<'_>,
    class: Option<ClassId>,
    values: impl Iterator<Item = &'v LossValue>,
) -> Vec<(&'v LossValue, Definition)> {
    let classifier = cx.classifier(class);
    let mut found: Vec<(&LossValue, Definition)> = Vec::new();
    for value in values {
        if let Verdict::Definition(definition) = classifier.verdict(value)
            && !found.iter().any(|(v, _)| v.definition == value.definition)
        {
            found.push((value, definition));
        }
    }
    found.sort_by_key(|(v, _)| v.definition.start());
    found
}

/// Every place where the methods of a model class compute a loss. In framework loss hooks
/// (Lightning `training_step`, Keras `train_step`) only inline definitions count: delegating
/// to a Loss component there is the framework's contract.
pub fn model_loss_sites(cx: &ProjectContext<'_>, class: ClassId) -> Vec<LossSite> {
    let facts = cx.facts();
    let classifier = cx.classifier(Some(class));
    let mut sites = Vec::new();
    for &id in &facts.classes[class as usize].methods {
        let method = &facts.functions[id as usize];
        match hook(cx, class, method) {
            Some((Hook::Optimizer, _)) => continue,
            Some((Hook::Loss, _)) => {
                let values = method
                    .body
                    .differentiated
                    .iter()
                    .chain(&method.body.returned);
                for (value, definition) in definitions(cx, Some(class), values) {
                    sites.push(LossSite {
                        range: value.definition,
                        method: id,
                        definition: Some(definition),
                    });
                }
                continue;
            }
            None => {}
        }
        for evidence in &method.body.evidence {
            let counts = match &evidence.kind {
                Evidence::LossApiCall(_) | Evidence::AddLoss | Evidence::NamedAssign(_) => true,
                Evidence::CalleeCall(callee) => classifier.classify(callee) == CalleeClass::Loss,
            };
            if counts {
                sites.push(LossSite {
                    range: evidence.range,
                    method: id,
                    definition: None,
                });
            }
        }
        let values = method
            .body
            .differentiated
            .iter()
            .chain(&method.body.returned);
        for (value, definition) in definitions(cx, Some(class), values) {
            sites.push(LossSite {
                range: value.definition,
                method: id,
                definition: Some(definition),
            });
        }
    }
    sites.sort_by_key(|s| (s.range.start(), s.range.end()));
    sites.dedup_by(|a, b| b.range.contains_range(a.range) && a.method == b.method);
    sites
}

/// True if the class plays `role` (and is not a Loss, which wins over Model for criterions).
pub(crate) fn is_role(cx: &ProjectContext<'_>, class: ClassId, role: Role) -> bool {
    let roles = &cx.roles.class(cx.file, class).roles;
    roles.contains(role) && !(role == Role::Model && roles.contains(Role::Loss))
}

/// `SmallResNet` → `SmallResNetLoss`; `FasterRCNN` → `FasterRCNNLoss`.
pub(crate) fn loss_name(class: &str) -> String {
    let base = class
        .strip_suffix("Model")
        .filter(|b| !b.is_empty())
        .unwrap_or(class);
    format!("{base}Loss")
}

/// The file name shown in messages.
pub(crate) fn file_name(cx: &ProjectContext<'_>) -> String {
    cx.project_file()
        .path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// True if the file is a self-contained script — a notebook, or a file that runs itself (an
/// `if __name__ == "__main__":` block, a loop at module level) — and no other project
/// file imports from it. Its classes and its training loop are one program: a class that
/// couples model and training there has one user, and the coupling costs nothing until the
/// class is reused (reviewers judge it the script's style: a tutorial, a minimal example).
pub(crate) fn is_self_contained_script(cx: &ProjectContext<'_>) -> bool {
    let file = cx.project_file();
    let facts = cx.facts();
    let notebook = file.path.extension().is_some_and(|e| e == "ipynb");
    let runs = notebook || facts.main_guard.is_some() || !facts.module.loops.is_empty();
    if !runs {
        return false;
    }
    let Some(stem) = file.path.file_stem().and_then(|s| s.to_str()) else {
        return false;
    };
    let imported = (0..cx.index.files.len() as u32)
        .filter(|&f| f != cx.file)
        .any(|f| {
            cx.index.facts(f).imports.iter().any(|(_, qualified)| {
                qualified.split('.').any(|segment| segment == stem)
                    && matches!(
                        cx.index.resolve_qualified(f, qualified),
                        Some(Symbol::Module(t) | Symbol::Class(t, _) | Symbol::Function(t, _))
                            if t == cx.file
                    )
            })
        });
    !imported
}
