//! dllint next to ruff, with the real ruff (`pip install ruff`; CI installs it): ruff's
//! RUF100/RUF102 treat `# noqa: DL101` as an unknown code and their fix deletes it, unless the
//! project declares dllint's codes external (`lint.external = ["DL"]`, as README.md says). With
//! that setting, `ruff check --fix` keeps the DL codes and dllint still honours them.
//! Skipped, visibly, when `ruff` is not on PATH; CI sets `DLLINT_REQUIRE_RUFF` so that a missing
//! install fails instead.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{run, stderr, stdout};

/// A model that computes its loss in `forward` (DL101), suppressed for dllint, next to an import
/// ruff would report (F401), suppressed for ruff.
const MODEL: &str = "import os  # noqa: F401\n\nimport torch.nn.functional as F\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 2)\n\n    def forward(self, x, y):\n        return F.cross_entropy(self.fc(x), y)  # noqa: DL101\n";

fn ruff() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("ruff"))
        .find(|candidate| candidate.is_file())
}

fn ruff_fix(ruff: &Path, dir: &Path) {
    let out = Command::new(ruff)
        .args([
            "check",
            "--fix",
            "--extend-select",
            "RUF100,RUF102",
            "--no-cache",
            "net.py",
        ])
        .current_dir(dir)
        .output()
        .expect("ruff runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "ruff failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ruff_keeps_dllint_codes_declared_external() {
    let Some(ruff) = ruff() else {
        assert!(
            std::env::var_os("DLLINT_REQUIRE_RUFF").is_none(),
            "ruff is required (DLLINT_REQUIRE_RUFF is set) but not on PATH"
        );
        common::skipped(
            "ruff_keeps_dllint_codes_declared_external: `ruff` is not on PATH \
             (`pip install ruff` to run it; CI does)",
        );
        return;
    };

    // Without the setting, ruff's fix deletes the DL code: the reason README.md documents it.
    let bare = tempfile::tempdir().unwrap();
    fs::write(
        bare.path().join("pyproject.toml"),
        "[project]\nname = \"demo\"\n",
    )
    .unwrap();
    fs::write(bare.path().join("net.py"), MODEL).unwrap();
    ruff_fix(&ruff, bare.path());
    let fixed = fs::read_to_string(bare.path().join("net.py")).unwrap();
    assert!(
        !fixed.contains("DL101"),
        "ruff kept an unknown code:\n{fixed}"
    );

    // With `lint.external = ["DL"]`, the DL code stays and dllint still honours it.
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("pyproject.toml"),
        "[project]\nname = \"demo\"\n\n[tool.ruff.lint]\nexternal = [\"DL\"]\n",
    )
    .unwrap();
    fs::write(dir.path().join("net.py"), MODEL).unwrap();
    ruff_fix(&ruff, dir.path());
    let kept = fs::read_to_string(dir.path().join("net.py")).unwrap();
    assert!(
        kept.contains("# noqa: DL101") && kept.contains("import os  # noqa: F401"),
        "ruff changed the noqa comments:\n{kept}"
    );
    let out = run(
        dir.path(),
        &["check", "--select", "DL101", "--no-cache", "net.py"],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // And the code is really what suppresses the finding.
    fs::write(
        dir.path().join("net.py"),
        kept.replace("  # noqa: DL101", ""),
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["check", "--select", "DL101", "--no-cache", "net.py"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}
