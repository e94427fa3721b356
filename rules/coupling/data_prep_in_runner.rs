use super::{file_name, is_role};
use crate::knowledge::ApiKind;
use crate::registry::prelude::*;
use crate::semantic::Role;
use crate::semantic::facts::{ClassId, FunctionId, LoopId, ScopeFacts};
use crate::semantic::index::{FileId, Symbol};
use crate::semantic::verdict::ancestry;

declare_rule! {
    /// ## What it does
    /// Finds training loops that prepare their data themselves: reading or decoding files per
    /// batch (`cv2.imread`, `PIL.Image.open`, `np.load`, `torchaudio.load`), directly or through
    /// a project helper they call (`batch = [load_image(p) for p in paths]`), augmenting the
    /// batch (`tf.image.random_flip_left_right(x)`, `TF.hflip(x)`, `T.RandomCrop(32)(x)` on a
    /// value from the loop's batch), or drawing the batch by hand over a data set
    /// (`X[np.random.choice(len(X), 32)]`, `random.sample(samples, 32)`).
    ///
    /// Not reported: shuffling an index order (`np.random.shuffle(idx)` over an in-memory
    /// array, the minibatch loop of a PPO update), sampling a buffer the loop fills itself
    /// (experience replay), files opened for writing (`h5py.File(log, "w")`), decoding bytes
    /// already in memory (a figure rendered for a log), transforms applied to something other
    /// than the batch (de-normalising a generated image before it is saved), and helpers that
    /// feed the loop as a pipeline (a generator that loads and yields batches, a function that
    /// returns a `DataLoader`).
    ///
    /// ## Why is this bad?
    /// Data preparation belongs to the Dataset: there it runs in `DataLoader` worker processes
    /// in parallel with training, is reused by evaluation, and can be tested alone. Inline it
    /// stalls the accelerator while the loop reads files, and is copied into every script.
    ///
    /// ## Example
    /// ```python
    /// for epoch in range(epochs):
    ///     for path, label in samples:
    ///         image = cv2.imread(path)
    ///         image = cv2.resize(image, (224, 224))
    ///         loss = loss_fn(model(to_tensor(image)), label)
    ///         ...
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// class ImageDataset(Dataset):
    ///     def __getitem__(self, i):
    ///         path, label = self.samples[i]
    ///         return self.transform(cv2.imread(path)), label
    ///
    /// for x, y in DataLoader(ImageDataset(samples), batch_size=32, num_workers=4):
    ///     loss = loss_fn(model(x), y)
    /// ```
    ///
    /// ## Notebooks
    /// Skipped, as in teaching code (a folder of examples, tutorials or lessons; a numbered
    /// lesson): the notebook shows a training loop that prepares its own data on purpose, one
    /// technique top to bottom, and reviewers found such findings true but never worth a change
    /// there. Architecture is for the project's code. Turn it back on by listing the notebook-
    /// ignore rules without it.
    pub static DATA_PREP_IN_RUNNER = {
        code: "DL106",
        name: "data-prep-in-runner",
        family: Family::Coupling,
        severity: Severity::Warning,
        notebooks: Notebooks::Skip,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    if cx.roles.module(cx.file).contains(Role::Runner) {
        report(
            cx,
            None,
            &facts.module,
            None,
            &format!("the module-level training loop of `{}`", file_name(cx)),
            out,
        );
    }
    for (id, function) in facts.functions.iter().enumerate() {
        let runner_function = cx
            .roles
            .function(cx.file, id as u32)
            .roles
            .contains(Role::Runner);
        let in_dataset = function
            .class
            .is_some_and(|c| is_role(cx, c, Role::Dataset));
        if runner_function && !in_dataset {
            report(
                cx,
                Some(id as u32),
                &function.body,
                function.class,
                &format!("the training loop in `{}`", facts.qualname(id as u32)),
                out,
            );
        }
    }
}

/// How a training loop prepares data itself.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prep {
    Loads,
    Augments,
    Samples,
}

struct Site {
    range: TextRange,
    prep: Prep,
    /// The call as shown: `` `cv2.imread` `` or `` `get_image`, which reads files with `cv2.imread` ``.
    what: String,
}

