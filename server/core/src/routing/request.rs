//! What routing reads from a request: who asks (headers), where (path), for which model, the
//! system prompt, continuation ids that pin a conversation to its model, and how much output
//! it may produce. One shallow JSON parse; bodies that are not JSON leave the body-based
//! facts empty.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;

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

/// The fields routing reads, borrowed from the body: everything else (the conversation, tool
/// definitions) is skipped without being built, so a large body costs one scan.
#[derive(Deserialize)]
struct Shallow<'a> {
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    system: Option<&'a RawValue>,
    #[serde(borrow, default)]
    instructions: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "systemInstruction", alias = "system_instruction")]
    system_instruction: Option<&'a RawValue>,
    #[serde(borrow, default)]
    messages: Option<Vec<Item<'a>>>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    previous_response_id: Option<Cow<'a, str>>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    max_output_tokens: Option<u64>,
    #[serde(default)]
    max_completion_tokens: Option<u64>,
    #[serde(borrow, default, rename = "generationConfig", alias = "generation_config")]
    generation_config: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow, default)]
    role: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(default)]
    encrypted_content: Option<IgnoredAny>,
}

fn raw_text(raw: Option<&RawValue>, out: &mut String) {
    if let Some(v) = raw.and_then(|r| serde_json::from_str::<Value>(r.get()).ok()) {
        text_of(&v, out);
    }
}

fn system_items(items: &[Item<'_>], out: &mut String) {
    for m in items {
        if matches!(m.role.as_deref(), Some("system" | "developer")) {
            raw_text(m.content, out);
        }
    }
}

/// Model, system prompt, continuation, output cap.
type BodyFacts = (Option<String>, String, Option<String>, Option<u64>);

/// The facts from the shallow parse; `None` when a field has an unexpected type (the caller
/// then reads the body as a tree).
fn shallow(wire: WireKind, body: &[u8]) -> Option<BodyFacts> {
    let s: Shallow<'_> = serde_json::from_slice(body).ok()?;
    let mut system = String::new();
    let mut continuation = None;
    match wire {
        WireKind::Anthropic => raw_text(s.system, &mut system),
        WireKind::Gemini => raw_text(s.system_instruction, &mut system),
        WireKind::Openai => {
            raw_text(s.instructions, &mut system);
            system_items(s.messages.as_deref().unwrap_or_default(), &mut system);
            let input: Option<Vec<Item<'_>>> = s
                .input
                .filter(|r| r.get().trim_start().starts_with('['))
                .map(|r| serde_json::from_str(r.get()))
                .transpose()
                .ok()?;
            let input = input.unwrap_or_default();
            system_items(&input, &mut system);
            if let Some(id) = &s.previous_response_id {
                continuation = Some(format!("previous_response_id {id} continues a response of this model"));
            } else if input.iter().any(|i| i.encrypted_content.is_some()) {
                continuation = Some("the input carries encrypted reasoning of this model".to_string());
            }
        }
    }
    let generation = s
        .generation_config
        .and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
        .and_then(|g| {
            g.get("maxOutputTokens")
                .or_else(|| g.get("max_output_tokens"))
                .and_then(Value::as_u64)
        });
    let max_output = s
        .max_tokens
        .or(s.max_output_tokens)
        .or(s.max_completion_tokens)
        .or(generation);
    Some((s.model.map(Cow::into_owned), system, continuation, max_output))
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
        if let Some((model, system, continuation, max_output)) = shallow(wire, body) {
            (f.model, f.system, f.continuation, f.max_output) = (model, system, continuation, max_output);
        } else if let Ok(v) = serde_json::from_slice::<Value>(body) {
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

    /// The shallow parse and the tree parse read the same facts.
    #[test]
    fn shallow_and_tree_agree() {
        let bodies = [
            (
                WireKind::Anthropic,
                r#"{"model":"m","max_tokens":9,"system":[{"type":"text","text":"S\u00e9"}],"messages":[{"role":"user","content":"x"}]}"#,
            ),
            (
                WireKind::Openai,
                r#"{"model":"gpt-5","messages":[{"content":"Dev.","role":"developer"},{"role":"user","content":[{"type":"text","text":"u"}]}],"max_completion_tokens":3}"#,
            ),
            (
                WireKind::Openai,
                r#"{"model":"gpt-5","instructions":"I.","input":[{"role":"system","content":"S."},{"type":"reasoning","encrypted_content":"e"}]}"#,
            ),
            (
                WireKind::Openai,
                r#"{"model":"gpt-5","input":"hi","previous_response_id":"r1"}"#,
            ),
            (
                WireKind::Gemini,
                r#"{"system_instruction":{"parts":[{"text":"G."}]},"generation_config":{"max_output_tokens":5}}"#,
            ),
        ];
        for (wire, body) in bodies {
            let v: Value = serde_json::from_str(body).unwrap();
            let (model, system, continuation, max_output) = shallow(wire, body.as_bytes()).unwrap();
            assert_eq!(model.as_deref(), v.get("model").and_then(Value::as_str), "{body}");
            assert_eq!(system, system_text(wire, &v), "{body}");
            assert_eq!(continuation, continuation_of(wire, &v), "{body}");
            assert_eq!(max_output, max_output_of(&v), "{body}");
        }
        // An unexpected type falls back to the tree parse.
        let f = facts(
            WireKind::Anthropic,
            "/v1/messages",
            r#"{"model":"m","max_tokens":1.5,"system":"S"}"#,
        );
        assert_eq!(
            (f.model.as_deref(), f.system.as_str(), f.max_output),
            (Some("m"), "S\n", None)
        );
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
