//! `[budgets]` and `[routing]`: spending limits, alert thresholds, routing rules.
//!
//! ```toml
//! [budgets]
//! utc_offset = "local"          # or "+01:00", "-05:00", "UTC": where days, weeks and months begin
//! week_starts = "monday"        # first day of a week (both apply to every total, not only budgets)
//! alert_at = [50, 85, 95, 100]  # percent of a budget that raise an alert (once per window)
//! hard_limit = false            # default for every budget: refuse requests at 100%
//! estimate_output_tokens = 4096 # output tokens assumed when reserving a request's cost
//!
//! [budgets.weekly]              # any other table under [budgets] is a budget, named by its key
//! window = "week"               # "day" | "week" | "month"
//! usd = 50
//! hard_limit = true
//!
//! [budgets.anthropic-daily]
//! window = "day"
//! usd = 10
//! provider = "anthropic"        # only requests to this provider count (default: all)
//!
//! [budgets.myrepo]
//! window = "month"
//! usd = "120.50"
//! project = "myrepo"            # only requests recorded under this project count
//! alert_at = [90, 100]          # replaces the default thresholds for this budget
//!
//! [routing]
//! sticky = "cache"              # keep a session on its model while switching would break its
//!                               # prompt cache or continuation ids ("cache"), only for
//!                               # continuation ids ("continuation"), or never ("off")
//!
//! [routing.pressure]            # budget-pressure caps (only act when a budget applies)
//! enabled = true
//! budget = "weekly"             # the budget whose pressure counts (default: every budget that
//!                               # applies to the request, the one under most pressure)
//! mid_at = 85                   # from this percent, cap at the family's mid-priced model
//! cheapest_at = 95              # from this percent, cap at the family's cheapest model
//! anthropic = { mid = "claude-sonnet-4-5", cheapest = "claude-haiku-4-5" }
//! openai = { mid = "gpt-5-mini", cheapest = "gpt-5-nano" }
//! gemini = { mid = "gemini-2.5-flash", cheapest = "gemini-2.5-flash-lite" }
//!
//! [[routing.tasks]]             # first matching rule wins; every condition given must match
//! name = "heartbeat"
//! task = "heartbeat"            # the x-promptmeter-task header (case-insensitive)
//! user_agent = "cron|heartbeat" # regular expressions (Rust `regex` syntax) ...
//! path = "^/v1/messages"        # ... over the request path,
//! system = "(?i)you are a title generator" # the system prompt,
//! body = "\"heartbeat\""        # or the raw request body
//! model = "claude-haiku-4-5"    # send it to this model,
//! upstream = "local"            # and/or to this named upstream ([proxy.named.local])
//! ```
//!
//! Money is read from numbers or strings into decimals; `usd = "120.50"` keeps every digit.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Default alert thresholds, in percent.
pub const DEFAULT_ALERT_AT: [u32; 4] = [50, 85, 95, 100];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BudgetsConfig {
    /// `"local"` (the machine's offset, resolved by the caller) or a fixed offset like `"+01:00"`.
    pub utc_offset: String,
    /// First day of weekly windows (`"monday"` ... `"sunday"`).
    pub week_starts: String,
    /// Alert thresholds in percent of each budget.
    pub alert_at: Vec<Decimal>,
    /// Default for every budget: refuse requests once the budget is used up.
    pub hard_limit: bool,
    /// Output tokens assumed when reserving the cost of a request that does not cap its output
    /// lower (`max_tokens` and similar cap it).
    pub estimate_output_tokens: u64,
    /// The budgets, by name.
    #[serde(flatten)]
    pub limits: BTreeMap<String, BudgetLimit>,
}

impl Default for BudgetsConfig {
    fn default() -> Self {
        BudgetsConfig {
            utc_offset: "local".into(),
            week_starts: "monday".into(),
            alert_at: DEFAULT_ALERT_AT.iter().map(|&p| Decimal::from(p)).collect(),
            hard_limit: false,
            estimate_output_tokens: 4096,
            limits: BTreeMap::new(),
        }
    }
}

/// One budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetLimit {
    /// `"day"`, `"week"` or `"month"` (also `"daily"`, `"weekly"`, `"monthly"`).
    pub window: String,
    /// The limit in US dollars.
    pub usd: Decimal,
    /// Only requests to this provider count (`anthropic`, `openai`, `gemini`, a named upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Only requests recorded under this project count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Overrides `[budgets] hard_limit` for this budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hard_limit: Option<bool>,
    /// Overrides `[budgets] alert_at` for this budget (percent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_at: Option<Vec<Decimal>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// `"cache"` (default), `"continuation"` or `"off"`: see the module docs.
    pub sticky: String,
    pub pressure: PressureConfig,
    /// Task rules, tried in order.
    pub tasks: Vec<TaskRuleConfig>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            sticky: "cache".into(),
            pressure: PressureConfig::default(),
            tasks: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PressureConfig {
    pub enabled: bool,
    /// The budget whose pressure drives the caps (default: all budgets that apply).
    pub budget: Option<String>,
    /// Percent from which requests are capped at the mid-priced model.
    pub mid_at: Decimal,
    /// Percent from which requests are capped at the cheapest model.
    pub cheapest_at: Decimal,
    pub anthropic: FamilyCaps,
    pub openai: FamilyCaps,
    pub gemini: FamilyCaps,
}

