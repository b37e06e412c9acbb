//! The seam between the local store and a shared store behind it.
//!
//! The local store asks its upstream for an entry it lacks (read-through) and offers it every
//! entry it inserts (write-back). An upstream that cannot be reached or that holds an entry that
//! is not signed by a trusted key answers with an error; the local store then builds, warns, and
//! goes on: a shared store may slow a build down by its timeout, never fail it.

use std::path::{Path, PathBuf};

/// What [`Upstream::pull`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    /// The entry was found, its signature checked against a trusted key, and unpacked into the
    /// directory given to `pull` (which did not exist before and now holds the entry's files).
    Restored {
        /// Who signed it (the key's name, as in `name:base64`).
        signer: String,
        /// Bytes downloaded.
        bytes: u64,
    },
    /// The shared store has no entry of that name.
    Absent,
}

/// Why an upstream could not serve or take an entry.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The store did not answer in time, or refused the connection or the credentials.
    #[error("the shared cache `{url}` is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    /// The entry is unsigned, badly signed, tampered with, or signed by a key nobody trusts.
    #[error("refused the shared cache entry `{name}`: {reason}")]
    Untrusted { name: String, reason: String },
    /// A local file could not be read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl UpstreamError {
    /// The command that fixes it, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            UpstreamError::Unreachable { .. } => Some(
                "check `[cache] url` and the AWS_* credentials, or build without it: `archway build --no-cache`"
                    .to_string(),
            ),
            UpstreamError::Untrusted { .. } => Some(
                "add the signer's public key to `[cache] trusted-keys` if you trust it (`archway cache keygen` prints one)"
                    .to_string(),
            ),
            UpstreamError::Io { .. } => None,
        }
    }
}

/// A shared store behind the local one.
///
/// `name` is an entry's name in the store: its kind and key (`build-<hex>`, `rootfs-<hex>`),
/// made only of `[a-z0-9-]`, so it is safe as an object name and as a file name.
pub trait Upstream: Send + Sync + std::fmt::Debug {
    /// Downloads, verifies and unpacks the entry `name` into `into` (a directory that does not
    /// exist yet; on error nothing is left there).
    fn pull(&self, name: &str, into: &Path) -> Result<Pulled, UpstreamError>;

    /// Packs, signs and uploads the directory `from` as the entry `name`. Does nothing (Ok) when
    /// no signing key is configured: unsigned entries are never pushed.
    fn push(&self, name: &str, from: &Path) -> Result<(), UpstreamError>;
}

/// One shared store serves several local stores of a command (builds, root filesystems):
/// opened once, its warnings said once.
impl<T: Upstream + ?Sized> Upstream for std::sync::Arc<T> {
    fn pull(&self, name: &str, into: &Path) -> Result<Pulled, UpstreamError> {
        (**self).pull(name, into)
    }

    fn push(&self, name: &str, from: &Path) -> Result<(), UpstreamError> {
        (**self).push(name, from)
    }
}
