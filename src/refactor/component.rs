//! Turning moved code into a component: its parameters (the code's free variables), the
//! imports it needs, the class or function around it, where it is written (a new file or the
//! end of an existing one) and the rewritten call site, each verified before it is offered.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ruff_python_ast::{ModModule, PySourceType, Stmt};
use ruff_python_parser::parse_unchecked_source;
use ruff_text_size::TextSize;

use crate::diagnostic::{Edit, FileEdits, Fix, Suggestion};
use crate::fix::{apply_edits, parses};
use crate::rule_context::ProjectContext;
use crate::source::SourceText;

use super::names::{self, is_builtin};
use super::{ModuleNames, ParsedSource, beside, snake_case};

/// The shape of the generated component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecKind {
    /// `class X(nn.Module)` with `forward` (PyTorch).
    TorchModule,
    /// A plain class with `__call__` (TensorFlow, Keras, anything else).
    Callable,
    /// A function (JAX: `jax.grad` wants one; optimizer factories).
    Function,
    /// A `Runner` class: the given parameters of its constructor are kept on `self`, the code
    /// is its `run` method.
    Runner(Vec<RunnerParam>),
}

/// A constructor parameter of a generated Runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerParam {
    /// The parameter and attribute name (`epochs`).
    pub name: String,
    /// What the call site passes (`EPOCHS`).
    pub arg: String,
    /// A module-level constant's value becomes the parameter's default (`epochs=5`), and the
    /// call passes it by keyword (`epochs=EPOCHS`).
    pub default: Option<String>,
}

/// What to generate.
pub struct ComponentSpec {
    pub kind: SpecKind,
    /// The preferred name (`FasterRCNNLoss`).
    pub name: String,
    /// Names that say what the component is when `name` is taken (`ReconstructionLoss`, after
    /// the variable the value was assigned to); a number is added only when all are taken.
    pub alternatives: Vec<String>,
    /// Where it goes, relative to the source file: a file (`loss.py`, `../losses.py`) or a
    /// directory (`losses`, `../criterions`) that gets one file per component.
    pub target: String,
    pub doc: String,
    /// The moved statements at indentation zero.
    pub body: Vec<Line>,
    /// What the function returns (`loss`), if anything.
    pub returns: Option<String>,
    /// The parameter that stands for the object the code came from (`self` → `model`).
    pub owner: Option<String>,
    /// What the call site passes for some parameters (`criterion` ← `self.criterion`); the
    /// others are passed by their own name.
    pub call_args: Vec<(String, String)>,
    /// What a Loss holds from its construction (`criterion` ← `criterion`, `criterion` ←
    /// `self.criterion`): the moved code reads them as `self.criterion`, its `__init__` takes
    /// them, and the call site builds it with them (`TrainLoss(criterion)(logits, y)`).
    pub held: Vec<(String, String)>,
    /// Names bound in the function the code came from: free names among them are parameters.
    pub locals: BTreeSet<String>,
    /// The suggestion's title (`Extract the loss of `Net.forward` into ...`), without the
    /// component name and target, which are appended.
    pub action: String,
}

/// A refactoring ready to show and apply.
pub struct Refactoring {
    pub suggestion: Suggestion,
    /// `None` when the code can be shown but not applied automatically (the import of the
    /// new component cannot be written, or the call site cannot be rewritten).
    pub fix: Option<Fix>,
}

/// The source-file side: given the expression that calls the component, the edits that
/// replace the moved code and the call-site line shown to the user.
pub type CallSite<'a> = dyn Fn(&str) -> Option<(Vec<Edit>, String)> + 'a;

const WRAPPER: &str = "__dllint_extracted__";

/// A component generated and verified, not yet placed: its code, its name, its parameters
/// (in order), where it goes and the call that builds and runs it.
pub struct Generated {
    pub code: String,
    pub name: String,
    pub params: Vec<String>,
    /// `Name(held...)(args...)`, `name(args...)`, `Name(args...).run()`.
    pub call: String,
    pub title: String,
    target: Target,
}

impl Generated {
    /// The suggestion that shows the code (`call`: the rewritten call site, if any).
    pub fn suggestion(&self, call: Option<String>) -> Suggestion {
        Suggestion {
            title: self.title.clone(),
            target_file: self.target.display.clone(),
            code: self.code.clone(),
            call,
        }
    }

