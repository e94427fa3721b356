//! What the loops of a file may run as a model ([`LoopModelCalls`]): a fact the search for
//! evaluation loops reads before it parses a file again. Collected during the builder's walk;
//! every answer errs on the side of "may": a call counts unless nothing in the file could
//! make it a model's call.

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use crate::knowledge::{ApiKind, Knowledge};
use crate::semantic::facts::{Callee, ClassFacts, FunctionId, LoopModelCalls, Name};
use crate::semantic::imports::{ImportBinding, import_bindings};

/// The calls with arguments inside the file's loops whose callee (`model` in `model(x)` and in
/// `model.forward(x)`) may be a model: `self`; a name or attribute named like a model; a
/// `self` attribute some class of the file constructs; a name the function or the module
/// binds to a call result; and a name an import binds, when the import is of a layer (the
/// other imports are listed, as the file's references read them, for the project to look up).
///
/// A function's decorators and parameters belong to the code around it, as its body does not;
/// a class body belongs to the function around it; a lambda's body is not read.
#[derive(Default)]
pub(crate) struct LoopCalls<'a> {
    /// Scopes with a call that may, whatever the project holds.
    found: Vec<usize>,
    /// Names called in a loop that only a binding can make a model: (scope, name, called on
    /// `self`).
    called: Vec<(usize, &'a str, bool)>,
    /// Every import binding of the file, at any depth.
    imports: Vec<ImportBinding<'a>>,
}

impl<'a> LoopCalls<'a> {
    /// The names an import binds, read as the evaluation loops' walk reads them
    /// ([`import_bindings`]).
    pub(crate) fn import(&mut self, stmt: &'a Stmt) {
        self.imports.extend(import_bindings(stmt));
    }

    /// A call with arguments inside a loop of the code of `scope`.
    pub(crate) fn call(&mut self, call: &'a ast::ExprCall, scope: usize, knowledge: &Knowledge) {
        let evaluation = &knowledge.training.evaluation;
        let target = match &*call.func {
            Expr::Attribute(attr)
                if evaluation
                    .forward_methods
                    .iter()
                    .any(|m| m == attr.attr.as_str()) =>
            {
                &*attr.value
            }
            other => other,
        };
        let mut sure = false;
        match target {
            Expr::Name(name) => {
                let id = name.id.as_str();
                if id == "self" || knowledge.is_model_variable(id) {
                    sure = true;
                } else {
                    self.called.push((scope, id, false));
                }
            }
            Expr::Attribute(attr) => {
                let on_self = matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self");
                if on_self {
                    // Decided at the end, against the classes' attributes.
                    self.called.push((scope, attr.attr.as_str(), true));
                } else if matches!(&*attr.value, Expr::Name(_) | Expr::Attribute(_))
                    && knowledge.is_model_variable(attr.attr.as_str())
                {
                    sure = true;
                }
            }
            _ => {}
        }
        if sure && self.found.last() != Some(&scope) {
            self.found.push(scope);
        }
    }

    /// The answer, once the file's classes, module-level instances and every scope's
    /// assignments are known. `assigned_call(scope, name)`: the scope binds `name` to a call;
    /// `function(scope)`: the function whose body the scope is (`None`: the module).
    pub(crate) fn finish(
        self,
        knowledge: &Knowledge,
        classes: &[ClassFacts],
        module_instances: &[(Name, Callee)],
        assigned_call: impl Fn(usize, &str) -> bool,
        function: impl Fn(usize) -> Option<FunctionId>,
    ) -> LoopModelCalls {
        let mut found = self.found;
        // A loop calls the same few names many times: each is decided once.
        let mut called = self.called;
        called.sort_unstable();
        called.dedup();
        let attributes: rustc_hash::FxHashSet<&str> = if called.iter().any(|&(.., s)| s) {
            classes
                .iter()
                .flat_map(|c| c.attributes.iter().map(|a| a.name.as_str()))
                .collect()
        } else {
            Default::default()
        };
        let mut listed: Vec<(usize, String)> = Vec::new();
        for &(scope, name, on_self) in &called {
            let sure = if on_self {
                knowledge.is_model_variable(name) || attributes.contains(name)
            } else {
                assigned_call(scope, name) || module_instances.iter().any(|(n, _)| *n == name)
            };
            if sure {
                found.push(scope);
                continue;
            }
            if on_self {
                continue;
            }
            for binding in self.imports.iter().filter(|b| b.local == name) {
                let qualified = binding.qualified();
                if knowledge.classify_call(&knowledge.canonical(&qualified)) == Some(ApiKind::Layer)
                {
                    found.push(scope);
                } else {
                    listed.push((scope, qualified));
                }
            }
        }
        let mut scopes: Vec<Option<FunctionId>> = found.into_iter().map(&function).collect();
        scopes.sort_unstable();
        scopes.dedup();
        let mut imported: Vec<(Option<FunctionId>, Name)> = listed
            .into_iter()
            .map(|(scope, q)| (function(scope), Name::from(q.as_str())))
            .filter(|(scope, _)| scopes.binary_search(scope).is_err())
            .collect();
        imported.sort_unstable_by(|a, b| (a.0, a.1.as_str()).cmp(&(b.0, b.1.as_str())));
        imported.dedup();
        LoopModelCalls {
            scopes: scopes.into_iter().collect(),
            imported: imported.into_iter().collect(),
        }
    }
}

/// Where a function's own code starts: its decorators, parameters and annotations come before
/// and belong to the code around it.
pub(crate) fn body_start(def: &ast::StmtFunctionDef) -> ruff_text_size::TextSize {
    def.body.first().map_or(def.end(), |s| s.start())
}

/// The innermost lambda around `range`, dropping those the walk has left (expressions are
/// visited before their children, in source order).
pub(crate) fn in_lambda(lambdas: &mut Vec<TextRange>, range: TextRange) -> bool {
    while let Some(last) = lambdas.last() {
        if last.contains_range(range) {
            return true;
        }
        lambdas.pop();
    }
    false
}
