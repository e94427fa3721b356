//! The fixed-point loop behind `--fix`, `--diff` and `--fix-only`.
//!
//! Each pass takes the findings of the files still changing, picks their applicable fixes that
//! do not overlap, applies them in memory and re-parses the result: a fix that only breaks the
//! file in combination with others waits for the next pass; a fix that breaks it on its own is
//! a dllint bug, reported as an error, and that file (with any file a refactoring linked it
//! to) is left untouched. The changed files are then linted again, until nothing changes or
//! the pass limit is reached. Nothing is written here: the caller writes, diffs or prints.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::diagnostic::{Edit, FileReport, Fix};
use crate::discovery::display_path;
use crate::engine::Report;
use crate::source::SourceText;

use crate::fix::{apply_edits, is_applicable, keep_trailing_newline, parses, select};

/// How fixes are applied.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Apply unsafe fixes too (`--unsafe-fixes`).
    pub unsafe_fixes: bool,
    /// Apply fixes that change other files (refactorings); off for standard input.
    pub other_files: bool,
    /// At most this many passes (lint → fix) are made.
    pub max_passes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            unsafe_fixes: false,
            other_files: true,
            max_passes: 10,
        }
    }
}

/// A file changed by fixes (or that a fix tried to change).
#[derive(Debug, Clone)]
pub struct FileState {
    /// The path as given or discovered (as fixes name it).
    pub path: PathBuf,
    pub display: String,
    /// The text before fixing; `None` for a file a fix creates.
    pub original: Option<String>,
    /// The text after the passes made so far.
    pub current: String,
    /// A fix broke this file (or a file linked to it): it is left as it was.
    pub failed: bool,
    /// Fixes applied to this file (a refactoring counts in the file of its finding).
    pub applied: usize,
}

impl FileState {
    pub fn is_changed(&self) -> bool {
        !self.failed && self.original.as_deref() != Some(self.current.as_str())
    }
}

/// What the passes did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every file touched, by normalised absolute path.
    pub files: BTreeMap<PathBuf, FileState>,
    /// Errors to report (a fix that would break a file); each names the file.
    pub errors: Vec<String>,
    pub passes: usize,
    /// False if the pass limit was reached while fixes were still being applied.
    pub converged: bool,
    /// Groups of files that must be written together (a refactoring's call site and target).
    links: Vec<(PathBuf, PathBuf)>,
}

impl Outcome {
    /// Fixes applied to files that keep their changes.
    pub fn fixed(&self) -> usize {
        self.files
            .values()
            .filter(|f| !f.failed)
            .map(|f| f.applied)
            .sum()
    }

    /// The changed files, by normalised absolute path.
    pub fn changed(&self) -> impl Iterator<Item = (&PathBuf, &FileState)> {
        self.files.iter().filter(|(_, f)| f.is_changed())
    }

    /// The changed files in groups that must be written together.
    pub fn write_groups(&self) -> Vec<Vec<&FileState>> {
        let changed: Vec<&PathBuf> = self.changed().map(|(k, _)| k).collect();
        let mut groups: Vec<Vec<&FileState>> = Vec::new();
        let mut seen: BTreeSet<&PathBuf> = BTreeSet::new();
        for key in changed {
            if seen.contains(key) {
                continue;
            }
            let members = component(&self.links, key);
            let group: Vec<&FileState> = members
                .iter()
                .filter_map(|k| self.files.get(k).filter(|f| f.is_changed()))
                .collect();
            for member in &members {
                if let Some((k, _)) = self.files.get_key_value(member) {
                    seen.insert(k);
                }
            }
            seen.insert(key);
            groups.push(group);
        }
        groups
    }

    /// Mark the group of `key` as failed: those files keep their original text.
    fn fail(&mut self, key: &Path) {
        for member in component(&self.links, key) {
            if let Some(state) = self.files.get_mut(&member) {
                state.failed = true;
            }
        }
    }
}

/// The files linked to `key` (itself included) through refactorings.
fn component(links: &[(PathBuf, PathBuf)], key: &Path) -> Vec<PathBuf> {
    let mut members = vec![key.to_path_buf()];
    let mut grew = true;
    while grew {
        grew = false;
        for (a, b) in links {
            let has_a = members.contains(a);
            let has_b = members.contains(b);
            if has_a != has_b {
                members.push(if has_a { b.clone() } else { a.clone() });
                grew = true;
            }
        }
    }
    members.sort();
    members
}

/// One fix planned for this pass.
struct Planned<'r> {
    /// The file of the finding.
    owner: PathBuf,
    fix: &'r Fix,
    code: &'static str,
    line: usize,
}

