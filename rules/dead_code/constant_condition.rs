use ruff_python_ast::helpers::any_over_expr;
use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
use ruff_python_ast::{BoolOp, ElifElseClause, UnaryOp};
use rustc_hash::FxHashSet;

use crate::fix::edits::{
    delete_stmt, indentation, line_end_with_newline, line_start, multiline_strings, reindent,
    sole_statements_in, starts_line,
};
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds branches that can never run because their condition is constant: `if False:`,
    /// `if 0:`, `while False:`, `if False and ...:`, the `else` of `if True:`, and `if FLAG:`
    /// where `FLAG` is a module-level name bound exactly once, to a literal `False`, `0` or
    /// `None`, and never rebound (e.g. `USE_NEW_LOSS = False`).
    ///
    /// A name is not a constant in a module that rebinds its globals at run time: `exec(...)`
    /// at module level (`exec(open(cfg).read())`, the config-file idiom), `globals()` written
    /// to or handed on anywhere (`globals().update(cfg)`, `globals()[k] = v`), `vars()` or
    /// `locals()` written to at module level, or a star import after the binding. No name of
    /// such a module is reported; literal conditions (`if False:`) still are.
    ///
    /// Not reported: `while True:` loops, `if False: yield` (the idiom that makes a function a
    /// generator), `if False:` blocks that only import names (the old type-checking idiom), and
    /// diagnostic switches — a flag whose name is a debug or verbosity switch (`DEBUG`,
    /// `KFAC_DEBUG`, `VERBOSE`), flipped by hand to print or trace, not an abandoned experiment.
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
    ///
    /// ## Notebooks
    /// Narrowed: in a notebook only literal conditions are reported (`if False:`, `while 0:`, the
    /// `else` of `if True:`). A module-level flag (`USE_AUGMENTATION = False`, a Colab `#@param`
    /// form field, a papermill parameters cell) is a parameter the reader sets before running the
    /// notebook, not dead code. `extend-notebook-ignore = ["DL301"]` skips notebooks entirely.
    pub static CONSTANT_CONDITION = {
        code: "DL301",
        name: "constant-condition",
        family: Family::DeadCode,
        severity: Severity::Warning,
        notebooks: Notebooks::Narrowed("literal conditions only, not module-level flags"),
        default_enabled: true,
        fix: FixAvailability::Sometimes,
        options: &[],
        check: Check::File(|_| Box::new(ConstantCondition::default())),
        needs: Needs::Nothing,
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
        let dynamic = if self.candidates.is_empty()
            || !(cx.spells_names_in_compatibility_forms() || DynamicGlobals::may_occur(cx.text()))
        {
            DynamicGlobals::default()
        } else {
            DynamicGlobals::of(cx)
        };
        let sole = std::cell::OnceCell::new();
        for (stmt, functions) in std::mem::take(&mut self.candidates) {
            if dead_regions.iter().any(|r| r.contains_range(stmt.range())) {
                continue; // Already inside a reported dead branch.
            }
            let scope = Scope {
                functions: &functions,
                module: &cx.module.body,
                sole: &sole,
                dynamic: &dynamic,
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
    fix: Option<Fix>,
}

/// The functions enclosing a condition: a local of the same name shadows a module flag.
struct Scope<'s> {
    functions: &'s [TextSize],
    module: &'s [Stmt],
    /// Statements alone in their block, read from the module when a fix first deletes one.
    sole: &'s std::cell::OnceCell<FxHashSet<TextRange>>,
    dynamic: &'s DynamicGlobals,
}

impl Scope<'_> {
    /// Whether the statement at `range` is alone in its block (deleting it leaves `pass`).
    fn is_sole(&self, range: TextRange) -> bool {
        self.sole
            .get_or_init(|| sole_statements_in(self.module))
            .contains(&range)
    }
}

/// How the module may rebind its globals at run time, out of sight of the bindings.
#[derive(Default)]
struct DynamicGlobals {
    /// `exec` at module level, `globals()` written to or handed on, `vars()`/`locals()`
    /// written to at module level: any global may change.
    anywhere: bool,
    /// Where module-level star imports start: each rebinds the names it exports.
    star_imports: Vec<TextSize>,
}

