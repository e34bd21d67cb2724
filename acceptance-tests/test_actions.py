"""Day two from the runbooks, in Terraform (actions, protocol 6.10,
Terraform 1.14+): `terraform apply -invoke=action.<type>.<name>` runs a
redeploy of the container service and a snapshot of the Docker host's
data volume, each configured by the stack's id, streaming what it does;
the stack's state is untouched (the next plan is empty). An action against
a stack that does not exist names it; a malformed stack id is refused at
validate on its attribute with no AWS call."""

import json

import harness
from fault_proxy import FaultProxy
from harness import Terraform, copy_example, leftovers, moto_ami


def write(work, name, body):
    (work / name).write_text(body)


def progress(p):
    """The action_progress messages of a `-json` run."""
    events = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    return [e["@message"] for e in events if e.get("type") == "action_progress"]


def test_redeploy_the_container_service(fresh_emulator, workdir):
    emu = fresh_emulator
    work = copy_example("kavak", workdir / "kavak")
    (work / "t.auto.tfvars.json").write_text(json.dumps({"aws_region": harness.REGION}))
    proxy = FaultProxy(emu.endpoint).start()
    try:
        tf = Terraform("1.15", work, proxy.endpoint)
        tf.init()
        tf.apply()
        write(work, "actions.tf", 'action "awsstack_redeploy" "app" {\n  config {\n    stack_id = awsstack_container_service.app.id\n  }\n}\n')
        assert tf.plan().returncode == 0, "declaring an action changes no resource"
        proxy.reset_counts()
        p = tf.run("apply", "-auto-approve", "-json", "-invoke=action.awsstack_redeploy.app")
        said = progress(p)
        out = " ".join(" ".join(said).split())
        assert "starting a new deployment of ECS service kavak-agent-dev-app" in out, p.stdout
        assert "kavak-agent-dev-app is stable" in out, p.stdout
        assert proxy.ops.get("ecs:UpdateService") == 1, proxy.ops
        assert tf.plan().returncode == 0, "the stack's state is untouched"

        # The database's snapshot on demand (`aws rds create-db-snapshot`).
        write(work, "snapshot.tf", 'action "awsstack_snapshot" "db" {\n  config {\n    stack_id    = awsstack_container_service.app.id\n    description = "before the 2.0 migration"\n  }\n}\n')
        p = tf.run("apply", "-auto-approve", "-json", "-invoke=action.awsstack_snapshot.db")
        said = progress(p)
        out = " ".join(" ".join(said).split())
        assert "snapshotting the database kavak-agent-dev-db" in out and "is available" in out, p.stdout
        snaps = emu.client("rds").describe_db_snapshots(DBInstanceIdentifier="kavak-agent-dev-db", SnapshotType="manual")["DBSnapshots"]
        assert len(snaps) == 1 and snaps[0]["Status"] == "available", snaps
        tags = {t["Key"]: t["Value"] for t in emu.client("rds").list_tags_for_resource(ResourceName=snaps[0]["DBSnapshotArn"])["TagList"]}
        assert tags["awsstack:stack-id"] == "kavak-agent-dev" and tags["awsstack:description"] == "before the 2.0 migration", tags
        (work / "snapshot.tf").unlink()
        assert tf.plan().returncode == 0

        # A stack that does not exist is named; nothing is called to change.
        write(work, "actions.tf", 'action "awsstack_redeploy" "app" {\n  config {\n    stack_id = "ghost-dev"\n  }\n}\n')
        proxy.reset_counts()
        p = tf.apply("-invoke=action.awsstack_redeploy.app", check=False)
        err = " ".join(p.stderr.split())
        assert p.returncode == 1 and 'no awsstack_container_service stack "ghost-dev"' in err, p.stdout + p.stderr
        assert "ecs:UpdateService" not in proxy.ops, proxy.ops

        # A malformed id: refused at validate, on its attribute.
        write(work, "actions.tf", 'action "awsstack_redeploy" "app" {\n  config {\n    stack_id = "Kavak Agent"\n  }\n}\n')
        p = tf.run("validate", "-no-color", check=False)
        err = " ".join(p.stderr.split())
        assert p.returncode == 1 and "Invalid stack id" in err and "stack_id" in err, p.stdout + p.stderr
        (work / "actions.tf").unlink()
        tf.destroy()
        assert leftovers(emu, "kavak-agent-dev") == []
        kept = emu.client("rds").describe_db_snapshots(DBSnapshotIdentifier=snaps[0]["DBSnapshotIdentifier"])["DBSnapshots"]
        assert kept, "the on-demand database snapshot is kept after the destroy"
    finally:
        proxy.stop()


