//! Facts for data preparation in training loops: whether a data-file call writes rather
//! than reads, and whether an augmentation or sampling call works on the data a loop iterates
//! ([`ApiUse::on_data`]).
//!
//! Everything here is read from calls the builder already recorded; nothing walks the tree.

use ruff_python_ast::{Expr, ExprCall};
use ruff_text_size::{Ranged, TextSize};

use super::{AssignValue, CallRec, Resolver};
use crate::knowledge::ApiKind;

/// How many assignments and calls are followed back from an augmented value to a loop target.
const MAX_BATCH_DEPTH: u8 = 6;

/// Methods that fill a collection: a collection the scope fills (a replay buffer, a rollout)
/// is not a data set the loop samples by hand.
const FILLING_METHODS: [&str; 7] = ["append", "extend", "push", "add", "insert", "store", "put"];

/// `h5py.File(path, "w")`, `open`-like calls with a write, append or create mode: the call
/// writes a file (a log, a checkpoint), it does not load data.
pub(super) fn opens_for_writing(call: &ExprCall) -> bool {
    let mode = call
        .arguments
        .find_keyword("mode")
        .map(|k| &k.value)
        .or_else(|| call.arguments.args.get(1));
    matches!(mode, Some(Expr::StringLiteral(s))
        if s.value.to_str().starts_with(['w', 'a', 'x']))
}

impl<'a> Resolver<'_, 'a> {
    /// [`ApiUse::on_data`] for a call of `kind` in a loop of `scope`.
    pub(super) fn on_data(
        &self,
        scope: usize,
        rec: &CallRec<'a>,
        kind: ApiKind,
        calls: &[CallRec<'a>],
    ) -> bool {
        if rec.in_loop.is_none() {
            return false;
        }
        match kind {
            ApiKind::Augmentation => self.augments_batch(scope, rec.call, calls),
            ApiKind::Sampling => self.draws_over_data(rec.call, calls),
            _ => false,
        }
    }

    /// The call's data arguments come from a loop's batch, or the transform it builds is
    /// applied right away to such a value (`T(...)(x)`). A transform built in the loop and
    /// applied later to something else (a de-normalisation of a generated image before it is
    /// saved) is not.
    fn augments_batch(&self, scope: usize, call: &'a ExprCall, calls: &[CallRec<'a>]) -> bool {
        let from_batch = |call: &'a ExprCall| {
            call.arguments
                .args
                .iter()
                .chain(call.arguments.keywords.iter().map(|k| &k.value))
                .take(4)
                .any(|arg| self.comes_from_batch(scope, arg, arg.start(), 0))
        };
        if from_batch(call) {
            return true;
        }
        calls.iter().any(|outer| {
            matches!(&*outer.call.func, Expr::Call(inner) if inner.range() == call.range())
                && from_batch(outer.call)
        })
    }

    /// The value comes from the target of a loop over data (`for x, y in loader`, not
    /// `for i in range(n)`) that holds `at`, through assignments, method calls (`x.to(device)`)
    /// and calls (`torch.from_numpy(x)`).
    fn comes_from_batch(&self, scope: usize, expr: &'a Expr, at: TextSize, depth: u8) -> bool {
        if depth > MAX_BATCH_DEPTH {
            return false;
        }
        let next = depth + 1;
        match expr {
            Expr::Name(name) => {
                let draft = &self.builder.scopes[scope];
                let name = name.id.as_str();
                let Some(recs) = draft.assigns.get(name) else {
                    return false;
                };
                let in_data_loop = recs.iter().any(|rec| {
                    matches!(rec.value, AssignValue::LoopTarget(iter, index)
                        if rec.stmt.contains(at) && iterates_data(iter, index))
                });
                in_data_loop
                    || match draft.last_reaching(name, at).map(|r| (r.value, r.stmt)) {
                        Some((AssignValue::Expr(value) | AssignValue::Element(value, _), stmt)) => {
                            self.comes_from_batch(scope, value, stmt.start(), next)
                        }
                        _ => false,
                    }
            }
            Expr::Attribute(attr) => {
                !matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self")
                    && self.comes_from_batch(scope, &attr.value, at, next)
            }
            Expr::Subscript(sub) => self.comes_from_batch(scope, &sub.value, at, next),
            Expr::Call(call) => {
                let receiver = match &*call.func {
                    Expr::Attribute(attr) if !self.semantic.resolves(&call.func) => {
                        Some(&*attr.value)
                    }
                    _ => None,
                };
                receiver.is_some_and(|r| self.comes_from_batch(scope, r, at, next))
                    || call
                        .arguments
                        .args
                        .iter()
                        .take(4)
                        .any(|a| self.comes_from_batch(scope, a, at, next))
            }
            Expr::BinOp(bin) => {
                self.comes_from_batch(scope, &bin.left, at, next)
                    || self.comes_from_batch(scope, &bin.right, at, next)
            }
            Expr::Tuple(t) => t
                .elts
                .iter()
                .take(4)
                .any(|e| self.comes_from_batch(scope, e, at, next)),
            Expr::List(l) => l
                .elts
                .iter()
                .take(4)
                .any(|e| self.comes_from_batch(scope, e, at, next)),
            _ => false,
        }
    }

    /// The call draws items or indices over a collection: `np.random.choice(len(X), n)`,
    /// `np.random.randint(0, X.shape[0], n)`, `random.sample(samples, n)`, and the scope does
    /// not fill that collection itself.
    fn draws_over_data(&self, call: &'a ExprCall, calls: &[CallRec<'a>]) -> bool {
        let args = call
            .arguments
            .args
            .iter()
            .chain(call.arguments.keywords.iter().map(|k| &k.value));
        let mut collections: Vec<&'a Expr> = Vec::new();
        for arg in args.take(4) {
            if let Some(collection) = sized_collection(arg, 0) {
                collections.push(collection);
            }
        }
        // `random.sample(population, k)`: the population itself.
        let draws_items = matches!(
            self.semantic.resolve(&call.func).map(|q| self.knowledge().into_canonical(q)),
            Some(q) if q == "random.sample" || q == "random.choices"
        );
        if draws_items
            && collections.is_empty()
            && let Some(population) = call.arguments.args.first()
            && matches!(
                population,
                Expr::Name(_) | Expr::Attribute(_) | Expr::Subscript(_)
            )
        {
            collections.push(population);
        }
        !collections.is_empty()
            && collections
                .iter()
                .any(|c| !fills(calls, c).unwrap_or(false))
    }
}

