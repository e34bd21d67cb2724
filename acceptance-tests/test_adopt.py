"""Moving a hand-built deployment into a stack (issue 36): the seeds'
deployments as their teams write them with hashicorp/aws 3.39.0
(acceptance-tests/hcl/<team>/main.tf), applied on moto, then taken by one
awsstack resource through `adopt`:

- a plan whose replace-only difference (the subnets' blocks) is refused on
  the attribute to write, with nothing changed;
- the plan of the move: every object taken, with what it gets, what the
  stack creates besides, nothing replaced or deleted, and a warning with
  the `removed` blocks, the `terraform state rm` command and the `adopt`
  map with literal ids;
- the old blocks replaced by those `removed` blocks (Terraform 1.15) or the
  printed `state rm` run (Terraform 1.0.3), then apply: every AWS id the
  same (read through the AWS API), the data the same, the next plan empty,
  the state free of the old addresses, and a destroy that follows the
  stack's data rules."""

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

import harness
from bench_vs_hcl import HCL, SERVICES, provider_override
from harness import REGION, Terraform, leftovers, moto_ami, stack_object_tags

ACCOUNT = "123456789012"


def workdir_for(team: str, tmp: Path, emu, version: str, main: str | None = None) -> Terraform:
    """The team's HCL (or `main`) against the emulator, with awsstack
    required too (an override file merges it into the team's
    `required_providers`)."""
    (tmp / "main.tf").write_text(main if main is not None else (HCL / team / "main.tf").read_text())
    (tmp / "emulator_override.tf").write_text(provider_override(emu.endpoint, SERVICES[team]))
    (tmp / "awsstack_override.tf").write_text(
        'terraform {\n  required_providers {\n    awsstack = { source = "awsstack/awsstack" }\n  }\n}\n'
    )
    (tmp / "providers.tf").write_text(f'provider "awsstack" {{\n  region = "{REGION}"\n}}\n')
    return Terraform(version, tmp, emu.endpoint)


def plan_json(tf: Terraform) -> tuple[dict, list[dict]]:
    """The saved plan as JSON and the plan's diagnostics (from `plan -json`)."""
    p = tf.run("plan", "-json", "-out=move.tfplan", check=False)
    diags = [m["diagnostic"] for m in map(json.loads, p.stdout.splitlines()) if m.get("type") == "diagnostic"]
    if p.returncode != 0:
        return {}, diags
    return json.loads(tf.run("show", "-json", "move.tfplan").stdout), diags


def stack_change(plan: dict, address: str) -> dict:
    return next(rc for rc in plan["resource_changes"] if rc["address"] == address)["change"]


def move_text(diags: list[dict]) -> str:
    warning = [d for d in diags if d["summary"] == "Move from hashicorp/aws"]
    assert len(warning) == 1, diags
    return warning[0]["detail"]


def removed_blocks(text: str) -> list[str]:
    return re.findall(r"removed \{\n  from = ([^\n]+)\n  lifecycle \{\n    destroy = false\n  \}\n\}", text)


def removed_hcl(addresses: list[str]) -> str:
    """The `removed` blocks the warning prints, as the user pastes them."""
    return "".join(f"removed {{\n  from = {a}\n  lifecycle {{\n    destroy = false\n  }}\n}}\n" for a in addresses)


def literal_adopt(text: str) -> str:
    m = re.search(r"(  adopt = \{\n.*?\n  \}\n)", text, re.S)
    assert m, text
    return m.group(1)


def without_hand_built(main: str) -> str:
    """The team's HCL with every hashicorp/aws resource and output taken
    out: what is left after the move (the `terraform` block, the providers,
    the variables, locals and data sources, which read and manage nothing)."""
    blocks = re.split(r"(?m)^(?=(?:resource|data|output|locals|variable|provider|terraform) )", main)
    keep = [b for b in blocks if not b.startswith(("resource ", "output "))]
    return "".join(keep)


def stack_tagged(emu, stack_id: str) -> list[str]:
    """The objects that carry the stack's id tag."""
    return sorted(k for k, t in stack_object_tags(emu, stack_id).items() if t.get("awsstack:stack-id") == stack_id)


