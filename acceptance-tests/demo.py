"""The README's main job: start the local AWS emulator, apply an example
stack with the real Terraform CLI, print its outputs. Idempotent: a second
run reuses the running emulator and converges. `destroy` tears it down and
stops the emulator."""

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

STATE = harness.TOOLS / "demo"
PIDFILE = STATE / "emulator.json"


def running_emulator():
    if PIDFILE.exists():
        info = json.loads(PIDFILE.read_text())
        try:
            os.kill(info["pid"], 0)
            emu = harness.Emulator.__new__(harness.Emulator)
            emu.kind, emu.port, emu.endpoint, emu.proc = "moto", info["port"], info["endpoint"], None
            return emu, info["pid"]
        except ProcessLookupError:
            PIDFILE.unlink()
    return None, None


def example_vars(example, emu):
    """moto has no Ubuntu image: Docker host examples boot one of its AMIs."""
    if "ami_id" in (harness.EXAMPLES / example / "variables.tf").read_text():
        return [f"-var=ami_id={harness.moto_ami(emu)}"]
    return []


def seed_backend(emu, work):
    """The Luneo seed keeps its state in S3 with DynamoDB locking: create
    the bucket and the table on the emulator (idempotent), point the
    backend at the emulator, and fill `terraform.tfvars` from the example's
    `terraform.tfvars.example` with the emulator's hosted zone, as the
    seed's quick start does (`cp terraform.tfvars.example terraform.tfvars`)."""
    s3, ddb, r53 = emu.client("s3", "eu-west-1"), emu.client("dynamodb", "eu-west-1"), emu.client("route53")
    if "luneo-terraform-state" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="luneo-terraform-state", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_bucket_versioning(Bucket="luneo-terraform-state", VersioningConfiguration={"Status": "Enabled"})
    if "luneo-terraform-locks" not in ddb.list_tables()["TableNames"]:
        ddb.create_table(
            TableName="luneo-terraform-locks",
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    zones = [z for z in r53.list_hosted_zones()["HostedZones"] if z["Name"] == "luneo.app."]
    zone = zones[0]["Id"] if zones else r53.create_hosted_zone(Name="luneo.app", CallerReference="luneo-demo")["HostedZone"]["Id"]
    zone = zone.split("/")[-1]
    example = (work / "terraform.tfvars.example").read_text()
    (work / "terraform.tfvars").write_text(example.replace('hosted_zone_id = "Z0123456789LUNEO"', f'hosted_zone_id = "{zone}"'))
    ep = emu.endpoint
    (work / "backend.hcl").write_text(
        f'endpoints = {{ s3 = "{ep}", dynamodb = "{ep}", sts = "{ep}", iam = "{ep}" }}\n'
        "use_path_style              = true\n"
        "skip_credentials_validation = true\n"
        "skip_requesting_account_id  = true\n"
        "skip_metadata_api_check     = true\n"
    )
    return ["-backend-config=backend.hcl"]


# What a drill on the emulator can destroy: the seed's production profile
# protects the database (destroy is refused while it is on).
DESTROY_VARS = {"luneo": ["-var=profile=ephemeral", "-var=force_destroy=true"]}


def main():
    example = "kauri"
    args = sys.argv[1:]
    destroy = bool(args) and args[0] == "destroy"
    if args and args[-1] not in ("destroy",):
        example = args[-1]
    STATE.mkdir(parents=True, exist_ok=True)
    emu, pid = running_emulator()
    if destroy:
        if emu is None:
            print("nothing to destroy: the demo emulator is not running")
            return
        tf = harness.Terraform("1.15", STATE / example, emu.endpoint)
        extra = DESTROY_VARS.get(example, [])
        if extra:
            # Deletion protection off and buckets emptiable first: an apply.
            tf.apply(*example_vars(example, emu), *extra)
        tf.destroy(*example_vars(example, emu), *extra)
        os.killpg(pid, signal.SIGTERM)
        PIDFILE.unlink()
        print(f"destroyed {example}; emulator (pid {pid}) stopped")
        return
    if emu is None:
        emu = harness.Emulator("moto").start()
        PIDFILE.write_text(json.dumps({"pid": emu.proc.pid, "port": emu.port, "endpoint": emu.endpoint}))
        pid = emu.proc.pid
        print(f"AWS emulator (moto) on {emu.endpoint}, pid {pid}, log {emu.log}")
    work = harness.copy_example(example, STATE / example)
    tf = harness.Terraform("1.15", work, emu.endpoint)
    print(f"terraform init && terraform apply in {work} (AWS_ENDPOINT_URL={emu.endpoint})", flush=True)
    init = seed_backend(emu, work) if example == "luneo" else []
    tf.run("init", "-no-color", *init)
    p = tf.apply(*example_vars(example, emu))
    print(p.stdout[-1500:])
    print(tf.run("output", "-no-color").stdout)
    print(f"To destroy the stack and stop the emulator: scripts/demo.sh destroy {example}")


if __name__ == "__main__":
    main()
