//! promptmeter language server (issue 3).
