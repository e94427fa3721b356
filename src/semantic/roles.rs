//! MODLR roles for every class, function and module of the project, each with the evidence
//! that decided it (`dllint map --explain` prints it). Computed once, after the index is built.

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use thin_vec::ThinVec;

use crate::knowledge::{ApiKind, Framework};
use crate::semantic::facts::{Callee, ClassId, FunctionId, GradKind, Role};
use crate::semantic::index::{FileId, ProjectIndex, Symbol};
use crate::semantic::reads;
use crate::semantic::training::Training;

/// A small set of roles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RoleSet(u8);

impl RoleSet {
    fn bit(role: Role) -> u8 {
        1 << (role as u8)
    }
    pub fn insert(&mut self, role: Role) {
        self.0 |= Self::bit(role);
    }
    pub fn remove(&mut self, role: Role) {
        self.0 &= !Self::bit(role);
    }
    pub fn contains(&self, role: Role) -> bool {
        self.0 & Self::bit(role) != 0
    }
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        [
            Role::Model,
            Role::Optimizer,
            Role::Dataset,
            Role::Loss,
            Role::Runner,
            Role::Task,
        ]
        .into_iter()
        .filter(|r| self.contains(*r))
    }
}

/// The roles of one class and why.
#[derive(Debug, Clone, Default, Hash)]
pub struct ClassRole {
    pub roles: RoleSet,
    pub evidence: ThinVec<crate::semantic::facts::Name>,
    /// The framework whose base class this class (transitively) extends.
    pub framework: Option<usize>,
    /// The project superclass that made this class a Model, when it was not this class itself.
    pub model_ancestor: Option<(FileId, ClassId)>,
    /// Builds network structure itself (layers, sub-models).
    pub builds_layers: bool,
    /// A Runner only as a callback (hooks into someone else's training loop).
    pub callback: bool,
}

/// The roles of one function and why.
#[derive(Debug, Clone, Default, Hash)]
pub struct FunctionRole {
    pub roles: RoleSet,
    /// (A `ThinVec`: there is one per function of the project, most with no role.)
    pub evidence: ThinVec<crate::semantic::facts::Name>,
    /// Returns a nested loss function (GAN code: `def get_loss_fn(): def loss_fn(...)`).
    pub loss_factory: bool,
}

pub struct Roles {
    classes: Vec<Vec<ClassRole>>,
    functions: Vec<Vec<FunctionRole>>,
    modules: Vec<RoleSet>,
    /// Which functions update parameters and which loops train, across the project.
    pub training: Training,
    /// Per file: a training script of a collection of independent experiments (see
    /// [`Roles::in_collection`]).
    collection: Vec<bool>,
}

