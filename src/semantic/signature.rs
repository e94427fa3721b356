//! Types and tensor shapes of a function signature, read during the single walk:
//! annotations (jaxtyping, torchtyping, `Annotated`, plain tensor types), docstrings (a
//! `Shape:` section, per-argument shapes in Google/NumPy/Sphinx style), inline comments on a
//! parameter's line, and the dimension names the body gives its inputs (`b, c, h, w = x.shape`).
//!
//! Only forward-like methods and functions whose annotations carry shapes get these facts.

use ruff_python_ast::{self as ast, Expr, Number, Operator, Stmt};
use ruff_text_size::{Ranged, TextRange};

use crate::knowledge::Knowledge;
use crate::semantic::Semantic;
use crate::semantic::facts::{
    ParamShape, Returned, ShapeAnnotation, ShapeSyntax, SignatureShapes, TypeInfo,
};

/// Longest string annotation parsed as an expression (`x: "Float[Tensor, 'b c']"`).
const MAX_STRING_ANNOTATION: usize = 400;
/// Annotations nest only this deep before we stop looking inside.
const MAX_ANNOTATION_DEPTH: u8 = 6;

struct Annotations<'s, 'a> {
    semantic: &'s Semantic<'a>,
    knowledge: &'s Knowledge,
}

/// The signature facts of `def`, or `None` when it is neither forward-like nor annotated with
/// shapes. `class` is the class of which `def` is a method.
pub(crate) fn signature_shapes(
    def: &ast::StmtFunctionDef,
    class: Option<&ast::StmtClassDef>,
    forward_like: bool,
    semantic: &Semantic<'_>,
    knowledge: &Knowledge,
    text: &str,
) -> Option<SignatureShapes> {
    let cx = Annotations {
        semantic,
        knowledge,
    };
    let parameters = &def.parameters;
    // Most functions are neither: whether an annotation gives a shape is all they need, asked
    // before any parameter is recorded (the answer is the same as the full pass's below).
    if !forward_like {
        let shaped = |annotation: Option<&Expr>| {
            annotation.is_some_and(|annotation| !cx.classify(annotation).1.is_empty())
        };
        if !parameters
            .iter_non_variadic_params()
            .any(|p| shaped(p.parameter.annotation.as_deref()))
            && !shaped(def.returns.as_deref())
        {
            return None;
        }
    }
    let is_method = class.is_some()
        && !def
            .decorator_list
            .iter()
            .any(|d| matches!(&d.expression, Expr::Name(n) if n.id.as_str() == "staticmethod"));
    let mut params: Vec<ParamShape> = Vec::new();
    let mut any_shape = false;
    let positional = parameters.posonlyargs.iter().chain(&parameters.args);
    let mut position = 0u32;
    for (i, p) in positional.enumerate() {
        if i == 0 && is_method {
            continue; // self / cls
        }
        let param = param_shape(&cx, p, Some(position), &mut any_shape);
        position += 1;
        params.push(param);
    }
    for p in &parameters.kwonlyargs {
        params.push(param_shape(&cx, p, None, &mut any_shape));
    }
    let (returns, return_shapes) = match &def.returns {
        Some(annotation) => cx.classify(annotation),
        None => (TypeInfo::Unannotated, Vec::new()),
    };
    any_shape |= !return_shapes.is_empty();
    if !forward_like && !any_shape {
        return None;
    }

    // Documentation: the docstrings of the function and of its class, inline comments,
    // and decorators that write the standard docs.
    let mut return_documented = false;
    let decorators: Vec<&str> = def
        .decorator_list
        .iter()
        .filter_map(|d| decorator_name(&d.expression))
        .collect();
    let shapes = &knowledge.shapes;
    if decorators
        .iter()
        .any(|d| shapes.docstring_decorators.iter().any(|s| s == d))
    {
        for param in &mut params {
            param.documented = true;
        }
    }
    if decorators
        .iter()
        .any(|d| shapes.return_docstring_decorators.iter().any(|s| s == d))
    {
        return_documented = true;
    }
    let docs = [docstring(&def.body), class.and_then(|c| docstring(&c.body))];
    for doc in docs.into_iter().flatten() {
        let info = DocInfo::parse(doc);
        for param in &mut params {
            if info.documents_inputs || info.documents(&param.name) {
                param.documented = true;
            }
        }
        return_documented |= info.documents_output;
    }
    inline_comments(parameters, text, &mut params);
    leading_body_comments(def, text, &mut params);

    Some(SignatureShapes {
        params: params.into(),
        returns,
        return_shapes: return_shapes.into(),
        return_range: def.returns.as_ref().map(|r| r.range()),
        returned: Returned::Nothing,
        return_documented,
        return_inferred: None,
        stub: is_stub(&def.body),
    })
}

/// A body that is only a docstring, `pass`, `...` or `raise NotImplementedError(...)`.
fn is_stub(body: &[Stmt]) -> bool {
    body.iter().all(|stmt| match stmt {
        Stmt::Pass(_) => true,
        Stmt::Expr(ast::StmtExpr { value, .. }) => {
            matches!(&**value, Expr::StringLiteral(_) | Expr::EllipsisLiteral(_))
        }
        Stmt::Raise(ast::StmtRaise { exc: Some(exc), .. }) => {
            let callee = match &**exc {
                Expr::Call(call) => &*call.func,
                other => other,
            };
            simple_name(callee) == Some("NotImplementedError")
        }
        _ => false,
    })
}

