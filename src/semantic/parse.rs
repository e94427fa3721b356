//! Parsing: the one place that turns text into a syntax tree, and the depth guard every
//! tree passes before anything walks or drops it.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ModModule, Stmt};
use ruff_python_parser::Parsed;

/// Deepest AST nesting dllint walks. Measured: a counting visitor overflows a 2 MiB debug stack
/// at about 1,500 levels, and dropping a tree overflows at a few thousand; 256 leaves room for
/// the rules' own frames. Real code rarely nests deeper than 40.
pub const MAX_DEPTH: usize = 256;

/// True when the tree nests deeper than [`MAX_DEPTH`]. Checked before anything else walks or
/// drops the tree, so that no recursive code (ours or the AST crate's) can overflow the stack.
///
/// Most files are proven shallow from their tokens alone (see [`shallow_by_tokens`]); only the
/// rest are walked with a bounded-depth visitor.
pub fn is_too_deep(parsed: &Parsed<ModModule>) -> bool {
    if !parsed.has_syntax_errors() && shallow_by_tokens(parsed.tokens()) {
        return false;
    }
    is_too_deep_walk(parsed.syntax())
}

/// A cheap proof that a valid tree is shallow. Every AST node spans at least one token of its
/// logical line, except for statement wrappers and bodies, and each nesting of statements
/// needs one more indentation level. So the depth is at most about twice the indentation
/// depth plus twice the tokens of the longest logical line; if that bound is below
/// [`MAX_DEPTH`] the tree cannot be too deep. (Only used on files without syntax errors: error
/// recovery may synthesise nodes.)
fn shallow_by_tokens(tokens: &ruff_python_ast::token::Tokens) -> bool {
    use ruff_python_ast::token::TokenKind;
    let (mut indent, mut max_indent, mut line, mut max_line) = (0usize, 0usize, 0usize, 0usize);
    for token in tokens.iter() {
        match token.kind() {
            TokenKind::Indent => {
                indent += 1;
                max_indent = max_indent.max(indent);
            }
            TokenKind::Dedent => indent = indent.saturating_sub(1),
            TokenKind::Newline => {
                max_line = max_line.max(line);
                line = 0;
            }
            TokenKind::NonLogicalNewline | TokenKind::Comment => {}
            _ => line += 1,
        }
    }
    max_line = max_line.max(line);
    2 * (max_indent + 1) + 2 * max_line + 8 < MAX_DEPTH
}

fn is_too_deep_walk(module: &ModModule) -> bool {
    struct Guard {
        depth: usize,
        too_deep: bool,
    }
    impl<'a> Visitor<'a> for Guard {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if self.too_deep || self.depth >= MAX_DEPTH {
                self.too_deep = true;
                return;
            }
            self.depth += 1;
            visitor::walk_stmt(self, stmt);
            self.depth -= 1;
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.too_deep || self.depth >= MAX_DEPTH {
                self.too_deep = true;
                return;
            }
            self.depth += 1;
            visitor::walk_expr(self, expr);
            self.depth -= 1;
        }
    }
    let mut guard = Guard {
        depth: 0,
        too_deep: false,
    };
    guard.visit_body(&module.body);
    guard.too_deep
}
