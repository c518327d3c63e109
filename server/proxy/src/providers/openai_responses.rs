//! OpenAI Responses (`/v1/responses`), over HTTP (JSON or SSE) and over WebSocket (the same
//! events as JSON text messages). Usage: in the response object (`response.completed`,
//! `response.incomplete`, `response.failed` when streamed): `input_tokens` includes
//! `input_tokens_details.cached_tokens`; `output_tokens` includes
//! `output_tokens_details.reasoning_tokens`.

use bytes::Bytes;
use promptmeter_core::Usage;
use serde_json::Value;

use super::media::{Rule, push_part};
use super::{
    EventAction, Observed, Part, Parts, RequestInfo, ResponseParser, WireApi, error_type, push_text, str_of, u,
};

pub struct OpenAiResponses;

pub(crate) fn usage_of(usage: &Value) -> Usage {
    let cached = usage
        .get("input_tokens_details")
        .map(|d| u(d, "cached_tokens"))
        .unwrap_or(0);
    let reasoning = usage
        .get("output_tokens_details")
        .map(|d| u(d, "reasoning_tokens"))
        .unwrap_or(0);
    Usage::from_openai(u(usage, "input_tokens"), cached, u(usage, "output_tokens"), reasoning)
}

#[derive(Default)]
pub(crate) struct Parser {
    observed: Observed,
}

impl Parser {
    fn take_response(&mut self, r: &Value) {
        if let Some(m) = str_of(r, "model") {
            self.observed.model = Some(m);
        }
        if let Some(t) = str_of(r, "service_tier") {
            self.observed.service_tier = Some(t);
        }
        if let Some(usage) = r.get("usage").filter(|u| u.is_object()) {
            self.observed.usage = Some(usage_of(usage));
        }
        if let Some(e) = r.get("error").filter(|e| !e.is_null()) {
            self.observed.error = error_type(&serde_json::json!({ "error": e }));
        }
    }

    /// One event object (SSE data or WebSocket message). Returns true on a terminal event.
    pub(crate) fn on_value(&mut self, v: &Value) -> bool {
        let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "response.created" | "response.in_progress" => {
                if let Some(r) = v.get("response") {
                    self.take_response(r);
                }
                false
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                if let Some(r) = v.get("response") {
                    self.take_response(r);
                }
                self.observed.finished = true;
                true
            }
            "error" => {
                self.observed.error = v
                    .get("code")
                    .or_else(|| v.get("error").and_then(|e| e.get("type").or_else(|| e.get("code"))))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| Some("error".into()));
                self.observed.finished = true;
                true
            }
            _ => false,
        }
    }
}

impl ResponseParser for Parser {
    fn on_json(&mut self, body: &[u8]) {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        self.take_response(&v);
        if v.get("error").is_some_and(|e| !e.is_null()) && v.get("object").is_none() {
            self.observed.error = error_type(&v);
        }
        self.observed.finished = true;
    }

    fn on_event(&mut self, _event: Option<&str>, data: &str, _raw: &[u8]) -> EventAction {
        if let Ok(v) = serde_json::from_str::<Value>(data) {
            self.on_value(&v);
        }
        EventAction::Pass
    }

    fn observed(&self) -> &Observed {
        &self.observed
    }
}

