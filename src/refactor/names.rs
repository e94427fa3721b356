//! Which names a piece of code reads and binds, as Python scopes them: the free variables of
//! code that is moved into a new function are its parameters (or imports, or builtins), and
//! the names it binds that code after it reads are its outputs.
//!
//! The analysis is flow-sensitive where it matters for extraction: a name is *free* if it is
//! read where it is not definitely bound yet (a branch that binds it only sometimes does not
//! count), and lambdas and comprehensions keep their own variables.

use std::collections::BTreeSet;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, ExprContext, Stmt};
use ruff_text_size::{Ranged, TextRange};

/// What a block of statements does with names.
#[derive(Debug, Default, Clone)]
pub struct Usage {
    /// Names read where they are not definitely bound by the block, in first-read order.
    pub free: Vec<String>,
    /// Every name read (outside nested scopes that bind it).
    pub reads: BTreeSet<String>,
    /// Every name the block may bind.
    pub bound: BTreeSet<String>,
    /// Names bound on every path through the block.
    pub definite: BTreeSet<String>,
    /// Every occurrence of a name of the block's scope (read or bound), for renaming.
    pub occurrences: Vec<(String, TextRange)>,
    /// Why the block cannot be moved into a function of its own, if it cannot.
    pub unsupported: Option<&'static str>,
}

/// A [`Usage`] with its occurrences grouped by name, for the queries made per finding.
#[derive(Debug)]
pub struct Indexed {
    pub usage: Usage,
    by_name: rustc_hash::FxHashMap<String, Vec<TextRange>>,
}

impl Indexed {
    pub fn new(usage: Usage) -> Self {
        let mut by_name: rustc_hash::FxHashMap<String, Vec<TextRange>> = Default::default();
        for (name, range) in &usage.occurrences {
            by_name.entry(name.clone()).or_default().push(*range);
        }
        Indexed { usage, by_name }
    }

    /// Every occurrence of `name` in the block's scope.
    pub fn occurrences_of(&self, name: &str) -> &[TextRange] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Analyse `stmts` as code of one function body, in order. `bound` are names already bound
/// before it (parameters).
pub fn analyze<'a>(stmts: impl IntoIterator<Item = &'a Stmt>, bound: &[&str]) -> Usage {
    let mut analyzer = Analyzer {
        usage: Usage::default(),
        definite: Definite::new(bound.iter().map(|s| s.to_string()).collect()),
        free_seen: BTreeSet::new(),
        nested: Vec::new(),
        loops: 0,
        allow_return: false,
        skip: None,
    };
    for stmt in stmts {
        analyzer.stmt(stmt);
    }
    analyzer.usage.definite = analyzer.definite.set;
    analyzer.usage
}

/// Analyse one statement, leaving out the expression at `skip` (it is moved elsewhere).
pub fn analyze_except(stmt: &Stmt, skip: Option<TextRange>) -> Usage {
    let mut analyzer = Analyzer {
        usage: Usage::default(),
        definite: Definite::default(),
        free_seen: BTreeSet::new(),
        nested: Vec::new(),
        loops: 0,
        allow_return: true,
        skip,
    };
    analyzer.stmt(stmt);
    analyzer.usage.definite = analyzer.definite.set;
    analyzer.usage
}

/// Analyse an expression evaluated after the statements of `usage` (e.g. a moved `return`
/// value), adding to it.
pub fn analyze_expr(usage: &mut Usage, expr: &Expr) {
    let mut analyzer = Analyzer {
        usage: std::mem::take(usage),
        definite: Definite::default(),
        free_seen: BTreeSet::new(),
        nested: Vec::new(),
        loops: 0,
        allow_return: false,
        skip: None,
    };
    analyzer.definite = Definite::new(analyzer.usage.definite.clone());
    analyzer.free_seen = analyzer.usage.free.iter().cloned().collect();
    analyzer.expr(expr);
    analyzer.usage.definite = analyzer.definite.set;
    *usage = analyzer.usage;
}

/// The definitely-bound names, with an undo journal: a branch is walked and rolled back
/// without copying the set (copying it per `if` made a module of thousands of them
/// quadratic).
#[derive(Default)]
struct Definite {
    set: BTreeSet<String>,
    /// Each change since the start: the name, and whether it was bound before the change.
    journal: Vec<(String, bool)>,
}

