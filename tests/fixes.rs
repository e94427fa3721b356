//! The fix engine through the real binary: expected outputs for the fixtures with fixes,
//! properties over every fixture (the fixed text parses, a second run changes nothing, CRLF
//! and BOM survive), and the CLI flags (`--fix`, `--diff`, `--fix-only`,
//! `--exit-non-zero-on-fix`, standard input, read-only files).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{assert_golden, project, root, run, stderr, stdout};

/// Every top-level fixture, sorted.
fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(root().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    files
}

/// The fixed text of `text` as `name`, through `--fix-only` on standard input.
fn fix_stdin(name: &str, text: &str, extra: &[&str]) -> (String, String, i32) {
    let mut args = vec![
        "check",
        "--isolated",
        "--fix-only",
        "--stdin-filename",
        name,
    ];
    args.extend_from_slice(extra);
    args.push("-");
    let output = run(&root(), &args, Some(text));
    (
        stdout(&output),
        stderr(&output),
        output.status.code().unwrap_or(-1),
    )
}

/// `check --isolated --no-cache --select DL102 --fix --unsafe-fixes .` in `dir`: its standard
/// output and error.
fn fix_dl102_unsafe(dir: &Path) -> String {
    let args = [
        "check",
        "--isolated",
        "--no-cache",
        "--select",
        "DL102",
        "--fix",
        "--unsafe-fixes",
        ".",
    ];
    let out = run(dir, &args, None);
    format!("{}{}", stdout(&out), stderr(&out))
}

fn parses(text: &str) -> bool {
    dllint::fix::parses(text, Path::new("x.py"))
}

#[test]
fn fixtures_with_fixes_match_their_expected_output() {
    let mut errors = Vec::new();
    let mut fixed_any = 0;
    for path in fixtures() {
        let name = format!("fixtures/{}", path.file_name().unwrap().to_string_lossy());
        let text = fs::read_to_string(&path).unwrap();
        let (fixed, err, code) = fix_stdin(&name, &text, &[]);
        assert_eq!(code, 0, "{name}: {err}");
        let golden = root().join("tests/snapshots/fixes").join(format!(
            "{}.fixed",
            path.file_name().unwrap().to_string_lossy()
        ));
        if fixed == text {
            assert!(
                !golden.exists(),
                "{name}: no fixes any more, remove {}",
                golden.display()
            );
            continue;
        }
        fixed_any += 1;
        if let Err(e) = assert_golden(&golden, &fixed) {
            errors.push(e);
        }
    }
    assert!(fixed_any >= 2, "the DL301 and DL305 fixtures have fixes");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn every_fixture_fixes_to_parsing_idempotent_output_keeping_crlf_and_bom() {
    for path in fixtures() {
        let name = format!("fixtures/{}", path.file_name().unwrap().to_string_lossy());
        let text = fs::read_to_string(&path).unwrap();
        for unsafe_fixes in [false, true] {
            let extra: &[&str] = if unsafe_fixes {
                &["--unsafe-fixes"]
            } else {
                &[]
            };
            let (fixed, err, _) = fix_stdin(&name, &text, extra);
            if !text.contains("error: DL000") {
                assert!(
                    parses(&fixed),
                    "{name}: the fixed text does not parse:\n{fixed}"
                );
            }
            assert!(!err.contains("error:"), "{name}: {err}");
            let (again, _, _) = fix_stdin(&name, &fixed, extra);
            assert_eq!(again, fixed, "{name}: a second run changed the file");

            let crlf = text.replace('\n', "\r\n");
            let (fixed_crlf, _, _) = fix_stdin(&name, &crlf, extra);
            assert_eq!(
                fixed_crlf,
                fixed.replace('\n', "\r\n"),
                "{name}: CRLF line endings are not kept"
            );

            let bom = format!("\u{feff}{text}");
            let (fixed_bom, _, _) = fix_stdin(&name, &bom, extra);
            assert_eq!(
                fixed_bom,
                format!("\u{feff}{fixed}"),
                "{name}: the byte-order mark is not kept"
            );

            let no_newline = text.trim_end_matches('\n');
            let (fixed_bare, _, _) = fix_stdin(&name, no_newline, extra);
            assert!(
                !fixed_bare.ends_with('\n') || fixed_bare.is_empty(),
                "{name}: a trailing newline was added"
            );
        }
    }
}

const DEBUG: &str =
    "import pdb\n\n\ndef forward(x):\n    print(x.shape)\n    pdb.set_trace()\n    return x\n";
const DEBUG_FIXED: &str = "def forward(x):\n    return x\n";

#[test]
fn diff_prints_a_unified_diff_writes_nothing_and_exits_1() {
    let dir = project(&[("a.py", DEBUG), ("clean.py", "x = 1\n")]);
    let output = run(dir.path(), &["check", "--isolated", "--diff", "a.py"], None);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let diff = stdout(&output);
    assert!(diff.starts_with("--- a.py\n+++ a.py\n@@"), "{diff}");
    assert!(diff.contains("-import pdb\n"), "{diff}");
    assert!(diff.contains("-    pdb.set_trace()\n"), "{diff}");
    assert!(
        stderr(&output).contains("Would fix 3 findings."),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read_to_string(dir.path().join("a.py")).unwrap(), DEBUG);

    let output = run(
        dir.path(),
        &["check", "--isolated", "--diff", "clean.py"],
        None,
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "");
}

#[test]
fn fix_writes_the_file_and_reports_what_remains() {
    let source = format!("{DEBUG}\nif False:\n    y = 2\nelse:\n    y = 3\n");
    let dir = project(&[("a.py", &source)]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.path().join("a.py"), fs::Permissions::from_mode(0o640)).unwrap();
    }
    let output = run(dir.path(), &["check", "--isolated", "--fix", "a.py"], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Fixed 4 findings (0 remaining)."),
        "{}",
        stderr(&output)
    );
    let fixed = fs::read_to_string(dir.path().join("a.py")).unwrap();
    assert_eq!(fixed, format!("{DEBUG_FIXED}\ny = 3\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join("a.py"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
    }
    // No temporary files are left behind.
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a.py"]);

    // Idempotent: a second run changes nothing.
    let output = run(dir.path(), &["check", "--isolated", "--fix", "a.py"], None);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("Fixed 0 findings"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read_to_string(dir.path().join("a.py")).unwrap(), fixed);
}

#[test]
fn fix_keeps_crlf_and_bom_on_disk() {
    let source = format!("\u{feff}{}", DEBUG.replace('\n', "\r\n"));
    let dir = project(&[("a.py", &source)]);
    let output = run(dir.path(), &["check", "--isolated", "--fix", "a.py"], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let fixed = fs::read_to_string(dir.path().join("a.py")).unwrap();
    assert_eq!(
        fixed,
        format!("\u{feff}{}", DEBUG_FIXED.replace('\n', "\r\n"))
    );
}

#[test]
fn remaining_findings_and_exit_non_zero_on_fix() {
    // A finding without a fix remains: exit 1 with `--fix`, 0 with `--fix-only`.
    let source = "import pdb\nUSE = False\n\n\ndef f(x):\n    if USE and f(x):\n        x = 1\n    return x\n";
    let dir = project(&[("a.py", source)]);
    let output = run(dir.path(), &["check", "--isolated", "--fix", "a.py"], None);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stdout(&output).contains("DL301"), "{}", stdout(&output));
    assert!(!stdout(&output).contains("DL305"), "{}", stdout(&output));

    let dir = project(&[("a.py", DEBUG)]);
    let output = run(
        dir.path(),
        &["check", "--isolated", "--fix-only", "a.py"],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("Fixed 3 findings."),
        "{}",
        stderr(&output)
    );

    let dir = project(&[("a.py", DEBUG)]);
    let args = [
        "check",
        "--isolated",
        "--fix",
        "--exit-non-zero-on-fix",
        "a.py",
    ];
    let output = run(dir.path(), &args, None);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        fs::read_to_string(dir.path().join("a.py")).unwrap(),
        DEBUG_FIXED
    );
}

