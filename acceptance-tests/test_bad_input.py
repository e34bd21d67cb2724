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


def test_zones_are_looked_up_when_unset_and_refused_when_not_offered(fresh_emulator, workdir):
    """Unset zones are looked up at plan (one read-only
    DescribeAvailabilityZones per region) and kept: in ap-northeast-1,
    which has no `b`, a new container service takes `a` and `c`, and the
    second plan keeps them. A region with fewer zones than the stack needs,
    and configured zones the region does not offer, are refused at plan on
    the attribute that decides them, with reads only, instead of a
    CreateSubnet failing mid-apply (us-west-1 has two zones, in moto as for
    most real accounts)."""
    import re

    from fault_proxy import MUTATING, FaultProxy
    from harness import CONFIG_HEADER

    emu = fresh_emulator
    proxy = FaultProxy(emu.endpoint).start()
    try:
        tf = Terraform("1.15", workdir, proxy.endpoint)

        def plan(body, region="eu-west-1"):
            (workdir / "main.tf").write_text(CONFIG_HEADER.replace('"eu-west-1"', f'"{region}"') + body)
            proxy.reset_counts()
            p = tf.plan()
            written = [a for a in proxy.calls if MUTATING.match(a) or a.startswith("Delete") or a in ("S3:PUT", "S3:DELETE", "S3:POST")]
            assert written == [], f"only reads at plan, saw {written}"
            return p

        service = 'resource "awsstack_container_service" "app" {{\n  project_name = "zoned"\n  {}\n}}\n'
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "main.tf").write_text(CONFIG_HEADER + service.format(""))
        tf.init()
        cases = [
            (service.format('availability_zones = ["ap-northeast-1a", "ap-northeast-1b"]'), "ap-northeast-1", "Availability zone not offered", "no zone ap-northeast-1b", "availability_zones"),
            ('resource "awsstack_multi_region_platform" "p" {\n  project_name     = "zoned"\n  secondary_region = "us-west-1"\n}\n', "eu-west-1", "Not enough availability zones", "us-west-1 offers this account 2 available zones (us-west-1a, us-west-1b)", None),
            ('resource "awsstack_docker_host" "x" {\n  project_name      = "zoned"\n  ami_id            = "ami-12c6146b"\n  availability_zone = "eu-west-1d"\n}\n', "eu-west-1", "Availability zone not offered", "no zone eu-west-1d", "availability_zone"),
        ]
        for body, region, summary, detail, attribute in cases:
            p = plan(body, region)
            assert p.returncode == 1, p.stdout + p.stderr
            text = " ".join(p.stderr.split())  # Terraform wraps the detail
            assert summary in text and detail in text, p.stderr
            if attribute:
                after = p.stderr.split(summary, 1)[1]
                assert re.search(rf"^\s*\d+:\s+{attribute}\s+=", after, re.M), p.stderr
        assert emu.client("ec2", "ap-northeast-1").describe_vpcs(Filters=[{"Name": "tag-key", "Values": ["awsstack:stack-id"]}])["Vpcs"] == []
        # Unset in ap-northeast-1: the plan shows the looked-up zones, the
        # apply builds there, and they are kept.
        p = plan(service.format(""), "ap-northeast-1")
        assert p.returncode == 2 and '"ap-northeast-1a"' in p.stdout and '"ap-northeast-1c"' in p.stdout, p.stdout + p.stderr
        assert "DescribeAvailabilityZones" in proxy.calls, proxy.calls
        tf.apply()
        state = tf.state()["values"]["root_module"]["resources"][0]["values"]
        assert state["availability_zones"] == ["ap-northeast-1a", "ap-northeast-1c"], state["availability_zones"]
        subnets = emu.client("ec2", "ap-northeast-1").describe_subnets(Filters=[{"Name": "tag-key", "Values": ["awsstack:stack-id"]}])["Subnets"]
        assert sorted({s["AvailabilityZone"] for s in subnets}) == ["ap-northeast-1a", "ap-northeast-1c"], subnets
        p = tf.plan()
        assert p.returncode == 0, p.stdout
        tf.destroy()
        assert leftovers(emu, "zoned-dev", region="ap-northeast-1") == []
    finally:
        proxy.stop()
