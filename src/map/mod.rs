//! `dllint map`: the project's MODLR architecture as a graph — every component with its role,
//! location and the evidence for the role, and the dependencies between them, including the
//! violating ones (a Model computing a loss, a Model building an optimizer).
//!
//! Built from the same project index and roles the rules use; rendered as text, JSON, Mermaid,
//! Graphviz dot or a self-contained HTML page.

mod html;
mod render;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

pub use html::render_html;
pub use render::{render_dot, render_json, render_mermaid, render_text};

use crate::engine::Project;
use crate::knowledge::ApiKind;
use crate::semantic::Role;
use crate::semantic::facts::{Callee, ClassId, FunctionId, ScopeFacts};
use crate::semantic::index::{FileId, Symbol};
use crate::semantic::view::FileView;
use crate::source::{SourceText, read_source};

/// What kind of code a component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentKind {
    Class,
    Function,
    /// Module-level code of a script (a training loop, or a composition root).
    Script,
    /// A framework API used by the project (`torch.optim.SGD`, `DataLoader`).
    Library,
    /// Loss code written inline in a model (the target of a violating edge).
    Inline,
    /// An entry point that wires components together without a role of its own (`main()`,
    /// a `train.py` composition root).
    Entry,
}

#[derive(Debug, Clone, Serialize)]
pub struct Component {
    pub id: String,
    pub kind: ComponentKind,
    pub roles: Vec<&'static str>,
    /// Short name (`FasterRCNN`).
    pub name: String,
    /// Dotted name (`models.detector.FasterRCNN`).
    pub qualified: String,
    pub path: String,
    /// In a notebook: the cell (numbered as Jupyter shows them); `line` is then within that
    /// cell, as `dllint check` reports positions. `None` in Python files.
    pub cell: Option<usize>,
    pub line: usize,
    pub evidence: Vec<String>,
    /// Codes of the findings inside the component.
    pub findings: Vec<String>,
}

/// How one component depends on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Calls a component (or an instance of one).
    Uses,
    /// Calls a function component.
    Calls,
    /// Instantiates a class component.
    Creates,
    Holds,
    Extends,
    /// A Runner handed a component at construction (`Runner(model, GANLoss(), Adam(...))`):
    /// the edge goes from the Runner to what it receives.
    Receives,
    /// A Model computing a loss (violation).
    ComputesLoss,
    /// A Model building or stepping an optimizer (violation).
    BuildsOptimizer,
}

