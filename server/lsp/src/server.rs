//! The LSP mapping: each method hands off to its handler. Nothing else lives here.

use std::sync::Arc;

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use crate::handlers::{self, code_action, commands, configuration, diagnostics, guarded, hover, inlay_hint, text_sync};
use crate::state::State;

pub struct Server {
    pub state: Arc<State>,
}

impl Server {
    pub fn new(client: Client) -> Self {
        Server {
            state: Arc::new(State::new(client)),
        }
    }

    /// `promptmeter/composition`.
    pub async fn composition(&self, params: Option<commands::CompositionParams>) -> Result<Value> {
        commands::composition(self.state.clone(), params).await
    }
}

fn roots(p: &InitializeParams) -> Vec<std::path::PathBuf> {
    let mut out: Vec<std::path::PathBuf> = p
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
        .collect();
    #[allow(deprecated)]
    if out.is_empty()
        && let Some(p) = p.root_uri.as_ref().and_then(|u| u.to_file_path())
    {
        out.push(p.into_owned());
    }
    out
}

impl LanguageServer for Server {
    async fn initialize(&self, p: InitializeParams) -> Result<InitializeResult> {
        let roots = roots(&p);
        let init = p.initialization_options.clone().unwrap_or(Value::Null);
        let _ = self.state.client_caps.set(p.capabilities.clone());
        self.state.reconfigure(|s| {
            s.roots = roots;
            s.editor = vec![init];
        });
        Ok(InitializeResult {
            server_info: Some(ServerInfo {
                name: "promptmeter".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::INCREMENTAL)),
                position_encoding: Some(PositionEncodingKind::UTF16),
                inlay_hint_provider: Some(OneOf::Left(true)),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                    code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                    ..Default::default()
                })),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: commands::COMMANDS.iter().map(|c| c.to_string()).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        configuration::report_errors(&self.state).await;
        crate::feed::start(&self.state);
    }

    async fn shutdown(&self) -> Result<()> {
        crate::feed::stop(&self.state);
        Ok(())
    }

    async fn did_open(&self, p: DidOpenTextDocumentParams) {
        let _ = guarded("textDocument/didOpen", || {
            text_sync::did_open(&self.state, p);
            Ok(())
        });
    }

    async fn did_change(&self, p: DidChangeTextDocumentParams) {
        let _ = guarded("textDocument/didChange", || {
            text_sync::did_change(&self.state, p);
            Ok(())
        });
    }

    async fn did_close(&self, p: DidCloseTextDocumentParams) {
        let _ = guarded("textDocument/didClose", || {
            text_sync::did_close(&self.state, p);
            Ok(())
        });
    }

    async fn did_save(&self, p: DidSaveTextDocumentParams) {
        diagnostics::schedule(&self.state, p.text_document.uri);
    }

    async fn did_change_configuration(&self, p: DidChangeConfigurationParams) {
        configuration::did_change_configuration(self.state.clone(), p).await;
    }

    async fn inlay_hint(&self, p: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        guarded("textDocument/inlayHint", || inlay_hint::inlay_hint(&self.state, p))
    }

    async fn hover(&self, p: HoverParams) -> Result<Option<Hover>> {
        guarded("textDocument/hover", || hover::hover(&self.state, p))
    }

    async fn code_action(&self, p: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        guarded("textDocument/codeAction", || code_action::code_action(&self.state, p))
    }

    async fn execute_command(&self, p: ExecuteCommandParams) -> Result<Option<Value>> {
        handlers::commands::execute_command(self.state.clone(), p).await
    }
}
