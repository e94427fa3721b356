use crate::registry::prelude::*;
use crate::semantic::facts::{ConfigOption, OptionSource};
use crate::semantic::index::FileId;

declare_rule! {
    /// ## What it does
    /// Finds command-line options that nothing in the project reads: an `argparse` option
    /// (`parser.add_argument("--lr", ...)`; its `dest` is `dest=`, else the first long option
    /// with dashes turned into underscores, or the name of a positional argument) whose value is
    /// never read anywhere in the project, and a `click` option (`@click.option("--lr")`) whose
    /// parameter the command never uses.
    ///
    /// A script that parses its own options and keeps the parsed namespace to itself (it uses
    /// it only in the file, hands it only to functions and classes of the file, and no project
    /// file imports the script) reads an option only if the script itself reads it. Otherwise
    /// an option counts as read when any file reads its name: as an attribute on any receiver
    /// (`args.lr`, `opt.lr`, `self.hparams.lr`), as a key (`getattr(args, "lr")`,
    /// `hasattr(args, "lr")`, `vars(args)["lr"]`, `cfg.get("lr")` after `cfg = vars(args)`). An
    /// option also counts as read when the whole namespace is used, in the declaring file or
    /// within two import steps of it: `vars(args)` passed on or iterated, `**vars(args)`,
    /// `args.__dict__`, `getattr(args, name)` with a computed name, the namespace put on another
    /// object (`state.args = args`), or handed to anything that is not a function or class of
    /// the project (`wandb.config.update(args)`, a library `Trainer(args)`,
    /// `self.save_hyperparameters(args)`). Handing it to a project function is not such a use:
    /// that function's own reads count (and its file's whole-namespace uses, one hand-over
    /// further); a module the script merely imports does not see its namespace. Printing or
    /// logging the namespace (`print(args)`, `logger.info(args)`, a loop over `vars(args)` that
    /// only prints or writes each option) is not reading its options, and a namespace stored in
    /// a container (`torch.save({"args": args, ...})`) is read by name by whoever loads it.
    /// A name usually given to a namespace (`opt`) that a file only binds to a framework object
    /// (`opt = tf.train.AdamOptimizer(lr)`) is not one there, and a project package named like
    /// a library (`datasets/`) is the project's. Options a launcher passes whether
    /// or not they are read (`--local_rank`) are not reported.
    ///
    /// Out of scope: `parser.set_defaults(...)`, and options declared for or read through
    /// Hydra/OmegaConf, absl flags, `HfArgumentParser` dataclasses, typer and fire.
    ///
    /// ## Why is this bad?
    /// "Configuration should be strict" (Sculley et al., *Hidden Technical Debt in Machine
    /// Learning Systems*). An option nobody reads misleads every experiment: runs launched with
    /// `--dropout 0.3` and `--dropout 0.5` are the same run, their results are compared as if
    /// they were not, and the option shows up in every logged configuration. Unread options are
    /// typical leftovers of an abandoned experiment, or of a rename (`--learning-rate` declared,
    /// `args.lr` read).
    ///
    /// ## Example
    /// ```python
    /// parser.add_argument("--lr", type=float, default=1e-3)
    /// parser.add_argument("--dropout", type=float, default=0.1)  # read nowhere
    /// args = parser.parse_args()
    /// optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// parser.add_argument("--lr", type=float, default=1e-3)
    /// parser.add_argument("--dropout", type=float, default=0.1)
    /// args = parser.parse_args()
    /// model = Net(dropout=args.dropout)
    /// optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    /// ```
    ///
    /// ## Notebooks
    /// Linted: a notebook that builds an `argparse` parser (often parsed with `parse_args([])`) has
    /// unused options just as a script does.
    pub static UNUSED_CONFIG_OPTION = {
        code: "DL304",
        name: "unused-config-option",
        family: Family::DeadCode,
        severity: Severity::Warning,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::Project(check),
        needs: Needs::Symbols,
    };
}

const HELP: &str = "remove the option or use it; an option nobody reads misleads every experiment";

fn check(cx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
    let facts = cx.facts();
    if facts.usage.options.is_empty() {
        return;
    }
    let usage = &cx.knowledge().usage;
    for option in &facts.usage.options {
        match option.source {
            OptionSource::Click => out.push(
                Diagnostic::new(
                    &UNUSED_CONFIG_OPTION,
                    format!(
                        "click option `{}` is never read: the command does not use its parameter `{}`",
                        option.flag, option.dest
                    ),
                    option.range,
                )
                .with_help(HELP.to_string()),
            ),
            OptionSource::Argparse => {
                if usage.is_launcher_option(&option.dest) {
                    continue;
                }
                let config = cx.index.config();
                let file = cx.file as usize;
                let closed = config.closed.get(file).copied().unwrap_or(false);
                if closed {
                    if facts.usage.names.contains(&option.dest) {
                        continue;
                    }
                } else if config.read.contains(&option.dest)
                    || config.covered.get(file).copied().unwrap_or(true)
                {
                    continue;
                }
                out.push(argparse_finding(cx, option, closed));
            }
        }
    }
}

