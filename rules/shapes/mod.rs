//! `DL4xx`: tensor-shape documentation. The signature facts (annotations, docstrings, inline
//! comments, dimension names the body uses) come from the walk (`semantic::signature`); these
//! rules judge them with the project's roles.

pub mod missing_shape_annotation;
pub mod shape_annotation_mismatch;

use crate::rule_context::ProjectContext;
use crate::semantic::facts::{ClassId, Role};

/// The MODLR role whose shape documentation a class's forward-like methods owe: Loss wins over
/// Model (a criterion subclassing `nn.Module` is a Loss).
pub(crate) fn shape_role(cx: &ProjectContext<'_>, class: ClassId) -> Option<Role> {
    let roles = &cx.roles.class(cx.file, class).roles;
    if roles.contains(Role::Loss) {
        Some(Role::Loss)
    } else if roles.contains(Role::Model) {
        Some(Role::Model)
    } else {
        None
    }
}

/// One dimension of a shape string, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dim {
    /// `3`
    Fixed(u64),
    /// `b`, `#b`, `_b`, `h*w`, `dim-1`
    Named(String),
    /// `c=3` (torchtyping `"c": 3`): a name with a fixed size.
    NamedFixed(String, u64),
    /// `...`, `*batch`: any number of dimensions.
    Variadic,
    /// `_`: any size.
    Any,
}

/// Parse a jaxtyping dimension string (`"batch c h w"`, `"*b n 3"`, `"... d+1"`), or say what
/// is wrong with it.
pub(crate) fn parse_dims(text: &str) -> Result<Vec<Dim>, String> {
    let mut dims = Vec::new();
    let mut variadics = 0;
    if text.contains(',') {
        return Err(
            "dimensions are separated by spaces, not commas (`\"b c\"`, not `\"b, c\"`)".into(),
        );
    }
    for token in text.split_whitespace() {
        if token == "..." {
            variadics += 1;
            dims.push(Dim::Variadic);
            continue;
        }
        let mut rest = token;
        let mut star = false;
        // Modifiers: `*` variadic, `#` broadcastable, `?` may vary, `_` unchecked name.
        while let Some(first) = rest.chars().next() {
            match first {
                '*' if !star => star = true,
                '#' | '?' => {}
                _ => break,
            }
            rest = &rest[1..];
        }
        if rest.is_empty() {
            return Err(format!("`{token}` names no dimension"));
        }
        if let Some((name, size)) = rest.split_once('=') {
            if !is_identifier(name) {
                return Err(format!("`{token}`: `{name}` is not a dimension name"));
            }
            let Ok(size) = size.parse::<u64>() else {
                return Err(format!("`{token}`: `{size}` is not a size"));
            };
            dims.push(Dim::NamedFixed(name.to_string(), size));
            continue;
        }
        if star {
            if !is_identifier(rest) {
                return Err(format!(
                    "`{token}`: a variadic dimension is `*name`, and `{rest}` is not a name"
                ));
            }
            variadics += 1;
            dims.push(Dim::Variadic);
            continue;
        }
        if rest == "_" {
            dims.push(Dim::Any);
        } else if let Ok(size) = rest.parse::<u64>() {
            dims.push(Dim::Fixed(size));
        } else if is_identifier(rest) {
            dims.push(Dim::Named(rest.trim_start_matches('_').to_string()));
        } else if is_expression(rest) {
            dims.push(Dim::Named(rest.to_string()));
        } else {
            return Err(format!("`{token}` is not a dimension"));
        }
    }
    if variadics > 1 {
        return Err("a shape can have only one variadic dimension (`...` or `*name`)".into());
    }
    Ok(dims)
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// `h*w`, `dim-1`, `(n+1)//2`: names and integers joined by arithmetic, brackets balanced.
fn is_expression(text: &str) -> bool {
    let mut depth = 0i32;
    let mut expect_operand = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' if expect_operand => depth += 1,
            ')' if !expect_operand => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            '+' | '-' | '*' | '/' if !expect_operand => {
                if c == '/' && chars.peek() == Some(&'/') {
                    chars.next();
                }
                if c == '*' && chars.peek() == Some(&'*') {
                    chars.next();
                }
                expect_operand = true;
            }
            c if expect_operand && (c.is_alphanumeric() || c == '_') => {
                while chars
                    .peek()
                    .is_some_and(|n| n.is_alphanumeric() || *n == '_')
                {
                    chars.next();
                }
                expect_operand = false;
            }
            _ => return false,
        }
    }
    depth == 0 && !expect_operand
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_jaxtyping_dims() {
        for ok in [
            "batch c h w",
            "*batch n 3",
            "... d",
            "#b _ _c h*w",
            "dim-1 (n+1)//2",
            "",
            "c=3 b",
            "?n",
        ] {
            assert!(parse_dims(ok).is_ok(), "{ok}");
        }
        for bad in ["b, c", "... *b", "b c)", "*", "h**", "3.5", "b c=x", "*3"] {
            assert!(parse_dims(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_dims("b 3 ...").unwrap(),
            vec![Dim::Named("b".into()), Dim::Fixed(3), Dim::Variadic]
        );
    }
}