impl Default for PressureConfig {
    fn default() -> Self {
        PressureConfig {
            enabled: true,
            budget: None,
            mid_at: Decimal::from(85),
            cheapest_at: Decimal::from(95),
            anthropic: FamilyCaps::new("claude-sonnet-4-5", "claude-haiku-4-5"),
            openai: FamilyCaps::new("gpt-5-mini", "gpt-5-nano"),
            gemini: FamilyCaps::new("gemini-2.5-flash", "gemini-2.5-flash-lite"),
        }
    }
}

/// The models a provider family is capped at under pressure. An empty string turns that cap
/// off for the family.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FamilyCaps {
    pub mid: String,
    pub cheapest: String,
}

impl FamilyCaps {
    pub fn new(mid: &str, cheapest: &str) -> Self {
        FamilyCaps {
            mid: mid.into(),
            cheapest: cheapest.into(),
        }
    }
}

/// A task rule: when every condition given matches, send the request to `model` and/or
/// `upstream`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskRuleConfig {
    pub name: String,
    /// The `x-promptmeter-task` header equals this (case-insensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Regular expressions over the User-Agent header, the path, the system prompt, the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn budgets_parse_with_named_tables_and_defaults() {
        let c = Config::from_layers([(
            "user",
            r#"
            [budgets]
            utc_offset = "+01:00"
            hard_limit = true
            [budgets.weekly]
            window = "week"
            usd = 50
            [budgets.anthropic-daily]
            window = "day"
            usd = "10.25"
            provider = "anthropic"
            hard_limit = false
            alert_at = [90, 100]
            "#,
        )])
        .unwrap();
        let b = &c.budgets;
        assert_eq!(b.utc_offset, "+01:00");
        assert!(b.hard_limit);
        assert_eq!(b.week_starts, "monday");
        assert_eq!(b.alert_at.len(), 4);
        assert_eq!(b.limits.len(), 2);
        assert_eq!(b.limits["weekly"].usd, Decimal::from(50));
        let d = &b.limits["anthropic-daily"];
        assert_eq!(d.usd, Decimal::new(1025, 2));
        assert_eq!(d.provider.as_deref(), Some("anthropic"));
        assert_eq!(d.hard_limit, Some(false));
        assert_eq!(d.alert_at.as_ref().map(Vec::len), Some(2));
    }

    #[test]
    fn project_layer_overrides_one_budget_key() {
        let c = Config::from_layers([
            ("user", "[budgets.weekly]\nwindow = \"week\"\nusd = 50\n"),
            (
                "project",
                "[budgets.weekly]\nusd = 80\n[routing.pressure]\nmid_at = 70\n",
            ),
        ])
        .unwrap();
        assert_eq!(c.budgets.limits["weekly"].usd, Decimal::from(80));
        assert_eq!(c.budgets.limits["weekly"].window, "week");
        assert_eq!(c.routing.pressure.mid_at, Decimal::from(70));
        assert_eq!(c.routing.pressure.cheapest_at, Decimal::from(95));
        assert_eq!(c.routing.pressure.anthropic.mid, "claude-sonnet-4-5");
    }

    #[test]
    fn routing_tasks_parse() {
        let c = Config::from_layers([(
            "user",
            r#"
            [routing]
            sticky = "continuation"
            [routing.pressure]
            openai = { mid = "gpt-5-mini", cheapest = "" }
            [[routing.tasks]]
            name = "heartbeat"
            task = "heartbeat"
            model = "claude-haiku-4-5"
            [[routing.tasks]]
            name = "titles"
            system = "(?i)title"
            upstream = "local"
            "#,
        )])
        .unwrap();
        assert_eq!(c.routing.sticky, "continuation");
        assert_eq!(c.routing.pressure.openai.cheapest, "");
        assert_eq!(c.routing.tasks.len(), 2);
        assert_eq!(c.routing.tasks[1].upstream.as_deref(), Some("local"));
    }

    #[test]
    fn config_round_trips_through_json_overrides() {
        let c = Config::from_layers([("user", "[budgets.weekly]\nwindow = \"week\"\nusd = \"50.5\"\n")]).unwrap();
        let c2 = c
            .with_json_overrides(&serde_json::json!({"budgets": {"weekly": {"usd": 60}}}))
            .unwrap();
        assert_eq!(c2.budgets.limits["weekly"].usd, Decimal::from(60));
        assert_eq!(c2.budgets.alert_at, c.budgets.alert_at);
        let c3 = c.with_json_overrides(&serde_json::json!({})).unwrap();
        assert_eq!(c3, c);
    }

    #[test]
    fn bad_budget_is_an_error_not_a_panic() {
        for text in [
            "[budgets.weekly]\nwindow = \"week\"\n",
            "[budgets.weekly]\nwindow = \"week\"\nusd = \"lots\"\n",
            "[budgets.weekly]\nwindow = \"week\"\nusd = 5\ncolour = \"red\"\n",
            "[budgets]\nweekly = 5\n",
            "[routing]\nbogus = 1\n",
        ] {
            assert!(Config::from_layers([("user", text)]).is_err(), "{text}");
        }
    }
}
