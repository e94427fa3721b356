//! The command line as users and CI see it: exit codes, every output format parsed back,
//! standard input, configuration errors, suppressions, discovery and determinism.

mod common;

use std::fs;
use std::path::Path;

use common::{project, run, stderr, stdout};

const DIRTY: &str = "import pdb\n\n\ndef forward(x):\n    print(x.shape)\n    return x\n";
const CLEAN: &str = "def f(x):\n    return x + 1\n";

fn json(output: &std::process::Output) -> Vec<serde_json::Value> {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(output), stderr(output)))
}

#[test]
fn exit_codes_follow_ruff() {
    let dir = project(&[("clean.py", CLEAN)]);
    let clean = run(dir.path(), &["check", "."], None);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    assert!(stdout(&clean).contains("All checks passed!"));

    fs::write(dir.path().join("dirty.py"), DIRTY).unwrap();
    let dirty = run(dir.path(), &["check", "."], None);
    assert_eq!(dirty.status.code(), Some(1));
    let zero = run(dir.path(), &["check", "--exit-zero", "."], None);
    assert_eq!(zero.status.code(), Some(0));

    let missing = run(dir.path(), &["check", "does-not-exist.py"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("does-not-exist.py: no such file or directory"),
        "{}",
        stderr(&missing)
    );

    let usage = run(dir.path(), &["check", "--no-such-flag"], None);
    assert_eq!(usage.status.code(), Some(2));
    let bad_select = run(dir.path(), &["check", "--select", "DL9999", "."], None);
    assert_eq!(bad_select.status.code(), Some(2));
    assert!(
        stderr(&bad_select).contains("unknown rule selector `DL9999`"),
        "{}",
        stderr(&bad_select)
    );
}

#[test]
fn every_output_format_parses_back() {
    let dir = project(&[("train.py", DIRTY)]);
    let full = run(
        dir.path(),
        &["check", "--output-format", "full", "train.py"],
        None,
    );
    let text = stdout(&full);
    assert!(text.contains("warning[DL305]: `pdb` is imported"), "{text}");
    assert!(text.contains("--> train.py:1:8"), "{text}");
    assert!(text.contains("= help: "), "{text}");
    assert!(
        text.contains("Found 2 findings in 1 file (1 file checked)."),
        "{text}"
    );

    let concise = run(
        dir.path(),
        &["check", "--output-format", "concise", "train.py"],
        None,
    );
    let lines: Vec<String> = stdout(&concise).lines().map(String::from).collect();
    assert_eq!(
        lines[0],
        "train.py:1:8: warning[DL305] [*] `pdb` is imported: a debugger left in the code"
    );
    assert_eq!(
        lines[1],
        "train.py:5:5: warning[DL305] [*] `print(x.shape)` is a shape-debugging print"
    );

    let findings = json(&run(
        dir.path(),
        &["check", "--output-format", "json", "train.py"],
        None,
    ));
    assert_eq!(findings.len(), 2);
    let first = &findings[0];
    for key in [
        "code",
        "name",
        "message",
        "severity",
        "filename",
        "location",
        "end_location",
        "labels",
        "help",
        "fix",
        "url",
    ] {
        assert!(first.get(key).is_some(), "json lacks `{key}`: {first}");
    }
    assert_eq!(first["code"], "DL305");
    assert_eq!(first["name"], "debug-leftover");
    assert_eq!(first["filename"], "train.py");
    assert_eq!(
        first["location"],
        serde_json::json!({"row": 1, "column": 8})
    );
    assert_eq!(
        first["end_location"],
        serde_json::json!({"row": 1, "column": 11})
    );
    assert!(
        first["url"]
            .as_str()
            .unwrap()
            .ends_with("docs/rules.md#dl305-debug-leftover")
    );

    let lines_out = run(
        dir.path(),
        &["check", "--output-format", "json-lines", "train.py"],
        None,
    );
    let parsed: Vec<serde_json::Value> = stdout(&lines_out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed, findings);
}

#[test]
fn stdin_is_linted_as_the_named_file() {
    let dir = project(&[("pkg/.dllint.toml", "ignore = [\"DL301\"]\n")]);
    let source = "import pdb\nif False:\n    x = 1\n";
    let out = run(
        dir.path(),
        &[
            "check",
            "--stdin-filename",
            "pkg/train.py",
            "--output-format",
            "concise",
            "-",
        ],
        Some(source),
    );
    assert_eq!(out.status.code(), Some(1));
    // The configuration next to the named file applies (DL301 ignored there).
    assert_eq!(
        stdout(&out).lines().next().unwrap(),
        "pkg/train.py:1:8: warning[DL305] [*] `pdb` is imported: a debugger left in the code"
    );
    assert!(!stdout(&out).contains("DL301"));

    let other = run(
        dir.path(),
        &[
            "check",
            "--stdin-filename",
            "train.py",
            "-",
            "--output-format",
            "concise",
        ],
        Some(source),
    );
    assert!(
        stdout(&other).contains("train.py:2:4: warning[DL301]"),
        "{}",
        stdout(&other)
    );

    let clean = run(
        dir.path(),
        &["check", "--stdin-filename", "ok.py", "-"],
        Some(CLEAN),
    );
    assert_eq!(clean.status.code(), Some(0));

    let binary = run(
        dir.path(),
        &[
            "check",
            "--stdin-filename",
            "x.py",
            "-",
            "--output-format",
            "concise",
        ],
        Some("a = 1\0\n"),
    );
    assert_eq!(binary.status.code(), Some(1));
    assert!(
        stdout(&binary).contains("x.py:1:1: error[DL000] file contains a NUL byte on line 1"),
        "{}",
        stdout(&binary)
    );
}

#[test]
fn configuration_errors_name_file_line_key_and_suggestion() {
    let dir = project(&[
        (
            "pyproject.toml",
            "[project]\nname = \"x\"\n\n[tool.dllint]\nselct = [\"DL3\"]\n",
        ),
        ("a.py", CLEAN),
    ]);
    let out = run(dir.path(), &["check", "."], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("pyproject.toml:5:1: unknown key `tool.dllint.selct`; did you mean `select`?"),
        "{err}"
    );
    assert!(err.contains("5 | selct = [\"DL3\"]"), "{err}");

    let dir = project(&[
        ("dllint.toml", "[debug-leftover]\nmax-lines = 3\n"),
        ("a.py", CLEAN),
    ]);
    let out = run(dir.path(), &["check", "."], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown option `debug-leftover.max-lines` (DL305 has no options)"),
        "{}",
        stderr(&out)
    );

    let dir = project(&[("dllint.toml", "select = [\"DL3O5\"]\n"), ("a.py", CLEAN)]);
    let out = run(dir.path(), &["check", "."], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "dllint.toml:1:11: in `select`: unknown rule selector `DL3O5`; did you mean `DL305`?"
        ),
        "{}",
        stderr(&out)
    );

    let dir = project(&[("dllint.toml", "select = [\n"), ("a.py", CLEAN)]);
    let out = run(dir.path(), &["check", "."], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("TOML syntax error"),
        "{}",
        stderr(&out)
    );

    let missing = run(
        dir.path(),
        &["check", "--config", "nope.toml", "a.py"],
        None,
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("nope.toml"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn nearest_configuration_wins_and_flags_override() {
    let dir = project(&[
        ("pyproject.toml", "[tool.dllint]\nselect = [\"DL305\"]\n"),
        ("top.py", "import pdb\nif False:\n    pass\n"),
        ("sub/dllint.toml", "select = [\"DL301\"]\n"),
        ("sub/inner.py", "import pdb\nif False:\n    pass\n"),
    ]);
    let out = run(
        dir.path(),
        &["check", "--output-format", "concise", "-q", "."],
        None,
    );
    let text = stdout(&out);
    assert!(text.contains("sub/inner.py:2:4: warning[DL301]"), "{text}");
    assert!(!text.contains("sub/inner.py:1:8: warning[DL305]"), "{text}");
    assert!(text.contains("top.py:1:8: warning[DL305]"), "{text}");
    assert!(!text.contains("top.py:2:4: warning[DL301]"), "{text}");

    let isolated = run(
        dir.path(),
        &[
            "check",
            "--isolated",
            "--output-format",
            "concise",
            "-q",
            ".",
        ],
        None,
    );
    assert_eq!(
        stdout(&isolated).lines().count(),
        4,
        "{}",
        stdout(&isolated)
    );

    let flags = run(
        dir.path(),
        &[
            "check",
            "--select",
            "DL3",
            "--ignore",
            "DL305",
            "--output-format",
            "concise",
            "-q",
            ".",
        ],
        None,
    );
    assert!(
        stdout(&flags).lines().all(|l| l.contains("DL301")),
        "{}",
        stdout(&flags)
    );
    assert_eq!(stdout(&flags).lines().count(), 2);

    let config = run(
        dir.path(),
        &[
            "check",
            "--config",
            "sub/dllint.toml",
            "--output-format",
            "concise",
            "-q",
            ".",
        ],
        None,
    );
    assert!(
        stdout(&config).lines().all(|l| l.contains("DL301")),
        "{}",
        stdout(&config)
    );
}

#[test]
fn noqa_suppresses_by_line_and_file() {
    let dir = project(&[
        (
            "a.py",
            "import pdb  # noqa: DL305\nimport ipdb  # noqa\nimport pudb  # noqa: F401\nimport wdb  # noqa: E501, DL305\n",
        ),
        (
            "b.py",
            "# dllint: noqa: DL305\nimport pdb\nif False:\n    pass\n",
        ),
        ("c.py", "# dllint: noqa\nimport pdb\nif False:\n    pass\n"),
    ]);
    let out = run(
        dir.path(),
        &["check", "--output-format", "concise", "-q", "."],
        None,
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec![
            "a.py:3:8: warning[DL305] [*] `pudb` is imported: a debugger left in the code",
            "b.py:3:4: warning[DL301] [*] `if False:` is always false; line 4 is dead code",
        ]
    );
}

#[test]
fn discovery_honours_gitignore_excludes_and_force_exclude() {
    let dir = project(&[
        (".gitignore", "ignored/\n"),
        ("ignored/a.py", DIRTY),
        (".venv/lib/b.py", DIRTY),
        ("build/c.py", DIRTY),
        (".hidden/d.py", DIRTY),
        ("notes.txt", DIRTY),
        ("stub.pyi", "import pdb\n"),
        ("src/e.py", DIRTY),
        ("src/generated/f.py", DIRTY),
    ]);
    let out = run(
        dir.path(),
        &["check", "--output-format", "concise", "-q", "."],
        None,
    );
    let files: std::collections::BTreeSet<String> = stdout(&out)
        .lines()
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect();
    assert_eq!(
        files,
        ["src/e.py", "src/generated/f.py", "stub.pyi"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );

    let out = run(
        dir.path(),
        &[
            "check",
            "--extend-exclude",
            "generated",
            "--output-format",
            "concise",
            "-q",
            ".",
        ],
        None,
    );
    assert!(!stdout(&out).contains("generated"), "{}", stdout(&out));

    // A file named explicitly is linted even if excluded, unless --force-exclude.
    let explicit = run(
        dir.path(),
        &["check", "-q", "--output-format", "concise", "build/c.py"],
        None,
    );
    assert!(
        stdout(&explicit).contains("build/c.py"),
        "{}",
        stdout(&explicit)
    );
    let forced = run(
        dir.path(),
        &["check", "-q", "--force-exclude", "build/c.py"],
        None,
    );
    assert_eq!(forced.status.code(), Some(0), "{}", stdout(&forced));
    // A file with any extension is linted when named explicitly.
    let txt = run(
        dir.path(),
        &["check", "-q", "--output-format", "concise", "notes.txt"],
        None,
    );
    assert!(
        stdout(&txt).contains("notes.txt:1:8: warning[DL305]"),
        "{}",
        stdout(&txt)
    );
}

#[cfg(unix)]
#[test]
fn fifos_symlink_cycles_and_unreadable_files_do_not_break_a_run() {
    use std::os::unix::fs::PermissionsExt;
    let dir = project(&[
        ("ok.py", DIRTY),
        ("locked.py", DIRTY),
        ("bad.py", "x = '\u{e9}'\n"),
    ]);
    fs::write(
        dir.path().join("latin.py"),
        b"# -*- coding: latin-1 -*-\nx = '\xe9'\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
    let fifo = dir.path().join("pipe.py");
    let made_fifo = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let locked = dir.path().join("locked.py");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let readable_anyway = fs::read(&locked).is_ok(); // root reads everything

    let out = run(
        dir.path(),
        &["check", "--output-format", "concise", "-q", "."],
        None,
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(text.contains("ok.py:1:8: warning[DL305]"), "{text}");
    assert!(text.contains("latin.py:1:1: error[DL000] file is not valid UTF-8 (first bad byte at line 2, byte column 6); it declares `coding: latin-1`"), "{text}");
    if !readable_anyway {
        assert!(
            text.contains("locked.py:1:1: error[DL000] cannot read file: permission denied"),
            "{text}"
        );
    }
    assert!(!text.contains("bad.py"), "{text}");
    if made_fifo {
        assert!(
            !text.contains("pipe.py"),
            "a FIFO found by walking is skipped: {text}"
        );
        // Named explicitly, a FIFO is reported, not read (reading would block forever).
        let explicit = run(
            dir.path(),
            &["check", "--output-format", "concise", "pipe.py"],
            None,
        );
        assert!(
            stdout(&explicit).contains("pipe.py:1:1: error[DL000] not a regular file"),
            "{}",
            stdout(&explicit)
        );
    }
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).unwrap();
}

#[test]
fn output_is_identical_across_thread_counts() {
    let root = common::root();
    let args = |threads: &'static str| {
        vec![
            "check",
            "--isolated",
            "--select",
            "ALL",
            "--output-format",
            "json",
            "--threads",
            threads,
            "fixtures",
        ]
    };
    let one = run(&root, &args("1"), None);
    let eight = run(&root, &args("8"), None);
    assert!(!one.stdout.is_empty());
    assert_eq!(one.stdout, eight.stdout);
    let again = run(&root, &args("8"), None);
    assert_eq!(one.stdout, again.stdout);
}

/// Where a refactoring puts a component is never the file being refactored. `optim.py` and
/// `optimizer.py` both build an optimizer in a model (DL105): each is told to move it into the
/// other. The answer was once shared by the directory, whichever file asked first, and so
/// changed with the thread count and from run to run.
#[test]
fn layout_answers_never_name_the_asking_file_and_do_not_depend_on_threads() {
    let model = "import torch\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n    \
                 def __init__(self):\n        super().__init__()\n        \
                 self.fc = nn.Linear(8, 2)\n        \
                 self.opt = torch.optim.SGD(self.parameters(), lr=0.1)\n\n    \
                 def forward(self, x):\n        return self.fc(x)\n";
    let dir = project(&[("exp/optim.py", model), ("exp/optimizer.py", model)]);
    let check = |threads: &str| {
        let out = run(
            dir.path(),
            &[
                "check",
                "--isolated",
                "--no-cache",
                "--output-format",
                "json",
                "--threads",
                threads,
                ".",
            ],
            None,
        );
        out.stdout
    };
    let first = check("1");
    let findings: serde_json::Value = serde_json::from_slice(&first).unwrap();
    let targets: Vec<(String, String)> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["filename"].as_str().unwrap().to_string(),
                f["suggestion"]["target_file"]
                    .as_str()
                    .unwrap_or("none")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("exp/optim.py".to_string(), "optimizer.py".to_string()),
            ("exp/optimizer.py".to_string(), "optim.py".to_string()),
        ]
    );
    for _ in 0..6 {
        assert_eq!(check("2"), first);
    }
}

#[test]
fn statistics_and_quiet() {
    let dir = project(&[("a.py", DIRTY), ("b.py", "if 0:\n    pass\nimport pdb\n")]);
    let out = run(dir.path(), &["check", "--statistics", "."], None);
    // `[*]`: the rule's findings have safe fixes; then the total, as ruff prints it.
    assert_eq!(
        stdout(&out),
        "3\tDL305\t[*] debug-leftover\n1\tDL301\t[*] constant-condition\nFound 4 findings (4 fixable with `--fix`).\n"
    );
    assert_eq!(out.status.code(), Some(1));
    let out = run(
        dir.path(),
        &["check", "--statistics", "--output-format", "json", "."],
        None,
    );
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats[0]["count"], 3);
    assert_eq!(stats[0]["fixable"], 3);
    let quiet = run(
        dir.path(),
        &["check", "-q", "--output-format", "concise", "."],
        None,
    );
    assert!(!stdout(&quiet).contains("Found"));
}

#[test]
fn output_file_receives_the_report() {
    let dir = project(&[("a.py", DIRTY)]);
    let out = run(
        dir.path(),
        &[
            "check",
            "--output-format",
            "concise",
            "--output-file",
            "report.txt",
            "a.py",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let report = std::fs::read_to_string(dir.path().join("report.txt")).unwrap();
    assert!(report.starts_with("a.py:1:8: warning[DL305]"), "{report}");
    assert!(!report.contains('\u{1b}'), "no colour in a file: {report}");
    // A file that cannot be written is an error, exit 2.
    let out = run(
        dir.path(),
        &["check", "--output-file", "missing/report.txt", "a.py"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot write the report to missing/report.txt"));
}

#[test]
fn show_files_lists_what_would_be_checked() {
    let dir = project(&[
        ("a.py", DIRTY),
        ("pkg/b.py", CLEAN),
        ("notes.txt", "not python\n"),
        (".venv/lib/c.py", DIRTY),
    ]);
    let out = run(dir.path(), &["check", "--show-files", "."], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "a.py\npkg/b.py\n");
}

#[test]
fn rule_command_explains_and_lists() {
    let root = common::root();
    let out = run(&root, &["rule", "DL305"], None);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("# DL305 debug-leftover\n"), "{text}");
    assert!(text.contains("## Why is this bad?"));
    let by_name = run(&root, &["rule", "debug-leftover"], None);
    assert_eq!(by_name.stdout, out.stdout);
    let all = run(&root, &["rule", "--all", "--output-format", "json"], None);
    let catalog: Vec<serde_json::Value> = serde_json::from_slice(&all.stdout).unwrap();
    assert_eq!(catalog.len(), dllint::rules::ALL.len());
    assert!(catalog.iter().all(|r| {
        r["explanation"]
            .as_str()
            .unwrap()
            .contains("## What it does")
    }));
    let unknown = run(&root, &["rule", "DL3O5"], None);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("did you mean `DL305`?"),
        "{}",
        stderr(&unknown)
    );
    let version = run(&root, &["--version"], None);
    assert_eq!(
        stdout(&version),
        format!("dllint {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn deeply_nested_code_is_reported_not_fatal() {
    let depth = 1_000_000;
    let shapes = [
        format!("x = {}1\n", "1+".repeat(depth)),
        format!("x = {}1{}\n", "f(".repeat(depth), ")".repeat(depth)),
        format!("x = {}1{}\n", "[".repeat(depth), "]".repeat(depth)),
        format!("x = a{}\n", ".b".repeat(depth)),
        format!("x = {}1\n", "-".repeat(depth)),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, text) in shapes.iter().enumerate() {
        fs::write(dir.path().join(format!("deep{i}.py")), text).unwrap();
    }
    fs::write(dir.path().join("normal.py"), DIRTY).unwrap();
    let out = run(
        dir.path(),
        &["check", "--output-format", "concise", "-q", "."],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    for i in 0..shapes.len() {
        assert!(
            text.contains(&format!(
                "deep{i}.py:1:1: error[DL000] code is nested more than"
            )),
            "deep{i}: {text}"
        );
    }
    assert!(text.contains("normal.py:1:8: warning[DL305]"), "{text}");
}

#[test]
fn readme_commands_work() {
    let root = common::root();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release -- check fixtures/projects/cifar_trainer"));
    assert!(readme.contains("cargo test"));
    assert!(Path::new(&root.join("fixtures/projects/cifar_trainer/train.py")).is_file());
}

#[test]
fn an_unknown_option_value_names_the_key_and_the_nearest_value() {
    let dir = project(&[
        (
            "pyproject.toml",
            "[tool.dllint.missing-shape-annotation]\nroles = [\"Modle\"]\n",
        ),
        ("a.py", "x = 1\n"),
    ]);
    let out = run(dir.path(), &["check", "."], None);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("pyproject.toml:2:9")
            && err.contains("tool.dllint.missing-shape-annotation.roles")
            && err.contains("unknown value `Modle`; did you mean `Model`?"),
        "{err}"
    );
}

/// Issue 15: standard input is held to the size limit of a file on disk (256 MiB): an endless
/// input (`< /dev/zero`) is an error with exit 2, not a process that grows without bound.
#[test]
fn standard_input_has_a_size_limit() {
    use std::time::{Duration, Instant};
    let dir = project(&[]);
    // A memory cap as a safety net (4 GiB of address space): without a limit the process
    // would otherwise take the machine's memory before failing.
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4194304 2>/dev/null; exec \"$0\" check --no-cache --stdin-filename x.py -")
        .arg(common::bin())
        .current_dir(dir.path())
        .stdin(fs::File::open("/dev/zero").unwrap())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("dllint kept reading standard input");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("standard input is larger than 256 MiB"),
        "{}",
        stderr(&out)
    );

    // A file on disk over the limit (sparse: no disk used) is a DL000, not read.
    let big = fs::File::create(dir.path().join("big.py")).unwrap();
    big.set_len(300 << 20).unwrap();
    let out = run(
        dir.path(),
        &[
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "big.py",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("big.py:1:1: error[DL000] file is larger than 256 MiB"),
        "{}",
        stdout(&out)
    );
}

/// Issue 15: a directory that cannot be read is reported (a DL000 naming it), not skipped in
/// silence. As root a mode of 000 does not stop reading, so the binary runs as `nobody`
/// (`setpriv`) when it can; otherwise the test says on stderr that it was skipped.
#[test]
fn an_unreadable_directory_is_reported() {
    use std::os::unix::fs::PermissionsExt;
    let dir = project(&[("ok.py", CLEAN), ("locked/inner.py", DIRTY)]);
    let root = dir.path();
    let locked = root.join("locked");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let privileged = fs::read_dir(&locked).is_ok();
    let args = [
        "check",
        "--no-cache",
        "--output-format",
        "concise",
        "--color",
        "never",
        ".",
    ];
    let out = if privileged {
        // Everything `nobody` needs must be reachable: a copy of the binary and the project
        // in world-readable directories.
        let bin_dir = tempfile::tempdir().unwrap();
        let bin = bin_dir.path().join("dllint");
        fs::copy(common::bin(), &bin).unwrap();
        for d in [bin_dir.path(), root] {
            fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let dropped = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
            .status()
            .is_ok_and(|s| s.success());
        if !dropped {
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
            common::skipped("an_unreadable_directory_is_reported: running as root, no setpriv");
            return;
        }
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(args)
            .current_dir(root)
            .env("HOME", root)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    } else {
        run(root, &args, None)
    };
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("locked:1:1: error[DL000] cannot read directory: permission denied"),
        "{text}\n{}",
        stderr(&out)
    );
}

/// Issue 15: a `pyproject.toml` that is not valid TOML is an error (exit 2) naming the file
/// and the line, whether it was found by walking up from the files or named with `--config`,
/// and whether or not it has a `[tool.dllint]` table (as ruff).
#[test]
fn an_invalid_pyproject_is_an_error_however_it_is_found() {
    for (text, line) in [
        // The reported case: a table header missing its `]`.
        ("[tool.dllint\nselect = [\"DL3\"]\n", "pyproject.toml:1:"),
        // No dllint table at all, but broken.
        (
            "[project]\nname = \"x\"\n\n[project\nversion = 1\n",
            "pyproject.toml:4:",
        ),
        ("[tool.black]\nline-length = = 88\n", "pyproject.toml:2:"),
    ] {
        let dir = project(&[("pyproject.toml", text), ("pkg/t.py", DIRTY)]);
        for args in [
            &["check", "--no-cache", "."][..],
            &["check", "--no-cache", "pkg/t.py"],
            &[
                "check",
                "--no-cache",
                "--config",
                "pyproject.toml",
                "pkg/t.py",
            ],
        ] {
            let out = run(dir.path(), args, None);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{text:?} {args:?}: {err}");
            assert!(
                err.contains(line) && err.contains("TOML syntax error"),
                "{text:?} {args:?}: {err}"
            );
        }
        // From a subdirectory too (found by walking up).
        let out = run(
            &dir.path().join("pkg"),
            &["check", "--no-cache", "t.py"],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        // `--isolated` reads no configuration file.
        let out = run(
            dir.path(),
            &["check", "--isolated", "--no-cache", "."],
            None,
        );
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    }
}

/// Directories are walked on several threads: of two broken configurations below the
/// directory linted, the error always names the one first in path order.
#[test]
fn of_two_broken_configurations_the_first_in_path_order_is_reported() {
    let broken = "[tool.dllint\nselect = [\"DL3\"]\n";
    let dir = project(&[
        ("a/pyproject.toml", broken),
        ("a/t.py", DIRTY),
        ("b/pyproject.toml", broken),
        ("b/t.py", DIRTY),
    ]);
    for _ in 0..5 {
        let out = run(dir.path(), &["check", "--no-cache", "."], None);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("a/pyproject.toml:1:") && !err.contains("b/pyproject.toml"),
            "{err}"
        );
    }
}

/// Issue 15: `[tool.dllint.knowledge]` patterns are qualified names; an empty string, a bare
/// `*` or an empty segment is an error naming the key and the value.
#[test]
fn invalid_knowledge_patterns_name_the_key_and_the_value() {
    for (value, why) in [
        ("\"\"", "it is empty"),
        ("\"*\"", "`*` alone would match every name"),
        ("\"a..b\"", "empty segment"),
        ("\".a\"", "empty segment"),
        ("\"a.*.b\"", "`*` may only stand in the last segment"),
        ("\"a.b-c\"", "not a Python identifier"),
    ] {
        let config = format!("[tool.dllint.knowledge]\nmodel-bases = [\"ourlib.Net\", {value}]\n");
        let dir = project(&[("pyproject.toml", &config), ("t.py", DIRTY)]);
        let out = run(dir.path(), &["check", "--no-cache", "."], None);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{value}: {err}");
        let expected = format!(
            "pyproject.toml:2:30: invalid pattern {value} in `tool.dllint.knowledge.model-bases`"
        );
        assert!(err.contains(&expected), "{value}: {err}");
        assert!(err.contains(why), "{value}: {err}");
    }
    // Valid forms are accepted.
    let config = "[tool.dllint.knowledge]\nmodel-bases = [\"ourlib.nn.Net\", \"ourlib.models.*\", \
                  \"ourlib.nn.*Net\", \"Net\"]\n";
    let dir = project(&[("pyproject.toml", config), ("t.py", DIRTY)]);
    let out = run(dir.path(), &["check", "--no-cache", "."], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// Issue 21, item 6: `--show-settings FILE` prints the configuration that file is linted with:
/// the file and root, the rules (and why a selected one is off for this file), every option
/// with its effective value, severities, notebook-ignore, excludes, src and knowledge.
#[test]
fn show_settings_prints_the_resolved_configuration_of_a_file() {
    let config = "select = [\"DL2\", \"DL305\"]\nignore = [\"DL204\"]\n\
                  extend-exclude = [\"legacy\"]\nsrc = [\"src\"]\n\
                  extend-notebook-ignore = [\"DL305\"]\n\
                  [per-file-ignores]\n\"tests/*\" = [\"DL305\"]\n\
                  [severity]\nDL305 = \"error\"\n\
                  [god-file]\nmax-lines = 1000\n\
                  [knowledge]\nmodel-bases = [\"ourlib.nn.BaseNet\"]\n";
    let dir = project(&[
        ("dllint.toml", config),
        ("tests/test_x.py", DIRTY),
        ("train.py", DIRTY),
    ]);
    let out = run(
        dir.path(),
        &["check", "--show-settings", "tests/test_x.py"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let root = dir.path().canonicalize().unwrap();
    let text = stdout(&out).replace(root.to_str().unwrap(), "<root>");
    let expected = r#"Resolved settings for: tests/test_x.py
Configuration file: <root>/dllint.toml
Root: <root>

Rules enabled for this file (4):
  DL000  syntax-error
  DL201  god-file
  DL202  long-parameter-list
  DL203  long-ternary
Selected but not run on this file (1):
  DL305  debug-leftover  (per-file-ignores "tests/*")

Rule options (effective values):
  DL104 loss-with-backward  (off)
    task-functions = false
  DL201 god-file
    max-lines = 1000  (configured; default 800)
  DL202 long-parameter-list
    max-params = 12
  DL203 long-ternary
    max-length = 150
  DL204 complex-comprehension  (off)
    max-length = 150
  DL302 commented-out-code  (off)
    min-lines = 2
  DL306 unused-component  (off)
    library-packages = []
  DL401 missing-shape-annotation  (off)
    roles = ["Model", "Loss"]
    require-returns = true

Severities that differ from the defaults:
  DL305  debug-leftover  error  (default warning)

Notebook-ignore (not run on notebooks and teaching code):
  DL101  loss-in-model
  DL102  loss-in-runner
  DL103  loss-in-model-runner
  DL104  loss-with-backward
  DL105  optimizer-in-model
  DL106  data-prep-in-runner
  DL107  module-level-training-loop
  DL201  god-file
  DL305  debug-leftover
  DL508  unseeded-training

Exclude:
  ".git"
  ".hg"
  ".svn"
  ".venv"
  "venv"
  ".env"
  "__pycache__"
  "build"
  "dist"
  "node_modules"
  "site-packages"
  ".tox"
  ".nox"
  ".mypy_cache"
  ".pytest_cache"
  ".ruff_cache"
  ".dllint_cache"
  ".eggs"
  ".ipynb_checkpoints"
  "legacy"

Per-file-ignores:
  "tests/*" = ["DL305"]

Src roots:
  <root>/src

Knowledge additions:
  model-bases = ["ourlib.nn.BaseNet"]
"#;
    assert_eq!(text, expected);

    // Another file of the same project runs DL305; CLI overrides are part of the settings.
    let out = run(
        dir.path(),
        &["check", "--ignore", "DL203", "--show-settings", "train.py"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "Rules enabled for this file (4):\n  DL000  syntax-error\n  DL201  god-file\n  \
             DL202  long-parameter-list\n  DL305  debug-leftover\n\n"
        ),
        "{text}"
    );
    assert!(!text.contains("Selected but not run"), "{text}");

    // No configuration file: the defaults, said so.
    let bare = project(&[("train.py", DIRTY)]);
    let out = run(bare.path(), &["check", "--show-settings", "train.py"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Configuration file: none (the defaults)\n"),
        "{text}"
    );
    assert!(text.contains("  DL305  debug-leftover\n"), "{text}");
    assert!(
        text.contains("Severities that differ from the defaults:\n  (none)\n"),
        "{text}"
    );
    assert!(text.contains("Per-file-ignores:\n  (none)\n"), "{text}");
    assert!(text.contains("Knowledge additions:\n  (none)\n"), "{text}");
    // Deterministic.
    let again = run(bare.path(), &["check", "--show-settings", "train.py"], None);
    assert_eq!(stdout(&again), text);

    // A notebook: the notebook policy turns rules off, and says so.
    fs::write(
        bare.path().join("nb.ipynb"),
        "{\"cells\": [], \"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {}}",
    )
    .unwrap();
    let out = run(bare.path(), &["check", "--show-settings", "nb.ipynb"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("  DL101  loss-in-model  (notebook-ignore: a notebook)\n"),
        "{}",
        stdout(&out)
    );

    // A file that does not exist is an error; so is more than one path.
    let out = run(bare.path(), &["check", "--show-settings", "nope.py"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nope.py: no such file or directory"),
        "{}",
        stderr(&out)
    );
    let out = run(
        bare.path(),
        &["check", "--show-settings", "train.py", "nb.ipynb"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--show-settings takes one path"),
        "{}",
        stderr(&out)
    );
}

/// The README's `--show-settings` example is what the command prints (`...` stands for lines
/// left out; the root is the reader's checkout).
#[test]
fn readme_show_settings_example_matches_the_output() {
    let root = common::root();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let command = "$ dllint check --show-settings fixtures/projects/cifar_trainer/train.py\n";
    let start = readme.find(command).expect("README shows --show-settings") + command.len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let out = run(
        &root,
        &[
            "check",
            "--show-settings",
            "fixtures/projects/cifar_trainer/train.py",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    for expected in block.lines() {
        if expected.trim() == "..." || expected.starts_with("Root: ") {
            continue;
        }
        assert!(
            lines.any(|line| line == expected),
            "README line {expected:?} not in the output (in order):\n{text}"
        );
    }
}

/// Issue 21, item 6: `--add-noqa` writes `# noqa: DLxxx` on the line where each finding
/// starts, merging (sorted, without duplicates) with the codes already there, other tools'
/// codes kept; a line that cannot hold a comment (a multi-line string) is left alone and
/// counted. Afterwards `check` reports nothing but what was skipped.
#[test]
fn add_noqa_suppresses_every_current_finding() {
    let a = "import pdb  # noqa: F401\nimport ipdb, pudb\nbreakpoint(); s = \"\"\"\ntext\n\"\"\"\n\
             x = 1 + \\\n    2; breakpoint()\n\n\ndef forward(x):\n    print(x.shape)  # shape debugging\n    return x\n";
    let b = "from torch import nn\n\n\nclass Encoder(nn.Module):\n    def __init__(self):\n        \
             super().__init__()\n        self.proj = nn.Linear(32, 16)\n\n    def forward(self, x):\n        \
             return self.proj.forward(x); breakpoint()  # noqa: E702\n";
    let dir = project(&[("a.py", a), ("pkg/b.py", b), ("clean.py", CLEAN)]);
    let before = run(
        dir.path(),
        &["check", "--output-format", "concise", "."],
        None,
    );
    assert_eq!(before.status.code(), Some(1));
    let findings = |out: &std::process::Output| {
        stdout(out)
            .lines()
            .filter(|l| l.contains(": warning["))
            .count()
    };
    assert_eq!(findings(&before), 9, "{}", stdout(&before));

    let out = run(dir.path(), &["check", "--add-noqa", "."], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(err.contains("Added 5 noqa directives.\n"), "{err}");
    assert!(
        err.contains("Skipped 1 finding on a line that cannot hold a comment"),
        "{err}"
    );
    let a_after = fs::read_to_string(dir.path().join("a.py")).unwrap();
    assert_eq!(
        a_after,
        "import pdb  # noqa: DL305, F401\nimport ipdb, pudb  # noqa: DL305\nbreakpoint(); s = \"\"\"\ntext\n\"\"\"\n\
         x = 1 + \\\n    2; breakpoint()  # noqa: DL305\n\n\ndef forward(x):\n    print(x.shape)  # shape debugging  # noqa: DL305\n    return x\n"
    );
    let b_after = fs::read_to_string(dir.path().join("pkg/b.py")).unwrap();
    assert!(
        b_after.ends_with(
            "return self.proj.forward(x); breakpoint()  # noqa: DL303, DL305, DL502, E702\n"
        ),
        "{b_after}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("clean.py")).unwrap(),
        CLEAN
    );

    // Only the skipped finding remains; a second run adds nothing.
    let after = run(
        dir.path(),
        &["check", "--output-format", "concise", "."],
        None,
    );
    assert_eq!(
        stdout(&after).lines().next(),
        Some("a.py:3:1: warning[DL305] [*] `breakpoint()` stops the program in a debugger"),
        "{}",
        stdout(&after)
    );
    assert!(
        stdout(&after).contains("Found 1 finding"),
        "{}",
        stdout(&after)
    );
    let again = run(dir.path(), &["check", "--add-noqa", "."], None);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("Added 0 noqa directives."),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("a.py")).unwrap(),
        a_after
    );

    // The selection applies: only the selected rules' findings are suppressed.
    let dir = project(&[("b.py", b)]);
    let out = run(
        dir.path(),
        &["check", "--add-noqa", "--select", "DL502", "b.py"],
        None,
    );
    assert!(
        stderr(&out).contains("Added 1 noqa directive.\n"),
        "{}",
        stderr(&out)
    );
    assert!(
        fs::read_to_string(dir.path().join("b.py"))
            .unwrap()
            .ends_with("breakpoint()  # noqa: DL502, E702\n")
    );

    // Standard input has no file to write into.
    let out = run(dir.path(), &["check", "--add-noqa", "-"], Some(DIRTY));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--add-noqa"), "{}", stderr(&out));
}

/// Issue 21, item 6: a progress line on standard error when a run takes more than a second
/// and standard error is a terminal: never in a pipe, never on standard output (whose report
/// stays machine-readable), erased before the run ends. `DLLINT_PROGRESS_DELAY_MS=0` draws it
/// at once.
#[test]
fn progress_is_shown_on_a_terminal_only() {
    use std::process::{Command, Stdio};
    let dir = project(&[("train.py", DIRTY), ("model.py", CLEAN)]);
    // Piped: nothing, even at once.
    for args in [
        &["check", "--no-cache", "."][..],
        &["map", "."][..],
        &["survey", "."][..],
    ] {
        let out = Command::new(common::bin())
            .args(args)
            .current_dir(dir.path())
            .env("DLLINT_PROGRESS_DELAY_MS", "0")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(
            !err.contains('\r') && !err.contains("\x1b["),
            "{args:?}: {err:?}"
        );
    }

    // On a terminal (util-linux `script` runs the command on one), with the report
    // redirected to a file: the line is drawn on the terminal and erased; the file holds the
    // JSON report alone.
    let Ok(status) = Command::new("script")
        .args(["-qec", "true", "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    else {
        common::skipped(
            "progress_is_shown_on_a_terminal_only (terminal part): `script` (util-linux) not found",
        );
        return;
    };
    assert!(status.success());
    for (env, drawn) in [("0", true), ("60000", false)] {
        let report = dir.path().join("report.json");
        let command = format!(
            "'{}' check --no-cache --output-format json . > '{}'",
            common::bin().display(),
            report.display()
        );
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(dir.path())
            .env("DLLINT_PROGRESS_DELAY_MS", env)
            .env("TERM", "xterm")
            .env_remove("DLLINT_TIMING")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let terminal = stdout(&out);
        assert_eq!(
            terminal.contains("\r\x1b[2Kdllint: "),
            drawn,
            "delay {env}: {terminal:?}"
        );
        if drawn {
            assert!(terminal.ends_with("\r\x1b[2K"), "erased: {terminal:?}");
        } else {
            assert_eq!(terminal, "", "a quick run shows nothing");
        }
        let findings: Vec<serde_json::Value> =
            serde_json::from_str(&fs::read_to_string(&report).unwrap()).expect("JSON alone");
        assert_eq!(findings.len(), 2);
    }
}

/// As in ruff, the command line wins over the configuration file: `--extend-select` enables a
/// rule the file ignores, and `--ignore` has the last word.
#[test]
fn command_line_extend_select_overrides_a_configured_ignore() {
    let dir = project(&[
        ("pyproject.toml", "[tool.dllint]\nignore = [\"DL305\"]\n"),
        ("a.py", "import pdb\n\npdb.set_trace()\n"),
    ]);
    let codes = |args: &[&str]| {
        let mut all = vec!["check", "--no-cache", "--output-format", "concise"];
        all.extend_from_slice(args);
        all.push(".");
        let out = run(dir.path(), &all, None);
        stdout(&out)
    };
    assert!(!codes(&[]).contains("DL305"));
    assert!(codes(&["--extend-select", "DL305"]).contains("DL305"));
    assert!(!codes(&["--extend-select", "DL305", "--ignore", "DL305"]).contains("DL305"));
}

/// The full output builds refactorings only with `--show-refactorings`; without it, each
/// finding whose rule writes one says so, and the findings are the same.
#[test]
fn the_full_output_shows_refactorings_only_when_asked() {
    let root = common::root();
    let run = |extra: &[&str]| {
        let mut args = vec!["check", "--isolated", "--no-cache", "--exit-zero"];
        args.extend_from_slice(extra);
        args.push("fixtures/DL101.py");
        let output = common::run(&root, &args, None);
        assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
        common::stdout(&output)
    };
    let headers = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.starts_with("warning[") || l.starts_with("error["))
            .map(str::to_string)
            .collect()
    };
    let plain = run(&[]);
    let shown = run(&["--show-refactorings"]);
    let count = |out: &str, needle: &str| out.lines().filter(|l| l.contains(needle)).count();
    // Four DL101 findings and two DL105 ones (an optimizer built in `__init__`), each with a
    // refactoring.
    assert_eq!(
        count(&plain, "= refactoring: not built in this run"),
        6,
        "{plain}"
    );
    assert_eq!(count(&plain, "= suggestion:"), 0, "{plain}");
    assert_eq!(count(&shown, "= suggestion:"), 6, "{shown}");
    assert_eq!(count(&shown, "= refactoring: not built"), 0, "{shown}");
    assert_eq!(headers(&plain), headers(&shown));
    assert!(!headers(&plain).is_empty());
}

/// Asked for, a refactoring the rule cannot write says why, where it would be shown.
#[test]
fn a_refactoring_that_cannot_be_written_says_why() {
    let root = common::root();
    let output = common::run(
        &root,
        &[
            "check",
            "--isolated",
            "--no-cache",
            "--exit-zero",
            "--show-refactorings",
            "fixtures/projects/cifar_trainer",
        ],
        None,
    );
    let out = common::stdout(&output);
    assert!(
        out.contains(
            "= refactoring: none written for this finding: losses.py already binds `nn` differently"
        ),
        "{out}"
    );
    assert!(!out.contains("not built in this run"), "{out}");
}
