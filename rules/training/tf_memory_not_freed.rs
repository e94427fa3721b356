use rustc_hash::{FxHashMap, FxHashSet};

use crate::registry::prelude::*;
use crate::semantic::Frame;

declare_rule! {
    /// ## What it does
    /// Finds Keras models built inside a loop — `keras.Sequential(...)`, `keras.Model(...)`,
    /// `keras.applications.ResNet50(...)`, `load_model(...)`, a Keras model class of the same
    /// file, or a function of the same file that builds one — when no enclosing loop calls
    /// `keras.backend.clear_session()` (or TF1's `reset_default_graph()`). Calls are resolved
    /// through the imports (`tf.keras` is `keras`).
    ///
    /// ## Why is this bad?
    /// Keras keeps every model it builds in a global state until the session is cleared. A
    /// hyperparameter search, a cross-validation or an ensemble that builds a model per iteration
    /// grows memory with every iteration and slows down model building, until the process runs
    /// out of memory hours into the run.
    ///
    /// ## Example
    /// ```python
    /// for fold, (train, val) in enumerate(folds):
    ///     model = build_model()
    ///     model.fit(x[train], y[train])
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// for fold, (train, val) in enumerate(folds):
    ///     keras.backend.clear_session()
    ///     model = build_model()
    ///     model.fit(x[train], y[train])
    /// ```
    pub static TF_MEMORY_NOT_FREED = {
        code: "DL511",
        name: "tf-memory-not-freed",
        family: Family::Training,
        severity: Severity::Warning,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::File(|_| Box::new(TfMemoryNotFreed::default())),
    };
}

/// Builds and clears are collected during the walk; same-file builder functions and model
/// classes are only all known at the end.
#[derive(Default)]
struct TfMemoryNotFreed {
    /// Keras model built directly: the call and the loops around it (innermost last).
    builds: Vec<(TextRange, String, Vec<TextRange>)>,
    /// Calls of a same-file name inside loops: the name, the call, the loops around it.
    local_calls: Vec<(String, TextRange, Vec<TextRange>)>,
    /// Loops (by range) in which the session is cleared.
    cleared: FxHashSet<TextRange>,
    /// Functions and classes of the file that build a Keras model, by name.
    builders: FxHashMap<String, String>,
    /// Loops that train or run a model (`model.fit(...)` inside).
    used_loops: FxHashSet<TextRange>,
    /// Functions that train or run a model (a `build_model` that compiles it).
    using_functions: FxHashSet<String>,
}

impl TfMemoryNotFreed {
    /// True if the models built at a call inside `loops` are used as models (trained or run)
    /// and no enclosing loop clears the session. `builder`: the same-file function called.
    fn leaks(&self, loops: &[TextRange], builder: Option<&str>) -> bool {
        let used = loops.iter().any(|l| self.used_loops.contains(l))
            || builder.is_some_and(|b| self.using_functions.contains(b));
        used && !loops.iter().any(|l| self.cleared.contains(l))
    }
}

