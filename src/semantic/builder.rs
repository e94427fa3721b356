//! Builds [`FileFacts`] from the single tree walk.
//!
//! During the walk the builder only records structure (scopes, loops, assignments, calls,
//! returns) as references into the tree. Everything is classified in [`FactsBuilder::finish`],
//! when every assignment in the file is known: a function may read a module-level
//! `criterion = nn.CrossEntropyLoss()` written below it.

use std::sync::Arc;

use ruff_python_ast::name::UnqualifiedName;
use ruff_python_ast::{self as ast, Expr, ExprCall, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};
use rustc_hash::FxHashMap;

use crate::knowledge::{ApiKind, Knowledge};
use crate::semantic::facts::*;
use crate::semantic::signature::{self, Inference};
use crate::semantic::usage::UsageBuilder;
use crate::semantic::{Frame, Semantic};

mod calls;
mod components;
mod data_prep;
mod gradients;
mod loop_calls;
mod losses;

/// A value that is differentiated: (value, the gradient call, loop).
type LossRoot<'a> = (&'a Expr, TextRange, Option<LoopId>);

/// A scope being built: the module, or a function body.
pub(crate) struct ScopeDraft<'a> {
    pub function: Option<FunctionId>,
    pub parent: Option<usize>,
    /// The class of which this function is a method.
    pub class: Option<ClassId>,
    /// Every parameter name, in order (positional ones first).
    pub params: Vec<&'a str>,
    /// Parameters with an annotation (`decoder: DecoderRNN`).
    pub annotations: Vec<(&'a str, &'a Expr)>,
    /// How many of `params` are positional (`self` included).
    pub positional: usize,
    pub loops: Vec<LoopFacts>,
    loop_stack: Vec<LoopId>,
    /// Ranges of the enclosing `if`/`try`/`match` statements (conditional code).
    cond_stack: Vec<TextRange>,
    pub assigns: FxHashMap<&'a str, Vec<AssignRec<'a>>>,
    calls: Vec<CallRec<'a>>,
    returns: Vec<(&'a Expr, Option<LoopId>)>,
    /// Names bound by `with tf.GradientTape() as tape`.
    pub tapes: Vec<&'a str>,
    /// Functions defined directly in this scope.
    pub nested: Vec<(&'a str, FunctionId)>,
    is_generator: bool,
    /// Ranges of `compile(...)` argument lists (Keras): optimizers built there are a contract.
    compile_args: Vec<TextRange>,
    /// `self.<loss-named attribute> = <value>` (TF1 models keep `self.loss`).
    self_loss_assigns: Vec<(&'a Expr, TextRange, Option<LoopId>)>,
    /// `self.<name> = <value>` (and `+=`) in this scope, by attribute name: a value a method
    /// builds and reads back (`self.nll = ...; self.loss = self.nll + self.kl`).
    pub self_assigns: FxHashMap<&'a str, Vec<AssignRec<'a>>>,
    /// Values put into a container after it is bound, by the container's name:
    /// `losses.append(v)`, `losses.extend(vs)`, `losses[key] = v`, `losses.update(d)`, with the
    /// key of a subscript.
    pub fills: FxHashMap<&'a str, Vec<(Option<&'a Expr>, AssignRec<'a>)>>,
    /// Parameters updated by hand from their gradients (`w -= lr * w.grad`,
    /// `p.data.add_(-lr * p.grad)`, `w.assign_sub(lr * grads[0])`).
    manual_updates: Vec<(&'a Expr, TextRange, Option<LoopId>)>,
    /// `with torch.no_grad():` statements, or the function itself when decorated with it.
    no_grad_blocks: Vec<TextRange>,
    /// Where the function's body starts (0 for the module): what comes before it, decorators
    /// and parameters, runs in the code around the function.
    body_start: TextSize,
}

#[derive(Clone, Copy)]
pub(crate) enum AssignValue<'a> {
    Expr(&'a Expr),
    /// Element `i` of an unpacked value (`loss, logs = f(...)`).
    Element(&'a Expr, usize),
    /// A `for` target: element `i` of what is iterated (`None`: the whole target).
    LoopTarget(&'a Expr, Option<usize>),
    Opaque,
}

#[derive(Clone, Copy)]
pub(crate) struct AssignRec<'a> {
    pub value: AssignValue<'a>,
    pub stmt: TextRange,
    pub cond: Option<TextRange>,
    pub in_loop: Option<LoopId>,
    /// Augmented assignment: `value` is the increment.
    pub aug: bool,
}

struct CallRec<'a> {
    call: &'a ExprCall,
    in_loop: Option<LoopId>,
}

struct ClassDraft<'a> {
    facts: ClassFacts,
    /// `self.<name> = <value>` in methods, and class-level `<name> = <value>`.
    attrs: Vec<(&'a str, &'a Expr, TextRange, usize)>,
    def: &'a ast::StmtClassDef,
}

struct FunctionDraft {
    facts: FunctionFacts,
    scope: usize,
    /// For functions with signature shapes: parameter names and the dimension names the body
    /// gives them (same order as `facts.shapes.params`).
    shape_params: Vec<String>,
    inferences: Vec<Inference>,
}

/// Collects facts during the walk; see the module docs.
pub struct FactsBuilder<'a> {
    pub(crate) knowledge: Arc<Knowledge>,
    classes: Vec<ClassDraft<'a>>,
    functions: Vec<FunctionDraft>,
    pub(crate) scopes: Vec<ScopeDraft<'a>>,
    scope_stack: Vec<usize>,
    class_stack: Vec<ClassId>,
    /// The file is a losses module: its functions that take targets return losses.
    in_loss_module: bool,
    /// Names read, options declared, whole-namespace uses.
    usage: UsageBuilder<'a>,
    /// `if __name__ == "__main__":`, when the module has one.
    main_guard: Option<TextRange>,
    /// See [`FileFacts::uses_no_grad`] and [`FileFacts::switches_mode`].
    uses_no_grad: bool,
    switches_mode: bool,
    /// A call or decorator declares options (`knowledge.option_calls`, `cli_entry_calls`).
    takes_options: bool,
    /// Plain attribute reads (not calls) of values named like optimizers that no optimizer has
    /// (`opt.batch_size`, `self.opt.Transformation`): (scope, on `self.`, the value's name).
    option_reads: Vec<(usize, bool, &'a str)>,
    /// The callee of the call visited last (`opt.step` in `opt.step()`): not a plain read.
    last_called: Option<TextRange>,
    /// What the loops' calls may run as a model ([`FileFacts::loop_model_calls`]).
    loop_calls: loop_calls::LoopCalls<'a>,
    /// The lambdas around the expression being visited (innermost last; see
    /// [`loop_calls::in_lambda`]).
    lambdas: Vec<TextRange>,
    /// Summarise what each scope does (calls, loops, gradient steps, loss values, flow); off
    /// when the run's cross-file rules read only symbols and usage: every scope's
    /// [`ScopeFacts`] is then empty.
    pub(crate) scopes_wanted: bool,
}

impl<'a> FactsBuilder<'a> {
    pub fn new(knowledge: Arc<Knowledge>, path: &std::path::Path) -> Self {
        FactsBuilder {
            in_loss_module: knowledge.is_in_loss_module(path),
            knowledge,
            classes: Vec::new(),
            functions: Vec::new(),
            scopes: vec![ScopeDraft::new(None, None, None, Vec::new())],
            scope_stack: vec![0],
            class_stack: Vec::new(),
            usage: UsageBuilder::new(path),
            main_guard: None,
            uses_no_grad: false,
            switches_mode: false,
            takes_options: false,
            option_reads: Vec::new(),
            last_called: None,
            scopes_wanted: true,
            loop_calls: Default::default(),
            lambdas: Vec::new(),
        }
    }

    /// Names of functions used as a loss anywhere in the file (see [`Resolver::used_as_loss`]).
    fn used_as_loss(&self, semantic: &Semantic<'a>) -> rustc_hash::FxHashSet<&'a str> {
        let knowledge = &self.knowledge;
        let mut out = rustc_hash::FxHashSet::default();
        for scope in &self.scopes {
            for rec in &scope.calls {
                let call = rec.call;
                for keyword in call.arguments.keywords.iter() {
                    if let (Some(arg), Expr::Name(value)) = (&keyword.arg, &keyword.value)
                        && knowledge.is_loss_attribute(arg.as_str())
                    {
                        out.insert(value.id.as_str());
                    }
                }
                if let Some(Expr::Name(first)) = call.arguments.args.first()
                    && let Some(q) = semantic.resolve(&call.func)
                    && knowledge.classify_call(&knowledge.canonical(&q))
                        == Some(ApiKind::GradTransform)
                {
                    out.insert(first.id.as_str());
                }
            }
            for (name, recs) in &scope.assigns {
                if !knowledge.is_loss_attribute(name) {
                    continue;
                }
                for rec in recs {
                    if let AssignValue::Expr(Expr::Name(value)) = rec.value {
                        out.insert(value.id.as_str());
                    }
                }
            }
        }
        out
    }

    /// A class of this file that extends a framework value container (`class Loss(nnx.Variable)`):
    /// calling it wraps the value it is given.
    pub(crate) fn is_value_container(&self, name: &str) -> bool {
        let containers = &self.knowledge.training.losses.value_containers;
        self.classes.iter().any(|c| {
            c.facts.name == name
                && c.facts.bases.iter().any(|base| {
                    matches!(base, Callee::Qualified(q)
                        if containers.iter().any(|v| *v == self.knowledge.canonical(q)))
                })
        })
    }

    /// Whether the file adds values to a regularisation-loss collection (see
    /// [`Resolver::adds_regularization`]).
    fn adds_regularization(&self, semantic: &Semantic<'a>) -> bool {
        let losses = &self.knowledge.training.losses;
        self.scopes.iter().flat_map(|s| &s.calls).any(|rec| {
            let call = rec.call;
            semantic.resolve(&call.func).is_some_and(|q| {
                let canonical = self.knowledge.canonical(&q);
                losses
                    .add_to_collection_calls
                    .iter()
                    .any(|c| *c == canonical)
            }) && call.arguments.args.first().is_some_and(|key| {
                crate::semantic::loss_expr::is_regularization_key(&self.knowledge, key)
            })
        })
    }

    fn current(&mut self) -> &mut ScopeDraft<'a> {
        let index = *self.scope_stack.last().expect("module scope");
        &mut self.scopes[index]
    }

    fn current_index(&self) -> usize {
        *self.scope_stack.last().expect("module scope")
    }

    /// Called for every statement before its children (after the semantic model recorded the
    /// statement's bindings). `text` is the file's source (for comments in signatures).
    pub fn enter_stmt(&mut self, stmt: &'a Stmt, semantic: &Semantic<'a>, text: &str) {
        self.usage.stmt(stmt, semantic, &self.knowledge);
        self.infer_shapes(stmt, semantic);
        // `with torch.no_grad():` blocks and decorated functions are kept as ranges (does a
        // helper's caller run inside one?); other statements only flag the file.
        let grad_off = match stmt {
            Stmt::With(_) | Stmt::FunctionDef(_) => self.turns_grad_off(stmt, semantic),
            _ => !self.uses_no_grad && self.turns_grad_off(stmt, semantic),
        };
        self.uses_no_grad |= grad_off;
        if grad_off && matches!(stmt, Stmt::With(_)) {
            self.current().no_grad_blocks.push(stmt.range());
        }
        match stmt {
            Stmt::FunctionDef(def) => {
                self.enter_function(def, semantic, text);
                if grad_off {
                    self.current().no_grad_blocks.push(def.range());
                }
            }
            Stmt::ClassDef(class) => self.enter_class(class, semantic),
            Stmt::Import(_) | Stmt::ImportFrom(_) => self.loop_calls.import(stmt),
            Stmt::For(for_loop @ ast::StmtFor { target, iter, .. }) => {
                let over_data = crate::semantic::training::for_loop_over_data(
                    &self.knowledge.training.evaluation,
                    for_loop,
                );
                self.push_loop(
                    stmt.range(),
                    TextRange::new(stmt.start(), iter.end()),
                    over_data,
                );
                self.record_target(
                    target,
                    AssignValue::LoopTarget(iter, None),
                    stmt.range(),
                    false,
                );
            }
            Stmt::While(ast::StmtWhile { test, .. }) => {
                self.push_loop(
                    stmt.range(),
                    TextRange::new(stmt.start(), test.end()),
                    false,
                );
            }
            Stmt::If(ast::StmtIf { test, .. }) => {
                if self.main_guard.is_none() && semantic.at_module_level() && is_main_test(test) {
                    self.main_guard = Some(TextRange::new(stmt.start(), test.end()));
                }
                self.current().cond_stack.push(stmt.range())
            }
            Stmt::Try(_) | Stmt::Match(_) => self.current().cond_stack.push(stmt.range()),
            Stmt::Assign(ast::StmtAssign { targets, value, .. }) => {
                for target in targets {
                    self.record_target(target, AssignValue::Expr(value), stmt.range(), false);
                    self.record_self_attr(target, value, stmt.range(), semantic);
                    self.record_fill(target, value, stmt.range(), false, false);
                }
            }
            Stmt::AnnAssign(ast::StmtAnnAssign {
                target,
                value: Some(value),
                ..
            }) => {
                self.record_target(target, AssignValue::Expr(value), stmt.range(), false);
                self.record_self_attr(target, value, stmt.range(), semantic);
            }
            Stmt::AugAssign(ast::StmtAugAssign {
                target, value, op, ..
            }) => {
                // `w -= lr * w.grad`: gradient descent written by hand.
                if matches!(op, ast::Operator::Sub)
                    && matches!(
                        &**target,
                        Expr::Name(_) | Expr::Attribute(_) | Expr::Subscript(_)
                    )
                    && mentions_gradient(value, 0)
                {
                    let in_loop = self.current().loop_stack.last().copied();
                    self.current()
                        .manual_updates
                        .push((target, stmt.range(), in_loop));
                }
                self.record_target(target, AssignValue::Expr(value), stmt.range(), true);
                // `losses["ce"] += term`, `self.loss += term` add a term; `*=` and `/=` scale.
                if matches!(op, ast::Operator::Add | ast::Operator::Sub) {
                    self.record_fill(target, value, stmt.range(), false, true);
                }
            }
            Stmt::Expr(ast::StmtExpr { value, .. }) => {
                // `losses.append(v)`, `losses.extend(vs)`, `losses.insert(0, v)`,
                // `losses.update(d)`: a container filled after it is bound.
                if let Expr::Call(call) = &**value
                    && let Expr::Attribute(attr) = &*call.func
                    && let Expr::Name(_) = &*attr.value
                {
                    let added = match attr.attr.as_str() {
                        "append" | "extend" | "appendleft" | "update" => {
                            call.arguments.args.first()
                        }
                        "insert" => call.arguments.args.get(1),
                        _ => None,
                    };
                    if let Some(added) = added {
                        self.record_fill(&attr.value, added, stmt.range(), true, false);
                    }
                }
            }
            Stmt::With(ast::StmtWith { items, .. }) => {
                for item in items {
                    let Some(vars) = &item.optional_vars else {
                        continue;
                    };
                    if let Expr::Call(call) = &item.context_expr
                        && let Some(q) = semantic.resolve(&call.func)
                        && self.knowledge.classify_call(&self.knowledge.canonical(&q))
                            == Some(ApiKind::GradientTape)
                        && let Expr::Name(name) = &**vars
                    {
                        self.current().tapes.push(name.id.as_str());
                    }
                    self.record_target(vars, AssignValue::Opaque, stmt.range(), false);
                }
            }
            Stmt::Return(ast::StmtReturn {
                value: Some(value), ..
            }) => {
                let in_loop = self.current().loop_stack.last().copied();
                self.current().returns.push((value, in_loop));
            }
            _ => {}
        }
    }

    /// `opt.batch_size`, `self.opt.Transformation`: a plain read of an attribute no optimizer
    /// has, on a value named like one.
    fn note_option_read(&mut self, attr: &'a ast::ExprAttribute) {
        if self.last_called == Some(attr.range())
            || self.knowledge.is_optimizer_attribute(attr.attr.as_str())
        {
            return;
        }
        let (on_self, name) = match &*attr.value {
            Expr::Name(n) => (false, n.id.as_str()),
            Expr::Attribute(inner) if matches!(&*inner.value, Expr::Name(n) if n.id.as_str() == "self") => {
                (true, inner.attr.as_str())
            }
            _ => return,
        };
        if name != "self" && self.knowledge.is_optimizer_variable(name) {
            let scope = self.current_index();
            if !self.option_reads.contains(&(scope, on_self, name)) {
                self.option_reads.push((scope, on_self, name));
            }
        }
    }

    /// Called for every statement after its children.
    pub fn leave_stmt(&mut self, stmt: &'a Stmt) {
        self.usage.leave_stmt(stmt);
        match stmt {
            Stmt::FunctionDef(_) => {
                self.scope_stack.pop();
            }
            Stmt::ClassDef(_) => {
                self.class_stack.pop();
            }
            Stmt::For(_) | Stmt::While(_) => {
                self.current().loop_stack.pop();
            }
            Stmt::If(_) | Stmt::Try(_) | Stmt::Match(_) => {
                self.current().cond_stack.pop();
            }
            _ => {}
        }
    }

    /// Called for every expression before its children.
    pub fn expr(&mut self, expr: &'a Expr, semantic: &Semantic<'a>) {
        self.usage.expr(expr, semantic, &self.knowledge);
        match expr {
            Expr::Call(call) => {
                if !self.takes_options
                    && let Some(q) = semantic.resolve(&call.func)
                {
                    let canonical = self.knowledge.canonical(&q);
                    self.takes_options = self.knowledge.option_calls.contains(&canonical)
                        || self.knowledge.cli_entry_calls.contains(&canonical);
                }
                if !self.switches_mode
                    && let Expr::Attribute(attr) = &*call.func
                {
                    let evaluation = &self.knowledge.training.evaluation;
                    let name = attr.attr.as_str();
                    self.switches_mode = evaluation.eval_methods.iter().any(|m| m == name)
                        || evaluation.train_methods.iter().any(|m| m == name);
                }
                let scope = self.current();
                let in_loop = scope.loop_stack.last().copied();
                if let Expr::Attribute(attr) = &*call.func
                    && attr.attr.as_str() == "compile"
                {
                    scope.compile_args.push(call.arguments.range());
                }
                // `p.data.add_(-lr * p.grad)`, `w.assign_sub(lr * grads[0])`.
                if let Expr::Attribute(attr) = &*call.func
                    && matches!(attr.attr.as_str(), "add_" | "sub_" | "assign_sub")
                    && call.arguments.args.iter().any(|a| mentions_gradient(a, 0))
                {
                    scope
                        .manual_updates
                        .push((&attr.value, call.range(), in_loop));
                }
                scope.calls.push(CallRec { call, in_loop });
                self.last_called = Some(call.func.range());
                self.note_loop_call(call);
            }
            Expr::Lambda(lambda) => self.lambdas.push(lambda.range()),
            Expr::Attribute(attr) if attr.ctx.is_load() => self.note_option_read(attr),
            Expr::Yield(_) | Expr::YieldFrom(_) => self.current().is_generator = true,
            Expr::Named(named) => {
                let range = named.range();
                self.record_target(&named.target, AssignValue::Expr(&named.value), range, false);
            }
            _ => {}
        }
    }

    /// A call that may run a model inside a loop ([`loop_calls`]). A function's decorators and
    /// parameters are visited in its scope, but run in the code around it.
    fn note_loop_call(&mut self, call: &'a ExprCall) {
        if call.arguments.is_empty() || loop_calls::in_lambda(&mut self.lambdas, call.range()) {
            return;
        }
        let mut scope = self.current_index();
        if call.start() < self.scopes[scope].body_start
            && let Some(parent) = self.scopes[scope].parent
        {
            scope = parent;
        }
        if !self.scopes[scope].loop_stack.is_empty() {
            self.loop_calls.call(call, scope, &self.knowledge);
        }
    }

    /// A `with`, decorator or statement call of a no-grad context (`torch.no_grad()`).
    fn turns_grad_off(&self, stmt: &'a Stmt, semantic: &Semantic<'a>) -> bool {
        let no_grad = |expr: &Expr| {
            let func = match expr {
                Expr::Call(call) => &*call.func,
                other => other,
            };
            semantic.resolve(func).is_some_and(|q| {
                let canonical = self.knowledge.canonical(&q);
                self.knowledge.call_flags(&canonical).turns_grad_off()
            })
        };
        match stmt {
            Stmt::With(with) => with.items.iter().any(|i| no_grad(&i.context_expr)),
            Stmt::FunctionDef(def) => def.decorator_list.iter().any(|d| no_grad(&d.expression)),
            Stmt::Expr(e) => no_grad(&e.value),
            _ => false,
        }
    }

    fn push_loop(&mut self, range: TextRange, header: TextRange, over_data: bool) {
        let scope = self.current();
        let id = scope.loops.len() as LoopId;
        scope.loops.push(LoopFacts {
            range,
            header,
            parent: scope.loop_stack.last().copied(),
            over_data,
        });
        scope.loop_stack.push(id);
    }

    /// In a function with signature shapes: what an assignment or a return says about the
    /// dimensions of the parameters and of the returned value.
    fn infer_shapes(&mut self, stmt: &'a Stmt, semantic: &Semantic<'a>) {
        let Some(function) = self.scopes[self.current_index()].function else {
            return;
        };
        let draft = &mut self.functions[function as usize];
        if draft.facts.shapes.is_none() {
            return;
        }
        match stmt {
            Stmt::For(ast::StmtFor { iter, .. }) => {
                signature::infer_from_loop(iter, &draft.shape_params, &mut draft.inferences);
            }
            Stmt::Assign(ast::StmtAssign { targets, value, .. }) if targets.len() == 1 => {
                signature::infer_from_assign(
                    &targets[0],
                    value,
                    &draft.shape_params,
                    &mut draft.inferences,
                    semantic,
                    &self.knowledge,
                );
            }
            Stmt::Return(ast::StmtReturn {
                value: Some(value), ..
            }) => {
                let Some(shapes) = draft.facts.shapes.as_mut() else {
                    return;
                };
                if shapes.return_inferred.is_some() {
                    return;
                }
                let value = match &**value {
                    // `return out` after `out = x.view(...)`.
                    Expr::Name(name) => match self.scopes[draft.scope]
                        .assigns
                        .get(name.id.as_str())
                        .and_then(|recs| recs.last())
                    {
                        Some(AssignRec {
                            value: AssignValue::Expr(e),
                            ..
                        }) => *e,
                        _ => return,
                    },
                    other => other,
                };
                shapes.return_inferred =
                    signature::returned_dims(value, semantic, &self.knowledge).map(Name::from);
            }
            _ => {}
        }
    }

    fn enter_function(
        &mut self,
        def: &'a ast::StmtFunctionDef,
        semantic: &Semantic<'a>,
        text: &str,
    ) {
        let parent_scope = self.current_index();
        let parent_function = self.scopes[parent_scope].function;
        // A method: the innermost enclosing frame (the def itself is not pushed yet) is a class.
        let class = match semantic
            .frames()
            .iter()
            .rev()
            .find(|f| !matches!(f, Frame::Loop(_)))
        {
            Some(Frame::Class(_)) => self.class_stack.last().copied(),
            _ => None,
        };
        let params: Vec<&'a str> = def.parameters.iter().map(|p| p.name().as_str()).collect();
        let class_def = class.map(|c| self.classes[c as usize].def);
        let forward_like = class.is_some() && self.knowledge.shapes.is_shape_method(&def.name);
        let shapes = signature::signature_shapes(
            def,
            class_def,
            forward_like,
            semantic,
            &self.knowledge,
            text,
        )
        .map(Box::new);
        let shape_params: Vec<String> = shapes
            .as_ref()
            .map(|s| s.params.iter().map(|p| p.name.to_string()).collect())
            .unwrap_or_default();
        let inferences = vec![Inference::default(); shape_params.len()];
        let id = self.functions.len() as FunctionId;
        let scope_index = self.scopes.len();
        let mut draft = ScopeDraft::new(Some(id), Some(parent_scope), class, params.clone());
        draft.positional = def.parameters.posonlyargs.len() + def.parameters.args.len();
        draft.body_start = loop_calls::body_start(def);
        draft.annotations = def
            .parameters
            .iter()
            .filter_map(|p| Some((p.name().as_str(), p.annotation()?)))
            .collect();
        self.scopes.push(draft);
        self.functions.push(FunctionDraft {
            facts: FunctionFacts {
                name: def.name.as_str().into(),
                range: def.range(),
                name_range: def.name.range(),
                class,
                parent: parent_function,
                target_params: params
                    .iter()
                    .filter(|p| self.knowledge.is_target_parameter(p))
                    .map(|p| Name::from(*p))
                    .collect(),
                is_generator: false,
                returns_value: false,
                returns_nested: None,
                returns_apis: ThinVec::new(),
                returns_optimizer: false,
                shapes,
                returns_activation: None,
                body: ScopeFacts::default(),
            },
            scope: scope_index,
            shape_params,
            inferences,
        });
        if let Some(c) = class {
            self.classes[c as usize].facts.methods.push(id);
        }
        self.scopes[parent_scope]
            .nested
            .push((def.name.as_str(), id));
        self.scope_stack.push(scope_index);
    }

    fn enter_class(&mut self, class: &'a ast::StmtClassDef, semantic: &Semantic<'a>) {
        let id = self.classes.len() as ClassId;
        let enclosing_function = self.scopes[self.current_index()].function;
        let prefix = match self.class_stack.last() {
            Some(outer) if matches!(semantic.frames().last(), Some(Frame::Class(_))) => {
                format!("{}.", self.classes[*outer as usize].facts.qualname)
            }
            _ => String::new(),
        };
        let bases = class
            .arguments
            .iter()
            .flat_map(|a| a.args.iter())
            .filter_map(|base| base_callee(base, semantic))
            .collect();
        self.classes.push(ClassDraft {
            facts: ClassFacts {
                name: class.name.as_str().into(),
                qualname: Name::from(format!("{prefix}{}", class.name)),
                range: class.range(),
                name_range: class.name.range(),
                bases,
                methods: ThinVec::new(),
                attributes: ThinVec::new(),
                held: ThinVec::new(),
                enclosing_function,
            },
            attrs: Vec::new(),
            def: class,
        });
        self.class_stack.push(id);
    }

    /// Record the names an assignment target binds in the current scope.
    fn record_target(
        &mut self,
        target: &'a Expr,
        value: AssignValue<'a>,
        stmt: TextRange,
        aug: bool,
    ) {
        let scope = self.current();
        let cond = scope.cond_stack.last().copied();
        let in_loop = scope.loop_stack.last().copied();
        match target {
            Expr::Name(name) => {
                scope
                    .assigns
                    .entry(name.id.as_str())
                    .or_default()
                    .push(AssignRec {
                        value,
                        stmt,
                        cond,
                        in_loop,
                        aug,
                    });
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for (i, elt) in elts.iter().enumerate() {
                    let element = match value {
                        AssignValue::Expr(e) => AssignValue::Element(e, i),
                        AssignValue::LoopTarget(iter, _) => AssignValue::LoopTarget(iter, Some(i)),
                        other => other,
                    };
                    // Nested unpacking (`for i, (x, y) in ...`): the inner names are data too.
                    let element = match (elt, element) {
                        (Expr::Tuple(_) | Expr::List(_), AssignValue::LoopTarget(iter, _)) => {
                            AssignValue::LoopTarget(iter, None)
                        }
                        (_, e) => e,
                    };
                    self.record_target(elt, element, stmt, aug);
                }
            }
            Expr::Starred(starred) => {
                self.record_target(&starred.value, AssignValue::Opaque, stmt, aug)
            }
            _ => {}
        }
    }

    /// A value put into a container after it is bound: `losses[key] = value` (`+=` too), or,
    /// with `receiver`, `losses.append(value)` (`target` is the receiver). With `aug`,
    /// `self.<attr> += value` is recorded as an increment of the attribute.
    ///
    /// A term computed where it is put in counts (`terms.append(-log_prob * ret)`,
    /// `losses["giou"] = giou.sum() / n`); a value only collected by its name
    /// (`epoch_losses.append(loss)`, to log an average) does not.
    fn record_fill(
        &mut self,
        target: &'a Expr,
        value: &'a Expr,
        stmt: TextRange,
        receiver: bool,
        aug: bool,
    ) {
        let is_self = matches!(target, Expr::Attribute(attr) if matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self"));
        if !is_self && only_names(value, 0) {
            return;
        }
        let scope = self.current();
        let rec = AssignRec {
            value: AssignValue::Expr(value),
            stmt,
            cond: scope.cond_stack.last().copied(),
            in_loop: scope.loop_stack.last().copied(),
            aug: true,
        };
        match target {
            Expr::Name(name) if receiver => {
                scope
                    .fills
                    .entry(name.id.as_str())
                    .or_default()
                    .push((None, rec));
            }
            Expr::Subscript(sub) if !receiver => {
                if let Expr::Name(name) = &*sub.value {
                    scope
                        .fills
                        .entry(name.id.as_str())
                        .or_default()
                        .push((Some(&*sub.slice), rec));
                }
            }
            Expr::Attribute(attr)
                if aug && matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self") =>
            {
                scope
                    .self_assigns
                    .entry(attr.attr.as_str())
                    .or_default()
                    .push(rec);
            }
            _ => {}
        }
    }

    /// `self.x = <value>` in a method, or `x = <value>` directly in a class body.
    fn record_self_attr(
        &mut self,
        target: &'a Expr,
        value: &'a Expr,
        stmt: TextRange,
        semantic: &Semantic<'a>,
    ) {
        let scope_index = self.current_index();
        match target {
            Expr::Attribute(attr) if matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self") =>
            {
                {
                    let scope = &mut self.scopes[scope_index];
                    let rec = AssignRec {
                        value: AssignValue::Expr(value),
                        stmt,
                        cond: scope.cond_stack.last().copied(),
                        in_loop: scope.loop_stack.last().copied(),
                        aug: false,
                    };
                    scope
                        .self_assigns
                        .entry(attr.attr.as_str())
                        .or_default()
                        .push(rec);
                }
                if let Some(class) = self.scopes[scope_index].class {
                    self.classes[class as usize].attrs.push((
                        attr.attr.as_str(),
                        value,
                        stmt,
                        scope_index,
                    ));
                }
                if self.knowledge.is_loss_variable(attr.attr.as_str()) {
                    let scope = &mut self.scopes[scope_index];
                    let in_loop = scope.loop_stack.last().copied();
                    scope.self_loss_assigns.push((value, stmt, in_loop));
                }
            }
            Expr::Name(name) if matches!(semantic.frames().last(), Some(Frame::Class(_))) => {
                if let Some(&class) = self.class_stack.last() {
                    self.classes[class as usize].attrs.push((
                        name.id.as_str(),
                        value,
                        stmt,
                        scope_index,
                    ));
                }
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) => {
                for elt in elts {
                    self.record_self_attr(elt, value, stmt, semantic);
                }
            }
            _ => {}
        }
    }

    /// Classify everything recorded during the walk and produce the file's facts.
    pub fn finish(mut self, semantic: &Semantic<'a>) -> FileFacts {
        let mut facts = FileFacts {
            package: semantic.package.clone(),
            imports: semantic
                .module_imports
                .iter()
                .map(|(local, target)| (Name::from(local.as_str()), Name::from(target.as_str())))
                .collect(),
            ..FileFacts::default()
        };
        let module_functions: rustc_hash::FxHashSet<&'a str> = self.scopes[0]
            .nested
            .iter()
            .map(|(name, _)| *name)
            .collect();
        let mut module_names = module_functions.clone();
        module_names.extend(
            self.classes
                .iter()
                .filter(|c| c.facts.enclosing_function.is_none())
                .map(|c| c.def.name.as_str()),
        );
        let used_as_loss = self.used_as_loss(semantic);
        let adds_regularization = self.adds_regularization(semantic);
        let star_imports = semantic.module_imports.iter().any(|(local, module)| {
            local == "*"
                && !self
                    .knowledge
                    .is_external_from(module, semantic.package.as_deref())
        });
        let resolver = Resolver {
            builder: &self,
            semantic,
            module_names,
            module_functions,
            used_as_loss,
            star_imports,
            adds_regularization,
            api_kinds: Default::default(),
        };

        // Classes: attributes and components handed in through `__init__`.
        let mut classes = Vec::with_capacity(self.classes.len());
        for (class_id, draft) in self.classes.iter().enumerate() {
            let mut class = draft.facts.clone();
            for &(name, value, stmt, scope) in &draft.attrs {
                match value {
                    Expr::Call(call) => {
                        if let Some(ctor) = resolver.callee(scope, &call.func, stmt.start()) {
                            class.attributes.push(Attribute {
                                name: name.into(),
                                ctor,
                                range: stmt,
                            });
                        }
                    }
                    Expr::Name(param) if self.scopes[scope].params.contains(&param.id.as_str()) => {
                        if let Some(method) = self.scopes[scope].function {
                            let param_name = param.id.as_str();
                            let options = self.option_reads.iter().any(|&(s, on_self, n)| {
                                if on_self {
                                    n == name && self.scopes[s].class == Some(class_id as ClassId)
                                } else {
                                    n == param_name && s == scope
                                }
                            });
                            // `decoder: DecoderRNN` (or `Optional[DecoderRNN]`): what the
                            // annotation names, when no caller shows what is passed.
                            let annotation = self.scopes[scope]
                                .annotations
                                .iter()
                                .find(|(n, _)| *n == param_name)
                                .and_then(|(_, a)| {
                                    resolver.callee(scope, annotated_class(a), stmt.start())
                                });
                            class.held.push(Held {
                                attr: name.into(),
                                param: param.id.as_str().into(),
                                range: stmt,
                                method,
                                position: self.scopes[scope].position_of(param_name),
                                options,
                                annotation,
                            });
                        }
                    }
                    _ => {}
                }
            }
            classes.push(class);
        }
        facts.classes = classes;

        // Scopes: calls, gradient steps, loss values.
        let mut scope_facts: Vec<ScopeFacts> = Vec::with_capacity(self.scopes.len());
        for index in 0..self.scopes.len() {
            scope_facts.push(if self.scopes_wanted {
                resolver.scope_facts(index, &facts.classes)
            } else {
                ScopeFacts::default()
            });
        }

        for draft in &self.functions {
            let mut function = draft.facts.clone();
            let scope = &self.scopes[draft.scope];
            function.is_generator = scope.is_generator;
            function.returns_value = scope.returns.iter().any(|(v, _)| !v.is_none_literal_expr());
            for (value, _) in &scope.returns {
                match value {
                    Expr::Name(name) => {
                        if let Some((_, id)) =
                            scope.nested.iter().find(|(n, _)| *n == name.id.as_str())
                        {
                            function.returns_nested = Some(*id);
                        }
                        if let Some(AssignRec {
                            value: AssignValue::Expr(Expr::Call(call)),
                            stmt,
                            ..
                        }) = scope.last_reaching(name.id.as_str(), value.start())
                            && let Some(callee) =
                                resolver.callee(draft.scope, &call.func, stmt.start())
                            && resolver.api_kind(&callee) == Some(ApiKind::Optimizer)
                        {
                            function.returns_optimizer = true;
                        }
                    }
                    Expr::Call(call) => {
                        if let Some(Callee::Qualified(q)) =
                            resolver.callee(draft.scope, &call.func, call.start())
                            && let Some(kind) =
                                self.knowledge.classify_call(&self.knowledge.canonical(&q))
                            && !function.returns_apis.contains(&kind)
                        {
                            function.returns_optimizer |= kind == ApiKind::Optimizer;
                            function.returns_apis.push(kind);
                        }
                    }
                    _ => {}
                }
            }
            if let Some(shapes) = function.shapes.as_mut() {
                let mut inferences = draft.inferences.clone();
                for rec in &scope.calls {
                    if let Some(q) = semantic.resolve(&rec.call.func)
                        && self
                            .knowledge
                            .shapes
                            .einops
                            .contains(&self.knowledge.canonical(&q))
                    {
                        signature::infer_from_einops(
                            rec.call,
                            &draft.shape_params,
                            &mut inferences,
                        );
                    }
                }
                for (param, inference) in shapes.params.iter_mut().zip(&inferences) {
                    param.inferred = inference.render().map(Name::from);
                    param.iterated = inference.iterated;
                }
                shapes.returned = if scope.is_generator {
                    Returned::Nothing
                } else {
                    signature::combine_returned(scope.returns.iter().map(|(v, _)| {
                        match v {
                            // `return outputs` after `outputs = (attn,) + rest`.
                            Expr::Name(name) => match scope
                                .assigns
                                .get(name.id.as_str())
                                .and_then(|recs| recs.last())
                            {
                                Some(AssignRec {
                                    value: AssignValue::Expr(e),
                                    aug: false,
                                    ..
                                }) => signature::returned_kind(e),
                                _ => Returned::Single,
                            },
                            other => signature::returned_kind(other),
                        }
                    }))
                };
            }
            if function.class.is_some()
                && self
                    .knowledge
                    .training
                    .activations
                    .call_methods
                    .iter()
                    .any(|m| m == function.name.as_str())
            {
                function.returns_activation = resolver.returns_activation(draft.scope);
            }
            function.body = std::mem::take(&mut scope_facts[draft.scope]);
            facts.functions.push(function);
        }
        facts.module = std::mem::take(&mut scope_facts[0]);
        for (name, assigns) in &self.scopes[0].assigns {
            if let Some(AssignRec {
                value: AssignValue::Expr(Expr::Call(call)),
                ..
            }) = assigns.last()
                && let Some(ctor) = resolver.callee(0, &call.func, call.start())
            {
                facts.module_instances.push((Name::from(*name), ctor));
            }
        }
        facts.module_instances.sort_by_key(|a| a.0);
        facts.usage = self.usage.build(&resolver);
        facts.main_guard = self.main_guard;
        facts.takes_options =
            facts.usage.parses || !facts.usage.options.is_empty() || self.takes_options;
        facts.uses_no_grad = self.uses_no_grad;
        facts.switches_mode = self.switches_mode;
        if facts.scopes().any(|(_, scope)| !scope.loops.is_empty()) {
            let scopes = &self.scopes;
            facts.loop_model_calls = std::mem::take(&mut self.loop_calls).finish(
                &self.knowledge,
                &facts.classes,
                &facts.module_instances,
                |scope, name| {
                    scopes[scope].assigns.get(name).is_some_and(|assigns| {
                        assigns
                            .iter()
                            .any(|a| matches!(a.value, AssignValue::Expr(Expr::Call(_))))
                    })
                },
                |scope| scopes[scope].function,
            );
        }
        facts
    }
}

impl<'a> ScopeDraft<'a> {
    fn new(
        function: Option<FunctionId>,
        parent: Option<usize>,
        class: Option<ClassId>,
        params: Vec<&'a str>,
    ) -> Self {
        ScopeDraft {
            function,
            parent,
            class,
            params,
            annotations: Vec::new(),
            positional: 0,
            loops: Vec::new(),
            loop_stack: Vec::new(),
            cond_stack: Vec::new(),
            assigns: FxHashMap::default(),
            calls: Vec::new(),
            returns: Vec::new(),
            tapes: Vec::new(),
            nested: Vec::new(),
            is_generator: false,
            compile_args: Vec::new(),
            self_loss_assigns: Vec::new(),
            self_assigns: FxHashMap::default(),
            fills: FxHashMap::default(),
            manual_updates: Vec::new(),
            no_grad_blocks: Vec::new(),
            body_start: TextSize::default(),
        }
    }

    /// The position of parameter `name` among the positional parameters.
    pub fn position_of(&self, name: &str) -> Option<u32> {
        self.params[..self.positional.min(self.params.len())]
            .iter()
            .position(|p| *p == name)
            .map(|i| i as u32)
    }

    /// The calls made directly in this scope, in walk order.
    pub fn call_exprs(&self) -> impl Iterator<Item = &'a ExprCall> + '_ {
        self.calls.iter().map(|c| c.call)
    }

    /// The last assignment of `name` before `at` (no allocation: the hot path of callee
    /// resolution).
    pub fn last_reaching(&self, name: &str, at: TextSize) -> Option<AssignRec<'a>> {
        self.assigns
            .get(name)?
            .iter()
            .rev()
            .find(|rec| rec.stmt.end() <= at)
            .copied()
    }

    /// The assignments of `name` that may reach a use at `at`: the last unconditional one
    /// before it, and the conditional ones after that.
    pub fn reaching(&self, name: &str, at: TextSize) -> Vec<AssignRec<'a>> {
        reaching_in(&self.assigns, name, at)
    }

    /// [`ScopeDraft::reaching`] for `self.<name>` assigned in this scope.
    pub fn self_reaching(&self, name: &str, at: TextSize) -> Vec<AssignRec<'a>> {
        reaching_in(&self.self_assigns, name, at)
    }

    /// The values put into the container `name` between `from` and a use at `at`; with `key`
    /// (a use `name["ce"]`), only those put under that key or under a key not written out.
    pub fn fills_between(
        &self,
        name: &str,
        from: TextSize,
        at: TextSize,
        key: Option<&Expr>,
    ) -> Vec<AssignRec<'a>> {
        let wanted = key.and_then(literal_key);
        self.fills.get(name).map_or_else(Vec::new, |all| {
            all.iter()
                .filter(|(_, rec)| rec.stmt.start() >= from && rec.stmt.end() <= at)
                .filter(|(put, _)| match (&wanted, put.and_then(literal_key)) {
                    (Some(wanted), Some(put)) => *wanted == put,
                    _ => true,
                })
                .take(8)
                .map(|(_, rec)| *rec)
                .collect()
        })
    }
}

