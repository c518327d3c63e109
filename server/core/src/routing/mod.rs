//! Budget-aware routing: which model (and upstream) serves a request. Pure: the caller passes
//! the request's facts, the budget pressure, the session's state and `now`.
//!
//! Order of the rules, first that decides wins:
//! 1. task rules (`task.rs`): automated work goes to its named model and/or upstream;
//! 2. a request already bound for a flat-rate upstream is left alone (it costs nothing at the
//!    margin);
//! 3. pressure caps (`pressure.rs`): above `mid_at`% of a budget, cap at the mid-priced model,
//!    above `cheapest_at`%, at the cheapest; a cheaper model is never replaced.
//!
//! Stickiness (`session.rs`): a request that continues server-side state of its model (OpenAI
//! `previous_response_id`) keeps its model under every rule unless `sticky = "off"`; with
//! `sticky = "cache"` (default), a session whose prompt cache is warm stays on the model that
//! holds the cache under pressure caps. Each time a rule is held back, the route says why.
//!
//! Only the model and the upstream ever change; the hard limit (refusals) is the budget
//! book's decision (`crate::budget::book`), with the error shapes in `refusal.rs`.

pub mod estimate;
pub mod pressure;
pub mod refusal;
pub mod request;
pub mod savings;
pub mod session;
pub mod task;

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use time::OffsetDateTime;

use crate::catalog::Catalog;
use crate::config::budget::RoutingConfig;

pub use pressure::PressureRules;
pub use request::RequestFacts;
pub use session::{SessionState, SessionTable};
pub use task::TaskRule;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{where_}: {message}")]
pub struct RoutingError {
    pub where_: String,
    pub message: String,
}