fn param_shape(
    cx: &Annotations<'_, '_>,
    p: &ast::ParameterWithDefault,
    position: Option<u32>,
    any_shape: &mut bool,
) -> ParamShape {
    let (info, shapes) = match &p.parameter.annotation {
        Some(annotation) => cx.classify(annotation),
        None => (TypeInfo::Unannotated, Vec::new()),
    };
    *any_shape |= !shapes.is_empty();
    ParamShape {
        name: p.parameter.name.as_str().into(),
        range: p.parameter.range(),
        position,
        info,
        shapes: shapes.into(),
        literal_default: p.default.as_deref().is_some_and(is_literal_non_tensor),
        documented: false,
        inferred: None,
        iterated: false,
    }
}

/// `True`, `0.1`, `"mean"`, `(3, 3)`, `-1`, `lambda x: x`: a default that is no tensor.
fn is_literal_non_tensor(expr: &Expr) -> bool {
    match expr {
        Expr::BooleanLiteral(_)
        | Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::BytesLiteral(_)
        | Expr::FString(_)
        | Expr::Lambda(_)
        | Expr::List(_)
        | Expr::Dict(_)
        | Expr::Set(_)
        | Expr::Tuple(_)
        | Expr::EllipsisLiteral(_) => true,
        Expr::UnaryOp(op) => is_literal_non_tensor(&op.operand),
        _ => false,
    }
}

/// The last name of a decorator: `auto_docstring`, `@utils.auto_docstring(...)`.
fn decorator_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        Expr::Call(c) => decorator_name(&c.func),
        _ => None,
    }
}

fn docstring(body: &[Stmt]) -> Option<&str> {
    match body.first()? {
        Stmt::Expr(ast::StmtExpr { value, .. }) => match &**value {
            Expr::StringLiteral(s) => Some(s.value.to_str()),
            _ => None,
        },
        _ => None,
    }
}

impl Annotations<'_, '_> {
    fn qualified(&self, expr: &Expr) -> Option<String> {
        self.semantic
            .resolve(expr)
            .map(|q| self.knowledge.into_canonical(q))
    }

    /// What an annotation says, and every shape annotation inside it.
    fn classify(&self, annotation: &Expr) -> (TypeInfo, Vec<ShapeAnnotation>) {
        let mut shapes = Vec::new();
        let info = self.classify_into(annotation, 0, &mut shapes);
        (info, shapes)
    }

    fn classify_into(&self, expr: &Expr, depth: u8, shapes: &mut Vec<ShapeAnnotation>) -> TypeInfo {
        if depth > MAX_ANNOTATION_DEPTH {
            return TypeInfo::Other;
        }
        let next = depth + 1;
        let shape_knowledge = &self.knowledge.shapes;
        match expr {
            Expr::StringLiteral(literal) => {
                let text = literal.value.to_str();
                if text.len() > MAX_STRING_ANNOTATION {
                    return TypeInfo::Other;
                }
                let Ok(parsed) = ruff_python_parser::parse_expression(text) else {
                    return TypeInfo::Other;
                };
                let start = shapes.len();
                let info = self.classify_into(parsed.expr(), next, shapes);
                // Offsets inside the string are not offsets of the file: point at the string.
                for shape in &mut shapes[start..] {
                    shape.range = literal.range();
                    shape.dims_range = literal.range();
                }
                info
            }
            Expr::BinOp(bin) if bin.op == Operator::BitOr => {
                self.union([&*bin.left, &*bin.right].into_iter(), next, shapes)
            }
            Expr::NoneLiteral(_) => TypeInfo::Other,
            Expr::Subscript(sub) => {
                let qualified = self.qualified(&sub.value);
                let name = qualified
                    .as_deref()
                    .map(|q| q.rsplit('.').next().unwrap_or(q))
                    .or_else(|| simple_name(&sub.value));
                if let Some(q) = qualified.as_deref() {
                    if shape_knowledge.jaxtyping.contains(q)
                        && !shape_knowledge.jaxtyping_unshaped.contains(q)
                    {
                        shapes.push(jaxtyping_shape(sub));
                        return TypeInfo::Shaped;
                    }
                    if shape_knowledge.torchtyping.contains(q) {
                        shapes.push(torchtyping_shape(sub));
                        return TypeInfo::Shaped;
                    }
                    if shape_knowledge.other_libraries.contains(q) {
                        shapes.push(ShapeAnnotation {
                            syntax: ShapeSyntax::Other,
                            dims: None,
                            range: sub.range(),
                            dims_range: sub.slice.range(),
                            problem: None,
                        });
                        return TypeInfo::Shaped;
                    }
                }
                let elements: Vec<&Expr> = match &*sub.slice {
                    Expr::Tuple(t) => t.elts.iter().collect(),
                    other => vec![other],
                };
                match name {
                    Some("Optional") => self.union(elements.into_iter(), next, shapes),
                    Some("Union") => self.union(elements.into_iter(), next, shapes),
                    Some("Annotated") => {
                        let Some((first, rest)) = elements.split_first() else {
                            return TypeInfo::Other;
                        };
                        let base = self.classify_into(first, next, shapes);
                        let described = rest.iter().any(|e| matches!(e, Expr::StringLiteral(_)));
                        match base {
                            TypeInfo::Tensor | TypeInfo::Unannotated if described => {
                                shapes.insert(
                                    0,
                                    ShapeAnnotation {
                                        syntax: ShapeSyntax::Annotated,
                                        dims: None,
                                        range: sub.range(),
                                        dims_range: sub.slice.range(),
                                        problem: None,
                                    },
                                );
                                TypeInfo::Shaped
                            }
                            other => other,
                        }
                    }
                    _ => {
                        // `list[Float[...]]`, `tuple[Tensor, Tensor]`: a collection. The shapes
                        // of its elements still count.
                        for element in elements {
                            self.classify_into(element, next, shapes);
                        }
                        TypeInfo::Other
                    }
                }
            }
            Expr::Name(_) | Expr::Attribute(_) => {
                if let Some(q) = self.qualified(expr) {
                    if shape_knowledge.tensor_types.contains(&q) {
                        return TypeInfo::Tensor;
                    }
                    return TypeInfo::Other;
                }
                match simple_name(expr) {
                    Some(name) if shape_knowledge.tensor_type_names.iter().any(|t| t == name) => {
                        TypeInfo::Tensor
                    }
                    _ => TypeInfo::Other,
                }
            }
            _ => TypeInfo::Other,
        }
    }

