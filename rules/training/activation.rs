//! Shared by DL506, DL507 and DL509: which values came out of a softmax, a log-softmax or a
//! sigmoid, and where those values meet a loss or a logarithm.
//!
//! The tracking is simple local data flow: the statements of each function (and of the module)
//! are read in order; a name is bound to an activation output by an assignment
//! (`probs = F.softmax(logits, -1)`) and loses it when it is bound again
//! (`probs = probs.clamp(min=1e-6)`). Callables are tracked the same way: a loss instance
//! (`criterion = nn.CrossEntropyLoss()`), an activation layer (`act = nn.Softmax(dim=1)`) or a
//! `Sequential` whose last layer is one, bound to a local name or to `self.<attr>` in any
//! method of the class. Names alone never decide: every API is resolved through the imports.

use std::collections::HashMap;

use ruff_python_ast::ExprCall;
use ruff_python_ast::visitor::{self, Visitor};

use crate::knowledge::Knowledge;
use crate::registry::prelude::*;
use crate::semantic::Semantic;
use crate::semantic::activation::{self, Built, in_list, is_class_name};

use crate::semantic::activation::LossSpec;
pub use crate::semantic::facts::{Activation, Expects};

/// Where a value got its activation.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub act: Activation,
    /// The call that applied the activation.
    pub range: TextRange,
}

#[derive(Debug, Clone)]
enum Binding {
    /// A tensor that came out of an activation.
    Value(Origin),
    /// A callable whose output is an activation output (a layer, or a model when `model`).
    Activation { origin: Origin, model: bool },
    /// A loss instance.
    Loss(LossSpec),
}

/// Where an activation output meets a loss or a logarithm.
#[derive(Debug, Clone)]
pub enum Event {
    /// A loss gets an activation output as its prediction.
    Loss {
        kind: Expects,
        name: String,
        /// The prediction argument.
        argument: TextRange,
        origin: Origin,
    },
    /// A logarithm of an activation output; `direct` when the activation call is the argument
    /// itself (`torch.log(F.softmax(x, -1))`).
    Log {
        function: String,
        argument: TextRange,
        origin: Origin,
        direct: bool,
    },
    /// A Keras model whose output layer is a softmax compiled with a `from_logits=True` loss.
    Compile {
        name: String,
        loss: TextRange,
        origin: Origin,
    },
}

/// A file's key (path, text hash) and its events.
type CachedEvents = ((std::path::PathBuf, u64), std::rc::Rc<Vec<Event>>);

thread_local! {
    /// The events of the file being linted on this thread: DL506, DL507 and DL509 all read
    /// them, and the walk is done once. Keyed by the path and a hash of the text (a file is
    /// linted again with another text by `--fix`).
    static EVENTS: std::cell::RefCell<Option<CachedEvents>> =
        const { std::cell::RefCell::new(None) };
}

/// Every [`Event`] in the file, in source order, computed once per file.
pub fn events(cx: &Context<'_, '_>) -> std::rc::Rc<Vec<Event>> {
    let key = (
        cx.path.to_path_buf(),
        xxhash_rust::xxh3::xxh3_64(cx.text().as_bytes()),
    );
    if let Some(found) = EVENTS.with(|cache| {
        cache
            .borrow()
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, events)| events.clone())
    }) {
        return found;
    }
    let events = std::rc::Rc::new(walk(cx));
    EVENTS.with(|cache| *cache.borrow_mut() = Some((key, events.clone())));
    events
}

/// The walk behind [`events`]. Files that import none of the frameworks, or never spell an
/// activation, are skipped.
fn walk(cx: &Context<'_, '_>) -> Vec<Event> {
    let knowledge = cx.knowledge;
    let text = cx.text();
    if !knowledge
        .training
        .activations
        .words
        .iter()
        .any(|w| memchr::memmem::find(text.as_bytes(), w.as_bytes()).is_some())
    {
        return Vec::new();
    }
    let relevant = &knowledge.training.activations.frameworks;
    let imports_framework = cx.module.body.iter().any(|stmt| match stmt {
        Stmt::Import(import) => import.names.iter().any(|alias| {
            let name = knowledge.canonical(alias.name.as_str());
            relevant
                .iter()
                .any(|r| r == name.split('.').next().unwrap_or_default())
        }),
        Stmt::ImportFrom(import) => import.module.as_ref().is_some_and(|module| {
            let name = knowledge.canonical(module.as_str());
            relevant
                .iter()
                .any(|r| r == name.split('.').next().unwrap_or_default())
        }),
        _ => false,
    });
    if !imports_framework {
        return Vec::new();
    }
    let mut walker = Walker {
        knowledge,
        semantic: cx.semantic,
        locals: vec![HashMap::new()],
        attrs: vec![HashMap::new()],
        events: Vec::new(),
    };
    walker.visit_body(&cx.module.body);
    walker.events
}

