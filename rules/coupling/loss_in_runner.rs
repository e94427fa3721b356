use super::{Hook, definitions, file_name, hook, is_role};
use crate::refactor::component::SpecKind;
use crate::refactor::extract::{self, Request, attach, attach_suggestion, uses_torch};
use crate::refactor::{camel_case, snake_case};
use crate::registry::prelude::*;
use crate::rules::layout::component_module;
use crate::semantic::Role;
use crate::semantic::facts::{LossExpr, LossValue, ScopeFacts};
use crate::semantic::ranges::statement_at;
use crate::semantic::verdict::Verdict;

declare_rule! {
    /// ## What it does
    /// Finds loss *definitions* written inside a Runner: a training loop at module level, a
    /// function or method that holds a training loop, or a method of a runner class (a Hugging
    /// Face `Trainer.compute_loss` override). A definition combines loss terms
    /// (`ce + 0.1 * kl`), adds a penalty, selects between losses with a condition, weights the
    /// terms a criterion returned (`sum(loss_dict[k] * weight_dict[k] for k in loss_dict)`),
    /// chooses the targets a loss compares with by a condition (`labels = ones * 0.9` when
    /// label smoothing is on), or writes a formula over model outputs
    /// (`((pred - y) ** 2).mean()`).
    ///
    /// The loss closures of a function that holds the training loop (`def ppo(): def
    /// compute_loss_pi(data): ...`) and the losses it assembles by name before handing them on
    /// (`total_loss = ce + reg`, TF1 graph code) count as written in that Runner.
    ///
    /// Not reported: calling a Loss component or a library loss once (`loss = criterion(out, y)`),
    /// scaling it (`loss / accumulation_steps`, `loss.mean()`), moving the batch it compares
    /// with to a device under a condition (`if use_gpu: target = target.cuda()`), summing the
    /// terms it returned as
    /// they come (`sum(loss_dict.values())`), adding the regularisation losses the framework
    /// collected from the layers (`tf.get_collection(REGULARIZATION_LOSSES)`, Keras
    /// `sum(model.losses)`) unless the script put its own terms in that collection, arithmetic on detached values
    /// for logging (`running += loss.item()`), and demos — a script of at most 150 lines that
    /// takes no command-line options or configuration (a tutorial, a lab, an example), where the
    /// formula next to the loop is the lesson.
    ///
    /// ## Why is this bad?
    /// A loss formula inline in the loop mixes the "what is optimised" with the "how the loop
    /// runs": it cannot be unit-tested, reused by the evaluation loop, or swapped by
    /// configuration. The MODLR study found it in 141 of 538 repositories.
    ///
    /// ## Example
    /// ```python
    /// for x, y in loader:
    ///     logits = model(x)
    ///     loss = F.cross_entropy(logits, y) + 0.01 * logits.pow(2).mean()
    ///     loss.backward()
    ///     optimizer.step()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// class RegularizedCrossEntropy:
    ///     def __init__(self, weight=0.01):
    ///         self.weight = weight
    ///
    ///     def __call__(self, logits, y):
    ///         return F.cross_entropy(logits, y) + self.weight * logits.pow(2).mean()
    ///
    /// for x, y in loader:
    ///     loss = loss_fn(model(x), y)
    ///     loss.backward()
    ///     optimizer.step()
    /// ```
    ///
    /// ## Fix
    /// Unsafe: the statement that defines the loss moves into a Loss component in `loss.py`
    /// (with the statements above it that only feed it), and the loop calls it. When moving that
    /// statement alone would leave a definition inline — the loss is chosen among three or more
    /// branches, or two branches each write a formula, or another loss term it is built from
    /// stays behind — the extraction is shown as a suggestion and not applied: an offered fix
    /// always removes its finding.
    ///
    /// ## Notebooks
    /// Skipped. A notebook writes its loss next to the loop that trains with it on purpose: the
    /// reader follows the experiment cell by cell, and there is no module to move the formula
    /// to (all three notebook findings reviewers read were true but not worth a change). Turn it
    /// back on by listing the notebook-ignore rules without DL102.
    pub static LOSS_IN_RUNNER = {
        code: "DL102",
        name: "loss-in-runner",
        family: Family::Coupling,
        severity: Severity::Warning,
        notebooks: Notebooks::Skip,
        default_enabled: true,
        fix: FixAvailability::Sometimes,
        options: &[],
        check: Check::Project(check),
        needs: Needs::Training,
    };
}

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    // A demo (a short script with no options: a tutorial, a lab) writes the formula next to
    // the loop because the formula is the lesson.
    if cx.is_demo_script() {
        return;
    }
    let facts = cx.facts();
    if cx.roles.module(cx.file).contains(Role::Runner) {
        let place = format!("the module-level training loop of `{}`", file_name(cx));
        let stem = file_name(cx);
        let owner = camel_case(&snake_case(stem.trim_end_matches(".py")));
        report(cx, &facts.module, None, (&place, &owner), None, out);
    }
    let in_loss_module = cx.knowledge().is_in_loss_module(&cx.project_file().path);
    for (id, function) in facts.functions.iter().enumerate() {
        let role = cx.roles.function(cx.file, id as u32);
        // A test (`test_*`) or a metric or evaluation helper (`_score_label`, `evaluate`)
        // computes a loss to check or report it, not to train with it. (Asked of the functions
        // the roles single out, after the cheaper tests: a name test is the costlier.)
        let check_or_metric = || is_check_or_metric(cx, &function.name);
        match function.class {
            // A function of a losses module that steps gradients (gradient caching) is loss
            // machinery already where losses belong; DL104 covers a backward inside a loss.
            None if role.roles.contains(Role::Runner) && !in_loss_module => {
                if check_or_metric() {
                    continue;
                }
                let place = format!("the training loop in `{}`", facts.qualname(id as u32));
                report(
                    cx,
                    &function.body,
                    None,
                    (&place, &camel_case(&function.name)),
                    None,
                    out,
                );
            }
            // A loss closure of a function that holds the training loop
            // (`def ppo(): def compute_loss_pi(data): ...`) is the Runner's: it can be neither
            // imported nor tested on its own.
            None if !in_loss_module && let Some(runner) = enclosing_runner(cx, id as u32) => {
                if check_or_metric() {
                    continue;
                }
                let place = format!(
                    "`{}`, a closure of the training loop's function `{}`,",
                    facts.qualname(id as u32),
                    facts.qualname(runner)
                );
                report_closure(cx, function, (&place, &camel_case(&function.name)), out);
            }
            // A Loss class that runs its own backward (gradient caching) defines its loss where
            // it belongs; DL104 reports the backward.
            Some(class)
                if is_role(cx, class, Role::Runner)
                    && !is_role(cx, class, Role::Model)
                    && !is_role(cx, class, Role::Loss) =>
            {
                if check_or_metric() {
                    continue;
                }
                let framework = match hook(cx, class, function) {
                    Some((Hook::Loss, framework)) => Some(framework),
                    Some((Hook::Optimizer, _)) => continue,
                    None => None,
                };
                let place = match framework {
                    Some(framework) => {
                        format!("the {framework} hook `{}`", facts.qualname(id as u32))
                    }
                    None => format!("runner method `{}`", facts.qualname(id as u32)),
                };
                let owner = &facts.classes[class as usize].name;
                report(
                    cx,
                    &function.body,
                    Some(class),
                    (&place, owner),
                    framework,
                    out,
                );
            }
            _ => {}
        }
    }
}

