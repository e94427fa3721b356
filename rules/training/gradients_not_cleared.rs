use ruff_python_ast::visitor::{self, Visitor};
use rustc_hash::FxHashMap;

use crate::refactor::{child_bodies, enclosing_function, find_loop_body};
use crate::registry::prelude::*;
use crate::semantic::facts::{
    Callee, ClassId, FileFacts, FunctionId, GradKind, InstanceRef, LoopId, ScopeFacts,
};
use crate::semantic::index::Symbol;

declare_rule! {
    /// ## What it does
    /// Finds a training loop that calls `backward()` and steps an optimizer but does not clear
    /// the gradients on every iteration: no `optimizer.zero_grad()`, `model.zero_grad()`,
    /// `p.grad = None` (or a helper of the same file that does one of these) runs in the loop
    /// before the next `backward()`. The backward and the step may also sit in a helper of the
    /// same file that the loop calls (`train_step(model, batch, optimizer)`, or a method of a
    /// class of the file, `trainer.train_step(batch)` after `trainer = Trainer(...)`): then the
    /// helper or the loop must clear the gradients. With gradient accumulation, the
    /// `zero_grad()` belongs in the same guarded block as the `step()`. A `zero_grad()` before
    /// the loop runs only once and does not count.
    ///
    /// Not reported: Keras/TensorFlow `GradientTape` code and JAX/optax (gradients are
    /// returned, not accumulated), Lightning `training_step` (the framework clears them), an
    /// optimizer step whose `backward()` runs in a closure (`optimizer.step(closure)`), and
    /// test modules (a smoke test that runs a few steps on random inputs checks that the code
    /// runs, not what it learns).
    ///
    /// ## Why is this bad?
    /// PyTorch *adds* every `backward()` into `.grad`. Without clearing, each step applies the
    /// sum of all gradients since the start of training: the updates grow and the model
    /// diverges or trains far worse, with no error.
    ///
    /// ## Example
    /// ```python
    /// optimizer.zero_grad()
    /// for x, y in loader:
    ///     loss = loss_fn(model(x), y)
    ///     loss.backward()
    ///     optimizer.step()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// for x, y in loader:
    ///     optimizer.zero_grad()
    ///     loss = loss_fn(model(x), y)
    ///     loss.backward()
    ///     optimizer.step()
    /// ```
    pub static GRADIENTS_NOT_CLEARED = {
        code: "DL501",
        name: "gradients-not-cleared",
        family: Family::Training,
        severity: Severity::Error,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    let knowledge = cx.knowledge();
    let lists = &knowledge.training.gradients;
    // A test that runs a few steps on random inputs checks that the code runs, not what it
    // learns.
    let path = &cx.project_file().path;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if knowledge.is_test_module(facts.package.as_deref(), file_name) {
        return;
    }
    if facts.imports.iter().any(|(_, qualified)| {
        lists
            .overwriting_frameworks
            .iter()
            .any(|f| qualified.split('.').next() == Some(f.as_str()))
    }) {
        return;
    }
    // Module-level functions of this file that step an optimizer: the helpers a loop may call.
    let mut steppers: FxHashMap<&str, FunctionId> = FxHashMap::default();
    for (id, f) in facts.functions.iter().enumerate() {
        if f.class.is_none() && f.parent.is_none() && f.body.has(GradKind::OptimizerStep) {
            steppers.entry(f.name.as_str()).or_insert(id as FunctionId);
        }
    }
    let scopes = facts.scopes();
    for (function, scope) in scopes {
        let mut reported: Vec<LoopId> = Vec::new();
        for step in &scope.losses().grad_steps {
            if step.kind != GradKind::OptimizerStep {
                continue;
            }
            let Some(lp) = step.in_loop else { continue };
            if reported.contains(&lp) {
                continue;
            }
            // Only PyTorch-style loops accumulate into `.grad`: the loop runs `backward()`.
            if !scope
                .losses()
                .grad_steps
                .iter()
                .any(|s| s.kind == GradKind::Backward && scope.loop_within(s.in_loop, lp))
            {
                continue;
            }
            // Only files with a candidate loop are parsed again.
            let Some(parsed) = cx.parsed() else { return };
            let loop_range = scope.loops[lp as usize].range;
            let Some(body) = find_loop_body(&parsed.module().body, loop_range) else {
                continue;
            };
            let zeroing = Zeroing {
                cx,
                facts,
                function,
                scope,
            };
            // An optimizer built on every iteration (over fresh leaves) starts from no gradient.
            let text = parsed.text();
            let call = text
                .get(step.range.start().to_usize()..step.range.end().to_usize())
                .unwrap_or("");
            if assigns_name(body, optimizer_name(call)) {
                continue;
            }
            let guarded = is_guarded(body, step.range);
            if zeroing.clears(body, step.range, guarded) {
                continue;
            }
            reported.push(lp);
            out.push(diagnostic(cx, scope, lp, step.range, guarded));
        }
        check_helpers(cx, facts, &steppers, function, scope, &reported, out);
    }
}

/// Loops whose backward and step run in a helper of this file that never clears the gradients
/// (`for batch in loader: train_step(model, batch, opt)`): the loop must clear them.
fn check_helpers(
    cx: &ProjectContext<'_>,
    facts: &FileFacts,
    steppers: &FxHashMap<&str, FunctionId>,
    function: Option<FunctionId>,
    scope: &ScopeFacts,
    reported: &[LoopId],
    out: &mut Vec<Diagnostic>,
) {
    let zeroing = Zeroing {
        cx,
        facts,
        function,
        scope,
    };
    // Helper calls inside a loop: module-level functions of this file, methods of the class
    // (`self.train_step(...)`), and methods of a class of this file called on an instance
    // built in the scope (`trainer.train_step(...)`).
    let mut calls: Vec<(TextRange, LoopId, FunctionId)> = Vec::new();
    for call in &scope.project_calls {
        if let (Some(lp), crate::semantic::facts::Callee::Local(name)) =
            (call.in_loop, &call.callee)
            && let Some(&id) = steppers.get(name.as_str())
        {
            calls.push((call.range, lp, id));
        }
    }
    for call in scope.method_calls() {
        let Some(lp) = call.in_loop else {
            continue;
        };
        let id = match call.receiver {
            None => zeroing.method(&call.method),
            Some(receiver) => instance_method(cx, facts, receiver, &call.method),
        };
        if let Some(id) = id {
            calls.push((call.range, lp, id));
        }
    }
    calls.sort_by_key(|(range, _, _)| range.start());
    let mut done: Vec<LoopId> = reported.to_vec();
    for (range, lp, helper) in calls {
        // The outermost loop around the call: an epoch loop around a batch loop repeats it too.
        let mut outer = lp;
        while let Some(parent) = scope.loops[outer as usize].parent {
            outer = parent;
        }
        if Some(helper) == function || done.iter().any(|d| scope.loop_within(Some(lp), *d)) {
            continue;
        }
        let body = &facts.functions[helper as usize].body;
        let once = |kind| {
            body.losses()
                .grad_steps
                .iter()
                .find(|s| s.kind == kind && s.in_loop.is_none())
        };
        let (Some(step), Some(_)) = (once(GradKind::OptimizerStep), once(GradKind::Backward))
        else {
            continue;
        };
        if body.has(GradKind::ZeroGrad) {
            continue;
        }
        let Some(parsed) = cx.parsed() else { return };
        let module = &parsed.module().body;
        // `p.grad = None` or a clearing helper inside the helper itself.
        let helper_zeroing = Zeroing {
            cx,
            facts,
            function: Some(helper),
            scope: body,
        };
        let Some(def) = enclosing_function(module, step.range)
            .0
            .filter(|d| d.range() == facts.functions[helper as usize].range)
        else {
            continue;
        };
        if helper_zeroing.clears(&def.body, step.range, true) {
            continue;
        }
        let Some(loop_body) = find_loop_body(module, scope.loops[lp as usize].range) else {
            continue;
        };
        if zeroing.clears(loop_body, range, is_guarded(loop_body, range)) {
            continue;
        }
        done.push(outer);
        let text = parsed.text();
        let call = text
            .get(step.range.start().to_usize()..step.range.end().to_usize())
            .unwrap_or("optimizer.step()");
        let name = facts.qualname(helper);
        out.push(
            Diagnostic::new(
                &GRADIENTS_NOT_CLEARED,
                format!(
                    "`{name}` runs `backward()` and `{call}` on every iteration of this loop, \
                     and neither it nor the loop clears the gradients: every `backward()` adds \
                     to the previous ones"
                ),
                range,
            )
            .with_label(step.range, "the optimizer step in the helper")
            .with_label(scope.loops[lp as usize].header, "the training loop")
            .with_help(format!(
                "call `{}.zero_grad()` in `{name}` before its `backward()` (or at the start of \
                 each iteration of the loop)",
                optimizer_name(call)
            )),
        );
    }
}

fn diagnostic(
    cx: &ProjectContext<'_>,
    scope: &ScopeFacts,
    lp: LoopId,
    step: TextRange,
    guarded: bool,
) -> Diagnostic {
    let text = cx.parsed().map_or("", |p| p.text());
    let call = text
        .get(step.start().to_usize()..step.end().to_usize())
        .unwrap_or("");
    let optimizer = optimizer_name(call);
    let header = scope.loops[lp as usize].header;
    // A `zero_grad()` of the same scope outside this loop (before it, typically).
    let outside = scope
        .losses()
        .grad_steps
        .iter()
        .find(|s| s.kind == GradKind::ZeroGrad && !scope.loop_within(s.in_loop, lp));
    let mut message = format!(
        "`{call}` runs in a training loop that never clears the gradients: every `backward()` \
         adds to the previous ones"
    );
    if outside.is_some() {
        message.push_str(" (the `zero_grad()` outside the loop runs only once)");
    }
    let help = if guarded {
        format!(
            "call `{optimizer}.zero_grad()` right after `{call}`, inside the same `if` block, so \
             the gradients accumulate only until each update"
        )
    } else {
        format!(
            "call `{optimizer}.zero_grad()` inside the loop, as the first statement of each \
             iteration (before the forward pass) or right after `{call}`"
        )
    };
    let mut diagnostic = Diagnostic::new(&GRADIENTS_NOT_CLEARED, message, step)
        .with_help(help)
        .with_label(header, "the training loop");
    if let Some(zero) = outside {
        diagnostic = diagnostic.with_label(zero.range, "runs once, not on every iteration");
    }
    diagnostic
}

/// The optimizer of a step call's text: `opt` in `opt.step()`, `optimizer` in
/// `scaler.step(optimizer)`.
fn optimizer_name(call: &str) -> &str {
    let Some(open) = call.rfind(".step(") else {
        return "optimizer";
    };
    let args = call[open + ".step(".len()..].trim_end_matches(')').trim();
    let first = args.split(',').next().unwrap_or("").trim();
    let name = if first.is_empty() || first.contains(['=', '(', ' ']) {
        &call[..open]
    } else {
        first
    };
    if name.is_empty() || name.contains(['\n', '(']) {
        "optimizer"
    } else {
        name
    }
}

/// True if the step sits in an `if`/`match`/`except` branch of the loop body (gradient
/// accumulation, a periodic update).
fn is_guarded(body: &[Stmt], step: TextRange) -> bool {
    for stmt in body {
        if !stmt.range().contains_range(step) {
            continue;
        }
        return match stmt {
            Stmt::If(_) | Stmt::Match(_) => true,
            Stmt::Try(s) => !covers(&s.body, step) || is_guarded(&s.body, step),
            Stmt::With(s) => is_guarded(&s.body, step),
            _ => false,
        };
    }
    false
}

/// True if a statement of `body` (nested blocks included, not definitions) assigns `name`.
fn assigns_name(body: &[Stmt], name: &str) -> bool {
    body.iter().any(|stmt| match stmt {
        Stmt::Assign(a) => a
            .targets
            .iter()
            .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == name)),
        Stmt::FunctionDef(_) | Stmt::ClassDef(_) => false,
        other => child_bodies(other)
            .into_iter()
            .any(|b| assigns_name(b, name)),
    })
}

