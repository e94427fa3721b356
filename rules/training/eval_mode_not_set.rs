use super::evaluation_loops::evaluation_loops;
use super::mode_after_eval::left_in_eval;
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds PyTorch evaluation loops that run a Model without putting it in evaluation mode
    /// first. An evaluation loop runs the model (an instance of a project Model class, a
    /// torchvision/timm/Hugging Face model, or a model-named variable or parameter), has no
    /// backward and no optimizer step, and is either in a function named for evaluation
    /// (`evaluate`, `validate`, `val_epoch`, `predict`, `test`) or iterates over data under
    /// `torch.no_grad()` — in a function of its own, beside or inside a training loop, or at
    /// module level. It is reported when neither the code before the loop, nor a helper it
    /// calls, nor every caller of its function (in any file, or their own callers) calls
    /// `model.eval()` or `model.train(False)`.
    ///
    /// It also finds the other half of the mistake: a training loop that puts the model in
    /// evaluation mode — `model.eval()` in the loop, or a helper such as
    /// `validate(model, loader)` (of any file) whose last mode call is `eval()` — and never
    /// calls `model.train()` (itself or through a helper) inside the loop, so every later
    /// iteration trains in evaluation mode. A loop trains when it runs backward and an
    /// optimizer step, or calls a function that does (`train_one_epoch(...)`). A helper that
    /// switches a model it builds itself (a checkpoint loaded into a fresh copy) leaves the
    /// trained model alone.
    ///
    /// Both halves are reported only for a model known to behave differently in the two
    /// modes: one that builds or calls dropout or batch norm (itself, in a project component
    /// or superclass, or a layer given a dropout rate), or a library model that has them
    /// (torchvision, timm, Hugging Face). `eval()` changes nothing for a network of `Linear`,
    /// convolution and activation layers, and the project cannot tell for a model it does
    /// not see into (a wrapper, an EMA copy, a model of unknown origin): those are not
    /// reported.
    ///
    /// Not reported: Lightning `validation_step`/`test_step` (the framework switches modes),
    /// Keras `model.evaluate`/`predict` (not loops), test functions, and inference that is not
    /// a loop.
    ///
    /// ## Why is this bad?
    /// In training mode dropout still drops activations and batch normalization normalizes
    /// with the statistics of each evaluation batch — and updates its running statistics with
    /// evaluation data. The metrics are noisy and wrong, and the model changes while it is
    /// being measured.
    ///
    /// ## Example
    /// ```python
    /// @torch.no_grad()
    /// def evaluate(model, loader):
    ///     correct = 0
    ///     for x, y in loader:
    ///         correct += (model(x).argmax(1) == y).sum().item()
    ///     return correct / len(loader.dataset)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// @torch.no_grad()
    /// def evaluate(model, loader):
    ///     model.eval()
    ///     correct = 0
    ///     for x, y in loader:
    ///         correct += (model(x).argmax(1) == y).sum().item()
    ///     model.train()
    ///     return correct / len(loader.dataset)
    /// ```
    pub static EVAL_MODE_NOT_SET = {
        code: "DL504",
        name: "eval-mode-not-set",
        family: Family::Training,
        severity: Severity::Warning,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    for lp in evaluation_loops(cx).iter() {
        if lp.eval_mode || !lp.mode_dependent || !(lp.eval_named || lp.no_grad && lp.over_data) {
            continue;
        }
        let place = match lp.function {
            Some(id) => format!("evaluation loop in `{}`", cx.facts().qualname(id)),
            None => "module-level evaluation loop".to_string(),
        };
        let model = &lp.model;
        out.push(
            Diagnostic::new(
                &EVAL_MODE_NOT_SET,
                format!(
                    "{place} runs `{model}` in training mode: `{model}.eval()` is never called \
                     before it, so its dropout stays on and its batch norm uses (and updates) the \
                     statistics of evaluation batches"
                ),
                lp.header,
            )
            .with_label(lp.model_call, "the model runs here")
            .with_help(format!(
                "call `{model}.eval()` before the loop and `{model}.train()` after it, before \
                 training resumes"
            )),
        );
    }
    for left in left_in_eval(cx) {
        let model = &left.model;
        let place = match left.function {
            Some(id) => format!("the training loop of `{}`", cx.facts().qualname(id)),
            None => "the module-level training loop".to_string(),
        };
        let (what, help) = match &left.helper {
            None => (
                format!("`{model}.eval()` puts `{model}` in eval mode"),
                format!(
                    "call `{model}.train()` at the start of every iteration, before the training \
                     step"
                ),
            ),
            Some(helper) => (
                format!(
                    "`{helper}(...)` leaves the model in eval mode (it calls `{model}.eval()` and \
                     never `{model}.train()`)"
                ),
                format!(
                    "call `.train()` on the model at the start of every iteration, before the \
                     training step, or end `{helper}` with `{model}.train()`"
                ),
            ),
        };
        out.push(
            Diagnostic::new(
                &EVAL_MODE_NOT_SET,
                format!(
                    "{what} inside {place}, and nothing in the loop sets training mode again: \
                     from the next iteration on, training runs with dropout off and batch norm \
                     frozen"
                ),
                left.site,
            )
            .with_label(left.header, "the training loop")
            .with_help(help),
        );
    }
}
