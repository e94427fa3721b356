//! Memory that follows what crosses files, not the code: after a run, what the project keeps
//! (each file's facts for the cross-file rules, and the findings) is measured by a counting
//! allocator — bytes, not wall time — and held to a budget per byte of source. Keeping a
//! file's text, tokens or syntax tree after its pass would break it several times over.
//!
//! One test in its own binary: the counter sees every allocation of the process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

use dllint::semantic::facts::{FileFacts, FunctionFacts};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
/// The most bytes live at once since it was last reset.
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(by: isize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grew(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes of facts and findings a run may keep per byte of source it read. Measured on the
/// fixtures at 2026-12-06: 9.25 when the report kept the text of every file with findings, 8.48
/// without it, 7.00 with the facts' lists as `ThinVec`s and their names as `CompactString`s,
/// 6.37 with loss evidence pointing at the scope's calls and a scope's loss facts boxed (the
/// facts as the cache encodes them would take 0.80), 6.10 with names interned (on the
/// benchmark corpus, where names repeat across files: 1.09 before, 0.87 after; the interned
/// texts are counted, as they stay allocated). The budget leaves room for new facts and
/// catches the lists going back to `Vec`s (8.5 measured); a syntax tree kept per file would
/// add several times the source again.
const BUDGET_PER_SOURCE_BYTE: f64 = 7.0;

/// A project of large files that are mostly prose (few facts), each with a finding: at no
/// moment may the run hold every file's text, nor the text of every file with findings (the
/// outputs read a file's text when they render it).
fn texts_are_held_one_file_at_a_time(resolver: &dllint::config::Resolver, cwd: &std::path::Path) {
    let dir = tempfile::tempdir().unwrap();
    let prose: String = (0..4000)
        .map(|i| format!("# note {i}: the reasons for this design are given in the paper\n"))
        .collect();
    let mut inputs = Vec::new();
    let mut source_bytes = 0;
    for i in 0..40 {
        let path = dir.path().join(format!("notes_{i}.py"));
        let text = format!("{prose}breakpoint()\n");
        source_bytes += text.len() as isize;
        std::fs::write(&path, text).unwrap();
        inputs.push(dllint::engine::Input {
            settings: resolver.settings_for_file(&path).unwrap(),
            path,
            text: None,
        });
    }
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let project = dllint::engine::run(inputs, Some(1), cwd, resolver);
    let peak = PEAK.load(Ordering::SeqCst) - before;
    assert_eq!(
        project.report.diagnostic_count(),
        40,
        "each file has its finding"
    );
    eprintln!(
        "memory: 40 files of prose, {source_bytes} source bytes: at most {peak} bytes live at once"
    );
    assert!(
        peak < source_bytes / 4,
        "{peak} bytes were live at once for {source_bytes} bytes of source: the texts of all \
         files (or of all files with findings) are held at once"
    );
    drop(project);
}

/// Bytes a run keeps for a project of 40 files that each call an imported project function 50
/// times, the function named with `stem` repeated `repeat` times.
fn kept_for_names(
    resolver: &dllint::config::Resolver,
    cwd: &std::path::Path,
    stem: &str,
    repeat: usize,
) -> (isize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let long = stem.repeat(repeat);
    let package = dir.path().join("proj");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(package.join("__init__.py"), "").unwrap();
    std::fs::write(
        package.join("helpers.py"),
        format!("def compute_{long}(x):\n    return x\n"),
    )
    .unwrap();
    let mut inputs = Vec::new();
    let mut calls = 0;
    for i in 0..40 {
        let body: String = (0..50)
            .map(|_| format!("    x = compute_{long}(x)\n"))
            .collect();
        calls += 50;
        let path = package.join(format!("step_{i}.py"));
        std::fs::write(
            &path,
            format!(
                "from proj.helpers import compute_{long}\n\n\ndef step(x):\n{body}    return x\n"
            ),
        )
        .unwrap();
        inputs.push(path);
    }
    inputs.push(package.join("helpers.py"));
    let inputs = inputs
        .into_iter()
        .map(|path| dllint::engine::Input {
            settings: resolver.settings_for_file(&path).unwrap(),
            path,
            text: None,
        })
        .collect();
    let before = LIVE.load(Ordering::SeqCst);
    let project = dllint::engine::run(inputs, Some(1), cwd, resolver);
    let kept = LIVE.load(Ordering::SeqCst) - before;
    drop(project);
    (kept, calls)
}

/// A name used many times is stored once: 2,000 calls of one imported function cost about the
/// same whether its name is 12 or 1,108 characters long. Stored per use, as before names were
/// interned, the long name would add its 1,100 more characters to every call's facts. What may
/// grow is per file: each file's list of the names it reads (`UsageFacts::names`) holds the
/// name once (40 files × 1,100 bytes, 22 bytes per call here).
fn repeated_names_are_stored_once(resolver: &dllint::config::Resolver, cwd: &std::path::Path) {
    // Interned once in a run before either measure, so that neither pays for the texts.
    kept_for_names(resolver, cwd, "name", 1);
    kept_for_names(resolver, cwd, "a_long_name", 100);
    let (short, calls) = kept_for_names(resolver, cwd, "name", 1);
    let (long, _) = kept_for_names(resolver, cwd, "a_long_name", 100);
    let extra_per_call = (long - short) as f64 / calls as f64;
    eprintln!(
        "memory: {calls} calls of one function: {short} bytes kept with a 4-character stem, \
         {long} with a 1,100-character one ({extra_per_call:.1} bytes more per call)"
    );
    assert!(
        extra_per_call < 100.0,
        "a 1,100-character name costs {extra_per_call:.1} more bytes per use than a short one: \
         names are stored per use, not interned"
    );
}

#[test]
fn a_run_keeps_facts_and_findings_not_the_code() {
    // `DLLINT_MEMORY_CORPUS=DIR` measures another tree (printed, e.g. the benchmark corpus:
    // `cargo test --release --test memory -- --nocapture`); the budget holds for the fixtures.
    let corpus = std::env::var_os("DLLINT_MEMORY_CORPUS").map(PathBuf::from);
    let root = corpus
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures"));
    let cwd = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let resolver = Arc::new(
        dllint::config::Resolver::new(cwd.clone(), None, true, Default::default()).unwrap(),
    );
    texts_are_held_one_file_at_a_time(&resolver, &cwd);
    repeated_names_are_stored_once(&resolver, &cwd);
    let discovered = dllint::discovery::discover(&[root], &resolver, false).unwrap();
    let source_bytes: u64 = discovered
        .files
        .iter()
        .map(|f| std::fs::metadata(&f.path).map_or(0, |m| m.len()))
        .sum();
    let inputs: Vec<dllint::engine::Input> = discovered
        .files
        .iter()
        .map(|f| dllint::engine::Input {
            path: f.path.clone(),
            settings: f.settings.clone(),
            text: None,
        })
        .collect();
    let files = inputs.len();
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let project = dllint::engine::run(inputs, Some(1), &cwd, &resolver);
    let kept = LIVE.load(Ordering::SeqCst) - before;
    let peak = PEAK.load(Ordering::SeqCst) - before;
    let findings = project.report.diagnostic_count();
    let per_byte = kept as f64 / source_bytes as f64;
    let peak_per_byte = peak as f64 / source_bytes as f64;
    eprintln!(
        "memory: {files} files, {source_bytes} source bytes, {findings} findings: the run keeps \
         {kept} bytes = {per_byte:.2} per source byte (budget {BUDGET_PER_SOURCE_BYTE}); at most \
         {peak} bytes = {peak_per_byte:.2} per source byte were live at once"
    );
    assert!(
        project
            .index
            .all_files()
            .iter()
            .all(|f| f.text.is_none() && f.tree.is_none()),
        "files read from disk keep no text and no syntax tree after their pass"
    );
    assert!(
        project
            .report
            .files
            .iter()
            .all(|f| matches!(f.text, dllint::diagnostic::ReportText::OnDisk)),
        "a report of files on disk keeps no text: outputs read it as they render each file"
    );
    assert!(
        corpus.is_some() || per_byte <= BUDGET_PER_SOURCE_BYTE,
        "the run keeps {per_byte:.2} bytes per source byte, over the budget of \
         {BUDGET_PER_SOURCE_BYTE}: is a text, token list or tree kept after its file's pass?"
    );
    let dllint::engine::Project { index, report, .. } = project;
    let with_report = LIVE.load(Ordering::SeqCst);
    drop(report);
    let facts = LIVE.load(Ordering::SeqCst) - before;
    let encoded: usize = index
        .all_files()
        .iter()
        .map(|f| postcard::to_allocvec(&f.facts).map_or(0, |v| v.len()))
        .sum();
    // Where the facts' bytes go, for whoever works on this next: each part cloned (exact
    // capacities) and measured with the same counter.
    let measure = |label: &str, part: &dyn Fn(&FileFacts) -> Box<dyn std::any::Any>| {
        let start = LIVE.load(Ordering::SeqCst);
        let copies: Vec<_> = index
            .all_files()
            .iter()
            .map(|file| part(&file.facts))
            .collect();
        let bytes = LIVE.load(Ordering::SeqCst) - start;
        drop(copies);
        format!("{label} {bytes}")
    };
    let scopes = |f: &FileFacts| f.scopes().map(|(_, s)| s.clone()).collect::<Vec<_>>();
    let parts = [
        measure("all", &|f| Box::new(f.clone())),
        measure("functions", &|f| Box::new(f.functions.clone())),
        measure("scopes", &|f| Box::new(scopes(f))),
        measure("classes", &|f| Box::new(f.classes.clone())),
        measure("usage", &|f| Box::new(f.usage.clone())),
        measure("imports", &|f| Box::new(f.imports.clone())),
        measure("flow", &|f| {
            Box::new(f.scopes().map(|(_, s)| s.flow.clone()).collect::<Vec<_>>())
        }),
        measure("project calls", &|f| {
            Box::new(
                f.scopes()
                    .map(|(_, s)| s.project_calls.clone())
                    .collect::<Vec<_>>(),
            )
        }),
        measure("self calls", &|f| {
            Box::new(
                f.scopes()
                    .map(|(_, s)| s.self_calls.clone())
                    .collect::<Vec<_>>(),
            )
        }),
        measure("shapes", &|f| {
            Box::new(
                f.functions
                    .iter()
                    .map(|g| g.shapes.clone())
                    .collect::<Vec<_>>(),
            )
        }),
    ];
    let functions: usize = index
        .all_files()
        .iter()
        .map(|f| f.facts.functions.len())
        .sum();
    eprintln!(
        "memory: facts cloned: {} ({functions} functions of {} bytes, scopes of {} bytes inline)",
        parts.join(", "),
        std::mem::size_of::<FunctionFacts>(),
        std::mem::size_of::<dllint::semantic::facts::ScopeFacts>(),
    );
    eprintln!(
        "memory: report {} bytes, index {} bytes (facts encoded: {encoded} bytes)",
        with_report - before - facts,
        facts
    );
    drop(index);
}
