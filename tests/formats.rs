//! The CI output formats, each run through the real binary and read back by an independent
//! consumer where one exists:
//!
//! - `sarif`: validated against the official SARIF 2.1.0 JSON schema
//!   (`tests/schemas/sarif-schema-2.1.0.json`, provenance in `tests/schemas/README.md`) by the
//!   Python `jsonschema` package, plus checks of what GitHub code scanning relies on;
//! - `junit`: parsed by Python's `xml.etree`;
//! - `github`: parsed with the workflow-command grammar (a regular expression, in Python) and
//!   unescaped as the Actions runner does;
//! - `gitlab`: the fields GitLab's Code Quality report requires, and fingerprints that survive
//!   line shifts;
//! - `grouped`, `pylint`: their exact shapes;
//! - every format shows each finding's severity (the rule's default or the configured one).
//!
//! Python comes from `PATH` when it has `jsonschema`, else from a virtual environment created
//! under the target directory (pip-installed once). Without Python or PyPI the independent
//! checks are skipped with a message, except in CI (`CI` set), where they must run.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use common::{python_with, root, run, stderr, stdout};

/// A debugger import, shape prints (one message holding XML/JSON/command special characters,
/// two identical lines) and a clean function.
const DIRTY: &str = "import pdb\n\n\ndef forward(x):\n    print(x.shape, \"<&>\\\"' 100%, a:b\")\n    print(x.shape)\n    print(x.shape)\n    return x\n";
const CLEAN: &str = "def f(x):\n    return x + 1\n";

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A repository (a `.git` directory marks its root) with the CIFAR example project in
/// `project/`, plus files whose names need escaping.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    let project = dir.path().join("project");
    fs::create_dir(&project).unwrap();
    for entry in fs::read_dir(root().join("fixtures/projects/cifar_trainer")).unwrap() {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "py") {
            fs::copy(entry.path(), project.join(entry.file_name())).unwrap();
        }
    }
    write(dir.path(), "project/my model ü.py", DIRTY);
    write(dir.path(), "project/odd,name:1.py", DIRTY);
    write(dir.path(), "project/clean.py", CLEAN);
    dir
}

fn check(cwd: &Path, format: &str) -> (String, std::process::Output) {
    // No cache: its directory would show up among the project's files.
    let out = run(
        cwd,
        &["check", "--no-cache", "--output-format", format, "."],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{format}: expected findings\n{}",
        stderr(&out)
    );
    (stdout(&out), out)
}

/// The findings as `json` reports them: the reference the other formats are compared with.
fn reference(cwd: &Path) -> Vec<Value> {
    let (text, _) = check(cwd, "json");
    serde_json::from_str(&text).unwrap()
}

/// The independent Python consumers.
const CONSUMER: &str = r#"
import json, re, sys
import xml.etree.ElementTree as ET

def sarif(schema_path, log_path):
    import jsonschema
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    with open(log_path, encoding="utf-8") as f:
        log = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(
        "/".join(map(str, e.absolute_path)) + ": " + e.message
        for e in validator.iter_errors(log)
    )
    return {"validator": cls.__name__, "errors": errors}

def junit(path):
    root = ET.parse(path).getroot()
    suites = root.findall("testsuite")
    cases = []
    for case in root.iter("testcase"):
        cases.append({
            "name": case.get("name"),
            "classname": case.get("classname"),
            "failures": [
                {"message": f.get("message"), "type": f.get("type"), "text": f.text}
                for f in case.findall("failure")
            ],
        })
    return {
        "root": root.tag,
        "tests": root.get("tests"),
        "failures": root.get("failures"),
        "suites": len(suites),
        "cases": cases,
    }

# https://docs.github.com/actions/reference/workflow-commands-for-github-actions
COMMAND = re.compile(
    r"^::(error|warning|notice) file=([^,:]*),line=(\d+),col=(\d+),"
    r"endLine=(\d+),endColumn=(\d+),title=([^,:]*)::(.*)$"
)

def unescape(text):
    # The runner's unescaping; `%25` last so that an escaped `%` is not decoded twice.
    for token, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(token, char)
    return text

