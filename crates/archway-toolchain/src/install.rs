//! Installing the distribution's cross toolchain for a target (Debian and derivatives: apt).
//!
//! Debian's cross packages are named after the multiarch triple with `_` turned into `-`
//! (package names cannot hold `_`): `gcc-aarch64-linux-gnu`, `gcc-12-aarch64-linux-gnu`,
//! `libc6-dev-arm64-cross`; i386's is `gcc-i686-linux-gnu`; MinGW's `gcc-mingw-w64-x86-64`.

use std::process::Command;

use archway_platform::{Kernel, Libc, Platform, Reporter};
use serde::Serialize;

use crate::{Error, Family};

/// The packages that give a toolchain for one target, and the command that installs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallPlan {
    pub target: Platform,
    pub packages: Vec<String>,
    /// `apt-get install -y ...`, as it will run.
    pub command: Vec<String>,
    /// What else the user needs to do (musl: a sysroot with the target's `musl-dev`).
    pub notes: Vec<String>,
}

/// The triple in Debian's cross package names.
fn package_triple(target: &Platform) -> Option<String> {
    // The GNU type, not the multiarch triple: `gcc-i686-linux-gnu` for i386.
    Some(target.debian_gnu_type()?.replace('_', "-"))
}

/// What to install for `target`, optionally of one family and version.
pub fn install_plan(
    target: &Platform,
    family: Option<Family>,
    version: Option<&str>,
) -> Result<InstallPlan, Error> {
    crate::toolchain::check_supported(target)?;
    let versioned = |base: &str, triple: &str| match version {
        Some(version) => format!("{base}-{version}-{triple}"),
        None => format!("{base}-{triple}"),
    };
    let clang = |packages: &mut Vec<String>| match version {
        Some(version) => {
            packages.push(format!("clang-{version}"));
            packages.push(format!("lld-{version}"));
        }
        None => {
            packages.push("clang".to_string());
            packages.push("lld".to_string());
        }
    };
    let mut packages = Vec::new();
    let mut notes = Vec::new();
    match (target.kernel(), target.libc()) {
        (Kernel::Linux, Libc::Musl) => {
            // Debian has no musl cross gcc: clang with a sysroot holding the target's musl-dev.
            clang(&mut packages);
            notes.push(format!(
                "musl comes from the target's own Debian package: run `archway sysroot add --target {}`",
                target.display_name()
            ));
        }
        (Kernel::Linux, _) => {
            let triple = package_triple(target).ok_or_else(|| Error::NoPackages {
                target: target.display_name(),
            })?;
            let architecture = target.debian_arch().unwrap_or_default();
            if family == Some(Family::Clang) {
                clang(&mut packages);
                // clang uses Debian's cross libgcc and C runtime files.
                packages.push(format!("gcc-{triple}"));
            } else {
                packages.push(versioned("gcc", &triple));
                packages.push(versioned("g++", &triple));
            }
            packages.push(format!("libc6-dev-{architecture}-cross"));
        }
        (Kernel::Windows, _) => {
            let cpu = match target.cpu().name() {
                "x86_64" => "x86-64",
                "i686" => "i686",
                _ => {
                    return Err(Error::NoPackages {
                        target: target.display_name(),
                    })
                }
            };
            if family == Some(Family::Clang) {
                clang(&mut packages);
            }
            packages.push(format!("gcc-mingw-w64-{cpu}"));
            packages.push(format!("g++-mingw-w64-{cpu}"));
        }
        _ if target.config() == "arm-none-eabi" => {
            packages.push("gcc-arm-none-eabi".to_string());
            packages.push("libnewlib-arm-none-eabi".to_string());
        }
        _ => {
            return Err(Error::NoPackages {
                target: target.display_name(),
            })
        }
    }
    let mut command: Vec<String> = ["apt-get", "install", "-y", "--no-install-recommends"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    command.extend(packages.iter().cloned());
    Ok(InstallPlan {
        target: target.clone(),
        packages,
        command,
        notes,
    })
}

/// Runs the plan's `apt-get` (as root; otherwise [`Error::NotRoot`] carries the command).
/// Packages apt does not know are reported before anything is installed.
pub fn install(plan: &InstallPlan, reporter: &dyn Reporter) -> Result<(), Error> {
    let command_line = plan.command.join(" ");
    if !rustix::process::geteuid().is_root() {
        return Err(Error::NotRoot {
            target: plan.target.display_name(),
            command: command_line,
        });
    }
    let missing: Vec<String> = plan
        .packages
        .iter()
        .filter(|package| {
            Command::new("apt-cache")
                .args(["show", "--no-all-versions", package])
                .output()
                .map(|output| !output.status.success() || output.stdout.is_empty())
                .unwrap_or(true)
        })
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(Error::Unavailable {
            packages: missing.join("`, `"),
        });
    }
    reporter.start(&format!("installing {}", plan.packages.join(" ")), None);
    let output = Command::new(&plan.command[0])
        .args(&plan.command[1..])
        .args(["-o", "DPkg::Lock::Timeout=600"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .map_err(|source| Error::Spawn {
            command: command_line.clone(),
            source,
        });
    reporter.finish();
    let output = output?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        return Err(Error::CommandFailed {
            command: command_line,
            status: output.status.to_string(),
            output: crate::error::CommandOutput(lines[lines.len().saturating_sub(6)..].join("\n")),
            hint: Some("run `apt-get update` as root, then try again".to_string()),
        });
    }
    Ok(())
}
