//! `promptmeter/composition` (request) and workspace/executeCommand: `promptmeter.composition`
//! (same params as the request, as its one argument) and `promptmeter.setModel` (a model id).

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{ExecuteCommandParams, Uri};

use crate::composition::{self, Agent};
use crate::handlers::blocking;
use crate::state::State;

pub const COMPOSITION: &str = "promptmeter.composition";
pub const SET_MODEL: &str = "promptmeter.setModel";
pub const COMMANDS: [&str; 2] = [COMPOSITION, SET_MODEL];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CompositionParams {
    pub model: Option<String>,
    /// "claude-code", "codex", "cursor", "copilot", "gemini", "windsurf", "continue".
    pub agent: Option<String>,
}

pub async fn composition(state: Arc<State>, params: Option<CompositionParams>) -> Result<Value> {
    let p = params.unwrap_or_default();
    let settings = state.settings();
    let model_name = p.model.clone().unwrap_or_else(|| settings.active.clone());
    let Some(model) = settings.catalog.resolve(&model_name).cloned() else {
        return Err(Error::invalid_params(format!("unknown model {model_name:?}")));
    };
    let agent = match p.agent.as_deref() {
        None => None,
        Some(a) => Some(Agent::parse(a).ok_or_else(|| Error::invalid_params(format!("unknown agent {a:?}")))?),
    };
    let roots = settings.roots.clone();
    blocking("promptmeter/composition", move || {
        let read = |path: &Path| state.read_file(path);
        let to_uri = |path: &Path| Uri::from_file_path(path).map(|u| u.as_str().to_string());
        let home = dirs::home_dir();
        let c = composition::compose(&model, agent, &roots, home.as_deref(), &read, &to_uri);
        serde_json::to_value(c).map_err(|e| Error::invalid_params(e.to_string()))
    })
    .await
}

/// Returns true when the model changed (hints and diagnostics need a refresh).
pub async fn execute_command(state: Arc<State>, p: ExecuteCommandParams) -> Result<Option<Value>> {
    match p.command.as_str() {
        COMPOSITION => {
            let params = match p.arguments.into_iter().next() {
                None | Some(Value::Null) => None,
                Some(v) => Some(serde_json::from_value(v).map_err(|e| Error::invalid_params(e.to_string()))?),
            };
            composition(state, params).await.map(Some)
        }
        SET_MODEL => {
            let Some(Value::String(model)) = p.arguments.into_iter().next() else {
                return Err(Error::invalid_params("promptmeter.setModel takes a model id"));
            };
            let settings = state.settings();
            let Some(m) = settings.catalog.resolve(&model) else {
                return Err(Error::invalid_params(format!("unknown model {model:?}")));
            };
            let id = m.id.clone();
            state.reconfigure(|s| s.model_override = Some(id.clone()));
            crate::handlers::configuration::refresh(&state).await;
            Ok(Some(Value::String(id)))
        }
        other => Err(Error::invalid_params(format!("unknown command {other:?}"))),
    }
}
