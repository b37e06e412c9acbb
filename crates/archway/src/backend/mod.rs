//! Build methods as backends: each method is one module behind one trait, and registered in
//! [`all`] — adding a method is a module and a line here.
//!
//! A [`Backend`] judges the [`Facts`] (can it build for this target on this machine, and what
//! would fix it), then sets itself up for one [`Job`] and gives the [`Toolset`] the recipe is
//! computed with and the [`Executor`] the steps run in. The planner ([`crate::plan`]) asks each
//! backend's verdict in order and is the only place a method is chosen.

pub mod cross;
pub mod emulated;
pub mod hybrid;
pub mod native;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use archway_platform::host::Host;
use archway_platform::{Platform, Reporter};
use archway_toolchain::Request;

use crate::executor::{ChildOutput, Executor};
use crate::method::Method;
use crate::plan::{Facts, Verdict};
use crate::project::BuildSystem;
use crate::steps::Toolset;
use crate::Error;

/// One build method.
pub trait Backend: Sync + std::fmt::Debug {
    fn method(&self) -> Method;

    /// Whether this method can build for the target on this machine, why (or why not), what
    /// would make it usable, and the set-up work it needs first. Pure: no probing here.
    fn judge(&self, facts: &Facts, setup: bool) -> Verdict;

    /// Sets the method up for `job` (toolchain files, sysroot, root filesystem) and gives what
    /// the build runs with.
    fn prepare(&self, job: &Job<'_>, reporter: &dyn Reporter) -> Result<Environment, Error>;
}

/// Every backend, in the order `auto` considers them.
pub fn all() -> [&'static dyn Backend; 4] {
    [
        &native::Native,
        &cross::Cross,
        &hybrid::Hybrid,
        &emulated::Emulated,
    ]
}

/// The backend of `method`.
pub fn get(method: Method) -> &'static dyn Backend {
    match method {
        Method::Native => &native::Native,
        Method::Cross => &cross::Cross,
        Method::Hybrid => &hybrid::Hybrid,
        Method::Emulated => &emulated::Emulated,
    }
}

/// What the target's root filesystem should hold and how the build inside it runs (the
/// hybrid and emulated methods): from the configuration (`rootfs-suite`, `rootfs-packages`,
/// the toolchain override, `env`) and the flags (`--suite`, `--packages`, `--network`).
#[derive(Debug, Clone, Default)]
pub struct RootfsRequest {
    /// `None`: the architecture's default suite.
    pub suite: Option<String>,
    /// Extra packages (a derived root filesystem; the base stays unchanged).
    pub packages: Vec<String>,
    /// The variables of a build with the target's own compilers — inside the root filesystem,
    /// or on the host for the native method (CC=gcc-11, CFLAGS, `env`...).
    pub env: BTreeMap<String, String>,
    /// Share the host's network.
    pub network: bool,
    /// `--no-sandbox`: the cross and native methods run their steps directly on the host
    /// ([`crate::host_sandbox`]).
    pub unsandboxed: bool,
    /// `--writable-source`: the project is writable in the host sandbox too.
    pub writable_source: bool,
    /// `--setup`: register a missing binfmt_misc entry.
    pub setup: bool,
    /// The shared cache a missing root filesystem is restored from and a new one offered to.
    pub upstream: Option<std::sync::Arc<dyn archway_rootfs::RootfsUpstream>>,
    /// The same shared cache for the cross method's sysroot (a missing package set restored
    /// instead of running apt, a filled one offered). Here because every method's request for
    /// an environment travels in this struct.
    pub sysroot_upstream: Option<std::sync::Arc<dyn archway_toolchain::SysrootUpstream>>,
}

/// One build, as the backends see it.
#[derive(Debug)]
pub struct Job<'a> {
    pub target: &'a Platform,
    pub host: Option<&'a Host>,
    pub project_dir: &'a Path,
    pub build_dir: &'a Path,
    /// The project's build system (its tool must be in a root filesystem), if any.
    pub build_system: Option<BuildSystem>,
    /// The cross toolchain asked for (family, version, flags, overrides).
    pub toolchain: &'a Request,
    /// The cache directory (sysroots, root filesystems); `None`: none is used.
    pub cache_dir: Option<&'a Path>,
    pub rootfs: &'a RootfsRequest,
    /// `sysroot-packages`: what the cross method's sysroot must hold.
    pub sysroot_packages: &'a [String],
    /// Where the steps' output goes.
    pub output: ChildOutput,
}

/// What a prepared backend gives the build.
#[derive(Debug)]
pub struct Environment {
    pub toolset: Toolset,
    pub executor: Box<dyn Executor>,
    /// The toolchain in a few words (`gcc 12.2.0 (aarch64-linux-gnu-gcc)`).
    pub toolchain: Option<String>,
    /// The emulator command for target programs (empty when none is needed).
    pub emulator: Vec<String>,
    /// The cache entries the steps run in (root filesystem, native prefix, hybrid view,
    /// sysroot), held for the build: `rootfs remove` and `sysroot remove` wait for them,
    /// `rootfs prune` and `sysroot prune` leave them alone.
    pub in_use: Vec<Held>,
    /// The dpkg status of the tree whose headers and libraries the build finds (the sysroot's,
    /// the root filesystem's, the host's for the native method): configure runs again when
    /// its packages change ([`crate::build::execute`]). `None`: no such tree (a cross
    /// toolchain without a sysroot).
    pub libraries: Option<PathBuf>,
}

/// Where a tree's dpkg keeps its status: the installed packages.
pub fn dpkg_status(tree: &Path) -> PathBuf {
    tree.join("var/lib/dpkg/status")
}