    /// `Optional[X]`, `Union[X, None]`, `X | None`: the type of the one non-`None` member.
    fn union<'e>(
        &self,
        members: impl Iterator<Item = &'e Expr>,
        depth: u8,
        shapes: &mut Vec<ShapeAnnotation>,
    ) -> TypeInfo {
        let mut infos = Vec::new();
        for member in members {
            if member.is_none_literal_expr() {
                continue;
            }
            if let Expr::BinOp(bin) = member
                && bin.op == Operator::BitOr
            {
                infos.push(self.union([&*bin.left, &*bin.right].into_iter(), depth + 1, shapes));
                continue;
            }
            infos.push(self.classify_into(member, depth + 1, shapes));
        }
        match infos.as_slice() {
            [one] => one.clone(),
            many if !many.is_empty() && many.iter().all(|i| *i == TypeInfo::Tensor) => {
                TypeInfo::Tensor
            }
            _ => TypeInfo::Other,
        }
    }
}

fn simple_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

/// `Float[Tensor, "b c"]`.
fn jaxtyping_shape(sub: &ast::ExprSubscript) -> ShapeAnnotation {
    let mut shape = ShapeAnnotation {
        syntax: ShapeSyntax::Jaxtyping,
        dims: None,
        range: sub.range(),
        dims_range: sub.slice.range(),
        problem: None,
    };
    match &*sub.slice {
        Expr::Tuple(t) if t.elts.len() == 2 => match &t.elts[1] {
            Expr::StringLiteral(s) => {
                shape.dims = Some(s.value.to_str().into());
                shape.dims_range = s.range();
            }
            other => {
                shape.dims_range = other.range();
                shape.problem = Some("the shape must be a string of dimensions".into());
            }
        },
        Expr::Tuple(t) => {
            shape.problem = Some(
                format!(
                    "a jaxtyping type takes two arguments, an array type and a shape string, not {}",
                    t.elts.len()
                )
                .into(),
            );
        }
        _ => {
            shape.problem = Some(
                "a jaxtyping type takes an array type and a shape string; the shape is missing"
                    .into(),
            );
        }
    }
    shape
}

/// `TensorType["b", "c": 3, ...]` in jaxtyping notation: `b c=3 ...`. Dtypes and details
/// (`float`, `torch.float32`, `is_named`) are not dimensions.
fn torchtyping_shape(sub: &ast::ExprSubscript) -> ShapeAnnotation {
    let elements: Vec<&Expr> = match &*sub.slice {
        Expr::Tuple(t) => t.elts.iter().collect(),
        other => vec![other],
    };
    let mut dims: Vec<String> = Vec::new();
    for element in elements {
        match element {
            Expr::StringLiteral(s) => dims.push(s.value.to_str().to_string()),
            Expr::NumberLiteral(n) => {
                if let Number::Int(i) = &n.value {
                    dims.push(i.to_string());
                }
            }
            Expr::UnaryOp(op) if matches!(&*op.operand, Expr::NumberLiteral(_)) => {
                dims.push("_".into()); // `-1`: any size
            }
            Expr::EllipsisLiteral(_) => dims.push("...".into()),
            Expr::Slice(slice) => {
                if let Some(Expr::StringLiteral(name)) = slice.lower.as_deref() {
                    match slice.upper.as_deref() {
                        Some(Expr::NumberLiteral(n)) => match &n.value {
                            Number::Int(i) => dims.push(format!("{}={i}", name.value.to_str())),
                            _ => dims.push(name.value.to_str().to_string()),
                        },
                        _ => dims.push(name.value.to_str().to_string()),
                    }
                }
            }
            _ => {}
        }
    }
    ShapeAnnotation {
        syntax: ShapeSyntax::Torchtyping,
        dims: (!dims.is_empty()).then(|| dims.join(" ").into()),
        range: sub.range(),
        dims_range: sub.slice.range(),
        problem: None,
    }
}

/// What a docstring says about shapes.
#[derive(Default)]
struct DocInfo<'d> {
    /// A `Shape:`/`Input shape:` section: the inputs' shapes are given.
    documents_inputs: bool,
    /// A `Shape:`/`Output shape:` section, or a `Returns:` entry with a shape.
    documents_output: bool,
    /// Per-argument entries: name and text (entry line and its continuation).
    entries: Vec<(&'d str, String)>,
}