/// A test function, or a metric or evaluation helper, by its name.
fn is_check_or_metric(cx: &ProjectContext<'_>, name: &str) -> bool {
    let knowledge = cx.knowledge();
    if knowledge.is_loss_function_name(name) {
        return false;
    }
    let lower = name.trim_start_matches('_').to_ascii_lowercase();
    lower.starts_with("test")
        || knowledge.is_metric_name(name)
        || lower.split('_').any(|token| {
            token != "test"
                && knowledge
                    .training
                    .evaluation
                    .function_words
                    .iter()
                    .any(|w| w == token)
        })
}

/// The nearest enclosing function of a closure that holds a training loop (the closure itself
/// holds none).
fn enclosing_runner(cx: &ProjectContext<'_>, id: u32) -> Option<u32> {
    let facts = cx.facts();
    if cx.roles.function(cx.file, id).roles.contains(Role::Runner) {
        return None;
    }
    let mut current = facts.functions[id as usize].parent;
    while let Some(f) = current {
        if facts.functions[f as usize].class.is_none()
            && cx.roles.function(cx.file, f).roles.contains(Role::Runner)
        {
            return Some(f);
        }
        current = facts.functions[f as usize].parent;
    }
    None
}

/// The loss a closure of a Runner returns or builds.
fn report_closure(
    cx: &ProjectContext<'_>,
    function: &crate::semantic::facts::FunctionFacts,
    names: (&str, &str),
    out: &mut Vec<Diagnostic>,
) {
    // The closure is the loss: one finding, at what it returns (else its last definition).
    let scope = &function.body;
    let candidates: Vec<&LossValue> = scope
        .losses()
        .values()
        .filter(|v| !scope.without_gradients(v))
        .collect();
    let found = definitions(cx, None, candidates.iter().copied());
    let chosen = found
        .iter()
        .find(|(v, _)| {
            scope
                .losses()
                .returned
                .iter()
                .any(|r| r.definition == v.definition)
        })
        .or(found.last())
        .map(|(v, _)| *v);
    emit(cx, scope, true, chosen.into_iter(), None, names, None, out);
}

