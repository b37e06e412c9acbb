//! The elaborated [`Platform`] and its parts.
//!
//! SKELETON: the types and signatures below are the contract the other crates code against.
//! The platform crate's owner fills in variants and bodies (and may add accessors).

use serde::Serialize;

use crate::Error;

/// Byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Endian {
    Little,
    Big,
}

/// The CPU of a platform (nixpkgs' `parsed.cpu`), e.g. `aarch64`, `armv7l`, `riscv64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Cpu {
    X86_64,
    I686,
    Aarch64,
    Aarch64Be,
    Armv7l,
    Riscv64,
    S390x,
    Powerpc64le,
}

impl Cpu {
    /// The name nixpkgs and GNU configs use (`aarch64`, `armv7l`, `powerpc64le`).
    pub fn name(self) -> &'static str {
        unimplemented!("skeleton")
    }
    /// The family (`arm`, `x86`, `riscv`, `power`, `mips`, ...).
    pub fn family(self) -> &'static str {
        unimplemented!("skeleton")
    }
    /// 8, 16, 32 or 64.
    pub fn bits(self) -> u32 {
        unimplemented!("skeleton")
    }
    pub fn endian(self) -> Endian {
        unimplemented!("skeleton")
    }
}

/// The vendor part of a triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Vendor {
    Unknown,
    Pc,
    Apple,
    W64,
}

/// The kernel / operating system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Kernel {
    Linux,
    Windows,
    Darwin,
    /// Bare metal (`-none-elf`, `avr`).
    None,
}

/// The ABI part (`gnu`, `gnueabihf`, `musl`, `gnuabi64`, `eabi`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Abi {
    Gnu,
    Gnueabihf,
    Musl,
    Unknown,
}

/// The C library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Libc {
    Glibc,
    Musl,
    Msvcrt,
    Ucrt,
    None,
}

/// One elaborated platform: what `lib.systems.elaborate` gives in nixpkgs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Platform {
    cpu: Cpu,
    vendor: Vendor,
    kernel: Kernel,
    abi: Abi,
    libc: Libc,
    is_static: bool,
}

impl Platform {
    /// Parses any form a user writes (catalog name, alias, Nix double, GNU triple, Rust triple,
    /// OCI platform). Errors name the wrong part and suggest the closest names.
    pub fn parse(input: &str) -> Result<Platform, Error> {
        let _ = input;
        unimplemented!("skeleton")
    }
    pub fn cpu(&self) -> Cpu {
        self.cpu
    }
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }
    pub fn abi(&self) -> Abi {
        self.abi
    }
    pub fn libc(&self) -> Libc {
        self.libc
    }
    /// nixpkgs `isStatic`.
    pub fn is_static(&self) -> bool {
        self.is_static
    }
    /// The canonical GNU config (`aarch64-unknown-linux-gnu`); nixpkgs `config`.
    pub fn config(&self) -> String {
        unimplemented!("skeleton")
    }
    /// The Nix double (`aarch64-linux`); nixpkgs `system`.
    pub fn system(&self) -> String {
        unimplemented!("skeleton")
    }
    /// nixpkgs `rust.rustcTarget` (`riscv64gc-unknown-linux-gnu`).
    pub fn rust_target(&self) -> Option<String> {
        unimplemented!("skeleton")
    }
    /// The LLVM/clang `--target` triple.
    pub fn llvm_triple(&self) -> String {
        unimplemented!("skeleton")
    }
    /// The OCI platform (`linux/arm/v7`), where one exists.
    pub fn oci_platform(&self) -> Option<String> {
        unimplemented!("skeleton")
    }
    /// Debian architecture (`arm64`, `armhf`, `ppc64el`), where Debian has one.
    pub fn debian_arch(&self) -> Option<&'static str> {
        unimplemented!("skeleton")
    }
    /// Debian multiarch triple (`aarch64-linux-gnu`), also the prefix of Debian's cross tools.
    pub fn multiarch(&self) -> Option<&'static str> {
        unimplemented!("skeleton")
    }
    /// QEMU linux-user name (`aarch64`, `arm`, `ppc64le`, `mipsn32el`): `qemu-<name>`.
    pub fn qemu_user(&self) -> Option<&'static str> {
        unimplemented!("skeleton")
    }
    /// Linux kernel `ARCH` (`arm64`, `riscv`, `powerpc`); nixpkgs `linuxArch`.
    pub fn linux_arch(&self) -> Option<&'static str> {
        unimplemented!("skeleton")
    }
    /// `uname -m`; nixpkgs `uname.processor`.
    pub fn uname_machine(&self) -> Option<&'static str> {
        unimplemented!("skeleton")
    }
    pub fn is_64bit(&self) -> bool {
        self.cpu.bits() == 64
    }
    pub fn is_little_endian(&self) -> bool {
        self.cpu.endian() == Endian::Little
    }
    /// nixpkgs `canExecute`: can a machine of `self` run binaries of `target` natively?
    pub fn can_execute(&self, target: &Platform) -> bool {
        let _ = target;
        unimplemented!("skeleton")
    }
}
