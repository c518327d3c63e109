//! workspace/didChangeConfiguration: merge the client's settings over the file layers and
//! apply them without a restart (inlay hints refreshed, diagnostics re-run). When the client
//! sends no settings, they are pulled with workspace/configuration (section `promptmeter`).

use std::sync::Arc;

use tower_lsp_server::ls_types::{ConfigurationItem, DidChangeConfigurationParams, MessageType};

use crate::state::State;

pub async fn did_change_configuration(state: Arc<State>, p: DidChangeConfigurationParams) {
    let mut settings = p.settings;
    if (settings.is_null() || settings.as_object().is_some_and(|o| o.is_empty())) && state.can_pull_configuration() {
        let pulled = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            state.client.configuration(vec![ConfigurationItem {
                scope_uri: None,
                section: Some("promptmeter".into()),
            }]),
        )
        .await;
        if let Ok(Ok(mut v)) = pulled
            && let Some(first) = v.pop()
        {
            settings = first;
        }
    }
    state.reconfigure(|s| {
        s.editor.truncate(1);
        if s.editor.is_empty() {
            s.editor.push(serde_json::Value::Null);
        }
        s.editor.push(settings);
    });
    report_errors(&state).await;
    refresh(&state).await;
}

/// When the proxy has learned more about a tokenizer (its calibration file changed), reload
/// the settings and refresh what shows counts.
pub async fn recalibrate(state: &Arc<State>) {
    let s = state.settings();
    if crate::settings::mtime(&s.calibration_file) == s.calibration_mtime {
        return;
    }
    state.reconfigure(|_| {});
    refresh(state).await;
}

/// Re-run diagnostics for every open document and ask the client to re-fetch inlay hints.
pub async fn refresh(state: &Arc<State>) {
    crate::feed::start(state);
    let uris: Vec<_> = state.docs.iter().map(|e| e.key().clone()).collect();
    for uri in uris {
        crate::handlers::diagnostics::schedule(state, uri);
    }
    if state.can_refresh_hints() {
        let client = state.client.clone();
        tokio::spawn(async move {
            let _ = client.inlay_hint_refresh().await;
        });
    }
}

pub async fn report_errors(state: &Arc<State>) {
    let settings = state.settings();
    for e in &settings.errors {
        state
            .client
            .show_message(MessageType::WARNING, format!("promptmeter configuration: {e}"))
            .await;
    }
}