/// The class an annotation names: `DecoderRNN`, `models.DecoderRNN`, or inside `Optional[...]`.
fn annotated_class(annotation: &Expr) -> &Expr {
    match annotation {
        Expr::Subscript(sub)
            if matches!(&*sub.value, Expr::Name(n) if n.id.as_str() == "Optional")
                || matches!(&*sub.value, Expr::Attribute(a) if a.attr.as_str() == "Optional") =>
        {
            &sub.slice
        }
        other => other,
    }
}

/// The assignments of `name` in `assigns` that may reach a use at `at`: the last unconditional
/// one before it, and the conditional ones after that.
fn reaching_in<'a>(
    assigns: &FxHashMap<&'a str, Vec<AssignRec<'a>>>,
    name: &str,
    at: TextSize,
) -> Vec<AssignRec<'a>> {
    let Some(all) = assigns.get(name) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for rec in all.iter().rev() {
        if rec.stmt.end() > at {
            continue;
        }
        found.push(*rec);
        let unconditional = rec.cond.is_none_or(|c| c.contains(at));
        if unconditional && !rec.aug {
            break;
        }
        if found.len() >= 6 {
            break;
        }
    }
    found.reverse();
    found
}

/// A subscript key written out as a literal (`"ce"`, `0`), for comparing keys.
fn literal_key(key: &Expr) -> Option<String> {
    match key {
        Expr::StringLiteral(s) => Some(format!("s:{}", s.value.to_str())),
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => Some(format!("n:{i}")),
            _ => None,
        },
        _ => None,
    }
}

