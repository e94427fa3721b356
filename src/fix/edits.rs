//! Building blocks for fixes: line arithmetic that understands `\r\n`, deleting a statement
//! without leaving an empty block, and moving a block of lines to another indentation without
//! touching the content of multi-line strings.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::diagnostic::Edit;

fn size(offset: usize) -> TextSize {
    TextSize::try_from(offset).unwrap_or(TextSize::new(u32::MAX))
}

/// Start of the line holding `offset`.
pub fn line_start(text: &str, offset: TextSize) -> TextSize {
    let at = offset.to_usize().min(text.len());
    size(memchr::memrchr(b'\n', &text.as_bytes()[..at]).map_or(0, |i| i + 1))
}

/// End of the line holding `offset`, before its line terminator.
pub fn line_end(text: &str, offset: TextSize) -> TextSize {
    let at = offset.to_usize().min(text.len());
    let end = memchr::memchr(b'\n', &text.as_bytes()[at..]).map_or(text.len(), |i| at + i);
    if end > at && text.as_bytes()[end - 1] == b'\r' {
        size(end - 1)
    } else {
        size(end)
    }
}

/// End of the line holding `offset`, after its line terminator (or the end of the text).
pub fn line_end_with_newline(text: &str, offset: TextSize) -> TextSize {
    let at = offset.to_usize().min(text.len());
    size(memchr::memchr(b'\n', &text.as_bytes()[at..]).map_or(text.len(), |i| at + i + 1))
}

/// The whole lines covering `range`, terminators included.
pub fn full_lines(text: &str, range: TextRange) -> TextRange {
    TextRange::new(
        line_start(text, range.start()),
        line_end_with_newline(text, range.end()),
    )
}

/// The leading whitespace of the line holding `offset` (a BOM on line 1 is not indentation).
pub fn indentation(text: &str, offset: TextSize) -> &str {
    let start = line_start(text, offset).to_usize();
    let line = &text[start..line_end(text, offset).to_usize()];
    let line = line.strip_prefix(super::BOM).unwrap_or(line);
    let len = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..len]
}

/// True if nothing but whitespace precedes `offset` on its line.
pub fn starts_line(text: &str, offset: TextSize) -> bool {
    let start = line_start(text, offset).to_usize();
    text[start..offset.to_usize().min(text.len())]
        .trim_start_matches(super::BOM)
        .chars()
        .all(|c| c == ' ' || c == '\t' || c == '\x0c')
}

/// True if only whitespace or a comment follows `offset` on its line.
pub fn ends_line(text: &str, offset: TextSize) -> bool {
    let rest = &text[offset.to_usize().min(text.len())..line_end(text, offset).to_usize()];
    let rest = rest.trim_start_matches([' ', '\t']);
    rest.is_empty() || rest.starts_with('#')
}

/// The edit that deletes statement `stmt`. When it is the only statement of its block
/// (`sole_in_block`), it becomes `pass` so the block stays valid. A statement alone on its
/// lines loses those lines (with its trailing comment); one sharing a line through `;` loses
/// itself and one separator. `None` when the statement cannot be removed cleanly.
pub fn delete_stmt(text: &str, stmt: TextRange, sole_in_block: bool) -> Option<Edit> {
    if sole_in_block {
        return Some(Edit::replacement(stmt, "pass"));
    }
    if starts_line(text, stmt.start()) && ends_line(text, stmt.end()) {
        return Some(Edit::deletion(without_trailing_blank_lines(
            text,
            full_lines(text, stmt),
        )));
    }
    let bytes = text.as_bytes();
    // `stmt; next` → `next`.
    let mut after = stmt.end().to_usize();
    while after < bytes.len() && matches!(bytes[after], b' ' | b'\t') {
        after += 1;
    }
    if after < bytes.len() && bytes[after] == b';' {
        let mut end = after + 1;
        while end < bytes.len() && matches!(bytes[end], b' ' | b'\t') {
            end += 1;
        }
        if end < bytes.len() && !matches!(bytes[end], b'\n' | b'\r' | b'#') {
            return Some(Edit::deletion(TextRange::new(stmt.start(), size(end))));
        }
        // `...; stmt;` at the end of a line: drop from the previous separator.
    }
    // `previous; stmt` → `previous`.
    let mut before = stmt.start().to_usize();
    while before > 0 && matches!(bytes[before - 1], b' ' | b'\t') {
        before -= 1;
    }
    if before > 0 && bytes[before - 1] == b';' {
        let end = if after < bytes.len() && bytes[after] == b';' {
            after + 1
        } else {
            stmt.end().to_usize()
        };
        return Some(Edit::deletion(TextRange::new(size(before - 1), size(end))));
    }
    None
}

