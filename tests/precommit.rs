//! The pre-commit hook of `.pre-commit-hooks.yaml`, run for real: `pre-commit try-repo` on a
//! snapshot of this repository (its tracked files plus new, not ignored ones, committed in a
//! fresh git repository, since pre-commit installs hooks from a commit), in a temporary project
//! with one file that has findings and one that is clean.
//!
//! Slow: pre-commit's `language: rust` builds dllint with `cargo install` (a release build;
//! `CARGO_TARGET_DIR` points at this target directory so later runs and the wheel build reuse
//! it). Runs only when the `pre_commit` module is importable (`pip install pre-commit`; CI
//! installs it), and prints why it is skipped otherwise.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::{root, stderr, stdout, target_dir};

fn git(cwd: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=dllint tests",
            "-c",
            "user.email=tests@dllint.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed in {}: {}",
        cwd.display(),
        stderr(&out)
    );
    out
}

/// Commit the current tree of this repository (uncommitted changes included) in `dest`.
fn snapshot(dest: &Path) {
    let listed = git(
        &root(),
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    );
    fs::create_dir_all(dest).unwrap();
    for name in String::from_utf8(listed.stdout).unwrap().split('\0') {
        let from = root().join(name);
        if name.is_empty() || !from.is_file() {
            continue; // deleted in the work tree
        }
        let to = dest.join(name);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(&from, &to).unwrap();
    }
    git(dest, &["init", "-q"]);
    git(dest, &["add", "-A"]);
    git(dest, &["commit", "-q", "-m", "snapshot"]);
}

fn try_repo(python: &Path, project: &Path, hook_repo: &Path, files: &[&str]) -> Output {
    Command::new(python)
        .args(["-m", "pre_commit", "try-repo"])
        .arg(hook_repo)
        .args(["dllint", "--color", "never", "--files"])
        .args(files)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("PRE_COMMIT_HOME", project.join(".pre-commit-home"))
        .env_remove("NO_COLOR")
        .output()
        .expect("pre-commit runs")
}

#[test]
fn precommit_hook_fails_on_findings_and_passes_on_clean_files() {
    let Some(python) = common::python_importing("pre_commit") else {
        common::skipped(
            "precommit test: the `pre_commit` Python module is not importable \
             (`pip install pre-commit` to run it; CI does)",
        );
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let hook_repo = work.path().join("dllint");
    snapshot(&hook_repo);

    let project = work.path().join("project");
    fs::create_dir_all(&project).unwrap();
    fs::write(project.join("dirty.py"), "import pdb\n").unwrap();
    fs::write(project.join("clean.py"), "def f(x):\n    return x\n").unwrap();
    fs::write(project.join("notes.txt"), "import pdb\n").unwrap();
    git(&project, &["init", "-q"]);
    git(&project, &["add", "-A"]);

    // Each `try-repo` installs the hook afresh (a release build of dllint itself; the
    // dependencies are reused from the target directory): two runs, not more.
    let dirty = try_repo(
        &python,
        &project,
        &hook_repo,
        &["dirty.py", "clean.py", "notes.txt"],
    );
    let text = format!("{}{}", stdout(&dirty), stderr(&dirty));
    assert_eq!(dirty.status.code(), Some(1), "{text}");
    assert!(text.contains("dllint"), "{text}");
    assert!(text.contains("Failed"), "{text}");
    assert!(text.contains("DL305"), "{text}");
    assert!(text.contains("dirty.py:1:8"), "{text}");
    // Only Python files are passed (pre-commit may split them over parallel invocations).
    assert!(!text.contains("notes.txt"), "{text}");

    let clean = try_repo(&python, &project, &hook_repo, &["clean.py"]);
    let text = format!("{}{}", stdout(&clean), stderr(&clean));
    assert_eq!(clean.status.code(), Some(0), "{text}");
    assert!(text.contains("Passed"), "{text}");
}