fn report(
    cx: &ProjectContext<'_>,
    function: Option<FunctionId>,
    scope: &ScopeFacts,
    class: Option<ClassId>,
    place: &str,
    out: &mut Vec<Diagnostic>,
) {
    for training in cx.training_loops(function) {
        let training = training.id;
        let inside = |l: Option<LoopId>| scope.loop_within(l, training);
        let mut sites: Vec<Site> = Vec::new();
        let decoders = &cx.knowledge().in_memory_decoders;
        for api in scope.api_calls.iter().filter(|a| inside(a.in_loop)) {
            let prep = match api.kind {
                ApiKind::DataLoading if !decoders.contains(&api.name) => Prep::Loads,
                ApiKind::Augmentation if api.on_data => Prep::Augments,
                ApiKind::Sampling if api.on_data => Prep::Samples,
                _ => continue,
            };
            sites.push(Site {
                range: api.range,
                prep,
                what: format!("`{}`", api.name),
            });
        }
        // Project helpers called per batch that read files (`batch = [load(p) for p in paths]`).
        for call in scope.project_calls.iter().filter(|c| inside(c.in_loop)) {
            if let Some(Symbol::Function(f, id)) = cx.index.resolve_callee(cx.file, &call.callee)
                && let Some(reads) = helper_reads(cx, f, id, 0)
            {
                sites.push(Site {
                    range: call.range,
                    prep: Prep::Loads,
                    what: format!("`{}`, which reads files with `{reads}`", call.callee.name()),
                });
            }
        }
        if let Some(class) = class {
            for call in &scope.self_calls {
                if !inside(call.in_loop) {
                    continue;
                }
                let (name, range) = (&call.method, &call.range);
                let method = ancestry(cx.index, cx.file, class)
                    .into_iter()
                    .find_map(|(f, c)| cx.index.facts(f).method(c, name).map(|(id, _)| (f, id)));
                if let Some((f, id)) = method
                    && let Some(reads) = helper_reads(cx, f, id, 0)
                {
                    sites.push(Site {
                        range: *range,
                        prep: Prep::Loads,
                        what: format!("`self.{name}`, which reads files with `{reads}`"),
                    });
                }
            }
        }
        sites.sort_by_key(|s| (s.range.start(), s.range.end()));
        sites.dedup_by_key(|s| s.range);
        let Some(first) = sites.first() else { continue };
        let verb = match first.prep {
            Prep::Loads => "loads data itself",
            Prep::Augments => "augments its batch itself",
            Prep::Samples => "samples its batch by hand",
        };
        let mut diagnostic = Diagnostic::new(
            &DATA_PREP_IN_RUNNER,
            format!("{place} {verb} ({})", first.what),
            first.range,
        )
        .with_label(scope.loops[training as usize].header, "the training loop")
        .with_help(
            "move reading, decoding, augmentation and sampling into a `Dataset` (`__getitem__` \
             returns one prepared sample) and iterate a `DataLoader` over it, so workers prepare \
             batches in parallel with training",
        );
        for site in sites.iter().skip(1).take(3) {
            diagnostic = diagnostic.with_label(site.range, format!("also {}", site.what));
        }
        out.push(diagnostic);
    }
}

/// How deep project helpers are followed for file reading (`get_image` → `imread` →
/// `cv2.imread`).
const MAX_HELPER_DEPTH: u8 = 3;

/// The data-loading call a project helper makes (itself or through the helpers it calls), if
/// the helper is not a component that feeds the loop as a pipeline: a generator that loads and
/// yields batches, a function that returns a data pipeline, a method of a Dataset class, or a
/// Runner (reported where its own loop is). A function that reads and returns what it read,
/// called once per batch, is the loop reading its data synchronously.
fn helper_reads(
    cx: &ProjectContext<'_>,
    file: FileId,
    id: FunctionId,
    depth: u8,
) -> Option<String> {
    if cx.roles.function(file, id).roles.contains(Role::Runner) {
        return None;
    }
    let facts = cx.index.facts(file);
    let function = &facts.functions[id as usize];
    let pipeline = function.is_generator
        || function
            .returns_apis
            .iter()
            .any(|k| matches!(k, ApiKind::DataPipeline | ApiKind::Transform));
    if pipeline
        || function
            .class
            .is_some_and(|c| cx.roles.class(file, c).roles.contains(Role::Dataset))
    {
        return None;
    }
    let decoders = &cx.index.knowledge(file).in_memory_decoders;
    if let Some(api) = function
        .body
        .api_calls
        .iter()
        .find(|a| a.kind == ApiKind::DataLoading && !decoders.contains(&a.name))
    {
        return Some(api.name.to_string());
    }
    if depth + 1 >= MAX_HELPER_DEPTH {
        return None;
    }
    function.body.project_calls.iter().find_map(|call| {
        match cx.index.resolve_callee(file, &call.callee) {
            Some(Symbol::Function(f, inner)) if (f, inner) != (file, id) => {
                helper_reads(cx, f, inner, depth + 1)
            }
            _ => None,
        }
    })
}
