#!/usr/bin/env bash
# Format, lints, then every Rust test (unit, property, snapshot, end-to-end through the binary).
set -euo pipefail
cd "$ROOT"
cargo fmt --all -- --check
cargo build --workspace --all-targets --locked
cargo clippy --workspace --all-targets --locked -- -D warnings
export PROMPTMETER_BIN="$ROOT/target/debug/promptmeter"
cargo test --workspace --locked
