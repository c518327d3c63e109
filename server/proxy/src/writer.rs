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
    /// as not written. SQLite's automatic WAL checkpoints run in this thread after a commit;
    /// as the only writer it completes them, so the WAL stays small under steady load, and
    /// responses (spooled) do not wait for their fsyncs.
    pub fn spawn(ledger: Option<Ledger>, spool: Option<Spool>, metrics: Arc<Metrics>) -> LedgerWriter {
        let (tx, rx) = mpsc::channel::<Job>();
        let spool = spool.map(Arc::new);
        let on_commit: Arc<OnceLock<OnCommit>> = Arc::default();
        let thread = Thread {
            ledger,
            spool: spool.clone(),
            on_commit: on_commit.clone(),
            metrics,
            retry: Vec::new(),
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
    /// Records whose commit failed (disk full, ledger locked by another program), with whether
    /// they are spooled: tried again with the next group, or after `RETRY_EVERY`.
    retry: Vec<(RequestRecord, bool)>,
    /// Fault injection for the durability tests: a slow disk (this long per commit).
    slow: Option<Duration>,
}

/// How long spooled records gather before their group is committed (see `Thread::run`).
const LINGER: Duration = Duration::from_millis(2);
/// How often failed commits are tried again when nothing else comes.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// Most failed records kept for another try (the oldest go first; spooled ones stay in the
/// spool for the next start).
const MAX_RETRY: usize = 10_000;

impl Thread {
    fn run(mut self, rx: mpsc::Receiver<Job>) {
        loop {
            let first = if self.retry.is_empty() {
                rx.recv().ok()
            } else {
                match rx.recv_timeout(RETRY_EVERY) {
                    Ok(j) => Some(j),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            };
            // A spooled record is already safe: let the records that follow it gather for a
            // moment (without waking this thread for each) and commit them as one group.
            // Under load this turns a transaction and a thread wake-up per request into one
            // per `LINGER`; anyone waiting (`flush`, an unspooled record) waits that much more.
            if matches!(first, Some(Job::Record { spooled: true, .. })) {
                std::thread::sleep(LINGER);
            }
            let mut jobs: Vec<Job> = first.into_iter().collect();
            if jobs.is_empty() && self.retry.is_empty() {
                break; // every sender is gone
            }
            while jobs.len() < 1024 {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            self.group(jobs);
        }
    }

    /// Commit what failed before and `jobs`' records in one transaction, then publish the new
    /// records and answer everyone waiting.
    fn group(&mut self, mut jobs: Vec<Job>) {
        let mut batch = std::mem::take(&mut self.retry);
        let old = batch.len();
        for j in &mut jobs {
            if let Job::Record { record, spooled, .. } = j {
                batch.push((std::mem::take(&mut **record), *spooled));
            }
        }
        let records: Vec<RequestRecord> = batch.iter().map(|(r, _)| r.clone()).collect();
        let spooled = batch.iter().filter(|(_, s)| *s).count() as u64;
        let ok = !records.is_empty() && self.commit(&records, spooled);
        let fresh: Vec<RequestRecord> = records.into_iter().skip(old).collect();
        if ok {
            if let Some(s) = &self.spool {
                s.committed(spooled);
            }
        } else if self.ledger.is_some() {
            let excess = batch.len().saturating_sub(MAX_RETRY);
            batch.drain(..excess);
            self.retry = batch;
        }
        let mut fresh = fresh.into_iter();
        for j in jobs {
            match j {
                Job::Record { ack, .. } => {
                    if let Some(r) = fresh.next()
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
                tracing::warn!("ledger write failed ({} records, will retry): {e:#}", records.len());
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
        let w = LedgerWriter::spawn(Some(Ledger::open(path).unwrap()), spool, Arc::default());
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
    async fn a_failed_commit_is_tried_again_and_published_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let (w, published) = writer(&path, true);
        let other = rusqlite::Connection::open(&path).unwrap();
        // The table goes away under the writer: its commit fails.
        other.execute_batch("ALTER TABLE requests RENAME TO elsewhere").unwrap();
        w.write(record("a"));
        w.flush().await;
        assert_eq!(w.spool.as_ref().unwrap().pending(), 1, "still only in the spool");
        assert_eq!(*published.lock().unwrap(), ["a"], "the feed shows it anyway");
        other.execute_batch("ALTER TABLE elsewhere RENAME TO requests").unwrap();
        // The next group takes it along.
        w.write(record("b"));
        w.flush().await;
        assert_eq!(ids(&path), ["a", "b"]);
        assert_eq!(*published.lock().unwrap(), ["a", "b"]);
        assert_eq!(w.spool.as_ref().unwrap().pending(), 0);
    }

    #[tokio::test]
    async fn no_ledger_acknowledges_not_written_and_still_publishes() {
        let w = LedgerWriter::spawn(None, None, Arc::default());
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
