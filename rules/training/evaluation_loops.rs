//! Evaluation loops of a file, shared by DL504 (eval-mode-not-set) and DL505
//! (no-grad-missing): a loop that runs a Model in a function with no backward and no optimizer
//! step. The facts say which functions may hold one (a loop, no gradient step) and whether a
//! call in a loop may run a model at all; only then is the file parsed again and its tree
//! walked — once — for what the facts do not carry: `with torch.no_grad()` blocks,
//! `model.eval()` calls and where the model runs.

use std::collections::{BTreeMap, BTreeSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::rule_context::ProjectContext;
use crate::semantic::Role;
use crate::semantic::calls::resolve_through_callers;
use crate::semantic::facts::{Callee, ClassId, FunctionId, InstanceRef};
use crate::semantic::flow::Resolved;
use crate::semantic::index::{FileId, Symbol};
use crate::semantic::modes::Modes;
use crate::semantic::training::for_loop_over_data;
use crate::semantic::verdict::extends;

/// One outermost loop of a candidate function that runs the model.
#[derive(Debug, Clone)]
pub(crate) struct EvalLoop {
    /// The function holding the loop (`None`: module-level code).
    pub function: Option<FunctionId>,
    /// The `for ...:` / `while ...:` line.
    pub header: TextRange,
    /// The first call of the model inside the loop, and the model as written (`model`,
    /// `self.net`).
    pub model_call: TextRange,
    pub model: String,
    /// The function's name marks it as evaluation (`evaluate`, `val_epoch`).
    pub eval_named: bool,
    /// The loop iterates over data batches (`for x, y in val_loader`).
    pub over_data: bool,
    /// Gradient tracking is off at the model call: a `no_grad`/`inference_mode` block, a
    /// decorator, an earlier `torch.set_grad_enabled(False)`, or every same-file caller calls
    /// the function under `no_grad`.
    pub no_grad: bool,
    /// The model is put in eval mode before it runs: in the function, by a same-file helper it
    /// calls, or by every caller (of any file, or their callers) before calling it.
    pub eval_mode: bool,
    /// The model is known to have layers that behave differently in training and evaluation
    /// mode (dropout, batch norm): itself, through the project, or as a library model.
    pub mode_dependent: bool,
}

/// What the loop runs, as the project can resolve it.
#[derive(Debug, Clone)]
enum ModelRef {
    /// The method's own class (`self(x)` in a model's `predict`).
    Own(ClassId),
    Instance(InstanceRef),
}

/// What one function does, in source order.
#[derive(Default)]
struct Frame {
    name: String,
    has_parameters: bool,
    /// Positional parameters, in order (`self` included).
    params: Vec<String>,
    class: Option<ClassId>,
    /// Its loops are looked at: a function that may evaluate, or module-level code.
    eligible: bool,
    candidate: Option<FunctionId>,
    /// The function trains (its evaluation loops sit beside or inside its training loops).
    trains: bool,
    self_is_model: bool,
    /// The method's class extends a framework base that manages modes (a pipeline).
    managed: bool,
    decorated_no_grad: bool,
    no_grad_depth: u32,
    /// `torch.set_grad_enabled(False)` as a statement.
    grad_off_at: Option<TextSize>,
    /// `x.eval()` / `x.train(False)`.
    eval_at: Option<TextSize>,
    /// Every mode switch, in order: where, and whether it sets eval mode.
    modes: Vec<(TextSize, bool)>,
    /// Same-file functions called (by name or `self.<name>`), where, and whether under a
    /// `no_grad` block.
    calls: Vec<(String, TextSize, bool)>,
    /// The loops being walked (indices into `loops`), innermost last.
    open_loops: Vec<usize>,
    /// Local names bound to a model constructor, and the constructor.
    model_locals: BTreeMap<String, Callee>,
    /// Every loop, in source order.
    loops: Vec<RawLoop>,
}

struct RawLoop {
    header: TextRange,
    range: TextRange,
    parent: Option<usize>,
    over_data: bool,
    /// `Variable(x, volatile=True)` inside: PyTorch 0.3's way of turning gradients off.
    volatile: bool,
    model_call: Option<(TextRange, String, bool, Option<ModelRef>)>,
}

struct Walker<'c, 'p> {
    cx: &'c ProjectContext<'p>,
    candidates: &'c BTreeMap<TextSize, (FunctionId, bool)>,
    frames: Vec<Frame>,
    done: Vec<Frame>,
    /// Functions called under `no_grad` / after an eval-mode call, with the callers' count.
    called: BTreeMap<String, CallerContext>,
    /// Functions whose body sets eval mode.
    sets_eval: BTreeSet<String>,
    class_stack: Vec<Option<u32>>,
}

#[derive(Default, Clone, Copy)]
struct CallerContext {
    calls: u32,
    under_no_grad: u32,
    after_eval: u32,
}

/// The evaluation loops of the file (empty unless the facts show a candidate and the file
/// imports PyTorch).
/// The evaluation loops of the file, computed once for the rules that judge them (DL504,
/// DL505).
pub(crate) fn evaluation_loops(cx: &ProjectContext<'_>) -> std::rc::Rc<Vec<EvalLoop>> {
    struct Loops(std::rc::Rc<Vec<EvalLoop>>);
    cx.shared(|cx| Loops(std::rc::Rc::new(find_evaluation_loops(cx))))
        .0
        .clone()
}

fn find_evaluation_loops(cx: &ProjectContext<'_>) -> Vec<EvalLoop> {
    let facts = cx.facts();
    let knowledge = cx.knowledge();
    let evaluation = &knowledge.training.evaluation;
    let path = &cx.project_file().path;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if knowledge.is_test_module(facts.package.as_deref(), file_name) {
        return Vec::new();
    }
    // Functions with loops: one that trains may still evaluate between its training loops
    // (after `model.eval()`, or under `no_grad`), never by its name alone.
    let mut candidates = BTreeMap::new();
    for (id, function) in facts.functions.iter().enumerate() {
        let body = &function.body;
        if body.loops.is_empty()
            || function.is_generator
            || (function.class.is_some()
                && evaluation
                    .framework_hooks
                    .iter()
                    .any(|m| m == function.name.as_str()))
        {
            continue;
        }
        let trains = cx.roles.training.trains(cx.file, Some(id as u32))
            || body
                .losses()
                .grad_steps
                .iter()
                .any(|s| s.kind.computes_gradients() || s.kind.updates_parameters())
            || !body.losses().optimizer_attr_uses.is_empty();
        candidates.insert(function.range.start(), (id as FunctionId, trains));
    }
    if candidates.is_empty() && facts.module.loops.is_empty() {
        return Vec::new();
    }
    // An evaluation loop is in a function named for evaluation, or runs under no_grad, or
    // after a mode switch: a file with none of these is not read again.
    if !facts.uses_no_grad
        && !facts.switches_mode
        && !candidates.values().any(|&(id, trains)| {
            !trains && evaluation.is_eval_name(&facts.functions[id as usize].name, true)
        })
    {
        return Vec::new();
    }
    // PyTorch code only (its facts say so before the file is parsed again).
    if !facts.imports_package("torch") {
        return Vec::new();
    }
    // Two kinds of method hold no evaluation loop (see the walk below): a method whose
    // class's framework manages modes (a pipeline), and a Model's own method whose loops walk
    // no data (its layers or steps: the forward pass). A file whose every candidate is such a
    // method, and whose module level has no loop, is not parsed again.
    let may_evaluate = |id: FunctionId| {
        let function = &facts.functions[id as usize];
        let Some(class) = function.class.filter(|_| function.parent.is_none()) else {
            return true;
        };
        if is_managed(cx, class) {
            return false;
        }
        let roles = &cx.roles.class(cx.file, class).roles;
        let is_model = roles.contains(Role::Model) && !roles.contains(Role::Loss);
        !is_model || function.body.loops.iter().any(|l| l.over_data)
    };
    if facts.module.loops.is_empty() && !candidates.values().any(|&(id, _)| may_evaluate(id)) {
        return Vec::new();
    }
    // An evaluation loop runs a model: a file none of whose candidates' loops (nor the
    // module-level code's) may call one is not parsed again. The facts say which scopes' calls
    // may, and which imported names called there the project decides.
    let looked_at = |scope: Option<FunctionId>| match scope {
        None => true,
        Some(id) => candidates.values().any(|&(c, _)| c == id) && may_evaluate(id),
    };
    let calls = &facts.loop_model_calls;
    if !calls.scopes.iter().any(|&scope| looked_at(scope))
        && !calls.imported.iter().any(|&(scope, qualified)| {
            looked_at(scope) && is_model_symbol(cx, &Callee::Qualified(qualified))
        })
    {
        return Vec::new();
    }
    let Some(parsed) = cx.parsed() else {
        return Vec::new();
    };
    let mut walker = Walker {
        cx,
        candidates: &candidates,
        frames: Vec::new(),
        done: Vec::new(),
        called: BTreeMap::new(),
        sets_eval: BTreeSet::new(),
        class_stack: Vec::new(),
    };
    // Module-level code is a frame of its own (calls from it count as callers).
    walker.frames.push(Frame {
        eligible: true,
        trains: true,
        ..Frame::default()
    });
    walker.visit_body(&parsed.module().body);
    let module_frame = walker.frames.pop();
    if let Some(frame) = module_frame {
        walker.record_calls(&frame);
        walker.done.push(frame);
    }
    let modes = Modes::new(cx.index);
    let mut out = Vec::new();
    for frame in &walker.done {
        if !frame.eligible || frame.managed {
            continue;
        }
        let function = frame.candidate;
        let scope = match function {
            Some(id) => &facts.functions[id as usize].body,
            None => &facts.module,
        };
        let eval_named = !frame.trains
            && function.is_some()
            && evaluation.is_eval_name(&frame.name, frame.has_parameters);
        let caller = walker.called.get(&frame.name).copied().unwrap_or_default();
        let callers = |want| function.is_some_and(|id| callers_cover(cx, cx.file, id, want, 0));
        let callers_no_grad = function.is_some()
            && (caller.calls > 0 && caller.under_no_grad == caller.calls || callers(Want::NoGrad));
        let callers_eval = function.is_some()
            && (caller.calls > 0 && caller.after_eval == caller.calls || callers(Want::Eval));
        // A loop that trains (a gradient step in it, or a call of a function that steps) is
        // not an evaluation loop; of the others, only the outermost counts.
        // The scope's loops by range, and those that hold a gradient step (the step's loop
        // and every loop around it), once per frame: a module may hold thousands of each.
        let loop_ids: rustc_hash::FxHashMap<TextRange, usize> = scope
            .loops
            .iter()
            .enumerate()
            .rev() // the first loop of a range wins, as a search from the front finds it
            .map(|(id, l)| (l.range, id))
            .collect();
        let mut steps_inside = vec![false; scope.loops.len()];
        for step in &scope.losses().grad_steps {
            if !(step.kind.computes_gradients() || step.kind.updates_parameters()) {
                continue;
            }
            let mut current = step.in_loop;
            while let Some(id) = current {
                if std::mem::replace(&mut steps_inside[id as usize], true) {
                    break; // this loop and those around it are marked already
                }
                current = scope.loops[id as usize].parent;
            }
        }
        let evaluates: Vec<bool> = frame
            .loops
            .iter()
            .map(|lp| {
                let Some(&id) = loop_ids.get(&lp.range) else {
                    return false;
                };
                !steps_inside[id]
                    && !cx.roles.training.loop_trains(
                        cx.file,
                        function,
                        id as crate::semantic::facts::LoopId,
                    )
            })
            .collect();
        for (i, lp) in frame.loops.iter().enumerate() {
            let mut ancestor = lp.parent;
            let mut nested = false;
            while let Some(a) = ancestor {
                nested |= evaluates[a];
                ancestor = frame.loops[a].parent;
            }
            if !evaluates[i] || nested {
                continue;
            }
            let Some((call, model, in_no_grad, model_ref)) = &lp.model_call else {
                continue;
            };
            // A model's own method looping over its layers or steps is the forward pass, not
            // a Runner's evaluation loop; one looping over data batches is (`predict`).
            if frame.self_is_model && !lp.over_data {
                continue;
            }
            let helper_eval = frame
                .calls
                .iter()
                .any(|(name, at, _)| *at < call.start() && walker.sets_eval.contains(name));
            // The last switch before the model runs sets eval mode.
            let switched = frame
                .modes
                .iter()
                .rfind(|(at, _)| *at < call.start())
                .is_some_and(|(_, eval)| *eval);
            let eval_mode = switched || helper_eval || callers_eval;
            let no_grad = *in_no_grad
                || lp.volatile
                || frame.decorated_no_grad
                || frame.grad_off_at.is_some_and(|at| at < call.start())
                || callers_no_grad;
            let mode_dependent = match model_ref {
                Some(ModelRef::Own(class)) => {
                    modes.mode_dependent(cx.file, &Resolved::Class(cx.file, *class))
                }
                Some(ModelRef::Instance(reference)) => {
                    resolve_through_callers(cx.index, cx.file, function, reference)
                        .iter()
                        .any(|r| modes.mode_dependent(cx.file, r))
                }
                None => false,
            };
            out.push(EvalLoop {
                function,
                header: lp.header,
                model_call: *call,
                model: model.clone(),
                eval_named,
                over_data: lp.over_data,
                no_grad,
                eval_mode,
                mode_dependent,
            });
        }
    }
    out
}

/// The class extends a framework base that manages modes (a pipeline).
fn is_managed(cx: &ProjectContext<'_>, class: ClassId) -> bool {
    extends(cx.index, cx.file, class, |k, q| {
        k.training.evaluation.managed_bases.iter().any(|m| m == q)
    })
}

impl Walker<'_, '_> {
    fn knowledge(&self) -> &crate::knowledge::Knowledge {
        self.cx.knowledge()
    }

    fn resolves_to(&self, expr: &Expr, list: &[String]) -> bool {
        let Some(parsed) = self.cx.parsed() else {
            return false;
        };
        let Some(qualified) = parsed.names().resolve(expr) else {
            return false;
        };
        let canonical = self.knowledge().canonical(&qualified);
        list.iter().any(|q| q == canonical.as_ref())
    }

    /// `torch.no_grad()`, `torch.inference_mode()`, `torch.set_grad_enabled(...)` (or the
    /// decorator without parentheses).
    fn is_no_grad(&self, expr: &Expr) -> bool {
        let list = &self.knowledge().training.evaluation.no_grad;
        match expr {
            Expr::Call(call) => self.resolves_to(&call.func, list),
            other => self.resolves_to(other, list),
        }
    }

    /// A constructor that builds a model: a project Model class, or a library model
    /// (`torchvision.models.resnet18`, `timm.create_model`, `AutoModel.from_pretrained`).
    fn builds_model(&self, func: &Expr) -> bool {
        self.model_ctor(func).is_some()
    }

    /// The constructor, when `func` builds a model.
    fn model_ctor(&self, func: &Expr) -> Option<Callee> {
        let cx = self.cx;
        let knowledge = self.knowledge();
        let func = match func {
            // `AutoModel.from_pretrained(...)`
            Expr::Attribute(attr) if attr.attr.as_str() == "from_pretrained" => &*attr.value,
            other => other,
        };
        if let Some(parsed) = cx.parsed()
            && let Some(qualified) = parsed.names().resolve(func)
        {
            let canonical = knowledge.canonical(&qualified);
            let ctor = Callee::Qualified(qualified.clone().into());
            let model = knowledge.classify_call(&canonical)
                == Some(crate::knowledge::ApiKind::Layer)
                || self.is_model_symbol(&ctor);
            return model.then_some(ctor);
        }
        if let Expr::Name(name) = func {
            let ctor = Callee::Local(name.id.as_str().into());
            return self.is_model_symbol(&ctor).then_some(ctor);
        }
        None
    }

    /// What a call runs: `model` in `model(x)` and in `model.forward(x)`.
    fn called_model<'e>(&self, func: &'e Expr) -> &'e Expr {
        let evaluation = &self.knowledge().training.evaluation;
        match func {
            Expr::Attribute(attr)
                if evaluation
                    .forward_methods
                    .iter()
                    .any(|m| m == attr.attr.as_str()) =>
            {
                &attr.value
            }
            other => other,
        }
    }

    /// What the project can tell about the model a call runs (`model`, `self.net`, `self`).
    fn model_ref(&self, func: &Expr) -> Option<ModelRef> {
        let frame = self.frames.last()?;
        let target = self.called_model(func);
        match target {
            Expr::Name(name) => {
                let id = name.id.as_str();
                if id == "self" {
                    return frame.class.map(ModelRef::Own);
                }
                if let Some(position) = frame.params.iter().position(|p| p == id) {
                    return Some(ModelRef::Instance(InstanceRef::Param {
                        name: id.into(),
                        position: Some(position as u32),
                    }));
                }
                if let Some(ctor) = frame.model_locals.get(id) {
                    return Some(ModelRef::Instance(InstanceRef::Built(ctor.clone())));
                }
                if let Some(parsed) = self.cx.parsed()
                    && !parsed.names().import_of(id).is_empty()
                {
                    return self
                        .model_ctor(target)
                        .map(|ctor| ModelRef::Instance(InstanceRef::Built(ctor)));
                }
                self.cx
                    .facts()
                    .module_instances
                    .iter()
                    .find(|(n, _)| n == id)
                    .map(|(_, ctor)| ModelRef::Instance(InstanceRef::Built(ctor.clone())))
            }
            Expr::Attribute(attr) if matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self") => {
                Some(ModelRef::Instance(InstanceRef::SelfAttr(
                    attr.attr.as_str().into(),
                )))
            }
            _ => None,
        }
    }

    /// A project decorator that runs what it decorates with gradients off: its body, or a
    /// wrapper it defines, calls `torch.no_grad()`/`torch.inference_mode()`.
    fn is_custom_no_grad(&self, decorator: &Expr) -> bool {
        let func = match decorator {
            Expr::Call(call) => &*call.func,
            other => other,
        };
        let callee = match self.cx.parsed().and_then(|p| p.names().resolve(func)) {
            Some(qualified) => Callee::Qualified(qualified.into()),
            None => match func {
                Expr::Name(name) => Callee::Local(name.id.as_str().into()),
                _ => return false,
            },
        };
        let index = self.cx.index;
        let Some(Symbol::Function(f, id)) = index.resolve_callee(self.cx.file, &callee) else {
            return false;
        };
        let facts = index.facts(f);
        facts.functions.iter().enumerate().any(|(i, function)| {
            (i as FunctionId == id || function.parent == Some(id))
                && function.body.flow().turns_grad_off
        })
    }

    fn is_model_symbol(&self, callee: &Callee) -> bool {
        is_model_symbol(self.cx, callee)
    }

    /// `self.<attr>` is a model: a model-named attribute or one built by a model constructor.
    fn is_model_attribute(&self, attr: &str) -> bool {
        if self.knowledge().is_model_variable(attr) {
            return true;
        }
        let Some(Some(class)) = self.class_stack.last() else {
            return false;
        };
        let facts = self.cx.facts();
        facts.classes[*class as usize]
            .attributes
            .iter()
            .filter(|a| a.name == attr)
            .any(|a| match &a.ctor {
                Callee::Qualified(q) => {
                    let knowledge = self.knowledge();
                    knowledge.classify_call(&knowledge.canonical(q))
                        == Some(crate::knowledge::ApiKind::Layer)
                        || self.is_model_symbol(&a.ctor)
                }
                other => self.is_model_symbol(other),
            })
    }

    /// The model a call runs, as written, if the callee is one. Every way this recognises a
    /// model must also count in the facts' `loop_model_calls` (`semantic/builder/
    /// loop_calls.rs`): a file none of whose loops may run a model is not parsed again.
    fn model_of(&self, func: &Expr) -> Option<String> {
        let frame = self.frames.last()?;
        let knowledge = self.knowledge();
        let target = self.called_model(func);
        match target {
            Expr::Name(name) => {
                let id = name.id.as_str();
                if id == "self" {
                    return frame.self_is_model.then(|| "self".to_string());
                }
                if matches!(
                    self.cx.index.definition(self.cx.file, id),
                    Some(Symbol::Function(..))
                ) {
                    return None;
                }
                if let Some(parsed) = self.cx.parsed()
                    && !parsed.names().import_of(id).is_empty()
                {
                    return self.builds_model(target).then(|| id.to_string());
                }
                let module_model = || {
                    self.cx
                        .facts()
                        .module_instances
                        .iter()
                        .any(|(n, ctor)| n == id && self.is_model_symbol(ctor))
                };
                (knowledge.is_model_variable(id)
                    || frame.model_locals.contains_key(id)
                    || module_model())
                .then(|| id.to_string())
            }
            Expr::Attribute(attr) => {
                let is_self = matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self");
                let model = if is_self {
                    self.is_model_attribute(attr.attr.as_str())
                } else {
                    matches!(&*attr.value, Expr::Name(_) | Expr::Attribute(_))
                        && knowledge.is_model_variable(attr.attr.as_str())
                };
                model.then(|| {
                    ast::name::UnqualifiedName::from_expr(target)
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| attr.attr.to_string())
                })
            }
            _ => None,
        }
    }

    /// `trainer.get_model`, `build_model`: returns a model, does not run it.
    fn is_getter(&self, func: &Expr) -> bool {
        let name = match func {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.as_str(),
            _ => return false,
        };
        let name = name.trim_start_matches('_');
        self.knowledge()
            .training
            .evaluation
            .model_getter_prefixes
            .iter()
            .any(|p| name.starts_with(p.as_str()))
    }

    /// `x.eval()`, `x.train(False)`, `x.train(mode)` (a computed mode is a deliberate choice).
    fn sets_eval_mode(&self, call: &ast::ExprCall) -> bool {
        let Expr::Attribute(attr) = &*call.func else {
            return false;
        };
        let evaluation = &self.knowledge().training.evaluation;
        let method = attr.attr.to_string();
        if evaluation.eval_methods.contains(&method) {
            return call.arguments.is_empty();
        }
        if evaluation.train_methods.contains(&method) {
            let argument = call
                .arguments
                .args
                .first()
                .or_else(|| call.arguments.keywords.first().map(|k| &k.value));
            return argument.is_some_and(|a| !matches!(a, Expr::BooleanLiteral(b) if b.value));
        }
        false
    }

    /// `x.train()`, `x.train(True)`.
    fn sets_train_mode(&self, call: &ast::ExprCall) -> bool {
        let Expr::Attribute(attr) = &*call.func else {
            return false;
        };
        let evaluation = &self.knowledge().training.evaluation;
        let method = attr.attr.to_string();
        evaluation.train_methods.contains(&method)
            && match call
                .arguments
                .args
                .first()
                .or_else(|| call.arguments.keywords.first().map(|k| &k.value))
            {
                None => true,
                Some(argument) => matches!(argument, Expr::BooleanLiteral(b) if b.value),
            }
    }

    fn record_calls(&mut self, frame: &Frame) {
        let eval_at = frame.eval_at;
        let no_grad_all = frame.decorated_no_grad;
        for (name, at, in_no_grad) in &frame.calls {
            let entry = self.called.entry(name.clone()).or_default();
            entry.calls += 1;
            if eval_at.is_some_and(|e| e < *at) {
                entry.after_eval += 1;
            }
            if no_grad_all || *in_no_grad || frame.grad_off_at.is_some_and(|g| g < *at) {
                entry.under_no_grad += 1;
            }
        }
    }

    fn enter_function(&mut self, def: &ast::StmtFunctionDef) {
        let class = self.class_stack.last().copied().flatten();
        let self_is_model = class.is_some_and(|c| {
            let roles = &self.cx.roles.class(self.cx.file, c).roles;
            roles.contains(Role::Model) && !roles.contains(Role::Loss)
        });
        let managed = class.is_some_and(|c| self.is_managed(c));
        let decorated_no_grad = def
            .decorator_list
            .iter()
            .any(|d| self.is_no_grad(&d.expression) || self.is_custom_no_grad(&d.expression));
        let params = def
            .parameters
            .posonlyargs
            .iter()
            .chain(&def.parameters.args)
            .map(|p| p.parameter.name.to_string())
            .collect();
        let candidate = self.candidates.get(&def.range().start()).copied();
        self.frames.push(Frame {
            name: def.name.to_string(),
            has_parameters: !def.parameters.is_empty(),
            params,
            class,
            eligible: candidate.is_some(),
            trains: candidate.is_some_and(|(_, trains)| trains),
            candidate: candidate.map(|(id, _)| id),
            self_is_model,
            managed,
            decorated_no_grad,
            ..Frame::default()
        });
    }

    fn is_managed(&self, class: u32) -> bool {
        is_managed(self.cx, class)
    }

    fn class_id(&self, def: &ast::StmtClassDef) -> Option<u32> {
        // Classes are in source order.
        let classes = &self.cx.facts().classes;
        let i = classes.partition_point(|c| c.range.start() < def.range().start());
        classes
            .get(i)
            .filter(|c| c.range == def.range())
            .map(|_| i as u32)
    }
}

