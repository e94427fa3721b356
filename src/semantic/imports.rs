//! Import resolution: which qualified name a local name stands for.
//!
//! `import torch.nn as nn` makes `nn` mean `torch.nn`; `from torch.nn import Module as M` makes
//! `M` mean `torch.nn.Module`; `from . import losses` inside package `proj.models` makes `losses`
//! mean `proj.models.losses`. Rules compare resolved names, never the spelling in the source.

use ruff_python_ast::name::UnqualifiedName;
use ruff_python_ast::{Expr, StmtImport, StmtImportFrom};
use rustc_hash::FxHashMap;

/// One name an import statement binds, written as the file's own text reads it (relative
/// dots dropped): `import a.b` binds `a` to `a`; `import a.b as c` binds `c` to `a.b`;
/// `from m import n as k` binds `k` to `m.n`; `from . import n` binds `n` to `n`.
#[derive(Debug, Clone, Copy)]
pub struct ImportBinding<'a> {
    pub local: &'a str,
    /// The module imported from (`from m import n`), none for `import a.b`.
    pub module: Option<&'a str>,
    pub name: &'a str,
    pub alias: &'a ruff_python_ast::Alias,
}

impl ImportBinding<'_> {
    /// `m.n`, or `n` alone.
    pub fn qualified(&self) -> String {
        match self.module {
            Some(module) => format!("{module}.{}", self.name),
            None => self.name.to_string(),
        }
    }
}

