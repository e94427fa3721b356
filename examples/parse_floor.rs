//! The parse-only floor for benchmarks: the same file discovery as `dllint check --isolated`
//! (`dllint::discovery`, same excludes), the same reader (`dllint::source::read_file`), the same
//! parser call and the same thread pool (stack size, `--threads`), and no rules, facts or
//! output. `dllint check` cannot be faster than this.
//!
//! `cargo run --release --example parse_floor -- [--threads N] PATH...`

use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;
use ruff_python_ast::PySourceType;
use ruff_python_parser::parse_unchecked_source;

/// The same allocator as `dllint`, so the floor is comparable.
#[cfg(all(not(target_env = "msvc"), not(target_os = "windows")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let mut threads = None;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--threads" {
            threads = args.next().and_then(|n| n.parse::<usize>().ok());
        } else {
            paths.push(PathBuf::from(arg));
        }
    }
    if paths.is_empty() {
        paths.push(PathBuf::from("."));
    }
    let cwd = std::env::current_dir().expect("working directory");
    let resolver = dllint::config::Resolver::new(cwd, None, true, Default::default())
        .expect("default settings");
    let files = dllint::discovery::discover(&paths, &Arc::new(resolver), false)
        .unwrap_or_else(|e| panic!("{e}"))
        .files;
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(dllint::engine::WORKER_STACK);
    if let Some(threads) = threads {
        pool = pool.num_threads(threads.max(1));
    }
    let pool = pool.build().expect("thread pool");
    let (parsed, errors): (usize, usize) = pool.install(|| {
        files
            .par_iter()
            .map(|file| {
                let Ok(text) = dllint::source::read_file(&file.path) else {
                    return (0, 0);
                };
                let parsed = parse_unchecked_source(&text, PySourceType::from(file.path.as_path()));
                let has_errors = parsed.has_syntax_errors();
                if dllint::semantic::parse::is_too_deep(&parsed) {
                    // As dllint does: dropping a pathological tree would overflow the stack.
                    std::mem::forget(parsed);
                }
                (1, usize::from(has_errors))
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    println!("{parsed} files parsed, {errors} with syntax errors");
}
