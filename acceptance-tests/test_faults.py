"""Safe under faults: whatever fails (an API call, the provider process,
the emulator), the state records every AWS resource that exists, the next
apply converges and destroy leaves nothing. A fault proxy sits between the
provider and moto; after every scenario the orphans (resources tagged with
the stack id that the state does not record) are counted: always 0."""

import json
import os
import signal
import time

import pytest

import harness
from fault_proxy import MUTATING, FaultProxy, Rule, load_catalog
from harness import Terraform, copy_example, leftovers, moto_ami, orphans, provider_pids

STACKS = {
    "docker_host": ("kauri", "kauri-demo"),
    "container_service": ("kavak", "kavak-agent-dev"),
}


@pytest.fixture
def proxy(fresh_emulator):
    """The fault proxy with the realistic-AWS mode on: every fault below
    meets AWS's "not yet" answers too (test_realistic_aws.py)."""
    p = FaultProxy(fresh_emulator.endpoint).start()
    p.realistic(load_catalog(str(harness.PROVIDER_BIN)), seed=7)
    yield p
    p.stop()


def setup_stack(which, emu, proxy, workdir, extra_env=None, version="1.15"):
    example, stack = STACKS[which]
    work = copy_example(example, workdir / example)
    v = {"ami_id": moto_ami(emu)} if example == "kauri" else {"aws_region": harness.REGION}
    (work / "t.auto.tfvars.json").write_text(json.dumps(v))
    tf = Terraform(version, work, proxy.endpoint, extra_env)
    tf.init()
    return tf, stack


def converge_and_destroy(tf, emu, stack, proxy):
    proxy.clear()
    tf.apply()
    assert orphans(emu, stack, tf) == []
    p = tf.plan()
    assert p.returncode == 0, p.stdout
    tf.destroy()
    assert leftovers(emu, stack) == []


@pytest.mark.parametrize("which,n", [("docker_host", 3), ("docker_host", 9), ("container_service", 5), ("container_service", 14), ("container_service", 27)])
def test_nth_create_call_fails(which, n, fresh_emulator, proxy, workdir):
    """The n-th mutating call fails for good: apply names the sub-resource
    and the error, the state records what exists, the next apply resumes."""
    emu = fresh_emulator
    tf, stack = setup_stack(which, emu, proxy, workdir)
    proxy.set(Rule(match=MUTATING.pattern, mode="fail", nth=n, code="InjectedFailure"))
    p = tf.apply(check=False)
    assert p.returncode == 1, p.stdout
    assert proxy.injected, "the fault fired"
    action = proxy.injected[0][0]
    err = " ".join(p.stderr.split())
    assert "Error: Failed to " in err and "InjectedFailure" in err and action in err, err
    assert "run apply again to resume" in err
    assert orphans(emu, stack, tf) == [], "every resource that exists is in the state"
    converge_and_destroy(tf, emu, stack, proxy)


@pytest.mark.parametrize("which", ["docker_host", "container_service"])
def test_throttling_storm_is_absorbed(which, fresh_emulator, proxy, workdir):
    """30% of all calls throttled (400 Throttling/ThrottlingException, 503
    SlowDown for S3): apply succeeds; the retries show in the debug log."""
    emu = fresh_emulator
    log = workdir / "provider.log"
    tf, stack = setup_stack(which, emu, proxy, workdir, {"TF_LOG_PROVIDER": "debug", "TF_LOG_PATH": str(log)})
    proxy.set(Rule(match="^S3:", mode="slowdown", probability=0.3), Rule(match="^(?!S3:)", mode="throttle", probability=0.3))
    tf.apply()
    throttled = len(proxy.injected)
    assert throttled >= 10, proxy.injected
    retries = sum(1 for line in log.read_text().splitlines() if "terraform-provider-awsstack" in line and "retrying after" in line)
    assert retries >= 1, "retries are logged at debug level"
    print(f"{which}: {throttled} throttled calls absorbed, {retries} retry log lines, {proxy.total_calls()} calls")
    assert orphans(emu, stack, tf) == []
    proxy.clear()
    assert tf.plan().returncode == 0
    tf.destroy()
    assert leftovers(emu, stack) == []


