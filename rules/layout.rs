//! Where a project keeps each role's components. Suggestions and split plans name a module the
//! project already has (`losses.py`, `models/`), else the conventional one beside the file; the
//! names are data (`[layout]` in `frameworks.toml`). One answer per directory and role, shared by
//! every rule, so DL105's optimizer factory and DL201's split plan never disagree.

use std::path::Path;

use crate::rule_context::ProjectContext;
use crate::semantic::facts::Role;

/// Directories looked at: the file's own and at most two above it, all inside the project.
const LEVELS: usize = 3;

/// The module for `role`'s components, relative to the file: an existing file (`../losses.py`)
/// or package (`../../loss/`) near it — never the file itself — else the default beside it.
pub(crate) fn component_module(cx: &ProjectContext<'_>, role: Role) -> String {
    let names = names(cx, role);
    let default = names.first().map_or("module.py", String::as_str);
    let file = cx.project_file();
    let Some(dir) = file.absolute.parent() else {
        return default.to_string();
    };
    let question = match role {
        Role::Loss => "loss-module",
        Role::Model => "model-module",
        Role::Dataset => "dataset-module",
        Role::Optimizer => "optimizer-module",
        _ => "runner-module",
    };
    // The file itself is never the answer, so a file named like a candidate (`optim.py`
    // asking where optimizers go) gets an answer of its own; the other files of the directory
    // share one.
    let own = file.absolute.file_name().and_then(|n| n.to_str());
    let asker = own
        .is_some_and(|own| names.iter().any(|n| n == own))
        .then_some(file.absolute.as_path());
    cx.index.memoized_layout(dir, question, asker, || {
        for (depth, ancestor) in searched(cx, dir).enumerate() {
            for name in names {
                let path = ancestor.join(name);
                if path != file.absolute && cx.index.path_exists(&path) {
                    let slash = if name.ends_with(".py") { "" } else { "/" };
                    return format!("{}{name}{slash}", "../".repeat(depth));
                }
            }
        }
        default.to_string()
    })
}

/// True if the file already is where `role`'s components belong: it is such a module
/// (`models.py`) or lives in such a package (`models/clip/modeling_clip.py`).
pub(crate) fn is_in_place(cx: &ProjectContext<'_>, role: Role) -> bool {
    let names = names(cx, role);
    let file = cx.project_file();
    let own = file.absolute.file_name().and_then(|n| n.to_str());
    if own.is_some_and(|own| names.iter().any(|n| n == own)) {
        return true;
    }
    let Some(dir) = file.absolute.parent() else {
        return false;
    };
    searched(cx, dir).any(|ancestor| {
        let name = ancestor.file_name().and_then(|n| n.to_str());
        name.is_some_and(|name| names.iter().any(|n| n == name))
    })
}

fn names<'k>(cx: &ProjectContext<'k>, role: Role) -> &'k [String] {
    let layout = &cx.knowledge().layout;
    match role {
        Role::Loss => &layout.loss,
        Role::Model => &layout.model,
        Role::Dataset => &layout.dataset,
        Role::Optimizer => &layout.optimizer,
        _ => &layout.runner,
    }
}

/// `dir` and up to two directories above it, stopping at the project's edge: the configuration
/// root, or for a file outside it the directory holding its top-level package. Looking above
/// the project would make the advice depend on what happens to sit next to the checkout.
fn searched<'d>(cx: &ProjectContext<'_>, dir: &'d Path) -> impl Iterator<Item = &'d Path> {
    let file = cx.project_file();
    let root = &file.scope.root;
    let edge = if dir.starts_with(root) {
        root.clone()
    } else {
        let depth = file
            .facts
            .package
            .as_deref()
            .map_or(0, |p| p.split('.').count());
        dir.ancestors().nth(depth).unwrap_or(dir).to_path_buf()
    };
    dir.ancestors()
        .take(LEVELS)
        .take_while(move |a| a.starts_with(&edge))
}
