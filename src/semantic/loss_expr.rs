//! How a differentiated (or returned) value is built: the backward slice of a loss, summarised
//! as a [`LossExpr`] tree over [`Term`]s. The project index later classifies the terms it cannot
//! (calls of project functions) and decides definition vs usage (`semantic::verdict`).
//!
//! Bounded everywhere: depth, width and the names visited, so pathological code stays cheap.

use ruff_python_ast::Expr;
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::knowledge::{ApiKind, Knowledge};
use crate::semantic::builder::{AssignRec, AssignValue, Resolver};
use crate::semantic::facts::{Callee, LoopId, LossExpr, LossValue, Term};

const MAX_DEPTH: u8 = 10;
const MAX_WIDTH: usize = 8;

/// Builds loss expressions for one scope.
pub(crate) struct LossExprBuilder<'r, 'b, 'a> {
    pub resolver: &'r Resolver<'b, 'a>,
    pub scope: usize,
}

struct Walk<'a> {
    slice: Vec<TextRange>,
    /// The assignments walked in the value's own scope: where it is defined. A global it reads
    /// (`model.num_classes`, with `model` bound in a later notebook cell) is in the slice, not
    /// the definition.
    own: Vec<TextRange>,
    /// (scope, name, use, `self.<name>`) being followed: cycles end there.
    visiting: Vec<(usize, &'a str, TextSize, bool)>,
    budget: u32,
}

