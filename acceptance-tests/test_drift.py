"""Drift of every component kind: each sub-resource kind of both stacks is
deleted or changed out of band (through the AWS API, as a colleague with
the console would); the plan names each one with the right action, one
apply repairs all of them (checked through the AWS API), the next plan is
empty and no orphan is left. The kinds each stack's plan lists must all be
covered here, so a new kind without a drift case fails the test."""

import json
import re

import pytest

import harness
from harness import Terraform, copy_example, leftovers, moto_ami, orphans

SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
EXEC_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


class Drift:
    """One out-of-band change: `kind` of the component at `key`, `act`
    makes the change, the plan must contain `expect`, and `check` (after
    the repairing apply) sees it repaired through the AWS API."""

    def __init__(self, kind, key, act, expect, check):
        self.kind, self.key, self.act, self.expect, self.check = kind, key, act, expect, check


def _default_route(emu, rtb):
    rt = emu.client("ec2").describe_route_tables(RouteTableIds=[rtb])["RouteTables"][0]
    return [r for r in rt["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]


def _open_port(emu, sg, port):
    emu.client("ec2").authorize_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


def _set_policy_state(emu, policy_id, state):
    dlm = emu.client("dlm")
    details = dlm.get_lifecycle_policy(PolicyId=policy_id)["Policy"]["PolicyDetails"]
    dlm.update_lifecycle_policy(PolicyId=policy_id, State=state, PolicyDetails=details)


def _close_port(emu, sg, port):
    emu.client("ec2").revoke_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


def _port_open_to_world(emu, sg, port):
    g = emu.client("ec2").describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]
    return any(p.get("FromPort") == port and any(r["CidrIp"] == "0.0.0.0/0" for r in p.get("IpRanges", [])) for p in g["IpPermissions"])


def _policies(emu, role):
    return [p["PolicyArn"] for p in emu.client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"]]


def docker_host_drifts(emu, ids):
    ec2 = lambda: emu.client("ec2")  # noqa: E731
    return [
        [
            Drift("ec2_vpc", "vpc", lambda: ec2().modify_vpc_attribute(VpcId=ids["vpc"], EnableDnsHostnames={"Value": False}), "update vpc (ec2_vpc): dns_hostnames",
                  lambda: ec2().describe_vpc_attribute(VpcId=ids["vpc"], Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]),
            Drift("ec2_internet_gateway", "igw", lambda: ec2().detach_internet_gateway(InternetGatewayId=ids["igw"], VpcId=ids["vpc"]), "update igw (ec2_internet_gateway): attached",
                  lambda: ec2().describe_internet_gateways(InternetGatewayIds=[ids["igw"]])["InternetGateways"][0]["Attachments"][0]["VpcId"] == ids["vpc"]),
            Drift("ec2_subnet", "subnet.public", lambda: ec2().modify_subnet_attribute(SubnetId=ids["subnet.public"], MapPublicIpOnLaunch={"Value": False}), "update subnet.public (ec2_subnet): public",
                  lambda: ec2().describe_subnets(SubnetIds=[ids["subnet.public"]])["Subnets"][0]["MapPublicIpOnLaunch"]),
            Drift("ec2_public_route_table", "rtb.public", lambda: ec2().delete_route(RouteTableId=ids["rtb.public"], DestinationCidrBlock="0.0.0.0/0"), "update rtb.public (ec2_public_route_table): default_route",
                  lambda: _default_route(emu, ids["rtb.public"])[0]["GatewayId"] == ids["igw"]),
            # The stack's own rule removed (a rule others add is not drift:
            # see test_ownership.py).
            Drift("ec2_security_group", "sg.host", lambda: _close_port(emu, ids["sg.host"], 80), "update sg.host (ec2_security_group): rules",
                  lambda: _port_open_to_world(emu, ids["sg.host"], 80)),
            Drift("iam_role", "role.host", lambda: emu.client("iam").detach_role_policy(RoleName=ids["role.host"], PolicyArn=SSM_CORE), "update role.host (iam_role): managed_policies",
                  lambda: SSM_CORE in _policies(emu, ids["role.host"])),
            Drift("iam_instance_profile", "instance_profile.host", lambda: emu.client("iam").remove_role_from_instance_profile(InstanceProfileName=ids["instance_profile.host"], RoleName=ids["role.host"]),
                  "update instance_profile.host (iam_instance_profile): has_role",
                  lambda: [r["RoleName"] for r in emu.client("iam").get_instance_profile(InstanceProfileName=ids["instance_profile.host"])["InstanceProfile"]["Roles"]] == [ids["role.host"]]),
            Drift("ebs_data_volume", "volume.data", lambda: ec2().detach_volume(VolumeId=ids["volume.data"], InstanceId=ids["instance"], Force=True), "update volume.data (ebs_data_volume): attached",
                  lambda: ec2().describe_volumes(VolumeIds=[ids["volume.data"]])["Volumes"][0]["Attachments"][0]["InstanceId"] == ids["instance"]),
            Drift("ec2_elastic_ip", "eip", lambda: ec2().disassociate_address(AssociationId=ec2().describe_addresses(AllocationIds=[ids["eip"]])["Addresses"][0]["AssociationId"]), "update eip (ec2_elastic_ip): associated",
                  lambda: ec2().describe_addresses(AllocationIds=[ids["eip"]])["Addresses"][0].get("InstanceId") == ids["instance"]),
            Drift("dlm_snapshot_policy", "backup", lambda: _set_policy_state(emu, ids["backup"], "DISABLED"), "update backup (dlm_snapshot_policy): enabled",
                  lambda: emu.client("dlm").get_lifecycle_policy(PolicyId=ids["backup"])["Policy"]["State"] == "ENABLED"),
            Drift("s3_bucket", "bucket", lambda: emu.client("s3").put_bucket_versioning(Bucket=ids["bucket"], VersioningConfiguration={"Status": "Suspended"}), "update bucket (s3_bucket): versioning",
                  lambda: emu.client("s3").get_bucket_versioning(Bucket=ids["bucket"])["Status"] == "Enabled"),
            Drift("sns_topic", "topic", lambda: emu.client("sns").delete_topic(TopicArn=ids["topic"]), "create topic (sns_topic)",
                  lambda: emu.client("sns").get_topic_attributes(TopicArn=ids["topic"])["Attributes"]),
            Drift("budget", "budget.kauri", lambda: emu.client("budgets").delete_budget(AccountId=harness.ACCOUNT, BudgetName=ids["budget.kauri"]), "create budget.kauri (budget)",
                  lambda: emu.client("budgets").describe_budget(AccountId=harness.ACCOUNT, BudgetName=ids["budget.kauri"])["Budget"]),
            Drift("cloudwatch_instance_alarm", "alarm.cpu", lambda: emu.client("cloudwatch").delete_alarms(AlarmNames=[ids["alarm.cpu"]]), "create alarm.cpu (cloudwatch_instance_alarm)",
                  lambda: emu.client("cloudwatch").describe_alarms(AlarmNames=[ids["alarm.cpu"]])["MetricAlarms"]),
            Drift("scheduler_instance_schedule", "schedule.stop", lambda: emu.client("scheduler").delete_schedule(Name=ids["schedule.stop"]), "create schedule.stop (scheduler_instance_schedule)",
                  lambda: emu.client("scheduler").get_schedule(Name=ids["schedule.stop"])["ScheduleExpression"]),
            Drift("ssm_parameter", "manifest", lambda: emu.client("ssm").put_parameter(Name=ids["manifest"], Value="{}", Type="String", Overwrite=True), "update manifest (ssm_parameter)",
                  lambda: emu.client("ssm").get_parameter(Name=ids["manifest"])["Parameter"]["Value"] != "{}"),
        ],
        [
            # The host itself terminated: a new one, the address and the
            # data volume follow it.
            Drift("ec2_instance", "instance", lambda: ec2().terminate_instances(InstanceIds=[ids["instance"]]), "create instance (ec2_instance)",
                  lambda: ec2().describe_addresses(AllocationIds=[ids["eip"]])["Addresses"][0].get("InstanceId") == ids["instance"]
                  and ec2().describe_instances(InstanceIds=[ids["instance"]])["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"),
        ],
    ]


def container_service_drifts(emu, ids):
    ec2 = lambda: emu.client("ec2")  # noqa: E731
    elbv2 = lambda: emu.client("elbv2")  # noqa: E731
    ecs = lambda: emu.client("ecs")  # noqa: E731
    cluster, service = ids["cluster"], ids["service"]
    secret_db = ids["secret.db"]
    return [
        [
            Drift("ec2_vpc", "vpc", lambda: ec2().modify_vpc_attribute(VpcId=ids["vpc"], EnableDnsHostnames={"Value": False}), "update vpc (ec2_vpc): dns_hostnames",
                  lambda: ec2().describe_vpc_attribute(VpcId=ids["vpc"], Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]),
            Drift("ec2_internet_gateway", "igw", lambda: ec2().detach_internet_gateway(InternetGatewayId=ids["igw"], VpcId=ids["vpc"]), "update igw (ec2_internet_gateway): attached",
                  lambda: ec2().describe_internet_gateways(InternetGatewayIds=[ids["igw"]])["InternetGateways"][0]["Attachments"][0]["VpcId"] == ids["vpc"]),
            # A private subnet that starts handing out public addresses.
            Drift("ec2_subnet", "subnet.private.eu-west-1b", lambda: ec2().modify_subnet_attribute(SubnetId=ids["subnet.private.eu-west-1b"], MapPublicIpOnLaunch={"Value": True}),
                  "update subnet.private.eu-west-1b (ec2_subnet): public", lambda: not ec2().describe_subnets(SubnetIds=[ids["subnet.private.eu-west-1b"]])["Subnets"][0]["MapPublicIpOnLaunch"]),
            Drift("ssm_parameter", "manifest", lambda: emu.client("ssm").delete_parameter(Name=ids["manifest"]), "create manifest (ssm_parameter)",
                  lambda: emu.client("ssm").get_parameter(Name=ids["manifest"])["Parameter"]["Value"]),
            Drift("ec2_route_table", "rtb.public", lambda: ec2().delete_route(RouteTableId=ids["rtb.public"], DestinationCidrBlock="0.0.0.0/0"), "update rtb.public (ec2_route_table): route",
                  lambda: _default_route(emu, ids["rtb.public"])[0]["GatewayId"] == ids["igw"]),
            Drift("ec2_nat_gateway", "nat.eu-west-1a", lambda: ec2().delete_nat_gateway(NatGatewayId=ids["nat.eu-west-1a"]), "create nat.eu-west-1a (ec2_nat_gateway)",
                  lambda: _default_route(emu, ids["rtb.private"])[0]["NatGatewayId"] == ids["nat.eu-west-1a"]
                  and ec2().describe_nat_gateways(NatGatewayIds=[ids["nat.eu-west-1a"]])["NatGateways"][0]["NatGatewayAddresses"][0]["AllocationId"] == ids["eip.nat.eu-west-1a"]),
            # Its address released once the gateway is gone.
            Drift("ec2_elastic_ip", "eip.nat.eu-west-1a", lambda: ec2().release_address(AllocationId=ids["eip.nat.eu-west-1a"]), "create eip.nat.eu-west-1a (ec2_elastic_ip)",
                  lambda: ec2().describe_addresses(AllocationIds=[ids["eip.nat.eu-west-1a"]])["Addresses"]),
            Drift("rds_subnet_group", "db.subnets", lambda: emu.client("rds").modify_db_subnet_group(DBSubnetGroupName=ids["db.subnets"], SubnetIds=[ids["subnet.private.eu-west-1a"], ids["subnet.public.eu-west-1b"]]),
                  "update db.subnets (rds_subnet_group): subnets",
                  lambda: sorted(s["SubnetIdentifier"] for s in emu.client("rds").describe_db_subnet_groups(DBSubnetGroupName=ids["db.subnets"])["DBSubnetGroups"][0]["Subnets"]) == sorted([ids["subnet.private.eu-west-1a"], ids["subnet.private.eu-west-1b"]])),
            Drift("elasticache_subnet_group", "cache.subnets", lambda: emu.client("elasticache").modify_cache_subnet_group(CacheSubnetGroupName=ids["cache.subnets"], SubnetIds=[ids["subnet.public.eu-west-1a"]]),
                  "update cache.subnets (elasticache_subnet_group): subnets",
                  lambda: sorted(s["SubnetIdentifier"] for s in emu.client("elasticache").describe_cache_subnet_groups(CacheSubnetGroupName=ids["cache.subnets"])["CacheSubnetGroups"][0]["Subnets"]) == sorted([ids["subnet.private.eu-west-1a"], ids["subnet.private.eu-west-1b"]])),
            Drift("rds_instance", "db", lambda: emu.client("rds").modify_db_instance(DBInstanceIdentifier=ids["db"], PubliclyAccessible=True, ApplyImmediately=True), "update db (rds_instance): publicly_accessible",
                  lambda: not emu.client("rds").describe_db_instances(DBInstanceIdentifier=ids["db"])["DBInstances"][0]["PubliclyAccessible"]),
            Drift("secretsmanager_db_connection", "db.connection", lambda: emu.client("secretsmanager").put_secret_value(SecretId=secret_db, SecretString=json.dumps({"username": "x", "password": "y"})),
                  "update db.connection (secretsmanager_db_connection): connection",
                  lambda: "url" in json.loads(emu.client("secretsmanager").get_secret_value(SecretId=secret_db)["SecretString"])),
            Drift("elasticache_redis", "cache", lambda: emu.client("elasticache").delete_replication_group(ReplicationGroupId=ids["cache"]), "create cache (elasticache_redis)",
                  lambda: emu.client("elasticache").describe_replication_groups(ReplicationGroupId=ids["cache"])["ReplicationGroups"][0]["Status"] == "available"),
            Drift("elbv2_target_group", "tg", lambda: elbv2().modify_target_group(TargetGroupArn=ids["tg"], HealthCheckPath="/"), "update tg (elbv2_target_group): health_check_path",
                  lambda: elbv2().describe_target_groups(TargetGroupArns=[ids["tg"]])["TargetGroups"][0]["HealthCheckPath"] == "/health"),
            Drift("iam_role", "role.execution", lambda: emu.client("iam").detach_role_policy(RoleName=ids["role.execution"], PolicyArn=EXEC_POLICY), "update role.execution (iam_role): managed_policies",
                  lambda: EXEC_POLICY in _policies(emu, ids["role.execution"])),
            Drift("logs_log_group", "logs", lambda: emu.client("logs").delete_log_group(logGroupName=ids["logs"]), "create logs (logs_log_group)",
                  lambda: emu.client("logs").describe_log_groups(logGroupNamePrefix=ids["logs"])["logGroups"]),
            Drift("ecr_repository", "ecr", lambda: emu.client("ecr").delete_repository(repositoryName=ids["ecr"], force=True), "create ecr (ecr_repository)",
                  lambda: emu.client("ecr").describe_repositories(repositoryNames=[ids["ecr"]])["repositories"]),
            Drift("elbv2_listener", "listener.http", lambda: elbv2().delete_listener(ListenerArn=ids["listener.http"]), "create listener.http (elbv2_listener)",
                  lambda: [lst["Port"] for lst in elbv2().describe_listeners(LoadBalancerArn=ids["alb"])["Listeners"]] == [80]),
            Drift("secretsmanager_secret", "secret.app.openai-api-key", lambda: emu.client("secretsmanager").delete_secret(SecretId=ids["secret.app.openai-api-key"], ForceDeleteWithoutRecovery=True),
                  "create secret.app.openai-api-key (secretsmanager_secret)", lambda: True),
            Drift("ecs_task_definition", "task", lambda: ecs().deregister_task_definition(taskDefinition=ids["task"]), "create task (ecs_task_definition)",
                  lambda: ecs().describe_services(cluster=cluster, services=[service])["services"][0]["taskDefinition"] == ids["task"]),
            Drift("ec2_security_group", "sg.alb", lambda: emu.client("ec2").revoke_security_group_ingress(GroupId=ids["sg.alb"], IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
                  "update sg.alb (ec2_security_group): rules", lambda: _port_open_to_world(emu, ids["sg.alb"], 80)),
        ],
        [
            Drift("elbv2_load_balancer", "alb", lambda: elbv2().delete_load_balancer(LoadBalancerArn=ids["alb"]), "create alb (elbv2_load_balancer)",
                  lambda: True),
            Drift("ecs_service", "service", lambda: ecs().delete_service(cluster=cluster, service=service, force=True), "create service (ecs_service)",
                  lambda: ecs().describe_services(cluster=cluster, services=[service])["services"][0]["runningCount"] == 1),
            Drift("ecs_cluster", "cluster", lambda: ecs().delete_cluster(cluster=cluster), "create cluster (ecs_cluster)",
                  lambda: ecs().describe_clusters(clusters=[cluster])["clusters"][0]["status"] == "ACTIVE"),
        ],
    ]


STACKS = {
    "docker_host": ("kauri", "kauri-demo", docker_host_drifts),
    "container_service": ("kavak", "kavak-agent-dev", container_service_drifts),
}


@pytest.mark.parametrize("which", list(STACKS))
def test_drift_of_every_kind_is_shown_and_repaired(which, fresh_emulator, workdir):
    emu = fresh_emulator
    example, stack, drifts = STACKS[which]
    work = copy_example(example, workdir / example)
    v = {"ami_id": moto_ami(emu)} if example == "kauri" else {"aws_region": harness.REGION}
    (work / "t.auto.tfvars.json").write_text(json.dumps(v))
    tf = Terraform("1.15", work, emu.endpoint)
    tf.init()
    # Every kind the stack is made of, from its first plan.
    kinds = set(re.findall(r'"create [^ ]+ \(([a-z0-9_]+)\)"', tf.plan().stdout))
    tf.apply()
    ids = tf.outputs()["resource_ids"]
    rounds = drifts(emu, ids)
    covered = {d.kind for r in rounds for d in r}
    assert kinds and kinds <= covered, f"kinds without a drift case: {sorted(kinds - covered)}"
    for n, drift_round in enumerate(rounds, 1):
        for d in drift_round:
            d.act()
        p = tf.plan()
        assert p.returncode == 2, p.stdout
        for d in drift_round:
            assert d.expect in p.stdout, f"round {n}: {d.expect}\n{p.stdout}"
        tf.apply()
        # The checks see the ids after the repair (a recreated component
        # has a new one).
        ids = tf.outputs()["resource_ids"]
        for d in drifts(emu, ids)[n - 1]:
            assert d.check(), f"round {n}: {d.kind} {d.key} not repaired"
        p = tf.plan()
        assert p.returncode == 0, f"round {n}: not converged\n{p.stdout}"
        assert orphans(emu, stack, tf) == []
    print(f"{which}: {len(covered)} kinds drifted in {len(rounds)} rounds, each shown and repaired")
    tf.destroy()
    assert leftovers(emu, stack) == []
