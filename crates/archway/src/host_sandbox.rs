//! The cross and native methods' steps, in a sandbox over the host's own system.
//!
//! These methods build with the host's compilers, so their steps used to run directly on the
//! host, as root when archway ran as root. The sources being built are not trusted
//! (docs/security.md): their configure scripts, Makefiles, build scripts and tests now run in
//! [`Sandbox::host`], the sandbox the emulated method uses with the host's `/` as its tree.
//!
//! What a step sees:
//! - the host's system read-only, without `/home` and `/root`, with a private `/tmp`;
//! - the project read-only: archway never builds in the source tree (a plain Makefile and a
//!   generated `configure` build in a copy under the build directory);
//! - the build directory writable: the only place a step writes, archway's own files in
//!   `<build>/.archway` (toolchain files, the log, Cargo's crates, Wine's prefix) included;
//! - read-only, when the host tree does not show them already: the cache directory (sysroots,
//!   emulator runners), the `PATH` directories, rustup's toolchains;
//! - no network, unless `--network` asks for it; Cargo's crates are fetched first by
//!   `cargo fetch` alone, with network ([`crate::rust::CargoExecutor`]).
//!
//! Who a step is: archway's own user, or, when archway runs as root, the unprivileged
//! [`archway_rootfs::SANDBOX_ID`] (`nobody`), to whom the build directory is handed over.
//! A host without bubblewrap or user namespaces gets an error naming the fix; `--no-sandbox`
//! runs the steps directly again, for trusted sources on such hosts.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use archway_platform::Reporter;
use archway_rootfs::{Identity, Sandbox};

use crate::backend::Job;
use crate::emulated::SandboxExecutor;
use crate::executor::{Executor, HostExecutor};
use crate::project::BuildSystem;
use crate::rust::{CargoExecutor, RustVersion};
use crate::Error;

/// Variables of archway's environment a sandboxed step does not get: they name places the
/// sandbox does not have (the user's home, runtime directory and agents' sockets) or that it
/// sets itself (`HOME=/tmp`, `CARGO_HOME` in the build directory).
const NOT_PASSED: [&str; 14] = [
    "HOME",
    "PWD",
    "OLDPWD",
    "TMPDIR",
    "CARGO_HOME",
    "CARGO_TARGET_DIR",
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "GPG_AGENT_INFO",
    "DBUS_SESSION_BUS_ADDRESS",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "WINEPREFIX",
];

/// The cargo on the host (rustup's): sparse crates.io by default since 1.70.
const HOST_CARGO: RustVersion = RustVersion {
    major: 1,
    minor: 70,
};

/// Who a step is, for `--explain` and `--json`'s `runs_in`.
fn user(identity: Identity) -> String {
    match identity {
        Identity::Dedicated(id) if id == archway_rootfs::SANDBOX_ID => {
            format!("`nobody` (uid {id}), not root")
        }
        Identity::Dedicated(id) => format!("the project's owner (uid {id}), not root"),
        Identity::Invoker => format!(
            "archway's user (uid {})",
            rustix::process::getuid().as_raw()
        ),
        Identity::MappedRoot | Identity::Root => "root without capabilities".to_string(),
    }
}

/// What a method adds to the host sandbox's view of the host.
#[derive(Debug, Default)]
pub(crate) struct View {
    /// Directories the steps need that the host tree does not show (the toolchain's).
    pub read_only: Vec<PathBuf>,
    /// Host programs hidden from the steps ([`native_only_tools`]).
    pub hidden_tools: Vec<PathBuf>,
    /// The cross sysroot where Debian's multiarch has a foreign architecture's packages.
    pub multiarch: MultiarchView,
}

/// The executor of a cross or native build: every step in [`Sandbox::host`] with `env` on top
/// of archway's environment, and what `view` adds (the toolchain's directories, the sysroot
/// at the multiarch paths) visible; Cargo projects fetch their crates first. With
/// `--no-sandbox`, a [`HostExecutor`], said loudly.
pub(crate) fn executor(
    job: &Job<'_>,
    env: BTreeMap<String, String>,
    view: View,
    reporter: &dyn Reporter,
) -> Result<Box<dyn Executor>, Error> {
    let View {
        read_only,
        hidden_tools,
        multiarch,
    } = view;
    if job.rootfs.unsandboxed {
        tracing::warn!("--no-sandbox: the project's build steps run directly on the host");
        reporter.note(&format!(
            "warning: --no-sandbox: the project's configure, build and test steps run directly \
             on the host as {}, with write access to everything that user can write",
            if archway_rootfs::running_as_root() {
                "root"
            } else {
                "archway's user"
            }
        ));
        return Ok(Box::new(HostExecutor {
            output: job.output.clone(),
            env,
        }));
    }
    // A binfmt_misc entry without the `F` flag makes the kernel open QEMU by its path inside
    // the sandbox when a test `exec`s a target program: it must be there too.
    let mut read_only = read_only;
    read_only.extend(configured_paths(job.toolchain));
    read_only.extend(
        job.target
            .qemu_user()
            .and_then(crate::emulated::interpreter_to_bind),
    );
    if let Some(first) = hidden_tools.first() {
        reporter.note(&format!(
            "hidden from the steps: the host's `{}`, which cannot run `{}` programs (as in a \
             Debian cross build, which does not install it)",
            first.display(),
            job.target.config()
        ));
    }
    let executor = |project_writable| {
        let mut sandbox = sandbox(job, &env, &read_only, project_writable);
        for tool in &hidden_tools {
            sandbox = sandbox.mask(tool);
        }
        for (target, link) in &multiarch.links {
            sandbox = sandbox.symlink_at(target, link);
        }
        SandboxExecutor {
            description: format!(
                "bubblewrap over the host's system, as {}",
                user(sandbox.effective_identity())
            ),
            sandbox,
            tree: PathBuf::from("/"),
            output: job.output.clone(),
        }
    };
    let inner = executor(job.rootfs.writable_source);
    let probe = inner.sandbox.clone().current_dir(job.build_dir);
    let steps: Box<dyn Executor> = if job.build_system == Some(BuildSystem::Cargo) {
        Box::new(CargoExecutor::new(inner, job.build_dir, HOST_CARGO))
    } else {
        Box::new(inner)
    };
    Ok(Box::new(HostSandboxExecutor {
        steps,
        command: executor(true),
        probe,
        probed: std::sync::Mutex::new(false),
    }))
}

