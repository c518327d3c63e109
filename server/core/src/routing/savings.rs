//! What routing saved: for every rerouted request, the cost at the model asked for (the
//! counterfactual) minus the cost actually paid, per rule and per day. The rows come from the
//! ledger; the sums are exact decimals, so the report's total equals the ledger's sum.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::budget::message::usd;

/// One rerouted request.
#[derive(Debug, Clone, PartialEq)]
pub struct SavingsRow {
    /// Local date, `YYYY-MM-DD`.
    pub day: String,
    pub rule: String,
    /// What was paid (0 on a flat-rate upstream).
    pub actual: Decimal,
    /// What the model asked for would have cost.
    pub counterfactual: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavingsLine {
    pub day: String,
    pub rule: String,
    pub requests: u64,
    pub actual_usd: Decimal,
    pub counterfactual_usd: Decimal,
    pub saved_usd: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Savings {
    /// Per day and rule, by day then rule.
    pub by_day: Vec<SavingsLine>,
    /// Per rule over the whole period (`day` empty).
    pub by_rule: Vec<SavingsLine>,
    pub total: SavingsLine,
}

fn add(line: &mut SavingsLine, r: &SavingsRow) {
    line.requests += 1;
    line.actual_usd += r.actual;
    line.counterfactual_usd += r.counterfactual;
    line.saved_usd += r.counterfactual - r.actual;
}

pub fn summarize(rows: impl IntoIterator<Item = SavingsRow>) -> Savings {
    let mut by_day: BTreeMap<(String, String), SavingsLine> = BTreeMap::new();
    let mut by_rule: BTreeMap<String, SavingsLine> = BTreeMap::new();
    let mut total = SavingsLine {
        rule: "all".into(),
        ..Default::default()
    };
    for r in rows {
        add(
            by_day
                .entry((r.day.clone(), r.rule.clone()))
                .or_insert_with(|| SavingsLine {
                    day: r.day.clone(),
                    rule: r.rule.clone(),
                    ..Default::default()
                }),
            &r,
        );
        add(
            by_rule.entry(r.rule.clone()).or_insert_with(|| SavingsLine {
                rule: r.rule.clone(),
                ..Default::default()
            }),
            &r,
        );
        add(&mut total, &r);
    }
    Savings {
        by_day: by_day.into_values().collect(),
        by_rule: by_rule.into_values().collect(),
        total,
    }
}

/// The table `promptmeter report --savings` prints.
pub fn render(s: &Savings) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "day".into(),
        "rule".into(),
        "requests".into(),
        "asked-for cost".into(),
        "paid".into(),
        "saved".into(),
    ]];
    let line = |l: &SavingsLine, day: &str| {
        [
            day.to_string(),
            l.rule.clone(),
            l.requests.to_string(),
            usd(l.counterfactual_usd),
            usd(l.actual_usd),
            usd(l.saved_usd),
        ]
    };
    for l in &s.by_day {
        rows.push(line(l, &l.day));
    }
    for l in &s.by_rule {
        rows.push(line(l, "all days"));
    }
    rows.push(line(&s.total, "total"));
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    if s.total.requests == 0 {
        out.push_str("No rerouted requests in this period: routing saved nothing yet.\n");
        return out;
    }
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i >= 2 {
                    format!("{c:>w$}", w = widths[i])
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn row(day: &str, rule: &str, actual: Decimal, cf: Decimal) -> SavingsRow {
        SavingsRow {
            day: day.into(),
            rule: rule.into(),
            actual,
            counterfactual: cf,
        }
    }

    #[test]
    fn sums_per_day_rule_and_total() {
        let s = summarize([
            row("2026-12-02", "pressure>85% weekly", dec!(0.3), dec!(0.5)),
            row("2026-12-02", "task:heartbeat", dec!(0.001), dec!(0.06)),
            row("2026-12-03", "pressure>85% weekly", dec!(0.1), dec!(0.2)),
            row("2026-12-02", "pressure>85% weekly", dec!(0.2), dec!(0.3)),
        ]);
        assert_eq!(s.by_day.len(), 3);
        assert_eq!(s.by_day[0].rule, "pressure>85% weekly");
        assert_eq!(s.by_day[0].requests, 2);
        assert_eq!(s.by_day[0].saved_usd, dec!(0.3));
        assert_eq!(s.by_rule[1].saved_usd, dec!(0.059));
        assert_eq!(s.total.saved_usd, dec!(0.459));
        assert_eq!(s.total.requests, 4);
        let t = render(&s);
        assert!(t.contains("total"), "{t}");
        assert!(t.lines().last().unwrap().ends_with("$0.4590"), "{t}");
        assert!(render(&summarize([])).contains("saved nothing"));
    }
}
