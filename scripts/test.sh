#!/usr/bin/env bash
# The whole test suite: unit and property tests (cargo test), the fuzz
# targets for a bounded time, then the acceptance tests that drive the real
# Terraform CLI (1.0.3 and 1.15.5) against the local AWS emulator. Set-up is
# idempotent.
#   scripts/test.sh            the CI set
#   scripts/test.sh --full     everything, including slow scenarios
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# Each phase prints how long the ones before it took (CI has 90 minutes).
phase() { echo "== $1 (at $((SECONDS / 60)) min $((SECONDS % 60)) s)"; }
SKIP_BUILD=1 bash scripts/setup.sh
# The provider (setup.sh's build) and the test harnesses in one cargo run:
# the crate's test build then overlaps its release build on two cores
# instead of following it.
phase "release build of the provider and the unit tests"
cargo build --release --locked -q --bins --tests
phase "unit and property tests"
cargo test --locked --release 2>&1 | tee /tmp/awsstack-cargo-test.log | grep -E '^(test result|running|error|failures|---- )|panicked|FAILED' || true
if grep -qE '^test result: FAILED|^error' /tmp/awsstack-cargo-test.log; then
  echo "cargo test failed"; exit 1
fi
# The libFuzzer targets, bounded: 60 s each (10 minutes each with --full).
FUZZ_SECONDS=60
case " $* " in *" --full "*) FUZZ_SECONDS=600 ;; esac
phase "instrumented build of the fuzz targets"
# A crash fails the suite, after the acceptance tests have run too.
fuzz_status=0
bash scripts/fuzz.sh "$FUZZ_SECONDS" || fuzz_status=$?
phase "acceptance tests (real Terraform against moto)"
PYTEST_ARGS=(-p no:cacheprovider -q -rfE --durations=10)
# One worker more than cores: a test often waits (hashicorp/aws's fixed
# Route 53 delays, retry backoff, waiter polls) and the extra worker runs
# meanwhile. Measured on two cores, the CI set: 685 s with 2 workers, 555 s
# with 3.
if command -v nproc >/dev/null && [ "$(nproc)" -ge 2 ]; then PYTEST_ARGS+=(-n "$(( $(nproc) + 1 ))"); fi
status=0
"$ROOT/.tools/venv/bin/python" -m pytest "${PYTEST_ARGS[@]}" "$@" acceptance-tests || status=$?
phase "done"
if [ "$fuzz_status" -ne 0 ]; then echo "a fuzz target crashed (see above)"; exit 1; fi
exit "$status"
