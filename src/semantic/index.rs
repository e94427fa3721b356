//! The project index: every file's facts, and resolution of names across files (imports,
//! re-exports, class hierarchies), so that a subclass of a project Model is a Model even when
//! its layers live in a superclass in another file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use crate::config::Settings;
use crate::knowledge::Knowledge;
use crate::semantic::facts::{Callee, ClassId, FileFacts, FunctionId};

pub type FileId = u32;

/// One file of the project.
pub struct ProjectFile {
    /// The path as discovered (relative or absolute), used for output.
    pub path: Arc<Path>,
    /// Absolute path, used for resolution.
    pub absolute: PathBuf,
    pub facts: FileFacts,
    pub settings: Arc<Settings>,
    /// Linted (true) or only read for context, e.g. a base class outside the given paths.
    pub linted: bool,
}

/// What a name resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Symbol {
    Class(FileId, ClassId),
    Function(FileId, FunctionId),
    Module(FileId),
}

pub struct ProjectIndex {
    pub files: Vec<ProjectFile>,
    by_path: FxHashMap<PathBuf, FileId>,
    /// Directory → dotted module name (relative to that directory) → file. Every ancestor
    /// directory of every file is a potential import root, so lookups need no file system.
    modules: FxHashMap<PathBuf, FxHashMap<String, FileId>>,
    /// Memoised file-system checks made while reporting (e.g. "is there a `losses.py`?").
    exists: Mutex<FxHashMap<PathBuf, bool>>,
    /// Import roots of each file (see [`ProjectIndex::search_roots`]).
    roots: Vec<Vec<PathBuf>>,
}

/// How many directory levels above a file are considered as import roots.
const MAX_ROOT_DEPTH: usize = 12;

