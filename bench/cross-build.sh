#!/bin/sh
# Wall time of the same zlib cross build for aarch64, three ways side by side in one run:
#   hand:       CC=aarch64-linux-gnu-gcc AR=... RANLIB=... ../zlib/configure && make -jN
#   archway:    archway build --method cross --target aarch64 --build-system configure
#               (every step in the host sandbox: bubblewrap, the sandbox's id when root)
#   unboxed:    the same with --no-sandbox (steps straight on the host)
# Each round starts from an empty build directory (out of tree, same source, same -j), the
# ways alternate so machine load hits them alike; the build cache is off (it would restore
# the second round). Prints each median, archway's overhead and the sandbox's share of it.
#
# zlib comes from Debian's source archive (`apt-get source zlib`, needs deb-src entries).
# usage: bench/cross-build.sh [ROUNDS]   (ARCHWAY=path/to/archway to use another binary)
set -eu

rounds=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-ar apt-get make; do
    command -v "$tool" >/dev/null || {
        echo "error: \`$tool\` is not installed" >&2
        echo "hint: apt-get install gcc-aarch64-linux-gnu make" >&2
        exit 1
    }
done
if [ -z "${ARCHWAY:-}" ]; then
    (cd "$here" && cargo build --release -q -p archway-cli)
    ARCHWAY=$here/target/release/archway
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/archway-cross-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
(cd "$work" && apt-get source -q zlib >/dev/null 2>&1) || {
    echo "error: \`apt-get source zlib\` failed" >&2
    echo "hint: add a deb-src entry (see scripts/test.sh) and run \`apt-get update\`" >&2
    exit 1
}
source=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'zlib-*' | head -n 1)

# An empty cache: no archway sysroot, so both builds compile against the toolchain's own libc.
export ARCHWAY_CACHE_DIR="$work/cache"
export ARCHWAY_CACHE_ENABLED=false

now() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

hand_times=""
archway_times=""
unboxed_times=""
for i in $(seq "$rounds"); do
    rm -rf "$work/hand" "$work/archway" "$work/unboxed"
    mkdir "$work/hand"
    start=$(now)
    (cd "$work/hand" &&
        CC=aarch64-linux-gnu-gcc AR=aarch64-linux-gnu-ar RANLIB=aarch64-linux-gnu-ranlib \
            "$source/configure" >/dev/null &&
        make -j"$jobs" >/dev/null 2>&1)
    hand_times="$hand_times $(( ($(now) - start) / 1000000 ))"

    start=$(now)
    "$ARCHWAY" -q build --method cross --target aarch64 --build-system configure \
        -C "$source" --build-dir "$work/archway" -j "$jobs" >/dev/null 2>&1
    archway_times="$archway_times $(( ($(now) - start) / 1000000 ))"

    start=$(now)
    "$ARCHWAY" -q build --no-sandbox --method cross --target aarch64 --build-system configure \
        -C "$source" --build-dir "$work/unboxed" -j "$jobs" >/dev/null 2>&1
    unboxed_times="$unboxed_times $(( ($(now) - start) / 1000000 ))"
    echo "round $i: hand $(echo $hand_times | awk '{print $NF}') ms, archway $(echo $archway_times | awk '{print $NF}') ms, --no-sandbox $(echo $unboxed_times | awk '{print $NF}') ms" >&2
done

# Both built the same library for the same machine.
for dir in hand archway unboxed; do
    file "$work/$dir/libz.so.1."* | grep -q 'ARM aarch64' || {
        echo "error: $dir did not build an aarch64 libz.so" >&2
        exit 1
    }
done

# archway's fixed cost, without the compiler's: the same builds again, everything up to date
# (hand: `make`; archway: toolchain discovery, generated files, configure skipped, `make`).
noop_hand=""
noop_archway=""
noop_unboxed=""
for i in $(seq "$rounds"); do
    start=$(now)
    make -C "$work/hand" >/dev/null 2>&1
    noop_hand="$noop_hand $(( ($(now) - start) / 1000000 ))"
    start=$(now)
    "$ARCHWAY" -q build --method cross --target aarch64 --build-system configure \
        -C "$source" --build-dir "$work/archway" -j "$jobs" >/dev/null 2>&1
    noop_archway="$noop_archway $(( ($(now) - start) / 1000000 ))"
    start=$(now)
    "$ARCHWAY" -q build --no-sandbox --method cross --target aarch64 --build-system configure \
        -C "$source" --build-dir "$work/unboxed" -j "$jobs" >/dev/null 2>&1
    noop_unboxed="$noop_unboxed $(( ($(now) - start) / 1000000 ))"
done

hand=$(echo $hand_times | tr ' ' '\n' | median)
archway=$(echo $archway_times | tr ' ' '\n' | median)
unboxed=$(echo $unboxed_times | tr ' ' '\n' | median)
printf '\nzlib for aarch64, configure + make -j%s, median of %s rounds\n' "$jobs" "$rounds"
printf '%-44s %8s ms\n' "hand-set cross environment" "$hand"
printf '%-44s %8s ms\n' "archway build --method cross --target aarch64" "$archway"
printf '%-44s %8s ms\n' "the same with --no-sandbox" "$unboxed"
awk -v a="$archway" -v h="$hand" 'BEGIN { printf "archway / hand: %.3f (overhead %+.1f %%)\n", a / h, (a / h - 1) * 100 }'
awk -v a="$archway" -v u="$unboxed" 'BEGIN { printf "sandboxed / --no-sandbox: %.3f (%+.1f %%)\n", a / u, (a / u - 1) * 100 }'
printf '\nup-to-date rebuild (fixed cost), median of %s rounds\n' "$rounds"
printf '%-44s %8s ms\n' "make" "$(echo $noop_hand | tr ' ' '\n' | median)"
printf '%-44s %8s ms\n' "archway build (same build directory)" "$(echo $noop_archway | tr ' ' '\n' | median)"
printf '%-44s %8s ms\n' "the same with --no-sandbox" "$(echo $noop_unboxed | tr ' ' '\n' | median)"
