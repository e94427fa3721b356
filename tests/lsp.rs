//! The language server end to end: the real `dllint server` binary spoken to over stdio with
//! JSON-RPC, as an editor would.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);

/// A minimal LSP client driving one server process.
struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    /// Messages received while waiting for something else.
    stash: VecDeque<Value>,
    next_id: i64,
}

impl Client {
    /// Start a server and complete the `initialize` handshake.
    fn start(root: &Path, capabilities: Value) -> (Client, Value) {
        Self::start_with(json!({
            "processId": null,
            "rootUri": file_uri(root),
            "capabilities": capabilities,
            "initializationOptions": { "debounceMs": 20 },
        }))
    }

    fn start_with(params: Value) -> (Client, Value) {
        Self::start_with_args(params, &[])
    }

    /// [`Client::start_with`] passing `args` to `dllint server`.
    fn start_with_args(params: Value, args: &[&str]) -> (Client, Value) {
        let mut client = Client::spawn(args);
        let result = client.request("initialize", params);
        client.notify("initialized", json!({}));
        (client, result["result"]["capabilities"].clone())
    }

    fn spawn(args: &[&str]) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dllint"))
            .arg("server")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dllint server starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(body) = read_frame(&mut reader) {
                let value: Value = serde_json::from_slice(&body).expect("server sends JSON");
                if sender.send(value).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            incoming,
            stash: VecDeque::new(),
            next_id: 0,
        }
    }

    fn send_raw(&mut self, body: &str) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, message: Value) {
        self.send_raw(&message.to_string());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Send a request and return the whole response (`result` or `error`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        self.wait(|m| m["id"] == id && m.get("method").is_none())
    }

    /// The first message (stashed or new) that satisfies `pred`.
    fn wait(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.stash.iter().position(&pred) {
            return self.stash.remove(i).unwrap();
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(message) if pred(&message) => return message,
                Ok(message) => self.stash.push_back(message),
                Err(RecvTimeoutError::Timeout) => panic!("timed out; received: {:#?}", self.stash),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("server closed; received: {:#?}", self.stash)
                }
            }
        }
    }

    /// The next `publishDiagnostics` for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let message = self.wait(|m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        });
        message["params"]["diagnostics"].as_array().unwrap().clone()
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "python", "version": 1, "text": text } }),
        );
    }

    fn change(&mut self, uri: &str, version: i64, changes: Value) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": changes }),
        );
    }

    /// `shutdown` then `exit`; the exit code must be 0.
    fn shutdown(mut self) {
        let response = self.request("shutdown", Value::Null);
        assert_eq!(response["result"], Value::Null, "{response}");
        assert!(response.get("error").is_none());
        self.notify("exit", Value::Null);
        assert_eq!(self.wait_exit(), Some(0));
    }

    fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_frame(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn range(start: (u32, u32), end: (u32, u32)) -> Value {
    json!({ "start": { "line": start.0, "character": start.1 }, "end": { "line": end.0, "character": end.1 } })
}

fn codes(diagnostics: &[Value]) -> Vec<&str> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect()
}

