use super::{file_name, is_role};
use crate::knowledge::ApiKind;
use crate::registry::prelude::*;
use crate::semantic::Role;
use crate::semantic::facts::ScopeFacts;

declare_rule! {
    /// ## What it does
    /// Finds training loops that load or augment data themselves: reading or decoding files
    /// (`cv2.imread`, `PIL.Image.open`, `np.load`, `torchaudio.load`), applying transforms or
    /// random augmentation (`torchvision.transforms`, `tf.image.random_*`), or sampling the batch
    /// by hand (`np.random.permutation`, `random.sample`) inside the loop body.
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
    pub static DATA_PREP_IN_RUNNER = {
        code: "DL106",
        name: "data-prep-in-runner",
        family: Family::Coupling,
        severity: Severity::Warning,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::Project(check),
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    if cx.roles.module(cx.file).contains(Role::Runner) {
        report(
            cx,
            None,
            &facts.module,
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
                &format!("the training loop in `{}`", facts.qualname(id as u32)),
                out,
            );
        }
    }
}

fn report(
    cx: &ProjectContext<'_>,
    function: Option<u32>,
    scope: &ScopeFacts,
    place: &str,
    out: &mut Vec<Diagnostic>,
) {
    for training in cx.training_loops(function) {
        let training = training.id;
        let calls: Vec<_> = scope
            .api_calls
            .iter()
            .filter(|a| matches!(a.kind, ApiKind::DataLoading | ApiKind::Augmentation))
            .filter(|a| scope.loop_within(a.in_loop, training))
            .collect();
        let Some(first) = calls.first() else { continue };
        let verb = if first.kind == ApiKind::DataLoading {
            "loads data"
        } else {
            "prepares data"
        };
        let mut diagnostic = Diagnostic::new(
            &DATA_PREP_IN_RUNNER,
            format!("{place} {verb} itself (`{}`)", first.name),
            first.range,
        )
        .with_label(scope.loops[training as usize].header, "the training loop")
        .with_help(
            "move reading, decoding and augmentation into a `Dataset` (`__getitem__` returns one \
             prepared sample) and iterate a `DataLoader` over it, so workers prepare batches in \
             parallel with training",
        );
        for call in calls.iter().skip(1).take(3) {
            diagnostic = diagnostic.with_label(call.range, format!("also `{}`", call.name));
        }
        out.push(diagnostic);
    }
}