#[test]
fn stdin_with_fix_prints_the_fixed_source() {
    let output = run(
        &root(),
        &[
            "check",
            "--isolated",
            "--fix",
            "--stdin-filename",
            "a.py",
            "-",
        ],
        Some(DEBUG),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), DEBUG_FIXED);

    let output = run(
        &root(),
        &[
            "check",
            "--isolated",
            "--diff",
            "--stdin-filename",
            "a.py",
            "-",
        ],
        Some(DEBUG),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).starts_with("--- a.py\n+++ a.py\n"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_read_only_file_is_reported_and_left_intact() {
    let dir = project(&[("a.py", DEBUG), ("b.py", DEBUG)]);
    let path = dir.path().join("a.py");
    let mut permissions = fs::metadata(&path).unwrap().permissions();
    permissions.set_readonly(true);
    fs::set_permissions(&path, permissions).unwrap();
    let output = run(dir.path(), &["check", "--isolated", "--fix", "."], None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("a.py: the file is read-only"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), DEBUG);
    // Other files are still fixed.
    assert_eq!(
        fs::read_to_string(dir.path().join("b.py")).unwrap(),
        DEBUG_FIXED
    );
}

#[test]
fn a_fix_that_would_break_the_file_is_not_applied() {
    // `breakpoint()` alone in a `with` body becomes `pass`; never an empty block.
    let source =
        "def f(x):\n    with x:\n        breakpoint()\n    if x: breakpoint()\n    return x\n";
    let (fixed, err, _) = fix_stdin("a.py", source, &[]);
    assert!(parses(&fixed), "{fixed}\n{err}");
    assert_eq!(
        fixed,
        "def f(x):\n    with x:\n        pass\n    if x: pass\n    return x\n"
    );
}

/// The coupling fixtures and the findings in each that get a generated refactoring.
const SUGGESTIONS: &[(&str, usize)] = &[
    ("DL101.py", 6),
    ("DL101_flax.py", 1),
    ("DL101_keras.py", 2),
    ("DL101_lightning.py", 2),
    ("DL102.py", 3),
    ("DL102_tf.py", 1),
    ("DL102_tf1.py", 2),
    ("DL102_trainer.py", 1),
    ("DL103.py", 3),
    ("DL105.py", 5),
    ("DL107.py", 1),
];

#[test]
fn coupling_fixtures_get_verified_suggestions() {
    for (fixture, expected) in SUGGESTIONS {
        let name = format!("fixtures/{fixture}");
        let output = run(
            &root(),
            // DL107 is off by default: its fixture's refactoring is checked too.
            &[
                "check",
                "--isolated",
                "--extend-select",
                "DL107",
                "--output-format",
                "json",
                &name,
            ],
            None,
        );
        let findings: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut found = 0;
        for finding in findings.as_array().unwrap() {
            let suggestion = &finding["suggestion"];
            if suggestion.is_null() {
                continue;
            }
            found += 1;
            let code = suggestion["code"].as_str().unwrap();
            assert!(
                dllint::refactor::component::verify(code).is_ok(),
                "{name}: {code}"
            );
            let target = suggestion["target_file"].as_str().unwrap();
            assert!(target.ends_with(".py"), "{name}: {target}");
            assert!(suggestion["title"].as_str().unwrap().contains(target));
            // Applied as an unsafe fix, or shown only, saying why (the fix contract: a fix
            // that would not remove its finding is not offered).
            if finding["fix"].is_null() {
                assert!(
                    suggestion["title"]
                        .as_str()
                        .unwrap()
                        .contains("(shown, not applied: "),
                    "{name}: {suggestion}"
                );
            } else {
                assert!(
                    !suggestion["edits"].as_array().unwrap().is_empty(),
                    "{name}"
                );
                assert_eq!(finding["fix"]["applicability"], "unsafe", "{name}");
            }
        }
        assert_eq!(found, *expected, "{name}: suggestions");
    }
}

#[test]
fn unsafe_fixes_apply_refactorings_to_parsing_files() {
    for (fixture, _) in SUGGESTIONS {
        let dir = tempfile::tempdir().unwrap();
        let text = fs::read_to_string(root().join("fixtures").join(fixture)).unwrap();
        fs::write(dir.path().join(fixture), &text).unwrap();
        let args = [
            "check",
            "--isolated",
            "--extend-select",
            "DL107",
            "--unsafe-fixes",
            "--fix",
            "-q",
            ".",
        ];
        // Refactorings offered as fixes (the others are shown only: the fix contract).
        let listed = run(
            dir.path(),
            &[
                "check",
                "--isolated",
                "--extend-select",
                "DL107",
                "--no-cache",
                "--output-format",
                "json",
                ".",
            ],
            None,
        );
        let findings: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        let offered = findings
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !f["suggestion"].is_null() && !f["fix"].is_null())
            .count();
        let output = run(dir.path(), &args, None);
        assert_ne!(
            output.status.code(),
            Some(2),
            "{fixture}: {}",
            stderr(&output)
        );
        let mut created = 0;
        for entry in fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let fixed = fs::read_to_string(&path).unwrap();
            assert!(
                parses(&fixed),
                "{}: does not parse:\n{fixed}",
                path.display()
            );
            if path.file_name().unwrap() != *fixture {
                created += 1;
            }
        }
        if offered == 0 {
            assert_eq!(created, 0, "{fixture}: a suggestion was applied");
            continue;
        }
        assert!(created >= 1, "{fixture}: no component was written");
        assert_ne!(fs::read_to_string(dir.path().join(fixture)).unwrap(), text);
        // A second run changes nothing.
        let before: Vec<(PathBuf, String)> = snapshot(dir.path());
        let output = run(dir.path(), &args, None);
        assert_ne!(
            output.status.code(),
            Some(2),
            "{fixture}: {}",
            stderr(&output)
        );
        assert_eq!(
            snapshot(dir.path()),
            before,
            "{fixture}: the second run changed files"
        );
    }
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let text = fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect();
    files.sort();
    files
}

