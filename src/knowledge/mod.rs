//! What dllint knows about the deep-learning frameworks, as data.
//!
//! The lists live in `frameworks.toml` next to this file (compiled in), so that adding a
//! framework API is a one-line data change, not a code change; users extend them from
//! `[tool.dllint.knowledge]`. Rules and the semantic model ask questions ("is this call a loss
//! function?"), and never spell framework names themselves.

mod pattern;

use std::sync::{Arc, OnceLock};

use std::borrow::Cow;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

pub use pattern::NameSet;

/// The MODLR roles, plus Task (a loss fused with backward/step, thesis Table 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    Model,
    Optimizer,
    Dataset,
    Loss,
    Runner,
    Task,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Model => "Model",
            Role::Optimizer => "Optimizer",
            Role::Dataset => "Dataset",
            Role::Loss => "Loss",
            Role::Runner => "Runner",
            Role::Task => "Task",
        }
    }
}

/// True if `name` matches one of `list` (`prefix*` patterns allowed).
pub fn in_list(list: &[String], name: &str) -> bool {
    list.iter().any(|pattern| match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    })
}

/// What calling (or constructing) a resolved API means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ApiKind {
    /// Computes a loss value (`F.cross_entropy`, `tf.losses.*`).
    LossFunction,
    /// Builds a loss callable (`nn.CrossEntropyLoss()`).
    LossClass,
    Optimizer,
    Scheduler,
    /// Builds network structure (`nn.Linear`, `tf.layers.dense`).
    Layer,
    /// Builds a data pipeline (`DataLoader`, `tf.data`).
    DataPipeline,
    /// Builds a transform chain (`torchvision.transforms`).
    Transform,
    /// Reads or decodes data files.
    DataLoading,
    /// Augments data.
    Augmentation,
    /// Draws random items or indices (`np.random.choice`, `random.sample`).
    Sampling,
    /// `torch.mean`, `tf.reduce_sum`.
    Reduction,
    /// Elementwise math (`torch.log`, `tf.square`).
    Math,
    /// `torch.autograd.backward`.
    Backward,
    /// `torch.autograd.grad`, `tf.gradients`.
    Gradient,
    /// `jax.grad`, `jax.value_and_grad`: the argument is a loss function.
    GradTransform,
    /// `optax.apply_updates`.
    OptimizerStep,
    /// `tf.GradientTape`.
    GradientTape,
    /// `tf.placeholder`: the inputs of a TF1 graph, evidence that a class builds a model graph.
    GraphInput,
    /// Seeds a random number generator (`torch.manual_seed`, `np.random.seed`).
    Seed,
}

impl ApiKind {
    /// Classification priority: more specific lists first (a loss class is also under
    /// `torch.nn.*`, a scheduler also under `torch.optim.*`).
    const PRIORITY: [ApiKind; 19] = [
        ApiKind::Seed,
        ApiKind::LossClass,
        ApiKind::LossFunction,
        ApiKind::Scheduler,
        ApiKind::Optimizer,
        ApiKind::GradientTape,
        ApiKind::Backward,
        ApiKind::Gradient,
        ApiKind::GradTransform,
        ApiKind::OptimizerStep,
        ApiKind::DataLoading,
        ApiKind::DataPipeline,
        ApiKind::Augmentation,
        ApiKind::Sampling,
        ApiKind::Transform,
        ApiKind::Reduction,
        ApiKind::Layer,
        ApiKind::Math,
        ApiKind::GraphInput,
    ];

    fn list(self) -> u32 {
        ApiKind::PRIORITY
            .iter()
            .position(|k| *k == self)
            .expect("every kind has a priority") as u32
    }
}

/// Pattern lists that are not API kinds but share the classification table.
const NOT_LAYERS_LIST: u32 = 19;

/// A framework whose base classes come with hook methods.
#[derive(Debug, Clone)]
pub struct Framework {
    pub name: String,
    pub bases: NameSet,
    /// Last segments of `bases` (`LightningModule`).
    pub base_names: Vec<String>,
    pub loss_hooks: Vec<String>,
    pub optimizer_hooks: Vec<String>,
}

/// Every list dllint knows, with aliases already applied to the patterns.
#[derive(Debug, Clone)]
pub struct Knowledge {
    /// `from` → `to` prefix aliases, indexed by the first segment of `from`.
    aliases: FxHashMap<String, Vec<(String, String)>>,
    /// First segments of every API pattern: anything else is not a known API.
    api_heads: FxHashSet<String>,
    pub debugger_modules: NameSet,
    pub debugger_calls: NameSet,
    pub shape_attributes: Vec<String>,
    pub shape_methods: Vec<String>,
    pub shape_functions: NameSet,
    pub print_functions: NameSet,
    /// `_`-separated words of functions that are demos or smoke tests (their prints are the
    /// point, not leftovers).
    pub demo_function_words: Vec<String>,

    /// Base classes of configuration records (their constructors take one parameter per field).
    pub config_bases: NameSet,
    /// Class-name suffixes of configuration records.
    pub config_class_suffixes: Vec<String>,
    /// Decorators that dictate the decorated function's parameters.
    pub signature_decorators: NameSet,
    /// Calls that expose functions or classes as command-line programs (their parameters are
    /// the flags).
    pub cli_entry_calls: NameSet,
    /// Calls and decorators that declare command-line options or configuration
    /// (`absl.flags.DEFINE_integer`, `hydra.main`, `click.option`): with `cli_entry_calls` and
    /// argparse, a script that takes options is run for results.
    pub option_calls: NameSet,
    /// A script with no options and at most this many lines is a demo: it shows one technique
    /// top to bottom (a tutorial, a lab, an example).
    pub demo_script_lines: u32,
    /// Calls that never return: code after them is unreachable.
    pub no_return_calls: NameSet,
    /// Words of a `raise` message that tell the reader what to do instead: code after such a
    /// stop is kept on purpose.
    pub deliberate_stop_words: Vec<String>,
    /// Words of a module-level flag's name that make it a diagnostic switch (`DEBUG`,
    /// `VERBOSE`): flipped by hand, not dead code.
    pub diagnostic_switch_words: Vec<String>,
    /// Builtins that never return, when not rebound.
    pub no_return_builtins: Vec<String>,
    /// The last name segments of `no_return_calls` and the builtins: a cheap pre-filter.
    pub no_return_names: Vec<String>,

    pub model_bases: NameSet,
    pub loss_bases: NameSet,
    pub dataset_bases: NameSet,
    pub optimizer_bases: NameSet,
    pub runner_bases: NameSet,
    pub callback_bases: NameSet,
    pub frameworks: Vec<Framework>,

    /// Every API pattern list in one table (see [`ApiKind::PRIORITY`]).
    api_table: pattern::MaskTable,
    /// The lists a call's effect on training modes and randomness is read from, in one table
    /// (see [`Knowledge::call_flags`]).
    flags_table: pattern::MaskTable,
    pub reduction_methods: Vec<String>,
    pub math_methods: Vec<String>,
    pub backward_methods: Vec<String>,
    pub zero_grad_methods: Vec<String>,
    pub apply_gradient_methods: Vec<String>,
    pub minimize_methods: Vec<String>,
    pub framework_loss_calls: Vec<String>,
    /// Data-loading calls that decode bytes already in memory (`tf.image.decode_png`): no file
    /// is read.
    pub in_memory_decoders: NameSet,
    /// Module methods that return the module itself (`model.to(device)`): a variable bound to
    /// `Net().to(device)` holds a `Net`.
    pub self_returning_methods: Vec<String>,
    /// Modules that wrap a model and run it (`nn.DataParallel(model)`, `torch.compile(model)`):
    /// not network structure, but what they return is called, switched to eval mode and
    /// stepped like the model itself.
    pub module_wrappers: NameSet,

    loss_variables: Vec<String>,
    loss_suffixes: Vec<String>,
    loss_prefixes: Vec<String>,
    not_loss_words: Vec<String>,
    loss_callee_words: Vec<String>,
    /// Substrings of loss functions' own names (`cross_entropy`, `divergence`, `_cost`).
    loss_function_words: Vec<String>,
    /// Whole `_`-separated words of loss functions' names (`mse`, `nll`, `huber`).
    loss_function_tokens: Vec<String>,
    /// Words of metric helpers' names (`accuracy`, `metric`): not losses.
    metric_words: Vec<String>,
    /// Words of random augmentations' names (`random`, `jitter`, `mixup`).
    random_augmentation_words: Vec<String>,
    data_verbs: Vec<String>,
    not_data_words: Vec<String>,
    model_variables: Vec<String>,
    optimizer_attributes: Vec<String>,
    /// Framework methods that collect registered losses (`Layer.get_losses_for`).
    pub loss_collecting_methods: Vec<String>,
    loss_class_suffixes: Vec<String>,
    loss_modules: Vec<String>,
    test_file_prefixes: Vec<String>,
    test_file_suffixes: Vec<String>,
    test_packages: Vec<String>,
    target_parameters: Vec<String>,
    pub forward_methods: Vec<String>,
    external_modules: rustc_hash::FxHashSet<String>,
    builtins: rustc_hash::FxHashSet<String>,
    pub usage: UsageKnowledge,
    pub shapes: ShapeKnowledge,
    pub teaching: Teaching,
    pub layout: Layout,
    pub training: Training,
}

/// What dllint knows about training code (`[training]`): each concern's lists in a table of
/// their own (`[training.gradients]`, ...). Qualified names are matched after the
/// aliases, as every other API list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Training {
    #[serde(default)]
    pub hyperparameters: TrainingHyperparameters,
    #[serde(default)]
    pub tf_memory: TrainingTfMemory,
    #[serde(default)]
    pub activations: TrainingActivations,
    #[serde(default)]
    pub losses: TrainingLosses,
    #[serde(default)]
    pub evaluation: TrainingEvaluation,
    #[serde(default)]
    pub gradients: TrainingGradients,
    #[serde(default)]
    pub seeding: TrainingSeeding,
    #[serde(default)]
    pub steps: TrainingSteps,
}

