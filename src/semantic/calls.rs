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

use crate::semantic::facts::{Callee, ClassId, FunctionId, InstanceRef, LoopId, ScopeFacts};
use crate::semantic::flow::{Flow, Resolved, method_of};
use crate::semantic::index::{FileId, ProjectIndex, Symbol};
use crate::semantic::reads::{self, Reads};

/// One call of a project function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallSite {
    pub file: FileId,
    /// The calling scope (`None`: module level).
    pub function: Option<FunctionId>,
    /// The call.
    pub range: TextRange,
}

/// A parameter of one function handed on to another function's parameter: the caller, and
/// which of its [`InstanceArg`](crate::semantic::facts::InstanceArg)s (where the parameter
/// lands in the callee, and which of the caller's parameters it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Forward {
    pub caller: (FileId, FunctionId),
    pub arg: u32,
}

/// The call sites of every project function that the project calls: indexes into the
/// [`CalleeTable`] (which already holds each call's scope and range), grouped by the function
/// called, rather than a copy of each call per function.
#[derive(Debug, Default)]
pub struct CallSites {
    /// Per called function, in order, with where its sites start in `sites`.
    targets: Vec<((FileId, FunctionId), u32)>,
    /// Indexes into the callee table, a function's sites in the table's order (file, scope).
    sites: Vec<u32>,
    /// Parameters handed on, by the function they are handed to (`forwarded_to`, the same
    /// length), in file order.
    forwarded: Vec<Forward>,
    forwarded_to: Vec<(FileId, FunctionId)>,
}

/// The calls of one project function ([`CallSites::of`]).
#[derive(Clone, Copy)]
pub struct SitesOf<'a> {
    table: &'a CalleeTable,
    sites: &'a [u32],
}

impl<'a> SitesOf<'a> {
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = CallSite> + 'a {
        let table = self.table;
        self.sites.iter().map(move |&i| table.site(i))
    }
}

impl CallSites {
    pub fn compute(index: &ProjectIndex) -> Self {
        let callees = index.scope_callees();
        let mut forwarded: Vec<((FileId, FunctionId), Forward)> = Vec::new();
        let mut pairs: Vec<((FileId, FunctionId), u32)> = Vec::new();
        for f in index.file_ids() {
            let facts = index.facts(f);
            for (function, scope) in facts.scopes() {
                if let Some(id) = function {
                    for (k, arg) in scope.flow().instance_args.iter().enumerate() {
                        if matches!(arg.instance, InstanceRef::Param { .. })
                            && let Some(Symbol::Function(tf, tid)) =
                                index.resolve_callee(f, &arg.callee)
                        {
                            forwarded.push((
                                (tf, tid),
                                Forward {
                                    caller: (f, id),
                                    arg: k as u32,
                                },
                            ));
                        }
                    }
                }
                let (start, calls) = callees.indexed(f, function);
                for (i, callee) in calls.iter().enumerate() {
                    if Some(callee.target) != function.map(|id| (f, id)) {
                        pairs.push((callee.target, start + i as u32));
                    }
                }
            }
        }
        // By function called, then in the table's order (file, then scope); a call listed
        // twice in a row is kept once. Who asks about the sites asks whether all or any of
        // them do something: neither their order within a scope nor a repeat changes that.
        pairs.sort_unstable();
        pairs.dedup_by(|b, a| {
            a.0 == b.0
                && callees.callees[a.1 as usize].range == callees.callees[b.1 as usize].range
                && callees.site(a.1) == callees.site(b.1)
        });
        let mut targets: Vec<((FileId, FunctionId), u32)> = Vec::new();
        let mut sites = Vec::with_capacity(pairs.len());
        for (target, i) in pairs {
            if targets.last().is_none_or(|last| last.0 != target) {
                targets.push((target, sites.len() as u32));
            }
            sites.push(i);
        }
        forwarded.sort_by_key(|&(target, _)| target);
        let (forwarded_to, forwarded) = forwarded.into_iter().unzip();
        CallSites {
            targets,
            sites,
            forwarded,
            forwarded_to,
        }
    }

    /// The parameters handed on to `function` of `file`, in file order.
    pub fn forwarded_to(&self, file: FileId, function: FunctionId) -> &[Forward] {
        let first = self
            .forwarded_to
            .partition_point(|&target| target < (file, function));
        let end = first
            + self.forwarded_to[first..].partition_point(|&target| target == (file, function));
        &self.forwarded[first..end]
    }