@pytest.mark.parametrize("which", ["docker_host", "container_service"])
def test_mixed_fault_storm_is_absorbed(which, fresh_emulator, proxy, workdir):
    """A storm of every transient fault at once, on every kind of call,
    none of which reaches AWS: 10% HTTP 500, 5% dropped connections, 10%
    throttled (503 SlowDown for S3). The SDK's retries absorb them: apply,
    plan and destroy succeed and nothing is orphaned."""
    emu = fresh_emulator
    tf, stack = setup_stack(which, emu, proxy, workdir)
    storm = (
        Rule(mode="error500", probability=0.10),
        Rule(mode="drop", probability=0.05),
        Rule(match="^S3:", mode="slowdown", probability=0.10),
        Rule(match="^(?!S3:)", mode="throttle", probability=0.10),
    )
    proxy.set(*storm)
    tf.apply()
    faults = list(proxy.injected)
    kinds = {mode for _, mode in faults}
    assert len(faults) >= 10 and {"error500", "drop"} <= kinds, faults
    assert orphans(emu, stack, tf) == []
    assert tf.plan().returncode == 0, "the stack is complete"
    proxy.set(*storm)
    tf.destroy()
    faults += proxy.injected
    proxy.clear()
    assert leftovers(emu, stack) == []
    print(f"{which}: {len(faults)} transient faults absorbed over apply and destroy ({', '.join(f'{k} {sum(1 for _, m in faults if m == k)}' for k in sorted(kinds))})")


@pytest.mark.full
def test_nth_call_fails_at_every_point(fresh_emulator, proxy, workdir):
    """The n-th mutating call fails for good, for n across the whole graph
    of both stacks (every third call)."""
    emu = fresh_emulator
    tried = {}
    for which, last in (("docker_host", 40), ("container_service", 60)):
        for n in range(1, last, 3):
            emu.reset()
            tf, stack = setup_stack(which, emu, proxy, workdir / f"{which}-fail{n}")
            proxy.set(Rule(match=MUTATING.pattern, mode="fail", nth=n, code="InjectedFailure"))
            p = tf.apply(check=False)
            if not proxy.injected:
                assert p.returncode == 0  # fewer mutating calls than n
                continue
            err = " ".join(p.stderr.split())
            assert p.returncode == 1 and "InjectedFailure" in err and proxy.injected[0][0] in err, err
            assert orphans(emu, stack, tf) == []
            converge_and_destroy(tf, emu, stack, proxy)
            tried[which] = tried.get(which, 0) + 1
    print(f"n-th call failures that converged: {tried}")
    assert tried.get("docker_host", 0) >= 8 and tried.get("container_service", 0) >= 12


def kill_points(which, full):
    """CI: two points. --full: every mutating call of the Docker host (it
    makes fewer than 40), every other one of the container service's first
    50: more than 20 points that fire for each."""
    if not full:
        return [4, 11]
    return list(range(1, 41)) if which == "docker_host" else list(range(1, 51, 2))


@pytest.mark.parametrize("which", ["docker_host", "container_service"])
def test_provider_killed_mid_apply(which, fresh_emulator, proxy, workdir, request):
    """SIGKILL the provider at the n-th mutating call (the call itself still
    reaches AWS): the next apply adopts what was created and converges,
    destroy leaves nothing."""
    emu = fresh_emulator
    points = kill_points(which, request.config.getoption("--full"))
    tried = 0
    for n in points:
        emu.reset()
        tf, stack = setup_stack(which, emu, proxy, workdir / f"kill{n}")
        killed = []

        def kill(action, endpoint=proxy.endpoint):
            for pid in provider_pids(endpoint):
                os.kill(pid, signal.SIGKILL)
                killed.append((action, pid))

        proxy.set(Rule(match=MUTATING.pattern, mode="callback", nth=n, callback=kill))
        p = tf.apply(check=False)
        if not killed:
            assert p.returncode == 0  # fewer mutating calls than n
            continue
        tried += 1
        assert p.returncode == 1, p.stdout
        converge_and_destroy(tf, emu, stack, proxy)
    assert tried >= (20 if request.config.getoption("--full") else 1)
    print(f"{which}: {tried} kill points converged")


def test_emulator_down_when_apply_starts(fresh_emulator, proxy, workdir):
    emu = fresh_emulator
    tf, stack = setup_stack("docker_host", emu, proxy, workdir)
    proxy.down = True
    p = tf.apply(check=False)
    assert p.returncode == 1
    err = " ".join(p.stderr.split())
    assert "Cannot validate AWS credentials" in err and f"cannot reach {proxy.endpoint}" in err, err
    assert err.count(proxy.endpoint) == 1, f"the endpoint is named once: {err}"
    assert "ConnectorError {" not in err, f"no SDK debug dump in the diagnostic: {err}"
    assert leftovers(emu, stack) == []
    proxy.down = False
    converge_and_destroy(tf, emu, stack, proxy)