impl<'r, 'b, 'a> LossExprBuilder<'r, 'b, 'a> {
    pub fn loss_value(
        &self,
        expr: &'a Expr,
        consumer: Option<TextRange>,
        in_loop: Option<LoopId>,
    ) -> LossValue {
        let mut walk = Walk {
            slice: Vec::new(),
            own: Vec::new(),
            visiting: Vec::new(),
            budget: 400,
        };
        let shape = self.expr_of(self.scope, expr, expr.start(), 0, &mut walk);
        let mut slice = walk.slice;
        slice.sort_by_key(|r| r.start());
        slice.dedup();
        let own = walk.own.iter().max_by_key(|r| r.start()).copied();
        // A name's value is defined by its last assignment in its scope; an expression
        // (`return a + b`, `(p - y).pow(2).mean().backward()`) by itself.
        let definition = match expr {
            Expr::Name(_) => own.or(slice.last().copied()).unwrap_or(expr.range()),
            // `self.loss` assigned in the same method: defined by that assignment.
            Expr::Attribute(attr) if matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self") => {
                own.or(slice.last().copied()).unwrap_or(expr.range())
            }
            _ => expr.range(),
        };
        LossValue {
            range: expr.range(),
            definition,
            slice,
            expr: shape,
            consumer,
            in_loop,
        }
    }

    fn expr_of(
        &self,
        scope: usize,
        expr: &'a Expr,
        at: TextSize,
        depth: u8,
        walk: &mut Walk<'a>,
    ) -> LossExpr {
        if depth > MAX_DEPTH || walk.budget == 0 {
            return LossExpr::Leaf(Term::Opaque);
        }
        walk.budget -= 1;
        let next = depth + 1;
        match expr {
            Expr::Name(name) => self.name_expr(scope, name.id.as_str(), None, at, next, walk),
            Expr::NumberLiteral(_) | Expr::BooleanLiteral(_) | Expr::NoneLiteral(_) => {
                LossExpr::Leaf(Term::Const)
            }
            Expr::BinOp(bin) => {
                let mut parts = Vec::new();
                for side in [&*bin.left, &*bin.right] {
                    match self.expr_of(scope, side, at, next, walk) {
                        LossExpr::Arith(inner) => parts.extend(inner),
                        other => parts.push(other),
                    }
                }
                parts.truncate(MAX_WIDTH);
                LossExpr::Arith(parts)
            }
            Expr::UnaryOp(op) => match op.op {
                ruff_python_ast::UnaryOp::Not => LossExpr::Leaf(Term::Opaque),
                _ => LossExpr::Arith(vec![self.expr_of(scope, &op.operand, at, next, walk)]),
            },
            Expr::Call(call) => self.call_expr(scope, call, at, next, walk),
            Expr::Attribute(attr) => {
                let name = attr.attr.as_str();
                let losses = &self.resolver.builder.knowledge.training.losses;
                if losses.regularization_attributes.iter().any(|a| a == name) {
                    // `sum(model.losses)`: the regularisation the layers registered.
                    return LossExpr::Leaf(Term::Const);
                }
                let on_self = matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self");
                if on_self
                    && let Some(shape) = self.self_attribute_expr(scope, name, at, next, walk)
                {
                    return shape;
                }
                if name == "loss" || self.resolver.builder.knowledge.is_loss_variable(name) {
                    LossExpr::Leaf(Term::LossAttr)
                } else if name == "data" {
                    LossExpr::Leaf(Term::Detached)
                } else if self
                    .resolver
                    .builder
                    .knowledge
                    .shape_attributes
                    .iter()
                    .any(|a| a == name)
                {
                    LossExpr::Leaf(Term::Const) // `x.shape[0]`: a count
                } else if on_self {
                    LossExpr::Leaf(Term::Opaque)
                } else {
                    self.expr_of(scope, &attr.value, at, next, walk)
                }
            }
            Expr::Subscript(sub) => match &*sub.slice {
                Expr::StringLiteral(key)
                    if self
                        .resolver
                        .builder
                        .knowledge
                        .is_loss_variable(key.value.to_str()) =>
                {
                    LossExpr::Leaf(Term::LossAttr)
                }
                // `losses["ce"]`: what was put under that key (or under keys not written out).
                _ => match &*sub.value {
                    Expr::Name(name) => {
                        self.name_expr(scope, name.id.as_str(), Some(&sub.slice), at, next, walk)
                    }
                    value => self.expr_of(scope, value, at, next, walk),
                },
            },
            Expr::If(ifexp) => LossExpr::Branch(vec![
                self.expr_of(scope, &ifexp.body, at, next, walk),
                self.expr_of(scope, &ifexp.orelse, at, next, walk),
            ]),
            Expr::List(l) => self.collection(scope, l.elts.iter(), at, next, walk),
            Expr::Tuple(t) => self.collection(scope, t.elts.iter(), at, next, walk),
            Expr::Dict(d) => {
                self.collection(scope, d.items.iter().map(|i| &i.value), at, next, walk)
            }
            Expr::ListComp(c) => {
                LossExpr::Collection(vec![self.expr_of(scope, &c.elt, at, next, walk)])
            }
            Expr::Generator(g) => {
                LossExpr::Collection(vec![self.expr_of(scope, &g.elt, at, next, walk)])
            }
            Expr::Starred(s) => self.expr_of(scope, &s.value, at, next, walk),
            Expr::Await(a) => self.expr_of(scope, &a.value, at, next, walk),
            Expr::Named(n) => self.expr_of(scope, &n.value, at, next, walk),
            _ => LossExpr::Leaf(Term::Opaque),
        }
    }

    fn collection(
        &self,
        scope: usize,
        items: impl Iterator<Item = &'a Expr>,
        at: TextSize,
        depth: u8,
        walk: &mut Walk<'a>,
    ) -> LossExpr {
        LossExpr::Collection(
            items
                .take(MAX_WIDTH)
                .map(|e| self.expr_of(scope, e, at, depth, walk))
                .collect(),
        )
    }

    fn name_expr(
        &self,
        scope: usize,
        name: &'a str,
        key: Option<&Expr>,
        at: TextSize,
        depth: u8,
        walk: &mut Walk<'a>,
    ) -> LossExpr {
        if walk.visiting.contains(&(scope, name, at, false)) {
            return LossExpr::Leaf(Term::Opaque);
        }
        let builder = self.resolver.builder;
        // Find the scope that binds the name: this one, an enclosing function, or the module.
        let mut current = Some(scope);
        while let Some(s) = current {
            let draft = &builder.scopes[s];
            let use_at = if s == scope {
                at
            } else {
                TextSize::new(u32::MAX)
            };
            let mut reaching = draft.reaching(name, use_at);
            if reaching.is_empty() {
                if draft.params.contains(&name) {
                    return LossExpr::Leaf(Term::Param(name.into()));
                }
                current = draft.parent;
                continue;
            }
            // What the code put into the container since (`losses.append(term)`,
            // `losses["giou"] = term`) is part of its value.
            let fills = draft.fills_between(name, reaching[0].stmt.end(), use_at, key);
            if !fills.is_empty() {
                reaching.extend(fills);
                reaching.sort_by_key(|rec| rec.stmt.start());
            }
            walk.visiting.push((scope, name, at, false));
            let loss_named = builder.knowledge.is_loss_variable(name);
            let shape = self.assignments(s, &reaching, use_at, loss_named, depth, walk);
            walk.visiting.pop();
            return shape;
        }
        LossExpr::Leaf(Term::Param(name.into()))
    }

    /// `self.<name>` read in a method that assigned it before (`self.nll = ...`, then
    /// `self.loss = self.nll + self.kl`): the value assigned.
    fn self_attribute_expr(
        &self,
        scope: usize,
        name: &'a str,
        at: TextSize,
        depth: u8,
        walk: &mut Walk<'a>,
    ) -> Option<LossExpr> {
        let draft = &self.resolver.builder.scopes[scope];
        if draft.class.is_none() || walk.visiting.contains(&(scope, name, at, true)) {
            return None;
        }
        let reaching = draft.self_reaching(name, at);
        if reaching.is_empty() {
            return None;
        }
        walk.visiting.push((scope, name, at, true));
        let loss_named = self.resolver.builder.knowledge.is_loss_variable(name);
        let shape = self.assignments(scope, &reaching, at, loss_named, depth, walk);
        walk.visiting.pop();
        Some(shape)
    }

    /// The value of a name (or attribute) given the assignments that reach its use at `at` in
    /// scope `s`, in source order.
    fn assignments(
        &self,
        s: usize,
        reaching: &[AssignRec<'a>],
        at: TextSize,
        loss_named: bool,
        depth: u8,
        walk: &mut Walk<'a>,
    ) -> LossExpr {
        let draft = &self.resolver.builder.scopes[s];
        let mut alternatives = Vec::new();
        let mut accumulated = Vec::new();
        for rec in reaching {
            walk.slice.push(rec.stmt);
            if s == self.scope {
                walk.own.push(rec.stmt);
            }
            let value = match rec.value {
                // `loss = self.model(batch)`: a loss-named value that a call computed
                // elsewhere (a model or a wrapper that returns its loss) is a loss, used here.
                AssignValue::Expr(e @ Expr::Call(_))
                    if loss_named && !rec.aug && self.computed_elsewhere(s, e) =>
                {
                    LossExpr::Leaf(Term::LossAttr)
                }
                AssignValue::Expr(e) => self.expr_of(s, e, rec.stmt.start(), depth, walk),
                AssignValue::Element(e, i) => match e {
                    Expr::Tuple(t) if i < t.elts.len() => {
                        self.expr_of(s, &t.elts[i], rec.stmt.start(), depth, walk)
                    }
                    other => self.expr_of(s, other, rec.stmt.start(), depth, walk),
                },
                AssignValue::LoopTarget(iter, index) => loop_target(iter, index),
                AssignValue::Opaque => LossExpr::Leaf(Term::Opaque),
            };
            if rec.aug {
                // An increment repeated by a loop that does not contain the use accumulates.
                let repeated = rec
                    .in_loop
                    .is_some_and(|l| !draft.loops[l as usize].range.contains(at));
                if repeated {
                    accumulated.push(value);
                } else {
                    match alternatives.pop() {
                        Some(previous) => alternatives.push(LossExpr::Arith(vec![previous, value])),
                        None => alternatives.push(LossExpr::Arith(vec![value])),
                    }
                }
            } else {
                alternatives.push(value);
            }
        }
        let base = match alternatives.len() {
            0 => None,
            1 => alternatives.pop(),
            _ => Some(LossExpr::Branch(alternatives)),
        };
        match (base, accumulated.is_empty()) {
            (Some(base), true) => base,
            (base, false) => {
                let mut parts: Vec<LossExpr> = base.into_iter().collect();
                parts.extend(accumulated);
                LossExpr::Accumulate(parts)
            }
            (None, true) => LossExpr::Leaf(Term::Opaque),
        }
    }

    /// A project helper applied to tensor math written here (`mean_flat((target - out) ** 2)`,
    /// `meanflat(tf.squared_difference(target, out))`): the formula is this code's, the helper
    /// only reduces it.
    fn reduces_formula(&self, scope: usize, call: &'a ruff_python_ast::ExprCall) -> bool {
        let knowledge = &self.resolver.builder.knowledge;
        let package = self.resolver.semantic.package.as_deref();
        call.arguments.args.first().is_some_and(|arg| match arg {
            Expr::BinOp(bin) => {
                !matches!(&*bin.left, Expr::NumberLiteral(_))
                    && !matches!(&*bin.right, Expr::NumberLiteral(_))
                    || matches!(&*bin.left, Expr::BinOp(_))
            }
            Expr::Call(inner) => matches!(
                self.resolver.callee(scope, &inner.func, inner.start()),
                Some(Callee::Qualified(q)) if knowledge.is_external_from(&q, package)
                    && matches!(
                        knowledge.classify_call(&knowledge.canonical(&q)),
                        None | Some(ApiKind::Math)
                    )
                    && inner.arguments.args.len() >= 2
            ),
            _ => false,
        })
    }

    /// A call whose result the file does not compute: not tensor math, a reduction or a
    /// known loss, but a model, a method or a project function.
    fn computed_elsewhere(&self, scope: usize, value: &'a Expr) -> bool {
        let Expr::Call(call) = value else {
            return false;
        };
        let knowledge = &self.resolver.builder.knowledge;
        match self.resolver.callee(scope, &call.func, call.start()) {
            Some(Callee::Qualified(q)) => {
                matches!(
                    knowledge.classify_call(&knowledge.canonical(&q)),
                    None | Some(ApiKind::Layer)
                ) && !knowledge.is_external_from(&q, self.resolver.semantic.package.as_deref())
                    && !self.reduces_formula(scope, call)
                    || knowledge.classify_call(&knowledge.canonical(&q)) == Some(ApiKind::Layer)
            }
            Some(Callee::SelfMember(_) | Callee::InstanceOf(_) | Callee::Variable(_)) => {
                // Not a tensor method (`x.mean()`) of the value: an object called.
                self.resolver.is_method_call(&call.func).is_none_or(|m| {
                    !knowledge.reduction_methods.iter().any(|r| r == m.name)
                        && !knowledge.math_methods.iter().any(|r| r == m.name)
                })
            }
            _ => false,
        }
    }

    /// A project reduction helper over a formula written in place: the helper, then the
    /// shapes of its arguments.
    fn helper_over_formula(
        &self,
        scope: usize,
        callee: &Callee,
        args: &'a [Expr],
        at: TextSize,
        depth: u8,
        walk: &mut Walk<'a>,
    ) -> LossExpr {
        let mut parts = vec![LossExpr::Leaf(Term::Call(callee.clone()))];
        parts.extend(
            args.iter()
                .take(MAX_WIDTH - 1)
                .map(|a| self.expr_of(scope, a, at, depth, walk)),
        );
        LossExpr::Math(parts)
    }

    fn call_expr(
        &self,
        scope: usize,
        call: &'a ruff_python_ast::ExprCall,
        at: TextSize,
        depth: u8,
        walk: &mut Walk<'a>,
    ) -> LossExpr {
        let knowledge = &self.resolver.builder.knowledge;
        let args = &call.arguments.args;
        if let Some(method) = self.resolver.is_method_call(&call.func) {
            let name = method.name;
            if matches!(name, "detach" | "detach_") {
                return LossExpr::Detach(Box::new(self.expr_of(
                    scope,
                    method.receiver,
                    at,
                    depth,
                    walk,
                )));
            }
            if matches!(name, "item" | "tolist" | "numpy") {
                return LossExpr::Leaf(Term::Detached);
            }
            // `x.size(0)`, `x.numel()`: a count, not a tensor.
            if name == "numel" || knowledge.shape_methods.iter().any(|m| m == name) {
                return LossExpr::Leaf(Term::Const);
            }
            if knowledge.reduction_methods.iter().any(|m| m == name) {
                return LossExpr::Reduce(Box::new(self.expr_of(
                    scope,
                    method.receiver,
                    at,
                    depth,
                    walk,
                )));
            }
            if knowledge.math_methods.iter().any(|m| m == name) {
                let mut parts = vec![self.expr_of(scope, method.receiver, at, depth, walk)];
                parts.extend(
                    args.iter()
                        .take(2)
                        .map(|a| self.expr_of(scope, a, at, depth, walk)),
                );
                return LossExpr::Math(parts);
            }
            if knowledge.is_loss_callee(name) {
                let head = LossExpr::Leaf(Term::Call(Callee::Variable(name.into())));
                return self.with_inputs(scope, call, at, depth, walk, head);
            }
            if name == "forward"
                && let Some(receiver) = Resolver::receiver_name(method.receiver)
            {
                return LossExpr::Leaf(Term::Call(Callee::Variable(receiver.into())));
            }
            // `self.policy.evaluate_actions(obs)`, `model.encode(x)`: the model computes it.
            if Resolver::receiver_name(method.receiver)
                .is_some_and(|r| knowledge.is_model_variable(r))
            {
                return LossExpr::Leaf(Term::ModelCall);
            }
            // `x.to(device)`, `logits.view(-1, n)`, `losses.values()`: same value.
            return self.expr_of(scope, method.receiver, at, depth, walk);
        }
        if let Expr::Name(name) = &*call.func {
            match name.id.as_str() {
                "self" => return LossExpr::Leaf(Term::ModelCall),
                "sum" if self.resolver.semantic.is_builtin("sum") => {
                    return match args.first() {
                        Some(first) => match self.expr_of(scope, first, at, depth, walk) {
                            collection @ LossExpr::Collection(_) => collection,
                            other => LossExpr::Collection(vec![other]),
                        },
                        None => LossExpr::Leaf(Term::Const),
                    };
                }
                "float" | "int" | "len" | "round" | "bool" | "str" => {
                    return LossExpr::Leaf(Term::Detached);
                }
                _ => {}
            }
        }
        let Some(callee) = self.resolver.callee(scope, &call.func, at) else {
            return LossExpr::Leaf(Term::Opaque);
        };
        // `Loss(kl)` with `class Loss(nnx.Variable)`: the value it holds.
        if let Callee::Local(name) = &callee
            && let Some(first) = args.first()
            && self.resolver.builder.is_value_container(name)
        {
            return self.expr_of(scope, first, at, depth, walk);
        }
        if let Callee::Qualified(q) = &callee
            && !self.resolver.adds_regularization
            && is_regularization(knowledge, &knowledge.canonical(q), args.first())
        {
            // The layers' collected weight decay: added to a loss, it scales nothing new in.
            return LossExpr::Leaf(Term::Const);
        }
        match &callee {
            Callee::Qualified(q) => match knowledge.classify_call(&knowledge.canonical(q)) {
                Some(ApiKind::LossFunction) => {
                    let head =
                        LossExpr::Leaf(Term::LossApi(knowledge.canonical(q).into_owned().into()));
                    self.with_inputs(scope, call, at, depth, walk, head)
                }
                Some(ApiKind::Reduction) => match args.first() {
                    Some(first) => {
                        LossExpr::Reduce(Box::new(self.expr_of(scope, first, at, depth, walk)))
                    }
                    None => LossExpr::Leaf(Term::Opaque),
                },
                Some(ApiKind::Math) => LossExpr::Math(
                    args.iter()
                        .take(MAX_WIDTH)
                        .map(|a| self.expr_of(scope, a, at, depth, walk))
                        .collect(),
                ),
                Some(_) => LossExpr::Leaf(Term::Opaque),
                // A library call with no operands at all (`contextlib.ExitStack()`,
                // `torch.get_default_dtype()`) computes nothing from values.
                None if args.is_empty()
                    && call.arguments.keywords.is_empty()
                    && knowledge.is_external_from(q, self.resolver.semantic.package.as_deref()) =>
                {
                    LossExpr::Leaf(Term::Opaque)
                }
                // `torch.min`, `np.where`: tensor math of a framework, over its arguments.
                None if knowledge
                    .is_external_from(q, self.resolver.semantic.package.as_deref()) =>
                {
                    LossExpr::Math(
                        args.iter()
                            .take(MAX_WIDTH)
                            .map(|a| self.expr_of(scope, a, at, depth, walk))
                            .collect(),
                    )
                }
                // `mean_flat((target - out) ** 2)`: the helper over the formula written here.
                None if self.reduces_formula(scope, call) => {
                    self.helper_over_formula(scope, &callee, args, at, depth, walk)
                }
                None => LossExpr::Leaf(Term::Call(callee)),
            },
            Callee::InstanceOf(ctor) => match self.resolver.api_kind(ctor) {
                Some(ApiKind::LossClass) => {
                    let head = LossExpr::Leaf(Term::LossApi(match &**ctor {
                        Callee::Qualified(q) => knowledge.canonical(q).into_owned().into(),
                        other => other.name().into(),
                    }));
                    self.with_inputs(scope, call, at, depth, walk, head)
                }
                Some(ApiKind::Layer) => LossExpr::Leaf(Term::ModelCall),
                Some(_) => LossExpr::Leaf(Term::Opaque),
                None => LossExpr::Leaf(Term::Call(callee)),
            },
            Callee::Local(_) if self.reduces_formula(scope, call) => {
                self.helper_over_formula(scope, &callee, args, at, depth, walk)
            }
            _ => LossExpr::Leaf(Term::Call(callee)),
        }
    }

    /// `head` (a library loss, or a callee named like a loss) with the inputs of `call` that the
    /// code computes by combining values (`r + gamma * q_next`), if any: [`LossExpr::LossOf`].
    /// Inputs that only pass values on (`logits.view(-1, n)`, `y.float()`, `model(x)`) leave
    /// the head as it is, and what was walked for them is forgotten.
    fn with_inputs(
        &self,
        scope: usize,
        call: &'a ruff_python_ast::ExprCall,
        at: TextSize,
        depth: u8,
        walk: &mut Walk<'a>,
        head: LossExpr,
    ) -> LossExpr {
        const SETTINGS: [&str; 16] = [
            "weight",
            "weights",
            "pos_weight",
            "reduction",
            "ignore_index",
            "label_smoothing",
            "name",
            "axis",
            "dim",
            "delta",
            "beta",
            "from_logits",
            "size_average",
            "reduce",
            "scope",
            "loss_collection",
        ];
        let inputs = call.arguments.args.iter().chain(
            call.arguments
                .keywords
                .iter()
                .filter(|k| {
                    k.arg
                        .as_ref()
                        .is_some_and(|a| !SETTINGS.contains(&a.as_str()))
                })
                .map(|k| &k.value),
        );
        let (slice, own) = (walk.slice.len(), walk.own.len());
        let mut kept = Vec::new();
        for input in inputs.take(MAX_WIDTH) {
            let shape = self.expr_of(scope, input, at, depth, walk);
            if combines_values(&shape, 0) || chooses_values(&shape) {
                kept.push(shape);
            }
        }
        if kept.is_empty() {
            walk.slice.truncate(slice);
            walk.own.truncate(own);
            return head;
        }
        LossExpr::LossOf(Box::new(head), kept)
    }
}