/// Issue 15: a safe fix must not change or hide what the code means. DL301 does not take a
/// module-level name for a constant when the module rebinds its globals at run time (no
/// finding, nothing removed), and DL303 does not delete a string that continues the one
/// `return` returns (a missing pair of parentheses), not even with `--unsafe-fixes`.
#[test]
fn safe_fixes_keep_meaning_dynamic_globals_and_cut_off_strings() {
    let uses = "\n\ndef step(x):\n    if USE_AMP:\n        x = x.half()\n    return x\n";
    for rebinding in [
        "exec(open('config.py').read())\n",
        "exec(CODE)\n",
        "if CODE:\n    exec(CODE)\n",
        "globals().update(CONFIG)\n",
        "globals()['USE_AMP'] = True\n",
        "vars()['USE_AMP'] = True\n",
        "vars().update(CONFIG)\n",
        "locals().update(CONFIG)\n",
        "for k, v in CONFIG.items():\n    globals()[k] = v\n",
        "def load(config):\n    globals().update(config)\n",
        "from defaults import *\n",
    ] {
        let text = format!("CODE = CONFIG = None\nUSE_AMP = False\n{rebinding}{uses}");
        for extra in [
            &["--select", "DL301"][..],
            &["--select", "DL301", "--unsafe-fixes"],
        ] {
            let (fixed, err, code) = fix_stdin("x.py", &text, extra);
            assert_eq!(code, 0, "{rebinding}: {err}");
            assert_eq!(fixed, text, "{rebinding}: the flag branch was removed");
        }
        let out = run(
            &root(),
            &[
                "check",
                "--isolated",
                "--select",
                "DL301",
                "--stdin-filename",
                "x.py",
                "-",
            ],
            Some(&text),
        );
        assert_eq!(out.status.code(), Some(0), "{rebinding}: {}", stdout(&out));
    }
    // Without the rebinding the flag is a constant: reported and fixed (the test can fail).
    let text = format!("CODE = CONFIG = None\nUSE_AMP = False\n{uses}");
    let (fixed, _, _) = fix_stdin("x.py", &text, &["--select", "DL301"]);
    assert!(!fixed.contains("x.half()"), "{fixed}");

    let text = "def usage():\n    return \"usage: train.py [--epochs N]\"\n    \" [--lr LR]\"\n";
    for extra in [
        &["--select", "DL303"][..],
        &["--select", "DL303", "--unsafe-fixes"],
    ] {
        let (fixed, err, code) = fix_stdin("x.py", text, extra);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            fixed, text,
            "the continuation of the returned string was deleted"
        );
    }
    let out = run(
        &root(),
        &[
            "check",
            "--isolated",
            "--select",
            "DL303",
            "--stdin-filename",
            "x.py",
            "-",
        ],
        Some(text),
    );
    assert!(
        stdout(&out).contains("did you mean to continue the returned string in parentheses?"),
        "{}",
        stdout(&out)
    );
}

/// Every file below `dir` (recursively) with its text, sorted.
fn tree(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = fs::read_to_string(&path).unwrap();
                files.push((path.strip_prefix(dir).unwrap().to_path_buf(), text));
            }
        }
    }
    files.sort();
    files
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

/// Issue 15: one `--fix --unsafe-fixes` run reaches the fixed point. On every example project
/// (`fixtures/projects/`, `twin_models` among them: two modules each with a `Net` whose
/// `forward` computes a loss, both refactored into one new `loss.py`), the first run leaves no
/// finding it could still fix, and a second run changes nothing.
#[test]
fn one_unsafe_fix_run_reaches_the_fixed_point_on_the_example_projects() {
    let projects = root().join("fixtures/projects");
    let mut names: Vec<String> = fs::read_dir(&projects)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.iter().any(|n| n == "twin_models"));
    let args = [
        "check",
        "--isolated",
        "--no-cache",
        "--fix",
        "--unsafe-fixes",
        "--output-format",
        "concise",
        ".",
    ];
    for name in &names {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join(name);
        copy_tree(&projects.join(name), &project);
        let first = run(&project, &args, None);
        let report = format!("{}{}", stdout(&first), stderr(&first));
        assert_ne!(first.status.code(), Some(2), "{name}: {report}");
        assert!(
            !report.contains("fixable"),
            "{name}: fixes left after one run:\n{report}"
        );
        let fixed = tree(&project);
        let second = run(&project, &args, None);
        let again = format!("{}{}", stdout(&second), stderr(&second));
        assert!(
            !again.contains("Fixed") || again.contains("Fixed 0"),
            "{name}: {again}"
        );
        assert!(
            tree(&project) == fixed,
            "{name}: the second run changed files:\n{again}"
        );
        if name == "twin_models" {
            // Both models compute their loss in `forward`: extracting it would leave the
            // models calling it (the finding stays), so it is shown, never applied.
            assert!(
                !project.join("models/loss.py").exists(),
                "a suggestion was applied:\n{report}"
            );
        }
    }
}

/// Issue 18: the Runner extraction (DL107, opt-in) leaves dead branches out. `cifar_trainer`'s
/// loop branches on `USE_MIXUP = False` (DL301): the extraction is shown, not applied, until
/// the dead branch is removed; one `--fix` run then removes it and moves the loop, with no
/// parameter for the constant, the call under the `__main__` guard, and the finding gone.
#[test]
fn the_runner_extraction_waits_for_the_dead_branch_and_guards_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("cifar_trainer");
    copy_tree(&root().join("fixtures/projects/cifar_trainer"), &project);
    let select = [
        "check",
        "--isolated",
        "--no-cache",
        "--extend-select",
        "DL107",
    ];
    let before = run(
        &project,
        &[&select[..], &["--show-refactorings", "."]].concat(),
        None,
    );
    let report = stdout(&before);
    assert!(
        report.contains("(shown, not applied: the loop branches on the constant `USE_MIXUP`"),
        "{report}"
    );
    let fix = run(
        &project,
        &[&select[..], &["--fix", "--unsafe-fixes", "."]].concat(),
        None,
    );
    let report = format!("{}{}", stdout(&fix), stderr(&fix));
    let runner = fs::read_to_string(project.join("runner.py"))
        .unwrap_or_else(|e| panic!("no runner.py ({e}):\n{report}"));
    assert!(!runner.to_lowercase().contains("use_mixup"), "{runner}");
    assert!(!runner.contains("DL107"), "{runner}");
    let train = fs::read_to_string(project.join("train.py")).unwrap();
    assert!(
        train.contains("if __name__ == \"__main__\":\n    Runner("),
        "{train}"
    );
    assert!(!report.contains("DL107"), "{report}");
}

