//! `dllint rule CODE` and `dllint rule --all`: the rule documentation, from the rules' own doc
//! comments.

use std::io::Write;

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::registry::{self, Rule};
use crate::rules;

use super::ExitStatus;

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Rule code or name, e.g. `DL101` or `loss-in-model`.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub code: Option<String>,
    /// Show every rule.
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_enum, default_value_t = RuleFormat::Text)]
    pub output_format: RuleFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuleFormat {
    Text,
    Json,
}

pub fn run(args: RuleArgs) -> Result<ExitStatus, String> {
    let selected: Vec<Rule> = if args.all {
        rules::ALL.to_vec()
    } else {
        let code = args.code.unwrap_or_default();
        match rules::find_rule(&code) {
            Some(rule) => vec![rule],
            None => {
                let mut message = format!("unknown rule `{code}`");
                let names = rules::ALL.iter().flat_map(|r| [r.code, r.name]);
                if let Some(best) = registry::closest(&code, names) {
                    message.push_str(&format!("; did you mean `{best}`?"));
                }
                return Err(message);
            }
        }
    };
    let mut out = std::io::stdout().lock();
    let written = match args.output_format {
        RuleFormat::Text => selected.iter().enumerate().try_for_each(|(i, rule)| {
            if i > 0 {
                writeln!(out)?;
            }
            write!(out, "{}", explain(rule))
        }),
        RuleFormat::Json => {
            let catalog: Vec<_> = selected.iter().map(|r| rule_json(r)).collect();
            let value = if args.all {
                json!(catalog)
            } else {
                catalog[0].clone()
            };
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            )
        }
    };
    written.map_err(|e| format!("cannot write to stdout: {e}"))?;
    Ok(ExitStatus::Success)
}

/// The text `dllint rule CODE` prints.
pub fn explain(rule: Rule) -> String {
    let mut text = format!("# {} {}\n\n", rule.code, rule.name);
    text.push_str(&format!("{}\n\n", rule.metadata_line()));
    text.push_str(&rule.documentation());
    text.push('\n');
    if !rule.options.is_empty() {
        text.push_str(&format!("\n## Options (`[tool.dllint.{}]`)\n", rule.name));
        for option in rule.options {
            text.push_str(&format!(
                "- `{}` = {} — {}\n",
                option.key, option.default, option.doc
            ));
        }
    }
    text
}

pub fn rule_json(rule: Rule) -> serde_json::Value {
    json!({
        "code": rule.code,
        "name": rule.name,
        "family": rule.family.as_str(),
        "severity": rule.severity.as_str(),
        "default_enabled": rule.default_enabled,
        "notebooks": rule.notebooks.as_str(),
        "notebooks_scope": match rule.notebooks {
            crate::registry::Notebooks::Narrowed(scope) => Some(scope),
            _ => None,
        },
        "fix": rule.fix.as_str(),
        "summary": rule.summary(),
        "explanation": rule.documentation(),
        "options": rule.options.iter().map(|o| json!({
            "key": o.key, "default": o.default, "doc": o.doc, "type": o.kind.describe(),
        })).collect::<Vec<_>>(),
        "url": rule.url(),
    })
}
