"""Benchmark: `terraform apply` and `destroy` of examples/kauri (Docker
host), examples/kavak (container service) and examples/luneo (multi-region
platform) against moto, next to the critical path of the component
operations measured in the same run, and the same apply with the engine
forced sequential. `bench_apply.py latency` applies examples/luneo through
a latency model (the fault proxy holding each long create for its
real-world duration, scaled) in parallel and sequentially."""

import json
import os
import sys
import tempfile
import threading
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


class PeakRss:
    """The provider's peak resident memory while a Terraform command runs:
    every provider process talking to the emulator is sampled for its
    high-water mark (VmHWM, which the kernel keeps, so a sample just before
    a process exits still sees its peak)."""

    def __init__(self, endpoint):
        self.endpoint, self.peak_kib, self.processes = endpoint, 0, set()
        # Where the peak is: heap and stacks (anonymous) or the binary's
        # own pages (file-backed), each at its highest.
        self.anon_kib = self.file_kib = 0
        self._stop = threading.Event()

    def _sample(self):
        while not self._stop.is_set():
            for pid in harness.provider_pids(self.endpoint):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))
                        self.processes.add(pid)
                    elif line.startswith("RssAnon:"):
                        self.anon_kib = max(self.anon_kib, int(line.split()[1]))
                    elif line.startswith("RssFile:"):
                        self.file_kib = max(self.file_kib, int(line.split()[1]))
            time.sleep(0.01)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def mib(self):
        return self.peak_kib / 1024


def example_vars(example, emu):
    if example == "kauri":
        return {"ami_id": harness.moto_ami(emu)}
    if example == "luneo":
        zone = emu.client("route53").create_hosted_zone(Name="luneo.app", CallerReference=str(time.time()))["HostedZone"]["Id"].split("/")[-1]
        return {"hosted_zone_id": zone, "profile": "ephemeral", "force_destroy": True, "primary_ingress_hostname": "p.elb.amazonaws.com", "secondary_ingress_hostname": "s.elb.amazonaws.com"}
    return {"aws_region": harness.REGION}


# Real-world durations of the long operations, scaled to one second per
# minute (EKS cluster ~10 min, node group ~4, Aurora cluster ~3, Aurora
# instance ~12, NAT gateway ~2, ...): the latency model that shows what
# running both regions and the independent branches at once is worth,
# which moto's instant transitions cannot. The objects the provider waits
# for are held in their pending state (the create answers at once, as AWS
# does, and the waiters poll through CREATING / creating / pending); the
# short calls with no state to wait on are delayed instead.
def latency_holds():
    from fault_proxy import Hold, form_param, json_field, json_state, xml_field, xml_state

    return [
        Hold("CreateCluster", 10.0, json_field("name"), json_state("cluster", "name", "ACTIVE", "CREATING")),
        Hold("CreateNodegroup", 4.0, json_field("nodegroupName"), json_state("nodegroup", "nodegroupName", "ACTIVE", "CREATING")),
        Hold("CreateDBCluster", 3.0, form_param("DBClusterIdentifier"), xml_state("DBClusterIdentifier", "Status", "available", "creating")),
        Hold("CreateDBInstance", 12.0, form_param("DBInstanceIdentifier"), xml_state("DBInstanceIdentifier", "DBInstanceStatus", "available", "creating")),
        Hold("CreateNatGateway", 2.0, xml_field("natGatewayId"), xml_state("natGatewayId", "state", "available", "pending")),
    ]


LATENCY_DELAYS = {
    "CreateGlobalCluster": 1.0,
    "CreateKey": 0.2,
    "CreateHealthCheck": 0.5,
}


