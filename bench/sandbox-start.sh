#!/bin/bash
# What starting one sandboxed command costs as root, and how much of it is the helper that
# makes the two-id user namespace (crates/archway-rootfs/src/sandbox.rs, `two_id_namespace`):
# in one run, ROUNDS times each (bwrap and step interleaved), median wall time of
#   helper   the helper alone: `setpriv` (to the sandbox id) + `unshare --user` + `sh`, its
#            "ready", root writing both lines of uid_map and gid_map, the end of its input;
#   bwrap    a bare `bwrap --dev-bind / / true` (bubblewrap's own start, for scale);
#   step     `archway build --method native -- true` in an empty project: one whole sandboxed
#            command as a build runs it (planning, the probe, the step), helper included.
# The helper runs once per sandboxed command (each build step and the probe), so
# helper / step is the share it adds to the shortest possible step.
#
# Needs root, bubblewrap and util-linux. ARCHWAY names the binary (default: target/release).
# usage: sudo bench/sandbox-start.sh [ROUNDS]
set -euo pipefail

rounds=${1:-30}
here=$(cd "$(dirname "$0")/.." && pwd)
archway=${ARCHWAY:-$here/target/release/archway}
id=65534

if [ "$(id -u)" != 0 ]; then
    echo "error: bench/sandbox-start.sh measures the root-only helper and needs root" >&2
    echo "hint: sudo $0 $*" >&2
    exit 1
fi
for tool in bwrap setpriv unshare "$archway"; do
    command -v "$tool" >/dev/null || {
        echo "error: \`$tool\` not found" >&2
        echo "hint: apt-get install bubblewrap util-linux; cargo build --release -p archway-cli" >&2
        exit 1
    }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/project"
printf 'all:\n\t:\n' >"$work/project/Makefile"

# The helper as archway runs it, ROUNDS times, from Python (one write(2) per map, as the
# kernel requires; bash's printf writes line by line): median µs.
helper_median() {
    python3 - "$1" "$id" <<'PY'
import os, statistics, subprocess, sys, time
rounds, uid = int(sys.argv[1]), sys.argv[2]
argv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
        "--bounding-set=-all", "--", "unshare", "--user", "--", "sh", "-c",
        "echo ready && read -r line"]
samples = []
for _ in range(rounds):
    start = time.perf_counter_ns()
    helper = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert helper.stdout.readline() == b"ready\n", "the helper did not start"
    for name in ("uid_map", "gid_map"):
        fd = os.open(f"/proc/{helper.pid}/{name}", os.O_WRONLY)
        os.write(fd, f"0 65532 1\n{uid} {uid} 1\n".encode())
        os.close(fd)
    namespace = os.open(f"/proc/{helper.pid}/ns/user", os.O_RDONLY)
    helper.stdin.close()
    helper.wait()
    os.close(namespace)
    samples.append((time.perf_counter_ns() - start) // 1000)
print(int(statistics.median(samples)))
PY
}
bare_bwrap() { bwrap --dev-bind / / true; }
step() { "$archway" build --target x86_64-linux --method native -q -C "$work/project" -- true >/dev/null; }

now() { date +%s%N; }
declare -A samples
for _ in $(seq "$rounds"); do
    for name in bare_bwrap step; do
        start=$(now)
        "$name"
        samples[$name]+="$(( ($(now) - start) / 1000 )) "
    done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
helper_us=$(helper_median "$rounds")
bwrap_us=$(median <<<"${samples[bare_bwrap]}")
step_us=$(median <<<"${samples[step]}")
printf '%-8s %8s\n' what "median µs"
printf '%-8s %8d\n' helper "$helper_us" bwrap "$bwrap_us" step "$step_us"
awk -v h="$helper_us" -v b="$bwrap_us" -v s="$step_us" 'BEGIN {
    printf "helper / bwrap: %.2f\nhelper / step:  %.2f\n", h / b, h / s }'
