#!/usr/bin/env bash
# The build cache's payoff, side by side in one run:
#   - builds: cold vs warm `archway build` (the local store; see the marked section below);
#   - root filesystems: arm64/bookworm restored from a shared S3 store into an empty cache vs
#     created by `archway rootfs create` (mmdebstrap) in another empty cache.
# Goals (issue 15): a build hit under 2 % of the cold build; a rootfs restore under 10 % of its
# creation.
#
#   bench/cache.sh              # both parts
#   bench/cache.sh --builds     # the builds only (no mmdebstrap run)
#
# The shared store is moto's S3 server (scripts/test.sh installs it into
# /var/cache/archway-test/moto-venv) on a free local port: the restore time is archway's own
# (download, hash, signature check, unpack), with a LAN-fast store. The root filesystem pushed
# is the normal cache's (`~/.cache/archway`, created first when missing). Needs root
# (mmdebstrap, root-owned trees), mmdebstrap, qemu-user-static. Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

builds_only=false
case "${1:-}" in
  --builds) builds_only=true ;;
  "") ;;
  *) echo "usage: bench/cache.sh [--builds]" >&2; exit 2 ;;
esac

moto_server=/var/cache/archway-test/moto-venv/bin/moto_server
if [ ! -x "$moto_server" ]; then
  echo "error: $moto_server is missing" >&2
  echo "hint: run the \"S3 test server\" step of scripts/test.sh" >&2
  exit 1
fi

cargo build --quiet --release -p archway-cli
cargo build --quiet --release -p archway-cache --example shared_rootfs
archway=$PWD/target/release/archway
shared=$PWD/target/release/examples/shared_rootfs
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  archway=$CARGO_TARGET_DIR/release/archway
  shared=$CARGO_TARGET_DIR/release/examples/shared_rootfs
fi

work=$(mktemp -d /var/tmp/archway-bench-cache-XXXXXX)
moto_pid=
cleanup() {
  if [ -n "$moto_pid" ]; then kill "$moto_pid" 2> /dev/null || true; wait "$moto_pid" 2> /dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Wall seconds of a command (its output goes to a log, shown if it fails).
seconds() {
  local start end
  start=$(date +%s.%N)
  if ! "$@" > "$work/log" 2>&1; then
    echo "failed: $*" >&2
    tail -n 40 "$work/log" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
percent() { printf "%.1f" "$(echo "scale=3; 100 * $1 / $2" | bc)"; }

# ---------------------------------------------------------------------------------------------
# Builds: cold vs warm `archway build` of xz-utils (cross, aarch64) and zlib (emulated, arm64).
# Cold: a miss in an empty build cache (the build runs, then its entry is inserted). Warm: a
# clean copy of the same sources in another directory, the same cache: a hit (the key computed,
# the entry verified and its artifacts copied into the copy's build directory).
# The build cache is a fresh ARCHWAY_CACHE_DIR whose `rootfs` and `sysroots` are the normal
# cache's (symlinks): the emulated cold build times the build, not an mmdebstrap run.
# ---------------------------------------------------------------------------------------------
cache=${ARCHWAY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/archway}
printf 'setting up the arm64/bookworm root filesystem in the normal cache...\n'
"$archway" rootfs create --target arm64 --suite bookworm > /dev/null
printf 'fetching xz-utils and zlib (apt-get source)...\n'
mkdir -p "$work/sources"
(cd "$work/sources" && apt-get source --quiet --quiet xz-utils zlib > /dev/null 2>&1) || {
  echo "error: \`apt-get source xz-utils zlib\` failed" >&2
  echo "hint: add deb-src entries to /etc/apt/sources.list.d/ and run \`apt-get update\`" >&2
  exit 1
}
build_cache=$work/build-cache
mkdir -p "$build_cache"
ln -s "$cache/rootfs" "$build_cache/rootfs"
if [ -d "$cache/sysroots" ]; then ln -s "$cache/sysroots" "$build_cache/sysroots"; fi

# cold_and_warm NAME BUILD-ARGUMENTS...: copies the NAME-* tree twice, builds both; prints
# "cold warm".
cold_and_warm() {
  local name=$1 tree cold warm
  shift
  tree=$(find "$work/sources" -mindepth 1 -maxdepth 1 -type d -name "$name-*" | head -n 1)
  mkdir -p "$work/one" "$work/two/elsewhere"
  cp -a "$tree" "$work/one/$name"
  cp -a "$tree" "$work/two/elsewhere/$name"
  cold=$(ARCHWAY_CACHE_DIR=$build_cache seconds "$archway" build "$@" -C "$work/one/$name")
  warm=$(ARCHWAY_CACHE_DIR=$build_cache seconds "$archway" build "$@" -C "$work/two/elsewhere/$name")
  grep -q '^cache hit: ' "$work/log" || {
    echo "error: the warm build of $name was not a cache hit:" >&2
    tail -n 20 "$work/log" >&2
    exit 1
  }
  echo "$cold $warm"
}
printf 'xz-utils for aarch64 (cross): cold, then warm...\n'
cold_and_warm xz-utils --target aarch64 --method cross --build-system configure > "$work/xz.times"
read -r xz_cold xz_warm < "$work/xz.times"
printf 'zlib for arm64 (emulated): cold, then warm...\n'
cold_and_warm zlib --target arm64 --method emulated --build-system configure > "$work/zlib.times"
read -r zlib_cold zlib_warm < "$work/zlib.times"

printf '\n%-36s %10s %10s %12s\n' "archway build" "cold s" "warm s" "warm/cold"
printf '%-36s %10.2f %10.2f %10s %%\n' "xz-utils, aarch64, cross" "$xz_cold" "$xz_warm" "$(percent "$xz_warm" "$xz_cold")"
printf '%-36s %10.2f %10.2f %10s %%\n' "zlib, arm64, emulated" "$zlib_cold" "$zlib_warm" "$(percent "$zlib_warm" "$zlib_cold")"
if $builds_only; then exit 0; fi

# ---------------------------------------------------------------------------------------------
# Root filesystems: restore from the shared store vs creation with mmdebstrap.
# ---------------------------------------------------------------------------------------------
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$moto_server" -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do
  curl --silent --output /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.2
done
curl --silent --fail --request PUT "http://127.0.0.1:$port/archway-bench" > /dev/null
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
url=s3://archway-bench/rootfs

public=$("$shared" keygen bench-1 "$work/bench.secret")
printf 'pushing it to the shared store (moto on port %s)...\n' "$port"
push=$("$shared" push "$url" "$work/bench.secret" "$cache" arm64 bookworm)
size=$(du -sb "$cache/rootfs/arm64-bookworm" | cut -f1)

printf 'restoring it into an empty cache...\n'
restore=$(seconds "$shared" restore "$url" "$public" "$work/restored" arm64 bookworm)
archive=$(tail -n 1 "$work/log" | cut -d' ' -f2)
printf 'creating it with mmdebstrap in another empty cache...\n'
create=$(ARCHWAY_CACHE_DIR=$work/created seconds "$archway" rootfs create --target arm64 --suite bookworm)

printf '\n%-44s %10s\n' "arm64/bookworm root filesystem" "seconds"
printf '%-44s %10.1f\n' "create (archway rootfs create, mmdebstrap)" "$create"
printf '%-44s %10.1f   %s %% of create\n' "restore from the shared store" "$restore" "$(percent "$restore" "$create")"
printf '%-44s %10.1f   (once, by the first machine)\n' "push to the shared store" "$push"
printf 'tree %s MiB, archive %s MiB (tar + zstd -3)\n' "$((size >> 20))" "$((archive >> 20))"