MIGRATE = """action "awsstack_run_task" "migrate" {
  config {
    stack_id    = awsstack_container_service.app.id
    command     = ["sh", "-c", "echo applying migrations; echo 3 migrations applied"]
    environment = { MIGRATION_MODE = "online" }
  }
}
"""


def test_run_task_after_each_deploy_and_on_demand(fresh_emulator, workdir):
    """Kavak's `aws ecs run-task` migration, as an action: triggered after
    each update of the stack, and invoked by hand; a non-zero exit fails
    with the exit code and the last lines; progress is in `-json`."""
    emu = fresh_emulator
    work = copy_example("kavak", workdir / "kavak")
    (work / "t.auto.tfvars.json").write_text(json.dumps({"aws_region": harness.REGION}))
    main = work / "main.tf"
    text = main.read_text()
    assert 'resource "awsstack_container_service" "app" {\n' in text
    main.write_text(text.replace(
        'resource "awsstack_container_service" "app" {\n',
        'resource "awsstack_container_service" "app" {\n  lifecycle {\n    action_trigger {\n      events  = [after_update]\n      actions = [action.awsstack_run_task.migrate]\n    }\n  }\n',
        1,
    ))
    write(work, "actions.tf", MIGRATE)
    tf = Terraform("1.15", work, emu.endpoint)
    tf.init()
    tf.apply()
    ecs = emu.client("ecs")
    cluster = "kavak-agent-dev-cluster"

    def one_off_tasks():
        arns = ecs.list_tasks(cluster=cluster, startedBy="awsstack_run_task")["taskArns"]
        return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []

    assert one_off_tasks() == [], "after_update: the create runs no migration"
    # A deploy (an in-place update of the stack) runs the migration after it.
    p = tf.apply("-var", "container_image=public.ecr.aws/docker/library/python:3.12-slim")
    out = " ".join(p.stdout.split())
    assert "applying migrations" in out and "3 migrations applied" in out and "exited 0" in out, p.stdout
    tasks = one_off_tasks()
    assert len(tasks) == 1, tasks
    task = tasks[0]
    service = ecs.describe_services(cluster=cluster, services=["kavak-agent-dev-app"])["services"][0]
    assert task["taskDefinitionArn"] == service["taskDefinition"], "the service's own task definition"
    net = service["networkConfiguration"]["awsvpcConfiguration"]
    eni_subnet = [d["value"] for a in task["attachments"] for d in a["details"] if d["name"] == "subnetId"]
    assert eni_subnet and eni_subnet[0] in net["subnets"], (task["attachments"], net)
    override = task["overrides"]["containerOverrides"][0]
    assert override["command"][-1].startswith("echo applying") and {"name": "MIGRATION_MODE", "value": "online"} in override["environment"], override
    assert tf.plan("-var", "container_image=public.ecr.aws/docker/library/python:3.12-slim").returncode == 0

    # On demand, with -json: the task's lines are progress events.
    write(work, "actions.tf", MIGRATE.replace("echo 3 migrations applied", "echo relation users already exists; exit 3"))
    p = tf.run("apply", "-auto-approve", "-json", "-invoke=action.awsstack_run_task.migrate",
               "-var", "container_image=public.ecr.aws/docker/library/python:3.12-slim", check=False)
    events = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    said = [e.get("@message", "") for e in events if e.get("type") == "action_progress"]
    assert any("relation users already exists" in m for m in said), [e.get("type") for e in events]
    failed = [e for e in events if e.get("@level") == "error"]
    assert p.returncode == 1 and failed, p.stdout
    detail = " ".join(json.dumps(e) for e in failed)
    assert "exited with code 3" in detail and "relation users already exists" in detail, detail
    assert len(one_off_tasks()) == 2

    # A missing stack is named; nothing runs.
    write(work, "extra.tf", 'action "awsstack_run_task" "ghost" {\n  config {\n    stack_id = "ghost-dev"\n  }\n}\n')
    p = tf.apply("-invoke=action.awsstack_run_task.ghost", "-var", "container_image=public.ecr.aws/docker/library/python:3.12-slim", check=False)
    err = " ".join(p.stderr.split())
    assert p.returncode == 1 and 'no awsstack_container_service stack "ghost-dev"' in err, p.stdout + p.stderr
    assert len(one_off_tasks()) == 2
    (work / "extra.tf").unlink()
    tf.destroy("-var", "container_image=public.ecr.aws/docker/library/python:3.12-slim")
    assert leftovers(emu, "kavak-agent-dev") == []


