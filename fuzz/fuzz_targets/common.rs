//! Shared by the fuzz targets: settings with every rule enabled, and every renderer.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use dllint::config::{Overrides, Resolver};
use dllint::engine::Report;
use dllint::output::{OutputFormat, RenderOptions};

/// A resolver with `--isolated --select ALL`, made once per process.
pub fn resolver(cwd: &Path) -> &'static Resolver {
    static RESOLVER: OnceLock<Resolver> = OnceLock::new();
    RESOLVER.get_or_init(|| {
        let overrides = Overrides {
            select: Some(dllint::rules::parse_selector("ALL").expect("ALL")),
            ..Overrides::default()
        };
        Resolver::new(cwd.to_path_buf(), None, true, overrides).expect("settings")
    })
}

pub fn settings(cwd: &Path) -> Arc<dllint::config::Settings> {
    resolver(cwd)
        .settings_for_file(&cwd.join("input.py"))
        .expect("settings")
}

/// Render the report in every format; an internal error (a caught panic) is a bug too.
pub fn render_all(report: &Report) {
    for format in [
        OutputFormat::Full,
        OutputFormat::Concise,
        OutputFormat::Grouped,
        OutputFormat::Pylint,
        OutputFormat::Json,
        OutputFormat::JsonLines,
        OutputFormat::Sarif,
        OutputFormat::Github,
        OutputFormat::Gitlab,
        OutputFormat::Junit,
    ] {
        for color in [false, true] {
            let mut out = Vec::new();
            dllint::output::render(format, report, RenderOptions { color }, &mut out)
                .expect("rendering to memory succeeds");
        }
    }
    assert_eq!(
        report.internal_errors, 0,
        "dllint reported an internal error"
    );
}