impl<'a> Visitor<'a> for Walker<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => {
                for decorator in &def.decorator_list {
                    self.visit_expr(&decorator.expression);
                }
                self.enter_function(def);
                // A nested function is not in a loop of its parent.
                self.visit_body(&def.body);
                if let Some(frame) = self.frames.pop() {
                    self.record_calls(&frame);
                    if frame.eval_at.is_some() {
                        self.sets_eval.insert(frame.name.clone());
                    }
                    if frame.candidate.is_some() {
                        self.done.push(frame);
                    }
                }
            }
            Stmt::ClassDef(def) => {
                let id = self.class_id(def);
                self.class_stack.push(id);
                self.visit_body(&def.body);
                self.class_stack.pop();
            }
            Stmt::With(with) => {
                let no_grad = with
                    .items
                    .iter()
                    .any(|item| self.is_no_grad(&item.context_expr));
                for item in &with.items {
                    self.visit_expr(&item.context_expr);
                }
                if no_grad && let Some(frame) = self.frames.last_mut() {
                    frame.no_grad_depth += 1;
                }
                self.visit_body(&with.body);
                if no_grad && let Some(frame) = self.frames.last_mut() {
                    frame.no_grad_depth -= 1;
                }
            }
            Stmt::For(_) | Stmt::While(_) => {
                let over_data = match stmt {
                    Stmt::For(f) => for_loop_over_data(&self.knowledge().training.evaluation, f),
                    _ => false,
                };
                let header_end = match stmt {
                    Stmt::For(f) => f.iter.end(),
                    Stmt::While(w) => w.test.end(),
                    _ => stmt.end(),
                };
                if let Some(frame) = self.frames.last_mut() {
                    let parent = frame.open_loops.last().copied();
                    frame.open_loops.push(frame.loops.len());
                    frame.loops.push(RawLoop {
                        header: TextRange::new(stmt.start(), header_end),
                        range: stmt.range(),
                        parent,
                        over_data,
                        volatile: false,
                        model_call: None,
                    });
                }
                visitor::walk_stmt(self, stmt);
                if let Some(frame) = self.frames.last_mut() {
                    frame.open_loops.pop();
                }
            }
            Stmt::Assign(assign) => {
                visitor::walk_stmt(self, stmt);
                if let [Expr::Name(target)] = &assign.targets[..]
                    && let Expr::Call(call) = &*assign.value
                    && let Some(ctor) = self.model_ctor(&call.func)
                    && let Some(frame) = self.frames.last_mut()
                {
                    frame.model_locals.insert(target.id.to_string(), ctor);
                }
            }
            Stmt::Expr(expr) => {
                if let Expr::Call(call) = &*expr.value
                    && self.is_no_grad(&expr.value)
                    && matches!(call.arguments.args.first(), Some(Expr::BooleanLiteral(b)) if !b.value)
                    && let Some(frame) = self.frames.last_mut()
                {
                    frame.grad_off_at.get_or_insert(stmt.start());
                }
                visitor::walk_stmt(self, stmt);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Lambda(_) => {}
            // A function handed on or put in a table (`metrics = {"f1": evaluate}`) is called
            // from there: the reference counts as a call.
            Expr::Name(name) if name.ctx.is_load() => {
                if let Some(frame) = self.frames.last_mut() {
                    let in_no_grad = frame.no_grad_depth > 0;
                    frame
                        .calls
                        .push((name.id.to_string(), name.start(), in_no_grad));
                }
            }
            Expr::Call(call) => {
                let eval = self.sets_eval_mode(call);
                let train = !eval && self.sets_train_mode(call);
                if (eval || train)
                    && let Some(frame) = self.frames.last_mut()
                {
                    if eval {
                        frame.eval_at.get_or_insert(call.start());
                    }
                    frame.modes.push((call.start(), eval));
                }
                let callee = match &*call.func {
                    Expr::Attribute(a) if matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self") => {
                        Some(a.attr.to_string())
                    }
                    _ => None,
                };
                if let Some(frame) = self.frames.last_mut()
                    && let Some(callee) = callee
                {
                    let in_no_grad = frame.no_grad_depth > 0;
                    frame.calls.push((callee, call.start(), in_no_grad));
                }
                let volatile = call
                    .arguments
                    .find_keyword("volatile")
                    .is_some_and(|k| matches!(&k.value, Expr::BooleanLiteral(b) if b.value));
                if volatile && let Some(frame) = self.frames.last_mut() {
                    for &i in &frame.open_loops {
                        frame.loops[i].volatile = true;
                    }
                }
                let in_loop = self.frames.last().is_some_and(|f| {
                    f.eligible
                        && f.open_loops
                            .iter()
                            .any(|&i| f.loops[i].model_call.is_none())
                });
                let runs = !call.arguments.is_empty() && !self.is_getter(&call.func);
                if in_loop
                    && runs
                    && let Some(model) = self.model_of(&call.func)
                {
                    let model_ref = self.model_ref(&call.func);
                    if let Some(frame) = self.frames.last_mut() {
                        let no_grad = frame.no_grad_depth > 0;
                        for &i in &frame.open_loops {
                            let lp = &mut frame.loops[i];
                            if lp.model_call.is_none() {
                                lp.model_call =
                                    Some((call.range(), model.clone(), no_grad, model_ref.clone()));
                            }
                        }
                    }
                }
                visitor::walk_expr(self, expr);
            }
            _ => visitor::walk_expr(self, expr),
        }
    }
}

