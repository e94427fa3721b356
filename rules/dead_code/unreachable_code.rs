use ruff_python_ast::name::UnqualifiedName;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{ExceptHandler, ExprCall, ExprContext, StmtFunctionDef};
use ruff_source_file::LineRanges;
use rustc_hash::FxHashSet;

use crate::registry::prelude::*;
use crate::semantic::Frame;

declare_rule! {
    /// ## What it does
    /// Finds statements that can never run because they follow, in the same block, a
    /// statement that never completes: `return`, `raise`, `continue`, `break`, or a call that
    /// never returns (`sys.exit(...)`, `os._exit(...)`, the builtins `exit()` and `quit()`,
    /// `pytest.fail(...)`). Calls are resolved through the imports, so `from sys import exit`
    /// and `import sys as system` are recognised, and a local function named `exit` is not.
    ///
    /// Only the same block is examined; no flow analysis across branches is done. Not
    /// reported: a lone `yield` after `return` (the idiom that makes a function an empty
    /// generator), and code kept after a stop on purpose and said so — a `raise` whose message
    /// tells the reader what to do (`raise NotImplementedError("Please implement a reader
    /// here")`, "... refer to the new version"), a `# pylint: disable=unreachable` on the stop or
    /// the code after it, or nothing after the stop but string literals (a block comment in
    /// quotes).
    ///
    /// The fix deletes the unreachable statements. It is safe, except where deleting them
    /// changes what the function means even though they never run: a `yield` that makes the
    /// function a generator, a `global`/`nonlocal` declaration, or the only binding of a local
    /// name that the function reads elsewhere (deleting it would turn the name global).
    ///
    /// A string literal right after `return "..."` is reported as what it almost always is: the
    /// rest of the returned string, cut off by a missing pair of parentheses (`return "a"`
    /// then `"b"` on the next line returns only `"a"`). It gets no fix: deleting the string
    /// would hide the bug.
    ///
    /// ## Why is this bad?
    /// Code after a `return` or a `sys.exit()` is a leftover of an experiment: an early return
    /// added to skip the rest while debugging, an old variant kept "for later". Readers assume
    /// it runs; it silently does not.
    ///
    /// ## Example
    /// ```python
    /// def evaluate(model, loader):
    ///     acc = accuracy(model, loader)
    ///     return acc
    ///     f1 = f1_score(model, loader)
    ///     return acc, f1
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def evaluate(model, loader):
    ///     return accuracy(model, loader)
    /// ```
    ///
    /// ## Notebooks
    /// Linted: a statement after `return`, `raise` or `sys.exit()` never runs, in a cell as
    /// anywhere else.
    pub static UNREACHABLE_CODE = {
        code: "DL303",
        name: "unreachable-code",
        family: Family::DeadCode,
        severity: Severity::Warning,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::Sometimes,
        options: &[],
        check: Check::File(|_| Box::new(UnreachableCode::default())),
        needs: Needs::Nothing,
    };
}

/// Statements that might end their block, collected during the walk and decided at the end,
/// when every import of the file is known (an `import sys` may come after the function).
#[derive(Default)]
struct UnreachableCode<'a> {
    candidates: Vec<Candidate<'a>>,
}

struct Candidate<'a> {
    body: &'a [Stmt],
    index: usize,
    /// The function whose local scope the block is in (`None` at module or class level).
    function: Option<&'a StmtFunctionDef>,
}