def github(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            m = COMMAND.match(line)
            if m is None:
                out.append({"unparsed": line})
                continue
            level, file, l, c, el, ec, title, message = m.groups()
            out.append({
                "level": level, "file": unescape(file), "line": int(l), "col": int(c),
                "endLine": int(el), "endColumn": int(ec), "title": unescape(title),
                "message": unescape(message),
            })
    return out

print(json.dumps(globals()[sys.argv[1]](*sys.argv[2:])))
"#;

/// The Python that runs the consumers (`jsonschema` is needed only for SARIF), or `None` with
/// the reason printed when it is unavailable outside CI.
fn python(needs_jsonschema: bool) -> Option<PathBuf> {
    let found = if needs_jsonschema {
        python_with("jsonschema, rfc3986_validator", "jsonschema[format-nongpl]")
    } else {
        common::python_importing("xml.etree.ElementTree").ok_or_else(|| "no python3".to_string())
    };
    match found {
        Ok(python) => Some(python),
        Err(reason) if common::in_ci() => panic!("CI must run the Python consumers: {reason}"),
        Err(reason) => {
            common::skipped(&format!("the independent Python check: {reason}"));
            None
        }
    }
}

fn consume(python: &Path, args: &[&str]) -> Value {
    let out = Command::new(python)
        .arg("-c")
        .arg(CONSUMER)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python consumer failed: {}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

fn save(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

fn schema() -> PathBuf {
    root().join("tests/schemas/sarif-schema-2.1.0.json")
}

#[test]
fn sarif_is_valid_sarif_2_1_0_with_the_rule_catalog() {
    let repo = repository();
    let cwd = repo.path().join("project");
    let expected = reference(&cwd);
    let (text, _) = check(&cwd, "sarif");
    let log: Value = serde_json::from_str(&text).expect("SARIF is JSON");

    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"].as_array().unwrap().len(), 1);
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "dllint");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));

    // The whole catalog, in registration order, so that `ruleIndex` points into it.
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), dllint::rules::ALL.len());
    for (descriptor, rule) in rules.iter().zip(dllint::rules::ALL) {
        assert_eq!(descriptor["id"], rule.code);
        assert_eq!(descriptor["name"], rule.name);
        assert_eq!(descriptor["shortDescription"]["text"], rule.summary());
        assert_eq!(descriptor["fullDescription"]["text"], rule.documentation());
        assert_eq!(descriptor["help"]["text"], rule.documentation());
        assert_eq!(descriptor["helpUri"], rule.url());
        let level = descriptor["defaultConfiguration"]["level"]
            .as_str()
            .unwrap();
        assert!(["error", "warning", "note"].contains(&level), "{level}");
        assert!(!rule.summary().is_empty(), "{} has no summary", rule.code);
    }

    // URIs are relative to the repository root (the `.git` above the working directory).
    let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), expected.len());
    for (result, finding) in results.iter().zip(&expected) {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert_eq!(result["ruleId"], finding["code"]);
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("project/"), "{uri}");
        let region = &location["region"];
        assert_eq!(region["startLine"], finding["location"]["row"]);
        assert_eq!(region["startColumn"], finding["location"]["column"]);
        assert_eq!(region["endLine"], finding["end_location"]["row"]);
        assert_eq!(region["endColumn"], finding["end_location"]["column"]);
        assert!(
            result["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with(finding["message"].as_str().unwrap())
        );
        let labels = finding["labels"].as_array().unwrap().len();
        let related = result["relatedLocations"].as_array().map_or(0, Vec::len);
        assert_eq!(related, labels, "{result}");
        assert!(result["partialFingerprints"]["dllint/v1"].is_string());
    }
    assert!(
        results.iter().any(
            |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "project/my%20model%20%C3%BC.py"
        ),
        "percent-encoded URI missing"
    );
    assert!(
        results.iter().any(|r| r["relatedLocations"]
            .as_array()
            .is_some_and(|l| !l.is_empty())),
        "no related locations"
    );

    let Some(python) = python(true) else { return };
    let scratch = tempfile::tempdir().unwrap();
    let file = save(scratch.path(), "dllint.sarif", &text);
    let verdict = consume(
        &python,
        &["sarif", schema().to_str().unwrap(), file.to_str().unwrap()],
    );
    assert_eq!(
        verdict["errors"],
        serde_json::json!([]),
        "SARIF does not validate"
    );
    // The validator does reject invalid SARIF (a control: the test is not vacuous).
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    let physical = &mut broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    physical["region"]["startLine"] = 0.into();
    // Formats are checked too: a URI with a space is not a `uri-reference`.
    physical["artifactLocation"]["uri"] = "project/my model.py".into();
    let file = save(scratch.path(), "broken.sarif", &broken.to_string());
    let verdict = consume(
        &python,
        &["sarif", schema().to_str().unwrap(), file.to_str().unwrap()],
    );
    assert_eq!(verdict["errors"].as_array().unwrap().len(), 3, "{verdict}");
}

