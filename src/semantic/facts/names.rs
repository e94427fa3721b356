//! How a file names what it calls or inherits from, as precisely as the file alone can: a
//! qualified name through the imports, a local definition, a member of `self`, an instance.

use serde::{Deserialize, Serialize};

/// A name or dotted name kept in the facts: up to 24 bytes inline (most are), never more than
/// a `String` takes.
pub type Name = compact_str::CompactString;

/// A callee (or a base class), as precisely as the file alone can name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Callee {
    /// Resolved through the imports: `torch.nn.functional.cross_entropy`, `proj.losses.focal`.
    Qualified(Name),
    /// A module-level class or function of this file.
    Local(Name),
    /// `self.<name>`: a method or an instance attribute, resolved through the class hierarchy.
    SelfMember(Name),
    /// A variable bound to the result of calling this callee (`model = Net()`).
    InstanceOf(Box<Callee>),
    /// A variable or parameter of unknown value: only its name is evidence.
    Variable(Name),
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
