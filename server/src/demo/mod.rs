//! `promptmeter demo`: the real proxy, in-process, in front of a simulated provider
//! (`upstream.rs`), with a small demo budget and routing rules in a temporary config and
//! ledger (the user's own are never read or written), and a driver that replays an agent
//! session through it (`script.rs`), so the dashboard, the editors' status bars and the
//! budget alerts move without an API key.

pub mod script;
pub mod upstream;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use promptmeter_core::Catalog;
use promptmeter_core::config::Config;
use serde_json::Value;

use script::{Step, Wire};
use upstream::Upstream;

/// The demo's budget and routing: a daily budget the session crosses about two thirds in,
/// pressure caps (above 85%: the family's mid model; above 95%: its cheapest), and a task rule
/// that sends heartbeat calls to the cheapest Claude. Stickiness is off so that the caps show
/// within one short session.
pub const DEMO_CONFIG: &str = r#"
[budgets]
alert_at = [50, 85, 100]

[budgets.demo-daily]
window = "day"
usd = "0.80"

[routing]
sticky = "off"

[routing.pressure]
enabled = true
budget = "demo-daily"

[[routing.tasks]]
name = "heartbeat"
task = "heartbeat"
model = "claude-haiku-4-5"
"#;

/// What one replay did, counted from the proxy's own feed.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub requests: u64,
    pub failed: u64,
    pub alerts: u64,
    pub reroutes: u64,
    pub today_usd: String,
}

/// A running demo: the proxy's address and handle.
pub struct Demo {
    pub addr: SocketAddr,
    pub upstream_addr: SocketAddr,
    pub handle: promptmeter_proxy::ProxyHandle,
    upstream: Arc<Upstream>,
    speed: f64,
}

/// The demo's config: `DEMO_CONFIG` with every provider sent to the simulated upstream.
pub fn config(upstream: SocketAddr, ledger: &Path) -> anyhow::Result<Config> {
    let mut config = Config::from_layers([("demo", DEMO_CONFIG)])?;
    let url = format!("http://{upstream}");
    config.proxy.upstreams.anthropic = url.clone();
    config.proxy.upstreams.openai = url.clone();
    config.proxy.upstreams.gemini = url;
    config.proxy.ledger = Some(ledger.display().to_string());
    Ok(config)
}

/// Start the simulated upstream and the proxy (with the budget policy) on `listener`, in
/// this runtime, with the ledger in `dir`. `speed` divides every delay.
pub async fn start(
    speed: f64,
    listener: tokio::net::TcpListener,
    dir: &Path,
    utc_offset: time::UtcOffset,
) -> anyhow::Result<Demo> {
    let speed = if speed.is_finite() && speed > 0.0 { speed } else { 1.0 };
    let upstream = Arc::new(Upstream::new(speed));
    let upstream_addr = upstream::start(upstream.clone()).await?;
    let ledger = dir.join("ledger.sqlite");
    let config = config(upstream_addr, &ledger)?;
    let policy = promptmeter_proxy::policy::budgets::policy_for(&config, &ledger, utc_offset)?;
    let calendar = promptmeter_core::budget::window::Calendar::from_config(&config.budgets, utc_offset)?;
    let addr = listener.local_addr()?;
    let handle = promptmeter_proxy::serve(
        promptmeter_proxy::Options {
            config: config.proxy,
            ledger_path: ledger,
            calendar,
            policy: Some(policy.clone()),
        },
        Catalog::bundled(),
        listener,
    )
    .await?;
    policy.attach(&handle.app);
    Ok(Demo {
        addr,
        upstream_addr,
        handle,
        upstream,
        speed,
    })
}

