//! `dllint check [PATHS]`: discover, lint, render, and pick the exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use super::fix_driver as driver;
use crate::baseline::{self, Baseline};
use crate::cache::{self, Cache};
use crate::config::{Overrides, Resolver};
use crate::discovery::{self, normalize};
use crate::engine::{self, Report};
use crate::fix::{self, write};
use crate::output::{self, OutputFormat, RenderOptions};
use crate::registry::Rule;
use crate::rules;
use crate::source;

use super::ExitStatus;
use super::progress::Progress;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or directories to lint; `-` reads standard input (see `--stdin-filename`).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Only these rules (codes or prefixes such as `DL1`; `ALL` for every rule). Replaces the
    /// configured selection.
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    pub select: Option<Vec<String>>,
    /// Rules to enable on top of the selection.
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    pub extend_select: Vec<String>,
    /// Rules to disable (codes or prefixes).
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    pub ignore: Vec<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Full)]
    pub output_format: OutputFormat,
    /// Exit with 0 even when there are findings.
    #[arg(long)]
    pub exit_zero: bool,
    /// Use this configuration file for every file (instead of the nearest one).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore all configuration files (implies `--no-project-context`).
    #[arg(long, conflicts_with = "config")]
    pub isolated: bool,
    /// Judge the given files alone. By default, when they lie in a project (the directory of
    /// the nearest configuration file, else the git repository), its other files are read for
    /// their facts, so that cross-file rules (an option read in another file) see the whole
    /// project; findings are still reported for the given files only.
    #[arg(long)]
    pub no_project_context: bool,
    /// Glob patterns to exclude (replaces the default and configured `exclude`).
    #[arg(long, value_delimiter = ',', value_name = "GLOB")]
    pub exclude: Option<Vec<String>>,
    /// Glob patterns to exclude in addition to `exclude`.
    #[arg(long, value_delimiter = ',', value_name = "GLOB")]
    pub extend_exclude: Vec<String>,
    /// Apply excludes to files named explicitly on the command line too (for pre-commit).
    #[arg(long)]
    pub force_exclude: bool,
    /// Number of worker threads (default: one per core). Output does not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print findings only: no summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the number of findings per rule instead of the findings (`[*]`: some have a safe
    /// fix), then the total.
    #[arg(long)]
    pub statistics: bool,
    /// Write the report to this file instead of standard output (created or replaced; no
    /// colour). Messages about the run still go to standard error.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Print the files that would be checked, one per line, and exit (nothing is linted).
    #[arg(long, conflicts_with_all = ["fix", "diff", "fix_only", "statistics", "write_baseline"])]
    pub show_files: bool,
    /// Print the configuration the given file is linted with (configuration file, rules and
    /// why some are off for it, every rule option's value, severities, excludes, `src`,
    /// knowledge) and exit (nothing is linted).
    #[arg(long, conflicts_with_all = [
        "fix", "diff", "fix_only", "statistics", "write_baseline", "show_files",
    ])]
    pub show_settings: bool,
    /// Add `# noqa: DLxxx` comments to the lines where the current findings start (codes
    /// already listed there are kept), so that they are no longer reported; then exit.
    #[arg(long, conflicts_with_all = [
        "fix", "diff", "fix_only", "statistics", "write_baseline", "baseline", "show_files",
        "show_settings", "output_file",
    ])]
    pub add_noqa: bool,
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Lint standard input as if it were this file (use with the path `-`).
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<PathBuf>,
    /// Report only findings that are not recorded in this baseline file (written by
    /// `--write-baseline`); says how many recorded findings are fixed.
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings in this baseline file (JSON) and exit with 0.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["fix", "fix_only", "diff"])]
    pub write_baseline: Option<PathBuf>,
    /// Neither read nor write the cache of per-file results (also `DLLINT_NO_CACHE=1`).
    #[arg(long)]
    pub no_cache: bool,
    /// Keep the cache here instead of `.dllint_cache` in the project root (also
    /// `DLLINT_CACHE_DIR`).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Apply the fixes (safe ones; unsafe ones too with `--unsafe-fixes`) and report the
    /// findings that remain.
    #[arg(long)]
    pub fix: bool,
    /// Offer and apply unsafe fixes too: refactorings (a generated Loss component) and
    /// removals that may change intent.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Write the refactorings dllint can generate for the findings (a Loss component, an
    /// optimizer factory, a Runner) and show them under the findings in the full output. The
    /// human formats leave them out otherwise, and say which findings have one: building them
    /// parses those files again. JSON, SARIF, `--fix` and `--diff` always build them.
    #[arg(long)]
    pub show_refactorings: bool,
    /// Write nothing: print the fixes as a unified diff and exit with 1 if there are any.
    /// Implies `--fix-only`.
    #[arg(long)]
    pub diff: bool,
    /// Apply the fixes and report nothing else; the exit code ignores remaining findings.
    /// Implies `--fix`.
    #[arg(long)]
    pub fix_only: bool,
    /// Exit with 1 when fixes were applied, even if no findings remain.
    #[arg(long)]
    pub exit_non_zero_on_fix: bool,
    /// Lint, then lint again whenever a Python file, notebook or configuration file under the
    /// given paths changes (and, for files named alone, in their project), with the cache;
    /// stop with Ctrl-C.
    #[arg(long, conflicts_with_all = [
        "diff", "add_noqa", "write_baseline", "show_files", "show_settings",
    ])]
    pub watch: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn parse_selectors(flag: &str, values: &[String]) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for value in values {
        rules.extend(rules::parse_selector(value).map_err(|e| format!("--{flag}: {e}"))?);
    }
    Ok(rules)
}

