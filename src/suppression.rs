//! `# noqa` suppressions: `# noqa` (all), `# noqa: DL101, DL305` on the line where a finding
//! starts, and file-level `# dllint: noqa` / `# dllint: noqa: DL201`. Codes of other tools in a
//! `# noqa` list are left alone (they neither suppress nor are reported).

pub mod edit;

use ruff_python_trivia::CommentRanges;

use crate::diagnostic::Diagnostic;
use crate::source::SourceText;

/// What one `noqa` directive suppresses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Directive {
    All,
    Codes(Vec<String>),
}

impl Directive {
    fn suppresses(&self, code: &str) -> bool {
        match self {
            Directive::All => true,
            Directive::Codes(codes) => codes.iter().any(|c| c == code),
        }
    }

    fn merge(&mut self, other: Directive) {
        match (self, other) {
            (this @ Directive::Codes(_), Directive::All) => *this = Directive::All,
            (Directive::Codes(mine), Directive::Codes(more)) => mine.extend(more),
            (Directive::All, _) => {}
        }
    }
}

/// All suppressions of one file. Lines are kept as byte ranges, so that suppressions can be
/// applied after the text is gone (project rules run once every file has been read).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Suppressions {
    /// (start, end) byte offsets of a line holding a `# noqa`, sorted, with its directive.
    lines: Vec<(u32, u32, Directive)>,
    file: Option<Directive>,
}

impl Suppressions {
    pub fn from_comments(source: &SourceText, comments: &CommentRanges) -> Self {
        let text = source.text();
        let mut suppressions = Suppressions::default();
        for range in comments {
            let comment = &text[range];
            // Fast reject: every directive contains `noqa` (any case), so a `q` or `Q`.
            if memchr::memchr2(b'q', b'Q', comment.as_bytes()).is_none() {
                continue;
            }
            if let Some(directive) = parse_file_directive(comment) {
                match &mut suppressions.file {
                    Some(existing) => existing.merge(directive),
                    None => suppressions.file = Some(directive),
                }
            } else if let Some(directive) = parse_line_directive(comment) {
                let start = text[..range.start().to_usize()]
                    .rfind(['\n', '\r'])
                    .map_or(0, |p| p + 1) as u32;
                let end = u32::from(range.end());
                match suppressions.lines.iter_mut().find(|(s, _, _)| *s == start) {
                    Some((_, _, existing)) => existing.merge(directive),
                    None => suppressions.lines.push((start, end, directive)),
                }
            }
        }
        suppressions.lines.sort_by_key(|(start, _, _)| *start);
        suppressions
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.file.is_none()
    }

    /// True if the diagnostic is suppressed. `DL000` (unreadable or unparsable file) never is.
    pub fn suppresses(&self, diagnostic: &Diagnostic) -> bool {
        let code = diagnostic.code;
        if code == "DL000" {
            return false;
        }
        if self.file.as_ref().is_some_and(|d| d.suppresses(code)) {
            return true;
        }
        let at = u32::from(diagnostic.range.start());
        let index = self.lines.partition_point(|(start, _, _)| *start <= at);
        index > 0 && {
            let (start, end, directive) = &self.lines[index - 1];
            *start <= at && at <= *end && directive.suppresses(code)
        }
    }

    /// Remove suppressed diagnostics.
    pub fn filter(&self, diagnostics: &mut Vec<Diagnostic>) {
        if !self.is_empty() {
            diagnostics.retain(|d| !self.suppresses(d));
        }
    }
}

/// `# dllint: noqa` or `# dllint: noqa: DL201, DL305` (the whole comment).
fn parse_file_directive(comment: &str) -> Option<Directive> {
    let rest = comment.strip_prefix('#')?.trim_start();
    let rest = rest.strip_prefix("dllint:")?.trim_start();
    let rest = strip_prefix_ignore_case(rest, "noqa")?;
    parse_codes(rest)
}

/// The first `# noqa` in a comment (which may follow other text: `# note # noqa: DL101`).
fn parse_line_directive(comment: &str) -> Option<Directive> {
    let lower = comment.to_ascii_lowercase();
    let mut search = 0;
    while let Some(found) = lower[search..].find("noqa") {
        let at = search + found;
        let before = comment[..at].trim_end();
        if before.ends_with('#')
            && let Some(directive) = parse_codes(&comment[at + 4..])
        {
            return Some(directive);
        }
        search = at + 4;
    }
    None
}

/// After `noqa`: nothing (all), or `: CODE[, CODE ...]`. A word glued to `noqa` (`noqafoo`)
/// is not a directive.
fn parse_codes(rest: &str) -> Option<Directive> {
    if rest.is_empty()
        || rest.starts_with(char::is_whitespace) && !rest.trim_start().starts_with(':')
    {
        return Some(Directive::All);
    }
    let rest = rest.trim_start().strip_prefix(':')?;
    let mut codes = Vec::new();
    for token in rest
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        if is_code(token) {
            codes.push(token.to_string());
        } else {
            break;
        }
    }
    Some(if codes.is_empty() {
        Directive::All
    } else {
        Directive::Codes(codes)
    })
}

fn is_code(token: &str) -> bool {
    let letters = token.chars().take_while(char::is_ascii_uppercase).count();
    letters > 0 && letters < token.len() && token[letters..].chars().all(|c| c.is_ascii_digit())
}

fn strip_prefix_ignore_case<'s>(text: &'s str, prefix: &str) -> Option<&'s str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_directives() {
        assert_eq!(parse_line_directive("# noqa"), Some(Directive::All));
        assert_eq!(parse_line_directive("# NOQA"), Some(Directive::All));
        assert_eq!(
            parse_line_directive("# noqa: DL101, DL305"),
            Some(Directive::Codes(vec!["DL101".into(), "DL305".into()]))
        );
        assert_eq!(
            parse_line_directive("# noqa:DL101 E501 trailing words"),
            Some(Directive::Codes(vec!["DL101".into(), "E501".into()]))
        );
        assert_eq!(
            parse_line_directive("# keep this # noqa: F401"),
            Some(Directive::Codes(vec!["F401".into()]))
        );
        assert_eq!(parse_line_directive("# noqafoo"), None);
        assert_eq!(parse_line_directive("# this is not noqa"), None);
    }

    #[test]
    fn file_directives() {
        assert_eq!(parse_file_directive("# dllint: noqa"), Some(Directive::All));
        assert_eq!(
            parse_file_directive("# dllint: noqa: DL201"),
            Some(Directive::Codes(vec!["DL201".into()]))
        );
        assert_eq!(parse_file_directive("# ruff: noqa"), None);
    }
}
