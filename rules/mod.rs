//! The rule catalog. Every rule is one file under a family directory; this file is the single
//! registration list. Keep `ALL` sorted by code (a test checks it).

pub mod coupling;
pub mod dead_code;
pub(crate) mod layout;
pub mod selection;
pub mod shapes;
pub mod structure;
pub mod syntax;
pub mod training;

use crate::registry::Rule;
pub use selection::{RuleSet, by_code, find_rule, of_code, parse_selector};

/// Every rule dllint has, sorted by code.
pub static ALL: &[Rule] = &[
    &syntax::syntax_error::SYNTAX_ERROR,
    &coupling::loss_in_model::LOSS_IN_MODEL,
    &coupling::loss_in_runner::LOSS_IN_RUNNER,
    &coupling::loss_in_model_runner::LOSS_IN_MODEL_RUNNER,
    &coupling::loss_with_backward::LOSS_WITH_BACKWARD,
    &coupling::optimizer_in_model::OPTIMIZER_IN_MODEL,
    &coupling::data_prep_in_runner::DATA_PREP_IN_RUNNER,
    &coupling::module_level_training_loop::MODULE_LEVEL_TRAINING_LOOP,
    &structure::god_file::GOD_FILE,
    &structure::long_parameter_list::LONG_PARAMETER_LIST,
    &structure::long_ternary::LONG_TERNARY,
    &structure::complex_comprehension::COMPLEX_COMPREHENSION,
    &dead_code::constant_condition::CONSTANT_CONDITION,
    &dead_code::commented_out_code::COMMENTED_OUT_CODE,
    &dead_code::unreachable_code::UNREACHABLE_CODE,
    &dead_code::unused_config_option::UNUSED_CONFIG_OPTION,
    &dead_code::debug_leftover::DEBUG_LEFTOVER,
    &dead_code::unused_component::UNUSED_COMPONENT,
    &shapes::missing_shape_annotation::MISSING_SHAPE_ANNOTATION,
    &shapes::shape_annotation_mismatch::SHAPE_ANNOTATION_MISMATCH,
    &training::gradients_not_cleared::GRADIENTS_NOT_CLEARED,
    &training::forward_called_directly::FORWARD_CALLED_DIRECTLY,
    &training::loss_accumulates_graph::LOSS_ACCUMULATES_GRAPH,
    &training::eval_mode_not_set::EVAL_MODE_NOT_SET,
    &training::no_grad_missing::NO_GRAD_MISSING,
    &training::softmax_before_cross_entropy::SOFTMAX_BEFORE_CROSS_ENTROPY,
    &training::sigmoid_before_bce::SIGMOID_BEFORE_BCE,
    &training::unseeded_training::UNSEEDED_TRAINING,
    &training::unsafe_log::UNSAFE_LOG,
    &training::hyperparameter_default::HYPERPARAMETER_DEFAULT,
    &training::tf_memory_not_freed::TF_MEMORY_NOT_FREED,
];