@pytest.fixture
def stuck_ecs():
    """moto where ECS services never reach their desired count (no task
    starts): the stable-service waiter cannot finish until the test plays
    the tasks starting."""
    emu = harness.Emulator("moto", env={"MOTO_ECS_SERVICE_RUNNING": "0"}).start()
    yield emu
    emu.stop()


def start_tasks(emu):
    """What ECS does once the tasks start (moto sets running = desired)."""
    ecs = emu.client("ecs")
    ecs.update_service(cluster="kavak-agent-dev-cluster", service="kavak-agent-dev-app", desiredCount=1)


def resume_and_destroy(tf, emu, stack):
    """A failed first apply leaves the stack tainted; `terraform untaint`
    resumes it instead of starting over."""
    assert orphans(emu, stack, tf) == []
    tf.run("untaint", "-no-color", "awsstack_container_service.app")
    tf.apply()
    assert orphans(emu, stack, tf) == []
    assert tf.plan().returncode == 0
    tf.destroy()
    assert leftovers(emu, stack) == []


def test_timeout_shorter_than_the_waiter(stuck_ecs, workdir):
    """The service never becomes stable within a 3 s create timeout: a
    timeout diagnostic names the sub-resource; the next apply converges."""
    emu = stuck_ecs
    proxy = FaultProxy(emu.endpoint).start()
    try:
        tf, stack = setup_stack("container_service", emu, proxy, workdir)
        main = tf.workdir / "main.tf"
        main.write_text(main.read_text().replace('create = "45m"', 'create = "3s"'))
        p = tf.apply(check=False)
        err = " ".join(p.stderr.split())
        assert p.returncode == 1 and "Error: Failed to create service" in err and "timeout while waiting for ECS service kavak-agent-dev-app to be stable" in err, err
        assert "raise the `timeouts`" in err
        start_tasks(emu)
        resume_and_destroy(tf, emu, stack)
    finally:
        proxy.stop()


def interrupt(tf, proxy, rule_match, nth, hold=2.0):
    """Apply in the background; at the nth call matching `rule_match`, a
    user's Ctrl-C (SIGINT to Terraform's process group, provider included),
    while that call is held `hold` seconds in flight. Returns the finished
    process and the seconds from the interrupt to Terraform's exit."""
    p = tf.start("apply", "-auto-approve", "-no-color")
    at = []

    def ctrl_c(action):
        at.append(time.monotonic())
        os.killpg(p.pid, signal.SIGINT)
        time.sleep(hold)

    proxy.set(Rule(match=rule_match, mode="callback", nth=nth, callback=ctrl_c))
    p.stdout_text, p.stderr_text = p.communicate(timeout=600)
    assert at, "the interrupt was sent"
    return p, time.monotonic() - at[0]


def assert_interrupted(p, emu, stack, tf, seconds):
    out, err = p.stdout_text, " ".join(p.stderr_text.split())
    assert p.returncode == 1, out + err
    assert "Interrupt received" in out, out
    assert "Plugin did not respond" not in err, "the provider survives Ctrl-C: " + err
    # An interrupt that comes when the last operations are already running
    # cancels nothing: they finish and the stack is complete.
    cancelled = "cancelled" in err
    if cancelled:
        assert "run apply again to resume" in err, err
    else:
        assert "Error: Failed to" not in err, err
    # Without StopProvider the ECS waiter would run until the 45-minute
    # create timeout; a few seconds show in-flight work stopped.
    assert seconds < 30, seconds
    assert orphans(emu, stack, tf) == [], "the state records what the interrupted apply created"
    assert tf.state()["values"]["root_module"]["resources"][0]["values"]["resource_ids"], "the state was saved"
    return cancelled


@pytest.mark.parametrize("version,n", [("1.0", 6), ("1.15", 17)])
def test_interrupted_during_a_call(version, n, fresh_emulator, proxy, workdir, request):
    """Ctrl-C while the n-th mutating call of the Docker host is in flight:
    the call finishes and is recorded, nothing new starts, the state is
    saved; untaint + apply converges, destroy leaves nothing."""
    emu = fresh_emulator
    points = [n] + ([3, 9, 12, 20, 25] if request.config.getoption("--full") else [])
    for k in points:
        emu.reset()
        tf, stack = setup_stack("docker_host", emu, proxy, workdir / f"int{k}", version=version)
        p, seconds = interrupt(tf, proxy, MUTATING.pattern, k)
        cancelled = assert_interrupted(p, emu, stack, tf, seconds)
        print(f"docker_host, Terraform {version}, Ctrl-C at mutating call {k}: exited {seconds:.1f} s after the interrupt, {'work cancelled' if cancelled else 'nothing left to cancel'}")
        proxy.clear()
        if cancelled:
            tf.run("untaint", "-no-color", "awsstack_docker_host.kauri")
        converge_and_destroy(tf, emu, stack, proxy)