/// What a branch did to the definitely-bound names.
#[derive(Default)]
struct Delta {
    added: BTreeSet<String>,
    removed: BTreeSet<String>,
}

impl Definite {
    fn new(set: BTreeSet<String>) -> Self {
        Definite {
            set,
            journal: Vec::new(),
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.set.contains(name)
    }

    fn insert(&mut self, name: &str) {
        if !self.set.contains(name) {
            self.set.insert(name.to_string());
            self.journal.push((name.to_string(), false));
        }
    }

    fn remove(&mut self, name: &str) {
        if self.set.remove(name) {
            self.journal.push((name.to_string(), true));
        }
    }

    fn mark(&self) -> usize {
        self.journal.len()
    }

    /// Undo every change since `mark` and return their net effect.
    fn rollback(&mut self, mark: usize) -> Delta {
        let touched: BTreeSet<String> = self.journal[mark..]
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        let after: BTreeSet<String> = touched
            .iter()
            .filter(|n| self.set.contains(*n))
            .cloned()
            .collect();
        while self.journal.len() > mark {
            let Some((name, was)) = self.journal.pop() else {
                break;
            };
            if was {
                self.set.insert(name);
            } else {
                self.set.remove(&name);
            }
        }
        let mut delta = Delta::default();
        for name in touched {
            match (self.set.contains(&name), after.contains(&name)) {
                (false, true) => {
                    delta.added.insert(name);
                }
                (true, false) => {
                    delta.removed.insert(name);
                }
                _ => {}
            }
        }
        delta
    }
}

struct Analyzer {
    usage: Usage,
    definite: Definite,
    /// The names in `usage.free`, for a constant-time membership test.
    free_seen: BTreeSet<String>,
    /// Names local to the lambdas and comprehensions being walked (innermost last).
    nested: Vec<BTreeSet<String>>,
    loops: usize,
    allow_return: bool,
    skip: Option<TextRange>,
}

impl Analyzer {
    fn unsupported(&mut self, why: &'static str) {
        self.usage.unsupported.get_or_insert(why);
    }

    fn read(&mut self, name: &str, range: TextRange) {
        if self.nested.iter().any(|scope| scope.contains(name)) {
            return;
        }
        self.usage.occurrences.push((name.to_string(), range));
        self.usage.reads.insert(name.to_string());
        if !self.definite.contains(name) && self.free_seen.insert(name.to_string()) {
            self.usage.free.push(name.to_string());
        }
    }

    fn bind(&mut self, name: &str, range: TextRange) {
        if let Some(scope) = self.nested.last_mut() {
            scope.insert(name.to_string());
            return;
        }
        self.usage.occurrences.push((name.to_string(), range));
        self.usage.bound.insert(name.to_string());
        self.definite.insert(name);
    }

    fn body(&mut self, stmts: &[Stmt]) {
        for stmt in stmts {
            self.stmt(stmt);
        }
    }

