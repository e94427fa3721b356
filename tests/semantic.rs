//! The semantic layer on small projects: cross-file roles with evidence, definition-vs-usage
//! verdicts, knowledge extended from configuration, and what a reader of the index is charged
//! with (`semantic::reads`).

mod common;

use std::fs;
use std::path::Path;

use dllint::config::{Overrides, Resolver};
use dllint::engine::{self, Input, Project};
use dllint::semantic::Role;
use dllint::semantic::verdict::{Classifier, Definition, Verdict};

fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    let project = run(
        dir.path(),
        &files
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| n.ends_with(".py"))
            .collect::<Vec<_>>(),
    );
    (dir, project)
}

fn run(root: &Path, files: &[&str]) -> Project {
    let resolver = Resolver::new(root.to_path_buf(), None, false, Overrides::default()).unwrap();
    let inputs = files
        .iter()
        .map(|f| {
            let path = root.join(f);
            Input {
                settings: resolver.settings_for(&path).unwrap(),
                path,
                text: None,
            }
        })
        .collect();
    engine::run(inputs, Some(2), root, &resolver)
}

fn class_roles(project: &Project, file_suffix: &str, class: &str) -> (Vec<Role>, Vec<String>) {
    for (f, file) in project.index.all_files().iter().enumerate() {
        if !file.path.to_string_lossy().ends_with(file_suffix) {
            continue;
        }
        if let Some((id, _)) = file.facts.class_named(class) {
            let role = project.roles().class(f as u32, id);
            return (
                role.roles.iter().collect(),
                role.evidence.iter().map(|e| e.to_string()).collect(),
            );
        }
    }
    panic!("no class {class} in {file_suffix}");
}

#[test]
fn a_subclass_of_a_project_model_in_another_file_is_a_model() {
    let (_dir, project) = project(&[
        ("pkg/__init__.py", ""),
        (
            "pkg/base.py",
            "import torch.nn as nn\n\nclass Base(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(2, 2)\n",
        ),
        (
            "pkg/heads.py",
            "from .base import Base\n\nclass Head(Base):\n    def forward(self, x, targets=None):\n        return self.fc(x)\n",
        ),
    ]);
    let (roles, evidence) = class_roles(&project, "heads.py", "Head");
    assert_eq!(roles, vec![Role::Model]);
    assert!(evidence[0].contains("subclass of `Base`"), "{evidence:?}");
}

#[test]
fn criterions_and_losses_are_losses_not_models() {
    let (_dir, project) = project(&[(
        "criterions.py",
        "import torch.nn as nn\nimport torch.nn.functional as F\n\n\
         class LabelSmoothedCriterion(nn.Module):\n    def forward(self, model, sample):\n        return F.nll_loss(model(sample['x']), sample['y'])\n\n\
         class SoftTargetCrossEntropy(nn.Module):\n    def forward(self, x, target):\n        loss = (-target * F.log_softmax(x, dim=-1)).sum(-1)\n        return loss.mean()\n",
    )]);
    assert_eq!(
        class_roles(&project, "criterions.py", "LabelSmoothedCriterion").0,
        vec![Role::Loss]
    );
    assert_eq!(
        class_roles(&project, "criterions.py", "SoftTargetCrossEntropy").0,
        vec![Role::Loss]
    );
}

#[test]
fn knowledge_is_extended_from_configuration() {
    let files = [
        (
            "pyproject.toml",
            "[tool.dllint.knowledge]\nmodel-bases = [\"mylib.BaseNet\"]\n",
        ),
        (
            "net.py",
            "from mylib import BaseNet\n\nclass Net(BaseNet):\n    pass\n",
        ),
    ];
    let (_dir, extended) = project(&files);
    assert_eq!(class_roles(&extended, "net.py", "Net").0, vec![Role::Model]);

    let (_dir, plain) = project(&[("net.py", files[1].1)]);
    assert!(class_roles(&plain, "net.py", "Net").0.is_empty());
}

/// The verdict on the (single) differentiated value of function `train` in `source`.
fn verdict(source: &str) -> Verdict {
    let (_dir, project) = project(&[("train.py", source)]);
    let file = &project.index.all_files()[0];
    let (_, function) = file
        .facts
        .function_named("train")
        .expect("a train function");
    let value = function
        .body
        .losses()
        .differentiated
        .first()
        .unwrap_or_else(|| panic!("no backward in:\n{source}"));
    let classifier = Classifier {
        index: &project.index,
        roles: project.roles(),
        file: 0,
        class: None,
    };
    classifier.verdict(value)
}