/// `closed`: the declaring file is a script that keeps its namespace to itself (see
/// [`crate::semantic::usage::ConfigIndex::closed`]): only its own reads count.
fn argparse_finding(cx: &ProjectContext<'_>, option: &ConfigOption, closed: bool) -> Diagnostic {
    let read_as = if option.dest.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !option.dest.starts_with(|c: char| c.is_ascii_digit())
    {
        format!("`args.{}`", option.dest)
    } else {
        format!("`getattr(args, \"{}\")`", option.dest)
    };
    let kind = if option.flag == option.dest {
        "argument"
    } else {
        "option"
    };
    let message = if closed {
        format!(
            "{kind} `{}` is never read: this script never reads {read_as}, and its parsed \
             arguments go nowhere else",
            option.flag
        )
    } else {
        format!(
            "{kind} `{}` is never read: nothing in the project reads {read_as}",
            option.flag
        )
    };
    let mut diagnostic = Diagnostic::new(&UNUSED_CONFIG_OPTION, message, option.range);
    let config = cx.index.config();
    let own: Vec<(String, FileId, TextRange)>;
    let candidates = if closed {
        let facts = cx.facts();
        own = facts
            .usage
            .namespace_reads
            .iter()
            .filter(|(name, _)| !facts.usage.options.iter().any(|o| o.dest == *name))
            .map(|(name, range)| (name.clone(), cx.file, *range))
            .collect();
        &own
    } else {
        &config.undeclared_reads
    };
    let near = candidates
        .iter()
        .filter_map(|(name, file, range)| {
            similarity(&option.dest, name).map(|score| (score, name, *file, *range))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)));
    match near {
        Some((_, name, file, range)) => {
            let path = &cx.index.file(file).path;
            let place = if file == cx.file {
                "in this file".to_string()
            } else {
                format!("in {}", path.display())
            };
            diagnostic = diagnostic.with_help(format!(
                "{HELP}; `{name}` is read {place} but no option declares it: if they are the same \
                 setting, read `{}` there or rename the option to `--{}`",
                option.dest,
                name.replace('_', "-")
            ));
            let label = format!("`{name}` is read here, but never declared");
            diagnostic = if file == cx.file {
                diagnostic.with_label(range, label)
            } else {
                diagnostic.with_file_label(std::sync::Arc::clone(path), range, label)
            };
        }
        None => diagnostic = diagnostic.with_help(HELP.to_string()),
    }
    diagnostic
}

/// How likely `read` is a misspelling or an abbreviation of the option `dest`, if at all:
/// `lr` for `learning_rate`, `batchsize` for `batch_size`, `num_epoch` for `num_epochs`.
fn similarity(dest: &str, read: &str) -> Option<f64> {
    if dest == read || read.len() < 2 {
        return None;
    }
    let squash = |s: &str| s.replace(['_', '-'], "").to_ascii_lowercase();
    if squash(dest) == squash(read) {
        return Some(1.0);
    }
    let initials = |s: &str| {
        let parts: Vec<&str> = s.split(['_', '-']).filter(|p| !p.is_empty()).collect();
        (parts.len() >= 2).then(|| {
            parts
                .iter()
                .filter_map(|p| p.chars().next())
                .collect::<String>()
        })
    };
    if initials(dest).is_some_and(|i| i.eq_ignore_ascii_case(read))
        || initials(read).is_some_and(|i| i.eq_ignore_ascii_case(dest))
    {
        return Some(0.95);
    }
    let score = strsim::jaro_winkler(dest, read);
    (score >= 0.9 && dest.len().min(read.len()) >= 4).then_some(score * 0.9)
}

#[cfg(test)]
mod tests {
    use super::similarity;

    #[test]
    fn near_misses() {
        assert!(similarity("learning_rate", "lr").is_some());
        assert!(similarity("batch_size", "batchsize").is_some());
        assert!(similarity("num_epochs", "num_epoch").is_some());
        assert!(similarity("dropout", "lr").is_none());
        assert!(similarity("warmup", "weight_decay").is_none());
    }
}
