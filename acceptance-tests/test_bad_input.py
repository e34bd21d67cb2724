"""Bad input that needs the prior state: refused at plan, before any change.
The bad-input matrix of every attribute is test_bad_input_matrix.py."""

from harness import Terraform, leftovers, write_config


def write(work, body, project='"badinput"'):
    write_config(work, f'resource "awsstack_docker_host" "x" {{\n  project_name = {project}\n  ami_id       = "ami-12c6146b"\n  {body}\n}}\n')


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
