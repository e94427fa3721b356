use ruff_python_ast::name::UnqualifiedName;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{ExprCall, InterpolatedStringElement};

use crate::fix::edits::{
    FileImports, ImportStmt, NameReads, delete_stmt, imports_left_unused, mentions_outside,
    sole_statements_in,
};
use crate::registry::prelude::*;
use crate::semantic::ranges::containing;
use rustc_hash::{FxHashMap, FxHashSet};

declare_rule! {
    /// ## What it does
    /// Finds debugging leftovers: debugger imports and entry points (`import pdb`,
    /// `pdb.set_trace()`, `ipdb`, `pudb`, `breakpoint()`, `IPython.embed()`) and shape-debugging
    /// prints such as `print(x.shape)`, `print("x", x.size())` or `print(f"{x.dtype}")`.
    ///
    /// Only prints whose every value is a shape, size or dtype are reported: a print that also
    /// shows other values is treated as deliberate output. And only where a shape print can
    /// only have served debugging: code that runs on every batch — a model's forward pass
    /// (`forward`, `call`, `__call__`), a loop that runs a gradient step (`backward()`,
    /// `apply_gradients`, `minimize`, `train_on_batch`), a training-step function — or,
    /// without a text label, another method of a model class. Shape prints elsewhere are
    /// output someone reads and are not reported: a labelled report of the data
    /// (`print("train split:", x.shape)`), script-level prints, data loading and evaluation
    /// helpers, `def test()`/demo smoke helpers, test modules, `if __name__ == "__main__":`
    /// blocks, and prints to a stream (`file=sys.stderr`). Logging calls are never reported.
    /// Debuggers are reported everywhere, except their imports in a module that is itself a
    /// debugging utility (it subclasses `pdb.Pdb` or defines its own `set_trace`).
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
    /// Teaching scripts (lessons and examples, linted with the notebook policy) have no cells:
    /// there a shape print that runs on every batch (a model's forward pass, a training loop) is
    /// reported, while the shapes a lesson prints as it builds its model stay its output.
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
        needs: Needs::Nothing,
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
    /// Whether the file is a teaching script ([`Context::is_teaching_script`]), asked once.
    teaching: Option<bool>,
    /// Fixes: statements that are only a call (call range → statement range), and statements
    /// alone in their block (removing one leaves `pass`), read from the tree at the first fix
    /// ([`DebugLeftover::fix_statements`]) ...
    fix_statements: std::cell::OnceCell<FixStatements>,
    /// ... and debugger imports, fixed at the end when every use of the name is known.
    imports: Vec<(usize, &'a Stmt, usize)>,
    /// The statements of `imports`.
    debugger_import_statements: FxHashSet<TextRange>,
    /// The file's other import statements and where it reads names, computed at the first
    /// fix that may leave an import unused.
    import_reads: std::cell::OnceCell<(FileImports, NameReads)>,
}

/// See [`DebugLeftover::fix_statements`].
struct FixStatements {
    calls: FxHashMap<TextRange, TextRange>,
    sole: FxHashSet<TextRange>,
}

impl DebugLeftover<'_> {
    /// The file's statements that are only a call, and those alone in their block. A fix may
    /// be built during the walk: the statement around a call and the blocks around it are
    /// already behind the walk then, so reading the whole tree answers as noting statements
    /// along the walk did.
    fn fix_statements(&self, cx: &Context<'_, '_>) -> &FixStatements {
        self.fix_statements.get_or_init(|| {
            struct Calls(FxHashMap<TextRange, TextRange>);
            impl<'a> Visitor<'a> for Calls {
                fn visit_stmt(&mut self, stmt: &'a Stmt) {
                    if let Stmt::Expr(expr) = stmt
                        && let Expr::Call(call) = &*expr.value
                    {
                        self.0.insert(call.range(), stmt.range());
                    }
                    visitor::walk_stmt(self, stmt);
                }
                fn visit_expr(&mut self, _expr: &'a Expr) {}
            }
            let mut calls = Calls(FxHashMap::default());
            calls.visit_body(&cx.module.body);
            FixStatements {
                calls: calls.0,
                sole: sole_statements_in(&cx.module.body),
            }
        })
    }

    /// [`Context::is_teaching_script`], computed once per file (it scans the text).
    fn teaching(&mut self, cx: &Context<'_, '_>) -> bool {
        *self.teaching.get_or_insert_with(|| cx.is_teaching_script())
    }

    /// Removing the statement that is only `call`, with the imports only it used (`import
    /// pdb` of a `pdb.set_trace()`, `import numpy as np` of a `print(np.shape(x))`).
    fn removal(&self, cx: &Context<'_, '_>, call: TextRange, title: &str) -> Option<Fix> {
        let text = cx.text();
        let statements = self.fix_statements(cx);
        let stmt = statements.calls.get(&call)?;
        let edit = delete_stmt(text, *stmt, statements.sole.contains(stmt))?;
        let mut edits = vec![edit];
        let (imports, reads) = self.import_reads.get_or_init(|| {
            (
                FileImports::of(&cx.module.body),
                NameReads::of(text, &cx.module.body),
            )
        });
        // A debugger import is a finding of its own, with its own fix: left to it. The walk
        // may not have reached an import below the call yet (this runs during the walk for
        // some findings): such an import is left alone too, whatever it imports.
        let keep = |i: &ImportStmt| {
            i.range.start() < call.start() && !self.debugger_import_statements.contains(&i.range)
        };
        let unused = imports_left_unused(text, imports, keep, reads, &edits);
        edits.extend(unused);
        Some(Fix::safe(title, edits))
    }
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
                for (i, alias) in import.names.iter().enumerate() {
                    let module = knowledge.canonical(alias.name.as_str());
                    if knowledge.debugger_modules.contains(&module) {
                        self.imports.push((self.debugger_uses.len(), stmt, i));
                        self.debugger_import_statements.insert(stmt.range());
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
                        self.debugger_import_statements.insert(stmt.range());
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
                    // A notebook's prints are its output; a teaching script's are too, except
                    // where they run on every batch.
                    if !cx.is_notebook() || self.teaching(cx) {
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
            let finding = self.breakpoint_finding(cx, call);
            self.debugger_uses.push(finding);
        } else if knowledge.print_functions.contains(&qualified)
            && (!cx.is_notebook() || self.teaching(cx))
            && is_shape_debug_print(cx, call, self.teaching(cx))
        {
            let fix = self.removal(cx, call.range(), "Remove the shape print");
            report_shape_print(cx, call, fix);
        }
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        if cx.semantic.is_builtin("breakpoint") {
            for call in std::mem::take(&mut self.builtin_breakpoints) {
                let finding = self.breakpoint_finding(cx, call);
                self.debugger_uses.push(finding);
            }
        }
        if !self.is_debugger_module {
            let mut findings = std::mem::take(&mut self.debugger_uses);
            for &(finding, stmt, alias) in &self.imports {
                let sole = &self.fix_statements(cx).sole;
                if let Some(fix) = import_removal(cx.text(), stmt, alias, sole) {
                    findings[finding].fix = Some(fix);
                }
            }
            for finding in findings {
                cx.report(finding);
            }
        }
        if cx.semantic.is_builtin("print") {
            for call in std::mem::take(&mut self.builtin_prints) {
                if is_shape_debug_print(cx, call, self.teaching(cx)) {
                    let fix = self.removal(cx, call.range(), "Remove the shape print");
                    report_shape_print(cx, call, fix);
                }
            }
        }
    }
}

impl DebugLeftover<'_> {
    fn breakpoint_finding(&self, cx: &Context<'_, '_>, call: &ExprCall) -> Diagnostic {
        let finding = debugger_call_finding(cx.text(), call);
        match self.removal(cx, call.range(), "Remove the breakpoint") {
            Some(fix) => finding.with_fix(fix),
            None => finding,
        }
    }
}

/// Removing a debugger import, once nothing else in the file names what it binds (the
/// breakpoints that use it are removed first; the import goes on the next pass).
fn import_removal(
    text: &str,
    stmt: &Stmt,
    alias: usize,
    sole: &FxHashSet<TextRange>,
) -> Option<Fix> {
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
    if mentions_outside(text, bound, &[stmt.range()]) {
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

/// A forgotten shape-debugging print: every value it shows is a tensor's shape, size or dtype
/// (at least one), it prints to standard output, and it sits where a shape print only ever
/// served debugging (see [`print_place`]): in code that runs on every batch (a model's
/// forward pass, a training loop, a training step), where a label does not make it output
/// anyone reads; or, unlabelled, in another method of a model class.
fn is_shape_debug_print(cx: &Context<'_, '_>, call: &ExprCall, teaching: bool) -> bool {
    let mut shapes = 0;
    let mut labelled = false;
    let has_text = |s: &str| s.chars().any(char::is_alphabetic);
    for arg in &*call.arguments.args {
        match arg {
            Expr::StringLiteral(literal) => labelled |= has_text(literal.value.to_str()),
            Expr::FString(fstring) => {
                for element in fstring.value.elements() {
                    match element {
                        InterpolatedStringElement::Interpolation(interp) => {
                            if is_shape_value(cx, &interp.expression, 0) {
                                shapes += 1;
                            } else {
                                return false;
                            }
                        }
                        InterpolatedStringElement::Literal(literal) => {
                            labelled |= has_text(&literal.value);
                        }
                    }
                }
            }
            other if is_shape_value(cx, other, 0) => shapes += 1,
            _ => return false,
        }
    }
    // `print(x.shape, file=sys.stderr)`: written to a stream on purpose.
    if shapes == 0 || call.arguments.find_keyword("file").is_some() {
        return false;
    }
    match print_place(cx, call.range()) {
        PrintPlace::PerBatch => true,
        // A lesson may print a model's shapes as it builds it, on purpose.
        PrintPlace::ModelSetup => !labelled && !teaching,
        PrintPlace::Elsewhere => false,
    }
}

/// Where a shape print runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrintPlace {
    /// On every batch: a model's forward pass (`forward`, `call`, `__call__`), a loop that runs
    /// a gradient step, or a step function without a loop of its own.
    PerBatch,
    /// Another method of a model class (`__init__`).
    ModelSetup,
    /// Script output, data loading, evaluation, demos, tests, `__main__` blocks.
    Elsewhere,
}

/// Where the statement holding `range` runs: the definitions, loops and `__main__` guard
/// around it, found by descending the module's statements by range.
fn print_place(cx: &Context<'_, '_>, range: TextRange) -> PrintPlace {
    let knowledge = cx.knowledge;
    let file_name = cx.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if knowledge.is_test_module(cx.semantic.package.as_deref(), file_name) {
        return PrintPlace::Elsewhere;
    }
    let mut path: Vec<&Stmt> = Vec::new();
    let mut body: Vec<&[Stmt]> = vec![&cx.module.body];
    'descend: while let Some(stmts) = body.pop() {
        if let Some(stmt) = containing(stmts, range).next() {
            path.push(stmt);
            body = crate::semantic::ranges::bodies(stmt);
            continue 'descend;
        }
        break;
    }
    let mut innermost_function = None;
    for (i, stmt) in path.iter().enumerate() {
        match stmt {
            Stmt::If(test) if i == 0 && crate::semantic::builder::is_main_test(&test.test) => {
                return PrintPlace::Elsewhere;
            }
            Stmt::FunctionDef(def) => {
                let demo = def.name.split('_').any(|word| {
                    knowledge
                        .demo_function_words
                        .iter()
                        .any(|w| w.eq_ignore_ascii_case(word))
                });
                if demo {
                    return PrintPlace::Elsewhere;
                }
                innermost_function = Some(i);
            }
            _ => {}
        }
    }
    let start = innermost_function.map_or(0, |i| i + 1);
    let loops: Vec<&Stmt> = path[start..]
        .iter()
        .copied()
        .filter(|s| matches!(s, Stmt::For(_) | Stmt::While(_)))
        .collect();
    if loops
        .iter()
        .any(|lp| has_gradient_call(cx, std::slice::from_ref(*lp)))
    {
        return PrintPlace::PerBatch;
    }
    let Some(i) = innermost_function else {
        return PrintPlace::Elsewhere;
    };
    let Stmt::FunctionDef(def) = path[i] else {
        return PrintPlace::Elsewhere;
    };
    let class = i.checked_sub(1).and_then(|c| match path[c] {
        Stmt::ClassDef(class) => Some(class),
        _ => None,
    });
    let name = def.name.as_str();
    // `forward`/`call`/`__call__` of a class, or a functional model's `forward(params, x)`.
    let forward = match class {
        Some(_) => knowledge
            .training
            .activations
            .call_methods
            .iter()
            .any(|m| m == name),
        None => (knowledge.training.evaluation.forward_methods.iter()).any(|m| m == name),
    };
    if forward {
        return PrintPlace::PerBatch;
    }
    let model = class
        .and_then(|class| class.arguments.as_ref())
        .is_some_and(|arguments| {
            arguments.args.iter().any(|base| {
                cx.semantic
                    .resolve(base)
                    .is_some_and(|q| knowledge.model_bases.contains(&knowledge.canonical(&q)))
            })
        });
    if model {
        return PrintPlace::ModelSetup;
    }
    // A training step: the function computes gradients itself and holds no loop (its caller
    // loops over the batches).
    if loops.is_empty() && !has_loop(&def.body) && has_gradient_call(cx, &def.body) {
        return PrintPlace::PerBatch;
    }
    PrintPlace::Elsewhere
}

/// The statements hold a loop (outside nested definitions).
fn has_loop(body: &[Stmt]) -> bool {
    body.iter().any(|stmt| match stmt {
        Stmt::For(_) | Stmt::While(_) => true,
        Stmt::FunctionDef(_) | Stmt::ClassDef(_) => false,
        other => crate::semantic::ranges::bodies(other)
            .into_iter()
            .any(has_loop),
    })
}

/// The statements compute or apply gradients (outside nested definitions): `loss.backward()`,
/// `opt.apply_gradients(...)`, `opt.minimize(loss)`, `model.train_on_batch(...)`.
fn has_gradient_call(cx: &Context<'_, '_>, body: &[Stmt]) -> bool {
    struct Finder<'k> {
        methods: [&'k [String]; 4],
        found: bool,
    }
    impl<'a> Visitor<'a> for Finder<'_> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if self.found || matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                return;
            }
            visitor::walk_stmt(self, stmt);
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.found {
                return;
            }
            if let Expr::Call(call) = expr
                && let Expr::Attribute(attr) = &*call.func
                && self
                    .methods
                    .iter()
                    .any(|list| list.iter().any(|m| m == attr.attr.as_str()))
            {
                self.found = true;
                return;
            }
            visitor::walk_expr(self, expr);
        }
    }
    let knowledge = cx.knowledge;
    let mut finder = Finder {
        methods: [
            &knowledge.backward_methods,
            &knowledge.apply_gradient_methods,
            &knowledge.minimize_methods,
            &knowledge.training.steps.framework_step_methods,
        ],
        found: false,
    };
    finder.visit_body(body);
    finder.found
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
