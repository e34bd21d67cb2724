"""First contact with a real account: AWS's eventual consistency played
against moto. The fault proxy's realistic-AWS mode answers the first 1 to 3
calls of every action in the provider's consistency catalog with the "not
yet" error AWS gives there (an internet gateway not yet found by its attach,
a role not yet usable by the profile or the service that names it, a subnet
whose interfaces still drain...), worded as AWS words it; the latency model
holds the long creates in their pending states meanwhile. Each example, on
both Terraform versions, must apply in one run, plan empty, take a change
that updates several kinds in one run, and destroy in one run, leaving
nothing.

The same runs check coverage: every AWS action the provider called is
declared in the catalog (a kind's `calls`, the tag API's or the stack
layer's), so a call added without thinking about consistency fails here."""

import json

import pytest

import harness
from bench_apply import latency_holds
from fault_proxy import FaultProxy, load_catalog
from harness import Terraform, copy_example, leftovers, moto_ami

P, S = "eu-west-1", "us-east-1"


def catalog() -> dict:
    return load_catalog(str(harness.PROVIDER_BIN))


def setup(example, emu, proxy, workdir, version):
    work = copy_example(example, workdir / example)
    if example == "kauri":
        v = {"ami_id": moto_ami(emu)}
    elif example == "kavak":
        v = {"aws_region": harness.REGION}
    else:
        zone = emu.client("route53").create_hosted_zone(Name="luneo.app", CallerReference=f"z-{workdir.name}")["HostedZone"]["Id"].split("/")[-1]
        (work / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
        v = {"hosted_zone_id": zone, "profile": "ephemeral", "force_destroy": True, "primary_ingress_hostname": "p.elb.amazonaws.com", "secondary_ingress_hostname": "s.elb.amazonaws.com"}
    (work / "t.auto.tfvars.json").write_text(json.dumps(v))
    tf = Terraform(version, work, proxy.endpoint)
    tf.init()
    return tf, v


# A change per example that updates several kinds in place (tags of every
# object, and settings of the instance, security group, schedule; of the
# task definition and service; of the health checks and node groups).
CHANGES = {
    "kauri": {"owner": "kauri-ops", "instance_type": "t4g.xlarge", "grafana_cidrs": ["198.51.100.0/24"], "scheduler_stop_expression": "cron(0 22 ? * MON-FRI *)"},
    "kavak": {"tags": {"Team": "ai-sales", "CostCenter": "42"}, "desired_count": 2, "container_image": "public.ecr.aws/nginx/nginx:1.27"},
    "luneo": {"tags": {"Team": "platform", "CostCenter": "7"}, "health_check_path": "/ready"},
}

STACK_IDS = {"kauri": "kauri-demo", "kavak": "kavak-agent-dev", "luneo": "luneo-prod"}


def nothing_left(emu, example):
    stack = STACK_IDS[example]
    if example == "luneo":
        return leftovers(emu, stack, P) + leftovers(emu, stack, S, budgets=False)
    return leftovers(emu, stack)


def undeclared(proxy: FaultProxy, cat: dict) -> list[str]:
    declared = {c["action"] for c in cat["calls"]}
    return sorted(op for op in proxy.ops if op not in declared)


@pytest.mark.parametrize("version", ["1.0", "1.15"])
@pytest.mark.parametrize("example", ["kauri", "kavak", "luneo"])
def test_every_run_converges_in_one_go_under_eventual_consistency(example, version, fresh_emulator, workdir):
    emu = fresh_emulator
    cat = catalog()
    proxy = FaultProxy(emu.endpoint).start()
    try:
        proxy.hold(*latency_holds())
        tf, v = setup(example, emu, proxy, workdir, version)
        seed = sum(map(ord, example + version))

        proxy.realistic(cat, seed)
        tf.apply()
        played = list(proxy.played)
        assert played, "the realistic mode played no 'not yet' error"
        p = tf.plan()
        assert p.returncode == 0, "second plan not empty:\n" + p.stdout[-4000:]

        (tf.workdir / "t.auto.tfvars.json").write_text(json.dumps({**v, **CHANGES[example]}))
        proxy.realistic(cat, seed + 1)
        tf.apply()
        p = tf.plan()
        assert p.returncode == 0, "plan after the change not empty:\n" + p.stdout[-4000:]

        proxy.realistic(cat, seed + 2)
        tf.destroy()
        assert nothing_left(emu, example) == []
        played = list(proxy.played)
        print(f"{example} on Terraform {version}: {len(played)} 'not yet' answers over {len({a for a, _ in played})} actions; {sum(proxy.ops.values())} calls")

        # Coverage: every action the provider called has its declaration.
        assert undeclared(proxy, cat) == [], "AWS calls with no consistency declaration"
        # The destroy met the delete-side entries too.
        assert any(a.split(":")[1].startswith(("Delete", "Detach", "Disassociate", "Deregister", "Terminate", "Release")) for a, _ in played), played
    finally:
        proxy.stop()


def test_a_refused_permission_is_named_and_never_taken_for_not_ours(fresh_emulator, workdir):
    """AccessDenied on one create and UnauthorizedOperation on one tag read
    (an SCP denies them): the apply fails with a permission diagnostic that
    names the action, and no name is claimed as another owner's."""
    from fault_proxy import Rule

    emu = fresh_emulator
    proxy = FaultProxy(emu.endpoint).start()
    try:
        tf, _ = setup("kauri", emu, proxy, workdir, "1.15")
        proxy.set(Rule(match="^CreateTopic$", mode="fail", code="AuthorizationError", times=1))
        p = tf.apply(check=False)
        err = " ".join(p.stderr.split())
        assert p.returncode == 1, p.stdout
        assert "permission denied" in err and "CreateTopic" in err, err
        assert "already exists and was not created by this stack" not in err, err

        # A tag read refused while proving an object is the stack's: an
        # error, never "no owner" (which would call the stack's own bucket
        # foreign).
        proxy.set(Rule(match="^S3:GET$", mode="fail", code="AccessDenied", times=50))
        p = tf.apply(check=False)
        err = " ".join(p.stderr.split())
        assert p.returncode == 1, p.stdout
        assert "AccessDenied" in err, err
        assert "already exists and was not created by this stack" not in err, err
        proxy.clear()
        tf.apply()
        tf.destroy()
        assert nothing_left(emu, "kauri") == []
    finally:
        proxy.stop()
