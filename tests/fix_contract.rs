//! The fix contract (issue 18): every fix dllint offers — safe or unsafe, a one-line deletion
//! or a refactoring that writes a new component — is applied alone to a copy of its project,
//! and the project is linted again. The fix must
//!   (a) leave every file it touches parseable,
//!   (b) remove the finding it was offered for,
//!   (c) introduce no new finding of the architecture and training families (DL1xx, DL2xx,
//!       DL5xx) anywhere in the project,
//!   (d) leave no import unused and no name undefined that was not so before (pyflakes, when
//!       it can be installed; skipped visibly otherwise).
//! Stability (a second `--fix` changes nothing) is `tests/fixes.rs`'s fixed-point test.
//!
//! Every fixture (linted with its rule, as `tests/fixtures.rs` does) and every example project
//! (with its own configuration) is covered. `cargo test --test fix_contract -- --nocapture`
//! prints the table per rule.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use dllint::config::{Overrides, Resolver};
use dllint::diagnostic::{Diagnostic, Fix};
use dllint::discovery;
use dllint::engine;
use dllint::fix::{apply_edits, parses};
use dllint::rules;

/// One finding: the file (relative to the project), the diagnostic.
type Finding = (PathBuf, Diagnostic);

fn lint(dir: &Path, select: Option<&str>) -> Vec<Finding> {
    let overrides = Overrides {
        select: select.map(|code| rules::parse_selector(code).unwrap()),
        ..Overrides::default()
    };
    let resolver = Arc::new(Resolver::new(dir.to_path_buf(), None, false, overrides).unwrap());
    let discovered = discovery::discover(&[dir.to_path_buf()], &resolver, false).unwrap();
    let report =
        engine::lint_files_cached(&discovered.files, &[], Some(1), dir, &resolver, None, true);
    let mut found = Vec::new();
    for file in report.files {
        let relative = file
            .path
            .strip_prefix(dir)
            .unwrap_or(&file.path)
            .to_path_buf();
        for d in file.diagnostics {
            found.push((relative.clone(), d));
        }
    }
    found
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Apply `fix` (offered in `file`) inside `dir`; the files it wrote.
fn apply(base: &Path, dir: &Path, file: &Path, fix: &Fix) -> Vec<PathBuf> {
    let mut written = Vec::new();
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, apply_edits(&text, &fix.edits)).unwrap();
    written.push(path);
    for other in &fix.other_files {
        // Paths name the linted copy (`base`): the same file in `dir`. Never a file
        // outside the copy.
        let relative = if other.path.is_absolute() {
            other
                .path
                .strip_prefix(base)
                .unwrap_or_else(|_| {
                    panic!("a fix writes outside its project: {}", other.path.display())
                })
                .to_path_buf()
        } else {
            other.path.clone()
        };
        let path = dir.join(relative);
        let text = if other.create {
            String::new()
        } else {
            fs::read_to_string(&path).unwrap_or_default()
        };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&path, apply_edits(&text, &other.edits)).unwrap();
        written.push(path);
    }
    written
}

/// Counts of findings per (file, code).
fn counts(findings: &[Finding]) -> BTreeMap<(PathBuf, &'static str), usize> {
    let mut counts = BTreeMap::new();
    for (file, d) in findings {
        *counts.entry((file.clone(), d.code)).or_insert(0) += 1;
    }
    counts
}

fn guarded_family(code: &str) -> bool {
    ["DL1", "DL2", "DL5"].iter().any(|p| code.starts_with(p))
}

/// pyflakes' unused-import and undefined-name messages for the Python files of `dir`.
fn pyflakes(python: &Path, dir: &Path) -> Vec<String> {
    let out = Command::new(python)
        .args(["-m", "pyflakes", "."])
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut messages: Vec<String> = text
        .lines()
        .filter(|l| l.contains("imported but unused") || l.contains("undefined name"))
        // Without the line: a fix moves code.
        .map(|l| {
            let mut parts = l.splitn(4, ':');
            let file = parts.next().unwrap_or_default();
            let message = l.rsplit(": ").next().unwrap_or_default();
            format!("{file}: {message}")
        })
        .collect();
    messages.sort();
    messages
}

#[derive(Default)]
struct Tally {
    offered: usize,
    parse_ok: usize,
    removed: usize,
    new_findings: usize,
    new_pyflakes: usize,
    problems: Vec<String>,
}

