"""A foreign namesake of every component kind found by name, for every
stack: before the stack exists, another team's objects hold every name
the stack picks (bucket, roles, instance profile, parameters, topic,
budgets, alarms, schedules; repository, log group, secrets, database and
cache with their subnet groups, load balancer, target group, cluster,
task family; in both regions of the multi-region platform, its KMS
aliases, EKS clusters, Aurora global and member clusters and instances,
and the failover records in the team's hosted zone). Through a first
apply cut short by SIGKILL, a recovering apply that adopts what it did
make, another apply and a destroy, every
foreign object stays byte for byte what its owner made (configuration,
tags, contents), each is named in a diagnostic on the attribute that
decides its name, and nothing of the stack is left.

The kinds each stack's plan lists must all be classified here (found by
name, by the stack's tags, or through a parent the stack owns), so a new
kind without a namesake case fails the test."""

import json
import os
import re
import signal

import pytest

import harness
from fault_proxy import MUTATING, FaultProxy, Rule
from harness import Terraform, copy_example, leftovers, moto_ami, provider_pids

THEIRS = [{"Key": "team", "Value": "data"}]

# Found by the stack-id tag (or a marker only the stack writes): another
# object can hold no "name" of the stack's.
BY_TAG = {
    "ec2_vpc", "ec2_internet_gateway", "ec2_subnet", "ec2_public_route_table", "ec2_route_table", "ec2_security_group",
    "ec2_instance", "ebs_data_volume", "ec2_elastic_ip", "ec2_nat_gateway", "ec2_vpc_endpoint",
    # Among the policies on the stack's own backup tag, by its description.
    "dlm_snapshot_policy",
    # By the caller reference it was created with (stack id and key).
    "route53_health_check",
}
# Found inside a parent the stack owns: the name exists only once the
# parent is the stack's (an OIDC provider's URL is its cluster's issuer).
THROUGH_PARENT = {
    "elbv2_listener", "ecs_service", "secretsmanager_db_connection",
    "rds_global_writer", "eks_node_group", "iam_oidc_provider", "eks_lb_controller_leftovers", "s3_bucket_replication",
}


def tail(arn: str, sep: str) -> str:
    return arn.rsplit(sep, 1)[-1]


class Network:
    """A foreign VPC with two subnets in `region`: where the foreign
    databases, caches, clusters and load balancer live."""

    def __init__(self, emu, region):
        ec2 = emu.client("ec2", region)
        self.vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": THEIRS}])["Vpc"]["VpcId"]
        self.subnets = [
            ec2.create_subnet(VpcId=self.vpc, CidrBlock=f"10.99.{i}.0/24", AvailabilityZone=f"{region}{z}")["Subnet"]["SubnetId"]
            for i, z in enumerate("ab")
        ]


def stale_tags_dropped(tags: list, untag) -> None:
    """Named emulator gap: moto keeps the tags of a deleted alarm, log
    group, cache subnet group or replication group and gives them to the next one of that name (AWS deletes them
    with it), so the namesake would carry the stack's tags of its first
    life. Its owner's tags are only `THEIRS`."""
    stale = [t["Key"] for t in tags if t not in THEIRS]
    if stale:
        untag(stale)


class Namesake:
    """Another owner's object holding the name the stack gives one of its
    components: `look()` is everything its owner would notice if it changed
    (configuration, tags, contents); `remove()` is its owner deleting it."""

    def __init__(self, kind, name, look, remove):
        self.kind, self.name, self.look, self.remove = kind, name, look, remove