/// Fixes cannot be produced through the binary yet (no rule has one): render a hand-made
/// report with a fix and an other-file label through the library and validate it too.
#[test]
fn sarif_fixes_and_other_file_labels_validate() {
    use dllint::diagnostic::{Applicability, Diagnostic, Edit, FileReport, Fix, ReportText};
    use dllint::engine::Report;
    use dllint::source::SourceText;
    use ruff_text_size::{TextRange, TextSize};
    use std::sync::Arc;

    let rule = dllint::rules::find_rule("DL305").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.py");
    fs::write(&other, "x = 1\n").unwrap();
    let text = "import pdb\nx = 1\n";
    let diagnostic = Diagnostic::new(
        rule,
        "`pdb` is imported",
        TextRange::new(TextSize::new(7), TextSize::new(10)),
    )
    .with_label(TextRange::new(TextSize::new(11), TextSize::new(16)), "here")
    .with_file_label(
        Arc::from(other.as_path()),
        TextRange::new(TextSize::new(0), TextSize::new(1)),
        "there",
    )
    .with_fix(Fix {
        title: "remove the import".into(),
        applicability: Applicability::Safe,
        edits: vec![
            Edit::deletion(TextRange::new(TextSize::new(0), TextSize::new(11))),
            Edit::insertion(TextSize::new(11), "# removed\n"),
        ],
        other_files: Vec::new(),
    });
    let path = dir.path().join("a.py");
    let report = Report {
        files: vec![FileReport {
            path: path.clone(),
            display: "a.py".into(),
            text: ReportText::Kept(Arc::new(SourceText::new(text.into()))),
            diagnostics: vec![diagnostic],
        }],
        files_checked: 1,
        checked: vec![path],
        internal_errors: 0,
    };
    let mut out = Vec::new();
    dllint::output::render(
        dllint::output::OutputFormat::Sarif,
        &report,
        dllint::output::RenderOptions { color: false },
        &mut out,
    )
    .unwrap();
    let log: Value = serde_json::from_slice(&out).unwrap();
    let result = &log["runs"][0]["results"][0];
    let fix = &result["fixes"][0];
    assert!(
        fix["description"]["text"]
            .as_str()
            .unwrap()
            .starts_with("remove the import")
    );
    let replacements = fix["artifactChanges"][0]["replacements"]
        .as_array()
        .unwrap();
    assert_eq!(replacements.len(), 2);
    assert_eq!(
        replacements[0]["deletedRegion"],
        serde_json::json!({"startLine": 1, "startColumn": 1, "endLine": 2, "endColumn": 1})
    );
    assert_eq!(replacements[1]["insertedContent"]["text"], "# removed\n");
    let related = result["relatedLocations"].as_array().unwrap();
    assert_eq!(related.len(), 2);
    assert_eq!(related[1]["message"]["text"], "there");
    assert_eq!(related[1]["physicalLocation"]["region"]["startLine"], 1);

    let Some(python) = python(true) else { return };
    let file = save(dir.path(), "fix.sarif", &String::from_utf8(out).unwrap());
    let verdict = consume(
        &python,
        &["sarif", schema().to_str().unwrap(), file.to_str().unwrap()],
    );
    assert_eq!(verdict["errors"], serde_json::json!([]), "{verdict}");
}

/// `::level file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`, parsed in Rust and,
/// independently, with a regular expression in Python.
/// A workflow command: its name, its properties and its message.
type WorkflowCommand = (String, Vec<(String, String)>, String);