impl DynamicGlobals {
    /// False if the module cannot rebind its globals out of sight: its text names none of
    /// `globals`, `vars`, `locals` and `exec` and has no star import (`import` then `*`, with
    /// only blanks or line continuations between). For a text that spells every name as the
    /// parser reads it (see [`Context::spells_names_in_compatibility_forms`]),
    /// [`DynamicGlobals::of`] would then find nothing; this spares its walk.
    fn may_occur(text: &str) -> bool {
        let bytes = text.as_bytes();
        ["globals", "vars", "locals", "exec"]
            .iter()
            .any(|name| crate::source::contains_word(bytes, name.as_bytes()))
            || memchr::memmem::find_iter(bytes, b"import").any(|at| {
                bytes[at + b"import".len()..]
                    .iter()
                    .find(|b| !matches!(b, b' ' | b'\t' | b'\x0c' | b'\\' | b'\r' | b'\n'))
                    == Some(&b'*')
            })
    }

    fn of(cx: &Context<'_, '_>) -> DynamicGlobals {
        let mut finder = DynamicFinder {
            cx,
            nested: 0,
            found: DynamicGlobals::default(),
        };
        for stmt in &cx.module.body {
            finder.visit_stmt(stmt);
        }
        finder.found
    }

    /// True if a module-level binding at `at` may be replaced at run time.
    fn rebinds(&self, at: TextSize) -> bool {
        self.anywhere || self.star_imports.iter().any(|s| *s > at)
    }
}

struct DynamicFinder<'c, 'x, 'a> {
    cx: &'c Context<'x, 'a>,
    /// Depth of function, class and lambda bodies (0: module level).
    nested: usize,
    found: DynamicGlobals,
}

impl<'a> DynamicFinder<'_, '_, 'a> {
    /// `globals()` anywhere, `vars()`/`locals()` at module level (where they are the module's
    /// namespace): a call of the builtin without arguments.
    fn is_namespace(&self, expr: &Expr) -> bool {
        let Expr::Call(call) = expr else { return false };
        let Expr::Name(name) = &*call.func else {
            return false;
        };
        let id = name.id.as_str();
        call.arguments.is_empty()
            && self.cx.semantic.is_builtin(id)
            && (id == "globals" || (self.nested == 0 && matches!(id, "vars" | "locals")))
    }

    /// `exec(...)` of the builtin at module level.
    fn is_module_exec(&self, expr: &Expr) -> bool {
        self.nested == 0
            && matches!(expr, Expr::Call(call) if matches!(&*call.func, Expr::Name(name)
                if name.id.as_str() == "exec" && self.cx.semantic.is_builtin("exec")))
    }

    /// A read of the namespace, which changes nothing: `globals()[name]`,
    /// `globals().get(name)`, `name in globals()`. Visits the parts that are not the
    /// namespace and returns true if `expr` is one.
    fn visit_read(&mut self, expr: &'a Expr) -> bool {
        match expr {
            Expr::Subscript(sub)
                if sub.ctx == ast::ExprContext::Load && self.is_namespace(&sub.value) =>
            {
                self.visit_expr(&sub.slice);
                true
            }
            Expr::Call(call) => {
                let Expr::Attribute(attr) = &*call.func else {
                    return false;
                };
                let reads = matches!(
                    attr.attr.as_str(),
                    "get" | "keys" | "values" | "items" | "copy"
                );
                if !reads || !self.is_namespace(&attr.value) {
                    return false;
                }
                for arg in &*call.arguments.args {
                    self.visit_expr(arg);
                }
                true
            }
            Expr::Compare(compare)
                if compare
                    .ops
                    .iter()
                    .all(|op| matches!(op, ast::CmpOp::In | ast::CmpOp::NotIn))
                    && compare.comparators.iter().all(|c| self.is_namespace(c)) =>
            {
                self.visit_expr(&compare.left);
                true
            }
            _ => false,
        }
    }
}

