//! The main loop: initialisation handshake, routing of requests and notifications, the
//! debounce timer, and the guarantees that keep the server alive — a malformed message gets a
//! JSON-RPC error, an unknown request `MethodNotFound`, and a panic in a handler an
//! `InternalError` response instead of a dead server.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use lsp_server::{ErrorCode, Message, Notification, Request, Response};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, DiagnosticOptions,
    DiagnosticServerCapabilities, DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidChangeWorkspaceFoldersParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DidSaveTextDocumentParams, HoverProviderCapability, InitializeResult, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri, WorkspaceFoldersServerCapabilities,
    WorkspaceServerCapabilities,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::position::Encoding;
use super::requests::{self, FIX_ALL_KIND};
use super::session::{ClientCapabilities, DEFAULT_DEBOUNCE, Options, Session};
use super::transport::{Incoming, Output};
use super::uri;

/// Configuration files whose change means re-resolving settings.
const CONFIG_FILES: [&str; 3] = ["pyproject.toml", "dllint.toml", ".dllint.toml"];

/// LSP's "server not initialized" error code.
const SERVER_NOT_INITIALIZED: i32 = -32002;

/// How the loop ended, for the exit code: 0 after `shutdown` + `exit`, 1 otherwise (LSP spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Clean,
    Abrupt,
}

pub struct Server {
    options: Options,
    session: Option<Session>,
    shutting_down: bool,
    output: Output,
}

type HandlerResult = Result<Value, (i32, String)>;

impl Server {
    pub fn new(options: Options, output: Output) -> Self {
        Server {
            options,
            session: None,
            shutting_down: false,
            output,
        }
    }

    /// Serve until `exit` or until the client goes away.
    pub fn run(mut self, incoming: Receiver<Incoming>) -> Ending {
        loop {
            let next = match self.session.as_ref().and_then(Session::deadline) {
                Some(deadline) => {
                    let now = Instant::now();
                    if deadline <= now {
                        let _ = self.guarded("lint", |s| s.flush()); // logged
                        if self.drain().is_err() {
                            return Ending::Abrupt;
                        }
                        continue;
                    }
                    match incoming.recv_timeout(deadline - now) {
                        Ok(message) => message,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => return Ending::Abrupt,
                    }
                }
                None => match incoming.recv() {
                    Ok(message) => message,
                    Err(_) => return Ending::Abrupt,
                },
            };
            let sent = match next {
                Incoming::Closed => return Ending::Abrupt,
                Incoming::Malformed { id, error } => {
                    eprintln!("dllint server: malformed message: {error}");
                    let code = if id.is_some() {
                        ErrorCode::InvalidRequest
                    } else {
                        ErrorCode::ParseError
                    };
                    self.output.send_error(id, code as i32, &error)
                }
                Incoming::Message(Message::Request(request)) => {
                    let response = self.request(request);
                    self.output.send(response)
                }
                Incoming::Message(Message::Notification(notification)) => {
                    if notification.method == "exit" {
                        return if self.shutting_down {
                            Ending::Clean
                        } else {
                            Ending::Abrupt
                        };
                    }
                    self.notification(notification);
                    Ok(())
                }
                // Answers to our own requests (registration, refresh): nothing to do.
                Incoming::Message(Message::Response(_)) => Ok(()),
            };
            if sent.and_then(|()| self.drain()).is_err() {
                return Ending::Abrupt; // the client is gone
            }
        }
    }

    fn drain(&mut self) -> std::io::Result<()> {
        if let Some(session) = &mut self.session {
            for message in session.take_outbox() {
                self.output.send(message)?;
            }
        }
        Ok(())
    }

    /// Run `f` on the session; a panic is logged and becomes an error instead of ending the
    /// server (the session's data stays usable: handlers mutate it only through whole steps).
    fn guarded<R>(&mut self, what: &str, f: impl FnOnce(&mut Session) -> R) -> Result<R, String> {
        let session = self.session.as_mut().ok_or("server not initialized")?;
        catch_unwind(AssertUnwindSafe(|| f(session))).map_err(|payload| {
            let message = panic_message(payload.as_ref());
            eprintln!("dllint server: internal error in {what}: {message}");
            format!("internal error in {what}: {message}")
        })
    }

