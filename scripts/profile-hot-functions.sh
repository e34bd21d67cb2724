#!/usr/bin/env bash
# Regenerates link/hot-functions.txt: the provider's functions that run
# while Terraform validates, plans, applies and destroys the three examples
# (kauri, kavak, luneo) against moto, as valgrind's callgrind records them
# (every function that ran, not a sample). build.rs hands the list to the
# linker (--symbol-ordering-file), which lays those functions out side by
# side at the start of .text: the pages a run touches are then few and
# dense, instead of one page (and the kernel's fault-around of 64 KB) here
# and there over 24 MB. A function missing from the list (new code, a
# renamed symbol) is only laid out as before: the list can go stale without
# breaking anything, and this script brings it up to date.
#   scripts/profile-hot-functions.sh     (after cargo build --release)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/terraform-provider-awsstack"
[ -x "$BIN" ] || { echo "build the provider first: cargo build --release" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/release" "$WORK/callgrind"
# The harness installs target/release/terraform-provider-awsstack: here a
# launcher that runs the real binary under callgrind (its messages go to
# stderr; the plugin handshake is on stdout).
cat > "$WORK/release/terraform-provider-awsstack" <<EOF
#!/bin/sh
exec valgrind -q --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file="$WORK/callgrind/out.%p" "$BIN" "\$@"
EOF
chmod +x "$WORK/release/terraform-provider-awsstack"
BENCH_RUNS=1 CARGO_TARGET_DIR="$WORK" "$ROOT/.tools/venv/bin/python" acceptance-tests/bench_apply.py kauri kavak luneo >&2
mkdir -p link
"$ROOT/.tools/venv/bin/python" - "$BIN" "$WORK/callgrind" > link/hot-functions.txt <<'PY'
import collections, pathlib, re, subprocess, sys
binary, outs = sys.argv[1], pathlib.Path(sys.argv[2])
# The functions the binary defines (its own and its dependencies', not libc's).
defined = set()
for line in subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in "tTwW":
        defined.add(parts[2])
# Callgrind names a function once ("fn=(12) name") and then by its number;
# its own cost lines follow each fn= line (the line after a "calls=" line
# is a callee's inclusive cost: skipped). Order: the most executed first.
cost = collections.Counter()
for f in sorted(outs.iterdir()):
    names, current, after_call = {}, None, False
    for line in f.read_text(errors="replace").splitlines():
        if line.startswith("calls="):
            after_call = True
            continue
        if after_call:
            after_call = False
            continue
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            kind, num, name = m.groups()
            if name:
                names[num] = name
            if kind == "fn":
                current = names.get(num)
            if name and name in defined:
                cost[name] += 0
            continue
        if current and line[:1].isdigit():
            fields = line.split()
            if len(fields) >= 2 and current in defined:
                cost[current] += int(fields[1])
for name, _ in sorted(cost.items(), key=lambda kv: (-kv[1], kv[0])):
    print(name)
PY
echo "link/hot-functions.txt: $(wc -l < link/hot-functions.txt) functions" >&2
