//! The ledger writer: one thread owns the SQLite write connection and commits records in
//! groups (everything queued since its last commit goes into one transaction), then hands
//! each committed record to the feed (`on_commit`), whose totals read what is committed.
//!
//! A response does not wait for that commit. Before it is released, its record is copied into
//! the spool (`promptmeter_ledger::spool`), a shared file mapping that outlives a killed
//! process, so a completed request is never lost and costs the response a memory copy instead
//! of a database transaction. When there is no spool (another process holds it, or it is
//! full), the response waits for the commit as before, for at most `COMMIT_WAIT` (fail open).
//! `flush` waits until everything written before it is committed and published: the proxy's
//! own endpoints call it, so what they report includes every response already released.
//!
//! Ledger trouble is logged and counted, never passed to the user.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use promptmeter_ledger::spool::Spool;
use promptmeter_ledger::{Ledger, RequestRecord};
use tokio::sync::oneshot;

use crate::metrics::Metrics;

/// Longest a response (or `flush`) waits for a commit before it goes on anyway (fail open).
pub const COMMIT_WAIT: Duration = Duration::from_secs(2);

type OnCommit = Box<dyn Fn(RequestRecord) + Send + Sync>;

enum Job {
    Record {
        record: Box<RequestRecord>,
        spooled: bool,
        ack: Option<oneshot::Sender<bool>>,
    },
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct LedgerWriter {
    tx: mpsc::Sender<Job>,
    spool: Option<Arc<Spool>>,
    on_commit: Arc<OnceLock<OnCommit>>,
}

/// What a response must wait for before its end is released.
pub enum Ack {
    /// Nothing: the record is in the spool.
    Spooled,
    /// The commit (`true` once committed).
    Commit(oneshot::Receiver<bool>),
}

impl LedgerWriter {
    /// Start the writer thread. With no ledger (it failed to open) records are acknowledged
    /// as not written. With a `checkpointer` (a second connection to the same file), WAL
    /// checkpoints run on their own thread every second instead of inside a commit, so that
    /// their fsyncs never delay a commit.
    pub fn spawn(
        ledger: Option<Ledger>,
        checkpointer: Option<Ledger>,
        spool: Option<Spool>,
        metrics: Arc<Metrics>,
    ) -> LedgerWriter {
        let (tx, rx) = mpsc::channel::<Job>();
        if let (Some(w), Some(c)) = (ledger.as_ref(), checkpointer)
            && w.disable_auto_checkpoint().is_ok()
        {
            let _ = std::thread::Builder::new()
                .name("promptmeter-checkpoint".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(1));
                        if let Err(e) = c.checkpoint() {
                            tracing::debug!("ledger checkpoint: {e:#}");
                        }
                    }
                });
        }
        let spool = spool.map(Arc::new);
        let on_commit: Arc<OnceLock<OnCommit>> = Arc::default();
        let thread = Thread {
            ledger,
            spool: spool.clone(),
            on_commit: on_commit.clone(),
            metrics,
            slow: std::env::var("PROMPTMETER_TEST_COMMIT_DELAY_MS")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_millis),
        };
        std::thread::Builder::new()
            .name("promptmeter-ledger".into())
            .spawn(move || thread.run(rx))
            .expect("spawning the ledger writer thread");
        LedgerWriter { tx, spool, on_commit }
    }

    /// What to do with each record once it is committed (or failed to be). Set once.
    pub fn on_commit(&self, f: impl Fn(RequestRecord) + Send + Sync + 'static) {
        let _ = self.on_commit.set(Box::new(f));
    }

    /// Make a record safe (spool) and queue its commit.
    pub fn write(&self, record: RequestRecord) -> Ack {
        let spooled = self.spool.as_ref().is_some_and(|s| s.append(&record));
        if spooled {
            let _ = self.tx.send(Job::Record {
                record: Box::new(record),
                spooled,
                ack: None,
            });
            return Ack::Spooled;
        }
        let (ack, rx) = oneshot::channel();
        let _ = self.tx.send(Job::Record {
            record: Box::new(record),
            spooled,
            ack: Some(ack),
        });
        Ack::Commit(rx)
    }

    /// Wait (at most `COMMIT_WAIT`) until every record written before is committed and
    /// published.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Job::Flush(tx)).is_ok() {
            let _ = tokio::time::timeout(COMMIT_WAIT, rx).await;
        }
    }
}

