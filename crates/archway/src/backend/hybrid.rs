//! The hybrid method: the target's root filesystem (the emulated method's, same key, same
//! cache) with a native prefix inside — the host's cross compiler for the target and the tools
//! builds spend their time in (sh, make, sed, grep, awk, coreutils, perl, cmake, ninja,
//! meson...), amd64 programs of the root filesystem's own suite — so configure, make and the
//! compiler run at the host's speed while the headers, libraries, configure probes and test
//! programs stay the target's own, under QEMU. Whatever the prefix lacks runs emulated from the
//! root filesystem, so whatever builds emulated builds hybrid.

use archway_platform::{Platform, Reporter};
use archway_rootfs::HybridView;
use archway_rootfs::{Architecture, PackageName, PrefixKey};

use super::{Backend, Environment, Job};
use crate::emulated::{Emulated as Environ, SandboxExecutor};
use crate::method::Method;
use crate::plan::{Facts, Verdict};
use crate::steps::Toolset;
use crate::Error;

#[derive(Debug)]
pub struct Hybrid;

impl Backend for Hybrid {
    fn method(&self) -> Method {
        Method::Hybrid
    }

    fn judge(&self, facts: &Facts, setup: bool) -> Verdict {
        match &facts.hybrid_prefix {
            Err(why) => Verdict::new(Method::Hybrid, false, why.clone(), None),
            Ok(prefix) => {
                super::judge_rootfs(Method::Hybrid, facts, setup, &format!(" with {prefix}"))
            }
        }
    }

    fn prepare(&self, job: &Job<'_>, reporter: &dyn Reporter) -> Result<Environment, Error> {
        let (environment, view, in_use) = view(job, reporter)?;
        let description = describe(&view);
        let executor =
            SandboxExecutor::in_tree(&environment, view.tree(), description, job.output.clone());
        Ok(Environment {
            toolset: Toolset::Native,
            // cargo and rustc stay the root filesystem's (the prefix has neither).
            executor: crate::rust::root_filesystem_executor(executor, job, environment.key.suite),
            toolchain: Some(format!(
                "the {} prefix's cross gcc for {}, native",
                view.metadata.prefix.suite, environment.key.architecture
            )),
            emulator: Vec::new(),
            in_use: in_use.into_iter().map(super::Held::from).collect(),
            libraries: Some(super::dpkg_status(&view.tree())),
        })
    }
}

/// Whether a native prefix can be made for `architecture` on `host`: it holds amd64 programs
/// of Debian's archive (its cross compilers run on amd64 only), for a target Debian has a port
/// and a cross compiler for. `Ok` says what the prefix holds, `Err` why there is none.
pub fn prefix_possible(
    host: &Platform,
    architecture: Option<Architecture>,
) -> Result<String, String> {
    if host.debian_arch() != Some("amd64") {
        return Err(format!(
            "the native prefix holds Debian's amd64 programs, and this host is `{}`",
            host.config()
        ));
    }
    match architecture {
        None => Err("Debian has no root filesystem for the target".to_string()),
        Some(Architecture::Amd64 | Architecture::I386) => {
            Err("the host runs the target's programs itself".to_string())
        }
        Some(architecture) => Ok(format!(
            "a native prefix (the suite's amd64 cross gcc for {architecture}, shell, make, coreutils...)"
        )),
    }
}

/// The sandbox of `job` in its hybrid view (created when missing), and its description.
pub(crate) fn sandbox(
    job: &Job<'_>,
    reporter: &dyn Reporter,
) -> Result<(archway_rootfs::Sandbox, String, Vec<archway_rootfs::InUse>), Error> {
    let (mut environment, view, in_use) = view(job, reporter)?;
    // An interactive shell: its working directory stays writable (no build directory).
    environment.build_dir = None;
    let sandbox = environment.sandbox_in(&view.tree());
    Ok((sandbox, describe(&view), in_use))
}

/// The emulated environment of `job` and its hybrid view: the root filesystem (created or
/// derived when missing, same key and cache as the emulated method), the native prefix of its
/// suite (with the toolchain override's cross compiler) and the view joining them; all three
/// held (the view's tree reaches into the other two).
fn view(
    job: &Job<'_>,
    reporter: &dyn Reporter,
) -> Result<(Environ, HybridView, Vec<archway_rootfs::InUse>), Error> {
    // The emulated method's root filesystem, same key: the build system's tool is the
    // target's package, which the view then replaces with the prefix's program of that name.
    let environment = super::emulated::environment(job)?;
    let (rootfs, rootfs_in_use) = environment.ensure_held_rootfs(reporter)?;
    let prefix_key = PrefixKey::for_rootfs(&environment.key, prefix_packages(job, &environment))?;
    let store = &environment.store;
    let ((prefix, created), prefix_in_use) = crate::emulated::held(
        store,
        || store.ensure_prefix(&prefix_key, &environment.options, reporter),
        |(prefix, _)| prefix.directory.clone(),
    )?;
    if created {
        reporter.note(&format!(
            "created the native prefix {} in {:.0} s",
            prefix_key.directory_name(),
            prefix.metadata.creation_seconds
        ));
    }
    let ((view, _), view_in_use) = crate::emulated::held(
        store,
        || store.ensure_hybrid(&rootfs, &prefix, reporter),
        |(view, _)| view.directory.clone(),
    )?;
    Ok((
        environment,
        view,
        vec![rootfs_in_use, prefix_in_use, view_in_use],
    ))
}

/// The native prefix's key for `job` (the build cache keys on its packages).
pub(crate) fn prefix_key(job: &Job<'_>) -> Result<PrefixKey, Error> {
    let environment = super::emulated::environment(job)?;
    Ok(PrefixKey::for_rootfs(
        &environment.key,
        prefix_packages(job, &environment),
    )?)
}

/// A toolchain override's compiler in the prefix: GCC `N` → Debian's `gcc-N-<triple>` and
/// `g++-N-<triple>` (the root filesystem gets `gcc-N`, whose binaries of the same name they
/// replace in the view). Clang stays the target's own, emulated.
fn prefix_packages(job: &Job<'_>, environment: &Environ) -> Vec<PackageName> {
    let triple = archway_rootfs::cross_triple(environment.key.architecture);
    match (&job.toolchain.family, &job.toolchain.version) {
        (Some(archway_toolchain::Family::Gcc) | None, Some(version)) => [
            format!("gcc-{version}-{triple}"),
            format!("g++-{version}-{triple}"),
        ]
        .iter()
        .filter_map(|name| name.parse().ok())
        .collect(),
        _ => Vec::new(),
    }
}

fn describe(view: &HybridView) -> String {
    format!(
        "bubblewrap in the {} root filesystem with a native prefix ({} programs run natively: {})",
        view.rootfs_key(),
        view.native_programs().len(),
        archway_rootfs::NATIVE_PROGRAMS
    )
}
