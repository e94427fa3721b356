//! dllint: a fast linter for the architecture of deep-learning training code.
//!
//! The pipeline (see `../shared/design/architecture.md`): discover files → read and parse each
//! in parallel → one tree walk builds the semantic model and runs the rules → suppressions →
//! sorted diagnostics → render. The CLI and the editor server share [`engine`].

pub mod baseline;
pub mod cache;
pub mod checker;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod discovery;
pub mod engine;
pub mod fingerprint;
pub mod fix;
pub mod knowledge;
pub mod map;
pub mod notebook;
pub mod output;
pub mod refactor;
pub mod registry;
pub mod rule_context;
pub mod semantic;
pub mod server;
pub mod source;
pub mod suppression;
pub mod survey;
pub mod timing;

#[path = "../rules/mod.rs"]
pub mod rules;
