//! Unified diffs for `dllint check --diff`, in the shape `diff -u` and `git apply` read.

use similar::TextDiff;

/// The unified diff from `old` to `new` (three lines of context). `old` is `None` for a file
/// that does not exist yet (`--- /dev/null`). Empty when nothing changes.
pub fn unified(display: &str, old: Option<&str>, new: &str) -> String {
    let before = old.unwrap_or("");
    if before == new {
        return String::new();
    }
    let diff = TextDiff::from_lines(before, new);
    let from = if old.is_some() {
        display.to_string()
    } else {
        "/dev/null".to_string()
    };
    let mut out = diff
        .unified_diff()
        .context_radius(3)
        .header(&from, display)
        .to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_changed_and_new_files() {
        let diff = unified("a.py", Some("import pdb\nx = 1\n"), "x = 1\n");
        assert_eq!(
            diff,
            "--- a.py\n+++ a.py\n@@ -1,2 +1 @@\n-import pdb\n x = 1\n"
        );
        let created = unified("loss.py", None, "y = 2\n");
        assert!(
            created.starts_with("--- /dev/null\n+++ loss.py\n"),
            "{created}"
        );
        assert_eq!(unified("a.py", Some("x\n"), "x\n"), "");
    }
}
