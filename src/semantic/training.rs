//! The training model: which functions update parameters and which loops train, followed
//! through calls across the project.
//!
//! A *training step* updates parameters: `optimizer.step()` after `loss.backward()`,
//! `optimizer.apply_gradients(...)` after a `GradientTape`, `optimizer.minimize(loss)`,
//! `sess.run(train_op)`, `state.apply_gradients(...)` / `optax.apply_updates(...)` after
//! `jax.grad`, Keras `model.train_on_batch(...)`. A function *updates* when it performs a step
//! itself or calls (anywhere in its body) a function that updates: a project function or
//! closure, a method of `self` or of a component it holds (`agent.update()`), a function handed
//! to a launcher in the loop (`strategy.run(train_step)`), through `@tf.function`/`jax.jit`/
//! `partial` wrappers (the builder unwraps them).
//!
//! A *training loop* is a loop whose body performs a step directly, or calls a function that
//! updates parameters with an optimizer it is given (globals, parameters, `self.<attr>`): the
//! `for epoch ...: train_step(x, y)` of a TF2/JAX script, the `for epoch ...: train(epoch)` of a
//! PyTorch script whose `train` steps the module's optimizer. A loop that calls a function
//! which builds its own optimizer (`for seed in seeds: main(seed)`) runs whole trainings one
//! after another: a sweep, not a training loop.
//!
//! Everything that asks "does this loop train?" (where a script trains: at module level, in a
//! Runner; whether a training is seeded; whether a training loop clears its gradients; whether
//! a loop that does not train evaluates; how much one file does) and `dllint map` read this one
//! model.

use rayon::prelude::*;
use ruff_text_size::TextRange;
use rustc_hash::{FxHashMap, FxHashSet};
use thin_vec::ThinVec;

use crate::knowledge::ApiKind;
use crate::semantic::facts::{FileFacts, FunctionId, LoopId, ScopeFacts};
use crate::semantic::index::{FileId, ProjectIndex};
use crate::semantic::reads;

/// How a loop (or a function) comes to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    /// A gradient step written in it (the step's range).
    Step(TextRange),
    /// A call (its range) of a function that updates parameters.
    Call(TextRange, FileId, FunctionId),
}

/// True if a `for` loop walks data batches (`for x, y in val_loader`,
/// `enumerate(tqdm(loader))`), as the knowledge names data iterables; `range(...)` and other
/// counting iterables do not. A loop whose body ends in `break` looks at one batch (a peek for
/// a plot), not at the data set.
pub fn for_loop_over_data(
    evaluation: &crate::knowledge::TrainingEvaluation,
    stmt: &ruff_python_ast::StmtFor,
) -> bool {
    iterates_over_data(evaluation, &stmt.iter)
        && !matches!(stmt.body.last(), Some(ruff_python_ast::Stmt::Break(_)))
}

fn iterates_over_data(
    evaluation: &crate::knowledge::TrainingEvaluation,
    iter: &ruff_python_ast::Expr,
) -> bool {
    use ruff_python_ast::Expr;
    let mut current = iter;
    for _ in 0..4 {
        match current {
            Expr::Name(name) => return evaluation.is_data_name(name.id.as_str()),
            Expr::Attribute(attr) => return evaluation.is_data_name(attr.attr.as_str()),
            Expr::Call(call) => {
                if let Expr::Name(name) = &*call.func
                    && evaluation
                        .index_iterables
                        .iter()
                        .any(|r| r == name.id.as_str())
                {
                    return false;
                }
                if let Expr::Attribute(attr) = &*call.func
                    && evaluation.is_data_name(attr.attr.as_str())
                {
                    return true;
                }
                if let Expr::Name(name) = &*call.func
                    && evaluation.is_data_name(name.id.as_str())
                {
                    return true;
                }
                match call.arguments.args.first() {
                    Some(first) => current = first,
                    None => return false,
                }
            }
            _ => return false,
        }
    }
    false
}

impl Via {
    pub fn range(self) -> TextRange {
        match self {
            Via::Step(range) | Via::Call(range, _, _) => range,
        }
    }
}

/// A loop that trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrainingLoop {
    pub id: LoopId,
    /// The first step or call (in source order) that makes it train.
    pub via: Via,
}

/// A function of the project.
type FunctionKey = (FileId, FunctionId);

/// A call from one scope to a project function, as the model follows it.
#[derive(Debug, Clone, Copy)]
struct Edge {
    range: TextRange,
    in_loop: Option<LoopId>,
    target: (FileId, FunctionId),
}

/// Which functions update parameters and which loops train, for the whole project.
#[derive(Debug, Default)]
pub struct Training {
    /// How the functions that update parameters do it (few functions of a project do: kept
    /// by function, not as a slot per function).
    updates: FxHashMap<FunctionKey, Via>,
    /// The functions that build an optimizer (themselves, or in what they call).
    builds_optimizer: FxHashSet<FunctionKey>,
    /// Per file, per scope (0: the module, `id + 1`: function `id`): the loops that train, by
    /// loop id.
    /// (A `ThinVec` each: most scopes have none, and there is one per scope of the project.)
    loops: Vec<Vec<ThinVec<TrainingLoop>>>,
}