/// The names `stmt` binds, if it is an import; a star import binds none. The one reading of
/// import statements for what a file's references spell, shared by the refactorings' view of
/// a module and the facts that must agree with it (`builder::loop_calls`).
pub fn import_bindings(stmt: &ruff_python_ast::Stmt) -> Vec<ImportBinding<'_>> {
    match stmt {
        ruff_python_ast::Stmt::Import(import) => import
            .names
            .iter()
            .map(|alias| match &alias.asname {
                Some(asname) => ImportBinding {
                    local: asname.as_str(),
                    module: None,
                    name: alias.name.as_str(),
                    alias,
                },
                None => {
                    let head = alias.name.as_str().split('.').next().unwrap_or_default();
                    ImportBinding {
                        local: head,
                        module: None,
                        name: head,
                        alias,
                    }
                }
            })
            .collect(),
        ruff_python_ast::Stmt::ImportFrom(import) => {
            let module = import
                .module
                .as_ref()
                .map(|m| m.as_str())
                .filter(|m| !m.is_empty());
            import
                .names
                .iter()
                .map(|alias| ImportBinding {
                    local: alias.asname.as_ref().unwrap_or(&alias.name).as_str(),
                    module,
                    name: alias.name.as_str(),
                    alias,
                })
                .filter(|binding| binding.local != "*")
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Local name → qualified name, for one file. Later imports of the same name win, as at runtime
/// for straight-line code.
#[derive(Debug, Default, Clone)]
pub struct ImportMap {
    bindings: FxHashMap<String, String>,
}

impl ImportMap {
    /// Record the bindings made by `import a.b.c` / `import a.b as c`.
    pub fn add_import(&mut self, stmt: &StmtImport) -> Vec<(String, String)> {
        let mut added = Vec::new();
        for alias in &stmt.names {
            let module = alias.name.as_str();
            let (local, target) = match &alias.asname {
                Some(asname) => (asname.as_str().to_string(), module.to_string()),
                // `import a.b.c` binds `a`, and `a.b.c` stays reachable through it.
                None => {
                    let head = module.split('.').next().unwrap_or(module);
                    (head.to_string(), head.to_string())
                }
            };
            self.bindings.insert(local.clone(), target.clone());
            added.push((local, target));
        }
        added
    }

    /// Record the bindings made by `from m import x as y`, resolving relative imports against
    /// `package` (the dotted package that contains the importing file, if known).
    pub fn add_import_from(
        &mut self,
        stmt: &StmtImportFrom,
        package: Option<&str>,
    ) -> Vec<(String, String)> {
        let mut added = Vec::new();
        let Some(base) = resolve_from_module(stmt, package) else {
            return added;
        };
        for alias in &stmt.names {
            let name = alias.name.as_str();
            if name == "*" {
                // `from ops import *`: no binding of its own; the index looks names up there.
                if !base.is_empty() {
                    added.push(("*".to_string(), base.clone()));
                }
                continue;
            }
            let local = alias
                .asname
                .as_ref()
                .map_or(name, |a| a.as_str())
                .to_string();
            let target = if base.is_empty() {
                name.to_string()
            } else {
                format!("{base}.{name}")
            };
            added.push((local.clone(), target.clone()));
            self.bindings.insert(local, target);
        }
        added
    }

    /// `K = keras.backend` at module level: `K` names what the dotted expression names, as an
    /// import would.
    pub fn add_alias(&mut self, local: &str, target: String) {
        self.bindings.insert(local.to_string(), target);
    }

    pub fn get(&self, local: &str) -> Option<&str> {
        self.bindings.get(local).map(String::as_str)
    }

    pub fn contains(&self, local: &str) -> bool {
        self.bindings.contains_key(local)
    }

    /// Resolve a dotted expression (`nn.functional.cross_entropy`) to its qualified name
    /// (`torch.nn.functional.cross_entropy`). `None` if it is not a dotted name or its head is
    /// not an import.
    pub fn resolve(&self, expr: &Expr) -> Option<String> {
        let name = UnqualifiedName::from_expr(expr)?;
        let segments = name.segments();
        let head = self.bindings.get(segments[0])?;
        let mut out = String::with_capacity(head.len() + 16 * segments.len());
        out.push_str(head);
        for segment in &segments[1..] {
            out.push('.');
            out.push_str(segment);
        }
        Some(out)
    }

    /// True if [`ImportMap::resolve`] gives a qualified name for `expr`: it is a dotted name
    /// whose head is an import. Allocates nothing.
    pub fn resolves(&self, expr: &Expr) -> bool {
        let mut current = expr;
        loop {
            match current {
                Expr::Attribute(attr) => current = &attr.value,
                Expr::Name(name) => return self.bindings.contains_key(name.id.as_str()),
                _ => return false,
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.bindings.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The absolute module a `from ... import` statement reads from, or `None` when it is relative
/// and the file's package is unknown (or the dots climb above the top-level package).
pub fn resolve_from_module(stmt: &StmtImportFrom, package: Option<&str>) -> Option<String> {
    let module = stmt.module.as_ref().map(|m| m.as_str());
    if stmt.level == 0 {
        return module.map(str::to_string);
    }
    let package = package?;
    let mut parts: Vec<&str> = if package.is_empty() {
        Vec::new()
    } else {
        package.split('.').collect()
    };
    for _ in 1..stmt.level {
        parts.pop()?;
    }
    let mut base = parts.join(".");
    if let Some(module) = module {
        if !base.is_empty() {
            base.push('.');
        }
        base.push_str(module);
    }
    Some(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruff_python_ast::Stmt;
    use ruff_python_parser::parse_module;

    fn map(src: &str, package: Option<&str>) -> ImportMap {
        let parsed = parse_module(src).unwrap();
        let mut map = ImportMap::default();
        for stmt in parsed.suite() {
            match stmt {
                Stmt::Import(s) => {
                    map.add_import(s);
                }
                Stmt::ImportFrom(s) => {
                    map.add_import_from(s, package);
                }
                _ => {}
            }
        }
        map
    }

    fn resolve(map: &ImportMap, expr: &str) -> Option<String> {
        let parsed = ruff_python_parser::parse_expression(expr).unwrap();
        map.resolve(parsed.expr())
    }

    #[test]
    fn resolves_aliases_and_from_imports() {
        let m = map(
            "import torch.nn as nn\nimport torch\nfrom torch.nn import Module as M\n\
             import tensorflow as tf\nfrom tensorflow import keras\nimport os.path\n",
            None,
        );
        assert_eq!(resolve(&m, "nn.Linear").as_deref(), Some("torch.nn.Linear"));
        for expr in [
            "nn.Linear",
            "M",
            "tf.keras.layers.Dense",
            "os.path.join",
            "x",
            "x.y",
            "f().y",
            "nn[0].y",
        ] {
            let parsed = ruff_python_parser::parse_expression(expr).unwrap();
            assert_eq!(
                m.resolves(parsed.expr()),
                m.resolve(parsed.expr()).is_some(),
                "{expr}"
            );
        }
        assert_eq!(resolve(&m, "M").as_deref(), Some("torch.nn.Module"));
        assert_eq!(
            resolve(&m, "tf.keras.Model").as_deref(),
            Some("tensorflow.keras.Model")
        );
        assert_eq!(
            resolve(&m, "keras.layers.Dense").as_deref(),
            Some("tensorflow.keras.layers.Dense")
        );
        assert_eq!(resolve(&m, "os.path.join").as_deref(), Some("os.path.join"));
        assert_eq!(resolve(&m, "self.fc"), None);
    }

    #[test]
    fn resolves_relative_imports_against_the_package() {
        let m = map(
            "from . import losses\nfrom ..data import Loader\nfrom .models.net import Net\n",
            Some("proj.train"),
        );
        assert_eq!(m.get("losses"), Some("proj.train.losses"));
        assert_eq!(m.get("Loader"), Some("proj.data.Loader"));
        assert_eq!(m.get("Net"), Some("proj.train.models.net.Net"));
        let unknown = map("from . import x\n", None);
        assert_eq!(unknown.get("x"), None);
    }
}
