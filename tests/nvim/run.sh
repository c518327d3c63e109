#!/usr/bin/env bash
# Runs every tests/nvim/test_*.lua in its own real headless Neovim with isolated XDG dirs.
# Usage: tests/nvim/run.sh NVIM [filter]. Prints one closing "N passed, N failed" line.
set -uo pipefail
NVIM="$1"
filter="${2:-}"
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export PROMPTMETER_ROOT="$ROOT"
export PROMPTMETER_TEST_OUT="${PROMPTMETER_TEST_OUT:-$ROOT/tests/out}"
mkdir -p "$PROMPTMETER_TEST_OUT/nvim"
passed=0 failed=0 skipped=0 files_failed=() skip_lines=""
for file in "$ROOT"/tests/nvim/test_*.lua; do
  name="$(basename "$file" .lua)"
  if [[ -n "$filter" && "$name" != *"$filter"* ]]; then continue; fi
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/pm-nvim-$name.XXXXXX")"
  mkdir -p "$tmp/config" "$tmp/data" "$tmp/state" "$tmp/cache" "$tmp/work"
  log="$PROMPTMETER_TEST_OUT/nvim/$name.log"
  echo "--- $name"
  XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" XDG_STATE_HOME="$tmp/state" \
    XDG_CACHE_HOME="$tmp/cache" PROMPTMETER_NVIM_TMP="$tmp/work" HOME="$tmp" \
    timeout 600 "$NVIM" --headless -u "$ROOT/tests/nvim/minimal_init.lua" -i NONE -n \
    -c "luafile $file" >"$log" 2>&1
  rc=$?
  cat "$log"
  p=$(grep -c '^ok - ' "$log"); f=$(grep -c '^not ok - ' "$log"); s=$(grep -c '^skip - ' "$log")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  skip_lines+="$(grep '^skip - ' "$log")"$'\n'
  if [[ $rc -ne 0 || $f -gt 0 ]] || ! grep -q '^[0-9]* passed, [0-9]* failed, [0-9]* skipped$' "$log"; then
    files_failed+=("$name (exit $rc)")
    [[ $f -eq 0 ]] && failed=$((failed + 1))
  fi
  rm -rf "$tmp"
done
if (( ${#files_failed[@]} )); then echo "failed: ${files_failed[*]}"; fi
if (( skipped )); then printf '%s' "$skip_lines" | grep .; fi
echo "nvim: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 && ${#files_failed[@]} -eq 0 ]]
