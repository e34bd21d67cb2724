"""Shared helpers for the acceptance tests and the demo: start/stop the AWS
emulator (moto's server, or LocalStack's community runtime), install the
provider into a filesystem mirror, write the Terraform CLI configuration,
run the real Terraform CLI, and count what is left in the emulator."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools"
EXAMPLES = ROOT / "examples"
def _cargo_version() -> str:
    """The provider's version: Cargo.toml is its only source."""
    import re

    m = re.search(r'^version = "([^"]+)"$', (ROOT / "Cargo.toml").read_text(), re.M)
    assert m, "no version in Cargo.toml"
    return m.group(1)


PROVIDER_VERSION = _cargo_version()
PROVIDER_BIN = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "terraform-provider-awsstack"
TERRAFORMS = {"1.0": TOOLS / "bin" / "terraform-1.0", "1.15": TOOLS / "bin" / "terraform-1.15"}
ACCOUNT = "123456789012"
REGION = "eu-west-1"
STACK_TAG = "awsstack:stack-id"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    """An AWS emulator on loopback, started here and stopped by PID."""

    def __init__(self, kind: str = "moto", env: dict | None = None):
        self.kind = kind
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log = Path(tempfile.mkstemp(prefix=f"{kind}-", suffix=".log")[1])

    def start(self, timeout: float = 120, attempts: int = 5) -> "Emulator":
        """Start the emulator and wait until it answers. free_port() closes
        its probe socket before the emulator binds, so another process may
        take the port in between: then the process started here cannot
        bind, and whatever answers on the port belongs to someone else (a
        test sharing another worker's moto sees its state reset under it).
        The moto launcher answers with the id given to it, so an answer
        from another emulator is recognised and a new port is tried."""
        for _ in range(attempts):
            if self._start_once(timeout):
                return self
            self.stop()
            self.port = free_port()
            self.endpoint = f"http://127.0.0.1:{self.port}"
        raise RuntimeError(f"{self.kind}: {attempts} ports were taken by another process")

    def _start_once(self, timeout: float) -> bool:
        env = dict(os.environ)
        # moto reports an ECS service's running count from this variable
        # (default 0): one task runs, so a stable-service waiter can finish.
        env.update({"MOTO_ECS_SERVICE_RUNNING": "1", "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION})
        env.update(self.extra_env)
        self.id = uuid.uuid4().hex
        self.resets = 0
        env["AWSSTACK_EMULATOR_ID"] = self.id
        if self.kind == "moto":
            # moto_server plus the deletions it cannot complete (see moto_server.py).
            cmd = [str(TOOLS / "venv" / "bin" / "python"), str(Path(__file__).resolve().parent / "moto_server.py"), "-H", "127.0.0.1", "-p", str(self.port)]
        else:
            env.update({"GATEWAY_LISTEN": f"127.0.0.1:{self.port}", "GATEWAY_SERVER": "hypercorn", "OVERRIDE_IN_DOCKER": "0", "DNS_ADDRESS": "0", "SKIP_INFRA_DOWNLOADS": "1", "LOCALSTACK_VOLUME_DIR": tempfile.mkdtemp(prefix="ls-vol-")})
            cmd = [str(TOOLS / "localstack-venv" / "bin" / "python"), "-m", "localstack.runtime.main"]
        self.proc = subprocess.Popen(cmd, stdout=self.log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.time() + timeout
        probe = "/awsstack-emulator-id" if self.kind == "moto" else "/_localstack/health"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                if "Address already in use" in self.log.read_text():
                    return False
                raise RuntimeError(f"{self.kind} exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.endpoint + probe, timeout=2) as r:
                    body = r.read()
            except Exception:
                time.sleep(0.3)
                continue
            if self.kind != "moto" or json.loads(body).get("id") == self.id:
                return True
            return False
        raise RuntimeError(f"{self.kind} did not start on {self.endpoint}")

    def reset(self) -> None:
        if self.kind == "moto":
            self.check_own()
            urllib.request.urlopen(urllib.request.Request(self.endpoint + "/moto-api/reset", method="POST"), timeout=30)
            self.resets += 1

    def check_own(self) -> None:
        """The emulator on this port is still the one started here."""
        assert self.proc is not None and self.proc.poll() is None, f"{self.kind} on {self.endpoint} has exited: {self.log.read_text()[-2000:]}"
        with urllib.request.urlopen(self.endpoint + "/awsstack-emulator-id", timeout=10) as r:
            answer = json.loads(r.read())
        assert answer.get("id") == self.id, f"another emulator answers on {self.endpoint}"
        assert answer.get("resets") == self.resets, f"the emulator on {self.endpoint} was reset {answer.get('resets')} times, {self.resets} of them by this process"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def client(self, service: str, region: str = REGION):
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
        )


def install_provider(dest: Path) -> Path:
    """A filesystem mirror holding the freshly built provider."""
    if not PROVIDER_BIN.exists():
        raise RuntimeError(f"{PROVIDER_BIN} is missing: run scripts/setup.sh (cargo build --release)")
    d = dest / "registry.terraform.io" / "awsstack" / "awsstack" / PROVIDER_VERSION / "linux_amd64"
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy2(PROVIDER_BIN, d / f"terraform-provider-awsstack_v{PROVIDER_VERSION}")
    return dest


AWS_MIRROR = TOOLS / "aws-mirror"  # hashicorp/aws 3.39.0, installed by scripts/setup.sh


def write_cli_config(workdir: Path) -> Path:
    """awsstack from a mirror of the fresh build, hashicorp/aws from the
    mirror setup.sh fills; nothing from the network."""
    mirror = install_provider(workdir / ".mirror")
    cfg = workdir / ".terraformrc"
    cfg.write_text(
        f"""provider_installation {{
  filesystem_mirror {{
    path    = "{mirror}"
    include = ["registry.terraform.io/awsstack/*"]
  }}
  filesystem_mirror {{
    path    = "{AWS_MIRROR}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }}
  direct {{
    exclude = ["registry.terraform.io/awsstack/*", "registry.terraform.io/hashicorp/aws"]
  }}
}}
"""
    )
    return cfg


class TerraformError(Exception):
    def __init__(self, args, code, out, err):
        super().__init__(f"terraform {' '.join(args)} exited {code}\n--- stdout\n{out[-6000:]}\n--- stderr\n{err[-6000:]}")
        self.code, self.stdout, self.stderr = code, out, err


class Terraform:
    """The real Terraform CLI in one working directory."""

    def __init__(self, version: str, workdir: Path, endpoint: str, extra_env: dict | None = None):
        self.version = version
        self.bin = str(TERRAFORMS[version])
        self.workdir = Path(workdir)
        self.cli_config = write_cli_config(self.workdir)
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))
        }
        self.env.update(
            {
                "TF_CLI_CONFIG_FILE": str(self.cli_config),
                "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0",
                "CHECKPOINT_DISABLE": "1",
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_REGION": REGION,
                "AWS_ENDPOINT_URL": endpoint,
                "TF_PLUGIN_CACHE_DIR": "",
            }
        )
        self.env.pop("TF_PLUGIN_CACHE_DIR")
        if extra_env:
            self.env.update(extra_env)

    def run(self, *args: str, check: bool = True, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
        e = dict(self.env)
        if env:
            e.update(env)
        p = subprocess.run([self.bin, *args], cwd=self.workdir, env=e, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise TerraformError(args, p.returncode, p.stdout, p.stderr)
        return p

    def start(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        """Terraform in the background, in a process group of its own, as a
        terminal runs it: `os.killpg(p.pid, SIGINT)` is a user's Ctrl-C,
        which reaches Terraform and its provider processes alike."""
        e = dict(self.env)
        if env:
            e.update(env)
        return subprocess.Popen([self.bin, *args], cwd=self.workdir, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def init(self):
        return self.run("init", "-no-color")

    def apply(self, *args: str, **kw):
        return self.run("apply", "-auto-approve", "-no-color", *args, **kw)

    def destroy(self, *args: str, **kw):
        return self.run("destroy", "-auto-approve", "-no-color", *args, **kw)

    def plan(self, *args: str, **kw) -> subprocess.CompletedProcess:
        """`plan -detailed-exitcode`: returncode 0 = no changes, 2 = changes."""
        return self.run("plan", "-no-color", "-detailed-exitcode", *args, check=False, **kw)

    def resource_actions(self) -> dict:
        """Planned actions per resource address, from the JSON plan.
        Output-only changes, and "updates" whose values are identical
        (Terraform 1.0 plans one when only sensitivity marks differ, e.g.
        after an import), are not resource changes."""
        self.run("plan", "-no-color", "-out=check.tfplan")
        plan = json.loads(self.run("show", "-json", "check.tfplan").stdout)
        return {rc["address"]: rc["change"]["actions"] for rc in plan.get("resource_changes", []) if rc["change"]["actions"] != ["no-op"] and not (rc["change"]["actions"] == ["update"] and rc["change"]["before"] == rc["change"]["after"])}

    def outputs(self) -> dict:
        p = self.run("output", "-json")
        return {k: v["value"] for k, v in json.loads(p.stdout).items()}

    def output_raw(self, name: str) -> str:
        return self.run("output", "-raw", name).stdout

    def state(self) -> dict:
        p = self.run("show", "-json")
        return json.loads(p.stdout)


def copy_example(name: str, dest: Path) -> Path:
    src = ROOT / "examples" / name
    shutil.copytree(src, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".terraform*", "terraform.tfstate*"))
    return dest


def moto_ami(emu: Emulator) -> str:
    """An image the emulator can boot (moto has Amazon Linux images only)."""
    imgs = emu.client("ec2").describe_images(Owners=["amazon"])["Images"]
    imgs.sort(key=lambda i: i["ImageId"])
    return imgs[0]["ImageId"]


def leftovers(emu: Emulator, stack_id: str, region: str = REGION, budgets: bool = True, containers: bool = True) -> list[str]:
    """Every resource in the emulator that carries the stack's tag (or its
    deterministic name, for services without tag search). `budgets=False`
    and `containers=False` skip the services LocalStack's community runtime
    lacks (Budgets; ECS, ELBv2, ECR, RDS, ElastiCache)."""
    found: list[str] = []
    ec2 = emu.client("ec2", region)
    flt = [{"Name": f"tag:{STACK_TAG}", "Values": [stack_id]}]
    for r in ec2.describe_vpcs(Filters=flt)["Vpcs"]:
        found.append(f"vpc {r['VpcId']}")
    for r in ec2.describe_subnets(Filters=flt)["Subnets"]:
        found.append(f"subnet {r['SubnetId']}")
    for r in ec2.describe_internet_gateways(Filters=flt)["InternetGateways"]:
        found.append(f"igw {r['InternetGatewayId']}")
    for r in ec2.describe_route_tables(Filters=flt)["RouteTables"]:
        found.append(f"rtb {r['RouteTableId']}")
    for r in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]:
        found.append(f"sg {r['GroupId']}")
    for res in ec2.describe_instances(Filters=flt)["Reservations"]:
        for i in res["Instances"]:
            if i["State"]["Name"] not in ("terminated",):
                found.append(f"instance {i['InstanceId']} ({i['State']['Name']})")
    for v in ec2.describe_volumes(Filters=flt)["Volumes"]:
        found.append(f"volume {v['VolumeId']}")
    for a in ec2.describe_addresses(Filters=flt)["Addresses"]:
        found.append(f"eip {a['AllocationId']}")
    iam = emu.client("iam", region)
    for r in iam.list_roles()["Roles"]:
        if r["RoleName"].startswith(stack_id + "-"):
            found.append(f"role {r['RoleName']}")
    for p in iam.list_instance_profiles()["InstanceProfiles"]:
        if p["InstanceProfileName"].startswith(stack_id + "-"):
            found.append(f"instance-profile {p['InstanceProfileName']}")
    s3 = emu.client("s3", region)
    for b in s3.list_buckets().get("Buckets", []):
        try:
            tags = s3.get_bucket_tagging(Bucket=b["Name"])["TagSet"]
        except Exception:
            tags = []
        if any(t["Key"] == STACK_TAG and t["Value"] == stack_id for t in tags):
            found.append(f"bucket {b['Name']}")
    ssm = emu.client("ssm", region)
    for p in ssm.describe_parameters(MaxResults=50).get("Parameters", []):
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=p["Name"]).get("TagList", [])
        if any(t["Key"] == STACK_TAG and t["Value"] == stack_id for t in tags):
            found.append(f"parameter {p['Name']}")
    sns = emu.client("sns", region)
    for t in sns.list_topics().get("Topics", []):
        if t["TopicArn"].split(":")[-1].startswith(stack_id + "-"):
            found.append(f"topic {t['TopicArn']}")
    cw = emu.client("cloudwatch", region)
    for a in cw.describe_alarms(AlarmNamePrefix=stack_id + "-").get("MetricAlarms", []):
        found.append(f"alarm {a['AlarmName']}")
    sch = emu.client("scheduler", region)
    for s in sch.list_schedules(NamePrefix=stack_id + "-").get("Schedules", []):
        found.append(f"schedule {s['Name']}")
    if emu.kind == "moto":  # LocalStack's community runtime has no DLM
        for p in emu.client("dlm", region).get_lifecycle_policies(TargetTags=[f"awsstack:backup={stack_id}"]).get("Policies", []):
            found.append(f"dlm-policy {p['PolicyId']}")
    if containers:
        found += container_leftovers(emu, stack_id, region)
    if budgets:
        b = emu.client("budgets", "us-east-1")
        for x in b.describe_budgets(AccountId=ACCOUNT).get("Budgets", []):
            if x["BudgetName"].startswith(stack_id + "-"):
                found.append(f"budget {x['BudgetName']}")
    return found


def container_leftovers(emu: Emulator, stack_id: str, region: str = REGION) -> list[str]:
    """The container service's resources: NAT gateways, ECR, logs, secrets,
    load balancers, RDS, ElastiCache and ECS."""
    found: list[str] = []
    ours = lambda tags: any(t["Key"] == STACK_TAG and t["Value"] == stack_id for t in tags)  # noqa: E731
    ec2 = emu.client("ec2", region)
    for n in ec2.describe_nat_gateways()["NatGateways"]:  # moto ignores tag filters here
        if ours(n.get("Tags", [])) and n["State"] not in ("deleted", "deleting"):
            found.append(f"nat {n['NatGatewayId']}")
    for r in emu.client("ecr", region).describe_repositories()["repositories"]:
        if r["repositoryName"].startswith(stack_id + "-"):
            found.append(f"ecr {r['repositoryName']}")
    for g in emu.client("logs", region).describe_log_groups(logGroupNamePrefix=f"/ecs/{stack_id}-")["logGroups"]:
        found.append(f"log-group {g['logGroupName']}")
    for x in emu.client("secretsmanager", region).list_secrets()["SecretList"]:
        if ours(x.get("Tags", [])) and "DeletedDate" not in x:
            found.append(f"secret {x['Name']}")
    elb = emu.client("elbv2", region)
    lbs = [x["LoadBalancerArn"] for x in elb.describe_load_balancers()["LoadBalancers"]]
    tgs = [x["TargetGroupArn"] for x in elb.describe_target_groups()["TargetGroups"]]
    for arns, what in ((lbs, "load-balancer"), (tgs, "target-group")):
        if arns:
            for d in elb.describe_tags(ResourceArns=arns)["TagDescriptions"]:
                if ours(d["Tags"]):
                    found.append(f"{what} {d['ResourceArn']}")
    rds = emu.client("rds", region)
    for db in rds.describe_db_instances()["DBInstances"]:
        if ours(db.get("TagList", [])) and db["DBInstanceStatus"] != "deleting":
            found.append(f"db {db['DBInstanceIdentifier']}")
    for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]:
        if g["DBSubnetGroupName"].startswith(stack_id + "-"):
            found.append(f"db-subnet-group {g['DBSubnetGroupName']}")
    ec = emu.client("elasticache", region)
    for g in ec.describe_replication_groups()["ReplicationGroups"]:
        if g["ReplicationGroupId"].startswith(stack_id[:20]) and g["Status"] != "deleting":
            found.append(f"redis {g['ReplicationGroupId']}")
    for g in ec.describe_cache_subnet_groups()["CacheSubnetGroups"]:
        if g["CacheSubnetGroupName"].startswith(stack_id + "-"):
            found.append(f"cache-subnet-group {g['CacheSubnetGroupName']}")
    ecs = emu.client("ecs", region)
    arns = ecs.list_clusters()["clusterArns"]
    if arns:
        for c in ecs.describe_clusters(clusters=arns)["clusters"]:
            # Deleted clusters stay listed as INACTIVE.
            if c["clusterName"].startswith(stack_id + "-") and c["status"] == "ACTIVE":
                found.append(f"ecs-cluster {c['clusterName']}")
                for svc in ecs.list_services(cluster=c["clusterArn"])["serviceArns"]:
                    found.append(f"ecs-service {svc}")
    for td in active_task_definitions(ecs, stack_id):
        found.append(f"task-definition {td}")
    return found


