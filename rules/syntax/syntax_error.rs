use ruff_python_parser::ParseError;

use crate::registry::prelude::*;
use crate::source::ReadError;

declare_rule! {
    /// ## What it does
    /// Reports files dllint could not analyse: Python syntax errors (with the parser's message
    /// and location), files that cannot be read (permissions, not UTF-8, binary data), and code
    /// nested too deeply to analyse safely.
    ///
    /// ## Why is this bad?
    /// A file with a syntax error cannot be imported, so the code in it never runs as written;
    /// a file dllint cannot read is a file nobody checks. Rules that are safe on the parser's
    /// recovered tree still run on files with syntax errors, so one Python 2 `print x` does not
    /// hide the findings further down.
    ///
    /// ## Example
    /// ```python
    /// print "loss", loss  # Python 2 syntax
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// print("loss", loss)
    /// ```
    pub static SYNTAX_ERROR = {
        code: "DL000",
        name: "syntax-error",
        family: Family::Syntax,
        severity: Severity::Error,
        notebooks: Notebooks::Lint,
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[],
        check: Check::Engine,
        needs: Needs::Nothing,
    };
}

/// The first syntax error of a file; the others are counted in the message, since one real
/// mistake (or one Python 2 file) often cascades into many.
pub fn syntax_error(first: &ParseError, total: usize) -> Diagnostic {
    let mut message = format!("SyntaxError: {}", first.error);
    if total > 1 {
        message.push_str(&format!(
            " (and {} more syntax errors in this file)",
            total - 1
        ));
    }
    Diagnostic::new(&SYNTAX_ERROR, message, first.location).with_help(
        "fix the syntax so Python (and dllint) can read the file; rules that need a complete \
         tree may have skipped parts of it",
    )
}

/// A file that could not be read or decoded.
pub fn read_error(error: &ReadError) -> Diagnostic {
    let diagnostic = Diagnostic::new(&SYNTAX_ERROR, error.to_string(), TextRange::default());
    match error {
        ReadError::Notebook(_) => diagnostic.with_help(
            "dllint reads Jupyter notebooks in the nbformat 4 JSON format: open the file in \
             Jupyter and save it again, or exclude it with `extend-exclude`",
        ),
        _ => diagnostic,
    }
}

/// A file whose tree nests deeper than dllint walks.
pub fn too_deeply_nested(max_depth: usize) -> Diagnostic {
    Diagnostic::new(
        &SYNTAX_ERROR,
        format!(
            "code is nested more than {max_depth} levels deep; dllint skipped the analysis of this \
             file"
        ),
        TextRange::default(),
    )
    .with_help("generated code this deep is usually data: exclude the file with `extend-exclude`")
}

/// A panic inside dllint while linting the file: a bug in dllint, reported instead of crashing.
pub fn internal_error(message: &str) -> Diagnostic {
    Diagnostic::new(
        &SYNTAX_ERROR,
        format!("internal error while linting this file: {message}"),
        TextRange::default(),
    )
    .with_help("this is a bug in dllint: please report it with the file that triggers it")
}
