//! The semantic facts of a few representative fixtures (`FileFacts`, what the single tree walk
//! learns about a file), pinned by golden files in `tests/snapshots/facts/<fixture>.json`: a
//! change in what the semantic layer records shows up here even when no rule's findings move.
//! `UPDATE_SNAPSHOTS=1 cargo test --test facts` rewrites them; read the diff before accepting.
//!
//! The facts are built through the engine, as `check` builds them, and written as pretty JSON
//! (serde, fields in declaration order) with the small parts on one line (see [`to_json`]).
//! Ranges are byte offsets into the fixture; the facts hold no paths, nothing nondeterministic.

mod common;

use std::path::Path;

use dllint::config::{Overrides, Resolver};
use dllint::engine::{self, Input};
use dllint::semantic::FileFacts;

/// The facts of `fixtures/<name>.py`, linted alone from the repository root.
fn facts_of(name: &str) -> FileFacts {
    let root = common::root();
    let relative = Path::new("fixtures").join(format!("{name}.py"));
    assert!(
        root.join(&relative).is_file(),
        "{} does not exist",
        relative.display()
    );
    let resolver = Resolver::new(root.clone(), None, true, Overrides::default()).unwrap();
    let input = Input {
        settings: resolver.settings_for(&relative).unwrap(),
        path: relative.clone(),
        text: None,
    };
    let project = engine::run(vec![input], Some(1), &root, &resolver);
    let mut files = project.index.into_files();
    let position = files
        .iter()
        .position(|f| f.linted && *f.path == *relative)
        .unwrap_or_else(|| panic!("no facts for {}", relative.display()));
    files.swap_remove(position).facts
}

/// Pretty JSON (serde's field order), with the small parts on one line: an array of values
/// that each fit on one line (`"range": [120, 164]`, `[{"Leaf": "Const"}, {"Leaf": "Batch"}]`)
/// and an object of one entry (`{"Qualified": "torch.nn.Linear"}`, serde's form of an enum
/// variant), as long as the line stays within 100 columns.
fn to_json(facts: &FileFacts) -> String {
    let mut lines: Vec<String> = serde_json::to_string_pretty(facts)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // Inner parts first: repeat until nothing joins.
    loop {
        let mut joined = Vec::with_capacity(lines.len());
        let mut i = 0;
        while i < lines.len() {
            match join_at(&lines, i) {
                Some((line, used)) => {
                    joined.push(line);
                    i += used;
                }
                None => {
                    joined.push(lines[i].clone());
                    i += 1;
                }
            }
        }
        if joined.len() == lines.len() {
            break;
        }
        lines = joined;
    }
    lines.join("\n") + "\n"
}

/// The array or one-entry object that opens on line `i`, on one line, and how many lines it
/// took; `None` if it does not open there, spans a part written on several lines, or would be
/// too long.
fn join_at(lines: &[String], i: usize) -> Option<(String, usize)> {
    let open = lines[i].as_str();
    let (object, close) = if open.ends_with('{') {
        (true, "}")
    } else if open.ends_with('[') {
        (false, "]")
    } else {
        return None;
    };
    let mut items = Vec::new();
    for line in &lines[i + 1..] {
        let line = line.trim();
        let item = line.strip_suffix(',').unwrap_or(line);
        if item == close {
            if items.is_empty() || (object && items.len() > 1) {
                return None;
            }
            let joined = format!("{open}{}{line}", items.join(", "));
            return (joined.len() <= 100).then_some((joined, items.len() + 2));
        }
        let complete = if object {
            serde_json::from_str::<serde_json::Value>(&format!("{{{item}}}")).is_ok()
        } else {
            serde_json::from_str::<serde_json::Value>(item).is_ok()
        };
        if !complete {
            return None;
        }
        items.push(item);
    }
    None
}

fn snapshot_dir() -> std::path::PathBuf {
    common::root().join("tests/snapshots/facts")
}

/// The facts of `fixtures/<name>.py` must equal `tests/snapshots/facts/<name>.json`.
fn facts(name: &str) {
    let facts = facts_of(name);
    let json = to_json(&facts);
    // The one-line parts lose nothing: the snapshot reads back as the same facts.
    let read_back: FileFacts = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{name}: the facts JSON does not read back: {e}"));
    assert!(
        read_back == facts,
        "{name}: the facts JSON does not read back the same"
    );
    let snapshot = snapshot_dir().join(format!("{name}.json"));
    if let Err(problem) = common::assert_golden(&snapshot, &json) {
        panic!("{problem}");
    }
}

// One test per fixture, named as the fixture (`cargo test --test facts DL101`): a PyTorch model
// with its loss in `forward`, a Keras `train_step` and `add_loss`, Lightning hooks, a Flax module
// with a `jax.value_and_grad` step, a plain training script at module level, a trainer class
// with the loop, argparse options read and unread, and forward signatures with shapes.
common::test_per_name! {
    FACTS, facts;
    DL101,
    DL101_keras,
    DL101_lightning,
    DL101_flax,
    DL102_demo,
    DL201_runner_class_loss,
    DL304,
    DL402,
}

#[test]
fn every_facts_snapshot_is_listed() {
    let mut snapshots: Vec<String> = std::fs::read_dir(snapshot_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    snapshots.sort();
    let stale: Vec<&String> = snapshots
        .iter()
        .filter(|s| {
            s.strip_suffix(".json")
                .is_none_or(|name| !FACTS.contains(&name))
        })
        .collect();
    assert!(
        stale.is_empty(),
        "tests/snapshots/facts holds snapshots no test in tests/facts.rs checks: {stale:?}"
    );
}

#[test]
fn every_listed_facts_fixture_exists() {
    let missing: Vec<&&str> = FACTS
        .iter()
        .filter(|name| !common::root().join(format!("fixtures/{name}.py")).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "listed in tests/facts.rs, but fixtures/<name>.py does not exist: {missing:?}"
    );
}
