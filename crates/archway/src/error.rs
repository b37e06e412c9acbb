//! The façade's error: everything a build, a test run or a temporary emulator registration can
//! report, each with the context a user needs and a [`hint`](Error::hint) with the fixing command.

use std::path::PathBuf;

use crate::project::BuildSystem;

/// Everything that can go wrong in the façade.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The project directory does not exist or is not a directory.
    #[error("project directory `{}` does not exist", path.display())]
    ProjectMissing { path: PathBuf },

    /// No build system archway knows is present in the project directory.
    #[error("no build system found in `{}`", path.display())]
    UnknownBuildSystem { path: PathBuf },

    /// The build system the user asked for has no input file in the project.
    #[error("`{system}` was asked for, but `{}` has no `{file}`", path.display())]
    BuildSystemAbsent {
        system: BuildSystem,
        file: &'static str,
        path: PathBuf,
    },

    /// The project ships `configure.ac` without `configure`, and `autoreconf` (which
    /// generates it, as Debian's dh_autoreconf does) is not installed where the steps run.
    #[error(
        "`autoreconf` is not installed {}, but `configure.ac` without `configure` needs it to \
         generate `configure`",
        if *in_root_filesystem { "in the root filesystem" } else { "on the host" }
    )]
    AutoreconfMissing {
        /// The steps run in a target root filesystem (emulated, hybrid), not on the host.
        in_root_filesystem: bool,
    },

    /// The build system's own tool is not installed.
    #[error("`{program}` is not installed, but `{system}` projects need it")]
    ToolMissing {
        program: String,
        system: BuildSystem,
        /// The Debian package that provides it.
        package: &'static str,
    },

    /// A project step (configure, build, test) could not be started.
    #[error("could not run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },

    /// A step failed, and its output names a missing build dependency (the diagnosis says
    /// which Debian package ships it); the failed step is the cause.
    #[error("{}", diagnosis.message())]
    MissingDependency {
        diagnosis: Box<crate::missing::Diagnosis>,
        #[source]
        step: Box<Error>,
    },

    /// A step failed, and configure had gone without files a Debian package ships (the
    /// errors of its checks): the hint names them, as what was left out may be the cause.
    #[error("{step}")]
    ConfiguredWithout {
        without: Box<crate::missing::WentWithout>,
        step: Box<Error>,
    },

    /// A project step ran and failed; the process exit code is the build's own.
    #[error("{step} step failed: `{command}` exited with {}", describe_status(*code))]
    StepFailed {
        step: crate::steps::StepKind,
        command: String,
        /// The exit code, `None` when the process was killed by a signal.
        code: Option<i32>,
        /// Where the step's output went (`-q`), to read what failed.
        log: Option<std::path::PathBuf>,
        /// The file holding a copy of the step's output (the `-q` log, or the copy of what
        /// went to the terminal).
        transcript: Option<std::path::PathBuf>,
        /// Where the step's own output starts in the transcript (bytes).
        transcript_start: u64,
    },

    /// archway was told to stop (SIGINT, SIGTERM...) while a step ran: the signal was
    /// forwarded and every process of the step has ended. The exit code is 128 + `signal`, as
    /// shells report a process ended by it.
    #[error("interrupted: stopped `{command}` and its children")]
    Interrupted { signal: i32, command: String },

    /// Another archway build holds the build directory's lock, and `--no-wait` was given.
    #[error(
        "another archway build of `{}` is running{}",
        dir.display(),
        pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    BuildDirBusy { dir: PathBuf, pid: Option<u32> },

    /// A file system operation in the build directory or the project failed.
    #[error("could not {action} `{}`", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Rust projects: rustup has not installed the target's standard library, and Debian's
    /// cannot stand in (`debian` says why).
    #[error(
        "the Rust standard library for `{rust_target}` is not installed (rustup), and Debian's \
         cannot serve: {debian}"
    )]
    RustTargetMissing {
        rust_target: String,
        debian: String,
        /// Debian has a root filesystem for the target: its own cargo can build (emulated).
        emulated: bool,
    },

    /// A Cargo project asks for a newer Rust ([`crate::rust_needs`]) than the `rustc` this
    /// build would use (`debian` names it).
    #[error("the project needs {needs}, and {debian}")]
    ProjectNeedsNewerRust {
        needs: crate::rust::RustNeeds,
        debian: String,
        fix: crate::rust::RustFix,
    },

    /// The sandbox the cross and native methods' steps run in cannot start on this host.
    #[error("the build sandbox (bubblewrap) cannot start on this host: {reason}")]
    HostSandbox {
        /// bwrap's own last words.
        reason: String,
        /// What refuses the sandbox its user namespace, when archway can tell.
        blocker: Option<crate::host_sandbox::NamespaceBlocker>,
        /// The sandbox is a root filesystem's (the emulated and hybrid methods), which has no
        /// unsandboxed form.
        in_root_filesystem: bool,
    },

    /// A sandboxed step failed writing where the host sandbox keeps things read-only (its
    /// output says `Read-only file system`, or cargo's `failed to write` names a file of the
    /// project): most often its own source tree, which some test suites write into (yajl's
    /// `run_tests.sh`), or its `Cargo.lock`, which an older cargo rewrites.
    #[error(
        "{step}\n  the step wrote where the sandbox keeps things read-only (as its output \
         says): the project's source tree `{}` or the host's system",
        project.display()
    )]
    SourceReadOnly {
        project: std::path::PathBuf,
        /// The build directory, where a writable copy of the project can go.
        build_dir: std::path::PathBuf,
        step: Box<Error>,
    },

    /// A Cargo step failed because a locked package needs a newer `rustc` than the build's
    /// (Debian bookworm's is 1.63).
    #[error(
        "{step}\n  `{} {}` in the project's `Cargo.lock` needs rustc {}, and this build's rustc \
         is {}",
        too_new.name, too_new.version, too_new.requires, too_new.active
    )]
    RustTooOld {
        too_new: Box<crate::msrv::TooNew>,
        /// The newest version of the same series that this rustc builds, when known.
        fitting: Option<String>,
        step: Box<Error>,
    },

    /// A Cargo step failed because a crate uses unstable features, which only a nightly
    /// `rustc` compiles (Debian's is a stable release).
    #[error(
        "{step}\n  {}{}uses unstable Rust features, which only a nightly rustc compiles ({}); \
         this build's rustc is a stable release{}",
        nightly.krate.as_deref().map(|name| format!("`{name}` ")).unwrap_or_default(),
        if nightly.krate.is_some() { "" } else { "the project " },
        nightly.line,
        pinned.as_ref().map(|pinned| format!(" (the project asks for one: {pinned})")).unwrap_or_default()
    )]
    NeedsNightlyRust {
        nightly: Box<crate::msrv::NightlyOnly>,
        /// The project's `rust-toolchain(.toml)` channel, when it has one.
        pinned: Option<crate::rust_needs::PinnedToolchain>,
        rust_target: Option<String>,
        step: Box<Error>,
    },

    /// A cross step failed, and its output names the target's C++ compiler, which the
    /// toolchain lacks (gcc installed without its g++).
    #[error(
        "{step}\n  the project compiles C++, and the C++ cross compiler `{}` is not installed",
        missing.program.display()
    )]
    MissingCompiler {
        missing: archway_toolchain::MissingCompiler,
        step: Box<Error>,
    },

    /// Rust projects: the platform has no Rust target name.
    #[error("Rust has no target for `{target}`")]
    NoRustTarget { target: String },

    /// The host cannot run the target's binaries and nothing in binfmt_misc can either.
    #[error("nothing can run `{target}` programs on this host: no binfmt_misc entry handles them")]
    NoEmulation {
        target: String,
        /// The binfmt architecture name the user installs (`aarch64`).
        arch: String,
    },

    /// The target has no QEMU linux-user emulator.
    #[error("QEMU has no user-mode emulator for `{target}`")]
    NoEmulator { target: String },

    /// Registering the temporary emulator failed.
    #[error("could not register a temporary binfmt_misc entry for `{target}`")]
    Binfmt {
        target: String,
        #[source]
        source: archway_binfmt::Error,
    },

    /// The toolchain crate could not select or set up a cross toolchain.
    #[error(transparent)]
    Toolchain(#[from] archway_toolchain::Error),

    /// A target name that does not parse.
    #[error(transparent)]
    Platform(#[from] archway_platform::Error),

    /// The emulated method's root filesystem or sandbox.
    #[error(transparent)]
    Rootfs(#[from] archway_rootfs::Error),

    /// No build method (or not the one asked for) can build for the target.
    #[error(transparent)]
    NoMethod(Box<crate::plan::Unavailable>),

    /// The methods that keep state (sysroots, root filesystems) need a cache directory.
    #[error("no cache directory: none of `ARCHWAY_CACHE_DIR`, `XDG_CACHE_HOME`, `HOME` is set")]
    NoCacheDir,

    /// The configuration (`archway.toml`, the user file, `ARCHWAY_*`).
    #[error(transparent)]
    Config(Box<crate::config::Error>),

    /// `check-cpu = "error"`: an artifact needs more than the platform's CPU has.
    #[error("the build's artifacts need more than `{target}`'s CPU has:\n  {}", findings.join("\n  "))]
    CpuCheck {
        target: String,
        findings: Vec<String>,
    },

    /// A method without a root filesystem was asked for one (a shell).
    #[error("the `{method}` method has no root filesystem")]
    NoRootfs { method: crate::method::Method },

    /// `--all-targets` without `[build] targets`.
    #[error("`--all-targets` needs a list of targets, and the configuration has none")]
    NoTargets { file: PathBuf },

    /// `--setup` could not register the binfmt_misc entry a method needs.
    #[error("`--setup` could not register the `{qemu}` emulator: {reason}")]
    Setup {
        qemu: String,
        reason: String,
        hint: Option<String>,
    },
}

fn describe_status(code: Option<i32>) -> String {
    match code {
        Some(code) => format!("code {code}"),
        None => "a signal".to_string(),
    }
}

impl From<crate::config::Error> for Error {
    fn from(error: crate::config::Error) -> Error {
        Error::Config(Box::new(error))
    }
}

/// How much of a failed step's output its diagnoses read: the end, where the error is.
const STEP_OUTPUT_TAIL: u64 = 4 << 20;

/// The text of `transcript` from byte `start`, at most its last [`STEP_OUTPUT_TAIL`] bytes.
pub(crate) fn transcript_tail(transcript: &std::path::Path, start: u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(transcript).ok()?;
    let length = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(
        start.max(length.saturating_sub(STEP_OUTPUT_TAIL)),
    ))
    .ok()?;
    let mut bytes = Vec::new();
    file.take(STEP_OUTPUT_TAIL).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

impl Error {
    /// What the failed step of [`Error::StepFailed`] printed (its own part of the transcript,
    /// at most the last 4 MiB), which the diagnoses read; `None` for any other error or a
    /// transcript that cannot be read.
    pub(crate) fn failed_step_output(&self) -> Option<String> {
        match self {
            Error::StepFailed {
                transcript: Some(transcript),
                transcript_start,
                ..
            } => transcript_tail(transcript, *transcript_start),
            _ => None,
        }
    }

    /// The `hint:` line for the user, with the command that fixes it.
    /// The `map_err` for a failed filesystem `action` on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::ProjectMissing { .. } => {
                Some("pass the project directory with `-C DIR`".to_string())
            }
            Error::UnknownBuildSystem { .. } => Some(
                "archway detects CMakeLists.txt, meson.build, configure, Makefile and Cargo.toml; \
                 for anything else run your command in the cross environment: \
                 `archway build --target TARGET -- COMMAND...`"
                    .to_string(),
            ),
            Error::BuildSystemAbsent { .. } => {
                Some("leave out `--build-system` to let archway detect it".to_string())
            }
            // What dh_autoreconf's `autoreconf -f -i` needs for a typical tree: automake and
            // libtool for their macros and aux files, autopoint and gettext for AM_GNU_GETTEXT.
            Error::AutoreconfMissing {
                in_root_filesystem: false,
            } => Some(
                "run `apt-get install autoconf automake libtool autopoint gettext` as root"
                    .to_string(),
            ),
            Error::AutoreconfMissing {
                in_root_filesystem: true,
            } => Some(
                "add them to the root filesystem: \
                 `--packages autoconf,automake,libtool,autopoint,gettext`"
                    .to_string(),
            ),
            Error::ToolMissing { package, .. } => {
                Some(format!("run `apt-get install {package}` as root"))
            }
            Error::RustTargetMissing {
                rust_target,
                emulated,
                ..
            } => {
                let emulated = if *emulated {
                    ", or build with the target's own cargo: `--method emulated`"
                } else {
                    ""
                };
                Some(format!("run `rustup target add {rust_target}`{emulated}"))
            }
            Error::ProjectNeedsNewerRust { fix, .. } => Some(match fix {
                crate::rust::RustFix::Rustup { rust_target } => format!(
                    "run `rustup target add {rust_target}`: the cross method then builds with \
                     rustup's Rust"
                ),
                crate::rust::RustFix::Suite { suite, version } => {
                    format!("use `--suite {suite}` (Debian's rustc {version} there)")
                }
                crate::rust::RustFix::CrossWithRustup { rust_target } => format!(
                    "run `rustup target add {rust_target}` and build with `--method cross` \
                     (rustup's Rust)"
                ),
            }),
            Error::NoEmulation { arch, .. } => Some(format!(
                "run `archway binfmt install {arch}` as root (or run `archway test` as root to \
                 register a temporary entry)"
            )),
            Error::NoEmulator { target } => Some(format!(
                "build without tests: `archway build --target {target}`"
            )),
            Error::Binfmt { source, .. } => source.hint(),
            Error::Toolchain(source) => source.hint(),
            Error::Platform(source) => source.hint(),
            Error::Rootfs(source) => source.hint(),
            Error::NoMethod(unavailable) => unavailable.hint(),
            Error::NoCacheDir => Some("set `ARCHWAY_CACHE_DIR=/path/to/cache`".to_string()),
            Error::Config(source) => source.hint(),
            Error::NoTargets { file } => Some(format!(
                "add `targets = [\"aarch64\", \"riscv64\"]` under `[build]` in `{}`",
                file.display()
            )),
            Error::Setup { hint, .. } => hint.clone(),
            Error::HostSandbox {
                blocker,
                in_root_filesystem,
                ..
            } => {
                let unsandboxed = if *in_root_filesystem {
                    "or, for sources you trust, build with the cross method unsandboxed \
                     (`--method cross --no-sandbox`)"
                } else {
                    "or, for sources you trust, build unsandboxed with `--no-sandbox`"
                };
                Some(match blocker {
                    Some(crate::host_sandbox::NamespaceBlocker::Setting { command }) => {
                        format!("allow user namespaces: run `{command}` as root; {unsandboxed}")
                    }
                    Some(crate::host_sandbox::NamespaceBlocker::Chroot) => format!(
                        "archway runs in a chroot, where the kernel refuses the sandbox its user \
                         namespace: run it outside the chroot, or in a tree that is the root of \
                         its own mount namespace (a container, `systemd-nspawn`, or `unshare \
                         --mount` with `pivot_root`); {unsandboxed}"
                    ),
                    Some(crate::host_sandbox::NamespaceBlocker::Seccomp) => format!(
                        "a seccomp filter is on archway's process (`Seccomp: 2` in \
                         /proc/self/status), as a container's profile puts one: Docker's \
                         default refuses `unshare` and `clone` a new user namespace, and its \
                         AppArmor profile the sandbox's mounts; run the container with \
                         `--security-opt seccomp=unconfined --security-opt apparmor=unconfined` \
                         (or profiles that allow both); {unsandboxed}"
                    ),
                    None => format!(
                        "check that `bwrap --unshare-user --ro-bind / / true` works; {unsandboxed}"
                    ),
                })
            }
            Error::RustTooOld {
                too_new, fitting, ..
            } => {
                let newer = "or build with a newer Rust: a rustup toolchain with the target's \
                             standard library (`rustup target add`), or trixie's rustc 1.85 \
                             (`--method emulated --suite trixie`)";
                Some(match fitting {
                    Some(version) => format!(
                        "pin the newest `{}` that rustc {} builds: run `cargo update -p {}@{} \
                         --precise {version}` in the project, then build again; {newer}",
                        too_new.name, too_new.active, too_new.name, too_new.version
                    ),
                    None => format!(
                        "pin an older `{}` with `cargo update -p {}@{} --precise VERSION` in \
                         the project (`cargo search` and crates.io list its versions and the \
                         rustc each needs); {newer}",
                        too_new.name, too_new.name, too_new.version
                    ),
                })
            }
            Error::NeedsNightlyRust {
                pinned,
                rust_target,
                ..
            } => {
                let channel = pinned
                    .as_ref()
                    .map(|pinned| pinned.channel.as_str())
                    .filter(|channel| channel.starts_with("nightly"))
                    .unwrap_or("nightly");
                let install = match rust_target {
                    Some(rust_target) => {
                        format!("`rustup toolchain install {channel} --target {rust_target}`")
                    }
                    None => format!("`rustup toolchain install {channel}`"),
                };
                Some(if pinned.is_some() {
                    format!(
                        "install rustup and its {channel} toolchain with the target's standard \
                         library: {install}; archway uses rustup's cargo when it is on PATH, and \
                         the project's toolchain file picks {channel}"
                    )
                } else {
                    format!(
                        "install rustup and a nightly toolchain with the target's standard \
                         library: {install}; then build again with `RUSTUP_TOOLCHAIN={channel}` \
                         (or pin it in a `rust-toolchain.toml`); archway uses rustup's cargo \
                         when it is on PATH"
                    )
                })
            }
            Error::MissingCompiler { missing, .. } => Some(format!(
                "run `apt-get install {}` as root, then build again",
                missing.package
            )),
            Error::SourceReadOnly { .. } => Some(
                "if it writes into its source tree (some test suites do), run again with \
                 `--writable-source`; only the build directory is writable otherwise (for \
                 sources you trust, `--no-sandbox` runs the steps on the host)"
                    .to_string(),
            ),
            Error::CpuCheck { .. } => Some(
                "build for the platform's CPU (`archway platform show TARGET` lists its compiler \
                 flags; `gcc-arch`/`gcc-cpu` in `archway.toml` set them), or set \
                 `check-cpu = \"warn\"` to keep the artifacts anyway"
                    .to_string(),
            ),
            Error::NoRootfs { .. } => {
                Some("use `--method hybrid` or `--method emulated`".to_string())
            }
            Error::MissingDependency { diagnosis, step } => Some(match step.hint() {
                Some(log) => format!("{}; {log}", diagnosis.hint()),
                None => diagnosis.hint(),
            }),
            Error::ConfiguredWithout { without, step } => Some(match step.hint() {
                Some(log) => format!("{}; {log}", without.hint()),
                None => without.hint(),
            }),
            Error::StepFailed { log: Some(log), .. } => Some(format!(
                "the build's output is in `{}` (`-q` kept it off the terminal)",
                log.display()
            )),
            Error::BuildDirBusy { .. } => Some(
                "leave out `--no-wait` to wait for it, or build into another directory with \
                 `--build-dir DIR`"
                    .to_string(),
            ),
            Error::StepFailed { log: None, .. }
            | Error::Interrupted { .. }
            | Error::Spawn { .. }
            | Error::Io { .. }
            | Error::NoRustTarget { .. } => None,
        }
    }

    /// The process exit code the CLI should end with: the build's own code for a failed step,
    /// 1 (a user or input error) otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::StepFailed {
                code: Some(code), ..
            } => u8::try_from(*code)
                .ok()
                .filter(|code| *code != 0)
                .unwrap_or(1),
            // A signal: the shell convention would be 128 + signal; 2 marks it unexpected.
            Error::StepFailed { code: None, .. } => 2,
            Error::Interrupted { signal, .. } => u8::try_from(128 + signal).unwrap_or(2),
            Error::Spawn { .. } | Error::Io { .. } => 2,
            Error::MissingDependency { step, .. }
            | Error::ConfiguredWithout { step, .. }
            | Error::SourceReadOnly { step, .. }
            | Error::MissingCompiler { step, .. }
            | Error::RustTooOld { step, .. }
            | Error::NeedsNightlyRust { step, .. } => step.exit_code(),
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crate_needing_nightly_gets_the_rustup_command_for_its_target() {
        let step = || {
            Box::new(Error::StepFailed {
                step: crate::steps::StepKind::Build,
                command: "cargo build".to_string(),
                code: Some(101),
                log: None,
                transcript: None,
                transcript_start: 0,
            })
        };
        let nightly = || {
            Box::new(crate::msrv::NightlyOnly {
                line: "error[E0554]: `#![feature]` may not be used on the stable release channel"
                    .to_string(),
                krate: None,
            })
        };
        let unpinned = Error::NeedsNightlyRust {
            nightly: nightly(),
            pinned: None,
            rust_target: Some("riscv64gc-unknown-linux-gnu".to_string()),
            step: step(),
        };
        assert!(unpinned
            .to_string()
            .contains("\n  the project uses unstable Rust features"));
        assert_eq!(unpinned.exit_code(), 101);
        let hint = unpinned.hint().expect("a hint");
        assert!(
            hint.contains(
                "`rustup toolchain install nightly --target riscv64gc-unknown-linux-gnu`"
            ) && hint.contains("`RUSTUP_TOOLCHAIN=nightly`"),
            "{hint}"
        );
        let dated = Error::NeedsNightlyRust {
            nightly: nightly(),
            pinned: Some(crate::rust_needs::PinnedToolchain {
                channel: "nightly-2025-01-01".to_string(),
                file: "rust-toolchain",
            }),
            rust_target: None,
            step: step(),
        };
        let hint = dated.hint().expect("a hint");
        assert!(
            hint.contains("`rustup toolchain install nightly-2025-01-01`")
                && hint.contains("the project's toolchain file picks nightly-2025-01-01"),
            "{hint}"
        );
    }

    #[test]
    fn a_failed_steps_output_is_its_own_part_of_the_transcript() {
        let dir = tempfile::tempdir().expect("temp dir");
        let transcript = dir.path().join("build.log");
        std::fs::write(&transcript, "configure: ok\nld: cannot find -lz\n").expect("write");
        let failed = |transcript: std::path::PathBuf| Error::StepFailed {
            step: crate::steps::StepKind::Build,
            command: "make".to_string(),
            code: Some(2),
            log: None,
            transcript: Some(transcript),
            transcript_start: "configure: ok\n".len() as u64,
        };
        assert_eq!(
            failed(transcript).failed_step_output().as_deref(),
            Some("ld: cannot find -lz\n")
        );
        assert_eq!(
            failed(dir.path().join("absent.log")).failed_step_output(),
            None
        );
        let interrupted = Error::Interrupted {
            signal: 2,
            command: "make".to_string(),
        };
        assert_eq!(interrupted.failed_step_output(), None);
    }

    #[test]
    fn autoreconf_missing_says_where_and_how_to_install_it() {
        let host = Error::AutoreconfMissing {
            in_root_filesystem: false,
        };
        assert!(host.to_string().contains("on the host"), "{host}");
        assert_eq!(
            host.hint().as_deref(),
            Some("run `apt-get install autoconf automake libtool autopoint gettext` as root")
        );
        let root_filesystem = Error::AutoreconfMissing {
            in_root_filesystem: true,
        };
        assert!(
            root_filesystem
                .to_string()
                .contains("in the root filesystem"),
            "{root_filesystem}"
        );
        assert!(root_filesystem.hint().is_some_and(
            |hint| hint.contains("`--packages autoconf,automake,libtool,autopoint,gettext`")
        ));
    }
}
