//! The extract refactorings the coupling rules offer:
//!
//! - [`value`]: the expression that computes a value (a loss, an optimizer), together with
//!   the statements before it that exist only to compute it (the backward slice within its
//!   block), moved into a component; the expression is replaced by a call to it. The moved
//!   code's free variables become the component's parameters (`self` becomes `model`).
//! - [`runner`]: a module-level training loop moved into the `run` method of a Runner class
//!   whose constructor takes the loop's dependencies (model, optimizer, loss, loader).
//!
//! Both go through [`component::build`], which verifies the generated code.

use std::collections::BTreeSet;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use crate::diagnostic::{Diagnostic, Edit};
use crate::fix::edits::{delete_stmt, indentation, multiline_strings};
use crate::rule_context::ProjectContext;

use super::component::{self, ComponentSpec, Refactoring, RunnerParam, SpecKind};
use super::names::{self, Usage};
use super::{
    Line, child_bodies, debug_skip, enclosing_function, locate, model_calls, moved_lines,
    snake_case,
};

/// What to extract and how to call the result.
pub struct Request {
    /// The expression computing the value (or the statement `x = value` / `return value`).
    pub site: TextRange,
    pub kind: SpecKind,
    /// The preferred component name (`FasterRCNNLoss`).
    pub name: String,
    /// Where the component goes, relative to the file (`loss.py`, `../criterions`).
    pub target: String,
    pub doc: String,
    /// The start of the title, e.g. "Extract the loss of `Net.forward`".
    pub action: String,
    /// The class the code is in keeps the component (a runner, or a framework hook such as
    /// Lightning's `training_step`): out of a loop, it is built once in the class's
    /// `__init__`. Not for a model, whose loss moves to its callers.
    pub owner_builds: bool,
}

/// Attach the refactoring to `diagnostic` when it can be generated and verified; otherwise
/// the finding keeps its prose help.
pub fn attach(
    cx: &ProjectContext<'_>,
    diagnostic: Diagnostic,
    result: Result<Refactoring, String>,
) -> Diagnostic {
    match result {
        Ok(refactoring) => {
            let mut diagnostic = diagnostic.with_suggestion(refactoring.suggestion);
            if diagnostic.fix.is_none() {
                diagnostic.fix = refactoring.fix;
            }
            diagnostic
        }
        Err(why) => {
            debug_skip(cx, diagnostic.code, &why);
            let mut diagnostic = diagnostic;
            diagnostic.refactoring_declined = Some(why);
            diagnostic
        }
    }
}

/// Attach the refactoring as a suggestion only: the code is shown, nothing is applied,
/// because applying it alone would not resolve the finding (`why` says what else has to
/// change). An offered fix always removes its finding.
pub fn attach_suggestion(
    cx: &ProjectContext<'_>,
    diagnostic: Diagnostic,
    result: Result<Refactoring, String>,
    why: &str,
) -> Diagnostic {
    match result {
        Ok(refactoring) => diagnostic.with_suggestion(shown_only(refactoring, why).suggestion),
        Err(why) => {
            debug_skip(cx, diagnostic.code, &why);
            let mut diagnostic = diagnostic;
            diagnostic.refactoring_declined = Some(why);
            diagnostic
        }
    }
}

/// True if the file imports PyTorch (the component is then an `nn.Module`), as its facts say.
pub fn uses_torch(cx: &ProjectContext<'_>) -> bool {
    cx.facts().imports_package("torch")
}

/// How many statements above a value are considered as helpers that only feed it.
const MAX_HELPER_DISTANCE: usize = 64;

