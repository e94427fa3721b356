//! The layers of the crate depend one way: a module may use modules of its own layer or of a
//! lower one, never of a higher one. This test reads every `crate::` path in `src/` and
//! `rules/` and fails on an edge that runs up the order below (mirrored in
//! `docs/architecture.md`), and on a top-level module that is in no layer.
//!
//! Cycles inside one layer are allowed (a layer is one unit of change); a cycle between
//! layers is impossible once every edge runs down.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

/// The layers, lowest first, with their top-level modules (`src/<module>.rs`,
/// `src/<module>/`; `rules` is the `rules/` directory, the catalog).
const LAYERS: &[(&str, &[&str])] = &[
    // Text and findings: source files, notebooks, edits, diagnostics (carrying a rule code),
    // suppression comments, fingerprints.
    (
        "text",
        &[
            "source",
            "notebook",
            "diagnostic",
            "suppression",
            "fingerprint",
        ],
    ),
    // Framework knowledge as data, and the MODLR roles.
    ("knowledge", &["knowledge"]),
    // Parsing, per-file facts, the project index, roles, verdicts and the queries about them.
    ("semantic", &["semantic"]),
    // What a rule is and sees: metadata and options, the file walk, the project context, fix
    // and refactoring construction.
    (
        "rule-api",
        &["registry", "checker", "rule_context", "refactor", "fix"],
    ),
    // The catalog: one file per rule, the registration list, rule selection.
    ("rules", &["rules"]),
    // Running the rules: configuration, discovery, cache, the engine, outputs, and the
    // analyses built on the engine (baseline, map, survey).
    (
        "engine",
        &[
            "config",
            "discovery",
            "cache",
            "engine",
            "output",
            "baseline",
            "map",
            "survey",
            "timing",
        ],
    ),
    // The programs: command line (with the fix loop) and language server.
    ("app", &["cli", "server", "lib", "main"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// The top-level module a file of the crate belongs to.
fn module_of(relative: &Path) -> String {
    let mut parts = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy());
    match parts.next().as_deref() {
        Some("rules") => "rules".into(),
        _ => {
            let first = parts.next().unwrap_or_default();
            first.trim_end_matches(".rs").to_string()
        }
    }
}

/// The top-level modules a Rust source refers to through `crate::` (or `$crate::`), including
/// grouped imports (`use crate::{a::b, c};`). Comments are skipped.
fn referenced_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let code: String = text
        .lines()
        .map(|line| match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `mycrate::` is not ours
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group: depth-0 segments before `::`, `,` or `}`.
            let mut depth = 0;
            let mut item = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        at_start = false;
                    }
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        if !item.is_empty() {
                            found.insert(std::mem::take(&mut item));
                        }
                        at_start = true;
                    }
                    c if depth == 0 && at_start && (c.is_alphanumeric() || c == '_') => {
                        item.push(c)
                    }
                    c if c.is_whitespace() => {}
                    _ => {
                        if !item.is_empty() {
                            found.insert(std::mem::take(&mut item));
                        }
                        at_start = false;
                    }
                }
            }
            if !item.is_empty() {
                found.insert(item);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    // Macros exported at the crate root (`crate::declare_rule!`) and `self` are not modules.
    found.retain(|m| m != "self" && m != "declare_rule");
    found
}

/// Every edge of the crate that runs up the layers, as `file: from (layer) -> to (layer)`, and
/// every module that is in no layer.
fn violations(files: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (relative, text) in files {
        let from = module_of(Path::new(relative));
        let Some(from_layer) = layer_of(&from) else {
            problems.push(format!(
                "{relative}: module `{from}` is in no layer of tests/layering.rs"
            ));
            continue;
        };
        for to in referenced_modules(text) {
            match layer_of(&to) {
                None => problems.push(format!(
                    "{relative}: uses `crate::{to}`, which is in no layer of tests/layering.rs"
                )),
                Some(to_layer) if to_layer > from_layer => problems.push(format!(
                    "{relative}: `{from}` ({}) uses `crate::{to}` ({}), a higher layer",
                    LAYERS[from_layer].0, LAYERS[to_layer].0
                )),
                Some(_) => {}
            }
        }
    }
    problems
}