#[test]
fn diagnostics_follow_edits_and_the_noqa_action_clears_them() {
    let root = tempfile::tempdir().unwrap();
    let uri = file_uri(&root.path().join("train.py"));
    let (mut client, capabilities) = Client::start(root.path(), json!({}));
    assert_eq!(capabilities["positionEncoding"], "utf-16");
    assert_eq!(
        capabilities["textDocumentSync"]["change"], 2,
        "incremental sync"
    );
    assert!(
        capabilities.get("diagnosticProvider").is_none(),
        "push mode when the client cannot pull"
    );

    client.open(&uri, "import pdb\nx = 1\n");
    let diagnostics = client.diagnostics(&uri);
    assert_eq!(codes(&diagnostics), ["DL305"]);
    let d = &diagnostics[0];
    assert_eq!(d["range"], range((0, 7), (0, 10)));
    assert_eq!(d["source"], "dllint");
    assert_eq!(d["severity"], 2);
    assert!(
        d["codeDescription"]["href"]
            .as_str()
            .unwrap()
            .ends_with("#dl305-debug-leftover")
    );
    assert!(d["message"].as_str().unwrap().contains("help: "), "{d}");
    assert_eq!(d["data"]["noqa"]["newText"], "  # noqa: DL305");

    // Incremental edit: a new first line moves the finding down.
    client.change(
        &uri,
        2,
        json!([{ "range": range((0, 0), (0, 0)), "text": "import os\n" }]),
    );
    let diagnostics = client.diagnostics(&uri);
    assert_eq!(codes(&diagnostics), ["DL305"]);
    assert_eq!(diagnostics[0]["range"], range((1, 7), (1, 10)));

    // Code actions on the line, with the diagnostic as context (as Neovim sends them).
    let response = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri },
            "range": range((1, 0), (1, 0)),
            "context": { "diagnostics": diagnostics },
        }),
    );
    let actions = response["result"].as_array().unwrap();
    let noqa = actions
        .iter()
        .find(|a| a["title"] == "Disable DL305 for this line")
        .unwrap_or_else(|| panic!("{response}"));
    assert_eq!(noqa["kind"], "quickfix");
    // Removing the import is a safe fix: it is offered, and fix-all takes it.
    assert!(
        actions
            .iter()
            .any(|a| a["title"] == "DL305: Remove the debugger import" && a["isPreferred"] == true),
        "{response}"
    );
    assert!(
        actions.iter().any(|a| a["kind"] == "source.fixAll.dllint"),
        "{response}"
    );
    let edits = noqa["edit"]["changes"][&uri].as_array().unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0]["range"], range((1, 10), (1, 10)));

    // Apply the edit as the editor would: the finding disappears.
    client.change(
        &uri,
        3,
        json!([{ "range": edits[0]["range"], "text": edits[0]["newText"] }]),
    );
    assert_eq!(client.diagnostics(&uri), Vec::<Value>::new());

    // Saving publishes again (files on disk may have changed under other buffers).
    client.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(client.diagnostics(&uri), Vec::<Value>::new());

    // Closing the document clears its diagnostics.
    client.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(client.diagnostics(&uri), Vec::<Value>::new());
    client.shutdown();
}

#[test]
fn extends_an_existing_noqa_list() {
    let root = tempfile::tempdir().unwrap();
    let uri = file_uri(&root.path().join("a.py"));
    let (mut client, _) = Client::start(root.path(), json!({}));
    client.open(&uri, "import pdb  # noqa: F401\n");
    let diagnostics = client.diagnostics(&uri);
    let response = client.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": range((0, 8), (0, 8)), "context": { "diagnostics": [] } }),
    );
    let action = response["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Disable DL305 for this line")
        .unwrap_or_else(|| panic!("{response}"));
    // Neovim 0.7 sends context diagnostics without their range: matched by code and line.
    let lenient = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri },
            "range": range((0, 0), (0, 0)),
            "context": { "diagnostics": [{ "code": "DL305", "data": { "code": "DL305" } }] },
        }),
    );
    assert_eq!(lenient["result"], response["result"], "{lenient}");
    let edit = &action["edit"]["changes"][&uri][0];
    // The codes are merged and sorted (as `dllint check --add-noqa` and ruff write them).
    assert_eq!(edit["newText"], "DL305, F401");
    assert_eq!(edit["range"], range((0, 20), (0, 24)));
    assert_eq!(diagnostics.len(), 1);
    client.change(
        &uri,
        2,
        json!([{ "range": edit["range"], "text": edit["newText"] }]),
    );
    assert_eq!(client.diagnostics(&uri), Vec::<Value>::new());
    client.shutdown();
}

