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
    let records = Ledger::open_read_only(&ledger).unwrap().recent(10).unwrap();
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