/// The project's steps in the sandbox with the project read-only; a user's own command
/// (`archway build -- make`) with the project writable, since building in the tree is what
/// such a command usually does (as root: host root in a user namespace without capabilities,
/// [`Identity::MappedRoot`], as the emulated method's shell).
/// Before the first step, the sandbox is started once with an empty command ([`probe`]): not earlier,
/// so that what the build checks first (a missing `autoreconf`) is said first and a build
/// restored from the cache starts no sandbox.
#[derive(Debug)]
struct HostSandboxExecutor {
    steps: Box<dyn Executor>,
    command: SandboxExecutor,
    probe: Sandbox,
    probed: std::sync::Mutex<bool>,
}

impl Executor for HostSandboxExecutor {
    fn run(&self, step: &crate::steps::Step) -> Result<Option<i32>, Error> {
        {
            let mut probed = self
                .probed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !*probed {
                probe(&self.probe)?;
                *probed = true;
            }
        }
        if step.kind == crate::steps::StepKind::Command {
            self.command.run(step)
        } else {
            self.steps.run(step)
        }
    }

    fn has_program(&self, program: &str) -> bool {
        self.steps.has_program(program)
    }

    fn describe(&self) -> String {
        self.steps.describe()
    }

    fn log(&self) -> Option<&Path> {
        self.steps.log()
    }

    fn transcript(&self) -> Option<&Path> {
        self.steps.transcript()
    }
}

/// The sandbox of `job`'s steps (module docs); `project_writable` for a user's own command.
pub fn sandbox(
    job: &Job<'_>,
    env: &BTreeMap<String, String>,
    read_only: &[PathBuf],
    project_writable: bool,
) -> Sandbox {
    let mut sandbox = Sandbox::host()
        .network(job.rootfs.network)
        .current_dir(job.project_dir);
    sandbox = if project_writable {
        let sandbox = sandbox.bind(job.project_dir);
        match project_owner(job.project_dir) {
            // As root over a user's project: that user, who may write it, rather than root of a
            // user namespace, which still owns (and so reads) the host's root-only files such
            // as /etc/shadow (the tree is the host's own).
            Some(owner) if archway_rootfs::running_as_root() && owner != 0 => {
                sandbox.identity(Identity::Dedicated(owner))
            }
            _ => sandbox,
        }
    } else {
        sandbox.bind_read_only(job.project_dir)
    };
    sandbox = sandbox.bind_build_directory(job.build_dir);
    for path in hidden_paths(job.cache_dir, read_only) {
        sandbox = sandbox.bind_read_only(path);
    }
    for (name, value) in passed_environment(std::env::vars_os()) {
        sandbox = sandbox.env(name, value);
    }
    if let Some(rustup) = rustup_home() {
        sandbox = sandbox.env("RUSTUP_HOME", rustup);
    }
    // Wine writes its prefix: one per build directory (archway-toolchain's runner takes it).
    sandbox = sandbox.env(
        "ARCHWAY_WINEPREFIX",
        job.build_dir.join(".archway").join("wine"),
    );
    for (name, value) in env {
        sandbox = sandbox.env(name, value);
    }
    sandbox
}

/// The host's programs that analyse a program by running it on the host's own CPU, found on
/// `PATH` (links resolved): a cross build hides them ([`Sandbox::mask`]). Test suites use
/// valgrind whenever it is on `PATH` (json-c's `test-defs.sh`, sed's `require_valgrind_`,
/// which checks it on the host's `true`) and then fail on every target program.
pub(crate) fn native_only_tools() -> Vec<PathBuf> {
    const NAMES: [&str; 3] = ["valgrind", "valgrind.bin", "vgdb"];
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    let mut tools: Vec<PathBuf> = Vec::new();
    for directory in std::env::split_paths(&search_path) {
        for name in NAMES {
            let Ok(path) = std::fs::canonicalize(directory.join(name)) else {
                continue;
            };
            if path.is_file() && !tools.contains(&path) {
                tools.push(path);
            }
        }
    }
    tools
}

