#!/usr/bin/env bash
# archway's corpus: build and test real Debian sources for several targets, record the outcome.
#
#   bench/corpus.sh [-j N] [--subset] [--targets arm64,armhf] [--packages zlib,hello]
#                   [--methods auto,emulated,hybrid] [--rerun] [--work DIR] [--results FILE]
#                   [--report FILE | --no-report] [--report-only] [--later-commits C1,C2]
#
# For each package of bench/corpus.txt × target it fetches the source once (`apt-get source`,
# or `apt-get download` of the librust-*-dev package that holds a crate; cached under the work
# directory), derives the build-deps for the target from the .dsc
# (bench/corpus-deps.py: Dpkg::Deps reduction, apt resolution in the target's own archive),
# and runs `archway test --target T --method auto --json`. When that fails it tries again with
# `--method emulated` and `--method hybrid`, except the retries bench/corpus-skip.txt names
# with its reason. Every run appends one row to the results file (TSV, keyed by package,
# target, method and archway's git commit); a row already there is
# skipped unless `--rerun`, so an interrupted run resumes. Finally docs/corpus.md is written
# from the results and bench/corpus-classes.txt (the failure classification).
#
# Environment: ARCHWAY (the binary; default `archway` on PATH), CORPUS_COMMIT (the commit that
# binary was built from; default: this checkout's), CORPUS_WORK (the work directory),
# CORPUS_TIMEOUT (seconds per run, default 3600), ARCHWAY_CACHE_DIR (passed on: root
# filesystems and sysroots are shared with every other archway run), ARCHWAY_CACHE_ENABLED
# (default false: the corpus measures real builds, not restores from the build cache).
set -euo pipefail
export ARCHWAY_CACHE_ENABLED=${ARCHWAY_CACHE_ENABLED:-false}

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$bench")
jobs=2
subset=0
rerun=0
report_only=0
targets="arm64,armhf,riscv64,s390x,i386"
packages=""
methods="auto,emulated,hybrid"
work=${CORPUS_WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/archway-corpus}
results=""
report="$repo/docs/corpus.md"
archway=${ARCHWAY:-archway}
# A run that goes beyond this is recorded as failed (`timeout`); sqlite3 under QEMU is the
# longest of the list.
run_timeout=${CORPUS_TIMEOUT:-3600}

usage() { sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

one=""
later_commits=""
while [ $# -gt 0 ]; do
    case "$1" in
        -j) jobs=$2; shift 2 ;;
        -j*) jobs=${1#-j}; shift ;;
        --subset) subset=1; shift ;;
        --targets) targets=$2; shift 2 ;;
        --packages) packages=$2; shift 2 ;;
        --methods) methods=$2; shift 2 ;;
        --rerun) rerun=1; shift ;;
        --work) work=$2; shift 2 ;;
        --results) results=$2; shift 2 ;;
        --report) report=$2; shift 2 ;;
        --no-report) report=""; shift ;;
        --report-only) report_only=1; shift ;;
        --later-commits) later_commits=$2; shift 2 ;;
        --one) one=1; shift ;;  # internal: one package × target, the arguments follow
        -h|--help) usage; exit 0 ;;
        *) if [ -n "$one" ]; then break; fi
           echo "error: unknown argument \`$1\`" >&2; usage >&2; exit 1 ;;
    esac
done
results=${results:-$work/results.tsv}
mkdir -p "$work/src" "$work/deps" "$work/logs" "$work/build" "$(dirname "$results")"

# archway's commit = the last one that changed archway itself (the crates' sources and
# manifests), so committing tests, bench files or docs does not invalidate the results.
code_paths=('crates/*/src/*' 'crates/*/Cargo.toml' Cargo.toml Cargo.lock)
# CORPUS_COMMIT names it when ARCHWAY is a binary built from another checkout.
commit=${CORPUS_COMMIT:-$(git -C "$repo" log -1 --format=%h --abbrev=12 -- "${code_paths[@]}" 2>/dev/null || echo unknown)}
if [ -z "${CORPUS_COMMIT:-}" ] &&
   [ -n "$(git -C "$repo" status --porcelain --untracked-files=no -- "${code_paths[@]}" 2>/dev/null)" ]; then
    commit="$commit+dirty"
