//! Gemini `generateContent` / `streamGenerateContent` (`/v1beta/models/{model}:...`). Usage in
//! `usageMetadata`: `promptTokenCount` includes `cachedContentTokenCount`; `thoughtsTokenCount`
//! is billed as output on top of `candidatesTokenCount`. Streamed responses are SSE with
//! `?alt=sse` (every chunk carries the running `usageMetadata`), else one JSON array.

use bytes::Bytes;
use promptmeter_core::Usage;
use serde_json::Value;

use super::media::{Rule, push_part};
use super::{
    EventAction, Observed, Part, Parts, RequestInfo, ResponseParser, WireApi, error_type, push_text, str_of, u,
};

pub struct Gemini;

/// The model named in a Gemini path: `/v1beta/models/gemini-2.5-pro:generateContent`.
pub fn model_in_path(path: &str) -> Option<&str> {
    let after = &path[path.find("/models/")? + "/models/".len()..];
    let end = after.find(':')?;
    Some(&after[..end]).filter(|m| !m.is_empty())
}

#[derive(Default)]
struct Parser {
    observed: Observed,
}

impl Parser {
    fn take(&mut self, v: &Value) {
        if let Some(items) = v.as_array() {
            for it in items {
                self.take(it);
            }
            return;
        }
        if v.get("error").is_some() {
            self.observed.error = error_type(v);
        }
        if let Some(m) = str_of(v, "modelVersion") {
            self.observed.model = Some(m);
        }
        if let Some(um) = v.get("usageMetadata").filter(|u| u.is_object()) {
            self.observed.usage = Some(Usage::from_gemini(
                u(um, "promptTokenCount"),
                u(um, "cachedContentTokenCount"),
                u(um, "candidatesTokenCount"),
                u(um, "thoughtsTokenCount"),
            ));
        }
        let finished = v
            .get("candidates")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().any(|c| c.get("finishReason").is_some_and(|f| !f.is_null())));
        if finished {
            self.observed.finished = true;
        }
    }
}

impl ResponseParser for Parser {
    fn on_json(&mut self, body: &[u8]) {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        self.take(&v);
        self.observed.finished = true;
    }

    fn on_event(&mut self, _event: Option<&str>, data: &str, _raw: &[u8]) -> EventAction {
        if let Ok(v) = serde_json::from_str::<Value>(data) {
            self.take(&v);
        }
        EventAction::Pass
    }

    fn observed(&self) -> &Observed {
        &self.observed
    }
}

