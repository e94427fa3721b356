//! The semantic summary of one file (`FileFacts`): everything the cross-file project index and
//! the project rules need, computed in the single tree walk, so that the tree can be dropped
//! right after. Plain data, serialisable (the cache stores it).

use ruff_text_size::{TextRange, TextSize};
use serde::{Deserialize, Serialize};
pub use thin_vec::ThinVec;

use crate::knowledge::ApiKind;
use crate::suppression::Suppressions;

pub use crate::knowledge::Role;

pub type ClassId = u32;
pub type FunctionId = u32;
pub type LoopId = u32;

mod calls;
mod flow;
mod losses;
mod names;
mod signatures;
mod training;
mod usage;

pub use calls::*;
pub use flow::*;
pub use losses::*;
pub use names::*;
pub use signatures::*;
pub use training::*;
pub use usage::*;

/// What one scope (a function body, or the module's top-level code) does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeFacts {
    pub loops: ThinVec<LoopFacts>,
    /// The loss evidence that is no project call, sorted by start; [`ScopeFacts::evidence`]
    /// gives all of it.
    pub other_evidence: ThinVec<LossEvidence>,
    pub api_calls: ThinVec<ApiUse>,
    /// In source order (sorted by start): loss evidence refers to them by index
    /// ([`Evidence::ProjectCall`]).
    pub project_calls: ThinVec<ProjectCall>,
    /// Gradient steps and loss values: boxed, as most scopes compute no loss and every scope
    /// of a large project stays in memory.
    pub losses: Option<Box<LossFacts>>,
    /// Instances, component outputs, direct forward calls, mode switches and training runs: boxed,
    /// as most scopes have none and every scope of a large project stays in memory.
    pub flow: Option<Box<FlowFacts>>,
    /// Methods of `self` called, in source order (by start; a call before the calls inside
    /// it). Methods called on other receivers are in [`FlowFacts::method_calls`], in the same
    /// order; [`ScopeFacts::method_calls`] gives both.
    pub self_calls: ThinVec<SelfCall>,
}

impl ScopeFacts {
    fn shrink_to_fit(&mut self) {
        self.loops.shrink_to_fit();
        self.other_evidence.shrink_to_fit();
        self.api_calls.shrink_to_fit();
        self.project_calls.shrink_to_fit();
        self.self_calls.shrink_to_fit();
        if let Some(losses) = &mut self.losses {
            losses.shrink_to_fit();
        }
        if let Some(flow) = &mut self.flow {
            flow.shrink_to_fit();
        }
    }

    /// Every method call of the scope, on `self` and on component references, in source
    /// order (by start; a call before the calls inside it).
    pub fn method_calls(&self) -> impl Iterator<Item = MethodCallRef<'_>> + '_ {
        let mut own = self
            .self_calls
            .iter()
            .map(|c| MethodCallRef {
                receiver: None,
                method: c.method,
                range: c.range,
                in_loop: c.in_loop,
            })
            .peekable();
        let mut others = self
            .flow()
            .method_calls
            .iter()
            .map(|c| MethodCallRef {
                receiver: Some(&c.receiver),
                method: c.method,
                range: c.range,
                in_loop: c.in_loop,
            })
            .peekable();
        let first = |a: &MethodCallRef<'_>, b: &MethodCallRef<'_>| {
            source_order(a.range) <= source_order(b.range)
        };
        std::iter::from_fn(move || match (own.peek(), others.peek()) {
            (Some(a), Some(b)) if first(b, a) => others.next(),
            (Some(_), _) => own.next(),
            (None, _) => others.next(),
        })
    }