/// Issue 18: a refactoring that writes into the `loss.py` an earlier one created appends its
/// class there, names it by meaning when the first name is taken (`GLoss` after `g_loss`, not
/// `TrainLoss2`), joins the existing `from loss import ...` statement, and builds the loss once
/// before the training loop rather than once per batch.
#[test]
fn a_second_extraction_joins_the_first_ones_module_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path();
    fs::write(
        project.join("loss.py"),
        "import torch.nn.functional as F\nfrom torch import nn\n\n\nclass TrainLoss(nn.Module):\n    \
         def forward(self, scores):\n        return F.softplus(-scores).mean()\n",
    )
    .unwrap();
    fs::write(
        project.join("train.py"),
        "import torch.nn.functional as F\nfrom loss import TrainLoss\n\n\n\
         def train(gen, disc, loader, opt_g, opt_d):\n    for real, z in loader:\n        \
         fake = gen(z)\n        d_loss = TrainLoss()(disc(real))\n        d_loss.backward()\n        \
         opt_d.step()\n        g_loss = F.softplus(-disc(fake)).mean() + 0.1 * fake.pow(2).mean()\n        \
         g_loss.backward()\n        opt_g.step()\n",
    )
    .unwrap();
    let report = fix_dl102_unsafe(project);
    let train = fs::read_to_string(project.join("train.py")).unwrap();
    let loss = fs::read_to_string(project.join("loss.py")).unwrap();
    assert!(
        train.contains("from loss import TrainLoss, GLoss\n"),
        "{report}\n{train}"
    );
    // Built once, before the loop, and called in it.
    assert!(
        train.contains("    g_loss_fn = GLoss()\n    for real, z in loader:"),
        "{train}"
    );
    assert!(train.contains("g_loss = g_loss_fn("), "{train}");
    assert!(
        loss.contains("class TrainLoss(nn.Module):") && loss.contains("class GLoss(nn.Module):"),
        "{loss}"
    );
    assert!(!loss.contains("TrainLoss2"), "{loss}");
}

/// The training code of the behaviour test below: plain Python stand-ins for tensors, the
/// model, the criterion and the optimizer (no PyTorch needed to run it), and a `torch` with
/// only `nn.Module`'s calling convention.
const STANDINS: [(&str, &str); 4] = [
    ("stand_ins/torch/__init__.py", "from . import nn\n"),
    (
        "stand_ins/torch/nn/__init__.py",
        "class Module:\n    def __call__(self, *args, **kwargs):\n        \
         return self.forward(*args, **kwargs)\n",
    ),
    (
        "stand_ins/scaffold.py",
        "LOG = []\n\n\nclass Value(float):\n    def __add__(self, other):\n        \
         return Value(float(self) + other)\n\n    __radd__ = __add__\n\n    \
         def __mul__(self, other):\n        return Value(float(self) * other)\n\n    \
         __rmul__ = __mul__\n\n    def backward(self):\n        \
         LOG.append(round(float(self), 6))\n\n\nclass Optimizer:\n    def step(self):\n        \
         LOG.append(\"step\")\n\n    def zero_grad(self):\n        LOG.append(\"zero_grad\")\n\n\n\
         def model(x):\n    LOG.append((\"model\", x))\n    return Value(3 * x)\n\n\n\
         def criterion(out, y):\n    return Value((out - y) ** 2)\n",
    ),
    (
        "stand_ins/drive.py",
        "from scaffold import LOG, Optimizer, criterion, model\n\
         from train import Trainer, train, train_full_batch, train_twice\n\n\
         train(model, [(1, 2), (2, 3)], criterion, Optimizer())\n\
         train_full_batch(model, 4, 5, criterion, Optimizer())\n\
         train_twice(model, 4, 5, criterion, Optimizer())\n\
         Trainer(model, criterion, Optimizer()).fit([(1, 2), (3, 4)])\nprint(LOG)\n",
    ),
];

