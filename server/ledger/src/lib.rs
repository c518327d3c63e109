//! promptmeter ledger (issue 4).