#[test]
fn survives_malformed_and_unknown_messages() {
    let root = tempfile::tempdir().unwrap();
    let mut client = Client::spawn(&[]);
    // Before `initialize`: requests are refused, not crashed on.
    client
        .send(json!({ "jsonrpc": "2.0", "id": 100, "method": "textDocument/hover", "params": {} }));
    let early = client.wait(|m| m["id"] == 100);
    assert_eq!(early["error"]["code"], -32002);
    let init = client.request(
        "initialize",
        json!({ "rootUri": file_uri(root.path()), "capabilities": {} }),
    );
    assert!(init["result"]["capabilities"].is_object());
    client.notify("initialized", json!({}));

    // Not JSON: a parse error with a null id.
    client.send_raw("{this is not json");
    let error = client.wait(|m| m["error"]["code"] == -32700);
    assert_eq!(error["id"], Value::Null);
    // JSON, but not a JSON-RPC message.
    client.send_raw(r#"{"jsonrpc":"2.0","id":55,"params":[]}"#);
    assert_eq!(client.wait(|m| m["id"] == 55)["error"]["code"], -32600);
    client.send_raw(r#"{"jsonrpc":"2.0","id":56,"method":7}"#);
    assert_eq!(client.wait(|m| m["id"] == 56)["error"]["code"], -32600);
    // Unknown request: MethodNotFound. Unknown notification: ignored.
    let unknown = client.request("dllint/noSuchMethod", json!({}));
    assert_eq!(unknown["error"]["code"], -32601);
    client.notify("dllint/noSuchNotification", json!({ "x": 1 }));
    client.notify("$/cancelRequest", json!({ "id": 1 }));
    // Invalid params: an error for requests, ignored for notifications.
    let invalid = client.request("textDocument/hover", json!({ "textDocument": 3 }));
    assert_eq!(invalid["error"]["code"], -32602);
    client.notify("textDocument/didOpen", json!({ "textDocument": "nope" }));
    // A change to a document that was never opened.
    let ghost = file_uri(&root.path().join("ghost.py"));
    client.change(
        &ghost,
        2,
        json!([{ "range": range((0, 0), (0, 0)), "text": "x" }]),
    );
    // Requests about documents that are not open get empty answers.
    let hover = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": ghost }, "position": { "line": 0, "character": 0 } }),
    );
    assert_eq!(hover["result"], Value::Null);

    // A pathologically nested buffer is a finding, not a crash.
    let deep = file_uri(&root.path().join("deep.py"));
    client.open(
        &deep,
        &format!("x = {}1{}\n", "f(".repeat(20_000), ")".repeat(20_000)),
    );
    assert_eq!(codes(&client.diagnostics(&deep)), ["DL000"]);

    // Still alive and correct.
    let uri = file_uri(&root.path().join("ok.py"));
    client.open(&uri, "breakpoint()\n");
    assert_eq!(codes(&client.diagnostics(&uri)), ["DL305"]);
    // After `shutdown`, requests are refused; `exit` then ends with 0.
    let response = client.request("shutdown", Value::Null);
    assert!(response.get("error").is_none());
    let late = client.request("textDocument/hover", json!({}));
    assert_eq!(late["error"]["code"], -32600);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait_exit(), Some(0));
}

#[test]
fn accepts_the_stdio_flag_language_clients_add() {
    // vscode-languageclient's `TransportKind.stdio` appends `--stdio`: the server must start.
    let root = tempfile::tempdir().unwrap();
    let (mut client, capabilities) = Client::start_with_args(
        json!({ "rootUri": file_uri(root.path()), "capabilities": {} }),
        &["--stdio"],
    );
    assert!(
        capabilities["textDocumentSync"].is_object(),
        "{capabilities}"
    );
    let _ = client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait_exit(), Some(0));
}

#[test]
fn exit_without_shutdown_is_an_error_exit() {
    let root = tempfile::tempdir().unwrap();
    let (mut client, _) = Client::start(root.path(), json!({}));
    client.notify("exit", Value::Null);
    assert_eq!(client.wait_exit(), Some(1));
}

#[test]
fn positions_are_counted_in_the_negotiated_encoding() {
    // `pdb` starts after `s = 'é😀'; import `: 18 UTF-16 units, 21 UTF-8 bytes, 17 characters.
    let text = "s = 'é😀'; import pdb\n";
    for (offered, name, start) in [
        (json!(null), "utf-16", 18),
        (json!(["utf-16", "utf-8"]), "utf-8", 21),
        (json!(["utf-32", "utf-16"]), "utf-32", 17),
    ] {
        let root = tempfile::tempdir().unwrap();
        let uri = file_uri(&root.path().join("u.py"));
        let capabilities = if offered.is_null() {
            json!({})
        } else {
            json!({ "general": { "positionEncodings": offered } })
        };
        let (mut client, result) = Client::start(root.path(), capabilities);
        assert_eq!(result["positionEncoding"], name);
        client.open(&uri, text);
        let diagnostics = client.diagnostics(&uri);
        assert_eq!(
            diagnostics[0]["range"],
            range((0, start), (0, start + 3)),
            "{name}"
        );
        // An incremental edit addressed in the same encoding: the space before `import`
        // becomes a line break, moving the finding to line 1.
        let space = start - "import ".len() as u32 - 1;
        client.change(
            &uri,
            2,
            json!([{ "range": range((0, space), (0, space + 1)), "text": "\n" }]),
        );
        let diagnostics = client.diagnostics(&uri);
        assert_eq!(diagnostics[0]["range"], range((1, 7), (1, 10)), "{name}");
        client.shutdown();
    }
}