def managed(tf: Terraform) -> list[str]:
    """The managed resources in the state (data sources read nothing in)."""
    return [a for a in tf.run("state", "list").stdout.split() if not a.startswith("data.")]


def errors_text(diags: list[dict]) -> str:
    return "\n\n".join(f"{d['summary']}: {d['detail']}" for d in diags if d["severity"] == "error")


def assert_no_error(diags: list[dict]):
    assert not errors_text(diags), errors_text(diags)


# --- Kavak (seed 004): the container service ----------------------------------

KAVAK_ID = "kavak-agent-dev"


def kavak_hcl() -> str:
    """Seed 004's HCL with its Redis as the seed has it, a replication group
    (one node, encrypted at rest): hashicorp/aws 3.39's replication group
    needs waits moto cannot play, so the test makes it with the API, as a
    team that built it with the CLI, and passes its address in."""
    main = (HCL / "kavak" / "main.tf").read_text()
    main = re.sub(r'(?ms)^resource "aws_elasticache_cluster" "main" \{.*?^\}\n', "", main)
    main = re.sub(r"(?ms)^locals \{\n(?:\s*#[^\n]*\n)*  redis_host = .*?^\}\n", 'variable "redis_host" {\n  type = string\n}\n\nlocals {\n  redis_host = var.redis_host\n}\n', main)
    assert 'resource "aws_elasticache_cluster"' not in main and "var.redis_host" in main
    return main


def kavak_stack(adopt: str, cidrs: bool = True) -> str:
    subnets = (
        '  public_subnet_cidrs  = ["10.0.1.0/24", "10.0.2.0/24"]\n'
        '  private_subnet_cidrs = ["10.0.11.0/24", "10.0.12.0/24"]\n'
        if cidrs
        else ""
    )
    return f"""resource "awsstack_container_service" "kavak" {{
  project_name = "kavak-agent"
  env          = "dev"
  owner        = "ai-sales-team"
{subnets}  container_port       = 8000
  health_check_path    = "/health"
  health_check_matcher = "200"
  app_secrets          = ["openai-api-key", "twilio-auth-token"]
  environment          = {{ LOG_LEVEL = "info" }}
  db_engine_version    = "15.4"
  db_instance_class    = "db.t4g.micro"
  db_name              = "kavak_agent"
  db_username          = "kavak_admin"
  redis_engine_version = "7.0"
  log_retention_days   = 14
{adopt}}}
"""


