//! `DL5xx`: training-correctness bugs — mistakes in how a Runner drives the Model, the Loss
//! and the Optimizer that static analysis can catch (gradients never cleared, a loss that keeps
//! every graph alive, evaluation in training mode, a softmax before a loss that expects
//! logits). Every check resolves calls through the imports and uses the role inference: a
//! method named `step` is an optimizer step only if the object is an optimizer.

pub(crate) mod activation;
pub mod eval_mode_not_set;
pub(crate) mod evaluation_loops;
pub mod forward_called_directly;
pub mod gradients_not_cleared;
pub mod hyperparameter_default;
pub mod loss_accumulates_graph;
pub(crate) mod mode_after_eval;
pub(crate) mod model_outputs;
pub mod no_grad_missing;
pub mod sigmoid_before_bce;
pub mod softmax_before_cross_entropy;
pub mod tf_memory_not_freed;
pub mod unsafe_log;
pub mod unseeded_training;
