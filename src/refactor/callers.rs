//! A model's loss moved to its callers (`DL101` outside framework hooks): the model's
//! `forward` returns its predictions, the loss formula becomes a Loss component, and every
//! call of the model that passed the targets computes `loss = loss_fn(outputs, targets)`
//! itself, with `loss_fn` built once beside the model (after `model = Net(...)`, or after
//! `self.model = Net(...)` in a runner's `__init__`).
//!
//! Only the clean shapes are rewritten: a PyTorch `forward(self, ..., targets)` (or
//! `targets=None` with one `if targets is not None:` branch that only adds the loss) whose
//! loss statements come last and read nothing of the model, and a model the project builds
//! and calls in ways the rewrite follows (a variable or a `self` attribute, called, moved to
//! a device, switched to eval mode). Anything else gets a reason ([`Err`]): the finding then
//! shows the extraction as a suggestion only.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{CmpOp, Expr, ExprCall, Stmt, StmtClassDef, StmtFunctionDef};
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::diagnostic::{Edit, FileEdits, Fix};
use crate::fix::edits::{
    delete_stmt, ends_line, indentation, line_end_with_newline, multiline_strings, starts_line,
};
use crate::rule_context::ProjectContext;
use crate::semantic::facts::{Callee, ClassId, FunctionId};
use crate::semantic::index::{FileId, Symbol};

use super::component::{self, ComponentSpec, Refactoring, SpecKind};
use super::names::{self, Usage};
use super::{Line, ParsedSource, moved_lines, snake_case};

/// What the Loss component is called and where it goes.
pub struct Target {
    pub kind: SpecKind,
    pub name: String,
    pub module: String,
    pub doc: String,
    pub action: String,
}

/// The model side: what leaves `forward`, what it returns instead, the edits that do it.
struct Plan<'a> {
    /// The targets parameter and its position among the parameters after `self`.
    target: String,
    position: usize,
    /// The loss statements and the loss expression the component returns.
    helpers: Vec<&'a Stmt>,
    loss: &'a Expr,
    /// Where the loss was in the tuple `forward` returned with the targets (`None`: it
    /// returned the loss alone).
    tuple: Option<usize>,
    /// `targets=None`, with the loss in an `if targets is not None:` branch (or after
    /// `if targets is None: return ...`).
    optional: bool,
    /// What `if targets is None: return ...` returns, when `forward` starts so.
    early: Option<String>,
    /// `loss = None` before the branch: without targets `forward` returned `(outputs, None)`,
    /// which the calls without targets unpack.
    none_loss: bool,
    edits: Vec<Edit>,
}

/// One rewritten call site, in the file of its model variable.
struct Site {
    file: FileId,
    edits: Vec<Edit>,
    shown: String,
    /// The rewritten call computes the loss (the file imports the Loss).
    loss: bool,
}

