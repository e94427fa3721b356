//! The rule catalog keeps its promises: sorted unique codes, documentation with the required
//! sections, a fixture and a snapshot for every rule (and no orphans), and generated docs
//! (`docs/rules.md`, the rule table in README.md) that match the registry.

mod common;

use dllint::registry::{Family, Notebooks};
use dllint::rules::ALL;

#[test]
fn codes_are_sorted_unique_and_match_their_family() {
    for pair in ALL.windows(2) {
        assert!(
            pair[0].code < pair[1].code,
            "rules/mod.rs: {} must come after {}",
            pair[0].code,
            pair[1].code
        );
    }
    let mut names: Vec<_> = ALL.iter().map(|r| r.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), ALL.len(), "rule names must be unique");
    for rule in ALL {
        let digit = match rule.family {
            Family::Syntax => '0',
            Family::Coupling => '1',
            Family::Structure => '2',
            Family::DeadCode => '3',
            Family::Shapes => '4',
            Family::Training => '5',
        };
        assert!(
            rule.code.starts_with("DL") && rule.code.len() == 5,
            "{}",
            rule.code
        );
        assert_eq!(
            rule.code.chars().nth(2),
            Some(digit),
            "{} is in family {:?}",
            rule.code,
            rule.family
        );
        assert!(
            rule.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}",
            rule.name
        );
    }
}

#[test]
fn every_rule_is_documented() {
    for rule in ALL {
        let docs = rule.documentation();
        for section in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "Use instead:",
        ] {
            assert!(
                docs.contains(section),
                "{} lacks `{section}` in its doc comment",
                rule.code
            );
        }
        assert!(
            docs.matches("```python").count() >= 2,
            "{} needs two python examples",
            rule.code
        );
        // A rule that treats notebooks differently says why.
        assert!(
            rule.notebooks == Notebooks::Lint || docs.contains("## Notebooks"),
            "{} skips or narrows notebooks but has no `## Notebooks` section",
            rule.code
        );
        assert!(
            !rule.summary().is_empty(),
            "{} has an empty summary",
            rule.code
        );
    }
}

#[test]
fn every_rule_has_fixtures_and_snapshots_and_nothing_is_orphaned() {
    let root = common::root();
    let fixtures: Vec<String> = std::fs::read_dir(root.join("fixtures"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".py"))
        .collect();
    for rule in ALL {
        assert!(
            fixtures.iter().any(|f| f
                .strip_prefix(rule.code)
                .is_some_and(|rest| rest.starts_with(['.', '_']))),
            "{} has no fixture (fixtures/{}.py)",
            rule.code,
            rule.code
        );
    }
    for fixture in &fixtures {
        let code = fixture.split(['_', '.']).next().unwrap();
        assert!(
            ALL.iter().any(|r| r.code == code),
            "fixtures/{fixture} belongs to no rule"
        );
    }
    for entry in std::fs::read_dir(root.join("tests/snapshots")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(fixture) = name.strip_suffix(".snap")
            && fixture.ends_with(".py")
        {
            assert!(
                fixtures.iter().any(|f| f == fixture),
                "snapshot {name} has no fixture"
            );
        }
    }
    for fixture in &fixtures {
        assert!(
            root.join("tests/snapshots")
                .join(format!("{fixture}.snap"))
                .is_file(),
            "fixtures/{fixture} has no snapshot (UPDATE_SNAPSHOTS=1 cargo test --test fixtures)"
        );
    }
}

