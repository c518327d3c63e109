//! Turning what was seen of a request and its response into a priced `RequestRecord`.

use promptmeter_core::{Catalog, Usage, cost_of};
use promptmeter_ledger::record::Reroute;
use promptmeter_ledger::{RequestRecord, UsageRecord};
use rust_decimal::Decimal;

use crate::composition::{Measured, scaled};
use crate::providers::Observed;

/// Facts known when the request arrived.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    pub id: String,
    pub ts_ms: i64,
    pub provider: String,
    pub upstream: String,
    pub path: String,
    pub model_requested: Option<String>,
    /// The model the request was forwarded with (differs when rerouted).
    pub model_forwarded: Option<String>,
    pub session: Option<String>,
    pub project: Option<String>,
    pub stream: bool,
    pub bytes_in: u64,
    pub service_tier: Option<String>,
    /// (model asked for, rule) when the policy rerouted the request.
    pub reroute: Option<(String, String)>,
    /// The request body as text, only when `capture_text` is on.
    pub captured_request: Option<String>,
    /// The upstream is flat-rate (`[proxy.named.<name>] flat_rate`).
    pub flat_rate: bool,
}

/// Facts known when the response ended.
#[derive(Debug, Clone, Default)]
pub struct ResponseFacts {
    pub status: u16,
    pub complete: bool,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub bytes_out: u64,
    pub error: Option<String>,
    /// The response body as text, only when `capture_text` is on.
    pub captured_response: Option<String>,
}

/// Catalog tier names for a provider's service tier.
fn catalog_tier(tier: Option<&str>) -> Option<&'static str> {
    match tier? {
        "flex" => Some("flex"),
        "priority" => Some("priority"),
        "batch" | "batches" => Some("batches"),
        _ => None,
    }
}

/// Price `usage` for `model` (None when the model is unknown or unpriced).
pub fn price(catalog: &Catalog, model: Option<&str>, usage: &Usage, tier: Option<&str>) -> Option<Decimal> {
    let m = catalog.resolve(model?)?;
    cost_of(m, usage, catalog_tier(tier)).ok().map(|c| c.total)
}

pub fn build(
    catalog: &Catalog,
    req: &RequestFacts,
    observed: &Observed,
    measured: Option<&Measured>,
    resp: &ResponseFacts,
) -> RequestRecord {
    let usage = observed.usage.unwrap_or_default();
    let served = observed.model.clone().or_else(|| req.model_forwarded.clone());
    let tier = observed.service_tier.as_deref().or(req.service_tier.as_deref());
    // A served id the catalog does not know (a new dated snapshot) is priced as the model
    // that was asked for.
    let cost = price(catalog, served.as_deref(), &usage, tier)
        .or_else(|| price(catalog, req.model_forwarded.as_deref(), &usage, tier));
    let (composition, fingerprints) = match measured {
        Some(m) => {
            let (c, f) = scaled(m, observed.usage.map(|u| u.prompt_tokens()));
            (Some(c), f)
        }
        None => (None, Vec::new()),
    };
    let session = req
        .session
        .clone()
        .or_else(|| measured.map(|m| m.derived_session.clone()));
    let reroute = req.reroute.as_ref().map(|(from, rule)| Reroute {
        from: from.clone(),
        rule: rule.clone(),
        counterfactual_cost_usd: price(catalog, Some(from), &usage, tier),
    });
    RequestRecord {
        id: req.id.clone(),
        ts: promptmeter_ledger::window::rfc3339_ms(req.ts_ms),
        ts_ms: req.ts_ms,
        provider: req.provider.clone(),
        upstream: req.upstream.clone(),
        path: req.path.clone(),
        model_requested: req.model_requested.clone(),
        model_served: served,
        session,
        project: req.project.clone(),
        stream: req.stream,
        status: resp.status,
        incomplete: !resp.complete,
        usage: UsageRecord::from(usage),
        cost_usd: cost.map(|c| c.normalize()),
        cost_known: cost.is_some(),
        latency_ms: resp.latency_ms,
        ttft_ms: resp.ttft_ms,
        bytes_in: req.bytes_in,
        bytes_out: resp.bytes_out,
        composition,
        reroute,
        fingerprints,
        error: resp.error.clone().or_else(|| observed.error.clone()),
        service_tier: observed.service_tier.clone().or_else(|| req.service_tier.clone()),
        captured: req
            .captured_request
            .as_ref()
            .map(|r| serde_json::json!({ "request": r, "response": resp.captured_response })),
        flat_rate: req.flat_rate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_model_is_unpriced_never_zero() {
        let catalog = Catalog::bundled();
        let req = RequestFacts {
            model_requested: Some("no-such-model-xyz".into()),
            model_forwarded: Some("no-such-model-xyz".into()),
            ..Default::default()
        };
        let obs = Observed {
            usage: Some(Usage {
                input: 10,
                output: 5,
                ..Default::default()
            }),
            ..Default::default()
        };
        let r = build(&catalog, &req, &obs, None, &ResponseFacts::default());
        assert!(!r.cost_known);
        assert_eq!(r.cost_usd, None);
    }

    #[test]
    fn known_model_is_priced_by_the_core() {
        let catalog = Catalog::bundled();
        let model = catalog
            .resolve("claude-sonnet-4-5")
            .expect("catalog has claude-sonnet-4-5");
        let usage = Usage {
            input: 1000,
            cache_read: 2000,
            output: 300,
            ..Default::default()
        };
        let expected = cost_of(model, &usage, None).unwrap().total;
        let req = RequestFacts {
            model_requested: Some("claude-sonnet-4-5".into()),
            model_forwarded: Some("claude-sonnet-4-5".into()),
            reroute: Some(("claude-opus-4-1".into(), "test".into())),
            ..Default::default()
        };
        let obs = Observed {
            usage: Some(usage),
            model: Some("claude-sonnet-4-5-20250929".into()),
            ..Default::default()
        };
        let r = build(
            &catalog,
            &req,
            &obs,
            None,
            &ResponseFacts {
                complete: true,
                ..Default::default()
            },
        );
        assert!(r.cost_known);
        assert_eq!(r.cost_usd, Some(expected.normalize()));
        assert!(!r.incomplete);
        let rr = r.reroute.unwrap();
        assert!(rr.counterfactual_cost_usd.unwrap() > expected);
    }
}
