//! Who calls a project function, across the project: the call sites of each function (a call
//! by name or through an import, a function handed to a launcher, a method called on `self` or
//! on a component whose class the project resolves), with the scope each one sits in. Built
//! once per run, on first use. It answers, for instance, whether every caller of an evaluation
//! helper already sets eval mode or turns gradients off.
//!
//! It also keeps the parameters a function hands on to another (`def train(model): ...
//! evaluate(model, loader)`), so that a parameter resolves through a chain of callers
//! ([`resolve_through_callers`]) where [`Flow::resolve`] looks one call up.

use ruff_text_size::TextRange;
use rustc_hash::FxHashMap;

use crate::semantic::facts::{Callee, ClassId, FunctionId, InstanceRef, LoopId, ScopeFacts};
use crate::semantic::flow::{Flow, Resolved, method_of};
use crate::semantic::index::{FileId, ProjectIndex, Symbol};

/// One call of a project function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSite {
    pub file: FileId,
    /// The calling scope (`None`: module level).
    pub function: Option<FunctionId>,
    /// The call.
    pub range: TextRange,
}

/// A parameter of one function handed on to another function's parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Forward {
    caller: (FileId, FunctionId),
    /// Where it lands in the callee: a position among the positional parameters, or a keyword.
    position: Option<u32>,
    keyword: Option<crate::semantic::facts::Name>,
    /// The caller's parameter.
    param: InstanceRef,
}

/// The call sites of every project function that the project calls.
#[derive(Debug, Default)]
pub struct CallSites {
    by_function: FxHashMap<(FileId, FunctionId), Vec<CallSite>>,
    forwarded: FxHashMap<(FileId, FunctionId), Vec<Forward>>,
}

impl CallSites {
    pub fn compute(index: &ProjectIndex) -> Self {
        let callees = index.scope_callees();
        let mut by_function: FxHashMap<(FileId, FunctionId), Vec<CallSite>> = FxHashMap::default();
        let mut forwarded: FxHashMap<(FileId, FunctionId), Vec<Forward>> = FxHashMap::default();
        for f in 0..index.files.len() as FileId {
            let facts = index.facts(f);
            for (function, scope) in facts.scopes() {
                if let Some(id) = function {
                    for arg in &scope.flow().instance_args {
                        if matches!(arg.instance, InstanceRef::Param { .. })
                            && let Some(Symbol::Function(tf, tid)) =
                                index.resolve_callee(f, &arg.callee)
                        {
                            forwarded.entry((tf, tid)).or_default().push(Forward {
                                caller: (f, id),
                                position: arg.position,
                                keyword: arg.keyword.clone(),
                                param: arg.instance.clone(),
                            });
                        }
                    }
                }
                let mut add = |target: (FileId, FunctionId), range: TextRange| {
                    if Some(target) != function.map(|id| (f, id)) {
                        by_function.entry(target).or_default().push(CallSite {
                            file: f,
                            function,
                            range,
                        });
                    }
                };
                for callee in callees.of(f, function) {
                    add(callee.target, callee.range);
                }
            }
        }
        for sites in by_function.values_mut() {
            sites.sort_by_key(|s| (s.file, s.function, s.range.start()));
            sites.dedup();
        }
        CallSites {
            by_function,
            forwarded,
        }
    }

    /// The calls of `function` of `file` (empty when the project never calls it).
    pub fn of(&self, file: FileId, function: FunctionId) -> &[CallSite] {
        self.by_function
            .get(&(file, function))
            .map_or(&[], Vec::as_slice)
    }
}

/// The calls of project functions of every scope of every file ([`scope_callees`]), in one
/// array: a scope's calls are a slice of it.
#[derive(Debug, Default)]
pub struct CalleeTable {
    callees: Vec<ScopeCallee>,
    /// Where each scope's calls end in `callees`, scopes in file order (module scope first,
    /// then the functions).
    ends: Vec<u32>,
    /// The index in `ends` of each file's module scope.
    first_scope: Vec<u32>,
}

impl CalleeTable {
    /// `per_file[file][scope]`: the module's scope first, then the functions in order.
    pub fn new(per_file: Vec<Vec<Vec<ScopeCallee>>>) -> Self {
        let mut table = CalleeTable::default();
        for scopes in per_file {
            table.first_scope.push(table.ends.len() as u32);
            for callees in scopes {
                table.callees.extend(callees);
                table.ends.push(table.callees.len() as u32);
            }
        }
        table.callees.shrink_to_fit();
        table
    }

    /// The calls of the scope `function` of `file` (`None`: module level).
    pub fn of(&self, file: FileId, function: Option<FunctionId>) -> &[ScopeCallee] {
        let scope =
            self.first_scope[file as usize] as usize + function.map_or(0, |f| f as usize + 1);
        let start = match scope {
            0 => 0,
            _ => self.ends[scope - 1] as usize,
        };
        &self.callees[start..self.ends[scope] as usize]
    }
}