/// The shape combines two or more computed values with arithmetic (`r + gamma * q_next`,
/// `logits / tau`), not a value with constants (`y * 0.9`, `1 - y`) and not inside a call
/// of its own (what a loss or a model computes from its inputs is theirs).
fn combines_values(shape: &LossExpr, depth: u8) -> bool {
    if depth > 8 {
        return false;
    }
    match shape {
        LossExpr::Arith(parts) => {
            parts
                .iter()
                .filter(|p| !matches!(p, LossExpr::Leaf(Term::Const)))
                .count()
                >= 2
                || parts.iter().any(|p| combines_values(p, depth + 1))
        }
        LossExpr::Reduce(inner) => combines_values(inner, depth + 1),
        LossExpr::Math(parts) | LossExpr::Branch(parts) | LossExpr::Collection(parts) => {
            parts.iter().any(|p| combines_values(p, depth + 1))
        }
        LossExpr::Leaf(_)
        | LossExpr::Accumulate(_)
        | LossExpr::LossOf(..)
        | LossExpr::Detach(_) => false,
    }
}

/// The input is one of different values chosen by a condition (`labels = ones * 0.9 if smooth
/// else ones`, `target = noise if eps else x_start`): what the loss compares with is decided
/// here. The alternatives read different values, or build constants differently; the same
/// value moved or wrapped (`label = label.cuda()` under `if use_gpu`) is not a choice, and
/// neither is a batch of a data loop (which batch reaches a module-level loop of a notebook is
/// a matter of cells, not of the loss). [`crate::semantic::verdict`] keeps it when the
/// alternatives are targets.
pub(crate) fn chooses_values(shape: &LossExpr) -> bool {
    let LossExpr::Branch(alternatives) = shape else {
        return false;
    };
    if alternatives.len() < 2 {
        return false;
    }
    let all: Vec<Vec<&Term>> = alternatives
        .iter()
        .map(|a| {
            let mut terms = Vec::new();
            leaves(a, &mut terms, 0);
            terms
        })
        .collect();
    if all.iter().flatten().any(|t| matches!(t, Term::Batch)) {
        return false;
    }
    let reads: Vec<Vec<&Term>> = all
        .iter()
        .map(|terms| {
            let mut terms = terms.clone();
            terms.retain(|t| !matches!(t, Term::Opaque | Term::Const));
            terms.sort_by_key(|t| format!("{t:?}"));
            terms.dedup();
            terms
        })
        .collect();
    let read: Vec<&Vec<&Term>> = reads.iter().filter(|r| !r.is_empty()).collect();
    if read.len() >= 2 {
        return read.iter().any(|r| *r != read[0]);
    }
    // Targets built from constants here (`torch.ones(n) * 0.9` or `torch.ones(n)`).
    read.is_empty()
        && alternatives.iter().any(|a| a != &alternatives[0])
        && all.iter().flatten().all(|t| matches!(t, Term::Const))
}