/// `lines` (whole lines being deleted), extended back over the blank lines before it when it
/// reaches the end of the file, so a file does not end in blank lines after a removal.
fn without_trailing_blank_lines(text: &str, lines: TextRange) -> TextRange {
    // Deleting the first lines of the file: the blank lines after them would become the file's
    // first lines.
    if lines.start().to_usize() == 0 && lines.end().to_usize() < text.len() {
        let rest = &text[lines.end().to_usize()..];
        let mut end = 0;
        for line in rest.split_inclusive('\n') {
            if !line.ends_with('\n') || !line.trim().is_empty() {
                break;
            }
            end += line.len();
        }
        return TextRange::new(lines.start(), lines.end() + size(end));
    }
    if lines.end().to_usize() < text.len() {
        return lines;
    }
    let before = &text[..lines.start().to_usize()];
    let kept = before.trim_end_matches(['\n', '\r', ' ', '\t']);
    // Keep the line break that ends the last kept line.
    let start = match before[kept.len()..].find('\n') {
        Some(i) if !kept.is_empty() => kept.len() + i + 1,
        _ => return lines,
    };
    TextRange::new(size(start), lines.end())
}

/// The edit that deletes the statements `first..=last` of one block (DL303: unreachable code
/// after a `return`). When they are the whole block (`whole_block`), they become `pass`. The
/// statements must start and end their lines; `None` otherwise.
pub fn delete_stmts(
    text: &str,
    first: TextRange,
    last: TextRange,
    whole_block: bool,
) -> Option<Edit> {
    let range = TextRange::new(first.start(), last.end());
    if whole_block {
        return Some(Edit::replacement(range, "pass"));
    }
    if first == last {
        return delete_stmt(text, range, false);
    }
    if !starts_line(text, range.start()) || !ends_line(text, range.end()) {
        return None;
    }
    Some(Edit::deletion(without_trailing_blank_lines(
        text,
        full_lines(text, range),
    )))
}

/// Ranges of the statements of `body`, at any depth, that are the only statement of their
/// block ([`sole_statements`] of every statement): what a fix deleting statements asks, read
/// from the tree when a fix is built rather than noted at every statement of the walk.
pub fn sole_statements_in(body: &[Stmt]) -> rustc_hash::FxHashSet<TextRange> {
    struct Sole(rustc_hash::FxHashSet<TextRange>);
    impl<'a> Visitor<'a> for Sole {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            self.0.extend(sole_statements(stmt));
            visitor::walk_stmt(self, stmt);
        }
        // Statements do not nest inside expressions.
        fn visit_expr(&mut self, _expr: &'a Expr) {}
    }
    let mut sole = Sole(rustc_hash::FxHashSet::default());
    sole.visit_body(body);
    sole.0
}