impl<'d> DocInfo<'d> {
    fn parse(doc: &'d str) -> DocInfo<'d> {
        let mut info = DocInfo::default();
        let lines: Vec<&str> = doc.lines().collect();
        let indent = |line: &str| line.len() - line.trim_start().len();
        // The `Returns` section being read: its header's indent, and whether it is NumPy style
        // (underlined header, entries at the header's indent).
        let mut in_returns: Option<(usize, bool)> = None;
        let mut returns_text = String::new();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            let trimmed = line.trim();
            let underlined = lines
                .get(i + 1)
                .is_some_and(|n| n.trim().len() >= 3 && n.trim().chars().all(|c| c == '-'));
            // A header is short: only a short line is lowered (most lines of a long docstring
            // are not headers).
            let lower = (trimmed.len() <= 31 && (underlined || trimmed.ends_with(':')))
                .then(|| trimmed.to_ascii_lowercase());
            let header = lower
                .as_deref()
                .and_then(|lower| lower.strip_suffix(':').or(underlined.then_some(lower)));
            if let Some(header) = header
                && header.len() <= 30
            {
                if header.contains("shape") {
                    if header.contains("output") {
                        info.documents_output = true;
                    } else if header.contains("input") {
                        info.documents_inputs = true;
                    } else {
                        info.documents_inputs = true;
                        info.documents_output = true;
                    }
                }
                in_returns = matches!(
                    header,
                    "returns" | "return" | "yields" | "outputs" | "output" | "return value"
                )
                .then(|| (indent(line), underlined));
                i += 1;
                continue;
            }
            if let Some((header_indent, numpy)) = in_returns {
                if !numpy && !trimmed.is_empty() && indent(line) <= header_indent && !underlined {
                    in_returns = None;
                } else {
                    returns_text.push_str(trimmed);
                    returns_text.push(' ');
                }
            }
            if let Some(rest) = trimmed
                .strip_prefix(":return:")
                .or_else(|| trimmed.strip_prefix(":returns:"))
                .or_else(|| trimmed.strip_prefix(":rtype:"))
            {
                returns_text.push_str(rest);
                returns_text.push(' ');
            }
            if let Some((name, first)) = entry_head(trimmed) {
                let mut text = first.to_string();
                let own = indent(line);
                let mut j = i + 1;
                while j < lines.len() {
                    let next = lines[j];
                    if !next.trim().is_empty() && indent(next) <= own {
                        break;
                    }
                    text.push(' ');
                    text.push_str(next.trim());
                    j += 1;
                }
                info.entries.push((name, text));
            }
            i += 1;
        }
        if looks_like_shape(&returns_text) {
            info.documents_output = true;
        }
        info
    }

    fn documents(&self, name: &str) -> bool {
        self.entries
            .iter()
            .any(|(n, text)| *n == name && looks_like_shape(text))
    }
}

/// `x (Tensor): ...`, `x: ...`, `x : Tensor of shape ...`, `:param x: ...`, `- x: ...`:
/// the parameter name and the rest of the line.
fn entry_head(line: &str) -> Option<(&str, &str)> {
    let mut rest = line;
    if let Some(r) = rest.strip_prefix(":param ") {
        // `:param x: ...`, `:param Tensor x: ...`
        let (head, text) = r.split_once(':')?;
        let name = head.split_whitespace().last()?;
        return Some((name, text));
    }
    if let Some(r) = rest.strip_prefix(":type ") {
        let (name, text) = r.split_once(':')?;
        return Some((name.trim(), text));
    }
    rest = rest
        .trim_start_matches(['-', '*', '•'])
        .trim_start()
        .trim_start_matches('`');
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if end == 0 {
        return None;
    }
    let (name, after) = rest.split_at(end);
    let after = after.trim_start_matches('`');
    let after_trimmed = after.trim_start();
    if after_trimmed.starts_with('(') || after_trimmed.starts_with(':') {
        Some((name, after_trimmed))
    } else {
        None
    }
}

/// Words in a bracketed group that name types or options, not dimensions.
const NOT_DIMS: &[&str] = &[
    "int",
    "float",
    "bool",
    "str",
    "optional",
    "tensor",
    "torch.tensor",
    "tf.tensor",
    "list",
    "tuple",
    "dict",
    "none",
    "default",
    "array",
    "ndarray",
    "np.ndarray",
    "jnp.ndarray",
    "callable",
    "object",
    "any",
];

/// True if `text` states a tensor shape: mentions a shape, or holds a dimension tuple such as
/// `(B, C, H, W)`, `[N, 3]`, `(batch,)`, `B x T x C`, `:math:`(N, *)``.
pub(crate) fn looks_like_shape(text: &str) -> bool {
    if [&b"shape"[..], b":math:`(", b"dimension"]
        .iter()
        .any(|word| contains_ignoring_case(text.as_bytes(), word))
    {
        return true;
    }
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let close = match b {
            b'(' => b')',
            b'[' => b']',
            _ => continue,
        };
        let Some(len) = bytes[i + 1..].iter().take(120).position(|&c| c == close) else {
            continue;
        };
        if is_dim_list(&text[i + 1..i + 1 + len]) {
            return true;
        }
    }
    words_with_x(text)
}

/// `haystack` contains `word` (lowercase), whatever the case of its ASCII letters.
fn contains_ignoring_case(haystack: &[u8], word: &[u8]) -> bool {
    haystack.len() >= word.len()
        && haystack
            .windows(word.len())
            .any(|window| window.eq_ignore_ascii_case(word))
}

/// `B, C, H, W` / `batch_size, seq_len` / `N,` / `B x C x H x W`: a list of dimensions.
fn is_dim_list(content: &str) -> bool {
    let content = content.trim().trim_matches('`');
    let separator = if content.contains(',') {
        ','
    } else if content.contains('×') {
        '×'
    } else if content.contains(" x ") {
        'x'
    } else {
        return false;
    };
    let pieces: Vec<&str> = if separator == 'x' {
        content.split(" x ").collect()
    } else {
        content.split(separator).collect()
    };
    let trailing = pieces.last().is_some_and(|p| p.trim().is_empty());
    let dims: Vec<&str> = pieces
        .iter()
        .map(|p| p.trim().trim_matches('`'))
        .filter(|p| !p.is_empty())
        .collect();
    if dims.is_empty() || (dims.len() < 2 && !trailing) {
        return false;
    }
    dims.iter().all(|d| is_dim(d))
}

