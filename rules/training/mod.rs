//! `DL5xx`: training-correctness bugs — mistakes in how a Runner drives the Model, the Loss
//! and the Optimizer that static analysis can catch (gradients never cleared, a loss that keeps
//! every graph alive, evaluation in training mode, a softmax before a loss that expects
//! logits). Every check resolves calls through the imports and uses the role inference: a
//! method named `step` is an optimizer step only if the object is an optimizer.
pub mod gradients_not_cleared;
pub mod loss_accumulates_graph;
