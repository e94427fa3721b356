use ruff_python_ast::name::UnqualifiedName;
use ruff_python_ast::{ExprCall, InterpolatedStringElement};

use crate::fix::edits::{delete_stmt, sole_statements};
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds debugging leftovers: debugger imports and entry points (`import pdb`,
    /// `pdb.set_trace()`, `ipdb`, `pudb`, `breakpoint()`, `IPython.embed()`) and shape-debugging
    /// prints such as `print(x.shape)`, `print("x", x.size())` or `print(f"{x.dtype}")`.
    ///
    /// Only prints whose every value is a shape, size or dtype are reported: a print that also
    /// shows other values is treated as deliberate output. Logging calls are never reported,
    /// and neither are debugger imports in a module that is itself a debugging utility (it
    /// subclasses `pdb.Pdb` or defines its own `set_trace`).
    ///
    /// ## Why is this bad?
    /// A forgotten `set_trace()` hangs a training job on a cluster until it times out. Shape
    /// prints are what practitioners fall back to because shapes are invisible in the code
    /// ("forced to print shape"); they clutter the logs and disappear from the next reader's
    /// view. Write the shape down once, in the signature, instead.
    ///
    /// ## Example
    /// ```python
    /// import pdb
    ///
    /// def forward(self, x):
    ///     print(x.shape)
    ///     pdb.set_trace()
    ///     return self.fc(x)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// from jaxtyping import Float
    /// from torch import Tensor
    ///
    /// def forward(self, x: Float[Tensor, "batch features"]) -> Float[Tensor, "batch classes"]:
    ///     return self.fc(x)
    /// ```
    ///
    /// ## Notebooks
    /// Narrowed: in a notebook only debuggers and breakpoints are reported (`import pdb`,
    /// `pdb.set_trace()`, `ipdb`, `breakpoint()`, `IPython.embed()`), never shape prints: a cell
    /// that prints `x.shape` shows the reader output they are meant to see, while a breakpoint
    /// still stops "Run all". `extend-notebook-ignore = ["DL305"]` skips notebooks entirely.
    pub static DEBUG_LEFTOVER = {
        code: "DL305",
        name: "debug-leftover",
        family: Family::DeadCode,
        severity: Severity::Warning,
        notebooks: Notebooks::Narrowed("debuggers and breakpoints only, no shape prints"),
        default_enabled: true,
        fix: FixAvailability::Sometimes,
        options: &[],
        check: Check::File(|_| Box::new(DebugLeftover::default())),
    };
}

/// Calls whose meaning depends on a builtin not being shadowed are decided at the end of the
/// walk, when every binding in the file is known.
#[derive(Default)]
struct DebugLeftover<'a> {
    builtin_prints: Vec<&'a ExprCall>,
    builtin_breakpoints: Vec<&'a ExprCall>,
    /// Debugger imports and calls, held back until we know whether the file is itself a
    /// debugging utility (it subclasses `pdb.Pdb` or defines its own `set_trace`), where
    /// importing a debugger is the point, not a leftover.
    debugger_uses: Vec<Diagnostic>,
    is_debugger_module: bool,
    /// Fixes: statements that are only a call (call range → statement range)...
    call_statements: Vec<(TextRange, TextRange)>,
    /// ... statements that are alone in their block (removing one leaves `pass`) ...
    sole: Vec<TextRange>,
    /// ... and debugger imports, fixed at the end when every use of the name is known.
    imports: Vec<(usize, &'a Stmt, usize)>,
}

impl DebugLeftover<'_> {
    /// Removing the statement that is only `call`.
    fn removal(&self, text: &str, call: TextRange, title: &str) -> Option<Fix> {
        let (_, stmt) = self.call_statements.iter().find(|(c, _)| *c == call)?;
        let edit = delete_stmt(text, *stmt, self.sole.contains(stmt))?;
        Some(Fix::safe(title, vec![edit]))
    }
}