impl<'a> Visitor<'a> for DynamicFinder<'_, '_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {
                self.nested += 1;
                walk_stmt(self, stmt);
                self.nested -= 1;
            }
            Stmt::ImportFrom(import)
                if self.nested == 0 && import.names.iter().any(|a| &a.name == "*") =>
            {
                self.found.star_imports.push(stmt.start());
            }
            _ => walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.found.anywhere || self.visit_read(expr) {
            return;
        }
        if self.is_namespace(expr) || self.is_module_exec(expr) {
            // Anything else done with the namespace may write to it.
            self.found.anywhere = true;
        } else if matches!(expr, Expr::Lambda(_)) {
            self.nested += 1;
            walk_expr(self, expr);
            self.nested -= 1;
        } else {
            walk_expr(self, expr);
        }
    }
}

fn evaluate(cx: &Context<'_, '_>, scope: &Scope<'_>, stmt: &Stmt) -> Vec<DeadBranch> {
    let text = cx.text();
    let mut found = Vec::new();
    match stmt {
        Stmt::While(while_stmt)
            if constant_value(cx, scope, &while_stmt.test, 0) == Some(false)
                && !is_idiom_body(&while_stmt.body) =>
        {
            let fix = if !is_pure(&while_stmt.test) {
                None
            } else if while_stmt.orelse.is_empty() {
                delete_stmt(text, stmt.range(), scope.is_sole(stmt.range()))
                    .map(|edit| Fix::safe("Remove the dead loop", vec![edit]))
            } else {
                let header = while_stmt
                    .orelse
                    .first()
                    .map_or(stmt.end(), |s| line_start(text, s.start()));
                keep_body(text, stmt, &while_stmt.orelse, header, scope)
                    .map(|edit| Fix::safe("Keep only the `else` of the dead loop", vec![edit]))
            };
            found.push(DeadBranch {
                anchor: while_stmt.test.range(),
                dead: body_range(&while_stmt.body),
                reason: format!(
                    "`while {}:` never runs its body",
                    &text[while_stmt.test.range()]
                ),
                fix,
            });
        }
        Stmt::If(if_stmt) => {
            // Walk the chain `if` / `elif` / `else`; once a branch is always taken, every later
            // branch is dead.
            let clauses: Vec<Clause<'_>> = std::iter::once(Clause {
                test: Some(&*if_stmt.test),
                body: &if_stmt.body[..],
                anchor: if_stmt.test.range(),
                start: if_stmt.start(),
                keyword: "if",
            })
            .chain(if_stmt.elif_else_clauses.iter().map(|c: &ElifElseClause| {
                let keyword = if c.test.is_some() { "elif" } else { "else" };
                let anchor = c.test.as_ref().map_or_else(
                    || TextRange::at(c.range.start(), TextSize::new(4)),
                    Ranged::range,
                );
                Clause {
                    test: c.test.as_ref(),
                    body: &c.body[..],
                    anchor,
                    start: c.range.start(),
                    keyword,
                }
            }))
            .collect();
            // The always-true branch, if any: (its index, the reason).
            let mut taken: Option<(usize, String)> = None;
            for (i, clause) in clauses.iter().enumerate() {
                let Some(test) = clause.test else { break };
                match constant_value(cx, scope, test, 0) {
                    Some(false) if !is_idiom_body(clause.body) => found.push(DeadBranch {
                        anchor: clause.anchor,
                        dead: body_range(clause.body),
                        reason: format!(
                            "`{} {}:` is always false",
                            clause.keyword,
                            &text[test.range()]
                        ),
                        fix: remove_false_clause(text, stmt, &clauses, i, scope),
                    }),
                    Some(true) => {
                        taken = Some((
                            i,
                            format!(
                                "`{} {}:` is always true",
                                clause.keyword,
                                &text[test.range()]
                            ),
                        ));
                        break;
                    }
                    _ => {}
                }
            }
            if let Some((i, condition)) = taken
                && i + 1 < clauses.len()
            {
                let first = &clauses[i + 1];
                let last = clauses.last().expect("non-empty");
                found.push(DeadBranch {
                    anchor: first.anchor,
                    dead: TextRange::new(
                        body_range(first.body).start(),
                        body_range(last.body).end(),
                    ),
                    reason: format!("{condition}, so the branches after it never run"),
                    fix: keep_taken_clause(text, stmt, &clauses, i, scope),
                });
            }
        }
        _ => {}
    }
    found
}