    fn request(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        let result = if request.method == "initialize" {
            if self.session.is_some() {
                Err((
                    ErrorCode::InvalidRequest as i32,
                    "already initialized".to_string(),
                ))
            } else {
                self.initialize(request.params)
            }
        } else if self.session.is_none() {
            Err((SERVER_NOT_INITIALIZED, "server not initialized".to_string()))
        } else if self.shutting_down {
            Err((
                ErrorCode::InvalidRequest as i32,
                "server is shutting down".to_string(),
            ))
        } else {
            self.dispatch(request)
        };
        match result {
            Ok(value) => Response {
                id,
                result: Some(value),
                error: None,
            },
            Err((code, message)) => Response::new_err(id, code, message),
        }
    }

    fn dispatch(&mut self, request: Request) -> HandlerResult {
        let Request { method, params, .. } = request;
        match method.as_str() {
            "shutdown" => {
                self.shutting_down = true;
                Ok(Value::Null)
            }
            "textDocument/codeAction" => self.call(&method, params, requests::code_action),
            "textDocument/hover" => self.call(&method, params, requests::hover),
            "textDocument/diagnostic" => self.call(&method, params, requests::diagnostic),
            _ => Err((
                ErrorCode::MethodNotFound as i32,
                format!("unknown method `{method}`"),
            )),
        }
    }

    fn call<P: DeserializeOwned, R: Serialize>(
        &mut self,
        method: &str,
        params: Value,
        handler: impl FnOnce(&mut Session, P) -> R,
    ) -> HandlerResult {
        let params: P = serde_json::from_value(params).map_err(|e| {
            (
                ErrorCode::InvalidParams as i32,
                format!("invalid params for `{method}`: {e}"),
            )
        })?;
        let result = self
            .guarded(method, |session| handler(session, params))
            .map_err(|message| (ErrorCode::InternalError as i32, message))?;
        serde_json::to_value(result).map_err(|e| (ErrorCode::InternalError as i32, e.to_string()))
    }

    fn notification(&mut self, notification: Notification) {
        if self.session.is_none() || self.shutting_down {
            return; // only `exit` matters now (handled by the loop)
        }
        let Notification { method, params } = notification;
        let result = match method.as_str() {
            "initialized" => self.on(&method, params, |s, _: Value| {
                register_watchers(s);
            }),
            "textDocument/didOpen" => {
                self.on(&method, params, |s, p: DidOpenTextDocumentParams| {
                    let d = p.text_document;
                    s.open(d.uri, d.language_id, d.version, d.text);
                })
            }
            "textDocument/didChange" => {
                self.on(&method, params, |s, p: DidChangeTextDocumentParams| {
                    s.change(
                        &p.text_document.uri,
                        p.text_document.version,
                        p.content_changes,
                    );
                })
            }
            "textDocument/didSave" => {
                self.on(&method, params, |s, p: DidSaveTextDocumentParams| {
                    s.save(&p.text_document.uri);
                })
            }
            "textDocument/didClose" => {
                self.on(&method, params, |s, p: DidCloseTextDocumentParams| {
                    s.close(&p.text_document.uri);
                })
            }
            "workspace/didChangeWatchedFiles" => {
                self.on(&method, params, |s, p: DidChangeWatchedFilesParams| {
                    let is_config = |uri: &Uri| {
                        uri::to_path(uri)
                            .and_then(|p| p.file_name().map(|n| n.to_os_string()))
                            .is_some_and(|n| CONFIG_FILES.iter().any(|c| n == *c))
                    };
                    if p.changes.iter().any(|c| is_config(&c.uri)) {
                        s.reload();
                    } else if !p.changes.is_empty() {
                        s.files_changed();
                    }
                })
            }
            "workspace/didChangeConfiguration" => {
                self.on(&method, params, |s, _: Value| s.reload())
            }
            "workspace/didChangeWorkspaceFolders" => {
                self.on(&method, params, |s, p: DidChangeWorkspaceFoldersParams| {
                    let removed: Vec<PathBuf> = p
                        .event
                        .removed
                        .iter()
                        .filter_map(|f| uri::to_path(&f.uri))
                        .collect();
                    let mut folders: Vec<PathBuf> = s
                        .folders()
                        .iter()
                        .filter(|f| !removed.contains(f))
                        .cloned()
                        .collect();
                    folders.extend(p.event.added.iter().filter_map(|f| uri::to_path(&f.uri)));
                    s.set_folders(folders);
                })
            }
            // `$/cancelRequest`, `$/setTrace` and any other notification: nothing to do.
            _ => Ok(()),
        };
        if let Err(message) = result {
            eprintln!("dllint server: {message}");
        }
    }

