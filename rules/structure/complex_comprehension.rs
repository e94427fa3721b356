use ruff_python_ast::Comprehension;

use super::expr_text::{StmtStack, Use, one_line_len, use_of};
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds comprehensions (list, set, dict and generator expressions) that are too complex to
    /// read at a glance: more than two `for`/`if` clauses in total, a comprehension nested inside
    /// another one, or longer than `max-length` characters (default 150, measured with line
    /// breaks and indentation collapsed to one space).
    ///
    /// The flattening idiom `[x for row in rows for x in row]` (two clauses) is fine.
    ///
    /// ## Why is this bad?
    /// Data-preparation code is full of comprehensions that filter, flatten and transform in one
    /// expression. Past two clauses the reader has to untangle the evaluation order in their
    /// head; a nested comprehension hides a loop inside a loop. Neither can be stepped through or
    /// given intermediate names, which is where data bugs hide.
    ///
    /// ## Example
    /// ```python
    /// tokens = [tok.lower() for doc in docs if doc.lang == "en" for tok in doc.split() if tok]
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// english = [doc for doc in docs if doc.lang == "en"]
    /// tokens = []
    /// for doc in english:
    ///     tokens.extend(tok.lower() for tok in doc.split() if tok)
    /// ```
    ///
    /// ## Notebooks
    /// Linted: a nested or long comprehension reads the same in a cell as in a module.
    pub static COMPLEX_COMPREHENSION = {
        code: "DL204",
        name: "complex-comprehension",
        family: Family::Structure,
        severity: Severity::Info,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[OptionSpec {
            key: "max-length",
            kind: OptionKind::Int,
            default: "150",
            doc: "The longest comprehension allowed, in characters, with line breaks and \
                  indentation collapsed to one space.",
        }],
        check: Check::File(|options| {
            Box::new(ComplexComprehension {
                max: usize::try_from(options.int(&COMPLEX_COMPREHENSION, "max-length"))
                    .unwrap_or(usize::MAX),
                stmts: StmtStack::default(),
                groups: Vec::new(),
            })
        }),
    };
}

struct ComplexComprehension<'a> {
    max: usize,
    stmts: StmtStack<'a>,
    /// Outermost comprehensions in source order.
    groups: Vec<Group<'a>>,
}

struct Group<'a> {
    expr: &'a Expr,
    kind: &'static str,
    clauses: usize,
    /// Comprehensions nested inside (at any depth), and the kind of the first one.
    nested: usize,
    nested_kind: &'static str,
    stmt: Option<&'a Stmt>,
}

/// The generators of a comprehension and its kind, if `expr` is one.
fn comprehension(expr: &Expr) -> Option<(&[Comprehension], &'static str)> {
    match expr {
        Expr::ListComp(c) => Some((&c.generators, "list comprehension")),
        Expr::SetComp(c) => Some((&c.generators, "set comprehension")),
        Expr::DictComp(c) => Some((&c.generators, "dict comprehension")),
        Expr::Generator(c) => Some((&c.generators, "generator expression")),
        _ => None,
    }
}

impl<'a> FilePass<'a> for ComplexComprehension<'a> {
    fn hooks(&self) -> Hooks {
        Hooks::ALL
    }

    fn stmt(&mut self, _cx: &mut Context<'_, 'a>, stmt: &'a Stmt) {
        self.stmts.push(stmt);
    }

    fn expr(&mut self, _cx: &mut Context<'_, 'a>, expr: &'a Expr) {
        let Some((generators, kind)) = comprehension(expr) else {
            return;
        };
        let range = expr.range();
        // Expressions arrive before their children: one inside the last group is nested in it.
        if let Some(last) = self.groups.last_mut()
            && last.expr.range().contains_range(range)
        {
            if last.nested == 0 {
                last.nested_kind = kind;
            }
            last.nested += 1;
            return;
        }
        self.groups.push(Group {
            expr,
            kind,
            clauses: generators.iter().map(|g| 1 + g.ifs.len()).sum(),
            nested: 0,
            nested_kind: "",
            stmt: self.stmts.enclosing(range),
        });
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        for group in std::mem::take(&mut self.groups) {
            let range = group.expr.range();
            let length = one_line_len(&cx.text()[range]);
            let mut reasons = Vec::new();
            if group.nested > 0 {
                reasons.push(if group.nested == 1 {
                    format!("has a {} nested inside", group.nested_kind)
                } else {
                    format!("has {} comprehensions nested inside", group.nested)
                });
            }
            if group.clauses > 2 {
                reasons.push(format!("has {} `for`/`if` clauses", group.clauses));
            }
            if length > self.max && reasons.is_empty() {
                reasons.push(format!(
                    "is {length} characters long (more than {})",
                    self.max
                ));
            }
            if reasons.is_empty() {
                continue;
            }
            let message = format!("{} {}", group.kind, reasons.join(" and "));
            let help = help(cx.text(), &group);
            cx.report(Diagnostic::new(&COMPLEX_COMPREHENSION, message, range).with_help(help));
        }
    }
}

fn help(text: &str, group: &Group<'_>) -> String {
    let first = if group.nested > 0 {
        "give the inner comprehension its own name (a variable or a small helper function) and \
         use that name in the outer one"
    } else if group.clauses > 2 {
        "split the filtering from the transformation into named steps"
    } else {
        "move the element expression into a named helper function or name the iterable first"
    };
    match use_of(text, group.stmt, group.expr.range()) {
        Use::Assigned(target) if group.kind != "generator expression" => {
            let (init, add) = match group.kind {
                "dict comprehension" => ("{}", format!("`{target}[key] = value`")),
                "set comprehension" => ("set()", format!("`{target}.add(...)`")),
                _ => ("[]", format!("`{target}.append(...)`")),
            };
            format!(
                "{first}, or build `{target}` with a `for` loop (`{target} = {init}`, then {add})"
            )
        }
        _ => format!("{first}, or write it as a `for` loop"),
    }
}