/// Extract the value computed at `request.site`.
pub fn value(cx: &ProjectContext<'_>, request: Request) -> Result<Refactoring, String> {
    let parsed = cx.parsed().ok_or("the file cannot be parsed again")?;
    let text = parsed.text();
    let module = parsed.module();
    let knowledge = cx.knowledge();
    // A loss (not a factory, which builds from the model by design) never runs the model.
    let loss = matches!(request.kind, SpecKind::TorchModule | SpecKind::Callable);
    let (function, class) = enclosing_function(&module.body, request.site);
    let (block, params): (&[Stmt], Vec<&str>) = match function {
        Some(function) => (
            &function.body,
            function
                .parameters
                .iter()
                .map(|p| p.name().as_str())
                .collect(),
        ),
        None => (&module.body, Vec::new()),
    };
    let path = locate(block, request.site);
    let step = *path.last().ok_or("the value is not in a statement")?;
    let stmt = step.stmt();
    if !child_bodies(stmt).is_empty() {
        return Err("the value is computed in a compound statement's header".into());
    }
    // The expression to replace.
    let expr = if stmt.range() == request.site {
        match stmt {
            Stmt::Assign(s) => &*s.value,
            Stmt::AnnAssign(s) => s.value.as_deref().ok_or("an annotation without a value")?,
            Stmt::Return(s) => s.value.as_deref().ok_or("a bare `return`")?,
            _ => return Err("the value is not an expression".into()),
        }
    } else {
        super::expr_at(super::Within::Stmt(stmt), request.site, |_| true)
            .ok_or("the value is not an expression")?
    };
    if matches!(expr, Expr::Starred(_) | Expr::Slice(_)) {
        return Err("the value is not a plain expression".into());
    }
    // Which names the whole function binds or reads where (to check helpers are private).
    let indexed = parsed.block_usage(function);
    let whole = &indexed.usage;
    let mut locals: BTreeSet<String> = whole.bound.clone();
    locals.extend(params.iter().map(|p| p.to_string()));

    let mut expr_usage = Usage::default();
    names::analyze_expr(&mut expr_usage, expr);
    if let Some(why) = expr_usage.unsupported {
        return Err(format!("the value contains {why}"));
    }
    let mut needed: BTreeSet<String> = expr_usage.reads.clone();
    // The backward slice: earlier statements of the same block that only feed the value.
    let mut helpers: Vec<&Stmt> = Vec::new();
    let mut moved: Vec<TextRange> = vec![expr.range()];
    // Only the nearest statements are looked at: a helper far above the value is rarely one,
    // and scanning a whole module per finding would be quadratic. A name not moved stays a
    // parameter of the component.
    for sibling in step.body[..step.index]
        .iter()
        .rev()
        .take(MAX_HELPER_DISTANCE)
    {
        let usage = names::analyze(std::iter::once(sibling), &[]);
        let feeds = usage.bound.iter().any(|b| needed.contains(b));
        // `logits = model(x)` stays where it is: the loss takes `logits`.
        let movable = matches!(sibling, Stmt::Assign(_) | Stmt::AnnAssign(_))
            && usage.unsupported.is_none()
            && !(loss && model_calls::assigns_model_output(sibling, knowledge));
        if feeds && movable {
            let mut inside = moved.clone();
            inside.push(sibling.range());
            let private = usage.bound.iter().all(|b| {
                indexed
                    .occurrences_of(b)
                    .iter()
                    .all(|r| inside.iter().any(|m| m.contains_range(*r)))
            });
            if private {
                helpers.push(sibling);
                moved.push(sibling.range());
                needed.extend(usage.reads.iter().cloned());
                continue;
            }
        }
        if feeds || usage.bound.iter().any(|b| needed.contains(b)) {
            // A statement we keep binds a name the moved code reads: stop here, moving code
            // above it would change what it sees.
            break;
        }
    }
    helpers.reverse();

    // `self` becomes the component's `model` parameter.
    let owner = ["model", "module", "net"]
        .into_iter()
        .find(|o| !whole.reads.contains(*o) && !whole.bound.contains(*o) && !params.contains(o))
        .ok_or("no free name for the model parameter")?
        .to_string();
    let mut renames: Vec<Edit> = Vec::new();
    let mut moved_usage = names::analyze(helpers.iter().copied(), &[]);
    names::analyze_expr(&mut moved_usage, expr);
    let names = parsed.names();
    let taken = |n: &str| {
        whole.bound.contains(n)
            || whole.reads.contains(n)
            || params.contains(&n)
            || names.bound.contains(n)
            || names::is_builtin(n)
    };
    let mut call_args: Vec<(String, String)> = Vec::new();
    // An inline model call (`criterion(model(x), y)`) is made at the call site and its value
    // passed in (`outputs`), so that the Loss compares outputs with targets and never holds
    // the model; not when the call reads what the moved code computes, or runs only sometimes.
    let model_ranges: Vec<TextRange> = if loss {
        model_outputs(
            knowledge,
            text,
            &helpers,
            expr,
            &moved_usage,
            &taken,
            &mut renames,
            &mut call_args,
        )
    } else {
        Vec::new()
    };
    let outside = |range: &TextRange| !model_calls::inside(*range, &model_ranges);
    // A loss that only reads attributes of `self` (`self.criterion(out, y)`) gets them as
    // parameters (`criterion`), passed by the caller (`self.criterion`): a Loss never receives
    // the model or runner it came from. Otherwise (and for a factory, which builds from the
    // model by design: `make_optimizer(model)`) `self` becomes the `model` parameter.
    let (mut attributes, called) = self_attributes(helpers.iter().copied(), expr);
    attributes.retain(|(range, _)| outside(range));
    let selfs = moved_usage
        .occurrences
        .iter()
        .filter(|(name, range)| name == "self" && outside(range))
        .count();
    let by_attribute = matches!(request.kind, SpecKind::TorchModule | SpecKind::Callable)
        && selfs > 0
        && attributes.len() == selfs
        && attributes.iter().all(|(_, attr)| {
            !moved_usage.reads.contains(attr)
                && !moved_usage.bound.contains(attr)
                && !names::is_builtin(attr)
                && !params.contains(&attr.as_str())
                && parsed.names().import_of(attr).is_empty()
        })
        // `self.parameters()`: the code uses the model itself, which it then gets whole.
        && !called.iter().any(|c| knowledge.training.evaluation.module_methods.contains(c));
    // A loss computed in a loop is built once, before the outermost loop of its block
    // (`train_loss = TrainLoss(criterion)`), and called in it: not a new module per batch.
    let outer_loop = path
        .iter()
        .map(|s| s.stmt())
        .find(|s| matches!(s, Stmt::For(_) | Stmt::While(_)));
    // What stays the same through that loop (the criteria, the weights) the Loss holds from
    // its construction; what the loop computes (outputs, targets) it takes per call.
    // Computed in a method of a class with an `__init__` (a runner's step, a framework hook
    // such as Lightning's `training_step`) and not in a loop, it is built once there, at the
    // end of `__init__` (`self.train_step_loss = TrainStepLoss(self.criterion)`).
    // Not in a model's forward pass: the Loss leaves the model (DL101), it does not become
    // one of its attributes.
    let forward_pass = function.is_some_and(|f| {
        let name = f.name.as_str();
        knowledge.is_forward_method(name)
            || knowledge
                .training
                .evaluation
                .keras_forward_methods
                .iter()
                .any(|m| m == name)
            || name == "__call__"
    });
    let init = outer_loop
        .is_none()
        .then(|| built_in_init(function?, class?))
        .flatten()
        .filter(|_| loss && request.owner_builds && !forward_pass);
    let invariant = |name: &str| -> bool {
        if let Some(outer) = outer_loop {
            return loss && !assigned_in(outer, name);
        }
        let Some((init, class)) = init else {
            return false;
        };
        match name.strip_prefix("self.") {
            // Set by `__init__` before the Loss is built there, and by no other method.
            Some(attr) => {
                init.body.iter().any(|s| sets_attribute(s, attr))
                    && class.body.iter().all(|s| match s {
                        Stmt::FunctionDef(def) if def.name.as_str() != "__init__" => {
                            !def.body.iter().any(|s| assigned_in(s, name))
                        }
                        _ => true,
                    })
            }
            // The method's own values do not exist in `__init__`; module constants do.
            None => !locals.contains(name),
        }
    };
    let mut held: Vec<(String, String)> = Vec::new();
    if by_attribute {
        for (range, attr) in &attributes {
            if knowledge.is_loss_callee(attr) && invariant(&format!("self.{attr}")) {
                // `self.criterion` stays as it is: the Loss's own attribute.
                if !held.iter().any(|(p, _)| p == attr) {
                    held.push((attr.clone(), format!("self.{attr}")));
                }
                continue;
            }
            renames.push(Edit::replacement(*range, attr.clone()));
            if !call_args.iter().any(|(p, _)| p == attr) {
                call_args.push((attr.clone(), format!("self.{attr}")));
            }
        }
    } else {
        for (name, range) in &moved_usage.occurrences {
            if name == "self" && outside(range) {
                renames.push(Edit::replacement(*range, owner.clone()));
            }
        }
    }
    // What a Loss holds is what configures it: a criterion (named like one: `criterion`,
    // `loss_object`, `adversarial_loss`) or a constant weight (`gamma = 0.99`, a parameter
    // `lambda_gp=10.0`, a module constant). Data (`x`, `labels`, a rollout buffer) and a model
    // are passed per call even when the loop does not change them.
    let constant = |name: &str| {
        if locals.contains(name) {
            let default = function.is_some_and(|f| {
                f.parameters.iter_non_variadic_params().any(|p| {
                    p.parameter.name.as_str() == name && p.default().is_some_and(is_number)
                })
            });
            default || number_constant(text, block, name)
        } else {
            names.bound.contains(name)
                && names.import_of(name).is_empty()
                && number_constant(text, &module.body, name)
        }
    };
    let criterion = |name: &str| {
        knowledge.is_loss_callee(name)
            && (locals.contains(name)
                || (names.bound.contains(name) && names.import_of(name).is_empty()))
    };
    let holdable = |name: &str| {
        name != "self"
            && name != owner
            && !moved_usage.bound.contains(name)
            && !call_args.iter().any(|(p, _)| p == name)
            && (criterion(name) || constant(name))
    };
    let mut held_names: BTreeSet<&str> = BTreeSet::new();
    for (name, range) in &moved_usage.occurrences {
        if outside(range) && holdable(name) && invariant(name) {
            held_names.insert(name.as_str());
        }
    }
    for (name, range) in &moved_usage.occurrences {
        if outside(range) && held_names.contains(name.as_str()) {
            renames.push(Edit::replacement(*range, format!("self.{name}")));
        }
    }
    for (name, _) in &moved_usage.occurrences {
        if held_names.contains(name.as_str()) && !held.iter().any(|(p, _)| p == name) {
            held.push((name.clone(), name.clone()));
        }
    }
    renames.sort_by_key(|e| e.range.start());

    let mut body: Vec<Line> = Vec::new();
    for helper in &helpers {
        let strings = multiline_strings(text, std::slice::from_ref(*helper));
        let from = indentation(text, helper.start());
        body.extend(
            moved_lines(text, helper.range(), &renames, from, &strings)
                .ok_or("a rename spans lines")?,
        );
    }
    let returns = renamed(text, expr.range(), &renames);
    let returns = if returns.contains('\n') {
        format!("({})", returns.replace("\r\n", "\n"))
    } else {
        returns
    };
    // A clash is resolved by what the value is called where it was computed
    // (`reconstruction_loss = ...` gets `ReconstructionLoss`), not by a number.
    let alternatives = match stmt {
        Stmt::Assign(s) if s.targets.len() == 1 => match &s.targets[0] {
            Expr::Name(n) => named_after(n.id.as_str(), &request.name),
            _ => None,
        },
        Stmt::AnnAssign(s) => match &*s.target {
            Expr::Name(n) => named_after(n.id.as_str(), &request.name),
            _ => None,
        },
        _ => None,
    };
    let component = ComponentSpec {
        kind: request.kind,
        name: request.name,
        alternatives: alternatives.into_iter().collect(),
        target: request.target,
        doc: request.doc,
        body,
        returns: Some(returns),
        owner: (!by_attribute).then_some(owner),
        call_args,
        held,
        locals,
        action: request.action,
    };
    let expr_range = expr.range();
    let stmt_range = stmt.range();
    let call_site = |call: &str| -> Option<(Vec<Edit>, String)> {
        // `TrainLoss(criterion)(logits, y)`: the component built with what it holds, and
        // called with the rest (what it holds are names and attributes: no `)(` inside). It
        // is built once: before the outermost loop, or at the end of the class's `__init__`.
        let hoisted = (|| {
            let (built, args) = call.split_once(")(")?;
            let built = format!("{built})");
            let component = snake_case(&built[..built.find('(')?]);
            let var = |free: &dyn Fn(&str) -> bool| {
                [component.clone(), format!("{component}_fn")]
                    .into_iter()
                    .find(|v| free(v))
            };
            if let Some(lp) = outer_loop {
                let var = var(&|v| !taken(v))?;
                let indent = indentation(text, lp.start());
                let line_start = crate::fix::edits::line_start(text, lp.start());
                return Some((
                    Edit::insertion(line_start, format!("{indent}{var} = {built}\n")),
                    format!("{var}({args}"),
                    format!("{var} = {built}  # once, before the loop"),
                ));
            }
            let (init, class) = init?;
            let class_text = &text[class.range()];
            let var = var(&|v| !mentions_attribute(class_text, v))?;
            let indent = indentation(text, init.body.first()?.start());
            let at = crate::fix::edits::line_end_with_newline(text, init.body.last()?.end());
            let newline = if text[..at.to_usize()].ends_with('\n') {
                ""
            } else {
                "\n"
            };
            Some((
                Edit::insertion(at, format!("{newline}{indent}self.{var} = {built}\n")),
                format!("self.{var}({args}"),
                format!("self.{var} = {built}  # once, in `__init__`"),
            ))
        })();
        let call = hoisted.as_ref().map_or(call, |(_, c, _)| c.as_str());
        let mut edits = vec![Edit::replacement(expr_range, call.to_string())];
        for helper in &helpers {
            edits.push(delete_stmt(text, helper.range(), false)?);
        }
        let shown = format!(
            "{}{call}{}",
            &text[TextRange::new(stmt_range.start(), expr_range.start())],
            &text[TextRange::new(expr_range.end(), stmt_range.end())]
        );
        let mut shown = shown.lines().next().unwrap_or_default().to_string();
        if let Some((insert, _, line)) = hoisted {
            edits.push(insert);
            edits.sort_by_key(|e| e.range.start());
            shown = format!("{line}\n{shown}");
        }
        Some((edits, shown))
    };
    component::build(cx, parsed, names, component, &call_site)
}

