//! What a component reference of the facts ([`InstanceRef`]) is, across the project: the class a
//! constructor call builds, what the callers of a function pass for a parameter
//! (`train(model, ...)` called with `Net()`), what `self.model` holds (an attribute built in a
//! superclass, or a component handed to `__init__` by the code that builds the Runner).
//!
//! The calls that hand instances to project functions are indexed once per run
//! ([`InstanceArgs`], built on first use); every lookup after that is a hash probe.

use rustc_hash::FxHashMap;

use crate::knowledge::ApiKind;
use crate::semantic::Role;
use crate::semantic::facts::{Callee, ClassId, FunctionId, InstanceRef};
use crate::semantic::index::{FileId, ProjectIndex, Symbol};
use crate::semantic::roles::Roles;
use crate::semantic::verdict::ancestry;

/// What a reference turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resolved {
    /// An instance of a project class.
    Class(FileId, ClassId),
    /// An instance of a library class or the result of a library factory (canonical name).
    Api(String),
}

/// Where a call site's argument lands in the callee.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Slot {
    /// Index among the callee's positional parameters (`self` counted).
    Position(u32),
    Keyword(String),
}

/// One instance handed on: where it lands, the file of the call, its constructor, and the
/// class being built when the call is a constructor call.
#[derive(Debug, Hash)]
pub(crate) struct Handed {
    slot: Slot,
    caller: FileId,
    ctor: Callee,
    built: Option<(FileId, ClassId)>,
}

/// Every instance handed to a project function or class, by the function that receives it
/// (a class's `__init__` for a constructor call).
#[derive(Debug, Default)]
pub struct InstanceArgs {
    by_function: FxHashMap<(FileId, FunctionId), Vec<Handed>>,
}

impl InstanceArgs {
    pub fn compute(index: &ProjectIndex) -> Self {
        let mut by_function: FxHashMap<(FileId, FunctionId), Vec<Handed>> = FxHashMap::default();
        for (f, file) in index.all_files().iter().enumerate() {
            let f = f as FileId;
            // Tests hand dummies (a `Dense(2)` for "any model"): not what the code runs with.
            let name = file.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if index
                .knowledge(f)
                .is_test_module(file.facts.package.as_deref(), name)
            {
                continue;
            }
            for (_, scope) in file.facts.scopes() {
                for arg in &scope.flow().instance_args {
                    let InstanceRef::Built(ctor) = &arg.instance else {
                        continue;
                    };
                    let (target, offset, built) = match index.resolve_callee(f, &arg.callee) {
                        Some(Symbol::Function(tf, id)) => {
                            // A method called through its class (`Cls.method(obj, x)`) binds
                            // `self` positionally too: no offset either way.
                            ((tf, id), 0, None)
                        }
                        Some(Symbol::Class(tf, c)) => match constructor(index, tf, c) {
                            Some(init) => (init, 1, Some((tf, c))),
                            None => continue,
                        },
                        _ => continue,
                    };
                    let slot = match (&arg.position, &arg.keyword) {
                        (Some(p), _) => Slot::Position(p + offset),
                        (None, Some(k)) => Slot::Keyword(k.to_string()),
                        (None, None) => continue,
                    };
                    by_function.entry(target).or_default().push(Handed {
                        slot,
                        caller: f,
                        ctor: ctor.clone(),
                        built,
                    });
                }
            }
        }
        InstanceArgs { by_function }
    }

    /// The instances handed to `function` of `file` (without reporting the question: see
    /// [`InstanceArgs::of`]).
    pub(crate) fn handed_to(&self, file: FileId, function: FunctionId) -> &[Handed] {
        self.by_function
            .get(&(file, function))
            .map_or(&[], Vec::as_slice)
    }

    /// The instances handed to `function` of `file`; the question is reported (see
    /// [`crate::semantic::reads`]).
    fn of<'a>(&'a self, index: &ProjectIndex, file: FileId, function: FunctionId) -> &'a [Handed] {
        index.ask(|| crate::semantic::reads::Query::InstanceArgs(file, function));
        self.handed_to(file, function)
    }
}

/// The `__init__` that a call of class `c` runs (its own or a project superclass's).
pub fn constructor(
    index: &ProjectIndex,
    file: FileId,
    class: ClassId,
) -> Option<(FileId, FunctionId)> {
    ancestry(index, file, class)
        .into_iter()
        .find_map(|(f, c)| index.facts(f).method(c, "__init__").map(|(id, _)| (f, id)))
}

/// The method of a class (or of its nearest project superclass) with one of `names`.
pub fn method_of(
    index: &ProjectIndex,
    file: FileId,
    class: ClassId,
    names: &[impl AsRef<str>],
) -> Option<(FileId, FunctionId)> {
    ancestry(index, file, class).into_iter().find_map(|(f, c)| {
        names
            .iter()
            .find_map(|name| index.facts(f).method(c, name.as_ref()))
            .map(|(id, _)| (f, id))
    })
}

