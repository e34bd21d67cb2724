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


def invoke(tf, *args, **kw):
    p = tf.apply("-invoke=action.awsstack_dr_drill.semestrial", *args, **kw)
    return p, " ".join((p.stdout + p.stderr).split())


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
