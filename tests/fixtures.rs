//! Every fixture in `fixtures/` is linted with the rule its name starts with (`DL305_x.py` →
//! `DL305`). Inline markers (`# error: DL305` on the line where a finding starts) must match the
//! findings exactly — no missing, no extra — and the full rendering must equal the golden
//! snapshot in `tests/snapshots/`.
//!
//! Each fixture is its own test, named as the file (`DL501_keras`), so that `cargo test --test
//! fixtures DL501` runs DL501's fixtures only. The list is written out below; two tests keep it
//! equal to the files in `fixtures/` (a new fixture nobody listed fails, so does a listed one
//! that was removed).

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
        let source = file.source().expect("findings keep their source");
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

/// `fixtures/<name>.py` must exist and match its markers and snapshot.
fn fixture(name: &str) {
    let path = common::root().join("fixtures").join(format!("{name}.py"));
    assert!(path.is_file(), "fixtures/{name}.py does not exist");
    if let Err(problems) = check_fixture(&path) {
        panic!("{problems}");
    }
}

/// The names (without `.py`) of the Python files directly in `fixtures/`.
fn fixture_names() -> Vec<String> {
    let dir = common::root().join("fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "py"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn every_fixture_has_a_test() {
    let names = fixture_names();
    assert!(!names.is_empty());
    let unlisted = common::unlisted(FIXTURES, &names);
    assert!(
        unlisted.is_empty(),
        "fixtures with no test: add them to `test_per_name!` in tests/fixtures.rs: {unlisted:?}"
    );
}

#[test]
fn every_listed_fixture_exists() {
    let missing = common::not_on_disk(FIXTURES, &fixture_names());
    assert!(
        missing.is_empty(),
        "listed in tests/fixtures.rs, but fixtures/<name>.py does not exist: {missing:?}"
    );
}

// One test per fixture, named as the fixture: `cargo test --test fixtures DL501` runs DL501's.
common::test_per_name! {
    FIXTURES, fixture;
    DL000,
    DL101,
    DL101_flax,
    DL101_keras,
    DL101_lightning,
    DL101_nnx,
    DL101_nnx_sow,
    DL101_tf1,
    DL102,
    DL102_chosen_targets,
    DL102_computed_inputs,
    DL102_demo,
    DL102_helper_over_formula,
    DL102_jax,
    DL102_library_objects,
    DL102_jax_partial_extraction,
    DL102_partial_extraction,
    DL102_tf,
    DL102_tf1,
    DL102_tf1_collection,
    DL102_tf1_graph_helper,
    DL102_tf_collected_terms,
    DL102_trainer,
    DL102_weighted_terms,
    DL103,
    DL103_script,
    DL103_tf1_state_update,
    DL104,
    DL105,
    DL105_script,
    DL106,
    DL107,
    DL107_constants,
    DL107_step_function,
    DL201,
    DL201_callbacks,
    DL201_composition_root,
    DL201_dataset_roles,
    DL201_keras,
    DL201_model_runner_class,
    DL201_model_with_its_blocks,
    DL201_runner_class_loss,
    DL201_script,
    DL201_two_roles_short,
    DL201_wiring,
    DL202,
    DL202_cli,
    DL202_fire_all,
    DL202_keras,
    DL203,
    DL203_keras,
    DL204,
    DL204_keras,
    DL301,
    DL301_dynamic,
    DL301_fix,
    DL301_globals,
    DL301_globals_read,
    DL301_star_import,
    DL302,
    DL302_blocks,
    DL302_keras,
    DL302_lost_import,
    DL302_script,
    DL303,
    DL303_keras,
    DL304,
    DL304_click,
    DL305,
    DL305_debugger_module,
    DL305_fix,
    DL305_places,
    DL305_shadowed,
    DL306,
    DL306_dynamic,
    DL401,
    DL401_keras,
    DL402,
    DL501,
    DL501_helper,
    DL501_keras,
    DL501_lightning,
    DL501_smoke_test,
    DL501_trainer_method,
    DL502,
    DL502_annotated,
    DL502_keras,
    DL503,
    DL503_before_backward,
    DL503_keras,
    DL504,
    DL504_loops,
    DL504_model_methods,
    DL504_train_not_restored,
    DL505,
    DL505_loops,
    DL505_pipeline,
    DL505_pipeline_only,
    DL506,
    DL506_aliased,
    DL506_compatibility_forms,
    DL506_keras,
    DL506_keras_model,
    DL506_model_output,
    DL506_tuple,
    DL507,
    DL507_helper,
    DL507_model_output,
    DL508,
    DL508_demo,
    DL508_keras,
    DL508_library,
    DL508_lightning,
    DL508_module_loop,
    DL508_not_random,
    DL508_seeded,
    DL509,
    DL509_aliased,
    DL509_helpers,
    DL509_params,
    DL509_returns,
    DL510,
    DL510_keras,
    DL511,
    DL511_torch,
}
