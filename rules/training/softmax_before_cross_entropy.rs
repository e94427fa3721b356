use super::activation::{Act, Event, LossKind, events};
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds a softmax output fed to a loss that expects logits: `F.cross_entropy`,
    /// `nn.CrossEntropyLoss`, and the Keras cross-entropies built with `from_logits=True`. The
    /// softmax is followed through local assignments (`probs = F.softmax(out, -1)`), tensor
    /// methods (`out.softmax(-1)`), softmax layers (`nn.Softmax(dim=1)`, a `Sequential` that
    /// ends in one, a Keras `Sequential` whose output layer has `activation="softmax"`), and
    /// loss instances bound to a local name or to `self.<attr>`.
    ///
    /// Not reported: Keras losses with the default `from_logits=False` (they expect
    /// probabilities), and `nn.NLLLoss` after `log_softmax` (the correct pairing).
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
        severity: Severity::Warning,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::File(|_| Box::new(Pass)),
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
                    kind: LossKind::Logits,
                    name,
                    argument,
                    origin,
                } if origin.act == Act::Softmax => (
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
                Event::Compile { name, loss, origin } if origin.act == Act::Softmax => (
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
