//! The single tree walk per file. The walker keeps the semantic model current (imports,
//! enclosing definitions, bindings) and hands each node to the rules that asked for it, so no
//! rule walks the tree again.

use std::path::Path;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ModModule, Stmt};
use ruff_python_parser::Parsed;
use ruff_python_trivia::CommentRanges;

use crate::diagnostic::Diagnostic;
use crate::knowledge::Knowledge;
use crate::semantic::builder::FactsBuilder;
use crate::semantic::{FileFacts, Frame, Semantic};
use crate::source::SourceText;

/// Which node kinds a pass wants to see; the walker skips the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hooks {
    pub stmt: bool,
    pub expr: bool,
}

impl Hooks {
    pub const ALL: Hooks = Hooks {
        stmt: true,
        expr: true,
    };
    pub const STMT: Hooks = Hooks {
        stmt: true,
        expr: false,
    };
    pub const EXPR: Hooks = Hooks {
        stmt: false,
        expr: true,
    };
    pub const NONE: Hooks = Hooks {
        stmt: false,
        expr: false,
    };
}

/// A rule's per-file state. A fresh pass is built for every file, so a rule may collect
/// candidates during the walk and decide in [`FilePass::finish`], when the semantic model is
/// complete (e.g. "this flag is never rebound").
pub trait FilePass<'a> {
    fn hooks(&self) -> Hooks;
    /// Called for every statement, before its children; the semantic model already includes
    /// the bindings the statement makes.
    fn stmt(&mut self, _cx: &mut Context<'_, 'a>, _stmt: &'a Stmt) {}
    /// Called for every expression, before its children.
    fn expr(&mut self, _cx: &mut Context<'_, 'a>, _expr: &'a Expr) {}
    /// Called once after the walk.
    fn finish(&mut self, _cx: &mut Context<'_, 'a>) {}
}

/// What a rule can see while it runs.
pub struct Context<'c, 'a> {
    pub path: &'c Path,
    pub source: &'c SourceText,
    pub semantic: &'c Semantic<'a>,
    pub knowledge: &'c Knowledge,
    pub module: &'a ModModule,
    pub comments: &'c CommentRanges,
    diagnostics: &'c mut Vec<Diagnostic>,
    shared: &'c SharedAnalyses,
}

/// Analyses of one file that several rules read (e.g. where activation outputs meet losses,
/// for DL506, DL507 and DL509): each is computed on first use and dropped with the file's walk.
#[derive(Default)]
pub struct SharedAnalyses(
    std::cell::RefCell<rustc_hash::FxHashMap<std::any::TypeId, std::rc::Rc<dyn std::any::Any>>>,
);

impl SharedAnalyses {
    /// The analysis of type `T`, computed by `compute` on first use.
    pub fn get_or_compute<T: 'static>(&self, compute: impl FnOnce() -> T) -> std::rc::Rc<T> {
        let key = std::any::TypeId::of::<T>();
        let found = self.0.borrow().get(&key).cloned();
        if let Some(found) = found.and_then(|any| any.downcast::<T>().ok()) {
            return found;
        }
        let value = std::rc::Rc::new(compute());
        self.0.borrow_mut().insert(key, value.clone());
        value
    }
}

impl<'c, 'a> Context<'c, 'a> {
    /// The file's analysis of type `T`, computed by `compute` the first time a rule asks for
    /// it and shared with every other rule that asks during this file's walk.
    pub fn shared<T: 'static>(&self, compute: impl FnOnce(&Self) -> T) -> std::rc::Rc<T> {
        self.shared.get_or_compute(|| compute(self))
    }

    /// The file's text may name something without spelling it, in compatibility forms that
    /// Python normalises ([`crate::source::spells_names_in_compatibility_forms`]): a textual
    /// pre-filter for a name does not apply to it. Computed once per file.
    pub fn spells_names_in_compatibility_forms(&self) -> bool {
        struct CompatibilityForms(bool);
        self.shared(|cx| {
            CompatibilityForms(crate::source::spells_names_in_compatibility_forms(
                cx.text(),
            ))
        })
        .0
    }

    /// False when the file cannot resolve a name under the modules whose words are `words`
    /// (`keras`; derived from the knowledge, as `TrainingTfMemory::words`): its text spells none
    /// of them, in any form Python reads, and neither does its package (which a relative import
    /// names without spelling it). A pre-filter, decided before the walk has seen the file's
    /// imports, for rules that report only what such resolved names do; it errs towards "may".
    pub fn may_name(&self, words: &[String]) -> bool {
        let text = self.text().as_bytes();
        let package = self.semantic.package.as_deref().unwrap_or_default();
        words.iter().any(|w| {
            memchr::memmem::find(text, w.as_bytes()).is_some() || package.contains(w.as_str())
        }) || self.spells_names_in_compatibility_forms()
    }

    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn text(&self) -> &'c str {
        self.source.text()
    }

    /// True when the file is a Jupyter notebook (its code cells joined). Rules whose
    /// [`Notebooks`](crate::registry::Notebooks) policy is `Narrowed` narrow what they report.
    pub fn is_notebook(&self) -> bool {
        self.source.is_notebook()
    }

    /// True for a Python script linted with the notebook policy because it is teaching code
    /// (a lesson, an example): not a notebook and not kept as cells (`# %%`), so it has no cell
    /// output that is the document.
    pub fn is_teaching_script(&self) -> bool {
        self.source.is_notebook()
            && !crate::source::is_notebook(self.path)
            && !self.source.cell_script()
    }
}

