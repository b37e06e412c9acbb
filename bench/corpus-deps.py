#!/usr/bin/env python3
"""Turn a Debian source package's Build-Depends into what archway needs for one target.

Usage: corpus-deps.py --dsc FILE | --source NAME, --arch DEBIAN_ARCH, --apt-config FILE

Prints one JSON object:
  rootfs      the packages for the emulated and hybrid root filesystem (`rootfs-packages`)
  sysroot     the target's libraries for the cross sysroot (`sysroot-packages`): Multi-Arch `same`
  host        build tools the cross build runs on the host (Multi-Arch `foreign`/`allowed`/none)
  host_missing  the host tools not installed on this machine (`dpkg-query`)
  dropped     Debian packaging helpers and documentation generators an upstream build does not need
  unavailable the packages apt cannot install for the architecture (empty: all available)
  apt_error   apt's first error line when it could not resolve them

Build-Depends are reduced with dpkg's own parser (Dpkg::Deps, as dpkg-checkbuilddeps does):
architecture restrictions for the target, no build profile active (`<!nocheck>` stays), the first
alternative of each `|`. Availability is apt-get's resolution (`-s install`) against the target
architecture's own archive with an empty package database: what `mmdebstrap` and archway's
sysroot would have to install.
"""

import argparse
import json
import re
import subprocess
import sys

# Debian packaging helpers and documentation/extra-language tools that debian/rules uses but the
# upstream build archway runs does not need by default (Java bindings of libjpeg-turbo are off
# unless WITH_JAVA, doxygen, docbook, sphinx and graphviz only build manuals, gzip's mingw-w64
# builds Debian's gzip.exe).
DROPPED = re.compile(
    r"^(debhelper|debhelper-compat|dh-.*|cdbs|quilt|javahelper|d-shlibs|default-jdk|"
    r"docbook.*|doxygen|gtk-doc-tools|help2man|po4a|gcc-multilib|dpkg-dev|dejagnu|mawk|less|netbase|xxd|"
    r"python3-sphinx.*|python3-breathe|graphviz|lynx|chrpath|mingw-w64|node-.*|libjs-.*)$"
)

PERL_REDUCE = r"""
use Dpkg::Deps;
my ($arch, $text) = @ARGV;
my $deps = deps_parse($text, host_arch => $arch, build_arch => 'amd64', build_dep => 1,
                      reduce_arch => 1, reduce_profiles => 1, build_profiles => []);
die "cannot parse Build-Depends\n" unless defined $deps;
foreach my $dep ($deps->get_deps()) {
    my @alternatives = $dep->isa('Dpkg::Deps::OR') ? $dep->get_deps() : ($dep);
    next unless @alternatives;
    print $alternatives[0]->{package}, "\n";
}
"""


def control_fields(text):
    """Build-Depends (+ -Arch, -Indep) of a .dsc or an `apt-cache showsrc` stanza."""
    fields = {}
    current = None
    for line in text.splitlines():
        if line.startswith((" ", "\t")) and current:
            fields[current] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            current = key.strip()
            if current in fields:  # showsrc may print several versions: keep the first
                current = None
                continue
            fields[current] = value.strip()
        else:
            current = None
    return ", ".join(
        fields[key]
        # Build-Depends-Indep builds the architecture-independent packages (manuals, -doc):
        # never what an upstream build of the libraries and programs needs.
        for key in ("Build-Depends", "Build-Depends-Arch")
        if fields.get(key)
    )


def apt(apt_config, *args):
    return subprocess.run(
        ["apt-get" if args[0] != "show" else "apt-cache", *args],
        env={"APT_CONFIG": apt_config, "PATH": "/usr/bin:/bin", "LC_ALL": "C"},
        capture_output=True,
        text=True,
    )


def multi_arch(apt_config, package):
    result = apt(apt_config, "show", "--no-all-versions", package)
    if result.returncode != 0 or not result.stdout.strip():
        return "virtual"
    match = re.search(r"^Multi-Arch: (\S+)", result.stdout, re.M)
    if re.search(r"^Architecture: all", result.stdout, re.M):
        return "all"
    return match.group(1) if match else "none"


def installed_on_host(package):
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Abbrev}", package], capture_output=True, text=True
    )
    return result.returncode == 0 and result.stdout.startswith("ii")


def main():
    parser = argparse.ArgumentParser()
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--dsc")
    group.add_argument("--source")
    parser.add_argument("--arch", required=True)
    parser.add_argument("--apt-config", required=True)
    options = parser.parse_args()

    if options.dsc:
        with open(options.dsc, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    else:
        text = subprocess.run(
            ["apt-cache", "showsrc", "--only-source", options.source],
            capture_output=True, text=True, check=True,
        ).stdout
    build_depends = control_fields(text)
    reduced = subprocess.run(
        ["perl", "-e", PERL_REDUCE, options.arch, build_depends],
        capture_output=True, text=True,
    )
    if reduced.returncode != 0:
        print(reduced.stderr, file=sys.stderr)
        return 2
    names = []
    for name in reduced.stdout.split():
        name = name.split(":")[0]  # `python3:any`, `cargo:native`
        if name not in names:
            names.append(name)
    kept = [name for name in names if not DROPPED.match(name)]
    dropped = [name for name in names if DROPPED.match(name)]
    # debhelper (compat >= 10) runs dh_autoreconf, whose package brings autoconf, automake,
    # autopoint and libtool: a source without a generated `configure` needs them wherever
    # archway generates it (the host for cross, the root filesystem for emulated and hybrid).
    if any(name in ("debhelper-compat", "debhelper", "dh-autoreconf") for name in dropped):
        for tool in ("autoconf", "automake", "autopoint", "libtool"):
            if tool not in kept:
                kept.append(tool)

    unavailable, apt_error = [], ""
    if kept:
        result = apt(options.apt_config, "-s", "-q", "install", "--no-install-recommends", *kept)
        if result.returncode != 0:
            errors = [line for line in (result.stderr + result.stdout).splitlines()
                      if line.startswith("E:") or "but it is not" in line or "Depends:" in line]
            apt_error = errors[0] if errors else "apt-get could not resolve the build-deps"
            for name in kept:
                single = apt(options.apt_config, "-s", "-q", "install", "--no-install-recommends", name)
                if single.returncode != 0:
                    unavailable.append(name)

    sysroot, host = [], []
    for name in kept:
        kind = multi_arch(options.apt_config, name)
        # a virtual `lib*-dev` (libselinux-dev) is provided by the library's real -dev package
        is_library = kind == "same" or (kind == "virtual" and re.match(r"^lib.*-dev$", name))
        (sysroot if is_library else host).append(name)
    print(json.dumps({
        "rootfs": kept,
        "sysroot": sysroot,
        "host": host,
        "host_missing": [name for name in host if not installed_on_host(name)],
        "dropped": dropped,
        "unavailable": unavailable,
        "apt_error": apt_error,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