    /// Every loss evidence of the scope, sorted by start: the stored evidence, and the project
    /// calls that are evidence ([`Evidence::ProjectCall`]). At the same start, the stored
    /// evidence comes first.
    pub fn evidence(&self) -> impl Iterator<Item = LossEvidence> + '_ {
        let not_evidence = &self.losses().calls_not_evidence;
        let mut calls = self
            .project_calls
            .iter()
            .enumerate()
            .filter(move |(_, call)| !not_evidence.contains(&call.range))
            .map(|(i, call)| LossEvidence {
                kind: Evidence::ProjectCall(i as u32),
                range: call.range,
                in_loop: call.in_loop,
            })
            .peekable();
        let mut stored = self.other_evidence.iter().copied().peekable();
        std::iter::from_fn(move || match (stored.peek(), calls.peek()) {
            (Some(s), Some(c)) if c.range.start() < s.range.start() => calls.next(),
            (Some(_), _) => stored.next(),
            (None, _) => calls.next(),
        })
    }

    /// True if the scope has loss evidence ([`ScopeFacts::evidence`]).
    pub fn has_evidence(&self) -> bool {
        self.evidence().next().is_some()
    }

    /// The callee of a call that is evidence of a loss ([`Evidence::ProjectCall`],
    /// [`Evidence::OtherCall`]), to classify through the index.
    pub fn evidence_callee(&self, evidence: &Evidence) -> Option<&Callee> {
        match *evidence {
            Evidence::ProjectCall(i) => self.project_calls.get(i as usize).map(|c| &c.callee),
            Evidence::OtherCall(i) => self.losses().evidence_callees.get(i as usize),
            _ => None,
        }
    }

    /// The scope's [`LossFacts`] (empty when it has none).
    pub fn losses(&self) -> &LossFacts {
        static EMPTY: LossFacts = LossFacts::EMPTY;
        self.losses.as_deref().unwrap_or(&EMPTY)
    }

    /// The scope's [`LossFacts`], created on first write.
    pub fn losses_mut(&mut self) -> &mut LossFacts {
        self.losses.get_or_insert_with(Default::default)
    }

    /// The scope's [`FlowFacts`] (empty when it has none).
    pub fn flow(&self) -> &FlowFacts {
        static EMPTY: FlowFacts = FlowFacts::EMPTY;
        self.flow.as_deref().unwrap_or(&EMPTY)
    }

    /// The scope's [`FlowFacts`], created on first write.
    pub fn flow_mut(&mut self) -> &mut FlowFacts {
        self.flow.get_or_insert_with(Default::default)
    }

    /// The value is built with gradient tracking off (its defining statement is inside
    /// `with torch.no_grad():`, or in a function decorated with it): a loss computed to be
    /// reported, which nothing can be trained on.
    pub fn without_gradients(&self, value: &LossValue) -> bool {
        value.consumer.is_none()
            && self
                .flow()
                .no_grad_blocks
                .iter()
                .any(|block| block.contains_range(value.definition))
    }

    pub fn has(&self, kind: GradKind) -> bool {
        self.losses().grad_steps.iter().any(|s| s.kind == kind)
    }

    /// True if `inner` is `outer` or nested in it.
    pub fn loop_within(&self, inner: Option<LoopId>, outer: LoopId) -> bool {
        let mut current = inner;
        while let Some(id) = current {
            if id == outer {
                return true;
            }
            current = self.loops[id as usize].parent;
        }
        false
    }
}

/// `self.<attr> = <param>`: a component handed to a method (usually `__init__`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub attr: Name,
    pub param: Name,
    pub range: TextRange,
    /// The method the parameter belongs to, and the parameter's position among its positional
    /// parameters (`self` counted).
    pub method: FunctionId,
    pub position: Option<u32>,
    /// For values named like an optimizer (`self.opt = opt`): the class reads plain attributes
    /// of it that no optimizer has (`opt.Transformation`, `self.opt.batch_size`), so it holds
    /// an options namespace, not an optimizer.
    pub options: bool,
    /// The parameter's annotation, when it names a class (`decoder: DecoderRNN`).
    pub annotation: Option<Callee>,
}

