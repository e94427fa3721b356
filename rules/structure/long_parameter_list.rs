use ruff_python_ast::{ParameterWithDefault, StmtClassDef, StmtFunctionDef};

use crate::registry::prelude::*;
use crate::semantic::Frame;

declare_rule! {
    /// ## What it does
    /// Finds functions and methods that take more than `max-params` parameters (default 10).
    /// `self` and `cls` are not counted, and neither are `*args` and `**kwargs`: they are one
    /// open-ended bag each, not a parameter the caller has to know about.
    ///
    /// Not reported: `@overload` stubs (only the implementation), constructors of configuration
    /// records (a class whose name ends in `Config`, `Args`, `Options`, `Params`, ... or that
    /// derives from a known configuration base such as `transformers.PretrainedConfig`), and
    /// record-like constructors that store (almost) every parameter unchanged as an attribute of
    /// the same name: their parameter list *is* the record.
    ///
    /// ## Why is this bad?
    /// Deep-learning code accumulates hyperparameters: every experiment adds one more keyword to
    /// the model's `__init__` or to `train()`. A long list is hard to call correctly (positional
    /// mix-ups are silent), hard to log and hard to reproduce. A configuration dataclass names
    /// the group once, can be saved with the checkpoint and passed around whole.
    ///
    /// ## Example
    /// ```python
    /// class Encoder(nn.Module):
    ///     def __init__(self, vocab, dim, depth, heads, mlp_ratio, dropout, attn_dropout,
    ///                  drop_path, norm_eps, max_len, use_bias):
    ///         ...
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
            default: "10",
            doc: "The most parameters a function may take, not counting `self`, `cls`, \
                  `*args` and `**kwargs`.",
        }],
        check: Check::File(|options| {
            Box::new(LongParameterList {
                max: usize::try_from(options.int(&LONG_PARAMETER_LIST, "max-params"))
                    .unwrap_or(usize::MAX),
            })
        }),
    };
}

struct LongParameterList {
    max: usize,
}

impl<'a> FilePass<'a> for LongParameterList {
    fn hooks(&self) -> Hooks {
        Hooks::STMT
    }

    fn stmt(&mut self, cx: &mut Context<'_, 'a>, stmt: &'a Stmt) {
        let Stmt::FunctionDef(def) = stmt else { return };
        let class = enclosing_class(cx);
        let params = counted_parameters(def);
        if params.len() <= self.max || is_overload(cx, def) {
            return;
        }
        if let Some(class) = class
            && def.name.as_str() == "__init__"
            && (is_config_class(cx, class) || is_record_constructor(def, &params))
        {
            return;
        }
        report(cx, def, class, &params, self.max);
    }
}

/// The class whose body directly holds the definition being visited (a method), if any.
fn enclosing_class<'a>(cx: &Context<'_, 'a>) -> Option<&'a StmtClassDef> {
    match cx
        .semantic
        .frames()
        .iter()
        .rev()
        .find(|f| !matches!(f, Frame::Loop(_)))
    {
        Some(Frame::Class(class)) => Some(*class),
        _ => None,
    }
}

/// The parameters that count: every named parameter except a leading `self`/`cls`.
/// `*args` and `**kwargs` are not counted.
fn counted_parameters(def: &StmtFunctionDef) -> Vec<&ParameterWithDefault> {
    let positional = def.parameters.posonlyargs.len() + def.parameters.args.len();
    let mut params: Vec<&ParameterWithDefault> =
        def.parameters.iter_non_variadic_params().collect();
    if positional > 0
        && matches!(
            params[0].parameter.name.as_str(),
            "self" | "cls" | "mcs" | "mcls" | "metacls"
        )
    {
        params.remove(0);
    }
    params
}

fn is_overload(cx: &Context<'_, '_>, def: &StmtFunctionDef) -> bool {
    def.decorator_list.iter().any(|d| {
        let expr = match &d.expression {
            Expr::Call(call) => &*call.func,
            other => other,
        };
        match cx.semantic.resolve(expr) {
            Some(q) => q == "typing.overload" || q == "typing_extensions.overload",
            None => matches!(expr, Expr::Name(n) if n.id.as_str() == "overload"),
        }
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

fn report(
    cx: &mut Context<'_, '_>,
    def: &StmtFunctionDef,
    class: Option<&StmtClassDef>,
    params: &[&ParameterWithDefault],
    max: usize,
) {
    let what = match class {
        Some(class) => format!("`{}.{}`", class.name, def.name),
        None => format!("`{}`", def.name),
    };
    // The parameters with defaults are usually the configuration; the others the data. Group
    // the configuration when there is enough of it, else everything.
    let with_defaults: Vec<&str> = params
        .iter()
        .filter(|p| p.default.is_some())
        .map(|p| p.parameter.name.as_str())
        .collect();
    let (group, kind): (Vec<&str>, &str) = if with_defaults.len() >= 3 {
        (with_defaults, "the parameters with defaults")
    } else {
        (
            params.iter().map(|p| p.parameter.name.as_str()).collect(),
            "the parameters",
        )
    };
    let shown = 6;
    let mut names: Vec<String> = group.iter().take(shown).map(|n| format!("`{n}`")).collect();
    if group.len() > shown {
        names.push(format!("and {} more", group.len() - shown));
    }
    let record = record_name(def, class);
    let parameters_range = def.parameters.range();
    cx.report(
        Diagnostic::new(
            &LONG_PARAMETER_LIST,
            format!("{what} takes {} parameters (more than {max})", params.len()),
            def.name.range(),
        )
        .with_label(parameters_range, format!("{} parameters", params.len()))
        .with_help(format!(
            "group {kind} ({}) into a configuration dataclass, e.g. `@dataclass class \
             {record}`, and take one `config: {record}` parameter instead",
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