fn report(
    cx: &ProjectContext<'_>,
    scope: &ScopeFacts,
    class: Option<u32>,
    names: (&str, &str),
    framework: Option<&str>,
    out: &mut Vec<Diagnostic>,
) {
    // What the loop differentiates, and (outside framework classes) the losses it assembles
    // by name before handing them on (`total_loss = ce + reg`, then `train(total_loss)`).
    let returned: &[LossValue] = if class.is_some() {
        &scope.losses().returned
    } else {
        &[]
    };
    let named: &[LossValue] = if framework.is_none() {
        &scope.losses().named_losses
    } else {
        &[]
    };
    // A named loss that is part of what is differentiated (`loss_gan = (a + b) / 2`, then
    // `loss_g = loss_gan + loss_cycle; loss_g.backward()`) is reported with it, once.
    let built: Vec<(TextRange, TextRange)> = scope
        .losses()
        .differentiated
        .iter()
        .chain(returned)
        .chain(named)
        .flat_map(|v| v.slice.iter().map(move |s| (v.definition, *s)))
        .collect();
    let named = named.iter().filter(|v| {
        !built
            .iter()
            .any(|(owner, s)| *owner != v.definition && s.contains_range(v.definition))
    });
    // A loss computed with gradients off (a validation pass inside the loop) trains nothing.
    let values = scope
        .losses()
        .differentiated
        .iter()
        .chain(returned)
        .chain(named)
        .filter(|v| !scope.without_gradients(v));
    emit(cx, scope, false, values, class, names, framework, out);
}

#[allow(clippy::too_many_arguments)]
fn emit<'v>(
    cx: &ProjectContext<'_>,
    scope: &ScopeFacts,
    closure: bool,
    values: impl Iterator<Item = &'v LossValue>,
    class: Option<u32>,
    (place, owner): (&str, &str),
    framework: Option<&str>,
    out: &mut Vec<Diagnostic>,
) {
    let module = component_module(cx, Role::Loss);
    for (value, definition) in definitions(cx, class, values) {
        let message = format!(
            "{place} defines the loss inline: it {}",
            definition.describe()
        );
        let help = match framework {
            Some(framework) => format!(
                "move the formula into a Loss component in `{module}` and make the {framework} hook \
                 delegate to it (`return self.loss_fn(outputs, labels)`)"
            ),
            None => format!(
                "move the formula into a Loss component (a class with `__call__(self, outputs, \
                 targets)` in `{module}`) and call it from the loop: `loss = loss_fn(outputs, \
                 targets)`; the loop keeps only batch → loss → backward → step"
            ),
        };
        let mut diagnostic =
            Diagnostic::new(&LOSS_IN_RUNNER, message, value.definition).with_help(help);
        if let Some(consumer) = value.consumer {
            diagnostic = diagnostic.with_label(consumer, "the loss is differentiated here");
        }
        if !cx.refactorings() {
            out.push(diagnostic.withholding_refactoring());
            continue;
        }
        let name = super::loss_name(owner);
        let request = Request {
            site: value.definition,
            kind: if uses_torch(cx) {
                SpecKind::TorchModule
            } else {
                SpecKind::Callable
            },
            doc: format!("The loss computed in {}.", place.trim_end_matches(',')),
            action: format!("Extract the loss of {place}"),
            name,
            target: module.clone(),
            owner_builds: true,
        };
        let refactoring = extract::value(cx, request);
        let left = refactoring
            .as_ref()
            .ok()
            .and_then(|r| r.fix.as_ref())
            .and_then(|fix| left_inline(cx, scope, closure, class, value, &fix.edits));
        let diagnostic = match left {
            None => attach(cx, diagnostic, refactoring),
            Some(why) => attach_suggestion(cx, diagnostic, refactoring, &why),
        };
        out.push(diagnostic);
    }
}

