//! Loss *definition* vs *usage* (thesis §3.2): a single call of a library loss or of a Loss
//! component is usage; arithmetic or branching that combines loss terms, or a raw formula over
//! model outputs and data, is a definition. Scaling a loss (`loss / accumulation_steps`,
//! `loss.mean()`) and arithmetic on detached values for logging (`loss.item()`) are not.

use crate::semantic::facts::{Callee, ClassId, LossExpr, LossValue, Role, Term};
use crate::semantic::index::{FileId, ProjectIndex, Symbol};
use crate::semantic::roles::Roles;

/// Why a value is a loss definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Definition {
    /// Two or more loss terms combined (`ce + 0.1 * kl`).
    Combines(usize),
    /// A loss term combined with a tensor term (`ce + l2_penalty(model)`).
    AddsTerm,
    /// A formula over model outputs and data (`((pred - y) ** 2).mean()`).
    Formula,
    /// Different losses chosen by a condition (`if cfg.focal: ... else: ...`).
    Selects(usize),
    /// Loss terms accumulated in a loop (`for head in heads: loss += crit(...)`).
    Accumulates,
    /// Loss terms summed under weights of their own (`sum(losses[k] * weights[k] for k in
    /// losses)`): the weighting of the objective's terms is written here.
    Weights,
    /// A loss applied to an input computed here by a formula (`F.mse_loss(q, r + gamma *
    /// q_next)`: the TD target is part of the loss).
    ComputedInput,
    /// A loss applied to targets chosen by a condition (`labels = ones * 0.9 if smooth else
    /// ones`, `target = noise if eps else x_start`): what the loss compares with is decided here.
    ChoosesTargets,
}

impl Definition {
    pub fn describe(&self) -> String {
        match self {
            Definition::Combines(n) => format!("combines {n} loss terms"),
            Definition::AddsTerm => "combines a loss with another computed term".into(),
            Definition::Formula => "is a loss formula written out".into(),
            Definition::Selects(n) => format!("selects between {n} losses"),
            Definition::Accumulates => "accumulates loss terms in a loop".into(),
            Definition::Weights => "sums loss terms under weights of their own".into(),
            Definition::ComputedInput => {
                "applies a loss to an input computed with a formula".into()
            }
            Definition::ChoosesTargets => "applies a loss to targets chosen by a condition".into(),
        }
    }
}

/// The verdict on one loss value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Definition(Definition),
    /// A single loss call (possibly scaled or reduced): delegation to a Loss.
    Usage,
    /// Nothing recognisably a loss (e.g. an opaque call): assume delegation.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Loss,
    Tensor,
    Scalar,
    Opaque,
}

#[derive(Debug, Clone)]
struct Fold {
    kind: Kind,
    /// Distinct loss terms (by name) found below.
    losses: Vec<String>,
    formula: bool,
    definition: Option<Definition>,
    /// Built from a value cut off from the graph (`loss.item()`): logging arithmetic.
    detached: bool,
    /// Built from a model's output (a call of a model or a layer).
    model: bool,
}

impl Fold {
    fn leaf(kind: Kind, loss: Option<String>) -> Fold {
        Fold {
            kind,
            losses: loss.into_iter().collect(),
            formula: false,
            definition: None,
            detached: false,
            model: false,
        }
    }
}

/// What a callee in a loss expression is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalleeClass {
    Loss,
    Model,
    Other,
}

/// Classifies callees through the index and the roles.
pub struct Classifier<'p> {
    pub index: &'p ProjectIndex,
    pub roles: &'p Roles,
    pub file: FileId,
    /// The class whose method holds the value (for `self.<member>`).
    pub class: Option<ClassId>,
}

