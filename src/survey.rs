//! `dllint survey`: where loss *definitions* sit, in the categories of the MODLR thesis
//! (§3.2, Algorithm 2), decided by static analysis instead of an LLM.
//!
//! The unit is the thesis's: a function, or a loop at module level, that contains a loss
//! definition (a loss formula, loss terms combined, or losses selected by a condition; a single
//! call of a loss is usage and does not count). Its category follows from where it sits: in a
//! Model class, in a Runner (a training loop in the function, in its class, or at module
//! level), in a class that is both, or standalone (the thesis's `loss_unknown`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::engine::Project;
use crate::semantic::Role;
use crate::semantic::facts::{FunctionId, LossValue, ScopeFacts};
use crate::semantic::index::FileId;
use crate::semantic::verdict::{Definition, Verdict};
use crate::semantic::view::FileView;
use crate::source::read_source;

/// The thesis's loss-placement categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    LossInModel,
    LossInRunner,
    LossInModelRunner,
    /// The thesis's `loss_unknown`: mostly standalone losses, the MODLR-conformant shape.
    LossStandalone,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::LossInModel,
        Category::LossInRunner,
        Category::LossInModelRunner,
        Category::LossStandalone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::LossInModel => "loss_in_model",
            Category::LossInRunner => "loss_in_runner",
            Category::LossInModelRunner => "loss_in_model_runner",
            Category::LossStandalone => "loss_standalone",
        }
    }
}

/// One function (or module-level loop) that defines a loss.
#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    pub path: String,
    /// In a notebook: the cell (numbered as Jupyter shows them); `line` and `end_line` are
    /// then within that cell, as `dllint check` reports positions.
    pub cell: Option<usize>,
    pub line: usize,
    pub end_line: usize,
    /// `Class.method`, `function`, `outer.inner`, or `<module>`.
    pub enclosing: String,
    pub category: Category,
    pub evidence: String,
    #[serde(skip)]
    pub repository: String,
}

