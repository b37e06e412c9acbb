//! The emulated method: the build runs inside a Debian root filesystem of the target, under
//! QEMU through binfmt_misc, sandboxed by bubblewrap — the target's own compiler, headers,
//! libraries and scripts ([`crate::emulated`] holds the environment itself).

use archway_platform::Reporter;
use archway_rootfs::{Architecture, RootfsKey, Store};

use super::{Backend, Environment, Job};
use crate::emulated::{Emulated as Environ, SandboxExecutor};
use crate::method::Method;
use crate::plan::{Facts, Verdict};
use crate::project::BuildSystem;
use crate::steps::Toolset;
use crate::Error;

#[derive(Debug)]
pub struct Emulated;

impl Backend for Emulated {
    fn method(&self) -> Method {
        Method::Emulated
    }

    fn judge(&self, facts: &Facts, setup: bool) -> Verdict {
        super::judge_rootfs(Method::Emulated, facts, setup, "")
    }

    fn prepare(&self, job: &Job<'_>, reporter: &dyn Reporter) -> Result<Environment, Error> {
        let environment = environment(job)?;
        let (rootfs, in_use) = environment.ensure_held_rootfs(reporter)?;
        let executor = SandboxExecutor::new(&environment, &rootfs, job.output.clone());
        Ok(Environment {
            toolset: Toolset::Native,
            executor: crate::rust::root_filesystem_executor(executor, job, environment.key.suite),
            toolchain: None,
            emulator: Vec::new(),
            in_use: vec![in_use.into()],
            libraries: Some(super::dpkg_status(&rootfs.tree())),
        })
    }
}

/// The root filesystem key of `job`: the target's architecture, the suite asked for, the
/// packages asked for plus the build system's own tool (the buildd base has make and gcc, not
/// cmake, meson or cargo: a derived root filesystem, cached once).
pub(crate) fn rootfs_key(job: &Job<'_>) -> Result<RootfsKey, Error> {
    let architecture = Architecture::from_platform(job.target)?;
    let mut packages = job.rootfs.packages.clone();
    // The project's libraries, declared for the cross method's sysroot (`sysroot-packages`):
    // the same Debian packages of the target's architecture, so a build that lands here
    // (auto without a usable cross toolchain, or `--method emulated`) has them too, with
    // pkg-config, through which the cross method gives them. A Cargo project gets it in any
    // case: -sys crates' build scripts find the system's libraries through it (libz-sys's
    // panics without it, as Debian's copy never builds its bundled zlib).
    let libraries = job.sysroot_packages.iter().map(String::as_str);
    let with_pkg_config = (!job.sysroot_packages.is_empty()
        || job.build_system == Some(BuildSystem::Cargo))
    .then_some("pkg-config");
    for package in libraries.chain(with_pkg_config) {
        if !packages.iter().any(|existing| existing == package) {
            packages.push(package.to_string());
        }
    }
    if let Some(build_system) = job.build_system {
        let (_, package) = build_system.driver();
        if package != "make" && !packages.iter().any(|existing| existing == package) {
            packages.push(package.to_string());
        }
    }
    Ok(RootfsKey::from_names(
        architecture,
        job.rootfs.suite.as_deref(),
        &packages,
    )?)
}

/// The emulated environment of `job` (not yet created on disk).
pub(crate) fn environment(job: &Job<'_>) -> Result<Environ, Error> {
    let cache = job.cache_dir.ok_or(Error::NoCacheDir)?;
    let key = rootfs_key(job)?;
    let qemu = key.architecture.qemu_user();
    let mut environment = Environ::new(Store::new(cache), key, job.project_dir);
    environment.network = job.rootfs.network;
    environment.project_writable = job.rootfs.writable_source;
    environment.options.upstream = job.rootfs.upstream.clone();
    // The sandbox binds the project and the build directory at their own paths: the same maps
    // as on the host (`crate::reproducible`); it inherits nothing of archway's environment.
    environment.environment = crate::reproducible::with_path_maps(
        &job.rootfs.env,
        &archway_toolchain::reproducible::PathMap::for_build(job.project_dir, job.build_dir),
        job.project_dir,
        &|_| None,
    )
    .into_iter()
    .collect();
    environment.build_dir = Some(job.build_dir.to_path_buf());
    environment.interpreter_to_bind = crate::emulated::interpreter_to_bind(qemu);
    Ok(environment)
}

/// The sandbox of `job` in its root filesystem (created when missing), and its description.
pub(crate) fn sandbox(
    job: &Job<'_>,
    reporter: &dyn Reporter,
) -> Result<(archway_rootfs::Sandbox, String, Vec<archway_rootfs::InUse>), Error> {
    let mut environment = environment(job)?;
    // An interactive shell: its working directory stays writable (no build directory).
    environment.build_dir = None;
    let (rootfs, in_use) = environment.ensure_held_rootfs(reporter)?;
    Ok((
        environment.sandbox(&rootfs),
        format!(
            "bubblewrap in the {} root filesystem ({})",
            environment.key,
            rootfs.tree().display()
        ),
        vec![in_use],
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use archway_platform::Platform;

    use super::*;

    #[test]
    fn the_root_filesystem_holds_the_sysroot_packages_with_pkg_config_and_the_build_tool() {
        let target = Platform::parse("i386").expect("i386");
        let toolchain = archway_toolchain::Request::default();
        let rootfs = super::super::RootfsRequest {
            packages: vec!["zlib1g-dev".to_string()],
            ..Default::default()
        };
        let sysroot_packages = ["libbz2-dev".to_string(), "zlib1g-dev".to_string()];
        let job = Job {
            target: &target,
            host: None,
            project_dir: Path::new("/p"),
            build_dir: Path::new("/p/build"),
            build_system: Some(BuildSystem::Cargo),
            toolchain: &toolchain,
            cache_dir: None,
            rootfs: &rootfs,
            sysroot_packages: &sysroot_packages,
            output: crate::executor::ChildOutput::Inherit,
        };
        let names = |job: &Job<'_>| -> Vec<String> {
            let key = rootfs_key(job).expect("key");
            key.packages
                .iter()
                .map(|package| package.as_str().to_string())
                .collect()
        };
        assert_eq!(
            names(&job),
            ["cargo", "libbz2-dev", "pkg-config", "zlib1g-dev"]
        );
        // A Cargo project without declared libraries: cargo and pkg-config; a makefile: nothing.
        let none = Job {
            sysroot_packages: &[],
            rootfs: &super::super::RootfsRequest::default(),
            ..job
        };
        assert_eq!(names(&none), ["cargo", "pkg-config"]);
        let make = Job {
            build_system: Some(BuildSystem::Make),
            ..none
        };
        assert!(names(&make).is_empty(), "{:?}", names(&make));
    }
}
