//! Which kind of emulator runs a platform's programs on a Linux host, as nixpkgs'
//! `emulator` (`lib/systems/default.nix`) and NixOS's `boot.binfmt.emulatedSystems`
//! (`nixos/modules/system/boot/binfmt.nix`) choose it: QEMU user mode for Linux programs,
//! Wine for Windows programs, a WASI runtime (nixpkgs: wasmtime) for WASI modules.
//!
//! ```
//! use archway_platform::{emulator::Emulator, Platform};
//!
//! let windows = Platform::parse("mingwW64").unwrap();
//! assert_eq!(Emulator::for_platform(&windows), Some(Emulator::Wine { bits: 64 }));
//! assert_eq!(Emulator::for_platform(&windows).unwrap().name(), "wine64");
//! let arm64 = Platform::parse("aarch64-linux").unwrap();
//! assert_eq!(Emulator::for_platform(&arm64).unwrap().name(), "qemu-aarch64");
//! ```

use crate::{Cpu, Kernel, Platform};

/// The kind of program that runs a platform's executables on this (Linux) host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Emulator {
    /// QEMU user mode, `qemu-<name>` ([`Platform::qemu_user`]).
    Qemu { name: &'static str },
    /// Wine, for x86 Windows programs: Debian's `wine64` for 64-bit ones; 32-bit ones need
    /// `wine32:i386` (Wine 8 in Debian bookworm has no 32-bit support inside `wine64`).
    Wine { bits: u32 },
    /// A WASI preview 1 runtime for `wasm32` modules: wasmtime (nixpkgs' choice) or Node.js's
    /// `node:wasi`.
    Wasi,
}

impl Emulator {
    /// nixpkgs' `emulator` for `target`, where it is one that runs on Linux: `None` for
    /// platforms no user-mode emulator runs (Darwin, bare metal, Windows on ARM: Wine runs
    /// programs of its own CPU only).
    pub fn for_platform(target: &Platform) -> Option<Emulator> {
        match (target.kernel(), target.cpu()) {
            (Kernel::Linux, _) => target.qemu_user().map(|name| Emulator::Qemu { name }),
            (Kernel::Windows, Cpu::X86_64) => Some(Emulator::Wine { bits: 64 }),
            (Kernel::Windows, Cpu::I386 | Cpu::I486 | Cpu::I586 | Cpu::I686) => {
                Some(Emulator::Wine { bits: 32 })
            }
            // wasi-libc's wasm64 port is not finished and no runtime archway knows runs it.
            (Kernel::Wasi, Cpu::Wasm32) => Some(Emulator::Wasi),
            _ => None,
        }
    }

    /// The name people know it by: `qemu-aarch64`, `wine64` (Debian's package and nixpkgs'
    /// `wine64` binary), `wine` for 32-bit programs, `wasmtime` for the WASI runtime.
    pub fn name(&self) -> String {
        match self {
            Emulator::Qemu { name } => format!("qemu-{name}"),
            Emulator::Wine { bits: 64 } => "wine64".to_string(),
            Emulator::Wine { .. } => "wine".to_string(),
            Emulator::Wasi => "wasmtime".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platform_gets_the_emulator_nixpkgs_gives_it() {
        let cases = [
            ("aarch64-linux", Some("qemu-aarch64")),
            ("riscv64", Some("qemu-riscv64")),
            ("mingwW64", Some("wine64")),
            ("ucrt64", Some("wine64")),
            ("mingw32", Some("wine")),
            ("wasi32", Some("wasmtime")),
            ("wasm32-wasi", Some("wasmtime")),
            ("aarch64-darwin", None),
            ("aarch64-w64-mingw32", None),
            ("arm-embedded", None),
        ];
        for (name, expected) in cases {
            let platform = Platform::parse(name).expect(name);
            assert_eq!(
                Emulator::for_platform(&platform)
                    .map(|emulator| emulator.name())
                    .as_deref(),
                expected,
                "{name}"
            );
        }
    }
}
