//! How names and command-line options are used: the per-file part ([`UsageBuilder`], fed by
//! the single tree walk, producing [`UsageFacts`]) and the project-wide part ([`ConfigIndex`],
//! [`ReferenceIndex`]), computed once, lazily, by the first rule that asks.
//!
//! Together they answer two project-wide questions: is a declared argparse/click option read
//! anywhere, and is a Model/Loss/Dataset component referenced anywhere.

use std::path::Path;

use ruff_python_ast::{self as ast, CmpOp, Expr, ExprCall, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::knowledge::Knowledge;
use crate::semantic::Semantic;
use crate::semantic::builder::{AssignValue, Resolver};
use crate::semantic::facts::{
    Callee, ConfigOption, NameList, OptionSource, Role, UsageFacts, WholesaleUse,
};
use crate::semantic::index::{FileId, ProjectIndex, Symbol};
use crate::semantic::roles::Roles;

/// At most this many whole-namespace uses are kept per file (one is enough to cover the
/// options; a few more explain it).
const MAX_WHOLESALE: usize = 16;

/// A click-decorated function being walked.
struct ClickDraft<'a> {
    def: &'a ast::StmtFunctionDef,
    /// (parameter name, option as written, range of the option string, read in the body).
    options: Vec<(String, String, TextRange, bool)>,
    /// `**kwargs` of the function: using it reads every option.
    kwargs: Option<&'a str>,
    /// The body uses all parameters at once (`locals()`, `ctx.params`, `kwargs`).
    wholesale: bool,
}