/// Where teaching code lives (`[teaching]`): folders of examples and tutorials, numbered
/// lessons. The notebook policy applies to it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Teaching {
    /// Folder names (lower case) that hold teaching code.
    pub folders: Vec<String>,
    /// Name prefixes of a lesson when followed by a number (`lab-05`, `lesson13`, `chapter03`).
    pub lesson_prefixes: Vec<String>,
    /// Words of a project folder's name that make the whole project teaching code
    /// (`a-pytorch-tutorial-to-image-captioning`).
    pub project_words: Vec<String>,
}

impl Teaching {
    /// A folder or file name (lower case, without `.py`) of teaching code: one of `folders`, a
    /// numbered lesson (`01-basics`, `02_logistic_regression`, `3_neuralnetworks`), or a lesson
    /// prefix followed by a number (`lab-05-2-logistic`, `chapter03_intro`).
    pub fn is_teaching_name(&self, name: &str) -> bool {
        if self.folders.iter().any(|f| f == name) {
            return true;
        }
        let numbered = |rest: &str| {
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            (1..=3).contains(&digits)
                && rest[digits..]
                    .chars()
                    .next()
                    .is_some_and(|c| matches!(c, '-' | '_' | '.' | ' '))
                && rest[digits..].len() > 1
        };
        numbered(name) || self.is_lesson_name(name)
    }

    /// A lesson prefix followed by a number (`lab-05-2-logistic`, `lesson13`, `chapter03_intro`).
    pub fn is_lesson_name(&self, name: &str) -> bool {
        self.lesson_prefixes.iter().any(|p| {
            name.strip_prefix(p.as_str()).is_some_and(|rest| {
                let rest = rest.trim_start_matches(['-', '_', ' ']);
                rest.chars().next().is_some_and(|c| c.is_ascii_digit())
            })
        })
    }
}

/// What makes a training step beyond the gradient calls themselves (`[training.steps]`): the
/// training model (`semantic::training`) follows calls through these.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainingSteps {
    /// Calls that return the function they are given, to be run later
    /// (`train_step = jax.jit(train_step)`, `partial(train_step, model=m)`): calling the result
    /// runs that function.
    pub function_wrappers: NameSet,
    /// Methods of a framework model that run one whole training step (Keras
    /// `model.train_on_batch(x, y)`).
    pub framework_step_methods: Vec<String>,
    /// Methods of an optimizer object that apply the updates to the parameters it holds
    /// (Flax NNX `optimizer.update(model, grads)`).
    pub optimizer_update_methods: Vec<String>,
    /// Methods that never run project code (tensor and container methods): calls of them are
    /// not followed when the receiver is only known as a parameter.
    pub not_followed_methods: Vec<String>,
    /// Names of hand-written parameters (lower case; a number may follow: `w1`, `b_2`): a
    /// parameter updated from its gradient (`w1 -= lr * w1.grad`) is gradient descent by hand.
    pub parameter_names: Vec<String>,
    /// What a loop over parameters iterates (`model.parameters()`, `trainable_variables`).
    pub parameter_collections: Vec<String>,
}

/// How a run seeds its random number generators, and what draws from them or trains
/// (`[training.seeding]`). The seeding functions themselves are the `seeds` API list
/// (`[apis]`), extensible as `seed-functions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainingSeeding {
    /// Methods that seed whatever they are called on (`generator.manual_seed(0)`,
    /// `fabric.seed_everything(0)`).
    pub seed_methods: Vec<String>,
    /// Methods that run a training loop when called on a framework trainer, a Keras model or a
    /// project Runner (`model.fit(...)`, `trainer.train()`).
    pub run_methods: Vec<String>,
    /// The ones among them that train a Keras model (`model.train()` is a PyTorch mode switch).
    pub keras_fit_methods: Vec<String>,
    /// Framework trainers: calling a run method on one trains.
    pub trainers: NameSet,
    /// Trainers and launchers that seed the generators themselves.
    pub self_seeding: NameSet,
    /// What to suggest: the seeding call for each top-level module the script uses.
    pub suggestions: Vec<SeedSuggestion>,
    /// Calls that draw from a random number generator (sampling, random initialisation,
    /// random splits and samplers, random augmentation, environments).
    pub random_calls: NameSet,
    /// Keyword arguments that shuffle when true (`DataLoader(..., shuffle=True)`).
    pub shuffle_keywords: Vec<String>,
    /// Methods that draw at random (`dataset.shuffle(1000)`, `env.action_space.sample()`).
    pub random_methods: Vec<String>,
    /// Layers whose construction initialises parameters at random: these families...
    pub initialised_layers: NameSet,
    /// ... except these (containers, and values whose initialiser is an argument).
    pub not_initialised_layers: NameSet,
}

/// The seeding call to suggest when a script uses `module`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SeedSuggestion {
    pub module: String,
    pub call: String,
}

/// Keras models built in a loop, and the calls that free them (`[training.tf-memory]`).
/// Patterns are canonical names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainingTfMemory {
    /// Calls that build (or load) a Keras model.
    pub model_builders: NameSet,
    /// Modules whose capitalised members build a model (`keras.applications.ResNet50`; not
    /// `keras.applications.resnet.preprocess_input`).
    pub model_builder_modules: Vec<String>,
    /// Model methods that train or run a model: a loop that calls one uses the models it
    /// builds (a loop that only assembles `Sequential` blocks into one model does not).
    pub model_methods: Vec<String>,
    /// Base classes of Keras models: constructing a subclass builds one.
    pub model_bases: NameSet,
    /// Calls that free the models built so far.
    pub clear_calls: NameSet,
    /// Cross-validation splitters whose `split(...)` yields `n_splits` folds (the first
    /// argument or the `n_splits` keyword): a loop over them runs a known, small number of times.
    pub fold_splitters: NameSet,
    /// What a file names to build a Keras model (`keras`; see [`Knowledge::module_words`]):
    /// a file that names none of these builds none. Derived from the builders and model bases.
    #[serde(skip)]
    pub words: Vec<String>,
}

/// Where constructors take the hyperparameters a training script should spell out
/// (`[training.hyperparameters]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainingHyperparameters {
    /// Optimizer families and where they take the learning rate.
    pub learning_rate: Vec<ArgumentSpot>,
    /// Data loaders and where they take the batch size.
    pub batch_size: Vec<ArgumentSpot>,
    /// Optimizers that wrap another one and use its learning rate (`Lookahead(base)`).
    pub wrappers: NameSet,
}

/// Where a constructor takes one argument: for every callee under `prefix` (a module, or the
/// constructor itself), as one of `keywords` or positionally at `position` (0-based).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ArgumentSpot {
    pub prefix: String,
    pub keywords: Vec<String>,
    pub position: usize,
}

impl TrainingHyperparameters {
    /// The spot of `canonical` in `spots`: the longest matching prefix.
    pub fn spot<'s>(spots: &'s [ArgumentSpot], canonical: &str) -> Option<&'s ArgumentSpot> {
        spots
            .iter()
            .filter(|s| {
                canonical == s.prefix
                    || canonical
                        .strip_prefix(s.prefix.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            })
            .max_by_key(|s| s.prefix.len())
    }
}

/// Activations whose output is a probability or a log-probability (`[training.activations]`),
/// followed into losses and logarithms.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainingActivations {
    /// Top-level modules a file must import for the activation rules to look at it.
    pub frameworks: Vec<String>,
    pub softmax: Vec<String>,
    pub log_softmax: Vec<String>,
    pub sigmoid: Vec<String>,
    pub softmax_methods: Vec<String>,
    pub log_softmax_methods: Vec<String>,
    pub sigmoid_methods: Vec<String>,
    pub softmax_layers: Vec<String>,
    pub log_softmax_layers: Vec<String>,
    pub sigmoid_layers: Vec<String>,
    pub sequential: Vec<String>,
    pub keras_layers: Vec<String>,
    pub softmax_names: Vec<String>,
    pub sigmoid_names: Vec<String>,
    /// The methods that calling an instance runs (`forward`, Keras `call`): what a Model's
    /// output is.
    pub call_methods: Vec<String>,
    /// Tensor methods that keep the activation of their receiver (`probs.view(-1, n)`).
    pub passthrough_methods: Vec<String>,
    /// Transforms that map a function over a batch axis (`jax.vmap(model)(x)`): the mapped
    /// call's output went through the same activation.
    pub mapping_transforms: Vec<String>,
    /// Every name an activation is spelled with (`softmax`, `Sigmoid`, `expit`): a file whose
    /// text contains none has no activation to follow. Derived from the lists above.
    #[serde(skip)]
    pub words: Vec<String>,
}

impl TrainingActivations {
    fn words(&self) -> Vec<String> {
        let qualified = [
            &self.softmax,
            &self.log_softmax,
            &self.sigmoid,
            &self.softmax_layers,
            &self.log_softmax_layers,
            &self.sigmoid_layers,
        ];
        let plain = [
            &self.softmax_methods,
            &self.log_softmax_methods,
            &self.sigmoid_methods,
            &self.softmax_names,
            &self.sigmoid_names,
        ];
        let mut words: Vec<String> = qualified
            .iter()
            .flat_map(|list| list.iter())
            .map(|q| q.rsplit('.').next().unwrap_or(q).trim_end_matches('*'))
            .chain(
                plain
                    .iter()
                    .flat_map(|list| list.iter())
                    .map(String::as_str),
            )
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        words.sort();
        words.dedup();
        // A word that contains another is found through the shorter one.
        let all = words.clone();
        words.retain(|w| !all.iter().any(|o| o != w && w.contains(o.as_str())));
        words
    }
}

