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

/// The hook's `entry` from `.pre-commit-hooks.yaml`, with `dllint` replaced by the binary under
/// test: the same arguments, without building dllint again.
fn hook_entry() -> String {
    let hooks = fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    let entry = hooks
        .lines()
        .find_map(|l| l.trim().strip_prefix("entry:"))
        .expect("the hook has an entry")
        .trim();
    let args = entry
        .strip_prefix("dllint ")
        .expect("the entry runs dllint");
    format!("{} {args}", common::bin().display())
}

/// pre-commit passes only the staged files; the project's other files are context. Staging
/// `cli.py` alone must not report `--lr` as unread when the unchanged `run.py` reads it — the
/// hook would block a correct commit — while an option read nowhere still fails the hook.
#[test]
fn precommit_staged_file_is_judged_with_the_rest_of_its_project() {
    let Some(python) = common::python_importing("pre_commit") else {
        common::skipped(
            "precommit staged-file test: the `pre_commit` Python module is not importable \
             (`pip install pre-commit` to run it; CI does)",
        );
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    fs::create_dir_all(&project).unwrap();
    let config = format!(
        "repos:\n  - repo: local\n    hooks:\n      - id: dllint\n        name: dllint\n        \
         entry: {}\n        language: system\n        types_or: [python, pyi, jupyter]\n",
        hook_entry()
    );
    fs::write(project.join(".pre-commit-config.yaml"), config).unwrap();
    let cli = |options: &[&str]| -> String {
        let mut text = String::from(
            "import argparse\n\n\ndef get_parser():\n    parser = argparse.ArgumentParser()\n",
        );
        for option in options {
            text.push_str(&format!("    parser.add_argument(\"--{option}\")\n"));
        }
        text.push_str("    return parser\n");
        text
    };
    fs::write(project.join("cli.py"), cli(&["lr"])).unwrap();
    fs::write(
        project.join("run.py"),
        "from cli import get_parser\n\n\nif __name__ == \"__main__\":\n    args = get_parser().parse_args()\n    print(args.lr, args.epochs)\n",
    )
    .unwrap();
    git(&project, &["init", "-q"]);
    git(&project, &["add", "-A"]);
    git(&project, &["commit", "-q", "-m", "first"]);
    let run = |project: &Path| -> Output {
        Command::new(&python)
            .args(["-m", "pre_commit", "run", "--color", "never"])
            .current_dir(project)
            .env("PRE_COMMIT_HOME", work.path().join(".pre-commit-home"))
            .output()
            .expect("pre-commit runs")
    };

    // A correct change: `--epochs`, read in `run.py`, which is not staged.
    fs::write(project.join("cli.py"), cli(&["lr", "epochs"])).unwrap();
    git(&project, &["add", "cli.py"]);
    let out = run(&project);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Passed"), "{text}");
    assert!(!text.contains("DL304"), "{text}");

    // A genuine finding in the staged file: `--dropout` is read nowhere.
    fs::write(project.join("cli.py"), cli(&["lr", "epochs", "dropout"])).unwrap();
    git(&project, &["add", "cli.py"]);
    let out = run(&project);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Failed"), "{text}");
    assert!(text.contains("option `--dropout` is never read"), "{text}");
    assert!(!text.contains("`--lr`"), "{text}");
    assert!(!text.contains("`--epochs`"), "{text}");
    assert!(text.contains("(1 file checked)"), "{text}");
}
