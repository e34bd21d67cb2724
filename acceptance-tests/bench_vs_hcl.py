"""Benchmark: each seed team's own hand-written HCL (acceptance-tests/hcl/
<example>/main.tf, hashicorp/aws 3.39.0) next to our example
(examples/<example>, one awsstack resource), in the same run, against the
same moto, through the same fault proxy: the latency model on (long creates
held pending for their scaled real-world duration, bench_apply.py) and the
realistic-AWS mode armed from awsstack's consistency catalog (the first 1
to 3 calls of each catalogued action answered with AWS's "not yet" error),
re-armed before each apply (seed) and each destroy (seed + 1), the same
seeds on both sides. Times `terraform apply` and `terraform destroy` (Terraform 1.15,
default -parallelism=10).

A run that fails under the realistic mode is run again, up to 3 runs, as a
user would (without re-arming: in AWS the object has become visible
meanwhile); the runs it took and the first error's summary line are
reported. (The "not yet" messages are the catalog's AWS wording, whose
sample names, e.g. kavak-agent-prod-db, need not be the run's.)
hashicorp/aws 3.39 predates several of the retries later versions
added for these errors, so its failures are findings, not bench errors.
No timed assertions.

    python acceptance-tests/bench_vs_hcl.py [kauri|kavak]...
    python acceptance-tests/bench_vs_hcl.py --check [kauri|kavak]...
        (the HCL alone against moto, no latency model nor realistic mode,
        only moto_gaps: apply, plan empty, destroy)
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from bench_apply import LATENCY_DELAYS, example_vars, latency_holds  # noqa: E402
from fault_proxy import FaultProxy, Hold, Rule, form_param, load_catalog  # noqa: E402

HCL = Path(__file__).resolve().parent / "hcl"
VERSION = "1.15"
MAX_RUNS = int(os.environ.get("BENCH_MAX_RUNS", "3"))

# The services each team's HCL calls (hashicorp/aws 3.39 endpoint names:
# `elb` serves ELBv2 too, `cloudwatchlogs` is CloudWatch Logs).
SERVICES = {
    "kauri": ["ec2", "iam", "sts", "s3", "ssm", "sns", "cloudwatch", "budgets"],
    "kavak": ["ec2", "iam", "sts", "elb", "ecr", "ecs", "cloudwatchlogs", "rds", "elasticache", "secretsmanager"],
}


def moto_gaps() -> list[Hold]:
    """What moto cannot play for hashicorp/aws 3.39's aws_elasticache_cluster,
    played at the proxy (on both sides; awsstack never makes these calls):
    - moto answers DescribeCacheClusters without the cluster's security
      groups, so 3.39 plans to put them back (ModifyCacheCluster, which moto
      lacks: a 500 its SDK retries for minutes) on any later run. Here the
      groups given to CreateCacheCluster are listed, as AWS lists them.
    - AWS removes a deleted cache cluster after a few minutes; moto keeps it
      `deleting` forever and 3.39's waiter would wait its 40 minutes. Here,
      once DeleteCacheCluster answered, it is no longer listed (what
      moto_server.py does for replication groups)."""
    groups: dict[str, list[str]] = {}

    def created(req: bytes, _resp: bytes):
        q = urllib.parse.parse_qs(req.decode("utf-8", "replace"))
        ident = (q.get("CacheClusterId") or [""])[0].lower()
        groups[ident] = [v[0] for k, v in sorted(q.items()) if k.startswith("SecurityGroupIds.")]
        return ident or None

    def clusters(body: bytes, names: set[str], edit) -> bytes:
        def one(m):
            ident = re.search(rb"<CacheClusterId>([^<]+)</CacheClusterId>", m.group(0))
            name = ident.group(1).decode().lower() if ident else None
            return edit(m.group(0), name) if name in {n.lower() for n in names} else m.group(0)

        return re.sub(rb"<CacheCluster>.*?</CacheCluster>", one, body, flags=re.S)

    def with_groups(xml: bytes, name: str) -> bytes:
        if b"<SecurityGroups>" in xml or not groups.get(name):
            return xml
        members = b"".join(f"<member><SecurityGroupId>{g}</SecurityGroupId><Status>active</Status></member>".encode() for g in groups[name])
        return xml.replace(b"</CacheCluster>", b"<SecurityGroups>" + members + b"</SecurityGroups></CacheCluster>")

    return [
        Hold("CreateCacheCluster", 1e9, created, lambda body, names: clusters(body, names, with_groups)),
        Hold("DeleteCacheCluster", 1e9, form_param("CacheClusterId"), lambda body, names: clusters(body, names, lambda _xml, _name: b"")),
    ]


def provider_override(endpoint: str, services: list[str]) -> str:
    """The provider block test_composition_aws.py uses, as an override file
    (merged into the team's `provider "aws"`, which keeps its region and
    default tags). The account id is requested (from the emulator's STS):
    aws_budgets_budget needs it and the teams do not set it."""
    endpoints = "\n".join(f'    {s} = "{endpoint}"' for s in services)
    return f"""provider "aws" {{
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = false
  skip_metadata_api_check     = true
  s3_force_path_style         = true
  endpoints {{
{endpoints}
  }}
}}
"""


def hcl_workdir(example: str, emu: harness.Emulator, endpoint: str) -> harness.Terraform:
    work = Path(tempfile.mkdtemp(prefix=f"hcl-{example}-"))
    shutil.copy2(HCL / example / "main.tf", work / "main.tf")
    (work / "emulator_override.tf").write_text(provider_override(endpoint, SERVICES[example]))
    v = {"region": harness.REGION}
    if example == "kauri":
        v["ami_id"] = harness.moto_ami(emu)
    (work / "t.auto.tfvars.json").write_text(json.dumps(v))
    tf = harness.Terraform(VERSION, work, endpoint)
    tf.init()
    return tf


def example_workdir(example: str, emu: harness.Emulator, endpoint: str) -> harness.Terraform:
    work = harness.copy_example(example, Path(tempfile.mkdtemp(prefix=f"ex-{example}-")) / example)
    (work / "t.auto.tfvars.json").write_text(json.dumps(example_vars(example, emu)))
    tf = harness.Terraform(VERSION, work, endpoint)
    tf.init()
    return tf


def first_error(p) -> str:
    """The summary line of the first diagnostic Terraform printed."""
    for line in (p.stderr + "\n" + p.stdout).splitlines():
        line = line.lstrip("│╷╵ ").strip()
        if line.startswith("Error: "):
            return line[:300]
    tail = [l for l in p.stderr.splitlines() if l.strip()]
    return (tail[-1] if tail else f"exit {p.returncode}")[:300]


def timed(tf: harness.Terraform, command: str) -> dict:
    """`terraform <command>` up to MAX_RUNS times until it succeeds: the
    wall time of every run, and the first failure's summary line."""
    runs, errors = [], []
    for _ in range(MAX_RUNS):
        t0 = time.time()
        p = getattr(tf, command)(check=False, timeout=1800)
        runs.append(time.time() - t0)
        if p.returncode == 0:
            break
        errors.append(first_error(p))
    return {"ok": p.returncode == 0, "runs": runs, "error": errors[0] if errors else None, "errors": errors}


def one_side(emu: harness.Emulator, example: str, side: str, catalog: dict, seed: int) -> dict:
    """One configuration, applied and destroyed through a fresh proxy with
    the latency model and the realistic-AWS mode."""
    emu.reset()
    proxy = FaultProxy(emu.endpoint).start()
    try:
        proxy.hold(*latency_holds(), *moto_gaps())
        proxy.set(*[Rule(match=f"^{action}$", mode="delay", seconds=secs) for action, secs in LATENCY_DELAYS.items()])
        tf = (hcl_workdir if side == "hcl" else example_workdir)(example, emu, proxy.endpoint)
        proxy.realistic(catalog, seed)
        apply = timed(tf, "apply")
        apply["played"] = list(proxy.played)
        resources = len(tf.run("state", "list", check=False).stdout.split())
        proxy.realistic(catalog, seed + 1)
        n = len(proxy.played)
        destroy = timed(tf, "destroy")
        destroy["played"] = list(proxy.played[n:])
        return {"apply": apply, "destroy": destroy, "resources": resources, "calls": sum(proxy.ops.values())}
    finally:
        proxy.stop()


def fmt_runs(r: dict) -> str:
    return f"{len(r['runs'])}" + ("" if r["ok"] else " (still failing)")


def report(example: str, hcl: dict, ours: dict, seed: int) -> None:
    def wall(r):
        return sum(r["runs"])

    def cell(r):
        return f"{wall(r):7.2f} s" + ("" if r["ok"] else " FAILED")

    print(f"\n{example}: seed's HCL (hashicorp/aws 3.39.0, {hcl['resources']} resources in state) vs examples/{example} (awsstack, {ours['resources']} resource)")
    print(f"  Terraform {VERSION}, -parallelism=10, latency model + realistic AWS (seed {seed} apply, {seed + 1} destroy)")
    print(f"  {'':26}{'hcl':>16}{'awsstack':>16}{'hcl/awsstack':>15}")
    for what in ("apply", "destroy"):
        h, o = hcl[what], ours[what]
        ratio = wall(h) / wall(o) if wall(o) else float("nan")
        mark = "" if h["ok"] and o["ok"] else "  (a side FAILED: its time covers unfinished work)"
        print(f"  {'terraform ' + what + ' wall time':26}{cell(h):>16}{cell(o):>16}{ratio:>14.2f}x{mark}")
    for what in ("apply", "destroy"):
        h, o = hcl[what], ours[what]
        print(f"  {what + ' runs needed':26}{fmt_runs(h):>16}{fmt_runs(o):>16}")
    for what in ("apply", "destroy"):
        h, o = hcl[what], ours[what]
        print(f"  {'not yet answers, ' + what:26}{len(h['played']):>16}{len(o['played']):>16}")
    total = lambda r: len(r["apply"]["played"]) + len(r["destroy"]["played"])  # noqa: E731
    print(f"  {'not yet answers, total':26}{total(hcl):>16}{total(ours):>16}")
    print(f"  {'API calls through proxy':26}{hcl['calls']:>16}{ours['calls']:>16}")
    for side, r in (("hcl", hcl), ("awsstack", ours)):
        for what in ("apply", "destroy"):
            x = r[what]
            if len(x["runs"]) > 1:
                print(f"  {side} {what} runs: " + ", ".join(f"{t:.2f} s" for t in x["runs"]))
            if x["error"]:
                print(f"  {side} {what}, first error: {x['error']}")
            if os.environ.get("BENCH_VERBOSE"):
                for i, e in enumerate(x["errors"][1:], 2):
                    print(f"    {side} {what}, run {i} error: {e}")
    if os.environ.get("BENCH_VERBOSE"):
        for side, r in (("hcl", hcl), ("awsstack", ours)):
            for what in ("apply", "destroy"):
                played = Counter(op for op, _ in r[what]["played"])
                print(f"    {side} {what} played: " + ", ".join(f"{op} x{n}" for op, n in sorted(played.items())))
    sys.stdout.flush()


def check(example: str) -> None:
    """The team's HCL alone against moto (through the proxy with only
    moto_gaps: no latency model, no realistic mode): apply, an empty second
    plan, destroy."""
    emu = harness.Emulator("moto").start()
    proxy = FaultProxy(emu.endpoint).start()
    proxy.hold(*moto_gaps())
    try:
        tf = hcl_workdir(example, emu, proxy.endpoint)
        t0 = time.time()
        tf.apply(timeout=1800)
        a = time.time() - t0
        n = len(tf.run("state", "list").stdout.split())
        p = tf.plan()
        t0 = time.time()
        tf.destroy(timeout=1800)
        d = time.time() - t0
        left = len(tf.run("state", "list", check=False).stdout.split())
        print(f"{example}: hcl applied {n} resources in {a:.2f} s; second plan {'empty' if p.returncode == 0 else 'NOT empty'}; destroyed in {d:.2f} s, {left} left in state")
        if p.returncode != 0:
            print("\n".join(l for l in p.stdout.splitlines() if l.strip().startswith(("#", "~", "+", "-")))[:4000])
    finally:
        proxy.stop()
        emu.stop()


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--check"]:
        for example in args[1:] or ["kauri", "kavak"]:
            check(example)
        return
    examples = args or ["kauri", "kavak"]
    catalog = load_catalog(str(harness.PROVIDER_BIN))
    emu = harness.Emulator("moto").start()
    try:
        for example in examples:
            seed = int(os.environ.get("BENCH_SEED", sum(map(ord, example))))
            hcl = one_side(emu, example, "hcl", catalog, seed)
            ours = one_side(emu, example, "awsstack", catalog, seed)
            report(example, hcl, ours, seed)
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
