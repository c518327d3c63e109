//! End-to-end tests of budgets and routing (issue 5): the real `promptmeter proxy` binary, the
//! fake upstream on loopback, a real SQLite ledger, raw HTTP/1.1 clients and the live feed.
//!
//! - pressure caps fire exactly at their thresholds, only on dearer models, and each alert
//!   fires once per crossing (also across a restart);
//! - the hard limit holds under many concurrent requests, refusing in the provider's shape;
//! - task rules fire on their match only; flat-rate upstreams cost the budgets nothing;
//! - sessions keep their model while their prompt cache is warm or a continuation id binds
//!   them, and the proxy says why;
//! - `promptmeter report --savings` equals the ledger's counterfactual minus actual costs.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use promptmeter_e2e::{bin_path, fake_upstream};
use promptmeter_ledger::{Ledger, RequestRecord};
use rust_decimal::Decimal;
use serde_json::{Value, json};

// ------------------------------------------------------------------------------ helpers

/// A running `promptmeter proxy` with its own config dir and ledger; killed on drop.
struct Proxy {
    child: Child,
    addr: String,
    dir: PathBuf,
    log: Arc<Mutex<String>>,
}

impl Proxy {
    /// Start the binary in `dir` (config in `dir/cfg/promptmeter/config.toml`, ledger
    /// `dir/ledger.sqlite`), every provider pointed at `upstream`.
    fn start(dir: &Path, config: &str, upstream: &str) -> Proxy {
        let cfg = dir.join("cfg").join("promptmeter");
        std::fs::create_dir_all(&cfg).unwrap();
        std::fs::write(cfg.join("config.toml"), config).unwrap();
        let mut child = Command::new(bin_path())
            .args(["proxy", "--listen", "127.0.0.1:0", "--ledger"])
            .arg(dir.join("ledger.sqlite"))
            .args(["--anthropic-upstream", upstream, "--openai-upstream", upstream])
            .args(["--gemini-upstream", upstream])
            .current_dir(dir)
            .env("XDG_CONFIG_HOME", dir.join("cfg"))
            .env("PROMPTMETER_LOG", "promptmeter_proxy=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start promptmeter proxy");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut addr = None;
        let mut seen = String::new();
        let mut line = String::new();
        while addr.is_none() {
            line.clear();
            if stderr.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                panic!("proxy exited before listening:\n{seen}");
            }
            seen.push_str(&line);
            if let Some(rest) = line.split("listening on http://").nth(1) {
                addr = rest.split_whitespace().next().map(str::to_string);
            }
        }
        let log = Arc::new(Mutex::new(seen));
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while stderr.read_line(&mut line).unwrap_or(0) > 0 {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Proxy {
            child,
            addr: addr.unwrap(),
            dir: dir.to_path_buf(),
            log,
        }
    }

    fn post(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
        http(&self.addr, "POST", path, headers, &body.to_string())
    }

    fn anthropic(&self, model: &str, headers: &[(&str, &str)]) -> Reply {
        let mut h = vec![("x-api-key", "sk-test"), ("anthropic-version", "2023-06-01")];
        h.extend_from_slice(headers);
        self.post(
            "/v1/messages",
            &h,
            &json!({"model": model, "max_tokens": 12, "messages": [{"role": "user", "content": "hi"}]}),
        )
    }

    fn summary(&self) -> Value {
        http(&self.addr, "GET", "/_promptmeter/summary", &[], "").json()
    }