/// Replace the model calls of the moved code by parameters (`outputs`) that the call site
/// fills with the calls themselves (`model(x)`), made where they were; returns the replaced
/// ranges. Nothing is replaced when a call cannot move (it reads what the moved code binds,
/// or runs only sometimes) or no name is free.
#[allow(clippy::too_many_arguments)]
fn model_outputs(
    knowledge: &crate::knowledge::Knowledge,
    text: &str,
    helpers: &[&Stmt],
    expr: &Expr,
    moved_usage: &Usage,
    taken: &dyn Fn(&str) -> bool,
    renames: &mut Vec<Edit>,
    call_args: &mut Vec<(String, String)>,
) -> Vec<TextRange> {
    let Some(calls) = model_calls::model_calls(helpers.iter().copied(), expr, knowledge) else {
        return Vec::new();
    };
    let helpers_bind = names::analyze(helpers.iter().copied(), &[]).bound;
    let reads_moved = calls.iter().any(|call| {
        let mut usage = Usage::default();
        names::analyze_expr(&mut usage, call);
        usage.reads.iter().any(|r| helpers_bind.contains(r))
    });
    if calls.is_empty() || reads_moved {
        return Vec::new();
    }
    // The same call written twice runs the model twice (dropout draws twice): made once at
    // the call site it would change what the program computes, so the model stays inside.
    let mut distinct: Vec<&str> = Vec::new();
    for call in &calls {
        let shown = &text[call.range()];
        if distinct.contains(&shown) {
            return Vec::new();
        }
        distinct.push(shown);
    }
    let used = |n: &str| {
        taken(n)
            || moved_usage.reads.contains(n)
            || moved_usage.bound.contains(n)
            || call_args.iter().any(|(p, _)| p == n)
    };
    let mut chosen: Vec<(String, String)> = Vec::new();
    for (call, shown) in calls.iter().zip(&distinct) {
        let model = snake_case(model_calls::model_name(call, knowledge));
        // Several calls are told apart by what they are given: `D(real)` and
        // `D(fake.detach())` give `d_real_out` and `d_fake_out`.
        let candidates = if distinct.len() == 1 {
            vec!["outputs".to_string(), format!("{model}_outputs")]
        } else {
            let input = model_calls::first_input(call).map(snake_case);
            input
                .map(|i| format!("{model}_{i}_out"))
                .into_iter()
                .chain([format!("{model}_outputs"), format!("{model}_out")])
                .collect()
        };
        let Some(name) = candidates
            .into_iter()
            .find(|c| !used(c) && !chosen.iter().any(|(p, _)| p == c))
        else {
            return Vec::new();
        };
        chosen.push((name, shown.to_string()));
    }
    for (call, (name, _)) in calls.iter().zip(&chosen) {
        renames.push(Edit::replacement(call.range(), name.clone()));
    }
    call_args.extend(chosen);
    calls.iter().map(|c| c.range()).collect()
}

