//! Loss facts of a scope: evidence that it computes a loss (a loss-named method called, a
//! loss registered with `add_loss`, a loss-named variable assigned a computation) and the loss
//! values themselves, as [`LossExpr`] trees: those differentiated, those assigned to
//! loss-named variables, and those returned by a loss function or a loss class's `forward`.

use ruff_python_ast::Expr;
use ruff_text_size::{Ranged, TextRange};

use super::{AssignRec, AssignValue, CallRec, LossRoot, MethodCall, Resolver, ScopeDraft};
use super::{is_computation, returned_loss};
use crate::semantic::Role;
use crate::semantic::facts::*;
use crate::semantic::loss_expr::LossExprBuilder;

/// A loss-named value assigned a computation: (value, statement, loop).
pub(super) type NamedValue<'a> = (&'a Expr, TextRange, Option<LoopId>);

impl<'a> Resolver<'_, 'a> {
    /// Loss evidence from a method call that makes no gradient step: `add_loss(...)`, a
    /// loss-named method (`model.compute_loss(batch)`), `criterion.forward(...)`.
    pub(super) fn method_loss_evidence(
        &self,
        rec: &CallRec<'a>,
        method: &MethodCall<'a>,
        facts: &mut ScopeFacts,
    ) {
        let knowledge = self.knowledge();
        let range = rec.call.range();
        let name = method.name;
        if name == "add_loss" {
            facts.other_evidence.push(LossEvidence {
                kind: Evidence::AddLoss,
                range,
                in_loop: rec.in_loop,
            });
        } else if knowledge.is_loss_callee(name)
            && !knowledge.reduction_methods.iter().any(|m| m == name)
        {
            // `model.compute_loss(batch)`, `criterion.forward(...)` on an unknown object.
            let kind = facts.losses_mut().other_call(Callee::Variable(name.into()));
            facts.other_evidence.push(LossEvidence {
                kind,
                range,
                in_loop: rec.in_loop,
            });
        } else if let Some(receiver) = Self::receiver_name(method.receiver)
            && knowledge.is_loss_callee(receiver)
            && name == "forward"
        {
            let kind = facts
                .losses_mut()
                .other_call(Callee::Variable(receiver.into()));
            facts.other_evidence.push(LossEvidence {
                kind,
                range,
                in_loop: rec.in_loop,
            });
        }
    }

    /// Loss-named variables (and `self.<loss>` attributes) assigned a computation: evidence,
    /// and the values to build loss expressions for.
    pub(super) fn named_loss_values(
        &self,
        draft: &ScopeDraft<'a>,
        facts: &mut ScopeFacts,
    ) -> Vec<NamedValue<'a>> {
        let knowledge = self.knowledge();
        // Loss-named variables assigned a computation.
        let mut named: Vec<&AssignRec<'a>> = draft
            .assigns
            .iter()
            .filter(|(name, _)| knowledge.is_loss_variable(name))
            .flat_map(|(_, recs)| recs)
            // `running_loss += loss.item() * n` is bookkeeping; a loss built up term by term is
            // seen where it is differentiated or returned.
            .filter(|r| !r.aug)
            .collect();
        named.sort_by_key(|r| r.stmt.start());
        // (value, statement, loop) of each loss-named assignment that computes something.
        let mut named_values: Vec<(&'a Expr, TextRange, Option<LoopId>)> = Vec::new();
        for rec in named {
            let value = match rec.value {
                AssignValue::Expr(e) => e,
                AssignValue::Element(e, _) => e,
                _ => continue,
            };
            if is_computation(value, self) {
                facts.other_evidence.push(LossEvidence {
                    kind: Evidence::NamedAssign,
                    range: rec.stmt,
                    in_loop: rec.in_loop,
                });
                named_values.push((value, rec.stmt, rec.in_loop));
            }
        }
        for &(value, stmt, in_loop) in &draft.self_loss_assigns {
            if is_computation(value, self) {
                facts.other_evidence.push(LossEvidence {
                    kind: Evidence::NamedAssign,
                    range: stmt,
                    in_loop,
                });
                named_values.push((value, stmt, in_loop));
            }
        }
        named_values
    }

    /// The loss values of the scope: differentiated (`roots`), assigned to loss-named
    /// variables (`named_values`), and returned as a loss.
    pub(super) fn loss_values(
        &self,
        index: usize,
        draft: &ScopeDraft<'a>,
        classes: &[ClassFacts],
        roots: Vec<LossRoot<'a>>,
        named_values: Vec<NamedValue<'a>>,
        facts: &mut ScopeFacts,
    ) {
        let knowledge = self.knowledge();
        // How the differentiated values are built.
        let exprs = LossExprBuilder {
            resolver: self,
            scope: index,
        };
        for (root, consumer, in_loop) in roots {
            facts
                .losses_mut()
                .differentiated
                .push(exprs.loss_value(root, Some(consumer), in_loop));
        }
        // How loss-named values are built (`total_loss = start_loss + end_loss`): a loss may be
        // defined without being differentiated or returned in this scope.
        for (value, stmt, in_loop) in named_values {
            let mut loss = exprs.loss_value(value, None, in_loop);
            loss.definition = stmt;
            loss.slice.push(stmt);
            loss.slice.sort_by_key(|r| r.start());
            loss.slice.dedup();
            facts.losses_mut().named_losses.push(loss);
        }
        // Returned losses: from loss-named functions, loss-named variables, or `loss=` fields.
        let function_name = draft
            .function
            .map(|f| self.builder.functions[f as usize].facts.name.as_str());
        // A loss class by name, or by a framework loss base (`keras.losses.Loss`).
        let class_is_loss = draft.class.is_some_and(|c| {
            let class = &classes[c as usize];
            knowledge.is_loss_class_name(&class.name)
                || class.bases.iter().any(|base| match base {
                    Callee::Qualified(q) => {
                        knowledge.base_role(&knowledge.canonical(q)) == Some(Role::Loss)
                    }
                    _ => false,
                })
        });
        // What the function's name says, decided once for all its returns.
        let loss_named = !draft.returns.is_empty()
            && function_name.is_some_and(|n| {
                knowledge.is_loss_function_name(n) || self.used_as_loss.contains(n)
            });
        for &(value, in_loop) in &draft.returns {
            let returned = returned_loss(value, knowledge);
            let takes_targets = draft.function.is_some_and(|f| {
                !self.builder.functions[f as usize]
                    .facts
                    .target_params
                    .is_empty()
            });
            let loss_function = loss_named
                || (class_is_loss && function_name.is_some_and(|n| knowledge.is_forward_method(n)))
                || (self.builder.in_loss_module && draft.class.is_none() && takes_targets);
            let expr = match returned {
                Some(expr) => expr,
                None if loss_function => value,
                None => continue,
            };
            // In a losses module, a function compares a prediction with targets; one taking
            // targets alone (`convert_labels(y_true)`) prepares labels.
            let by_module_only = returned.is_none() && !loss_named && !class_is_loss;
            if by_module_only
                && !draft
                    .params
                    .iter()
                    .any(|p| !matches!(*p, "self" | "cls") && !knowledge.is_target_parameter(p))
            {
                continue;
            }
            facts
                .losses_mut()
                .returned
                .push(exprs.loss_value(expr, None, in_loop));
        }
    }
}
