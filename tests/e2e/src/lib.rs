//! Shared helpers for end-to-end tests that drive the real `promptmeter` binary.

pub mod fake_upstream;
pub mod lsp_client;
pub mod proxy_harness;

use std::path::PathBuf;

/// Path of the `promptmeter` binary under test: `$PROMPTMETER_BIN`, else
/// `$CARGO_TARGET_DIR/debug/promptmeter`, else `<workspace>/target/debug/promptmeter`.
/// The test command builds it before the tests run.
pub fn bin_path() -> PathBuf {
    if let Ok(p) = std::env::var("PROMPTMETER_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("target"));
    let p = target.join("debug").join("promptmeter");
    assert!(
        p.exists(),
        "promptmeter binary not found at {} (run `cargo build` first or set PROMPTMETER_BIN)",
        p.display()
    );
    p
}

/// The repository root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The corpus of real prompt files (a copy of ../shared/data/corpus in tests/data/corpus),
/// or `$PROMPTMETER_CORPUS`.
pub fn corpus_dir() -> PathBuf {
    std::env::var("PROMPTMETER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("tests/data/corpus"))
}
