use globset::{Glob, GlobMatcher};

use crate::registry::prelude::*;
use crate::semantic::usage::components;

declare_rule! {
    /// ## What it does
    /// Finds Model, Loss and Dataset components (classes, and loss functions, as dllint's role
    /// inference sees them) that are defined in the project and referenced nowhere: no file
    /// imports them (`from losses import FocalLoss`; a re-export in a package `__init__.py` does
    /// not count), calls, instantiates or subclasses them, names them as an attribute
    /// (`losses.FocalLoss`), in a string (`{"type": "FocalLoss"}`) or in `__all__`. A
    /// decorated definition counts as referenced (`@register_model("resnet")` registers it),
    /// except for decorators that register nothing (`@dataclass`, `@torch.jit.script`). Files
    /// that look names up dynamically (`globals()[name]`, `getattr(models, name)`) have all their
    /// components counted as referenced.
    ///
    /// Off by default: a project whose components are meant to be imported by others (a
    /// library, a model zoo) has many definitions it does not use itself. List such packages in
    /// `library-packages`, or select the rule only for experiment code.
    ///
    /// ## Why is this bad?
    /// Trial and error leaves components behind: the loss tried for a week, the model variant
    /// that lost. Nobody deletes them, because nobody is sure they are unused, and every reader
    /// after that has to understand them, keep them compiling, and wonder which one the
    /// results came from.
    ///
    /// ## Example
    /// ```python
    /// # losses.py
    /// class FocalLoss(nn.Module):       # imported nowhere
    ///     def forward(self, logits, targets): ...
    ///
    /// class LabelSmoothingLoss(nn.Module):
    ///     def forward(self, logits, targets): ...
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// # losses.py: keep what the experiments use; git remembers the rest
    /// class LabelSmoothingLoss(nn.Module):
    ///     def forward(self, logits, targets): ...
    /// ```
    ///
    /// ## Notebooks
    /// Linted: a component defined in a notebook and used nowhere in the project is dead there too.
    pub static UNUSED_COMPONENT = {
        code: "DL306",
        name: "unused-component",
        family: Family::DeadCode,
        severity: Severity::Warning,
        notebooks: Notebooks::Lint,
        default_enabled: false,
        fix: FixAvailability::None,
        options: &[OptionSpec {
            key: "library-packages",
            kind: OptionKind::StrList,
            default: "[]",
            doc: "Packages meant as libraries, whose components are not reported: dotted \
                  package names (`mylib`, `mylib.models`) or path globs relative to the \
                  configuration file (`src/zoo/**`).",
        }],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let found = components(cx.index, cx.roles, cx.file);
    if found.is_empty() {
        return;
    }
    let references = cx.index.references(cx.roles);
    if references
        .dynamic
        .get(cx.file as usize)
        .copied()
        .unwrap_or(true)
    {
        return;
    }
    if in_library(cx) {
        return;
    }
    for component in found {
        if references.referenced.contains(component.name) {
            continue;
        }
        let kind = if component.is_class {
            "class"
        } else {
            "function"
        };
        out.push(
            Diagnostic::new(
                &UNUSED_COMPONENT,
                format!(
                    "{} {kind} `{}` is referenced nowhere in the project",
                    component.role.as_str(),
                    component.name
                ),
                component.name_range,
            )
            .with_help(format!(
                "delete `{}` (version control keeps it) or use it; if it is meant to be imported \
                 by other projects, list its package in `[tool.dllint.unused-component] \
                 library-packages`",
                component.name
            )),
        );
    }
}

/// True if the file belongs to a package listed in `library-packages`.
fn in_library(cx: &ProjectContext<'_>) -> bool {
    let entries = cx.options().strings(&UNUSED_COMPONENT, "library-packages");
    if entries.is_empty() {
        return false;
    }
    let file = cx.project_file();
    let stem = file
        .absolute
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let module = match (&file.facts.package, stem) {
        (Some(package), "__init__") => package.clone(),
        (Some(package), stem) => format!("{package}.{stem}"),
        (None, stem) => stem.to_string(),
    };
    let relative = file
        .absolute
        .strip_prefix(&file.scope.root)
        .unwrap_or(&file.absolute);
    entries.iter().any(|entry| {
        if entry.contains(['/', '*', '?', '[']) || entry.ends_with(".py") {
            globs(entry).iter().any(|g| g.is_match(relative))
        } else {
            module == *entry
                || module.starts_with(entry.as_str()) && module.as_bytes()[entry.len()] == b'.'
        }
    })
}

/// A path glob, and the same glob as a directory (`src/zoo` matches everything below it).
fn globs(pattern: &str) -> Vec<GlobMatcher> {
    let trimmed = pattern.trim_end_matches('/');
    [trimmed.to_string(), format!("{trimmed}/**")]
        .iter()
        .filter_map(|p| Glob::new(p).ok().map(|g| g.compile_matcher()))
        .collect()
}
