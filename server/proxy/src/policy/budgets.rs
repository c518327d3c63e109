//! The budget and routing policy (issue 5), plugged into the proxy's seam (`policy.rs`).
//!
//! `before` (every metered request, before forwarding): read the request's facts, route it
//! (task rules, flat-rate upstreams, pressure caps, stickiness; `promptmeter_core::routing`),
//! then reserve its estimated cost against every budget that applies, atomically with the
//! hard-limit check (`promptmeter_core::budget::BudgetBook`), or refuse it in the provider's
//! own error shape. `settle` (every forwarded request, once priced and committed): settle the
//! reservation with the actual cost, publish the alerts that crossed a threshold on the feed,
//! and remember which model serves each session.
//!
//! All arithmetic is in the core; this file holds the lock, reads the clock and the ledger
//! (once, at startup, to resume each window's spend) and talks to the feed.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use promptmeter_core::budget::{BudgetBook, Budgets, Charge, ReservationId};
use promptmeter_core::config::Config;
use promptmeter_core::config::proxy::{NamedUpstream, WireKind};
use promptmeter_core::routing::estimate::estimate_cost;
use promptmeter_core::routing::refusal::refusal_reply;
use promptmeter_core::routing::{RequestFacts, Router, SessionTable};
use promptmeter_ledger::{Ledger, RequestRecord};
use rust_decimal::Decimal;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::{Decision, Policy, PolicyRequest, UpstreamChoice, Verdict};
use crate::App;

/// A reservation whose request never settled (the proxy gave up on it) is released after this.
const STALE_AFTER: Duration = Duration::hours(1);
/// Sessions whose last routing note is remembered (then the memory starts over).
const NOTED_MAX: usize = 10_000;

struct Pending {
    reservation: Option<ReservationId>,
    task: bool,
    started: OffsetDateTime,
}

struct State {
    book: BudgetBook,
    sessions: SessionTable,
    /// The last routing note published per session (each note goes out once, not per request).
    noted: HashMap<String, String>,
    pending: HashMap<u64, Pending>,
    next_ticket: u64,
}

pub struct BudgetPolicy {
    router: Router,
    state: Mutex<State>,
    named: BTreeMap<String, NamedUpstream>,
    estimate_output_tokens: u64,
    /// Nothing to do: no budgets and no task rules.
    idle: bool,
    app: OnceLock<Weak<App>>,
}

/// The wire format of a metered path.
pub fn wire_of(provider: &str, path: &str, named: &BTreeMap<String, NamedUpstream>) -> WireKind {
    if let Some(n) = named.get(provider) {
        return n.kind;
    }
    match provider {
        "anthropic" => WireKind::Anthropic,
        "gemini" => WireKind::Gemini,
        "openai" => WireKind::Openai,
        _ if path.ends_with("/messages") => WireKind::Anthropic,
        _ if path.contains(":generateContent") || path.contains(":streamGenerateContent") => WireKind::Gemini,
        _ => WireKind::Openai,
    }
}

