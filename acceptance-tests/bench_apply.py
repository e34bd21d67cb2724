"""Benchmark: `terraform apply` and `destroy` of examples/kauri (Docker
host) and examples/kavak (container service) against moto, next to the
critical path of the component operations measured in the same run, and
the same apply with the engine forced sequential."""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402


def critical_path(ops):
    """Longest chain of operation durations through the dependency graph."""
    by_key = {o["key"]: o for o in ops if o["action"] != "delete"}
    memo = {}

    def finish(k):
        if k not in memo:
            o = by_key[k]
            memo[k] = (o["end"] - o["start"]) + max((finish(d) for d in o["deps"] if d in by_key), default=0.0)
        return memo[k]

    return max((finish(k) for k in by_key), default=0.0)


def destroy_critical_path(ops):
    """Deletes run dependents first: a component's delete waits for the
    deletes of everything that depends on it."""
    by_key = {o["key"]: o for o in ops if o["action"] == "delete"}
    dependents = {k: [] for k in by_key}
    for o in by_key.values():
        for d in o["deps"]:
            if d in dependents:
                dependents[d].append(o["key"])
    memo = {}

    def finish(k):
        if k not in memo:
            o = by_key[k]
            memo[k] = (o["end"] - o["start"]) + max((finish(j) for j in dependents[k]), default=0.0)
        return memo[k]

    return max((finish(k) for k in by_key), default=0.0)


def example_vars(example, emu):
    if example == "kauri":
        return {"ami_id": harness.moto_ami(emu)}
    return {"aws_region": harness.REGION}


def one_apply(emu, example, parallelism):
    emu.reset()
    work = harness.copy_example(example, Path(tempfile.mkdtemp()) / example)
    (work / "t.auto.tfvars.json").write_text(json.dumps(example_vars(example, emu)))
    timings = work / "timings.jsonl"
    tf = harness.Terraform("1.15", work, emu.endpoint, {"AWSSTACK_TIMINGS_FILE": str(timings), "AWSSTACK_PARALLELISM": str(parallelism)})
    tf.init()
    t0 = time.time()
    tf.apply()
    wall = time.time() - t0
    ops = [json.loads(line) for line in timings.read_text().splitlines()]
    engine = max(o["end"] for o in ops) - min(o["start"] for o in ops)
    cp = critical_path(ops)
    if os.environ.get('BENCH_VERBOSE'):
        t0 = min(o['start'] for o in ops)
        for o in sorted(ops, key=lambda o: o['start']):
            print(f"    p={parallelism} {o['key']:24} {o['start']-t0:6.3f} -> {o['end']-t0:6.3f}")
    timings.unlink()
    t0 = time.time()
    tf.destroy()
    destroy = time.time() - t0
    dops = [json.loads(line) for line in timings.read_text().splitlines()]
    d_engine = max(o["end"] for o in dops) - min(o["start"] for o in dops)
    return wall, engine, cp, len(ops), destroy, d_engine, destroy_critical_path(dops)


def report(emu, example, runs):
    par, seq = [], []
    for _ in range(runs):
        par.append(one_apply(emu, example, 8))
        seq.append(one_apply(emu, example, 1))
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    wall, engine, cp, n, destroy, d_engine, d_cp = (med([r[i] for r in par]) for i in range(7))
    s_destroy = med([r[5] for r in seq])
    s_engine = med([r[1] for r in seq])
    # The critical path with uncontended durations (from the sequential
    # runs, where each call has the emulator to itself).
    s_cp = med([r[2] for r in seq])
    print(f"examples/{example} against moto, median of {runs}: {int(n)} component operations")
    print(f"  terraform apply wall time      {wall:6.2f} s   (terraform destroy {destroy:.2f} s)")
    print(f"  engine apply (parallel)        {engine:6.2f} s")
    print(f"  critical path of its API ops   {cp:6.2f} s   ratio engine/critical path {engine / cp:.2f}x (target <= 1.3x)")
    print(f"  critical path, uncontended     {s_cp:6.2f} s   ratio engine/critical path {engine / s_cp:.2f}x")
    print(f"  engine apply (sequential)      {s_engine:6.2f} s   parallel speed-up {s_engine / engine:.2f}x")
    print(f"  engine destroy (parallel)      {d_engine:6.2f} s   critical path {d_cp:.2f} s, ratio {d_engine / d_cp:.2f}x; sequential {s_destroy:.2f} s", flush=True)


def main():
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    examples = sys.argv[1:] or ["kauri", "kavak"]
    emu = harness.Emulator("moto").start()
    try:
        for example in examples:
            report(emu, example, runs)
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