/// A cross sysroot shown where Debian's multiarch co-installs a foreign architecture's
/// packages on the build machine. A Debian cross build has the target's `-dev` packages
/// installed there, and what they ship points there: Tcl's `/usr/lib/tclConfig.sh` sources
/// `/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/tcl8.6/tclConfig.sh` (sqlite3's
/// configure), `*-config` scripts and `.pc` files name `-L/usr/lib/<multiarch>`.
///
/// Symbolic links into the sysroot, not binds: a link follows the sysroot's path, so a build
/// keeps seeing it when another archway adds packages to it meanwhile (the tree is replaced
/// by `renameat2(RENAME_EXCHANGE)` and the old one removed, which would leave a bind of the
/// old tree empty), and a link costs bwrap no mount.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct MultiarchView {
    /// (target in the sysroot, the path inside).
    pub links: Vec<(PathBuf, PathBuf)>,
}

/// [`MultiarchView`] of `sysroot` over the host tree at `host` (`/`): in `usr/lib` and
/// `usr/include`, the sysroot's `<multiarch>` directory (over the host's own, which holds
/// only the cross binutils' `ldscripts` and `bfd-plugins`), and every entry the host does not
/// have (the target's dynamic loader, which `-L/usr/lib/<multiarch>` makes ld look for at
/// `/lib/ld-linux-aarch64.so.1`; Tcl's `tclConfig.sh` and `tcl8.6`; the target's headers).
/// What the host has stays the host's, as with Debian's `Multi-Arch: same` packages, whose
/// shared files are the same for every architecture.
pub(crate) fn multiarch_view(sysroot: &Path, multiarch: &str, host: &Path) -> MultiarchView {
    let mut view = MultiarchView::default();
    for parent in ["usr/lib", "usr/include"] {
        let Ok(entries) = std::fs::read_dir(sysroot.join(parent)) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name();
            let on_host = std::fs::symlink_metadata(host.join(parent).join(&name));
            let over_hosts_directory = name == OsStr::new(multiarch)
                && on_host.as_ref().is_ok_and(std::fs::Metadata::is_dir);
            if on_host.is_ok() && !over_hosts_directory {
                continue;
            }
            view.links
                .push((entry.path(), Path::new("/").join(parent).join(&name)));
        }
    }
    view
}

/// The owner of the project directory, when it has one this process can see.
fn project_owner(project: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(project)
        .ok()
        .map(|metadata| metadata.uid())
}

/// The directories a step needs that the host tree does not show (under `/home`, `/root`,
/// `/tmp`...): the cache, the installations of the `PATH` directories, rustup's, `read_only`;
/// existing ones, once.
fn hidden_paths(cache_dir: Option<&Path>, read_only: &[PathBuf]) -> Vec<PathBuf> {
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    let mut candidates: Vec<PathBuf> = cache_dir.map(Path::to_path_buf).into_iter().collect();
    candidates.extend(
        std::env::split_paths(&search_path)
            .filter_map(|directory| std::fs::canonicalize(directory).ok())
            .map(|directory| installation(&directory)),
    );
    candidates.extend(rustup_home());
    candidates.extend(read_only.iter().cloned());
    let mut paths: Vec<PathBuf> = Vec::new();
    for candidate in candidates {
        // bwrap binds the target of a link; the bind's own path must be a plain one.
        let Ok(path) = std::fs::canonicalize(&candidate) else {
            continue;
        };
        if Sandbox::host_tree_shows(&path) || paths.iter().any(|kept| path.starts_with(kept)) {
            continue;
        }
        paths.retain(|kept| !kept.starts_with(&path));
        paths.push(path);
    }
    paths
}

/// What the configuration names for the toolchain (`cc`, `sysroot`, `emulator`...): the
/// programs' directories, with and without links resolved, the sysroot, the emulator.
fn configured_paths(request: &archway_toolchain::Request) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for program in [&request.cc, &request.cxx, &request.ar, &request.ld]
        .into_iter()
        .flatten()
    {
        let resolved = std::fs::canonicalize(program).ok();
        paths.extend(
            [Some(program.clone()), resolved]
                .into_iter()
                .flatten()
                .filter_map(|path| path.parent().map(Path::to_path_buf))
                .filter(|directory| directory.is_absolute()),
        );
    }
    paths.extend(request.sysroot.clone());
    paths.extend(request.emulator.clone());
    paths
}

/// What a `PATH` directory needs besides itself: its parent, the tool's own prefix (pyenv's
/// shims run `~/.pyenv/libexec/pyenv`, a virtualenv's `bin/python` needs its `lib`, nvm's
/// `bin/npm` links into `../lib`) — but never a whole home directory (`~/bin`), and only
/// `bin` of Cargo's home (rustup's proxies need `RUSTUP_HOME`, not `credentials.toml`).
fn installation(directory: &Path) -> PathBuf {
    let Some(parent) = directory.parent() else {
        return directory.to_path_buf();
    };
    let is_home = parent == Path::new("/root") || parent.parent() == Some(Path::new("/home"));
    if is_home || parent.file_name() == Some(std::ffi::OsStr::new(".cargo")) {
        directory.to_path_buf()
    } else {
        parent.to_path_buf()
    }
}

