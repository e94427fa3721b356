//! The server's state between messages: open documents, workspaces and their configuration,
//! the latest findings, and the debounced lint schedule.
//!
//! Linting is synchronous on the main-loop thread (16 MiB stack): a change only marks its
//! workspace stale and moves the deadline; when the deadline passes (no change for the debounce
//! interval) every open document of each stale workspace is linted in one engine run. A request
//! about a document first lints its workspace if it is stale, so answers always match the
//! current text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lsp_server::{Message, Notification, Request, RequestId};
use lsp_types::{
    MessageType, PublishDiagnosticsParams, ShowMessageParams, TextDocumentContentChangeEvent, Uri,
};

use crate::config::Overrides;

use super::document::Document;
use super::lint::{self, Finding, Workspace};
use super::position::Encoding;
use super::uri;

/// Debounce between the last change and linting, unless the client or `DLLINT_LSP_DEBOUNCE_MS`
/// says otherwise.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(150);

/// Configuration given on the command line (`dllint server --config ... --select ...`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub config: Option<PathBuf>,
    pub isolated: bool,
    /// Lint each document alone, without the other files of its project as context.
    pub no_project_context: bool,
    pub overrides: Overrides,
}

/// What the client told us it can do.
#[derive(Debug, Clone, Default)]
pub struct ClientCapabilities {
    /// `textDocument.diagnostic`: the client pulls diagnostics, so we do not push them.
    pub pull_diagnostics: bool,
    /// `workspace.diagnostics.refreshSupport`: we may ask it to pull again.
    pub diagnostic_refresh: bool,
    /// `workspace.didChangeWatchedFiles.dynamicRegistration`.
    pub watch_files: bool,
}

pub struct Session {
    pub encoding: Encoding,
    pub client: ClientCapabilities,
    pub debounce: Duration,
    options: Options,
    /// Workspace folders from the client, deepest first.
    folders: Vec<PathBuf>,
    /// Configuration per root (folders, plus parent directories of files outside them).
    workspaces: BTreeMap<PathBuf, Option<Workspace>>,
    documents: BTreeMap<String, Document>,
    findings: BTreeMap<String, Vec<Finding>>,
    /// Documents whose diagnostics must be published at the next lint (opened or edited).
    pending: BTreeSet<String>,
    /// Roots whose open documents must be linted again.
    stale: BTreeSet<PathBuf>,
    deadline: Option<Instant>,
    shown_errors: BTreeSet<String>,
    /// Messages for the client, drained by the main loop.
    outbox: Vec<Message>,
    next_request: i32,
}

impl Session {
    pub fn new(
        options: Options,
        encoding: Encoding,
        client: ClientCapabilities,
        debounce: Duration,
        folders: Vec<PathBuf>,
    ) -> Self {
        let mut session = Session {
            encoding,
            client,
            debounce,
            options,
            folders: Vec::new(),
            workspaces: BTreeMap::new(),
            documents: BTreeMap::new(),
            findings: BTreeMap::new(),
            pending: BTreeSet::new(),
            stale: BTreeSet::new(),
            deadline: None,
            shown_errors: BTreeSet::new(),
            outbox: Vec::new(),
            next_request: 0,
        };
        session.set_folders(folders);
        session
    }

    pub fn take_outbox(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.outbox)
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Send a request to the client (we do not wait for, nor need, its answer).
    pub fn request(&mut self, method: &str, params: serde_json::Value) {
        self.next_request += 1;
        let id = RequestId::from(format!("dllint-{}", self.next_request));
        self.outbox
            .push(Request::new(id, method.to_string(), params).into());
    }

    pub fn notify(&mut self, method: &str, params: impl serde::Serialize) {
        self.outbox
            .push(Notification::new(method.to_string(), params).into());
    }

    pub fn show_error(&mut self, message: String) {
        if self.shown_errors.insert(message.clone()) {
            eprintln!("dllint server: {message}");
            self.notify(
                "window/showMessage",
                ShowMessageParams {
                    typ: MessageType::ERROR,
                    message: format!("dllint: {message}"),
                },
            );
        }
    }

    // --- workspaces -----------------------------------------------------------------------

