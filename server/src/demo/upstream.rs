//! The demo's simulated provider: a small HTTP server on 127.0.0.1 that answers Anthropic
//! Messages (`POST /v1/messages`) and OpenAI Chat Completions (`POST /v1/chat/completions`) in
//! their real wire formats, JSON or server-sent events, with usage shaped like the real thing:
//! the prompt is counted (o200k), a prompt whose prefix was seen before is served from the
//! cache (Anthropic: cache reads plus a cache write of the new part; OpenAI: `cached_tokens`
//! in 128-token steps), output sizes come from the driver (`x-demo-output-tokens`) and OpenAI
//! reasoning models spend part of their output on reasoning. Latency scales with the prompt,
//! divided by the demo's speed.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use promptmeter_core::tokenize::Encoding;
use serde_json::{Value, json};
use tokio::net::TcpListener;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// The answer's text, streamed in these pieces.
const PIECES: [&str; 6] = ["Looking", " at", " the", " failing", " test", " now."];

/// Usage of one simulated response, in the demo's own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimUsage {
    /// Prompt tokens billed at the full input price.
    pub input: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    /// All output tokens, reasoning included.
    pub output: u64,
    pub reasoning: u64,
}

/// Prompt caches per provider and prompt prefix key.
#[derive(Default)]
pub struct Upstream {
    /// Playback speed: latencies are divided by it.
    speed: f64,
    /// Prompt tokens last seen under each cache key.
    cache: Mutex<HashMap<String, u64>>,
    requests: std::sync::atomic::AtomicU64,
}

impl Upstream {
    pub fn new(speed: f64) -> Upstream {
        Upstream {
            speed: if speed > 0.0 { speed } else { 1.0 },
            ..Default::default()
        }
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The usage of a prompt of `prompt` tokens under `key` (the system prompt and model):
    /// the prefix seen last time is read from the cache, the rest written to it except the
    /// uncached tail (`tail` tokens, the newest user turn).
    pub fn anthropic_usage(&self, key: &str, prompt: u64, tail: u64, output: u64) -> SimUsage {
        let seen = self.remember(key, prompt);
        let tail = tail.min(prompt);
        let cache_read = seen.min(prompt - tail);
        SimUsage {
            input: tail,
            cache_read,
            cache_write: prompt - tail - cache_read,
            output,
            reasoning: 0,
        }
    }

    /// OpenAI's automatic prefix caching: cached in 128-token steps, from 1,024 tokens.
    pub fn openai_usage(&self, key: &str, prompt: u64, output: u64, reasoning_model: bool) -> SimUsage {
        let seen = self.remember(key, prompt).min(prompt);
        let cached = if seen >= 1024 { seen / 128 * 128 } else { 0 };
        SimUsage {
            input: prompt - cached,
            cache_read: cached,
            cache_write: 0,
            output,
            reasoning: if reasoning_model { output * 2 / 5 } else { 0 },
        }
    }

    fn remember(&self, key: &str, prompt: u64) -> u64 {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(key.to_string(), prompt).unwrap_or(0)
    }

    fn delay(&self, ms: f64) -> Duration {
        Duration::from_secs_f64((ms / self.speed).max(0.0) / 1000.0)
    }
}

/// Start the simulated upstream on 127.0.0.1 (any free port); returns its address.
pub async fn start(upstream: Arc<Upstream>) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let up = upstream.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let up = up.clone();
                    async move { Ok::<_, Infallible>(handle(up, req).await) }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    Ok(addr)
}

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into()).map_err(|never| match never {}).boxed_unsync()
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    let mut r = Response::new(full(v.to_string()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}}),
    )
}

