//! Platforms: every way a user names a target, elaborated into one [`Platform`].
//!
//! This crate is pure (no I/O) except for [`host`], which probes the running machine.
//!
//! The contract other crates rely on (keep it stable; extend, don't rename):
//! - [`Platform::parse`] accepts catalog names (`aarch64-multiplatform`), short aliases
//!   (`arm64`), Nix doubles (`aarch64-linux`), GNU config triples, Rust triples and OCI
//!   platforms (`linux/arm64`), and never panics.
//! - The accessors on [`Platform`] give the names neighbouring tools use (`debian_arch`,
//!   `multiarch`, `qemu_user`, `rust_target`, ...); `None` where that tool has no name for it.
//! - [`Platform::can_execute`] is nixpkgs' `canExecute`.
//!
//! ```
//! let p = archway_platform::Platform::parse("linux/arm64").unwrap();
//! assert_eq!(p.config(), "aarch64-unknown-linux-gnu");
//! assert_eq!(p.debian_arch(), Some("arm64"));
//! assert_eq!(p.qemu_user(), Some("aarch64"));
//! ```

mod error;
pub mod host;
mod platform;
pub mod progress;

pub use error::Error;
pub use platform::{Abi, Cpu, Endian, Kernel, Libc, Platform, Vendor};
pub use progress::{NoProgress, Reporter};
