use super::{is_role, is_self_contained_script, loss_name, model_loss_sites};
use crate::refactor::component::SpecKind;
use crate::refactor::extract::{self, Request, uses_torch};
use crate::registry::prelude::*;
use crate::rules::layout::component_module;
use crate::semantic::Role;

declare_rule! {
    /// ## What it does
    /// Finds classes that are both a Model (they build layers and run the forward pass) and a
    /// Runner (a method holds the training loop) and also compute the loss: three MODLR
    /// components in one class. Typical of TF1-era code (`build_model`, `loss`, `train()` with
    /// `sess.run(train_op)`) and of PyTorch modules with a `fit()` method.
    ///
    /// Classes of a self-contained script (a notebook, or a file that runs itself and that no
    /// other file imports from) are not reported: the class has one user, the script itself,
    /// and on the ecosystem corpus such findings were minimal examples written that way on
    /// purpose (arguable at best); as for DL105, the rule targets classes others reuse.
    ///
    /// ## Why is this bad?
    /// Nothing in such a class can be reused or tested alone: changing the optimiser means
    /// editing the network, evaluating the model drags the training loop along, and the loss
    /// cannot be swapped. The MODLR study found it in 108 of 538 repositories.
    ///
    /// ## Example
    /// ```python
    /// class Net(nn.Module):
    ///     def forward(self, x):
    ///         return self.fc(x)
    ///
    ///     def fit(self, loader, epochs):
    ///         opt = torch.optim.Adam(self.parameters())
    ///         for _ in range(epochs):
    ///             for x, y in loader:
    ///                 loss = ((self(x) - y) ** 2).mean()
    ///                 opt.zero_grad()
    ///                 loss.backward()
    ///                 opt.step()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// class Net(nn.Module):
    ///     def forward(self, x):
    ///         return self.fc(x)
    ///
    /// class Runner:
    ///     def __init__(self, model, loss_fn, optimizer):
    ///         self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
    ///
    ///     def fit(self, loader, epochs):
    ///         for _ in range(epochs):
    ///             for x, y in loader:
    ///                 loss = self.loss_fn(self.model(x), y)
    ///                 self.optimizer.zero_grad()
    ///                 loss.backward()
    ///                 self.optimizer.step()
    /// ```
    ///
    /// ## Notebooks
    /// Skipped, as in teaching code (a folder of examples, tutorials or lessons; a numbered
    /// lesson): the notebook shows a class that is model, runner and loss on purpose, one technique
    /// top to bottom, and reviewers found such findings true but never worth a change there.
    /// Architecture is for the project's code. Turn it back on by listing the notebook-ignore rules
    /// without it.
    pub static LOSS_IN_MODEL_RUNNER = {
        code: "DL103",
        name: "loss-in-model-runner",
        family: Family::Coupling,
        severity: Severity::Warning,
        notebooks: Notebooks::Skip,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    if is_self_contained_script(cx) {
        return;
    }
    for (id, class) in facts.classes.iter().enumerate() {
        let id = id as u32;
        if !is_role(cx, id, Role::Model) || !is_role(cx, id, Role::Runner) {
            continue;
        }
        let sites = model_loss_sites(cx, id);
        let Some(first) = sites.first() else { continue };
        let loop_method = class
            .methods
            .iter()
            .find(|&&m| cx.roles.training.trains(cx.file, Some(m)))
            .map(|&m| (m, &facts.functions[m as usize]));
        let builds_optimizer = class.methods.iter().any(|&m| {
            facts.functions[m as usize]
                .body
                .api_calls
                .iter()
                .any(|a| a.kind == crate::knowledge::ApiKind::Optimizer)
        });
        let loop_name = loop_method.map_or("a method", |(_, m)| m.name.as_str());
        let message = format!(
            "`{}` is a Model, a Runner (the training loop is in `{loop_name}`) and computes the loss in `{}`",
            class.name, facts.functions[first.method as usize].name
        );
        let help = format!(
            "split it into three components: `{}` keeps the layers and `forward` (returning \
             predictions), `{}` in `{}` computes the loss, and a `Runner` owns the loop{} and calls \
             `loss_fn(model(x), y)`",
            class.name,
            loss_name(&class.name),
            component_module(cx, Role::Loss),
            if builds_optimizer {
                ", the optimizer"
            } else {
                ""
            }
        );
        let mut diagnostic = Diagnostic::new(&LOSS_IN_MODEL_RUNNER, message, first.range)
            .with_help(help)
            .with_label(class.name_range, format!("`{}` defined here", class.name));
        if let Some((id, method)) = loop_method
            && let Some(l) = cx.training_loops(Some(id)).first()
        {
            diagnostic =
                diagnostic.with_label(method.body.loops[l.id as usize].header, "the training loop");
        }
        if !cx.refactorings() {
            out.push(diagnostic.withholding_refactoring());
            continue;
        }
        let method = &facts.functions[first.method as usize];
        let request = Request {
            site: first.range,
            kind: if uses_torch(cx) {
                SpecKind::TorchModule
            } else {
                SpecKind::Callable
            },
            name: loss_name(&class.name),
            target: component_module(cx, Role::Loss),
            doc: format!(
                "The loss of `{}`, extracted from `{}.{}`.",
                class.name, class.name, method.name
            ),
            action: format!("Extract the loss of `{}.{}`", class.name, method.name),
            owner_builds: false,
        };
        // Extracting the loss leaves the training loop in the model: the finding stays until
        // the loop moves to a Runner, so the extraction is shown, not applied.
        let diagnostic = extract::attach_suggestion(
            cx,
            diagnostic,
            extract::value(cx, request),
            "the training loop has to move out of the model too",
        );
        out.push(diagnostic);
    }
}
