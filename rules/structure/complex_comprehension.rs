use ruff_python_ast::Comprehension;
use ruff_python_ast::visitor::{self, Visitor};

use super::expr_text::{Use, enclosing_statement, skeleton_len, use_of, value_holes};
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds comprehensions (list, set, dict and generator expressions) that are too complex to
    /// read at a glance:
    ///
    /// - more than three `for`/`if` clauses in total;
    /// - a comprehension in the iterable of a `for` clause
    ///   (`[f(l) for l in [get(n) for n in names]]`): two loops written inside out;
    /// - four comprehensions nested in each other's element, or a nested comprehension that is
    ///   itself too complex by the clause count;
    /// - longer than `max-length` characters (default 150, measured with line breaks and
    ///   indentation collapsed to one space, comments left out, and the arguments of calls and
    ///   the contents of literals in its element and iterables counted as `(...)`).
    ///
    /// Not reported: the flattening, flatten-and-filter and cross-product idioms (`[x for row in
    /// rows for x in row]`, `[f for d, _, fs in os.walk(root) for f in fs if f.endswith(".jpg")]`,
    /// `[run(c, a, i) for c in cats for a in areas for i in ids]`); comprehensions nested in
    /// each other's element up to three levels, each level building one level of a nested
    /// structure — a 2-D grid `[[f(i, j) for j in js] for i in is_]`, transposing a list of
    /// dicts `{k: np.stack([o[k] for o in obs]) for k in keys}`, chunking `{k: [t[i : i + n]
    /// for i in range(0, size, n)] for k, t in d.items()}`, per-choice copies of each example
    /// `[[{k: v[i] for k, v in f.items()} for i in range(n)] for f in features]`; a
    /// generator handed to `all()`/`any()` in a condition (`if all(s in name for s in skip)`);
    /// and comprehensions long only because of one call's arguments, such as
    /// `nn.ModuleList([Block(dim=dim, heads=heads, ...) for _ in range(depth)])`.
    ///
    /// ## Why is this bad?
    /// Data-preparation code is full of comprehensions that filter, flatten and transform in one
    /// expression. Past three clauses the reader has to untangle the evaluation order in their
    /// head; a comprehension that iterates over another one runs its loops inside out.
    /// Neither can be stepped through or given intermediate names, which is where data bugs
    /// hide.
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
                  indentation collapsed to one space, comments left out, and call arguments and \
                  literals in its element and iterables counted as `(...)`.",
        }],
        check: Check::File(|options| {
            Box::new(ComplexComprehension {
                max: usize::try_from(options.int(&COMPLEX_COMPREHENSION, "max-length"))
                    .unwrap_or(usize::MAX),
                roots: Vec::new(),
            })
        }),
        needs: Needs::Nothing,
    };
}

struct ComplexComprehension<'a> {
    max: usize,
    /// Outermost comprehensions in source order.
    roots: Vec<Root<'a>>,
}

struct Root<'a> {
    expr: &'a Expr,
    kind: &'static str,
}

/// A comprehension's parts: its generators, and the expressions that make its elements.
struct Parts<'a> {
    kind: &'static str,
    generators: &'a [Comprehension],
    elements: Vec<&'a Expr>,
}

fn parts(expr: &Expr) -> Option<Parts<'_>> {
    let (kind, generators, elements) = match expr {
        Expr::ListComp(c) => ("list comprehension", &c.generators, vec![&*c.elt]),
        Expr::SetComp(c) => ("set comprehension", &c.generators, vec![&*c.elt]),
        Expr::DictComp(c) => {
            let mut elements: Vec<&Expr> = c.key.as_deref().into_iter().collect();
            elements.push(&c.value);
            ("dict comprehension", &c.generators, elements)
        }
        Expr::Generator(c) => ("generator expression", &c.generators, vec![&*c.elt]),
        _ => return None,
    };
    Some(Parts {
        kind,
        generators,
        elements,
    })
}

/// `for` clauses and `for`/`if` clauses of one comprehension.
fn clauses(generators: &[Comprehension]) -> (usize, usize) {
    (
        generators.len(),
        generators.iter().map(|g| 1 + g.ifs.len()).sum(),
    )
}

fn too_many_clauses((_, total): (usize, usize)) -> bool {
    total > 3
}

/// What makes a comprehension (with the ones inside it) hard to read.
#[derive(Default)]
struct LossExpr {
    /// Comprehensions nested through elements, this one included.
    depth: usize,
    /// The kind of a comprehension found in the iterable of a `for` clause.
    in_iterable: Option<&'static str>,
    /// The clause count of a nested comprehension with too many clauses.
    complex_nested: Option<usize>,
}

/// The comprehensions directly inside `expr` (not inside another comprehension).
fn comprehensions_in(expr: &Expr) -> Vec<&Expr> {
    struct Find<'a> {
        found: Vec<&'a Expr>,
    }
    impl<'a> Visitor<'a> for Find<'a> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if parts(expr).is_some() {
                self.found.push(expr);
            } else {
                visitor::walk_expr(self, expr);
            }
        }
    }
    let mut find = Find { found: Vec::new() };
    find.visit_expr(expr);
    find.found
}

