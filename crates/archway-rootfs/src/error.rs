//! The rootfs crate's error.

use std::path::PathBuf;

use crate::{Architecture, Suite};

/// Everything that can go wrong creating, finding or using a root filesystem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A suite or package name that is not one (from [`archway_platform::debian_names`]).
    #[error(transparent)]
    DebianName(#[from] archway_platform::Error),

    #[error("unknown Debian architecture `{input}`")]
    UnknownArchitecture { input: String },

    #[error("Debian has no architecture for `{platform}`, so there is no root filesystem for it")]
    UnsupportedPlatform { platform: String },

    #[error("Debian `{suite}` has no `{architecture}` architecture")]
    SuiteLacksArchitecture {
        architecture: Architecture,
        suite: Suite,
    },

    #[error("`{tool}` is not installed")]
    ToolMissing {
        tool: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
    },

    #[error("cannot {action} `{}`", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the metadata of the root filesystem at `{}` is unreadable", path.display())]
    Metadata {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("creating the `{key}` root filesystem failed ({status})\n{log_tail}")]
    Bootstrap {
        key: String,
        status: String,
        /// The last lines of the tool's output, where the reason usually is.
        log_tail: String,
    },

    #[error(
        "installing `{packages}` into the `{key}` root filesystem failed ({status})\n{log_tail}"
    )]
    Install {
        key: String,
        packages: String,
        status: String,
        log_tail: String,
    },

    #[error("no space left on `{}` (the cache `{}`)\ncaused by: {cause}", filesystem.display(), cache.display())]
    DiskFull {
        /// The mount point of the full file system.
        filesystem: PathBuf,
        /// `<cache>/rootfs`.
        cache: PathBuf,
        /// The failure as it was reported (a write's error or the tool's last lines).
        cause: String,
    },

    #[error("no `{key}` root filesystem in the cache")]
    NotFound {
        key: String,
        /// The arguments of `archway rootfs create` that make it.
        create_args: String,
    },

    #[error("`{}` cannot be bound into the sandbox: {reason}", path.display())]
    UnsupportedBindPath { path: PathBuf, reason: &'static str },

    /// The sandbox's user namespace could not be made (`unshare --user` as the sandbox id).
    #[error("cannot make the sandbox's user namespace: {reason}")]
    UserNamespace { reason: String },

    #[error(
        "`{architecture}` is the host's own architecture: the hybrid method has nothing to emulate"
    )]
    HybridNotNeeded { architecture: Architecture },

    #[error("Debian `{suite}` has no amd64 cross compiler for `{architecture}` (no package `{package}`)")]
    NoCrossCompiler {
        architecture: Architecture,
        suite: Suite,
        package: String,
    },

    #[error("the native prefix `{prefix}` does not serve the `{rootfs}` root filesystem")]
    PrefixMismatch { prefix: String, rootfs: String },

    #[error("making the hybrid view `{view}` failed: {step} ({status})\n{output}")]
    HybridView {
        view: String,
        step: &'static str,
        status: String,
        output: String,
        /// The architecture whose programs the step ran (for the binfmt hint).
        architecture: Architecture,
    },
}

impl Error {
    /// The `hint:` line for the user, with the command that fixes it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::DebianName(error) => error.hint(),
            Error::UnknownArchitecture { .. } => Some(format!(
                "use one of {}",
                Architecture::ALL
                    .iter()
                    .map(|architecture| format!("`{architecture}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Error::UnsupportedPlatform { .. } => Some(
                "use `--method cross` for this target (`archway toolchain list` shows toolchains)"
                    .to_string(),
            ),
            Error::SuiteLacksArchitecture { architecture, .. } => Some(format!(
                "use `--suite {}`",
                architecture.default_suite()
            )),
            Error::ToolMissing { package, .. } => {
                Some(format!("run `apt-get install {package}` as root"))
            }
            Error::Bootstrap { .. } | Error::Install { .. } => Some(
                "the lines above are the tool's last output; running the same command again retries from scratch"
                    .to_string(),
            ),
            Error::DiskFull { filesystem, .. } => Some(format!(
                "free space on `{}` (`archway rootfs list` shows what the cache holds, `archway rootfs remove` deletes), or set `ARCHWAY_CACHE_DIR` to a directory on a larger file system; nothing incomplete was kept",
                filesystem.display()
            )),
            Error::NotFound { create_args, .. } => {
                Some(format!("run `archway rootfs create {create_args}`"))
            }
            Error::HybridNotNeeded { .. } => {
                Some("build natively: `--method native`".to_string())
            }
            Error::NoCrossCompiler { architecture, .. } => Some(format!(
                "use `--method emulated` for `{architecture}` (`apt-cache search gcc-` lists Debian's cross compilers)"
            )),
            Error::HybridView { architecture, .. } => Some(format!(
                "the target's programs run through binfmt_misc: run `archway binfmt install {}` as root, then retry",
                architecture.qemu_user()
            )),
            Error::UserNamespace { .. } => Some(
                "check that user namespaces are allowed (`unshare --user true` as an ordinary \
                 user; `sysctl user.max_user_namespaces kernel.unprivileged_userns_clone`)"
                    .to_string(),
            ),
            Error::Io { .. }
            | Error::Metadata { .. }
            | Error::UnsupportedBindPath { .. }
            | Error::PrefixMismatch { .. } => None,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}
