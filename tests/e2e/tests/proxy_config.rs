//! The `[proxy]` configuration end to end: named OpenAI-compatible upstreams, project
//! mapping (config rules, header, `/p/<project>/` prefix) and opt-in text capture.

use promptmeter_e2e::fake_upstream;
use promptmeter_e2e::proxy_harness::{ProxyProcess, post_json};
use serde_json::json;

#[test]
fn named_upstreams_projects_and_text_capture() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_upstream::spawn();
    let config = format!(
        r#"
[proxy]
capture_text = true

[proxy.named.local]
url = "{}/compat"
kind = "openai"

[proxy.named.raw]
url = "{}"
kind = "openai"
ask_usage = false

[proxy.projects.alpha]
sessions = ["s-alpha"]
user_agent = "alpha-agent/"
"#,
        fake.url(),
        fake.url()
    );
    std::fs::write(dir.path().join(".promptmeter.toml"), config).unwrap();
    let proxy = ProxyProcess::start(&fake.url(), &dir.path().join("ledger.sqlite"));
    let chat = json!({"model": "qwen3-coder", "messages": [{"role": "user", "content": "hello capture"}]});

    // a named upstream: its base URL (with a path) plus the rest of the request path
    let r = post_json(
        &proxy.addr,
        "/local/v1/chat/completions",
        &[("x-promptmeter-session", "s-alpha")],
        &chat,
    );
    assert_eq!(r.status, 200);
    let seen = fake.fake.requests();
    assert_eq!(seen.last().unwrap()["path"], "/compat/v1/chat/completions");
    post_json(
        &proxy.addr,
        "/v1/chat/completions",
        &[("User-Agent", "alpha-agent/1.2")],
        &chat,
    );
    post_json(&proxy.addr, "/p/beta/v1/chat/completions", &[], &chat);
    post_json(
        &proxy.addr,
        "/v1/chat/completions",
        &[("x-promptmeter-project", "gamma")],
        &chat,
    );
    post_json(&proxy.addr, "/v1/chat/completions", &[], &chat);

    let mut records = proxy.records();
    records.reverse();
    assert_eq!(records.len(), 5);
    let local = &records[0];
    assert_eq!(local.provider, "local");
    assert_eq!(local.upstream, format!("{}/compat", fake.url()));
    assert_eq!(local.path, "/v1/chat/completions");
    assert_eq!((local.usage.input, local.usage.output), (25, 12));
    assert!(!local.cost_known, "qwen3-coder is not in the catalog: unpriced, not $0");
    let projects: Vec<Option<&str>> = records.iter().map(|r| r.project.as_deref()).collect();
    assert_eq!(
        projects,
        [Some("alpha"), Some("alpha"), Some("beta"), Some("gamma"), None]
    );
    // capture is on: the text is there
    let captured = local.captured.as_ref().expect("captured text");
    assert!(captured["request"].as_str().unwrap().contains("hello capture"));
    assert!(
        captured["response"]
            .as_str()
            .unwrap()
            .contains("Hello from the fake upstream.")
    );

    // `ask_usage = false`: a streamed chat goes upstream exactly as sent (no usage to read)
    let stream = json!({"model": "gpt-5", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let r = post_json(&proxy.addr, "/raw/v1/chat/completions", &[], &stream);
    assert_eq!(r.status, 200);
    let seen = fake.fake.requests();
    let last = seen.last().unwrap();
    assert_eq!(last["path"], "/v1/chat/completions");
    assert_eq!(last["body"], stream.to_string());
    let raw = &proxy.records()[0];
    assert_eq!(
        (raw.provider.as_str(), raw.usage.output, raw.incomplete),
        ("raw", 0, false)
    );
}
