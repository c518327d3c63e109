//! One request as the proxy saw it. The same JSON shape goes on the live feed, out of
//! `/_promptmeter/requests` and into `promptmeter report --json` (docs/protocol.md).

use promptmeter_core::Usage;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RequestRecord {
    /// Sortable unique id (time-ordered, ULID alphabet).
    pub id: String,
    /// RFC 3339 UTC time the request arrived, millisecond precision.
    pub ts: String,
    /// The same instant in milliseconds since the Unix epoch.
    pub ts_ms: i64,
    /// `anthropic`, `openai`, `gemini`, or the name of a configured upstream.
    pub provider: String,
    /// Upstream base URL (never with credentials or query).
    pub upstream: String,
    /// Request path without the query string (which may carry a `key=`).
    pub path: String,
    pub model_requested: Option<String>,
    pub model_served: Option<String>,
    pub session: Option<String>,
    pub project: Option<String>,
    pub stream: bool,
    pub status: u16,
    /// The response did not complete (connection cut, client gone, upstream error midway).
    pub incomplete: bool,
    pub usage: UsageRecord,
    /// `None` when the model is not in the catalog (`cost_known` false): never a fake $0.
    pub cost_usd: Option<Decimal>,
    pub cost_known: bool,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub composition: Option<Composition>,
    pub reroute: Option<Reroute>,
    /// Hashes (never text) of the system prompt's sections, for attribution to prompt files.
    pub fingerprints: Vec<Fingerprint>,
    /// Provider error type from an error body (`rate_limit_error`, `overloaded_error`, ...).
    pub error: Option<String>,
    pub service_tier: Option<String>,
    /// Request and response text, only when `capture_text` is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captured: Option<serde_json::Value>,
    /// Served by a flat-rate upstream (`[proxy.named.<name>] flat_rate`): `costUsd` is what
    /// the request would have cost at API prices; what it cost you is nothing.
    pub flat_rate: bool,
}

impl RequestRecord {
    /// What the request cost you: its price, or nothing on a flat-rate upstream (`None`: the
    /// model has no price). Every total of spend sums this, never `cost_usd` directly.
    pub fn spend(&self) -> Option<rust_decimal::Decimal> {
        if self.flat_rate {
            Some(rust_decimal::Decimal::ZERO)
        } else {
            self.cost_usd
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UsageRecord {
    pub input: u64,
    pub cache_read: u64,
    pub cache_write5m: u64,
    pub cache_write1h: u64,
    pub output: u64,
    pub reasoning: u64,
}

impl From<Usage> for UsageRecord {
    fn from(u: Usage) -> Self {
        UsageRecord {
            input: u.input,
            cache_read: u.cache_read,
            cache_write5m: u.cache_write_5m,
            cache_write1h: u.cache_write_1h,
            output: u.output,
            reasoning: u.reasoning,
        }
    }
}

impl From<UsageRecord> for Usage {
    fn from(u: UsageRecord) -> Self {
        Usage {
            input: u.input,
            cache_read: u.cache_read,
            cache_write_5m: u.cache_write5m,
            cache_write_1h: u.cache_write1h,
            output: u.output,
            reasoning: u.reasoning,
        }
    }
}

/// The request's context window by category, in tokens, scaled so that the parts sum to the
/// provider-reported input count (all input tokens, cached or not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Composition {
    pub system: u64,
    pub tools: u64,
    pub history: u64,
    pub tool_results: u64,
    pub current_turn: u64,
}

impl Composition {
    pub fn total(&self) -> u64 {
        self.system + self.tools + self.history + self.tool_results + self.current_turn
    }
}

/// Set when the routing policy changed the model or upstream (issue 5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Reroute {
    pub from: String,
    pub rule: String,
    pub counterfactual_cost_usd: Option<Decimal>,
}

/// A section of the system prompt, identified by a hash of its text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Fingerprint {
    /// First 16 hex digits of the SHA-256 of the section's text.
    pub hash: String,
    /// The section's share of the system prompt, in tokens (scaled like the composition).
    pub tokens: u64,
}
