//! Gradient steps: where a scope computes gradients (`loss.backward()`, `tape.gradient`,
//! `jax.grad`), clears them, and updates parameters (`optimizer.step()`, `apply_gradients`,
//! `minimize`, a session running a train op, a hand-written update). The values that are
//! differentiated are handed back as roots for the loss expressions.

use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

use super::{CallRec, LossRoot, MethodCall, Resolver, ScopeDraft};
use crate::knowledge::ApiKind;
use crate::semantic::facts::*;

impl<'a> Resolver<'_, 'a> {
    /// The gradient step a method call makes (`loss.backward()`, `optimizer.step()`,
    /// `tape.gradient(loss, vars)`, ...), with the value it differentiates. False if the call
    /// is none.
    pub(super) fn method_grad_step(
        &self,
        index: usize,
        rec: &CallRec<'a>,
        method: &MethodCall<'a>,
        facts: &mut ScopeFacts,
        roots: &mut Vec<LossRoot<'a>>,
    ) -> bool {
        let knowledge = self.knowledge();
        let call = rec.call;
        let at = call.start();
        let range = call.range();
        let step = |kind| grad_step(rec, kind);
        let name = method.name;
        let args = &call.arguments.args;
        if knowledge.backward_methods.iter().any(|m| m == name) {
            // `loss.backward()`, `accelerator.backward(loss)`, `self.manual_backward(loss)`,
            // `scaler.scale(loss).backward()`.
            let root = match (&args[..], method.receiver) {
                ([first, ..], _) => Some(first),
                ([], Expr::Call(inner)) if matches!(&*inner.func, Expr::Attribute(a) if a.attr.as_str() == "scale") => {
                    inner.arguments.args.first()
                }
                ([], receiver) => Some(receiver),
            };
            if let Some(root) = root {
                roots.push((root, range, rec.in_loop));
            }
            facts.losses_mut().grad_steps.push(step(GradKind::Backward));
        } else if knowledge.zero_grad_methods.iter().any(|m| m == name) {
            facts.losses_mut().grad_steps.push(step(GradKind::ZeroGrad));
            self.note_optimizer_attr(facts, method.receiver, range);
        } else if name == "step" && self.is_optimizer_receiver(index, method.receiver, at) {
            facts
                .losses_mut()
                .grad_steps
                .push(step(GradKind::OptimizerStep));
            self.note_optimizer_attr(facts, method.receiver, range);
        } else if name == "step"
            && Self::receiver_name(method.receiver).is_some_and(|n| n.contains("scaler"))
            && !args.is_empty()
        {
            facts
                .losses_mut()
                .grad_steps
                .push(step(GradKind::OptimizerStep));
        } else if knowledge
            .training
            .steps
            .framework_step_methods
            .iter()
            .any(|m| m == name)
        {
            facts
                .losses_mut()
                .grad_steps
                .push(step(GradKind::FrameworkStep));
        } else if knowledge
            .training
            .steps
            .optimizer_update_methods
            .iter()
            .any(|m| m == name)
            && self.is_optimizer_receiver(index, method.receiver, at)
        {
            facts
                .losses_mut()
                .grad_steps
                .push(step(GradKind::OptimizerStep));
            self.note_optimizer_attr(facts, method.receiver, range);
        } else if knowledge.apply_gradient_methods.iter().any(|m| m == name) {
            facts
                .losses_mut()
                .grad_steps
                .push(step(GradKind::ApplyGradients));
            self.note_optimizer_attr(facts, method.receiver, range);
        } else if knowledge.minimize_methods.iter().any(|m| m == name)
            && self.is_optimizer_receiver(index, method.receiver, at)
        {
            let loss = args
                .first()
                .or_else(|| call.arguments.find_keyword("loss").map(|k| &k.value));
            if let Some(loss) = loss {
                roots.push((loss, range, rec.in_loop));
            }
            facts.losses_mut().grad_steps.push(step(GradKind::Minimize));
            self.note_optimizer_attr(facts, method.receiver, range);
        } else if name == "gradient" && self.is_tape(index, method.receiver) {
            if let Some(first) = args.first() {
                roots.push((first, range, rec.in_loop));
            }
            facts.losses_mut().grad_steps.push(step(GradKind::Gradient));
        } else if name == "run"
            && Self::receiver_name(method.receiver).is_some_and(|n| n.contains("sess"))
            && self.runs_train_op(index, call)
        {
            facts
                .losses_mut()
                .grad_steps
                .push(step(GradKind::SessionRun));
        } else {
            return false;
        }
        true
    }

    /// The gradient step a call of a framework API makes (`torch.autograd.backward`,
    /// `jax.grad(f)`, `optax` updates): true if `kind` is one.
    pub(super) fn api_grad_step(
        &self,
        index: usize,
        rec: &CallRec<'a>,
        kind: ApiKind,
        facts: &mut ScopeFacts,
        roots: &mut Vec<LossRoot<'a>>,
    ) -> bool {
        let call = rec.call;
        let at = call.start();
        let range = call.range();
        let step = |kind| grad_step(rec, kind);
        match kind {
            ApiKind::Backward => {
                if let Some(first) = call.arguments.args.first() {
                    roots.push((first, range, rec.in_loop));
                }
                facts.losses_mut().grad_steps.push(step(GradKind::Backward));
            }
            ApiKind::Gradient => {
                if let Some(first) = call.arguments.args.first() {
                    roots.push((first, range, rec.in_loop));
                }
                facts.losses_mut().grad_steps.push(step(GradKind::Gradient));
            }
            ApiKind::GradTransform => {
                facts
                    .losses_mut()
                    .grad_steps
                    .push(step(GradKind::GradTransform));
                if let Some(first) = call.arguments.args.first()
                    && let Some(f) = self.callee(index, first, at)
                {
                    facts.losses_mut().grad_transformed.push(f);
                }
            }
            ApiKind::OptimizerStep => facts
                .losses_mut()
                .grad_steps
                .push(step(GradKind::OptimizerStep)),
            _ => return false,
        }
        true
    }

    /// Parameters updated by hand from their gradients (`w -= lr * w.grad`): an input
    /// optimised by gradient (sampling, adversarial examples) is no update.
    pub(super) fn manual_update_steps(
        &self,
        index: usize,
        draft: &ScopeDraft<'a>,
        facts: &mut ScopeFacts,
    ) {
        for &(target, range, in_loop) in &draft.manual_updates {
            if !self.is_parameter(index, target, range.start()) {
                continue; // an input optimised by gradient (sampling, adversarial examples)
            }
            facts.losses_mut().grad_steps.push(GradStep {
                kind: GradKind::ManualUpdate,
                range,
                in_loop,
            });
        }
    }
}

/// The gradient step of kind `kind` that the call `rec` makes.
fn grad_step(rec: &CallRec<'_>, kind: GradKind) -> GradStep {
    GradStep {
        kind,
        range: rec.call.range(),
        in_loop: rec.in_loop,
    }
}
