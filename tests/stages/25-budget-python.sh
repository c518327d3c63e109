#!/usr/bin/env bash
# Budgets and routing through the real binary with the official Python SDKs (anthropic, openai)
# as clients and the project's fake upstream. Reuses the SDK venv at .venv (made by the Python
# stage, or here when it is missing); idempotent and quick when everything is installed.
set -euo pipefail
cd "$ROOT"
VENV="$ROOT/.venv"
if ! "$VENV/bin/python" -c "import anthropic, openai, pytest" 2>/dev/null; then
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3-venv python3-pip
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet anthropic openai pytest
fi
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --quiet -p promptmeter -p promptmeter-e2e --bin promptmeter --bin fake-upstream
export PROMPTMETER_BIN="${PROMPTMETER_BIN:-$TARGET/debug/promptmeter}"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/python/test_budget.py