/// The losses those activations feed (`[training.losses]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainingLosses {
    pub logits: Vec<String>,
    pub keras_from_logits: Vec<String>,
    pub probability_bce: Vec<String>,
    pub logs: Vec<String>,
    /// Tensor methods that take the logarithm (`p.log()`).
    pub log_methods: Vec<String>,
    /// Calls returning the regularisation losses the framework collected from the layers.
    pub regularization_calls: Vec<String>,
    /// Graph-collection getters (`tf.get_collection`), and the collections of regularisation
    /// losses they may be asked for.
    pub collection_calls: Vec<String>,
    pub regularization_collections: Vec<String>,
    /// Calls adding a value to a graph collection (`tf.add_to_collection`).
    pub add_to_collection_calls: Vec<String>,
    /// A model's attribute listing the regularisation losses its layers registered
    /// (`model.losses` in Keras).
    pub regularization_attributes: Vec<String>,
    /// Framework classes that hold a value (Flax NNX `nnx.Variable`): a project subclass built
    /// around a value (`class Loss(nnx.Variable)`, `self.kl_loss = Loss(kl)`) is that value.
    pub value_containers: Vec<String>,
    /// Every name a loss or logarithm of the lists above ends in (`cross_entropy`, `BCELoss`,
    /// `log`): a file that spells none of them as a whole word calls none of them (see
    /// [`TrainingLosses::sink_words`]). Empty when a list entry is a prefix pattern (`x.*`).
    #[serde(skip)]
    pub sink_words: Vec<String>,
}

impl TrainingLosses {
    /// The last segments of the losses that expect logits or probabilities and of the
    /// logarithms, and the logarithm methods: what a file must call for a value that went
    /// through a softmax or a sigmoid to reach a loss or a logarithm in it. A call reaches a
    /// listed API through its imports, so the file spells the API's last segment (an alias
    /// renames a module prefix, never the name: a unit test checks it), unless it writes the
    /// name in compatibility forms that Python normalises (`ｌｏｇ`; the walk checks for those).
    /// Empty (no pre-filter) when an entry is a prefix pattern, whose names cannot be listed.
    fn sink_words(&self) -> Vec<String> {
        let qualified = [
            &self.logits,
            &self.keras_from_logits,
            &self.probability_bce,
            &self.logs,
        ];
        if qualified
            .iter()
            .flat_map(|l| l.iter())
            .any(|q| q.ends_with('*'))
        {
            return Vec::new();
        }
        let mut words: Vec<String> = qualified
            .iter()
            .flat_map(|list| list.iter())
            .map(|q| q.rsplit('.').next().unwrap_or(q).to_string())
            .chain(self.log_methods.iter().cloned())
            .filter(|w| !w.is_empty())
            .collect();
        words.sort();
        words.dedup();
        words
    }

    /// Whether a graph-collection key (`REGULARIZATION_LOSSES`) names the regularisation losses.
    pub fn is_regularization_collection(&self, key: &str) -> bool {
        self.regularization_collections.iter().any(|c| c == key)
    }
}

/// What an evaluation loop looks like (`[training.evaluation]`): where eval mode and turning
/// gradients off matter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainingEvaluation {
    /// Whole names or `_`-separated parts of evaluation functions' names.
    pub function_words: Vec<String>,
    /// Name prefixes of test functions (pytest): never evaluation loops.
    pub test_function_prefixes: Vec<String>,
    /// Framework hooks that run in eval mode without gradients (Lightning `validation_step`).
    pub framework_hooks: Vec<String>,
    /// Context managers and decorators that turn gradient tracking off.
    pub no_grad: Vec<String>,
    /// `model.eval()`.
    pub eval_methods: Vec<String>,
    /// `model.train(mode)`.
    pub train_methods: Vec<String>,
    /// `model.forward(x)`.
    pub forward_methods: Vec<String>,
    /// `layer.call(x)`: Keras layers and models only.
    pub keras_forward_methods: Vec<String>,
    /// Methods only modules have (`parameters()`, `state_dict()`): calling one shows that a
    /// parameter or attribute holds a module.
    pub module_methods: Vec<String>,
    /// Words naming data iterables (`val_loader`).
    pub data_words: Vec<String>,
    /// Iterables that count rather than yield data (`range`).
    pub index_iterables: Vec<String>,
    /// Prefixes of functions that return a model (`get_model()`), not run it.
    pub model_getter_prefixes: Vec<String>,
    /// Base classes whose framework manages eval mode and gradients (pipelines).
    pub managed_bases: Vec<String>,
    /// Layers, functions and library models that behave differently in training and
    /// evaluation mode (dropout, batch norm): what makes a missing `eval()` matter.
    pub mode_layers: NameSet,
    /// Keyword arguments that give a layer a dropout rate (`nn.LSTM(..., dropout=0.3)`).
    pub mode_keywords: Vec<String>,
}

impl TrainingEvaluation {
    /// True if `name` is an evaluation function's name (`evaluate`, `val_epoch`,
    /// `evaluate_accuracy_gpu`) and not a pytest function's (`test_forward()`, without
    /// parameters: an evaluation function takes the model or the data, or `self`).
    pub fn is_eval_name(&self, name: &str, has_parameters: bool) -> bool {
        if !has_parameters
            && self
                .test_function_prefixes
                .iter()
                .any(|p| name.starts_with(p.as_str()))
        {
            return false;
        }
        let lower = name.trim_start_matches('_').to_ascii_lowercase();
        lower
            .split('_')
            .any(|part| self.function_words.iter().any(|w| w == part))
    }

    /// True if `name` names a data iterable (`loader`, `val_loader`, `test_data`).
    pub fn is_data_name(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        lower.split('_').any(|part| {
            self.data_words
                .iter()
                .any(|w| part == w || w.len() >= 4 && part.ends_with(w.as_str()))
        })
    }
}

/// Gradient bookkeeping in a training loop (`[training.gradients]`): clearing gradients
/// between steps, and keeping values without their graph.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainingGradients {
    /// The tensor attribute holding a parameter's gradient (`p.grad = None`).
    #[serde(default)]
    pub grad_attributes: Vec<String>,
    /// In-place methods on a gradient that clear it (`p.grad.zero_()`).
    #[serde(default)]
    pub grad_clear_methods: Vec<String>,
    /// Methods that turn a tensor into a value without a graph (`loss.item()`).
    #[serde(default)]
    pub detach_methods: Vec<String>,
    /// Attributes that read a tensor without its graph (`loss.data`).
    #[serde(default)]
    pub detach_attributes: Vec<String>,
    /// Builtins that convert a tensor to a Python number (`float(loss)`).
    #[serde(default)]
    pub detach_builtins: Vec<String>,
    /// Frameworks whose `backward()` overwrites the gradients (MXNet's default
    /// `grad_req="write"`): a file importing one needs no `zero_grad()`.
    #[serde(default)]
    pub overwriting_frameworks: Vec<String>,
    /// Context managers that turn off graph recording (`with torch.no_grad():`).
    #[serde(default)]
    pub no_grad_contexts: Vec<String>,
    /// Methods that add one element to a Python list (`losses.append(loss)`).
    #[serde(default)]
    pub list_add_methods: Vec<String>,
}

/// Where a project keeps each role's components (`[layout]`): module files (`losses.py`) or
/// packages (`models`), in order of preference; the first is the default for a new module.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    pub loss: Vec<String>,
    pub model: Vec<String>,
    pub dataset: Vec<String>,
    pub optimizer: Vec<String>,
    pub runner: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    aliases: Vec<[String; 2]>,
    debugging: RawDebugging,
    code_health: RawCodeHealth,
    bases: RawBases,
    frameworks: Vec<RawFramework>,
    apis: RawApis,
    names: RawNames,
    usage: RawUsage,
    shapes: RawShapes,
    layout: Layout,
    teaching: Teaching,
    #[serde(default)]
    training: Training,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawUsage {
    parse_methods: Vec<String>,
    parser_methods: Vec<String>,
    namespace_names: Vec<String>,
    display_calls: Vec<String>,
    display_methods: Vec<String>,
    launcher_options: Vec<String>,
    transparent_decorators: Vec<String>,
}

/// What dllint knows about command-line configuration (argparse, click) and about decorators:
/// what makes an option read and a component referenced.
#[derive(Debug, Clone)]
pub struct UsageKnowledge {
    /// `parse_args`, `parse_known_args`, ...
    pub parse_methods: Vec<String>,
    /// Methods of the parser itself (`add_argument`): a parser bound to a name usually given
    /// to namespaces (`args = ArgumentParser()`) is declared through them, not read.
    pub parser_methods: Vec<String>,
    /// Names that hold a parsed namespace even where the parsing is not visible.
    pub namespace_names: Vec<String>,
    /// Builtins (`print`) and qualified functions (`logging.*`) that only display a value.
    pub display_calls: NameSet,
    pub display_methods: Vec<String>,
    /// Options a launcher passes whether they are read or not.
    pub launcher_options: Vec<String>,
    /// Decorators that do not register what they decorate (`dataclass`, `torch.jit.script`).
    pub transparent_decorators: NameSet,
}

impl UsageKnowledge {
    pub fn is_parse_method(&self, name: &str) -> bool {
        self.parse_methods.iter().any(|m| m == name)
    }

    pub fn is_namespace_name(&self, name: &str) -> bool {
        self.namespace_names.iter().any(|m| m == name)
    }

    pub fn is_display_method(&self, name: &str) -> bool {
        self.display_methods.iter().any(|m| m == name)
    }