/// `self.<name> = <call>` (or a class-level `name = <call>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: Name,
    pub ctor: Callee,
    pub range: TextRange,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassFacts {
    pub name: Name,
    /// `Outer.Inner` for nested classes.
    pub qualname: Name,
    pub range: TextRange,
    pub name_range: TextRange,
    pub bases: ThinVec<Callee>,
    pub methods: ThinVec<FunctionId>,
    pub attributes: ThinVec<Attribute>,
    /// `self.<attr> = <parameter>` in `__init__`: components handed in (e.g. an optimizer).
    pub held: ThinVec<Held>,
    pub enclosing_function: Option<FunctionId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionFacts {
    pub name: Name,
    pub range: TextRange,
    pub name_range: TextRange,
    pub class: Option<ClassId>,
    pub parent: Option<FunctionId>,
    /// Parameters that carry training targets (`labels`, `target`, `y`): the only parameter
    /// names rules ask about, so the others are not kept.
    pub target_params: ThinVec<Name>,
    pub is_generator: bool,
    /// Some `return` hands back a value (not `return` or `return None`).
    pub returns_value: bool,
    /// `return inner` where `inner` is a function nested in this one (a factory).
    pub returns_nested: Option<FunctionId>,
    /// Framework APIs whose result is returned (`return DataLoader(...)`).
    pub returns_apis: ThinVec<ApiKind>,
    /// Returns an optimizer it builds, directly or through a variable
    /// (`optimizer = AdamW(groups); return optimizer`): an optimizer factory.
    pub returns_optimizer: bool,
    /// Types and tensor shapes of the signature: only for forward-like methods and for
    /// functions with shape annotations (where shapes are expected, or stated).
    pub shapes: Option<Box<SignatureShapes>>,
    /// Every value the function returns went through this activation (a Model whose
    /// `forward` ends in a softmax). Only for the methods a call of the instance runs.
    pub returns_activation: Option<Activation>,
    pub body: ScopeFacts,
}

/// Everything dllint learned about one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFacts {
    /// The dotted package containing the file, if it is inside one.
    pub package: Option<String>,
    pub line_count: u32,
    /// Module-level import bindings (local name → qualified), for re-exports.
    pub imports: Vec<(Name, Name)>,
    pub classes: Vec<ClassFacts>,
    pub functions: Vec<FunctionFacts>,
    /// Module-level code.
    pub module: ScopeFacts,
    /// Module-level names assigned a call result (`model = Net()`), for re-exported instances.
    pub module_instances: Vec<(Name, Callee)>,
    pub suppressions: Suppressions,
    /// The file had syntax errors; its facts come from a recovered tree.
    pub recovered: bool,
    /// Names the file reads, command-line options it declares, whole-namespace uses.
    pub usage: UsageFacts,
    /// The `if __name__ == "__main__":` line: the file is a script.
    pub main_guard: Option<TextRange>,
    /// The file declares command-line options or a run configuration (argparse, absl flags,
    /// click, fire, hydra, ...).
    pub takes_options: bool,
    /// A notebook kept as a Python file (cells marked `# %%` or `# In[ ]:`): the notebook
    /// policy applies.
    pub cell_script: bool,
    /// The file turns gradients off somewhere (`with torch.no_grad()`, `@torch.no_grad()`,
    /// `torch.set_grad_enabled(...)`): without it, and without mode calls, only functions named
    /// for evaluation can hold an evaluation loop (the search for one walks the tree only then).
    pub uses_no_grad: bool,
    /// The file calls `.eval()` or `.train(...)` on something.
    pub switches_mode: bool,
    /// What the file's loops may call as a model (empty when it has no loop, or when scope
    /// facts are not built).
    pub loop_model_calls: LoopModelCalls,
}

/// Where a call inside a loop may run a model (see `builder::loop_calls` for what counts): the
/// search for evaluation loops parses a file again only when one of the functions it looks at
/// (or the module-level code) has one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopModelCalls {
    /// The scopes (a function, or `None`: the module-level code) with a call that may,
    /// whatever the project holds, in order.
    pub scopes: ThinVec<Option<FunctionId>>,
    /// Of the other scopes, what the names they call through an import import
    /// (`utils.pad`), in order: one may run a model if the project defines it as a Model class.
    pub imported: ThinVec<(Option<FunctionId>, Name)>,
}