/// The shape of a comprehension. Comprehensions in conditions (`if all(... for ...)`) are
/// predicates, not nesting, and are not looked at.
fn shape(expr: &Expr, depth: usize) -> LossExpr {
    let Some(own_parts) = parts(expr) else {
        return LossExpr::default();
    };
    let mut out = LossExpr {
        depth: 1,
        ..LossExpr::default()
    };
    if depth > 32 {
        return out;
    }
    let absorb = |inner: &Expr, out: &mut LossExpr| -> LossExpr {
        let shape = shape(inner, depth + 1);
        if out.in_iterable.is_none() {
            out.in_iterable = shape.in_iterable;
        }
        if out.complex_nested.is_none() {
            let own = parts(inner).map_or((0, 0), |p| clauses(p.generators));
            out.complex_nested = shape
                .complex_nested
                .or_else(|| too_many_clauses(own).then_some(own.1));
        }
        shape
    };
    for element in &own_parts.elements {
        for inner in comprehensions_in(element) {
            let shape = absorb(inner, &mut out);
            out.depth = out.depth.max(1 + shape.depth);
        }
    }
    for generator in own_parts.generators {
        for inner in comprehensions_in(&generator.iter) {
            absorb(inner, &mut out);
            if out.in_iterable.is_none() {
                out.in_iterable = parts_kind(inner);
            }
        }
    }
    out
}

fn parts_kind(expr: &Expr) -> Option<&'static str> {
    parts(expr).map(|p| p.kind)
}

impl<'a> FilePass<'a> for ComplexComprehension<'a> {
    fn hooks(&self) -> Hooks {
        Hooks::EXPR
    }

    fn expr(&mut self, _cx: &mut Context<'_, 'a>, expr: &'a Expr) {
        let Some(kind) = parts_kind(expr) else {
            return;
        };
        let range = expr.range();
        // Expressions arrive before their children: one inside the last root is nested in it.
        if let Some(last) = self.roots.last()
            && last.expr.range().contains_range(range)
        {
            return;
        }
        self.roots.push(Root { expr, kind });
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        let text = cx.text();
        for root in std::mem::take(&mut self.roots) {
            let Some(root_parts) = parts(root.expr) else {
                continue;
            };
            let shape = shape(root.expr, 0);
            let own = clauses(root_parts.generators);
            let mut reasons = Vec::new();
            let mut advice = Advice::Other;
            if let Some(inner) = shape.in_iterable {
                reasons.push(format!(
                    "iterates over a {inner} nested in its `for` clause"
                ));
                advice = Advice::Nested;
            }
            if shape.depth >= 4 {
                reasons.push(format!(
                    "nests {} comprehensions in each other",
                    shape.depth
                ));
                advice = Advice::Nested;
            }
            if too_many_clauses(own) {
                reasons.push(format!("has {} `for`/`if` clauses", own.1));
                if advice == Advice::Other {
                    advice = Advice::Clauses;
                }
            } else if let Some(n) = shape.complex_nested {
                reasons.push(format!(
                    "has a comprehension with {n} `for`/`if` clauses nested inside"
                ));
                advice = Advice::Nested;
            }
            if reasons.is_empty() {
                let mut holes = Vec::new();
                for element in &root_parts.elements {
                    value_holes(element, &mut holes);
                }
                for generator in root_parts.generators {
                    value_holes(&generator.iter, &mut holes);
                }
                let range = root.expr.range();
                let length =
                    skeleton_len(text, range, &holes, cx.comments.comments_in_range(range));
                if length > self.max {
                    reasons.push(format!(
                        "is {length} characters long without its call arguments and literals \
                         (more than {})",
                        self.max
                    ));
                }
            }
            if reasons.is_empty() {
                continue;
            }
            let message = format!("{} {}", root.kind, reasons.join(" and "));
            let help = help(text, &cx.module.body, &root, advice);
            cx.report(
                Diagnostic::new(&COMPLEX_COMPREHENSION, message, root.expr.range()).with_help(help),
            );
        }
    }
}

#[derive(PartialEq, Eq)]
enum Advice {
    Nested,
    Clauses,
    Other,
}

fn help(text: &str, body: &[Stmt], root: &Root<'_>, advice: Advice) -> String {
    let first = match advice {
        Advice::Nested => {
            "give the inner comprehension its own name (a variable or a small helper function) \
             and use that name in the outer one"
        }
        Advice::Clauses => "split the filtering from the transformation into named steps",
        Advice::Other => {
            "move the element expression into a named helper function or name the iterable first"
        }
    };
    match use_of(
        text,
        enclosing_statement(body, root.expr.range()),
        root.expr.range(),
    ) {
        Use::Assigned(target) if root.kind != "generator expression" => {
            let (init, add) = match root.kind {
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