/// Every fix offered in `source` (a project directory, or a directory holding one fixture),
/// applied alone to a fresh copy.
fn check_project(
    name: &str,
    source: &Path,
    select: Option<&str>,
    python: Option<&Path>,
    tallies: &mut BTreeMap<&'static str, Tally>,
) {
    let before = lint(source, select);
    let before_counts = counts(&before);
    let flakes_before = python.map(|p| pyflakes(p, source));
    for (index, (file, diagnostic)) in before.iter().enumerate() {
        let Some(fix) = &diagnostic.fix else {
            continue;
        };
        if dllint::source::is_notebook(file) {
            continue; // applied to the notebook's JSON by the fix loop; not here
        }
        let tally = tallies.entry(diagnostic.code).or_default();
        tally.offered += 1;
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("p");
        copy_tree(source, &dir);
        let written = apply(source, &dir, file, fix);
        let what = format!(
            "{name}: {} #{index} in {} ({})",
            diagnostic.code,
            file.display(),
            fix.title
        );
        if let Some(broken) = written.iter().find(|p| {
            let text = fs::read_to_string(p).unwrap_or_default();
            !parses(&text, p)
        }) {
            tally
                .problems
                .push(format!("{what}: {} does not parse", broken.display()));
            continue;
        }
        tally.parse_ok += 1;
        let after = lint(&dir, select);
        let after_counts = counts(&after);
        let key = (file.clone(), diagnostic.code);
        let was = before_counts.get(&key).copied().unwrap_or(0);
        let now = after_counts.get(&key).copied().unwrap_or(0);
        if now < was {
            tally.removed += 1;
        } else {
            tally
                .problems
                .push(format!("{what}: the finding stays ({was} -> {now})"));
        }
        let new: Vec<String> = after_counts
            .iter()
            .filter(|((_, code), _)| guarded_family(code))
            .filter(|((f, code), n)| {
                let old = before_counts.get(&(f.clone(), code)).copied().unwrap_or(0);
                **n > old
            })
            .map(|((f, code), n)| format!("{code} in {} ({n})", f.display()))
            .collect();
        if !new.is_empty() {
            tally.new_findings += 1;
            tally
                .problems
                .push(format!("{what}: new findings: {}", new.join(", ")));
        }
        if let (Some(python), Some(old)) = (python, &flakes_before) {
            let flakes = pyflakes(python, &dir);
            // A debugger import left by removing its breakpoint is a finding of its own (with
            // its own fix once nothing uses it): reported, not left behind unseen.
            let debugger_import_reported = |message: &str| {
                message.contains("imported but unused")
                    && after.iter().any(|(f, d)| {
                        d.code == "DL305"
                            && d.message.contains("is imported")
                            && message.starts_with(&format!("./{}:", f.display()))
                    })
            };
            let added: Vec<&String> = flakes
                .iter()
                .filter(|m| !old.contains(m) && !debugger_import_reported(m))
                .collect();
            if !added.is_empty() {
                tally.new_pyflakes += 1;
                tally.problems.push(format!(
                    "{what}: {}",
                    added
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
        }
    }
}

#[test]
fn every_offered_fix_removes_its_finding_and_breaks_nothing() {
    let python = match common::python_with("pyflakes", "pyflakes==3.4.0") {
        Ok(python) => Some(python),
        Err(why) => {
            assert!(!common::in_ci(), "pyflakes is required in CI: {why}");
            common::skipped(&format!(
                "fix_contract (d) unused imports / undefined names: {why}"
            ));
            None
        }
    };
    let root = common::root();
    let mut tallies: BTreeMap<&'static str, Tally> = BTreeMap::new();

    let mut fixtures: Vec<PathBuf> = fs::read_dir(root.join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    fixtures.sort();
    for fixture in &fixtures {
        let name = fixture.file_name().unwrap().to_str().unwrap();
        let code = name.split(['_', '.']).next().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("f");
        fs::create_dir_all(&dir).unwrap();
        fs::copy(fixture, dir.join(name)).unwrap();
        check_project(name, &dir, Some(code), python.as_deref(), &mut tallies);
    }
    let mut projects: Vec<PathBuf> = fs::read_dir(root.join("fixtures/projects"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    projects.sort();
    for project in &projects {
        let name = project.file_name().unwrap().to_str().unwrap();
        // Linted in a copy: the fixes' paths then name the copy, never the fixtures.
        let scratch = tempfile::tempdir().unwrap();
        let copy = scratch.path().join(name);
        copy_tree(project, &copy);
        check_project(name, &copy, None, python.as_deref(), &mut tallies);
    }

    let (table, problems, total) = summarize(&tallies);
    eprintln!("{table}");
    assert!(total.offered > 20, "only {} fixes offered", total.offered);
    assert!(
        problems.is_empty(),
        "{table}\n{} fixes break the contract:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The table per rule, every problem, and the totals.
fn summarize(tallies: &BTreeMap<&'static str, Tally>) -> (String, Vec<String>, Tally) {
    let mut table =
        String::from("rule    offered  parse-ok  removed  new-findings  new-pyflakes\n");
    let mut problems = Vec::new();
    let mut total = Tally::default();
    for (code, t) in tallies {
        table.push_str(&format!(
            "{code:<8}{:>7}{:>10}{:>9}{:>14}{:>14}\n",
            t.offered, t.parse_ok, t.removed, t.new_findings, t.new_pyflakes
        ));
        total.offered += t.offered;
        total.parse_ok += t.parse_ok;
        total.removed += t.removed;
        total.new_findings += t.new_findings;
        total.new_pyflakes += t.new_pyflakes;
        problems.extend(t.problems.iter().cloned());
    }
    table.push_str(&format!(
        "{:<8}{:>7}{:>10}{:>9}{:>14}{:>14}\n",
        "total",
        total.offered,
        total.parse_ok,
        total.removed,
        total.new_findings,
        total.new_pyflakes
    ));
    (table, problems, total)
}

/// The same contract on the ecosystem corpus (`bench/ecosystem/export` writes it to
/// `target/ecosystem/repos`; not in CI): `cargo test --release --test fix_contract ecosystem
/// -- --ignored --nocapture` prints the table and every problem, and fails on any.
#[test]
#[ignore]
fn ecosystem_fix_contract() {
    let repos = common::root().join("target/ecosystem/repos");
    let Ok(entries) = fs::read_dir(&repos) else {
        common::skipped(&format!(
            "ecosystem_fix_contract: {} not found (bench/ecosystem/export)",
            repos.display()
        ));
        return;
    };
    let python = common::python_with("pyflakes", "pyflakes==3.4.0").ok();
    let mut dirs: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut tallies: BTreeMap<&'static str, Tally> = BTreeMap::new();
    for repo in &dirs {
        let name = repo.file_name().unwrap().to_str().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let copy = scratch.path().join(name);
        copy_tree(repo, &copy);
        check_project(name, &copy, None, python.as_deref(), &mut tallies);
    }
    let (table, problems, _) = summarize(&tallies);
    eprintln!(
        "{table}\n{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        problems.is_empty(),
        "{} offered fixes break the contract",
        problems.len()
    );
}
