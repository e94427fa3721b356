//! `dllint map`: components, roles and edges of the fixture projects, in every format. The dot
//! output is rendered with Graphviz and the HTML page with headless Chromium when they are
//! installed (CI installs both).

mod common;

use std::process::{Command, Stdio};

use serde_json::Value;

fn map(args: &[&str]) -> String {
    let mut all = vec!["map", "--isolated"];
    all.extend_from_slice(args);
    let output = common::run(&common::root(), &all, None);
    assert!(output.status.success(), "{}", common::stderr(&output));
    common::stdout(&output)
}

#[test]
fn text_groups_components_by_role_and_marks_findings() {
    let text = map(&["fixtures/projects/cifar_trainer", "--explain"]);
    common::assert_golden(
        &common::root().join("tests/snapshots/map_cifar_trainer.txt"),
        &text,
    )
    .unwrap();
}

#[test]
fn mermaid_and_dot_match_their_snapshots() {
    let mermaid = map(&["fixtures/projects/gan", "--format", "mermaid"]);
    common::assert_golden(
        &common::root().join("tests/snapshots/map_gan.mmd"),
        &mermaid,
    )
    .unwrap();
    let dot = map(&["fixtures/projects/detector", "--format", "dot"]);
    common::assert_golden(
        &common::root().join("tests/snapshots/map_detector.dot"),
        &dot,
    )
    .unwrap();
}

#[test]
fn json_lists_roles_and_violating_edges() {
    let json: Value =
        serde_json::from_str(&map(&["fixtures/projects/detector", "--format", "json"])).unwrap();
    let components = json["components"].as_array().unwrap();
    let find = |name: &str| {
        components
            .iter()
            .find(|c| c["qualified"] == name)
            .unwrap_or_else(|| panic!("{name} in {json}"))
    };
    assert_eq!(
        find("models.detector.FasterRCNN")["roles"],
        serde_json::json!(["Model"])
    );
    assert_eq!(
        find("losses.detection_loss")["roles"],
        serde_json::json!(["Loss"])
    );
    assert_eq!(find("train.train")["roles"], serde_json::json!(["Runner"]));
    let id = |name: &str| find(name)["id"].as_str().unwrap().to_string();
    let edges = json["edges"].as_array().unwrap();
    let violating: Vec<&Value> = edges.iter().filter(|e| e["violation"] == true).collect();
    assert_eq!(violating.len(), 1, "{edges:?}");
    assert_eq!(violating[0]["from"], id("models.detector.FasterRCNN"));
    assert_eq!(violating[0]["kind"], "computes_loss");
    assert!(edges.iter().any(|e| e["from"] == id("train.train")
        && e["to"] == id("losses.detection_loss")
        && e["kind"] == "calls"));
    assert!(
        edges
            .iter()
            .any(|e| e["from"] == id("models.detector.FasterRCNN")
                && e["to"] == id("models.base.BaseDetector")
                && e["kind"] == "extends")
    );
}

#[test]
fn a_runner_receives_the_components_built_for_it() {
    let json: Value =
        serde_json::from_str(&map(&["fixtures/projects/gan", "--format", "json"])).unwrap();
    let components = json["components"].as_array().unwrap();
    let id = |name: &str| {
        components.iter().find(|c| c["qualified"] == name).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let edges = json["edges"].as_array().unwrap();
    for target in ["loss.GANLoss", "torch.optim.Adam"] {
        assert!(
            edges.iter().any(|e| e["from"] == id("runner.Runner")
                && e["to"] == id(target)
                && e["kind"] == "receives"),
            "{target}: {edges:?}"
        );
    }
    // One edge per pair.
    let mut pairs: Vec<(String, String)> = edges
        .iter()
        .map(|e| (e["from"].to_string(), e["to"].to_string()))
        .collect();
    let n = pairs.len();
    pairs.dedup();
    assert_eq!(pairs.len(), n);
}

#[test]
fn graphviz_renders_the_dot_output() {
    if Command::new("dot")
        .arg("-V")
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        // CI sets DLLINT_REQUIRE_GRAPHVIZ so that a missing install fails instead of skipping.
        assert!(
            std::env::var_os("DLLINT_REQUIRE_GRAPHVIZ").is_none(),
            "graphviz (`dot`) is required but not installed"
        );
        common::skipped(
            "graphviz_renders_the_dot_output: `dot` is not installed (apt-get install graphviz)",
        );
        return;
    }
    for project in ["cifar_trainer", "detector", "gan"] {
        let dot = map(&[&format!("fixtures/projects/{project}"), "--format", "dot"]);
        let mut child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(dot.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "dot failed on {project}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("<svg"),
            "{project}"
        );
    }
}

