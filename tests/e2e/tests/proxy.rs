//! End to end through the real `promptmeter proxy` binary and a fake upstream on loopback:
//! what the client receives is exactly what the upstream sent, and the ledger holds the exact
//! usage and cost of every request (committed before the client sees the response end).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use promptmeter_core::{Catalog, Usage, cost_of};
use promptmeter_e2e::fake_upstream::{self, Running};
use promptmeter_e2e::proxy_harness::{HttpResponse, ProxyProcess, get, post_json, request};
use promptmeter_ledger::RequestRecord;
use serde_json::{Value, json};

struct Setup {
    fake: Running,
    proxy: ProxyProcess,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_upstream::spawn();
    let proxy = ProxyProcess::start(&fake.url(), &dir.path().join("ledger.sqlite"));
    Setup { fake, proxy, _dir: dir }
}

impl Setup {
    fn fake_addr(&self) -> String {
        self.fake.addr.to_string()
    }

    fn records(&self) -> Vec<RequestRecord> {
        self.proxy.records()
    }

    fn only_record(&self) -> RequestRecord {
        let r = self.records();
        assert_eq!(r.len(), 1, "{r:#?}");
        r.into_iter().next().unwrap()
    }

    /// The same request, through the proxy and directly.
    fn both(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> (HttpResponse, HttpResponse) {
        let via = post_json(&self.proxy.addr, path, headers, body);
        let direct = post_json(&self.fake_addr(), path, headers, body);
        (via, direct)
    }
}

fn usage(input: u64, cache_read: u64, w5: u64, w1: u64, output: u64, reasoning: u64) -> Usage {
    Usage {
        input,
        cache_read,
        cache_write_5m: w5,
        cache_write_1h: w1,
        output,
        reasoning,
    }
}

fn expected_cost(model: &str, u: &Usage) -> rust_decimal::Decimal {
    let catalog = Catalog::bundled();
    let m = catalog
        .resolve(model)
        .unwrap_or_else(|| panic!("{model} in the catalog"));
    cost_of(m, u, None).unwrap().total.normalize()
}

fn assert_same(via: &HttpResponse, direct: &HttpResponse) {
    assert_eq!(via.status, direct.status);
    assert_eq!(via.text(), direct.text());
    assert_eq!(via.header("content-type"), direct.header("content-type"));
}

fn anthropic_body(stream: bool) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": stream,
           "system": [{"type": "text", "text": "# Rules\nBe terse.\n\n# Style\nNo emoji.\n"}],
           "tools": [{"name": "bash", "description": "run a command", "input_schema": {"type": "object"}}],
           "messages": [{"role": "user", "content": "hello"},
                        {"role": "assistant", "content": "hi"},
                        {"role": "user", "content": "what is 2+2?"}]})
}

const ANTHROPIC_HEADERS: [(&str, &str); 3] = [
    ("x-api-key", "sk-ant-secret-1234567890"),
    ("anthropic-version", "2023-06-01"),
    (
        "anthropic-beta",
        "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14",
    ),
];

