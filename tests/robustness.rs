//! Hostile input through the real binary: whatever a repository holds, `dllint check` ends
//! (no crash, no hang) with a clear `DL000` or error message and the documented exit code
//! (0 clean, 1 findings, 2 usage or configuration error), and the other files are still
//! linted. Big inputs are generated in temporary directories, never committed.
//!
//! Release builds only (`cargo test --release --test robustness`, which `.ci/run` runs): a
//! debug build takes minutes on the 1,000,000-deep and 50 MB inputs.
#![cfg(not(debug_assertions))]

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{bin, stderr, stdout};

/// A file with one known finding: `import pdb` is DL305 at 1:8.
const DIRTY: &str = "import pdb\n\n\ndef forward(x):\n    print(x.shape)\n    return x\n";

/// Generous: every case here takes well under a second in release; a hang is what this guards.
/// (The 2-core CI machine may be shared: allow for a slow, busy machine.)
const TIMEOUT: Duration = Duration::from_secs(300);

/// Run `dllint` in `cwd`, killing it (and failing) if it has not finished within [`TIMEOUT`].
fn run(cwd: &Path, args: &[&str]) -> Output {
    run_within(cwd, args, TIMEOUT)
}

/// Run `dllint` in `cwd`, killing it (and failing) if it has not finished within `timeout`.
fn run_within(cwd: &Path, args: &[&str], timeout: Duration) -> Output {
    let child = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dllint binary runs");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(output) => output.expect("dllint finishes"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("dllint {args:?} did not finish within {timeout:?} (hang)");
        }
    }
}

/// `check` with concise output; asserts the process exited by itself (not killed by a signal,
/// as a stack overflow or abort would be) and printed no panic.
fn check(cwd: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["check", "--output-format", "concise", "-q"];
    args.extend_from_slice(extra);
    let out = run(cwd, &args);
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(
        out.status.code().is_some(),
        "dllint {args:?} was killed by a signal: {:?}\n{err}",
        out.status
    );
    assert!(
        !err.contains("panicked") && !err.contains("overflow"),
        "dllint {args:?} panicked:\n{err}"
    );
    (out.status.code(), text, err)
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// Lines of `text` about `file` (concise format: `file:line:col: severity[CODE] message`).
fn lines_for<'t>(text: &'t str, file: &str) -> Vec<&'t str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{file}:")))
        .collect()
}