KAVAK_ADOPT_REFS = """  adopt = {
    "vpc"                    = { id = aws_vpc.main.id, from = ["aws_vpc.main"] }
    "igw"                    = { id = aws_internet_gateway.main.id, from = ["aws_internet_gateway.main"] }
    "subnet.public.${local.azs[0]}"  = { id = aws_subnet.public[0].id, from = ["aws_subnet.public[0]"] }
    "subnet.public.${local.azs[1]}"  = { id = aws_subnet.public[1].id, from = ["aws_subnet.public[1]"] }
    "subnet.private.${local.azs[0]}" = { id = aws_subnet.private[0].id, from = ["aws_subnet.private[0]"] }
    "subnet.private.${local.azs[1]}" = { id = aws_subnet.private[1].id, from = ["aws_subnet.private[1]"] }
    "rtb.public"             = { id = aws_route_table.public.id, from = ["aws_route_table.public", "aws_route_table_association.public[0]", "aws_route_table_association.public[1]"] }
    "rtb.private"            = { id = aws_route_table.private.id, from = ["aws_route_table.private", "aws_route_table_association.private[0]", "aws_route_table_association.private[1]"] }
    "eip.nat.${local.azs[0]}" = { id = aws_eip.nat.id, from = ["aws_eip.nat"] }
    "nat.${local.azs[0]}"    = { id = aws_nat_gateway.main.id, from = ["aws_nat_gateway.main"] }
    "sg.alb"                 = { id = aws_security_group.alb.id, from = ["aws_security_group.alb"] }
    "sg.ecs"                 = { id = aws_security_group.ecs.id, from = ["aws_security_group.ecs"] }
    "sg.db"                  = { id = aws_security_group.db.id, from = ["aws_security_group.db"] }
    "sg.redis"               = { id = aws_security_group.redis.id, from = ["aws_security_group.redis"] }
    "alb"                    = { id = aws_lb.main.arn, from = ["aws_lb.main"] }
    "tg"                     = { id = aws_lb_target_group.app.arn, from = ["aws_lb_target_group.app"] }
    "listener.http"          = { id = aws_lb_listener.http.arn, from = ["aws_lb_listener.http"] }
    "ecr"                    = { id = aws_ecr_repository.app.name, from = ["aws_ecr_repository.app"] }
    "logs"                   = { id = aws_cloudwatch_log_group.app.name, from = ["aws_cloudwatch_log_group.app"] }
    "secret.db"              = { id = aws_secretsmanager_secret.database.arn, from = ["aws_secretsmanager_secret.database", "aws_secretsmanager_secret_version.database"] }
    "secret.app.openai-api-key"    = { id = aws_secretsmanager_secret.openai_api_key.arn, from = ["aws_secretsmanager_secret.openai_api_key"] }
    "secret.app.twilio-auth-token" = { id = aws_secretsmanager_secret.twilio_auth_token.arn, from = ["aws_secretsmanager_secret.twilio_auth_token"] }
    "db.subnets"             = { id = aws_db_subnet_group.main.name, from = ["aws_db_subnet_group.main"] }
    "db"                     = { id = aws_db_instance.main.identifier, from = ["aws_db_instance.main"] }
    "cache.subnets"          = { id = aws_elasticache_subnet_group.main.name, from = ["aws_elasticache_subnet_group.main"] }
    "cache"                  = { id = "kavak-agent-dev-redis", from = [] }
    "role.execution"         = { id = aws_iam_role.execution.name, from = ["aws_iam_role.execution", "aws_iam_role_policy_attachment.execution", "aws_iam_role_policy.execution_secrets"] }
    "role.task"              = { id = aws_iam_role.task.name, from = ["aws_iam_role.task"] }
    "cluster"                = { id = aws_ecs_cluster.main.arn, from = ["aws_ecs_cluster.main"] }
    "task"                   = { id = aws_ecs_task_definition.app.arn, from = ["aws_ecs_task_definition.app"] }
    "service"                = { id = aws_ecs_service.app.id, from = ["aws_ecs_service.app"] }
  }
"""

KAVAK_FROM = sorted(set(re.findall(r'"(aws_[a-z_0-9]+\.[a-z_]+)(?:\[\d\])?"', KAVAK_ADOPT_REFS)))


def kavak_built(emu, tmp: Path, version: str) -> tuple[Terraform, dict]:
    """Seed 004 built by hand: its Redis with the API, the rest applied
    with hashicorp/aws; an image pushed, the secrets' values put."""
    ec = emu.client("elasticache")
    tf = workdir_for("kavak", tmp, emu, version, kavak_hcl())
    (tmp / "t.auto.tfvars.json").write_text(json.dumps({"region": REGION, "redis_host": f"{KAVAK_ID}-redis.cache.amazonaws.com"}))
    tf.init()
    tf.apply()
    ec2 = emu.client("ec2")
    redis_sg = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{KAVAK_ID}-redis-sg"]}])["SecurityGroups"][0]["GroupId"]
    ec.create_replication_group(
        ReplicationGroupId=f"{KAVAK_ID}-redis",
        ReplicationGroupDescription="kavak redis",
        Engine="redis",
        EngineVersion="7.0",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=1,
        CacheSubnetGroupName=f"{KAVAK_ID}-redis-subnets",
        SecurityGroupIds=[redis_sg],
        AtRestEncryptionEnabled=True,
    )
    sm = emu.client("secretsmanager")
    sm.put_secret_value(SecretId=f"{KAVAK_ID}-openai-api-key", SecretString="sk-kavak")
    sm.put_secret_value(SecretId=f"{KAVAK_ID}-twilio-auth-token", SecretString="tw-kavak")
    emu.client("ecr").put_image(repositoryName=f"{KAVAK_ID}-app", imageManifest=json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": "sha256:" + "0" * 64}, "layers": []}), imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json", imageTag="v1")
    return tf, kavak_ids(emu)