/// Move the loss of `forward` (the function `method`) of `class` to the callers.
pub fn to_callers(
    cx: &ProjectContext<'_>,
    class_id: ClassId,
    method: u32,
    target: Target,
) -> Result<Refactoring, String> {
    let facts = cx.facts();
    let class = &facts.classes[class_id as usize];
    let function = &facts.functions[method as usize];
    // A PyTorch module's forward pass, as the framework knowledge names it.
    let is_forward = |name: &str| {
        cx.knowledge()
            .training
            .evaluation
            .forward_methods
            .iter()
            .any(|m| m == name)
    };
    if !is_forward(&function.name) {
        return Err(format!(
            "the loss is computed in `{}`, and only a PyTorch `forward`'s loss moves to its \
             callers",
            function.name
        ));
    }
    if target.kind != SpecKind::TorchModule {
        return Err("the model is not a PyTorch module".into());
    }
    let file = cx.project_file();
    if crate::source::is_notebook(&file.absolute) {
        return Err("the model is in a notebook".into());
    }
    if file
        .absolute
        .file_name()
        .is_some_and(|n| n == "__init__.py")
    {
        return Err(format!(
            "`{}` is defined in a package's `__init__.py`: code outside the project may call it \
             with targets",
            class.name
        ));
    }
    let [target_param] = function.target_params.as_slice() else {
        return Err(match function.target_params.as_slice() {
            [] => format!("`{}.forward` takes no targets parameter", class.name),
            many => format!(
                "`{}.forward` takes several targets parameters ({})",
                class.name,
                many.iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    let parsed = cx.parsed().ok_or("the file cannot be parsed again")?;
    let text = parsed.text();
    let class_def = parsed
        .module()
        .body
        .iter()
        .find_map(|s| match s {
            Stmt::ClassDef(c) if c.range == class.range => Some(c),
            _ => None,
        })
        .ok_or("the model class is not defined at module level")?;
    let forward = class_def
        .body
        .iter()
        .filter_map(|s| match s {
            Stmt::FunctionDef(d) if d.name.as_str() == function.name => Some(d),
            _ => None,
        })
        .next_back()
        .ok_or("no `forward` in the class body")?;
    if calls_itself(class_def, &function.name) {
        return Err(format!(
            "`{}` calls itself (`self(...)`), which the rewrite does not follow",
            class.name
        ));
    }
    let plan = plan(text, forward, target_param)?;

    // The Loss component: the loss statements and the loss, whose free names are the
    // predictions and the targets.
    let renames: Vec<Edit> = Vec::new();
    let mut body: Vec<Line> = Vec::new();
    for helper in &plan.helpers {
        let strings = multiline_strings(text, std::slice::from_ref(*helper));
        let from = indentation(text, helper.start());
        body.extend(
            moved_lines(text, helper.range(), &renames, from, &strings)
                .ok_or("a loss statement cannot be moved")?,
        );
    }
    let returns = &text[plan.loss.range()];
    let returns = if returns.contains('\n') {
        format!("({})", returns.replace("\r\n", "\n"))
    } else {
        returns.to_string()
    };
    let indexed = parsed.block_usage(Some(forward));
    let mut locals: BTreeSet<String> = indexed.usage.bound.clone();
    locals.extend(forward.parameters.iter().map(|p| p.name().to_string()));
    let spec = ComponentSpec {
        kind: target.kind.clone(),
        name: target.name.clone(),
        alternatives: Vec::new(),
        target: target.module.clone(),
        doc: target.doc.clone(),
        body,
        returns: Some(returns),
        owner: None,
        call_args: Vec::new(),
        held: Vec::new(),
        locals,
        action: target.action.clone(),
    };
    let generated = component::generate(cx, parsed.names(), &spec)?;
    if generated.params.iter().any(|p| p == "self") {
        return Err("the loss formula reads the model's attributes (`self`)".into());
    }
    let predictions: Vec<&String> = generated
        .params
        .iter()
        .filter(|p| **p != plan.target)
        .collect();
    let [prediction] = predictions.as_slice() else {
        return Err(format!(
            "the loss formula reads {} of `forward`'s values besides the targets ({})",
            predictions.len(),
            predictions
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let prediction = prediction.to_string();
    if !generated.params.contains(&plan.target) {
        return Err("the loss formula does not read the targets".into());
    }
    let mut model_edits = plan.edits.clone();
    // `return loss` becomes `return logits`; `return logits, loss` drops the loss.
    finish_return(text, forward, &plan, &prediction, &mut model_edits)?;

    // The callers, across the project.
    let component_name = generated.name.clone();
    let callers = find_callers(
        cx,
        class_id,
        class_def,
        &plan,
        &generated.params,
        &prediction,
        &component_name,
    )?;
    // No caller computes the loss through the model: moving the formula would leave a Loss
    // nobody builds (and the branch is dead code in this project, which is the user's call).
    if callers.passing == 0 {
        return Err(format!(
            "no caller in the project passes `{}`, so no caller computes this loss",
            plan.target
        ));
    }
    let mut by_file: BTreeMap<FileId, Vec<Edit>> = BTreeMap::new();
    by_file.insert(cx.file, model_edits);
    let mut needs_import: BTreeSet<FileId> = BTreeSet::new();
    let mut shown: Vec<String> = Vec::new();
    for site in callers.sites {
        by_file.entry(site.file).or_default().extend(site.edits);
        if site.loss {
            needs_import.insert(site.file);
        }
        if site.loss && shown.len() < 2 {
            shown.push(site.shown);
        }
    }
    for (file, edit) in callers.builds {
        by_file.entry(file).or_default().push(edit);
    }
    let target_absolute = generated.target_absolute().to_path_buf();
    let mut main_edits = Vec::new();
    let mut others: Vec<FileEdits> = Vec::new();
    let model_dir = file.absolute.parent().map(std::path::Path::to_path_buf);
    for (f, mut edits) in by_file {
        let project_file = cx.index.file(f);
        if project_file.absolute == target_absolute {
            return Err(format!(
                "the Loss would go into `{}`, which the rewrite changes too",
                project_file.path.display()
            ));
        }
        let source = if f == cx.file {
            None
        } else {
            Some(ParsedSource::of(project_file).ok_or("a caller's file cannot be parsed")?)
        };
        let source = source.as_ref().unwrap_or(parsed);
        let names = source.names();
        let (unused, import_at) = source.imports_left_unused(names, &edits);
        edits.extend(unused);
        if needs_import.contains(&f) {
            if names.bound.contains(&component_name) {
                return Err(format!(
                    "`{component_name}` is already bound in `{}`",
                    project_file.path.display()
                ));
            }
            let file_cx = ProjectContext::new(cx.index, cx.roles, f, cx.options(), true);
            let same_dir = project_file
                .absolute
                .parent()
                .map(std::path::Path::to_path_buf)
                == model_dir;
            let import = generated
                .import_in(&file_cx, names, same_dir)
                .ok_or_else(|| {
                    format!(
                        "`{}` cannot import the Loss from where it is run",
                        project_file.path.display()
                    )
                })?;
            edits.push(Edit::insertion(import_at, format!("{import}\n")));
        }
        edits.sort_by_key(|e| (e.range.start(), e.range.end()));
        if edits
            .windows(2)
            .any(|w| w[0].range.end() > w[1].range.start())
        {
            return Err(format!(
                "the edits of `{}` overlap",
                project_file.path.display()
            ));
        }
        let after = crate::fix::apply_edits(source.text(), &edits);
        if !crate::fix::parses(&after, &project_file.absolute) {
            return Err(format!(
                "`{}` would not parse after the rewrite",
                project_file.path.display()
            ));
        }
        if f == cx.file {
            main_edits = edits;
        } else {
            others.push(FileEdits {
                path: project_file.path.to_path_buf(),
                create: false,
                edits,
            });
        }
    }
    let loss_file = generated.target_edits()?;
    let title = format!(
        "{}; its callers compute the loss",
        generated.title.replace("Extract", "Move")
    );
    let mut fix = Fix::unsafe_edits(title.clone(), main_edits).with_other_file(loss_file);
    for other in others {
        fix = fix.with_other_file(other);
    }
    let mut suggestion = generated.suggestion((!shown.is_empty()).then(|| shown.join("\n")));
    suggestion.title = title;
    Ok(Refactoring {
        suggestion,
        fix: Some(fix),
    })
}

/// Whether a method of the class calls the model itself (`self(...)`, `self.forward(...)`,
/// `forward` being the name of the method the loss leaves).
fn calls_itself(class: &StmtClassDef, forward: &str) -> bool {
    struct Finder<'f>(bool, &'f str);
    impl<'a> Visitor<'a> for Finder<'_> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Call(call) = expr {
                let is_self = |e: &Expr| matches!(e, Expr::Name(n) if n.id.as_str() == "self");
                match &*call.func {
                    f if is_self(f) => self.0 = true,
                    Expr::Attribute(a) if a.attr.as_str() == self.1 && is_self(&a.value) => {
                        self.0 = true;
                    }
                    _ => {}
                }
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut finder = Finder(false, forward);
    for stmt in &class.body {
        finder.visit_stmt(stmt);
    }
    finder.0
}

fn reads(stmt: &Stmt) -> BTreeSet<String> {
    names::analyze(std::iter::once(stmt), &[]).reads
}

fn expr_reads(expr: &Expr) -> BTreeSet<String> {
    let mut usage = Usage::default();
    names::analyze_expr(&mut usage, expr);
    usage.reads
}

/// Whether `stmt` contains a `return`, `yield` or `await` outside nested definitions.
fn returns_inside(stmt: &Stmt) -> bool {
    struct Finder(bool);
    impl<'a> Visitor<'a> for Finder {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::Return(_) => self.0 = true,
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => return,
                _ => {}
            }
            visitor::walk_stmt(self, stmt);
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::Yield(_) | Expr::YieldFrom(_) | Expr::Await(_) => self.0 = true,
                Expr::Lambda(_) => return,
                _ => {}
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut finder = Finder(false);
    finder.visit_stmt(stmt);
    finder.0
}

/// The loss statements of a block: each a plain assignment that reads the targets or a value
/// computed from them. `tainted` starts with the targets and gains what they bind.
fn loss_statements<'a>(
    stmts: &'a [Stmt],
    tainted: &mut BTreeSet<String>,
) -> Result<Vec<&'a Stmt>, String> {
    let mut out = Vec::new();
    for stmt in stmts {
        let plain = match stmt {
            Stmt::Assign(s) => s.targets.iter().all(|t| matches!(t, Expr::Name(_))),
            Stmt::AnnAssign(s) => s.value.is_some() && matches!(&*s.target, Expr::Name(_)),
            Stmt::AugAssign(s) => matches!(&*s.target, Expr::Name(_)),
            _ => false,
        };
        if !plain {
            return Err("`forward` goes on after its loss with more than assignments".into());
        }
        let usage = names::analyze(std::iter::once(stmt), &[]);
        if usage.unsupported.is_some() || !usage.reads.iter().any(|r| tainted.contains(r)) {
            return Err(
                "`forward` computes more after the loss starts (statements that do not \
                 feed the loss)"
                    .into(),
            );
        }
        tainted.extend(usage.bound);
        out.push(stmt);
    }
    Ok(out)
}

/// The loss a `return` gives, and, in a tuple, its position and the other element.
type Split<'a> = (&'a Expr, Option<(usize, &'a Expr)>);

/// `(logits, loss)` → the loss's position and the other element; a lone loss → `None`.
fn split_return<'a>(value: &'a Expr, tainted: &BTreeSet<String>) -> Result<Split<'a>, String> {
    let is_tainted = |e: &Expr| expr_reads(e).iter().any(|r| tainted.contains(r));
    match value {
        Expr::Tuple(tuple) if tuple.elts.len() == 2 => {
            let flags: Vec<bool> = tuple.elts.iter().map(is_tainted).collect();
            match flags.as_slice() {
                [true, false] => Ok((&tuple.elts[0], Some((0, &tuple.elts[1])))),
                [false, true] => Ok((&tuple.elts[1], Some((1, &tuple.elts[0])))),
                [true, true] => Err(
                    "both values `forward` returns depend on the targets: its outputs would \
                     change without them"
                        .into(),
                ),
                _ => Err("`forward` returns a tuple the rewrite cannot split".into()),
            }
        }
        Expr::Tuple(_) => Err("`forward` returns more than its outputs and the loss".into()),
        other if is_tainted(other) => Ok((other, None)),
        _ => Err("`forward` does not return its loss".into()),
    }
}

/// `loss = F.cross_entropy(logits, y)` then `loss`: the component returns the value itself.
fn returned_directly<'a>(mut helpers: Vec<&'a Stmt>, loss: &'a Expr) -> (Vec<&'a Stmt>, &'a Expr) {
    let Expr::Name(name) = loss else {
        return (helpers, loss);
    };
    let Some(Stmt::Assign(last)) = helpers.last() else {
        return (helpers, loss);
    };
    let single = matches!(last.targets.as_slice(), [Expr::Name(t)] if t.id == name.id);
    let earlier = names::analyze(helpers[..helpers.len() - 1].iter().copied(), &[]);
    if !single
        || earlier.bound.contains(name.id.as_str())
        || earlier.reads.contains(name.id.as_str())
        || expr_reads(&last.value).contains(name.id.as_str())
    {
        return (helpers, loss);
    }
    let value = &*last.value;
    helpers.pop();
    (helpers, value)
}

/// `target is None` (`op` = `Is`) or `target is not None` (`IsNot`).
fn none_test(test: &Expr, target: &str, op: CmpOp) -> bool {
    matches!(test, Expr::Compare(c)
        if matches!(&*c.left, Expr::Name(n) if n.id.as_str() == target)
            && c.ops.as_ref() == [op]
            && matches!(c.comparators.as_ref(), [Expr::NoneLiteral(_)]))
}

/// Decide what leaves `forward` and write the edits that remove it (the return is written by
/// [`finish_return`] once the predictions are known).
fn plan<'a>(text: &str, forward: &'a StmtFunctionDef, target: &str) -> Result<Plan<'a>, String> {
    let params = &forward.parameters;
    if !params.posonlyargs.is_empty()
        || params.vararg.is_some()
        || params.kwarg.is_some()
        || !params.kwonlyargs.is_empty()
        || !forward.decorator_list.is_empty()
    {
        return Err("`forward`'s signature has more than plain parameters".into());
    }
    let Some((last, before)) = params.args.split_last() else {
        return Err("`forward` takes no parameters".into());
    };
    if last.parameter.name.as_str() != target || before.is_empty() {
        return Err(format!(
            "`{target}` is not `forward`'s last parameter: the callers' arguments would shift"
        ));
    }
    if before[0].parameter.name.as_str() != "self" {
        return Err("`forward` is not a plain method".into());
    }
    let optional = match last.default() {
        None => false,
        Some(Expr::NoneLiteral(_)) => true,
        Some(_) => return Err(format!("`{target}` has a default other than `None`")),
    };
    let position = before.len() - 1;
    // `, y` / `, y=None` leaves the signature.
    let removed = TextRange::new(before.last().map_or(last.start(), Ranged::end), last.end());
    if text[removed].contains('#') {
        return Err("a comment sits in the signature".into());
    }
    let mut edits = vec![Edit::deletion(removed)];
    let body = &forward.body;
    let Some(Stmt::Return(ret)) = body.last() else {
        return Err("`forward` does not end with a `return`".into());
    };
    let ret_value = ret
        .value
        .as_deref()
        .ok_or("`forward` ends with a bare `return`")?;
    let mut tainted: BTreeSet<String> = BTreeSet::from([target.to_string()]);
    // Every shape ends the same way: the loss statements and the loss the component returns,
    // where the loss was in the returned tuple, and the edits that take them out of `forward`.
    let planned = |helpers: Vec<&'a Stmt>,
                   loss: &'a Expr,
                   tuple: Option<usize>,
                   early: Option<String>,
                   none_loss: bool,
                   edits: Vec<Edit>| {
        let (helpers, loss) = returned_directly(helpers, loss);
        Plan {
            target: target.to_string(),
            position,
            helpers,
            loss,
            tuple,
            optional,
            early,
            none_loss,
            edits,
        }
    };
    if !optional {
        let first = body
            .iter()
            .position(|s| reads(s).contains(target))
            .ok_or("`forward` does not read its targets")?;
        if body[..body.len() - 1].iter().any(returns_inside) {
            return Err("`forward` returns early".into());
        }
        let helpers = loss_statements(&body[first..body.len() - 1], &mut tainted)?;
        let (loss, rest) = split_return(ret_value, &tainted)?;
        delete_each(text, &helpers, &mut edits)?;
        return Ok(planned(
            helpers,
            loss,
            rest.map(|(i, _)| i),
            None,
            false,
            edits,
        ));
    }
    // `if y is None: return logits`, then the loss and `return logits, loss`.
    if let Some(first) = body.iter().position(|s| reads(s).contains(target))
        && let Stmt::If(guard) = &body[first]
        && none_test(&guard.test, target, CmpOp::Is)
        && guard.elif_else_clauses.is_empty()
        && let [Stmt::Return(early)] = guard.body.as_slice()
    {
        let early = early.value.as_deref().ok_or("a bare `return`")?;
        if body[..body.len() - 1]
            .iter()
            .any(|s| !std::ptr::eq(s, &body[first]) && returns_inside(s))
        {
            return Err("`forward` returns early elsewhere".into());
        }
        let helpers = loss_statements(&body[first + 1..body.len() - 1], &mut tainted)?;
        let (loss, rest) = split_return(ret_value, &tainted)?;
        same_outputs(text, rest, early, target)?;
        edits.push(delete_stmt(text, guard.range, false).ok_or("the branch shares a line")?);
        delete_each(text, &helpers, &mut edits)?;
        let early = Some(text[early.range()].to_string());
        return Ok(planned(
            helpers,
            loss,
            rest.map(|(i, _)| i),
            early,
            false,
            edits,
        ));
    }
    // `loss = None`, `if y is not None: loss = ...`, then `return logits, loss`.
    if let [prefix @ .., Stmt::If(guard), Stmt::Return(_)] = body.as_slice()
        && none_test(&guard.test, target, CmpOp::IsNot)
        && guard.elif_else_clauses.is_empty()
        && !guard.body.iter().any(returns_inside)
        && let Expr::Tuple(tuple) = ret_value
        && tuple.elts.len() == 2
    {
        let bound = names::analyze(&guard.body, &[]).bound;
        let name_of = |e: &Expr| match e {
            Expr::Name(n) => Some(n.id.to_string()),
            _ => None,
        };
        let names: Vec<Option<String>> = tuple.elts.iter().map(name_of).collect();
        let loss_at = names
            .iter()
            .position(|n| n.as_ref().is_some_and(|n| bound.contains(n)))
            .ok_or("`forward` does not return what its branch computes")?;
        let loss_name = names[loss_at].clone().unwrap_or_default();
        let init = prefix
            .iter()
            .position(|s| {
                matches!(s, Stmt::Assign(a)
                    if matches!(a.targets.as_slice(), [Expr::Name(n)] if n.id.as_str() == loss_name)
                        && matches!(&*a.value, Expr::NoneLiteral(_)))
            })
            .ok_or_else(|| format!("`{loss_name}` is not set to `None` before the branch"))?;
        for (i, stmt) in prefix.iter().enumerate() {
            let usage = names::analyze(std::iter::once(stmt), &[]);
            if i != init && (usage.reads.contains(&loss_name) || usage.bound.contains(&loss_name)) {
                return Err(format!("`forward` uses `{loss_name}` outside the loss"));
            }
            if usage.reads.contains(target) || returns_inside(stmt) {
                return Err(format!(
                    "`forward` reads `{target}` (or returns) outside its `if {target} is not None:`"
                ));
            }
        }
        let helpers = loss_statements(&guard.body, &mut tainted)?;
        let (loss, rest) = split_return(ret_value, &tainted)?;
        edits.push(
            delete_stmt(text, prefix[init].range(), false).ok_or("`loss = None` shares a line")?,
        );
        edits.push(delete_stmt(text, guard.range, false).ok_or("the branch shares a line")?);
        return Ok(planned(
            helpers,
            loss,
            rest.map(|(i, _)| i),
            None,
            true,
            edits,
        ));
    }
    // `if y is not None: ...; return logits, loss` then `return logits`.
    let [prefix @ .., Stmt::If(guard), Stmt::Return(_)] = body.as_slice() else {
        return Err(format!(
            "`forward` does not end with `if {target} is not None: ... return` and a `return`"
        ));
    };
    if prefix
        .iter()
        .any(|s| reads(s).contains(target) || returns_inside(s))
    {
        return Err(format!(
            "`forward` reads `{target}` (or returns) outside its `if {target} is not None:`"
        ));
    }
    if !none_test(&guard.test, target, CmpOp::IsNot) {
        return Err(format!("`forward` branches on `{target}` in another way"));
    }
    if !guard.elif_else_clauses.is_empty() {
        return Err(format!(
            "`forward` computes something else when no `{target}` is passed (an `else` \
             branch): rewriting it would change inference"
        ));
    }
    let Some((Stmt::Return(inner), statements)) = guard.body.split_last() else {
        return Err(format!(
            "the `if {target} is not None:` branch does not end with a `return`"
        ));
    };
    let inner_value = inner.value.as_deref().ok_or("a bare `return`")?;
    if statements.iter().any(returns_inside) {
        return Err("the branch returns early".into());
    }
    let helpers = loss_statements(statements, &mut tainted)?;
    let (loss, rest) = split_return(inner_value, &tainted)?;
    // What the branch returns besides the loss is what `forward` returns without targets.
    same_outputs(text, rest, ret_value, target)?;
    edits.push(delete_stmt(text, guard.range, false).ok_or("the branch shares a line")?);
    Ok(planned(
        helpers,
        loss,
        rest.map(|(i, _)| i),
        None,
        false,
        edits,
    ))
}