/// The `__init__` of `class` where a Loss used by its method `function` can be built: the
/// method is an instance method (first parameter `self`, not `__init__`, no
/// `staticmethod`/`classmethod`), and the class defines `__init__(self, ...)` itself.
fn built_in_init<'a>(
    function: &'a ruff_python_ast::StmtFunctionDef,
    class: &'a ruff_python_ast::StmtClassDef,
) -> Option<(
    &'a ruff_python_ast::StmtFunctionDef,
    &'a ruff_python_ast::StmtClassDef,
)> {
    let takes_self = |def: &ruff_python_ast::StmtFunctionDef| {
        def.parameters
            .posonlyargs
            .iter()
            .chain(&def.parameters.args)
            .next()
            .is_some_and(|p| p.parameter.name.as_str() == "self")
            && def.decorator_list.iter().all(|d| {
                !matches!(&d.expression, Expr::Name(n)
                    if matches!(n.id.as_str(), "staticmethod" | "classmethod"))
            })
    };
    if function.name.as_str() == "__init__" || !takes_self(function) {
        return None;
    }
    let init = class.body.iter().find_map(|s| match s {
        Stmt::FunctionDef(def) if def.name.as_str() == "__init__" => Some(def),
        _ => None,
    })?;
    takes_self(init).then_some((init, class))
}