def test_snapshot_the_docker_hosts_data_volume(fresh_emulator, workdir):
    emu = fresh_emulator
    work = copy_example("kauri", workdir / "kauri")
    (work / "t.auto.tfvars.json").write_text(json.dumps({"ami_id": moto_ami(emu)}))
    tf = Terraform("1.15", work, emu.endpoint)
    tf.init()
    tf.apply()
    write(work, "actions.tf", 'action "awsstack_snapshot" "data" {\n  config {\n    stack_id    = awsstack_docker_host.kauri.id\n    description = "before the Postgres 16 upgrade"\n  }\n}\n')
    p = tf.apply("-invoke=action.awsstack_snapshot.data")
    out = " ".join(p.stdout.split())
    assert "snapshotting the data volume" in out and "is complete" in out, p.stdout
    ec2 = emu.client("ec2")
    snaps = ec2.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "tag:awsstack:stack-id", "Values": ["kauri-demo"]}])["Snapshots"]
    ours = [s for s in snaps if s["Description"] == "awsstack kauri-demo: before the Postgres 16 upgrade"]
    assert len(ours) == 1 and ours[0]["State"] == "completed", snaps
    # A command through SSM Run Command on the host, by stack id.
    write(work, "command.tf", 'action "awsstack_run_command" "backup" {\n  config {\n    stack_id = awsstack_docker_host.kauri.id\n    command  = "docker compose -f /opt/kauri/compose.yaml ps"\n  }\n}\n')
    p = tf.apply("-invoke=action.awsstack_run_command.backup")
    out = " ".join(p.stdout.split())
    instance = tf.outputs()["instance_id"]
    assert f"running on {instance} (kauri-demo) through SSM" in out and "exited 0" in out, p.stdout
    sent = emu.client("ssm").list_commands(InstanceId=instance)["Commands"]
    assert [c["Parameters"]["commands"] for c in sent] == [["docker compose -f /opt/kauri/compose.yaml ps"]], sent
    # A command that exits non-zero fails with its code and last lines;
    # with -json, its output lines are progress events.
    write(work, "command.tf", 'action "awsstack_run_command" "backup" {\n  config {\n    stack_id = awsstack_docker_host.kauri.id\n    command  = "echo pg_dump: connection refused; exit 2"\n  }\n}\n')
    p = tf.run("apply", "-auto-approve", "-json", "-invoke=action.awsstack_run_command.backup", check=False)
    events = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    said = [e.get("@message", "") for e in events if e.get("type") == "action_progress"]
    assert any("pg_dump: connection refused" in m for m in said), said
    detail = " ".join(json.dumps(e) for e in events if e.get("@level") == "error")
    assert p.returncode == 1 and "exit code 2" in detail and "pg_dump: connection refused" in detail, p.stdout
    (work / "command.tf").unlink()
    volume = tf.outputs()  # the state is untouched: outputs as before
    assert volume and tf.plan().returncode == 0
    (work / "actions.tf").unlink()
    tf.destroy()
    assert leftovers(emu, "kauri-demo") == []
    left = ec2.describe_snapshots(SnapshotIds=[ours[0]["SnapshotId"]])["Snapshots"]
    assert left, "the on-demand snapshot is kept after the destroy"