/// Delete each loss statement from `forward`.
fn delete_each(text: &str, statements: &[&Stmt], edits: &mut Vec<Edit>) -> Result<(), String> {
    for statement in statements {
        edits.push(
            delete_stmt(text, statement.range(), false).ok_or("a loss statement shares a line")?,
        );
    }
    Ok(())
}

/// What `forward` returns besides the loss (`rest`, from [`split_return`]) must be what it
/// returns without targets (`without`): the calls without targets keep their outputs.
fn same_outputs(
    text: &str,
    rest: Option<(usize, &Expr)>,
    without: &Expr,
    target: &str,
) -> Result<(), String> {
    match rest {
        Some((_, other)) if text[other.range()] == text[without.range()] => Ok(()),
        None if matches!(without, Expr::Name(_)) => Ok(()),
        _ => Err(format!(
            "with `{target}`, `forward` returns other outputs than without it"
        )),
    }
}

/// Rewrite the final `return` to give the predictions alone (the unguarded shape; the guarded
/// one keeps its final `return`).
fn finish_return(
    text: &str,
    forward: &StmtFunctionDef,
    plan: &Plan<'_>,
    prediction: &str,
    edits: &mut Vec<Edit>,
) -> Result<(), String> {
    let Some(Stmt::Return(ret)) = forward.body.last() else {
        return Err("`forward` does not end with a `return`".into());
    };
    let value = ret.value.as_deref().ok_or("a bare `return`")?;
    if let Some(early) = &plan.early
        && early != prediction
    {
        return Err(format!(
            "without targets `forward` returns `{early}`, not `{prediction}`, which the loss reads"
        ));
    }
    if plan.optional && plan.early.is_none() && !plan.none_loss {
        // The branch is removed; `return logits` stays.
        return match value {
            Expr::Name(n) if n.id.as_str() == prediction => Ok(()),
            _ => Err(format!(
                "without targets `forward` returns `{}`, not `{prediction}`, which the loss reads",
                &text[value.range()]
            )),
        };
    }
    match (plan.tuple, value) {
        (Some(loss_at), Expr::Tuple(tuple)) => {
            let other = tuple
                .elts
                .get(1 - loss_at)
                .ok_or("no outputs in the returned tuple")?;
            if !matches!(other, Expr::Name(n) if n.id.as_str() == prediction) {
                return Err(format!(
                    "the loss reads `{prediction}`, but `forward` returns `{}`",
                    &text[other.range()]
                ));
            }
        }
        (None, _) => {}
        _ => return Err("`forward`'s return changed shape".into()),
    }
    edits.push(Edit::replacement(value.range(), prediction.to_string()));
    Ok(())
}