/// Whether `stmt` is `self.attr = ...` (or an annotated one).
fn sets_attribute(stmt: &Stmt, attr: &str) -> bool {
    let is_target = |t: &Expr| {
        matches!(t, Expr::Attribute(a)
            if a.attr.as_str() == attr
                && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self"))
    };
    match stmt {
        Stmt::Assign(s) => s.targets.iter().any(is_target),
        Stmt::AnnAssign(s) => s.value.is_some() && is_target(&s.target),
        _ => false,
    }
}

/// Whether the class text mentions `self.<name>` or defines `<name>` (a method).
fn mentions_attribute(class_text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    [format!("self.{name}"), format!("def {name}")]
        .iter()
        .any(|needle| {
            class_text.match_indices(needle.as_str()).any(|(at, _)| {
                !class_text[at + needle.len()..]
                    .chars()
                    .next()
                    .is_some_and(ident)
            })
        })
}

/// Whether `stmt` (a loop) may rebind `target` (a name, or `self.attr`) or, for an attribute,
/// assign to it.
fn assigned_in(stmt: &Stmt, target: &str) -> bool {
    if let Some(attr) = target.strip_prefix("self.") {
        struct Finder<'t> {
            attr: &'t str,
            found: bool,
        }
        impl<'a> Visitor<'a> for Finder<'_> {
            fn visit_expr(&mut self, expr: &'a Expr) {
                if let Expr::Attribute(a) = expr
                    && a.ctx != ruff_python_ast::ExprContext::Load
                    && a.attr.as_str() == self.attr
                    && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self")
                {
                    self.found = true;
                }
                visitor::walk_expr(self, expr);
            }
        }
        let mut finder = Finder { attr, found: false };
        finder.visit_stmt(stmt);
        return finder.found;
    }
    names::analyze(std::iter::once(stmt), &[])
        .bound
        .contains(target)
}

