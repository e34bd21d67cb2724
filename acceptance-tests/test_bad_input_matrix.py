"""The bad-input matrix (bad_input_cases.py) through the real Terraform CLI.

Every input attribute of every stack, nested blocks included, has at least
one malformed value (a test checks this against the provider's schema).
All the cases of a stack go into one configuration, one resource each, and
each must give its own error diagnostic, pointing at its own attribute:

- written literally: at `terraform validate` and at `terraform plan`, with
  no AWS call at all;
- passed through an input variable (unknown at validate): validate accepts
  it and `terraform plan` refuses it, with no AWS call beyond the
  provider's credential check.

`--full` also runs every case on its own, on Terraform 1.0 and 1.15."""

from __future__ import annotations

import json
import re

import pytest

from bad_input_cases import MATRIX, read_only_cases, resource_block
from fault_proxy import FaultProxy
from harness import CONFIG_HEADER, Terraform, leftovers, write_config

# The only call a plan may make before it refuses bad input: the
# provider's credential check when Terraform configures it.
ALLOWED_CALLS = {"GetCallerIdentity"}
# Cases whose check needs the provider's region: they can only show at plan.
PLAN_ONLY = {("awsstack_docker_host", "availability_zone")}
HEADER_LINES = CONFIG_HEADER.count("\n")  # write_config's terraform and provider blocks


@pytest.fixture
def counting_proxy(fresh_emulator):
    p = FaultProxy(fresh_emulator.endpoint).start()
    yield p
    p.stop()


def statements(body: str) -> list[list[str]]:
    """The body's top-level statements, each as its lines (2-space indent)."""
    lines = body.split("\n")
    lines[0] = "  " + lines[0]
    out: list[list[str]] = []
    for line in lines:
        if re.match(r"^  [A-Za-z_]", line):
            out.append([line])
        else:
            out[-1].append(line)
    return out


def via_variable(body: str, path: str, var: str) -> tuple[str, str]:
    """The body with the case's attribute taken from `var.<var>` (whose
    default is the bad value), and the variable block."""
    parts = path.split(".")
    out = []
    default = None
    for st in statements(body):
        head = st[0].strip()
        if len(parts) == 1 and re.match(rf"^{parts[0]}\s*=", head):
            default = "\n".join([head.split("=", 1)[1].strip()] + [x[2:] for x in st[1:]])
            st = [f"  {parts[0]} = var.{var}"]
        elif len(parts) == 2 and head.startswith(parts[0] + " {"):
            inner = []
            for line in st:
                m = re.match(rf"^    {parts[1]}\s*=\s*(.*)$", line)
                if m:
                    default = m.group(1)
                    line = f"    {parts[1]} = var.{var}"
                inner.append(line)
            st = inner
        out.extend(st)
    assert default is not None, f"{path}: no statement to take from a variable in {body!r}"
    return "\n".join(out)[2:], f'variable "{var}" {{\n  default = {default}\n}}\n'


def attribute_lines(block: str, path: str, first_line: int) -> tuple[int, int]:
    """The file lines (1-based, inclusive) that the attribute at `path`
    spans in `block`, which starts at file line `first_line`."""
    lines = block.split("\n")
    parts = path.split(".")
    start = 0
    if len(parts) == 2:
        start = next(i for i, l in enumerate(lines) if l.strip().startswith(parts[0] + " {"))
    name = parts[-1]
    i = next(i for i, l in enumerate(lines) if i > start and re.match(rf"^\s*{name}\s*[={{]", l))
    indent = len(lines[i]) - len(lines[i].lstrip())
    j = i
    if lines[i].rstrip().endswith(("{", "[")):
        j = next(k for k in range(i + 1, len(lines)) if len(lines[k]) - len(lines[k].lstrip()) == indent and lines[k].strip()[:1] in "}]")
    return first_line + i, first_line + j


def build(rtype: str, cases, variables: bool, prefix: str = "c"):
    """One configuration holding every case, and what each must give:
    (case path, summary, resource name, first line, last line)."""
    text, expect, line = "", [], HEADER_LINES + 1
    for i, (path, body, summary, _attr) in enumerate(cases):
        name = f"{prefix}{i:02d}"
        var_block = ""
        if variables:
            body, var_block = via_variable(body, path, name)
        if var_block:
            text += var_block + "\n"
            line += var_block.count("\n") + 1
        block = resource_block(rtype, name, body)
        lo, hi = attribute_lines(block, path, line)
        expect.append((path, summary, name, lo, hi))
        text += block + "\n"
        line += block.count("\n") + 1
    return text, expect