impl Walker<'_, '_> {
    fn visit_body(&mut self, body: &[Stmt]) {
        for stmt in body {
            self.visit_stmt(stmt);
        }
    }
}

/// `callee`, called from the file, builds a project Model (not a Loss).
fn is_model_symbol(cx: &ProjectContext<'_>, callee: &Callee) -> bool {
    match cx.index.resolve_callee(cx.file, callee) {
        Some(Symbol::Class(f, c)) => {
            let roles = &cx.roles.class(f, c).roles;
            roles.contains(Role::Model) && !roles.contains(Role::Loss)
        }
        _ => false,
    }
}

/// What every caller must have done before calling an evaluation helper.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Put the model in eval mode.
    Eval,
    /// Turned gradients off around the call.
    NoGrad,
}

/// Every call of `function` (of any file) comes after an `eval()` call in its scope, or inside
/// a `no_grad` block — or sits in a function whose own callers all do (two levels up). A
/// function nobody calls is not covered.
fn callers_cover(
    cx: &ProjectContext<'_>,
    file: FileId,
    function: FunctionId,
    want: Want,
    depth: u8,
) -> bool {
    let index = cx.index;
    let sites = index.call_sites_of(file, function);
    !sites.is_empty()
        && sites.iter().all(|site| {
            let facts = index.facts(site.file);
            let scope = match site.function {
                Some(id) => &facts.functions[id as usize].body,
                None => &facts.module,
            };
            let here = match want {
                Want::Eval => scope
                    .flow()
                    .mode_calls
                    .iter()
                    .filter(|m| m.range.start() < site.range.start())
                    .max_by_key(|m| m.range.start())
                    .is_some_and(|m| m.eval),
                Want::NoGrad => scope
                    .flow()
                    .no_grad_blocks
                    .iter()
                    .any(|block| block.contains_range(site.range)),
            };
            here || depth < 2
                && site
                    .function
                    .is_some_and(|id| callers_cover(cx, site.file, id, want, depth + 1))
        })
}
