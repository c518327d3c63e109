//! Prometheus metrics (`/_promptmeter/metrics`): requests, tokens and cost per provider and
//! model, the proxy's own added latency (time spent in the proxy, excluding the upstream),
//! open streams, ledger errors.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use promptmeter_ledger::RequestRecord;
use rust_decimal::Decimal;

/// Bucket bounds of the added-latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.000_05, 0.000_1, 0.000_2, 0.000_3, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25,
];

#[derive(Default)]
struct Counters {
    requests: BTreeMap<(String, String, u16), u64>,
    tokens: BTreeMap<(String, String, &'static str), u64>,
    cost: BTreeMap<(String, String), Decimal>,
    incomplete: u64,
}

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
    added_buckets: [AtomicU64; BUCKETS.len()],
    added_count: AtomicU64,
    added_sum_ns: AtomicU64,
    pub open_streams: AtomicI64,
    pub ledger_errors: AtomicU64,
    /// Records committed whose responses went out once they were spooled / after the commit.
    ledger_spooled: AtomicU64,
    ledger_waited: AtomicU64,
    /// Ledger transactions, the time they took, and how many took over 0.25 / 0.5 / 1 ms.
    ledger_commits: AtomicU64,
    ledger_commit_ns: AtomicU64,
    ledger_commit_slow: [AtomicU64; 3],
    pub feed_subscribers: AtomicI64,
    pub passthrough: AtomicU64,
}

impl Metrics {
    /// Time the proxy itself added to a request (before sending upstream + after the
    /// upstream's response headers arrived, until ours were ready).
    pub fn observe_added(&self, nanos: u64) {
        let secs = nanos as f64 / 1e9;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.added_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.added_count.fetch_add(1, Ordering::Relaxed);
        self.added_sum_ns.fetch_add(nanos, Ordering::Relaxed);
    }

    /// A ledger transaction of `records` records (`spooled` of them spooled first) took `took`.
    pub fn observe_commit(&self, records: u64, spooled: u64, took: std::time::Duration) {
        self.ledger_spooled.fetch_add(spooled, Ordering::Relaxed);
        self.ledger_waited.fetch_add(records - spooled, Ordering::Relaxed);
        self.ledger_commits.fetch_add(1, Ordering::Relaxed);
        self.ledger_commit_ns
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
        for (i, us) in [250, 500, 1000].into_iter().enumerate() {
            if took.as_micros() > us {
                self.ledger_commit_slow[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn record(&self, r: &RequestRecord) {
        let model = r
            .model_served
            .clone()
            .or_else(|| r.model_requested.clone())
            .unwrap_or_else(|| "unknown".into());
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *c.requests
            .entry((r.provider.clone(), model.clone(), r.status))
            .or_default() += 1;
        let u = &r.usage;
        for (kind, n) in [
            ("input", u.input),
            ("cache_read", u.cache_read),
            ("cache_write_5m", u.cache_write5m),
            ("cache_write_1h", u.cache_write1h),
            ("output", u.output),
            ("reasoning", u.reasoning),
        ] {
            *c.tokens.entry((r.provider.clone(), model.clone(), kind)).or_default() += n;
        }
        if let Some(cost) = r.spend() {
            *c.cost.entry((r.provider.clone(), model)).or_default() += cost;
        }
        if r.incomplete {
            c.incomplete += 1;
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        out.push_str("# HELP promptmeter_requests_total Metered requests by provider, model and status.\n");
        out.push_str("# TYPE promptmeter_requests_total counter\n");
        for ((p, m, s), n) in &c.requests {
            let _ = writeln!(
                out,
                "promptmeter_requests_total{{provider=\"{}\",model=\"{}\",status=\"{s}\"}} {n}",
                esc(p),
                esc(m)
            );
        }
        out.push_str("# HELP promptmeter_tokens_total Tokens by provider, model and kind.\n");
        out.push_str("# TYPE promptmeter_tokens_total counter\n");
        for ((p, m, k), n) in &c.tokens {
            let _ = writeln!(
                out,
                "promptmeter_tokens_total{{provider=\"{}\",model=\"{}\",kind=\"{k}\"}} {n}",
                esc(p),
                esc(m)
            );
        }
        out.push_str(
            "# HELP promptmeter_cost_usd_total Spend in USD by provider and model (flat-rate upstreams add 0).\n",
        );
        out.push_str("# TYPE promptmeter_cost_usd_total counter\n");
        for ((p, m), d) in &c.cost {
            let _ = writeln!(
                out,
                "promptmeter_cost_usd_total{{provider=\"{}\",model=\"{}\"}} {d}",
                esc(p),
                esc(m)
            );
        }
        let _ = writeln!(
            out,
            "# TYPE promptmeter_incomplete_requests_total counter\npromptmeter_incomplete_requests_total {}",
            c.incomplete
        );
        drop(c);
        out.push_str(
            "# HELP promptmeter_added_latency_seconds Time the proxy adds to a request (upstream excluded).\n",
        );
        out.push_str("# TYPE promptmeter_added_latency_seconds histogram\n");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "promptmeter_added_latency_seconds_bucket{{le=\"{b}\"}} {}",
                self.added_buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.added_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "promptmeter_added_latency_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "promptmeter_added_latency_seconds_sum {}",
            self.added_sum_ns.load(Ordering::Relaxed) as f64 / 1e9
        );
        let _ = writeln!(out, "promptmeter_added_latency_seconds_count {count}");
        for (name, help, v) in [
            (
                "promptmeter_open_streams",
                "Responses being relayed now.",
                self.open_streams.load(Ordering::Relaxed),
            ),
            (
                "promptmeter_feed_subscribers",
                "Connected feed subscribers.",
                self.feed_subscribers.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        for (name, v) in [
            (
                "promptmeter_ledger_errors_total",
                self.ledger_errors.load(Ordering::Relaxed),
            ),
            (
                "promptmeter_passthrough_requests_total",
                self.passthrough.load(Ordering::Relaxed),
            ),
            (
                "promptmeter_ledger_commits_total",
                self.ledger_commits.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(out, "# TYPE {name} counter\n{name} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP promptmeter_ledger_records_total Records committed; `spooled`: their responses went out once the record was in the spool, `waited`: after the commit.\n\
             # TYPE promptmeter_ledger_records_total counter\n\
             promptmeter_ledger_records_total{{path=\"spooled\"}} {}\n\
             promptmeter_ledger_records_total{{path=\"waited\"}} {}",
            self.ledger_spooled.load(Ordering::Relaxed),
            self.ledger_waited.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP promptmeter_ledger_commit_seconds_total Time spent in ledger transactions.\n\
             # TYPE promptmeter_ledger_commit_seconds_total counter\n\
             promptmeter_ledger_commit_seconds_total {}\n\
             # HELP promptmeter_ledger_slow_commits_total Ledger transactions that took longer than `over` seconds.\n\
             # TYPE promptmeter_ledger_slow_commits_total counter\n\
             promptmeter_ledger_slow_commits_total{{over=\"0.00025\"}} {}\n\
             promptmeter_ledger_slow_commits_total{{over=\"0.0005\"}} {}\n\
             promptmeter_ledger_slow_commits_total{{over=\"0.001\"}} {}",
            self.ledger_commit_ns.load(Ordering::Relaxed) as f64 / 1e9,
            self.ledger_commit_slow[0].load(Ordering::Relaxed),
            self.ledger_commit_slow[1].load(Ordering::Relaxed),
            self.ledger_commit_slow[2].load(Ordering::Relaxed)
        );
        out
    }
}