impl Demo {
    /// Wait until someone subscribes to the feed (a dashboard, an editor), at most `max`.
    pub async fn wait_for_viewer(&self, max: Duration) {
        let deadline = tokio::time::Instant::now() + max;
        while self.handle.app.metrics.feed_subscribers.load(Ordering::Relaxed) == 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Replay the session once through the proxy; `narrate` gets one line per step.
    pub async fn replay(&self, round: u32, narrate: &(dyn Fn(&str) + Sync)) -> anyhow::Result<Outcome> {
        let mut feed = self.handle.app.feed.subscribe();
        let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let mut out = Outcome::default();
        let steps = script::session();
        let total = steps.len();
        for (i, step) in steps.into_iter().enumerate() {
            tokio::time::sleep(Duration::from_secs_f64(step.pause_ms as f64 / 1000.0 / self.speed)).await;
            let head = format!("[{:>2}/{total}] {}", i + 1, step.note);
            match self.send(&client, &step, round).await {
                Ok(status) if (200..300).contains(&status) => narrate(&head),
                Ok(status) => {
                    out.failed += 1;
                    narrate(&format!("{head} -> HTTP {status}"));
                }
                Err(e) => {
                    out.failed += 1;
                    narrate(&format!("{head} -> {e:#}"));
                }
            }
            // the record is on the feed before the response ends
            drain(&mut feed, &mut out, narrate);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        drain(&mut feed, &mut out, narrate);
        out.today_usd = self.handle.app.feed.totals().today_usd.normalize().to_string();
        Ok(out)
    }

    async fn send(&self, client: &Client<HttpConnector, Full<Bytes>>, step: &Step, round: u32) -> anyhow::Result<u16> {
        let path = match step.wire {
            Wire::Anthropic => "/v1/messages",
            Wire::OpenAiChat => "/v1/chat/completions",
        };
        let body = serde_json::to_vec(&step.body)?;
        let mut req = hyper::Request::post(format!("http://{}{path}", self.addr))
            .header("content-type", "application/json")
            .header("user-agent", "promptmeter-demo")
            .header("x-promptmeter-session", format!("{}-{round}", step.session))
            .header("x-promptmeter-project", "csvkit-rs")
            .header("x-demo-output-tokens", step.output_tokens.to_string());
        req = match step.wire {
            Wire::Anthropic => req
                .header("x-api-key", "demo-no-key")
                .header("anthropic-version", "2023-06-01"),
            Wire::OpenAiChat => req.header("authorization", "Bearer demo-no-key"),
        };
        if let Some(task) = step.task {
            req = req.header("x-promptmeter-task", task);
        }
        let resp = client.request(req.body(Full::new(Bytes::from(body)))?).await?;
        let status = resp.status().as_u16();
        resp.into_body().collect().await?;
        Ok(status)
    }

    /// Requests the simulated upstream answered.
    pub fn upstream_requests(&self) -> u64 {
        self.upstream.requests()
    }
}

/// Count and narrate what the feed carried: the model that served each request, its cost, the
/// reroutes and the alerts.
fn drain(feed: &mut tokio::sync::broadcast::Receiver<Arc<str>>, out: &mut Outcome, narrate: &(dyn Fn(&str) + Sync)) {
    while let Ok(ev) = feed.try_recv() {
        let name = ev.lines().next().and_then(|l| l.strip_prefix("event: ")).unwrap_or("");
        let data = ev.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("null");
        let v: Value = serde_json::from_str(data).unwrap_or_default();
        match name {
            "request" => {
                out.requests += 1;
                let served = v["modelServed"].as_str().unwrap_or("?");
                let cost = v["costUsd"].as_str().unwrap_or("?");
                let mut line = format!("        {served}, ${cost}");
                if !v["reroute"].is_null() {
                    out.reroutes += 1;
                    line.push_str(&format!(
                        " (rerouted from {} by {})",
                        v["reroute"]["from"].as_str().unwrap_or("?"),
                        v["reroute"]["rule"].as_str().unwrap_or("?")
                    ));
                }
                narrate(&line);
            }
            "alert" => {
                out.alerts += 1;
                narrate(&format!(
                    "        ALERT: {}",
                    v["message"].as_str().unwrap_or("budget alert")
                ));
            }
            _ => {}
        }
    }
}

/// A fresh directory for the demo's ledger under the system's temp dir.
pub fn temp_dir() -> anyhow::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("promptmeter-demo-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_parses_and_points_at_the_simulated_upstream() {
        let c = config("127.0.0.1:9".parse().unwrap(), Path::new("/tmp/x.sqlite")).unwrap();
        assert_eq!(c.proxy.upstreams.anthropic, "http://127.0.0.1:9");
        assert_eq!(c.proxy.upstreams.openai, "http://127.0.0.1:9");
        assert!(c.budgets.limits.contains_key("demo-daily"));
        assert_eq!(c.routing.tasks.len(), 1);
    }
}
