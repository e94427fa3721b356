use crate::knowledge::TrainingGradients;
use crate::refactor::{ParsedSource, child_bodies, find_loop_body};
use crate::registry::prelude::*;
use crate::semantic::facts::{GradKind, LossValue, ScopeFacts};

declare_rule! {
    /// ## What it does
    /// Finds a differentiated loss added to a Python accumulator that outlives the iteration
    /// of a training loop: `total_loss += loss`, `total = total + loss`, or
    /// `losses.append(loss)`, where `loss` is the tensor the loop calls `backward()` on.
    ///
    /// Not reported: a converted value (`loss.item()`, `loss.detach()`, `float(loss)`,
    /// `loss.data`, `.numpy()`), an accumulator reset in the same iteration or differentiated
    /// itself (`loss = 0; loss += l1; loss += l2; loss.backward()`), code under
    /// `torch.no_grad()`, and TensorFlow/JAX, whose losses carry no graph outside the tape.
    ///
    /// ## Why is this bad?
    /// A loss tensor references the whole autograd graph that produced it. Summing the tensors
    /// chains every iteration's graph to the accumulator, so memory grows with every batch
    /// until the epoch ends (or the process runs out of memory), and the sum is slower too.
    ///
    /// ## Example
    /// ```python
    /// total_loss = 0.0
    /// for x, y in loader:
    ///     loss = loss_fn(model(x), y)
    ///     loss.backward()
    ///     optimizer.step()
    ///     total_loss += loss
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// total_loss = 0.0
    /// for x, y in loader:
    ///     loss = loss_fn(model(x), y)
    ///     loss.backward()
    ///     optimizer.step()
    ///     total_loss += loss.item()
    /// ```
    pub static LOSS_ACCUMULATES_GRAPH = {
        code: "DL503",
        name: "loss-accumulates-graph",
        family: Family::Training,
        severity: Severity::Error,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    let scopes = std::iter::once(&facts.module).chain(facts.functions.iter().map(|f| &f.body));
    for scope in scopes {
        let backward: Vec<TextRange> = scope
            .losses()
            .grad_steps
            .iter()
            .filter(|s| s.kind == GradKind::Backward && s.in_loop.is_some())
            .map(|s| s.range)
            .collect();
        if backward.is_empty() {
            continue;
        }
        let losses: Vec<&LossValue> = scope
            .losses()
            .differentiated
            .iter()
            .filter(|v| v.in_loop.is_some() && v.consumer.is_some_and(|c| backward.contains(&c)))
            .collect();
        if losses.is_empty() {
            continue;
        }
        // Only files with a loop that differentiates a loss are parsed again.
        let Some(parsed) = cx.parsed() else { return };
        let text = parsed.text();
        let names: Vec<&str> = losses
            .iter()
            .map(|v| slice(text, v.range))
            .filter(|n| is_identifier(n))
            .collect();
        if names.is_empty() {
            continue;
        }
        let walker = Walker {
            cx,
            parsed,
            lists: &cx.knowledge().training.gradients,
            scope,
            names: &names,
        };
        // The outermost loops around a backward pass: an accumulator there outlives the
        // iteration that built the graph.
        let mut outermost: Vec<u32> = scope
            .losses()
            .grad_steps
            .iter()
            .filter(|s| s.kind == GradKind::Backward)
            .filter_map(|s| {
                let mut current = s.in_loop?;
                while let Some(parent) = scope.loops[current as usize].parent {
                    current = parent;
                }
                Some(current)
            })
            .collect();
        outermost.sort_unstable();
        outermost.dedup();
        for lp in outermost {
            let range = scope.loops[lp as usize].range;
            if !backward.iter().any(|b| range.contains_range(*b)) {
                continue;
            }
            let Some(body) = find_loop_body(&parsed.module().body, range) else {
                continue;
            };
            walker.walk(body, body, body, out);
        }
    }
}

struct Walker<'a, 'p> {
    cx: &'a ProjectContext<'p>,
    parsed: &'a ParsedSource,
    lists: &'p TrainingGradients,
    scope: &'p ScopeFacts,
    names: &'a [&'a str],
}

