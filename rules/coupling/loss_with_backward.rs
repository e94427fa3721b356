use super::{definitions, is_role};
use crate::registry::prelude::*;
use crate::semantic::Role;
use crate::semantic::facts::GradKind;

declare_rule! {
    /// ## What it does
    /// Finds Loss components and loss functions that also call `backward()` or step an
    /// optimizer, and "task-like" functions that write a loss formula and then run backward and
    /// the optimizer step themselves (a training step with the loss fused in).
    ///
    /// A training-step function that only *calls* a Loss component before `backward()` is the
    /// Runner's job done right and is not reported; neither are framework hooks (Keras
    /// `train_step`, Lightning manual optimisation), which are checked by `DL101`.
    ///
    /// ## Why is this bad?
    /// A loss that differentiates itself cannot be combined with other losses, used for
    /// evaluation, or wrapped by gradient accumulation or mixed precision: the Runner no longer
    /// controls when gradients are computed and applied.
    ///
    /// ## Example
    /// ```python
    /// def compute_loss(model, x, y, optimizer):
    ///     loss = F.mse_loss(model(x), y) + 0.1 * model.l2()
    ///     loss.backward()
    ///     optimizer.step()
    ///     return loss
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def compute_loss(model, x, y):
    ///     return F.mse_loss(model(x), y) + 0.1 * model.l2()
    ///
    /// # in the Runner
    /// loss = compute_loss(model, x, y)
    /// loss.backward()
    /// optimizer.step()
    /// ```
    pub static LOSS_WITH_BACKWARD = {
        code: "DL104",
        name: "loss-with-backward",
        family: Family::Coupling,
        severity: Severity::Warning,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::Project(check),
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    for (id, function) in facts.functions.iter().enumerate() {
        let role = cx.roles.function(cx.file, id as u32);
        let in_loss_class = function.class.is_some_and(|c| is_role(cx, c, Role::Loss));
        let framework_class = function
            .class
            .is_some_and(|c| cx.roles.class(cx.file, c).framework.is_some());
        let steps: Vec<_> = function
            .body
            .grad_steps
            .iter()
            .filter(|s| {
                matches!(
                    s.kind,
                    GradKind::Backward | GradKind::OptimizerStep | GradKind::ApplyGradients
                )
            })
            .collect();
        let Some(first_step) = steps.first() else {
            continue;
        };
        if role.roles.contains(Role::Runner) || framework_class {
            continue;
        }
        // A loss-named helper that only delegates to a Loss component before calling backward
        // is a training step, not a loss: require that the loss is computed here.
        let computes_here = function
            .body
            .evidence
            .iter()
            .any(|e| matches!(e.kind, crate::semantic::facts::Evidence::LossApiCall(_)))
            || !definitions(
                cx,
                function.class,
                function
                    .body
                    .differentiated
                    .iter()
                    .chain(&function.body.returned),
            )
            .is_empty();
        let is_loss = (role.roles.contains(Role::Loss) || in_loss_class) && computes_here;
        let kind =
            if is_loss {
                let what = if in_loss_class {
                    "Loss component"
                } else {
                    "loss function"
                };
                Some(format!(
                    "{what} `{}` also calls `{}`",
                    facts.qualname(id as u32),
                    step_name(first_step.kind)
                ))
            } else if role.roles.contains(Role::Task)
                && function
                    .class
                    .is_none_or(|c| !is_role(cx, c, Role::Model) && !is_role(cx, c, Role::Runner))
            {
                let values = function.body.differentiated.iter();
                definitions(cx, function.class, values).first().map(|(_, definition)| {
                format!(
                    "`{}` fuses a loss formula (it {}) with backward and the optimizer step",
                    facts.qualname(id as u32),
                    definition.describe()
                )
            })
            } else {
                None
            };
        let Some(message) = kind else { continue };
        let mut diagnostic = Diagnostic::new(&LOSS_WITH_BACKWARD, message, first_step.range)
            .with_label(
                function.name_range,
                format!("`{}` defined here", function.name),
            )
            .with_help(
                "keep the loss pure: it returns the loss value (and optional metrics); the Runner \
                 calls `loss.backward()` and `optimizer.step()` (so it can accumulate gradients, \
                 scale for mixed precision, or skip steps)",
            );
        for step in steps.iter().skip(1).take(2) {
            diagnostic = diagnostic.with_label(step.range, step_name(step.kind));
        }
        out.push(diagnostic);
    }
}

fn step_name(kind: GradKind) -> &'static str {
    match kind {
        GradKind::Backward => "backward()",
        GradKind::OptimizerStep => "optimizer.step()",
        GradKind::ApplyGradients => "apply_gradients()",
        _ => "a gradient step",
    }
}