def active_task_definitions(ecs, stack_id: str) -> list[str]:
    """The stack's ACTIVE task definition revisions. (moto answers
    ListTaskDefinitions with familyPrefix and status with nothing: filter
    here.)"""
    arns = [a for a in ecs.list_task_definitions()["taskDefinitionArns"] if f":task-definition/{stack_id}-" in a]
    return [a for a in arns if ecs.describe_task_definition(taskDefinition=a)["taskDefinition"]["status"] == "ACTIVE"]


def state_ids(tf: "Terraform") -> list[str]:
    """Every AWS id the Terraform state records (all stacks' resource_ids)."""
    p = tf.run("show", "-json", check=False)
    if p.returncode != 0 or not p.stdout.strip():
        return []
    ids: list[str] = []

    def walk(module):
        for r in module.get("resources", []):
            ids.extend((r.get("values") or {}).get("resource_ids", {}).values() or [])
        for child in module.get("child_modules", []):
            walk(child)

    walk(json.loads(p.stdout).get("values", {}).get("root_module", {}))
    return ids


def orphans(emu: Emulator, stack_id: str, tf: "Terraform", **kw) -> list[str]:
    """Resources tagged with the stack id that the state does not record."""
    known = state_ids(tf)
    # A root volume belongs to its instance (deleted on termination).
    ec2 = emu.client("ec2", kw.get("region", REGION))
    for v in ec2.describe_volumes(Filters=[{"Name": f"tag:{STACK_TAG}", "Values": [stack_id]}])["Volumes"]:
        if any(a.get("InstanceId") in known for a in v.get("Attachments", [])) and any(t["Key"] == "awsstack:component" and t["Value"] == "instance.root" for t in v.get("Tags", [])):
            known.append(v["VolumeId"])
    out = []
    for item in leftovers(emu, stack_id, **kw):
        ident = item.split(" ", 1)[1].split(" (")[0]
        if not any(ident == k or ident in k or k in ident for k in known if k):
            out.append(item)
    return out