pub fn run(args: CheckArgs) -> Result<ExitStatus, String> {
    if args.watch {
        return super::watch::run(&args);
    }
    run_once(&args)
}

/// One run of `dllint check` (`--watch` repeats it).
pub(super) fn run_once(args: &CheckArgs) -> Result<ExitStatus, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let overrides = Overrides {
        select: args
            .select
            .as_deref()
            .map(|s| parse_selectors("select", s))
            .transpose()?,
        extend_select: parse_selectors("extend-select", &args.extend_select)?,
        ignore: parse_selectors("ignore", &args.ignore)?,
        exclude: args.exclude.clone(),
        extend_exclude: args.extend_exclude.clone(),
    };
    let resolver = Arc::new(
        Resolver::new(
            cwd.clone(),
            args.config.as_deref(),
            args.isolated,
            overrides,
        )
        .map_err(|e| e.to_string())?,
    );

    if args.show_settings {
        return show_settings(args, &resolver, &cwd);
    }

    if args.show_files {
        let discovered = discovery::discover(&args.paths, &resolver, args.force_exclude)
            .map_err(|e| e.to_string())?;
        let mut shown: Vec<String> = discovered
            .files
            .iter()
            .map(|f| discovery::display_path(&f.path, &cwd))
            .collect();
        shown.sort();
        let mut text = String::new();
        for path in shown {
            text.push_str(&path);
            text.push('\n');
        }
        write_stdout(text.as_bytes())?;
        return Ok(ExitStatus::Success);
    }

    // A bad baseline is a usage error: say so before linting.
    let baseline = args
        .baseline
        .as_deref()
        .map(|file| Baseline::load(file, &cwd))
        .transpose()?;

    let reads_stdin = args.paths.iter().any(|p| p.as_os_str() == "-");
    if reads_stdin && args.add_noqa {
        return Err(
            "--add-noqa edits files: it cannot be used with `-` (standard input)".to_string(),
        );
    }
    let fixing = args.fix || args.fix_only || args.diff;
    let fix_options = driver::Options {
        unsafe_fixes: args.unsafe_fixes,
        // Standard input has no files beside it: refactorings that write one are not applied.
        other_files: !reads_stdin,
        max_passes: MAX_FIX_PASSES,
    };
    let mut fixes: Option<FixResult> = None;
    // A progress line on a terminal, for a run over files (standard input is one file).
    let mut progress = Progress::idle();
    let mut report = if reads_stdin {
        if args.paths.len() > 1 {
            return Err("`-` (standard input) cannot be combined with other paths".into());
        }
        let name = normalize(
            &args
                .stdin_filename
                .clone()
                .unwrap_or_else(|| PathBuf::from("stdin.py")),
        );
        let settings = resolver.settings_for(&name).map_err(|e| e.to_string())?;
        let absolute = if name.is_absolute() {
            name.clone()
        } else {
            cwd.join(&name)
        };
        let mut bytes = Vec::new();
        let excluded = args.force_exclude && settings.is_excluded_with_parents(&absolute);
        if !excluded || fixing {
            bytes = source::read_capped(std::io::stdin().lock())
                .map_err(|e| format!("cannot read standard input: {e}"))?
                .ok_or_else(|| {
                    format!(
                        "standard input is larger than {} MiB, the most dllint reads from one file",
                        source::MAX_SOURCE_BYTES >> 20
                    )
                })?;
        }
        if excluded {
            if fixing && !args.diff {
                // An excluded file is passed through unchanged.
                write_stdout(&bytes)?;
            }
            Report::default()
        } else {
            match source::decode(bytes) {
                Ok(text) => {
                    // The project around the file standard input stands for is its context,
                    // from the cache (only then used: standard input itself is never cached).
                    let named = [discovery::FileEntry {
                        path: name.clone(),
                        settings: settings.clone(),
                    }];
                    let context =
                        project_context(args, std::slice::from_ref(&name), &named, &resolver, &cwd);
                    let cache = if context.is_empty() {
                        None
                    } else {
                        cache_for(args, &cwd)
                    };
                    let refactorings = wants_refactorings(args, fixing);
                    let lint = |text: String| -> Report {
                        let input = engine::Input {
                            path: name.clone(),
                            settings: settings.clone(),
                            text: Some(text),
                        };
                        // Standard input alone is linted on one thread.
                        let threads = if context.is_empty() {
                            Some(1)
                        } else {
                            args.threads
                        };
                        engine::run_in_project(
                            vec![input],
                            &context,
                            threads,
                            &cwd,
                            &resolver,
                            cache.as_ref(),
                            refactorings,
                        )
                        .into_report()
                    };
                    let report = lint(text.clone());
                    let report = if fixing {
                        let (report, result) =
                            fix_stdin(args, &name, text, report, &cwd, &lint, fix_options)?;
                        fixes = Some(result);
                        report
                    } else {
                        report
                    };
                    if let Some(cache) = cache {
                        save_cache(args, cache);
                    }
                    report
                }
                Err(err) => {
                    let error = source::ReadError::Decode(err);
                    engine::read_failure_report(&name, &error, &cwd)
                }
            }
        }
    } else {
        let discovered = discovery::discover(&args.paths, &resolver, args.force_exclude)
            .map_err(|e| e.to_string())?;
        let files = discovered.files;
        let context = project_context(args, &args.paths, &files, &resolver, &cwd);
        crate::timing::lap("discovery");
        // Fixing lints the files again after every pass: it reads the tree fresh.
        let cache = if fixing { None } else { cache_for(args, &cwd) };
        crate::timing::lap("cache opened");
        progress = Progress::start(args.quiet);
        let mut report = engine::lint_files_cached(
            &files,
            &context,
            args.threads,
            &cwd,
            &resolver,
            cache.as_ref(),
            wants_refactorings(args, fixing),
        );
        // A directory that cannot be read is a DL000 of its own, as an unreadable file is.
        for (dir, err) in discovered.unreadable {
            let failure = engine::read_failure_report(
                &dir,
                &source::ReadError::UnreadableDirectory(err),
                &cwd,
            );
            report.files.extend(failure.files);
            report.checked.extend(failure.checked);
        }
        report.files.sort_by(|a, b| a.path.cmp(&b.path));
        report.checked.sort();
        if let Some(cache) = cache {
            // Nothing follows (fixing uses no cache): the line goes before a warning can.
            progress.stop();
            save_cache(args, cache);
            crate::timing::lap("cache saved");
        }
        if fixing {
            let (report, result) = fix_files(
                args,
                report,
                &context,
                &cwd,
                &resolver,
                fix_options,
                &mut progress,
            )?;
            fixes = Some(result);
            report
        } else {
            report
        }
    };

    progress.stop();
    if args.add_noqa {
        return super::add_noqa::run(&report, &cwd, args.quiet);
    }
    if let Some(file) = &args.write_baseline {
        let written = baseline::write(file, &cwd, &report)?;
        if !args.quiet {
            eprintln!(
                "dllint: wrote {written} finding{} to the baseline {}",
                if written == 1 { "" } else { "s" },
                file.display()
            );
        }
        if report.internal_errors > 0 {
            eprintln!(
                "dllint: error: dllint failed internally on {} file(s); see the DL000 findings",
                report.internal_errors
            );
            return Ok(ExitStatus::Error);
        }
        return Ok(ExitStatus::Success);
    }
    if let (Some(baseline), Some(file)) = (&baseline, &args.baseline) {
        let outcome = baseline.apply(&mut report);
        if !args.quiet {
            let plural = |n: usize| if n == 1 { "" } else { "s" };
            let mut note = format!(
                "dllint: baseline {}: {} finding{} suppressed, {} recorded finding{} fixed",
                file.display(),
                outcome.suppressed,
                plural(outcome.suppressed),
                outcome.fixed,
                plural(outcome.fixed),
            );
            if outcome.fixed > 0 {
                note.push_str(&format!(
                    " (run `dllint check --write-baseline {}` to drop them)",
                    file.display()
                ));
            }
            eprintln!("{note}");
        }
    }

    // `--diff` and `--fix-only` report the fixes only.
    let report_findings = !(args.diff || args.fix_only);
    if report_findings {
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                args.output_file.is_none()
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none()
            }
        };
        let mut buffer = Vec::new();
        let render = |buffer: &mut Vec<u8>| {
            if args.statistics {
                render_statistics(&report, args.output_format, buffer)
            } else {
                output::render(args.output_format, &report, RenderOptions { color }, buffer)
            }
        };
        // Outputs read the reported files again, a few at a time in parallel: on the run's
        // threads.
        let rendered = match engine::thread_pool(args.threads) {
            Some(pool) => pool.install(|| render(&mut buffer)),
            None => render(&mut buffer),
        };
        rendered.map_err(|e| format!("cannot render the report: {e}"))?;
        if args.output_format.is_human() && !args.quiet && !args.statistics {
            write_summary(&report, args.unsafe_fixes, &mut buffer).map_err(|e| e.to_string())?;
        }
        if let Some(file) = &args.output_file {
            std::fs::write(file, &buffer)
                .map_err(|e| format!("cannot write the report to {}: {e}", file.display()))?;
        } else if reads_stdin && fixing {
            // Standard output holds the fixed source: the findings go to standard error.
            let _ = std::io::stderr().lock().write_all(&buffer);
        } else {
            write_stdout(&buffer)?;
        }
        crate::timing::lap("report written");
    }

    let mut failed = false;
    if let Some(result) = &fixes {
        if !args.quiet {
            let n = result.fixed;
            let findings = if n == 1 { "finding" } else { "findings" };
            if args.diff {
                if n == 0 {
                    eprintln!("No fixes to apply.");
                } else {
                    eprintln!("Would fix {n} {findings}.");
                }
            } else if args.fix_only {
                eprintln!("Fixed {n} {findings}.");
            } else {
                eprintln!(
                    "Fixed {n} {findings} ({} remaining).",
                    report.diagnostic_count()
                );
            }
            if crate::timing::enabled() {
                eprintln!("dllint timing: fix passes: {}", result.passes);
            }
            if !result.converged {
                eprintln!(
                    "dllint: warning: fixes were still being applied after {MAX_FIX_PASSES} passes; \
                     run again to apply the rest"
                );
            }
        }
        for error in &result.errors {
            eprintln!("dllint: error: {error}");
            failed = true;
        }
    }

    if report.internal_errors > 0 {
        eprintln!(
            "dllint: error: dllint failed internally on {} file(s); see the DL000 findings",
            report.internal_errors
        );
        return Ok(ExitStatus::Error);
    }
    if failed {
        return Ok(ExitStatus::Error);
    }
    if args.exit_zero {
        return Ok(ExitStatus::Success);
    }
    let fixed = fixes.as_ref().map_or(0, |r| r.fixed);
    let failure = if args.diff {
        fixes.as_ref().is_some_and(|r| r.changed > 0)
    } else if args.fix_only {
        args.exit_non_zero_on_fix && fixed > 0
    } else {
        report.diagnostic_count() > 0 || (args.exit_non_zero_on_fix && fixed > 0)
    };
    Ok(if failure {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// `--show-settings PATH`: the settings of one file (or directory; `-` is the
/// `--stdin-filename`).
fn show_settings(
    args: &CheckArgs,
    resolver: &Resolver,
    cwd: &std::path::Path,
) -> Result<ExitStatus, String> {
    let [path] = args.paths.as_slice() else {
        return Err(format!(
            "--show-settings takes one path, not {}",
            args.paths.len()
        ));
    };
    let path = if path.as_os_str() == "-" {
        args.stdin_filename
            .clone()
            .unwrap_or_else(|| PathBuf::from("stdin.py"))
    } else if !path.exists() {
        return Err(format!("{}: no such file or directory", path.display()));
    } else {
        path.clone()
    };
    let path = normalize(&path);
    let settings = resolver.settings_for(&path).map_err(|e| e.to_string())?;
    // A notebook kept as a Python file gets the notebook policy (as when it is linted).
    let cell_script = path.is_file()
        && !source::is_notebook(&path)
        && source::read_file(&path).is_ok_and(|text| source::SourceText::is_cell_script(&text));
    let absolute = crate::discovery::absolute_lexical(&path, cwd);
    let shown = discovery::display_path(&path, cwd);
    let text = super::settings::render(&settings, &absolute, &shown, cell_script);
    write_stdout(text.as_bytes())?;
    Ok(ExitStatus::Success)
}

/// The project context of the files to lint (see [`discovery::project_context`]), unless
/// turned off; a project whose files cannot be listed is linted without it, with a warning.
fn project_context(
    args: &CheckArgs,
    paths: &[PathBuf],
    files: &[discovery::FileEntry],
    resolver: &Arc<Resolver>,
    cwd: &std::path::Path,
) -> Vec<discovery::FileEntry> {
    if args.no_project_context || args.isolated {
        return Vec::new();
    }
    // The context serves the cross-file rules: with none enabled there is nothing to read.
    let cross_file = files.iter().any(|f| {
        f.settings
            .rules_for(&f.path)
            .iter()
            .any(|rule| rule.check.project_check().is_some())
    });
    if !cross_file {
        return Vec::new();
    }
    discovery::project_context(paths, files, resolver, cwd, true).unwrap_or_else(|warning| {
        if !args.quiet {
            eprintln!("dllint: warning: {warning}");
        }
        Vec::new()
    })
}

/// `context` without the files in `inputs` (compared as [`driver::key`]s).
fn context_without<'a>(
    context: &[discovery::FileEntry],
    inputs: impl Iterator<Item = &'a PathBuf>,
    cwd: &std::path::Path,
) -> Vec<discovery::FileEntry> {
    let given: std::collections::BTreeSet<PathBuf> =
        inputs.map(|path| driver::key(cwd, path)).collect();
    context
        .iter()
        .filter(|file| !given.contains(&driver::key(cwd, &file.path)))
        .cloned()
        .collect()
}

/// Write the cache: one that cannot be written (a read-only checkout) only makes the next run
/// slower.
fn save_cache(args: &CheckArgs, cache: Cache) {
    let dir = cache.dir().to_path_buf();
    if let Err(err) = cache.save()
        && !args.quiet
    {
        eprintln!(
            "dllint: warning: cannot write the cache in {}: {err}",
            dir.display()
        );
    }
}

/// The cache of this run, unless disabled.
fn cache_for(args: &CheckArgs, cwd: &std::path::Path) -> Option<Cache> {
    let disabled = std::env::var_os("DLLINT_NO_CACHE")
        .is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    if args.no_cache || disabled {
        return None;
    }
    let root = cache::project_root(cwd, args.config.as_deref(), args.isolated);
    let dir = match &args.cache_dir {
        Some(dir) => cwd.join(dir),
        None => cache::cache_dir(&root, cwd),
    };
    Some(Cache::open(dir, &root))
}

/// At most this many lint → fix passes are made. Fixes that enable other fixes converge in two
/// or three, but refactorings into one target file go one per pass (each sees the names the
/// last one added): a package with many models writing their losses into one `loss.py` needs
/// one pass each. Every pass applies at least one fix (or the loop ends), and lints again only
/// the files changed so far; the limit only stops a pathological cycle.
pub(super) const MAX_FIX_PASSES: usize = 200;

/// What `--fix`, `--fix-only` or `--diff` did.
struct FixResult {
    /// Fixes applied (or, with `--diff`, that would be).
    fixed: usize,
    /// Files changed (or that would be).
    changed: usize,
    /// Files left unchanged because a fix would break them or they could not be written.
    errors: Vec<String>,
    converged: bool,
    /// Lint → fix passes made.
    passes: usize,
}

fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = stdout.write_all(bytes).and_then(|()| stdout.flush())
        && err.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(format!("cannot write to stdout: {err}"));
    }
    Ok(())
}