impl<'a> FilePass<'a> for DebugLeftover<'a> {
    fn hooks(&self) -> Hooks {
        Hooks::ALL
    }

    fn stmt(&mut self, cx: &mut Context<'_, 'a>, stmt: &'a Stmt) {
        let knowledge = cx.knowledge;
        if let Stmt::Expr(expr) = stmt
            && let Expr::Call(call) = &*expr.value
        {
            self.call_statements.push((call.range(), stmt.range()));
        }
        if stmt_has_body(stmt) {
            self.sole.extend(sole_statements(stmt));
        }
        match stmt {
            Stmt::ClassDef(class) => {
                let bases = class
                    .arguments
                    .as_ref()
                    .map(|a| &a.args[..])
                    .unwrap_or_default();
                if bases.iter().any(|base| {
                    cx.semantic.resolve(base).is_some_and(|q| {
                        knowledge.debugger_calls.contains(&knowledge.canonical(&q))
                    })
                }) {
                    self.is_debugger_module = true;
                }
            }
            Stmt::FunctionDef(def)
                if cx.semantic.at_module_level()
                    && matches!(def.name.as_str(), "set_trace" | "post_mortem") =>
            {
                self.is_debugger_module = true;
            }
            Stmt::Import(import) => {
                for (i, alias) in import.names.iter().enumerate() {
                    let module = knowledge.canonical(alias.name.as_str());
                    if knowledge.debugger_modules.contains(&module) {
                        self.imports.push((self.debugger_uses.len(), stmt, i));
                        self.debugger_uses
                            .push(import_finding(alias.range(), alias.name.as_str()));
                    }
                }
            }
            Stmt::ImportFrom(import) => {
                let Some(module) = &import.module else { return };
                if import.level > 0 {
                    return;
                }
                let canonical = knowledge.canonical(module.as_str());
                for (i, alias) in import.names.iter().enumerate() {
                    let member = format!("{canonical}.{}", alias.name.as_str());
                    if knowledge.debugger_modules.contains(&canonical)
                        || knowledge.debugger_calls.contains(&member)
                        || knowledge.debugger_modules.contains(&member)
                    {
                        let name = format!("{module}.{}", alias.name);
                        self.imports.push((self.debugger_uses.len(), stmt, i));
                        self.debugger_uses
                            .push(import_finding(alias.range(), &name));
                    }
                }
            }
            _ => {}
        }
    }

    fn expr(&mut self, cx: &mut Context<'_, 'a>, expr: &'a Expr) {
        let Expr::Call(call) = expr else { return };
        if let Expr::Name(name) = &*call.func {
            match name.id.as_str() {
                "print" if !cx.semantic.imports.contains("print") => {
                    // A notebook's prints are its output.
                    if !cx.is_notebook() {
                        self.builtin_prints.push(call);
                    }
                    return;
                }
                "breakpoint" if !cx.semantic.imports.contains("breakpoint") => {
                    self.builtin_breakpoints.push(call);
                    return;
                }
                _ => {}
            }
        }
        let knowledge = cx.knowledge;
        // Cheap filter before resolving (which allocates): the imported module must be one
        // that has debugger or print entry points at all.
        let head = match &*call.func {
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(_) => match UnqualifiedName::from_expr(&call.func) {
                Some(name) => name.segments()[0],
                None => return,
            },
            _ => return,
        };
        let Some(target) = cx.semantic.imports.get(head) else {
            return;
        };
        let module = target.split('.').next().unwrap_or(target);
        if !knowledge.debugger_calls.has_head(module) && !knowledge.print_functions.has_head(module)
        {
            return;
        }
        let Some(qualified) = cx.semantic.resolve(&call.func) else {
            return;
        };
        let qualified = knowledge.canonical(&qualified);
        if knowledge.debugger_calls.contains(&qualified) {
            let finding = self.breakpoint_finding(cx.text(), call);
            self.debugger_uses.push(finding);
        } else if knowledge.print_functions.contains(&qualified)
            && !cx.is_notebook()
            && is_shape_debug_print(cx, call)
        {
            let fix = self.removal(cx.text(), call.range(), "Remove the shape print");
            report_shape_print(cx, call, fix);
        }
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        if cx.semantic.is_builtin("breakpoint") {
            for call in std::mem::take(&mut self.builtin_breakpoints) {
                let finding = self.breakpoint_finding(cx.text(), call);
                self.debugger_uses.push(finding);
            }
        }
        if !self.is_debugger_module {
            let mut findings = std::mem::take(&mut self.debugger_uses);
            for &(finding, stmt, alias) in &self.imports {
                if let Some(fix) = import_removal(cx.text(), stmt, alias, &self.sole) {
                    findings[finding].fix = Some(fix);
                }
            }
            for finding in findings {
                cx.report(finding);
            }
        }
        if cx.semantic.is_builtin("print") {
            for call in std::mem::take(&mut self.builtin_prints) {
                if is_shape_debug_print(cx, call) {
                    let fix = self.removal(cx.text(), call.range(), "Remove the shape print");
                    report_shape_print(cx, call, fix);
                }
            }
        }
    }
}

