//! The proxy's live feed (docs/protocol.md): subscribe to `GET /_promptmeter/feed`
//! (server-sent events over HTTP/1.1 on loopback), keep the latest totals, budgets and
//! response, and relay them to the editor as `promptmeter/spend` notifications; budget alerts
//! also go out as window/showMessage. Reconnects with backoff; when no proxy runs, one
//! `connected: false` notification says so and everything else keeps working.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tower_lsp_server::ls_types::MessageType;
use tower_lsp_server::ls_types::notification::Notification;

use crate::state::{State, lock};

/// `promptmeter/spend`.
pub enum Spend {}

impl Notification for Spend {
    type Params = Value;
    const METHOD: &'static str = "promptmeter/spend";
}

#[derive(Default)]
pub struct FeedHandle {
    pub task: Mutex<Option<(String, tokio::task::JoinHandle<()>)>>,
}

/// Start (or restart, when the URL changed) the relay for the configured feed URL.
pub fn start(state: &Arc<State>) {
    let url = state.settings().config.lsp.feed_url.trim().to_string();
    let mut slot = lock(&state.feed.task);
    if let Some((current, task)) = slot.as_ref() {
        if *current == url && !task.is_finished() {
            return;
        }
        task.abort();
    }
    *slot = None;
    if url.is_empty() {
        return;
    }
    let st = state.clone();
    let u = url.clone();
    *slot = Some((url, tokio::spawn(async move { run(st, u).await })));
}

pub fn stop(state: &State) {
    if let Some((_, t)) = lock(&state.feed.task).take() {
        t.abort();
    }
}

/// The proxy's base URL (`http://host:port`) and the feed's host, port and path.
pub fn parse_url(url: &str) -> Option<(String, String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/_promptmeter/feed"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h.to_string(), p.parse().ok()?),
        _ => (authority.to_string(), 80),
    };
    if host.is_empty() {
        return None;
    }
    Some((format!("http://{authority}"), host, port, path.to_string()))
}

/// What the relay knows; turns feed events into spend notifications (pure).
#[derive(Debug, Default)]
pub struct Relay {
    pub proxy_url: String,
    totals: Value,
    budgets: Vec<Value>,
    last: Value,
    alert: Value,
}

fn level(pressure: f64) -> &'static str {
    if pressure >= 1.0 {
        "error"
    } else if pressure >= 0.85 {
        "warning"
    } else {
        "ok"
    }
}

impl Relay {
    pub fn new(proxy_url: String) -> Self {
        Relay {
            proxy_url,
            ..Default::default()
        }
    }

    /// Apply one feed event. Returns the alert to show (message type, text) for `alert` events.
    pub fn apply(&mut self, event: &str, data: &Value) -> Option<(MessageType, String)> {
        match event {
            "hello" => {
                self.totals = data.clone();
                self.budgets = data["budgets"].as_array().cloned().unwrap_or_default();
                self.last = data["last"].clone();
            }
            "request" => self.last = data.clone(),
            "totals" => {
                self.totals = data.clone();
                // The proxy sends the budgets as they stand after each request.
                if let Some(b) = data["budgets"].as_array() {
                    self.budgets = b.clone();
                }
            }
            "alert" => {
                self.alert = data.clone();
                let pressure = data["pressure"].as_f64().unwrap_or(0.0);
                if let Some(b) = self.budgets.iter_mut().find(|b| b["name"] == data["budget"]) {
                    b["pressure"] = json!(pressure);
                    b["spentUsd"] = data["spentUsd"].clone();
                    b["level"] = json!(level(pressure));
                } else {
                    self.budgets.push(json!({
                        "name": data["budget"], "limitUsd": data["limitUsd"], "spentUsd": data["spentUsd"],
                        "pressure": pressure, "level": level(pressure)
                    }));
                }
                let ty = if pressure >= 1.0 {
                    MessageType::ERROR
                } else {
                    MessageType::WARNING
                };
                let text = data["message"].as_str().map(str::to_string).unwrap_or_else(|| {
                    format!(
                        "promptmeter: budget {} at {:.0}%",
                        data["budget"].as_str().unwrap_or("?"),
                        pressure * 100.0
                    )
                });
                return Some((ty, text));
            }
            "summary" => {
                self.budgets = data["budgets"].as_array().cloned().unwrap_or_default();
            }
            _ => {}
        }
        None
    }

    pub fn has_budgets(&self) -> bool {
        !self.budgets.is_empty()
    }