impl Walker<'_, '_> {
    /// `training` is the body of the outermost training loop, `iteration` the body of the
    /// innermost loop around `body`.
    fn walk(
        &self,
        body: &[Stmt],
        training: &[Stmt],
        iteration: &[Stmt],
        out: &mut Vec<Diagnostic>,
    ) {
        for stmt in body {
            match stmt {
                Stmt::AugAssign(s) if s.op == ast::Operator::Add => {
                    self.accumulation(stmt, &s.target, &s.value, training, iteration, out);
                }
                // `total = total + loss`
                Stmt::Assign(s) => {
                    if let [target @ Expr::Name(t)] = &s.targets[..]
                        && let Expr::BinOp(bin) = &*s.value
                        && bin.op == ast::Operator::Add
                        && matches!(&*bin.left, Expr::Name(l) if l.id == t.id)
                    {
                        self.accumulation(stmt, target, &bin.right, training, iteration, out);
                    }
                }
                // `losses.append(loss)`
                Stmt::Expr(s) => {
                    if let Expr::Call(call) = &*s.value
                        && let Expr::Attribute(attr) = &*call.func
                        && self
                            .lists
                            .list_add_methods
                            .iter()
                            .any(|m| m == attr.attr.as_str())
                        && let [value] = &call.arguments.args[..]
                        && call.arguments.keywords.is_empty()
                    {
                        self.accumulation(stmt, &attr.value, value, training, iteration, out);
                    }
                }
                Stmt::With(s) => {
                    if !s
                        .items
                        .iter()
                        .any(|item| self.is_no_grad(&item.context_expr))
                    {
                        self.walk(&s.body, training, iteration, out);
                    }
                }
                Stmt::For(s) => {
                    self.walk(&s.body, training, &s.body, out);
                    self.walk(&s.orelse, training, iteration, out);
                }
                Stmt::While(s) => {
                    self.walk(&s.body, training, &s.body, out);
                    self.walk(&s.orelse, training, iteration, out);
                }
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                other => {
                    for child in child_bodies(other) {
                        self.walk(child, training, iteration, out);
                    }
                }
            }
        }
    }

    fn accumulation(
        &self,
        stmt: &Stmt,
        accumulator: &Expr,
        value: &Expr,
        training: &[Stmt],
        iteration: &[Stmt],
        out: &mut Vec<Diagnostic>,
    ) {
        let Some(loss) = self.carried(value) else {
            return;
        };
        let text = self.parsed.text();
        let target = slice(text, accumulator.range());
        if target.is_empty() || target.contains('\n') {
            return;
        }
        // Reset in this iteration: a per-iteration sum (`loss = 0; loss += l1; ...`).
        if assigns(text, iteration, target, stmt.range()) {
            return;
        }
        // The accumulator is (part of) what is differentiated: it is the loss.
        let found = |s: &str| {
            if is_identifier(target) {
                mentions(s, target)
            } else {
                s.contains(target)
            }
        };
        if self
            .scope
            .losses()
            .differentiated
            .iter()
            .any(|v| found(slice(text, v.range)) || v.slice.iter().any(|s| found(slice(text, *s))))
        {
            return;
        }
        // `loss = loss.item()` in the loop: the name no longer holds the tensor.
        if rebinds_detached(self, training, loss) {
            return;
        }
        let statement = slice(text, stmt.range());
        let fixed = match accumulator {
            _ if matches!(stmt, Stmt::Expr(_)) => format!("{target}.append({loss}.item())"),
            _ => format!("{target} += {loss}.item()"),
        };
        let mut diagnostic = Diagnostic::new(
            &LOSS_ACCUMULATES_GRAPH,
            format!(
                "`{statement}` keeps the autograd graph of every iteration alive: `{loss}` is \
                 a tensor that is differentiated, and `{target}` outlives the iteration"
            ),
            stmt.range(),
        )
        .with_help(format!(
            "accumulate a number instead: `{fixed}` (or `{loss}.detach()` to keep it on the \
             device)"
        ));
        if let Some(consumer) = self
            .scope
            .losses()
            .differentiated
            .iter()
            .find(|v| slice(text, v.range) == loss)
            .and_then(|v| v.consumer)
        {
            diagnostic = diagnostic.with_label(consumer, "differentiated here");
        }
        out.push(diagnostic);
    }

