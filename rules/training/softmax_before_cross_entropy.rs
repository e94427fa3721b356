use super::activation::{Activation, Event, Expects, events};
use super::model_outputs::mismatches;
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds a softmax output fed to a loss that expects logits: `F.cross_entropy`,
    /// `nn.CrossEntropyLoss`, and the Keras cross-entropies built with `from_logits=True`. The
    /// softmax is followed through local assignments (`probs = F.softmax(out, -1)`), tensor
    /// methods (`out.softmax(-1)`), softmax layers (`nn.Softmax(dim=1)`, a `Sequential` that
    /// ends in one, a Keras `Sequential` whose output layer has `activation="softmax"`),
    /// loss instances bound to a local name or to `self.<attr>`, and — within the file — what
    /// functions, methods and models return, element by element when they return a tuple
    /// (`validity, label = discriminator(x)` with `label` from a softmax layer), and helpers
    /// that hand a parameter straight to such a loss.
    ///
    /// Across components and files: a project Model whose `forward` (Keras `call`) returns a
    /// softmax output on every path, and a loss that expects logits fed with that Model's
    /// output — in the Runner, or in a Loss component that hands its prediction argument to
    /// one. The Model is resolved through the project (`model = Net()`, a `model` parameter
    /// whose callers pass a `Net`, `self.model` handed to the Runner's `__init__`).
    ///
    /// Not reported: Keras losses with the default `from_logits=False` (they expect
    /// probabilities), `nn.NLLLoss` after `log_softmax` (the correct pairing), and a `forward`
    /// that returns logits while training and probabilities otherwise.
    ///
    /// ## Why is this bad?
    /// These losses apply their own (log-)softmax. A second softmax squashes the scores into
    /// [0, 1], so the loss sees almost uniform "logits": gradients shrink, training is slow or
    /// stalls, and nothing fails loudly.
    ///
    /// ## Example
    /// ```python
    /// probs = F.softmax(model(x), dim=-1)
    /// loss = F.cross_entropy(probs, y)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// logits = model(x)
    /// loss = F.cross_entropy(logits, y)
    /// probs = F.softmax(logits, dim=-1)  # only for predictions
    /// ```
    pub static SOFTMAX_BEFORE_CROSS_ENTROPY = {
        code: "DL506",
        name: "softmax-before-cross-entropy",
        family: Family::Training,
        severity: Severity::Error,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::FileAndProject(|_| Box::new(Pass), across_files),
        needs: Needs::Training,
    };
}

struct Pass;

impl<'a> FilePass<'a> for Pass {
    fn hooks(&self) -> Hooks {
        Hooks::NONE
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        for event in events(cx).iter().cloned() {
            let (diagnostic, site, origin) = match event {
                Event::Loss {
                    kind: Expects::Logits,
                    name,
                    argument,
                    origin,
                } if origin.act == Activation::Softmax => (
                    Diagnostic::new(
                        &SOFTMAX_BEFORE_CROSS_ENTROPY,
                        format!("`{name}` expects logits but gets a softmax output"),
                        argument,
                    )
                    .with_help(format!(
                        "pass the logits (the value before the softmax) to `{name}`: it applies \
                         log-softmax itself; keep the softmax only for predictions"
                    )),
                    argument,
                    origin,
                ),
                Event::Compile { name, loss, origin } if origin.act == Activation::Softmax => (
                    Diagnostic::new(
                        &SOFTMAX_BEFORE_CROSS_ENTROPY,
                        format!(
                            "`{name}` expects logits but the model's output layer applies \
                             softmax"
                        ),
                        loss,
                    )
                    .with_help(
                        "drop `activation=\"softmax\"` from the output layer (the loss applies \
                         it), or keep it and use the loss with the default `from_logits=False`",
                    ),
                    loss,
                    origin,
                ),
                _ => continue,
            };
            let diagnostic = if origin.range == site {
                diagnostic
            } else {
                diagnostic.with_label(origin.range, "softmax applied here")
            };
            cx.report(diagnostic);
        }
    }
}

/// A project Model whose `forward` ends in a softmax, and a logits loss fed with its output.
fn across_files(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    for m in mismatches(cx) {
        if !(m.expects == Expects::Logits && m.activation == Activation::Softmax) {
            continue;
        }
        let (loss, model, method) = (&m.loss, &m.model, &m.method);
        out.push(
            Diagnostic::new(
                &SOFTMAX_BEFORE_CROSS_ENTROPY,
                format!(
                    "`{loss}` expects logits but gets the output of `{model}.{method}`, which \
                     returns a softmax"
                ),
                m.argument,
            )
            .with_file_label(
                m.model_file,
                m.method_name_range,
                "returns softmax probabilities",
            )
            .with_help(format!(
                "return the logits from `{model}.{method}` and apply the softmax only where \
                 probabilities are needed (prediction, metrics): `{loss}` applies log-softmax \
                 itself"
            )),
        );
    }
}