fn covers(body: &[Stmt], range: TextRange) -> bool {
    body.iter().any(|s| s.range().contains_range(range))
}

struct Zeroing<'a, 'p> {
    cx: &'a ProjectContext<'p>,
    facts: &'p FileFacts,
    function: Option<FunctionId>,
    scope: &'p ScopeFacts,
}

impl Zeroing<'_, '_> {
    /// True if the gradients are cleared on every path of one iteration of `body` that reaches
    /// the step. When the step is guarded (accumulation), a clear anywhere in the loop counts.
    fn clears(&self, body: &[Stmt], step: TextRange, guarded: bool) -> bool {
        for stmt in body {
            if self.is_clear(stmt) {
                return true;
            }
            let bodies: Vec<&[Stmt]> = match stmt {
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => continue,
                // A clear in a branch counts if the branch holds the step too, or if the step
                // is itself conditional (`if i % accum == 0: opt.zero_grad()`).
                Stmt::If(_) | Stmt::Match(_) => child_bodies(stmt)
                    .into_iter()
                    .filter(|b| guarded || covers(b, step))
                    .collect(),
                Stmt::Try(s) => {
                    let mut bodies: Vec<&[Stmt]> = vec![&s.body, &s.finalbody];
                    if guarded || !covers(&s.body, step) {
                        bodies.extend(child_bodies(stmt));
                    }
                    bodies
                }
                // `with ...:`, and loops over parameters or optimizers (`for p in params:
                // p.grad = None`).
                other => child_bodies(other),
            };
            if bodies.into_iter().any(|b| self.clears(b, step, guarded)) {
                return true;
            }
        }
        false
    }