    /// The calls of `function` of `file` (empty when the project never calls it), read from
    /// `table` (the index's [`CalleeTable`], which these sites index).
    pub fn of<'a>(
        &'a self,
        table: &'a CalleeTable,
        file: FileId,
        function: FunctionId,
    ) -> SitesOf<'a> {
        let sites = match self
            .targets
            .binary_search_by_key(&(file, function), |t| t.0)
        {
            Ok(k) => {
                let start = self.targets[k].1 as usize;
                let end = self
                    .targets
                    .get(k + 1)
                    .map_or(self.sites.len(), |next| next.1 as usize);
                &self.sites[start..end]
            }
            Err(_) => &[],
        };
        SitesOf { table, sites }
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
    /// Per file, what resolving its calls read: charged to whoever reads them.
    reads: Vec<Reads>,
}

impl CalleeTable {
    /// `per_file[file][scope]`: the module's scope first, then the functions in order.
    pub fn new(per_file: Vec<(Vec<Vec<ScopeCallee>>, Reads)>) -> Self {
        let mut table = CalleeTable::default();
        for (scopes, reads) in per_file {
            table.reads.push(reads);
            table.first_scope.push(table.ends.len() as u32);
            for callees in scopes {
                table.callees.extend(callees);
                table.ends.push(table.callees.len() as u32);
            }
        }
        table.callees.shrink_to_fit();
        table
    }

    /// The calls of every scope of `file` (module scope first) and what resolving them read,
    /// as [`CalleeTable::new`] takes them: for a later run to reuse (see
    /// `ProjectIndex::reuse_callees`). Reads nothing.
    pub fn of_file(&self, file: FileId) -> (Vec<Vec<ScopeCallee>>, &Reads) {
        let first = self.first_scope[file as usize] as usize;
        let end = self
            .first_scope
            .get(file as usize + 1)
            .map_or(self.ends.len(), |&next| next as usize);
        let scopes = (first..end)
            .map(|scope| {
                let start = if scope == 0 { 0 } else { self.ends[scope - 1] };
                self.callees[start as usize..self.ends[scope] as usize].to_vec()
            })
            .collect();
        (scopes, &self.reads[file as usize])
    }

    /// The calls of the scope `function` of `file` (`None`: module level).
    pub fn of(&self, file: FileId, function: Option<FunctionId>) -> &[ScopeCallee] {
        if let Some(reads) = self.reads.get(file as usize) {
            reads::merge(reads);
        }
        self.indexed(file, function).1
    }

    /// [`CalleeTable::of`], with the index in the table of the first call.
    fn indexed(&self, file: FileId, function: Option<FunctionId>) -> (u32, &[ScopeCallee]) {
        let scope =
            self.first_scope[file as usize] as usize + function.map_or(0, |f| f as usize + 1);
        let start = match scope {
            0 => 0,
            _ => self.ends[scope - 1],
        };
        (
            start,
            &self.callees[start as usize..self.ends[scope] as usize],
        )
    }

    /// The call at index `i` of the table, with its scope.
    fn site(&self, i: u32) -> CallSite {
        // The scope whose calls end after `i`, and the file whose first scope is at or before it.
        let scope = self.ends.partition_point(|&end| end <= i) as u32;
        let file = self.first_scope.partition_point(|&first| first <= scope) - 1;
        let local = scope - self.first_scope[file];
        CallSite {
            file: file as FileId,
            function: local.checked_sub(1),
            range: self.callees[i as usize].range,
        }
    }
}

/// A call of a project function or method in a scope: what it runs, where, in which loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    for call in scope.method_calls() {
        let classes: Vec<(FileId, ClassId)> = match call.receiver {
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
        for forward in index.forwarded_to(f, id) {
            let (cf, cid) = forward.caller;
            let arg = &index.facts(cf).functions[cid as usize]
                .body
                .flow()
                .instance_args[forward.arg as usize];
            let lands = match (arg.position, &arg.keyword) {
                (Some(p), _) => *position == Some(p),
                (None, Some(k)) => k == name,
                (None, None) => false,
            };
            if lands {
                queue.push((cf, Some(cid), arg.instance.clone(), depth + 1));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
