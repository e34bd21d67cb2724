"""awsstack_docker_host end to end: the real Terraform CLI (1.0.3 and
1.15.5) against moto's server."""

import json

import pytest

import harness
from harness import Terraform, copy_example, leftovers, moto_ami

STACK = "kauri-demo"
SECRET = "sk-test-3f9a1c7e5b"


def tfvars(workdir, emu, **extra):
    v = {
        "ami_id": moto_ami(emu),
        "budget_notification_emails": ["ops@example.com"],
        "ssm_parameters": {"OPENAI_API_KEY": {"value": SECRET}},
    }
    v.update(extra)
    (workdir / "test.auto.tfvars.json").write_text(json.dumps(v))


def tags_of(items):
    return {t["Key"]: t["Value"] for t in items}


def check_stack(emu, outputs):
    ec2 = emu.client("ec2")
    inst = ec2.describe_instances(InstanceIds=[outputs["instance_id"]])["Reservations"][0]["Instances"][0]
    assert inst["State"]["Name"] == "running"
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    assert inst["IamInstanceProfile"]["Arn"].endswith("/kauri-demo-host")
    t = tags_of(inst["Tags"])
    assert t["awsstack:stack-id"] == STACK and t["Project"] == "kauri" and t["Environment"] == "demo"
    assert t["ManagedBy"] == "terraform" and t["CostCenter"] == "demos", t
    # Security group: 80/443 open, 3000 restricted, 22 closed.
    sg = ec2.describe_security_groups(GroupIds=[outputs["security_group_id"]])["SecurityGroups"][0]
    rules = {(p["FromPort"], tuple(sorted(r["CidrIp"] for r in p["IpRanges"]))) for p in sg["IpPermissions"]}
    assert rules == {(80, ("0.0.0.0/0",)), (443, ("0.0.0.0/0",)), (3000, ("203.0.113.0/24",))}, rules
    # Elastic IP on the instance.
    addr = ec2.describe_addresses(PublicIps=[outputs["elastic_ip"]])["Addresses"][0]
    assert addr["InstanceId"] == outputs["instance_id"]
    # Data volume: 80 GiB gp3 encrypted, attached.
    vols = ec2.describe_volumes(Filters=[{"Name": "tag:awsstack:component", "Values": ["volume.data"]}, {"Name": "tag:awsstack:stack-id", "Values": [STACK]}])["Volumes"]
    assert len(vols) == 1
    v = vols[0]
    assert (v["Size"], v["VolumeType"], v["Encrypted"]) == (80, "gp3", True)
    assert v["Attachments"][0]["InstanceId"] == outputs["instance_id"]
    # VPC and subnet.
    vpc = ec2.describe_vpcs(VpcIds=[outputs["vpc_id"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == "10.42.0.0/24"
    # Bucket: versioned, public access blocked, Glacier lifecycle, tagged.
    s3 = emu.client("s3")
    b = outputs["bucket_name"]
    assert b == f"{STACK}-{harness.ACCOUNT}"
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    rule = s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"][0]
    assert rule["Transitions"][0]["StorageClass"] == "GLACIER" and rule["Transitions"][0]["Days"] == 30
    assert s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    assert tags_of(s3.get_bucket_tagging(Bucket=b)["TagSet"])["awsstack:stack-id"] == STACK
    # Secret parameter.
    p = emu.client("ssm").get_parameter(Name="/kauri/OPENAI_API_KEY", WithDecryption=True)["Parameter"]
    assert p["Type"] == "SecureString" and p["Value"] == SECRET
    assert outputs["ssm_parameter_arns"]["OPENAI_API_KEY"].endswith(":parameter/kauri/OPENAI_API_KEY")
    # Role: SSM + CloudWatch agent + inline policy on the bucket.
    iam = emu.client("iam")
    attached = {x["PolicyName"] for x in iam.list_attached_role_policies(RoleName="kauri-demo-host")["AttachedPolicies"]}
    assert {"AmazonSSMManagedInstanceCore", "CloudWatchAgentServerPolicy"} <= attached
    inline = iam.get_role_policy(RoleName="kauri-demo-host", PolicyName="awsstack")["PolicyDocument"]
    assert b in json.dumps(inline)
    # SNS with the e-mail subscription.
    subs = emu.client("sns").list_subscriptions_by_topic(TopicArn=outputs["sns_topic_arn"])["Subscriptions"]
    assert [s["Endpoint"] for s in subs] == ["ops@example.com"]
    # Budgets.
    budgets = {x["BudgetName"]: x for x in emu.client("budgets", "us-east-1").describe_budgets(AccountId=harness.ACCOUNT)["Budgets"]}
    assert float(budgets["kauri-demo-global"]["BudgetLimit"]["Amount"]) == 30
    assert float(budgets["kauri-demo-kauri"]["BudgetLimit"]["Amount"]) == 18
    # Alarms to the topic.
    alarms = {a["AlarmName"]: a for a in emu.client("cloudwatch").describe_alarms(AlarmNamePrefix=STACK)["MetricAlarms"]}
    assert set(alarms) == {"kauri-demo-cpu-high", "kauri-demo-status-check-failed"}
    assert alarms["kauri-demo-cpu-high"]["AlarmActions"] == [outputs["sns_topic_arn"]]
    assert alarms["kauri-demo-cpu-high"]["Dimensions"] == [{"Name": "InstanceId", "Value": outputs["instance_id"]}]
    # Start/stop schedules.
    sch = emu.client("scheduler")
    start = sch.get_schedule(Name="kauri-demo-start")
    assert start["ScheduleExpression"] == "cron(0 7 ? * MON-FRI *)" and start["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert outputs["instance_id"] in start["Target"]["Input"]
    assert sch.get_schedule(Name="kauri-demo-stop")["Target"]["Arn"].endswith("ec2:stopInstances")


@pytest.mark.parametrize("tf_version", ["1.0", "1.15"])
def test_kauri_lifecycle(tf_version, fresh_emulator, workdir):
    emu = fresh_emulator
    work = copy_example("kauri", workdir / "kauri")
    tfvars(work, emu)
    tf = Terraform(tf_version, work, emu.endpoint)
    tf.init()
    tf.apply()
    out = tf.outputs()
    assert set(out["resource_ids"]) >= {"vpc", "instance", "eip", "bucket", "topic", "schedule.start", "manifest"}
    check_stack(emu, out)
    # The seed's way of reading outputs.
    assert tf.output_raw("elastic_ip") == out["elastic_ip"]
    assert out["ssh_command"] == f"ssh ubuntu@{out['elastic_ip']}"

    # Second plan: nothing to do.
    p = tf.plan()
    assert p.returncode == 0, p.stdout + p.stderr

    # In-place updates: instance type (stop/modify/start), schedule, rules.
    tfvars(work, emu, instance_type="t4g.xlarge", scheduler_stop_expression="cron(30 20 ? * MON-FRI *)", grafana_cidrs=["198.51.100.0/24"])
    p = tf.plan()
    assert p.returncode == 2
    assert "update instance (ec2_instance): instance_type" in p.stdout, p.stdout
    assert "must be replaced" not in p.stdout
    tf.apply()
    out2 = tf.outputs()
    assert out2["instance_id"] == out["instance_id"], "instance type changes in place"
    ec2 = emu.client("ec2")
    inst = ec2.describe_instances(InstanceIds=[out["instance_id"]])["Reservations"][0]["Instances"][0]
    assert inst["InstanceType"] == "t4g.xlarge" and inst["State"]["Name"] == "running"
    assert emu.client("scheduler").get_schedule(Name="kauri-demo-stop")["ScheduleExpression"] == "cron(30 20 ? * MON-FRI *)"
    assert tf.plan().returncode == 0

    # Drift: delete the CPU alarm, remove the stack's HTTPS rule and open
    # SSH to the world behind Terraform's back. The stack's own objects are
    # repaired; the SSH rule is someone else's: left in place, with a
    # warning naming it.
    emu.client("cloudwatch").delete_alarms(AlarmNames=["kauri-demo-cpu-high"])
    ssh = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.authorize_security_group_ingress(GroupId=out["security_group_id"], IpPermissions=ssh)
    ec2.revoke_security_group_ingress(GroupId=out["security_group_id"], IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    p = tf.plan()
    assert p.returncode == 2, p.stdout
    assert "create alarm.cpu" in p.stdout and "update sg.host (ec2_security_group): rules" in p.stdout, p.stdout
    assert "port 22 (SSH) to 0.0.0.0/0" in " ".join((p.stdout + p.stderr).split()), p.stdout + p.stderr
    tf.apply()
    assert [a["AlarmName"] for a in emu.client("cloudwatch").describe_alarms(AlarmNames=["kauri-demo-cpu-high"])["MetricAlarms"]] == ["kauri-demo-cpu-high"]
    sg = ec2.describe_security_groups(GroupIds=[out["security_group_id"]])["SecurityGroups"][0]
    assert {22, 443} <= {p["FromPort"] for p in sg["IpPermissions"]}
    assert tf.plan().returncode == 0
    ec2.revoke_security_group_ingress(GroupId=out["security_group_id"], IpPermissions=ssh)
    assert tf.plan().returncode == 0

    # Import into a fresh state: same stack, no changes.
    work2 = copy_example("kauri", workdir / "imported")
    (work2 / "test.auto.tfvars.json").write_text((work / "test.auto.tfvars.json").read_text())
    tf2 = Terraform(tf_version, work2, emu.endpoint)
    tf2.init()
    tf2.run("import", "-no-color", "awsstack_docker_host.kauri", STACK)
    assert tf2.resource_actions() == {}
    tf2.apply()  # records the outputs
    assert tf2.outputs()["instance_id"] == out["instance_id"]

    # Destroy (from the imported state): nothing tagged with the stack id is left.
    tf2.destroy()
    assert leftovers(emu, STACK) == []