impl Roles {
    pub fn compute(index: &ProjectIndex) -> Roles {
        let training = Training::compute(index);
        let mut builder = Builder {
            index,
            classes: index
                .all_files()
                .iter()
                .map(|f| vec![None; f.facts.classes.len()])
                .collect(),
            in_progress: FxHashSet::default(),
            locals: index
                .file_ids()
                .into_par_iter()
                .map(|f| {
                    let knowledge = index.knowledge(f);
                    let in_loss_module = knowledge.is_in_loss_module(&index.file(f).path);
                    (0..index.facts(f).classes.len() as ClassId)
                        .map(|c| local_class(index, &training, f, c, in_loss_module))
                        .collect()
                })
                .collect(),
        };
        // The classes' roles follow their bases one class after another: the bases are
        // resolved first, in parallel.
        index.prepare_class_bases();
        for (f, file) in index.all_files().iter().enumerate() {
            for c in 0..file.facts.classes.len() {
                builder.class_role(f as FileId, c as ClassId);
            }
        }
        let classes: Vec<Vec<ClassRole>> = builder
            .classes
            .into_iter()
            .map(|file| file.into_iter().map(Option::unwrap_or_default).collect())
            .collect();

        // Functions handed to `jax.grad` & co. anywhere in the project are losses.
        let mut grad_transformed: FxHashSet<(FileId, FunctionId)> = FxHashSet::default();
        for (f, file) in index.all_files().iter().enumerate() {
            let f = f as FileId;
            let scopes = std::iter::once(&file.facts.module)
                .chain(file.facts.functions.iter().map(|x| &x.body));
            for scope in scopes {
                for callee in &scope.losses().grad_transformed {
                    let symbol = match callee {
                        Callee::Local(name) | Callee::Variable(name) => file
                            .facts
                            .functions
                            .iter()
                            .enumerate()
                            .rev()
                            .find(|(_, x)| x.name == *name)
                            .map(|(i, _)| Symbol::Function(f, i as FunctionId)),
                        other => index.resolve_callee(f, other),
                    };
                    if let Some(Symbol::Function(ff, id)) = symbol {
                        grad_transformed.insert((ff, id));
                    }
                }
            }
        }

        // Function roles are independent per file once the differentiated functions are known.
        let functions: Vec<Vec<FunctionRole>> = index
            .all_files()
            .par_iter()
            .enumerate()
            .map(|(f, file)| {
                let knowledge = &file.scope.knowledge;
                let mut roles: Vec<FunctionRole> = Vec::with_capacity(file.facts.functions.len());
                for (id, function) in file.facts.functions.iter().enumerate() {
                    let mut role = FunctionRole::default();
                    let body = &function.body;
                    if grad_transformed.contains(&(f as FileId, id as FunctionId)) {
                        role.roles.insert(Role::Loss);
                        role.evidence
                            .push("differentiated with jax.grad / value_and_grad".into());
                    }
                    if training.trains(f as FileId, Some(id as FunctionId)) {
                        role.roles.insert(Role::Runner);
                        role.evidence.push(
                            "holds a training loop (a loop that steps an optimizer, itself or \
                             through what it calls)"
                                .into(),
                        );
                    } else if body
                        .losses()
                        .grad_steps
                        .iter()
                        .any(|s| s.kind.computes_gradients())
                        && body
                            .losses()
                            .grad_steps
                            .iter()
                            .any(|s| s.kind.updates_parameters() || s.kind == GradKind::Minimize)
                    {
                        role.roles.insert(Role::Task);
                        role.evidence.push(
                            "computes gradients and updates parameters (a training step)".into(),
                        );
                    }
                    // The name is tested last: most functions compute no loss.
                    if !role.roles.contains(Role::Runner)
                        && (body.has_evidence()
                            || !body.losses().returned.is_empty()
                            || !body.losses().differentiated.is_empty())
                        && knowledge.is_loss_function_name(&function.name)
                    {
                        role.roles.insert(Role::Loss);
                        role.evidence
                            .push(format!("named `{}` and computes a loss", function.name).into());
                    }
                    let builds_data = function
                        .returns_apis
                        .iter()
                        .any(|k| matches!(k, ApiKind::DataPipeline | ApiKind::Transform));
                    let yields_data = function.is_generator
                        && body.api_calls.iter().any(|a| {
                            matches!(a.kind, ApiKind::DataLoading | ApiKind::DataPipeline)
                        });
                    // `def load_cora(path): ... np.genfromtxt(...) ... return features, labels`:
                    // a module-level function that reads data files and hands back what it
                    // prepared (not a Runner that loads a batch per step).
                    let prepares_data = function.class.is_none()
                        && function.parent.is_none()
                        && !role.roles.contains(Role::Runner)
                        && function.returns_value
                        && body.losses().grad_steps.is_empty()
                        && knowledge.is_data_function_name(&function.name)
                        && body
                            .api_calls
                            .iter()
                            .any(|a| a.kind == ApiKind::DataLoading);
                    if builds_data || yields_data || prepares_data {
                        role.roles.insert(Role::Dataset);
                        role.evidence.push(if builds_data {
                            "returns a data pipeline (DataLoader, tf.data, transforms)".into()
                        } else if yields_data {
                            "a generator that loads and yields data".into()
                        } else {
                            "reads data files and returns what it prepared".into()
                        });
                    }
                    roles.push(role);
                }
                // Factories returning a nested loss function.
                for id in 0..roles.len() {
                    if let Some(inner) = file.facts.functions[id].returns_nested {
                        let inner_is_loss = grad_transformed.contains(&(f as FileId, inner))
                            || knowledge.is_loss_callee(&file.facts.functions[inner as usize].name)
                            || file.facts.functions[inner as usize].body.has_evidence()
                                && knowledge.is_loss_callee(&file.facts.functions[id].name);
                        if inner_is_loss {
                            if !roles[inner as usize].roles.contains(Role::Loss) {
                                roles[inner as usize].roles.insert(Role::Loss);
                                roles[inner as usize]
                                    .evidence
                                    .push("returned by a loss factory".into());
                            }
                            roles[id].loss_factory = true;
                            roles[id]
                                .evidence
                                .push("returns a nested loss function (a loss factory)".into());
                        }
                    }
                }
                roles
            })
            .collect();

        let modules = index
            .all_files()
            .iter()
            .enumerate()
            .map(|(f, _)| {
                let mut set = RoleSet::default();
                if training.trains(f as FileId, None) {
                    set.insert(Role::Runner);
                }
                set
            })
            .collect();
        let mut roles = Roles {
            classes,
            functions,
            modules,
            training,
            collection: Vec::new(),
        };
        roles.collection = collection(index, &roles);
        roles
    }