    /// Run `f` as a branch that may not be taken: its bindings are rolled back afterwards;
    /// returns what it bound and unbound.
    fn branch(&mut self, f: impl FnOnce(&mut Self)) -> Delta {
        let mark = self.definite.mark();
        f(self);
        self.definite.rollback(mark)
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Assign(s) => {
                self.expr(&s.value);
                for target in &s.targets {
                    self.target(target);
                }
            }
            Stmt::AugAssign(s) => {
                // `x += v` reads `x` first.
                self.load_target(&s.target);
                self.expr(&s.value);
                self.target(&s.target);
            }
            Stmt::AnnAssign(s) => {
                if let Some(value) = &s.value {
                    self.expr(value);
                    self.target(&s.target);
                }
            }
            Stmt::Expr(s) => self.expr(&s.value),
            Stmt::Pass(_) => {}
            Stmt::Break(_) | Stmt::Continue(_) => {
                if self.loops == 0 {
                    self.unsupported("`break`/`continue` outside the moved loop");
                }
            }
            Stmt::Return(s) => {
                if !self.allow_return {
                    self.unsupported("a `return` in the moved code");
                }
                if let Some(value) = &s.value {
                    self.expr(value);
                }
            }
            Stmt::Raise(s) => {
                if let Some(exc) = &s.exc {
                    self.expr(exc);
                }
                if let Some(cause) = &s.cause {
                    self.expr(cause);
                }
            }
            Stmt::Assert(s) => {
                self.expr(&s.test);
                if let Some(msg) = &s.msg {
                    self.expr(msg);
                }
            }
            Stmt::Delete(s) => {
                for target in &s.targets {
                    self.load_target(target);
                    if let Expr::Name(name) = target {
                        self.definite.remove(name.id.as_str());
                    }
                }
            }
            Stmt::If(s) => {
                self.expr(&s.test);
                // With an `else`, a name is bound after the `if` when every branch binds it, and
                // unbound when any branch deletes it.
                let first = self.branch(|a| a.body(&s.body));
                let mut added = first.added;
                let mut removed = first.removed;
                let mut has_else = false;
                for clause in &s.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.expr(test);
                    } else {
                        has_else = true;
                    }
                    let delta = self.branch(|a| a.body(&clause.body));
                    added.retain(|n| delta.added.contains(n));
                    removed.extend(delta.removed);
                }
                if has_else {
                    for name in &removed {
                        self.definite.remove(name);
                    }
                    for name in &added {
                        self.definite.insert(name);
                    }
                }
            }
            Stmt::For(s) => {
                self.expr(&s.iter);
                self.branch(|a| {
                    a.loops += 1;
                    a.target(&s.target);
                    a.body(&s.body);
                    a.loops -= 1;
                });
                self.branch(|a| a.body(&s.orelse));
            }
            Stmt::While(s) => {
                self.expr(&s.test);
                self.branch(|a| {
                    a.loops += 1;
                    a.body(&s.body);
                    a.loops -= 1;
                });
                self.branch(|a| a.body(&s.orelse));
            }
            Stmt::With(s) => {
                if s.is_async {
                    self.unsupported("`async with`");
                }
                for item in &s.items {
                    self.expr(&item.context_expr);
                    if let Some(vars) = &item.optional_vars {
                        self.target(vars);
                    }
                }
                self.body(&s.body);
            }
            Stmt::Try(s) => {
                self.branch(|a| a.body(&s.body));
                for handler in &s.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = handler;
                    if let Some(kind) = &h.type_ {
                        self.expr(kind);
                    }
                    self.branch(|a| {
                        if let Some(name) = &h.name {
                            a.bind(name.as_str(), name.range());
                        }
                        a.body(&h.body);
                    });
                }
                self.branch(|a| a.body(&s.orelse));
                self.body(&s.finalbody);
            }
            Stmt::Import(s) => {
                for alias in &s.names {
                    let bound = alias.asname.as_ref().map_or_else(
                        || alias.name.as_str().split('.').next().unwrap_or_default(),
                        |a| a.as_str(),
                    );
                    self.bind(bound, alias.range());
                }
            }
            Stmt::ImportFrom(s) => {
                for alias in &s.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    if bound.as_str() == "*" {
                        self.unsupported("a star import");
                    }
                    self.bind(bound.as_str(), alias.range());
                }
            }
            Stmt::FunctionDef(def) => {
                self.unsupported("a nested function definition");
                for decorator in &def.decorator_list {
                    self.expr(&decorator.expression);
                }
                // Closures read the enclosing scope: count the body's names as reads.
                let params: BTreeSet<String> = def
                    .parameters
                    .iter()
                    .map(|p| p.name().to_string())
                    .collect();
                self.nested.push(params);
                self.body(&def.body);
                self.nested.pop();
                self.bind(def.name.as_str(), def.name.range());
            }
            Stmt::ClassDef(class) => {
                self.unsupported("a nested class definition");
                self.bind(class.name.as_str(), class.name.range());
            }
            Stmt::Global(_) | Stmt::Nonlocal(_) => {
                self.unsupported("a `global`/`nonlocal` declaration");
            }
            // Each case may run or not: what its pattern binds is bound on no definite path.
            Stmt::Match(s) => {
                self.expr(&s.subject);
                for case in &s.cases {
                    self.branch(|a| {
                        a.pattern(&case.pattern);
                        if let Some(guard) = &case.guard {
                            a.expr(guard);
                        }
                        a.body(&case.body);
                    });
                }
            }
            _ => self.unsupported("a statement dllint does not move"),
        }
    }

    /// The names a `case` pattern binds (`case Point(x=px)`, `case [first, *rest]`) and reads
    /// (`case Color.RED`, the class of a class pattern).
    fn pattern(&mut self, pattern: &ast::Pattern) {
        use ast::Pattern;
        match pattern {
            Pattern::MatchValue(p) => self.expr(&p.value),
            Pattern::MatchSingleton(_) => {}
            Pattern::MatchSequence(p) => p.patterns.iter().for_each(|p| self.pattern(p)),
            Pattern::MatchMapping(p) => {
                p.keys.iter().for_each(|k| self.expr(k));
                p.patterns.iter().for_each(|p| self.pattern(p));
                if let Some(rest) = &p.rest {
                    self.bind(rest.as_str(), rest.range());
                }
            }
            Pattern::MatchClass(p) => {
                self.expr(&p.cls);
                p.arguments.patterns.iter().for_each(|p| self.pattern(p));
                p.arguments
                    .keywords
                    .iter()
                    .for_each(|k| self.pattern(&k.pattern));
            }
            Pattern::MatchStar(p) => {
                if let Some(name) = &p.name {
                    self.bind(name.as_str(), name.range());
                }
            }
            Pattern::MatchAs(p) => {
                if let Some(inner) = &p.pattern {
                    self.pattern(inner);
                }
                if let Some(name) = &p.name {
                    self.bind(name.as_str(), name.range());
                }
            }
            Pattern::MatchOr(p) => p.patterns.iter().for_each(|p| self.pattern(p)),
        }
    }

    /// The names a target reads (`a[i] = ...` reads `a` and `i`) and binds.
    fn target(&mut self, target: &Expr) {
        match target {
            Expr::Name(name) => self.bind(name.id.as_str(), name.range),
            Expr::Tuple(t) => t.elts.iter().for_each(|e| self.target(e)),
            Expr::List(l) => l.elts.iter().for_each(|e| self.target(e)),
            Expr::Starred(s) => self.target(&s.value),
            Expr::Attribute(a) => self.expr(&a.value),
            Expr::Subscript(s) => {
                self.expr(&s.value);
                self.expr(&s.slice);
            }
            other => self.expr(other),
        }
    }

    /// A target read as a value (`x` in `x += 1`, `del x`).
    fn load_target(&mut self, target: &Expr) {
        match target {
            Expr::Name(name) => self.read(name.id.as_str(), name.range),
            other => self.expr(other),
        }
    }

    fn expr(&mut self, expr: &Expr) {
        if self.skip.is_some_and(|s| s == expr.range()) {
            return;
        }
        Visitor::visit_expr(self, expr);
    }

    fn comprehension(&mut self, generators: &[ast::Comprehension], elts: &[&Expr]) {
        // The first iterable is evaluated in the enclosing scope.
        if let Some(first) = generators.first() {
            self.expr(&first.iter);
        }
        self.nested.push(BTreeSet::new());
        for (i, generator) in generators.iter().enumerate() {
            if i > 0 {
                self.expr(&generator.iter);
            }
            self.comprehension_target(&generator.target);
            for condition in &generator.ifs {
                self.expr(condition);
            }
        }
        for elt in elts {
            self.expr(elt);
        }
        self.nested.pop();
    }

    fn comprehension_target(&mut self, target: &Expr) {
        match target {
            Expr::Name(name) => {
                if let Some(scope) = self.nested.last_mut() {
                    scope.insert(name.id.to_string());
                }
            }
            Expr::Tuple(t) => t.elts.iter().for_each(|e| self.comprehension_target(e)),
            Expr::List(l) => l.elts.iter().for_each(|e| self.comprehension_target(e)),
            Expr::Starred(s) => self.comprehension_target(&s.value),
            other => self.expr(other),
        }
    }
}

