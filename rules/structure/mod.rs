//! `DL2xx`: code structure — files and functions that hold too much.

pub mod god_file;
