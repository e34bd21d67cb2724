#!/usr/bin/env bash
# Every benchmark, with figures printed (ratios against baselines measured
# in the same run): provider launch + schema over many launches and its peak
# RSS; apply of examples/kauri, kavak and luneo against the emulator vs its
# critical path, parallel vs sequential; examples/luneo through a latency
# model of real-world create times.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
cargo bench --locked --bench handshake -- "${HANDSHAKE_LAUNCHES:-100}" 2>/dev/null | grep -v '^\s*$'
"$ROOT/.tools/venv/bin/python" acceptance-tests/bench_apply.py
"$ROOT/.tools/venv/bin/python" acceptance-tests/bench_apply.py latency