/// A set of edits in one file that is accepted or deferred as a whole.
struct Unit {
    plan: usize,
    edits: Vec<Edit>,
}

/// What a relint covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The files given (changed, or with fixes waiting), as they are now.
    Changed,
    /// The whole project as the first lint saw it, with the files given as they are now: what
    /// the next `--fix` run would see.
    Project,
}

/// Lint again: files (path as given, current text) → their findings.
pub type Relint<'a> = dyn FnMut(&[(PathBuf, String)], Scope) -> Report + 'a;

/// Run the passes, starting from the findings of a first lint (of the whole project).
///
/// Passes lint only the files that changed (and those with fixes waiting); what a file's
/// findings are can also depend on the rest of the project (where a refactoring puts a
/// component), so once they settle the whole project is linted again, and the passes go on
/// if that lint still has fixes to apply: one run reaches the fixed point a second run would.
pub fn run(first: &Report, cwd: &Path, relint: &mut Relint<'_>, options: Options) -> Outcome {
    let mut outcome = Outcome::default();
    let mut report = None::<Report>;
    // The current report is a lint of the whole project.
    let mut whole = true;
    let max = options.max_passes.max(1);
    for pass in 1..=max {
        let current = report.as_ref().unwrap_or(first);
        outcome.passes = pass;
        let (changed, deferred) = one_pass(current, cwd, &mut outcome, options);
        if changed.is_empty() {
            if whole || outcome.changed().next().is_none() {
                outcome.converged = true;
                break;
            }
            let inputs = current_texts(&outcome, std::iter::empty());
            report = Some(relint(&inputs, Scope::Project));
            whole = true;
            continue;
        }
        whole = false;
        if pass == max {
            break;
        }
        // Lint what changed, and what still has fixes waiting, with the current texts; files
        // changed in earlier passes (a component file being written) are part of the project
        // a refactoring sees.
        let inputs = current_texts(&outcome, changed.into_iter().chain(deferred));
        if inputs.is_empty() {
            outcome.converged = true;
            break;
        }
        report = Some(relint(&inputs, Scope::Changed));
    }
    outcome
}

/// The current texts of `keys` and of every file changed so far (a component file being
/// written is part of the project a refactoring sees), leaving out failed files.
fn current_texts(outcome: &Outcome, keys: impl Iterator<Item = PathBuf>) -> Vec<(PathBuf, String)> {
    let earlier = outcome.changed().map(|(k, _)| k.clone());
    let keys: BTreeSet<PathBuf> = keys.chain(earlier).collect();
    keys.iter()
        .filter_map(|k| outcome.files.get(k))
        .filter(|f| !f.failed)
        .map(|f| (f.path.clone(), f.current.clone()))
        .collect()
}

/// The identity of a file: its absolute path with `.` and `..` resolved.
pub fn key(cwd: &Path, path: &Path) -> PathBuf {
    crate::output::absolute(path, cwd)
}

