//! The semantic summary of one file (`FileFacts`): everything the cross-file project index and
//! the project rules need, computed in the single tree walk, so that the tree can be dropped
//! right after. Plain data, serialisable (the cache stores it).

use ruff_text_size::TextRange;
use serde::{Deserialize, Serialize};

use crate::knowledge::ApiKind;
use crate::suppression::Suppressions;

pub use crate::knowledge::Role;

pub type ClassId = u32;
pub type FunctionId = u32;
pub type LoopId = u32;

/// A callee (or a base class), as precisely as the file alone can name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Callee {
    /// Resolved through the imports: `torch.nn.functional.cross_entropy`, `proj.losses.focal`.
    Qualified(String),
    /// A module-level class or function of this file.
    Local(String),
    /// `self.<name>`: a method or an instance attribute, resolved through the class hierarchy.
    SelfMember(String),
    /// A variable bound to the result of calling this callee (`model = Net()`).
    InstanceOf(Box<Callee>),
    /// A variable or parameter of unknown value: only its name is evidence.
    Variable(String),
}

impl Callee {
    /// The last name segment, for messages and name heuristics.
    pub fn name(&self) -> &str {
        match self {
            Callee::Qualified(q) => q.rsplit('.').next().unwrap_or(q),
            Callee::Local(n) | Callee::SelfMember(n) | Callee::Variable(n) => n,
            Callee::InstanceOf(inner) => inner.name(),
        }
    }
}

/// A leaf of a loss expression, classified as far as one file allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Term {
    /// A known library loss: function call or call of a loss object (`F.cross_entropy(..)`,
    /// `self.criterion(..)` with `self.criterion = nn.CrossEntropyLoss()`).
    LossApi(String),
    /// A call the project index must classify (a Loss component? a model? something else?).
    Call(Callee),
    /// A call of the model itself (`self(x)`) or of a layer.
    ModelCall,
    /// `outputs.loss`, `outputs["loss"]`: a loss the model already computed.
    LossAttr,
    /// A parameter or variable with no visible assignment; its name is evidence.
    Param(String),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    /// A known loss API is called (function, or a loss object built from a loss class).
    LossApiCall(String),
    /// A callee the index must classify; a finding only if it is a Loss component.
    CalleeCall(Callee),
    /// `<loss-named variable> = <computation>`.
    NamedAssign(String),
    /// Keras `self.add_loss(...)`.
    AddLoss,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossEvidence {
    pub kind: Evidence,
    pub range: TextRange,
    pub in_loop: Option<LoopId>,
}

/// A call of a known framework API (layers, optimizers, data loading, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUse {
    pub kind: ApiKind,
    pub name: String,
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
    SelfAttr(String),
    /// A parameter of the function the fact belongs to (`def train(model, loader)`), with its
    /// position among the positional parameters (`self` counted): the project's calls of that
    /// function say what it receives.
    Param { name: String, position: Option<u32> },
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
    Api { name: String, expects: Expects },
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
    pub name: String,
    pub expects: Expects,
}

/// A call that hands a component instance to a project function or class: `train(model, ...)`,
/// `Runner(model=net)`. Lets a parameter be resolved to what it receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceArg {
    pub callee: Callee,
    /// Positional index at the call site, or the keyword.
    pub position: Option<u32>,
    pub keyword: Option<String>,
    pub instance: InstanceRef,
}

/// `x.forward(...)` (or Keras `x.call(...)`) on something other than `self`, `super()` or a
/// class: the forward pass called directly, bypassing `__call__` and the framework's hooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardCall {
    pub receiver: InstanceRef,
    /// `forward`, or `call` (Keras).
    pub method: String,
    /// The receiver as written (`self.encoder`).
    pub text: String,
    /// The whole call.
    pub range: TextRange,
    /// `.forward` / `.call`, from the end of the receiver to the end of the attribute name.
    pub attribute: TextRange,
}