def diagnostics(tf: Terraform, *cmd: str) -> tuple[int, list[dict]]:
    """Error diagnostics of `terraform <cmd> -json`: validate prints one
    JSON document, plan a stream of JSON messages."""
    p = tf.run(*cmd, "-json", "-no-color", check=False)
    assert "panic" not in (p.stdout + p.stderr).lower(), p.stdout + p.stderr
    if cmd[0] == "validate":
        diags = json.loads(p.stdout)["diagnostics"]
    else:
        diags = [m["diagnostic"] for m in map(json.loads, filter(None, p.stdout.splitlines())) if m.get("type") == "diagnostic"]
    return p.returncode, [d for d in diags if d["severity"] == "error"]


def check(expect, diags, when: str):
    """Each case has its diagnostic on its attribute; no error is left over
    that belongs to no case or is not the case's own."""
    found, problems = [], []
    for path, summary, name, lo, hi in expect:
        mine = [d for d in diags if d.get("range") and lo <= d["range"]["start"]["line"] <= hi]
        if not any(d["summary"] == summary for d in mine):
            near = [(d["summary"], d.get("range", {}).get("start", {}).get("line")) for d in diags if d.get("snippet", {}).get("context", "").endswith(f'"{name}"')]
            problems.append(f"{path} ({name}, lines {lo}-{hi}) expected {summary!r}, got {near}")
        found += mine
    stray = [(d["summary"], d.get("detail"), d.get("range", {}).get("start")) for d in diags if d not in found]
    if stray:
        problems.append(f"diagnostics outside the cases' attributes: {stray}")
    assert not problems, f"{when}:\n" + "\n".join(problems)


@pytest.mark.parametrize("rtype", sorted(MATRIX))
def test_matrix_covers_every_input_attribute(rtype, fresh_emulator, workdir):
    write_config(workdir, resource_block(rtype, "x", ""))
    tf = Terraform("1.15", workdir, fresh_emulator.endpoint)
    tf.init()
    schemas = json.loads(tf.run("providers", "schema", "-json").stdout)["provider_schemas"]
    block = schemas["registry.terraform.io/awsstack/awsstack"]["resource_schemas"][rtype]["block"]

    def inputs(b, prefix=""):
        for name, a in b.get("attributes", {}).items():
            if a.get("required") or a.get("optional"):
                yield prefix + name
        for name, nb in b.get("block_types", {}).items():
            yield from inputs(nb["block"], prefix + name + ".")

    covered = {c[0] for c in MATRIX[rtype]}
    missing = sorted(set(inputs(block)) - covered)
    assert not missing, f"{rtype}: attributes with no bad-input case: {missing}"
    assert not covered - set(inputs(block)), "cases for attributes that do not exist"


@pytest.mark.parametrize("version", ["1.0", "1.15"])
@pytest.mark.parametrize("rtype", sorted(MATRIX))
def test_literal_bad_input_fails_validate_and_plan(rtype, version, fresh_emulator, counting_proxy, workdir):
    cases = [c for c in MATRIX[rtype] if (rtype, c[0]) not in PLAN_ONLY]
    text, expect = build(rtype, cases, variables=False)
    write_config(workdir, text)
    tf = Terraform(version, workdir, counting_proxy.endpoint)
    tf.init()
    for cmd in (["validate"], ["plan"]):
        code, diags = diagnostics(tf, *cmd)
        assert code == 1
        check(expect, diags, f"terraform {version} {cmd[0]}")
    assert not counting_proxy.calls, counting_proxy.calls
    print(f"{rtype}, Terraform {version}: {len(cases)} literal cases, each refused at validate and plan on its attribute")


@pytest.mark.parametrize("version", ["1.0", "1.15"])
@pytest.mark.parametrize("rtype", sorted(MATRIX))
def test_bad_input_from_variables_fails_plan(rtype, version, fresh_emulator, counting_proxy, workdir):
    cases = MATRIX[rtype]
    text, expect = build(rtype, cases, variables=True)
    write_config(workdir, text)
    tf = Terraform(version, workdir, counting_proxy.endpoint)
    tf.init()
    code, diags = diagnostics(tf, "validate")
    assert code == 0 and not diags, f"unknown values pass validate: {diags}"
    code, diags = diagnostics(tf, "plan")
    assert code == 1
    check(expect, diags, f"terraform {version} plan")
    assert set(counting_proxy.calls) <= ALLOWED_CALLS, counting_proxy.calls
    assert leftovers(fresh_emulator, "badinput-dev") == []
    print(f"{rtype}, Terraform {version}: {len(cases)} cases through variables, each refused at plan on its attribute")


