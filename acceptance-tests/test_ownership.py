"""What the engine owns, end to end on the real Terraform CLI against moto:
tags that follow the configuration, objects the stack did not create never
taken, rules and policies others add left alone, and no data lost on
destroy."""

import json

import pytest

import harness
from harness import Terraform, copy_example, leftovers, moto_ami, stack_object_tags

KAURI = "kauri-demo"
KAVAK = "kavak-agent-dev"


def kauri(workdir, emu, **extra):
    copy_example("kauri", workdir)
    v = {"ami_id": moto_ami(emu), "budget_notification_emails": ["ops@example.com"], "ssm_parameters": {"OPENAI_API_KEY": {"value": "sk-own-1"}}}
    v.update(extra)
    (workdir / "test.auto.tfvars.json").write_text(json.dumps(v))


def kavak(workdir, **extra):
    copy_example("kavak", workdir)
    v = {"aws_region": harness.REGION}
    v.update(extra)
    (workdir / "test.auto.tfvars.json").write_text(json.dumps(v))


def changes(tf) -> list[str]:
    plan = json.loads(tf.run("show", "-json", "check.tfplan").stdout)
    rc = [r for r in plan.get("resource_changes", []) if r["type"].startswith("awsstack_")]
    return rc[0]["change"]["after"]["changes"] if rc and rc[0]["change"]["after"] else []


def set_kauri_tags(workdir, tags: dict):
    main = (workdir / "main.tf").read_text()
    start = main.index("  tags = {")
    end = main.index("}", start) + 1
    body = "\n".join(f'    {k} = "{v}"' for k, v in tags.items())
    (workdir / "main.tf").write_text(main[:start] + "  tags = {\n" + body + "\n  }" + main[end:])


@pytest.mark.parametrize("version", ["1.0", "1.15"])
@pytest.mark.parametrize("example", ["kauri", "kavak"])
def test_tags_follow_the_configuration(example, version, fresh_emulator, workdir):
    emu = fresh_emulator
    tf = Terraform(version, workdir, emu.endpoint)
    if example == "kauri":
        stack = KAURI
        kauri(workdir, emu, owner="team-a")
        set_kauri_tags(workdir, {"CostCenter": "demos", "Legacy": "yes"})
    else:
        stack = KAVAK
        kavak(workdir, tags={"project": "kavak-agent", "env": "dev", "owner": "ai-sales-team", "Legacy": "yes"})
    tf.init()
    tf.apply()
    before = stack_object_tags(emu, stack)
    assert len(before) >= (15 if example == "kauri" else 25), sorted(before)
    assert all(t.get("Legacy") == "yes" for t in before.values()), {k: t for k, t in before.items() if t.get("Legacy") != "yes"}

    # Change a tag of the resource (or the provider's default tags), add
    # one, remove one.
    if example == "kauri":
        set_kauri_tags(workdir, {"CostCenter": "platform", "Team": "infra"})
        (workdir / "test.auto.tfvars.json").write_text(json.dumps({**json.loads((workdir / "test.auto.tfvars.json").read_text()), "owner": "team-b"}))
        want = {"CostCenter": "platform", "Team": "infra", "Owner": "team-b"}
    else:
        kavak(workdir, tags={"project": "kavak-agent", "env": "dev", "owner": "ai-sales-team", "Team": "infra"})
        want = {"Team": "infra", "owner": "ai-sales-team"}
    tf.run("plan", "-no-color", "-out=check.tfplan")
    lines = changes(tf)
    # The manifest records the configuration (its tags included): it is
    # updated, which converges its tags too.
    tag_lines = [l for l in lines if not l.startswith("update manifest (ssm_parameter)")]
    assert tag_lines and all(l.startswith("update tags ") for l in tag_lines), lines
    assert len(lines) == len(before), f"one tag update per sub-resource: {len(lines)} lines for {len(before)} objects"
    tf.apply()
    after = stack_object_tags(emu, stack)
    assert set(after) == set(before), "no sub-resource created or deleted"
    wrong = {k: t for k, t in after.items() if any(t.get(x) != y for x, y in want.items()) or "Legacy" in t}
    assert not wrong, wrong
    assert tf.plan().returncode == 0, "converged: the next plan is empty"

    # Out of band: a tag added by someone else is left alone; a managed tag
    # removed is drift, shown and repaired.
    ec2 = emu.client("ec2")
    vpc = next(k.split()[1] for k in after if k.startswith("ec2 vpc-"))
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "cost-allocation", "Value": "42"}])
    role = next(k.split()[1] for k in after if k.startswith("role "))
    emu.client("iam").untag_role(RoleName=role, TagKeys=["Team"])
    p = tf.plan()
    assert p.returncode == 2, p.stdout
    tf.run("plan", "-no-color", "-out=check.tfplan")
    lines = changes(tf)
    assert len(lines) == 1 and lines[0].startswith("update tags ") and lines[0].endswith(": Team"), lines
    tf.apply()
    assert emu.client("iam").list_role_tags(RoleName=role)["Tags"] and {t["Key"]: t["Value"] for t in emu.client("iam").list_role_tags(RoleName=role)["Tags"]}["Team"] == "infra"
    vpc_tags = {t["Key"]: t["Value"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vpc]}])["Tags"]}
    assert vpc_tags["cost-allocation"] == "42", "a tag the stack does not set is left alone"
    assert tf.plan().returncode == 0
    tags_all = [r for r in tf.state()["values"]["root_module"]["resources"] if r["type"].startswith("awsstack_")][0]["values"]["tags_all"]
    assert all(tags_all.get(k) == v for k, v in want.items()) and tags_all["awsstack:stack-id"] == stack, tags_all
    tf.destroy()
    assert leftovers(emu, stack) == []