/// Whether the run needs the findings' refactorings: it applies or shows fixes (`--fix`,
/// `--diff`), prints them for a program (JSON, SARIF), or is asked to show them
/// (`--show-refactorings`: the full text output shows them, the concise and grouped ones count
/// them in the summary). `--statistics`, `--add-noqa`, `--write-baseline`, the formats with no
/// place for a fix (pylint, GitHub, GitLab, JUnit) and the human formats without
/// `--show-refactorings` do not: their findings are the same, without the work of writing a
/// refactoring for each of them (the full output says which findings have one).
fn wants_refactorings(args: &CheckArgs, fixing: bool) -> bool {
    if fixing {
        return true;
    }
    if args.statistics || args.add_noqa || args.write_baseline.is_some() {
        return false;
    }
    match args.output_format {
        OutputFormat::Json | OutputFormat::JsonLines | OutputFormat::Sarif => true,
        OutputFormat::Full => args.show_refactorings,
        OutputFormat::Concise | OutputFormat::Grouped => args.show_refactorings && !args.quiet,
        OutputFormat::Pylint
        | OutputFormat::Github
        | OutputFormat::Gitlab
        | OutputFormat::Junit => false,
    }
}

/// Lint files with the shared pipeline (and their project context, less the files); the
/// index is not needed afterwards.
fn lint_entries(
    files: &[discovery::FileEntry],
    context: &[discovery::FileEntry],
    threads: Option<usize>,
    cwd: &std::path::Path,
    resolver: &Resolver,
) -> Report {
    let context = context_without(context, files.iter().map(|f| &f.path), cwd);
    engine::lint_files_cached(files, &context, threads, cwd, resolver, None, true)
}

