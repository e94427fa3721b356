//! Questions about the program that several consumers ask (the coupling rules, `dllint map`,
//! `dllint survey`): where a model computes a loss, which framework hook a method implements,
//! whether a class is a sub-module, a loss-only layer, or plays a role.

use ruff_text_size::TextRange;

use crate::knowledge::ApiKind;
use crate::semantic::facts::{
    Callee, ClassId, Evidence, FunctionFacts, FunctionId, GradKind, LossExpr, LossValue, Role, Term,
};
use crate::semantic::index::FileId;
use crate::semantic::index::Symbol;
use crate::semantic::verdict::{CalleeClass, Definition, Verdict};
use crate::semantic::view::FileView;

/// Where a model computes a loss.
pub struct LossSite {
    pub range: TextRange,
    pub method: FunctionId,
    /// Set when the site is a loss definition (formula), not only a call of a loss.
    pub definition: Option<Definition>,
}

/// What a framework calls a method for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Computes the loss (Lightning `training_step`, Keras `train_step`, HF `compute_loss`).
    Loss,
    /// Builds the optimizer (Lightning `configure_optimizers`, Keras `compile`).
    Optimizer,
}

/// The framework hook a method implements, with the framework's name.
pub fn hook<'p>(
    cx: &FileView<'p>,
    class: ClassId,
    method: &FunctionFacts,
) -> Option<(Hook, &'p str)> {
    let framework = cx.roles.framework(cx.index, cx.file, class)?;
    if framework
        .loss_hooks
        .iter()
        .any(|m| m == method.name.as_str())
    {
        return Some((Hook::Loss, framework.name.as_str()));
    }
    if framework
        .optimizer_hooks
        .iter()
        .any(|m| m == method.name.as_str())
    {
        return Some((Hook::Optimizer, framework.name.as_str()));
    }
    None
}

/// Definitions among a scope's differentiated and returned loss values, deduplicated by the
/// statement that defines them.
pub fn definitions<'v>(
    cx: &FileView<'_>,
    class: Option<ClassId>,
    values: impl Iterator<Item = &'v LossValue>,
) -> Vec<(&'v LossValue, Definition)> {
    let classifier = cx.classifier(class);
    let mut found: Vec<(&LossValue, Definition)> = Vec::new();
    for value in values {
        if let Verdict::Definition(definition) = classifier.verdict(value)
            && !found.iter().any(|(v, _)| v.definition == value.definition)
        {
            found.push((value, definition));
        }
    }
    found.sort_by_key(|(v, _)| v.definition.start());
    found
}