/// `for x, y in loader` binds data; `for i in range(n)` and the index of `enumerate` bind
/// counters.
fn iterates_data(iter: &Expr, index: Option<usize>) -> bool {
    if let Expr::Call(call) = iter
        && let Expr::Name(name) = &*call.func
    {
        match (name.id.as_str(), index) {
            ("range", _) | ("enumerate", Some(0)) => return false,
            _ => {}
        }
    }
    true
}

/// The collection whose size an expression is: `len(X)`, `X.shape[0]`, `range(len(X))`,
/// `len(X) - k`.
fn sized_collection(expr: &Expr, depth: u8) -> Option<&Expr> {
    if depth > 3 {
        return None;
    }
    match expr {
        Expr::Call(call) => match &*call.func {
            Expr::Name(n) if n.id.as_str() == "len" => call.arguments.args.first(),
            Expr::Name(n) if n.id.as_str() == "range" => call
                .arguments
                .args
                .iter()
                .find_map(|a| sized_collection(a, depth + 1)),
            _ => None,
        },
        Expr::Subscript(sub) => match &*sub.value {
            Expr::Attribute(attr) if attr.attr.as_str() == "shape" => Some(&attr.value),
            _ => None,
        },
        Expr::BinOp(bin) => sized_collection(&bin.left, depth + 1)
            .or_else(|| sized_collection(&bin.right, depth + 1)),
        _ => None,
    }
}

/// Whether the scope fills `collection` (`buffer.append(...)`), by the collection's last name;
/// `None` when the collection has no name.
fn fills(calls: &[CallRec<'_>], collection: &Expr) -> Option<bool> {
    let name = last_name(collection)?;
    Some(calls.iter().any(|rec| {
        matches!(&*rec.call.func, Expr::Attribute(attr)
            if FILLING_METHODS.contains(&attr.attr.as_str())
                && last_name(&attr.value) == Some(name))
    }))
}

/// `X` → `X`, `self.buffer` → `buffer`, `data["train"]` → `data`.
fn last_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        Expr::Subscript(s) => last_name(&s.value),
        _ => None,
    }
}
