#!/usr/bin/env bash
# The official Python SDKs (anthropic, openai from PyPI) as real clients of the real
# `promptmeter proxy` binary in front of the fake upstream (tests/python). Idempotent: the
# venv under .venv is reused when it already has the packages.
set -euo pipefail
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cd "$ROOT"
VENV="$ROOT/.venv"
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq python3-venv python3-pip >/dev/null
fi
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c "import anthropic, openai, pytest" >/dev/null 2>&1; then
  "$VENV/bin/pip" install -q --disable-pip-version-check anthropic openai pytest
fi
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export PROMPTMETER_BIN="${PROMPTMETER_BIN:-$TARGET/debug/promptmeter}"
export PROMPTMETER_FAKE_UPSTREAM="${PROMPTMETER_FAKE_UPSTREAM:-$TARGET/debug/fake-upstream}"
if [[ ! -x "$PROMPTMETER_BIN" || ! -x "$PROMPTMETER_FAKE_UPSTREAM" ]]; then
  cargo build -p promptmeter -p promptmeter-e2e --bins
fi
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/python
