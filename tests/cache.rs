//! The lint cache through the real binary: warm runs reuse per-file results (and give the same
//! output), a file's content (not its modification time) decides, project rules follow edits
//! of other files, settings changes invalidate, a corrupt cache is ignored and rewritten, and
//! `--no-cache`, `--cache-dir`, `DLLINT_CACHE_DIR` and `dllint clean` do what they say.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{bin, root, stderr, stdout};

const BASE: &str = "\
import torch.nn as nn


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(4, 4)
";
const BASE_PLAIN: &str = "class Base:\n    pass\n";
const NET: &str = "\
import torch.nn.functional as F

from pkg.base import Base


class Net(Base):
    def forward(self, x, labels=None):
        logits = self.encoder(x)
        if labels is None:
            return logits
        return F.cross_entropy(logits, labels)
";

/// A small project: a model whose base class lives in another file, a debugging leftover, a
/// notebook.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("pkg")).unwrap();
    std::fs::write(p.join("pkg/__init__.py"), "").unwrap();
    std::fs::write(p.join("pkg/base.py"), BASE).unwrap();
    std::fs::write(p.join("pkg/net.py"), NET).unwrap();
    std::fs::write(p.join("pkg/debug.py"), "import pdb\n").unwrap();
    std::fs::copy(
        root().join("tests/notebooks/train.ipynb"),
        p.join("train.ipynb"),
    )
    .unwrap();
    std::fs::write(p.join("pyproject.toml"), "[tool.dllint]\n").unwrap();
    dir
}

fn dllint(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(bin());
    command
        .args(args)
        .current_dir(cwd)
        .env("DLLINT_TIMING", "1")
        .env_remove("DLLINT_CACHE_DIR")
        .env_remove("DLLINT_NO_CACHE")
        .stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("dllint runs")
}

/// `dllint check` in `cwd`: (findings as concise lines, cache hits, cache misses).
fn check_with(cwd: &Path, extra: &[&str], env: &[(&str, &Path)]) -> (Vec<String>, usize, usize) {
    let mut args = vec!["check", "--output-format", "concise", "-q", "--exit-zero"];
    args.extend_from_slice(extra);
    args.push(".");
    let out = dllint(cwd, &args, env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let findings = stdout(&out).lines().map(str::to_string).collect();
    let (hits, misses) = stats(&stderr(&out));
    (findings, hits, misses)
}

fn check(cwd: &Path, extra: &[&str]) -> (Vec<String>, usize, usize) {
    check_with(cwd, extra, &[])
}

/// The `dllint cache: N hits, M misses` line of `DLLINT_TIMING` (0, 0 without a cache).
fn stats(stderr: &str) -> (usize, usize) {
    let Some(line) = stderr.lines().find(|l| l.starts_with("dllint cache: ")) else {
        return (0, 0);
    };
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (numbers[0], numbers[1])
}

/// The per-file cache files below `dir` (the shards of each project root).
fn cache_files(dir: &Path) -> Vec<PathBuf> {
    cache_files_of(dir, true)
}

/// How many project roots the per-file cache files below `dir` belong to (a root's shards are
/// `<hash of the root>.<shard>.bin`).
fn cache_roots(dir: &Path) -> usize {
    let roots: std::collections::BTreeSet<String> = cache_files(dir)
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            name.split('.').next().unwrap().to_string()
        })
        .collect();
    roots.len()
}

/// The project cache files below `dir`.
fn project_cache_files(dir: &Path) -> Vec<PathBuf> {
    cache_files_of(dir, false)
}

fn cache_files_of(dir: &Path, per_file: bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.to_string_lossy();
                let is_project = name.ends_with(".project.bin");
                if name.ends_with(".bin") && is_project != per_file {
                    found.push(path);
                }
            }
        }
    }
    found
}

