//! `dllint survey`: every loss definition in the survey fixtures is found and categorised as its
//! `# survey: <category>` marker says, and nothing else is reported.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

/// `(path, line, category)` of every marker under `fixtures/survey/<framework>`.
fn expected(framework: &str) -> BTreeSet<(String, u64, String)> {
    let dir = common::root().join("fixtures/survey").join(framework);
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            if let Some((_, category)) = line.split_once("# survey: ") {
                let name = path.file_name().unwrap().to_string_lossy();
                found.insert((
                    format!("fixtures/survey/{framework}/{name}"),
                    i as u64 + 1,
                    category.trim().to_string(),
                ));
            }
        }
    }
    found
}

fn survey_json(args: &[&str]) -> Value {
    let output = common::run(&common::root(), args, None);
    assert!(output.status.success(), "{}", common::stderr(&output));
    serde_json::from_str(&common::stdout(&output)).expect("survey prints JSON")
}

fn instances(json: &Value) -> BTreeSet<(String, u64, String)> {
    json["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["path"].as_str().unwrap().to_string(),
                i["line"].as_u64().unwrap(),
                i["category"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn pytorch_categories_match_markers() {
    let json = survey_json(&[
        "survey",
        "--isolated",
        "fixtures/survey/pytorch",
        "--format",
        "json",
    ]);
    assert_eq!(instances(&json), expected("pytorch"));
}

#[test]
fn tensorflow_categories_match_markers() {
    let json = survey_json(&[
        "survey",
        "--isolated",
        "fixtures/survey/tensorflow",
        "--format",
        "json",
    ]);
    assert_eq!(instances(&json), expected("tensorflow"));
}

#[test]
fn jax_categories_match_markers() {
    let json = survey_json(&[
        "survey",
        "--isolated",
        "fixtures/survey/jax",
        "--format",
        "json",
    ]);
    assert_eq!(instances(&json), expected("jax"));
}

#[test]
fn instances_name_their_enclosing_definition() {
    let json = survey_json(&[
        "survey",
        "--isolated",
        "fixtures/survey/pytorch",
        "--format",
        "json",
    ]);
    let enclosing: BTreeSet<&str> = json["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["enclosing"].as_str().unwrap())
        .collect();
    for name in [
        "Classifier.forward",
        "gan_loss.discriminator_loss",
        "<module>",
        "train_epoch",
        "FocalLoss.forward",
    ] {
        assert!(
            enclosing.contains(name),
            "{name} missing from {enclosing:?}"
        );
    }
    let closure = json["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["enclosing"] == "gan_loss.discriminator_loss")
        .unwrap();
    assert!(
        closure["evidence"]
            .as_str()
            .unwrap()
            .contains("loss factory"),
        "{closure}"
    );
    for instance in json["instances"].as_array().unwrap() {
        let keys: BTreeSet<&str> = instance
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "path",
                "cell",
                "line",
                "end_line",
                "enclosing",
                "category",
                "evidence"
            ])
        );
        assert!(instance["end_line"].as_u64() >= instance["line"].as_u64());
    }
}

#[test]
fn per_repo_counts_each_subdirectory() {
    let json = survey_json(&[
        "survey",
        "--isolated",
        "--per-repo",
        "fixtures/survey",
        "--format",
        "json",
    ]);
    let repositories = json["summary"]["repositories"].as_array().unwrap();
    let names: Vec<&str> = repositories
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["jax", "pytorch", "tensorflow"]);
    let total = expected("jax").len() + expected("pytorch").len() + expected("tensorflow").len();
    let counted: u64 = json["summary"]["totals"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["instances"].as_u64().unwrap())
        .sum();
    assert_eq!(counted as usize, total);
    assert_eq!(
        json["summary"]["totals"]["loss_in_model_runner"]["repositories"],
        2
    );
}

#[test]
fn table_and_csv_render_the_same_instances() {
    let table = common::stdout(&common::run(
        &common::root(),
        &["survey", "--isolated", "--per-repo", "fixtures/survey"],
        None,
    ));
    assert!(
        table.starts_with("Loss definitions by placement (3 repositories, 14 files)"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with("loss_standalone"))
        .unwrap();
    let standalone = [expected("jax"), expected("pytorch"), expected("tensorflow")]
        .iter()
        .flatten()
        .filter(|(_, _, c)| c == "loss_standalone")
        .count();
    assert_eq!(
        row.split_whitespace().nth(1).unwrap(),
        standalone.to_string(),
        "{table}"
    );
    let csv = common::stdout(&common::run(
        &common::root(),
        &["survey", "--isolated", "fixtures/survey", "--format", "csv"],
        None,
    ));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("path,cell,line,end_line,enclosing,category,evidence")
    );
    assert_eq!(
        lines.count(),
        expected("jax").len() + expected("pytorch").len() + expected("tensorflow").len()
    );
}

#[test]
fn per_repo_rejects_a_file() {
    let output = common::run(
        &common::root(),
        &["survey", "--per-repo", "fixtures/DL101.py"],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        common::stderr(&output).contains("not a directory"),
        "{}",
        common::stderr(&output)
    );
}

/// `check` and `survey` classify the same code the same way: a survey `loss_in_model` is a
/// DL101 finding about that model, `loss_in_model_runner` a DL103 about that class,
/// `loss_in_runner` a DL102 inside the definition, and a standalone loss none of the three.
/// The survey says where losses are whatever the notebook policy; `check` runs with the
/// policy off (`notebook-ignore = []`), or a collection of example scripts would disagree.
#[test]
fn check_and_survey_agree_on_every_survey_fixture() {
    let config = tempfile::tempdir().unwrap();
    let config = config.path().join("dllint.toml");
    std::fs::write(&config, "notebook-ignore = []\n").unwrap();
    let config = config.to_str().unwrap();
    for dir in ["fixtures/survey", "fixtures/projects"] {
        let survey = survey_json(&["survey", "--isolated", dir, "--format", "json"]);
        let output = common::run(
            &common::root(),
            &[
                "check",
                "--config",
                config,
                "--no-cache",
                "--exit-zero",
                "--select",
                "DL101,DL102,DL103",
                "--output-format",
                "json",
                dir,
            ],
            None,
        );
        let findings: Vec<Value> =
            serde_json::from_str(&common::stdout(&output)).expect("check prints JSON");
        let mut disagreements = Vec::new();
        for instance in survey["instances"].as_array().unwrap() {
            let path = instance["path"].as_str().unwrap();
            let (line, end) = (
                instance["line"].as_u64().unwrap(),
                instance["end_line"].as_u64().unwrap(),
            );
            let enclosing = instance["enclosing"].as_str().unwrap();
            let class = enclosing.split_once('.').map(|(c, _)| c);
            let category = instance["category"].as_str().unwrap();
            let here = |code: &str| {
                findings.iter().any(|f| {
                    f["code"] == code && f["filename"] == path && f["cell"] == instance["cell"] && {
                        let row = f["location"]["row"].as_u64().unwrap();
                        line <= row && row <= end
                    }
                })
            };
            let about_class = |code: &str| {
                class.is_some_and(|c| {
                    findings.iter().any(|f| {
                        f["code"] == code
                            && f["filename"] == path
                            && f["message"].as_str().unwrap().contains(&format!("`{c}`"))
                    })
                })
            };
            let agrees = match category {
                "loss_in_model" => about_class("DL101"),
                "loss_in_model_runner" => about_class("DL103"),
                "loss_in_runner" => here("DL102"),
                _ => !here("DL101") && !here("DL102") && !here("DL103"),
            };
            if !agrees {
                disagreements.push(format!("{path}:{line} {enclosing}: survey says {category}"));
            }
        }
        assert!(
            disagreements.is_empty(),
            "check disagrees with survey:\n{}",
            disagreements.join("\n")
        );
    }
}

/// Issue 21, item 6: in a notebook a loss definition's position is its cell and the lines
/// within it, as `check` and `map` give positions: the same cell and line for the same code.
#[test]
fn notebook_positions_agree_with_check_and_map() {
    let notebook = "tests/notebooks/losses.ipynb";
    let json = survey_json(&["survey", "--isolated", notebook, "--format", "json"]);
    let instance = &json["instances"][0];
    assert_eq!(json["instances"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(instance["category"], "loss_in_runner");
    assert_eq!(
        (
            instance["cell"].clone(),
            instance["line"].clone(),
            instance["end_line"].clone()
        ),
        (5.into(), 4.into(), 9.into()),
        "{instance}"
    );
    let csv = common::run(
        &common::root(),
        &["survey", "--isolated", notebook, "--format", "csv"],
        None,
    );
    assert!(
        common::stdout(&csv).contains(
            "tests/notebooks/losses.ipynb,5,4,9,<module>,loss_in_runner,is a loss formula written out\n"
        ),
        "{}",
        common::stdout(&csv)
    );
    // `check` puts the `breakpoint()` of the same loop in cell 5, line 9; `map` puts the loop
    // (the Runner) at cell 5, line 4.
    let check = common::check_concise(notebook);
    assert!(
        check.contains("tests/notebooks/losses.ipynb:cell 5:9:5: warning[DL305]"),
        "{check}"
    );
    let map = common::run(&common::root(), &["map", "--isolated", notebook], None);
    assert!(
        common::stdout(&map).contains("tests/notebooks/losses.ipynb:cell 5:4  ! DL305"),
        "{}",
        common::stdout(&map)
    );
}
