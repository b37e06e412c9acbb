//! The cross method: a cross toolchain on the host, a sysroot of the target's own Debian
//! packages, and the build-system files (CMake toolchain, Meson cross file, config.site, Cargo
//! config) that point the project at both; target programs run under QEMU.

use std::path::Path;
use std::sync::Arc;

use archway_platform::{Platform, Reporter};
use archway_toolchain::reproducible::PathMap;
use archway_toolchain::{CrossEnv, Sysroot, SysrootInUse, SysrootUpstream};

use super::{Backend, Environment, Job};
use crate::method::Method;
use crate::plan::{Facts, Setup, Verdict};
use crate::project::BuildSystem;
use crate::rust::{RustFacts, StdSource};
use crate::steps::{CrossFiles, CrossSetup, Toolset};
use crate::Error;

#[derive(Debug)]
pub struct Cross;

impl Backend for Cross {
    fn method(&self) -> Method {
        Method::Cross
    }

    fn judge(&self, facts: &Facts, _setup: bool) -> Verdict {
        let verdict = |usable, reason, fix| Verdict::new(Method::Cross, usable, reason, fix);
        if let (Some((conflict, hint)), false) = (&facts.baseline_conflict, facts.own_sysroot) {
            return Verdict::refused(Method::Cross, conflict.clone(), hint.clone());
        }
        if let Some(why) = &facts.wants_rootfs {
            return verdict(
                false,
                format!("the target's own system is asked for ({why})"),
                None,
            );
        }
        // A Cargo project needs the target's standard library: rustup's goes with the host's
        // cross toolchain below; Debian's brings its own compilers in a native prefix.
        if let Some(rust) = &facts.rust {
            match rust.choose() {
                Ok(StdSource::Rustup(_)) => {}
                Ok(StdSource::Debian(debian)) => {
                    let runs = facts
                        .emulator
                        .as_ref()
                        .filter(|_| facts.qemu_interpreter.is_some())
                        .map(|emulator| format!(", tests run by {emulator}"))
                        .unwrap_or_default();
                    let triple = rust.triple.as_deref().unwrap_or_default();
                    // Said when it chose a suite other than the architecture's default.
                    let needs = rust
                        .needs
                        .as_ref()
                        .filter(|_| debian.suite != debian.architecture.default_suite())
                        .map(|needs| format!(" (the project needs {needs})"))
                        .unwrap_or_default();
                    return verdict(
                        true,
                        format!(
                            "no rustup standard library for `{triple}`: {debian}{needs}, cargo \
                             and the cross gcc in a native prefix{runs}"
                        ),
                        None,
                    );
                }
                Err(error) => {
                    let fix = rust
                        .triple
                        .as_ref()
                        .map(|triple| format!("rustup target add {triple}"));
                    return verdict(false, error.to_string(), fix);
                }
            }
        }
        match &facts.toolchain {
            None => verdict(
                false,
                format!("no cross toolchain for `{}` is installed", facts.target),
                facts.toolchain_install.clone(),
            ),
            Some(toolchain) if facts.needs_libraries && !facts.sysroot_ready => {
                if facts.sysroot_fillable {
                    verdict(
                        true,
                        format!(
                            "cross toolchain `{toolchain}`, the sysroot gets the project's packages"
                        ),
                        None,
                    )
                    .with_setup(Setup::FillSysroot)
                } else {
                    verdict(
                        false,
                        format!(
                            "`{toolchain}` is installed, but no sysroot can hold the libraries the project needs"
                        ),
                        facts.sysroot_add.clone(),
                    )
                }
            }
            Some(toolchain) => {
                let runs = if facts.runs_natively {
                    ", tests run directly".to_string()
                } else {
                    facts
                        .emulator
                        .as_ref()
                        .map(|emulator| format!(", tests run by {emulator}"))
                        .unwrap_or_default()
                };
                verdict(true, format!("cross toolchain `{toolchain}`{runs}"), None)
            }
        }
    }