fn parse_github(line: &str) -> Option<WorkflowCommand> {
    let rest = line.strip_prefix("::")?;
    let (command, rest) = rest.split_once(' ')?;
    let (properties, message) = rest.split_once("::")?;
    let properties = properties
        .split(',')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    Some((command.to_string(), properties, message.to_string()))
}

#[test]
fn github_annotations_parse_and_unescape() {
    let repo = repository();
    let cwd = repo.path().join("project");
    let expected = reference(&cwd);
    let (text, _) = check(&cwd, "github");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{text}");
    for (line, finding) in lines.iter().zip(&expected) {
        let (command, properties, _) = parse_github(line).unwrap_or_else(|| panic!("{line}"));
        assert_eq!(command, "warning", "DL305/DL1xx are warnings: {line}");
        let keys: Vec<&str> = properties.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["file", "line", "col", "endLine", "endColumn", "title"],
            "{line}"
        );
        assert_eq!(properties[1].1, finding["location"]["row"].to_string());
    }
    assert!(
        text.contains("file=project/odd%2Cname%3A1.py,"),
        "property escaping: {text}"
    );
    assert!(text.contains("100%25, a:b"), "data escaping: {text}");

    let Some(python) = python(false) else { return };
    let scratch = tempfile::tempdir().unwrap();
    let file = save(scratch.path(), "github.txt", &text);
    let parsed = consume(&python, &["github", file.to_str().unwrap()]);
    let parsed = parsed.as_array().unwrap();
    assert_eq!(parsed.len(), expected.len());
    for (annotation, finding) in parsed.iter().zip(&expected) {
        assert!(annotation.get("unparsed").is_none(), "{annotation}");
        let filename = finding["filename"].as_str().unwrap();
        assert_eq!(annotation["file"], format!("project/{filename}"));
        assert_eq!(annotation["line"], finding["location"]["row"]);
        assert_eq!(annotation["col"], finding["location"]["column"]);
        assert_eq!(annotation["endLine"], finding["end_location"]["row"]);
        assert_eq!(annotation["endColumn"], finding["end_location"]["column"]);
        assert_eq!(
            annotation["title"],
            format!(
                "{} {}",
                finding["code"].as_str().unwrap(),
                finding["name"].as_str().unwrap()
            )
        );
        let mut message = finding["message"].as_str().unwrap().to_string();
        if let Some(help) = finding["help"].as_str() {
            message.push_str("\n\nhelp: ");
            message.push_str(help);
        }
        assert_eq!(annotation["message"], message);
    }
}

fn gitlab(cwd: &Path) -> Vec<Value> {
    let (text, _) = check(cwd, "gitlab");
    serde_json::from_str(&text).expect("GitLab report is JSON")
}

