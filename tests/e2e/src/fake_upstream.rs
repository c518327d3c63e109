//! A fake LLM provider on loopback that speaks the exact wire formats of Anthropic Messages,
//! OpenAI Chat Completions and Responses (HTTP, SSE and WebSocket) and Gemini, streaming and
//! not, with error bodies, 429/5xx, connections reset midway and slow streams. Deterministic:
//! the same request always gets the same bytes (fixed ids and timestamps), so a test can
//! compare what a client got through the proxy with what it gets directly.
//!
//! Used by the end-to-end tests, the Python SDK tests, the proxy benchmark and other
//! components' tests; run it standalone with the `fake-upstream` binary. Documented in
//! tests/fakes/README.md.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// The text every response answers with, and how streams split it.
pub const TEXT: &str = "Hello from the fake upstream.";
pub const DELTAS: [&str; 6] = ["Hello", " from", " the", " fake", " upstream", "."];
const CREATED: u64 = 1_700_000_000;

/// Usage the fake reports, per provider family, for a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeUsage {
    /// Uncached input (Anthropic `input_tokens`; OpenAI/Gemini prompt minus cached).
    pub input: u64,
    pub cache_read: u64,
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
    /// All output tokens, reasoning included.
    pub output: u64,
    pub reasoning: u64,
}

/// `ok` usage: 25 in, 12 out. `cache` usage: cache reads and writes, reasoning. `input=N`:
/// N uncached input tokens, 12 out (a provider's exact count of a request the test sized).
pub fn usage_for(scenario: &str) -> FakeUsage {
    if let Some(n) = scenario.strip_prefix("input=").and_then(|n| n.parse().ok()) {
        return FakeUsage {
            input: n,
            cache_read: 0,
            cache_write_5m: 0,
            cache_write_1h: 0,
            output: 12,
            reasoning: 0,
        };
    }
    if scenario == "cache" {
        FakeUsage {
            input: 10,
            cache_read: 2000,
            cache_write_5m: 100,
            cache_write_1h: 200,
            output: 42,
            reasoning: 10,
        }
    } else {
        FakeUsage {
            input: 25,
            cache_read: 0,
            cache_write_5m: 0,
            cache_write_1h: 0,
            output: 12,
            reasoning: 0,
        }
    }
}

#[derive(Default)]
pub struct Fake {
    /// The latest requests received (method, path, headers, body), oldest first.
    requests: Mutex<VecDeque<Value>>,
}

/// What the request asked for.
struct Ask {
    scenario: String,
    delay: Duration,
    hold: Duration,
    model: String,
    stream: bool,
    include_usage: bool,
}

enum Step {
    Bytes(Bytes),
    Sleep(Duration),
    Reset,
}

fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(
        Full::new(body.into())
            .map_err(|e: Infallible| match e {})
            .boxed_unsync(),
    );
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert("x-fake-upstream", HeaderValue::from_static("1"));
    r
}

fn streamed(steps: Vec<Step>, content_type: &'static str) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BoxError>>(16);
    tokio::spawn(async move {
        for step in steps {
            match step {
                Step::Bytes(b) => {
                    if tx.send(Ok(Frame::data(b))).await.is_err() {
                        return;
                    }
                }
                Step::Sleep(d) => tokio::time::sleep(d).await,
                Step::Reset => {
                    let _ = tx.send(Err("fake: connection reset midway".into())).await;
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|f| (f, rx)) });
    let mut r = Response::new(BodyExt::boxed_unsync(StreamBody::new(stream)));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r.headers_mut().insert("x-fake-upstream", HeaderValue::from_static("1"));
    r
}

/// Events with the scenario's pacing: `slow` sleeps between events, `hold` after the
/// first, `reset` cuts the connection after the first three.
fn paced(events: Vec<String>, ask: &Ask) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
        if ask.scenario == "reset" && i == 3 {
            // let what was sent reach the wire before the connection is cut
            steps.push(Step::Sleep(Duration::from_millis(50)));
            steps.push(Step::Reset);
            return steps;
        }
        if i > 0 && ask.scenario == "slow" {
            steps.push(Step::Sleep(ask.delay));
        }
        if i == 1 && ask.scenario == "hold" {
            steps.push(Step::Sleep(ask.hold));
        }
        steps.push(Step::Bytes(Bytes::from(e)));
    }
    steps
}

// ---------------------------------------------------------------- Anthropic

fn anthropic_usage(u: &FakeUsage, output: u64) -> Value {
    json!({
        "input_tokens": u.input,
        "cache_creation_input_tokens": u.cache_write_5m + u.cache_write_1h,
        "cache_read_input_tokens": u.cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": u.cache_write_5m, "ephemeral_1h_input_tokens": u.cache_write_1h},
        "output_tokens": output,
        "service_tier": "standard"
    })
}

