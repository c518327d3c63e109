//! The language server relays the proxy's live feed (docs/protocol.md): `promptmeter/spend`
//! notifications and budget alerts as window/showMessage, against a feed served here over
//! real HTTP/1.1 on loopback (chunked server-sent events, as the proxy sends them); and says
//! `connected: false` when no proxy runs.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc::channel;

use promptmeter_e2e::lsp_client::LspClient;
use serde_json::{Value, json};

fn chunk(out: &mut impl Write, event: &str, data: &Value) {
    let body = format!("event: {event}\ndata: {data}\n\n");
    write!(out, "{:x}\r\n{body}\r\n", body.len()).unwrap();
    out.flush().unwrap();
}

#[test]
fn spend_and_alerts_are_relayed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (go_tx, go_rx) = channel::<()>();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut r = BufReader::new(stream.try_clone().unwrap());
        let mut request = String::new();
        loop {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            if l.trim().is_empty() {
                break;
            }
            request.push_str(&l);
        }
        let mut w = stream;
        write!(
            w,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        .unwrap();
        chunk(
            &mut w,
            "hello",
            &json!({"todayUsd": "1.20", "weekUsd": "40.00", "monthUsd": "90", "requests": 3,
                    "session": {"id": "abc", "usd": "0.5", "requests": 3}, "byProvider": {"anthropic": "1.20"}, "byModel": {},
                    "budgets": [{"name": "weekly", "window": "week", "scope": "global", "limitUsd": "50", "spentUsd": "40",
                                 "pressure": 0.8, "level": "ok", "forecastExhaustedAt": null}],
                    "last": null, "version": "0.1.0"}),
        );
        go_rx.recv().unwrap();
        chunk(
            &mut w,
            "request",
            &json!({"id": "01J", "provider": "anthropic", "modelRequested": "claude-opus-4-8", "modelServed": "claude-sonnet-4-5",
                    "usage": {"input": 10, "cacheRead": 2000, "cacheWrite5m": 0, "cacheWrite1h": 0, "output": 300, "reasoning": 0},
                    "costUsd": "0.0123", "costKnown": true, "latencyMs": 812.4,
                    "reroute": {"from": "claude-opus-4-8", "rule": "pressure>85% weekly", "counterfactualCostUsd": "0.06"}}),
        );
        chunk(
            &mut w,
            "totals",
            &json!({"todayUsd": "3.21", "weekUsd": "43.00", "monthUsd": "93", "requests": 4,
                    "session": {"id": "abc", "usd": "0.51", "requests": 4}, "byProvider": {"anthropic": "3.21"}, "byModel": {}}),
        );
        chunk(
            &mut w,
            "alert",
            &json!({"budget": "weekly", "scope": "global", "threshold": 0.85, "pressure": 0.86, "spentUsd": "43", "limitUsd": "50",
                    "forecastExhaustedAt": null, "message": "Weekly budget at 86% ($43.00 of $50.00)"}),
        );
        go_rx.recv().unwrap();
        request
    });
    let mut c = LspClient::start_with(
        |_, _| {},
        json!({"lsp": {"feed_url": format!("http://127.0.0.1:{port}/_promptmeter/feed")}}),
    );
    let hello = c.take("promptmeter/spend", |p| p["connected"] == true);
    assert_eq!(hello["todayUsd"], "1.20");
    assert_eq!(hello["budget"]["pressure"], 0.8);
    assert_eq!(hello["last"], Value::Null);
    go_tx.send(()).unwrap();
    let after_request = c.take("promptmeter/spend", |p| p["last"].is_object());
    assert_eq!(after_request["last"]["reroutedFrom"], "claude-opus-4-8");
    let totals = c.take("promptmeter/spend", |p| p["todayUsd"] == "3.21");
    assert_eq!(totals["session"]["requests"], 4);
    let mut alerted = c.take("promptmeter/spend", |p| !p["alert"].is_null());
    assert_eq!(alerted["proxyUrl"], format!("http://127.0.0.1:{port}"));
    alerted["proxyUrl"] = json!("http://127.0.0.1:$PORT");
    insta::assert_json_snapshot!("spend_after_alert", alerted);
    let shown = c.take("window/showMessage", |_| true);
    assert_eq!(
        shown,
        json!({"type": 2, "message": "Weekly budget at 86% ($43.00 of $50.00)"})
    );
    go_tx.send(()).unwrap();
    let request = server.join().unwrap();
    assert!(request.starts_with("GET /_promptmeter/feed HTTP/1.1\r\n"), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains(&format!("host: 127.0.0.1:{port}")),
        "{request}"
    );
    // the feed ended: the status says so
    let down = c.take("promptmeter/spend", |p| p["connected"] == false);
    assert_eq!(down["todayUsd"], "3.21", "the last known totals stay");
    c.finish();
}

#[test]
fn no_proxy_means_connected_false_and_everything_else_works() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener); // nothing listens there now
    let mut c = LspClient::start_with(
        |_, _| {},
        json!({"lsp": {"feed_url": format!("http://127.0.0.1:{port}/_promptmeter/feed")}}),
    );
    let down = c.take("promptmeter/spend", |_| true);
    assert_eq!(down["connected"], false);
    assert_eq!(down["proxyUrl"], format!("http://127.0.0.1:{port}"));
    c.ignore("textDocument/publishDiagnostics");
    let uri = c.open("CLAUDE.md", "# Still\nworks\n");
    assert_eq!(c.inlay_hints(&uri, 3).as_array().map(|a| a.len()), Some(2));
    c.finish();
}

#[test]
fn relays_the_real_proxy_feed() {
    use promptmeter_e2e::fake_upstream;
    use promptmeter_e2e::lsp_client::TempDir;
    use promptmeter_e2e::proxy_harness::{ProxyProcess, post_json};

    let fake = fake_upstream::spawn();
    let dir = TempDir::new("lsp-proxy");
    let mut proxy = ProxyProcess::start(&fake.url(), &dir.path().join("ledger.sqlite"));
    let mut c = LspClient::start_with(
        |_, _| {},
        json!({"lsp": {"feed_url": format!("{}/_promptmeter/feed", proxy.url())}}),
    );
    let hello = c.take("promptmeter/spend", |p| p["connected"] == true);
    assert_eq!(hello["proxyUrl"], proxy.url());
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": true,
                      "messages": [{"role": "user", "content": "what is 2+2?"}]});
    let resp = post_json(
        &proxy.addr,
        "/v1/messages",
        &[("x-api-key", "sk-ant-test"), ("anthropic-version", "2023-06-01")],
        &body,
    );
    assert_eq!(resp.status, 200);
    let spend = c.take("promptmeter/spend", |p| {
        p["last"]["model"].is_string() && p["todayUsd"] != "0"
    });
    assert_eq!(spend["connected"], true);
    assert_eq!(spend["last"]["provider"], "anthropic");
    assert_eq!(spend["last"]["model"], "claude-sonnet-4-5");
    assert!(spend["last"]["inputTokens"].as_u64().is_some(), "{spend}");
    assert!(
        spend["last"]["costUsd"]
            .as_str()
            .is_some_and(|s| s.parse::<f64>().unwrap() > 0.0),
        "{spend}"
    );
    assert!(spend["todayUsd"].is_string(), "{spend}");
    proxy.kill();
    let down = c.take("promptmeter/spend", |p| p["connected"] == false);
    assert_eq!(down["last"]["model"], "claude-sonnet-4-5", "the last known state stays");
    c.ignore("promptmeter/spend");
    c.finish();
}