/// What a request costs the budgets: nothing on a flat-rate upstream, else its price.
pub fn charged(record: &RequestRecord, named: &BTreeMap<String, NamedUpstream>) -> Decimal {
    if record.flat_rate || named.get(&record.provider).is_some_and(|n| n.flat_rate) {
        Decimal::ZERO
    } else {
        record.cost_usd.unwrap_or_default()
    }
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl BudgetPolicy {
    /// Build the policy from the config and resume each budget's current window from the
    /// ledger at `ledger_path` (a missing ledger is an empty one).
    pub fn from_config(config: &Config, ledger_path: &Path, local_offset: UtcOffset) -> anyhow::Result<BudgetPolicy> {
        let budgets = Budgets::from_config(&config.budgets, local_offset)?;
        let flat: BTreeMap<String, bool> = config
            .proxy
            .named
            .iter()
            .map(|(k, v)| (k.clone(), v.flat_rate))
            .collect();
        let router = Router::from_config(&config.routing, flat)?;
        let now = OffsetDateTime::now_utc();
        let idle = budgets.list.is_empty() && router.tasks.is_empty();
        let estimate_output_tokens = budgets.estimate_output_tokens;
        let mut book = BudgetBook::new(budgets, now);
        let named = config.proxy.named.clone();
        if !book.budgets().list.is_empty() && ledger_path.exists() {
            let ledger = Ledger::open_read_only(ledger_path)?;
            restore(&mut book, &ledger, &named, now)?;
        }
        Ok(BudgetPolicy {
            router,
            state: Mutex::new(State {
                book,
                sessions: SessionTable::default(),
                noted: HashMap::new(),
                pending: HashMap::new(),
                next_ticket: 1,
            }),
            named,
            estimate_output_tokens,
            idle,
            app: OnceLock::new(),
        })
    }

    /// Connect the running proxy, whose feed carries the alerts.
    pub fn attach(&self, app: &Arc<App>) {
        let _ = self.app.set(Arc::downgrade(app));
    }

    fn publish_alert(&self, value: &serde_json::Value) {
        if let Some(app) = self.app.get().and_then(Weak::upgrade) {
            app.feed.publish_alert(value);
        }
    }

    fn upstream_choice(&self, name: &str, wire: WireKind) -> Result<UpstreamChoice, String> {
        match self.named.get(name) {
            Some(n) if n.kind == wire => Ok(UpstreamChoice {
                provider: name.to_string(),
                base_url: n.url.clone(),
            }),
            Some(n) => Err(format!(
                "upstream {name} speaks {:?}, the request {:?}: not rerouted",
                n.kind, wire
            )),
            None => Err(format!("upstream {name} is not configured: not rerouted")),
        }
    }
}

/// Sum each budget's spend in its current window from the ledger.
fn restore(
    book: &mut BudgetBook,
    ledger: &Ledger,
    named: &BTreeMap<String, NamedUpstream>,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let windows = book.windows(now);
    let Some(since) = windows.iter().map(|(_, w)| ms(w.start)).min() else {
        return Ok(());
    };
    let records = ledger.between(since, i64::MAX)?;
    for (budget, window) in windows {
        let (start, end) = (ms(window.start), ms(window.end));
        let spent: Decimal = records
            .iter()
            .filter(|r| r.ts_ms >= start && r.ts_ms < end)
            .filter(|r| {
                budget.scope.applies(&Charge {
                    provider: &r.provider,
                    project: r.project.as_deref(),
                })
            })
            .map(|r| charged(r, named))
            .sum();
        book.restore(&budget.name, spent, now);
    }
    Ok(())
}

/// Remember `note` as the session's latest; true when it differs from the one before.
fn first_time(noted: &mut HashMap<String, String>, session: String, note: &str) -> bool {
    if noted.len() >= NOTED_MAX && !noted.contains_key(&session) {
        noted.clear();
    }
    noted.insert(session, note.to_string()).as_deref() != Some(note)
}

fn header<'a>(req: &'a PolicyRequest<'_>, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

impl Policy for BudgetPolicy {
    fn before(&self, req: &PolicyRequest<'_>) -> Verdict {
        self.before_at(req, OffsetDateTime::now_utc())
    }

    fn settle(&self, record: &RequestRecord, reservation: Option<u64>) {
        self.settle_at(record, reservation, OffsetDateTime::now_utc())
    }

    fn budgets(&self) -> serde_json::Value {
        let status = lock(&self.state).book.status(OffsetDateTime::now_utc());
        serde_json::to_value(status).unwrap_or_else(|_| serde_json::json!([]))
    }

    fn name(&self) -> &'static str {
        "budgets"
    }
}

