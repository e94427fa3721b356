//! Request handlers: code actions (the rule's fix, "Disable DLxxx for this line", fix-all),
//! hover (the rule's documentation over a finding) and pull diagnostics. Each lints the
//! document first if it changed since the last run, so edits always apply to the current text.

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, DocumentDiagnosticParams,
    DocumentDiagnosticReport, DocumentDiagnosticReportResult, FullDocumentDiagnosticReport, Hover,
    HoverContents, HoverParams, MarkupContent, MarkupKind, Range,
    RelatedFullDocumentDiagnosticReport, TextDocumentIdentifier, TextEdit, Uri, WorkspaceEdit,
};
use serde::Deserialize;
use serde_json::Value;

use crate::diagnostic::{Applicability, Edit};

use super::document::Document;
use super::lint::{Finding, safe_fix_edits};
use super::session::Session;

/// The kind of the fix-all source action (for `editor.codeActionsOnSave`).
pub const FIX_ALL_KIND: &str = "source.fixAll.dllint";

/// `textDocument/codeAction` parameters, read leniently: clients send back context
/// diagnostics in varied shapes (Neovim 0.7 omits their range and message), and one odd
/// diagnostic must not fail the request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeActionRequest {
    pub text_document: TextDocumentIdentifier,
    pub range: Range,
    #[serde(default)]
    pub context: CodeActionRequestContext,
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeActionRequestContext {
    #[serde(default)]
    pub diagnostics: Vec<Value>,
    #[serde(default)]
    pub only: Option<Vec<CodeActionKind>>,
}

/// Whether a context diagnostic sent by the client designates `finding`: same code, and the
/// same range, or no range (then the finding must be on the requested lines).
fn designates(context: &Value, finding: &Finding, requested: Range) -> bool {
    let code = context["code"]
        .as_str()
        .or_else(|| context["data"]["code"].as_str());
    if code != Some(finding.rule.code) {
        return false;
    }
    match serde_json::from_value::<Range>(context["range"].clone()) {
        Ok(range) => range == finding.lsp.range,
        Err(_) => {
            finding.lsp.range.start.line <= requested.end.line
                && requested.start.line <= finding.lsp.range.end.line
        }
    }
}

pub fn code_action(session: &mut Session, params: CodeActionRequest) -> Vec<CodeActionOrCommand> {
    let uri = params.text_document.uri;
    session.flush_document(&uri);
    let encoding = session.encoding;
    let Some(document) = session.document(&uri) else {
        return Vec::new();
    };
    let findings = session.findings(&uri);
    let only = params.context.only.as_deref();
    let wants = |kind: &CodeActionKind| {
        only.is_none_or(|only| {
            only.iter().any(|o| {
                kind.as_str() == o.as_str()
                    || kind.as_str().starts_with(&format!("{}.", o.as_str()))
            })
        })
    };
    let edit = |edits: &[Edit]| workspace_edit(&uri, document, edits, encoding);
    let mut actions = Vec::new();
    // The findings the user is looking at: under the cursor or selection, or sent back by the
    // client as the context of the request.
    let selected = findings.iter().filter(|f| {
        intersects(f.lsp.range, params.range)
            || params
                .context
                .diagnostics
                .iter()
                .any(|d| designates(d, f, params.range))
    });
    for finding in selected {
        let code = finding.rule.code;
        if let Some(fix) = &finding.fix
            && wants(&CodeActionKind::QUICKFIX)
        {
            actions.push(CodeAction {
                title: format!("{code}: {}", fix.title),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![finding.lsp.clone()]),
                edit: Some(edit(&fix.edits)),
                is_preferred: Some(fix.applicability == Applicability::Safe),
                ..CodeAction::default()
            });
        }
        if let Some(noqa) = &finding.noqa
            && wants(&CodeActionKind::QUICKFIX)
        {
            actions.push(CodeAction {
                title: format!("Disable {code} for this line"),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![finding.lsp.clone()]),
                edit: Some(edit(std::slice::from_ref(noqa))),
                is_preferred: Some(false),
                ..CodeAction::default()
            });
        }
    }
    let fix_all = CodeActionKind::from(FIX_ALL_KIND);
    if wants(&fix_all) {
        let edits = safe_fix_edits(findings);
        if !edits.is_empty() {
            actions.push(CodeAction {
                title: "dllint: Fix all safely fixable problems".to_string(),
                kind: Some(fix_all),
                edit: Some(edit(&edits)),
                ..CodeAction::default()
            });
        }
    }
    actions
        .into_iter()
        .map(CodeActionOrCommand::CodeAction)
        .collect()
}

pub fn hover(session: &mut Session, params: HoverParams) -> Option<Hover> {
    let uri = params.text_document_position_params.text_document.uri;
    let position = params.text_document_position_params.position;
    session.flush_document(&uri);
    let here = Range::new(position, position);
    let found: Vec<&Finding> = session
        .findings(&uri)
        .iter()
        .filter(|f| intersects(f.lsp.range, here))
        .collect();
    if found.is_empty() {
        return None;
    }
    let mut rules = Vec::new();
    for finding in &found {
        if !rules.contains(&finding.rule) {
            rules.push(finding.rule);
        }
    }
    let sections: Vec<String> = rules
        .iter()
        .map(|rule| {
            let messages: Vec<String> = found
                .iter()
                .filter(|f| f.rule == *rule)
                .map(|f| format!("> {}", f.lsp.message.replace('\n', "\n>\n> ")))
                .collect();
            format!(
                "**{}** `{}` ([docs]({}))\n\n{}\n\n---\n\n{}",
                rule.code,
                rule.name,
                rule.url(),
                messages.join("\n\n"),
                rule.documentation()
            )
        })
        .collect();
    let first = found[0].lsp.range;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: sections.join("\n\n---\n\n"),
        }),
        range: Some(first),
    })
}