    /// A simple statement that clears gradients: a `zero_grad()` the facts know, `p.grad =
    /// None`, `p.grad.zero_()`, or a call of a helper of this file that clears them.
    fn is_clear(&self, stmt: &Stmt) -> bool {
        if !child_bodies(stmt).is_empty()
            || matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_))
        {
            return false;
        }
        let range = stmt.range();
        // The steps are in source order: only those starting inside the statement.
        let steps = &self.scope.losses().grad_steps;
        let first = steps.partition_point(|s| s.range.start() < range.start());
        if steps[first..]
            .iter()
            .take_while(|s| s.range.start() < range.end())
            .any(|s| s.kind == GradKind::ZeroGrad && range.contains_range(s.range))
        {
            return true;
        }
        let lists = &self.cx.knowledge().training.gradients;
        if let Stmt::Assign(assign) = stmt
            && assign.value.is_none_literal_expr()
            && assign.targets.iter().any(|t| {
                matches!(t, Expr::Attribute(a) if lists.grad_attributes.iter().any(|g| g == a.attr.as_str()))
            })
        {
            return true;
        }
        let mut calls = Calls::default();
        calls.visit_stmt(stmt);
        calls.funcs.iter().any(|func| self.clearing_call(func))
    }

    fn clearing_call(&self, func: &Expr) -> bool {
        let lists = &self.cx.knowledge().training.gradients;
        match func {
            // `p.grad.zero_()`, `p.grad.data.zero_()`.
            Expr::Attribute(attr)
                if lists
                    .grad_clear_methods
                    .iter()
                    .any(|m| m == attr.attr.as_str()) =>
            {
                reads_grad(&attr.value, &lists.grad_attributes)
            }
            // `self.clear_grads()`: a method of this class (or a base of this file).
            Expr::Attribute(attr) if matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self") => {
                self.method(attr.attr.as_str())
                    .is_some_and(|id| self.helper_clears(id))
            }
            // `trainer.reset()` after `trainer = Trainer(...)`: a method of a class of this
            // file, as the scope's facts resolve the receiver.
            Expr::Attribute(attr) => self
                .scope
                .flow()
                .method_calls
                .iter()
                .find(|c| c.range.start() == func.start() && c.method == attr.attr.as_str())
                .and_then(|c| instance_method(self.cx, self.facts, &c.receiver, attr.attr.as_str()))
                .is_some_and(|id| self.helper_clears(id)),
            // `reset_grads(model)`: a module-level function of this file.
            Expr::Name(name) => match self.cx.index.definition(self.cx.file, name.id.as_str()) {
                Some(Symbol::Function(_, id)) => self.helper_clears(id),
                _ => false,
            },
            _ => false,
        }
    }

    /// A method `name` of the class of the function being read (or of a base class of
    /// this file).
    fn method(&self, name: &str) -> Option<FunctionId> {
        let class = self.facts.functions[self.function? as usize].class?;
        class_method(self.cx, self.facts, class, name)
    }

    fn helper_clears(&self, id: FunctionId) -> bool {
        Some(id) != self.function
            && self.facts.functions[id as usize]
                .body
                .has(GradKind::ZeroGrad)
    }
}

