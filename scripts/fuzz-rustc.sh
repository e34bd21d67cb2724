#!/usr/bin/env bash
# RUSTC_WORKSPACE_WRAPPER for the fuzz build (scripts/fuzz.sh): the
# workspace's own crates are instrumented for libFuzzer (coverage counters,
# comparison tracing) and built with debug assertions and overflow checks,
# as cargo-fuzz does with `-s none`. Dependencies are built as usual, so the
# release build's artifacts are reused; build scripts are left alone (they
# are not linked with libFuzzer). Stable rustc is enough.
rustc="$1"
shift
case " $* " in
  *" --crate-name build_script_build "*) exec "$rustc" "$@" ;;
esac
exec "$rustc" "$@" \
  -Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares \
  --cfg fuzzing \
  -Cdebug-assertions \
  -Coverflow-checks
