//! promptmeter's ledger: every completed (or cut) request, durably, in SQLite (WAL).
//!
//! - `calibration.rs`: the tokenizer calibration learned from traffic (`calibration.json`);
//! - `record.rs`: the `RequestRecord` (the feed's and the ledger's shape, see docs/protocol.md);
//! - `spool.rs`: records made crash-safe before their SQLite commit (a shared file mapping);
//! - `store.rs`: the SQLite file, migrations, inserts and queries (the only code that writes spend);
//! - `totals.rs`: running totals (today, week, month, session, per provider and model);
//! - `window.rs`: calendar windows (day, week, month) in the user's UTC offset.

pub mod calibration;
pub mod record;
pub mod report;
pub mod spool;
pub mod store;
pub mod totals;
pub mod window;

pub use record::{Composition, RequestRecord, Reroute, UsageRecord};
pub use store::Ledger;
pub use totals::{SessionTotals, Totals};
pub use window::Windows;

/// `<data dir>/promptmeter/ledger.sqlite`, or `ledger.sqlite` in the working directory when
/// there is no data dir.
pub fn default_path(data_dir: Option<std::path::PathBuf>) -> std::path::PathBuf {
    data_dir
        .map(|d| d.join("promptmeter").join("ledger.sqlite"))
        .unwrap_or_else(|| std::path::PathBuf::from("ledger.sqlite"))
}

/// The ledger a configuration names (`[proxy] ledger`), else the default one.
pub fn path_in(config: &promptmeter_core::config::Config, data_dir: Option<std::path::PathBuf>) -> std::path::PathBuf {
    config
        .proxy
        .ledger
        .as_ref()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| default_path(data_dir))
}