def namesake(kind: str, emu, ident: str, region: str, net, aliases: dict) -> Namesake:
    """Makes the foreign namesake of the stack's component of `kind`, whose
    id in the stack's `resource_ids` was `ident`, in `region` (`net()`: the
    foreign network there; `aliases`: the stack's KMS aliases by key id)."""
    c = lambda service, where=region: emu.client(service, where)  # noqa: E731
    if kind == "s3_bucket":
        s3 = c("s3")
        where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=ident, **where)
        s3.put_bucket_tagging(Bucket=ident, Tagging={"TagSet": THEIRS})
        s3.put_object(Bucket=ident, Key="precious.csv", Body=b"a,b\n1,2\n")

        def remove():
            s3.delete_object(Bucket=ident, Key="precious.csv")
            s3.delete_bucket(Bucket=ident)
        return Namesake(kind, ident, lambda: (s3.get_bucket_tagging(Bucket=ident)["TagSet"], [(o["Key"], o["ETag"]) for o in s3.list_objects_v2(Bucket=ident).get("Contents", [])],
                                              s3.get_bucket_versioning(Bucket=ident).get("Status")), remove)
    if kind == "iam_role":
        iam = c("iam")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        iam.create_role(RoleName=ident, AssumeRolePolicyDocument=json.dumps(trust), Tags=THEIRS)
        iam.attach_role_policy(RoleName=ident, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        iam.put_role_policy(RoleName=ident, PolicyName="theirs", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))

        def remove():
            iam.detach_role_policy(RoleName=ident, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
            iam.delete_role_policy(RoleName=ident, PolicyName="theirs")
            iam.delete_role(RoleName=ident)
        return Namesake(kind, ident, lambda: (iam.get_role(RoleName=ident)["Role"]["AssumeRolePolicyDocument"], iam.list_role_tags(RoleName=ident)["Tags"],
                                              iam.list_attached_role_policies(RoleName=ident)["AttachedPolicies"], iam.list_role_policies(RoleName=ident)["PolicyNames"]), remove)
    if kind == "iam_instance_profile":
        iam = c("iam")
        iam.create_instance_profile(InstanceProfileName=ident, Tags=THEIRS)
        # (moto has no ListInstanceProfileTags: the tags GetInstanceProfile gives.)
        return Namesake(kind, ident, lambda: {k: v for k, v in iam.get_instance_profile(InstanceProfileName=ident)["InstanceProfile"].items() if k in ("Roles", "Tags", "Arn")},
                        lambda: iam.delete_instance_profile(InstanceProfileName=ident))
    if kind == "ssm_parameter":
        ssm = c("ssm")
        ssm.put_parameter(Name=ident, Value="theirs", Type="SecureString", Tags=THEIRS)
        return Namesake(kind, ident, lambda: (ssm.get_parameter(Name=ident, WithDecryption=True)["Parameter"]["Value"], ssm.get_parameter(Name=ident)["Parameter"]["Version"],
                                              ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=ident)["TagList"]), lambda: ssm.delete_parameter(Name=ident))
    if kind == "sns_topic":
        sns, name = c("sns"), tail(ident, ":")
        arn = sns.create_topic(Name=name, Tags=THEIRS)["TopicArn"]
        sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="data-team@example.com")
        return Namesake(kind, name, lambda: (sns.list_tags_for_resource(ResourceArn=arn)["Tags"],
                                             sorted((s["Protocol"], s["Endpoint"]) for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"])), lambda: sns.delete_topic(TopicArn=arn))
    if kind == "budget":
        b = c("budgets", "us-east-1")
        b.create_budget(AccountId=harness.ACCOUNT, Budget={"BudgetName": ident, "BudgetLimit": {"Amount": "99.0", "Unit": "USD"}, "TimeUnit": "MONTHLY", "BudgetType": "COST"})
        return Namesake(kind, ident, lambda: (b.describe_budget(AccountId=harness.ACCOUNT, BudgetName=ident)["Budget"]["BudgetLimit"],
                                              b.describe_notifications_for_budget(AccountId=harness.ACCOUNT, BudgetName=ident)["Notifications"]),
                        lambda: b.delete_budget(AccountId=harness.ACCOUNT, BudgetName=ident))
    if kind in ("cloudwatch_instance_alarm", "cloudwatch_metric_alarm"):
        cw = c("cloudwatch")
        cw.put_metric_alarm(AlarmName=ident, Namespace="AWS/EC2", MetricName="NetworkIn", Statistic="Sum", Period=60, EvaluationPeriods=3, Threshold=1e9,
                            ComparisonOperator="GreaterThanThreshold", Tags=THEIRS)
        stale_tags_dropped(cw.list_tags_for_resource(ResourceARN=cw.describe_alarms(AlarmNames=[ident])["MetricAlarms"][0]["AlarmArn"])["Tags"],
                           lambda keys: cw.untag_resource(ResourceARN=cw.describe_alarms(AlarmNames=[ident])["MetricAlarms"][0]["AlarmArn"], TagKeys=keys))

        def alarm():
            a = cw.describe_alarms(AlarmNames=[ident])["MetricAlarms"][0]
            return ({k: a.get(k) for k in ("MetricName", "Threshold", "Period", "AlarmActions", "Dimensions")}, cw.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"])
        return Namesake(kind, ident, alarm, lambda: cw.delete_alarms(AlarmNames=[ident]))
    if kind == "scheduler_instance_schedule":
        sch = c("scheduler")
        sch.create_schedule(Name=ident, ScheduleExpression="cron(0 1 * * ? *)", FlexibleTimeWindow={"Mode": "OFF"}, Description="the data team's nightly job",
                            Target={"Arn": f"arn:aws:lambda:{harness.REGION}:{harness.ACCOUNT}:function:nightly", "RoleArn": f"arn:aws:iam::{harness.ACCOUNT}:role/nightly"})
        return Namesake(kind, ident, lambda: {k: v for k, v in sch.get_schedule(Name=ident).items() if k in ("ScheduleExpression", "Description", "Target", "State")},
                        lambda: sch.delete_schedule(Name=ident))
    if kind == "ecr_repository":
        ecr = c("ecr")
        arn = ecr.create_repository(repositoryName=ident, tags=[{"Key": "team", "Value": "data"}])["repository"]["repositoryArn"]
        return Namesake(kind, ident, lambda: (ecr.describe_repositories(repositoryNames=[ident])["repositories"][0]["imageScanningConfiguration"], ecr.list_tags_for_resource(resourceArn=arn)["tags"]),
                        lambda: ecr.delete_repository(repositoryName=ident, force=True))
    if kind == "logs_log_group":
        logs = c("logs")
        logs.create_log_group(logGroupName=ident, tags={"team": "data"})
        logs.put_retention_policy(logGroupName=ident, retentionInDays=3)
        stale_tags_dropped([{"Key": k, "Value": v} for k, v in logs.list_tags_log_group(logGroupName=ident)["tags"].items()],
                           lambda keys: logs.untag_log_group(logGroupName=ident, tags=keys))
        return Namesake(kind, ident, lambda: ([g.get("retentionInDays") for g in logs.describe_log_groups(logGroupNamePrefix=ident)["logGroups"] if g["logGroupName"] == ident],
                                              logs.list_tags_log_group(logGroupName=ident)["tags"]), lambda: logs.delete_log_group(logGroupName=ident))
    if kind == "secretsmanager_secret":
        sm = c("secretsmanager")
        # An ARN ends in the name and six characters AWS adds.
        name = re.sub(r"-[A-Za-z0-9]{6}$", "", tail(ident, ":")) if ident.startswith("arn:") else ident
        sm.create_secret(Name=name, SecretString="theirs", Tags=THEIRS)
        return Namesake(kind, name, lambda: (sm.get_secret_value(SecretId=name)["SecretString"], sm.describe_secret(SecretId=name).get("Tags")),
                        lambda: sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True))
    if kind == "rds_subnet_group":
        rds = c("rds")
        arn = rds.create_db_subnet_group(DBSubnetGroupName=ident, DBSubnetGroupDescription="theirs", SubnetIds=net().subnets, Tags=THEIRS)["DBSubnetGroup"]["DBSubnetGroupArn"]
        return Namesake(kind, ident, lambda: (sorted(s["SubnetIdentifier"] for s in rds.describe_db_subnet_groups(DBSubnetGroupName=ident)["DBSubnetGroups"][0]["Subnets"]),
                                              rds.list_tags_for_resource(ResourceName=arn)["TagList"]), lambda: rds.delete_db_subnet_group(DBSubnetGroupName=ident))
    if kind in ("rds_instance", "rds_cluster_instance"):
        # (An Aurora instance's namesake: a standalone instance of its name.)
        rds = c("rds")
        arn = rds.create_db_instance(DBInstanceIdentifier=ident, Engine="postgres", DBInstanceClass="db.t3.small", AllocatedStorage=50, MasterUsername="theirs",
                                     MasterUserPassword="their-password-1", Tags=THEIRS)["DBInstance"]["DBInstanceArn"]

        def db():
            d = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
            return ({k: d.get(k) for k in ("DBInstanceClass", "AllocatedStorage", "MasterUsername", "DeletionProtection", "BackupRetentionPeriod")}, rds.list_tags_for_resource(ResourceName=arn)["TagList"])
        return Namesake(kind, ident, db, lambda: rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True))
    if kind == "elasticache_subnet_group":
        ec = c("elasticache")
        arn = ec.create_cache_subnet_group(CacheSubnetGroupName=ident, CacheSubnetGroupDescription="theirs", SubnetIds=net().subnets, Tags=THEIRS)["CacheSubnetGroup"]["ARN"]
        stale_tags_dropped(ec.list_tags_for_resource(ResourceName=arn)["TagList"], lambda keys: ec.remove_tags_from_resource(ResourceName=arn, TagKeys=keys))
        return Namesake(kind, ident, lambda: (sorted(s["SubnetIdentifier"] for s in ec.describe_cache_subnet_groups(CacheSubnetGroupName=ident)["CacheSubnetGroups"][0]["Subnets"]),
                                              ec.list_tags_for_resource(ResourceName=arn)["TagList"]),
                        lambda: ec.delete_cache_subnet_group(CacheSubnetGroupName=ident))
    if kind == "elasticache_redis":
        ec = c("elasticache")
        arn = ec.create_replication_group(ReplicationGroupId=ident, ReplicationGroupDescription="theirs", Engine="redis", CacheNodeType="cache.t3.small", NumCacheClusters=1, Tags=THEIRS)["ReplicationGroup"]["ARN"]
        stale_tags_dropped(ec.list_tags_for_resource(ResourceName=arn)["TagList"], lambda keys: ec.remove_tags_from_resource(ResourceName=arn, TagKeys=keys))
        return Namesake(kind, ident, lambda: {k: v for k, v in ec.describe_replication_groups(ReplicationGroupId=ident)["ReplicationGroups"][0].items() if k in ("Description", "CacheNodeType", "MemberClusters", "Status")},
                        lambda: ec.delete_replication_group(ReplicationGroupId=ident))
    if kind == "elbv2_load_balancer":
        elb, name = c("elbv2"), ident.split("/")[-2]
        arn = elb.create_load_balancer(Name=name, Subnets=net().subnets, Tags=THEIRS)["LoadBalancers"][0]["LoadBalancerArn"]
        return Namesake(kind, name, lambda: (elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["AvailabilityZones"], elb.describe_tags(ResourceArns=[arn])["TagDescriptions"],
                                             elb.describe_listeners(LoadBalancerArn=arn)["Listeners"]), lambda: elb.delete_load_balancer(LoadBalancerArn=arn))
    if kind == "elbv2_target_group":
        elb, name = c("elbv2"), ident.split("/")[-2]
        arn = elb.create_target_group(Name=name, Protocol="HTTP", Port=9000, VpcId=net().vpc, TargetType="ip", Tags=THEIRS)["TargetGroups"][0]["TargetGroupArn"]
        return Namesake(kind, name, lambda: ({k: v for k, v in elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0].items() if k in ("Port", "VpcId", "HealthCheckPath")},
                                             elb.describe_tags(ResourceArns=[arn])["TagDescriptions"]), lambda: elb.delete_target_group(TargetGroupArn=arn))
    if kind == "ecs_cluster":
        ecs = c("ecs")
        ecs.create_cluster(clusterName=ident, tags=[{"key": "team", "value": "data"}])
        return Namesake(kind, ident, lambda: {k: v for k, v in ecs.describe_clusters(clusters=[ident], include=["TAGS"])["clusters"][0].items() if k in ("status", "tags", "settings")},
                        lambda: ecs.delete_cluster(cluster=ident))
    if kind == "ecs_task_definition":
        # A revision of the family: the stack registers revisions of its
        # own beside it and never touches another's.
        ecs, family = c("ecs"), tail(ident, "/").rsplit(":", 1)[0]
        arn = ecs.register_task_definition(family=family, containerDefinitions=[{"name": "theirs", "image": "busybox", "memory": 64}], tags=[{"key": "team", "value": "data"}])["taskDefinition"]["taskDefinitionArn"]
        return Namesake(kind, arn, lambda: {k: v for k, v in ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"]).items() if k in ("taskDefinition", "tags")},
                        lambda: ecs.deregister_task_definition(taskDefinition=arn))
    if kind == "kms_key":
        # The alias is the name; the key behind it is the namesake.
        kms, alias = c("kms"), aliases[ident]
        key = kms.create_key(Description="the data team's key", Tags=[{"TagKey": "team", "TagValue": "data"}])["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key)

        def remove():
            kms.delete_alias(AliasName=alias)
            kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        return Namesake(kind, key, lambda: ({k: v for k, v in kms.describe_key(KeyId=key)["KeyMetadata"].items() if k in ("Description", "KeyState", "Enabled")},
                                            kms.list_resource_tags(KeyId=key)["Tags"], kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"],
                                            sorted(a["AliasName"] for a in kms.list_aliases(KeyId=key)["Aliases"])), remove)
    if kind == "eks_cluster":
        eks = c("eks")
        eks.create_cluster(name=ident, version="1.29", roleArn=f"arn:aws:iam::{harness.ACCOUNT}:role/theirs-eks", resourcesVpcConfig={"subnetIds": net().subnets}, tags={"team": "data"})
        return Namesake(kind, ident, lambda: {k: v for k, v in eks.describe_cluster(name=ident)["cluster"].items() if k in ("version", "roleArn", "tags", "status", "logging")},
                        lambda: eks.delete_cluster(name=ident))
    if kind == "rds_global_cluster":
        rds = c("rds")
        rds.create_global_cluster(GlobalClusterIdentifier=ident, Engine="aurora-postgresql", EngineVersion="15.4")
        return Namesake(kind, ident, lambda: [{k: v for k, v in g.items() if k in ("Engine", "EngineVersion", "GlobalClusterMembers", "DeletionProtection")}
                                              for g in rds.describe_global_clusters(GlobalClusterIdentifier=ident)["GlobalClusters"]],
                        lambda: rds.delete_global_cluster(GlobalClusterIdentifier=ident))
    if kind == "rds_global_member_cluster":
        rds = c("rds")
        arn = rds.create_db_cluster(DBClusterIdentifier=ident, Engine="aurora-postgresql", EngineVersion="15.4", MasterUsername="theirs", MasterUserPassword="their-password-1",
                                    Tags=THEIRS)["DBCluster"]["DBClusterArn"]

        def cluster():
            d = rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0]
            return ({k: d.get(k) for k in ("Engine", "MasterUsername", "DeletionProtection", "GlobalClusterIdentifier", "DBClusterMembers")}, rds.list_tags_for_resource(ResourceName=arn)["TagList"])
        return Namesake(kind, ident, cluster, lambda: rds.delete_db_cluster(DBClusterIdentifier=ident, SkipFinalSnapshot=True))
    if kind == "route53_failover_record":
        # The team's own failover record, with the very set identifier the
        # stack would write, answering to the team's health check: the set
        # identifier alone proves nothing.
        r53 = c("route53")
        zone, name, _, ident_set = ident.split("|")
        check = r53.create_health_check(CallerReference=f"theirs-{ident_set}", HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "theirs.example", "ResourcePath": "/",
                                                                                                   "Port": 443, "RequestInterval": 30, "FailureThreshold": 3})["HealthCheck"]["Id"]
        r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check, AddTags=THEIRS)
        record = {"Name": f"{name}.", "Type": "CNAME", "SetIdentifier": ident_set, "Failover": "PRIMARY" if ident_set.endswith("-primary") else "SECONDARY", "TTL": 300,
                  "ResourceRecords": [{"Value": f"theirs-{ident_set}.example"}], "HealthCheckId": check}
        r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]})

        def look():
            sets = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
            return ([r for r in sets if r.get("SetIdentifier") == ident_set], r53.get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"],
                    r53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check)["ResourceTagSet"]["Tags"])

        def remove():
            r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]})
            r53.delete_health_check(HealthCheckId=check)
        return Namesake(kind, ident_set, look, remove)
    raise AssertionError(f"no namesake for the kind {kind}: classify it in test_foreign_namesakes.py")