/// A method called on a component reference or on `self`: `agent.update(batch)`,
/// `self.train_step(x)`, `trainer.train_epoch()`. The training model follows it to the method
/// it runs (a loop trains when what it calls updates parameters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodCall {
    /// `None`: a method of `self`.
    pub receiver: Option<InstanceRef>,
    pub method: String,
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
    pub text: String,
    pub range: TextRange,
    pub in_loop: Option<LoopId>,
}

/// A method call that hands the training loop to a framework or a project Runner:
/// `model.fit(...)` (Keras), `trainer.fit(model)` (Lightning), `trainer.train()` (Hugging Face),
/// `runner.run()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCall {
    pub receiver: InstanceRef,
    pub method: String,
    pub range: TextRange,
}

/// How a parameter or return value of a function states its type and tensor shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypeInfo {
    /// No annotation.
    Unannotated,
    /// A tensor type without a shape (`torch.Tensor`, `Optional[tf.Tensor]`, `jax.Array`).
    Tensor,
    /// A shape annotation (jaxtyping, torchtyping, `Annotated[Tensor, "b c"]`, ...): the first
    /// entry of the owner's `shapes`.
    Shaped,
    /// Anything else (`int`, `bool`, `Cache`, `list[Tensor]`, a model output class).
    Other,
}

/// The notation a shape annotation is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShapeSyntax {
    /// `Float[Tensor, "b c"]` (any jaxtyping dtype).
    Jaxtyping,
    /// `TensorType["b", "c": 3]`.
    Torchtyping,
    /// `Annotated[Tensor, "b c"]`.
    Annotated,
    /// Another shape-typing library (nptyping, tensor_annotations).
    Other,
}

/// One shape annotation as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShapeAnnotation {
    pub syntax: ShapeSyntax,
    /// The dimensions in jaxtyping notation (torchtyping's `["b", "c": 3]` becomes `b c=3`),
    /// when the annotation gives them as strings/numbers.
    pub dims: Option<String>,
    /// The whole annotation.
    pub range: TextRange,
    /// The dimension string (jaxtyping), or the subscript (torchtyping).
    pub dims_range: TextRange,
    /// A structural mistake: `Float[Tensor]` without a shape, a shape that is not a string.
    pub problem: Option<String>,
}

/// A parameter of a function with [`SignatureShapes`] (`self`, `*args`, `**kwargs` excluded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamShape {
    pub name: String,
    pub range: TextRange,
    /// Position among the positional parameters (after `self`), if positional.
    pub position: Option<u32>,
    pub info: TypeInfo,
    /// Every shape annotation inside the parameter's annotation (for `Shaped`, the first is
    /// the parameter's own).
    pub shapes: Vec<ShapeAnnotation>,
    /// The default is a literal that is no tensor (`True`, `0.1`, `"mean"`, `(3, 3)`).
    pub literal_default: bool,
    /// The docstring (its `Shape:` section, or the parameter's entry) or an inline comment
    /// on the parameter's line gives a shape.
    pub documented: bool,
    /// Dimension names the body gives it, in jaxtyping notation (`b, c, h, w = x.shape` →
    /// `b c h w`; `n = x.size(0)` → `n ...`).
    pub inferred: Option<String>,
    /// The body loops over it: a collection of tensors, not a tensor.
    pub iterated: bool,
}

/// What a function body returns, when the annotation does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Returned {
    /// No value (no `return <value>`, or only `None`), or a generator.
    Nothing,
    /// One value that may be a tensor (`return self.fc(x)`).
    Single,
    /// A tuple, list, dict, literal or an output object: no single tensor to annotate.
    Structured,
}

/// The shape documentation of a forward-like method (`forward`, `call`, `__call__`), or of
/// any function whose annotations carry tensor shapes: what the signature states about the
/// shapes it takes and returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureShapes {
    pub params: Vec<ParamShape>,
    pub returns: TypeInfo,
    pub return_shapes: Vec<ShapeAnnotation>,
    /// The return annotation.
    pub return_range: Option<TextRange>,
    pub returned: Returned,
    /// The docstring gives the returned value's shape (a `Returns:` entry, a `Shape:` section).
    pub return_documented: bool,
    /// Dimension names of the returned value, from the body (`return x.view(b, c, h * w)`).
    pub return_inferred: Option<String>,
    /// The body is only a docstring, `pass`, `...` or `raise NotImplementedError`.
    pub stub: bool,
}

