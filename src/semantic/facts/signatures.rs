//! Types and tensor shapes of function signatures (annotations, docstrings, comments), and
//! what can be inferred about the shapes returned.

use ruff_text_size::TextRange;
use serde::{Deserialize, Serialize};

/// How a parameter or return value of a function states its type and tensor shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypeInfo {
    /// No annotation.
    Unannotated,
    /// A tensor type without a shape (`torch.Tensor`, `Optional[tf.Tensor]`, `jax.Array`).
    Tensor,
    /// A shape annotation (jaxtyping, torchtyping, `Annotated[Tensor, "b c"]`, ...): the first
    /// entry of the owner's `shapes`.
    Shaped,
    /// Anything else (`int`, `bool`, `Cache`, `list[Tensor]`, a model output class).
    Other,
}

/// The notation a shape annotation is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShapeSyntax {
    /// `Float[Tensor, "b c"]` (any jaxtyping dtype).
    Jaxtyping,
    /// `TensorType["b", "c": 3]`.
    Torchtyping,
    /// `Annotated[Tensor, "b c"]`.
    Annotated,
    /// Another shape-typing library (nptyping, tensor_annotations).
    Other,
}

/// One shape annotation as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShapeAnnotation {
    pub syntax: ShapeSyntax,
    /// The dimensions in jaxtyping notation (torchtyping's `["b", "c": 3]` becomes `b c=3`),
    /// when the annotation gives them as strings/numbers.
    pub dims: Option<super::Name>,
    /// The whole annotation.
    pub range: TextRange,
    /// The dimension string (jaxtyping), or the subscript (torchtyping).
    pub dims_range: TextRange,
    /// A structural mistake: `Float[Tensor]` without a shape, a shape that is not a string.
    pub problem: Option<Box<str>>,
}

/// A parameter of a function with [`SignatureShapes`] (`self`, `*args`, `**kwargs` excluded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamShape {
    pub name: super::Name,
    pub range: TextRange,
    /// Position among the positional parameters (after `self`), if positional.
    pub position: Option<u32>,
    pub info: TypeInfo,
    /// Every shape annotation inside the parameter's annotation (for `Shaped`, the first is
    /// the parameter's own).
    pub shapes: super::ThinVec<ShapeAnnotation>,
    /// The default is a literal that is no tensor (`True`, `0.1`, `"mean"`, `(3, 3)`).
    pub literal_default: bool,
    /// The docstring (its `Shape:` section, or the parameter's entry) or an inline comment
    /// on the parameter's line gives a shape.
    pub documented: bool,
    /// Dimension names the body gives it, in jaxtyping notation (`b, c, h, w = x.shape` →
    /// `b c h w`; `n = x.size(0)` → `n ...`).
    pub inferred: Option<super::Name>,
    /// The body loops over it: a collection of tensors, not a tensor.
    pub iterated: bool,
}

/// What a function body returns, when the annotation does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Returned {
    /// No value (no `return <value>`, or only `None`), or a generator.
    Nothing,
    /// One value that may be a tensor (`return self.fc(x)`).
    Single,
    /// A tuple, list, dict, literal or an output object: no single tensor to annotate.
    Structured,
}

/// The shape documentation of a forward-like method (`forward`, `call`, `__call__`), or of
/// any function whose annotations carry tensor shapes: what the signature states about the
/// shapes it takes and returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureShapes {
    pub params: super::ThinVec<ParamShape>,
    pub returns: TypeInfo,
    pub return_shapes: super::ThinVec<ShapeAnnotation>,
    /// The return annotation.
    pub return_range: Option<TextRange>,
    pub returned: Returned,
    /// The docstring gives the returned value's shape (a `Returns:` entry, a `Shape:` section).
    pub return_documented: bool,
    /// Dimension names of the returned value, from the body (`return x.view(b, c, h * w)`).
    pub return_inferred: Option<super::Name>,
    /// The body is only a docstring, `pass`, `...` or `raise NotImplementedError`.
    pub stub: bool,
}
