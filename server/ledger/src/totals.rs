//! Running totals, as sent on the feed (`totals` event) and in the summary. Built from the
//! ledger at startup (so a restart resumes the same totals) and advanced record by record.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::record::RequestRecord;
use crate::window::Windows;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionTotals {
    pub id: String,
    pub usd: Decimal,
    pub requests: u64,
}

/// Spend in the current windows. `byProvider`, `byModel`, `requests` and `unpricedRequests`
/// cover today.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Totals {
    pub today_usd: Decimal,
    pub week_usd: Decimal,
    pub month_usd: Decimal,
    /// The session of the latest request.
    pub session: Option<SessionTotals>,
    pub by_provider: BTreeMap<String, Decimal>,
    pub by_model: BTreeMap<String, Decimal>,
    pub requests: u64,
    /// Requests today whose model had no price in the catalog (their cost is not in the sums).
    pub unpriced_requests: u64,
    #[serde(skip)]
    pub windows: Option<Windows>,
}

impl Totals {
    pub fn new(windows: Windows) -> Totals {
        Totals {
            windows: Some(windows),
            ..Default::default()
        }
    }

    /// Add one record (records outside the windows only count for nothing).
    pub fn add(&mut self, r: &RequestRecord) {
        let Some(w) = self.windows else { return };
        let cost = r.spend().unwrap_or_default();
        if r.ts_ms >= w.month_start_ms {
            self.month_usd = (self.month_usd + cost).normalize();
        }
        if r.ts_ms >= w.week_start_ms {
            self.week_usd = (self.week_usd + cost).normalize();
        }
        if r.ts_ms >= w.day_start_ms {
            self.today_usd = (self.today_usd + cost).normalize();
            self.requests += 1;
            if !r.cost_known && !r.flat_rate {
                self.unpriced_requests += 1;
            }
            *self.by_provider.entry(r.provider.clone()).or_default() += cost;
            let model = r.model_served.clone().or_else(|| r.model_requested.clone());
            *self
                .by_model
                .entry(model.unwrap_or_else(|| "unknown".into()))
                .or_default() += cost;
        }
    }

    pub fn from_records<'a>(windows: Windows, records: impl IntoIterator<Item = &'a RequestRecord>) -> Totals {
        let mut t = Totals::new(windows);
        for r in records {
            t.add(r);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::{Windows, parse_time};
    use time::UtcOffset;

    fn rec(ts: &str, provider: &str, model: &str, cost: Option<&str>) -> RequestRecord {
        RequestRecord {
            ts_ms: parse_time(ts, UtcOffset::UTC).unwrap(),
            provider: provider.into(),
            model_served: Some(model.into()),
            cost_usd: cost.map(|c| c.parse().unwrap()),
            cost_known: cost.is_some(),
            ..Default::default()
        }
    }

    #[test]
    fn sums_by_window_provider_and_model() {
        let now = parse_time("2026-12-03T16:00:00Z", UtcOffset::UTC).unwrap();
        let w = Windows::at(now, &promptmeter_core::budget::window::Calendar::default());
        let recs = [
            rec("2026-12-03T10:00:00Z", "anthropic", "claude-sonnet-4-5", Some("0.10")),
            rec("2026-12-03T11:00:00Z", "openai", "gpt-5", Some("0.02")),
            rec("2026-12-03T11:30:00Z", "openai", "mystery", None),
            rec("2026-12-01T11:00:00Z", "openai", "gpt-5", Some("1.00")),
            rec("2026-11-29T11:00:00Z", "openai", "gpt-5", Some("5.00")),
        ];
        let t = Totals::from_records(w, &recs);
        assert_eq!(t.today_usd.to_string(), "0.12");
        assert_eq!(t.week_usd.to_string(), "1.12");
        assert_eq!(t.month_usd.to_string(), "1.12");
        assert_eq!(t.requests, 3);
        assert_eq!(t.unpriced_requests, 1);
        assert_eq!(t.by_provider["openai"].to_string(), "0.02");
        assert_eq!(t.by_model["claude-sonnet-4-5"].to_string(), "0.10");
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["todayUsd"], "0.12");
        assert_eq!(json["byProvider"]["anthropic"], "0.10");
    }

    #[test]
    fn flat_rate_requests_add_nothing_to_spend() {
        let now = parse_time("2026-12-03T16:00:00Z", UtcOffset::UTC).unwrap();
        let w = Windows::at(now, &promptmeter_core::budget::window::Calendar::default());
        let mut local = rec("2026-12-03T10:00:00Z", "local", "qwen3-coder", Some("0.40"));
        local.flat_rate = true;
        let mut unpriced = rec("2026-12-03T10:30:00Z", "local", "mystery", None);
        unpriced.flat_rate = true;
        let recs = [
            rec("2026-12-03T11:00:00Z", "openai", "gpt-5", Some("0.02")),
            local,
            unpriced,
        ];
        let t = Totals::from_records(w, &recs);
        assert_eq!(t.today_usd.to_string(), "0.02");
        assert_eq!(t.week_usd.to_string(), "0.02");
        assert_eq!(t.requests, 3);
        assert_eq!(t.unpriced_requests, 0);
        assert_eq!(t.by_provider["local"].to_string(), "0");
    }
}
