//! Budgets: limits per day, week or month (global, per provider, per project), their windows,
//! pressure, threshold alerts, burn-rate forecasts and the reservation book that makes the
//! hard limit atomic across concurrent requests.
//!
//! Pure arithmetic: nothing here reads the clock, the disk or the network. Every function that
//! depends on time takes `now`; spend already recorded comes in through
//! [`BudgetBook::restore`], from the ledger's totals.
//!
//! - `window.rs`: where days, weeks and months begin in the user's offset;
//! - `pressure.rs`: spend over limit, and the level it shows as;
//! - `forecast.rs`: when a budget runs out at the current burn rate;
//! - `message.rs`: the sentences users read (alerts, refusals);
//! - `book.rs`: the live state: spend per window, reservations, alerts once per crossing.

pub mod book;
pub mod forecast;
pub mod message;
pub mod pressure;
pub mod window;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::UtcOffset;

use crate::config::budget::BudgetsConfig;

pub use book::{Alert, BudgetBook, BudgetStatus, Charge, Refusal, ReservationId};
pub use forecast::{Forecast, forecast};
pub use pressure::{Level, level_of, pressure_of};
pub use window::{Calendar, Window, WindowKind};

/// Which requests count against a budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    Global,
    Provider(String),
    Project(String),
}

impl Scope {
    pub fn applies(&self, charge: &Charge<'_>) -> bool {
        match self {
            Scope::Global => true,
            Scope::Provider(p) => p.eq_ignore_ascii_case(charge.provider),
            Scope::Project(p) => charge.project == Some(p.as_str()),
        }
    }

    /// `global`, `provider:anthropic`, `project:myrepo` (the protocol's `scope` field).
    pub fn label(&self) -> String {
        match self {
            Scope::Global => "global".into(),
            Scope::Provider(p) => format!("provider:{p}"),
            Scope::Project(p) => format!("project:{p}"),
        }
    }
}

/// One budget, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub name: String,
    pub window: WindowKind,
    pub scope: Scope,
    /// Positive, in USD.
    pub limit: Decimal,
    pub hard_limit: bool,
    /// Alert thresholds as fractions of the limit (0.85), ascending, distinct, positive.
    pub thresholds: Vec<Decimal>,
}

/// All budgets and the calendar their windows follow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Budgets {
    pub calendar: Calendar,
    pub list: Vec<Budget>,
    pub estimate_output_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[budgets{}] {message}", if .budget.is_empty() { String::new() } else { format!(".{}", .budget) })]
pub struct BudgetError {
    pub budget: String,
    pub message: String,
}

fn thresholds(percent: &[Decimal], budget: &str) -> Result<Vec<Decimal>, BudgetError> {
    let mut out = Vec::with_capacity(percent.len());
    for p in percent {
        if *p <= Decimal::ZERO || *p > Decimal::from(1000) {
            return Err(BudgetError {
                budget: budget.into(),
                message: format!("alert_at: {p} is not a percentage between 0 and 1000"),
            });
        }
        out.push(*p / Decimal::ONE_HUNDRED);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

impl Budgets {
    /// Validate `[budgets]`. `local_offset` is what `utc_offset = "local"` means (the caller
    /// reads it from the system).
    pub fn from_config(cfg: &BudgetsConfig, local_offset: UtcOffset) -> Result<Budgets, BudgetError> {
        let err = |budget: &str, message: String| BudgetError {
            budget: budget.into(),
            message,
        };
        let calendar = Calendar::from_config(cfg, local_offset)?;
        let defaults = thresholds(&cfg.alert_at, "")?;
        let mut list = Vec::with_capacity(cfg.limits.len());
        for (name, b) in &cfg.limits {
            let window = WindowKind::parse(&b.window).ok_or_else(|| {
                err(
                    name,
                    format!("window {:?} is not \"day\", \"week\" or \"month\"", b.window),
                )
            })?;
            if b.usd <= Decimal::ZERO {
                return Err(err(name, format!("usd must be more than 0 (is {})", b.usd)));
            }
            let scope = match (&b.provider, &b.project) {
                (Some(_), Some(_)) => return Err(err(name, "set provider or project, not both".into())),
                (Some(p), None) => Scope::Provider(p.clone()),
                (None, Some(p)) => Scope::Project(p.clone()),
                (None, None) => Scope::Global,
            };
            list.push(Budget {
                name: name.clone(),
                window,
                scope,
                limit: b.usd,
                hard_limit: b.hard_limit.unwrap_or(cfg.hard_limit),
                thresholds: match &b.alert_at {
                    Some(p) => thresholds(p, name)?,
                    None => defaults.clone(),
                },
            });
        }
        Ok(Budgets {
            calendar,
            list,
            estimate_output_tokens: cfg.estimate_output_tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn budgets(toml: &str) -> Result<Budgets, BudgetError> {
        let c = Config::from_layers([("test", toml)]).unwrap();
        Budgets::from_config(&c.budgets, UtcOffset::from_hms(-5, 0, 0).unwrap())
    }

    #[test]
    fn validates_and_normalises() {
        let b = budgets(
            "[budgets]\nalert_at = [95, 50, 50]\n[budgets.weekly]\nwindow = \"weekly\"\nusd = 50\n\
             [budgets.oai]\nwindow = \"day\"\nusd = 5\nprovider = \"openai\"\nhard_limit = true\n",
        )
        .unwrap();
        assert_eq!(b.calendar.offset, UtcOffset::from_hms(-5, 0, 0).unwrap());
        assert_eq!(b.list.len(), 2);
        let oai = &b.list[0];
        assert_eq!(oai.name, "oai");
        assert_eq!(oai.scope, Scope::Provider("openai".into()));
        assert!(oai.hard_limit);
        assert_eq!(oai.thresholds, vec![Decimal::new(5, 1), Decimal::new(95, 2)]);
        assert_eq!(b.list[1].window, WindowKind::Week);
        assert!(!b.list[1].hard_limit);
    }

    #[test]
    fn rejects_bad_budgets_with_their_name() {
        for (toml, needle) in [
            ("[budgets.w]\nwindow = \"fortnight\"\nusd = 5\n", "[budgets.w] window"),
            ("[budgets.w]\nwindow = \"week\"\nusd = 0\n", "[budgets.w] usd"),
            ("[budgets.w]\nwindow = \"week\"\nusd = -3\n", "usd must be more than 0"),
            (
                "[budgets.w]\nwindow = \"week\"\nusd = 5\nprovider = \"a\"\nproject = \"b\"\n",
                "not both",
            ),
            ("[budgets.w]\nwindow = \"week\"\nusd = 5\nalert_at = [0]\n", "alert_at"),
            ("[budgets]\nutc_offset = \"Mars\"\n", "[budgets] utc_offset"),
            ("[budgets]\nweek_starts = \"caturday\"\n", "week_starts"),
        ] {
            let e = budgets(toml).unwrap_err().to_string();
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
    }

    #[test]
    fn scopes_apply_to_their_requests() {
        let c = |provider, project| Charge { provider, project };
        assert!(Scope::Global.applies(&c("openai", None)));
        assert!(Scope::Provider("anthropic".into()).applies(&c("Anthropic", None)));
        assert!(!Scope::Provider("anthropic".into()).applies(&c("openai", Some("x"))));
        assert!(Scope::Project("x".into()).applies(&c("openai", Some("x"))));
        assert!(!Scope::Project("x".into()).applies(&c("openai", None)));
        assert_eq!(Scope::Project("x".into()).label(), "project:x");
    }
}