/// The attribute reads of `self` (`self.criterion`) in `stmts` and `expr`: the range of each
/// `self.<attr>` expression and the attribute. Nested functions and lambdas are left out (their
/// `self` may be another).
fn self_attributes<'a>(
    stmts: impl Iterator<Item = &'a Stmt>,
    expr: &'a Expr,
) -> (Vec<(TextRange, String)>, Vec<String>) {
    /// The attributes and, apart, those called (`self.parameters()`).
    struct Finder(Vec<(TextRange, String)>, Vec<String>);
    impl<'a> Visitor<'a> for Finder {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Call(call) = expr
                && let Expr::Attribute(attr) = &*call.func
                && matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self")
            {
                self.1.push(attr.attr.to_string());
            }
            if let Expr::Attribute(attr) = expr
                && attr.ctx == ruff_python_ast::ExprContext::Load
                && matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self")
            {
                self.0.push((attr.range, attr.attr.to_string()));
                return;
            }
            if matches!(expr, Expr::Lambda(_)) {
                return;
            }
            visitor::walk_expr(self, expr);
        }
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                visitor::walk_stmt(self, stmt);
            }
        }
    }
    let mut finder = Finder(Vec::new(), Vec::new());
    for stmt in stmts {
        finder.visit_stmt(stmt);
    }
    finder.visit_expr(expr);
    finder.0.sort_by_key(|(range, _)| range.start());
    (finder.0, finder.1)
}