def foreign_objects(emu, stack: str):
    """Objects other teams made with the names the Docker host picks: a
    bucket with data, an IAM role with a policy, an SSM parameter, an SNS
    topic."""
    s3 = emu.client("s3")
    bucket = f"{stack}-{harness.ACCOUNT}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": harness.REGION})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    s3.put_object(Bucket=bucket, Key="precious.csv", Body=b"a,b\n1,2\n")
    iam = emu.client("iam")
    iam.create_role(RoleName=f"{stack}-host", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}), Tags=[{"Key": "team", "Value": "data"}])
    iam.attach_role_policy(RoleName=f"{stack}-host", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    emu.client("ssm").put_parameter(Name="/kauri/OPENAI_API_KEY", Value="theirs", Type="SecureString")
    return bucket


def snapshot(emu, stack):
    s3, iam = emu.client("s3"), emu.client("iam")
    bucket = f"{stack}-{harness.ACCOUNT}"
    return {
        "bucket_tags": s3.get_bucket_tagging(Bucket=bucket)["TagSet"],
        "objects": [(o["Key"], o["Size"]) for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])],
        "role": iam.get_role(RoleName=f"{stack}-host")["Role"]["Arn"],
        "role_tags": iam.list_role_tags(RoleName=f"{stack}-host")["Tags"],
        "role_policies": iam.list_attached_role_policies(RoleName=f"{stack}-host")["AttachedPolicies"],
        "parameter": emu.client("ssm").get_parameter(Name="/kauri/OPENAI_API_KEY", WithDecryption=True)["Parameter"]["Value"],
    }


@pytest.mark.parametrize("version", ["1.0", "1.15"])
def test_foreign_objects_with_the_stacks_names_are_never_taken(version, fresh_emulator, workdir):
    emu = fresh_emulator
    foreign_objects(emu, KAURI)
    before = snapshot(emu, KAURI)
    kauri(workdir, emu)
    tf = Terraform(version, workdir, emu.endpoint)
    tf.init()
    p = tf.apply(check=False)
    assert p.returncode == 1
    err = " ".join(p.stderr.split())
    for what in ("s3 bucket", "iam role", "ssm parameter"):
        assert f"the {what} " in err and "was not created by this stack" in err, err
    # Each on the attribute that decides the name.
    assert "project_name = var.project_name" in err and "ssm_parameters" in err, err
    assert snapshot(emu, KAURI) == before, "the foreign objects are untouched"
    # The rest of the stack exists and is recorded; the next apply fails
    # the same way (it never adopts them), and destroy leaves them.
    p = tf.apply(check=False)
    assert p.returncode == 1 and "was not created by this stack" in " ".join(p.stderr.split())
    assert snapshot(emu, KAURI) == before
    tf.destroy()
    assert snapshot(emu, KAURI) == before, "destroy did not touch them"
    assert not [x for x in leftovers(emu, KAURI) if not x.startswith(("bucket", "role", "parameter"))], leftovers(emu, KAURI)


@pytest.mark.parametrize("version", ["1.0", "1.15"])
def test_destroy_keeps_data_unless_told(version, fresh_emulator, workdir):
    emu = fresh_emulator
    kauri(workdir, emu)
    tf = Terraform(version, workdir, emu.endpoint)
    tf.init()
    tf.apply()
    out = tf.outputs()
    s3 = emu.client("s3")
    bucket = out["bucket_name"]
    s3.put_object(Bucket=bucket, Key="backups/db.dump", Body=b"x" * 100)
    s3.put_object(Bucket=bucket, Key="backups/db.dump", Body=b"y" * 100)
    # Destroy refused at plan: nothing deleted.
    objects = stack_object_tags(emu, KAURI)
    p = tf.destroy(check=False)
    assert p.returncode == 1
    err = " ".join(p.stderr.split())
    assert f"the bucket {bucket} holds 2 objects" in err and "force_destroy" in err, err
    assert stack_object_tags(emu, KAURI) == objects, "nothing was deleted"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["backups/db.dump"]
    # Opt in, then destroy: clean, with the data volume kept as a final
    # snapshot that the destroy names.
    ec2 = emu.client("ec2")
    vol = ec2.describe_volumes(Filters=[{"Name": "tag:awsstack:component", "Values": ["volume.data"]}, {"Name": "tag:awsstack:stack-id", "Values": [KAURI]}])["Volumes"][0]["VolumeId"]
    main = (workdir / "main.tf").read_text().replace("  data_volume_size = 80\n", "  data_volume_size = 80\n  force_destroy    = true\n")
    (workdir / "main.tf").write_text(main)
    tf.apply()
    p = tf.destroy()
    snaps = ec2.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "tag:awsstack:stack-id", "Values": [KAURI]}])["Snapshots"]
    assert len(snaps) == 1 and snaps[0]["VolumeId"] == vol and snaps[0]["State"] == "completed", snaps
    assert snaps[0]["SnapshotId"] in p.stdout + p.stderr and "final snapshot" in " ".join((p.stdout + p.stderr).split()), "the destroy names the kept snapshot"
    assert leftovers(emu, KAURI) == [], "the snapshot is the only thing left"
    # skip_final_snapshot leaves none.
    ec2.delete_snapshot(SnapshotId=snaps[0]["SnapshotId"])
    (workdir / "main.tf").write_text(main.replace("  force_destroy    = true\n", "  force_destroy    = true\n  skip_final_snapshot = true\n"))
    tf.apply()
    tf.destroy()
    assert ec2.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "tag:awsstack:stack-id", "Values": [KAURI]}])["Snapshots"] == []
    assert leftovers(emu, KAURI) == []


