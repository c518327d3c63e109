//! The budget book: the live state of every budget. Spend in the current window, the cost
//! reserved by requests in flight, and which alert thresholds have fired in this window.
//!
//! - A request reserves its estimated cost when it starts ([`BudgetBook::reserve`]) and
//!   settles the actual cost when it ends ([`BudgetBook::settle`]). The hard-limit check and
//!   the reservation are one step on one `&mut self`: behind one lock, concurrent requests
//!   cannot both see room that only one of them may take. A hard-limit budget admits a
//!   request while `spent + reserved < limit`, so the spend can pass the limit by at most
//!   what was already in flight when it was reached (plus any request whose actual cost
//!   exceeds its estimate).
//! - Each threshold raises one alert per window: when a settlement moves the pressure past one
//!   or more thresholds, one alert names the highest of them, and all of them are done for
//!   this window. A new window starts with none done.
//! - After a restart, [`BudgetBook::restore`] puts back each window's spend from the ledger
//!   and marks the thresholds it already passed as done, so no alert repeats.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::forecast::forecast;
use super::message;
use super::pressure::{Level, as_f64, level_of, pressure_of};
use super::window::Window;
use super::{Budget, Budgets, Scope};

/// Who a cost is charged to: the request's provider and project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge<'a> {
    pub provider: &'a str,
    pub project: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReservationId(u64);

/// An alert, as sent on the feed (`alert` event, docs/protocol.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub budget: String,
    pub scope: String,
    pub window: String,
    pub threshold: f64,
    pub pressure: f64,
    pub level: Level,
    pub spent_usd: Decimal,
    pub limit_usd: Decimal,
    pub forecast_exhausted_at: Option<String>,
    pub resets_at: String,
    pub hard_limit: bool,
    pub message: String,
}

/// A budget's state, as in the summary's `budgets` (docs/protocol.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetStatus {
    pub name: String,
    pub window: String,
    pub scope: String,
    pub limit_usd: Decimal,
    pub spent_usd: Decimal,
    pub reserved_usd: Decimal,
    pub pressure: f64,
    pub level: Level,
    pub forecast_exhausted_at: Option<String>,
    pub window_start: String,
    pub resets_at: String,
    pub hard_limit: bool,
}

/// A hard limit refused a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub budget: String,
    pub scope: Scope,
    pub spent: Decimal,
    pub reserved: Decimal,
    pub limit: Decimal,
    pub resets_at: OffsetDateTime,
    /// Which budget, and how to raise it.
    pub message: String,
}

#[derive(Debug, Clone)]
struct State {
    window: Window,
    spent: Decimal,
    reserved: Decimal,
    /// How many of the budget's thresholds are done in this window.
    alerted: usize,
}

