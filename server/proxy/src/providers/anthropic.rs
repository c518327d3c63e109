//! Anthropic Messages (`/v1/messages`). Usage: `message_start.message.usage` carries input,
//! cache reads and cache writes (5m/1h split in `cache_creation`); `message_delta.usage`
//! carries the cumulative output (and, on newer API versions, cumulative input counts too).
//! Non-streamed bodies carry the same `usage` object. `input_tokens` excludes cache tokens.

use bytes::Bytes;
use promptmeter_core::Usage;
use serde_json::Value;

use super::media::{Rule, push_part};
use super::{
    EventAction, Observed, Part, Parts, RequestInfo, ResponseParser, WireApi, error_type, push_text, str_of, u,
};

pub struct Anthropic;

/// The usage fields seen so far (message_delta may repeat or update any of them).
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    input: u64,
    cache_read: u64,
    cache_creation: u64,
    w5: Option<u64>,
    w1: Option<u64>,
    output: u64,
}

impl Counts {
    fn merge(&mut self, usage: &Value) {
        if let Some(n) = usage.get("input_tokens").and_then(Value::as_u64) {
            self.input = n;
        }
        if let Some(n) = usage.get("cache_read_input_tokens").and_then(Value::as_u64) {
            self.cache_read = n;
        }
        if let Some(n) = usage.get("cache_creation_input_tokens").and_then(Value::as_u64) {
            self.cache_creation = n;
        }
        if let Some(cc) = usage.get("cache_creation").filter(|c| c.is_object()) {
            self.w5 = Some(u(cc, "ephemeral_5m_input_tokens"));
            self.w1 = Some(u(cc, "ephemeral_1h_input_tokens"));
        }
        if let Some(n) = usage.get("output_tokens").and_then(Value::as_u64) {
            self.output = n;
        }
    }

    fn usage(&self) -> Usage {
        Usage::from_anthropic(
            self.input,
            self.cache_read,
            self.cache_creation,
            self.w5,
            self.w1,
            self.output,
        )
    }
}

#[derive(Default)]
struct Parser {
    counts: Counts,
    seen_usage: bool,
    observed: Observed,
}

impl Parser {
    fn take_usage(&mut self, usage: Option<&Value>) {
        if let Some(usage) = usage.filter(|u| u.is_object()) {
            self.counts.merge(usage);
            self.seen_usage = true;
            self.observed.usage = Some(self.counts.usage());
            if let Some(t) = str_of(usage, "service_tier") {
                self.observed.service_tier = Some(t);
            }
        }
    }
}

impl ResponseParser for Parser {
    fn on_json(&mut self, body: &[u8]) {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        if v.get("type").and_then(Value::as_str) == Some("error") {
            self.observed.error = error_type(&v);
        }
        if let Some(m) = str_of(&v, "model") {
            self.observed.model = Some(m);
        }
        self.take_usage(v.get("usage"));
        self.observed.finished = true;
    }

    fn on_event(&mut self, event: Option<&str>, data: &str, _raw: &[u8]) -> EventAction {
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return EventAction::Pass;
        };
        let kind = v.get("type").and_then(Value::as_str).or(event).unwrap_or("");
        match kind {
            "message_start" => {
                if let Some(msg) = v.get("message") {
                    if let Some(m) = str_of(msg, "model") {
                        self.observed.model = Some(m);
                    }
                    self.take_usage(msg.get("usage"));
                }
            }
            "message_delta" => self.take_usage(v.get("usage")),
            "message_stop" => self.observed.finished = true,
            "error" => self.observed.error = error_type(&v),
            _ => {}
        }
        EventAction::Pass
    }

    fn observed(&self) -> &Observed {
        &self.observed
    }
}