impl Classifier<'_> {
    pub fn verdict(&self, value: &LossValue) -> Verdict {
        let fold = self.fold(&value.expr, 0);
        // Arithmetic over a value taken out of the graph (`running_loss / seen_tokens` where
        // `running_loss += loss.item() * n`) is bookkeeping for a log, whatever else it mixes,
        // unless it is differentiated: `((q - target.detach()) ** 2).mean().backward()` is a TD
        // error against a stop-gradient target.
        if fold.detached && fold.kind != Kind::Loss && value.consumer.is_none() {
            return Verdict::Unknown;
        }
        if let Some(definition) = fold.definition {
            return Verdict::Definition(definition);
        }
        match fold.kind {
            // A value the code treats as a loss (differentiated, returned by a loss function,
            // bound to a loss-named variable) computed by arithmetic, math or a reduction over
            // values of unknown kind is a formula (thesis App. C.2: `x - y` is a self-defined
            // loss when it is what the weights are updated from).
            Kind::Tensor | Kind::Opaque if fold.formula => Verdict::Definition(Definition::Formula),
            Kind::Loss => Verdict::Usage,
            _ => Verdict::Unknown,
        }
    }

    /// A loss term scaled by a weight read from somewhere (`losses[k] * weights[k]`): exactly
    /// one loss factor, and another factor that is neither a constant nor a loss.
    fn weighted_term(&self, factors: &[LossExpr], depth: u8) -> bool {
        let folds: Vec<Fold> = factors.iter().map(|p| self.fold(p, depth + 1)).collect();
        folds.iter().filter(|f| f.kind == Kind::Loss).count() == 1
            && folds.iter().all(|f| f.definition.is_none() && !f.detached)
            && folds
                .iter()
                .any(|f| f.kind == Kind::Opaque && !f.formula && f.losses.is_empty())
    }

    /// Targets chosen by a condition: alternatives that differ, none of them a model's output,
    /// a loss or a value taken out of the graph.
    fn chosen_targets(&self, input: &LossExpr, depth: u8) -> bool {
        let LossExpr::Branch(alternatives) = input else {
            return false;
        };
        crate::semantic::loss_expr::chooses_values(input)
            && alternatives.iter().all(|a| {
                let f = self.fold(a, depth + 1);
                !f.model && !f.detached && f.kind != Kind::Loss && f.definition.is_none()
            })
    }

    fn fold(&self, shape: &LossExpr, depth: u8) -> Fold {
        if depth > 16 {
            return Fold::leaf(Kind::Opaque, None);
        }
        match shape {
            LossExpr::Leaf(term) => self.term(term),
            // `sum(losses[k] * weights[k] for k in losses)`: one template for many terms, each
            // scaled by a weight that is not a constant.
            LossExpr::Collection(parts)
                if parts.len() == 1
                    && let LossExpr::Arith(factors) = &parts[0]
                    && self.weighted_term(factors, depth + 1) =>
            {
                let folds: Vec<Fold> = factors.iter().map(|p| self.fold(p, depth + 2)).collect();
                Fold {
                    definition: Some(Definition::Weights),
                    ..merge(&folds, Kind::Loss)
                }
            }
            LossExpr::Arith(parts) | LossExpr::Collection(parts) => {
                let folds: Vec<Fold> = parts.iter().map(|p| self.fold(p, depth + 1)).collect();
                if let Some(d) = folds.iter().find_map(|f| f.definition.clone()) {
                    return Fold {
                        definition: Some(d),
                        ..merge(&folds, Kind::Loss)
                    };
                }
                let loss_parts = folds.iter().filter(|f| f.kind == Kind::Loss).count();
                // A computed term (reduction or math over anything but constants) is a tensor
                // term too: `ce + 1e-4 * sum(p.pow(2).sum() for p in params)`.
                let tensor_parts = folds
                    .iter()
                    .filter(|f| f.kind == Kind::Tensor || f.kind == Kind::Opaque && f.formula)
                    .count();
                let mut merged = merge(&folds, Kind::Opaque);
                if loss_parts >= 2 {
                    merged.kind = Kind::Loss;
                    merged.definition = Some(Definition::Combines(loss_parts));
                } else if loss_parts == 1 && tensor_parts > 0 {
                    merged.kind = Kind::Loss;
                    merged.definition = Some(Definition::AddsTerm);
                } else if loss_parts == 1 {
                    merged.kind = Kind::Loss; // scaling: `loss / n`, `weight * loss`
                } else if tensor_parts > 0 {
                    merged.kind = Kind::Tensor;
                    merged.formula =
                        matches!(shape, LossExpr::Arith(_)) || folds.iter().any(|f| f.formula);
                } else if folds.iter().all(|f| f.kind == Kind::Scalar) {
                    merged.kind = Kind::Scalar;
                }
                merged
            }
            LossExpr::Reduce(inner) => {
                let mut f = self.fold(inner, depth + 1);
                if matches!(f.kind, Kind::Tensor | Kind::Opaque) {
                    f.formula = true;
                }
                f
            }
            LossExpr::Math(parts) => {
                let folds: Vec<Fold> = parts.iter().map(|p| self.fold(p, depth + 1)).collect();
                let mut merged = merge(&folds, Kind::Opaque);
                merged.definition = folds.iter().find_map(|f| f.definition.clone());
                if folds.iter().any(|f| f.kind == Kind::Loss) {
                    merged.kind = Kind::Loss;
                } else if folds.iter().any(|f| f.kind == Kind::Tensor) {
                    merged.kind = Kind::Tensor;
                    merged.formula = true;
                } else if !folds.is_empty() && folds.iter().all(|f| f.kind == Kind::Scalar) {
                    merged.kind = Kind::Scalar;
                } else {
                    merged.formula = true; // math over unknown values: computed, kind unknown
                }
                merged
            }
            LossExpr::Branch(alternatives) => {
                let folds: Vec<Fold> = alternatives
                    .iter()
                    .map(|p| self.fold(p, depth + 1))
                    .collect();
                let mut merged = merge(&folds, Kind::Opaque);
                merged.definition = folds.iter().find_map(|f| f.definition.clone());
                let mut distinct: Vec<&String> = folds.iter().flat_map(|f| &f.losses).collect();
                distinct.sort();
                distinct.dedup();
                if merged.definition.is_none() && distinct.len() >= 2 {
                    merged.definition = Some(Definition::Selects(distinct.len()));
                }
                // A loss or a formula written here (`losses = vb_terms(...)` or
                // `losses = mean_flat((target - out) ** 2)` by `loss_type`).
                if merged.definition.is_none()
                    && folds.iter().any(|f| f.kind == Kind::Loss)
                    && folds.iter().any(|f| {
                        matches!(f.kind, Kind::Tensor | Kind::Opaque) && f.formula && !f.detached
                    })
                {
                    merged.definition = Some(Definition::Selects(2));
                }
                merged.kind = if folds.iter().any(|f| f.kind == Kind::Loss) {
                    Kind::Loss
                } else if folds.iter().any(|f| f.kind == Kind::Tensor) {
                    Kind::Tensor
                } else {
                    Kind::Opaque
                };
                merged.formula = folds.iter().any(|f| f.formula);
                merged
            }
            LossExpr::Detach(inner) => Fold {
                detached: true,
                model: self.fold(inner, depth + 1).model,
                ..Fold::leaf(Kind::Scalar, None)
            },
            // A loss applied to a formula over a model's output and other values (a TD target
            // `r + gamma * q_next`, `logits / tau`); a formula without a model output (inputs
            // normalised, a linear model written inline in TF1 graph code) is not the loss's.
            LossExpr::LossOf(head, inputs) => {
                let mut f = self.fold(head, depth + 1);
                if f.kind == Kind::Loss
                    && f.definition.is_none()
                    && inputs.iter().any(|input| {
                        let input = self.fold(input, depth + 1);
                        input.model && input.kind != Kind::Loss
                    })
                {
                    f.definition = Some(Definition::ComputedInput);
                } else if f.kind == Kind::Loss
                    && f.definition.is_none()
                    && inputs
                        .iter()
                        .any(|input| self.chosen_targets(input, depth + 1))
                {
                    f.definition = Some(Definition::ChoosesTargets);
                }
                f
            }
            LossExpr::Accumulate(parts) => {
                let folds: Vec<Fold> = parts.iter().map(|p| self.fold(p, depth + 1)).collect();
                let mut merged = merge(&folds, Kind::Opaque);
                merged.definition = folds.iter().find_map(|f| f.definition.clone());
                if folds.iter().any(|f| f.kind == Kind::Loss) {
                    merged.kind = Kind::Loss;
                    merged.definition.get_or_insert(Definition::Accumulates);
                } else if folds.iter().any(|f| f.kind == Kind::Tensor) {
                    merged.kind = Kind::Tensor;
                    merged.formula = true;
                }
                merged
            }
        }
    }

    fn term(&self, term: &Term) -> Fold {
        match term {
            Term::LossApi(name) => Fold::leaf(Kind::Loss, Some(name.to_string())),
            Term::LossAttr => Fold::leaf(Kind::Loss, Some("model output".into())),
            Term::ModelCall => Fold {
                model: true,
                ..Fold::leaf(Kind::Tensor, None)
            },
            Term::Batch => Fold::leaf(Kind::Tensor, None),
            Term::Const => Fold::leaf(Kind::Scalar, None),
            Term::Detached => Fold {
                detached: true,
                ..Fold::leaf(Kind::Scalar, None)
            },
            Term::Opaque => Fold::leaf(Kind::Opaque, None),
            Term::Param(name) => {
                let knowledge = self.index.knowledge(self.file);
                if knowledge.is_loss_variable(name) {
                    Fold::leaf(Kind::Loss, Some(name.to_string()))
                } else if knowledge.is_target_parameter(name) {
                    // Targets are tensors: `bce * (1 + w * y_true)` weights a loss by them.
                    Fold::leaf(Kind::Tensor, None)
                } else {
                    Fold::leaf(Kind::Opaque, None)
                }
            }
            Term::Call(callee) => match self.classify(callee) {
                CalleeClass::Loss => Fold::leaf(Kind::Loss, Some(callee.name().to_string())),
                CalleeClass::Model => Fold {
                    model: true,
                    ..Fold::leaf(Kind::Tensor, None)
                },
                CalleeClass::Other => Fold::leaf(Kind::Opaque, None),
            },
        }
    }

    /// Is this callee a Loss component, a model, or something else?
    pub fn classify(&self, callee: &Callee) -> CalleeClass {
        self.classify_depth(callee, 0)
    }

    fn classify_depth(&self, callee: &Callee, depth: u8) -> CalleeClass {
        if depth > 4 {
            return CalleeClass::Other;
        }
        let index = self.index;
        let knowledge = index.knowledge(self.file);
        match callee {
            Callee::Qualified(_) | Callee::Local(_) => {
                match index.resolve_callee(self.file, callee) {
                    Some(Symbol::Function(f, id)) => {
                        let role = self.roles.function(f, id);
                        if role.roles.contains(Role::Loss) {
                            CalleeClass::Loss
                        } else {
                            CalleeClass::Other
                        }
                    }
                    // Calling a class constructs it; its instance is classified where it is called.
                    Some(_) => CalleeClass::Other,
                    None if knowledge.is_loss_callee(callee.name()) => CalleeClass::Loss,
                    None => CalleeClass::Other,
                }
            }
            Callee::InstanceOf(ctor) => self.instance_class(ctor),
            Callee::SelfMember(name) => self.self_member(name, depth),
            Callee::Variable(name) => {
                if knowledge.is_loss_callee(name) {
                    CalleeClass::Loss
                } else if knowledge.is_model_variable(name) {
                    CalleeClass::Model
                } else {
                    CalleeClass::Other
                }
            }
        }
    }

    /// Calling an object built by `ctor`.
    fn instance_class(&self, ctor: &Callee) -> CalleeClass {
        let index = self.index;
        let knowledge = index.knowledge(self.file);
        if let Callee::Qualified(q) = ctor {
            match knowledge.classify_call(&knowledge.canonical(q)) {
                Some(crate::knowledge::ApiKind::LossClass) => return CalleeClass::Loss,
                Some(crate::knowledge::ApiKind::Layer) => return CalleeClass::Model,
                _ => {}
            }
        }
        match index.resolve_callee(self.file, ctor) {
            Some(Symbol::Class(f, c)) => {
                let role = self.roles.class(f, c);
                if role.roles.contains(Role::Loss) {
                    CalleeClass::Loss
                } else if role.roles.contains(Role::Model) {
                    CalleeClass::Model
                } else {
                    CalleeClass::Other
                }
            }
            // A factory function returning a loss function.
            Some(Symbol::Function(f, id)) if self.roles.function(f, id).loss_factory => {
                CalleeClass::Loss
            }
            _ if knowledge.is_loss_class_name(ctor.name()) => CalleeClass::Loss,
            _ => CalleeClass::Other,
        }
    }

    /// `self.<name>(...)`: an attribute (through the class hierarchy) or a method.
    fn self_member(&self, name: &str, depth: u8) -> CalleeClass {
        let knowledge = self.index.knowledge(self.file);
        if let Some(class) = self.class {
            for (f, c) in self.ancestry(self.file, class) {
                let facts = self.index.facts(f);
                if let Some(attr) = facts.classes[c as usize]
                    .attributes
                    .iter()
                    .rev()
                    .find(|a| a.name == name)
                {
                    let nested = Classifier {
                        index: self.index,
                        roles: self.roles,
                        file: f,
                        class: Some(c),
                    };
                    return nested.instance_class(&attr.ctor);
                }
                if let Some((id, _)) = facts.method(c, name) {
                    let role = self.roles.function(f, id);
                    return if role.roles.contains(Role::Loss) || knowledge.is_loss_callee(name) {
                        CalleeClass::Loss
                    } else {
                        CalleeClass::Other
                    };
                }
            }
        }
        let _ = depth;
        if knowledge.is_loss_callee(name) {
            CalleeClass::Loss
        } else if knowledge.is_model_variable(name) {
            CalleeClass::Model
        } else {
            CalleeClass::Other
        }
    }

    /// The class and its project superclasses, nearest first.
    pub fn ancestry(&self, file: FileId, class: ClassId) -> Vec<(FileId, ClassId)> {
        ancestry(self.index, file, class)
    }
}

