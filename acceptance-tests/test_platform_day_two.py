"""Luneo's day two, in Terraform 1.15: the semestrial DR drill as the
action `awsstack_dr_drill` (pre-flight, switchover and back, measured;
one way; refused on a lagging or stopped member; killed mid-way), and
`awsstack_eks_credentials` handing a cluster's endpoint, CA and token to a
write-only argument with nothing in the state (what the kubernetes and
helm providers take).

moto publishes no CloudWatch metric: the test puts the secondary's
`AuroraGlobalDBReplicationLag` datapoints that AWS publishes every minute."""

import base64
import json
import os
import signal
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import harness
from fault_proxy import FaultProxy, Rule
from harness import Terraform, leftovers, moto_ami
from test_multi_region import P, S, STACK, platform_leftovers, setup, writer_of

SECONDARY = f"{STACK}-aurora-secondary"

DRILL = """action "awsstack_dr_drill" "semestrial" {
  config {
    stack_id = awsstack_multi_region_platform.luneo.id
    %s
  }
}
"""

KUBE = """variable "worker_ami" {
  type = string
}

ephemeral "awsstack_eks_credentials" "us" {
  stack_id = awsstack_multi_region_platform.luneo.id
  region   = "%s"
}

provider "awsstack" {
  alias  = "worker"
  region = "%s"
}

# Where a kubernetes provider block would take them: here a write-only
# argument, so that the test can read what arrived.
resource "awsstack_docker_host" "worker" {
  provider       = awsstack.worker
  project_name   = "kubeworker"
  ami_id         = var.worker_ami
  enable_budgets = false
  ssm_parameters_wo = {
    KUBE_HOST  = ephemeral.awsstack_eks_credentials.us.endpoint
    KUBE_CA    = ephemeral.awsstack_eks_credentials.us.cluster_ca_certificate
    KUBE_TOKEN = ephemeral.awsstack_eks_credentials.us.token
  }
  ssm_parameters_wo_version = 1
}
""" % (S, P)


def lag(emu, ms):
    emu.client("cloudwatch", S).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[{"MetricName": "AuroraGlobalDBReplicationLag", "Dimensions": [{"Name": "DBClusterIdentifier", "Value": SECONDARY}], "Value": ms, "Unit": "Milliseconds", "Timestamp": datetime.now(timezone.utc)}],
    )


def invoke(tf, *args, check=True):
    """The drill with -json: its progress arrives as action_progress
    events; `out` is every event's message and diagnostic, decoded."""
    p = tf.run("apply", "-auto-approve", "-json", "-invoke=action.awsstack_dr_drill.semestrial", *args, check=check)
    events = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    said = [e["@message"] for e in events if e.get("type") == "action_progress"]
    if p.returncode == 0:
        assert said, "progress is streamed as action_progress events"
    texts = [e.get("@message", "") for e in events]
    texts += [f'{e["diagnostic"].get("summary", "")}: {e["diagnostic"].get("detail", "")}' for e in events if "diagnostic" in e]
    return p, " ".join(" ".join(texts + [p.stderr]).split())


