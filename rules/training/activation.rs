//! Shared by DL506, DL507 and DL509: which values came out of a softmax, a log-softmax or a
//! sigmoid, and where those values meet a loss or a logarithm.
//!
//! The tracking is simple local data flow: the statements of each function (and of the module)
//! are read in order; a name is bound to an activation output by an assignment
//! (`probs = F.softmax(logits, -1)`) and loses it when it is bound again
//! (`probs = probs.clamp(min=1e-6)`). Callables are tracked the same way: a loss instance
//! (`criterion = nn.CrossEntropyLoss()`), an activation layer (`act = nn.Softmax(dim=1)`) or a
//! `Sequential` whose last layer is one, bound to a local name or to `self.<attr>` in any
//! method of the class. Names alone never decide: every API is resolved through the imports.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use ruff_python_ast::ExprCall;
use ruff_python_ast::visitor::{self, Visitor};

use crate::knowledge::Knowledge;
use crate::registry::prelude::*;
use crate::semantic::Semantic;
use crate::semantic::activation::{self, Built, in_list, is_class_name};

use crate::semantic::activation::LossSpec;
pub use crate::semantic::facts::{Activation, Expects};

/// Where a value got its activation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Origin {
    pub act: Activation,
    /// The call that applied the activation.
    pub range: TextRange,
    /// The value is the output of calling an instance of a class of this file (its `forward`
    /// returns it): the project half of DL506/DL507 already follows those into losses.
    pub via_instance: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Binding<'a> {
    /// A tensor that came out of an activation.
    Value(Origin),
    /// A tuple whose elements came out of activations (`validity, label = discriminator(x)`
    /// unpacks it).
    Tuple(Vec<Option<Origin>>),
    /// A callable whose output is an activation output (a layer, or a model when `model`).
    Activation { origin: Origin, model: bool },
    /// A loss instance.
    Loss(LossSpec),
    /// An instance of a class of this file.
    Instance(&'a str),
}

/// What a function of this file returns, when every `return` gives the same activation (or a
/// tuple whose elements do).
#[derive(Debug, Clone, PartialEq)]
enum Returned {
    Single(Origin),
    Tuple(Vec<Option<Origin>>),
}

/// A logarithm a helper takes of one of its parameters.
#[derive(Debug, Clone, PartialEq)]
struct HelperLog {
    function: String,
    argument: TextRange,
    complement: bool,
}

/// A function of the file: its class (`""` for a function outside any class) and its name.
type FnKey<'a> = (&'a str, &'a str);

/// What the first passes learn about the file's functions and classes.
#[derive(Debug, Default)]
struct Summaries<'a> {
    classes: HashSet<&'a str>,
    returns: HashMap<FnKey<'a>, Returned>,
    /// Helpers that hand a parameter straight to a loss as its prediction
    /// (`def adversarial_loss(self, y_hat, y): return F.binary_cross_entropy(y_hat, y)`): the
    /// parameter's position (`self` counted), the loss, and the loss's argument.
    loss_params: HashMap<FnKey<'a>, Vec<(usize, LossSpec, TextRange)>>,
    /// Helpers that take the logarithm of a parameter, or of one minus it, unguarded
    /// (`def bce(p, y): return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))`): the
    /// parameter's position (`self` counted) and the [`HelperLog`].
    log_params: HashMap<FnKey<'a>, Vec<(usize, HelperLog)>>,
    /// The instance of a class of this file each call of a function of the file passes for a
    /// positional parameter (`None` once a call passes something else): `make_step(model, x)`
    /// with `model = RNN(...)` makes `model` an `RNN` inside `make_step`.
    param_instances: HashMap<FnKey<'a>, HashMap<usize, Option<&'a str>>>,
    /// Module-level names bound to an instance, a layer or a loss.
    globals: HashMap<&'a str, Binding<'a>>,
    /// The `self.<attr>` callables of each class of this file.
    class_attrs: HashMap<&'a str, HashMap<&'a str, Binding<'a>>>,
}

/// The keys of [`Summaries`] a pass looked up (found or not). The walk reads the summaries
/// only through these lookups, so a pass whose every lookup would give the same answer from
/// what it learned is the fixpoint: the next pass would read the same, walk the same, learn
/// the same and find the same events.
#[derive(Default)]
struct Consulted<'a> {
    globals: HashSet<&'a str>,
    class_attrs: HashSet<&'a str>,
    returns: HashSet<FnKey<'a>>,
    loss_params: HashSet<FnKey<'a>>,
    log_params: HashSet<FnKey<'a>>,
    param_instances: HashSet<FnKey<'a>>,
}

impl<'a> Consulted<'a> {
    /// Every key this pass looked up reads the same in `next` as in `seen`.
    fn agree(&self, seen: &Summaries<'a>, next: &Summaries<'a>) -> bool {
        fn same<K: std::hash::Hash + Eq, V: PartialEq>(
            keys: &HashSet<K>,
            a: &HashMap<K, V>,
            b: &HashMap<K, V>,
        ) -> bool {
            keys.iter().all(|k| a.get(k) == b.get(k))
        }
        same(&self.globals, &seen.globals, &next.globals)
            && same(&self.class_attrs, &seen.class_attrs, &next.class_attrs)
            && same(&self.returns, &seen.returns, &next.returns)
            && same(&self.loss_params, &seen.loss_params, &next.loss_params)
            && same(&self.log_params, &seen.log_params, &next.log_params)
            && self.param_instances.iter().all(|k| {
                instances(seen.param_instances.get(k)) == instances(next.param_instances.get(k))
            })
    }
}

