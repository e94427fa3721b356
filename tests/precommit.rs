//! The pre-commit hooks, run for real.
//!
//! - The source hooks of `.pre-commit-hooks.yaml` (`language: rust`): `pre-commit try-repo` on a
//!   snapshot of this repository (its tracked files plus new, not ignored ones, committed in a
//!   fresh git repository, since pre-commit installs hooks from a commit), in a temporary project
//!   with one file that has findings and one that is clean. Slow: pre-commit builds dllint with
//!   `cargo install` (a release build; `CARGO_TARGET_DIR` points at this target directory so
//!   later runs and the wheel build reuse it).
//! - The wheel hook of `pre-commit-mirror/` (`language: python`, published as the repository
//!   `dllint-pre-commit`): a wheel built here with maturin, installed by pre-commit's pip from a
//!   local folder with no index and no Rust on `PATH`.
//! - README's snippets: the `rev` they name exists and has the hook (fast), and the snippet for
//!   this repository works when pasted (slow, `#[ignore]`d; `.ci/run` runs it with `--ignored`).
//!
//! Each runs only when the `pre_commit` module is importable (`pip install pre-commit`; CI
//! installs it), and prints why it is skipped otherwise.

mod common;

use std::fs;
use std::path::Path;
use std::path::PathBuf;
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
        // No hook id: every hook of the repository, `dllint-source` and `dllint`, which share
        // one installed environment (one build).
        .args(["--color", "never", "--files"])
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
    assert!(text.contains("- hook id: dllint-source"), "{text}");
    assert!(text.contains("- hook id: dllint\n"), "{text}");
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

#[cfg(unix)]
/// The maturin that builds the wheel when no Python on `PATH` has one (`.ci/run` installs the
/// same pin).
const MATURIN: &str = "maturin==1.16.0";

#[cfg(unix)]
/// The interpreter behind `python` (`sys.executable`): a shim such as pyenv's `python3` needs
/// its own `PATH`, and the wheel test runs pre-commit with a `PATH` of its own.
fn real_executable(python: &Path) -> PathBuf {
    let out = Command::new(python)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", stderr(&out));
    PathBuf::from(stdout(&out).trim())
}

#[cfg(unix)]
/// Whether a command of this name belongs to a Rust toolchain or builds Rust code.
fn is_rust_tool(name: &str) -> bool {
    [
        "cargo", "rustc", "rustup", "rustdoc", "rust-", "rustfmt", "clippy", "maturin",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
}

/// Fills `bin` with links to the commands on `PATH` (the first of each name, as `PATH` finds
/// them) except the Rust tools; returns the names left out.
#[cfg(unix)]
fn without_rust(bin: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(bin).unwrap();
    let mut hidden = Vec::new();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let target = entry.path();
            let executable = fs::metadata(&target)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
            let link = bin.join(&name);
            if !executable || link.symlink_metadata().is_ok() || hidden.contains(&name) {
                continue;
            }
            if is_rust_tool(&name) {
                hidden.push(name);
            } else {
                std::os::unix::fs::symlink(&target, &link).unwrap();
            }
        }
    }
    hidden
}