/// What a scope does with component instances, for the training-correctness rules. See
/// [`ScopeFacts::flow`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowFacts {
    /// Component outputs handed to losses: which activation a loss's prediction went through.
    pub outputs_to_losses: Vec<OutputToLoss>,
    /// Parameters of the function handed unchanged to a loss as its prediction.
    pub params_to_losses: Vec<ParamToLoss>,
    /// Component instances handed to project functions and classes.
    pub instance_args: Vec<InstanceArg>,
    /// `x.forward(...)` calls: the forward pass called directly.
    pub forward_calls: Vec<ForwardCall>,
    /// `x.eval()` / `x.train(...)` calls: mode switches.
    pub mode_calls: Vec<ModeCall>,
    /// Methods called on `self` and on component references, with the loop they run in: the
    /// helpers a loop runs.
    pub method_calls: Vec<MethodCall>,
    /// Framework or Runner calls that run a training loop (training with no loop in sight).
    pub run_calls: Vec<RunCall>,
    /// Project functions handed to a call to be run there: `app.run(main)`, `mp.spawn(worker)`,
    /// `fire.Fire(train)`, `call_main(cfg, main)` (followed as calls: the call runs what the
    /// function does).
    pub passed_functions: Vec<ProjectCall>,
    /// Parameters and `self.<attr>` components that the scope uses as modules
    /// (`model.eval()`, `model.parameters()`): evidence of what they are when no caller shows.
    pub module_receivers: Vec<InstanceRef>,
    /// Code that runs with gradient tracking off: `with torch.no_grad():` statements, and the
    /// whole function when it is decorated with `@torch.no_grad()` (ranges, so that a call of
    /// a helper can be asked whether it runs inside one).
    pub no_grad_blocks: Vec<TextRange>,
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
    const EMPTY: FlowFacts = FlowFacts {
        outputs_to_losses: Vec::new(),
        params_to_losses: Vec::new(),
        instance_args: Vec::new(),
        forward_calls: Vec::new(),
        mode_calls: Vec::new(),
        method_calls: Vec::new(),
        run_calls: Vec::new(),
        passed_functions: Vec::new(),
        module_receivers: Vec::new(),
        no_grad_blocks: Vec::new(),
        turns_grad_off: false,
        mode_layers: false,
        draws_random: false,
    };

    fn shrink_to_fit(&mut self) {
        self.outputs_to_losses.shrink_to_fit();
        self.params_to_losses.shrink_to_fit();
        self.instance_args.shrink_to_fit();
        self.forward_calls.shrink_to_fit();
        self.mode_calls.shrink_to_fit();
        self.method_calls.shrink_to_fit();
        self.run_calls.shrink_to_fit();
        self.passed_functions.shrink_to_fit();
        self.module_receivers.shrink_to_fit();
        self.no_grad_blocks.shrink_to_fit();
    }
}

/// What one scope (a function body, or the module's top-level code) does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeFacts {
    pub loops: Vec<LoopFacts>,
    pub grad_steps: Vec<GradStep>,
    pub evidence: Vec<LossEvidence>,
    pub differentiated: Vec<LossValue>,
    pub returned: Vec<LossValue>,
    /// Values assigned to loss-named variables (`total_loss = a + b`).
    pub named_losses: Vec<LossValue>,
    pub api_calls: Vec<ApiUse>,
    pub project_calls: Vec<ProjectCall>,
    /// Functions handed to `jax.grad` & co.: they are losses.
    pub grad_transformed: Vec<Callee>,
    /// `self.<attr>.step()` / `self.<attr>.zero_grad()` on an optimizer attribute.
    pub optimizer_attr_uses: Vec<(String, TextRange)>,
    /// Values passed from one constructed instance's call to another's.
    pub value_flows: Vec<ValueFlow>,
    /// Instances, component outputs, direct forward calls, mode switches and training runs: boxed,
    /// as most scopes have none and every scope of a large project stays in memory.
    pub flow: Option<Box<FlowFacts>>,
}

