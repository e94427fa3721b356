use std::collections::VecDeque;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::knowledge::ApiKind;
use crate::registry::prelude::*;
use crate::semantic::Role;
use crate::semantic::facts::{ClassId, FunctionId, ScopeFacts};
use crate::semantic::flow::{Flow, Resolved};
use crate::semantic::index::{FileId, Symbol};
use crate::semantic::verdict::{ancestry, extends};

declare_rule! {
    /// ## What it does
    /// Finds training entry points that never seed the random number generators. An entry
    /// point is a script: module-level code (including its `if __name__ == "__main__":` block)
    /// that reaches training — a training loop (backward and an optimizer step), a project
    /// Runner, `trainer.fit(...)` on a Lightning `Trainer`, `model.fit(...)` on a Keras model —
    /// directly or through the functions and classes it calls, in any file of the project.
    /// Seeding anywhere on those paths counts: `torch.manual_seed`, `np.random.seed`,
    /// `random.seed`, `tf.random.set_seed`, `keras.utils.set_random_seed`,
    /// `seed_everything`, `transformers.set_seed`, a `jax.random.PRNGKey(seed)`, a library's
    /// or the project's own `set_seed(...)` helper, and trainers that seed themselves
    /// (Hugging Face `Trainer`). Reported once per script, at the statement that starts
    /// training.
    ///
    /// Not reported: library modules (nothing at module level trains), test modules, demos (a
    /// script of at most 150 lines that takes no command-line options or configuration: a
    /// tutorial, a lab, an example, not re-run for results), seeding calls without a seed
    /// (`random.seed()` seeds from the clock and is not counted as seeding), and training in
    /// which nothing random happens — no layer with randomly initialised parameters, no random
    /// call (`torch.randn`, `np.random.*`, random augmentation, a random split or sampler, an
    /// environment), no shuffling (`shuffle=True`, `dataset.shuffle(...)`, a framework `fit`),
    /// no dropout: zero-initialised weights fitted on the whole data set, or an input optimised
    /// through a frozen pretrained network, give the same result on every run.
    ///
    /// Off by default. Whether an unseeded run matters depends on what the script is for,
    /// which the code does not say: on the ecosystem corpus, even with demos and collections
    /// of example scripts left out, five of twelve findings were tutorial, example or
    /// benchmark code (a library author's demo of a technique, a framework's DDP example, a
    /// course project) where the reviewers judged seeding not worth asking for; the rest were
    /// paper and benchmark training scripts, where it is. Command-line options, checkpoint
    /// saving and logging occur in both. Enable it (`extend-select = ["DL508"]`) for a project
    /// whose training runs produce results that must be reproducible.
    ///
    /// ## Why is this bad?
    /// Weight initialisation, data shuffling, dropout and augmentation all draw from the
    /// generators. Unseeded, two runs of the same code and data give different models and
    /// different metrics: a change cannot be told apart from noise, a result cannot be
    /// reproduced, and a bug that shows up once cannot be replayed.
    ///
    /// ## Example
    /// ```python
    /// if __name__ == "__main__":
    ///     model = Net()
    ///     train(model, make_loader(), epochs=10)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// if __name__ == "__main__":
    ///     torch.manual_seed(0)
    ///     np.random.seed(0)
    ///     random.seed(0)
    ///     model = Net()
    ///     train(model, make_loader(), epochs=10)
    /// ```
    ///
    /// ## Notebooks
    /// Skipped. A notebook is not an entry point one re-runs to reproduce a result: its cells are
    /// run one by one, often again and out of order, so a seed set once at the top does not make a
    /// re-run of the training cell reproducible anyway, and its results are kept as saved outputs
    /// next to the code. Seed the scripts that produce your results. Turn it back on by listing the
    /// notebook-ignore rules without DL508 (`notebook-ignore = ["DL102", "DL107", "DL201"]`).
    pub static UNSEEDED_TRAINING = {
        code: "DL508",
        name: "unseeded-training",
        family: Family::Training,
        severity: Severity::Warning,
        notebooks: Notebooks::Skip,
        default_enabled: false,
        fix: FixAvailability::None,
        options: &[],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

/// How far the search follows calls from the script, and how much it reads: a script reaches
/// its training loop in a few calls; libraries behind it are not the script's seeding.
const MAX_DEPTH: u8 = 6;
const MAX_SCOPES: usize = 256;

/// Where training starts: the module-level statement of the script, and the training itself.
struct Training {
    root: TextRange,
    site: (FileId, TextRange),
    what: String,
}

struct Search<'c, 'p> {
    cx: &'c ProjectContext<'p>,
    flow: Flow<'p>,
    visited: FxHashSet<(FileId, Option<FunctionId>)>,
    classes: FxHashSet<(FileId, ClassId)>,
    queue: VecDeque<(FileId, Option<FunctionId>, u8, usize)>,
    roots: Vec<TextRange>,
    /// Each root's index, by range (the module's statements are looked up by their range).
    root_index: FxHashMap<TextRange, usize>,
    /// The first root (in source order) that reaches training.
    training: Option<(usize, Training)>,
    /// Weaker evidence: a Runner is built, but the statement that runs it may come later.
    built_runner: Option<(usize, Training)>,
    seeded: bool,
    /// Something on the paths draws random numbers (see `FlowFacts::draws_random`).
    random: bool,
    files: FxHashSet<FileId>,
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    let path = &cx.project_file().path;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let knowledge = cx.knowledge();
    if knowledge.is_test_module(facts.package.as_deref(), file_name) {
        return;
    }
    // A demo (a short script with no options: a tutorial, a lab) is not re-run for results.
    if cx.is_demo_script() {
        return;
    }
    let module = &facts.module;
    if module.project_calls.is_empty()
        && module.flow().passed_functions.is_empty()
        && module.flow().run_calls.is_empty()
        && !cx.roles.training.trains(cx.file, None)
    {
        return;
    }
    let mut search = Search {
        cx,
        flow: Flow::new(cx.index),
        visited: FxHashSet::default(),
        classes: FxHashSet::default(),
        queue: VecDeque::new(),
        roots: Vec::new(),
        root_index: FxHashMap::default(),
        training: None,
        built_runner: None,
        seeded: false,
        random: false,
        files: FxHashSet::default(),
    };
    search.run();
    // Seeded, or nothing random happens (zero-initialised weights on an unshuffled dataset,
    // an input optimised through a frozen pretrained network): the runs are the same anyway.
    if search.seeded || !search.random {
        return;
    }
    if search.training.is_none() {
        search.training = search.built_runner.take();
    }
    if search.training.is_none() {
        return;
    }
    let calls = suggestions(&search);
    let Some((_, training)) = search.training else {
        return;
    };
    let mut diagnostic = Diagnostic::new(
        &UNSEEDED_TRAINING,
        format!(
            "this script trains ({}) but never seeds the random number generators: \
             initialisation, shuffling, dropout and augmentation differ on every run",
            training.what
        ),
        training.root,
    )
    .with_help(format!(
        "seed every generator the run uses once, before the model and the data are built: \
         {calls} (or a project `set_seed(seed)` helper that does)"
    ));
    let (site_file, site) = training.site;
    if site != training.root {
        diagnostic = if site_file == cx.file {
            diagnostic.with_label(site, "training runs here")
        } else {
            diagnostic.with_file_label(
                Arc::clone(&cx.index.file(site_file).path),
                site,
                "training runs here",
            )
        };
    }
    out.push(diagnostic);
}

/// The seeding calls for the generators of the libraries the script and what it runs import.
fn suggestions(search: &Search<'_, '_>) -> String {
    let knowledge = search.cx.knowledge();
    let mut used: Vec<&str> = Vec::new();
    for suggestion in &knowledge.training.seeding.suggestions {
        let imported = search.files.iter().any(|&f| {
            search.cx.index.facts(f).imports.iter().any(|(_, q)| {
                knowledge.canonical(q).split('.').next() == Some(suggestion.module.as_str())
            })
        });
        if imported {
            used.push(&suggestion.call);
        }
    }
    if used.is_empty() {
        used.extend(
            knowledge
                .training
                .seeding
                .suggestions
                .first()
                .map(|s| s.call.as_str()),
        );
    }
    used.iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Search<'_, '_> {
    fn run(&mut self) {
        let file = self.cx.file;
        let module = &self.cx.facts().module;
        self.files.insert(file);
        self.visited.insert((file, None));
        // The module's own statements, in source order: each one a root.
        let mut roots: Vec<TextRange> = Vec::new();
        for lp in self.cx.training_loops(None) {
            roots.push(module.loops[lp.id as usize].header);
        }
        roots.extend(module.flow().run_calls.iter().map(|c| c.range));
        roots.extend(
            module
                .project_calls
                .iter()
                .chain(&module.flow().passed_functions)
                .map(|c| c.range),
        );
        roots.sort_by_key(|r| (r.start(), r.end()));
        roots.dedup();
        self.root_index = roots.iter().enumerate().map(|(i, r)| (*r, i)).collect();
        self.roots = roots;
        self.scan(file, None, 0, None);
        while let Some((f, function, depth, root)) = self.queue.pop_front() {
            if self.visited.len() > MAX_SCOPES {
                break;
            }
            self.scan(f, function, depth, Some(root));
        }
    }

    /// The root of a module-level statement (every one is a root).
    fn root_of(&self, range: TextRange) -> usize {
        self.root_index.get(&range).copied().unwrap_or(usize::MAX)
    }

    fn found_training(&mut self, root: usize, site: (FileId, TextRange), what: String) {
        self.found(root, site, what, false);
    }

    /// `weak`: building a Runner, which trains only when something runs it; a statement that
    /// does (`agent.train(env)`) is the better place to report.
    fn found(&mut self, root: usize, site: (FileId, TextRange), what: String, weak: bool) {
        if root == usize::MAX {
            return;
        }
        let slot = if weak {
            &mut self.built_runner
        } else {
            &mut self.training
        };
        if slot.as_ref().is_none_or(|(r, _)| root < *r) {
            *slot = Some((
                root,
                Training {
                    root: self.roots[root],
                    site,
                    what,
                },
            ));
        }
    }

    /// One scope: does it seed, does it train, what does it call. `root` is `None` for the
    /// script's module scope (each of its statements is a root of its own).
    fn scan(&mut self, file: FileId, function: Option<FunctionId>, depth: u8, root: Option<usize>) {
        let index = self.cx.index;
        let facts = index.facts(file);
        self.files.insert(file);
        let scope: &ScopeFacts = match function {
            Some(id) => &facts.functions[id as usize].body,
            None => &facts.module,
        };
        let root_at = |s: &Self, range: TextRange| root.unwrap_or_else(|| s.root_of(range));
        if scope.api_calls.iter().any(|a| a.kind == ApiKind::Seed) {
            self.seeded = true;
        }
        if scope.flow().draws_random {
            self.random = true;
        }
        for lp in self.cx.roles.training.outermost(facts, file, function) {
            let header = scope.loops[lp.id as usize].header;
            let what = match function {
                Some(f) => format!("`{}` runs a training loop", facts.qualname(f)),
                None => "a training loop at module level".to_string(),
            };
            self.found_training(root_at(self, header), (file, header), what);
        }
        for run in &scope.flow().run_calls {
            let resolved = self.flow.resolve(file, function, &run.receiver);
            for r in &resolved {
                let verdict = self.run_verdict(file, r, &run.method);
                if verdict.seeds {
                    self.seeded = true;
                }
                if let Some(what) = verdict.trains {
                    // Framework training loops shuffle by default (Keras `fit`, Lightning and
                    // Hugging Face trainers).
                    self.random = true;
                    self.found_training(root_at(self, run.range), (file, run.range), what);
                }
                if let Resolved::Class(f, c) = r {
                    self.enqueue_class(*f, *c, depth, root_at(self, run.range));
                }
            }
        }
        if depth >= MAX_DEPTH {
            return;
        }
        // Functions handed to a launcher run there (`app.run(main)`); a class handed on is
        // not built by that (`Resolver(base=Model)`).
        let passed = scope.flow().passed_functions.iter().filter_map(|call| {
            match index.resolve_callee(file, &call.callee) {
                Some(Symbol::Function(f, id)) => Some((call.range, Symbol::Function(f, id))),
                _ => None,
            }
        });
        let called = scope
            .project_calls
            .iter()
            .filter_map(|call| Some((call.range, index.resolve_callee(file, &call.callee)?)));
        let targets: Vec<(TextRange, Symbol)> = called.chain(passed).collect();
        for (range, target) in targets {
            let root = root_at(self, range);
            match target {
                Symbol::Function(f, id) => self.enqueue(f, Some(id), depth + 1, root),
                Symbol::Class(f, c) => {
                    let role = self.cx.roles.class(f, c);
                    if role.roles.contains(Role::Runner) && !role.callback {
                        let name = &index.facts(f).classes[c as usize].qualname;
                        self.found(
                            root,
                            (file, range),
                            format!("it builds the Runner `{name}`"),
                            true,
                        );
                    }
                    if self.self_seeding(f, c) {
                        self.seeded = true;
                    }
                    self.enqueue_class(f, c, depth, root);
                }
                Symbol::Module(_) => {}
            }
        }
    }

    fn enqueue(&mut self, file: FileId, function: Option<FunctionId>, depth: u8, root: usize) {
        if self.visited.insert((file, function)) {
            self.queue.push_back((file, function, depth, root));
        }
    }

    /// Building (or running) a project class: its methods and its superclasses' may seed or
    /// train.
    fn enqueue_class(&mut self, file: FileId, class: ClassId, depth: u8, root: usize) {
        if !self.classes.insert((file, class)) || depth >= MAX_DEPTH {
            return;
        }
        for (f, c) in ancestry(self.cx.index, file, class) {
            for &method in &self.cx.index.facts(f).classes[c as usize].methods {
                self.enqueue(f, Some(method), depth + 1, root);
            }
        }
    }

    /// A project class extending a framework trainer that seeds itself.
    fn self_seeding(&self, file: FileId, class: ClassId) -> bool {
        extends(self.cx.index, file, class, |k, q| {
            k.training.seeding.self_seeding.contains(q)
        })
    }

    /// What calling `method` on `receiver` does.
    fn run_verdict(&self, file: FileId, receiver: &Resolved, method: &str) -> RunVerdict {
        let index = self.cx.index;
        let knowledge = index.knowledge(file);
        let seeding = &knowledge.training.seeding;
        let fits = seeding.keras_fit_methods.iter().any(|m| m == method);
        match receiver {
            Resolved::Api(q) => {
                if seeding.trainers.contains(q) {
                    return RunVerdict {
                        trains: Some(format!("`{method}` on a `{q}`")),
                        seeds: seeding.self_seeding.contains(q),
                    };
                }
                RunVerdict {
                    trains: (fits && knowledge.is_keras_model_or_layer(q))
                        .then(|| format!("`{method}` on a Keras model")),
                    seeds: false,
                }
            }
            Resolved::Class(f, c) => {
                let role = self.cx.roles.class(*f, *c);
                let name = &index.facts(*f).classes[*c as usize].qualname;
                let keras_model = fits
                    && role.roles.contains(Role::Model)
                    && extends(index, *f, *c, |k, q| k.is_keras_model_or_layer(q));
                let trainer = extends(index, *f, *c, |k, q| {
                    k.training.seeding.trainers.contains(q)
                });
                let runner = role.roles.contains(Role::Runner) && !role.callback;
                RunVerdict {
                    trains: (keras_model || trainer || runner)
                        .then(|| format!("`{method}` on `{name}`")),
                    seeds: trainer && self.self_seeding(*f, *c),
                }
            }
        }
    }
}

struct RunVerdict {
    trains: Option<String>,
    seeds: bool,
}