/// One pass: returns the keys of the files changed and of files with fixes left for later.
fn one_pass(
    report: &Report,
    cwd: &Path,
    outcome: &mut Outcome,
    options: Options,
) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut files: Vec<(PathBuf, &FileReport)> = report
        .files
        .iter()
        .map(|f| (key(cwd, &f.path), f))
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));

    // Plan: per file, the applicable non-overlapping fixes; a refactoring claims its other
    // files for the pass (their own fixes, and other refactorings into them, wait).
    let mut plans: Vec<Planned<'_>> = Vec::new();
    let mut claimed: BTreeSet<PathBuf> = BTreeSet::new();
    let mut own_changed: BTreeSet<PathBuf> = BTreeSet::new();
    let mut deferred: BTreeSet<PathBuf> = BTreeSet::new();
    // Each file's text, read once for the pass.
    let mut texts: BTreeMap<PathBuf, std::sync::Arc<crate::source::SourceText>> = BTreeMap::new();
    for (k, file) in &files {
        let Some(source) = file.source() else {
            continue;
        };
        texts.insert(k.clone(), source.clone());
        if outcome.files.get(k).is_some_and(|f| f.failed)
            || file.diagnostics.iter().any(|d| d.code == "DL000")
        {
            continue;
        }
        let fixes = file
            .diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref().map(|f| (d, f)))
            .filter(|(_, f)| options.other_files || f.other_files.is_empty());
        let by_fix: Vec<(&crate::diagnostic::Diagnostic, &Fix)> = fixes.collect();
        let chosen = select(by_fix.iter().map(|(_, f)| *f), options.unsafe_fixes);
        let eligible = by_fix
            .iter()
            .filter(|(_, f)| is_applicable(f, options.unsafe_fixes))
            .count();
        if chosen.len() < eligible {
            deferred.insert(k.clone());
        }
        for fix in chosen {
            let Some((diagnostic, _)) = by_fix.iter().find(|(_, f)| std::ptr::eq(*f, fix)) else {
                continue;
            };
            let targets: Vec<PathBuf> = fix.other_files.iter().map(|o| key(cwd, &o.path)).collect();
            let blocked = claimed.contains(k)
                || targets.iter().any(|t| {
                    t == k
                        || claimed.contains(t)
                        || own_changed.contains(t)
                        || outcome.files.get(t).is_some_and(|f| f.failed)
                });
            if blocked {
                deferred.insert(k.clone());
                continue;
            }
            claimed.extend(targets);
            own_changed.insert(k.clone());
            plans.push(Planned {
                owner: k.clone(),
                fix,
                code: diagnostic.code,
                line: source.line_of(diagnostic.range.start()),
            });
        }
    }
    // Make sure every file involved has a state (its text before this pass): a file whose
    // fixes wait for the next pass too, or it would not be linted again and its fixes would
    // be left for another run.
    let sources: BTreeMap<&PathBuf, &FileReport> = files.iter().map(|(k, f)| (k, *f)).collect();
    for k in &deferred {
        if let Some(file) = sources.get(k) {
            ensure_state(outcome, k, &file.path, texts.get(k).map(|t| &**t), cwd);
        }
    }
    if plans.is_empty() {
        return (Vec::new(), deferred.into_iter().collect());
    }
    for plan in &plans {
        let file = sources[&plan.owner];
        ensure_state(
            outcome,
            &plan.owner,
            &file.path,
            texts.get(&plan.owner).map(|t| &**t),
            cwd,
        );
        for other in &plan.fix.other_files {
            let k = key(cwd, &other.path);
            if !outcome.files.contains_key(&k) {
                let original = if other.create {
                    None
                } else {
                    crate::source::read_file(&other.path).ok()
                };
                outcome.files.insert(
                    k.clone(),
                    FileState {
                        path: other.path.clone(),
                        display: display_path(&other.path, cwd),
                        current: original.clone().unwrap_or_default(),
                        original,
                        failed: false,
                        applied: 0,
                    },
                );
            }
        }
    }

    // Units per file: a refactoring's edits come first in every file it touches.
    let mut units: BTreeMap<PathBuf, Vec<Unit>> = BTreeMap::new();
    let mut rejected: BTreeSet<usize> = BTreeSet::new();
    for (i, plan) in plans.iter().enumerate() {
        for other in &plan.fix.other_files {
            let k = key(cwd, &other.path);
            let state = &outcome.files[&k];
            let ok = if other.create {
                state.original.is_none() && state.current.is_empty() && !other.path.exists()
            } else {
                state.original.is_some() || !state.current.is_empty()
            };
            if !ok {
                // The file appeared (or vanished) since the finding was made: try again later.
                rejected.insert(i);
            }
        }
    }
    for (i, plan) in plans.iter().enumerate() {
        if rejected.contains(&i) {
            deferred.insert(plan.owner.clone());
            continue;
        }
        for other in &plan.fix.other_files {
            units.entry(key(cwd, &other.path)).or_default().push(Unit {
                plan: i,
                edits: other.edits.clone(),
            });
        }
    }
    for (i, plan) in plans.iter().enumerate() {
        if rejected.contains(&i) || plan.fix.edits.is_empty() {
            continue;
        }
        let list = units.entry(plan.owner.clone()).or_default();
        let unit = Unit {
            plan: i,
            edits: plan.fix.edits.clone(),
        };
        if plan.fix.other_files.is_empty() {
            list.push(unit);
        } else {
            list.insert(0, unit);
        }
    }

    // A refactoring must be valid on its own in every file it touches, or it is a bug.
    let mut broken: Vec<(PathBuf, usize)> = Vec::new();
    for (k, list) in &units {
        let state = &outcome.files[k];
        for unit in list {
            if plans[unit.plan].fix.other_files.is_empty() {
                continue;
            }
            let text = fixed_text(state, &unit.edits);
            if !parses(&text, &state.path) {
                broken.push((k.clone(), unit.plan));
            }
        }
    }
    for (k, plan) in broken {
        report_broken(outcome, &k, &plans[plan]);
        rejected.insert(plan);
    }

    // Apply per file, keeping only combinations that parse.
    let mut changed: BTreeSet<PathBuf> = BTreeSet::new();
    let mut applied: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for (k, list) in units {
        if outcome.files[&k].failed {
            continue;
        }
        let list: Vec<Unit> = list
            .into_iter()
            .filter(|u| !rejected.contains(&u.plan))
            .collect();
        if list.is_empty() {
            continue;
        }
        let state = &outcome.files[&k];
        let all: Vec<Edit> = list.iter().flat_map(|u| u.edits.iter().cloned()).collect();
        let mut text = fixed_text(state, &all);
        let mut accepted: Vec<usize> = list.iter().map(|u| u.plan).collect();
        if !parses(&text, &state.path) {
            // Some fixes break the file only together (two deletions emptying one block):
            // take them one at a time; the rest wait for the next pass.
            let mut kept: Vec<Edit> = Vec::new();
            accepted.clear();
            let mut failure = None;
            for unit in &list {
                let mut trial = kept.clone();
                trial.extend(unit.edits.iter().cloned());
                if parses(&fixed_text(state, &trial), &state.path) {
                    kept = trial;
                    accepted.push(unit.plan);
                } else if !parses(&fixed_text(state, &unit.edits), &state.path) {
                    failure = Some(unit.plan);
                    break;
                } else {
                    deferred.insert(plans[unit.plan].owner.clone());
                }
            }
            if let Some(plan) = failure {
                report_broken(outcome, &k, &plans[plan]);
                continue;
            }
            text = fixed_text(state, &kept);
        }
        // A refactoring accepted here is accepted everywhere (it parses alone and comes first).
        for plan in &accepted {
            if plans[*plan].owner == k {
                *applied.entry(k.clone()).or_default() += 1;
            }
            for other in &plans[*plan].fix.other_files {
                let target = key(cwd, &other.path);
                if target != k {
                    outcome.links.push((plans[*plan].owner.clone(), target));
                }
            }
        }
        let state = outcome.files.get_mut(&k).expect("state exists");
        if text != state.current {
            state.current = text;
            changed.insert(k.clone());
        }
    }
    for (k, n) in applied {
        if let Some(state) = outcome.files.get_mut(&k) {
            state.applied += n;
        }
    }
    let failed: Vec<PathBuf> = outcome
        .files
        .iter()
        .filter(|(_, f)| f.failed)
        .map(|(k, _)| k.clone())
        .collect();
    for k in &failed {
        outcome.fail(k);
    }
    let changed = changed
        .into_iter()
        .filter(|k| !outcome.files[k].failed)
        .collect();
    let deferred = deferred
        .into_iter()
        .filter(|k| outcome.files.get(k).is_none_or(|f| !f.failed))
        .collect();
    (changed, deferred)
}

