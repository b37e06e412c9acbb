#!/usr/bin/env bash
# The four build methods side by side, in one run: zlib and xz-utils (Debian sources, built with
# their `configure`) built and tested by `archway test` with --method native (x86_64, for
# scale), cross, hybrid and emulated for one target, each into a fresh build directory. Prints
# wall seconds and each method's ratio to cross, and the native prefix's creation time and size.
#
#   bench/methods.sh                 aarch64 (arm64/bookworm root filesystem)
#   bench/methods.sh riscv64         riscv64 (riscv64/trixie)
#   bench/methods.sh aarch64 zlib    one project only
#
# Root filesystems and prefixes come from the normal cache (created first, and timed, when
# missing: `--cold` in the environment, ARCHWAY_BENCH_COLD=1, makes the prefix in a fresh cache
# to time its creation). Needs root (binfmt_misc, mmdebstrap), deb-src entries, the target's
# cross gcc, qemu-user-static, mmdebstrap, bubblewrap. Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:-aarch64}
shift || true
projects=("$@")
[ ${#projects[@]} -eq 0 ] && projects=(zlib xz-utils)
case "$target" in
  aarch64 | arm64) target=aarch64-linux; debian=arm64; suite=bookworm ;;
  riscv64) target=riscv64-linux; debian=riscv64; suite=trixie ;;
  *) echo "usage: $0 [aarch64|riscv64] [zlib] [xz-utils]" >&2; exit 1 ;;
esac

cargo build --quiet --release -p archway-cli
archway=$PWD/target/release/archway

work=$(mktemp -d /var/tmp/archway-bench-methods-XXXXXX)
qemu=${target%%-linux}
# `--setup` below registers QEMU's entry when none runs the target: remove it again at the end
# (only when this run made it; an entry someone else registered stays).
had_entry=false
[ -e "/proc/sys/fs/binfmt_misc/qemu-$qemu" ] && had_entry=true
cleanup() {
  rm -rf "$work"
  if ! $had_entry; then "$archway" binfmt uninstall "qemu-$qemu" > /dev/null 2>&1 || true; fi
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
ratio() { echo "scale=2; $1 / $2" | bc; }

# The root filesystem, the prefix and the view, before anything is timed (a build's own time
# should not include creating them): a command build creates all three and runs `true` inside.
printf 'setting up the %s/%s root filesystem and native prefix...\n' "$debian" "$suite"
mkdir -p "$work/empty"
setup=$(seconds "$archway" build --target "$target" --method hybrid --setup -C "$work/empty" -- true)
"$archway" rootfs list --json | python3 -c '
import json, sys
for info in json.load(sys.stdin):
    name = info.get("name", "")
    if name.startswith("prefix-'"$suite"'-amd64-for-'"$debian"'"):
        print("native prefix %s: created in %.0f s, %.0f MiB" % (name, info.get("creation_seconds", 0), info["size_bytes"] / 2**20))
' || true
printf 'set-up (from the cache, or created now): %.1f s\n\n' "$setup"

printf '%-9s %-9s %9s %9s\n' PROJECT METHOD SECONDS "/CROSS"
for project in "${projects[@]}"; do
  (cd "$work" && apt-get source --quiet --quiet "$project" > /dev/null 2>&1)
  source_dir=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name "${project}-*" | head -n 1)
  declare -A time=()
  for method in native cross hybrid emulated; do
    build_target=$target
    [ "$method" = native ] && build_target=x86_64-linux
    rm -rf "$work/build"
    time[$method]=$(seconds "$archway" test --target "$build_target" --method "$method" \
      --build-system configure --build-dir "$work/build" -C "$source_dir")
  done
  for method in native cross hybrid emulated; do
    printf '%-9s %-9s %9.1f %9s\n' "$project" "$method" "${time[$method]}" "$(ratio "${time[$method]}" "${time[cross]}")"
  done
  unset time
done