/// A value read from names, attributes and subscripts only (`loss`, `out["loss"]`,
/// `outputs.loss`): nothing is computed there.
fn only_names(value: &Expr, depth: u8) -> bool {
    match value {
        Expr::Name(_) => true,
        Expr::Attribute(attr) => depth < 8 && only_names(&attr.value, depth + 1),
        Expr::Subscript(sub) => depth < 8 && only_names(&sub.value, depth + 1),
        _ => false,
    }
}

/// `__name__ == "__main__"` (either way round).
pub fn is_main_test(test: &Expr) -> bool {
    let Expr::Compare(compare) = test else {
        return false;
    };
    let [right] = &compare.comparators[..] else {
        return false;
    };
    let is_name = |e: &Expr| matches!(e, Expr::Name(n) if n.id.as_str() == "__name__");
    let is_main = |e: &Expr| matches!(e, Expr::StringLiteral(s) if s.value.to_str() == "__main__");
    compare.ops.len() == 1
        && matches!(compare.ops[0], ast::CmpOp::Eq)
        && (is_name(&compare.left) && is_main(right) || is_main(&compare.left) && is_name(right))
}

/// A base class as written: resolved through imports, or a name of this file.
fn base_callee(base: &Expr, semantic: &Semantic<'_>) -> Option<Callee> {
    let base = match base {
        Expr::Subscript(sub) => &*sub.value, // Generic[T], nn.Module[...]
        other => other,
    };
    if let Some(q) = semantic.resolve(base) {
        return Some(Callee::Qualified(q.into()));
    }
    let name = UnqualifiedName::from_expr(base)?;
    Some(Callee::Local(name.segments().join(".").into()))
}

