//! The sandboxed runner: a command inside a root filesystem with bubblewrap (`bwrap`).
//!
//! # What the sandbox sees (bwrap(1))
//! - the root filesystem read-only, as `/`;
//! - the paths given to [`Sandbox::bind`], [`Sandbox::bind_build_directory`] and
//!   [`Sandbox::bind_read_only`] at the same paths as on the host, so paths in logs and error
//!   messages match (a bind inside another is mounted after it);
//! - a fresh `/proc` of its own PID namespace (`--proc`), a minimal `/dev` (`--dev`: `null`,
//!   `zero`, `full`, `random`, `urandom`, `tty`, its own `pts` and `shm`), no `/sys`, tmpfs
//!   `/tmp`, `/var/tmp` and `/run`;
//! - no network (`--unshare-net`: only its own `lo`) unless [`Sandbox::network`] is set;
//! - in a root filesystem without `/etc/hosts` (mmdebstrap makes none), a read-only
//!   [`HOSTS`] there, so that `localhost` resolves as on any Debian system;
//! - its own PID, IPC, UTS and cgroup namespaces, a new session (`--new-session`, unless
//!   [`Sandbox::interactive`]), and it dies with its parent (`--die-with-parent`): when bwrap
//!   exits, its PID namespace ends and the kernel kills every process left in it;
//! - nothing else of the host, and the root itself is remounted read-only (`--remount-ro /`),
//!   so a build that writes anywhere else fails with "Read-only file system".
//!
//! # Who the command runs as ([`Identity`])
//! The sources being built and the packages' maintainer scripts are not trusted
//! (docs/security.md). Every build runs with no capabilities, `no_new_privs` (bwrap sets it
//! always), the [`crate::seccomp`] filter, and, except for package installs as root, in a user
//! namespace where it is root over nothing of the host's:
//! - archway runs as a user: root inside is mapped to that user ([`Identity::Invoker`]);
//! - archway runs as root and every writable place is a build directory: the command is the
//!   unprivileged [`SANDBOX_ID`] ([`Identity::Dedicated`]), inside as outside, an ordinary
//!   user as on Debian's buildds, with root beside it in the namespace (the reserved
//!   [`RESERVED_ROOT_ID`] outside) where the filter stands in for `--disable-userns` (else,
//!   and for an interactive shell, root inside is mapped to that id). The build directories are
//!   created and handed over to that id before the command starts (their files belong to
//!   `nobody:nogroup` on the host afterwards; root reads and removes them as before); the
//!   project, bound read-only or owned by root, cannot be changed. That id cannot traverse
//!   root's private directories (`/root` is `0700`), where the cache and projects usually are,
//!   so a first bwrap, as root and without a user namespace, only binds each source under its
//!   own `/tmp/archway/`, and runs `setpriv` to drop to the id and start the real sandbox over
//!   those paths;
//! - archway runs as root and a plain [`Sandbox::bind`] must stay writable (a project that
//!   the build writes into): root inside is mapped to host root in a user namespace with
//!   every capability dropped ([`Identity::MappedRoot`]). It still owns the host's root-owned
//!   files, so `/proc/sys` and `/proc/sysrq-trigger` are bound read-only over the sandbox's
//!   `/proc` (bwrap 0.8.0 covers them only when `access(W_OK)` succeeds, which it does not
//!   for the `/proc/sys` directory: bubblewrap.c, `SETUP_MOUNT_PROC`);
//! - [`Sandbox::writable_root`] as root (installing packages into a new tree): host root
//!   without a user namespace ([`Identity::Root`]), since dpkg must `chown` to the tree's other
//!   users and apt switches to `_apt`; it keeps only the file-ownership and user-switching
//!   capabilities of Docker's default set (`INSTALL_CAPABILITIES`), with the same filter
//!   and the same read-only `/proc/sys`. Maintainer scripts run as real root there: what is left is
//!   listed in docs/security.md.
//!
//! # This machine's own system as the tree ([`Sandbox::host`])
//! The cross and native methods build with the host's compilers, so their steps run in a
//! sandbox over the host's `/`: the same read-only tree, namespaces, filter and identities as
//! above, with three differences. `/home` and `/root` (the users' own files: keys, tokens,
//! other projects) are not part of the tree; what the build needs from them (the project, a
//! toolchain in `~/.cargo`) is bound explicitly. The command keeps its host id inside the user
//! namespace instead of being root there (the invoker's id, or [`SANDBOX_ID`] as root), so
//! `id -u`, `make install`'s checks and test suites that refuse to run as root see an
//! ordinary user. As root (with the filter), root exists in that namespace too, as the
//! reserved [`RESERVED_ROOT_ID`] outside, so the command's attempts to become root or give a
//! file to root fail with `EPERM` as an ordinary user's do, not with `EINVAL` (an unmapped
//! id); the namespace is made beforehand by a helper as the sandbox id and joined with
//! `--userns` (see `two_id_namespace`). And nothing of the host's environment is added: the
//! caller passes what the build needs ([`Sandbox::env`]).
//!
//! # How the filter gets to bwrap
//! `--seccomp FD` reads a BPF program from a file descriptor. The program is written into a
//! `memfd` (close-on-exec, so no other child of this process inherits it) and the child gets
//! it as descriptor [`SECCOMP_FD`] through `command-fds`, which `dup2`s it between `fork` and
//! `exec`: the one place this needs `unsafe`, kept in that crate. The [`Command`] owns the
//! descriptor, so it is meant to be spawned once. bwrap closes it after loading the filter,
//! so the sandboxed command never holds it. Every other descriptor this process would pass
//! on (opened without close-on-exec by whoever started it) is replaced by `/dev/null` in the
//! child the same way.
//!
//! # Mount points in a read-only tree
//! Mount points for the binds must be created inside a read-only tree without changing it, so
//! the new root is bwrap's own tmpfs: every top-level entry of the root filesystem is bound
//! read-only onto it, and a directory that is an ancestor of a bind is recreated on the tmpfs
//! with its other entries bound one by one ("carving" a path down to the bind). Those entries
//! come from a listing made with the command, so each is bound with `--ro-bind-try`: one
//! another process removes before bwrap starts (a sibling under `/tmp`) is left out. A
//! directory on the way that others may not search (`0700`) is not carved: the sandbox's id
//! could not reach its other entries, so only the path to the bind is made there.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use command_fds::{CommandFdExt, FdMapping};

use crate::seccomp::Filter;
use crate::Error;

/// `PATH` inside the sandbox: Debian's default for root (`/etc/login.defs` ENV_SUPATH).
const SANDBOX_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Top-level directories the sandbox provides itself instead of taking them from the tree.
const PROVIDED: [&str; 5] = ["proc", "dev", "sys", "tmp", "run"];

/// Top-level directories of the host left out of a [`Sandbox::host`] tree: the users' own
/// files (FHS 3.0 §3.8 `/home`, §3.14 `/root`). Binds inside them are still made (bwrap
/// creates their parents on its tmpfs root).
const HOST_HIDDEN: [&str; 2] = ["home", "root"];

/// The host id a sandbox started by root runs as: `nobody`/`nogroup`, which Debian reserves
/// for "no privileges" on every system (Debian Policy 9.2.2), so nothing has to be allocated
/// and `ls -l` says what the build directory's files are. The sandbox's PID namespace hides
/// every other process of that id.
pub const SANDBOX_ID: u32 = 65534;

/// The descriptor number bwrap reads the filter from (`--seccomp 9`).
pub const SECCOMP_FD: i32 = 9;

/// The descriptor number bwrap reads a provided `/etc/hosts` from (`--ro-bind-data 7`).
pub const HOSTS_FD: i32 = 7;

/// The `/etc/hosts` a root filesystem without one gets, as Debian's installer writes it (with
/// the sandbox's host name): mmdebstrap makes none, so `localhost` did not resolve there,
/// where a Debian system, a buildd's schroot (which copies the host's) and a Docker
/// container all have it.
pub const HOSTS: &str = "127.0.0.1\tlocalhost\n127.0.1.1\tarchway\n\n\
# The following lines are desirable for IPv6 capable hosts\n\
::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n";

