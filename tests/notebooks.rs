//! Jupyter notebooks through the real binary: code cells are linted (magics, shell escapes and
//! foreign cell magics skipped), every output format names the cell, a malformed notebook is a
//! DL000 finding (never a crash), and notebooks are discovered by default but excludable.

mod common;

use std::path::Path;

use common::{assert_golden, root, run, stderr, stdout};

/// A temporary project holding the notebook fixtures.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["train.ipynb", "broken.ipynb"] {
        std::fs::copy(
            root().join("tests/notebooks").join(name),
            dir.path().join(name),
        )
        .unwrap();
    }
    dir
}

fn check(cwd: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["check", "--isolated", "--no-cache", "--select", "DL0,DL305"];
    all.extend_from_slice(args);
    run(cwd, &all, None)
}

#[test]
fn cells_are_linted_and_every_format_names_the_cell() {
    let dir = project();
    let cwd = dir.path();
    let mut all = String::new();
    for format in [
        "concise", "full", "grouped", "pylint", "json", "sarif", "github", "gitlab", "junit",
    ] {
        let out = check(cwd, &["--output-format", format, "train.ipynb"]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        let text = stdout(&out).replace(&cwd.display().to_string(), "<tmp>");
        // Every format says which cell; the ones that point into the stored file give the
        // line of the notebook's JSON.
        for cell in [2, 3, 5] {
            let named = text.contains(&format!("cell {cell}"))
                || text.contains(&format!("\"cell\": {cell},"));
            assert!(named, "{format}: cell {cell}\n{text}");
        }
        // The SARIF rule catalog (and so each result's index into it) changes with every rule:
        // only the results are compared, without `ruleIndex` (`ruleId` names the rule).
        let text = if format == "sarif" {
            let mut log: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut results = log["runs"][0]["results"].take();
            for result in results.as_array_mut().unwrap() {
                result.as_object_mut().unwrap().remove("ruleIndex");
            }
            serde_json::to_string_pretty(&results).unwrap() + "\n"
        } else {
            text
        };
        all.push_str(&format!("===== {format}\n{text}"));
    }
    // Magics (`%matplotlib`), shell escapes (`!pip`, `= !ls`), help (`x?`) and the `%%bash`
    // cell raise nothing; the `%%time` cell is Python and is linted.
    let concise = check(cwd, &["--output-format", "concise", "-q", "train.ipynb"]);
    let lines: Vec<String> = stdout(&concise).lines().map(str::to_string).collect();
    let locations: Vec<&str> = lines
        .iter()
        .map(|l| l.split(": ").next().unwrap())
        .collect();
    assert_eq!(
        locations,
        [
            "train.ipynb:cell 2:3:8",
            "train.ipynb:cell 3:3:1",
            "train.ipynb:cell 5:2:8"
        ],
        "{lines:#?}"
    );
    assert!(!stdout(&concise).contains("DL000"));
    assert_golden(&root().join("tests/snapshots/notebook_formats.txt"), &all).unwrap();
}

#[test]
fn github_annotations_point_into_the_notebook_json() {
    let dir = project();
    let cwd = dir.path();
    let out = check(cwd, &["--output-format", "github", "train.ipynb"]);
    let raw = std::fs::read_to_string(cwd.join("train.ipynb")).unwrap();
    // `import pdb` of cell 2: the annotation's line is the JSON line holding it, its column
    // the `p` of `pdb` inside the JSON string.
    let line = raw
        .lines()
        .position(|l| l.contains("\"import pdb\\n\""))
        .unwrap()
        + 1;
    let column = raw.lines().nth(line - 1).unwrap().find("pdb").unwrap() + 1;
    let text = stdout(&out);
    let first = text.lines().next().unwrap();
    assert!(
        first.contains(&format!("line={line},col={column},")),
        "{first} (expected line {line}, col {column})"
    );
    assert!(first.contains("::cell 2, line 3: "), "{first}");
}

#[test]
fn a_malformed_notebook_is_a_dl000_finding_not_a_crash() {
    let dir = project();
    let cwd = dir.path();
    for format in ["concise", "json", "sarif", "junit"] {
        let out = check(cwd, &["--output-format", format, "broken.ipynb"]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("DL000"), "{format}: {text}");
        assert!(
            text.contains("invalid notebook: the file is not valid JSON"),
            "{format}: {text}"
        );
    }
    let out = check(cwd, &["--output-format", "full", "broken.ipynb"]);
    let text = stdout(&out);
    assert!(text.contains("unexpected end of the file"), "{text}");
    assert!(
        text.contains("help: dllint reads Jupyter notebooks"),
        "{text}"
    );
    // Other files are still linted alongside it.
    let out = check(cwd, &["--output-format", "concise", "-q", "."]);
    let text = stdout(&out);
    assert!(text.contains("broken.ipynb:1:1: error[DL000]"), "{text}");
    assert!(
        text.contains("train.ipynb:cell 2:3:8: warning[DL305]"),
        "{text}"
    );
}

#[test]
fn notebooks_are_discovered_by_default_and_excludable() {
    let dir = project();
    let cwd = dir.path();
    std::fs::write(cwd.join("model.py"), "import pdb\n").unwrap();
    let summary = |args: &[&str]| {
        let mut all = vec!["--output-format", "concise"];
        all.extend_from_slice(args);
        all.push(".");
        stdout(&check(cwd, &all))
    };
    let text = summary(&[]);
    assert!(text.contains("(3 files checked)"), "{text}");
    assert!(text.contains("train.ipynb:cell 2"), "{text}");
    let text = summary(&["--extend-exclude", "*.ipynb"]);
    assert!(text.contains("(1 file checked)"), "{text}");
    assert!(!text.contains("ipynb"), "{text}");
    // From the configuration too.
    std::fs::write(
        cwd.join("pyproject.toml"),
        "[tool.dllint]\nextend-exclude = [\"broken.ipynb\"]\n",
    )
    .unwrap();
    let out = run(
        cwd,
        &[
            "check",
            "--no-cache",
            "--select",
            "DL0,DL305",
            "--output-format",
            "concise",
            ".",
        ],
        None,
    );
    let text = stdout(&out);
    assert!(text.contains("(2 files checked)"), "{text}");
    assert!(!text.contains("broken.ipynb"), "{text}");
    // A notebook whose kernel is not Python is read but has no code to lint.
    std::fs::write(
        cwd.join("r.ipynb"),
        r#"{"cells":[{"cell_type":"code","source":["import pdb"]}],"metadata":{"kernelspec":{"language":"R","name":"ir"}},"nbformat":4,"nbformat_minor":5}"#,
    )
    .unwrap();
    let out = check(cwd, &["--output-format", "concise", "-q", "r.ipynb"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn a_notebook_on_stdin_is_reported_by_cell() {
    let dir = project();
    let cwd = dir.path();
    let text = std::fs::read_to_string(cwd.join("train.ipynb")).unwrap();
    let out = run(
        cwd,
        &[
            "check",
            "--isolated",
            "--select",
            "DL305",
            "--output-format",
            "concise",
            "-q",
            "--stdin-filename",
            "nb.ipynb",
            "-",
        ],
        Some(&text),
    );
    let text = stdout(&out);
    assert!(
        text.starts_with("nb.ipynb:cell 2:3:8: warning[DL305]"),
        "{text}"
    );
}

#[test]
fn fix_edits_the_cells_and_keeps_the_rest_of_the_json() {
    let dir = project();
    let path = dir.path().join("train.ipynb");
    let before = std::fs::read_to_string(&path).unwrap();
    let fixed = check(dir.path(), &["--fix", "train.ipynb"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", stderr(&fixed));
    let after = std::fs::read_to_string(&path).unwrap();
    assert_ne!(
        before, after,
        "the debugger imports and the breakpoint are removed"
    );

    // Only the `source` of code cells changed: every other field is identical.
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    let (mut old, mut new) = (parse(&before), parse(&after));
    let cells = |v: &mut serde_json::Value| v["cells"].as_array_mut().unwrap().clone();
    let (old_cells, new_cells) = (cells(&mut old), cells(&mut new));
    assert_eq!(old_cells.len(), new_cells.len());
    for (a, b) in old_cells.iter().zip(&new_cells) {
        let strip = |c: &serde_json::Value| {
            let mut c = c.clone();
            c.as_object_mut().unwrap().remove("source");
            c
        };
        assert_eq!(strip(a), strip(b));
        if a["cell_type"] != "code" {
            assert_eq!(a["source"], b["source"]);
        }
    }
    old.as_object_mut().unwrap().remove("cells");
    new.as_object_mut().unwrap().remove("cells");
    assert_eq!(old, new, "metadata and format fields are kept");
    let source = |i: usize| -> String {
        new_cells[i]["source"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect()
    };
    // The debugger imports and the breakpoint are gone; magics and shell lines stay.
    assert_eq!(
        source(1),
        "%matplotlib inline\n!pip install torch\nimport torch"
    );
    assert_eq!(source(2), "x = torch.zeros(3)\nfiles = !ls\nx?");
    // The `%%bash` cell is not Python: its `import pdb` text is untouched.
    assert_eq!(new_cells[3]["source"], old_cells[3]["source"]);
    assert!(!source(4).contains("ipdb"), "{}", source(4));
    // Fixed to a fixed point: a second run changes nothing and finds nothing.
    let again = check(dir.path(), &["--fix", "train.ipynb"]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), after);
}

/// The notebook-policy fixture in a temporary project, with its code cells also written out as
/// a script (`policy.py`): the same code, linted as a module.
fn policy_project(config: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let raw = std::fs::read_to_string(root().join("tests/notebooks/policy.ipynb")).unwrap();
    std::fs::write(dir.path().join("policy.ipynb"), &raw).unwrap();
    let notebook: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let cells: Vec<String> = notebook["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["cell_type"] == "code")
        .map(|c| {
            c["source"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect()
        })
        .collect();
    std::fs::write(dir.path().join("policy.py"), cells.join("\n\n") + "\n").unwrap();
    // DL107 and DL508 are off by default, and a short script is a god file only past
    // `max-lines`: turn them on so that the script shows what the notebook policy then takes
    // away.
    let base = "extend-select = [\"DL107\", \"DL508\"]\n";
    let rule_options = "\n[god-file]\nmax-lines = 10\n";
    let config = format!("{base}{}{rule_options}", config.unwrap_or(""));
    std::fs::write(dir.path().join("dllint.toml"), config).unwrap();
    dir
}

/// `(cell, line, code)` of each finding in `file` (default rules, the project's configuration).
fn findings(cwd: &Path, file: &str) -> Vec<(Option<u64>, u64, String)> {
    let out = run(
        cwd,
        &["check", "--no-cache", "--output-format", "json", file],
        None,
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let found: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    found
        .iter()
        .map(|f| {
            (
                f["cell"].as_u64(),
                f["location"]["row"].as_u64().unwrap(),
                f["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn codes(found: &[(Option<u64>, u64, String)]) -> Vec<&str> {
    let mut codes: Vec<&str> = found.iter().map(|f| f.2.as_str()).collect();
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn each_rule_treats_notebooks_as_it_declares() {
    let dir = policy_project(None);
    let cwd = dir.path();
    // The same code as a script: the module-level loop (DL107), three roles in one file
    // (DL201), no seed (DL508), the shape prints and the hand-set flag are all reported.
    let script = findings(cwd, "policy.py");
    assert_eq!(
        codes(&script),
        ["DL107", "DL201", "DL301", "DL305", "DL508"],
        "{script:?}"
    );
    assert_eq!(
        script.iter().filter(|f| f.2 == "DL305").count(),
        4,
        "pdb, two shape prints, breakpoint: {script:?}"
    );
    assert_eq!(script.iter().filter(|f| f.2 == "DL301").count(), 2);
    // As a notebook: DL107, DL201 and DL508 are skipped; DL305 reports the debugger import and
    // the breakpoint but not the shape prints of the training loop in cell 6; DL301 reports
    // `if False:` but not the `USE_AUGMENTATION` flag, a parameter the reader sets.
    let notebook = findings(cwd, "policy.ipynb");
    assert_eq!(
        notebook,
        [
            (Some(2), 2, "DL305".to_string()),
            (Some(5), 3, "DL301".to_string()),
            (Some(6), 11, "DL305".to_string()),
        ]
    );
}

#[test]
fn the_notebook_policy_is_configurable() {
    // `notebook-ignore` replaces the list: DL107 and DL201 lint notebooks again, DL508 stays
    // skipped. A narrowed rule keeps its notebook scope (no shape prints).
    let dir = policy_project(Some("notebook-ignore = [\"DL508\"]\n"));
    let found = findings(dir.path(), "policy.ipynb");
    assert_eq!(
        codes(&found),
        ["DL107", "DL201", "DL301", "DL305"],
        "{found:?}"
    );
    assert_eq!(found.iter().filter(|f| f.2 == "DL305").count(), 2);
    // `extend-notebook-ignore` adds to the defaults; a prefix names a family.
    let dir = policy_project(Some("extend-notebook-ignore = [\"DL3\"]\n"));
    assert_eq!(findings(dir.path(), "policy.ipynb"), []);
    // Python files are not affected.
    assert_eq!(
        codes(&findings(dir.path(), "policy.py")),
        ["DL107", "DL201", "DL301", "DL305", "DL508"]
    );
    // An empty list lints notebooks with every rule.
    let dir = policy_project(Some("notebook-ignore = []\n"));
    assert_eq!(
        codes(&findings(dir.path(), "policy.ipynb")),
        ["DL107", "DL201", "DL301", "DL305", "DL508"]
    );
    // Per-file ignores still apply to notebooks.
    let dir = policy_project(Some("[per-file-ignores]\n\"*.ipynb\" = [\"DL305\"]\n"));
    assert_eq!(codes(&findings(dir.path(), "policy.ipynb")), ["DL301"]);
}

#[test]
fn an_unknown_code_in_the_notebook_policy_is_a_configuration_error() {
    for (config, key, hint) in [
        (
            "notebook-ignore = [\"DL999\"]\n",
            "notebook-ignore",
            "unknown rule selector `DL999`",
        ),
        (
            "[tool.dllint]\nextend-notebook-ignore = [\"DL1O7\"]\n",
            "tool.dllint.extend-notebook-ignore",
            "did you mean `DL107`?",
        ),
        (
            "notebok-ignore = [\"DL107\"]\n",
            "notebok-ignore",
            "did you mean `notebook-ignore`?",
        ),
    ] {
        let dir = policy_project(None);
        std::fs::remove_file(dir.path().join("dllint.toml")).unwrap();
        let name = if config.starts_with("[tool") {
            "pyproject.toml"
        } else {
            "dllint.toml"
        };
        std::fs::write(dir.path().join(name), config).unwrap();
        let out = run(dir.path(), &["check", "--no-cache", "policy.ipynb"], None);
        assert_eq!(out.status.code(), Some(2), "{config}: {}", stdout(&out));
        let message = stderr(&out);
        assert!(message.contains(&format!("`{key}`")), "{config}: {message}");
        assert!(message.contains(hint), "{config}: {message}");
    }
}

#[test]
fn dllint_rule_shows_the_notebook_behaviour() {
    let cwd = root();
    let out = run(&cwd, &["rule", "DL107"], None);
    let text = stdout(&out);
    assert!(text.contains("· Notebooks: skipped ·"), "{text}");
    assert!(text.contains("## Notebooks\nSkipped."), "{text}");
    let out = run(&cwd, &["rule", "DL305", "--output-format", "json"], None);
    let rule: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rule["notebooks"], "narrowed");
    assert_eq!(
        rule["notebooks_scope"],
        "debuggers and breakpoints only, no shape prints"
    );
}

/// A notebook kept as a Python file (jupytext's `# %%` cells, an nbconvert export's `# In[ ]:`)
/// gets the notebook policy: its shape prints are output, its loop is a cell's.
#[test]
fn a_python_file_with_cells_is_a_notebook() {
    let dir = tempfile::tempdir().unwrap();
    let cells = "# %% [markdown]\n# A tutorial\n# %%\nimport pdb\nimport torch\nx = torch.zeros(3)\nprint(x.shape)\n";
    let exported = "#!/usr/bin/env python\n# In[1]:\nimport torch\nx = torch.zeros(3)\n# In[2]:\nprint(x.shape)\n";
    let plain = "import torch\n\n\ndef forward(x):\n    print(x.shape)\n    return x\n";
    std::fs::write(dir.path().join("cells.py"), cells).unwrap();
    std::fs::write(dir.path().join("exported.py"), exported).unwrap();
    std::fs::write(dir.path().join("plain.py"), plain).unwrap();
    let found = |file: &str| codes(&findings(dir.path(), file)).join(",");
    assert_eq!(found("cells.py"), "DL305"); // the debugger, not the shape print
    assert_eq!(findings(dir.path(), "cells.py").len(), 1);
    assert_eq!(found("exported.py"), "");
    assert_eq!(found("plain.py"), "DL305");
}

/// Teaching code — below a folder of examples or tutorials, a numbered lesson folder, or a file
/// named as a lesson — gets the notebook policy (but, being no notebook, keeps its per-batch
/// shape prints reported); a numbered file alone (a pipeline step) does not.
#[test]
fn teaching_code_gets_the_notebook_policy() {
    let dir = tempfile::tempdir().unwrap();
    let code = "import argparse\n\nimport torch\n\nparser = argparse.ArgumentParser()\nargs = parser.parse_args()\n\n\ndef train(model, optimizer, x, y):\n    for _ in range(10):\n        print(x.shape)\n        loss = ((model(x) - y) ** 2).mean() + 0.1 * model.weight.abs().sum()\n        loss.backward()\n        optimizer.step()\n";
    for path in [
        "tutorials/train.py",
        "01-basics/train.py",
        "lab-05-2-regression.py",
        "02_train.py",
        "src/train.py",
    ] {
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, code).unwrap();
    }
    std::fs::write(dir.path().join("dllint.toml"), "").unwrap();
    let found = |file: &str| codes(&findings(dir.path(), file)).join(",");
    // In a project file: the inline loss (DL102), the shape print in the loop (DL305), the
    // missing zero_grad (DL501).
    assert_eq!(found("src/train.py"), "DL102,DL305,DL501");
    assert_eq!(found("02_train.py"), "DL102,DL305,DL501");
    // In teaching code: the bug, and the shape print that runs on every batch (a script has no
    // cell whose output it would be); not the inline loss the lesson shows.
    for file in [
        "tutorials/train.py",
        "01-basics/train.py",
        "lab-05-2-regression.py",
    ] {
        assert_eq!(found(file), "DL305,DL501", "{file}");
    }
}

/// `--add-noqa` on a notebook writes the comments into the cells' `source` (a cell's last line
/// without a newline included) and keeps the rest of the JSON; `check` then finds nothing.
#[test]
fn add_noqa_writes_into_the_cells() {
    let dir = tempfile::tempdir().unwrap();
    let original =
        std::fs::read_to_string(common::root().join("tests/notebooks/train.ipynb")).unwrap();
    std::fs::write(dir.path().join("train.ipynb"), &original).unwrap();
    let out = common::run(dir.path(), &["check", "--add-noqa", "train.ipynb"], None);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("Added 3 noqa directives."),
        "{}",
        common::stderr(&out)
    );
    let text = std::fs::read_to_string(dir.path().join("train.ipynb")).unwrap();
    let (old, new): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&original).unwrap(),
        serde_json::from_str(&text).expect("still JSON"),
    );
    let source = |v: &serde_json::Value, i: usize| -> String {
        v["cells"][i]["source"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect()
    };
    assert_eq!(
        source(&new, 1),
        "%matplotlib inline\n!pip install torch\nimport pdb  # noqa: DL305\nimport torch"
    );
    assert_eq!(
        source(&new, 2),
        "x = torch.zeros(3)\nfiles = !ls\npdb.set_trace()  # noqa: DL305\nx?"
    );
    assert_eq!(source(&new, 4), "%%time\nimport ipdb  # noqa: DL305");
    for i in [0, 3, 5] {
        assert_eq!(new["cells"][i], old["cells"][i], "cell {}", i + 1);
    }
    let again = common::run(dir.path(), &["check", "train.ipynb"], None);
    assert_eq!(again.status.code(), Some(0), "{}", common::stdout(&again));
}
