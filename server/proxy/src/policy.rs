//! The seam for budgets and routing (issue 5). The proxy calls `Policy::before` once per
//! metered request, before forwarding, and `Policy::settle` once the response is priced and
//! recorded. The default policy forwards everything unchanged.
//!
//! - `before` may rewrite the model (and the upstream), or refuse: the proxy then answers with
//!   an error in the provider's own shape and records nothing upstream-side.
//! - A `reservation` returned by `before` is handed back to `settle` (reserve an estimated
//!   cost when a request starts, settle it when it ends).

pub mod budgets;
pub mod savings;

use http_body_util::Full;
use hyper::HeaderMap;
use promptmeter_core::Catalog;
use promptmeter_ledger::RequestRecord;

/// What the policy sees of a request.
pub struct PolicyRequest<'a> {
    /// `anthropic`, `openai`, `gemini` or a named upstream.
    pub provider: &'a str,
    pub path: &'a str,
    pub model: Option<&'a str>,
    pub stream: bool,
    /// Session as named by headers (derived sessions are only known later).
    pub session: Option<&'a str>,
    pub project: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The raw request body (JSON).
    pub body: &'a [u8],
    pub catalog: &'a Catalog,
}

/// Where to send a rewritten request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamChoice {
    /// Provider label recorded for the request (`openai`, or a named upstream).
    pub provider: String,
    /// Base URL, e.g. `http://127.0.0.1:11434`.
    pub base_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Forward,
    /// Serve with another model (and optionally another upstream of the same wire format).
    Reroute {
        model: String,
        upstream: Option<UpstreamChoice>,
        /// Human-readable rule name, recorded with the request (`pressure>85% weekly`).
        rule: String,
    },
    /// Answer with an error in the provider's shape (`status`, usually 429) and `message`.
    Refuse {
        status: u16,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    /// Opaque reservation handed back to `settle`.
    pub reservation: Option<u64>,
}

impl Verdict {
    pub fn forward() -> Self {
        Verdict {
            decision: Decision::Forward,
            reservation: None,
        }
    }
}

pub trait Policy: Send + Sync + 'static {
    fn before(&self, req: &PolicyRequest<'_>) -> Verdict;
    /// Called once per forwarded request after it is priced and committed to the ledger
    /// (also for cut and failed requests). Must not block.
    fn settle(&self, record: &RequestRecord, reservation: Option<u64>);
    /// The `budgets` array of the summary (docs/protocol.md `Budget`).
    fn budgets(&self) -> serde_json::Value {
        serde_json::json!([])
    }
    /// Alerts are published by the policy itself through `Feed::publish_alert`.
    fn name(&self) -> &'static str {
        "policy"
    }
}

/// Forward everything unchanged.
pub struct PassThrough;

impl Policy for PassThrough {
    fn before(&self, _req: &PolicyRequest<'_>) -> Verdict {
        Verdict::forward()
    }

    fn settle(&self, _record: &RequestRecord, _reservation: Option<u64>) {}

    fn name(&self) -> &'static str {
        "pass-through"
    }
}

/// A provider-shaped refusal response.
pub(crate) fn refusal(status: u16, body: bytes::Bytes) -> hyper::Response<Full<bytes::Bytes>> {
    let mut resp = hyper::Response::new(Full::new(body));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::TOO_MANY_REQUESTS);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}