impl ScopeFacts {
    fn shrink_to_fit(&mut self) {
        self.loops.shrink_to_fit();
        self.grad_steps.shrink_to_fit();
        self.evidence.shrink_to_fit();
        self.differentiated.shrink_to_fit();
        self.returned.shrink_to_fit();
        self.named_losses.shrink_to_fit();
        self.api_calls.shrink_to_fit();
        self.project_calls.shrink_to_fit();
        self.grad_transformed.shrink_to_fit();
        self.optimizer_attr_uses.shrink_to_fit();
        self.value_flows.shrink_to_fit();
        if let Some(flow) = &mut self.flow {
            flow.shrink_to_fit();
        }
    }

    /// The scope's [`FlowFacts`] (empty when it has none).
    pub fn flow(&self) -> &FlowFacts {
        static EMPTY: FlowFacts = FlowFacts::EMPTY;
        self.flow.as_deref().unwrap_or(&EMPTY)
    }

    /// The scope's [`FlowFacts`], created on first write.
    pub fn flow_mut(&mut self) -> &mut FlowFacts {
        self.flow.get_or_insert_with(Default::default)
    }

    /// The value is built with gradient tracking off (its defining statement is inside
    /// `with torch.no_grad():`, or in a function decorated with it): a loss computed to be
    /// reported, which nothing can be trained on.
    pub fn without_gradients(&self, value: &LossValue) -> bool {
        value.consumer.is_none()
            && self
                .flow()
                .no_grad_blocks
                .iter()
                .any(|block| block.contains_range(value.definition))
    }

    pub fn has(&self, kind: GradKind) -> bool {
        self.grad_steps.iter().any(|s| s.kind == kind)
    }

    /// True if `inner` is `outer` or nested in it.
    pub fn loop_within(&self, inner: Option<LoopId>, outer: LoopId) -> bool {
        let mut current = inner;
        while let Some(id) = current {
            if id == outer {
                return true;
            }
            current = self.loops[id as usize].parent;
        }
        false
    }
}

/// `self.<attr> = <param>`: a component handed to a method (usually `__init__`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub attr: String,
    pub param: String,
    pub range: TextRange,
    /// The method the parameter belongs to, and the parameter's position among its positional
    /// parameters (`self` counted).
    pub method: FunctionId,
    pub position: Option<u32>,
    /// For values named like an optimizer (`self.opt = opt`): the class reads plain attributes
    /// of it that no optimizer has (`opt.Transformation`, `self.opt.batch_size`), so it holds
    /// an options namespace, not an optimizer.
    pub options: bool,
    /// The parameter's annotation, when it names a class (`decoder: DecoderRNN`).
    pub annotation: Option<Callee>,
}