#[test]
fn pull_diagnostics_and_hover() {
    let root = tempfile::tempdir().unwrap();
    let uri = file_uri(&root.path().join("p.py"));
    let (mut client, capabilities) = Client::start(
        root.path(),
        json!({ "textDocument": { "diagnostic": { "dynamicRegistration": false } } }),
    );
    assert_eq!(capabilities["diagnosticProvider"]["identifier"], "dllint");
    assert_eq!(
        capabilities["diagnosticProvider"]["interFileDependencies"],
        true
    );
    client.open(&uri, "x = 1\nimport ipdb\n");
    let report = client.request(
        "textDocument/diagnostic",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(report["result"]["kind"], "full", "{report}");
    let items = report["result"]["items"].as_array().unwrap();
    assert_eq!(codes(items), ["DL305"]);
    assert_eq!(items[0]["range"], range((1, 7), (1, 11)));

    // Pull after an edit, before any debounce could have run: the answer is already current.
    client.change(
        &uri,
        2,
        json!([{ "range": range((1, 0), (1, 11)), "text": "import os" }]),
    );
    let report = client.request(
        "textDocument/diagnostic",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(report["result"]["items"], json!([]));

    client.change(
        &uri,
        3,
        json!([{ "range": range((1, 0), (1, 9)), "text": "import ipdb" }]),
    );
    let hover = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 1, "character": 9 } }),
    );
    let value = hover["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{hover}"));
    assert_eq!(hover["result"]["contents"]["kind"], "markdown");
    assert!(value.contains("**DL305** `debug-leftover`"), "{value}");
    assert!(value.contains("## What it does"), "{value}");
    let nothing = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 0, "character": 1 } }),
    );
    assert_eq!(nothing["result"], Value::Null);
    client.shutdown();
}

#[test]
fn editing_a_base_class_updates_open_subclasses() {
    let root = tempfile::tempdir().unwrap();
    let base_model = "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 2)\n";
    let sub = "import torch.nn.functional as F\nfrom base import Base\n\n\nclass Net(Base):\n    def forward(self, x, y):\n        return F.cross_entropy(x, y)\n";
    std::fs::write(root.path().join("base.py"), base_model).unwrap();
    std::fs::write(root.path().join("sub.py"), sub).unwrap();
    let base_uri = file_uri(&root.path().join("base.py"));
    let sub_uri = file_uri(&root.path().join("sub.py"));
    let (mut client, _) = Client::start(root.path(), json!({}));
    client.open(&base_uri, base_model);
    client.open(&sub_uri, sub);
    let diagnostics = client.diagnostics(&sub_uri);
    assert_eq!(codes(&diagnostics), ["DL101"]);
    // The related information points into the other (open) file.
    let related = diagnostics[0]["relatedInformation"].as_array().unwrap();
    assert!(
        related.iter().any(|r| r["location"]["uri"] == base_uri),
        "{related:?}"
    );

    // The base stops being a Model in the buffer only (the file on disk is unchanged).
    client.change(
        &base_uri,
        2,
        json!([{ "range": range((0, 0), (7, 0)), "text": "class Base:\n    pass\n" }]),
    );
    assert_eq!(client.diagnostics(&sub_uri), Vec::<Value>::new());
    // And back.
    client.change(&base_uri, 3, json!([{ "text": base_model }]));
    assert_eq!(codes(&client.diagnostics(&sub_uri)), ["DL101"]);
    client.shutdown();
}