/// Walks one parsed file once, feeding the semantic model and the rule passes.
pub struct Checker<'c, 'a> {
    path: &'c Path,
    source: &'c SourceText,
    module: &'a ModModule,
    comments: &'c CommentRanges,
    pub semantic: Semantic<'a>,
    /// `None` when the run has no cross-file rule: nothing needs the file's facts.
    facts: Option<FactsBuilder<'a>>,
    knowledge: &'c Knowledge,
    passes: Vec<Box<dyn FilePass<'a> + 'a>>,
    stmt_passes: Vec<usize>,
    expr_passes: Vec<usize>,
    pub diagnostics: Vec<Diagnostic>,
    shared: SharedAnalyses,
}

impl<'c, 'a> Checker<'c, 'a> {
    pub fn new(
        path: &'c Path,
        source: &'c SourceText,
        parsed: &'a Parsed<ModModule>,
        comments: &'c CommentRanges,
        semantic: Semantic<'a>,
        knowledge: &'c std::sync::Arc<Knowledge>,
        passes: Vec<Box<dyn FilePass<'a> + 'a>>,
    ) -> Self {
        let stmt_passes = (0..passes.len())
            .filter(|&i| passes[i].hooks().stmt)
            .collect();
        let expr_passes = (0..passes.len())
            .filter(|&i| passes[i].hooks().expr)
            .collect();
        Checker {
            path,
            source,
            module: parsed.syntax(),
            comments,
            semantic,
            facts: Some(FactsBuilder::new(knowledge.clone(), path)),
            knowledge,
            passes,
            stmt_passes,
            expr_passes,
            diagnostics: Vec::new(),
            shared: SharedAnalyses::default(),
        }
    }

    /// Build no facts (a run with no cross-file rule): `run` returns empty ones.
    pub fn without_facts(mut self) -> Self {
        self.facts = None;
        self
    }

    /// Build the file's symbols and usage facts, not what each scope does (a run whose
    /// cross-file rules need no more: [`crate::registry::Needs::Symbols`]).
    pub fn without_scope_facts(mut self) -> Self {
        if let Some(facts) = &mut self.facts {
            facts.scopes_wanted = false;
        }
        self
    }

    /// Walk the module, let every pass finish, and summarise the file's facts.
    pub fn run(mut self) -> (FileFacts, Vec<Diagnostic>) {
        self.visit_body(&self.module.body);
        let Checker {
            path,
            source,
            module,
            comments,
            semantic,
            facts,
            knowledge,
            mut passes,
            mut diagnostics,
            shared,
            ..
        } = self;
        let mut cx = Context {
            path,
            source,
            semantic: &semantic,
            knowledge,
            module,
            comments,
            diagnostics: &mut diagnostics,
            shared: &shared,
        };
        for pass in &mut passes {
            pass.finish(&mut cx);
        }
        drop(passes);
        let facts = facts.map_or_else(FileFacts::default, |f| f.finish(&semantic));
        (facts, diagnostics)
    }
}

impl<'a> Visitor<'a> for Checker<'_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        self.semantic.record_bindings(stmt);
        if let Some(facts) = &mut self.facts {
            facts.enter_stmt(stmt, &self.semantic, self.source.text());
        }
        if !self.stmt_passes.is_empty() {
            let mut cx = Context {
                path: self.path,
                source: self.source,
                semantic: &self.semantic,
                knowledge: self.knowledge,
                module: self.module,
                comments: self.comments,
                diagnostics: &mut self.diagnostics,
                shared: &self.shared,
            };
            for &i in &self.stmt_passes {
                self.passes[i].stmt(&mut cx, stmt);
            }
        }
        let frame = match stmt {
            Stmt::ClassDef(class) => Some(Frame::Class(class)),
            Stmt::FunctionDef(def) => Some(Frame::Function(def)),
            Stmt::For(_) | Stmt::While(_) => Some(Frame::Loop(stmt)),
            _ => None,
        };
        match frame {
            Some(frame) => {
                self.semantic.push_frame(frame);
                visitor::walk_stmt(self, stmt);
                self.semantic.pop_frame();
            }
            None => visitor::walk_stmt(self, stmt),
        }
        if let Some(facts) = &mut self.facts {
            facts.leave_stmt(stmt);
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Named(named) = expr {
            self.semantic.record_named_expr(&named.target);
        }
        if let Some(facts) = &mut self.facts {
            facts.expr(expr, &self.semantic);
        }
        if !self.expr_passes.is_empty() {
            let mut cx = Context {
                path: self.path,
                source: self.source,
                semantic: &self.semantic,
                knowledge: self.knowledge,
                module: self.module,
                comments: self.comments,
                diagnostics: &mut self.diagnostics,
                shared: &self.shared,
            };
            for &i in &self.expr_passes {
                self.passes[i].expr(&mut cx, expr);
            }
        }
        visitor::walk_expr(self, expr);
    }
}
