//! The semantic model of one file, built during the single tree walk and shared by every rule:
//! what each imported name means, which definitions enclose the current node, and how often each
//! module-level name is bound.

pub mod activation;
pub mod builder;
pub mod calls;
pub mod facts;
pub mod flow;
pub mod imports;
pub mod index;
mod loss_expr;
pub mod modes;
pub mod parse;
pub mod queries;
pub mod ranges;
pub mod reads;
pub mod roles;
pub(crate) mod signature;
pub mod training;
pub mod usage;
pub mod verdict;
pub mod view;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};

pub use facts::{FileFacts, Role};
pub use imports::ImportMap;

/// An enclosing definition or loop of the node being visited.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    Class(&'a ast::StmtClassDef),
    Function(&'a ast::StmtFunctionDef),
    Loop(&'a Stmt),
}

/// How a module-level name is bound across the whole file.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModuleBinding<'a> {
    /// Number of binding sites (assignments, imports, `global` writes, loop targets, ...).
    pub count: u32,
    /// The value of the first binding when it is a plain `NAME = <expr>` at module level.
    pub first_value: Option<&'a Expr>,
}

/// The per-file semantic state. Complete for the whole file once the walk has finished; during
/// the walk, imports and bindings are known up to the current node.
#[derive(Debug, Default)]
pub struct Semantic<'a> {
    /// The dotted package that contains the file (for relative imports), if known.
    pub package: Option<String>,
    pub imports: ImportMap,
    /// Import bindings made at module level (local name → qualified), in order: what other
    /// files can import from this one (re-exports).
    pub module_imports: Vec<(String, String)>,
    frames: Vec<Frame<'a>>,
    /// Every binding site of the file, in walk order.
    bindings: Vec<Binding<'a>>,
    /// The binding sites of each name (indices into `bindings`). Queries run per call site
    /// (`print`, `sum`, ...), so scanning `bindings` made a file with thousands of them
    /// quadratic.
    by_name: rustc_hash::FxHashMap<&'a str, Vec<u32>>,
}

/// One binding site.
#[derive(Debug, Clone, Copy)]
struct Binding<'a> {
    name: &'a str,
    /// The function whose local scope it binds in; `None` for module level (and `global`).
    function: Option<TextSize>,
    /// The assigned value, for a plain `NAME = <expr>` at module level.
    value: Option<&'a Expr>,
}

impl<'a> Semantic<'a> {
    pub fn new(package: Option<String>) -> Self {
        Semantic {
            package,
            ..Default::default()
        }
    }

    pub fn frames(&self) -> &[Frame<'a>] {
        &self.frames
    }

    pub fn push_frame(&mut self, frame: Frame<'a>) {
        self.frames.push(frame);
    }

    pub fn pop_frame(&mut self) {
        self.frames.pop();
    }

    /// True at module level (possibly inside module-level `if`/`for`/`with`/`try`).
    pub fn at_module_level(&self) -> bool {
        !self
            .frames
            .iter()
            .any(|f| matches!(f, Frame::Class(_) | Frame::Function(_)))
    }