fn leaves<'s>(shape: &'s LossExpr, out: &mut Vec<&'s Term>, depth: u8) {
    if depth > 12 || out.len() > 32 {
        return;
    }
    match shape {
        LossExpr::Leaf(term) => out.push(term),
        LossExpr::Arith(parts)
        | LossExpr::Collection(parts)
        | LossExpr::Math(parts)
        | LossExpr::Branch(parts)
        | LossExpr::Accumulate(parts) => {
            for p in parts {
                leaves(p, out, depth + 1);
            }
        }
        LossExpr::Reduce(inner) | LossExpr::Detach(inner) => leaves(inner, out, depth + 1),
        LossExpr::LossOf(head, inputs) => {
            leaves(head, out, depth + 1);
            for p in inputs {
                leaves(p, out, depth + 1);
            }
        }
    }
}

/// The regularisation losses the framework collected from the layers
/// (`tf.losses.get_regularization_loss()`, `tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)`).
fn is_regularization(knowledge: &Knowledge, canonical: &str, first: Option<&Expr>) -> bool {
    let losses = &knowledge.training.losses;
    if losses.regularization_calls.iter().any(|c| c == canonical) {
        return true;
    }
    losses.collection_calls.iter().any(|c| c == canonical)
        && first.is_some_and(|key| is_regularization_key(knowledge, key))
}

/// A collection key naming the regularisation losses: `tf.GraphKeys.REGULARIZATION_LOSSES` or
/// its string value.
pub(crate) fn is_regularization_key(knowledge: &Knowledge, key: &Expr) -> bool {
    let key = match key {
        Expr::Attribute(attr) => attr.attr.as_str(),
        Expr::StringLiteral(s) => s.value.to_str(),
        _ => return false,
    };
    knowledge.training.losses.is_regularization_collection(key)
}

/// `for x, y in loader` binds data; `for i in range(n)` and the index of `enumerate` bind
/// counters.
fn loop_target(iter: &Expr, index: Option<usize>) -> LossExpr {
    if let Expr::Call(call) = iter
        && let Expr::Name(name) = &*call.func
    {
        match (name.id.as_str(), index) {
            ("range", _) => return LossExpr::Leaf(Term::Const),
            ("enumerate", Some(0)) => return LossExpr::Leaf(Term::Const),
            _ => {}
        }
    }
    LossExpr::Leaf(Term::Batch)
}