/// A cache entry a build runs with, held while this lives.
#[derive(Debug)]
pub enum Held {
    /// A root filesystem, a native prefix or a hybrid view ([`archway_rootfs::Store::hold`]).
    Rootfs(archway_rootfs::InUse),
    /// The cross method's sysroot ([`archway_toolchain::Sysroot::hold`]).
    Sysroot(archway_toolchain::SysrootInUse),
}

impl From<archway_rootfs::InUse> for Held {
    fn from(in_use: archway_rootfs::InUse) -> Held {
        Held::Rootfs(in_use)
    }
}

impl From<archway_toolchain::SysrootInUse> for Held {
    fn from(in_use: archway_toolchain::SysrootInUse) -> Held {
        Held::Sysroot(in_use)
    }
}

/// The verdict shared by the methods that run in the target's root filesystem: a Debian port,
/// QEMU for it, and a binfmt_misc entry (or `--setup` to register one).
pub(crate) fn judge_rootfs(method: Method, facts: &Facts, setup: bool, what: &str) -> Verdict {
    let verdict = |usable: bool, reason: String, fix: Option<String>| {
        Verdict::new(method, usable, reason, fix)
    };
    if let Some((conflict, hint)) = &facts.baseline_conflict {
        return Verdict::refused(method, conflict.clone(), hint.clone());
    }
    let Some(architecture) = facts.rootfs_architecture else {
        return verdict(
            false,
            format!("Debian has no root filesystem for `{}`", facts.target),
            None,
        );
    };
    // A target the host runs itself (its own, or i386 on x86_64) needs no emulator: the root
    // filesystem's programs run directly, unless a binfmt entry claims them.
    let native =
        facts.runs_natively && !matches!(facts.binfmt, crate::plan::BinfmtState::Registered { .. });
    let qemu_name = match &facts.qemu_name {
        _ if native => None,
        Some(name) => Some(name),
        None => {
            return verdict(
                false,
                format!("QEMU does not emulate `{}`", facts.target),
                None,
            )
        }
    };
    if let (Some(qemu_name), None) = (qemu_name, &facts.qemu_interpreter) {
        return verdict(
            false,
            format!("`qemu-{qemu_name}` is not installed"),
            Some("apt-get install qemu-user-static".to_string()),
        );
    }
    let suite = facts
        .rootfs_suite
        .unwrap_or_else(|| architecture.default_suite());
    // A Cargo project builds with the root filesystem's own cargo: its suite's.
    if let Some(needs) = facts.rust.as_ref().and_then(|rust| rust.needs.as_ref()) {
        let rustc = crate::rust::debian_rustc(suite);
        if rustc < needs.version {
            let reason = format!(
                "the {architecture}/{suite} root filesystem's rustc {rustc} is older than the \
                 project needs ({needs})"
            );
            // A suite asked for that is too old, where another serves: that one.
            return match crate::rust::suite_for(architecture, Some(needs)) {
                Some(newer) => Verdict::refused(
                    method,
                    reason,
                    Some(format!(
                        "use `--suite {newer}` (Debian's rustc {} there)",
                        crate::rust::debian_rustc(newer)
                    )),
                ),
                None => verdict(
                    false,
                    reason,
                    facts
                        .rust
                        .as_ref()
                        .and_then(|rust| rust.triple.as_ref())
                        .map(|triple| format!("rustup target add {triple}")),
                ),
            };
        }
    }
    let rootfs = format!("{architecture}/{suite} root filesystem{what}");
    let Some(qemu_name) = qemu_name else {
        return verdict(
            true,
            format!(
                "this host runs `{}` programs itself (no emulator), {rootfs}",
                facts.target
            ),
            None,
        );
    };
    match &facts.binfmt {
        crate::plan::BinfmtState::Registered { entry, fix_binary } => {
            let flag = if *fix_binary { " (F)" } else { "" };
            let emulator = facts.emulator.as_deref().unwrap_or("QEMU");
            verdict(
                true,
                format!("binfmt entry `{entry}`{flag} runs {emulator}, {rootfs}"),
                None,
            )
        }
        crate::plan::BinfmtState::Missing { can_install: true } if setup => verdict(
            true,
            format!("`--setup` registers `qemu-{qemu_name}`, {rootfs}"),
            None,
        )
        .with_setup(crate::plan::Setup::InstallBinfmt {
            qemu_name: qemu_name.clone(),
        }),
        crate::plan::BinfmtState::Missing { can_install } => {
            let (fix, also) = if *can_install {
                (
                    format!("archway binfmt install {qemu_name}"),
                    " (`--setup` registers one)",
                )
            } else {
                (format!("sudo archway binfmt install {qemu_name}"), "")
            };
            verdict(
                false,
                format!(
                    "no binfmt_misc entry runs `{}` binaries{also}",
                    facts.target
                ),
                Some(fix),
            )
        }
    }
}

/// The sandbox of a root-filesystem method for `job` (for `archway shell`), with its
/// description and the cache entries it runs in, held; the root filesystem is created when
/// missing.
pub fn sandbox(
    method: Method,
    job: &Job<'_>,
    reporter: &dyn Reporter,
) -> Result<(archway_rootfs::Sandbox, String, Vec<archway_rootfs::InUse>), Error> {
    match method {
        Method::Emulated => emulated::sandbox(job, reporter),
        Method::Hybrid => hybrid::sandbox(job, reporter),
        Method::Native | Method::Cross => Err(Error::NoRootfs { method }),
    }
}