impl<'a> Visitor<'a> for Analyzer {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.skip.is_some_and(|s| s == expr.range()) {
            return;
        }
        match expr {
            Expr::Name(name) => match name.ctx {
                ExprContext::Load => self.read(name.id.as_str(), name.range),
                ExprContext::Store => self.bind(name.id.as_str(), name.range),
                ExprContext::Del => self.read(name.id.as_str(), name.range),
                ExprContext::Invalid => {}
            },
            Expr::Named(named) => {
                self.expr(&named.value);
                // `:=` binds in the enclosing function, even inside a comprehension.
                if let Expr::Name(name) = &*named.target {
                    let nested = std::mem::take(&mut self.nested);
                    self.bind(name.id.as_str(), name.range);
                    self.nested = nested;
                }
            }
            Expr::Lambda(lambda) => {
                let mut params = BTreeSet::new();
                if let Some(parameters) = &lambda.parameters {
                    for p in parameters
                        .posonlyargs
                        .iter()
                        .chain(&parameters.args)
                        .chain(&parameters.kwonlyargs)
                    {
                        if let Some(default) = &p.default {
                            self.expr(default);
                        }
                    }
                    params.extend(parameters.iter().map(|p| p.name().to_string()));
                }
                self.nested.push(params);
                self.expr(&lambda.body);
                self.nested.pop();
            }
            Expr::ListComp(c) => self.comprehension(&c.generators, &[&c.elt]),
            Expr::SetComp(c) => self.comprehension(&c.generators, &[&c.elt]),
            Expr::Generator(c) => self.comprehension(&c.generators, &[&c.elt]),
            Expr::DictComp(c) => match &c.key {
                Some(key) => self.comprehension(&c.generators, &[key, &c.value]),
                None => self.comprehension(&c.generators, &[&c.value]),
            },
            Expr::Await(_) => {
                self.unsupported("`await`");
                visitor::walk_expr(self, expr);
            }
            Expr::Yield(_) | Expr::YieldFrom(_) => {
                self.unsupported("`yield`");
                visitor::walk_expr(self, expr);
            }
            Expr::Call(call) if matches!(&*call.func, Expr::Name(n) if n.id.as_str() == "super") => {
                self.unsupported("`super()`");
                visitor::walk_expr(self, expr);
            }
            _ => visitor::walk_expr(self, expr),
        }
    }
}

