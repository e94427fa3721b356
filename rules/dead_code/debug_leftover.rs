use ruff_python_ast::name::UnqualifiedName;
use ruff_python_ast::{ExprCall, InterpolatedStringElement};

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
    pub static DEBUG_LEFTOVER = {
        code: "DL305",
        name: "debug-leftover",
        family: Family::DeadCode,
        severity: Severity::Warning,
        default_enabled: true,
        fix: FixAvailability::None,
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
}

impl<'a> FilePass<'a> for DebugLeftover<'a> {
    fn hooks(&self) -> Hooks {
        Hooks::ALL
    }

    fn stmt(&mut self, cx: &mut Context<'_, 'a>, stmt: &'a Stmt) {
        let knowledge = cx.knowledge;
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
                for alias in &import.names {
                    let module = knowledge.canonical(alias.name.as_str());
                    if knowledge.debugger_modules.contains(&module) {
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
                for alias in &import.names {
                    let member = format!("{canonical}.{}", alias.name.as_str());
                    if knowledge.debugger_modules.contains(&canonical)
                        || knowledge.debugger_calls.contains(&member)
                        || knowledge.debugger_modules.contains(&member)
                    {
                        let name = format!("{module}.{}", alias.name);
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
                    self.builtin_prints.push(call);
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
            self.debugger_uses
                .push(debugger_call_finding(cx.text(), call));
        } else if knowledge.print_functions.contains(&qualified) && is_shape_debug_print(cx, call) {
            report_shape_print(cx, call);
        }
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        if cx.semantic.is_builtin("breakpoint") {
            for call in std::mem::take(&mut self.builtin_breakpoints) {
                self.debugger_uses
                    .push(debugger_call_finding(cx.text(), call));
            }
        }
        if !self.is_debugger_module {
            for finding in std::mem::take(&mut self.debugger_uses) {
                cx.report(finding);
            }
        }
        if cx.semantic.is_builtin("print") {
            for call in std::mem::take(&mut self.builtin_prints) {
                if is_shape_debug_print(cx, call) {
                    report_shape_print(cx, call);
                }
            }
        }
    }
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

fn report_shape_print(cx: &mut Context<'_, '_>, call: &ExprCall) {
    let text = snippet(cx.text(), call.range());
    cx.report(
        Diagnostic::new(
            &DEBUG_LEFTOVER,
            format!("`{text}` is a shape-debugging print"),
            call.range(),
        )
        .with_help(
            "remove the print and write the shape in the signature instead, e.g. \
             `x: Float[Tensor, \"batch channels height width\"]` (jaxtyping); use \
             `logging.debug` if the value must stay observable",
        ),
    );
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