/// A lint for the fix passes ([`driver::Relint`]): the files given, with their current texts,
/// alone (`Scope::Changed`) or with the rest of the files of the first lint (`linted`, read
/// from disk) and the project context (`Scope::Project`).
pub(super) fn relint_project(
    inputs: &[(PathBuf, String)],
    scope: driver::Scope,
    linted: &[PathBuf],
    context: &[discovery::FileEntry],
    threads: Option<usize>,
    cwd: &std::path::Path,
    resolver: &Arc<Resolver>,
) -> Report {
    let mut given: Vec<(&PathBuf, Option<&String>)> = inputs
        .iter()
        .map(|(path, text)| (path, Some(text)))
        .collect();
    if scope == driver::Scope::Project {
        let changed: std::collections::BTreeSet<PathBuf> =
            inputs.iter().map(|(p, _)| driver::key(cwd, p)).collect();
        given.extend(
            linted
                .iter()
                .filter(|p| !changed.contains(&driver::key(cwd, p)))
                .map(|p| (p, None)),
        );
    }
    // Changed files are linted alone; the whole project, with its context.
    let context = match scope {
        driver::Scope::Changed => Vec::new(),
        driver::Scope::Project => context_without(context, given.iter().map(|g| g.0), cwd),
    };
    let inputs: Vec<engine::Input> = given
        .into_iter()
        .filter_map(|(path, text)| {
            Some(engine::Input {
                path: path.clone(),
                settings: resolver.settings_for_file(path).ok()?,
                text: text.cloned(),
            })
        })
        .collect();
    engine::run_in_project(inputs, &context, threads, cwd, resolver, None, true).into_report()
}