    fn budget(&self, name: &str) -> Value {
        self.summary()["budgets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no budget {name}"))
    }

    /// The latest request record.
    fn last(&self) -> Value {
        http(&self.addr, "GET", "/_promptmeter/requests?limit=1", &[], "").json()[0].clone()
    }

    fn ledger(&self) -> PathBuf {
        self.dir.join("ledger.sqlite")
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Wait (up to 10 s) until the proxy's log has `needle` (a thread reads it off the pipe).
    fn wait_log(&self, needle: &str) {
        let start = std::time::Instant::now();
        while !self.log().contains(needle) {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "not in the proxy's log: {needle}\n{}",
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {} {}", self.status, self.body))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Read an HTTP/1.1 body: chunked or to the end.
fn read_body(r: &mut impl BufRead, chunked: bool) -> String {
    let mut out = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            if r.read_line(&mut size).unwrap_or(0) == 0 {
                break;
            }
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).unwrap();
            out.extend_from_slice(&chunk[..n]);
        }
    } else {
        r.read_to_end(&mut out).unwrap();
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One request on its own connection (`Connection: close`).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    Reply {
        status,
        body: read_body(&mut r, chunked),
        headers: head,
    }
}

/// The live feed's events, collected on a thread.
struct Feed {
    events: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Feed {
    fn subscribe(addr: &str) -> Feed {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET /_promptmeter/feed HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(s);
            let mut line = String::new();
            // headers
            while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let mut text = String::new();
            loop {
                // one chunk
                let mut size = String::new();
                if r.read_line(&mut size).unwrap_or(0) == 0 {
                    return;
                }
                let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                if n == 0 {
                    return;
                }
                let mut chunk = vec![0; n + 2];
                if r.read_exact(&mut chunk).is_err() {
                    return;
                }
                text.push_str(&String::from_utf8_lossy(&chunk[..n]));
                while let Some(end) = text.find("\n\n") {
                    let event: String = text.drain(..end + 2).collect();
                    let name = event.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("");
                    let data = event.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("null");
                    if name == "hello" {
                        let _ = ready_tx.send(());
                    }
                    let v = serde_json::from_str(data).unwrap_or(Value::Null);
                    sink.lock().unwrap().push((name.to_string(), v));
                }
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(20)).expect("feed hello");
        Feed { events }
    }

    /// Wait until `n` events named `name` arrived (each request's events follow its reply
    /// within moments; a generous bound keeps a slow machine from failing the test).
    fn wait_for(&self, name: &str, n: usize) -> Vec<Value> {
        for _ in 0..400 {
            let got: Vec<Value> = self.named(name);
            if got.len() >= n {
                return got;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("expected {n} {name} events, got {:?}", self.named(name));
    }

    fn named(&self, name: &str) -> Vec<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
        .parse()
        .unwrap()
}

/// The ledger's records, once every response already released is committed (the summary
/// waits for that).
fn records(proxy: &Proxy) -> Vec<RequestRecord> {
    proxy.summary();
    Ledger::open_read_only(&proxy.ledger())
        .unwrap()
        .between(i64::MIN, i64::MAX)
        .unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Put spend in the ledger before the proxy starts (as earlier sessions would have).
fn seed(ledger: &Path, provider: &str, usd: &str) {
    let mut l = Ledger::open(ledger).unwrap();
    l.insert(&RequestRecord {
        id: format!("seed-{provider}-{usd}"),
        ts_ms: now_ms(),
        provider: provider.into(),
        model_requested: Some("claude-opus-4-8".into()),
        model_served: Some("claude-opus-4-8".into()),
        status: 200,
        cost_usd: Some(usd.parse().unwrap()),
        cost_known: true,
        ..Default::default()
    })
    .unwrap();
}

// Prices of the fake's `ok` usage (25 input, 12 output tokens) from the bundled catalog.
const OPUS: &str = "claude-opus-4-8"; // $0.000425
const SONNET: &str = "claude-sonnet-4-5"; // $0.000255
const HAIKU: &str = "claude-haiku-4-5"; // $0.000085

fn price_rank(model: &str) -> u8 {
    match model {
        OPUS => 3,
        SONNET => 2,
        _ => 1,
    }
}

// ------------------------------------------------------------------------------ tests

/// A weekly budget of $0.008, spent in small steps with a mix of models: below 85% nothing
/// changes; from 85% anything dearer than Sonnet is served by Sonnet; from 95% anything dearer
/// than Haiku by Haiku; cheaper models are never touched. Each threshold alerts exactly once,
/// in order, and a restart resumes the spend without repeating an alert.
#[test]
fn pressure_caps_fire_exactly_at_their_thresholds_and_alerts_fire_once() {
    let fake = fake_upstream::spawn();
    let dir = tempfile::tempdir().unwrap();
    let config = "[budgets.weekly]\nwindow = \"week\"\nusd = \"0.008\"\n";
    let proxy = Proxy::start(dir.path(), config, &fake.url());
    let feed = Feed::subscribe(&proxy.addr);
    let limit: Decimal = "0.008".parse().unwrap();
    let mut seen = BTreeMap::new();
    let asks = [OPUS, SONNET, OPUS, HAIKU, OPUS];
    for i in 0.. {
        let spent = dec(&proxy.budget("weekly")["spentUsd"]);
        let p = spent / limit;
        if p > "1.05".parse().unwrap() {
            break;
        }
        let asked = asks[i % asks.len()];
        let expected = if p >= "0.95".parse().unwrap() && price_rank(asked) > 1 {
            HAIKU
        } else if p >= "0.85".parse().unwrap() && price_rank(asked) > 2 {
            SONNET
        } else {
            asked
        };
        let reply = proxy.anthropic(asked, &[]);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json()["model"], expected, "asked {asked} at pressure {p}");
        let last = proxy.last();
        assert_eq!(last["modelServed"], expected);
        assert_eq!(last["modelRequested"], asked);
        if expected == asked {
            assert_eq!(last["reroute"], Value::Null, "{last}");
        } else {
            let band = if expected == HAIKU { "95" } else { "85" };
            assert_eq!(last["reroute"]["rule"], format!("pressure>{band}% weekly"));
            assert_eq!(last["reroute"]["from"], asked);
            assert!(dec(&last["reroute"]["counterfactualCostUsd"]) > dec(&last["costUsd"]));
        }
        let band = if p >= "0.95".parse().unwrap() {
            "95+"
        } else if p >= "0.85".parse().unwrap() {
            "85-95"
        } else {
            "<85"
        };
        seen.insert((band, asked, expected), ());
    }
    for case in [
        ("<85", OPUS, OPUS),
        ("85-95", OPUS, SONNET),
        ("85-95", SONNET, SONNET),
        ("85-95", HAIKU, HAIKU),
        ("95+", OPUS, HAIKU),
        ("95+", SONNET, HAIKU),
    ] {
        assert!(seen.contains_key(&case), "never saw {case:?}: {seen:?}");
    }

    let alerts = feed.wait_for("alert", 4);
    let thresholds: Vec<f64> = alerts.iter().map(|a| a["threshold"].as_f64().unwrap()).collect();
    assert_eq!(thresholds, vec![0.5, 0.85, 0.95, 1.0], "{alerts:#?}");
    for a in &alerts {
        assert_eq!(a["budget"], "weekly");
        assert_eq!(a["scope"], "global");
        assert_eq!(a["limitUsd"], "0.008");
        assert!(a["pressure"].as_f64().unwrap() >= a["threshold"].as_f64().unwrap());
        assert!(a["message"].as_str().unwrap().starts_with("Weekly budget at "), "{a}");
    }
    // The 50% alert carries the burn-rate forecast. Which form depends on the wall clock: at
    // half the budget the average rate runs out after as long again as the week has run, so
    // from Thursday noon on it "lasts until" the reset (both forms are unit-tested exactly in
    // server/core/src/budget/forecast.rs and message.rs with a fixed clock).
    let first = alerts[0]["message"].as_str().unwrap();
    assert!(
        first.contains("at this rate it runs out ") || first.contains("at this rate it lasts until "),
        "{first}"
    );
    assert_eq!(alerts[3]["level"], "error");
    let summary = proxy.budget("weekly");
    assert_eq!(summary["level"], "error");
    assert_eq!(summary["window"], "week");

    // Restart on the same ledger: the spend resumes and no threshold alerts again.
    let spent_before = proxy.budget("weekly")["spentUsd"].clone();
    drop(feed);
    drop(proxy);
    let proxy = Proxy::start(dir.path(), config, &fake.url());
    let feed = Feed::subscribe(&proxy.addr);
    assert_eq!(proxy.budget("weekly")["spentUsd"], spent_before);
    let reply = proxy.anthropic(OPUS, &[]);
    assert_eq!(reply.json()["model"], HAIKU, "pressure resumes from the ledger");
    feed.wait_for("request", 1);
    assert!(feed.named("alert").is_empty(), "{:?}", feed.named("alert"));
}

/// A hard-limit daily budget and 40 requests at once, each held by the fake for a while: the
/// budget admits requests only while spend plus reservations are below the limit, so the
/// spend ends at most one estimate over it; every other request is refused in Anthropic's own
/// error shape, is never sent upstream, and is not retried.
#[test]
fn hard_limit_holds_under_concurrency() {
    let fake = fake_upstream::spawn();
    let dir = tempfile::tempdir().unwrap();
    let config = "[budgets.daily]\nwindow = \"day\"\nusd = \"0.0025\"\nhard_limit = true\n\
                  [routing.pressure]\nenabled = false\n";
    let proxy = Arc::new(Proxy::start(dir.path(), config, &fake.url()));
    let threads: Vec<_> = (0..40)
        .map(|_| {
            let proxy = proxy.clone();
            std::thread::spawn(move || {
                // A system prompt makes the reservation (body bytes / 4 input tokens + 12
                // output tokens) a little more than the fake's actual usage.
                let body = json!({"model": SONNET, "max_tokens": 12, "system": "You are terse. ".repeat(8),
                                  "messages": [{"role": "user", "content": "hi"}]});
                let h = [
                    ("x-api-key", "k"),
                    ("x-fake-scenario", "slow"),
                    ("x-fake-delay-ms", "300"),
                ];
                proxy.post("/v1/messages", &h, &body)
            })
        })
        .collect();
    let replies: Vec<Reply> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let refused: Vec<&Reply> = replies.iter().filter(|r| r.status == 402).collect();
    assert_eq!(
        ok + refused.len(),
        40,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(ok >= 1 && !refused.is_empty(), "ok {ok}, refused {}", refused.len());
    for r in &refused {
        let v = r.json();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "billing_error");
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.contains("[budgets.daily]") && m.contains("hard_limit = false"), "{m}");
        assert_eq!(r.header("x-should-retry").as_deref(), Some("false"));
    }
    // Refused requests never reached the upstream.
    let upstream = fake
        .fake
        .requests()
        .iter()
        .filter(|r| r["path"] == "/v1/messages")
        .count();
    assert_eq!(upstream, ok);
    // The ledger holds exactly the admitted requests, and the overshoot is bounded by one
    // request's reservation (body bytes / 4 input tokens + 12 output tokens at Sonnet prices).
    let recs = records(&proxy);
    assert_eq!(recs.len(), ok);
    let spent: Decimal = recs.iter().map(|r| r.cost_usd.unwrap()).sum();
    let one: Decimal = "0.000255".parse().unwrap();
    assert_eq!(spent, one * Decimal::from(ok as u64));
    let limit: Decimal = "0.0025".parse().unwrap();
    let max_estimate: Decimal = "0.0003".parse().unwrap();
    assert!(spent <= limit + max_estimate, "spent {spent}");
    assert!(ok <= 10, "at most ceil(limit / estimate) requests fit: {ok}");
    let b = proxy.budget("daily");
    assert_eq!(dec(&b["spentUsd"]), spent);
    assert_eq!(b["reservedUsd"], "0");
}

/// Task rules match on the task header, the user agent, the path with a body pattern, and the
/// system prompt, each only when it matches; a flat-rate upstream costs the budgets nothing
/// while the ledger keeps its tokens and API-equivalent dollars. Then `report --savings`
/// equals the ledger's counterfactual minus actual costs, per rule.
#[test]
fn task_rules_flat_rate_and_savings() {
    let fake = fake_upstream::spawn();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
[budgets.weekly]
window = "week"
usd = 100

[proxy.named.local]
url = "{}"
kind = "openai"
flat_rate = true

[[routing.tasks]]
name = "heartbeat"
task = "heartbeat"
model = "claude-haiku-4-5"

[[routing.tasks]]
name = "cron"
user_agent = "^cron-agent/"
upstream = "local"
model = "gpt-5-mini"

[[routing.tasks]]
name = "summaries"
path = "/v1/responses$"
body = '"summarize this'
model = "gpt-5-nano"

[[routing.tasks]]
name = "titles"
system = "(?i)write a short title"
model = "claude-haiku-4-5"
"#,
        fake.url()
    );
    let proxy = Proxy::start(dir.path(), &config, &fake.url());
    let served = |r: &Reply| r.json()["model"].as_str().unwrap_or("").to_string();

    // Header: only the exact task.
    assert_eq!(served(&proxy.anthropic(OPUS, &[])), OPUS);
    assert_eq!(served(&proxy.anthropic(OPUS, &[("x-promptmeter-task", "chat")])), OPUS);
    assert_eq!(
        served(&proxy.anthropic(OPUS, &[("x-promptmeter-task", "heartbeat")])),
        HAIKU
    );
    assert_eq!(proxy.last()["reroute"]["rule"], "task:heartbeat");

    // System prompt.
    let titled = |system: &str| {
        proxy.post(
            "/v1/messages",
            &[("x-api-key", "k")],
            &json!({"model": SONNET, "max_tokens": 12, "system": system, "messages": [{"role": "user", "content": "x"}]}),
        )
    };
    assert_eq!(served(&titled("You are a coding agent.")), SONNET);
    assert_eq!(served(&titled("Write a SHORT title for this conversation.")), HAIKU);
    assert_eq!(proxy.last()["reroute"]["rule"], "task:titles");

    // Path and body together.
    let responses = |input: &str| {
        proxy.post(
            "/v1/responses",
            &[("authorization", "Bearer k")],
            &json!({"model": "gpt-5", "input": input}),
        )
    };
    assert_eq!(served(&responses("explain this code")), "gpt-5");
    assert_eq!(served(&responses("summarize this thread")), "gpt-5-nano");
    let chat_summary = proxy.post(
        "/v1/chat/completions",
        &[("authorization", "Bearer k")],
        &json!({"model": "gpt-5", "messages": [{"role": "user", "content": "summarize this thread"}]}),
    );
    assert_eq!(served(&chat_summary), "gpt-5", "the path does not match");

    // User agent to the flat-rate upstream.
    let spent_before = dec(&proxy.budget("weekly")["spentUsd"]);
    let chat = |ua: &str| {
        proxy.post(
            "/v1/chat/completions",
            &[("authorization", "Bearer k"), ("user-agent", ua)],
            &json!({"model": "gpt-5", "messages": [{"role": "user", "content": "status?"}]}),
        )
    };
    assert_eq!(served(&chat("my-cron-agent/1")), "gpt-5", "the pattern is anchored");
    let spent_mid = dec(&proxy.budget("weekly")["spentUsd"]);
    assert!(spent_mid > spent_before);
    let today_mid = dec(&proxy.summary()["todayUsd"]);
    assert_eq!(served(&chat("cron-agent/1.2")), "gpt-5-mini");
    let last = proxy.last();
    assert_eq!(last["provider"], "local");
    assert_eq!(last["flatRate"], true);
    assert_eq!(
        dec(&proxy.summary()["todayUsd"]),
        today_mid,
        "a flat-rate request adds nothing to today's spend"
    );
    assert_eq!(last["reroute"]["rule"], "task:cron");
    assert_eq!(last["usage"]["input"], 25, "tokens are tracked");
    assert!(
        dec(&last["costUsd"]) > Decimal::ZERO,
        "API-equivalent dollars are tracked"
    );
    assert_eq!(
        dec(&proxy.budget("weekly")["spentUsd"]),
        spent_mid,
        "a flat-rate upstream costs the budget nothing"
    );

    // Savings: the report equals the ledger's sums (flat-rate requests paid nothing).
    let recs = records(&proxy);
    let mut by_rule: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in &recs {
        if let Some(rr) = &r.reroute {
            let paid = if r.provider == "local" {
                Decimal::ZERO
            } else {
                r.cost_usd.unwrap()
            };
            *by_rule.entry(rr.rule.clone()).or_default() += rr.counterfactual_cost_usd.unwrap() - paid;
        }
    }
    assert_eq!(by_rule.len(), 4, "{by_rule:?}");
    let report_cmd = |args: &[&str]| {
        Command::new(bin_path())
            .args(["report", "--ledger"])
            .arg(proxy.ledger())
            .args(args)
            .current_dir(dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("cfg"))
            .output()
            .unwrap()
    };
    let out = report_cmd(&["--savings", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let total: Decimal = by_rule.values().sum();
    assert_eq!(dec(&report["total"]["savedUsd"]), total);
    assert_eq!(report["total"]["requests"], 4);
    for line in report["byRule"].as_array().unwrap() {
        assert_eq!(
            dec(&line["savedUsd"]),
            by_rule[line["rule"].as_str().unwrap()],
            "{line}"
        );
    }
    let table = report_cmd(&["--savings"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("task:heartbeat") && text.contains("total"), "{text}");

    // The spend report: flat-rate requests cost nothing, their API price is shown beside.
    let out = report_cmd(&["--by", "provider", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let local = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "local")
        .unwrap();
    assert_eq!(dec(&local["costUsd"]), Decimal::ZERO);
    assert_eq!(local["flatRateRequests"], 1);
    assert_eq!(dec(&local["flatRateApiUsd"]), dec(&last["costUsd"]));
    let paid: Decimal = recs.iter().filter(|r| !r.flat_rate).filter_map(|r| r.cost_usd).sum();
    assert_eq!(dec(&report["total"]["costUsd"]), paid);
}

/// At 90% of the weekly budget: a session whose prompt cache is warm stays on its model, a
/// Responses request continuing a previous response keeps its model, each with the reason in
/// the proxy's log; a new session is capped; so are OpenAI chat and Gemini requests.
#[test]
fn sessions_keep_their_model_while_switching_would_break_them() {
    let fake = fake_upstream::spawn();
    let dir = tempfile::tempdir().unwrap();
    // The fake's `cache` scenario on Opus costs $0.004725: with $0.0045 already spent of
    // $0.01, one such request takes the budget from 45% to 92%; a Sonnet request ($0.000255)
    // leaves it below 95%, an Opus one ($0.000425) above.
    seed(&dir.path().join("ledger.sqlite"), "anthropic", "0.0045");
    let config = "[budgets.weekly]\nwindow = \"week\"\nusd = \"0.01\"\n";
    let proxy = Proxy::start(dir.path(), config, &fake.url());
    let feed = Feed::subscribe(&proxy.addr);
    let cached = [("x-fake-scenario", "cache"), ("x-claude-code-session-id", "sess-warm")];
    let r = proxy.anthropic(OPUS, &cached);
    assert_eq!(r.json()["model"], OPUS, "45%: no cap");
    let p = proxy.budget("weekly")["pressure"].as_f64().unwrap();
    assert!((0.85..0.95).contains(&p), "{p}");

    // A new session is capped at Sonnet; the warm session stays on Opus.
    let fresh = proxy.anthropic(OPUS, &[("x-claude-code-session-id", "sess-new")]);
    assert_eq!(fresh.json()["model"], SONNET);
    let p = proxy.budget("weekly")["pressure"].as_f64().unwrap();
    assert!((0.85..0.95).contains(&p), "{p}");
    assert_eq!(
        proxy
            .anthropic(OPUS, &[("x-claude-code-session-id", "sess-warm")])
            .json()["model"],
        OPUS
    );
    assert_eq!(proxy.last()["reroute"], Value::Null);
    proxy.wait_log("held back: session sess-warm has a warm prompt cache on claude-opus-4-8");
    let notes = feed.wait_for("route", 1);
    assert_eq!(notes[0]["session"], "sess-warm");
    assert_eq!(notes[0]["modelRequested"], OPUS);
    assert!(
        notes[0]["note"].as_str().unwrap().contains("warm prompt cache"),
        "{notes:?}"
    );

    // Continuation ids pin the model; without one the cap applies.
    let resp = |extra: Value| {
        let mut body = json!({"model": "gpt-5", "input": "next step"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        proxy.post("/v1/responses", &[("authorization", "Bearer k")], &body)
    };
    let p = proxy.budget("weekly")["pressure"].as_f64().unwrap();
    assert!(p >= 0.95, "{p}");
    assert_eq!(
        resp(json!({"previous_response_id": "resp_abc"})).json()["model"],
        "gpt-5"
    );
    proxy.wait_log("kept on gpt-5 because previous_response_id resp_abc");
    let notes = feed.wait_for("route", 2);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(resp(json!({})).json()["model"], "gpt-5-nano");

    // Chat Completions and Gemini (whose model is in the path) are capped too.
    let chat = proxy.post(
        "/v1/chat/completions",
        &[("authorization", "Bearer k")],
        &json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(chat.json()["model"], "gpt-5-nano");
    let gem = proxy.post(
        "/v1beta/models/gemini-2.5-pro:generateContent",
        &[("x-goog-api-key", "k")],
        &json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
    );
    assert_eq!(gem.status, 200, "{}", gem.body);
    assert_eq!(proxy.last()["modelServed"], "gemini-2.5-flash-lite");
    let sent = fake.fake.requests();
    assert!(
        sent.iter()
            .any(|r| r["path"] == "/v1beta/models/gemini-2.5-flash-lite:generateContent"),
        "{sent:#?}"
    );
}

/// Budgets per provider and per project charge only their requests.
#[test]
fn scoped_budgets_charge_only_their_requests() {
    let fake = fake_upstream::spawn();
    let dir = tempfile::tempdir().unwrap();
    let config = "[budgets.oai]\nwindow = \"day\"\nusd = 1\nprovider = \"openai\"\n\
                  [budgets.repo]\nwindow = \"month\"\nusd = 1\nproject = \"repo\"\n";
    let proxy = Proxy::start(dir.path(), config, &fake.url());
    proxy.anthropic(SONNET, &[]);
    assert_eq!(proxy.budget("oai")["spentUsd"], "0");
    assert_eq!(proxy.budget("repo")["spentUsd"], "0");
    proxy.post(
        "/v1/chat/completions",
        &[("authorization", "Bearer k")],
        &json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(proxy.budget("oai")["spentUsd"], proxy.last()["costUsd"]);
    assert_eq!(proxy.budget("repo")["spentUsd"], "0");
    let r = proxy.post(
        "/p/repo/v1/messages",
        &[("x-api-key", "k")],
        &json!({"model": SONNET, "max_tokens": 12, "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(proxy.last()["project"], "repo");
    assert_eq!(proxy.budget("repo")["spentUsd"], "0.000255");
    assert_eq!(proxy.budget("repo")["scope"], "project:repo");
}

/// A config the policy cannot use stops the proxy with a message naming the key.
#[test]
fn bad_budget_config_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg").join("promptmeter");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        "[budgets.weekly]\nwindow = \"fortnight\"\nusd = 5\n",
    )
    .unwrap();
    let out = Command::new(bin_path())
        .args(["proxy", "--listen", "127.0.0.1:0", "--ledger"])
        .arg(dir.path().join("l.sqlite"))
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("cfg"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[budgets.weekly] window \"fortnight\""), "{err}");
}

/// A used-up hard-limit budget refuses every provider in its own error shape, and says which
/// budget and how to raise it.
#[test]
fn refusals_in_each_providers_shape() {
    let fake = fake_upstream::spawn();
    let dir = tempfile::tempdir().unwrap();
    seed(&dir.path().join("ledger.sqlite"), "anthropic", "0.5");
    let config = "[budgets]\nhard_limit = true\n[budgets.daily]\nwindow = \"day\"\nusd = \"0.5\"\n";
    let proxy = Proxy::start(dir.path(), config, &fake.url());
    let a = proxy.anthropic(HAIKU, &[]);
    assert_eq!(a.status, 402);
    assert_eq!(a.json()["error"]["type"], "billing_error");
    let o = proxy.post(
        "/v1/chat/completions",
        &[("authorization", "Bearer k")],
        &json!({"model": "gpt-5-nano", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(o.status, 429);
    let v = o.json();
    assert_eq!(v["error"]["type"], "insufficient_quota");
    assert_eq!(v["error"]["code"], "promptmeter_budget");
    let g = proxy.post(
        "/v1beta/models/gemini-2.5-flash:generateContent",
        &[("x-goog-api-key", "k")],
        &json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
    );
    assert_eq!(g.status, 429);
    let v = g.json();
    assert_eq!(v["error"]["code"], 429);
    assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(
        m.starts_with("promptmeter: Daily budget is used up: $0.5000 of $0.5000 spent"),
        "{m}"
    );
    assert!(m.contains("raise `usd` under [budgets.daily]"), "{m}");
    for r in [&a, &o, &g] {
        assert_eq!(r.header("x-should-retry").as_deref(), Some("false"));
    }
    assert!(fake.fake.requests().is_empty(), "nothing reached the upstream");
    assert!(records(&proxy).len() == 1, "refusals are not recorded as spend");
}

/// "This week" is the same week in the budgets, the live totals, `statusline` and `report`:
/// all follow `[budgets] week_starts` and `utc_offset`. Weeks here start today, so spend from
/// late yesterday counts in the Monday-to-Sunday week (except on Mondays) but not in this one.
#[test]
fn every_total_uses_the_configured_week() {
    let fake = fake_upstream::spawn();
    let dir = tempfile::tempdir().unwrap();
    let day_ms = 86_400_000;
    let today_start = now_ms() - now_ms().rem_euclid(day_ms);
    let ledger = dir.path().join("ledger.sqlite");
    let mut l = Ledger::open(&ledger).unwrap();
    for (id, ts_ms, usd) in [
        ("yesterday", today_start - 3_600_000, "0.50"),
        ("today", today_start + 60_000, "0.25"),
    ] {
        l.insert(&RequestRecord {
            id: id.into(),
            ts_ms,
            provider: "anthropic".into(),
            status: 200,
            cost_usd: Some(usd.parse().unwrap()),
            cost_known: true,
            ..Default::default()
        })
        .unwrap();
    }
    drop(l);
    const DAYS: [&str; 7] = [
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
    ];
    let today = DAYS[(today_start / day_ms).rem_euclid(7) as usize]; // 1970-01-01 was a Thursday
    let config = format!(
        "[budgets]\nutc_offset = \"UTC\"\nweek_starts = \"{today}\"\n\n\
         [budgets.weekly]\nwindow = \"week\"\nusd = \"10\"\n"
    );
    let proxy = Proxy::start(dir.path(), &config, &fake.url());
    let summary = proxy.summary();
    assert_eq!(summary["weekUsd"], "0.25", "{summary}");
    assert_eq!(proxy.budget("weekly")["spentUsd"], "0.25");

    // The status line without a proxy, from the ledger, and the weekly report agree.
    drop(proxy);
    let run = |args: &[&str]| {
        let out = Command::new(bin_path())
            .args(args)
            .arg("--ledger")
            .arg(&ledger)
            .current_dir(dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("cfg"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let line = run(&["statusline", "--proxy", "127.0.0.1:9"]);
    assert!(line.contains("$0.25 week"), "{line}");
    let report: Value = serde_json::from_str(&run(&["report", "--by", "week", "--json"])).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{report}");
    let first = time::OffsetDateTime::from_unix_timestamp(today_start / 1000)
        .unwrap()
        .date();
    let this_week = format!("week of {first}");
    let row = rows.iter().find(|r| r["key"] == this_week.as_str()).unwrap();
    assert_eq!(row["costUsd"], "0.25", "{report}");
}
