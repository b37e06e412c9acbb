//! The emulated method: build steps run inside a root filesystem of the target's architecture,
//! under QEMU through binfmt_misc, sandboxed by bubblewrap.
//!
//! The project is bound at its own path and the per-target build directory inside it, so the
//! same build-system detection and the same commands as the other methods run unchanged; the
//! compiler is the root filesystem's own native gcc. Everything else is read-only, and there
//! is no network unless asked for (`--network`, needed for apt).
//!
//! ```no_run
//! use archway::emulated::Emulated;
//! use archway_rootfs::{Architecture, RootfsKey, Store, Suite};
//!
//! let key = RootfsKey::new(Architecture::Arm64, Suite::Bookworm, [])?;
//! let emulated = Emulated::new(Store::new("/root/.cache/archway".as_ref()), key, "/src/zlib");
//! let rootfs = emulated.ensure_rootfs(&archway_platform::NoProgress)?;
//! let status = emulated.sandbox(&rootfs).command("make", ["check"])?.status();
//! # Ok::<(), archway_rootfs::Error>(())
//! ```

use std::path::{Path, PathBuf};

use archway_platform::Reporter;
use archway_rootfs::{CreateOptions, Rootfs, RootfsKey, Sandbox, Store};

use crate::executor::{ChildOutput, Executor};
use crate::plan::BinfmtState;
use crate::steps::Step;

/// One emulated build environment: which root filesystem, which project.
#[derive(Debug, Clone)]
pub struct Emulated {
    pub store: Store,
    pub key: RootfsKey,
    pub options: CreateOptions,
    /// The project directory, bound at the same path: read-only when there is a
    /// [`Emulated::build_dir`] (a build) unless [`Emulated::project_writable`], writable
    /// otherwise (an interactive shell).
    pub project: PathBuf,
    /// `--writable-source`: a build may write into the project too.
    pub project_writable: bool,
    /// The build directory: the only place a build writes. As root, it is handed to the
    /// sandbox's unprivileged user ([`archway_rootfs::SANDBOX_ID`]) and the build runs as
    /// that user (see `archway_rootfs::Sandbox`).
    pub build_dir: Option<PathBuf>,
    /// Share the host's network.
    pub network: bool,
    /// Environment for the build steps (CFLAGS, ...).
    pub environment: Vec<(String, String)>,
    /// A binfmt interpreter the kernel opens by path (an entry without the `F` flag): bound
    /// read-only into the sandbox at the same path.
    pub interpreter_to_bind: Option<PathBuf>,
}

impl Emulated {
    pub fn new(store: Store, key: RootfsKey, project: impl Into<PathBuf>) -> Emulated {
        Emulated {
            store,
            key,
            options: CreateOptions::default(),
            project: project.into(),
            project_writable: false,
            build_dir: None,
            network: false,
            environment: Vec::new(),
            interpreter_to_bind: None,
        }
    }

    /// The cached root filesystem, created (and derived for extra packages) when missing.
    pub fn ensure_rootfs(&self, reporter: &dyn Reporter) -> Result<Rootfs, archway_rootfs::Error> {
        let (rootfs, created) = self.store.ensure(&self.key, &self.options, reporter)?;
        if created {
            reporter.note(&format!(
                "created the {} root filesystem in {:.0} s",
                self.key, rootfs.metadata.creation_seconds
            ));
        }
        Ok(rootfs)
    }

    /// [`Emulated::ensure_rootfs`], held for as long as the [`archway_rootfs::InUse`] lives.
    pub fn ensure_held_rootfs(
        &self,
        reporter: &dyn Reporter,
    ) -> Result<(Rootfs, archway_rootfs::InUse), archway_rootfs::Error> {
        held(
            &self.store,
            || self.ensure_rootfs(reporter),
            |rootfs| rootfs.directory.clone(),
        )
    }

