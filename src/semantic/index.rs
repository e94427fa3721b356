//! The project index: every file's facts, and resolution of names across files (imports,
//! re-exports, class hierarchies), so that a subclass of a project Model is a Model even when
//! its layers live in a superclass in another file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rustc_hash::FxHashMap;

use crate::knowledge::Knowledge;
use crate::semantic::facts::{Callee, ClassId, FileFacts, FunctionId};
use crate::semantic::flow::InstanceArgs;
use crate::semantic::reads::{self, Query, Recorded};
use crate::semantic::roles::Roles;
use crate::semantic::usage::{ConfigIndex, ReferenceIndex};

pub type FileId = u32;

/// Per class of a file, each of its bases (as `ClassFacts::bases` lists them): the project
/// class it names, if it names one.
type ClassBases = Vec<Vec<Option<(FileId, ClassId)>>>;

/// Class attributes by their constructor's short name: (file, class, attribute index).
type AttributeCtors = FxHashMap<String, Vec<(FileId, ClassId, u32)>>;

/// What the analysis needs of a file's configuration: where its project starts, where its
/// imports are looked up, and the framework knowledge (with the user's additions). Shared by
/// every file of one configuration.
#[derive(Debug, Clone)]
pub struct FileScope {
    /// The configuration root (the directory of the config file, else the cwd).
    pub root: PathBuf,
    /// Extra import roots (`src = [...]`).
    pub src: Vec<PathBuf>,
    pub knowledge: Arc<Knowledge>,
}

/// One file of the project.
pub struct ProjectFile {
    /// The path as discovered (relative or absolute), used for output.
    pub path: Arc<Path>,
    /// Absolute path, used for resolution.
    pub absolute: PathBuf,
    pub facts: FileFacts,
    pub scope: Arc<FileScope>,
    /// Teaching code (a course, a lab, a notebook-like cell script), as the configuration's
    /// teaching paths say.
    pub teaching: bool,
    /// Linted (true) or only read for context, e.g. a base class outside the given paths.
    pub linted: bool,
    /// The text, when it is not on disk (standard input, an editor buffer, a fix in
    /// progress); files on disk are read again when a rule needs their text.
    pub text: Option<Arc<crate::source::SourceText>>,
    /// The syntax tree of `text`, from the file's pass, when it parsed without error: what
    /// reads the tree again (a refactoring, a rule that walks the file after the project's
    /// facts are known) takes it instead of parsing the text again. Only for a text held in
    /// memory, which is kept anyway (an editor buffer, standard input): the tree of a file on
    /// disk is dropped after its pass.
    pub tree: Option<Arc<ruff_python_parser::Parsed<ruff_python_ast::ModModule>>>,
}

/// A question about the project layout: the directory, the question, and the file that asks
/// when the answer must not be that file itself (see [`ProjectIndex::memoized_layout`]).
type LayoutQuestion = (PathBuf, &'static str, Option<PathBuf>);

/// What a name resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Symbol {
    Class(FileId, ClassId),
    Function(FileId, FunctionId),
    Module(FileId),
}

impl Symbol {
    /// The file that defines it (or is it).
    pub fn file(self) -> FileId {
        match self {
            Symbol::Class(f, _) | Symbol::Function(f, _) | Symbol::Module(f) => f,
        }
    }
}

pub struct ProjectIndex {
    /// Private: every read of a file reports itself (see [`reads`]).
    files: Vec<ProjectFile>,
    by_path: FxHashMap<PathBuf, FileId>,
    /// Directory → dotted module name (relative to that directory) → file. Every ancestor
    /// directory of every file is a potential import root, so lookups need no file system.
    modules: ModuleMap<FileId>,
    /// Memoised file-system checks made while reporting (e.g. "is there a `losses.py`?").
    exists: Mutex<FxHashMap<PathBuf, bool>>,
    /// Memoised answers about the project layout, per directory and question (and asking file,
    /// when the answer must not be that file).
    layout: Mutex<FxHashMap<LayoutQuestion, String>>,
    /// Files outside the project read while reporting (an existing `loss.py` a refactoring
    /// appends to), with a fingerprint of what was read: with `exists`, everything the
    /// project rules learnt from the file system, so a cached result can be re-validated.
    outside: Mutex<FxHashMap<PathBuf, u64>>,
    /// Import roots of each file (see [`ProjectIndex::search_roots`]), as directory ids of
    /// the module map (roots that hold no module are dropped).
    roots: Vec<Vec<u32>>,
    // The indexes below are built on first use, from inside the rules' parallel loop: their
    // builds must run no parallel work of their own (a worker waiting inside a `OnceLock`
    // initialiser may steal a job that needs the same value, and wait on itself; issue 15).
    /// Which declared command-line options some file reads, project-wide; computed on first use.
    config: Recorded<ConfigIndex>,
    /// Which components some file references, project-wide; computed on first use.
    references: Recorded<ReferenceIndex>,
    /// Instances handed to project functions (parameter resolution), computed on first use.
    instance_args: OnceLock<InstanceArgs>,
    /// The call sites of each project function, computed on first use.
    call_sites: OnceLock<crate::semantic::calls::CallSites>,
    /// The project functions each scope calls, per file and scope (module first); computed
    /// once, in parallel, by the training model before the rules run, and shared with
    /// [`ProjectIndex::call_sites`].
    callees: OnceLock<crate::semantic::calls::CalleeTable>,
    /// Per file, calls resolved by an earlier run that are still valid (see
    /// [`ProjectIndex::reuse_callees`]), taken when the callee table is built.
    reused_callees: Mutex<Vec<Option<ReusedCallees>>>,
    /// Each file's module-level definitions by name, computed on first use.
    definitions: Vec<Recorded<Vec<Symbol>>>,
    /// The project classes each class of a file names as its bases, computed on first use.
    class_bases: Vec<Recorded<ClassBases>>,
    /// Each file's module-level imports (indexes into `FileFacts::imports`) sorted by local
    /// name, the later binding of a name first; computed on first use.
    imports_by_name: Vec<Recorded<Vec<u32>>>,
    /// What each module-level import of a file resolves to, computed on first use (see
    /// [`ProjectIndex::resolved_imports`]).
    resolved_imports: Vec<Recorded<Vec<Option<Symbol>>>>,
    /// Files that another file imports from, with the module names those imports spell
    /// (`utils.optim`), computed on first use.
    imported: OnceLock<FxHashMap<FileId, Vec<String>>>,
    /// The other files that import each file (a module, a member of it, or a name from it the
    /// index does not resolve), in file order; computed on first use.
    importers: OnceLock<FxHashMap<FileId, Vec<FileId>>>,
    /// Class attributes built from a constructor (`self.vq = VectorQuantizer(...)`), by the
    /// constructor's short name: (file, class, attribute index). Computed on first use.
    attribute_ctors: OnceLock<AttributeCtors>,
}

