//! Which handler the kernel picks for a file: the matching rules and their order.
//!
//! The order, from the kernel's sources:
//! 1. binfmt_misc, when its global switch is on: `init_misc_binfmt` uses `insert_binfmt`, which
//!    puts it at the head of the exec handler list, ahead of ELF and `#!` scripts. Within it,
//!    `search_binfmt_handler` walks the entries from the newest registration to the oldest
//!    (`bm_register_write` adds with `list_add`, at the head), skips disabled ones, and the first
//!    match wins ("Later added entries are matched first!", binfmt-misc.rst).
//! 2. the native ELF loader (and the 32-bit compat one) for the host's own binaries;
//! 3. `#!` scripts (binfmt_script).
//! 4. nothing: `execve` fails with `ENOEXEC`.
//!
//! Registration order is not readable from the filesystem. [`crate::BinfmtFs::entries`] returns
//! directory order, which libfs fills newest first and so equals registration order except for
//! names that were looked up before they were registered. When two enabled entries match the
//! same file, [`Handler::Entry`] names the others in `also_matching` so callers can say the
//! choice between them rests on that approximation.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::entry::{EntryName, BINPRM_BUF_SIZE};
use crate::fs::{BinfmtFs, Entry, Status};
use crate::magic::QemuTarget;

/// Who runs a file when it is `exec`ed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "handler")]
pub enum Handler {
    /// A binfmt_misc entry.
    Entry {
        name: EntryName,
        interpreter: PathBuf,
        /// Other enabled entries that match too (registered earlier, as far as the directory
        /// order tells).
        also_matching: Vec<EntryName>,
    },
    /// The host's own ELF loader.
    Native,
    /// A `#!` script: the named interpreter runs it.
    Script { interpreter: String },
    /// Nothing: `execve` fails with `ENOEXEC`.
    None,
}

/// Applies the kernel's order to `entries` (in directory order, newest first).
/// `native` are the QEMU targets whose binaries the host runs itself.
pub fn handler_for(
    entries: &[Entry],
    status: Status,
    native: &[&QemuTarget],
    header: &[u8],
    path: &Path,
) -> Handler {
    let header = &header[..header.len().min(BINPRM_BUF_SIZE)];
    let file_name = path.file_name().map(|name| name.as_encoded_bytes());
    if status == Status::Enabled {
        let mut matching = entries
            .iter()
            .filter(|entry| entry.enabled && entry.registration.rule().matches(header, file_name));
        if let Some(first) = matching.next() {
            return Handler::Entry {
                name: first.name().clone(),
                interpreter: first.registration.interpreter().to_path_buf(),
                also_matching: matching.map(|entry| entry.name().clone()).collect(),
            };
        }
    }
    if native
        .iter()
        .any(|target| target.rule().matches(header, None))
    {
        return Handler::Native;
    }
    if let Some(script) = header.strip_prefix(b"#!") {
        let line = script.split(|&b| b == b'\n').next().unwrap_or_default();
        let interpreter = String::from_utf8_lossy(line).trim().to_string();
        return Handler::Script { interpreter };
    }
    Handler::None
}

impl BinfmtFs {
    /// [`handler_for`] with this filesystem's entries and switch (binfmt_misc counts as off
    /// when it is not mounted).
    pub fn handler_for(
        &self,
        native: &[&QemuTarget],
        header: &[u8],
        path: &Path,
    ) -> Result<Handler, crate::Error> {
        if !self.is_mounted() {
            return Ok(handler_for(&[], Status::Disabled, native, header, path));
        }
        let entries = self.entries()?;
        let status = self.status()?;
        Ok(handler_for(&entries, status, native, header, path))
    }
}

/// The QEMU targets of the host's family: what it runs natively by QEMU's reckoning.
pub fn native_targets(host_family: &str) -> Vec<&'static QemuTarget> {
    crate::magic::all()
        .iter()
        .filter(|target| target.family() == host_family)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Flags, Registration};
    use crate::magic::for_qemu;

    fn entry(name: &str, target: &str, enabled: bool) -> Entry {
        let target = for_qemu(target).expect("target");
        Entry {
            enabled,
            registration: target
                .registration(
                    EntryName::new(name).expect("name"),
                    format!("/q/{name}"),
                    Flags::default(),
                )
                .expect("valid"),
        }
    }

    fn header(target: &str) -> Vec<u8> {
        let mut header = for_qemu(target).expect("target").magic().to_vec();
        header.resize(64, 0);
        header
    }

    #[test]
    fn first_enabled_entry_in_directory_order_wins() {
        let entries = vec![
            entry("newest", "aarch64", false),
            entry("middle", "aarch64", true),
            entry("oldest", "aarch64", true),
            entry("other", "riscv64", true),
        ];
        let native = native_targets("i386");
        let handler = handler_for(
            &entries,
            Status::Enabled,
            &native,
            &header("aarch64"),
            Path::new("/x"),
        );
        assert_eq!(
            handler,
            Handler::Entry {
                name: EntryName::new("middle").expect("name"),
                interpreter: PathBuf::from("/q/middle"),
                also_matching: vec![EntryName::new("oldest").expect("name")],
            }
        );
    }

    #[test]
    fn binfmt_misc_comes_before_the_native_loader() {
        let entries = vec![entry("x86", "x86_64", true)];
        let native = native_targets("i386");
        let handler = handler_for(
            &entries,
            Status::Enabled,
            &native,
            &header("x86_64"),
            Path::new("/x"),
        );
        assert!(matches!(handler, Handler::Entry { .. }));
        let handler = handler_for(
            &entries,
            Status::Disabled,
            &native,
            &header("x86_64"),
            Path::new("/x"),
        );
        assert_eq!(handler, Handler::Native);
    }

    #[test]
    fn nothing_handles_foreign_elf_without_entries() {
        let native = native_targets("i386");
        let handler = handler_for(
            &[],
            Status::Enabled,
            &native,
            &header("s390x"),
            Path::new("/x"),
        );
        assert_eq!(handler, Handler::None);
    }

    #[test]
    fn scripts_name_their_interpreter() {
        let native = native_targets("i386");
        let handler = handler_for(
            &[],
            Status::Enabled,
            &native,
            b"#!/bin/sh -e\necho\n",
            Path::new("/x"),
        );
        assert_eq!(
            handler,
            Handler::Script {
                interpreter: "/bin/sh -e".into()
            }
        );
    }

    #[test]
    fn extension_entries_match_the_file_name() {
        let wine = Entry {
            enabled: true,
            registration: Registration::parse(":wine:E::exe::/usr/bin/wine:").expect("valid"),
        };
        let native = native_targets("i386");
        let handler = handler_for(
            &[wine],
            Status::Enabled,
            &native,
            b"MZ",
            Path::new("/tmp/setup.exe"),
        );
        assert!(matches!(handler, Handler::Entry { .. }));
    }
}