/// What the callers need: the rewritten calls, where each `loss_fn` is built.
struct Callers {
    sites: Vec<Site>,
    builds: Vec<(FileId, Edit)>,
    /// Calls that pass the targets, and model variables found.
    passing: usize,
    bindings: usize,
}

/// Where the model is built: a variable of a scope, or an attribute of `self`.
enum Holder<'a> {
    Variable {
        name: String,
        /// The scope's statements (a function body or the module).
        scope: &'a [Stmt],
        function: Option<&'a StmtFunctionDef>,
    },
    /// Set in the class's `__init__`.
    Attribute {
        name: String,
        class: &'a StmtClassDef,
    },
}

fn find_callers(
    cx: &ProjectContext<'_>,
    class_id: ClassId,
    class_def: &StmtClassDef,
    plan: &Plan<'_>,
    params: &[String],
    prediction: &str,
    component: &str,
) -> Result<Callers, String> {
    let index = cx.index;
    let ours = Symbol::Class(cx.file, class_id);
    let class_name = class_def.name.as_str();
    let mut callers = Callers {
        sites: Vec::new(),
        builds: Vec::new(),
        passing: 0,
        bindings: 0,
    };
    let sources: Vec<OnceCell<Option<ParsedSource>>> =
        (0..index.len()).map(|_| OnceCell::new()).collect();
    let need = Need {
        plan,
        params,
        prediction,
        component,
        class_name,
    };
    let mut handed: Vec<Handed> = Vec::new();
    for f in index.file_ids() {
        let facts = index.facts(f);
        // Subclasses inherit `forward`: their callers would pass targets too.
        for class in &facts.classes {
            if class
                .bases
                .iter()
                .any(|b| index.resolve_callee(f, b) == Some(ours))
            {
                return Err(format!("`{}` subclasses `{class_name}`", class.name));
            }
        }
        let mut locals: Vec<String> = Vec::new();
        if f == cx.file {
            locals.push(class_name.to_string());
        }
        for (local, qualified) in &facts.imports {
            match index.resolve_qualified(f, qualified) {
                Some(symbol) if symbol == ours => locals.push(local.to_string()),
                Some(Symbol::Module(m)) if m == cx.file && local != "*" => {
                    // `import model` then `model.Net(...)`: not followed.
                    let text = ParsedSource::of(index.file(f)).map(|p| p.text().to_string());
                    if text.is_none_or(|t| t.contains(&format!(".{class_name}"))) {
                        return Err(format!(
                            "`{}` reaches `{class_name}` through its module",
                            index.file(f).path.display()
                        ));
                    }
                }
                _ => {}
            }
            let star = qualified.strip_suffix(".*").or(qualified.strip_suffix("*"));
            if (local == "*" || star.is_some())
                && star
                    .map(|m| m.trim_end_matches('.'))
                    .and_then(|m| index.resolve_qualified(f, m))
                    == Some(Symbol::Module(cx.file))
            {
                return Err(format!(
                    "`{}` imports everything from the model's module",
                    index.file(f).path.display()
                ));
            }
        }
        if locals.is_empty() {
            continue;
        }
        let project_file = index.file(f);
        let path = project_file.path.display().to_string();
        if project_file
            .absolute
            .file_name()
            .is_some_and(|n| n == "__init__.py")
            && f != cx.file
        {
            return Err(format!(
                "`{class_name}` is exported by `{path}`: code outside the project may call it \
                 with targets"
            ));
        }
        if !project_file.linted || crate::source::is_notebook(&project_file.absolute) {
            return Err(format!(
                "`{path}` uses `{class_name}` and is not a file the fix can change"
            ));
        }
        let source =
            source_of(cx, &sources, f).ok_or_else(|| format!("`{path}` cannot be parsed"))?;
        for reference in References::in_module(&locals, source.module()) {
            // `train(Net(), loader)`: the model is built for the function it is handed to.
            if let Some((call, at)) = built_for_call(&reference, cx.knowledge()) {
                let target = match &*call.func {
                    Expr::Name(callee) => resolve_function(cx, f, callee.id.as_str()),
                    _ => None,
                }
                .ok_or_else(|| {
                    format!(
                        "`{path}`: the model is handed to something other than a project function"
                    )
                })?;
                let param = parameter_at(cx, target, &at).ok_or_else(|| {
                    format!("`{path}`: the model is handed in a way not followed")
                })?;
                callers.bindings += 1;
                handed.push(Handed {
                    file: f,
                    range: call.range(),
                    target,
                    param,
                });
                continue;
            }
            let (binding, holder) = binding(&reference, &source.module().body, cx.knowledge())
                .map_err(|why| format!("`{path}`: {why}"))?;
            callers.bindings += 1;
            // A subclass of the class holding the model may call it with the targets too.
            if let Holder::Attribute { class, .. } = &holder
                && let Some(id) = index
                    .facts(f)
                    .classes
                    .iter()
                    .position(|c| c.range == class.range)
                && let Some(sub) = subclass_of(cx, Symbol::Class(f, id as ClassId))
            {
                return Err(format!(
                    "`{path}`: `{sub}` subclasses `{}`, which holds the model",
                    class.name
                ));
            }
            if let Holder::Attribute { class, .. } = &holder
                && let Some(id) = index
                    .facts(f)
                    .classes
                    .iter()
                    .position(|c| c.range == class.range)
                && cx
                    .roles
                    .class(f, id as ClassId)
                    .roles
                    .contains(crate::semantic::Role::Model)
                && !cx
                    .roles
                    .class(f, id as ClassId)
                    .roles
                    .contains(crate::semantic::Role::Runner)
                && cx.roles.framework(index, f, id as ClassId).is_none()
            {
                return Err(format!(
                    "`{path}`: `{}` holds the model and is a model itself: the loss would move \
                     into its `forward`",
                    class.name
                ));
            }
            serve(
                cx,
                f,
                source,
                &holder,
                Some(binding),
                &need,
                &mut callers,
                &mut handed,
            )
            .map_err(|why| format!("`{path}`: {why}"))?;
        }
    }
    if callers.bindings == 0 {
        return Err(format!(
            "the project never builds `{class_name}`: its callers are outside the project"
        ));
    }
    // The functions the model is handed to (`train(model, loader)`), followed a few calls
    // deep: each is called only with the model, and uses its parameter as the model.
    let mut done: Vec<((FileId, FunctionId), String)> = Vec::new();
    let mut depth = 0;
    while depth < 3 {
        let pending: Vec<((FileId, FunctionId), String)> = handed
            .iter()
            .map(|h| (h.target, h.param.clone()))
            .filter(|t| !done.contains(t))
            .collect();
        if pending.is_empty() {
            break;
        }
        for (target, param) in pending {
            if done.contains(&(target, param.clone())) {
                continue;
            }
            done.push((target, param.clone()));
            let (tf, tid) = target;
            let project_file = index.file(tf);
            let path = project_file.path.display().to_string();
            if !project_file.linted || crate::source::is_notebook(&project_file.absolute) {
                return Err(format!(
                    "the model is handed to `{path}`, not a file the fix can change"
                ));
            }
            let source =
                source_of(cx, &sources, tf).ok_or_else(|| format!("`{path}` cannot be parsed"))?;
            let range = index.facts(tf).functions[tid as usize].range;
            let def = source
                .module()
                .body
                .iter()
                .find_map(|s| match s {
                    Stmt::FunctionDef(d) if d.range == range => Some(d),
                    _ => None,
                })
                .ok_or("the model is handed to a function that is not at module level")?;
            let holder = Holder::Variable {
                name: param,
                scope: &def.body,
                function: Some(def),
            };
            serve(
                cx,
                tf,
                source,
                &holder,
                None,
                &need,
                &mut callers,
                &mut handed,
            )
            .map_err(|why| format!("`{path}`: {why}"))?;
        }
        depth += 1;
    }
    if handed
        .iter()
        .any(|h| !done.contains(&(h.target, h.param.clone())))
    {
        return Err("the model is handed on through too many calls".into());
    }
    // Every call of those functions hands them the model: none gets another value.
    for h in &handed {
        let (tf, tid) = h.target;
        let all = index.call_sites_of(tf, tid);
        let ours = |site: &crate::semantic::calls::CallSite| {
            handed
                .iter()
                .any(|o| o.target == h.target && o.file == site.file && o.range == site.range)
        };
        if all.is_empty() || !all.iter().all(|site| ours(&site)) {
            return Err(format!(
                "`{}` is also called with something else than the model",
                index.facts(tf).functions[tid as usize].name
            ));
        }
        only_called(cx, &sources, h.target, &handed)?;
    }
    Ok(callers)
}

