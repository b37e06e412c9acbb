//! Platforms: every way a user names a target, elaborated into one [`Platform`].
//!
//! This crate is pure (no I/O) except for [`host`], which probes the running machine,
//! [`artifacts`], which reads the binaries it is given, and the hidden `testing` module that
//! the workspace's tests share.
//!
//! The contract other crates rely on (keep it stable; extend, don't rename):
//! - [`Platform::parse`] accepts catalog names (`aarch64-multiplatform`), short aliases
//!   (`arm64`), Nix doubles (`aarch64-linux`), GNU config triples, Rust triples and OCI
//!   platforms (`linux/arm64`), and never panics.
//! - The accessors on [`Platform`] give the names neighbouring tools use (`debian_arch`,
//!   `multiarch`, `qemu_user`, `rust_target`, ...); `None` where that tool has no name for it.
//! - [`Platform::can_execute`] is nixpkgs' `canExecute`.
//! - [`identify`] tells which platform a binary (ELF, PE, Mach-O, WebAssembly) is for.
//! - [`requirements`] reads what CPU a binary needs (ARM attributes, the RISC-V ISA string,
//!   x86 ISA levels, MIPS ISA flags), [`capability`] compares it with a platform's CPU,
//!   [`baseline`] knows each Debian architecture's CPU baseline and refuses platforms below
//!   it, and [`artifacts`] reads files boundedly and checks a build's artifacts.
//! - [`debian_names`]: Debian suites and package names, validated once for the crates that
//!   talk to Debian's archive.
//!
//! ```
//! let p = archway_platform::Platform::parse("linux/arm64").unwrap();
//! assert_eq!(p.config(), "aarch64-unknown-linux-gnu");
//! assert_eq!(p.debian_arch(), Some("arm64"));
//! assert_eq!(p.qemu_user(), Some("aarch64"));
//!
//! let pi = archway_platform::Platform::parse("raspberryPi").unwrap();
//! assert_eq!(pi.config(), "armv6l-unknown-linux-gnueabihf");
//! assert_eq!(pi.system(), "armv6l-linux");
//! assert_eq!(pi.rust_target().as_deref(), Some("arm-unknown-linux-gnueabihf"));
//! ```

pub mod artifacts;
pub mod baseline;
mod binary;
pub mod capability;
mod catalog;
mod cpu;
mod debian;
pub mod debian_names;
pub mod emulator;
mod error;
pub mod gcc;
pub mod host;
mod index;
mod oci;
mod platform;
pub mod progress;
pub mod quote;
pub mod requirements;
#[doc(hidden)]
pub mod testing;
mod triple;

pub use artifacts::{check_artifacts, read_binary, CpuCheck, Finding};
pub use baseline::{baseline_conflict, BaselineConflict};
pub use binary::{identify, identify_prefix, Binary, BinaryFormat, BinaryKind, ElfHeader, Linkage};
pub use capability::{CpuCapability, Shortfall};
pub use catalog::{CatalogEntry, CATALOG};
pub use cpu::{Cpu, Endian};
pub use debian::{DebianArch, DEBIAN_ARCHES};
pub use error::Error;
pub use gcc::{GccSettings, QemuCpu};
pub use platform::{ElfExpectation, NameForm, Platform};
pub use progress::{NoProgress, Reporter};
pub use requirements::{Certainty, Requirements};
pub use triple::{Abi, Kernel, Libc, Vendor};