/// Extract the module-level loop at `header` (the range of the loop's header, as the
/// finding reports it) into a Runner.
pub fn runner(
    cx: &ProjectContext<'_>,
    header: TextRange,
    target: &str,
    finding_code: &str,
) -> Result<Refactoring, String> {
    let parsed = cx.parsed().ok_or("the file cannot be parsed again")?;
    let text = parsed.text();
    let module = parsed.module();
    let path = locate(&module.body, header);
    // The outermost loop containing the header, at module level or under `if __name__`.
    let at = path
        .iter()
        .position(|s| matches!(s.stmt(), Stmt::For(_) | Stmt::While(_)))
        .ok_or("the loop is not a statement")?;
    let step = path[at];
    let lp = step.stmt();
    let usage = names::analyze(std::iter::once(lp), &[]);
    if let Some(why) = usage.unsupported {
        return Err(format!("the loop contains {why}"));
    }
    let names = parsed.names();
    // Dependencies: names the loop reads before binding them that are neither imports nor
    // builtins nor module-level functions and classes (those are imported by the component).
    let mut free: Vec<String> = Vec::new();
    for name in &usage.free {
        let imported = !names.import_of(name).is_empty();
        let defined = names.defined.contains(name);
        if defined {
            return Err(format!("the loop calls `{name}`, defined in the same file"));
        }
        if !imported && !names::is_builtin(name) {
            free.push(name.clone());
        }
    }
    // Names the loop binds that later module code reads stay module-level results: not
    // supported (the Runner would have to return them).
    if let Some(out) = usage
        .bound
        .iter()
        .find(|b| parsed.read_after(step.body, step.index, b))
    {
        return Err(format!("code after the loop reads `{out}`"));
    }
    // The loop's dependencies become the constructor's parameters, objects first; a
    // module-level constant (`EPOCHS = 5`) becomes a keyword parameter with its value as the
    // default (`epochs=5`), passed by keyword at the call site.
    let mut params: Vec<RunnerParam> = Vec::new();
    let mut constants: Vec<RunnerParam> = Vec::new();
    for name in &free {
        match module_constant(text, &module.body, name) {
            Some(value) => {
                let lower = name.to_ascii_lowercase();
                let clash = lower != *name
                    && (free.contains(&lower)
                        || usage.bound.contains(&lower)
                        || names::is_builtin(&lower));
                constants.push(RunnerParam {
                    name: if clash { name.clone() } else { lower },
                    arg: name.clone(),
                    default: Some(value),
                });
            }
            None => params.push(RunnerParam {
                name: name.clone(),
                arg: name.clone(),
                default: None,
            }),
        }
    }
    params.extend(constants);
    let mut renames: Vec<Edit> = usage
        .occurrences
        .iter()
        .filter_map(|(n, r)| {
            let param = params.iter().find(|p| p.arg == *n)?;
            Some(Edit::replacement(*r, format!("self.{}", param.name)))
        })
        .collect();
    // A comment that names the finding's code (`# noqa: DL107`, a test's expectation) is about
    // the loop where it stood: it does not follow the code into the Runner.
    let lines = crate::fix::edits::full_lines(text, lp.range());
    for comment in parsed.comments_in(lines) {
        if text[comment].contains(finding_code) {
            let before = text[..comment.start().to_usize()].trim_end_matches([' ', '\t']);
            let start = if before.ends_with('\n') || before.is_empty() {
                comment.start()
            } else {
                ruff_text_size::TextSize::try_from(before.len()).map_err(|e| e.to_string())?
            };
            renames.push(Edit::deletion(TextRange::new(start, comment.end())));
        }
    }
    renames.sort_by_key(|e| e.range.start());
    let strings = multiline_strings(text, std::slice::from_ref(lp));
    let from = indentation(text, lp.start());
    let body =
        moved_lines(text, lp.range(), &renames, from, &strings).ok_or("a rename spans lines")?;
    let component = ComponentSpec {
        kind: SpecKind::Runner(params),
        name: "Runner".into(),
        target: target.into(),
        doc: "Runs the training loop; its dependencies are given to the constructor.".into(),
        body,
        returns: None,
        owner: None,
        call_args: Vec::new(),
        held: Vec::new(),
        locals: BTreeSet::new(),
        alternatives: Vec::new(),
        action: "Extract the module-level training loop".into(),
    };
    // A loop at module level runs when the script runs, not when another module imports it:
    // the call goes under `if __name__ == "__main__":` unless it is there already.
    let guarded = path[..at].iter().any(|s| match s.stmt() {
        Stmt::If(test) => crate::semantic::builder::is_main_test(&test.test),
        _ => false,
    });
    // The loop's lines move whole, with the comment that ends its last line.
    let lp_range = TextRange::new(lp.start(), crate::fix::edits::line_end(text, lp.end()));
    let call_site = |call: &str| -> Option<(Vec<Edit>, String)> {
        let line = if guarded {
            call.to_string()
        } else {
            format!("if __name__ == \"__main__\":\n{from}    {call}")
        };
        Some((vec![Edit::replacement(lp_range, line.clone())], line))
    };
    let refactoring = component::build(cx, parsed, names, component, &call_site)?;
    // A branch on a module-level constant (`if USE_MIXUP:` with `USE_MIXUP = False`) is dead
    // or always taken: moved into the Runner, it would hide behind a parameter. It is removed
    // (or kept) first, then the loop moves.
    let constant_test = |test: &Expr| {
        let name = match test {
            Expr::UnaryOp(op) if op.op == ruff_python_ast::UnaryOp::Not => &*op.operand,
            other => other,
        };
        matches!(name, Expr::Name(n) if module_constant(text, &module.body, n.id.as_str()).is_some())
    };
    let mut branches = Vec::new();
    collect_if_tests(std::slice::from_ref(lp), &mut branches);
    match branches.into_iter().find(|t| constant_test(t)) {
        Some(test) => Ok(shown_only(
            refactoring,
            &format!(
                "the loop branches on the constant `{}`: resolve that branch first",
                &text[test.range()]
            ),
        )),
        None => Ok(refactoring),
    }
}

/// The tests of the `if`/`elif`/`while` statements in `body`, nested ones included.
fn collect_if_tests<'a>(body: &'a [Stmt], out: &mut Vec<&'a Expr>) {
    for stmt in body {
        match stmt {
            Stmt::If(s) => {
                out.push(&s.test);
                out.extend(s.elif_else_clauses.iter().filter_map(|c| c.test.as_ref()));
            }
            Stmt::While(s) => out.push(&s.test),
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => continue,
            _ => {}
        }
        for inner in crate::semantic::ranges::bodies(stmt) {
            collect_if_tests(inner, out);
        }
    }
}