/// The descriptor number bwrap joins a prepared user namespace from (`--userns 8`): below
/// 10, so that the host's `sh` (dash) can close it before the command (bwrap keeps it open).
pub const USERNS_FD: i32 = 8;

/// The host id that root inside a two-id user namespace stands for: 65532, in the range
/// Debian Policy 9.2.2 reserves (65000-65533) and never allocates, so no file or process of
/// the host has it. Nothing inside ever runs as it (the command has no capabilities and
/// `no_new_privs`): it is there so that id 0 exists inside.
pub const RESERVED_ROOT_ID: u32 = 65532;

/// Where the first bwrap of an [`Identity::Dedicated`] sandbox binds the sources, on its own
/// tmpfs over `/tmp` (the second bwrap pivots away from `/tmp`'s own tmpfs, so these stay
/// visible to it under its old root).
const STAGING: &str = "/tmp/archway";

/// What an [`Identity::Root`] sandbox keeps to install packages: Docker's default set (moby
/// `oci/caps/defaults.go`) without `CAP_NET_RAW` and `CAP_NET_BIND_SERVICE` (the sandbox
/// shares the host's network), `CAP_MKNOD` (without Docker's device cgroup a device node made
/// in the tree would open the host's disks), `CAP_SETPCAP` and `CAP_AUDIT_WRITE`: dpkg
/// changes owners and modes, apt switches to `_apt`, maintainer scripts `chroot` rarely.
const INSTALL_CAPABILITIES: [&str; 9] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SYS_CHROOT",
];

/// Who the sandboxed command is, seen from the host (module docs: "Who the command runs as").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// archway runs as a user: root inside is that user.
    Invoker,
    /// archway runs as root: the command is this unprivileged host id (or root inside mapped
    /// to it: [`Sandbox`]'s `two_ids`).
    Dedicated(u32),
    /// archway runs as root and a plain writable bind must stay writable: root inside is host
    /// root in a user namespace, without capabilities.
    MappedRoot,
    /// Installing packages as root: host root, no user namespace, Docker's capabilities.
    Root,
}

impl Identity {
    fn has_user_namespace(self) -> bool {
        !matches!(self, Identity::Root)
    }
    /// Host root owns the sandbox's files: `/proc/sys` must be covered explicitly.
    fn is_host_root(self) -> bool {
        matches!(self, Identity::MappedRoot | Identity::Root)
    }
}

/// A command runner inside one root filesystem.
#[derive(Debug, Clone)]
pub struct Sandbox {
    tree: PathBuf,
    writable: Vec<PathBuf>,
    build_directories: Vec<PathBuf>,
    read_only: Vec<PathBuf>,
    /// Symbolic links made inside: (target, path inside).
    links: Vec<(PathBuf, PathBuf)>,
    masked: Vec<PathBuf>,
    network: bool,
    writable_root: bool,
    interactive: bool,
    working_directory: Option<PathBuf>,
    environment: Vec<(OsString, OsString)>,
    bwrap: PathBuf,
    identity: Option<Identity>,
    host: bool,
}

/// The host paths bwrap binds from: the paths themselves, or their staged copies under
/// [`STAGING`].
struct Sources {
    tree: PathBuf,
    writable: Vec<PathBuf>,
    build_directories: Vec<PathBuf>,
    read_only: Vec<PathBuf>,
    resolv_conf: PathBuf,
}

impl Sandbox {
    /// A sandbox over the root filesystem tree at `tree` (e.g. [`crate::Rootfs::tree`]).
    pub fn new(tree: impl Into<PathBuf>) -> Sandbox {
        Sandbox {
            tree: tree.into(),
            writable: Vec::new(),
            build_directories: Vec::new(),
            read_only: Vec::new(),
            links: Vec::new(),
            masked: Vec::new(),
            network: false,
            writable_root: false,
            interactive: false,
            working_directory: None,
            environment: Vec::new(),
            bwrap: PathBuf::from("bwrap"),
            identity: None,
            host: false,
        }
    }

    /// A sandbox over this machine's own `/` (the cross and native methods): the module docs'
    /// "This machine's own system as the tree".
    pub fn host() -> Sandbox {
        Sandbox {
            host: true,
            ..Sandbox::new("/")
        }
    }

    /// Whether this is a [`Sandbox::host`] sandbox.
    pub fn is_host(&self) -> bool {
        self.host
    }

    /// Whether the host's `path` is in a [`Sandbox::host`] tree without a bind of its own: an
    /// absolute path not under `/home`, `/root`, or what the sandbox provides itself (`/tmp`,
    /// `/run`, `/var/tmp`, `/proc`, `/dev`, `/sys`).
    pub fn host_tree_shows(path: &Path) -> bool {
        let mut components = path.components();
        if components.next() != Some(Component::RootDir) {
            return false;
        }
        let Some(Component::Normal(top)) = components.next() else {
            return false;
        };
        if PROVIDED
            .iter()
            .chain(&HOST_HIDDEN)
            .any(|name| top == OsStr::new(name))
        {
            return false;
        }
        !(top == OsStr::new("var")
            && components.next() == Some(Component::Normal(OsStr::new("tmp"))))
    }

    /// Binds a host directory read-write at the same path. As root, a sandbox with such a
    /// bind runs as [`Identity::MappedRoot`]; prefer [`Sandbox::bind_build_directory`] for
    /// what the build writes and [`Sandbox::bind_read_only`] for the project.
    pub fn bind(mut self, path: impl Into<PathBuf>) -> Sandbox {
        self.writable.push(path.into());
        self
    }

    /// Binds a directory the build writes into (created when missing) read-write at the same
    /// path. As root, it is handed over to [`SANDBOX_ID`] when the command is made (its owner
    /// changed, recursively, when it is not that id yet). An existing regular file is bound
    /// and handed over the same way (Cargo's new `Cargo.lock`).
    pub fn bind_build_directory(mut self, path: impl Into<PathBuf>) -> Sandbox {
        self.build_directories.push(path.into());
        self
    }

    /// Binds a host path read-only at the same path (the project; a binfmt interpreter
    /// without the `F` flag, which the kernel opens by path inside the sandbox).
    pub fn bind_read_only(mut self, path: impl Into<PathBuf>) -> Sandbox {
        self.read_only.push(path.into());
        self
    }

    /// Makes a symbolic link to `target` at `destination` (a cross sysroot's entry where
    /// Debian's multiarch puts it: `/usr/lib/tclConfig.sh`). Its parent is carved, so the link
    /// also stands in for an entry of the tree of that name (the cross binutils'
    /// `/usr/lib/aarch64-linux-gnu`).
    pub fn symlink_at(
        mut self,
        target: impl Into<PathBuf>,
        destination: impl Into<PathBuf>,
    ) -> Sandbox {
        self.links.push((target.into(), destination.into()));
        self
    }

    /// Hides a file of the tree: it shows as `/dev/null`, which is neither a regular file nor
    /// a program (`command -v` and `which` pass it over; running it fails). For host tools
    /// that cannot work on the build's programs (the host's valgrind in a cross build).
    pub fn mask(mut self, path: impl Into<PathBuf>) -> Sandbox {
        self.masked.push(path.into());
        self
    }

    /// Shares the host's network (and its `/etc/resolv.conf`); off by default.
    pub fn network(mut self, enabled: bool) -> Sandbox {
        self.network = enabled;
        self
    }

    /// Makes the whole tree writable and keeps the capabilities a package install needs: only
    /// for installing packages into a tree that is not yet in the cache (a derived root
    /// filesystem).
    pub fn writable_root(mut self, enabled: bool) -> Sandbox {
        self.writable_root = enabled;
        self
    }

    /// Keeps the controlling terminal usable (a shell); otherwise the command gets a new
    /// session (`--new-session`, so it cannot push input into the caller's terminal).
    pub fn interactive(mut self, enabled: bool) -> Sandbox {
        self.interactive = enabled;
        self
    }

    /// The working directory inside the sandbox (default: the first bind, else `/`).
    pub fn current_dir(mut self, path: impl Into<PathBuf>) -> Sandbox {
        self.working_directory = Some(path.into());
        self
    }

