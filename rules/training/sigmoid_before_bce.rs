use super::activation::{Act, Event, LossKind, events};
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds two numerically unstable pairings of an activation with its loss:
    /// `nn.BCELoss` / `F.binary_cross_entropy` applied to a sigmoid output (`torch.sigmoid(x)`,
    /// `x.sigmoid()`, an `nn.Sigmoid` layer or a `Sequential` that ends in one), and the
    /// logarithm of a softmax call (`torch.log(F.softmax(x, dim=-1))`). The sigmoid is followed
    /// through local assignments and `self.<attr>` layers.
    ///
    /// Not reported: Keras `binary_crossentropy` after a sigmoid output layer, the documented
    /// Keras idiom (Keras clips the probabilities).
    ///
    /// ## Why is this bad?
    /// `sigmoid` then `log` (inside the BCE) loses precision: for large logits the sigmoid
    /// rounds to exactly 0 or 1 and the loss becomes `inf`/`nan` or is clamped to a constant
    /// with no gradient. The fused versions use the log-sum-exp trick and are exact, and faster.
    ///
    /// ## Example
    /// ```python
    /// probs = torch.sigmoid(model(x))
    /// loss = F.binary_cross_entropy(probs, y)
    /// log_probs = torch.log(F.softmax(scores, dim=-1))
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// logits = model(x)
    /// loss = F.binary_cross_entropy_with_logits(logits, y)
    /// log_probs = F.log_softmax(scores, dim=-1)
    /// ```
    pub static SIGMOID_BEFORE_BCE = {
        code: "DL507",
        name: "sigmoid-before-bce",
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
                    kind: LossKind::Probabilities,
                    name,
                    argument,
                    origin,
                } if origin.act == Act::Sigmoid => {
                    let fused = if name.chars().next().is_some_and(char::is_uppercase) {
                        "nn.BCEWithLogitsLoss"
                    } else {
                        "F.binary_cross_entropy_with_logits"
                    };
                    (
                        Diagnostic::new(
                            &SIGMOID_BEFORE_BCE,
                            format!("`{name}` on a sigmoid output is numerically unstable"),
                            argument,
                        )
                        .with_help(format!(
                            "drop the sigmoid and pass the logits to `{fused}`, which fuses \
                             sigmoid and log stably"
                        )),
                        argument,
                        origin,
                    )
                }
                Event::Log {
                    function,
                    argument,
                    origin,
                    direct: true,
                } if origin.act == Act::Softmax => (
                    Diagnostic::new(
                        &SIGMOID_BEFORE_BCE,
                        format!(
                            "`{}` of a softmax is numerically unstable",
                            function.rsplit('.').next().unwrap_or(&function)
                        ),
                        argument,
                    )
                    .with_help(
                        "use `log_softmax` on the logits (`F.log_softmax(x, dim=...)`, \
                         `tf.nn.log_softmax`) instead of the logarithm of a softmax",
                    ),
                    argument,
                    origin,
                ),
                _ => continue,
            };
            let diagnostic = if origin.range == site {
                diagnostic
            } else {
                diagnostic.with_label(origin.range, "sigmoid applied here")
            };
            cx.report(diagnostic);
        }
    }
}