impl WireApi for Gemini {
    fn api_name(&self) -> &'static str {
        "gemini"
    }

    fn inspect(&self, path: &str, body: &[u8]) -> Option<RequestInfo> {
        // The body must be JSON, but the model and the streaming flag are in the path.
        serde_json::from_slice::<serde::de::IgnoredAny>(body).ok()?;
        Some(RequestInfo {
            model: model_in_path(path).map(str::to_string),
            stream: path.contains(":streamGenerateContent"),
            service_tier: None,
        })
    }

    fn parser(&self, _strip_usage: bool) -> Box<dyn ResponseParser> {
        Box::new(Parser::default())
    }

    fn parts(&self, body: &Value) -> Parts {
        let mut p = Parts::default();
        // One content's text and media; function responses go to the tool results.
        let text_of = |content: &Value, p: &mut Parts| {
            let (mut text, mut media) = (String::new(), 0);
            for part in content
                .get("parts")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                if let Some(fr) = part.get("functionResponse").or_else(|| part.get("function_response")) {
                    p.push(Part::ToolResults, fr, Rule::Gemini);
                } else {
                    // A part's text or call, without its opaque `thoughtSignature`.
                    let content = ["text", "functionCall", "function_call"]
                        .iter()
                        .find_map(|k| part.get(*k))
                        .unwrap_or(part);
                    push_part(&mut text, &mut media, content, Rule::Gemini);
                }
            }
            (text, media)
        };
        if let Some(si) = body.get("systemInstruction").or_else(|| body.get("system_instruction")) {
            let (text, media) = text_of(si, &mut p);
            p.add(Part::System, &text, media);
        }
        if let Some(tools) = body.get("tools").and_then(Value::as_array) {
            for t in tools {
                push_text(&mut p.tools, t);
            }
        }
        let contents = body
            .get("contents")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let last = contents.len().saturating_sub(1);
        let mut first_user_seen = false;
        for (i, c) in contents.iter().enumerate() {
            let is_user = c.get("role").and_then(Value::as_str).unwrap_or("user") == "user";
            let (text, media) = text_of(c, &mut p);
            if is_user && !first_user_seen {
                first_user_seen = true;
                p.first_user = text.chars().take(4096).collect();
            }
            p.add(
                if is_user && i == last {
                    Part::CurrentTurn
                } else {
                    Part::History
                },
                &text,
                media,
            );
        }
        p
    }

    fn with_model(&self, path: &str, body: &[u8], model: &str) -> Option<(String, Bytes)> {
        let old = model_in_path(path)?;
        let start = path.find("/models/")? + "/models/".len();
        let new_path = format!("{}{}{}", &path[..start], model, &path[start + old.len()..]);
        Some((new_path, Bytes::copy_from_slice(body)))
    }

    fn error_body(&self, status: u16, message: &str) -> Bytes {
        let s = if status == 429 {
            "RESOURCE_EXHAUSTED"
        } else {
            "FAILED_PRECONDITION"
        };
        Bytes::from(serde_json::json!({"error": {"code": status, "message": message, "status": s}}).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_from_path_and_rewrite() {
        let p = "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse";
        assert_eq!(model_in_path(p), Some("gemini-2.5-pro"));
        let (np, _) = Gemini.with_model(p, b"{}", "gemini-2.5-flash").unwrap();
        assert_eq!(np, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
        assert_eq!(model_in_path("/v1beta/models"), None);
    }

    #[test]
    fn usage_metadata_streamed_and_array() {
        let mut p = Gemini.parser(false);
        p.on_event(None, r#"{"candidates":[{"content":{"parts":[{"text":"Hi"}]}}],"usageMetadata":{"promptTokenCount":100,"cachedContentTokenCount":40,"candidatesTokenCount":1},"modelVersion":"gemini-2.5-pro"}"#, b"");
        p.on_event(None, r#"{"candidates":[{"content":{"parts":[{"text":"!"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":100,"cachedContentTokenCount":40,"candidatesTokenCount":7,"thoughtsTokenCount":3},"modelVersion":"gemini-2.5-pro"}"#, b"");
        let o = p.observed();
        assert!(o.finished);
        assert_eq!(
            o.usage,
            Some(Usage {
                input: 60,
                cache_read: 40,
                cache_write_5m: 0,
                cache_write_1h: 0,
                output: 10,
                reasoning: 3
            })
        );
        let mut a = Gemini.parser(false);
        a.on_json(br#"[{"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1}},{"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":9}}]"#);
        assert_eq!(a.observed().usage.unwrap().output, 9);
    }

    #[test]
    fn parts_leave_out_thought_signatures_and_count_images_by_size() {
        let body = serde_json::json!({"contents": [
            {"role": "user", "parts": [{"text": "look"}, {"inline_data": {"mime_type": "image/png", "data": "iVBORw0KGgo"}}]},
            {"role": "model", "parts": [{"functionCall": {"name": "ls", "args": {}}, "thoughtSignature": "CiQB0e2Kb".repeat(50)}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "ls", "response": {"out": "a.txt"}}}]}]});
        let p = Gemini.parts(&body);
        assert!(
            p.history.contains("look") && p.history.contains("\"ls\""),
            "{}",
            p.history
        );
        assert!(
            !p.history.contains("CiQB") && !p.history.contains("iVBOR"),
            "{}",
            p.history
        );
        assert_eq!(p.media_in(Part::History), 1032, "an image of unknown size");
        assert!(p.tool_results.contains("a.txt"));
    }
}
