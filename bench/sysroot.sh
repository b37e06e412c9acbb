#!/bin/sh
# Filling a sysroot with a target architecture's own Debian packages, side by side in one run:
#   - `archway sysroot add --target aarch64 libpng-dev` into an empty cache (cold: apt update,
#     download, unpack, relocate),
#   - the same again on the filled cache (warm: nothing new to fetch),
#   - `mmdebstrap --variant=extract --architectures=arm64 --include=libc6-dev,libpng-dev`, the
#     well-known tool for the same job (it re-downloads everything on every run);
# and the per-call cost of what builds run every time: `archway env` and `archway toolchain list`
# (toolchain discovery runs every compiler's `-dumpfullversion`).
# Prints the median of ROUNDS runs of each and the ratios. Needs the network to Debian's archive.
#
# usage: bench/sysroot.sh [ROUNDS]   (ARCHWAY=path/to/archway to use another binary)
set -eu

rounds=${1:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
archway=${ARCHWAY:-$here/target/release/archway}
[ -x "$archway" ] || { echo "error: no $archway" >&2; echo "hint: cargo build --release -p archway-cli" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# median of the wall times (seconds) of running "$@" ROUNDS times; $setup runs before each.
median() {
    i=0
    : > "$work/times"
    while [ "$i" -lt "$rounds" ]; do
        [ -n "${setup:-}" ] && eval "$setup"
        start=$(date +%s.%N)
        "$@" > /dev/null 2>&1
        end=$(date +%s.%N)
        echo "$end - $start" | bc >> "$work/times"
        i=$((i + 1))
    done
    sort -n "$work/times" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

setup='rm -rf "$work/cold"'
cold=$(ARCHWAY_CACHE_DIR="$work/cold" median "$archway" sysroot add --target aarch64 libpng-dev)
setup=''
ARCHWAY_CACHE_DIR="$work/warm" "$archway" sysroot add --target aarch64 libpng-dev > /dev/null 2>&1
warm=$(ARCHWAY_CACHE_DIR="$work/warm" median "$archway" sysroot add --target aarch64 libpng-dev)
mmdebstrap_time=-
if command -v mmdebstrap > /dev/null; then
    setup='rm -rf "$work/mm"; mkdir "$work/mm"'
    mmdebstrap_time=$(median mmdebstrap --variant=extract --architectures=arm64 \
        --include=libc6-dev,libpng-dev bookworm "$work/mm" http://deb.debian.org/debian)
    setup=''
fi
env_time=$(ARCHWAY_CACHE_DIR="$work/warm" median "$archway" env --target aarch64)
list_time=$(median "$archway" toolchain list)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
printf '| %-72s | %9s | %s |\n' "what (median of $rounds)" "wall time" "vs archway cold"
printf '|%s|%s|%s|\n' "---" "---" "---"
printf '| %-72s | %8.2fs | 1.00x |\n' "archway sysroot add --target aarch64 libpng-dev (empty cache)" "$cold"
printf '| %-72s | %8.2fs | %sx |\n' "archway sysroot add --target aarch64 libpng-dev (already there)" "$warm" "$(ratio "$warm" "$cold")"
if [ "$mmdebstrap_time" != - ]; then
    printf '| %-72s | %8.2fs | %sx |\n' "mmdebstrap --variant=extract --architectures=arm64 (same packages)" "$mmdebstrap_time" "$(ratio "$mmdebstrap_time" "$cold")"
fi
printf '| %-72s | %8.3fs | |\n' "archway env --target aarch64 (writes the four build files)" "$env_time"
printf '| %-72s | %8.3fs | |\n' "archway toolchain list (discovery on this machine's PATH)" "$list_time"
