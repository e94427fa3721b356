use ruff_python_ast::{BoolOp, ElifElseClause, UnaryOp};

use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds branches that can never run because their condition is constant: `if False:`,
    /// `if 0:`, `while False:`, `if False and ...:`, the `else` of `if True:`, and `if FLAG:`
    /// where `FLAG` is a module-level name bound exactly once, to a literal `False`, `0` or
    /// `None`, and never rebound (e.g. `USE_NEW_LOSS = False`).
    ///
    /// Not reported: `while True:` loops, `if False: yield` (the idiom that makes a function a
    /// generator), and `if False:` blocks that only import names (the old type-checking idiom).
    ///
    /// ## Why is this bad?
    /// Deep-learning code grows by trial and error; experiments that were switched off by
    /// editing a condition stay behind as dead code that readers still have to understand, and
    /// that nobody tests. An experiment worth keeping deserves a real switch.
    ///
    /// ## Example
    /// ```python
    /// USE_FOCAL_LOSS = False
    ///
    /// if USE_FOCAL_LOSS:
    ///     loss = focal_loss(logits, labels)
    /// else:
    ///     loss = F.cross_entropy(logits, labels)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// parser.add_argument("--loss", choices=["focal", "ce"], default="ce")
    /// ...
    /// loss = LOSSES[args.loss](logits, labels)
    /// ```
    pub static CONSTANT_CONDITION = {
        code: "DL301",
        name: "constant-condition",
        family: Family::DeadCode,
        severity: Severity::Warning,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::File(|_| Box::new(ConstantCondition::default())),
    };
}

/// Conditions are evaluated at the end of the walk, when it is known whether a flag is ever
/// rebound anywhere in the file.
#[derive(Default)]
struct ConstantCondition<'a> {
    /// Candidate statements and the functions enclosing them (for shadowing checks).
    candidates: Vec<(&'a Stmt, Vec<TextSize>)>,
}

impl<'a> FilePass<'a> for ConstantCondition<'a> {
    fn hooks(&self) -> Hooks {
        Hooks::STMT
    }

    fn stmt(&mut self, cx: &mut Context<'_, 'a>, stmt: &'a Stmt) {
        let tests_look_constant = match stmt {
            Stmt::If(if_stmt) => {
                may_be_constant(&if_stmt.test, 0)
                    || if_stmt
                        .elif_else_clauses
                        .iter()
                        .any(|c| c.test.as_ref().is_some_and(|t| may_be_constant(t, 0)))
            }
            Stmt::While(while_stmt) => may_be_constant(&while_stmt.test, 0),
            _ => false,
        };
        if tests_look_constant {
            self.candidates
                .push((stmt, cx.semantic.enclosing_functions()));
        }
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        let mut dead_regions: Vec<TextRange> = Vec::new();
        for (stmt, functions) in std::mem::take(&mut self.candidates) {
            if dead_regions.iter().any(|r| r.contains_range(stmt.range())) {
                continue; // Already inside a reported dead branch.
            }
            let scope = Scope {
                functions: &functions,
            };
            for finding in evaluate(cx, &scope, stmt) {
                dead_regions.push(finding.dead);
                report(cx, finding);
            }
        }
    }
}

/// A dead branch: the condition (or `else`) that makes it dead and the code that never runs.
struct DeadBranch {
    anchor: TextRange,
    dead: TextRange,
    reason: String,
}

/// The functions enclosing a condition: a local of the same name shadows a module flag.
struct Scope<'s> {
    functions: &'s [TextSize],
}

fn evaluate(cx: &Context<'_, '_>, scope: &Scope<'_>, stmt: &Stmt) -> Vec<DeadBranch> {
    let text = cx.text();
    let mut found = Vec::new();
    match stmt {
        Stmt::While(while_stmt)
            if constant_value(cx, scope, &while_stmt.test, 0) == Some(false)
                && !is_idiom_body(&while_stmt.body) =>
        {
            found.push(DeadBranch {
                anchor: while_stmt.test.range(),
                dead: body_range(&while_stmt.body),
                reason: format!(
                    "`while {}:` never runs its body",
                    &text[while_stmt.test.range()]
                ),
            });
        }
        Stmt::If(if_stmt) => {
            // Walk the chain `if` / `elif` / `else`; once a branch is always taken, every later
            // branch is dead.
            let mut taken: Option<String> = None;
            let first = (
                Some(&*if_stmt.test),
                &if_stmt.body[..],
                if_stmt.test.range(),
                "if",
            );
            let rest = if_stmt.elif_else_clauses.iter().map(|c: &ElifElseClause| {
                let keyword = if c.test.is_some() { "elif" } else { "else" };
                let anchor = c.test.as_ref().map_or_else(
                    || TextRange::at(c.range.start(), TextSize::new(4)),
                    Ranged::range,
                );
                (c.test.as_ref(), &c.body[..], anchor, keyword)
            });
            // Branches after an always-true one: (condition, first dead anchor, dead range).
            let mut after_taken: Option<(String, TextRange, TextRange)> = None;
            for (test, body, anchor, keyword) in std::iter::once(first).chain(rest) {
                if let Some(condition) = &taken {
                    let body = body_range(body);
                    match &mut after_taken {
                        Some((_, _, dead)) => *dead = TextRange::new(dead.start(), body.end()),
                        None => after_taken = Some((condition.clone(), anchor, body)),
                    }
                    continue;
                }
                let Some(test) = test else { break };
                match constant_value(cx, scope, test, 0) {
                    Some(false) if !is_idiom_body(body) => found.push(DeadBranch {
                        anchor,
                        dead: body_range(body),
                        reason: format!("`{keyword} {}:` is always false", &text[test.range()]),
                    }),
                    Some(true) => {
                        taken = Some(format!(
                            "`{keyword} {}:` is always true",
                            &text[test.range()]
                        ));
                    }
                    _ => {}
                }
            }
            if let Some((condition, anchor, dead)) = after_taken {
                found.push(DeadBranch {
                    anchor,
                    dead,
                    reason: format!("{condition}, so the branches after it never run"),
                });
            }
        }
        _ => {}
    }
    found
}