/// Every place where the methods of a model class compute a loss. In framework loss hooks
/// (Lightning `training_step`, Keras `train_step`) and in the helpers only they call (a shared
/// step, `forward` used as one) only inline definitions count: delegating to a Loss component
/// there is the framework's contract.
///
/// Not sites: a loss-named value that only collects losses computed elsewhere (Keras
/// `losses += layer.losses`), `add_loss` while the layer is built (`__init__`/`build`: a
/// regulariser of its own weights), and, in a method that takes no targets, a call of the
/// project's own Loss component (a pretraining wrapper whose objective is a Loss class).
pub fn model_loss_sites(cx: &FileView<'_>, class: ClassId) -> Vec<LossSite> {
    let facts = cx.facts();
    let served = hook_served(cx, class);
    let mut sites = Vec::new();
    for &id in &facts.classes[class as usize].methods {
        let method = &facts.functions[id as usize];
        // A whole training step run in a model method (loss, backward, optimizer step): the
        // model trains itself, a Runner's step with its loss inline. Its loss belongs to that
        // step (an optimizer the model owns, a loss fused with its update), not to the model's
        // computation. (A TF1 graph that only defines its `minimize` op runs nothing.)
        let runs_step = cx.roles.function(cx.file, id).roles.contains(Role::Task)
            && method
                .body
                .losses()
                .grad_steps
                .iter()
                .any(|s| matches!(s.kind, GradKind::OptimizerStep | GradKind::ApplyGradients));
        let hook_like = match hook(cx, class, method) {
            Some((Hook::Optimizer, _)) => continue,
            Some((Hook::Loss, _)) => true,
            None if runs_step => continue,
            None => served.contains(&id),
        };
        // An override of the framework's loss collection (`get_losses_for`) gathers what the
        // sub-layers registered.
        if cx
            .knowledge()
            .loss_collecting_methods
            .iter()
            .any(|m| m == method.name.as_str())
        {
            continue;
        }
        if !hook_like {
            let construction = matches!(method.name.as_str(), "__init__" | "build");
            let takes_targets = !method.target_params.is_empty();
            // Delegation and collection count only beside a loss computed in the method.
            let mut strong = false;
            let mut found: Vec<TextRange> = Vec::new();
            for evidence in method.body.evidence() {
                let (counts, weak) = match &evidence.kind {
                    Evidence::LossApiCall => (true, false),
                    Evidence::AddLoss => (!construction, false),
                    Evidence::NamedAssign => {
                        let collected = method
                            .body
                            .losses()
                            .named_losses
                            .iter()
                            .find(|v| v.definition == evidence.range)
                            .is_some_and(|v| collects(cx, class, &v.expr, takes_targets, 0));
                        (true, collected)
                    }
                    Evidence::ProjectCall(_) | Evidence::OtherCall(_) => {
                        let Some(callee) = method.body.evidence_callee(&evidence.kind) else {
                            continue;
                        };
                        if calls_loss(cx, class, callee, takes_targets, 0) {
                            // A callee known by its name only (`self.detr._set_aux_loss(...)`)
                            // is a loss when its result is used as one.
                            let by_name = matches!(callee, Callee::Variable(_))
                                || matches!(callee, Callee::SelfMember(name)
                                    if !resolves_in_class(cx, class, name));
                            (!by_name || used_as_loss(method, evidence.range), false)
                        } else {
                            // The project's Loss component, called without targets.
                            let delegates = cx.classifier(Some(class)).classify(callee)
                                == CalleeClass::Loss
                                && is_loss_component(cx, class, callee);
                            (delegates, true)
                        }
                    }
                };
                if counts {
                    strong |= !weak;
                    found.push(evidence.range);
                }
            }
            let defines = || {
                !definitions(cx, Some(class), {
                    let losses = method.body.losses();
                    losses
                        .differentiated
                        .iter()
                        .chain(&losses.returned)
                        .filter(|v| !method.body.without_gradients(v))
                })
                .is_empty()
            };
            if strong || !found.is_empty() && defines() {
                sites.extend(found.into_iter().map(|range| LossSite {
                    range,
                    method: id,
                    definition: None,
                }));
            }
        }
        // A loss computed with gradients off is reported, not trained on.
        let losses = method.body.losses();
        let values = losses
            .differentiated
            .iter()
            .chain(&losses.returned)
            .filter(|v| !method.body.without_gradients(v));
        let takes_targets = !method.target_params.is_empty();
        for (value, definition) in definitions(cx, Some(class), values) {
            // Summing the losses sub-layers already computed (`losses += layer.losses`).
            if collects(cx, class, &value.expr, takes_targets, 0) {
                continue;
            }
            sites.push(LossSite {
                range: value.definition,
                method: id,
                definition: Some(definition),
            });
        }
    }
    sites.sort_by_key(|s| (s.range.start(), s.range.end()));
    sites.dedup_by(|a, b| b.range.contains_range(a.range) && a.method == b.method);
    sites
}

/// The methods of a framework class (one with loss hooks) that only its loss hooks reach:
/// every call of them through `self` comes from a loss hook or from another such method
/// (`_calculate_loss` called by `training_step` and `validation_step`; `self.forward(batch)`
/// used as the shared step). They are judged like the hooks.
fn hook_served(cx: &FileView<'_>, class: ClassId) -> Vec<FunctionId> {
    let facts = cx.facts();
    let Some(framework) = cx.roles.framework(cx.index, cx.file, class) else {
        return Vec::new();
    };
    if framework.loss_hooks.is_empty() {
        return Vec::new();
    }
    let methods = &facts.classes[class as usize].methods;
    let calls = |caller: &FunctionFacts, callee: &FunctionFacts| {
        caller
            .body
            .self_calls
            .iter()
            .any(|c| c.method == callee.name)
    };
    let mut served: Vec<FunctionId> = methods
        .iter()
        .copied()
        .filter(|&id| {
            framework
                .loss_hooks
                .iter()
                .any(|m| m == facts.functions[id as usize].name.as_str())
        })
        .collect();
    let hooks = served.len();
    // Grow the set until no method joins: a method joins when it has callers and all of them
    // are in the set.
    loop {
        let before = served.len();
        for &id in methods {
            if served.contains(&id) {
                continue;
            }
            let callee = &facts.functions[id as usize];
            let mut callers = methods
                .iter()
                .filter(|&&c| c != id && calls(&facts.functions[c as usize], callee));
            let mut any = false;
            if callers.all(|c| {
                any = true;
                served.contains(c)
            }) && any
            {
                served.push(id);
            }
        }
        if served.len() == before {
            break;
        }
    }
    served.split_off(hooks)
}

