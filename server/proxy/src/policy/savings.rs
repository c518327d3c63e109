//! `promptmeter report --savings`: what routing saved, from the ledger. Every rerouted
//! request carries the model asked for and its counterfactual cost (the same usage priced at
//! that model); the saving is the counterfactual minus what was paid (nothing on a flat-rate
//! upstream). Sums per rule and per local day are exact decimals
//! (`promptmeter_core::routing::savings`).

use std::collections::BTreeMap;

use promptmeter_core::config::proxy::NamedUpstream;
use promptmeter_core::routing::savings::{Savings, SavingsRow, summarize};
use promptmeter_ledger::RequestRecord;
use time::{OffsetDateTime, UtcOffset};

use super::budgets::charged;

/// The savings row of a record, if routing changed it and its counterfactual is known.
pub fn row(r: &RequestRecord, named: &BTreeMap<String, NamedUpstream>, offset: UtcOffset) -> Option<SavingsRow> {
    let reroute = r.reroute.as_ref()?;
    let counterfactual = reroute.counterfactual_cost_usd?;
    let day = OffsetDateTime::from_unix_timestamp_nanos(r.ts_ms as i128 * 1_000_000)
        .ok()?
        .to_offset(offset)
        .date();
    Some(SavingsRow {
        day: format!("{:04}-{:02}-{:02}", day.year(), day.month() as u8, day.day()),
        rule: reroute.rule.clone(),
        actual: charged(r, named),
        counterfactual,
    })
}

pub fn savings(records: &[RequestRecord], named: &BTreeMap<String, NamedUpstream>, offset: UtcOffset) -> Savings {
    summarize(records.iter().filter_map(|r| row(r, named, offset)))
}

/// The text `promptmeter report --savings` prints: a table, or JSON (`Savings`).
pub fn report(
    records: &[RequestRecord],
    named: &BTreeMap<String, NamedUpstream>,
    offset: UtcOffset,
    json: bool,
) -> String {
    let s = savings(records, named, offset);
    if json {
        serde_json::to_string_pretty(&s).unwrap_or_else(|_| "null".into()) + "\n"
    } else {
        promptmeter_core::routing::savings::render(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptmeter_ledger::Reroute;
    use rust_decimal::Decimal;

    fn rec(ts_ms: i64, provider: &str, cost: &str, reroute: Option<(&str, &str)>) -> RequestRecord {
        RequestRecord {
            ts_ms,
            provider: provider.into(),
            cost_usd: Some(cost.parse().unwrap()),
            cost_known: true,
            reroute: reroute.map(|(rule, cf)| Reroute {
                from: "claude-opus-4-8".into(),
                rule: rule.into(),
                counterfactual_cost_usd: Some(cf.parse().unwrap()),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn per_rule_and_day_with_flat_rate_paying_nothing() {
        let named = BTreeMap::from([(
            "local".to_string(),
            NamedUpstream {
                url: "http://127.0.0.1:1".into(),
                flat_rate: true,
                ..Default::default()
            },
        )]);
        // 2026-12-02 23:30 UTC is already the 3rd in UTC+1.
        let late = 1_796_254_200_000;
        let records = [
            rec(late, "anthropic", "0.3", Some(("pressure>85% weekly", "0.5"))),
            rec(late, "anthropic", "1.0", None),
            rec(late, "local", "0.02", Some(("task:cron", "0.06"))),
        ];
        let s = savings(&records, &named, UtcOffset::from_hms(1, 0, 0).unwrap());
        assert_eq!(s.total.requests, 2);
        assert_eq!(s.total.saved_usd, "0.26".parse::<Decimal>().unwrap());
        assert_eq!(s.by_day[0].day, "2026-12-03");
        let cron = s.by_rule.iter().find(|l| l.rule == "task:cron").unwrap();
        assert_eq!(cron.actual_usd, Decimal::ZERO);
        assert_eq!(cron.saved_usd, "0.06".parse::<Decimal>().unwrap());
    }
}
