//! Every fixture in `fixtures/` is linted with the rule its name starts with (`DL305_x.py` →
//! `DL305`). Inline markers (`# error: DL305` on the line where a finding starts) must match the
//! findings exactly — no missing, no extra — and the full rendering must equal the golden
//! snapshot in `tests/snapshots/`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use dllint::config::{Overrides, Resolver};
use dllint::engine;
use dllint::output::{self, OutputFormat, RenderOptions};
use dllint::rules;

fn fixture_rule(name: &str) -> &'static str {
    let code = name.split(['_', '.']).next().unwrap();
    rules::find_rule(code)
        .unwrap_or_else(|| panic!("fixture {name} names no rule"))
        .code
}

fn check_fixture(path: &Path) -> Result<(), String> {
    let root = common::root();
    let name = path.file_name().unwrap().to_str().unwrap();
    let code = fixture_rule(name);
    let text = std::fs::read_to_string(path).unwrap();
    let overrides = Overrides {
        select: Some(rules::parse_selector(code).unwrap()),
        ..Overrides::default()
    };
    let resolver = Resolver::new(root.clone(), None, true, overrides).unwrap();
    let relative = path.strip_prefix(&root).unwrap();
    let settings = resolver.settings_for(relative).unwrap();
    let report = engine::lint_text(relative, text.clone(), &settings, &root, &resolver);

    let mut actual: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for file in &report.files {
        let source = file.source.as_ref().expect("findings keep their source");
        for d in &file.diagnostics {
            actual
                .entry(source.line_of(d.range.start()))
                .or_default()
                .push(d.code.to_string());
        }
    }
    for codes in actual.values_mut() {
        codes.sort();
    }
    let expected = common::expected_markers(&text);
    let problems = common::marker_problems(name, &expected, &actual);
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }

    let mut rendered = Vec::new();
    output::render(
        OutputFormat::Full,
        &report,
        RenderOptions { color: false },
        &mut rendered,
    )
    .unwrap();
    let snapshot = root.join("tests/snapshots").join(format!("{name}.snap"));
    common::assert_golden(&snapshot, &String::from_utf8(rendered).unwrap())
}

#[test]
fn fixtures_match_markers_and_snapshots() {
    let dir = common::root().join("fixtures");
    let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    fixtures.sort();
    assert!(!fixtures.is_empty());
    let failures: Vec<String> = fixtures
        .iter()
        .filter_map(|f| check_fixture(f).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