#[cfg(unix)]
/// The files under `dir`, at any depth.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[cfg(unix)]
/// SHA-256 of a file, or of one member of a zip archive, by Python's hashlib.
fn sha256(python: &Path, file: &Path, member: Option<&str>) -> String {
    let script = "import hashlib, sys, zipfile\n\
                  path, member = sys.argv[1], sys.argv[2]\n\
                  data = zipfile.ZipFile(path).read(member) if member else open(path, 'rb').read()\n\
                  print(hashlib.sha256(data).hexdigest())\n";
    let out = Command::new(python)
        .args(["-c", script])
        .arg(file)
        .arg(member.unwrap_or(""))
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

/// The wheel hook as users get it once dllint is on PyPI: `pre-commit-mirror/` (the files the
/// release workflow publishes as the `dllint-pre-commit` repository) committed in a fresh git
/// repository, used by `rev` from a fresh project's `.pre-commit-config.yaml`. pip may only take
/// a dllint wheel built here (`PIP_FIND_LINKS` to its folder, `PIP_NO_INDEX`), and pre-commit
/// runs with a `PATH` that holds `git` and nothing else, so no Rust toolchain can be reached: no
/// build can happen. The binary in the hook's environment is the wheel's, byte for byte.
#[cfg(unix)]
#[test]
fn precommit_wheel_hook_installs_the_prebuilt_wheel_without_rust() {
    let Some(python) = common::python_importing("pre_commit") else {
        common::skipped(
            "precommit wheel-hook test: the `pre_commit` Python module is not importable \
             (`pip install pre-commit` to run it; CI does)",
        );
        return;
    };
    let maturin_python = match common::python_with("maturin", MATURIN) {
        Ok(python) => python,
        Err(why) => {
            common::skipped(&format!("precommit wheel-hook test: no maturin: {why}"));
            return;
        }
    };
    let python = real_executable(&python);
    let work = tempfile::tempdir().unwrap();

    // The wheel, as `maturin build --release` makes it (the release build in this target
    // directory is reused when it is up to date).
    let wheels = work.path().join("wheels");
    let built = Command::new(&maturin_python)
        .args(["-m", "maturin", "build", "--release", "--out"])
        .arg(&wheels)
        .current_dir(root())
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("maturin runs");
    assert!(
        built.status.success(),
        "maturin build failed: {}",
        stderr(&built)
    );
    let wheel = fs::read_dir(&wheels)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("maturin wrote a wheel");
    let wheel_name = wheel.file_name().unwrap().to_str().unwrap().to_string();
    let version = fs::read_to_string(root().join("pre-commit-mirror/.version")).unwrap();
    let version = version.trim();
    assert!(
        wheel_name.starts_with(&format!("dllint-{version}-")),
        "the wheel {wheel_name} is not the version pre-commit-mirror/.version asks for ({version})"
    );

    // The hook repository: pre-commit-mirror/ at a commit.
    let hook_repo = work.path().join("dllint-pre-commit");
    fs::create_dir_all(&hook_repo).unwrap();
    for entry in fs::read_dir(root().join("pre-commit-mirror")).unwrap() {
        let from = entry.unwrap().path();
        if from.is_file() {
            fs::copy(&from, hook_repo.join(from.file_name().unwrap())).unwrap();
        }
    }
    git(&hook_repo, &["init", "-q"]);
    git(&hook_repo, &["add", "-A"]);
    git(&hook_repo, &["commit", "-q", "-m", "dllint-pre-commit"]);
    let rev = stdout(&git(&hook_repo, &["rev-parse", "HEAD"]))
        .trim()
        .to_string();

    // A fresh project that uses it, as the README's snippet does.
    let project = work.path().join("project");
    fs::create_dir_all(&project).unwrap();
    fs::write(
        project.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: dllint\n",
            hook_repo.display()
        ),
    )
    .unwrap();
    fs::write(project.join("dirty.py"), "import pdb\n").unwrap();
    fs::write(project.join("clean.py"), "def f(x):\n    return x\n").unwrap();
    fs::write(project.join("notes.txt"), "import pdb\n").unwrap();
    git(&project, &["init", "-q"]);
    git(&project, &["add", "-A"]);

    // `PATH`: this one without Rust. Every executable found on it is linked into one folder,
    // except cargo, rustc, rustup and the other Rust tools, and maturin.
    let bin = work.path().join("bin");
    let hidden = without_rust(&bin);
    assert!(
        hidden.iter().any(|n| n == "cargo"),
        "cargo was on PATH: {hidden:?}"
    );
    let home = work.path().join("pre-commit-home");
    let run = |files: &[&str]| -> Output {
        Command::new(&python)
            .args(["-m", "pre_commit", "run", "--color", "never", "--files"])
            .args(files)
            .current_dir(&project)
            .env("PATH", &bin)
            .env("PRE_COMMIT_HOME", &home)
            .env("PIP_FIND_LINKS", &wheels)
            .env("PIP_NO_INDEX", "1")
            .env("PIP_CONFIG_FILE", "/dev/null")
            .env("PIP_CACHE_DIR", work.path().join("pip-cache"))
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("CARGO_TARGET_DIR", work.path().join("no-cargo-here"))
            .env_remove("CARGO_HOME")
            .env_remove("RUSTUP_HOME")
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("VIRTUAL_ENV")
            .env_remove("NO_COLOR")
            .output()
            .expect("pre-commit runs")
    };

    let dirty = run(&["dirty.py", "clean.py", "notes.txt"]);
    let text = format!("{}{}", stdout(&dirty), stderr(&dirty));
    let log = fs::read_to_string(home.join("pre-commit.log")).unwrap_or_default();
    assert_eq!(dirty.status.code(), Some(1), "{text}\n{log}");
    assert!(text.contains("Failed"), "{text}");
    assert!(text.contains("- hook id: dllint"), "{text}");
    assert!(text.contains("DL305"), "{text}");
    assert!(text.contains("dirty.py:1:8"), "{text}");
    assert!(!text.contains("notes.txt"), "{text}");

    let clean = run(&["clean.py"]);
    let text = format!("{}{}", stdout(&clean), stderr(&clean));
    assert_eq!(clean.status.code(), Some(0), "{text}");
    assert!(text.contains("Passed"), "{text}");

    // The hook ran the wheel's binary: the one in pre-commit's environment for the hook is the
    // wheel's file, and nothing was compiled (no target directory was made).
    let installed: Vec<PathBuf> = files_under(&home)
        .into_iter()
        .filter(|p| {
            p.file_name().is_some_and(|n| n == "dllint")
                && p.parent().is_some_and(|d| d.ends_with("bin"))
        })
        .collect();
    assert_eq!(
        installed.len(),
        1,
        "one dllint in the hook env: {installed:?}"
    );
    let member = format!("dllint-{version}.data/scripts/dllint");
    assert_eq!(
        sha256(&python, &installed[0], None),
        sha256(&python, &wheel, Some(&member)),
        "{} is not the wheel's {member}",
        installed[0].display()
    );
    assert!(!work.path().join("no-cargo-here").exists());
    assert!(
        files_under(&home)
            .iter()
            .all(|p| p.file_name().is_none_or(|n| n != "Cargo.toml")),
        "a Rust source tree in the hook's environment"
    );
}

