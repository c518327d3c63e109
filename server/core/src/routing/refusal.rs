//! Hard-limit refusals in each provider's own error shape, so that every client shows the
//! message as it would show the provider's own error:
//! - Anthropic: HTTP 402, `{"type":"error","error":{"type":"billing_error","message":...}}`;
//! - OpenAI: HTTP 429, `{"error":{"message":...,"type":"insufficient_quota","param":null,"code":"promptmeter_budget"}}`
//!   (OpenAI's own type for a used-up quota; the code says who refused);
//! - Gemini: HTTP 429, `{"error":{"code":429,"message":...,"status":"RESOURCE_EXHAUSTED"}}`.
//!
//! Each carries `x-should-retry: false`, which the official SDKs honour: retrying cannot help
//! until the budget is raised or its window ends.

use crate::config::proxy::WireKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    pub status: u16,
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: String,
}

pub fn refusal_reply(wire: WireKind, message: &str) -> ErrorReply {
    let (status, body) = match wire {
        WireKind::Anthropic => (
            402,
            serde_json::json!({"type": "error", "error": {"type": "billing_error", "message": message}}),
        ),
        WireKind::Openai => (
            429,
            serde_json::json!({"error": {"message": message, "type": "insufficient_quota", "param": null, "code": "promptmeter_budget"}}),
        ),
        WireKind::Gemini => (
            429,
            serde_json::json!({"error": {"code": 429, "message": message, "status": "RESOURCE_EXHAUSTED"}}),
        ),
    };
    ErrorReply {
        status,
        headers: vec![
            ("content-type", "application/json"),
            ("x-should-retry", "false"),
            ("x-promptmeter-refused", "budget"),
        ],
        body: body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn shapes_per_provider() {
        let m = "promptmeter: Weekly budget is used up \"quoted\"";
        let a = refusal_reply(WireKind::Anthropic, m);
        let v: Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(a.status, 402);
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "billing_error");
        assert_eq!(v["error"]["message"], m);

        let o = refusal_reply(WireKind::Openai, m);
        let v: Value = serde_json::from_str(&o.body).unwrap();
        assert_eq!(o.status, 429);
        assert_eq!(v["error"]["code"], "promptmeter_budget");
        assert_eq!(v["error"]["type"], "insufficient_quota");
        assert_eq!(v["error"]["message"], m);

        let g = refusal_reply(WireKind::Gemini, m);
        let v: Value = serde_json::from_str(&g.body).unwrap();
        assert_eq!(g.status, 429);
        assert_eq!(v["error"]["code"], 429);
        assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
        assert!(g.headers.contains(&("x-should-retry", "false")));
    }
}