CONFIG_HEADER = 'terraform {\n  required_providers {\n    awsstack = { source = "awsstack/awsstack" }\n  }\n}\n\nprovider "awsstack" {\n  region = "eu-west-1"\n}\n\n'


def write_config(work: Path, body: str) -> Path:
    """A main.tf with the awsstack provider (eu-west-1) and `body`."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "main.tf").write_text(CONFIG_HEADER + body)
    return work


def provider_pids(endpoint: str) -> list[int]:
    """The provider processes talking to `endpoint` (by their environment)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if b"terraform-provider-awsstack" not in (d / "cmdline").read_bytes():
                continue
            if f"AWS_ENDPOINT_URL={endpoint}".encode() in (d / "environ").read_bytes().split(b"\0"):
                pids.append(int(d.name))
        except OSError:
            continue
    return pids


def stack_object_tags(emu: Emulator, stack_id: str, region: str = REGION) -> dict[str, dict]:
    """The tags of every object of a stack, read through each service's own
    API: {"<what> <id>": {key: value}}. Objects are found by the stack-id
    tag, or by the stack's name prefix where a service cannot filter."""
    kv = lambda items: {t["Key"]: t["Value"] for t in items}  # noqa: E731
    ours = lambda tags: tags.get(STACK_TAG) == stack_id  # noqa: E731
    out: dict[str, dict] = {}
    ec2 = emu.client("ec2", region)
    ids = {d["ResourceId"] for d in ec2.describe_tags(Filters=[{"Name": "key", "Values": [STACK_TAG]}, {"Name": "value", "Values": [stack_id]}])["Tags"]}
    for rid in sorted(ids):
        tags = kv(ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [rid]}])["Tags"])
        if rid.startswith("vol-") and tags.get("awsstack:component") == "instance.root":
            continue  # the instance's root volume, tagged at launch
        if rid.startswith("snap-"):
            continue  # a kept final snapshot: not part of the live stack
        if rid.startswith("i-") and ec2.describe_instances(InstanceIds=[rid])["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated":
            continue
        out[f"ec2 {rid}"] = tags
    iam = emu.client("iam", region)
    for r in iam.list_roles()["Roles"]:
        if r["RoleName"].startswith(stack_id + "-"):
            out[f"role {r['RoleName']}"] = kv(iam.list_role_tags(RoleName=r["RoleName"])["Tags"])
    for p in iam.list_instance_profiles()["InstanceProfiles"]:
        if p["InstanceProfileName"].startswith(stack_id + "-"):
            out[f"instance-profile {p['InstanceProfileName']}"] = kv(iam.get_instance_profile(InstanceProfileName=p["InstanceProfileName"])["InstanceProfile"].get("Tags", []))
    s3 = emu.client("s3", region)
    for b in s3.list_buckets().get("Buckets", []):
        try:
            tags = kv(s3.get_bucket_tagging(Bucket=b["Name"])["TagSet"])
        except Exception:
            tags = {}
        if ours(tags):
            out[f"bucket {b['Name']}"] = tags
    ssm = emu.client("ssm", region)
    for p in ssm.describe_parameters(MaxResults=50).get("Parameters", []):
        tags = kv(ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=p["Name"]).get("TagList", []))
        if ours(tags):
            out[f"parameter {p['Name']}"] = tags
    sns = emu.client("sns", region)
    for t in sns.list_topics().get("Topics", []):
        tags = kv(sns.list_tags_for_resource(ResourceArn=t["TopicArn"]).get("Tags", []))
        if ours(tags):
            out[f"topic {t['TopicArn']}"] = tags
    cw = emu.client("cloudwatch", region)
    for a in cw.describe_alarms(AlarmNamePrefix=stack_id + "-").get("MetricAlarms", []):
        out[f"alarm {a['AlarmName']}"] = kv(cw.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"])
    dlm = emu.client("dlm", region)
    for p in dlm.get_lifecycle_policies(TargetTags=[f"awsstack:backup={stack_id}"]).get("Policies", []):
        out[f"dlm-policy {p['PolicyId']}"] = dlm.list_tags_for_resource(ResourceArn=dlm.get_lifecycle_policy(PolicyId=p["PolicyId"])["Policy"]["PolicyArn"])["Tags"]
    b = emu.client("budgets", "us-east-1")
    for x in b.describe_budgets(AccountId=ACCOUNT).get("Budgets", []):
        if x["BudgetName"].startswith(stack_id + "-"):
            arn = f"arn:aws:budgets::{ACCOUNT}:budget/{x['BudgetName']}"
            out[f"budget {x['BudgetName']}"] = kv(b.list_tags_for_resource(ResourceARN=arn)["ResourceTags"])
    for r in emu.client("ecr", region).describe_repositories()["repositories"]:
        if r["repositoryName"].startswith(stack_id + "-"):
            out[f"ecr {r['repositoryName']}"] = kv(emu.client("ecr", region).list_tags_for_resource(resourceArn=r["repositoryArn"])["tags"])
    logs = emu.client("logs", region)
    for g in logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{stack_id}-")["logGroups"]:
        out[f"log-group {g['logGroupName']}"] = logs.list_tags_for_resource(resourceArn=g["arn"].removesuffix(":*"))["tags"]
    for x in emu.client("secretsmanager", region).list_secrets()["SecretList"]:
        if ours(kv(x.get("Tags", []))) and "DeletedDate" not in x:
            out[f"secret {x['Name']}"] = kv(x["Tags"])
    elb = emu.client("elbv2", region)
    arns = [x["LoadBalancerArn"] for x in elb.describe_load_balancers()["LoadBalancers"]] + [x["TargetGroupArn"] for x in elb.describe_target_groups()["TargetGroups"]]
    for lb in elb.describe_load_balancers()["LoadBalancers"]:
        arns += [l["ListenerArn"] for l in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]]
    for i in range(0, len(arns), 20):
        for d in elb.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
            if ours(kv(d["Tags"])):
                out[f"elbv2 {d['ResourceArn']}"] = kv(d["Tags"])
    rds = emu.client("rds", region)
    for db in rds.describe_db_instances()["DBInstances"]:
        if ours(kv(db.get("TagList", []))):
            out[f"db {db['DBInstanceIdentifier']}"] = kv(rds.list_tags_for_resource(ResourceName=db["DBInstanceArn"])["TagList"])
    for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]:
        if g["DBSubnetGroupName"].startswith(stack_id + "-"):
            out[f"db-subnet-group {g['DBSubnetGroupName']}"] = kv(rds.list_tags_for_resource(ResourceName=g["DBSubnetGroupArn"])["TagList"])
    ec = emu.client("elasticache", region)
    for g in ec.describe_replication_groups()["ReplicationGroups"]:
        if g["ReplicationGroupId"].startswith(stack_id[:20]) and g["Status"] != "deleting":
            out[f"redis {g['ReplicationGroupId']}"] = kv(ec.list_tags_for_resource(ResourceName=g["ARN"])["TagList"])
    for g in ec.describe_cache_subnet_groups()["CacheSubnetGroups"]:
        if g["CacheSubnetGroupName"].startswith(stack_id + "-"):
            out[f"cache-subnet-group {g['CacheSubnetGroupName']}"] = kv(ec.list_tags_for_resource(ResourceName=g["ARN"])["TagList"])
    ecs = emu.client("ecs", region)
    for c in ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"] or ["none"])["clusters"]:
        if c["clusterName"].startswith(stack_id + "-") and c["status"] == "ACTIVE":
            out[f"ecs-cluster {c['clusterName']}"] = kv([{"Key": t["key"], "Value": t["value"]} for t in ecs.list_tags_for_resource(resourceArn=c["clusterArn"])["tags"]])
            for svc in ecs.list_services(cluster=c["clusterArn"])["serviceArns"]:
                out[f"ecs-service {svc}"] = kv([{"Key": t["key"], "Value": t["value"]} for t in ecs.list_tags_for_resource(resourceArn=svc)["tags"]])
    for td in active_task_definitions(ecs, stack_id):
        out[f"task-definition {td}"] = kv([{"Key": t["key"], "Value": t["value"]} for t in ecs.list_tags_for_resource(resourceArn=td)["tags"]])
    return out


