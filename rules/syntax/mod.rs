//! `DL0xx`: files dllint could not read or parse.
pub mod syntax_error;
