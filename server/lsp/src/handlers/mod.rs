//! One file per LSP method family. Each handler is a plain function of the state and the
//! params; [`guarded`] turns a panic inside one into an error response.

pub mod code_action;
pub mod commands;
pub mod configuration;
pub mod diagnostics;
pub mod hover;
pub mod inlay_hint;
pub mod text_sync;

use std::panic::{AssertUnwindSafe, catch_unwind};

use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};

/// Run a synchronous handler; a panic becomes an internal-error response instead of taking the
/// server down.
pub fn guarded<T>(method: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            tracing::error!("{method} panicked: {msg}");
            Err(Error {
                code: ErrorCode::InternalError,
                message: format!("promptmeter: {method} failed: {msg}").into(),
                data: None,
            })
        }
    }
}

/// Run blocking work off the async threads; a panic becomes an error.
pub async fn blocking<T: Send + 'static>(
    method: &'static str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(move || guarded(method, f)).await {
        Ok(r) => r,
        Err(e) => Err(Error {
            code: ErrorCode::InternalError,
            message: format!("promptmeter: {method} failed: {e}").into(),
            data: None,
        }),
    }
}