/// Collects usage facts during the walk; see the module docs.
#[derive(Default)]
pub(crate) struct UsageBuilder<'a> {
    /// The file is a package `__init__.py`: its imports are re-exports, not uses.
    is_init: bool,
    names: FxHashSet<&'a str>,
    /// Names loaded outside the body of the module-level definition of the same name.
    name_loads: FxHashSet<&'a str>,
    /// Names bound to `parse_args()` so far (for namespace reads).
    seen_namespaces: Vec<&'a str>,
    namespace_reads: Vec<(&'a str, TextRange)>,
    /// Possible whole-namespace uses found in the walk (`X.__dict__`, `[X]`, `for k in X`):
    /// kept if `X` turns out to name a namespace.
    candidates: Vec<(&'a str, TextRange)>,
    /// Possible namespaces put into a literal container (`{"args": args}`, `(model, args)`):
    /// kept as stored uses if `X` turns out to name a namespace.
    stored: Vec<(&'a str, TextRange)>,
    /// `self.<name> = <call>` (`self.opt = Adam(...)`).
    self_calls: Vec<(&'a str, &'a ExprCall)>,
    /// `vars(...)` calls whose result is only keyed (`vars(args)["lr"]`) or bound to a name, or
    /// only iterated to be written out (`for k, v in vars(args).items(): f.write(...)`).
    keyed_vars: Vec<TextSize>,
    /// `X.__dict__` only iterated to be written out.
    displayed_dicts: Vec<TextRange>,
    options: Vec<ConfigOption>,
    dynamic: bool,
    dynamic_modules: Vec<String>,
    click: Vec<ClickDraft<'a>>,
    /// A parse method is called in the file (`parser.parse_args()`).
    parses: bool,
    /// Parameters of the functions defined in the file, by name (a class by its `__init__`,
    /// without `self`): a namespace passed to them is a namespace under the parameter's name.
    def_params: FxHashMap<&'a str, Vec<&'a str>>,
    /// `X.attr = name` with `X` not `self`/`cls`: if `name` holds a namespace, it escapes.
    /// `self.attr = name`: the attribute holds a namespace.
    attr_binds: Vec<(&'a str, &'a str, bool, TextRange)>,
}

/// The innermost name of `X` in `X`, `a.X`, `self.X`.
fn last_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

fn string_literal(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::StringLiteral(s) => s.as_single_part_string().map(|s| s.as_str()),
        _ => None,
    }
}

fn is_name(expr: &Expr, name: &str) -> bool {
    matches!(expr, Expr::Name(n) if n.id.as_str() == name)
}

/// `vars(...)` with one argument.
fn is_vars_call(expr: &Expr) -> Option<&ExprCall> {
    match expr {
        Expr::Call(call) if is_name(&call.func, "vars") && call.arguments.args.len() == 1 => {
            Some(call)
        }
        _ => None,
    }
}

/// The `vars(X)` call or `X.__dict__` a `for` loop iterates: directly, through `.items()`,
/// `.keys()`, `.values()`, or a one-argument wrapper (`sorted(...)`, `six.iteritems(...)`).
fn iterated_namespace(iter: &Expr, depth: u8) -> Option<&Expr> {
    if depth > 4 {
        return None;
    }
    match iter {
        Expr::Call(call) if is_vars_call(iter).is_some() && !is_self(&call.arguments.args[0]) => {
            Some(iter)
        }
        Expr::Attribute(attr) if attr.attr.as_str() == "__dict__" && !is_self(&attr.value) => {
            Some(iter)
        }
        Expr::Call(call) => match &*call.func {
            Expr::Attribute(attr)
                if call.arguments.is_empty()
                    && matches!(attr.attr.as_str(), "items" | "keys" | "values") =>
            {
                iterated_namespace(&attr.value, depth + 1)
            }
            _ if call.arguments.args.len() == 1 => {
                iterated_namespace(&call.arguments.args[0], depth + 1)
            }
            _ => None,
        },
        _ => None,
    }
}

/// A statement that only writes something out: a call of a display function or method
/// (`print(...)`, `logger.info(...)`, `f.write(...)`).
fn displays(stmt: &Stmt, semantic: &Semantic<'_>, knowledge: &Knowledge) -> bool {
    let Stmt::Expr(ast::StmtExpr { value, .. }) = stmt else {
        return false;
    };
    let Expr::Call(call) = &**value else {
        return false;
    };
    let usage = &knowledge.usage;
    match &*call.func {
        Expr::Name(name) => {
            semantic.is_builtin(name.id.as_str()) && usage.display_calls.contains(name.id.as_str())
        }
        Expr::Attribute(attr) => {
            usage.is_display_method(attr.attr.as_str())
                || semantic
                    .resolve(&call.func)
                    .is_some_and(|q| usage.display_calls.contains(&q))
        }
        _ => false,
    }
}

/// A CamelCase identifier (`FocalLoss`): registries name classes in strings.
fn is_class_like(s: &str) -> bool {
    let bytes = s.as_bytes();
    (2..=64).contains(&bytes.len())
        && bytes[0].is_ascii_uppercase()
        && bytes.iter().any(u8::is_ascii_lowercase)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// argparse's `dest` for an option: `--learning-rate` → `learning_rate`, `-l` → `l`.
fn option_dest(flag: &str) -> String {
    flag.trim_start_matches('-').replace('-', "_")
}

impl<'a> UsageBuilder<'a> {
    pub fn new(path: &Path) -> Self {
        UsageBuilder {
            is_init: path.file_stem().is_some_and(|s| s == "__init__"),
            ..Default::default()
        }
    }

    /// Called for every statement before its children.
    pub fn stmt(&mut self, stmt: &'a Stmt, semantic: &Semantic<'a>, knowledge: &Knowledge) {
        match stmt {
            Stmt::FunctionDef(def) => {
                let method = matches!(
                    semantic.frames().last(),
                    Some(crate::semantic::Frame::Class(_))
                );
                let mut params: Vec<&'a str> =
                    def.parameters.iter().map(|p| p.name().as_str()).collect();
                if method
                    && !def
                        .decorator_list
                        .iter()
                        .any(|d| is_name(&d.expression, "staticmethod"))
                    && !params.is_empty()
                {
                    params.remove(0);
                }
                match (method, semantic.frames().last()) {
                    (true, Some(crate::semantic::Frame::Class(class)))
                        if def.name.as_str() == "__init__" =>
                    {
                        self.def_params.entry(class.name.as_str()).or_insert(params);
                    }
                    _ => {
                        self.def_params.entry(def.name.as_str()).or_insert(params);
                    }
                }
                if semantic.at_module_level() && registers(&def.decorator_list, semantic, knowledge)
                {
                    self.names.insert(def.name.as_str());
                }
                self.enter_click(def, semantic);
            }
            Stmt::ClassDef(class)
                if semantic.at_module_level()
                    && registers(&class.decorator_list, semantic, knowledge) =>
            {
                self.names.insert(class.name.as_str());
            }
            Stmt::ImportFrom(import) if !self.is_init => {
                for alias in &import.names {
                    self.names.insert(alias.name.as_str());
                }
            }
            Stmt::Assign(ast::StmtAssign { targets, value, .. }) => {
                if let Expr::Name(value_name) = &**value {
                    for target in targets {
                        if let Expr::Attribute(attr) = target {
                            self.attr_binds.push((
                                attr.attr.as_str(),
                                value_name.id.as_str(),
                                is_self(&attr.value),
                                target.range(),
                            ));
                        }
                    }
                }
                if let Expr::Call(call) = &**value {
                    for target in targets {
                        if let Expr::Attribute(attr) = target
                            && is_self(&attr.value)
                        {
                            self.self_calls.push((attr.attr.as_str(), call));
                        }
                    }
                }
                for target in targets {
                    self.bound(target, value, semantic, knowledge);
                }
            }
            Stmt::AnnAssign(ast::StmtAnnAssign {
                target,
                value: Some(value),
                ..
            }) => self.bound(target, value, semantic, knowledge),
            // `for key, value in vars(args).items(): f.write(f"{key}: {value}\n")`: the options
            // are written out (a log of the run's configuration), not read.
            Stmt::For(ast::StmtFor { iter, body, .. })
                if body.iter().all(|stmt| displays(stmt, semantic, knowledge)) =>
            {
                match iterated_namespace(iter, 0) {
                    Some(Expr::Call(call)) => self.keyed_vars.push(call.start()),
                    Some(dict @ Expr::Attribute(_)) => self.displayed_dicts.push(dict.range()),
                    _ => {}
                }
            }
            Stmt::AugAssign(ast::StmtAugAssign { target, value, .. }) => {
                // `args.lr *= world_size` reads `args.lr`.
                match &**target {
                    Expr::Attribute(attr) if !is_self(&attr.value) => {
                        self.names.insert(attr.attr.as_str());
                    }
                    Expr::Subscript(sub) => {
                        if let Some(key) = string_literal(&sub.slice) {
                            self.names.insert(key);
                        }
                    }
                    Expr::Name(n) if n.id.as_str() == "__all__" && semantic.at_module_level() => {
                        self.exports(value);
                    }
                    _ => {}
                }
            }
            Stmt::For(ast::StmtFor { iter, .. }) => {
                if let Some(name) = last_name(iter) {
                    self.candidates.push((name, iter.range()));
                }
            }
            _ => {}
        }
    }

    /// `target = value`: `__all__`, namespaces bound to `parse_args()`, `d = vars(args)`.
    fn bound(
        &mut self,
        target: &'a Expr,
        value: &'a Expr,
        semantic: &Semantic<'a>,
        knowledge: &Knowledge,
    ) {
        if let Expr::Name(n) = target
            && n.id.as_str() == "__all__"
            && semantic.at_module_level()
        {
            self.exports(value);
        }
        if let Some(call) = is_vars_call(value)
            && matches!(target, Expr::Name(_))
        {
            self.keyed_vars.push(call.start());
        }
        let parsed = match (target, value) {
            (Expr::Name(n), Expr::Call(call)) => Some((n, call)),
            (Expr::Tuple(t), Expr::Call(call)) => match t.elts.first() {
                Some(Expr::Name(n)) => Some((n, call)),
                _ => None,
            },
            _ => None,
        };
        if let Some((name, call)) = parsed
            && let Expr::Attribute(attr) = &*call.func
            && knowledge.usage.is_parse_method(attr.attr.as_str())
        {
            self.seen_namespaces.push(name.id.as_str());
        }
    }

    /// `__all__ = ["A", "B"]`, `__all__ += [...]`.
    fn exports(&mut self, value: &'a Expr) {
        let elts = match value {
            Expr::List(l) => &l.elts,
            Expr::Tuple(t) => &t.elts,
            _ => return,
        };
        for elt in elts {
            if let Some(s) = string_literal(elt) {
                self.names.insert(s);
            }
        }
    }

    /// Called for every statement after its children.
    pub fn leave_stmt(&mut self, stmt: &'a Stmt) {
        if let Stmt::FunctionDef(def) = stmt
            && self.click.last().is_some_and(|c| std::ptr::eq(c.def, def))
        {
            let draft = self.click.pop().expect("click draft");
            if draft.wholesale {
                return;
            }
            for (dest, flag, range, read) in draft.options {
                if !read {
                    self.options.push(ConfigOption {
                        dest,
                        flag,
                        range,
                        source: OptionSource::Click,
                    });
                }
            }
        }
    }

    /// `@click.option(...)` / `@click.argument(...)` on a function: its parameters.
    fn enter_click(&mut self, def: &'a ast::StmtFunctionDef, semantic: &Semantic<'a>) {
        let mut options = Vec::new();
        for decorator in &def.decorator_list {
            let Expr::Call(call) = &decorator.expression else {
                continue;
            };
            let Some(q) = semantic.resolve(&call.func) else {
                continue;
            };
            let argument = match q.as_str() {
                "click.option" => false,
                "click.argument" => true,
                _ => continue,
            };
            let args = &call.arguments;
            if args.find_keyword("callback").is_some()
                || args
                    .find_keyword("expose_value")
                    .is_some_and(|k| k.value.is_boolean_literal_expr())
            {
                continue;
            }
            let strings: Vec<(&str, TextRange)> = args
                .args
                .iter()
                .map_while(|a| string_literal(a).map(|s| (s, a.range())))
                .collect();
            let Some(&(first, first_range)) = strings.first() else {
                continue;
            };
            let (dest, flag, range) = if argument {
                (
                    first.replace('-', "_").to_ascii_lowercase(),
                    first,
                    first_range,
                )
            } else if let Some(&(name, range)) = strings.iter().find(|(s, _)| !s.starts_with('-')) {
                let flag = strings
                    .iter()
                    .find(|(s, _)| s.starts_with('-'))
                    .map_or(name, |(s, _)| *s);
                (name.to_string(), flag, range)
            } else {
                let &(flag, range) = strings
                    .iter()
                    .find(|(s, _)| s.starts_with("--"))
                    .unwrap_or(&(first, first_range));
                let flag = flag.split('/').next().unwrap_or(flag).trim();
                (option_dest(flag).to_ascii_lowercase(), flag, range)
            };
            if dest.is_empty() {
                continue;
            }
            options.push((dest, flag.to_string(), range, false));
        }
        if options.is_empty() {
            return;
        }
        self.click.push(ClickDraft {
            def,
            options,
            kwargs: def.parameters.kwarg.as_deref().map(|p| p.name.as_str()),
            wholesale: false,
        });
    }

    /// Called for every expression before its children.
    pub fn expr(&mut self, expr: &'a Expr, semantic: &Semantic<'a>, knowledge: &Knowledge) {
        match expr {
            Expr::Name(name) if name.ctx.is_load() => {
                let id = name.id.as_str();
                for draft in &mut self.click {
                    if draft.kwargs == Some(id) {
                        draft.wholesale = true;
                    }
                    for option in &mut draft.options {
                        if option.0 == id {
                            option.3 = true;
                        }
                    }
                }
                // A definition that mentions itself (`super(FocalLoss, self)`) is not used.
                let own = semantic.frames().iter().find_map(|f| match f {
                    crate::semantic::Frame::Class(c) => Some(c.name.as_str()),
                    crate::semantic::Frame::Function(d) => Some(d.name.as_str()),
                    crate::semantic::Frame::Loop(_) => None,
                });
                if own != Some(id) {
                    self.name_loads.insert(id);
                }
            }
            Expr::Attribute(attr) if attr.ctx.is_load() => {
                let name = attr.attr.as_str();
                if name == "params" && !self.click.is_empty() {
                    // `ctx.params` in a click command.
                    if let Some(draft) = self.click.last_mut() {
                        draft.wholesale = true;
                    }
                }
                if is_self(&attr.value) {
                    return;
                }
                self.names.insert(name);
                if name == "__dict__" {
                    if let Some(receiver) = last_name(&attr.value) {
                        self.candidates.push((receiver, attr.range()));
                    }
                    self.dynamic_module(&attr.value, semantic);
                }
                if let Some(receiver) = last_name(&attr.value)
                    && (knowledge.usage.is_namespace_name(receiver)
                        || self.seen_namespaces.contains(&receiver))
                {
                    self.namespace_reads.push((name, attr.range()));
                }
            }
            Expr::Subscript(sub) if sub.ctx.is_load() => {
                if let Some(key) = string_literal(&sub.slice) {
                    self.names.insert(key);
                }
                if let Some(call) = is_vars_call(&sub.value) {
                    self.keyed_vars.push(call.start());
                }
            }
            Expr::Compare(cmp) => {
                if let ([CmpOp::In | CmpOp::NotIn], [container]) = (&*cmp.ops, &*cmp.comparators) {
                    if let Some(key) = string_literal(&cmp.left) {
                        self.names.insert(key);
                    }
                    if let Some(call) = is_vars_call(container) {
                        self.keyed_vars.push(call.start());
                    }
                }
            }
            Expr::Call(call) => self.call(call, semantic, knowledge),
            Expr::StringLiteral(s) => {
                if let Some(part) = s.as_single_part_string()
                    && is_class_like(part.as_str())
                {
                    self.names.insert(part.as_str());
                }
            }
            Expr::Dict(dict) => {
                for item in &dict.items {
                    if let Some(name) = last_name(&item.value) {
                        self.stored.push((name, item.value.range()));
                    }
                }
            }
            Expr::List(ast::ExprList { elts, ctx, .. })
            | Expr::Tuple(ast::ExprTuple { elts, ctx, .. })
                if ctx.is_load() =>
            {
                for elt in elts {
                    if let Some(name) = last_name(elt) {
                        self.stored.push((name, elt.range()));
                    }
                }
            }
            Expr::Set(set) => {
                for elt in &set.elts {
                    if let Some(name) = last_name(elt) {
                        self.stored.push((name, elt.range()));
                    }
                }
            }
            _ => {}
        }
    }

    fn call(&mut self, call: &'a ExprCall, semantic: &Semantic<'a>, knowledge: &Knowledge) {
        let args = &call.arguments.args;
        if let Expr::Attribute(attr) = &*call.func
            && knowledge.usage.is_parse_method(attr.attr.as_str())
        {
            self.parses = true;
        }
        match &*call.func {
            Expr::Attribute(attr) => match attr.attr.as_str() {
                "add_argument" => {
                    if let Some(option) = argparse_option(call) {
                        self.options.push(option);
                    }
                }
                "get" | "pop" | "setdefault" => {
                    if let Some(key) = args.first().and_then(string_literal) {
                        self.names.insert(key);
                        if let Some(inner) = is_vars_call(&attr.value) {
                            self.keyed_vars.push(inner.start());
                        }
                    }
                }
                _ => {}
            },
            Expr::Name(name) => match name.id.as_str() {
                "getattr" | "hasattr" if args.len() >= 2 => match string_literal(&args[1]) {
                    Some(key) => {
                        self.names.insert(key);
                    }
                    None => self.dynamic_module(&args[0], semantic),
                },
                "globals" | "locals" | "eval" | "exec" => {
                    self.dynamic = true;
                    if let Some(draft) = self.click.last_mut() {
                        draft.wholesale = true;
                    }
                }
                "vars" if args.is_empty() => self.dynamic = true,
                _ => {}
            },
            _ => {}
        }
    }

    /// `getattr(models, name)`, `models.__dict__[name]`: members of an imported module are
    /// looked up by a computed name.
    fn dynamic_module(&mut self, receiver: &Expr, semantic: &Semantic<'a>) {
        if let Some(q) = semantic.resolve(receiver)
            && !self.dynamic_modules.contains(&q)
        {
            self.dynamic_modules.push(q);
        }
    }

    /// Classify what was recorded, once every assignment of the file is known.
    pub fn build(&self, resolver: &Resolver<'_, 'a>) -> UsageFacts {
        let semantic = resolver.semantic;
        let knowledge = &resolver.builder.knowledge;
        let usage = &knowledge.usage;

        // Names that hold a namespace: the usual names, and those bound to `parse_args()` or
        // `vars(<namespace>)` anywhere in the file.
        let mut namespaces: FxHashSet<&str> =
            usage.namespace_names.iter().map(String::as_str).collect();
        let mut framework_bound: Vec<&str> = Vec::new();
        let framework_call = |call: &ExprCall| {
            semantic
                .resolve(&call.func)
                .is_some_and(|q| knowledge.classify_call(&knowledge.canonical(&q)).is_some())
        };
        for scope in &resolver.builder.scopes {
            for (name, recs) in &scope.assigns {
                let binds_namespace = recs.iter().any(|rec| {
                    let call = match rec.value {
                        AssignValue::Expr(Expr::Call(call)) => call,
                        AssignValue::Element(Expr::Call(call), 0) => call,
                        _ => return false,
                    };
                    match &*call.func {
                        Expr::Attribute(attr) => usage.is_parse_method(attr.attr.as_str()),
                        Expr::Name(n) => {
                            n.id.as_str() == "vars"
                                && call.arguments.args.len() == 1
                                && !is_self(&call.arguments.args[0])
                        }
                        _ => false,
                    }
                });
                if binds_namespace {
                    namespaces.insert(name);
                } else if usage.is_namespace_name(name)
                    && recs.iter().all(|rec| match rec.value {
                        // `opt = tf.train.AdamOptimizer(lr)`: the usual name of a namespace,
                        // bound here to a framework object.
                        AssignValue::Expr(Expr::Call(call)) => framework_call(call),
                        _ => false,
                    })
                {
                    framework_bound.push(*name);
                }
            }
        }
        // `self.opt = Adam(self.parameters())`.
        for &(name, call) in &self.self_calls {
            if usage.is_namespace_name(name)
                && framework_call(call)
                && !framework_bound.contains(&name)
            {
                framework_bound.push(name);
            }
        }
        // Only when the file never binds that name to a namespace anywhere (`self.opt = opt`
        // included).
        for name in framework_bound {
            let self_rebinds = self
                .self_calls
                .iter()
                .any(|&(n, call)| n == name && !framework_call(call))
                || self
                    .attr_binds
                    .iter()
                    .any(|&(attr, _, on_self, _)| on_self && attr == name);
            // Nor receives it as a parameter (`def train(opt)`).
            let rebinds = resolver.builder.scopes.iter().any(|scope| {
                scope.params.contains(&name)
                    || scope.assigns.get(name).is_some_and(|recs| {
                        recs.iter()
                            .any(|rec| !matches!(rec.value, AssignValue::Expr(Expr::Call(_))))
                    })
            });
            if !rebinds && !self_rebinds && !self.seen_namespaces.contains(&name) {
                namespaces.remove(name);
            }
        }
        // A namespace handed to a function of this file arrives under its parameter's name;
        // `self.opt = args` keeps it under the attribute's name.
        // A call that parses (`parser.parse_args()`), or of a function named as returning the
        // parsed options (`parse()`, `parse_opts()`, `get_args()`, `get_options()`).
        let holds_namespace = |namespaces: &FxHashSet<&str>, arg: &Expr| match arg {
            Expr::Call(call) => match &*call.func {
                Expr::Attribute(attr) if usage.is_parse_method(attr.attr.as_str()) => true,
                func => last_name(func).is_some_and(|name| {
                    let name = name.to_ascii_lowercase();
                    name.starts_with("parse")
                        || ["args", "opts", "options"]
                            .iter()
                            .any(|s| name.ends_with(s))
                            && !name.ends_with("kwargs")
                }),
            },
            _ => last_name(arg).is_some_and(|n| namespaces.contains(n)),
        };
        for _ in 0..4 {
            let before = namespaces.len();
            for scope in &resolver.builder.scopes {
                for call in scope.call_exprs() {
                    let Some(callee) = last_name(&call.func) else {
                        continue;
                    };
                    let Some(params) = self.def_params.get(callee) else {
                        continue;
                    };
                    for (i, arg) in call.arguments.args.iter().enumerate() {
                        if holds_namespace(&namespaces, arg)
                            && let Some(param) = params.get(i)
                        {
                            namespaces.insert(param);
                        }
                    }
                    for keyword in &call.arguments.keywords {
                        if let Some(arg) = &keyword.arg
                            && holds_namespace(&namespaces, &keyword.value)
                            && let Some(param) = params.iter().find(|p| **p == arg.as_str())
                        {
                            namespaces.insert(param);
                        }
                    }
                }
            }
            for &(attr, value, on_self, _) in &self.attr_binds {
                if on_self && namespaces.contains(value) {
                    namespaces.insert(attr);
                }
            }
            if namespaces.len() == before {
                break;
            }
        }
        let is_namespace = |expr: &Expr| holds_namespace(&namespaces, expr);

        let mut wholesale: Vec<WholesaleUse> = Vec::new();
        let mut push = |use_: WholesaleUse| {
            if wholesale.len() < MAX_WHOLESALE && !wholesale.contains(&use_) {
                wholesale.push(use_);
            }
        };
        for &(_, value, on_self, range) in &self.attr_binds {
            if !on_self && namespaces.contains(value) {
                // `trainer.args = args`: the namespace escapes into another object.
                push(WholesaleUse {
                    range,
                    callee: None,
                    stored: false,
                });
            }
        }
        for &(name, range) in &self.candidates {
            if namespaces.contains(name) && !self.displayed_dicts.contains(&range) {
                push(WholesaleUse {
                    range,
                    callee: None,
                    stored: false,
                });
            }
        }
        for &(name, range) in &self.stored {
            if namespaces.contains(name) {
                push(WholesaleUse {
                    range,
                    callee: None,
                    stored: true,
                });
            }
        }
        for (scope_index, scope) in resolver.builder.scopes.iter().enumerate() {
            for call in scope.call_exprs() {
                let range = call.range();
                let args = &call.arguments.args;
                let builtin = |name: &str| semantic.is_builtin(name);
                match &*call.func {
                    Expr::Name(n) => match n.id.as_str() {
                        "vars" if builtin("vars") => {
                            if args.len() == 1
                                && !is_self(&args[0])
                                && !self.keyed_vars.contains(&call.start())
                            {
                                push(WholesaleUse {
                                    range,
                                    callee: None,
                                    stored: false,
                                });
                            }
                            continue;
                        }
                        "getattr" | "setattr" | "hasattr" | "delattr" if builtin(n.id.as_str()) => {
                            if args.len() >= 2
                                && is_namespace(&args[0])
                                && string_literal(&args[1]).is_none()
                            {
                                push(WholesaleUse {
                                    range,
                                    callee: None,
                                    stored: false,
                                });
                            }
                            continue;
                        }
                        "isinstance" | "type" | "id" | "hash" | "bool" | "callable" => continue,
                        other if builtin(other) && usage.display_calls.contains(other) => {
                            continue;
                        }
                        _ => {}
                    },
                    Expr::Attribute(attr) => {
                        let method = attr.attr.as_str();
                        let imported = matches!(&*attr.value, Expr::Name(n) if semantic.imports.contains(n.id.as_str()));
                        if is_namespace(&attr.value) && !imported {
                            if !matches!(method, "get" | "pop" | "setdefault" | "__contains__")
                                && !usage.is_parse_method(method)
                                && !usage.parser_methods.iter().any(|m| m == method)
                            {
                                // `args.items()`, `args._get_kwargs()`, `args.func(args)`.
                                push(WholesaleUse {
                                    range,
                                    callee: None,
                                    stored: false,
                                });
                            }
                            continue;
                        }
                        if usage.is_display_method(method) {
                            continue;
                        }
                    }
                    _ => {}
                }
                if let Some(q) = semantic.resolve(&call.func)
                    && usage.display_calls.contains(&q)
                {
                    continue;
                }
                let passes_namespace = args.iter().any(&is_namespace)
                    || call
                        .arguments
                        .keywords
                        .iter()
                        .any(|k| is_namespace(&k.value));
                if !passes_namespace {
                    continue;
                }
                // `type(self)(self.args)`: a new instance of the class being read, whose reads
                // are seen.
                if let Expr::Call(inner) = &*call.func
                    && is_name(&inner.func, "type")
                    && semantic.is_builtin("type")
                    && inner.arguments.args.first().is_some_and(is_self)
                {
                    continue;
                }
                let callee = match resolver.callee(scope_index, &call.func, call.start()) {
                    // A function or class of this file: its reads are seen.
                    Some(Callee::Local(_)) => continue,
                    Some(Callee::SelfMember(name))
                        if resolver.is_own_method(scope_index, &name) =>
                    {
                        continue;
                    }
                    // Whether an imported callee is the project's is decided with the project
                    // index: a project package may share a library's name (`datasets/`).
                    Some(Callee::Qualified(q)) => Some(Callee::Qualified(q)),
                    _ => None,
                };
                push(WholesaleUse {
                    range,
                    callee,
                    stored: false,
                });
            }
        }

        // Module-level definitions used in the file count as referenced.
        let mut names = self.names.clone();
        names.extend(
            resolver
                .module_names
                .iter()
                .filter(|n| self.name_loads.contains(*n)),
        );
        let mut namespace_reads: Vec<(String, TextRange)> = Vec::new();
        for &(name, range) in &self.namespace_reads {
            if !namespace_reads.iter().any(|(n, _)| n == name) {
                namespace_reads.push((name.to_string(), range));
            }
        }
        let mut dynamic_modules = self.dynamic_modules.clone();
        dynamic_modules.sort();
        UsageFacts {
            names: NameList::new(names),
            options: self.options.clone(),
            namespace_reads,
            wholesale,
            dynamic: self.dynamic,
            dynamic_modules,
            parses: self.parses,
        }
    }
}

fn is_self(expr: &Expr) -> bool {
    matches!(expr, Expr::Name(n) if matches!(n.id.as_str(), "self" | "cls"))
}

/// True if a decorator list registers the definition somewhere (`@register_model`,
/// `@MODELS.register_module()`): anything but the transparent decorators.
fn registers(
    decorators: &[ast::Decorator],
    semantic: &Semantic<'_>,
    knowledge: &Knowledge,
) -> bool {
    decorators.iter().any(|d| {
        let func = match &d.expression {
            Expr::Call(call) => &*call.func,
            other => other,
        };
        let name = semantic.resolve(func).or_else(|| {
            ruff_python_ast::name::UnqualifiedName::from_expr(func).map(|n| n.to_string())
        });
        !name.is_some_and(|n| {
            knowledge
                .usage
                .transparent_decorators
                .contains(&knowledge.canonical(&n))
        })
    })
}

/// `parser.add_argument("--lr", "-l", dest="learning_rate", ...)`.
fn argparse_option(call: &ExprCall) -> Option<ConfigOption> {
    let arguments = &call.arguments;
    if arguments.args.iter().any(Expr::is_starred_expr) {
        return None;
    }
    if let Some(action) = arguments
        .find_keyword("action")
        .and_then(|k| string_literal(&k.value))
        && matches!(action, "help" | "version")
    {
        return None;
    }
    let strings: Vec<(&str, TextRange)> = arguments
        .args
        .iter()
        .map_while(|a| string_literal(a).map(|s| (s, a.range())))
        .collect();
    let &(first, first_range) = strings.first()?;
    let positional = !first.starts_with('-');
    let (flag, range) = if positional {
        (first, first_range)
    } else {
        strings
            .iter()
            .find(|(s, _)| s.starts_with("--"))
            .copied()
            .unwrap_or((first, first_range))
    };
    let dest = match arguments.find_keyword("dest") {
        Some(keyword) => string_literal(&keyword.value)?.to_string(),
        None if positional => flag.to_string(),
        None => option_dest(flag),
    };
    if dest.is_empty() {
        return None;
    }
    Some(ConfigOption {
        dest,
        flag: flag.to_string(),
        range,
        source: OptionSource::Argparse,
    })
}

// ---------------------------------------------------------------------------------------------
// Project-wide.

/// The names among `wanted` that some file of the project uses (an attribute, a subscript
/// key, a name, a string), read from every file's usage facts.
///
/// Sequential, as everything the lazily built project indexes run: they are built inside a
/// `OnceLock` from a worker of the thread pool, and a parallel loop there lets the building
/// worker, while it waits for a part another worker stole, steal a job that needs the same
/// index — and wait on itself forever (issue 15).
fn names_used(index: &ProjectIndex, wanted: &FxHashSet<&str>) -> FxHashSet<String> {
    index
        .all_files()
        .iter()
        .flat_map(|f| f.facts.usage.names.iter())
        .filter(|n| wanted.contains(n))
        .map(str::to_string)
        .collect()
}

/// Which declared options are read, project-wide.
#[derive(Debug, Default)]
pub struct ConfigIndex {
    /// Declared argparse `dest`s that some file reads.
    pub read: FxHashSet<String>,
    /// Per file: a whole-namespace use in the file, or within two import steps of it, covers
    /// the options it declares.
    pub covered: Vec<bool>,
    /// Per file: a script that parses its own options, keeps the namespace to itself (no
    /// whole-namespace use, not handed to any function of another file) and is imported by no
    /// project file. Its options are read only if the file itself reads them.
    pub closed: Vec<bool>,
    /// Attribute names read on a namespace that no option declares (`args.lr` with only
    /// `--learning-rate` declared), with the first place each is read, sorted by name.
    pub undeclared_reads: Vec<(String, FileId, TextRange)>,
}

impl ConfigIndex {
    pub fn compute(index: &ProjectIndex) -> ConfigIndex {
        let declared: FxHashSet<&str> = index
            .all_files()
            .iter()
            .flat_map(|f| &f.facts.usage.options)
            .filter(|o| o.source == OptionSource::Argparse)
            .map(|o| o.dest.as_str())
            .collect();
        if declared.is_empty() {
            return ConfigIndex::default();
        }
        let read = names_used(index, &declared);

        // Files using a namespace wholesale (a callee that is a project function or class is
        // not such a use: what it reads is seen), and the project files each file hands a
        // namespace to.
        let mut wholesale: Vec<bool> = vec![false; index.len()];
        let mut passes: Vec<Vec<FileId>> = vec![Vec::new(); index.len()];
        for f in index.file_ids() {
            for w in &index.facts(f).usage.wholesale {
                // Stored with a checkpoint or settings: read by name wherever it is read.
                if w.stored {
                    continue;
                }
                let target = w
                    .callee
                    .as_ref()
                    .and_then(|c| match index.resolve_callee(f, c) {
                        Some(Symbol::Class(t, _) | Symbol::Function(t, _)) => Some(t),
                        _ => None,
                    });
                match target {
                    Some(t) if t != f => passes[f as usize].push(t),
                    Some(_) => {}
                    None => wholesale[f as usize] = true,
                }
            }
            passes[f as usize].sort_unstable();
            passes[f as usize].dedup();
        }
        let declares: Vec<bool> = index
            .all_files()
            .iter()
            .map(|f| {
                f.facts
                    .usage
                    .options
                    .iter()
                    .any(|o| o.source == OptionSource::Argparse)
            })
            .collect();
        let mut closed: Vec<bool> = index
            .all_files()
            .iter()
            .zip(&declares)
            .map(|(f, d)| {
                let usage = &f.facts.usage;
                *d && usage.parses && !usage.dynamic && usage.wholesale.is_empty()
            })
            .collect();
        let any_closed = closed.iter().any(|c| *c);
        let any_wholesale = wholesale.iter().any(|w| *w);
        let outgoing = if any_closed || any_wholesale {
            import_outgoing(index)
        } else {
            Vec::new()
        };
        if any_closed {
            for targets in &outgoing {
                for &t in targets {
                    closed[t as usize] = false;
                }
            }
        }
        // A declaring file's options are covered by a whole-namespace use where its namespace
        // can go: in the file itself, in a project file it hands the namespace to (and one
        // more hand-over from there), or in a file that imports it (a module-level `args`
        // read by its importers) and what that file hands it to. A module the file merely
        // imports (a utility shared by every script) does not see its namespace unless it is
        // given it.
        let mut covered = wholesale.clone();
        if any_wholesale {
            let mut importers: Vec<Vec<FileId>> = vec![Vec::new(); index.len()];
            for (g, targets) in outgoing.iter().enumerate() {
                for &t in targets {
                    importers[t as usize].push(g as FileId);
                }
            }
            let reaches = |g: FileId| {
                wholesale[g as usize] || passes[g as usize].iter().any(|&h| wholesale[h as usize])
            };
            for f in 0..index.len() {
                if !declares[f] || covered[f] {
                    continue;
                }
                covered[f] = passes[f].iter().any(|&g| reaches(g))
                    || importers[f].iter().any(|&g| reaches(g));
            }
        }

        let mut undeclared: FxHashMap<&str, (FileId, TextRange)> = FxHashMap::default();
        for (f, file) in index.all_files().iter().enumerate() {
            for (name, range) in &file.facts.usage.namespace_reads {
                if !declared.contains(name.as_str()) {
                    undeclared
                        .entry(name.as_str())
                        .or_insert((f as FileId, *range));
                }
            }
        }
        let mut undeclared_reads: Vec<(String, FileId, TextRange)> = undeclared
            .into_iter()
            .map(|(n, (f, r))| (n.to_string(), f, r))
            .collect();
        undeclared_reads.sort_by(|a, b| a.0.cmp(&b.0));
        ConfigIndex {
            read,
            covered,
            closed,
            undeclared_reads,
        }
    }
}

/// Project files each file imports at module level (resolved through re-exports to the
/// defining file).
fn import_outgoing(index: &ProjectIndex) -> Vec<Vec<FileId>> {
    index
        .file_ids()
        .map(|f| {
            let mut targets: Vec<FileId> = index
                .facts(f)
                .imports
                .iter()
                .zip(index.resolved_imports(f))
                .filter_map(|((_, q), symbol)| {
                    // `from config import args`: a module-level variable of a project module.
                    symbol
                        .map(Symbol::file)
                        .or_else(|| index.import_module(f, q))
                })
                .filter(|t| *t != f)
                .collect();
            targets.sort_unstable();
            targets.dedup();
            targets
        })
        .collect()
}

/// Which components are referenced somewhere in the project.
#[derive(Debug, Default)]
pub struct ReferenceIndex {
    /// Component names that some file mentions.
    pub referenced: FxHashSet<String>,
    /// Per file: its members may be looked up by a computed name (`globals()`,
    /// `getattr(module, name)` from another file).
    pub dynamic: Vec<bool>,
}

/// A component whose references are looked for: a module-level Model/Loss/Dataset class or
/// Loss function.
#[derive(Debug, Clone, Copy)]
pub struct DefinedComponent<'p> {
    pub name: &'p str,
    pub name_range: TextRange,
    pub role: Role,
    pub is_class: bool,
}

/// The components a file defines.
pub fn components<'p>(
    index: &'p ProjectIndex,
    roles: &Roles,
    file: FileId,
) -> Vec<DefinedComponent<'p>> {
    let facts = index.facts(file);
    let mut found = Vec::new();
    for (id, class) in facts.classes.iter().enumerate() {
        if class.enclosing_function.is_some() || class.qualname.contains('.') {
            continue;
        }
        let role = roles.class(file, id as u32);
        if let Some(r) = [Role::Model, Role::Loss, Role::Dataset]
            .into_iter()
            .find(|r| role.roles.contains(*r))
        {
            found.push(DefinedComponent {
                name: &class.name,
                name_range: class.name_range,
                role: r,
                is_class: true,
            });
        }
    }
    for (id, function) in facts.functions.iter().enumerate() {
        if function.class.is_some() || function.parent.is_some() {
            continue;
        }
        if roles.function(file, id as u32).roles.contains(Role::Loss) {
            found.push(DefinedComponent {
                name: &function.name,
                name_range: function.name_range,
                role: Role::Loss,
                is_class: false,
            });
        }
    }
    found
}

impl ReferenceIndex {
    pub fn compute(index: &ProjectIndex, roles: &Roles) -> ReferenceIndex {
        let wanted: FxHashSet<&str> = index
            .file_ids()
            .filter(|&f| index.file(f).linted)
            .flat_map(|f| components(index, roles, f).into_iter().map(|c| c.name))
            .collect();
        let mut dynamic: Vec<bool> = index
            .all_files()
            .iter()
            .map(|f| f.facts.usage.dynamic)
            .collect();
        if wanted.is_empty() {
            return ReferenceIndex {
                referenced: FxHashSet::default(),
                dynamic,
            };
        }
        let referenced = names_used(index, &wanted);
        for f in index.file_ids() {
            for module in &index.facts(f).usage.dynamic_modules {
                if let Some(Symbol::Module(t)) = index.resolve_qualified(f, module) {
                    dynamic[t as usize] = true;
                }
            }
        }
        ReferenceIndex {
            referenced,
            dynamic,
        }
    }
}