/// The method `name` called on `receiver`, when the receiver is an instance of a class of this
/// file built in the scope (`trainer.train_step(x, y)` after `trainer = Trainer(...)`).
fn instance_method(
    cx: &ProjectContext<'_>,
    facts: &FileFacts,
    receiver: &InstanceRef,
    name: &str,
) -> Option<FunctionId> {
    let InstanceRef::Built(Callee::Local(class)) = receiver else {
        return None;
    };
    match cx.index.definition(cx.file, class) {
        Some(Symbol::Class(f, c)) if f == cx.file => class_method(cx, facts, c, name),
        _ => None,
    }
}

/// The method `name` of `class` of this file: its own, else one of a base class of the file it
/// names (`class Trainer(BaseTrainer)`).
fn class_method(
    cx: &ProjectContext<'_>,
    facts: &FileFacts,
    class: ClassId,
    name: &str,
) -> Option<FunctionId> {
    let own = &facts.classes[class as usize];
    let bases = own.bases.iter().filter_map(|b| match b {
        Callee::Local(n) => match cx.index.definition(cx.file, n) {
            Some(Symbol::Class(f, c)) if f == cx.file => Some(&facts.classes[c as usize]),
            _ => None,
        },
        _ => None,
    });
    std::iter::once(own).chain(bases).find_map(|c| {
        c.methods
            .iter()
            .copied()
            .find(|m| facts.functions[*m as usize].name == name)
    })
}

fn reads_grad(expr: &Expr, grad_attributes: &[String]) -> bool {
    match expr {
        Expr::Attribute(a) => {
            grad_attributes.iter().any(|g| g == a.attr.as_str())
                || reads_grad(&a.value, grad_attributes)
        }
        _ => false,
    }
}

/// The callee expressions of every call in a statement.
#[derive(Default)]
struct Calls<'a> {
    funcs: Vec<&'a Expr>,
}

impl<'a> Visitor<'a> for Calls<'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            self.funcs.push(&call.func);
        }
        if !matches!(expr, Expr::Lambda(_)) {
            visitor::walk_expr(self, expr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::optimizer_name;

    #[test]
    fn optimizer_names() {
        assert_eq!(optimizer_name("opt.step()"), "opt");
        assert_eq!(optimizer_name("self.optimizer.step()"), "self.optimizer");
        assert_eq!(optimizer_name("scaler.step(optimizer)"), "optimizer");
        assert_eq!(optimizer_name("step()"), "optimizer");
    }
}
