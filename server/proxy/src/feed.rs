//! The live feed: running totals (resumed from the ledger at startup), the latest records,
//! and a broadcast of SSE events (`hello`, `request`, `totals`, `alert`) to subscribers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use promptmeter_core::budget::window::Calendar;
use promptmeter_ledger::window::Windows;
use promptmeter_ledger::{Ledger, RequestRecord, SessionTotals, Totals};
use serde_json::Value;
use tokio::sync::broadcast;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

struct State {
    totals: Totals,
    sessions: HashMap<String, SessionTotals>,
    recent: VecDeque<Arc<RequestRecord>>,
}

pub struct Feed {
    tx: broadcast::Sender<Arc<str>>,
    state: Mutex<State>,
    /// A read connection to the ledger (sessions seen for the first time, day rollover).
    reader: Mutex<Option<Ledger>>,
    calendar: Calendar,
    recent_cap: usize,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One SSE event, ready to write.
pub fn sse_event(name: &str, data: &impl serde::Serialize) -> Arc<str> {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    Arc::from(format!("event: {name}\ndata: {json}\n\n"))
}

impl Feed {
    pub fn new(reader: Option<Ledger>, calendar: Calendar, recent_cap: usize) -> Feed {
        let (tx, _) = broadcast::channel(1024);
        let windows = Windows::at(now_ms(), &calendar);
        let (totals, recent) = match reader.as_ref() {
            Some(l) => load(l, windows, recent_cap),
            None => (Totals::new(windows), VecDeque::new()),
        };
        Feed {
            tx,
            state: Mutex::new(State {
                totals,
                sessions: HashMap::new(),
                recent,
            }),
            reader: Mutex::new(reader),
            calendar,
            recent_cap: recent_cap.max(1),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add a committed record: totals, session, recent list, then `request` and `totals`
    /// events. `budgets` (the policy's `Budget` array as it stands after this record settled)
    /// rides on the `totals` event, so subscribers follow budget pressure with every request.
    pub fn publish(&self, record: RequestRecord, budgets: Value) {
        let now = now_ms();
        let record = Arc::new(record);
        let totals = {
            let mut st = self.state();
            let rolled = st.totals.windows.is_none_or(|w| now >= w.next_day_ms);
            if rolled {
                let windows = Windows::at(now, &self.calendar);
                let reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
                let session = st.totals.session.take();
                st.totals = match reader.as_ref() {
                    // The record is committed: the reload includes it, and leaves out the
                    // records committed with it that are published after it (they add
                    // themselves).
                    Some(l) => {
                        let written = l
                            .written_through(windows.earliest_ms(), &record.id)
                            .unwrap_or_else(|e| {
                                tracing::warn!("reading totals from the ledger: {e:#}");
                                vec![record.as_ref().clone()]
                            });
                        Totals::from_records(windows, &written)
                    }
                    None => Totals::from_records(windows, std::iter::once(record.as_ref())),
                };
                st.totals.session = session;
            } else {
                st.totals.add(&record);
            }
            if let Some(sid) = record.session.clone() {
                let cost = record.spend().unwrap_or_default();
                let entry = match st.sessions.get_mut(&sid) {
                    Some(s) => {
                        s.usd = (s.usd + cost).normalize();
                        s.requests += 1;
                        s.clone()
                    }
                    None => {
                        let reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
                        let (usd, requests) = reader
                            .as_ref()
                            // records of the same commit published after this one add themselves
                            .and_then(|l| l.session_totals_through(&sid, &record.id).ok())
                            .filter(|(_, n)| *n > 0)
                            .unwrap_or((cost, 1));
                        let s = SessionTotals {
                            id: sid.clone(),
                            usd,
                            requests,
                        };
                        st.sessions.insert(sid.clone(), s.clone());
                        s
                    }
                };
                st.totals.session = Some(entry);
            }
            st.recent.push_front(record.clone());
            while st.recent.len() > self.recent_cap {
                st.recent.pop_back();
            }
            // Events are only built when someone listens.
            (self.tx.receiver_count() > 0).then(|| st.totals.clone())
        };
        if let Some(totals) = totals {
            let _ = self.tx.send(sse_event("request", record.as_ref()));
            let mut t = serde_json::to_value(&totals).unwrap_or(Value::Null);
            if let Some(o) = t.as_object_mut() {
                o.insert("budgets".into(), budgets);
            }
            let _ = self.tx.send(sse_event("totals", &t));
        }
    }

    /// Budget alerts (issue 5) go out as `alert` events.
    pub fn publish_alert(&self, alert: &Value) {
        let _ = self.tx.send(sse_event("alert", alert));
    }

    /// Why routing held a rule back for a session (issue 5), as `route` events.
    pub fn publish_route_note(&self, note: &Value) {
        let _ = self.tx.send(sse_event("route", note));
    }

    pub fn totals(&self) -> Totals {
        self.state().totals.clone()
    }

    pub fn recent(&self, limit: usize) -> Vec<Arc<RequestRecord>> {
        self.state().recent.iter().take(limit).cloned().collect()
    }

    /// `Summary`: the totals plus budgets, the latest record and the version.
    pub fn summary(&self, budgets: Value) -> Value {
        let (totals, last) = {
            let st = self.state();
            (st.totals.clone(), st.recent.front().cloned())
        };
        let mut v = serde_json::to_value(&totals).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert("budgets".into(), budgets);
            o.insert(
                "last".into(),
                last.map(|r| serde_json::to_value(r.as_ref()).unwrap_or(Value::Null))
                    .unwrap_or(Value::Null),
            );
            o.insert("version".into(), Value::String(VERSION.into()));
        }
        v
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.tx.subscribe()
    }
}

fn load(l: &Ledger, windows: Windows, recent_cap: usize) -> (Totals, VecDeque<Arc<RequestRecord>>) {
    let records = l.between(windows.earliest_ms(), i64::MAX).unwrap_or_else(|e| {
        tracing::warn!("reading totals from the ledger: {e:#}");
        Vec::new()
    });
    let mut totals = Totals::from_records(windows, &records);
    let recent: VecDeque<Arc<RequestRecord>> = if recent_cap > 0 {
        l.recent(recent_cap)
            .unwrap_or_default()
            .into_iter()
            .map(Arc::new)
            .collect()
    } else {
        VecDeque::new()
    };
    if let Some(sid) = recent.front().and_then(|r| r.session.clone())
        && let Ok((usd, requests)) = l.session_totals(&sid)
    {
        totals.session = Some(SessionTotals { id: sid, usd, requests });
    }
    (totals, recent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    /// Records committed in one transaction are published one by one: a session seen for the
    /// first time must start from the ledger as it stood at its record, not at the group's end.
    #[test]
    fn a_new_session_committed_as_a_group_counts_each_request_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let records: Vec<RequestRecord> = ["01B", "01A", "01C"]
            .iter()
            .map(|id| RequestRecord {
                id: (*id).into(),
                ts_ms: now_ms(),
                provider: "anthropic".into(),
                session: Some("s".into()),
                cost_usd: Some(Decimal::new(255, 6)),
                cost_known: true,
                ..Default::default()
            })
            .collect();
        let mut ledger = Ledger::open(&path).unwrap();
        ledger.insert_batch(&records).unwrap();
        for rollover in [false, true] {
            let feed = Feed::new(Some(Ledger::open_read_only(&path).unwrap()), Calendar::default(), 10);
            // the feed started before the group was committed: nothing counted yet
            feed.state().totals = Totals::new(Windows::at(now_ms(), &Calendar::default()));
            if rollover {
                // the day turned before the group's first record is published: a reload
                feed.state().totals.windows = None;
            }
            for r in records.clone() {
                feed.publish(r, Value::Null);
            }
            let t = feed.totals();
            assert_eq!(
                (t.requests, t.today_usd),
                (3, Decimal::new(765, 6)),
                "rollover {rollover}"
            );
            let s = t.session.unwrap();
            assert_eq!((s.requests, s.usd), (3, Decimal::new(765, 6)), "rollover {rollover}");
        }
    }
}
