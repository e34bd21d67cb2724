#!/usr/bin/env bash
# Runs each libFuzzer target in fuzz/ for a bounded time and prints its
# figures (executions, coverage, corpus size). A crash or panic fails the
# run and leaves its input under target/fuzz-artifacts/<target>/.
#   scripts/fuzz.sh            60 s per target (the CI budget)
#   scripts/fuzz.sh 600        10 minutes per target
# With a nightly toolchain and cargo-fuzz, `cargo fuzz run <target>` works on
# the same targets; this script needs only stable Rust.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECS=${1:-60}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
start=$SECONDS
RUSTC_WORKSPACE_WRAPPER="$ROOT/scripts/fuzz-rustc.sh" cargo build --release --locked -q -p awsstack-fuzz --bins
echo "== fuzz targets (${SECS} s each; the instrumented build took $((SECONDS - start)) s)"
status=0
for t in dynamic_value state_upgrade typed_config; do
  work="$TARGET_DIR/fuzz-corpus/$t"
  art="$TARGET_DIR/fuzz-artifacts/$t/"
  mkdir -p "$work" "$art"
  log="$TARGET_DIR/fuzz-$t.log"
  if "$TARGET_DIR/release/$t" -max_total_time="$SECS" -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
      -artifact_prefix="$art" "$work" "fuzz/corpus/$t" >"$log" 2>&1; then
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n1 | grep -Eo '[0-9]+' || echo '?')
    corpus=$(find "$work" -type f | wc -l)
    echo "fuzz $t: ${execs} executions in ${SECS} s, no crash; coverage ${cov} edges, corpus ${corpus} inputs"
  else
    echo "fuzz $t: FAILED (crash input in $art)"; tail -n 40 "$log"; status=1
  fi
done
exit $status
