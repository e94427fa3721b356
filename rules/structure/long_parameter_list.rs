use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{ParameterWithDefault, StmtClassDef, StmtFunctionDef};
use rustc_hash::FxHashSet;

use crate::registry::prelude::*;
use crate::semantic::Frame;

declare_rule! {
    /// ## What it does
    /// Finds functions and methods that take more than `max-params` (default 12) *required
    /// positional* parameters: parameters without a default that a caller may pass by position.
    /// `self` and `cls` are not counted.
    ///
    /// Only those parameters count because they are what makes a long list dangerous: every
    /// call must supply all of them, and nothing but their order says which value goes where —
    /// `conv(x, 64, 3, 1, 2)` swaps two integers silently. Parameters with defaults are optional
    /// knobs callers name when they change one, and keyword-only parameters (after `*`) cannot be
    /// mixed up at all, so a model constructor with a few required inputs and many keyword
    /// hyperparameters (`ViT(*, image_size, patch_size, dim, depth, heads, ...)`) is the normal
    /// idiom, not a smell. `*args` and `**kwargs` do not count either.
    ///
    /// The default limit is set where the list is long beyond any idiom. Just over ten required
    /// parameters, the signatures found in public training code were mostly helpers with one
    /// caller right next to them (a research `train_one_epoch(student, teacher, loss, loader,
    /// optimizer, schedules..., epoch, args)`, a tutorial's `train(...)`), which reviewers did
    /// not think worth changing; lower `max-params` to hold code to a stricter standard.
    ///
    /// Not reported: `@overload` stubs (only the implementation); constructors of configuration
    /// records (a class whose name ends in `Config`, `Args`, `Options`, `Params`, ... or that
    /// derives from a known configuration base such as `transformers.PretrainedConfig`) and
    /// record-like constructors that store (almost) every parameter unchanged as an attribute of
    /// the same name: their parameter list *is* the record; functions whose parameters a
    /// decorator dictates (a parametrised test: `@pytest.mark.parametrize`,
    /// `@parameterized.expand`, absltest's `@parameterized.named_parameters`; a `click` command);
    /// command-line entry points (`fire.Fire(train)`, or every module-level function and class
    /// under `fire.Fire()`; `typer.run`, `tyro.cli`, ...), whose parameters are the flags; and
    /// factories whose parameters mirror a dictionary of defaults elsewhere in the file (at least
    /// 80 % of them are keys of one `dict(...)` or `{...}` literal whose values are written-out
    /// constants) — they are called as `f(**defaults)`, so the record already exists.
    ///
    /// ## Why is this bad?
    /// Deep-learning code accumulates hyperparameters: every experiment adds one more argument to
    /// the model's `__init__` or to `train()`. When they are all required and positional, each
    /// call is a row of bare numbers whose order must match the signature exactly: a mix-up is
    /// silent and trains a different model. A configuration dataclass names the group once, can
    /// be saved with the checkpoint and passed around whole; making the parameters keyword-only
    /// (`def f(x, *, dim, depth, ...)`) at least forces every caller to name them.
    ///
    /// ## Example
    /// ```python
    /// class Encoder(nn.Module):
    ///     def __init__(self, vocab, dim, depth, heads, mlp_ratio, dropout, attn_dropout,
    ///                  drop_path, norm_eps, max_len, use_bias):
    ///         ...
    ///
    /// encoder = Encoder(32000, 512, 6, 8, 4, 0.1, 0.1, 0.0, 1e-6, 1024, True)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// @dataclass
    /// class EncoderConfig:
    ///     vocab: int
    ///     dim: int = 512
    ///     depth: int = 6
    ///     heads: int = 8
    ///     ...
    ///
    /// class Encoder(nn.Module):
    ///     def __init__(self, config: EncoderConfig):
    ///         ...
    /// ```
    ///
    /// ## Notebooks
    /// Linted: a function's parameter list reads the same in a cell as in a module.
    pub static LONG_PARAMETER_LIST = {
        code: "DL202",
        name: "long-parameter-list",
        family: Family::Structure,
        severity: Severity::Info,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[OptionSpec {
            key: "max-params",
            kind: OptionKind::Int,
            default: "12",
            doc: "The most required positional parameters (no default, not keyword-only) a \
                  function may take, not counting `self` and `cls`.",
        }],
        check: Check::File(|options| {
            Box::new(LongParameterList {
                max: usize::try_from(options.int(&LONG_PARAMETER_LIST, "max-params"))
                    .unwrap_or(usize::MAX),
                candidates: Vec::new(),
                cli: CliExposure::default(),
                dict_keys: Vec::new(),
            })
        }),
        needs: Needs::Nothing,
    };
}