/// The refactoring as a suggestion only: its code is shown, nothing is applied (`why` says
/// what has to happen first).
fn shown_only(mut refactoring: Refactoring, why: &str) -> Refactoring {
    refactoring.fix = None;
    refactoring.suggestion.title = format!(
        "{} (shown, not applied: {why})",
        refactoring.suggestion.title
    );
    refactoring
}

/// A component name after the variable a value was assigned to, with the kind's suffix of
/// `name` (`reconstruction_loss` and `MainLoss` give `ReconstructionLoss`; `loss_G_GAN` gives
/// `GGanLoss`), when the variable says more than the kind (`loss`, `total_loss` say nothing).
fn named_after(variable: &str, name: &str) -> Option<String> {
    let suffix_at = name.rfind(|c: char| c.is_ascii_uppercase())?;
    let suffix = &name[suffix_at..];
    let generic = [
        "loss", "losses", "cost", "total", "train", "batch", "step", "value", "out",
    ];
    let words: Vec<String> = variable
        .split('_')
        .filter(|w| !w.is_empty())
        .filter(|w| {
            let lower = w.to_ascii_lowercase();
            lower != suffix.to_ascii_lowercase() && !generic.contains(&lower.as_str())
        })
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    let stem = words.concat();
    (!stem.is_empty() && stem.starts_with(|c: char| c.is_ascii_alphabetic()))
        .then(|| format!("{stem}{suffix}"))
        .filter(|n| n != name)
}

/// The literal a module-level name is bound to, when it is bound once, at module level, by a
/// plain assignment of a number, string, boolean or `None` (`EPOCHS = 5`).
fn module_constant(text: &str, body: &[Stmt], name: &str) -> Option<String> {
    let mut found = None;
    for stmt in body {
        let binds = |target: &Expr| matches!(target, Expr::Name(n) if n.id.as_str() == name);
        let (targets, value): (Vec<&Expr>, Option<&Expr>) = match stmt {
            Stmt::Assign(a) => (a.targets.iter().collect(), Some(&*a.value)),
            Stmt::AnnAssign(a) => (vec![&*a.target], a.value.as_deref()),
            Stmt::AugAssign(a) => (vec![&*a.target], None),
            _ => continue,
        };
        if !targets.iter().any(|t| binds(t)) {
            continue;
        }
        let literal = value.filter(|v| targets.len() == 1 && is_literal(v))?;
        if found.is_some() {
            return None; // bound twice
        }
        found = Some(text[literal.range()].to_string());
    }
    found
}

/// A number written out (`0.99`, `-1`): a weight, not data or an option.
fn is_number(expr: &Expr) -> bool {
    match expr {
        Expr::NumberLiteral(_) => true,
        Expr::UnaryOp(op) => matches!(&*op.operand, Expr::NumberLiteral(_)),
        _ => false,
    }
}

/// Whether `name` is bound once in `body`, to a number.
fn number_constant(text: &str, body: &[Stmt], name: &str) -> bool {
    module_constant(text, body, name).is_some_and(|value| {
        ruff_python_parser::parse_expression(&value).is_ok_and(|e| is_number(e.expr()))
    })
}

fn is_literal(expr: &Expr) -> bool {
    match expr {
        Expr::NumberLiteral(_) | Expr::BooleanLiteral(_) | Expr::NoneLiteral(_) => true,
        Expr::StringLiteral(s) => !s.value.is_implicit_concatenated(),
        Expr::UnaryOp(op) => matches!(&*op.operand, Expr::NumberLiteral(_)),
        _ => false,
    }
}

/// The text of `range` with the renames inside it applied.
fn renamed(text: &str, range: TextRange, renames: &[Edit]) -> String {
    let mut out = String::new();
    let mut last = range.start();
    for edit in renames.iter().filter(|e| range.contains_range(e.range)) {
        out.push_str(&text[TextRange::new(last, edit.range.start())]);
        out.push_str(&edit.content);
        last = edit.range.end();
    }
    out.push_str(&text[TextRange::new(last, range.end())]);
    out
}

#[cfg(test)]
mod tests {
    use super::named_after;

    #[test]
    fn clashing_names_come_from_the_variable() {
        assert_eq!(
            named_after("reconstruction_loss", "MainLoss").as_deref(),
            Some("ReconstructionLoss")
        );
        assert_eq!(
            named_after("loss_G_GAN", "TrainLoss").as_deref(),
            Some("GGanLoss")
        );
        assert_eq!(named_after("total_loss", "MainLoss"), None);
        assert_eq!(named_after("loss", "NetLoss"), None);
        assert_eq!(named_after("main_loss", "MainLoss"), None);
        assert_eq!(named_after("opt", "make_net_optimizer"), None);
    }
}