def modelled_apply(emu, parallelism):
    """examples/luneo applied through the fault proxy holding each long
    create pending for its scaled real-world duration. Returns the wall
    time and how many answers the holds rewrote (none: the model did not
    apply)."""
    from fault_proxy import FaultProxy, Rule

    emu.reset()
    proxy = FaultProxy(emu.endpoint).start()
    try:
        holds = latency_holds()
        proxy.hold(*holds)
        proxy.set(*[Rule(match=f"^{action}$", mode="delay", seconds=secs) for action, secs in LATENCY_DELAYS.items()])
        work = harness.copy_example("luneo", Path(tempfile.mkdtemp()) / "luneo")
        (work / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
        (work / "t.auto.tfvars.json").write_text(json.dumps(example_vars("luneo", emu)))
        tf = harness.Terraform("1.15", work, proxy.endpoint, {"AWSSTACK_PARALLELISM": str(parallelism)})
        tf.init()
        t0 = time.time()
        tf.apply()
        wall = time.time() - t0
        proxy.hold()
        proxy.clear()
        tf.destroy()
        return wall, {h.create.pattern: h.rewritten for h in holds}
    finally:
        proxy.stop()


def latency_report():
    emu = harness.Emulator("moto").start()
    try:
        par, held = modelled_apply(emu, 8)
        seq, _ = modelled_apply(emu, 1)
    finally:
        emu.stop()
    # Every held kind must have been seen pending, else the model measured nothing.
    unseen = [k for k, n in held.items() if n == 0]
    if unseen:
        raise SystemExit(f"latency model: no pending answer was rewritten for {unseen}")
    modelled = sum(h.seconds * n for h, n in zip(latency_holds(), (2, 4, 2, 2, 2))) + LATENCY_DELAYS["CreateGlobalCluster"]
    print("examples/luneo through the latency model (each long create held pending 1 s per real-world minute):")
    print(f"  held time, summed              {modelled:6.2f} s   (the SDK's EKS and RDS waiters poll every 30 s or more, as against AWS)")
    print(f"  pending answers rewritten      {sum(held.values()):6d}     ({', '.join(f'{k} {n}' for k, n in held.items())})")
    print(f"  terraform apply, sequential    {seq:6.2f} s")
    print(f"  terraform apply, parallel      {par:6.2f} s   speed-up {seq / par:.2f}x (both regions and independent branches at once)", flush=True)


def one_apply(emu, example, parallelism):
    emu.reset()
    work = harness.copy_example(example, Path(tempfile.mkdtemp()) / example)
    (work / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    (work / "t.auto.tfvars.json").write_text(json.dumps(example_vars(example, emu)))
    timings = work / "timings.jsonl"
    tf = harness.Terraform("1.15", work, emu.endpoint, {"AWSSTACK_TIMINGS_FILE": str(timings), "AWSSTACK_PARALLELISM": str(parallelism)})
    tf.init()
    # Baseline of the same run: the provider launched for `validate` (its
    # schema, no AWS call).
    with PeakRss(emu.endpoint) as idle:
        tf.run("validate", "-no-color")
    t0 = time.time()
    with PeakRss(emu.endpoint) as rss:
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
    return wall, engine, cp, len(ops), destroy, d_engine, destroy_critical_path(dops), rss.mib, idle.mib, rss.anon_kib / 1024, rss.file_kib / 1024


def report(emu, example, runs):
    par, seq = [], []
    for _ in range(runs):
        par.append(one_apply(emu, example, 8))
        seq.append(one_apply(emu, example, 1))
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    wall, engine, cp, n, destroy, d_engine, d_cp, rss, idle, anon, file = (med([r[i] for r in par]) for i in range(11))
    peak = max(r[7] for r in par + seq)
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
    print(f"  engine destroy (parallel)      {d_engine:6.2f} s   critical path {d_cp:.2f} s, ratio {d_engine / d_cp:.2f}x; sequential {s_destroy:.2f} s")
    regions = "two regions" if example == "luneo" else "one region"
    print(f"  provider peak RSS, apply       {rss:6.1f} MiB ({regions}; highest of all runs {peak:.1f} MiB; target < 30 MB, i.e. 28.6 MiB), {rss / idle:.2f}x its `terraform validate` launch in the same run ({idle:.1f} MiB); at most {anon:.1f} MiB anonymous (heap, stacks), {file:.1f} MiB of the binary's pages", flush=True)


def main():
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    examples = sys.argv[1:] or ["kauri", "kavak", "luneo"]
    if examples == ["latency"]:
        latency_report()
        return
    emu = harness.Emulator("moto").start()
    try:
        for example in examples:
            report(emu, example, runs)
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