#[test]
fn anthropic_streaming_and_not_pass_through_exactly_and_are_priced() {
    let s = setup();
    for stream in [false, true] {
        for scenario in ["ok", "cache"] {
            let mut h = ANTHROPIC_HEADERS.to_vec();
            h.push(("x-fake-scenario", scenario));
            h.push(("x-claude-code-session-id", "cc-session-1"));
            let (via, direct) = s.both("/v1/messages?beta=true", &h, &anthropic_body(stream));
            assert_eq!(via.status, 200);
            assert_same(&via, &direct);
        }
    }
    let records = s.records();
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r.provider, "anthropic");
        assert_eq!(r.path, "/v1/messages");
        assert_eq!(r.session.as_deref(), Some("cc-session-1"));
        assert_eq!(r.model_requested.as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(r.model_served.as_deref(), Some("claude-sonnet-4-5"));
        assert!(!r.incomplete);
        assert!(r.cost_known);
        let u: Usage = r.usage.into();
        let want = if r.usage.cache_read > 0 {
            usage(10, 2000, 100, 200, 42, 0)
        } else {
            usage(25, 0, 0, 0, 12, 0)
        };
        assert_eq!(u, want);
        assert_eq!(r.cost_usd, Some(expected_cost("claude-sonnet-4-5", &want)));
        let c = r.composition.unwrap();
        assert_eq!(
            c.total(),
            want.prompt_tokens(),
            "composition sums to the reported input"
        );
        assert!(
            c.system > 0 && c.tools > 0 && c.history > 0 && c.current_turn > 0,
            "{c:?}"
        );
        assert_eq!(r.fingerprints.len(), 2);
        assert_eq!(r.fingerprints.iter().map(|f| f.tokens).sum::<u64>(), c.system);
    }
    assert_eq!(records.iter().filter(|r| r.stream).count(), 2);
    // every header reached the upstream unchanged, the body byte for byte
    let seen = s.fake.fake.requests();
    let up = seen.iter().find(|r| r["path"] == "/v1/messages?beta=true").unwrap();
    assert_eq!(up["headers"]["x-api-key"], "sk-ant-secret-1234567890");
    assert_eq!(up["headers"]["anthropic-beta"], ANTHROPIC_HEADERS[2].1);
    assert_eq!(up["headers"]["x-claude-code-session-id"], "cc-session-1");
    assert_eq!(up["body"], anthropic_body(false).to_string());
}

#[test]
fn keys_and_prompt_text_are_never_stored() {
    let s = setup();
    let (via, _) = s.both("/v1/messages", &ANTHROPIC_HEADERS, &anthropic_body(true));
    assert_eq!(via.status, 200);
    let path = "/v1beta/models/gemini-2.5-pro:generateContent?key=AIza-secret-key-42";
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "what is 2+2?"}]}]});
    assert_eq!(post_json(&s.proxy.addr, path, &[], &body).status, 200);
    let r = s.records();
    assert_eq!(r.len(), 2);
    let gemini = r.iter().find(|r| r.provider == "gemini").unwrap();
    assert_eq!(gemini.path, "/v1beta/models/gemini-2.5-pro:generateContent");
    drop(s.proxy);
    let mut all = Vec::new();
    for entry in std::fs::read_dir(s._dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            all.extend(std::fs::read(p).unwrap());
        }
    }
    let hay = String::from_utf8_lossy(&all);
    for secret in [
        "sk-ant-secret-1234567890",
        "AIza-secret-key-42",
        "what is 2+2?",
        "Be terse.",
    ] {
        assert!(!hay.contains(secret), "{secret:?} found in the ledger files");
    }
}

#[test]
fn chat_stream_without_usage_is_metered_and_the_client_sees_what_it_would_have() {
    let s = setup();
    let body = json!({"model": "gpt-5", "stream": true,
                      "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"}]});
    let h = [
        ("authorization", "Bearer sk-openai-secret"),
        ("x-fake-scenario", "cache"),
    ];
    let (via, direct) = s.both("/v1/chat/completions", &h, &body);
    assert_eq!(via.status, 200);
    assert_same(&via, &direct);
    assert!(!via.text().contains("\"usage\""), "no usage the client did not ask for");
    // the proxy asked upstream for usage
    let seen = s.fake.fake.requests();
    let up: Value = serde_json::from_str(seen[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(up["stream_options"]["include_usage"], true);
    let r = s.only_record();
    let want = usage(10, 2000, 0, 0, 42, 10);
    assert_eq!(Usage::from(r.usage), want);
    assert_eq!(r.cost_usd, Some(expected_cost("gpt-5", &want)));
    assert_eq!(r.composition.unwrap().total(), 2010);
}

#[test]
fn chat_stream_with_usage_and_chat_json_pass_through() {
    let s = setup();
    let streamed = json!({"model": "gpt-5", "stream": true, "stream_options": {"include_usage": true},
                          "messages": [{"role": "user", "content": "hi"}]});
    let (via, direct) = s.both("/v1/chat/completions", &[], &streamed);
    assert_same(&via, &direct);
    assert!(via.text().contains("\"choices\":[],\"usage\""));
    let plain = json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]});
    let (via, direct) = s.both("/v1/chat/completions", &[], &plain);
    assert_same(&via, &direct);
    let records = s.records();
    assert_eq!(records.len(), 2);
    for r in records {
        assert_eq!(Usage::from(r.usage), usage(25, 0, 0, 0, 12, 0));
        assert!(r.cost_known);
    }
}

