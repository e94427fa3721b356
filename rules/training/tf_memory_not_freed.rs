use rustc_hash::{FxHashMap, FxHashSet};

use crate::registry::prelude::*;
use crate::semantic::Frame;

declare_rule! {
    /// ## What it does
    /// Finds Keras models built inside a loop — `keras.Sequential(...)`, `keras.Model(...)`,
    /// `keras.applications.ResNet50(...)`, `load_model(...)`, a Keras model class of the same
    /// file, or a function of the same file that builds one — and trained or run there, when
    /// no enclosing loop calls `keras.backend.clear_session()` (or TF1's
    /// `reset_default_graph()`). Calls are resolved through the imports (`tf.keras` is
    /// `keras`).
    ///
    /// Not reported: a loop that keeps every model it builds (`models.append(model)`,
    /// `models[i] = model`: an ensemble needs them alive); a function that clears the session
    /// anywhere in its body (an objective a search calls once per trial); and loops that run a
    /// handful of times by the code's own account (at most 10: `range(4)`, `range(k)` with
    /// `k = 4`, a literal list, `KFold(5).split(x)`), where memory grows by a few models.
    ///
    /// ## Why is this bad?
    /// Keras keeps every model it builds in a global state until the session is cleared. A
    /// hyperparameter search, a cross-validation or an ensemble that builds a model per iteration
    /// grows memory with every iteration and slows down model building, until the process runs
    /// out of memory hours into the run.
    ///
    /// ## Example
    /// ```python
    /// for fold, (train, val) in enumerate(folds):
    ///     model = build_model()
    ///     model.fit(x[train], y[train])
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// for fold, (train, val) in enumerate(folds):
    ///     keras.backend.clear_session()
    ///     model = build_model()
    ///     model.fit(x[train], y[train])
    /// ```
    pub static TF_MEMORY_NOT_FREED = {
        code: "DL511",
        name: "tf-memory-not-freed",
        family: Family::Training,
        severity: Severity::Warning,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::File(|_| Box::new(TfMemoryNotFreed::default())),
        needs: Needs::Nothing,
    };
}

/// Most iterations a loop may run for the models it builds to count as a handful: a 4-fold
/// cross-validation of small models grows memory by four models, which nobody notices.
const HANDFUL: u64 = 10;

/// A model built in a loop: the call, what it is (for the message), the loops around it
/// (innermost last) and the innermost function around those loops.
struct Build<'a> {
    range: TextRange,
    what: Option<String>,
    /// The same-file function or class called (decided at the end), if not a library builder.
    local: Option<String>,
    loops: Vec<&'a Stmt>,
    function: Option<&'a ast::StmtFunctionDef>,
}

/// Builds and clears are collected during the walk; same-file builder functions and model
/// classes are only all known at the end.
#[derive(Default)]
struct TfMemoryNotFreed<'a> {
    builds: Vec<Build<'a>>,
    /// Loops (by range) in which the session is cleared.
    cleared: FxHashSet<TextRange>,
    /// Functions (by range) that clear the session somewhere in their body: a function run
    /// once per trial of a search clears once per trial.
    cleared_functions: FxHashSet<TextRange>,
    /// Functions and classes of the file that build a Keras model, by name.
    builders: FxHashMap<String, String>,
    /// Loops that train or run a model (`model.fit(...)` inside).
    used_loops: FxHashSet<TextRange>,
    /// Functions that train or run a model (a `build_model` that compiles it).
    using_functions: FxHashSet<String>,
    /// `x = <call>` in a loop: the call, and the name that holds its result.
    bound: FxHashMap<TextRange, String>,
    /// Names kept in a container inside a loop (`models.append(model)`, `models[i] = model`),
    /// with the loops around the statement that keeps them.
    kept_names: Vec<(String, Vec<TextRange>)>,
    /// Calls whose result goes straight into a container (`models.append(build())`).
    kept_calls: FxHashSet<TextRange>,
    /// Whether the file may name a Keras model builder at all (decided at its first node).
    names_builders: Option<bool>,
}

impl TfMemoryNotFreed<'_> {
    /// False for a file that names no module a model builder or model base lives in: every
    /// finding is a build resolved to one (directly, or through a class or function of the
    /// file that calls or subclasses one), so such a file has none.
    fn may_build(&mut self, cx: &Context<'_, '_>) -> bool {
        *self
            .names_builders
            .get_or_insert_with(|| cx.may_name(&cx.knowledge.training.tf_memory.words))
    }

    /// True if the models built at a call inside `loops` are used as models (trained or run)
    /// and no enclosing loop clears the session. `builder`: the same-file function called.
    fn leaks(&self, loops: &[TextRange], builder: Option<&str>) -> bool {
        let used = loops.iter().any(|l| self.used_loops.contains(l))
            || builder.is_some_and(|b| self.using_functions.contains(b));
        used && !loops.iter().any(|l| self.cleared.contains(l))
    }

    /// The model built by the call at `range` is kept in a container the loop fills (an
    /// ensemble): keeping it is the point, clearing the session would destroy it.
    fn kept(&self, range: TextRange, innermost: TextRange) -> bool {
        self.kept_calls.contains(&range)
            || self.bound.get(&range).is_some_and(|name| {
                self.kept_names
                    .iter()
                    .any(|(kept, loops)| kept == name && loops.contains(&innermost))
            })
    }
}