impl WireApi for OpenAiResponses {
    fn api_name(&self) -> &'static str {
        "openai_responses"
    }

    fn inspect(&self, _path: &str, body: &[u8]) -> Option<RequestInfo> {
        super::shallow(body)
    }

    fn parser(&self, _strip_usage: bool) -> Box<dyn ResponseParser> {
        Box::new(Parser::default())
    }

    fn parts(&self, body: &Value) -> Parts {
        let mut p = Parts::default();
        if let Some(i) = body.get("instructions") {
            push_text(&mut p.system, i);
        }
        if let Some(tools) = body.get("tools").and_then(Value::as_array) {
            for t in tools {
                push_text(&mut p.tools, t);
            }
        }
        match body.get("input") {
            Some(Value::String(s)) => {
                p.current_turn.push_str(s);
                p.first_user = s.chars().take(4096).collect();
            }
            Some(Value::Array(items)) => {
                let last_user = items
                    .iter()
                    .rposition(|it| it.get("role").and_then(Value::as_str) == Some("user"));
                let mut first_user_seen = false;
                for (i, it) in items.iter().enumerate() {
                    let role = it.get("role").and_then(Value::as_str).unwrap_or("");
                    let kind = it.get("type").and_then(Value::as_str).unwrap_or("message");
                    let (mut text, mut media) = (String::new(), 0);
                    if kind == "reasoning" {
                        // Reasoning from before the last user message is dropped by the API;
                        // since then (a tool-call loop) it is read. Its encrypted content is
                        // opaque: only the summary is text.
                        if last_user.is_none_or(|u| i > u) {
                            for s in it.get("summary").and_then(Value::as_array).into_iter().flatten() {
                                push_text(&mut text, s.get("text").unwrap_or(&Value::Null));
                            }
                        }
                        p.add(Part::History, &text, 0);
                        continue;
                    }
                    match it.get("content") {
                        Some(Value::Array(parts)) => {
                            for part in parts {
                                push_part(&mut text, &mut media, part.get("text").unwrap_or(part), Rule::OpenAi);
                            }
                        }
                        Some(v) => push_text(&mut text, v),
                        None => push_part(&mut text, &mut media, it.get("output").unwrap_or(it), Rule::OpenAi),
                    }
                    if role == "user" && !first_user_seen {
                        first_user_seen = true;
                        p.first_user = text.chars().take(4096).collect();
                    }
                    let part = match (kind, role) {
                        ("function_call_output" | "custom_tool_call_output" | "local_shell_call_output", _) => {
                            Part::ToolResults
                        }
                        (_, "system" | "developer") => Part::System,
                        (_, "user") if Some(i) == last_user && i + 1 == items.len() => Part::CurrentTurn,
                        _ => Part::History,
                    };
                    p.add(part, &text, media);
                }
            }
            _ => {}
        }
        p
    }

    fn with_model(&self, path: &str, body: &[u8], model: &str) -> Option<(String, Bytes)> {
        Some((path.to_string(), super::set_model_field(body, model)?))
    }

    fn error_body(&self, status: u16, message: &str) -> Bytes {
        super::openai_chat::OpenAiChat.error_body(status, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_from_completed_event() {
        let mut p = OpenAiResponses.parser(false);
        p.on_event(Some("response.created"), r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","model":"gpt-5-2025-08-07","status":"in_progress","usage":null}}"#, b"");
        assert!(!p.observed().finished);
        p.on_event(
            Some("response.completed"),
            r#"{"type":"response.completed","sequence_number":9,"response":{"id":"resp_1","model":"gpt-5-2025-08-07","status":"completed","usage":{"input_tokens":500,"input_tokens_details":{"cached_tokens":400},"output_tokens":50,"output_tokens_details":{"reasoning_tokens":30},"total_tokens":550}}}"#,
            b"",
        );
        let o = p.observed();
        assert!(o.finished);
        assert_eq!(o.model.as_deref(), Some("gpt-5-2025-08-07"));
        assert_eq!(
            o.usage,
            Some(Usage {
                input: 100,
                cache_read: 400,
                cache_write_5m: 0,
                cache_write_1h: 0,
                output: 50,
                reasoning: 30
            })
        );
    }

    #[test]
    fn parts_of_input_items() {
        let body: Value = serde_json::from_str(
            r#"{"model":"gpt-5","instructions":"Be brief.","input":[
                {"type":"message","role":"user","content":[{"type":"input_text","text":"hello"}]},
                {"type":"function_call","name":"ls","arguments":"{}","call_id":"c1"},
                {"type":"function_call_output","call_id":"c1","output":"a.txt"},
                {"type":"message","role":"user","content":[{"type":"input_text","text":"and now?"}]}]}"#,
        )
        .unwrap();
        let p = OpenAiResponses.parts(&body);
        assert_eq!(p.system, "Be brief.\n");
        assert_eq!(p.tool_results, "a.txt\n");
        assert_eq!(p.current_turn, "and now?\n");
        assert!(p.history.starts_with("hello\n"));
    }

    #[test]
    fn reasoning_items_count_their_summary_in_the_current_loop_only() {
        let item = |t: &str| {
            serde_json::json!({"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": t}],
                               "encrypted_content": "gAAAAABo".repeat(200)})
        };
        let body = serde_json::json!({"model": "gpt-5", "input": [
            {"role": "user", "content": "first"},
            item("old plan"),
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
            {"role": "user", "content": "second"},
            item("new plan"),
            {"type": "function_call", "call_id": "c", "name": "shell", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": "done"}]});
        let p = OpenAiResponses.parts(&body);
        assert!(p.history.contains("new plan"), "{}", p.history);
        assert!(
            !p.history.contains("old plan") && !p.history.contains("gAAAAABo"),
            "{}",
            p.history
        );
    }
}
