#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 (bookworm) machine, as root:
#   installs the system packages the tests need, enables deb-src (for `apt-get source`),
#   mounts binfmt_misc, then runs every test, clippy and rustfmt.
# .ci/run runs exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -ne 0 ]; then
  echo "error: the test suite installs packages and registers binfmt entries: run it as root" >&2
  echo "hint: sudo $0" >&2
  exit 1
fi

step() { printf '\n==> %s\n' "$*" >&2; }

# Source packages: the build tests fetch real third-party projects with `apt-get source`.
src_list=/etc/apt/sources.list.d/archway-test-src.sources
if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  step "adding deb-src entries ($src_list)"
  cat > "$src_list" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

step "apt-get update"
# Third-party lists some images carry may be unreachable: Debian's own must succeed.
apt-get update -o Acquire::Retries=3 || echo "warning: apt-get update reported errors (continuing)" >&2

step "installing test packages"
mapfile -t packages < <(grep -vE '^\s*(#|$)' scripts/test-packages.txt)
apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 "${packages[@]}"

# --- S3 test server: the shared-cache tests (crates/archway-cache/tests/shared.rs) start moto's
# real S3 server from this venv. Idempotent: made once, kept in a fixed place.
moto_venv=/var/cache/archway-test/moto-venv
# Pinned to the version the tests were written against; any other state makes the venv anew.
# (`pip show` read to the end: `grep -q` would close the pipe early and pipefail count it.)
if [ "$("$moto_venv/bin/pip" show moto 2>/dev/null | sed -n 's/^Version: //p')" != 5.2.5 ]; then
  step "installing moto's S3 server into $moto_venv"
  rm -rf "$moto_venv"
  mkdir -p "$(dirname "$moto_venv")"
  /usr/bin/python3 -m venv "$moto_venv"
  "$moto_venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.5'
fi

if ! grep -qs 'binfmt_misc /proc/sys/fs/binfmt_misc' /proc/mounts; then
  step "mounting binfmt_misc"
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
# CI=true makes tests that need root, the kernel or a tool fail instead of skipping.
CI="${CI:-true}" cargo test --workspace --locked --no-fail-fast