/// Classification of calls and names at the end of the walk.
pub(crate) struct Resolver<'b, 'a> {
    pub builder: &'b FactsBuilder<'a>,
    pub semantic: &'b Semantic<'a>,
    /// Module-level classes and functions of the file.
    pub module_names: rustc_hash::FxHashSet<&'a str>,
    /// Module-level functions of the file.
    pub module_functions: rustc_hash::FxHashSet<&'a str>,
    /// Names of functions the file uses as a loss: handed to `jax.grad`, to `compile(loss=...)`
    /// or another `loss=`/`criterion=` argument, or bound to a loss-named variable
    /// (`criterion = my_loss`).
    pub used_as_loss: rustc_hash::FxHashSet<&'a str>,
    /// The file star-imports a module that may be the project's (`from ops import *`).
    pub star_imports: bool,
    /// The file adds its own values to the framework's regularisation-loss collection
    /// (`tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, center_loss)`): what it reads
    /// back from that collection is then more than the layers' weight decay.
    pub adds_regularization: bool,
    /// What calling each qualified name means ([`Resolver::api_kind`]), by the interned name's
    /// address: a file calls the same APIs again and again.
    pub api_kinds: std::cell::RefCell<rustc_hash::FxHashMap<usize, Option<ApiKind>>>,
}

