//! Position queries over sorted, non-overlapping statement lists and nested ranges, by binary
//! search: a query per finding or per call site must not scan a module of thousands of
//! statements (a file of 50,000 lines would turn linear work quadratic).

use ruff_python_ast::Stmt;
use ruff_text_size::{Ranged, TextRange};

/// The statements of `body` that contain `range`: at most two (an empty range where one ends
/// and the next begins). A body is sorted and its statements do not overlap.
pub fn containing(body: &[Stmt], range: TextRange) -> impl Iterator<Item = &Stmt> {
    let first = body.partition_point(|s| s.end() < range.end());
    body[first..]
        .iter()
        .take_while(move |s| s.start() <= range.start())
        .filter(move |s| s.range().contains_range(range))
}

/// The statement lists directly inside a statement, function and class bodies included.
pub fn bodies(stmt: &Stmt) -> Vec<&[Stmt]> {
    match stmt {
        Stmt::FunctionDef(s) => vec![&s.body],
        Stmt::ClassDef(s) => vec![&s.body],
        Stmt::If(s) => std::iter::once(&s.body[..])
            .chain(s.elif_else_clauses.iter().map(|c| &c.body[..]))
            .collect(),
        Stmt::For(s) => vec![&s.body, &s.orelse],
        Stmt::While(s) => vec![&s.body, &s.orelse],
        Stmt::With(s) => vec![&s.body],
        Stmt::Try(s) => std::iter::once(&s.body[..])
            .chain(s.handlers.iter().map(|h| match h {
                ruff_python_ast::ExceptHandler::ExceptHandler(h) => &h.body[..],
            }))
            .chain([&s.orelse[..], &s.finalbody[..]])
            .collect(),
        Stmt::Match(s) => s.cases.iter().map(|c| &c.body[..]).collect(),
        _ => Vec::new(),
    }
}

/// The statement whose range is exactly `range`, at any depth (inside functions and classes
/// too), by binary search at each level.
pub fn statement_at(body: &[Stmt], range: TextRange) -> Option<&Stmt> {
    for stmt in containing(body, range) {
        if stmt.range() == range {
            return Some(stmt);
        }
        if let Some(found) = bodies(stmt)
            .into_iter()
            .find_map(|inner| statement_at(inner, range))
        {
            return Some(found);
        }
    }
    None
}

/// A set of ranges that may nest (loops inside loops), answering "is this range inside one of
/// them" in logarithmic time: only the outermost ranges are kept, sorted.
#[derive(Debug, Default, Clone)]
pub struct Enclosing {
    outermost: Vec<TextRange>,
}

impl Enclosing {
    pub fn new(ranges: impl IntoIterator<Item = TextRange>) -> Self {
        let mut all: Vec<TextRange> = ranges.into_iter().collect();
        // By start, the longer first: a range that starts where another does is inside it.
        all.sort_by(|a, b| a.start().cmp(&b.start()).then(b.end().cmp(&a.end())));
        let mut outermost: Vec<TextRange> = Vec::with_capacity(all.len());
        for range in all {
            match outermost.last() {
                Some(last) if last.contains_range(range) => {}
                _ => outermost.push(range),
            }
        }
        Self { outermost }
    }

    /// True if one of the ranges contains `range`.
    pub fn contains(&self, range: TextRange) -> bool {
        // The outermost ranges are disjoint (syntax ranges nest or do not meet), so the last
        // one starting at or before `range` is the only one that can contain it.
        let after = self
            .outermost
            .partition_point(|r| r.start() <= range.start());
        after > 0 && self.outermost[after - 1].contains_range(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u32, end: u32) -> TextRange {
        TextRange::new(start.into(), end.into())
    }

    #[test]
    fn nested_ranges_answer_like_a_scan() {
        let ranges = [
            r(10, 50),
            r(12, 20),
            r(30, 40),
            r(60, 70),
            r(60, 65),
            r(80, 80),
        ];
        let set = Enclosing::new(ranges);
        for start in 0..90u32 {
            for end in start..90u32 {
                let query = r(start, end);
                let scan = ranges.iter().any(|x| x.contains_range(query));
                assert_eq!(set.contains(query), scan, "{query:?}");
            }
        }
    }
}
