#!/usr/bin/env bash
# Builds promptmeter (release) and runs it. With no arguments: the demo (proxy + simulated
# upstream + dashboard, no API key). Otherwise the arguments are passed on, e.g. `./run.sh proxy`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
cargo build --release --locked -p promptmeter
if [[ $# -eq 0 ]]; then set -- demo; fi
exec target/release/promptmeter "$@"