    /// Sets an environment variable inside (the environment is otherwise cleared).
    pub fn env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Sandbox {
        self.environment.push((name.into(), value.into()));
        self
    }

    /// The bwrap program to run (default: `bwrap` from `PATH`).
    pub fn bwrap_program(mut self, program: impl Into<PathBuf>) -> Sandbox {
        self.bwrap = program.into();
        self
    }

    /// The bwrap to run: [`Sandbox::bwrap_program`] as given when it is a path, else found
    /// in `PATH` ([`Error::ToolMissing`] when it is not there).
    fn resolved_bwrap(&self) -> Result<PathBuf, Error> {
        match self.bwrap.to_str() {
            Some(name) if !name.contains('/') => {
                crate::bootstrap::find_program(name).ok_or(Error::ToolMissing {
                    tool: "bwrap",
                    package: "bubblewrap",
                })
            }
            _ => Ok(self.bwrap.clone()),
        }
    }

    /// Chooses who the command runs as instead of deciding from the process's user and the
    /// binds (tests; a caller that knows better).
    pub fn identity(mut self, identity: Identity) -> Sandbox {
        self.identity = Some(identity);
        self
    }

    /// Who the command will run as.
    pub fn effective_identity(&self) -> Identity {
        if let Some(identity) = self.identity {
            return identity;
        }
        if !rustix::process::geteuid().is_root() {
            Identity::Invoker
        } else if self.writable_root {
            Identity::Root
        } else if self.writable.is_empty() {
            Identity::Dedicated(SANDBOX_ID)
        } else {
            Identity::MappedRoot
        }
    }

    /// Whether the command runs as an ordinary user in a user namespace with two ids, its own
    /// and root (mapped to [`RESERVED_ROOT_ID`]), rather than with one id: as the dedicated
    /// id, on the host's tree or a root filesystem's (there, instead of as root of a one-id
    /// namespace, which test suites that refuse root, libuv's, stop at; Debian's buildds
    /// build as a user too). With one id and not root, root does not exist inside, so
    /// `setuid(0)` and `chown(file, 0, 0)` fail with `EINVAL`, where every system says
    /// `EPERM`. Only root can write such a map, and only with the filter, which stands in for
    /// bwrap's `--disable-userns` there. An interactive shell in a root filesystem stays root
    /// there.
    fn two_ids(&self, identity: Identity, with_filter: bool) -> bool {
        with_filter
            && matches!(identity, Identity::Dedicated(_))
            && (self.host || !self.interactive)
    }

    /// Whether the sandbox provides [`HOSTS`] as `/etc/hosts`: over a root filesystem (not the
    /// host's own tree, whose file is its own) that has none, read-only.
    fn provides_hosts(&self) -> bool {
        !self.host
            && !self.writable_root
            && self.tree.join("etc").is_dir()
            && fs::symlink_metadata(self.tree.join("etc/hosts")).is_err()
    }

    /// The arguments of the bwrap that runs the command (everything before the command).
    /// For [`Identity::Dedicated`] the sources are the staged paths under `/tmp/archway/`.
    pub fn arguments(&self) -> Result<Vec<OsString>, Error> {
        let identity = self.effective_identity();
        let sources = match identity {
            Identity::Dedicated(_) => self.staged_sources(),
            _ => self.host_sources(),
        };
        self.sandbox_arguments(identity, &sources, Filter::host().is_some())
    }