    fn on<P: DeserializeOwned>(
        &mut self,
        method: &str,
        params: Value,
        handler: impl FnOnce(&mut Session, P),
    ) -> Result<(), String> {
        let params: P = serde_json::from_value(params)
            .map_err(|e| format!("invalid params for `{method}`: {e}"))?;
        self.guarded(method, |session| handler(session, params))
    }

    fn initialize(&mut self, params: Value) -> HandlerResult {
        let capabilities = &params["capabilities"];
        let offered: Vec<String> = capabilities["general"]["positionEncodings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let encoding = Encoding::negotiate(&offered);
        let client = ClientCapabilities {
            pull_diagnostics: capabilities["textDocument"]["diagnostic"].is_object(),
            diagnostic_refresh: capabilities["workspace"]["diagnostics"]["refreshSupport"] == true,
            watch_files: capabilities["workspace"]["didChangeWatchedFiles"]["dynamicRegistration"]
                == true,
        };
        let debounce = params["initializationOptions"]["debounceMs"]
            .as_u64()
            .or_else(|| std::env::var("DLLINT_LSP_DEBOUNCE_MS").ok()?.parse().ok())
            .map_or(DEFAULT_DEBOUNCE, Duration::from_millis);
        let session = Session::new(
            self.options.clone(),
            encoding,
            client.clone(),
            debounce,
            workspace_folders(&params),
        );
        self.session = Some(session);

        let result = InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(encoding.kind()),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                            include_text: Some(false),
                        })),
                        ..TextDocumentSyncOptions::default()
                    },
                )),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![
                            CodeActionKind::QUICKFIX,
                            CodeActionKind::from(FIX_ALL_KIND),
                        ]),
                        ..CodeActionOptions::default()
                    },
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                diagnostic_provider: client.pull_diagnostics.then(|| {
                    DiagnosticServerCapabilities::Options(DiagnosticOptions {
                        identifier: Some("dllint".to_string()),
                        inter_file_dependencies: true,
                        workspace_diagnostics: false,
                        ..DiagnosticOptions::default()
                    })
                }),
                workspace: Some(WorkspaceServerCapabilities {
                    workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                        supported: Some(true),
                        change_notifications: Some(lsp_types::OneOf::Left(true)),
                    }),
                    file_operations: None,
                }),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "dllint".to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
        };
        serde_json::to_value(result).map_err(|e| (ErrorCode::InternalError as i32, e.to_string()))
    }
}

/// The workspace folders of `initialize`: `workspaceFolders`, else `rootUri`, else `rootPath`.
fn workspace_folders(params: &Value) -> Vec<PathBuf> {
    let parse = |text: &str| text.parse::<Uri>().ok().and_then(|u| uri::to_path(&u));
    let folders: Vec<PathBuf> = params["workspaceFolders"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["uri"].as_str().and_then(parse))
                .collect()
        })
        .unwrap_or_default();
    if !folders.is_empty() {
        return folders;
    }
    if let Some(root) = params["rootUri"].as_str().and_then(parse) {
        return vec![root];
    }
    params["rootPath"]
        .as_str()
        .map(PathBuf::from)
        .into_iter()
        .collect()
}

/// Ask the client to tell us about configuration files (and Python files changed on disk).
fn register_watchers(session: &mut Session) {
    if !session.client.watch_files {
        return;
    }
    let watchers: Vec<Value> = [
        "**/{pyproject.toml,dllint.toml,.dllint.toml}",
        "**/*.{py,pyi}",
    ]
    .iter()
    .map(|glob| serde_json::json!({ "globPattern": glob }))
    .collect();
    session.request(
        "client/registerCapability",
        serde_json::json!({
            "registrations": [{
                "id": "dllint-watched-files",
                "method": "workspace/didChangeWatchedFiles",
                "registerOptions": { "watchers": watchers },
            }]
        }),
    );
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_handler_becomes_an_internal_error() {
        let mut server = Server::new(Options::default(), Output::new(std::io::sink()));
        server
            .initialize(serde_json::json!({ "capabilities": {} }))
            .unwrap();
        let result = server.call("test/panic", Value::Null, |_, _: Value| -> Value {
            panic!("boom");
        });
        let (code, message) = result.unwrap_err();
        assert_eq!(code, ErrorCode::InternalError as i32);
        assert!(message.contains("boom"), "{message}");
        // The server still answers afterwards.
        let ok = server.call("test/ok", Value::Null, |_, _: Value| 42);
        assert_eq!(ok, Ok(serde_json::json!(42)));
    }
}