    /// The differentiated loss name `expr` carries with its graph: `loss`, `loss * n`,
    /// `loss.mean()`, `loss[0]`; `None` once converted (`loss.item()`, `float(loss)`).
    fn carried<'e>(&self, expr: &'e Expr) -> Option<&'e str> {
        match expr {
            Expr::Name(n) => self.names.contains(&n.id.as_str()).then(|| n.id.as_str()),
            Expr::BinOp(b) => self.carried(&b.left).or_else(|| self.carried(&b.right)),
            Expr::UnaryOp(u) => self.carried(&u.operand),
            Expr::Subscript(s) => self.carried(&s.value),
            Expr::Call(call) => match &*call.func {
                Expr::Attribute(a) if !self.is_detach_method(a.attr.as_str()) => {
                    self.carried(&a.value)
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn is_detach_method(&self, name: &str) -> bool {
        self.lists.detach_methods.iter().any(|m| m == name)
    }

    fn is_detached(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Call(call) => match &*call.func {
                Expr::Attribute(a) => self.is_detach_method(a.attr.as_str()),
                Expr::Name(n) => self
                    .lists
                    .detach_builtins
                    .iter()
                    .any(|b| b == n.id.as_str()),
                _ => false,
            },
            Expr::Attribute(a) => self
                .lists
                .detach_attributes
                .iter()
                .any(|d| d == a.attr.as_str()),
            _ => false,
        }
    }

    fn is_no_grad(&self, expr: &Expr) -> bool {
        let func = match expr {
            Expr::Call(call) => &*call.func,
            other => other,
        };
        let Some(qualified) = self.parsed.names().resolve(func) else {
            return false;
        };
        let canonical = self.cx.knowledge().canonical(&qualified);
        self.lists
            .no_grad_contexts
            .iter()
            .any(|c| c.as_str() == canonical.as_ref())
    }
}

/// True if `name = <converted>` appears in `body` (nested blocks included).
fn rebinds_detached(walker: &Walker<'_, '_>, body: &[Stmt], name: &str) -> bool {
    body.iter().any(|stmt| match stmt {
        Stmt::Assign(a) => {
            walker.is_detached(&a.value)
                && a.targets
                    .iter()
                    .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == name))
        }
        Stmt::FunctionDef(_) | Stmt::ClassDef(_) => false,
        other => child_bodies(other)
            .into_iter()
            .any(|b| rebinds_detached(walker, b, name)),
    })
}

/// True if a plain assignment in `body` (nested blocks included, inner loops too: they run in
/// the same iteration) binds exactly `target`; `except` is the accumulation itself.
fn assigns(text: &str, body: &[Stmt], target: &str, except: TextRange) -> bool {
    body.iter().any(|stmt| match stmt {
        _ if stmt.range() == except => false,
        Stmt::Assign(a) => a.targets.iter().any(|t| match t {
            Expr::Tuple(tuple) => tuple.elts.iter().any(|e| slice(text, e.range()) == target),
            other => slice(text, other.range()) == target,
        }),
        Stmt::AnnAssign(a) => slice(text, a.target.range()) == target,
        Stmt::FunctionDef(_) | Stmt::ClassDef(_) => false,
        other => child_bodies(other)
            .into_iter()
            .any(|b| assigns(text, b, target, except)),
    })
}

fn slice(text: &str, range: TextRange) -> &str {
    text.get(range.start().to_usize()..range.end().to_usize())
        .unwrap_or("")
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// True if `text` contains `name` as a whole identifier.
fn mentions(text: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(|c| is_ident(c) || c == '.') && !after.is_some_and(is_ident)
    })
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn whole_identifiers() {
        assert!(mentions("torch.stack(losses).mean()", "losses"));
        assert!(!mentions("all_losses.mean()", "losses"));
        assert!(!mentions("self.losses", "losses"));
    }
}