fn is_dim(piece: &str) -> bool {
    let compact: String = piece.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() || compact.len() > 30 {
        return false;
    }
    if NOT_DIMS.contains(&compact.to_ascii_lowercase().as_str()) {
        return false;
    }
    // Prose has spaces between words; dimension expressions only around operators.
    if piece.split_whitespace().count() > 1 && !piece.contains(['*', '+', '-', '/']) {
        return false;
    }
    compact
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '*' | '+' | '-' | '/' | '.' | '…' | '\''))
}

/// `BxCxHxW` or `B x T x C` written without brackets.
fn words_with_x(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '`' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .collect();
    let short = |w: &str| w.len() <= 6 && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    for w in &words {
        let parts: Vec<&str> = w.split('x').collect();
        if parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.len() <= 3
                    && p.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            })
        {
            return true;
        }
    }
    words
        .windows(3)
        .any(|w| (w[1] == "x" || w[1] == "×") && short(w[0]) && short(w[2]))
}

/// A comment that lists dimensions with nothing else: `# B C H W`, `# batch, seq`.
fn comment_lists_dims(comment: &str) -> bool {
    let body = comment.trim();
    // `x: (B, C)`, `shape: B C`: drop a leading label.
    let (labelled, body) = match body.split_once(':') {
        Some((label, rest))
            if label.len() <= 20
                && !label.contains(' ')
                && !label.chars().all(|c| c.is_ascii_uppercase()) =>
        {
            (true, rest.trim())
        }
        _ => (false, body),
    };
    let tokens: Vec<&str> = body
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    (2..=8).contains(&tokens.len())
        && tokens.iter().all(|t| {
            t.len() <= 12
                && (t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || *t == "...")
        })
        && ((labelled && body.contains(','))
            || tokens
                .iter()
                .any(|t| t.chars().next().is_some_and(|c| c.is_ascii_uppercase()) || t.len() <= 2))
}

/// An inline comment on a parameter's line gives the shape of the parameters on that line.
fn inline_comments(parameters: &ast::Parameters, text: &str, params: &mut [ParamShape]) {
    let bytes = text.as_bytes();
    let line_start = |offset: usize| {
        memchr::memrchr(b'\n', &bytes[..offset.min(bytes.len())]).map_or(0, |i| i + 1)
    };
    let line_end = |offset: usize| {
        let offset = offset.min(bytes.len());
        memchr::memchr(b'\n', &bytes[offset..]).map_or(bytes.len(), |i| offset + i)
    };
    // Parameter ranges including defaults, by name.
    let ranges: Vec<(&str, TextRange)> = parameters
        .iter_non_variadic_params()
        .map(|p| (p.parameter.name.as_str(), p.range()))
        .collect();
    let mut done_lines: Vec<usize> = Vec::new();
    for &(_, range) in &ranges {
        let end = range.end().to_usize();
        let (start, stop) = (line_start(end), line_end(end));
        if done_lines.contains(&start) || stop > bytes.len() {
            continue;
        }
        done_lines.push(start);
        let Some(comment) = comment_in(&text[end..stop]) else {
            continue;
        };
        if !(looks_like_shape(comment) || comment_lists_dims(comment)) {
            continue;
        }
        let on_line: Vec<&str> = ranges
            .iter()
            .filter(|(_, r)| {
                let s = r.start().to_usize();
                s >= start && s < stop
            })
            .map(|(n, _)| *n)
            .collect();
        let named: Vec<&str> = on_line
            .iter()
            .copied()
            .filter(|n| contains_word(comment, n))
            .collect();
        let documented = if named.is_empty() { on_line } else { named };
        for param in params.iter_mut() {
            if documented.contains(&param.name.as_str()) {
                param.documented = true;
            }
        }
    }
}

/// Comments at the top of the body that give a parameter's shape by name
/// (`# hidden_states: [batch, seq, hidden]`), before the first statement after the docstring.
fn leading_body_comments(def: &ast::StmtFunctionDef, text: &str, params: &mut [ParamShape]) {
    let header_end = def
        .returns
        .as_ref()
        .map_or(def.parameters.end(), |r| r.end())
        .to_usize();
    let mut body = def.body.iter();
    let first = match def.body.first() {
        Some(Stmt::Expr(ast::StmtExpr { value, .. })) if value.is_string_literal_expr() => {
            body.nth(1)
        }
        _ => body.next(),
    };
    let Some(first) = first else { return };
    let end = first.start().to_usize();
    if header_end >= end || end > text.len() || end - header_end > 2_000 {
        return;
    }
    let Some(region) = text.get(header_end..end) else {
        return;
    };
    for line in region.lines() {
        let Some(comment) = comment_in(line) else {
            continue;
        };
        if !(looks_like_shape(comment) || comment_lists_dims(comment)) {
            continue;
        }
        for param in params.iter_mut() {
            if contains_word(comment, &param.name) {
                param.documented = true;
            }
        }
    }
}

