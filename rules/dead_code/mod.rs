//! `DL3xx`: dead experimental code and debugging leftovers.
pub mod commented_out_code;
pub mod constant_condition;
pub mod debug_leftover;
pub mod unreachable_code;
pub mod unused_component;
pub mod unused_config_option;