    pub fn is_launcher_option(&self, dest: &str) -> bool {
        self.launcher_options.iter().any(|m| m == dest)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawShapes {
    methods: Vec<String>,
    jaxtyping: Vec<String>,
    torchtyping: Vec<String>,
    other_libraries: Vec<String>,
    jaxtyping_unshaped: Vec<String>,
    tensor_types: Vec<String>,
    tensor_type_names: Vec<String>,
    docstring_decorators: Vec<String>,
    return_docstring_decorators: Vec<String>,
    non_tensor_parameters: Vec<String>,
    non_tensor_prefixes: Vec<String>,
    non_tensor_suffixes: Vec<String>,
    integer_parameters: Vec<String>,
    integer_suffixes: Vec<String>,
    mask_suffixes: Vec<String>,
    einops: Vec<String>,
}

/// What dllint knows about tensor types and shape annotations.
#[derive(Debug, Clone)]
pub struct ShapeKnowledge {
    /// Methods whose signatures should state shapes (`forward`, `call`, `__call__`).
    pub methods: Vec<String>,
    pub jaxtyping: NameSet,
    pub torchtyping: NameSet,
    pub other_libraries: NameSet,
    pub jaxtyping_unshaped: NameSet,
    pub tensor_types: NameSet,
    pub tensor_type_names: Vec<String>,
    pub docstring_decorators: Vec<String>,
    pub return_docstring_decorators: Vec<String>,
    non_tensor_parameters: Vec<String>,
    non_tensor_prefixes: Vec<String>,
    non_tensor_suffixes: Vec<String>,
    integer_parameters: Vec<String>,
    integer_suffixes: Vec<String>,
    mask_suffixes: Vec<String>,
    pub einops: NameSet,
}

/// The dtype wrapper a suggested jaxtyping annotation uses for a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtypeHint {
    Float,
    Int,
    /// Masks come as bool, int or float: `Shaped` accepts any dtype.
    Shaped,
}

impl DtypeHint {
    pub fn as_str(self) -> &'static str {
        match self {
            DtypeHint::Float => "Float",
            DtypeHint::Int => "Int",
            DtypeHint::Shaped => "Shaped",
        }
    }
}

impl ShapeKnowledge {
    pub fn is_shape_method(&self, name: &str) -> bool {
        self.methods.iter().any(|m| m == name)
    }

    /// True if an unannotated parameter of this name surely holds no tensor.
    pub fn is_non_tensor_parameter(&self, name: &str) -> bool {
        self.non_tensor_parameters.iter().any(|p| p == name)
            || self
                .non_tensor_prefixes
                .iter()
                .any(|p| name.starts_with(p.as_str()))
            || self
                .non_tensor_suffixes
                .iter()
                .any(|s| name.ends_with(s.as_str()))
    }

