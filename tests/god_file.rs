//! DL201 god-file through the real binary: the `max-lines` option and a split plan that follows
//! the project's existing layout.

mod common;

use common::{project, run, stderr, stdout};

const MODEL_AND_LOSS: &str = "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Encoder(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.proj = nn.Linear(8, 4)\n\n    def forward(self, x):\n        return self.proj(x)\n\n\ndef margin_loss(scores, labels):\n    return F.relu(1 - scores * labels).mean()\n";

const WHOLE_EXPERIMENT: &str = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom torch.utils.data import Dataset\n\n\nclass Pairs(Dataset):\n    def __init__(self, items):\n        self.items = items\n\n    def __len__(self):\n        return len(self.items)\n\n    def __getitem__(self, i):\n        return torch.load(self.items[i])\n\n\nclass Encoder(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.proj = nn.Linear(8, 4)\n\n    def forward(self, x):\n        return self.proj(x)\n\n\ndef margin_loss(scores, labels):\n    return F.relu(1 - scores * labels).mean()\n";

fn concise(dir: &tempfile::TempDir) -> String {
    common::concise_findings(dir.path(), "DL201")
}

#[test]
fn two_roles_are_reported_only_above_max_lines() {
    let short = project(&[("encoder.py", MODEL_AND_LOSS)]);
    assert_eq!(
        concise(&short),
        "",
        "two roles in 15 lines are under the default 800"
    );

    let strict = project(&[
        ("encoder.py", MODEL_AND_LOSS),
        ("pyproject.toml", "[tool.dllint.god-file]\nmax-lines = 10\n"),
    ]);
    assert_eq!(
        concise(&strict),
        "encoder.py:1:1: warning[DL201] `encoder.py` implements 2 MODLR roles in 15 lines (more than 10): Model, Loss\n"
    );
}

#[test]
fn a_misspelled_option_names_the_key() {
    let dir = project(&[
        ("encoder.py", MODEL_AND_LOSS),
        ("pyproject.toml", "[tool.dllint.god-file]\nmax-line = 10\n"),
    ]);
    let out = run(dir.path(), &["check", "."], None);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("max-line") && err.contains("max-lines"),
        "{err}"
    );
}

#[test]
fn the_split_plan_follows_the_existing_layout() {
    let dir = project(&[
        ("experiment.py", WHOLE_EXPERIMENT),
        ("models/__init__.py", ""),
        ("losses.py", ""),
        ("data.py", ""),
    ]);
    let out = run(
        dir.path(),
        &["check", "--select", "DL201", "--output-format", "json", "."],
        None,
    );
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings.len(), 1, "{}", stdout(&out));
    assert_eq!(
        findings[0]["help"],
        "split it by role: move `Pairs` to `data.py`; `Encoder` to `models/`; `margin_loss` to `losses.py`; what remains in `experiment.py` wires them together"
    );
    let labels: Vec<&str> = findings[0]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "Dataset: `Pairs`",
            "Model: `Encoder`",
            "Loss: `margin_loss`"
        ]
    );
}

#[test]
fn test_modules_are_not_god_files() {
    let dir = project(&[("tests/test_training.py", WHOLE_EXPERIMENT)]);
    assert_eq!(concise(&dir), "");
}

#[test]
fn a_role_already_in_its_place_stays() {
    let dir = project(&[
        ("pyproject.toml", "[tool.dllint.god-file]\nmax-lines = 10\n"),
        ("models/__init__.py", ""),
        ("models/encoder.py", MODEL_AND_LOSS),
        ("losses.py", ""),
    ]);
    let out = run(
        dir.path(),
        &["check", "--select", "DL201", "--output-format", "json", "."],
        None,
    );
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings.len(), 1, "{}", stdout(&out));
    assert_eq!(
        findings[0]["help"],
        "split it by role: move `margin_loss` to `../losses.py`; `encoder.py` keeps its Model components"
    );
}

#[test]
fn modules_outside_the_project_are_not_its_layout() {
    // `losses.py` beside the project directory belongs to someone else: the plan names the
    // default `loss.py`, whatever happens to sit next to the checkout.
    let dir = project(&[
        ("losses.py", ""),
        (
            "proj/pyproject.toml",
            "[tool.dllint.god-file]\nmax-lines = 10\n",
        ),
        ("proj/encoder.py", MODEL_AND_LOSS),
    ]);
    let out = run(
        &dir.path().join("proj"),
        &["check", "--select", "DL201", "--output-format", "json", "."],
        None,
    );
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings.len(), 1, "{}", stdout(&out));
    assert_eq!(
        findings[0]["help"],
        "split it by role: move `Encoder` to `model.py`; `margin_loss` to `loss.py`; what remains in `encoder.py` wires them together"
    );
}
