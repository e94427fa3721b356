//! DL104 loss-with-backward through the real binary: training-step functions with a loss
//! formula fused in are reported only with the `task-functions` option.

mod common;

use common::project;

const STEPS: &str = "import torch.nn.functional as F\n\n\ndef update_discriminator(discriminator, real, fake, optimizer):\n    loss = F.softplus(-discriminator(real)).mean() + F.softplus(discriminator(fake)).mean()\n    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()\n    return loss\n\n\ndef compute_td_loss(q, s, target, optimizer):\n    loss = (q(s) - target).pow(2).mean()\n    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()\n    return loss\n";

/// The tf.distribute recipe: one library loss reduced and scaled by the global batch size,
/// with the backend reached through a module-level alias (`K = keras.backend`).
const DISTRIBUTED: &str = "import tensorflow as tf\nfrom tensorflow import keras\n\nK = keras.backend\nGLOBAL_BATCH_SIZE = 64\n\n\ndef make_step(model, optimizer):\n    def step_fn(inputs):\n        x, y = inputs\n        with tf.GradientTape() as tape:\n            probs = model(x)\n            loss = K.sum(keras.losses.sparse_categorical_crossentropy(y, probs)) / GLOBAL_BATCH_SIZE\n        grads = tape.gradient(loss, model.trainable_variables)\n        optimizer.apply_gradients(zip(grads, model.trainable_variables))\n        return loss\n\n    return step_fn\n";

fn concise(dir: &tempfile::TempDir) -> String {
    common::concise_findings(dir.path(), "DL104")
}

#[test]
fn task_functions_are_reported_only_when_asked() {
    let default = project(&[("steps.py", STEPS)]);
    assert_eq!(
        concise(&default),
        "steps.py:15:5: warning[DL104] loss function `compute_td_loss` also calls `backward()`\n"
    );

    let asked = project(&[
        ("steps.py", STEPS),
        ("distributed.py", DISTRIBUTED),
        (
            "pyproject.toml",
            "[tool.dllint.loss-with-backward]\ntask-functions = true\n",
        ),
    ]);
    assert_eq!(
        concise(&asked),
        "steps.py:5:5: warning[DL104] `update_discriminator` fuses a loss formula (it is a loss formula written out) with the gradient computation and the parameter update\n\
         steps.py:15:5: warning[DL104] loss function `compute_td_loss` also calls `backward()`\n"
    );
}

/// The fixture of the task branch (`fixtures/options/DL104_task_functions.py`): with the option
/// its markers are the findings, without it nothing is reported.
#[test]
fn the_task_branch_fixture_matches_its_markers_with_the_option() {
    let root = common::root();
    let text =
        std::fs::read_to_string(root.join("fixtures/options/DL104_task_functions.py")).unwrap();
    let expected: Vec<usize> = common::expected_markers(&text).into_keys().collect();
    let rows = |dir: &tempfile::TempDir| -> Vec<usize> {
        concise(dir)
            .lines()
            .filter_map(|l| l.split(':').nth(1)?.parse().ok())
            .collect()
    };
    let default = project(&[("steps.py", &text)]);
    assert_eq!(rows(&default), Vec::<usize>::new());
    let asked = project(&[
        ("steps.py", &text),
        (
            "pyproject.toml",
            "[tool.dllint.loss-with-backward]\ntask-functions = true\n",
        ),
    ]);
    assert_eq!(rows(&asked), expected);
}
