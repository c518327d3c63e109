//! promptmeter proxy (issue 4).
