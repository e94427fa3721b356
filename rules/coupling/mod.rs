//! `DL1xx`: MODLR roles tangled together. These rules run on the project index, after every
//! file's facts are known, so that roles resolve across files.

pub mod data_prep_in_runner;
pub mod helpers;
pub mod loss_in_model;
pub mod loss_in_model_runner;
pub mod loss_in_runner;
pub mod loss_with_backward;
pub mod module_level_training_loop;
pub mod optimizer_in_model;

pub use crate::semantic::queries::{
    Hook, LossSite, definitions, holds_given_model, hook, is_loss_only_layer, is_role,
    is_self_contained_script, is_sub_module, model_loss_sites,
};
pub use helpers::{file_name, loss_name};
