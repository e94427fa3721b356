//! Calls of framework APIs (optimizers, data loading, seeding, ...) and of what may be
//! project code.

use ruff_text_size::TextRange;
use serde::{Deserialize, Serialize};

use super::*;

/// A call of a known framework API (layers, optimizers, data loading, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUse {
    pub kind: ApiKind,
    pub name: Name,
    pub range: TextRange,
    pub in_loop: Option<LoopId>,
    /// Inside the argument list of a framework hook call such as Keras `compile(...)`.
    pub in_compile: bool,
    /// Augmentation and sampling calls only: the call works on the data a loop iterates. An
    /// augmentation receives a value from a loop's batch (`tf.image.random_flip_left_right(x)`
    /// with `for x, y in loader`, or a transform applied right away, `T(...)(x)`); a sampling
    /// call draws items or indices over a data collection (`X[np.random.choice(len(X), n)]`,
    /// `random.sample(samples, n)`) that the scope does not fill itself (a replay buffer).
    pub on_data: bool,
}

/// A call of something that may be a project component (resolved by the index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectCall {
    pub callee: Callee,
    pub range: TextRange,
    pub in_loop: Option<LoopId>,
}
