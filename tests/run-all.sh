#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs every test suite.
# Each stage lives in tests/stages/NN-name.sh and is run in order; a failing stage fails the run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
cd "$ROOT"
export CARGO_TERM_COLOR=never
export PROMPTMETER_TEST_OUT="${PROMPTMETER_TEST_OUT:-$ROOT/tests/out}"
mkdir -p "$PROMPTMETER_TEST_OUT"

stages=("$ROOT"/tests/stages/*.sh)
only="${1:-}"
for stage in "${stages[@]}"; do
  name="$(basename "$stage" .sh)"
  if [[ -n "$only" && "$name" != *"$only"* ]]; then continue; fi
  echo "=== stage $name ==="
  start=$(date +%s)
  bash "$stage"
  echo "=== stage $name passed in $(( $(date +%s) - start ))s ==="
done
echo "all stages passed"