/// rustup's toolchains: `RUSTUP_HOME`, else `~/.rustup` when it exists.
fn rustup_home() -> Option<PathBuf> {
    std::env::var_os("RUSTUP_HOME")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rustup")))
        .filter(|path| path.is_dir())
}

/// archway's environment without [`NOT_PASSED`] and the `XDG_` directories: the cross
/// toolchain's `PATH`, a user's `CC` or `CFLAGS`, as the steps had them on the host.
fn passed_environment(
    variables: impl Iterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    variables
        .filter(|(name, _)| {
            let name = name.to_string_lossy();
            !NOT_PASSED.contains(&name.as_ref()) && !name.starts_with("XDG_")
        })
        .collect()
}

/// Starts the sandbox once with an empty command before the first step, so that a host without bwrap or
/// without user namespaces gets one error naming the fix instead of a failed configure.
fn probe(sandbox: &Sandbox) -> Result<(), Error> {
    // By its path: the steps' `PATH` may be a project's own few tools.
    let mut command = sandbox
        .command("/bin/sh", ["-c", ":"])
        .map_err(|error| sandbox_error(error, Path::new("/"), Path::new("/proc")))?;
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Rootfs(archway_rootfs::Error::ToolMissing {
                tool: "bwrap",
                package: "bubblewrap",
            }))
        }
        Err(source) => {
            return Err(Error::Spawn {
                command: "bwrap".to_string(),
                source,
            })
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr).trim().to_string();
    Err(Error::HostSandbox {
        reason: said
            .lines()
            .last()
            .map(|line| line.strip_prefix("bwrap: ").unwrap_or(line))
            .unwrap_or("bwrap failed")
            .to_string(),
        blocker: namespace_blocker(Path::new("/"), Path::new("/proc")),
        in_root_filesystem: false,
    })
}

/// A sandbox that could not even be prepared: a user namespace the kernel refused is said as
/// bwrap's own refusal is, with what refused it. `root` is `/`, `proc` is `/proc`.
fn sandbox_error(error: archway_rootfs::Error, root: &Path, proc: &Path) -> Error {
    match error {
        archway_rootfs::Error::UserNamespace { reason } => Error::HostSandbox {
            reason,
            blocker: namespace_blocker(root, proc),
            in_root_filesystem: false,
        },
        other => Error::Rootfs(other),
    }
}

/// A step of any method whose sandbox was refused its user namespace (the emulated and hybrid
/// methods' root filesystem sandbox too) is said as the host sandbox's refusal is, with what
/// refused it.
pub(crate) fn namespace_refused(error: Error, method: crate::method::Method) -> Error {
    match error {
        Error::Rootfs(archway_rootfs::Error::UserNamespace { reason }) => Error::HostSandbox {
            reason,
            blocker: namespace_blocker(Path::new("/"), Path::new("/proc")),
            in_root_filesystem: matches!(
                method,
                crate::method::Method::Emulated | crate::method::Method::Hybrid
            ),
        },
        other => other,
    }
}

/// What keeps the kernel from making the sandbox's user namespace, when archway can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceBlocker {
    /// A setting forbids them; the command allows them.
    Setting { command: String },
    /// archway runs in a chroot: its root is not its mount namespace's, and the kernel refuses
    /// a new user namespace to such a process (EPERM, user_namespaces(7)).
    Chroot,
    /// A seccomp filter is on archway's process (`Seccomp: 2` in `/proc/self/status`): a
    /// container's profile most often, Docker's default among them, which refuses `unshare`
    /// and `clone` with `CLONE_NEWUSER`.
    Seccomp,
}

/// The setting that forbids user namespaces, else a chroot archway runs in, else a seccomp
/// filter on it. `root` is `/`, `proc` is `/proc`.
fn namespace_blocker(root: &Path, proc: &Path) -> Option<NamespaceBlocker> {
    if let Some(command) = user_namespace_setting(&proc.join("sys")) {
        return Some(NamespaceBlocker::Setting { command });
    }
    if chrooted(root, proc) == Some(true) {
        return Some(NamespaceBlocker::Chroot);
    }
    seccomp_filtered(proc).then_some(NamespaceBlocker::Seccomp)
}

/// Whether a seccomp filter is on this process: `Seccomp: 2` (filter mode) in
/// `proc/self/status`.
fn seccomp_filtered(proc: &Path) -> bool {
    std::fs::read_to_string(proc.join("self/status")).is_ok_and(|status| {
        status.lines().any(|line| {
            line.strip_prefix("Seccomp:")
                .is_some_and(|mode| mode.trim() == "2")
        })
    })
}