    /// The sandbox the build steps run in: the project (and extra directories) writable at
    /// their own paths, the working directory the project.
    pub fn sandbox(&self, rootfs: &Rootfs) -> Sandbox {
        self.sandbox_in(&rootfs.tree())
    }

    /// [`Emulated::sandbox`] over another tree made from the root filesystem (the hybrid
    /// method's view).
    pub fn sandbox_in(&self, tree: &Path) -> Sandbox {
        let mut sandbox = Sandbox::new(tree)
            .network(self.network)
            .current_dir(&self.project);
        sandbox = match &self.build_dir {
            Some(build_dir) if !self.project_writable => sandbox
                .bind_read_only(&self.project)
                .bind_build_directory(build_dir),
            Some(build_dir) => sandbox.bind(&self.project).bind_build_directory(build_dir),
            None => sandbox.bind(&self.project),
        };
        if let Some(interpreter) = &self.interpreter_to_bind {
            sandbox = sandbox.bind_read_only(interpreter);
        }
        for (name, value) in &self.environment {
            sandbox = sandbox.env(name, value);
        }
        sandbox
    }
}

/// The emulated method's [`Executor`]: each step runs inside the sandbox, in the step's own
/// directory (the project or its build directory, bound at the same path), with the step's
/// environment on top of the sandbox's.
#[derive(Debug, Clone)]
pub struct SandboxExecutor {
    pub sandbox: Sandbox,
    /// The root filesystem's tree, to look programs up in.
    pub tree: PathBuf,
    /// For [`Executor::describe`].
    pub description: String,
    pub output: ChildOutput,
}

/// `PATH` inside the sandbox, as directories of the tree.
const TREE_PATH: [&str; 6] = [
    "usr/local/sbin",
    "usr/local/bin",
    "usr/sbin",
    "usr/bin",
    "sbin",
    "bin",
];

impl Executor for SandboxExecutor {
    fn run(&self, step: &Step) -> Result<Option<i32>, crate::Error> {
        let mut sandbox = self.sandbox.clone().current_dir(&step.dir);
        for (name, value) in &step.env {
            sandbox = sandbox.env(name, value);
        }
        let mut command = sandbox.command(&step.program, &step.args)?;
        let copier = self.output.apply(&mut command)?;
        // bwrap leads the step's group; the sandbox's processes are in a session of their own
        // (`--new-session`), and the supervisor signals them one by one. When bwrap itself
        // ends, `--die-with-parent` (PR_SET_PDEATHSIG, SIGKILL) ends the sandbox's init and
        // with it the whole PID namespace (pid_namespaces(7)).
        let ended =
            crate::executor::run_supervised(
                &mut command,
                step,
                &self.output,
                |source| match source.kind() {
                    std::io::ErrorKind::NotFound => {
                        crate::Error::Rootfs(archway_rootfs::Error::ToolMissing {
                            tool: "bwrap",
                            package: "bubblewrap",
                        })
                    }
                    _ => crate::Error::Spawn {
                        command: step.command_line(),
                        source,
                    },
                },
            );
        // The command holds the pipe's write end until it is dropped.
        drop(command);
        if let Some(copier) = copier {
            copier.finish();
        }
        ended
    }

    fn has_program(&self, program: &str) -> bool {
        if self.tree == Path::new("/") {
            // The host's own system ([`crate::host_sandbox`]): its `PATH` is passed in.
            return crate::executor::find_program(program, std::env::var_os("PATH").as_deref())
                .is_some();
        }
        if program.contains('/') {
            // Relative paths are the project's own scripts (`./configure`): on the host too.
            let path = Path::new(program);
            return if path.is_absolute() {
                self.tree
                    .join(path.strip_prefix("/").unwrap_or(path))
                    .exists()
            } else {
                true
            };
        }
        TREE_PATH
            .iter()
            .any(|directory| self.tree.join(directory).join(program).exists())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn log(&self) -> Option<&Path> {
        self.output.log()
    }

    fn transcript(&self) -> Option<&Path> {
        self.output.transcript()
    }
}

impl SandboxExecutor {
    /// The executor for `emulated`'s project in `rootfs`.
    pub fn new(emulated: &Emulated, rootfs: &Rootfs, output: ChildOutput) -> SandboxExecutor {
        SandboxExecutor {
            sandbox: emulated.sandbox(rootfs),
            tree: rootfs.tree(),
            description: format!("bubblewrap in the {} root filesystem", emulated.key),
            output,
        }
    }

