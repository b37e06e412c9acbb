#!/usr/bin/env bash
# The emulated method's cost, in one run: the same project (zlib from `apt-get source`, configure
# + make) built natively, by cross compilation, and emulated in an arm64 root filesystem — by
# hand with bubblewrap, and by archway (first and second build with the cached root filesystem).
# Prints wall times and ratios, and the root filesystem's creation time and size.
#
#   bench/emulated.sh            use the root filesystem in the normal cache (created if missing)
#   bench/emulated.sh --cold     also create one from scratch in a temporary cache and time it
#
# Needs root (binfmt_misc, mmdebstrap), deb-src entries, gcc-aarch64-linux-gnu, qemu-user-static,
# mmdebstrap, bubblewrap. Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

cold=false
[ "${1:-}" = "--cold" ] && cold=true
jobs=$(nproc)

cargo build --quiet --release -p archway-cli
archway=$PWD/target/release/archway

# Not under /tmp: the sandbox's /tmp is its own tmpfs, and a project elsewhere is the usual case.
work=$(mktemp -d /var/tmp/archway-bench-emulated-XXXXXX)
registered=""
cleanup() {
  rm -rf "$work"
  if [ -n "$registered" ]; then echo -1 > "/proc/sys/fs/binfmt_misc/$registered"; fi
}
trap cleanup EXIT

# A binfmt entry for aarch64 if none is there (removed at exit).
if ! grep -qs 'magic 7f454c460201010000000000000000000200b700' /proc/sys/fs/binfmt_misc/*; then
  grep -qs binfmt_misc /proc/mounts || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  registered=archway-bench-aarch64-$$
  printf '%s' ":$registered:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/bin/qemu-aarch64-static:F" \
    > /proc/sys/fs/binfmt_misc/register
fi

(cd "$work" && apt-get source --quiet --quiet zlib > /dev/null 2>&1)
source_dir=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'zlib-*')
fresh() { rm -rf "$work/$1"; cp -a "$source_dir" "$work/$1"; echo "$work/$1"; }

# Wall seconds of a command (its output goes to a log, shown if it fails).
seconds() {
  local start end
  start=$(date +%s.%N)
  if ! "$@" > "$work/log" 2>&1; then
    echo "failed: $*" >&2
    tail -n 30 "$work/log" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
ratio() { echo "scale=1; $1 / $2" | bc; }

printf 'zlib %s, %s jobs, %s\n\n' "$(basename "$source_dir")" "$jobs" "$(uname -m)"

dir=$(fresh native)
native=$(seconds sh -c "cd '$dir' && ./configure && make -j$jobs")

# zlib's configure takes the cross prefix from CHOST (it sets CC, AR, RANLIB from it).
dir=$(fresh cross)
cross=$(seconds sh -c "cd '$dir' && CHOST=aarch64-linux-gnu ./configure && make -j$jobs")

if $cold; then
  cold_cache="$work/cache"
  creation=$(seconds env ARCHWAY_CACHE_DIR="$cold_cache" "$archway" rootfs create --target arm64)
  size=$(du -sxh "$cold_cache/rootfs/arm64-bookworm" | cut -f1)
  printf 'root filesystem arm64/bookworm, created now: %8.1f s, %s\n' "$creation" "$size"
  rm -rf "$cold_cache"
fi
tree=$("$archway" rootfs create --target arm64 2>/dev/null)
"$archway" rootfs list --json | python3 -c '
import json, sys
for info in json.load(sys.stdin):
    if info["name"] == "arm64-bookworm":
        print("root filesystem arm64/bookworm, cached: created in %.0f s, %.0f MiB" % (info["creation_seconds"], info["size_bytes"] / 2**20))
'

# By hand: the same tree and sandbox shape, bwrap run directly.
dir=$(fresh hand)
# (/var/tmp of the tree is read-only: a tmpfs over it gives the bind below its mount point.)
hand=$(seconds bwrap --ro-bind "$tree" / --proc /proc --dev /dev --tmpfs /tmp --tmpfs /var/tmp \
  --bind "$dir" "$dir" --chdir "$dir" --unshare-net /bin/sh -c "./configure && make -j$jobs")

# archway: the project's own steps (configure, make) detected and run in the sandbox. zlib's
# CMake file needs win32/, which Debian's dfsg tarball leaves out: configure is chosen.
archway_build() {
  "$archway" build --target arm64 --method emulated --build-system configure -j "$jobs" -C "$1"
}
dir=$(fresh archway-first)
first=$(seconds archway_build "$dir")
dir=$(fresh archway-second)
second=$(seconds archway_build "$dir")

echo
printf '%-34s %8s %9s\n' "build (configure + make)" "seconds" "× native"
printf '%-34s %8.1f %9s\n' "native (x86_64)" "$native" "1.0"
printf '%-34s %8.1f %9s\n' "cross (aarch64-linux-gnu-gcc)" "$cross" "$(ratio "$cross" "$native")"
printf '%-34s %8.1f %9s\n' "emulated by hand (bwrap + QEMU)" "$hand" "$(ratio "$hand" "$native")"
printf '%-34s %8.1f %9s\n' "archway emulated, first build" "$first" "$(ratio "$first" "$native")"
printf '%-34s %8.1f %9s\n' "archway emulated, second build" "$second" "$(ratio "$second" "$native")"
echo
printf 'emulated / cross: %s×; archway / by hand: %s (first), %s (second)\n' \
  "$(ratio "$hand" "$cross")" "$(echo "scale=3; $first / $hand" | bc)" "$(echo "scale=3; $second / $hand" | bc)"
