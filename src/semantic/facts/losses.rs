//! Loss facts: evidence that a scope computes a loss, and loss values as [`LossExpr`] trees over
//! [`Term`]s, enough to tell a loss *definition* from a *usage* (thesis §3.2).

use ruff_text_size::TextRange;
use serde::{Deserialize, Serialize};

use super::*;

/// A leaf of a loss expression, classified as far as one file allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Term {
    /// A known library loss: function call or call of a loss object (`F.cross_entropy(..)`,
    /// `self.criterion(..)` with `self.criterion = nn.CrossEntropyLoss()`).
    LossApi(Name),
    /// A call the project index must classify (a Loss component? a model? something else?).
    Call(Callee),
    /// A call of the model itself (`self(x)`) or of a layer.
    ModelCall,
    /// `outputs.loss`, `outputs["loss"]`: a loss the model already computed.
    LossAttr,
    /// A parameter or variable with no visible assignment; its name is evidence.
    Param(Name),
    /// Data from the loop (`for x, y in loader`).
    Batch,
    /// A literal number.
    Const,
    /// A value cut off from the graph (`.item()`, `.detach()`): logging arithmetic.
    Detached,
    Opaque,
}

/// How the value that is differentiated (or returned as a loss) is built: a small tree over
/// [`Term`]s, enough to tell a loss *definition* from a *usage* (thesis §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LossExpr {
    Leaf(Term),
    /// `a + b`, `a * w`, `-a`.
    Arith(Vec<LossExpr>),
    /// `x.mean()`, `torch.sum(x)`.
    Reduce(Box<LossExpr>),
    /// `torch.log(x)`, `x.pow(2)`.
    Math(Vec<LossExpr>),
    /// Alternatives: `if a: loss = f(..) else: loss = g(..)`, `a if c else b`.
    Branch(Vec<LossExpr>),
    /// Terms accumulated in a loop: `for h in heads: loss += crit(h(x), y)`.
    Accumulate(Vec<LossExpr>),
    /// `sum([l1, l2])`, `sum(losses.values())`.
    Collection(Vec<LossExpr>),
    /// A loss (the first expression: a library loss, or a callee named like one) applied to inputs
    /// the code computes by combining values: the TD target of `F.mse_loss(q, r + gamma *
    /// q_next)`, `F.cross_entropy(logits / tau, y)`. Only the inputs that combine values are
    /// kept.
    LossOf(Box<LossExpr>, Vec<LossExpr>),
    /// `x.detach()`: a value cut off from the graph, as [`Term::Detached`], that remembers
    /// what it was (a stop-gradient target built from a model's output).
    Detach(Box<LossExpr>),
}

/// A value that is differentiated (or returned as the loss) and how it is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossValue {
    /// The expression that is differentiated/returned (e.g. `loss` in `loss.backward()`).
    pub range: TextRange,
    /// The statement that defines the value (the last assignment), or the expression itself.
    pub definition: TextRange,
    /// Every statement of the backward slice that builds the value, in source order.
    pub slice: Vec<TextRange>,
    pub expr: LossExpr,
    /// The gradient call that consumes it, if any.
    pub consumer: Option<TextRange>,
    pub in_loop: Option<LoopId>,
}

/// Evidence that a scope computes a loss (for "loss in model").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    /// A known loss API is called (function, or a loss object built from a loss class).
    LossApiCall,
    /// A callee the index must classify (a finding only if it is a Loss component): the
    /// scope's project call at this index ([`ScopeFacts::project_calls`]). Not stored: every
    /// project call is this evidence, unless [`LossFacts::calls_not_evidence`] lists it (see
    /// [`ScopeFacts::evidence`]).
    ProjectCall(u32),
    /// A callee the index must classify that is no project call of the scope (`self.<name>`,
    /// a loss-named method of an unknown object): at this index of
    /// [`ScopeFacts::evidence_callees`].
    OtherCall(u32),
    /// `<loss-named variable> = <computation>`.
    NamedAssign,
    /// Keras `self.add_loss(...)`.
    AddLoss,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossEvidence {
    pub kind: Evidence,
    pub range: TextRange,
    pub in_loop: Option<LoopId>,
}

/// What a scope does with losses and gradients (see [`ScopeFacts::losses`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossFacts {
    pub grad_steps: ThinVec<GradStep>,
    pub differentiated: ThinVec<LossValue>,
    pub returned: ThinVec<LossValue>,
    /// Values assigned to loss-named variables (`total_loss = a + b`).
    pub named_losses: ThinVec<LossValue>,
    /// Functions handed to `jax.grad` & co.: they are losses.
    pub grad_transformed: ThinVec<Callee>,
    /// `self.<attr>.step()` / `self.<attr>.zero_grad()` on an optimizer attribute.
    pub optimizer_attr_uses: ThinVec<(Name, TextRange)>,
    /// The callees of [`Evidence::OtherCall`] evidence (a loss evidence's callee is usually
    /// one of the scope's `project_calls`, not a copy).
    pub evidence_callees: ThinVec<Callee>,
    /// The ranges of the scope's project calls that are no loss evidence (a call of a
    /// variable whose name says nothing of a loss, `fn(x)`): every other project call is
    /// [`Evidence::ProjectCall`] evidence. Listed by exception, as almost every project call is
    /// evidence and the facts of every scope stay in memory.
    pub calls_not_evidence: ThinVec<TextRange>,
}

impl LossFacts {
    /// Keep `callee` as the callee of an [`Evidence::OtherCall`], and give that evidence.
    pub fn other_call(&mut self, callee: Callee) -> Evidence {
        self.evidence_callees.push(callee);
        Evidence::OtherCall(self.evidence_callees.len() as u32 - 1)
    }

    /// Every loss value of the scope: returned, differentiated, then assigned to a
    /// loss-named variable.
    pub fn values(&self) -> impl Iterator<Item = &LossValue> {
        self.returned
            .iter()
            .chain(&self.differentiated)
            .chain(&self.named_losses)
    }

    pub(super) const EMPTY: LossFacts = LossFacts {
        grad_steps: ThinVec::new(),
        differentiated: ThinVec::new(),
        returned: ThinVec::new(),
        named_losses: ThinVec::new(),
        grad_transformed: ThinVec::new(),
        optimizer_attr_uses: ThinVec::new(),
        evidence_callees: ThinVec::new(),
        calls_not_evidence: ThinVec::new(),
    };

    pub(super) fn shrink_to_fit(&mut self) {
        self.grad_steps.shrink_to_fit();
        self.differentiated.shrink_to_fit();
        self.returned.shrink_to_fit();
        self.named_losses.shrink_to_fit();
        self.grad_transformed.shrink_to_fit();
        self.optimizer_attr_uses.shrink_to_fit();
        self.evidence_callees.shrink_to_fit();
        self.calls_not_evidence.shrink_to_fit();
    }
}