/// `--fix`/`--diff`/`--fix-only` on files: fix in memory, then print the diff or write the
/// files and lint what remains on disk.
fn fix_files(
    args: &CheckArgs,
    report: Report,
    context: &[discovery::FileEntry],
    cwd: &std::path::Path,
    resolver: &Arc<Resolver>,
    options: driver::Options,
    progress: &mut Progress,
) -> Result<(Report, FixResult), String> {
    let threads = args.threads;
    // The files of the first lint: a relint of the whole project reads those not changed from
    // disk.
    let linted = report.checked.clone();
    let mut relint = |inputs: &[(PathBuf, String)], scope: driver::Scope| -> Report {
        relint_project(inputs, scope, &linted, context, threads, cwd, resolver)
    };
    let outcome = driver::run(&report, cwd, &mut relint, options);
    let mut result = FixResult {
        fixed: outcome.fixed(),
        changed: outcome.changed().count(),
        errors: outcome.errors.clone(),
        converged: outcome.converged,
        passes: outcome.passes,
    };
    if args.diff {
        let mut out = String::new();
        for (_, state) in outcome.changed() {
            out.push_str(&fix::diff::unified(
                &state.display,
                state.original.as_deref(),
                &state.current,
            ));
        }
        progress.stop();
        write_stdout(out.as_bytes())?;
        return Ok((Report::default(), result));
    }
    for group in outcome.write_groups() {
        let outputs: Vec<write::Output<'_>> = group
            .iter()
            .map(|state| write::Output {
                path: &state.path,
                text: &state.current,
                create: state.original.is_none(),
            })
            .collect();
        if let Err(error) = write::write_group(&outputs) {
            result.errors.push(error);
            result.fixed -= group.iter().map(|s| s.applied).sum::<usize>();
            result.changed -= group.len();
        }
    }
    if args.fix_only || result.changed == 0 {
        return Ok((report, result));
    }
    // What remains is what is on disk now (files created by refactorings included).
    let mut files = discovery::discover(&args.paths, resolver, args.force_exclude)
        .map_err(|e| e.to_string())?
        .files;
    for (key, state) in outcome.changed() {
        let known = files.iter().any(|f| driver::key(cwd, &f.path) == *key);
        if state.original.is_none()
            && !known
            && let Ok(settings) = resolver.settings_for_file(&state.path)
        {
            files.push(discovery::FileEntry {
                path: state.path.clone(),
                settings,
            });
        }
    }
    Ok((
        lint_entries(&files, context, args.threads, cwd, resolver),
        result,
    ))
}

