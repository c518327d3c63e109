//! promptmeter's language server: token and cost inlay hints, hover tables across models,
//! priced bloat diagnostics with quick fixes, and the context-window composition of the
//! workspace's agent setup. `server` maps the protocol, `handlers` holds one file per method
//! family, `state` the open documents and settings; `analysis`, `composition` and the core's
//! lint rules are the engine and know nothing of LSP.

pub mod analysis;
pub mod composition;
pub mod document;
pub mod feed;
pub mod handlers;
pub mod line_index;
pub mod server;
pub mod settings;
pub mod state;
pub mod transport;

use tower_lsp_server::{LspService, Server as Transport};

/// Requests processed concurrently (a slow one never holds up the others).
const CONCURRENCY: usize = 64;

/// Serve LSP on `input`/`output` until the client exits or the input ends.
pub async fn serve<I, O>(input: I, output: O)
where
    I: tokio::io::AsyncRead + Unpin + Send + 'static,
    O: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    transport::serve(input, output, async |server_in, server_out| {
        let (service, socket) = LspService::build(server::Server::new)
            .custom_method("promptmeter/composition", server::Server::composition)
            .finish();
        Transport::new(server_in, server_out, socket)
            .concurrency_level(CONCURRENCY)
            .serve(service)
            .await;
    })
    .await;
}

/// Run the server on stdio with its own runtime.
pub fn run_stdio() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(serve(tokio::io::stdin(), tokio::io::stdout()));
    // The stdin reader may still sit in a blocking read; do not wait for it.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(())
}
