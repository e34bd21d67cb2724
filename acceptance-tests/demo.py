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
        tf.destroy(*example_vars(example, emu))
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
    tf.init()
    p = tf.apply(*example_vars(example, emu))
    print(p.stdout[-1500:])
    print(tf.run("output", "-no-color").stdout)
    print(f"To destroy the stack and stop the emulator: scripts/demo.sh destroy {example}")


if __name__ == "__main__":
    main()
