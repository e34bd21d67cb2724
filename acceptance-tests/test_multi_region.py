"""awsstack_multi_region_platform end to end on examples/luneo: the real
Terraform CLI (1.0.3 and 1.15.5) against moto's server, every sub-resource
checked through the AWS API of its own region. moto only: LocalStack's
community runtime has no EKS or RDS."""

import json
import os
import signal

import pytest

import harness
from harness import Terraform, copy_example

STACK = "luneo-prod"
P, S = "eu-west-1", "us-east-1"
P_HOST, S_HOST = "ingress-eu.elb.eu-west-1.amazonaws.com", "ingress-us.elb.us-east-1.amazonaws.com"


def tags_of(items, k="Key", v="Value"):
    return {t[k]: t[v] for t in items or []}


def setup(emu, workdir, version, **extra):
    zone = emu.client("route53").create_hosted_zone(Name="luneo.app", CallerReference=f"z-{workdir.name}")["HostedZone"]["Id"].split("/")[-1]
    copy_example("luneo", workdir)
    # The seed's S3 backend is the demo's; the tests keep the state local.
    (workdir / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    v = {"hosted_zone_id": zone, "primary_ingress_hostname": P_HOST, "secondary_ingress_hostname": S_HOST, "force_destroy": True}
    v.update(extra)
    (workdir / "test.auto.tfvars.json").write_text(json.dumps(v))
    tf = Terraform(version, workdir, emu.endpoint)
    tf.init()
    return tf, zone


def stack(tf) -> dict:
    res = [r for r in tf.state()["values"]["root_module"]["resources"] if r["type"] == "awsstack_multi_region_platform"]
    return res[0]["values"]


def writer_of(emu) -> str:
    g = emu.client("rds", S).describe_global_clusters()["GlobalClusters"]
    g = [x for x in g if x["GlobalClusterIdentifier"] == f"{STACK}-aurora"][0]
    return [m["DBClusterArn"].split(":")[3] for m in g["GlobalClusterMembers"] if m["IsWriter"]][0]


def failover_records(emu, zone) -> dict:
    rs = emu.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return {r["Failover"]: (r["ResourceRecords"][0]["Value"], r["HealthCheckId"]) for r in rs if r.get("Failover")}


def check_platform(emu, zone, v):
    ids = v["resource_ids"]
    for side, region, cidr in (("primary", P, "10.10.0.0/16"), ("secondary", S, "10.20.0.0/16")):
        ec2 = emu.client("ec2", region)
        vpc = ec2.describe_vpcs(VpcIds=[ids[f"{side}/vpc"]])["Vpcs"][0]
        assert vpc["CidrBlock"] == cidr
        assert tags_of(vpc["Tags"])["awsstack:stack-id"] == STACK
        subnets = ec2.describe_subnets(SubnetIds=v[f"{side}_private_subnet_ids"] + v[f"{side}_public_subnet_ids"])["Subnets"]
        assert len({s["AvailabilityZone"] for s in subnets}) == 3
        cluster = f"{STACK}-eks-{side}"
        for s in subnets:
            t = tags_of(s["Tags"])
            assert t[f"kubernetes.io/cluster/{cluster}"] == "shared"
            role = "kubernetes.io/role/internal-elb" if s["SubnetId"] in v[f"{side}_private_subnet_ids"] else "kubernetes.io/role/elb"
            assert t[role] == "1", (s["SubnetId"], t)
        endpoint = ec2.describe_vpc_endpoints(VpcEndpointIds=[ids[f"{side}/s3.endpoint"]])["VpcEndpoints"][0]
        assert endpoint["ServiceName"] == f"com.amazonaws.{region}.s3" and endpoint["RouteTableIds"] == [ids[f"{side}/rtb.private"]]

        # EKS: the cluster, the seed's on-demand + spot pair, IRSA.
        eks = emu.client("eks", region)
        c = eks.describe_cluster(name=cluster)["cluster"]
        assert c["version"] == "1.29" and c["status"] == "ACTIVE"
        assert tags_of([{"Key": k, "Value": x} for k, x in c["tags"].items()])["awsstack:stack-id"] == STACK
        groups = {g: eks.describe_nodegroup(clusterName=cluster, nodegroupName=g)["nodegroup"] for g in eks.list_nodegroups(clusterName=cluster)["nodegroups"]}
        capacity = sorted(g["capacityType"] for g in groups.values())
        assert capacity == ["ON_DEMAND", "SPOT"], capacity
        ondemand = [g for g in groups.values() if g["capacityType"] == "ON_DEMAND"][0]
        # The passive region runs scaled down.
        assert ondemand["scalingConfig"]["desiredSize"] == (3 if side == "primary" else 2)
        iam = emu.client("iam")
        oidc = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=v[f"{side}_oidc_provider_arn"])
        assert "https://" + oidc["Url"].removeprefix("https://") == c["identity"]["oidc"]["issuer"]
        trust = iam.get_role(RoleName=f"{STACK}-lb-controller-{side}")["Role"]["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        cond = trust["Statement"][0]["Condition"]["StringEquals"]
        issuer = oidc["Url"].removeprefix("https://")
        assert cond == {f"{issuer}:sub": "system:serviceaccount:kube-system:aws-load-balancer-controller", f"{issuer}:aud": "sts.amazonaws.com"}

        # Aurora member: its own region's KMS key; the secondary without credentials.
        rds = emu.client("rds", region)
        db = rds.describe_db_clusters(DBClusterIdentifier=f"{STACK}-aurora-{side}")["DBClusters"][0]
        key = emu.client("kms", region).describe_key(KeyId=f"alias/{STACK}-{side}")["KeyMetadata"]
        assert db["KmsKeyId"] == key["Arn"] and db["StorageEncrypted"]
        assert emu.client("kms", region).get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]
        if side == "secondary":
            assert not db.get("MasterUsername"), db.get("MasterUsername")
        else:
            assert db["MasterUsername"] == "luneo_admin"
        sg = ec2.describe_security_groups(GroupIds=[ids[f"{side}/sg.db"]])["SecurityGroups"][0]
        assert sorted(r["CidrIp"] for p in sg["IpPermissions"] for r in p["IpRanges"]) == sorted(
            s["CidrBlock"] for s in ec2.describe_subnets(SubnetIds=v[f"{side}_private_subnet_ids"])["Subnets"]
        )

        # Alarms: each region's cluster lag.
        cw = emu.client("cloudwatch", region)
        alarms = {a["MetricName"]: a for a in cw.describe_alarms(AlarmNamePrefix=STACK)["MetricAlarms"]}
        for metric in ("AuroraGlobalDBReplicationLag", "AuroraGlobalDBRPOLag"):
            assert alarms[metric]["Namespace"] == "AWS/RDS"
            assert alarms[metric]["Dimensions"] == [{"Name": "DBClusterIdentifier", "Value": f"{STACK}-aurora-{side}"}]
            assert alarms[metric]["AlarmActions"] == [v["alarm_topic_arns"][region]]
        if side == "secondary":
            dims = {"SourceBucket": f"{STACK}-artifacts-{P}", "DestinationBucket": f"{STACK}-artifacts-{S}", "RuleId": "to-secondary"}
            for metric in ("ReplicationLatency", "BytesPendingReplication"):
                assert alarms[metric]["Namespace"] == "AWS/S3"
                assert {d["Name"]: d["Value"] for d in alarms[metric]["Dimensions"]} == dims
            assert alarms["BytesPendingReplication"]["Threshold"] == 524288000

    # The global database: primary writes, secondary reads.
    g = [x for x in emu.client("rds", S).describe_global_clusters()["GlobalClusters"] if x["GlobalClusterIdentifier"] == f"{STACK}-aurora"][0]
    members = {m["DBClusterArn"].split(":")[3]: m["IsWriter"] for m in g["GlobalClusterMembers"]}
    assert members == {P: True, S: False}
    assert g["StorageEncrypted"]

    # Replication primary → secondary, with RTC and the secondary's key.
    s3 = emu.client("s3", P)
    rule = s3.get_bucket_replication(Bucket=f"{STACK}-artifacts-{P}")["ReplicationConfiguration"]["Rules"][0]
    assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::{STACK}-artifacts-{S}"
    assert rule["Destination"]["ReplicationTime"]["Status"] == "Enabled"
    assert rule["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"] == emu.client("kms", S).describe_key(KeyId=f"alias/{STACK}-secondary")["KeyMetadata"]["Arn"]
    for region in (P, S):
        assert emu.client("s3", region).get_bucket_versioning(Bucket=f"{STACK}-artifacts-{region}")["Status"] == "Enabled"

    # Failover records: PRIMARY → the writer region's ingress.
    recs = failover_records(emu, zone)
    assert recs["PRIMARY"][0] == P_HOST and recs["SECONDARY"][0] == S_HOST
    r53 = emu.client("route53")
    check = r53.get_health_check(HealthCheckId=recs["PRIMARY"][1])["HealthCheck"]["HealthCheckConfig"]
    assert (check["Type"], check["FullyQualifiedDomainName"], check["ResourcePath"], check["FailureThreshold"], check["EnableSNI"]) == ("HTTPS", P_HOST, "/health", 3, True)
    assert tags_of(r53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=recs["PRIMARY"][1])["ResourceTagSet"]["Tags"])["awsstack:stack-id"] == STACK