/// The first project class whose base is `base`.
fn subclass_of(cx: &ProjectContext<'_>, base: Symbol) -> Option<String> {
    let index = cx.index;
    index.file_ids().find_map(|f| {
        index
            .facts(f)
            .classes
            .iter()
            .find(|c| {
                c.bases
                    .iter()
                    .any(|b| index.resolve_callee(f, b) == Some(base))
            })
            .map(|c| c.name.to_string())
    })
}

/// The function the model is handed to is named nowhere but at those calls (not stored in a
/// table, passed as a value or wrapped): its file and the files importing it are read.
fn only_called(
    cx: &ProjectContext<'_>,
    sources: &[OnceCell<Option<ParsedSource>>],
    target: (FileId, FunctionId),
    handed: &[Handed],
) -> Result<(), String> {
    let index = cx.index;
    let (tf, tid) = target;
    let name = index.facts(tf).functions[tid as usize].name;
    for f in index.file_ids() {
        let mut locals: Vec<String> = index
            .facts(f)
            .imports
            .iter()
            .filter(|(_, q)| index.resolve_qualified(f, q) == Some(Symbol::Function(tf, tid)))
            .map(|(local, _)| local.to_string())
            .collect();
        if f == tf {
            locals.push(name.to_string());
        }
        if locals.is_empty() {
            continue;
        }
        let source = source_of(cx, sources, f).ok_or("a file cannot be parsed")?;
        let calls: Vec<TextRange> = handed
            .iter()
            .filter(|h| h.file == f && h.target == target)
            .map(|h| h.range)
            .collect();
        for reference in References::in_module(&locals, source.module()) {
            let as_callee = calls.iter().any(|c| {
                statement_calls(reference.stmt, *c).is_some_and(
                    |call| matches!(&*call.func, Expr::Name(n) if n.range == reference.expr),
                )
            });
            if !as_callee {
                return Err(format!(
                    "`{name}`, which the model is handed to, is used otherwise than called in `{}`",
                    index.file(f).path.display()
                ));
            }
        }
    }
    Ok(())
}

/// The call with exactly `range` in `stmt`'s own expressions.
fn statement_calls(stmt: &Stmt, range: TextRange) -> Option<&ExprCall> {
    let mut exprs = Vec::new();
    collect_exprs(stmt, &mut exprs);
    exprs.into_iter().find_map(|e| find_call(e, range))
}

fn find_call(expr: &Expr, range: TextRange) -> Option<&ExprCall> {
    match super::expr_at(super::Within::Expr(expr), range, |e| e.is_call_expr())? {
        Expr::Call(call) => Some(call),
        _ => None,
    }
}

/// The file's syntax tree, parsed once per search.
fn source_of<'s>(
    cx: &'s ProjectContext<'_>,
    sources: &'s [OnceCell<Option<ParsedSource>>],
    file: FileId,
) -> Option<&'s ParsedSource> {
    if file == cx.file {
        return cx.parsed();
    }
    sources[file as usize]
        .get_or_init(|| ParsedSource::of(cx.index.file(file)))
        .as_ref()
}

/// What every rewritten call needs.
struct Need<'n> {
    plan: &'n Plan<'n>,
    params: &'n [String],
    prediction: &'n str,
    component: &'n str,
    class_name: &'n str,
}

/// A call that hands the model to a project function.
struct Handed {
    file: FileId,
    range: TextRange,
    target: (FileId, FunctionId),
    param: String,
}

/// Rewrite the calls of the model held by `holder` that pass the targets, and build the Loss
/// once: after `binding`, or first thing in the function whose parameter holds the model.
#[allow(clippy::too_many_arguments)]
fn serve(
    cx: &ProjectContext<'_>,
    f: FileId,
    source: &ParsedSource,
    holder: &Holder<'_>,
    binding: Option<TextRange>,
    need: &Need<'_>,
    callers: &mut Callers,
    handed: &mut Vec<Handed>,
) -> Result<(), String> {
    let Need {
        plan,
        params,
        prediction,
        component,
        class_name,
    } = *need;
    let text = source.text();
    let (calls, hands) = forward_calls(cx, f, source, holder, binding.unwrap_or_default())?;
    for (call, at) in hands {
        let Expr::Name(callee) = &*call.func else {
            return Err("the model is handed to something other than a project function".into());
        };
        let target = resolve_function(cx, f, callee.id.as_str()).ok_or_else(|| {
            format!(
                "the model is handed to `{}`, which is not a project function",
                callee.id
            )
        })?;
        let param = parameter_at(cx, target, &at)
            .ok_or_else(|| format!("`{}` takes the model in a way not followed", callee.id))?;
        handed.push(Handed {
            file: f,
            range: call.range(),
            target,
            param,
        });
    }
    let mut rewritten = Vec::new();
    for call in calls {
        match targets_passed(call, plan)? {
            Some(targets) => rewritten.push((call, targets)),
            // `logits, _ = model(x)` got `(logits, None)`: now `logits = model(x)`.
            None if plan.none_loss => {
                let edit = unpack_outputs(source, call, plan)?;
                callers.sites.push(Site {
                    file: f,
                    shown: edit.content.clone(),
                    edits: vec![edit],
                    loss: false,
                });
            }
            // A call without targets got the predictions and still does.
            None => {}
        }
    }
    if rewritten.is_empty() {
        return Ok(());
    }
    let var = loss_variable(source, holder, &snake_case(&format!("{class_name}Loss")))
        .ok_or("no free name for the Loss")?;
    let loss_call = match holder {
        Holder::Variable { .. } => var.clone(),
        Holder::Attribute { .. } => format!("self.{var}"),
    };
    for (call, targets) in rewritten {
        callers.passing += 1;
        if let (Some(def), _) = super::enclosing_function(&source.module().body, call.range())
            && (cx.knowledge().is_forward_method(def.name.as_str())
                || def.name.as_str() == "__call__")
        {
            return Err(format!(
                "`{}` passes the targets from a forward pass: the loss would stay in a model",
                def.name
            ));
        }
        let (edits, shown) = rewrite_call(
            text, source, call, targets, plan, params, prediction, &loss_call,
        )?;
        callers.sites.push(Site {
            file: f,
            edits,
            shown,
            loss: true,
        });
    }
    // Built once: beside the model, or first thing in the function it is handed to.
    let (at, indent, newline) = match binding {
        Some(binding) => {
            if !ends_line(text, binding.end()) || !starts_line(text, binding.start()) {
                return Err("the model is built on a shared line".into());
            }
            let at = line_end_with_newline(text, binding.end());
            let newline = if text[..at.to_usize()].ends_with('\n') {
                ""
            } else {
                "\n"
            };
            (at, indentation(text, binding.start()), newline)
        }
        None => {
            let Holder::Variable {
                function: Some(def),
                ..
            } = holder
            else {
                return Err("the model is held in a way not followed".into());
            };
            // After the docstring.
            let first = match def.body.as_slice() {
                [Stmt::Expr(doc), next, ..] if doc.value.is_string_literal_expr() => next,
                [first, ..] => first,
                [] => return Err("an empty function".into()),
            };
            if !starts_line(text, first.start()) {
                return Err("the function's body shares the line of its `def`".into());
            }
            (
                crate::fix::edits::line_start(text, first.start()),
                indentation(text, first.start()),
                "",
            )
        }
    };
    let built = match holder {
        Holder::Variable { .. } => format!("{newline}{indent}{var} = {component}()\n"),
        Holder::Attribute { .. } => format!("{newline}{indent}self.{var} = {component}()\n"),
    };
    callers.builds.push((f, Edit::insertion(at, built)));
    Ok(())
}

