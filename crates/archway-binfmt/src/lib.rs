//! binfmt_misc registrations for QEMU user-mode emulators: the kernel's registration format,
//! QEMU's magic table, the binfmt_misc filesystem, and installing/removing emulators safely.
//!
//! - [`Registration`] parses and renders `:name:type:offset:magic:mask:interpreter:flags` with
//!   the kernel's rules ([`entry`]); errors give the column and the rule.
//! - [`magic`] is QEMU's table (`qemu-binfmt-conf.sh`), one [`magic::QemuTarget`] per emulator;
//!   [`runtime`] the entries of Wine (`MZ`) and the WASI runtime (`\0asm`).
//! - [`BinfmtFs`] reads and writes the filesystem at an injected root; [`handler`] applies the
//!   kernel's matching order to tell who runs a file.
//! - [`Registry`] installs, removes, enables and disables entries and keeps archway's
//!   ownership record; [`export`] writes systemd, Debian, NixOS and raw formats.
//!
//! ```
//! use archway_binfmt::{magic, EntryName, Flags, Registration};
//!
//! let target = magic::for_qemu("riscv64").unwrap();
//! let flags = Flags { fix_binary: true, ..Flags::default() };
//! let name = EntryName::new("qemu-riscv64").unwrap();
//! let registration = target.registration(name, "/usr/bin/qemu-riscv64-static", flags).unwrap();
//! let line = registration.render();
//! assert!(line.starts_with(":qemu-riscv64:M::\\x7f\\x45\\x4c\\x46\\x02\\x01"));
//! assert_eq!(Registration::parse(&line).unwrap(), registration);
//!
//! // A riscv64 ELF header is recognised by that rule.
//! let mut header = target.magic().to_vec();
//! header.resize(64, 0);
//! assert!(registration.rule().matches(&header, None));
//! ```

pub mod entry;
mod error;
pub mod export;
mod fs;
pub mod handler;
pub mod interpreter;
pub mod magic;
mod registry;
pub mod runtime;
#[doc(hidden)]
pub mod testing;

pub use entry::{EntryName, Flags, Registration, Rule};
pub use error::{Error, LineError};
pub use fs::{BinfmtFs, Entry, Status, SYSTEM_ROOT};
pub use handler::Handler;
pub use registry::{
    FlagRequest, InstallOptions, InstallOutcome, Owner, Registry, Warning, SYSTEM_PERSIST_DIR,
    SYSTEM_RECORDS,
};