fn loop_with(body: &str) -> String {
    let indented: String = body.lines().map(|l| format!("        {l}\n")).collect();
    format!(
        "import torch\nimport torch.nn.functional as F\n\n\
         def train(model, loader, optimizer, criterion, args, heads, accum):\n    for x, y in loader:\n{indented}        loss.backward()\n        optimizer.step()\n"
    )
}

#[test]
fn definition_versus_usage() {
    let cases: Vec<(&str, Verdict)> = vec![
        ("loss = criterion(model(x), y)", Verdict::Usage),
        ("loss = F.cross_entropy(model(x), y)", Verdict::Usage),
        (
            "loss = criterion(model(x), y)\nloss = loss / accum",
            Verdict::Usage,
        ),
        (
            "loss = criterion(model(x), y)\nif args.n_gpu > 1:\n    loss = loss.mean()",
            Verdict::Usage,
        ),
        (
            "outputs = model(x, labels=y)\nloss = outputs.loss",
            Verdict::Usage,
        ),
        ("loss, logs = criterion(model, x, y)", Verdict::Usage),
        (
            "out = model(x)\nloss = criterion(out, y) + F.kl_div(out, y)",
            Verdict::Definition(Definition::Combines(2)),
        ),
        (
            "pred = model(x)\nloss = ((pred - y) ** 2).mean()",
            Verdict::Definition(Definition::Formula),
        ),
        (
            "loss = -torch.log(model(x)).mean()",
            Verdict::Definition(Definition::Formula),
        ),
        (
            "out = model(x)\nloss = criterion(out, y) + 1e-4 * sum(p.pow(2).sum() for p in model.parameters())",
            Verdict::Definition(Definition::AddsTerm),
        ),
        (
            "out = model(x)\nif args.focal:\n    loss = F.binary_cross_entropy(out, y)\nelse:\n    loss = F.cross_entropy(out, y)",
            Verdict::Definition(Definition::Selects(2)),
        ),
        (
            "feats = model(x)\nloss = 0\nfor head in heads:\n    loss += criterion(head(feats), y)",
            Verdict::Definition(Definition::Accumulates),
        ),
    ];
    let mut failures = Vec::new();
    for (body, expected) in cases {
        let got = verdict(&loop_with(body));
        if got != expected {
            failures.push(format!("{body:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn logging_arithmetic_is_not_a_definition() {
    // `running` is never differentiated; the differentiated `loss` is a single loss call.
    let source =
        loop_with("loss = criterion(model(x), y)\nrunning = 0.0\nrunning += loss.item() * 2 + 1");
    assert_eq!(verdict(&source), Verdict::Usage);
}

#[test]
fn context_files_outside_the_linted_paths_are_read_for_their_facts() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("base.py"), "import torch.nn as nn\n\nclass Base(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(2, 2)\n").unwrap();
    fs::write(dir.path().join("model.py"), "import torch.nn.functional as F\nfrom base import Base\n\nclass Net(Base):\n    def forward(self, x, y):\n        return F.mse_loss(self.fc(x), y)\n").unwrap();
    // Only model.py is linted; base.py is read for context.
    let project = run(dir.path(), &["model.py"]);
    assert_eq!(project.report.files_checked, 1);
    assert_eq!(project.index.len(), 2);
    let codes: Vec<&str> = project
        .report
        .files
        .iter()
        .flat_map(|f| f.diagnostics.iter().map(|d| d.code))
        .collect();
    assert_eq!(codes, vec!["DL101"]);
}

#[test]
fn a_loss_name_makes_a_loss_only_of_a_class_that_computes() {
    let (_dir, project) = project(&[(
        "outputs.py",
        "import torch.nn.functional as F\nfrom dataclasses import dataclass\n\n\n@dataclass\nclass PretrainingLosses:\n    mlm: object = None\n    itm: object = None\n\n    def all_none(self):\n        return self.mlm is None and self.itm is None\n\n\nclass RegressionLoss:\n    def compute_loss(self, pred, target):\n        return F.mse_loss(pred, target)\n\n\nclass SmoothL1Loss(RegressionLoss):\n    pass\n",
    )]);
    // A container of loss values with a helper method: not a Loss component.
    let (roles, _) = class_roles(&project, "outputs.py", "PretrainingLosses");
    assert_eq!(roles, Vec::<Role>::new());
    // A loss method, or a bare subclass, keeps the name's verdict.
    let (roles, evidence) = class_roles(&project, "outputs.py", "RegressionLoss");
    assert_eq!(roles, vec![Role::Loss]);
    assert!(
        evidence[0].contains("named `RegressionLoss`"),
        "{evidence:?}"
    );
    let (roles, _) = class_roles(&project, "outputs.py", "SmoothL1Loss");
    assert_eq!(roles, vec![Role::Loss]);
}

#[test]
fn a_shared_resolution_charges_every_reader_and_a_table_its_question() {
    use dllint::semantic::reads::{self, Query};
    // Before the run: the index's shared values record what they read as they are built.
    reads::enable();
    let (_dir, project) = project(&[
        ("pkg/__init__.py", "from .base import Base\n"),
        (
            "pkg/base.py",
            "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    pass\n",
        ),
        ("util.py", "def helper():\n    return 1\n"),
        (
            "net.py",
            "from pkg import Base\nfrom util import helper\n\n\nclass Net(Base):\n    def forward(self, x):\n        return helper()\n",
        ),
    ]);
    let index = &project.index;
    let id = |suffix: &str| {
        index
            .all_files()
            .iter()
            .position(|f| f.path.ends_with(suffix))
            .unwrap() as u32
    };
    let (net, init, base, util) = (
        id("net.py"),
        id("pkg/__init__.py"),
        id("pkg/base.py"),
        id("util.py"),
    );
    // The bases were resolved while the roles were computed: every later reader is charged
    // with the re-export and the file that defines the base, not only the first.
    for _ in 0..2 {
        let (bases, read) = reads::recording(|| index.project_bases(net, 0).collect::<Vec<_>>());
        assert_eq!(bases, [(base, 0)]);
        for file in [net, init, base] {
            assert!(read.contains(file), "{file} missing from {read:?}");
        }
    }
    // A project-wide table: the reader is charged with its question and the answer, not
    // with the files the table was built from.
    let (sites, read) = reads::recording(|| index.call_sites_of(util, 0).iter().count());
    assert_eq!(sites, 1);
    assert!(!read.all && read.files.is_empty(), "{read:?}");
    assert_eq!(read.queries.len(), 1);
    assert_eq!(read.queries[0].0, Query::CallSites(util, 0));
    assert_eq!(read.queries[0].1, index.answer(&Query::CallSites(util, 0)));
}

/// A scope's loss evidence: the stored evidence and the project calls that are evidence
/// (all but a call of a plain variable such as a model), merged in source order, also when a
/// comprehension's element (`contrastive(...)`) is visited after its generator
/// (`make_batches(...)`).
#[test]
fn loss_evidence_is_in_source_order_and_leaves_out_plain_variable_calls() {
    let (_dir, project) = project(&[
        (
            "step.py",
            "import torch.nn.functional as F\n\
             from helpers import contrastive, make_batches\n\
             \n\
             def step(model, xs, ys):\n\
             \x20   losses = [contrastive(model(x), y) for x, y in make_batches(xs, ys)]\n\
             \x20   total_loss = sum(losses)\n\
             \x20   return F.cross_entropy(model(xs), ys) + total_loss\n",
        ),
        (
            "helpers.py",
            "def contrastive(a, b):\n    return (a - b).abs().mean()\n\n\
             def make_batches(xs, ys):\n    return list(zip(xs, ys))\n",
        ),
    ]);
    let file = project
        .index
        .all_files()
        .iter()
        .find(|f| f.path.ends_with("step.py"))
        .unwrap();
    let text = fs::read_to_string(&file.absolute).unwrap();
    let (_, step) = file.facts.function_named("step").unwrap();
    let evidence: Vec<(String, &str)> = step
        .body
        .evidence()
        .map(|e| {
            let kind = format!("{:?}", e.kind);
            let kind = kind.split('(').next().unwrap().to_string();
            (kind, &text[e.range])
        })
        .collect();
    assert_eq!(
        evidence,
        [
            ("ProjectCall".to_string(), "contrastive(model(x), y)"),
            ("ProjectCall".to_string(), "make_batches(xs, ys)"),
            ("NamedAssign".to_string(), "total_loss = sum(losses)"),
            ("LossApiCall".to_string(), "F.cross_entropy(model(xs), ys)"),
        ]
    );
    // The model's calls are project calls (the index resolves what the model is), not evidence.
    assert_eq!(
        step.body
            .project_calls
            .iter()
            .map(|c| &text[c.range])
            .collect::<Vec<_>>(),
        [
            "contrastive(model(x), y)",
            "model(x)",
            "make_batches(xs, ys)",
            "model(xs)"
        ]
    );
    assert!(step.body.has_evidence());
}

/// A text handed in memory (an editor buffer, standard input) keeps the syntax tree of its
/// pass for what reads the file again after the project's facts are known (a refactoring, a
/// rule's second walk); a file on disk and a text that does not parse keep none.
#[test]
fn a_text_held_in_memory_keeps_its_tree_for_the_project_rules() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("on_disk.py"), "x = 1\n").unwrap();
    let resolver = Resolver::new(root.to_path_buf(), None, false, Overrides::default()).unwrap();
    let input = |name: &str, text: Option<&str>| {
        let path = root.join(name);
        Input {
            settings: resolver.settings_for(&path).unwrap(),
            path,
            text: text.map(str::to_string),
        }
    };
    let project = engine::run(
        vec![
            input("buffer.py", Some("def f(x):\n    return x + 1\n")),
            input("broken.py", Some("def f(x:\n    return x\n")),
            input("on_disk.py", None),
        ],
        Some(2),
        root,
        &resolver,
    );
    let file = |name: &str| {
        project
            .index
            .all_files()
            .iter()
            .find(|f| f.path.ends_with(name))
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let buffer = file("buffer.py");
    assert!(buffer.text.is_some() && buffer.tree.is_some());
    let reparsed = dllint::refactor::ParsedSource::of(buffer).expect("the buffer parses");
    assert_eq!(reparsed.module().body.len(), 1);
    assert!(file("broken.py").tree.is_none());
    assert!(file("broken.py").text.is_some());
    assert!(dllint::refactor::ParsedSource::of(file("broken.py")).is_none());
    assert!(file("on_disk.py").tree.is_none() && file("on_disk.py").text.is_none());
}

/// Where a module's loops may call a model (`FileFacts::loop_model_calls`): the scopes that
/// may (a function's name, `<module>`), and the imported names others call (`f: torch.cat`).
fn loop_model_calls(source: &str) -> (Vec<String>, Vec<String>) {
    let (_dir, project) = project(&[("train.py", source)]);
    let facts = &project.index.all_files()[0].facts;
    let name = |scope: Option<u32>| match scope {
        Some(id) => facts.functions[id as usize].name.to_string(),
        None => "<module>".to_string(),
    };
    let calls = &facts.loop_model_calls;
    (
        calls.scopes.iter().map(|&s| name(s)).collect(),
        calls
            .imported
            .iter()
            .map(|(s, q)| format!("{}: {q}", name(*s)))
            .collect(),
    )
}

#[test]
fn loops_say_where_they_may_run_a_model() {
    let none = (Vec::<String>::new(), Vec::<String>::new());
    let f = (vec!["f".to_string()], Vec::<String>::new());
    // Builtins, parameters, loop variables, methods of data: nothing a model may be.
    assert_eq!(
        loop_model_calls(
            "def f(xs, fn):\n    for i, x in enumerate(xs):\n        print(len(x))\n        fn(x)\n        x.view(-1)\n        for blk in xs:\n            x = blk(x)\n"
        ),
        none
    );
    // A name or attribute spelled like a model, `self`, `.forward` of one.
    for call in [
        "model(x)",
        "self.encoder(x)",
        "self(x)",
        "trainer.net(x)",
        "net.forward(x)",
    ] {
        let source =
            format!("def f(self, xs, model, net, trainer):\n    for x in xs:\n        {call}\n");
        assert_eq!(loop_model_calls(&source), f, "{call}");
    }
    // A call without arguments runs nothing; one outside loops does not count.
    assert_eq!(
        loop_model_calls("def f(model, xs):\n    model(xs)\n    for x in xs:\n        model()\n"),
        none
    );
    // A name the function binds to a call (not another function), or the module does.
    assert_eq!(
        loop_model_calls(
            "def g(xs):\n    for x in xs:\n        m(x)\n\ndef f(xs):\n    m = build()\n    for x in xs:\n        m(x)\n"
        ),
        f
    );
    assert_eq!(
        loop_model_calls(
            "class Thing:\n    pass\n\nthing = Thing()\n\ndef f(xs):\n    for x in xs:\n        thing(x)\n"
        ),
        f
    );
    // A `self` attribute a class constructs, and one no class does.
    assert_eq!(
        loop_model_calls(
            "import torch.nn as nn\n\nclass A(nn.Module):\n    def __init__(self):\n        self.head = nn.Linear(2, 2)\n\n    def f(self, xs):\n        for x in xs:\n            self.head(x)\n"
        ),
        f
    );
    assert_eq!(
        loop_model_calls(
            "class A:\n    def f(self, xs):\n        for x in xs:\n            self.scale(x)\n"
        ),
        none
    );
    // Imports: a layer may be the model; another name is listed for the project to decide (a
    // library's name may be one of its packages), as the import reads.
    assert_eq!(
        loop_model_calls(
            "from torch.nn import Linear\n\ndef f(xs):\n    for x in xs:\n        Linear(2, 2)(x)\n"
        ),
        f
    );
    assert_eq!(
        loop_model_calls(
            "from torch import cat\nimport numpy as np\nfrom .utils import pad\n\ndef f(xs):\n    for x in xs:\n        cat([x])\n        np.mean(x)\n        pad(x)\n        cat([x, x])\n"
        ),
        (
            vec![],
            vec!["f: torch.cat".to_string(), "f: utils.pad".to_string()]
        )
    );
    // What the walk of evaluation loops does not read: a lambda, and a function defined in a
    // loop (its body has no loop of its own); its decorator is read where it is written.
    assert_eq!(
        loop_model_calls(
            "def f(xs):\n    for x in xs:\n        g = lambda y: model(y)\n        def h(y):\n            return model(y)\n"
        ),
        none
    );
    assert_eq!(
        loop_model_calls(
            "def f(xs):\n    for x in xs:\n        @model(x)\n        def h(y):\n            return y\n"
        ),
        f
    );
    // Module-level loops count as the module's; a file without loops has nothing to say.
    assert_eq!(
        loop_model_calls("for x in xs:\n    model(x)\n"),
        (vec!["<module>".to_string()], vec![])
    );
    assert_eq!(
        loop_model_calls("def f(model, x):\n    return model(x)\n"),
        none
    );
}

/// The search for evaluation loops reads a file again only when its loops may run a model:
/// a project Model class called through an import is looked up in the project.
/// The codes of the findings in the project's file whose path ends with `file`, sorted.
fn codes_of(project: &Project, file: &str) -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = project
        .report
        .files
        .iter()
        .filter(|f| f.path.ends_with(file))
        .flat_map(|f| f.diagnostics.iter().map(|d| d.code))
        .collect();
    codes.sort_unstable();
    codes
}

