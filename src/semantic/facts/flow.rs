//! Data flow between components: instances and where they are built, component outputs
//! handed to losses, `forward` called directly, mode switches, calls that run training or
//! seed the generators, and what every `forward`/`call` returns.

use ruff_text_size::TextRange;
use serde::{Deserialize, Serialize};

use super::*;

/// A value produced by one call and handed to another (`out = model(x)` then
/// `criterion(out, y)`, or `criterion(model(x), y)`): both callees are instances of something
/// the project may define. Only kept where both calls are of constructed instances, so the
/// list stays short: the edges along which one component's annotated shapes meet another's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueFlow {
    pub producer: Callee,
    pub consumer: Callee,
    /// Position of the value among the consumer call's positional arguments.
    pub arg: u32,
    /// The consumer call.
    pub range: TextRange,
}

/// A component instance as one file can name it; the project resolves it to classes
/// (`semantic::flow`). Names alone never decide what it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InstanceRef {
    /// Built by calling this constructor: `model = Net()`, `Net().to(device)`, `self.net = Net()`.
    Built(Callee),
    /// `self.<attr>` whose value this file does not show: an attribute set in a superclass, or a
    /// component handed to `__init__` (`self.model = model`).
    SelfAttr(Name),
    /// A parameter of the function the fact belongs to (`def train(model, loader)`), with its
    /// position among the positional parameters (`self` counted): the project's calls of that
    /// function say what it receives.
    Param { name: Name, position: Option<u32> },
}

/// An activation a value went through: softmax and sigmoid give probabilities, log-softmax
/// log-probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activation {
    Softmax,
    LogSoftmax,
    Sigmoid,
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Softmax => "softmax",
            Activation::LogSoftmax => "log_softmax",
            Activation::Sigmoid => "sigmoid",
        }
    }
}

/// What a loss expects as its prediction argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Expects {
    /// Unnormalised scores (cross-entropy, which applies its own log-softmax).
    Logits,
    /// Probabilities (binary cross-entropy without logits).
    Probabilities,
}

/// Who computes the loss a component's output is handed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LossSink {
    /// A loss API whose expectation the file shows (`F.cross_entropy`, a local
    /// `nn.CrossEntropyLoss()` instance), by its short name.
    Api { name: Name, expects: Expects },
    /// A callable the project must resolve: a parameter (`criterion`), an attribute handed in,
    /// or a project Loss component (whose own facts say what it expects).
    Instance(InstanceRef),
}

/// The output of calling a component handed to a loss: `criterion(model(x), y)`,
/// `out = self.net(x)` then `F.cross_entropy(out, y)`: whether a probability reaches a loss
/// that expects logits when the component is defined in another file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputToLoss {
    pub producer: InstanceRef,
    pub sink: LossSink,
    /// Position of the output among the loss call's positional arguments.
    pub position: u32,
    /// The argument.
    pub argument: TextRange,
}

/// A parameter of a function passed unchanged as the prediction of a loss whose expectation
/// the file shows: `def forward(self, pred, target): return F.cross_entropy(pred, target)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamToLoss {
    /// Position among the positional parameters (`self` counted).
    pub position: u32,
    pub name: Name,
    pub expects: Expects,
}

/// A call that hands a component instance to a project function or class: `train(model, ...)`,
/// `Runner(model=net)`. Lets a parameter be resolved to what it receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceArg {
    pub callee: Callee,
    /// Positional index at the call site, or the keyword.
    pub position: Option<u32>,
    pub keyword: Option<Name>,
    pub instance: InstanceRef,
}

/// `x.forward(...)` (or Keras `x.call(...)`) on something other than `self`, `super()` or a
/// class: the forward pass called directly, bypassing `__call__` and the framework's hooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardCall {
    pub receiver: InstanceRef,
    /// `forward`, or `call` (Keras).
    pub method: Name,
    /// The receiver as written (`self.encoder`).
    pub text: Name,
    /// The whole call.
    pub range: TextRange,
    /// `.forward` / `.call`, from the end of the receiver to the end of the attribute name.
    pub attribute: TextRange,
}

/// A method called on a component reference: `agent.update(batch)`,
/// `trainer.train_epoch()`. The training model follows it to the method it runs (a loop trains
/// when what it calls updates parameters). Calls of `self`'s methods are [`SelfCall`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodCall {
    pub receiver: InstanceRef,
    pub method: Name,
    pub range: TextRange,
    pub in_loop: Option<LoopId>,
}

/// A method of `self` called: `self.train_step(x)`. Three in four method calls are these (on
/// the benchmark corpus), and most scopes that make one have no other flow fact: they are
/// kept in the scope itself, without a receiver, 24 bytes each (a [`MethodCall`] takes 48,
/// and a scope's [`FlowFacts`] 96 more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfCall {
    pub method: Name,
    pub range: TextRange,
    pub in_loop: Option<LoopId>,
}