/// The parameters a function's calls all pass one instance for, by position: all the walk
/// reads of [`Summaries::param_instances`] (a slot two calls disagree on is read as absent).
fn instances<'a>(slots: Option<&HashMap<usize, Option<&'a str>>>) -> Vec<(usize, &'a str)> {
    let mut known: Vec<(usize, &'a str)> = slots
        .into_iter()
        .flatten()
        .filter_map(|(position, class)| Some((*position, (*class)?)))
        .collect();
    known.sort_unstable();
    known
}

/// Note `key` as looked up in `set`.
fn note<K: std::hash::Hash + Eq>(set: &mut HashSet<K>, key: K) {
    set.insert(key);
}

/// The function being read.
struct FnFrame<'a> {
    key: FnKey<'a>,
    /// Positional parameters (`self` included).
    params: Vec<&'a str>,
    /// Each `return`'s value: `None` for a return without an activation.
    returns: Vec<Option<Returned>>,
    /// Names the function binds (they are its locals, not the module's).
    assigned: HashSet<&'a str>,
}

/// Where an activation output meets a loss or a logarithm.
#[derive(Debug, Clone)]
pub enum Event {
    /// A loss gets an activation output as its prediction.
    Loss {
        kind: Expects,
        name: String,
        /// The prediction argument.
        argument: TextRange,
        origin: Origin,
    },
    /// A logarithm of an activation output; `direct` when the activation call is the argument
    /// itself (`torch.log(F.softmax(x, -1))`).
    Log {
        function: String,
        argument: TextRange,
        origin: Origin,
        direct: bool,
        /// `log(1 - p)`: the complement of the probability.
        complement: bool,
    },
    /// A Keras model whose output layer is a softmax compiled with a `from_logits=True` loss.
    Compile {
        name: String,
        loss: TextRange,
        origin: Origin,
    },
}

/// The events of one file, shared by DL506, DL507 and DL509 through the file's context.
struct FileEvents(std::rc::Rc<Vec<Event>>);

/// Every [`Event`] in the file, in source order, computed once per file (the first of DL506,
/// DL507 and DL509 to ask walks the file; the others reuse the result).
pub fn events(cx: &Context<'_, '_>) -> std::rc::Rc<Vec<Event>> {
    cx.shared(|cx| FileEvents(std::rc::Rc::new(walk(cx))))
        .0
        .clone()
}

/// The walk behind [`events`]. Files that import none of the frameworks, never spell an
/// activation, or never spell a listed loss or logarithm, are skipped.
fn walk<'a>(cx: &Context<'a, '_>) -> Vec<Event> {
    let knowledge = cx.knowledge;
    let text = cx.text();
    // The text spells every name as the parser reads it, unless an identifier is written in
    // compatibility forms (`ｓｏｆｔｍａｘ`, which Python reads as `softmax`).
    let plain = !cx.spells_names_in_compatibility_forms();
    if plain
        && !knowledge
            .training
            .activations
            .words
            .iter()
            .any(|w| memchr::memmem::find(text.as_bytes(), w.as_bytes()).is_some())
    {
        return Vec::new();
    }
    // Every event is an activation's output meeting a listed loss or logarithm of this file.
    let sinks = &knowledge.training.losses.sink_words;
    if plain
        && !sinks.is_empty()
        && !sinks
            .iter()
            .any(|w| crate::source::contains_word(text.as_bytes(), w.as_bytes()))
    {
        return Vec::new();
    }
    let relevant = &knowledge.training.activations.frameworks;
    let imports_framework = cx.module.body.iter().any(|stmt| match stmt {
        Stmt::Import(import) => import.names.iter().any(|alias| {
            let name = knowledge.canonical(alias.name.as_str());
            relevant
                .iter()
                .any(|r| r == name.split('.').next().unwrap_or_default())
        }),
        Stmt::ImportFrom(import) => import.module.as_ref().is_some_and(|module| {
            let name = knowledge.canonical(module.as_str());
            relevant
                .iter()
                .any(|r| r == name.split('.').next().unwrap_or_default())
        }),
        _ => false,
    });
    if !imports_framework {
        return Vec::new();
    }
    let mut summaries = Summaries {
        classes: cx
            .module
            .body
            .iter()
            .filter_map(|stmt| match stmt {
                Stmt::ClassDef(class) => Some(class.name.as_str()),
                _ => None,
            })
            .collect(),
        ..Summaries::default()
    };
    // Two passes learn what the file's functions return (a helper may be defined after its
    // caller), the last one reports. A pass ends the walk early when what it learned answers
    // every lookup it made as what it read did: the walks after it would read the same
    // summaries and find the same events.
    for pass in 0..3 {
        let mut walker = Walker {
            knowledge,
            semantic: cx.semantic,
            summaries: &summaries,
            locals: vec![HashMap::default()],
            attrs: vec![HashMap::default()],
            classes: vec![None],
            functions: Vec::new(),
            learned: Summaries::default(),
            events: Vec::new(),
            consulted: std::cell::RefCell::default(),
        };
        walker.visit_body(&cx.module.body);
        if pass == 2 {
            return walker.events;
        }
        let globals: HashMap<&'a str, Binding<'a>> = walker.locals[0]
            .iter()
            .filter(|(_, b)| !matches!(b, Binding::Value(_) | Binding::Tuple(_)))
            .map(|(n, b)| (*n, b.clone()))
            .collect();
        let mut learned = walker.learned;
        learned.globals = globals;
        if walker.consulted.borrow().agree(&summaries, &learned) {
            return walker.events;
        }
        summaries.returns = learned.returns;
        summaries.loss_params = learned.loss_params;
        summaries.log_params = learned.log_params;
        summaries.param_instances = learned.param_instances;
        summaries.class_attrs = learned.class_attrs;
        summaries.globals = learned.globals;
    }
    Vec::new()
}