#[test]
fn an_evaluation_loop_running_an_imported_project_model_is_found() {
    let model = "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 2)\n        self.drop = nn.Dropout(0.5)\n\n    def forward(self, x):\n        return self.fc(self.drop(x))\n";
    let evaluate = |call: &str| {
        format!(
            "import torch\nfrom models import Net, helper\n\n\ndef evaluate(loader):\n    total = 0\n    for x, y in loader:\n        out = {call}\n        total += (out.argmax(1) == y).sum()\n    return total\n"
        )
    };
    let codes = |call: &str| {
        let (_dir, project) = project(&[
            (
                "models.py",
                &format!("{model}\n\ndef helper(x):\n    return x\n"),
            ),
            ("evaluate.py", &evaluate(call)),
        ]);
        codes_of(&project, "evaluate.py")
    };
    assert_eq!(codes("Net(x)"), ["DL504", "DL505"]);
    assert_eq!(codes("helper(x)"), Vec::<&str>::new());
}

#[test]
fn a_keras_model_built_through_a_relative_import_in_the_keras_package_is_found() {
    // DL511 looks only at files that may name Keras. Inside the package `keras` itself,
    // `from .models import Sequential` names `keras.models.Sequential` without spelling
    // `keras`: the file's package counts as named.
    let search = "from .models import Sequential\n\n\ndef search(grid, x, y):\n    for units in grid:\n        model = Sequential()\n        model.fit(x, y)\n";
    let codes = |package: &str| {
        let (_dir, project) = project(&[
            (&format!("{package}/__init__.py"), ""),
            (
                &format!("{package}/models.py"),
                "class Sequential:\n    def fit(self, x, y):\n        return self\n",
            ),
            (&format!("{package}/search.py"), search),
        ]);
        let mut codes = codes_of(&project, "search.py");
        codes.retain(|code| *code == "DL511");
        codes
    };
    assert_eq!(codes("keras"), ["DL511"]);
    assert_eq!(codes("mylib"), Vec::<&str>::new());
}