    /// The file is an independent training script of a *collection*: a project with at least
    /// [`COLLECTION_SCRIPTS`] training scripts that share no module defining a component (a
    /// Model, Loss or Dataset) with another — one-file implementations of papers, single-file
    /// algorithms, examples, a folder of scratch experiments. A script that shares components
    /// with another is project code. Each script brings its own model, loss and loop on
    /// purpose; the notebook policy applies to it.
    /// Per file, a fingerprint of everything the roles say about it (its classes, functions
    /// and module, whether it is a collection script, its training loops and steps): what a
    /// reader of the file's roles ([`reads`]) depends on, beyond the file itself.
    pub fn fingerprints(&self) -> Vec<u64> {
        use std::hash::{Hash, Hasher};
        let mut hashers: Vec<xxhash_rust::xxh3::Xxh3> = (0..self.modules.len())
            .map(|_| xxhash_rust::xxh3::Xxh3::new())
            .collect();
        for (f, hasher) in hashers.iter_mut().enumerate() {
            self.classes[f].hash(hasher);
            self.functions[f].hash(hasher);
            self.modules[f].hash(hasher);
            self.collection.get(f).hash(hasher);
        }
        self.training.hash_per_file(&mut hashers);
        hashers.iter().map(Hasher::finish).collect()
    }

    pub fn in_collection(&self, file: FileId) -> bool {
        reads::file(file);
        self.collection.get(file as usize).copied().unwrap_or(false)
    }

    pub fn class(&self, file: FileId, class: ClassId) -> &ClassRole {
        reads::file(file);
        &self.classes[file as usize][class as usize]
    }

    pub fn function(&self, file: FileId, function: FunctionId) -> &FunctionRole {
        reads::file(file);
        &self.functions[file as usize][function as usize]
    }

    pub fn module(&self, file: FileId) -> RoleSet {
        reads::file(file);
        self.modules[file as usize]
    }

    pub fn framework<'k>(
        &self,
        index: &'k ProjectIndex,
        file: FileId,
        class: ClassId,
    ) -> Option<&'k Framework> {
        let role = self.class(file, class);
        role.framework.map(|i| &index.knowledge(file).frameworks[i])
    }
}

/// The fewest training scripts that make a collection of independent experiments.
pub const COLLECTION_SCRIPTS: usize = 4;

