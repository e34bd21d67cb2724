"""A stack in one configuration with hashicorp/aws 3.39.0 (the provider
existing modules are written against): resources of that provider attach a
policy to the stack's role, add rules to its security group and a route to
its route table. No tug of war: the second plan is empty on both Terraform
versions, and destroy is clean."""

import json

import pytest

from harness import Terraform, leftovers, moto_ami

STACK = "compose-dev"


def config(endpoint: str, ami: str, rogue: bool = False) -> str:
    services = ["ec2", "iam", "sts", "s3", "ssm"]
    endpoints = "\n".join(f'    {s} = "{endpoint}"' for s in services)
    rogue_rule = (
        """
resource "aws_security_group_rule" "rogue" {
  type              = "ingress"
  security_group_id = awsstack_docker_host.app.security_group_id
  from_port         = 5432
  to_port           = 5432
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
"""
        if rogue
        else ""
    )
    return f"""terraform {{
  required_providers {{
    awsstack = {{ source = "awsstack/awsstack" }}
    aws      = {{ source = "hashicorp/aws", version = "3.39.0" }}
  }}
}}

provider "awsstack" {{
  region = "eu-west-1"
}}

provider "aws" {{
  region                      = "eu-west-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_force_path_style         = true
  endpoints {{
{endpoints}
  }}
}}

resource "awsstack_docker_host" "app" {{
  project_name   = "compose"
  ami_id         = "{ami}"
  enable_budgets = false
}}

resource "aws_iam_role_policy_attachment" "read_only" {{
  role       = awsstack_docker_host.app.iam_role_name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}}

resource "aws_security_group_rule" "office" {{
  type              = "ingress"
  security_group_id = awsstack_docker_host.app.security_group_id
  from_port         = 8443
  to_port           = 8443
  protocol          = "tcp"
  cidr_blocks       = ["10.20.0.0/16"]
}}

resource "aws_security_group_rule" "https_from_partner" {{
  type              = "ingress"
  security_group_id = awsstack_docker_host.app.security_group_id
  from_port         = 443
  to_port           = 443
  protocol          = "tcp"
  cidr_blocks       = ["192.0.2.0/24"]
}}

resource "aws_route" "to_partner" {{
  route_table_id         = awsstack_docker_host.app.resource_ids["rtb.public"]
  destination_cidr_block = "172.16.0.0/16"
  gateway_id             = awsstack_docker_host.app.resource_ids["igw"]
}}
{rogue_rule}"""


@pytest.mark.parametrize("version", ["1.0", "1.15"])
def test_no_tug_of_war_with_hashicorp_aws(version, fresh_emulator, workdir):
    emu = fresh_emulator
    ami = moto_ami(emu)
    (workdir / "main.tf").write_text(config(emu.endpoint, ami))
    tf = Terraform(version, workdir, emu.endpoint)
    tf.init()
    lock = (workdir / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock and '"3.39.0"' in lock, lock
    tf.apply()
    for _ in range(2):
        p = tf.plan()
        assert p.returncode == 0, f"second plan not empty:\n{p.stdout}"
    ec2, iam = emu.client("ec2"), emu.client("iam")
    out = [r for r in tf.state()["values"]["root_module"]["resources"] if r["type"] == "awsstack_docker_host"][0]["values"]
    perms = ec2.describe_security_groups(GroupIds=[out["security_group_id"]])["SecurityGroups"][0]["IpPermissions"]
    atoms = {(p["FromPort"], r["CidrIp"]) for p in perms for r in p["IpRanges"]}
    assert {(8443, "10.20.0.0/16"), (443, "192.0.2.0/24"), (443, "0.0.0.0/0"), (80, "0.0.0.0/0")} <= atoms, atoms
    policies = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=out["iam_role_name"])["AttachedPolicies"]]
    assert "arn:aws:iam::aws:policy/ReadOnlyAccess" in policies and "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" in policies, policies
    routes = ec2.describe_route_tables(RouteTableIds=[out["resource_ids"]["rtb.public"]])["RouteTables"][0]["Routes"]
    assert {r.get("DestinationCidrBlock") for r in routes} >= {"0.0.0.0/0", "172.16.0.0/16"}, routes

    # A change to the stack leaves the others' additions.
    (workdir / "main.tf").write_text(config(emu.endpoint, ami).replace("  enable_budgets = false\n", '  enable_budgets = false\n  instance_type  = "t4g.medium"\n'))
    tf.apply()
    assert tf.plan().returncode == 0
    perms = ec2.describe_security_groups(GroupIds=[out["security_group_id"]])["SecurityGroups"][0]["IpPermissions"]
    assert {(8443, "10.20.0.0/16"), (443, "192.0.2.0/24")} <= {(p["FromPort"], r["CidrIp"]) for p in perms for r in p["IpRanges"]}

    # A rule opening the database port to the internet: a plan warning.
    (workdir / "main.tf").write_text(config(emu.endpoint, ami, rogue=True).replace("  enable_budgets = false\n", '  enable_budgets = false\n  instance_type  = "t4g.medium"\n'))
    tf.apply()
    p = tf.plan()
    assert p.returncode == 0, p.stdout
    text = " ".join((p.stdout + p.stderr).split())  # as one line, however Terraform wraps it
    assert "Unsafe rule on a stack resource" in text and "port 5432 (PostgreSQL) to 0.0.0.0/0" in text, text

    tf.destroy()
    assert leftovers(emu, STACK, budgets=False) == []
    print(f"Terraform {version}: hashicorp/aws 3.39.0 and awsstack converge; plans after apply are empty")