impl EdgeKind {
    pub fn label(self) -> &'static str {
        match self {
            EdgeKind::Calls => "calls",
            EdgeKind::Uses => "uses",
            EdgeKind::Creates => "creates",
            EdgeKind::Holds => "holds",
            EdgeKind::Extends => "extends",
            EdgeKind::Receives => "receives",
            EdgeKind::ComputesLoss => "computes loss",
            EdgeKind::BuildsOptimizer => "builds optimizer",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    pub violation: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Map {
    pub components: Vec<Component>,
    pub edges: Vec<Edge>,
}

impl Map {
    /// The qualified name of each component by its id, for renderers that print edges (one
    /// lookup table, not a scan of the components per edge).
    pub fn qualified_names(&self) -> rustc_hash::FxHashMap<&str, &str> {
        self.components
            .iter()
            .map(|c| (c.id.as_str(), c.qualified.as_str()))
            .collect()
    }
}

/// Where a component lives in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Class(FileId, ClassId),
    Function(FileId, FunctionId),
    Script(FileId),
    /// A function or module scope without a role that creates or calls components.
    EntryFunction(FileId, FunctionId),
    EntryModule(FileId),
}

/// Build the map of the linted files of `project` (components in context files appear when
/// a linted component depends on them).
pub fn build(project: &Project, cwd: &Path) -> Map {
    let index = &project.index;
    let roles = project.roles();
    let mut keys: BTreeMap<Key, Vec<&'static str>> = BTreeMap::new();
    for (f, file) in index.all_files().iter().enumerate() {
        let f = f as FileId;
        for c in 0..file.facts.classes.len() as ClassId {
            let set = &roles.class(f, c).roles;
            let list: Vec<&'static str> = role_names(set.iter(), set.contains(Role::Loss));
            if !list.is_empty()
                && (file.linted || set.contains(Role::Model) || set.contains(Role::Loss))
            {
                keys.insert(Key::Class(f, c), list);
            }
        }
        if !file.linted {
            continue;
        }
        for id in 0..file.facts.functions.len() as FunctionId {
            let function = &file.facts.functions[id as usize];
            if function.class.is_some() {
                continue; // methods are part of their class
            }
            let set = &roles.function(f, id).roles;
            let list = role_names(set.iter(), false);
            if !list.is_empty() {
                keys.insert(Key::Function(f, id), list);
            }
        }
        let module = roles.module(f);
        if module.contains(Role::Runner) {
            keys.insert(Key::Script(f), vec!["Runner"]);
        }
    }

    // Entry points: functions and scripts that wire at least two components together.
    let mut entries: Vec<Key> = Vec::new();
    for (f, file) in index.all_files().iter().enumerate() {
        let f = f as FileId;
        if !file.linted {
            continue;
        }
        let cx = FileView::new(index, roles, f);
        let wires = |scope: &ScopeFacts| {
            let mut targets: Vec<Key> = scope
                .project_calls
                .iter()
                .filter_map(|c| resolve_component(&cx, &c.callee, &keys))
                .collect();
            targets.sort();
            targets.dedup();
            targets.len() >= 2
        };
        for (id, function) in file.facts.functions.iter().enumerate() {
            let key = Key::Function(f, id as FunctionId);
            if function.class.is_none() && !keys.contains_key(&key) && wires(&function.body) {
                entries.push(Key::EntryFunction(f, id as FunctionId));
            }
        }
        if !keys.contains_key(&Key::Script(f)) && wires(&file.facts.module) {
            entries.push(Key::EntryModule(f));
        }
    }
    for entry in entries {
        keys.insert(entry, vec![]);
    }

    let mut components: BTreeMap<Key, Component> = BTreeMap::new();
    let mut library: BTreeMap<String, Component> = BTreeMap::new();
    let mut edges: Vec<Edge> = Vec::new();
    let mut sources: BTreeMap<FileId, Option<std::sync::Arc<SourceText>>> = BTreeMap::new();
    // The cell (in a notebook) and line of an offset, as `check` shows positions.
    let mut position_of =
        |file: FileId, offset: ruff_text_size::TextSize| -> (Option<usize>, usize) {
            let Some(source) = sources
                .entry(file)
                .or_insert_with(|| {
                    // A file given in memory (an editor buffer, a fixed text) is read from
                    // there, not from disk.
                    let project_file = index.file(file);
                    match &project_file.text {
                        Some(text) => Some(text.clone()),
                        None => read_source(&project_file.path)
                            .ok()
                            .map(std::sync::Arc::new),
                    }
                })
                .as_ref()
            else {
                return (None, 1);
            };
            match source.cell_location(offset) {
                Some(location) => (Some(location.cell), location.row),
                None => (None, source.line_of(offset)),
            }
        };
    for (key, role_list) in &keys {
        let (file, name, qualified, offset, evidence) = match *key {
            Key::Class(f, c) => {
                let class = &index.facts(f).classes[c as usize];
                let mut evidence: Vec<String> = roles
                    .class(f, c)
                    .evidence
                    .iter()
                    .map(|e| e.to_string())
                    .collect();
                if !role_list.contains(&"Model") {
                    // A module that only computes a loss: its base is evidence, not its role.
                    for e in &mut evidence {
                        if let Some(rest) = e.strip_prefix("Model: ") {
                            *e = rest.to_string();
                        }
                    }
                }
                (
                    f,
                    class.name.to_string(),
                    qualified_name(project, f, &class.qualname),
                    class.name_range.start(),
                    evidence,
                )
            }
            Key::Function(f, id) => {
                let facts = index.facts(f);
                let function = &facts.functions[id as usize];
                (
                    f,
                    function.name.to_string(),
                    qualified_name(project, f, &facts.qualname(id)),
                    function.name_range.start(),
                    roles
                        .function(f, id)
                        .evidence
                        .iter()
                        .map(|e| e.to_string())
                        .collect(),
                )
            }
            Key::Script(f) => {
                let name = index
                    .file(f)
                    .path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                let loops = roles.training.outermost(index.facts(f), f, None);
                let offset = loops.first().map_or_else(Default::default, |l| {
                    index.facts(f).module.loops[l.id as usize].range.start()
                });
                (
                    f,
                    name.clone(),
                    format!("{} <module>", module_of(project, f)),
                    offset,
                    vec!["a training loop at module level".into()],
                )
            }
            Key::EntryFunction(f, id) => {
                let facts = index.facts(f);
                let function = &facts.functions[id as usize];
                (
                    f,
                    function.name.to_string(),
                    qualified_name(project, f, &facts.qualname(id)),
                    function.name_range.start(),
                    vec!["creates and wires components".into()],
                )
            }
            Key::EntryModule(f) => {
                let name = index
                    .file(f)
                    .path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                (
                    f,
                    name,
                    format!("{} <module>", module_of(project, f)),
                    Default::default(),
                    vec!["creates and wires components".into()],
                )
            }
        };
        let (cell, line) = position_of(file, offset);
        let component = Component {
            id: String::new(),
            kind: match key {
                Key::Class(..) => ComponentKind::Class,
                Key::Function(..) => ComponentKind::Function,
                Key::Script(..) => ComponentKind::Script,
                Key::EntryFunction(..) | Key::EntryModule(..) => ComponentKind::Entry,
            },
            roles: role_list.clone(),
            name,
            qualified,
            path: crate::discovery::display_path(&index.file(file).path, cwd),
            cell,
            line,
            evidence,
            findings: Vec::new(),
        };
        components.insert(*key, component);
    }

    // Edges out of each component.
    for key in keys.keys() {
        let (file, class) = match *key {
            Key::Class(f, c) => (f, Some(c)),
            Key::Function(f, _)
            | Key::Script(f)
            | Key::EntryFunction(f, _)
            | Key::EntryModule(f) => (f, None),
        };
        let cx = FileView::new(index, roles, file);
        let facts = index.facts(file);
        let scopes: Vec<&ScopeFacts> = match *key {
            Key::Class(f, c) => index.facts(f).classes[c as usize]
                .methods
                .iter()
                .map(|&m| &facts.functions[m as usize].body)
                .collect(),
            Key::Function(_, id) | Key::EntryFunction(_, id) => {
                // The function and the functions nested in it.
                let mut scopes = vec![&facts.functions[id as usize].body];
                scopes.extend(
                    facts
                        .functions
                        .iter()
                        .filter(|g| g.parent == Some(id))
                        .map(|g| &g.body),
                );
                scopes
            }
            Key::Script(_) | Key::EntryModule(_) => vec![&facts.module],
        };
        let model = components
            .get(key)
            .is_some_and(|c| c.roles.contains(&"Model"));
        for scope in &scopes {
            for call in &scope.project_calls {
                if let Some(target) = resolve_component(&cx, &call.callee, &keys) {
                    let kind = match (&call.callee, target) {
                        (Callee::InstanceOf(_), _) => EdgeKind::Uses,
                        (_, Key::Class(..)) => EdgeKind::Creates,
                        _ => EdgeKind::Calls,
                    };
                    push_edge(&mut edges, *key, target, kind, false);
                }
            }
            injection_edges(&cx, scope, &keys, &mut library, &mut edges);
            for api in &scope.api_calls {
                let role = match api.kind {
                    ApiKind::Optimizer => "Optimizer",
                    ApiKind::DataPipeline => "Dataset",
                    ApiKind::LossClass => "Loss",
                    _ => continue,
                };
                if api.in_compile {
                    continue;
                }
                let violation = model && role == "Optimizer";
                let target = library_component(&mut library, &api.name, role);
                let kind = if violation {
                    EdgeKind::BuildsOptimizer
                } else {
                    EdgeKind::Uses
                };
                edges.push(Edge {
                    from: key_id(*key),
                    to: target,
                    kind,
                    violation,
                });
            }
        }
        if let Some(c) = class {
            let class_facts = &facts.classes[c as usize];
            for attribute in &class_facts.attributes {
                if let Some(target) = resolve_component(&cx, &attribute.ctor, &keys)
                    && target != *key
                {
                    push_edge(&mut edges, *key, target, EdgeKind::Holds, false);
                }
            }
            for base in &class_facts.bases {
                if let Some(Symbol::Class(bf, bc)) = index.resolve_callee(file, base)
                    && keys.contains_key(&Key::Class(bf, bc))
                {
                    push_edge(
                        &mut edges,
                        *key,
                        Key::Class(bf, bc),
                        EdgeKind::Extends,
                        false,
                    );
                }
            }
            if model
                && !components
                    .get(key)
                    .is_some_and(|x| x.roles.contains(&"Loss"))
            {
                let sites = crate::semantic::queries::model_loss_sites(&cx, c);
                if !sites.is_empty() {
                    let target = format!("inline:{}", key_id(*key));
                    library.insert(
                        target.clone(),
                        Component {
                            id: target.clone(),
                            kind: ComponentKind::Inline,
                            roles: vec!["Loss"],
                            name: "loss code".into(),
                            qualified: format!(
                                "{} (inline loss)",
                                components.get(key).map_or("", |c| c.qualified.as_str())
                            ),
                            path: String::new(),
                            cell: None,
                            line: 0,
                            evidence: vec!["a loss computed inside the model".into()],
                            findings: Vec::new(),
                        },
                    );
                    edges.push(Edge {
                        from: key_id(*key),
                        to: target,
                        kind: EdgeKind::ComputesLoss,
                        violation: true,
                    });
                }
            }
        }
    }

    // Findings: run once over the report.
    for report in &project.report.files {
        for d in &report.diagnostics {
            let Some(file) = index
                .all_files()
                .iter()
                .position(|f| *f.path == *report.path)
            else {
                continue;
            };
            let file = file as FileId;
            let facts = index.facts(file);
            let owner = keys
                .keys()
                .copied()
                .filter(|k| match *k {
                    Key::Class(f, c) => {
                        f == file && facts.classes[c as usize].range.contains(d.range.start())
                    }
                    Key::Function(f, id) => {
                        f == file && facts.functions[id as usize].range.contains(d.range.start())
                    }
                    Key::Script(f) => f == file,
                    Key::EntryFunction(f, id) => {
                        f == file && facts.functions[id as usize].range.contains(d.range.start())
                    }
                    Key::EntryModule(_) => false,
                })
                .min_by_key(|k| match *k {
                    Key::Class(f, c) => index.facts(f).classes[c as usize].range.len(),
                    Key::Function(f, id) => index.facts(f).functions[id as usize].range.len(),
                    Key::EntryFunction(f, id) => index.facts(f).functions[id as usize].range.len(),
                    Key::Script(_) | Key::EntryModule(_) => u32::MAX.into(),
                });
            if let Some(owner) = owner
                && let Some(component) = components.get_mut(&owner)
                && !component.findings.iter().any(|c| c == d.code)
            {
                component.findings.push(d.code.to_string());
            }
        }
    }

    let mut list: Vec<Component> = components
        .into_iter()
        .map(|(key, mut c)| {
            c.id = key_id(key);
            c.findings.sort();
            c
        })
        .collect();
    list.extend(library.into_values());
    let external = |c: &Component| matches!(c.kind, ComponentKind::Library | ComponentKind::Inline);
    list.sort_by(|a, b| {
        (external(a), &a.path, a.cell, a.line, &a.qualified).cmp(&(
            external(b),
            &b.path,
            b.cell,
            b.line,
            &b.qualified,
        ))
    });
    edges.sort();
    edges.dedup();
    // Stable, readable ids in output order.
    let renames: BTreeMap<String, String> = list
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), format!("c{i}")))
        .collect();
    for c in &mut list {
        c.id = renames[&c.id].clone();
    }
    for e in &mut edges {
        e.from = renames.get(&e.from).cloned().unwrap_or_default();
        e.to = renames.get(&e.to).cloned().unwrap_or_default();
    }
    edges.retain(|e| !e.from.is_empty() && !e.to.is_empty() && e.from != e.to);
    // One edge per pair of components: the first kind in `EdgeKind` order wins (a component
    // that creates and then uses another is shown as using it).
    edges.sort_by(|a, b| (&a.from, &a.to, a.kind).cmp(&(&b.from, &b.to, b.kind)));
    edges.dedup_by(|later, first| later.from == first.from && later.to == first.to);
    edges.sort();
    Map {
        components: list,
        edges,
    }
}