struct LongParameterList<'a> {
    max: usize,
    /// Definitions over the limit, in source order; decided once the whole file is seen.
    candidates: Vec<Candidate<'a>>,
    cli: CliExposure,
    /// Per dictionary literal or `dict(...)` call: the keys whose values are written-out defaults.
    dict_keys: Vec<(TextRange, FxHashSet<&'a str>)>,
}

struct Candidate<'a> {
    def: &'a StmtFunctionDef,
    class: Option<&'a StmtClassDef>,
    /// A module-level function, or a method of a module-level class.
    top_level: bool,
    params: Vec<&'a ParameterWithDefault>,
}

/// What the file hands to a command-line entry call (`fire.Fire(...)`).
#[derive(Default)]
struct CliExposure {
    /// `fire.Fire()` without a component: every module-level function and class.
    everything: bool,
    /// Names passed as the component, directly or inside a dict, list or tuple.
    names: FxHashSet<String>,
}

impl<'a> FilePass<'a> for LongParameterList<'a> {
    fn hooks(&self) -> Hooks {
        Hooks::STMT
    }

    fn stmt(&mut self, cx: &mut Context<'_, 'a>, stmt: &'a Stmt) {
        let Stmt::FunctionDef(def) = stmt else { return };
        let params = counted_parameters(def);
        if params.len() <= self.max || is_overload(cx, def) || dictated_by_decorator(cx, def) {
            return;
        }
        let frames: Vec<&Frame<'_>> = cx
            .semantic
            .frames()
            .iter()
            .filter(|f| !matches!(f, Frame::Loop(_)))
            .collect();
        let class = match frames.last() {
            Some(Frame::Class(class)) => Some(*class),
            _ => None,
        };
        if let Some(class) = class
            && def.name.as_str() == "__init__"
            && (is_config_class(cx, class) || is_record_constructor(def, &params))
        {
            return;
        }
        let top_level = frames.is_empty() || (frames.len() == 1 && class.is_some());
        self.candidates.push(Candidate {
            def,
            class,
            top_level,
            params,
        });
    }

    fn finish(&mut self, cx: &mut Context<'_, 'a>) {
        if self.candidates.is_empty() {
            return;
        }
        // What the file hands to command-line entry calls and writes as defaults in
        // dictionaries: read only when a definition is over the limit (few files have one).
        struct Exprs<'p, 'c, 'x, 'a> {
            pass: &'p mut LongParameterList<'a>,
            cx: &'c Context<'x, 'a>,
        }
        impl<'a> Visitor<'a> for Exprs<'_, '_, '_, 'a> {
            fn visit_expr(&mut self, expr: &'a Expr) {
                self.pass.note_expr(self.cx, expr);
                visitor::walk_expr(self, expr);
            }
        }
        Exprs { pass: self, cx }.visit_body(&cx.module.body);
        for candidate in std::mem::take(&mut self.candidates) {
            if self.is_cli_command(&candidate) || self.mirrors_defaults(&candidate) {
                continue;
            }
            report(cx, &candidate, self.max);
        }
    }
}

impl<'a> LongParameterList<'a> {
    /// Dictionaries of written-out defaults and command-line entry calls (see `finish`).
    fn note_expr(&mut self, cx: &Context<'_, 'a>, expr: &'a Expr) {
        match expr {
            Expr::Dict(dict) => {
                let keys: FxHashSet<&str> = dict
                    .items
                    .iter()
                    .filter(|item| is_default_value(&item.value, 0))
                    .filter_map(|item| match &item.key {
                        Some(Expr::StringLiteral(s)) => Some(s.value.to_str()),
                        _ => None,
                    })
                    .collect();
                if !keys.is_empty() {
                    self.dict_keys.push((dict.range, keys));
                }
            }
            Expr::Call(call) => {
                if matches!(&*call.func, Expr::Name(n) if n.id.as_str() == "dict")
                    && cx.semantic.is_builtin("dict")
                {
                    let keys: FxHashSet<&str> = call
                        .arguments
                        .keywords
                        .iter()
                        .filter(|k| is_default_value(&k.value, 0))
                        .filter_map(|k| k.arg.as_ref().map(|a| a.as_str()))
                        .collect();
                    if !keys.is_empty() {
                        self.dict_keys.push((call.range(), keys));
                    }
                    return;
                }
                let Some(q) = cx.semantic.resolve(&call.func) else {
                    return;
                };
                if !cx
                    .knowledge
                    .cli_entry_calls
                    .contains(&cx.knowledge.canonical(&q))
                {
                    return;
                }
                let component = call
                    .arguments
                    .args
                    .first()
                    .or_else(|| call.arguments.keywords.first().map(|k| &k.value));
                match component {
                    None => self.cli.everything = true,
                    Some(component) => collect_names(component, &mut self.cli.names, 0),
                }
            }
            _ => {}
        }
    }