impl ProjectIndex {
    pub fn new(files: Vec<ProjectFile>) -> Self {
        let by_path = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.absolute.clone(), i as FileId))
            .collect();
        let mut modules: FxHashMap<PathBuf, FxHashMap<String, FileId>> = FxHashMap::default();
        for (id, file) in files.iter().enumerate() {
            let Some(stem) = file.absolute.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let Some(dir) = file.absolute.parent() else {
                continue;
            };
            // Segments from the file upwards: `pkg/sub/mod.py` → ["mod", "sub", "pkg"].
            let mut segments: Vec<&str> = Vec::new();
            if stem != "__init__" {
                segments.push(stem);
            }
            let mut current = Some(dir);
            for _ in 0..MAX_ROOT_DEPTH {
                let Some(root) = current else { break };
                if !segments.is_empty() {
                    let dotted: Vec<&str> = segments.iter().rev().copied().collect();
                    modules
                        .entry(root.to_path_buf())
                        .or_default()
                        .entry(dotted.join("."))
                        .or_insert(id as FileId);
                }
                let Some(name) = root.file_name().and_then(|n| n.to_str()) else {
                    break;
                };
                segments.push(name);
                current = root.parent();
            }
        }
        let roots = files.iter().map(Self::search_roots).collect();
        ProjectIndex {
            files,
            by_path,
            modules,
            exists: Mutex::default(),
            roots,
        }
    }

    /// The file that is module `module` under import root `root`.
    fn module_file(&self, root: &Path, module: &str) -> Option<FileId> {
        self.modules.get(root)?.get(module).copied()
    }

    /// Memoised `path.exists()`.
    pub fn path_exists(&self, path: &Path) -> bool {
        let mut cache = self.exists.lock().expect("exists cache");
        *cache
            .entry(path.to_path_buf())
            .or_insert_with(|| path.exists())
    }

    pub fn file(&self, id: FileId) -> &ProjectFile {
        &self.files[id as usize]
    }

    pub fn facts(&self, id: FileId) -> &FileFacts {
        &self.files[id as usize].facts
    }

    pub fn knowledge(&self, id: FileId) -> &Knowledge {
        &self.files[id as usize].settings.knowledge
    }

    pub fn file_by_path(&self, absolute: &Path) -> Option<FileId> {
        self.by_path.get(absolute).copied()
    }

    /// Directories in which `from` looks up absolute imports, most specific first: its own
    /// directory (scripts), the parent of its top-level package, the configured `src` roots,
    /// and the configuration root.
    pub fn search_roots(file: &ProjectFile) -> Vec<PathBuf> {
        let mut roots = Vec::new();
        if let Some(dir) = file.absolute.parent() {
            roots.push(dir.to_path_buf());
            if let Some(package) = &file.facts.package {
                let depth = package.split('.').count();
                let top = dir.ancestors().nth(depth).map(Path::to_path_buf);
                roots.extend(top);
            }
        }
        roots.extend(file.settings.src.iter().cloned());
        roots.push(file.settings.root.clone());
        roots.dedup();
        roots
    }

    /// Candidate files for a dotted module name under a root.
    pub fn module_candidates(root: &Path, module: &str) -> [PathBuf; 2] {
        let mut base = root.to_path_buf();
        for part in module.split('.') {
            base.push(part);
        }
        [base.with_extension("py"), base.join("__init__.py")]
    }

    /// Resolve a qualified name as seen from `from`: the longest module prefix that is a
    /// project file, then the member inside it (following re-exports).
    pub fn resolve_qualified(&self, from: FileId, qualified: &str) -> Option<Symbol> {
        self.resolve_qualified_depth(from, qualified, 0)
    }

    fn resolve_qualified_depth(&self, from: FileId, qualified: &str, depth: u8) -> Option<Symbol> {
        if depth > 8 || self.knowledge(from).is_external(qualified) {
            return None;
        }
        let segments: Vec<&str> = qualified.split('.').collect();
        let roots = &self.roots[from as usize];
        for split in (1..=segments.len()).rev() {
            let module = segments[..split].join(".");
            for root in roots {
                {
                    let Some(file) = self.module_file(root, &module) else {
                        continue;
                    };
                    if file == from && split == segments.len() {
                        continue;
                    }
                    let rest = &segments[split..];
                    return match rest {
                        [] => Some(Symbol::Module(file)),
                        [name] => self.member(file, name, depth + 1),
                        [class, method] => match self.member(file, class, depth + 1)? {
                            Symbol::Class(f, c) => self
                                .facts(f)
                                .method(c, method)
                                .map(|(id, _)| Symbol::Function(f, id)),
                            _ => None,
                        },
                        _ => None,
                    };
                }
            }
        }
        None
    }

    /// A module-level name of a file: a class, a function, or an imported name (re-export).
    pub fn member(&self, file: FileId, name: &str, depth: u8) -> Option<Symbol> {
        let facts = self.facts(file);
        if let Some((id, _)) = facts.class_named(name) {
            return Some(Symbol::Class(file, id));
        }
        if let Some((id, _)) = facts.function_named(name) {
            return Some(Symbol::Function(file, id));
        }
        let target = facts.import_target(name)?;
        self.resolve_qualified_depth(file, target, depth + 1)
    }

    /// Resolve a callee (or base) written in `file` to a project symbol.
    pub fn resolve_callee(&self, file: FileId, callee: &Callee) -> Option<Symbol> {
        match callee {
            Callee::Qualified(q) => self.resolve_qualified(file, q),
            Callee::Local(name) => {
                if let Some(symbol) = self.member(file, name, 0) {
                    return Some(symbol);
                }
                // A dotted base such as `module.Class` where `module` is not an import.
                let (head, rest) = name.split_once('.')?;
                let target = self.facts(file).import_target(head)?;
                self.resolve_qualified(file, &format!("{target}.{rest}"))
            }
            _ => None,
        }
    }

    /// Every file a qualified name might live in (for loading context files): used before the
    /// index exists, so it probes the file system.
    pub fn probe_module_files(roots: &[PathBuf], qualified: &str) -> Vec<PathBuf> {
        let segments: Vec<&str> = qualified.split('.').collect();
        let mut found = Vec::new();
        for split in (1..=segments.len()).rev() {
            let module = segments[..split].join(".");
            for root in roots {
                for candidate in Self::module_candidates(root, &module) {
                    if candidate.is_file() {
                        found.push(candidate);
                        return found;
                    }
                }
            }
        }
        found
    }
}
