//! The spool: where a finished request's record becomes safe from a crash of the proxy before
//! its response is released, at the cost of a memory copy instead of a database commit.
//!
//! The spool is a fixed-size file next to the ledger (`<ledger>.spool`), mapped shared into
//! memory. A record copied into the mapping is in the kernel's page cache at once, so it
//! survives the proxy being killed (SIGKILL, OOM, panic) with no system call and no disk wait.
//! The ledger writer then commits records to SQLite in groups, off the response path; once
//! everything spooled is committed, the spool starts over (a new epoch). At start, records a
//! dead proxy left in the spool are committed (`recover`, idempotent: ids are primary keys).
//!
//! Only one process uses a spool at a time: it holds an exclusive lock on the file. Readers
//! (`report`, `statusline`) recover a spool only when no proxy holds it.
//!
//! Layout: a 64-byte header (`MAGIC`, then the epoch as u64 LE), then 8-aligned entries:
//! epoch u64 LE, payload length u32 LE, CRC-32 of the payload u32 LE, payload (the record as
//! JSON). The entry header is written after its payload, so a torn entry never reads as whole;
//! reading stops at the first entry whose epoch, length or checksum does not match.
//!
//! Like the ledger's WAL with `synchronous=NORMAL`, the spool protects against the process
//! dying, not against the machine losing power.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use memmap2::MmapMut;

use crate::record::RequestRecord;
use crate::store::Ledger;

const MAGIC: &[u8; 8] = b"PMSPOOL1";
const HEADER: usize = 64;
const ENTRY_HEADER: usize = 16;
/// Size of a spool file: room for several thousand records not yet committed.
pub const DEFAULT_SIZE: usize = 4 << 20;

pub struct Spool {
    map: Mutex<Mapped>,
    _file: File,
}

struct Mapped {
    map: MmapMut,
    epoch: u64,
    /// Where the next entry goes.
    offset: usize,
    /// Records spooled and records committed since the epoch began.
    appended: u64,
    committed: u64,
}

/// The spool file of a ledger.
pub fn path_for(ledger: &Path) -> PathBuf {
    let mut name = ledger.file_name().unwrap_or_default().to_os_string();
    name.push(".spool");
    ledger.with_file_name(name)
}