/// Resolves [`InstanceRef`]s of one file.
pub struct Flow<'p> {
    pub index: &'p ProjectIndex,
}

impl<'p> Flow<'p> {
    pub fn new(index: &'p ProjectIndex) -> Self {
        Flow { index }
    }

    /// A Model or a layer: a project class with the Model role (and not a Loss), a framework
    /// module or model constructor, or a wrapper that runs one (`nn.DataParallel(model)`), as
    /// the knowledge of `file` says.
    pub fn is_model(&self, roles: &Roles, file: FileId, resolved: &Resolved) -> bool {
        match resolved {
            Resolved::Class(f, c) => {
                let set = roles.class(*f, *c).roles;
                set.contains(Role::Model) && !set.contains(Role::Loss)
            }
            Resolved::Api(q) => {
                let knowledge = self.index.knowledge(file);
                knowledge.classify_call(q) == Some(ApiKind::Layer)
                    || knowledge.module_wrappers.contains(q)
            }
        }
    }

    /// A name for messages: `Net`, `torchvision.models.resnet18`.
    pub fn describe(&self, resolved: &Resolved) -> String {
        match resolved {
            Resolved::Class(f, c) => self.index.facts(*f).classes[*c as usize]
                .qualname
                .to_string(),
            Resolved::Api(q) => q.clone(),
        }
    }

    /// What `reference`, written in `function` of `file` (`None`: module level), may be.
    pub fn resolve(
        &self,
        file: FileId,
        function: Option<FunctionId>,
        reference: &InstanceRef,
    ) -> Vec<Resolved> {
        let mut out = Vec::new();
        match reference {
            InstanceRef::Built(ctor) => self.built(file, ctor, &mut out),
            InstanceRef::Param { name, position } => {
                if let Some(function) = function {
                    let class = self.index.facts(file).functions[function as usize]
                        .class
                        .map(|c| (file, c));
                    self.param(file, function, name, *position, class, &mut out);
                }
            }
            InstanceRef::SelfAttr(name) => self.self_attr(file, function, name, &mut out),
        }
        out.sort();
        out.dedup();
        out
    }

    /// `self.<name>`: an attribute built in the class or a superclass, or a component handed
    /// to `__init__` (what the constructor's callers pass).
    fn self_attr(
        &self,
        file: FileId,
        function: Option<FunctionId>,
        name: &str,
        out: &mut Vec<Resolved>,
    ) {
        let index = self.index;
        let Some(function) = function else { return };
        let Some(class) = index.facts(file).functions[function as usize].class else {
            return;
        };
        for (f, c) in ancestry(index, file, class) {
            let facts = index.facts(f);
            let class_facts = &facts.classes[c as usize];
            if let Some(attr) = class_facts.attributes.iter().rev().find(|a| a.name == name) {
                self.built(f, &attr.ctor, out);
                return;
            }
            if let Some(held) = class_facts.held.iter().find(|h| h.attr == name) {
                // Only what builds this class (or a subclass) hands to `self`.
                let own = Some((file, class));
                let before = out.len();
                self.param(f, held.method, &held.param, held.position, own, out);
                // No caller shows it (`BeamDecoder(model.module.decoder)`): the annotation says.
                if out.len() == before
                    && let Some(annotation) = &held.annotation
                {
                    self.built(f, annotation, out);
                }
                return;
            }
        }
    }

    fn built(&self, file: FileId, ctor: &Callee, out: &mut Vec<Resolved>) {
        let index = self.index;
        match index.resolve_callee(file, ctor) {
            Some(Symbol::Class(f, c)) => out.push(Resolved::Class(f, c)),
            Some(_) => {}
            None => {
                if let Callee::Qualified(q) = ctor {
                    let canonical = index.knowledge(file).canonical(q).into_owned();
                    out.push(Resolved::Api(canonical));
                }
            }
        }
    }

    /// What the project's calls of `function` pass for its parameter `name` (at `position`
    /// among the positional parameters, if it is one). For a method of `class`, a constructor
    /// call counts only if it builds `class` or a subclass (not a sibling sharing the base's
    /// `__init__`).
    fn param(
        &self,
        file: FileId,
        function: FunctionId,
        name: &str,
        position: Option<u32>,
        class: Option<(FileId, ClassId)>,
        out: &mut Vec<Resolved>,
    ) {
        let index = self.index;
        for handed in index.instance_args().of(index, file, function) {
            let matches = match &handed.slot {
                Slot::Position(p) => position == Some(*p),
                Slot::Keyword(k) => k == name,
            };
            let builds_class = match (class, handed.built) {
                (Some(class), Some((bf, bc))) => ancestry(index, bf, bc).contains(&class),
                _ => true,
            };
            if matches && builds_class {
                self.built(handed.caller, &handed.ctor, out);
            }
        }
    }
}
