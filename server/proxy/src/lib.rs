//! promptmeter's local proxy (issue 4): agents point their base URL here; every request is
//! forwarded unchanged (streams as they arrive), its usage read on the fly, priced from the
//! catalog, broken down by context-window category, committed to the ledger and broadcast on
//! the live feed.
//!
//! Codemap: `server.rs` accept loop and dispatch; `routes.rs` where a path goes (thin);
//! `forward.rs` pass-through and the metered path; `metered.rs` the relayed response body;
//! `sse.rs` SSE splitting (the only SSE-aware code); `providers/` one file per wire API;
//! `websocket.rs` the Responses WebSocket relay; `composition.rs` context-window breakdown;
//! `record.rs` pricing into a `RequestRecord`; `writer.rs` spool, then group commit;
//! `calibration.rs` learns the estimated tokenizers' factors from reported counts; `feed.rs`
//! totals and the live feed; `namespace.rs` the `/_promptmeter/` endpoints; `metrics.rs`
//! Prometheus; `policy.rs` the budget/routing seam (issue 5).

pub mod calibration;
pub mod composition;
pub mod dashboard;
pub mod feed;
pub mod forward;
pub mod ids;
pub mod metered;
pub mod metrics;
pub mod namespace;
pub mod policy;
pub mod providers;
pub mod record;
pub mod routes;
pub mod server;
pub mod sse;
pub mod upstream;
pub mod websocket;
pub mod writer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use promptmeter_core::Catalog;
use promptmeter_core::budget::window::Calendar;
use promptmeter_core::config::proxy::ProxyConfig;
use promptmeter_ledger::{Ledger, spool};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Body type of everything the proxy sends (upstream requests, client responses).
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

pub(crate) fn full(b: Bytes) -> Body {
    Full::new(b).map_err(|never| match never {}).boxed_unsync()
}

/// Shared state of a running proxy.
pub struct App {
    pub config: ProxyConfig,
    pub catalog: Arc<Catalog>,
    pub client: upstream::HttpClient,
    pub feed: feed::Feed,
    pub writer: writer::LedgerWriter,
    pub metrics: Arc<metrics::Metrics>,
    pub policy: Arc<dyn policy::Policy>,
    /// Tokenizer calibration learned from traffic (`calibration.json` next to the ledger).
    pub calibration: calibration::Learner,
    /// Token counts of request text already seen (composition is counted off them).
    pub counts: Arc<composition::CountCache>,
}

impl App {
    /// Budgets for the summary (issue 5's policy supplies them; none by default).
    pub fn policy_budgets(&self) -> serde_json::Value {
        self.policy.budgets()
    }

    /// Whether requests to `provider` (a named upstream) cost nothing at the margin.
    pub fn is_flat_rate(&self, provider: &str) -> bool {
        self.config.named.get(provider).is_some_and(|n| n.flat_rate)
    }
}

/// How to start a proxy in-process.
pub struct Options {
    pub config: ProxyConfig,
    /// The ledger file (see `default_ledger_path`).
    pub ledger_path: PathBuf,
    /// Where days, weeks and months begin (`Calendar::from_config`; read the local offset
    /// before starting threads).
    pub calendar: Calendar,
    /// Budgets and routing (issue 5); `None`: forward everything unchanged.
    pub policy: Option<Arc<dyn policy::Policy>>,
}

/// `<data dir>/promptmeter/ledger.sqlite`, or `ledger.sqlite` in the working directory when
/// there is no data dir.
pub fn default_ledger_path(data_dir: Option<PathBuf>) -> PathBuf {
    promptmeter_ledger::default_path(data_dir)
}

/// A running proxy. Dropping the handle does not stop it; call `shutdown`.
pub struct ProxyHandle {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ProxyHandle {
    /// Stop accepting connections and wait for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }

    /// Wait until the proxy stops (it runs until `shutdown` or the process ends).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// The ledger's spool, after committing what a proxy that died left in it. `None` (responses
/// then wait for their commits): another process holds it, or it cannot be opened.
fn open_spool(ledger_path: &std::path::Path, ledger: &mut Ledger) -> Option<spool::Spool> {
    let path = spool::path_for(ledger_path);
    match spool::Spool::open(&path, spool::DEFAULT_SIZE) {
        Ok(Some(s)) => match spool::recover_into(&s, ledger) {
            Ok(n) => {
                if n > 0 {
                    tracing::info!("ledger: recovered {n} records from {}", path.display());
                }
                Some(s)
            }
            Err(e) => {
                tracing::warn!("ledger: cannot recover {}: {e:#}", path.display());
                None
            }
        },
        Ok(None) => {
            tracing::warn!(
                "ledger: {} is in use by another process; responses will wait for ledger commits",
                path.display()
            );
            None
        }
        Err(e) => {
            tracing::warn!("ledger: no spool ({e:#}); responses will wait for ledger commits");
            None
        }
    }
}

/// Start the proxy on `listener` (in the current Tokio runtime). A ledger that cannot be
/// opened is an error; everything after startup fails open.
pub async fn serve(opts: Options, catalog: Catalog, listener: TcpListener) -> anyhow::Result<ProxyHandle> {
    let addr = listener.local_addr()?;
    let mut write = Ledger::open(&opts.ledger_path)?;
    let read = Ledger::open(&opts.ledger_path)?;
    let spool = open_spool(&opts.ledger_path, &mut write);
    let metrics = Arc::new(metrics::Metrics::default());
    let recent = opts.config.feed.recent;
    let app = Arc::new(App {
        config: opts.config,
        catalog: Arc::new(catalog),
        client: upstream::client(),
        feed: feed::Feed::new(Some(read), opts.calendar, recent),
        writer: writer::LedgerWriter::spawn(Some(write), spool, metrics.clone()),
        metrics,
        policy: opts.policy.unwrap_or_else(|| Arc::new(policy::PassThrough)),
        calibration: calibration::Learner::open(Some(promptmeter_ledger::calibration::path_for(&opts.ledger_path))),
        counts: Arc::default(),
    });
    // The feed's totals read the ledger: it publishes a record once it is committed.
    let weak = Arc::downgrade(&app);
    app.writer.on_commit(move |record| {
        if let Some(app) = weak.upgrade() {
            app.calibration.save_if_changed();
            let budgets = app.policy_budgets();
            app.feed.publish(record, budgets);
        }
    });
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(server::run(listener, app.clone(), rx));
    Ok(ProxyHandle {
        addr,
        app,
        shutdown: tx,
        task,
    })
}
