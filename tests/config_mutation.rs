//! Configuration files mutated at random (seeded, so every run tests the same cases): dropped
//! and renamed keys, values of the wrong type, broken TOML, unknown rule options, flipped
//! bytes. Every case must end in success or in a clear error that names the file and the key
//! (or the TOML syntax problem) — never a panic. Thousands of cases run in-process through the
//! configuration API; a sample goes through the binary for the exit code (2) and the message.

mod common;

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use dllint::config::{Overrides, Settings, load_config_file};

const DLLINT_TOML: &str = r#"select = ["DL1", "DL2", "DL305"]
extend-select = ["DL301"]
ignore = ["DL104"]
exclude = ["build", "vendor/**"]
extend-exclude = ["legacy"]
src = ["src", "."]

[per-file-ignores]
"tests/*" = ["DL305"]
"scripts/**/*.py" = ["DL1", "DL3"]

[knowledge]
model-bases = ["mylib.BaseModel"]
loss-functions = ["mylib.losses.*"]
optimizers = ["mylib.optim.Lion"]

[god-file]
max-lines = 1200
"#;

/// Values of every TOML type, and some valid-looking but wrong ones.
const VALUES: &[&str] = &[
    "1",
    "-1",
    "0",
    "18446744073709551616",
    "0x10",
    "1.5",
    "nan",
    "true",
    "\"DL305\"",
    "\"\"",
    "\"[\"",
    "\"**/[\"",
    "[]",
    "[1, 2]",
    "[\"DL999\"]",
    "[\"ALL\"]",
    "[\"DL\"]",
    "[\"\"]",
    "[\"[invalid\"]",
    "[[\"nested\"]]",
    "{}",
    "{ a = 1 }",
    "1979-05-27T07:32:00Z",
    "'''multi\nline'''",
];

const JUNK: &[&str] = &[
    "[", "]", "=", "\"", "'", "{", "}", ",", "#", "\n", "[[", "]]", ".", "\\", "\u{e9}", "\0",
    "[tool]", "[a.b]", "x =", "= 1",
];

