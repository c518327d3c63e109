//! Claude counts in the editor learn from real traffic: requests through the proxy teach it
//! the ratio of Anthropic's exact input counts to our base counts (`calibration.json` next to
//! the ledger), and the language server, told by the feed, re-counts open files with it.

use std::time::{Duration, Instant};

use promptmeter_e2e::fake_upstream;
use promptmeter_e2e::lsp_client::LspClient;
use promptmeter_e2e::proxy_harness::{ProxyProcess, post_json};
use serde_json::{Value, json};

/// (shown count, base count) from the file-total hint: "Σ ≈1,234 tok · …" and its tooltip
/// "Whole file: … (1,064 base-encoding tokens, o200k_base)".
fn total_hint(c: &mut LspClient, uri: &str) -> (u64, u64) {
    let hints = c.inlay_hints(uri, 50);
    let first = &hints.as_array().expect("hints")[0];
    let num = |s: &str| -> u64 {
        s.chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    };
    let label = first["label"].as_str().unwrap();
    let shown = label.trim_start_matches("Σ ≈").split(" tok").next().unwrap();
    let tooltip = first["tooltip"].as_str().unwrap();
    let base = tooltip
        .rsplit('(')
        .next()
        .unwrap()
        .split(" base-encoding")
        .next()
        .unwrap();
    (num(shown), num(base))
}

#[test]
fn claude_counts_calibrate_from_proxy_traffic() {
    let fake = fake_upstream::spawn();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let proxy = ProxyProcess::start(&fake.url(), &ledger);
    let mut c = LspClient::start_with(
        |_, _| {},
        json!({
            "models": {"active": "claude-sonnet-4-5"},
            "proxy": {"ledger": ledger.to_str().unwrap()},
            "lsp": {"feed_url": format!("http://{}/_promptmeter/feed", proxy.addr)},
        }),
    );
    c.ignore("textDocument/publishDiagnostics");
    let text = "# Project rules\n\nAlways run the tests before you commit. Keep functions short.\n".repeat(40);
    let uri = c.open("CLAUDE.md", &text);
    let (before, base) = total_hint(&mut c, &uri);
    assert_eq!(before, (base as f64 * 1.16).round() as u64, "the default Claude factor");
    c.take("promptmeter/spend", |p| p["connected"] == true);
    c.ignore("promptmeter/spend");

    // Five requests, each with a long system prompt, for which "Anthropic" reports 1.5x
    // what the proxy counted (the fake reports what the test asks).
    let system = "You are a careful coding agent. Read the code before changing it. ".repeat(120);
    for _ in 0..5 {
        let r = post_json(
            &proxy.addr,
            "/v1/messages",
            &[
                ("x-api-key", "k"),
                ("anthropic-version", "2023-06-01"),
                ("x-fake-scenario", "input=2500"),
            ],
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "system": system,
                    "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(r.status, 200);
    }
    proxy.flush(); // the writer saves what was learned before it publishes each request
    let cal_file = dir.path().join("calibration.json");
    let cal: Value = serde_json::from_slice(&std::fs::read(&cal_file).expect("the proxy wrote it")).unwrap();
    let learned = &cal["models"]["claude"];
    assert_eq!(learned["n"], 5, "{cal}");
    let factor = learned["reported_sum"].as_f64().unwrap() / learned["base_sum"].as_f64().unwrap();
    assert!((1.3..2.0).contains(&factor), "{factor}");

    // The server re-counts with the learned factor (it re-reads on the feed's request events).
    let start = Instant::now();
    loop {
        let (now, base_now) = total_hint(&mut c, &uri);
        assert_eq!(base_now, base);
        if now != before {
            assert_eq!(now, (base as f64 * factor).round() as u64);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "hint never recalibrated: {now}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The server asked the editor to re-fetch its hints once it re-counted.
    c.take("workspace/inlayHint/refresh", |_| true);
    c.discard("workspace/inlayHint/refresh");
    let hover = c.hover(&uri, 0, 2);
    let md = hover["contents"]["value"].as_str().unwrap_or_default().to_string();
    assert!(
        md.contains("within ±1% (learned from 5 of your requests through the proxy)"),
        "the learned bound: {md}"
    );
    c.finish();
}
