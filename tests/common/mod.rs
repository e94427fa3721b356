//! Helpers shared by the integration tests: running the real binary, golden files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary project with these files (`path`, `text`); directories are created as needed.
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dllint"))
}

/// Run `dllint` with `args` in `cwd`, feeding `stdin`.
/// `dllint check --isolated --no-cache --output-format concise PATH` from the repository root:
/// its standard output (positions as `check` gives them, for comparing with `map`/`survey`).
#[allow(dead_code)]
pub fn check_concise(path: &str) -> String {
    let args = [
        "check",
        "--isolated",
        "--no-cache",
        "--output-format",
        "concise",
        path,
    ];
    stdout(&run(&root(), &args, None))
}

pub fn run(cwd: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dllint binary runs");
    if let Some(input) = stdin {
        // A command that refuses standard input (`check --watch -`) may exit before reading
        // it: the write then fails with a broken pipe, and what the command printed and its
        // exit status are still the result to check.
        if let Err(e) = child.stdin.take().unwrap().write_all(input.as_bytes())
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            panic!("writing dllint's standard input: {e}");
        }
    }
    child.wait_with_output().expect("dllint finishes")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Compare `actual` with the golden file; `UPDATE_SNAPSHOTS=1` rewrites it instead.
pub fn assert_golden(path: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        return Ok(());
    }
    let expected = std::fs::read_to_string(path).map_err(|_| {
        format!(
            "missing snapshot {}; run with UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    })?;
    if expected != actual {
        return Err(format!(
            "snapshot {} differs (UPDATE_SNAPSHOTS=1 to accept):\n{}",
            path.display(),
            line_diff(&expected, actual)
        ));
    }
    Ok(())
}

fn line_diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    let mut shown = 0;
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => {}
            _ if shown >= 12 => {
                out.push_str("... (more differences)\n");
                break;
            }
            (x, y) => {
                shown += 1;
                out.push_str(&format!(
                    "line {}:\n  - {}\n  + {}\n",
                    i + 1,
                    x.unwrap_or(&"<none>"),
                    y.unwrap_or(&"<none>")
                ));
            }
        }
    }
    out
}

/// Parse `# error: DL101, DL102` markers: 1-based line → codes (sorted).
pub fn expected_markers(text: &str) -> std::collections::BTreeMap<usize, Vec<String>> {
    let mut expected = std::collections::BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(pos) = line.find("# error:") {
            let mut codes: Vec<String> = line[pos + "# error:".len()..]
                .split(',')
                .filter_map(|c| c.split_whitespace().next().map(str::to_string))
                .collect();
            codes.sort();
            expected.insert(i + 1, codes);
        }
    }
    expected
}

/// Compare markers with actual findings (line → codes); returns the differences.
pub fn marker_problems(
    name: &str,
    expected: &std::collections::BTreeMap<usize, Vec<String>>,
    actual: &std::collections::BTreeMap<usize, Vec<String>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (line, codes) in expected {
        if actual.get(line) != Some(codes) {
            problems.push(format!(
                "{name}:{line}: expected {codes:?}, found {:?}",
                actual.get(line)
            ));
        }
    }
    for (line, codes) in actual {
        if !expected.contains_key(line) {
            problems.push(format!("{name}:{line}: unexpected {codes:?}"));
        }
    }
    problems
}

/// The target directory the tests were built in (`target/` or `$CARGO_TARGET_DIR`): the
/// binary is `<target>/<profile>/dllint`.
pub fn target_dir() -> PathBuf {
    bin()
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root().join("target"))
}

fn imports(python: &Path, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A Python interpreter on `PATH` (`python3`, else `python`) that can import `module`.
pub fn python_importing(module: &str) -> Option<PathBuf> {
    ["python3", "python"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| imports(p, module))
}

static VENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A Python interpreter that can import `module`: the one on `PATH` if it can, else the test
/// virtual environment under the target directory, where `requirement` is pip-installed on
/// first use. Err says what is missing (no Python, no pip, no network to PyPI).
pub fn python_with(module: &str, requirement: &str) -> Result<PathBuf, String> {
    if let Some(python) = python_importing(module) {
        return Ok(python);
    }
    let _guard = VENV.lock().unwrap_or_else(|e| e.into_inner());
    let venv = target_dir().join("test-python");
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    if imports(&python, module) {
        return Ok(python);
    }
    let base = python_importing("venv")
        .ok_or("no Python 3 interpreter (`python3`) on PATH with the `venv` module")?;
    if !python.exists() {
        let made = Command::new(&base)
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", base.display()))?;
        if !made.status.success() {
            return Err(format!(
                "`{} -m venv {}` failed: {}",
                base.display(),
                venv.display(),
                stderr(&made)
            ));
        }
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg(requirement)
        .output()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !installed.status.success() || !imports(&python, module) {
        return Err(format!(
            "`pip install {requirement}` into {} failed (pip or PyPI unavailable?): {}",
            venv.display(),
            stderr(&installed)
        ));
    }
    Ok(python)
}

/// Whether tests run in CI (`CI` set), where every external consumer must be available.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Report a skipped test on the real standard error: `eprintln!` in a passing test is captured
/// by the test harness and never shown, so a skip would look like a pass.
pub fn skipped(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {message}");
}

/// The concise findings of one rule over a project directory (`check --select RULE
/// --output-format concise -q .`); the run must not fail with an error (exit 2).
pub fn concise_findings(dir: &Path, rule: &str) -> String {
    let out = run(
        dir,
        &[
            "check",
            "--select",
            rule,
            "--output-format",
            "concise",
            "-q",
            ".",
        ],
        None,
    );
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    stdout(&out)
}

/// One `#[test]` per name, called exactly the name (`DL501_keras`, `cifar_trainer`), so that
/// `cargo test DL501` runs only the tests whose name contains `DL501`; each runs `$check(name)`.
/// Also `const $list: &[&str]` with every name, for the tests that compare the list with the
/// files on disk (a file nobody listed would otherwise go untested).
#[allow(unused_macros)]
macro_rules! test_per_name {
    ($list:ident, $check:path; $($name:ident),+ $(,)?) => {
        const $list: &[&str] = &[$(stringify!($name)),+];
        $(
            #[test]
            #[allow(non_snake_case)]
            fn $name() {
                $check(stringify!($name));
            }
        )+
    };
}
#[allow(unused_imports)]
pub(crate) use test_per_name;

/// The names found on disk that a `test_per_name!` list leaves out (they would go untested).
pub fn unlisted(listed: &[&str], on_disk: &[String]) -> Vec<String> {
    on_disk
        .iter()
        .filter(|name| !listed.contains(&name.as_str()))
        .cloned()
        .collect()
}

/// The names of a `test_per_name!` list that are not found on disk.
pub fn not_on_disk(listed: &[&str], on_disk: &[String]) -> Vec<String> {
    listed
        .iter()
        .filter(|name| !on_disk.iter().any(|n| n == *name))
        .map(|name| name.to_string())
        .collect()
}
