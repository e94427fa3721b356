//! What the loops of a file may run as a model ([`LoopModelCalls`]): a fact the search for
//! evaluation loops reads before it parses a file again. Every answer errs on the side of
//! "may": a call counts unless nothing in the file could make it a model's call.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, ModModule, Stmt};
use rustc_hash::FxHashSet;

use crate::knowledge::{ApiKind, Knowledge};
use crate::semantic::facts::{ClassFacts, LoopModelCalls, Name};

/// The calls with arguments inside the file's loops whose callee (`model` in `model(x)` and in
/// `model.forward(x)`) may be a model: `self`; a name or attribute named like a model; a
/// `self` attribute some class of the file assigns a constructed value; a name the function
/// or the module binds to a call result; and a name an import binds, unless the import is of
/// a framework's function that builds no layer (those are listed, as written through the
/// import, for the project to look up: a library's name may be a project package).
///
/// Loops and functions are read as the evaluation loops' walk reads them: a function's body
/// is its own (its decorators belong to the enclosing code), a class body belongs to the
/// enclosing function, a lambda is not read.
pub(crate) fn loop_model_calls(
    module: &ModModule,
    knowledge: &Knowledge,
    classes: &[ClassFacts],
    module_instances: &[(Name, crate::semantic::facts::Callee)],
) -> LoopModelCalls {
    let mut imports = Imports::default();
    imports.collect(&module.body);
    let mut walker = Walker {
        knowledge,
        attributes: classes
            .iter()
            .flat_map(|c| c.attributes.iter().map(|a| a.name.as_str()))
            .collect(),
        frames: vec![Frame::default()],
        pending: Vec::new(),
        any: false,
    };
    walker.visit_body(&module.body);
    if let Some(frame) = walker.frames.pop() {
        walker.settle(frame);
    }
    let Walker { pending, any, .. } = walker;
    let mut calls = LoopModelCalls {
        any,
        imported: Default::default(),
    };
    if calls.any {
        return calls;
    }
    let mut listed: Vec<&str> = Vec::new();
    for name in pending {
        if module_instances.iter().any(|(n, _)| *n == name) {
            calls.any = true;
            return calls;
        }
        for qualified in imports.of(name) {
            let canonical = knowledge.canonical(qualified);
            if knowledge.classify_call(&canonical) == Some(ApiKind::Layer) {
                calls.any = true;
                return calls;
            }
            listed.push(qualified);
        }
    }
    listed.sort_unstable();
    listed.dedup();
    calls.imported = listed.into_iter().map(Name::from).collect();
    calls
}

/// The names every import of the file binds, with what they import as the file's own
/// references read it (`import a.b` binds `a` to `a`; `from .m import f` binds `f` to
/// `m.f`): imports at any depth, a superset of the module-level ones.
#[derive(Default)]
struct Imports {
    bindings: Vec<(String, String)>,
}

impl Imports {
    fn collect(&mut self, body: &[Stmt]) {
        struct Collector<'i>(&'i mut Vec<(String, String)>);
        impl<'a> Visitor<'a> for Collector<'_> {
            fn visit_stmt(&mut self, stmt: &'a Stmt) {
                match stmt {
                    Stmt::Import(import) => {
                        for alias in &import.names {
                            let binding = match &alias.asname {
                                Some(asname) => (asname.to_string(), alias.name.to_string()),
                                None => {
                                    let head = alias.name.as_str().split('.').next();
                                    let head = head.unwrap_or_default().to_string();
                                    (head.clone(), head)
                                }
                            };
                            self.0.push(binding);
                        }
                    }
                    Stmt::ImportFrom(import) => {
                        let module = import.module.as_ref().map_or("", |m| m.as_str());
                        for alias in &import.names {
                            let local = alias.asname.as_ref().unwrap_or(&alias.name);
                            let qualified = if module.is_empty() {
                                alias.name.to_string()
                            } else {
                                format!("{module}.{}", alias.name)
                            };
                            self.0.push((local.to_string(), qualified));
                        }
                    }
                    _ => visitor::walk_stmt(self, stmt),
                }
            }
            fn visit_expr(&mut self, _: &'a Expr) {}
        }
        let mut collector = Collector(&mut self.bindings);
        collector.visit_body(body);
    }

    fn of<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.bindings
            .iter()
            .filter(move |(local, _)| local == name)
            .map(|(_, qualified)| qualified.as_str())
    }
}

#[derive(Default)]
struct Frame<'a> {
    open_loops: u32,
    /// Names bound by `name = <call>` in the function.
    assigned_calls: FxHashSet<&'a str>,
    /// Names called inside a loop that only a binding can make a model.
    called: Vec<&'a str>,
}

struct Walker<'k, 'a> {
    knowledge: &'k Knowledge,
    /// Attribute names of the file's classes (`self.net = Net()`).
    attributes: FxHashSet<&'k str>,
    frames: Vec<Frame<'a>>,
    /// Names called in a loop that neither the function nor the name's spelling answers for:
    /// a module-level instance or an import may.
    pending: Vec<&'a str>,
    any: bool,
}

impl<'a> Walker<'_, 'a> {
    fn settle(&mut self, frame: Frame<'a>) {
        for name in frame.called {
            if frame.assigned_calls.contains(name) {
                self.any = true;
            } else {
                self.pending.push(name);
            }
        }
    }

    fn call(&mut self, call: &'a ast::ExprCall) {
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        if frame.open_loops == 0 || call.arguments.is_empty() {
            return;
        }
        let evaluation = &self.knowledge.training.evaluation;
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
        match target {
            Expr::Name(name) => {
                let id = name.id.as_str();
                if id == "self" || self.knowledge.is_model_variable(id) {
                    self.any = true;
                } else {
                    frame.called.push(id);
                }
            }
            Expr::Attribute(attr) => {
                let is_self = matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self");
                let name = attr.attr.as_str();
                if self.knowledge.is_model_variable(name)
                    && (is_self || matches!(&*attr.value, Expr::Name(_) | Expr::Attribute(_)))
                    || is_self && self.attributes.contains(name)
                {
                    self.any = true;
                }
            }
            _ => {}
        }
    }
}

impl<'a> Visitor<'a> for Walker<'_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.any {
            return;
        }
        match stmt {
            Stmt::FunctionDef(def) => {
                for decorator in &def.decorator_list {
                    self.visit_expr(&decorator.expression);
                }
                self.frames.push(Frame::default());
                self.visit_body(&def.body);
                if let Some(frame) = self.frames.pop() {
                    self.settle(frame);
                }
            }
            Stmt::ClassDef(def) => self.visit_body(&def.body),
            Stmt::For(_) | Stmt::While(_) => {
                if let Some(frame) = self.frames.last_mut() {
                    frame.open_loops += 1;
                }
                visitor::walk_stmt(self, stmt);
                if let Some(frame) = self.frames.last_mut() {
                    frame.open_loops -= 1;
                }
            }
            Stmt::Assign(assign) => {
                visitor::walk_stmt(self, stmt);
                if let [Expr::Name(target)] = &assign.targets[..]
                    && assign.value.is_call_expr()
                    && let Some(frame) = self.frames.last_mut()
                {
                    frame.assigned_calls.insert(target.id.as_str());
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Lambda(_) => {}
            Expr::Call(call) => {
                self.call(call);
                visitor::walk_expr(self, expr);
            }
            _ => visitor::walk_expr(self, expr),
        }
    }
}