/// True if a warm `check` of `paths` replays the stored project result (instead of rebuilding
/// the index and running the project rules).
fn replayed(cwd: &Path, paths: &[&str]) -> bool {
    let mut args = vec!["check", "--output-format", "concise", "-q", "--exit-zero"];
    args.extend_from_slice(paths);
    let out = dllint(cwd, &args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stderr(&out).contains("dllint timing: replayed project result")
}

/// Concise findings of `check` on `paths`.
fn findings_of(cwd: &Path, paths: &[&str], extra: &[&str]) -> Vec<String> {
    let mut args = vec!["check", "--output-format", "concise", "-q", "--exit-zero"];
    args.extend_from_slice(extra);
    args.extend_from_slice(paths);
    let out = dllint(cwd, &args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

fn has(findings: &[String], needle: &str) -> bool {
    findings.iter().any(|f| f.contains(needle))
}

const FILES: usize = 5;

#[test]
fn warm_runs_reuse_results_and_print_the_same() {
    let dir = project();
    let cwd = dir.path();
    let (cold, hits, misses) = check(cwd, &[]);
    assert_eq!((hits, misses), (0, FILES));
    assert!(has(&cold, "pkg/net.py:11:16: warning[DL101]"), "{cold:#?}");
    assert!(has(&cold, "pkg/debug.py:1:8: warning[DL305]"), "{cold:#?}");
    assert!(
        has(&cold, "train.ipynb:cell 2:3:8: warning[DL305]"),
        "{cold:#?}"
    );
    assert!(cwd.join(".dllint_cache/CACHEDIR.TAG").is_file());
    assert!(cwd.join(".dllint_cache/.gitignore").is_file());
    assert_eq!(cache_roots(&cwd.join(".dllint_cache")), 1);

    assert_eq!(project_cache_files(&cwd.join(".dllint_cache")).len(), 1);

    let (warm, hits, misses) = check(cwd, &[]);
    assert_eq!((hits, misses), (FILES, 0));
    assert_eq!(warm, cold);
    assert!(replayed(cwd, &["."]));
    // Every output format renders from the cached results the same way.
    for format in ["full", "json", "sarif"] {
        let args = ["check", "--output-format", format, "--exit-zero", "."];
        let warm = dllint(cwd, &args, &[]);
        let mut no_cache = args.to_vec();
        no_cache.push("--no-cache");
        let cold = dllint(cwd, &no_cache, &[]);
        assert_eq!(stdout(&warm), stdout(&cold), "{format}");
        assert_eq!(stats(&stderr(&warm)), (FILES, 0));
    }
}

#[test]
fn the_content_decides_not_the_modification_time() {
    let dir = project();
    let cwd = dir.path();
    let file = cwd.join("pkg/debug.py");
    check(cwd, &[]);
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    // Same length, same modification time, other content.
    std::fs::write(&file, "import re\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (findings, hits, misses) = check(cwd, &[]);
    assert_eq!((hits, misses), (FILES - 1, 1));
    assert!(!has(&findings, "pkg/debug.py"), "{findings:#?}");
    // Back to the first content: found again in the next run.
    std::fs::write(&file, "import pdb\n").unwrap();
    let (findings, _, misses) = check(cwd, &[]);
    assert_eq!(misses, 1);
    assert!(
        has(&findings, "pkg/debug.py:1:8: warning[DL305]"),
        "{findings:#?}"
    );
}

#[test]
fn project_rules_follow_an_edited_base_class_in_another_file() {
    let dir = project();
    let cwd = dir.path();
    let (findings, _, _) = check(cwd, &[]);
    assert!(
        has(&findings, "pkg/net.py:11:16: warning[DL101]"),
        "{findings:#?}"
    );
    // `Base` is no longer a torch module with layers: `Net` is not a model, its loss is not misplaced,
    // although `net.py` itself did not change (and comes from the cache).
    std::fs::write(cwd.join("pkg/base.py"), BASE_PLAIN).unwrap();
    let (findings, hits, misses) = check(cwd, &[]);
    assert_eq!((hits, misses), (FILES - 1, 1));
    assert!(!has(&findings, "pkg/net.py"), "{findings:#?}");
    // And back.
    std::fs::write(cwd.join("pkg/base.py"), BASE).unwrap();
    let (findings, hits, misses) = check(cwd, &[]);
    assert_eq!((hits, misses), (FILES - 1, 1));
    assert!(
        has(&findings, "pkg/net.py:11:16: warning[DL101]"),
        "{findings:#?}"
    );
}

#[test]
fn settings_changes_invalidate() {
    let dir = project();
    let cwd = dir.path();
    check(cwd, &[]);
    // Per-file ignores change the rules of one file only.
    std::fs::write(
        cwd.join("pyproject.toml"),
        "[tool.dllint]\nper-file-ignores = { \"pkg/debug.py\" = [\"DL305\"] }\n",
    )
    .unwrap();
    let (findings, hits, misses) = check(cwd, &[]);
    assert_eq!((hits, misses), (FILES - 1, 1));
    assert!(!has(&findings, "pkg/debug.py"), "{findings:#?}");
    assert!(
        has(&findings, "train.ipynb:cell 2:3:8: warning[DL305]"),
        "{findings:#?}"
    );
    // Another rule selection: DL305 is a file rule, its cached findings must not leak. Only
    // `debug.py` (whose rules are the same as before) is still valid.
    let (findings, hits, misses) = check(cwd, &["--ignore", "DL305"]);
    assert_eq!((hits, misses), (1, FILES - 1));
    assert!(!has(&findings, "DL305"), "{findings:#?}");
    assert!(has(&findings, "DL101"), "{findings:#?}");
    // Knowledge additions (and rule options) are part of the key too.
    std::fs::write(
        cwd.join("pyproject.toml"),
        "[tool.dllint.knowledge]\nloss-functions = [\"mylib.losses.focal\"]\n",
    )
    .unwrap();
    let (_, hits, misses) = check(cwd, &[]);
    assert_eq!((hits, misses), (0, FILES));
}

#[test]
fn a_corrupt_cache_is_ignored_and_rewritten() {
    let dir = project();
    let cwd = dir.path();
    let (expected, _, _) = check(cwd, &[]);
    let shards = cache_files(&cwd.join(".dllint_cache"));
    let good: Vec<Vec<u8>> = shards.iter().map(|f| std::fs::read(f).unwrap()).collect();
    type Damage = fn(&[u8]) -> Vec<u8>;
    let damaged: [Damage; 4] = [
        |_| b"not a cache".to_vec(),
        |good| good[..good.len() / 2].to_vec(),
        |good| {
            let mut flipped = good.to_vec();
            flipped[good.len() / 2] ^= 0x5A;
            flipped
        },
        |_| Vec::new(),
    ];
    for damage in damaged {
        for (file, good) in shards.iter().zip(&good) {
            std::fs::write(file, damage(good)).unwrap();
        }
        let (findings, hits, misses) = check(cwd, &[]);
        assert_eq!(findings, expected);
        assert_eq!((hits, misses), (0, FILES));
        // Rewritten: the next run is warm.
        let (findings, hits, _) = check(cwd, &[]);
        assert_eq!(findings, expected);
        assert_eq!(hits, FILES);
    }
    // One damaged shard costs only its own files.
    let (first, good_first) = (&shards[0], &good[0]);
    std::fs::write(first, b"not a cache").unwrap();
    let (findings, hits, misses) = check(cwd, &[]);
    assert_eq!(findings, expected);
    assert!(
        hits > 0 && misses > 0 && hits + misses == FILES,
        "{hits} {misses}"
    );
    assert_eq!(std::fs::read(first).unwrap().len(), good_first.len());
    // The same for the project cache.
    let [project_file] = project_cache_files(&cwd.join(".dllint_cache"))
        .try_into()
        .unwrap();
    for bad in [b"not a cache".to_vec(), Vec::new()] {
        std::fs::write(&project_file, &bad).unwrap();
        assert!(!replayed(cwd, &["."]));
        assert_eq!(check(cwd, &[]).0, expected);
        assert!(replayed(cwd, &["."]));
    }
    // A cache that cannot be written is a warning, not a failure.
    std::fs::remove_dir_all(cwd.join(".dllint_cache")).unwrap();
    std::fs::write(cwd.join("blocker"), "").unwrap();
    let out = dllint(
        cwd,
        &["check", "--cache-dir", "blocker/cache", "--exit-zero", "."],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("dllint: warning: cannot write the cache"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn no_cache_cache_dir_environment_and_clean() {
    let dir = project();
    let cwd = dir.path();
    let (findings, hits, misses) = check(cwd, &["--no-cache"]);
    assert_eq!((hits, misses), (0, 0));
    assert!(has(&findings, "DL101"));
    assert!(!cwd.join(".dllint_cache").exists());
    let (_, hits, misses) = check_with(cwd, &[], &[("DLLINT_NO_CACHE", Path::new("1"))]);
    assert_eq!((hits, misses), (0, 0));
    assert!(!cwd.join(".dllint_cache").exists());

    let elsewhere = tempfile::tempdir().unwrap();
    let env_dir = elsewhere.path().join("from-env");
    check_with(cwd, &[], &[("DLLINT_CACHE_DIR", &env_dir)]);
    let (_, hits, _) = check_with(cwd, &[], &[("DLLINT_CACHE_DIR", &env_dir)]);
    assert_eq!(hits, FILES);
    assert_eq!(cache_roots(&env_dir), 1);
    assert!(!cwd.join(".dllint_cache").exists());

    let flag_dir = elsewhere.path().join("from-flag");
    let flag = flag_dir.to_str().unwrap();
    check(cwd, &["--cache-dir", flag]);
    let (_, hits, _) = check(cwd, &["--cache-dir", flag]);
    assert_eq!(hits, FILES);
    assert!(!cwd.join(".dllint_cache").exists());

    // The default location, and `dllint clean` from a subdirectory of the project.
    check(cwd, &[]);
    assert!(cwd.join(".dllint_cache").is_dir());
    let out = dllint(&cwd.join("pkg"), &["clean"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!cwd.join(".dllint_cache").exists(), "{}", stderr(&out));
    let out = dllint(cwd, &["clean"], &[("DLLINT_CACHE_DIR", &env_dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!env_dir.exists(), "{}", stderr(&out));
    // `--cache-dir` is not remembered: that directory stays until removed by hand.
    assert!(flag_dir.exists());
    // Sources are never touched.
    assert!(cwd.join("pkg/net.py").is_file() && cwd.join("train.ipynb").is_file());
}

#[test]
fn a_changed_context_file_is_not_replayed() {
    let dir = project();
    let cwd = dir.path();
    // Only `net.py` is linted: `base.py` is read for its facts (a context file).
    let paths = ["pkg/net.py"];
    assert!(has(
        &findings_of(cwd, &paths, &[]),
        "pkg/net.py:11:16: warning[DL101]"
    ));
    assert!(replayed(cwd, &paths));
    std::fs::write(cwd.join("pkg/base.py"), BASE_PLAIN).unwrap();
    assert!(!replayed(cwd, &paths));
    assert!(!has(&findings_of(cwd, &paths, &[]), "DL101"));
    std::fs::write(cwd.join("pkg/base.py"), BASE).unwrap();
    assert!(has(
        &findings_of(cwd, &paths, &[]),
        "pkg/net.py:11:16: warning[DL101]"
    ));
}

#[test]
fn a_module_that_appears_is_not_missed() {
    let dir = project();
    let cwd = dir.path();
    let net = "\
import torch.nn.functional as F

from pkg.layers import Backbone


class Head(Backbone):
    def forward(self, x, labels):
        return F.cross_entropy(self.encoder(x), labels)
";
    std::fs::write(cwd.join("pkg/head.py"), net).unwrap();
    let paths = ["pkg/head.py"];
    // `pkg.layers` does not exist: `Head` is not known to be a model.
    assert!(!has(&findings_of(cwd, &paths, &[]), "DL101"));
    assert!(replayed(cwd, &paths));
    // Now it does (found by the import probe, not linted itself).
    std::fs::write(
        cwd.join("pkg/layers.py"),
        BASE.replace("class Base", "class Backbone"),
    )
    .unwrap();
    assert!(!replayed(cwd, &paths));
    assert!(has(
        &findings_of(cwd, &paths, &[]),
        "pkg/head.py:8:16: warning[DL101]"
    ));
}

#[test]
fn a_new_losses_module_changes_the_suggestion() {
    let dir = project();
    let cwd = dir.path();
    let paths = ["pkg/net.py"];
    let json = |cwd: &Path| {
        let out = dllint(
            cwd,
            &[
                "check",
                "--output-format",
                "json",
                "--exit-zero",
                "pkg/net.py",
            ],
            &[],
        );
        stdout(&out)
    };
    // Replayed for a run that builds refactorings, as the JSON output does (a result with
    // them serves only such a run).
    let replayed = |cwd: &Path, paths: &[&str]| {
        let mut args = vec!["check", "--output-format", "json", "--exit-zero"];
        args.extend_from_slice(paths);
        let out = dllint(cwd, &args, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stderr(&out).contains("dllint timing: replayed project result")
    };
    assert!(
        json(cwd).contains("\"target_file\": \"loss.py\""),
        "{}",
        json(cwd)
    );
    assert!(replayed(cwd, &paths));
    // An existing losses module near the file is where the suggestion now goes, although no
    // linted or imported file changed.
    std::fs::write(cwd.join("pkg/losses.py"), "import torch\n").unwrap();
    assert!(!replayed(cwd, &paths));
    assert!(
        json(cwd).contains("\"target_file\": \"losses.py\""),
        "{}",
        json(cwd)
    );
    // Its content is part of the fix (the component is appended to it): an edit is seen too.
    assert!(replayed(cwd, &paths));
    std::fs::write(cwd.join("pkg/losses.py"), "import torch\n\n\nEPS = 1e-8\n").unwrap();
    assert!(!replayed(cwd, &paths));
    let no_cache = dllint(
        cwd,
        &[
            "check",
            "--output-format",
            "json",
            "--exit-zero",
            "--no-cache",
            "pkg/net.py",
        ],
        &[],
    );
    assert_eq!(json(cwd), stdout(&no_cache));
}

/// All entries below `dir` (relative, sorted), to compare a directory before and after.
fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            found.push(path.strip_prefix(dir).unwrap().display().to_string());
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Issue 15: a cache directory named by the user that already holds files is never tagged
/// as a whole, and `dllint clean` removes only what dllint wrote — never the user's files,
/// never the project root.
#[test]
fn clean_never_removes_files_dllint_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    std::fs::create_dir_all(cwd.join("d/sub")).unwrap();
    std::fs::write(cwd.join("d/notes.txt"), "keep\n").unwrap();
    std::fs::write(cwd.join("d/sub/y.txt"), "keep\n").unwrap();
    std::fs::write(cwd.join("t.py"), "import pdb\n").unwrap();
    let before = tree(&cwd.join("d"));
    let d = Path::new("d");
    for env in [&[("DLLINT_CACHE_DIR", d)][..], &[]] {
        let args: &[&str] = if env.is_empty() {
            &["check", "--cache-dir", "d", "t.py"]
        } else {
            &["check", "t.py"]
        };
        let out = dllint(cwd, args, env);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let own_folder = cache_files(&cwd.join("d/.dllint_cache")).len();
        let tagged = cwd.join("d/CACHEDIR.TAG").exists() || cwd.join("d/.gitignore").exists();
        let (_, hits, _) = check_with(cwd, &["--cache-dir", "d"], &[]);
        let clean: &[&str] = if env.is_empty() {
            &["clean", "--cache-dir", "d"]
        } else {
            &["clean"]
        };
        let out = dllint(cwd, clean, env);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("Removed cache directory d/.dllint_cache"),
            "{}",
            stderr(&out)
        );
        assert_eq!(tree(&cwd.join("d")), before, "{}", stderr(&out));
        // The cache went into a folder of dllint's own; `d` itself was not tagged.
        assert_eq!((own_folder, tagged, hits), (1, false, 1));
    }
    assert!(cwd.join("t.py").is_file());
}

/// Issue 15: `DLLINT_CACHE_DIR=.` (or `--cache-dir .`) in a project neither litters the
/// project root with `CACHEDIR.TAG` and a `.gitignore` of `*`, nor lets `clean` delete the
/// project.
#[test]
fn cache_dir_dot_keeps_the_project_root_untouched() {
    let dir = project();
    let cwd = dir.path();
    let before = tree(cwd);
    let dot = Path::new(".");
    check_with(cwd, &[], &[("DLLINT_CACHE_DIR", dot)]);
    check(cwd, &["--cache-dir", "."]);
    assert!(!cwd.join("CACHEDIR.TAG").exists());
    assert!(!cwd.join(".gitignore").exists());
    assert!(cwd.join(".dllint_cache/CACHEDIR.TAG").is_file());
    let out = dllint(cwd, &["clean"], &[("DLLINT_CACHE_DIR", dot)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(tree(cwd), before, "{}", stderr(&out));
    // A root littered by an older dllint: only its own two files go, the project stays.
    std::fs::write(
        cwd.join("CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag \
         created by dllint.\n# For information about cache directory tags see \
         https://bford.info/cachedir/\n",
    )
    .unwrap();
    std::fs::write(
        cwd.join(".gitignore"),
        "# Automatically created by dllint.\n*\n",
    )
    .unwrap();
    let out = dllint(cwd, &["clean", "--cache-dir", "."], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Removed dllint's .gitignore, CACHEDIR.TAG from ."),
        "{}",
        stderr(&out)
    );
    assert_eq!(tree(cwd), before, "{}", stderr(&out));
}

/// A project whose `cli.py` declares `--lr` and whose `run.py` (given) reads it, selecting
/// `select` (a TOML list) with `ignored_in_run` ignored for `run.py`.
fn options_project(select: &str, ignored_in_run: &str, run_py: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    std::fs::write(
        cwd.join("pyproject.toml"),
        format!(
            "[tool.dllint]\nselect = {select}\n\
             per-file-ignores = {{ \"run.py\" = [\"{ignored_in_run}\"] }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        cwd.join("cli.py"),
        "import argparse\n\n\ndef parse():\n    parser = argparse.ArgumentParser()\n    \
         parser.add_argument(\"--lr\", type=float, default=0.1)\n    return parser.parse_args()\n",
    )
    .unwrap();
    std::fs::write(cwd.join("run.py"), run_py).unwrap();
    dir
}

/// The `dllint facts: ...` line of a run with `DLLINT_TIMING` (empty if it has none).
fn facts_line(out: &Output) -> String {
    stderr(out)
        .lines()
        .find(|l| l.starts_with("dllint facts: "))
        .map(str::to_string)
        .unwrap_or_default()
}

/// A run of per-file rules only builds no facts (`--select DL305`: the facts summary counts
/// nothing), and what it caches never serves a run that needs them: here `run.py` has the
/// same rules in both runs (DL304 is ignored for it), but only the second run has a cross-file
/// rule (DL304 for `cli.py`, which needs `run.py`'s reads).
#[test]
fn a_run_without_cross_file_rules_builds_no_facts_and_caches_none_for_one_that_has_them() {
    let dir = options_project(
        "[\"DL304\", \"DL305\"]",
        "DL304",
        "from cli import parse\n\n\nclass Net:\n    pass\n\n\nargs = parse()\nprint(args.lr)\n",
    );
    let cwd = dir.path();
    // Only `run.py`, whose rules are per-file: no facts (no class counted).
    let first = dllint(
        cwd,
        &[
            "check",
            "--output-format",
            "concise",
            "--exit-zero",
            "run.py",
        ],
        &[],
    );
    assert!(
        facts_line(&first).starts_with("dllint facts: classes 0 functions 0"),
        "{}",
        stderr(&first)
    );
    // The whole project: `cli.py`'s DL304 needs `run.py`'s facts; a cached facts-less
    // `run.py` would make `--lr` look unread.
    let second = dllint(
        cwd,
        &["check", "--output-format", "concise", "--exit-zero", "."],
        &[],
    );
    assert_eq!(stdout(&second), "All checks passed! (2 files checked)\n");
    assert!(
        facts_line(&second).starts_with("dllint facts: classes 1 functions 1"),
        "{}",
        stderr(&second)
    );
}

/// A run whose cross-file rules read only symbols and usage builds no scope facts (no call
/// counted), and what it caches never serves a run that needs them: `run.py` has the same
/// rules in both runs (DL306 is ignored for it), but only the second run has a rule that
/// reads every scope's calls (DL306 for `cli.py`).
#[test]
fn a_run_of_symbol_rules_builds_no_scope_facts_and_caches_none_for_one_that_needs_them() {
    let dir = options_project(
        "[\"DL304\", \"DL306\"]",
        "DL306",
        "from cli import parse\n\nargs = parse()\nprint(args.lr)\n",
    );
    let cwd = dir.path();
    let counted = |path: &str| {
        let out = dllint(
            cwd,
            &["check", "--output-format", "concise", "--exit-zero", path],
            &[],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        facts_line(&out)
    };
    // Only `run.py`, whose one cross-file rule (DL304) reads symbols and usage.
    let symbols = counted("run.py");
    assert!(symbols.contains(" project_calls 0 "), "{symbols}");
    // The whole project: DL306 for `cli.py` needs every scope's calls, `run.py`'s too.
    let training = counted(".");
    assert!(training.contains(" project_calls 1 "), "{training}");
}

/// An output with no place for a fix (`github`) gets the same findings without their
/// refactorings being built; a project result serves only a run that asks for refactorings as
/// it was made.
#[test]
fn refactorings_are_built_only_for_an_output_that_shows_them_and_never_replayed_into_one() {
    let dir = project();
    let cwd = dir.path();
    let json = |out: &Output| -> Vec<serde_json::Value> {
        serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
    };
    let suggested = |findings: &[serde_json::Value]| -> Vec<String> {
        findings
            .iter()
            .filter(|f| !f["suggestion"].is_null())
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    let github = dllint(
        cwd,
        &["check", "--output-format", "github", "--exit-zero", "."],
        &[],
    );
    assert_eq!(github.status.code(), Some(0), "{}", stderr(&github));
    let quiet = |format: &str| {
        let out = dllint(
            cwd,
            &["check", "--output-format", format, "--exit-zero", "."],
            &[],
        );
        assert!(
            !stderr(&out).contains("replayed project result"),
            "a result without refactorings was replayed for --output-format {format}:\n{}",
            stderr(&out)
        );
        out
    };
    // The JSON run after it builds them (the github run's stored result is not replayed).
    let first = quiet("json");
    let findings = json(&first);
    assert_eq!(suggested(&findings), ["DL101"], "{}", stdout(&first));
    // Both runs report the same findings, at the same places.
    // (A notebook's positions are cells in JSON, lines of the file in GitHub's format.)
    let places = |lines: Vec<String>| {
        let mut lines: Vec<String> = lines
            .into_iter()
            .filter(|l| !l.contains(".ipynb"))
            .collect();
        lines.sort();
        lines
    };
    let from_github = places(
        stdout(&github)
            .lines()
            .filter_map(|l| {
                let (_, rest) = l.split_once("file=")?;
                let (file, rest) = rest.split_once(",line=")?;
                let (line, rest) = rest.split_once(',')?;
                let (_, code) = rest.split_once("title=")?;
                Some(format!("{file}:{line}:{}", &code[..5]))
            })
            .collect(),
    );
    let from_json = places(
        findings
            .iter()
            .map(|f| {
                format!(
                    "{}:{}:{}",
                    f["filename"].as_str().unwrap(),
                    f["location"]["row"],
                    f["code"].as_str().unwrap()
                )
            })
            .collect(),
    );
    assert!(!from_json.is_empty());
    assert_eq!(from_github, from_json);
    // A warm JSON run replays its own result, refactorings included.
    let warm = dllint(
        cwd,
        &["check", "--output-format", "json", "--exit-zero", "."],
        &[],
    );
    assert!(
        stderr(&warm).contains("replayed project result"),
        "{}",
        stderr(&warm)
    );
    assert_eq!(suggested(&json(&warm)), ["DL101"]);
    // A result with refactorings does not serve a run without them either: such a run says
    // which findings have one (the full output shows it), which that result does not record.
    let other = project();
    let first = dllint(
        other.path(),
        &["check", "--output-format", "json", "--exit-zero", "."],
        &[],
    );
    assert!(!stderr(&first).contains("replayed project result"));
    let github_warm = dllint(
        other.path(),
        &["check", "--output-format", "github", "--exit-zero", "."],
        &[],
    );
    assert!(
        !stderr(&github_warm).contains("replayed project result"),
        "{}",
        stderr(&github_warm)
    );
    assert_eq!(stdout(&github_warm), stdout(&github));
}
