//! Helpers the coupling rules share that are about reporting, not about the program.

use crate::semantic::view::FileView;

/// `SmallResNet` → `SmallResNetLoss`; `FasterRCNN` → `FasterRCNNLoss`.
pub fn loss_name(class: &str) -> String {
    let base = class
        .strip_suffix("Model")
        .filter(|b| !b.is_empty())
        .unwrap_or(class);
    format!("{base}Loss")
}

/// The file name shown in messages.
pub fn file_name(cx: &FileView<'_>) -> String {
    cx.project_file()
        .path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