impl WireApi for Anthropic {
    fn api_name(&self) -> &'static str {
        "anthropic_messages"
    }

    fn inspect(&self, _path: &str, body: &[u8]) -> Option<RequestInfo> {
        super::shallow(body)
    }

    fn parser(&self, _strip_usage: bool) -> Box<dyn ResponseParser> {
        Box::new(Parser::default())
    }

    fn parts(&self, body: &Value) -> Parts {
        let mut p = Parts::default();
        match body.get("system") {
            Some(Value::Array(blocks)) => {
                for b in blocks {
                    push_text(&mut p.system, b.get("text").unwrap_or(b));
                }
            }
            Some(v) => push_text(&mut p.system, v),
            None => {}
        }
        if let Some(tools) = body.get("tools").and_then(Value::as_array) {
            for t in tools {
                push_text(&mut p.tools, t);
            }
        }
        let messages = body
            .get("messages")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let last = messages.len().saturating_sub(1);
        // Thinking from before the last user turn that is not only tool results is dropped
        // from the context by the API (it is neither read nor billed); thinking since, in the
        // current tool-use loop, is. Signatures and redacted thinking are opaque: not text.
        let thinking_from = messages
            .iter()
            .rposition(|m| m.get("role").and_then(Value::as_str) == Some("user") && !only_tool_results(m))
            .unwrap_or(0);
        let mut first_user_seen = false;
        for (i, m) in messages.iter().enumerate() {
            let is_user = m.get("role").and_then(Value::as_str) == Some("user");
            let current = i == last && is_user;
            let (mut plain, mut media) = (String::new(), 0);
            match m.get("content") {
                Some(Value::Array(blocks)) => {
                    for b in blocks {
                        match b.get("type").and_then(Value::as_str) {
                            Some("tool_result") => {
                                p.push(Part::ToolResults, b.get("content").unwrap_or(b), Rule::Anthropic)
                            }
                            Some("text") => push_text(&mut plain, b.get("text").unwrap_or(b)),
                            Some("thinking") if i > thinking_from => {
                                push_text(&mut plain, b.get("thinking").unwrap_or(&Value::Null))
                            }
                            Some("thinking" | "redacted_thinking") => {}
                            _ => push_part(&mut plain, &mut media, b, Rule::Anthropic),
                        }
                    }
                }
                Some(v) => push_text(&mut plain, v),
                None => {}
            }
            if is_user && !first_user_seen {
                first_user_seen = true;
                p.first_user = plain.chars().take(4096).collect();
            }
            p.add(if current { Part::CurrentTurn } else { Part::History }, &plain, media);
        }
        p
    }

    fn with_model(&self, path: &str, body: &[u8], model: &str) -> Option<(String, Bytes)> {
        Some((path.to_string(), super::set_model_field(body, model)?))
    }

    fn error_body(&self, status: u16, message: &str) -> Bytes {
        // Anthropic's own type per status (budget refusals use 402: billing_error).
        let kind = match status {
            402 => "billing_error",
            429 => "rate_limit_error",
            _ => "invalid_request_error",
        };
        let v = serde_json::json!({"type": "error", "error": {"type": kind, "message": message}});
        Bytes::from(v.to_string())
    }
}

/// A user message whose content is tool results only (the API's tool-use loop goes on).
fn only_tool_results(m: &Value) -> bool {
    match m.get("content") {
        Some(Value::Array(blocks)) => {
            !blocks.is_empty()
                && blocks
                    .iter()
                    .all(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_usage_with_cache_split() {
        let mut p = Anthropic.parser(false);
        p.on_event(
            Some("message_start"),
            r#"{"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":10,"cache_creation_input_tokens":300,"cache_read_input_tokens":2000,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200},"output_tokens":1}}}"#,
            b"",
        );
        p.on_event(
            Some("message_delta"),
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":42}}"#,
            b"",
        );
        assert!(!p.observed().finished);
        p.on_event(Some("message_stop"), r#"{"type":"message_stop"}"#, b"");
        let o = p.observed();
        assert!(o.finished);
        assert_eq!(o.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
        assert_eq!(
            o.usage,
            Some(Usage {
                input: 10,
                cache_read: 2000,
                cache_write_5m: 100,
                cache_write_1h: 200,
                output: 42,
                reasoning: 0
            })
        );
    }

    #[test]
    fn error_body() {
        let mut p = Anthropic.parser(false);
        p.on_json(br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#);
        assert_eq!(p.observed().error.as_deref(), Some("rate_limit_error"));
        assert_eq!(p.observed().usage, None);
    }

    #[test]
    fn parts_by_category() {
        let body: Value = serde_json::from_str(
            r#"{"model":"m","system":[{"type":"text","text":"You are terse."}],
                "tools":[{"name":"bash","input_schema":{}}],
                "messages":[{"role":"user","content":"first"},
                            {"role":"assistant","content":[{"type":"text","text":"ok"}]},
                            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"out"},{"type":"text","text":"now"}]}]}"#,
        )
        .unwrap();
        let p = Anthropic.parts(&body);
        assert_eq!(p.system, "You are terse.\n");
        assert!(p.tools.contains("bash"));
        assert_eq!(p.history, "first\nok\n");
        assert_eq!(p.tool_results, "out\n");
        assert_eq!(p.current_turn, "now\n");
        assert_eq!(p.first_user, "first\n");
    }

    #[test]
    fn thinking_counts_only_in_the_current_tool_use_loop_and_never_its_signature() {
        let thinking = |t: &str| serde_json::json!({"type": "thinking", "thinking": t, "signature": "EqQBCkgIARABGAIiQL".repeat(40)});
        let body = serde_json::json!({"model": "m", "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [thinking("old thoughts"), {"type": "text", "text": "ok"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}]},
            {"role": "user", "content": "second"},
            {"role": "assistant", "content": [thinking("new thoughts"),
                {"type": "tool_use", "id": "t", "name": "bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "out"}]}]});
        let p = Anthropic.parts(&body);
        assert!(p.history.contains("new thoughts"), "{}", p.history);
        assert!(!p.history.contains("old thoughts"), "{}", p.history);
        assert!(
            !p.history.contains("EqQB") && !p.history.contains("EmwK"),
            "{}",
            p.history
        );
    }
}