/// `'a`: the names it keeps (of the file and of the knowledge); `'m`: the semantic model's.
struct Walker<'w, 'a, 'm> {
    knowledge: &'a Knowledge,
    semantic: &'w Semantic<'m>,
    /// What the earlier passes learned.
    summaries: &'w Summaries<'a>,
    /// One map per function being read (innermost last).
    locals: Vec<HashMap<&'a str, Binding<'a>>>,
    /// `self.<attr>` callables of each enclosing class (innermost last).
    attrs: Vec<HashMap<&'a str, Binding<'a>>>,
    /// The class whose body is being read (`None` outside classes), innermost last.
    classes: Vec<Option<&'a str>>,
    functions: Vec<FnFrame<'a>>,
    /// What this pass learns, for the next.
    learned: Summaries<'a>,
    events: Vec<Event>,
    /// What this pass looked up in `summaries`.
    consulted: std::cell::RefCell<Consulted<'a>>,
}

impl<'a> Walker<'_, 'a, '_> {
    fn qualified(&self, expr: &'a Expr) -> Option<String> {
        let q = self.semantic.resolve(expr)?;
        Some(self.knowledge.into_canonical(q))
    }

    /// What a name holds: a binding of the function being read, or — for a name the function
    /// never binds — a module-level instance, layer or loss (a notebook's global `model`).
    fn local(&self, name: &'a str) -> Option<&Binding<'a>> {
        if let Some(found) = self.locals.last().and_then(|scope| scope.get(name)) {
            return Some(found);
        }
        let frame = self.functions.last()?;
        if frame.assigned.contains(name) {
            return None;
        }
        note(&mut self.consulted.borrow_mut().globals, name);
        self.summaries.globals.get(name)
    }

    /// The callable `func` stands for: a local name, `self.<attr>`, or an attribute of an
    /// instance of a class of this file (`model.discriminator`).
    fn callable(&self, func: &'a Expr) -> Option<&Binding<'a>> {
        match func {
            Expr::Name(name) => self.local(name.id.as_str()),
            Expr::Attribute(attr) => match &*attr.value {
                Expr::Name(base) if base.id.as_str() == "self" => {
                    self.attrs.last().and_then(|a| a.get(attr.attr.as_str()))
                }
                Expr::Name(base) => match self.local(base.id.as_str())? {
                    Binding::Instance(class) => {
                        note(&mut self.consulted.borrow_mut().class_attrs, *class);
                        self.summaries
                            .class_attrs
                            .get(class)
                            .and_then(|attrs| attrs.get(attr.attr.as_str()))
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    /// What a constructor call builds, when it is a callable we track.
    fn construct(&self, call: &'a ExprCall) -> Option<Binding<'a>> {
        let resolve = |expr: &'a Expr| self.qualified(expr);
        // A layer held in a variable (`sigmoid = nn.Sigmoid()`) as a `Sequential`'s last.
        let named = |expr: &'a Expr| match self.callable(expr)? {
            Binding::Activation { origin, model } => Some(Built::Activation {
                act: origin.act,
                range: origin.range,
                model: *model,
            }),
            _ => None,
        };
        Some(
            match activation::construct(self.knowledge, &resolve, &named, call, 0)? {
                Built::Activation { act, range, model } => Binding::Activation {
                    origin: Origin {
                        act,
                        range,
                        via_instance: false,
                    },
                    model,
                },
                Built::Loss(spec) => Binding::Loss(spec),
            },
        )
    }

    /// The class of the method being read (`self` is an instance of it).
    fn method_class(&self) -> Option<&'a str> {
        self.functions
            .last()
            .map(|f| f.key.0)
            .filter(|c| !c.is_empty())
    }

    /// An instance of a class of this file built by `call`: `Net(...)`, `Net().to(device)`.
    fn instance(&self, call: &'a ExprCall) -> Option<&'a str> {
        match &*call.func {
            Expr::Name(name)
                if self.summaries.classes.contains(name.id.as_str())
                    && !self.semantic.resolves(&call.func) =>
            {
                Some(name.id.as_str())
            }
            Expr::Attribute(attr)
                if self
                    .knowledge
                    .self_returning_methods
                    .iter()
                    .any(|m| m == attr.attr.as_str()) =>
            {
                match &*attr.value {
                    Expr::Call(inner) => self.instance(inner),
                    Expr::Name(name) => match self.local(name.id.as_str())? {
                        Binding::Instance(class) => Some(*class),
                        _ => None,
                    },
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The class of this file `expr` holds an instance of.
    fn instance_of(&self, expr: &'a Expr) -> Option<&'a str> {
        let binding = match expr {
            Expr::Name(name) => self.local(name.id.as_str()),
            Expr::Attribute(attr) if matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self") => {
                self.attrs.last().and_then(|a| a.get(attr.attr.as_str()))
            }
            _ => None,
        };
        match binding? {
            Binding::Instance(class) => Some(*class),
            _ => None,
        }
    }

    /// What the earlier passes learned `key` returns (noted as consulted).
    fn returned_by(&self, key: FnKey<'a>) -> Option<&Returned> {
        note(&mut self.consulted.borrow_mut().returns, key);
        self.summaries.returns.get(&key)
    }

    /// What calling `func` returns, when it is a function, a method or an instance of a class
    /// of this file.
    fn returned(&self, func: &'a Expr) -> Option<(Returned, bool)> {
        let key = |class: &'a str, name: &'a str| (class, name);
        let returns = |key: FnKey<'a>| self.returned_by(key);
        let call_method = |class: &'a str| {
            self.knowledge
                .training
                .activations
                .call_methods
                .iter()
                .find_map(|m| returns(key(class, m)))
                .cloned()
        };
        match func {
            Expr::Name(name) => {
                if let Some(class) = self.instance_of(func) {
                    return Some((call_method(class)?, true));
                }
                if self.local(name.id.as_str()).is_some() || self.semantic.resolves(func) {
                    return None;
                }
                Some((returns(key("", name.id.as_str()))?.clone(), false))
            }
            Expr::Attribute(attr) => {
                if let Some(class) = self.instance_of(func) {
                    return Some((call_method(class)?, true));
                }
                let method = attr.attr.as_str();
                // `self.decode(z)`, `self.pi(s)`.
                if matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self") {
                    let class = self.method_class()?;
                    return Some((returns(key(class, method))?.clone(), false));
                }
                // `model.discriminator_forward(x)` on an instance of a class of this file.
                let class = self.instance_of(&attr.value)?;
                Some((returns(key(class, method))?.clone(), false))
            }
            _ => None,
        }
    }

    /// The activation `expr`'s value came out of, if any.
    fn origin(&self, expr: &'a Expr) -> Option<Origin> {
        match expr {
            Expr::Name(name) => match self.local(name.id.as_str())? {
                Binding::Value(origin) => Some(*origin),
                _ => None,
            },
            Expr::Call(call) => self.call_origin(call),
            // `outputs[0]` of a returned tuple; `probs[:, 1]` is still a probability.
            Expr::Subscript(sub) => {
                if let Some(elements) = self.tuple_of(&sub.value) {
                    let Expr::NumberLiteral(n) = &*sub.slice else {
                        return None;
                    };
                    let i = n.value.as_int()?.as_usize()?;
                    return elements.get(i).copied().flatten();
                }
                self.origin(&sub.value)
            }
            _ => None,
        }
    }

    /// The elements of a tuple-valued expression (a call returning a tuple, or a name bound
    /// to one).
    fn tuple_of(&self, expr: &'a Expr) -> Option<Vec<Option<Origin>>> {
        match expr {
            Expr::Name(name) => match self.local(name.id.as_str())? {
                Binding::Tuple(elements) => Some(elements.clone()),
                _ => None,
            },
            Expr::Call(call) => match self.returned(&call.func)? {
                (Returned::Tuple(elements), _) => Some(elements),
                _ => None,
            },
            _ => None,
        }
    }

    fn call_origin(&self, call: &'a ExprCall) -> Option<Origin> {
        let here = |act| {
            Some(Origin {
                act,
                range: call.range(),
                via_instance: false,
            })
        };
        if let Some(q) = self.qualified(&call.func) {
            return here(activation::function_activation(self.knowledge, &q)?);
        }
        if let Some(Binding::Activation { origin, .. }) = self.callable(&call.func) {
            return here(origin.act);
        }
        if let Some((Returned::Single(origin), via_instance)) = self.returned(&call.func) {
            return Some(Origin {
                via_instance,
                ..origin
            });
        }
        match &*call.func {
            // `jax.vmap(model)(x)`: what `model(x)` outputs, element by element.
            Expr::Call(inner)
                if self.qualified(&inner.func).is_some_and(|q| {
                    in_list(&self.knowledge.training.activations.mapping_transforms, &q)
                }) =>
            {
                let mapped = inner.arguments.args.first()?;
                if let Some(class) = self.instance_of(mapped) {
                    let call_methods = &self.knowledge.training.activations.call_methods;
                    let origin = call_methods.iter().find_map(|m| {
                        match self.returned_by((class, m.as_str()))? {
                            Returned::Single(origin) => Some(*origin),
                            Returned::Tuple(_) => None,
                        }
                    })?;
                    return Some(Origin {
                        via_instance: true,
                        ..origin
                    });
                }
                None
            }
            // `nn.Softmax(dim=1)(x)`
            Expr::Call(inner) => match self.construct(inner)? {
                Binding::Activation { origin, .. } => here(origin.act),
                _ => None,
            },
            // The tensor method `x.softmax(dim=-1)`, on a value that is not `self`; a method
            // that keeps its receiver's activation (`probs.view(-1, n)`, `pi.gather(1, a)`).
            Expr::Attribute(attr) => {
                if matches!(&*attr.value, Expr::Name(n) if matches!(n.id.as_str(), "self" | "cls"))
                {
                    return None;
                }
                let method = attr.attr.as_str();
                if let Some(act) = activation::method_activation(self.knowledge, method) {
                    return here(act);
                }
                let passthrough = &self.knowledge.training.activations.passthrough_methods;
                if passthrough.iter().any(|m| m == method) {
                    return self.origin(&attr.value);
                }
                None
            }
            _ => None,
        }
    }

    /// The helper of this file a call runs (a function, or `self.<method>`), and how many
    /// parameters the call does not pass (`self`).
    fn helper(&self, call: &'a ExprCall) -> Option<(FnKey<'a>, usize)> {
        match &*call.func {
            Expr::Name(name)
                if self.local(name.id.as_str()).is_none()
                    && !self.semantic.resolves(&call.func) =>
            {
                Some((("", name.id.as_str()), 0))
            }
            // `self.adversarial_loss(y_hat, y)`: `self` is not an argument at the call.
            Expr::Attribute(attr) if matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self") => {
                Some(((self.method_class()?, attr.attr.as_str()), 1))
            }
            _ => None,
        }
    }

    /// A helper of this file that hands a parameter straight to a loss: its parameters (by
    /// position at this call) that are predictions, with the loss and the loss's argument.
    fn helper_losses(&self, call: &'a ExprCall) -> Vec<(usize, LossSpec, TextRange)> {
        let Some((key, offset)) = self.helper(call) else {
            return Vec::new();
        };
        note(&mut self.consulted.borrow_mut().loss_params, key);
        let Some(list) = self.summaries.loss_params.get(&key) else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|(position, spec, argument)| {
                Some((position.checked_sub(offset)?, spec.clone(), *argument))
            })
            .collect()
    }

    /// A helper of this file that takes the logarithm of a parameter: the logarithms, by the
    /// parameter's position at this call.
    fn helper_logs(&self, call: &'a ExprCall) -> Vec<(usize, HelperLog)> {
        let Some((key, offset)) = self.helper(call) else {
            return Vec::new();
        };
        note(&mut self.consulted.borrow_mut().log_params, key);
        let Some(list) = self.summaries.log_params.get(&key) else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|(position, log)| Some((position.checked_sub(offset)?, log.clone())))
            .collect()
    }

    /// A logarithm's argument that is a parameter of the function being read, or one minus
    /// it: the parameter's position and whether it is the complement.
    fn logged_param(&self, argument: &'a Expr) -> Option<(usize, bool)> {
        // A parameter the helper rebinds (`p = p.clamp(eps, 1 - eps)`) is not what it got.
        let rebound = |expr: &'a Expr| matches!(expr, Expr::Name(n) if self.functions.last().is_some_and(|f| f.assigned.contains(n.id.as_str())));
        if let Expr::BinOp(op) = argument
            && op.op == ast::Operator::Sub
            && matches!(&*op.left, Expr::NumberLiteral(_))
            && !rebound(&op.right)
        {
            return self.param_position(&op.right).map(|p| (p, true));
        }
        if rebound(argument) {
            return None;
        }
        if let Expr::BinOp(op) = argument
            && op.op == ast::Operator::Sub
            && matches!(&*op.left, Expr::NumberLiteral(_))
        {
            return self.param_position(&op.right).map(|p| (p, true));
        }
        self.param_position(argument).map(|p| (p, false))
    }

    /// Remembers that the function being read takes an unguarded logarithm of a parameter.
    fn learn_log(&mut self, function: &str, argument: &'a Expr, logged: &'a Expr) {
        if let Some((position, complement)) = self.logged_param(logged)
            && let Some(frame) = self.functions.last()
        {
            self.learned.log_params.entry(frame.key).or_default().push((
                position,
                HelperLog {
                    function: function.to_string(),
                    argument: argument.range(),
                    complement,
                },
            ));
        }
    }

    /// The loss a call computes, if it is one.
    fn loss_of(&self, call: &'a ExprCall) -> Option<LossSpec> {
        if let Some(q) = self.qualified(&call.func) {
            return (!is_class_name(&q))
                .then(|| activation::loss_spec(self.knowledge, &q, call))
                .flatten();
        }
        if let Some(Binding::Loss(spec)) = self.callable(&call.func) {
            return Some(spec.clone());
        }
        if let Expr::Call(inner) = &*call.func
            && let Some(Binding::Loss(spec)) = self.construct(inner)
        {
            return Some(spec);
        }
        None
    }

    /// A parameter of the function being read, passed unchanged: its position (`self`
    /// counted).
    fn param_position(&self, expr: &'a Expr) -> Option<usize> {
        let Expr::Name(name) = expr else { return None };
        let frame = self.functions.last()?;
        if self.local(name.id.as_str()).is_some() {
            return None;
        }
        frame.params.iter().position(|p| *p == name.id.as_str())
    }

    fn push_loss(&mut self, spec: LossSpec, argument: TextRange, origin: Origin) {
        let matches = match spec.expects {
            Expects::Logits => origin.act == Activation::Softmax,
            Expects::Probabilities => origin.act == Activation::Sigmoid,
        };
        let seen = self
            .events
            .iter()
            .any(|e| matches!(e, Event::Loss { argument: a, .. } if *a == argument));
        if matches && !seen {
            self.events.push(Event::Loss {
                kind: spec.expects,
                name: spec.name,
                argument,
                origin,
            });
        }
    }

    /// The activation a logarithm's argument came out of: the value itself, or its complement
    /// (`log(1 - p)` is `-inf` once `p` saturates to 1; `true` then).
    fn log_origin(&self, argument: &'a Expr) -> Option<(Origin, bool)> {
        if let Expr::BinOp(op) = argument
            && op.op == ast::Operator::Sub
            && matches!(&*op.left, Expr::NumberLiteral(_))
        {
            return self.origin(&op.right).map(|o| (o, true));
        }
        self.origin(argument).map(|o| (o, false))
    }

    /// Remembers which instances a call of a function of this file passes positionally.
    fn learn_param_instances(&mut self, call: &'a ExprCall) {
        let Some((key, offset)) = self.helper(call) else {
            return;
        };
        let passed: Vec<(usize, Option<&'a str>)> = call
            .arguments
            .args
            .iter()
            .enumerate()
            .take_while(|(_, arg)| !matches!(arg, Expr::Starred(_)))
            .map(|(i, arg)| (i + offset, self.instance_of(arg)))
            .collect();
        let slots = self.learned.param_instances.entry(key).or_default();
        for (position, class) in passed {
            slots
                .entry(position)
                .and_modify(|known| {
                    if *known != class {
                        *known = None;
                    }
                })
                .or_insert(class);
        }
    }

    fn check_call(&mut self, call: &'a ExprCall) {
        self.learn_param_instances(call);
        if let Some(spec) = self.loss_of(call) {
            if let Some(argument) = call
                .arguments
                .find_argument_value(spec.keyword, spec.position)
            {
                // A helper that hands its parameter to the loss: its callers say what it gets.
                if let Some(position) = self.param_position(argument)
                    && let Some(frame) = self.functions.last()
                {
                    self.learned
                        .loss_params
                        .entry(frame.key)
                        .or_default()
                        .push((position, spec.clone(), argument.range()));
                }
                // The project half (DL506/DL507 across files) follows instance outputs into
                // losses called directly.
                if let Some(origin) = self.origin(argument)
                    && !origin.via_instance
                {
                    self.push_loss(spec, argument.range(), origin);
                }
            }
            return;
        }
        for (position, spec, argument) in self.helper_losses(call) {
            if let Some(value) = call.arguments.args.get(position)
                && let Some(origin) = self.origin(value)
            {
                self.push_loss(spec, argument, origin);
            }
        }
        // A helper that takes the logarithm of what it is given (`bce(discriminator(x), y)`).
        for (position, log) in self.helper_logs(call) {
            if let Some(value) = call.arguments.args.get(position)
                && let Some(origin) = self.origin(value)
                && origin.act != Activation::LogSoftmax
                && !self
                    .events
                    .iter()
                    .any(|e| matches!(e, Event::Log { argument, .. } if *argument == log.argument))
            {
                self.events.push(Event::Log {
                    function: log.function,
                    argument: log.argument,
                    origin,
                    direct: false,
                    complement: log.complement,
                });
            }
        }
        if let Some(q) = self.qualified(&call.func) {
            if in_list(&self.knowledge.training.losses.logs, &q)
                && call.arguments.args.len() == 1
                && call.arguments.keywords.is_empty()
                && let Some(argument) = call.arguments.args.first()
            {
                self.learn_log(&q, argument, argument);
            }
            if in_list(&self.knowledge.training.losses.logs, &q)
                && call.arguments.args.len() == 1
                && call.arguments.keywords.is_empty()
                && let Some(argument) = call.arguments.args.first()
                && let Some((origin, complement)) = self.log_origin(argument)
                && origin.act != Activation::LogSoftmax
            {
                self.events.push(Event::Log {
                    function: q,
                    argument: argument.range(),
                    origin,
                    direct: matches!(argument, Expr::Call(_)),
                    complement,
                });
            }
            return;
        }
        // `p.log()`, `x.sigmoid().log()`.
        if let Expr::Attribute(attr) = &*call.func
            && call.arguments.is_empty()
            && (self.knowledge.training.losses.log_methods)
                .iter()
                .any(|m| m == attr.attr.as_str())
        {
            let function = format!("torch.{}", attr.attr);
            self.learn_log(&function, &attr.value, &attr.value);
        }
        if let Expr::Attribute(attr) = &*call.func
            && call.arguments.is_empty()
            && (self.knowledge.training.losses.log_methods)
                .iter()
                .any(|m| m == attr.attr.as_str())
            && let Some(origin) = self.origin(&attr.value)
            && origin.act != Activation::LogSoftmax
        {
            self.events.push(Event::Log {
                function: format!("torch.{}", attr.attr),
                argument: attr.value.range(),
                origin,
                direct: matches!(&*attr.value, Expr::Call(_)),
                complement: false,
            });
            return;
        }
        // `model.compile(loss=CategoricalCrossentropy(from_logits=True))` on a Sequential
        // whose output layer is a softmax.
        if let Expr::Attribute(attr) = &*call.func
            && attr.attr.as_str() == "compile"
            && let Expr::Name(model) = &*attr.value
            && let Some(Binding::Activation {
                origin,
                model: true,
            }) = self.local(model.id.as_str())
            && origin.act == Activation::Softmax
            && let Some(loss) = call.arguments.find_keyword("loss")
            && let Expr::Call(ctor) = &loss.value
            && let Some(Binding::Loss(spec)) = self.construct(ctor)
            && spec.expects == Expects::Logits
        {
            self.events.push(Event::Compile {
                name: spec.name,
                loss: loss.value.range(),
                origin: *origin,
            });
        }
    }

    /// Binds `target` to what `value` is (read before the assignment takes effect).
    fn bind(&mut self, target: &'a Expr, binding: Option<Binding<'a>>) {
        match target {
            Expr::Name(name) => {
                if let Some(frame) = self.functions.last_mut() {
                    frame.assigned.insert(name.id.as_str());
                }
                let Some(scope) = self.locals.last_mut() else {
                    return;
                };
                match binding {
                    Some(binding) => scope.insert(name.id.as_str(), binding),
                    None => scope.remove(name.id.as_str()),
                };
            }
            // `validity, label = discriminator(x)`: element by element.
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                let elements = match binding {
                    Some(Binding::Tuple(elements)) if elements.len() == elts.len() => elements,
                    _ => vec![None; elts.len()],
                };
                for (elt, origin) in elts.iter().zip(elements) {
                    self.bind(elt, origin.map(Binding::Value));
                }
            }
            Expr::Starred(starred) => self.bind(&starred.value, None),
            _ => {}
        }
    }

    fn binding_of(&self, value: &'a Expr) -> Option<Binding<'a>> {
        if let Some(origin) = self.origin(value) {
            return Some(Binding::Value(origin));
        }
        if let Some(elements) = self.tuple_of(value) {
            return Some(Binding::Tuple(elements));
        }
        match value {
            Expr::Call(call) => self
                .construct(call)
                .or_else(|| self.instance(call).map(Binding::Instance)),
            Expr::Name(name) => match self.local(name.id.as_str())? {
                Binding::Value(_) => None,
                other => Some(other.clone()),
            },
            _ => None,
        }
    }

    /// `self.<attr> = <callable>` anywhere in the methods of a class.
    fn class_attrs(&self, body: &'a [Stmt]) -> HashMap<&'a str, Binding<'a>> {
        let mut finder = AttrFinder {
            walker: self,
            found: HashMap::default(),
        };
        for stmt in body {
            if let Stmt::FunctionDef(def) = stmt {
                finder.visit_body(&def.body);
            }
        }
        finder.found
    }
}

struct AttrFinder<'w, 'x, 'a, 'm> {
    walker: &'w Walker<'x, 'a, 'm>,
    found: HashMap<&'a str, Binding<'a>>,
}

impl<'a> Visitor<'a> for AttrFinder<'_, '_, 'a, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::Assign(assign) => {
                for target in &assign.targets {
                    if let Expr::Attribute(attr) = target
                        && matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self")
                    {
                        let name = attr.attr.as_str();
                        match &*assign.value {
                            Expr::Call(call) => match self
                                .walker
                                .construct(call)
                                .or_else(|| self.walker.instance(call).map(Binding::Instance))
                            {
                                Some(binding) => {
                                    self.found.insert(name, binding);
                                }
                                // Bound to something else somewhere: not reliably a callable.
                                None => {
                                    self.found.remove(name);
                                }
                            },
                            _ => {
                                self.found.remove(name);
                            }
                        }
                    }
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, _expr: &'a Expr) {}
}

impl<'a> Visitor<'a> for Walker<'_, 'a, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => {
                // A method of a class body, or a function (nested ones are read but not
                // summarised: nothing outside can call them by name).
                let class = match self.classes.last() {
                    Some(Some(class)) => Some(*class),
                    _ => None,
                };
                let summarised = class.is_some() || self.functions.is_empty();
                self.functions.push(FnFrame {
                    key: (class.unwrap_or_default(), def.name.as_str()),
                    params: def
                        .parameters
                        .posonlyargs
                        .iter()
                        .chain(&def.parameters.args)
                        .map(|p| p.parameter.name.as_str())
                        .collect(),
                    returns: Vec::new(),
                    assigned: HashSet::default(),
                });
                self.classes.push(None);
                // Parameters every call of the file passes the same instance for.
                let key = &self.functions.last().expect("pushed").key;
                let mut frame_locals = HashMap::default();
                note(&mut self.consulted.borrow_mut().param_instances, *key);
                if let Some(slots) = self.summaries.param_instances.get(key) {
                    for (position, param) in self
                        .functions
                        .last()
                        .expect("pushed")
                        .params
                        .iter()
                        .enumerate()
                    {
                        if let Some(Some(class)) = slots.get(&position) {
                            frame_locals.insert(*param, Binding::Instance(class));
                        }
                    }
                }
                self.locals.push(frame_locals);
                self.visit_body(&def.body);
                self.locals.pop();
                self.classes.pop();
                if let Some(frame) = self.functions.pop()
                    && summarised
                    && let Some(returned) = same_returns(&frame.returns)
                {
                    self.learned.returns.insert(frame.key, returned);
                }
            }
            Stmt::ClassDef(class) => {
                let attrs = self.class_attrs(&class.body);
                self.learned
                    .class_attrs
                    .insert(class.name.as_str(), attrs.clone());
                self.attrs.push(attrs);
                self.locals.push(HashMap::default());
                self.classes.push(Some(class.name.as_str()));
                self.visit_body(&class.body);
                self.classes.pop();
                self.locals.pop();
                self.attrs.pop();
            }
            Stmt::Return(ret) => {
                if let Some(value) = &ret.value {
                    self.visit_expr(value);
                }
                let returned = ret.value.as_deref().and_then(|value| match value {
                    Expr::Tuple(tuple) => {
                        let elements: Vec<Option<Origin>> =
                            tuple.elts.iter().map(|e| self.origin(e)).collect();
                        elements
                            .iter()
                            .any(Option::is_some)
                            .then_some(Returned::Tuple(elements))
                    }
                    other => self.origin(other).map(Returned::Single),
                });
                if let Some(frame) = self.functions.last_mut() {
                    frame.returns.push(returned);
                }
            }
            Stmt::Assign(assign) => {
                self.visit_expr(&assign.value);
                let binding = self.binding_of(&assign.value);
                for target in &assign.targets {
                    self.bind(target, binding.clone());
                }
            }
            Stmt::AnnAssign(assign) => {
                if let Some(value) = &assign.value {
                    self.visit_expr(value);
                    let binding = self.binding_of(value);
                    self.bind(&assign.target, binding);
                }
            }
            Stmt::AugAssign(assign) => {
                self.visit_expr(&assign.value);
                self.bind(&assign.target, None);
            }
            Stmt::For(each) => {
                self.visit_expr(&each.iter);
                self.bind(&each.target, None);
                self.visit_body(&each.body);
                self.visit_body(&each.orelse);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            self.check_call(call);
        }
        if let Expr::Named(named) = expr {
            self.visit_expr(&named.value);
            let binding = self.binding_of(&named.value);
            self.bind(&named.target, binding);
            return;
        }
        visitor::walk_expr(self, expr);
    }
}

/// The activation every `return` of a function gives, if they agree (a function without a
/// `return` value gives none).
fn same_returns(returns: &[Option<Returned>]) -> Option<Returned> {
    let first = returns.first()?.clone()?;
    let agree = returns.iter().all(|r| match (r, &first) {
        (Some(Returned::Single(a)), Returned::Single(b)) => a.act == b.act,
        (Some(Returned::Tuple(a)), Returned::Tuple(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x.map(|o| o.act) == y.map(|o| o.act))
        }
        _ => false,
    });
    agree.then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &'static str) -> FnKey<'static> {
        ("", name)
    }

    /// A pass ends the walk only when every lookup it made reads the same from what it
    /// learned; a parameter slot the calls disagree on reads as absent.
    #[test]
    fn a_pass_is_the_fixpoint_only_when_its_lookups_read_the_same() {
        let seen = Summaries::default();
        let mut consulted = Consulted::default();
        consulted.param_instances.insert(key("step"));
        consulted.returns.insert(key("helper"));
        // Learned: a slot the calls disagree on, and what an unconsulted function returns.
        let mut next = Summaries::default();
        next.param_instances
            .insert(key("step"), [(0, None), (1, None)].into_iter().collect());
        next.returns
            .insert(key("other"), Returned::Tuple(Vec::new()));
        assert!(consulted.agree(&seen, &next));
        // One instance every call passes changes what `step` reads.
        next.param_instances
            .insert(key("step"), [(0, Some("Net"))].into_iter().collect());
        assert!(!consulted.agree(&seen, &next));
        // So does what a consulted helper returns.
        let mut next = Summaries::default();
        next.returns
            .insert(key("helper"), Returned::Tuple(Vec::new()));
        assert!(!consulted.agree(&seen, &next));
    }
}