def kavak_ids(emu) -> dict:
    """Every object's identity, as AWS reports it."""
    ec2, elb, rds = emu.client("ec2"), emu.client("elbv2"), emu.client("rds")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.0.0.0/16"]}, {"Name": "tag:Name", "Values": [f"{KAVAK_ID}-vpc"]}])["Vpcs"][0]["VpcId"]
    lb = elb.describe_load_balancers(Names=[f"{KAVAK_ID}-alb"])["LoadBalancers"][0]
    db = rds.describe_db_instances(DBInstanceIdentifier=f"{KAVAK_ID}-db")["DBInstances"][0]
    sm = emu.client("secretsmanager")
    ecs = emu.client("ecs")
    return {
        "vpc": vpc,
        "subnets": sorted(s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]),
        "groups": sorted(g["GroupId"] for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"] if g["GroupName"] != "default"),
        "eips": sorted((a["AllocationId"], a["PublicIp"]) for a in ec2.describe_addresses()["Addresses"]),
        "nat": sorted(n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] == "available"),
        "lb": (lb["LoadBalancerArn"], lb["DNSName"]),
        "tg": elb.describe_target_groups(Names=[f"{KAVAK_ID}-tg"])["TargetGroups"][0]["TargetGroupArn"],
        "listener": [l["ListenerArn"] for l in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]],
        "db": (db["DbiResourceId"], db["Endpoint"]["Address"]),
        "cache": emu.client("elasticache").describe_replication_groups(ReplicationGroupId=f"{KAVAK_ID}-redis")["ReplicationGroups"][0]["ARN"],
        "secrets": {n: (sm.describe_secret(SecretId=f"{KAVAK_ID}-{n}")["ARN"], sm.get_secret_value(SecretId=f"{KAVAK_ID}-{n}")["SecretString"]) for n in ("openai-api-key", "twilio-auth-token")},
        "db_secret": sm.describe_secret(SecretId=f"{KAVAK_ID}-database")["ARN"],
        "images": [i["imageDigest"] for i in emu.client("ecr").describe_images(repositoryName=f"{KAVAK_ID}-app")["imageDetails"]],
        "roles": sorted(emu.client("iam").get_role(RoleName=f"{KAVAK_ID}-{r}")["Role"]["RoleId"] for r in ("ecs-execution", "ecs-task")),
        "cluster": ecs.describe_clusters(clusters=[f"{KAVAK_ID}-cluster"])["clusters"][0]["clusterArn"],
        "service": ecs.describe_services(cluster=f"{KAVAK_ID}-cluster", services=[f"{KAVAK_ID}-service"])["services"][0]["serviceArn"],
        "logs": emu.client("logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{KAVAK_ID}-app")["logGroups"][0]["arn"],
    }


def assert_kavak_moved(emu, tf: Terraform, before: dict):
    after = kavak_ids(emu)
    for k, v in before.items():
        if k == "db_secret":
            continue
        assert after[k] == v, f"{k} changed: {v} -> {after[k]}"
    assert after["db_secret"] == before["db_secret"]
    # The credentials secret keeps every field and gains the connection.
    db_secret = json.loads(emu.client("secretsmanager").get_secret_value(SecretId=f"{KAVAK_ID}-database")["SecretString"])
    assert db_secret["username"] == "kavak_admin" and db_secret["password"] == "change-me-kavak-2024"
    assert db_secret["host"] == before["db"][1]
    assert managed(tf) == ["awsstack_container_service.kavak"]
    assert tf.plan().returncode == 0, "the plan after the move is not empty"
    tagged = stack_tagged(emu, KAVAK_ID)
    taken = [f"ec2 {before['vpc']}", f"db-subnet-group {KAVAK_ID}-db-subnets", f"role {KAVAK_ID}-ecs-task", f"db {KAVAK_ID}-db", f"redis {KAVAK_ID}-redis", f"secret {KAVAK_ID}-database", f"ecr {KAVAK_ID}-app"]
    taken += [f"ec2 {g}" for g in before["groups"]] + [f"ec2 {s}" for s in before["subnets"]]
    assert not set(taken) - set(tagged), (sorted(set(taken) - set(tagged)), tagged)


