"""awsstack_container_service end to end on examples/kavak: the real
Terraform CLI (1.0.3 and 1.15.5) against moto's server, with the seed's
`aws` CLI checks as SDK calls."""

import json

import pytest

import harness
from harness import Terraform, copy_example, leftovers

STACK = "kavak-agent-dev"
OPENAI = "sk-kavak-test-91c3e0"


def tfvars(workdir, **extra):
    v = {"aws_region": harness.REGION, "app_secret_values": {"openai-api-key": OPENAI}}
    v.update(extra)
    (workdir / "test.auto.tfvars.json").write_text(json.dumps(v))


def tags_of(items, k="Key", v="Value"):
    return {t[k]: t[v] for t in items}


def assert_stack_tags(tags):
    assert tags.get("awsstack:stack-id") == STACK, tags
    assert (tags.get("project"), tags.get("env"), tags.get("owner")) == ("kavak-agent", "dev", "ai-sales-team"), tags


def ingress_sources(ec2, group_id):
    sg = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    cidrs = [r["CidrIp"] for p in sg["IpPermissions"] for r in p.get("IpRanges", [])]
    groups = [(p["FromPort"], g["GroupId"]) for p in sg["IpPermissions"] for g in p.get("UserIdGroupPairs", [])]
    return cidrs, groups


