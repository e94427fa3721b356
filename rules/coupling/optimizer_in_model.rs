use super::{Hook, hook, is_role, is_self_contained_script};
use crate::knowledge::ApiKind;
use crate::refactor::component::SpecKind;
use crate::refactor::extract::{self, Request, attach, attach_suggestion};
use crate::refactor::snake_case;
use crate::registry::prelude::*;
use crate::rules::layout::component_module;
use crate::semantic::Role;
use crate::semantic::facts::GradKind;

declare_rule! {
    /// ## What it does
    /// Finds Models that build, hold or step an optimizer, or build a TF1 `train_op`
    /// (`optimizer.minimize(loss)`) inside the model, including classes that are also a
    /// Runner (their `__init__` builds the optimizer the training loop steps). Framework
    /// contracts are not reported: Lightning's `configure_optimizers` (and manual optimisation
    /// in its hooks), an optimizer passed to Keras `compile(...)`, and a method that builds an
    /// optimizer from the model's parameter groups and returns it (minGPT's
    /// `configure_optimizers`: a factory the Runner calls). A held value named like an
    /// optimizer whose plain attributes the class reads (`self.opt = opt` with
    /// `opt.batch_size`) is an options namespace and is not reported.
    ///
    /// Classes of a self-contained script (a notebook, or a file that runs itself and that no
    /// other file imports from) are not reported: the model has one user, the script's own
    /// loop, and on the ecosystem corpus such findings were tutorials and minimal examples
    /// written that way on purpose (arguable at best). The rule targets model classes that are
    /// reused, where the optimizer built inside fixes the training of every user.
    ///
    /// ## Why is this bad?
    /// How parameters are updated is the Optimizer's and the Runner's business. A model that
    /// builds its own optimizer cannot be trained with another one, fine-tuned with a different
    /// schedule, or evaluated without allocating optimizer state.
    ///
    /// ## Example
    /// ```python
    /// class Net(nn.Module):
    ///     def __init__(self):
    ///         super().__init__()
    ///         self.fc = nn.Linear(10, 2)
    ///         self.optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// class Net(nn.Module):
    ///     def __init__(self):
    ///         super().__init__()
    ///         self.fc = nn.Linear(10, 2)
    ///
    /// # in train.py, where the Runner is wired
    /// optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    /// runner = Runner(model, loss_fn, optimizer)
    /// ```
    ///
    /// ## Fix
    /// Unsafe: an optimizer built in the class moves into a `make_<model>_optimizer` function
    /// in `optimizer.py`. When the class also steps it, minimizes with it or holds another
    /// one, moving the construction alone would not decouple it, so the move is shown as a
    /// suggestion and not applied.
    ///
    /// ## Notebooks
    /// Skipped, as in teaching code (a folder of examples, tutorials or lessons; a numbered
    /// lesson): the notebook shows a model that owns its optimizer on purpose, one technique top to
    /// bottom, and reviewers found such findings true but never worth a change there. Architecture
    /// is for the project's code. Turn it back on by listing the notebook-ignore rules without it.
    pub static OPTIMIZER_IN_MODEL = {
        code: "DL105",
        name: "optimizer-in-model",
        family: Family::Coupling,
        severity: Severity::Warning,
        notebooks: Notebooks::Skip,
        default_enabled: true,
        fix: FixAvailability::Sometimes,
        options: &[],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    let knowledge = cx.knowledge();
    if is_self_contained_script(cx) {
        return;
    }
    for (id, class) in facts.classes.iter().enumerate() {
        let id = id as u32;
        if !is_role(cx, id, Role::Model) {
            continue;
        }
        let runner = is_role(cx, id, Role::Runner);
        let mut sites: Vec<(TextRange, String)> = Vec::new();
        for &m in &class.methods {
            let method = &facts.functions[m as usize];
            if hook(cx, id, method).is_some_and(|(h, _)| matches!(h, Hook::Optimizer | Hook::Loss))
            {
                continue;
            }
            // The training loop of a Model+Runner class builds and steps the optimizer as a
            // Runner does (DL103 reports the class); an optimizer factory that returns what it
            // builds (minGPT's `configure_optimizers`) leaves it to the Runner that calls it, as
            // Lightning's hook does.
            if runner && cx.roles.training.trains(cx.file, Some(m))
                || method.returns_optimizer && method.body.losses().grad_steps.is_empty()
            {
                continue;
            }
            for api in &method.body.api_calls {
                if api.kind == ApiKind::Optimizer && !api.in_compile {
                    sites.push((
                        api.range,
                        format!("builds an optimizer (`{}`) in `{}`", api.name, method.name),
                    ));
                }
            }
            for step in &method.body.losses().grad_steps {
                let what = match step.kind {
                    GradKind::Minimize => "builds a training op (`minimize`)",
                    GradKind::OptimizerStep => "steps an optimizer",
                    GradKind::ApplyGradients => "applies gradients",
                    _ => continue,
                };
                sites.push((step.range, format!("{what} in `{}`", method.name)));
            }
        }
        for held in &class.held {
            let (attr, param, range) = (&held.attr, &held.param, &held.range);
            if knowledge.is_optimizer_variable(param)
                && knowledge.is_optimizer_variable(attr)
                && !held.options
                && !is_factory_name(param)
            {
                sites.push((
                    *range,
                    format!("holds an optimizer (`self.{attr} = {param}`)"),
                ));
            }
        }
        // `self.optimizer = self.optimizer_class(self.parameters())`: built from a class it holds.
        for attribute in &class.attributes {
            if knowledge.is_optimizer_variable(&attribute.name)
                && !is_factory_name(&attribute.name)
                && matches!(&attribute.ctor, crate::semantic::facts::Callee::SelfMember(m) | crate::semantic::facts::Callee::Variable(m) if knowledge.is_optimizer_variable(m))
            {
                sites.push((
                    attribute.range,
                    format!("builds an optimizer (`self.{}`)", attribute.name),
                ));
            }
        }
        sites.sort_by_key(|(r, _)| r.start());
        sites.dedup_by_key(|(r, _)| *r);
        let Some((range, what)) = sites.first() else {
            continue;
        };
        let mut diagnostic = Diagnostic::new(
            &OPTIMIZER_IN_MODEL,
            format!("model `{}` {what}", class.name),
            *range,
        )
        .with_label(
            class.name_range,
            format!("model `{}` defined here", class.name),
        )
        .with_help(format!(
            "build the optimizer where the Runner is wired (e.g. `optimizer = \
             torch.optim.Adam(model.parameters())` in `train.py`) and pass it to the Runner; \
             `{}` should only define layers and `forward`",
            class.name
        ));
        for (range, what) in sites.iter().skip(1).take(3) {
            diagnostic = diagnostic.with_label(*range, what.clone());
        }
        let moves = what.starts_with("builds an optimizer");
        if moves && !cx.refactorings() {
            diagnostic = diagnostic.withholding_refactoring();
        } else if moves {
            let request = Request {
                site: *range,
                kind: SpecKind::Function,
                name: format!("make_{}_optimizer", snake_case(&class.name)),
                target: component_module(cx, Role::Optimizer),
                doc: format!(
                    "The optimizer of `{}`, built where the Runner is wired.",
                    class.name
                ),
                action: format!("Move the optimizer out of `{}`", class.name),
                owner_builds: false,
            };
            let refactoring = extract::value(cx, request);
            // Moving the construction resolves the finding only when the class does nothing
            // else with an optimizer (it does not also step it, minimize with it, or hold one
            // it was handed); otherwise the move is shown as a first step, not applied.
            diagnostic = match sites.get(1) {
                None => attach(cx, diagnostic, refactoring),
                Some((_, also)) => {
                    let why = format!(
                        "`{}` also {also}, which has to move to the Runner too",
                        class.name
                    );
                    attach_suggestion(cx, diagnostic, refactoring, &why)
                }
            };
        }
        out.push(diagnostic);
    }
}

/// `optimizer_class`, `opt_kwargs`, `optimizer_name`: configuration of an optimizer, not one.
fn is_factory_name(name: &str) -> bool {
    [
        "_class", "_cls", "_kwargs", "_fn", "_name", "_type", "_config", "_args", "_params",
        "_factory",
    ]
    .iter()
    .any(|suffix| name.ends_with(suffix))
}
