"""Credentials that never reach the state (ephemeral resources, Terraform
1.10+): `awsstack_database_credentials` opens the container service's
database credentials at run time and hands them to another stack's
write-only argument (a Docker host worker's `DATABASE_URL` parameter); the
value arrives in AWS and appears in no plan, state or output."""

import json

import harness
from harness import Terraform, copy_example, leftovers, moto_ami

CONSUMER = """
variable "worker_ami" {
  type = string
}

ephemeral "awsstack_database_credentials" "db" {
  stack_id = awsstack_container_service.app.id
}

# The worker's own provider: the seed's default tags (lowercase project,
# env, owner) would clash with a Docker host's Project/Environment tags,
# which IAM compares without case.
provider "awsstack" {
  alias  = "worker"
  region = var.aws_region
}

resource "awsstack_docker_host" "worker" {
  provider                  = awsstack.worker
  project_name              = "worker"
  ami_id                    = var.worker_ami
  enable_budgets            = false
  ssm_parameters_wo         = { DATABASE_URL = ephemeral.awsstack_database_credentials.db.url }
  ssm_parameters_wo_version = 1
}
"""


def test_database_credentials_reach_a_write_only_argument_and_no_state(fresh_emulator, workdir):
    emu = fresh_emulator
    work = copy_example("kavak", workdir / "kavak")
    (work / "consumer.tf").write_text(CONSUMER)
    (work / "t.auto.tfvars.json").write_text(json.dumps({"aws_region": harness.REGION, "worker_ami": moto_ami(emu)}))
    tf = Terraform("1.15", work, emu.endpoint)
    tf.init()
    # Under the seed's provider, the worker's tags would clash without case:
    # refused at plan, on `tags`, before anything is created.
    (work / "consumer.tf").write_text(CONSUMER.replace("  provider                  = awsstack.worker\n", ""))
    p = tf.plan()
    err = " ".join(p.stderr.split())
    assert p.returncode == 1 and "Tag keys differ only in case" in err and '"project"' in err and '"Project"' in err, p.stdout + p.stderr
    (work / "consumer.tf").write_text(CONSUMER)
    tf.apply()
    secret = json.loads(emu.client("secretsmanager").get_secret_value(SecretId="kavak-agent-dev-db-credentials")["SecretString"])
    assert secret["password"] and secret["url"].startswith("postgresql://")
    stored = emu.client("ssm").get_parameter(Name="/worker/DATABASE_URL", WithDecryption=True)["Parameter"]["Value"]
    assert stored == secret["url"], "the worker got the service's database URL"
    state = (work / "terraform.tfstate").read_text()
    assert secret["password"] not in state, "the password never reaches the state"
    p = tf.plan()
    assert p.returncode == 0, p.stdout
    assert secret["password"] not in p.stdout + p.stderr

    # A stack that does not exist is named, on stack_id, and applying
    # against it fails rather than write anything unknown.
    (work / "consumer.tf").write_text(CONSUMER.replace("awsstack_container_service.app.id", '"ghost-dev"').replace("ssm_parameters_wo_version = 1", "ssm_parameters_wo_version = 2"))
    p = tf.plan()
    out = " ".join((p.stdout + p.stderr).split())
    assert 'stack "ghost-dev"' in out, out
    p = tf.apply(check=False)
    assert p.returncode == 1, p.stdout
    assert emu.client("ssm").get_parameter(Name="/worker/DATABASE_URL", WithDecryption=True)["Parameter"]["Value"] == secret["url"]

    (work / "consumer.tf").write_text(CONSUMER)
    tf.destroy()
    assert leftovers(emu, "kavak-agent-dev") == [] and leftovers(emu, "worker-dev") == []