# A namesake that is not refused: a task family holds the revisions of
# several owners, the stack's beside the foreign one.
SHARED_NAMESPACE = {"ecs_task_definition"}


class Stack:
    """How the test meets one stack: its example and id, the fewest kinds of
    namesakes it must have, its variables, and where each key lives."""

    def __init__(self, example, stack_id, kinds):
        self.example, self.stack_id, self.kinds = example, stack_id, kinds

    def configure(self, emu, work):
        v = {"ami_id": moto_ami(emu), "ssm_parameters": {"OPENAI_API_KEY": {"value": "sk-own-1"}}} if self.example == "kauri" else {"aws_region": harness.REGION}
        (work / "t.auto.tfvars.json").write_text(json.dumps(v))

    def ids(self, tf) -> dict:
        return tf.outputs()["resource_ids"]

    def region(self, key: str) -> str:
        return harness.REGION

    def seen(self, emu) -> list:
        return sorted(leftovers(emu, self.stack_id))


class Platform(Stack):
    """The multi-region platform: keys scoped `primary/`, `secondary/` or
    `global/`, its failover records in a hosted zone of the team's."""

    def configure(self, emu, work):
        from test_multi_region import P_HOST, S_HOST
        self.zone = emu.client("route53").create_hosted_zone(Name="luneo.app", CallerReference=f"z-{work.name}")["HostedZone"]["Id"].split("/")[-1]
        (work / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
        v = {"hosted_zone_id": self.zone, "profile": "ephemeral", "force_destroy": True, "primary_ingress_hostname": P_HOST, "secondary_ingress_hostname": S_HOST}
        (work / "t.auto.tfvars.json").write_text(json.dumps(v))

    def ids(self, tf) -> dict:
        return [r for r in tf.state()["values"]["root_module"]["resources"] if r["type"] == "awsstack_multi_region_platform"][0]["values"]["resource_ids"]

    def region(self, key: str) -> str:
        from test_multi_region import P, S
        return {"primary": P, "secondary": S}.get(key.split("/")[0], harness.REGION)

    def seen(self, emu) -> list:
        from test_multi_region import platform_leftovers
        sets = emu.client("route53").list_resource_record_sets(HostedZoneId=self.zone)["ResourceRecordSets"]
        records = [f"record {r['SetIdentifier']} {r['ResourceRecords'][0]['Value']}" for r in sets if r.get("SetIdentifier")]
        params = [f"parameter {p['Name']}" for p in emu.client("ssm").describe_parameters()["Parameters"] if self.stack_id in p["Name"]]
        return sorted(platform_leftovers(emu) + records + params)


STACKS = {
    "docker_host": Stack("kauri", "kauri-demo", 7),
    "container_service": Stack("kavak", "kavak-agent-dev", 13),
    "multi_region_platform": Platform("luneo", "luneo-prod", 12),
}


def refused(p, foreign: dict, region=lambda key: harness.REGION) -> set:
    """The keys of the namesakes a failed apply refused, each on the
    attribute that decides its name; the apply names no other error. A
    name the stack uses in two regions (the platform's manifest) is told
    apart by the region the message names for a component placed outside
    the stack's region."""
    assert p.returncode == 1, p.stdout
    diags = [d for d in " ".join(p.stderr.split()).split("Error: ")[1:]]
    keys = set()
    for d in diags:
        hits = [k for k, n in foreign.items() if f"the {n.kind.replace('_', ' ')} " in d and n.name in d]
        if len(hits) > 1:
            placed = [k for k in hits if f" in {region(k)} already exists" in d]
            hits = placed or [k for k in hits if region(k) == harness.REGION]
        assert len(hits) == 1 and "was not created by this stack" in d and "choose another `" in d, d
        keys |= set(hits)
    return keys


def kms_aliases(emu, regions) -> dict:
    """The aliases of the KMS keys in `regions`, by key id."""
    return {a["TargetKeyId"]: a["AliasName"] for r in regions for a in emu.client("kms", r).list_aliases()["Aliases"] if a.get("TargetKeyId")}


@pytest.mark.parametrize("version", ["1.0", "1.15"])
@pytest.mark.parametrize("which", list(STACKS))
def test_foreign_namesakes_of_every_kind_are_never_taken(which, version, fresh_emulator, workdir):
    """Every name the stack picks held by another owner first. The engine
    stops starting components at the first error, so the namesakes are met
    in waves: each apply refuses the ones it reaches (the first one after a
    SIGKILL of the provider mid-apply), a destroy then removes the stack
    and none of them, and their owner deletes the refused ones before the
    next wave, as the diagnostic suggests."""
    emu = fresh_emulator
    stack = STACKS[which]
    proxy = FaultProxy(emu.endpoint).start()
    try:
        work = copy_example(stack.example, workdir / stack.example)
        stack.configure(emu, work)
        tf = Terraform(version, work, proxy.endpoint)
        tf.init()
        # The names the stack picks, from a first life of the stack.
        kinds = dict(re.findall(r'"create ([^ ]+) \(([a-z0-9_]+)\)"', tf.plan().stdout))
        tf.apply()
        ids = stack.ids(tf)
        regions = sorted({stack.region(k) for k in kinds})
        aliases = kms_aliases(emu, regions)
        tf.destroy()
        seen = lambda: stack.seen(emu)  # noqa: E731
        assert seen() == []
        nets = {}

        def net_in(region):
            """The foreign network of `region`, made once, when a namesake
            first needs it."""
            def net():
                if region not in nets:
                    nets[region] = Network(emu, region)
                return nets[region]
            return net
        # namesake() fails on a kind it does not know: a new kind must be
        # classified here.
        foreign = {key: namesake(kind, emu, ids[key], stack.region(key), net_in(stack.region(key)), aliases)
                   for key, kind in sorted(kinds.items()) if kind not in BY_TAG | THROUGH_PARENT}
        assert len({n.kind for n in foreign.values()}) >= stack.kinds, sorted(foreign)
        theirs = [v for r in regions for v in emu.client("ec2", r).describe_vpcs()["Vpcs"] if {"Key": "team", "Value": "data"} in v.get("Tags", [])]
        assert len(theirs) == len(nets), f"one foreign network per region that needs one: {len(theirs)} for {sorted(nets)}"
        before = {key: n.look() for key, n in foreign.items()}
        present = dict(foreign)
        # What the leftover count sees of the namesakes (it finds some kinds
        # by name).
        baseline = seen()

        def unchanged(when):
            changed = {k: (before[k], n.look()) for k, n in present.items() if n.look() != before[k]}
            assert not changed, f"{when}: foreign objects changed: {changed}"

        killed = []

        def kill(action):
            for pid in provider_pids(proxy.endpoint):
                os.kill(pid, signal.SIGKILL)
                killed.append(action)

        waves = []
        while True:
            if not waves:
                # The first apply is killed at its first mutating call.
                proxy.set(Rule(match=MUTATING.pattern, mode="callback", nth=1, callback=kill))
                p = tf.apply(check=False)
                assert killed and p.returncode == 1, (killed, p.stderr[-2000:])
                proxy.clear()
                unchanged("after the killed apply")
            p = tf.apply(check=False)
            if p.returncode == 0:
                break
            wave = refused(p, present, stack.region)
            assert wave, p.stderr
            unchanged(f"after the apply of wave {len(waves) + 1}")
            # Again: nothing adopted in between (the second apply may reach
            # more: what the first made is recorded, so more is ready).
            wave |= refused(tf.apply(check=False), present, stack.region)
            waves.append(sorted(wave))
            tf.destroy()
            unchanged(f"after the destroy of wave {len(waves)}")
            assert seen() == baseline, f"the destroy of wave {len(waves)} {waves}: left {sorted(set(seen()) - set(baseline))}, gone {sorted(set(baseline) - set(seen()))}"
            for key in wave:
                present.pop(key).remove()
            baseline = seen()
        missed = {k for k, n in present.items() if n.kind not in SHARED_NAMESPACE}
        assert not missed, f"namesakes no apply refused: {sorted(missed)}"
        assert tf.plan().returncode == 0
        tf.destroy()
        unchanged("after the last destroy")
        assert seen() == baseline
        print(f"{which} (Terraform {version}): {len(foreign)} foreign namesakes of {len({n.kind for n in foreign.values()})} kinds, refused in {len(waves)} waves {waves}, "
              f"through a killed apply, {2 * len(waves) + 2} applies and {len(waves) + 1} destroys: none changed")
    finally:
        proxy.stop()