/// True if `class` or one of its project superclasses has a base that `test` accepts: the base's
/// canonical name, judged with the knowledge of the file that names it.
pub fn extends(
    index: &ProjectIndex,
    file: FileId,
    class: ClassId,
    test: impl Fn(&crate::knowledge::Knowledge, &str) -> bool,
) -> bool {
    ancestry(index, file, class).into_iter().any(|(f, c)| {
        let knowledge = index.knowledge(f);
        index.facts(f).classes[c as usize].bases.iter().any(
            |base| matches!(base, Callee::Qualified(q) if test(knowledge, &knowledge.canonical(q))),
        )
    })
}

/// A class and its project superclasses (breadth-first, nearest first, bounded).
pub fn ancestry(index: &ProjectIndex, file: FileId, class: ClassId) -> Vec<(FileId, ClassId)> {
    let mut out = vec![(file, class)];
    let mut i = 0;
    while i < out.len() && out.len() < 32 {
        let (f, c) = out[i];
        for base in index.project_bases(f, c) {
            if !out.contains(&base) {
                out.push(base);
            }
        }
        i += 1;
    }
    out
}

fn merge(folds: &[Fold], kind: Kind) -> Fold {
    let mut losses: Vec<String> = folds.iter().flat_map(|f| f.losses.clone()).collect();
    losses.sort();
    losses.dedup();
    Fold {
        kind,
        losses,
        formula: false,
        definition: None,
        detached: folds.iter().any(|f| f.detached),
        model: folds.iter().any(|f| f.model),
    }
}
