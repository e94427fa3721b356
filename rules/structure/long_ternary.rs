use ruff_python_ast::{CmpOp, ExprIf};

use super::expr_text::{StmtStack, Use, one_line, one_line_len, shorten, use_of};
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds conditional expressions (`a if cond else b`) that nest another conditional
    /// expression, or that are longer than `max-length` characters (default 150, measured with
    /// line breaks and indentation collapsed to one space).
    ///
    /// ## Why is this bad?
    /// A chain like `nn.ReLU() if act == "relu" else nn.GELU() if act == "gelu" else
    /// nn.Identity()` reads as one line but holds a whole `if`/`elif`/`else`: the conditions are
    /// easy to misread and impossible to step through in a debugger. Experiment switches pile up
    /// in exactly this form.
    ///
    /// ## Example
    /// ```python
    /// act = nn.ReLU() if name == "relu" else nn.GELU() if name == "gelu" else nn.Identity()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU}
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
                  and indentation collapsed to one space.",
        }],
        check: Check::File(|options| {
            Box::new(LongTernary {
                max: usize::try_from(options.int(&LONG_TERNARY, "max-length"))
                    .unwrap_or(usize::MAX),
                stmts: StmtStack::default(),
                groups: Vec::new(),
            })
        }),
    };
}

struct LongTernary<'a> {
    max: usize,
    stmts: StmtStack<'a>,
    /// Outermost conditional expressions, in source order, with the number of conditional
    /// expressions inside each (itself included).
    groups: Vec<Group<'a>>,
}

struct Group<'a> {
    expr: &'a ExprIf,
    stmt: Option<&'a Stmt>,
    count: usize,
}

impl<'a> FilePass<'a> for LongTernary<'a> {
    fn hooks(&self) -> Hooks {
        Hooks::ALL
    }

    fn stmt(&mut self, _cx: &mut Context<'_, 'a>, stmt: &'a Stmt) {
        self.stmts.push(stmt);
    }

    fn expr(&mut self, _cx: &mut Context<'_, 'a>, expr: &'a Expr) {
        let Expr::If(if_expr) = expr else { return };
        // Expressions arrive before their children: a conditional expression inside the last
        // group's range is nested in it.
        if let Some(last) = self.groups.last_mut()
            && last.expr.range.contains_range(if_expr.range)
        {
            last.count += 1;
            return;
        }
        self.groups.push(Group {
            expr: if_expr,
            stmt: self.stmts.enclosing(if_expr.range),
            count: 1,
        });
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        for group in std::mem::take(&mut self.groups) {
            let source = &cx.text()[group.expr.range];
            let length = one_line_len(source);
            let message = if group.count > 1 {
                format!(
                    "nested conditional expression: {} conditions in one expression",
                    group.count
                )
            } else if length > self.max {
                format!(
                    "conditional expression is {length} characters long (more than {})",
                    self.max
                )
            } else {
                continue;
            };
            let help = help(cx.text(), &group);
            cx.report(Diagnostic::new(&LONG_TERNARY, message, group.expr.range).with_help(help));
        }
    }
}

fn help(text: &str, group: &Group<'_>) -> String {
    if let Some(lookup) = lookup_table(text, group.expr) {
        return lookup;
    }
    let branches = if group.count > 1 {
        "`if`/`elif`/`else`"
    } else {
        "`if`/`else`"
    };
    match use_of(text, group.stmt, group.expr.range) {
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