/// Server-sent events, one chunk per event, `gap` apart after a first-token wait.
fn sse(events: Vec<String>, first: Duration, gap: Duration) -> Response<Body> {
    let stream = futures_util::stream::unfold((events.into_iter(), true), move |(mut it, first_one)| async move {
        let ev = it.next()?;
        tokio::time::sleep(if first_one { first } else { gap }).await;
        Some((Ok::<_, BoxError>(Frame::data(Bytes::from(ev))), (it, false)))
    });
    let mut r = Response::new(BodyExt::boxed_unsync(StreamBody::new(stream)));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn header_u64(req: &Request<Incoming>, name: &str) -> Option<u64> {
    req.headers().get(name)?.to_str().ok()?.parse().ok()
}

async fn handle(up: Arc<Upstream>, req: Request<Incoming>) -> Response<Body> {
    if req.method() == Method::HEAD || req.method() == Method::GET {
        return json_response(StatusCode::OK, &json!({"ok": true, "simulated": true}));
    }
    let path = req.uri().path().to_string();
    let output = header_u64(&req, "x-demo-output-tokens").unwrap_or(200);
    let tail_hint = header_u64(&req, "x-demo-tail-tokens");
    let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
        return error(StatusCode::BAD_REQUEST, "unreadable body");
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "body is not JSON");
    };
    up.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let model = request["model"].as_str().unwrap_or("unknown").to_string();
    let stream = request["stream"].as_bool().unwrap_or(false);
    let text = String::from_utf8_lossy(&body);
    let prompt = Encoding::O200kBase.count(&text) as u64;
    // first token after a base wait plus prefill time, as real providers do
    let first = up.delay(180.0 + prompt as f64 / 60.0);
    let gap = up.delay(35.0);
    match path.as_str() {
        "/v1/messages" => {
            let key = format!("anthropic|{model}|{}", request["system"]);
            let tail = tail_hint.unwrap_or(40);
            let usage = up.anthropic_usage(&key, prompt, tail, output);
            anthropic(&model, usage, stream, first, gap)
        }
        "/v1/chat/completions" => {
            let system = request["messages"][0].to_string();
            let key = format!("openai|{model}|{system}");
            let reasoning = model.starts_with("gpt-5") || model.starts_with('o');
            let usage = up.openai_usage(&key, prompt, output, reasoning);
            let include_usage = request["stream_options"]["include_usage"].as_bool().unwrap_or(false);
            openai_chat(&model, usage, stream, include_usage, first, gap)
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "the demo upstream answers /v1/messages and /v1/chat/completions",
        ),
    }
}

fn anthropic(model: &str, u: SimUsage, stream: bool, first: Duration, gap: Duration) -> Response<Body> {
    let usage = json!({
        "input_tokens": u.input,
        "cache_creation_input_tokens": u.cache_write,
        "cache_read_input_tokens": u.cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": u.cache_write, "ephemeral_1h_input_tokens": 0},
        "output_tokens": u.output,
    });
    let id = "msg_demo";
    if !stream {
        return json_response(
            StatusCode::OK,
            &json!({
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": PIECES.concat()}],
                "stop_reason": "end_turn", "stop_sequence": null, "usage": usage,
            }),
        );
    }
    let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let mut start_usage = usage.clone();
    start_usage["output_tokens"] = json!(1);
    let mut events = vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant",
                "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": start_usage}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
    ];
    for p in PIECES {
        events.push(ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}),
        ));
    }
    events.push(ev(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(ev(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": u.output}}),
    ));
    events.push(ev("message_stop", json!({"type": "message_stop"})));
    sse(events, first, gap)
}

fn openai_chat(
    model: &str,
    u: SimUsage,
    stream: bool,
    include_usage: bool,
    first: Duration,
    gap: Duration,
) -> Response<Body> {
    let prompt = u.input + u.cache_read;
    let usage = json!({
        "prompt_tokens": prompt,
        "completion_tokens": u.output,
        "total_tokens": prompt + u.output,
        "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    });
    let (id, created) = ("chatcmpl-demo", 1_700_000_000u64);
    if !stream {
        return json_response(
            StatusCode::OK,
            &json!({
                "id": id, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": PIECES.concat(), "refusal": null},
                    "logprobs": null, "finish_reason": "stop"}],
                "usage": usage, "service_tier": "default",
            }),
        );
    }
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        if include_usage {
            c["usage"] = Value::Null;
        }
        format!("data: {c}\n\n")
    };
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
    for p in PIECES {
        events.push(chunk(json!({"content": p}), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    if include_usage {
        events.push(format!(
            "data: {}\n\n",
            json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [], "usage": usage})
        ));
    }
    events.push("data: [DONE]\n\n".into());
    sse(events, first, gap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_growing_prompt_reads_its_prefix_from_the_cache() {
        let up = Upstream::new(1.0);
        let first = up.anthropic_usage("k", 5000, 40, 300);
        assert_eq!((first.input, first.cache_read, first.cache_write), (40, 0, 4960));
        let second = up.anthropic_usage("k", 7000, 40, 300);
        assert_eq!((second.input, second.cache_read, second.cache_write), (40, 5000, 1960));
        assert_eq!(second.input + second.cache_read + second.cache_write, 7000);
        // another system prompt has its own cache
        assert_eq!(up.anthropic_usage("other", 100, 40, 1).cache_read, 0);
    }

    #[test]
    fn openai_caches_in_128_token_steps_from_1024() {
        let up = Upstream::new(1.0);
        assert_eq!(up.openai_usage("k", 900, 10, false).cache_read, 0);
        assert_eq!(
            up.openai_usage("k", 3000, 10, false).cache_read,
            0,
            "900 seen: below 1024"
        );
        let u = up.openai_usage("k", 4000, 500, true);
        assert_eq!((u.cache_read, u.input, u.reasoning), (2944, 1056, 200));
    }
}