/// Ranges of statements that are the only statement of one of `stmt`'s blocks: deleting one of
/// them must leave `pass` behind.
pub fn sole_statements(stmt: &Stmt) -> Vec<TextRange> {
    let mut out = Vec::new();
    let mut body = |b: &[Stmt]| {
        if let [only] = b {
            out.push(only.range());
        }
    };
    match stmt {
        Stmt::If(s) => {
            body(&s.body);
            for clause in &s.elif_else_clauses {
                body(&clause.body);
            }
        }
        Stmt::For(s) => {
            body(&s.body);
            body(&s.orelse);
        }
        Stmt::While(s) => {
            body(&s.body);
            body(&s.orelse);
        }
        Stmt::With(s) => body(&s.body),
        Stmt::Try(s) => {
            body(&s.body);
            for handler in &s.handlers {
                let ruff_python_ast::ExceptHandler::ExceptHandler(h) = handler;
                body(&h.body);
            }
            body(&s.orelse);
            body(&s.finalbody);
        }
        Stmt::FunctionDef(s) => body(&s.body),
        Stmt::ClassDef(s) => body(&s.body),
        Stmt::Match(s) => {
            for case in &s.cases {
                body(&case.body);
            }
        }
        _ => {}
    }
    out
}

/// Ranges of string literals in `stmts` that span lines: their continuation lines are content
/// and must not be re-indented.
pub fn multiline_strings(text: &str, stmts: &[Stmt]) -> Vec<TextRange> {
    struct Strings<'t> {
        text: &'t str,
        found: Vec<TextRange>,
    }
    impl<'a> Visitor<'a> for Strings<'_> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::StringLiteral(_)
                | Expr::BytesLiteral(_)
                | Expr::FString(_)
                | Expr::TString(_) => {
                    let range = expr.range();
                    if self.text[range].contains('\n') {
                        self.found.push(range);
                    }
                }
                _ => visitor::walk_expr(self, expr),
            }
        }
    }
    let mut strings = Strings {
        text,
        found: Vec::new(),
    };
    strings.visit_body(stmts);
    strings.found
}

