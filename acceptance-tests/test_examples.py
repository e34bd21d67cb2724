"""The other seed examples apply and destroy cleanly, and a stack composes
with plain HCL: inside a module, under for_each and count, feeding other
resources, with `moved` and `import` blocks (Terraform 1.15)."""

import json

import pytest

from harness import Terraform, copy_example, leftovers, moto_ami


@pytest.mark.parametrize("example,stack", [("harena", "harena-dev"), ("koprogo", "koprogo-prod")])
def test_seed_example_applies_and_destroys(example, stack, fresh_emulator, workdir):
    emu = fresh_emulator
    work = copy_example(example, workdir / example)
    (work / "t.auto.tfvars.json").write_text(json.dumps({"ami_id": moto_ami(emu)}))
    tf = Terraform("1.15", work, emu.endpoint)
    tf.init()
    tf.apply()
    out = tf.outputs()
    sg_rules = None
    if example == "harena":
        sg = emu.client("ec2").describe_security_groups(GroupIds=[out["security_group_id"]])["SecurityGroups"][0]
        sg_rules = sorted(p["FromPort"] for p in sg["IpPermissions"])
        assert sg_rules == [80, 443], "only nginx's ports are public"
    else:
        assert out["ssh_command"].startswith("ssh ubuntu@")
        assert emu.client("scheduler").list_schedules(NamePrefix=stack).get("Schedules", []) == []
    assert tf.plan().returncode == 0
    tf.destroy()
    assert leftovers(emu, stack) == []


MODULE = """
terraform {
  required_providers {
    awsstack = { source = "awsstack/awsstack" }
  }
}
variable "name" { type = string }
variable "ami_id" { type = string }
resource "awsstack_docker_host" "this" {
  project_name      = var.name
  ami_id            = var.ami_id
  instance_type     = "t3.micro"
  enable_budgets    = false
  scheduler_enabled = false
  enable_alarms     = false
}
output "public_ip" { value = awsstack_docker_host.this.public_ip }
output "id" { value = awsstack_docker_host.this.id }
"""

ROOT = """
terraform {
  required_providers {
    awsstack = { source = "awsstack/awsstack" }
  }
}
provider "awsstack" {
  region = "eu-west-1"
}
variable "ami_id" { type = string }
module "hosts" {
  source   = "./modules/host"
  for_each = toset(["alpha", "beta"])
  name     = each.key
  ami_id   = var.ami_id
}
resource "awsstack_docker_host" "%(name)s" {
  count             = 1
  project_name      = "gamma"
  ami_id            = var.ami_id
  instance_type     = "t3.micro"
  enable_budgets    = false
  scheduler_enabled = false
  # attributes of one stack feed another
  ssh_ingress_cidrs = ["${module.hosts["alpha"].public_ip}/32"]
}
output "ips" { value = { for k, m in module.hosts : k => m.public_ip } }
%(extra)s
"""


def test_composes_with_modules_for_each_count_moved_and_import(fresh_emulator, workdir):
    emu = fresh_emulator
    ami = moto_ami(emu)
    (workdir / "modules" / "host").mkdir(parents=True)
    (workdir / "modules" / "host" / "main.tf").write_text(MODULE)
    (workdir / "t.auto.tfvars.json").write_text(json.dumps({"ami_id": ami}))
    (workdir / "main.tf").write_text(ROOT % {"name": "gamma", "extra": ""})
    tf = Terraform("1.15", workdir, emu.endpoint)
    tf.init()
    tf.apply()
    ips = tf.outputs()["ips"]
    assert set(ips) == {"alpha", "beta"} and all(ips.values())
    sg = emu.client("ec2").describe_security_groups(Filters=[{"Name": "tag:awsstack:stack-id", "Values": ["gamma-dev"]}])["SecurityGroups"][0]
    ssh = [p for p in sg["IpPermissions"] if p["FromPort"] == 22][0]
    assert ssh["IpRanges"][0]["CidrIp"] == ips["alpha"] + "/32"
    # `moved`: renaming the resource moves the state, nothing is replaced.
    (workdir / "main.tf").write_text(ROOT % {"name": "gamma2", "extra": 'moved {\n  from = awsstack_docker_host.gamma\n  to   = awsstack_docker_host.gamma2\n}'})
    assert tf.resource_actions() == {}
    tf.apply()
    # `import` block: forget alpha's state, import it back by stack id.
    tf.run("state", "rm", 'module.hosts["alpha"].awsstack_docker_host.this')
    (workdir / "main.tf").write_text(ROOT % {"name": "gamma2", "extra": 'import {\n  to = module.hosts["alpha"].awsstack_docker_host.this\n  id = "alpha-dev"\n}'})
    p = tf.run("plan", "-no-color")
    assert "1 to import, 0 to add, 0 to change, 0 to destroy" in p.stdout, p.stdout
    tf.apply()
    tf.destroy()
    for s in ("alpha-dev", "beta-dev", "gamma-dev"):
        assert leftovers(emu, s) == [], s
