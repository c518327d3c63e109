//! The OpenAI Responses API over WebSocket (what Codex tries first): relayed unchanged both
//! ways, each `response.create` metered from its `response.completed`.

use futures_util::{SinkExt, StreamExt};
use promptmeter_e2e::fake_upstream;
use promptmeter_e2e::proxy_harness::ProxyProcess;
use promptmeter_ledger::Ledger;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn converse(url: &str) -> Vec<String> {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", "Bearer sk-ws-secret".parse().unwrap());
    req.headers_mut()
        .insert("x-promptmeter-session", "ws-1".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket connect");
    let mut got = Vec::new();
    for turn in 0..2 {
        let create = serde_json::json!({"type": "response.create", "model": "gpt-5", "instructions": "Be terse.",
                                        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": format!("turn {turn}")}]}]});
        ws.send(Message::Text(create.to_string().into())).await.unwrap();
        loop {
            let Some(Ok(Message::Text(t))) = ws.next().await else {
                panic!("socket ended early")
            };
            let done = t.as_str().contains("\"type\":\"response.completed\"");
            got.push(t.as_str().to_string());
            if done {
                break;
            }
        }
    }
    ws.close(None).await.ok();
    got
}

#[test]
fn responses_websocket_is_relayed_and_metered() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_upstream::spawn();
    let ledger = dir.path().join("ledger.sqlite");
    let proxy = ProxyProcess::start(&fake.url(), &ledger);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let via = rt.block_on(converse(&format!("ws://{}/v1/responses", proxy.addr)));
    let direct = rt.block_on(converse(&format!("ws://{}/v1/responses", fake.addr)));
    assert_eq!(via, direct);
    let records = proxy.records();
    assert_eq!(records.len(), 2, "{records:#?}");
    for r in &records {
        assert_eq!(r.provider, "openai");
        assert_eq!(r.path, "/v1/responses");
        assert!(r.stream && !r.incomplete);
        assert_eq!((r.usage.input, r.usage.output), (25, 12));
        assert!(r.cost_known);
        assert_eq!(r.composition.unwrap().total(), 25);
        assert_eq!(r.session.as_deref(), Some("ws-1"));
    }
}

/// Spend already recorded today, so that budgets start under pressure.
fn seed(ledger: &std::path::Path, usd: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut l = Ledger::open(ledger).unwrap();
    l.insert(&promptmeter_ledger::RequestRecord {
        id: "seed".into(),
        ts_ms: now,
        provider: "openai".into(),
        model_requested: Some("gpt-5".into()),
        model_served: Some("gpt-5".into()),
        status: 200,
        cost_usd: Some(usd.parse().unwrap()),
        cost_known: true,
        ..Default::default()
    })
    .unwrap();
}

/// One `response.create` for `model`; every message the client receives until the response
/// ends (or an `error` event).
async fn one_turn(url: &str, model: &str) -> Vec<serde_json::Value> {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", "Bearer sk-ws-secret".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket connect");
    let create = serde_json::json!({"type": "response.create", "model": model,
                                    "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]});
    ws.send(Message::Text(create.to_string().into())).await.unwrap();
    let mut got = Vec::new();
    loop {
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            panic!("socket ended early: {got:?}")
        };
        let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
        let done = v["type"] == "response.completed" || v["type"] == "error";
        got.push(v);
        if done {
            break;
        }
    }
    ws.close(None).await.ok();
    got
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Budget pressure applies to Codex's WebSocket too: above 85% of the weekly budget a
/// `response.create` for gpt-5 is served by the OpenAI family's mid-priced model, and the
/// ledger records the model asked for, the one served and the rule.
#[test]
fn responses_websocket_requests_are_rerouted_under_budget_pressure() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_upstream::spawn();
    let ledger = dir.path().join("ledger.sqlite");
    std::fs::write(
        dir.path().join(".promptmeter.toml"),
        "[budgets.weekly]\nwindow = \"week\"\nusd = \"1\"\n",
    )
    .unwrap();
    seed(&ledger, "0.9");
    let proxy = ProxyProcess::start(&fake.url(), &ledger);
    let got = runtime().block_on(one_turn(&format!("ws://{}/v1/responses", proxy.addr), "gpt-5"));
    let done = got.last().unwrap();
    assert_eq!(done["type"], "response.completed", "{got:?}");
    let served = done["response"]["model"].as_str().unwrap().to_string();
    assert_ne!(
        served, "gpt-5",
        "the fake echoes the model it was asked for: the proxy must have rewritten it"
    );
    let records = proxy.records();
    let r = records
        .iter()
        .find(|r| r.id != "seed")
        .expect("the WebSocket request is recorded");
    assert_eq!(r.model_requested.as_deref(), Some("gpt-5"));
    assert_eq!(r.model_served.as_deref(), Some(served.as_str()));
    let reroute = r.reroute.as_ref().expect("the reroute is recorded");
    assert_eq!(reroute.from, "gpt-5", "{r:#?}");
}

/// At a hard limit a WebSocket `response.create` is refused on the socket with a Responses
/// `error` event carrying the HTTP refusal's error object, and nothing reaches the upstream.
#[test]
fn responses_websocket_requests_are_refused_at_a_hard_limit() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_upstream::spawn();
    let ledger = dir.path().join("ledger.sqlite");
    std::fs::write(
        dir.path().join(".promptmeter.toml"),
        "[budgets.daily]\nwindow = \"day\"\nusd = \"0.001\"\nhard_limit = true\n[routing.pressure]\nenabled = false\n",
    )
    .unwrap();
    seed(&ledger, "0.002");
    let proxy = ProxyProcess::start(&fake.url(), &ledger);
    let got = runtime().block_on(one_turn(&format!("ws://{}/v1/responses", proxy.addr), "gpt-5"));
    assert_eq!(got.len(), 1, "only the refusal, no upstream events: {got:?}");
    let e = &got[0];
    assert_eq!(e["type"], "error");
    assert_eq!(e["error"]["code"], "promptmeter_budget", "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("daily"), "{e}");
    let records = proxy.records();
    assert_eq!(records.len(), 1, "nothing but the seed is recorded: {records:#?}");
}