/// True if `canonical` builds a Keras model.
fn builds_model(knowledge: &Knowledge, canonical: &str) -> bool {
    let lists = &knowledge.training.tf_memory;
    if lists.model_builders.contains(canonical) {
        return true;
    }
    let Some((module, name)) = canonical.rsplit_once('.') else {
        return false;
    };
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && lists.model_builder_modules.iter().any(|m| {
            module == m
                || module
                    .strip_prefix(m.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
}

/// Marks a builder that is a model class (not a function).
const CLASS: &str = "class";

/// The loops enclosing the current node inside its function (innermost last).
fn enclosing_loops(cx: &Context<'_, '_>) -> Vec<TextRange> {
    let frames = cx.semantic.frames();
    let start = frames
        .iter()
        .rposition(|f| matches!(f, Frame::Function(_) | Frame::Class(_)))
        .map_or(0, |i| i + 1);
    frames[start..]
        .iter()
        .filter_map(|f| match f {
            Frame::Loop(stmt) => Some(stmt.range()),
            _ => None,
        })
        .collect()
}

/// The innermost enclosing function or class name (what a builder call inside it makes a
/// builder of).
fn enclosing_definition<'a>(cx: &Context<'_, 'a>) -> Option<&'a str> {
    cx.semantic.frames().iter().rev().find_map(|f| match f {
        Frame::Function(def) => Some(def.name.as_str()),
        _ => None,
    })
}

impl<'a> FilePass<'a> for TfMemoryNotFreed {
    fn hooks(&self) -> Hooks {
        Hooks::ALL
    }

    fn stmt(&mut self, cx: &mut Context<'_, 'a>, stmt: &'a Stmt) {
        // A Keras model class of this file: constructing it builds a model.
        let Stmt::ClassDef(class) = stmt else { return };
        let knowledge = cx.knowledge;
        let bases = class
            .arguments
            .as_deref()
            .map(|a| &a.args[..])
            .unwrap_or_default();
        if bases.iter().any(|base| {
            cx.semantic.resolve(base).is_some_and(|q| {
                knowledge
                    .training
                    .tf_memory
                    .model_bases
                    .contains(&knowledge.canonical(&q))
            })
        }) {
            self.builders
                .insert(class.name.to_string(), CLASS.to_string());
        }
    }

    fn expr(&mut self, cx: &mut Context<'_, 'a>, expr: &'a Expr) {
        let Expr::Call(call) = expr else { return };
        let knowledge = cx.knowledge;
        let lists = &knowledge.training.tf_memory;
        let resolved = cx
            .semantic
            .resolve(&call.func)
            .map(|q| knowledge.canonical(&q).into_owned());
        let loops = enclosing_loops(cx);
        if let Expr::Attribute(attribute) = &*call.func
            && lists
                .model_methods
                .iter()
                .any(|m| m == attribute.attr.as_str())
        {
            self.used_loops.extend(loops.iter().copied());
            if let Some(function) = enclosing_definition(cx) {
                self.using_functions.insert(function.to_string());
            }
        }
        if let Some(canonical) = &resolved {
            if lists.clear_calls.contains(canonical) {
                self.cleared.extend(loops);
                return;
            }
            if builds_model(knowledge, canonical) {
                let name = canonical
                    .rsplit('.')
                    .next()
                    .unwrap_or(canonical)
                    .to_string();
                // A function that builds a model makes calls of it builds too.
                if let Some(function) = enclosing_definition(cx) {
                    self.builders
                        .entry(function.to_string())
                        .or_insert_with(|| name.clone());
                }
                if !loops.is_empty() {
                    self.builds.push((call.range(), name, loops));
                }
                return;
            }
        }
        if loops.is_empty() {
            return;
        }
        // `build_model()` or `self.build_model()`: decided at the end.
        let local = match &*call.func {
            Expr::Name(name)
                if resolved.is_none() || cx.semantic.imports.get(&name.id).is_none() =>
            {
                Some(name.id.as_str())
            }
            Expr::Attribute(attribute) if matches!(&*attribute.value, Expr::Name(n) if n.id.as_str() == "self") => {
                Some(attribute.attr.as_str())
            }
            _ => None,
        };
        if let Some(local) = local {
            self.local_calls
                .push((local.to_string(), call.range(), loops));
        }
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        let mut found: Vec<(TextRange, String)> = Vec::new();
        for (range, name, loops) in &self.builds {
            if self.leaks(loops, None) {
                found.push((*range, format!("`{name}(...)`")));
            }
        }
        for (name, range, loops) in &self.local_calls {
            let Some(kind) = self.builders.get(name) else {
                continue;
            };
            if self.leaks(loops, Some(name)) {
                let what = if kind == CLASS {
                    format!("`{name}()`, a Keras model,")
                } else {
                    format!("`{name}()`, which builds a Keras model,")
                };
                found.push((*range, what));
            }
        }
        found.sort_by_key(|(range, _)| range.start());
        for (range, what) in found {
            cx.report(
                Diagnostic::new(
                    &TF_MEMORY_NOT_FREED,
                    format!(
                        "{what} is called in a loop that never clears the Keras session: every model built stays in memory"
                    ),
                    range,
                )
                .with_help(
                    "call `keras.backend.clear_session()` at the start of each iteration, before the model is built",
                ),
            );
        }
    }
}
