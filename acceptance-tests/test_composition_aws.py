"""A stack in one configuration with hashicorp/aws 3.39.0 (the provider
existing modules are written against): resources of that provider attach a
policy to the stack's role, add rules to its security group, a route to its
route table and a queue's subscription to its alerts topic. No tug of war: the second plan is empty on both Terraform
versions, and destroy is clean. And a VPC module written with hashicorp/aws
feeds both stacks (existing network), in a module instantiated with
`for_each`, whose outputs hashicorp/aws resources consume."""

import json

import pytest

from harness import Terraform, container_leftovers, leftovers, moto_ami, network_snapshot

STACK = "compose-dev"


def providers(endpoint: str, services: list[str]) -> str:
    """Both providers against the emulator: hashicorp/aws 3.39.0 with an
    endpoint per service the configuration uses."""
    endpoints = "\n".join(f'    {s} = "{endpoint}"' for s in services)
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
"""


def config(endpoint: str, ami: str, rogue: bool = False) -> str:
    services = ["ec2", "iam", "sts", "s3", "ssm", "sns", "sqs"]
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
    return providers(endpoint, services) + f"""
resource "awsstack_docker_host" "app" {{
  project_name   = "compose"
  ami_id         = "{ami}"
  enable_budgets = false
  budget_notification_emails = ["ops@compose.example"]
}}

resource "aws_sqs_queue" "audit" {{
  name = "compose-audit"
}}

