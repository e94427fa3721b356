//! Which models behave differently in training and evaluation mode: a model that builds or runs
//! dropout or batch norm (itself, in a project component or helper it builds, in a project
//! superclass), or a library model known to have them (`torchvision.models.resnet18`). For any
//! other model `eval()` changes nothing (a `Linear`/`ReLU` network computes the same in both
//! modes), so a missing or misplaced `eval()` is cosmetic there.

use rustc_hash::FxHashSet;

use crate::semantic::facts::{Callee, ClassId, FunctionId};
use crate::semantic::flow::Resolved;
use crate::semantic::index::{FileId, ProjectIndex, Symbol};
use crate::semantic::verdict::ancestry;

/// How many classes and functions one question may visit.
const BUDGET: usize = 256;

/// What a model is made of, as far as the project shows.
pub struct Modes<'p> {
    index: &'p ProjectIndex,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Node {
    Class(FileId, ClassId),
    Function(FileId, FunctionId),
}

impl<'p> Modes<'p> {
    pub fn new(index: &'p ProjectIndex) -> Self {
        Modes { index }
    }

    /// The instance `resolved` (seen from `file`) is known to behave differently in training and
    /// evaluation mode. `false` when it is known not to, and when nothing says (a model whose
    /// layers the project does not show).
    pub fn mode_dependent(&self, file: FileId, resolved: &Resolved) -> bool {
        match resolved {
            Resolved::Api(q) => self.mode_api(file, q),
            Resolved::Class(f, c) => self.search(Node::Class(*f, *c)),
        }
    }

    fn mode_api(&self, file: FileId, canonical: &str) -> bool {
        self.index
            .knowledge(file)
            .call_flags(canonical)
            .is_mode_layer()
    }

    fn mode_callee(&self, file: FileId, callee: &Callee) -> bool {
        match callee {
            Callee::Qualified(q) => {
                let knowledge = self.index.knowledge(file);
                self.mode_api(file, &knowledge.canonical(q))
            }
            _ => false,
        }
    }

    /// A depth-first walk over the classes a model is built from (superclasses, attributes,
    /// components and helpers called in its methods) and the functions that build them.
    fn search(&self, start: Node) -> bool {
        let index = self.index;
        let mut seen: FxHashSet<Node> = FxHashSet::default();
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            if !seen.insert(node) || seen.len() > BUDGET {
                continue;
            }
            match node {
                Node::Class(f, c) => {
                    for (af, ac) in ancestry(index, f, c) {
                        let facts = index.facts(af);
                        let class = &facts.classes[ac as usize];
                        if class.bases.iter().any(|b| self.mode_callee(af, b)) {
                            return true;
                        }
                        for attr in &class.attributes {
                            match index.resolve_callee(af, &attr.ctor) {
                                Some(Symbol::Class(bf, bc)) => stack.push(Node::Class(bf, bc)),
                                Some(Symbol::Function(bf, bid)) => {
                                    stack.push(Node::Function(bf, bid))
                                }
                                _ => {
                                    if self.mode_callee(af, &attr.ctor) {
                                        return true;
                                    }
                                }
                            }
                        }
                        for &method in &class.methods {
                            stack.push(Node::Function(af, method));
                        }
                    }
                }
                Node::Function(f, id) => {
                    let body = &index.facts(f).functions[id as usize].body;
                    if body.flow().mode_layers {
                        return true;
                    }
                    for call in &body.project_calls {
                        match index.resolve_callee(f, &call.callee) {
                            Some(Symbol::Class(bf, bc)) => stack.push(Node::Class(bf, bc)),
                            Some(Symbol::Function(bf, bid)) => stack.push(Node::Function(bf, bid)),
                            _ => {}
                        }
                    }
                }
            }
        }
        false
    }
}