/// What an extraction of `value`'s defining statement would leave inline, so that the finding
/// would stay (the contract of a fix is that it removes its finding): the other branches of a
/// loss assigned under a condition (`if ctc: loss = ... else: loss = ...`), or another loss
/// definition the value is built from (`loss_commitment = jnp.mean(...)` feeding
/// `loss = loss_rec + w * loss_commitment`) that the edits do not move. Such a term is
/// reported on its own once the value is a call of the extracted Loss, unless the value is
/// what the loop differentiates (or a runner method returns): its terms are reported with
/// it, and after the extraction it is a use of a Loss, so neither is reported. A loss closure
/// reports whatever definition it still holds.
fn left_inline(
    cx: &ProjectContext<'_>,
    scope: &ScopeFacts,
    closure: bool,
    class: Option<u32>,
    value: &LossValue,
    edits: &[Edit],
) -> Option<String> {
    let parsed = cx.parsed()?;
    let text = parsed.text();
    let line = |range: TextRange| text[..range.start().to_usize()].matches('\n').count() + 1;
    if let LossExpr::Branch(alternatives) = &value.expr {
        let ternary =
            statement_at(&parsed.module().body, value.definition).is_some_and(|stmt| match stmt {
                Stmt::Assign(a) => matches!(&*a.value, Expr::If(_)),
                Stmt::AnnAssign(a) => a.value.as_deref().is_some_and(|v| matches!(v, Expr::If(_))),
                _ => false,
            });
        // The extraction moves one branch. Another branch that is a definition on its own
        // stays inline, and so does a choice among the branches left when two or more remain;
        // a choice between two plain loss calls is resolved once one of them calls the
        // extracted Loss.
        let classifier = cx.classifier(class);
        let definitions = alternatives
            .iter()
            .filter(|alternative| {
                let alone = LossValue {
                    expr: (*alternative).clone(),
                    ..value.clone()
                };
                matches!(classifier.verdict(&alone), Verdict::Definition(_))
            })
            .count();
        if !ternary && (definitions >= 2 || alternatives.len() >= 3) {
            return Some(format!(
                "the loss is chosen among {} branches and this moves only the one on line {}; \
                 the others stay inline",
                alternatives.len(),
                line(value.definition)
            ));
        }
    }
    let differentiated = scope
        .losses()
        .differentiated
        .iter()
        .chain(class.map_or(&[][..], |_| &scope.losses().returned[..]))
        .any(|v| v.definition == value.definition);
    if differentiated && !closure {
        return None;
    }
    let moved = |range: TextRange| edits.iter().any(|e| e.range.contains_range(range));
    let term = scope
        .losses()
        .named_losses
        .iter()
        .filter(|n| {
            n.definition != value.definition
                && !value.definition.contains_range(n.definition)
                && value.slice.iter().any(|s| s.contains_range(n.definition))
                && !moved(n.definition)
        })
        .find(|n| !definitions(cx, class, std::iter::once(*n)).is_empty())?;
    let target = statement_at(&parsed.module().body, term.definition).and_then(|stmt| match stmt {
        Stmt::Assign(a) => a.targets.first().map(Ranged::range),
        Stmt::AnnAssign(a) => Some(a.target.range()),
        Stmt::AugAssign(a) => Some(a.target.range()),
        _ => None,
    });
    let what = match target {
        Some(target) => format!("`{}`", &text[target]),
        None => "a term".to_string(),
    };
    Some(format!(
        "{what} (line {}) is a loss definition too and would stay inline",
        line(term.definition)
    ))
}