/// `--fix`/`--diff`/`--fix-only` on standard input: the fixed source (or the diff) goes to
/// standard output.
fn fix_stdin(
    args: &CheckArgs,
    name: &std::path::Path,
    text: String,
    report: Report,
    cwd: &std::path::Path,
    lint: &dyn Fn(String) -> Report,
    options: driver::Options,
) -> Result<(Report, FixResult), String> {
    // Standard input is the only file linted (in its project context): both scopes lint it.
    let mut relint = |inputs: &[(PathBuf, String)], _: driver::Scope| -> Report {
        match inputs.first() {
            Some((_, text)) => lint(text.clone()),
            None => Report::default(),
        }
    };
    let outcome = driver::run(&report, cwd, &mut relint, options);
    let key = driver::key(cwd, name);
    let fixed = outcome
        .files
        .get(&key)
        .filter(|f| !f.failed)
        .map_or_else(|| text.clone(), |f| f.current.clone());
    if args.diff {
        let display = crate::discovery::display_path(name, cwd);
        write_stdout(fix::diff::unified(&display, Some(&text), &fixed).as_bytes())?;
    } else {
        write_stdout(fixed.as_bytes())?;
    }
    let result = FixResult {
        fixed: outcome.fixed(),
        changed: usize::from(fixed != text),
        errors: outcome.errors,
        converged: outcome.converged,
        passes: outcome.passes,
    };
    let report = if fixed == text || args.diff || args.fix_only {
        report
    } else {
        lint(fixed)
    };
    Ok((report, result))
}