def full_cases():
    return [(rtype, c) for rtype in sorted(MATRIX) for c in MATRIX[rtype]]


@pytest.mark.full
@pytest.mark.parametrize("version", ["1.0", "1.15"])
@pytest.mark.parametrize("rtype,case", full_cases(), ids=lambda x: x[0] if isinstance(x, tuple) else x)
def test_each_case_alone(rtype, case, version, fresh_emulator, counting_proxy, workdir):
    """One case per configuration, as a user would meet it."""
    text, expect = build(rtype, [case], variables=False)
    write_config(workdir, text)
    tf = Terraform(version, workdir, counting_proxy.endpoint)
    tf.init()
    cmds = (["plan"],) if (rtype, case[0]) in PLAN_ONLY else (["validate"], ["plan"])
    for cmd in cmds:
        code, diags = diagnostics(tf, *cmd)
        assert code == 1
        check(expect, diags, f"terraform {version} {cmd[0]}")
    assert set(counting_proxy.calls) <= ALLOWED_CALLS, counting_proxy.calls


def test_region_check_with_other_values_unknown(fresh_emulator, counting_proxy, workdir):
    """A zone of another region is refused at plan even when the stack's
    other values are unknown (here a tag taken from another stack that is
    not created yet): the check does not wait for the apply."""
    write_config(
        workdir,
        resource_block("awsstack_docker_host", "a", 'environment = "a"')
        + "\n"
        + resource_block("awsstack_docker_host", "b", 'availability_zone = "us-east-1a"\n  environment = "b"\n  tags = { peer = awsstack_docker_host.a.vpc_id }'),
    )
    tf = Terraform("1.15", workdir, counting_proxy.endpoint)
    tf.init()
    code, diags = diagnostics(tf, "plan")
    assert code == 1
    assert [(d["summary"], d["snippet"]["context"], d["snippet"]["code"].strip()) for d in diags] == [
        ("Invalid availability zone", 'resource "awsstack_docker_host" "b"', 'availability_zone = "us-east-1a"')
    ], diags
    assert set(counting_proxy.calls) <= ALLOWED_CALLS, counting_proxy.calls
    assert leftovers(fresh_emulator, "badinput-a") == [] and leftovers(fresh_emulator, "badinput-b") == []


@pytest.mark.parametrize("version", ["1.0", "1.15"])
def test_read_only_attributes_are_refused(version, fresh_emulator, counting_proxy, workdir):
    """A value for an attribute only the provider sets (`vpc_id`,
    `alb_dns_name`, ...) is refused at validate and plan on that attribute,
    written literally or from a variable (unknown at validate), with no AWS
    call: it would otherwise be silently ignored."""
    write_config(workdir, "")
    tf = Terraform(version, workdir, counting_proxy.endpoint)
    tf.init()
    schemas = json.loads(Terraform("1.15", workdir, counting_proxy.endpoint).run("providers", "schema", "-json").stdout)["provider_schemas"]
    resources = schemas["registry.terraform.io/awsstack/awsstack"]["resource_schemas"]
    total = 0
    for variables in (False, True):
        text, expect = "", []
        for n, rtype in enumerate(sorted(MATRIX)):
            cases = read_only_cases(resources[rtype]["block"])
            assert len(cases) >= 10, f"{rtype}: {cases}"
            t, e = build(rtype, cases, variables=variables, prefix=f"r{n}_")
            # build() numbers lines from the header: shift past earlier types.
            lines_before = text.count("\n")
            text += t
            expect += [(p, s, f"{n}", lo + lines_before, hi + lines_before) for p, s, n, lo, hi in e]
            total += len(cases)
        write_config(workdir, text)
        tf.init()
        for cmd in (["validate"], ["plan"]):
            code, diags = diagnostics(tf, *cmd)
            assert code == 1
            check(expect, diags, f"terraform {version} {cmd[0]} (from variables: {variables})")
    assert set(counting_proxy.calls) <= ALLOWED_CALLS, counting_proxy.calls
    print(f"Terraform {version}: {total // 2} read-only attributes, each refused at validate and plan, literal and from a variable")
