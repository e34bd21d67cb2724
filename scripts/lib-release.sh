# Shared by install.sh and package.sh: the provider's version (from
# Cargo.toml alone), Terraform's name for this platform, and the built binary.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -1)
[ -n "$VERSION" ] || { echo "no version in Cargo.toml" >&2; exit 1; }
case "$(uname -s)" in
  Linux) OS=linux ;;
  Darwin) OS=darwin ;;
  *) echo "unsupported OS $(uname -s)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) ARCH=amd64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) echo "unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
BINARY="${CARGO_TARGET_DIR:-$ROOT/target}/release/terraform-provider-awsstack"
# The name Terraform gives a provider executable inside a release archive.
EXE_NAME="terraform-provider-awsstack_v$VERSION"

build_release() {
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release --locked -q)
  fi
  test -x "$BINARY" || { echo "no provider binary at $BINARY (build with cargo build --release)" >&2; exit 1; }
}