/// `v.assign_add(x)`, `tf.assign(v, x)`, or a `tf.group(...)` / list of them, that update
/// statistics rather than parameters: no gradient among the values, nothing subtracted.
fn assigns_state(value: &Expr, depth: u8) -> bool {
    if depth > 4 {
        return false;
    }
    match value {
        Expr::Call(call) => {
            let name = match &*call.func {
                Expr::Attribute(a) => a.attr.as_str(),
                Expr::Name(n) => n.id.as_str(),
                _ => return false,
            };
            let values = || {
                call.arguments
                    .args
                    .iter()
                    .chain(call.arguments.keywords.iter().map(|k| &k.value))
            };
            match name {
                // `count.assign_add(n)`: a running sum.
                "assign_add" => !values().any(|a| mentions_gradient(a, 0)),
                // `tf.assign(mean, total / count)`; gradient descent subtracts
                // (`tf.assign(w, w - lr * dw)`), or assigns a value computed elsewhere.
                "assign" => values().last().is_some_and(|value| {
                    !matches!(value, Expr::Name(_))
                        && !mentions_gradient(value, 0)
                        && !subtracts(value, 0)
                }),
                "group" => {
                    !call.arguments.args.is_empty()
                        && call
                            .arguments
                            .args
                            .iter()
                            .all(|a| assigns_state(a, depth + 1))
                }
                _ => false,
            }
        }
        Expr::List(list) => {
            !list.elts.is_empty() && list.elts.iter().all(|e| assigns_state(e, depth + 1))
        }
        Expr::Tuple(tuple) => {
            !tuple.elts.is_empty() && tuple.elts.iter().all(|e| assigns_state(e, depth + 1))
        }
        _ => false,
    }
}