def test_dr_drill_and_eks_credentials(fresh_emulator, workdir):
    emu = fresh_emulator
    proxy = FaultProxy(emu.endpoint).start()
    try:
        tf, _ = setup(emu, workdir, "1.15", profile="ephemeral")
        tf = Terraform("1.15", workdir, proxy.endpoint)
        (workdir / "kube.tf").write_text(KUBE)
        (workdir / "worker.auto.tfvars.json").write_text(json.dumps({"worker_ami": moto_ami(emu)}))
        tf.apply()
        assert writer_of(emu) == P

        # The EKS credentials reached the write-only argument, and no state.
        ssm = emu.client("ssm", P)
        got = {k: ssm.get_parameter(Name=f"/kubeworker/{k}", WithDecryption=True)["Parameter"]["Value"] for k in ("KUBE_HOST", "KUBE_CA", "KUBE_TOKEN")}
        cluster = emu.client("eks", S).describe_cluster(name=f"{STACK}-eks-secondary")["cluster"]
        assert got["KUBE_HOST"] == cluster["endpoint"]
        assert got["KUBE_CA"] == base64.b64decode(cluster["certificateAuthority"]["data"]).decode()
        token = got["KUBE_TOKEN"]
        assert token.startswith("k8s-aws-v1.")
        url = base64.urlsafe_b64decode(token[len("k8s-aws-v1."):] + "==").decode()
        q = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
        assert q["Action"] == ["GetCallerIdentity"] and q["X-Amz-Expires"] == ["60"], q
        assert "x-k8s-aws-id" in q["X-Amz-SignedHeaders"][0] and q["X-Amz-Credential"][0].split("/")[2:4] == [S, "sts"], q
        # What EKS does with it: call STS with the cluster's name as header
        # (moto tells STS from S3 by the host name a real endpoint has).
        req = urllib.request.Request(url.replace(proxy.endpoint, emu.endpoint), headers={"x-k8s-aws-id": cluster["name"], "Host": f"sts.{S}.amazonaws.com"})
        assert b"<Account>123456789012</Account>" in urllib.request.urlopen(req).read()
        state = (workdir / "terraform.tfstate").read_text()
        assert token not in state and got["KUBE_CA"] not in state, "the credentials never reach the state"

        # The drill, there and back: pre-flight, both legs measured.
        (workdir / "drill.tf").write_text(DRILL % "")
        lag(emu, 180)
        proxy.reset_counts()
        p, out = invoke(tf)
        assert "pre-flight: every member available" in out and "0.180 s (bound 60 s)" in out, out
        assert f"{P} → {S}:" in out and f"{S} → {P}:" in out and "without a writer" in out, out
        assert "replication lag before the switch: 0.180 s" in out and "health check " in out and f"the writer is in {P}" in out, out
        assert proxy.ops.get("rds:SwitchoverGlobalCluster") == 2, proxy.ops
        assert writer_of(emu) == P
        assert tf.plan().returncode == 0, "the drill leaves the stack as it was"

        # A platform that does not exist is named; nothing is switched.
        (workdir / "drill.tf").write_text(DRILL.replace("awsstack_multi_region_platform.luneo.id", '"ghost-prod"') % "")
        proxy.reset_counts()
        p, out = invoke(tf, check=False)
        assert p.returncode == 1 and 'no awsstack_multi_region_platform stack "ghost-prod"' in out, out
        assert "rds:SwitchoverGlobalCluster" not in proxy.ops

        # Refused: the lag above the bound, then a stopped member.
        (workdir / "drill.tf").write_text(DRILL % "max_replication_lag_seconds = 0.1")
        proxy.reset_counts()
        p, out = invoke(tf, check=False)
        assert p.returncode == 1 and "The drill did not start" in out and "0.2 s, above max_replication_lag_seconds = 0.1" in out, out
        assert "rds:SwitchoverGlobalCluster" not in proxy.ops
        rds_s = emu.client("rds", S)
        rds_s.stop_db_cluster(DBClusterIdentifier=SECONDARY)
        (workdir / "drill.tf").write_text(DRILL % "")
        p, out = invoke(tf, check=False)
        assert p.returncode == 1 and f"{SECONDARY} in {S} is stopped" in out, out
        assert "rds:SwitchoverGlobalCluster" not in proxy.ops and writer_of(emu) == P
        rds_s.start_db_cluster(DBClusterIdentifier=SECONDARY)

        # One way: the next plan shows the writer where the drill left it.
        (workdir / "drill.tf").write_text(DRILL % "return = false")
        p, out = invoke(tf)
        assert f"the writer is in {S}" in out and f"{S} → {P}" not in out, out
        assert writer_of(emu) == S
        p = tf.plan()
        assert p.returncode == 2 and "writer_region" in p.stdout and "switchover of the global database from us-east-1 to eu-west-1" in " ".join(p.stdout.split()), p.stdout
        tf.apply()
        assert writer_of(emu) == P and tf.plan().returncode == 0

        # Killed mid-way (right after the first switchover reached AWS): the
        # next plan tells the truth, and an apply puts the writer back.
        (workdir / "drill.tf").write_text(DRILL % "")
        killed = []

        def kill(action, endpoint=proxy.endpoint):
            for pid in harness.provider_pids(endpoint):
                os.kill(pid, signal.SIGKILL)
                killed.append(action)

        proxy.set(Rule(match="SwitchoverGlobalCluster", mode="callback", nth=1, callback=kill))
        p, out = invoke(tf, check=False)
        proxy.clear()
        assert killed and p.returncode == 1, out
        assert writer_of(emu) == S
        p = tf.plan()
        assert p.returncode == 2 and "switchover of the global database from us-east-1 to eu-west-1" in " ".join(p.stdout.split()), p.stdout
        tf.apply()
        assert writer_of(emu) == P and tf.plan().returncode == 0

        (workdir / "drill.tf").unlink()
        tf.destroy()
        assert platform_leftovers(emu) == [] and leftovers(emu, "kubeworker-dev") == []
    finally:
        proxy.stop()


def test_a_platform_is_listed_and_imported_from_either_of_its_regions(fresh_emulator, workdir):
    """The platform's manifest is kept in both its regions: `terraform
    query` with a provider of the secondary region lists it, and the
    generated import plans no change to AWS."""
    emu = fresh_emulator
    tf, _ = setup(emu, workdir, "1.15", profile="ephemeral")
    tf.apply()
    name = f"/stacks/awsstack/{STACK}/manifest"
    manifests = {r: emu.client("ssm", r).get_parameter(Name=name)["Parameter"]["Value"] for r in (P, S)}
    assert manifests[P] == manifests[S] and json.loads(manifests[S])["secondary_region"] == S
    assert tf.plan().returncode == 0

    rebuilt = workdir / "rebuilt"
    rebuilt.mkdir()
    (rebuilt / "main.tf").write_text(
        'terraform {\n  required_providers {\n    awsstack = { source = "awsstack/awsstack" }\n  }\n}\n\n'
        f'provider "awsstack" {{\n  region = "{S}"\n}}\n'
    )
    (rebuilt / "all.tfquery.hcl").write_text('list "awsstack_multi_region_platform" "all" {\n  provider = awsstack\n}\n')
    tf2 = Terraform("1.15", rebuilt, emu.endpoint)
    tf2.init()
    q = tf2.run("query", "-no-color")
    assert f"{STACK} (awsstack_multi_region_platform in {S})" in q.stdout, q.stdout
    tf2.run("query", "-no-color", "-generate-config-out=generated.tf")
    generated = (rebuilt / "generated.tf").read_text()
    assert "import {" in generated and f'"{STACK}"' in generated, generated
    (rebuilt / "all.tfquery.hcl").unlink()
    p = tf2.plan()
    assert p.returncode == 2 and "1 to import, 0 to add, 0 to change, 0 to destroy" in p.stdout, p.stdout + p.stderr
    # The first state keeps the platform: the rebuilt one is dropped, the
    # first destroys.
    tf.destroy()
    assert platform_leftovers(emu) == []
    for r in (P, S):
        assert not emu.client("ssm", r).get_parameters(Names=[name])["Parameters"], f"the manifest in {r} goes with the platform"