/// `docs/rules.md`: every rule's documentation, generated from the registry.
fn rules_markdown() -> String {
    let mut out = String::from(
        "# dllint rules\n\n<!-- Generated from the rules' doc comments by `UPDATE_SNAPSHOTS=1 cargo test --test catalog`; do not edit. -->\n\n",
    );
    for rule in ALL {
        out.push_str(&format!(
            "- [{} {}](#{}-{})\n",
            rule.code,
            rule.name,
            rule.code.to_ascii_lowercase(),
            rule.name
        ));
    }
    for rule in ALL {
        out.push('\n');
        out.push_str(&format!("## {} {}\n\n", rule.code, rule.name));
        out.push_str(&format!("{}\n\n", rule.metadata_line()));
        // Demote the rule's own `##` headings below the rule heading.
        for line in rule.documentation().lines() {
            if let Some(rest) = line.strip_prefix("## ") {
                out.push_str(&format!("### {rest}\n"));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        if !rule.options.is_empty() {
            out.push_str(&format!(
                "\n### Options (`[tool.dllint.{}]`)\n\n",
                rule.name
            ));
            for option in rule.options {
                out.push_str(&format!(
                    "- `{}` ({}, default `{}`): {}\n",
                    option.key,
                    option.kind.describe(),
                    option.default,
                    option.doc
                ));
            }
        }
    }
    out
}

fn readme_table() -> String {
    let mut out = String::from(
        "| Code | Name | Default | Severity | Fix | What it finds |\n|---|---|---|---|---|---|\n",
    );
    for rule in ALL {
        out.push_str(&format!(
            "| [{}](docs/rules.md#{}-{}) | `{}` | {} | {} | {} | {} |\n",
            rule.code,
            rule.code.to_ascii_lowercase(),
            rule.name,
            rule.name,
            if rule.default_enabled { "on" } else { "off" },
            rule.severity.as_str(),
            rule.fix.as_str(),
            rule.summary().replace('|', "\\|")
        ));
    }
    out
}

/// README's notebook policy: the rules that do not lint notebooks as Python files.
fn readme_notebook_table() -> String {
    let mut out = String::from("| Rule | In notebooks |\n|---|---|\n");
    for rule in ALL.iter().filter(|r| r.notebooks != Notebooks::Lint) {
        out.push_str(&format!(
            "| [{} `{}`](docs/rules.md#{}-{}) | {} |\n",
            rule.code,
            rule.name,
            rule.code.to_ascii_lowercase(),
            rule.name,
            rule.notebooks.describe(),
        ));
    }
    out.push_str("| every other rule | linted as in a Python file |\n");
    out
}

/// Replace the text between `<!-- {marker}:start -->` and `<!-- {marker}:end -->` in README.md
/// with `generated` (with UPDATE_SNAPSHOTS), or fail when it differs.
fn check_readme_region(marker: &str, generated: &str) {
    let readme_path = common::root().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md exists");
    let (start, end) = (
        format!("<!-- {marker}:start -->\n"),
        format!("<!-- {marker}:end -->"),
    );
    let begin = readme
        .find(&start)
        .unwrap_or_else(|| panic!("README has a {start} marker"))
        + start.len();
    let finish = readme
        .find(&end)
        .unwrap_or_else(|| panic!("README has a {end} marker"));
    if readme[begin..finish] != *generated {
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            let updated = format!("{}{}{}", &readme[..begin], generated, &readme[finish..]);
            std::fs::write(&readme_path, updated).unwrap();
        } else {
            panic!(
                "the {marker} table in README.md is stale: run UPDATE_SNAPSHOTS=1 cargo test --test catalog"
            );
        }
    }
}

#[test]
fn generated_docs_match_the_registry() {
    let root = common::root();
    common::assert_golden(&root.join("docs/rules.md"), &rules_markdown()).unwrap();
    check_readme_region("rules", &readme_table());
    check_readme_region("notebooks", &readme_notebook_table());
}

#[test]
fn what_a_rule_needs_matches_how_it_runs() {
    use dllint::registry::{Check, Needs};
    for rule in ALL {
        let across_files = rule.check.project_check().is_some();
        assert_eq!(
            rule.needs == Needs::Nothing,
            !across_files,
            "{}: a rule reads facts across files exactly when it has a project check \
             (`needs: Needs::Nothing` for a rule of one file's tree)",
            rule.code
        );
        if matches!(rule.check, Check::Engine) {
            assert_eq!(rule.needs, Needs::Nothing, "{}", rule.code);
        }
        // Whether a script belongs to a collection of independent experiments (where the
        // notebook policy applies) is a role, built from the scope facts a `Symbols` run does
        // not build: such a rule must not depend on the notebook policy.
        if rule.needs == Needs::Symbols {
            assert_eq!(
                rule.notebooks,
                Notebooks::Lint,
                "{}: a rule that needs only symbols must lint notebooks",
                rule.code
            );
        }
    }
}

/// A rule that declares it needs less than every fact (`Needs::Symbols`) finds, alone, what it
/// finds in a run of every rule: the run that selects it alone builds no scope facts, so a
/// rule that read them would find less (or more) there.
#[test]
fn a_rule_selected_alone_finds_what_it_finds_among_all() {
    use dllint::registry::Needs;
    let root = common::root();
    let mut dirs = vec![root.join("fixtures")];
    let mut projects: Vec<_> = std::fs::read_dir(root.join("fixtures/projects"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    projects.sort();
    dirs.extend(projects);
    let findings = |dir: &std::path::Path, select: &str, code: &str| -> Vec<String> {
        let output = common::run(
            dir,
            &[
                "check",
                "--no-cache",
                "--exit-zero",
                "--select",
                select,
                "--output-format",
                "json-lines",
                ".",
            ],
            None,
        );
        assert!(output.status.success(), "{}", common::stderr(&output));
        let mut found: Vec<String> = common::stdout(&output)
            .lines()
            .filter(|line| line.contains(&format!("\"code\":\"{code}\"")))
            .map(str::to_string)
            .collect();
        found.sort();
        found
    };
    let mut compared = 0;
    for rule in ALL.iter().filter(|r| r.needs == Needs::Symbols) {
        for dir in &dirs {
            let alone = findings(dir, rule.code, rule.code);
            let among_all = findings(dir, "ALL", rule.code);
            assert_eq!(
                alone,
                among_all,
                "{} in {}: selected alone it finds something else than among all rules",
                rule.code,
                dir.display()
            );
            compared += alone.len();
        }
    }
    assert!(
        compared > 0,
        "the fixtures have findings of the rules compared"
    );
}