/// The expression subtracts somewhere (`w - lr * dw`).
fn subtracts(expr: &Expr, depth: u8) -> bool {
    if depth > 6 {
        return false;
    }
    match expr {
        Expr::BinOp(b) => {
            matches!(b.op, ast::Operator::Sub)
                || subtracts(&b.left, depth + 1)
                || subtracts(&b.right, depth + 1)
        }
        Expr::UnaryOp(u) => subtracts(&u.operand, depth + 1),
        Expr::Call(c) => c.arguments.args.iter().any(|a| subtracts(a, depth + 1)),
        _ => false,
    }
}

/// A method call on a value: `loss.backward()`, `optimizer.step()`, `x.mean()`.
pub(crate) struct MethodCall<'a> {
    pub receiver: &'a Expr,
    pub name: &'a str,
}

impl<'b, 'a> Resolver<'b, 'a> {
    pub(crate) fn knowledge(&self) -> &Knowledge {
        &self.builder.knowledge
    }

    /// The scopes to search for a name used in `scope`: itself, its enclosing functions, then
    /// the module.
    fn scope_chain(&self, scope: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(Some(scope), |&s| self.builder.scopes[s].parent)
    }

    /// What a callee expression names.
    pub fn callee(&self, scope: usize, func: &'a Expr, at: TextSize) -> Option<Callee> {
        match func {
            Expr::Name(name) => self.name_callee(scope, name.id.as_str(), at, 0),
            Expr::Attribute(attr) => {
                if let Expr::Name(receiver) = &*attr.value
                    && receiver.id.as_str() == "self"
                {
                    return Some(self.self_member(scope, attr.attr.as_str()));
                }
                let q = self.semantic.resolve(func)?;
                Some(Callee::Qualified(q.into()))
            }
            Expr::Call(inner) => {
                // `jax.jit(train_step)(state, batch)` runs `train_step`.
                if let Some(wrapped) = self.wrapped_function(inner) {
                    return self.callee(scope, wrapped, at);
                }
                let ctor = self.callee(scope, &inner.func, at)?;
                Some(Callee::InstanceOf(Box::new(ctor)))
            }
            _ => None,
        }
    }

    /// The function a wrapper call returns to be run later: `jax.jit(train_step)`,
    /// `partial(train_step, model=m)`, `tf.function(step)` (nested wrappers unwrapped), when it
    /// is named (`train_step`, `self.train_step`).
    pub(crate) fn wrapped_function(&self, call: &'a ExprCall) -> Option<&'a Expr> {
        let mut call = call;
        for _ in 0..4 {
            let q = self.semantic.resolve(&call.func)?;
            let knowledge = self.knowledge();
            if !knowledge
                .training
                .steps
                .function_wrappers
                .contains(&knowledge.canonical(&q))
            {
                return None;
            }
            match call.arguments.args.first()? {
                Expr::Call(inner) => call = inner,
                named @ (Expr::Name(_) | Expr::Attribute(_)) => return Some(named),
                _ => return None,
            }
        }
        None
    }

    /// Strips module methods that return their receiver (`Net().to(device)` → `Net()`): the
    /// innermost call that is not one, or (as `Err`) the receiver that is not a call
    /// (`model.cuda()` → `model`).
    pub(crate) fn strip_self_returning(
        &self,
        call: &'a ExprCall,
    ) -> Result<&'a ExprCall, &'a Expr> {
        let mut call = call;
        for _ in 0..8 {
            let Expr::Attribute(attr) = &*call.func else {
                return Ok(call);
            };
            if !self
                .knowledge()
                .self_returning_methods
                .iter()
                .any(|m| m == attr.attr.as_str())
                || self.semantic.resolves(&call.func)
            {
                return Ok(call);
            }
            match &*attr.value {
                Expr::Call(inner) => call = inner,
                other => return Err(other),
            }
        }
        Ok(call)
    }

    pub(crate) fn name_callee(
        &self,
        scope: usize,
        name: &'a str,
        at: TextSize,
        depth: u8,
    ) -> Option<Callee> {
        for s in self.scope_chain(scope) {
            let draft = &self.builder.scopes[s];
            // In enclosing scopes every assignment counts (the inner function runs later).
            let at = if s == scope {
                at
            } else {
                TextSize::new(u32::MAX)
            };
            if let Some(last) = draft.last_reaching(name, at) {
                return Some(match last.value {
                    // `p_train_step = jax.pmap(partial(train_step, ...))`: the step itself.
                    AssignValue::Expr(Expr::Call(call))
                        if depth < 4
                            && let Some(wrapped) = self.wrapped_function(call) =>
                    {
                        match wrapped {
                            Expr::Name(inner) => self
                                .name_callee(s, inner.id.as_str(), last.stmt.start(), depth + 1)
                                .unwrap_or_else(|| Callee::Variable(name.into())),
                            other => self
                                .callee(s, other, last.stmt.start())
                                .unwrap_or_else(|| Callee::Variable(name.into())),
                        }
                    }
                    AssignValue::Expr(Expr::Call(call)) if depth < 4 => {
                        // `model = Net().to(device)`, `model = model.cuda()`: still the module.
                        match self.strip_self_returning(call) {
                            Ok(call) => match self.callee(s, &call.func, last.stmt.start()) {
                                Some(ctor) => Callee::InstanceOf(Box::new(ctor)),
                                None => Callee::Variable(name.into()),
                            },
                            Err(Expr::Name(receiver)) => self
                                .name_callee(s, receiver.id.as_str(), last.stmt.start(), depth + 1)
                                .unwrap_or_else(|| Callee::Variable(name.into())),
                            Err(_) => Callee::Variable(name.into()),
                        }
                    }
                    _ => Callee::Variable(name.into()),
                });
            }
            if draft.params.contains(&name) {
                return Some(Callee::Variable(name.into()));
            }
            if s != 0 && draft.nested.iter().any(|(n, _)| *n == name) {
                return Some(Callee::Local(name.into()));
            }
        }
        if let Some(q) = self.semantic.imports.get(name) {
            return Some(Callee::Qualified(q.into()));
        }
        if self.module_names.contains(name) {
            return Some(Callee::Local(name.into()));
        }
        if self.knowledge().is_builtin_name(name) {
            return None;
        }
        // `from ops import *` of a project module: an unbound name may be one of its functions
        // (the index resolves it there, or not at all).
        if self.star_imports && !self.builder.scopes[scope].params.contains(&name) {
            return Some(Callee::Local(name.into()));
        }
        Some(Callee::Variable(name.into()))
    }

    /// `self.<name>`: an attribute whose constructor this file shows, or a member to resolve
    /// through the class hierarchy.
    ///
    /// An attribute built from another `self` member (`self.sampler = self.sampler(z)`,
    /// `self.a = self.b(); self.b = self.a()`) stays a member: its constructor is not followed
    /// through `self`, so the resolution cannot cycle.
    pub(crate) fn self_member(&self, scope: usize, name: &str) -> Callee {
        if let Some(class) = self.builder.scopes[scope].class {
            let draft = &self.builder.classes[class as usize];
            if let Some(&(_, Expr::Call(call), stmt, attr_scope)) = draft
                .attrs
                .iter()
                .rev()
                .find(|(n, v, _, _)| *n == name && matches!(v, Expr::Call(_)))
                && !Self::is_self_attribute(&call.func)
                && let Some(ctor) = self.callee(attr_scope, &call.func, stmt.start())
                && !matches!(ctor, Callee::SelfMember(_))
            {
                return Callee::InstanceOf(Box::new(ctor));
            }
        }
        Callee::SelfMember(name.into())
    }

    /// `self.<name>` (possibly behind `self.<name>.<method>` or a call of one).
    fn is_self_attribute(func: &Expr) -> bool {
        let mut e = func;
        loop {
            match e {
                Expr::Attribute(a) => {
                    if matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self") {
                        return true;
                    }
                    e = &a.value;
                }
                Expr::Call(c) => e = &c.func,
                _ => return false,
            }
        }
    }