/// The three hooks run the same command, and the wheel hook installs the version of this crate
/// (the release workflow tags `v<version>` in both repositories).
#[test]
fn the_hooks_agree_with_each_other_and_with_the_crate_version() {
    let entries = |file: &str| -> Vec<String> {
        fs::read_to_string(root().join(file))
            .unwrap()
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix("entry:")
                    .map(|e| e.trim().to_string())
            })
            .collect()
    };
    let source = entries(".pre-commit-hooks.yaml");
    let wheel = entries("pre-commit-mirror/.pre-commit-hooks.yaml");
    assert_eq!(source.len(), 2);
    assert_eq!(wheel.len(), 1);
    assert!(source.iter().chain(&wheel).all(|e| *e == wheel[0]));

    let cargo = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("version = "))
        .expect("Cargo.toml has a version")
        .trim_matches('"');
    let mirror = fs::read_to_string(root().join("pre-commit-mirror/.version")).unwrap();
    assert_eq!(
        mirror.trim(),
        version,
        "pre-commit-mirror/.version must be Cargo.toml's version"
    );
}

/// One repository entry of a `.pre-commit-config.yaml` snippet: its `repo`, `rev` and hook ids.
#[derive(Debug)]
struct Snippet {
    repo: String,
    rev: String,
    ids: Vec<String>,
}

/// The `repos:` entries of the YAML blocks of README's pre-commit section.
fn readme_snippets() -> Vec<Snippet> {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("### pre-commit\n")
        .expect("README has a pre-commit section");
    let section = &readme[start + 1..];
    let section = &section[..section.find("\n### ").unwrap_or(section.len())];
    let mut snippets: Vec<Snippet> = Vec::new();
    let mut in_yaml = false;
    for line in section.lines() {
        if line.starts_with("```") {
            in_yaml = line == "```yaml";
            continue;
        }
        if !in_yaml {
            continue;
        }
        let line = line.split(" #").next().unwrap().trim();
        if let Some(repo) = line.strip_prefix("- repo:") {
            snippets.push(Snippet {
                repo: repo.trim().to_string(),
                rev: String::new(),
                ids: Vec::new(),
            });
        } else if let Some(rev) = line.strip_prefix("rev:") {
            snippets.last_mut().expect("rev after repo").rev = rev.trim().to_string();
        } else if let Some(id) = line.strip_prefix("- id:") {
            let snippet = snippets.last_mut().expect("id after repo");
            snippet.ids.push(id.trim().to_string());
        }
    }
    snippets
}

