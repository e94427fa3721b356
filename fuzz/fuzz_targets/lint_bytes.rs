//! Bytes as a Python file: decode → parse → facts → every rule → project rules → every
//! renderer. Seeds: `fuzz/seed.sh` copies the fixtures into `corpus/lint_bytes`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let cwd = std::env::temp_dir().join("dllint-fuzz");
    let path = cwd.join("input.py");
    let report = match dllint::source::decode(data.to_vec()) {
        Ok(text) => dllint::engine::lint_text(
            &path,
            text,
            &common::settings(&cwd),
            &cwd,
            common::resolver(&cwd),
        ),
        Err(error) => dllint::engine::read_failure_report(
            &path,
            &dllint::source::ReadError::Decode(error),
            &cwd,
        ),
    };
    common::render_all(&report);
});
