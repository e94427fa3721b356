//! Helpers shared by the expression-size rules (DL203, DL204): the one-line length of an
//! expression, and how its statement uses it (for concrete help texts).

use ruff_python_ast::visitor::{self, Visitor};
use ruff_text_size::{Ranged, TextRange};

use crate::registry::prelude::{Expr, Stmt};

/// The source of a node on one line: whitespace runs (including line breaks and indentation)
/// collapsed to one space. Lengths of multi-line expressions are measured on this form, so
/// that formatting does not change a finding.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// Length in characters of [`one_line`], without building the string.
pub(crate) fn one_line_len(text: &str) -> usize {
    let mut len = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && len > 0 {
                len += 1;
            }
            space = false;
            len += 1;
        }
    }
    len
}

/// The parts of a value expression whose size says nothing about how hard it is to read: the
/// arguments of calls (`Block(dim=..., heads=..., ...)` is one call however many keywords it
/// takes) and collection literals (`{...}`, `[...]`). Only outermost ones are collected; the
/// callee of a call is searched further (`a(x).b(y)` has two argument lists).
pub(crate) fn value_holes(expr: &Expr, holes: &mut Vec<TextRange>) {
    struct Holes<'h> {
        holes: &'h mut Vec<TextRange>,
    }
    impl<'a> Visitor<'a> for Holes<'_> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::Call(call) => {
                    if !call.arguments.is_empty() {
                        self.holes.push(call.arguments.range());
                    }
                    self.visit_expr(&call.func);
                }
                Expr::Dict(d) if !d.items.is_empty() => self.holes.push(d.range()),
                Expr::List(l) if !l.elts.is_empty() => self.holes.push(l.range()),
                Expr::Set(s) if !s.elts.is_empty() => self.holes.push(s.range()),
                Expr::Tuple(t) if t.parenthesized && !t.elts.is_empty() => {
                    self.holes.push(t.range());
                }
                _ => visitor::walk_expr(self, expr),
            }
        }
    }
    Holes { holes }.visit_expr(expr);
}

/// The one-line length of `text[range]` with every hole written as `(...)` (five characters)
/// and comments left out: how long the expression reads once call arguments and literals are
/// taken as one unit each.
pub(crate) fn skeleton_len(
    text: &str,
    range: TextRange,
    holes: &[TextRange],
    comments: &[TextRange],
) -> usize {
    let mut cuts: Vec<(TextRange, &str)> = holes
        .iter()
        .filter(|h| range.contains_range(**h))
        .map(|h| (*h, "(...)"))
        .collect();
    cuts.extend(
        comments
            .iter()
            .filter(|c| range.contains_range(**c) && !holes.iter().any(|h| h.contains_range(**c)))
            .map(|c| (*c, " ")),
    );
    cuts.sort_by_key(|(r, _)| (r.start(), r.end()));
    let mut out = String::with_capacity(range.len().to_usize());
    let mut at = range.start();
    for (cut, with) in cuts {
        if cut.start() < at {
            continue; // nested in an earlier cut
        }
        out.push_str(&text[TextRange::new(at, cut.start())]);
        out.push_str(with);
        at = cut.end();
    }
    out.push_str(&text[TextRange::new(at, range.end())]);
    one_line_len(&out)
}

/// `snippet` shortened to at most `max` characters, for messages.
pub(crate) fn shorten(snippet: &str, max: usize) -> String {
    if snippet.chars().count() <= max {
        return snippet.to_string();
    }
    let cut: String = snippet.chars().take(max.saturating_sub(3)).collect();
    format!("{cut}...")
}

/// The innermost statement of `body` (at any depth) whose range contains `range`: the
/// statement an expression belongs to. Found from the top when a finding needs it (statements
/// cannot nest inside expressions), not tracked at every statement of the walk.
pub(crate) fn enclosing_statement(body: &[Stmt], range: TextRange) -> Option<&Stmt> {
    struct Find<'a> {
        range: TextRange,
        found: Option<&'a Stmt>,
    }
    impl<'a> Visitor<'a> for Find<'a> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if stmt.range().contains_range(self.range) {
                self.found = Some(stmt);
                visitor::walk_stmt(self, stmt);
            }
        }
        fn visit_expr(&mut self, _expr: &'a Expr) {}
    }
    let mut find = Find { range, found: None };
    find.visit_body(body);
    find.found
}

/// How an expression is used by its statement, for concrete help texts.
pub(crate) enum Use<'t> {
    /// `name = <expr>` (or an annotated or augmented assignment, or an attribute target).
    Assigned(&'t str),
    /// `return <expr>`.
    Returned,
    Other,
}

/// Whether `range` is the whole value of an assignment or `return`.
pub(crate) fn use_of<'t>(text: &'t str, stmt: Option<&Stmt>, range: TextRange) -> Use<'t> {
    let Some(stmt) = stmt else {
        return Use::Other;
    };
    let (target, value) = match stmt {
        Stmt::Assign(assign) if assign.targets.len() == 1 => {
            (Some(&assign.targets[0]), Some(&*assign.value))
        }
        Stmt::AnnAssign(assign) => (Some(&*assign.target), assign.value.as_deref()),
        Stmt::AugAssign(assign) => (Some(&*assign.target), Some(&*assign.value)),
        Stmt::Return(ret) => {
            return match &ret.value {
                Some(value) if value.range() == range => Use::Returned,
                _ => Use::Other,
            };
        }
        _ => (None, None),
    };
    match (target, value) {
        (Some(target), Some(value))
            if value.range() == range && (target.is_name_expr() || target.is_attribute_expr()) =>
        {
            Use::Assigned(&text[target.range()])
        }
        _ => Use::Other,
    }
}