fi
# Once, here: the parallel jobs (this script again, `--one`) record the commit the run started
# with, not what the checkout has become since.
export CORPUS_COMMIT=$commit

debian_arch() {
    case "$1" in
        arm64|armhf|riscv64|s390x|i386) echo "$1" ;;
        *) echo "error: target \`$1\` has no Debian architecture in corpus.sh" >&2; return 1 ;;
    esac
}
suite_of() { [ "$1" = riscv64 ] && echo trixie || echo bookworm; }

# A private apt for the target's own archive (never the host's dpkg): used only to resolve
# build-deps; the downloads are archway's business.
apt_config() {
    local arch=$1 suite dir
    suite=$(suite_of "$arch")
    dir="$work/apt/$arch"
    mkdir -p "$work/apt"
    # Parallel jobs for one architecture wait for the first one's `apt-get update`.
    exec 8>"$dir.lock"
    flock 8
    if [ ! -s "$dir/apt.conf" ]; then
        mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/etc"
        : >"$dir/status"
        echo "deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$dir/etc/sources.list"
        cat >"$dir/apt.conf.new" <<EOF
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
Dir::State "$dir";
Dir::State::lists "$dir/lists";
Dir::State::status "$dir/status";
Dir::Cache "$dir/cache";
Dir::Etc::SourceList "$dir/etc/sources.list";
Dir::Etc::SourceParts "$dir/etc/none";
Dir::Etc::Parts "$dir/etc/none";
Dir::Etc::Preferences "$dir/etc/none";
Dir::Etc::PreferencesParts "$dir/etc/none";
Acquire::Languages "none";
EOF
        APT_CONFIG="$dir/apt.conf.new" apt-get update -q >"$dir/update.log" 2>&1
        mv "$dir/apt.conf.new" "$dir/apt.conf"
    fi
    exec 8>&-
    echo "$dir/apt.conf"
}

# A `key=value` of a package's line in corpus.txt (before its `#` comment), or nothing.
field_of() { # package key
    awk -v p="$1" -v k="$2=" '$1==p {for (i=2; i<=NF && $i!="#"; i++) if (index($i, k) == 1) print substr($i, length(k)+1)}' "$bench/corpus.txt"
}