impl Ack {
    /// Wait for what the response must wait for (at most `COMMIT_WAIT`).
    pub async fn wait(self) {
        if let Ack::Commit(rx) = self {
            let _ = tokio::time::timeout(COMMIT_WAIT, rx).await;
        }
    }
}

struct Thread {
    ledger: Option<Ledger>,
    spool: Option<Arc<Spool>>,
    on_commit: Arc<OnceLock<OnCommit>>,
    metrics: Arc<Metrics>,
    /// Fault injection for the durability tests: a slow disk (this long per commit).
    slow: Option<Duration>,
}

impl Thread {
    fn run(mut self, rx: mpsc::Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            while jobs.len() < 1024 {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            let mut records = Vec::with_capacity(jobs.len());
            let mut spooled = 0;
            for j in &mut jobs {
                if let Job::Record { record, spooled: s, .. } = j {
                    records.push(std::mem::take(&mut **record));
                    spooled += u64::from(*s);
                }
            }
            let ok = !records.is_empty() && self.commit(&records, spooled);
            if ok && let Some(s) = &self.spool {
                s.committed(spooled);
            }
            let mut records = records.into_iter();
            for j in jobs {
                match j {
                    Job::Record { ack, .. } => {
                        if let Some(r) = records.next()
                            && let Some(f) = self.on_commit.get()
                        {
                            f(r);
                        }
                        if let Some(ack) = ack {
                            let _ = ack.send(ok);
                        }
                    }
                    Job::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        }
    }

    fn commit(&mut self, records: &[RequestRecord], spooled: u64) -> bool {
        let Some(l) = self.ledger.as_mut() else {
            return false;
        };
        let start = Instant::now();
        if let Some(d) = self.slow {
            std::thread::sleep(d);
        }
        let ok = match l.insert_batch(records) {
            Ok(()) => true,
            Err(e) => {
                self.metrics.ledger_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("ledger write failed ({} records): {e:#}", records.len());
                false
            }
        };
        self.metrics
            .observe_commit(records.len() as u64, spooled, start.elapsed());
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptmeter_ledger::spool;
    use std::sync::Mutex;

    fn record(id: &str) -> RequestRecord {
        RequestRecord {
            id: id.into(),
            provider: "openai".into(),
            ..Default::default()
        }
    }

    fn ids(path: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = Ledger::open_read_only(path)
            .unwrap()
            .recent(100)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        v.sort();
        v
    }

    fn writer(path: &std::path::Path, with_spool: bool) -> (LedgerWriter, Arc<Mutex<Vec<String>>>) {
        let spool = with_spool.then(|| {
            Spool::open(&spool::path_for(path), spool::DEFAULT_SIZE)
                .unwrap()
                .unwrap()
        });
        let w = LedgerWriter::spawn(Some(Ledger::open(path).unwrap()), None, spool, Arc::default());
        let published: Arc<Mutex<Vec<String>>> = Arc::default();
        let p = published.clone();
        w.on_commit(move |r| p.lock().unwrap().push(r.id));
        (w, published)
    }

    #[tokio::test]
    async fn spooled_records_are_committed_then_published_and_flush_waits_for_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let (w, published) = writer(&path, true);
        for id in ["a", "b", "c"] {
            assert!(matches!(w.write(record(id)), Ack::Spooled));
        }
        w.flush().await;
        assert_eq!(ids(&path), ["a", "b", "c"]);
        assert_eq!(*published.lock().unwrap(), ["a", "b", "c"]);
        // All committed: the spool started over.
        assert_eq!(w.spool.as_ref().unwrap().pending(), 0);
        assert!(w.spool.as_ref().unwrap().leftover().is_empty());
    }

    #[tokio::test]
    async fn without_a_spool_the_response_waits_for_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let (w, published) = writer(&path, false);
        let Ack::Commit(rx) = w.write(record("q")) else {
            panic!("no spool: must wait")
        };
        assert!(rx.await.unwrap());
        assert_eq!(ids(&path), ["q"]);
        assert_eq!(*published.lock().unwrap(), ["q"]);
    }

    #[tokio::test]
    async fn no_ledger_acknowledges_not_written_and_still_publishes() {
        let w = LedgerWriter::spawn(None, None, None, Arc::default());
        let published: Arc<Mutex<Vec<String>>> = Arc::default();
        let p = published.clone();
        w.on_commit(move |r| p.lock().unwrap().push(r.id));
        let Ack::Commit(rx) = w.write(record("z")) else {
            panic!("no spool")
        };
        assert!(!rx.await.unwrap());
        assert_eq!(*published.lock().unwrap(), ["z"]);
    }
}