/// The text of a `#` comment in a line tail (outside string literals), if any.
fn comment_in(tail: &str) -> Option<&str> {
    let mut quote: Option<char> = None;
    for (i, c) in tail.char_indices() {
        match (quote, c) {
            (None, '#') => return Some(&tail[i + 1..]),
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    None
}

fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Dimension names the body gives a parameter, collected during the walk.
#[derive(Debug, Default, Clone)]
pub(crate) struct Inference {
    /// A complete unpacking: `b, c, h, w = x.shape`.
    full: Option<Vec<String>>,
    /// Leading dimensions by index: `b = x.shape[0]`.
    front: Vec<Option<String>>,
    /// Trailing dimensions, the last first: `c = x.size(-1)`.
    back: Vec<Option<String>>,
    /// The parameter is reassigned here (`x = self.proj(x)`): later reads describe another
    /// tensor.
    pub(crate) rebound_at: Option<ruff_text_size::TextSize>,
    /// The body loops over it (`for f in features`, `zip(self.convs, features)`): a collection.
    pub(crate) iterated: bool,
}

/// `for f in features:` / `for conv, f in zip(self.convs, features):` — the parameter is a
/// collection of tensors, not one tensor.
pub(crate) fn infer_from_loop(iter: &Expr, params: &[String], inferences: &mut [Inference]) {
    let mut mark = |e: &Expr| {
        if let Expr::Name(n) = e
            && let Some(i) = params.iter().position(|p| p == n.id.as_str())
            && inferences[i].rebound_at.is_none()
        {
            inferences[i].iterated = true;
        }
    };
    match iter {
        Expr::Call(call)
            if matches!(
                simple_name(&call.func),
                Some("zip" | "enumerate" | "reversed")
            ) =>
        {
            call.arguments.args.iter().for_each(&mut mark);
        }
        other => mark(other),
    }
}

impl Inference {
    fn set_front(&mut self, index: usize, name: &str) {
        if index >= 8 {
            return;
        }
        if self.front.len() <= index {
            self.front.resize(index + 1, None);
        }
        self.front[index].get_or_insert_with(|| name.to_string());
    }

    fn set_back(&mut self, index: usize, name: &str) {
        if index >= 8 {
            return;
        }
        if self.back.len() <= index {
            self.back.resize(index + 1, None);
        }
        self.back[index].get_or_insert_with(|| name.to_string());
    }

    /// The dimensions in jaxtyping notation.
    pub(crate) fn render(&self) -> Option<String> {
        if let Some(full) = &self.full {
            return Some(full.join(" "));
        }
        if self.front.is_empty() && self.back.is_empty() {
            return None;
        }
        let mut dims: Vec<String> = self
            .front
            .iter()
            .map(|d| d.clone().unwrap_or_else(|| "_".into()))
            .collect();
        dims.push("...".into());
        dims.extend(
            self.back
                .iter()
                .rev()
                .map(|d| d.clone().unwrap_or_else(|| "_".into())),
        );
        Some(dims.join(" "))
    }
}

/// Which dimensions of a parameter an expression reads.
enum ShapeRead {
    All,
    Index(i64),
    /// `x.shape[:k]`.
    Prefix,
    /// `x.shape[-k:]`.
    Suffix,
}

/// `x.shape`, `x.size()`, `tf.shape(x)`, `x.get_shape().as_list()`, `list(x.shape)`, and
/// their subscripts: the parameter and what is read.
fn shape_read<'e>(
    expr: &'e Expr,
    semantic: &Semantic<'_>,
    knowledge: &Knowledge,
    depth: u8,
) -> Option<(&'e str, ShapeRead)> {
    if depth > 4 {
        return None;
    }
    match expr {
        Expr::Attribute(attr) if attr.attr.as_str() == "shape" => match &*attr.value {
            Expr::Name(n) => Some((n.id.as_str(), ShapeRead::All)),
            _ => None,
        },
        Expr::Call(call) => {
            let args = &call.arguments.args;
            match &*call.func {
                Expr::Attribute(attr)
                    if matches!(attr.attr.as_str(), "size" | "get_shape")
                        && let Expr::Name(n) = &*attr.value =>
                {
                    match args.first() {
                        None => Some((n.id.as_str(), ShapeRead::All)),
                        Some(first) => Some((n.id.as_str(), ShapeRead::Index(int_value(first)?))),
                    }
                }
                Expr::Attribute(attr) if attr.attr.as_str() == "as_list" && args.is_empty() => {
                    match shape_read(&attr.value, semantic, knowledge, depth + 1)? {
                        (name, ShapeRead::All) => Some((name, ShapeRead::All)),
                        _ => None,
                    }
                }
                Expr::Name(f) if matches!(f.id.as_str(), "list" | "tuple") && args.len() == 1 => {
                    match shape_read(&args[0], semantic, knowledge, depth + 1)? {
                        (name, ShapeRead::All) => Some((name, ShapeRead::All)),
                        _ => None,
                    }
                }
                func => {
                    let q = semantic.resolve(func)?;
                    let q = knowledge.canonical(&q);
                    if matches!(
                        q.as_ref(),
                        "tensorflow.shape" | "numpy.shape" | "jax.numpy.shape" | "keras.ops.shape"
                    ) && let Some(Expr::Name(n)) = args.first()
                    {
                        return Some((n.id.as_str(), ShapeRead::All));
                    }
                    None
                }
            }
        }
        Expr::Subscript(sub) => {
            let (name, read) = shape_read(&sub.value, semantic, knowledge, depth + 1)?;
            if !matches!(read, ShapeRead::All) {
                return None;
            }
            match &*sub.slice {
                Expr::Slice(slice) => match (slice.lower.as_deref(), slice.upper.as_deref()) {
                    (None, Some(upper)) if int_value(upper).is_some_and(|k| k > 0) => {
                        Some((name, ShapeRead::Prefix))
                    }
                    (Some(lower), None) if int_value(lower).is_some_and(|k| k < 0) => {
                        Some((name, ShapeRead::Suffix))
                    }
                    _ => None,
                },
                index => Some((name, ShapeRead::Index(int_value(index)?))),
            }
        }
        _ => None,
    }
}

fn int_value(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::NumberLiteral(ast::ExprNumberLiteral {
            value: Number::Int(i),
            ..
        }) => i.as_i64(),
        Expr::UnaryOp(op) if op.op == ast::UnaryOp::USub => int_value(&op.operand).map(|v| -v),
        _ => None,
    }
}

