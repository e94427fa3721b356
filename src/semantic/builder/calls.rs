//! What a call that is not a method call says about a scope: a loss computed by a library
//! (`F.cross_entropy`, an instance of `nn.CrossEntropyLoss`), a gradient step through a
//! framework API, a framework API of another kind (optimizers, data loading, seeding, ...), or
//! a call that may reach a project component (a model, a loss, a helper), with the values
//! handed to it.

use ruff_python_ast::Expr;
use ruff_text_size::{Ranged, TextRange};

use super::{CallRec, LossRoot, Resolver, ScopeDraft, data_prep};
use crate::knowledge::ApiKind;
use crate::semantic::facts::*;

impl<'a> Resolver<'_, 'a> {
    /// Record what the call `rec` (not a method call) says in `facts`; values it
    /// differentiates go to `roots`.
    pub(super) fn function_call_facts(
        &self,
        index: usize,
        draft: &ScopeDraft<'a>,
        rec: &CallRec<'a>,
        facts: &mut ScopeFacts,
        roots: &mut Vec<LossRoot<'a>>,
    ) {
        let knowledge = self.knowledge();
        let call = rec.call;
        let at = call.start();
        let range = call.range();
        let in_compile =
            |range: TextRange| draft.compile_args.iter().any(|c| c.contains_range(range));
        if let Expr::Attribute(attr) = &*call.func
            && attr.attr.as_str() == "add_loss"
            && matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self")
        {
            facts.other_evidence.push(LossEvidence {
                kind: Evidence::AddLoss,
                range,
                in_loop: rec.in_loop,
            });
            return;
        }
        let Some(callee) = self.callee(index, &call.func, at) else {
            return;
        };
        if matches!(&*call.func, Expr::Name(n) if n.id.as_str() == "self") {
            return; // `self(x)`: the model calls itself.
        }
        self.note_call(index, rec, &callee, facts);
        let kind = match &callee {
            Callee::Qualified(_) => self.api_kind(&callee),
            Callee::InstanceOf(ctor) => match self.api_kind(ctor) {
                Some(ApiKind::LossClass) => {
                    facts.other_evidence.push(LossEvidence {
                        kind: Evidence::LossApiCall,
                        range,
                        in_loop: rec.in_loop,
                    });
                    return;
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(kind) = kind
            && self.api_grad_step(index, rec, kind, facts, roots)
        {
            return;
        }
        match kind {
            Some(ApiKind::LossFunction) => {
                facts.other_evidence.push(LossEvidence {
                    kind: Evidence::LossApiCall,
                    range,
                    in_loop: rec.in_loop,
                });
            }
            Some(ApiKind::Math | ApiKind::Reduction | ApiKind::GradientTape) => {}
            // `random.seed()` without a seed seeds from the clock.
            Some(ApiKind::Seed) if call.arguments.is_empty() => {}
            // `h5py.File(path, "w")`: writing a file is not loading data.
            Some(ApiKind::DataLoading) if data_prep::opens_for_writing(call) => {}
            Some(kind) => {
                let name = match &callee {
                    Callee::Qualified(q) => knowledge.canonical(q).into_owned(),
                    other => other.name().to_string(),
                };
                facts.api_calls.push(ApiUse {
                    kind,
                    name: name.into(),
                    range,
                    in_loop: rec.in_loop,
                    in_compile: in_compile(range),
                    on_data: self.on_data(index, rec, kind, &draft.calls),
                });
            }
            None => {
                // Calls that may reach a project component. `self.x(...)` of an attribute
                // built from a known API, or of a method of this class, is not one.
                let own_package = self.semantic.package.as_deref();
                let project = match &callee {
                    Callee::Qualified(q) => !knowledge.is_external_from(q, own_package),
                    Callee::Local(_) => true,
                    Callee::SelfMember(name) => {
                        knowledge.is_loss_callee(name) || !self.is_own_method(index, name)
                    }
                    Callee::InstanceOf(ctor) => match &**ctor {
                        Callee::Qualified(q) => !knowledge.is_external_from(q, own_package),
                        Callee::Local(_) => true,
                        Callee::SelfMember(name) => knowledge.is_loss_callee(name),
                        _ => false,
                    },
                    Callee::Variable(name) => {
                        knowledge.is_loss_callee(name) || knowledge.is_model_variable(name)
                    }
                };
                if project {
                    let mut flows = ThinVec::new();
                    self.value_flows(index, call, &callee, &mut flows);
                    if !flows.is_empty() {
                        facts.flow_mut().value_flows.extend(flows);
                    }
                    if matches!(&callee, Callee::Variable(n) if !knowledge.is_loss_callee(n)) {
                        // A project call is loss evidence (by its index, not stored), unless
                        // listed here.
                        facts.losses_mut().calls_not_evidence.push(range);
                    } else if matches!(callee, Callee::SelfMember(_)) {
                        // `self.<name>` is no project call (the index resolves it through the
                        // class): its evidence is kept apart.
                        let kind = facts.losses_mut().other_call(callee.clone());
                        facts.other_evidence.push(LossEvidence {
                            kind,
                            range,
                            in_loop: rec.in_loop,
                        });
                    }
                    if !matches!(callee, Callee::SelfMember(_)) {
                        facts.project_calls.push(ProjectCall {
                            callee,
                            range,
                            in_loop: rec.in_loop,
                        });
                    }
                }
            }
        }
    }
}
