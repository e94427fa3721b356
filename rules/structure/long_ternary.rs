use ruff_python_ast::{CmpOp, ExprIf};

use rustc_hash::FxHashSet;

use super::expr_text::{
    Use, enclosing_statement, one_line, one_line_len, shorten, skeleton_len, use_of, value_holes,
};
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds conditional expressions (`a if cond else b`) that are hard to read:
    ///
    /// - a chain of three or more conditions in one expression
    ///   (`A if p else B if q else C if r else D`);
    /// - a chain of two conditions that picks the same value in two of its branches
    ///   (`torch.float32 if fp16 else (torch.bfloat16 if bf16 else torch.float32)`): either the
    ///   conditions can be merged, or one branch is a mistake;
    /// - a conditional expression used as the condition of another;
    /// - a conditional expression longer than `max-length` characters (default 150, measured
    ///   with line breaks and indentation collapsed to one space, comments left out, and the
    ///   arguments of calls and the contents of literals in its branches counted as `(...)`).
    ///
    /// Not reported: a two-condition chain with distinct values, the idiomatic way to pick a
    /// constant (`"cuda" if cuda else "mps" if mps else "cpu"`, a dtype from two precision
    /// flags); and expressions long only because of what their branches build — the
    /// optional-layer idiom `nn.MaxPool3d(kernel_size=..., stride=..., padding=...) if pool else
    /// nn.Identity()`, a call spread over lines by a formatter, or two dictionary literals of
    /// settings. A long *condition* is still measured in full.
    ///
    /// ## Why is this bad?
    /// A chain like `nn.ReLU() if act == "relu" else nn.GELU() if act == "gelu" else nn.SiLU()
    /// if act == "silu" else nn.Identity()` reads as one line but holds a whole
    /// `if`/`elif`/`else`: the conditions are easy to misread and impossible to step through in a
    /// debugger. Experiment switches pile up in exactly this form, and a branch repeated by
    /// copy-paste hides in it unnoticed.
    ///
    /// ## Example
    /// ```python
    /// act = (nn.ReLU() if name == "relu" else nn.GELU() if name == "gelu"
    ///        else nn.SiLU() if name == "silu" else nn.Identity())
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}
    /// act = ACTIVATIONS.get(name, nn.Identity)()
    /// ```
    ///
    /// ## Notebooks
    /// Linted: a nested or long conditional expression reads the same in a cell as in a module.
    pub static LONG_TERNARY = {
        code: "DL203",
        name: "long-ternary",
        family: Family::Structure,
        severity: Severity::Info,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[OptionSpec {
            key: "max-length",
            kind: OptionKind::Int,
            default: "150",
            doc: "The longest conditional expression allowed, in characters, with line breaks \
                  and indentation collapsed to one space, comments left out, and call arguments \
                  and literals in its branches counted as `(...)`.",
        }],
        check: Check::File(|options| {
            Box::new(LongTernary {
                max: usize::try_from(options.int(&LONG_TERNARY, "max-length"))
                    .unwrap_or(usize::MAX),
                chained: FxHashSet::default(),
                roots: Vec::new(),
            })
        }),
        needs: Needs::Nothing,
    };
}

struct LongTernary<'a> {
    max: usize,
    /// Conditional expressions that are a direct part of an earlier one (its condition or a
    /// branch): they belong to that chain.
    chained: FxHashSet<TextRange>,
    /// Conditional expressions that are not part of another's chain, in source order.
    roots: Vec<Root<'a>>,
}

struct Root<'a> {
    expr: &'a ExprIf,
}

/// The shape of one chain of conditional expressions.
struct Chain<'a> {
    conditions: usize,
    /// A conditional expression is the condition of another.
    in_condition: bool,
    /// The values the chain can produce (the branches that are not conditional expressions).
    leaves: Vec<&'a Expr>,
}

fn chain(expr: &ExprIf) -> Chain<'_> {
    fn walk<'a>(expr: &'a ExprIf, chain: &mut Chain<'a>, depth: usize) {
        chain.conditions += 1;
        if depth > 64 {
            return;
        }
        if let Expr::If(test) = &*expr.test {
            chain.in_condition = true;
            walk(test, chain, depth + 1);
        }
        for branch in [&*expr.body, &*expr.orelse] {
            match branch {
                Expr::If(inner) => walk(inner, chain, depth + 1),
                leaf => chain.leaves.push(leaf),
            }
        }
    }
    let mut out = Chain {
        conditions: 0,
        in_condition: false,
        leaves: Vec::new(),
    };
    walk(expr, &mut out, 0);
    out
}

fn register_chain(expr: &ExprIf, chained: &mut FxHashSet<TextRange>, depth: usize) {
    if depth > 64 {
        return;
    }
    for part in [&*expr.test, &*expr.body, &*expr.orelse] {
        if let Expr::If(inner) = part {
            chained.insert(inner.range);
            register_chain(inner, chained, depth + 1);
        }
    }
}

