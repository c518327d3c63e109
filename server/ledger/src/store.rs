//! The SQLite ledger file: WAL journal, versioned migrations (`PRAGMA user_version`), one row
//! per request. Money is stored as decimal text and summed in `Decimal`, never as floats.
//!
//! Durability: WAL with `synchronous=NORMAL` makes every committed transaction survive a
//! killed process (SIGKILL); only a power loss can take the last transactions back.

use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, Row, params};
use rust_decimal::Decimal;

use crate::record::{Composition, RequestRecord, Reroute, UsageRecord};

/// Migrations in order; entry i brings the schema from version i to i + 1. Never edit a
/// released entry: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the requests table, with routing columns ready for issue 5.
    "CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        ts_ms INTEGER NOT NULL,
        ts TEXT NOT NULL,
        provider TEXT NOT NULL,
        upstream TEXT NOT NULL,
        path TEXT NOT NULL,
        model_requested TEXT,
        model_served TEXT,
        session TEXT,
        project TEXT,
        stream INTEGER NOT NULL,
        status INTEGER NOT NULL,
        incomplete INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL,
        cache_write_5m_tokens INTEGER NOT NULL,
        cache_write_1h_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cost_usd TEXT,
        cost_known INTEGER NOT NULL,
        latency_ms REAL NOT NULL,
        ttft_ms REAL,
        bytes_in INTEGER NOT NULL,
        bytes_out INTEGER NOT NULL,
        composition TEXT,
        fingerprints TEXT,
        reroute_from TEXT,
        reroute_rule TEXT,
        counterfactual_cost_usd TEXT,
        error TEXT,
        service_tier TEXT,
        captured TEXT
    );
    CREATE INDEX requests_ts ON requests(ts_ms);
    CREATE INDEX requests_session ON requests(session, ts_ms);",
    // 2: requests served by a flat-rate upstream (their cost_usd is the API equivalent).
    "ALTER TABLE requests ADD COLUMN flat_rate INTEGER NOT NULL DEFAULT 0;",
];

pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

pub struct Ledger {
    conn: Connection,
}

const COLUMNS: &str = "id, ts_ms, ts, provider, upstream, path, model_requested, model_served, session, project, \
    stream, status, incomplete, input_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, \
    output_tokens, reasoning_tokens, cost_usd, cost_known, latency_ms, ttft_ms, bytes_in, bytes_out, composition, \
    fingerprints, reroute_from, reroute_rule, counterfactual_cost_usd, error, service_tier, captured, flat_rate";

