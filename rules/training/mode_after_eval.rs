//! The second half of DL504: a training loop that puts the model in evaluation mode (directly,
//! or through a helper such as `validate(model, loader)` that ends with the model in eval mode)
//! and never sets training mode again inside the loop, so every later iteration trains with
//! dropout off and batch norm frozen. Read from the facts: the mode calls of each scope
//! (`model.eval()`, `model.train()`), the calls a loop makes, and what each helper leaves
//! behind.

use std::collections::BTreeMap;

use ruff_text_size::TextRange;

use crate::rule_context::ProjectContext;
use crate::semantic::calls::resolve_through_callers;
use crate::semantic::facts::{FunctionId, InstanceRef, LoopId, ModeCall, ProjectCall, ScopeFacts};
use crate::semantic::flow::Flow;
use crate::semantic::index::{FileId, Symbol};
use crate::semantic::modes::Modes;
use crate::semantic::verdict::ancestry;

/// A training loop left in eval mode.
pub(crate) struct LeftInEval {
    pub function: Option<FunctionId>,
    /// The `for`/`while` line of the training loop.
    pub header: TextRange,
    /// The call inside the loop that sets eval mode (`model.eval()` or `validate(...)`).
    pub site: TextRange,
    /// The helper that sets it (`validate`), or `None` for a direct `model.eval()`.
    pub helper: Option<String>,
    /// The model as written where eval mode is set (in the helper, for a helper).
    pub model: String,
}

/// What a helper leaves behind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// No mode call.
    None,
    /// Its last mode call sets eval mode on a model.
    LeavesEval,
    /// Its last mode call sets eval mode on a model it is handed, which only its callers
    /// resolve.
    LeavesCallersModel,
    /// It sets training mode (at the end, or before its own training: either way the loop is
    /// in training mode when it trains).
    SetsTrain,
}

/// The calls made inside one outermost loop.
#[derive(Default)]
struct LoopCalls<'s> {
    mode: Vec<&'s ModeCall>,
    project: Vec<&'s ProjectCall>,
    methods: Vec<(&'s str, TextRange)>,
}

struct Checker<'c, 'p> {
    cx: &'c ProjectContext<'p>,
    flow: Flow<'p>,
    modes: Modes<'p>,
}

pub(crate) fn left_in_eval(cx: &ProjectContext<'_>) -> Vec<LeftInEval> {
    let facts = cx.facts();
    let checker = Checker {
        cx,
        flow: Flow::new(cx.index),
        modes: Modes::new(cx.index),
    };
    let scopes = facts.scopes();
    let mut out = Vec::new();
    for (function, scope) in scopes {
        if scope.flow().mode_calls.is_empty()
            && scope.project_calls.is_empty()
            && scope.self_calls.is_empty()
        {
            continue;
        }
        // The calls of each outermost loop, gathered in one pass (a module-level script may
        // hold thousands of loops and calls).
        let mut buckets: BTreeMap<LoopId, LoopCalls<'_>> = BTreeMap::new();
        let outermost = |in_loop: Option<LoopId>| {
            let mut current = in_loop?;
            while let Some(parent) = scope.loops[current as usize].parent {
                current = parent;
            }
            Some(current)
        };
        for call in &scope.flow().mode_calls {
            if let Some(lp) = outermost(call.in_loop) {
                buckets.entry(lp).or_default().mode.push(call);
            }
        }
        for call in &scope.project_calls {
            if let Some(lp) = outermost(call.in_loop) {
                buckets.entry(lp).or_default().project.push(call);
            }
        }
        for call in &scope.self_calls {
            if let Some(lp) = outermost(call.in_loop) {
                buckets
                    .entry(lp)
                    .or_default()
                    .methods
                    .push((call.method.as_str(), call.range));
            }
        }
        for (lp, calls) in buckets {
            let trains_here = cx.roles.training.loop_trains(cx.file, function, lp);
            if let Some(found) = checker.loop_left_in_eval(function, scope, lp, &calls, trains_here)
            {
                out.push(found);
            }
        }
    }
    out
}

impl Checker<'_, '_> {
    /// The receiver of a mode call is a model: it resolves to one; or, when nothing resolves
    /// it (a parameter no caller shows), it is named like one (`.eval()` itself is the
    /// evidence that it is a module). `self.eval()` is the Model switching itself, not a
    /// Runner switching its model.
    fn is_model_receiver(
        &self,
        file: FileId,
        function: Option<FunctionId>,
        call: &ModeCall,
    ) -> bool {
        let resolved = match &call.receiver {
            Some(receiver) => self.flow.resolve(file, function, receiver),
            None => Vec::new(),
        };
        if !resolved.is_empty() {
            return resolved
                .iter()
                .any(|r| self.flow.is_model(self.cx.roles, file, r));
        }
        let last = call.text.rsplit('.').next().unwrap_or(&call.text);
        call.text != "self" && self.cx.index.knowledge(file).is_model_variable(last)
    }

    /// The receiver of a mode call is a model known to behave differently in training and
    /// evaluation mode (dropout, batch norm): for any other model `eval()` changes nothing.
    fn is_mode_dependent(
        &self,
        file: FileId,
        function: Option<FunctionId>,
        call: &ModeCall,
    ) -> bool {
        call.receiver.as_ref().is_some_and(|receiver| {
            resolve_through_callers(self.cx.index, file, function, receiver)
                .iter()
                .any(|r| self.modes.mode_dependent(file, r))
        })
    }