/// Run `stand_ins/drive.py` of a project written with the plain-Python stand-ins (tensors,
/// models, criteria, optimizers) and return what it printed: the program's observable
/// behaviour, compared before and after a fix.
fn drive_stand_ins(python: &Path, dir: &Path) -> String {
    let out = std::process::Command::new(python)
        .arg("stand_ins/drive.py")
        .env("PYTHONPATH", format!("stand_ins:{}", dir.display()))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(dir)
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn an_extracted_loss_holds_its_criteria_and_weights_and_takes_the_models_outputs() {
    let Some(python) = common::python_importing("json") else {
        common::skipped(
            "an_extracted_loss_holds_its_criteria_and_weights_and_takes_the_models_outputs: \
             python3 not found",
        );
        assert!(!common::in_ci(), "python3 is required in CI");
        return;
    };
    let mut files = STANDINS.to_vec();
    files.push((
        "train.py",
        "import torch\n\n\n\
         def train(model, loader, criterion, optimizer, gamma=0.5):\n    \
         for epoch in range(2):\n        for x, y in loader:\n            \
         logits = model(x)\n            \
         loss = criterion(logits, y) + gamma * criterion(logits, 0)\n            \
         optimizer.zero_grad()\n            loss.backward()\n            optimizer.step()\n\n\n\
         def train_full_batch(model, features, labels, criterion, optimizer, steps=2):\n    \
         for step in range(steps):\n        \
         loss = criterion(model(features), labels) + 0.01 * criterion(features, 0)\n        \
         optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n\n\n\
         def train_twice(model, features, labels, criterion, optimizer):\n    \
         for step in range(2):\n        \
         loss = criterion(model(features), labels) + 0.5 * criterion(model(features), 0)\n        \
         optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n\n\n\
         class Trainer:\n    def __init__(self, model, criterion, optimizer):\n        \
         self.model = model\n        self.criterion = criterion\n        \
         self.optimizer = optimizer\n\n    def train_step(self, x, y):\n        \
         logits = self.model(x)\n        \
         loss = self.criterion(logits, y) + 0.5 * self.criterion(logits, 0)\n        \
         self.optimizer.zero_grad()\n        loss.backward()\n        self.optimizer.step()\n\n    \
         def fit(self, loader, epochs=2):\n        for epoch in range(epochs):\n            \
         for x, y in loader:\n                self.train_step(x, y)\n",
    ));
    let dir = project(&files);
    let drive = || drive_stand_ins(&python, dir.path());
    let before = drive();
    let lint = |extra: &[&str]| {
        let mut args = vec!["check", "--isolated", "--no-cache", "--select", "DL102"];
        args.extend_from_slice(extra);
        args.push("train.py");
        run(dir.path(), &args, None)
    };
    let out = lint(&["--fix", "--unsafe-fixes"]);
    let report = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        report.contains("Fixed 4 findings (0 remaining)"),
        "{report}"
    );
    let train = fs::read_to_string(dir.path().join("train.py")).unwrap();
    let loss = fs::read_to_string(dir.path().join("loss.py")).unwrap();
    // The criterion and the weight are held, built once before the loop; the model runs
    // where it ran, and the loss gets its outputs and the targets.
    for expected in [
        "    train_loss = TrainLoss(criterion, gamma)\n    for epoch in range(2):",
        "            logits = model(x)\n            loss = train_loss(logits, y)\n",
        "    train_full_batch_loss = TrainFullBatchLoss(criterion)\n",
        "        loss = train_full_batch_loss(model(features), labels, features)\n",
        // A runner's step (no loop around it) builds its Loss once, in `__init__`.
        "        self.optimizer = optimizer\n        \
         self.trainer_loss = TrainerLoss(self.criterion)\n\n    def train_step",
        "        logits = self.model(x)\n        loss = self.trainer_loss(logits, y)\n",
    ] {
        assert!(train.contains(expected), "{expected:?} in\n{train}");
    }
    for expected in [
        "    def __init__(self, criterion, gamma):\n        super().__init__()\n        \
         self.criterion = criterion\n        self.gamma = gamma\n",
        "    def forward(self, logits, y):\n        \
         return self.criterion(logits, y) + self.gamma * self.criterion(logits, 0)\n",
        "    def forward(self, outputs, labels, features):\n",
    ] {
        assert!(loss.contains(expected), "{expected:?} in\n{loss}");
    }
    let (held, twice) = loss
        .split_once("class TrainTwiceLoss")
        .expect("a third loss");
    assert!(
        !held.contains("model"),
        "the loss never runs the model:\n{loss}"
    );
    // Unless the model runs twice (dropout would draw twice): it stays inside, passed in.
    assert!(
        twice.contains("def forward(self, model, features, labels):"),
        "{loss}"
    );
    assert!(
        train.contains("loss = train_twice_loss(model, features, labels)"),
        "{train}"
    );
    // Data the loop does not change (`labels`) is still passed per call, not held.
    assert!(!loss.contains("self.labels"), "{loss}");
    // Same program: the same gradient steps with the same values, the model run as often.
    assert_eq!(drive(), before, "\n{train}\n{loss}");
    let again = lint(&[]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
}

/// Plain-Python stand-ins for a model whose `forward` computes its loss when targets are passed,
/// called from a script and from a runner in two other files.
const MODEL_CALLERS: [(&str, &str); 8] = [
    ("stand_ins/torch/__init__.py", "from . import nn\n"),
    (
        "stand_ins/torch/nn/__init__.py",
        "from . import functional\n\n\nclass Module:\n    def __init__(self):\n        \
         pass\n\n    def __call__(self, *args, **kwargs):\n        \
         return self.forward(*args, **kwargs)\n\n\nclass Linear(Module):\n    \
         def __init__(self, inputs, scale):\n        self.scale = scale\n\n    \
         def forward(self, x):\n        return x * self.scale\n",
    ),
    (
        "stand_ins/torch/nn/functional.py",
        "from scaffold import Value\n\n\ndef mse_loss(out, y):\n    \
         return Value((out - y) ** 2)\n",
    ),
    (
        "stand_ins/scaffold.py",
        "LOG = []\n\n\nclass Value(float):\n    def __add__(self, other):\n        \
         return Value(float(self) + other)\n\n    __radd__ = __add__\n\n    \
         def __mul__(self, other):\n        return Value(float(self) * other)\n\n    \
         __rmul__ = __mul__\n\n    def backward(self):\n        \
         LOG.append(round(float(self), 6))\n\n\nclass Optimizer:\n    def step(self):\n        \
         LOG.append(\"step\")\n\n    def zero_grad(self):\n        LOG.append(\"zero_grad\")\n",
    ),
    (
        "stand_ins/drive.py",
        "from scaffold import LOG, Optimizer\nfrom runner import Runner\nfrom train import main\n\n\
         main([(1, 2), (2, 3)])\nRunner(Optimizer()).fit([(1, 2), (3, 4)])\nprint(LOG)\n",
    ),
    (
        "model.py",
        "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n\
         class Net(nn.Module):\n    def __init__(self, scale):\n        super().__init__()\n        \
         self.fc = nn.Linear(1, scale)\n\n    def forward(self, x, y=None):\n        \
         out = self.fc(x)\n        if y is not None:\n            \
         loss = F.mse_loss(out, y) + 0.5 * F.mse_loss(out, 0)\n            \
         return out, loss\n        return out\n",
    ),
    (
        "train.py",
        "from scaffold import LOG, Optimizer\n\nfrom model import Net\n\n\n\
         def fit(net, loader, optimizer):\n    \"\"\"Handed the model.\"\"\"\n    \
         for x, y in loader:\n        optimizer.zero_grad()\n        \
         _, loss = net(x, y)\n        loss.backward()\n        optimizer.step()\n\n\n\
         def main(loader):\n    model = Net(3)\n    optimizer = Optimizer()\n    \
         for x, y in loader:\n        out, loss = model(x, y)\n        \
         optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n        \
         LOG.append(out)\n    LOG.append(model(4))\n    fit(Net(5), loader, optimizer)\n\n\n\
         if __name__ == \"__main__\":\n    main([(1, 2)])\n",
    ),
    (
        "runner.py",
        "from model import Net\n\n\nclass Runner:\n    def __init__(self, optimizer):\n        \
         self.model = Net(2)\n        self.optimizer = optimizer\n\n    \
         def step(self, x, y):\n        _, loss = self.model(x, y)\n        \
         self.optimizer.zero_grad()\n        loss.backward()\n        self.optimizer.step()\n\n    \
         def fit(self, loader, epochs=2):\n        for epoch in range(epochs):\n            \
         for x, y in loader:\n                self.step(x, y)\n",
    ),
];

#[test]
fn a_models_loss_moves_to_its_callers_in_other_files_and_the_program_computes_the_same() {
    let Some(python) = common::python_importing("json") else {
        common::skipped(
            "a_models_loss_moves_to_its_callers_in_other_files_and_the_program_computes_the_same: \
             python3 not found",
        );
        assert!(!common::in_ci(), "python3 is required in CI");
        return;
    };
    let dir = project(&MODEL_CALLERS);
    let drive = || drive_stand_ins(&python, dir.path());
    let before = drive();
    let lint = |extra: &[&str]| {
        let mut args = vec!["check", "--isolated", "--no-cache", "--select", "DL101"];
        args.extend_from_slice(extra);
        args.extend(["model.py", "train.py", "runner.py"]);
        run(dir.path(), &args, None)
    };
    let out = lint(&["--fix", "--unsafe-fixes"]);
    let report = format!("{}{}", stdout(&out), stderr(&out));
    assert!(report.contains("Fixed 1 finding (0 remaining)"), "{report}");
    let read = |name: &str| fs::read_to_string(dir.path().join(name)).unwrap();
    let (model, train, runner, loss) = (
        read("model.py"),
        read("train.py"),
        read("runner.py"),
        read("loss.py"),
    );
    // The model predicts: no targets, no loss, no import left for it.
    assert!(
        model.contains("    def forward(self, x):\n        out = self.fc(x)\n        return out\n"),
        "{model}"
    );
    assert!(!model.contains("import torch.nn.functional"), "{model}");
    // The loss formula is a Loss component.
    assert!(
        loss.contains(
            "    def forward(self, out, y):\n        \
             return F.mse_loss(out, y) + 0.5 * F.mse_loss(out, 0)\n"
        ),
        "{loss}"
    );
    // The script builds it once, beside the model, and computes the loss with the outputs;
    // the call without targets stays as it was.
    for expected in [
        "from loss import NetLoss\n",
        "    model = Net(3)\n    loss_fn = NetLoss()\n    optimizer = Optimizer()\n",
        "        out = model(x)\n        loss = loss_fn(out, y)\n",
        "    LOG.append(model(4))\n",
        // A function the model is handed to (here built inline) builds its own, first thing.
        "    \"\"\"Handed the model.\"\"\"\n    loss_fn = NetLoss()\n    for x, y in loader:\n",
        "        loss = loss_fn(net(x), y)\n",
        "    fit(Net(5), loader, optimizer)\n",
    ] {
        assert!(train.contains(expected), "{expected:?} in\n{train}");
    }
    // The runner holds it from `__init__`.
    for expected in [
        "from loss import NetLoss\n",
        "        self.model = Net(2)\n        self.loss_fn = NetLoss()\n",
        "        loss = self.loss_fn(self.model(x), y)\n",
    ] {
        assert!(runner.contains(expected), "{expected:?} in\n{runner}");
    }
    // Same program: the same loss values, the same gradient steps.
    assert_eq!(drive(), before, "\n{model}\n{train}\n{runner}\n{loss}");
    // Stable: nothing left to fix, nothing reported.
    let again = lint(&["--fix", "--unsafe-fixes"]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    assert_eq!(read("model.py"), model);
    assert_eq!(read("train.py"), train);
}

/// The Hugging Face shape: `loss = None`, `if labels is not None: loss = ...`, `return logits,
/// loss`. Calls with labels compute the loss themselves; calls without them unpacked
/// `(logits, None)` and now take the logits alone. Same program before and after.
#[test]
fn a_models_optional_loss_moves_out_and_the_calls_without_labels_take_the_outputs() {
    let Some(python) = common::python_importing("json") else {
        common::skipped(
            "a_models_optional_loss_moves_out_and_the_calls_without_labels_take_the_outputs: \
             python3 not found",
        );
        assert!(!common::in_ci(), "python3 is required in CI");
        return;
    };
    let mut files: Vec<(&str, &str)> = MODEL_CALLERS[..4].to_vec();
    files.extend([
        (
            "stand_ins/drive.py",
            "from scaffold import LOG\nfrom train import main\n\nmain([(1, 2), (2, 3)])\nprint(LOG)\n",
        ),
        (
            "model.py",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n\
             class Net(nn.Module):\n    def __init__(self, scale):\n        super().__init__()\n        \
             self.fc = nn.Linear(1, scale)\n\n    def forward(self, x, labels=None):\n        \
             out = self.fc(x)\n        loss = None\n        if labels is not None:\n            \
             loss = F.mse_loss(out, labels) + 0.1 * F.mse_loss(out, 0)\n        \
             return out, loss\n",
        ),
        (
            "evaluate.py",
            "from scaffold import LOG\n\n\n\
             def evaluate(model, loader):\n    for x, y in loader:\n        \
             out, _ = model(x)\n        LOG.append((out, y))\n",
        ),
        (
            "train.py",
            "from scaffold import Optimizer\n\nfrom evaluate import evaluate\n\
             from model import Net\n\n\n\
             def main(loader):\n    model = Net(3)\n    optimizer = Optimizer()\n    \
             for x, y in loader:\n        out, loss = model(x, labels=y)\n        \
             optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n    \
             evaluate(model, loader)\n",
        ),
    ]);
    let dir = project(&files);
    let drive = || drive_stand_ins(&python, dir.path());
    let before = drive();
    let lint = || {
        run(
            dir.path(),
            &[
                "check",
                "--isolated",
                "--no-cache",
                "--select",
                "DL101",
                "--fix",
                "--unsafe-fixes",
                "model.py",
                "train.py",
                "evaluate.py",
            ],
            None,
        )
    };
    let out = lint();
    let report = format!("{}{}", stdout(&out), stderr(&out));
    assert!(report.contains("Fixed 1 finding (0 remaining)"), "{report}");
    let read = |name: &str| fs::read_to_string(dir.path().join(name)).unwrap();
    let (model, train, evaluate) = (read("model.py"), read("train.py"), read("evaluate.py"));
    assert!(
        model.contains("    def forward(self, x):\n        out = self.fc(x)\n        return out\n"),
        "{model}"
    );
    assert!(
        train.contains("        out = model(x)\n        loss = loss_fn(out, y)\n"),
        "{train}"
    );
    // The evaluation, in its own file, takes the outputs alone and imports no Loss.
    assert!(
        evaluate.contains("        out = model(x)\n        LOG.append((out, y))\n"),
        "{evaluate}"
    );
    assert!(!evaluate.contains("Loss"), "{evaluate}");
    assert_eq!(drive(), before, "\n{model}\n{train}\n{}", read("loss.py"));
    let again = lint();
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    assert_eq!(read("train.py"), train);
}

/// The loss stays in the model, shown as a suggestion with the reason, when a caller cannot
/// be rewritten: a function it is handed to is also called with something else, the model is
/// kept in a list, `forward` computes something else without targets (an inference branch),
/// the project never builds the model, the predictions depend on the targets too, or no caller
/// passes the targets.
#[test]
fn a_models_loss_stays_shown_only_when_its_callers_cannot_all_be_rewritten() {
    let required = "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n\
                    class Net(nn.Module):\n    def __init__(self, scale):\n        \
                    super().__init__()\n        self.fc = nn.Linear(1, scale)\n\n    \
                    def forward(self, x, y):\n        out = self.fc(x)\n        \
                    return out, F.mse_loss(out, y)\n";
    let cases: [(&str, &str, &str); 8] = [
        (
            "def fit(model, loader):\n    for x, y in loader:\n        \
             _, loss = model(x, y)\n        loss.backward()\n\n\n\
             STEPS = {\"fit\": fit}\nfit(Net(3), [])\n",
            required,
            "`fit`, which the model is handed to, is used otherwise than called",
        ),
        (
            "class Runner:\n    def __init__(self):\n        self.model = Net(3)\n\n    \
             def step(self, x, y):\n        _, loss = self.model(x, y)\n        \
             return loss\n\n\nclass Other(Runner):\n    def step(self, x, y):\n        \
             return self.model(x, y)[1]\n",
            required,
            "`Other` subclasses `Runner`, which holds the model",
        ),
        (
            "def fit(model, loader):\n    for x, y in loader:\n        \
             loss = model(x, y)\n        loss.backward()\n\n\n\
             fit(Net(3), [])\nfit(lambda x, y: x - y, [])\n",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n\
             class Net(nn.Module):\n    def __init__(self, scale):\n        \
             super().__init__()\n        self.fc = nn.Linear(1, scale)\n\n    \
             def forward(self, x, y):\n        out = self.fc(x)\n        \
             return F.mse_loss(out, y)\n",
            "`fit` is also called with something else than the model",
        ),
        (
            "models = [Net(3)]\nfor model in models:\n    for x, y in []:\n        \
             _, loss = model(x, y)\n        loss.backward()\n",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n\
             class Net(nn.Module):\n    def __init__(self, scale):\n        \
             super().__init__()\n        self.fc = nn.Linear(1, scale)\n\n    \
             def forward(self, x, y=None):\n        out = self.fc(x)\n        \
             if y is not None:\n            return out, F.mse_loss(out, y)\n        return out\n",
            "the model class is used in a way the rewrite cannot follow",
        ),
        (
            "model = Net(3)\nfor x, y in []:\n    _, loss = model(x, y)\n    loss.backward()\n",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n\
             class Net(nn.Module):\n    def __init__(self, scale):\n        \
             super().__init__()\n        self.fc = nn.Linear(1, scale)\n\n    \
             def forward(self, x, y=None):\n        if y is not None:\n            \
             out = self.fc(x)\n            loss = F.mse_loss(out, y)\n        else:\n            \
             out = self.fc(x[-1])\n            loss = None\n        return out, loss\n",
            "rewriting it would change inference",
        ),
        (
            "",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n\
             class Net(nn.Module):\n    def __init__(self, scale):\n        \
             super().__init__()\n        self.fc = nn.Linear(1, scale)\n\n    \
             def forward(self, x, y):\n        out = self.fc(x)\n        \
             return out, F.mse_loss(out, y)\n",
            "the project never builds `Net`",
        ),
        (
            "model = Net(3)\nfor x, y in []:\n    out, loss = model(x, y)\n    loss.backward()\n",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n\
             class Net(nn.Module):\n    def __init__(self, scale):\n        \
             super().__init__()\n        self.fc = nn.Linear(1, scale)\n\n    \
             def forward(self, x, y):\n        out = self.fc(x) * y.std()\n        \
             return out, F.mse_loss(out, y)\n",
            "both values `forward` returns depend on the targets",
        ),
        (
            "model = Net(3)\nfor x, y in []:\n    out = model(x)\n",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n\
             class Net(nn.Module):\n    def __init__(self, scale):\n        \
             super().__init__()\n        self.fc = nn.Linear(1, scale)\n\n    \
             def forward(self, x, y=None):\n        out = self.fc(x)\n        \
             if y is None:\n            return out\n        return out, F.mse_loss(out, y)\n",
            "no caller in the project passes `y`",
        ),
    ];
    for (train, model, why) in cases {
        let train = format!("from model import Net\n\n{train}");
        let dir = project(&[("model.py", model), ("train.py", train.as_str())]);
        assert_loss_shown_only(&dl101_report(dir.path(), &["model.py", "train.py"]), why);
    }
}

/// What other files of the project may do with the model is not seen by the rewrite, so the
/// loss stays shown only: a module-level model of a module another file imports (`from train
/// import model`), and a held model whose attribute an importing file reads (`runner.model`).
#[test]
fn a_models_loss_stays_shown_only_when_an_importing_file_may_use_the_model() {
    let model = "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n\
                 class Net(nn.Module):\n    def __init__(self):\n        \
                 super().__init__()\n        self.fc = nn.Linear(1, 1)\n\n    \
                 def forward(self, x, y):\n        out = self.fc(x)\n        \
                 return out, F.mse_loss(out, y)\n";
    let cases: [(&str, &str, &str); 2] = [
        (
            "from model import Net\n\nmodel = Net()\nfor x, y in []:\n    \
             _, loss = model(x, y)\n    loss.backward()\n",
            "from train import model\n\nprint(model(1, 2))\n",
            "the model `model` is a module-level variable of a module others import",
        ),
        (
            "from model import Net\n\n\nclass Runner:\n    def __init__(self):\n        \
             self.model = Net()\n\n    def step(self, x, y):\n        \
             _, loss = self.model(x, y)\n        return loss\n",
            "from train import Runner\n\nrunner = Runner()\nprint(runner.model(1, 2))\n",
            "reads `.model`, maybe the model of `Runner`",
        ),
    ];
    for (train, other, why) in cases {
        let dir = project(&[
            ("model.py", model),
            ("train.py", train),
            ("other.py", other),
        ]);
        assert_loss_shown_only(&dl101_report(dir.path(), &["."]), why);
        // Without the importing file, the same project gets the fix.
        fs::remove_file(dir.path().join("other.py")).unwrap();
        let report = dl101_report(dir.path(), &["."]);
        assert!(report.contains("fix (unsafe)"), "{report}");
    }
}

/// What `dllint check --select DL101 --show-refactorings` prints for `paths` of the project
/// in `dir`.
fn dl101_report(dir: &Path, paths: &[&str]) -> String {
    let mut args = vec![
        "check",
        "--isolated",
        "--no-cache",
        "--show-refactorings",
        "--select",
        "DL101",
    ];
    args.extend_from_slice(paths);
    stdout(&run(dir, &args, None))
}

/// The DL101 finding of `report` keeps the loss move as a suggestion, for the reason `why`.
fn assert_loss_shown_only(report: &str, why: &str) {
    assert!(report.contains("shown, not applied"), "{report}");
    assert!(report.contains(why), "{why:?} in\n{report}");
    assert!(!report.contains("fix (unsafe)"), "{report}");
}

#[test]
fn twin_terms_move_together_and_the_discriminator_calls_are_named_by_their_inputs() {
    let dir = project(&[(
        "gan.py",
        "import torch\nfrom torch import nn\n\n\n\
         def train(G, D, loader, opt_g, opt_d, epochs=5):\n    criterion = nn.BCELoss()\n    \
         for epoch in range(epochs):\n        for real, _ in loader:\n            \
         ones = torch.ones(real.size(0), 1)\n            \
         zeros = torch.zeros(real.size(0), 1)\n            \
         fake = G(torch.randn(real.size(0), 100))\n            \
         d_real = criterion(D(real), ones)\n            \
         d_fake = criterion(D(fake.detach()), zeros)\n            \
         d_loss = (d_real + d_fake) / 2\n            opt_d.zero_grad()\n            \
         d_loss.backward()\n            opt_d.step()\n",
    )]);
    let report = fix_dl102_unsafe(dir.path());
    assert!(report.contains("Fixed 1 finding (0 remaining)"), "{report}");
    let gan = fs::read_to_string(dir.path().join("gan.py")).unwrap();
    let loss = fs::read_to_string(dir.path().join("loss.py")).unwrap();
    assert!(
        gan.contains("            d_loss = train_loss(D(real), ones, D(fake.detach()), zeros)\n"),
        "{gan}"
    );
    assert!(
        gan.contains("    criterion = nn.BCELoss()\n    train_loss = TrainLoss(criterion)\n"),
        "{gan}"
    );
    // Both terms of the discriminator's loss are in the Loss, neither stays behind.
    assert!(!gan.contains("d_real") && !gan.contains("d_fake"), "{gan}");
    assert!(
        loss.contains(
            "    def forward(self, d_real_out, ones, d_fake_out, zeros):\n        \
             d_real = self.criterion(d_real_out, ones)\n        \
             d_fake = self.criterion(d_fake_out, zeros)\n        return (d_real + d_fake) / 2\n"
        ),
        "{loss}"
    );
}

#[test]
fn the_import_of_a_new_component_follows_how_the_file_imports_its_siblings() {
    // The loop of the training-loop fixtures, in two packages: one whose script imports its
    // sibling by plain name (run as `python pkg/train.py`: a relative import would fail), one
    // whose module imports relatively.
    let body = "\n\ndef train(model, loader, optimizer):\n    for x, y in loader:\n        \
                pred = model(x)\n        loss = ((pred - y) ** 2).mean()\n        \
                optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n";
    let script = format!("import torch\n\nimport helpers\n{body}");
    let module = format!("import torch\n\nfrom .helpers import scale\n{body}");
    // A trainer that imports its project from the root by dotted path (run as `python -m
    // proj.trainers.train`; namespace packages, no `__init__.py`).
    let rooted = format!("import torch\n\nimport proj.utils\n{body}");
    // A module with no import of its own to follow, imported by a script one level up as
    // `utils.train`: that is where its directory is on the path.
    let imported = format!("import torch\n{body}");
    let dir = project(&[
        ("nb/utils/train.py", &imported),
        (
            "nb/run.py",
            "from utils.train import train\n\ntrain(None, [], None)\n",
        ),
        ("proj/utils.py", "def scale(x):\n    return x\n"),
        ("proj/trainers/train.py", &rooted),
        ("scripts/__init__.py", ""),
        ("scripts/helpers.py", "def scale(x):\n    return x\n"),
        ("scripts/train.py", &script),
        ("lib/__init__.py", ""),
        ("lib/helpers.py", "def scale(x):\n    return x\n"),
        ("lib/train.py", &module),
    ]);
    let report = fix_dl102_unsafe(dir.path());
    assert!(
        report.contains("Fixed 4 findings (0 remaining)"),
        "{report}"
    );
    let imported = fs::read_to_string(dir.path().join("nb/utils/train.py")).unwrap();
    assert!(
        imported.contains("from utils.loss import TrainLoss\n"),
        "{imported}"
    );
    let rooted = fs::read_to_string(dir.path().join("proj/trainers/train.py")).unwrap();
    assert!(
        rooted.contains("from proj.trainers.loss import TrainLoss\n"),
        "{rooted}"
    );
    let script = fs::read_to_string(dir.path().join("scripts/train.py")).unwrap();
    let module = fs::read_to_string(dir.path().join("lib/train.py")).unwrap();
    assert!(script.contains("from loss import TrainLoss\n"), "{script}");
    assert!(module.contains("from .loss import TrainLoss\n"), "{module}");
}

#[test]
fn a_criterions_own_forward_stays_in_the_loss() {
    // `criterion.forward(...)` is the criterion, not a model: it moves with the loss.
    let dir = project(&[(
        "train.py",
        "import torch\n\n\ndef train(model, loader, optimizer, criterion):\n    \
         for x, y in loader:\n        logits = model(x)\n        \
         loss = criterion.forward(logits, y) + 0.1 * (logits ** 2).mean()\n        \
         optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n",
    )]);
    let report = fix_dl102_unsafe(dir.path());
    assert!(report.contains("Fixed 1 finding (0 remaining)"), "{report}");
    let loss = fs::read_to_string(dir.path().join("loss.py")).unwrap();
    assert!(
        loss.contains(
            "    def forward(self, logits, y):\n        \
             return self.criterion.forward(logits, y) + 0.1 * (logits ** 2).mean()\n"
        ),
        "{loss}"
    );
}

/// A model that builds its optimizer in `__init__` (DL105), as `models.py` or `optim.py` holds
/// it.
const MODEL_WITH_OPTIMIZER: &str = "import torch\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n    \
     def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(8, 2)\n        \
     self.opt = torch.optim.SGD(self.parameters(), lr=0.1)\n\n    \
     def forward(self, x):\n        return self.fc(x)\n";

/// DL105's findings as JSON: per finding, the file, the suggestion's target file and whether
/// it has a fix.
fn dl105(dir: &Path) -> Vec<(String, String, bool)> {
    let out = run(
        dir,
        &[
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "DL105",
            "--output-format",
            "json",
            ".",
        ],
        None,
    );
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    findings
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
                !f["fix"].is_null(),
            )
        })
        .collect()
}

