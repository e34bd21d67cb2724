"""Bad input: an attribute diagnostic at validate/plan time, and nothing
created in AWS."""

import pytest

from fault_proxy import FaultProxy
from harness import Terraform, leftovers, write_config

# The only call a plan with bad input may make: the provider's credential
# check when Terraform configures it.
ALLOWED_CALLS = {"GetCallerIdentity"}


@pytest.fixture
def counting_proxy(fresh_emulator):
    p = FaultProxy(fresh_emulator.endpoint).start()
    yield p
    p.stop()

CASES = [
    # (attribute HCL, expected summary, attribute named in the diagnostic snippet)
    ('vpc_cidr = "10.0.0.0/33"', "Invalid VPC CIDR block", "vpc_cidr"),
    ('public_subnet_cidr = "10.9.0.0/25"', "Subnet does not fit the VPC", "public_subnet_cidr"),
    ('instance_type = "large"', "Invalid instance type", "instance_type"),
    ('scheduler_start_expression = "cron(0 7 * * MON-FRI)"', "Invalid schedule expression", "scheduler_start_expression"),
    ('scheduler_timezone = "Europe/Pariss"', "Invalid time zone", "scheduler_timezone"),
    ('budget_notification_emails = ["ops@example.com", "not-an-email"]', "Invalid e-mail address", "budget_notification_emails"),
    ('port {\n    port = 70000\n    cidr_blocks = ["10.0.0.0/8"]\n  }', "Invalid port", "port"),
    ('port {\n    port = 5432\n    cidr_blocks = ["0.0.0.0/0"]\n  }', "Database port open to the internet", "cidr_blocks"),
    ('bucket_name = "Kauri_Backups"', "Invalid bucket name", "bucket_name"),
    ('ssh_ingress_cidrs = ["1.2.3.4"]', "Invalid CIDR block", "ssh_ingress_cidrs"),
    ('data_volume_size = -5', "Value out of range", "data_volume_size"),
    ('timeouts {\n    create = "soon"\n  }', "Invalid timeout", "create"),
]

EMPTY_PROJECT = ('project_name = ""', "Invalid project name", "project_name")


def write(work, body, project='"badinput"'):
    write_config(work, f'resource "awsstack_docker_host" "x" {{\n  project_name = {project}\n  ami_id       = "ami-12c6146b"\n  {body}\n}}\n')


@pytest.mark.parametrize("case", CASES + [EMPTY_PROJECT], ids=lambda c: c[1].replace(" ", "_") + ":" + c[2])
def test_bad_input_is_an_attribute_diagnostic(case, fresh_emulator, counting_proxy, workdir):
    body, summary, attr = case
    if body.startswith("project_name"):
        write(workdir, "", project='""')
    else:
        write(workdir, body)
    tf = Terraform("1.15", workdir, counting_proxy.endpoint)
    tf.init()
    for cmd in (["validate", "-no-color"], ["plan", "-no-color"]):
        p = tf.run(*cmd, check=False)
        assert p.returncode == 1, p.stdout + p.stderr
        assert f"Error: {summary}" in p.stderr, p.stderr
        # The diagnostic points at the attribute: Terraform prints its line.
        assert attr in p.stderr.split(f"Error: {summary}")[1], p.stderr
        assert "panic" not in p.stderr.lower()
    # No AWS call beyond the credential check, and nothing was created.
    assert set(counting_proxy.calls) <= ALLOWED_CALLS, counting_proxy.calls
    assert leftovers(fresh_emulator, "badinput-dev") == []


def test_bad_input_on_terraform_1_0(fresh_emulator, workdir):
    write(workdir, 'vpc_cidr = "banana"')
    tf = Terraform("1.0", workdir, fresh_emulator.endpoint)
    tf.init()
    p = tf.run("plan", "-no-color", check=False)
    assert p.returncode == 1
    assert "Error: Invalid VPC CIDR block" in p.stderr and "vpc_cidr" in p.stderr
    assert leftovers(fresh_emulator, "badinput-dev") == []


def test_shrinking_data_volume_is_refused_before_any_change(fresh_emulator, workdir):
    """A plan-time check that needs the prior state."""
    write(workdir, "data_volume_size = 20\n  enable_budgets = false\n  scheduler_enabled = false")
    tf = Terraform("1.15", workdir, fresh_emulator.endpoint)
    tf.init()
    tf.apply()
    write(workdir, "data_volume_size = 10\n  enable_budgets = false\n  scheduler_enabled = false")
    p = tf.run("plan", "-no-color", check=False)
    assert p.returncode == 1 and "Error: Data volume cannot shrink" in p.stderr and "data_volume_size" in p.stderr
    ec2 = fresh_emulator.client("ec2")
    vols = ec2.describe_volumes(Filters=[{"Name": "tag:awsstack:component", "Values": ["volume.data"]}])["Volumes"]
    assert [v["Size"] for v in vols] == [20], "nothing changed"
    write(workdir, "data_volume_size = 20\n  enable_budgets = false\n  scheduler_enabled = false")
    tf.destroy()
    assert leftovers(fresh_emulator, "badinput-dev") == []


CONTAINER_CASES = [
    ("cpu = 256\n  memory = 4096", "CPU and memory Fargate rejects", "memory"),
    ('db_engine_version = "fifteen"', "Invalid engine version", "db_engine_version"),
    ('public_subnet_cidrs = ["10.0.0.0/24", "10.0.1.0/24"]\n  private_subnet_cidrs = ["10.0.0.0/25", "10.0.2.0/24"]', "Overlapping subnets", "private_subnet_cidrs"),
    ('vpc_cidr = "10.0.0.0/16"\n  public_subnet_cidrs = ["10.1.0.0/24", "10.0.1.0/24"]', "Subnet does not fit the VPC", "public_subnet_cidrs"),
    ("desired_count = -1", "Value out of range", "desired_count"),
    ('health_check_path = "health"', "Invalid health check path", "health_check_path"),
    ('app_secrets = ["openai api key"]', "Invalid secret name", "app_secrets"),
    ('profile = "prod"', "Invalid profile", "profile"),
]


def write_container(work, body):
    write_config(work, f'resource "awsstack_container_service" "x" {{\n  project_name = "badinput"\n  {body}\n}}\n')


@pytest.mark.parametrize("case", CONTAINER_CASES, ids=lambda c: c[1].replace(" ", "_") + ":" + c[2])
def test_container_service_bad_input(case, fresh_emulator, counting_proxy, workdir):
    body, summary, attr = case
    write_container(workdir, body)
    tf = Terraform("1.15", workdir, counting_proxy.endpoint)
    tf.init()
    for cmd in (["validate", "-no-color"], ["plan", "-no-color"]):
        p = tf.run(*cmd, check=False)
        assert p.returncode == 1, p.stdout + p.stderr
        assert f"Error: {summary}" in p.stderr, p.stderr
        assert attr in p.stderr.split(f"Error: {summary}")[1], p.stderr
        assert "panic" not in p.stderr.lower()
    assert set(counting_proxy.calls) <= ALLOWED_CALLS, counting_proxy.calls
    assert leftovers(fresh_emulator, "badinput-dev") == []