    pub fn set_folders(&mut self, mut folders: Vec<PathBuf>) {
        folders.sort_by_key(|f| std::cmp::Reverse(f.components().count()));
        folders.dedup();
        self.folders = folders;
        self.reload();
    }

    pub fn folders(&self) -> &[PathBuf] {
        &self.folders
    }

    /// Forget every resolved configuration (a config file or the client's settings changed)
    /// and lint every open document again.
    pub fn reload(&mut self) {
        self.workspaces.clear();
        self.shown_errors.clear();
        let uris: Vec<String> = self.documents.keys().cloned().collect();
        for uri in uris {
            self.mark(&uri, Duration::ZERO);
        }
    }

    /// The root a file belongs to: the deepest workspace folder holding it, else its directory.
    fn root_of(&self, path: &Path) -> PathBuf {
        self.folders
            .iter()
            .find(|f| path.starts_with(f))
            .cloned()
            .unwrap_or_else(|| {
                path.parent()
                    .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
            })
    }

    fn workspace(&mut self, root: &Path) -> Option<&Workspace> {
        if !self.workspaces.contains_key(root) {
            let options = self.options.clone();
            let project_context = !options.no_project_context;
            let workspace = match Workspace::new(
                root.to_path_buf(),
                options.config.as_deref(),
                options.isolated,
                &options.overrides,
                project_context,
            ) {
                Ok(workspace) => Some(workspace),
                Err(error) => {
                    self.show_error(error.to_string());
                    // Keep linting with the defaults while the user fixes the file.
                    Workspace::new(
                        root.to_path_buf(),
                        None,
                        true,
                        &options.overrides,
                        project_context,
                    )
                    .ok()
                }
            };
            self.workspaces.insert(root.to_path_buf(), workspace);
        }
        self.workspaces.get(root)?.as_ref()
    }

    // --- documents ------------------------------------------------------------------------

    pub fn document(&self, uri: &Uri) -> Option<&Document> {
        self.documents.get(uri.as_str())
    }

    pub fn open(&mut self, uri: Uri, language_id: String, version: i32, text: String) {
        let key = uri.as_str().to_string();
        let path = document_path(&uri);
        self.documents.insert(
            key.clone(),
            Document::new(uri, path, language_id, version, text),
        );
        self.mark(&key, Duration::ZERO);
    }

    pub fn change(
        &mut self,
        uri: &Uri,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
    ) {
        let encoding = self.encoding;
        let Some(document) = self.documents.get_mut(uri.as_str()) else {
            eprintln!(
                "dllint server: change for a document that is not open: {}",
                uri.as_str()
            );
            return;
        };
        document.apply(changes, version, encoding);
        self.mark(uri.as_str(), self.debounce);
    }

    pub fn save(&mut self, uri: &Uri) {
        if self.documents.contains_key(uri.as_str()) {
            self.mark(uri.as_str(), Duration::ZERO);
        }
    }

    pub fn close(&mut self, uri: &Uri) {
        let key = uri.as_str();
        let Some(document) = self.documents.remove(key) else {
            return;
        };
        self.findings.remove(key);
        self.pending.remove(key);
        if !self.client.pull_diagnostics {
            self.publish(uri.clone(), Vec::new(), None);
        }
        // Documents that imported it now see the file on disk instead of the buffer.
        let root = self.root_of(&document.path);
        if self
            .documents
            .values()
            .any(|d| self.root_of(&d.path) == root)
        {
            self.stale.insert(root);
            self.schedule(self.debounce);
        }
    }

    /// Files changed on disk (a `git checkout`, another tool): lint open documents again, and
    /// publish what changed.
    pub fn files_changed(&mut self) {
        let roots: Vec<PathBuf> = self
            .documents
            .values()
            .map(|d| self.root_of(&d.path))
            .collect();
        if roots.is_empty() {
            return;
        }
        self.stale.extend(roots);
        self.schedule(self.debounce);
    }

    fn mark(&mut self, key: &str, delay: Duration) {
        let Some(document) = self.documents.get(key) else {
            return;
        };
        let root = self.root_of(&document.path);
        self.pending.insert(key.to_string());
        self.stale.insert(root);
        self.schedule(delay);
    }