/// A call of a project function or method in a scope: what it runs, where, in which loop.
#[derive(Debug, Clone, Copy)]
pub struct ScopeCallee {
    pub target: (FileId, FunctionId),
    pub range: TextRange,
    pub in_loop: Option<LoopId>,
}

/// The project functions and methods a scope calls or hands on (`train(step)`), resolved:
/// functions through closures and imports, methods through what their receiver is (`self`:
/// the enclosing method's class). A method calling itself is left out. Shared by the call
/// index and the training model, so that both see the same calls.
pub(crate) fn scope_callees(
    index: &ProjectIndex,
    flow: &Flow<'_>,
    file: FileId,
    function: Option<FunctionId>,
    scope: &ScopeFacts,
) -> Vec<ScopeCallee> {
    let facts = index.facts(file);
    let mut out = Vec::new();
    let calls = scope
        .project_calls
        .iter()
        .chain(&scope.flow().passed_functions);
    for call in calls {
        if let Some(target) = resolve_function(index, file, function, &call.callee) {
            out.push(ScopeCallee {
                target,
                range: call.range,
                in_loop: call.in_loop,
            });
        }
    }
    for call in &scope.flow().method_calls {
        let classes: Vec<(FileId, ClassId)> = match &call.receiver {
            None => function
                .and_then(|id| facts.functions[id as usize].class)
                .map(|c| vec![(file, c)])
                .unwrap_or_default(),
            Some(receiver) => flow
                .resolve(file, function, receiver)
                .into_iter()
                .filter_map(|r| match r {
                    Resolved::Class(f, c) => Some((f, c)),
                    Resolved::Api(_) => None,
                })
                .collect(),
        };
        let names = std::slice::from_ref(&call.method);
        for (f, c) in classes {
            if let Some(target) = method_of(index, f, c, names)
                && Some(target) != function.map(|id| (file, id))
            {
                out.push(ScopeCallee {
                    target,
                    range: call.range,
                    in_loop: call.in_loop,
                });
            }
        }
    }
    out
}

/// The project function a callee names: a closure of the enclosing functions first, then the
/// module's and the imports' functions.
fn resolve_function(
    index: &ProjectIndex,
    file: FileId,
    function: Option<FunctionId>,
    callee: &Callee,
) -> Option<(FileId, FunctionId)> {
    let facts = index.facts(file);
    if let Callee::Local(name) = callee {
        let mut enclosing = function;
        // Functions are numbered in the order the walk enters them, so the functions
        // defined inside `id` follow it without a gap: only they are searched (the last
        // definition wins), not every function of the file for every call.
        let inside = |mut f: Option<FunctionId>, id: FunctionId| {
            while let Some(at) = f {
                if at == id {
                    return true;
                }
                f = facts.functions[at as usize].parent;
            }
            false
        };
        while let Some(id) = enclosing {
            let found = facts.functions[id as usize + 1..]
                .iter()
                .enumerate()
                .take_while(|(_, f)| inside(f.parent, id))
                .filter(|(_, f)| f.parent == Some(id) && f.class.is_none() && f.name == *name)
                .last();
            if let Some((offset, _)) = found {
                return Some((file, (id as usize + 1 + offset) as FunctionId));
            }
            enclosing = facts.functions[id as usize].parent;
        }
    }
    match index.resolve_callee(file, callee)? {
        Symbol::Function(f, id) => Some((f, id)),
        _ => None,
    }
}

/// What `reference`, written in `function` of `file`, may be: [`Flow::resolve`], and for a
/// parameter nothing resolves, what the callers that hand it their own parameter receive,
/// up a few calls (`main` builds the model, `train(model)` hands it to `evaluate(model)`).
pub fn resolve_through_callers(
    index: &ProjectIndex,
    file: FileId,
    function: Option<FunctionId>,
    reference: &InstanceRef,
) -> Vec<Resolved> {
    let flow = Flow::new(index);
    let mut out = Vec::new();
    let mut queue = vec![(file, function, reference.clone(), 0u8)];
    let mut seen = 0;
    while let Some((f, function, reference, depth)) = queue.pop() {
        seen += 1;
        if seen > 64 {
            break;
        }
        let found = flow.resolve(f, function, &reference);
        if !found.is_empty() {
            out.extend(found);
            continue;
        }
        let (Some(id), InstanceRef::Param { name, position }) = (function, &reference) else {
            continue;
        };
        if depth >= 3 {
            continue;
        }
        let Some(forwards) = index.call_sites().forwarded.get(&(f, id)) else {
            continue;
        };
        for forward in forwards {
            let lands = match (forward.position, &forward.keyword) {
                (Some(p), _) => *position == Some(p),
                (None, Some(k)) => k == name,
                (None, None) => false,
            };
            if lands {
                queue.push((
                    forward.caller.0,
                    Some(forward.caller.1),
                    forward.param.clone(),
                    depth + 1,
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
