//! Test support: a QEMU binfmt_misc entry a test registers for itself and removes when done.
//!
//! Tests never assume they own the machine, nor that the machine has what they need: Debian's
//! `qemu-*` entries may be live, disabled or absent (a CI runner without binfmt-support has
//! none). So a test that runs foreign binaries registers its own entry, under a name unique to
//! the process and the call, with the `F` flag (the kernel opens the interpreter at
//! registration, so it need not exist inside a root filesystem: fs/binfmt_misc.c,
//! `MISC_FMT_OPEN_FILE`). binfmt_misc adds entries at the head of its list, so the newest entry
//! is matched first and serves the test whatever else is registered. The entry is removed on
//! drop, even when the test fails.
//!
//! Not part of archway's interface (hidden from the docs): it is for tests, which run as root.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{magic, BinfmtFs, EntryName, Flags};

/// A registered entry; dropping it removes it from the kernel.
#[derive(Debug)]
pub struct TemporaryEntry {
    name: String,
    interpreter: PathBuf,
}

impl TemporaryEntry {
    /// Registers QEMU's entry for `qemu` (QEMU's name: `aarch64`, `riscv64`, `arm`, …) as
    /// `archway-tmp-test-{label}-{qemu}-{pid}-{serial}`, mounting binfmt_misc first if needed.
    /// The `archway-tmp-` prefix is archway's mark of a temporary entry, which no other archway
    /// process relies on (it goes away when its test ends: `archway::emulation`).
    ///
    /// # Errors
    /// Why it could not: no such QEMU target, no interpreter on `PATH` (qemu-user-static),
    /// binfmt_misc not mountable or the registration refused (not root).
    pub fn register(qemu: &str, label: &str) -> Result<TemporaryEntry, String> {
        static SERIAL: AtomicU32 = AtomicU32::new(0);
        let binfmt = BinfmtFs::system();
        binfmt
            .mount()
            .map_err(|error| format!("mounting binfmt_misc: {error}"))?;
        let target =
            magic::for_qemu(qemu).ok_or_else(|| format!("QEMU has no user-mode `{qemu}`"))?;
        let (interpreter, tried) =
            crate::interpreter::find(qemu, &crate::interpreter::path_directories());
        let interpreter = interpreter.ok_or_else(|| {
            format!("no qemu-{qemu} interpreter (qemu-user-static); tried {tried:?}")
        })?;
        let serial = SERIAL.fetch_add(1, Ordering::SeqCst);
        let name = format!(
            "archway-tmp-test-{label}-{qemu}-{}-{serial}",
            std::process::id()
        );
        let flags = Flags {
            fix_binary: true,
            ..Flags::default()
        };
        let entry = EntryName::new(name.clone()).map_err(|error| error.to_string())?;
        let registration = target
            .registration(entry, interpreter.clone(), flags)
            .map_err(|error| error.to_string())?;
        binfmt
            .register(&registration)
            .map_err(|error| format!("registering `{name}`: {error}"))?;
        Ok(TemporaryEntry { name, interpreter })
    }

    /// The entry's name under /proc/sys/fs/binfmt_misc.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The QEMU binary the entry runs (opened by the kernel at registration).
    pub fn interpreter(&self) -> &std::path::Path {
        &self.interpreter
    }
}

impl Drop for TemporaryEntry {
    fn drop(&mut self) {
        if let Err(error) = BinfmtFs::system().remove(&self.name) {
            eprintln!(
                "could not remove the test's binfmt entry `{}`: {error}",
                self.name
            );
        }
    }
}