    /// The API kind of a callee that is, or is an instance of, a known API.
    pub fn api_kind(&self, callee: &Callee) -> Option<ApiKind> {
        let Callee::Qualified(q) = callee else {
            return None;
        };
        // Names are interned: one address per text.
        let key = q.as_str().as_ptr() as usize;
        if let Some(&kind) = self.api_kinds.borrow().get(&key) {
            return kind;
        }
        let knowledge = self.knowledge();
        let kind = knowledge.classify_call(&knowledge.canonical(q));
        self.api_kinds.borrow_mut().insert(key, kind);
        kind
    }

    pub fn is_method_call(&self, func: &'a Expr) -> Option<MethodCall<'a>> {
        let Expr::Attribute(attr) = func else {
            return None;
        };
        if self.semantic.resolves(func) {
            return None; // `torch.mean`, `nn.functional.x`: a module function, not a method
        }
        if matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self") {
            return None;
        }
        Some(MethodCall {
            receiver: &attr.value,
            name: attr.attr.as_str(),
        })
    }

    /// The last name in a receiver expression (`self.optimizer` → `optimizer`).
    pub fn receiver_name(receiver: &Expr) -> Option<&str> {
        match receiver {
            Expr::Name(n) => Some(n.id.as_str()),
            Expr::Attribute(a) => Some(a.attr.as_str()),
            _ => None,
        }
    }

    /// True if the receiver of `.step()` / `.minimize()` is an optimizer.
    fn is_optimizer_receiver(&self, scope: usize, receiver: &'a Expr, at: TextSize) -> bool {
        let callee = match receiver {
            Expr::Name(n) => self.name_callee(scope, n.id.as_str(), at, 0),
            Expr::Attribute(a) if matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self") => {
                Some(self.self_member(scope, a.attr.as_str()))
            }
            Expr::Call(call) => self
                .callee(scope, &call.func, at)
                .map(|c| Callee::InstanceOf(Box::new(c))),
            _ => None,
        };
        if let Some(Callee::InstanceOf(ctor)) = &callee {
            match self.api_kind(ctor) {
                Some(ApiKind::Optimizer) => return true,
                Some(_) => return false,
                None => {}
            }
        }
        Self::receiver_name(receiver).is_some_and(|n| self.knowledge().is_optimizer_variable(n))
    }

    /// A parameter updated by hand: named like one (`w1`, `W`, `bias`, `params`), or the
    /// variable of a loop over a model's parameters (`for p in model.parameters():`). An input
    /// optimised through a network (`img`, `x`, `z`) is not one.
    fn is_parameter(&self, scope: usize, target: &'a Expr, at: TextSize) -> bool {
        let mut root = target;
        loop {
            match root {
                Expr::Attribute(a) if a.attr.as_str() == "data" => root = &a.value,
                Expr::Subscript(s) => root = &s.value,
                _ => break,
            }
        }
        let name = match root {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.as_str(),
            _ => return false,
        };
        let steps = &self.knowledge().training.steps;
        let lower = name.to_ascii_lowercase();
        if steps.parameter_names.iter().any(|p| {
            lower == *p
                || lower
                    .strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '_'))
        }) {
            return true;
        }
        let Expr::Name(_) = root else { return false };
        self.scope_chain(scope).any(|s| {
            self.builder.scopes[s]
                .reaching(name, at)
                .iter()
                .any(|rec| match rec.value {
                    AssignValue::LoopTarget(iter, _) => {
                        let iterated = match iter {
                            Expr::Call(c) => &*c.func,
                            other => other,
                        };
                        let last = match iterated {
                            Expr::Attribute(a) => a.attr.as_str(),
                            Expr::Name(n) => n.id.as_str(),
                            _ => "",
                        };
                        steps.parameter_collections.iter().any(|p| p == last)
                    }
                    _ => false,
                })
        })
    }

    fn is_tape(&self, scope: usize, receiver: &Expr) -> bool {
        let Some(name) = Self::receiver_name(receiver) else {
            return false;
        };
        self.scope_chain(scope)
            .any(|s| self.builder.scopes[s].tapes.contains(&name))
            || name.contains("tape")
    }

    /// Classify the calls of one scope.
    /// The facts of one scope, collected by concept: calls (gradient steps, loss evidence,
    /// framework APIs, project calls: `calls.rs`, `gradients.rs`, `losses.rs`, and the
    /// component flow of `components.rs`), hand-written parameter updates, loss-named values,
    /// and the loss expressions of what is differentiated, named or returned.
    fn scope_facts(&self, index: usize, classes: &[ClassFacts]) -> ScopeFacts {
        let draft = &self.builder.scopes[index];
        let mut facts = ScopeFacts {
            loops: ThinVec::from(draft.loops.as_slice()),
            ..ScopeFacts::default()
        };
        if !draft.no_grad_blocks.is_empty() {
            facts.flow_mut().no_grad_blocks = ThinVec::from(draft.no_grad_blocks.as_slice());
        }
        let mut roots: Vec<LossRoot<'a>> = Vec::new();
        for rec in &draft.calls {
            if let Some(method) = self.is_method_call(&rec.call.func) {
                self.note_method_call(index, rec, method.receiver, method.name, &mut facts);
                if !self.method_grad_step(index, rec, &method, &mut facts, &mut roots) {
                    self.method_loss_evidence(rec, &method, &mut facts);
                }
            } else {
                self.function_call_facts(index, draft, rec, &mut facts, &mut roots);
            }
        }
        self.manual_update_steps(index, draft, &mut facts);
        if let Some(losses) = &mut facts.losses {
            losses.grad_steps.sort_by_key(|s| s.range.start());
        }
        let named_values = self.named_loss_values(draft, &mut facts);
        facts.other_evidence.sort_by_key(|e| e.range.start());
        // Source order: a call's arguments may be visited before it (a comprehension's
        // element after its generators), and loss evidence merges them by start.
        if !facts.project_calls.is_sorted_by_key(|c| c.range.start()) {
            facts.project_calls.sort_by_key(|c| c.range.start());
        }
        // The same for method calls, which [`ScopeFacts::method_calls`] merges (a call before
        // the calls inside it).
        use crate::semantic::facts::source_order;
        if !facts.self_calls.is_sorted_by_key(|c| source_order(c.range)) {
            facts.self_calls.sort_by_key(|c| source_order(c.range));
        }
        if let Some(flow) = &mut facts.flow
            && !flow
                .method_calls
                .is_sorted_by_key(|c| source_order(c.range))
        {
            flow.method_calls.sort_by_key(|c| source_order(c.range));
        }
        self.loss_values(index, draft, classes, roots, named_values, &mut facts);
        facts
    }

    /// Values a constructed project instance's call hands to this call (`out = model(x)`,
    /// then `criterion(out, y)`): the shapes a value carries from one component to another.
    fn value_flows(
        &self,
        scope: usize,
        call: &'a ExprCall,
        consumer: &Callee,
        out: &mut ThinVec<ValueFlow>,
    ) {
        let consumer_ok = self.is_project_instance(consumer)
            || matches!(consumer, Callee::Local(_))
            || matches!(consumer, Callee::Qualified(q)
                if !self.knowledge().is_external_from(q, self.semantic.package.as_deref()));
        if !consumer_ok {
            return;
        }
        for (i, arg) in call.arguments.args.iter().enumerate().take(8) {
            let producer = match arg {
                Expr::Call(inner) => self.callee(scope, &inner.func, inner.start()),
                Expr::Name(name) => {
                    match self.builder.scopes[scope].last_reaching(name.id.as_str(), call.start()) {
                        Some(AssignRec {
                            value: AssignValue::Expr(Expr::Call(inner)),
                            stmt,
                            ..
                        }) => self.callee(scope, &inner.func, stmt.start()),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(producer) = producer
                && self.is_project_instance(&producer)
            {
                out.push(ValueFlow {
                    producer,
                    consumer: consumer.clone(),
                    arg: i as u32,
                    range: call.range(),
                });
            }
        }
    }

    /// An instance of a class this file or the project may define (`Net()`, `models.Net()`).
    pub(crate) fn is_project_instance(&self, callee: &Callee) -> bool {
        match callee {
            Callee::InstanceOf(ctor) => self.is_project_ctor(ctor),
            _ => false,
        }
    }

    /// A constructor this file or the project may define (`Net`, `models.Net`).
    pub(crate) fn is_project_ctor(&self, ctor: &Callee) -> bool {
        match ctor {
            Callee::Local(_) => true,
            Callee::Qualified(q) => !self
                .knowledge()
                .is_external_from(q, self.semantic.package.as_deref()),
            _ => false,
        }
    }

    /// True if `name` is a method defined in the class of `scope` in this file.
    pub(crate) fn is_own_method(&self, scope: usize, name: &str) -> bool {
        let Some(class) = self.builder.scopes[scope].class else {
            return false;
        };
        self.builder.classes[class as usize]
            .facts
            .methods
            .iter()
            .any(|&m| self.builder.functions[m as usize].facts.name == name)
    }

    fn note_optimizer_attr(&self, facts: &mut ScopeFacts, receiver: &Expr, range: TextRange) {
        if let Expr::Attribute(attr) = receiver
            && matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self")
        {
            facts
                .losses_mut()
                .optimizer_attr_uses
                .push((attr.attr.as_str().into(), range));
        }
    }

    /// A fetched op that only assigns variables from values that are not gradients
    /// (`self.update_op = tf.group(count.assign_add(n), total.assign_add(s))`, a normalizer's
    /// running statistics): whatever its name, it trains nothing. Judged from its assignments in
    /// the scope chain, or in the class for `self.<attr>`.
    fn updates_state_only(&self, scope: usize, fetched: &'a Expr) -> bool {
        let values: Vec<&'a Expr> = match fetched {
            Expr::Attribute(a) if matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self") => {
                let Some(class) = self.builder.scopes[scope].class else {
                    return false;
                };
                self.builder.classes[class as usize]
                    .attrs
                    .iter()
                    .filter(|(name, ..)| *name == a.attr.as_str())
                    .map(|(_, value, ..)| *value)
                    .collect()
            }
            Expr::Name(n) => self
                .scope_chain(scope)
                .flat_map(|s| self.builder.scopes[s].assigns.get(n.id.as_str()))
                .flatten()
                .filter_map(|r| match r.value {
                    AssignValue::Expr(e) => Some(e),
                    _ => None,
                })
                .collect(),
            _ => return false,
        };
        !values.is_empty() && values.iter().all(|v| assigns_state(v, 0))
    }

    /// The fetches of a `sess.run(...)`, flattened (bounded).
    fn fetched(&self, scope: usize, expr: &'a Expr, depth: u8, out: &mut Vec<&'a Expr>) {
        if depth > 4 || out.len() > 64 {
            return;
        }
        match expr {
            Expr::List(l) => l
                .elts
                .iter()
                .for_each(|e| self.fetched(scope, e, depth + 1, out)),
            Expr::Tuple(t) => t
                .elts
                .iter()
                .for_each(|e| self.fetched(scope, e, depth + 1, out)),
            Expr::Dict(d) => {
                for item in &d.items {
                    if let Some(key @ Expr::StringLiteral(_)) = &item.key {
                        out.push(key);
                    }
                    self.fetched(scope, &item.value, depth + 1, out);
                }
            }
            Expr::BinOp(b) => {
                self.fetched(scope, &b.left, depth + 1, out);
                self.fetched(scope, &b.right, depth + 1, out);
            }
            Expr::Name(name) => {
                out.push(expr);
                let bound = self.scope_chain(scope).find_map(|s| {
                    self.builder.scopes[s]
                        .assigns
                        .get(name.id.as_str())
                        .and_then(|recs| recs.last().copied())
                });
                if let Some(AssignRec {
                    value:
                        AssignValue::Expr(
                            value @ (Expr::List(_)
                            | Expr::Tuple(_)
                            | Expr::Dict(_)
                            | Expr::BinOp(_)),
                        ),
                    ..
                }) = bound
                {
                    self.fetched(scope, value, depth + 1, out);
                }
            }
            other => out.push(other),
        }
    }

    /// `sess.run(train_op)`, `sess.run([train_op, loss], ...)`: a fetched value is a training op.
    fn runs_train_op(&self, scope: usize, call: &'a ExprCall) -> bool {
        let Some(first) = call
            .arguments
            .args
            .first()
            .or_else(|| call.arguments.find_keyword("fetches").map(|k| &k.value))
        else {
            return false;
        };
        // What is fetched, through lists, dicts (`{"train": model.train}`), concatenations
        // (`tensor_list + [summary_op]`) and names bound to them.
        let mut fetched: Vec<&Expr> = Vec::new();
        self.fetched(scope, first, 0, &mut fetched);
        fetched.iter().any(|expr| {
            if self.updates_state_only(scope, expr) {
                return false;
            }
            let name = match expr {
                Expr::Name(n) => n.id.as_str(),
                Expr::Attribute(a) => a.attr.as_str(),
                Expr::StringLiteral(key) => key.value.to_str(),
                _ => return false,
            };
            if ["train_op", "train_step", "optimizer", "optim", "opt", "update", "updates", "train"]
                .iter()
                .any(|n| name == *n || name.ends_with(&format!("_{n}")) || name.starts_with(&format!("{n}_")))
            {
                return true;
            }
            // `train_op = optimizer.minimize(loss)` somewhere in scope.
            self.scope_chain(scope).any(|s| {
                self.builder.scopes[s].assigns.get(name).is_some_and(|recs| {
                    recs.iter().any(|r| {
                        matches!(r.value, AssignValue::Expr(Expr::Call(c))
                            if matches!(&*c.func, Expr::Attribute(a)
                                if self.knowledge().minimize_methods.iter().any(|m| m == a.attr.as_str())
                                    || self.knowledge().apply_gradient_methods.iter().any(|m| m == a.attr.as_str())))
                    })
                })
            })
        })
    }
}