/// True if `canonical` builds a Keras model.
fn builds_model(knowledge: &Knowledge, canonical: &str) -> bool {
    let lists = &knowledge.training.tf_memory;
    if lists.model_builders.contains(canonical) {
        return true;
    }
    let Some((module, name)) = canonical.rsplit_once('.') else {
        return false;
    };
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && lists.model_builder_modules.iter().any(|m| {
            module == m
                || module
                    .strip_prefix(m.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
}

/// Marks a builder that is a model class (not a function).
const CLASS: &str = "class";

/// The loops enclosing the current node inside its function (innermost last), and that
/// function.
fn enclosing_loops<'a>(cx: &Context<'_, 'a>) -> (Vec<&'a Stmt>, Option<&'a ast::StmtFunctionDef>) {
    let frames = cx.semantic.frames();
    let start = frames
        .iter()
        .rposition(|f| matches!(f, Frame::Function(_) | Frame::Class(_)))
        .map_or(0, |i| i + 1);
    let function = match start.checked_sub(1).map(|i| frames[i]) {
        Some(Frame::Function(def)) => Some(def),
        _ => None,
    };
    let loops = frames[start..]
        .iter()
        .filter_map(|f| match f {
            Frame::Loop(stmt) => Some(*stmt),
            _ => None,
        })
        .collect();
    (loops, function)
}

/// The innermost enclosing function or class name (what a builder call inside it makes a
/// builder of).
fn enclosing_definition<'a>(cx: &Context<'_, 'a>) -> Option<&'a str> {
    cx.semantic.frames().iter().rev().find_map(|f| match f {
        Frame::Function(def) => Some(def.name.as_str()),
        _ => None,
    })
}

/// How many times a loop runs, when the code says: `range(4)`, `range(k)` with `k = 4`
/// bound once, a literal list, `kf.split(x)` with `kf = KFold(5)`, through `enumerate`.
fn iterations(
    cx: &Context<'_, '_>,
    stmt: &Stmt,
    function: Option<&ast::StmtFunctionDef>,
) -> Option<u64> {
    let Stmt::For(lp) = stmt else {
        return None;
    };
    let mut iter = &*lp.iter;
    for _ in 0..3 {
        match iter {
            Expr::Call(call) if matches!(&*call.func, Expr::Name(n) if n.id.as_str() == "enumerate") =>
            {
                iter = call.arguments.args.first()?;
            }
            _ => break,
        }
    }
    match iter {
        Expr::List(list) => Some(list.elts.len() as u64),
        Expr::Tuple(tuple) => Some(tuple.elts.len() as u64),
        Expr::Call(call) => match &*call.func {
            Expr::Name(n) if n.id.as_str() == "range" => {
                let args = &call.arguments.args;
                let (lo, hi) = match &args[..] {
                    [hi] => (Some(0), integer(cx, hi, function)),
                    [lo, hi] => (integer(cx, lo, function), integer(cx, hi, function)),
                    _ => (None, None),
                };
                Some(hi?.saturating_sub(lo?))
            }
            Expr::Attribute(attr) if attr.attr.as_str() == "split" => {
                let Expr::Name(splitter) = &*attr.value else {
                    return None;
                };
                let mut most = None;
                for value in bound_values(cx, splitter.id.as_str(), function)? {
                    let Expr::Call(ctor) = value else {
                        return None;
                    };
                    let knowledge = cx.knowledge;
                    let canonical = knowledge
                        .canonical(&cx.semantic.resolve(&ctor.func)?)
                        .into_owned();
                    if !knowledge
                        .training
                        .tf_memory
                        .fold_splitters
                        .contains(&canonical)
                    {
                        return None;
                    }
                    let folds = ctor
                        .arguments
                        .find_keyword("n_splits")
                        .map(|k| &k.value)
                        .or_else(|| ctor.arguments.args.first())?;
                    most = most.max(Some(integer(cx, folds, function)?));
                }
                most
            }
            _ => None,
        },
        _ => None,
    }
}

/// An integer literal, or a name bound once to one.
fn integer(
    cx: &Context<'_, '_>,
    expr: &Expr,
    function: Option<&ast::StmtFunctionDef>,
) -> Option<u64> {
    let literal = |e: &Expr| match e {
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_u64(),
            _ => None,
        },
        _ => None,
    };
    match expr {
        Expr::Name(name) => bound_values(cx, name.id.as_str(), function)?
            .into_iter()
            .map(literal)
            .try_fold(0, |most, n| n.map(|n| most.max(n))),
        other => literal(other),
    }
}

/// The value of `name` when it is bound exactly once, by a plain assignment: in the function
/// (if it binds it), else at module level.
fn bound_value<'a>(
    cx: &Context<'_, 'a>,
    name: &str,
    function: Option<&'a ast::StmtFunctionDef>,
) -> Option<&'a Expr> {
    if let Some(def) = function
        && cx.semantic.binds_locally(def.start(), name)
    {
        let mut found: Vec<&'a Expr> = Vec::new();
        let mut complex = false;
        assignments(&def.body, name, &mut found, &mut complex);
        return match (&found[..], complex) {
            ([value], false) => Some(value),
            _ => None,
        };
    }
    let binding = cx.semantic.module_binding(name)?;
    (binding.count == 1)
        .then_some(binding.first_value)
        .flatten()
}