    /// The innermost enclosing function, if any.
    pub fn current_function(&self) -> Option<&'a ast::StmtFunctionDef> {
        self.frames.iter().rev().find_map(|f| match f {
            Frame::Function(def) => Some(*def),
            _ => None,
        })
    }

    /// The class whose body directly holds the innermost function (i.e. the method's class).
    pub fn current_class(&self) -> Option<&'a ast::StmtClassDef> {
        let mut frames = self
            .frames
            .iter()
            .rev()
            .filter(|f| !matches!(f, Frame::Loop(_)));
        match frames.next()? {
            Frame::Class(class) => Some(*class),
            Frame::Function(_) => match frames.next()? {
                Frame::Class(class) => Some(*class),
                _ => None,
            },
            Frame::Loop(_) => None,
        }
    }

    /// True inside a loop of the current function (or of the module, at module level).
    pub fn in_loop(&self) -> bool {
        matches!(self.frames.last(), Some(Frame::Loop(_)))
    }

    /// Resolve a dotted expression through the imports (`nn.Linear` → `torch.nn.Linear`).
    pub fn resolve(&self, expr: &Expr) -> Option<String> {
        self.imports.resolve(expr)
    }

    /// True if [`Semantic::resolve`] gives a qualified name for `expr` (allocates nothing).
    pub fn resolves(&self, expr: &Expr) -> bool {
        self.imports.resolves(expr)
    }

    /// True if `name` refers to the Python builtin of that name: it is neither imported nor
    /// bound anywhere in the file. Exact once the walk has finished.
    pub fn is_builtin(&self, name: &str) -> bool {
        !self.imports.contains(name) && !self.by_name.contains_key(name)
    }

    /// How `name` is bound at module level (including `global` writes from functions).
    pub fn module_binding(&self, name: &str) -> Option<ModuleBinding<'a>> {
        let mut found: Option<ModuleBinding<'a>> = None;
        for binding in self.bindings_of(name).filter(|b| b.function.is_none()) {
            let entry = found.get_or_insert(ModuleBinding {
                count: 0,
                first_value: binding.value,
            });
            entry.count += 1;
        }
        found
    }

    /// The values of every module-level binding of `name`, in walk order (`None` where the
    /// binding is not a plain `NAME = <expr>`).
    pub fn module_values(&self, name: &str) -> Vec<Option<&'a Expr>> {
        self.bindings_of(name)
            .filter(|b| b.function.is_none())
            .map(|b| b.value)
            .collect()
    }

    /// Record the names a statement binds. Called once per statement, before its children.
    pub fn record_bindings(&mut self, stmt: &'a Stmt) {
        let module_level = self.at_module_level();
        match stmt {
            Stmt::Assign(ast::StmtAssign { targets, value, .. }) => {
                let single = targets.len() == 1;
                // `K = keras.backend`, `F = nn.functional`: a module-level alias of an imported
                // module or member resolves like an import.
                if module_level
                    && single
                    && let Expr::Name(alias) = &targets[0]
                    && value.is_attribute_expr()
                    && let Some(target) = self.imports.resolve(value)
                {
                    self.imports.add_alias(alias.id.as_str(), target);
                }
                for target in targets {
                    let value = if single && target.is_name_expr() {
                        Some(&**value)
                    } else {
                        None
                    };
                    self.bind_target(target, module_level, value);
                }
            }
            Stmt::AnnAssign(ast::StmtAnnAssign {
                target,
                value: Some(value),
                ..
            }) => {
                self.bind_target(target, module_level, Some(value));
            }
            Stmt::AugAssign(ast::StmtAugAssign { target, .. }) => {
                self.bind_target(target, module_level, None);
            }
            Stmt::For(ast::StmtFor { target, .. }) => self.bind_target(target, module_level, None),
            Stmt::With(ast::StmtWith { items, .. }) => {
                for item in items {
                    if let Some(vars) = &item.optional_vars {
                        self.bind_target(vars, module_level, None);
                    }
                }
            }
            Stmt::Delete(ast::StmtDelete { targets, .. }) => {
                for target in targets {
                    self.bind_target(target, module_level, None);
                }
            }
            Stmt::FunctionDef(def) => {
                self.bind_name(def.name.as_str(), module_level, None);
                for param in def.parameters.iter() {
                    let name = param.name().as_str();
                    self.record(Binding {
                        name,
                        function: Some(def.start()),
                        value: None,
                    });
                }
            }
            Stmt::ClassDef(class) => self.bind_name(class.name.as_str(), module_level, None),
            Stmt::Import(import) => {
                for alias in &import.names {
                    let local = match &alias.asname {
                        Some(asname) => asname.as_str(),
                        None => alias.name.as_str().split('.').next().unwrap_or_default(),
                    };
                    self.bind_name(local, module_level, None);
                }
                let added = self.imports.add_import(import);
                if module_level {
                    self.module_imports.extend(added);
                }
            }
            Stmt::ImportFrom(import) => {
                for alias in &import.names {
                    let local = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    self.bind_name(local, module_level, None);
                }
                let added = self
                    .imports
                    .add_import_from(import, self.package.as_deref());
                if module_level {
                    self.module_imports.extend(added);
                }
            }
            // `global X` inside a function means later writes rebind the module's `X`.
            Stmt::Global(ast::StmtGlobal { names, .. }) => {
                for name in names {
                    self.bind_name(name.as_str(), true, None);
                }
            }
            Stmt::Try(ast::StmtTry { handlers, .. }) => {
                for handler in handlers {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    if let Some(name) = &handler.name {
                        self.bind_name(name.as_str(), module_level, None);
                    }
                }
            }
            _ => {}
        }
    }

    /// Record a walrus binding (`(x := ...)`).
    pub fn record_named_expr(&mut self, target: &'a Expr) {
        let module_level = self.at_module_level();
        self.bind_target(target, module_level, None);
    }

    fn bind_target(&mut self, target: &'a Expr, module_level: bool, value: Option<&'a Expr>) {
        match target {
            Expr::Name(name) => self.bind_name(name.id.as_str(), module_level, value),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for elt in elts {
                    self.bind_target(elt, module_level, None);
                }
            }
            Expr::Starred(ast::ExprStarred { value, .. }) => {
                self.bind_target(value, module_level, None)
            }
            _ => {}
        }
    }

    fn bind_name(&mut self, name: &'a str, module_level: bool, value: Option<&'a Expr>) {
        let function = if module_level {
            None
        } else {
            self.current_function().map(|f| f.start())
        };
        // Class-level bindings (no enclosing function) are not module bindings.
        if !module_level && function.is_none() {
            self.record(Binding {
                name,
                function: Some(TextSize::new(u32::MAX)),
                value: None,
            });
            return;
        }
        self.record(Binding {
            name,
            function,
            value: if module_level { value } else { None },
        });
    }

    fn record(&mut self, binding: Binding<'a>) {
        let index = u32::try_from(self.bindings.len()).unwrap_or(u32::MAX);
        self.by_name.entry(binding.name).or_default().push(index);
        self.bindings.push(binding);
    }

    /// The binding sites of `name`, in walk order.
    fn bindings_of(&self, name: &str) -> impl Iterator<Item = &Binding<'a>> {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.bindings.get(i as usize))
    }
}

impl Semantic<'_> {
    /// The start offsets of the enclosing functions, innermost last (a stable key for a scope
    /// that outlives the walk).
    pub fn enclosing_functions(&self) -> Vec<TextSize> {
        self.frames
            .iter()
            .filter_map(|f| match f {
                Frame::Function(def) => Some(def.start()),
                _ => None,
            })
            .collect()
    }

    /// True if the function starting at `function` binds `name` locally (parameter, assignment,
    /// loop target, import, ...). Exact once the walk has finished.
    pub fn binds_locally(&self, function: TextSize, name: &str) -> bool {
        self.bindings_of(name).any(|b| b.function == Some(function))
    }
}
