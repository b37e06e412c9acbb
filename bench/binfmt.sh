#!/bin/sh
# Wall time of registering every QEMU emulator with binfmt_misc and removing them again:
# `archway binfmt install all` + `archway binfmt uninstall --all`, side by side in one run with
# Debian's way of doing the same, `update-binfmts --enable` / `--disable` for every qemu-* format
# qemu-user-static installed (binfmt-support), and systemd-binfmt on the binfmt.d files when
# present. Prints the median of ROUNDS runs of each and the ratios.
#
# Needs root, qemu-user-static and binfmt-support. It registers entries under the usual
# `qemu-<cpu>` names, so it refuses to run when any `qemu-*` entry is already registered (it
# would otherwise remove entries it did not create), or when archway has entries installed.
#
# usage: sudo bench/binfmt.sh [ROUNDS]   (ARCHWAY=path/to/archway to use another binary)
set -eu

rounds=${1:-10}
root=/proc/sys/fs/binfmt_misc
here=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" != 0 ]; then
    echo "error: bench/binfmt.sh registers binfmt_misc entries and needs root" >&2
    echo "hint: sudo $0 $*" >&2
    exit 1
fi
[ -e "$root/register" ] || mount -t binfmt_misc binfmt_misc "$root"
if ls "$root" | grep -q '^qemu-'; then
    echo "error: qemu-* entries are registered already; this benchmark would remove them" >&2
    ls "$root" | grep '^qemu-' >&2
    echo "hint: run it on a machine without registered qemu-* entries" >&2
    exit 1
fi
if [ -n "$(ls -A /run/archway/binfmt 2>/dev/null)" ]; then
    echo "error: archway has entries installed (/run/archway/binfmt); uninstall --all would remove them" >&2
    exit 1
fi
command -v update-binfmts >/dev/null || { echo "error: update-binfmts missing (apt-get install binfmt-support)" >&2; exit 1; }

if [ -z "${ARCHWAY:-}" ]; then
    (cd "$here" && cargo build --release -q -p archway-cli)
    ARCHWAY=$here/target/release/archway
fi
formats=$(ls /usr/share/binfmts | grep '^qemu-' || true)
count=$(echo "$formats" | wc -w)

# Never leave an entry behind, even when interrupted.
cleanup() {
    "$ARCHWAY" -q binfmt uninstall --all >/dev/null 2>&1 || true
    for format in $formats; do update-binfmts --disable "$format" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT INT TERM

now() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

archway_times=""
debian_times=""
systemd_times=""
systemd_binfmt=/usr/lib/systemd/systemd-binfmt
for i in $(seq "$rounds"); do
    start=$(now)
    "$ARCHWAY" -q binfmt install all
    "$ARCHWAY" -q binfmt uninstall --all
    archway_times="$archway_times $(( ($(now) - start) / 1000 ))"

    start=$(now)
    for format in $formats; do update-binfmts --enable "$format"; done
    for format in $formats; do update-binfmts --disable "$format"; done
    debian_times="$debian_times $(( ($(now) - start) / 1000 ))"

    if [ -x "$systemd_binfmt" ]; then
        start=$(now)
        for format in $formats; do "$systemd_binfmt" "/usr/lib/binfmt.d/$format.conf"; done
        for format in $formats; do echo -1 > "$root/$format"; done
        systemd_times="$systemd_times $(( ($(now) - start) / 1000 ))"
    fi
done

archway_us=$(echo "$archway_times" | tr ' ' '\n' | grep . | median)
debian_us=$(echo "$debian_times" | tr ' ' '\n' | grep . | median)
printf 'register + remove every QEMU emulator, median of %s rounds (%s Debian formats; archway: install all)\n' "$rounds" "$count"
printf '  archway binfmt install all + uninstall --all   %8.1f ms\n' "$(echo "$archway_us / 1000" | bc -l)"
printf '  update-binfmts --enable/--disable (each)       %8.1f ms   (%.1fx archway)\n' \
    "$(echo "$debian_us / 1000" | bc -l)" "$(echo "$debian_us / $archway_us" | bc -l)"
if [ -n "$systemd_times" ]; then
    systemd_us=$(echo "$systemd_times" | tr ' ' '\n' | grep . | median)
    printf '  systemd-binfmt FILE (each) + echo -1          %8.1f ms   (%.1fx archway)\n' \
        "$(echo "$systemd_us / 1000" | bc -l)" "$(echo "$systemd_us / $archway_us" | bc -l)"
fi