pub fn diagnostic(
    session: &mut Session,
    params: DocumentDiagnosticParams,
) -> DocumentDiagnosticReportResult {
    let uri = params.text_document.uri;
    session.flush_document(&uri);
    let items = session
        .findings(&uri)
        .iter()
        .map(|f| f.lsp.clone())
        .collect();
    DocumentDiagnosticReportResult::Report(DocumentDiagnosticReport::Full(
        RelatedFullDocumentDiagnosticReport {
            related_documents: None,
            full_document_diagnostic_report: FullDocumentDiagnosticReport {
                result_id: None,
                items,
            },
        },
    ))
}

/// Closed ranges intersect (an empty cursor range at a finding's edge counts).
fn intersects(a: Range, b: Range) -> bool {
    let key = |p: lsp_types::Position| (p.line, p.character);
    key(a.start) <= key(b.end) && key(b.start) <= key(a.end)
}

fn workspace_edit(
    uri: &Uri,
    document: &Document,
    edits: &[Edit],
    encoding: super::position::Encoding,
) -> WorkspaceEdit {
    let lines = document.lines();
    let edits = edits
        .iter()
        .map(|e| TextEdit {
            range: lines.range(e.range, encoding),
            new_text: e.content.clone(),
        })
        .collect();
    WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..WorkspaceEdit::default()
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::time::Duration;

    use ruff_text_size::{TextRange, TextSize};

    use super::*;
    use crate::diagnostic::Fix;
    use crate::server::position::Encoding;
    use crate::server::session::{ClientCapabilities, Options};

    fn finding(
        session: &Session,
        uri: &Uri,
        at: (u32, u32),
        fix: Option<(Applicability, &str)>,
    ) -> Finding {
        let rule = crate::rules::find_rule("DL305").unwrap();
        let range = TextRange::new(TextSize::new(at.0), TextSize::new(at.1));
        let document = session.document(uri).unwrap();
        Finding {
            rule,
            range,
            fix: fix.map(|(applicability, content)| Fix {
                title: "Replace it".into(),
                applicability,
                edits: vec![Edit::replacement(range, content)],
                other_files: Vec::new(),
            }),
            noqa: None,
            lsp: lsp_types::Diagnostic {
                range: document.lines().range(range, Encoding::Utf16),
                code: Some(lsp_types::NumberOrString::String(rule.code.into())),
                ..lsp_types::Diagnostic::default()
            },
        }
    }

    fn request(uri: &Uri, range: Range, only: Option<Vec<CodeActionKind>>) -> CodeActionRequest {
        CodeActionRequest {
            text_document: TextDocumentIdentifier { uri: uri.clone() },
            range,
            context: CodeActionRequestContext {
                diagnostics: Vec::new(),
                only,
            },
        }
    }

    fn actions(result: Vec<CodeActionOrCommand>) -> Vec<CodeAction> {
        result
            .into_iter()
            .map(|a| match a {
                CodeActionOrCommand::CodeAction(action) => action,
                CodeActionOrCommand::Command(_) => panic!("commands are not used"),
            })
            .collect()
    }

    #[test]
    fn offers_rule_fixes_and_fix_all() {
        let mut session = Session::new(
            Options::default(),
            Encoding::Utf16,
            ClientCapabilities::default(),
            Duration::ZERO,
            Vec::new(),
        );
        let uri = Uri::from_str("file:///tmp/dllint-fix-test/t.py").unwrap();
        session.open(
            uri.clone(),
            "python".into(),
            1,
            "a = 1\nb = 2\nc = 3\n".into(),
        );
        let findings = vec![
            finding(&session, &uri, (4, 5), Some((Applicability::Safe, "10"))),
            finding(
                &session,
                &uri,
                (10, 11),
                Some((Applicability::Unsafe, "20")),
            ),
            finding(&session, &uri, (16, 17), Some((Applicability::Safe, "30"))),
        ];
        session.set_findings(&uri, findings);

        // On line 1: the unsafe fix is offered but not preferred.
        let line = |l| {
            Range::new(
                lsp_types::Position::new(l, 0),
                lsp_types::Position::new(l, 5),
            )
        };
        let found = actions(code_action(&mut session, request(&uri, line(1), None)));
        let quickfix = found
            .iter()
            .find(|a| a.title == "DL305: Replace it")
            .unwrap();
        assert_eq!(quickfix.kind, Some(CodeActionKind::QUICKFIX));
        assert_eq!(quickfix.is_preferred, Some(false));
        let edits = &quickfix.edit.as_ref().unwrap().changes.as_ref().unwrap()[&uri];
        assert_eq!(edits[0].new_text, "20");
        assert_eq!(
            edits[0].range,
            Range::new(
                lsp_types::Position::new(1, 4),
                lsp_types::Position::new(1, 5)
            )
        );

        // Fix all: only the safe fixes, in one edit; and only it when `only` asks for source.
        let source = Some(vec![CodeActionKind::SOURCE]);
        let found = actions(code_action(&mut session, request(&uri, line(0), source)));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, Some(CodeActionKind::from(FIX_ALL_KIND)));
        let edits = &found[0].edit.as_ref().unwrap().changes.as_ref().unwrap()[&uri];
        let texts: Vec<&str> = edits.iter().map(|e| e.new_text.as_str()).collect();
        assert_eq!(texts, ["10", "30"]);

        // A safe fix is preferred; quickfix-only requests get no source action.
        let found = actions(code_action(
            &mut session,
            request(&uri, line(0), Some(vec![CodeActionKind::QUICKFIX])),
        ));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].is_preferred, Some(true));
    }
}