fn align8(n: usize) -> usize {
    (n + 7) & !7
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// The payloads of the current epoch's whole entries, in order.
fn entries(b: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    if b.len() < HEADER || &b[..8] != MAGIC {
        return out;
    }
    let epoch = u64_at(b, 8);
    let mut at = HEADER;
    while at + ENTRY_HEADER <= b.len() {
        let len = u32_at(b, at + 8) as usize;
        let end = at + ENTRY_HEADER + len;
        if u64_at(b, at) != epoch || len == 0 || end > b.len() {
            break;
        }
        let payload = &b[at + ENTRY_HEADER..end];
        if crc32fast::hash(payload) != u32_at(b, at + 12) {
            break;
        }
        out.push(payload);
        at = align8(end);
    }
    out
}

impl Spool {
    /// Open (creating it at `size` bytes) the spool at `path` and lock it. `Ok(None)`: another
    /// process holds it.
    pub fn open(path: &Path, size: usize) -> anyhow::Result<Option<Spool>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("opening spool {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking spool {}", path.display()));
            }
        }
        let len = file.metadata()?.len() as usize;
        if len < HEADER + ENTRY_HEADER {
            // New: allocate every block now (not a sparse file), so that appends never wait
            // for the file system to find space.
            let mut f = &file;
            let zeros = vec![0u8; 64 * 1024];
            let mut left = size.max(HEADER + 4096);
            while left > 0 {
                let n = left.min(zeros.len());
                f.write_all(&zeros[..n])?;
                left -= n;
            }
        }
        // SAFETY: the file is locked by this process for as long as the mapping lives (the
        // lock is held by `_file`, dropped with the `Spool`), and no other code of this
        // process opens it, so nothing changes it under the mapping.
        let mut map = unsafe { MmapMut::map_mut(&file)? };
        if &map[..8] != MAGIC {
            map[8..16].copy_from_slice(&1u64.to_le_bytes());
            map[..8].copy_from_slice(MAGIC);
        }
        let epoch = u64_at(&map, 8);
        Ok(Some(Spool {
            map: Mutex::new(Mapped {
                map,
                epoch,
                offset: HEADER,
                appended: 0,
                committed: 0,
            }),
            _file: file,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mapped> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records left in the spool (by a process that died before committing them).
    pub fn leftover(&self) -> Vec<RequestRecord> {
        let m = self.lock();
        entries(&m.map)
            .into_iter()
            .filter_map(|p| serde_json::from_slice(p).ok())
            .collect()
    }

    /// Copy a record into the spool. `false`: no room (the caller must wait for the ledger).
    pub fn append(&self, record: &RequestRecord) -> bool {
        let Ok(payload) = serde_json::to_vec(record) else {
            return false;
        };
        let mut m = self.lock();
        let at = m.offset;
        let end = at + ENTRY_HEADER + payload.len();
        if end > m.map.len() {
            return false;
        }
        let crc = crc32fast::hash(&payload);
        let epoch = m.epoch;
        m.map[at + ENTRY_HEADER..end].copy_from_slice(&payload);
        std::sync::atomic::fence(std::sync::atomic::Ordering::Release);
        m.map[at + 8..at + 12].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        m.map[at + 12..at + 16].copy_from_slice(&crc.to_le_bytes());
        m.map[at..at + 8].copy_from_slice(&epoch.to_le_bytes());
        m.offset = align8(end);
        m.appended += 1;
        true
    }

    /// `n` spooled records are now in the ledger. Once all are, the spool starts over.
    pub fn committed(&self, n: u64) {
        let mut m = self.lock();
        m.committed += n;
        if m.committed >= m.appended && m.offset > HEADER {
            m.restart();
        }
    }

    /// Records spooled and not yet committed.
    pub fn pending(&self) -> u64 {
        let m = self.lock();
        m.appended.saturating_sub(m.committed)
    }

    /// Forget everything in the spool (after `leftover` records were committed).
    pub fn clear(&self) {
        self.lock().restart();
    }
}

impl Mapped {
    fn restart(&mut self) {
        self.epoch += 1;
        let e = self.epoch;
        self.map[8..16].copy_from_slice(&e.to_le_bytes());
        self.offset = HEADER;
        self.appended = 0;
        self.committed = 0;
    }
}

/// Commit the records a dead proxy left in `ledger_path`'s spool, unless a live one holds it.
/// Returns how many were left over (most are usually committed already; inserts are
/// idempotent).
pub fn recover(ledger_path: &Path) -> anyhow::Result<usize> {
    let path = path_for(ledger_path);
    if !path.exists() {
        return Ok(0);
    }
    let Some(spool) = Spool::open(&path, DEFAULT_SIZE)? else {
        return Ok(0);
    };
    recover_into(&spool, &mut Ledger::open(ledger_path)?)
}

/// Commit `spool`'s leftover records into `ledger` and clear the spool.
pub fn recover_into(spool: &Spool, ledger: &mut Ledger) -> anyhow::Result<usize> {
    let left = spool.leftover();
    if !left.is_empty() {
        ledger.insert_batch(&left)?;
    }
    spool.clear();
    Ok(left.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> RequestRecord {
        RequestRecord {
            id: id.into(),
            provider: "openai".into(),
            ..Default::default()
        }
    }

    fn ids(v: &[RequestRecord]) -> Vec<&str> {
        v.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn what_is_spooled_survives_the_process_and_a_restart_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite.spool");
        let s = Spool::open(&path, 1 << 16).unwrap().unwrap();
        assert!(s.append(&record("a")) && s.append(&record("b")));
        assert_eq!(s.pending(), 2);
        // Another handle on the same file is refused while the first holds it.
        assert!(Spool::open(&path, 1 << 16).unwrap().is_none());
        drop(s); // the process "dies": nothing committed
        let s = Spool::open(&path, 1 << 16).unwrap().unwrap();
        assert_eq!(ids(&s.leftover()), ["a", "b"]);
        s.clear();
        assert!(s.leftover().is_empty());
        drop(s);
        assert!(Spool::open(&path, 1 << 16).unwrap().unwrap().leftover().is_empty());
    }

    #[test]
    fn starts_over_once_everything_spooled_is_committed() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(&dir.path().join("s"), 1 << 16).unwrap().unwrap();
        s.append(&record("a"));
        s.append(&record("b"));
        s.committed(1);
        assert_eq!(ids(&s.leftover()), ["a", "b"], "b is not committed yet");
        s.append(&record("c"));
        s.committed(2);
        assert!(s.leftover().is_empty());
        assert_eq!(s.pending(), 0);
        // The new epoch's entries overwrite the old ones; the old tail is not read back.
        s.append(&record("d"));
        assert_eq!(ids(&s.leftover()), ["d"]);
    }

    #[test]
    fn full_spool_refuses_and_torn_entries_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(&dir.path().join("s"), HEADER + 4096).unwrap().unwrap();
        let mut n = 0;
        while s.append(&record(&format!("r{n}"))) {
            n += 1;
        }
        assert!(n > 5, "{n}");
        assert_eq!(s.leftover().len(), n);
        // Tear the last entry's payload (as a kill in the middle of the copy would leave it).
        let mut m = s.lock();
        let last = m.offset - 12;
        m.map[last] ^= 0xff;
        drop(m);
        assert_eq!(s.leftover().len(), n - 1);
    }

    #[test]
    fn recover_commits_leftovers_once() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("l.sqlite");
        Ledger::open(&ledger).unwrap();
        {
            let s = Spool::open(&path_for(&ledger), DEFAULT_SIZE).unwrap().unwrap();
            s.append(&record("x"));
            s.append(&record("y"));
            // Held: a reader must not take it over.
            assert_eq!(recover(&ledger).unwrap(), 0);
        }
        assert_eq!(recover(&ledger).unwrap(), 2);
        assert_eq!(recover(&ledger).unwrap(), 0);
        let got = Ledger::open_read_only(&ledger).unwrap().recent(10).unwrap();
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn every_field_comes_back() {
        use crate::record::{Composition, Fingerprint, Reroute, UsageRecord};
        let full = RequestRecord {
            id: "01JF".into(),
            ts: "2026-12-03T20:00:00.000Z".into(),
            ts_ms: 1_796_414_400_000,
            provider: "anthropic".into(),
            upstream: "https://api.anthropic.com".into(),
            path: "/v1/messages".into(),
            model_requested: Some("claude-opus-4-5".into()),
            model_served: Some("claude-sonnet-4-5".into()),
            session: Some("s-1".into()),
            project: Some("repo".into()),
            stream: true,
            status: 200,
            incomplete: true,
            usage: UsageRecord {
                input: 1,
                cache_read: 2,
                cache_write5m: 3,
                cache_write1h: 4,
                output: 5,
                reasoning: 6,
            },
            cost_usd: Some("0.001234500".parse().unwrap()),
            cost_known: true,
            latency_ms: 12.5,
            ttft_ms: Some(0.75),
            bytes_in: 7,
            bytes_out: 8,
            composition: Some(Composition {
                system: 1,
                tools: 2,
                history: 3,
                tool_results: 4,
                current_turn: 5,
            }),
            reroute: Some(Reroute {
                from: "claude-opus-4-5".into(),
                rule: "cap".into(),
                counterfactual_cost_usd: Some("0.01".parse().unwrap()),
            }),
            fingerprints: vec![Fingerprint {
                hash: "ab12".into(),
                tokens: 9,
            }],
            error: Some("client_disconnected".into()),
            service_tier: Some("priority".into()),
            captured: Some(serde_json::json!({"request": "hi"})),
            flat_rate: true,
        };
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(&dir.path().join("s"), 1 << 16).unwrap().unwrap();
        assert!(s.append(&full));
        assert_eq!(s.leftover(), [full]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Append(usize),
        Commit(u64),
        Reopen,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (0usize..600).prop_map(Op::Append),
            2 => (0u64..4).prop_map(Op::Commit),
            1 => Just(Op::Reopen),
        ]
    }

    proptest::proptest! {
        /// Whatever the order of appends, commits and restarts, what the spool gives back is
        /// exactly what was appended since it last started over, and it starts over exactly
        /// when everything appended was committed.
        #[test]
        fn gives_back_exactly_what_is_not_known_committed(ops in proptest::collection::vec(op(), 1..60)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s");
            let size = HEADER + 8192;
            let mut s = Spool::open(&path, size).unwrap().unwrap();
            let (mut model, mut committed, mut n) = (Vec::<String>::new(), 0u64, 0);
            for op in ops {
                match op {
                    Op::Append(pad) => {
                        n += 1;
                        let mut r = record(&format!("r{n}"));
                        r.upstream = "x".repeat(pad);
                        if s.append(&r) {
                            model.push(r.id);
                        }
                    }
                    Op::Commit(k) => {
                        let k = k.min(model.len() as u64 - committed.min(model.len() as u64));
                        s.committed(k);
                        committed += k;
                        if committed >= model.len() as u64 && !model.is_empty() {
                            model.clear();
                            committed = 0;
                        }
                    }
                    Op::Reopen => {
                        // A restart: whatever was left is recovered, then cleared.
                        drop(s);
                        s = Spool::open(&path, size).unwrap().unwrap();
                        let left: Vec<String> = s.leftover().into_iter().map(|r| r.id).collect();
                        proptest::prop_assert_eq!(&left, &model);
                        s.clear();
                        model.clear();
                        committed = 0;
                    }
                }
                let left: Vec<String> = s.leftover().into_iter().map(|r| r.id).collect();
                proptest::prop_assert_eq!(&left, &model);
            }
        }
    }

    #[test]
    fn garbage_files_read_as_empty() {
        assert!(entries(b"").is_empty());
        assert!(entries(&[0xffu8; 4096]).is_empty());
        let mut b = vec![0u8; 4096];
        b[..8].copy_from_slice(MAGIC);
        b[8..16].copy_from_slice(&7u64.to_le_bytes());
        b[HEADER..HEADER + 8].copy_from_slice(&7u64.to_le_bytes());
        b[HEADER + 8..HEADER + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(entries(&b).is_empty(), "a length past the end");
    }
}
