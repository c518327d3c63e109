//! OpenAI Chat Completions (`/v1/chat/completions`), also spoken by OpenAI-compatible
//! upstreams. Usage: `prompt_tokens` includes `prompt_tokens_details.cached_tokens`;
//! `completion_tokens` includes `completion_tokens_details.reasoning_tokens`. Streamed, usage
//! only comes with `stream_options.include_usage`: then every chunk carries `"usage":null`
//! and one extra chunk with empty `choices` carries the usage before `data: [DONE]`.
//!
//! When a streamed request does not ask for usage, the proxy asks for it upstream and takes
//! it back out of the stream (the `"usage":null` fields and the extra chunk), so that the
//! client receives exactly what it would have received without the proxy.

use bytes::Bytes;
use promptmeter_core::Usage;
use serde_json::Value;

use super::media::{Rule, push_part};
use super::{
    EventAction, Observed, Part, Parts, RequestInfo, ResponseParser, WireApi, error_type, push_text, str_of, u,
};

pub struct OpenAiChat;

pub(crate) fn usage_of(usage: &Value) -> Usage {
    let cached = usage
        .get("prompt_tokens_details")
        .map(|d| u(d, "cached_tokens"))
        .unwrap_or(0);
    let reasoning = usage
        .get("completion_tokens_details")
        .map(|d| u(d, "reasoning_tokens"))
        .unwrap_or(0);
    Usage::from_openai(
        u(usage, "prompt_tokens"),
        cached,
        u(usage, "completion_tokens"),
        reasoning,
    )
}

struct Parser {
    strip_usage: bool,
    observed: Observed,
}

impl Parser {
    fn take(&mut self, v: &Value) {
        if let Some(m) = str_of(v, "model") {
            self.observed.model = Some(m);
        }
        if let Some(t) = str_of(v, "service_tier") {
            self.observed.service_tier = Some(t);
        }
        if let Some(usage) = v.get("usage").filter(|u| u.is_object()) {
            self.observed.usage = Some(usage_of(usage));
        }
    }
}

/// The event's bytes without its `"usage":null` member, if it has exactly that.
fn without_null_usage(raw: &[u8]) -> Option<Vec<u8>> {
    for pat in [
        &b",\"usage\":null"[..],
        &b"\"usage\":null,"[..],
        &b", \"usage\": null"[..],
    ] {
        if let Some(i) = raw.windows(pat.len()).position(|w| w == pat) {
            let mut out = Vec::with_capacity(raw.len() - pat.len());
            out.extend_from_slice(&raw[..i]);
            out.extend_from_slice(&raw[i + pat.len()..]);
            return Some(out);
        }
    }
    None
}

impl ResponseParser for Parser {
    fn on_json(&mut self, body: &[u8]) {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        if v.get("error").is_some() {
            self.observed.error = error_type(&v);
        }
        self.take(&v);
        self.observed.finished = true;
    }

    fn on_event(&mut self, _event: Option<&str>, data: &str, raw: &[u8]) -> EventAction {
        if data.trim() == "[DONE]" {
            self.observed.finished = true;
            return EventAction::Pass;
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return EventAction::Pass;
        };
        if v.get("error").is_some() {
            self.observed.error = error_type(&v);
        }
        self.take(&v);
        if !self.strip_usage {
            return EventAction::Pass;
        }
        let usage_chunk = v.get("usage").is_some_and(Value::is_object)
            && v.get("choices").and_then(Value::as_array).is_some_and(Vec::is_empty);
        if usage_chunk {
            return EventAction::Drop;
        }
        if v.get("usage").is_some_and(Value::is_null)
            && let Some(out) = without_null_usage(raw)
        {
            return EventAction::Replace(out);
        }
        EventAction::Pass
    }

    fn observed(&self) -> &Observed {
        &self.observed
    }
}

#[derive(serde::Deserialize)]
struct StreamOptions {
    #[serde(default)]
    stream_options: Option<Value>,
}