/// One branch of an `if` chain.
struct Clause<'a> {
    test: Option<&'a Expr>,
    body: &'a [Stmt],
    anchor: TextRange,
    /// Where the keyword (`if`, `elif`, `else`) starts.
    start: TextSize,
    keyword: &'static str,
}

/// A condition whose evaluation can be dropped: no calls, no assignments, no `await`/`yield`.
fn is_pure(test: &Expr) -> bool {
    !any_over_expr(test, |e| {
        matches!(
            e,
            Expr::Call(_) | Expr::Await(_) | Expr::Yield(_) | Expr::YieldFrom(_) | Expr::Named(_)
        )
    })
}

/// The first line of a clause's body, after its header (`if x:` / `else:`).
fn body_start(text: &str, clause: &Clause<'_>) -> TextSize {
    let header_end = clause.test.map_or(clause.start, Ranged::end);
    line_end_with_newline(text, header_end)
}

/// Replace `stmt` by `body` (starting at line `from`), moved to `stmt`'s indentation.
fn keep_body(
    text: &str,
    stmt: &Stmt,
    body: &[Stmt],
    from: TextSize,
    scope: &Scope<'_>,
) -> Option<Edit> {
    let (first, last) = (body.first()?, body.last()?);
    if body.iter().all(|s| matches!(s, Stmt::Pass(_))) {
        return delete_stmt(text, stmt.range(), scope.is_sole(stmt.range()));
    }
    if !starts_line(text, stmt.start()) {
        return None;
    }
    if !starts_line(text, first.start()) {
        // `if True: x = 1`: the body is on the header line.
        if text[TextRange::new(first.start(), last.end())].contains('\n') {
            return None;
        }
        return Some(Edit::replacement(
            stmt.range(),
            &text[TextRange::new(first.start(), last.end())],
        ));
    }
    let to = indentation(text, stmt.start());
    let from_indent = indentation(text, first.start());
    if from_indent.len() <= to.len() || !from_indent.starts_with(to) {
        return None;
    }
    let from = from.min(line_start(text, first.start()));
    let strings = multiline_strings(text, body);
    let lines = TextRange::new(from, last.end());
    let moved = reindent(text, lines, from_indent, to, &strings);
    let whole = TextRange::new(
        line_start(text, stmt.start()),
        line_end_with_newline(text, stmt.end()),
    );
    Some(Edit::replacement(whole, moved))
}

