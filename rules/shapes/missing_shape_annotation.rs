use super::shape_role;
use crate::knowledge::DtypeHint;
use crate::registry::prelude::*;
use crate::semantic::facts::{Callee, ParamShape, Returned, Role, SignatureShapes, TypeInfo};

declare_rule! {
    /// ## What it does
    /// Finds `forward`/`call`/`__call__` methods of Models and Losses whose tensor inputs or
    /// returned tensor carry no shape information. One finding per method lists every
    /// undocumented tensor.
    ///
    /// Shape information is any of: a jaxtyping annotation (`Float[Tensor, "batch c h w"]`,
    /// any dtype, `*batch`, `...`), torchtyping (`TensorType["b", "c"]`),
    /// `Annotated[Tensor, "b c"]`, a docstring `Shape:` section (PyTorch style) or a per-argument
    /// shape in a Google/NumPy/Sphinx docstring (`x (Tensor): (B, C, H, W)`) — in the method's
    /// docstring or its class's — or a comment on the parameter's line (`x,  # (B, C, H, W)`).
    ///
    /// Parameters that hold no tensor are not asked for a shape: those annotated with another
    /// type (`int`, `bool`, `Config`, `list[Tensor]`), those with a literal default
    /// (`return_dict=True`, `reduction="mean"`), and flags, configuration and state objects
    /// recognised by name (`output_attentions`, `use_cache`, `past_key_values`, `config`;
    /// the list is in the framework knowledge). A return value is asked for a shape when the
    /// method returns one value that may be a tensor (not a tuple, dict or output object).
    ///
    /// The help suggests a jaxtyping annotation with the dimension names the body already uses
    /// (`b, c, h, w = x.shape`, `n = x.size(0)`, `rearrange(x, "b c h w -> ...")`,
    /// `return y.view(b, c, h * w)`).
    ///
    /// Off by default (opt in with `--select DL401` or `extend-select`): on code bases that do
    /// not document shapes yet it reports nearly every `forward`.
    ///
    /// Options: `roles` (the MODLR roles whose methods are checked, default `["Model",
    /// "Loss"]`) and `require-returns` (whether the returned tensor needs a shape too, default
    /// `true`).
    ///
    /// ## Why is this bad?
    /// Tensor shapes are invisible in Python code: practitioners in the MODLR interviews report
    /// being "forced to print shape" to understand a model. A shape in the signature documents
    /// the component's contract once, for every reader, and jaxtyping can check it at runtime.
    ///
    /// ## Example
    /// ```python
    /// class Attention(nn.Module):
    ///     def forward(self, x, mask=None):
    ///         b, n, d = x.shape
    ///         ...
    ///         return out.view(b, n, d)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// from jaxtyping import Float, Shaped
    /// from torch import Tensor
    ///
    /// class Attention(nn.Module):
    ///     def forward(
    ///         self, x: Float[Tensor, "b n d"], mask: Shaped[Tensor, "b n"] | None = None
    ///     ) -> Float[Tensor, "b n d"]:
    ///         ...
    /// ```
    pub static MISSING_SHAPE_ANNOTATION = {
        code: "DL401",
        name: "missing-shape-annotation",
        family: Family::Shapes,
        severity: Severity::Info,
        notebooks: Notebooks::Lint,
        default_enabled: false,
        fix: FixAvailability::None,
        options: &[
            OptionSpec {
                key: "roles",
                kind: OptionKind::Choices(&["Model", "Loss"]),
                default: r#"["Model", "Loss"]"#,
                doc: "MODLR roles whose `forward`/`call`/`__call__` are checked (`Model`, `Loss`)",
            },
            OptionSpec {
                key: "require-returns",
                kind: OptionKind::Bool,
                default: "true",
                doc: "whether a returned tensor needs a shape as well",
            },
        ],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

/// Suggested parameters shown in the help before eliding the rest.
const MAX_SUGGESTED: usize = 4;
/// Parameters marked with a label.
const MAX_LABELS: usize = 6;

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    let options = &cx.options();
    let roles = options.strings(&MISSING_SHAPE_ANNOTATION, "roles");
    let require_returns = options.bool(&MISSING_SHAPE_ANNOTATION, "require-returns");
    let knowledge = cx.knowledge();
    for function in &facts.functions {
        let (Some(shapes), Some(class)) = (function.shapes.as_deref(), function.class) else {
            continue;
        };
        if shapes.stub || !knowledge.shapes.is_shape_method(&function.name) {
            continue;
        }
        let Some(role) = shape_role(cx, class) else {
            continue;
        };
        if !roles.iter().any(|r| r.eq_ignore_ascii_case(role.as_str())) {
            continue;
        }
        let missing: Vec<&ParamShape> = shapes
            .params
            .iter()
            .filter(|p| needs_shape(cx, p) && !p.documented)
            .collect();
        let tensor_inputs = shapes
            .params
            .iter()
            .any(|p| p.info == TypeInfo::Shaped || needs_shape(cx, p));
        let return_missing = require_returns && tensor_inputs && return_needs_shape(shapes);
        if missing.is_empty() && !return_missing {
            continue;
        }
        let class_name = &facts.classes[class as usize].name;
        let inputs = match missing.as_slice() {
            [one] => format!("its input `{}`", one.name),
            many => format!("its inputs {}", names(many)),
        };
        let what = match (missing.len(), return_missing) {
            (0, _) => "shape of its output".to_string(),
            (1, false) => format!("shape of {inputs}"),
            (1, true) => format!("shape of {inputs} or of its output"),
            (_, false) => format!("shapes of {inputs}"),
            (_, true) => format!("shapes of {inputs} or of its output"),
        };
        let message = format!(
            "{} `{class_name}.{}` does not state the {what}",
            role.as_str().to_ascii_lowercase(),
            function.name
        );
        let array = array_type(cx, class);
        let help = help(cx, &array, role, &missing, shapes, return_missing);
        let mut diagnostic =
            Diagnostic::new(&MISSING_SHAPE_ANNOTATION, message, function.name_range)
                .with_help(help);
        for param in missing.iter().take(MAX_LABELS) {
            diagnostic = diagnostic.with_label(param.range, "no shape given");
        }
        if return_missing && let Some(range) = shapes.return_range {
            diagnostic = diagnostic.with_label(range, "no shape given");
        }
        out.push(diagnostic);
    }
}

/// A parameter that holds a tensor and so owes a shape (documented or not).
fn needs_shape(cx: &ProjectContext<'_>, param: &ParamShape) -> bool {
    match param.info {
        TypeInfo::Tensor => true,
        TypeInfo::Unannotated => {
            !param.literal_default
                && !param.iterated
                && !cx.knowledge().shapes.is_non_tensor_parameter(&param.name)
        }
        TypeInfo::Shaped | TypeInfo::Other => false,
    }
}

fn return_needs_shape(shapes: &SignatureShapes) -> bool {
    if shapes.return_documented {
        return false;
    }
    match shapes.returns {
        TypeInfo::Tensor => true,
        TypeInfo::Unannotated => shapes.returned == Returned::Single,
        TypeInfo::Shaped | TypeInfo::Other => false,
    }
}

fn names(params: &[&ParamShape]) -> String {
    let quoted: Vec<String> = params.iter().map(|p| format!("`{}`", p.name)).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The array type the suggestion uses, after the framework of the class's bases, else the
/// framework the file imports.
fn array_type(cx: &ProjectContext<'_>, class: u32) -> String {
    let facts = cx.facts();
    let bases: Vec<&str> = facts.classes[class as usize]
        .bases
        .iter()
        .filter_map(|b| match b {
            Callee::Qualified(q) => Some(q.as_str()),
            _ => None,
        })
        .collect();
    let in_bases = |prefix: &str| {
        bases
            .iter()
            .any(|q| *q == prefix || q.starts_with(&format!("{prefix}.")))
    };
    if in_bases("torch") {
        return "Tensor".into();
    }
    if in_bases("flax") {
        return "Array".into();
    }
    if in_bases("tensorflow") || in_bases("keras") {
        return "tf.Tensor".into();
    }
    let imports = &facts.imports;
    let uses = |prefix: &str| {
        imports
            .iter()
            .any(|(_, q)| q == prefix || q.starts_with(&format!("{prefix}.")))
    };
    if uses("torch") {
        "Tensor"
    } else if uses("tensorflow") || uses("keras") {
        "tf.Tensor"
    } else if uses("jax") || uses("flax") {
        "Array"
    } else {
        "Tensor"
    }
    .to_string()
}

fn help(
    cx: &ProjectContext<'_>,
    array: &str,
    role: Role,
    missing: &[&ParamShape],
    shapes: &SignatureShapes,
    return_missing: bool,
) -> String {
    let mut dtypes: Vec<&str> = Vec::new();
    let mut annotate = |dtype: DtypeHint, dims: &str| {
        if !dtypes.contains(&dtype.as_str()) {
            dtypes.push(dtype.as_str());
        }
        format!("{}[{array}, \"{dims}\"]", dtype.as_str())
    };
    let mut guessed = false;
    let mut parts: Vec<String> = Vec::new();
    for param in missing.iter().take(MAX_SUGGESTED) {
        let dims = param.inferred.as_deref().unwrap_or_else(|| {
            guessed = true;
            "batch ..."
        });
        let dtype = cx.knowledge().shapes.dtype_hint(&param.name);
        parts.push(format!("`{}: {}`", param.name, annotate(dtype, dims)));
    }
    if missing.len() > MAX_SUGGESTED {
        parts.push(format!("… ({} more)", missing.len() - MAX_SUGGESTED));
    }
    let mut suggestion = parts.join(", ");
    if return_missing {
        // A Loss returns a scalar unless it does not reduce.
        let dims = match (&shapes.return_inferred, role) {
            (Some(dims), _) => dims.as_str(),
            (None, Role::Loss) => "",
            (None, _) => {
                guessed = true;
                "batch ..."
            }
        };
        let returned = format!("`-> {}`", annotate(DtypeHint::Float, dims));
        if suggestion.is_empty() {
            suggestion = format!("the return {returned}");
        } else {
            suggestion = format!("{suggestion} and the return {returned}");
        }
    }
    dtypes.sort_unstable();
    let fill = if guessed {
        "; replace `batch ...` with the dimensions"
    } else {
        ""
    };
    format!(
        "annotate the shapes with jaxtyping: {suggestion} (`from jaxtyping import {}`){fill}, \
         or give them in a `Shape:` docstring section",
        dtypes.join(", ")
    )
}