/// The lines of `range` (whole lines) moved from indentation `from` to `to`: every line that
/// starts with `from` gets `to` instead. Lines that begin inside a multi-line string (`strings`)
/// are content and stay as they are; blank lines and lines with less indentation (comments,
/// bracketed continuation lines) are left alone.
pub fn reindent(
    text: &str,
    range: TextRange,
    from: &str,
    to: &str,
    strings: &[TextRange],
) -> String {
    let lines = full_lines(text, range);
    let block = &text[lines];
    let mut out = String::with_capacity(block.len());
    let mut offset = lines.start().to_usize();
    for line in block.split_inclusive('\n') {
        let at = size(offset);
        let in_string = strings.iter().any(|s| s.start() < at && at < s.end());
        offset += line.len();
        if in_string || line.trim().is_empty() {
            out.push_str(line);
            continue;
        }
        match line.strip_prefix(from) {
            Some(rest) => {
                out.push_str(to);
                out.push_str(rest);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// An `import` statement of a file and the names it binds.
#[derive(Debug, Clone)]
pub struct ImportStmt {
    pub range: TextRange,
    /// The names bound (`np` for `import numpy as np`, `torch` for `import torch.nn`).
    pub bound: Vec<String>,
    /// The text of each alias (`numpy as np`), in order.
    pub aliases: Vec<TextRange>,
    /// What precedes the aliases when the statement is written again: `import`, or
    /// `from ..pkg import`.
    pub head: String,
    /// The only statement of its block (deleting it leaves `pass`).
    pub sole_in_block: bool,
    /// At module level (not inside a function, class or compound statement).
    pub module_level: bool,
}

/// A file's import statements ([`import_statements`]) with, for each name they bind, the
/// statements that bind it: a fix looks up the imports its removed code names instead of
/// scanning them all (a file may hold thousands of imports and thousands of fixes).
#[derive(Debug, Default)]
pub struct FileImports {
    stmts: Vec<ImportStmt>,
    by_name: rustc_hash::FxHashMap<String, Vec<usize>>,
    /// Module-level statements by what precedes their names (`from .loss import`).
    by_head: rustc_hash::FxHashMap<String, Vec<usize>>,
}

impl FileImports {
    pub fn of(body: &[Stmt]) -> Self {
        let stmts = import_statements(body);
        let mut by_name: rustc_hash::FxHashMap<String, Vec<usize>> = Default::default();
        let mut by_head: rustc_hash::FxHashMap<String, Vec<usize>> = Default::default();
        for (i, stmt) in stmts.iter().enumerate() {
            if stmt.module_level {
                by_head.entry(stmt.head.clone()).or_default().push(i);
            }
            for name in &stmt.bound {
                let at = by_name.entry(name.clone()).or_default();
                if at.last() != Some(&i) {
                    at.push(i);
                }
            }
        }
        Self {
            stmts,
            by_name,
            by_head,
        }
    }

    /// The module-level statements written `<head> <names>` (`from .loss import ...`), in file
    /// order.
    pub fn with_head(&self, head: &str) -> impl Iterator<Item = &ImportStmt> {
        self.by_head
            .get(head)
            .into_iter()
            .flatten()
            .map(|&i| &self.stmts[i])
    }

    /// The statements that bind one of `names`, in file order, each once.
    fn binding<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> Vec<&ImportStmt> {
        let mut at: Vec<usize> = names
            .into_iter()
            .filter_map(|n| self.by_name.get(n))
            .flatten()
            .copied()
            .collect();
        at.sort_unstable();
        at.dedup();
        at.into_iter().map(|i| &self.stmts[i]).collect()
    }
}

/// Every `import`/`from ... import` statement of `body`, nested blocks included (`from
/// __future__` and star imports excluded: they are never unused in the sense meant here).
pub fn import_statements(body: &[Stmt]) -> Vec<ImportStmt> {
    fn walk(body: &[Stmt], top: bool, out: &mut Vec<ImportStmt>) {
        let sole = body.len() == 1;
        for stmt in body {
            match stmt {
                Stmt::Import(import) => out.push(ImportStmt {
                    range: import.range,
                    aliases: import.names.iter().map(|a| a.range).collect(),
                    head: "import".to_string(),
                    bound: import
                        .names
                        .iter()
                        .map(|a| match &a.asname {
                            Some(asname) => asname.to_string(),
                            None => a.name.split('.').next().unwrap_or_default().to_string(),
                        })
                        .collect(),
                    sole_in_block: sole,
                    module_level: top,
                }),
                Stmt::ImportFrom(import) => {
                    let future = import
                        .module
                        .as_ref()
                        .is_some_and(|m| m.as_str() == "__future__");
                    if future || import.names.iter().any(|a| a.name.as_str() == "*") {
                        continue;
                    }
                    out.push(ImportStmt {
                        range: import.range,
                        aliases: import.names.iter().map(|a| a.range).collect(),
                        head: format!(
                            "from {}{} import",
                            ".".repeat(import.level as usize),
                            import.module.as_ref().map_or("", |m| m.as_str())
                        ),
                        bound: import
                            .names
                            .iter()
                            .map(|a| a.asname.as_ref().unwrap_or(&a.name).to_string())
                            .collect(),
                        sole_in_block: sole,
                        module_level: top,
                    });
                }
                _ => {
                    for child in crate::semantic::ranges::bodies(stmt) {
                        walk(child, false, out);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(body, true, &mut out);
    out
}

/// True if the identifier `name` appears in `text` as a whole word outside every range of
/// `except`. Strings and comments count, which only makes callers more cautious.
pub fn mentions_outside(text: &str, name: &str, except: &[TextRange]) -> bool {
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text[from..].find(name) {
        let start = from + pos;
        let end = start + name.len();
        from = end;
        let boundary = (start == 0 || !is_ident(bytes[start - 1]))
            && (end == bytes.len() || !is_ident(bytes[end]));
        let inside = TextRange::new(size(start), size(end));
        if boundary && !except.iter().any(|e| e.contains_range(inside)) {
            return true;
        }
    }
    false
}

/// Where a file reads names: every name expression and every string literal, collected once
/// per file (a file with thousands of fixes must not be walked or parsed once per fix).
#[derive(Debug, Default)]
pub struct NameReads {
    names: rustc_hash::FxHashMap<String, Vec<TextRange>>,
    strings: Vec<TextRange>,
    /// The module reads names dynamically (`__all__`, `globals()`, `getattr`, ...): a string
    /// that holds a name may be a read of it.
    dynamic: bool,
}

impl NameReads {
    pub fn of(text: &str, body: &[Stmt]) -> Self {
        struct Collect<'t> {
            text: &'t str,
            reads: NameReads,
        }
        impl<'a> Visitor<'a> for Collect<'_> {
            fn visit_expr(&mut self, expr: &'a Expr) {
                match expr {
                    Expr::Name(name) => self
                        .reads
                        .names
                        .entry(self.text[name.range].to_string())
                        .or_default()
                        .push(name.range),
                    Expr::StringLiteral(s) => self.reads.strings.push(s.range),
                    _ => {}
                }
                visitor::walk_expr(self, expr);
            }
        }
        let mut collect = Collect {
            text,
            reads: NameReads::default(),
        };
        collect.visit_body(body);
        let mut reads = collect.reads;
        reads.dynamic = [
            "__all__", "globals", "locals", "vars", "eval", "exec", "getattr",
        ]
        .iter()
        .any(|d| reads.names.contains_key(*d));
        reads
    }

    /// True if `name` is read outside every range of `removed`.
    fn read_outside(&self, text: &str, name: &str, removed: &[TextRange]) -> bool {
        let outside = |r: &TextRange| !removed.iter().any(|x| x.contains_range(*r));
        self.names
            .get(name)
            .is_some_and(|at| at.iter().any(outside))
            || self.dynamic
                && self
                    .strings
                    .iter()
                    .filter(|r| outside(r))
                    .any(|r| mentions_outside(&text[*r], name, &[]))
    }
}

/// Deletions of the import statements that only the code `edits` remove or replace used:
/// a name the statement binds is mentioned in the removed code, and the file as the edits
/// leave it reads it nowhere else (`reads`: no name expression outside the removed code, no
/// string that holds it where the module reads names dynamically, nothing in the edits' new
/// text). Statements the edits touch are left to them; an import with other names still read
/// loses only the unused ones (when it is written on one line without comments). Statements
/// `keep` rejects are not considered.
pub fn imports_left_unused(
    text: &str,
    imports: &FileImports,
    keep: impl Fn(&ImportStmt) -> bool,
    reads: &NameReads,
    edits: &[Edit],
) -> Vec<Edit> {
    let removed: Vec<TextRange> = edits.iter().map(|e| e.range).collect();
    // The identifiers of the removed code, once: a file may hold thousands of imports and
    // thousands of fixes.
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let words: rustc_hash::FxHashSet<&str> = removed
        .iter()
        .flat_map(|r| text[*r].split(|c: char| !is_ident(c)))
        .filter(|w| !w.is_empty())
        .collect();
    // The names that only the removed code read: mentioned there, read nowhere else now. This
    // does not depend on the import that binds them, so it is decided once per name.
    let gone_names: rustc_hash::FxHashSet<&str> = words
        .iter()
        .copied()
        .filter(|name| {
            imports.by_name.contains_key(*name)
                && !reads.read_outside(text, name, &removed)
                && !edits
                    .iter()
                    .any(|e| mentions_outside(&e.content, name, &[]))
        })
        .collect();
    let mut out: Vec<Edit> = Vec::new();
    for import in imports.binding(gone_names.iter().copied()) {
        if !keep(import) || removed.iter().any(|r| r.intersect(import.range).is_some()) {
            continue;
        }
        let gone: Vec<bool> = import
            .bound
            .iter()
            .map(|name| gone_names.contains(name.as_str()))
            .collect();
        if !gone.iter().any(|g| *g) {
            continue;
        }
        let edit = if gone.iter().all(|g| *g) {
            delete_stmt(text, import.range, import.sole_in_block)
        } else if text[import.range].contains(['#', '(', '\\', '\n']) {
            None // written over several lines or with comments: left as it is
        } else {
            let kept: Vec<&str> = import
                .aliases
                .iter()
                .zip(&gone)
                .filter(|(_, g)| !**g)
                .map(|(a, _)| &text[*a])
                .collect();
            Some(Edit::replacement(
                import.range,
                format!("{} {}", import.head, kept.join(", ")),
            ))
        };
        if let Some(edit) = edit
            && !edits
                .iter()
                .chain(&out)
                .any(|e| e.range.intersect(edit.range).is_some_and(|i| !i.is_empty()))
        {
            out.push(edit);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use ruff_python_parser::parse_module;

    use super::*;

    #[test]
    fn deleting_the_first_statement_takes_the_blank_lines_after_it() {
        let text = "import pdb\n\nimport torch\n";
        let edit = delete_stmt(text, TextRange::new(0.into(), 10.into()), false).unwrap();
        assert_eq!(edit.range, TextRange::new(0.into(), 12.into()));
        // Elsewhere, the blank lines around stay as they are.
        let text = "import os\nimport pdb\n\nimport torch\n";
        let edit = delete_stmt(text, TextRange::new(10.into(), 20.into()), false).unwrap();
        assert_eq!(edit.range, TextRange::new(10.into(), 21.into()));
    }

    #[test]
    fn line_arithmetic_understands_crlf() {
        let text = "a = 1\r\nb = 2\r\n";
        assert_eq!(line_end(text, TextSize::new(2)), TextSize::new(5));
        assert_eq!(
            line_end_with_newline(text, TextSize::new(2)),
            TextSize::new(7)
        );
        assert_eq!(line_start(text, TextSize::new(9)), TextSize::new(7));
    }

    #[test]
    fn deletes_statements_cleanly() {
        let text = "def f(x):\n    print(x)  # c\n    return x\n";
        let start = text.find("print").unwrap() as u32;
        let stmt = TextRange::at(TextSize::new(start), TextSize::new(8));
        let edit = delete_stmt(text, stmt, false).unwrap();
        assert_eq!(
            crate::fix::apply_edits(text, &[edit]),
            "def f(x):\n    return x\n"
        );
        let edit = delete_stmt(text, stmt, true).unwrap();
        assert_eq!(
            crate::fix::apply_edits(text, &[edit]),
            "def f(x):\n    pass  # c\n    return x\n"
        );
        let text = "a = 1; print(a); b = 2\nprint(a); c = 3\nd = 4; print(d)\n";
        let module = parse_module(text).unwrap();
        let mut out = text.to_string();
        for stmt in module.suite().iter().rev() {
            if let Stmt::Expr(_) = stmt {
                let edit = delete_stmt(&out, stmt.range(), false).unwrap();
                out = crate::fix::apply_edits(&out, &[edit]);
            }
        }
        assert_eq!(out, "a = 1; b = 2\nc = 3\nd = 4\n");
    }

    #[test]
    fn deletes_statement_ranges_and_trailing_blank_lines() {
        let text = "def f():\n    return 1\n    x = 2\n    y = 3\n\n\nz = 4\n\n\nprint(z)\n";
        let module = parse_module(text).unwrap();
        let Stmt::FunctionDef(def) = &module.suite()[0] else {
            panic!()
        };
        let edit = delete_stmts(text, def.body[1].range(), def.body[2].range(), false).unwrap();
        assert_eq!(
            crate::fix::apply_edits(text, &[edit]),
            "def f():\n    return 1\n\n\nz = 4\n\n\nprint(z)\n"
        );
        let last = module.suite()[2].range();
        let edit = delete_stmt(text, last, false).unwrap();
        assert_eq!(
            crate::fix::apply_edits(text, &[edit]),
            "def f():\n    return 1\n    x = 2\n    y = 3\n\n\nz = 4\n"
        );
    }

    #[test]
    fn reindents_without_touching_string_content() {
        let text = "if True:\n    x = '''a\n    b'''\n    # note\n    y = (1,\n  2)\n";
        let module = parse_module(text).unwrap();
        let Stmt::If(stmt) = &module.suite()[0] else {
            panic!()
        };
        let strings = multiline_strings(text, &stmt.body);
        let body = TextRange::new(stmt.body[0].start(), stmt.body[1].end());
        assert_eq!(
            reindent(text, body, "    ", "", &strings),
            "x = '''a\n    b'''\n# note\ny = (1,\n  2)\n"
        );
    }
}
