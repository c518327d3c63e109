//! Nothing lost: a proxy killed with SIGKILL under load loses no request whose response had
//! completed (the record is committed before the client sees the end of the response), and a
//! restarted proxy resumes the same totals.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use promptmeter_e2e::fake_upstream;
use promptmeter_e2e::proxy_harness::{ProxyProcess, get, try_request};
use promptmeter_ledger::Ledger;
use serde_json::json;

#[test]
fn sigkill_under_load_loses_no_completed_request() {
    killed_under_load(false);
}

/// Without the spool (another process holds it), responses wait for their commits instead:
/// still nothing lost, with no recovery needed.
#[test]
fn without_the_spool_sigkill_loses_nothing_either() {
    killed_under_load(true);
}

fn killed_under_load(spool_held_elsewhere: bool) {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_upstream::spawn();
    let ledger = dir.path().join("ledger.sqlite");
    let held = spool_held_elsewhere.then(|| {
        let path = promptmeter_ledger::spool::path_for(&ledger);
        promptmeter_ledger::spool::Spool::open(&path, 1 << 16).unwrap().unwrap()
    });
    // A slow disk (5 ms a commit) widens the window in which a record could be lost if the
    // proxy released a response before its commit.
    let mut proxy = ProxyProcess::start_env(&fake.url(), &ledger, &[], &[("PROMPTMETER_TEST_COMMIT_DELAY_MS", "5")]);
    let addr = proxy.addr.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let completed: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut clients = Vec::new();
    for t in 0..8 {
        let (addr, stop, completed) = (addr.clone(), stop.clone(), completed.clone());
        clients.push(std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let tag = format!("t{t}-{i}");
                let (path, body) = match i % 4 {
                    0 => (
                        "/v1/messages",
                        json!({"model": "claude-sonnet-4-5", "stream": true, "messages": []}),
                    ),
                    1 => ("/v1/messages", json!({"model": "claude-sonnet-4-5", "messages": []})),
                    2 => (
                        "/v1/chat/completions",
                        json!({"model": "gpt-5", "stream": true, "messages": []}),
                    ),
                    _ => (
                        "/v1/responses",
                        json!({"model": "gpt-5", "stream": true, "input": "hi"}),
                    ),
                };
                let h = [
                    ("x-promptmeter-session", tag.as_str()),
                    ("Content-Type", "application/json"),
                ];
                match try_request(&addr, "POST", path, &h, body.to_string().as_bytes()) {
                    Some(r) if r.status == 200 && r.complete => completed.lock().unwrap().push(tag),
                    _ => {}
                }
            }
        }));
    }
    // Kill in the middle of the load, once a good number of requests have completed.
    let start = Instant::now();
    while completed.lock().unwrap().len() < 300 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    proxy.kill(); // SIGKILL
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let completed = completed.lock().unwrap().clone();
    assert!(
        completed.len() >= 300,
        "load did not run: {} completed",
        completed.len()
    );

    // A response goes out once its record is in the spool; what the dead proxy had not yet
    // committed is committed by the next process that opens the ledger (`report`,
    // `statusline`, a restarted proxy).
    if spool_held_elsewhere {
        assert!(held.unwrap().leftover().is_empty(), "the proxy never wrote to it");
    } else {
        let recovered = promptmeter_ledger::spool::recover(&ledger).unwrap();
        eprintln!("{recovered} records recovered from the spool");
    }
    let records = Ledger::open_read_only(&ledger).unwrap().recent(1_000_000).unwrap();
    let in_ledger: HashSet<&str> = records
        .iter()
        .filter(|r| !r.incomplete)
        .filter_map(|r| r.session.as_deref())
        .collect();
    let lost: Vec<&String> = completed.iter().filter(|t| !in_ledger.contains(t.as_str())).collect();
    assert!(
        lost.is_empty(),
        "{} of {} completed requests lost: {:?}",
        lost.len(),
        completed.len(),
        &lost[..lost.len().min(10)]
    );

    // A restart resumes the same totals from the ledger.
    let restarted = ProxyProcess::start(&fake.url(), &ledger);
    let summary = get(&restarted.addr, "/_promptmeter/summary").json();
    assert_eq!(summary["requests"], records.len() as u64);
    let sum: rust_decimal::Decimal = records.iter().filter_map(|r| r.cost_usd).sum();
    assert_eq!(summary["todayUsd"], sum.normalize().to_string());
}
