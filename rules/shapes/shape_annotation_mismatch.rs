use std::sync::Arc;

use super::{Dim, parse_dims};
use crate::registry::prelude::*;
use crate::semantic::facts::{
    Callee, FileFacts, FunctionFacts, ScopeFacts, ShapeAnnotation, ShapeSyntax, TypeInfo, ValueFlow,
};
use crate::semantic::index::{FileId, Symbol};
use crate::semantic::verdict::ancestry;

declare_rule! {
    /// ## What it does
    /// Finds tensor-shape annotations (jaxtyping, torchtyping) that cannot be right: malformed
    /// dimension strings, one dimension name given two fixed sizes in a signature, and a Model
    /// output whose annotated shape contradicts the annotated input of the Loss it is passed to.
    ///
    /// In detail:
    /// - a malformed dimension string (`Float[Tensor, "b, c"]`, two variadic dimensions,
    ///   unbalanced brackets) or a jaxtyping type without a shape (`Float[Tensor]`);
    /// - the same named dimension given two different fixed sizes in one signature
    ///   (`TensorType["b", "c": 3]` and `TensorType["b", "c": 4]`);
    /// - across components: the output of a project Model handed to a Loss (or any other
    ///   annotated component) whose annotated input has a different number of dimensions or a
    ///   different fixed size, e.g. `loss_fn(model(x), y)` where `Model.forward` returns
    ///   `Float[Tensor, "b 10"]` and the Loss expects `Float[Tensor, "b 1000"]`. Both sides must
    ///   be annotated; the Model may live in another file of the project.
    ///
    /// ## Why is this bad?
    /// A shape annotation is documentation readers trust. One that is malformed makes
    /// jaxtyping raise at import or call time; one that contradicts the component it is wired to
    /// means either the annotation or the wiring is wrong — a bug found before any training run.
    ///
    /// ## Example
    /// ```python
    /// class Net(nn.Module):
    ///     def forward(self, x: Float[Tensor, "b 784"]) -> Float[Tensor, "b 10"]: ...
    ///
    /// class Loss:
    ///     def __call__(self, logits: Float[Tensor, "b c h w"], y: Int[Tensor, "b"]): ...
    ///
    /// loss = Loss()(Net()(x), y)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// class Loss:
    ///     def __call__(self, logits: Float[Tensor, "b k"], y: Int[Tensor, "b"]): ...
    /// ```
    pub static SHAPE_ANNOTATION_MISMATCH = {
        code: "DL402",
        name: "shape-annotation-mismatch",
        family: Family::Shapes,
        severity: Severity::Warning,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    for function in &facts.functions {
        if let Some(shapes) = function.shapes.as_deref() {
            let all = shapes
                .params
                .iter()
                .flat_map(|p| &p.shapes)
                .chain(&shapes.return_shapes);
            signature_problems(all, out);
        }
    }
    let scopes = std::iter::once(&facts.module).chain(facts.functions.iter().map(|f| &f.body));
    for scope in scopes {
        cross_component(cx, scope, out);
    }
}

/// Malformed dimension strings, and a name given two sizes in one signature.
fn signature_problems<'s>(
    shapes: impl Iterator<Item = &'s ShapeAnnotation>,
    out: &mut Vec<Diagnostic>,
) {
    let mut sizes: Vec<(String, u64, TextRange)> = Vec::new();
    for shape in shapes {
        if let Some(problem) = &shape.problem {
            out.push(
                Diagnostic::new(
                    &SHAPE_ANNOTATION_MISMATCH,
                    format!("malformed shape annotation: {problem}"),
                    shape.dims_range,
                )
                .with_help(
                    "write the array type and the dimensions as a string: \
                     `Float[Tensor, \"batch channels\"]`",
                ),
            );
            continue;
        }
        let Some(dims) = &shape.dims else { continue };
        match parse_dims(dims) {
            Err(reason) => {
                let help = if dims.contains(',') {
                    format!(
                        "write `\"{}\"`",
                        dims.split(',')
                            .map(str::trim)
                            .filter(|d| !d.is_empty())
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                } else {
                    "write dimensions separated by spaces: names (`batch`), sizes (`3`), \
                     expressions without spaces (`h*w`), `_`, and at most one `...` or `*name`"
                        .to_string()
                };
                let syntax = match shape.syntax {
                    ShapeSyntax::Torchtyping => "torchtyping",
                    _ => "jaxtyping",
                };
                out.push(
                    Diagnostic::new(
                        &SHAPE_ANNOTATION_MISMATCH,
                        format!("malformed {syntax} shape `\"{dims}\"`: {reason}"),
                        shape.dims_range,
                    )
                    .with_help(help),
                );
            }
            Ok(parsed) => {
                for dim in parsed {
                    let Dim::NamedFixed(name, size) = dim else {
                        continue;
                    };
                    match sizes.iter().find(|(n, _, _)| *n == name) {
                        Some((_, other, first)) if *other != size => {
                            out.push(
                                Diagnostic::new(
                                    &SHAPE_ANNOTATION_MISMATCH,
                                    format!(
                                        "dimension `{name}` has size {size} here but {other} \
                                         elsewhere in the same signature"
                                    ),
                                    shape.dims_range,
                                )
                                .with_label(*first, format!("`{name}` has size {other} here"))
                                .with_help(format!(
                                    "give `{name}` one size, or use two names if the \
                                     dimensions differ (`{name}_in`, `{name}_out`)"
                                )),
                            );
                        }
                        Some(_) => {}
                        None => sizes.push((name, size, shape.dims_range)),
                    }
                }
            }
        }
    }
}

/// Where an annotation lives: the file, its facts, the function and the annotation.
struct Side<'p> {
    file: FileId,
    function: &'p FunctionFacts,
    shape: &'p ShapeAnnotation,
    dims: Vec<Dim>,
    class: Option<String>,
}