/// Whether calling `callee` in a method of `class` computes a loss there: a loss callee, but
/// not the project's own Loss component in a method without targets (delegation), and not a
/// method of the class that computes nothing like a loss (`_set_aux_loss` packing auxiliary
/// outputs into dicts: a name is no evidence when the body can be read).
fn calls_loss(
    cx: &FileView<'_>,
    class: ClassId,
    callee: &Callee,
    takes_targets: bool,
    depth: u8,
) -> bool {
    if depth > 4 || cx.classifier(Some(class)).classify(callee) != CalleeClass::Loss {
        return false;
    }
    if !takes_targets && is_loss_component(cx, class, callee) {
        return false;
    }
    let Callee::SelfMember(name) = callee else {
        return true;
    };
    let method = crate::semantic::verdict::ancestry(cx.index, cx.file, class)
        .into_iter()
        .find_map(|(f, c)| cx.index.facts(f).method(c, name).map(|(id, _)| (f, c, id)));
    let Some((f, c, id)) = method else {
        return true;
    };
    if f != cx.file {
        return true;
    }
    let method = &cx.facts().functions[id as usize];
    let targets = !method.target_params.is_empty();
    let losses = method.body.losses();
    method.body.evidence().any(|e| match &e.kind {
        Evidence::LossApiCall | Evidence::AddLoss => true,
        Evidence::ProjectCall(_) | Evidence::OtherCall(_) => method
            .body
            .evidence_callee(&e.kind)
            .is_some_and(|inner| calls_loss(cx, c, inner, targets, depth + 1)),
        Evidence::NamedAssign => false,
    }) || losses
        .returned
        .iter()
        .chain(&losses.named_losses)
        .any(|v| computes(cx, c, &v.expr, targets, depth + 1))
}

/// `self.<name>` is an attribute built in the class (or a project superclass) or a method.
fn resolves_in_class(cx: &FileView<'_>, class: ClassId, name: &str) -> bool {
    crate::semantic::verdict::ancestry(cx.index, cx.file, class)
        .into_iter()
        .any(|(f, c)| {
            let facts = cx.index.facts(f);
            facts.method(c, name).is_some()
                || facts.classes[c as usize]
                    .attributes
                    .iter()
                    .any(|a| a.name == name)
        })
}

/// The value of the call at `range` is used as a loss: assigned to a loss-named variable,
/// returned as the loss, or differentiated.
fn used_as_loss(method: &FunctionFacts, range: TextRange) -> bool {
    let body = &method.body;
    body.evidence()
        .any(|e| matches!(e.kind, Evidence::NamedAssign) && e.range.contains_range(range))
        || body.losses().values().any(|v| {
            v.range.contains_range(range) || v.slice.iter().any(|s| s.contains_range(range))
        })
}

/// True if instances of the class are built inside another project Model (`self.vq =
/// VectorQuantizer(...)`): a sub-module, whose auxiliary loss the enclosing model collects.
pub fn is_sub_module(cx: &FileView<'_>, class: ClassId) -> bool {
    let name = &cx.facts().classes[class as usize].name;
    cx.index.attributes_built_by(name).iter().any(|&(f, c, a)| {
        let ctor = &cx.index.facts(f).classes[c as usize].attributes[a as usize].ctor;
        (f, c) != (cx.file, class)
            && matches!(cx.index.resolve_callee(f, ctor),
                Some(Symbol::Class(tf, tc)) if (tf, tc) == (cx.file, class))
            && cx.roles.class(f, c).roles.contains(Role::Model)
    })
}