/// `self.<name> = <call>` (or a class-level `name = <call>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    pub ctor: Callee,
    pub range: TextRange,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassFacts {
    pub name: String,
    /// `Outer.Inner` for nested classes.
    pub qualname: String,
    pub range: TextRange,
    pub name_range: TextRange,
    pub bases: Vec<Callee>,
    pub methods: Vec<FunctionId>,
    pub attributes: Vec<Attribute>,
    /// `self.<attr> = <parameter>` in `__init__`: components handed in (e.g. an optimizer).
    pub held: Vec<Held>,
    pub enclosing_function: Option<FunctionId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionFacts {
    pub name: String,
    pub range: TextRange,
    pub name_range: TextRange,
    pub class: Option<ClassId>,
    pub parent: Option<FunctionId>,
    /// Parameters that carry training targets (`labels`, `target`, `y`): the only parameter
    /// names rules ask about, so the others are not kept.
    pub target_params: Vec<String>,
    pub is_generator: bool,
    /// Some `return` hands back a value (not `return` or `return None`).
    pub returns_value: bool,
    /// `return inner` where `inner` is a function nested in this one (a factory).
    pub returns_nested: Option<FunctionId>,
    /// Framework APIs whose result is returned (`return DataLoader(...)`).
    pub returns_apis: Vec<ApiKind>,
    /// Returns an optimizer it builds, directly or through a variable
    /// (`optimizer = AdamW(groups); return optimizer`): an optimizer factory.
    pub returns_optimizer: bool,
    /// Types and tensor shapes of the signature: only for forward-like methods and for
    /// functions with shape annotations (where shapes are expected, or stated).
    pub shapes: Option<Box<SignatureShapes>>,
    /// Every value the function returns went through this activation (a Model whose
    /// `forward` ends in a softmax). Only for the methods a call of the instance runs.
    pub returns_activation: Option<Activation>,
    pub body: ScopeFacts,
}

/// Everything dllint learned about one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFacts {
    /// The dotted package containing the file, if it is inside one.
    pub package: Option<String>,
    pub line_count: u32,
    /// Module-level import bindings (local name → qualified), for re-exports.
    pub imports: Vec<(String, String)>,
    pub classes: Vec<ClassFacts>,
    pub functions: Vec<FunctionFacts>,
    /// Module-level code.
    pub module: ScopeFacts,
    /// Module-level names assigned a call result (`model = Net()`), for re-exported instances.
    pub module_instances: Vec<(String, Callee)>,
    pub suppressions: Suppressions,
    /// The file had syntax errors; its facts come from a recovered tree.
    pub recovered: bool,
    /// Names the file reads, command-line options it declares, whole-namespace uses.
    pub usage: UsageFacts,
    /// The `if __name__ == "__main__":` line: the file is a script.
    pub main_guard: Option<TextRange>,
    /// The file declares command-line options or a run configuration (argparse, absl flags,
    /// click, fire, hydra, ...).
    pub takes_options: bool,
    /// A notebook kept as a Python file (cells marked `# %%` or `# In[ ]:`): the notebook
    /// policy applies.
    pub cell_script: bool,
    /// The file turns gradients off somewhere (`with torch.no_grad()`, `@torch.no_grad()`,
    /// `torch.set_grad_enabled(...)`): without it, and without mode calls, only functions named
    /// for evaluation can hold an evaluation loop (the search for one walks the tree only then).
    pub uses_no_grad: bool,
    /// The file calls `.eval()` or `.train(...)` on something.
    pub switches_mode: bool,
}

/// How a command-line option is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptionSource {
    /// `parser.add_argument("--lr", ...)`: read as `args.lr` anywhere in the project.
    Argparse,
    /// `@click.option("--lr")`: a parameter of the decorated function, read in its body. Only
    /// options that body does not read are kept.
    Click,
}

/// A command-line option declared in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigOption {
    /// Where the parsed value lands: `learning_rate` for `--learning-rate`, or `dest=`.
    pub dest: String,
    /// The option as written (`--learning-rate`), for messages.
    pub flag: String,
    /// The option string in the declaring call.
    pub range: TextRange,
    pub source: OptionSource,
}

/// A place where a whole parsed namespace is used, so that every option counts as read:
/// `vars(args)` passed on, `args.__dict__`, `wandb.config.update(args)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WholesaleUse {
    pub range: TextRange,
    /// `None`: always a whole-namespace use. `Some`: the namespace is handed to this callee,
    /// which is a use unless the callee is a project function or class (its reads count).
    pub callee: Option<Callee>,
    /// The namespace is put into a literal container (`{"args": args}` saved with a
    /// checkpoint, `return model, args`): it leaves the file, so the file's own reads are not
    /// all its reads, but whoever reads it later reads options by name.
    pub stored: bool,
}

/// Sorted, deduplicated names, stored as one string (one allocation per file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameList(Box<str>);

