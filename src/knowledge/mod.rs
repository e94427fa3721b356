//! What dllint knows about the deep-learning frameworks, as data.
//!
//! The lists live in `frameworks.toml` next to this file (compiled in), so that adding a
//! framework API is a one-line data change, not a code change; users extend them from
//! `[tool.dllint.knowledge]`. Rules ask questions ("is this call a debugger entry point?"), and
//! never spell framework names themselves.

mod pattern;

use std::sync::OnceLock;

use serde::Deserialize;

pub use pattern::NameSet;

/// Every list dllint knows, with aliases already applied to the patterns.
#[derive(Debug)]
pub struct Knowledge {
    aliases: Vec<(String, String)>,
    pub debugger_modules: NameSet,
    pub debugger_calls: NameSet,
    pub shape_attributes: Vec<String>,
    pub shape_methods: Vec<String>,
    pub shape_functions: NameSet,
    pub print_functions: NameSet,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    aliases: Vec<[String; 2]>,
    debugging: RawDebugging,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDebugging {
    modules: Vec<String>,
    calls: Vec<String>,
    shape_attributes: Vec<String>,
    shape_methods: Vec<String>,
    shape_functions: Vec<String>,
    print_functions: Vec<String>,
}

const DATA: &str = include_str!("frameworks.toml");

impl Knowledge {
    /// The built-in knowledge (parsed once per process).
    pub fn builtin() -> &'static Knowledge {
        static BUILTIN: OnceLock<Knowledge> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let raw: Raw = toml::from_str(DATA).expect("src/knowledge/frameworks.toml is valid");
            Knowledge::from_raw(raw)
        })
    }

    fn from_raw(raw: Raw) -> Knowledge {
        let mut aliases: Vec<(String, String)> = raw
            .aliases
            .into_iter()
            .map(|[from, to]| (from, to))
            .collect();
        // Longest prefix first, so `tensorflow.compat.v1` wins over `tensorflow`.
        aliases.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        let d = raw.debugging;
        let mut knowledge = Knowledge {
            aliases,
            debugger_modules: NameSet::default(),
            debugger_calls: NameSet::default(),
            shape_attributes: d.shape_attributes,
            shape_methods: d.shape_methods,
            shape_functions: NameSet::default(),
            print_functions: NameSet::default(),
        };
        knowledge.debugger_modules = knowledge.name_set(&d.modules);
        knowledge.debugger_calls = knowledge.name_set(&d.calls);
        knowledge.shape_functions = knowledge.name_set(&d.shape_functions);
        knowledge.print_functions = knowledge.name_set(&d.print_functions);
        knowledge
    }

    fn name_set(&self, patterns: &[String]) -> NameSet {
        NameSet::new(patterns.iter().map(|p| self.canonical(p)))
    }

    /// The canonical spelling of a qualified name: `tensorflow.compat.v1.losses.x` and
    /// `tf_keras.losses.x` are the same API as `tensorflow.losses.x` and `keras.losses.x`.
    pub fn canonical(&self, qualified: &str) -> String {
        for (from, to) in &self.aliases {
            if let Some(rest) = qualified.strip_prefix(from.as_str())
                && (rest.is_empty() || rest.starts_with('.'))
            {
                return format!("{to}{rest}");
            }
        }
        qualified.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_data_loads_and_canonicalises() {
        let k = Knowledge::builtin();
        assert_eq!(
            k.canonical("tensorflow.compat.v1.losses.log_loss"),
            "tensorflow.losses.log_loss"
        );
        assert_eq!(k.canonical("torchx.y"), "torchx.y");
        assert!(k.debugger_calls.contains("pdb.set_trace"));
        assert!(k.debugger_modules.contains("IPython.core.debugger"));
    }
}