    /// The edits that write the component into its file.
    pub fn target_edits(&self) -> Result<FileEdits, String> {
        self.target.edits(&self.code)
    }

    /// Where the component is written.
    pub fn target_absolute(&self) -> &Path {
        &self.target.absolute
    }

    /// The import of the component in the file of `cx` (whose module names are `names`), when
    /// it can be written: the project-root spelling anywhere, the others only beside the file
    /// the target was resolved from.
    pub fn import_in(
        &self,
        cx: &ProjectContext<'_>,
        names: &ModuleNames,
        same_dir: bool,
    ) -> Option<String> {
        if !same_dir {
            let relative_used = names.imports.iter().any(|b| b.relative);
            if relative_used {
                return None;
            }
            let root = project_import_root(cx, names)?;
            return dotted_from(&root, &self.target.absolute)
                .map(|m| format!("from {m} import {}", self.name));
        }
        import_line(cx, names, &self.target, &self.name)
    }
}

/// Build, verify and place a component.
pub fn build(
    cx: &ProjectContext<'_>,
    file: &ParsedSource,
    source_names: &ModuleNames,
    component: ComponentSpec,
    call_site: &CallSite<'_>,
) -> Result<Refactoring, String> {
    let Generated {
        code,
        name,
        call,
        title,
        target,
        ..
    } = generate(cx, source_names, &component)?;
    let suggestion = |call_line: Option<String>| Suggestion {
        title: title.clone(),
        target_file: target.display.clone(),
        code: code.clone(),
        call: call_line,
    };
    let Some((mut edits, call_line)) = call_site(&call) else {
        return Ok(Refactoring {
            suggestion: suggestion(None),
            fix: None,
        });
    };
    // A target that imports this file (`losses.py` doing `from models import Net`) would
    // import it back: a circular import. The move is shown, not applied.
    let imports_back = cx
        .index
        .file_by_path(&target.absolute)
        .is_some_and(|t| cx.index.imports_file(t, cx.file));
    let import = match import_line(cx, source_names, &target, &name) {
        Some(import) if !imports_back => import,
        _ => {
            return Ok(Refactoring {
                suggestion: suggestion(Some(call_line)),
                fix: None,
            });
        }
    };
    if source_names.bound.contains(&name) {
        return Err(format!("`{name}` is already bound in the file"));
    }
    // Imports only the moved code used (`import torch.nn.functional as F`) go with it; the new
    // import goes where the imports end, or where a removed import started.
    let (unused, import_at) = file.imports_left_unused(source_names, &edits);
    edits.extend(unused);
    // An earlier refactoring of the same run may have imported from the same module already
    // (`from .loss import TrainLoss`): the name joins that statement.
    let merged = join_import(file, &import, &edits);
    edits.push(merged.unwrap_or_else(|| Edit::insertion(import_at, format!("{import}\n"))));
    edits.sort_by_key(|e| e.range.start());
    // The call parses; the whole rewritten file is parsed again when the fix is applied
    // (`fix::driver` refuses a result that does not parse), not for every finding here.
    if ruff_python_parser::parse_expression(&call).is_err() {
        return Err("the call does not parse".into());
    }
    let other = target.edits(&code)?;
    Ok(Refactoring {
        suggestion: suggestion(Some(call_line)),
        fix: Some(Fix::unsafe_edits(title.clone(), edits).with_other_file(other)),
    })
}

