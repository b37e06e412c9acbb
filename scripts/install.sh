#!/usr/bin/env bash
# Set everything up on a fresh Debian 12 (bookworm) machine and run archway's main job:
#   1. install the system packages archway drives (QEMU user mode, a riscv64 cross toolchain,
#      CMake/Meson, mmdebstrap, and bubblewrap: every method runs build steps in its sandbox),
#   2. install the `archway` binary with cargo (into ~/.cargo/bin),
#   3. build examples/hello for riscv64 and run its tests under emulation.
# Run as root (or with sudo): it calls apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -ne 0 ]; then
  echo "error: installing system packages needs root" >&2
  echo "hint: sudo $0" >&2
  exit 1
fi
if ! command -v cargo >/dev/null; then
  echo "error: cargo (Rust 1.85 or newer) is not installed" >&2
  echo "hint: install Rust from https://rustup.rs, then run $0 again" >&2
  exit 1
fi

step() { printf '\n==> %s\n' "$*" >&2; }

step "installing system packages"
apt-get update -o Acquire::Retries=3 || echo "warning: apt-get update reported errors (continuing)" >&2
apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 \
  build-essential pkg-config cmake ninja-build meson \
  qemu-user-static gcc-riscv64-linux-gnu g++-riscv64-linux-gnu \
  mmdebstrap bubblewrap uidmap arch-test dpkg-dev

step "installing archway (cargo install)"
cargo install --locked --path crates/archway-cli
archway="${CARGO_HOME:-$HOME/.cargo}/bin/archway"

step "the main job: build examples/hello for riscv64 and test it under QEMU"
"$archway" platform show riscv64
"$archway" build --target riscv64 -C examples/hello
"$archway" test --target riscv64 -C examples/hello
"$archway" inspect examples/hello/build/archway/riscv64-unknown-linux-gnu/hello