#[test]
fn million_deep_nesting_is_a_dl000_not_a_stack_overflow() {
    // A debug binary parses about ten times slower: 100,000 levels there (still hundreds of
    // times what overflows an unguarded walk); `tests/cli.rs` runs five shapes at 1,000,000
    // in every build.
    let depth = if cfg!(debug_assertions) {
        100_000
    } else {
        1_000_000
    };
    // Shapes not already run by `tests/cli.rs` (binary operators, calls, lists, attributes,
    // unary minus): each nests differently in the parser and in the tree.
    let shapes: Vec<(&str, String)> = vec![
        ("not", format!("x = {}1\n", "not ".repeat(depth))),
        ("lambda", format!("x = {}1\n", "lambda: ".repeat(depth))),
        ("ifelse", format!("x = {}1\n", "1 if 1 else ".repeat(depth))),
        (
            "dict",
            format!("x = {}1{}\n", "{1:".repeat(depth), "}".repeat(depth)),
        ),
        ("subscript", format!("x = a{}\n", "[0]".repeat(depth))),
        ("power", format!("x = {}1\n", "2**".repeat(depth))),
        (
            "await",
            format!("async def f():\n    x = {}1\n", "await ".repeat(depth)),
        ),
        ("unclosed", format!("x = {}\n", "([{".repeat(depth / 3))),
        (
            "generator",
            format!(
                "x = {}b{}\n",
                "(a for a in ".repeat(depth),
                ")".repeat(depth)
            ),
        ),
        // Long but flat: linted normally.
        (
            "decorators",
            format!("{}def f(): pass\n", "@a\n".repeat(depth)),
        ),
        ("tuple", format!("x = {}\n", "1,".repeat(depth))),
        // Statements nest by indentation: 3,000 levels of tabs (Python itself stops at 100).
        ("indent", nested_blocks("if x:", 3_000)),
        ("defs", nested_blocks("def f():", 3_000)),
        ("classes", nested_blocks("class C:", 3_000)),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in &shapes {
        write(dir.path(), &format!("deep_{name}.py"), text);
    }
    write(dir.path(), "normal.py", DIRTY);
    let (code, text, err) = check(dir.path(), &["."]);
    assert_eq!(code, Some(1), "{err}");
    for (name, _) in &shapes {
        let file = format!("deep_{name}.py");
        let found = lines_for(&text, &file);
        // Long but flat (the call chain, the tuple) may lint fine; anything deep is a DL000.
        assert!(
            found.iter().all(|l| l.contains("[DL000] ")) || found.is_empty(),
            "{file}: {found:?}"
        );
        if !matches!(*name, "tuple" | "decorators") {
            assert!(
                found.iter().any(|l| l.contains("[DL000] ")),
                "{file} is too deep to analyse and says so: {found:?}"
            );
        }
    }
    assert!(text.contains("normal.py:1:8: warning[DL305]"), "{text}");

    // The default format shows excerpts, but not of a line of megabytes: only where it is.
    let out = run(dir.path(), &["check", "deep_subscript.py"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(text.len() < 4_000, "{} bytes of output", text.len());
    assert!(
        text.contains("at deep_subscript.py:1:1 (line 1 is ") && text.contains("excerpt omitted"),
        "{text}"
    );
}

fn nested_blocks(header: &str, depth: usize) -> String {
    let mut text = String::new();
    for level in 0..depth {
        text.push_str(&"\t".repeat(level));
        text.push_str(header);
        text.push('\n');
    }
    text.push_str(&"\t".repeat(depth));
    text.push_str("pass\n");
    text
}

/// A plausible block of training code, repeated to make huge files.
fn block(i: usize) -> String {
    format!(
        "class Net{i}(nn.Module):\n    def __init__(self):\n        super().__init__()\n        \
         self.fc = nn.Linear(10, 10)\n\n    def forward(self, x):\n        return self.fc(x)\n\n\n\
         def train{i}(model, loader, optimizer):\n    for batch in loader:\n        \
         optimizer.zero_grad()\n        loss = model(batch).sum()\n        loss.backward()\n        \
         optimizer.step()\n\n\n"
    )
}

#[test]
fn a_huge_file_and_a_huge_line_are_linted() {
    // 50 MB in release; a debug binary parses about ten times slower, so it gets 5 MB.
    let target = if cfg!(debug_assertions) {
        5 << 20
    } else {
        50 << 20
    };
    let mut big = String::with_capacity(target + 4096);
    big.push_str("import pdb\nimport torch.nn as nn\n\n\n");
    let mut i = 0;
    while big.len() < target {
        big.push_str(&block(i));
        i += 1;
    }
    // 1 MB on one line: a list literal and a string literal.
    let mut line = String::from("x = [");
    while line.len() < 1 << 20 {
        line.push_str("1234567, ");
    }
    line.push_str("]\ny = '");
    line.push_str(&"a".repeat(1 << 20));
    line.push_str("'\nimport pdb\n");

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "big.py", &big);
    write(dir.path(), "long_line.py", &line);
    write(dir.path(), "normal.py", DIRTY);
    let (code, text, err) = check(dir.path(), &["."]);
    assert_eq!(code, Some(1), "{err}");
    assert!(text.contains("big.py:1:8: warning[DL305]"), "{text}");
    assert!(text.contains("long_line.py:3:8: warning[DL305]"), "{text}");
    assert!(text.contains("normal.py:1:8: warning[DL305]"), "{text}");
    assert!(!text.contains("[DL000] "), "{text}");
}

/// Every rule's fixtures in one module: each pattern dllint reports, many times over.
fn all_patterns(copies: usize) -> String {
    let mut one = String::new();
    let mut paths: Vec<_> = fs::read_dir(common::root().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        // The syntax-error fixture would turn the whole module into one DL000.
        .filter(|p| !p.ends_with("DL000.py"))
        .collect();
    paths.sort();
    for path in paths {
        let text = fs::read_to_string(&path).unwrap();
        for line in text.lines().filter(|l| !l.starts_with("from __future__")) {
            one.push_str(line);
            one.push('\n');
        }
        one.push_str("\n\n");
    }
    one.repeat(copies)
}

/// Per-finding work that scans the whole file (a refactoring that re-analysed the module for
/// each of thousands of findings) is invisible on normal files and makes a big one take
/// minutes. Four times the input must take about four times as long, not sixteen.
#[test]
fn lint_time_grows_linearly_with_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let time = |copies: usize| {
        let name = format!("patterns_{copies}.py");
        write(dir.path(), &name, all_patterns(copies));
        // The faster of two runs, against a busy machine.
        (0..2)
            .map(|_| {
                let start = std::time::Instant::now();
                let (code, text, err) = check(dir.path(), &["--no-cache", &name]);
                assert_eq!(code, Some(1), "{err}");
                assert!(!text.contains("[DL000] "), "{text}");
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let small = time(16);
    let large = time(64);
    let ratio = large / small;
    println!("16 copies: {small:.2}s, 64 copies: {large:.2}s, ratio {ratio:.1}");
    assert!(
        ratio < 8.0,
        "4x the input took {ratio:.1}x the time ({small:.2}s → {large:.2}s): something is quadratic"
    );
}

#[test]
fn bad_bytes_and_line_endings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "normal.py", DIRTY);
    write(d, "nul.py", b"x = 1\ny = '\0'\n");
    write(d, "latin1.py", b"x = '\xe9t\xe9'\n");
    write(d, "truncated_utf8.py", b"x = '\xe2\x82'\n");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(DIRTY.as_bytes());
    write(d, "bom.py", bom);
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in DIRTY.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    write(d, "utf16.py", &utf16);
    let mut utf16be = vec![0xFE, 0xFF];
    for unit in DIRTY.encode_utf16() {
        utf16be.extend_from_slice(&unit.to_be_bytes());
    }
    write(d, "utf16be.py", &utf16be);
    write(d, "crlf.py", DIRTY.replace('\n', "\r\n"));
    write(d, "cr.py", DIRTY.replace('\n', "\r"));
    write(d, "mixed_endings.py", "import pdb\r\nx = 1\ry = 2\n\r\n");
    write(
        d,
        "tabs_formfeed.py",
        "\x0cimport pdb\n\x0c\n\ndef f(x):\n\tif x:\n\t\treturn x\n\x0c\tx = 1\n",
    );
    write(d, "only_formfeeds.py", "\x0c\x0c\n\x0c");
    write(d, "empty.py", "");
    write(d, "blank.py", "\n\n   \n\t\n");
    write(d, "comment_only.py", "# nothing here\n");
    write(d, "no_final_newline.py", "import pdb");
    write(
        d,
        "python2.py",
        "import pdb\nprint \"loss\", loss\nexec \"x = 1\"\nraise E, \"msg\"\nx = 0777\nx = ur'a'\n\
         def f((a, b)):\n    pass\nprint >>sys.stderr, 'x'\n",
    );
    write(
        d,
        "magics.py",
        "import pdb\n%matplotlib inline\n!pip install torch\nx = %time f()\n%%bash\n",
    );
    write(d, "lone_surrogate_escape.py", "x = '\\udc80'\nimport pdb\n");
    write(d, "stub.pyi", "import pdb\ndef f(x: int) -> int: ...\n");

    let (code, text, err) = check(d, &["."]);
    assert_eq!(code, Some(1), "{err}");
    let expect = |file: &str, needle: &str| {
        let found = lines_for(&text, file);
        assert!(
            found.iter().any(|l| l.contains(needle)),
            "{file}: expected `{needle}` in {found:?}\n{text}"
        );
    };
    expect("normal.py", "normal.py:1:8: warning[DL305]");
    expect("nul.py", "[DL000] file contains a NUL byte on line 2");
    expect("latin1.py", "[DL000] file is not valid UTF-8");
    expect("truncated_utf8.py", "[DL000] file is not valid UTF-8");
    expect("utf16.py", "[DL000] file is encoded as UTF-16");
    expect("utf16be.py", "[DL000] file is encoded as UTF-16");
    // A BOM, CRLF and lone CR change nothing about what is found and where.
    for file in ["bom.py", "crlf.py", "cr.py", "mixed_endings.py"] {
        expect(file, &format!("{file}:1:8: warning[DL305]"));
        assert!(
            !lines_for(&text, file)
                .iter()
                .any(|l| l.contains("[DL000] ")),
            "{file}: {text}"
        );
    }
    assert_eq!(
        lines_for(&text, "crlf.py")
            .iter()
            .map(|l| l.split_once(':').unwrap().1)
            .collect::<Vec<_>>(),
        lines_for(&text, "normal.py")
            .iter()
            .map(|l| l.split_once(':').unwrap().1)
            .collect::<Vec<_>>(),
        "CRLF reports the same lines and columns as LF"
    );
    // A form feed is a character of the line: `pdb` starts in column 9.
    expect("tabs_formfeed.py", "tabs_formfeed.py:1:9: warning[DL305]");
    expect(
        "no_final_newline.py",
        "no_final_newline.py:1:8: warning[DL305]",
    );
    expect("stub.pyi", "stub.pyi:1:8: warning[DL305]");
    expect(
        "lone_surrogate_escape.py",
        "lone_surrogate_escape.py:2:8: warning[DL305]",
    );
    for file in [
        "empty.py",
        "blank.py",
        "comment_only.py",
        "only_formfeeds.py",
    ] {
        assert!(lines_for(&text, file).is_empty(), "{file}: {text}");
    }
    // Python 2 and notebook magics are syntax errors in a .py file; the rules that are safe on
    // the recovered tree still report the rest.
    for file in ["python2.py", "magics.py"] {
        expect(file, "[DL000] SyntaxError:");
        expect(file, &format!("{file}:1:8: warning[DL305]"));
    }
    // Every file read and reported in a stable order: one line per finding, nothing else.
    assert!(
        text.lines()
            .all(|l| l.contains(".py") || l.contains(".pyi"))
    );
}

#[test]
fn file_system_oddities() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "normal.py", DIRTY);
    write(d, "my dir/with space.py", DIRTY);
    write(d, "données/modèle_训练.py", DIRTY);
    write(d, "locked.py", DIRTY);
    // A directory named like a Python file, in the tree.
    fs::create_dir_all(d.join("pkg.py")).unwrap();
    write(d, "pkg.py/inner.py", DIRTY);
    // Symbolic link cycles: a directory loop and two .py links pointing at each other.
    symlink(d, d.join("loop")).unwrap();
    symlink(d.join("b.py"), d.join("a.py")).unwrap();
    symlink(d.join("a.py"), d.join("b.py")).unwrap();
    symlink(d.join("missing.py"), d.join("dangling.py")).unwrap();
    // A FIFO: walking must skip it (opening it for reading would wait for a writer forever).
    let fifo = d.join("pipe.py");
    let made_fifo = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let locked = d.join("locked.py");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    // As root, mode 000 still reads: then there is nothing to assert about it.
    let unreadable = fs::read(&locked).is_err();

    let (code, text, err) = check(d, &["."]);
    assert_eq!(code, Some(1), "{err}");
    for file in [
        "normal.py",
        "my dir/with space.py",
        "données/modèle_训练.py",
        "pkg.py/inner.py",
    ] {
        assert!(
            text.contains(&format!("{file}:1:8: warning[DL305]")),
            "{file}: {text}"
        );
    }
    if unreadable {
        assert!(
            text.contains("locked.py:1:1: error[DL000] cannot read file: permission denied"),
            "{text}"
        );
    } else {
        assert!(text.contains("locked.py:1:8: warning[DL305]"), "{text}");
    }
    for skipped in ["loop/", "a.py", "b.py", "dangling.py", "pipe.py"] {
        assert!(
            !text.lines().any(|l| l.starts_with(skipped)),
            "{skipped} is skipped: {text}"
        );
    }

    // Named explicitly: each problem is reported, and the other files still linted.
    let mut explicit = vec!["normal.py", "a.py", "my dir/with space.py"];
    if made_fifo {
        explicit.push("pipe.py");
    }
    let (code, text, err) = check(d, &explicit);
    assert_eq!(code, Some(1), "{err}");
    assert!(text.contains("normal.py:1:8: warning[DL305]"), "{text}");
    assert!(
        text.contains("my dir/with space.py:1:8: warning[DL305]"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("a.py:1:1: error[DL000] cannot read file")),
        "{text}"
    );
    if made_fifo {
        assert!(
            text.contains("pipe.py:1:1: error[DL000] not a regular file"),
            "{text}"
        );
    }
    // A directory given where a file is expected.
    let (code, text, err) = check(d, &["pkg.py"]);
    assert_eq!(code, Some(1), "a directory is walked: {err}");
    assert!(
        text.contains("pkg.py/inner.py:1:8: warning[DL305]"),
        "{text}"
    );
    for flag in ["--config", "--baseline"] {
        let (code, _, err) = check(d, &[flag, "pkg.py", "normal.py"]);
        assert_eq!(code, Some(2), "{flag} DIR: {err}");
        assert!(err.contains("directory"), "{flag} DIR: {err}");
    }
    if made_fifo {
        // A FIFO where a configuration or baseline file is expected: an error, not a hang.
        for flag in ["--config", "--baseline"] {
            let (code, _, err) = check(d, &[flag, "pipe.py", "normal.py"]);
            assert_eq!(code, Some(2), "{flag} FIFO: {err}");
            assert!(err.contains("not a regular file"), "{flag} FIFO: {err}");
        }
    }
    let (code, _, err) = check(d, &["--write-baseline", "pkg.py", "normal.py"]);
    assert_eq!(code, Some(2), "--write-baseline DIR: {err}");
    assert!(err.contains("pkg.py"), "--write-baseline DIR: {err}");
    // A missing path is a usage error, and names the path.
    let (code, _, err) = check(d, &["nope dir/missing.py"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nope dir/missing.py"), "{err}");

    fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).unwrap();
}

#[test]
fn output_is_byte_identical_across_threads_and_runs() {
    let root = common::root();
    let mut outputs = Vec::new();
    for threads in ["1", "2", "8", "2"] {
        for format in ["json", "concise"] {
            let out = run(
                &root,
                &[
                    "check",
                    "--isolated",
                    "--select",
                    "ALL",
                    "--output-format",
                    format,
                    "--threads",
                    threads,
                    "fixtures",
                ],
            );
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
            assert!(!out.stdout.is_empty());
            outputs.push(((threads, format), out.stdout));
        }
    }
    let (first, rest) = outputs.split_at(2);
    for ((threads, format), bytes) in rest {
        let same = first.iter().find(|((_, f), _)| f == format).unwrap();
        assert!(
            *bytes == same.1,
            "--threads {threads} --output-format {format} differs from --threads 1"
        );
    }
}

/// Inputs that once crashed a fuzz target (`fuzz/regressions/`), linted with every rule: no
/// crash and no internal error (a caught panic is still a bug).
#[test]
fn fuzz_regressions_lint_cleanly() {
    let regressions = common::root().join("fuzz/regressions");
    let dir = tempfile::tempdir().unwrap();
    let mut count = 0;
    for entry in fs::read_dir(&regressions).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace('.', "_");
        fs::copy(&path, dir.path().join(format!("{name}.py"))).unwrap();
        count += 1;
    }
    assert!(
        count > 0,
        "fuzz/regressions holds no inputs: the regression test would check nothing"
    );
    let (code, text, err) = check(dir.path(), &["--isolated", "--select", "ALL", "."]);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    assert!(!text.contains("internal error"), "{text}");
}

/// Issue 15 watchdog: a rare deadlock (a lazily built project index whose build ran parallel
/// work inside the pool) hung one whole-corpus run in ~44. Fifty consecutive runs over every
/// fixture with 8 threads and no cache must each finish (a hung run is killed and fails the
/// test) and print the same findings.
#[test]
fn fifty_parallel_runs_over_the_fixtures_never_hang() {
    let root = common::root();
    let args = [
        "check",
        "--isolated",
        "--select",
        "ALL",
        "--no-cache",
        "--threads",
        "8",
        "--output-format",
        "concise",
        "fixtures",
    ];
    let mut first: Option<Vec<u8>> = None;
    for round in 0..50 {
        let out = run_within(&root, &args, Duration::from_secs(120));
        assert_eq!(
            out.status.code(),
            Some(1),
            "round {round}: {}",
            stderr(&out)
        );
        match &first {
            None => first = Some(out.stdout),
            Some(first) => assert!(*first == out.stdout, "round {round} printed other findings"),
        }
    }
}
