//! Which calls apply an activation (softmax, log-softmax, sigmoid), which constructors build a
//! callable that does (`nn.Softmax(dim=1)`, a `Sequential` ending in one, a Keras layer with
//! `activation="softmax"`), and which losses expect logits or probabilities. Shared by the facts
//! builder (a Model's `forward` that ends in a softmax, a component's output handed to a loss)
//! and by the in-file data flow that follows probabilities into losses and logarithms, so that
//! both read the `[training.activations]` and `[training.losses]` lists the same way.

use ruff_python_ast::{Expr, ExprCall};
use ruff_text_size::{Ranged, TextRange};

use crate::knowledge::Knowledge;
use crate::semantic::facts::{Activation, Expects};

pub use crate::knowledge::in_list;

pub fn last_segment(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// `torch.nn.CrossEntropyLoss` (a class) rather than `torch.nn.functional.cross_entropy`.
pub fn is_class_name(name: &str) -> bool {
    last_segment(name)
        .chars()
        .next()
        .is_some_and(char::is_uppercase)
}

fn is_true(expr: &Expr) -> bool {
    matches!(expr, Expr::BooleanLiteral(b) if b.value)
}

/// The activation a (canonical) function applies: `torch.softmax`, `tf.nn.sigmoid`.
pub fn function_activation(knowledge: &Knowledge, canonical: &str) -> Option<Activation> {
    let a = &knowledge.training.activations;
    if in_list(&a.softmax, canonical) {
        Some(Activation::Softmax)
    } else if in_list(&a.log_softmax, canonical) {
        Some(Activation::LogSoftmax)
    } else if in_list(&a.sigmoid, canonical) {
        Some(Activation::Sigmoid)
    } else {
        None
    }
}

/// The activation a tensor method applies: `x.softmax(-1)`.
pub fn method_activation(knowledge: &Knowledge, method: &str) -> Option<Activation> {
    let a = &knowledge.training.activations;
    let method = method.to_string();
    if a.softmax_methods.contains(&method) {
        Some(Activation::Softmax)
    } else if a.log_softmax_methods.contains(&method) {
        Some(Activation::LogSoftmax)
    } else if a.sigmoid_methods.contains(&method) {
        Some(Activation::Sigmoid)
    } else {
        None
    }
}

/// The activation a string names, as in Keras `activation="softmax"`.
fn named_activation(knowledge: &Knowledge, expr: &Expr) -> Option<Activation> {
    let Expr::StringLiteral(s) = expr else {
        return None;
    };
    let name = s.value.to_str().to_string();
    let a = &knowledge.training.activations;
    if a.softmax_names.contains(&name) {
        Some(Activation::Softmax)
    } else if a.sigmoid_names.contains(&name) {
        Some(Activation::Sigmoid)
    } else {
        None
    }
}

/// A loss and where it takes the prediction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossSpec {
    pub expects: Expects,
    /// Position and keyword of the prediction argument.
    pub position: usize,
    pub keyword: &'static str,
    /// Short API name for messages (`cross_entropy`, `CrossEntropyLoss`,
    /// `SparseCategoricalCrossentropy(from_logits=True)`).
    pub name: String,
}

/// The loss `canonical` is (a function, or a class being constructed by `call`) with its
/// prediction argument; Keras cross-entropies only with `from_logits=True`.
pub fn loss_spec(knowledge: &Knowledge, canonical: &str, call: &ExprCall) -> Option<LossSpec> {
    let l = &knowledge.training.losses;
    let spec = |expects, position, keyword| LossSpec {
        expects,
        position,
        keyword,
        name: if position == 1 {
            format!("{}(from_logits=True)", last_segment(canonical))
        } else {
            last_segment(canonical).to_string()
        },
    };
    if in_list(&l.logits, canonical) {
        Some(spec(Expects::Logits, 0, "input"))
    } else if in_list(&l.probability_bce, canonical) {
        Some(spec(Expects::Probabilities, 0, "input"))
    } else if in_list(&l.keras_from_logits, canonical)
        && call
            .arguments
            .find_keyword("from_logits")
            .is_some_and(|k| is_true(&k.value))
    {
        Some(spec(Expects::Logits, 1, "y_pred"))
    } else {
        None
    }
}

/// What a constructor call builds, when it is a callable the activation checks follow.
#[derive(Debug, Clone)]
pub enum Built {
    /// Its output went through `act`, applied at `range` (the layer's constructor); `model`
    /// when the callable is a whole network (a `Sequential`).
    Activation {
        act: Activation,
        range: TextRange,
        model: bool,
    },
    /// A loss instance.
    Loss(LossSpec),
}

/// What `call` constructs. `resolve` gives the canonical qualified name of a callee expression
/// (through the file's imports); `named` what a layer held in a variable is
/// (`sigmoid = nn.Sigmoid()` then `nn.Sequential(linear, sigmoid)`), when the caller knows.
pub fn construct<'e>(
    knowledge: &Knowledge,
    resolve: &dyn Fn(&'e Expr) -> Option<String>,
    named: &dyn Fn(&'e Expr) -> Option<Built>,
    call: &'e ExprCall,
    depth: usize,
) -> Option<Built> {
    let q = resolve(&call.func)?;
    let a = &knowledge.training.activations;
    let layer = |act| {
        Some(Built::Activation {
            act,
            range: call.range(),
            model: false,
        })
    };
    if in_list(&a.softmax_layers, &q) {
        return layer(Activation::Softmax);
    }
    if in_list(&a.log_softmax_layers, &q) {
        return layer(Activation::LogSoftmax);
    }
    if in_list(&a.sigmoid_layers, &q) {
        return layer(Activation::Sigmoid);
    }
    if is_class_name(&q)
        && let Some(spec) = loss_spec(knowledge, &q, call)
    {
        return Some(Built::Loss(spec));
    }
    if in_list(&a.sequential, &q) {
        if depth > 8 {
            return None;
        }
        // `nn.Sequential(a, b, c)` or `keras.Sequential([a, b, c])`.
        let last = match call.arguments.args.first() {
            Some(Expr::List(list)) if call.arguments.args.len() == 1 => list.elts.last(),
            _ => call.arguments.args.last(),
        }?;
        let built = match last {
            Expr::Call(last) => construct(knowledge, resolve, named, last, depth + 1),
            other => named(other),
        };
        return match built? {
            Built::Activation { act, range, .. } => Some(Built::Activation {
                act,
                range,
                model: true,
            }),
            Built::Loss(_) => None,
        };
    }
    if in_list(&a.keras_layers, &q) {
        // `Dense(10, activation="softmax")`, `Activation("softmax")`.
        let named = call
            .arguments
            .find_keyword("activation")
            .map(|k| &k.value)
            .or_else(|| {
                (last_segment(&q) == "Activation")
                    .then(|| call.arguments.args.first())
                    .flatten()
            })?;
        return layer(named_activation(knowledge, named)?);
    }
    None
}
