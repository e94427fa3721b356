use super::file_name;
use crate::refactor::extract::{self, attach};
use crate::registry::prelude::*;
use crate::rules::layout::component_module;
use crate::semantic::Role;
use crate::semantic::training::Via;

declare_rule! {
    /// ## What it does
    /// Finds training loops written at the module level of a script, including under
    /// `if __name__ == "__main__":`: a loop that steps an optimizer itself (`loss.backward()` and
    /// `optimizer.step()`, `apply_gradients`, `sess.run(train_op)`, `optax.apply_updates`), or
    /// through a function it calls that updates parameters with an optimizer it is given (a
    /// `@tf.function`/`jax.jit` `train_step`, `train(epoch)` stepping the module's optimizer,
    /// `agent.update()`). A loop over whole trainings that build their own optimizer (a sweep
    /// calling `main(seed)`) is not one. A `main()` or `train()` function holding the loop is a Runner
    /// and is fine.
    ///
    /// ## Why is this bad?
    /// A loop at module level has no Runner component: its dependencies (model, optimizer, loss,
    /// data) are implicit globals, it runs on import, and nothing can call it from a test, a
    /// hyper-parameter sweep or another script. The MODLR refactorings turned every such loop
    /// into a Runner with explicit dependencies.
    ///
    /// ## Example
    /// ```python
    /// model = Net()
    /// optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    /// for epoch in range(10):
    ///     for x, y in loader:
    ///         loss = loss_fn(model(x), y)
    ///         optimizer.zero_grad()
    ///         loss.backward()
    ///         optimizer.step()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def train(model, optimizer, loss_fn, loader, epochs):
    ///     for epoch in range(epochs):
    ///         for x, y in loader:
    ///             loss = loss_fn(model(x), y)
    ///             optimizer.zero_grad()
    ///             loss.backward()
    ///             optimizer.step()
    ///
    /// if __name__ == "__main__":
    ///     train(model, optimizer, loss_fn, loader, epochs=10)
    /// ```
    ///
    /// ## Off by default
    /// On the ecosystem corpus (`bench/ecosystem`), every module-level training loop reviewers
    /// read outside notebooks was in a self-contained script written that way on purpose — a
    /// tutorial, a lab, a single-file reference implementation — where moving the loop into a
    /// function would not be worth a change: the finding was true but not worth acting on in
    /// all 20 of the seeded sample. Enable it (`extend-select = ["DL107"]`) in a project that
    /// wants every training loop in a Runner component.
    ///
    /// ## Notebooks
    /// Skipped. A notebook's code runs at module level by construction: its training loop has
    /// nowhere else to live, and a reader runs it cell by cell, not as a script whose entry point
    /// could call a `train()` function. Turn it back on by listing the notebook-ignore rules
    /// without DL107 (`notebook-ignore = ["DL201", "DL508"]`).
    pub static MODULE_LEVEL_TRAINING_LOOP = {
        code: "DL107",
        name: "module-level-training-loop",
        family: Family::Coupling,
        severity: Severity::Warning,
        notebooks: Notebooks::Skip,
        default_enabled: false,
        fix: FixAvailability::Sometimes,
        options: &[],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    if !cx.roles.module(cx.file).contains(Role::Runner) {
        return;
    }
    let scope = &cx.facts().module;
    for training in cx.training_loops(None) {
        let (training, via) = (training.id, training.via);
        let lp = &scope.loops[training as usize];
        let mut diagnostic = Diagnostic::new(
            &MODULE_LEVEL_TRAINING_LOOP,
            format!(
                "training loop at the module level of `{}`: there is no Runner component",
                file_name(cx)
            ),
            lp.header,
        )
        .with_help(
            "move the loop into a Runner — a `train(model, optimizer, loss_fn, loader, epochs)` \
             function or a `Runner` class in `runner.py` — with its dependencies as parameters, \
             and call it from `main()` under `if __name__ == \"__main__\":`",
        );
        let steps = scope
            .losses()
            .grad_steps
            .iter()
            .filter(|s| scope.loop_within(s.in_loop, training));
        for step in steps.take(3) {
            diagnostic = diagnostic.with_label(step.range, "gradient step");
        }
        if let Via::Call(range, f, id) = via {
            let name = cx.index.facts(f).qualname(id);
            let label = if f == cx.file {
                format!("trains through `{name}`")
            } else {
                format!(
                    "trains through `{name}` ({})",
                    cx.index.file(f).path.display()
                )
            };
            diagnostic = diagnostic.with_label(range, label);
        }
        if !cx.refactorings() {
            out.push(diagnostic.withholding_refactoring());
            continue;
        }
        let target = component_module(cx, Role::Runner);
        let diagnostic = attach(
            cx,
            diagnostic,
            extract::runner(cx, lp.header, &target, MODULE_LEVEL_TRAINING_LOOP.code),
        );
        out.push(diagnostic);
    }
}