    pub fn dtype_hint(&self, name: &str) -> DtypeHint {
        if self
            .mask_suffixes
            .iter()
            .any(|s| name.ends_with(s.as_str()))
        {
            DtypeHint::Shaped
        } else if self.integer_parameters.iter().any(|p| p == name)
            || self
                .integer_suffixes
                .iter()
                .any(|s| name.ends_with(s.as_str()))
        {
            DtypeHint::Int
        } else {
            DtypeHint::Float
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDebugging {
    modules: Vec<String>,
    calls: Vec<String>,
    shape_attributes: Vec<String>,
    shape_methods: Vec<String>,
    shape_functions: Vec<String>,
    print_functions: Vec<String>,
    demo_function_words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCodeHealth {
    config_bases: Vec<String>,
    config_class_suffixes: Vec<String>,
    signature_decorators: Vec<String>,
    cli_entry_calls: Vec<String>,
    option_calls: Vec<String>,
    demo_script_lines: u32,
    deliberate_stop_words: Vec<String>,
    diagnostic_switch_words: Vec<String>,
    no_return_calls: Vec<String>,
    no_return_builtins: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawBases {
    model: Vec<String>,
    loss: Vec<String>,
    dataset: Vec<String>,
    optimizer: Vec<String>,
    runner: Vec<String>,
    callback: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFramework {
    name: String,
    bases: Vec<String>,
    loss_hooks: Vec<String>,
    optimizer_hooks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawApis {
    layers: Vec<String>,
    not_layers: Vec<String>,
    loss_functions: Vec<String>,
    loss_classes: Vec<String>,
    optimizers: Vec<String>,
    schedulers: Vec<String>,
    data_pipelines: Vec<String>,
    transforms: Vec<String>,
    data_loading: Vec<String>,
    augmentation: Vec<String>,
    sampling: Vec<String>,
    reductions: Vec<String>,
    math: Vec<String>,
    graph_inputs: Vec<String>,
    seeds: Vec<String>,
    self_returning_methods: Vec<String>,
    module_wrappers: Vec<String>,
    reduction_methods: Vec<String>,
    math_methods: Vec<String>,
    backward_methods: Vec<String>,
    zero_grad_methods: Vec<String>,
    apply_gradient_methods: Vec<String>,
    minimize_methods: Vec<String>,
    backward_functions: Vec<String>,
    gradient_functions: Vec<String>,
    grad_transforms: Vec<String>,
    optimizer_step_functions: Vec<String>,
    gradient_tapes: Vec<String>,
    framework_loss_calls: Vec<String>,
    in_memory_decoders: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawNames {
    loss_variables: Vec<String>,
    loss_suffixes: Vec<String>,
    loss_prefixes: Vec<String>,
    not_loss_words: Vec<String>,
    loss_callee_words: Vec<String>,
    loss_function_words: Vec<String>,
    loss_function_tokens: Vec<String>,
    metric_words: Vec<String>,
    random_augmentation_words: Vec<String>,
    data_verbs: Vec<String>,
    not_data_words: Vec<String>,
    model_variables: Vec<String>,
    optimizer_attributes: Vec<String>,
    loss_collecting_methods: Vec<String>,
    loss_class_suffixes: Vec<String>,
    loss_modules: Vec<String>,
    test_file_prefixes: Vec<String>,
    test_file_suffixes: Vec<String>,
    test_packages: Vec<String>,
    target_parameters: Vec<String>,
    forward_methods: Vec<String>,
    external_modules: Vec<String>,
    builtins: Vec<String>,
}

/// User additions from `[tool.dllint.knowledge]` (qualified-name patterns).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Extensions {
    pub model_bases: Vec<String>,
    pub loss_bases: Vec<String>,
    pub dataset_bases: Vec<String>,
    pub optimizer_bases: Vec<String>,
    pub runner_bases: Vec<String>,
    pub layers: Vec<String>,
    pub loss_functions: Vec<String>,
    pub loss_classes: Vec<String>,
    pub optimizers: Vec<String>,
    pub data_loading: Vec<String>,
    pub augmentation: Vec<String>,
    pub seed_functions: Vec<String>,
}

impl Extensions {
    /// The keys of `[tool.dllint.knowledge]`, for strict validation.
    pub const KEYS: &'static [&'static str] = &[
        "model-bases",
        "loss-bases",
        "dataset-bases",
        "optimizer-bases",
        "runner-bases",
        "layers",
        "loss-functions",
        "loss-classes",
        "optimizers",
        "data-loading",
        "augmentation",
        "seed-functions",
    ];

    pub fn field_mut(&mut self, key: &str) -> Option<&mut Vec<String>> {
        Some(match key {
            "model-bases" => &mut self.model_bases,
            "loss-bases" => &mut self.loss_bases,
            "dataset-bases" => &mut self.dataset_bases,
            "optimizer-bases" => &mut self.optimizer_bases,
            "runner-bases" => &mut self.runner_bases,
            "layers" => &mut self.layers,
            "loss-functions" => &mut self.loss_functions,
            "loss-classes" => &mut self.loss_classes,
            "optimizers" => &mut self.optimizers,
            "data-loading" => &mut self.data_loading,
            "augmentation" => &mut self.augmentation,
            "seed-functions" => &mut self.seed_functions,
            _ => return None,
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == Extensions::default()
    }

    /// Every key of `[tool.dllint.knowledge]` with its patterns, in [`Extensions::KEYS`] order.
    pub fn entries(&self) -> Vec<(&'static str, &[String])> {
        let fields: [&Vec<String>; 12] = [
            &self.model_bases,
            &self.loss_bases,
            &self.dataset_bases,
            &self.optimizer_bases,
            &self.runner_bases,
            &self.layers,
            &self.loss_functions,
            &self.loss_classes,
            &self.optimizers,
            &self.data_loading,
            &self.augmentation,
            &self.seed_functions,
        ];
        Self::KEYS
            .iter()
            .copied()
            .zip(fields.map(Vec::as_slice))
            .collect()
    }
}

const DATA: &str = include_str!("frameworks.toml");

/// Which of the `[training]` lists about gradients, modes and randomness a call's canonical
/// name is in ([`Knowledge::call_flags`]): the same answers as the lists' own lookups (a test
/// checks it). The semantic layer asks these questions only through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallFlags(u32);

impl CallFlags {
    const NO_GRAD: u32 = 0;
    const INITIALISED_LAYER: u32 = 1;
    const NOT_INITIALISED_LAYER: u32 = 2;
    const RANDOM_CALL: u32 = 3;
    const MODE_LAYER: u32 = 4;

    fn table(training: &Training) -> pattern::MaskTable {
        let mut table = pattern::MaskTable::default();
        // Compared as names, as the list always was.
        for name in &training.evaluation.no_grad {
            table.add_exact(name, Self::NO_GRAD);
        }
        for (set, list) in [
            (
                &training.seeding.initialised_layers,
                Self::INITIALISED_LAYER,
            ),
            (
                &training.seeding.not_initialised_layers,
                Self::NOT_INITIALISED_LAYER,
            ),
            (&training.seeding.random_calls, Self::RANDOM_CALL),
            (&training.evaluation.mode_layers, Self::MODE_LAYER),
        ] {
            for pattern in set.patterns() {
                table.add(&pattern, list);
            }
        }
        table
    }

    fn has(self, list: u32) -> bool {
        self.0 & (1 << list) != 0
    }

    /// `[training.evaluation] no-grad`: turns gradient tracking off (`torch.no_grad`).
    pub fn turns_grad_off(self) -> bool {
        self.has(Self::NO_GRAD)
    }

    /// `[training.seeding] initialised-layers`, and not `not-initialised-layers`: a layer
    /// whose construction draws random initial weights.
    pub fn initialises_randomly(self) -> bool {
        self.has(Self::INITIALISED_LAYER) && !self.has(Self::NOT_INITIALISED_LAYER)
    }

    /// `[training.seeding] random-calls`: draws random numbers.
    pub fn draws_random(self) -> bool {
        self.has(Self::RANDOM_CALL)
    }

    /// `[training.evaluation] mode-layers`: a layer that behaves differently in training and
    /// evaluation modes (dropout, batch norm).
    pub fn is_mode_layer(self) -> bool {
        self.has(Self::MODE_LAYER)
    }
}

/// The first segment of a qualified name.
fn head(qualified: &str) -> String {
    qualified.split('.').next().unwrap_or_default().to_string()
}

impl Knowledge {
    /// The built-in knowledge (parsed once per process).
    pub fn builtin() -> &'static Arc<Knowledge> {
        static BUILTIN: OnceLock<Arc<Knowledge>> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let raw: Raw = toml::from_str(DATA).expect("src/knowledge/frameworks.toml is valid");
            Arc::new(Knowledge::from_raw(raw))
        })
    }

    /// The built-in knowledge plus the user's additions.
    pub fn with_extensions(extensions: &Extensions) -> Arc<Knowledge> {
        if extensions.is_empty() {
            return Knowledge::builtin().clone();
        }
        let mut k = (**Knowledge::builtin()).clone();
        let add = |set: &mut NameSet, patterns: &[String], k: &Knowledge| {
            for p in patterns {
                set.add(k.canonical(p).into_owned());
            }
        };
        let snapshot = k.clone();
        add(&mut k.model_bases, &extensions.model_bases, &snapshot);
        add(&mut k.loss_bases, &extensions.loss_bases, &snapshot);
        add(&mut k.dataset_bases, &extensions.dataset_bases, &snapshot);
        add(
            &mut k.optimizer_bases,
            &extensions.optimizer_bases,
            &snapshot,
        );
        add(&mut k.runner_bases, &extensions.runner_bases, &snapshot);
        for (patterns, kind) in [
            (&extensions.layers, ApiKind::Layer),
            (&extensions.loss_functions, ApiKind::LossFunction),
            (&extensions.loss_classes, ApiKind::LossClass),
            (&extensions.optimizers, ApiKind::Optimizer),
            (&extensions.data_loading, ApiKind::DataLoading),
            (&extensions.augmentation, ApiKind::Augmentation),
            (&extensions.seed_functions, ApiKind::Seed),
        ] {
            for p in patterns {
                let canonical = snapshot.canonical(p);
                k.api_heads.insert(head(&canonical));
                k.api_table.add(&canonical, kind.list());
            }
        }
        Arc::new(k)
    }

    fn from_raw(raw: Raw) -> Knowledge {
        let mut alias_list: Vec<(String, String)> = raw
            .aliases
            .into_iter()
            .map(|[from, to]| (from, to))
            .collect();
        // Longest prefix first, so `tensorflow.compat.v1` wins over `tensorflow`.
        alias_list.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        let mut aliases: FxHashMap<String, Vec<(String, String)>> = FxHashMap::default();
        for (from, to) in alias_list {
            let head = from.split('.').next().unwrap_or(&from).to_string();
            aliases.entry(head).or_default().push((from, to));
        }
        let canonical = |p: &String| canonicalize(&aliases, p).into_owned();
        let set = |patterns: &[String]| NameSet::new(patterns.iter().map(canonical));
        let d = &raw.debugging;
        let b = &raw.bases;
        let a = &raw.apis;
        let n = raw.names;
        let sh = raw.shapes;
        // Every API list with its bit in the classification table; the table and the heads
        // (first segments, a cheap pre-filter) come from this one list.
        let api_lists: [(&Vec<String>, u32); 20] = [
            (&a.seeds, ApiKind::Seed.list()),
            (&a.loss_classes, ApiKind::LossClass.list()),
            (&a.loss_functions, ApiKind::LossFunction.list()),
            (&a.schedulers, ApiKind::Scheduler.list()),
            (&a.optimizers, ApiKind::Optimizer.list()),
            (&a.gradient_tapes, ApiKind::GradientTape.list()),
            (&a.backward_functions, ApiKind::Backward.list()),
            (&a.gradient_functions, ApiKind::Gradient.list()),
            (&a.grad_transforms, ApiKind::GradTransform.list()),
            (&a.optimizer_step_functions, ApiKind::OptimizerStep.list()),
            (&a.data_loading, ApiKind::DataLoading.list()),
            (&a.data_pipelines, ApiKind::DataPipeline.list()),
            (&a.augmentation, ApiKind::Augmentation.list()),
            (&a.sampling, ApiKind::Sampling.list()),
            (&a.transforms, ApiKind::Transform.list()),
            (&a.reductions, ApiKind::Reduction.list()),
            (&a.layers, ApiKind::Layer.list()),
            (&a.math, ApiKind::Math.list()),
            (&a.graph_inputs, ApiKind::GraphInput.list()),
            (&a.not_layers, NOT_LAYERS_LIST),
        ];
        let mut api_heads = FxHashSet::default();
        let mut api_table = pattern::MaskTable::default();
        for (patterns, list) in api_lists {
            for p in patterns {
                let canonical = canonical(p);
                api_heads.insert(head(&canonical));
                api_table.add(&canonical, list);
            }
        }
        Knowledge {
            api_heads,
            debugger_modules: set(&d.modules),
            debugger_calls: set(&d.calls),
            shape_attributes: d.shape_attributes.clone(),
            shape_methods: d.shape_methods.clone(),
            shape_functions: set(&d.shape_functions),
            print_functions: set(&d.print_functions),
            demo_function_words: d.demo_function_words.clone(),
            config_bases: set(&raw.code_health.config_bases),
            config_class_suffixes: raw.code_health.config_class_suffixes.clone(),
            signature_decorators: set(&raw.code_health.signature_decorators),
            cli_entry_calls: set(&raw.code_health.cli_entry_calls),
            option_calls: set(&raw.code_health.option_calls),
            demo_script_lines: raw.code_health.demo_script_lines,
            deliberate_stop_words: raw.code_health.deliberate_stop_words.clone(),
            diagnostic_switch_words: raw.code_health.diagnostic_switch_words.clone(),
            no_return_calls: set(&raw.code_health.no_return_calls),
            no_return_builtins: raw.code_health.no_return_builtins.clone(),
            no_return_names: {
                let c = &raw.code_health;
                let mut names: Vec<String> = c
                    .no_return_calls
                    .iter()
                    .filter_map(|p| p.rsplit('.').next())
                    .chain(c.no_return_builtins.iter().map(String::as_str))
                    .map(str::to_string)
                    .collect();
                names.sort();
                names.dedup();
                names
            },
            model_bases: set(&b.model),
            loss_bases: set(&b.loss),
            dataset_bases: set(&b.dataset),
            optimizer_bases: set(&b.optimizer),
            runner_bases: set(&b.runner),
            callback_bases: set(&b.callback),
            frameworks: raw
                .frameworks
                .iter()
                .map(|f| Framework {
                    name: f.name.clone(),
                    bases: set(&f.bases),
                    base_names: f
                        .bases
                        .iter()
                        .filter_map(|b| b.rsplit('.').next())
                        .map(str::to_string)
                        .collect(),
                    loss_hooks: f.loss_hooks.clone(),
                    optimizer_hooks: f.optimizer_hooks.clone(),
                })
                .collect(),
            api_table,
            reduction_methods: a.reduction_methods.clone(),
            math_methods: a.math_methods.clone(),
            backward_methods: a.backward_methods.clone(),
            zero_grad_methods: a.zero_grad_methods.clone(),
            apply_gradient_methods: a.apply_gradient_methods.clone(),
            minimize_methods: a.minimize_methods.clone(),
            framework_loss_calls: a.framework_loss_calls.clone(),
            in_memory_decoders: set(&a.in_memory_decoders),
            self_returning_methods: a.self_returning_methods.clone(),
            module_wrappers: set(&a.module_wrappers),
            loss_variables: n.loss_variables,
            loss_suffixes: n.loss_suffixes,
            loss_prefixes: n.loss_prefixes,
            not_loss_words: n.not_loss_words,
            loss_callee_words: n.loss_callee_words,
            loss_function_words: n.loss_function_words,
            loss_function_tokens: n.loss_function_tokens,
            metric_words: n.metric_words,
            random_augmentation_words: n.random_augmentation_words,
            data_verbs: n.data_verbs,
            not_data_words: n.not_data_words,
            model_variables: n.model_variables,
            optimizer_attributes: n.optimizer_attributes,
            loss_collecting_methods: n.loss_collecting_methods,
            loss_class_suffixes: n.loss_class_suffixes,
            loss_modules: n.loss_modules,
            test_file_prefixes: n.test_file_prefixes,
            test_file_suffixes: n.test_file_suffixes,
            test_packages: n.test_packages,
            target_parameters: n.target_parameters,
            forward_methods: n.forward_methods,
            external_modules: n.external_modules.into_iter().collect(),
            builtins: n.builtins.into_iter().collect(),
            usage: UsageKnowledge {
                parse_methods: raw.usage.parse_methods.clone(),
                parser_methods: raw.usage.parser_methods.clone(),
                namespace_names: raw.usage.namespace_names.clone(),
                display_calls: set(&raw.usage.display_calls),
                display_methods: raw.usage.display_methods.clone(),
                launcher_options: raw.usage.launcher_options.clone(),
                transparent_decorators: set(&raw.usage.transparent_decorators),
            },
            shapes: ShapeKnowledge {
                methods: sh.methods,
                jaxtyping: set(&sh.jaxtyping),
                torchtyping: set(&sh.torchtyping),
                other_libraries: set(&sh.other_libraries),
                jaxtyping_unshaped: set(&sh.jaxtyping_unshaped),
                tensor_types: set(&sh.tensor_types),
                tensor_type_names: sh.tensor_type_names,
                docstring_decorators: sh.docstring_decorators,
                return_docstring_decorators: sh.return_docstring_decorators,
                non_tensor_parameters: sh.non_tensor_parameters,
                non_tensor_prefixes: sh.non_tensor_prefixes,
                non_tensor_suffixes: sh.non_tensor_suffixes,
                integer_parameters: sh.integer_parameters,
                integer_suffixes: sh.integer_suffixes,
                mask_suffixes: sh.mask_suffixes,
                einops: set(&sh.einops),
            },
            layout: raw.layout,
            teaching: raw.teaching,
            flags_table: CallFlags::table(&raw.training),
            training: {
                let mut training = raw.training;
                training.activations.words = training.activations.words();
                training.losses.sink_words = training.losses.sink_words();
                let memory = &training.tf_memory;
                let heads: Vec<&str> = memory
                    .model_builders
                    .heads()
                    .chain(memory.model_bases.heads())
                    .chain(
                        (memory.model_builder_modules.iter())
                            .map(|m| m.split('.').next().unwrap_or_default()),
                    )
                    .collect();
                training.tf_memory.words = module_words(&aliases, &heads);
                training
            },
            aliases,
        }
    }

    /// The canonical spelling of a qualified name: `tensorflow.compat.v1.losses.x` and
    /// `tf_keras.losses.x` are the same API as `tensorflow.losses.x` and `keras.losses.x`.
    pub fn canonical<'q>(&self, qualified: &'q str) -> Cow<'q, str> {
        canonicalize(&self.aliases, qualified)
    }

    /// What the lists of `[training]` say a call of the canonical name `canonical` does to
    /// gradients, modes and randomness, from one lookup.
    pub fn call_flags(&self, canonical: &str) -> CallFlags {
        CallFlags(self.flags_table.mask(canonical))
    }

    /// [`Knowledge::canonical`] of an owned name, which it returns when no alias applies (the
    /// common case) instead of copying it.
    pub fn into_canonical(&self, qualified: String) -> String {
        let renamed = match canonicalize(&self.aliases, &qualified) {
            Cow::Owned(renamed) => Some(renamed),
            Cow::Borrowed(_) => None,
        };
        renamed.unwrap_or(qualified)
    }

    /// What calling `canonical` means, if it is a known API. More specific lists win
    /// (a loss class is also under `torch.nn.*`; a scheduler is also under `torch.optim.*`).
    pub fn classify_call(&self, canonical: &str) -> Option<ApiKind> {
        if !self
            .api_heads
            .contains(canonical.split('.').next().unwrap_or(canonical))
        {
            return None;
        }
        let mask = self.api_table.mask(canonical);
        if mask == 0 {
            return None;
        }
        let last = canonical.rsplit('.').next().unwrap_or(canonical);
        let is_class = last.starts_with(|c: char| c.is_ascii_uppercase());
        ApiKind::PRIORITY.iter().copied().find(|kind| {
            mask & (1 << kind.list()) != 0
                && match kind {
                    ApiKind::LossClass => is_class,
                    ApiKind::LossFunction => !is_class,
                    ApiKind::Layer => mask & (1 << NOT_LAYERS_LIST) == 0 && !last.starts_with('_'),
                    _ => true,
                }
        })
    }

    /// A Keras model or layer class, a Keras model builder (`keras.Sequential`,
    /// `keras.applications.ResNet50`), or a base of one (`keras.layers.Layer`), by its canonical
    /// name.
    pub fn is_keras_model_or_layer(&self, canonical: &str) -> bool {
        let memory = &self.training.tf_memory;
        memory.model_builders.contains(canonical)
            || memory.model_bases.contains(canonical)
            || memory.model_builder_modules.iter().any(|m| {
                canonical
                    .strip_prefix(m.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
            })
            || in_list(&self.training.activations.keras_layers, canonical)
    }

    /// The role a (canonical) base class gives its subclasses.
    pub fn base_role(&self, canonical: &str) -> Option<Role> {
        if self.loss_bases.contains(canonical) {
            Some(Role::Loss)
        } else if self.runner_bases.contains(canonical) || self.callback_bases.contains(canonical) {
            Some(Role::Runner)
        } else if self.dataset_bases.contains(canonical) {
            Some(Role::Dataset)
        } else if self.optimizer_bases.contains(canonical) {
            Some(Role::Optimizer)
        } else if self.model_bases.contains(canonical) {
            Some(Role::Model)
        } else {
            None
        }
    }

    /// The framework whose base class this is (for hook semantics).
    pub fn framework_of_base(&self, canonical: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.bases.contains(canonical))
    }

    /// True if a variable name denotes a loss value: `loss`, `ce_loss`, `loss_kl`, `total_loss`,
    /// but not `loss_fn`, `loss_weight`, `loss_type`.
    pub fn is_loss_variable(&self, name: &str) -> bool {
        // Cheap reject first: most names say nothing about losses.
        if !with_lowercase(name, |lower| {
            ["loss", "cost", "objective"]
                .iter()
                .any(|w| contains_bytes(lower, w.as_bytes()))
        }) {
            return false;
        }
        if self
            .loss_variables
            .iter()
            .any(|v| v.eq_ignore_ascii_case(name))
        {
            return true;
        }
        if self
            .loss_suffixes
            .iter()
            .any(|s| name.ends_with(s.as_str()) && name.len() > s.len())
        {
            return true;
        }
        for prefix in &self.loss_prefixes {
            if name.len() > prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix) {
                let rest = &name[prefix.len()..];
                let word = rest.split('_').next().unwrap_or(rest);
                return !self
                    .not_loss_words
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(word));
            }
        }
        false
    }

    /// True if a callee's name says it computes a loss (`criterion`, `compute_loss`, `loss_fn`).
    pub fn is_loss_callee(&self, name: &str) -> bool {
        with_lowercase(name, |lower| {
            let has = |w: &str| contains_bytes(lower, w.as_bytes());
            self.loss_callee_words.iter().any(|w| has(w)) && !has("scale") && !has("weight")
        })
    }

    /// True if a function's name says it computes a loss: a loss callee (`*_loss`, `loss_*`,
    /// `criterion`), or a loss's own name (`cross_entropy`, `kl_divergence`, `mse`, `*_cost`,
    /// `huber_fn`, `gradient_penalty`), and not a metric's (`accuracy`, `compute_metrics`).
    pub fn is_loss_function_name(&self, name: &str) -> bool {
        with_lowercase(name, |lower| {
            let has = |w: &str| contains_bytes(lower, w.as_bytes());
            if self.metric_words.iter().any(|w| has(w)) && !has("loss") {
                return false;
            }
            if self.is_loss_callee(name) {
                return true;
            }
            if self.loss_function_words.iter().any(|w| has(w)) {
                return true;
            }
            let text = std::str::from_utf8(lower).unwrap_or("");
            text.split('_')
                .any(|token| self.loss_function_tokens.iter().any(|t| t == token))
        })
    }

    /// True if a function's name says it prepares data (`load_cora`, `read_images`,
    /// `get_dataset`, `make_batches`) and not a checkpoint or a model (`load_checkpoint`,
    /// `load_params`).
    pub fn is_data_function_name(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        let tokens: Vec<&str> = lower.split('_').filter(|t| !t.is_empty()).collect();
        let Some((first, rest)) = tokens.split_first() else {
            return false;
        };
        if tokens
            .iter()
            .any(|t| self.not_data_words.iter().any(|w| w == t))
        {
            return false;
        }
        (self.data_verbs.iter().any(|v| v == first) && !rest.is_empty())
            || tokens
                .iter()
                .any(|t| self.training.evaluation.data_words.iter().any(|w| w == t))
    }

    /// True if a transform or augmentation API is random (`RandomCrop`, `ColorJitter`,
    /// `tf.image.random_flip_left_right`): data augmentation, not fixed preprocessing.
    pub fn is_random_augmentation(&self, qualified: &str) -> bool {
        let last = qualified.rsplit('.').next().unwrap_or(qualified);
        with_lowercase(last, |lower| {
            self.random_augmentation_words
                .iter()
                .any(|w| contains_bytes(lower, w.as_bytes()))
        })
    }

    /// True if a function's name says it computes a metric (`accuracy`, `compute_metrics`,
    /// `f1_score`) and not a loss.
    pub fn is_metric_name(&self, name: &str) -> bool {
        with_lowercase(name, |lower| {
            let has = |w: &str| contains_bytes(lower, w.as_bytes());
            self.metric_words.iter().any(|w| has(w)) && !has("loss")
        })
    }

    /// True if an attribute name holds a loss callable (`criterion`, `loss_fn`, `mlm_loss`),
    /// stricter than [`Knowledge::is_loss_callee`]: `compute_aux_loss` is a flag.
    pub fn is_loss_attribute(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        lower.contains("criterion")
            || matches!(lower.as_str(), "loss" | "losses" | "objective")
            || [
                "loss_fn",
                "loss_func",
                "loss_fct",
                "loss_function",
                "_losses",
            ]
            .iter()
            .any(|suffix| lower.ends_with(suffix))
    }

    /// True if a variable name usually holds a model (`model`, `net`, `netG`, `encoder`).
    pub fn is_model_variable(&self, name: &str) -> bool {
        let stripped = name.trim_start_matches('_');
        self.model_variables.iter().any(|v| {
            stripped == v
                || stripped
                    .strip_suffix(v.as_str())
                    .is_some_and(|p| p.ends_with('_'))
                || stripped
                    .strip_prefix(v.as_str())
                    .is_some_and(|s| s.starts_with('_'))
        })
    }

    /// A plain attribute an optimizer object has (`param_groups`, `lr`).
    pub fn is_optimizer_attribute(&self, name: &str) -> bool {
        self.optimizer_attributes.iter().any(|a| a == name)
    }

    /// True if a variable name usually holds an optimizer (`optimizer`, `opt`, `g_optim`).
    pub fn is_optimizer_variable(&self, name: &str) -> bool {
        const WORDS: [&str; 6] = [
            "opt",
            "optim",
            "optimizer",
            "optimizers",
            "optimiser",
            "optimisers",
        ];
        let lower = name.to_ascii_lowercase();
        lower
            .split(|c: char| c == '_' || c.is_ascii_digit())
            .any(|word| {
                WORDS.contains(&word)
                    || word.starts_with("optimizer")
                    || word.starts_with("optimiser")
                    || (word.len() <= 4
                        && (word.starts_with("opt") || word.ends_with("opt"))
                        && word != "option")
            })
            && !lower.contains("sched")
    }

    /// True if a class name marks a Loss component (`FocalLoss`, `LabelSmoothedCriterion`).
    /// True for test code: a `test_*.py`/`*_test.py`/`conftest.py` file or a module inside a
    /// `tests`/`testing` package. Its components are fixtures, not the architecture.
    pub fn is_test_module(&self, package: Option<&str>, file_name: &str) -> bool {
        self.test_file_prefixes
            .iter()
            .any(|p| file_name.starts_with(p.as_str()))
            || self
                .test_file_suffixes
                .iter()
                .any(|s| file_name.ends_with(s.as_str()))
            || package.is_some_and(|p| {
                p.split('.')
                    .any(|part| self.test_packages.iter().any(|t| t == part))
            })
    }

    pub fn is_loss_class_name(&self, name: &str) -> bool {
        self.loss_class_suffixes
            .iter()
            .any(|s| name.ends_with(s.as_str()) && name.len() > s.len())
    }

    /// True if a qualified name lives in a module that is never part of the project.
    /// [`Knowledge::is_external`], except that a file's own top-level package is never external
    /// (linting `transformers` itself: `transformers.models.bert` is project code there).
    pub fn is_external_from(&self, qualified: &str, own_package: Option<&str>) -> bool {
        let head = qualified.split('.').next().unwrap_or(qualified);
        let own_head = own_package.and_then(|p| p.split('.').next());
        own_head != Some(head) && self.is_external(qualified)
    }

    pub fn is_external(&self, qualified: &str) -> bool {
        let head = qualified.split('.').next().unwrap_or(qualified);
        self.external_modules.contains(head)
    }

    pub fn is_builtin_name(&self, name: &str) -> bool {
        self.builtins.contains(name)
    }

    /// True if a module path segment or file stem names a place for losses (`losses.py`,
    /// `criterions/`, `focal_loss.py`).
    /// True if any directory or the file of `path` is a losses module (`losses/`, `loss.py`).
    pub fn is_in_loss_module(&self, path: &std::path::Path) -> bool {
        path.iter()
            .filter_map(|p| p.to_str())
            .any(|p| self.is_loss_module(p.strip_suffix(".py").unwrap_or(p)))
    }

    pub fn is_loss_module(&self, segment: &str) -> bool {
        self.loss_modules.iter().any(|m| {
            segment.eq_ignore_ascii_case(m)
                || segment.len() > m.len()
                    && segment.as_bytes()[segment.len() - m.len() - 1] == b'_'
                    && segment[segment.len() - m.len()..].eq_ignore_ascii_case(m)
        })
    }

    /// True if a parameter name carries training targets (`labels`, `target`, `y`).
    /// Also `mask_labels`, `class_targets`, `gt_boxes`, `target_ids` (but not `num_labels`).
    pub fn is_target_parameter(&self, name: &str) -> bool {
        if self.target_parameters.iter().any(|p| p == name) {
            return true;
        }
        if name.starts_with("num_") || name.starts_with("n_") {
            return false;
        }
        ["_labels", "_label", "_targets", "_target"]
            .iter()
            .any(|s| name.ends_with(s))
            || ["gt_", "target_", "targets_", "labels_"]
                .iter()
                .any(|p| name.starts_with(p))
    }

    /// True if `name` is the class name of some framework base (`LightningModule`, `Trainer`):
    /// a cheap filter before checking whether a class *is* that base.
    pub fn is_framework_base_name(&self, name: &str) -> bool {
        self.frameworks
            .iter()
            .any(|f| f.base_names.iter().any(|b| b == name))
    }

    pub fn is_forward_method(&self, name: &str) -> bool {
        self.forward_methods.iter().any(|m| m == name)
    }
}

/// Substring test for short haystacks (identifiers): a plain scan beats building a searcher.
fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    // Names are short: comparing the first byte before the rest spares a `memcmp` call at
    // almost every position (the name heuristics run for every call and assignment).
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let Some(last_start) = haystack.len().checked_sub(needle.len()) else {
        return false;
    };
    haystack[..=last_start]
        .iter()
        .enumerate()
        .any(|(i, &b)| b == first && haystack[i + 1..i + needle.len()] == *rest)
}