    /// The full command, ready to spawn once: `bwrap ... -- program args`, or for
    /// [`Identity::Dedicated`] `bwrap (staging) -- setpriv ... -- bwrap ... -- program args`.
    /// As root, this creates the build directories and hands them over to the sandbox id.
    pub fn command<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Result<Command, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let identity = self.effective_identity();
        let filter = Filter::host();
        if filter.is_none() {
            tracing::warn!("no system call filter for this host architecture; the sandbox only drops capabilities");
        }
        for directory in &self.build_directories {
            if !directory.is_file() {
                fs::create_dir_all(directory).map_err(Error::io("create", directory))?;
            }
            match identity {
                Identity::Dedicated(id) => hand_over(directory, id)?,
                // Host root without capabilities cannot write what an earlier sandbox of the
                // dedicated id left there (a build with `--writable-source` or a user's own
                // command after an ordinary build): root takes the directory back.
                Identity::MappedRoot => hand_over(directory, 0)?,
                Identity::Invoker | Identity::Root => {}
            }
        }
        // bwrap first: without it nothing else (the helper of a two-id namespace) is worth
        // starting, and its absence is the error the user can fix.
        let bwrap = self.resolved_bwrap()?;
        let mut command = Command::new(&bwrap);
        if let Identity::Dedicated(id) = identity {
            let staged = self.staged_sources();
            // Absolute, resolved paths: the staging bwrap's own `/tmp` hides a `PATH` directory
            // (or a link) there.
            command
                .args(self.staging_arguments(&staged)?)
                .arg("--")
                .arg(system_tool("setpriv")?)
                .args(drop_to(id))
                .arg(fs::canonicalize(&bwrap).unwrap_or(bwrap))
                .args(self.sandbox_arguments(identity, &staged, filter.is_some())?);
        } else {
            command.args(self.sandbox_arguments(
                identity,
                &self.host_sources(),
                filter.is_some(),
            )?);
        }
        command.arg("--");
        if self.two_ids(identity, filter.is_some()) {
            // bwrap leaves the namespace's descriptor open: the host's shell closes it and
            // becomes the command (same process, same arguments).
            command
                .args(["/bin/sh", "-c"])
                .arg(format!("exec \"$@\" {USERNS_FD}<&-"))
                .arg("sh");
        }
        command.arg(program).args(args);
        let mut mappings = Vec::new();
        if let Some(filter) = &filter {
            mappings.push(FdMapping {
                parent_fd: filter_descriptor(filter)?,
                child_fd: SECCOMP_FD,
            });
        }
        if let Identity::Dedicated(id) = identity {
            if self.two_ids(identity, filter.is_some()) {
                mappings.push(FdMapping {
                    parent_fd: two_id_namespace(id)?,
                    child_fd: USERNS_FD,
                });
            }
        }
        if self.provides_hosts() {
            mappings.push(FdMapping {
                parent_fd: data_descriptor("archway-hosts", HOSTS.as_bytes())?,
                child_fd: HOSTS_FD,
            });
        }
        for inherited in inherited_descriptors() {
            if ![SECCOMP_FD, USERNS_FD, HOSTS_FD].contains(&inherited) {
                let null = Path::new("/dev/null");
                let file = fs::File::open(null).map_err(Error::io("open", null))?;
                mappings.push(FdMapping {
                    parent_fd: file.into(),
                    child_fd: inherited,
                });
            }
        }
        command.fd_mappings(mappings).map_err(|_| Error::Io {
            action: "pass descriptors to",
            path: self.bwrap.clone(),
            source: std::io::Error::other("two descriptors for one number"),
        })?;
        Ok(command)
    }

    fn host_sources(&self) -> Sources {
        Sources {
            tree: self.tree.clone(),
            writable: self.writable.clone(),
            build_directories: self.build_directories.clone(),
            read_only: self.read_only.clone(),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
        }
    }

    fn staged_sources(&self) -> Sources {
        let staged = |kind: &str, paths: &[PathBuf]| -> Vec<PathBuf> {
            (0..paths.len())
                .map(|index| Path::new(STAGING).join(format!("{kind}-{index}")))
                .collect()
        };
        Sources {
            tree: Path::new(STAGING).join("tree"),
            writable: staged("writable", &self.writable),
            build_directories: staged("build", &self.build_directories),
            read_only: staged("read-only", &self.read_only),
            resolv_conf: Path::new(STAGING).join("resolv.conf"),
        }
    }

    /// The first bwrap of [`Identity::Dedicated`]: the host as it is (it runs only `setpriv`
    /// and the second bwrap), with every source bound under [`STAGING`] on a private tmpfs.
    fn staging_arguments(&self, staged: &Sources) -> Result<Vec<OsString>, Error> {
        let mut arguments = Arguments::default();
        // `--dev-bind`: bwrap mounts `--bind` sources `nodev`, and the sandbox's `--dev` binds
        // its device nodes from this namespace (with `nodev`, opening `/dev/null` is EACCES).
        arguments.push(["--dev-bind", "/", "/", "--tmpfs", "/tmp", "--dir", STAGING]);
        arguments
            .push(["--ro-bind"])
            .path(&self.tree)
            .path(&staged.tree);
        for (host, staged) in self.writable.iter().zip(&staged.writable) {
            arguments.push(["--bind"]).path(host).path(staged);
        }
        for (host, staged) in self.build_directories.iter().zip(&staged.build_directories) {
            arguments.push(["--bind"]).path(host).path(staged);
        }
        for (host, staged) in self.read_only.iter().zip(&staged.read_only) {
            arguments.push(["--ro-bind"]).path(host).path(staged);
        }
        if self.network && Path::new("/etc/resolv.conf").exists() {
            arguments
                .push(["--ro-bind", "/etc/resolv.conf"])
                .path(&staged.resolv_conf);
        }
        arguments.push(["--die-with-parent"]);
        Ok(arguments.0)
    }

    fn sandbox_arguments(
        &self,
        identity: Identity,
        sources: &Sources,
        with_filter: bool,
    ) -> Result<Vec<OsString>, Error> {
        let mut arguments = Arguments::default();
        // Destinations with their sources, parents before the binds inside them.
        let mut binds: Vec<(&Path, &Path, bool)> = Vec::new();
        for (destination, source) in self.writable.iter().zip(&sources.writable) {
            binds.push((destination, source, true));
        }
        for (destination, source) in self
            .build_directories
            .iter()
            .zip(&sources.build_directories)
        {
            binds.push((destination, source, true));
        }
        for (destination, source) in self.read_only.iter().zip(&sources.read_only) {
            binds.push((destination, source, false));
        }
        for (destination, _, _) in &binds {
            check_bind_path(destination)?;
        }
        for path in self
            .masked
            .iter()
            .chain(self.links.iter().map(|(_, link)| link))
        {
            check_bind_path(path)?;
        }
        binds.sort_by_key(|(destination, _, _)| destination.components().count());
        if self.writable_root {
            if let Some((_, link)) = self.links.first() {
                // bwrap would make the link in the tree itself.
                return Err(Error::UnsupportedBindPath {
                    path: link.clone(),
                    reason: "links are made only over a read-only tree",
                });
            }
            arguments.push(["--bind"]).path(&sources.tree).push(["/"]);
        } else {
            let hosts = self.provides_hosts().then_some(Path::new("/etc/hosts"));
            let destinations: Vec<&Path> = binds
                .iter()
                .map(|(destination, _, _)| *destination)
                .chain(self.links.iter().map(|(_, link)| link.as_path()))
                .chain(hosts)
                .collect();
            let hidden: &[&str] = if self.host { &HOST_HIDDEN } else { &[] };
            carve(
                &mut arguments,
                &self.tree,
                &sources.tree,
                Path::new("/"),
                &destinations,
                hidden,
            )?;
        }
        arguments.push(["--proc", "/proc", "--dev", "/dev"]);
        if identity.is_host_root() {
            // Host root owns /proc/sys (kernel/sysctl.c `test_perm` gives the owner bits to
            // the global root uid whatever its capabilities); bwrap 0.8.0 does not cover it.
            // sysrq-trigger exists only with CONFIG_MAGIC_SYSRQ.
            arguments.push([
                "--ro-bind",
                "/proc/sys",
                "/proc/sys",
                "--ro-bind-try",
                "/proc/sysrq-trigger",
                "/proc/sysrq-trigger",
            ]);
        }
        // /tmp and /var/tmp sticky and world-writable as on any system (bwrap's tmpfs default
        // is 0755): apt's unprivileged `_apt` methods write their temporary files there.
        arguments.push(["--perms", "1777", "--tmpfs", "/tmp", "--tmpfs", "/run"]);
        if !self.writable_root && self.tree.join("var/tmp").is_dir() {
            arguments.push(["--perms", "1777", "--tmpfs", "/var/tmp"]);
        }
        for (destination, source, writable) in &binds {
            let option = if *writable { "--bind" } else { "--ro-bind" };
            arguments.push([option]).path(source).path(destination);
        }
        for (target, link) in &self.links {
            arguments.push(["--symlink"]).path(target).path(link);
        }
        if self.provides_hosts() {
            // On the carved `/etc` (a tmpfs with the tree's entries bound one by one).
            arguments
                .push(["--ro-bind-data"])
                .os(OsStr::new(&HOSTS_FD.to_string()))
                .push(["/etc/hosts"]);
        }
        for path in &self.masked {
            // Only over a file the tree has: a missing one needs no hiding, and the tree is
            // read-only, so bwrap could not create it.
            if fs::symlink_metadata(self.tree.join(path.strip_prefix("/").unwrap_or(path)))
                .is_ok_and(|metadata| metadata.is_file())
            {
                arguments.push(["--ro-bind", "/dev/null"]).path(path);
            }
        }
        if self.network {
            // Only over an existing regular file: the tree is read-only, so bwrap could not
            // create the mount point.
            let inside = self.tree.join("etc/resolv.conf");
            let regular = fs::symlink_metadata(&inside).is_ok_and(|metadata| metadata.is_file());
            if regular && Path::new("/etc/resolv.conf").exists() {
                arguments
                    .push(["--ro-bind"])
                    .path(&sources.resolv_conf)
                    .push(["/etc/resolv.conf"]);
            }
        } else {
            arguments.push(["--unshare-net"]);
        }
        arguments.push([
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ]);
        if identity.has_user_namespace() {
            // Root inside, mapped to the identity's host id (bwrap writes `0 <uid> 1`), or on
            // the host's own tree that id itself (`<uid> <uid> 1`), or as the dedicated id
            // with the filter that id itself with root beside it (`two_ids`); --disable-userns sets
            // user.max_user_namespaces to 1 in a namespace the command cannot leave, so it
            // cannot make another one to regain capabilities in.
            let two_ids = self.two_ids(identity, with_filter);
            let (user, group) = match (self.host || two_ids, identity) {
                (true, Identity::Invoker) => (
                    rustix::process::getuid().as_raw(),
                    rustix::process::getgid().as_raw(),
                ),
                (true, Identity::Dedicated(id)) => (id, id),
                _ => (0, 0),
            };
            if two_ids {
                // The namespace is made beforehand ([`two_id_namespace`]); bwrap only joins
                // it. bwrap 0.8 cannot disable nested user namespaces there (its
                // `--disable-userns` needs `--unshare-user`, and it would map one id again);
                // the filter denies them (`clone`/`unshare` with `CLONE_NEWUSER`, `setns`).
                arguments
                    .push(["--userns"])
                    .os(OsStr::new(&USERNS_FD.to_string()))
                    .push(["--uid"])
                    .os(OsStr::new(&user.to_string()))
                    .push(["--gid"])
                    .os(OsStr::new(&group.to_string()));
            } else {
                arguments
                    .push(["--unshare-user", "--uid"])
                    .os(OsStr::new(&user.to_string()))
                    .push(["--gid"])
                    .os(OsStr::new(&group.to_string()))
                    .push(["--disable-userns"]);
            }
        }
        arguments.push(["--hostname", "archway", "--die-with-parent"]);
        if !self.interactive {
            arguments.push(["--new-session"]);
        }
        arguments.push(["--cap-drop", "ALL"]);
        if self.writable_root {
            for capability in INSTALL_CAPABILITIES {
                arguments.push(["--cap-add", capability]);
            }
        } else {
            arguments.push(["--remount-ro", "/"]);
        }
        if with_filter {
            arguments
                .push(["--seccomp"])
                .os(OsStr::new(&SECCOMP_FD.to_string()));
        }
        arguments.push(["--clearenv", "--setenv", "PATH", SANDBOX_PATH]);
        arguments.push(["--setenv", "HOME", "/tmp", "--setenv", "LC_ALL", "C.UTF-8"]);
        if let Some(term) = std::env::var_os("TERM") {
            arguments.push(["--setenv"]).push(["TERM"]).os(&term);
        }
        for (name, value) in &self.environment {
            arguments.push(["--setenv"]).os(name).os(value);
        }
        let working_directory = self
            .working_directory
            .clone()
            .or_else(|| self.writable.first().cloned())
            .or_else(|| self.build_directories.first().cloned())
            .unwrap_or_else(|| PathBuf::from("/"));
        arguments.push(["--chdir"]).path(&working_directory);
        Ok(arguments.0)
    }
}

