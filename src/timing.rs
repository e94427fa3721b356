//! `DLLINT_TIMING=1`: when each phase of a `check` ended, in seconds since the command
//! started, on stderr (`dllint timing: roles: 0.412s`). For measuring, not for parsing: only
//! the names of the lines are stable.

use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Instant> = OnceLock::new();

/// Start the clock (the first call wins): the command calls it first thing.
pub fn start() {
    START.get_or_init(Instant::now);
}

/// True if `DLLINT_TIMING` is set.
pub fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("DLLINT_TIMING").is_some())
}

/// Print that `what` ended now, if timing is enabled.
pub fn lap(what: &str) {
    if enabled() {
        let start = START.get_or_init(Instant::now);
        eprintln!(
            "dllint timing: {what}: {:.3}s",
            start.elapsed().as_secs_f64()
        );
    }
}