impl Ledger {
    /// Open (creating it and its directory if needed) and migrate the ledger at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Ledger> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let conn = Connection::open(path).with_context(|| format!("opening ledger {}", path.display()))?;
        Self::init(conn)
    }

    /// Open read-only (reports, statusline): never creates or migrates.
    pub fn open_read_only(path: &Path) -> anyhow::Result<Ledger> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening ledger {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        anyhow::ensure!(
            version <= SCHEMA_VERSION,
            "ledger {} has schema version {version}, newer than this promptmeter ({SCHEMA_VERSION})",
            path.display()
        );
        Ok(Ledger { conn })
    }

    fn init(mut conn: Connection) -> anyhow::Result<Ledger> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        anyhow::ensure!(
            version <= SCHEMA_VERSION,
            "ledger has schema version {version}, newer than this promptmeter ({SCHEMA_VERSION})"
        );
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)
                .with_context(|| format!("ledger migration {}", i + 1))?;
            tx.pragma_update(None, "user_version", (i + 1) as u32)?;
            tx.commit()?;
        }
        Ok(Ledger { conn })
    }

    pub fn schema_version(&self) -> anyhow::Result<u32> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    pub fn insert(&mut self, r: &RequestRecord) -> anyhow::Result<()> {
        self.insert_batch(std::slice::from_ref(r))
    }

    /// Insert records in one transaction (group commit). A record whose id exists is kept
    /// as it was (inserts are idempotent).
    pub fn insert_batch(&mut self, records: &[RequestRecord]) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let sql = format!(
                "INSERT OR IGNORE INTO requests ({COLUMNS}) VALUES \
                 (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28,?29,?30,?31,?32,?33,?34)"
            );
            let mut stmt = tx.prepare_cached(&sql)?;
            for r in records {
                let u = &r.usage;
                stmt.execute(params![
                    r.id,
                    r.ts_ms,
                    r.ts,
                    r.provider,
                    r.upstream,
                    r.path,
                    r.model_requested,
                    r.model_served,
                    r.session,
                    r.project,
                    r.stream,
                    r.status,
                    r.incomplete,
                    u.input as i64,
                    u.cache_read as i64,
                    u.cache_write5m as i64,
                    u.cache_write1h as i64,
                    u.output as i64,
                    u.reasoning as i64,
                    r.cost_usd.map(|d| d.to_string()),
                    r.cost_known,
                    r.latency_ms,
                    r.ttft_ms,
                    r.bytes_in as i64,
                    r.bytes_out as i64,
                    r.composition.map(|c| serde_json::to_string(&c).unwrap_or_default()),
                    if r.fingerprints.is_empty() {
                        None
                    } else {
                        serde_json::to_string(&r.fingerprints).ok()
                    },
                    r.reroute.as_ref().map(|x| x.from.clone()),
                    r.reroute.as_ref().map(|x| x.rule.clone()),
                    r.reroute
                        .as_ref()
                        .and_then(|x| x.counterfactual_cost_usd)
                        .map(|d| d.to_string()),
                    r.error,
                    r.service_tier,
                    r.captured.as_ref().map(|v| v.to_string()),
                    r.flat_rate,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The latest `limit` records, newest first.
    pub fn recent(&self, limit: usize) -> anyhow::Result<Vec<RequestRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM requests ORDER BY ts_ms DESC, id DESC LIMIT ?1");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([limit as i64], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records with `since_ms <= ts_ms < until_ms`, oldest first.
    pub fn between(&self, since_ms: i64, until_ms: i64) -> anyhow::Result<Vec<RequestRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM requests WHERE ts_ms >= ?1 AND ts_ms < ?2 ORDER BY ts_ms, id");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([since_ms, until_ms], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records with `since_ms <= ts_ms` written no later than record `id` (records committed
    /// after it, in the same transaction or later, are left out), oldest first.
    pub fn written_through(&self, since_ms: i64, id: &str) -> anyhow::Result<Vec<RequestRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM requests WHERE ts_ms >= ?1 \
             AND rowid <= (SELECT rowid FROM requests WHERE id = ?2) ORDER BY ts_ms, id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![since_ms, id], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Total spend and request count of one session (all time; flat-rate requests cost
    /// nothing).
    pub fn session_totals(&self, session: &str) -> anyhow::Result<(Decimal, u64)> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT cost_usd, flat_rate FROM requests WHERE session = ?1")?;
        Self::sum_spend(stmt.query([session])?)
    }

    /// A session's spend and requests as they stood once record `id` was written (records
    /// committed after it, in the same transaction or later, are left out): what a feed that
    /// publishes the records of a group one by one must start from.
    pub fn session_totals_through(&self, session: &str, id: &str) -> anyhow::Result<(Decimal, u64)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT cost_usd, flat_rate FROM requests WHERE session = ?1 \
             AND rowid <= (SELECT rowid FROM requests WHERE id = ?2)",
        )?;
        Self::sum_spend(stmt.query([session, id])?)
    }

    fn sum_spend(mut rows: rusqlite::Rows<'_>) -> anyhow::Result<(Decimal, u64)> {
        let (mut usd, mut n) = (Decimal::ZERO, 0u64);
        while let Some(row) = rows.next()? {
            n += 1;
            if let (Some(s), false) = (row.get::<_, Option<String>>(0)?, row.get::<_, bool>(1)?) {
                usd += s.parse::<Decimal>().unwrap_or_default();
            }
        }
        Ok((usd.normalize(), n))
    }

    pub fn count(&self) -> anyhow::Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM requests", [], |r| r.get::<_, i64>(0))? as u64)
    }

    pub fn get(&self, id: &str) -> anyhow::Result<Option<RequestRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM requests WHERE id = ?1");
        Ok(self.conn.query_row(&sql, [id], from_row).optional()?)
    }
}