def test_kavak_moves_into_a_container_service(fresh_emulator, workdir):
    emu = fresh_emulator
    tf, before = kavak_built(emu, workdir, "1.15")
    # Refused: the subnets' blocks differ from the stack's defaults and only
    # a replacement could change them. Nothing is changed.
    (workdir / "stack.tf").write_text(kavak_stack(KAVAK_ADOPT_REFS, cidrs=False))
    _, diags = plan_json(tf)
    refused = [d for d in diags if d["severity"] == "error"]
    # Each subnet on the attribute to write; what sits in one (the NAT
    # gateway) because its subnet would be replaced.
    assert {d["summary"] for d in refused} >= {f"Cannot adopt subnet.{r}.{z}" for r in ("public", "private") for z in ("eu-west-1a", "eu-west-1b")}, errors_text(diags)
    assert all(d["summary"].startswith("Cannot adopt subnet.") or "subnet." in d["detail"] for d in refused), errors_text(diags)
    public = [d for d in refused if "public" in d["summary"]]
    assert any("10.0.1.0/24" in d["detail"] and "aws_subnet.public[0]" in d["detail"] for d in public), public
    assert stack_tagged(emu, KAVAK_ID) == [], "a refused plan tagged objects"

    # The move's plan.
    (workdir / "stack.tf").write_text(kavak_stack(KAVAK_ADOPT_REFS))
    plan, diags = plan_json(tf)
    assert_no_error(diags)
    changes = stack_change(plan, "awsstack_container_service.kavak")["after"]["changes"]
    adopted = [c for c in changes if c.startswith("adopt ")]
    assert len(adopted) == 31, "\n".join(changes)
    assert not [c for c in changes if c.startswith(("replace", "delete"))], changes
    assert any(c.startswith("create db.connection") for c in changes), changes
    assert any(c.startswith("create manifest") for c in changes), changes
    assert any(c.startswith("adopt task ") and "new revision" in c for c in changes), changes
    assert any(c.startswith("adopt sg.alb ") and "from aws_security_group.alb" in c for c in changes), changes
    text = move_text(diags)
    assert sorted(removed_blocks(text)) == KAVAK_FROM, text
    state_rm = re.search(r"terraform state rm ([^\n]+)", text).group(1)
    assert sorted(shlex.split(state_rm)) == sorted(re.findall(r'"(aws_[a-z_0-9]+\.[a-z_]+(?:\[\d\])?)"', KAVAK_ADOPT_REFS)), state_rm

    # The old blocks go; the printed removed blocks and literal map come in.
    main = without_hand_built(kavak_hcl())
    main += removed_hcl(removed_blocks(text))
    (workdir / "main.tf").write_text(main)
    (workdir / "stack.tf").write_text(kavak_stack(literal_adopt(text)))
    actions = tf.resource_actions()
    assert actions.pop("awsstack_container_service.kavak") == ["create"], actions
    assert actions and all(a == ["forget"] for a in actions.values()), actions
    tf.apply()
    assert_kavak_moved(emu, tf, before)
    # The adopt map may go once applied: the argument goes, nothing in AWS.
    (workdir / "stack.tf").write_text(kavak_stack(""))
    plan, diags = plan_json(tf)
    assert_no_error(diags)
    change = stack_change(plan, "awsstack_container_service.kavak")
    assert change["actions"] == ["update"]
    assert [k for k in change["after"] if change["after"][k] != change["before"].get(k)] == ["adopt"], (change["before"]["changes"], change["after"]["changes"])
    tf.apply()
    assert tf.plan().returncode == 0
    assert kavak_ids(emu)["db"] == before["db"]
    # An ephemeral stack: destroy deletes everything it now owns.
    tf.destroy()
    assert leftovers(emu, KAVAK_ID) == []