fn crate_files() -> Vec<(String, String)> {
    let root = common::root();
    let mut files = Vec::new();
    for dir in ["src", "rules"] {
        for entry in walkdir(&root.join(dir)) {
            if entry.extension().is_some_and(|e| e == "rs") {
                let relative = entry
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.push((relative, std::fs::read_to_string(&entry).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walkdir(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn no_module_uses_a_higher_layer() {
    let files = crate_files();
    assert!(files.len() > 50, "found only {} source files", files.len());
    let problems = violations(&files);
    assert!(
        problems.is_empty(),
        "{} edges run up the layers:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_check_sees_upward_and_undeclared_edges() {
    let files = vec![
        (
            "src/diagnostic.rs".to_string(),
            "use crate::registry::{Rule, Severity};\n".to_string(),
        ),
        (
            "src/semantic/index.rs".to_string(),
            "use crate::{knowledge::Knowledge, config::Settings};\n// crate::engine in a comment\n"
                .to_string(),
        ),
        (
            "rules/coupling/mod.rs".to_string(),
            "fn f() { crate::semantic::view::FileView::new(); crate::engine::run(); }".to_string(),
        ),
        ("src/nowhere.rs".to_string(), String::new()),
        (
            "src/output/json.rs".to_string(),
            "use crate::rules; use crate::unknown_module;".to_string(),
        ),
    ];
    let problems = violations(&files);
    let expected = [
        "src/diagnostic.rs: `diagnostic` (text) uses `crate::registry` (rule-api), a higher layer",
        "src/semantic/index.rs: `semantic` (semantic) uses `crate::config` (engine), a higher layer",
        "rules/coupling/mod.rs: `rules` (rules) uses `crate::engine` (engine), a higher layer",
        "src/nowhere.rs: module `nowhere` is in no layer of tests/layering.rs",
        "src/output/json.rs: uses `crate::unknown_module`, which is in no layer of tests/layering.rs",
    ];
    assert_eq!(problems, expected);
}

/// `docs/architecture.md` states the same layers, in the same order.
#[test]
fn the_architecture_document_lists_the_same_layers() {
    let doc = std::fs::read_to_string(common::root().join("docs/architecture.md")).unwrap();
    let mut last = 0;
    for (layer, modules) in LAYERS {
        let heading = format!("`{layer}`");
        let at = doc[last..]
            .find(&heading)
            .map(|i| i + last)
            .unwrap_or_else(|| {
                panic!(
                    "docs/architecture.md does not list layer {heading} after the previous layer"
                )
            });
        let line_end = doc[at..].find('\n').map_or(doc.len(), |i| i + at);
        for module in *modules {
            assert!(
                doc[at..line_end].contains(&format!("`{module}`")),
                "docs/architecture.md: the line of layer {heading} does not name `{module}`"
            );
        }
        last = line_end;
    }
}

/// Where a text names a rule: `DL` and three digits (`DL504`), a family (`DL5xx`), or the
/// kebab-case name of a rule of the catalog (only names with a `-`, so that no common word
/// matches), standing alone (not part of a longer kebab-case word). Returns the 1-based lines.
fn rule_mentions(text: &str, names: &[&str]) -> Vec<(usize, String)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        for (i, _) in line.match_indices("DL") {
            let rest = &bytes[i + 2..];
            let code = rest.len() >= 3
                && rest[0].is_ascii_digit()
                && ((rest[1].is_ascii_digit() && rest[2].is_ascii_digit())
                    || (rest[1] == b'x' && rest[2] == b'x'));
            if code {
                found.push((number + 1, line[i..i + 5].to_string()));
            }
        }
        for name in names {
            for (i, _) in line.match_indices(name) {
                let before = line[..i].chars().next_back();
                let after = line[i + name.len()..].chars().next();
                if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
                    found.push((number + 1, name.to_string()));
                }
            }
        }
    }
    found
}

/// The kebab-case names of the catalog's rules.
fn kebab_rule_names() -> Vec<&'static str> {
    dllint::rules::ALL
        .iter()
        .map(|rule| rule.name)
        .filter(|name| name.contains('-'))
        .collect()
}

/// The semantic layer and the framework knowledge document facts by what they say about the
/// program, never by the rule that reads them: a fact serves whatever asks, and a rule's code
/// or name there ties the lower layers to the catalog (issue 20).
#[test]
fn the_semantic_layer_names_no_rule_code() {
    let root = common::root();
    let names = kebab_rule_names();
    assert!(
        names.len() > 20,
        "only {} kebab-case rule names",
        names.len()
    );
    let mut problems = Vec::new();
    let mut scanned = 0;
    for dir in ["src/semantic", "src/knowledge"] {
        let mut files = walkdir(&root.join(dir));
        files.sort();
        for path in files {
            if !path.extension().is_some_and(|e| e == "rs" || e == "toml") {
                continue;
            }
            scanned += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            let relative = path.strip_prefix(&root).unwrap().to_string_lossy();
            for (line, mention) in rule_mentions(&text, &names) {
                problems.push(format!("{relative}:{line}: {mention}"));
            }
        }
    }
    assert!(scanned > 10, "scanned only {scanned} files");
    assert!(
        problems.is_empty(),
        "the semantic layer names {} rules (say what the fact means instead):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_rule_mention_check_sees_codes_and_names() {
    let names = kebab_rule_names();
    let text = "/// Mode switches (DL504).\n\
                # Seeding (DL5xx), DL50 and DLX12 are not codes.\n\
                // used by unused-config-option; `unused-config-options` is another word.\n\
                //! (a loss in a model, DL1 and DL10a are not codes either)\n";
    let found = rule_mentions(text, &names);
    assert_eq!(
        found,
        [
            (1, "DL504".to_string()),
            (2, "DL5xx".to_string()),
            (3, "unused-config-option".to_string()),
        ]
    );
}

/// The module graph's cycles (strongly connected components of more than one module), each
/// sorted, largest first. `cargo test --test layering cycles -- --nocapture` prints them.
fn cycles(files: &[(String, String)]) -> Vec<Vec<String>> {
    use std::collections::BTreeMap;
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (relative, text) in files {
        let from = module_of(Path::new(relative));
        let targets = edges.entry(from.clone()).or_default();
        for to in referenced_modules(text) {
            if to != from {
                targets.insert(to);
            }
        }
    }
    let nodes: Vec<String> = edges
        .keys()
        .cloned()
        .chain(edges.values().flatten().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Reachability by repeated search (the graph has a few dozen nodes): two modules are in one
    // cycle when each reaches the other.
    let reach = |start: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.to_string()];
        while let Some(node) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (n, reach(n))).collect();
    let mut assigned = BTreeSet::new();
    let mut found = Vec::new();
    for node in &nodes {
        if assigned.contains(node) || !reachable[node].contains(node) {
            continue;
        }
        let component: Vec<String> = nodes
            .iter()
            .filter(|other| reachable[node].contains(*other) && reachable[*other].contains(node))
            .cloned()
            .collect();
        assigned.extend(component.iter().cloned());
        if component.len() > 1 {
            found.push(component);
        }
    }
    found.sort_by_key(|c| std::cmp::Reverse(c.len()));
    found
}

#[test]
fn cycles_stay_inside_one_layer() {
    let found = cycles(&crate_files());
    for cycle in &found {
        eprintln!("cycle of {} modules: {}", cycle.len(), cycle.join(", "));
        let layers: BTreeSet<Option<usize>> = cycle.iter().map(|m| layer_of(m)).collect();
        assert_eq!(
            layers.len(),
            1,
            "the cycle {cycle:?} spans more than one layer"
        );
    }
    // The self-test: a two-module cycle across layers is found.
    let crossing = vec![
        (
            "src/semantic/mod.rs".to_string(),
            "use crate::engine;".to_string(),
        ),
        (
            "src/engine.rs".to_string(),
            "use crate::semantic;".to_string(),
        ),
    ];
    assert_eq!(cycles(&crossing), vec![vec!["engine", "semantic"]]);
}