    /// The executor for `emulated`'s project in another `tree` made from its root filesystem.
    pub fn in_tree(
        emulated: &Emulated,
        tree: PathBuf,
        description: String,
        output: ChildOutput,
    ) -> SandboxExecutor {
        SandboxExecutor {
            sandbox: emulated.sandbox_in(&tree),
            tree,
            description,
            output,
        }
    }
}

/// Whether this machine runs `architecture`'s binaries without emulation (x86_64 runs i386;
/// aarch64 runs armhf/armel only with the kernel's compat support, which is not assumed).
pub fn host_runs(architecture: archway_rootfs::Architecture) -> bool {
    use archway_rootfs::Architecture::*;
    matches!(
        (std::env::consts::ARCH, architecture),
        ("x86_64", Amd64 | I386)
            | ("x86", I386)
            | ("aarch64", Arm64)
            | ("riscv64", Riscv64)
            | ("s390x", S390x)
            | ("powerpc64", Ppc64el)
    )
}

/// Whether an enabled binfmt_misc entry of the system runs `qemu_name`'s binaries: the
/// kernel's own matching applied to a minimal ELF header of that architecture.
pub fn binfmt_state(qemu_name: &str) -> BinfmtState {
    binfmt_state_in(&archway_binfmt::BinfmtFs::system(), qemu_name)
}

/// [`binfmt_state`] over an injected binfmt_misc filesystem.
pub fn binfmt_state_in(binfmt: &archway_binfmt::BinfmtFs, qemu_name: &str) -> BinfmtState {
    let can_install = archway_rootfs::running_as_root();
    let Some(target) = archway_binfmt::magic::for_qemu(qemu_name) else {
        return BinfmtState::Missing { can_install: false };
    };
    // The magic is the ELF identification and e_machine; the rest of a header is free.
    let mut header = target.magic().to_vec();
    header.resize(128, 0);
    let Ok(archway_binfmt::Handler::Entry {
        name,
        also_matching,
        ..
    }) = binfmt.handler_for(&[], &header, Path::new("/usr/bin/true"))
    else {
        return BinfmtState::Missing { can_install };
    };
    // The first that lasts: another archway process's temporary entry goes with it, and the
    // next matching entry (or the one `--setup` registers, ahead of it) runs the programs then.
    let Some(name) = std::iter::once(name)
        .chain(also_matching)
        .find(|name| crate::emulation::lasting_entry(name.as_str()))
    else {
        return BinfmtState::Missing { can_install };
    };
    let fix_binary = binfmt
        .entry(name.as_str())
        .ok()
        .flatten()
        .is_some_and(|entry| entry.registration.flags().fix_binary);
    BinfmtState::Registered {
        entry: name.as_str().to_string(),
        fix_binary,
    }
}

/// `--setup`: registers QEMU's entry for `qemu_name` with archway's defaults (flag `F`), as
/// `archway binfmt install` does.
pub fn install_binfmt(qemu_name: &str, reporter: &dyn Reporter) -> Result<(), crate::Error> {
    use archway_binfmt::{InstallOptions, InstallOutcome, Registry};
    let failure = |reason: String, hint: Option<String>| crate::Error::Setup {
        qemu: qemu_name.to_string(),
        reason,
        hint,
    };
    let target = archway_binfmt::magic::for_qemu(qemu_name)
        .ok_or_else(|| failure(format!("QEMU has no `{qemu_name}` emulator"), None))?;
    let registry = Registry::system();
    let binfmt_error = |error: archway_binfmt::Error| {
        let hint = error.hint();
        failure(error.to_string(), hint)
    };
    registry.ensure_mounted().map_err(binfmt_error)?;
    match registry
        .install_target(target, &InstallOptions::default())
        .map_err(binfmt_error)?
    {
        InstallOutcome::Installed { registration, .. } => {
            reporter.note(&format!(
                "--setup: registered `{}` → `{}`",
                registration.name().as_str(),
                registration.interpreter().display()
            ));
            Ok(())
        }
        InstallOutcome::AlreadyPresent { .. } | InstallOutcome::SkippedNative { .. } => Ok(()),
        InstallOutcome::InterpreterMissing {
            install_command, ..
        } => Err(failure(
            format!("`qemu-{qemu_name}` is not installed"),
            Some(format!("run `{install_command}`")),
        )),
        other => Err(failure(
            format!("{other:?}"),
            Some(format!("see `archway binfmt install {qemu_name}`")),
        )),
    }
}

/// Fails with the exact fix when the kernel cannot run `architecture`'s binaries; with
/// `setup`, registers the missing binfmt_misc entry instead.
pub fn require_emulation(
    architecture: archway_rootfs::Architecture,
    setup: bool,
    reporter: &dyn Reporter,
) -> Result<(), crate::Error> {
    if host_runs(architecture) {
        return Ok(());
    }
    let qemu = architecture.qemu_user();
    match binfmt_state(qemu) {
        BinfmtState::Registered { .. } => Ok(()),
        BinfmtState::Missing { can_install } if setup && can_install => {
            install_binfmt(qemu, reporter)
        }
        BinfmtState::Missing { .. } => Err(crate::Error::NoEmulation {
            target: architecture.to_string(),
            arch: qemu.to_string(),
        }),
    }
}

/// The interpreter of the entry that runs `qemu_name`'s binaries, when the entry lacks the
/// `F` flag (so the kernel looks the interpreter up by path inside the sandbox).
pub fn interpreter_to_bind(qemu_name: &str) -> Option<PathBuf> {
    let binfmt = archway_binfmt::BinfmtFs::system();
    let BinfmtState::Registered {
        entry,
        fix_binary: false,
    } = binfmt_state_in(&binfmt, qemu_name)
    else {
        return None;
    };
    let entry = binfmt.entry(&entry).ok().flatten()?;
    Some(entry.registration.interpreter().to_path_buf())
}

/// An entry of `store` from `ensure`, held ([`Store::hold`]); made again when a removal took
/// it between `ensure` and the hold (once held, nothing removes it).
pub(crate) fn held<T, E: From<archway_rootfs::Error>>(
    store: &Store,
    ensure: impl Fn() -> Result<T, E>,
    directory: impl Fn(&T) -> PathBuf,
) -> Result<(T, archway_rootfs::InUse), E> {
    let mut entry = ensure()?;
    for _ in 0..2 {
        let in_use = store.hold(&directory(&entry))?;
        if directory(&entry).is_dir() {
            return Ok((entry, in_use));
        }
        drop(in_use);
        entry = ensure()?;
    }
    // Removed again each time: the last word is the hold's, or the missing directory's.
    let in_use = store.hold(&directory(&entry))?;
    match std::fs::metadata(directory(&entry)) {
        Ok(_) => Ok((entry, in_use)),
        Err(source) => Err(archway_rootfs::Error::Io {
            action: "use",
            path: directory(&entry),
            source,
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_rootfs::{Architecture, Suite};

    #[test]
    fn a_build_sees_the_project_read_only_and_writes_only_its_build_directory() {
        let tree = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(tree.path().join("root/usr")).expect("mkdir");
        let rootfs = Rootfs {
            metadata: archway_rootfs::Metadata {
                key: RootfsKey::new(Architecture::Arm64, Suite::Bookworm, []).expect("key"),
                created_unix: 0,
                creation_seconds: 0.0,
                made_by: "test".to_string(),
            },
            directory: tree.path().to_path_buf(),
        };
        let mut emulated = Emulated::new(
            Store::new(tree.path()),
            rootfs.metadata.key.clone(),
            "/srv/project",
        );
        emulated.build_dir = Some(PathBuf::from("/srv/out"));
        let arguments: Vec<String> = emulated
            .sandbox(&rootfs)
            .identity(archway_rootfs::Identity::Invoker)
            .arguments()
            .expect("arguments")
            .into_iter()
            .map(|argument| argument.to_string_lossy().into_owned())
            .collect();
        let binds = |option: &str| -> Vec<&String> {
            arguments
                .windows(2)
                .filter(|pair| pair[0] == option)
                .map(|pair| &pair[1])
                .collect()
        };
        assert_eq!(binds("--bind"), ["/srv/out"]);
        assert!(binds("--ro-bind").contains(&&"/srv/project".to_string()));
        assert!(arguments.contains(&"--unshare-net".to_string()));

        // A shell has no build directory: the working directory is writable.
        emulated.build_dir = None;
        let arguments = emulated
            .sandbox(&rootfs)
            .identity(archway_rootfs::Identity::Invoker)
            .arguments()
            .expect("arguments");
        let writable: Vec<_> = arguments
            .windows(2)
            .filter(|pair| pair[0] == "--bind")
            .map(|pair| pair[1].to_string_lossy().into_owned())
            .collect();
        assert_eq!(writable, ["/srv/project"]);
    }

    #[test]
    fn another_processs_temporary_entry_is_not_relied_on() {
        const QEMU_AARCH64: &str = "enabled\ninterpreter /usr/bin/qemu-aarch64-static\n\
            flags: F\noffset 0\nmagic 7f454c460201010000000000000000000200b700\n\
            mask ffffffffffffff00fffffffffffffffffeffffff\n";
        let fake = |entries: &[&str]| {
            let dir = tempfile::tempdir().expect("temp dir");
            std::fs::write(dir.path().join("register"), "").expect("register");
            std::fs::write(dir.path().join("status"), "enabled\n").expect("status");
            for name in entries {
                std::fs::write(dir.path().join(name), QEMU_AARCH64).expect("entry");
            }
            dir
        };
        // A process that is not this one's ancestor, alive while the checks run.
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let theirs = format!("archway-tmp-{}-aarch64", other.id());
        let ours = format!("archway-tmp-{}-aarch64", std::process::id());
        let state = |entries: &[&str]| {
            let dir = fake(entries);
            binfmt_state_in(&archway_binfmt::BinfmtFs::new(dir.path()), "aarch64")
        };
        let registered = |entry: &str| BinfmtState::Registered {
            entry: entry.to_string(),
            fix_binary: true,
        };
        assert!(matches!(state(&[&theirs]), BinfmtState::Missing { .. }));
        assert_eq!(
            state(&[&theirs, "qemu-aarch64"]),
            registered("qemu-aarch64")
        );
        assert_eq!(state(&[&ours]), registered(&ours));
        let _ = other.kill();
        let _ = other.wait();
    }

    #[test]
    fn binfmt_state_follows_the_registered_entries() {
        let root = tempfile::tempdir().expect("temp dir");
        // An unmounted (empty) binfmt_misc directory: nothing is registered.
        let binfmt = archway_binfmt::BinfmtFs::new(root.path());
        assert!(matches!(
            binfmt_state_in(&binfmt, "aarch64"),
            BinfmtState::Missing { .. }
        ));
        assert_eq!(
            binfmt_state_in(&binfmt, "no-such-cpu"),
            BinfmtState::Missing { can_install: false }
        );
    }
}