/// A file's resolved calls, per scope (module first), with what resolving them read.
pub type ReusedCallees = (Vec<Vec<crate::semantic::calls::ScopeCallee>>, reads::Reads);

/// What a file's module-level imports resolve to (see [`ProjectIndex::resolved_imports`]), with
/// what resolving them read.
pub type ReusedImports = (Vec<Option<Symbol>>, reads::Reads);

/// [`ReusedImports`], borrowed from the index that resolved them.
pub type ResolvedImports<'a> = (&'a [Option<Symbol>], &'a reads::Reads);

/// How many directory levels above a file are considered as import roots.
const MAX_ROOT_DEPTH: usize = 12;

/// The order of the tables searched by name: by length, then by text. A search compares the
/// lengths (two integers) and only names of the searched length by their text.
fn by_length(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl ProjectIndex {
    pub fn new(files: Vec<ProjectFile>) -> Self {
        let file_count = files.len();
        let by_path = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.absolute.clone(), i as FileId))
            .collect();
        let mut modules = ModuleMap::default();
        for (id, file) in files.iter().enumerate() {
            modules.insert(&file.absolute, id as FileId);
        }
        let roots = files
            .iter()
            .map(|f| {
                Self::search_roots(f)
                    .iter()
                    .filter_map(|r| modules.root_id(r))
                    .collect()
            })
            .collect();
        ProjectIndex {
            files,
            by_path,
            modules,
            exists: Mutex::default(),
            outside: Mutex::default(),
            layout: Mutex::default(),
            roots,
            config: Recorded::default(),
            references: Recorded::default(),
            instance_args: OnceLock::new(),
            call_sites: OnceLock::new(),
            callees: OnceLock::new(),
            reused_callees: Mutex::default(),
            definitions: (0..file_count).map(|_| Recorded::default()).collect(),
            class_bases: (0..file_count).map(|_| Recorded::default()).collect(),
            imports_by_name: (0..file_count).map(|_| Recorded::default()).collect(),
            resolved_imports: (0..file_count).map(|_| Recorded::default()).collect(),
            imported: OnceLock::new(),
            importers: OnceLock::new(),
            attribute_ctors: OnceLock::new(),
        }
    }

    /// The file that is module `module` under import root `root`.
    fn module_file(&self, root: u32, module: &str) -> Option<FileId> {
        self.modules.get_by_id(root, module).copied()
    }

    /// A per-directory answer about the project layout (where losses live, ...), computed
    /// once: findings in one directory ask the same question many times. `asker`: the file
    /// asking, when the answer may depend on it (it is never its own answer); the other files
    /// of the directory share one answer, whichever of them asks first.
    pub fn memoized_layout(
        &self,
        dir: &Path,
        question: &'static str,
        asker: Option<&Path>,
        answer: impl FnOnce() -> String,
    ) -> String {
        let key = (dir.to_path_buf(), question, asker.map(Path::to_path_buf));
        if let Some(found) = self.layout.lock().expect("layout cache").get(&key) {
            return found.clone();
        }
        let value = answer();
        self.layout
            .lock()
            .expect("layout cache")
            .insert(key, value.clone());
        value
    }

    /// Memoised `path.exists()`.
    pub fn path_exists(&self, path: &Path) -> bool {
        let mut cache = self.exists.lock().expect("exists cache");
        *cache
            .entry(path.to_path_buf())
            .or_insert_with(|| path.exists())
    }

    /// Read a file that is not part of the project: `Ok(None)` if it does not exist. Recorded
    /// (see [`ProjectIndex::observations`]).
    pub fn read_outside(&self, path: &Path) -> Result<Option<String>, String> {
        let result = read_outside(path);
        self.outside
            .lock()
            .expect("outside cache")
            .insert(path.to_path_buf(), fingerprint(&result));
        result
    }

    /// What the project rules learnt from the file system so far: paths checked for
    /// existence (with the answer) and outside files read (with a fingerprint).
    pub fn observations(&self) -> Observations {
        let mut exists: Vec<(PathBuf, bool)> = self
            .exists
            .lock()
            .expect("exists cache")
            .iter()
            .map(|(p, e)| (p.clone(), *e))
            .collect();
        let mut outside: Vec<(PathBuf, u64)> = self
            .outside
            .lock()
            .expect("outside cache")
            .iter()
            .map(|(p, f)| (p.clone(), *f))
            .collect();
        exists.sort();
        outside.sort();
        (exists, outside)
    }

    /// Which declared command-line options are read anywhere in the project.
    pub fn config(&self) -> &ConfigIndex {
        self.config.get_or_init(|| ConfigIndex::compute(self))
    }

    /// Which components are referenced anywhere in the project.
    pub fn references(&self, roles: &Roles) -> &ReferenceIndex {
        self.references
            .get_or_init(|| ReferenceIndex::compute(self, roles))
    }

    /// Which instances the project's calls hand to which functions. (Its readers report
    /// their questions: see [`InstanceArgs::of`].)
    pub fn instance_args(&self) -> &InstanceArgs {
        self.instance_args
            .get_or_init(|| reads::hidden(|| InstanceArgs::compute(self)))
    }

    /// Report the question `question` makes to whoever records reads (see
    /// [`reads::query`]), with the fingerprint of its answer.
    pub(crate) fn ask(&self, question: impl FnOnce() -> Query) {
        reads::query(question, |query| self.answer(query));
    }

    /// A fingerprint of the answer to `query` (see [`reads::Query`]).
    pub fn answer(&self, query: &Query) -> u64 {
        use std::hash::{Hash, Hasher};
        reads::hidden(|| {
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            match query {
                Query::CallSites(file, function) => {
                    for site in self
                        .call_sites_table()
                        .of(self.scope_callees(), *file, *function)
                        .iter()
                    {
                        site.hash(&mut hasher);
                    }
                }
                Query::Forwarded(file, function) => {
                    self.call_sites_table()
                        .forwarded_to(*file, *function)
                        .hash(&mut hasher);
                }
                Query::InstanceArgs(file, function) => {
                    self.instance_args()
                        .handed_to(*file, *function)
                        .hash(&mut hasher);
                }
                Query::AttributesBuiltBy(name) => self.attribute_ctors(name).hash(&mut hasher),
                Query::ImportSpellings(file) => {
                    self.importers_spell().get(file).hash(&mut hasher);
                }
                Query::Importers(file) => self.importers_table().get(file).hash(&mut hasher),
            }
            hasher.finish()
        })
    }

    /// Use the calls an earlier run resolved for some files (`per_file`, in index order:
    /// each file's scopes' calls and what resolving them read) instead of resolving them
    /// again. The caller vouches that none of what they read changed (same project files,
    /// same keys of every file read, no question asked). Call it before the callee table is
    /// built; later, it has no effect.
    pub fn reuse_callees(&self, per_file: Vec<Option<ReusedCallees>>) {
        if self.callees.get().is_none() {
            *self.reused_callees.lock().expect("callees") = per_file;
        }
    }

    /// Use what an earlier run resolved each module-level import of some files to
    /// (`per_file`, in index order, with what resolving them read) instead of resolving them
    /// again. The caller vouches that none of what they read changed (same project files, same
    /// keys of every file read, no question asked). A file whose imports are resolved already
    /// keeps them.
    pub fn reuse_resolved_imports(&self, per_file: Vec<Option<ReusedImports>>) {
        for (slot, reused) in self.resolved_imports.iter().zip(per_file) {
            if let Some((resolved, reads)) = reused {
                slot.seed(resolved, reads);
            }
        }
    }

    /// Per file, what its module-level imports resolved to in this run and what resolving
    /// them read, if they were resolved (reads nothing).
    pub fn resolved_imports_so_far(&self) -> Vec<Option<ResolvedImports<'_>>> {
        self.resolved_imports
            .iter()
            .map(|slot| {
                slot.peek()
                    .map(|(resolved, reads)| (resolved.as_slice(), reads))
            })
            .collect()
    }

    /// The callee table, if it was built (reads nothing).
    pub fn built_callees(&self) -> Option<&crate::semantic::calls::CalleeTable> {
        self.callees.get()
    }

    /// The project functions each scope of each file calls. Built in parallel: call it first
    /// outside the rules' parallel loop (the training model does, before any rule runs).
    pub fn scope_callees(&self) -> &crate::semantic::calls::CalleeTable {
        self.callees.get_or_init(|| {
            use rayon::prelude::*;
            let flow = crate::semantic::flow::Flow::new(self);
            // Each file's calls with what resolving them read: a reader of a file's calls
            // is charged with those reads (see `CalleeTable::of`).
            let mut reused = std::mem::take(&mut *self.reused_callees.lock().expect("callees"));
            reused.resize_with(self.files.len(), || None);
            let per_file: Vec<(Vec<Vec<crate::semantic::calls::ScopeCallee>>, reads::Reads)> =
                reused
                    .into_par_iter()
                    .enumerate()
                    .map(|(f, reused)| {
                        if let Some(reused) = reused {
                            return reused;
                        }
                        let f = f as FileId;
                        reads::recording(|| {
                            self.facts(f)
                                .scopes()
                                .map(|(function, scope)| {
                                    crate::semantic::calls::scope_callees(
                                        self, &flow, f, function, scope,
                                    )
                                })
                                .collect()
                        })
                    })
                    .collect();
            crate::semantic::calls::CalleeTable::new(per_file)
        })
    }

    /// Who calls each project function (built without charging anyone: its readers report
    /// their questions).
    fn call_sites_table(&self) -> &crate::semantic::calls::CallSites {
        self.call_sites
            .get_or_init(|| reads::hidden(|| crate::semantic::calls::CallSites::compute(self)))
    }

    /// The callers that hand `function` of `file` one of their own parameters: (caller,
    /// index of that instance argument in the caller's flow facts).
    pub fn forwarded_to(
        &self,
        file: FileId,
        function: FunctionId,
    ) -> &[crate::semantic::calls::Forward] {
        self.ask(|| Query::Forwarded(file, function));
        self.call_sites_table().forwarded_to(file, function)
    }

    /// The calls of project function `function` of `file`, across the project.
    pub fn call_sites_of(
        &self,
        file: FileId,
        function: FunctionId,
    ) -> crate::semantic::calls::SitesOf<'_> {
        self.ask(|| Query::CallSites(file, function));
        self.call_sites_table()
            .of(self.scope_callees(), file, function)
    }

    /// True if another file of the project imports from `file` by a name that spells the
    /// file's module (`from models import Net`, `import train`; an import that only reaches
    /// it through a package's re-export does not count).
    pub fn imported_by_another_file(&self, file: FileId) -> bool {
        self.ask(|| Query::ImportSpellings(file));
        self.importers_spell().contains_key(&file)
    }

    /// The module names other files of the project spell when they import from `file`
    /// (`utils.optim` for `from utils.optim import Optim` in a notebook one directory up), in
    /// the order of the importing files, each once.
    pub fn import_spellings(&self, file: FileId) -> &[String] {
        self.ask(|| Query::ImportSpellings(file));
        self.importers_spell().get(&file).map_or(&[], Vec::as_slice)
    }

    /// The other files of the project that import from `file` (`import model`, `from model
    /// import Net`, `from model import name_it_does_not_define`), in file order.
    pub fn importers_of(&self, file: FileId) -> &[FileId] {
        self.ask(|| Query::Importers(file));
        self.importers_table().get(&file).map_or(&[], Vec::as_slice)
    }

    fn importers_table(&self) -> &FxHashMap<FileId, Vec<FileId>> {
        self.importers.get_or_init(|| {
            reads::hidden(|| {
                let mut importers: FxHashMap<FileId, Vec<FileId>> = FxHashMap::default();
                for g in self.file_ids() {
                    for t in self.import_targets(g) {
                        importers.entry(t).or_default().push(g);
                    }
                }
                importers
            })
        })
    }

    fn importers_spell(&self) -> &FxHashMap<FileId, Vec<String>> {
        self.spellings(false)
    }

    /// The import spellings table, built on first use: by one thread (`parallel` false:
    /// inside the rules' parallel loop, where a table being built must not wait on a rule
    /// that asks for it), or with every core ([`ProjectIndex::prepare_import_spellings`]).
    fn spellings(&self, parallel: bool) -> &FxHashMap<FileId, Vec<String>> {
        use rayon::prelude::*;
        self.imported.get_or_init(|| {
            reads::hidden(|| {
                let per_file = |f: FileId| reads::hidden(|| self.spellings_by(f));
                let ids = 0..self.files.len() as FileId;
                let per_file: Vec<Vec<(FileId, String)>> = if parallel {
                    ids.into_par_iter().map(per_file).collect()
                } else {
                    ids.map(per_file).collect()
                };
                let mut imported: FxHashMap<FileId, Vec<String>> = FxHashMap::default();
                for (t, spelled) in per_file.into_iter().flatten() {
                    let known = imported.entry(t).or_default();
                    if !known.contains(&spelled) {
                        known.push(spelled);
                    }
                }
                imported
            })
        })
    }

    /// Build the import spellings table (and so resolve every file's imports) with every
    /// core. Call it outside the rules' parallel loop.
    pub fn prepare_import_spellings(&self) {
        self.spellings(true);
    }

    /// True if `file`'s module-level imports name `other` (the module, or a member of it).
    pub fn imports_file(&self, file: FileId, other: FileId) -> bool {
        self.import_targets(file).contains(&other)
    }

    /// The other files `file`'s module-level imports name (a module, or the file a member
    /// comes from), sorted, each once.
    fn import_targets(&self, file: FileId) -> Vec<FileId> {
        let mut targets: Vec<FileId> = Vec::new();
        let resolved = self.resolved_imports(file);
        for ((_, qualified), symbol) in self.facts(file).imports.iter().zip(resolved) {
            targets.extend(symbol.map(Symbol::file));
            if let Some(t) = self.import_module(file, qualified) {
                targets.push(t);
            }
        }
        targets.sort_unstable();
        targets.dedup();
        targets.retain(|&t| t != file);
        targets
    }

    /// How `file`'s module-level imports spell the other files they import from, in import
    /// order: (imported file, the module name as spelled up to that file's stem).
    fn spellings_by(&self, file: FileId) -> Vec<(FileId, String)> {
        let mut spellings = Vec::new();
        let resolved = self.resolved_imports(file);
        for ((_, qualified), &symbol) in self.facts(file).imports.iter().zip(resolved) {
            let Some(Symbol::Module(t) | Symbol::Class(t, _) | Symbol::Function(t, _)) = symbol
            else {
                continue;
            };
            if t == file {
                continue;
            }
            // The module's segments: all of them for the module, else without the member
            // imported from it.
            let members = usize::from(!matches!(symbol, Some(Symbol::Module(_))));
            let Some(stem) = self.file(t).path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let segments: Vec<&str> = qualified.split('.').collect();
            let module = &segments[..segments.len().saturating_sub(members)];
            let Some(end) = module.iter().rposition(|seg| *seg == stem) else {
                continue;
            };
            spellings.push((t, segments[..=end].join(".")));
        }
        spellings
    }

    /// What each module-level import of `file` resolves to (in the order of
    /// `FileFacts::imports`), resolved once per file for the indexes that follow imports.
    pub fn resolved_imports(&self, file: FileId) -> &[Option<Symbol>] {
        self.resolved_imports[file as usize].get_or_init(|| {
            self.facts(file)
                .imports
                .iter()
                .map(|(_, qualified)| self.resolve_qualified(file, qualified))
                .collect()
        })
    }

    /// The project module an import of `qualified` in `file` imports from (`a.b` of
    /// `from a.b import C`), if it is one. (Not memoised with the imports: few indexes ask,
    /// and from a package's own `__init__` it can mean searching every star import of the
    /// parent package.)
    pub fn import_module(&self, file: FileId, qualified: &str) -> Option<FileId> {
        let (module, _) = qualified.rsplit_once('.')?;
        match self.resolve_qualified(file, module)? {
            Symbol::Module(t) => Some(t),
            _ => None,
        }
    }

    /// The class attributes of the project built by a constructor named `name` (its last
    /// segment): (file, class, attribute index).
    pub fn attributes_built_by(&self, name: &str) -> &[(FileId, ClassId, u32)] {
        self.ask(|| Query::AttributesBuiltBy(name.to_string()));
        self.attribute_ctors(name)
    }

    fn attribute_ctors(&self, name: &str) -> &[(FileId, ClassId, u32)] {
        self.attribute_ctors
            .get_or_init(|| {
                reads::hidden(|| {
                    let mut by_name = AttributeCtors::default();
                    for f in self.file_ids() {
                        for (c, class) in self.facts(f).classes.iter().enumerate() {
                            for (a, attribute) in class.attributes.iter().enumerate() {
                                by_name
                                    .entry(attribute.ctor.name().to_string())
                                    .or_default()
                                    .push((f, c as ClassId, a as u32));
                            }
                        }
                    }
                    by_name
                })
            })
            .get(name)
            .map_or(&[], Vec::as_slice)
    }

    pub fn file(&self, id: FileId) -> &ProjectFile {
        reads::file(id);
        &self.files[id as usize]
    }

    pub fn facts(&self, id: FileId) -> &FileFacts {
        reads::file(id);
        &self.files[id as usize].facts
    }

    pub fn knowledge(&self, id: FileId) -> &Knowledge {
        reads::file(id);
        &self.files[id as usize].scope.knowledge
    }

    /// How many files the index holds (reads none of them).
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The files, for a new index (a benchmark that copies a project).
    pub fn into_files(self) -> Vec<ProjectFile> {
        self.files
    }

    /// Every file: a read of all of them.
    pub fn all_files(&self) -> &[ProjectFile] {
        reads::all();
        &self.files
    }

    /// Every file's id: for a computation that reads all of them.
    pub fn file_ids(&self) -> std::ops::Range<FileId> {
        reads::all();
        0..self.files.len() as FileId
    }

    pub fn file_by_path(&self, absolute: &Path) -> Option<FileId> {
        self.by_path.get(absolute).copied()
    }

    /// Directories in which `from` looks up absolute imports, most specific first: its own
    /// directory (scripts), the parent of its top-level package, the configured `src` roots,
    /// and the configuration root.
    pub fn search_roots(file: &ProjectFile) -> Vec<PathBuf> {
        Self::roots_for(&file.absolute, file.facts.package.as_deref(), &file.scope)
    }

    /// [`ProjectIndex::search_roots`] from the parts, for files not yet in an index.
    pub fn roots_for(absolute: &Path, package: Option<&str>, scope: &FileScope) -> Vec<PathBuf> {
        let mut roots = Vec::new();
        if let Some(dir) = absolute.parent() {
            roots.push(dir.to_path_buf());
            if let Some(package) = package {
                let depth = package.split('.').count();
                let top = dir.ancestors().nth(depth).map(Path::to_path_buf);
                roots.extend(top);
            }
        }
        roots.extend(scope.src.iter().cloned());
        roots.push(scope.root.clone());
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
        if depth > 8 {
            return None;
        }
        let roots = &self.roots[from as usize];
        // A library's name (`datasets`) is the project's own package when the project has one
        // by that name where this file imports from: the local package shadows the library.
        if self
            .knowledge(from)
            .is_external_from(qualified, self.facts(from).package.as_deref())
        {
            let head = qualified.split('.').next().unwrap_or(qualified);
            if !roots
                .iter()
                .any(|&root| self.module_file(root, head).is_some())
            {
                return None;
            }
        }
        // The longest module prefix under any root (the earlier root on a tie); the file
        // itself is not what its own name resolves to.
        let (end, &file) = self
            .modules
            .longest_prefix(roots, qualified, |end, &file| {
                file == from && end == qualified.len()
            })?;
        if end == qualified.len() {
            return Some(Symbol::Module(file));
        }
        let rest = &qualified[end + 1..];
        match rest.split_once('.') {
            None => self.member(file, rest, depth + 1),
            Some((class, method)) if !method.contains('.') => {
                match self.member(file, class, depth + 1)? {
                    Symbol::Class(f, c) => self
                        .facts(f)
                        .method(c, method)
                        .map(|(id, _)| Symbol::Function(f, id)),
                    _ => None,
                }
            }
            Some(_) => None,
        }
    }

    /// A module-level name of a file: a class, a function, or an imported name (re-export).
    pub fn member(&self, file: FileId, name: &str, depth: u8) -> Option<Symbol> {
        if let Some(symbol) = self.definition(file, name) {
            return Some(symbol);
        }
        if let Some(target) = self.import_target(file, name) {
            return self.resolve_qualified_depth(file, target, depth + 1);
        }
        // `from ops import *`: a name the file does not bind may come from there.
        if depth > 4 {
            return None;
        }
        self.imports_named(file, "*").find_map(|(_, module)| {
            self.resolve_qualified_depth(file, &format!("{module}.{name}"), depth + 1)
        })
    }

    /// The module-level class or function `name` of `file` (not an import). A class wins over
    /// a function of the same name, and the first definition over later ones, as
    /// `class_named` and `function_named` answer.
    pub fn definition(&self, file: FileId, name: &str) -> Option<Symbol> {
        let facts = self.facts(file);
        let definitions = self.definitions(file);
        let first =
            definitions.partition_point(|&s| by_length(self.symbol_name(facts, s), name).is_lt());
        // Sorted by name (its length first), classes before functions, definition order
        // within each: the first entry of the name is the answer (a file may define one name
        // hundreds of times).
        definitions
            .get(first)
            .copied()
            .filter(|&s| self.symbol_name(facts, s) == name)
    }

    /// What the module-level import of `name` in `file` binds (the later import when several
    /// bind it), as [`FileFacts::import_target`] answers, by binary search.
    pub fn import_target(&self, file: FileId, name: &str) -> Option<&str> {
        self.imports_named(file, name).next().map(|(_, q)| q)
    }

    /// The module-level imports of `file` that bind `name`, the later first.
    fn imports_named<'s, 'n>(
        &'s self,
        file: FileId,
        name: &'n str,
    ) -> impl Iterator<Item = (&'s str, &'s str)> + use<'s, 'n> {
        let imports = &self.facts(file).imports;
        let sorted = self.imports_by_name[file as usize].get_or_init(|| {
            let mut at: Vec<u32> = (0..imports.len() as u32).rev().collect();
            // Stable: for one name, the later import stays first.
            at.sort_by(|&a, &b| by_length(&imports[a as usize].0, &imports[b as usize].0));
            at
        });
        let first = sorted.partition_point(|&i| by_length(&imports[i as usize].0, name).is_lt());
        sorted[first..]
            .iter()
            .map(|&i| {
                (
                    imports[i as usize].0.as_str(),
                    imports[i as usize].1.as_str(),
                )
            })
            .take_while(move |(local, _)| *local == name)
    }

    fn symbol_name<'f>(&self, facts: &'f FileFacts, symbol: Symbol) -> &'f str {
        match symbol {
            Symbol::Class(_, c) => &facts.classes[c as usize].name,
            Symbol::Function(_, id) => &facts.functions[id as usize].name,
            Symbol::Module(_) => "",
        }
    }

    /// The project classes `class` of `file` names as its bases, in order (bases outside the
    /// project left out).
    pub fn project_bases(
        &self,
        file: FileId,
        class: ClassId,
    ) -> impl Iterator<Item = (FileId, ClassId)> + '_ {
        self.resolved_bases(file, class).iter().flatten().copied()
    }

    /// Resolve the bases of every class of the project ([`ProjectIndex::resolved_bases`]),
    /// file by file in parallel. Call it outside the rules' parallel loop.
    pub fn prepare_class_bases(&self) {
        use rayon::prelude::*;
        self.file_ids().into_par_iter().for_each(|file| {
            self.class_bases_of(file);
        });
    }

    /// Each base of `class` of `file`, in the order `ClassFacts::bases` lists them: the project
    /// class it names, if it names one. Resolved once per file.
    pub fn resolved_bases(&self, file: FileId, class: ClassId) -> &[Option<(FileId, ClassId)>] {
        self.class_bases_of(file)
            .get(class as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// The bases of every class of `file`, resolved on first use.
    fn class_bases_of(&self, file: FileId) -> &ClassBases {
        self.class_bases[file as usize].get_or_init(|| {
            self.facts(file)
                .classes
                .iter()
                .map(|c| {
                    c.bases
                        .iter()
                        .map(|base| match self.resolve_callee(file, base) {
                            Some(Symbol::Class(f, c)) => Some((f, c)),
                            _ => None,
                        })
                        .collect()
                })
                .collect()
        })
    }

    /// The module-level classes and functions of a file sorted by name (stably: definition
    /// order within a name), built on first use: resolution asks for them per call site, and a
    /// large file has thousands.
    fn definitions(&self, file: FileId) -> &[Symbol] {
        self.definitions[file as usize].get_or_init(|| {
            let facts = self.facts(file);
            let classes = facts
                .classes
                .iter()
                .enumerate()
                .filter(|(_, c)| c.enclosing_function.is_none() && !c.qualname.contains('.'))
                .map(|(id, _)| Symbol::Class(file, id as ClassId));
            let functions = facts
                .functions
                .iter()
                .enumerate()
                .filter(|(_, f)| f.class.is_none() && f.parent.is_none())
                .map(|(id, _)| Symbol::Function(file, id as FunctionId));
            // Classes first: stable sorting keeps them before the functions of their name.
            let mut symbols: Vec<Symbol> = classes.chain(functions).collect();
            symbols.sort_by(|&a, &b| {
                by_length(self.symbol_name(facts, a), self.symbol_name(facts, b))
            });
            symbols.shrink_to_fit();
            symbols
        })
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
                let target = self.import_target(file, head)?;
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

/// Every dotted prefix of a qualified name, longest first, with its number of segments:
/// `a.b.C` → (3, `a.b.C`), (2, `a.b`), (1, `a`). Slices, no allocation.
pub fn dotted_prefixes(qualified: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut segments = qualified.split('.').count();
    let mut next = Some(qualified.len());
    std::iter::from_fn(move || {
        let prefix = &qualified[..next?];
        next = prefix.rfind('.');
        segments -= 1;
        Some((segments + 1, prefix))
    })
}

/// Directory → dotted module name (relative to that directory) → value. Every ancestor
/// directory of every file (up to [`MAX_ROOT_DEPTH`] levels) is a potential import root, so
/// resolution needs no file system: `pkg/sub/mod.py` is `mod` under `pkg/sub/`, `sub.mod`
/// under `pkg/`, `pkg.sub.mod` above.
///
/// Kept as a tree of path segments (one node per directory and per module), not as every
/// dotted name under every ancestor: the names a project's files have under each of their
/// twelve possible roots took several megabytes on a large project, the tree a few hundred
/// kilobytes.
#[derive(Debug)]
pub struct ModuleMap<V> {
    /// Directory → its node (hashing a long path is done once per directory, not per lookup).
    dirs: FxHashMap<PathBuf, u32>,
    nodes: Vec<ModuleNode<V>>,
    /// How many values were inserted: the first of two files with the same module name wins.
    inserted: u32,
}

/// A directory or a module: the child segments below it, and the value of the module it is
/// (`name.py`) or of the package it is (`name/__init__.py`), each with its insertion order.
#[derive(Debug)]
struct ModuleNode<V> {
    children: FxHashMap<compact_str::CompactString, u32>,
    module: Option<(u32, V)>,
    package: Option<(u32, V)>,
}

impl<V> Default for ModuleMap<V> {
    fn default() -> Self {
        ModuleMap {
            dirs: FxHashMap::default(),
            nodes: Vec::new(),
            inserted: 0,
        }
    }
}

impl<V: Clone> ModuleMap<V> {
    /// The node of a directory, or of a module's path without its extension (`pkg/sub` is
    /// both the package directory and the module `pkg/sub.py`: one node).
    fn node(&mut self, path: &Path) -> u32 {
        if let Some(&id) = self.dirs.get(path) {
            return id;
        }
        self.nodes.push(ModuleNode {
            children: FxHashMap::default(),
            module: None,
            package: None,
        });
        let id = self.nodes.len() as u32 - 1;
        self.dirs.insert(path.to_path_buf(), id);
        id
    }

    pub fn insert(&mut self, absolute: &Path, value: V) {
        let Some(stem) = absolute.file_stem().and_then(|s| s.to_str()) else {
            return;
        };
        let Some(dir) = absolute.parent() else { return };
        // `a.b.py` is no module an import can name (`import a.b` is `a/b.py`).
        if stem.contains('.') {
            return;
        }
        let order = self.inserted;
        self.inserted += 1;
        let module_path;
        let (path, levels) = if stem == "__init__" {
            (dir, MAX_ROOT_DEPTH - 1)
        } else {
            module_path = dir.join(stem);
            (module_path.as_path(), MAX_ROOT_DEPTH)
        };
        let node = self.node(path);
        let slot = if stem == "__init__" {
            &mut self.nodes[node as usize].package
        } else {
            &mut self.nodes[node as usize].module
        };
        if slot.is_none() {
            *slot = Some((order, value));
        }
        // Link it to the directories above, as far as a root may be: a module `levels`
        // segments below it at most.
        let mut below = (node, path);
        for _ in 0..levels {
            let (Some(parent), Some(name)) = (
                below.1.parent(),
                below.1.file_name().and_then(|n| n.to_str()),
            ) else {
                break;
            };
            if name.contains('.') {
                break;
            }
            let parent_id = self.node(parent);
            self.nodes[parent_id as usize]
                .children
                .entry(name.into())
                .or_insert(below.0);
            below = (parent_id, parent);
        }
    }

    /// The id of a directory that holds modules, if any.
    pub fn root_id(&self, root: &Path) -> Option<u32> {
        self.dirs.get(root).copied()
    }

    pub fn get(&self, root: &Path, module: &str) -> Option<&V> {
        self.get_by_id(self.root_id(root)?, module)
    }

    pub fn get_by_id(&self, root: u32, module: &str) -> Option<&V> {
        let mut node = root;
        let mut segments = 0;
        for segment in module.split('.') {
            node = *self.nodes[node as usize].children.get(segment)?;
            segments += 1;
        }
        self.value_at(node, segments)
    }

    /// The value of the module or package a node is, reached `segments` segments below a
    /// root: a root is at most `MAX_ROOT_DEPTH` directories above a module's directory. Of a
    /// module and a package of the same name, the one inserted first.
    fn value_at(&self, node: u32, segments: usize) -> Option<&V> {
        let node = &self.nodes[node as usize];
        let module = node.module.as_ref().filter(|_| segments <= MAX_ROOT_DEPTH);
        let package = node.package.as_ref().filter(|_| segments < MAX_ROOT_DEPTH);
        match (module, package) {
            (Some(m), Some(p)) => Some(if m.0 < p.0 { &m.1 } else { &p.1 }),
            (Some((_, v)), None) | (None, Some((_, v))) => Some(v),
            (None, None) => None,
        }
    }

    /// The longest dotted prefix of `qualified` that is a module under one of `roots` (the
    /// earlier root when two have it), leaving out a prefix for which `skip(end, value)` holds:
    /// the byte length of the prefix, and its value. As trying every prefix, longest first,
    /// under every root in turn with [`ModuleMap::get_by_id`], but each root's path is walked
    /// once.
    pub fn longest_prefix(
        &self,
        roots: &[u32],
        qualified: &str,
        skip: impl Fn(usize, &V) -> bool,
    ) -> Option<(usize, &V)> {
        let mut best: Option<(usize, &V)> = None;
        for &root in roots {
            let mut node = root;
            let mut segments = 0;
            let mut start = 0;
            let mut found: Option<(usize, &V)> = None;
            loop {
                let end = qualified[start..]
                    .find('.')
                    .map_or(qualified.len(), |i| start + i);
                let Some(&child) = self.nodes[node as usize]
                    .children
                    .get(&qualified[start..end])
                else {
                    break;
                };
                node = child;
                segments += 1;
                if let Some(value) = self.value_at(node, segments)
                    && !skip(end, value)
                {
                    found = Some((end, value));
                }
                if end == qualified.len() {
                    break;
                }
                start = end + 1;
            }
            if let Some((end, value)) = found
                && best.is_none_or(|(longest, _)| end > longest)
            {
                best = Some((end, value));
                if end == qualified.len() {
                    break;
                }
            }
        }
        best
    }
}

/// Paths checked for existence (with the answer), and outside files read (with a fingerprint).
pub type Observations = (Vec<(PathBuf, bool)>, Vec<(PathBuf, u64)>);

/// Read a file outside the project: `Ok(None)` if it does not exist.
fn read_outside(path: &Path) -> Result<Option<String>, String> {
    if !path.exists() {
        return Ok(None);
    }
    crate::source::read_file(path)
        .map(Some)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A fingerprint of what reading an outside file gave.
fn fingerprint(result: &Result<Option<String>, String>) -> u64 {
    match result {
        Ok(None) => 0,
        Ok(Some(text)) => xxhash_rust::xxh3::xxh3_64(text.as_bytes()) | 1,
        Err(error) => (xxhash_rust::xxh3::xxh3_64(error.as_bytes()) & !1) | 2,
    }
}

/// True if reading `path` now gives what `fingerprint` recorded.
pub fn outside_unchanged(path: &Path, recorded: u64) -> bool {
    fingerprint(&read_outside(path)) == recorded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(files: &[&str]) -> ModuleMap<usize> {
        let mut map = ModuleMap::default();
        for (i, file) in files.iter().enumerate() {
            map.insert(Path::new(file), i);
        }
        map
    }

    #[test]
    fn a_module_is_named_from_each_directory_above_it() {
        let m = map(&[
            "/r/pkg/sub/mod.py",
            "/r/pkg/__init__.py",
            "/r/pkg/sub/__init__.py",
        ]);
        assert_eq!(m.get(Path::new("/r/pkg/sub"), "mod"), Some(&0));
        assert_eq!(m.get(Path::new("/r/pkg"), "sub.mod"), Some(&0));
        assert_eq!(m.get(Path::new("/r"), "pkg.sub.mod"), Some(&0));
        assert_eq!(m.get(Path::new("/"), "r.pkg.sub.mod"), Some(&0));
        assert_eq!(m.get(Path::new("/r"), "pkg"), Some(&1));
        assert_eq!(m.get(Path::new("/r"), "pkg.sub"), Some(&2));
        assert_eq!(m.get(Path::new("/r/pkg"), "sub"), Some(&2));
        // A package is no module of its own directory; no name is empty or partial.
        assert_eq!(m.get(Path::new("/r/pkg"), ""), None);
        assert_eq!(m.get(Path::new("/r"), "pkg.su"), None);
        assert_eq!(m.get(Path::new("/r"), "sub.mod"), None);
        let r = [m.root_id(Path::new("/r")).unwrap()];
        let longest = |q| m.longest_prefix(&r, q, |_, _| false);
        assert_eq!(longest("pkg.sub.mod.Class.method"), Some((11, &0)));
        assert_eq!(longest("pkg.other"), Some((3, &1)));
    }

    #[test]
    fn dotted_prefixes_are_every_prefix_longest_first() {
        fn all(q: &str) -> Vec<(usize, &str)> {
            dotted_prefixes(q).collect()
        }
        assert_eq!(all("a.b.C"), [(3, "a.b.C"), (2, "a.b"), (1, "a")]);
        assert_eq!(all("a"), [(1, "a")]);
        assert_eq!(all("a."), [(2, "a."), (1, "a")]);
        assert_eq!(all(""), [(1, "")]);
    }

    /// The longest prefix, found walking each root's path once, is the one trying every
    /// prefix (longest first) under every root in turn finds: the earlier root on a tie, and a
    /// skipped prefix gives way to a shorter one.
    #[test]
    fn the_longest_prefix_is_the_first_hit_of_every_prefix_under_every_root() {
        let m = map(&[
            "/r/pkg/__init__.py",
            "/r/pkg/sub/mod.py",
            "/r/pkg/sub/__init__.py",
            "/s/pkg/sub/__init__.py",
            "/s/pkg/sub/mod/__init__.py",
            "/s/pkg/sub/mod/deep.py",
            "/r/other.py",
        ]);
        let roots: Vec<u32> = ["/r", "/s", "/r/pkg", "/s/pkg"]
            .iter()
            .filter_map(|r| m.root_id(Path::new(r)))
            .collect();
        assert_eq!(roots.len(), 4);
        let names = [
            "pkg",
            "pkg.sub",
            "pkg.sub.mod",
            "pkg.sub.mod.deep",
            "pkg.sub.mod.deep.f",
            "pkg.sub.mod.C.m",
            "sub.mod",
            "sub.mod.deep",
            "other.x",
            "pkg.nothing.x",
            "x",
            "",
            "pkg.",
            ".pkg",
            "pkg..sub",
        ];
        for roots in [&roots[..], &roots[1..], &[roots[3], roots[2]], &[]] {
            for qualified in names {
                for skipped in [None, Some(1), Some(4)] {
                    let skip = |end: usize, value: &usize| {
                        Some(*value) == skipped && end == qualified.len()
                    };
                    let expected = dotted_prefixes(qualified).find_map(|(_, module)| {
                        roots.iter().find_map(|&root| {
                            m.get_by_id(root, module)
                                .filter(|v| !skip(module.len(), v))
                                .map(|v| (module.len(), v))
                        })
                    });
                    assert_eq!(
                        m.longest_prefix(roots, qualified, skip),
                        expected,
                        "{qualified} under {roots:?}, skipping {skipped:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_first_file_of_a_name_wins_and_a_dotted_file_name_is_no_module() {
        let m = map(&[
            "/r/a/b/__init__.py",
            "/r/a/b.py",
            "/r/a/c.py",
            "/r/a/c/__init__.py",
        ]);
        assert_eq!(m.get(Path::new("/r/a"), "b"), Some(&0));
        assert_eq!(m.get(Path::new("/r/a"), "c"), Some(&2));
        let m = map(&["/r/a/x.y.py"]);
        assert_eq!(m.get(Path::new("/r/a"), "x.y"), None);
    }

    #[test]
    fn a_root_is_at_most_twelve_directories_above_a_module() {
        let deep = "/d/1/2/3/4/5/6/7/8/9/10/11/12/13";
        let m = map(&[
            &format!("{deep}/m.py"),
            &format!("{deep}/__init__.py"),
            "/d/1/x.py",
        ]);
        // `m` is 12 segments below `/d/1/2`, 13 below `/d/1`.
        assert_eq!(
            m.get(Path::new("/d/1/2"), "3.4.5.6.7.8.9.10.11.12.13.m"),
            Some(&0)
        );
        assert_eq!(
            m.get(Path::new("/d/1"), "2.3.4.5.6.7.8.9.10.11.12.13.m"),
            None
        );
        // The package `13` is 11 segments below `/d/1/2`, 12 below `/d/1`.
        assert_eq!(
            m.get(Path::new("/d/1/2"), "3.4.5.6.7.8.9.10.11.12.13"),
            Some(&1)
        );
        assert_eq!(
            m.get(Path::new("/d/1"), "2.3.4.5.6.7.8.9.10.11.12.13"),
            None
        );
        assert_eq!(m.get(Path::new("/d/1"), "x"), Some(&2));
    }
}