impl WireApi for OpenAiChat {
    fn api_name(&self) -> &'static str {
        "openai_chat"
    }

    fn inspect(&self, _path: &str, body: &[u8]) -> Option<RequestInfo> {
        super::shallow(body)
    }

    fn prepare(&self, info: &RequestInfo, body: &Bytes) -> Option<Bytes> {
        if !info.stream {
            return None;
        }
        let so: StreamOptions = serde_json::from_slice(body).ok()?;
        match so.stream_options {
            None | Some(Value::Null) if so_absent(body) => {
                // Insert right after the opening brace: the rest of the body stays byte-identical.
                let open = body.iter().position(|&b| b == b'{')?;
                let mut out = Vec::with_capacity(body.len() + 48);
                out.extend_from_slice(&body[..=open]);
                out.extend_from_slice(br#""stream_options":{"include_usage":true},"#);
                let rest = &body[open + 1..];
                if rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}') {
                    out.pop(); // `{}`: no trailing comma
                }
                out.extend_from_slice(rest);
                Some(Bytes::from(out))
            }
            Some(Value::Object(o)) if o.get("include_usage").and_then(Value::as_bool) == Some(true) => None,
            _ => {
                let mut v: Value = serde_json::from_slice(body).ok()?;
                let obj = v.as_object_mut()?;
                let so = obj
                    .entry("stream_options")
                    .or_insert_with(|| Value::Object(Default::default()));
                if !so.is_object() {
                    *so = Value::Object(Default::default());
                }
                so.as_object_mut()?.insert("include_usage".into(), Value::Bool(true));
                serde_json::to_vec(&v).ok().map(Bytes::from)
            }
        }
    }

    fn parser(&self, strip_usage: bool) -> Box<dyn ResponseParser> {
        Box::new(Parser {
            strip_usage,
            observed: Observed::default(),
        })
    }

    fn parts(&self, body: &Value) -> Parts {
        let mut p = Parts::default();
        for key in ["tools", "functions"] {
            if let Some(tools) = body.get(key).and_then(Value::as_array) {
                for t in tools {
                    push_text(&mut p.tools, t);
                }
            }
        }
        let messages = body
            .get("messages")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let last = messages.len().saturating_sub(1);
        let mut first_user_seen = false;
        for (i, m) in messages.iter().enumerate() {
            let role = m.get("role").and_then(Value::as_str).unwrap_or("");
            let (mut text, mut media) = (String::new(), 0);
            match m.get("content") {
                Some(Value::Array(parts)) => {
                    for part in parts {
                        push_part(&mut text, &mut media, part.get("text").unwrap_or(part), Rule::OpenAi);
                    }
                }
                Some(v) => push_text(&mut text, v),
                None => {}
            }
            if let Some(calls) = m.get("tool_calls") {
                push_text(&mut text, calls);
            }
            if role == "user" && !first_user_seen {
                first_user_seen = true;
                p.first_user = text.chars().take(4096).collect();
            }
            let part = match role {
                "system" | "developer" => Part::System,
                "tool" | "function" => Part::ToolResults,
                "user" if i == last => Part::CurrentTurn,
                _ => Part::History,
            };
            p.add(part, &text, media);
        }
        p
    }

    fn with_model(&self, path: &str, body: &[u8], model: &str) -> Option<(String, Bytes)> {
        Some((path.to_string(), super::set_model_field(body, model)?))
    }

    fn error_body(&self, status: u16, message: &str) -> Bytes {
        let kind = if status == 429 {
            "insufficient_quota"
        } else {
            "invalid_request_error"
        };
        let v = serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": "promptmeter_budget"}});
        Bytes::from(v.to_string())
    }
}

/// True when the body has no top-level `stream_options` key at all.
fn so_absent(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.as_object().map(|o| !o.contains_key("stream_options")))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> RequestInfo {
        RequestInfo {
            model: Some("gpt-5".into()),
            stream: true,
            service_tier: None,
        }
    }

    #[test]
    fn asks_for_usage_keeping_the_rest_of_the_body() {
        let body = Bytes::from_static(br#"{"model":"gpt-5","stream":true,"messages":[]}"#);
        let out = OpenAiChat.prepare(&info(), &body).unwrap();
        assert_eq!(
            &out[..],
            br#"{"stream_options":{"include_usage":true},"model":"gpt-5","stream":true,"messages":[]}"#
        );
        let asked = Bytes::from_static(br#"{"model":"gpt-5","stream":true,"stream_options":{"include_usage":true}}"#);
        assert_eq!(OpenAiChat.prepare(&info(), &asked), None);
        let off = Bytes::from_static(br#"{"model":"gpt-5","stream":true,"stream_options":{"include_usage":false}}"#);
        let v: Value = serde_json::from_slice(&OpenAiChat.prepare(&info(), &off).unwrap()).unwrap();
        assert_eq!(v["stream_options"]["include_usage"], true);
        let not_stream = RequestInfo {
            stream: false,
            ..info()
        };
        assert_eq!(OpenAiChat.prepare(&not_stream, &body), None);
    }

    #[test]
    fn strips_what_the_proxy_added() {
        let mut p = OpenAiChat.parser(true);
        let ev = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-5-2025-08-07\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}],\"usage\":null}";
        let raw = format!("data: {ev}\n\n");
        match p.on_event(None, ev, raw.as_bytes()) {
            EventAction::Replace(out) => assert_eq!(
                String::from_utf8(out).unwrap(),
                "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-5-2025-08-07\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n"
            ),
            other => panic!("{other:?}"),
        }
        let usage = r#"{"id":"c","object":"chat.completion.chunk","model":"gpt-5-2025-08-07","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,"prompt_tokens_details":{"cached_tokens":60},"completion_tokens_details":{"reasoning_tokens":5}}}"#;
        assert_eq!(p.on_event(None, usage, b""), EventAction::Drop);
        assert_eq!(p.on_event(None, "[DONE]", b"data: [DONE]\n\n"), EventAction::Pass);
        let o = p.observed();
        assert!(o.finished);
        assert_eq!(
            o.usage,
            Some(Usage {
                input: 40,
                cache_read: 60,
                cache_write_5m: 0,
                cache_write_1h: 0,
                output: 20,
                reasoning: 5
            })
        );
    }

    #[test]
    fn passes_everything_when_the_client_asked() {
        let mut p = OpenAiChat.parser(false);
        let usage = r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#;
        assert_eq!(p.on_event(None, usage, b""), EventAction::Pass);
        assert_eq!(p.observed().usage.unwrap().input, 3);
    }
}