const NO_LOOPS: &[TrainingLoop] = &[];

/// The slot of a scope: the module is 0, function `id` is `id + 1`.
fn slot(function: Option<FunctionId>) -> usize {
    function.map_or(0, |id| id as usize + 1)
}

impl Training {
    pub fn compute(index: &ProjectIndex) -> Training {
        let files = index.len();
        // Outgoing calls of every scope, resolved to project functions.
        let table = index.scope_callees();
        // Each file's own facts, in parallel (in file order).
        let edges: Vec<Vec<Vec<Edge>>> = (0..files as FileId)
            .into_par_iter()
            .map(|f| {
                index
                    .facts(f)
                    .scopes()
                    .map(|(function, _)| scope_edges(table.of(f, function)))
                    .collect()
            })
            .collect();

        // Direct facts.
        let mut updates: Vec<Vec<Option<Via>>> = (0..files as FileId)
            .into_par_iter()
            .map(|f| {
                index
                    .facts(f)
                    .functions
                    .iter()
                    .map(|function| first_update(&function.body).map(Via::Step))
                    .collect()
            })
            .collect();
        let mut builds_optimizer: Vec<Vec<bool>> = (0..files as FileId)
            .into_par_iter()
            .map(|f| {
                index
                    .facts(f)
                    .functions
                    .iter()
                    .map(|function| {
                        function
                            .body
                            .api_calls
                            .iter()
                            .any(|a| a.kind == ApiKind::Optimizer)
                    })
                    .collect()
            })
            .collect();

        // Callers of every function, to propagate both facts backwards.
        let mut callers: FxHashMap<FunctionKey, Vec<(FileId, FunctionId, TextRange)>> =
            FxHashMap::default();
        for (f, per_scope) in edges.iter().enumerate() {
            for (s, scope_edges) in per_scope.iter().enumerate() {
                if s == 0 {
                    continue; // module code is nobody's callee
                }
                for edge in scope_edges {
                    callers.entry(edge.target).or_default().push((
                        f as FileId,
                        (s - 1) as FunctionId,
                        edge.range,
                    ));
                }
            }
        }
        for list in callers.values_mut() {
            list.sort_by_key(|(f, id, range)| (*f, *id, range.start()));
        }
        // Worklists: a function that updates makes every caller update (through that call).
        let mut work: Vec<(FileId, FunctionId)> = Vec::new();
        for (f, list) in updates.iter().enumerate() {
            for (id, via) in list.iter().enumerate() {
                if via.is_some() {
                    work.push((f as FileId, id as FunctionId));
                }
            }
        }
        while let Some(target) = work.pop() {
            let Some(list) = callers.get(&target) else {
                continue;
            };
            for &(f, id, range) in list {
                let slot = &mut updates[f as usize][id as usize];
                if slot.is_none() {
                    *slot = Some(Via::Call(range, target.0, target.1));
                    work.push((f, id));
                }
            }
        }
        let mut work: Vec<(FileId, FunctionId)> = Vec::new();
        for (f, list) in builds_optimizer.iter().enumerate() {
            for (id, builds) in list.iter().enumerate() {
                if *builds {
                    work.push((f as FileId, id as FunctionId));
                }
            }
        }
        while let Some(target) = work.pop() {
            let Some(list) = callers.get(&target) else {
                continue;
            };
            for &(f, id, _) in list {
                let slot = &mut builds_optimizer[f as usize][id as usize];
                if !*slot {
                    *slot = true;
                    work.push((f, id));
                }
            }
        }

        // Loops: a step inside, or a call of a function that updates with an optimizer it is
        // given.
        let loops: Vec<Vec<ThinVec<TrainingLoop>>> = (0..files as FileId)
            .into_par_iter()
            .map(|f| {
                let facts = index.facts(f);
                facts
                    .scopes()
                    .enumerate()
                    .map(|(s, (_, scope))| {
                        let mut causes: Vec<(Option<LoopId>, Via)> = scope
                            .losses()
                            .grad_steps
                            .iter()
                            .filter(|step| step.kind.updates_parameters())
                            .map(|step| (step.in_loop, Via::Step(step.range)))
                            .collect();
                        for edge in &edges[f as usize][s] {
                            let (tf, tid) = edge.target;
                            if edge.in_loop.is_some()
                                && updates[tf as usize][tid as usize].is_some()
                                && !builds_optimizer[tf as usize][tid as usize]
                            {
                                causes.push((edge.in_loop, Via::Call(edge.range, tf, tid)));
                            }
                        }
                        ThinVec::from(training_loops(scope, causes))
                    })
                    .collect()
            })
            .collect();
        let sparse = |list: Vec<Vec<Option<Via>>>| {
            let mut kept = FxHashMap::default();
            for (f, list) in list.into_iter().enumerate() {
                for (id, via) in list.into_iter().enumerate() {
                    if let Some(via) = via {
                        kept.insert((f as FileId, id as FunctionId), via);
                    }
                }
            }
            kept
        };
        let builds_optimizer = builds_optimizer
            .into_iter()
            .enumerate()
            .flat_map(|(f, list)| {
                list.into_iter()
                    .enumerate()
                    .filter(|(_, builds)| *builds)
                    .map(move |(id, _)| (f as FileId, id as FunctionId))
            })
            .collect();
        Training {
            updates: sparse(updates),
            builds_optimizer,
            loops,
        }
    }

