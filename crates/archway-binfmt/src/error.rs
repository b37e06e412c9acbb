//! The binfmt crate's error.

use std::path::PathBuf;

/// A registration line that breaks one of the kernel's rules (`fs/binfmt_misc.c`,
/// `create_entry`), with the 1-based column where the problem starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {rule}")]
pub struct LineError {
    /// 1-based byte column in the line.
    pub column: usize,
    /// The rule the line breaks, in words.
    pub rule: String,
}

impl LineError {
    pub(crate) fn new(column: usize, rule: impl Into<String>) -> LineError {
        LineError {
            column,
            rule: rule.into(),
        }
    }
}

/// Everything that can go wrong reading, writing or planning binfmt_misc registrations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A registration line (from a file, the command line or an export) is invalid.
    #[error("invalid binfmt_misc registration line `{line}`")]
    InvalidLine {
        line: String,
        #[source]
        source: LineError,
    },
    /// An entry file under the binfmt_misc root could not be understood.
    #[error("cannot understand binfmt_misc entry file `{path}`: {reason}")]
    InvalidEntryFile { path: PathBuf, reason: String },
    /// An entry name the kernel would refuse.
    #[error("invalid binfmt_misc entry name `{name}`: {reason}")]
    InvalidName { name: String, reason: String },
    /// binfmt_misc is not mounted at the root.
    #[error("binfmt_misc is not mounted at `{root}`")]
    NotMounted { root: PathBuf },
    /// The kernel has no binfmt_misc support (mount said ENODEV).
    #[error("this kernel has no binfmt_misc support")]
    NoKernelSupport {
        #[source]
        source: std::io::Error,
    },
    /// Writing the kernel's files needs root (EACCES / EPERM).
    #[error("permission denied: {operation} needs root")]
    PermissionDenied {
        operation: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No entry of that name is registered.
    #[error("no binfmt_misc entry named `{name}`")]
    NoSuchEntry { name: String },
    /// The architecture has no QEMU linux-user emulator.
    #[error("no QEMU user-mode emulator for `{name}`")]
    UnknownTarget {
        name: String,
        /// QEMU targets that do exist.
        supported: Vec<String>,
    },
    /// The kernel refused a registration.
    #[error("the kernel refused registration `{line}`")]
    Rejected {
        line: String,
        #[source]
        source: std::io::Error,
    },
    /// Any other I/O failure, with the path involved.
    #[error("{operation} `{path}`")]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The `hint:` line for the user, with the command that fixes it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::InvalidLine { .. } => Some(
                "the format is `:name:type:offset:magic:mask:interpreter:flags` \
                 (see https://docs.kernel.org/admin-guide/binfmt-misc.html)"
                    .to_string(),
            ),
            Error::NotMounted { root } => Some(format!(
                "mount it: `sudo mount -t binfmt_misc binfmt_misc {}`",
                root.display()
            )),
            Error::NoKernelSupport { .. } => Some(
                "load the module: `sudo modprobe binfmt_misc` (or use a kernel built with CONFIG_BINFMT_MISC)"
                    .to_string(),
            ),
            Error::PermissionDenied { .. } => {
                Some("run the same command as root, with `sudo`".to_string())
            }
            Error::NoSuchEntry { .. } => {
                Some("`archway binfmt status` lists the registered entries".to_string())
            }
            Error::UnknownTarget { supported, .. } => Some(format!(
                "QEMU emulates: {}",
                supported.join(", ")
            )),
            Error::Rejected { .. } => Some(
                "`archway binfmt status` shows what is registered; `dmesg` may say more".to_string(),
            ),
            Error::InvalidName { .. } | Error::InvalidEntryFile { .. } | Error::Io { .. } => None,
        }
    }

    /// Wraps an I/O error, turning EACCES/EPERM into [`Error::PermissionDenied`].
    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Error {
        let path = path.into();
        if is_permission(&source) {
            return Error::PermissionDenied {
                operation: format!("{operation} `{}`", path.display()),
                path,
                source,
            };
        }
        Error::Io {
            operation,
            path,
            source,
        }
    }

    /// True for [`Error::PermissionDenied`] (callers add the `sudo` command line).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Error::PermissionDenied { .. })
    }
}

pub(crate) fn is_permission(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::PermissionDenied
        || error.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error())
}