fn dec(s: Option<String>) -> Option<Decimal> {
    s.and_then(|s| s.parse().ok())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<RequestRecord> {
    let u = |i: usize| -> rusqlite::Result<u64> { Ok(row.get::<_, i64>(i)?.max(0) as u64) };
    let reroute_from: Option<String> = row.get(27)?;
    let reroute = match reroute_from {
        Some(from) => Some(Reroute {
            from,
            rule: row.get::<_, Option<String>>(28)?.unwrap_or_default(),
            counterfactual_cost_usd: dec(row.get(29)?),
        }),
        None => None,
    };
    Ok(RequestRecord {
        id: row.get(0)?,
        ts_ms: row.get(1)?,
        ts: row.get(2)?,
        provider: row.get(3)?,
        upstream: row.get(4)?,
        path: row.get(5)?,
        model_requested: row.get(6)?,
        model_served: row.get(7)?,
        session: row.get(8)?,
        project: row.get(9)?,
        stream: row.get(10)?,
        status: row.get(11)?,
        incomplete: row.get(12)?,
        usage: UsageRecord {
            input: u(13)?,
            cache_read: u(14)?,
            cache_write5m: u(15)?,
            cache_write1h: u(16)?,
            output: u(17)?,
            reasoning: u(18)?,
        },
        cost_usd: dec(row.get(19)?),
        cost_known: row.get(20)?,
        latency_ms: row.get(21)?,
        ttft_ms: row.get(22)?,
        bytes_in: u(23)?,
        bytes_out: u(24)?,
        composition: row
            .get::<_, Option<String>>(25)?
            .and_then(|s| serde_json::from_str::<Composition>(&s).ok()),
        fingerprints: row
            .get::<_, Option<String>>(26)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
        reroute,
        error: row.get(30)?,
        service_tier: row.get(31)?,
        captured: row
            .get::<_, Option<String>>(32)?
            .and_then(|s| serde_json::from_str(&s).ok()),
        flat_rate: row.get(33)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_totals_through_a_record_follow_commit_order_not_ids() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(&dir.path().join("l.sqlite")).unwrap();
        // a request that started later finished (and was committed) first
        l.insert(&sample("02B", 2_000)).unwrap();
        l.insert(&sample("01A", 1_000)).unwrap();
        l.insert(&sample("03C", 3_000)).unwrap();
        assert_eq!(l.session_totals_through("s1", "02B").unwrap().1, 1);
        assert_eq!(l.session_totals_through("s1", "01A").unwrap().1, 2);
        let ids = |v: Vec<RequestRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(l.written_through(0, "01A").unwrap()), ["01A", "02B"]);
        assert_eq!(ids(l.written_through(1_500, "01A").unwrap()), ["02B"]);
        let (usd, n) = l.session_totals_through("s1", "03C").unwrap();
        assert_eq!((usd, n), l.session_totals("s1").unwrap());
        assert_eq!(n, 3);
    }

    fn sample(id: &str, ts_ms: i64) -> RequestRecord {
        RequestRecord {
            id: id.into(),
            ts_ms,
            ts: crate::window::rfc3339_ms(ts_ms),
            provider: "anthropic".into(),
            upstream: "https://api.anthropic.com".into(),
            path: "/v1/messages".into(),
            model_requested: Some("claude-opus-4-8".into()),
            model_served: Some("claude-sonnet-4-5".into()),
            session: Some("s1".into()),
            stream: true,
            status: 200,
            usage: UsageRecord {
                input: 10,
                cache_read: 2000,
                cache_write5m: 5,
                cache_write1h: 6,
                output: 300,
                reasoning: 0,
            },
            cost_usd: Some("0.0123".parse().unwrap()),
            cost_known: true,
            latency_ms: 812.5,
            ttft_ms: Some(210.0),
            bytes_in: 5120,
            bytes_out: 2048,
            composition: Some(Composition {
                system: 1200,
                tools: 500,
                history: 300,
                tool_results: 0,
                current_turn: 10,
            }),
            reroute: Some(Reroute {
                from: "claude-opus-4-8".into(),
                rule: "pressure>85% weekly".into(),
                counterfactual_cost_usd: Some("0.06".parse().unwrap()),
            }),
            fingerprints: vec![crate::record::Fingerprint {
                hash: "0123456789abcdef".into(),
                tokens: 12,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn round_trips_a_record_through_a_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/ledger.sqlite");
        let r = sample("01A", 1_000);
        {
            let mut l = Ledger::open(&path).unwrap();
            assert_eq!(l.schema_version().unwrap(), SCHEMA_VERSION);
            l.insert(&r).unwrap();
            l.insert(&r).unwrap(); // idempotent
        }
        let l = Ledger::open(&path).unwrap();
        assert_eq!(l.count().unwrap(), 1);
        assert_eq!(l.get("01A").unwrap().unwrap(), r);
        assert_eq!(l.recent(10).unwrap(), vec![r.clone()]);
        assert_eq!(l.between(0, 1_000).unwrap(), vec![]);
        assert_eq!(l.between(1_000, 1_001).unwrap(), vec![r]);
        let (usd, n) = l.session_totals("s1").unwrap();
        assert_eq!((usd.to_string(), n), ("0.0123".to_string(), 1));
        assert_eq!(l.session_totals_through("s1", "01A").unwrap().1, 1);
        assert_eq!(l.session_totals_through("s1", "no-such-id").unwrap().1, 0);
        let ro = Ledger::open_read_only(&path).unwrap();
        assert_eq!(ro.count().unwrap(), 1);
    }

    #[test]
    fn unknown_cost_stays_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(&dir.path().join("l.sqlite")).unwrap();
        let mut r = sample("01B", 5);
        r.cost_usd = None;
        r.cost_known = false;
        r.reroute = None;
        r.composition = None;
        l.insert(&r).unwrap();
        assert_eq!(l.get("01B").unwrap().unwrap(), r);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        }
        assert!(Ledger::open(&path).is_err());
    }
}