    /// Feed what the model says of each file into that file's hasher (`per_file[file]`):
    /// its training loops, the functions that update parameters and that build an optimizer.
    pub(crate) fn hash_per_file<H: std::hash::Hasher>(&self, per_file: &mut [H]) {
        use std::hash::Hash;
        for (f, scopes) in self.loops.iter().enumerate() {
            if let Some(hasher) = per_file.get_mut(f) {
                for (slot, loops) in scopes.iter().enumerate() {
                    if !loops.is_empty() {
                        (slot, loops.as_slice()).hash(hasher);
                    }
                }
            }
        }
        let mut updates: Vec<(&FunctionKey, &Via)> = self.updates.iter().collect();
        updates.sort_unstable_by_key(|(key, _)| **key);
        for ((f, function), via) in updates {
            if let Some(hasher) = per_file.get_mut(*f as usize) {
                (b'u', function, via).hash(hasher);
            }
        }
        let mut builds: Vec<&FunctionKey> = self.builds_optimizer.iter().collect();
        builds.sort_unstable();
        for (f, function) in builds {
            if let Some(hasher) = per_file.get_mut(*f as usize) {
                (b'o', function).hash(hasher);
            }
        }
    }

    /// The loops of a scope (`None`: module level) that train, by loop id.
    pub fn loops(&self, file: FileId, function: Option<FunctionId>) -> &[TrainingLoop] {
        reads::file(file);
        self.loops
            .get(file as usize)
            .and_then(|scopes| scopes.get(slot(function)))
            .map_or(NO_LOOPS, ThinVec::as_slice)
    }

    /// The outermost loops of a scope that train.
    pub fn outermost(
        &self,
        facts: &FileFacts,
        file: FileId,
        function: Option<FunctionId>,
    ) -> Vec<TrainingLoop> {
        let scope = match function {
            Some(id) => &facts.functions[id as usize].body,
            None => &facts.module,
        };
        let all = self.loops(file, function);
        all.iter()
            .copied()
            .filter(|lp| {
                let mut parent = scope.loops[lp.id as usize].parent;
                while let Some(p) = parent {
                    if all.iter().any(|other| other.id == p) {
                        return false;
                    }
                    parent = scope.loops[p as usize].parent;
                }
                true
            })
            .collect()
    }

    /// The scope holds a training loop.
    pub fn trains(&self, file: FileId, function: Option<FunctionId>) -> bool {
        !self.loops(file, function).is_empty()
    }

    /// Whether the loop `id` of a scope trains.
    pub fn loop_trains(&self, file: FileId, function: Option<FunctionId>, id: LoopId) -> bool {
        self.loops(file, function).iter().any(|lp| lp.id == id)
    }

    /// How a function updates parameters (itself, or through a call), if it does.
    pub fn updates(&self, file: FileId, function: FunctionId) -> Option<Via> {
        reads::file(file);
        self.updates.get(&(file, function)).copied()
    }

    /// The function builds an optimizer (itself, or in what it calls): it runs a whole
    /// training, not a step of someone else's.
    pub fn builds_optimizer(&self, file: FileId, function: FunctionId) -> bool {
        reads::file(file);
        self.builds_optimizer.contains(&(file, function))
    }
}

/// The first parameter update written in a scope.
fn first_update(scope: &ScopeFacts) -> Option<TextRange> {
    scope
        .losses()
        .grad_steps
        .iter()
        .filter(|s| s.kind.updates_parameters())
        .map(|s| s.range)
        .min_by_key(|r| r.start())
}

/// Every loop enclosing a cause trains; the first cause (in source order) names how.
fn training_loops(scope: &ScopeFacts, mut causes: Vec<(Option<LoopId>, Via)>) -> Vec<TrainingLoop> {
    causes.sort_by_key(|(_, via)| via.range().start());
    let mut found: Vec<TrainingLoop> = Vec::new();
    for (in_loop, via) in causes {
        let mut current = in_loop;
        while let Some(id) = current {
            if !found.iter().any(|lp| lp.id == id) {
                found.push(TrainingLoop { id, via });
            }
            current = scope.loops.get(id as usize).and_then(|lp| lp.parent);
        }
    }
    found.sort_by_key(|lp| lp.id);
    found
}

/// The calls of one scope that reach project functions.
fn scope_edges(callees: &[crate::semantic::calls::ScopeCallee]) -> Vec<Edge> {
    let mut out: Vec<Edge> = callees
        .iter()
        .map(|c| Edge {
            range: c.range,
            in_loop: c.in_loop,
            target: c.target,
        })
        .collect();
    out.sort_by_key(|e| (e.range.start(), e.target));
    out.dedup_by_key(|e| (e.range, e.target));
    out
}