def check_stack(emu, out):
    ec2 = emu.client("ec2")
    ids = out["resource_ids"]
    # Network: two zones, private subnets, a NAT gateway, tags everywhere.
    vpc = ec2.describe_vpcs(VpcIds=[ids["vpc"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    assert_stack_tags(tags_of(vpc["Tags"]))
    subnets = ec2.describe_subnets(SubnetIds=out["private_subnet_ids"])["Subnets"]
    assert sorted(s["CidrBlock"] for s in subnets) == ["10.0.10.0/24", "10.0.11.0/24"]
    assert {s["AvailabilityZone"] for s in subnets} == {f"{harness.REGION}a", f"{harness.REGION}b"}
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets)
    nats = [n for n in ec2.describe_nat_gateways()["NatGateways"] if tags_of(n.get("Tags", [])).get("awsstack:stack-id") == STACK]
    assert [n["State"] for n in nats] == ["available"]
    rt = ec2.describe_route_tables(RouteTableIds=[ids["rtb.private"]])["RouteTables"][0]
    assert any(r.get("NatGatewayId") == nats[0]["NatGatewayId"] for r in rt["Routes"])
    assert {a["SubnetId"] for a in rt["Associations"] if a.get("SubnetId")} == set(out["private_subnet_ids"])

    # Security groups: internet → ALB (80) → tasks (8000) → db (5432) / redis (6379).
    alb_sg, ecs_sg, db_sg, redis_sg = ids["sg.alb"], out["ecs_security_group_id"], ids["sg.db"], ids["sg.redis"]
    assert ingress_sources(ec2, alb_sg) == (["0.0.0.0/0"], [])
    assert ingress_sources(ec2, ecs_sg) == ([], [(8000, alb_sg)])
    assert ingress_sources(ec2, db_sg) == ([], [(5432, ecs_sg)])
    assert ingress_sources(ec2, redis_sg) == ([], [(6379, ecs_sg)])

    # ALB → listener → target group ← service.
    elb = emu.client("elbv2")
    lb = elb.describe_load_balancers(Names=["kavak-agent-dev-alb"])["LoadBalancers"][0]
    assert lb["DNSName"] == out["alb_dns_name"] and lb["Scheme"] == "internet-facing"
    assert lb["SecurityGroups"] == [alb_sg]
    assert_stack_tags(tags_of(elb.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]))
    listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [(x["Port"], x["Protocol"]) for x in listeners] == [(80, "HTTP")]
    tg_arn = listeners[0]["DefaultActions"][0]["TargetGroupArn"]
    tg = elb.describe_target_groups(TargetGroupArns=[tg_arn])["TargetGroups"][0]
    assert (tg["Port"], tg["TargetType"], tg["HealthCheckPath"]) == (8000, "ip", "/health")

    ecs = emu.client("ecs")
    svc = ecs.describe_services(cluster=out["ecs_cluster_name"], services=[out["ecs_service_name"]])["services"][0]
    assert svc["loadBalancers"][0]["targetGroupArn"] == tg_arn, "the service's target group is the ALB's"
    assert svc["launchType"] == "FARGATE"
    net = svc["networkConfiguration"]["awsvpcConfiguration"]
    assert set(net["subnets"]) == set(out["private_subnet_ids"]) and net["securityGroups"] == [ecs_sg]
    assert net["assignPublicIp"] == "DISABLED"
    # The seed's check: running count equals desired.
    assert svc["runningCount"] == svc["desiredCount"] == 1

    # Task definition: DATABASE_URL and the app secrets from Secrets Manager, REDIS_URL from the cache.
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    assert td["family"] == "kavak-agent-dev-app" and td["networkMode"] == "awsvpc" and td["requiresCompatibilities"] == ["FARGATE"]
    c = td["containerDefinitions"][0]
    assert c["name"] == "app" and c["image"] == out["ecr_repository_url"] + ":latest"
    secrets = {s["name"]: s["valueFrom"] for s in c["secrets"]}
    assert secrets["DATABASE_URL"] == out["database_secret_arn"] + ":url::"
    assert secrets["OPENAI_API_KEY"].startswith(f"arn:aws:secretsmanager:{harness.REGION}:{harness.ACCOUNT}:secret:kavak-agent-dev-openai-api-key")
    assert "TWILIO_AUTH_TOKEN" in secrets
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env["REDIS_URL"] == f"redis://{out['redis_endpoint']}:6379/0"
    assert env["STATE_CACHE"] == "redis" and env["TWILIO_IDEMPOTENCY_ENABLED"] == "true" and env["LOG_LEVEL"] == "info"
    # The seed derives the log group from the cluster name.
    log_group = "/ecs/" + out["ecs_cluster_name"].removesuffix("-cluster") + "-app"
    assert c["logConfiguration"]["options"]["awslogs-group"] == log_group
    groups = emu.client("logs").describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [(log_group, 14)]

    # Execution role may read exactly the stack's secrets.
    iam = emu.client("iam")
    assert td["executionRoleArn"].endswith(":role/kavak-agent-dev-ecs-execution")
    pol = json.dumps(iam.get_role_policy(RoleName="kavak-agent-dev-ecs-execution", PolicyName="awsstack")["PolicyDocument"])
    assert out["database_secret_arn"] in pol and "openai-api-key" in pol

    # RDS: private, gp3 20→100 GiB, PostgreSQL 15.4, only the DB security group.
    rds = emu.client("rds")
    db = rds.describe_db_instances(DBInstanceIdentifier="kavak-agent-dev-db")["DBInstances"][0]
    assert (db["Engine"], db["EngineVersion"], db["DBInstanceClass"]) == ("postgres", "15.4", "db.t4g.micro")
    assert (db["AllocatedStorage"], db["MaxAllocatedStorage"], db["StorageType"]) == (20, 100, "gp3")
    assert db["PubliclyAccessible"] is False and db["DeletionProtection"] is False and db["BackupRetentionPeriod"] == 0
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [db_sg]
    assert out["database_endpoint"] == f"{db['Endpoint']['Address']}:{db['Endpoint']['Port']}"
    assert_stack_tags(tags_of(db["TagList"]))

    # The credentials secret (the seed's `get-secret-value | jq .`).
    sm = emu.client("secretsmanager")
    cred = json.loads(sm.get_secret_value(SecretId=out["database_secret_arn"])["SecretString"])
    assert (cred["username"], cred["dbname"], cred["host"], cred["port"]) == ("kavak_admin", "kavak_agent", db["Endpoint"]["Address"], 5432)
    assert cred["url"] == f"postgresql://kavak_admin:{cred['password']}@{db['Endpoint']['Address']}:5432/kavak_agent"
    assert len(cred["password"]) >= 32
    assert sm.get_secret_value(SecretId="kavak-agent-dev-openai-api-key")["SecretString"] == OPENAI

    # Redis: encrypted at rest, private subnet group, only the cache security group.
    ec = emu.client("elasticache")
    rg = ec.describe_replication_groups(ReplicationGroupId="kavak-agent-dev-redis")["ReplicationGroups"][0]
    assert rg["AtRestEncryptionEnabled"] is True and rg["Status"] == "available"

    # ECR with scan on push.
    repo = emu.client("ecr").describe_repositories(repositoryNames=["kavak-agent-dev-app"])["repositories"][0]
    assert repo["repositoryUri"] == out["ecr_repository_url"] and repo["imageScanningConfiguration"]["scanOnPush"] is True
    return cred["password"]


@pytest.mark.parametrize("tf_version", ["1.0", "1.15"])
def test_kavak_lifecycle(tf_version, fresh_emulator, workdir):
    emu = fresh_emulator
    work = copy_example("kavak", workdir / "kavak")
    tfvars(work)
    tf = Terraform(tf_version, work, emu.endpoint)
    tf.init()
    tf.apply()
    out = tf.outputs()
    assert set(out["resource_ids"]) >= {"vpc", "alb", "tg", "service", "task", "db", "cache", "secret.db", "ecr", "logs", "manifest"}
    password = check_stack(emu, out)
    # The seed's commands read the outputs this way.
    assert tf.output_raw("alb_dns_name") == out["alb_dns_name"]
    assert tf.output_raw("ecs_cluster_name") == "kavak-agent-dev-cluster"
    assert json.loads(tf.run("output", "-json", "private_subnet_ids").stdout) == out["private_subnet_ids"]
    assert tf.output_raw("aws_region") == harness.REGION
    # The seed's migration command (`aws ecs run-task`) resolves from these
    # outputs; moto's RunTask cannot run a Fargate task without
    # container-level memory (a named emulator gap), so only the inputs of
    # that command are checked here.
    ecs = emu.client("ecs")
    cluster = tf.output_raw("ecs_cluster_name")
    family = ecs.describe_task_definition(taskDefinition=cluster.removesuffix("-cluster") + "-app")["taskDefinition"]
    assert family["containerDefinitions"][0]["name"] == "app" and family["status"] == "ACTIVE"
    assert tf.output_raw("ecs_security_group_id") == out["ecs_security_group_id"]
    # The generated password is in Secrets Manager only: not in the state, not in the outputs.
    state = (work / "terraform.tfstate").read_text()
    assert password not in state and OPENAI not in tf.run("show", "-no-color").stdout

    # The seed's flow: put a secret value with the AWS CLI after apply; Terraform leaves it alone.
    sm = emu.client("secretsmanager")
    sm.put_secret_value(SecretId="kavak-agent-dev-twilio-auth-token", SecretString="twilio-token-from-cli")
    p = tf.plan()
    assert p.returncode == 0, p.stdout + p.stderr

    # Scale: an in-place update of the service only.
    tfvars(work, desired_count=2)
    p = tf.plan()
    assert p.returncode == 2 and "update service (ecs_service): desired_count" in p.stdout, p.stdout
    assert "replace" not in p.stdout.split("changes")[1].split("]")[0], p.stdout
    tf.apply()
    svc = ecs.describe_services(cluster=out["ecs_cluster_name"], services=[out["ecs_service_name"]])["services"][0]
    assert svc["desiredCount"] == svc["runningCount"] == 2
    # Autoscaling moves the count: Terraform does not reset it (CDK #3919).
    ecs.update_service(cluster=out["ecs_cluster_name"], service=out["ecs_service_name"], desiredCount=4)
    assert tf.plan().returncode == 0

    # Switch the image: a new task definition revision, the service moves to it.
    tfvars(work, desired_count=2, container_image="public.ecr.aws/nginx/nginx:1.27")
    p = tf.plan()
    assert p.returncode == 2 and "replace task (ecs_task_definition): image" in p.stdout and "update service" in p.stdout, p.stdout
    tf.apply()
    svc = ecs.describe_services(cluster=out["ecs_cluster_name"], services=[out["ecs_service_name"]])["services"][0]
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    assert td["containerDefinitions"][0]["image"] == "public.ecr.aws/nginx/nginx:1.27" and td["revision"] == 2
    assert svc["desiredCount"] == 4, "the image switch did not reset the autoscaled count"
    assert tf.plan().returncode == 0

    # Drift: the Redis cluster deleted, the database group's own rule
    # removed and the database opened to the world behind Terraform's back.
    # The stack's objects are repaired; the world rule is someone else's:
    # left in place, with a plan warning naming it.
    ec2 = emu.client("ec2")
    emu.client("elasticache").delete_replication_group(ReplicationGroupId="kavak-agent-dev-redis")
    world = [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.authorize_security_group_ingress(GroupId=out["resource_ids"]["sg.db"], IpPermissions=world)
    # (moto matches a group pair with its description: revoke it as described)
    pairs = [g for p in ec2.describe_security_groups(GroupIds=[out["resource_ids"]["sg.db"]])["SecurityGroups"][0]["IpPermissions"] for g in p.get("UserIdGroupPairs", [])]
    ec2.revoke_security_group_ingress(GroupId=out["resource_ids"]["sg.db"], IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": pairs}])
    p = tf.plan()
    assert p.returncode == 2, p.stdout
    assert "create cache (elasticache_redis)" in p.stdout and "update sg.db (ec2_security_group): rules" in p.stdout, p.stdout
    assert "port 5432 (PostgreSQL) to 0.0.0.0/0" in " ".join((p.stdout + p.stderr).split()), p.stdout + p.stderr
    tf.apply()
    rg = emu.client("elasticache").describe_replication_groups(ReplicationGroupId="kavak-agent-dev-redis")["ReplicationGroups"][0]
    assert rg["Status"] == "available"
    assert ingress_sources(ec2, out["resource_ids"]["sg.db"]) == (["0.0.0.0/0"], [(5432, out["ecs_security_group_id"])])
    assert tf.plan().returncode == 0
    ec2.revoke_security_group_ingress(GroupId=out["resource_ids"]["sg.db"], IpPermissions=world)
    assert tf.plan().returncode == 0
    out = tf.outputs()

    # Import by stack id into a fresh state: the same stack, no changes.
    work2 = copy_example("kavak", workdir / "imported")
    (work2 / "test.auto.tfvars.json").write_text((work / "test.auto.tfvars.json").read_text())
    tf2 = Terraform(tf_version, work2, emu.endpoint)
    tf2.init()
    tf2.run("import", "-no-color", "awsstack_container_service.app", STACK)
    assert tf2.resource_actions() == {}, tf2.plan().stdout
    tf2.apply()
    assert tf2.outputs()["resource_ids"] == out["resource_ids"]

    # Destroy: nothing tagged with the stack id is left.
    tf2.destroy()
    assert leftovers(emu, STACK) == []


def test_production_destroy_is_refused_while_protected(fresh_emulator, workdir):
    emu = fresh_emulator
    work = copy_example("kavak", workdir / "prod")
    tfvars(work, profile="production")
    tf = Terraform("1.15", work, emu.endpoint)
    tf.init()
    tf.apply()
    rds = emu.client("rds")
    db = rds.describe_db_instances(DBInstanceIdentifier="kavak-agent-dev-db")["DBInstances"][0]
    assert db["DeletionProtection"] is True and db["MultiAZ"] is True and db["BackupRetentionPeriod"] == 7
    rg = emu.client("elasticache").describe_replication_groups(ReplicationGroupId="kavak-agent-dev-redis")["ReplicationGroups"][0]
    # (moto ignores NumCacheClusters: the two-node request is checked in the unit tests.)
    assert rg["AutomaticFailover"] in ("enabled", "enabling") and rg["MultiAZ"] == "enabled"
    before = sorted(leftovers(emu, STACK))

    p = tf.destroy(check=False)
    assert p.returncode == 1
    assert "Error: Deletion protection is on" in p.stderr and "deletion_protection = false" in p.stderr, p.stderr
    assert sorted(leftovers(emu, STACK)) == before, "nothing was deleted"
    assert "awsstack_container_service.app" in tf.run("state", "list").stdout

    # Turn protection off, apply, then destroy works and leaves nothing.
    tfvars(work, profile="production", deletion_protection=False)
    tf.apply()
    assert rds.describe_db_instances(DBInstanceIdentifier="kavak-agent-dev-db")["DBInstances"][0]["DeletionProtection"] is False
    tf.destroy()
    assert leftovers(emu, STACK) == []
    # Production keeps a final snapshot.
    snaps = rds.describe_db_snapshots(DBInstanceIdentifier="kavak-agent-dev-db")["DBSnapshots"]
    assert any(s["DBSnapshotIdentifier"].startswith("kavak-agent-dev-db-final-") for s in snaps)

    # Its secrets were given a 7-day recovery window: created again within
    # it, the stack takes back its own (restored, not a second one, and the
    # name is not "taken"), and the next plan is empty.
    sm = emu.client("secretsmanager")
    app_secret = "kavak-agent-dev-openai-api-key"
    assert "DeletedDate" in sm.describe_secret(SecretId=app_secret), "destroy scheduled the deletion"
    # Emulator gap: moto takes an automated snapshot named by the minute
    # ("rds:<id>-YYYY-MM-DD-HH-MM") at CreateDBInstance and keeps it after
    # the instance is gone, so a database created again under the same
    # identifier within that minute collides with it. AWS takes automated
    # backups at backup time and keeps retained ones apart from snapshots.
    for snap in snaps:
        if snap["DBSnapshotIdentifier"].startswith("rds:"):
            rds.delete_db_snapshot(DBSnapshotIdentifier=snap["DBSnapshotIdentifier"])
    tf.apply()
    for name in (app_secret, "kavak-agent-dev-db-credentials"):
        assert "DeletedDate" not in sm.describe_secret(SecretId=name), f"{name} restored"
    assert sm.get_secret_value(SecretId=app_secret)["SecretString"] == OPENAI
    assert tf.resource_actions() == {}, tf.plan().stdout
    tf.destroy()
    assert leftovers(emu, STACK) == []


def test_https_listener_and_redirect(fresh_emulator, workdir):
    """With certificate_arn: 443 forwards, 80 redirects, the ALB group opens
    443; without it again: back to plain HTTP on 80, 443 removed."""
    emu = fresh_emulator
    cert = emu.client("acm").request_certificate(DomainName="agent.example.com")["CertificateArn"]
    work = copy_example("kavak", workdir / "https")
    tfvars(work, certificate_arn=cert)
    tf = Terraform("1.15", work, emu.endpoint)
    tf.init()
    tf.apply()
    out = tf.outputs()
    elb = emu.client("elbv2")
    lb = elb.describe_load_balancers(Names=["kavak-agent-dev-alb"])["LoadBalancers"][0]
    ls = {x["Port"]: x for x in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    assert set(ls) == {80, 443}
    assert ls[443]["Protocol"] == "HTTPS" and ls[443]["Certificates"][0]["CertificateArn"] == cert
    assert ls[443]["DefaultActions"][0]["Type"] == "forward"
    redirect = ls[80]["DefaultActions"][0]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["Protocol"] == "HTTPS" and redirect["RedirectConfig"]["Port"] == "443"
    ec2 = emu.client("ec2")
    sg = ec2.describe_security_groups(GroupIds=[out["resource_ids"]["sg.alb"]])["SecurityGroups"][0]
    assert sorted(p["FromPort"] for p in sg["IpPermissions"]) == [80, 443]
    assert tf.plan().returncode == 0

    tfvars(work)
    p = tf.plan()
    assert p.returncode == 2 and "delete listener.https" in p.stdout and "update listener.http (elbv2_listener): action" in p.stdout, p.stdout
    tf.apply()
    ls = {x["Port"]: x for x in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    assert set(ls) == {80} and ls[80]["DefaultActions"][0]["Type"] == "forward"
    assert tf.plan().returncode == 0
    tf.destroy()
    assert leftovers(emu, STACK) == []


def test_adding_a_zone_replaces_nothing(fresh_emulator, workdir):
    """Appending an availability zone adds its subnets, NAT gateway and
    route table and grows the subnet groups, the ALB and the service: no
    existing subnet or NAT gateway is replaced."""
    emu = fresh_emulator
    zones = [f"{harness.REGION}a", f"{harness.REGION}b"]
    work = copy_example("kavak", workdir / "zones")
    main = work / "main.tf"
    main.write_text(main.read_text().replace('nat_gateways = "single"', "nat_gateways = var.nat_gateways\n  availability_zones = var.zones"))
    (work / "zones.tf").write_text('variable "zones" {\n  type = list(string)\n}\n\nvariable "nat_gateways" {\n  type = string\n}\n')
    tfvars(work, zones=zones, nat_gateways="per_az")
    tf = Terraform("1.15", work, emu.endpoint)
    tf.init()
    tf.apply()
    before = tf.outputs()
    ids = before["resource_ids"]
    tfvars(work, zones=zones + [f"{harness.REGION}c"], nat_gateways="per_az")
    p = tf.plan()
    assert p.returncode == 2, p.stdout
    # The new plan's lines of the `changes` list (the old ones print with "-").
    changes = "\n".join(x.strip() for x in p.stdout.split("changes")[1].split("]")[0].splitlines() if x.strip().startswith('+ "'))
    assert changes and "replace" not in changes and "delete" not in changes, changes
    for k in ("subnet.public.eu-west-1c", "subnet.private.eu-west-1c", "nat.eu-west-1c", "rtb.private.eu-west-1c"):
        assert f"create {k} " in changes, changes
    tf.apply()
    after = tf.outputs()
    for k, v in ids.items():
        assert after["resource_ids"][k] == v, f"{k} changed identity"
    assert after["private_subnet_ids"][:2] == before["private_subnet_ids"] and len(after["private_subnet_ids"]) == 3
    ec2 = emu.client("ec2")
    # (moto ignores tag filters on DescribeNatGateways: filter here.)
    nats = [n for n in ec2.describe_nat_gateways()["NatGateways"] if tags_of(n.get("Tags", [])).get("awsstack:stack-id") == STACK]
    assert len([n for n in nats if n["State"] == "available"]) == 3, [(n["NatGatewayId"], n["State"], n["SubnetId"], n.get("Tags")) for n in nats]
    group = emu.client("rds").describe_db_subnet_groups(DBSubnetGroupName="kavak-agent-dev-db")["DBSubnetGroups"][0]
    assert {s["SubnetIdentifier"] for s in group["Subnets"]} == set(after["private_subnet_ids"])
    lb = emu.client("elbv2").describe_load_balancers(Names=["kavak-agent-dev-alb"])["LoadBalancers"][0]
    assert len(lb["AvailabilityZones"]) == 3
    assert tf.plan().returncode == 0
    tf.destroy()
    assert leftovers(emu, STACK) == []
