//! `dllint check --show-settings PATH`: the configuration one file is linted with, resolved
//! (configuration file, command-line overrides, defaults), as people read it.

use std::fmt::Write;
use std::path::Path;

use crate::config::Settings;
use crate::registry::RuleOptions;
use crate::rules;
use crate::rules::RuleSet;

/// Render the settings of `path` (`shown`: the path as the user gave it). For a directory,
/// the settings of the files directly in it, without what applies to one file only.
pub fn render(settings: &Settings, path: &Path, shown: &str, cell_script: bool) -> String {
    let mut out = String::new();
    let is_dir = path.is_dir();
    let _ = writeln!(
        out,
        "Resolved settings for: {shown}{}",
        if is_dir { " (a directory)" } else { "" }
    );
    match &settings.config_path {
        Some(config) => {
            let _ = writeln!(out, "Configuration file: {}", config.display());
        }
        None => out.push_str("Configuration file: none (the defaults)\n"),
    }
    let _ = writeln!(out, "Root: {}", settings.root.display());

    // Rules: those the configuration enables, less what turns them off for this file.
    let enabled = if is_dir {
        settings.rules
    } else {
        settings.rules_for_source(path, cell_script)
    };
    let label = if is_dir {
        "Rules enabled"
    } else {
        "Rules enabled for this file"
    };
    let _ = writeln!(out, "\n{label} ({}):", enabled.iter().count());
    rule_lines(&mut out, &enabled);
    let off: Vec<_> = settings
        .rules
        .iter()
        .filter(|rule| !enabled.contains(rule))
        .collect();
    if !off.is_empty() {
        let _ = writeln!(out, "Selected but not run on this file ({}):", off.len());
        let policy = settings.notebook_policy(path, cell_script);
        for rule in off {
            let mut why: Vec<String> = Vec::new();
            if let Some(policy) = policy
                && settings.notebook_ignore.contains(rule)
            {
                why.push(format!("notebook-ignore: {policy}"));
            }
            for (pattern, ignored) in settings.per_file_ignores_for(path) {
                if ignored.contains(rule) {
                    why.push(format!("per-file-ignores {}", quote(pattern)));
                }
            }
            let _ = writeln!(out, "  {}  {}  ({})", rule.code, rule.name, why.join("; "));
        }
    }

    // Every option of every rule that has options, with the value the rule runs with.
    out.push_str("\nRule options (effective values):\n");
    let defaults = RuleOptions::default();
    for rule in rules::ALL.iter().filter(|r| !r.options.is_empty()) {
        let state = if enabled.contains(rule) {
            ""
        } else {
            "  (off)"
        };
        let _ = writeln!(out, "  {} {}{state}", rule.code, rule.name);
        for option in rule.options {
            let value = settings.rule_options.value(rule, option.key);
            let note = match settings.rule_options.configured(rule, option.key) {
                Some(_) => format!(
                    "  (configured; default {})",
                    defaults.value(rule, option.key)
                ),
                None => String::new(),
            };
            let _ = writeln!(out, "    {} = {value}{note}", option.key);
        }
    }

    out.push_str("\nSeverities that differ from the defaults:\n");
    let mut any = false;
    for rule in rules::ALL.iter() {
        let severity = settings.severity_of(rule);
        if severity != rule.severity {
            any = true;
            let _ = writeln!(
                out,
                "  {}  {}  {}  (default {})",
                rule.code,
                rule.name,
                severity.as_str(),
                rule.severity.as_str()
            );
        }
    }
    none_if(&mut out, any);

    out.push_str("\nNotebook-ignore (not run on notebooks and teaching code):\n");
    rule_lines(&mut out, &settings.notebook_ignore);
    none_if(&mut out, !settings.notebook_ignore.is_empty());

    out.push_str("\nExclude:\n");
    for pattern in &settings.exclude_patterns {
        let _ = writeln!(out, "  {}", quote(pattern));
    }
    none_if(&mut out, !settings.exclude_patterns.is_empty());

    out.push_str("\nPer-file-ignores:\n");
    let mut any = false;
    for (pattern, ignored) in settings.per_file_ignores() {
        any = true;
        let codes: Vec<String> = ignored.iter().map(|r| quote(r.code)).collect();
        let _ = writeln!(out, "  {} = [{}]", quote(pattern), codes.join(", "));
    }
    none_if(&mut out, any);

    out.push_str("\nSrc roots:\n");
    for root in &settings.scope.src {
        let root = crate::discovery::absolute_lexical(root, &settings.root);
        let _ = writeln!(out, "  {}", root.display());
    }
    none_if(&mut out, !settings.scope.src.is_empty());

    out.push_str("\nKnowledge additions:\n");
    let mut any = false;
    for (key, patterns) in settings.knowledge_additions.entries() {
        if patterns.is_empty() {
            continue;
        }
        any = true;
        let patterns: Vec<String> = patterns.iter().map(|p| quote(p)).collect();
        let _ = writeln!(out, "  {key} = [{}]", patterns.join(", "));
    }
    none_if(&mut out, any);
    out
}

fn rule_lines(out: &mut String, rules: &RuleSet) {
    for rule in rules.iter() {
        let _ = writeln!(out, "  {}  {}", rule.code, rule.name);
    }
}

fn none_if(out: &mut String, any: bool) {
    if !any {
        out.push_str("  (none)\n");
    }
}

/// A string as TOML writes it.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}