/// This process's descriptors above 2 that a child would inherit (no `O_CLOEXEC`): whatever
/// the caller was started with (a make jobserver's pipe, a harness's log pipe). bwrap passes
/// every inherited descriptor to the command, and an inherited directory or pipe of the host
/// is a way out (runc's CVE-2024-21626 was one), so the child gets `/dev/null` in their
/// place. Read from `/proc/self/fdinfo` (`flags:` in octal, `O_CLOEXEC` is `02000000`), which
/// needs no borrowing of descriptors this code does not own.
fn inherited_descriptors() -> Vec<i32> {
    const O_CLOEXEC: u32 = 0o2_000_000;
    let Ok(entries) = fs::read_dir("/proc/self/fdinfo") else {
        return Vec::new();
    };
    let mut inherited: Vec<i32> = entries
        .flatten()
        .filter_map(|entry| {
            let number: i32 = entry.file_name().to_str()?.parse().ok()?;
            let info = fs::read_to_string(entry.path()).ok()?;
            let flags = info
                .lines()
                .find_map(|line| line.strip_prefix("flags:"))
                .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())?;
            (number > 2 && flags & O_CLOEXEC == 0).then_some(number)
        })
        .collect();
    inherited.sort_unstable();
    inherited
}

/// The filter in a memory file, positioned at its start for bwrap's `read`.
fn filter_descriptor(filter: &Filter) -> Result<OwnedFd, Error> {
    data_descriptor("archway-seccomp", &filter.to_bytes())
}

/// `data` in a memory file named `name` (close-on-exec), positioned at its start for bwrap.
fn data_descriptor(name: &str, data: &[u8]) -> Result<OwnedFd, Error> {
    let path = PathBuf::from(format!("memfd:{name}"));
    let descriptor = rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|errno| Error::io("create", &path)(errno.into()))?;
    let mut file = fs::File::from(descriptor);
    file.write_all(data)
        .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
        .map_err(Error::io("write", &path))?;
    Ok(OwnedFd::from(file))
}

/// `setpriv`'s arguments, up to its `--`, that make the program after them `id` (user and
/// group, no supplementary groups) with no capabilities it could inherit or regain.
fn drop_to(id: u32) -> [String; 6] {
    [
        format!("--reuid={id}"),
        format!("--regid={id}"),
        "--clear-groups".to_string(),
        "--inh-caps=-all".to_string(),
        "--bounding-set=-all".to_string(),
        "--".to_string(),
    ]
}

/// Where a Debian system keeps its Essential tools, searched before `PATH` for the ones the
/// sandbox itself runs as root (a `PATH` of a project's own few tools, or a user's directory
/// first in root's `PATH`, does not choose them).
const SYSTEM_DIRECTORIES: [&str; 4] = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/// The absolute, resolved path of `name`, a tool of the base system the sandbox runs as root
/// (`setpriv`, `unshare`, `sh`): from [`SYSTEM_DIRECTORIES`], else from `PATH` (a system that
/// keeps them elsewhere), else [`Error::ToolMissing`] with the Debian package that has it.
fn system_tool(name: &'static str) -> Result<PathBuf, Error> {
    SYSTEM_DIRECTORIES
        .iter()
        .map(|directory| Path::new(directory).join(name))
        .find(|candidate| crate::bootstrap::is_executable(candidate))
        .or_else(|| crate::bootstrap::find_program(name))
        .map(|found| fs::canonicalize(&found).unwrap_or(found))
        .ok_or(Error::ToolMissing {
            tool: name,
            package: match name {
                "sh" => "dash",
                _ => "util-linux",
            },
        })
}