def test_kavak_move_with_state_rm_on_terraform_1_0(fresh_emulator, workdir):
    emu = fresh_emulator
    tf, before = kavak_built(emu, workdir, "1.0")
    (workdir / "stack.tf").write_text(kavak_stack(KAVAK_ADOPT_REFS))
    p = tf.run("plan", "-no-color", "-target=awsstack_container_service.kavak")
    out = re.sub(r"\n│ ", "\n", p.stdout)
    m = re.search(r"terraform state rm ([^\n]+)", out)
    assert m, out
    addresses = shlex.split(m.group(1))
    tf.run("state", "rm", *addresses)
    literal = literal_adopt(re.sub(r"(?m)^│ ", "", p.stdout))
    (workdir / "main.tf").write_text(without_hand_built(kavak_hcl()))
    (workdir / "stack.tf").write_text(kavak_stack(literal))
    tf.apply()
    assert_kavak_moved(emu, tf, before)
    tf.destroy()
    assert leftovers(emu, KAVAK_ID) == []


# --- Kauri (seed 000): the Docker host -----------------------------------------

KAURI_ID = "kauri-demo"
KAURI_ADOPT_REFS = """  adopt = {
    "vpc"                   = { id = aws_vpc.main.id, from = ["aws_vpc.main"] }
    "igw"                   = { id = aws_internet_gateway.main.id, from = ["aws_internet_gateway.main"] }
    "subnet.public"         = { id = aws_subnet.public.id, from = ["aws_subnet.public"] }
    "rtb.public"            = { id = aws_route_table.public.id, from = ["aws_route_table.public", "aws_route_table_association.public"] }
    "sg.host"               = { id = aws_security_group.app.id, from = ["aws_security_group.app"] }
    "role.host"             = { id = aws_iam_role.app.name, from = ["aws_iam_role.app", "aws_iam_role_policy_attachment.ssm", "aws_iam_role_policy_attachment.cloudwatch", "aws_iam_role_policy.data"] }
    "instance_profile.host" = { id = aws_iam_instance_profile.app.name, from = ["aws_iam_instance_profile.app"] }
    "instance"              = { id = aws_instance.app.id, from = ["aws_instance.app"] }
    "volume.data"           = { id = aws_ebs_volume.data.id, from = ["aws_ebs_volume.data", "aws_volume_attachment.data"] }
    "eip"                   = { id = aws_eip.app.id, from = ["aws_eip.app"] }
    "bucket"                = { id = aws_s3_bucket.data.id, from = ["aws_s3_bucket.data", "aws_s3_bucket_public_access_block.data"] }
    "param.OPENAI_API_KEY"  = { id = aws_ssm_parameter.openai_api_key.name, from = ["aws_ssm_parameter.openai_api_key"] }
    "topic"                 = { id = aws_sns_topic.alerts.arn, from = ["aws_sns_topic.alerts"] }
    "budget.global"         = { id = aws_budgets_budget.global.id, from = ["aws_budgets_budget.global"] }
    "budget.kauri"          = { id = aws_budgets_budget.kauri.id, from = ["aws_budgets_budget.kauri"] }
    "alarm.cpu"             = { id = aws_cloudwatch_metric_alarm.cpu.alarm_name, from = ["aws_cloudwatch_metric_alarm.cpu"] }
    "alarm.status"          = { id = aws_cloudwatch_metric_alarm.status_check.alarm_name, from = ["aws_cloudwatch_metric_alarm.status_check"] }
  }
"""


def kauri_stack(ami: str, adopt: str, force_destroy: bool = False) -> str:
    return f"""resource "awsstack_docker_host" "kauri" {{
  project_name     = "kauri"
  environment      = "demo"
  ami_id           = "{ami}"
  vpc_cidr         = "10.42.0.0/24"
  root_volume_size = 30
  bucket_name      = "{KAURI_ID}-{ACCOUNT}-{REGION}"
  backup_prefix    = "dumps/"
  force_destroy    = {str(force_destroy).lower()}
  ssm_parameters   = {{ OPENAI_API_KEY = {{ value = "sk-kauri" }} }}
  port {{
    port        = 3000
    cidr_blocks = ["203.0.113.0/24"]
    description = "Grafana"
  }}
{adopt}}}
"""


