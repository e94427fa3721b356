//! `--write-baseline` / `--baseline`: recorded findings stay suppressed when lines move, new
//! findings are reported, fixed ones are counted; the file is deterministic and sorted.

mod common;

use std::fs;
use std::path::Path;

use common::{run, stderr, stdout};

const TRAIN: &str = "import pdb\n\n\ndef forward(x):\n    print(x.shape)\n    return x\n";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("train.py"), TRAIN).unwrap();
    fs::write(dir.path().join("clean.py"), "def g(y):\n    return y\n").unwrap();
    dir
}

fn concise(cwd: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["check", "--output-format", "concise"];
    args.extend_from_slice(extra);
    args.push(".");
    run(cwd, &args, None)
}

/// The finding lines of concise output (without the summary line).
fn findings(out: &std::process::Output) -> Vec<String> {
    stdout(out)
        .lines()
        .filter(|l| {
            !l.starts_with("Found ")
                && !l.starts_with("All checks passed")
                && !l.starts_with("[*] ")
        })
        .map(String::from)
        .collect()
}

fn write_baseline(cwd: &Path, file: &str) {
    let out = run(cwd, &["check", "--write-baseline", file, "."], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("wrote 2 findings to the baseline {file}")),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
}

#[test]
fn baselined_findings_survive_line_shifts_and_new_ones_are_reported() {
    let dir = project();
    write_baseline(dir.path(), "baseline.json");

    let out = concise(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(findings(&out), Vec::<String>::new());
    assert!(
        stderr(&out).contains("2 findings suppressed, 0 recorded findings fixed"),
        "{}",
        stderr(&out)
    );

    // Lines added above (and the block re-indented) keep the recorded findings suppressed.
    let shifted = format!(
        "\"\"\"A module.\"\"\"\nimport os\n\n{}",
        TRAIN
            .replace("    print", "        print")
            .replace("    return", "        return")
    )
    .replace("def forward(x):\n", "def forward(x):\n    if True:\n");
    fs::write(dir.path().join("train.py"), &shifted).unwrap();
    let out = concise(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{shifted}", stdout(&out));

    // A new finding is reported, and only it.
    fs::write(
        dir.path().join("train.py"),
        format!("{shifted}\nbreakpoint()\n"),
    )
    .unwrap();
    let out = concise(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(1));
    let lines = findings(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("train.py:12:1: warning[DL305] "),
        "{lines:?}"
    );
    // Without the baseline everything is reported.
    let all = concise(dir.path(), &[]);
    assert_eq!(findings(&all).len(), 3);
}

#[test]
fn fixed_findings_are_counted_and_duplicates_are_told_apart() {
    let dir = project();
    write_baseline(dir.path(), "baseline.json");

    // The pdb import is fixed.
    fs::write(
        dir.path().join("train.py"),
        TRAIN.replace("import pdb\n", ""),
    )
    .unwrap();
    let out = concise(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("1 finding suppressed, 1 recorded finding fixed"),
        "{err}"
    );
    assert!(err.contains("--write-baseline baseline.json"), "{err}");

    // A second identical print is a new finding even though its line text is recorded.
    fs::write(
        dir.path().join("train.py"),
        TRAIN.replace(
            "    print(x.shape)\n",
            "    print(x.shape)\n    print(x.shape)\n",
        ),
    )
    .unwrap();
    let out = concise(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        findings(&out),
        ["train.py:6:5: warning[DL305] [*] `print(x.shape)` is a shape-debugging print"]
    );

    // Linting another file alone does not make train.py's entries look fixed.
    let out = run(
        dir.path(),
        &["check", "--baseline", "baseline.json", "clean.py"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("0 findings suppressed, 0 recorded findings fixed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn baseline_file_is_deterministic_sorted_and_relative_to_its_directory() {
    let dir = project();
    fs::create_dir(dir.path().join("ci")).unwrap();
    fs::write(dir.path().join("a.py"), "import ipdb\n").unwrap();
    let out = run(
        dir.path(),
        &["check", "--write-baseline", "ci/baseline.json", "."],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = fs::read_to_string(dir.path().join("ci/baseline.json")).unwrap();
    let again = run(
        dir.path(),
        &[
            "check",
            "--threads",
            "1",
            "--write-baseline",
            "ci/baseline.json",
            ".",
        ],
        None,
    );
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        fs::read_to_string(dir.path().join("ci/baseline.json")).unwrap(),
        first
    );

    let parsed: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(parsed["version"], 1);
    let findings = parsed["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);
    let keys: Vec<(String, String, String)> = findings
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["code"].as_str().unwrap().to_string(),
                f["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys[0].0, "../a.py");
    assert_eq!(keys[0].2.len(), 32);
    assert!(findings.iter().all(|f| f["occurrence"] == 0));

    // The same baseline works from another working directory.
    let sub = dir.path().join("ci");
    let out = run(&sub, &["check", "--baseline", "baseline.json", ".."], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("3 findings suppressed"),
        "{}",
        stderr(&out)
    );

    // Machine-readable output stays clean: the note goes to stderr.
    let out = run(
        dir.path(),
        &[
            "check",
            "--output-format",
            "json",
            "--baseline",
            "ci/baseline.json",
            ".",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).trim(), "[]");
}

#[test]
fn bad_baselines_are_usage_errors() {
    let dir = project();
    let missing = run(dir.path(), &["check", "--baseline", "nope.json", "."], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("cannot read the baseline nope.json"),
        "{}",
        stderr(&missing)
    );

    fs::write(
        dir.path().join("bad.json"),
        "{\"version\": 1, \"findings\": 3}",
    )
    .unwrap();
    let bad = run(dir.path(), &["check", "--baseline", "bad.json", "."], None);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("invalid baseline bad.json"),
        "{}",
        stderr(&bad)
    );

    fs::write(
        dir.path().join("future.json"),
        "{\"version\": 9, \"findings\": []}",
    )
    .unwrap();
    let future = run(
        dir.path(),
        &["check", "--baseline", "future.json", "."],
        None,
    );
    assert_eq!(future.status.code(), Some(2));
    assert!(stderr(&future).contains("version 9"), "{}", stderr(&future));

    let both = run(
        dir.path(),
        &[
            "check",
            "--baseline",
            "a.json",
            "--write-baseline",
            "a.json",
            ".",
        ],
        None,
    );
    assert_eq!(both.status.code(), Some(2));
}

/// Nothing lost: `--write-baseline` replaces a baseline, never another file a mistyped path
/// names (`--write-baseline train.py`); that is an error (exit 2) and the file is kept.
#[test]
fn write_baseline_never_overwrites_a_file_that_is_not_a_baseline() {
    let dir = project();
    let out = run(
        dir.path(),
        &["check", "--write-baseline", "train.py", "."],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refusing to overwrite train.py: it is not a dllint baseline"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("train.py")).unwrap(),
        TRAIN
    );
    // A baseline, or an empty file, is replaced.
    write_baseline(dir.path(), "baseline.json");
    write_baseline(dir.path(), "baseline.json");
    fs::write(dir.path().join("empty.json"), "").unwrap();
    write_baseline(dir.path(), "empty.json");
}