    /// The `promptmeter/spend` payload (docs/protocol.md).
    pub fn spend(&self, connected: bool) -> Value {
        let budget = self
            .budgets
            .iter()
            .max_by(|a, b| {
                let pa = a["pressure"].as_f64().unwrap_or(0.0);
                let pb = b["pressure"].as_f64().unwrap_or(0.0);
                pa.total_cmp(&pb)
            })
            .map(|b| {
                let p = b["pressure"].as_f64().unwrap_or(0.0);
                json!({"name": b["name"], "limitUsd": b["limitUsd"], "spentUsd": b["spentUsd"], "pressure": p,
                       "level": b.get("level").cloned().unwrap_or_else(|| json!(level(p)))})
            })
            .unwrap_or(Value::Null);
        let l = &self.last;
        let last = if l.is_object() {
            // What the response cost the user: nothing on a flat-rate upstream (the record's
            // `costUsd` is then its API-equivalent price).
            let flat_rate = l["flatRate"].as_bool() == Some(true);
            json!({
                "provider": l["provider"], "model": l["modelServed"], "requestedModel": l["modelRequested"],
                "inputTokens": l["usage"]["input"], "cachedTokens": l["usage"]["cacheRead"],
                "outputTokens": l["usage"]["output"], "costUsd": if flat_rate { json!("0") } else { l["costUsd"].clone() },
                "latencyMs": l["latencyMs"], "reroutedFrom": l["reroute"]["from"], "flatRate": flat_rate,
            })
        } else {
            Value::Null
        };
        let t = &self.totals;
        json!({
            "connected": connected,
            "proxyUrl": self.proxy_url,
            "todayUsd": t.get("todayUsd").cloned().unwrap_or(Value::Null),
            "weekUsd": t.get("weekUsd").cloned().unwrap_or(Value::Null),
            "budget": budget,
            "session": t.get("session").cloned().unwrap_or(Value::Null),
            "last": last,
            "byProvider": t.get("byProvider").cloned().unwrap_or(Value::Null),
            "alert": if self.alert.is_null() { Value::Null } else { self.alert.clone() },
        })
    }
}

async fn run(state: Arc<State>, url: String) {
    let Some((base, host, port, path)) = parse_url(&url) else {
        state
            .client
            .log_message(
                MessageType::WARNING,
                format!("promptmeter: feed_url {url:?} is not an http:// URL"),
            )
            .await;
        return;
    };
    let mut relay = Relay::new(base);
    let mut backoff = Duration::from_millis(250);
    // `connected: false` goes out once per disconnection (and once at start when no proxy runs)
    let mut announced_down = false;
    loop {
        let mut got_events = false;
        if let Err(e) = subscribe(&state, &mut relay, &host, port, &path, &mut got_events).await {
            tracing::debug!("feed {url}: {e}");
        }
        if got_events {
            announced_down = false;
            backoff = Duration::from_millis(250);
        }
        if !announced_down {
            state.client.send_notification::<Spend>(relay.spend(false)).await;
            announced_down = true;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(15));
    }
}

/// One subscription: returns when the connection ends.
async fn subscribe(
    state: &Arc<State>,
    relay: &mut Relay,
    host: &str,
    port: u16,
    path: &str,
    got_events: &mut bool,
) -> anyhow::Result<()> {
    let stream = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect((host, port))).await??;
    stream.set_nodelay(true)?;
    let mut r = BufReader::new(stream);
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\nUser-Agent: promptmeter-lsp\r\n\r\n"
    );
    r.get_mut().write_all(req.as_bytes()).await?;
    let mut status = String::new();
    r.read_line(&mut status).await?;
    if status.split_whitespace().nth(1) != Some("200") {
        anyhow::bail!("feed answered {}", status.trim());
    }
    let mut chunked = false;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).await? == 0 {
            anyhow::bail!("feed closed in headers");
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.trim().eq_ignore_ascii_case("transfer-encoding")
            && v.to_ascii_lowercase().contains("chunked")
        {
            chunked = true;
        }
    }
    let mut sse = SseParser::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let data: Vec<u8> = if chunked {
            let mut size_line = String::new();
            if r.read_line(&mut size_line).await? == 0 {
                return Ok(());
            }
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)?;
            if size == 0 {
                return Ok(());
            }
            let mut chunk = vec![0u8; size];
            r.read_exact(&mut chunk).await?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).await?;
            chunk
        } else {
            let n = r.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            buf[..n].to_vec()
        };
        for (event, payload) in sse.push(&data) {
            let Ok(v) = serde_json::from_str::<Value>(&payload) else {
                continue;
            };
            *got_events = true;
            // A request may have taught the proxy more about a tokenizer (and on connecting,
            // it may have learned while we were away).
            if event == "request" || event == "hello" {
                crate::handlers::configuration::recalibrate(state).await;
            }
            let alert = relay.apply(&event, &v);
            state.client.send_notification::<Spend>(relay.spend(true)).await;
            relay.alert = Value::Null;
            if let Some((ty, text)) = alert {
                state.client.show_message(ty, text).await;
            }
        }
    }
}