impl FileFacts {
    /// The file imports `package` or one of its modules at module level (`import torch`,
    /// `from torch import nn`, `import torch.nn.functional as F`).
    pub fn imports_package(&self, package: &str) -> bool {
        self.imports.iter().any(|(_, qualified)| {
            qualified
                .strip_prefix(package)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
    }

    /// Every scope of the file: the module (`None`), then each function body.
    pub fn scopes(&self) -> impl Iterator<Item = (Option<FunctionId>, &ScopeFacts)> {
        std::iter::once((None, &self.module)).chain(
            self.functions
                .iter()
                .enumerate()
                .map(|(id, f)| (Some(id as FunctionId), &f.body)),
        )
    }

    pub fn class_named(&self, name: &str) -> Option<(ClassId, &ClassFacts)> {
        self.classes
            .iter()
            .enumerate()
            .find(|(_, c)| {
                c.name == name && c.enclosing_function.is_none() && !c.qualname.contains('.')
            })
            .map(|(i, c)| (i as ClassId, c))
    }

    pub fn function_named(&self, name: &str) -> Option<(FunctionId, &FunctionFacts)> {
        self.functions
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name && f.class.is_none() && f.parent.is_none())
            .map(|(i, f)| (i as FunctionId, f))
    }

    /// `Class.method`, `outer.inner`, `function`: computed, not stored (there is one function
    /// per few lines of code, and only findings need the name).
    pub fn qualname(&self, id: FunctionId) -> String {
        let function = &self.functions[id as usize];
        match (function.class, function.parent) {
            (Some(class), _) => format!(
                "{}.{}",
                self.classes[class as usize].qualname, function.name
            ),
            (None, Some(parent)) => format!("{}.{}", self.qualname(parent), function.name),
            (None, None) => function.name.to_string(),
        }
    }

    /// Release the spare capacity of every list: facts live until the end of the run.
    pub fn shrink_to_fit(&mut self) {
        self.imports.shrink_to_fit();
        self.classes.shrink_to_fit();
        self.functions.shrink_to_fit();
        self.module_instances.shrink_to_fit();
        self.usage.options.shrink_to_fit();
        self.usage.namespace_reads.shrink_to_fit();
        self.usage.wholesale.shrink_to_fit();
        self.usage.dynamic_modules.shrink_to_fit();
        for class in &mut self.classes {
            class.bases.shrink_to_fit();
            class.methods.shrink_to_fit();
            class.attributes.shrink_to_fit();
            class.held.shrink_to_fit();
        }
        self.module.shrink_to_fit();
        for function in &mut self.functions {
            function.target_params.shrink_to_fit();
            function.returns_apis.shrink_to_fit();
            function.body.shrink_to_fit();
        }
    }

    pub fn import_target(&self, name: &str) -> Option<&str> {
        self.imports
            .iter()
            .rev()
            .find(|(local, _)| local == name)
            .map(|(_, q)| q.as_str())
    }

    pub fn method(&self, class: ClassId, name: &str) -> Option<(FunctionId, &FunctionFacts)> {
        self.classes[class as usize]
            .methods
            .iter()
            .map(|&id| (id, &self.functions[id as usize]))
            .find(|(_, f)| f.name == name)
    }
}

/// The order of calls in a scope's lists: by start, and at the same start the call around the
/// other first (`self.a().b()` before `self.a()`). The builder sorts the method calls by it, and
/// [`ScopeFacts::method_calls`] merges them by it.
pub(crate) fn source_order(range: TextRange) -> (TextSize, std::cmp::Reverse<TextSize>) {
    (range.start(), std::cmp::Reverse(range.end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_is_imported_by_its_name_or_a_module_of_it_not_a_prefix() {
        let facts = |imports: &[(&str, &str)]| FileFacts {
            imports: imports
                .iter()
                .map(|(l, q)| (Name::from(*l), Name::from(*q)))
                .collect(),
            ..FileFacts::default()
        };
        assert!(facts(&[("torch", "torch")]).imports_package("torch"));
        assert!(facts(&[("F", "torch.nn.functional")]).imports_package("torch"));
        assert!(!facts(&[("torchvision", "torchvision")]).imports_package("torch"));
        assert!(!facts(&[("torch", "pkg.torch")]).imports_package("torch"));
        assert!(!facts(&[]).imports_package("torch"));
    }

    #[test]
    fn method_calls_merge_self_and_other_receivers_in_source_order() {
        let range = |start: u32, end: u32| TextRange::new(start.into(), end.into());
        let own = |method: &str, start, end| SelfCall {
            method: method.into(),
            range: range(start, end),
            in_loop: None,
        };
        let other = |method: &str, start, end| MethodCall {
            receiver: InstanceRef::SelfAttr("net".into()),
            method: method.into(),
            range: range(start, end),
            in_loop: Some(0),
        };
        let mut scope = ScopeFacts {
            self_calls: ThinVec::from(vec![own("a", 0, 30), own("c", 10, 20), own("e", 40, 45)]),
            ..ScopeFacts::default()
        };
        // `b` starts where `a` does and lies inside it: after `a`. `d` starts where `c` does
        // and is longer (it holds `c`): before `c`.
        scope.flow_mut().method_calls = ThinVec::from(vec![
            other("b", 0, 12),
            other("d", 10, 25),
            other("f", 50, 60),
        ]);
        let order: Vec<(String, bool)> = scope
            .method_calls()
            .map(|c| (c.method.to_string(), c.receiver.is_some()))
            .collect();
        let expected = [
            ("a", false),
            ("b", true),
            ("d", true),
            ("c", false),
            ("e", false),
            ("f", true),
        ];
        assert_eq!(
            order,
            expected.map(|(m, r)| (m.to_string(), r)).to_vec(),
            "by start, and at the same start the longer call (the one around the other) first"
        );
        assert_eq!(ScopeFacts::default().method_calls().count(), 0);
    }
}
