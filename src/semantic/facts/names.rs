//! How a file names what it calls or inherits from, as precisely as the file alone can: a
//! qualified name through the imports, a local definition, a member of `self`, an instance.

use serde::{Deserialize, Serialize};

/// A callee (or a base class), as precisely as the file alone can name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Callee {
    /// Resolved through the imports: `torch.nn.functional.cross_entropy`, `proj.losses.focal`.
    Qualified(String),
    /// A module-level class or function of this file.
    Local(String),
    /// `self.<name>`: a method or an instance attribute, resolved through the class hierarchy.
    SelfMember(String),
    /// A variable bound to the result of calling this callee (`model = Net()`).
    InstanceOf(Box<Callee>),
    /// A variable or parameter of unknown value: only its name is evidence.
    Variable(String),
}

impl Callee {
    /// The last name segment, for messages and name heuristics.
    pub fn name(&self) -> &str {
        match self {
            Callee::Qualified(q) => q.rsplit('.').next().unwrap_or(q),
            Callee::Local(n) | Callee::SelfMember(n) | Callee::Variable(n) => n,
            Callee::InstanceOf(inner) => inner.name(),
        }
    }
}