impl BudgetPolicy {
    fn before_at(&self, req: &PolicyRequest<'_>, now: OffsetDateTime) -> Verdict {
        if self.idle {
            return Verdict::forward();
        }
        let wire = wire_of(req.provider, req.path, &self.named);
        let mut facts = RequestFacts::from_body(req.provider, wire, req.path, req.body);
        if facts.model.is_none() {
            facts.model = req.model.map(str::to_string);
        }
        facts.task = header(req, "x-promptmeter-task").map(str::to_string);
        facts.user_agent = header(req, "user-agent").map(str::to_string);
        facts.session = req.session.map(str::to_string);
        facts.project = req.project.map(str::to_string);

        let charge = Charge {
            provider: req.provider,
            project: req.project,
        };
        // Read the pressure and the session under the lock; route outside it (patterns over
        // the body may take a while); reserve under it again (atomic with the limit check).
        let (pressure, session) = {
            let mut st = lock(&self.state);
            let State {
                book,
                pending,
                next_ticket,
                ..
            } = &mut *st;
            // Requests the proxy gave up on without settling must not hold budget forever
            // (swept every 64th request: the sweep walks every request in flight).
            if next_ticket.is_multiple_of(64) {
                pending.retain(|_, p| {
                    let stale = now - p.started > STALE_AFTER;
                    if stale && let Some(r) = p.reservation {
                        book.release(r);
                    }
                    !stale
                });
            }
            let pressure = book.pressure(&charge, self.router.pressure.budget.as_deref(), now);
            (pressure, req.session.and_then(|s| st.sessions.get(s)).cloned())
        };
        let mut route = self
            .router
            .route(&facts, req.body, pressure.as_ref(), session.as_ref(), req.catalog, now);

        let mut upstream = None;
        if let Some(name) = route.upstream.clone() {
            match self.upstream_choice(&name, wire) {
                Ok(u) => upstream = Some(u),
                Err(note) => {
                    route.notes.push(note);
                    route.upstream = None;
                    route.flat_rate = self.router.is_flat_rate(req.provider);
                }
            }
        }
        if !route.notes.is_empty() {
            let note = route.notes.join("; ");
            tracing::info!(session = req.session.unwrap_or("-"), "routing: {note}");
            let key = req.session.unwrap_or("").to_string();
            let fresh = first_time(&mut lock(&self.state).noted, key, &note);
            if fresh && let Some(app) = self.app.get().and_then(Weak::upgrade) {
                let event = serde_json::json!({
                    "session": req.session, "provider": req.provider,
                    "modelRequested": facts.model, "note": note,
                });
                app.feed.publish_route_note(&event);
            }
        }
        let served = route.model.clone().or_else(|| facts.model.clone());
        let provider = upstream
            .as_ref()
            .map_or(req.provider.to_string(), |u| u.provider.clone());
        let decision = match (&route.rule, &served) {
            (Some(rule), Some(model)) if route.changed() => Decision::Reroute {
                model: model.clone(),
                upstream,
                rule: rule.clone(),
            },
            _ => Decision::Forward,
        };

        let estimate = served
            .as_deref()
            .and_then(|m| req.catalog.resolve(m))
            .and_then(|m| estimate_cost(m, facts.body_len, facts.max_output, self.estimate_output_tokens))
            .unwrap_or_default();
        let charge = Charge {
            provider: &provider,
            project: req.project,
        };
        let mut st = lock(&self.state);
        // A flat-rate upstream costs nothing at the margin: no reservation, no refusal.
        let reservation = if route.flat_rate {
            None
        } else {
            match st.book.reserve(&charge, estimate, now) {
                Ok(r) => Some(r),
                Err(refusal) => {
                    drop(st);
                    tracing::warn!("{}", refusal.message);
                    let reply = refusal_reply(wire, &refusal.message);
                    return Verdict {
                        decision: Decision::Refuse {
                            status: reply.status,
                            message: refusal.message,
                        },
                        reservation: None,
                    };
                }
            }
        };
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        st.pending.insert(
            ticket,
            Pending {
                reservation,
                task: route.task,
                started: now,
            },
        );
        drop(st);
        Verdict {
            decision,
            reservation: Some(ticket),
        }
    }

    fn settle_at(&self, record: &RequestRecord, reservation: Option<u64>, now: OffsetDateTime) {
        if self.idle {
            return;
        }
        let cost = charged(record, &self.named);
        let alerts = {
            let mut st = lock(&self.state);
            let pending = reservation.and_then(|t| st.pending.remove(&t));
            let alerts = match pending.as_ref().and_then(|p| p.reservation) {
                Some(r) => st.book.settle(r, cost, now),
                None => {
                    let charge = Charge {
                        provider: &record.provider,
                        project: record.project.as_deref(),
                    };
                    st.book.record(&charge, cost, now)
                }
            };
            let task = pending.is_some_and(|p| p.task);
            if !task
                && (200..300).contains(&record.status)
                && let (Some(session), Some(model)) = (&record.session, &record.model_served)
            {
                st.sessions.observe(session, model, &record.usage.into(), now);
            }
            alerts
        };
        for alert in alerts {
            tracing::warn!("budget: {}", alert.message);
            self.publish_alert(&serde_json::to_value(&alert).unwrap_or_default());
        }
    }
}