/// Incremental server-sent-events parser: bytes in, (event, data) out.
#[derive(Debug, Default)]
pub struct SseParser {
    pending: Vec<u8>,
    event: String,
    data: Vec<String>,
}

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<(String, String)> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(nl) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    let ev = if self.event.is_empty() {
                        "message".to_string()
                    } else {
                        std::mem::take(&mut self.event)
                    };
                    out.push((ev, self.data.join("\n")));
                }
                self.event.clear();
                self.data.clear();
            } else if let Some(v) = line.strip_prefix("event:") {
                self.event = v.trim_start().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                self.data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:4747/_promptmeter/feed"),
            Some((
                "http://127.0.0.1:4747".into(),
                "127.0.0.1".into(),
                4747,
                "/_promptmeter/feed".into()
            ))
        );
        assert_eq!(parse_url("http://localhost").map(|u| u.2), Some(80));
        assert_eq!(parse_url("https://x"), None);
    }

    #[test]
    fn sse_split_across_reads() {
        let mut p = SseParser::default();
        assert!(p.push(b"event: totals\r\ndata: {\"a\"").is_empty());
        let out = p.push(b":1}\r\n\r\n: comment\n\nevent: alert\ndata: 1\ndata: 2\n\n");
        assert_eq!(
            out,
            [
                ("totals".to_string(), "{\"a\":1}".to_string()),
                ("alert".into(), "1\n2".into())
            ]
        );
    }

    #[test]
    fn relay_builds_spend() {
        let mut r = Relay::new("http://127.0.0.1:4747".into());
        assert_eq!(r.spend(false)["connected"], false);
        r.apply(
            "hello",
            &json!({"todayUsd": "1.2", "weekUsd": "4", "session": {"id": "s", "usd": "0.5", "requests": 3},
                    "byProvider": {"anthropic": "1.2"}, "last": null,
                    "budgets": [{"name": "weekly", "limitUsd": "50", "spentUsd": "40", "pressure": 0.8, "level": "ok"},
                                {"name": "daily", "limitUsd": "10", "spentUsd": "1.2", "pressure": 0.12, "level": "ok"}]}),
        );
        r.apply(
            "request",
            &json!({"provider": "anthropic", "modelRequested": "claude-opus-4-8", "modelServed": "claude-sonnet-4-5",
                    "usage": {"input": 10, "cacheRead": 2000, "output": 300}, "costUsd": "0.0123", "latencyMs": 812.4,
                    "reroute": {"from": "claude-opus-4-8", "rule": "x"}}),
        );
        let alert = r.apply(
            "alert",
            &json!({"budget": "weekly", "threshold": 0.85, "pressure": 0.86, "spentUsd": "43", "limitUsd": "50", "message": "Weekly budget at 86%"}),
        );
        assert_eq!(alert, Some((MessageType::WARNING, "Weekly budget at 86%".to_string())));
        let s = r.spend(true);
        assert_eq!(
            s,
            json!({
                "connected": true, "proxyUrl": "http://127.0.0.1:4747", "todayUsd": "1.2", "weekUsd": "4",
                "budget": {"name": "weekly", "limitUsd": "50", "spentUsd": "43", "pressure": 0.86, "level": "warning"},
                "session": {"id": "s", "usd": "0.5", "requests": 3},
                "last": {"provider": "anthropic", "model": "claude-sonnet-4-5", "requestedModel": "claude-opus-4-8",
                         "inputTokens": 10, "cachedTokens": 2000, "outputTokens": 300, "costUsd": "0.0123",
                         "latencyMs": 812.4, "reroutedFrom": "claude-opus-4-8", "flatRate": false},
                "byProvider": {"anthropic": "1.2"},
                "alert": {"budget": "weekly", "threshold": 0.85, "pressure": 0.86, "spentUsd": "43", "limitUsd": "50", "message": "Weekly budget at 86%"}
            })
        );
        let over = r.apply(
            "alert",
            &json!({"budget": "weekly", "pressure": 1.02, "message": "over"}),
        );
        assert_eq!(over.unwrap().0, MessageType::ERROR);
    }
    #[test]
    fn a_flat_rate_response_costs_nothing_in_the_status_bar() {
        let mut r = Relay::new("http://127.0.0.1:4747".into());
        r.apply(
            "request",
            &json!({"provider": "local", "modelServed": "qwen3-coder", "usage": {"input": 10, "output": 3},
                    "costUsd": "0.004", "latencyMs": 20.0, "flatRate": true}),
        );
        let s = r.spend(true);
        assert_eq!(s["last"]["costUsd"], "0");
        assert_eq!(s["last"]["flatRate"], true);
    }

    #[test]
    fn totals_with_budgets_move_the_pressure_without_an_alert() {
        let mut r = Relay::new("http://127.0.0.1:4747".into());
        r.apply(
            "hello",
            &json!({"todayUsd": "1", "budgets": [{"name": "daily", "limitUsd": "10", "spentUsd": "1", "pressure": 0.1, "level": "ok"}]}),
        );
        r.apply(
            "totals",
            &json!({"todayUsd": "3", "budgets": [{"name": "daily", "limitUsd": "10", "spentUsd": "3", "pressure": 0.3, "level": "ok"}]}),
        );
        let s = r.spend(true);
        assert_eq!(s["todayUsd"], "3");
        assert_eq!(s["budget"]["spentUsd"], "3");
        assert_eq!(s["budget"]["pressure"], 0.3);
        // A totals event without budgets (a proxy without a policy) keeps the last known ones.
        r.apply("totals", &json!({"todayUsd": "4"}));
        assert_eq!(r.spend(true)["budget"]["spentUsd"], "3");
    }
}
