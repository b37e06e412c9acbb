#!/bin/sh
# Process wall time of `archway platform show aarch64-multiplatform` (goal: under 5 ms), side
# by side in one hyperfine run with the same question asked of Debian's tool,
# `dpkg-architecture -a arm64 -q DEB_HOST_GNU_TYPE`, and with `archway --version` (the cost of
# starting the binary at all).
#
# Needs hyperfine (Debian package `hyperfine`). Builds archway in release mode first.
#
# usage: bench/platform-show.sh [RUNS]   (ARCHWAY=path/to/archway to use another binary)
set -eu

runs=${1:-200}
here=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v hyperfine >/dev/null 2>&1; then
    echo "error: hyperfine is not installed" >&2
    echo "hint: apt-get install -y hyperfine" >&2
    exit 1
fi
if [ -z "${ARCHWAY:-}" ]; then
    (cd "$here" && cargo build --release --quiet -p archway-cli)
    ARCHWAY="$here/target/release/archway"
fi

hyperfine -N --warmup 20 --runs "$runs" \
    --command-name "archway platform show aarch64-multiplatform" \
    "$ARCHWAY platform show aarch64-multiplatform" \
    --command-name "archway platform show linux/arm/v7 --json" \
    "$ARCHWAY platform show linux/arm/v7 --json" \
    --command-name "archway inspect $ARCHWAY" \
    "$ARCHWAY inspect $ARCHWAY" \
    --command-name "archway --version (process start)" \
    "$ARCHWAY --version" \
    --command-name "dpkg-architecture -a arm64 -q DEB_HOST_GNU_TYPE" \
    "dpkg-architecture -a arm64 -q DEB_HOST_GNU_TYPE"
