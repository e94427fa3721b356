//! Several files of one package, split from the input at lines `#---`: exercises the project
//! index, roles, context loading and the cross-file (project) rules on mutated real code.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const NAMES: [&str; 4] = ["__init__.py", "model.py", "train.py", "data.py"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // One directory per process (fuzzers may run in parallel jobs).
    let root = std::env::temp_dir().join(format!("dllint-fuzz-project-{}", std::process::id()));
    let package = root.join("pkg");
    std::fs::create_dir_all(&package).expect("temp dir");
    let settings = common::settings(&root);
    let mut inputs = Vec::new();
    for (i, part) in text.split("\n#---\n").take(NAMES.len()).enumerate() {
        let path: PathBuf = package.join(NAMES[i]);
        // Written too, so that context loading can find the package's other modules.
        std::fs::write(&path, part).expect("write");
        inputs.push(dllint::engine::Input {
            path,
            settings: settings.clone(),
            text: Some(part.to_string()),
        });
    }
    let project = dllint::engine::run(inputs, Some(2), &root, common::resolver(&root));
    common::render_all(&project.report);
    for name in NAMES {
        let _ = std::fs::remove_file(package.join(name));
    }
});
