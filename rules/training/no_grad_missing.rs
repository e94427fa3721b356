use super::evaluation_loops::evaluation_loops;
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds PyTorch evaluation loops that run a Model over data with gradient tracking on.
    /// An evaluation loop iterates over data batches (`for x, y in val_loader`), runs the model
    /// (an instance of a project Model class, a torchvision/timm/Hugging Face model, or a
    /// model-named variable or parameter), has no backward and no optimizer step, and is in a
    /// function named for evaluation (`evaluate`, `validate`, `val_epoch`, `predict`) or comes
    /// after `model.eval()` — in a function of its own, beside or inside a training loop, or at
    /// module level. It is reported when the loop is not inside `with torch.no_grad()`,
    /// `torch.inference_mode()` or `torch.set_grad_enabled(...)`, the function is not
    /// decorated with `@torch.no_grad()`/`@torch.inference_mode()` or with a project decorator
    /// that runs it under one, no `torch.set_grad_enabled(False)` precedes it, and not every
    /// caller of the function (in any file, or their own callers) calls it under `no_grad`.
    ///
    /// Not reported: Lightning `validation_step`/`test_step` (the framework turns gradients
    /// off), training loops, test functions, code without PyTorch, loops that are not over
    /// data (an environment rollout, a sampling loop), a loop that ends in `break` (one batch
    /// for a plot), and PyTorch 0.3 code that turns gradients off with
    /// `Variable(x, volatile=True)`.
    ///
    /// ## Why is this bad?
    /// `model.eval()` does not turn autograd off. Every forward pass of the loop records a
    /// graph and keeps the activations alive for a backward that never comes: evaluation
    /// uses several times the memory it needs (often running out of it on the GPU) and runs
    /// slower.
    ///
    /// ## Example
    /// ```python
    /// def evaluate(model, loader):
    ///     model.eval()
    ///     total = 0.0
    ///     for x, y in loader:
    ///         total += F.cross_entropy(model(x), y).item()
    ///     return total / len(loader)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// @torch.no_grad()
    /// def evaluate(model, loader):
    ///     model.eval()
    ///     total = 0.0
    ///     for x, y in loader:
    ///         total += F.cross_entropy(model(x), y).item()
    ///     return total / len(loader)
    /// ```
    pub static NO_GRAD_MISSING = {
        code: "DL505",
        name: "no-grad-missing",
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
        if lp.no_grad || !lp.over_data || !(lp.eval_named || lp.eval_mode) {
            continue;
        }
        let (place, help) = match lp.function {
            Some(id) => (
                format!("evaluation loop in `{}`", cx.facts().qualname(id)),
                format!(
                    "wrap the loop in `with torch.no_grad():` (or decorate `{}` with \
                     `@torch.no_grad()`)",
                    cx.facts().functions[id as usize].name
                ),
            ),
            None => (
                "module-level evaluation loop".to_string(),
                "wrap the loop in `with torch.no_grad():`".to_string(),
            ),
        };
        let model = &lp.model;
        out.push(
            Diagnostic::new(
                &NO_GRAD_MISSING,
                format!(
                    "{place} runs `{model}` over the data with gradient tracking on: every \
                     forward pass records an autograd graph and keeps its activations for a \
                     backward that never runs"
                ),
                lp.header,
            )
            .with_label(lp.model_call, "the model runs here")
            .with_help(help),
        );
    }
}