fn report(cx: &mut Context<'_, '_>, finding: DeadBranch) {
    let first = cx.source.line_of(finding.dead.start());
    let last = cx.source.line_of(finding.dead.end());
    let lines = if first == last {
        format!("line {first} is dead code")
    } else {
        format!("lines {first}-{last} are dead code")
    };
    cx.report(
        Diagnostic::new(
            &CONSTANT_CONDITION,
            format!("{}; {lines}", finding.reason),
            finding.anchor,
        )
        .with_label(finding.dead, "never runs")
        .with_help(
            "delete the dead branch, or put the experiment behind a real switch (a config or \
             command-line option) so it can be turned on without editing code",
        ),
    );
}

fn body_range(body: &[Stmt]) -> TextRange {
    match (body.first(), body.last()) {
        (Some(first), Some(last)) => TextRange::new(first.start(), last.end()),
        _ => TextRange::default(),
    }
}

/// `if False: yield` (makes a function a generator) and `if False: import ...` (the pre-PEP 484
/// type-checking idiom) are deliberate.
fn is_idiom_body(body: &[Stmt]) -> bool {
    let only_yield = body.iter().all(|s| {
        matches!(s, Stmt::Expr(e) if matches!(&*e.value, Expr::Yield(_) | Expr::YieldFrom(_)))
            || matches!(s, Stmt::Return(r) if r.value.is_none())
    }) && body.iter().any(|s| matches!(s, Stmt::Expr(_)));
    let only_imports = body
        .iter()
        .all(|s| matches!(s, Stmt::Import(_) | Stmt::ImportFrom(_)));
    only_yield || only_imports
}

/// Cheap structural test: literals, names, `not`, `and`/`or` of those.
fn may_be_constant(expr: &Expr, depth: usize) -> bool {
    if depth > 8 {
        return false;
    }
    match expr {
        Expr::BooleanLiteral(_) | Expr::NumberLiteral(_) | Expr::NoneLiteral(_) | Expr::Name(_) => {
            true
        }
        Expr::UnaryOp(op) if op.op == UnaryOp::Not => may_be_constant(&op.operand, depth + 1),
        Expr::BoolOp(op) => op.values.iter().any(|v| may_be_constant(v, depth + 1)),
        _ => false,
    }
}

/// The value of a condition when it is known statically.
fn constant_value(
    cx: &Context<'_, '_>,
    scope: &Scope<'_>,
    expr: &Expr,
    depth: usize,
) -> Option<bool> {
    if depth > 8 {
        return None;
    }
    match expr {
        Expr::BooleanLiteral(b) => Some(b.value),
        Expr::NoneLiteral(_) => Some(false),
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => Some(*i != 0),
            ast::Number::Float(f) => Some(*f != 0.0),
            ast::Number::Complex { .. } => None,
        },
        Expr::Name(name) => flag_value(cx, scope, name.id.as_str()),
        Expr::UnaryOp(op) if op.op == UnaryOp::Not => {
            constant_value(cx, scope, &op.operand, depth + 1).map(|v| !v)
        }
        Expr::BoolOp(op) => {
            let values: Vec<Option<bool>> = op
                .values
                .iter()
                .map(|v| constant_value(cx, scope, v, depth + 1))
                .collect();
            match op.op {
                BoolOp::And if values.contains(&Some(false)) => Some(false),
                BoolOp::Or if values.contains(&Some(true)) => Some(true),
                _ if values.iter().all(Option::is_some) => {
                    let all: Vec<bool> = values.into_iter().flatten().collect();
                    Some(match op.op {
                        BoolOp::And => all.iter().all(|v| *v),
                        BoolOp::Or => all.iter().any(|v| *v),
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `False` for a module-level flag bound exactly once, to `False`/`0`/`None`, never rebound at
/// module level or through `global`, and not shadowed by a local of an enclosing function.
fn flag_value(cx: &Context<'_, '_>, scope: &Scope<'_>, name: &str) -> Option<bool> {
    let binding = cx.semantic.module_binding(name)?;
    if binding.count != 1
        || scope
            .functions
            .iter()
            .any(|f| cx.semantic.binds_locally(*f, name))
    {
        return None;
    }
    match binding.first_value? {
        Expr::BooleanLiteral(b) if !b.value => Some(false),
        Expr::NoneLiteral(_) => Some(false),
        Expr::NumberLiteral(n) if matches!(&n.value, ast::Number::Int(i) if *i == 0) => Some(false),
        _ => None,
    }
}