@pytest.mark.parametrize("version", ["1.0", "1.15"])
def test_interrupted_during_a_waiter(version, stuck_ecs, workdir):
    """Ctrl-C while the container service waits for its ECS service to be
    stable (no task ever starts on this emulator): the waiter stops at
    once, the state records all 33 sub-resources; once the tasks start,
    untaint + apply converges and destroy leaves nothing."""
    emu = stuck_ecs
    proxy = FaultProxy(emu.endpoint).start()
    try:
        tf, stack = setup_stack("container_service", emu, proxy, workdir, version=version)
        p, seconds = interrupt(tf, proxy, "^DescribeServices$", 2, hold=0)
        assert assert_interrupted(p, emu, stack, tf, seconds)
        assert "cancelled while waiting for ECS service kavak-agent-dev-app to be stable" in " ".join(p.stderr_text.split())
        print(f"container_service, Terraform {version}, Ctrl-C in the ECS waiter: exited {seconds:.1f} s after the interrupt")
        proxy.clear()
        start_tasks(emu)
        resume_and_destroy(tf, emu, stack)
    finally:
        proxy.stop()


@pytest.mark.parametrize("which,n", [("docker_host", 8), ("container_service", 12)])
def test_emulator_goes_down_mid_apply(which, n, fresh_emulator, proxy, workdir):
    """From the n-th mutating call on, every connection is dropped (that
    call itself still reaches AWS). Apply fails naming a sub-resource and
    the endpoint it could not reach, the state records what exists; once the emulator is back the next apply
    converges and destroy leaves nothing."""
    emu = fresh_emulator
    tf, stack = setup_stack(which, emu, proxy, workdir)
    versions = tf.workdir / "versions.tf"
    versions.write_text(versions.read_text().replace("region = var.aws_region", "region      = var.aws_region\n  max_retries = 1", 1))

    def go_down(action):
        proxy.down = True

    proxy.set(Rule(match=MUTATING.pattern, mode="callback", nth=n, callback=go_down))
    p = tf.apply(check=False)
    assert proxy.down, "the emulator went down"
    err = " ".join(p.stderr.split())
    assert p.returncode == 1 and "Error: Failed to " in err, err
    # The diagnostic names the endpoint the provider could not reach.
    assert f"cannot reach {proxy.endpoint}" in err, err
    assert "ConnectorError {" not in err, f"no SDK debug dump in the diagnostic: {err}"
    proxy.down = False
    assert orphans(emu, stack, tf) == [], "every resource that exists is in the state"
    converge_and_destroy(tf, emu, stack, proxy)


def test_waiters_hold_through_pending_states(fresh_emulator, proxy, workdir):
    """Against AWS a NAT gateway is `pending` for minutes; moto makes it
    available at once. The proxy holds it pending for a few seconds: the
    NAT gateway's operation ends only after its hold (the waiter polled
    through `pending`, it did not take the create's answer for done), and
    the private route table that routes through it starts after that. Then
    no changes, and destroy leaves nothing."""
    from fault_proxy import Hold, xml_field, xml_state

    emu = fresh_emulator
    timings = workdir / "timings.jsonl"
    tf, stack = setup_stack("container_service", emu, proxy, workdir, {"AWSSTACK_TIMINGS_FILE": str(timings)})
    hold = Hold("CreateNatGateway", 4.0, xml_field("natGatewayId"), xml_state("natGatewayId", "state", "available", "pending"))
    proxy.hold(hold)
    tf.apply()
    assert hold.rewritten > 0, "the waiter saw the gateway pending"
    ((nat_id, held_until),) = hold.until.items()
    ops = [json.loads(line) for line in timings.read_text().splitlines()]
    nat = next(o for o in ops if o["key"].startswith("nat.") and o["action"] == "create")
    assert nat["end"] >= held_until - 0.05, f"{nat_id}: the create ended at {nat['end']}, while AWS said pending until {held_until}"
    routes = [o for o in ops if o["key"].startswith("rtb.private") and o["action"] == "create"]
    assert routes and all(o["start"] >= nat["end"] - 0.05 for o in routes), (routes, nat)
    proxy.hold()
    p = tf.plan()
    assert p.returncode == 0, p.stdout
    tf.destroy()
    assert leftovers(emu, stack) == []
