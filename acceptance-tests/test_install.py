"""The README's "Use it in your own configuration": from a fresh HOME,
scripts/install.sh puts the provider in Terraform's implied local mirror, and
`terraform init && terraform plan` of examples/kavak works with no CLI
configuration file on both Terraform versions, writing a lock file with the
provider's hash. scripts/package.sh writes the registry release layout, and
`terraform providers lock -fs-mirror` over it records the same hash."""

import hashlib
import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from harness import PROVIDER_BIN, PROVIDER_VERSION, ROOT, TERRAFORMS, copy_example

REQUIRED = 'terraform {\n  required_providers {\n    awsstack = { source = "awsstack/awsstack" }\n  }\n}\n'


def clean_env(home: Path, endpoint: str | None = None) -> dict:
    """A user's shell: a HOME of its own, no TF_CLI_CONFIG_FILE, no
    plugin cache; AWS credentials from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
    env.update({"HOME": str(home), "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "SKIP_BUILD": "1"})
    if endpoint:
        env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": endpoint})
    return env


def run(args, cwd, env, check=True):
    p = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
    return p


def lock_hashes(lock: Path) -> list[str]:
    text = lock.read_text()
    block = re.search(r'provider "registry.terraform.io/awsstack/awsstack" \{(.*?)\n\}', text, re.S)
    assert block, text
    assert f'version     = "{PROVIDER_VERSION}"' in block.group(1) or f'version = "{PROVIDER_VERSION}"' in block.group(1), block.group(1)
    return re.findall(r'"((?:h1|zh):[^"]+)"', block.group(1))


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """scripts/package.sh output, with the binary the suite built."""
    out = tmp_path_factory.mktemp("dist")
    run(["bash", ROOT / "scripts" / "package.sh", out], ROOT, clean_env(tmp_path_factory.mktemp("home")))
    return out


def test_package_writes_the_registry_release_layout(packaged):
    rel = packaged / "release"
    zip_name = f"terraform-provider-awsstack_{PROVIDER_VERSION}_linux_amd64.zip"
    manifest = rel / f"terraform-provider-awsstack_{PROVIDER_VERSION}_manifest.json"
    sums = rel / f"terraform-provider-awsstack_{PROVIDER_VERSION}_SHA256SUMS"
    assert sorted(p.name for p in rel.iterdir()) == sorted([zip_name, manifest.name, sums.name])
    assert json.loads(manifest.read_text()) == {"version": 1, "metadata": {"protocol_versions": ["6.0"]}}
    with zipfile.ZipFile(rel / zip_name) as z:
        assert z.namelist() == [f"terraform-provider-awsstack_v{PROVIDER_VERSION}"]
        assert z.read(z.namelist()[0]) == PROVIDER_BIN.read_bytes()
        assert (z.infolist()[0].external_attr >> 16) & 0o111, "the executable bit survives the archive"
    listed = dict(reversed(line.split()) for line in sums.read_text().splitlines())
    assert set(listed) == {zip_name, manifest.name}
    for name, digest in listed.items():
        assert hashlib.sha256((rel / name).read_bytes()).hexdigest() == digest, name
    mirrored = packaged / "mirror" / "registry.terraform.io" / "awsstack" / "awsstack" / zip_name
    assert mirrored.read_bytes() == (rel / zip_name).read_bytes()
    # Reproducible: packaging the same binary again gives the same archive.
    again = packaged.parent / "dist-again"
    run(["bash", ROOT / "scripts" / "package.sh", again], ROOT, clean_env(packaged.parent))
    assert (again / "release" / zip_name).read_bytes() == (rel / zip_name).read_bytes()


@pytest.mark.parametrize("version", ["1.0", "1.15"])
def test_install_then_init_and_plan_with_no_cli_config(version, packaged, fresh_emulator, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home, fresh_emulator.endpoint)
    p = run(["bash", ROOT / "scripts" / "install.sh"], ROOT, env)
    exe = home / ".terraform.d" / "plugins" / "registry.terraform.io" / "awsstack" / "awsstack" / PROVIDER_VERSION / "linux_amd64" / f"terraform-provider-awsstack_v{PROVIDER_VERSION}"
    assert exe.read_bytes() == PROVIDER_BIN.read_bytes() and os.access(exe, os.X_OK), p.stdout
    run(["bash", ROOT / "scripts" / "install.sh"], ROOT, env)  # idempotent

    work = copy_example("kavak", tmp_path / "kavak")
    tf = TERRAFORMS[version]
    run([tf, "init", "-no-color"], work, env)
    hashes = lock_hashes(work / ".terraform.lock.hcl")
    assert any(h.startswith("h1:") for h in hashes), hashes
    plan = run([tf, "plan", "-no-color", "-detailed-exitcode"], work, env, check=False)
    assert plan.returncode == 2, plan.stdout[-3000:] + plan.stderr[-3000:]
    assert "awsstack_container_service.app will be created" in plan.stdout

    # The release archive locks to the same hash as the installed binary.
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "versions.tf").write_text(REQUIRED)
    run([tf, "providers", "lock", f"-fs-mirror={packaged / 'mirror'}", "-platform=linux_amd64"], locked, env)
    from_mirror = lock_hashes(locked / ".terraform.lock.hcl")
    # A filesystem mirror gives the h1: hash (of the archive's content);
    # zh: hashes come only from a registry's signed SHA256SUMS.
    assert [h for h in from_mirror if h.startswith("h1:")] == [h for h in hashes if h.startswith("h1:")], (hashes, from_mirror)