/// Every builtin name of Python 3 (`dir(builtins)`), for "is this name defined?".
pub const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BaseExceptionGroup",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Ellipsis",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "False",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "None",
    "NotADirectoryError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "True",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
    "__build_class__",
    "__debug__",
    "__doc__",
    "__import__",
    "__loader__",
    "__name__",
    "__package__",
    "__spec__",
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
];

pub fn is_builtin(name: &str) -> bool {
    BUILTINS.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use ruff_python_parser::parse_module;

    use super::*;

    #[test]
    fn builtins_are_sorted() {
        assert!(BUILTINS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_builtin("len") && is_builtin("True") && !is_builtin("torch"));
    }

    /// A `match` reads its subject, guards and value patterns and binds its capture
    /// patterns, on no definite path: a helper whose names a case reads is not private.
    #[test]
    fn match_statements_read_and_bind_their_names() {
        let code = "\
match kind:
    case \"a\" if limit > 0:
        out = f(zimg, extras[\"t\"])
    case Point(x=px, y=0) | [px, *rest]:
        out = px
    case {\"k\": Color.RED, **others}:
        out = others
    case _ as other:
        out = other
";
        let parsed = parse_module(code).unwrap();
        let usage = analyze(parsed.suite(), &[]);
        assert_eq!(usage.unsupported, None);
        for read in ["kind", "limit", "f", "zimg", "extras", "Point", "Color"] {
            assert!(usage.free.iter().any(|n| n == read), "{read}: {usage:?}");
        }
        for bound in ["out", "px", "rest", "others", "other"] {
            assert!(usage.bound.contains(bound), "{bound}: {usage:?}");
        }
        assert!(!usage.definite.contains("out"));
        let indexed = Indexed::new(usage);
        assert_eq!(indexed.occurrences_of("zimg").len(), 1);
    }

    #[test]
    fn free_names_follow_python_scoping() {
        let code = "\
a = x + 1
if c:
    b = a
else:
    b = 2
if d:
    e = 1
f = [i * y for i in b] + [lambda z: z + w]
loss += e + b
(g := 3)
";
        let parsed = parse_module(code).unwrap();
        let usage = analyze(parsed.suite(), &[]);
        assert_eq!(usage.free, ["x", "c", "d", "y", "w", "loss", "e"]);
        assert!(usage.definite.contains("b") && !usage.definite.contains("e"));
        assert!(usage.definite.contains("g") && usage.bound.contains("f"));
        assert!(usage.unsupported.is_none());
        let parsed = parse_module("return x\n").unwrap();
        assert!(analyze(parsed.suite(), &[]).unsupported.is_some());
    }
}