fn role_names(roles: impl Iterator<Item = Role>, is_loss: bool) -> Vec<&'static str> {
    roles
        .filter(|r| !(is_loss && *r == Role::Model))
        .map(Role::as_str)
        .collect()
}

fn key_id(key: Key) -> String {
    match key {
        Key::Class(f, c) => format!("k{f}_{c}"),
        Key::Function(f, id) => format!("f{f}_{id}"),
        Key::Script(f) => format!("s{f}"),
        Key::EntryFunction(f, id) => format!("e{f}_{id}"),
        Key::EntryModule(f) => format!("m{f}"),
    }
}

fn push_edge(edges: &mut Vec<Edge>, from: Key, to: Key, kind: EdgeKind, violation: bool) {
    if from != to {
        edges.push(Edge {
            from: key_id(from),
            to: key_id(to),
            kind,
            violation,
        });
    }
}

fn library_component(
    library: &mut BTreeMap<String, Component>,
    name: &str,
    role: &'static str,
) -> String {
    let id = format!("lib:{name}");
    library
        .entry(name.to_string())
        .or_insert_with(|| Component {
            id: id.clone(),
            kind: ComponentKind::Library,
            roles: vec![role],
            name: name.rsplit('.').next().unwrap_or(name).to_string(),
            qualified: name.to_string(),
            path: String::new(),
            cell: None,
            line: 0,
            evidence: vec!["framework API".into()],
            findings: Vec::new(),
        });
    id
}