impl DebugLeftover<'_> {
    fn breakpoint_finding(&self, text: &str, call: &ExprCall) -> Diagnostic {
        let finding = debugger_call_finding(text, call);
        match self.removal(text, call.range(), "Remove the breakpoint") {
            Some(fix) => finding.with_fix(fix),
            None => finding,
        }
    }
}

fn stmt_has_body(stmt: &Stmt) -> bool {
    matches!(
        stmt,
        Stmt::If(_)
            | Stmt::For(_)
            | Stmt::While(_)
            | Stmt::With(_)
            | Stmt::Try(_)
            | Stmt::FunctionDef(_)
            | Stmt::ClassDef(_)
            | Stmt::Match(_)
    )
}

/// Removing a debugger import, once nothing else in the file names what it binds (the
/// breakpoints that use it are removed first; the import goes on the next pass).
fn import_removal(text: &str, stmt: &Stmt, alias: usize, sole: &[TextRange]) -> Option<Fix> {
    let (aliases, from) = match stmt {
        Stmt::Import(import) => (&import.names[..], None),
        Stmt::ImportFrom(import) => (&import.names[..], Some(import)),
        _ => return None,
    };
    let removed = aliases.get(alias)?;
    let bound = match (&removed.asname, from) {
        (Some(asname), _) => asname.as_str(),
        (None, Some(_)) => removed.name.as_str(),
        (None, None) => removed.name.as_str().split('.').next()?,
    };
    if mentions_outside(text, bound, stmt.range()) {
        return None;
    }
    let title = "Remove the debugger import";
    if aliases.len() == 1 {
        let edit = delete_stmt(text, stmt.range(), sole.contains(&stmt.range()))?;
        return Some(Fix::safe(title, vec![edit]));
    }
    // Keep the other names of the statement (rewritten on one line; not when comments would
    // be lost).
    if text[stmt.range()].contains('#') {
        return None;
    }
    let kept: Vec<&str> = aliases
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != alias)
        .map(|(_, a)| &text[a.range()])
        .collect();
    let rewritten = match from {
        None => format!("import {}", kept.join(", ")),
        Some(from) => format!(
            "from {}{} import {}",
            ".".repeat(from.level as usize),
            from.module.as_ref().map_or("", |m| m.as_str()),
            kept.join(", ")
        ),
    };
    Some(Fix::safe(
        title,
        vec![Edit::replacement(stmt.range(), rewritten)],
    ))
}

/// True if the identifier `name` appears in `text` outside `except` (as a whole word; strings
/// and comments count, which only makes the check more cautious).
fn mentions_outside(text: &str, name: &str, except: TextRange) -> bool {
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text[from..].find(name) {
        let start = from + pos;
        let end = start + name.len();
        from = end;
        let boundary = (start == 0 || !is_ident(bytes[start - 1]))
            && (end == bytes.len() || !is_ident(bytes[end]));
        let inside = TextRange::new(
            TextSize::try_from(start).unwrap_or_default(),
            TextSize::try_from(end).unwrap_or_default(),
        );
        if boundary && !except.contains_range(inside) {
            return true;
        }
    }
    false
}