impl<'a> FilePass<'a> for UnreachableCode<'a> {
    fn hooks(&self) -> Hooks {
        Hooks::STMT
    }

    fn stmt(&mut self, cx: &mut Context<'_, 'a>, stmt: &'a Stmt) {
        let function = scope_function(cx);
        match stmt {
            Stmt::FunctionDef(def) => self.scan(cx, &def.body, Some(def)),
            Stmt::ClassDef(class) => self.scan(cx, &class.body, None),
            Stmt::If(if_stmt) => {
                self.scan(cx, &if_stmt.body, function);
                for clause in &if_stmt.elif_else_clauses {
                    self.scan(cx, &clause.body, function);
                }
            }
            Stmt::For(for_stmt) => {
                self.scan(cx, &for_stmt.body, function);
                self.scan(cx, &for_stmt.orelse, function);
            }
            Stmt::While(while_stmt) => {
                self.scan(cx, &while_stmt.body, function);
                self.scan(cx, &while_stmt.orelse, function);
            }
            Stmt::With(with) => self.scan(cx, &with.body, function),
            Stmt::Try(try_stmt) => {
                self.scan(cx, &try_stmt.body, function);
                for handler in &try_stmt.handlers {
                    let ExceptHandler::ExceptHandler(handler) = handler;
                    self.scan(cx, &handler.body, function);
                }
                self.scan(cx, &try_stmt.orelse, function);
                self.scan(cx, &try_stmt.finalbody, function);
            }
            Stmt::Match(match_stmt) => {
                for case in &match_stmt.cases {
                    self.scan(cx, &case.body, function);
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        let module = cx.module;
        self.scan(cx, &module.body, None);
        let mut reported: Option<*const Stmt> = None;
        for candidate in std::mem::take(&mut self.candidates) {
            let body = candidate.body;
            if reported == Some(body.as_ptr()) {
                continue; // Already reported from an earlier terminator of the same block.
            }
            let Some(terminator) = terminator(cx, &body[candidate.index]) else {
                continue;
            };
            if deliberate(cx, &body[candidate.index], &body[candidate.index + 1..]) {
                continue;
            }
            reported = Some(body.as_ptr());
            report(cx, &candidate, &terminator);
        }
    }
}

impl<'a> UnreachableCode<'a> {
    /// Record every statement of `body` (but the last) that may end the block, up to the first
    /// one that certainly does.
    fn scan(
        &mut self,
        cx: &Context<'_, 'a>,
        body: &'a [Stmt],
        function: Option<&'a StmtFunctionDef>,
    ) {
        let Some((_, init)) = body.split_last() else {
            return;
        };
        for (index, stmt) in init.iter().enumerate() {
            let certain = match stmt {
                Stmt::Return(_) | Stmt::Raise(_) | Stmt::Break(_) | Stmt::Continue(_) => true,
                Stmt::Expr(e) if may_not_return(cx, &e.value) => false,
                _ => continue,
            };
            if is_generator_idiom(&body[index + 1..]) {
                return;
            }
            self.candidates.push(Candidate {
                body,
                index,
                function,
            });
            if certain {
                return;
            }
        }
    }
}

/// The function whose local scope the statement being visited is in.
fn scope_function<'a>(cx: &Context<'_, 'a>) -> Option<&'a StmtFunctionDef> {
    match cx
        .semantic
        .frames()
        .iter()
        .rev()
        .find(|f| !matches!(f, Frame::Loop(_)))
    {
        Some(Frame::Function(def)) => Some(*def),
        _ => None,
    }
}

/// A cheap syntactic filter: a call whose callee's last name is one of the never-returning
/// names (`exit`, `_exit`, `fail`, ...), or a bare name imported under another name
/// (`from sys import exit as leave`).
fn may_not_return(cx: &Context<'_, '_>, expr: &Expr) -> bool {
    let Expr::Call(call) = expr else { return false };
    let last = match &*call.func {
        Expr::Name(name) => name.id.as_str(),
        Expr::Attribute(attr) => attr.attr.as_str(),
        _ => return false,
    };
    cx.knowledge.no_return_names.iter().any(|n| n == last)
        || (call.func.is_name_expr() && no_return_call(cx, call).is_some())
}

/// Code kept after a stop on purpose, and said so: a `raise` whose message tells the reader what
/// to do (`raise NotImplementedError("Please implement a reader here")`, "you are using an old
/// version, refer to ..."), a `# pylint: disable=unreachable` on the stop or the code after it,
/// or nothing after the stop but string literals (a block comment in quotes).
fn deliberate(cx: &Context<'_, '_>, stop: &Stmt, rest: &[Stmt]) -> bool {
    if let Stmt::Raise(raise) = stop
        && let Some(Expr::Call(call)) = raise.exc.as_deref()
        && let Some(Expr::StringLiteral(message)) = call.arguments.args.first()
    {
        let message = message.value.to_str().to_ascii_lowercase();
        let words = &cx.knowledge.deliberate_stop_words;
        if words.iter().any(|w| {
            message
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|token| token == w)
                || (w.contains(' ') && message.contains(w.as_str()))
        }) {
            return true;
        }
    }
    if rest
        .iter()
        .all(|s| matches!(s, Stmt::Expr(e) if e.value.is_string_literal_expr()))
        && !stop_returns_string(stop)
    {
        return true;
    }
    let text = cx.text();
    let (Some(last), start) = (rest.last(), text.line_start(stop.start())) else {
        return false;
    };
    let span = &text[start.to_usize()..text.line_end(last.end()).to_usize()];
    span.contains("pylint: disable=unreachable") || span.contains("pylint:disable=unreachable")
}

/// `return "..."`: a string after it is the cut-off continuation, reported with its own message.
fn stop_returns_string(stop: &Stmt) -> bool {
    matches!(stop, Stmt::Return(r) if r.value.as_deref().is_some_and(Expr::is_string_literal_expr))
}

/// `return` followed by nothing but one `yield`: the deliberate way to write an empty generator.
fn is_generator_idiom(rest: &[Stmt]) -> bool {
    matches!(rest, [Stmt::Expr(e)] if matches!(&*e.value, Expr::Yield(_) | Expr::YieldFrom(_)))
}

/// What ends the block, described for messages: `return`, `sys.exit()`, ...
struct Terminator {
    stmt_range: TextRange,
    what: String,
}

fn terminator(cx: &Context<'_, '_>, stmt: &Stmt) -> Option<Terminator> {
    let what = match stmt {
        Stmt::Return(_) => "`return`".to_string(),
        Stmt::Raise(raise) => match raise.exc.as_deref() {
            Some(exc) => {
                let name = match exc {
                    Expr::Call(call) => &*call.func,
                    other => other,
                };
                match UnqualifiedName::from_expr(name) {
                    Some(name) => format!("`raise {name}`"),
                    None => "`raise`".to_string(),
                }
            }
            None => "`raise`".to_string(),
        },
        Stmt::Break(_) => "`break`".to_string(),
        Stmt::Continue(_) => "`continue`".to_string(),
        Stmt::Expr(e) => {
            let Expr::Call(call) = &*e.value else {
                return None;
            };
            format!("`{}(...)`", no_return_call(cx, call)?)
        }
        _ => return None,
    };
    Some(Terminator {
        stmt_range: stmt.range(),
        what,
    })
}

/// The qualified name of a call that never returns, if `call` is one.
fn no_return_call(cx: &Context<'_, '_>, call: &ExprCall) -> Option<String> {
    let knowledge = cx.knowledge;
    if let Expr::Name(name) = &*call.func {
        let id = name.id.as_str();
        if knowledge.no_return_builtins.iter().any(|b| b == id) && cx.semantic.is_builtin(id) {
            return Some(id.to_string());
        }
    }
    let qualified = cx.semantic.resolve(&call.func)?;
    let canonical = knowledge.canonical(&qualified);
    if knowledge.no_return_calls.contains(&canonical) {
        Some(canonical.into_owned())
    } else {
        None
    }
}

fn report(cx: &mut Context<'_, '_>, candidate: &Candidate<'_>, terminator: &Terminator) {
    let text = cx.text();
    let rest = &candidate.body[candidate.index + 1..];
    let (Some(first), Some(last)) = (rest.first(), rest.last()) else {
        return;
    };
    let first_line = cx.source.line_of(first.start());
    let last_line = cx.source.line_of(last.end());
    let lines = if first_line == last_line {
        format!("line {first_line}")
    } else {
        format!("lines {first_line}-{last_line}")
    };
    let count = if rest.len() == 1 {
        "1 statement".to_string()
    } else {
        format!("{} statements", rest.len())
    };
    // The primary span is the first line of the first unreachable statement.
    let primary = TextRange::new(first.start(), first.end().min(text.line_end(first.start())));
    // Delete whole lines, unless the first unreachable statement shares its line with the
    // terminator (`return x; y = 1`): then delete from the end of the terminator.
    let removed = if cx.source.line_of(terminator.stmt_range.end()) == first_line {
        TextRange::new(terminator.stmt_range.end(), last.end())
    } else {
        TextRange::new(
            text.line_start(first.start()),
            text.full_line_end(last.end()),
        )
    };
    if is_cut_off_string(&candidate.body[candidate.index], first) {
        cx.report(
            Diagnostic::new(
                &UNREACHABLE_CODE,
                "unreachable code: a string after `return` is never used: did you mean to \
                 continue the returned string in parentheses?",
                primary,
            )
            .with_label(terminator.stmt_range, "only this string is returned")
            .with_help(
                "wrap the returned string and its continuation in parentheses, `return (\"...\" \
                 \"...\")`, so that they are one string; delete the line only if it is a leftover",
            ),
        );
        return;
    }
    let safe = fix_is_safe(candidate.function, rest, removed);
    let applicability = if safe {
        Applicability::Safe
    } else {
        Applicability::Unsafe
    };
    let abstract_hint = if terminator.what.contains("NotImplementedError") {
        " (an abstract method needs nothing after `raise NotImplementedError`)"
    } else {
        ""
    };
    cx.report(
        Diagnostic::new(
            &UNREACHABLE_CODE,
            format!(
                "unreachable code: {count} after {} in the same block never run{}",
                terminator.what,
                if rest.len() == 1 { "s" } else { "" }
            ),
            primary,
        )
        .with_label(terminator.stmt_range, "the block always ends here")
        .with_help(format!(
            "delete {lines}{abstract_hint}; if {} should run, move {} before {}",
            if rest.len() == 1 { "it" } else { "they" },
            if rest.len() == 1 { "it" } else { "them" },
            terminator.what
        ))
        .with_fix(Fix {
            title: format!("Delete the unreachable code ({lines})"),
            applicability,
            edits: vec![Edit::deletion(removed)],
            other_files: Vec::new(),
        }),
    );
}

/// `return "..."` followed by a string literal statement: implicit concatenation cut off by a
/// missing pair of parentheses.
fn is_cut_off_string(terminator: &Stmt, next: &Stmt) -> bool {
    let is_string = |e: &Expr| {
        matches!(
            e,
            Expr::StringLiteral(_) | Expr::FString(_) | Expr::BytesLiteral(_)
        )
    };
    matches!(terminator, Stmt::Return(r) if r.value.as_deref().is_some_and(is_string))
        && matches!(next, Stmt::Expr(e) if is_string(&e.value))
}

/// Deleting code that never runs keeps behaviour, except where the code still shapes the
/// function at compile time: a `yield` makes it a generator, `global`/`nonlocal` and any
/// binding decide which names are local. Those cases make the fix unsafe unless the rest of
/// the function keeps the same shape.
fn fix_is_safe(function: Option<&StmtFunctionDef>, rest: &[Stmt], removed: TextRange) -> bool {
    let mut deleted = Names::default();
    for stmt in rest {
        deleted.visit_stmt(stmt);
    }
    if deleted.scope_declaration {
        return false;
    }
    let Some(function) = function else {
        // Module and class scopes resolve names at run time.
        return true;
    };
    if deleted.stores.is_empty() && !deleted.yields {
        return true;
    }
    let mut kept = Names {
        skip: Some(removed),
        ..Names::default()
    };
    for param in function.parameters.iter() {
        kept.stores.insert(param.name().as_str().to_string());
    }
    for stmt in &function.body {
        kept.visit_stmt(stmt);
    }
    if deleted.yields && !kept.yields {
        return false;
    }
    deleted
        .stores
        .iter()
        .all(|name| kept.stores.contains(name) || !kept.loads.contains(name))
}

/// Names bound in one function scope (not in nested functions, lambdas or classes), names read
/// anywhere (nested scopes included, conservatively), and whether the scope yields.
#[derive(Default)]
struct Names {
    /// Statements inside this range are not visited.
    skip: Option<TextRange>,
    stores: FxHashSet<String>,
    loads: FxHashSet<String>,
    yields: bool,
    scope_declaration: bool,
    /// Depth of nested scopes being visited (stores there are not this scope's).
    nested: usize,
}

impl<'a> Visitor<'a> for Names {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.skip.is_some_and(|r| r.contains_range(stmt.range())) {
            return;
        }
        if self.nested == 0 {
            match stmt {
                Stmt::FunctionDef(def) => {
                    self.stores.insert(def.name.to_string());
                }
                Stmt::ClassDef(class) => {
                    self.stores.insert(class.name.to_string());
                }
                Stmt::Import(import) => {
                    for alias in &import.names {
                        let local = match &alias.asname {
                            Some(asname) => asname.as_str(),
                            None => alias.name.as_str().split('.').next().unwrap_or_default(),
                        };
                        self.stores.insert(local.to_string());
                    }
                }
                Stmt::ImportFrom(import) => {
                    for alias in &import.names {
                        let local = alias.asname.as_ref().unwrap_or(&alias.name);
                        self.stores.insert(local.to_string());
                    }
                }
                Stmt::Global(_) | Stmt::Nonlocal(_) => self.scope_declaration = true,
                // Pattern captures bind names too; treat a `match` as binding everything.
                Stmt::Match(_) => self.scope_declaration = true,
                Stmt::Try(try_stmt) => {
                    for handler in &try_stmt.handlers {
                        let ExceptHandler::ExceptHandler(handler) = handler;
                        if let Some(name) = &handler.name {
                            self.stores.insert(name.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {
                self.nested += 1;
                visitor::walk_stmt(self, stmt);
                self.nested -= 1;
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(name) => match name.ctx {
                ExprContext::Load => {
                    self.loads.insert(name.id.to_string());
                }
                ExprContext::Store | ExprContext::Del if self.nested == 0 => {
                    self.stores.insert(name.id.to_string());
                }
                _ => {}
            },
            Expr::Yield(_) | Expr::YieldFrom(_) if self.nested == 0 => self.yields = true,
            // Lambdas and comprehensions have their own scopes (their targets are not bindings
            // of the function).
            Expr::Lambda(_)
            | Expr::ListComp(_)
            | Expr::SetComp(_)
            | Expr::DictComp(_)
            | Expr::Generator(_) => {
                self.nested += 1;
                visitor::walk_expr(self, expr);
                self.nested -= 1;
                return;
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}
