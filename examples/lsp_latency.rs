//! Editor latency of `dllint server`: the time from a `didChange` notification to the
//! `publishDiagnostics` for that version, on a generated ~3,000-line model file.
//!
//! The debounce is set to 0 (`initializationOptions.debounceMs`), so the measurement is the
//! analysis and protocol round trip, not the deliberate typing delay.
//!
//! ```sh
//! cargo build --release
//! cargo run --release --example lsp_latency -- [--server target/release/dllint] [--changes 200]
//! cargo run --release --example lsp_latency -- --burst 200
//! ```
//!
//! `--burst N` measures typing instead: N changes sent back to back with the server's default
//! debounce, and the time from the last one to the diagnostics of its version.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn main() {
    let mut server = default_server();
    let mut changes = 200usize;
    let mut burst: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--server" => server = PathBuf::from(args.next().expect("--server PATH")),
            "--changes" => {
                changes = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--changes N")
            }
            "--burst" => burst = Some(args.next().and_then(|n| n.parse().ok()).expect("--burst N")),
            other => panic!("unknown argument {other}"),
        }
    }
    let dir = std::env::temp_dir().join(format!("dllint-lsp-latency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.py");
    let text = generate(3_000);
    std::fs::write(&path, &text).unwrap();
    let uri = format!("file://{}", path.display());
    let lines = text.lines().count();

    let mut child = Command::new(&server)
        .arg("server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<(Instant, Value)>();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        while let Some(body) = read_frame(&mut reader) {
            let value = serde_json::from_slice(&body).unwrap();
            if tx.send((Instant::now(), value)).is_err() {
                return;
            }
        }
    });
    let mut send = |message: Value| {
        let body = message.to_string();
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        stdin.flush().unwrap();
        Instant::now()
    };
    let wait = |pred: &dyn Fn(&Value) -> bool| -> (Instant, Value) {
        loop {
            let (at, message) = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("server answers");
            if pred(&message) {
                return (at, message);
            }
        }
    };

    send(
        json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "rootUri": format!("file://{}", dir.display()), "capabilities": {},
        "initializationOptions": if burst.is_some() { json!({}) } else { json!({ "debounceMs": 0 }) } } }),
    );
    wait(&|m| m["id"] == 1);
    send(json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }));
    let opened = send(
        json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": { "uri": uri, "languageId": "python", "version": 1, "text": text } } }),
    );
    let (at, first) = wait(&|m| m["method"] == "textDocument/publishDiagnostics");
    let findings = first["params"]["diagnostics"]
        .as_array()
        .map_or(0, Vec::len);
    println!(
        "file: {lines} lines, {findings} findings; didOpen -> publishDiagnostics {:.1} ms",
        ms(at - opened)
    );

    if let Some(n) = burst {
        let mut last = Instant::now();
        for i in 0..n {
            let version = i as i64 + 2;
            let edit = keystroke(i);
            last = send(
                json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": { "uri": uri, "version": version }, "contentChanges": [edit] } }),
            );
        }
        let version = n as i64 + 1;
        let (at, _) = wait(&|m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"] == version
        });
        println!(
            "{n} changes back to back: last didChange -> publishDiagnostics of its version {:.1} ms \
             (default debounce included)",
            ms(at - last)
        );
        send(json!({ "jsonrpc": "2.0", "id": 2, "method": "shutdown" }));
        wait(&|m| m["id"] == 2);
        send(json!({ "jsonrpc": "2.0", "method": "exit" }));
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }

    // Each change types one character into the hidden-size constant on line 2 and back,
    // as a user editing the file would; every version's diagnostics are awaited.
    let mut latencies = Vec::with_capacity(changes);
    for i in 0..changes {
        let version = i as i64 + 2;
        let edit = keystroke(i);
        let sent = send(
            json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": { "uri": uri, "version": version }, "contentChanges": [edit] } }),
        );
        let (at, _) = wait(&|m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"] == version
        });
        latencies.push(at - sent);
    }
    send(json!({ "jsonrpc": "2.0", "id": 2, "method": "shutdown" }));
    wait(&|m| m["id"] == 2);
    send(json!({ "jsonrpc": "2.0", "method": "exit" }));
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    latencies.sort();
    let pick = |q: f64| ms(latencies[((latencies.len() - 1) as f64 * q).round() as usize]);
    println!(
        "didChange -> publishDiagnostics over {changes} changes: median {:.1} ms, p90 {:.1} ms, min {:.1} ms, max {:.1} ms",
        pick(0.5),
        pick(0.9),
        pick(0.0),
        pick(1.0)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `i`-th edit: a character typed into the hidden-size constant on line 2, then removed.
fn keystroke(i: usize) -> Value {
    if i.is_multiple_of(2) {
        json!({ "range": range(1, 9, 1, 9), "text": "1" })
    } else {
        json!({ "range": range(1, 9, 1, 10), "text": "" })
    }
}

fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
    json!({ "start": { "line": l1, "character": c1 }, "end": { "line": l2, "character": c2 } })
}

fn default_server() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("release").join("dllint")
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
    std::io::Read::read_exact(reader, &mut body).ok()?;
    Some(body)
}

/// A PyTorch module of about `lines` lines: layers, forward passes, some losses computed in
/// models (DL101), a debugging print (DL305), and a training loop at the end.
fn generate(lines: usize) -> String {
    let mut out = String::from(
        "\"\"\"Generated model file for the LSP latency benchmark.\"\"\"\nHIDDEN = 128\n\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n",
    );
    let mut i = 0;
    while out.lines().count() < lines.saturating_sub(25) {
        out.push_str(&format!(
            r#"
class Block{i}(nn.Module):
    """Block {i}: a residual MLP."""

    def __init__(self, width: int = HIDDEN):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width * 4)
        self.fc2 = nn.Linear(width * 4, width)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, labels=None):
        h = self.norm(x)
        h = F.gelu(self.fc1(h))
        h = self.dropout(self.fc2(h))
        out = x + h
        if labels is not None and {penalty}:
            return out, F.mse_loss(out, labels)
        return out

    def extra_repr(self) -> str:
        return "block {i}"

"#,
            penalty = if i % 10 == 0 { "True" } else { "self.training" },
        ));
        i += 1;
    }
    out.push_str(
        r#"
def train(model, loader, epochs: int = 1):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        for x, y in loader:
            print(x.shape)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
"#,
    );
    out
}