/// A method call of a scope, on `self` (`receiver` is `None`) or on a component reference
/// ([`super::ScopeFacts::method_calls`]).
#[derive(Debug, Clone, Copy)]
pub struct MethodCallRef<'a> {
    pub receiver: Option<&'a InstanceRef>,
    pub method: Name,
    pub range: TextRange,
    pub in_loop: Option<LoopId>,
}

/// `x.eval()`, `x.train()`, `x.train(False)`: a switch between training and evaluation mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeCall {
    /// Sets evaluation mode (`eval()`, `train(False)`); otherwise training mode (`train()`,
    /// `train(True)`, or a computed mode, which counts as deliberate).
    pub eval: bool,
    /// The receiver, when it is a component reference (`None` for `self`).
    pub receiver: Option<InstanceRef>,
    /// The receiver as written (`model`, `self.net`).
    pub text: Name,
    pub range: TextRange,
    pub in_loop: Option<LoopId>,
}

/// A method call that hands the training loop to a framework or a project Runner:
/// `model.fit(...)` (Keras), `trainer.fit(model)` (Lightning), `trainer.train()` (Hugging Face),
/// `runner.run()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCall {
    pub receiver: InstanceRef,
    pub method: Name,
    pub range: TextRange,
}

/// What a scope does with component instances, for the training-correctness rules. See
/// [`ScopeFacts::flow`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowFacts {
    /// Component outputs handed to losses: which activation a loss's prediction went through.
    pub outputs_to_losses: ThinVec<OutputToLoss>,
    /// Parameters of the function handed unchanged to a loss as its prediction.
    pub params_to_losses: ThinVec<ParamToLoss>,
    /// Component instances handed to project functions and classes.
    pub instance_args: ThinVec<InstanceArg>,
    /// Values passed from one constructed instance's call to another's.
    pub value_flows: ThinVec<ValueFlow>,
    /// `x.forward(...)` calls: the forward pass called directly.
    pub forward_calls: ThinVec<ForwardCall>,
    /// `x.eval()` / `x.train(...)` calls: mode switches.
    pub mode_calls: ThinVec<ModeCall>,
    /// Methods called on `self` and on component references, with the loop they run in: the
    /// helpers a loop runs.
    pub method_calls: ThinVec<MethodCall>,
    /// Framework or Runner calls that run a training loop (training with no loop in sight).
    pub run_calls: ThinVec<RunCall>,
    /// Project functions handed to a call to be run there: `app.run(main)`, `mp.spawn(worker)`,
    /// `fire.Fire(train)`, `call_main(cfg, main)` (followed as calls: the call runs what the
    /// function does).
    pub passed_functions: ThinVec<ProjectCall>,
    /// Parameters and `self.<attr>` components that the scope uses as modules
    /// (`model.eval()`, `model.parameters()`): evidence of what they are when no caller shows.
    pub module_receivers: ThinVec<InstanceRef>,
    /// Code that runs with gradient tracking off: `with torch.no_grad():` statements, and the
    /// whole function when it is decorated with `@torch.no_grad()` (ranges, so that a call of
    /// a helper can be asked whether it runs inside one).
    pub no_grad_blocks: ThinVec<TextRange>,
    /// The scope calls `torch.no_grad()`/`torch.inference_mode()` in any form (a decorator
    /// that wraps what it decorates in one turns gradients off for it).
    pub turns_grad_off: bool,
    /// The scope builds or calls a layer that behaves differently in training and evaluation
    /// mode: dropout, batch norm, a layer given a dropout rate (where the mode changes results).
    pub mode_layers: bool,
    /// The scope draws random numbers: a random call, a shuffling data pipeline, a layer with
    /// randomly initialised parameters (without any, seeding changes nothing).
    pub draws_random: bool,
}

impl FlowFacts {
    pub(super) const EMPTY: FlowFacts = FlowFacts {
        outputs_to_losses: ThinVec::new(),
        params_to_losses: ThinVec::new(),
        instance_args: ThinVec::new(),
        value_flows: ThinVec::new(),
        forward_calls: ThinVec::new(),
        mode_calls: ThinVec::new(),
        method_calls: ThinVec::new(),
        run_calls: ThinVec::new(),
        passed_functions: ThinVec::new(),
        module_receivers: ThinVec::new(),
        no_grad_blocks: ThinVec::new(),
        turns_grad_off: false,
        mode_layers: false,
        draws_random: false,
    };

    pub(super) fn shrink_to_fit(&mut self) {
        self.outputs_to_losses.shrink_to_fit();
        self.params_to_losses.shrink_to_fit();
        self.instance_args.shrink_to_fit();
        self.value_flows.shrink_to_fit();
        self.forward_calls.shrink_to_fit();
        self.mode_calls.shrink_to_fit();
        self.method_calls.shrink_to_fit();
        self.run_calls.shrink_to_fit();
        self.passed_functions.shrink_to_fit();
        self.module_receivers.shrink_to_fit();
        self.no_grad_blocks.shrink_to_fit();
    }
}