    /// The scope switches or hands on a module (`model.train()`, `model.parameters()`) that is
    /// known to have dropout or batch norm: the model its training loop trains.
    fn trains_mode_dependent(&self, function: Option<FunctionId>, scope: &ScopeFacts) -> bool {
        let file = self.cx.file;
        let flow = scope.flow();
        flow.module_receivers
            .iter()
            .chain(flow.mode_calls.iter().filter_map(|c| c.receiver.as_ref()))
            .any(|receiver| {
                resolve_through_callers(self.cx.index, file, function, receiver)
                    .iter()
                    .any(|r| self.modes.mode_dependent(file, r))
            })
    }

    /// A model a helper builds for itself (`model = Net(); model.load_state_dict(...);
    /// model.eval()`): switching it leaves the caller's models alone.
    fn is_helper_local(&self, file: FileId, call: &ModeCall) -> bool {
        matches!(call.receiver, Some(InstanceRef::Built(_)))
            && !call.text.contains('.')
            && !self
                .cx
                .index
                .facts(file)
                .module_instances
                .iter()
                .any(|(name, _)| *name == call.text)
    }

    /// An outermost loop of `scope` that trains (itself, or through a helper it calls) and is
    /// left in eval mode.
    fn loop_left_in_eval(
        &self,
        function: Option<FunctionId>,
        scope: &ScopeFacts,
        lp: LoopId,
        calls: &LoopCalls<'_>,
        trains_here: bool,
    ) -> Option<LeftInEval> {
        let file = self.cx.file;
        let mut first_eval: Option<(TextRange, Option<String>, String)> = None;
        let mut sets_train = false;
        for call in &calls.mode {
            if !call.eval {
                sets_train = true;
            } else if self.is_model_receiver(file, function, call)
                && self.is_mode_dependent(file, function, call)
                && first_eval.is_none()
            {
                first_eval = Some((call.range, None, call.text.to_string()));
            }
        }
        let index = self.cx.index;
        let mut helpers: Vec<(TextRange, String, FileId, FunctionId)> = Vec::new();
        for call in &calls.project {
            if let Some(Symbol::Function(f, id)) = index.resolve_callee(file, &call.callee) {
                helpers.push((call.range, index.facts(f).qualname(id), f, id));
            }
        }
        if let Some(class) = function.and_then(|id| index.facts(file).functions[id as usize].class)
        {
            for &(name, range) in &calls.methods {
                let method = ancestry(index, file, class)
                    .into_iter()
                    .find_map(|(f, c)| index.facts(f).method(c, name).map(|(id, _)| (f, id)));
                if let Some((f, id)) = method {
                    helpers.push((range, format!("self.{name}"), f, id));
                }
            }
        }
        let training = &self.cx.roles.training;
        let trains = trains_here
            || helpers
                .iter()
                .any(|(_, _, f, id)| training.trains(*f, Some(*id)));
        if !trains {
            return None;
        }
        for (range, name, f, id) in helpers {
            match self.effect(f, id, 0) {
                (Effect::SetsTrain, _) => sets_train = true,
                (effect @ (Effect::LeavesEval | Effect::LeavesCallersModel), model) => {
                    if effect == Effect::LeavesCallersModel
                        && !self.trains_mode_dependent(function, scope)
                    {
                        continue;
                    }
                    if first_eval
                        .as_ref()
                        .is_none_or(|(r, _, _)| range.start() < r.start())
                    {
                        first_eval = Some((range, Some(name), model));
                    }
                }
                (Effect::None, _) => {}
            }
        }
        if sets_train {
            return None;
        }
        let (site, helper, model) = first_eval?;
        Some(LeftInEval {
            function,
            header: scope.loops[lp as usize].header,
            site,
            helper,
            model,
        })
    }

    /// What calling function `id` of `file` leaves behind, and the model it sets to eval mode.
    fn effect(&self, file: FileId, id: FunctionId, depth: u8) -> (Effect, String) {
        let body = &self.cx.index.facts(file).functions[id as usize].body;
        let mut calls: Vec<&ModeCall> = body.flow().mode_calls.iter().collect();
        calls.sort_by_key(|c| c.range.start());
        if calls.iter().any(|c| !c.eval) {
            return (Effect::SetsTrain, String::new());
        }
        if let Some(last) = calls
            .iter()
            .rev()
            .find(|c| self.is_model_receiver(file, Some(id), c) && !self.is_helper_local(file, c))
        {
            if self.is_mode_dependent(file, Some(id), last) {
                return (Effect::LeavesEval, last.text.to_string());
            }
            // `validate(model, ...)` handed the caller's own parameter: what the helper
            // switches is what the caller trains.
            if matches!(last.receiver, Some(InstanceRef::Param { .. }))
                && self
                    .flow
                    .resolve(file, Some(id), last.receiver.as_ref().expect("matched"))
                    .is_empty()
            {
                return (Effect::LeavesCallersModel, last.text.to_string());
            }
            return (Effect::None, String::new());
        }
        if depth < 1 {
            let index = self.cx.index;
            for call in &body.project_calls {
                if let Some(Symbol::Function(f, inner)) = index.resolve_callee(file, &call.callee) {
                    let found = self.effect(f, inner, depth + 1);
                    if found.0 != Effect::None {
                        return found;
                    }
                }
            }
        }
        (Effect::None, String::new())
    }
}
