//! Cost arithmetic, in decimals. Rules (each has a unit test with a hand-computed figure):
//! - uncached input at the input price; cache reads at the cache-read price;
//! - cache writes: 5-minute at the listed write price (else 1.25x input), 1-hour at the
//!   listed 1h price (else 2x input);
//! - output (reasoning included) at the output price, unless a separate reasoning price exists;
//! - long-context tiers: when the prompt (all input tokens, cached or not) exceeds a tier's
//!   threshold, the whole request is billed at that tier's prices;
//! - service tiers (batches, flex, priority) use their own prices where the data has them.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalog::{Model, ModelPrices};
use crate::usage::Usage;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub input: Decimal,
    pub cache_read: Decimal,
    pub cache_write: Decimal,
    pub output: Decimal,
    pub total: Decimal,
    /// Long-context threshold that applied, if any.
    pub long_context_threshold: Option<u64>,
    /// Prices that were missing from the catalog and were derived (e.g. "cache_write_5m=1.25x input").
    pub assumptions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PricingError {
    #[error("model {0:?} has no input/output price in the catalog")]
    Unpriced(String),
}

fn dec(n: u64) -> Decimal {
    Decimal::from(n)
}

/// Price of `usage` for `model`, optionally in a service tier ("batches", "flex", "priority").
pub fn cost_of(model: &Model, usage: &Usage, service_tier: Option<&str>) -> Result<Cost, PricingError> {
    let base: &ModelPrices = service_tier
        .and_then(|t| model.service_tiers.get(t))
        .unwrap_or(&model.prices);
    let (Some(mut input), Some(mut output)) = (base.input.or(model.prices.input), base.output.or(model.prices.output))
    else {
        return Err(PricingError::Unpriced(model.id.clone()));
    };
    let mut cache_read = base.cache_read.or(model.prices.cache_read);
    let mut w5 = base.cache_write_5m.or(model.prices.cache_write_5m);
    let mut w1 = base.cache_write_1h.or(model.prices.cache_write_1h);
    let mut reasoning = base.reasoning;
    let mut long_context_threshold = None;

    let prompt = usage.prompt_tokens();
    // The highest tier whose threshold the prompt exceeds.
    if let Some(tier) = base
        .long_context
        .iter()
        .filter(|t| prompt > t.threshold)
        .max_by_key(|t| t.threshold)
    {
        long_context_threshold = Some(tier.threshold);
        let in_ratio = tier.input.map(|i| i / input);
        input = tier.input.unwrap_or(input);
        output = tier.output.unwrap_or(output);
        cache_read = tier.cache_read.or(cache_read.zip(in_ratio).map(|(c, r)| c * r));
        w5 = tier.cache_write_5m.or(w5.zip(in_ratio).map(|(c, r)| c * r));
        w1 = tier.cache_write_1h.or(w1.zip(in_ratio).map(|(c, r)| c * r));
        reasoning = None;
    }

    let mut assumptions = Vec::new();
    let cache_read = cache_read.unwrap_or_else(|| {
        if usage.cache_read > 0 {
            assumptions.push("cache_read priced at input (no cache-read price listed)".into());
        }
        input
    });
    let w5 = w5.unwrap_or_else(|| {
        if usage.cache_write_5m > 0 {
            assumptions.push("cache_write_5m = 1.25x input".into());
        }
        input * Decimal::new(125, 2)
    });
    let w1 = w1.unwrap_or_else(|| {
        if usage.cache_write_1h > 0 {
            assumptions.push("cache_write_1h = 2x input".into());
        }
        input * Decimal::from(2)
    });

    let c_input = dec(usage.input) * input;
    let c_read = dec(usage.cache_read) * cache_read;
    let c_write = dec(usage.cache_write_5m) * w5 + dec(usage.cache_write_1h) * w1;
    let c_output = match reasoning {
        Some(r) => dec(usage.output - usage.reasoning.min(usage.output)) * output + dec(usage.reasoning) * r,
        None => dec(usage.output) * output,
    };
    let total = c_input + c_read + c_write + c_output;
    Ok(Cost {
        input: c_input.normalize(),
        cache_read: c_read.normalize(),
        cache_write: c_write.normalize(),
        output: c_output.normalize(),
        total: total.normalize(),
        long_context_threshold,
        assumptions,
    })
}

/// Cost of sending `prompt_tokens` of input once (no cache), and with a cache hit.
pub fn prompt_send_cost(model: &Model, prompt_tokens: u64) -> Option<(Decimal, Decimal)> {
    let plain = cost_of(
        model,
        &Usage {
            input: prompt_tokens,
            ..Default::default()
        },
        None,
    )
    .ok()?;
    let cached = cost_of(
        model,
        &Usage {
            cache_read: prompt_tokens,
            ..Default::default()
        },
        None,
    )
    .ok()?;
    Some((plain.total, cached.total))
}

/// "$0.0123" style formatting with enough significant digits for small per-send costs.
pub fn format_usd(d: Decimal) -> String {
    let abs = d.abs();
    let dp = if abs >= Decimal::ONE {
        2
    } else if abs >= Decimal::new(1, 2) {
        4
    } else if abs >= Decimal::new(1, 4) {
        5
    } else {
        6
    };
    format!("${}", d.round_dp(dp))
}
