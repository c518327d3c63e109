//! textDocument/didOpen, didChange, didClose. Changes are applied synchronously in the order
//! the notifications arrive (the handler never awaits before applying), versions are checked,
//! and linting is scheduled off the request path.

use std::sync::{Arc, Mutex};

use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams, MessageType,
};
use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};

use crate::document::OpenDocument;
use crate::handlers::diagnostics;
use crate::state::{State, lock};

pub fn did_open(state: &Arc<State>, p: DidOpenTextDocumentParams) {
    let uri = p.text_document.uri;
    let settings = state.settings();
    let path = uri.to_file_path().map(|p| p.into_owned());
    let rel = path
        .as_ref()
        .map(|p| settings.relative(p))
        .unwrap_or_else(|| uri.as_str().to_string());
    let text = p.text_document.text;
    let selected = path.as_ref().is_some_and(|p| settings.selects(p));
    let count = (selected && text.len() <= settings.config.lsp.max_document_bytes && !text.as_bytes().contains(&0))
        .then(|| settings.encoding());
    let doc = OpenDocument::new(path, rel, p.text_document.version, text, count);
    state.docs.insert(uri.clone(), Arc::new(Mutex::new(doc)));
    diagnostics::schedule(state, uri);
}

pub fn did_change(state: &Arc<State>, p: DidChangeTextDocumentParams) {
    let uri = p.text_document.uri;
    let Some(doc) = state.doc(&uri) else {
        log(
            state,
            MessageType::WARNING,
            format!("didChange for a document that is not open: {}", uri.as_str()),
        );
        return;
    };
    let changes: Vec<TextDocumentContentChangeEvent> = p.content_changes;
    let result = lock(&doc).apply(p.text_document.version, changes);
    match result {
        Ok(()) => diagnostics::schedule(state, uri),
        Err(e) => log(
            state,
            MessageType::WARNING,
            format!("didChange {} refused: {e}", uri.as_str()),
        ),
    }
}

pub fn did_close(state: &Arc<State>, p: DidCloseTextDocumentParams) {
    let uri: Uri = p.text_document.uri;
    state.docs.remove(&uri);
    state.lint_generation.remove(&uri);
    if state.findings.remove(&uri).is_some() {
        let client = state.client.clone();
        tokio::spawn(async move { client.publish_diagnostics(uri, Vec::new(), None).await });
    }
}

pub fn log(state: &State, ty: MessageType, msg: String) {
    tracing::warn!("{msg}");
    let client = state.client.clone();
    tokio::spawn(async move { client.log_message(ty, msg).await });
}
