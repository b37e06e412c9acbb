#!/usr/bin/env bash
# What the multiarch view of a cross sysroot costs each sandbox start, side by side in one run:
#   plain: bwrap over the host's / with one bind (how a cross build without a sysroot starts)
#   view:  the same with /usr, /usr/lib and /usr/include carved as archway carves them for the
#          view (host_sandbox::multiarch_view): every host entry of /usr/lib and /usr/include a
#          bind of its own, the sysroot's entries the host lacks as links into the sysroot
# Each round times ROUNDS starts of `true` both ways, alternating; prints the medians of the
# per-start times and the difference, which is what every step of a cross build with a
# sysroot pays (a build starts the sandbox once per step, plus one start check).
# usage: bench/multiarch-view.sh [SYSROOT] [ROUNDS]
#   SYSROOT: a sysroot tree (default: archway's bookworm-arm64 one in ~/.cache/archway)
set -euo pipefail
sysroot=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/archway/sysroots/bookworm-arm64/root}
rounds=${2:-5}
starts=20
[ -d "$sysroot/usr/lib" ] || {
    echo "error: no sysroot at $sysroot" >&2
    echo "hint: archway sysroot add --target aarch64 zlib1g-dev" >&2
    exit 1
}
command -v bwrap >/dev/null || { echo "error: bwrap is not installed" >&2; echo "hint: apt-get install bubblewrap" >&2; exit 1; }

common=(--unshare-user --unshare-pid --unshare-net --die-with-parent)
plain=(--ro-bind / / "${common[@]}")
view=(--tmpfs / --proc /proc --dev /dev)
for entry in /*; do
    case $entry in /proc|/dev|/usr) continue ;; esac
    if [ -L "$entry" ]; then view+=(--symlink "$(readlink "$entry")" "$entry"); else view+=(--ro-bind "$entry" "$entry"); fi
done
view+=(--dir /usr)
for entry in /usr/*; do
    case $entry in /usr/lib|/usr/include) view+=(--dir "$entry") ;; *) view+=(--ro-bind "$entry" "$entry") ;; esac
done
binds=0
for dir in lib include; do
    for entry in /usr/$dir/*; do view+=(--ro-bind "$entry" "$entry"); binds=$((binds + 1)); done
    for entry in "$sysroot"/usr/$dir/*; do
        name=$(basename "$entry")
        [ -e "/usr/$dir/$name" ] || [ -L "/usr/$dir/$name" ] || view+=(--symlink "$entry" "/usr/$dir/$name")
    done
done
view+=("${common[@]}")

time_us() { # median-free: mean of $starts starts, in microseconds
    local start
    start=$(date +%s%N)
    for _ in $(seq "$starts"); do bwrap "$@" true; done
    echo $((($(date +%s%N) - start) / starts / 1000))
}
bwrap "${view[@]}" sh -c 'test -d /usr/lib && test -d /usr/include' ||
    { echo "error: the carved sandbox does not start" >&2; exit 1; }
plain_times=() view_times=()
for _ in $(seq "$rounds"); do
    plain_times+=("$(time_us "${plain[@]}")")
    view_times+=("$(time_us "${view[@]}")")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
p=$(median "${plain_times[@]}") v=$(median "${view_times[@]}")
echo "host entries bound in /usr/lib and /usr/include: $binds"
echo "plain start: ${p} us   view start: ${v} us   the view adds: $((v - p)) us per start (median of $rounds rounds of $starts)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