#[derive(Debug, Clone)]
struct Open {
    amount: Decimal,
    budgets: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct BudgetBook {
    budgets: Budgets,
    states: Vec<State>,
    open: HashMap<u64, Open>,
    next_id: u64,
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

impl BudgetBook {
    pub fn new(budgets: Budgets, now: OffsetDateTime) -> Self {
        let states = budgets
            .list
            .iter()
            .map(|b| State {
                window: budgets.calendar.window(b.window, now),
                spent: Decimal::ZERO,
                reserved: Decimal::ZERO,
                alerted: 0,
            })
            .collect();
        BudgetBook {
            budgets,
            states,
            open: HashMap::new(),
            next_id: 1,
        }
    }

    pub fn budgets(&self) -> &Budgets {
        &self.budgets
    }

    /// Start new windows for budgets whose window has ended. (A clock that steps back keeps
    /// the current window.)
    fn roll(&mut self, now: OffsetDateTime) {
        for (b, s) in self.budgets.list.iter().zip(&mut self.states) {
            if now >= s.window.end {
                s.window = self.budgets.calendar.window(b.window, now);
                s.spent = Decimal::ZERO;
                s.alerted = 0;
            }
        }
    }

    /// Each budget with the window containing `now`: what the caller sums from the ledger for
    /// [`BudgetBook::restore`].
    pub fn windows(&mut self, now: OffsetDateTime) -> Vec<(Budget, Window)> {
        self.roll(now);
        self.budgets
            .list
            .iter()
            .cloned()
            .zip(self.states.iter().map(|s| s.window))
            .collect()
    }

    /// Put back the spend already recorded in the current window of budget `name` (from the
    /// ledger, at startup). Thresholds it passed are done: they do not alert again. Returns
    /// false for an unknown name.
    pub fn restore(&mut self, name: &str, spent: Decimal, now: OffsetDateTime) -> bool {
        self.roll(now);
        let Some(i) = self.budgets.list.iter().position(|b| b.name == name) else {
            return false;
        };
        let b = &self.budgets.list[i];
        let s = &mut self.states[i];
        s.spent = spent.max(Decimal::ZERO);
        let p = pressure_of(s.spent, b.limit);
        s.alerted = b.thresholds.iter().take_while(|t| **t <= p).count();
        true
    }

    fn matching(&self, charge: &Charge<'_>) -> Vec<usize> {
        (0..self.budgets.list.len())
            .filter(|&i| self.budgets.list[i].scope.applies(charge))
            .collect()
    }

    /// Check the hard limits that apply to `charge` and reserve `estimate` against every
    /// budget that applies, in one step. Refused when a hard-limit budget has
    /// `spent + reserved >= limit`.
    pub fn reserve(
        &mut self,
        charge: &Charge<'_>,
        estimate: Decimal,
        now: OffsetDateTime,
    ) -> Result<ReservationId, Box<Refusal>> {
        self.roll(now);
        let estimate = estimate.max(Decimal::ZERO);
        let budgets = self.matching(charge);
        // Refuse on the applicable hard-limit budget under the most pressure.
        let mut worst: Option<(usize, Decimal)> = None;
        for &i in &budgets {
            let b = &self.budgets.list[i];
            let s = &self.states[i];
            let committed = s.spent.saturating_add(s.reserved);
            if b.hard_limit && committed >= b.limit {
                let p = pressure_of(committed, b.limit);
                if worst.is_none_or(|(_, wp)| p > wp) {
                    worst = Some((i, p));
                }
            }
        }
        if let Some((i, _)) = worst {
            let b = &self.budgets.list[i];
            let s = &self.states[i];
            return Err(Box::new(Refusal {
                budget: b.name.clone(),
                scope: b.scope.clone(),
                spent: s.spent,
                reserved: s.reserved,
                limit: b.limit,
                resets_at: s.window.end,
                message: message::refusal(b, s.spent, s.reserved, s.window.end, now, self.budgets.calendar.offset),
            }));
        }
        for &i in &budgets {
            let s = &mut self.states[i];
            s.reserved = s.reserved.saturating_add(estimate);
        }
        let id = self.next_id;
        self.next_id += 1;
        self.open.insert(
            id,
            Open {
                amount: estimate,
                budgets,
            },
        );
        Ok(ReservationId(id))
    }

    /// The request ended with `actual` cost: release its reservation and record the spend.
    /// An unknown (already settled) id records nothing.
    pub fn settle(&mut self, id: ReservationId, actual: Decimal, now: OffsetDateTime) -> Vec<Alert> {
        let Some(open) = self.open.remove(&id.0) else {
            return Vec::new();
        };
        self.roll(now);
        for &i in &open.budgets {
            let s = &mut self.states[i];
            s.reserved = (s.reserved - open.amount).max(Decimal::ZERO);
        }
        self.add_spend(&open.budgets, actual, now)
    }

    /// The request ended without a cost (refused upstream, never sent): release it.
    pub fn release(&mut self, id: ReservationId) {
        if let Some(open) = self.open.remove(&id.0) {
            for &i in &open.budgets {
                let s = &mut self.states[i];
                s.reserved = (s.reserved - open.amount).max(Decimal::ZERO);
            }
        }
    }

    /// Record spend that had no reservation.
    pub fn record(&mut self, charge: &Charge<'_>, actual: Decimal, now: OffsetDateTime) -> Vec<Alert> {
        self.roll(now);
        let budgets = self.matching(charge);
        self.add_spend(&budgets, actual, now)
    }

    fn add_spend(&mut self, budgets: &[usize], actual: Decimal, now: OffsetDateTime) -> Vec<Alert> {
        let mut alerts = Vec::new();
        if actual <= Decimal::ZERO {
            return alerts;
        }
        let offset = self.budgets.calendar.offset;
        for &i in budgets {
            let b = &self.budgets.list[i];
            let s = &mut self.states[i];
            s.spent = s.spent.saturating_add(actual);
            let p = pressure_of(s.spent, b.limit);
            let reached = b.thresholds.iter().take_while(|t| **t <= p).count();
            if reached > s.alerted {
                s.alerted = reached;
                let threshold = b.thresholds[reached - 1];
                let f = forecast(&s.window, s.spent, b.limit, now);
                alerts.push(Alert {
                    budget: b.name.clone(),
                    scope: b.scope.label(),
                    window: b.window.as_str().into(),
                    threshold: as_f64(threshold),
                    pressure: as_f64(p),
                    level: level_of(p),
                    spent_usd: s.spent.normalize(),
                    limit_usd: b.limit.normalize(),
                    forecast_exhausted_at: f.at().map(rfc3339),
                    resets_at: rfc3339(s.window.end),
                    hard_limit: b.hard_limit,
                    message: message::alert(b, s.spent, p, f, s.window.end, now, offset),
                });
            }
        }
        alerts
    }

    /// Every budget's state now.
    pub fn status(&mut self, now: OffsetDateTime) -> Vec<BudgetStatus> {
        self.roll(now);
        self.budgets
            .list
            .iter()
            .zip(&self.states)
            .map(|(b, s)| {
                let p = pressure_of(s.spent, b.limit);
                BudgetStatus {
                    name: b.name.clone(),
                    window: b.window.as_str().into(),
                    scope: b.scope.label(),
                    limit_usd: b.limit.normalize(),
                    spent_usd: s.spent.normalize(),
                    reserved_usd: s.reserved.normalize(),
                    pressure: as_f64(p),
                    level: level_of(p),
                    forecast_exhausted_at: forecast(&s.window, s.spent, b.limit, now).at().map(rfc3339),
                    window_start: rfc3339(s.window.start),
                    resets_at: rfc3339(s.window.end),
                    hard_limit: b.hard_limit,
                }
            })
            .collect()
    }

    /// The budget under the most pressure among those that apply to `charge` (only `only`,
    /// when given), with its exact pressure from settled spend.
    pub fn pressure(
        &mut self,
        charge: &Charge<'_>,
        only: Option<&str>,
        now: OffsetDateTime,
    ) -> Option<(String, Decimal)> {
        self.roll(now);
        self.matching(charge)
            .into_iter()
            .filter(|&i| only.is_none_or(|n| self.budgets.list[i].name == n))
            .map(|i| {
                let b = &self.budgets.list[i];
                (b.name.clone(), pressure_of(self.states[i].spent, b.limit))
            })
            .max_by(|a, b| a.1.cmp(&b.1))
    }

    /// Requests in flight and the cost they have reserved.
    pub fn in_flight(&self) -> (usize, Decimal) {
        (self.open.len(), self.open.values().map(|o| o.amount).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{Calendar, WindowKind};
    use proptest::prelude::*;
    use rust_decimal_macros::dec;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 12:00 UTC); // Wednesday

    fn budget(name: &str, window: WindowKind, scope: Scope, limit: Decimal, hard: bool) -> Budget {
        Budget {
            name: name.into(),
            window,
            scope,
            limit,
            hard_limit: hard,
            thresholds: vec![dec!(0.5), dec!(0.85), dec!(0.95), dec!(1)],
        }
    }

    fn book(list: Vec<Budget>) -> BudgetBook {
        BudgetBook::new(
            Budgets {
                calendar: Calendar::default(),
                list,
                estimate_output_tokens: 4096,
            },
            NOW,
        )
    }

    const ANY: Charge<'static> = Charge {
        provider: "anthropic",
        project: None,
    };

    fn thresholds(alerts: &[Alert]) -> Vec<(String, f64)> {
        alerts.iter().map(|a| (a.budget.clone(), a.threshold)).collect()
    }

    #[test]
    fn one_alert_per_crossing_per_window() {
        let mut b = book(vec![budget("weekly", WindowKind::Week, Scope::Global, dec!(50), false)]);
        assert!(b.record(&ANY, dec!(24.99), NOW).is_empty());
        let a = b.record(&ANY, dec!(0.01), NOW);
        assert_eq!(thresholds(&a), vec![("weekly".into(), 0.5)]);
        assert_eq!(
            a[0].message,
            "Weekly budget at 50% ($25.00 of $50.00); at this rate it runs out Saturday 00:00"
        );
        assert!(b.record(&ANY, dec!(1), NOW).is_empty(), "50% does not fire twice");
        // A jump over 85% and 95% fires once, for 95%.
        let a = b.record(&ANY, dec!(22), NOW);
        assert_eq!(thresholds(&a), vec![("weekly".into(), 0.95)]);
        assert!(b.record(&ANY, dec!(0.5), NOW).is_empty());
        let a = b.record(&ANY, dec!(10), NOW);
        assert_eq!(thresholds(&a), vec![("weekly".into(), 1.0)]);
        assert_eq!(a[0].level, Level::Error);
        assert!(b.record(&ANY, dec!(10), NOW).is_empty());
        // Next week starts clean.
        let next = datetime!(2026-12-07 0:00 UTC);
        assert!(b.record(&ANY, dec!(1), next).is_empty());
        assert_eq!(
            thresholds(&b.record(&ANY, dec!(24), next)),
            vec![("weekly".into(), 0.5)]
        );
        assert_eq!(b.status(next)[0].spent_usd, dec!(25));
    }

    #[test]
    fn restore_does_not_repeat_alerts() {
        let mut b = book(vec![budget("weekly", WindowKind::Week, Scope::Global, dec!(50), false)]);
        assert!(b.restore("weekly", dec!(43), NOW));
        assert!(!b.restore("nope", dec!(1), NOW));
        assert!(
            b.record(&ANY, dec!(1), NOW).is_empty(),
            "85% was passed before the restart"
        );
        assert_eq!(thresholds(&b.record(&ANY, dec!(4), NOW)), vec![("weekly".into(), 0.95)]);
        assert_eq!(b.status(NOW)[0].spent_usd, dec!(48));
    }

    #[test]
    fn scopes_charge_only_their_budgets() {
        let mut b = book(vec![
            budget("all", WindowKind::Day, Scope::Global, dec!(10), false),
            budget("oai", WindowKind::Day, Scope::Provider("openai".into()), dec!(2), false),
            budget("repo", WindowKind::Month, Scope::Project("repo".into()), dec!(4), false),
        ]);
        let oai = Charge {
            provider: "openai",
            project: Some("repo"),
        };
        let a = b.record(&oai, dec!(2), NOW);
        assert_eq!(
            thresholds(&a),
            vec![("oai".into(), 1.0), ("repo".into(), 0.5)],
            "global at 20% is below every threshold"
        );
        b.record(&ANY, dec!(3), NOW);
        let s = b.status(NOW);
        assert_eq!(
            s.iter().map(|s| s.spent_usd).collect::<Vec<_>>(),
            vec![dec!(5), dec!(2), dec!(2)]
        );
        assert_eq!(b.pressure(&oai, None, NOW), Some(("oai".into(), dec!(1))));
        assert_eq!(b.pressure(&ANY, None, NOW), Some(("all".into(), dec!(0.5))));
        assert_eq!(b.pressure(&oai, Some("all"), NOW), Some(("all".into(), dec!(0.5))));
        assert_eq!(b.pressure(&ANY, Some("oai"), NOW), None);
    }

    #[test]
    fn hard_limit_counts_requests_in_flight() {
        let mut b = book(vec![budget("daily", WindowKind::Day, Scope::Global, dec!(1), true)]);
        b.restore("daily", dec!(0.7), NOW);
        let r1 = b.reserve(&ANY, dec!(0.2), NOW).unwrap();
        let r2 = b.reserve(&ANY, dec!(0.2), NOW).unwrap(); // 0.9 committed < 1: admitted
        let refused = b.reserve(&ANY, dec!(0.2), NOW).unwrap_err(); // 1.1 committed
        assert_eq!(refused.budget, "daily");
        assert_eq!(refused.reserved, dec!(0.4));
        assert!(refused.message.contains("[budgets.daily]"), "{}", refused.message);
        assert_eq!(b.in_flight(), (2, dec!(0.4)));
        b.release(r1);
        let r3 = b.reserve(&ANY, dec!(0.2), NOW).unwrap();
        let a = b.settle(r2, dec!(0.15), NOW);
        assert_eq!(thresholds(&a), vec![("daily".into(), 0.85)]);
        assert!(b.settle(r2, dec!(5), NOW).is_empty(), "settling twice records nothing");
        let a = b.settle(r3, dec!(0.2), NOW);
        assert_eq!(thresholds(&a), vec![("daily".into(), 1.0)]);
        assert_eq!(b.status(NOW)[0].spent_usd, dec!(1.05));
        assert!(b.reserve(&ANY, dec!(0), NOW).is_err());
        // Tomorrow is a new day.
        assert!(b.reserve(&ANY, dec!(0.2), datetime!(2026-12-03 0:00 UTC)).is_ok());
    }

    #[test]
    fn soft_budgets_never_refuse() {
        let mut b = book(vec![budget("w", WindowKind::Week, Scope::Global, dec!(1), false)]);
        b.restore("w", dec!(5), NOW);
        assert!(b.reserve(&ANY, dec!(1), NOW).is_ok());
    }

    #[test]
    fn status_reports_forecast_and_reservations() {
        let mut b = book(vec![budget("weekly", WindowKind::Week, Scope::Global, dec!(50), true)]);
        b.restore("weekly", dec!(40), NOW); // 60 h in: $0.6667/h, $10 more in 15 h
        let _r = b.reserve(&ANY, dec!(0.5), NOW).unwrap();
        let s = &b.status(NOW)[0];
        assert_eq!(s.reserved_usd, dec!(0.5));
        assert_eq!(s.pressure, 0.8);
        assert_eq!(s.level, Level::Ok);
        assert_eq!(s.forecast_exhausted_at.as_deref(), Some("2026-12-03T03:00:00Z"));
        assert_eq!(s.resets_at, "2026-12-07T00:00:00Z");
        let json = serde_json::to_value(s).unwrap();
        assert_eq!(json["limitUsd"], "50");
        assert_eq!(json["level"], "ok");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Reserve(u32),
        Settle(usize, u32),
        Release(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1u32..=300).prop_map(Op::Reserve),
            (any::<usize>(), 0u32..=100).prop_map(|(i, pct)| Op::Settle(i, pct)),
            any::<usize>().prop_map(Op::Release),
        ]
    }

    proptest! {
        /// Whatever the interleaving of requests starting and ending, a hard-limit budget's
        /// spend plus reservations never exceeds its limit by more than the largest estimate,
        /// and nothing is admitted once spend plus reservations reach the limit.
        #[test]
        fn overshoot_is_bounded_by_what_was_in_flight(
            limit_cents in 1u32..=2_000,
            ops in proptest::collection::vec(op(), 1..200),
        ) {
            let limit = Decimal::new(limit_cents as i64, 2);
            let mut b = book(vec![budget("d", WindowKind::Day, Scope::Global, limit, true)]);
            let mut open: Vec<(ReservationId, Decimal)> = Vec::new();
            let mut max_est = Decimal::ZERO;
            for op in ops {
                match op {
                    Op::Reserve(c) => {
                        let est = Decimal::new(c as i64, 2);
                        let before = b.status(NOW)[0].clone();
                        let committed = before.spent_usd + before.reserved_usd;
                        match b.reserve(&ANY, est, NOW) {
                            Ok(id) => {
                                prop_assert!(committed < limit);
                                max_est = max_est.max(est);
                                open.push((id, est));
                            }
                            Err(r) => prop_assert!(committed >= limit && r.budget == "d"),
                        }
                    }
                    Op::Settle(i, pct) if !open.is_empty() => {
                        let (id, est) = open.swap_remove(i % open.len());
                        b.settle(id, est * Decimal::new(pct as i64, 2), NOW);
                    }
                    Op::Release(i) if !open.is_empty() => {
                        let (id, _) = open.swap_remove(i % open.len());
                        b.release(id);
                    }
                    _ => {}
                }
                let s = &b.status(NOW)[0];
                prop_assert!(s.spent_usd + s.reserved_usd <= limit + max_est);
                prop_assert_eq!(s.reserved_usd, open.iter().map(|(_, e)| *e).sum::<Decimal>());
            }
        }

        /// Each threshold alerts at most once per window, thresholds alert in rising order,
        /// an alert never names a threshold the pressure has not reached, and every threshold
        /// reached is covered by an alert at or above it.
        #[test]
        fn each_threshold_alerts_at_most_once(
            spends in proptest::collection::vec(0u32..=2_000, 1..100),
            restored in 0u32..=6_000,
        ) {
            let mut b = book(vec![budget("w", WindowKind::Week, Scope::Global, dec!(50), false)]);
            b.restore("w", Decimal::new(restored as i64, 2), NOW);
            let restored_p = pressure_of(Decimal::new(restored as i64, 2), dec!(50));
            let mut fired: Vec<f64> = Vec::new();
            for c in spends {
                for a in b.record(&ANY, Decimal::new(c as i64, 2), NOW) {
                    prop_assert!(a.threshold <= a.pressure);
                    prop_assert!(fired.last().is_none_or(|l| *l < a.threshold));
                    prop_assert!(Decimal::try_from(a.threshold).unwrap() > restored_p);
                    fired.push(a.threshold);
                }
            }
            let p = pressure_of(b.status(NOW)[0].spent_usd, dec!(50));
            for t in [dec!(0.5), dec!(0.85), dec!(0.95), dec!(1)] {
                if t <= p && t > restored_p {
                    prop_assert!(fired.iter().any(|f| Decimal::try_from(*f).unwrap() >= t));
                }
            }
        }
    }

    #[test]
    fn concurrent_threads_hold_the_hard_limit() {
        use std::sync::{Arc, Mutex};
        let limit = dec!(10);
        let b = Arc::new(Mutex::new(book(vec![budget(
            "d",
            WindowKind::Day,
            Scope::Global,
            limit,
            true,
        )])));
        let est = dec!(0.25);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let b = Arc::clone(&b);
                std::thread::spawn(move || {
                    let mut admitted = 0;
                    for _ in 0..100 {
                        let r = b.lock().unwrap().reserve(&ANY, est, NOW);
                        if let Ok(id) = r {
                            admitted += 1;
                            std::thread::yield_now();
                            b.lock().unwrap().settle(id, est, NOW);
                        }
                    }
                    admitted
                })
            })
            .collect();
        let admitted: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let mut b = b.lock().unwrap();
        let s = &b.status(NOW)[0];
        assert!(s.spent_usd <= limit + est, "{}", s.spent_usd);
        assert!(s.spent_usd >= limit, "the budget was used up: {}", s.spent_usd);
        assert_eq!(s.spent_usd, est * Decimal::from(admitted));
        assert_eq!(s.reserved_usd, Decimal::ZERO);
    }
}