#[test]
fn responses_and_gemini_streaming_and_not() {
    let s = setup();
    let h = [("x-fake-scenario", "cache")];
    for stream in [false, true] {
        let body = json!({"model": "gpt-5", "stream": stream, "instructions": "Be terse.", "input": "hi"});
        let (via, direct) = s.both("/v1/responses", &h, &body);
        assert_same(&via, &direct);
    }
    let g = json!({"systemInstruction": {"parts": [{"text": "Be terse."}]},
                   "contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    for path in [
        "/v1beta/models/gemini-2.5-pro:generateContent",
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
    ] {
        let (via, direct) = s.both(path, &h, &g);
        assert_eq!(via.status, 200, "{path}");
        assert_same(&via, &direct);
    }
    let records = s.records();
    assert_eq!(records.len(), 5);
    for r in &records {
        let u = Usage::from(r.usage);
        assert_eq!(
            (u.input, u.cache_read, u.output, u.reasoning),
            (10, 2000, 42, 10),
            "{r:?}"
        );
        assert!(r.cost_known, "{r:?}");
        assert!(!r.incomplete, "{r:?}");
        let model = if r.provider == "gemini" {
            "gemini-2.5-pro"
        } else {
            "gpt-5"
        };
        assert_eq!(r.cost_usd, Some(expected_cost(model, &u)), "{r:?}");
        assert_eq!(r.composition.unwrap().total(), 2010);
    }
}

#[test]
fn errors_pass_through_and_are_recorded() {
    let s = setup();
    let cases = [
        ("/v1/messages", "429", 429, "rate_limit_error"),
        ("/v1/messages", "529", 529, "overloaded_error"),
        ("/v1/chat/completions", "500", 500, "server_error"),
        ("/v1/chat/completions", "400", 400, "invalid_request_error"),
        (
            "/v1beta/models/gemini-2.5-pro:generateContent",
            "503",
            503,
            "UNAVAILABLE",
        ),
    ];
    for (path, scenario, status, _) in cases {
        let body = if path.contains("gemini") {
            json!({"contents": []})
        } else {
            json!({"model": "claude-sonnet-4-5", "stream": true, "messages": []})
        };
        let (via, direct) = s.both(path, &[("x-fake-scenario", scenario)], &body);
        assert_eq!(via.status, status);
        assert_same(&via, &direct);
        if status == 429 {
            assert_eq!(via.header("retry-after"), Some("1"));
        }
    }
    let records = s.records();
    assert_eq!(records.len(), cases.len());
    for (_, _, status, kind) in cases {
        let r = records.iter().find(|r| r.status == status).unwrap();
        assert_eq!(r.error.as_deref(), Some(kind));
        assert_eq!(Usage::from(r.usage), Usage::default());
        assert!(!r.incomplete);
    }
}

/// Streams are relayed as their bytes arrive, never buffered whole: with the upstream holding
/// its stream open for a minute after the first event, the client reads that first event
/// through the proxy (every streaming wire format, including a chat stream whose usage chunk
/// the proxy asks for). The client then hangs up; each request is recorded incomplete with
/// what was seen. Then slow streams (every event 150 ms apart) complete with their full usage.
#[test]
fn streams_are_relayed_as_they_arrive_and_slow_streams_complete() {
    let s = setup();
    let g = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let cases: [(&str, Value, &str); 4] = [
        ("/v1/messages", anthropic_body(true), "event: message_start"),
        (
            "/v1/chat/completions",
            json!({"model": "gpt-5", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
            "data: {",
        ),
        (
            "/v1/responses",
            json!({"model": "gpt-5", "stream": true, "input": "hi"}),
            "event: response.created",
        ),
        (
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            g.clone(),
            "data: {",
        ),
    ];
    for (path, body, first) in &cases {
        let mut c = TcpStream::connect(&s.proxy.addr).unwrap();
        // If the proxy waited for the end of the stream, this read would time out.
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let body = body.to_string();
        write!(
            c,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             x-fake-scenario: hold\r\nx-fake-hold-ms: 60000\r\nContent-Length: {}\r\n\r\n{body}",
            s.proxy.addr,
            body.len()
        )
        .unwrap();
        let mut got = String::new();
        read_until(&mut c, &mut got, first);
        let event_start = got.find(first).unwrap();
        // Gemini ends its events with CRLF CRLF, the others with LF LF.
        let end = if path.contains("gemini") { "\r\n\r\n" } else { "\n\n" };
        read_until_from(&mut c, &mut got, event_start, end);
        assert!(got.starts_with("HTTP/1.1 200"), "{path}: {got}");
        drop(c);
    }
    let mut records = Vec::new();
    for _ in 0..1200 {
        records = s.records();
        if records.len() == cases.len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(records.len(), cases.len(), "{records:#?}");
    for r in &records {
        assert!(r.incomplete, "the client hung up midway: {r:?}");
        assert_eq!(r.error.as_deref(), Some("client_disconnected"), "{r:?}");
    }

    // Slow streams: the same bytes as going direct, full usage, the first byte long before the end.
    let slow = [("x-fake-scenario", "slow"), ("x-fake-delay-ms", "150")];
    for (path, body, _) in &cases {
        let (via, direct) = s.both(path, &slow, body);
        assert_same(&via, &direct);
    }
    let records = s.records();
    assert_eq!(records.len(), 2 * cases.len());
    for r in records.iter().filter(|r| !r.incomplete) {
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.usage.output > 0, "{r:?}");
        assert!(r.cost_known, "{r:?}");
        let ttft = r.ttft_ms.expect("time to first byte");
        assert!(
            r.latency_ms - ttft >= 150.0,
            "the stream took its time after the first byte: {r:?}"
        );
    }
}

/// Read from `stream` until `until` appears in `buf` after byte `from`.
fn read_until_from(stream: &mut TcpStream, buf: &mut String, from: usize, until: &str) {
    let mut chunk = [0u8; 4096];
    while !buf[from..].contains(until) {
        let n = stream
            .read(&mut chunk)
            .unwrap_or_else(|e| panic!("{e} waiting for {until:?} after {from}: {buf:?}"));
        assert!(n > 0, "closed before {until:?}: {buf}");
        buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
}

#[test]
fn a_stream_cut_midway_is_recorded_incomplete_with_what_was_seen() {
    let s = setup();
    let h = [("x-fake-scenario", "reset")];
    let via = post_json(&s.proxy.addr, "/v1/messages", &h, &anthropic_body(true));
    assert_eq!(via.status, 200);
    assert!(!via.complete, "the client sees the cut");
    assert!(via.text().starts_with("event: message_start"));
    let json_cut = post_json(
        &s.proxy.addr,
        "/v1/chat/completions",
        &h,
        &json!({"model": "gpt-5", "messages": []}),
    );
    assert!(!json_cut.complete);
    // the cut request is committed asynchronously: wait for it (no timing asserted)
    let mut records = Vec::new();
    for _ in 0..1200 {
        records = s.records();
        if records.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(records.len(), 2);
    let a = records.iter().find(|r| r.provider == "anthropic").unwrap();
    assert!(a.incomplete);
    // message_start was seen: the input and the first output token are known
    assert_eq!(Usage::from(a.usage), usage(25, 0, 0, 0, 1, 0));
    assert!(a.cost_known);
    let o = records.iter().find(|r| r.provider == "openai").unwrap();
    assert!(o.incomplete);
    assert_eq!(Usage::from(o.usage), Usage::default());
}

#[test]
fn unknown_models_are_unpriced_and_unknown_paths_pass_through() {
    let s = setup();
    let body = json!({"model": "totally-new-model-9000", "messages": [{"role": "user", "content": "hi"}]});
    let (via, direct) = s.both("/v1/chat/completions", &[], &body);
    assert_same(&via, &direct);
    let r = s.only_record();
    assert!(!r.cost_known);
    assert_eq!(r.cost_usd, None);
    // not metered: models list, count_tokens, a body that is not JSON, HEAD /
    let via = request(
        &s.proxy.addr,
        "GET",
        "/v1/models",
        &[("authorization", "Bearer k")],
        b"",
    );
    let direct = request(
        &s.fake_addr(),
        "GET",
        "/v1/models",
        &[("authorization", "Bearer k")],
        b"",
    );
    assert_same(&via, &direct);
    let ct = post_json(
        &s.proxy.addr,
        "/v1/messages/count_tokens",
        &ANTHROPIC_HEADERS,
        &anthropic_body(false),
    );
    assert_eq!(ct.json()["input_tokens"], 25);
    let garbage = request(&s.proxy.addr, "POST", "/v1/chat/completions", &[], b"{not json");
    let garbage_direct = request(&s.fake_addr(), "POST", "/v1/chat/completions", &[], b"{not json");
    assert_same(&garbage, &garbage_direct);
    let seen = s.fake.fake.requests();
    assert!(seen.iter().any(|r| r["body"] == "{not json"));
    assert_eq!(request(&s.proxy.addr, "HEAD", "/", &[], b"").status, 200);
    assert_eq!(s.records().len(), 1);
}

#[test]
fn namespace_summary_requests_metrics_health_and_host_checks() {
    let s = setup();
    let h = [("x-promptmeter-session", "sess-9"), ("x-promptmeter-project", "myrepo")];
    post_json(&s.proxy.addr, "/v1/messages", &h, &anthropic_body(false));
    let health = get(&s.proxy.addr, "/_promptmeter/health").json();
    assert_eq!(health["ok"], true);
    let summary = get(&s.proxy.addr, "/_promptmeter/summary").json();
    let cost = expected_cost("claude-sonnet-4-5", &usage(25, 0, 0, 0, 12, 0)).to_string();
    assert_eq!(summary["todayUsd"], cost);
    assert_eq!(summary["weekUsd"], cost);
    assert_eq!(summary["requests"], 1);
    assert_eq!(summary["byProvider"]["anthropic"], cost);
    assert_eq!(summary["session"]["id"], "sess-9");
    assert_eq!(summary["session"]["requests"], 1);
    assert_eq!(summary["last"]["project"], "myrepo");
    assert!(summary["budgets"].is_array());
    let list = get(&s.proxy.addr, "/_promptmeter/requests?limit=5").json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["usage"]["input"], 25);
    let metrics = get(&s.proxy.addr, "/_promptmeter/metrics").text();
    assert!(
        metrics.contains("promptmeter_added_latency_seconds_count 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "promptmeter_requests_total{provider=\"anthropic\",model=\"claude-sonnet-4-5\",status=\"200\"} 1"
        )
    );
    let evil = request(
        &s.proxy.addr,
        "GET",
        "/_promptmeter/summary",
        &[("Host", "evil.example")],
        b"",
    );
    assert_eq!(evil.status, 403);
    let cross = request(
        &s.proxy.addr,
        "GET",
        "/_promptmeter/summary",
        &[("Origin", "https://evil.example")],
        b"",
    );
    assert_eq!(cross.status, 403);
}

/// Read SSE from `stream` until `until` appears; returns everything read.
fn read_until(stream: &mut TcpStream, buf: &mut String, until: &str) {
    let mut chunk = [0u8; 4096];
    while !buf.contains(until) {
        let n = stream.read(&mut chunk).expect("feed read");
        assert!(n > 0, "feed closed before {until:?}: {buf}");
        buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
}

#[test]
fn feed_sends_hello_then_request_and_totals() {
    let s = setup();
    let mut feed = TcpStream::connect(&s.proxy.addr).unwrap();
    feed.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        feed,
        "GET /_promptmeter/feed HTTP/1.1\r\nHost: {}\r\n\r\n",
        s.proxy.addr
    )
    .unwrap();
    let mut buf = String::new();
    read_until(&mut feed, &mut buf, "event: hello\ndata: ");
    assert!(buf.contains("text/event-stream"));
    post_json(
        &s.proxy.addr,
        "/v1/chat/completions",
        &[],
        &json!({"model": "gpt-5", "messages": []}),
    );
    read_until(&mut feed, &mut buf, "event: totals\ndata: ");
    read_until(&mut feed, &mut buf, "}\n\n");
    let request_data = buf
        .split("event: request\ndata: ")
        .nth(1)
        .unwrap()
        .split('\n')
        .next()
        .unwrap();
    let rec: Value = serde_json::from_str(request_data).unwrap();
    assert_eq!(rec["provider"], "openai");
    assert_eq!(rec["usage"]["output"], 12);
    assert_eq!(rec["costKnown"], true);
}

#[test]
fn restart_resumes_the_same_totals() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_upstream::spawn();
    let ledger = dir.path().join("ledger.sqlite");
    let mut first = ProxyProcess::start(&fake.url(), &ledger);
    for _ in 0..3 {
        post_json(
            &first.addr,
            "/v1/messages",
            &[("x-promptmeter-session", "s")],
            &anthropic_body(true),
        );
    }
    let before = get(&first.addr, "/_promptmeter/summary").json();
    first.kill();
    let second = ProxyProcess::start(&fake.url(), &ledger);
    let after = get(&second.addr, "/_promptmeter/summary").json();
    for key in [
        "todayUsd",
        "weekUsd",
        "monthUsd",
        "requests",
        "byProvider",
        "byModel",
        "session",
    ] {
        assert_eq!(before[key], after[key], "{key}");
    }
    assert_eq!(after["requests"], 3);
    assert_eq!(after["session"]["requests"], 3);
}

#[test]
fn report_and_statusline_read_the_ledger_and_the_running_proxy() {
    let s = setup();
    post_json(
        &s.proxy.addr,
        "/v1/messages",
        &[("x-fake-scenario", "cache")],
        &anthropic_body(false),
    );
    post_json(
        &s.proxy.addr,
        "/v1/chat/completions",
        &[],
        &json!({"model": "gpt-5", "messages": []}),
    );
    let bin = promptmeter_e2e::bin_path();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&bin)
            .args(args)
            .env("XDG_CONFIG_HOME", s._dir.path().join("cfg"))
            .current_dir(s._dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let ledger = s.proxy.ledger.to_str().unwrap();
    let report: Value =
        serde_json::from_str(&run(&["report", "--by", "provider", "--json", "--ledger", ledger])).unwrap();
    let a = expected_cost("claude-sonnet-4-5", &usage(10, 2000, 100, 200, 42, 0));
    let o = expected_cost("gpt-5", &usage(25, 0, 0, 0, 12, 0));
    assert_eq!(report["total"]["requests"], 2);
    assert_eq!(report["total"]["costUsd"], (a + o).normalize().to_string());
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows.iter().find(|r| r["key"] == "anthropic").unwrap()["costUsd"],
        a.to_string()
    );
    let table = run(&["report", "--by", "model", "--ledger", ledger]);
    assert!(
        table.contains("claude-sonnet-4-5") && table.contains("gpt-5"),
        "{table}"
    );
    let empty: Value = serde_json::from_str(&run(&[
        "report",
        "--json",
        "--since",
        "2000-01-01",
        "--until",
        "2000-01-02",
        "--ledger",
        ledger,
    ]))
    .unwrap();
    assert_eq!(empty["total"]["requests"], 0);
    // statusline: from the running proxy, then from the ledger alone
    let live = run(&["statusline", "--proxy", &s.proxy.addr, "--ledger", ledger]);
    let today = format!("${:.4} today", (a + o).round_dp(4));
    assert!(live.starts_with(&today), "{live}");
    assert!(live.contains("last gpt-5"), "{live}");
    let offline = run(&["statusline", "--proxy", "127.0.0.1:9", "--ledger", ledger]);
    assert_eq!(offline, live);
    // Claude Code's statusLine command gets its status JSON on stdin: add that session's spend
    post_json(
        &s.proxy.addr,
        "/v1/messages",
        &[("x-promptmeter-session", "cc-7")],
        &anthropic_body(false),
    );
    let mut child = std::process::Command::new(&bin)
        .args([
            "statusline",
            "--claude-code",
            "--proxy",
            &s.proxy.addr,
            "--ledger",
            ledger,
        ])
        .env("XDG_CONFIG_HOME", s._dir.path().join("cfg"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"session_id":"cc-7","model":{"id":"claude-sonnet-4-5"}}"#)
        .unwrap();
    let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let session_cost = expected_cost("claude-sonnet-4-5", &usage(25, 0, 0, 0, 12, 0));
    assert!(
        out.contains(&format!("session ${:.4} (1 req)", session_cost.round_dp(4))),
        "{out}"
    );
}

/// An image is counted at the size its provider charges for, not as its base64 text: a small
/// screenshot padded to 200 KB takes a small share of the window beside a long tool result.
#[test]
fn an_image_takes_its_size_in_the_composition_not_its_base64() {
    use base64::Engine;
    let s = setup();
    // A PNG header for 200 x 200 px (Anthropic: 54 tokens), then 200 KB of image data.
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
    png.extend_from_slice(b"IHDR");
    png.extend_from_slice(&200u32.to_be_bytes());
    png.extend_from_slice(&200u32.to_be_bytes());
    png.extend_from_slice(&[8, 6, 0, 0, 0]);
    png.extend((0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let data = base64::engine::general_purpose::STANDARD.encode(&png);
    let log =
        std::fs::read_to_string(promptmeter_e2e::corpus_dir().join("claude_md/astral-sh__ruff/CLAUDE.md")).unwrap();
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 100,
        "system": "Be terse.",
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "what is wrong in this screenshot?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "t1", "name": "read", "input": {"path": "CLAUDE.md"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": log}]},
            {"role": "assistant", "content": "The rules say so."},
            {"role": "user", "content": "and now?"}]});
    let mut h = ANTHROPIC_HEADERS.to_vec();
    h.push(("x-fake-scenario", "cache"));
    let (via, direct) = s.both("/v1/messages", &h, &body);
    assert_eq!(via.status, 200);
    assert_same(&via, &direct);
    let seen = s.fake.fake.requests();
    assert_eq!(
        seen[0]["body"],
        body.to_string(),
        "the image reached the upstream unchanged"
    );
    let c = s.only_record().composition.unwrap();
    assert_eq!(c.total(), 2310);
    // The tool result is ~600 tokens of text; the history is the image (54) and three short
    // turns. Counted as text, the image's base64 alone would be over 100,000.
    assert!(c.tool_results > 4 * c.history, "{c:?}");
    assert!(c.history > 0, "{c:?}");
}
