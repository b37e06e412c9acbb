//! binfmt_misc entries for the emulators that are not QEMU: Wine for Windows programs (PE files
//! start with the DOS header's `MZ`) and a WASI runtime for WebAssembly modules (`\0asm`), as
//! NixOS's `boot.binfmt.emulatedSystems` registers them (`nixos/modules/system/boot/binfmt.nix`:
//! magic `MZ` for `x86_64-windows`/`i686-windows` with Wine, `\x00asm` for `wasm32-wasi` with
//! wasmtime, no mask) and Debian's `wine` package does for binfmt-support
//! (`/usr/share/binfmts/wine`: magic `MZ`, interpreter `/usr/bin/wine`).
//!
//! A PE file's CPU is not at a fixed offset (it follows `e_lfanew`), so one `MZ` entry serves
//! 32- and 64-bit programs alike; Debian's `/usr/bin/wine` picks the loader.

use archway_platform::emulator::Emulator;
use archway_platform::Platform;

use crate::entry::{EntryName, Flags, Registration, Rule};
use crate::error::Error;

/// One non-QEMU emulator's binfmt_misc entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeTarget {
    name: &'static str,
    magic: &'static [u8],
    programs: &'static [&'static str],
    install: &'static str,
}

/// Wine for PE files (`MZ`): Debian's entry name and interpreter.
pub const WINE: RuntimeTarget = RuntimeTarget {
    name: "wine",
    magic: b"MZ",
    programs: &["wine"],
    install: "apt-get install wine wine64",
};

/// A WASI runtime for WebAssembly modules (`\0asm`, the binary format's magic, WebAssembly
/// Core Specification 5.5.16), named after NixOS's `wasm32-wasi` entry.
pub const WASI: RuntimeTarget = RuntimeTarget {
    name: "wasm32-wasi",
    magic: b"\0asm",
    programs: &["wasmtime"],
    // Without wasmtime, archway's own runner (Node.js's `node:wasi`) serves.
    install: "apt-get install nodejs",
};

/// Every non-QEMU entry.
pub const TARGETS: &[RuntimeTarget] = &[WINE, WASI];

impl RuntimeTarget {
    /// The entry's name (`wine`, `wasm32-wasi`).
    pub fn name(&self) -> &'static str {
        self.name
    }
    pub fn magic(&self) -> &'static [u8] {
        self.magic
    }
    /// Programs that serve as the interpreter when found on `PATH`, in preference order.
    pub fn programs(&self) -> &'static [&'static str] {
        self.programs
    }
    /// The command that installs an interpreter (as root).
    pub fn install_command(&self) -> &'static str {
        self.install
    }
    /// The magic rule at offset 0, without a mask (NixOS writes none).
    pub fn rule(&self) -> Rule {
        Rule::Magic {
            offset: 0,
            magic: self.magic.to_vec(),
            mask: None,
        }
    }
    /// A registration of this entry under `name` with `interpreter` and `flags`.
    pub fn registration(
        &self,
        name: EntryName,
        interpreter: impl Into<std::path::PathBuf>,
        flags: Flags,
    ) -> Result<Registration, Error> {
        Registration::new(name, self.rule(), interpreter, flags)
    }
    /// Does `rule` handle this kind of file?
    pub fn handled_by(&self, rule: &Rule) -> bool {
        let mut header = self.magic.to_vec();
        header.resize(128, 0);
        rule.matches(&header, None)
    }
}

/// The entry for `platform`'s programs: Wine for x86 Windows, the WASI runtime for wasm32 WASI.
pub fn for_platform(platform: &Platform) -> Option<&'static RuntimeTarget> {
    match Emulator::for_platform(platform)? {
        Emulator::Wine { .. } => Some(&WINE),
        Emulator::Wasi => Some(&WASI),
        Emulator::Qemu { .. } => None,
    }
}

/// The entry called `name` (`wine`, `wasm32-wasi`, or `wasi`).
pub fn for_name(name: &str) -> Option<&'static RuntimeTarget> {
    match name {
        "wasi" => Some(&WASI),
        name => TARGETS.iter().find(|target| target.name == name),
    }
}

/// The entries whose files `rule` handles.
pub fn emulated_by(rule: &Rule) -> Vec<&'static RuntimeTarget> {
    TARGETS
        .iter()
        .filter(|target| target.handled_by(rule))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entries_render_as_nixos_and_debian_write_them() {
        let flags = Flags::default();
        let wine = WINE
            .registration(
                EntryName::new("wine").expect("name"),
                "/usr/bin/wine",
                flags,
            )
            .expect("wine");
        // archway writes every magic byte as `\x..`; the kernel reads NixOS's and Debian's
        // literal `MZ` as the same bytes.
        assert_eq!(wine.render(), ":wine:M::\\x4d\\x5a::/usr/bin/wine:");
        assert_eq!(
            Registration::parse(":wine:M::MZ::/usr/bin/wine:").expect("parse"),
            wine
        );
        let wasi = WASI
            .registration(
                EntryName::new("wasm32-wasi").expect("name"),
                "/usr/bin/wasmtime",
                flags,
            )
            .expect("wasi");
        assert_eq!(
            Registration::parse(":wasm32-wasi:M::\\x00asm::/usr/bin/wasmtime:").expect("parse"),
            wasi
        );
        assert_eq!(Registration::parse(&wasi.render()).expect("parse"), wasi);
    }

    #[test]
    fn each_entry_matches_real_headers_of_its_kind_and_no_elf_file() {
        let pe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff";
        let wasm = b"\0asm\x01\x00\x00\x00";
        let elf = b"\x7fELF\x02\x01\x01\x00";
        assert!(WINE.rule().matches(pe, None));
        assert!(!WINE.rule().matches(wasm, None));
        assert!(WASI.rule().matches(wasm, None));
        assert!(!WASI.rule().matches(pe, None));
        for target in TARGETS {
            assert!(!target.rule().matches(elf, None), "{}", target.name);
            assert_eq!(emulated_by(&target.rule()), vec![target]);
        }
        // QEMU's ELF entries never take these files, and these never take ELF files.
        for qemu in crate::magic::all() {
            assert!(emulated_by(&qemu.rule()).is_empty(), "{}", qemu.name());
            assert!(crate::magic::emulated_by(&WINE.rule()).is_empty());
        }
    }

    #[test]
    fn platforms_map_to_their_entries() {
        let cases = [
            ("mingwW64", Some("wine")),
            ("mingw32", Some("wine")),
            ("ucrt64", Some("wine")),
            ("wasi32", Some("wasm32-wasi")),
            ("aarch64-linux", None),
        ];
        for (name, expected) in cases {
            let platform = Platform::parse(name).expect(name);
            assert_eq!(
                for_platform(&platform).map(RuntimeTarget::name),
                expected,
                "{name}"
            );
        }
        assert_eq!(for_name("wasi"), Some(&WASI));
        assert_eq!(for_name("qemu-aarch64"), None);
    }
}