fn cross_component(cx: &ProjectContext<'_>, scope: &ScopeFacts, out: &mut Vec<Diagnostic>) {
    for flow in &scope.flow().value_flows {
        let Some(produced) = producer(cx, flow) else {
            continue;
        };
        let Some((consumed, param)) = consumer(cx, flow) else {
            continue;
        };
        let Some(reason) = contradiction(&produced.dims, &consumed.dims) else {
            continue;
        };
        let producer_name = qualname(&produced);
        let consumer_name = qualname(&consumed);
        let (p_dims, c_dims) = (
            produced.shape.dims.as_deref().unwrap_or_default(),
            consumed.shape.dims.as_deref().unwrap_or_default(),
        );
        let message = format!(
            "`{producer_name}` returns shape \"{p_dims}\" but `{consumer_name}` expects \
             \"{c_dims}\" for `{param}`: {reason}"
        );
        let mut diagnostic = Diagnostic::new(&SHAPE_ANNOTATION_MISMATCH, message, flow.range)
            .with_help(format!(
                "make the annotations agree: either `{producer_name}` returns \"{c_dims}\" or \
                 `{consumer_name}` takes \"{p_dims}\" — whichever the code actually does"
            ));
        for (side, text) in [
            (&produced, "output annotated here"),
            (&consumed, "input annotated here"),
        ] {
            if side.file == cx.file {
                diagnostic = diagnostic.with_label(side.shape.range, text);
            } else {
                diagnostic = diagnostic.with_file_label(
                    Arc::clone(&cx.index.file(side.file).path),
                    side.shape.range,
                    text,
                );
            }
        }
        out.push(diagnostic);
    }
}

fn qualname(side: &Side<'_>) -> String {
    match &side.class {
        Some(class) => format!("{class}.{}", side.function.name),
        None => side.function.name.to_string(),
    }
}

/// The forward-like method of a project class (or of its nearest project superclass that has
/// one) with signature facts.
fn forward_method<'p>(
    cx: &ProjectContext<'p>,
    file: FileId,
    class: u32,
) -> Option<(FileId, &'p FileFacts, &'p FunctionFacts)> {
    let methods = &cx.knowledge().shapes.methods;
    for (f, c) in ancestry(cx.index, file, class) {
        let facts = cx.index.facts(f);
        for method in methods {
            if let Some((_, function)) = facts.method(c, method)
                && function.shapes.is_some()
            {
                return Some((f, facts, function));
            }
        }
    }
    None
}

