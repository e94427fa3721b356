//! Partial runs (`check one_file.py`, pre-commit's staged files, standard input): the other
//! files of the project are read as context, so that cross-file rules judge the named files as
//! a run on the whole project would, while only the named files are reported.
//!
//! The project: `cli.py` declares `--lr`, `--epochs` and `--dropout`; `run.py` reads the first
//! two; `--dropout` is read only in files a whole-project run does not lint (an excluded folder,
//! a git-ignored file), so it is a genuine finding in `cli.py`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{run, stderr, stdout};

const CLI: &str = r#""""The trainer's command-line options; `run.py` reads them."""
import argparse


def get_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--dropout", type=float, default=0.1)
    return parser
"#;

const RUN: &str = r#"import pdb

from cli import get_parser


def main():
    args = get_parser().parse_args()
    for epoch in range(args.epochs):
        print(epoch, args.lr)


if __name__ == "__main__":
    main()
"#;

/// The only reads of `--dropout`: in files a whole-project run leaves out.
const READS_DROPOUT: &str = "def old(args):\n    return args.dropout\n";

const DROPOUT: &str = "cli.py:9:25: warning[DL304] option `--dropout` is never read: nothing in the project reads `args.dropout`";
const LR: &str = "option `--lr` is never read";

/// The project, configured by `dllint.toml` (which excludes `legacy/`).
fn configured_project() -> tempfile::TempDir {
    common::project(&[
        ("dllint.toml", "extend-exclude = [\"legacy\"]\n"),
        ("cli.py", CLI),
        ("run.py", RUN),
        ("legacy/old.py", READS_DROPOUT),
        ("scratch.py", READS_DROPOUT),
        (".gitignore", "scratch.py\n"),
        // Does not parse: a whole-project run reports it, a partial run on `cli.py` does not.
        ("broken.py", "def broken(:\n    pass\n"),
        ("pkg/__init__.py", ""),
    ])
}

fn concise(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["check", "--no-cache", "--output-format", "concise"];
    all.extend_from_slice(args);
    let out = run(dir, &all, None);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    stdout(&out)
}

/// The lines of a whole-project run about `file`.
fn lines_about(output: &str, file: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.starts_with(&format!("{file}:")))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_named_file_is_judged_with_its_project_and_alone_reported() {
    let project = configured_project();
    let dir = project.path();
    let partial = concise(dir, &["cli.py"]);
    // `--lr` and `--epochs` are read in `run.py`, which was not named; `--dropout` is read
    // only in the excluded and the git-ignored file, so it is still a finding.
    assert!(!partial.contains(LR), "{partial}");
    assert!(!partial.contains("--epochs"), "{partial}");
    assert_eq!(
        partial,
        format!("{DROPOUT}\nFound 1 finding in 1 file (1 file checked).\n")
    );
    // Exactly what a run on the whole project says about `cli.py`; the context files'
    // own findings (a debugger import in `run.py`, a syntax error) are not reported.
    let whole = concise(dir, &["."]);
    assert!(whole.contains("run.py:1:8: warning[DL305]"), "{whole}");
    assert!(whole.contains("broken.py:1:12: error[DL000]"), "{whole}");
    assert_eq!(
        lines_about(&partial, "cli.py"),
        lines_about(&whole, "cli.py")
    );
    // Named from elsewhere, by a longer path: the same project.
    let parent = dir.parent().unwrap();
    let name = dir.file_name().unwrap().to_str().unwrap();
    let from_parent = concise(parent, &[&format!("{name}/cli.py")]);
    assert!(!from_parent.contains(LR), "{from_parent}");
    assert!(from_parent.contains("option `--dropout`"), "{from_parent}");

    // The old behaviour, on request.
    for flag in ["--no-project-context", "--isolated"] {
        let alone = concise(dir, &[flag, "cli.py"]);
        assert!(alone.contains(LR), "{flag}: {alone}");
        assert!(
            alone.contains("option `--epochs` is never read"),
            "{flag}: {alone}"
        );
    }
    // A directory named is the scope its user chose: linted as before, without context.
    let scoped = concise(dir, &["pkg", "cli.py"]);
    assert!(!scoped.contains(LR), "{scoped}");
    assert!(scoped.contains("(2 files checked)"), "{scoped}");
}

#[test]
fn the_help_names_the_opt_out() {
    let out = run(Path::new("."), &["check", "--help"], None);
    let help = stdout(&out);
    assert!(help.contains("--no-project-context"), "{help}");
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    assert!(readme.contains("--no-project-context"));
}

#[test]
fn a_git_repository_is_a_project() {
    let project = common::project(&[
        ("src/cli.py", CLI),
        ("scripts/run.py", &RUN.replace("from cli", "from src.cli")),
    ]);
    let dir = project.path();
    match Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir)
        .status()
    {
        Ok(status) if status.success() => {}
        _ => {
            common::skipped("a_git_repository_is_a_project: git not found");
            return;
        }
    }
    // Run from inside the repository, below its root.
    let partial = concise(&dir.join("src"), &["cli.py"]);
    assert!(!partial.contains(LR), "{partial}");
    assert!(
        partial.contains("cli.py:9:25: warning[DL304] option `--dropout`"),
        "{partial}"
    );
    let alone = concise(&dir.join("src"), &["--no-project-context", "cli.py"]);
    assert!(alone.contains(LR), "{alone}");
}

#[test]
fn standard_input_is_judged_with_the_project_of_its_file_name() {
    let project = configured_project();
    let dir = project.path();
    let out = run(
        dir,
        &[
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "--stdin-filename",
            "cli.py",
            "-",
        ],
        Some(CLI),
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        text,
        format!("{DROPOUT}\nFound 1 finding in 1 file (1 file checked).\n")
    );
}

#[test]
fn the_cache_serves_context_and_follows_its_changes() {
    let project = configured_project();
    let dir = project.path();
    let cached = |args: &[&str]| -> String {
        let mut all = vec!["check", "--output-format", "concise"];
        all.extend_from_slice(args);
        let out = run(dir, &all, None);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            stderr(&out)
        );
        stdout(&out)
    };
    // A whole-project run fills the cache; a partial run after it uses it (twice: the second
    // replays the project result).
    let whole = cached(&["."]);
    for _ in 0..2 {
        let partial = cached(&["cli.py"]);
        assert_eq!(
            lines_about(&partial, "cli.py"),
            lines_about(&whole, "cli.py")
        );
        assert!(!partial.contains(LR), "{partial}");
    }
    // A context file changes: `run.py` stops reading `--lr`.
    std::fs::write(dir.join("run.py"), RUN.replace("args.lr", "1e-3")).unwrap();
    let partial = cached(&["cli.py"]);
    assert!(partial.contains(LR), "{partial}");
    assert!(!partial.contains("--epochs"), "{partial}");
    // And back.
    std::fs::write(dir.join("run.py"), RUN).unwrap();
    let partial = cached(&["cli.py"]);
    assert!(!partial.contains(LR), "{partial}");
}