/// Which files are training scripts of a collection (see [`Roles::in_collection`]).
fn collection(index: &ProjectIndex, roles: &Roles) -> Vec<bool> {
    let files = index.len();
    let mut out = vec![false; files];
    let defines_component = |f: FileId| {
        let facts = index.facts(f);
        (0..facts.classes.len() as ClassId).any(|c| {
            let set = roles.class(f, c).roles;
            set.contains(Role::Model) || set.contains(Role::Loss) || set.contains(Role::Dataset)
        }) || (0..facts.functions.len() as FunctionId).any(|id| {
            let set = roles.function(f, id).roles;
            set.contains(Role::Loss) || set.contains(Role::Dataset)
        })
    };
    // Training scripts (linted, with an entry point, training somewhere in the file) and the
    // component modules each one imports.
    let mut scripts: Vec<(FileId, Vec<FileId>)> = Vec::new();
    for f in 0..files as FileId {
        let file = index.file(f);
        let facts = &file.facts;
        // Teaching code (an exercise that imports the project's model to show it) gets the
        // notebook policy already, and sharing a module with it does not make a script project
        // code.
        if !file.linted
            || facts.cell_script
            || crate::source::is_notebook(&file.absolute)
            || file.teaching
        {
            continue;
        }
        let module = &facts.module;
        let entry = facts.main_guard.is_some()
            || roles.training.trains(f, None)
            || !module.flow().run_calls.is_empty();
        let trains = roles.training.trains(f, None)
            || (0..facts.functions.len() as FunctionId)
                .any(|id| roles.training.trains(f, Some(id)))
            || !module.flow().run_calls.is_empty();
        if !entry || !trains {
            continue;
        }
        let mut imported: Vec<FileId> = facts
            .imports
            .iter()
            .filter_map(
                |(_, qualified)| match index.resolve_qualified(f, qualified)? {
                    Symbol::Module(m) => Some(m),
                    Symbol::Class(m, _) | Symbol::Function(m, _) => Some(m),
                },
            )
            .filter(|&m| m != f && defines_component(m))
            .collect();
        imported.sort_unstable();
        imported.dedup();
        scripts.push((f, imported));
    }
    if scripts.len() < COLLECTION_SCRIPTS {
        return out;
    }
    let mut users: FxHashMap<FileId, usize> = FxHashMap::default();
    for (_, imported) in &scripts {
        for m in imported {
            *users.entry(*m).or_default() += 1;
        }
    }
    // Independent: the script shares no component module with another training script. A
    // project's scripts share its components; in a collection, most share nothing (a few may
    // share a helper of their own series).
    let independent: Vec<FileId> = scripts
        .iter()
        .filter(|(_, imported)| imported.iter().all(|m| users[m] < 2))
        .map(|(f, _)| *f)
        .collect();
    if independent.len() < COLLECTION_SCRIPTS {
        return out;
    }
    // The independent ones: a script that shares the project's components (a research
    // project's `train.py` next to a folder of scratch experiments) is the project's.
    for f in independent {
        out[f as usize] = true;
    }
    out
}

struct Builder<'i> {
    index: &'i ProjectIndex,
    classes: Vec<Vec<Option<ClassRole>>>,
    in_progress: FxHashSet<(FileId, ClassId)>,
    locals: Vec<Vec<Local>>,
}

/// What a class's own code says about its role (no other class needed): computed for every
/// class in parallel before roles are combined along the class hierarchy.
#[derive(Debug, Clone, Default)]
struct Local {
    /// Layers built in a structural method (`__init__`, `setup`, `forward`, ...).
    layer_calls: bool,
    /// An attribute built from a layer API (`self.fc = nn.Linear(...)`).
    layer_attributes: bool,
    has_forward: bool,
    /// Creates TF1 graph inputs (`tf.placeholder`) in a structural method: a graph model,
    /// which has no forward method (the graph is the forward pass).
    builds_graph: bool,
    /// Some method builds network layers itself or through a project helper that does
    /// (`conv2d(x, 64)` wrapping `tf.get_variable`): TF1 graph models build their networks in
    /// methods such as `discriminator`/`generator`, not in `__init__`. Only computed for a
    /// class that [`Local::builds_graph`] (false otherwise).
    graph_layers: bool,
    /// Keeps a model it is given (`self.model = model`) and a loss (`self.criterion = ...`):
    /// a wrapper that trains someone else's model.
    wraps_model: bool,
    trains: bool,
    loss_named: bool,
    computes_loss_in_loss_module: bool,
    computes_loss_from_targets: bool,
    loads_data_per_item: bool,
    /// An augmentation pipeline: `__call__` applies transforms the class builds.
    augments: bool,
    steps_like_optimizer: bool,
    /// The class is itself a framework base (when linting the framework).
    own_framework: Option<usize>,
}