/// Counts for one repository (or one given path).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RepositorySummary {
    pub name: String,
    pub files: usize,
    pub counts: BTreeMap<Category, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Survey {
    pub instances: Vec<Instance>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub files: usize,
    pub repositories: Vec<RepositorySummary>,
    /// Per category: instances, and repositories with at least one instance.
    pub totals: BTreeMap<String, CategoryTotal>,
    /// Repositories without any loss definition (the thesis's `no_loss`/`empty`).
    pub no_loss: usize,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CategoryTotal {
    pub instances: usize,
    pub repositories: usize,
}

/// A place where a loss is defined, before lines are known.
struct Found {
    file: FileId,
    start: u32,
    end: u32,
    enclosing: String,
    category: Category,
    evidence: String,
}

/// Classify the loss definitions of every linted file of `project`. `repository_of` maps a
/// file path to the repository (or path argument) it belongs to.
pub fn survey(
    project: &Project,
    cwd: &Path,
    repository_of: &(dyn Fn(&Path) -> String + Sync),
) -> Survey {
    let index = &project.index;
    // Computed before the parallel loop: a lazily built value is never first asked for
    // inside the pool (a worker waiting on it could steal the job that builds it).
    let roles = project.roles();
    let found: Vec<Found> = index
        .file_ids()
        .into_par_iter()
        .filter(|&f| index.file(f).linted)
        .flat_map_iter(|file| {
            let cx = FileView::new(index, roles, file);
            file_instances(&cx)
        })
        .collect();

    // Lines need the text; read the files with instances again (in parallel).
    let mut by_file: BTreeMap<FileId, Vec<&Found>> = BTreeMap::new();
    for f in &found {
        by_file.entry(f.file).or_default().push(f);
    }
    let mut instances: Vec<Instance> = by_file
        .into_par_iter()
        .flat_map_iter(|(file, items)| {
            let path = &index.file(file).path;
            let source = read_source(path).ok();
            let display = crate::discovery::display_path(path, cwd);
            let repository = repository_of(path);
            items
                .into_iter()
                .map(|f| {
                    let last = f.end.saturating_sub(1).max(f.start).into();
                    let (cell, line, end_line) = match &source {
                        Some(s) => match (s.cell_location(f.start.into()), s.cell_location(last)) {
                            (Some(start), Some(end)) => {
                                let end_line = if end.cell == start.cell {
                                    end.row
                                } else {
                                    start.row
                                };
                                (Some(start.cell), start.row, end_line.max(start.row))
                            }
                            _ => (None, s.line_of(f.start.into()), s.line_of(last)),
                        },
                        None => (None, 1, 1),
                    };
                    Instance {
                        path: display.clone(),
                        cell,
                        line,
                        end_line,
                        enclosing: f.enclosing.clone(),
                        category: f.category,
                        evidence: f.evidence.clone(),
                        repository: repository.clone(),
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    instances.sort_by(|a, b| {
        (a.path.as_str(), a.cell, a.line, a.enclosing.as_str()).cmp(&(
            b.path.as_str(),
            b.cell,
            b.line,
            b.enclosing.as_str(),
        ))
    });

    // Summary per repository.
    let mut repositories: BTreeMap<String, RepositorySummary> = BTreeMap::new();
    let mut files = 0;
    for file in index.all_files().iter().filter(|f| f.linted) {
        files += 1;
        let name = repository_of(&file.path);
        let entry = repositories
            .entry(name.clone())
            .or_insert_with(|| RepositorySummary {
                name,
                ..RepositorySummary::default()
            });
        entry.files += 1;
    }
    for instance in &instances {
        if let Some(repo) = repositories.get_mut(&instance.repository) {
            *repo.counts.entry(instance.category).or_default() += 1;
        }
    }
    let mut totals: BTreeMap<String, CategoryTotal> = BTreeMap::new();
    for category in Category::ALL {
        let mut total = CategoryTotal::default();
        for repo in repositories.values() {
            let n = repo.counts.get(&category).copied().unwrap_or(0);
            total.instances += n;
            total.repositories += usize::from(n > 0);
        }
        totals.insert(category.as_str().to_string(), total);
    }
    let no_loss = repositories
        .values()
        .filter(|r| r.counts.values().all(|n| *n == 0))
        .count();
    Survey {
        instances,
        summary: Summary {
            files,
            repositories: repositories.into_values().collect(),
            totals,
            no_loss,
        },
    }
}

fn file_instances(cx: &FileView<'_>) -> Vec<Found> {
    let facts = cx.facts();
    let mut found = Vec::new();
    // Module level: each outermost loop holding a definition is one instance (a runner), and
    // a definition outside loops in a training script (TF1 graph code) is one too.
    let module_defs = definitions(cx, None, &facts.module);
    if !module_defs.is_empty() {
        let trains = cx.roles.module(cx.file).contains(Role::Runner);
        let mut by_loop: BTreeMap<Option<u32>, Vec<(&LossValue, Definition)>> = BTreeMap::new();
        for (value, definition) in module_defs {
            let outermost = outermost_loop(&facts.module, value);
            by_loop
                .entry(outermost)
                .or_default()
                .push((value, definition));
        }
        for (lp, defs) in by_loop {
            let (start, end) = match lp {
                Some(l) => {
                    let range = facts.module.loops[l as usize].range;
                    (u32::from(range.start()), u32::from(range.end()))
                }
                None => span(&defs),
            };
            let category = if lp.is_some() || trains {
                Category::LossInRunner
            } else {
                Category::LossStandalone
            };
            found.push(Found {
                file: cx.file,
                start,
                end,
                enclosing: "<module>".into(),
                category,
                evidence: describe(&defs, None),
            });
        }
    }
    for (id, function) in facts.functions.iter().enumerate() {
        let id = id as FunctionId;
        if is_metric(cx, id) {
            continue;
        }
        let defs = definitions(cx, function.class, &function.body);
        if defs.is_empty() {
            continue;
        }
        let category = placement(cx, id);
        let shape = special_shape(cx, id);
        found.push(Found {
            file: cx.file,
            start: u32::from(function.range.start()),
            end: u32::from(function.range.end()),
            enclosing: facts.qualname(id),
            category,
            evidence: describe(&defs, shape.as_deref()),
        });
    }
    found
}

/// Where a function that defines a loss sits. A method is placed by its class: a Model, a
/// Runner (a method holds the training loop), both, or neither. A framework hook or a training
/// step of a Model (Keras `train_step`, Lightning `training_step`, a `train_net` that steps the
/// optimizer) is the Model's: the framework's or the caller's loop runs it. A function holding
/// a training loop is a Runner; a closure is placed with the nearest enclosing function that
/// holds one (`main.loss_fn`), else it stands alone.
fn placement(cx: &FileView<'_>, id: FunctionId) -> Category {
    let facts = cx.facts();
    let function = &facts.functions[id as usize];
    // A loss in a test is the thesis's `loss_unknown` ("Loss in test"), whatever runs it.
    if function
        .name
        .trim_start_matches('_')
        .to_ascii_lowercase()
        .starts_with("test")
    {
        return Category::LossStandalone;
    }
    if let Some(class) = function.class {
        let roles = &cx.roles.class(cx.file, class).roles;
        let model = roles.contains(Role::Model) && !roles.contains(Role::Loss);
        let runner = roles.contains(Role::Runner);
        return match (model, runner) {
            (true, true) => Category::LossInModelRunner,
            (true, false) => Category::LossInModel,
            (false, true) => Category::LossInRunner,
            (false, false) => Category::LossStandalone,
        };
    }
    let mut current = Some(id);
    while let Some(f) = current {
        if cx.roles.function(cx.file, f).roles.contains(Role::Runner) {
            return match facts.functions[f as usize].class {
                Some(_) => placement(cx, f),
                None => Category::LossInRunner,
            };
        }
        current = facts.functions[f as usize].parent;
    }
    Category::LossStandalone
}

/// A metric or evaluation helper (`accuracy`, `compute_metrics`, `evaluate`): a loss it
/// computes is reported, not optimised (issue: a metric is not a loss).
fn is_metric(cx: &FileView<'_>, id: FunctionId) -> bool {
    let knowledge = cx.knowledge();
    let name = &cx.facts().functions[id as usize].name;
    if knowledge.is_loss_function_name(name) {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    knowledge.is_metric_name(name)
        || lower.split('_').any(|token| {
            knowledge
                .training
                .evaluation
                .function_words
                .iter()
                .any(|w| w == token && w != "test")
        })
}

/// The loss definitions among a scope's differentiated, returned and loss-named values.
fn definitions<'f>(
    cx: &FileView<'_>,
    class: Option<u32>,
    scope: &'f ScopeFacts,
) -> Vec<(&'f LossValue, Definition)> {
    let classifier = cx.classifier(class);
    let mut found: Vec<(&LossValue, Definition)> = Vec::new();
    for value in scope
        .losses()
        .differentiated
        .iter()
        .chain(&scope.losses().returned)
        .chain(&scope.losses().named_losses)
        .filter(|v| !scope.without_gradients(v))
    {
        if let Verdict::Definition(definition) = classifier.verdict(value)
            && !found.iter().any(|(v, _)| v.definition == value.definition)
        {
            found.push((value, definition));
        }
    }
    found.sort_by_key(|(v, _)| v.definition.start());
    found
}

fn outermost_loop(scope: &ScopeFacts, value: &LossValue) -> Option<u32> {
    let mut current = scope
        .loops
        .iter()
        .enumerate()
        .filter(|(_, l)| l.range.contains_range(value.definition))
        .map(|(i, _)| i as u32)
        .next_back();
    while let Some(id) = current {
        match scope.loops[id as usize].parent {
            Some(parent) => current = Some(parent),
            None => return Some(id),
        }
    }
    None
}

fn span(defs: &[(&LossValue, Definition)]) -> (u32, u32) {
    let start = defs
        .iter()
        .map(|(v, _)| u32::from(v.definition.start()))
        .min()
        .unwrap_or(0);
    let end = defs
        .iter()
        .map(|(v, _)| u32::from(v.definition.end()))
        .max()
        .unwrap_or(start);
    (start, end)
}

fn describe(defs: &[(&LossValue, Definition)], shape: Option<&str>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(shape) = shape {
        parts.push(shape.to_string());
    }
    let mut kinds: Vec<String> = defs.iter().map(|(_, d)| d.describe()).collect();
    kinds.dedup();
    parts.push(kinds.join("; "));
    parts.join(": ")
}

/// The special shapes of thesis Table 4.3 that are cheap to detect.
fn special_shape(cx: &FileView<'_>, id: FunctionId) -> Option<String> {
    let facts = cx.facts();
    let function = &facts.functions[id as usize];
    let role = cx.roles.function(cx.file, id);
    let path = &cx.project_file().path;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if function.name.starts_with("test")
        || file_name.starts_with("test_")
        || file_name.ends_with("_test.py")
    {
        return Some("in a test".into());
    }
    if let Some(class) = function.class {
        if let Some((crate::semantic::queries::Hook::Loss, framework)) =
            crate::semantic::queries::hook(cx, class, function)
        {
            return Some(format!("in the {framework} hook `{}`", function.name));
        }
        let class_name = &facts.classes[class as usize].name;
        let lower = class_name.to_ascii_lowercase();
        if lower.contains("callback") || lower.contains("hook") {
            return Some("in a callback".into());
        }
        let loss_named = cx.knowledge().is_loss_class_name(class_name);
        for (word, label) in [
            ("quantiz", "in a quantizer"),
            ("distribution", "in a distribution"),
            ("sampler", "in a sampler"),
        ] {
            if lower.contains(word) && !loss_named {
                return Some(label.into());
            }
        }
    }
    if role.roles.contains(Role::Task) {
        return Some("task-like (loss, backward and optimizer step together)".into());
    }
    if function
        .parent
        .is_some_and(|p| cx.roles.function(cx.file, p).loss_factory)
    {
        return Some("returned by a loss factory".into());
    }
    let lower = function.name.to_ascii_lowercase();
    if lower.contains("eval") || lower.contains("valid") {
        return Some("in evaluation".into());
    }
    None
}

/// Render the summary as thesis Table 4.1 plus a per-repository breakdown.
pub fn render_table(survey: &Survey) -> String {
    let mut out = String::new();
    let s = &survey.summary;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    out.push_str(&format!(
        "Loss definitions by placement ({}, {})\n\n",
        plural(s.repositories.len(), "repository", "repositories"),
        plural(s.files, "file", "files")
    ));
    out.push_str(&format!(
        "{:<22} {:>10} {:>13}\n",
        "category", "instances", "repositories"
    ));
    for category in Category::ALL {
        let total = s.totals.get(category.as_str()).copied().unwrap_or_default();
        out.push_str(&format!(
            "{:<22} {:>10} {:>13}\n",
            category.as_str(),
            total.instances,
            total.repositories
        ));
    }
    out.push_str(&format!(
        "{:<22} {:>10} {:>13}\n",
        "no_loss", "-", s.no_loss
    ));
    if s.repositories.len() > 1 {
        let width = s
            .repositories
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(10)
            .max(10);
        out.push_str(&format!("\n{:<width$} {:>6}", "repository", "files"));
        for category in Category::ALL {
            out.push_str(&format!(" {:>20}", category.as_str()));
        }
        out.push('\n');
        for repo in &s.repositories {
            out.push_str(&format!("{:<width$} {:>6}", repo.name, repo.files));
            for category in Category::ALL {
                out.push_str(&format!(
                    " {:>20}",
                    repo.counts.get(&category).copied().unwrap_or(0)
                ));
            }
            out.push('\n');
        }
    }
    out
}

/// One row per instance.
pub fn render_csv(survey: &Survey) -> String {
    let mut out = String::from("path,cell,line,end_line,enclosing,category,evidence\n");
    for i in &survey.instances {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            csv_field(&i.path),
            i.cell.map_or_else(String::new, |c| c.to_string()),
            i.line,
            i.end_line,
            csv_field(&i.enclosing),
            i.category.as_str(),
            csv_field(&i.evidence)
        ));
    }
    out
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// The repository of a file: the first path component under `root` (`--per-repo`), or the
/// path argument that contains it.
pub fn repository_resolver(
    roots: Vec<PathBuf>,
    per_repo: bool,
    cwd: PathBuf,
) -> impl Fn(&Path) -> String + Sync {
    move |path: &Path| {
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            cwd.join(path)
        };
        for root in &roots {
            let root_abs = if root.is_absolute() {
                root.clone()
            } else {
                cwd.join(root)
            };
            let root_abs = crate::discovery::normalize(&root_abs);
            if let Ok(rest) = absolute.strip_prefix(&root_abs) {
                if per_repo {
                    if let Some(first) = rest.components().next()
                        && rest.components().count() > 1
                    {
                        return first.as_os_str().to_string_lossy().into_owned();
                    }
                    return "<root>".into();
                }
                return crate::discovery::display_path(root, &cwd);
            }
        }
        crate::discovery::display_path(path, &cwd)
    }
}
