use ruff_text_size::TextRange;

use crate::knowledge::ApiKind;
use crate::registry::prelude::*;
use crate::rule_context::ProjectContext;
use crate::rules::coupling::{definitions, file_name};
use crate::rules::layout::{component_module, is_in_place};
use crate::semantic::facts::{ClassId, FunctionId, Role, ScopeFacts};

declare_rule! {
    /// ## What it does
    /// Finds modules that *implement* three or more MODLR roles, and files that implement two
    /// or more roles in more than `max-lines` lines (default 800). A module is a file meant to
    /// be imported: it has no entry point (no `if __name__ == "__main__":`, no training started
    /// at module level). A self-contained script that holds its whole experiment — data,
    /// network, loss and loop, as single-file research code and tutorials are written on
    /// purpose — is reported only once it outgrows `max-lines`. A role is implemented in a file
    /// when a component of that role is defined there (a Model, Loss, Dataset, Optimizer or
    /// Runner class or function), or when its logic is written there inline: a loss formula
    /// inside a training
    /// loop counts as Loss (and the loop as Runner), a transform chain or per-batch data
    /// loading as Dataset, a network assembled from layers outside a model class as Model.
    ///
    /// Not counted: constructing a library optimizer (`torch.optim.Adam(...)`), building a
    /// `DataLoader` around an imported dataset, creating imported components — that is
    /// wiring, and a thin `train.py` that parses arguments and wires imported components into
    /// a Runner is the MODLR ideal. A loss computed inside a model's `forward` is not counted
    /// as a second role here; `DL101` reports it. Nor is a loss written in a class that is the
    /// model and its own runner at once; `DL103` reports that class. Test modules (`test_*.py`, `*_test.py`,
    /// `conftest.py`, modules of a `tests`/`testing` package) are not reported: they define a
    /// small component of each role as fixtures.
    ///
    /// ## Why is this bad?
    /// "Not well defined where to place components" was the most-mentioned structural
    /// complaint of practitioners: a file holding the dataset, the model, the loss and the
    /// loop cannot be reused in part, cannot be tested in part, and every experiment edits
    /// it. Split by role, each piece can be swapped (a new loss, a new dataset) without
    /// touching the others.
    ///
    /// ## Example
    /// ```python
    /// # train.py
    /// class CifarDataset(Dataset): ...
    /// class Net(nn.Module): ...
    /// for epoch in range(10):
    ///     for x, y in loader:
    ///         loss = F.cross_entropy(net(x), y) + 1e-4 * l2(net)
    ///         ...
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// # dataset.py: class CifarDataset(Dataset): ...
    /// # model.py:   class Net(nn.Module): ...
    /// # loss.py:    class RegularizedCrossEntropy: ...
    /// # runner.py:  class Runner: def fit(self, loader, epochs): ...
    /// # train.py:   builds the four and calls Runner(net, loss, optimizer).fit(loader, 10)
    /// ```
    ///
    /// ## Notebooks
    /// Skipped. A notebook is a document, not a module: a tutorial or an experiment notebook shows
    /// the data, the model, the loss and the loop together on purpose, and splitting it into
    /// modules would defeat what it is for. Turn it back on by listing the notebook-ignore rules
    /// without DL201 (`notebook-ignore = ["DL107", "DL508"]`).
    pub static GOD_FILE = {
        code: "DL201",
        name: "god-file",
        family: Family::Structure,
        severity: Severity::Warning,
        notebooks: Notebooks::Skip,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[
            OptionSpec {
                key: "max-lines",
                kind: OptionKind::Int,
                default: "800",
                doc: "Files longer than this are reported when they implement two roles.",
            },
        ],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

/// Roles in the order they are listed.
const ORDER: [Role; 5] = [
    Role::Dataset,
    Role::Model,
    Role::Loss,
    Role::Optimizer,
    Role::Runner,
];

/// Labels shown per role; the rest are counted.
const LABELS_PER_ROLE: usize = 3;

/// One piece of a role implemented in the file.
struct Part {
    role: Role,
    range: TextRange,
    /// `` `Net` `` or "a loss formula in the training loop of `train`".
    what: String,
    /// A component name to move (None for inline logic).
    component: Option<String>,
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    if cx
        .knowledge()
        .is_test_module(cx.facts().package.as_deref(), &file_name(cx))
    {
        return; // a test module defines one small component of each role as fixtures
    }
    let parts = parts(cx);
    let mut roles: Vec<Role> = ORDER
        .into_iter()
        .filter(|r| parts.iter().any(|p| p.role == *r))
        .collect();
    let lines = u64::from(cx.facts().line_count);
    let max_lines = cx.options().int(&GOD_FILE, "max-lines");
    let script = cx.is_script();
    if roles.len() < 2 || (roles.len() == 2 || script) && lines <= max_lines {
        return;
    }
    roles.sort_by_key(|r| ORDER.iter().position(|o| o == r));
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let size = if roles.len() >= 3 {
        String::new()
    } else {
        format!(" in {lines} lines (more than {max_lines})")
    };
    let mut diagnostic = Diagnostic::new(
        &GOD_FILE,
        format!(
            "`{}` implements {} MODLR roles{size}: {}",
            file_name(cx),
            roles.len(),
            names.join(", ")
        ),
        TextRange::empty(0.into()),
    );
    for role in &roles {
        let of_role: Vec<&Part> = parts.iter().filter(|p| p.role == *role).collect();
        for part in of_role.iter().take(LABELS_PER_ROLE) {
            diagnostic =
                diagnostic.with_label(part.range, format!("{}: {}", role.as_str(), part.what));
        }
        if of_role.len() > LABELS_PER_ROLE {
            let last = of_role[LABELS_PER_ROLE];
            diagnostic = diagnostic.with_label(
                last.range,
                format!(
                    "{}: and {} more",
                    role.as_str(),
                    of_role.len() - LABELS_PER_ROLE
                ),
            );
        }
    }
    out.push(diagnostic.with_help(split_plan(cx, &roles, &parts)));
}

/// Everything in the file that implements a role.
fn parts(cx: &ProjectContext<'_>) -> Vec<Part> {
    let facts = cx.facts();
    let mut parts = Vec::new();
    for (c, class) in facts.classes.iter().enumerate() {
        let class_role = cx.roles.class(cx.file, c as ClassId);
        let set = &class_role.roles;
        // A callback hooks into someone else's loop: it implements no Runner of its own. A
        // class that runs a model it is given through its loss, with no loop and no optimizer
        // (a diffusion objective, `ClassificationTask(model, criterion)`), is a Loss that calls
        // the model (thesis: a Loss may depend on models), not a Runner.
        let runner = set.contains(Role::Runner) && !class_role.callback;
        let task_loss = set.contains(Role::Task) && !set.contains(Role::Runner);
        let role = if set.contains(Role::Loss) || task_loss {
            Role::Loss
        } else if set.contains(Role::Dataset) {
            Role::Dataset
        } else if runner {
            Role::Runner
        } else if set.contains(Role::Optimizer) {
            Role::Optimizer
        } else if set.contains(Role::Model) {
            Role::Model
        } else {
            continue;
        };
        // A model that also trains itself is a Model whose training loop is a Runner: the
        // class stays a model, its loop moves out.
        if role == Role::Runner && set.contains(Role::Model) && !set.contains(Role::Loss) {
            parts.push(Part {
                role: Role::Model,
                range: class.name_range,
                what: format!("`{}`", class.qualname),
                component: Some(class.qualname.to_string()),
            });
            parts.push(Part {
                role: Role::Runner,
                range: class.name_range,
                what: format!("the training loop in `{}`", class.qualname),
                component: None,
            });
            continue;
        }
        parts.push(Part {
            role,
            range: class.name_range,
            what: format!("`{}`", class.qualname),
            component: Some(class.qualname.to_string()),
        });
    }
    for (id, function) in facts.functions.iter().enumerate() {
        let id = id as FunctionId;
        if function.class.is_some() || function.parent.is_some() {
            continue; // methods belong to their class, closures to their function
        }
        let set = &cx.roles.function(cx.file, id).roles;
        let role = if set.contains(Role::Loss) {
            Some(Role::Loss)
        } else if set.contains(Role::Runner) || set.contains(Role::Task) {
            Some(Role::Runner)
        } else if set.contains(Role::Dataset) {
            Some(Role::Dataset)
        } else {
            None
        };
        let name = facts.qualname(id);
        if let Some(role) = role {
            parts.push(Part {
                role,
                range: function.name_range,
                what: format!("`{name}`"),
                component: Some(name.clone()),
            });
        }
        if role == Some(Role::Runner) {
            inline_loss(
                cx,
                None,
                &function.body,
                &format!("the training loop of `{name}`"),
                &mut parts,
            );
        }
        if role != Some(Role::Dataset) {
            let trains = cx.roles.training.trains(cx.file, Some(id as FunctionId));
            inline_data(
                cx,
                &function.body,
                trains,
                &format!("in `{name}`"),
                &mut parts,
            );
        }
        if role != Some(Role::Loss) {
            inline_model(&function.body, &format!("in `{name}`"), &mut parts);
        }
    }
    // Methods of runner classes write loss formulas inline too. A class that is also the
    // model keeps its loss as a model does (`DL103` reports it, as `DL101` a loss in `forward`).
    for (id, function) in facts.functions.iter().enumerate() {
        if let Some(class) = function.class {
            let set = &cx.roles.class(cx.file, class).roles;
            if (set.contains(Role::Runner) || set.contains(Role::Task))
                && !set.contains(Role::Loss)
                && !set.contains(Role::Model)
            {
                let place = format!("`{}`", facts.qualname(id as FunctionId));
                inline_loss(cx, Some(class), &function.body, &place, &mut parts);
            }
        }
    }
    let module = &facts.module;
    if cx.roles.module(cx.file).contains(Role::Runner) {
        let loops = cx.training_loops(None);
        if let Some(first) = loops.first() {
            parts.push(Part {
                role: Role::Runner,
                range: module.loops[first.id as usize].header,
                what: "a training loop at module level".into(),
                component: None,
            });
        }
        inline_loss(
            cx,
            None,
            module,
            "the module-level training loop",
            &mut parts,
        );
    }
    let trains = cx.roles.training.trains(cx.file, None);
    inline_data(cx, module, trains, "at module level", &mut parts);
    inline_model(module, "at module level", &mut parts);
    parts.sort_by_key(|p| (p.range.start(), ORDER.iter().position(|r| *r == p.role)));
    parts
}

/// Loss formulas written in a runner scope.
fn inline_loss(
    cx: &ProjectContext<'_>,
    class: Option<ClassId>,
    scope: &ScopeFacts,
    place: &str,
    parts: &mut Vec<Part>,
) {
    let values = scope
        .losses()
        .differentiated
        .iter()
        .chain(&scope.losses().returned);
    if let Some((value, definition)) = definitions(cx, class, values).into_iter().next() {
        parts.push(Part {
            role: Role::Loss,
            range: value.definition,
            what: format!(
                "a loss formula written in {place} (it {})",
                definition.describe()
            ),
            component: None,
        });
    }
}

/// Data preparation written in a scope: a transform chain with random augmentation (two or
/// more calls, one of them random), or data read inside a training loop. A deterministic
/// preprocessing chain handed to a library dataset (`Compose([ToTensor(), Normalize(...)])`)
/// is wiring, not an implemented Dataset.
fn inline_data(
    cx: &ProjectContext<'_>,
    scope: &ScopeFacts,
    trains: bool,
    place: &str,
    parts: &mut Vec<Part>,
) {
    let chain: Vec<_> = scope
        .api_calls
        .iter()
        .filter(|a| matches!(a.kind, ApiKind::Transform | ApiKind::Augmentation))
        .collect();
    let knowledge = cx.knowledge();
    let chain = if chain
        .iter()
        .any(|a| knowledge.is_random_augmentation(&a.name))
    {
        chain
    } else {
        Vec::new()
    };
    let loading = scope
        .api_calls
        .iter()
        .find(|a| a.kind == ApiKind::DataLoading && a.in_loop.is_some() && trains);
    if chain.len() >= 2 {
        parts.push(Part {
            role: Role::Dataset,
            range: chain[0].range,
            what: format!("a transform chain built {place} (`{}`)", chain[0].name),
            component: None,
        });
    } else if let Some(call) = loading {
        parts.push(Part {
            role: Role::Dataset,
            range: call.range,
            what: format!("data loaded in the training loop {place} (`{}`)", call.name),
            component: None,
        });
    }
}

/// A network assembled from three or more layers outside a model class.
fn inline_model(scope: &ScopeFacts, place: &str, parts: &mut Vec<Part>) {
    let layers: Vec<_> = scope
        .api_calls
        .iter()
        .filter(|a| a.kind == ApiKind::Layer)
        .collect();
    if layers.len() >= 3 {
        parts.push(Part {
            role: Role::Model,
            range: layers[0].range,
            what: format!("a network assembled from {} layers {place}", layers.len()),
            component: None,
        });
    }
}

/// The concrete split: where each role's components go, following the project's layout. A
/// role whose place this file already is (a model file inside `models/`) stays.
fn split_plan(cx: &ProjectContext<'_>, roles: &[Role], parts: &[Part]) -> String {
    let this = file_name(cx);
    let mut moves = Vec::new();
    let mut stays = Vec::new();
    for role in roles {
        if is_in_place(cx, *role) {
            stays.push(*role);
            continue;
        }
        let target = component_module(cx, *role);
        // First-seen order, each name once (a set: a god file can hold thousands of parts).
        let mut seen = rustc_hash::FxHashSet::default();
        let names: Vec<&str> = parts
            .iter()
            .filter(|p| p.role == *role)
            .filter_map(|p| p.component.as_deref())
            .filter(|name| seen.insert(*name))
            .collect();
        let what = match (names.len(), role) {
            (0, Role::Loss) => "the loss formula, as a Loss component".to_string(),
            (0, Role::Runner) => "the training loop, as a `Runner` class".to_string(),
            (0, Role::Dataset) => "the data preparation, as a `Dataset`".to_string(),
            (0, Role::Model) => "the network, as a model class".to_string(),
            (0, _) => role.as_str().to_string(),
            (_, _) => {
                let shown: Vec<String> = names.iter().take(4).map(|n| format!("`{n}`")).collect();
                let more = if names.len() > 4 {
                    format!(" and {} more", names.len() - 4)
                } else {
                    String::new()
                };
                format!("{}{more}", shown.join(", "))
            }
        };
        moves.push(format!("{what} to `{target}`"));
    }
    if moves.is_empty() {
        // Every role is somewhere it belongs (a trainer inside `models/`): the file is only too
        // big for what it holds.
        let kept: Vec<&str> = stays.iter().map(|r| r.as_str()).collect();
        return format!(
            "split it: give each of its roles ({}) a module of its own",
            kept.join(", ")
        );
    }
    let keep = if roles.contains(&Role::Runner) {
        let root = if this.starts_with("train") {
            format!("`{this}`")
        } else {
            "`train.py`".to_string()
        };
        format!(
            "; keep {root} as the composition root that builds these components and hands them to the Runner"
        )
    } else if stays.is_empty() {
        format!("; what remains in `{this}` wires them together")
    } else {
        let kept: Vec<&str> = stays.iter().map(|r| r.as_str()).collect();
        format!("; `{this}` keeps its {} components", kept.join(" and "))
    };
    format!("split it by role: move {}{keep}", moves.join("; "))
}