/// True if the class holds a model handed to it (`self.net = net`): what the project's code
/// passes, when it shows, else the parameter's name (`encoder`, `model`, `net`).
pub fn holds_given_model(cx: &FileView<'_>, class: ClassId) -> bool {
    let flow = crate::semantic::flow::Flow::new(cx.index);
    let knowledge = cx.knowledge();
    cx.facts().classes[class as usize].held.iter().any(|held| {
        let reference = crate::semantic::facts::InstanceRef::SelfAttr(held.attr);
        let resolved = flow.resolve(cx.file, Some(held.method), &reference);
        if resolved.is_empty() {
            knowledge.is_model_variable(&held.param)
        } else {
            resolved.iter().any(|r| flow.is_model(cx.roles, cx.file, r))
        }
    })
}

/// A call of one of the project's Loss components: an instance of a Loss class (also through
/// a `self.<attr>` built from one) or a loss function defined outside the class.
fn is_loss_component(cx: &FileView<'_>, class: ClassId, callee: &Callee) -> bool {
    let index = cx.index;
    let loss_symbol = |file: FileId, ctor: &Callee| match index.resolve_callee(file, ctor) {
        Some(Symbol::Class(f, c)) => cx.roles.class(f, c).roles.contains(Role::Loss),
        Some(Symbol::Function(f, id)) => {
            let role = cx.roles.function(f, id);
            role.loss_factory || role.roles.contains(Role::Loss)
        }
        _ => false,
    };
    match callee {
        Callee::InstanceOf(ctor) => loss_symbol(cx.file, ctor),
        Callee::Qualified(_) | Callee::Local(_) => matches!(
            index.resolve_callee(cx.file, callee),
            Some(Symbol::Function(f, id))
                if index.facts(f).functions[id as usize].class.is_none()
                    && cx.roles.function(f, id).roles.contains(Role::Loss)
        ),
        Callee::SelfMember(name) => crate::semantic::verdict::ancestry(index, cx.file, class)
            .into_iter()
            .find_map(|(f, c)| {
                index.facts(f).classes[c as usize]
                    .attributes
                    .iter()
                    .rev()
                    .find(|a| a.name == *name)
                    .map(|a| (f, a.ctor.clone()))
            })
            .is_some_and(|(f, ctor)| loss_symbol(f, &ctor)),
        Callee::Variable(_) => false,
    }
}

/// Whether a value is computed like a loss: a library loss, a loss callee (see
/// [`calls_loss`]), math, a reduction or arithmetic. Values packed into containers
/// (`[{"logits": a, "boxes": b} for a, b in ...]`) are not.
fn computes(
    cx: &FileView<'_>,
    class: ClassId,
    shape: &LossExpr,
    takes_targets: bool,
    depth: u8,
) -> bool {
    if depth > 12 {
        return false;
    }
    match shape {
        LossExpr::Leaf(Term::LossApi(_)) => true,
        LossExpr::Detach(_) => false,
        LossExpr::LossOf(head, _) => computes(cx, class, head, takes_targets, depth + 1),
        LossExpr::Leaf(Term::Call(callee)) => {
            calls_loss(cx, class, callee, takes_targets, depth + 1)
        }
        LossExpr::Leaf(_) => false,
        LossExpr::Reduce(_) | LossExpr::Math(_) | LossExpr::Arith(_) => true,
        LossExpr::Branch(parts) | LossExpr::Accumulate(parts) | LossExpr::Collection(parts) => {
            parts
                .iter()
                .any(|p| computes(cx, class, p, takes_targets, depth + 1))
        }
    }
}

/// Whether a loss-named value only collects losses computed elsewhere (`losses +=
/// layer.losses`, an average of the losses the steps logged) or delegates to the project's
/// Loss component (in a method without targets) or to a method of the class that computes no
/// loss: nothing is computed here.
fn collects(
    cx: &FileView<'_>,
    class: ClassId,
    shape: &LossExpr,
    takes_targets: bool,
    depth: u8,
) -> bool {
    let mut source = false;
    only_collected(cx, class, shape, takes_targets, depth, &mut source) && source
}

