//! Incremental project rules through the real binary: after an edit, a run that replays the
//! project findings of every file none of whose reads changed (`semantic::reads`) prints
//! exactly what a run without any cache prints. Each bundled example project, and every
//! fixture together as one project, goes through a series of edits of each kind that can
//! change another file's findings: text appended, every range shifted, a function renamed, a
//! training step deleted, a model's base class replaced, an import dropped.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{bin, root, stderr, stdout};

/// `dllint check` of `dir` with JSON output (which carries the refactorings): the output, and
/// how many files' project findings the run replayed and how many files' resolved calls it
/// reused (none without a cache).
fn check(dir: &Path, cache: Option<&Path>) -> (String, Replayed) {
    let mut command = Command::new(bin());
    command
        .args([
            "check",
            "--isolated",
            "--exit-zero",
            "--output-format",
            "json",
        ])
        .current_dir(dir)
        .env("DLLINT_TIMING", "1")
        .env_remove("DLLINT_CACHE_DIR")
        .env_remove("DLLINT_NO_CACHE")
        .stdin(Stdio::null());
    match cache {
        Some(cache) => command.arg("--cache-dir").arg(cache),
        None => command.arg("--no-cache"),
    };
    let out = command.arg(".").output().expect("dllint runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let count = |what: &str| {
        stderr(&out)
            .lines()
            .filter_map(|l| l.strip_prefix("dllint incremental: "))
            .find_map(|rest| rest.strip_suffix(what))
            .and_then(|rest| rest.split(' ').next())
            .map_or(0, |n| n.parse().unwrap())
    };
    let replayed = Replayed {
        findings: count("files' project findings replayed"),
        calls: count("files' resolved calls reused"),
        imports: count("files' resolved imports reused"),
    };
    (stdout(&out), replayed)
}

/// What incremental runs reused: files' project findings, files' resolved calls, files'
/// resolved imports.
#[derive(Default, Clone, Copy)]
struct Replayed {
    findings: usize,
    calls: usize,
    imports: usize,
}

impl Replayed {
    /// Fail unless some file's project findings were replayed and some file's resolved calls
    /// and imports reused: else the runs tested nothing incremental.
    fn assert_all(self) {
        assert!(
            self.findings > 0,
            "no cached run replayed any file's project findings"
        );
        assert!(
            self.calls > 0,
            "no cached run reused any file's resolved calls"
        );
        assert!(
            self.imports > 0,
            "no cached run reused any file's resolved imports"
        );
    }
}

impl std::ops::AddAssign for Replayed {
    fn add_assign(&mut self, other: Replayed) {
        self.findings += other.findings;
        self.calls += other.calls;
        self.imports += other.imports;
    }
}

/// One edit of `text`, of kind `kind`; `None` if the file has nothing it applies to.
fn edit(text: &str, kind: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let without = |pred: &dyn Fn(&str) -> bool| {
        let at = lines.iter().position(|l| pred(l))?;
        let mut kept = lines.clone();
        kept.remove(at);
        Some(kept.join("\n") + "\n")
    };
    match kind {
        0 => Some(format!("{text}\nedited_value = 1\n")),
        1 => Some(format!("# a comment that shifts every range\n\n{text}")),
        2 => {
            let at = text.find("def ")? + 4;
            let end = at + text[at..].find('(')?;
            Some(format!("{}_renamed{}", &text[..end], &text[end..]))
        }
        3 => without(&|l: &str| {
            let l = l.trim();
            l.ends_with(".step()") || l.ends_with(".backward()") || l.ends_with(".zero_grad()")
        }),
        4 => text
            .contains("nn.Module)")
            .then(|| text.replacen("nn.Module)", "object)", 1)),
        _ => without(&|l: &str| l.starts_with("from ") && !l.contains("__future__")),
    }
}

fn python_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for path in walk(from) {
        let target = to.join(path.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&path, &target).unwrap();
    }
}

/// Edit the project in `dir` `rounds` times (a different file and kind each time), and after
/// each edit compare the cached run with a run without a cache. Returns what the cached runs
/// replayed.
fn edits_replay_what_a_full_run_finds(dir: &Path, rounds: usize) -> Replayed {
    let cache = tempfile::tempdir().unwrap();
    let (first, _) = check(dir, Some(cache.path()));
    assert_eq!(first, check(dir, None).0, "a cold cached run differs");
    let files = python_files(dir);
    let mut replayed = Replayed::default();
    let mut applied = 0;
    for round in 0..rounds * 3 {
        if applied == rounds {
            break;
        }
        let file = &files[(round * 7) % files.len()];
        let kind = round % 6;
        let text = std::fs::read_to_string(file).unwrap();
        let Some(edited) = edit(&text, kind) else {
            continue;
        };
        std::fs::write(file, &edited).unwrap();
        applied += 1;
        let (incremental, reused) = check(dir, Some(cache.path()));
        let (full, _) = check(dir, None);
        assert_eq!(
            incremental,
            full,
            "after edit {kind} of {}, the cached run differs from a full one",
            file.display()
        );
        replayed += reused;
    }
    replayed
}