    /// A command-line entry point: its parameters are the program's flags.
    fn is_cli_command(&self, candidate: &Candidate<'_>) -> bool {
        if !candidate.top_level {
            return false;
        }
        if self.cli.everything {
            return true;
        }
        let name = match candidate.class {
            Some(class) => class.name.as_str(),
            None => candidate.def.name.as_str(),
        };
        self.cli.names.contains(name)
    }

    /// At least 80% of the parameters are keys of one dictionary of written-out defaults outside
    /// the function: the function is fed `**defaults`, and the record of its parameters already
    /// exists.
    fn mirrors_defaults(&self, candidate: &Candidate<'_>) -> bool {
        let own = candidate.def.range;
        let total = candidate.params.len();
        self.dict_keys.iter().any(|(range, keys)| {
            !own.contains_range(*range) && {
                let found = candidate
                    .params
                    .iter()
                    .filter(|p| keys.contains(p.parameter.name.as_str()))
                    .count();
                found * 5 >= total * 4
            }
        })
    }
}

/// A value written out as a default: a literal (`64`, `"linear"`, `None`, `-1`, `1e-4`), or a
/// list or tuple of literals. `dict(a=a)` built from variables is not a table of defaults.
fn is_default_value(expr: &Expr, depth: usize) -> bool {
    if depth > 4 {
        return false;
    }
    match expr {
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::BooleanLiteral(_)
        | Expr::NoneLiteral(_) => true,
        Expr::UnaryOp(op) => is_default_value(&op.operand, depth + 1),
        Expr::List(list) => list.elts.iter().all(|e| is_default_value(e, depth + 1)),
        Expr::Tuple(tuple) => tuple.elts.iter().all(|e| is_default_value(e, depth + 1)),
        _ => false,
    }
}

/// The names in a command-line entry call's component: `train`, `{"train": train}`, `[a, b]`.
fn collect_names(expr: &Expr, names: &mut FxHashSet<String>, depth: usize) {
    if depth > 4 {
        return;
    }
    match expr {
        Expr::Name(n) => {
            names.insert(n.id.to_string());
        }
        Expr::Dict(dict) => {
            for item in &dict.items {
                collect_names(&item.value, names, depth + 1);
            }
        }
        Expr::List(list) => {
            for e in &list.elts {
                collect_names(e, names, depth + 1);
            }
        }
        Expr::Tuple(tuple) => {
            for e in &tuple.elts {
                collect_names(e, names, depth + 1);
            }
        }
        Expr::Call(call) => {
            // `dict(train=train)`
            for k in &call.arguments.keywords {
                collect_names(&k.value, names, depth + 1);
            }
        }
        _ => {}
    }
}

/// The parameters that count: those a caller must pass and may pass by position — positional
/// parameters without a default, except a leading `self`/`cls`. Keyword-only parameters,
/// parameters with defaults, `*args` and `**kwargs` are not counted.
fn counted_parameters(def: &StmtFunctionDef) -> Vec<&ParameterWithDefault> {
    let mut params: Vec<&ParameterWithDefault> = def
        .parameters
        .posonlyargs
        .iter()
        .chain(&def.parameters.args)
        .collect();
    if params.first().is_some_and(|p| {
        matches!(
            p.parameter.name.as_str(),
            "self" | "cls" | "mcs" | "mcls" | "metacls"
        )
    }) {
        params.remove(0);
    }
    params.retain(|p| p.default.is_none());
    params
}

fn decorator_callee(decorator: &ruff_python_ast::Decorator) -> &Expr {
    match &decorator.expression {
        Expr::Call(call) => &call.func,
        other => other,
    }
}

fn is_overload(cx: &Context<'_, '_>, def: &StmtFunctionDef) -> bool {
    def.decorator_list.iter().any(|d| {
        let expr = decorator_callee(d);
        match cx.semantic.resolve(expr) {
            Some(q) => q == "typing.overload" || q == "typing_extensions.overload",
            None => matches!(expr, Expr::Name(n) if n.id.as_str() == "overload"),
        }
    })
}