    fn schedule(&mut self, delay: Duration) {
        let now = Instant::now();
        self.deadline = Some(match self.deadline {
            Some(existing) if delay.is_zero() => existing.min(now),
            _ => now + delay,
        });
    }

    // --- linting --------------------------------------------------------------------------

    /// Lint every stale workspace (the debounce deadline has passed).
    pub fn flush(&mut self) {
        self.deadline = None;
        let stale = std::mem::take(&mut self.stale);
        for root in stale {
            self.lint_root(&root);
        }
    }

    /// Make the findings of `uri` current before answering a request about it.
    pub fn flush_document(&mut self, uri: &Uri) {
        let Some(document) = self.documents.get(uri.as_str()) else {
            return;
        };
        let root = self.root_of(&document.path);
        if self.stale.remove(&root) || !self.findings.contains_key(uri.as_str()) {
            self.lint_root(&root);
        }
        if self.stale.is_empty() {
            self.deadline = None;
        }
    }

    /// Replace the findings of an open document as if a lint had produced them (no rule has a
    /// fix yet, so code-action tests bring their own).
    #[cfg(test)]
    pub fn set_findings(&mut self, uri: &Uri, findings: Vec<Finding>) {
        if let Some(document) = self.documents.get(uri.as_str()) {
            let root = self.root_of(&document.path);
            self.stale.remove(&root);
            self.pending.remove(uri.as_str());
            self.findings.insert(uri.as_str().to_string(), findings);
        }
    }

    pub fn findings(&self, uri: &Uri) -> &[Finding] {
        self.findings.get(uri.as_str()).map_or(&[], Vec::as_slice)
    }

    fn lint_root(&mut self, root: &Path) {
        let encoding = self.encoding;
        let keys: Vec<String> = self
            .documents
            .iter()
            .filter(|(_, d)| self.root_of(&d.path) == root)
            .map(|(k, _)| k.clone())
            .collect();
        if keys.is_empty() || self.workspace(root).is_none() {
            return;
        }
        let Some(Some(workspace)) = self.workspaces.get(root) else {
            return;
        };
        let documents: Vec<&Document> = keys.iter().filter_map(|k| self.documents.get(k)).collect();
        let outcome = lint::lint(workspace, &documents, encoding);
        for error in outcome.config_errors {
            self.show_error(error);
        }
        let mut others_changed = false;
        for (key, findings) in outcome.findings {
            let Some(document) = self.documents.get(&key) else {
                continue;
            };
            let (uri, version) = (document.uri.clone(), document.version);
            let diagnostics: Vec<lsp_types::Diagnostic> =
                findings.iter().map(|f| f.lsp.clone()).collect();
            let previous = self.findings.insert(key.clone(), findings);
            let changed = previous.is_none_or(|p| p.iter().map(|f| &f.lsp).ne(diagnostics.iter()));
            let pending = self.pending.remove(&key);
            if self.client.pull_diagnostics {
                others_changed |= changed && !pending;
            } else if pending || changed {
                self.publish(uri, diagnostics, Some(version));
            }
        }
        if others_changed && self.client.diagnostic_refresh {
            self.request("workspace/diagnostic/refresh", serde_json::Value::Null);
        }
    }

    fn publish(&mut self, uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>, version: Option<i32>) {
        self.notify(
            "textDocument/publishDiagnostics",
            PublishDiagnosticsParams {
                uri,
                diagnostics,
                version,
            },
        );
    }
}

/// The path a document is linted as. Buffers that are not files (`untitled:Untitled-1`) are
/// linted as a file of that name in the working directory, so configuration still applies.
fn document_path(document: &Uri) -> PathBuf {
    if let Some(path) = uri::to_path(document) {
        return crate::discovery::normalize(&path);
    }
    let name: String = document
        .as_str()
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("untitled")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = if crate::discovery::is_python_file(Path::new(&name)) {
        name
    } else {
        format!("{name}.py")
    };
    std::env::current_dir()
        .unwrap_or_else(|_| PathBuf::from("/"))
        .join(name)
}
