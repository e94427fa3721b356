//! Where moved loss code runs the model: a Loss component takes the model's outputs, it never
//! calls the model itself (thesis §3.2: the model predicts, the loss compares). An extraction
//! leaves `logits = model(x)` where it is and passes an inline `model(x)` in from the call site.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ExprCall, Stmt};
use ruff_text_size::TextRange;

use crate::knowledge::Knowledge;

/// Whether `call` runs a model: `model(x)`, `self.net(x)`, `self(x)` (a LightningModule),
/// `encoder.forward(x)`. Only the model's names say so (`model-variables` in the framework
/// knowledge); a name that says it is a loss (`model_loss`, `criterion.forward(...)`) is not a
/// model.
pub fn is_model_call(call: &ExprCall, knowledge: &Knowledge) -> bool {
    let model_name =
        |name: &str| knowledge.is_model_variable(name) && !knowledge.is_loss_callee(name);
    match &*call.func {
        Expr::Name(name) => name.id.as_str() == "self" || model_name(name.id.as_str()),
        Expr::Attribute(attr) if knowledge.is_forward_method(attr.attr.as_str()) => {
            let receiver = match &*attr.value {
                Expr::Name(n) => Some(n.id.as_str()),
                Expr::Attribute(inner) => Some(inner.attr.as_str()),
                _ => None,
            };
            !receiver.is_some_and(|r| knowledge.is_loss_callee(r))
        }
        Expr::Attribute(attr) => {
            matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self")
                && model_name(attr.attr.as_str())
        }
        _ => false,
    }
}

/// Whether the value of `expr` is a model's output: a model call, or a part or plain method
/// of one (`model(x).logits`, `self.teacher(**inputs).logits[0]`, `model(x).squeeze(1)`).
pub fn is_model_output(expr: &Expr, knowledge: &Knowledge) -> bool {
    match expr {
        Expr::Call(call) if is_model_call(call, knowledge) => true,
        Expr::Call(call) => match &*call.func {
            Expr::Attribute(attr) => is_model_output(&attr.value, knowledge),
            _ => false,
        },
        Expr::Attribute(attr) => is_model_output(&attr.value, knowledge),
        Expr::Subscript(sub) => is_model_output(&sub.value, knowledge),
        _ => false,
    }
}

/// Whether `stmt` assigns a model's output (`logits = model(x)`, `out, aux = net(x)`).
pub fn assigns_model_output(stmt: &Stmt, knowledge: &Knowledge) -> bool {
    match stmt {
        Stmt::Assign(s) => is_model_output(&s.value, knowledge),
        Stmt::AnnAssign(s) => s
            .value
            .as_deref()
            .is_some_and(|v| is_model_output(v, knowledge)),
        _ => false,
    }
}

/// The outermost model calls in `stmts` and `expr`, in source order, or `None` when one of
/// them runs only sometimes or more than once per evaluation (inside a lambda, a
/// comprehension, a conditional expression or the right of `and`/`or`): such a call cannot be
/// made once before the code runs.
pub fn model_calls<'a>(
    stmts: impl IntoIterator<Item = &'a Stmt>,
    expr: &'a Expr,
    knowledge: &Knowledge,
) -> Option<Vec<&'a Expr>> {
    struct Finder<'a, 'k> {
        knowledge: &'k Knowledge,
        found: Vec<&'a Expr>,
        /// Inside code that may run zero or several times.
        conditional: usize,
        refused: bool,
    }
    impl<'a> Visitor<'a> for Finder<'a, '_> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Call(call) = expr
                && is_model_call(call, self.knowledge)
            {
                if self.conditional > 0 {
                    self.refused = true;
                } else {
                    self.found.push(expr);
                }
                return;
            }
            let conditional = matches!(
                expr,
                Expr::Lambda(_)
                    | Expr::ListComp(_)
                    | Expr::SetComp(_)
                    | Expr::DictComp(_)
                    | Expr::Generator(_)
                    | Expr::If(_)
                    | Expr::BoolOp(_)
            );
            self.conditional += usize::from(conditional);
            visitor::walk_expr(self, expr);
            self.conditional -= usize::from(conditional);
        }
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                self.refused = true;
                return;
            }
            let compound = matches!(
                stmt,
                Stmt::If(_) | Stmt::For(_) | Stmt::While(_) | Stmt::Try(_) | Stmt::With(_)
            );
            self.conditional += usize::from(compound);
            visitor::walk_stmt(self, stmt);
            self.conditional -= usize::from(compound);
        }
    }
    let mut finder = Finder {
        knowledge,
        found: Vec::new(),
        conditional: 0,
        refused: false,
    };
    for stmt in stmts {
        finder.visit_stmt(stmt);
    }
    finder.visit_expr(expr);
    (!finder.refused).then_some(finder.found)
}

/// Whether `range` lies inside one of `ranges`.
pub fn inside(range: TextRange, ranges: &[TextRange]) -> bool {
    ranges.iter().any(|r| r.contains_range(range))
}

/// What a model call is called when it becomes a parameter of its own: the model's name
/// (`model` for `self(x)`, the receiver of `encoder.forward(x)`).
pub fn model_name<'a>(call: &'a Expr, knowledge: &Knowledge) -> &'a str {
    let Expr::Call(call) = call else {
        return "model";
    };
    match &*call.func {
        Expr::Name(n) if n.id.as_str() != "self" => n.id.as_str(),
        Expr::Attribute(attr) if knowledge.is_forward_method(attr.attr.as_str()) => {
            match &*attr.value {
                Expr::Name(n) if n.id.as_str() != "self" => n.id.as_str(),
                Expr::Attribute(inner) => inner.attr.as_str(),
                _ => "model",
            }
        }
        Expr::Attribute(attr) => attr.attr.as_str(),
        _ => "model",
    }
}

/// The name a model call's first input comes from (`real` in `D(real)`, `fake` in
/// `D(fake.detach())`, `x` in `model(x[0])`), if it is one.
pub fn first_input(call: &Expr) -> Option<&str> {
    let Expr::Call(call) = call else { return None };
    let mut expr = call.arguments.args.first()?;
    loop {
        expr = match expr {
            Expr::Name(n) => return Some(n.id.as_str()),
            Expr::Attribute(a) => &a.value,
            Expr::Subscript(s) => &s.value,
            Expr::Call(c) => match &*c.func {
                Expr::Attribute(a) => &a.value,
                _ => return None,
            },
            _ => return None,
        };
    }
}
