//! promptmeter's ledger: every completed (or cut) request, durably, in SQLite (WAL).
//!
//! - `record.rs`: the `RequestRecord` (the feed's and the ledger's shape, see docs/protocol.md);
//! - `spool.rs`: records made crash-safe before their SQLite commit (a shared file mapping);
//! - `store.rs`: the SQLite file, migrations, inserts and queries (the only code that writes spend);
//! - `totals.rs`: running totals (today, week, month, session, per provider and model);
//! - `window.rs`: calendar windows (day, week, month) in the user's UTC offset.

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
