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


def test_zones_the_region_does_not_offer_are_refused_at_plan_with_reads_only(fresh_emulator, workdir):
    """Default zone letters (a, b, c) that a region does not offer, and a
    configured zone it does not have: refused at plan on the attribute that
    decides them, after one read-only DescribeAvailabilityZones per region,
    instead of a CreateSubnet failing mid-apply. ap-northeast-1 has no `b`,
    us-west-1 no `c` (in moto as for most real accounts)."""
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
            # The defaults: no source line to quote, the attribute named in the text.
            (service.format(""), "ap-northeast-1", "ap-northeast-1b", "`availability_zones` is unset", None),
            (service.format('availability_zones = ["ap-northeast-1a", "ap-northeast-1b"]'), "ap-northeast-1", "ap-northeast-1b", "Choose zones of that list", "availability_zones"),
            ('resource "awsstack_multi_region_platform" "p" {\n  project_name     = "zoned"\n  secondary_region = "us-west-1"\n}\n', "eu-west-1", "us-west-1c", "`secondary_availability_zones` is unset", None),
            ('resource "awsstack_docker_host" "x" {\n  project_name      = "zoned"\n  ami_id            = "ami-12c6146b"\n  availability_zone = "eu-west-1d"\n}\n', "eu-west-1", "eu-west-1d", "Choose zones of that list", "availability_zone"),
        ]
        for body, region, zone, how, attribute in cases:
            p = plan(body, region)
            assert p.returncode == 1, p.stdout + p.stderr
            text = " ".join(p.stderr.split())  # Terraform wraps the detail
            assert "Availability zone not offered" in text and f"no zone {zone}" in text and how in text, p.stderr
            if attribute:
                after = p.stderr.split("Availability zone not offered", 1)[1]
                assert re.search(rf"^\s*\d+:\s+{attribute}\s+=", after, re.M), p.stderr
        # Zones the region offers: the plan goes ahead.
        p = plan(service.format('availability_zones = ["ap-northeast-1a", "ap-northeast-1c"]'), "ap-northeast-1")
        assert p.returncode == 2 and "Availability zone" not in p.stderr, p.stdout + p.stderr
        assert "DescribeAvailabilityZones" in proxy.calls, proxy.calls
        assert emu.client("ec2", "ap-northeast-1").describe_vpcs(Filters=[{"Name": "tag-key", "Values": ["awsstack:stack-id"]}])["Vpcs"] == []
    finally:
        proxy.stop()