fn ensure_state(
    outcome: &mut Outcome,
    k: &Path,
    path: &Path,
    source: Option<&SourceText>,
    cwd: &Path,
) {
    if outcome.files.contains_key(k) {
        return;
    }
    // A notebook's state is its JSON file; fixes are made on its code cells (see `fixed_text`).
    let text = source
        .map(|s| match s.notebook() {
            Some(notebook) => notebook.raw().to_string(),
            None => s.text().to_string(),
        })
        .unwrap_or_default();
    outcome.files.insert(
        k.to_path_buf(),
        FileState {
            path: path.to_path_buf(),
            display: display_path(path, cwd),
            original: Some(text.clone()),
            current: text,
            failed: false,
            applied: 0,
        },
    );
}

/// The current text with `edits` applied, keeping the original's trailing-newline state.
fn fixed_text(state: &FileState, edits: &[Edit]) -> String {
    if crate::source::is_notebook(&state.path) {
        // Edits are offsets in the joined code cells: the notebook maps them into the cells
        // and rewrites only those `source` values. Edits it cannot map (across cells) make an
        // empty text, which does not parse, so the fix is refused like any breaking fix.
        return crate::notebook::Notebook::parse(state.current.clone())
            .ok()
            .and_then(|notebook| notebook.apply_edits(edits).ok())
            .unwrap_or_default();
    }
    let fixed = apply_edits(&state.current, edits);
    match &state.original {
        Some(original) => keep_trailing_newline(original, fixed),
        None => fixed,
    }
}

fn report_broken(outcome: &mut Outcome, k: &Path, plan: &Planned<'_>) {
    let display = outcome
        .files
        .get(k)
        .map_or_else(|| k.display().to_string(), |f| f.display.clone());
    let owner = outcome
        .files
        .get(&plan.owner)
        .map_or_else(|| plan.owner.display().to_string(), |f| f.display.clone());
    outcome.errors.push(format!(
        "{display}: the {} fix for the finding at {owner}:{} would produce invalid Python; the \
         file is left unchanged (please report this dllint bug)",
        plan.code, plan.line
    ));
    if let Some(state) = outcome.files.get_mut(k) {
        state.failed = true;
    }
    outcome.fail(k);
}