#[test]
fn gitlab_code_quality_has_required_fields_and_stable_fingerprints() {
    let repo = repository();
    let cwd = repo.path().join("project");
    let expected = reference(&cwd);
    let issues = gitlab(&cwd);
    assert_eq!(issues.len(), expected.len());
    let mut fingerprints = std::collections::HashSet::new();
    for (issue, finding) in issues.iter().zip(&expected) {
        // https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(
                issue[key].as_str().is_some_and(|s| !s.is_empty()),
                "{key}: {issue}"
            );
        }
        let severity = issue["severity"].as_str().unwrap();
        assert!(
            ["info", "minor", "major", "critical", "blocker"].contains(&severity),
            "{severity}"
        );
        assert_eq!(issue["check_name"], finding["code"]);
        let path = issue["location"]["path"].as_str().unwrap();
        assert_eq!(
            path,
            format!("project/{}", finding["filename"].as_str().unwrap())
        );
        assert_eq!(
            issue["location"]["lines"]["begin"],
            finding["location"]["row"]
        );
        assert!(
            issue["location"]["lines"]["end"].as_u64()
                >= issue["location"]["lines"]["begin"].as_u64()
        );
        assert!(
            fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_string()),
            "fingerprints must be unique: {issue}"
        );
    }

    // Deterministic, and stable when lines are added above the findings.
    assert_eq!(gitlab(&cwd), issues);
    let dirty = cwd.join("my model ü.py");
    fs::write(&dirty, format!("import os\n\n\n{DIRTY}")).unwrap();
    let shifted = gitlab(&cwd);
    let of_file = |issues: &[Value]| -> Vec<(String, u64)> {
        issues
            .iter()
            .filter(|i| i["location"]["path"] == "project/my model ü.py")
            .map(|i| {
                (
                    i["fingerprint"].as_str().unwrap().to_string(),
                    i["location"]["lines"]["begin"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let before = of_file(&issues);
    let after = of_file(&shifted);
    assert_eq!(before.len(), 4);
    assert_eq!(before.len(), after.len());
    for ((fp_before, line_before), (fp_after, line_after)) in before.iter().zip(&after) {
        assert_eq!(fp_before, fp_after, "fingerprint changed with a line shift");
        assert_eq!(line_after, &(line_before + 3));
    }
    // Editing the offending line makes it a different issue.
    fs::write(
        &dirty,
        DIRTY.replace("import pdb", "import pdb as debugger"),
    )
    .unwrap();
    let edited = of_file(&gitlab(&cwd));
    assert_ne!(edited[0].0, before[0].0);
    assert_eq!(edited[1..], before[1..]);
}

#[test]
fn junit_has_a_testcase_per_file_and_escapes_xml() {
    let repo = repository();
    let cwd = repo.path().join("project");
    let expected = reference(&cwd);
    let (text, _) = check(&cwd, "junit");
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    let files = fs::read_dir(&cwd).unwrap().count();
    assert_eq!(text.matches("<testcase ").count(), files, "{text}");
    assert_eq!(text.matches("<failure ").count(), expected.len(), "{text}");

    let Some(python) = python(false) else { return };
    let scratch = tempfile::tempdir().unwrap();
    let file = save(scratch.path(), "junit.xml", &text);
    let parsed = consume(&python, &["junit", file.to_str().unwrap()]);
    assert_eq!(parsed["root"], "testsuites");
    assert_eq!(parsed["suites"], 1);
    assert_eq!(parsed["tests"], files.to_string());
    let cases = parsed["cases"].as_array().unwrap();
    let mut names: Vec<String> = fs::read_dir(&cwd)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let case_names: Vec<&str> = cases.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(case_names, names);
    let failing = cases
        .iter()
        .filter(|c| !c["failures"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(parsed["failures"], failing.to_string());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let findings: Vec<&Value> = expected.iter().filter(|f| f["filename"] == name).collect();
        let failures = case["failures"].as_array().unwrap();
        assert_eq!(failures.len(), findings.len(), "{name}");
        for (failure, finding) in failures.iter().zip(findings) {
            // Attribute and text round-trip exactly, special characters included.
            assert_eq!(
                failure["message"],
                format!(
                    "{} {}",
                    finding["code"].as_str().unwrap(),
                    finding["message"].as_str().unwrap()
                )
            );
            assert_eq!(failure["type"], finding["code"]);
            let body = failure["text"].as_str().unwrap();
            assert!(
                body.starts_with(&format!(
                    "{name}:{}:{}: {}[{}] {}",
                    finding["location"]["row"],
                    finding["location"]["column"],
                    finding["severity"].as_str().unwrap(),
                    finding["code"].as_str().unwrap(),
                    finding["message"].as_str().unwrap()
                )),
                "{body}"
            );
        }
    }
    assert!(
        cases
            .iter()
            .flat_map(|c| c["failures"].as_array().unwrap())
            .any(|f| f["message"]
                .as_str()
                .is_some_and(|m| m.contains("<&>\\\"'"))),
        "special characters lost"
    );
}

#[test]
fn grouped_and_pylint_shapes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "train.py", DIRTY);
    write(dir.path(), "clean.py", CLEAN);
    let (grouped, _) = check(dir.path(), "grouped");
    let expected =
        "train.py:\n  1:8 warning[DL305] [*] `pdb` is imported: a debugger left in the code\n";
    assert!(grouped.starts_with(expected), "{grouped}");
    assert!(
        grouped
            .contains("\n  6:5 warning[DL305] [*] `print(x.shape)` is a shape-debugging print\n")
    );
    assert!(
        grouped.ends_with(
            "\n\nFound 4 findings in 1 file (2 files checked).\n[*] 4 fixable with the `--fix` option.\n"
        ),
        "{grouped}"
    );

    let (pylint, _) = check(dir.path(), "pylint");
    let lines: Vec<&str> = pylint.lines().collect();
    assert_eq!(lines.len(), 4, "{pylint}");
    assert_eq!(
        lines[0],
        "train.py:1: [DL305] `pdb` is imported: a debugger left in the code"
    );
    assert_eq!(
        lines[3],
        "train.py:7: [DL305] `print(x.shape)` is a shape-debugging print"
    );
}

#[test]
fn ci_formats_are_deterministic_and_clean_runs_are_valid() {
    let repo = repository();
    let cwd = repo.path().join("project");
    for format in ["sarif", "github", "gitlab", "junit", "grouped", "pylint"] {
        let (first, _) = check(&cwd, format);
        let again = run(
            &cwd,
            &["check", "--threads", "1", "--output-format", format, "."],
            None,
        );
        assert_eq!(first, stdout(&again), "{format} differs between runs");
    }
    let clean = tempfile::tempdir().unwrap();
    write(clean.path(), "ok.py", CLEAN);
    let out = |format: &str| {
        let out = run(
            clean.path(),
            &["check", "--output-format", format, "."],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{format}");
        stdout(&out)
    };
    let sarif: Value = serde_json::from_str(&out("sarif")).unwrap();
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(out("gitlab").trim(), "[]");
    assert_eq!(out("github"), "");
    assert_eq!(out("pylint"), "");
    let junit = out("junit");
    assert!(
        junit.contains(r#"<testcase name="ok.py" classname="ok" file="ok.py"/>"#),
        "{junit}"
    );
    assert!(junit.contains(r#"tests="1" failures="0""#), "{junit}");
}

/// A script run with options: a training loop that never clears gradients (DL501, an error),
/// unseeded (DL508, a warning), and a function with thirteen required parameters (DL202, info).
const LEVELS: &str = "import argparse\n\nimport torch\n\nparser = argparse.ArgumentParser()\nparser.add_argument(\"--lr\", type=float, default=0.1)\nargs = parser.parse_args()\nmodel = torch.nn.Linear(2, 1)\noptimizer = torch.optim.SGD(model.parameters(), lr=args.lr)\nfor x, y in zip(torch.randn(10, 2), torch.randn(10, 1)):\n    loss = torch.nn.functional.mse_loss(model(x), y)\n    loss.backward()\n    optimizer.step()\n\n\ndef many(a, b, c, d, e, f, g, h, i, j, k, l, m):\n    return a\n";

/// DL508 (a warning) is off by default: the severity tests turn it on.
const SELECT_DL508: &str = "[tool.dllint]\nextend-select = [\"DL508\"]\n";

/// `code → severity` as the `json` format reports them.
fn severities(cwd: &Path) -> std::collections::BTreeMap<String, String> {
    reference(cwd)
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_format_shows_the_severity() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "train.py", LEVELS);
    write(dir.path(), "pyproject.toml", SELECT_DL508);
    let levels = severities(dir.path());
    let expected = [("DL202", "info"), ("DL501", "error"), ("DL508", "warning")];
    assert_eq!(
        levels,
        expected
            .iter()
            .map(|(c, l)| (c.to_string(), l.to_string()))
            .collect()
    );
    // What each format calls the three levels.
    let shown = |format: &str, error: &str, warning: &str, info: &str| {
        let (text, _) = check(dir.path(), format);
        for (code, level) in expected {
            let word = match level {
                "error" => error,
                "warning" => warning,
                _ => info,
            };
            let needle = word.replace("CODE", code);
            assert!(text.contains(&needle), "{format}: `{needle}` in\n{text}");
        }
    };
    shown(
        "concise",
        ": error[CODE] ",
        ": warning[CODE] ",
        ": info[CODE] ",
    );
    shown(
        "grouped",
        " error[CODE] ",
        " warning[CODE] ",
        " info[CODE] ",
    );
    // rustc's words, as codespan renders them.
    shown("full", "error[CODE]: ", "warning[CODE]: ", "note[CODE]: ");
    shown(
        "junit",
        ": error[CODE] ",
        ": warning[CODE] ",
        ": info[CODE] ",
    );
    shown(
        "github",
        "::error file=train.py,line=",
        "::warning file=train.py,line=",
        "::notice file=train.py,line=",
    );
    // The formats with one object per finding: read the level back.
    let (sarif, _) = check(dir.path(), "sarif");
    let log: Value = serde_json::from_str(&sarif).unwrap();
    let sarif_levels: std::collections::BTreeMap<&str, &str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["ruleId"].as_str().unwrap(), r["level"].as_str().unwrap()))
        .collect();
    assert_eq!(
        sarif_levels,
        [("DL202", "note"), ("DL501", "error"), ("DL508", "warning")].into()
    );
    let gitlab_levels: std::collections::BTreeMap<String, String> = gitlab(dir.path())
        .iter()
        .map(|i| {
            (
                i["check_name"].as_str().unwrap().to_string(),
                i["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let gitlab_expected: std::collections::BTreeMap<String, String> = [
        ("DL202", "minor"),
        ("DL501", "critical"),
        ("DL508", "major"),
    ]
    .iter()
    .map(|(c, l)| (c.to_string(), l.to_string()))
    .collect();
    assert_eq!(gitlab_levels, gitlab_expected);
    // pylint's line has no severity field: unchanged.
    let (pylint, _) = check(dir.path(), "pylint");
    assert!(pylint.contains(": [DL501] "), "{pylint}");
}

#[test]
fn the_severity_is_configurable_per_rule_and_prefix() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "train.py", LEVELS);
    // The more specific selector wins whatever the order: DL501 stays an error, the rest of
    // DL5 becomes info; DL202 becomes a warning.
    write(
        dir.path(),
        "pyproject.toml",
        &format!(
            "{SELECT_DL508}[tool.dllint.severity]\nDL501 = \"error\"\nDL5 = \"info\"\n\
             long-parameter-list = \"warning\"\n"
        ),
    );
    let levels = severities(dir.path());
    assert_eq!(levels["DL501"], "error");
    assert_eq!(levels["DL508"], "info");
    assert_eq!(levels["DL202"], "warning");
    let (github, _) = check(dir.path(), "github");
    assert!(
        github.contains("::notice file=train.py,line=10,"),
        "{github}"
    );
    // The exit code does not depend on the severity: any finding fails the run.
    write(
        dir.path(),
        "pyproject.toml",
        "[tool.dllint.severity]\nALL = \"info\"\n",
    );
    let (concise, out) = check(dir.path(), "concise");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !concise.contains("error[") && !concise.contains("warning["),
        "{concise}"
    );
    // The rule catalog keeps the defaults.
    let out = run(
        dir.path(),
        &["rule", "DL501", "--output-format", "json"],
        None,
    );
    let rule: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rule["severity"], "error");
}

#[test]
fn an_unknown_rule_or_level_in_the_severity_table_is_a_configuration_error() {
    for (config, expected) in [
        (
            "[tool.dllint.severity]\nDL999 = \"info\"\n",
            "in `tool.dllint.severity`: unknown rule selector `DL999`",
        ),
        (
            "[tool.dllint.severity]\nDL202 = \"warn\"\n",
            "`tool.dllint.severity.DL202`: unknown severity `warn`; did you mean `warning`?",
        ),
        (
            "[tool.dllint.severity]\nDL202 = \"note\"\n",
            "`tool.dllint.severity.DL202`: unknown severity `note`; did you mean `info`?",
        ),
        (
            "[tool.dllint.severity]\nDL202 = \"loud\"\n",
            "unknown severity `loud`; expected one of `error`, `warning`, `info`",
        ),
        (
            "[tool.dllint.severity]\nDL202 = 2\n",
            "`tool.dllint.severity.DL202` must be one of",
        ),
        (
            "[tool.dllint]\nseverity = [\"DL202\"]\n",
            "`tool.dllint.severity` must be a table",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "train.py", LEVELS);
        write(dir.path(), "pyproject.toml", config);
        let out = run(dir.path(), &["check", "--no-cache", "."], None);
        assert_eq!(out.status.code(), Some(2), "{config}");
        assert!(
            stderr(&out).contains(expected),
            "{config}: {}",
            stderr(&out)
        );
    }
}
