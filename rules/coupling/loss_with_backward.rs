use super::{definitions, is_role};
use crate::registry::prelude::*;
use crate::semantic::Role;
use crate::semantic::facts::{FunctionId, GradKind};
use crate::semantic::verdict::Definition;

declare_rule! {
    /// ## What it does
    /// Finds Loss components and loss functions that also call `backward()` or step an
    /// optimizer (`compute_td_loss` that computes the TD loss, then runs `backward()` and
    /// `optimizer.step()`): a function named and used as a loss that is really a training step.
    /// It is reported at the step.
    ///
    /// With `task-functions = true` it also reports "task-like" functions that write a loss
    /// formula and then run backward and the optimizer step themselves (a training step with
    /// the loss fused in): in PyTorch (`loss.backward()`, `optimizer.step()`), TF2
    /// (`GradientTape` and `apply_gradients`) and JAX (a `loss_fn` closure differentiated with
    /// `jax.grad`/`value_and_grad` and applied with `state.apply_gradients`/`optax.apply_updates`
    /// in the same step), at the loss formula. That part is off by default: such a function is
    /// a training step, the Runner's job, and its inline formula a loss written in the Runner;
    /// on the ecosystem corpus these findings were mostly minimal RL scripts, examples about
    /// something else and TF1 learner objects building their train op by design (arguable: 1
    /// of 8 sampled was worth a change).
    ///
    /// A training-step function that only *calls* a Loss component before `backward()` is the
    /// Runner's job done right and is not reported; neither are framework hooks (Keras
    /// `train_step`, Lightning manual optimisation), which are checked by `DL101`. A library
    /// loss reduced and scaled by the batch size (`K.sum(ce) / global_batch_size`, the
    /// tf.distribute recipe) is the loss's usage, not a formula.
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
    ///
    /// ## Notebooks
    /// Skipped, as in teaching code (a folder of examples, tutorials or lessons; a numbered
    /// lesson): the notebook shows a loss fused with its backward pass and update on purpose, one
    /// technique top to bottom, and reviewers found such findings true but never worth a change
    /// there. Architecture is for the project's code. Turn it back on by listing the notebook-
    /// ignore rules without it.
    pub static LOSS_WITH_BACKWARD = {
        code: "DL104",
        name: "loss-with-backward",
        family: Family::Coupling,
        severity: Severity::Warning,
        notebooks: Notebooks::Skip,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[OptionSpec {
            key: "task-functions",
            kind: OptionKind::Bool,
            default: "false",
            doc: "also report training-step functions (not named as losses) that write a loss \
                  formula and run backward and the optimizer step themselves",
        }],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    let task_functions = cx.options().bool(&LOSS_WITH_BACKWARD, "task-functions");
    for (id, function) in facts.functions.iter().enumerate() {
        let role = cx.roles.function(cx.file, id as u32);
        let in_loss_class = function.class.is_some_and(|c| is_role(cx, c, Role::Loss));
        let framework_class = function
            .class
            .is_some_and(|c| cx.roles.class(cx.file, c).framework.is_some());
        let steps: Vec<_> = function
            .body
            .losses()
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
            .evidence()
            .any(|e| matches!(e.kind, crate::semantic::facts::Evidence::LossApiCall))
            || !definitions(
                cx,
                function.class,
                function
                    .body
                    .losses()
                    .differentiated
                    .iter()
                    .chain(&function.body.losses().returned),
            )
            .is_empty();
        let is_loss = (role.roles.contains(Role::Loss) || in_loss_class) && computes_here;
        let mut site_range = None;
        let kind = if is_loss {
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
        } else if task_functions
            && role.roles.contains(Role::Task)
            && function
                .class
                .is_none_or(|c| !is_role(cx, c, Role::Model) && !is_role(cx, c, Role::Runner))
        {
            fused_formula(cx, id as u32).map(|(site, definition, closure)| {
                    site_range = Some(site);
                    let place = match closure {
                        Some(closure) => format!(" in its `{}` closure", facts.functions[closure as usize].name),
                        None => String::new(),
                    };
                    format!(
                        "`{}` fuses a loss formula{place} (it {}) with the gradient computation and the parameter update",
                        facts.qualname(id as u32),
                        definition.describe()
                    )
                })
        } else {
            None
        };
        let Some(message) = kind else { continue };
        let mut diagnostic = Diagnostic::new(
            &LOSS_WITH_BACKWARD,
            message,
            site_range.unwrap_or(first_step.range),
        )
        .with_label(
            function.name_range,
            format!("`{}` defined here", function.name),
        )
        .with_help(
            "keep the loss pure: it returns the loss value (and optional metrics); the Runner \
                 calls `loss.backward()` and `optimizer.step()` (so it can accumulate gradients, \
                 scale for mixed precision, or skip steps)",
        );
        let shown = if site_range.is_some() { 0 } else { 1 };
        for step in steps.iter().skip(shown).take(3 - shown) {
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

/// The loss formula a training step writes: among the values it differentiates, or returned by
/// a closure it differentiates (`def loss_fn(params): ...` handed to `jax.grad`), with the
/// closure.
fn fused_formula(
    cx: &ProjectContext<'_>,
    function: FunctionId,
) -> Option<(TextRange, Definition, Option<FunctionId>)> {
    let facts = cx.facts();
    let body = &facts.functions[function as usize].body;
    let class = facts.functions[function as usize].class;
    if let Some((value, definition)) = definitions(cx, class, body.losses().differentiated.iter())
        .into_iter()
        .next()
    {
        return Some((value.definition, definition, None));
    }
    facts
        .functions
        .iter()
        .enumerate()
        .filter(|(id, f)| {
            f.parent == Some(function)
                && cx
                    .roles
                    .function(cx.file, *id as FunctionId)
                    .roles
                    .contains(Role::Loss)
        })
        .find_map(|(id, f)| {
            let values = f
                .body
                .losses()
                .returned
                .iter()
                .chain(&f.body.losses().named_losses);
            definitions(cx, class, values)
                .into_iter()
                .next()
                .map(|(value, definition)| (value.definition, definition, Some(id as FunctionId)))
        })
}