/// The fix for an always-false branch `clauses[i]`.
fn remove_false_clause(
    text: &str,
    stmt: &Stmt,
    clauses: &[Clause<'_>],
    i: usize,
    scope: &Scope<'_>,
) -> Option<Fix> {
    if !clauses[i].test.is_some_and(is_pure) {
        return None;
    }
    let edit = match (i, clauses.get(i + 1)) {
        // `if False: ...` alone: the whole statement goes.
        (0, None) => delete_stmt(text, stmt.range(), scope.is_sole(stmt.range()))?,
        // `if False: ... else: B` → B.
        (0, Some(next)) if next.test.is_none() => {
            keep_body(text, stmt, next.body, body_start(text, next), scope)?
        }
        // `if False: ... elif c: B` → `if c: B`.
        (0, Some(next)) => Edit::replacement(
            TextRange::new(stmt.start(), next.start + TextSize::new(4)),
            "if",
        ),
        // `elif False: ...`: the clause goes, up to the next one.
        (_, next) => {
            let start = line_start(text, clauses[i].start);
            let end = match next {
                Some(next) => line_start(text, next.start),
                None => line_end_with_newline(text, stmt.end()),
            };
            if !starts_line(text, clauses[i].start) {
                return None;
            }
            Edit::deletion(TextRange::new(start, end))
        }
    };
    Some(Fix::safe("Remove the dead branch", vec![edit]))
}

/// The fix for the branches after an always-true `clauses[i]`.
fn keep_taken_clause(
    text: &str,
    stmt: &Stmt,
    clauses: &[Clause<'_>],
    i: usize,
    scope: &Scope<'_>,
) -> Option<Fix> {
    let test = clauses[i].test?;
    if !is_pure(test) {
        return None;
    }
    if i == 0 {
        // `if True: A else: B` → A.
        let edit = keep_body(
            text,
            stmt,
            clauses[0].body,
            body_start(text, &clauses[0]),
            scope,
        )?;
        return Some(Fix::safe(
            "Keep only the branch that always runs",
            vec![edit],
        ));
    }
    // `elif True: A else: B` → `else: A`.
    let rest = &text[test.end().to_usize()..];
    let colon = rest.find(':')?;
    if !rest[..colon].chars().all(|c| c.is_whitespace() || c == ')') {
        return None;
    }
    let header = TextRange::new(
        clauses[i].start,
        test.end() + TextSize::try_from(colon + 1).ok()?,
    );
    let next = clauses.get(i + 1)?;
    if !starts_line(text, next.start) {
        return None;
    }
    Some(Fix::safe(
        "Remove the branches that never run",
        vec![
            Edit::replacement(header, "else:"),
            Edit::deletion(TextRange::new(
                line_start(text, next.start),
                line_end_with_newline(text, stmt.end()),
            )),
        ],
    ))
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
        )
        .with_optional_fix(finding.fix),
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
/// module level, through `global` or at run time (see [`DynamicGlobals`]), and not shadowed by
/// a local of an enclosing function.
fn flag_value(cx: &Context<'_, '_>, scope: &Scope<'_>, name: &str) -> Option<bool> {
    // In a notebook, a module-level flag is a parameter the reader sets before running
    // (a Colab form field, papermill's parameters cell).
    if cx.is_notebook() {
        return None;
    }
    // `DEBUG = False`, `KFAC_DEBUG = False`, `VERBOSE = 0`: a diagnostic switch the developer
    // flips by hand, not an abandoned experiment.
    let lower = name.to_ascii_lowercase();
    if lower.split('_').any(|token| {
        cx.knowledge
            .diagnostic_switch_words
            .iter()
            .any(|w| w == token)
    }) {
        return None;
    }
    let binding = cx.semantic.module_binding(name)?;
    let value = binding.first_value?;
    if binding.count != 1
        || scope.dynamic.rebinds(value.start())
        || scope
            .functions
            .iter()
            .any(|f| cx.semantic.binds_locally(*f, name))
    {
        return None;
    }
    match value {
        Expr::BooleanLiteral(b) if !b.value => Some(false),
        Expr::NoneLiteral(_) => Some(false),
        Expr::NumberLiteral(n) if matches!(&n.value, ast::Number::Int(i) if *i == 0) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::DynamicGlobals;

    /// The text test that spares the walk for dynamic globals finds every way of writing
    /// them, and only those.
    #[test]
    fn dynamic_globals_are_looked_for_only_where_the_text_may_hold_them() {
        for text in [
            "globals()['x'] = 1\n",
            "exec(code)\n",
            "vars().update(d)\n",
            "if True:\n    locals()['y'] = 2\n",
            "from m import *\n",
            "from m import\t*\n",
            "from m import \\\n    *\n",
        ] {
            assert!(DynamicGlobals::may_occur(text), "{text:?}");
        }
        for text in [
            "import important\nfrom m import star_args, x\n",
            "executor = make_executor()\nmy_globals = {}\nnvars = 3\n",
            "y = a * b  # import the product\n",
            "s = 'naïve café'\n",
        ] {
            assert!(!DynamicGlobals::may_occur(text), "{text:?}");
        }
    }
}