impl NameList {
    pub fn new<'n>(names: impl IntoIterator<Item = &'n str>) -> Self {
        let mut names: Vec<&str> = names
            .into_iter()
            .filter(|n| !n.is_empty() && !n.contains('\n'))
            .collect();
        names.sort_unstable();
        names.dedup();
        NameList(names.join("\n").into_boxed_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split('\n').filter(|n| !n.is_empty())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|n| n == name)
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How the file uses names and configuration (which command-line options it reads, which
/// components it references), kept compact: every file of a large project carries one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageFacts {
    /// Names read: attribute names (`args.lr`, `losses.FocalLoss`, not `self.x`), string keys
    /// (`cfg["lr"]`, `getattr(args, "lr")`, `d.get("lr")`, `"lr" in d`), names imported with
    /// `from m import x` (outside `__init__.py`), module-level definitions used in the file
    /// (outside their own body) or decorated, `__all__` entries, and CamelCase identifiers in
    /// strings (registries: `{"type": "FocalLoss"}`).
    pub names: NameList,
    /// Command-line options declared here.
    pub options: Vec<ConfigOption>,
    /// Attribute names read on a namespace (`args.lr`, `self.hparams.lr`) and where first, for
    /// "did you mean" suggestions.
    pub namespace_reads: Vec<(String, TextRange)>,
    pub wholesale: Vec<WholesaleUse>,
    /// `globals()`, `locals()`, `eval`/`exec`: any module-level name may be used.
    pub dynamic: bool,
    /// Modules whose members are looked up by a computed name (`getattr(models, name)`,
    /// `models.__dict__[name]`), as qualified names.
    pub dynamic_modules: Vec<String>,
    /// The file parses command-line arguments itself (`parser.parse_args()`).
    pub parses: bool,
}

impl FileFacts {
    /// Every scope of the file: the module (`None`), then each function body.
    pub fn scopes(&self) -> impl Iterator<Item = (Option<FunctionId>, &ScopeFacts)> {
        std::iter::once((None, &self.module)).chain(
            self.functions
                .iter()
                .enumerate()
                .map(|(id, f)| (Some(id as FunctionId), &f.body)),
        )
    }

    pub fn class_named(&self, name: &str) -> Option<(ClassId, &ClassFacts)> {
        self.classes
            .iter()
            .enumerate()
            .find(|(_, c)| {
                c.name == name && c.enclosing_function.is_none() && !c.qualname.contains('.')
            })
            .map(|(i, c)| (i as ClassId, c))
    }

    pub fn function_named(&self, name: &str) -> Option<(FunctionId, &FunctionFacts)> {
        self.functions
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name && f.class.is_none() && f.parent.is_none())
            .map(|(i, f)| (i as FunctionId, f))
    }

    /// `Class.method`, `outer.inner`, `function`: computed, not stored (there is one function
    /// per few lines of code, and only findings need the name).
    pub fn qualname(&self, id: FunctionId) -> String {
        let function = &self.functions[id as usize];
        match (function.class, function.parent) {
            (Some(class), _) => format!(
                "{}.{}",
                self.classes[class as usize].qualname, function.name
            ),
            (None, Some(parent)) => format!("{}.{}", self.qualname(parent), function.name),
            (None, None) => function.name.clone(),
        }
    }

    /// Release the spare capacity of every list: facts live until the end of the run.
    pub fn shrink_to_fit(&mut self) {
        self.imports.shrink_to_fit();
        self.classes.shrink_to_fit();
        self.functions.shrink_to_fit();
        self.module_instances.shrink_to_fit();
        self.usage.options.shrink_to_fit();
        self.usage.namespace_reads.shrink_to_fit();
        self.usage.wholesale.shrink_to_fit();
        self.usage.dynamic_modules.shrink_to_fit();
        for class in &mut self.classes {
            class.bases.shrink_to_fit();
            class.methods.shrink_to_fit();
            class.attributes.shrink_to_fit();
            class.held.shrink_to_fit();
        }
        self.module.shrink_to_fit();
        for function in &mut self.functions {
            function.target_params.shrink_to_fit();
            function.returns_apis.shrink_to_fit();
            function.body.shrink_to_fit();
        }
    }

    pub fn import_target(&self, name: &str) -> Option<&str> {
        self.imports
            .iter()
            .rev()
            .find(|(local, _)| local == name)
            .map(|(_, q)| q.as_str())
    }

    pub fn method(&self, class: ClassId, name: &str) -> Option<(FunctionId, &FunctionFacts)> {
        self.classes[class as usize]
            .methods
            .iter()
            .map(|&id| (id, &self.functions[id as usize]))
            .find(|(_, f)| f.name == name)
    }
}