fn anthropic_error(status: StatusCode) -> Option<(StatusCode, Value)> {
    let (kind, msg) = match status.as_u16() {
        400 => ("invalid_request_error", "messages: field required"),
        429 => (
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        ),
        500 => ("api_error", "Internal server error"),
        529 => ("overloaded_error", "Overloaded"),
        _ => return None,
    };
    Some((
        status,
        json!({"type": "error", "error": {"type": kind, "message": msg}, "request_id": "req_fake01"}),
    ))
}

fn anthropic(ask: &Ask) -> Response<Body> {
    let u = usage_for(&ask.scenario);
    if ask.stream {
        let sse = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
        let mut events = vec![sse(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_fake01", "type": "message", "role": "assistant",
                "model": ask.model, "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": anthropic_usage(&u, 1)}}),
        )];
        events.push(sse(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ));
        events.push(sse("ping", json!({"type": "ping"})));
        for d in DELTAS {
            events.push(sse(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}}),
            ));
        }
        events.push(sse(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        events.push(sse(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"output_tokens": u.output}}),
        ));
        events.push(sse("message_stop", json!({"type": "message_stop"})));
        if ask.scenario == "stream-error" {
            events.truncate(4);
            events.push(sse(
                "error",
                json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ));
        }
        return streamed(paced(events, ask), "text/event-stream; charset=utf-8");
    }
    let body = json!({"id": "msg_fake01", "type": "message", "role": "assistant", "model": ask.model,
        "content": [{"type": "text", "text": TEXT}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": anthropic_usage(&u, u.output)});
    json_body(body, ask)
}

fn json_body(body: Value, ask: &Ask) -> Response<Body> {
    let text = body.to_string();
    if ask.scenario == "reset" {
        let half = Bytes::from(text[..text.len() / 2].to_string());
        let mut r = streamed(
            vec![Step::Bytes(half), Step::Sleep(Duration::from_millis(50)), Step::Reset],
            "application/json",
        );
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
        return r;
    }
    if ask.scenario == "slow" {
        let (a, b) = text.split_at(text.len() / 2);
        let steps = vec![
            Step::Bytes(Bytes::from(a.to_string())),
            Step::Sleep(ask.delay),
            Step::Bytes(Bytes::from(b.to_string())),
        ];
        let mut r = streamed(steps, "application/json");
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
        return r;
    }
    full(StatusCode::OK, "application/json", text)
}

// ---------------------------------------------------------------- OpenAI

fn openai_chat_usage(u: &FakeUsage) -> Value {
    json!({"prompt_tokens": u.input + u.cache_read, "completion_tokens": u.output,
           "total_tokens": u.input + u.cache_read + u.output,
           "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0},
           "completion_tokens_details": {"reasoning_tokens": u.reasoning, "audio_tokens": 0,
               "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}})
}

fn openai_error(status: StatusCode) -> Option<(StatusCode, Value)> {
    let (kind, code, msg) = match status.as_u16() {
        400 => (
            "invalid_request_error",
            "invalid_value",
            "Invalid value for 'messages'.",
        ),
        429 => ("requests", "rate_limit_exceeded", "Rate limit reached for requests"),
        500 => (
            "server_error",
            "server_error",
            "The server had an error while processing your request.",
        ),
        503 => (
            "server_error",
            "service_unavailable",
            "The engine is currently overloaded.",
        ),
        _ => return None,
    };
    Some((
        status,
        json!({"error": {"message": msg, "type": kind, "param": null, "code": code}}),
    ))
}

fn chat_chunk(ask: &Ask, delta: Value, finish: Value) -> String {
    // Field order as OpenAI sends it; `usage: null` only when usage was asked for.
    let mut s = format!(
        r#"{{"id":"chatcmpl-fake01","object":"chat.completion.chunk","created":{CREATED},"model":{},"service_tier":"default","system_fingerprint":"fp_fake","choices":[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}]"#,
        Value::String(ask.model.clone())
    );
    if ask.include_usage {
        s.push_str(r#","usage":null"#);
    }
    s.push('}');
    format!("data: {s}\n\n")
}

fn openai_chat(ask: &Ask) -> Response<Body> {
    let u = usage_for(&ask.scenario);
    if ask.stream {
        let mut events = vec![chat_chunk(
            ask,
            json!({"role": "assistant", "content": "", "refusal": null}),
            Value::Null,
        )];
        for d in DELTAS {
            events.push(chat_chunk(ask, json!({"content": d}), Value::Null));
        }
        events.push(chat_chunk(ask, json!({}), json!("stop")));
        if ask.include_usage {
            let usage = openai_chat_usage(&u);
            events.push(format!(
                "data: {{\"id\":\"chatcmpl-fake01\",\"object\":\"chat.completion.chunk\",\"created\":{CREATED},\"model\":{},\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fake\",\"choices\":[],\"usage\":{usage}}}\n\n",
                Value::String(ask.model.clone())
            ));
        }
        events.push("data: [DONE]\n\n".into());
        return streamed(paced(events, ask), "text/event-stream; charset=utf-8");
    }
    let body = json!({"id": "chatcmpl-fake01", "object": "chat.completion", "created": CREATED, "model": ask.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT, "refusal": null, "annotations": []},
                     "logprobs": null, "finish_reason": "stop"}],
        "usage": openai_chat_usage(&u), "service_tier": "default", "system_fingerprint": "fp_fake"});
    json_body(body, ask)
}

fn responses_usage(u: &FakeUsage) -> Value {
    json!({"input_tokens": u.input + u.cache_read, "input_tokens_details": {"cached_tokens": u.cache_read},
           "output_tokens": u.output, "output_tokens_details": {"reasoning_tokens": u.reasoning},
           "total_tokens": u.input + u.cache_read + u.output})
}

fn response_object(ask: &Ask, status: &str, done: bool) -> Value {
    let u = usage_for(&ask.scenario);
    let output = if done {
        json!([{"type": "message", "id": "msg_fake01", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": TEXT, "annotations": [], "logprobs": []}]}])
    } else {
        json!([])
    };
    json!({"id": "resp_fake01", "object": "response", "created_at": CREATED, "status": status,
        "background": false, "error": null, "incomplete_details": null, "instructions": null,
        "max_output_tokens": null, "model": ask.model, "output": output, "parallel_tool_calls": true,
        "previous_response_id": null, "reasoning": {"effort": null, "summary": null}, "service_tier": "default",
        "store": true, "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto", "tools": [], "top_p": 1.0, "truncation": "disabled",
        "usage": if done { responses_usage(&u) } else { Value::Null }, "user": null, "metadata": {}})
}

/// The Responses stream as event objects (SSE data or WebSocket messages).
fn responses_events(ask: &Ask) -> Vec<Value> {
    let mut ev = vec![
        json!({"type": "response.created", "response": response_object(ask, "in_progress", false)}),
        json!({"type": "response.in_progress", "response": response_object(ask, "in_progress", false)}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "message", "id": "msg_fake01",
               "status": "in_progress", "role": "assistant", "content": []}}),
        json!({"type": "response.content_part.added", "item_id": "msg_fake01", "output_index": 0, "content_index": 0,
               "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
    ];
    for d in DELTAS {
        ev.push(
            json!({"type": "response.output_text.delta", "item_id": "msg_fake01", "output_index": 0,
                       "content_index": 0, "delta": d, "logprobs": []}),
        );
    }
    ev.push(
        json!({"type": "response.output_text.done", "item_id": "msg_fake01", "output_index": 0,
                   "content_index": 0, "text": TEXT, "logprobs": []}),
    );
    ev.push(json!({"type": "response.content_part.done", "item_id": "msg_fake01", "output_index": 0,
                   "content_index": 0, "part": {"type": "output_text", "text": TEXT, "annotations": [], "logprobs": []}}));
    ev.push(
        json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "message",
                   "id": "msg_fake01", "status": "completed", "role": "assistant",
                   "content": [{"type": "output_text", "text": TEXT, "annotations": [], "logprobs": []}]}}),
    );
    ev.push(json!({"type": "response.completed", "response": response_object(ask, "completed", true)}));
    for (i, e) in ev.iter_mut().enumerate() {
        e["sequence_number"] = json!(i);
    }
    ev
}

fn openai_responses(ask: &Ask) -> Response<Body> {
    if ask.stream {
        let events = responses_events(ask)
            .into_iter()
            .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap_or("")))
            .collect();
        return streamed(paced(events, ask), "text/event-stream; charset=utf-8");
    }
    json_body(response_object(ask, "completed", true), ask)
}

// ---------------------------------------------------------------- Gemini

fn gemini_chunk(ask: &Ask, text: &str, last: bool) -> Value {
    let u = usage_for(&ask.scenario);
    let prompt = u.input + u.cache_read;
    let mut usage = json!({"promptTokenCount": prompt, "totalTokenCount": prompt + if last { u.output } else { 0 },
                           "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]});
    if u.cache_read > 0 {
        usage["cachedContentTokenCount"] = json!(u.cache_read);
    }
    if last {
        usage["candidatesTokenCount"] = json!(u.output - u.reasoning);
        if u.reasoning > 0 {
            usage["thoughtsTokenCount"] = json!(u.reasoning);
        }
    }
    let mut cand = json!({"content": {"parts": [{"text": text}], "role": "model"}, "index": 0});
    if last {
        cand["finishReason"] = json!("STOP");
    }
    json!({"candidates": [cand], "usageMetadata": usage, "modelVersion": ask.model, "responseId": "fake01"})
}

fn gemini_error(status: StatusCode) -> Option<(StatusCode, Value)> {
    let (s, msg) = match status.as_u16() {
        400 => ("INVALID_ARGUMENT", "Request contains an invalid argument."),
        429 => ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
        500 => ("INTERNAL", "An internal error has occurred."),
        503 => ("UNAVAILABLE", "The model is overloaded. Please try again later."),
        _ => return None,
    };
    Some((
        status,
        json!({"error": {"code": status.as_u16(), "message": msg, "status": s}}),
    ))
}

fn gemini(ask: &Ask, sse: bool) -> Response<Body> {
    if ask.stream {
        let n = DELTAS.len();
        let chunks: Vec<Value> = DELTAS
            .iter()
            .enumerate()
            .map(|(i, d)| gemini_chunk(ask, d, i + 1 == n))
            .collect();
        let events: Vec<String> = if sse {
            chunks.iter().map(|c| format!("data: {c}\r\n\r\n")).collect()
        } else {
            let mut v: Vec<String> = chunks
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{}{c}", if i == 0 { "[" } else { ",\r\n" }))
                .collect();
            v.push("]".into());
            v
        };
        let ct = if sse {
            "text/event-stream"
        } else {
            "application/json; charset=UTF-8"
        };
        return streamed(paced(events, ask), ct);
    }
    let mut body = gemini_chunk(ask, TEXT, true);
    body["candidates"][0]["content"]["parts"][0]["text"] = json!(TEXT);
    json_body(body, ask)
}

// ---------------------------------------------------------------- dispatch

fn header<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The status a scenario answers with, if it is an error scenario.
fn error_status(scenario: &str) -> Option<StatusCode> {
    match scenario {
        "error-400" | "400" => Some(StatusCode::BAD_REQUEST),
        "429" => Some(StatusCode::TOO_MANY_REQUESTS),
        "500" => Some(StatusCode::INTERNAL_SERVER_ERROR),
        "503" => Some(StatusCode::SERVICE_UNAVAILABLE),
        "529" | "overloaded" => StatusCode::from_u16(529).ok(),
        _ => None,
    }
}

impl Fake {
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().iter().cloned().collect()
    }

    fn remember(&self, parts: &hyper::http::request::Parts, body: &[u8]) {
        let mut headers = serde_json::Map::new();
        for (k, v) in &parts.headers {
            headers.insert(k.as_str().to_string(), json!(v.to_str().unwrap_or("")));
        }
        let entry = json!({"method": parts.method.as_str(),
            "path": parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
            "headers": headers, "body": String::from_utf8_lossy(body)});
        let mut q = self.requests.lock().unwrap();
        q.push_back(entry);
        while q.len() > 200 {
            q.pop_front();
        }
    }

    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let path = req.uri().path().to_string();
        if path == "/_fake/requests" {
            if req.method() == Method::DELETE {
                self.requests.lock().unwrap().clear();
            }
            return full(
                StatusCode::OK,
                "application/json",
                Value::Array(self.requests()).to_string(),
            );
        }
        if path == "/_fake/health" {
            return full(StatusCode::OK, "application/json", r#"{"ok":true}"#);
        }
        if is_ws(&req) {
            return websocket(req);
        }
        let scenario_h = header(&req, "x-fake-scenario").map(str::to_string);
        let delay = header(&req, "x-fake-delay-ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(100);
        let hold = header(&req, "x-fake-hold-ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(5000);
        let query = req.uri().query().unwrap_or("").to_string();
        let method = req.method().clone();
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        self.remember(&parts, &body);
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let model = v["model"]
            .as_str()
            .map(str::to_string)
            .or_else(|| gemini_model(&path))
            .unwrap_or_else(|| "fake-model".into());
        // A model name may carry the scenario: `gpt-5@429`.
        let scenario = scenario_h
            .or_else(|| model.split_once('@').map(|(_, s)| s.to_string()))
            .unwrap_or_else(|| "ok".into());
        let model = model.split('@').next().unwrap_or("").to_string();
        let ask = Ask {
            stream: v["stream"].as_bool().unwrap_or(false) || path.contains(":streamGenerateContent"),
            include_usage: v["stream_options"]["include_usage"].as_bool().unwrap_or(false),
            scenario,
            delay: Duration::from_millis(delay),
            hold: Duration::from_millis(hold),
            model,
        };
        let api = if path.ends_with("/messages") {
            "anthropic"
        } else if path.ends_with("/chat/completions") {
            "chat"
        } else if path.ends_with("/responses") {
            "responses"
        } else if path.contains(":generateContent") || path.contains(":streamGenerateContent") {
            "gemini"
        } else {
            ""
        };
        if let Some(status) = error_status(&ask.scenario) {
            let err = match api {
                "anthropic" => anthropic_error(status),
                "gemini" => gemini_error(status),
                _ => openai_error(status),
            };
            if let Some((status, body)) = err {
                let mut r = full(status, "application/json", body.to_string());
                if status == StatusCode::TOO_MANY_REQUESTS {
                    r.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
                }
                return r;
            }
        }
        match (method, api) {
            (Method::POST, "anthropic") => anthropic(&ask),
            (Method::POST, "chat") => openai_chat(&ask),
            (Method::POST, "responses") => openai_responses(&ask),
            (Method::POST, "gemini") => gemini(&ask, query.contains("alt=sse")),
            (Method::POST, _) if path.ends_with("/messages/count_tokens") => {
                full(StatusCode::OK, "application/json", r#"{"input_tokens":25}"#)
            }
            (Method::HEAD | Method::GET, _) if path == "/" => full(StatusCode::OK, "text/plain", ""),
            (Method::GET, _) if path == "/v1/models" => full(
                StatusCode::OK,
                "application/json",
                json!({"object": "list", "data": [{"id": "fake-model", "object": "model", "created": CREATED, "owned_by": "fake"}]})
                    .to_string(),
            ),
            _ => full(
                StatusCode::NOT_FOUND,
                "application/json",
                json!({"error": {"message": format!("fake: no route for {path}"), "type": "not_found"}}).to_string(),
            ),
        }
    }
}

fn gemini_model(path: &str) -> Option<String> {
    let after = &path[path.find("/models/")? + 8..];
    Some(after[..after.find(':')?].to_string())
}

fn is_ws(req: &Request<Incoming>) -> bool {
    header(req, "upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
}

/// The Responses API over WebSocket: every `response.create` message gets the same events
/// as the SSE stream, one text message each.
fn websocket(req: Request<Incoming>) -> Response<Body> {
    let Some(key) = req.headers().get("sec-websocket-key").cloned() else {
        return full(StatusCode::BAD_REQUEST, "text/plain", "missing key");
    };
    let scenario = header(&req, "x-fake-scenario").unwrap_or("ok").to_string();
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(up) = on_upgrade.await else { return };
        let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            TokioIo::new(up),
            tokio_tungstenite::tungstenite::protocol::Role::Server,
            None,
        )
        .await;
        let (mut tx, mut rx) = ws.split();
        while let Some(Ok(msg)) = rx.next().await {
            match msg {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    if v["type"] != "response.create" {
                        continue;
                    }
                    let ask = Ask {
                        scenario: scenario.clone(),
                        delay: Duration::from_millis(0),
                        hold: Duration::from_millis(0),
                        model: v["model"].as_str().unwrap_or("fake-model").to_string(),
                        stream: true,
                        include_usage: false,
                    };
                    for e in responses_events(&ask) {
                        if tx.send(Message::Text(e.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        let _ = tx.close().await;
    });
    let mut r = Response::new(
        Full::new(Bytes::new())
            .map_err(|e: Infallible| match e {})
            .boxed_unsync(),
    );
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&tokio_tungstenite::tungstenite::handshake::derive_accept_key(
        key.as_bytes(),
    )) {
        h.insert("sec-websocket-accept", v);
    }
    r
}

/// Serve on `listener` until the process ends.
pub async fn serve(listener: TcpListener, fake: Arc<Fake>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let fake = fake.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let fake = fake.clone();
                async move { Ok::<_, Infallible>(fake.handle(req).await) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}

/// A fake running on its own thread and runtime (for tests): its address and state.
pub struct Running {
    pub addr: SocketAddr,
    pub fake: Arc<Fake>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

pub fn spawn() -> Running {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake upstream");
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let fake = Arc::new(Fake::default());
    let f = fake.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::from_std(std_listener).unwrap();
            serve(listener, f).await;
        });
    });
    Running { addr, fake }
}