fn write_summary(report: &Report, unsafe_fixes: bool, out: &mut Vec<u8>) -> std::io::Result<()> {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let count = report.diagnostic_count();
    let checked = plural(report.files_checked, "file");
    if count == 0 {
        return writeln!(out, "All checks passed! ({checked} checked)");
    }
    let findings = plural(count, "finding");
    let files = plural(report.files.len(), "file");
    writeln!(out, "Found {findings} in {files} ({checked} checked).")?;
    // As ruff: how many findings `--fix` would resolve, and how many more `--unsafe-fixes` would.
    let fixes = report
        .files
        .iter()
        .flat_map(|f| &f.diagnostics)
        .filter_map(|d| d.fix.as_ref());
    let (mut safe, mut hidden) = (0, 0);
    for fix in fixes {
        if fix::is_applicable(fix, unsafe_fixes) {
            safe += 1;
        } else if fix::is_applicable(fix, true) {
            hidden += 1;
        }
    }
    let hidden_note = if hidden > 0 {
        let fixes = if hidden == 1 { "fix" } else { "fixes" };
        format!(" ({hidden} hidden {fixes} can be enabled with the `--unsafe-fixes` option)")
    } else {
        String::new()
    };
    if safe > 0 {
        writeln!(
            out,
            "[*] {safe} fixable with the `--fix` option{hidden_note}."
        )
    } else if hidden > 0 {
        writeln!(out, "No fixes available{hidden_note}.")
    } else {
        Ok(())
    }
}