/// Generate and verify a component: its code, name, parameters and call.
pub fn generate(
    cx: &ProjectContext<'_>,
    source_names: &ModuleNames,
    component: &ComponentSpec,
) -> Result<Generated, String> {
    // The code's free names, from the code as it will be written.
    let mut probe = format!("def {WRAPPER}():\n");
    probe.push_str(&indent(&component.body, "    "));
    if let Some(returns) = &component.returns {
        probe.push_str(&format!("    return {returns}\n"));
    }
    if component.body.iter().all(|l| l.text.trim().is_empty()) && component.returns.is_none() {
        return Err("nothing to move".into());
    }
    let probe_parsed = parse_unchecked_source(&probe, PySourceType::Python);
    if probe_parsed.has_syntax_errors() {
        return Err(format!(
            "the moved code does not parse: {}",
            probe_parsed.errors()[0]
        ));
    }
    let Some(Stmt::FunctionDef(def)) = probe_parsed.syntax().body.first() else {
        return Err("the moved code does not parse".into());
    };
    let mut usage = names::analyze(&def.body, &[]);
    usage.unsupported = usage
        .unsupported
        .filter(|why| !why.starts_with("a `return`"));
    if let Some(why) = usage.unsupported {
        return Err(format!("the moved code contains {why}"));
    }

    // Parameters, imports, builtins.
    let mut params: Vec<String> = Vec::new();
    let mut imports: Vec<String> = Vec::new();
    let owner = component.owner.clone();
    if let Some(owner) = &owner
        && usage.free.iter().any(|f| f == owner)
    {
        params.push(owner.clone());
    }
    let runner_params = match &component.kind {
        SpecKind::Runner(params) => Some(params.clone()),
        _ => None,
    };
    let source_dir_same = target_in_same_dir(&component.target);
    for free in &usage.free {
        if Some(free) == owner.as_ref() {
            continue;
        }
        if (runner_params.is_some() || !component.held.is_empty()) && free == "self" {
            continue;
        }
        let local = component.locals.contains(free);
        let bindings = source_names.import_of(free);
        if !local && !bindings.is_empty() {
            if bindings.iter().any(|b| b.relative) && !source_dir_same {
                return Err(format!("`{free}` comes from a relative import"));
            }
            for binding in bindings {
                if !imports.contains(&binding.line) {
                    imports.push(binding.line.clone());
                }
            }
        } else if !local && !source_names.bound.contains(free) && is_builtin(free) {
        } else if runner_params.is_some() {
            return Err(format!(
                "the loop reads `{free}`, which is not passed to the Runner"
            ));
        } else {
            params.push(free.clone());
        }
    }
    if let Some(runner) = &runner_params {
        params = runner.iter().map(|p| p.name.clone()).collect();
    }

    // The base class and the name.
    let mut base = String::new();
    if component.kind == SpecKind::TorchModule {
        let torch_nn = source_names.torch_nn();
        let (line, expr) = match torch_nn {
            Some(i) => (i.line.clone(), format!("{}.Module", i.local)),
            None if !params.iter().any(|p| p == "nn") && !usage.bound.contains("nn") => {
                ("from torch import nn".to_string(), "nn.Module".to_string())
            }
            None => ("import torch".to_string(), "torch.nn.Module".to_string()),
        };
        if !imports.contains(&line) {
            imports.push(line);
        }
        base = format!("({expr})");
    }
    let import_names: BTreeSet<String> = imports.iter().filter_map(|l| bound_by(l)).collect();
    if let Some(clash) = params.iter().find(|p| import_names.contains(*p)) {
        return Err(format!("parameter `{clash}` has the name of an import"));
    }

    let target = Target::resolve(cx, &component.target, &component.name)?;
    // A clash (two modules with a `Net`) is resolved by the source module's name first:
    // `vit.py`'s `Net` gets `VitNetLoss`, not `NetLoss2`; a function's name gets it in its
    // own style (`vit_make_net_optimizer`).
    let function_name = component.kind == SpecKind::Function;
    let qualifier = cx
        .project_file()
        .absolute
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| *s != "__init__" && *s != "__main__")
        .map(|stem| {
            if function_name {
                format!("{}_", super::snake_case(stem))
            } else {
                super::camel_case(stem)
            }
        })
        .filter(|q| q.starts_with(|c: char| c.is_ascii_alphabetic()));
    let name = target.free_name(
        &component.name,
        &component.alternatives,
        qualifier.as_deref(),
        source_names,
    )?;
    let target = if target.is_dir {
        Target::resolve(cx, &component.target, &name)?
    } else {
        target
    };

    // The code.
    imports.sort_by_key(|l| (l.starts_with("from "), l.clone()));
    let mut code = String::new();
    for line in &imports {
        code.push_str(line);
        code.push('\n');
    }
    if !imports.is_empty() {
        code.push_str("\n\n");
    }
    let signature = match &runner_params {
        Some(runner) => runner
            .iter()
            .map(|p| match &p.default {
                Some(default) => format!("{}={default}", p.name),
                None => p.name.clone(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        None => params.join(", "),
    };
    let returns: Vec<Line> = component
        .returns
        .as_ref()
        .map(|r| Line::code(format!("return {r}\n")))
        .into_iter()
        .collect();
    match &component.kind {
        SpecKind::TorchModule | SpecKind::Callable => {
            let method = if component.kind == SpecKind::TorchModule {
                "forward"
            } else {
                "__call__"
            };
            let comma = if signature.is_empty() { "" } else { ", " };
            code.push_str(&format!(
                "class {name}{base}:\n    \"\"\"{}\"\"\"\n\n",
                component.doc
            ));
            if !component.held.is_empty() {
                let held: Vec<&str> = component.held.iter().map(|(p, _)| p.as_str()).collect();
                code.push_str(&format!("    def __init__(self, {}):\n", held.join(", ")));
                if component.kind == SpecKind::TorchModule {
                    code.push_str("        super().__init__()\n");
                }
                for p in &held {
                    code.push_str(&format!("        self.{p} = {p}\n"));
                }
                code.push('\n');
            }
            code.push_str(&format!("    def {method}(self{comma}{signature}):\n"));
            code.push_str(&indent(&component.body, "        "));
            code.push_str(&indent(&returns, "        "));
        }
        SpecKind::Function => {
            code.push_str(&format!(
                "def {name}({signature}):\n    \"\"\"{}\"\"\"\n",
                component.doc
            ));
            code.push_str(&indent(&component.body, "    "));
            code.push_str(&indent(&returns, "    "));
        }
        SpecKind::Runner(_) => {
            let comma = if signature.is_empty() { "" } else { ", " };
            code.push_str(&format!(
                "class {name}:\n    \"\"\"{}\"\"\"\n\n    def __init__(self{comma}{signature}):\n",
                component.doc
            ));
            if params.is_empty() {
                code.push_str("        pass\n");
            }
            for p in &params {
                code.push_str(&format!("        self.{p} = {p}\n"));
            }
            code.push_str("\n    def run(self):\n");
            code.push_str(&indent(&component.body, "        "));
            code.push_str(&indent(&returns, "        "));
        }
    }
    verify(&code)?;

    // The call site.
    let args: Vec<String> = match &runner_params {
        Some(runner) => runner
            .iter()
            .map(|p| match &p.default {
                Some(_) => format!("{}={}", p.name, p.arg),
                None => p.arg.clone(),
            })
            .collect(),
        None => params
            .iter()
            .map(|p| {
                if Some(p) == owner.as_ref() {
                    "self".to_string()
                } else if let Some((_, arg)) = component.call_args.iter().find(|(q, _)| q == p) {
                    arg.clone()
                } else {
                    p.clone()
                }
            })
            .collect(),
    };
    let call = match &component.kind {
        SpecKind::TorchModule | SpecKind::Callable => {
            let held: Vec<&str> = component.held.iter().map(|(_, a)| a.as_str()).collect();
            format!("{name}({})({})", held.join(", "), args.join(", "))
        }
        SpecKind::Function => format!("{name}({})", args.join(", ")),
        SpecKind::Runner(_) => format!("{name}({}).run()", args.join(", ")),
    };
    let title = format!("{} into `{name}` in `{}`", component.action, target.display);
    Ok(Generated {
        code,
        name,
        params,
        call,
        title,
        target,
    })
}

/// One line of moved code (ending with `\n`): code at indentation zero, or a line inside a
/// multi-line string, which is content and is never re-indented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub verbatim: bool,
}

impl Line {
    pub fn code(text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            verbatim: false,
        }
    }
}