impl<'a> FilePass<'a> for LongTernary<'a> {
    fn hooks(&self) -> Hooks {
        Hooks::EXPR
    }

    fn expr(&mut self, _cx: &mut Context<'_, 'a>, expr: &'a Expr) {
        let Expr::If(if_expr) = expr else { return };
        // Expressions arrive before their children: a chain's parts are registered before
        // they are visited.
        if self.chained.contains(&if_expr.range) {
            return;
        }
        register_chain(if_expr, &mut self.chained, 0);
        self.roots.push(Root { expr: if_expr });
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        let text = cx.text();
        for root in std::mem::take(&mut self.roots) {
            let chain = chain(root.expr);
            let repeated = repeated_leaf(text, &chain.leaves);
            let (message, help) = if chain.in_condition {
                (
                    "conditional expression used as the condition of another".to_string(),
                    help(text, &cx.module.body, &root, chain.conditions),
                )
            } else if chain.conditions >= 3 {
                (
                    format!(
                        "nested conditional expression: {} conditions in one expression",
                        chain.conditions
                    ),
                    help(text, &cx.module.body, &root, chain.conditions),
                )
            } else if chain.conditions == 2
                && let Some(value) = repeated
            {
                let value = shorten(&one_line(value), 40);
                (
                    format!(
                        "nested conditional expression picks `{value}` in two of its {} branches",
                        chain.leaves.len()
                    ),
                    format!(
                        "two branches choose `{value}`: merge their conditions into one (`X if \
                         a or not b else Y`), or fix the branch that was meant to differ"
                    ),
                )
            } else {
                let mut holes = Vec::new();
                for leaf in &chain.leaves {
                    value_holes(leaf, &mut holes);
                }
                let length = skeleton_len(
                    text,
                    root.expr.range,
                    &holes,
                    cx.comments.comments_in_range(root.expr.range),
                );
                if length <= self.max {
                    continue;
                }
                (
                    format!(
                        "conditional expression is {length} characters long without its call \
                         arguments and literals (more than {})",
                        self.max
                    ),
                    help(text, &cx.module.body, &root, chain.conditions),
                )
            };
            cx.report(Diagnostic::new(&LONG_TERNARY, message, root.expr.range).with_help(help));
        }
    }
}

/// The source of a value that two branches of the chain produce, if any.
fn repeated_leaf<'t>(text: &'t str, leaves: &[&Expr]) -> Option<&'t str> {
    for (i, a) in leaves.iter().enumerate() {
        let a_text = &text[a.range()];
        if leaves[i + 1..]
            .iter()
            .any(|b| one_line(&text[b.range()]) == one_line(a_text))
        {
            return Some(a_text);
        }
    }
    None
}

fn help(text: &str, body: &[Stmt], root: &Root<'_>, conditions: usize) -> String {
    if let Some(lookup) = lookup_table(text, root.expr) {
        return lookup;
    }
    let branches = if conditions > 1 {
        "`if`/`elif`/`else`"
    } else {
        "`if`/`else`"
    };
    match use_of(
        text,
        enclosing_statement(body, root.expr.range),
        root.expr.range,
    ) {
        Use::Assigned(target) => {
            format!("assign `{target}` in an {branches} statement instead, one branch per line")
        }
        Use::Returned => {
            format!("use an {branches} statement with one `return` per branch instead")
        }
        Use::Other => format!(
            "compute the value before this statement in an {branches} statement (or a small \
             helper function) and give it a name"
        ),
    }
}

/// `A if x == "a" else B if x == "b" else C`: a lookup on one subject, better written as a
/// table. Returns the help text suggesting it.
fn lookup_table(text: &str, expr: &ExprIf) -> Option<String> {
    let mut subject: Option<&str> = None;
    let mut entries: Vec<(&str, &str)> = Vec::new();
    let mut current = expr;
    let default = loop {
        let Expr::Compare(compare) = &*current.test else {
            return None;
        };
        let [CmpOp::Eq] = &*compare.ops else {
            return None;
        };
        let [key] = &*compare.comparators else {
            return None;
        };
        if !matches!(key, Expr::StringLiteral(_) | Expr::NumberLiteral(_)) {
            return None;
        }
        let left = &text[compare.left.range()];
        if subject.is_some_and(|s| s != left) {
            return None;
        }
        subject = Some(left);
        entries.push((&text[key.range()], &text[current.body.range()]));
        match &*current.orelse {
            Expr::If(next) => current = next,
            other => break &text[other.range()],
        }
    };
    let subject = subject?;
    if entries.len() < 2 {
        return None;
    }
    let full = format!(
        "{{{}}}.get({subject}, {default})",
        entries
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let table = if one_line_len(&full) <= 100 {
        one_line(&full)
    } else {
        let keys: Vec<String> = entries.iter().map(|(k, _)| format!("{k}: ...")).collect();
        format!("{{{}}}.get({subject}, ...)", shorten(&keys.join(", "), 60))
    };
    Some(format!(
        "this chain looks up `{subject}`: use a table instead, e.g. `{table}` (store classes or \
         functions in it when the values are expensive to build)"
    ))
}