resource "aws_sns_topic_subscription" "audit" {{
  topic_arn = awsstack_docker_host.app.sns_topic_arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.audit.arn
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

    sns = emu.client("sns")

    def subscribers():
        subs = sns.list_subscriptions_by_topic(TopicArn=out["sns_topic_arn"])["Subscriptions"]
        return sorted((s["Protocol"], s["Endpoint"]) for s in subs)

    queue = ("sqs", "arn:aws:sqs:eu-west-1:123456789012:compose-audit")
    assert subscribers() == [("email", "ops@compose.example"), queue], subscribers()

    # A change to the stack leaves the others' additions: another address
    # replaces the stack's, and the queue stays subscribed.
    changed = config(emu.endpoint, ami).replace("  enable_budgets = false\n", '  enable_budgets = false\n  instance_type  = "t4g.medium"\n')
    (workdir / "main.tf").write_text(changed.replace("ops@compose.example", "oncall@compose.example"))
    tf.apply()
    assert tf.plan().returncode == 0
    perms = ec2.describe_security_groups(GroupIds=[out["security_group_id"]])["SecurityGroups"][0]["IpPermissions"]
    assert {(8443, "10.20.0.0/16"), (443, "192.0.2.0/24")} <= {(p["FromPort"], r["CidrIp"]) for p in perms for r in p["IpRanges"]}
    assert subscribers() == [("email", "oncall@compose.example"), queue], subscribers()

    # A rule opening the database port to the internet: a plan warning.
    rogue = config(emu.endpoint, ami, rogue=True).replace("  enable_budgets = false\n", '  enable_budgets = false\n  instance_type  = "t4g.medium"\n')
    (workdir / "main.tf").write_text(rogue.replace("ops@compose.example", "oncall@compose.example"))
    tf.apply()
    p = tf.plan()
    assert p.returncode == 0, p.stdout
    text = " ".join((p.stdout + p.stderr).split())  # as one line, however Terraform wraps it
    assert "Unsafe rule on a stack resource" in text and "port 5432 (PostgreSQL) to 0.0.0.0/0" in text, text

    tf.destroy()
    assert leftovers(emu, STACK, budgets=False) == []
    print(f"Terraform {version}: hashicorp/aws 3.39.0 and awsstack converge; plans after apply are empty")


# A VPC module written with hashicorp/aws resources, as teams write them.
NETWORK_MODULE = """terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "cidr" { type = string }

locals {
  zones = ["eu-west-1a", "eu-west-1b"]
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr
  enable_dns_hostnames = true
  tags                 = { Name = "shared", team = "network" }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
}

resource "aws_subnet" "public" {
  count                   = 2
  vpc_id                  = aws_vpc.this.id
  cidr_block              = cidrsubnet(var.cidr, 8, count.index)
  availability_zone       = local.zones[count.index]
  map_public_ip_on_launch = true
  tags                    = { team = "network", tier = "public" }
}

resource "aws_subnet" "private" {
  count             = 2
  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(var.cidr, 8, 10 + count.index)
  availability_zone = local.zones[count.index]
  tags              = { team = "network", tier = "private" }
}

resource "aws_eip" "nat" {
  vpc = true
}

resource "aws_nat_gateway" "this" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.public[0].id
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id
  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.this.id
  }
}

resource "aws_route_table_association" "public" {
  count          = 2
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table_association" "private" {
  count          = 2
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

output "vpc_id" { value = aws_vpc.this.id }
output "public_subnet_ids" { value = aws_subnet.public[*].id }
output "private_subnet_ids" { value = aws_subnet.private[*].id }
output "route_table_ids" { value = [aws_route_table.public.id, aws_route_table.private.id] }
"""

# Both stacks in one module, consumed by hashicorp/aws resources.
APP_MODULE = """terraform {
  required_providers {
    aws      = { source = "hashicorp/aws" }
    awsstack = { source = "awsstack/awsstack" }
  }
}

variable "name" { type = string }
variable "ami" { type = string }
variable "zone_id" { type = string }
variable "vpc_id" { type = string }
variable "public_subnet_ids" { type = list(string) }
variable "private_subnet_ids" { type = list(string) }

resource "awsstack_container_service" "api" {
  project_name       = var.name
  vpc_id             = var.vpc_id
  public_subnet_ids  = var.public_subnet_ids
  private_subnet_ids = var.private_subnet_ids
}

resource "awsstack_docker_host" "tools" {
  project_name   = "${var.name}-tools"
  ami_id         = var.ami
  enable_budgets = false
  vpc_id         = var.vpc_id
  subnet_id      = var.public_subnet_ids[0]
}

resource "aws_route53_record" "api" {
  zone_id = var.zone_id
  name    = "${var.name}.example.test"
  type    = "CNAME"
  ttl     = 60
  records = [awsstack_container_service.api.alb_dns_name]
}

resource "aws_route53_record" "tools" {
  zone_id = var.zone_id
  name    = "tools.${var.name}.example.test"
  type    = "A"
  ttl     = 60
  records = [awsstack_docker_host.tools.public_ip]
}

resource "aws_security_group_rule" "grafana_from_tasks" {
  type                     = "ingress"
  security_group_id        = awsstack_docker_host.tools.security_group_id
  from_port                = 3000
  to_port                  = 3000
  protocol                 = "tcp"
  source_security_group_id = awsstack_container_service.api.ecs_security_group_id
}

resource "aws_ssm_parameter" "api_url" {
  name  = "/${var.name}/api-url"
  type  = "String"
  value = "http://${awsstack_container_service.api.alb_dns_name}"
}

resource "aws_iam_role_policy_attachment" "tools_read_only" {
  role       = awsstack_docker_host.tools.iam_role_name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

output "alb_dns_name" { value = awsstack_container_service.api.alb_dns_name }
output "tools_sg" { value = awsstack_docker_host.tools.security_group_id }
output "tools_role" { value = awsstack_docker_host.tools.iam_role_name }
output "tools_subnet" { value = awsstack_docker_host.tools.subnet_id }
"""


def root_config(endpoint: str, ami: str) -> str:
    services = ["ec2", "iam", "sts", "s3", "ssm", "route53"]
    return providers(endpoint, services) + f"""
module "network" {{
  source = "./modules/network"
  cidr   = "10.50.0.0/16"
}}

resource "aws_route53_zone" "main" {{
  name = "example.test"
}}

module "app" {{
  source   = "./modules/app"
  for_each = toset(["alpha", "beta"])

  name               = each.key
  ami                = "{ami}"
  zone_id            = aws_route53_zone.main.zone_id
  vpc_id             = module.network.vpc_id
  public_subnet_ids  = module.network.public_subnet_ids
  private_subnet_ids = module.network.private_subnet_ids
}}

output "network" {{
  value = {{
    vpc     = module.network.vpc_id
    public  = module.network.public_subnet_ids
    private = module.network.private_subnet_ids
    tables  = module.network.route_table_ids
  }}
}}

output "apps" {{
  value = {{ for k, m in module.app : k => m }}
}}
"""


def network_view(emu, net: dict) -> dict:
    return network_snapshot(emu, net["vpc"], net["public"] + net["private"], net["tables"])


@pytest.mark.parametrize("version", ["1.0", "1.15"])
def test_vpc_module_feeds_both_stacks_in_for_each(version, fresh_emulator, workdir):
    emu = fresh_emulator
    ami = moto_ami(emu)
    for name, text in (("network", NETWORK_MODULE), ("app", APP_MODULE)):
        (workdir / "modules" / name).mkdir(parents=True, exist_ok=True)
        (workdir / "modules" / name / "main.tf").write_text(text)
    (workdir / "main.tf").write_text(root_config(emu.endpoint, ami))
    tf = Terraform(version, workdir, emu.endpoint)
    tf.init()
    tf.apply()
    out = tf.outputs()
    net, apps = out["network"], out["apps"]
    before = network_view(emu, net)
    assert all(k != "awsstack:stack-id" for k, _ in before["vpc"][1]), "the stacks never tag the module's VPC"
    ec2, iam, r53, ssm = emu.client("ec2"), emu.client("iam"), emu.client("route53"), emu.client("ssm")
    for name, app in apps.items():
        assert app["tools_subnet"] == net["public"][0]
        lb = [x for x in emu.client("elbv2").describe_load_balancers()["LoadBalancers"] if x["DNSName"] == app["alb_dns_name"]][0]
        assert lb["VpcId"] == net["vpc"]
        sg = ec2.describe_security_groups(GroupIds=[app["tools_sg"]])["SecurityGroups"][0]
        assert sg["VpcId"] == net["vpc"] and 3000 in {p.get("FromPort") for p in sg["IpPermissions"]}
        assert "arn:aws:iam::aws:policy/ReadOnlyAccess" in [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=app["tools_role"])["AttachedPolicies"]]
        assert ssm.get_parameter(Name=f"/{name}/api-url")["Parameter"]["Value"] == f"http://{app['alb_dns_name']}"
    zone = r53.list_hosted_zones_by_name(DNSName="example.test")["HostedZones"][0]["Id"]
    names = {r["Name"] for r in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]}
    assert {"alpha.example.test.", "beta.example.test.", "tools.alpha.example.test."} <= names, names
    # The stacks made no network of their own.
    for stack in ("alpha-dev", "beta-dev", "alpha-tools-dev", "beta-tools-dev"):
        assert ec2.describe_vpcs(Filters=[{"Name": "tag:awsstack:stack-id", "Values": [stack]}])["Vpcs"] == []

    for _ in range(2):
        p = tf.plan()
        assert p.returncode == 0, f"second plan not empty:\n{p.stdout}"
    assert network_view(emu, net) == before

    # Destroy the stacks first and look at the network they leave.
    targets = [f"-target=module.app[\"{k}\"]" for k in apps]
    tf.destroy(*targets)
    assert network_view(emu, net) == before, "the stacks' destroy left the module's network as it was"
    for stack in ("alpha-dev", "beta-dev"):
        assert container_leftovers(emu, stack) == []
    for stack in ("alpha-tools-dev", "beta-tools-dev"):
        assert leftovers(emu, stack, budgets=False) == []
    tf.destroy()
    assert net["vpc"] not in [v["VpcId"] for v in emu.client("ec2").describe_vpcs()["Vpcs"]], "the module's own destroy removed its network"
