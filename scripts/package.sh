#!/usr/bin/env bash
# Builds the provider and writes its release in the layout the Terraform
# registry protocol, a private registry and `terraform providers mirror`
# use, under dist/ (or $1):
#   release/terraform-provider-awsstack_<version>_<os>_<arch>.zip
#   release/terraform-provider-awsstack_<version>_manifest.json   (protocol 6.0)
#   release/terraform-provider-awsstack_<version>_SHA256SUMS
#   mirror/registry.terraform.io/awsstack/awsstack/...             (a filesystem mirror of the same archive)
# The version comes from Cargo.toml alone. The archive is reproducible (fixed
# timestamps), so its lock-file hash depends on the binary only.
# SKIP_BUILD=1 packages the binary already built.
set -euo pipefail
. "$(dirname "$0")/lib-release.sh"
OUT=$(mkdir -p "${1:-$ROOT/dist}" && cd "${1:-$ROOT/dist}" && pwd)
build_release
PY=python3
[ -x "$ROOT/.tools/venv/bin/python" ] && PY="$ROOT/.tools/venv/bin/python"
REL="$OUT/release"
MIRROR="$OUT/mirror/registry.terraform.io/awsstack/awsstack"
mkdir -p "$REL" "$MIRROR"
ZIP="terraform-provider-awsstack_${VERSION}_${OS}_${ARCH}.zip"
"$PY" - "$BINARY" "$EXE_NAME" "$REL/$ZIP" <<'PY'
import os, sys, zipfile
binary, name, out = sys.argv[1:]
info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
info.create_system = 3  # Unix, so that the mode above is honoured
with open(binary, "rb") as f, zipfile.ZipFile(out + ".part", "w") as z:
    z.writestr(info, f.read())
os.replace(out + ".part", out)
PY
printf '{"version":1,"metadata":{"protocol_versions":["6.0"]}}\n' > "$REL/terraform-provider-awsstack_${VERSION}_manifest.json"
(cd "$REL" && sha256sum "$ZIP" "terraform-provider-awsstack_${VERSION}_manifest.json" > "terraform-provider-awsstack_${VERSION}_SHA256SUMS")
cp -f "$REL/$ZIP" "$MIRROR/$ZIP"
echo "packaged awsstack/awsstack $VERSION for ${OS}_${ARCH}:"
(cd "$OUT" && find release mirror -type f | sort | sed 's/^/  /')