fn render_statistics(
    report: &Report,
    format: OutputFormat,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    // Per rule: findings, and how many of them have a safe fix.
    let mut counts: Vec<(Rule, usize, usize)> = Vec::new();
    for d in report.files.iter().flat_map(|f| &f.diagnostics) {
        let safe = usize::from(
            d.fix
                .as_ref()
                .is_some_and(|f| f.applicability == crate::diagnostic::Applicability::Safe),
        );
        match counts.iter_mut().find(|(r, _, _)| r.code == d.code) {
            Some((_, n, fixable)) => {
                *n += 1;
                *fixable += safe;
            }
            None => counts.push((rules::of_code(d.code), 1, safe)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.code.cmp(b.0.code)));
    match format {
        OutputFormat::Json | OutputFormat::JsonLines => {
            let values: Vec<_> = counts
                .iter()
                .map(|(r, n, fixable)| {
                    serde_json::json!({"code": r.code, "name": r.name, "count": n, "fixable": fixable})
                })
                .collect();
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&values).unwrap_or_default()
            )
        }
        _ => {
            let width = counts
                .iter()
                .map(|(_, n, _)| n.to_string().len())
                .max()
                .unwrap_or(1);
            let total: usize = counts.iter().map(|(_, n, _)| n).sum();
            let fixable: usize = counts.iter().map(|(_, _, f)| f).sum();
            for (rule, n, safe) in &counts {
                let mark = if *safe > 0 { "[*] " } else { "" };
                writeln!(out, "{n:>width$}\t{}\t{mark}{}", rule.code, rule.name)?;
            }
            let findings = if total == 1 { "finding" } else { "findings" };
            if fixable > 0 {
                writeln!(
                    out,
                    "Found {total} {findings} ({fixable} fixable with `--fix`)."
                )
            } else {
                writeln!(out, "Found {total} {findings}.")
            }
        }
    }
}