#[test]
fn files_that_are_not_open_are_project_context() {
    let root = tempfile::tempdir().unwrap();
    let cli = "import argparse\n\n\ndef get_parser():\n    parser = argparse.ArgumentParser()\n    parser.add_argument(\"--lr\", type=float)\n    parser.add_argument(\"--dropout\", type=float)\n    return parser\n";
    let run = "from cli import get_parser\n\nargs = get_parser().parse_args()\nprint(args.lr)\n";
    std::fs::write(root.path().join("dllint.toml"), "").unwrap();
    std::fs::write(root.path().join("cli.py"), cli).unwrap();
    // Not open: read from disk as context.
    std::fs::write(root.path().join("run.py"), run).unwrap();
    let uri = file_uri(&root.path().join("cli.py"));
    let messages = |diagnostics: &[Value]| -> Vec<String> {
        diagnostics
            .iter()
            .map(|d| d["message"].as_str().unwrap().to_string())
            .collect()
    };
    let params = |root: &Path| {
        json!({
            "processId": null,
            "rootUri": file_uri(root),
            "capabilities": {},
            "initializationOptions": { "debounceMs": 20 },
        })
    };

    let (mut client, _) = Client::start_with_args(params(root.path()), &[]);
    client.open(&uri, cli);
    let found = messages(&client.diagnostics(&uri));
    // `--lr` is read in `run.py`; `--dropout` nowhere.
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("option `--dropout` is never read"),
        "{found:?}"
    );
    client.shutdown();

    let (mut client, _) = Client::start_with_args(params(root.path()), &["--no-project-context"]);
    client.open(&uri, cli);
    let found = messages(&client.diagnostics(&uri));
    assert!(
        found
            .iter()
            .any(|m| m.contains("option `--lr` is never read")),
        "{found:?}"
    );
    client.shutdown();
}

#[test]
fn the_configured_severity_reaches_the_editor() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("dllint.toml"),
        "[severity]\nDL305 = \"info\"\n",
    )
    .unwrap();
    let uri = file_uri(&root.path().join("train.py"));
    let (mut client, _) = Client::start(root.path(), json!({}));
    client.open(&uri, "import pdb\n");
    let diagnostics = client.diagnostics(&uri);
    assert_eq!(codes(&diagnostics), ["DL305"]);
    assert_eq!(diagnostics[0]["severity"], 3, "Information");
    client.shutdown();
}

#[test]
fn configuration_is_reloaded_and_resolved_per_workspace_folder() {
    let root = tempfile::tempdir().unwrap();
    let (one, two) = (root.path().join("one"), root.path().join("two"));
    std::fs::create_dir_all(&one).unwrap();
    std::fs::create_dir_all(&two).unwrap();
    std::fs::write(two.join("dllint.toml"), "ignore = [\"DL305\"]\n").unwrap();
    let (mut client, _) = Client::start_with(json!({
        "capabilities": { "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": true } } },
        "workspaceFolders": [
            { "uri": file_uri(&one), "name": "one" },
            { "uri": file_uri(&two), "name": "two" },
        ],
        "initializationOptions": { "debounceMs": 20 },
    }));
    // The server asks to watch configuration files.
    let registration = client.wait(|m| m["method"] == "client/registerCapability");
    let watchers =
        registration["params"]["registrations"][0]["registerOptions"]["watchers"].to_string();
    assert!(watchers.contains("pyproject.toml"), "{watchers}");
    client.send(json!({ "jsonrpc": "2.0", "id": registration["id"], "result": null }));

    let (uri_one, uri_two) = (file_uri(&one.join("a.py")), file_uri(&two.join("a.py")));
    client.open(&uri_one, "import pdb\n");
    assert_eq!(codes(&client.diagnostics(&uri_one)), ["DL305"]);
    client.open(&uri_two, "import pdb\n");
    assert_eq!(client.diagnostics(&uri_two), Vec::<Value>::new());

    // A configuration file appears in folder one: its findings go.
    std::fs::write(
        one.join("pyproject.toml"),
        "[tool.dllint]\nignore = [\"DL3\"]\n",
    )
    .unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": file_uri(&one.join("pyproject.toml")), "type": 1 }] }),
    );
    assert_eq!(client.diagnostics(&uri_one), Vec::<Value>::new());

    // An invalid configuration: the user is told, and linting goes on with the defaults.
    std::fs::write(
        one.join("pyproject.toml"),
        "[tool.dllint]\nselct = [\"DL3\"]\n",
    )
    .unwrap();
    client.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": {} }),
    );
    let shown = client.wait(|m| m["method"] == "window/showMessage");
    assert!(
        shown["params"]["message"]
            .as_str()
            .unwrap()
            .contains("selct"),
        "{shown}"
    );
    assert_eq!(codes(&client.diagnostics(&uri_one)), ["DL305"]);
    client.shutdown();
}