impl RoutingError {
    pub fn new(rule: &str, message: String) -> Self {
        RoutingError {
            where_: format!("[[routing.tasks]] {rule}"),
            message,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sticky {
    /// Keep sessions on their model for continuation ids and warm prompt caches.
    Cache,
    /// Only for continuation ids.
    Continuation,
    Off,
}

/// Where a request goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// The model to serve it with, when not the one asked for.
    pub model: Option<String>,
    /// The named upstream to send it to, when not its own.
    pub upstream: Option<String>,
    /// The rule that changed it (`task:heartbeat`, `pressure>85% weekly`).
    pub rule: Option<String>,
    /// Why a rule was held back, or anything else worth telling.
    pub notes: Vec<String>,
    /// It goes to a flat-rate upstream: nothing is charged to budgets.
    pub flat_rate: bool,
    /// It matched a task rule (its session's model is not the conversation's).
    pub task: bool,
}

impl Route {
    pub fn changed(&self) -> bool {
        self.model.is_some() || self.upstream.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct Router {
    pub sticky: Sticky,
    pub pressure: PressureRules,
    pub tasks: Vec<TaskRule>,
    /// Named upstream -> flat-rate.
    upstreams: BTreeMap<String, bool>,
}

impl Router {
    /// `upstreams`: the named upstreams and whether each is flat-rate (`[proxy.named.*]`).
    pub fn from_config(cfg: &RoutingConfig, upstreams: BTreeMap<String, bool>) -> Result<Router, RoutingError> {
        let sticky = match cfg.sticky.trim().to_ascii_lowercase().as_str() {
            "cache" | "" => Sticky::Cache,
            "continuation" => Sticky::Continuation,
            "off" | "never" => Sticky::Off,
            other => {
                return Err(RoutingError {
                    where_: "[routing] sticky".into(),
                    message: format!("{other:?} is not \"cache\", \"continuation\" or \"off\""),
                });
            }
        };
        let mut tasks = Vec::with_capacity(cfg.tasks.len());
        for (i, t) in cfg.tasks.iter().enumerate() {
            let rule = TaskRule::from_config(i, t)?;
            if let Some(u) = &rule.upstream
                && !upstreams.contains_key(u)
            {
                return Err(RoutingError::new(
                    &rule.name,
                    format!("upstream {u:?} is not a named upstream ([proxy.named.{u}])"),
                ));
            }
            tasks.push(rule);
        }
        Ok(Router {
            sticky,
            pressure: PressureRules::from_config(&cfg.pressure),
            tasks,
            upstreams,
        })
    }

    pub fn is_flat_rate(&self, upstream: &str) -> bool {
        self.upstreams.get(upstream).copied().unwrap_or(false)
    }

    /// Route one request. `pressure` is the budget under most pressure that applies (name,
    /// fraction); `session` is the request's session as last seen.
    pub fn route(
        &self,
        f: &RequestFacts,
        body: &[u8],
        pressure: Option<&(String, Decimal)>,
        session: Option<&SessionState>,
        catalog: &Catalog,
        now: OffsetDateTime,
    ) -> Route {
        let mut route = Route {
            flat_rate: self.is_flat_rate(&f.provider),
            ..Default::default()
        };
        let Some(asked) = f.model.as_deref() else {
            return route;
        };
        let pinned = f.continuation.as_deref().filter(|_| self.sticky != Sticky::Off);

        if let Some(rule) = self.tasks.iter().find(|r| r.matches(f, body)) {
            route.task = true;
            let model_changes = rule
                .model
                .as_deref()
                .is_some_and(|m| !pressure::same_model(catalog, m, asked));
            let upstream_changes = rule.upstream.as_deref().is_some_and(|u| u != f.provider);
            if !model_changes && !upstream_changes {
                return route;
            }
            if let Some(why) = pinned {
                route.notes.push(format!(
                    "task rule {} held back: kept on {asked} because {why}",
                    rule.name
                ));
                return route;
            }
            route.model = rule.model.clone().filter(|_| model_changes);
            route.upstream = rule.upstream.clone().filter(|_| upstream_changes);
            if let Some(u) = &route.upstream {
                route.flat_rate = self.is_flat_rate(u);
            }
            route.rule = Some(format!("task:{}", rule.name));
            return route;
        }
        if route.flat_rate {
            return route;
        }

        let Some(cap) = self.pressure.cap(&f.provider, asked, pressure) else {
            return route;
        };
        match pressure::dearer(catalog, asked, &cap.model) {
            Some(true) => {}
            Some(false) => return route, // a cheaper model is left alone
            None => {
                route.notes.push(format!(
                    "{} not applied: {asked} or {} has no price in the catalog",
                    cap.rule, cap.model
                ));
                return route;
            }
        }
        if let Some(why) = pinned {
            route
                .notes
                .push(format!("{} held back: kept on {asked} because {why}", cap.rule));
            return route;
        }
        if self.sticky == Sticky::Cache
            && let Some(s) = session
        {
            // Stay on a model whose cache is warm, if it is the one asked for or one between
            // the cap and it (a model an earlier cap moved the session to).
            let keep = s.warm(now).find(|w| {
                pressure::same_model(catalog, w, asked)
                    || (pressure::dearer(catalog, w, asked) == Some(false)
                        && pressure::dearer(catalog, w, &cap.model) == Some(true))
            });
            if let Some(warm) = keep {
                let session_id = f.session.as_deref().unwrap_or("?");
                route.notes.push(format!(
                    "{} held back: session {session_id} has a warm prompt cache on {warm}; \
                     switching to {} would write it again",
                    cap.rule, cap.model
                ));
                if !pressure::same_model(catalog, warm, asked) {
                    route.model = Some(warm.to_string());
                    route.rule = Some(cap.rule);
                }
                return route;
            }
        }
        route.model = Some(cap.model);
        route.rule = Some(cap.rule);
        route
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::config::proxy::WireKind;
    use crate::usage::Usage;
    use rust_decimal_macros::dec;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

    fn router(toml: &str) -> Router {
        let c = Config::from_layers([("test", toml)]).unwrap();
        let ups = BTreeMap::from([("local".to_string(), true), ("paid".to_string(), false)]);
        Router::from_config(&c.routing, ups).unwrap()
    }

    fn facts(provider: &str, model: &str) -> RequestFacts {
        RequestFacts {
            provider: provider.into(),
            wire: match provider {
                "anthropic" => WireKind::Anthropic,
                "gemini" => WireKind::Gemini,
                _ => WireKind::Openai,
            },
            path: "/v1/messages".into(),
            model: Some(model.into()),
            session: Some("s1".into()),
            ..Default::default()
        }
    }

    /// One helper for every routing case: (served model or "-", rule or "-", notes joined).
    fn check(r: &Router, f: &RequestFacts, pressure: Option<Decimal>, session: Option<&SessionState>) -> String {
        let cat = Catalog::bundled();
        let p = pressure.map(|p| ("weekly".to_string(), p));
        let route = r.route(f, b"{}", p.as_ref(), session, &cat, NOW);
        format!(
            "{} {} {}{}{}",
            route.model.as_deref().unwrap_or("-"),
            route.rule.as_deref().unwrap_or("-"),
            route.upstream.as_deref().map(|u| format!("@{u} ")).unwrap_or_default(),
            if route.flat_rate { "flat " } else { "" },
            route.notes.join("; ")
        )
        .trim_end()
        .to_string()
    }

    #[test]
    fn pressure_caps_fire_exactly_at_their_thresholds() {
        let r = router("");
        let opus = facts("anthropic", "claude-opus-4-8");
        assert_eq!(check(&r, &opus, None, None), "- -");
        assert_eq!(check(&r, &opus, Some(dec!(0.8499)), None), "- -");
        assert_eq!(
            check(&r, &opus, Some(dec!(0.85)), None),
            "claude-sonnet-4-5 pressure>85% weekly"
        );
        assert_eq!(
            check(&r, &opus, Some(dec!(0.95)), None),
            "claude-haiku-4-5 pressure>95% weekly"
        );
        // A cheaper model is left alone; one at the cap too.
        assert_eq!(
            check(&r, &facts("anthropic", "claude-haiku-4-5"), Some(dec!(0.9)), None),
            "- -"
        );
        assert_eq!(
            check(&r, &facts("anthropic", "claude-sonnet-4-5"), Some(dec!(0.9)), None),
            "- -"
        );
        assert_eq!(
            check(
                &r,
                &facts("anthropic", "claude-sonnet-4-5-20250929"),
                Some(dec!(0.96)),
                None
            ),
            "claude-haiku-4-5 pressure>95% weekly"
        );
        assert_eq!(
            check(&r, &facts("openai", "gpt-5"), Some(dec!(0.97)), None),
            "gpt-5-nano pressure>95% weekly"
        );
        assert!(check(&r, &facts("anthropic", "claude-mystery-9"), Some(dec!(0.97)), None).contains("no price"));
    }

    #[test]
    fn continuation_ids_pin_the_model() {
        let r = router("");
        let mut f = facts("openai", "gpt-5");
        f.continuation = Some("previous_response_id resp_1 continues a response of this model".into());
        assert_eq!(
            check(&r, &f, Some(dec!(0.9)), None),
            "- - pressure>85% weekly held back: kept on gpt-5 because previous_response_id resp_1 continues a \
             response of this model"
        );
        let off = router("[routing]\nsticky = \"off\"\n");
        assert_eq!(check(&off, &f, Some(dec!(0.9)), None), "gpt-5-mini pressure>85% weekly");
    }

    #[test]
    fn warm_caches_keep_the_session_on_its_model() {
        let r = router("");
        let opus = facts("anthropic", "claude-opus-4-8");
        let mut sessions = SessionTable::default();
        let cached = Usage {
            cache_read: 5000,
            ..Default::default()
        };
        sessions.observe("s1", "claude-opus-4-8", &cached, NOW - time::Duration::minutes(2));
        // A side request on Haiku in the same session changes nothing.
        sessions.observe(
            "s1",
            "claude-haiku-4-5",
            &Usage::default(),
            NOW - time::Duration::minutes(1),
        );
        let out = check(&r, &opus, Some(dec!(0.9)), sessions.get("s1"));
        assert!(
            out.starts_with("- - pressure>85% weekly held back: session s1 has a warm prompt cache on claude-opus-4-8"),
            "{out}"
        );
        // Once the cache is cold, the cap applies.
        let mut cold = SessionTable::default();
        cold.observe("s1", "claude-opus-4-8", &cached, NOW - time::Duration::minutes(6));
        assert_eq!(
            check(&r, &opus, Some(dec!(0.9)), cold.get("s1")),
            "claude-sonnet-4-5 pressure>85% weekly"
        );
        // A session moved to Sonnet stays there (warm) when the cap drops to Haiku.
        let mut moved = SessionTable::default();
        moved.observe("s1", "claude-sonnet-4-5", &cached, NOW - time::Duration::minutes(1));
        let out = check(&r, &opus, Some(dec!(0.96)), moved.get("s1"));
        assert!(
            out.starts_with("claude-sonnet-4-5 pressure>95% weekly pressure>95% weekly held back"),
            "{out}"
        );
        // ...but a warm Sonnet cache does not hold a Sonnet-capped Opus request on Opus.
        assert_eq!(
            check(&r, &opus, Some(dec!(0.9)), moved.get("s1")),
            "claude-sonnet-4-5 pressure>85% weekly"
        );
        // sticky = "continuation" ignores caches.
        let c = router("[routing]\nsticky = \"continuation\"\n");
        assert_eq!(
            check(&c, &opus, Some(dec!(0.96)), sessions.get("s1")),
            "claude-haiku-4-5 pressure>95% weekly"
        );
    }

    #[test]
    fn task_rules_route_and_flat_rate_upstreams_cost_nothing() {
        let r = router(
            r#"
            [[routing.tasks]]
            name = "heartbeat"
            task = "heartbeat"
            model = "claude-haiku-4-5"
            [[routing.tasks]]
            name = "cron"
            user_agent = "^cron"
            upstream = "local"
            model = "qwen3"
            "#,
        );
        let mut f = facts("anthropic", "claude-opus-4-8");
        assert_eq!(check(&r, &f, None, None), "- -");
        f.task = Some("heartbeat".into());
        assert_eq!(check(&r, &f, None, None), "claude-haiku-4-5 task:heartbeat");
        // Task rules come before pressure caps.
        assert_eq!(check(&r, &f, Some(dec!(0.99)), None), "claude-haiku-4-5 task:heartbeat");
        let mut g = facts("openai", "gpt-5");
        g.user_agent = Some("cron/2".into());
        assert_eq!(check(&r, &g, Some(dec!(0.99)), None), "qwen3 task:cron @local flat");
        // Already on a flat-rate upstream: pressure does not apply.
        assert_eq!(check(&r, &facts("local", "gpt-5"), Some(dec!(0.99)), None), "- - flat");
        // A task rule that asks for what the request already has changes nothing.
        let mut h = facts("anthropic", "claude-haiku-4-5-20251001");
        h.task = Some("heartbeat".into());
        assert_eq!(check(&r, &h, Some(dec!(0.99)), None), "- -");
        // Continuation ids hold task rules back too.
        g.continuation = Some("previous_response_id r continues a response of this model".into());
        assert!(check(&r, &g, None, None).starts_with("- - task rule cron held back"));
    }

    /// Over every priced model of the three families in the bundled catalog and pressures on
    /// both sides of each threshold: below `mid_at` nothing changes; a change is always to the
    /// band's cap and always to a cheaper model; a model at or below the cap is left alone.
    #[test]
    fn caps_over_the_whole_catalog() {
        let r = router("[routing]\nsticky = \"off\"\n");
        let cat = Catalog::bundled();
        let caps = [
            (
                "anthropic",
                crate::catalog::Family::Anthropic,
                "claude-sonnet-4-5",
                "claude-haiku-4-5",
            ),
            ("openai", crate::catalog::Family::OpenAi, "gpt-5-mini", "gpt-5-nano"),
            (
                "gemini",
                crate::catalog::Family::Gemini,
                "gemini-2.5-flash",
                "gemini-2.5-flash-lite",
            ),
        ];
        let mut changed = 0;
        for m in cat
            .iter()
            .filter(|m| pressure::price_level(m).is_some() && !m.id.contains('/'))
        {
            let Some((provider, _, mid, cheapest)) = caps.iter().find(|c| crate::catalog::family_of(&m.id, "") == c.1)
            else {
                continue;
            };
            let f = facts(provider, &m.id);
            for p in [
                dec!(0),
                dec!(0.8499),
                dec!(0.85),
                dec!(0.9),
                dec!(0.9499),
                dec!(0.95),
                dec!(1.5),
            ] {
                let route = r.route(&f, b"{}", Some(&("w".to_string(), p)), None, &cat, NOW);
                let band_cap = if p >= dec!(0.95) {
                    Some(*cheapest)
                } else if p >= dec!(0.85) {
                    Some(*mid)
                } else {
                    None
                };
                let expected = band_cap.filter(|c| pressure::dearer(&cat, &m.id, c) == Some(true));
                assert_eq!(route.model.as_deref(), expected, "{} at {p}", m.id);
                if let Some(served) = &route.model {
                    changed += 1;
                    assert_eq!(pressure::dearer(&cat, &m.id, served), Some(true));
                    assert!(route.rule.as_deref().unwrap().starts_with("pressure>"));
                }
            }
        }
        assert!(changed > 50, "the catalog has many dearer models: {changed}");
    }

    #[test]
    fn config_errors() {
        let c = Config::from_layers([("t", "[routing]\nsticky = \"glue\"\n")]).unwrap();
        assert!(Router::from_config(&c.routing, BTreeMap::new()).is_err());
        let c = Config::from_layers([(
            "t",
            "[[routing.tasks]]\nname = \"x\"\ntask = \"t\"\nupstream = \"nowhere\"\n",
        )])
        .unwrap();
        let e = Router::from_config(&c.routing, BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("nowhere"), "{e}");
    }
}