/// Whether this process's root (`root`) is not the root of the mount namespace it lives in.
/// Sure when the root is no mount point at all (`proc/self/mountinfo` has no mount on `/`:
/// `pivot_root` and a namespace's first root are mounts, a chroot's directory need not be),
/// or, when process 1 shares the mount namespace and its root can be read (as root), when the
/// two roots differ. `None` when it cannot tell.
fn chrooted(root: &Path, proc: &Path) -> Option<bool> {
    use rustix::fs::{statx, AtFlags, StatxFlags, CWD};
    let mountinfo = std::fs::read_to_string(proc.join("self/mountinfo")).ok()?;
    // `ID PARENT MAJOR:MINOR ROOT MOUNT-POINT ...`: the mount point is the fifth field.
    if !mountinfo
        .lines()
        .any(|line| line.split(' ').nth(4) == Some("/"))
    {
        return Some(true);
    }
    let namespace = |pid: &str| std::fs::read_link(proc.join(pid).join("ns/mnt")).ok();
    if namespace("self")? != namespace("1")? {
        return None;
    }
    let identity = |path: &Path| {
        statx(
            CWD,
            path,
            AtFlags::empty(),
            StatxFlags::INO | StatxFlags::MNT_ID,
        )
        .ok()
        .map(|stat| {
            (
                stat.stx_mnt_id,
                stat.stx_dev_major,
                stat.stx_dev_minor,
                stat.stx_ino,
            )
        })
    };
    Some(identity(root)? != identity(&proc.join("1/root"))?)
}

/// The setting that forbids user namespaces, if one does, with the command that allows them:
/// Debian's `kernel.unprivileged_userns_clone` (its kernel patch, 0 forbids them to users),
/// Ubuntu's AppArmor restriction (23.10 and later), and the kernel's own limit.
/// `proc_sys` is `/proc/sys`.
fn user_namespace_setting(proc_sys: &Path) -> Option<String> {
    let read = |path: &str| {
        std::fs::read_to_string(proc_sys.join(path))
            .ok()
            .map(|text| text.trim().to_string())
    };
    if read("user/max_user_namespaces").as_deref() == Some("0") {
        return Some("sysctl -w user.max_user_namespaces=15000".to_string());
    }
    // As root too: the sandbox's unprivileged id makes the namespace.
    if read("kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Some("sysctl -w kernel.unprivileged_userns_clone=1".to_string());
    }
    if read("kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return Some("sysctl -w kernel.apparmor_restrict_unprivileged_userns=0".to_string());
    }
    None
}

/// A failed step of a sandboxed build whose output says "Read-only file system" about the
/// project ([`wrote_into`]) becomes [`Error::SourceReadOnly`]: the host sandbox of a cross or
/// native build, and the root filesystem's of an emulated or hybrid one, which keeps the
/// project read-only too (yajl's tests write into it there as well).
pub(crate) fn diagnose(
    error: Error,
    plan: &crate::build::Plan,
    request: &crate::build::BuildRequest,
) -> Error {
    use crate::method::Method;
    let sandboxed = match plan.method {
        Method::Cross | Method::Native => !request.rootfs.unsandboxed,
        Method::Emulated | Method::Hybrid => true,
    } && !request.rootfs.writable_source;
    if !sandboxed {
        return error;
    }
    match error.failed_step_output() {
        Some(text) if wrote_into(&text, &plan.project_dir) => Error::SourceReadOnly {
            project: plan.project_dir.clone(),
            build_dir: plan.build_dir.clone(),
            step: Box::new(error),
        },
        _ => error,
    }
}

/// Whether a line of `output` says "Read-only file system" about a path in `project`: one that
/// names a path under it, or only relative paths (the step's directory: yajl's `cannot create
/// cases/x.test`). A line about an absolute path elsewhere (`/etc`, `/usr/local`) is the host
/// system's, which a copy of the project would not change. Or cargo's own
/// `error: failed to write <path>` about a path in `project`, whatever the cause under it:
/// "Read-only file system" over a read-only bind, "Permission denied" as the sandbox's id over
/// root's project (an older cargo rewriting a `Cargo.lock` a newer one wrote).
fn wrote_into(output: &str, project: &Path) -> bool {
    let cargo_wrote = output.lines().any(|line| {
        line.trim_start()
            .strip_prefix("error: failed to write ")
            .is_some_and(|path| Path::new(path.trim_end()).starts_with(project))
    });
    cargo_wrote
        || output
            .lines()
            .filter(|line| line.contains("Read-only file system"))
            .any(|line| {
                let absolute: Vec<&str> = line
                    .split(|c: char| c.is_whitespace() || "'\"`‘’:,()".contains(c))
                    .filter(|word| word.starts_with('/'))
                    .collect();
                absolute.is_empty()
                    || absolute
                        .iter()
                        .any(|word| Path::new(word).starts_with(project))
            })
}

/// A failed step whose output names the C++ cross compiler the toolchain lacks becomes
/// [`Error::MissingCompiler`]: `CXX` named it, so nothing else mentions it.
pub(crate) fn diagnose_compiler(error: Error, plan: &crate::build::Plan) -> Error {
    match &plan.toolset {
        crate::steps::Toolset::Cross(setup) => match &setup.missing_cxx {
            Some(missing) => compiler_error(error, missing),
            None => error,
        },
        crate::steps::Toolset::Native => error,
    }
}