/// Every leaf is a collected loss (`source` is set), a delegation (`source` too), or carries
/// nothing (an opaque value, a constant).
fn only_collected(
    cx: &FileView<'_>,
    class: ClassId,
    shape: &LossExpr,
    takes_targets: bool,
    depth: u8,
    source: &mut bool,
) -> bool {
    if depth > 12 {
        return false;
    }
    match shape {
        LossExpr::Leaf(Term::LossAttr) => {
            *source = true;
            true
        }
        LossExpr::Leaf(Term::Opaque | Term::Const | Term::Detached) | LossExpr::Detach(_) => true,
        LossExpr::Leaf(Term::Call(callee)) => {
            let delegates = cx.classifier(Some(class)).classify(callee) == CalleeClass::Loss
                && !calls_loss(cx, class, callee, takes_targets, depth + 1);
            *source |= delegates;
            delegates
        }
        LossExpr::Leaf(_) => false,
        LossExpr::LossOf(head, _) => {
            only_collected(cx, class, head, takes_targets, depth + 1, source)
        }
        // Averaging the losses collected (`torch.stack([o["loss"] for o in outs]).mean()`).
        LossExpr::Reduce(inner) => {
            only_collected(cx, class, inner, takes_targets, depth + 1, source)
        }
        LossExpr::Math(parts)
        | LossExpr::Arith(parts)
        | LossExpr::Branch(parts)
        | LossExpr::Accumulate(parts)
        | LossExpr::Collection(parts) => parts
            .iter()
            .all(|p| only_collected(cx, class, p, takes_targets, depth + 1, source)),
    }
}

/// A layer that builds nothing (no layers, no weights, no sub-models, in it or its project
/// superclasses) and registers a loss with `add_loss`: a loss-only layer (Keras 2 VAE loss layer that
/// returns its input) is a Loss component, not a model.
pub fn is_loss_only_layer(cx: &FileView<'_>, class: ClassId) -> bool {
    let facts = cx.facts();
    let adds_loss = facts.classes[class as usize].methods.iter().any(|&m| {
        facts.functions[m as usize]
            .body
            .evidence()
            .any(|e| e.kind == Evidence::AddLoss)
    });
    adds_loss
        && crate::semantic::verdict::ancestry(cx.index, cx.file, class)
            .into_iter()
            .all(|(f, c)| {
                let file = cx.index.facts(f);
                let class = &file.classes[c as usize];
                let classifier = crate::semantic::verdict::Classifier {
                    index: cx.index,
                    roles: cx.roles,
                    file: f,
                    class: Some(c),
                };
                class.methods.iter().all(|&m| {
                    let function = &file.functions[m as usize];
                    function
                        .body
                        .api_calls
                        .iter()
                        .all(|a| a.kind != ApiKind::Layer)
                        && !function
                            .body
                            .self_calls
                            .iter()
                            .any(|c| matches!(c.method.as_str(), "add_weight" | "add_variable"))
                }) && class.attributes.iter().all(|a| {
                    classifier.classify(&Callee::InstanceOf(Box::new(a.ctor.clone())))
                        != CalleeClass::Model
                })
            })
}

/// True if the class plays `role` (and is not a Loss, which wins over Model for criterions).
pub fn is_role(cx: &FileView<'_>, class: ClassId, role: Role) -> bool {
    let roles = &cx.roles.class(cx.file, class).roles;
    roles.contains(role) && !(role == Role::Model && roles.contains(Role::Loss))
}

/// True if the file is a self-contained script — a notebook, or a file that runs itself (an
/// `if __name__ == "__main__":` block, a loop at module level) — and no other project
/// file imports from it. Its classes and its training loop are one program: a class that
/// couples model and training there has one user, and the coupling costs nothing until the
/// class is reused (reviewers judge it the script's style: a tutorial, a minimal example).
pub fn is_self_contained_script(cx: &FileView<'_>) -> bool {
    let file = cx.project_file();
    let facts = cx.facts();
    let notebook = file.path.extension().is_some_and(|e| e == "ipynb");
    let runs = notebook || facts.main_guard.is_some() || !facts.module.loops.is_empty();
    if !runs {
        return false;
    }
    if file.path.file_stem().and_then(|s| s.to_str()).is_none() {
        return false;
    }
    !cx.index.imported_by_another_file(cx.file)
}
