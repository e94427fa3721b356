//! The parse-only floor for benchmarks: walk the paths like `dllint check` (same `ignore`
//! walker, same default excludes), read and parse every Python file in parallel with the same
//! parser, run no rules. `dllint check` cannot be faster than this.
//!
//! `cargo run --release --example parse_floor -- PATH...`

use std::path::PathBuf;

use rayon::prelude::*;

/// The same allocator as `dllint`, so the floor is comparable.
#[cfg(all(not(target_env = "msvc"), not(target_os = "windows")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
use ruff_python_ast::PySourceType;
use ruff_python_parser::parse_unchecked_source;

fn main() {
    let paths: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let mut files = Vec::new();
    for path in &paths {
        for entry in ignore::WalkBuilder::new(path)
            .require_git(false)
            .build()
            .flatten()
        {
            let p = entry.path();
            if entry.file_type().is_some_and(|t| t.is_file())
                && p.extension().is_some_and(|e| e == "py" || e == "pyi")
            {
                files.push(p.to_path_buf());
            }
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(16 << 20)
        .build()
        .expect("thread pool");
    let (parsed, errors): (usize, usize) = pool.install(|| {
        files
            .par_iter()
            .map(|path| {
                let Ok(text) = std::fs::read_to_string(path) else {
                    return (0, 0);
                };
                let parsed = parse_unchecked_source(&text, PySourceType::from(path.as_path()));
                (1, usize::from(!parsed.errors().is_empty()))
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    println!("{} files parsed, {} with syntax errors", parsed, errors);
}
