//! The rule catalog. Every rule is one file under a family directory; this file is the single
//! registration list. Keep `ALL` sorted by code (a test checks it).

pub mod dead_code;
pub mod syntax;

use crate::registry::Rule;

/// Every rule dllint has, sorted by code.
pub static ALL: &[Rule] = &[
    &syntax::syntax_error::SYNTAX_ERROR,
    &dead_code::constant_condition::CONSTANT_CONDITION,
    &dead_code::debug_leftover::DEBUG_LEFTOVER,
];