fn import_finding(range: TextRange, name: &str) -> Diagnostic {
    Diagnostic::new(
        &DEBUG_LEFTOVER,
        format!("`{name}` is imported: a debugger left in the code"),
        range,
    )
    .with_help("remove the import and the breakpoints that use it before committing")
}

fn debugger_call_finding(text: &str, call: &ExprCall) -> Diagnostic {
    Diagnostic::new(
        &DEBUG_LEFTOVER,
        format!(
            "`{}` stops the program in a debugger",
            snippet(text, call.range())
        ),
        call.range(),
    )
    .with_help("remove the breakpoint; a job that reaches it on a cluster hangs until it times out")
}

fn report_shape_print(cx: &mut Context<'_, '_>, call: &ExprCall, fix: Option<Fix>) {
    let text = snippet(cx.text(), call.range());
    let mut diagnostic = Diagnostic::new(
        &DEBUG_LEFTOVER,
        format!("`{text}` is a shape-debugging print"),
        call.range(),
    )
    .with_help(
        "remove the print and write the shape in the signature instead, e.g. \
         `x: Float[Tensor, \"batch channels height width\"]` (jaxtyping); use \
         `logging.debug` if the value must stay observable",
    );
    diagnostic.fix = fix;
    cx.report(diagnostic);
}

/// The source of a node, shortened to one line for messages.
fn snippet(text: &str, range: TextRange) -> String {
    let raw = &text[range];
    let one_line: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        let cut: String = one_line.chars().take(57).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}

/// A print whose every value is a tensor's shape, size or dtype (string labels allowed), and
/// at least one such value.
fn is_shape_debug_print(cx: &Context<'_, '_>, call: &ExprCall) -> bool {
    let mut shapes = 0;
    for arg in &*call.arguments.args {
        match arg {
            Expr::StringLiteral(_) => {}
            Expr::FString(fstring) => {
                for element in fstring.value.elements() {
                    if let InterpolatedStringElement::Interpolation(interp) = element {
                        if is_shape_value(cx, &interp.expression, 0) {
                            shapes += 1;
                        } else {
                            return false;
                        }
                    }
                }
            }
            other if is_shape_value(cx, other, 0) => shapes += 1,
            _ => return false,
        }
    }
    shapes > 0
}

/// `x.shape`, `x.shape[0]`, `x.size()`, `x.size(1)`, `x.dtype`, `np.shape(x)`,
/// `tuple(x.shape)`, `list(x.size())`.
fn is_shape_value(cx: &Context<'_, '_>, expr: &Expr, depth: usize) -> bool {
    if depth > 4 {
        return false;
    }
    let knowledge = cx.knowledge;
    match expr {
        Expr::Attribute(attr) => knowledge
            .shape_attributes
            .iter()
            .any(|a| a == attr.attr.as_str()),
        Expr::Subscript(sub) => is_shape_value(cx, &sub.value, depth + 1),
        Expr::Call(call) => {
            if let Expr::Attribute(attr) = &*call.func
                && knowledge
                    .shape_methods
                    .iter()
                    .any(|m| m == attr.attr.as_str())
                && call.arguments.keywords.is_empty()
                && call.arguments.args.len() <= 1
            {
                return true;
            }
            if let Expr::Name(name) = &*call.func
                && matches!(name.id.as_str(), "tuple" | "list" | "str" | "repr")
                && let [inner] = &*call.arguments.args
            {
                return is_shape_value(cx, inner, depth + 1);
            }
            cx.semantic
                .resolve(&call.func)
                .is_some_and(|q| knowledge.shape_functions.contains(&knowledge.canonical(&q)))
        }
        _ => false,
    }
}
