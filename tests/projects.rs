//! Multi-file example projects (`fixtures/projects/<name>/`), linted as a user would with the
//! default rules (plus the rules named in the project's markers that are off by default):
//! markers in every file must match the findings exactly, and the full output of the project
//! README runs is pinned by a golden snapshot.
//!
//! Each project is its own test, named as its directory (`cargo test --test projects gan`); two
//! tests keep the list equal to the directories in `fixtures/projects/`.

mod common;

use std::collections::BTreeMap;

/// The markers in every file of `fixtures/projects/<name>/` must match the findings exactly.
fn project(name: &str) {
    let root = common::root();
    let dir = root.join("fixtures/projects").join(name);
    assert!(dir.is_dir(), "fixtures/projects/{name} does not exist");
    let mut problems = Vec::new();
    let relative = dir
        .strip_prefix(&root)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    // Rules that are off by default run where a marker expects them.
    let mut codes: Vec<String> = walk_py(&dir)
        .iter()
        .flat_map(|f| {
            common::expected_markers(&std::fs::read_to_string(f).unwrap())
                .into_values()
                .flatten()
                .collect::<Vec<_>>()
        })
        .collect();
    codes.sort();
    codes.dedup();
    let mut args = vec!["check", "--isolated", "--output-format", "json"];
    let selected = codes.join(",");
    if !codes.is_empty() {
        args.extend(["--extend-select", selected.as_str()]);
    }
    args.push(&relative);
    let output = common::run(&root, &args, None);
    let findings: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "json output for {relative}: {e}\n{}",
                common::stderr(&output)
            )
        });
    let mut actual: BTreeMap<String, BTreeMap<usize, Vec<String>>> = BTreeMap::new();
    for f in &findings {
        let file = f["filename"].as_str().unwrap().to_string();
        let row = f["location"]["row"].as_u64().unwrap() as usize;
        actual
            .entry(file)
            .or_default()
            .entry(row)
            .or_default()
            .push(f["code"].as_str().unwrap().into());
    }
    for lines in actual.values_mut() {
        for codes in lines.values_mut() {
            codes.sort();
        }
    }
    for file in walk_py(&dir) {
        let name = file
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let expected = common::expected_markers(&std::fs::read_to_string(&file).unwrap());
        let found = actual.remove(&name).unwrap_or_default();
        problems.extend(common::marker_problems(&name, &expected, &found));
    }
    for (file, lines) in actual {
        problems.push(format!(
            "findings in a file that was not expected: {file}: {lines:?}"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The names of the directories in `fixtures/projects/`.
fn project_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(common::root().join("fixtures/projects"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn every_project_has_a_test() {
    let names = project_names();
    assert!(!names.is_empty());
    let unlisted = common::unlisted(PROJECTS, &names);
    assert!(
        unlisted.is_empty(),
        "projects with no test: add them to `test_per_name!` in tests/projects.rs: {unlisted:?}"
    );
}

#[test]
fn every_listed_project_exists() {
    let missing = common::not_on_disk(PROJECTS, &project_names());
    assert!(
        missing.is_empty(),
        "listed in tests/projects.rs, but fixtures/projects/<name> does not exist: {missing:?}"
    );
}

// One test per project, named as its directory: `cargo test --test projects gan`.
common::test_per_name! {
    PROJECTS, project;
    cifar_trainer,
    classifier,
    collection,
    config_escapes,
    course,
    detector,
    eval_helpers,
    experiments,
    gan,
    keras_steps,
    loss_callers,
    reused_script,
    shadowed_library,
    twin_models,
}

fn walk_py(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk_py(&path));
        } else if path.extension().is_some_and(|e| e == "py") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn readme_example_output_is_pinned() {
    let root = common::root();
    let output = common::run(&root, &["check", "fixtures/projects/cifar_trainer"], None);
    assert_eq!(output.status.code(), Some(1), "{}", common::stderr(&output));
    common::assert_golden(
        &root.join("tests/snapshots/example_cifar_trainer.txt"),
        &common::stdout(&output),
    )
    .unwrap();
}