/// The project function a name in `file` calls (a module-level function of the file or one
/// it imports).
fn resolve_function(
    cx: &ProjectContext<'_>,
    file: FileId,
    name: &str,
) -> Option<(FileId, FunctionId)> {
    let index = cx.index;
    let imported = index
        .facts(file)
        .imports
        .iter()
        .rev()
        .find(|(local, _)| local == name);
    let symbol = match imported {
        Some((_, qualified)) => index.resolve_qualified(file, qualified),
        None => index.resolve_callee(file, &Callee::Local(name.into())),
    };
    match symbol {
        Some(Symbol::Function(f, id)) => {
            let function = &index.facts(f).functions[id as usize];
            (function.class.is_none() && function.parent.is_none()).then_some((f, id))
        }
        _ => None,
    }
}

/// Where a call hands the model: a position among the arguments, or a keyword.
enum At {
    Position(usize),
    Keyword(String),
}

/// The parameter of `function` that receives the model handed `at`: a plain parameter
/// without a default, in a signature without `*args`/`**kwargs`.
fn parameter_at(
    cx: &ProjectContext<'_>,
    function: (FileId, FunctionId),
    at: &At,
) -> Option<String> {
    let (file, id) = function;
    let parsed;
    let source = if file == cx.file {
        cx.parsed()?
    } else {
        parsed = ParsedSource::of(cx.index.file(file))?;
        &parsed
    };
    let range = cx.index.facts(file).functions[id as usize].range;
    let def = source.module().body.iter().find_map(|s| match s {
        Stmt::FunctionDef(d) if d.range == range => Some(d),
        _ => None,
    })?;
    let params = &def.parameters;
    if params.vararg.is_some() || params.kwarg.is_some() {
        return None;
    }
    let positional: Vec<_> = params.posonlyargs.iter().chain(&params.args).collect();
    let param = match at {
        At::Position(i) => positional.get(*i).copied()?,
        At::Keyword(k) => params
            .args
            .iter()
            .chain(&params.kwonlyargs)
            .find(|p| p.parameter.name.as_str() == k)?,
    };
    param
        .default()
        .is_none()
        .then(|| param.parameter.name.to_string())
}

/// Where a name referring to the model class is read: the statement and enclosing scopes.
struct Reference<'a> {
    expr: TextRange,
    stmt: &'a Stmt,
    /// The innermost function, and the class it is a method of.
    function: Option<&'a StmtFunctionDef>,
    class: Option<&'a StmtClassDef>,
    /// Directly in a class body (a class attribute).
    in_class_body: bool,
}

struct References<'n, 'a> {
    names: &'n [String],
    found: Vec<Reference<'a>>,
    /// The enclosing functions, each with the class it is a method of.
    scopes: Vec<(&'a StmtFunctionDef, Option<&'a StmtClassDef>)>,
    /// The class whose body is being walked (not inside a method).
    class_body: Option<&'a StmtClassDef>,
}

impl References<'_, '_> {
    fn mentions(&self, expr: &Expr) -> Vec<TextRange> {
        struct Finder<'n>(&'n [String], Vec<TextRange>);
        impl<'a> Visitor<'a> for Finder<'_> {
            fn visit_expr(&mut self, expr: &'a Expr) {
                if let Expr::Name(n) = expr
                    && self.0.iter().any(|l| l == n.id.as_str())
                {
                    self.1.push(n.range);
                }
                visitor::walk_expr(self, expr);
            }
        }
        let mut finder = Finder(self.names, Vec::new());
        finder.visit_expr(expr);
        finder.1
    }
}

impl<'a> References<'_, 'a> {
    /// Every reference to one of `names` in `module`.
    fn in_module(names: &[String], module: &'a ruff_python_ast::ModModule) -> Vec<Reference<'a>> {
        let mut finder = References {
            names,
            found: Vec::new(),
            scopes: Vec::new(),
            class_body: None,
        };
        for stmt in &module.body {
            finder.walk(stmt);
        }
        finder.found
    }

    fn walk(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => {
                for d in &def.decorator_list {
                    self.visit_expr_at(&d.expression, stmt);
                }
                for p in def.parameters.iter() {
                    if let Some(default) = p.default() {
                        self.visit_expr_at(default, stmt);
                    }
                }
                let saved = self.class_body.take();
                self.scopes.push((def, saved));
                for s in &def.body {
                    self.walk(s);
                }
                self.scopes.pop();
                self.class_body = saved;
            }
            Stmt::ClassDef(class) => {
                if let Some(arguments) = &class.arguments {
                    for a in arguments.args.iter() {
                        self.visit_expr_at(a, stmt);
                    }
                    for k in arguments.keywords.iter() {
                        self.visit_expr_at(&k.value, stmt);
                    }
                }
                let saved = self.class_body.replace(class);
                for s in &class.body {
                    self.walk(s);
                }
                self.class_body = saved;
            }
            other => {
                let mut exprs = Vec::new();
                collect_exprs(other, &mut exprs);
                for e in exprs {
                    self.visit_expr_at(e, stmt);
                }
                for body in super::child_bodies(other) {
                    for s in body {
                        self.walk(s);
                    }
                }
            }
        }
    }

    fn visit_expr_at(&mut self, expr: &'a Expr, stmt: &'a Stmt) {
        for range in self.mentions(expr) {
            let (function, class) = match self.scopes.last() {
                Some((def, class)) => (Some(*def), *class),
                None => (None, None),
            };
            self.found.push(Reference {
                expr: range,
                stmt,
                function,
                class,
                in_class_body: self.class_body.is_some(),
            });
        }
    }
}

/// The expressions a simple statement or a compound statement's header evaluates.
fn collect_exprs<'a>(stmt: &'a Stmt, out: &mut Vec<&'a Expr>) {
    struct Collector<'a, 'o>(&'o mut Vec<&'a Expr>);
    impl<'a> Visitor<'a> for Collector<'a, '_> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            // Only this statement's own expressions: nested bodies are walked by the caller.
            let _ = stmt;
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            self.0.push(expr);
        }
    }
    let mut collector = Collector(out);
    match stmt {
        Stmt::If(s) => {
            collector.visit_expr(&s.test);
            for c in &s.elif_else_clauses {
                if let Some(test) = &c.test {
                    collector.visit_expr(test);
                }
            }
        }
        Stmt::While(s) => collector.visit_expr(&s.test),
        Stmt::For(s) => {
            collector.visit_expr(&s.target);
            collector.visit_expr(&s.iter);
        }
        Stmt::With(s) => {
            for item in &s.items {
                collector.visit_expr(&item.context_expr);
                if let Some(v) = &item.optional_vars {
                    collector.visit_expr(v);
                }
            }
        }
        Stmt::Try(_) => {}
        Stmt::Match(s) => collector.visit_expr(&s.subject),
        simple => visitor::walk_stmt(&mut collector, simple),
    }
}

/// `Net(...).to(device)`: a module method that returns the module, called on a call.
fn returns_itself(
    knowledge: &crate::knowledge::Knowledge,
    attr: &ruff_python_ast::ExprAttribute,
) -> bool {
    matches!(&*attr.value, Expr::Call(_))
        && knowledge
            .self_returning_methods
            .iter()
            .any(|m| m == attr.attr.as_str())
}

/// `train(Net(...), loader)` as a whole statement (or an assignment's value): the call the
/// model is built for, and where it is handed.
fn built_for_call<'a>(
    reference: &Reference<'a>,
    knowledge: &crate::knowledge::Knowledge,
) -> Option<(&'a ExprCall, At)> {
    let value = match reference.stmt {
        Stmt::Expr(e) => &*e.value,
        Stmt::Assign(a) => &*a.value,
        _ => return None,
    };
    let Expr::Call(call) = value else {
        return None;
    };
    let is_ctor = |e: &Expr| {
        let mut e = e;
        loop {
            let Expr::Call(c) = e else { return false };
            match &*c.func {
                Expr::Name(n) => return n.range == reference.expr,
                Expr::Attribute(a) if returns_itself(knowledge, a) => e = &a.value,
                _ => return false,
            }
        }
    };
    if let Some(i) = call.arguments.args.iter().position(is_ctor) {
        return Some((call, At::Position(i)));
    }
    call.arguments
        .keywords
        .iter()
        .find(|k| is_ctor(&k.value))
        .and_then(|k| Some((call, At::Keyword(k.arg.as_ref()?.to_string()))))
}

