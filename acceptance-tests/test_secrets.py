"""Secrets never reach the provider's logs or error messages, even with
TF_LOG=trace."""

import json

from harness import Terraform, copy_example, leftovers, moto_ami

SECRET = "sk-never-in-logs-8d1f2e"


def test_no_secret_in_trace_logs(fresh_emulator, workdir):
    emu = fresh_emulator
    work = copy_example("kauri", workdir / "kauri")
    (work / "t.auto.tfvars.json").write_text(json.dumps({"ami_id": moto_ami(emu), "ssm_parameters": {"OPENAI_API_KEY": {"value": SECRET}}, "environment": "logs"}))
    log = workdir / "tf.log"
    tf = Terraform("1.15", work, emu.endpoint, {"TF_LOG": "trace", "TF_LOG_PATH": str(log)})
    tf.init()
    p = tf.apply()
    # A bad change that fails at plan time: the error must not echo it.
    (work / "t.auto.tfvars.json").write_text(json.dumps({"ami_id": moto_ami(emu), "ssm_parameters": {"bad name!": {"value": SECRET}}, "environment": "logs"}))
    bad = tf.run("plan", "-no-color", check=False)
    assert bad.returncode == 1 and "Invalid parameter name" in bad.stderr
    tf.run("plan", "-no-color", check=False, env={"TF_LOG": "trace"})
    text = log.read_text()
    provider_lines = [line for line in text.splitlines() if "terraform-provider-awsstack" in line]
    assert len(provider_lines) > 50, "the provider logged at trace level"
    assert any("creating" in line for line in provider_lines)
    for out in (p.stdout, p.stderr, bad.stdout, bad.stderr):
        assert SECRET not in out
    assert SECRET not in "\n".join(provider_lines)
    # The value is in AWS, where it belongs.
    assert emu.client("ssm").get_parameter(Name="/kauri/OPENAI_API_KEY", WithDecryption=True)["Parameter"]["Value"] == SECRET
    (work / "t.auto.tfvars.json").write_text(json.dumps({"ami_id": moto_ami(emu), "ssm_parameters": {"OPENAI_API_KEY": {"value": SECRET}}, "environment": "logs"}))
    tf.destroy()
    assert leftovers(emu, "kauri-logs") == []


def test_container_service_secrets_not_in_trace_logs(fresh_emulator, workdir):
    """The app secret from HCL and the generated database password (which
    the provider writes to Secrets Manager, reads back for CreateDBInstance
    and puts in the connection URL) never reach the provider's trace log."""
    emu = fresh_emulator
    work = copy_example("kavak", workdir / "kavak")
    (work / "t.auto.tfvars.json").write_text(json.dumps({"aws_region": "eu-west-1", "env": "logs", "app_secret_values": {"openai-api-key": SECRET}}))
    log = workdir / "tf.log"
    tf = Terraform("1.15", work, emu.endpoint, {"TF_LOG": "trace", "TF_LOG_PATH": str(log)})
    tf.init()
    p = tf.apply()
    cred = json.loads(emu.client("secretsmanager").get_secret_value(SecretId="kavak-agent-logs-db-credentials")["SecretString"])
    password = cred["password"]
    provider_lines = [line for line in log.read_text().splitlines() if "terraform-provider-awsstack" in line]
    assert any("CreateDBInstance" in line or "component=db" in line for line in provider_lines), "the database call was traced"
    text = "\n".join(provider_lines)
    for secret in (SECRET, password, cred["url"]):
        assert secret not in text
        assert secret not in p.stdout + p.stderr
    # A value given in HCL is in the state (as for any sensitive attribute);
    # the generated password never is.
    state = (work / "terraform.tfstate").read_text()
    assert password not in state and cred["url"] not in state
    tf.destroy()
    assert leftovers(emu, "kavak-agent-logs") == []