/// The values of `name`: its one local value (see [`bound_value`]), or every module-level
/// value when each binding there is a plain assignment (a notebook sets `k = 4` in more than
/// one cell).
fn bound_values<'a>(
    cx: &Context<'_, 'a>,
    name: &str,
    function: Option<&'a ast::StmtFunctionDef>,
) -> Option<Vec<&'a Expr>> {
    if let Some(def) = function
        && cx.semantic.binds_locally(def.start(), name)
    {
        return bound_value(cx, name, function).map(|v| vec![v]);
    }
    let values: Option<Vec<&'a Expr>> = cx.semantic.module_values(name).into_iter().collect();
    values.filter(|v| !v.is_empty())
}

/// Plain assignments `name = value` in a function body (not in nested definitions); any other
/// binding of the name (a loop target, an augmented assignment) makes it `complex`.
fn assignments<'a>(body: &'a [Stmt], name: &str, found: &mut Vec<&'a Expr>, complex: &mut bool) {
    for stmt in body {
        match stmt {
            Stmt::Assign(assign) => {
                if let [Expr::Name(target)] = &assign.targets[..]
                    && target.id.as_str() == name
                {
                    found.push(&assign.value);
                }
            }
            Stmt::AugAssign(aug) => {
                if matches!(&*aug.target, Expr::Name(t) if t.id.as_str() == name) {
                    *complex = true;
                }
            }
            Stmt::For(lp) => {
                if matches!(&*lp.target, Expr::Name(t) if t.id.as_str() == name) {
                    *complex = true;
                }
                assignments(&lp.body, name, found, complex);
                assignments(&lp.orelse, name, found, complex);
            }
            Stmt::While(lp) => {
                assignments(&lp.body, name, found, complex);
                assignments(&lp.orelse, name, found, complex);
            }
            Stmt::If(test) => {
                assignments(&test.body, name, found, complex);
                for clause in &test.elif_else_clauses {
                    assignments(&clause.body, name, found, complex);
                }
            }
            Stmt::With(with) => assignments(&with.body, name, found, complex),
            Stmt::Try(t) => {
                assignments(&t.body, name, found, complex);
                for handler in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = handler;
                    assignments(&h.body, name, found, complex);
                }
                assignments(&t.orelse, name, found, complex);
                assignments(&t.finalbody, name, found, complex);
            }
            _ => {}
        }
    }
}