def kauri_ids(emu) -> dict:
    ec2 = emu.client("ec2")
    inst = [i for r in ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running", "stopped", "pending"]}])["Reservations"] for i in r["Instances"]]
    assert len(inst) == 1, inst
    bucket = f"{KAURI_ID}-{ACCOUNT}-{REGION}"
    return {
        "instance": inst[0]["InstanceId"],
        "vpc": inst[0]["VpcId"],
        "subnet": inst[0]["SubnetId"],
        "volumes": sorted(v["VolumeId"] for v in ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [inst[0]["InstanceId"]]}])["Volumes"]),
        "eip": sorted((a["AllocationId"], a["PublicIp"]) for a in ec2.describe_addresses()["Addresses"]),
        "groups": sorted(g["GroupId"] for g in inst[0]["SecurityGroups"]),
        "object": emu.client("s3").head_object(Bucket=bucket, Key="dumps/db.sql")["ETag"],
        "parameter": emu.client("ssm").get_parameter(Name="/kauri/OPENAI_API_KEY", WithDecryption=True)["Parameter"]["Value"],
        "topic": emu.client("sns").get_topic_attributes(TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:{KAURI_ID}-alerts")["Attributes"]["TopicArn"],
        "role": emu.client("iam").get_role(RoleName=f"{KAURI_ID}-app")["Role"]["RoleId"],
    }


def test_kauri_moves_into_a_docker_host(fresh_emulator, workdir):
    emu = fresh_emulator
    ami = moto_ami(emu)
    tf = workdir_for("kauri", workdir, emu, "1.15")
    (workdir / "t.auto.tfvars.json").write_text(json.dumps({"region": REGION, "ami_id": ami}))
    tf.init()
    tf.apply()
    emu.client("s3").put_object(Bucket=f"{KAURI_ID}-{ACCOUNT}-{REGION}", Key="dumps/db.sql", Body=b"-- kauri dump")
    emu.client("ssm").put_parameter(Name="/kauri/OPENAI_API_KEY", Value="sk-kauri", Type="SecureString", Overwrite=True)
    before = kauri_ids(emu)

    (workdir / "stack.tf").write_text(kauri_stack(ami, KAURI_ADOPT_REFS))
    plan, diags = plan_json(tf)
    assert_no_error(diags)
    changes = stack_change(plan, "awsstack_docker_host.kauri")["after"]["changes"]
    assert len([c for c in changes if c.startswith("adopt ")]) == 17, "\n".join(changes)
    assert not [c for c in changes if c.startswith(("replace", "delete"))], changes
    for created in ("role.backup", "backup", "role.scheduler", "schedule.start", "schedule.stop", "manifest"):
        assert any(c.startswith(f"create {created} ") for c in changes), (created, changes)
    text = move_text(diags)

    main = without_hand_built((HCL / "kauri" / "main.tf").read_text())
    main += removed_hcl(removed_blocks(text))
    (workdir / "main.tf").write_text(main)
    (workdir / "stack.tf").write_text(kauri_stack(ami, literal_adopt(text)))
    tf.apply()
    assert kauri_ids(emu) == before
    assert managed(tf) == ["awsstack_docker_host.kauri"]
    assert tf.plan().returncode == 0, "the plan after the move is not empty"
    # The bucket holds data: destroy is refused until force_destroy says so.
    p = tf.destroy(check=False)
    assert p.returncode != 0 and "force_destroy" in p.stdout + p.stderr
    assert kauri_ids(emu) == before
    (workdir / "stack.tf").write_text(kauri_stack(ami, literal_adopt(text), force_destroy=True))
    tf.apply()
    tf.destroy()
    assert leftovers(emu, KAURI_ID) == []
