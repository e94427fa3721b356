//! `DL2xx`: structure and size smells: files that hold too many roles (god files), and code
//! that is hard to read or change because of its shape (long parameter lists, nested
//! conditional expressions, complex comprehensions).

pub mod complex_comprehension;
mod expr_text;
pub mod god_file;
pub mod long_parameter_list;
pub mod long_ternary;
