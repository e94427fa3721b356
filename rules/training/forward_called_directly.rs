use crate::registry::prelude::*;
use crate::semantic::facts::{FunctionId, InstanceRef, ScopeFacts};
use crate::semantic::flow::{Flow, Resolved};
use crate::semantic::index::FileId;
use crate::semantic::ranges::{Enclosing, containing};
use crate::semantic::verdict::{ancestry, extends};
use rustc_hash::FxHashMap;

declare_rule! {
    /// ## What it does
    /// Finds `x.forward(...)` (Keras: `x.call(...)`) where `x` is a Model or a layer — an
    /// instance of a project Model class or of a framework module (`nn.Linear`, a torchvision
    /// or timm model, a Keras layer) — called from outside its own class. What `x` is comes
    /// from the project: the constructor a variable or `self.<attr>` was built with
    /// (`self.encoder = Encoder()`, `model = Net().to(device)`), or, for a parameter or a
    /// component handed to `__init__`, what the project's callers pass (`train(Net(), loader)`,
    /// `Runner(model=Net())`), else the parameter's annotation (`decoder: Decoder`). When
    /// neither shows it, a parameter or attribute the code uses
    /// as a module — it calls `.eval()`, `.train()`, `.parameters()` or `.state_dict()` on it —
    /// counts as one.
    ///
    /// Only calls that run again and again are reported: in a method of a class (a submodule's
    /// `forward` inside a model's `forward`), in a function that other functions or loops call,
    /// or inside a loop or comprehension (a training or evaluation loop).
    ///
    /// Not reported: `super().forward(x)` and `Base.forward(self, x)` (running a parent's code
    /// is what they are for), `self.forward(x)` inside the class, receivers dllint cannot
    /// resolve (a loop variable over a `ModuleList`, a parameter no call site shows and nothing
    /// uses as a module), losses, `call` on anything but Keras layers, test modules, and a call
    /// that runs once outside any loop, at module level or in a function only module-level code
    /// calls once, or nobody calls (a prediction for a plot: no hook or wrapper is involved
    /// there).
    ///
    /// ## Why is this bad?
    /// Calling a module runs `Module.__call__`, which runs the forward pre-hooks, `forward`,
    /// and the forward hooks. `x.forward(...)` runs `forward` alone: hooks registered for
    /// feature extraction, pruning, quantization observers or logging silently do nothing, and
    /// wrappers that rely on `__call__` (DDP's gradient-sync bookkeeping, FSDP's parameter
    /// gathering, `torch.compile`) are bypassed. In Keras, `Layer.__call__` builds the layer,
    /// converts the inputs and applies masks, the `training` flag and autocasting before
    /// `call`; `layer.call(x)` skips all of it.
    ///
    /// ## Example
    /// ```python
    /// model = Net().to(device)
    /// for x, y in loader:
    ///     logits = model.forward(x)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// model = Net().to(device)
    /// for x, y in loader:
    ///     logits = model(x)
    /// ```
    ///
    /// ## Fix
    /// Removes `.forward` / `.call` (unsafe: the module's hooks run from then on, which is the
    /// point, but changes what the program does).
    pub static FORWARD_CALLED_DIRECTLY = {
        code: "DL502",
        name: "forward-called-directly",
        family: Family::Training,
        severity: Severity::Warning,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::Always,
        options: &[],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    let path = &cx.project_file().path;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if cx
        .knowledge()
        .is_test_module(facts.package.as_deref(), file_name)
    {
        return;
    }
    let scopes = facts.scopes();
    let mut module_loops = FxHashMap::default();
    for (function, scope) in scopes {
        check_scope(cx, function, scope, &mut module_loops, out);
    }
}

fn check_scope(
    cx: &ProjectContext<'_>,
    function: Option<FunctionId>,
    scope: &ScopeFacts,
    module_loops: &mut FxHashMap<FileId, Enclosing>,
    out: &mut Vec<Diagnostic>,
) {
    if scope.flow().forward_calls.is_empty() {
        return;
    }
    let index = cx.index;
    let mut in_module_loop = |file: FileId, range: TextRange| {
        module_loops
            .entry(file)
            .or_insert_with(|| {
                Enclosing::new(index.facts(file).module.loops.iter().map(|l| l.range))
            })
            .contains(range)
    };
    let flow = Flow::new(cx.index);
    let keras_methods = &cx.knowledge().training.evaluation.keras_forward_methods;
    // A class's code (a submodule's `forward` inside a model's `forward`) and a function that
    // other functions or loops call run again and again; module-level code, a function nobody
    // calls, and one that module-level code calls once (a plotting helper) run once unless in
    // a loop.
    let reused = function.is_some_and(|id| {
        cx.facts().functions[id as usize].class.is_some()
            || cx
                .index
                .call_sites_of(cx.file, id)
                .iter()
                .any(|site| site.function.is_some() || in_module_loop(site.file, site.range))
    });
    let loops = Enclosing::new(scope.loops.iter().map(|l| l.range));
    for call in &scope.flow().forward_calls {
        // A call that runs once (a prediction for a plot in a script or notebook cell) is not
        // where hooks and wrappers get bypassed; training and evaluation loops run on every
        // batch.
        let repeated = reused || loops.contains(call.range) || in_comprehension(cx, call.range);
        if !repeated {
            continue;
        }
        let resolved = flow.resolve(cx.file, function, &call.receiver);
        let text = &call.text;
        let method = &call.method;
        let keras = keras_methods.iter().any(|m| m == method.as_str());
        let model = resolved
            .iter()
            .find(|r| flow.is_model(cx.roles, cx.file, r) && (!keras || is_keras(cx, r)));
        let what = match model {
            Some(model) => flow.describe(model),
            None if !keras
                && resolved.is_empty()
                && used_as_module(cx, function, scope, &call.receiver) =>
            {
                text.to_string()
            }
            None => continue,
        };
        let message = if keras {
            format!(
                "`{text}.{method}(...)` runs `{what}`'s `{method}` without `Layer.__call__`: the \
                 layer is not built on first use, inputs are not converted, and masks, the \
                 `training` flag and mixed-precision autocasting are not applied"
            )
        } else {
            format!(
                "`{text}.{method}(...)` runs the forward pass of `{what}` without \
                 `Module.__call__`: its forward hooks and pre-hooks do not run, and wrappers \
                 that rely on them (DDP, FSDP, `torch.compile`) are bypassed"
            )
        };
        let kind = if keras { "layer" } else { "module" };
        out.push(
            Diagnostic::new(&FORWARD_CALLED_DIRECTLY, message, call.range)
                .with_help(format!("call the {kind} itself: `{text}(...)`"))
                .with_fix(Fix::unsafe_edits(
                    format!("Call `{text}(...)` instead of `{text}.{method}(...)`"),
                    vec![Edit::deletion(call.attribute)],
                )),
        );
    }
}

/// A Keras layer or model: a library class, or a project class extending one.
fn is_keras(cx: &ProjectContext<'_>, resolved: &Resolved) -> bool {
    match resolved {
        Resolved::Api(q) => cx.knowledge().is_keras_model_or_layer(q),
        Resolved::Class(f, c) => extends(cx.index, *f, *c, |k, q| k.is_keras_model_or_layer(q)),
    }
}

/// A parameter or `self.<attr>` that no caller shows but that the code uses as a module: the
/// function (for a parameter) or a method of the class (for an attribute) calls `.eval()`,
/// `.train()`, `.parameters()` or another method only modules have on it.
fn used_as_module(
    cx: &ProjectContext<'_>,
    function: Option<FunctionId>,
    scope: &ScopeFacts,
    receiver: &InstanceRef,
) -> bool {
    match receiver {
        InstanceRef::Param { .. } => scope.flow().module_receivers.contains(receiver),
        InstanceRef::SelfAttr(_) => {
            let facts = cx.facts();
            let Some(class) = function.and_then(|f| facts.functions[f as usize].class) else {
                return false;
            };
            ancestry(cx.index, cx.file, class)
                .into_iter()
                .any(|(f, c)| {
                    let facts = cx.index.facts(f);
                    facts.classes[c as usize].methods.iter().any(|&m| {
                        facts.functions[m as usize]
                            .body
                            .flow()
                            .module_receivers
                            .contains(receiver)
                    })
                })
        }
        InstanceRef::Built(_) => false,
    }
}

/// The call sits in a comprehension (`[model.forward(x) for x, _ in loader]`): a loop too.
fn in_comprehension(cx: &ProjectContext<'_>, range: TextRange) -> bool {
    use ruff_python_ast::visitor::{self, Visitor};
    struct Finder {
        range: TextRange,
        found: bool,
    }
    impl<'a> Visitor<'a> for Finder {
        fn visit_body(&mut self, body: &'a [Stmt]) {
            // Only the statements around the call, found by binary search.
            for stmt in containing(body, self.range) {
                self.visit_stmt(stmt);
            }
        }
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if !self.found && stmt.range().contains_range(self.range) {
                visitor::walk_stmt(self, stmt);
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.found || !expr.range().contains_range(self.range) {
                return;
            }
            if matches!(
                expr,
                Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_)
            ) {
                self.found = true;
                return;
            }
            visitor::walk_expr(self, expr);
        }
    }
    let Some(parsed) = cx.parsed() else {
        return false;
    };
    let mut finder = Finder {
        range,
        found: false,
    };
    finder.visit_body(&parsed.module().body);
    finder.found
}