/// The statement that builds the model (`model = Net(...)`, `model = Net().to(device)`,
/// `self.model = Net()` in `__init__`) and what holds it.
fn binding<'a>(
    reference: &Reference<'a>,
    module: &'a [Stmt],
    knowledge: &crate::knowledge::Knowledge,
) -> Result<(TextRange, Holder<'a>), String> {
    let unfollowed = || {
        "the model class is used in a way the rewrite cannot follow (only \
         `model = Net(...)` and `self.model = Net(...)` are)"
            .to_string()
    };
    let Stmt::Assign(assign) = reference.stmt else {
        return Err(unfollowed());
    };
    if reference.in_class_body {
        return Err("the model is a class attribute".into());
    }
    let [target] = assign.targets.as_slice() else {
        return Err(unfollowed());
    };
    // The constructor, maybe moved to a device: `Net(...)`, `Net(...).to(device).train()`.
    let mut value = &*assign.value;
    loop {
        let Expr::Call(call) = value else {
            return Err(unfollowed());
        };
        match &*call.func {
            Expr::Name(n) if n.range == reference.expr => break,
            Expr::Attribute(a) if returns_itself(knowledge, a) => value = &a.value,
            _ => return Err(unfollowed()),
        }
    }
    match target {
        Expr::Name(n) => Ok((
            assign.range,
            Holder::Variable {
                name: n.id.to_string(),
                scope: reference.function.map_or(module, |f| f.body.as_slice()),
                function: reference.function,
            },
        )),
        Expr::Attribute(a) if matches!(&*a.value, Expr::Name(s) if s.id.as_str() == "self") => {
            let (Some(init), Some(class)) = (reference.function, reference.class) else {
                return Err(unfollowed());
            };
            if init.name.as_str() != "__init__" {
                return Err("the model attribute is built outside `__init__`".into());
            }
            Ok((
                assign.range,
                Holder::Attribute {
                    name: a.attr.to_string(),
                    class,
                },
            ))
        }
        _ => Err(unfollowed()),
    }
}

/// Whether `text` holds the identifier `name` (not as part of a longer one).
fn mentions_word(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(ident)
            && !text[at + name.len()..].chars().next().is_some_and(ident)
    })
}

/// The calls of the model held by `holder`; an error when it is used in another way (handed
/// to a function, rebound, read by a nested function, called through another method).
fn forward_calls<'a>(
    cx: &ProjectContext<'_>,
    file: FileId,
    source: &'a ParsedSource,
    holder: &Holder<'a>,
    binding: TextRange,
) -> Result<ModelUses<'a>, String> {
    let knowledge = cx.knowledge();
    let allowed = |method: &str| {
        let evaluation = &knowledge.training.evaluation;
        knowledge.self_returning_methods.iter().any(|m| m == method)
            || evaluation.module_methods.iter().any(|m| m == method)
            || evaluation.eval_methods.iter().any(|m| m == method)
            || evaluation.train_methods.iter().any(|m| m == method)
            || knowledge.zero_grad_methods.iter().any(|m| m == method)
    };
    struct Walk<'a, 'h, F: Fn(&str) -> bool> {
        text: &'a str,
        holder: &'h Holder<'a>,
        allowed: F,
        binding: TextRange,
        calls: Vec<&'a ExprCall>,
        hands: Vec<(&'a ExprCall, At)>,
        problem: Option<String>,
    }
    impl<F: Fn(&str) -> bool> Walk<'_, '_, F> {
        fn is_model(&self, expr: &Expr) -> bool {
            match (self.holder, expr) {
                (Holder::Variable { name, .. }, Expr::Name(n)) => n.id.as_str() == name,
                (Holder::Attribute { name, .. }, Expr::Attribute(a)) => {
                    a.attr.as_str() == name
                        && matches!(&*a.value, Expr::Name(s) if s.id.as_str() == "self")
                }
                _ => false,
            }
        }
        fn problem(&mut self, why: String) {
            if self.problem.is_none() {
                self.problem = Some(why);
            }
        }
    }
    impl<'a, F: Fn(&str) -> bool> Visitor<'a> for Walk<'a, '_, F> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {
                    if let Holder::Variable { name, .. } = self.holder
                        && mentions_word(&self.text[stmt.range()], name)
                    {
                        self.problem(format!("a nested definition uses `{name}`"));
                    }
                    return;
                }
                Stmt::Assign(assign) if assign.range == self.binding => {
                    self.visit_expr(&assign.value);
                    return;
                }
                Stmt::Assign(assign)
                    if assign.targets.len() == 1 && self.is_model(&assign.targets[0]) =>
                {
                    // `model = model.to(device)`.
                    let mut value = &*assign.value;
                    while let Expr::Call(call) = value
                        && let Expr::Attribute(a) = &*call.func
                        && (self.allowed)(a.attr.as_str())
                    {
                        value = &a.value;
                    }
                    if !self.is_model(value) {
                        self.problem("the model variable is rebound".into());
                    }
                    return;
                }
                _ => {}
            }
            visitor::walk_stmt(self, stmt);
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Call(call) = expr {
                let method = match &*call.func {
                    Expr::Attribute(a) if self.is_model(&a.value) => Some(a.attr.as_str()),
                    _ => None,
                };
                if self.is_model(&call.func) || method.is_some() {
                    if self.is_model(&call.func) {
                        self.calls.push(call);
                    } else if let Some(method) = method
                        && !(self.allowed)(method)
                    {
                        self.problem(format!("the model's `{method}` is called"));
                    }
                    for arg in call.arguments.args.iter() {
                        self.visit_expr(arg);
                    }
                    for keyword in call.arguments.keywords.iter() {
                        self.visit_expr(&keyword.value);
                    }
                    return;
                }
                // `train(model, loader)`: followed into `train` when it is a project function.
                if matches!(self.holder, Holder::Variable { .. })
                    && matches!(&*call.func, Expr::Name(_))
                {
                    let mut handed = false;
                    for (i, arg) in call.arguments.args.iter().enumerate() {
                        if self.is_model(arg) {
                            self.hands.push((call, At::Position(i)));
                            handed = true;
                        }
                    }
                    for keyword in call.arguments.keywords.iter() {
                        if self.is_model(&keyword.value)
                            && let Some(arg) = &keyword.arg
                        {
                            self.hands.push((call, At::Keyword(arg.to_string())));
                            handed = true;
                        }
                    }
                    if handed {
                        for arg in call.arguments.args.iter() {
                            if !self.is_model(arg) {
                                self.visit_expr(arg);
                            }
                        }
                        for keyword in call.arguments.keywords.iter() {
                            if !self.is_model(&keyword.value) {
                                self.visit_expr(&keyword.value);
                            }
                        }
                        return;
                    }
                }
            }
            if self.is_model(expr) {
                self.problem("the model is handed on or used as a value".into());
                return;
            }
            if matches!(expr, Expr::Lambda(_))
                && let Holder::Variable { name, .. } = self.holder
                && mentions_word(&self.text[expr.range()], name)
            {
                self.problem(format!("a lambda uses `{name}`"));
                return;
            }
            visitor::walk_expr(self, expr);
        }
    }
    let text = source.text();
    let mut walk = Walk {
        text,
        holder,
        allowed,
        binding,
        calls: Vec::new(),
        hands: Vec::new(),
        problem: None,
    };
    match holder {
        Holder::Variable {
            scope,
            function,
            name,
        } => {
            if function.is_none() && !cx.index.importers_of(file).is_empty() {
                return Err(format!(
                    "the model `{name}` is a module-level variable of a module others import"
                ));
            }
            for stmt in *scope {
                walk.visit_stmt(stmt);
            }
        }
        Holder::Attribute { class, name, .. } => {
            for stmt in &class.body {
                if let Stmt::FunctionDef(def) = stmt {
                    for s in &def.body {
                        walk.visit_stmt(s);
                    }
                }
            }
            // Read from outside the class (`runner.model(x, y)`): not followed.
            let attribute = format!(".{name}");
            let outside = |text: &str, class: Option<TextRange>| {
                text.match_indices(attribute.as_str()).any(|(at, _)| {
                    let end = at + attribute.len();
                    let whole = !text[end..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_');
                    let at = TextSize::try_from(at).unwrap_or_default();
                    whole && !class.is_some_and(|c| c.contains(at))
                })
            };
            if outside(text, Some(class.range)) {
                return Err(format!(
                    "`.{name}` is used outside the class that holds the model"
                ));
            }
            for &other in cx.index.importers_of(file) {
                let other_text = crate::source::read_file(&cx.index.file(other).absolute)
                    .map_err(|_| "an importing file cannot be read".to_string())?;
                if outside(&other_text, None) {
                    return Err(format!(
                        "`{}` reads `.{name}`, maybe the model of `{}`",
                        cx.index.file(other).path.display(),
                        class.name
                    ));
                }
            }
        }
    }
    if let Some(problem) = walk.problem {
        return Err(problem);
    }
    Ok((walk.calls, walk.hands))
}