fn local_class(
    index: &ProjectIndex,
    training: &Training,
    file: FileId,
    class: ClassId,
    in_loss_module: bool,
) -> Local {
    let facts = index.facts(file);
    let knowledge = index.knowledge(file);
    let c = &facts.classes[class as usize];
    let methods: Vec<&crate::semantic::facts::FunctionFacts> = c
        .methods
        .iter()
        .map(|&m| &facts.functions[m as usize])
        .collect();
    let structural = |name: &str| {
        knowledge.is_forward_method(name)
            || matches!(name, "__init__" | "setup" | "_build_model" | "create_model")
    };
    let method_named = |name: &str| methods.iter().any(|m| m.name == name);
    let computes = |needs_targets: bool| {
        methods
            .iter()
            .filter(|m| knowledge.is_forward_method(&m.name))
            .any(|m| {
                let has_loss = m.body.evidence().any(|e| match &e.kind {
                    crate::semantic::facts::Evidence::LossApiCall
                    | crate::semantic::facts::Evidence::NamedAssign => true,
                    crate::semantic::facts::Evidence::ProjectCall(_)
                    | crate::semantic::facts::Evidence::OtherCall(_) => m
                        .body
                        .evidence_callee(&e.kind)
                        .is_some_and(|callee| knowledge.is_loss_callee(callee.name())),
                    crate::semantic::facts::Evidence::AddLoss => false,
                });
                has_loss && (!needs_targets || !m.target_params.is_empty())
            })
    };
    let wraps_optimizer = c.attributes.iter().any(|a| {
        matches!(&a.ctor, Callee::Qualified(q) if knowledge.classify_call(&knowledge.canonical(q)) == Some(ApiKind::Optimizer))
    }) || c.held.iter().any(|h| knowledge.is_optimizer_variable(&h.param));
    let own_framework = if knowledge.is_framework_base_name(&c.name) {
        module_name(index, file).and_then(|module| {
            let written = format!("{module}.{}", c.name);
            let own = knowledge.canonical(&written);
            knowledge
                .frameworks
                .iter()
                .position(|f| f.bases.contains(&own))
        })
    } else {
        None
    };
    let builds_graph = methods
        .iter()
        .filter(|m| structural(&m.name) || m.name.starts_with("build"))
        .any(|m| {
            m.body
                .api_calls
                .iter()
                .any(|a| a.kind == ApiKind::GraphInput)
        });
    Local {
        layer_calls: methods
            .iter()
            .filter(|m| structural(&m.name))
            .any(|m| m.body.api_calls.iter().any(|a| a.kind == ApiKind::Layer)),
        layer_attributes: c.attributes.iter().any(|attr| {
            matches!(&attr.ctor, Callee::Qualified(q) if knowledge.classify_call(&knowledge.canonical(q)) == Some(ApiKind::Layer))
        }),
        has_forward: methods.iter().any(|m| knowledge.is_forward_method(&m.name)),
        wraps_model: c
            .held
            .iter()
            .any(|h| knowledge.is_model_variable(&h.param))
            && (c.held.iter().any(|h| knowledge.is_loss_attribute(&h.attr))
                || c.attributes.iter().any(|a| knowledge.is_loss_attribute(&a.name))),
        builds_graph,
        // Only a graph model's layers are asked for: resolving every project call of every
        // method of every class was most of this function's time.
        graph_layers: builds_graph && methods.iter().any(|m| {
            m.body.api_calls.iter().any(|a| a.kind == ApiKind::Layer)
                || m.body.project_calls.iter().any(|call| {
                    matches!(
                        index.resolve_callee(file, &call.callee),
                        Some(Symbol::Function(f, id)) if index.facts(f).functions[id as usize]
                            .body
                            .api_calls
                            .iter()
                            .any(|a| a.kind == ApiKind::Layer)
                    )
                })
        }),
        trains: c.methods.iter().any(|&m| training.trains(file, Some(m))),
        // The name alone makes a Loss only of something that computes: a bare subclass, or one
        // with a call or a loss method. `FlavaLosses(ModelOutput)`, whose only method is
        // `all_none`, is a container of losses; `TestCompileLoss` is a test case.
        loss_named: knowledge.is_loss_class_name(&c.name)
            && (c.methods.is_empty()
                || methods.iter().any(|m| {
                    knowledge.is_forward_method(&m.name) || knowledge.is_loss_callee(&m.name)
                })),
        computes_loss_in_loss_module: in_loss_module && computes(false),
        computes_loss_from_targets: computes(true),
        loads_data_per_item: (method_named("__getitem__") || method_named("__iter__"))
            && methods.iter().flat_map(|m| &m.body.api_calls).any(|a| {
                matches!(a.kind, ApiKind::DataLoading | ApiKind::DataPipeline | ApiKind::Transform)
            }),
        // `class DataAugmentation: __init__ builds transforms.Compose([...]); __call__(image)`:
        // an augmentation pipeline is part of the Dataset role.
        augments: method_named("__call__")
            && !methods.iter().any(|m| knowledge.is_forward_method(&m.name) && m.name != "__call__")
            && (c.attributes.iter().any(|a| {
                matches!(&a.ctor, Callee::Qualified(q) if matches!(
                    knowledge.classify_call(&knowledge.canonical(q)),
                    Some(ApiKind::Transform | ApiKind::Augmentation)
                ))
            }) || methods
                .iter()
                .filter(|m| m.name == "__call__")
                .flat_map(|m| &m.body.api_calls)
                .filter(|a| matches!(a.kind, ApiKind::Transform | ApiKind::Augmentation))
                .count()
                >= 2),
        steps_like_optimizer: method_named("step") && (method_named("zero_grad") || wraps_optimizer),
        own_framework,
    }
}

