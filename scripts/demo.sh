#!/usr/bin/env bash
# The main job: set up (idempotent), start the local AWS emulator, apply
# an example (default examples/kauri; `scripts/demo.sh kavak` for the
# container service, `scripts/demo.sh luneo` for the multi-region platform,
# state in the seed's S3 backend with DynamoDB locking on the emulator) with
# the real Terraform CLI and print its outputs.
#   scripts/demo.sh            apply and print the outputs
#   scripts/demo.sh destroy [example]   destroy the stack and stop the emulator
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/setup.sh"
exec "$ROOT/.tools/venv/bin/python" "$ROOT/acceptance-tests/demo.py" "$@"