def platform_leftovers(emu) -> list[str]:
    """What of the stack is left, in either region."""
    out = []
    for region in (P, S):
        ec2 = emu.client("ec2", region)
        for kind, items in (
            ("vpc", ec2.describe_vpcs()["Vpcs"]),
            ("subnet", ec2.describe_subnets()["Subnets"]),
            ("sg", ec2.describe_security_groups()["SecurityGroups"]),
            ("endpoint", [e for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e["State"].lower() != "deleted"]),
            ("nat", [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"]),
            ("eip", ec2.describe_addresses()["Addresses"]),
        ):
            out += [f"{region} {kind}" for i in items if tags_of(i.get("Tags")).get("awsstack:stack-id") == STACK]
        eks = emu.client("eks", region)
        out += [f"{region} eks {c}" for c in eks.list_clusters()["clusters"] if c.startswith(STACK)]
        rds = emu.client("rds", region)
        out += [f"{region} rds {c['DBClusterIdentifier']}" for c in rds.describe_db_clusters()["DBClusters"] if c["DBClusterIdentifier"].startswith(STACK)]
        out += [f"{region} rds {i['DBInstanceIdentifier']}" for i in rds.describe_db_instances()["DBInstances"] if i["DBInstanceIdentifier"].startswith(STACK)]
        kms = emu.client("kms", region)
        for k in kms.list_keys()["Keys"]:
            m = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
            if m["KeyState"] != "PendingDeletion" and tags_of(kms.list_resource_tags(KeyId=k["KeyId"])["Tags"], "TagKey", "TagValue").get("awsstack:stack-id") == STACK:
                out.append(f"{region} kms {k['KeyId']}")
        out += [f"{region} alarm {a['AlarmName']}" for a in emu.client("cloudwatch", region).describe_alarms(AlarmNamePrefix=STACK)["MetricAlarms"]]
        out += [f"{region} topic {t['TopicArn']}" for t in emu.client("sns", region).list_topics()["Topics"] if STACK in t["TopicArn"]]
        out += [f"{region} secret {s['Name']}" for s in emu.client("secretsmanager", region).list_secrets()["SecretList"] if s["Name"].startswith(STACK)]
        elb = emu.client("elbv2", region)
        out += [f"{region} lb {l['LoadBalancerName']}" for l in elb.describe_load_balancers()["LoadBalancers"]]
    out += [f"global {g['GlobalClusterIdentifier']}" for g in emu.client("rds", S).describe_global_clusters()["GlobalClusters"]]
    out += [f"bucket {b['Name']}" for b in emu.client("s3").list_buckets()["Buckets"] if b["Name"].startswith(STACK)]
    iam = emu.client("iam")
    out += [f"role {r['RoleName']}" for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(STACK)]
    out += [f"oidc {p['Arn']}" for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    out += [f"health check {h['Id']}" for h in emu.client("route53").list_health_checks()["HealthChecks"]]
    return out


def controller_load_balancer(emu, v):
    """What the AWS Load Balancer Controller makes for an ingress of the
    primary cluster: a load balancer in the public subnets, a target group
    and a security group, tagged with the cluster; and, in the same VPC,
    a security group that is not the controller's (untouched)."""
    ec2, elb = emu.client("ec2", P), emu.client("elbv2", P)
    tag = [{"Key": "elbv2.k8s.aws/cluster", "Value": f"{STACK}-eks-primary"}, {"Key": "ingress.k8s.aws/stack", "Value": "default/luneo-api"}]
    sg = ec2.create_security_group(GroupName="k8s-default-luneoapi", Description="controller", VpcId=v["primary_vpc_id"], TagSpecifications=[{"ResourceType": "security-group", "Tags": tag}])["GroupId"]
    lb = elb.create_load_balancer(Name="k8s-default-luneoapi", Subnets=v["primary_public_subnet_ids"], SecurityGroups=[sg], Tags=tag)["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elb.create_target_group(Name="k8s-default-luneoapi", Protocol="HTTP", Port=80, VpcId=v["primary_vpc_id"], TargetType="ip", Tags=tag)["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    other_vpc = ec2.create_vpc(CidrBlock="172.31.0.0/16")["Vpc"]["VpcId"]
    keep = ec2.create_security_group(GroupName="someone-elses", Description="not the controller's", VpcId=other_vpc)["GroupId"]
    return lb, tg, sg, keep


@pytest.mark.parametrize("version", ["1.0", "1.15"])
def test_luneo_platform_end_to_end(fresh_emulator, workdir, version):
    emu = fresh_emulator
    tf, zone = setup(emu, workdir, version)
    tf.apply()
    v = stack(tf)
    check_platform(emu, zone, v)
    out = tf.outputs()
    assert out["kubeconfig_commands"] == [
        "aws eks update-kubeconfig --name luneo-prod-eks-primary --region eu-west-1",
        "aws eks update-kubeconfig --name luneo-prod-eks-secondary --region us-east-1 --alias luneo-secondary",
    ]
    assert out["writer_region"] == P and out["route53_record"] == "api.luneo.app"
    assert out["aurora_writer_endpoint"].startswith(f"{STACK}-aurora-primary.")
    assert tf.plan().returncode == 0, "a second plan is empty"

    # DR drill: switch over to the secondary, as a plan.
    p = tf.run("plan", "-no-color", "-var", f"writer_region={S}")
    assert "switchover of the global database from eu-west-1 to us-east-1" in " ".join(p.stdout.split()), p.stdout[-3000:]
    assert "must be replaced" not in p.stdout
    tf.apply("-var", f"writer_region={S}")
    assert writer_of(emu) == S
    recs = failover_records(emu, zone)
    assert recs["PRIMARY"][0] == S_HOST and recs["SECONDARY"][0] == P_HOST
    assert tf.outputs()["writer_region"] == S
    assert tf.plan("-var", f"writer_region={S}").returncode == 0
    # The standby is now the primary region: its node groups grew, the other's shrank.
    ng = lambda region, side: [  # noqa: E731
        emu.client("eks", region).describe_nodegroup(clusterName=f"{STACK}-eks-{side}", nodegroupName=n)["nodegroup"]
        for n in emu.client("eks", region).list_nodegroups(clusterName=f"{STACK}-eks-{side}")["nodegroups"]
    ]
    assert [g["scalingConfig"]["desiredSize"] for g in ng(S, "secondary") if g["capacityType"] == "ON_DEMAND"] == [3]

    # A failover outside Terraform: drift of writer_region only.
    emu.client("rds", P).failover_global_cluster(GlobalClusterIdentifier=f"{STACK}-aurora", TargetDbClusterIdentifier=f"arn:aws:rds:{P}:123456789012:cluster:{STACK}-aurora-primary", AllowDataLoss=True)
    p = tf.plan("-var", f"writer_region={S}")
    assert p.returncode == 2
    text = " ".join(p.stdout.split())
    assert 'writer_region = "eu-west-1" -> "us-east-1"' in text, p.stdout[-4000:]
    assert "must be replaced" not in text
    # Writing down the region that writes now: no database change; what the
    # failover outside Terraform did not do (the PRIMARY record, the node
    # group sizes) follows, in place.
    p = tf.plan("-var", f"writer_region={P}")
    text = " ".join(p.stdout.split()).split("Terraform will perform the following actions")[-1].split("Plan:")[0]
    assert "switchover" not in text and "failover of" not in text and "writer_region =" not in text, p.stdout[-4000:]
    assert '"update global/dns.primary (route53_failover_record): value, check"' in text, p.stdout[-4000:]
    tf.apply("-var", f"writer_region={P}")
    assert tf.plan("-var", f"writer_region={P}").returncode == 0
    assert writer_of(emu) == P and failover_records(emu, zone)["PRIMARY"][0] == P_HOST

    # Instance types of the spot group: that group replaced, new before old, nothing else.
    before = {side: sorted(g["nodegroupName"] for g in ng(r, side)) for side, r in (("primary", P), ("secondary", S))}
    p = tf.run("plan", "-no-color", "-var", 'eks_spot_instance_types=["m5.xlarge"]')
    planned = [line.strip().lstrip("+").strip().strip('",') for line in p.stdout.splitlines() if line.strip().startswith('+ "') and "(" in line]
    assert sorted(planned) == ["replace primary/nodes.spot (eks_node_group): name, instance_types cannot change in place", "replace secondary/nodes.spot (eks_node_group): name, instance_types cannot change in place"], planned
    vars_file = workdir / "test.auto.tfvars.json"
    vars_file.write_text(json.dumps({**json.loads(vars_file.read_text()), "eks_spot_instance_types": ["m5.xlarge"]}))
    tf.apply()
    after = {side: sorted(g["nodegroupName"] for g in ng(r, side)) for side, r in (("primary", P), ("secondary", S))}
    for side in before:
        kept = set(before[side]) & set(after[side])
        assert len(kept) == 1 and len(after[side]) == 2, (before, after)
        new = [g for g in ng(P if side == "primary" else S, side) if g["nodegroupName"] not in kept][0]
        assert new["instanceTypes"] == ["m5.xlarge"] and new["capacityType"] == "SPOT"
    assert tf.plan().returncode == 0

    # Import by stack id: the same state.
    tf.run("state", "rm", "awsstack_multi_region_platform.luneo")
    tf.run("import", "-no-color", "awsstack_multi_region_platform.luneo", STACK)
    # (Terraform 1.0 plans an update without a changed value after an
    # import, for sensitivity marks only: resource_actions leaves it out.)
    assert tf.resource_actions() == {}, "import finds every sub-resource"

    # Destroy: refused at plan while the production profile protects the database.
    p = tf.run("destroy", "-auto-approve", "-no-color", check=False)
    assert p.returncode != 0 and "Deletion protection is on" in p.stderr, p.stderr[-2000:]
    assert writer_of(emu) == P, "nothing was deleted"
    tf.apply("-var", "profile=ephemeral")
    lb, tg, sg, keep = controller_load_balancer(emu, stack(tf))
    if version == "1.15":
        # Terraform 1.0 does not plan destroys with the provider.
        p = tf.run("plan", "-destroy", "-no-color", "-var", "profile=ephemeral")
        text = " ".join(p.stdout.split() + p.stderr.split())
        assert f"load balancer {lb}" in text and f"target group {tg}" in text and f"security group {sg}" in text, text[-3000:]
        assert keep not in text
    tf.destroy("-var", "profile=ephemeral")
    left = platform_leftovers(emu)
    assert left == [], left
    ec2 = emu.client("ec2", P)
    assert ec2.describe_security_groups(GroupIds=[keep])["SecurityGroups"], "an untagged group of another VPC is left alone"
    assert emu.client("elbv2", P).describe_target_groups()["TargetGroups"] == []


def test_seed_quick_start_applies_with_only_the_hosted_zone(fresh_emulator, workdir):
    """The seed's `cp terraform.tfvars.example terraform.tfvars`, with only
    the hosted zone changed: applies, converges, destroys (after the
    production profile's protection is lifted)."""
    emu = fresh_emulator
    zone = emu.client("route53").create_hosted_zone(Name="luneo.app", CallerReference="qs")["HostedZone"]["Id"].split("/")[-1]
    copy_example("luneo", workdir)
    (workdir / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    example = (workdir / "terraform.tfvars.example").read_text()
    assert 'hosted_zone_id = "Z0123456789LUNEO"' in example
    (workdir / "terraform.tfvars").write_text(example.replace("Z0123456789LUNEO", zone))
    tf = Terraform("1.0", workdir, emu.endpoint)
    tf.init()
    p = tf.apply()
    assert "Failover records not created yet" in " ".join(p.stdout.split() + p.stderr.split())
    assert tf.plan().returncode == 0
    assert tf.outputs().get("route53_record") is None, "no records until the ingress hostnames exist"
    # The ingress is deployed: the records are an in-place addition.
    p = tf.run("plan", "-no-color", "-var", f"primary_ingress_hostname={P_HOST}", "-var", f"secondary_ingress_hostname={S_HOST}")
    text = " ".join(p.stdout.split())
    assert "create global/dns.primary" in text and "create global/health.secondary" in text and "must be replaced" not in text, p.stdout[-3000:]
    tf.apply("-var", "profile=ephemeral", "-var", "force_destroy=true")
    tf.destroy("-var", "profile=ephemeral", "-var", "force_destroy=true")
    assert platform_leftovers(emu) == []


def test_drift_of_each_kind_is_shown_and_repaired(fresh_emulator, workdir):
    emu = fresh_emulator
    tf, zone = setup(emu, workdir, "1.15", profile="ephemeral")
    tf.apply()
    v = stack(tf)
    ids = v["resource_ids"]
    kms = emu.client("kms", P)
    key = kms.describe_key(KeyId=f"alias/{STACK}-primary")["KeyMetadata"]["KeyId"]
    kms.disable_key_rotation(KeyId=key)
    emu.client("s3", P).delete_bucket_replication(Bucket=f"{STACK}-artifacts-{P}")
    r53 = emu.client("route53")
    check = ids["global/health.secondary"]
    r53.update_health_check(HealthCheckId=check, ResourcePath="/changed")
    recs = failover_records(emu, zone)
    r53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {"Name": "api.luneo.app.", "Type": "CNAME", "SetIdentifier": f"{STACK}-primary", "Failover": "PRIMARY", "TTL": 60, "ResourceRecords": [{"Value": "hijacked.example.com"}], "HealthCheckId": recs["PRIMARY"][1]}}]},
    )
    eks = emu.client("eks", S)
    group = ids["secondary/nodes.spot"].split(":")[1]
    eks.update_nodegroup_config(clusterName=f"{STACK}-eks-secondary", nodegroupName=group, scalingConfig={"minSize": 0, "maxSize": 1, "desiredSize": 0})
    cw = emu.client("cloudwatch", S)
    alarm = cw.describe_alarms(AlarmNames=[f"{STACK}-s3-replication-backlog"])["MetricAlarms"][0]
    cw.put_metric_alarm(**{k: alarm[k] for k in ("AlarmName", "Namespace", "MetricName", "Dimensions", "Statistic", "Period", "EvaluationPeriods", "ComparisonOperator", "AlarmActions")}, Threshold=1e12)
    ec2 = emu.client("ec2", P)
    subnet = v["primary_public_subnet_ids"][0]
    ec2.delete_tags(Resources=[subnet], Tags=[{"Key": "kubernetes.io/role/elb"}])
    iam = emu.client("iam")
    iam.detach_role_policy(RoleName=f"{STACK}-eks-cluster-primary", PolicyArn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")
    eks_s = emu.client("eks", S)
    cluster_arn = eks_s.describe_cluster(name=f"{STACK}-eks-secondary")["cluster"]["arn"]
    eks_s.untag_resource(resourceArn=cluster_arn, tagKeys=["env"])

    p = tf.plan()
    assert p.returncode == 2
    text = " ".join(p.stdout.split())
    for line in (
        "drift: primary/kms (kms_key) changed outside Terraform: rotation",
        "drift: primary/replication (s3_bucket_replication) was deleted outside Terraform",
        "drift: global/health.secondary (route53_health_check) changed outside Terraform: path",
        "drift: global/dns.primary (route53_failover_record) changed outside Terraform: value",
        "drift: secondary/nodes.spot (eks_node_group) changed outside Terraform: max_size",
        "drift: secondary/alarm.s3_backlog (cloudwatch_metric_alarm) changed outside Terraform: threshold",
        f"drift: primary/subnet.public.{P}a (ec2_subnet) changed outside Terraform: tag kubernetes.io/role/elb",
        "drift: primary/role.cluster (iam_role) changed outside Terraform: managed_policies",
        "drift: secondary/cluster (eks_cluster) changed outside Terraform: tag env",
    ):
        assert line in text, (line, p.stdout[-6000:])
    assert "must be replaced" not in text
    tf.apply()
    assert tf.plan().returncode == 0, "repaired"
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"]
    assert emu.client("s3", P).get_bucket_replication(Bucket=f"{STACK}-artifacts-{P}")["ReplicationConfiguration"]["Rules"][0]["ID"] == "to-secondary"
    assert r53.get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]["ResourcePath"] == "/health"
    assert failover_records(emu, zone)["PRIMARY"][0] == P_HOST
    assert eks.describe_nodegroup(clusterName=f"{STACK}-eks-secondary", nodegroupName=group)["nodegroup"]["scalingConfig"]["maxSize"] == 10
    assert cw.describe_alarms(AlarmNames=[f"{STACK}-s3-replication-backlog"])["MetricAlarms"][0]["Threshold"] == 524288000
    assert tags_of(ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["Tags"])["kubernetes.io/role/elb"] == "1"
    assert "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" in [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=f"{STACK}-eks-cluster-primary")["AttachedPolicies"]]
    assert eks_s.list_tags_for_resource(resourceArn=cluster_arn)["tags"]["env"] == "prod"
    tf.destroy()
    assert platform_leftovers(emu) == []