struct Walker<'c, 'a> {
    knowledge: &'c Knowledge,
    semantic: &'c Semantic<'a>,
    /// One map per function being read (innermost last).
    locals: Vec<HashMap<String, Binding>>,
    /// `self.<attr>` callables of each enclosing class (innermost last).
    attrs: Vec<HashMap<String, Binding>>,
    events: Vec<Event>,
}

impl Walker<'_, '_> {
    fn qualified(&self, expr: &Expr) -> Option<String> {
        let q = self.semantic.resolve(expr)?;
        Some(self.knowledge.canonical(&q).into_owned())
    }

    fn local(&self, name: &str) -> Option<&Binding> {
        self.locals.last().and_then(|scope| scope.get(name))
    }

    /// The callable `func` stands for: a local name or `self.<attr>`.
    fn callable(&self, func: &Expr) -> Option<&Binding> {
        match func {
            Expr::Name(name) => self.local(name.id.as_str()),
            Expr::Attribute(attr) => match &*attr.value {
                Expr::Name(base) if base.id.as_str() == "self" => {
                    self.attrs.last().and_then(|a| a.get(attr.attr.as_str()))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// What a constructor call builds, when it is a callable we track.
    fn construct(&self, call: &ExprCall) -> Option<Binding> {
        let resolve = |expr: &Expr| self.qualified(expr);
        Some(
            match activation::construct(self.knowledge, &resolve, call, 0)? {
                Built::Activation { act, range, model } => Binding::Activation {
                    origin: Origin { act, range },
                    model,
                },
                Built::Loss(spec) => Binding::Loss(spec),
            },
        )
    }

    /// The activation `expr`'s value came out of, if any.
    fn origin(&self, expr: &Expr) -> Option<Origin> {
        match expr {
            Expr::Name(name) => match self.local(name.id.as_str())? {
                Binding::Value(origin) => Some(*origin),
                _ => None,
            },
            Expr::Call(call) => self.call_origin(call),
            _ => None,
        }
    }

    fn call_origin(&self, call: &ExprCall) -> Option<Origin> {
        let here = |act| {
            Some(Origin {
                act,
                range: call.range(),
            })
        };
        if let Some(q) = self.qualified(&call.func) {
            return here(activation::function_activation(self.knowledge, &q)?);
        }
        if let Some(Binding::Activation { origin, .. }) = self.callable(&call.func) {
            return here(origin.act);
        }
        match &*call.func {
            // `nn.Softmax(dim=1)(x)`
            Expr::Call(inner) => match self.construct(inner)? {
                Binding::Activation { origin, .. } => here(origin.act),
                _ => None,
            },
            // The tensor method `x.softmax(dim=-1)`, on a value that is not `self`.
            Expr::Attribute(attr) => {
                if matches!(&*attr.value, Expr::Name(n) if matches!(n.id.as_str(), "self" | "cls"))
                {
                    return None;
                }
                here(activation::method_activation(
                    self.knowledge,
                    attr.attr.as_str(),
                )?)
            }
            _ => None,
        }
    }

    /// The loss a call computes, if it is one.
    fn loss_of(&self, call: &ExprCall) -> Option<LossSpec> {
        if let Some(q) = self.qualified(&call.func) {
            return (!is_class_name(&q))
                .then(|| activation::loss_spec(self.knowledge, &q, call))
                .flatten();
        }
        if let Some(Binding::Loss(spec)) = self.callable(&call.func) {
            return Some(spec.clone());
        }
        if let Expr::Call(inner) = &*call.func
            && let Some(Binding::Loss(spec)) = self.construct(inner)
        {
            return Some(spec);
        }
        None
    }

    fn check_call(&mut self, call: &ExprCall) {
        if let Some(spec) = self.loss_of(call) {
            if let Some(argument) = call
                .arguments
                .find_argument_value(spec.keyword, spec.position)
                && let Some(origin) = self.origin(argument)
            {
                let matches = match spec.expects {
                    Expects::Logits => origin.act == Activation::Softmax,
                    Expects::Probabilities => origin.act == Activation::Sigmoid,
                };
                if matches {
                    self.events.push(Event::Loss {
                        kind: spec.expects,
                        name: spec.name,
                        argument: argument.range(),
                        origin,
                    });
                }
            }
            return;
        }
        if let Some(q) = self.qualified(&call.func) {
            if in_list(&self.knowledge.training.losses.logs, &q)
                && call.arguments.args.len() == 1
                && call.arguments.keywords.is_empty()
                && let Some(argument) = call.arguments.args.first()
                && let Some(origin) = self.origin(argument)
                && origin.act != Activation::LogSoftmax
            {
                self.events.push(Event::Log {
                    function: q,
                    argument: argument.range(),
                    origin,
                    direct: matches!(argument, Expr::Call(_)),
                });
            }
            return;
        }
        // `model.compile(loss=CategoricalCrossentropy(from_logits=True))` on a Sequential
        // whose output layer is a softmax.
        if let Expr::Attribute(attr) = &*call.func
            && attr.attr.as_str() == "compile"
            && let Expr::Name(model) = &*attr.value
            && let Some(Binding::Activation {
                origin,
                model: true,
            }) = self.local(model.id.as_str())
            && origin.act == Activation::Softmax
            && let Some(loss) = call.arguments.find_keyword("loss")
            && let Expr::Call(ctor) = &loss.value
            && let Some(Binding::Loss(spec)) = self.construct(ctor)
            && spec.expects == Expects::Logits
        {
            self.events.push(Event::Compile {
                name: spec.name,
                loss: loss.value.range(),
                origin: *origin,
            });
        }
    }

    /// Binds `target` to what `value` is (read before the assignment takes effect).
    fn bind(&mut self, target: &Expr, binding: Option<Binding>) {
        match target {
            Expr::Name(name) => {
                let Some(scope) = self.locals.last_mut() else {
                    return;
                };
                match binding {
                    Some(binding) => scope.insert(name.id.to_string(), binding),
                    None => scope.remove(name.id.as_str()),
                };
            }
            Expr::Tuple(tuple) => {
                for elt in &tuple.elts {
                    self.bind(elt, None);
                }
            }
            Expr::List(list) => {
                for elt in &list.elts {
                    self.bind(elt, None);
                }
            }
            Expr::Starred(starred) => self.bind(&starred.value, None),
            _ => {}
        }
    }

    fn binding_of(&self, value: &Expr) -> Option<Binding> {
        if let Some(origin) = self.origin(value) {
            return Some(Binding::Value(origin));
        }
        match value {
            Expr::Call(call) => self.construct(call),
            Expr::Name(name) => match self.local(name.id.as_str())? {
                Binding::Value(_) => None,
                other => Some(other.clone()),
            },
            _ => None,
        }
    }

    /// `self.<attr> = <callable>` anywhere in the methods of a class.
    fn class_attrs(&self, body: &[Stmt]) -> HashMap<String, Binding> {
        let mut finder = AttrFinder {
            walker: self,
            found: HashMap::new(),
        };
        for stmt in body {
            if let Stmt::FunctionDef(def) = stmt {
                finder.visit_body(&def.body);
            }
        }
        finder.found
    }
}

struct AttrFinder<'w, 'c, 'a> {
    walker: &'w Walker<'c, 'a>,
    found: HashMap<String, Binding>,
}

impl<'b> Visitor<'b> for AttrFinder<'_, '_, '_> {
    fn visit_stmt(&mut self, stmt: &'b Stmt) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::Assign(assign) => {
                for target in &assign.targets {
                    if let Expr::Attribute(attr) = target
                        && matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self")
                    {
                        let name = attr.attr.to_string();
                        match &*assign.value {
                            Expr::Call(call) => match self.walker.construct(call) {
                                Some(binding) => {
                                    self.found.insert(name, binding);
                                }
                                // Bound to something else somewhere: not reliably a callable.
                                None => {
                                    self.found.remove(&name);
                                }
                            },
                            _ => {
                                self.found.remove(&name);
                            }
                        }
                    }
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, _expr: &'b Expr) {}
}

impl<'b> Visitor<'b> for Walker<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'b Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => {
                self.locals.push(HashMap::new());
                self.visit_body(&def.body);
                self.locals.pop();
            }
            Stmt::ClassDef(class) => {
                let attrs = self.class_attrs(&class.body);
                self.attrs.push(attrs);
                self.locals.push(HashMap::new());
                self.visit_body(&class.body);
                self.locals.pop();
                self.attrs.pop();
            }
            Stmt::Assign(assign) => {
                self.visit_expr(&assign.value);
                let binding = self.binding_of(&assign.value);
                for target in &assign.targets {
                    self.bind(target, binding.clone());
                }
            }
            Stmt::AnnAssign(assign) => {
                if let Some(value) = &assign.value {
                    self.visit_expr(value);
                    let binding = self.binding_of(value);
                    self.bind(&assign.target, binding);
                }
            }
            Stmt::AugAssign(assign) => {
                self.visit_expr(&assign.value);
                self.bind(&assign.target, None);
            }
            Stmt::For(each) => {
                self.visit_expr(&each.iter);
                self.bind(&each.target, None);
                self.visit_body(&each.body);
                self.visit_body(&each.orelse);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'b Expr) {
        if let Expr::Call(call) = expr {
            self.check_call(call);
        }
        if let Expr::Named(named) = expr {
            self.visit_expr(&named.value);
            let binding = self.binding_of(&named.value);
            self.bind(&named.target, binding);
            return;
        }
        visitor::walk_expr(self, expr);
    }
}