/// A user namespace owned by `id` in which `id` is itself and root is [`RESERVED_ROOT_ID`]
/// (both for groups too), as a descriptor for bwrap's `--userns`. A helper that is already
/// `id` (`setpriv`, as for the sandbox itself) makes it with `unshare --user` and says so on
/// its output; root then writes both lines of each map at once (user_namespaces(7): a map is
/// written once, and more than one line needs `CAP_SETUID`/`CAP_SETGID` in the parent
/// namespace). The descriptor keeps the namespace alive after the helper is gone.
fn two_id_namespace(id: u32) -> Result<OwnedFd, Error> {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let setpriv = system_tool("setpriv")?;
    let mut helper = Command::new(&setpriv)
        .args(drop_to(id))
        .arg(system_tool("unshare")?)
        .args(["--user", "--"])
        .arg(system_tool("sh")?)
        // `read` (the shell's own) waits for the end of its input: no other program needed.
        .args(["-c", "echo ready && read -r line"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(Error::io("run", &setpriv))?;
    let pid = helper.id();
    let mut line = String::new();
    let ready = helper
        .stdout
        .take()
        .map(|stdout| BufReader::new(stdout).read_line(&mut line))
        .is_some_and(|read| read.is_ok() && line == "ready\n");
    let made = ready.then(|| {
        let map = format!("0 {RESERVED_ROOT_ID} 1\n{id} {id} 1\n");
        for name in ["uid_map", "gid_map"] {
            let path = PathBuf::from(format!("/proc/{pid}/{name}"));
            fs::write(&path, &map).map_err(Error::io("write", &path))?;
        }
        let path = PathBuf::from(format!("/proc/{pid}/ns/user"));
        fs::File::open(&path)
            .map(OwnedFd::from)
            .map_err(Error::io("open", &path))
    });
    // End the helper (its `read` returns at the end of its input) whatever happened.
    drop(helper.stdin.take());
    let stderr = helper
        .wait_with_output()
        .map(|output| String::from_utf8_lossy(&output.stderr).trim().to_string())
        .unwrap_or_default();
    made.unwrap_or_else(|| {
        Err(Error::UserNamespace {
            reason: if stderr.is_empty() {
                "`unshare --user` stopped before making it".to_string()
            } else {
                stderr
            },
        })
    })
}

/// Gives a build directory to `id`: its owner (and that of everything below it, never
/// following symbolic links) when the directory itself is not `id`'s yet, e.g. after a build
/// of an earlier archway that ran as root.
fn hand_over(directory: &Path, id: u32) -> Result<(), Error> {
    let metadata = fs::symlink_metadata(directory).map_err(Error::io("inspect", directory))?;
    if metadata.uid() == id && metadata.gid() == id {
        return Ok(());
    }
    let mut pending = vec![directory.to_path_buf()];
    while let Some(path) = pending.pop() {
        std::os::unix::fs::lchown(&path, Some(id), Some(id))
            .map_err(Error::io("change the owner of", &path))?;
        let metadata = fs::symlink_metadata(&path).map_err(Error::io("inspect", &path))?;
        if metadata.is_dir() {
            for entry in fs::read_dir(&path).map_err(Error::io("read", &path))? {
                pending.push(entry.map_err(Error::io("read", &path))?.path());
            }
        }
    }
    Ok(())
}

#[derive(Default)]
struct Arguments(Vec<OsString>);

impl Arguments {
    fn push<const N: usize>(&mut self, items: [&str; N]) -> &mut Arguments {
        self.0.extend(items.iter().map(OsString::from));
        self
    }
    fn path(&mut self, path: &Path) -> &mut Arguments {
        self.0.push(path.as_os_str().to_os_string());
        self
    }
    fn os(&mut self, value: &OsStr) -> &mut Arguments {
        self.0.push(value.to_os_string());
        self
    }
}

/// A bind must be absolute, normal (no `..`), and not inside what the sandbox provides itself.
fn check_bind_path(path: &Path) -> Result<(), Error> {
    let unsupported = |reason| Error::UnsupportedBindPath {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_absolute() {
        return Err(unsupported("it is not an absolute path"));
    }
    if path
        .components()
        .any(|component| matches!(component, Component::ParentDir | Component::CurDir))
    {
        return Err(unsupported("it contains `.` or `..`"));
    }
    let top = path
        .components()
        .nth(1)
        .map(|component| component.as_os_str());
    match top {
        None => Err(unsupported("the whole filesystem cannot be bound")),
        Some(top)
            if ["proc", "dev", "sys"]
                .iter()
                .any(|provided| top == OsStr::new(provided)) =>
        {
            Err(unsupported(
                "the sandbox provides its own `/proc`, `/dev` and `/sys`",
            ))
        }
        Some(_) => Ok(()),
    }
}

/// Binds the entries of `listed` (a directory of the tree, as this process reads it) from
/// `source` (the same directory as bwrap sees it) at `inside`, recursing into directories that
/// contain a bind destination instead of binding them whole.
fn carve(
    arguments: &mut Arguments,
    listed: &Path,
    source: &Path,
    inside: &Path,
    binds: &[&Path],
    hidden: &[&str],
) -> Result<(), Error> {
    let mut entries: Vec<_> = fs::read_dir(listed)
        .map_err(Error::io("read", listed))?
        .flatten()
        .collect();
    entries.sort_by_key(|entry| entry.file_name());
    let at_top = inside == Path::new("/");
    for entry in entries {
        let name = entry.file_name();
        if at_top
            && PROVIDED
                .iter()
                .chain(hidden)
                .any(|provided| name == OsStr::new(provided))
        {
            continue;
        }
        let destination = inside.join(&name);
        let entry_path = entry.path();
        let entry_source = source.join(&name);
        if binds.iter().any(|bind| *bind == destination) {
            continue; // the bind itself covers it; bwrap creates the mount point on the tmpfs
        }
        let contains_bind = binds.iter().any(|bind| bind.starts_with(&destination));
        if at_top && contains_bind && HOST_HIDDEN.iter().any(|home| name == OsStr::new(home)) {
            // A project under a root filesystem's `/root` or `/home` (archway run as root on
            // `/root/src/project`): only the path to it, which bwrap creates on its tmpfs, as
            // on the host. Root's own files there are not the build's, and the sandbox's id
            // could not read them to bind them (`/root` is 0700).
            continue;
        }
        // The listing is a moment old: an entry another process removed since (a sibling of
        // the project under `/tmp`) is left out, here and, by `--ro-bind-try`, when bwrap
        // mounts it a moment later.
        let metadata = match fs::symlink_metadata(&entry_path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && !contains_bind => {
                continue
            }
            other => other.map_err(Error::io("inspect", &entry_path))?,
        };
        if metadata.file_type().is_symlink() {
            if contains_bind {
                return Err(Error::UnsupportedBindPath {
                    path: destination,
                    reason: "it is a symbolic link in the root filesystem",
                });
            }
            let target = match fs::read_link(&entry_path) {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                other => other.map_err(Error::io("read", &entry_path))?,
            };
            arguments
                .push(["--symlink"])
                .path(&target)
                .path(&destination);
        } else if contains_bind && metadata.is_dir() && metadata.mode() & 0o001 == 0 {
            // A directory others may not search (a private `0700` temporary directory): the
            // sandbox's id could not reach its other entries, nor could bwrap, as that id,
            // find them to bind. Only the path to the binds, which bwrap creates on its tmpfs,
            // as for the users' homes above.
            continue;
        } else if contains_bind && metadata.is_dir() {
            arguments.push(["--dir"]).path(&destination);
            carve(
                arguments,
                &entry_path,
                &entry_source,
                &destination,
                binds,
                &[],
            )?;
        } else {
            arguments
                .push(["--ro-bind-try"])
                .path(&entry_source)
                .path(&destination);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for directory in [
            "usr/bin", "etc", "home", "var/lib", "var/tmp", "proc", "tmp", "dev", "root",
        ] {
            fs::create_dir_all(dir.path().join(directory)).expect("mkdir");
        }
        std::os::unix::fs::symlink("usr/bin", dir.path().join("bin")).expect("symlink");
        fs::write(dir.path().join("etc/resolv.conf"), "").expect("write");
        dir
    }

    fn strings(arguments: &[OsString]) -> Vec<String> {
        arguments
            .iter()
            .map(|argument| argument.to_string_lossy().into_owned())
            .collect()
    }

    fn contains_sequence(haystack: &[String], needle: &[&str]) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window.iter().zip(needle).all(|(a, b)| a == b))
    }

    #[test]
    fn the_tree_is_bound_read_only_and_the_project_read_write() {
        let tree = fake_tree();
        let root = tree.path().to_string_lossy().into_owned();
        let sandbox = Sandbox::new(tree.path())
            .identity(Identity::Invoker)
            .bind("/home/user/project");
        let arguments = strings(&sandbox.arguments().expect("arguments"));
        assert!(contains_sequence(
            &arguments,
            &["--ro-bind-try", &format!("{root}/usr"), "/usr"]
        ));
        assert!(contains_sequence(
            &arguments,
            &["--symlink", "usr/bin", "/bin"]
        ));
        // /home holds only the path to the project, which bwrap creates on its tmpfs: the
        // tree's users' files are not shown.
        assert!(!contains_sequence(&arguments, &["--dir", "/home"]));
        assert!(!arguments
            .iter()
            .any(|argument| argument == &format!("{root}/home")));
        assert!(contains_sequence(
            &arguments,
            &["--bind", "/home/user/project", "/home/user/project"]
        ));
        assert!(contains_sequence(&arguments, &["--remount-ro", "/"]));
        assert!(contains_sequence(&arguments, &["--unshare-net"]));
        assert!(contains_sequence(
            &arguments,
            &["--chdir", "/home/user/project"]
        ));
        assert!(!arguments
            .iter()
            .any(|argument| argument == &format!("{root}/proc")));
        assert!(contains_sequence(
            &arguments,
            &["--proc", "/proc", "--dev", "/dev"]
        ));
    }

    #[test]
    fn a_masked_file_shows_as_dev_null_after_the_binds_and_a_missing_one_is_left_alone() {
        let tree = fake_tree();
        fs::write(tree.path().join("usr/bin/valgrind"), "#!/bin/sh\n").expect("write");
        let arguments = strings(
            &Sandbox::new(tree.path())
                .identity(Identity::Invoker)
                .bind_read_only("/usr/bin")
                .mask("/usr/bin/valgrind")
                .mask("/usr/bin/absent")
                .arguments()
                .expect("arguments"),
        );
        let mask = ["--ro-bind", "/dev/null", "/usr/bin/valgrind"];
        assert!(contains_sequence(&arguments, &mask), "{arguments:?}");
        // After the bind of its directory, or that bind would show the file again.
        let position = |needle: &[&str]| {
            arguments
                .windows(needle.len())
                .position(|window| window.iter().zip(needle).all(|(a, b)| a == b))
        };
        assert!(position(&["--ro-bind", "/usr/bin", "/usr/bin"]) < position(&mask));
        assert!(!arguments
            .iter()
            .any(|argument| argument == "/usr/bin/absent"));
        // A relative path is refused like any bind.
        assert!(Sandbox::new(tree.path())
            .identity(Identity::Invoker)
            .mask("usr/bin/valgrind")
            .arguments()
            .is_err());
    }

    #[test]
    fn links_are_made_in_a_carved_directory_over_the_trees_own_entry() {
        let tree = fake_tree();
        let root = tree.path().to_string_lossy().into_owned();
        fs::create_dir_all(tree.path().join("usr/lib/x86_64-linux-gnu")).expect("mkdir");
        fs::create_dir_all(tree.path().join("usr/lib/aarch64-linux-gnu")).expect("mkdir");
        let arguments = strings(
            &Sandbox::new(tree.path())
                .identity(Identity::Invoker)
                .symlink_at(
                    "/sysroot/usr/lib/aarch64-linux-gnu",
                    "/usr/lib/aarch64-linux-gnu",
                )
                .symlink_at("tcl8.6/tclConfig.sh", "/usr/lib/tclConfig.sh")
                .arguments()
                .expect("arguments"),
        );
        // The links are made in the carved /usr/lib, after it; the tree's own entry of that
        // name is not bound.
        let position = |sequence: &[&str]| {
            arguments
                .windows(sequence.len())
                .position(|window| window == sequence)
                .expect("in the arguments")
        };
        assert!(
            position(&["--symlink", "tcl8.6/tclConfig.sh", "/usr/lib/tclConfig.sh"])
                > position(&["--dir", "/usr/lib"])
        );
        assert!(contains_sequence(
            &arguments,
            &[
                "--symlink",
                "/sysroot/usr/lib/aarch64-linux-gnu",
                "/usr/lib/aarch64-linux-gnu"
            ]
        ));
        assert!(!arguments
            .iter()
            .any(|argument| *argument == format!("{root}/usr/lib/aarch64-linux-gnu")));
        // Never in a writable tree, where bwrap would make it in the tree itself.
        assert!(Sandbox::new(tree.path())
            .writable_root(true)
            .symlink_at("x", "/usr/lib/x")
            .arguments()
            .is_err());
        // /usr and /usr/lib are carved, their other entries kept.
        assert!(contains_sequence(&arguments, &["--dir", "/usr/lib"]));
        assert!(contains_sequence(
            &arguments,
            &[
                "--ro-bind-try",
                &format!("{root}/usr/lib/x86_64-linux-gnu"),
                "/usr/lib/x86_64-linux-gnu"
            ]
        ));
    }

    #[test]
    fn carving_keeps_the_siblings_of_a_bind() {
        let tree = fake_tree();
        let root = tree.path().to_string_lossy().into_owned();
        let arguments = strings(
            &Sandbox::new(tree.path())
                .identity(Identity::Invoker)
                .bind("/var/tmp/project")
                .arguments()
                .expect("arguments"),
        );
        assert!(contains_sequence(&arguments, &["--dir", "/var"]));
        assert!(contains_sequence(
            &arguments,
            &["--ro-bind-try", &format!("{root}/var/lib"), "/var/lib"]
        ));
        assert!(contains_sequence(&arguments, &["--dir", "/var/tmp"]));
    }

    #[test]
    fn a_directory_others_may_not_search_shows_only_the_path_to_its_binds() {
        use std::os::unix::fs::PermissionsExt;
        let tree = fake_tree();
        let root = tree.path().to_string_lossy().into_owned();
        let private = tree.path().join("var/private");
        fs::create_dir_all(private.join("other")).expect("mkdir");
        fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).expect("chmod");
        let arguments = strings(
            &Sandbox::new(tree.path())
                .identity(Identity::Invoker)
                .bind("/var/private/project")
                .arguments()
                .expect("arguments"),
        );
        assert!(contains_sequence(&arguments, &["--dir", "/var"]));
        assert!(!contains_sequence(&arguments, &["--dir", "/var/private"]));
        assert!(!arguments
            .iter()
            .any(|argument| argument.starts_with(&format!("{root}/var/private"))));
        assert!(contains_sequence(
            &arguments,
            &["--bind", "/var/private/project", "/var/private/project"]
        ));
    }

    #[test]
    fn a_project_under_the_trees_root_home_shows_only_its_path() {
        // archway as root on /root/src/project: the root filesystem's /root is 0700, and its
        // files are not the build's; only the project is bound there.
        let tree = fake_tree();
        let root = tree.path().to_string_lossy().into_owned();
        fs::write(tree.path().join("root/.bashrc"), "").expect("write");
        let arguments = strings(
            &Sandbox::new(tree.path())
                .identity(Identity::Invoker)
                .bind("/root/src/project")
                .arguments()
                .expect("arguments"),
        );
        assert!(contains_sequence(
            &arguments,
            &["--bind", "/root/src/project", "/root/src/project"]
        ));
        assert!(!arguments
            .iter()
            .any(|argument| argument.ends_with("/root/.bashrc")
                || *argument == "/root"
                || *argument == format!("{root}/root")));
        // Without a bind inside, the tree's /root stays as it is.
        let arguments = strings(
            &Sandbox::new(tree.path())
                .identity(Identity::Invoker)
                .bind("/var/tmp/project")
                .arguments()
                .expect("arguments"),
        );
        assert!(contains_sequence(
            &arguments,
            &["--ro-bind-try", &format!("{root}/root"), "/root"]
        ));
    }

    #[test]
    fn network_shares_resolv_conf_instead_of_unsharing() {
        let tree = fake_tree();
        let arguments = strings(
            &Sandbox::new(tree.path())
                .identity(Identity::Invoker)
                .network(true)
                .arguments()
                .expect("arguments"),
        );
        assert!(!arguments.contains(&"--unshare-net".to_string()));
        if Path::new("/etc/resolv.conf").exists() {
            assert!(contains_sequence(
                &arguments,
                &["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"]
            ));
        }
    }

    #[test]
    fn writable_root_binds_the_tree_itself_and_keeps_only_install_capabilities() {
        let tree = fake_tree();
        let root = tree.path().to_string_lossy().into_owned();
        let arguments = strings(
            &Sandbox::new(tree.path())
                .identity(Identity::Root)
                .writable_root(true)
                .arguments()
                .expect("arguments"),
        );
        assert!(contains_sequence(&arguments, &["--bind", &root, "/"]));
        assert!(!arguments.contains(&"--remount-ro".to_string()));
        assert!(!arguments.contains(&"--unshare-user".to_string()));
        assert!(contains_sequence(
            &arguments,
            &["--cap-drop", "ALL", "--cap-add", "CAP_CHOWN"]
        ));
        assert!(!arguments.contains(&"CAP_NET_RAW".to_string()));
        assert!(!arguments.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(contains_sequence(
            &arguments,
            &["--ro-bind", "/proc/sys", "/proc/sys"]
        ));
    }

    #[test]
    fn a_dedicated_sandbox_binds_staged_sources_and_maps_root_to_its_id() {
        let tree = fake_tree();
        let arguments = strings(
            &Sandbox::new(tree.path())
                .identity(Identity::Dedicated(SANDBOX_ID))
                .bind_read_only("/home/user/project")
                .bind_build_directory("/home/user/project/build/archway/aarch64")
                .arguments()
                .expect("arguments"),
        );
        assert!(contains_sequence(
            &arguments,
            &["--ro-bind-try", "/tmp/archway/tree/usr", "/usr"]
        ));
        assert!(contains_sequence(
            &arguments,
            &[
                "--ro-bind",
                "/tmp/archway/read-only-0",
                "/home/user/project"
            ]
        ));
        assert!(contains_sequence(
            &arguments,
            &[
                "--bind",
                "/tmp/archway/build-0",
                "/home/user/project/build/archway/aarch64"
            ]
        ));
        let position = |needle: &str| arguments.iter().position(|argument| argument == needle);
        assert!(
            position("/tmp/archway/read-only-0") < position("/tmp/archway/build-0"),
            "the project is mounted before the build directory inside it"
        );
        // With the filter, the sandbox id in a prepared namespace with root beside it
        // (`two_id_namespace`); without, root of bwrap's own one-id namespace.
        let user = if Filter::host().is_some() {
            vec!["--userns", "8", "--uid", "65534", "--gid", "65534"]
        } else {
            vec![
                "--unshare-user",
                "--uid",
                "0",
                "--gid",
                "0",
                "--disable-userns",
            ]
        };
        assert!(contains_sequence(&arguments, &user), "{arguments:?}");
        assert!(contains_sequence(&arguments, &["--cap-drop", "ALL"]));
        assert!(!arguments.contains(&"--cap-add".to_string()));
        assert!(contains_sequence(&arguments, &["--remount-ro", "/"]));
        assert!(contains_sequence(
            &arguments,
            &["--chdir", "/home/user/project/build/archway/aarch64"]
        ));
        if cfg!(target_arch = "x86_64") {
            assert!(contains_sequence(&arguments, &["--seccomp", "9"]));
        }
    }

    #[test]
    fn mapped_root_covers_proc_sys_and_unprivileged_identities_need_not() {
        let tree = fake_tree();
        let mapped = strings(
            &Sandbox::new(tree.path())
                .identity(Identity::MappedRoot)
                .bind("/srv/project")
                .arguments()
                .expect("arguments"),
        );
        assert!(contains_sequence(
            &mapped,
            &["--unshare-user", "--uid", "0"]
        ));
        let proc = mapped.iter().position(|argument| argument == "--proc");
        let sys = mapped.iter().position(|argument| argument == "/proc/sys");
        assert!(proc < sys, "/proc/sys is covered after /proc is mounted");
        assert!(contains_sequence(
            &mapped,
            &[
                "--ro-bind-try",
                "/proc/sysrq-trigger",
                "/proc/sysrq-trigger"
            ]
        ));
        let invoker = strings(
            &Sandbox::new(tree.path())
                .identity(Identity::Invoker)
                .bind("/srv/project")
                .arguments()
                .expect("arguments"),
        );
        assert!(!invoker.contains(&"/proc/sys".to_string()));
    }

    #[test]
    fn the_identity_follows_the_user_and_the_binds() {
        let tree = fake_tree();
        let build = Sandbox::new(tree.path()).bind_build_directory("/srv/build");
        let project = Sandbox::new(tree.path()).bind("/srv/project");
        let install = Sandbox::new(tree.path()).writable_root(true);
        if rustix::process::geteuid().is_root() {
            assert_eq!(build.effective_identity(), Identity::Dedicated(SANDBOX_ID));
            assert_eq!(project.effective_identity(), Identity::MappedRoot);
            assert_eq!(install.effective_identity(), Identity::Root);
        } else {
            for sandbox in [build, project, install] {
                assert_eq!(sandbox.effective_identity(), Identity::Invoker);
            }
        }
    }

    #[test]
    fn a_dedicated_command_stages_then_drops_to_the_id() {
        let tree = fake_tree();
        let build = tempfile::tempdir().expect("temp dir");
        let directory = build.path().join("out");
        let sandbox = Sandbox::new(tree.path())
            .identity(Identity::Dedicated(SANDBOX_ID))
            .bind_build_directory(&directory);
        let result = sandbox.command("make", ["check"]);
        if !rustix::process::geteuid().is_root() {
            // Handing the directory over needs root.
            assert!(result.is_err());
            return;
        }
        let command = result.expect("command");
        let arguments: Vec<String> = command
            .get_args()
            .map(|argument| argument.to_string_lossy().into_owned())
            .collect();
        let build_source = directory.to_string_lossy().into_owned();
        assert!(contains_sequence(
            &arguments,
            &["--bind", &build_source, "/tmp/archway/build-0"]
        ));
        // `setpriv` by its resolved path: the staging bwrap's `/tmp` may hide a PATH entry.
        let setpriv = system_tool("setpriv").expect("setpriv (util-linux is Essential)");
        assert!(contains_sequence(
            &arguments,
            &[
                "--",
                &setpriv.to_string_lossy(),
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups"
            ]
        ));
        // With the two-id namespace, the tree's `sh` closes the namespace's descriptor and
        // becomes the command.
        let command_start: &[&str] = if Filter::host().is_some() {
            &[
                "--",
                "/bin/sh",
                "-c",
                "exec \"$@\" 8<&-",
                "sh",
                "make",
                "check",
            ]
        } else {
            &["--", "make", "check"]
        };
        assert!(
            contains_sequence(&arguments, command_start),
            "{arguments:?}"
        );
        let metadata = fs::metadata(&directory).expect("the build directory exists");
        assert_eq!((metadata.uid(), metadata.gid()), (SANDBOX_ID, SANDBOX_ID));
    }

    #[test]
    fn handing_over_changes_every_owner_below_without_following_links() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: changing owners needs root");
            return;
        }
        let directory = tempfile::tempdir().expect("temp dir");
        let outside = tempfile::NamedTempFile::new().expect("temp file");
        fs::create_dir_all(directory.path().join("a/b")).expect("mkdir");
        fs::write(directory.path().join("a/b/file.o"), "").expect("write");
        std::os::unix::fs::symlink(outside.path(), directory.path().join("a/link"))
            .expect("symlink");
        hand_over(directory.path(), SANDBOX_ID).expect("hand over");
        for path in ["", "a", "a/b", "a/b/file.o", "a/link"] {
            let metadata = fs::symlink_metadata(directory.path().join(path)).expect("inspect");
            assert_eq!(metadata.uid(), SANDBOX_ID, "{path}");
        }
        let target = fs::metadata(outside.path()).expect("inspect");
        assert_eq!(target.uid(), 0, "the link's target is not followed");
    }

    #[test]
    fn the_hosts_own_tree_leaves_out_home_and_root_and_keeps_the_id() {
        let arguments = strings(
            &Sandbox::host()
                .identity(Identity::Dedicated(SANDBOX_ID))
                .bind_read_only("/home/user/project")
                .bind_build_directory("/home/user/project/build/archway/x86_64")
                .arguments()
                .expect("arguments"),
        );
        // Nothing of /home or /root but the binds: no carving of their siblings.
        for hidden in ["/home", "/root"] {
            assert!(!arguments.contains(&hidden.to_string()), "{hidden}");
        }
        assert!(!arguments
            .iter()
            .any(|argument| argument.starts_with("/tmp/archway/tree/home")));
        assert!(contains_sequence(
            &arguments,
            &[
                "--ro-bind",
                "/tmp/archway/read-only-0",
                "/home/user/project"
            ]
        ));
        if Path::new("/usr").is_dir() {
            assert!(contains_sequence(
                &arguments,
                &["--ro-bind-try", "/tmp/archway/tree/usr", "/usr"]
            ));
        }
        // With the filter, a prepared namespace with root in it too (`two_id_namespace`);
        // without, bwrap's own with one id.
        let user = if Filter::host().is_some() {
            vec!["--userns", "8", "--uid", "65534", "--gid", "65534"]
        } else {
            vec![
                "--unshare-user",
                "--uid",
                "65534",
                "--gid",
                "65534",
                "--disable-userns",
            ]
        };
        assert!(contains_sequence(&arguments, &user), "{arguments:?}");
        assert!(contains_sequence(&arguments, &["--remount-ro", "/"]));
        assert!(contains_sequence(&arguments, &["--unshare-net"]));
        let invoker = strings(
            &Sandbox::host()
                .identity(Identity::Invoker)
                .arguments()
                .expect("arguments"),
        );
        let uid = rustix::process::getuid().as_raw().to_string();
        assert!(contains_sequence(&invoker, &["--uid", &uid]));
    }

    #[test]
    fn the_host_tree_shows_system_directories_only() {
        for shown in [
            "/usr/bin",
            "/etc/ssl/certs",
            "/opt/toolchain/bin",
            "/var/lib",
            "/work/p",
        ] {
            assert!(Sandbox::host_tree_shows(Path::new(shown)), "{shown}");
        }
        for hidden in [
            "/home/user/.cargo/bin",
            "/root/.rustup",
            "/tmp/stub-tools",
            "/var/tmp/x",
            "/run/user/1000",
            "/proc/self",
            "relative/bin",
            "/",
        ] {
            assert!(!Sandbox::host_tree_shows(Path::new(hidden)), "{hidden}");
        }
    }

    #[test]
    fn bind_paths_are_checked() {
        let tree = fake_tree();
        for bad in [
            "relative/path",
            "/proc/self",
            "/dev/shm/x",
            "/",
            "/home/../etc",
            "/bin/project",
        ] {
            let result = Sandbox::new(tree.path()).bind(bad).arguments();
            assert!(result.is_err(), "{bad}");
        }
        assert!(Sandbox::new(tree.path())
            .bind("/tmp/project")
            .arguments()
            .is_ok());
        assert!(Sandbox::new(tree.path())
            .bind("/srv/new/place")
            .arguments()
            .is_ok());
    }

    #[test]
    fn environment_is_cleared_then_set() {
        let tree = fake_tree();
        let arguments = strings(
            &Sandbox::new(tree.path())
                .env("CFLAGS", "-O2")
                .arguments()
                .expect("arguments"),
        );
        let clear = arguments
            .iter()
            .position(|argument| argument == "--clearenv")
            .expect("clearenv");
        let set = arguments
            .iter()
            .position(|argument| argument == "CFLAGS")
            .expect("CFLAGS");
        assert!(clear < set);
        assert!(contains_sequence(
            &arguments,
            &["--setenv", "CFLAGS", "-O2"]
        ));
    }
}
