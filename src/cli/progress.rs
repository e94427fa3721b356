//! A progress line on standard error while a run takes longer than a second: `dllint: 340/1200
//! files` as files are analysed, then `dllint: cross-file analysis`. Only when standard error
//! is a terminal (never in a pipe, a file or CI logs, never on standard output), and erased
//! before anything else is printed.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::engine::progress::{self, Phase};

/// How long a run goes before the line appears.
const DELAY: Duration = Duration::from_secs(1);
/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// The progress display of a run: erased and stopped when dropped (or with [`Progress::stop`]).
pub struct Progress {
    stop: Arc<AtomicBool>,
    /// The line was drawn: it must be erased.
    drawn: Arc<Mutex<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// No display.
    pub fn idle() -> Progress {
        Progress {
            stop: Arc::new(AtomicBool::new(true)),
            drawn: Arc::new(Mutex::new(false)),
            thread: None,
        }
    }

    /// Start the display if it is wanted: standard error is a terminal, the run is not
    /// `--quiet`, and `DLLINT_TIMING` does not print its own lines. `DLLINT_PROGRESS_DELAY_MS`
    /// sets the delay (for tests: `0` draws at once).
    pub fn start(quiet: bool) -> Progress {
        let mut progress = Progress::idle();
        progress.stop.store(false, Ordering::Relaxed);
        let wanted = !quiet
            && std::io::stderr().is_terminal()
            && std::env::var_os("DLLINT_TIMING").is_none()
            && std::env::var("TERM").map_or(true, |term| term != "dumb");
        if !wanted {
            return progress;
        }
        let delay = std::env::var("DLLINT_PROGRESS_DELAY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(DELAY, Duration::from_millis);
        if delay.is_zero() {
            draw(&progress.drawn);
        }
        let (stop, drawn) = (progress.stop.clone(), progress.drawn.clone());
        let started = Instant::now();
        progress.thread = std::thread::Builder::new()
            .name("dllint-progress".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if started.elapsed() >= delay {
                        draw(&drawn);
                    }
                    std::thread::park_timeout(TICK);
                }
            })
            .ok();
        progress
    }

    /// Stop and erase the line (before the report or any message is printed).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
        let mut drawn = self.drawn.lock().unwrap_or_else(|e| e.into_inner());
        if *drawn {
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(b"\r\x1b[2K");
            let _ = stderr.flush();
            *drawn = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Draw the current state over the line.
fn draw(drawn: &Mutex<bool>) {
    let line = match progress::snapshot() {
        (Phase::Files, done, total) => format!(
            "dllint: {done}/{total} file{}",
            if total == 1 { "" } else { "s" }
        ),
        (Phase::Project, ..) => "dllint: cross-file analysis".to_string(),
        (Phase::Idle, ..) => "dllint: working".to_string(),
    };
    let mut drawn = drawn.lock().unwrap_or_else(|e| e.into_inner());
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "\r\x1b[2K{line}");
    let _ = stderr.flush();
    *drawn = true;
}