fn compiler_error(error: Error, missing: &archway_toolchain::MissingCompiler) -> Error {
    let Some(name) = missing.program.file_name().and_then(|name| name.to_str()) else {
        return error;
    };
    match error.failed_step_output() {
        Some(text) if text.contains(name) => Error::MissingCompiler {
            missing: missing.clone(),
            step: Box::new(error),
        },
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_errors_about_the_project_are_told_from_the_hosts() {
        let project = Path::new("/srv/work/yajl");
        for (line, project_wrote) in [
            (
                "./run_tests.sh: 70: cannot create cases/a.json.test: Read-only file system",
                true,
            ),
            (
                "touch: cannot touch '/srv/work/yajl/stamp': Read-only file system",
                true,
            ),
            ("touch: cannot touch '/etc/x': Read-only file system", false),
            (
                "install: cannot create regular file '/usr/local/lib/libx.so': Read-only file system",
                false,
            ),
            // A sibling whose name starts the same is not the project.
            ("cp: cannot create '/srv/work/yajl2/x': Read-only file system", false),
            ("error: no such file", false),
            // cargo 1.63 rewriting a lock, as the sandbox's id over root's project.
            (
                "error: failed to write /srv/work/yajl/Cargo.lock\n\nCaused by:\n  \
                 failed to open: /srv/work/yajl/Cargo.lock\n\nCaused by:\n  Permission \
                 denied (os error 13)",
                true,
            ),
            ("error: failed to write /etc/x.lock", false),
            ("error: failed to write /srv/work/yajl2/Cargo.lock", false),
            ("note: failed to write /srv/work/yajl/x", false),
        ] {
            assert_eq!(
                wrote_into(&format!("make: entering\n{line}\n"), project),
                project_wrote,
                "{line}"
            );
        }
    }

    #[test]
    fn a_failed_step_naming_the_missing_cxx_says_which_package_brings_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let transcript = dir.path().join("transcript");
        let failed = |output: &str| {
            std::fs::write(&transcript, format!("earlier step: g++ ok\n{output}")).expect("write");
            Error::StepFailed {
                step: crate::steps::StepKind::Test,
                command: "make check".to_string(),
                code: Some(2),
                log: None,
                transcript: Some(transcript.clone()),
                transcript_start: "earlier step: g++ ok\n".len() as u64,
            }
        };
        let missing = archway_toolchain::MissingCompiler {
            program: PathBuf::from("/usr/bin/arm-linux-gnueabihf-g++"),
            package: "g++-arm-linux-gnueabihf".to_string(),
        };
        let error = compiler_error(
            failed(
                "libtool: link: /usr/bin/arm-linux-gnueabihf-g++ -o t t.o\nmake: *** Error 127\n",
            ),
            &missing,
        );
        assert!(matches!(error, Error::MissingCompiler { .. }), "{error}");
        assert!(error
            .to_string()
            .contains("`/usr/bin/arm-linux-gnueabihf-g++` is not installed"));
        assert_eq!(
            error.hint().as_deref(),
            Some("run `apt-get install g++-arm-linux-gnueabihf` as root, then build again")
        );
        assert_eq!(error.exit_code(), 2, "the step's own code");
        // Another failure stays what it was.
        let error = compiler_error(failed("hello.c:1: error: expected ';'\n"), &missing);
        assert!(matches!(error, Error::StepFailed { .. }), "{error}");
    }

    #[test]
    fn the_environment_keeps_the_toolchain_and_drops_the_users_places() {
        let variables = [
            ("PATH", "/opt/cross/bin:/usr/bin"),
            ("CFLAGS", "-O1"),
            ("HOME", "/root"),
            ("SSH_AUTH_SOCK", "/tmp/ssh-x/agent.1"),
            ("XDG_RUNTIME_DIR", "/run/user/0"),
            ("CARGO_HOME", "/root/.cargo"),
        ]
        .map(|(name, value)| (OsString::from(name), OsString::from(value)));
        let passed: Vec<String> = passed_environment(variables.into_iter())
            .into_iter()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        assert_eq!(passed, ["PATH", "CFLAGS"]);
    }

    #[test]
    fn the_configured_toolchain_is_visible() {
        let request = archway_toolchain::Request {
            cc: Some(PathBuf::from("/home/user/x-tools/bin/aarch64-gcc")),
            cxx: Some(PathBuf::from("clang++")),
            sysroot: Some(PathBuf::from("/home/user/sysroot")),
            emulator: Some(PathBuf::from("/home/user/qemu/qemu-aarch64")),
            ..Default::default()
        };
        assert_eq!(
            configured_paths(&request),
            [
                "/home/user/x-tools/bin",
                "/home/user/sysroot",
                "/home/user/qemu/qemu-aarch64"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn a_path_directory_brings_its_installation_but_no_home() {
        for (directory, needed) in [
            ("/root/.pyenv/shims", "/root/.pyenv"),
            (
                "/home/user/.nvm/versions/node/v20/bin",
                "/home/user/.nvm/versions/node/v20",
            ),
            ("/home/user/bin", "/home/user/bin"),
            ("/root/.cargo/bin", "/root/.cargo/bin"),
            ("/home/user/.cargo/bin", "/home/user/.cargo/bin"),
        ] {
            assert_eq!(installation(Path::new(directory)), Path::new(needed));
        }
    }

    #[test]
    fn the_multiarch_view_adds_the_sysroot_where_the_host_has_nothing() {
        let sysroot = tempfile::tempdir().expect("temp dir");
        let host = tempfile::tempdir().expect("temp dir");
        let make = |root: &Path, dirs: &[&str], files: &[&str]| {
            for dir in dirs {
                std::fs::create_dir_all(root.join(dir)).expect("mkdir");
            }
            for file in files {
                std::fs::write(root.join(file), "").expect("write");
            }
        };
        make(
            sysroot.path(),
            &[
                "usr/lib/aarch64-linux-gnu",
                "usr/lib/tcl8.6",
                "usr/lib/gcc",
                "usr/include/aarch64-linux-gnu",
                "usr/include/tcl8.6",
            ],
            &["usr/include/stdio.h"],
        );
        std::os::unix::fs::symlink(
            "aarch64-linux-gnu/ld-linux-aarch64.so.1",
            sysroot.path().join("usr/lib/ld-linux-aarch64.so.1"),
        )
        .expect("symlink");
        std::os::unix::fs::symlink(
            "tcl8.6/tclConfig.sh",
            sysroot.path().join("usr/lib/tclConfig.sh"),
        )
        .expect("symlink");
        // The host: its own gcc and stdio.h, the cross binutils' multiarch directory.
        make(
            host.path(),
            &[
                "usr/lib/aarch64-linux-gnu/ldscripts",
                "usr/lib/gcc",
                "usr/include",
            ],
            &["usr/include/stdio.h"],
        );
        let view = multiarch_view(sysroot.path(), "aarch64-linux-gnu", host.path());
        let link = |relative: &str| (sysroot.path().join(relative), Path::new("/").join(relative));
        assert_eq!(
            view.links,
            vec![
                link("usr/lib/aarch64-linux-gnu"),
                link("usr/lib/ld-linux-aarch64.so.1"),
                link("usr/lib/tcl8.6"),
                link("usr/lib/tclConfig.sh"),
                link("usr/include/aarch64-linux-gnu"),
                link("usr/include/tcl8.6"),
            ]
        );
        // No sysroot, no view.
        assert_eq!(
            multiarch_view(&host.path().join("none"), "aarch64-linux-gnu", host.path()),
            MultiarchView::default()
        );
    }

    #[test]
    fn hidden_paths_are_bound_once_and_shown_ones_not_at_all() {
        let cache = tempfile::tempdir().expect("temp dir");
        let inside = cache.path().join("sysroot");
        std::fs::create_dir(&inside).expect("mkdir");
        let canonical = std::fs::canonicalize(cache.path()).expect("canonical");
        let paths = hidden_paths(
            Some(cache.path()),
            &[
                inside,
                PathBuf::from("/usr/bin"),
                PathBuf::from("/no/such/dir"),
            ],
        );
        assert!(paths.contains(&canonical), "{paths:?}");
        assert!(!paths
            .iter()
            .any(|path| path.starts_with(&canonical) && *path != canonical));
        assert!(!paths.contains(&PathBuf::from("/usr/bin")));
        assert!(!paths.contains(&PathBuf::from("/no/such/dir")));
    }

    #[test]
    fn the_setting_that_forbids_user_namespaces_is_named_with_its_fix() {
        let proc = tempfile::tempdir().expect("temp dir");
        let proc_sys = proc.path().join("sys");
        let write = |path: &str, value: &str| {
            let path = proc_sys.join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, value).expect("write");
        };
        write("user/max_user_namespaces", "15000\n");
        write("kernel/unprivileged_userns_clone", "1\n");
        assert_eq!(user_namespace_setting(&proc_sys), None);
        // No mountinfo: whether this is a chroot is not known either.
        assert_eq!(namespace_blocker(Path::new("/"), proc.path()), None);
        write("kernel/apparmor_restrict_unprivileged_userns", "1\n");
        assert_eq!(
            user_namespace_setting(&proc_sys).as_deref(),
            Some("sysctl -w kernel.apparmor_restrict_unprivileged_userns=0")
        );
        write("kernel/unprivileged_userns_clone", "0\n");
        assert_eq!(
            user_namespace_setting(&proc_sys).as_deref(),
            Some("sysctl -w kernel.unprivileged_userns_clone=1")
        );
        write("user/max_user_namespaces", "0\n");
        assert_eq!(
            namespace_blocker(Path::new("/"), proc.path()),
            Some(NamespaceBlocker::Setting {
                command: "sysctl -w user.max_user_namespaces=15000".to_string()
            })
        );
        let error = Error::HostSandbox {
            reason: "setting up uid map: Permission denied".to_string(),
            blocker: namespace_blocker(Path::new("/"), proc.path()),
            in_root_filesystem: false,
        };
        assert_eq!(
            error.to_string(),
            "the build sandbox (bubblewrap) cannot start on this host: setting up uid map: \
             Permission denied"
        );
        assert_eq!(
            error.hint().as_deref(),
            Some(
                "allow user namespaces: run `sysctl -w user.max_user_namespaces=15000` as root; \
                 or, for sources you trust, build unsandboxed with `--no-sandbox`"
            )
        );
        // The namespace archway makes itself for a build as root is refused the same way.
        let refused = sandbox_error(
            archway_rootfs::Error::UserNamespace {
                reason: "unshare: unshare failed: No space left on device".to_string(),
            },
            Path::new("/"),
            proc.path(),
        );
        assert_eq!(
            refused.to_string(),
            "the build sandbox (bubblewrap) cannot start on this host: unshare: unshare failed: \
             No space left on device"
        );
        assert_eq!(refused.hint(), error.hint());
        let other = sandbox_error(
            archway_rootfs::Error::UnsupportedBindPath {
                path: "relative".into(),
                reason: "it is not an absolute path",
            },
            Path::new("/"),
            proc.path(),
        );
        assert!(matches!(other, Error::Rootfs(_)), "{other}");
    }

    #[test]
    fn a_seccomp_filter_is_told_from_the_process_status() {
        let proc = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(proc.path().join("self")).expect("mkdir");
        let status = |mode: &str| {
            std::fs::write(
                proc.path().join("self/status"),
                format!("Name:\tarchway\nNoNewPrivs:\t1\nSeccomp:\t{mode}\nSeccomp_filters:\t1\n"),
            )
            .expect("status")
        };
        status("2");
        assert!(seccomp_filtered(proc.path()));
        // No mountinfo: no chroot known; the filter is what is said.
        assert_eq!(
            namespace_blocker(Path::new("/"), proc.path()),
            Some(NamespaceBlocker::Seccomp)
        );
        for mode in ["0", "1", ""] {
            status(mode);
            assert!(!seccomp_filtered(proc.path()), "{mode}");
        }
        assert!(!seccomp_filtered(&proc.path().join("none")));
    }

    #[test]
    fn a_chroot_is_told_from_its_mounts_and_from_process_1s_root() {
        let proc = tempfile::tempdir().expect("temp dir");
        let trees = tempfile::tempdir().expect("temp dir");
        let (init_root, other) = (trees.path().join("init"), trees.path().join("other"));
        for directory in [
            &init_root,
            &other,
            &proc.path().join("self/ns"),
            &proc.path().join("1/ns"),
        ] {
            std::fs::create_dir_all(directory).expect("mkdir");
        }
        let mountinfo = proc.path().join("self/mountinfo");
        let link = |target: &Path, link: &str| {
            std::os::unix::fs::symlink(target, proc.path().join(link)).expect("symlink")
        };
        link(&init_root, "1/root");
        link(Path::new("mnt:[4026531841]"), "self/ns/mnt");
        link(Path::new("mnt:[4026531841]"), "1/ns/mnt");
        // A root that is no mount point: a chroot, whoever asks.
        std::fs::write(
            &mountinfo,
            "22 1 254:1 / /work rw,relatime shared:1 - ext4 /dev/vda rw\n",
        )
        .expect("mountinfo");
        assert_eq!(chrooted(&init_root, proc.path()), Some(true));
        assert_eq!(
            namespace_blocker(&init_root, proc.path()),
            Some(NamespaceBlocker::Chroot)
        );
        // A mount on `/`: then process 1's root decides.
        std::fs::write(
            &mountinfo,
            "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n",
        )
        .expect("mountinfo");
        assert_eq!(chrooted(&init_root, proc.path()), Some(false));
        assert_eq!(chrooted(&other, proc.path()), Some(true));
        // Process 1 in another mount namespace says nothing of ours.
        std::fs::remove_file(proc.path().join("1/ns/mnt")).expect("rm");
        link(Path::new("mnt:[4026532000]"), "1/ns/mnt");
        assert_eq!(chrooted(&other, proc.path()), None);
        assert_eq!(namespace_blocker(&other, proc.path()), None);
        // This process, here: not in a chroot (or not known, without root).
        assert_ne!(chrooted(Path::new("/"), Path::new("/proc")), Some(true));
        let hint = |in_root_filesystem| {
            Error::HostSandbox {
                reason: "unshare: unshare failed: Operation not permitted".to_string(),
                blocker: Some(NamespaceBlocker::Chroot),
                in_root_filesystem,
            }
            .hint()
            .expect("a hint")
        };
        assert!(hint(false).starts_with("archway runs in a chroot"));
        assert!(hint(false).ends_with("build unsandboxed with `--no-sandbox`"));
        // The emulated and hybrid methods have no unsandboxed form; the cross method has.
        let emulated = namespace_refused(
            Error::Rootfs(archway_rootfs::Error::UserNamespace {
                reason: "unshare: unshare failed: Operation not permitted".to_string(),
            }),
            crate::method::Method::Emulated,
        );
        assert!(
            matches!(
                emulated,
                Error::HostSandbox {
                    in_root_filesystem: true,
                    ..
                }
            ),
            "{emulated:?}"
        );
        assert!(hint(true).ends_with("(`--method cross --no-sandbox`)"));
    }

    #[test]
    fn explain_says_who_the_steps_run_as() {
        assert_eq!(
            user(Identity::Dedicated(65534)),
            "`nobody` (uid 65534), not root"
        );
        assert!(user(Identity::Invoker).starts_with("archway's user (uid "));
    }
}