fn instance_class(cx: &ProjectContext<'_>, callee: &Callee) -> Option<(FileId, u32)> {
    let Callee::InstanceOf(ctor) = callee else {
        return None;
    };
    match cx.index.resolve_callee(cx.file, ctor)? {
        Symbol::Class(f, c) => Some((f, c)),
        _ => None,
    }
}

/// The annotated output of the producing call.
fn producer<'p>(cx: &ProjectContext<'p>, flow: &ValueFlow) -> Option<Side<'p>> {
    let (file, class) = instance_class(cx, &flow.producer)?;
    let (f, facts, function) = forward_method(cx, file, class)?;
    let shapes = function.shapes.as_deref()?;
    if shapes.returns != TypeInfo::Shaped {
        return None;
    }
    let shape = shapes.return_shapes.first()?;
    let dims = parse_dims(shape.dims.as_deref()?).ok()?;
    Some(Side {
        file: f,
        function,
        shape,
        dims,
        class: function
            .class
            .map(|c| facts.classes[c as usize].name.to_string()),
    })
}

/// The annotated parameter that receives the value, and its name.
fn consumer<'p>(cx: &ProjectContext<'p>, flow: &ValueFlow) -> Option<(Side<'p>, &'p str)> {
    let (f, facts, function) = match &flow.consumer {
        Callee::InstanceOf(_) => {
            let (file, class) = instance_class(cx, &flow.consumer)?;
            forward_method(cx, file, class)?
        }
        callee => match cx.index.resolve_callee(cx.file, callee)? {
            Symbol::Function(f, id) => {
                let facts = cx.index.facts(f);
                (f, facts, &facts.functions[id as usize])
            }
            _ => return None,
        },
    };
    let shapes = function.shapes.as_deref()?;
    let param = shapes
        .params
        .iter()
        .find(|p| p.position == Some(flow.arg))?;
    if param.info != TypeInfo::Shaped {
        return None;
    }
    let shape = param.shapes.first()?;
    let dims = parse_dims(shape.dims.as_deref()?).ok()?;
    Some((
        Side {
            file: f,
            function,
            shape,
            dims,
            class: function
                .class
                .map(|c| facts.classes[c as usize].name.to_string()),
        },
        param.name.as_str(),
    ))
}

fn fixed(dim: &Dim) -> Option<u64> {
    match dim {
        Dim::Fixed(n) | Dim::NamedFixed(_, n) => Some(*n),
        _ => None,
    }
}

/// Why two shapes cannot describe the same tensor, if they cannot.
fn contradiction(a: &[Dim], b: &[Dim]) -> Option<String> {
    let variadic = |d: &[Dim]| d.iter().position(|x| *x == Dim::Variadic);
    let (va, vb) = (variadic(a), variadic(b));
    match (va, vb) {
        (None, None) if a.len() != b.len() => {
            return Some(format!("{} dimensions against {}", a.len(), b.len()));
        }
        (Some(_), None) if b.len() < a.len() - 1 => {
            return Some(format!(
                "at least {} dimensions against {}",
                a.len() - 1,
                b.len()
            ));
        }
        (None, Some(_)) if a.len() < b.len() - 1 => {
            return Some(format!(
                "{} dimensions against at least {}",
                a.len(),
                b.len() - 1
            ));
        }
        _ => {}
    }
    // Leading dimensions up to the first variadic, trailing ones after the last.
    let front = va.unwrap_or(a.len()).min(vb.unwrap_or(b.len()));
    for i in 0..front {
        if let (Some(x), Some(y)) = (fixed(&a[i]), fixed(&b[i]))
            && x != y
        {
            return Some(format!("dimension {i} has size {x} against {y}"));
        }
    }
    let back_a = va.map_or(a.len(), |v| a.len() - v - 1);
    let back_b = vb.map_or(b.len(), |v| b.len() - v - 1);
    for k in 1..=back_a.min(back_b) {
        let (x, y) = (&a[a.len() - k], &b[b.len() - k]);
        if let (Some(x), Some(y)) = (fixed(x), fixed(y))
            && x != y
        {
            return Some(
                format!("the last-but-{} dimension has size {x} against {y}", k - 1)
                    .replace("the last-but-0 dimension", "the last dimension"),
            );
        }
    }
    None
}
