//! The ledger writer: one thread owns the write connection and commits records in groups
//! (everything queued since the last commit goes into one transaction). A caller may wait for
//! its record's commit; ledger trouble is logged and counted, never passed to the user.

use std::sync::Arc;
use std::sync::mpsc;

use promptmeter_ledger::{Ledger, RequestRecord};

use crate::metrics::Metrics;

struct Job {
    record: RequestRecord,
    ack: Option<tokio::sync::oneshot::Sender<bool>>,
}

#[derive(Clone)]
pub struct LedgerWriter {
    tx: mpsc::Sender<Job>,
}

impl LedgerWriter {
    /// Start the writer thread. With no ledger (it failed to open) records are acknowledged
    /// as not written. With a `checkpointer` (a second connection to the same file), WAL
    /// checkpoints run on their own thread every second instead of inside a commit, so that
    /// their fsyncs never delay a response.
    pub fn spawn(ledger: Option<Ledger>, checkpointer: Option<Ledger>, metrics: Arc<Metrics>) -> LedgerWriter {
        let (tx, rx) = mpsc::channel::<Job>();
        if let (Some(w), Some(c)) = (ledger.as_ref(), checkpointer)
            && w.disable_auto_checkpoint().is_ok()
        {
            let _ = std::thread::Builder::new()
                .name("promptmeter-checkpoint".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(std::time::Duration::from_secs(1));
                        if let Err(e) = c.checkpoint() {
                            tracing::debug!("ledger checkpoint: {e:#}");
                        }
                    }
                });
        }
        std::thread::Builder::new()
            .name("promptmeter-ledger".into())
            .spawn(move || run(ledger, rx, metrics))
            .expect("spawning the ledger writer thread");
        LedgerWriter { tx }
    }

    /// Queue a record; the receiver resolves to `true` once it is committed.
    pub fn write(&self, record: RequestRecord) -> tokio::sync::oneshot::Receiver<bool> {
        let (ack, rx) = tokio::sync::oneshot::channel();
        let _ = self.tx.send(Job { record, ack: Some(ack) });
        rx
    }
}

fn run(mut ledger: Option<Ledger>, rx: mpsc::Receiver<Job>, metrics: Arc<Metrics>) {
    // Fault injection for the durability test: a slow disk (milliseconds per commit).
    let slow = std::env::var("PROMPTMETER_TEST_COMMIT_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(std::time::Duration::from_millis);
    while let Ok(first) = rx.recv() {
        if let Some(d) = slow {
            std::thread::sleep(d);
        }
        let mut jobs = vec![first];
        while jobs.len() < 1024 {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let records: Vec<RequestRecord> = jobs.iter().map(|j| j.record.clone()).collect();
        let ok = match ledger.as_mut() {
            Some(l) => match l.insert_batch(&records) {
                Ok(()) => true,
                Err(e) => {
                    metrics.ledger_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!("ledger write failed ({} records): {e:#}", records.len());
                    false
                }
            },
            None => false,
        };
        for j in jobs {
            if let Some(ack) = j.ack {
                let _ = ack.send(ok);
            }
        }
    }
}
