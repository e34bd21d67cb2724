"""Secrets never reach the provider's logs or error messages, even with
TF_LOG=trace."""

import json

from fault_proxy import MUTATING, FaultProxy, Rule
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


def test_static_keys_not_in_trace_logs(fresh_emulator, workdir):
    """Static credentials in the provider block (secret key and session
    token) reach neither the trace log nor any output: on an apply that
    fails at a call AWS refuses, on the apply that resumes, on destroy."""
    emu = fresh_emulator
    secret_key, token = "static-secret-never-in-logs-4b7c", "session-token-never-in-logs-91ae"
    work = copy_example("kauri", workdir / "kauri")
    versions = work / "versions.tf"
    versions.write_text(versions.read_text().replace("region = var.aws_region", f'region     = var.aws_region\n  access_key = "AKIATESTSTATICKEYS01"\n  secret_key = "{secret_key}"\n  token      = "{token}"', 1))
    (work / "t.auto.tfvars.json").write_text(json.dumps({"ami_id": moto_ami(emu), "environment": "keys"}))
    log = workdir / "tf.log"
    proxy = FaultProxy(emu.endpoint).start()
    try:
        tf = Terraform("1.15", work, proxy.endpoint, {"TF_LOG": "trace", "TF_LOG_PATH": str(log)})
        tf.init()
        proxy.set(Rule(match=MUTATING.pattern, mode="fail", nth=6, code="AuthFailure"))
        failed = tf.apply(check=False)
        assert failed.returncode == 1 and "AuthFailure" in failed.stderr, failed.stderr
        proxy.clear()
        tf.run("untaint", "-no-color", "awsstack_docker_host.kauri")
        outs = [failed, tf.apply(), tf.destroy()]
    finally:
        proxy.stop()
    provider_lines = [line for line in log.read_text().splitlines() if "terraform-provider-awsstack" in line]
    assert len(provider_lines) > 50, "the provider logged at trace level"
    assert "AKIATESTSTATICKEYS01" in "\n".join(provider_lines), "the requests were traced (signed with the access key id, which is not secret)"
    text = "\n".join(provider_lines)
    for s in (secret_key, token):
        assert s not in text, f"{s} in the provider's trace log"
        for p in outs:
            assert s not in p.stdout + p.stderr
    assert leftovers(emu, "kauri-keys") == []
