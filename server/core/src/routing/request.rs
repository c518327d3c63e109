//! What routing reads from a request: who asks (headers), where (path), for which model, the
//! system prompt, continuation ids that pin a conversation to its model, and how much output
//! it may produce. One shallow JSON parse; bodies that are not JSON leave the body-based
//! facts empty.

use serde_json::Value;

use crate::config::proxy::WireKind;

/// Facts about one request, as the routing rules see them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestFacts {
    /// `anthropic`, `openai`, `gemini` or a named upstream.
    pub provider: String,
    pub wire: WireKind,
    pub path: String,
    pub model: Option<String>,
    /// The `x-promptmeter-task` header.
    pub task: Option<String>,
    pub user_agent: Option<String>,
    pub session: Option<String>,
    pub project: Option<String>,
    /// The system prompt's text (Anthropic `system`, OpenAI system/developer messages or
    /// `instructions`, Gemini `systemInstruction`).
    pub system: String,
    /// Why this request cannot change model: it continues server-side state of its model
    /// (OpenAI `previous_response_id`, encrypted reasoning items).
    pub continuation: Option<String>,
    /// The output cap the request sets (`max_tokens`, `max_output_tokens`,
    /// `max_completion_tokens`, `generationConfig.maxOutputTokens`).
    pub max_output: Option<u64>,
    pub body_len: usize,
}

fn text_of(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(a) => a.iter().for_each(|x| text_of(x, out)),
        Value::Object(o) => {
            if let Some(t) = o.get("text") {
                text_of(t, out);
            } else if let Some(c) = o.get("content") {
                text_of(c, out);
            } else if let Some(p) = o.get("parts") {
                text_of(p, out);
            }
        }
        _ => {}
    }
}

/// The system prompt of a parsed body.
pub fn system_text(wire: WireKind, body: &Value) -> String {
    let mut out = String::new();
    match wire {
        WireKind::Anthropic => {
            if let Some(s) = body.get("system") {
                text_of(s, &mut out);
            }
        }
        WireKind::Openai => {
            if let Some(s) = body.get("instructions") {
                text_of(s, &mut out);
            }
            for list in ["messages", "input"] {
                if let Some(Value::Array(items)) = body.get(list) {
                    for m in items {
                        let role = m.get("role").and_then(Value::as_str);
                        if matches!(role, Some("system" | "developer"))
                            && let Some(c) = m.get("content")
                        {
                            text_of(c, &mut out);
                        }
                    }
                }
            }
        }
        WireKind::Gemini => {
            for key in ["systemInstruction", "system_instruction"] {
                if let Some(s) = body.get(key) {
                    text_of(s, &mut out);
                }
            }
        }
    }
    out
}

fn continuation_of(wire: WireKind, body: &Value) -> Option<String> {
    if wire != WireKind::Openai {
        return None;
    }
    if let Some(id) = body.get("previous_response_id").and_then(Value::as_str) {
        return Some(format!("previous_response_id {id} continues a response of this model"));
    }
    let encrypted = body
        .get("input")
        .and_then(Value::as_array)
        .is_some_and(|items| items.iter().any(|i| i.get("encrypted_content").is_some()));
    encrypted.then(|| "the input carries encrypted reasoning of this model".to_string())
}

fn max_output_of(body: &Value) -> Option<u64> {
    ["max_tokens", "max_output_tokens", "max_completion_tokens"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_u64))
        .or_else(|| {
            body.get("generationConfig")
                .or_else(|| body.get("generation_config"))
                .and_then(|g| g.get("maxOutputTokens").or_else(|| g.get("max_output_tokens")))
                .and_then(Value::as_u64)
        })
}