impl<'a> FilePass<'a> for TfMemoryNotFreed<'a> {
    fn hooks(&self) -> Hooks {
        Hooks::ALL
    }

    fn stmt(&mut self, cx: &mut Context<'_, 'a>, stmt: &'a Stmt) {
        if !self.may_build(cx) {
            return;
        }
        match stmt {
            // A Keras model class of this file: constructing it builds a model.
            Stmt::ClassDef(class) => {
                let knowledge = cx.knowledge;
                let bases = class
                    .arguments
                    .as_deref()
                    .map(|a| &a.args[..])
                    .unwrap_or_default();
                if bases.iter().any(|base| {
                    cx.semantic.resolve(base).is_some_and(|q| {
                        knowledge
                            .training
                            .tf_memory
                            .model_bases
                            .contains(&knowledge.canonical(&q))
                    })
                }) {
                    self.builders
                        .insert(class.name.to_string(), CLASS.to_string());
                }
            }
            Stmt::Assign(assign) if cx.semantic.in_loop() || !enclosing_loops(cx).0.is_empty() => {
                match (&assign.targets[..], &*assign.value) {
                    ([Expr::Name(target)], Expr::Call(call)) => {
                        self.bound.insert(call.range(), target.id.to_string());
                    }
                    // `models[i] = model`
                    ([Expr::Subscript(_)], Expr::Name(value)) => {
                        let loops = enclosing_loops(cx).0.iter().map(|l| l.range()).collect();
                        self.kept_names.push((value.id.to_string(), loops));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn expr(&mut self, cx: &mut Context<'_, 'a>, expr: &'a Expr) {
        let Expr::Call(call) = expr else { return };
        if !self.may_build(cx) {
            return;
        }
        let knowledge = cx.knowledge;
        let lists = &knowledge.training.tf_memory;
        let qualified = cx.semantic.resolve(&call.func);
        let resolved = qualified.as_deref().map(|q| knowledge.canonical(q));
        let (loop_stmts, function) = enclosing_loops(cx);
        let loops: Vec<TextRange> = loop_stmts.iter().map(|l| l.range()).collect();
        if let Expr::Attribute(attribute) = &*call.func {
            let method = attribute.attr.as_str();
            if lists.model_methods.iter().any(|m| m == method) {
                self.used_loops.extend(loops.iter().copied());
                if let Some(function) = enclosing_definition(cx) {
                    self.using_functions.insert(function.to_string());
                }
            }
            // `models.append(model)`, `models.append(build())`, `models.insert(0, model)`.
            if !loops.is_empty() && matches!(method, "append" | "insert" | "add") {
                for arg in &*call.arguments.args {
                    match arg {
                        Expr::Name(name) => {
                            self.kept_names.push((name.id.to_string(), loops.clone()));
                        }
                        Expr::Call(inner) => {
                            self.kept_calls.insert(inner.range());
                        }
                        _ => {}
                    }
                }
            }
        }
        if let Some(canonical) = &resolved {
            if lists.clear_calls.contains(canonical) {
                self.cleared.extend(loops);
                for frame in cx.semantic.frames() {
                    if let Frame::Function(def) = frame {
                        self.cleared_functions.insert(def.range());
                    }
                }
                return;
            }
            if builds_model(knowledge, canonical) {
                let name = canonical
                    .rsplit('.')
                    .next()
                    .unwrap_or(canonical)
                    .to_string();
                // A function that builds a model makes calls of it builds too.
                if let Some(function) = enclosing_definition(cx) {
                    self.builders
                        .entry(function.to_string())
                        .or_insert_with(|| name.clone());
                }
                if !loops.is_empty() {
                    self.builds.push(Build {
                        range: call.range(),
                        what: Some(format!("`{name}(...)`")),
                        local: None,
                        loops: loop_stmts,
                        function,
                    });
                }
                return;
            }
        }
        if loops.is_empty() {
            return;
        }
        // `build_model()` or `self.build_model()`: decided at the end.
        let local = match &*call.func {
            Expr::Name(name)
                if resolved.is_none() || cx.semantic.imports.get(&name.id).is_none() =>
            {
                Some(name.id.as_str())
            }
            Expr::Attribute(attribute) if matches!(&*attribute.value, Expr::Name(n) if n.id.as_str() == "self") => {
                Some(attribute.attr.as_str())
            }
            _ => None,
        };
        if let Some(local) = local {
            self.builds.push(Build {
                range: call.range(),
                what: None,
                local: Some(local.to_string()),
                loops: loop_stmts,
                function,
            });
        }
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        let mut found: Vec<(TextRange, String)> = Vec::new();
        for build in &self.builds {
            let what = match (&build.what, &build.local) {
                (Some(what), _) => what.clone(),
                (None, Some(name)) => match self.builders.get(name) {
                    Some(kind) if kind == CLASS => format!("`{name}()`, a Keras model,"),
                    Some(_) => format!("`{name}()`, which builds a Keras model,"),
                    None => continue,
                },
                (None, None) => continue,
            };
            let loops: Vec<TextRange> = build.loops.iter().map(|l| l.range()).collect();
            let Some(&innermost) = loops.last() else {
                continue;
            };
            if !self.leaks(&loops, build.local.as_deref())
                || self.kept(build.range, innermost)
                || build
                    .function
                    .is_some_and(|def| self.cleared_functions.contains(&def.range()))
            {
                continue;
            }
            // A handful of iterations (a 4-fold cross-validation) keeps a handful of models.
            let runs = build.loops.iter().try_fold(1u64, |total, lp| {
                iterations(cx, lp, build.function).map(|n| total.saturating_mul(n))
            });
            if runs.is_some_and(|n| n <= HANDFUL) {
                continue;
            }
            found.push((build.range, what));
        }
        found.sort_by_key(|(range, _)| range.start());
        for (range, what) in found {
            cx.report(
                Diagnostic::new(
                    &TF_MEMORY_NOT_FREED,
                    format!(
                        "{what} is called in a loop that never clears the Keras session: every model built stays in memory"
                    ),
                    range,
                )
                .with_help(
                    "call `keras.backend.clear_session()` at the start of each iteration, before the model is built",
                ),
            );
        }
    }
}