/// Run `f` on the ASCII-lowercased bytes of `name`, without allocating for names of ordinary
/// length. Name heuristics run for every call and assignment in a file.
fn with_lowercase<T>(name: &str, f: impl FnOnce(&[u8]) -> T) -> T {
    let bytes = name.as_bytes();
    let mut buffer = [0u8; 64];
    if bytes.len() <= buffer.len() {
        let lowered = &mut buffer[..bytes.len()];
        lowered.copy_from_slice(bytes);
        lowered.make_ascii_lowercase();
        f(lowered)
    } else {
        f(name.to_ascii_lowercase().as_bytes())
    }
}

/// The words one of which a file spells when a name it resolves canonicalises under one of
/// the top-level modules `heads` (`keras`): the import a name resolves through spells every
/// segment of the module it names, so the name spells its module's head, or every segment of
/// an alias's `from` that canonicalises under one (`tf_keras`, `tensorflow.keras`). Only a
/// relative import leaves a prefix unspelled: the file's own package's (see
/// [`crate::checker::Context::may_name`]). A word that contains another is found through the
/// shorter one.
fn module_words(aliases: &FxHashMap<String, Vec<(String, String)>>, heads: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
    for (from, to) in aliases.values().flatten() {
        let target = canonicalize(aliases, to);
        if !heads.contains(&target.split('.').next().unwrap_or_default()) {
            continue;
        }
        let spelled = |words: &[String]| {
            from.split('.')
                .any(|segment| words.iter().any(|w| segment.contains(w.as_str())))
        };
        if !spelled(&words)
            && let Some(longest) = from.split('.').max_by_key(|segment| segment.len())
        {
            words.push(longest.to_string());
        }
    }
    words.sort();
    words.dedup();
    let all = words.clone();
    words.retain(|w| !all.iter().any(|o| o != w && w.contains(o.as_str())));
    words
}