/// Components constructed inline as arguments of a Runner's constructor are dependencies of
/// the Runner: `Runner(model, GANLoss(), torch.optim.Adam(...))` gives Runner → GANLoss and
/// Runner → Adam. (Arguments passed through variables are not followed.)
fn injection_edges(
    cx: &FileView<'_>,
    scope: &ScopeFacts,
    keys: &BTreeMap<Key, Vec<&'static str>>,
    library: &mut BTreeMap<String, Component>,
    edges: &mut Vec<Edge>,
) {
    for outer in &scope.project_calls {
        let Some(runner) = resolve_component(cx, &outer.callee, keys) else {
            continue;
        };
        if !matches!(runner, Key::Class(..)) || !keys[&runner].contains(&"Runner") {
            continue;
        }
        let inside = |range: ruff_text_size::TextRange| {
            range != outer.range && outer.range.contains_range(range)
        };
        for inner in scope.project_calls.iter().filter(|c| inside(c.range)) {
            if let Some(target) = resolve_component(cx, &inner.callee, keys) {
                push_edge(edges, runner, target, EdgeKind::Receives, false);
            }
        }
        for api in scope.api_calls.iter().filter(|a| inside(a.range)) {
            let role = match api.kind {
                ApiKind::Optimizer => "Optimizer",
                ApiKind::DataPipeline => "Dataset",
                ApiKind::LossClass => "Loss",
                _ => continue,
            };
            let target = library_component(library, &api.name, role);
            edges.push(Edge {
                from: key_id(runner),
                to: target,
                kind: EdgeKind::Receives,
                violation: false,
            });
        }
    }
}

/// The component a callee refers to, if it is one.
fn resolve_component(
    cx: &FileView<'_>,
    callee: &Callee,
    keys: &BTreeMap<Key, Vec<&'static str>>,
) -> Option<Key> {
    let inner = match callee {
        Callee::InstanceOf(ctor) => &**ctor,
        other => other,
    };
    let key = match cx.index.resolve_callee(cx.file, inner)? {
        Symbol::Class(f, c) => Key::Class(f, c),
        Symbol::Function(f, id) => Key::Function(f, id),
        Symbol::Module(_) => return None,
    };
    keys.contains_key(&key).then_some(key)
}

/// The dotted module of a file: its package and stem (`models.detector`), or its stem.
fn module_of(project: &Project, file: FileId) -> String {
    let f = project.index.file(file);
    let stem = f
        .path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    match (&f.facts.package, stem.as_str()) {
        (Some(package), "__init__") => package.clone(),
        (Some(package), _) => format!("{package}.{stem}"),
        (None, _) => stem,
    }
}

fn qualified_name(project: &Project, file: FileId, qualname: &str) -> String {
    format!("{}.{qualname}", module_of(project, file))
}