    fn prepare(&self, job: &Job<'_>, reporter: &dyn Reporter) -> Result<Environment, Error> {
        let target = job.target;
        let search_path = std::env::var_os("PATH").unwrap_or_default();
        if job.build_system == Some(BuildSystem::Cargo) {
            let host = match job.host {
                Some(host) => host.platform.clone(),
                None => archway_platform::host::Host::detect()?.platform,
            };
            let needs = crate::rust_needs::project_needs(job.project_dir);
            let rust = RustFacts::gather(target, &host, &search_path, needs);
            if let StdSource::Debian(debian) = rust.choose()? {
                return crate::rust::prepare_cross(job, &debian, reporter);
            }
        }
        let selected = archway_toolchain::select(target, job.toolchain, &search_path)?;
        // A target the host runs itself (i686 on x86_64) runs its tests without QEMU, so
        // without QEMU_LD_PREFIX: its loader and run-time libraries must be where the kernel
        // and ld.so look, as a Debian host with `libc6:i386` has them. The sysroot gets
        // them, and the host sandbox shows it there ([`crate::host_sandbox::multiarch_view`]).
        let runs_natively = job.host.is_some_and(|host| host.runs_natively(target));
        let mut packages = job.sysroot_packages.to_vec();
        if runs_natively {
            for runtime in NATIVE_RUNTIME {
                if !packages.iter().any(|package| package == runtime) {
                    packages.push(runtime.to_string());
                }
            }
        }
        let (sysroot, in_use) = sysroot(
            job.cache_dir,
            target,
            &packages,
            job.rootfs.sysroot_upstream.clone(),
            reporter,
        )?
        .unzip();
        // The source and build directories get fixed names in the outputs (`CC`, the CMake
        // and Meson flags, rustc's): `crate::reproducible`.
        let mut request = job.toolchain.clone();
        request.path_maps = PathMap::for_build(job.project_dir, job.build_dir);
        let mut env = CrossEnv::new(&selected, &request, sysroot.as_ref())?;
        let files = archway_toolchain::write_files(&env, &job.build_dir.join(".archway"))?;
        env.set_files(&files);
        let build_triple = job
            .host
            .map(|host| host.platform.config())
            .unwrap_or_default();
        let emulator = env.emulator.clone();
        Ok(Environment {
            toolset: Toolset::Cross(Box::new(CrossSetup {
                host_triple: env.host_triple.clone(),
                build_triple,
                rust_target: env.rust_target.clone(),
                vars: env.vars.clone(),
                files: CrossFiles {
                    cmake_toolchain: files.cmake_toolchain,
                    meson_cross: files.meson_cross,
                    config_site: files.config_site,
                    cargo_config: files.cargo_config,
                },
                loader_prefix: env.library_prefix.clone(),
                missing_cxx: selected.missing_cxx(),
            })),
            // Every step, whatever its build system, gets `SOURCE_DATE_EPOCH`. The steps run
            // in the host sandbox, which must show the toolchain wherever it is installed.
            executor: crate::host_sandbox::executor(
                job,
                [(
                    "SOURCE_DATE_EPOCH".to_string(),
                    source_date_epoch(job.project_dir, &env),
                )]
                .into(),
                crate::host_sandbox::View {
                    read_only: toolchain_directories(&selected.cc),
                    hidden_tools: crate::host_sandbox::native_only_tools(),
                    multiarch: match (&sysroot, target.multiarch()) {
                        (Some(sysroot), Some(multiarch)) => crate::host_sandbox::multiarch_view(
                            &sysroot.path(),
                            multiarch,
                            Path::new("/"),
                        ),
                        _ => crate::host_sandbox::MultiarchView::default(),
                    },
                },
                reporter,
            )?,
            toolchain: Some(format!(
                "{} {} ({}){}",
                selected.family,
                selected.version,
                selected.cc.display(),
                selected
                    .missing_cxx()
                    .map(|missing| format!(", no C++: `{}` is not installed", missing.package))
                    .unwrap_or_default()
            )),
            emulator,
            in_use: in_use.into_iter().map(super::Held::from).collect(),
            libraries: sysroot
                .as_ref()
                .map(|sysroot| super::dpkg_status(&sysroot.path())),
        })
    }
}

/// What a program of a target the host runs itself needs at run time: the loader and the C
/// library, and the C++ and GCC run-time libraries the cross g++ links to.
const NATIVE_RUNTIME: [&str; 3] = ["libc6", "libgcc-s1", "libstdc++6"];

/// The directories of the compiler `cc` and of what it links to (a `PATH` entry that is a link
/// into a toolchain's own tree).
fn toolchain_directories(cc: &Path) -> Vec<std::path::PathBuf> {
    let resolved = std::fs::canonicalize(cc).ok();
    [Some(cc.to_path_buf()), resolved]
        .into_iter()
        .flatten()
        .filter_map(|path| path.parent().map(Path::to_path_buf))
        .collect()
}

/// The user's `SOURCE_DATE_EPOCH` (the configuration's `env`, else archway's environment), or
/// one from the sources ([`crate::reproducible::source_date_epoch`]).
fn source_date_epoch(project_dir: &Path, env: &CrossEnv) -> String {
    let user = env
        .vars
        .get("SOURCE_DATE_EPOCH")
        .cloned()
        .or_else(|| std::env::var("SOURCE_DATE_EPOCH").ok());
    crate::reproducible::source_date_epoch(project_dir, user.as_deref()).0
}

/// archway's sysroot for the target with the project's `packages` in it (added when missing),
/// held for the build ([`Sysroot::hold`]: a removal or a prune waits or leaves it); `None` when
/// there is no cache directory, Debian does not build the target, or nothing has been put in
/// it yet.
fn sysroot(
    cache_dir: Option<&Path>,
    target: &Platform,
    packages: &[String],
    upstream: Option<Arc<dyn SysrootUpstream>>,
    reporter: &dyn Reporter,
) -> Result<Option<(Sysroot, SysrootInUse)>, Error> {
    let Some(cache) = cache_dir else {
        return Ok(None);
    };
    if target.debian_arch().is_none() {
        return Ok(None);
    }
    let sysroot = Sysroot::open(cache, target)?.with_upstream(upstream);
    // A removal between the add and the hold takes the tree: add it again (held, it stays).
    let mut attempt = 0;
    loop {
        if !packages.is_empty() {
            let outcome = sysroot.add(packages, reporter)?;
            if let Some(origin) = outcome.restored {
                reporter.note(&format!(
                    "restored the {} sysroot from the shared cache ({origin})",
                    target.display_name()
                ));
            }
        } else if !sysroot.exists() {
            return Ok(None);
        }
        match sysroot.hold() {
            Ok(in_use) => return Ok(Some((sysroot, in_use))),
            Err(archway_toolchain::Error::NoSysroot { .. }) if attempt < 2 => attempt += 1,
            Err(error) => return Err(error.into()),
        }
    }
}

/// Whether every one of `packages` is already unpacked in the target's sysroot (no apt run).
pub fn sysroot_ready(cache_dir: Option<&Path>, target: &Platform, packages: &[String]) -> bool {
    let Some(cache) = cache_dir else {
        return false;
    };
    let Ok(sysroot) = Sysroot::open(cache, target) else {
        return false;
    };
    let Ok(manifest) = sysroot.manifest() else {
        return false;
    };
    packages.iter().all(|wanted| {
        manifest
            .packages
            .iter()
            .any(|package| package.name == *wanted)
    })
}
