//! Loops and gradient steps: the loops of a scope, and where it computes gradients, clears
//! them and updates parameters.

use ruff_text_size::TextRange;
use serde::{Deserialize, Serialize};

use super::*;

/// What a gradient-machinery call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GradKind {
    /// `loss.backward()`, `accelerator.backward(loss)`, `self.manual_backward(loss)`.
    Backward,
    /// `optimizer.zero_grad()`.
    ZeroGrad,
    /// `optimizer.step()`, `scaler.step(opt)`, `optax.apply_updates`.
    OptimizerStep,
    /// `tape.gradient(loss, vars)`, `torch.autograd.grad`, `tf.gradients`.
    Gradient,
    /// `optimizer.apply_gradients(...)`, flax `state.apply_gradients`.
    ApplyGradients,
    /// `optimizer.minimize(loss)` (TF1/Keras).
    Minimize,
    /// `sess.run(train_op)`.
    SessionRun,
    /// `jax.grad(loss_fn)`.
    GradTransform,
    /// A framework's whole training step in one call: Keras `model.train_on_batch(x, y)`.
    FrameworkStep,
    /// Gradient descent written by hand: `w -= lr * w.grad`, `p.data.add_(-lr * p.grad)`.
    ManualUpdate,
}

impl GradKind {
    /// Steps that update parameters (a loop with one of these trains).
    pub fn updates_parameters(self) -> bool {
        matches!(
            self,
            GradKind::OptimizerStep
                | GradKind::ApplyGradients
                | GradKind::Minimize
                | GradKind::SessionRun
                | GradKind::FrameworkStep
                | GradKind::ManualUpdate
        )
    }

    pub fn computes_gradients(self) -> bool {
        matches!(
            self,
            GradKind::Backward
                | GradKind::Gradient
                | GradKind::Minimize
                | GradKind::GradTransform
                | GradKind::FrameworkStep
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradStep {
    pub kind: GradKind,
    pub range: TextRange,
    /// Innermost loop of the scope containing the call.
    pub in_loop: Option<LoopId>,
}

/// A loop of a scope (function body or module-level code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopFacts {
    pub range: TextRange,
    /// The `for ...:` / `while ...:` line.
    pub header: TextRange,
    pub parent: Option<LoopId>,
    /// A `for` loop over data batches ([`crate::semantic::training::for_loop_over_data`]).
    pub over_data: bool,
}