/// A decorator dictates the parameters: a parametrised test, a `click` command.
fn dictated_by_decorator(cx: &Context<'_, '_>, def: &StmtFunctionDef) -> bool {
    let knowledge = cx.knowledge;
    def.decorator_list.iter().any(|d| {
        cx.semantic.resolve(decorator_callee(d)).is_some_and(|q| {
            knowledge
                .signature_decorators
                .contains(&knowledge.canonical(&q))
        })
    })
}

/// A configuration record: named like one, or derived from a known configuration base.
fn is_config_class(cx: &Context<'_, '_>, class: &StmtClassDef) -> bool {
    let knowledge = cx.knowledge;
    let named_like_config = |name: &str| {
        knowledge
            .config_class_suffixes
            .iter()
            .any(|s| name.ends_with(s.as_str()))
    };
    if named_like_config(class.name.as_str()) {
        return true;
    }
    class.bases().iter().any(|base| {
        if let Some(q) = cx.semantic.resolve(base)
            && knowledge.config_bases.contains(&knowledge.canonical(&q))
        {
            return true;
        }
        let name = match base {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.as_str(),
            _ => return false,
        };
        named_like_config(name)
    })
}

/// A constructor that stores at least 80% of its parameters unchanged under their own name
/// (`self.dim = dim`): a hand-written record, whose fields are its parameters.
fn is_record_constructor(def: &StmtFunctionDef, params: &[&ParameterWithDefault]) -> bool {
    let mut stored = 0;
    for param in params {
        let name = param.parameter.name.as_str();
        if stores_verbatim(&def.body, name, 0) {
            stored += 1;
        }
    }
    stored * 5 >= params.len() * 4
}

fn stores_verbatim(body: &[Stmt], name: &str, depth: usize) -> bool {
    body.iter().any(|stmt| match stmt {
        Stmt::Assign(assign) => {
            matches!(&*assign.value, Expr::Name(v) if v.id.as_str() == name)
                && assign.targets.iter().any(|t| {
                    matches!(t, Expr::Attribute(a)
                        if a.attr.as_str() == name
                            && matches!(&*a.value, Expr::Name(s) if s.id.as_str() == "self"))
                })
        }
        Stmt::AnnAssign(assign) => {
            matches!(assign.value.as_deref(), Some(Expr::Name(v)) if v.id.as_str() == name)
                && matches!(&*assign.target, Expr::Attribute(a)
                    if a.attr.as_str() == name
                        && matches!(&*a.value, Expr::Name(s) if s.id.as_str() == "self"))
        }
        Stmt::If(if_stmt) if depth < 2 => {
            stores_verbatim(&if_stmt.body, name, depth + 1)
                || if_stmt
                    .elif_else_clauses
                    .iter()
                    .any(|c| stores_verbatim(&c.body, name, depth + 1))
        }
        _ => false,
    })
}

fn report(cx: &mut Context<'_, '_>, candidate: &Candidate<'_>, max: usize) {
    let Candidate {
        def, class, params, ..
    } = candidate;
    let what = match class {
        Some(class) => format!("`{}.{}`", class.name, def.name),
        None => format!("`{}`", def.name),
    };
    let shown = 6;
    let mut names: Vec<String> = params
        .iter()
        .take(shown)
        .map(|p| format!("`{}`", p.parameter.name))
        .collect();
    if params.len() > shown {
        names.push(format!("and {} more", params.len() - shown));
    }
    let record = record_name(def, *class);
    let parameters_range = def.parameters.range();
    cx.report(
        Diagnostic::new(
            &LONG_PARAMETER_LIST,
            format!(
                "{what} takes {} required positional parameters (more than {max})",
                params.len()
            ),
            def.name.range(),
        )
        .with_label(
            parameters_range,
            format!("{} required positional parameters", params.len()),
        )
        .with_help(format!(
            "group the parameters ({}) into a configuration dataclass, e.g. `@dataclass class \
             {record}`, and take one `config: {record}` parameter instead; or at least make the \
             ones callers should name keyword-only (after `*`)",
            names.join(", ")
        )),
    );
}

/// A name for the configuration record: `EncoderConfig` for `Encoder.__init__`,
/// `TrainOneEpochConfig` for `train_one_epoch`, `EncoderForwardOptions` for `Encoder.forward`.
fn record_name(def: &StmtFunctionDef, class: Option<&StmtClassDef>) -> String {
    let camel: String = def
        .name
        .as_str()
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    match class {
        Some(class) if def.name.as_str() == "__init__" => format!("{}Config", class.name),
        Some(class) => format!("{}{camel}Options", class.name),
        None if camel.is_empty() => "Config".to_string(),
        None => format!("{camel}Config"),
    }
}
