//! Facts about component instances and what flows between them, for the questions only the
//! project can answer (what an instance is, what its class does): direct `x.forward(...)`
//! calls, a component's output handed to a loss (does a probability reach a loss that expects
//! logits, across files?), `model.eval()`/`train()` mode switches, calls that run a training
//! loop and seed the generators, and the instances handed to project functions (so that a
//! parameter can be resolved to what its callers pass).
//!
//! Everything here is read from calls the builder already recorded; nothing walks the tree.

use ruff_python_ast::{self as ast, Expr, ExprCall};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::{AssignValue, CallRec, Resolver};
use crate::knowledge::ApiKind;
use crate::semantic::activation;
use crate::semantic::facts::*;

/// At most this many assignments are followed back from a value (`out = model(x)`, then
/// `logits = out.view(...)`).
const MAX_VALUE_DEPTH: u8 = 3;

impl<'a> Resolver<'_, 'a> {
    /// The canonical qualified name of a callee expression, through the imports.
    fn canonical(&self, expr: &Expr) -> Option<String> {
        let q = self.semantic.resolve(expr)?;
        Some(self.knowledge().into_canonical(q))
    }

    /// A constructor whose instances are components worth following: a class the project may
    /// define, a framework layer or model, a loss class, or a framework trainer.
    fn is_component_ctor(&self, ctor: &Callee) -> bool {
        if self.is_project_ctor(ctor) {
            return true;
        }
        let Callee::Qualified(q) = ctor else {
            return false;
        };
        let knowledge = self.knowledge();
        let canonical = knowledge.canonical(q);
        matches!(
            knowledge.classify_call(&canonical),
            Some(ApiKind::Layer | ApiKind::LossClass)
        ) || knowledge.module_wrappers.contains(&canonical)
            || knowledge.training.seeding.trainers.contains(&canonical)
            || knowledge
                .training
                .tf_memory
                .model_builders
                .contains(&canonical)
    }

    /// True if `name` is a parameter of the function of `scope` that is not rebound before
    /// `at` (`self`/`cls` excluded).
    fn is_unbound_param(&self, scope: usize, name: &str, at: TextSize) -> bool {
        let draft = &self.builder.scopes[scope];
        draft.function.is_some()
            && !matches!(name, "self" | "cls")
            && draft.params.contains(&name)
            && draft.last_reaching(name, at).is_none()
    }

    /// A reference to parameter `name` of the function of `scope`.
    fn param_ref(&self, scope: usize, name: &str) -> InstanceRef {
        InstanceRef::Param {
            name: name.into(),
            position: self.builder.scopes[scope].position_of(name),
        }
    }

    /// The component instance `expr` refers to, if the file can name it.
    pub(crate) fn instance_ref(
        &self,
        scope: usize,
        expr: &'a Expr,
        at: TextSize,
        depth: u8,
    ) -> Option<InstanceRef> {
        if depth > MAX_VALUE_DEPTH {
            return None;
        }
        match expr {
            Expr::Name(name) => {
                let id = name.id.as_str();
                if self.is_unbound_param(scope, id, at) {
                    return Some(self.param_ref(scope, id));
                }
                match self.name_callee(scope, id, at, 0)? {
                    Callee::InstanceOf(ctor) if self.is_component_ctor(&ctor) => {
                        Some(InstanceRef::Built(*ctor))
                    }
                    _ => None,
                }
            }
            Expr::Attribute(attr) if matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self") => {
                match self.self_member(scope, attr.attr.as_str()) {
                    Callee::InstanceOf(ctor) if self.is_component_ctor(&ctor) => {
                        Some(InstanceRef::Built(*ctor))
                    }
                    Callee::SelfMember(name) if !self.is_own_method(scope, &name) => {
                        Some(InstanceRef::SelfAttr(name))
                    }
                    _ => None,
                }
            }
            Expr::Call(call) => match self.strip_self_returning(call) {
                Ok(call) => {
                    let ctor = self.callee(scope, &call.func, at)?;
                    self.is_component_ctor(&ctor)
                        .then_some(InstanceRef::Built(ctor))
                }
                Err(receiver) => self.instance_ref(scope, receiver, at, depth + 1),
            },
            _ => None,
        }
    }

    /// The component whose call produced `value`: `model(x)`, `self.net(x)`, or a name last
    /// bound (unconditionally) to such a call, through shape-keeping tensor methods
    /// (`model(x).view(-1, n)`).
    fn output_of(
        &self,
        scope: usize,
        value: &'a Expr,
        at: TextSize,
        depth: u8,
    ) -> Option<InstanceRef> {
        if depth > MAX_VALUE_DEPTH {
            return None;
        }
        match value {
            Expr::Call(call) => {
                if let Some(receiver) = self.passthrough_receiver(&call.func) {
                    return self.output_of(scope, receiver, at, depth + 1);
                }
                if matches!(&*call.func, Expr::Name(n) if n.id.as_str() == "self") {
                    return None;
                }
                // `model(x)`, or `model.forward(x)` (a direct forward call, but the same output).
                let evaluation = &self.knowledge().training.evaluation;
                let called = match &*call.func {
                    Expr::Attribute(attr)
                        if evaluation
                            .forward_methods
                            .iter()
                            .chain(&evaluation.keras_forward_methods)
                            .any(|m| m == attr.attr.as_str())
                            && !matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self") =>
                    {
                        &*attr.value
                    }
                    other => other,
                };
                let instance = match called {
                    Expr::Name(_) | Expr::Attribute(_) => {
                        self.instance_ref(scope, called, call.start(), depth + 1)?
                    }
                    _ => return None,
                };
                // Only what the project must resolve: local layers are the in-file rules' job.
                match &instance {
                    InstanceRef::Built(ctor) if !self.is_project_ctor(ctor) => None,
                    _ => Some(instance),
                }
            }
            Expr::Name(name) => {
                let (value, at) = self.assigned_value(scope, name.id.as_str(), at)?;
                self.output_of(scope, value, at, depth + 1)
            }
            _ => None,
        }
    }

    /// `x.view(...)`, `x.float()`: a tensor method that keeps what `x` is; gives `x`.
    fn passthrough_receiver(&self, func: &'a Expr) -> Option<&'a Expr> {
        let Expr::Attribute(attr) = func else {
            return None;
        };
        let keeps = self
            .knowledge()
            .training
            .activations
            .passthrough_methods
            .iter()
            .any(|m| m == attr.attr.as_str());
        (keeps && !self.semantic.resolves(func)).then_some(&*attr.value)
    }

    /// The value of the last assignment `name = <value>` before `at` in `scope`, and where that
    /// statement starts, if the assignment is not conditional or augmented.
    fn assigned_value(
        &self,
        scope: usize,
        name: &str,
        at: TextSize,
    ) -> Option<(&'a Expr, TextSize)> {
        let rec = self.builder.scopes[scope].last_reaching(name, at)?;
        if rec.cond.is_some_and(|c| !c.contains(at)) || rec.aug {
            return None;
        }
        match rec.value {
            AssignValue::Expr(value) => Some((value, rec.stmt.start())),
            _ => None,
        }
    }

    /// A method call on a value (`model.forward(x)`, `model.eval()`, `trainer.fit(model)`,
    /// `generator.manual_seed(0)`): the facts the training rules need.
    pub(super) fn note_method_call(
        &self,
        scope: usize,
        rec: &CallRec<'a>,
        receiver: &'a Expr,
        name: &str,
        facts: &mut ScopeFacts,
    ) {
        let call = rec.call;
        let knowledge = self.knowledge();
        let at = call.start();
        // `strategy.run(train_step, args=...)`, `pool.map(worker, jobs)`: run there.
        self.note_passed_functions(scope, rec, facts);
        let text = || {
            ast::name::UnqualifiedName::from_expr(receiver)
                .map(|n| n.to_string())
                .unwrap_or_else(|| "<expr>".to_string())
        };
        let evaluation = &knowledge.training.evaluation;
        let seeding = &knowledge.training.seeding;
        let is = |list: &[String]| list.iter().any(|m| m == name);
        // `dataset.shuffle(1000)`, `env.action_space.sample()`.
        if is(&seeding.random_methods) && !facts.flow().draws_random {
            facts.flow_mut().draws_random = true;
        }
        let forward = is(&evaluation.forward_methods) || is(&evaluation.keras_forward_methods);
        let eval = is(&evaluation.eval_methods);
        let train = is(&evaluation.train_methods);
        let run = is(&seeding.run_methods);
        // A method of a component the project may define: the training model follows it.
        let followed = matches!(receiver, Expr::Name(_) | Expr::Attribute(_))
            && !is(&knowledge.training.steps.not_followed_methods)
            && !is(&evaluation.module_methods);
        if !(forward || eval || train || run || followed || is(&evaluation.module_methods))
            && name != "compile"
            && !is(&seeding.seed_methods)
        {
            return;
        }
        // Resolved once, for every fact below that needs it.
        let instance = self.instance_ref(scope, receiver, at, 0);
        if followed
            && !forward
            && let Some(found) = &instance
            && match found {
                InstanceRef::Built(ctor) => self.is_project_ctor(ctor),
                InstanceRef::Param { .. } | InstanceRef::SelfAttr(_) => true,
            }
        {
            facts.flow_mut().method_calls.push(MethodCall {
                receiver: found.clone(),
                method: name.into(),
                range: call.range(),
                in_loop: rec.in_loop,
            });
        }
        if (eval || train || is(&evaluation.module_methods))
            && let Some(found @ (InstanceRef::Param { .. } | InstanceRef::SelfAttr(_))) = &instance
            && !facts.flow().module_receivers.contains(found)
        {
            facts.flow_mut().module_receivers.push(found.clone());
        }
        if forward {
            // `super().forward(x)` and `Base.forward(self, x)` run the parent's code on purpose.
            let is_super = matches!(receiver, Expr::Call(c)
                if matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "super"));
            if !is_super
                && let Some(instance) = instance.clone()
                && let Expr::Attribute(attr) = &*call.func
            {
                facts.flow_mut().forward_calls.push(ForwardCall {
                    receiver: instance,
                    method: name.into(),
                    text: text().into(),
                    range: call.range(),
                    attribute: TextRange::new(receiver.end(), attr.end()),
                });
            }
        } else if eval && call.arguments.is_empty() {
            facts.flow_mut().mode_calls.push(ModeCall {
                eval: true,
                receiver: instance.clone(),
                text: text().into(),
                range: call.range(),
                in_loop: rec.in_loop,
            });
        } else if train {
            let argument = call
                .arguments
                .args
                .first()
                .or_else(|| call.arguments.keywords.first().map(|k| &k.value));
            let eval = matches!(argument, Some(Expr::BooleanLiteral(b)) if !b.value);
            facts.flow_mut().mode_calls.push(ModeCall {
                eval,
                receiver: instance.clone(),
                text: text().into(),
                range: call.range(),
                in_loop: rec.in_loop,
            });
        }
        if name == "compile" {
            self.note_compiled_loss(call, instance.as_ref(), facts);
        }
        if run && let Some(instance) = instance {
            facts.flow_mut().run_calls.push(RunCall {
                receiver: instance,
                method: name.into(),
                range: call.range(),
            });
        } else if is(&seeding.seed_methods) && !call.arguments.is_empty() {
            facts.api_calls.push(ApiUse {
                kind: ApiKind::Seed,
                name: name.into(),
                range: call.range(),
                in_loop: rec.in_loop,
                in_compile: false,
                on_data: false,
            });
        }
    }

    /// A library call that turns gradients off (`torch.no_grad()`), or that builds or runs a
    /// layer whose behaviour depends on the training mode (`nn.Dropout(0.5)`,
    /// `nn.LSTM(..., dropout=0.3)`, `F.dropout(x)`).
    fn note_modes(&self, call: &'a ExprCall, qualified: &str, facts: &mut ScopeFacts) {
        let knowledge = self.knowledge();
        let canonical = knowledge.canonical(qualified);
        let evaluation = &knowledge.training.evaluation;
        let flags = knowledge.call_flags(&canonical);
        if !facts.flow().turns_grad_off && flags.turns_grad_off() {
            facts.flow_mut().turns_grad_off = true;
        }
        if !facts.flow().draws_random {
            let seeding = &knowledge.training.seeding;
            let initialised = flags.initialises_randomly()
                && knowledge.classify_call(&canonical) == Some(ApiKind::Layer);
            let shuffles = call.arguments.keywords.iter().any(|k| {
                k.arg
                    .as_ref()
                    .is_some_and(|a| seeding.shuffle_keywords.iter().any(|s| s == a.as_str()))
                    && !matches!(&k.value, Expr::BooleanLiteral(b) if !b.value)
            });
            if initialised || shuffles || flags.draws_random() {
                facts.flow_mut().draws_random = true;
            }
        }
        if facts.flow().mode_layers {
            return;
        }
        let layer_with_rate = || {
            knowledge.classify_call(&canonical) == Some(ApiKind::Layer)
                && call.arguments.keywords.iter().any(|k| {
                    k.arg
                        .as_ref()
                        .is_some_and(|a| evaluation.mode_keywords.iter().any(|m| m == a.as_str()))
                        && !matches!(&k.value, Expr::NoneLiteral(_) | Expr::BooleanLiteral(_))
                        && !matches!(&k.value, Expr::NumberLiteral(n) if is_zero(&n.value))
                })
        };
        if flags.is_mode_layer() || layer_with_rate() {
            facts.flow_mut().mode_layers = true;
        }
    }

    /// A call of a function or an instance: instances handed to project callees, component
    /// outputs handed to losses, `self.<method>()` in loops, seeding helpers of other libraries.
    pub(super) fn note_call(
        &self,
        scope: usize,
        rec: &CallRec<'a>,
        callee: &Callee,
        facts: &mut ScopeFacts,
    ) {
        let call = rec.call;
        let knowledge = self.knowledge();
        if let Callee::Qualified(q) = callee {
            self.note_modes(call, q, facts);
        }
        if let Expr::Attribute(attr) = &*call.func
            && matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self")
        {
            facts.self_calls.push(SelfCall {
                method: attr.attr.as_str().into(),
                range: call.range(),
                in_loop: rec.in_loop,
            });
        }
        self.note_passed_functions(scope, rec, facts);
        match callee {
            Callee::Qualified(q)
                if knowledge.is_external_from(q, self.semantic.package.as_deref()) =>
            {
                // `mmcv.runner.set_random_seed(0)`: a library's seeding helper.
                let last = activation::last_segment(q);
                if !call.arguments.is_empty()
                    && self.api_kind(callee).is_none()
                    && knowledge
                        .training
                        .seeding
                        .seed_methods
                        .iter()
                        .any(|m| m == last)
                {
                    facts.api_calls.push(ApiUse {
                        kind: ApiKind::Seed,
                        name: knowledge.canonical(q).into_owned().into(),
                        range: call.range(),
                        in_loop: rec.in_loop,
                        in_compile: false,
                        on_data: false,
                    });
                }
            }
            Callee::Qualified(_) | Callee::Local(_) => {
                self.note_instance_args(scope, call, callee, facts)
            }
            _ => {}
        }
        self.note_loss_inputs(scope, call, callee, facts);
    }

    /// Project functions passed by name to a call that runs them (`app.run(main)`).
    fn note_passed_functions(&self, scope: usize, rec: &CallRec<'a>, facts: &mut ScopeFacts) {
        let call = rec.call;
        let arguments = call
            .arguments
            .args
            .iter()
            .chain(call.arguments.keywords.iter().map(|k| &k.value));
        for argument in arguments.take(16) {
            let Expr::Name(name) = argument else { continue };
            // Only a function of this file or an import can name a project function; the
            // (costlier) resolution below also sees local rebinding.
            let id = name.id.as_str();
            if !self.module_functions.contains(id) && self.semantic.imports.get(id).is_none() {
                continue;
            }
            let callee = match self.name_callee(scope, id, call.start(), 0) {
                // A function of this file (a class handed on is not run: `isinstance(x, Net)`).
                Some(Callee::Local(local)) if self.module_functions.contains(local.as_str()) => {
                    Callee::Local(local)
                }
                Some(Callee::Qualified(q))
                    if !self
                        .knowledge()
                        .is_external_from(&q, self.semantic.package.as_deref()) =>
                {
                    Callee::Qualified(q)
                }
                _ => continue,
            };
            facts.flow_mut().passed_functions.push(ProjectCall {
                callee,
                range: argument.range(),
                in_loop: rec.in_loop,
            });
        }
    }

    /// Component instances handed to a project function or class (`train(model, ...)`).
    fn note_instance_args(
        &self,
        scope: usize,
        call: &'a ExprCall,
        callee: &Callee,
        facts: &mut ScopeFacts,
    ) {
        let at = call.start();
        // Built instances, and parameters handed on (`train(model)` inside `main(model)`):
        // those resolve through the callers of the function they belong to.
        let built = |expr: &'a Expr| match self.instance_ref(scope, expr, at, 0)? {
            found @ (InstanceRef::Built(_) | InstanceRef::Param { .. }) => Some(found),
            InstanceRef::SelfAttr(_) => None,
        };
        for (i, arg) in call.arguments.args.iter().enumerate().take(16) {
            if arg.is_starred_expr() {
                break;
            }
            if let Some(instance) = built(arg) {
                facts.flow_mut().instance_args.push(InstanceArg {
                    callee: callee.clone(),
                    position: Some(i as u32),
                    keyword: None,
                    instance,
                });
            }
        }
        for keyword in call.arguments.keywords.iter().take(16) {
            let Some(name) = &keyword.arg else { continue };
            if let Some(instance) = built(&keyword.value) {
                facts.flow_mut().instance_args.push(InstanceArg {
                    callee: callee.clone(),
                    position: None,
                    keyword: Some(name.as_str().into()),
                    instance,
                });
            }
        }
    }

    /// Keras `model.compile(loss=SparseCategoricalCrossentropy(from_logits=True))`: the loss
    /// gets the model's output, whatever the model is.
    fn note_compiled_loss(
        &self,
        call: &'a ExprCall,
        model: Option<&InstanceRef>,
        facts: &mut ScopeFacts,
    ) {
        let Some(loss) = call.arguments.find_keyword("loss") else {
            return;
        };
        let Expr::Call(ctor) = &loss.value else {
            return;
        };
        let Some(canonical) = self.canonical(&ctor.func) else {
            return;
        };
        let Some(spec) = activation::loss_spec(self.knowledge(), &canonical, ctor) else {
            return;
        };
        let Some(producer) = model.cloned() else {
            return;
        };
        if let InstanceRef::Built(ctor) = &producer
            && !self.is_project_ctor(ctor)
        {
            return;
        }
        facts.flow_mut().outputs_to_losses.push(OutputToLoss {
            producer,
            sink: LossSink::Api {
                name: spec.name.into(),
                expects: spec.expects,
            },
            position: spec.position as u32,
            argument: loss.value.range(),
        });
    }

    /// The loss a call computes, as far as the file knows: a loss API with its prediction
    /// argument, or a callable the project must resolve. Callables the file cannot resolve (a
    /// `criterion` parameter, `self.loss_fn` handed in, a project Loss class) are kept only when
    /// named like a loss: that bounds the facts (every `self.block(x)` would otherwise be one);
    /// it proves nothing — the project rule resolves the callable before reporting.
    fn loss_sink(
        &self,
        scope: usize,
        call: &'a ExprCall,
        callee: &Callee,
    ) -> Option<(LossSink, Option<(usize, &'static str)>)> {
        let knowledge = self.knowledge();
        match callee {
            Callee::Qualified(q) => {
                let canonical = knowledge.canonical(q);
                if activation::is_class_name(&canonical) {
                    return None;
                }
                let spec = activation::loss_spec(knowledge, &canonical, call)?;
                Some((
                    LossSink::Api {
                        name: spec.name.into(),
                        expects: spec.expects,
                    },
                    Some((spec.position, spec.keyword)),
                ))
            }
            Callee::InstanceOf(ctor) => match &**ctor {
                Callee::Qualified(q) => {
                    let canonical = knowledge.canonical(q);
                    let spec = activation::loss_spec(knowledge, &canonical, call)?;
                    Some((
                        LossSink::Api {
                            name: spec.name.into(),
                            expects: spec.expects,
                        },
                        Some((spec.position, spec.keyword)),
                    ))
                }
                other
                    if self.is_project_instance(callee)
                        && knowledge.is_loss_class_name(other.name()) =>
                {
                    Some((LossSink::Instance(InstanceRef::Built(other.clone())), None))
                }
                _ => None,
            },
            Callee::SelfMember(name) if knowledge.is_loss_callee(name) => {
                Some((LossSink::Instance(InstanceRef::SelfAttr(*name)), None))
            }
            Callee::Variable(name) if knowledge.is_loss_callee(name) => {
                Some((LossSink::Instance(self.param_ref(scope, name)), None))
            }
            _ => None,
        }
    }

    /// Component outputs handed to a loss, and parameters handed to one unchanged.
    fn note_loss_inputs(
        &self,
        scope: usize,
        call: &'a ExprCall,
        callee: &Callee,
        facts: &mut ScopeFacts,
    ) {
        if call.arguments.args.is_empty() && call.arguments.keywords.is_empty() {
            return;
        }
        let Some((sink, spot)) = self.loss_sink(scope, call, callee) else {
            return;
        };
        if let LossSink::Instance(InstanceRef::Param { name, .. }) = &sink
            && !self.is_unbound_param(scope, name, call.start())
        {
            return;
        }
        let at = call.start();
        let arguments: Vec<(u32, &'a Expr)> = match spot {
            Some((position, keyword)) => call
                .arguments
                .find_argument_value(keyword, position)
                .map(|a| vec![(position as u32, a)])
                .unwrap_or_default(),
            None => call
                .arguments
                .args
                .iter()
                .take(2)
                .enumerate()
                .map(|(i, a)| (i as u32, a))
                .collect(),
        };
        for (position, argument) in arguments {
            if let Some(producer) = self.output_of(scope, argument, at, 0) {
                facts.flow_mut().outputs_to_losses.push(OutputToLoss {
                    producer,
                    sink: sink.clone(),
                    position,
                    argument: argument.range(),
                });
            } else if let LossSink::Api { expects, .. } = &sink
                && let Expr::Name(param) = argument
                && self.is_unbound_param(scope, param.id.as_str(), at)
                && let Some(position) = self.builder.scopes[scope].position_of(param.id.as_str())
            {
                facts.flow_mut().params_to_losses.push(ParamToLoss {
                    position,
                    name: param.id.as_str().into(),
                    expects: *expects,
                });
            }
        }
    }

    /// The activation every value `function` returns went through, if they all agree: a
    /// Model whose `forward` ends in `F.softmax(...)`, `self.softmax(x)` with
    /// `self.softmax = nn.Softmax(dim=1)`, or a `Sequential` ending in one. A `forward` that
    /// returns logits while training and probabilities otherwise is not one.
    pub(super) fn returns_activation(&self, scope: usize) -> Option<Activation> {
        let draft = &self.builder.scopes[scope];
        let mut found: Option<Activation> = None;
        for (value, _) in &draft.returns {
            let act = self.activation_of(scope, value, value.start(), 0)?;
            if found.is_some_and(|f| f != act) {
                return None;
            }
            found = Some(act);
        }
        found
    }

    fn activation_of(
        &self,
        scope: usize,
        value: &'a Expr,
        at: TextSize,
        depth: u8,
    ) -> Option<Activation> {
        if depth > MAX_VALUE_DEPTH {
            return None;
        }
        let knowledge = self.knowledge();
        match value {
            Expr::Call(call) => {
                if let Some(canonical) = self.canonical(&call.func) {
                    return activation::function_activation(knowledge, &canonical);
                }
                let Expr::Attribute(attr) = &*call.func else {
                    return None;
                };
                let on_self = matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self");
                if !on_self {
                    if let Some(act) = activation::method_activation(knowledge, attr.attr.as_str())
                    {
                        return Some(act);
                    }
                    let receiver = self.passthrough_receiver(&call.func)?;
                    return self.activation_of(scope, receiver, at, depth + 1);
                }
                // `self.softmax(x)`, `self.head(x)`: an attribute built as an activation layer.
                let class = self.builder.scopes[scope].class?;
                let (_, value, _, _) = self.builder.classes[class as usize]
                    .attrs
                    .iter()
                    .rev()
                    .find(|(n, _, _, _)| *n == attr.attr.as_str())?;
                let Expr::Call(ctor) = value else {
                    return None;
                };
                let resolve = |e: &Expr| self.canonical(e);
                match activation::construct(knowledge, &resolve, &|_| None, ctor, 0)? {
                    activation::Built::Activation { act, .. } => Some(act),
                    activation::Built::Loss(_) => None,
                }
            }
            Expr::Name(name) => {
                let (value, at) = self.assigned_value(scope, name.id.as_str(), at)?;
                self.activation_of(scope, value, at, depth + 1)
            }
            _ => None,
        }
    }
}

/// `0`, `0.0`.
fn is_zero(number: &ast::Number) -> bool {
    match number {
        ast::Number::Int(i) => i.as_u64() == Some(0),
        ast::Number::Float(f) => *f == 0.0,
        ast::Number::Complex { .. } => false,
    }
}