/// Moving a component into a module that imports the file it leaves would import the file
/// back: a circular import. `optim.py` (where optimizers go) imports `models.py`, so DL105's
/// move out of `models.py` is suggested but not applied; with no import back, it is.
#[test]
fn a_move_into_a_module_that_imports_the_file_is_not_applied() {
    let dir = project(&[
        ("models.py", MODEL_WITH_OPTIMIZER),
        ("optim.py", "from models import Net\n\nNET = Net\n"),
    ]);
    assert_eq!(
        dl105(dir.path()),
        [("models.py".to_string(), "optim.py".to_string(), false)]
    );
    fs::write(dir.path().join("optim.py"), "NET = None\n").unwrap();
    assert_eq!(
        dl105(dir.path()),
        [("models.py".to_string(), "optim.py".to_string(), true)]
    );
}

/// Two optimizer modules, each with a model that builds its optimizer: each is told to move it
/// into the other. Fixing applies the first move; the second would then import back from the
/// module that now imports it, so it is only shown, under a name in the function's own style
/// (`optimizer_make_net_optimizer`: the first move took `make_net_optimizer`).
#[test]
fn fixing_two_moves_into_each_other_makes_no_circular_import() {
    let dir = project(&[
        ("optim.py", MODEL_WITH_OPTIMIZER),
        ("optimizer.py", MODEL_WITH_OPTIMIZER),
    ]);
    let out = run(
        dir.path(),
        &[
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "DL105",
            "--fix",
            "--unsafe-fixes",
            "--output-format",
            "json",
            ".",
        ],
        None,
    );
    let optim = fs::read_to_string(dir.path().join("optim.py")).unwrap();
    let optimizer = fs::read_to_string(dir.path().join("optimizer.py")).unwrap();
    assert!(
        optim.contains("from optimizer import make_net_optimizer"),
        "{optim}"
    );
    assert!(
        !optimizer.contains("import optim") && !optimizer.contains("from optim "),
        "{optimizer}"
    );
    let remaining: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let remaining = remaining.as_array().unwrap();
    assert_eq!(remaining.len(), 1, "{remaining:?}");
    assert_eq!(remaining[0]["filename"], "optimizer.py");
    assert!(remaining[0]["fix"].is_null(), "{:?}", remaining[0]);
    let code = remaining[0]["suggestion"]["code"].as_str().unwrap();
    assert!(
        code.contains("def optimizer_make_net_optimizer(model):"),
        "{code}"
    );
}