#[test]
fn rapid_changes_are_coalesced_into_one_lint() {
    let root = tempfile::tempdir().unwrap();
    let uri = file_uri(&root.path().join("typing.py"));
    let (mut client, _) = Client::start_with(json!({
        "rootUri": file_uri(root.path()),
        "capabilities": {},
        "initializationOptions": { "debounceMs": 1000 },
    }));
    client.open(&uri, "x = 1\n");
    assert_eq!(client.diagnostics(&uri), Vec::<Value>::new());
    // Typing `import pdb` one character at a time, well within the debounce interval.
    for (i, c) in "import pdb".chars().enumerate() {
        let at = i as u32;
        client.change(
            &uri,
            i as i64 + 2,
            json!([{ "range": range((1, at), (1, at)), "text": c.to_string() }]),
        );
    }
    let message = client.wait(|m| m["method"] == "textDocument/publishDiagnostics");
    assert_eq!(
        message["params"]["version"], 11,
        "only the last version is linted: {message}"
    );
    assert_eq!(
        codes(message["params"]["diagnostics"].as_array().unwrap()),
        ["DL305"]
    );
    client.shutdown();
}

/// Issue 15: a message larger than the server reads (twice the largest source file) is read
/// and dropped, answered with an error, and the server goes on; it is never held in memory.
#[test]
fn an_oversized_message_is_skipped_not_buffered() {
    let root = tempfile::tempdir().unwrap();
    let (mut client, _) = Client::start(root.path(), json!({}));
    // 513 MiB of blanks: larger than the limit (512 MiB).
    let length: usize = 513 << 20;
    write!(client.stdin, "Content-Length: {length}\r\n\r\n").unwrap();
    let chunk = vec![b' '; 1 << 20];
    let mut sent = 0;
    while sent < length {
        let n = chunk.len().min(length - sent);
        client.stdin.write_all(&chunk[..n]).unwrap();
        sent += n;
    }
    client.stdin.flush().unwrap();
    let error = client.wait(|m| m["error"]["code"] == -32700);
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("larger than 512 MiB"), "{error}");
    let uri = file_uri(&root.path().join("ok.py"));
    client.open(&uri, "breakpoint()\n");
    assert_eq!(codes(&client.diagnostics(&uri)), ["DL305"]);
    client.shutdown();
}

/// A finding whose fix is a refactoring (it writes a new `loss.py`) is published as the CLI
/// reports it, with no fix in its data, and its only code action is the noqa comment: the
/// server builds no refactorings (`dllint check --unsafe-fixes --fix` applies them).
#[test]
fn a_refactoring_is_no_code_action_and_the_server_does_not_build_it() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("train.py");
    let text = "import torch\nimport torch.nn.functional as F\n\n\n\
                def train(model, loader, optimizer):\n    for x, y in loader:\n        \
                logits = model(x)\n        loss = F.cross_entropy(logits, y) + 0.1 * logits.pow(2).mean()\n        \
                optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n";
    std::fs::write(&path, text).unwrap();
    // The CLI offers the refactoring as an unsafe fix that writes `loss.py`.
    let cli = Command::new(env!("CARGO_BIN_EXE_dllint"))
        .args([
            "check",
            "--output-format",
            "json",
            "--exit-zero",
            "train.py",
        ])
        .current_dir(root.path())
        .output()
        .unwrap();
    let findings: Vec<Value> = serde_json::from_slice(&cli.stdout).unwrap();
    let dl102 = findings
        .iter()
        .find(|f| f["code"] == "DL102")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert!(
        !dl102["fix"].is_null() && !dl102["suggestion"].is_null(),
        "{dl102}"
    );

    let uri = file_uri(&path);
    let (mut client, _) = Client::start(root.path(), json!({}));
    client.open(&uri, text);
    let diagnostics = client.diagnostics(&uri);
    assert_eq!(codes(&diagnostics), ["DL102"]);
    let d = &diagnostics[0];
    assert_eq!(
        d["range"]["start"]["line"],
        dl102["location"]["row"].as_u64().unwrap() - 1
    );
    assert!(d["data"]["fix"].is_null(), "{d}");
    let response = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri },
            "range": d["range"],
            "context": { "diagnostics": diagnostics },
        }),
    );
    let titles: Vec<&str> = response["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Disable DL102 for this line"], "{response}");
    client.shutdown();
}
