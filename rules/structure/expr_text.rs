//! Helpers shared by the expression-size rules (DL203, DL204): the one-line length of an
//! expression, and how its statement uses it (for concrete help texts).

use ruff_text_size::{Ranged, TextRange};

use crate::registry::prelude::Stmt;

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

/// `snippet` shortened to at most `max` characters, for messages.
pub(crate) fn shorten(snippet: &str, max: usize) -> String {
    if snippet.chars().count() <= max {
        return snippet.to_string();
    }
    let cut: String = snippet.chars().take(max.saturating_sub(3)).collect();
    format!("{cut}...")
}

/// The statements enclosing the node being visited, innermost last. Rules that need to know
/// which statement an expression belongs to keep one: statements arrive before their children,
/// so popping the ones that do not contain the new statement leaves exactly its ancestors.
#[derive(Default)]
pub(crate) struct StmtStack<'a> {
    stack: Vec<&'a Stmt>,
}

impl<'a> StmtStack<'a> {
    pub(crate) fn push(&mut self, stmt: &'a Stmt) {
        while let Some(top) = self.stack.last() {
            if top.range().contains_range(stmt.range()) {
                break;
            }
            self.stack.pop();
        }
        self.stack.push(stmt);
    }

    /// The innermost statement containing `range`.
    pub(crate) fn enclosing(&self, range: TextRange) -> Option<&'a Stmt> {
        self.stack
            .iter()
            .rev()
            .find(|s| s.range().contains_range(range))
            .copied()
    }
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
