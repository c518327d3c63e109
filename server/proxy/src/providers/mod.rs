//! Provider wire APIs behind one trait, one file each: the request fields the proxy reads,
//! the conversion of the provider's usage into core `Usage`, the stream parser (fed whole SSE
//! events by the HTTP layer), the context-window parts of a request, and the provider's own
//! error shape (for refusals by the policy hook).

pub mod anthropic;
pub mod gemini;
pub mod media;
pub mod openai_chat;
pub mod openai_responses;

use bytes::Bytes;
use promptmeter_core::Usage;
use serde_json::Value;

/// What the proxy reads from a request body on the hot path (a shallow parse).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestInfo {
    pub model: Option<String>,
    pub stream: bool,
    pub service_tier: Option<String>,
}

/// What a response told us so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub usage: Option<Usage>,
    pub model: Option<String>,
    /// Provider error type (`rate_limit_error`, `RESOURCE_EXHAUSTED`, ...).
    pub error: Option<String>,
    /// The provider's terminal event was seen (message_stop, [DONE], response.completed...).
    pub finished: bool,
    pub service_tier: Option<String>,
}

/// What to do with an SSE event on its way to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAction {
    /// Forward the event's bytes unchanged.
    Pass,
    /// Take the event out (the usage chunk the proxy asked for itself).
    Drop,
    /// Forward these bytes instead.
    Replace(Vec<u8>),
}

/// Text of a request by context-window category (for composition and fingerprints).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parts {
    pub system: String,
    pub tools: String,
    pub history: String,
    pub tool_results: String,
    pub current_turn: String,
    /// The first user message (for deriving a session id when no header names one).
    pub first_user: String,
    /// Estimated tokens of the images and documents in each part, in the order system, tools,
    /// history, tool results, current turn (their bytes are not in the text above).
    pub media: [u64; 5],
}

/// A part of the context window, as an index into [`Parts::media`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    System = 0,
    Tools = 1,
    History = 2,
    ToolResults = 3,
    CurrentTurn = 4,
}

impl Parts {
    fn text_mut(&mut self, part: Part) -> &mut String {
        match part {
            Part::System => &mut self.system,
            Part::Tools => &mut self.tools,
            Part::History => &mut self.history,
            Part::ToolResults => &mut self.tool_results,
            Part::CurrentTurn => &mut self.current_turn,
        }
    }

    /// Add one message's text and media tokens to a part.
    pub fn add(&mut self, part: Part, text: &str, media: u64) {
        self.text_mut(part).push_str(text);
        self.media[part as usize] += media;
    }

    /// Add a JSON value to a part: its text, and its images and documents by `rule`
    /// ([`media::push_part`]).
    pub fn push(&mut self, part: Part, v: &Value, rule: media::Rule) {
        let mut m = 0;
        media::push_part(self.text_mut(part), &mut m, v, rule);
        self.media[part as usize] += m;
    }

    /// The estimated tokens of the images and documents in a part.
    pub fn media_in(&self, part: Part) -> u64 {
        self.media[part as usize]
    }
}

pub trait ResponseParser: Send {
    /// A complete non-streamed JSON body (also error bodies of streamed requests).
    fn on_json(&mut self, body: &[u8]);
    /// One SSE event. `rewrite_usage` is set when the proxy added usage reporting that the
    /// client did not ask for, and must take it back out.
    fn on_event(&mut self, event: Option<&str>, data: &str, raw: &[u8]) -> EventAction;
    fn observed(&self) -> &Observed;
}

/// One provider wire API (Anthropic Messages, OpenAI Chat Completions, OpenAI Responses,
/// Gemini generateContent).
pub trait WireApi: Send + Sync + 'static {
    /// Short name for metrics and logs.
    fn api_name(&self) -> &'static str;
    /// Shallow parse of the request body. `None`: not JSON we understand (pass it through).
    fn inspect(&self, path: &str, body: &[u8]) -> Option<RequestInfo>;
    /// The request as the proxy forwards it; `Some` only when it must differ from what the
    /// client sent (OpenAI streamed chat without usage reporting). The bool says the
    /// response must then be rewritten back (see `ResponseParser::on_event`).
    fn prepare(&self, _info: &RequestInfo, _body: &Bytes) -> Option<Bytes> {
        None
    }
    fn parser(&self, strip_usage: bool) -> Box<dyn ResponseParser>;
    /// The request's text by context-window category.
    fn parts(&self, body: &Value) -> Parts;
    /// The request with its model replaced (routing): new path and body.
    fn with_model(&self, path: &str, body: &[u8], model: &str) -> Option<(String, Bytes)>;
    /// An error response in the provider's own shape (status, JSON body).
    fn error_body(&self, status: u16, message: &str) -> Bytes;
}

/// Pick a JSON number as u64 (absent, null, negative or fractional: 0).
pub(crate) fn u(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

pub(crate) fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The error type of a provider error body: `error.type`, else `error.status`, else `error.code`.
pub(crate) fn error_type(v: &Value) -> Option<String> {
    let e = v.get("error")?;
    if let Some(s) = e.as_str() {
        return Some(s.to_string());
    }
    for k in ["type", "status", "code"] {
        match e.get(k) {
            Some(Value::String(s)) if !s.is_empty() => return Some(s.clone()),
            Some(Value::Number(n)) => return Some(n.to_string()),
            _ => {}
        }
    }
    Some("error".into())
}

/// Append the text of a JSON value: strings as they are, other values serialized.
pub(crate) fn push_text(out: &mut String, v: &Value) {
    match v {
        Value::Null => {}
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        other => {
            out.push_str(&other.to_string());
            out.push('\n');
        }
    }
}

/// Set `"model"` in a JSON object body.
pub(crate) fn set_model_field(body: &[u8], model: &str) -> Option<Bytes> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    v.as_object_mut()?.insert("model".into(), Value::String(model.into()));
    serde_json::to_vec(&v).ok().map(Bytes::from)
}

/// Shallow request fields shared by the JSON APIs.
#[derive(serde::Deserialize)]
pub(crate) struct Shallow {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub service_tier: Option<String>,
}

pub(crate) fn shallow(body: &[u8]) -> Option<RequestInfo> {
    let s: Shallow = serde_json::from_slice(body).ok()?;
    Some(RequestInfo {
        model: s.model,
        stream: s.stream.unwrap_or(false),
        service_tier: s.service_tier,
    })
}