/// Record what an assignment in a forward-like method says about a parameter's dimensions.
/// `params` are the parameter names, `inferences` their collected names (same order).
pub(crate) fn infer_from_assign(
    target: &Expr,
    value: &Expr,
    params: &[String],
    inferences: &mut [Inference],
    semantic: &Semantic<'_>,
    knowledge: &Knowledge,
) {
    let Some((param, read)) = shape_read(value, semantic, knowledge, 0) else {
        if let Expr::Name(n) = target
            && let Some(i) = params.iter().position(|p| p == n.id.as_str())
        {
            inferences[i].rebound_at.get_or_insert(value.end());
        }
        return;
    };
    let Some(i) = params.iter().position(|p| p == param) else {
        return;
    };
    let inference = &mut inferences[i];
    if inference.rebound_at.is_some() {
        return;
    }
    let dim_name = |e: &Expr| match e {
        Expr::Name(n) => n.id.to_string(),
        _ => "_".to_string(),
    };
    match (target, read) {
        (Expr::Name(n), ShapeRead::Index(index)) => {
            if index >= 0 {
                inference.set_front(index as usize, n.id.as_str());
            } else {
                inference.set_back((-index - 1) as usize, n.id.as_str());
            }
        }
        (
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }),
            read,
        ) => {
            let star = elts.iter().position(|e| e.is_starred_expr());
            let unset = inference.full.is_none();
            match (read, star) {
                (ShapeRead::All, None) if unset => {
                    inference.full = Some(elts.iter().map(dim_name).collect());
                }
                (ShapeRead::All, Some(s)) if unset => {
                    let mut dims: Vec<String> = elts[..s].iter().map(dim_name).collect();
                    dims.push(match &elts[s] {
                        Expr::Starred(st) => match &*st.value {
                            Expr::Name(n) if n.id.as_str() != "_" => format!("*{}", n.id),
                            _ => "...".into(),
                        },
                        _ => "...".into(),
                    });
                    dims.extend(elts[s + 1..].iter().map(dim_name));
                    inference.full = Some(dims);
                }
                (ShapeRead::Prefix, None) => {
                    for (k, e) in elts.iter().enumerate() {
                        if let Expr::Name(n) = e {
                            inference.set_front(k, n.id.as_str());
                        }
                    }
                }
                (ShapeRead::Suffix, None) => {
                    for (k, e) in elts.iter().rev().enumerate() {
                        if let Expr::Name(n) = e {
                            inference.set_back(k, n.id.as_str());
                        }
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// `rearrange(x, "b c h w -> b (h w) c")`: the left side names `x`'s dimensions.
pub(crate) fn infer_from_einops(
    call: &ast::ExprCall,
    params: &[String],
    inferences: &mut [Inference],
) {
    let args = &call.arguments.args;
    let (Some(Expr::Name(first)), Some(Expr::StringLiteral(pattern))) = (args.first(), args.get(1))
    else {
        return;
    };
    let Some(i) = params.iter().position(|p| p == first.id.as_str()) else {
        return;
    };
    let Some((left, _)) = pattern.value.to_str().split_once("->") else {
        return;
    };
    if inferences[i]
        .rebound_at
        .is_some_and(|at| call.start() >= at)
    {
        return;
    }
    if let Some(dims) = einops_dims(left)
        && inferences[i].full.is_none()
    {
        inferences[i].full = Some(dims);
    }
}

/// An einops side in jaxtyping notation: `b (h w) c` → `b h*w c`.
fn einops_dims(side: &str) -> Option<Vec<String>> {
    let mut dims = Vec::new();
    let mut group: Option<Vec<&str>> = None;
    let spaced = side.replace('(', " ( ").replace(')', " ) ");
    for token in spaced.split_whitespace() {
        match token {
            "(" => {
                if group.is_some() {
                    return None;
                }
                group = Some(Vec::new());
            }
            ")" => {
                let parts = group.take()?;
                if parts.is_empty() {
                    dims.push("1".into());
                } else {
                    dims.push(parts.join("*"));
                }
            }
            t => {
                let valid = t == "..." || t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return None;
                }
                match &mut group {
                    Some(parts) => parts.push(t),
                    None => dims.push(t.to_string()),
                }
            }
        }
    }
    (group.is_none() && !dims.is_empty()).then_some(dims)
}

/// The dimensions of a returned value, when the body spells them: `x.view(b, c, h * w)`,
/// `x.reshape((b, -1))`, `rearrange(x, "b c h w -> b (h w) c")`.
pub(crate) fn returned_dims(
    value: &Expr,
    semantic: &Semantic<'_>,
    knowledge: &Knowledge,
) -> Option<String> {
    let Expr::Call(call) = value else {
        return None;
    };
    let args = &call.arguments.args;
    if let Expr::Attribute(attr) = &*call.func
        && matches!(attr.attr.as_str(), "view" | "reshape")
        && !semantic.resolves(&call.func)
    {
        let dims: Vec<&Expr> = match &args[..] {
            [Expr::Tuple(t)] => t.elts.iter().collect(),
            [Expr::List(l)] => l.elts.iter().collect(),
            many => many.iter().collect(),
        };
        if dims.is_empty() || dims.len() > 8 {
            return None;
        }
        let rendered: Vec<String> = dims.iter().map(|d| dim_expr(d, 0)).collect();
        if rendered.iter().all(|d| d == "_") {
            return None;
        }
        return Some(rendered.join(" "));
    }
    let q = semantic.resolve(&call.func)?;
    if knowledge.shapes.einops.contains(&knowledge.canonical(&q))
        && let Some(Expr::StringLiteral(pattern)) = args.get(1)
        && let Some((_, right)) = pattern.value.to_str().split_once("->")
    {
        return einops_dims(right).map(|d| d.join(" "));
    }
    None
}

/// A size expression in jaxtyping notation: `b` → `b`, `h * w` → `h*w`, `64` → `64`; anything
/// else (`-1`, `self.dim`) → `_`.
fn dim_expr(expr: &Expr, depth: u8) -> String {
    let unknown = || "_".to_string();
    if depth > 3 {
        return unknown();
    }
    match expr {
        Expr::Name(n) => n.id.to_string(),
        Expr::NumberLiteral(_) => match int_value(expr) {
            Some(v) if v > 0 => v.to_string(),
            _ => unknown(),
        },
        Expr::BinOp(bin) => {
            let op = match bin.op {
                Operator::Mult => "*",
                Operator::Add => "+",
                Operator::Sub => "-",
                Operator::FloorDiv => "//",
                _ => return unknown(),
            };
            let (l, r) = (
                dim_expr(&bin.left, depth + 1),
                dim_expr(&bin.right, depth + 1),
            );
            if l == "_" || r == "_" || l.contains(' ') || r.contains(' ') {
                return unknown();
            }
            // Operands that are themselves sums need brackets.
            let wrap = |s: String, other: &Expr| match other {
                Expr::BinOp(_) if op != "+" => format!("({s})"),
                _ => s,
            };
            format!("{}{op}{}", wrap(l, &bin.left), wrap(r, &bin.right))
        }
        _ => unknown(),
    }
}

/// How a returned expression looks: nothing, one (possibly tensor) value, or a structure.
pub(crate) fn returned_kind(value: &Expr) -> Returned {
    match value {
        Expr::NoneLiteral(_) => Returned::Nothing,
        Expr::Tuple(_)
        | Expr::List(_)
        | Expr::Dict(_)
        | Expr::Set(_)
        | Expr::ListComp(_)
        | Expr::DictComp(_)
        | Expr::SetComp(_)
        | Expr::StringLiteral(_)
        | Expr::FString(_)
        | Expr::BooleanLiteral(_)
        | Expr::NumberLiteral(_)
        | Expr::Compare(_)
        | Expr::BoolOp(_) => Returned::Structured,
        Expr::Call(call) => {
            let name = simple_name(&call.func).unwrap_or_default();
            // `ModelOutput(...)`, `dict(...)`: an output object, not one tensor.
            if name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                || matches!(name, "dict" | "tuple" | "list")
            {
                Returned::Structured
            } else {
                Returned::Single
            }
        }
        Expr::If(ifexp) => match (returned_kind(&ifexp.body), returned_kind(&ifexp.orelse)) {
            (Returned::Structured, _) | (_, Returned::Structured) => Returned::Structured,
            _ => Returned::Single,
        },
        _ => Returned::Single,
    }
}

/// Combine the kinds of every `return` of a function.
pub(crate) fn combine_returned(kinds: impl Iterator<Item = Returned>) -> Returned {
    let mut result = Returned::Nothing;
    for kind in kinds {
        match kind {
            Returned::Structured => return Returned::Structured,
            Returned::Single => result = Returned::Single,
            Returned::Nothing => {}
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_shape_text() {
        for yes in [
            "(B, C, H, W)",
            "input of shape (batch, seq)",
            "`torch.FloatTensor` of shape `(batch_size, sequence_length)`",
            "[N, 3]",
            "(N,)",
            "B x T x C",
            "BxCxHxW",
            "tensor of size (bsz, num_heads * head_dim)",
        ] {
            assert!(looks_like_shape(yes), "{yes}");
        }
        for no in [
            "(Tensor): the input",
            "(int, optional): the number of layers",
            "(default: None)",
            "the input features",
            "(torch.Tensor)",
            "the max value (for clipping)",
        ] {
            assert!(!looks_like_shape(no), "{no}");
        }
    }

    #[test]
    fn comments_that_list_dims() {
        assert!(comment_lists_dims(" B C H W"));
        assert!(comment_lists_dims(" x: batch, seq"));
        assert!(!comment_lists_dims(" noqa"));
        assert!(!comment_lists_dims(" type: ignore"));
    }

    #[test]
    fn docstring_entries() {
        let doc = "Forward.\n\n    Args:\n        x (Tensor): input image\n            of shape (B, C, H, W).\n        mask: whether to mask\n\n    Returns:\n        Tensor of shape (B, K).\n";
        let info = DocInfo::parse(doc);
        assert!(info.documents("x"));
        assert!(!info.documents("mask"));
        assert!(info.documents_output);
        let numpy = "Parameters\n----------\nx : Tensor of shape (B, C)\n    The input.\n";
        assert!(DocInfo::parse(numpy).documents("x"));
        let sphinx = ":param x: input, (B, C)\n:returns: a scalar\n";
        let info = DocInfo::parse(sphinx);
        assert!(info.documents("x"));
        assert!(!info.documents_output);
        let section = "Applies a layer.\n\n    Shape:\n        - Input: :math:`(N, *)`\n";
        let info = DocInfo::parse(section);
        assert!(info.documents_inputs && info.documents_output);
        let keras = "Input shape:\n    4D tensor.\n";
        let info = DocInfo::parse(keras);
        assert!(info.documents_inputs && !info.documents_output);
    }

    #[test]
    fn einops_sides() {
        assert_eq!(
            einops_dims("b (h w) c").unwrap(),
            vec!["b".to_string(), "h*w".into(), "c".into()]
        );
        assert!(einops_dims("b (h (w)) c").is_none());
    }
}