/// An expression that reads a gradient: `.grad` (PyTorch), or a name with `grad` in it
/// (`grads[0]`, `w_grad`), bounded in depth.
fn mentions_gradient(expr: &Expr, depth: u8) -> bool {
    if depth > 6 {
        return false;
    }
    match expr {
        Expr::Attribute(a) => a.attr.as_str() == "grad" || mentions_gradient(&a.value, depth + 1),
        Expr::Name(n) => {
            let id = n.id.as_str();
            id.starts_with("grad") || id.ends_with("_grad") || id.ends_with("_grads")
        }
        Expr::Subscript(s) => mentions_gradient(&s.value, depth + 1),
        Expr::BinOp(b) => {
            mentions_gradient(&b.left, depth + 1) || mentions_gradient(&b.right, depth + 1)
        }
        Expr::UnaryOp(u) => mentions_gradient(&u.operand, depth + 1),
        Expr::Call(c) => c
            .arguments
            .args
            .iter()
            .any(|a| mentions_gradient(a, depth + 1)),
        _ => false,
    }
}

/// A value that computes a loss, as opposed to copying one or building a loss object: it does
/// arithmetic, reduces or transforms a tensor, or calls a loss (a known loss API, or a callee
/// named like one). `self.loss = make_loss(cfg)` holds a Loss component and is not one.
fn is_computation(value: &Expr, resolver: &Resolver<'_, '_>) -> bool {
    is_computation_depth(value, resolver, 0)
}

fn is_computation_depth(value: &Expr, resolver: &Resolver<'_, '_>, depth: u8) -> bool {
    if depth > 6 {
        return false;
    }
    let knowledge = resolver.knowledge();
    match value {
        Expr::Call(call) => {
            let name = match &*call.func {
                Expr::Attribute(attr) => attr.attr.as_str(),
                Expr::Name(name) => name.id.as_str(),
                _ => return false,
            };
            if matches!(
                name,
                "item" | "detach" | "tolist" | "numpy" | "get" | "pop" | "copy" | "clone"
            ) {
                return false;
            }
            // `nn.MSELoss(reduction="none")`, `FocalLoss()`: building a loss object, not a loss.
            if knowledge.is_loss_class_name(name) {
                return false;
            }
            if knowledge.is_loss_callee(name)
                || knowledge.reduction_methods.iter().any(|m| m == name)
                || knowledge.math_methods.iter().any(|m| m == name)
                || name == "sum" && resolver.semantic.is_builtin("sum")
            {
                return true;
            }
            if let Some(q) = resolver.semantic.resolve(&call.func) {
                let canonical = knowledge.canonical(&q);
                return matches!(
                    knowledge.classify_call(&canonical),
                    Some(ApiKind::LossFunction | ApiKind::Reduction | ApiKind::Math)
                );
            }
            // `nn.CrossEntropyLoss()(logits, y)`: calling a freshly built loss object.
            matches!(&*call.func, Expr::Call(inner) if resolver.semantic.resolve(&inner.func).is_some_and(|q| {
                knowledge.classify_call(&knowledge.canonical(&q)) == Some(ApiKind::LossClass)
            }))
        }
        Expr::BinOp(bin) => {
            is_computation_depth(&bin.left, resolver, depth + 1)
                || is_computation_depth(&bin.right, resolver, depth + 1)
                || {
                    // `a + b` of two values is a computation too (combining terms).
                    !matches!(&*bin.left, Expr::NumberLiteral(_))
                        && !matches!(&*bin.right, Expr::NumberLiteral(_))
                }
        }
        Expr::UnaryOp(op) => is_computation_depth(&op.operand, resolver, depth + 1),
        _ => false,
    }
}

/// The loss inside a returned value: `return loss`, `return loss, logs`,
/// `return Output(loss=loss, ...)`, `return {"loss": loss}`.
fn returned_loss<'a>(value: &'a Expr, knowledge: &Knowledge) -> Option<&'a Expr> {
    match value {
        Expr::Name(name) if knowledge.is_loss_variable(name.id.as_str()) => Some(value),
        Expr::Tuple(tuple) => tuple.elts.iter().find_map(|e| returned_loss(e, knowledge)),
        Expr::Call(call) => call
            .arguments
            .find_keyword("loss")
            .map(|k| &k.value)
            .filter(|v| !v.is_none_literal_expr()),
        Expr::If(ifexp) => returned_loss(&ifexp.body, knowledge)
            .or_else(|| returned_loss(&ifexp.orelse, knowledge)),
        Expr::Dict(dict) => dict.items.iter().find_map(|item| match &item.key {
            Some(Expr::StringLiteral(key)) if key.value.to_str() == "loss" => Some(&item.value),
            _ => None,
        }),
        _ => None,
    }
}
