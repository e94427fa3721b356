use super::activation::{Activation, Event, events};
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds a logarithm (`torch.log`, `tf.math.log`, `np.log`) applied directly to a
    /// probability that came out of a softmax or a sigmoid, without an epsilon or a clamp. The
    /// probability is followed through local assignments: `p = torch.sigmoid(x)` then
    /// `torch.log(p)`. (The logarithm of a softmax *call*, `torch.log(F.softmax(x))`, is DL507.)
    ///
    /// Not reported: `torch.log(p + eps)`, `torch.log(p.clamp(min=eps))`,
    /// `torch.log(torch.clamp(p, eps))`, a value reassigned after the activation, and
    /// `log_softmax` outputs.
    ///
    /// ## Why is this bad?
    /// A softmax or sigmoid underflows to exactly 0 for confident scores, and `log(0)` is
    /// `-inf`: the loss becomes `inf`, its gradient `nan`, and the run is lost.
    ///
    /// ## Example
    /// ```python
    /// p = torch.sigmoid(logits)
    /// loss = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// log_p = F.logsigmoid(logits)
    /// log_not_p = F.logsigmoid(-logits)
    /// loss = -(y * log_p + (1 - y) * log_not_p).mean()
    /// ```
    pub static UNSAFE_LOG = {
        code: "DL509",
        name: "unsafe-log",
        family: Family::Training,
        severity: Severity::Error,
        notebooks: Notebooks::Lint,
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
            let Event::Log {
                function,
                argument,
                origin,
                direct,
            } = event
            else {
                continue;
            };
            // The logarithm of a softmax call is DL507's.
            if direct && origin.act == Activation::Softmax {
                continue;
            }
            let log = function.rsplit('.').next().unwrap_or(&function);
            let act = origin.act.name();
            let numpy = function.starts_with("numpy.");
            let fused = match (origin.act, numpy) {
                (Activation::Sigmoid, false) => "`F.logsigmoid(x)` (`tf.math.log_sigmoid`)",
                (_, false) => "`F.log_softmax(x, dim=...)` (`tf.nn.log_softmax`)",
                (Activation::Sigmoid, true) => "`-np.logaddexp(0, -x)`",
                (_, true) => "`scipy.special.log_softmax(x, axis=...)`",
            };
            let clamp = if numpy {
                format!("`np.{log}(np.clip(p, 1e-12, 1.0))`")
            } else {
                format!("`{log}(p.clamp(min=1e-8))`")
            };
            let mut diagnostic = Diagnostic::new(
                &UNSAFE_LOG,
                format!("`{log}` of a {act} output without an epsilon: `{log}(0)` is `-inf`"),
                argument,
            )
            .with_help(format!(
                "compute the log-probability from the logits with {fused}, or clamp first: \
                 {clamp}"
            ));
            if !direct {
                diagnostic = diagnostic.with_label(origin.range, format!("{act} applied here"));
            }
            cx.report(diagnostic);
        }
    }
}