# The unpacked source directory of a package (fetched once; `flock` so parallel jobs wait).
# `deb=PKG` in corpus.txt: Debian ships the source as a binary package (a crate of Debian's
# Rust team: librust-X-dev holds it, as Debian patched it, under /usr/share/cargo/registry);
# `apt-get download` fetches it and only that directory is kept.
source_dir() {
    local package=$1 dir="$work/src/$1" deb
    deb=$(field_of "$package" deb)
    mkdir -p "$dir"
    (
        flock 9
        if [ ! -e "$dir/.done" ]; then
            if [ -n "$deb" ]; then
                (cd "$dir" && rm -rf unpacked ./*.deb && apt-get download -q "$deb" >fetch.log 2>&1 &&
                    dpkg-deb -x ./*.deb unpacked &&
                    mv unpacked/usr/share/cargo/registry/* . && rm -rf unpacked ./*.deb) || {
                    echo "error: \`apt-get download $deb\` failed (see $dir/fetch.log)" >&2; exit 1; }
            else
                (cd "$dir" && apt-get source -q --only-source "$package" >fetch.log 2>&1) || {
                    echo "error: \`apt-get source $package\` failed (see $dir/fetch.log)" >&2; exit 1; }
            fi
            touch "$dir/.done"
        fi
    ) 9>"$dir.lock"
    find "$dir" -mindepth 1 -maxdepth 1 -type d | head -n 1
}

# The first line of a log that says what went wrong: the compiler's, the build tool's or
# archway's own error, in that order.
first_error() {
    local log=$1 line
    line=$(grep -v -E '^#|^\s*(checking|-- Looking|-- Performing|-- Check)|-Werror|error\.[ch]|errors\.[ch]|^# (FAIL|ERROR):' "$log" |
        grep -m1 -E '(error|Error|ERROR)[: ]|fatal:|undefined reference|No such file|not found|FAILED|^FAIL|Segmentation fault|Illegal instruction' || true)
    [ -n "$line" ] || line=$(grep -m1 -E '^error' "$log" || true)
    [ -n "$line" ] || line=$(tail -n 1 "$log" || true)
    printf '%s' "$line" | tr '\t\r' '  ' | cut -c1-300
}

already_done() { # package target method
    [ "$rerun" = 0 ] && [ -s "$results" ] &&
        awk -F'\t' -v c="$commit" -v p="$1" -v t="$2" -v m="$3" \
            '$1==c && $2==p && $3==t && $4==m {found=1} END {exit !found}' "$results"
}
result_of() { # package target method → status of the recorded row
    [ -s "$results" ] || return 0
    awk -F'\t' -v c="$commit" -v p="$1" -v t="$2" -v m="$3" \
        '$1==c && $2==p && $3==t && $4==m {s=$6} END {print s}' "$results"
}

# columns: commit package target method chosen status seconds first_error log date build_system
record() { # package target method chosen status seconds first_error log [build_system]
    (
        flock 9
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$commit" "${@:1:8}" \
            "$(date -u +%FT%TZ)" "${9:--}" >>"$results"
    ) 9>"$results.lock"
}

run_one() { # package target method
    local package=$1 target=$2 method=$3 arch src deps log json started status seconds chosen
    arch=$(debian_arch "$target")
    log="$work/logs/$package/$target-$method.log"
    json="$work/logs/$package/$target-$method.json"
    mkdir -p "$(dirname "$log")"
    if ! src=$(source_dir "$package" 2>"$log"); then
        record "$package" "$target" "$method" "-" "fetch-failed" 0 "$(first_error "$log")" "$log"
        return
    fi
    # `dir=SUB` in corpus.txt: the project is a subdirectory of the source package (what
    # debian/rules says with `--sourcedirectory`).
    local subdirectory crate
    subdirectory=$(field_of "$package" dir)
    crate=$(field_of "$package" deb)
    [ -z "$subdirectory" ] || src="$src/$subdirectory"
    # A crate is published without a Cargo.lock; the one a run leaves (cargo writes it next to
    # the manifest, archway fits it to Debian's rustc) goes, so every run resolves afresh, for
    # its own toolchain, as a first build of the crate would.
    [ -z "$crate" ] || rm -f "$src/Cargo.lock"
    deps="$work/deps/$package-$arch.json"
    if [ -n "$crate" ]; then
        # A crate: no .dsc. Its build-deps are the C libraries its build script links, named by
        # `deps=a,b` (debcargo puts them in the -dev package's Depends); cargo fetches the crates.
        python3 -c 'import json,sys
names = [n for n in sys.argv[1].split(",") if n]
print(json.dumps({"sysroot": names, "rootfs": names, "unavailable": [], "host_missing": []}))' \
            "$(field_of "$package" deps)" >"$deps"
    elif [ ! -s "$deps" ]; then
        "$bench/corpus-deps.py" --dsc "$(ls "$work/src/$package"/*.dsc | head -n 1)" \
            --arch "$arch" --apt-config "$(apt_config "$arch")" >"$deps.new" 2>>"$log" &&
            mv "$deps.new" "$deps"
    fi
    local sysroot_packages rootfs_packages unavailable host_missing
    sysroot_packages=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["sysroot"]))' "$deps")
    rootfs_packages=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["rootfs"]))' "$deps")
    unavailable=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["unavailable"]))' "$deps")
    host_missing=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["host_missing"]))' "$deps")
    {
        echo "# corpus: $package for $target, --method $method, archway $commit, $(date -u +%FT%TZ)"
        echo "# source: $src"
        echo "# sysroot packages: $sysroot_packages"
        echo "# rootfs packages: $rootfs_packages"
        echo "# unavailable for $arch: ${unavailable:-none}; host tools missing: ${host_missing:-none}"
    } >"$log"
    # The build tools a Debian cross build installs from the build architecture
    # (Multi-Arch: foreign or none: googletest's sources, tcl, bison): as root, installed on
    # the host, as the cross toolchains are; a corpus run measures archway, not the host.
    if [ -n "$host_missing" ] && [ "$(id -u)" = 0 ]; then
        # shellcheck disable=SC2086 # a list of package names
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            -o DPkg::Lock::Timeout=600 $host_missing >>"$log.apt" 2>&1 &&
            echo "# installed on the host: $host_missing" >>"$log" ||
            echo "# could not install on the host: $host_missing (see $log.apt)" >>"$log"
    fi
    started=$(date +%s)
    status=0
    # The build-deps go where the method looks: the cross sysroot (the target's libraries; the
    # tools must be on the host) or the root filesystem (everything). Setting rootfs packages
    # asks for the target's own system, which rules cross out (plan.rs), so auto and cross get
    # only the sysroot's. The build directory lives outside the source so methods and targets
    # never share one.
    # Every run builds from scratch: a build directory left by an earlier run (of another
    # archway commit) would skip configure and measure an incremental build.
    rm -rf "$work/build/$package/$target-$method"
    local -a package_env
    case "$method" in
        auto|cross) package_env=(ARCHWAY_SYSROOT_PACKAGES="$sysroot_packages") ;;
        *) package_env=(ARCHWAY_ROOTFS_PACKAGES="$rootfs_packages") ;;
    esac
    env "${package_env[@]}" \
        timeout --signal=TERM --kill-after=60 "$run_timeout" \
        "$archway" test --target "$target" --method "$method" --explain --json --setup \
        -j 1 -C "$src" --build-dir "$work/build/$package/$target-$method" \
        >"$json" 2>>"$log" </dev/null || status=$?
    seconds=$(($(date +%s) - started))
    chosen=$(python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1])).get("method","-"))
except Exception: print("-")' "$json" 2>/dev/null || echo -)
    if [ "$chosen" = "-" ]; then
        chosen=$(grep -m1 -o -E '^chosen: (native|cross|hybrid|emulated)' "$log" | cut -d' ' -f2 || true)
        chosen=${chosen:--}
    fi
    # The build system archway chose: from --json, else from its `building <system> project` line.
    local system
    system=$(python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1])).get("build_system","-"))
except Exception: print("-")' "$json" 2>/dev/null || echo -)
    if [ "$system" = "-" ]; then
        system=$(grep -m1 -o -E '^building [a-z]+ project' "$log" | cut -d' ' -f2 || true)
        system=${system:--}
    fi
    local outcome
    # passed: built and its tests passed; built: no test suite; tests-failed: built, the test
    # step failed (archway prints each step as `<step>: <command>` on stderr).
    # A build whose programs and libraries are all for another platform did not use the
    # target's compiler (the native method once built x86_64 programs for i386): not a pass.
    if [ "$status" = 0 ] && python3 -c 'import json,sys
o = json.load(open(sys.argv[1]))
found = [a.get("platform") for a in o.get("artifacts", []) if a.get("platform")]
sys.exit(0 if found and o.get("target") not in found else 1)' "$json" 2>/dev/null; then
        echo "corpus: no artifact is for $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("target"))' "$json"): wrong platform" >>"$log"
        status=1
        outcome=wrong-platform
    fi
    if [ "$status" = 0 ]; then
        if python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("tested") else 1)' "$json" 2>/dev/null; then
            outcome=passed
        else
            outcome=built
        fi
    elif [ "${outcome:-}" = wrong-platform ]; then
        :
    elif [ "$status" = 124 ] || [ "$status" = 137 ]; then
        outcome=timeout
    elif grep -q -E '^error: the [a-z]+ project in .* has no tests to run' "$log" 2>/dev/null; then
        # archway test refuses a project without a test suite; the build itself passed.
        outcome=built
    elif grep -q -E '^test: ' "$log" 2>/dev/null; then
        outcome=tests-failed
    else
        outcome=failed
    fi
    record "$package" "$target" "$method" "$chosen" "$outcome" "$seconds" \
        "$([ "$status" = 0 ] && echo - || first_error "$log")" "$log" "$system"
}

# A retry that bench/corpus-skip.txt says not to run (`package target method reason`, shell
# patterns): its reason, and success; the report lists them.
skipped() {
    local package=$1 target=$2 method=$3 rule_package rule_target rule_method reason
    [ -e "$bench/corpus-skip.txt" ] || return 1
    while read -r rule_package rule_target rule_method reason; do
        case "$rule_package" in ''|'#'*) continue ;; esac
        # shellcheck disable=SC2053 # the rule's fields are patterns
        if [[ $package == $rule_package && $target == $rule_target && $method == $rule_method ]]; then
            echo "$reason"
            return 0
        fi
    done <"$bench/corpus-skip.txt"
    return 1
}

# One package × target: auto first, then the other methods when it failed (unless
# bench/corpus-skip.txt says why not).
run_pair() {
    local package=$1 target=$2 method first="" reason
    for method in ${methods//,/ }; do
        if [ -n "$first" ] && [ "$(result_of "$package" "$target" "$first")" = passed ] ||
            [ "$(result_of "$package" "$target" "$first")" = built ]; then
            break
        fi
        [ -n "$first" ] || first=$method
        if already_done "$package" "$target" "$method"; then
            continue
        fi
        if [ "$method" != "$first" ] && reason=$(skipped "$package" "$target" "$method"); then
            echo "corpus: $package $target --method $method: not retried ($reason)" >&2
            continue
        fi
        echo "corpus: $package $target --method $method" >&2
        run_one "$package" "$target" "$method"
        echo "corpus: $package $target --method $method → $(result_of "$package" "$target" "$method")" >&2
    done
}

if [ -n "$one" ]; then
    run_pair "$1" "$2"
    exit 0
fi

list() {
    grep -E '^[a-z0-9]' "$bench/corpus.txt" |
        if [ "$subset" = 1 ]; then grep -F '[subset]'; else cat; fi |
        awk '{print $1}' |
        if [ -n "$packages" ]; then grep -x -F -f <(tr ',' '\n' <<<"$packages"); else cat; fi
}

if [ "$report_only" = 0 ]; then
    command -v "$archway" >/dev/null || { echo "error: \`$archway\` not found
hint: build it (\`cargo build --release -p archway-cli\`) and run with ARCHWAY=target/release/archway" >&2; exit 1; }
    # Each target's whole cross toolchain (gcc and g++), as Debian's cross builds have it
    # (crossbuild-essential-ARCH): a corpus run measures archway, not what the host lacks.
    if [ "$(id -u)" = 0 ]; then
        for target in ${targets//,/ }; do
            "$archway" toolchain install --target "$target" -q >/dev/null 2>&1 ||
                echo "corpus: warning: \`archway toolchain install --target $target\` failed" >&2
        done
    fi
    # Fetch first, one at a time (apt-get source is network, not CPU).
    for package in $(list); do source_dir "$package" >/dev/null || true; done
    export work results commit rerun methods archway bench run_timeout
    for target in ${targets//,/ }; do
        for package in $(list); do echo "$package $target"; done
    done | xargs -P "$jobs" -L 1 "${BASH_SOURCE[0]}" --work "$work" --results "$results" \
        --methods "$methods" $([ "$rerun" = 1 ] && echo --rerun) --one
fi

if [ -n "$report" ] && [ -e "$bench/corpus-report.py" ]; then
    python3 "$bench/corpus-report.py" --results "$results" --classes "$bench/corpus-classes.txt" \
        --corpus "$bench/corpus.txt" --commit "$commit" --targets "$targets" \
        --later-commits "$later_commits" >"$report"
    echo "corpus: wrote $report" >&2
fi

# The exit status says whether the runs asked for all passed (with some method).
[ "$report_only" = 0 ] || exit 0
failed=$(for target in ${targets//,/ }; do for package in $(list); do
    best=""
    for method in ${methods//,/ }; do
        case "$(result_of "$package" "$target" "$method")" in passed|built) best=passed ;; esac
    done
    [ "$best" = passed ] || echo "$package/$target"
done; done)
if [ -n "$failed" ]; then
    echo "corpus: not passing with any method: $(echo $failed)" >&2
    exit 3
fi