/// The calls of the model, and the calls that hand it to a function.
type ModelUses<'a> = (Vec<&'a ExprCall>, Vec<(&'a ExprCall, At)>);

/// Whether a call passes the targets: `Some(expression)`, `None` when it does not.
fn targets_passed<'a>(call: &'a ExprCall, plan: &Plan<'_>) -> Result<Option<&'a Expr>, String> {
    let arguments = &call.arguments;
    if arguments.args.iter().any(|a| matches!(a, Expr::Starred(_)))
        || arguments.keywords.iter().any(|k| k.arg.is_none())
    {
        return Err("a call of the model unpacks its arguments".into());
    }
    let positional = arguments.args.get(plan.position);
    let keyword = arguments
        .keywords
        .iter()
        .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == plan.target))
        .map(|k| &k.value);
    if arguments.args.len() > plan.position + 1 {
        return Err("a call passes more arguments than `forward` takes".into());
    }
    match positional.or(keyword) {
        None if plan.optional => Ok(None),
        None => Err("a call does not pass the targets `forward` requires".into()),
        Some(Expr::NoneLiteral(_)) => Err("a call passes `None` as the targets".into()),
        Some(expr) if is_simple(expr) => Ok(Some(expr)),
        Some(_) => {
            Err("a call computes the targets it passes (conditionally or with a call)".into())
        }
    }
}

/// A value read without running anything: `y`, `batch.y`, `batch["labels"]`, `y[0]`.
fn is_simple(expr: &Expr) -> bool {
    match expr {
        Expr::Name(_) => true,
        Expr::Attribute(a) => is_simple(&a.value),
        Expr::Subscript(s) => {
            is_simple(&s.value)
                && matches!(
                    &*s.slice,
                    Expr::Name(_) | Expr::StringLiteral(_) | Expr::NumberLiteral(_)
                )
        }
        _ => false,
    }
}

/// A name for the Loss free in the scope that builds the model: `loss_fn`, else after the
/// component.
fn loss_variable(source: &ParsedSource, holder: &Holder<'_>, component: &str) -> Option<String> {
    let candidates = ["loss_fn".to_string(), component.to_string()];
    match holder {
        Holder::Variable { function, .. } => {
            let block = source.block_usage(*function);
            let module = source.block_usage(None);
            let names = source.names();
            candidates.into_iter().find(|c| {
                !block.usage.bound.contains(c)
                    && !block.usage.reads.contains(c)
                    && !module.usage.reads.contains(c)
                    && !names.bound.contains(c)
                    && !names::is_builtin(c)
            })
        }
        Holder::Attribute { class, .. } => {
            let class_text = &source.text()[class.range];
            candidates.into_iter().find(|c| {
                let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
                ![format!("self.{c}"), format!("def {c}")]
                    .iter()
                    .any(|needle| {
                        class_text.match_indices(needle.as_str()).any(|(at, _)| {
                            !class_text[at + needle.len()..]
                                .chars()
                                .next()
                                .is_some_and(ident)
                        })
                    })
            })
        }
    }
}

/// The call without the targets: `model(x)`.
fn without_targets(text: &str, call: &ExprCall, target: &Expr) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let mut items: Vec<TextRange> = call
        .arguments
        .args
        .iter()
        .map(Ranged::range)
        .chain(call.arguments.keywords.iter().map(Ranged::range))
        .filter(|r| !r.contains_range(target.range()))
        .collect();
    items.sort_by_key(|r| r.start());
    for item in &items {
        parts.push(&text[*item]);
    }
    format!("{}({})", &text[call.func.range()], parts.join(", "))
}

/// Rewrite one call that passes the targets: the edits and the lines shown.
#[allow(clippy::too_many_arguments)]
fn rewrite_call(
    text: &str,
    source: &ParsedSource,
    call: &ExprCall,
    targets: &Expr,
    plan: &Plan<'_>,
    params: &[String],
    prediction: &str,
    loss_call: &str,
) -> Result<(Vec<Edit>, String), String> {
    let predict = without_targets(text, call, targets);
    let targets_text = &text[targets.range()];
    let args = |outputs: &str| -> String {
        params
            .iter()
            .map(|p| {
                if p == prediction {
                    outputs.to_string()
                } else {
                    targets_text.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(loss_at) = plan.tuple else {
        // `loss = model(x, y)` → `loss = loss_fn(model(x), y)`, wherever the call is.
        let replaced = format!("{loss_call}({})", args(&predict));
        return Ok((
            vec![Edit::replacement(call.range(), replaced.clone())],
            replaced,
        ));
    };
    // `logits, loss = model(x, y)` → `logits = model(x)` and `loss = loss_fn(logits, y)`.
    let stmt = statement_of(&source.module().body, call.range())
        .ok_or("a call of the model is not a statement's value")?;
    let Stmt::Assign(assign) = stmt else {
        return Err("a call's returned tuple is not unpacked".into());
    };
    let unpacked = match assign.targets.as_slice() {
        [Expr::Tuple(t)] if t.elts.len() == 2 && assign.value.range() == call.range() => &t.elts,
        [Expr::List(l)] if l.elts.len() == 2 && assign.value.range() == call.range() => &l.elts,
        _ => return Err("a call's returned tuple is not unpacked into two names".into()),
    };
    let name = |e: &Expr| match e {
        Expr::Name(n) => Some(n.id.to_string()),
        _ => None,
    };
    let (Some(loss_name), Some(outputs_name)) =
        (name(&unpacked[loss_at]), name(&unpacked[1 - loss_at]))
    else {
        return Err("a call's returned tuple is not unpacked into two names".into());
    };
    if expr_reads(targets).contains(&outputs_name) {
        return Err("a call's outputs replace the targets it passed".into());
    }
    if !starts_line(text, assign.range.start()) || !ends_line(text, assign.range.end()) {
        return Err("a call of the model shares its line".into());
    }
    let indent = indentation(text, assign.range.start());
    let replaced = match (outputs_name.as_str(), loss_name.as_str()) {
        ("_", "_") => return Err("a call ignores both outputs and loss".into()),
        ("_", loss) => format!("{loss} = {loss_call}({})", args(&predict)),
        (outputs, "_") => format!("{outputs} = {predict}"),
        (outputs, loss) => format!(
            "{outputs} = {predict}\n{indent}{loss} = {loss_call}({})",
            args(outputs)
        ),
    };
    Ok((
        vec![Edit::replacement(assign.range, replaced.clone())],
        replaced.replace(indent, ""),
    ))
}

/// `logits, _ = model(x)` (the loss was `None` without targets) → `logits = model(x)`.
fn unpack_outputs(source: &ParsedSource, call: &ExprCall, plan: &Plan<'_>) -> Result<Edit, String> {
    let text = source.text();
    let why = || {
        "a call without targets uses the returned `(outputs, None)` otherwise than \
         `outputs, _ = model(x)`"
            .to_string()
    };
    let loss_at = plan.tuple.ok_or_else(why)?;
    let Some(Stmt::Assign(assign)) = statement_of(&source.module().body, call.range()) else {
        return Err(why());
    };
    let elts = match assign.targets.as_slice() {
        [Expr::Tuple(t)] if assign.value.range() == call.range() => &t.elts,
        [Expr::List(l)] if assign.value.range() == call.range() => &l.elts,
        _ => return Err(why()),
    };
    match (elts.get(loss_at), elts.get(1 - loss_at), elts.len()) {
        (Some(Expr::Name(loss)), Some(Expr::Name(outputs)), 2)
            if loss.id.as_str() == "_" && outputs.id.as_str() != "_" =>
        {
            Ok(Edit::replacement(
                assign.range,
                format!("{} = {}", outputs.id, &text[call.range()]),
            ))
        }
        _ => Err(why()),
    }
}

/// The simple statement whose value holds `range`, anywhere in `body` (function bodies
/// included).
fn statement_of(body: &[Stmt], range: TextRange) -> Option<&Stmt> {
    for stmt in body {
        if !stmt.range().contains_range(range) {
            continue;
        }
        let inner: Vec<&[Stmt]> = match stmt {
            Stmt::FunctionDef(d) => vec![&d.body],
            Stmt::ClassDef(c) => vec![&c.body],
            other => super::child_bodies(other),
        };
        if inner.is_empty() {
            return Some(stmt);
        }
        for b in inner {
            if let Some(found) = statement_of(b, range) {
                return Some(found);
            }
        }
        return None;
    }
    None
}
