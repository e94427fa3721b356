use super::activation::{Activation, Event, events};
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds a logarithm (`torch.log`, `tf.math.log`, `np.log`, the tensor method `p.log()`)
    /// applied directly to a probability that came out of a softmax or a sigmoid — or to one
    /// minus it (`log(1 - p)`) — without an epsilon or a clamp: the hand-written cross-entropy
    /// of many tutorials and RL losses. The probability is followed through local assignments
    /// (`p = torch.sigmoid(x)` then `torch.log(p)`), shape-keeping methods and indexing
    /// (`pi.gather(1, a)`, `probs[:, 1]`), and what the file's functions, methods and models
    /// return (`tf.log(discriminator(x))` where `discriminator` ends in `tf.sigmoid`), a
    /// function's parameter when every call in the file passes the same model
    /// (`train(policy, ...)`), and a model mapped over the batch (`jax.vmap(model)(x)`). (The
    /// logarithm of a softmax *call*, `torch.log(F.softmax(x))`, is DL507.) The help names the
    /// fused form in the framework of the logarithm.
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
        needs: Needs::Nothing,
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
                complement,
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
            let framework = function.split('.').next().unwrap_or_default();
            let sigmoid = origin.act == Activation::Sigmoid;
            // The log-probability computed from the logits, the fused cross-entropy a
            // hand-written one should be, and the clamp, in the framework of the logarithm.
            let (fused, loss, clamp) = match (framework, sigmoid) {
                ("tensorflow", true) => (
                    "`tf.math.log_sigmoid(logits)`",
                    "`tf.nn.sigmoid_cross_entropy_with_logits`",
                    format!("`tf.math.{log}(tf.clip_by_value(p, 1e-8, 1.0))`"),
                ),
                ("tensorflow", false) => (
                    "`tf.nn.log_softmax(logits)`",
                    "`tf.nn.softmax_cross_entropy_with_logits`",
                    format!("`tf.math.{log}(tf.clip_by_value(p, 1e-8, 1.0))`"),
                ),
                ("jax", true) => (
                    "`jax.nn.log_sigmoid(logits)`",
                    "`optax.sigmoid_binary_cross_entropy`",
                    format!("`jnp.{log}(jnp.clip(p, 1e-8, 1.0))`"),
                ),
                ("jax", false) => (
                    "`jax.nn.log_softmax(logits)`",
                    "`optax.softmax_cross_entropy`",
                    format!("`jnp.{log}(jnp.clip(p, 1e-8, 1.0))`"),
                ),
                ("numpy", true) => (
                    "`-np.logaddexp(0, -logits)`",
                    "a cross-entropy computed from the logits",
                    format!("`np.{log}(np.clip(p, 1e-12, 1.0))`"),
                ),
                ("numpy", false) => (
                    "`scipy.special.log_softmax(logits, axis=...)`",
                    "a cross-entropy computed from the logits",
                    format!("`np.{log}(np.clip(p, 1e-12, 1.0))`"),
                ),
                (_, true) => (
                    "`F.logsigmoid(logits)`",
                    "`F.binary_cross_entropy_with_logits`",
                    format!("`torch.{log}(p.clamp(min=1e-8))`"),
                ),
                (_, false) => (
                    "`F.log_softmax(logits, dim=...)`",
                    "`F.cross_entropy`",
                    format!("`torch.{log}(p.clamp(min=1e-8))`"),
                ),
            };
            let (what, when) = if complement {
                (
                    format!("one minus a {act} output"),
                    "once the probability saturates to 1",
                )
            } else {
                (
                    format!("a {act} output"),
                    "once the probability underflows to 0",
                )
            };
            let mut diagnostic = Diagnostic::new(
                &UNSAFE_LOG,
                format!(
                    "`{log}` of {what} without an epsilon: it is `-inf` {when}, and the loss and \
                     its gradients become `inf`/`nan`"
                ),
                argument,
            )
            .with_help(format!(
                "compute the log-probability from the logits with {fused} (for a hand-written \
                 cross-entropy, use {loss}), or clamp first: {clamp}"
            ));
            if !direct {
                diagnostic = diagnostic.with_label(origin.range, format!("{act} applied here"));
            }
            cx.report(diagnostic);
        }
    }
}