/// Model in a Gemini path: `/v1beta/models/{model}:generateContent`.
pub fn gemini_model_in_path(path: &str) -> Option<&str> {
    let rest = &path[path.find("/models/")? + "/models/".len()..];
    let end = rest.find([':', '?', '/']).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

impl RequestFacts {
    /// Read the body-based facts from a raw JSON body (headers and names are set by the
    /// caller).
    pub fn from_body(provider: &str, wire: WireKind, path: &str, body: &[u8]) -> RequestFacts {
        let mut f = RequestFacts {
            provider: provider.to_string(),
            wire,
            path: path.to_string(),
            body_len: body.len(),
            ..Default::default()
        };
        if let Ok(v) = serde_json::from_slice::<Value>(body) {
            f.model = v.get("model").and_then(Value::as_str).map(str::to_string);
            f.system = system_text(wire, &v);
            f.continuation = continuation_of(wire, &v);
            f.max_output = max_output_of(&v);
        }
        if f.model.is_none() && wire == WireKind::Gemini {
            f.model = gemini_model_in_path(path).map(str::to_string);
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(wire: WireKind, path: &str, body: &str) -> RequestFacts {
        RequestFacts::from_body("p", wire, path, body.as_bytes())
    }

    #[test]
    fn anthropic_system_blocks_and_max_tokens() {
        let f = facts(
            WireKind::Anthropic,
            "/v1/messages",
            r#"{"model":"claude-opus-4-8","max_tokens":1024,"system":[{"type":"text","text":"You are Claude Code."},{"type":"text","text":"Be terse.","cache_control":{"type":"ephemeral"}}],"messages":[]}"#,
        );
        assert_eq!(f.model.as_deref(), Some("claude-opus-4-8"));
        assert_eq!(f.system, "You are Claude Code.\nBe terse.\n");
        assert_eq!(f.max_output, Some(1024));
        assert_eq!(f.continuation, None);
        let f = facts(WireKind::Anthropic, "/v1/messages", r#"{"system":"Plain."}"#);
        assert_eq!(f.system, "Plain.\n");
    }

    #[test]
    fn openai_system_developer_instructions_and_continuations() {
        let f = facts(
            WireKind::Openai,
            "/v1/chat/completions",
            r#"{"model":"gpt-5","max_completion_tokens":50,"messages":[{"role":"system","content":"Sys."},{"role":"developer","content":[{"type":"text","text":"Dev."}]},{"role":"user","content":"Hi"}]}"#,
        );
        assert_eq!(f.system, "Sys.\nDev.\n");
        assert_eq!(f.max_output, Some(50));
        let f = facts(
            WireKind::Openai,
            "/v1/responses",
            r#"{"model":"gpt-5","instructions":"Inst.","previous_response_id":"resp_1","input":"hi"}"#,
        );
        assert_eq!(f.system, "Inst.\n");
        assert!(f.continuation.unwrap().contains("resp_1"));
        let f = facts(
            WireKind::Openai,
            "/v1/responses",
            r#"{"model":"gpt-5","input":[{"type":"reasoning","encrypted_content":"xyz"}]}"#,
        );
        assert!(f.continuation.is_some());
    }

    #[test]
    fn gemini_model_from_path_and_system_instruction() {
        let f = facts(
            WireKind::Gemini,
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            r#"{"systemInstruction":{"parts":[{"text":"Gem."}]},"generationConfig":{"maxOutputTokens":77}}"#,
        );
        assert_eq!(f.model.as_deref(), Some("gemini-2.5-pro"));
        assert_eq!(f.system, "Gem.\n");
        assert_eq!(f.max_output, Some(77));
        assert_eq!(gemini_model_in_path("/v1beta/models"), None);
        assert_eq!(gemini_model_in_path("/v1beta/models/:x"), None);
    }

    #[test]
    fn garbage_bodies_give_empty_facts() {
        for body in ["", "not json", "[1,2]", "{\"model\":5}", "\u{0}\u{1}"] {
            let f = facts(WireKind::Anthropic, "/v1/messages", body);
            assert_eq!(f.model, None);
            assert_eq!(f.system, "");
        }
    }
}
