use std::sync::Arc;

use super::{
    Hook, holds_given_model, hook, is_loss_only_layer, is_role, is_sub_module, loss_name,
    model_loss_sites,
};
use crate::refactor::callers;
use crate::refactor::component::SpecKind;
use crate::refactor::extract::{self, Request, attach, uses_torch};
use crate::registry::prelude::*;
use crate::rules::layout::component_module;
use crate::semantic::Role;
use crate::semantic::facts::Returned;

declare_rule! {
    /// ## What it does
    /// Finds losses computed inside a Model: in `forward`/`call` (typically when labels are
    /// passed, the Hugging Face `forward(..., labels=None)` convention) or in any other method
    /// (a `loss_function` with the objective written out), including models whose layers live
    /// in a superclass in another file. In framework hooks (Lightning `training_step`, Keras
    /// `train_step`/`compute_loss`) and in the helpers only those hooks call (a private shared
    /// step, `forward` used as one) only an inline loss formula is reported; one library loss
    /// call there is its usage, the framework's contract. A training step a model runs itself
    /// (loss, backward and optimizer step in one method) is a Runner's step inside the model:
    /// DL105 reports the optimizer the model owns, not this rule.
    ///
    /// Not reported, as no loss is computed or the class is not a model computing one: a
    /// method named like a loss whose body computes nothing (`_set_aux_loss` packing
    /// auxiliary outputs into dicts), losses collected from sub-layers (Keras `losses`,
    /// `get_losses_for`), `add_loss` while a layer is built (a regulariser of its weights), a
    /// loss-only layer (no weights, only `add_loss`: a Loss component), and, when no targets
    /// come in, the auxiliary loss of a sub-module its parent model collects (a quantizer's
    /// commitment loss), a wrapper around a model it is given whose forward returns the
    /// objective alone (self-supervised and diffusion objectives), or a model delegating to
    /// the project's own Loss component.
    ///
    /// ## Why is this bad?
    /// The MODLR architecture makes the loss its own component. A loss hidden in `forward`
    /// cannot be swapped or tested without touching the network, ties the model's signature to
    /// the training targets, and makes the model return different things in training and in
    /// inference. It was the most common coupling the MODLR study found (1038 instances in 195
    /// of 538 repositories).
    ///
    /// ## Example
    /// ```python
    /// class Classifier(nn.Module):
    ///     def forward(self, x, labels=None):
    ///         logits = self.head(self.body(x))
    ///         if labels is not None:
    ///             return F.cross_entropy(logits, labels)
    ///         return logits
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// class Classifier(nn.Module):
    ///     def forward(self, x):
    ///         return self.head(self.body(x))
    ///
    /// class ClassifierLoss:
    ///     def __call__(self, logits, labels):
    ///         return F.cross_entropy(logits, labels)
    ///
    /// # in the Runner
    /// loss = loss_fn(model(x), labels)
    /// ```
    ///
    /// ## Fix
    /// Unsafe, across files. In a framework loss hook the formula moves into a Loss component
    /// the hook delegates to. In a PyTorch `forward(self, ..., targets)` (or `targets=None` with
    /// the loss in one `if targets is not None:` branch, after `if targets is None: return
    /// logits`, or set from `loss = None` and returned as `logits, loss`) the loss moves to the
    /// callers: `forward` returns the predictions, the formula becomes a Loss component in the
    /// project's Loss module, and every call that passed the targets, found through the
    /// project's imports and calls, computes `loss = loss_fn(outputs, targets)` with `loss_fn`
    /// built once (beside `model = Net(...)`, after `self.model = Net(...)` in `__init__`, or
    /// first thing in a function the model is handed to); `logits, _ = model(x)` becomes
    /// `logits = model(x)`. When a caller cannot be rewritten — the model is exported from a package or
    /// never built in the project, handed to something other than a project function only ever
    /// called with it, kept in a list, called with computed targets; `forward` has an inference
    /// branch, returns more than outputs and loss, or its loss reads the model's attributes; the
    /// model calls itself; no caller passes the targets, so no caller computes the loss — the
    /// extraction is shown as a suggestion that says why.
    ///
    /// ## Notebooks
    /// Skipped, as in teaching code (a folder of examples, tutorials or lessons; a numbered
    /// lesson): the notebook shows a loss computed in a model class on purpose, one technique top
    /// to bottom, and reviewers found such findings true but never worth a change there.
    /// Architecture is for the project's code. Turn it back on by listing the notebook-ignore rules
    /// without it.
    pub static LOSS_IN_MODEL = {
        code: "DL101",
        name: "loss-in-model",
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
    for (id, class) in facts.classes.iter().enumerate() {
        let id = id as u32;
        // A class that is also a Runner is DL103's; a Loss subclassing nn.Module is not a model.
        if !is_role(cx, id, Role::Model)
            || cx.roles.class(cx.file, id).roles.contains(Role::Runner)
            || is_loss_only_layer(cx, id)
        {
            continue;
        }
        let sites = model_loss_sites(cx, id);
        let Some(first) = sites.first() else { continue };
        // No targets come in: a sub-module's auxiliary loss (a quantizer's commitment loss, a
        // head's loss over what its parent hands it), which the enclosing model collects, or a
        // wrapper around a model it is given whose forward is the training objective (a
        // self-supervised or diffusion objective: a Loss that calls the model, or a procedure
        // over it, by design).
        let without_targets = sites
            .iter()
            .all(|s| facts.functions[s.method as usize].target_params.is_empty());
        // The objective of a wrapper: its forward returns the loss alone (a forward that
        // returns outputs with the loss, or predictions otherwise, is a model's forward).
        let objective_only = || {
            sites.iter().all(|s| {
                let method = &facts.functions[s.method as usize];
                !knowledge_forward(cx, &method.name)
                    || method
                        .shapes
                        .as_ref()
                        .is_some_and(|shapes| shapes.returned == Returned::Single)
            })
        };
        if without_targets
            && (is_sub_module(cx, id) || holds_given_model(cx, id) && objective_only())
        {
            continue;
        }
        let method = &facts.functions[first.method as usize];
        let hook = hook(cx, id, method);
        let mut methods: Vec<&str> = Vec::new();
        for site in &sites {
            let name = facts.functions[site.method as usize].name.as_str();
            if !methods.contains(&name) {
                methods.push(name);
            }
        }
        let in_methods = methods
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(", ");
        // Name the parameter that carries the targets: `labels` before `target_mapping`.
        let exact = ["labels", "label", "targets", "target", "y"];
        let labels_param = method
            .target_params
            .iter()
            .find(|p| exact.contains(&p.as_str()))
            .or(method.target_params.first());
        let message = match &hook {
            Some((Hook::Loss, framework)) => format!(
                "model `{}` writes a loss formula inline in the {framework} hook `{}`{}",
                class.name,
                method.name,
                first
                    .definition
                    .as_ref()
                    .map(|d| format!(" (it {})", d.describe()))
                    .unwrap_or_default()
            ),
            _ if labels_param.is_some() && knowledge_forward(cx, &method.name) => format!(
                "model `{}` computes a loss in {in_methods} when `{}` is passed",
                class.name,
                labels_param.map_or("labels", |p| p.as_str())
            ),
            _ => format!("model `{}` computes a loss in {in_methods}", class.name),
        };
        let loss_class = loss_name(&class.name);
        let module = component_module(cx, Role::Loss);
        let help = match &hook {
            Some((Hook::Loss, framework)) => format!(
                "move the formula into a Loss component (`class {loss_class}` in `{module}`) and \
                 delegate to it from `{}`: set `self.loss_fn = {loss_class}()` in `__init__` and \
                 call `loss = self.loss_fn(outputs, targets)` — {framework} only needs the hook to \
                 return the loss",
                method.name
            ),
            _ => format!(
                "move the loss into a Loss component: `class {loss_class}` in `{module}` with \
                 `__call__(self, outputs, targets)` (or `__call__(self, model, batch)` if it needs \
                 the model's internals) returning the loss; `{}` should return predictions only, \
                 and the Runner calls `loss = loss_fn(model(x), targets)`",
                method.name
            ),
        };
        let role = cx.roles.class(cx.file, id);
        let why = role
            .evidence
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        let mut diagnostic = Diagnostic::new(&LOSS_IN_MODEL, message, first.range)
            .with_help(help)
            .with_label(
                class.name_range,
                format!("model `{}` defined here{why}", class.name),
            );
        for site in sites.iter().skip(1).take(3) {
            diagnostic = diagnostic.with_label(site.range, "also part of the loss");
        }
        if let Some((ancestor_file, ancestor)) = role.model_ancestor
            && ancestor_file != cx.file
        {
            let base = cx.index.file(ancestor_file);
            let base_class = &base.facts.classes[ancestor as usize];
            diagnostic = diagnostic.with_file_label(
                Arc::clone(&base.path),
                base_class.name_range,
                format!("the layers live in superclass `{}`", base_class.name),
            );
        }
        if !cx.refactorings() {
            out.push(diagnostic.withholding_refactoring());
            continue;
        }
        let request = Request {
            site: first.range,
            kind: if uses_torch(cx) {
                SpecKind::TorchModule
            } else {
                SpecKind::Callable
            },
            name: loss_class.clone(),
            target: module.clone(),
            doc: format!(
                "The loss of `{}`, extracted from `{}.{}`.",
                class.name, class.name, method.name
            ),
            action: format!("Extract the loss of `{}.{}`", class.name, method.name),
            owner_builds: matches!(hook, Some((Hook::Loss, _))),
        };
        // In a framework loss hook, delegating to a Loss component is the contract: the
        // extraction resolves the finding. Elsewhere the loss moves to the model's callers,
        // found across the project; when they cannot all be rewritten, the extraction is
        // shown only, with the reason.
        let diagnostic = if matches!(hook, Some((Hook::Loss, _))) {
            attach(cx, diagnostic, extract::value(cx, request))
        } else {
            let moved = if sites.iter().all(|s| s.method == first.method) {
                callers::to_callers(
                    cx,
                    id,
                    first.method,
                    callers::Target {
                        kind: request.kind.clone(),
                        name: request.name.clone(),
                        module: request.target.clone(),
                        doc: request.doc.clone(),
                        action: request.action.clone(),
                    },
                )
            } else {
                Err(format!("the loss is computed in {in_methods}"))
            };
            match moved {
                Ok(refactoring) => attach(cx, diagnostic, Ok(refactoring)),
                Err(why) => extract::attach_suggestion(
                    cx,
                    diagnostic,
                    extract::value(cx, request),
                    &format!(
                        "the model would still compute its loss, and its callers are not \
                         rewritten: {why}"
                    ),
                ),
            }
        };
        out.push(diagnostic);
    }
}

fn knowledge_forward(cx: &ProjectContext<'_>, name: &str) -> bool {
    cx.knowledge().is_forward_method(name)
}