/// The policy for a proxy: budgets and routing from the config.
pub fn policy_for(config: &Config, ledger_path: &Path, local_offset: UtcOffset) -> anyhow::Result<Arc<BudgetPolicy>> {
    Ok(Arc::new(BudgetPolicy::from_config(config, ledger_path, local_offset)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::HeaderMap;
    use promptmeter_core::Catalog;
    use promptmeter_ledger::Reroute;

    fn policy(toml: &str, ledger: &Path) -> BudgetPolicy {
        let c = Config::from_layers([("test", toml)]).unwrap();
        BudgetPolicy::from_config(&c, ledger, UtcOffset::UTC).unwrap()
    }

    fn before(p: &BudgetPolicy, provider: &str, path: &str, body: &str, headers: &[(&'static str, &str)]) -> Verdict {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, v.parse().unwrap());
        }
        let cat = Catalog::bundled();
        p.before(&PolicyRequest {
            provider,
            path,
            model: None,
            stream: false,
            session: Some("s1"),
            project: None,
            headers: &h,
            body: body.as_bytes(),
            catalog: &cat,
        })
    }

    fn record(provider: &str, cost: &str) -> RequestRecord {
        RequestRecord {
            ts_ms: ms(OffsetDateTime::now_utc()),
            provider: provider.into(),
            status: 200,
            cost_usd: Some(cost.parse().unwrap()),
            cost_known: true,
            ..Default::default()
        }
    }

    const OPUS: &str = r#"{"model":"claude-opus-4-8","max_tokens":4000,"messages":[]}"#;

    #[test]
    fn each_routing_note_is_said_once_per_session() {
        let mut noted = HashMap::new();
        assert!(first_time(&mut noted, "a".into(), "warm"));
        assert!(!first_time(&mut noted, "a".into(), "warm"));
        assert!(first_time(&mut noted, "b".into(), "warm"));
        assert!(first_time(&mut noted, "a".into(), "continuation"));
        assert!(first_time(&mut noted, "a".into(), "warm"));
    }

    #[test]
    fn reservations_never_settled_are_released_after_an_hour() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy(
            "[budgets.weekly]\nwindow = \"week\"\nusd = 1000\n",
            &dir.path().join("l.sqlite"),
        );
        let cat = Catalog::bundled();
        let h = HeaderMap::new();
        let req = PolicyRequest {
            provider: "anthropic",
            path: "/v1/messages",
            model: None,
            stream: false,
            session: None,
            project: None,
            headers: &h,
            body: OPUS.as_bytes(),
            catalog: &cat,
        };
        let t0 = OffsetDateTime::now_utc();
        assert!(p.before_at(&req, t0).reservation.is_some()); // the proxy never settles this one
        let one: Decimal = p.budgets()[0]["reservedUsd"].as_str().unwrap().parse().unwrap();
        let later = t0 + Duration::minutes(61);
        for _ in 0..62 {
            p.before_at(&req, later);
        }
        let reserved =
            |p: &BudgetPolicy| -> Decimal { p.budgets()[0]["reservedUsd"].as_str().unwrap().parse().unwrap() };
        assert_eq!(reserved(&p), one * Decimal::from(63));
        p.before_at(&req, later); // the 64th request sweeps, then reserves its own
        assert_eq!(reserved(&p), one * Decimal::from(63), "the stale one is gone");
    }

    #[test]
    fn nothing_configured_forwards_without_a_ticket() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy("", &dir.path().join("l.sqlite"));
        assert_eq!(before(&p, "anthropic", "/v1/messages", OPUS, &[]), Verdict::forward());
        assert_eq!(p.budgets(), serde_json::json!([]));
    }

    #[test]
    fn hard_limit_refuses_in_the_provider_shape_and_resumes_from_the_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let mut ledger = Ledger::open(&path).unwrap();
        let mut old = record("anthropic", "0.99");
        old.id = "01".into();
        old.reroute = Some(Reroute::default());
        ledger.insert(&old).unwrap();
        let mut flat = record("local", "5");
        flat.id = "02".into();
        ledger.insert(&flat).unwrap();
        drop(ledger);
        let toml = "[budgets.daily]\nwindow = \"day\"\nusd = 1\nhard_limit = true\n\
                    [proxy.named.local]\nurl = \"http://127.0.0.1:9\"\nkind = \"openai\"\nflat_rate = true\n";
        let p = policy(toml, &path);
        assert_eq!(p.budgets()[0]["spentUsd"], "0.99", "flat-rate spend is not charged");
        // Admitted (and capped at the cheapest model: 99% of the budget is spent).
        let v = before(&p, "anthropic", "/v1/messages", OPUS, &[]);
        assert!(matches!(&v.decision, Decision::Reroute { model, .. } if model == "claude-haiku-4-5"));
        let ticket = v.reservation;
        // The first request's reservation takes the budget past its limit: the next is refused.
        match before(&p, "openai", "/v1/chat/completions", r#"{"model":"gpt-5"}"#, &[]).decision {
            Decision::Refuse { status, message } => {
                assert_eq!(status, 429);
                assert!(message.contains("[budgets.daily]"), "{message}");
            }
            d => panic!("{d:?}"),
        }
        match before(&p, "anthropic", "/v1/messages", OPUS, &[]).decision {
            Decision::Refuse { status, .. } => assert_eq!(status, 402),
            d => panic!("{d:?}"),
        }
        // A flat-rate upstream is never refused.
        let v = before(&p, "local", "/v1/chat/completions", r#"{"model":"qwen3"}"#, &[]);
        assert_eq!(v.decision, Decision::Forward);
        p.settle(&record("anthropic", "0.001"), ticket);
        assert_eq!(p.budgets()[0]["spentUsd"], "0.991");
        assert_eq!(p.budgets()[0]["reservedUsd"], "0");
        assert!(!matches!(
            before(&p, "anthropic", "/v1/messages", OPUS, &[]).decision,
            Decision::Refuse { .. }
        ));
    }

    #[test]
    fn pressure_and_task_rules_reroute() {
        let dir = tempfile::tempdir().unwrap();
        let toml = "[budgets.weekly]\nwindow = \"week\"\nusd = 10\n\
                    [[routing.tasks]]\nname = \"hb\"\ntask = \"heartbeat\"\nmodel = \"claude-haiku-4-5\"\n";
        let p = policy(toml, &dir.path().join("l.sqlite"));
        let v = before(
            &p,
            "anthropic",
            "/v1/messages",
            OPUS,
            &[("x-promptmeter-task", "heartbeat")],
        );
        assert_eq!(
            v.decision,
            Decision::Reroute {
                model: "claude-haiku-4-5".into(),
                upstream: None,
                rule: "task:hb".into()
            }
        );
        p.settle(&record("anthropic", "8.5"), v.reservation);
        let v = before(&p, "anthropic", "/v1/messages", OPUS, &[]);
        assert_eq!(
            v.decision,
            Decision::Reroute {
                model: "claude-sonnet-4-5".into(),
                upstream: None,
                rule: "pressure>85% weekly".into()
            }
        );
        assert_eq!(p.budgets()[0]["level"], "warning");
    }

    #[test]
    fn task_rules_reach_named_upstreams_of_the_same_wire_only() {
        let dir = tempfile::tempdir().unwrap();
        let toml = "[proxy.named.local]\nurl = \"http://127.0.0.1:9\"\nkind = \"openai\"\nflat_rate = true\n\
                    [[routing.tasks]]\nname = \"cron\"\nuser_agent = \"cron\"\nupstream = \"local\"\n";
        let p = policy(toml, &dir.path().join("l.sqlite"));
        let v = before(
            &p,
            "openai",
            "/v1/chat/completions",
            r#"{"model":"gpt-5"}"#,
            &[("user-agent", "cron/1")],
        );
        assert_eq!(
            v.decision,
            Decision::Reroute {
                model: "gpt-5".into(),
                upstream: Some(UpstreamChoice {
                    provider: "local".into(),
                    base_url: "http://127.0.0.1:9".into()
                }),
                rule: "task:cron".into()
            }
        );
        let v = before(&p, "anthropic", "/v1/messages", OPUS, &[("user-agent", "cron/1")]);
        assert_eq!(
            v.decision,
            Decision::Forward,
            "an Anthropic request cannot go to an OpenAI server"
        );
    }
}
