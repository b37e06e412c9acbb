//! Emulated root filesystems and the sandboxed runner.
//!
//! A [`RootfsKey`] names a Debian system of one architecture: ([`Architecture`], [`Suite`],
//! extra packages). The [`Store`] keeps them under the cache directory, creating each with
//! mmdebstrap in a partial directory that is renamed into place only when complete
//! ([`Store::ensure`]). A [`Sandbox`] runs commands inside one with bubblewrap: the tree
//! read-only, the project read-write at its own path, no network unless asked.
//!
//! Foreign binaries inside run through the kernel's binfmt_misc and QEMU; registering those
//! entries is the binfmt crate's job, deciding whether to is the façade's.
//!
//! ```no_run
//! use archway_rootfs::{Architecture, CreateOptions, RootfsKey, Sandbox, Store, Suite};
//!
//! let store = Store::new("/home/me/.cache/archway".as_ref());
//! let key = RootfsKey::new(Architecture::Arm64, Suite::Bookworm, [])?;
//! let (rootfs, _created) = store.ensure(&key, &CreateOptions::default(), &archway_platform::NoProgress)?;
//! let status = Sandbox::new(rootfs.tree())
//!     .bind("/home/me/project")
//!     .command("make", ["check"])?
//!     .status();
//! # Ok::<(), archway_rootfs::Error>(())
//! ```

mod architecture;
mod bootstrap;
mod error;
mod hybrid;
mod key;
mod manifest;
mod prefix;
mod sandbox;
pub mod seccomp;
mod store;
pub mod tree;
mod verify;

pub use architecture::Architecture;
pub use archway_platform::debian_names::{PackageName, Suite, DEFAULT_MIRROR};
pub use bootstrap::{
    find_program, mmdebstrap_arguments, running_as_root, upstream_name, CreateOptions,
    DeriveStrategy, RootfsUpstream,
};
pub use error::Error;
pub use hybrid::{view_name, HybridMetadata, HybridView, EMULATED_PROGRAMS, NATIVE_PROGRAMS};
pub use key::RootfsKey;
pub use manifest::{FileRecord, Manifest, Package};
pub use prefix::{cross_triple, multiarch, Prefix, PrefixKey, PrefixMetadata};
pub use sandbox::{Identity, Sandbox, SANDBOX_ID};
pub use store::{InUse, KeyLock, Metadata, Pruned, Rootfs, RootfsInfo, Store};
pub use verify::{EntryKind, Problem, Verification};
