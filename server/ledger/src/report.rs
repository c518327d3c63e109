//! `promptmeter report`: records grouped by day, week, month, provider, model, session or
//! project, with token sums and exact decimal costs.

use std::collections::BTreeMap;

use promptmeter_core::budget::window::{Calendar, WindowKind};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::record::{RequestRecord, UsageRecord};
use crate::window::from_ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Week,
    Month,
    Provider,
    Model,
    Session,
    Project,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "day" => GroupBy::Day,
            "week" => GroupBy::Week,
            "month" => GroupBy::Month,
            "provider" => GroupBy::Provider,
            "model" => GroupBy::Model,
            "session" => GroupBy::Session,
            "project" => GroupBy::Project,
            _ => return None,
        })
    }

    fn key(self, r: &RequestRecord, calendar: &Calendar) -> String {
        let at = from_ms(r.ts_ms);
        let date = at.to_offset(calendar.offset).date();
        let none = || "(none)".to_string();
        match self {
            GroupBy::Day => format!("{:04}-{:02}-{:02}", date.year(), date.month() as u8, date.day()),
            GroupBy::Week => {
                let first = calendar
                    .window(WindowKind::Week, at)
                    .start
                    .to_offset(calendar.offset)
                    .date();
                format!(
                    "week of {:04}-{:02}-{:02}",
                    first.year(),
                    first.month() as u8,
                    first.day()
                )
            }
            GroupBy::Month => format!("{:04}-{:02}", date.year(), date.month() as u8),
            GroupBy::Provider => r.provider.clone(),
            GroupBy::Model => r
                .model_served
                .clone()
                .or_else(|| r.model_requested.clone())
                .unwrap_or_else(none),
            GroupBy::Session => r.session.clone().unwrap_or_else(none),
            GroupBy::Project => r.project.clone().unwrap_or_else(none),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub key: String,
    pub requests: u64,
    pub usage: UsageRecord,
    /// Sum over priced requests.
    pub cost_usd: Decimal,
    /// Requests whose model had no price (not in `cost_usd`).
    pub unpriced_requests: u64,
    pub incomplete_requests: u64,
    /// What rerouted requests would have cost on the model asked for, minus what they cost.
    pub savings_usd: Decimal,
    /// Requests served by flat-rate upstreams (they cost nothing: not in `cost_usd`) ...
    pub flat_rate_requests: u64,
    /// ... and what they would have cost at API prices.
    pub flat_rate_api_usd: Decimal,
}

impl Row {
    fn add(&mut self, r: &RequestRecord) {
        self.requests += 1;
        let u = &mut self.usage;
        u.input += r.usage.input;
        u.cache_read += r.usage.cache_read;
        u.cache_write5m += r.usage.cache_write5m;
        u.cache_write1h += r.usage.cache_write1h;
        u.output += r.usage.output;
        u.reasoning += r.usage.reasoning;
        if r.flat_rate {
            self.flat_rate_requests += 1;
            self.flat_rate_api_usd += r.cost_usd.unwrap_or_default();
        } else if let (Some(c), true) = (r.cost_usd, r.cost_known) {
            self.cost_usd += c;
        } else {
            self.unpriced_requests += 1;
        }
        if r.incomplete {
            self.incomplete_requests += 1;
        }
        if let (Some(cf), Some(c)) = (r.reroute.as_ref().and_then(|x| x.counterfactual_cost_usd), r.spend()) {
            self.savings_usd += cf - c;
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub group_by: String,
    pub since: Option<String>,
    pub until: Option<String>,
    pub rows: Vec<Row>,
    pub total: Row,
}

pub fn aggregate(records: &[RequestRecord], by: GroupBy, calendar: &Calendar) -> (Vec<Row>, Row) {
    let mut groups: BTreeMap<String, Row> = BTreeMap::new();
    let mut total = Row {
        key: "total".into(),
        ..Default::default()
    };
    for r in records {
        let key = by.key(r, calendar);
        groups
            .entry(key.clone())
            .or_insert_with(|| Row {
                key,
                ..Default::default()
            })
            .add(r);
        total.add(r);
    }
    let mut rows: Vec<Row> = groups.into_values().collect();
    if !matches!(by, GroupBy::Day | GroupBy::Week | GroupBy::Month) {
        rows.sort_by(|a, b| b.cost_usd.cmp(&a.cost_usd).then(a.key.cmp(&b.key)));
    }
    for r in rows.iter_mut().chain(std::iter::once(&mut total)) {
        r.cost_usd = r.cost_usd.normalize();
        r.savings_usd = r.savings_usd.normalize();
        r.flat_rate_api_usd = r.flat_rate_api_usd.normalize();
    }
    (rows, total)
}

/// A plain-text table.
pub fn table(report: &Report) -> String {
    let header = [
        report.group_by.as_str(),
        "requests",
        "input",
        "cache read",
        "cache write",
        "output",
        "cost (USD)",
    ];
    let fmt_row = |r: &Row| -> [String; 7] {
        let mut cost = r.cost_usd.round_dp(4).to_string();
        if r.unpriced_requests > 0 {
            cost.push_str(&format!(" (+{} unpriced)", r.unpriced_requests));
        }
        if r.flat_rate_requests > 0 {
            cost.push_str(&format!(
                " (+{} flat-rate, {} at API prices)",
                r.flat_rate_requests,
                r.flat_rate_api_usd.round_dp(4)
            ));
        }
        [
            r.key.clone(),
            r.requests.to_string(),
            r.usage.input.to_string(),
            r.usage.cache_read.to_string(),
            (r.usage.cache_write5m + r.usage.cache_write1h).to_string(),
            r.usage.output.to_string(),
            cost,
        ]
    };
    let mut lines: Vec<[String; 7]> = vec![header.map(str::to_string)];
    lines.extend(report.rows.iter().map(fmt_row));
    lines.push(fmt_row(&report.total));
    let mut widths = [0usize; 7];
    for l in &lines {
        for (i, c) in l.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let n = lines.len();
    for (li, l) in lines.iter().enumerate() {
        if li == n - 1 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * 6));
            out.push('\n');
        }
        for (i, c) in l.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if i == 0 {
                out.push_str(c);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(c);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::parse_time;

    fn rec(ts: &str, model: &str, cost: Option<&str>, input: u64) -> RequestRecord {
        RequestRecord {
            ts_ms: parse_time(ts, time::UtcOffset::UTC).unwrap(),
            provider: "anthropic".into(),
            model_served: Some(model.into()),
            cost_usd: cost.map(|c| c.parse().unwrap()),
            cost_known: cost.is_some(),
            usage: UsageRecord {
                input,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn groups_and_sums_exactly() {
        let recs = vec![
            rec("2026-12-01T10:00:00Z", "a", Some("0.1"), 10),
            rec("2026-12-01T11:00:00Z", "b", Some("0.2"), 20),
            rec("2026-12-02T11:00:00Z", "a", None, 5),
        ];
        let (rows, total) = aggregate(&recs, GroupBy::Day, &Calendar::default());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].key, "2026-12-01");
        assert_eq!(rows[0].cost_usd.to_string(), "0.3");
        assert_eq!(rows[1].unpriced_requests, 1);
        assert_eq!(total.requests, 3);
        assert_eq!(total.usage.input, 35);
        let (by_model, _) = aggregate(&recs, GroupBy::Model, &Calendar::default());
        assert_eq!(by_model[0].key, "b");
        let report = Report {
            group_by: "day".into(),
            rows,
            total,
            ..Default::default()
        };
        let t = table(&report);
        assert!(t.contains("2026-12-01"));
        assert!(t.contains("(+1 unpriced)"));
        let (weeks, _) = aggregate(&recs, GroupBy::Week, &Calendar::default());
        assert_eq!(weeks[0].key, "week of 2026-11-30");
        let sunday = Calendar {
            week_starts: time::Weekday::Sunday,
            ..Calendar::default()
        };
        let (weeks, _) = aggregate(&recs, GroupBy::Week, &sunday);
        assert_eq!(weeks[0].key, "week of 2026-11-29");
    }

    #[test]
    fn flat_rate_requests_cost_nothing_and_show_their_api_price() {
        let mut local = rec("2026-12-01T12:00:00Z", "qwen3-coder", Some("0.5"), 100);
        local.flat_rate = true;
        local.reroute = Some(crate::record::Reroute {
            from: "a".into(),
            rule: "task:cron".into(),
            counterfactual_cost_usd: Some("0.7".parse().unwrap()),
        });
        let mut unpriced_local = rec("2026-12-01T13:00:00Z", "mystery", None, 1);
        unpriced_local.flat_rate = true;
        let recs = vec![rec("2026-12-01T10:00:00Z", "a", Some("0.1"), 10), local, unpriced_local];
        let (_, total) = aggregate(&recs, GroupBy::Day, &Calendar::default());
        assert_eq!(total.cost_usd.to_string(), "0.1");
        assert_eq!(total.unpriced_requests, 0, "a flat-rate request is never unpriced");
        assert_eq!(total.flat_rate_requests, 2);
        assert_eq!(total.flat_rate_api_usd.to_string(), "0.5");
        assert_eq!(
            total.savings_usd.to_string(),
            "0.7",
            "the reroute saved all it would have cost"
        );
    }
}
