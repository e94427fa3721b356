//! The project half of DL506 and DL507: a Model whose `forward` (Keras `call`) returns a softmax
//! or sigmoid output, and a loss elsewhere — in the Runner, in a Loss component, in another
//! file — that gets that output where it expects logits. The facts carry both ends (what each
//! `forward` returns, which component outputs reach which losses); this resolves them through
//! the project: the Model class a variable, a parameter or `self.<attr>` holds, and the loss a
//! `criterion` parameter or a project Loss component computes.

use std::sync::Arc;

use crate::rule_context::ProjectContext;
use crate::semantic::activation::{in_list, last_segment};
use crate::semantic::facts::{Activation, Expects, FunctionId, LossSink, OutputToLoss, ScopeFacts};
use crate::semantic::flow::{Flow, Resolved, method_of};
use ruff_text_size::TextRange;

/// A Model output with an activation handed to a loss that expects something else.
pub(crate) struct Mismatch {
    /// The argument of the loss call, in the linted file.
    pub argument: TextRange,
    /// The loss, for messages (`CrossEntropyLoss`, `FocalLoss`).
    pub loss: String,
    pub expects: Expects,
    pub activation: Activation,
    /// The Model class (qualified name within its file) and its forward-like method.
    pub model: String,
    pub method: String,
    /// Where that method is defined.
    pub model_file: Arc<std::path::Path>,
    pub method_name_range: TextRange,
}

/// Every mismatch whose loss call is in the linted file.
pub(crate) fn mismatches(cx: &ProjectContext<'_>) -> Vec<Mismatch> {
    let facts = cx.facts();
    let scopes = facts.scopes();
    let mut out = Vec::new();
    for (function, scope) in scopes {
        if !scope.flow().outputs_to_losses.is_empty() {
            scope_mismatches(cx, function, scope, &mut out);
        }
    }
    out
}

fn scope_mismatches(
    cx: &ProjectContext<'_>,
    function: Option<FunctionId>,
    scope: &ScopeFacts,
    out: &mut Vec<Mismatch>,
) {
    let flow = Flow::new(cx.index);
    for flow_fact in &scope.flow().outputs_to_losses {
        let Some((loss, expects)) = expectation(cx, &flow, function, flow_fact) else {
            continue;
        };
        for producer in flow.resolve(cx.file, function, &flow_fact.producer) {
            let Resolved::Class(f, c) = producer else {
                continue;
            };
            if !flow.is_model(cx.roles, cx.file, &producer) {
                continue;
            }
            let methods = &cx.knowledge().training.activations.call_methods;
            let Some((mf, method)) = method_of(cx.index, f, c, methods) else {
                continue;
            };
            let method_facts = &cx.index.facts(mf).functions[method as usize];
            let Some(activation) = method_facts.returns_activation else {
                continue;
            };
            let wrong = matches!(
                (expects, activation),
                (Expects::Logits, Activation::Softmax)
                    | (Expects::Probabilities, Activation::Sigmoid)
            );
            if wrong {
                out.push(Mismatch {
                    argument: flow_fact.argument,
                    loss: loss.clone(),
                    expects,
                    activation,
                    model: cx.index.facts(f).classes[c as usize].qualname.to_string(),
                    method: method_facts.name.to_string(),
                    model_file: cx.index.file(mf).path.clone(),
                    method_name_range: method_facts.name_range,
                });
                break;
            }
        }
    }
}

/// What the loss of `flow_fact` expects, and its name.
fn expectation(
    cx: &ProjectContext<'_>,
    flow: &Flow<'_>,
    function: Option<FunctionId>,
    flow_fact: &OutputToLoss,
) -> Option<(String, Expects)> {
    let reference = match &flow_fact.sink {
        LossSink::Api { name, expects } => return Some((name.to_string(), *expects)),
        LossSink::Instance(reference) => reference,
    };
    for sink in flow.resolve(cx.file, function, reference) {
        if let Some(found) = resolved_expectation(cx, sink, flow_fact.position) {
            return Some(found);
        }
    }
    None
}

/// A library loss class, or a project Loss component whose `forward` hands the argument at
/// `position` straight to a loss API.
fn resolved_expectation(
    cx: &ProjectContext<'_>,
    sink: Resolved,
    position: u32,
) -> Option<(String, Expects)> {
    match sink {
        Resolved::Api(q) => {
            let losses = &cx.knowledge().training.losses;
            let name = last_segment(&q).to_string();
            if in_list(&losses.logits, &q) {
                Some((name, Expects::Logits))
            } else if in_list(&losses.probability_bce, &q) {
                Some((name, Expects::Probabilities))
            } else {
                None
            }
        }
        Resolved::Class(f, c) => {
            let methods = &cx.knowledge().training.activations.call_methods;
            let (mf, method) = method_of(cx.index, f, c, methods)?;
            let facts = &cx.index.facts(mf).functions[method as usize];
            // `self` is the first positional parameter of the method.
            facts
                .body
                .flow()
                .params_to_losses
                .iter()
                .find(|p| p.position == position + 1)
                .map(|p| {
                    (
                        cx.index.facts(f).classes[c as usize].qualname.to_string(),
                        p.expects,
                    )
                })
        }
    }
}