def network_snapshot(emu: Emulator, vpc: str, subnets: list[str], route_tables: list[str]) -> dict:
    """Everything about a network of the user's that a stack placed in it
    could have changed: tags, public-IP settings, routes, associations,
    gateway attachments, and how many VPCs the region has."""
    ec2 = emu.client("ec2")
    tags = lambda x: tuple(sorted((t["Key"], t["Value"]) for t in x.get("Tags", [])))  # noqa: E731
    v = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]
    tables = ec2.describe_route_tables(RouteTableIds=route_tables)["RouteTables"]
    gateways = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])["InternetGateways"]
    return {
        "vpc": (v["CidrBlock"], tags(v)),
        "subnets": sorted((s["SubnetId"], s["CidrBlock"], s["MapPublicIpOnLaunch"], tags(s)) for s in ec2.describe_subnets(SubnetIds=subnets)["Subnets"]),
        "routes": sorted(
            (t["RouteTableId"], tuple(sorted((str(r.get("DestinationCidrBlock")), str(r.get("GatewayId") or r.get("NatGatewayId"))) for r in t["Routes"])), tuple(sorted(a.get("SubnetId") or "main" for a in t["Associations"])), tags(t))
            for t in tables
        ),
        "gateways": sorted((g["InternetGatewayId"], tags(g)) for g in gateways),
        "vpcs_in_region": len(ec2.describe_vpcs()["Vpcs"]),
    }