impl Builder<'_> {
    fn class_role(&mut self, file: FileId, class: ClassId) -> ClassRole {
        if let Some(done) = &self.classes[file as usize][class as usize] {
            return done.clone();
        }
        if !self.in_progress.insert((file, class)) {
            return ClassRole::default(); // inheritance cycle
        }
        let index = self.index;
        let facts = index.facts(file);
        let knowledge = index.knowledge(file);
        let c = &facts.classes[class as usize];
        let mut role = ClassRole::default();
        let mut inherited = RoleSet::default();
        let mut inherited_layers = false;

        // The framework's own base class (when linting the framework itself).
        role.framework = self.locals[file as usize][class as usize].own_framework;
        let resolved = index.resolved_bases(file, class);
        for (i, base) in c.bases.iter().enumerate() {
            // The base as written, resolved through the imports (`lightning.LightningModule`).
            let written = match base {
                Callee::Qualified(q) => Some(q.to_string()),
                Callee::Local(name) => facts
                    .import_target(name.split('.').next().unwrap_or(name))
                    .map(|target| match name.split_once('.') {
                        Some((_, rest)) => format!("{target}.{rest}"),
                        None => target.to_string(),
                    }),
                _ => None,
            };
            let canonical = written
                .as_deref()
                .map(|w| knowledge.canonical(w).into_owned());
            if role.framework.is_none()
                && let Some(canonical) = &canonical
            {
                role.framework = knowledge
                    .frameworks
                    .iter()
                    .position(|f| f.bases.contains(canonical));
            }
            // A framework base is known by name first: when linting the framework itself
            // (`keras.layers.Layer` inside keras), its own source says less than the knowledge.
            let framework_role = canonical.as_deref().and_then(|c| knowledge.base_role(c));
            match resolved.get(i).copied().flatten() {
                Some((bf, bc)) if (bf, bc) != (file, class) && framework_role.is_none() => {
                    let base_role = self.class_role(bf, bc);
                    let base_name = &index.facts(bf).classes[bc as usize].name;
                    for r in base_role.roles.iter() {
                        inherited.insert(r);
                        role.evidence.push(
                            format!(
                                "{} by inheritance: subclass of `{base_name}` in {}",
                                r.as_str(),
                                index.file(bf).path.display()
                            )
                            .into(),
                        );
                    }
                    role.framework = role.framework.or(base_role.framework);
                    role.callback |= base_role.callback;
                    inherited_layers |= base_role.builds_layers;
                    if base_role.roles.contains(Role::Model) {
                        role.model_ancestor = base_role.model_ancestor.or(Some((bf, bc)));
                    }
                }
                _ => {
                    if let Some(canonical) = &canonical
                        && let Some(r) = framework_role
                    {
                        role.callback |= knowledge.callback_bases.contains(canonical);
                        inherited.insert(r);
                        role.evidence
                            .push(format!("{}: subclass of `{canonical}`", r.as_str()).into());
                    }
                }
            }
        }

        // Content (precomputed in parallel), plus attributes that are project models (which
        // needs the roles of other classes).
        let local = self.locals[file as usize][class as usize].clone();
        // Submodules built where a network is put together (`__init__`, `build`), not in
        // helpers such as `setup_ema` that copy someone else's model.
        let structural_range = |range: ruff_text_size::TextRange| {
            c.methods.iter().any(|&m| {
                let method = &facts.functions[m as usize];
                method.range.contains_range(range)
                    && (knowledge.is_forward_method(&method.name)
                        || matches!(method.name.as_str(), "__init__" | "setup" | "build")
                        || method.name.starts_with("_build")
                        || method.name.starts_with("build_"))
            })
        };
        let layer_attributes = local.layer_attributes
            || c.attributes
                .iter()
                .filter(|attr| structural_range(attr.range))
                .any(|attr| match &attr.ctor {
                    Callee::Qualified(_) | Callee::Local(_) => {
                        match index.resolve_callee(file, &attr.ctor) {
                            Some(Symbol::Class(af, ac)) if (af, ac) != (file, class) => {
                                self.class_role(af, ac).roles.contains(Role::Model)
                            }
                            _ => false,
                        }
                    }
                    _ => false,
                });
        // Layers built here or in a project superclass (a detector whose backbone lives in
        // `BaseDetector` builds layers).
        role.builds_layers = local.layer_calls || layer_attributes || inherited_layers;
        let has_training_loop = local.trains;

        if local.loss_named {
            role.roles.insert(Role::Loss);
            role.evidence.push(format!("named `{}`", c.name).into());
        } else if !has_training_loop {
            // A callable that takes targets and computes a loss, and builds no layers, is a Loss
            // (timm's `LabelSmoothingCrossEntropy(nn.Module)`), as is any class in a `losses`
            // module that computes one.
            if local.computes_loss_in_loss_module {
                role.roles.insert(Role::Loss);
                role.evidence
                    .push("computes a loss and lives in a losses module".into());
            } else if local.computes_loss_from_targets
                && !role.builds_layers
                && role.model_ancestor.is_none()
            {
                role.roles.insert(Role::Loss);
                role.evidence
                    .push("takes targets and computes a loss, with no layers of its own".into());
            }
        }
        if inherited.contains(Role::Loss) {
            role.roles.insert(Role::Loss);
        }
        if inherited.contains(Role::Model) || role.builds_layers && local.has_forward {
            role.roles.insert(Role::Model);
            if !inherited.contains(Role::Model) {
                role.evidence
                    .push("builds layers and has a forward method".into());
            }
        } else if local.builds_graph && (role.builds_layers || local.graph_layers) {
            // A TF1 graph model (possibly one that also runs its `sess.run` loop: a Model and
            // a Runner in one class).
            role.roles.insert(Role::Model);
            role.evidence
                .push("builds a TF1 graph: placeholders and layers".into());
        }
        if role.roles.contains(Role::Loss) && !has_training_loop {
            // fairseq-style criterions subclass nn.Module but are Loss components.
            role.roles.remove(Role::Model);
        }
        if role.roles.contains(Role::Model) && local.wraps_model && !role.builds_layers {
            // timm's `ClassificationTask(model, criterion)`: an nn.Module that runs a model it
            // is given through its loss is the MODLR training task, not a model.
            role.roles.remove(Role::Model);
            role.roles.insert(Role::Task);
            role.evidence
                .push("runs a model it is given through a loss it keeps, building no layers (a training task)".into());
        }
        let augments = local.augments && !role.builds_layers && !local.trains;
        if inherited.contains(Role::Dataset) || local.loads_data_per_item || augments {
            role.roles.insert(Role::Dataset);
            if !inherited.contains(Role::Dataset) {
                role.evidence.push(if local.loads_data_per_item {
                    "loads data in __getitem__/__iter__".into()
                } else {
                    "an augmentation pipeline: `__call__` applies the transforms it builds".into()
                });
            }
            if !inherited.contains(Role::Model) {
                role.roles.remove(Role::Model);
            }
        }
        if inherited.contains(Role::Optimizer) || local.steps_like_optimizer && !role.builds_layers
        {
            role.roles.insert(Role::Optimizer);
            if !inherited.contains(Role::Optimizer) {
                role.evidence
                    .push("wraps an optimizer with step()/zero_grad()".into());
            }
        }
        if inherited.contains(Role::Runner) || has_training_loop {
            role.roles.insert(Role::Runner);
            if has_training_loop {
                role.evidence.push("a method holds a training loop".into());
            }
        }
        self.in_progress.remove(&(file, class));
        self.classes[file as usize][class as usize] = Some(role.clone());
        role
    }
}

/// The dotted module name of a file, when it is inside a package.
fn module_name(index: &ProjectIndex, file: FileId) -> Option<String> {
    let facts = index.facts(file);
    let package = facts.package.as_ref()?;
    let stem = index.file(file).path.file_stem()?.to_str()?;
    Some(if stem == "__init__" {
        package.clone()
    } else {
        format!("{package}.{stem}")
    })
}