@pytest.mark.parametrize("version", ["1.0", "1.15"])
def test_rules_and_policies_added_by_others_are_left_alone(version, fresh_emulator, workdir):
    """Another tool adds a rule to the stack's security group and a policy
    to its role: the plan stays empty, apply leaves them, a rule that opens
    the database port to the internet gives a warning."""
    emu = fresh_emulator
    kauri(workdir, emu)
    tf = Terraform(version, workdir, emu.endpoint)
    tf.init()
    tf.apply()
    out = tf.outputs()
    ec2, iam = emu.client("ec2"), emu.client("iam")
    sg = out["security_group_id"]
    role = f"{KAURI}-host"
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.8.0.0/16"}]}])
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    p = tf.plan()
    assert p.returncode == 0, p.stdout
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    p = tf.plan()
    assert p.returncode == 0, p.stdout
    text = " ".join((p.stdout + p.stderr).split())  # as one line, however Terraform wraps it
    assert "Unsafe rule on a stack resource" in text and "port 5432 (PostgreSQL) to 0.0.0.0/0" in text, text
    # A change of the stack's own rules keeps the others'.
    (workdir / "test.auto.tfvars.json").write_text(json.dumps({**json.loads((workdir / "test.auto.tfvars.json").read_text()), "grafana_cidrs": ["198.51.100.0/24"]}))
    tf.apply()
    perms = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["IpPermissions"]
    atoms = {(p["FromPort"], r["CidrIp"]) for p in perms for r in p["IpRanges"]}
    assert {(443, "10.8.0.0/16"), (5432, "0.0.0.0/0"), (3000, "198.51.100.0/24"), (443, "0.0.0.0/0")} <= atoms, atoms
    assert (3000, "203.0.113.0/24") not in atoms
    assert "arn:aws:iam::aws:policy/ReadOnlyAccess" in [x["PolicyArn"] for x in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
    assert tf.plan().returncode == 0
    # The stack's own rule removed out of band is repaired.
    ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert tf.plan().returncode == 2
    tf.apply()
    perms = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["IpPermissions"]
    atoms = {(p["FromPort"], r["CidrIp"]) for p in perms for r in p["IpRanges"]}
    assert {(443, "0.0.0.0/0"), (443, "10.8.0.0/16")} <= atoms, atoms
    # Destroy removes the stack, the foreign rule goes with its group.
    iam.detach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    tf.destroy()
    assert leftovers(emu, KAURI) == []


@pytest.mark.parametrize("version", ["1.0", "1.15"])
def test_a_stack_is_not_moved_between_regions_silently(version, fresh_emulator, workdir):
    """The provider's region changed under a live stack: the plan refuses,
    naming both regions, and creates nothing in the new one (reading there
    would find nothing and build a second stack, orphaning the first)."""
    emu = fresh_emulator
    body = f'resource "awsstack_docker_host" "app" {{\n  project_name   = "moved"\n  ami_id         = "{moto_ami(emu)}"\n  enable_budgets = false\n}}\n'
    harness.write_config(workdir, body)
    tf = Terraform(version, workdir, emu.endpoint)
    tf.init()
    tf.apply()
    main = (workdir / "main.tf").read_text()
    (workdir / "main.tf").write_text(main.replace('region = "eu-west-1"', 'region = "eu-central-1"'))
    p = tf.plan()
    assert p.returncode == 1
    err = " ".join(p.stderr.split())
    assert "Stack in another region" in err and "are in eu-west-1" in err and "configured for eu-central-1" in err, err
    assert emu.client("ec2", "eu-central-1").describe_tags(Filters=[{"Name": "key", "Values": ["awsstack:stack-id"]}])["Tags"] == [], "nothing in the new region"
    (workdir / "main.tf").write_text(main)
    assert tf.plan().returncode == 0, "back in its region, nothing to do"
    tf.destroy()
    assert leftovers(emu, "moved-dev", budgets=False) == []