/// README's snippet for this repository works when pasted: its `rev` is a commit (or tag) of
/// this repository's history, and the `.pre-commit-hooks.yaml` of that commit has the hook id.
/// A snippet for the wheel hook's repository names a release tag only once such a tag exists
/// here (the release workflow tags both repositories alike): no invented release.
#[test]
fn the_readme_precommit_snippets_name_revs_that_exist() {
    let snippets = readme_snippets();
    assert!(
        snippets
            .iter()
            .any(|s| s.repo == "https://github.com/dllint/dllint"),
        "{snippets:?}"
    );
    let history = Command::new("git")
        .args(["rev-parse", "--is-shallow-repository"])
        .current_dir(root())
        .output();
    match history {
        Ok(out) if out.status.success() && stdout(&out).trim() == "false" => {}
        _ => {
            common::skipped(
                "the_readme_precommit_snippets_name_revs_that_exist: not in a full git clone",
            );
            return;
        }
    }
    let tags = stdout(&git(&root(), &["tag", "--list", "v*"]));
    let tags: Vec<&str> = tags.lines().collect();
    for snippet in &snippets {
        assert!(!snippet.ids.is_empty(), "{snippet:?}");
        match snippet.repo.as_str() {
            "https://github.com/dllint/dllint" => {
                let commit = Command::new("git")
                    .args(["rev-parse", "--verify", "--quiet"])
                    .arg(format!("{}^{{commit}}", snippet.rev))
                    .current_dir(root())
                    .output()
                    .unwrap();
                assert!(
                    commit.status.success(),
                    "README's pre-commit rev {} is no commit of this repository",
                    snippet.rev
                );
                let hooks = stdout(&git(
                    &root(),
                    &["show", &format!("{}:.pre-commit-hooks.yaml", snippet.rev)],
                ));
                for id in &snippet.ids {
                    assert!(
                        hooks.contains(&format!("- id: {id}\n")),
                        "the hooks of {} have no id {id}:\n{hooks}",
                        snippet.rev
                    );
                }
            }
            "https://github.com/dllint/dllint-pre-commit" => {
                assert_eq!(snippet.ids, ["dllint"]);
                if tags.is_empty() {
                    assert_eq!(
                        snippet.rev, "vX.Y.Z",
                        "no release is tagged: the wheel hook's snippet must not name one"
                    );
                } else {
                    assert!(
                        tags.contains(&snippet.rev.as_str()),
                        "{snippet:?}: {tags:?}"
                    );
                }
            }
            other => panic!("README's pre-commit section names an unknown repository {other}"),
        }
    }
}

/// README's snippet for this repository, pasted as it is into a fresh project's
/// `.pre-commit-config.yaml` (the repository's address replaced by this clone, which has the
/// same history), runs for real: pre-commit checks out the snippet's `rev` and builds that
/// commit's dllint with `cargo install`. Slow (a release build of dllint as it was at that
/// commit): ignored by `cargo test`; `.ci/run` runs it with `--ignored`.
#[test]
#[ignore = "slow: builds the README's pinned commit of dllint in release mode; .ci/run runs it"]
fn the_readme_precommit_snippet_works_when_pasted() {
    let Some(python) = common::python_importing("pre_commit") else {
        common::skipped(
            "the_readme_precommit_snippet_works_when_pasted: the `pre_commit` Python module is \
             not importable (`pip install pre-commit` to run it; CI does)",
        );
        return;
    };
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let section = &readme[readme.find("### pre-commit\n").unwrap()..];
    let block = &section[section.find("```yaml\n").unwrap() + "```yaml\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    assert!(
        block.contains("repo: https://github.com/dllint/dllint\n"),
        "{block}"
    );
    let config = block.replace(
        "https://github.com/dllint/dllint\n",
        &format!("{}\n", root().display()),
    );

    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    fs::create_dir_all(&project).unwrap();
    fs::write(project.join(".pre-commit-config.yaml"), config).unwrap();
    fs::write(project.join("dirty.py"), "import pdb\n").unwrap();
    fs::write(project.join("clean.py"), "def f(x):\n    return x\n").unwrap();
    git(&project, &["init", "-q"]);
    git(&project, &["add", "-A"]);
    let run = |files: &[&str]| -> Output {
        Command::new(&python)
            .args(["-m", "pre_commit", "run", "--color", "never", "--files"])
            .args(files)
            .current_dir(&project)
            .env("PRE_COMMIT_HOME", work.path().join("pre-commit-home"))
            .env("CARGO_TARGET_DIR", target_dir())
            .env_remove("NO_COLOR")
            .output()
            .expect("pre-commit runs")
    };
    let dirty = run(&["dirty.py", "clean.py"]);
    let text = format!("{}{}", stdout(&dirty), stderr(&dirty));
    assert_eq!(dirty.status.code(), Some(1), "{text}");
    assert!(text.contains("Failed"), "{text}");
    assert!(text.contains("DL305"), "{text}");
    assert!(text.contains("dirty.py:1:8"), "{text}");
    let clean = run(&["clean.py"]);
    let text = format!("{}{}", stdout(&clean), stderr(&clean));
    assert_eq!(clean.status.code(), Some(0), "{text}");
    assert!(text.contains("Passed"), "{text}");
}