#[test]
fn each_example_project_after_edits() {
    let mut replayed = Replayed::default();
    let projects = root().join("fixtures/projects");
    let mut names: Vec<_> = std::fs::read_dir(&projects)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    assert!(names.len() >= 10, "the example projects are missing");
    for project in names {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&project, dir.path());
        replayed += edits_replay_what_a_full_run_finds(dir.path(), 6);
    }
    // The runs above must have replayed something, else they tested nothing incremental.
    replayed.assert_all();
}

#[test]
fn every_fixture_as_one_project_after_edits() {
    let dir = tempfile::tempdir().unwrap();
    for file in python_files(&root().join("fixtures")) {
        let relative = file.strip_prefix(root().join("fixtures")).unwrap();
        // The example projects are exercised on their own; here the single-file fixtures.
        if relative.components().count() > 1 {
            continue;
        }
        std::fs::copy(&file, dir.path().join(relative)).unwrap();
    }
    edits_replay_what_a_full_run_finds(dir.path(), 18).assert_all();
}

/// A file's resolved calls and imports are reused only while the files resolving them read
/// keep their keys: `train.py` imports and calls `b`, and reordering `utils.py` gives `b`
/// another function id. A run that reused `train.py`'s stored calls or imports would point its
/// loop at `a`, which does not step, and miss the training loop (and DL102 on it).
#[test]
fn resolved_calls_and_imports_follow_an_edit_to_the_file_they_resolve_into() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("train.py"),
        "import torch\nfrom utils import a, b\n\nmodel = torch.nn.Linear(2, 2)\n\
         opt = torch.optim.SGD(model.parameters(), lr=0.1)\nfor x in range(10):\n    \
         loss = model(torch.randn(2)).sum()\n    loss.backward()\n    b(opt)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.py"), "x = 1\n").unwrap();
    let utils = dir.path().join("utils.py");
    std::fs::write(
        &utils,
        "def a(opt):\n    pass\n\n\ndef b(opt):\n    opt.step()\n",
    )
    .unwrap();
    let (cold, _) = check(dir.path(), Some(cache.path()));
    assert!(cold.contains("DL102"), "{cold}");
    std::fs::write(
        &utils,
        "def b(opt):\n    opt.step()\n\n\ndef a(opt):\n    pass\n",
    )
    .unwrap();
    let (incremental, _) = check(dir.path(), Some(cache.path()));
    assert_eq!(incremental, check(dir.path(), None).0);
    assert!(incremental.contains("DL102"), "{incremental}");
    // An edit to a file neither resolution read: `train.py`'s calls are reused.
    std::fs::write(dir.path().join("notes.py"), "x = 2\n").unwrap();
    let (again, replayed) = check(dir.path(), Some(cache.path()));
    assert_eq!(again, check(dir.path(), None).0);
    assert!(again.contains("DL102"), "{again}");
    assert!(replayed.calls > 0, "no resolved calls were reused");
    assert!(replayed.imports > 0, "no resolved imports were reused");
}

/// What a file's imports resolve to is reused only while every file resolving them read keeps
/// its key. `pkg/impl/script.py` is a training script whose model builds its optimizer (DL105),
/// reported only while another file imports the script. `user.py` imports `Net` from
/// `pkg.script`, which re-exports it from `pkg.impl.script`, then (after an edit to
/// `pkg/script.py` alone) from `pkg.other`: nothing imports the script any more. A run that
/// reused `user.py`'s stored resolution would still count it as an importer (as
/// `pkg.script`) and report DL105.
#[test]
fn resolved_imports_follow_an_edit_to_a_re_export() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "pkg/impl/script.py",
        "import torch\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n    \
         def __init__(self):\n        super().__init__()\n        \
         self.fc = nn.Linear(2, 2)\n        \
         self.opt = torch.optim.SGD(self.parameters(), lr=0.1)\n\n    \
         def forward(self, x):\n        return self.fc(x)\n\n\n\
         if __name__ == \"__main__\":\n    net = Net()\n    for step in range(10):\n        \
         net.opt.zero_grad()\n        loss = net(torch.randn(2)).sum()\n        \
         loss.backward()\n        net.opt.step()\n",
    );
    write("pkg/__init__.py", "");
    write("pkg/impl/__init__.py", "");
    write("pkg/script.py", "from pkg.impl.script import Net\n");
    write("pkg/other.py", "class Net:\n    pass\n");
    write("user.py", "from pkg.script import Net\n\nprint(Net)\n");
    write("notes.py", "x = 1\n");
    let (cold, _) = check(dir.path(), Some(cache.path()));
    assert!(cold.contains("DL105"), "{cold}");
    write("pkg/script.py", "from pkg.other import Net\n");
    let (incremental, _) = check(dir.path(), Some(cache.path()));
    assert_eq!(incremental, check(dir.path(), None).0);
    assert!(!incremental.contains("DL105"), "{incremental}");
    // An edit to a file no resolution read: `user.py`'s resolved imports are reused.
    write("notes.py", "x = 2\n");
    let (again, replayed) = check(dir.path(), Some(cache.path()));
    assert_eq!(again, check(dir.path(), None).0);
    assert!(replayed.imports > 0, "no resolved imports were reused");
}