/// Apply aliases until none applies (`pytorch_lightning.core.module.X` →
/// `lightning.pytorch.core.module.X` → `lightning.pytorch.X`); bounded, aliases may chain.
/// Borrows when no alias applies (the common case).
fn canonicalize<'q>(
    aliases: &FxHashMap<String, Vec<(String, String)>>,
    qualified: &'q str,
) -> Cow<'q, str> {
    let mut current = Cow::Borrowed(qualified);
    'rounds: for _ in 0..4 {
        let bytes = current.as_bytes();
        let head = match bytes.iter().position(|&b| b == b'.') {
            Some(dot) => &current[..dot],
            None => &current,
        };
        let Some(candidates) = aliases.get(head) else {
            break;
        };
        for (from, to) in candidates {
            // A prefix ends at a segment's end: the byte after it, a cheap test that rejects
            // most candidates before their text is compared.
            let end = from.len();
            if bytes.len() >= end
                && bytes.get(end).is_none_or(|&b| b == b'.')
                && let Some(rest) = current.strip_prefix(from.as_str())
            {
                current = Cow::Owned(format!("{to}{rest}"));
                continue 'rounds;
            }
        }
        break;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_bytes_finds_a_word_anywhere_in_a_name() {
        let names = [
            "",
            "l",
            "loss",
            "xloss",
            "lossx",
            "llooss",
            "my_loss_fn",
            "los",
            "sloss",
        ];
        let words = [
            "",
            "l",
            "loss",
            "ss",
            "los",
            "x",
            "my_loss_fn",
            "my_loss_fn_",
        ];
        for name in names {
            for word in words {
                assert_eq!(
                    contains_bytes(name.as_bytes(), word.as_bytes()),
                    name.contains(word),
                    "{word:?} in {name:?}"
                );
            }
        }
    }

    #[test]
    fn builtin_data_loads_and_canonicalises() {
        let k = Knowledge::builtin();
        assert_eq!(
            k.canonical("tensorflow.compat.v1.losses.log_loss"),
            "tensorflow.losses.log_loss"
        );
        assert_eq!(
            k.canonical("torch.nn.modules.loss.CrossEntropyLoss"),
            "torch.nn.CrossEntropyLoss"
        );
        assert_eq!(k.canonical("torchx.y"), "torchx.y");
        assert_eq!(
            k.canonical("pytorch_lightning.core.module.LightningModule"),
            "lightning.pytorch.LightningModule"
        );
        assert!(k.debugger_calls.contains("pdb.set_trace"));
        assert!(k.debugger_modules.contains("IPython.core.debugger"));
    }

    #[test]
    fn sink_words_name_every_loss_and_logarithm_the_activation_rules_follow() {
        let k = Knowledge::builtin();
        let words = &k.training.losses.sink_words;
        for word in [
            "cross_entropy",
            "CrossEntropyLoss",
            "BCELoss",
            "log",
            "log10",
        ] {
            assert!(words.iter().any(|w| w == word), "{word} in {words:?}");
        }
        // The pre-filter is sound only if canonicalising never renames a listed API. An alias
        // keeps whatever follows its prefix, so a name keeps its last segment unless it is an
        // alias's whole prefix: no such name may canonicalise (through any chain of aliases)
        // to a listed API.
        let l = &k.training.losses;
        let listed = |name: &str| {
            [&l.logits, &l.keras_from_logits, &l.probability_bce, &l.logs]
                .iter()
                .any(|list| list.iter().any(|entry| entry == name))
        };
        for (from, _) in k.aliases.values().flatten() {
            let canonical = k.canonical(from);
            assert!(
                !listed(&canonical),
                "`{from}` canonicalises to the listed `{canonical}`"
            );
        }
    }

    #[test]
    fn call_flags_answer_as_the_lists_do() {
        let k = Knowledge::builtin();
        let (seeding, evaluation) = (&k.training.seeding, &k.training.evaluation);
        let sets = [
            &seeding.initialised_layers,
            &seeding.not_initialised_layers,
            &seeding.random_calls,
            &evaluation.mode_layers,
        ];
        // Every listed name, names below and beside every pattern, and names of no list.
        let mut names: Vec<String> = evaluation.no_grad.clone();
        for pattern in sets.iter().flat_map(|set| set.patterns()) {
            let filled = pattern.replace('*', "Dropout");
            names.push(pattern.trim_end_matches(".*").to_string());
            names.push(format!("{filled}.x"));
            names.push(format!("{}x", pattern.trim_end_matches('*')));
            names.push(filled);
        }
        names.extend(
            [
                "torch.nn.Linear",
                "torch.randn",
                "numpy.random.rand",
                "",
                "x",
            ]
            .map(String::from),
        );
        assert!(names.len() > 50, "{}", names.len());
        for name in &names {
            let flags = k.call_flags(name);
            assert_eq!(
                flags.turns_grad_off(),
                evaluation.no_grad.iter().any(|n| n == name),
                "{name}"
            );
            assert_eq!(
                flags.initialises_randomly(),
                seeding.initialised_layers.contains(name)
                    && !seeding.not_initialised_layers.contains(name),
                "{name}"
            );
            assert_eq!(
                flags.draws_random(),
                seeding.random_calls.contains(name),
                "{name}"
            );
            assert_eq!(
                flags.is_mode_layer(),
                evaluation.mode_layers.contains(name),
                "{name}"
            );
        }
    }

    #[test]
    fn module_words_spell_every_way_to_name_a_module() {
        // Keras is named as `keras`, `tf.keras`, `tensorflow.python.keras` or `tf_keras`.
        assert_eq!(Knowledge::builtin().training.tf_memory.words, ["keras"]);
        let mut aliases: FxHashMap<String, Vec<(String, String)>> = FxHashMap::default();
        for (from, to) in [
            ("tfk", "keras"),
            ("legacy.nets", "tfk.nets"),
            ("tensorflow.compat.v1", "tensorflow"),
            ("torch.nn.modules", "torch.nn"),
        ] {
            let head = from.split('.').next().unwrap().to_string();
            aliases
                .entry(head)
                .or_default()
                .push((from.to_string(), to.to_string()));
        }
        // An alias into `keras` adds its spelling, through a chain too; the others add nothing.
        assert_eq!(
            module_words(&aliases, &["keras"]),
            ["keras", "legacy", "tfk"]
        );
        assert_eq!(module_words(&aliases, &["torch"]), ["torch"]);
    }

    #[test]
    fn activation_words_cover_every_spelling() {
        let words = &Knowledge::builtin().training.activations.words;
        // `log_softmax` is found through `softmax`; layers are capitalised.
        for word in ["softmax", "sigmoid", "expit", "Softmax", "Sigmoid"] {
            assert!(words.iter().any(|w| w == word), "{word} in {words:?}");
        }
        assert!(!words.iter().any(|w| w == "log_softmax"));
        let covered = |text: &str| words.iter().any(|w| text.contains(w.as_str()));
        assert!(covered("nn.LogSoftmax(dim=1)"));
        assert!(covered("Dense(10, activation='sigmoid')"));
        assert!(!covered("x = F.relu(self.fc(x))"));
    }

    #[test]
    fn classifies_framework_apis() {
        let k = Knowledge::builtin();
        let c = |q: &str| k.classify_call(&k.canonical(q));
        assert_eq!(c("torch.nn.CrossEntropyLoss"), Some(ApiKind::LossClass));
        assert_eq!(
            c("torch.nn.functional.cross_entropy"),
            Some(ApiKind::LossFunction)
        );
        assert_eq!(
            c("torch.nn.functional.mse_loss"),
            Some(ApiKind::LossFunction)
        );
        assert_eq!(c("torch.nn.Linear"), Some(ApiKind::Layer));
        assert_eq!(c("torch.nn.functional.relu"), Some(ApiKind::Math));
        assert_eq!(c("torch.optim.Adam"), Some(ApiKind::Optimizer));
        assert_eq!(
            c("torch.optim.lr_scheduler.StepLR"),
            Some(ApiKind::Scheduler)
        );
        assert_eq!(
            c("tensorflow.compat.v1.train.AdamOptimizer"),
            Some(ApiKind::Optimizer)
        );
        assert_eq!(
            c("tensorflow.keras.losses.SparseCategoricalCrossentropy"),
            Some(ApiKind::LossClass)
        );
        assert_eq!(
            c("tensorflow.keras.losses.sparse_categorical_crossentropy"),
            Some(ApiKind::LossFunction)
        );
        assert_eq!(
            c("tensorflow.nn.sparse_softmax_cross_entropy_with_logits"),
            Some(ApiKind::LossFunction)
        );
        assert_eq!(c("tensorflow.layers.dense"), Some(ApiKind::Layer));
        assert_eq!(c("tensorflow.GradientTape"), Some(ApiKind::GradientTape));
        assert_eq!(
            c("optax.softmax_cross_entropy_with_integer_labels"),
            Some(ApiKind::LossFunction)
        );
        assert_eq!(c("optax.adam"), Some(ApiKind::Optimizer));
        assert_eq!(
            c("optax.warmup_cosine_decay_schedule"),
            Some(ApiKind::Scheduler)
        );
        assert_eq!(c("jax.value_and_grad"), Some(ApiKind::GradTransform));
        assert_eq!(
            c("torch.utils.data.DataLoader"),
            Some(ApiKind::DataPipeline)
        );
        assert_eq!(c("cv2.imread"), Some(ApiKind::DataLoading));
        assert_eq!(c("torch.mean"), Some(ApiKind::Reduction));
        assert_eq!(c("os.path.join"), None);
    }

    #[test]
    fn base_roles() {
        let k = Knowledge::builtin();
        let r = |q: &str| k.base_role(&k.canonical(q));
        assert_eq!(r("torch.nn.Module"), Some(Role::Model));
        assert_eq!(r("torch.nn.modules.loss._Loss"), Some(Role::Loss));
        assert_eq!(r("torch.nn.CrossEntropyLoss"), Some(Role::Loss));
        assert_eq!(r("pytorch_lightning.LightningModule"), Some(Role::Model));
        assert_eq!(r("tensorflow.keras.Model"), Some(Role::Model));
        assert_eq!(r("torch.utils.data.Dataset"), Some(Role::Dataset));
        assert_eq!(r("transformers.Trainer"), Some(Role::Runner));
        assert!(
            k.framework_of_base("pytorch_lightning.LightningModule")
                .is_none()
        );
        assert_eq!(
            k.framework_of_base(&k.canonical("pytorch_lightning.LightningModule"))
                .map(|f| f.name.as_str()),
            Some("PyTorch Lightning")
        );
    }

    #[test]
    fn name_heuristics() {
        let k = Knowledge::builtin();
        for yes in [
            "loss",
            "ce_loss",
            "loss_kl",
            "total_loss",
            "masked_lm_loss",
            "loss_1",
            "cost",
            "gLoss",
        ] {
            assert!(k.is_loss_variable(yes), "{yes}");
        }
        for no in [
            "loss_fn",
            "loss_fct",
            "loss_weight",
            "loss_type",
            "losses_fn_x",
            "lossy",
            "floss",
            "loss_scale",
        ] {
            assert!(!k.is_loss_variable(no), "{no}");
        }
        assert!(k.is_loss_callee("criterion"));
        assert!(k.is_loss_callee("compute_loss"));
        assert!(!k.is_loss_callee("loss_scale"));
        assert!(k.is_model_variable("model"));
        assert!(k.is_model_variable("netG"));
        assert!(k.is_model_variable("teacher_model"));
        assert!(!k.is_model_variable("modelling"));
        assert!(k.is_optimizer_variable("optimizer_g"));
        assert!(k.is_optimizer_variable("optimizerG"));
        assert!(k.is_optimizer_variable("g_opt"));
        assert!(k.is_optimizer_variable("optD"));
        assert!(!k.is_optimizer_variable("options"));
        assert!(!k.is_optimizer_variable("automatic_optimization"));
        assert!(!k.is_optimizer_variable("adopt"));
        assert!(!k.is_optimizer_variable("lr_scheduler"));
    }
}
