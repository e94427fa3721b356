use ruff_python_ast::{self as ast, ExprCall};

use crate::knowledge::{ApiKind, ArgumentSpot, TrainingHyperparameters};
use crate::registry::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds optimizers built without an explicit learning rate (`torch.optim.Adam(params)`,
    /// `keras.optimizers.SGD()`) and PyTorch `DataLoader`s built without an explicit batch size
    /// (`DataLoader(dataset)`). Calls are resolved through the imports; a call that passes
    /// `**kwargs` may set the value and is not reported. Off by default.
    ///
    /// ## Why is this bad?
    /// The defaults differ between frameworks and versions (`SGD`'s learning rate had no default
    /// in older PyTorch; `DataLoader` defaults to a batch of one), so a run that relies on them
    /// trains with values nobody chose, and nobody reading the code or the experiment's
    /// configuration can see them. The learning rate and the batch size are the first
    /// hyperparameters anyone tunes: spell them out, ideally from the configuration.
    ///
    /// ## Example
    /// ```python
    /// optimizer = torch.optim.Adam(model.parameters())
    /// loader = DataLoader(dataset, shuffle=True)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    /// loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True)
    /// ```
    pub static HYPERPARAMETER_DEFAULT = {
        code: "DL510",
        name: "hyperparameter-default",
        family: Family::Training,
        severity: Severity::Info,
        notebooks: Notebooks::Lint,
        default_enabled: false,
        fix: FixAvailability::None,
        options: &[],
        check: Check::File(|_| Box::new(HyperparameterDefault)),
        needs: Needs::Nothing,
    };
}

struct HyperparameterDefault;

impl<'a> FilePass<'a> for HyperparameterDefault {
    fn hooks(&self) -> Hooks {
        Hooks::EXPR
    }

    fn expr(&mut self, cx: &mut Context<'_, 'a>, expr: &'a Expr) {
        let Expr::Call(call) = expr else { return };
        let Some(qualified) = cx.semantic.resolve(&call.func) else {
            return;
        };
        let knowledge = cx.knowledge;
        let canonical = knowledge.canonical(&qualified);
        let spots = &knowledge.training.hyperparameters;
        if spots.wrappers.contains(&canonical) {
            return;
        }
        let (spot, what, example, loader) =
            if knowledge.classify_call(&canonical) == Some(ApiKind::Optimizer) {
                match TrainingHyperparameters::spot(&spots.learning_rate, &canonical) {
                    Some(spot) => (spot, "learning rate", "lr", false),
                    None => return,
                }
            } else {
                match TrainingHyperparameters::spot(&spots.batch_size, &canonical) {
                    Some(spot) => (spot, "batch size", "batch_size", true),
                    None => return,
                }
            };
        // Constructors are classes: `torch.optim.Adam`, not helpers such as
        // `torch.optim.optimizer._get_value` that live in the same modules.
        let name = canonical.rsplit('.').next().unwrap_or(&canonical);
        if !name.starts_with(|c: char| c.is_ascii_uppercase()) || passes(call, spot, loader) {
            return;
        }
        let keyword = spot.keywords.first().map_or(example, String::as_str);
        cx.report(
            Diagnostic::new(
                &HYPERPARAMETER_DEFAULT,
                format!(
                    "`{name}` is built without an explicit {what}: training uses the framework's default {what}"
                ),
                call.range(),
            )
            .with_help(format!(
                "pass it explicitly, from the experiment's configuration: `{keyword}=config.{example}`"
            )),
        );
    }
}

/// True if the call gives the argument: by keyword, positionally, possibly through
/// `*args`/`**kwargs`, or in parameter groups; `literal_data`: the call is a loader, for which an
/// empty literal dataset is a placeholder.
fn passes(call: &ExprCall, spot: &ArgumentSpot, literal_data: bool) -> bool {
    let arguments = &call.arguments;
    if arguments.keywords.iter().any(|k| match &k.arg {
        Some(name) => spot.keywords.iter().any(|w| w == name.as_str()),
        None => true,
    }) {
        return true;
    }
    if arguments.args.iter().any(Expr::is_starred_expr) {
        return true;
    }
    if arguments.args.len() > spot.position {
        return true;
    }
    // PyTorch parameter groups carry their own learning rate
    // (`SGD([{"params": head, "lr": 0.1}])`); an empty dataset (`DataLoader([])`) is a
    // placeholder, not a training loader.
    arguments.args.first().is_some_and(|first| match first {
        Expr::List(ast::ExprList { elts, .. }) | Expr::Tuple(ast::ExprTuple { elts, .. }) => {
            elts.iter().any(|e| group_sets(e, spot)) || (literal_data && elts.is_empty())
        }
        _ => false,
    })
}

/// True if `group` is a dict literal with one of the spot's keywords as a key.
fn group_sets(group: &Expr, spot: &ArgumentSpot) -> bool {
    let Expr::Dict(dict) = group else {
        return false;
    };
    dict.items.iter().any(|item| {
        item.key.as_ref().is_some_and(|key| match key {
            Expr::StringLiteral(s) => spot.keywords.iter().any(|w| w == s.value.to_str()),
            _ => false,
        })
    })
}
