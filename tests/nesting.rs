//! Issue 15: no blocking one-time initialisation may run parallel work from inside the thread
//! pool. The project-wide indexes (DL304's option index, DL306's reference index, the
//! instance-flow index) are built on first use behind a `OnceLock`; when that build ran a rayon
//! loop, the building worker, waiting for a part of its loop that another worker had stolen,
//! could itself steal a job that needed the same index, and wait on itself forever.
//!
//! This test puts the pattern under load: many fresh indexes, each asked for by every job of
//! a parallel loop whose jobs arrive at staggered times (so that some workers are stealing
//! while one builds). It runs under a timeout: a hang fails the test instead of hanging it.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dllint::config::{Overrides, Resolver};
use dllint::engine::{self, Input};
use dllint::semantic::index::{ProjectFile, ProjectIndex};
use dllint::semantic::roles::Roles;
use rayon::prelude::*;

/// Every fixture file: the DL304 fixtures declare options, so the option index has work.
fn files() -> Vec<ProjectFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let resolver = Resolver::new(root.to_path_buf(), None, true, Overrides::default()).unwrap();
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(root.join("fixtures")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "py") {
            inputs.push(Input {
                settings: resolver.settings_for(&path).unwrap(),
                path,
                text: None,
            });
        }
    }
    inputs.sort_by(|a, b| a.path.cmp(&b.path));
    engine::run(inputs, Some(1), root, &resolver)
        .index
        .into_files()
}

fn copy(files: &[ProjectFile], copies: usize) -> Vec<ProjectFile> {
    let mut out = Vec::new();
    for i in 0..copies {
        for f in files {
            out.push(ProjectFile {
                path: f.path.clone(),
                absolute: f.absolute.with_file_name(format!(
                    "copy{i}_{}",
                    f.absolute.file_name().unwrap().to_string_lossy()
                )),
                facts: f.facts.clone(),
                scope: f.scope.clone(),
                teaching: f.teaching,
                linted: f.linted,
                text: None,
                tree: None,
            });
        }
    }
    out
}

/// Busy work of `n` units, so that the jobs of the outer loop reach the index at different
/// times.
fn spin(n: u64) -> u64 {
    (0..n * 200).fold(n, |acc, x| acc.wrapping_mul(31).wrapping_add(x))
}

#[test]
fn lazy_project_indexes_never_wait_on_themselves() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let files = files();
    let rounds = Arc::new(AtomicUsize::new(0));
    let progress = rounds.clone();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(8)
            .stack_size(engine::WORKER_STACK)
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let index = ProjectIndex::new(copy(&files, 4));
            let roles = Roles::compute(&index);
            pool.install(|| {
                (0..256u64).into_par_iter().for_each(|i| {
                    std::hint::black_box(spin(i % 17));
                    let _ = index.config();
                    let _ = index.references(&roles);
                    let _ = index.instance_args();
                });
            });
            progress.fetch_add(1, Ordering::Relaxed);
        }
        let _ = done.send(());
    });
    // A round takes milliseconds: one that makes no progress for 30 s is a deadlock.
    let mut last = (0, Instant::now());
    loop {
        match finished.recv_timeout(Duration::from_millis(200)) {
            Ok(()) => break,
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the stress thread panicked"),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let now = rounds.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(30) {
            panic!(
                "a lazily built project index deadlocked after {now} rounds: a worker building \
                 it waited on itself"
            );
        }
    }
    assert!(rounds.load(Ordering::Relaxed) > 0);
}