#[test]
fn mermaid_is_well_formed() {
    for project in ["cifar_trainer", "detector", "gan"] {
        let mermaid = map(&[
            &format!("fixtures/projects/{project}"),
            "--format",
            "mermaid",
        ]);
        assert!(mermaid.starts_with("flowchart LR\n"));
        let opens = mermaid
            .lines()
            .filter(|l| l.trim_start().starts_with("subgraph "))
            .count();
        let closes = mermaid.lines().filter(|l| l.trim() == "end").count();
        assert_eq!(opens, closes, "{mermaid}");
        // Every edge endpoint is a declared node.
        for line in mermaid
            .lines()
            .filter(|l| l.contains("-->") || l.contains("-.->"))
        {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (from, to) = (words[0], words[words.len() - 1]);
            for node in [from, to] {
                assert!(
                    mermaid
                        .lines()
                        .any(|l| l.trim_start().starts_with(&format!("{node}["))
                            || l.trim_start().starts_with(&format!("{node}("))),
                    "{node} undeclared in {mermaid}"
                );
            }
        }
    }
}

/// Issue 21, item 6: in a notebook a component's position is `cell N:line` (the line within
/// the cell, as Jupyter numbers cells), as `check` reports findings, in every format; the
/// JSON has a `cell` (`null` in Python files).
#[test]
fn notebook_positions_are_cells_and_lines_as_in_check() {
    let notebook = "tests/notebooks/policy.ipynb";
    let text = map(&[notebook]);
    for expected in [
        "policy.Net                   tests/notebooks/policy.ipynb:cell 4:1\n",
        "policy.Squares               tests/notebooks/policy.ipynb:cell 3:3\n",
        "policy <module>              tests/notebooks/policy.ipynb:cell 6:3  ! DL301, DL305\n",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    let json: Value = serde_json::from_str(&map(&[notebook, "--format", "json"])).unwrap();
    let position = |name: &str| {
        let c = json["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["qualified"] == name)
            .unwrap_or_else(|| panic!("{name} in {json}"));
        (c["cell"].clone(), c["line"].clone())
    };
    assert_eq!(position("policy.Net"), (4.into(), 1.into()));
    assert_eq!(position("policy.Squares"), (3.into(), 3.into()));
    assert_eq!(position("policy <module>"), (6.into(), 3.into()));
    assert_eq!(position("torch.optim.SGD"), (Value::Null, 0.into()));
    for format in ["dot", "mermaid"] {
        let out = map(&[notebook, "--format", format]);
        assert!(
            out.contains("tests/notebooks/policy.ipynb:cell 4:1"),
            "{format}:\n{out}"
        );
    }
    // A Python file: no cell, its own lines.
    let json: Value = serde_json::from_str(&map(&[
        "fixtures/projects/cifar_trainer",
        "--format",
        "json",
    ]))
    .unwrap();
    for c in json["components"].as_array().unwrap() {
        assert_eq!(c["cell"], Value::Null, "{c}");
    }

    // The cell and line are where `check` puts the findings of the same component: the
    // Runner's `breakpoint()` is in cell 6, below the loop's first line.
    let check = common::check_concise(notebook);
    assert!(
        check.contains("tests/notebooks/policy.ipynb:cell 6:11:5: warning[DL305]"),
        "{check}"
    );
}

/// The components of the bundled example, as the HTML page names them.
const CIFAR_COMPONENTS: [&str; 8] = [
    "train &lt;module&gt;",
    "model.SmallResNet",
    "model.ResidualBlock",
    "losses.LabelSmoothingLoss",
    "data.Cifar10",
    "data.make_loader",
    "torch.optim.SGD",
    "torch.utils.data.DataLoader",
];

#[test]
fn html_is_one_self_contained_page() {
    let html = map(&["fixtures/projects/cifar_trainer", "--format", "html"]);
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    for name in CIFAR_COMPONENTS {
        assert!(html.contains(name), "{name} in\n{html}");
    }
    // Each component's findings, the violating edge, the role evidence on hover.
    assert!(
        html.contains(r#"<span class="code">DL101</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"class="edge violation""#), "{html}");
    assert!(
        html.contains("because: Model: subclass of `torch.nn.Module`"),
        "{html}"
    );
    assert!(html.contains(r#"title="model.SmallResNet"#), "{html}");
    // Nothing is loaded from the network (nor from anywhere else): no scripts, stylesheets,
    // images or fonts by reference.
    for forbidden in [
        "http://", "https://", "src=", "<link", "<script", "@import", "url(http", "//fonts",
    ] {
        assert!(!html.contains(forbidden), "{forbidden} in\n{html}");
    }
    for href in html.split("href=\"").skip(1) {
        assert!(href.starts_with('#'), "a link out of the page: {href}");
    }
    // Deterministic.
    assert_eq!(
        html,
        map(&["fixtures/projects/cifar_trainer", "--format", "html"])
    );
}

/// The first of `chromium`, `chromium-browser`, `google-chrome` that runs.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// Run headless Chromium with `args` on `url`, killed after 120 s.
fn run_chromium(browser: &str, profile: &std::path::Path, args: &[&str], url: &str) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
        text
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{browser} {args:?} failed: {status}");
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{browser} {args:?} did not finish in 120 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    reader.join().unwrap()
}

#[test]
fn chromium_renders_the_html_page() {
    let Some(browser) = chromium() else {
        // CI sets DLLINT_REQUIRE_CHROMIUM so that a missing install fails instead of skipping.
        assert!(
            std::env::var_os("DLLINT_REQUIRE_CHROMIUM").is_none(),
            "chromium is required but not installed"
        );
        common::skipped(
            "chromium_renders_the_html_page: no `chromium`, `chromium-browser` or `google-chrome` (apt-get install chromium)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("map.html");
    std::fs::write(
        &page,
        map(&["fixtures/projects/cifar_trainer", "--format", "html"]),
    )
    .unwrap();
    let url = format!("file://{}", page.display());
    let profile = dir.path().join("profile");

    // The DOM as Chromium parsed it: the graph and every component, in it and in the cards.
    let dom = run_chromium(browser, &profile, &["--dump-dom"], &url);
    assert!(dom.contains("<svg"), "{dom}");
    for name in CIFAR_COMPONENTS {
        assert!(
            dom.matches(name).count() >= 2,
            "{name} in the graph and in the cards:\n{dom}"
        );
    }
    assert!(dom.contains("computes loss"), "{dom}");

    // A screenshot; `UPDATE_SNAPSHOTS=1` refreshes the one in README (docs/).
    let shot = dir.path().join("map.png");
    run_chromium(
        browser,
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,800",
            "--hide-scrollbars",
        ],
        &url,
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 10_000, "an empty page? {} bytes", png.len());
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(common::root().join("docs/map_cifar_trainer.png"), png).unwrap();
    }
}

/// Issue 18: `map --after-fix` shows the architecture the fixes would produce, refactorings
/// included, with positions in the files they would write, and writes nothing.
#[test]
fn after_fix_shows_the_components_the_refactorings_would_create() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("train.py"),
        "import torch.nn.functional as F\n\n\ndef train(gen, disc, loader, opt_g, opt_d):\n    \
         for real, z in loader:\n        fake = gen(z)\n        \
         d_loss = F.softplus(-disc(real)).mean() + F.softplus(disc(fake.detach())).mean()\n        \
         d_loss.backward()\n        opt_d.step()\n        \
         g_loss = F.softplus(-disc(fake)).mean() + 0.1 * fake.pow(2).mean()\n        \
         g_loss.backward()\n        opt_g.step()\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["map", "--isolated", "--format", "json"];
        args.extend_from_slice(extra);
        args.push(".");
        let output = common::run(dir.path(), &args, None);
        assert!(output.status.success(), "{}", common::stderr(&output));
        let json: Value = serde_json::from_str(&common::stdout(&output)).unwrap();
        (json, common::stderr(&output))
    };
    let qualified = |json: &Value| -> Vec<String> {
        json["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["qualified"].as_str().unwrap().to_string())
            .collect()
    };
    let (before, _) = run(&[]);
    assert_eq!(qualified(&before), ["train.train"], "{before}");
    let (after, note) = run(&["--after-fix"]);
    assert_eq!(
        qualified(&after),
        ["loss.TrainLoss", "loss.GLoss", "train.train"],
        "{after}"
    );
    assert!(
        note.contains("after 2 fixes in 2 files (nothing written") && note.contains("new: loss.py"),
        "{note}"
    );
    let lines: Vec<u64> = after["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["path"].as_str().is_some_and(|p| p.ends_with("loss.py")))
        .map(|c| c["line"].as_u64().unwrap())
        .collect();
    assert!(lines.iter().all(|&l| l > 1), "{after}");
    assert!(!dir.path().join("loss.py").exists());
}
