#!/usr/bin/env bash
# Builds the provider and installs it in Terraform's implied local mirror,
# so that `terraform init` finds `source = "awsstack/awsstack"` in any
# directory, with no CLI configuration file, and records its hash in
# .terraform.lock.hcl:
#   ~/.terraform.d/plugins/registry.terraform.io/awsstack/awsstack/<version>/<os>_<arch>/terraform-provider-awsstack_v<version>
# Idempotent. SKIP_BUILD=1 installs the binary already built.
set -euo pipefail
. "$(dirname "$0")/lib-release.sh"
build_release
DEST="${HOME}/.terraform.d/plugins/registry.terraform.io/awsstack/awsstack/$VERSION/${OS}_${ARCH}"
mkdir -p "$DEST"
# Through a temporary name, so that a Terraform running now never sees a
# half-copied executable.
install -m 0755 "$BINARY" "$DEST/.$EXE_NAME.part"
mv -f "$DEST/.$EXE_NAME.part" "$DEST/$EXE_NAME"
echo "installed awsstack/awsstack $VERSION for ${OS}_${ARCH} in $DEST"
