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
