//! `dllint check --watch`: the real binary, real files, real file-system events.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// A `dllint check --watch` process whose standard output and error lines arrive on channels;
/// killed when dropped.
struct Watching {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    seen_out: Vec<String>,
    seen_err: Vec<String>,
}

impl Watching {
    fn start(dir: &Path, args: &[&str]) -> Watching {
        let mut child = Command::new(common::bin())
            .args(["check", "--watch", "--output-format", "concise"])
            .args(args)
            .current_dir(dir)
            .env_remove("DLLINT_NO_CACHE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dllint starts");
        let lines = |stream: Box<dyn std::io::Read + Send>| {
            let (sender, receiver) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
            receiver
        };
        let out = lines(Box::new(child.stdout.take().unwrap()));
        let err = lines(Box::new(child.stderr.take().unwrap()));
        Watching {
            child,
            out,
            err,
            seen_out: Vec::new(),
            seen_err: Vec::new(),
        }
    }

    /// Wait (at most 30 s) until the `n`-th "Watching for file changes." line: the `n`-th run
    /// has finished and printed everything.
    fn runs_done(&mut self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.runs() < n {
            while let Ok(line) = self.out.try_recv() {
                self.seen_out.push(line);
            }
            match self.err.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => self.seen_err.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!(
                        "dllint exited: {:?}\n{}",
                        self.child.try_wait(),
                        self.transcript()
                    )
                }
            }
            assert!(
                Instant::now() < deadline,
                "no {n}th run after 30 s:\n{}",
                self.transcript()
            );
        }
        // Standard output of the run is complete before its closing line on standard error.
        std::thread::sleep(Duration::from_millis(100));
        while let Ok(line) = self.out.try_recv() {
            self.seen_out.push(line);
        }
    }

    fn runs(&self) -> usize {
        self.seen_err
            .iter()
            .filter(|l| *l == "Watching for file changes.")
            .count()
    }

    /// Standard output since the previous call.
    fn take_out(&mut self) -> String {
        let text = self.seen_out.join("\n");
        self.seen_out.clear();
        text
    }

    fn transcript(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.seen_out.join("\n"),
            self.seen_err.join("\n")
        )
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Give the watcher time to see a change before the next one (events of two writes in a row
/// would make one run, which is what the debounce is for, but not what these tests count).
fn settle() {
    std::thread::sleep(Duration::from_millis(400));
}

#[test]
fn watch_relints_when_python_files_change_and_only_then() {
    let dir = common::project(&[(
        "train.py",
        "import pdb\n\ndef f(x):\n    pdb.set_trace()\n    return x\n",
    )]);
    let mut watch = Watching::start(dir.path(), &[]);
    watch.runs_done(1);
    let first = watch.take_out();
    assert!(
        first.contains("train.py:4:5: warning[DL305]"),
        "{}",
        watch.transcript()
    );
    assert!(watch.seen_err[0].ends_with("Starting linter in watch mode..."));

    // A file that cannot change the findings: no run.
    std::fs::write(dir.path().join("notes.txt"), "notes\n").unwrap();
    settle();
    // The debugger removed: a second run, with no finding.
    std::fs::write(dir.path().join("train.py"), "def f(x):\n    return x\n").unwrap();
    watch.runs_done(2);
    let second = watch.take_out();
    assert!(
        second.contains("All checks passed!"),
        "{}",
        watch.transcript()
    );
    assert!(
        watch
            .seen_err
            .iter()
            .any(|l| l.ends_with("File change detected...")),
        "{}",
        watch.transcript()
    );

    // A new file in a new directory is linted too.
    std::fs::create_dir(dir.path().join("pkg")).unwrap();
    settle();
    std::fs::write(dir.path().join("pkg/other.py"), "breakpoint()\n").unwrap();
    watch.runs_done(3);
    let third = watch.take_out();
    assert!(
        third.contains("pkg/other.py:1:1: warning[DL305]"),
        "{}",
        watch.transcript()
    );
    settle();
    assert_eq!(
        watch.runs(),
        3,
        "notes.txt, the cache and the new directory must not cause runs:\n{}",
        watch.transcript()
    );
}

#[test]
fn watch_reads_a_changed_configuration_and_survives_a_broken_one() {
    let dir = common::project(&[
        ("train.py", "breakpoint()\n"),
        ("dllint.toml", "ignore = []\n"),
    ]);
    let mut watch = Watching::start(dir.path(), &[]);
    watch.runs_done(1);
    assert!(watch.take_out().contains("DL305"), "{}", watch.transcript());

    std::fs::write(dir.path().join("dllint.toml"), "ignroe = []\n").unwrap();
    watch.runs_done(2);
    assert!(
        watch
            .seen_err
            .iter()
            .any(|l| l.starts_with("dllint: error:") && l.contains("ignroe")),
        "a broken configuration is reported and watched on:\n{}",
        watch.transcript()
    );
    settle();
    std::fs::write(dir.path().join("dllint.toml"), "ignore = [\"DL305\"]\n").unwrap();
    watch.runs_done(3);
    let out = watch.take_out();
    assert!(
        out.contains("All checks passed!") && !out.contains("DL305"),
        "{}",
        watch.transcript()
    );
}

#[test]
fn watch_refuses_standard_input_and_conflicting_modes() {
    let dir = common::project(&[("train.py", "x = 1\n")]);
    let out = common::run(dir.path(), &["check", "--watch", "-"], Some("x = 1\n"));
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("--watch cannot be used with `-`"));
    let out = common::run(dir.path(), &["check", "--watch", "--diff"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("--diff"),
        "{}",
        common::stderr(&out)
    );
}