def test_provider_killed_across_both_regions_converges(fresh_emulator, workdir, request):
    """SIGKILL the provider at the n-th mutating call, for points across
    the graph of both regions (the call itself still reaches AWS): the
    next apply adopts what was created, converges, and destroy leaves
    nothing in either region."""
    from fault_proxy import MUTATING, FaultProxy, Rule, load_catalog

    emu = fresh_emulator
    points = list(range(3, 140, 6)) if request.config.getoption("--full") else [7, 48, 95]
    tried = []
    for n in points:
        emu.reset()
        proxy = FaultProxy(emu.endpoint).start()
        # AWS's "not yet" answers too, around each kill point.
        proxy.realistic(load_catalog(str(harness.PROVIDER_BIN)), seed=n)
        try:
            work = workdir / f"kill{n}"
            work.mkdir()
            zone = emu.client("route53").create_hosted_zone(Name="luneo.app", CallerReference=f"k{n}")["HostedZone"]["Id"].split("/")[-1]
            copy_example("luneo", work)
            (work / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
            (work / "t.auto.tfvars.json").write_text(json.dumps({"hosted_zone_id": zone, "profile": "ephemeral", "force_destroy": True, "primary_ingress_hostname": P_HOST, "secondary_ingress_hostname": S_HOST}))
            tf = Terraform("1.15", work, proxy.endpoint)
            tf.init()
            killed = []

            def kill(action, endpoint=proxy.endpoint):
                for pid in harness.provider_pids(endpoint):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(action)

            proxy.set(Rule(match=MUTATING.pattern, mode="callback", nth=n, callback=kill))
            p = tf.apply(check=False)
            proxy.clear()
            if not killed:
                assert p.returncode == 0
                continue
            tried.append((n, killed[0]))
            assert p.returncode == 1
            tf.apply()
            assert tf.plan().returncode == 0
            tf.destroy()
            assert platform_leftovers(emu) == [], (n, killed)
        finally:
            proxy.stop()
    print(f"luneo: kill points that converged: {tried}")
    assert len(tried) >= (15 if request.config.getoption("--full") else 3), tried
