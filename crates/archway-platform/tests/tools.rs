//! archway's platform names against the real tools on this machine: `dpkg-architecture` for
//! every Linux architecture it lists, and `<triple>-gcc -dumpmachine` for every installed
//! cross compiler.
//!
//! These need dpkg-dev and the cross compilers; outside CI they skip with `skipped: <why>` when
//! a tool is missing, under CI they fail instead (`archway_platform::testing`).

use std::process::Command;

use archway_platform::testing::{require, skip_unless_ci};
use archway_platform::{Platform, DEBIAN_ARCHES};

/// Runs a tool; `None` (after printing `skipped:`) if it is missing outside CI.
fn run(program: &str, args: &[&str]) -> Option<String> {
    match Command::new(program).args(args).output() {
        Ok(output) if output.status.success() => {
            Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
        }
        Ok(output) => panic!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => {
            skip_unless_ci(&format!("`{program}` is not available ({error})"));
            None
        }
    }
}

/// `dpkg-architecture -a <arch>`'s `DEB_HOST_*` variables.
fn dpkg_host_variables(arch: &str) -> std::collections::HashMap<String, String> {
    let text = run("dpkg-architecture", &["-a", arch]).unwrap_or_default();
    text.lines()
        .filter_map(|line| line.strip_prefix("DEB_HOST_")?.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// Debian names that a pkgsCross catalog name or a Docker alias shadows: for these, only the
/// GNU type is checked (the name itself means the catalog entry / Docker platform).
const SHADOWED: &[&str] = &["arm", "or1k", "ppc64"];

#[test]
fn every_dpkg_linux_architecture_matches_dpkg_architecture() {
    let Some(all) = run("dpkg-architecture", &["-L"]) else {
        return;
    };
    let Some(linux) = run("dpkg-architecture", &["-L", "-W", "linux-any"]) else {
        return;
    };
    let linux: Vec<String> = linux.lines().map(str::to_string).collect();
    let other: Vec<&str> = all
        .lines()
        .filter(|arch| !linux.iter().any(|l| l == arch))
        .collect();
    // Non-Linux ports (hurd-*, kfreebsd-*, the BSDs, darwin-*, aix-*, solaris-*, uclinux-*,
    // mint-*) are skipped: archway builds Linux userlands.
    eprintln!(
        "skipping {} non-Linux dpkg architectures: {}",
        other.len(),
        other.join(" ")
    );
    assert!(linux.len() >= 40, "dpkg lists Linux architectures");
    // One dpkg-architecture call per architecture, four at a time.
    let variables: Vec<(String, std::collections::HashMap<String, String>)> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = linux
                .chunks(linux.len().div_ceil(4))
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|arch| (arch.clone(), dpkg_host_variables(arch)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| handle.join().expect("dpkg-architecture worker"))
                .collect()
        });
    let mut mismatches = Vec::new();
    for (arch, host) in &variables {
        let get = |key: &str| host.get(key).cloned().unwrap_or_default();
        let gnu_type = get("GNU_TYPE");
        let theirs = (
            arch.clone(),
            gnu_type.clone(),
            get("MULTIARCH"),
            get("ARCH_CPU"),
            get("ARCH_BITS"),
            get("ARCH_ENDIAN"),
        );
        let mut inputs = vec![gnu_type.as_str()];
        if !SHADOWED.contains(&arch.as_str()) {
            inputs.push(arch.as_str());
        }
        // Both the Debian name and its GNU type must elaborate to this architecture.
        for input in inputs {
            let platform = match Platform::parse(input) {
                Ok(platform) => platform,
                Err(error) => {
                    mismatches.push(format!("{arch}: `{input}` does not parse: {error}"));
                    continue;
                }
            };
            let ours = (
                platform.debian_arch().unwrap_or("-").to_string(),
                platform.debian_gnu_type().unwrap_or("-").to_string(),
                platform.multiarch().unwrap_or("-").to_string(),
                platform.debian().map_or("-", |d| d.cpu_name).to_string(),
                platform.pointer_bits().to_string(),
                platform.cpu().endian().name().to_string(),
            );
            if ours != theirs {
                mismatches.push(format!(
                    "{arch} via `{input}`: archway {ours:?}, dpkg {theirs:?}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // And archway's table has no architecture dpkg does not list.
    for arch in DEBIAN_ARCHES {
        assert!(
            linux.iter().any(|a| a == arch.name),
            "{} unknown to dpkg",
            arch.name
        );
    }
}

/// Every `<triple>-gcc` on PATH: its `-dumpmachine` parses, and archway names the same target
/// (Debian's GNU type for Linux compilers, the MinGW config for MinGW ones).
#[test]
fn installed_cross_compilers_match_dumpmachine() {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if !require(!path.is_empty(), "`PATH` is not set") {
        return;
    }
    let mut compilers: Vec<String> = std::env::split_paths(&path)
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix("-gcc").map(str::to_string))
        // `<triple>-gcc`, not `c89-gcc` or `x86_64-linux-gnu-gcc-12`.
        .filter(|triple| triple.matches('-').count() >= 2)
        .collect();
    compilers.sort();
    compilers.dedup();
    let expected_in_ci = [
        "aarch64-linux-gnu",
        "arm-linux-gnueabihf",
        "i686-linux-gnu",
        "powerpc64le-linux-gnu",
        "riscv64-linux-gnu",
        "s390x-linux-gnu",
        "x86_64-w64-mingw32",
    ];
    for triple in expected_in_ci {
        if !compilers.iter().any(|c| c == triple) {
            skip_unless_ci(&format!("`{triple}-gcc` is not installed"));
        }
    }
    for triple in &compilers {
        let Some(machine) = run(&format!("{triple}-gcc"), &["-dumpmachine"]) else {
            continue;
        };
        let platform = Platform::parse(&machine)
            .unwrap_or_else(|error| panic!("`{triple}-gcc -dumpmachine` = `{machine}`: {error}"));
        let from_name = Platform::parse(triple)
            .unwrap_or_else(|error| panic!("compiler prefix `{triple}`: {error}"));
        assert_eq!(platform, from_name, "{triple} vs {machine}");
        if platform.kernel() == archway_platform::Kernel::Linux {
            assert_eq!(
                platform.debian_gnu_type(),
                Some(machine.as_str()),
                "{triple}: Debian GNU type"
            );
        } else {
            // A GNU config is kept as given (`arm-none-eabi` stays that, like nixpkgs' `config`).
            assert_eq!(platform.config(), machine, "{triple}");
        }
    }
}
