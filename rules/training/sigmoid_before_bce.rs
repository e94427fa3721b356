use super::activation::{Activation, Event, Expects, events};
use super::model_outputs::mismatches;
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds two numerically unstable pairings of an activation with its loss:
    /// `nn.BCELoss` / `F.binary_cross_entropy` applied to a sigmoid output (`torch.sigmoid(x)`,
    /// `x.sigmoid()`, an `nn.Sigmoid` layer or a `Sequential` that ends in one), and the
    /// logarithm of a softmax call (`torch.log(F.softmax(x, dim=-1))`). The sigmoid is followed
    /// through local assignments and `self.<attr>` layers, through what the file's functions,
    /// methods and models return (element by element for a tuple, as in a VAE's
    /// `x_reconst, mu, log_var = model(x)`), into a helper that hands its parameter straight to
    /// the BCE (`def adversarial_loss(self, y_hat, y)`, reported at the BCE), and across
    /// components: a project
    /// Model whose `forward` returns a sigmoid output on every path, fed to a probability BCE in
    /// the Runner or in a Loss component (the Model resolved through the project, as for
    /// DL506).
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
                    kind: Expects::Probabilities,
                    name,
                    argument,
                    origin,
                } if origin.act == Activation::Sigmoid => {
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
                    complement: false,
                } if origin.act == Activation::Softmax => (
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

/// A project Model whose `forward` ends in a sigmoid, and a probability BCE fed with its output.
fn across_files(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    for m in mismatches(cx) {
        if !(m.expects == Expects::Probabilities && m.activation == Activation::Sigmoid) {
            continue;
        }
        let (loss, model, method) = (&m.loss, &m.model, &m.method);
        let fused = if loss.chars().next().is_some_and(char::is_uppercase) {
            "nn.BCEWithLogitsLoss"
        } else {
            "F.binary_cross_entropy_with_logits"
        };
        out.push(
            Diagnostic::new(
                &SIGMOID_BEFORE_BCE,
                format!(
                    "`{loss}` on the sigmoid output of `{model}.{method}` is numerically \
                     unstable"
                ),
                m.argument,
            )
            .with_file_label(
                m.model_file,
                m.method_name_range,
                "returns a sigmoid output",
            )
            .with_help(format!(
                "return the logits from `{model}.{method}` and use `{fused}`, which fuses \
                 sigmoid and log stably; apply the sigmoid only for predictions"
            )),
        );
    }
}
