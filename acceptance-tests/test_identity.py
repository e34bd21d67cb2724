"""Resource identity (protocol 6.9, Terraform 1.12+): every stack carries
its account, region and stack id as its identity in the state, and a lost
state is rebuilt with `import { to = ..., identity = { stack_id = ... } }`,
planning no change. A wrong region in the identity is refused on that
attribute, importing nothing. Terraform 1.0 never sees identities and keeps
importing by id (test_docker_host.py)."""

import json

import harness
from harness import Terraform, copy_example, leftovers, moto_ami

STACK = "kauri-demo"


def instance_identity(tf) -> dict:
    state = json.loads((tf.workdir / "terraform.tfstate").read_text())
    (res,) = [r for r in state["resources"] if r["type"] == "awsstack_docker_host"]
    return res["instances"][0].get("identity")


def test_a_lost_state_is_rebuilt_by_identity(fresh_emulator, workdir):
    emu = fresh_emulator
    work = copy_example("kauri", workdir / "kauri")
    (work / "t.auto.tfvars.json").write_text(json.dumps({"ami_id": moto_ami(emu)}))
    tf = Terraform("1.15", work, emu.endpoint)
    tf.init()
    tf.apply()
    assert instance_identity(tf) == {"account_id": "123456789012", "region": harness.REGION, "stack_id": STACK}
    instance = tf.outputs()["instance_id"]
    assert tf.plan().returncode == 0

    # The state is lost: a fresh directory, an import block naming the
    # stack by identity, nothing else.
    work2 = copy_example("kauri", workdir / "rebuilt")
    (work2 / "t.auto.tfvars.json").write_text((work / "t.auto.tfvars.json").read_text())
    tf2 = Terraform("1.15", work2, emu.endpoint)
    tf2.init()

    (work2 / "import.tf").write_text(f'import {{\n  to = awsstack_docker_host.kauri\n  identity = {{\n    stack_id = "{STACK}"\n    region   = "us-west-2"\n  }}\n}}\n')
    p = tf2.plan()
    err = " ".join(p.stderr.split())
    assert p.returncode == 1 and "Stack in another region" in err and "us-west-2" in err, p.stdout + p.stderr

    (work2 / "import.tf").write_text(f'import {{\n  to = awsstack_docker_host.kauri\n  identity = {{\n    stack_id = "{STACK}"\n  }}\n}}\n')
    p = tf2.plan()
    assert p.returncode == 2, p.stdout + p.stderr
    assert "1 to import, 0 to add, 0 to change, 0 to destroy" in p.stdout, p.stdout
    tf2.apply()
    assert tf2.outputs()["instance_id"] == instance
    assert instance_identity(tf2) == {"account_id": "123456789012", "region": harness.REGION, "stack_id": STACK}
    (work2 / "import.tf").unlink()
    assert tf2.plan().returncode == 0

    tf2.destroy()
    assert leftovers(emu, STACK) == []


def test_terraform_query_lists_every_stack_and_generates_config_that_plans_no_change(fresh_emulator, workdir):
    """`terraform query` with a `list` block finds the account's Docker
    hosts by their manifests (not another type's), and
    `-generate-config-out` writes import and resource blocks that import
    the stack with no change: a lost state rebuilt in one command."""
    emu = fresh_emulator
    work = copy_example("kauri", workdir / "kauri")
    # No secrets: Terraform writes a sensitive attribute of generated
    # configuration as null, so a stack with SSM parameters gets them back
    # from the user (README), not from generated.tf.
    (work / "t.auto.tfvars.json").write_text(json.dumps({"ami_id": moto_ami(emu), "ssm_parameters": None}))
    tf = Terraform("1.15", work, emu.endpoint)
    tf.init()
    tf.apply()
    instance = tf.outputs()["instance_id"]
    # Another type's manifest (tagged as a stack's), and a parameter under
    # the path that no stack wrote (no stack-id tag).
    ssm = emu.client("ssm")
    service = json.dumps({"project_name": "billing", "env": "dev", "profile": "ephemeral"})
    ssm.put_parameter(Name="/stacks/awsstack/billing-dev/manifest", Type="String", Value=service, Tags=[{"Key": "awsstack:stack-id", "Value": "billing-dev"}])
    ssm.put_parameter(Name="/stacks/awsstack/forged-dev/manifest", Type="String", Value=service)

    rebuilt = workdir / "rebuilt"
    rebuilt.mkdir()
    for f in ("versions.tf", "variables.tf"):
        (rebuilt / f).write_text((work / f).read_text())
    (rebuilt / "all.tfquery.hcl").write_text('list "awsstack_docker_host" "all" {\n  provider         = awsstack\n  include_resource = true\n}\n')
    (rebuilt / "services.tfquery.hcl").write_text('list "awsstack_container_service" "all" {\n  provider = awsstack\n}\n')
    tf2 = Terraform("1.15", rebuilt, emu.endpoint)
    tf2.init()
    q = tf2.run("query", "-no-color")
    assert "list.awsstack_docker_host.all" in q.stdout and f"{STACK} (awsstack_docker_host in {harness.REGION})" in q.stdout, q.stdout
    rows = [line.split() for line in q.stdout.splitlines() if line.startswith("list.")]
    listed = {(r[0], r[1].rsplit("stack_id=", 1)[1]) for r in rows}
    assert listed == {("list.awsstack_docker_host.all", STACK), ("list.awsstack_container_service.all", "billing-dev")}, q.stdout

    (rebuilt / "services.tfquery.hcl").unlink()
    tf2.run("query", "-no-color", "-generate-config-out=generated.tf")
    generated = (rebuilt / "generated.tf").read_text()
    assert "import {" in generated and 'stack_id   = "kauri-demo"' in generated.replace("stack_id =", "stack_id   ="), generated
    for f in rebuilt.glob("*.tfquery.hcl"):
        f.unlink()
    p = tf2.plan()
    assert p.returncode == 2 and "1 to import, 0 to add, 0 to change, 0 to destroy" in p.stdout, p.stdout + p.stderr
    tf2.apply()
    assert tf2.outputs() == {} and tf2.plan().returncode == 0
    state = json.loads((rebuilt / "terraform.tfstate").read_text())
    (res,) = [r for r in state["resources"] if r["type"] == "awsstack_docker_host"]
    assert res["instances"][0]["attributes"]["instance_id"] == instance

    tf2.destroy()
    assert leftovers(emu, STACK) == []