/// xorshift64*: small, seeded, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// One random mutation of the configuration bytes.
fn mutate(rng: &mut Rng, text: &[u8]) -> Vec<u8> {
    let owned = String::from_utf8_lossy(text).into_owned();
    let mut lines: Vec<String> = owned.lines().map(str::to_string).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let i = rng.below(lines.len());
    match rng.below(9) {
        // Drop a line (a key, a table header, a list item).
        0 => {
            lines.remove(i);
        }
        // Rename a key: change, insert or delete one character before the `=`.
        1 => {
            let line = &lines[i];
            if let Some(eq) = line.find('=').filter(|&eq| eq > 0) {
                let at = rng.below(eq);
                let mut key: Vec<char> = line[..eq].chars().collect();
                let at = at.min(key.len().saturating_sub(1));
                let c = *["x", "_", "-", "s", "."]
                    .get(rng.below(5))
                    .unwrap()
                    .as_bytes()
                    .first()
                    .unwrap() as char;
                match rng.below(3) {
                    0 if !key.is_empty() => key[at] = c,
                    1 => key.insert(at, c),
                    _ if key.len() > 1 => {
                        key.remove(at);
                    }
                    _ => {}
                }
                lines[i] = format!("{}{}", key.into_iter().collect::<String>(), &line[eq..]);
            }
        }
        // A value of the wrong type.
        2 | 3 => {
            let line = &lines[i];
            if let Some(eq) = line.find('=') {
                lines[i] = format!("{}= {}", &line[..eq], rng.pick(VALUES));
            }
        }
        // Invalid TOML: junk inserted somewhere.
        4 => {
            let line = &lines[i];
            let mut at = rng.below(line.len() + 1);
            while !line.is_char_boundary(at) {
                at -= 1;
            }
            lines[i] = format!("{}{}{}", &line[..at], rng.pick(JUNK), &line[at..]);
        }
        // A duplicated line (duplicate keys or tables are invalid TOML).
        5 => {
            let copy = lines[i].clone();
            lines.insert(i, copy);
        }
        // An unknown option in a rule table, or an option of a rule that has none.
        6 => {
            let table = rng.pick(&["god-file", "debug-leftover", "not-a-rule", "knowledge"]);
            let key = rng.pick(&["max-lines", "max-line", "enabled", "threshold"]);
            let value = rng.pick(VALUES);
            lines.push(format!("[{table}]\n{key} = {value}"));
        }
        // Truncate.
        7 => lines.truncate(i),
        // Flip a byte (may leave invalid UTF-8).
        _ => {
            let mut bytes = lines.join("\n").into_bytes();
            if !bytes.is_empty() {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
            return bytes;
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

fn as_pyproject(text: &str) -> String {
    let mut out = String::from("[project]\nname = \"demo\"\n\n[tool.dllint]\n");
    for line in text.lines() {
        match line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            Some(table) if !line.starts_with("[[") => {
                out.push_str(&format!("[tool.dllint.{table}]\n"))
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Load and resolve one configuration file; returns the error message, if any.
fn load(path: &Path) -> Result<(), String> {
    let file = load_config_file(path).map_err(|e| e.to_string())?;
    let root = path.parent().unwrap().to_path_buf();
    let settings = Settings::resolve(root.clone(), Some(&file), &Overrides::default())
        .map_err(|e| e.to_string())?;
    // Use what was resolved, as a run would.
    let _ = settings.rules_for(&root.join("tests/test_x.py"));
    let _ = settings.is_excluded(&root.join("vendor/a.py"));
    Ok(())
}

/// A clear error: names the file, and either quotes the offending key (`...`) or says what is
/// wrong with the file as a whole.
fn assert_clear(message: &str, path: &Path, text: &[u8]) {
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        message.contains(name),
        "error does not name the file:\n{message}\n--- config:\n{}",
        String::from_utf8_lossy(text)
    );
    let explained = message.contains('`')
        || message.contains("TOML syntax error")
        || message.contains("UTF-8")
        || message.contains("no [tool.dllint] table");
    assert!(
        explained,
        "error names no key and no syntax problem:\n{message}\n--- config:\n{}",
        String::from_utf8_lossy(text)
    );
}

fn cases(seed: u64, count: usize) -> Vec<(bool, Vec<u8>)> {
    let mut rng = Rng(seed);
    let pyproject = as_pyproject(DLLINT_TOML);
    (0..count)
        .map(|_| {
            let is_pyproject = rng.below(2) == 1;
            let mut text = if is_pyproject {
                pyproject.clone().into_bytes()
            } else {
                DLLINT_TOML.as_bytes().to_vec()
            };
            for _ in 0..=rng.below(3) {
                text = mutate(&mut rng, &text);
            }
            (is_pyproject, text)
        })
        .collect()
}

#[test]
fn the_base_configurations_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("dllint.toml", DLLINT_TOML.to_string()),
        ("pyproject.toml", as_pyproject(DLLINT_TOML)),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn mutated_configurations_fail_clearly_or_load() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ok, mut failed) = (0, 0);
    for (i, (is_pyproject, text)) in cases(0x5EED_C0F1, 3_000).into_iter().enumerate() {
        let name = if is_pyproject {
            "pyproject.toml"
        } else {
            "dllint.toml"
        };
        let case_dir = dir.path().join(format!("case{}", i % 2));
        fs::create_dir_all(&case_dir).unwrap();
        let path = case_dir.join(name);
        fs::write(&path, &text).unwrap();
        match catch_unwind(AssertUnwindSafe(|| load(&path))) {
            Ok(Ok(())) => ok += 1,
            Ok(Err(message)) => {
                assert_clear(&message, &path, &text);
                failed += 1;
            }
            Err(_) => panic!(
                "case {i}: loading panicked on:\n{}",
                String::from_utf8_lossy(&text)
            ),
        }
        fs::remove_file(&path).unwrap();
    }
    // The mutations reach both outcomes in quantity.
    assert!(ok > 100 && failed > 1_000, "ok {ok}, failed {failed}");
}

#[test]
fn mutated_configurations_through_the_binary() {
    const DIRTY: &str = "import pdb\n";
    let (mut ok, mut failed) = (0, 0);
    for (i, (is_pyproject, text)) in cases(0xB1_4A2F, 12).into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let name = if is_pyproject {
            "pyproject.toml"
        } else {
            "dllint.toml"
        };
        fs::write(dir.path().join(name), &text).unwrap();
        fs::write(dir.path().join("train.py"), DIRTY).unwrap();
        let out = common::run(dir.path(), &["check", "-q", "train.py"], None);
        let err = common::stderr(&out);
        let config = String::from_utf8_lossy(&text);
        assert!(
            !err.contains("panicked"),
            "case {i} panicked:\n{err}\n{config}"
        );
        match out.status.code() {
            Some(0 | 1) => ok += 1,
            Some(2) => {
                assert!(
                    err.starts_with("dllint: error: invalid configuration in "),
                    "case {i}:\n{err}\n{config}"
                );
                assert_clear(&err, &dir.path().join(name), &text);
                failed += 1;
            }
            other => panic!("case {i}: exit {other:?}\n{err}\n{config}"),
        }
    }
    assert!(failed > 0, "ok {ok}, failed {failed}");
}
