"""Write-only secrets (Terraform >= 1.11): the value reaches AWS and
nothing else — not the state, not a saved plan, not `TF_LOG=trace`; a new
`_wo_version` is what sends a new value. Terraform 1.0.3, which would store
it, gets a diagnostic naming the attribute and the version needed."""

import json

import pytest

from harness import Terraform, container_leftovers, leftovers, moto_ami, write_config

FIRST, SECOND = "wo-first-value-5c1e0a77", "wo-rotated-value-9b24f3d1"


def host(ami: str, version: int, ephemeral: bool = True) -> str:
    # An ephemeral variable (1.10+) is the usual source of a write-only value.
    eph = "\n  ephemeral = true" if ephemeral else ""
    return f"""variable "api_key" {{
  type      = string
  sensitive = true{eph}
}}

resource "awsstack_docker_host" "box" {{
  project_name              = "wobox"
  ami_id                    = "{ami}"
  enable_budgets            = false
  skip_final_snapshot       = true
  ssm_parameters_wo         = {{ API_KEY = var.api_key }}
  ssm_parameters_wo_version = {version}
}}
"""


def test_write_only_parameter_never_in_state_plan_or_logs(fresh_emulator, workdir):
    emu = fresh_emulator
    ami = moto_ami(emu)
    log = workdir / "trace.log"
    write_config(workdir, host(ami, 1))
    tf = Terraform("1.15", workdir, emu.endpoint, {"TF_LOG": "trace", "TF_LOG_PATH": str(log)})
    tf.init()
    env = {"TF_VAR_api_key": FIRST}
    tf.run("plan", "-no-color", "-out=first.tfplan", env=env)
    shown = tf.run("show", "-json", "first.tfplan").stdout
    applied = tf.run("apply", "-no-color", "-auto-approve", "first.tfplan", env=env)
    ssm = emu.client("ssm")
    assert ssm.get_parameter(Name="/wobox/API_KEY", WithDecryption=True)["Parameter"]["Value"] == FIRST
    state = (workdir / "terraform.tfstate").read_text()
    res = json.loads(state)["resources"][0]["instances"][0]
    assert res["attributes"]["ssm_parameters_wo"] is None and res["attributes"]["ssm_parameters_wo_version"] == 1
    provider_lines = "\n".join(x for x in log.read_text().splitlines() if "terraform-provider-awsstack" in x)
    assert "creating" in provider_lines, "the provider did log at trace level"
    for where, text in (("state", state), ("saved plan", shown), ("trace log", log.read_text()), ("apply output", applied.stdout + applied.stderr)):
        assert FIRST not in text, f"the write-only value is in the {where}"

    # Terraform does not compare write-only values: a new value alone
    # changes nothing; a new version sends it.
    p = tf.plan(env={"TF_VAR_api_key": SECOND})
    assert p.returncode == 0, p.stdout
    write_config(workdir, host(ami, 2))
    p = tf.plan(env={"TF_VAR_api_key": SECOND})
    assert p.returncode == 2 and "update param.API_KEY (ssm_parameter): value_version" in p.stdout, p.stdout
    tf.apply(env={"TF_VAR_api_key": SECOND})
    assert ssm.get_parameter(Name="/wobox/API_KEY", WithDecryption=True)["Parameter"]["Value"] == SECOND
    state = (workdir / "terraform.tfstate").read_text()
    assert SECOND not in state and FIRST not in state and SECOND not in log.read_text()
    assert tf.plan(env={"TF_VAR_api_key": SECOND}).returncode == 0
    tf.destroy(env={"TF_VAR_api_key": SECOND})
    assert leftovers(emu, "wobox-dev") == []


def test_write_only_is_refused_by_terraform_before_1_11(fresh_emulator, workdir):
    emu = fresh_emulator
    write_config(workdir, host(moto_ami(emu), 1, ephemeral=False))
    tf = Terraform("1.0", workdir, emu.endpoint)
    tf.init()
    p = tf.run("plan", "-no-color", check=False, env={"TF_VAR_api_key": FIRST})
    assert p.returncode == 1
    err = " ".join(p.stderr.split())
    assert "Write-only argument needs Terraform 1.11" in err and "ssm_parameters_wo" in err and "use `ssm_parameters` instead" in err, p.stderr
    assert FIRST not in p.stdout + p.stderr
    assert not (workdir / "terraform.tfstate").exists() or FIRST not in (workdir / "terraform.tfstate").read_text()
    assert leftovers(emu, "wobox-dev") == []


SERVICE = """variable "openai" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "awsstack_container_service" "app" {
  project_name                 = "wosvc"
  app_secrets                  = ["openai-api-key"]
  app_secret_values_wo         = { "openai-api-key" = var.openai }
  app_secret_values_wo_version = VERSION
}
"""


def test_write_only_app_secret(fresh_emulator, workdir):
    emu = fresh_emulator
    write_config(workdir, SERVICE.replace("VERSION", "1"))
    log = workdir / "trace.log"
    tf = Terraform("1.15", workdir, emu.endpoint, {"TF_LOG": "trace", "TF_LOG_PATH": str(log)})
    tf.init()
    tf.run("plan", "-no-color", "-out=first.tfplan", env={"TF_VAR_openai": FIRST})
    shown = tf.run("show", "-json", "first.tfplan").stdout
    tf.run("apply", "-no-color", "-auto-approve", "first.tfplan", env={"TF_VAR_openai": FIRST})
    sm = emu.client("secretsmanager")
    assert sm.get_secret_value(SecretId="wosvc-dev-openai-api-key")["SecretString"] == FIRST
    for where, text in (("state", (workdir / "terraform.tfstate").read_text()), ("saved plan", shown), ("trace log", log.read_text())):
        assert FIRST not in text, f"the write-only value is in the {where}"
    assert tf.plan(env={"TF_VAR_openai": FIRST}).returncode == 0
    write_config(workdir, SERVICE.replace("VERSION", "2"))
    tf.apply(env={"TF_VAR_openai": SECOND})
    assert sm.get_secret_value(SecretId="wosvc-dev-openai-api-key")["SecretString"] == SECOND
    assert SECOND not in (workdir / "terraform.tfstate").read_text() and SECOND not in log.read_text()
    tf.destroy(env={"TF_VAR_openai": SECOND})
    assert container_leftovers(emu, "wosvc-dev") == []
