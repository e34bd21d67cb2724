"""The protocol server under load: 20 Docker host stacks in one
configuration, applied and destroyed with `-parallelism=20`. Every apply
and destroy completes, nothing is orphaned, and the provider's peak RSS is
reported (and bounded)."""

import json
import threading
import time
from pathlib import Path

from harness import Terraform, leftovers, moto_ami, orphans, provider_pids, write_config

N = 20


def peak_rss_kib(endpoint, stop, result):
    """Samples VmHWM of the provider processes talking to `endpoint`."""
    while not stop.is_set():
        for pid in provider_pids(endpoint):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            result.extend(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        time.sleep(0.1)


def test_twenty_stacks_in_parallel(fresh_emulator, workdir):
    emu = fresh_emulator
    write_config(
        workdir,
        f"""variable "ami_id" {{
  type = string
}}

resource "awsstack_docker_host" "load" {{
  count          = {N}
  project_name   = "load-${{count.index}}"
  environment    = "lt"
  ami_id         = var.ami_id
  enable_budgets = false
}}

output "ids" {{
  value = awsstack_docker_host.load[*].id
}}
""",
    )
    (workdir / "t.auto.tfvars.json").write_text(json.dumps({"ami_id": moto_ami(emu)}))
    tf = Terraform("1.15", workdir, emu.endpoint)
    tf.init()
    samples: list[int] = []
    stop = threading.Event()
    t = threading.Thread(target=peak_rss_kib, args=(emu.endpoint, stop, samples), daemon=True)
    t.start()
    t0 = time.time()
    tf.apply("-parallelism=20")
    apply_s = time.time() - t0
    ids = tf.outputs()["ids"]
    assert sorted(ids) == sorted(f"load-{i}-lt" for i in range(N))
    for i in range(N):
        assert orphans(emu, f"load-{i}-lt", tf) == []
    t0 = time.time()
    tf.destroy("-parallelism=20")
    destroy_s = time.time() - t0
    stop.set()
    t.join()
    for i in range(N):
        assert leftovers(emu, f"load-{i}-lt") == []
    peak = max(samples) / 1024 if samples else 0
    print(f"load: {N} stacks, apply {apply_s:.1f} s, destroy {destroy_s:.1f} s, provider peak RSS {peak:.1f} MiB")
    assert samples, "the provider process was observed"
    assert peak < 200, f"peak RSS {peak:.1f} MiB"