fn indent(lines: &[Line], prefix: &str) -> String {
    let mut out = String::new();
    for line in lines {
        if line.verbatim {
            out.push_str(&line.text);
        } else if line.text.trim().is_empty() {
            out.push('\n');
        } else {
            out.push_str(prefix);
            out.push_str(&line.text);
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The name an import line binds.
fn bound_by(line: &str) -> Option<String> {
    let last = line.rsplit([',', ' ']).next()?;
    if line.starts_with("import ") && !line.contains(" as ") {
        return line["import ".len()..]
            .split('.')
            .next()
            .map(str::to_string);
    }
    Some(last.to_string())
}

/// The generated snippet parses, and every function in it reads only its parameters, its
/// locals, the snippet's imports and builtins.
pub fn verify(code: &str) -> Result<(), String> {
    let parsed = parse_unchecked_source(code, PySourceType::Python);
    if parsed.has_syntax_errors() {
        return Err(format!(
            "the generated code does not parse: {}",
            parsed.errors()[0]
        ));
    }
    let module: &ModModule = parsed.syntax();
    let imported = ModuleNames::of(code, module);
    let mut functions: Vec<&ruff_python_ast::StmtFunctionDef> = Vec::new();
    for stmt in &module.body {
        match stmt {
            Stmt::FunctionDef(def) => functions.push(def),
            Stmt::ClassDef(class) => functions.extend(class.body.iter().filter_map(|s| match s {
                Stmt::FunctionDef(def) => Some(def),
                _ => None,
            })),
            _ => {}
        }
    }
    if functions.is_empty() {
        return Err("the generated code defines nothing".into());
    }
    for def in functions {
        let params: Vec<&str> = def.parameters.iter().map(|p| p.name().as_str()).collect();
        let usage = names::analyze(&def.body, &params);
        // A generated `__init__` calls `super().__init__()` (an `nn.Module`), in its class.
        let own_super = def.name.as_str() == "__init__";
        if let Some(why) = usage.unsupported.filter(|why| {
            !(why.starts_with("a `return`") || (own_super && why.contains("super()")))
        }) {
            return Err(format!("the generated code contains {why}"));
        }
        for free in &usage.free {
            if imported.import_of(free).is_empty() && !is_builtin(free) {
                return Err(format!(
                    "the generated code reads `{free}`, which it does not bind"
                ));
            }
        }
    }
    Ok(())
}

fn target_in_same_dir(target: &str) -> bool {
    !target.starts_with("../") && !target.contains('/') && target.ends_with(".py")
}

/// Where the component is written.
struct Target {
    /// Path as the source file is given (relative to the working directory or absolute).
    path: PathBuf,
    absolute: PathBuf,
    /// Relative to the source file, for messages (`loss.py`, `../../loss/bert_loss.py`).
    display: String,
    /// The target is a directory: one file per component.
    is_dir: bool,
    /// The current text, if the file exists.
    text: Option<String>,
    /// Up-levels and dotted module path from the source's directory.
    ups: usize,
    module: String,
}

impl Target {
    fn resolve(cx: &ProjectContext<'_>, target: &str, name: &str) -> Result<Target, String> {
        let file = cx.project_file();
        let is_dir = !target.ends_with(".py");
        let relative = if is_dir {
            format!("{}/{}.py", target.trim_end_matches('/'), snake_case(name))
        } else {
            target.to_string()
        };
        let path = beside(&file.path, &relative);
        let absolute = beside(&file.absolute, &relative);
        if absolute == file.absolute {
            return Err("the component would go into the file itself".into());
        }
        let text = match cx.index.file_by_path(&absolute) {
            Some(id) => match &cx.index.file(id).text {
                Some(text) => Some(text.text().to_string()),
                None => crate::source::read_file(&absolute).ok(),
            },
            None => cx.index.read_outside(&absolute)?,
        };
        let ups = relative.matches("../").count();
        let module = relative
            .trim_start_matches("../")
            .trim_end_matches(".py")
            .replace('/', ".");
        Ok(Target {
            path,
            absolute,
            display: relative,
            is_dir,
            text,
            ups,
            module,
        })
    }

    /// `name`, or one of `alternatives`, or `<qualifier><name>` (`VitNet`, `vit_make_net`), or
    /// `name2`, `name3`, ... if the target or the source already binds it.
    fn free_name(
        &self,
        name: &str,
        alternatives: &[String],
        qualifier: Option<&str>,
        source: &ModuleNames,
    ) -> Result<String, String> {
        let taken = match &self.text {
            Some(text) => {
                let parsed = ParsedSource::parse(
                    std::sync::Arc::new(SourceText::new(text.clone())),
                    &self.absolute,
                )
                .ok_or_else(|| format!("{} does not parse", self.display))?;
                parsed.names().bound.clone()
            }
            None => BTreeSet::new(),
        };
        std::iter::once(name.to_string())
            .chain(alternatives.iter().cloned())
            .chain(qualifier.map(|q| format!("{q}{name}")))
            .chain((2..10).map(|i| format!("{name}{i}")))
            .find(|n| !taken.contains(n) && !source.bound.contains(n))
            .ok_or_else(|| format!("no free name for `{name}`"))
    }

    /// The edits that write `code` into the target: a new file, or the imports it lacks after
    /// the target's imports and the definition at its end.
    fn edits(&self, code: &str) -> Result<FileEdits, String> {
        let Some(text) = &self.text else {
            return Ok(FileEdits {
                path: self.path.clone(),
                create: true,
                edits: vec![Edit::insertion(TextSize::new(0), code.to_string())],
            });
        };
        let parsed = ParsedSource::parse(
            std::sync::Arc::new(SourceText::new(text.clone())),
            &self.absolute,
        )
        .ok_or_else(|| format!("{} does not parse", self.display))?;
        let names = parsed.names();
        let existing: BTreeSet<&str> = names.imports.iter().map(|i| i.line.as_str()).collect();
        let mut import_lines = String::new();
        let mut definition = String::new();
        let mut in_imports = true;
        for line in code.split_inclusive('\n') {
            let is_import = line.starts_with("import ") || line.starts_with("from ");
            if in_imports && is_import {
                let line_text = line.trim_end();
                if existing.contains(line_text) {
                    continue;
                }
                if let Some(bound) = bound_by(line_text)
                    && names.bound.contains(&bound)
                {
                    return Err(format!(
                        "{} already binds `{bound}` differently",
                        self.display
                    ));
                }
                import_lines.push_str(line);
            } else if in_imports && line.trim().is_empty() {
                continue;
            } else {
                in_imports = false;
                definition.push_str(line);
            }
        }
        let trailing = text.len() - text.trim_end_matches(['\n', '\r']).len();
        let newlines = text[text.len() - trailing..].matches('\n').count();
        let separator = if text.trim().is_empty() {
            String::new()
        } else {
            "\n".repeat(3usize.saturating_sub(newlines))
        };
        let mut edits = Vec::new();
        if !import_lines.is_empty() {
            edits.push(Edit::insertion(names.import_at, import_lines));
        }
        edits.push(Edit::insertion(
            TextSize::try_from(text.len()).unwrap_or_default(),
            format!("{separator}{definition}"),
        ));
        let after = apply_edits(text, &edits);
        if !parses(&after, &self.absolute) {
            return Err(format!(
                "{} would not parse with the component",
                self.display
            ));
        }
        Ok(FileEdits {
            path: self.path.clone(),
            create: false,
            edits,
        })
    }
}

/// The import of the new component, written the way the file already reaches its neighbours,
/// so that the program still runs the way it is run; `None` when the target cannot be
/// imported from the source (above a script directory):
/// - relatively (`from .loss import X`) in a package file that imports relatively;
/// - from the root its own project imports resolve from: `from loss import X` beside
///   `import facenet` (its directory is on the path), `from big_vision.trainers.loss import X`
///   beside `import big_vision.input_pipeline` (run with `python -m`);
/// - by plain name in a package file run as a script (a relative import fails there);
/// - in a plain directory, as the other files import the module (`from utils.loss import X`
///   when a notebook one level up does `from utils.optim import Optim`);
/// - else relatively in a package, by plain name in a directory.
fn import_line(
    cx: &ProjectContext<'_>,
    names: &ModuleNames,
    target: &Target,
    name: &str,
) -> Option<String> {
    let package = cx.facts().package.as_deref();
    let relative_used = names.imports.iter().any(|b| b.relative);
    if !relative_used {
        if let Some(root) = project_import_root(cx, names) {
            return dotted_from(&root, &target.absolute).map(|m| format!("from {m} import {name}"));
        }
        if package.is_some() && cx.facts().main_guard.is_some() {
            return (target.ups == 0).then(|| format!("from {} import {name}", target.module));
        }
    }
    if package.is_none() && !relative_used && target.ups == 0 {
        let prefixes: Vec<&str> = cx
            .index
            .import_spellings(cx.file)
            .iter()
            .map(|spelled| spelled.rsplit_once('.').map_or("", |(prefix, _)| prefix))
            .collect();
        if let Some(first) = prefixes.first()
            && prefixes.iter().all(|p| p == first)
            && !first.is_empty()
        {
            return Some(format!("from {first}.{} import {name}", target.module));
        }
    }
    match (package, target.ups) {
        (Some(_), 0) => Some(format!("from .{} import {name}", target.module)),
        (Some(package), ups) if package.split('.').count() > ups => Some(format!(
            "from {}{} import {name}",
            ".".repeat(ups + 1),
            target.module
        )),
        (None, 0) => Some(format!("from {} import {name}", target.module)),
        _ => None,
    }
}

/// The directory the file's own project imports are resolved from, by the project index: the
/// first absolute import that resolves to another file of the project whose top-level module
/// holds the file (`import facenet` beside `facenet.py`: the file's directory;
/// `import big_vision.input_pipeline` in `big_vision/trainers/train.py`: the directory above
/// `big_vision`). An import spelled `import a.b` binds `a`: the dotted path written counts.
fn project_import_root(cx: &ProjectContext<'_>, names: &ModuleNames) -> Option<PathBuf> {
    use crate::semantic::index::{ProjectIndex, Symbol};
    let file = &cx.project_file().absolute;
    let spelled = names.imports.iter().flat_map(|b| {
        let written = b
            .line
            .trim_start()
            .strip_prefix("import ")
            .into_iter()
            .flat_map(|rest| rest.split(','))
            .filter_map(|item| item.split_whitespace().next());
        std::iter::once(b.qualified.as_str()).chain(written)
    });
    for dotted in spelled {
        let Some(Symbol::Module(t) | Symbol::Class(t, _) | Symbol::Function(t, _)) =
            cx.index.resolve_qualified(cx.file, dotted)
        else {
            continue;
        };
        if t == cx.file {
            continue;
        }
        let imported = &cx.index.file(t).absolute;
        // The module part of what was imported (`a.b` of `a.b.Name`), and the root it sits in.
        let mut module = dotted;
        let root = loop {
            let depth = module.split('.').count();
            let base = if imported.ends_with("__init__.py") {
                imported.parent()?
            } else {
                imported.as_path()
            };
            if let Some(root) = base.ancestors().nth(depth)
                && ProjectIndex::module_candidates(root, module).contains(imported)
            {
                break root;
            }
            module = module.rsplit_once('.')?.0;
        };
        let top = module.split('.').next()?;
        if file.parent() == Some(root) || file.starts_with(root.join(top)) {
            return Some(root.to_path_buf());
        }
    }
    None
}

/// `big_vision.trainers.loss` for `root/big_vision/trainers/loss.py`, if every part is an
/// identifier.
fn dotted_from(root: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(root).ok()?.with_extension("");
    let parts: Vec<&str> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<_>>()?;
    let identifiers = parts.iter().all(|p| {
        p.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_alphanumeric() || c == '_')
    });
    identifiers.then(|| parts.join("."))
}

/// `import` (`from .loss import GLoss`) merged into a module-level statement that imports
/// from the same module on one line without comments or parentheses, when no other edit
/// touches it: `from .loss import TrainLoss` becomes `from .loss import TrainLoss, GLoss`.
fn join_import(file: &ParsedSource, import: &str, edits: &[Edit]) -> Option<Edit> {
    let (head, name) = import.rsplit_once(" import ")?;
    let head = format!("{head} import");
    let text = file.text();
    let (imports, _) = file.imports();
    imports.with_head(&head).find_map(|stmt| {
        let written = &text[stmt.range];
        let plain = !written.contains(['(', '\\', '#', '\n', ';', '*']);
        let untouched = !edits.iter().any(|e| {
            e.range
                .intersect(stmt.range)
                .is_some_and(|i| !i.is_empty() || stmt.range.contains_range(e.range))
                && e.range.end() != stmt.range.start()
                && e.range.start() != stmt.range.end()
        });
        let names = written.rsplit_once(" import ")?.1;
        (plain && untouched)
            .then(|| Edit::replacement(stmt.range, format!("{head} {names}, {name}")))
    })
}

/// True if `path` names a Python source file type dllint parses.
#[allow(dead_code)]
fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py" || e == "pyi")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_catches_unbound_names() {
        assert!(verify("import torch\n\n\ndef f(x):\n    return torch.relu(x) + len(x)\n").is_ok());
        let err = verify("def f(x):\n    return y + x\n").unwrap_err();
        assert!(err.contains("`y`"), "{err}");
        assert!(verify("def f(x:\n").is_err());
    }

    #[test]
    fn indents_code_but_not_blank_or_string_lines() {
        let lines = [
            Line::code("a = '''x\n"),
            Line {
                text: "y'''\n".into(),
                verbatim: true,
            },
            Line::code("\n"),
            Line::code("b = 2\n"),
        ];
        assert_eq!(indent(&lines, "    "), "    a = '''x\ny'''\n\n    b = 2\n");
    }
}
