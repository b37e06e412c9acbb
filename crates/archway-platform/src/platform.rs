//! The elaborated [`Platform`]: one target, and its name in every neighbouring tool.
//!
//! The attributes nixpkgs defines (`config`, `system`, `libc`, `qemuArch`, `linuxArch`,
//! `uname.processor`, `rust.rustcTarget`, `isStatic`, `canExecute`) are transcribed from
//! nixpkgs `lib/systems/default.nix` (`elaborate`) and `parse.nix`; each method says which.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::catalog::{self, CatalogEntry};
use crate::cpu::{Cpu, Endian};
use crate::debian::{self, DebianArch};
use crate::gcc::{GccSettings, QemuCpu};
use crate::triple::{self, Abi, Kernel, Libc, Vendor};
use crate::Error;

/// One elaborated platform: what `lib.systems.elaborate` gives in nixpkgs.
///
/// Equality and hashing compare the platform itself (cpu, vendor, kernel, abi, libc, static),
/// not the name it was parsed from: `arm64`, `aarch64-linux` and `aarch64-multiplatform` are
/// equal.
#[derive(Debug, Clone)]
pub struct Platform {
    cpu: Cpu,
    vendor: Vendor,
    kernel: Kernel,
    abi: Abi,
    libc: Libc,
    is_static: bool,
    /// The catalog entry it was parsed from, if any (kept for display).
    entry: Option<&'static CatalogEntry>,
    /// The GNU config as the user gave it (nixpkgs keeps a given `config` verbatim).
    given_config: Option<Cow<'static, str>>,
    /// nixpkgs' `gcc`: the CPU the platform's code is compiled for. Not part of equality:
    /// `remarkable1` and `armv7l-hf-multiplatform` are one platform for toolchains, sysroots
    /// and configuration sections, with different CPUs.
    gcc: GccSettings,
}

impl PartialEq for Platform {
    fn eq(&self, other: &Platform) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Platform {}

impl Hash for Platform {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

/// How the user named the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum NameForm {
    /// A pkgsCross catalog name (`aarch64-multiplatform`).
    Catalog,
    /// A Debian architecture or Docker short name (`arm64`, `armhf`, `386`).
    Alias,
    /// An OCI platform (`linux/arm/v7`).
    Oci,
    /// A GNU config, Nix double or Rust triple.
    Triple,
}

impl Platform {
    /// Parses any form a user writes (catalog name, alias, Nix double, GNU triple, Rust triple,
    /// OCI platform). Errors name the wrong part and suggest the closest names.
    pub fn parse(input: &str) -> Result<Platform, Error> {
        Platform::parse_with_form(input).map(|(platform, _)| platform)
    }

    /// Like [`Platform::parse`], also telling which form the input was.
    pub fn parse_with_form(input: &str) -> Result<(Platform, NameForm), Error> {
        // A process that parses many names (a build over many targets, the library in a
        // service) elaborates the names people type most once, into a table; a one-shot CLI
        // call never pays for building it (see `index::known`).
        if let Some((platform, form)) = crate::index::known(input) {
            return Ok((platform.clone(), *form));
        }
        Platform::parse_uncached(input)
    }

    /// The parser behind [`Platform::parse`], without the table of known names.
    pub(crate) fn parse_uncached(input: &str) -> Result<(Platform, NameForm), Error> {
        if input.is_empty() {
            return Err(Error::unknown(
                input,
                "the name is empty".to_string(),
                Vec::new(),
            ));
        }
        if input.len() > 256 || !input.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::unknown(
                input,
                "a platform name is short printable ASCII without spaces".to_string(),
                Vec::new(),
            ));
        }
        if let Some(entry) = catalog::find(input) {
            return Ok((Platform::from_entry(entry), NameForm::Catalog));
        }
        if let Some(platform) = alias(input) {
            return Ok((platform, NameForm::Alias));
        }
        if input.contains('/') {
            return crate::oci::parse(input).map(|platform| (platform, NameForm::Oci));
        }
        match triple::parse_triple(input) {
            Ok(parts) => {
                let mut platform = Platform::new(parts.cpu, parts.vendor, parts.kernel, parts.abi);
                if parts.is_gnu_config {
                    platform.given_config = Some(Cow::Owned(input.to_string()));
                }
                Ok((platform, NameForm::Triple))
            }
            Err(error) => match catalog::find_ignoring_case(input) {
                Some(entry) => Ok((Platform::from_entry(entry), NameForm::Catalog)),
                None => Err(improve_whole_name_error(input, error)),
            },
        }
    }

    /// The platform with these parts, elaborated as nixpkgs does (libc, static).
    pub fn new(cpu: Cpu, vendor: Vendor, kernel: Kernel, abi: Abi) -> Platform {
        let mut platform = Platform {
            cpu,
            vendor,
            kernel,
            abi,
            libc: Libc::None,
            is_static: false,
            entry: None,
            given_config: None,
            gcc: GccSettings::implied_by(cpu, kernel),
        };
        platform.libc = platform.default_libc();
        // nixpkgs: `isStatic = final.isWasi || final.isRedox`.
        platform.is_static = kernel == Kernel::Wasi || kernel == Kernel::Redox;
        platform
    }

    /// The catalog entry's platform (its config, and its `libc` / `rustc.config` overrides).
    pub fn from_entry(entry: &'static CatalogEntry) -> Platform {
        let parts = triple::parse_triple(entry.config)
            .expect("every catalog config parses (pinned by the catalog table test)");
        let mut platform = Platform::new(parts.cpu, parts.vendor, parts.kernel, parts.abi);
        if let Some(libc) = entry.libc {
            platform.libc = libc;
        }
        platform.entry = Some(entry);
        platform.given_config = Some(Cow::Borrowed(entry.config));
        // nixpkgs `elaborate`: the example's own `gcc` replaces what `platforms.select`
        // implies for its config.
        if let Some(gcc) = crate::gcc::explicit(entry.name) {
            platform.gcc = gcc.clone();
        }
        platform
    }

    /// nixpkgs' `gcc` settings: the CPU this platform's code is compiled for.
    pub fn gcc(&self) -> &GccSettings {
        &self.gcc
    }

    /// The same platform with `over` on top of its `gcc` settings (a configuration's
    /// `gcc-arch`...; see [`GccSettings::overlaid`]).
    pub fn with_gcc_overrides(mut self, over: &GccSettings) -> Platform {
        self.gcc = self.gcc.overlaid(over);
        self
    }

    /// The compiler flags for this platform's CPU (`-march=armv6kz -mfpu=vfpv2 -marm`), for
    /// every compile and link of the platform's code.
    pub fn compiler_flags(&self) -> Vec<String> {
        self.gcc.compiler_flags(self.cpu.is_aarch32())
    }

    /// rustc flags for this platform's CPU (`-C target-cpu=cortex-a7`), where LLVM knows it.
    pub fn rustc_cpu_flags(&self) -> Vec<String> {
        self.gcc.rustc_flags(self.cpu)
    }

    /// The QEMU CPU model that runs this platform's CPU (`arm1176` for raspberryPi), or why
    /// there is none.
    pub fn qemu_cpu(&self) -> QemuCpu {
        self.gcc.qemu_cpu(self.cpu)
    }

    /// The same platform with another C library (a catalog entry's `libc = "ucrt"`).
    pub fn with_libc(mut self, libc: Libc) -> Platform {
        self.libc = libc;
        self
    }

    /// The same platform, remembering `config` as the config the user gave.
    pub(crate) fn with_given_config(mut self, config: Cow<'static, str>) -> Platform {
        self.given_config = Some(config);
        self
    }

    /// Drops a given config equal to the canonical one (same `config()`, nothing to clone).
    pub(crate) fn without_given_config_if_canonical(mut self) -> Platform {
        if self.given_config.as_deref() == Some(self.canonical_config().as_str()) {
            self.given_config = None;
        }
        self
    }

    /// The same platform, linked statically (nixpkgs' `pkgsStatic`) or not.
    pub fn with_static(mut self, is_static: bool) -> Platform {
        self.is_static = is_static;
        self
    }

    fn key(&self) -> (Cpu, Vendor, Kernel, Abi, Libc, bool) {
        (
            self.cpu,
            self.vendor,
            self.kernel,
            self.abi,
            self.libc,
            self.is_static,
        )
    }

    /// nixpkgs' `libc` rule (`lib/systems/default.nix`), in its order.
    fn default_libc(&self) -> Libc {
        let kernel = self.kernel;
        let abi = self.abi;
        if kernel.is_darwin() {
            Libc::LibSystem
        } else if kernel == Kernel::Cygwin {
            Libc::Cygwin
        } else if self.is_mingw() {
            Libc::Msvcrt
        } else if kernel == Kernel::Windows {
            // MSVC targets link the Universal CRT.
            Libc::Ucrt
        } else if kernel == Kernel::Wasi {
            Libc::Wasilibc
        } else if self.cpu.family() == "wasm" {
            Libc::None
        } else if kernel == Kernel::Redox {
            Libc::Relibc
        } else if abi.is_musl() {
            Libc::Musl
        } else if abi.is_uclibc() {
            Libc::Uclibc
        } else if abi.is_android() {
            Libc::Bionic
        } else if kernel == Kernel::Linux {
            Libc::Glibc
        } else if kernel == Kernel::Freebsd {
            Libc::Fblibc
        } else if kernel == Kernel::Netbsd {
            Libc::Nblibc
        } else if kernel == Kernel::Openbsd {
            Libc::Oblibc
        } else if self.cpu == Cpu::Avr {
            Libc::Avrlibc
        } else if kernel == Kernel::Ghcjs {
            Libc::None
        } else if kernel == Kernel::None {
            Libc::Newlib
        } else {
            Libc::NativeImpure
        }
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
    /// The pkgsCross name it was parsed from (`aarch64-multiplatform`), if any.
    pub fn catalog_name(&self) -> Option<&'static str> {
        self.entry.map(|entry| entry.name)
    }
    /// The name to show a user: the catalog name if it came from one, else the config.
    pub fn display_name(&self) -> String {
        match self.entry {
            Some(entry) => entry.name.to_string(),
            None => self.config(),
        }
    }

    /// nixpkgs `config`: the GNU config as given (catalog entry or GNU input, kept verbatim
    /// like nixpkgs keeps `crossSystem.config`), else the canonical one.
    pub fn config(&self) -> String {
        match &self.given_config {
            Some(config) => config.to_string(),
            None => self.canonical_config(),
        }
    }

    /// The canonical GNU config, nixpkgs' `parse.tripleFromSystem`
    /// (`aarch64-unknown-linux-gnu`, `aarch64-unknown-none-elf`), except that MinGW keeps
    /// its GNU name `x86_64-w64-mingw32`. Like nixpkgs, Darwin spells aarch64 `arm64` and 32-bit
    /// NetBSD ports that GNU assumes to be a.out get `netbsdelf`.
    pub fn canonical_config(&self) -> String {
        if self.is_mingw()
            && self.vendor == Vendor::W64
            && self.abi == triple::default_abi(self.cpu, Kernel::Windows)
        {
            // MinGW-w64's own name, which GCC, binutils and nixpkgs' examples use.
            return join(&[self.cpu.name(), "-w64-mingw32"]);
        }
        let cpu = if self.kernel.is_darwin() {
            self.darwin_arch()
        } else {
            self.cpu.name()
        };
        // One allocation with room for `elf` and the ABI.
        let mut config = String::with_capacity(48);
        for part in [cpu, "-", self.vendor.name(), "-", self.kernel.name()] {
            config.push_str(part);
        }
        // nixpkgs `gnuNetBSDDefaultExecFormat`: GNU tools assume a.out for 32-bit ARM, SPARC,
        // m68k and x86 NetBSD, so an ELF one says so.
        if self.kernel == Kernel::Netbsd
            && self.cpu.bits() == 32
            && matches!(self.cpu.family(), "arm" | "sparc" | "m68k" | "x86")
        {
            config.push_str("elf");
        }
        if self.abi != Abi::Unknown {
            config.push('-');
            config.push_str(self.abi.name());
        }
        config
    }

    /// The Nix double (`aarch64-linux`); nixpkgs `system` (`parse.doubleFromSystem`).
    pub fn system(&self) -> String {
        if self.kernel.is_darwin() {
            join(&[self.cpu.name(), "-darwin"])
        } else {
            join(&[self.cpu.name(), "-", self.kernel.name()])
        }
    }

    /// nixpkgs `rust.rustcTarget` (`riscv64gc-unknown-linux-gnu`).
    ///
    /// nixpkgs renames a few CPUs (`armv7l` → `armv7`, `riscv64` → `riscv64gc`), the `w64`
    /// vendor to `pc`, and uses `wasm32-wasip1` for WASI; a catalog entry's `rustc.config`
    /// wins. nixpkgs always gives a name, even where rustc has no such target.
    pub fn rust_target(&self) -> Option<String> {
        if let Some(target) = self.entry.and_then(|entry| entry.rust_target) {
            return Some(target.to_string());
        }
        let cpu = match self.cpu {
            Cpu::Armv7a | Cpu::Armv7l => "armv7",
            Cpu::Armv6l => "arm",
            Cpu::Armv5tel => "armv5te",
            Cpu::Riscv32 => "riscv32gc",
            Cpu::Riscv64 => "riscv64gc",
            other => other.name(),
        };
        if self.kernel == Kernel::Wasi {
            return Some(join(&[cpu, "-wasip1"]));
        }
        let vendor = match self.vendor {
            Vendor::W64 => "pc",
            other => other.name(),
        };
        let mut target = String::with_capacity(48);
        for part in [cpu, "-", vendor, "-", self.kernel.name()] {
            target.push_str(part);
        }
        if self.abi != Abi::Unknown {
            target.push('-');
            // nixpkgs: "We're very explicit about the POWER ELF ABI w/ glibc in our parsing,
            // while Rust is not."
            let abi = match self.abi {
                Abi::Gnuabielfv1 | Abi::Gnuabielfv2 if self.cpu.family() == "power" => "gnu",
                other => other.name(),
            };
            target.push_str(abi);
        }
        Some(target)
    }

    /// The LLVM/clang `--target` triple: the canonical config, with clang's spelling of
    /// MinGW (`x86_64-w64-windows-gnu`) and Cygwin (`x86_64-pc-windows-cygnus`), and
    /// Darwin's `aarch64` (clang accepts both spellings; this is its normalized form).
    pub fn llvm_triple(&self) -> String {
        if self.kernel == Kernel::Cygwin {
            return format!("{}-pc-windows-cygnus", self.cpu);
        }
        if self.kernel == Kernel::Windows && self.vendor == Vendor::W64 {
            return format!("{}-w64-windows-{}", self.cpu, self.abi);
        }
        if self.kernel.is_darwin() {
            let mut triple = format!("{}-apple-{}", self.cpu, self.kernel);
            if self.abi != Abi::Unknown {
                triple.push('-');
                triple.push_str(self.abi.name());
            }
            return triple;
        }
        self.canonical_config()
    }

    /// The OCI platform (`linux/arm/v7`), where one exists.
    pub fn oci_platform(&self) -> Option<String> {
        crate::oci::render(self)
    }

    /// The Debian architecture record (name, GNU type, multiarch) for Linux platforms.
    pub fn debian(&self) -> Option<&'static DebianArch> {
        if self.kernel != Kernel::Linux {
            return None;
        }
        debian::for_parts(self.cpu, self.abi)
    }
    /// Debian architecture (`arm64`, `armhf`, `ppc64el`), where Debian has one.
    pub fn debian_arch(&self) -> Option<&'static str> {
        self.debian().map(|arch| arch.name)
    }
    /// Debian multiarch triple (`aarch64-linux-gnu`, `i386-linux-gnu`): `DEB_HOST_MULTIARCH`,
    /// the directory under `/usr/lib` and `/usr/include`. For the prefix of Debian's cross
    /// tools use [`Platform::debian_gnu_type`] (they differ on i386: `i686-linux-gnu-gcc`).
    pub fn multiarch(&self) -> Option<&'static str> {
        self.debian().map(|arch| arch.multiarch)
    }
    /// Debian's GNU type (`i686-linux-gnu`, `arm-linux-gnueabihf`): `DEB_HOST_GNU_TYPE`,
    /// the prefix of Debian's cross tools (`<gnu type>-gcc`).
    pub fn debian_gnu_type(&self) -> Option<&'static str> {
        self.debian().map(|arch| arch.gnu_type)
    }

    /// nixpkgs `qemuArch`, verbatim (`None` only for 31-bit s390). nixpkgs answers even for
    /// CPUs QEMU cannot emulate in user mode (`avr`, `wasm32`); [`Platform::qemu_user`] does not.
    pub fn nix_qemu_arch(&self) -> Option<&'static str> {
        let cpu = self.cpu;
        if cpu.is_aarch32() {
            Some("arm")
        } else if cpu.family() == "arm" {
            // nixpkgs `isAarch64`, both byte orders.
            Some("aarch64")
        } else if cpu == Cpu::S390 {
            None
        } else if cpu == Cpu::X86_64 {
            Some("x86_64")
        } else if cpu.family() == "x86" {
            Some("i386")
        } else if cpu.is_mips64() && self.abi.is_n32() {
            Some(little_suffix(cpu, "mipsn32", "mipsn32el"))
        } else if cpu.is_mips64() {
            Some(little_suffix(cpu, "mips64", "mips64el"))
        } else {
            self.uname_machine()
        }
    }

    /// QEMU linux-user name (`aarch64`, `arm`, `ppc64le`, `mipsn32el`): `qemu-<name>`, for
    /// Linux platforms whose binaries QEMU user mode runs. nixpkgs' `qemuArch` where that is
    /// a real QEMU target; the list of targets is QEMU's `linux-user/` directories
    /// (and `scripts/qemu-binfmt-conf.sh`).
    pub fn qemu_user(&self) -> Option<&'static str> {
        if self.kernel != Kernel::Linux {
            return None;
        }
        // ABIs QEMU user mode does not implement: x32 and arm64 ILP32 syscalls.
        if matches!(self.abi, Abi::Gnux32 | Abi::GnuIlp32) {
            return None;
        }
        let name = match self.cpu {
            Cpu::Armeb => "armeb",
            // nixpkgs' qemuArch says `aarch64` for both byte orders; QEMU has both.
            Cpu::Aarch64Be => "aarch64_be",
            // qemu-binfmt-conf.sh gives SuperH (EM_SH) to qemu-sh4 / qemu-sh4eb.
            Cpu::Sh3 => "sh4",
            Cpu::Sh3eb => "sh4eb",
            Cpu::Mipsisa32r6 => "mips",
            Cpu::Mipsisa32r6el => "mipsel",
            _ => self.nix_qemu_arch()?,
        };
        const QEMU_LINUX_USER: &[&str] = &[
            "aarch64",
            "aarch64_be",
            "alpha",
            "arm",
            "armeb",
            "hppa",
            "i386",
            "loongarch64",
            "m68k",
            "microblaze",
            "microblazeel",
            "mips",
            "mips64",
            "mips64el",
            "mipsel",
            "mipsn32",
            "mipsn32el",
            "or1k",
            "ppc",
            "ppc64",
            "ppc64le",
            "riscv32",
            "riscv64",
            "s390x",
            "sh4",
            "sh4eb",
            "sparc",
            "sparc64",
            "x86_64",
        ];
        QEMU_LINUX_USER.contains(&name).then_some(name)
    }

    /// Linux kernel `ARCH` (`arm64`, `riscv`, `powerpc`); nixpkgs `linuxArch`, which falls
    /// back to the CPU name. For CPUs nixpkgs lacks, the kernel's own `arch/` directory name.
    pub fn linux_arch(&self) -> Option<&'static str> {
        let cpu = self.cpu;
        let name = if cpu.is_aarch32() {
            "arm"
        } else if cpu.family() == "arm" {
            "arm64"
        } else if cpu.family() == "x86" && cpu.bits() == 32 {
            "i386"
        } else if cpu == Cpu::X86_64 {
            "x86_64"
        } else if cpu.family() == "microblaze" {
            "microblaze"
        } else if cpu.family() == "mips" {
            "mips"
        } else if cpu.family() == "power" {
            "powerpc"
        } else if cpu.family() == "riscv" {
            "riscv"
        } else if cpu.family() == "s390" {
            "s390"
        } else if cpu == Cpu::Loongarch64 {
            "loongarch"
        } else {
            match cpu {
                Cpu::Hppa => "parisc",
                Cpu::Sh3 | Cpu::Sh3eb | Cpu::Sh4eb => "sh",
                Cpu::Tilegx => "tile",
                other => other.name(),
            }
        };
        Some(name)
    }

    /// `uname -m`; nixpkgs `uname.processor` (`ppc64le`, `mips64` for both MIPS64 byte
    /// orders, `arm64` on Darwin, else the CPU name).
    pub fn uname_machine(&self) -> Option<&'static str> {
        let cpu = self.cpu;
        let name = if cpu.family() == "power" && cpu.bits() == 64 {
            little_suffix(cpu, "ppc64", "ppc64le")
        } else if cpu.family() == "power" {
            little_suffix(cpu, "ppc", "ppcle")
        } else if cpu.is_mips64() {
            "mips64"
        } else if cpu == Cpu::Hppa {
            "parisc"
        } else if self.kernel.is_darwin() {
            self.darwin_arch()
        } else {
            cpu.name()
        };
        Some(name)
    }

    pub fn is_64bit(&self) -> bool {
        self.cpu.bits() == 64
    }
    pub fn is_little_endian(&self) -> bool {
        self.cpu.endian() == Endian::Little
    }
    /// The ABI's pointer width: the CPU's, except 32 for x32, arm64 ILP32 and MIPS n32
    /// (`dpkg-architecture -q DEB_HOST_ARCH_BITS`).
    pub fn pointer_bits(&self) -> u32 {
        match self.abi {
            Abi::Gnux32 | Abi::GnuIlp32 | Abi::Gnuabin32 | Abi::Muslabin32 => 32,
            _ => self.cpu.bits(),
        }
    }
    /// nixpkgs `darwinArch`: Apple calls aarch64 `arm64`.
    pub fn darwin_arch(&self) -> &'static str {
        match self.cpu {
            Cpu::Aarch64 => "arm64",
            other => other.name(),
        }
    }
    /// MinGW: Windows with a GNU ABI (nixpkgs `isMinGW`).
    pub fn is_mingw(&self) -> bool {
        self.kernel == Kernel::Windows && self.abi != Abi::Msvc
    }
    /// nixpkgs `isAndroid`.
    pub fn is_android(&self) -> bool {
        self.abi.is_android()
    }
    /// Executables need a `.exe` suffix.
    pub fn executable_suffix(&self) -> &'static str {
        if self.kernel == Kernel::Windows {
            ".exe"
        } else {
            ""
        }
    }

    /// nixpkgs `canExecute`: can a machine of `self` run binaries of `target` natively?
    /// Both Android or neither, compatible CPUs (`parse.isCompatible`), the same kernel.
    pub fn can_execute(&self, target: &Platform) -> bool {
        self.is_android() == target.is_android()
            && self.cpu.is_compatible(target.cpu)
            && self.kernel == target.kernel
    }

    /// What an ELF file built for this platform carries in its header, if it is an ELF
    /// platform.
    pub fn elf(&self) -> Option<ElfExpectation> {
        if self.kernel.exec_format() != "elf" && self.kernel != Kernel::None {
            return None;
        }
        let machine = self.cpu.elf_machine()?;
        // x32, arm64 ILP32 and MIPS n32 are ELFCLASS32 on 64-bit CPUs.
        let class = if self.pointer_bits() == 64 { 64 } else { 32 };
        let (flags_mask, flags) = self.elf_flags();
        Some(ElfExpectation {
            machine,
            class,
            endian: self.cpu.endian(),
            flags_mask,
            flags,
        })
    }

    /// The `e_flags` bits that tell this platform's ABI apart from its neighbours.
    fn elf_flags(&self) -> (u32, u32) {
        use object::elf;
        let cpu = self.cpu;
        if cpu.is_aarch32() {
            // ARM EABI5 float ABI: <elf.h> EF_ARM_ABI_FLOAT_HARD / _SOFT.
            return match self.abi.arm_hard_float() {
                Some(true) => (
                    elf::EF_ARM_ABI_FLOAT_HARD | elf::EF_ARM_ABI_FLOAT_SOFT,
                    elf::EF_ARM_ABI_FLOAT_HARD,
                ),
                Some(false) => (elf::EF_ARM_ABI_FLOAT_HARD, 0),
                None => (0, 0),
            };
        }
        if cpu.family() == "mips" {
            // n32 sets EF_MIPS_ABI2; o32 (32-bit CPUs) and n64 do not.
            return if self.abi.is_n32() {
                (elf::EF_MIPS_ABI2, elf::EF_MIPS_ABI2)
            } else {
                (elf::EF_MIPS_ABI2, 0)
            };
        }
        if cpu.family() == "riscv" {
            // Linux RISC-V userlands are the `gc` ABIs (lp64d / ilp32d): double-float.
            return if self.kernel == Kernel::Linux {
                (elf::EF_RISCV_FLOAT_ABI, elf::EF_RISCV_FLOAT_ABI_DOUBLE)
            } else {
                (0, 0)
            };
        }
        if cpu == Cpu::Powerpc64 {
            // e_flags 1 is ELFv1, 2 is ELFv2 (ppc64 psABI); 0 means unspecified.
            return match self.abi {
                Abi::Gnuabielfv2 => (3, 2),
                _ => (0, 0),
            };
        }
        (0, 0)
    }
}

/// The ELF header fields a binary for a platform has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ElfExpectation {
    /// `e_machine` (`EM_AARCH64` = 183).
    pub machine: u16,
    /// `EI_CLASS`: 32 or 64.
    pub class: u8,
    /// `EI_DATA`.
    pub endian: Endian,
    /// The `e_flags` bits that matter ...
    pub flags_mask: u32,
    /// ... and their value.
    pub flags: u32,
}

impl ElfExpectation {
    /// Does an ELF header with these fields match?
    pub fn matches(&self, machine: u16, class: u8, endian: Endian, flags: u32) -> bool {
        self.machine == machine
            && self.class == class
            && self.endian == endian
            && flags & self.flags_mask == self.flags
    }
}

/// Concatenates `parts` into one allocation (these names are built on every lookup; `format!`
/// costs several reallocations).
fn join(parts: &[&str]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}

fn little_suffix(cpu: Cpu, big: &'static str, little: &'static str) -> &'static str {
    match cpu.endian() {
        Endian::Little => little,
        Endian::Big => big,
    }
}

/// Short names Docker and Debian users type: every Debian architecture (`arm64`, `armhf`,
/// `ppc64el`, `musl-linux-arm64`) and Docker/Go names (`386`, `ppc64le`, `mips64le`, `arm`).
fn alias(input: &str) -> Option<Platform> {
    let debian_name = match input {
        "aarch64" => "arm64",
        "x86_64" => "amd64",
        "386" => "i386",
        "ppc64le" => "ppc64el",
        "mips64le" => "mips64el",
        "mipsle" => "mipsel",
        // Docker's `arm` is ARMv7 hard-float (`linux/arm` = `linux/arm/v7`), Debian's armhf.
        "arm" => "armhf",
        "loongarch64" => "loong64",
        other => other,
    };
    let arch = debian::by_name(debian_name)?;
    let mut platform = Platform::new(arch.cpus[0], Vendor::Unknown, Kernel::Linux, arch.abis[0]);
    platform.given_config = None;
    Some(platform)
}

/// For a name that is not a triple at all (`aarch64-multiplatfrom`, `arm65`), suggest
/// catalog names and aliases too.
fn improve_whole_name_error(input: &str, error: Error) -> Error {
    let Error::Unknown {
        reason,
        suggestions,
        corrected,
        ..
    } = error
    else {
        return error;
    };
    let names = catalog::CATALOG
        .iter()
        .map(|entry| entry.name)
        .chain(debian::DEBIAN_ARCHES.iter().map(|arch| arch.name))
        .chain(["aarch64", "x86_64", "386", "ppc64le", "mips64le", "arm"]);
    let whole: Vec<String> = crate::error::closest(input, names)
        .into_iter()
        .map(str::to_string)
        .collect();
    if let Some(best) = whole.first() {
        // A near-miss of a whole name beats a part-by-part correction.
        let whole_score = crate::error::similarity(input, best);
        let part_score = corrected
            .as_deref()
            .map(|c| crate::error::similarity(input, c))
            .unwrap_or(0.0);
        if whole_score >= part_score {
            return Error::Unknown {
                input: input.to_string(),
                reason: "not a catalog name, alias, triple or OCI platform".to_string(),
                suggestions: whole.clone(),
                corrected: Some(best.clone()),
            };
        }
    }
    Error::Unknown {
        input: input.to_string(),
        reason,
        suggestions,
        corrected,
    }
}

impl fmt::Display for Platform {
    /// The config ([`Platform::config`]); parsing it gives an equal platform.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.config())
    }
}

impl FromStr for Platform {
    type Err = Error;
    fn from_str(input: &str) -> Result<Platform, Error> {
        Platform::parse(input)
    }
}

impl serde::Serialize for Platform {
    /// Every attribute (`archway platform show --json`).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Platform", 35)?;
        s.serialize_field("name", &self.catalog_name())?;
        s.serialize_field("config", &self.config())?;
        s.serialize_field("canonical_config", &self.canonical_config())?;
        s.serialize_field("system", &self.system())?;
        s.serialize_field("cpu", &self.cpu)?;
        s.serialize_field("cpu_family", self.cpu.family())?;
        s.serialize_field("bits", &self.cpu.bits())?;
        s.serialize_field("pointer_bits", &self.pointer_bits())?;
        s.serialize_field("endian", &self.cpu.endian())?;
        s.serialize_field("vendor", &self.vendor)?;
        s.serialize_field("kernel", &self.kernel)?;
        s.serialize_field("abi", &self.abi)?;
        s.serialize_field("libc", &self.libc)?;
        s.serialize_field("is_static", &self.is_static)?;
        s.serialize_field("rust_target", &self.rust_target())?;
        s.serialize_field("llvm_triple", &self.llvm_triple())?;
        s.serialize_field("oci_platform", &self.oci_platform())?;
        s.serialize_field("debian_arch", &self.debian_arch())?;
        s.serialize_field("debian_gnu_type", &self.debian_gnu_type())?;
        s.serialize_field("multiarch", &self.multiarch())?;
        s.serialize_field("qemu_user", &self.qemu_user())?;
        s.serialize_field("nix_qemu_arch", &self.nix_qemu_arch())?;
        s.serialize_field("linux_arch", &self.linux_arch())?;
        s.serialize_field("uname_machine", &self.uname_machine())?;
        s.serialize_field("exec_format", self.kernel.exec_format())?;
        s.serialize_field("elf", &self.elf())?;
        let gcc: std::collections::BTreeMap<&str, String> =
            self.gcc.entries().into_iter().collect();
        s.serialize_field("gcc", &gcc)?;
        let qemu_cpu = self.qemu_cpu();
        s.serialize_field("qemu_cpu", &qemu_cpu.model())?;
        if let QemuCpu::Unmatched(reason) = &qemu_cpu {
            s.serialize_field("qemu_cpu_note", reason)?;
        } else {
            s.serialize_field("qemu_cpu_note", &None::<String>)?;
        }
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forms the issue lists, and the config each must elaborate to.
    #[test]
    fn every_listed_form_parses_to_its_config() {
        let cases = [
            ("arm64", "aarch64-unknown-linux-gnu"),
            ("aarch64", "aarch64-unknown-linux-gnu"),
            ("armhf", "armv7l-unknown-linux-gnueabihf"),
            ("armel", "armv5tel-unknown-linux-gnueabi"),
            ("arm", "armv7l-unknown-linux-gnueabihf"),
            ("riscv64", "riscv64-unknown-linux-gnu"),
            ("ppc64le", "powerpc64le-unknown-linux-gnu"),
            ("ppc64el", "powerpc64le-unknown-linux-gnu"),
            ("s390x", "s390x-unknown-linux-gnu"),
            ("i386", "i686-unknown-linux-gnu"),
            ("386", "i686-unknown-linux-gnu"),
            ("mips64le", "mips64el-unknown-linux-gnuabi64"),
            ("mips64el", "mips64el-unknown-linux-gnuabi64"),
            ("loong64", "loongarch64-unknown-linux-gnu"),
            ("amd64", "x86_64-unknown-linux-gnu"),
            ("x86_64", "x86_64-unknown-linux-gnu"),
            ("aarch64-linux", "aarch64-unknown-linux-gnu"),
            ("x86_64-darwin", "x86_64-apple-darwin"),
            ("wasm32-wasi", "wasm32-unknown-wasi"),
            ("avr", "avr"),
            ("arm-linux-gnueabihf", "arm-linux-gnueabihf"),
            ("riscv64-unknown-linux-gnu", "riscv64-unknown-linux-gnu"),
            ("x86_64-w64-mingw32", "x86_64-w64-mingw32"),
            ("aarch64-none-elf", "aarch64-none-elf"),
            (
                "mips64el-unknown-linux-gnuabi64",
                "mips64el-unknown-linux-gnuabi64",
            ),
            ("riscv64gc-unknown-linux-gnu", "riscv64-unknown-linux-gnu"),
            (
                "armv7-unknown-linux-gnueabihf",
                "armv7l-unknown-linux-gnueabihf",
            ),
            ("wasm32-wasip1", "wasm32-unknown-wasi"),
            ("linux/arm64", "aarch64-unknown-linux-gnu"),
            ("linux/arm64/v8", "aarch64-unknown-linux-gnu"),
            ("linux/arm/v7", "armv7l-unknown-linux-gnueabihf"),
            ("linux/arm/v6", "armv6l-unknown-linux-gnueabihf"),
            ("linux/riscv64", "riscv64-unknown-linux-gnu"),
            ("linux/ppc64le", "powerpc64le-unknown-linux-gnu"),
            ("linux/s390x", "s390x-unknown-linux-gnu"),
            ("linux/386", "i686-unknown-linux-gnu"),
            ("linux/amd64", "x86_64-unknown-linux-gnu"),
            ("linux/mips64le", "mips64el-unknown-linux-gnuabi64"),
            ("linux/loong64", "loongarch64-unknown-linux-gnu"),
            ("x86_64-unknown-linux-musl", "x86_64-unknown-linux-musl"),
            ("aarch64-linux-musl", "aarch64-linux-musl"),
        ];
        for (input, config) in cases {
            let platform = Platform::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(platform.config(), config, "{input}");
        }
    }

    #[test]
    fn every_catalog_entry_resolves_to_its_config() {
        assert_eq!(catalog::CATALOG.len(), 92);
        for entry in catalog::CATALOG {
            let by_name = Platform::parse(entry.name).expect(entry.name);
            assert_eq!(by_name.config(), entry.config, "{}", entry.name);
            assert_eq!(by_name.catalog_name(), Some(entry.name));
            let by_config = Platform::parse(entry.config).expect(entry.config);
            assert_eq!(by_config.config(), entry.config);
            if entry.libc.is_none() {
                assert_eq!(by_name, by_config, "{}", entry.name);
            }
        }
    }

    /// Every catalog entry's nixpkgs attributes: (name, `parse.tripleFromSystem`, `system`,
    /// `libc`, `rust.rustcTarget`, `qemuArch`, `linuxArch`, `uname.processor`, `isStatic`),
    /// as nixpkgs' `lib/systems/{parse,default}.nix` compute them for the example's config.
    #[test]
    fn catalog_entries_elaborate_like_nixpkgs() {
        type Row = (
            &'static str,
            &'static str,
            &'static str,
            &'static str,
            &'static str,
        );
        type Rest = (Option<&'static str>, &'static str, &'static str, bool);
        #[rustfmt::skip]
        let table: &[(Row, Rest)] = &[
            (("aarch64-android", "aarch64-unknown-linux-android", "aarch64-linux", "bionic", "aarch64-unknown-linux-android"), (Some("aarch64"), "arm64", "aarch64", false)),
            (("aarch64-android-prebuilt", "aarch64-unknown-linux-android", "aarch64-linux", "bionic", "aarch64-linux-android"), (Some("aarch64"), "arm64", "aarch64", false)),
            (("aarch64-darwin", "arm64-apple-darwin", "aarch64-darwin", "libSystem", "aarch64-apple-darwin"), (Some("aarch64"), "arm64", "arm64", false)),
            (("aarch64-embedded", "aarch64-unknown-none-elf", "aarch64-none", "newlib", "aarch64-unknown-none-elf"), (Some("aarch64"), "arm64", "aarch64", false)),
            (("aarch64-freebsd", "aarch64-unknown-freebsd", "aarch64-freebsd", "fblibc", "aarch64-unknown-freebsd"), (Some("aarch64"), "arm64", "aarch64", false)),
            (("aarch64-multiplatform", "aarch64-unknown-linux-gnu", "aarch64-linux", "glibc", "aarch64-unknown-linux-gnu"), (Some("aarch64"), "arm64", "aarch64", false)),
            (("aarch64-multiplatform-musl", "aarch64-unknown-linux-musl", "aarch64-linux", "musl", "aarch64-unknown-linux-musl"), (Some("aarch64"), "arm64", "aarch64", false)),
            (("aarch64-unknown-uefi", "aarch64-unknown-uefi", "aarch64-uefi", "native/impure", "aarch64-unknown-uefi"), (Some("aarch64"), "arm64", "aarch64", false)),
            (("aarch64-windows", "aarch64-pc-windows-msvc", "aarch64-windows", "ucrt", "aarch64-pc-windows-msvc"), (Some("aarch64"), "arm64", "aarch64", false)),
            (("aarch64be-embedded", "aarch64_be-unknown-none-elf", "aarch64_be-none", "newlib", "aarch64_be-unknown-none-elf"), (Some("aarch64"), "arm64", "aarch64_be", false)),
            (("arc", "arc-unknown-linux-gnu", "arc-linux", "glibc", "arc-unknown-linux-gnu"), (Some("arc"), "arc", "arc", false)),
            (("arm-embedded", "arm-unknown-none-eabi", "arm-none", "newlib", "arm-unknown-none-eabi"), (Some("arm"), "arm", "arm", false)),
            (("arm-embedded-nano", "arm-unknown-none-eabi", "arm-none", "newlib-nano", "arm-unknown-none-eabi"), (Some("arm"), "arm", "arm", false)),
            (("armhf-embedded", "arm-unknown-none-eabihf", "arm-none", "newlib", "arm-unknown-none-eabihf"), (Some("arm"), "arm", "arm", false)),
            (("armv5tel-multiplatform", "armv5tel-unknown-linux-gnueabi", "armv5tel-linux", "glibc", "armv5te-unknown-linux-gnueabi"), (Some("arm"), "arm", "armv5tel", false)),
            (("armv7a-android-prebuilt", "armv7a-unknown-linux-androideabi", "armv7a-linux", "bionic", "armv7-linux-androideabi"), (Some("arm"), "arm", "armv7a", false)),
            (("armv7l-hf-multiplatform", "armv7l-unknown-linux-gnueabihf", "armv7l-linux", "glibc", "armv7-unknown-linux-gnueabihf"), (Some("arm"), "arm", "armv7l", false)),
            (("avr", "avr-unknown-none", "avr-none", "avrlibc", "avr-unknown-none"), (Some("avr"), "avr", "avr", false)),
            (("ben-nanonote", "mipsel-unknown-linux-uclibc", "mipsel-linux", "uclibc", "mipsel-unknown-linux-uclibc"), (Some("mipsel"), "mips", "mipsel", false)),
            (("bluefield2", "aarch64-unknown-linux-gnu", "aarch64-linux", "glibc", "aarch64-unknown-linux-gnu"), (Some("aarch64"), "arm64", "aarch64", false)),
            (("fuloongminipc", "mipsel-unknown-linux-gnu", "mipsel-linux", "glibc", "mipsel-unknown-linux-gnu"), (Some("mipsel"), "mips", "mipsel", false)),
            (("ghcjs", "javascript-unknown-ghcjs", "javascript-ghcjs", "none", "javascript-unknown-ghcjs"), (Some("javascript"), "javascript", "javascript", false)),
            (("gnu32", "i686-unknown-linux-gnu", "i686-linux", "glibc", "i686-unknown-linux-gnu"), (Some("i386"), "i386", "i686", false)),
            (("gnu64", "x86_64-unknown-linux-gnu", "x86_64-linux", "glibc", "x86_64-unknown-linux-gnu"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("i686-embedded", "i686-unknown-none-elf", "i686-none", "newlib", "i686-unknown-none-elf"), (Some("i386"), "i386", "i686", false)),
            (("iphone32", "armv7a-apple-ios", "armv7a-darwin", "libSystem", "armv7-apple-ios"), (Some("arm"), "arm", "armv7a", false)),
            (("iphone32-simulator", "i686-apple-ios", "i686-darwin", "libSystem", "i686-apple-ios"), (Some("i386"), "i386", "i686", false)),
            (("iphone64", "arm64-apple-ios", "aarch64-darwin", "libSystem", "aarch64-apple-ios"), (Some("aarch64"), "arm64", "arm64", false)),
            (("iphone64-simulator", "x86_64-apple-ios", "x86_64-darwin", "libSystem", "x86_64-apple-ios"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("loongarch64-linux", "loongarch64-unknown-linux-gnu", "loongarch64-linux", "glibc", "loongarch64-unknown-linux-gnu"), (Some("loongarch64"), "loongarch", "loongarch64", false)),
            (("loongarch64-linux-embedded", "loongarch64-unknown-linux-gnu", "loongarch64-linux", "glibc", "loongarch64-unknown-linux-gnu"), (Some("loongarch64"), "loongarch", "loongarch64", false)),
            (("m68k", "m68k-unknown-linux-gnu", "m68k-linux", "glibc", "m68k-unknown-linux-gnu"), (Some("m68k"), "m68k", "m68k", false)),
            (("microblaze-embedded", "microblazeel-unknown-none-elf", "microblazeel-none", "newlib", "microblazeel-unknown-none-elf"), (Some("microblazeel"), "microblaze", "microblazeel", false)),
            (("mingw-msvcrt-i686", "i686-w64-mingw32", "i686-windows", "msvcrt", "i686-pc-windows-gnu"), (Some("i386"), "i386", "i686", false)),
            (("mingw-msvcrt-x86_64", "x86_64-w64-mingw32", "x86_64-windows", "msvcrt", "x86_64-pc-windows-gnu"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("mingw-ucrt-aarch64", "aarch64-w64-mingw32", "aarch64-windows", "ucrt", "aarch64-pc-windows-gnu"), (Some("aarch64"), "arm64", "aarch64", false)),
            (("mingw-ucrt-x86_64", "x86_64-w64-mingw32", "x86_64-windows", "ucrt", "x86_64-pc-windows-gnu"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("mingw-ucrt-x86_64-llvm", "x86_64-w64-mingw32", "x86_64-windows", "ucrt", "x86_64-pc-windows-gnu"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("mingw32", "i686-w64-mingw32", "i686-windows", "msvcrt", "i686-pc-windows-gnu"), (Some("i386"), "i386", "i686", false)),
            (("mingwW64", "x86_64-w64-mingw32", "x86_64-windows", "msvcrt", "x86_64-pc-windows-gnu"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("mips-embedded", "mips-unknown-none-elf", "mips-none", "newlib", "mips-unknown-none-elf"), (Some("mips"), "mips", "mips", false)),
            (("mips-linux-gnu", "mips-unknown-linux-gnu", "mips-linux", "glibc", "mips-unknown-linux-gnu"), (Some("mips"), "mips", "mips", false)),
            (("mips64-embedded", "mips64-unknown-none-elf", "mips64-none", "newlib", "mips64-unknown-none-elf"), (Some("mips64"), "mips", "mips64", false)),
            (("mips64-linux-gnuabi64", "mips64-unknown-linux-gnuabi64", "mips64-linux", "glibc", "mips64-unknown-linux-gnuabi64"), (Some("mips64"), "mips", "mips64", false)),
            (("mips64-linux-gnuabin32", "mips64-unknown-linux-gnuabin32", "mips64-linux", "glibc", "mips64-unknown-linux-gnuabin32"), (Some("mipsn32"), "mips", "mips64", false)),
            (("mips64el-linux-gnuabi64", "mips64el-unknown-linux-gnuabi64", "mips64el-linux", "glibc", "mips64el-unknown-linux-gnuabi64"), (Some("mips64el"), "mips", "mips64", false)),
            (("mips64el-linux-gnuabin32", "mips64el-unknown-linux-gnuabin32", "mips64el-linux", "glibc", "mips64el-unknown-linux-gnuabin32"), (Some("mipsn32el"), "mips", "mips64", false)),
            (("mipsel-linux-gnu", "mipsel-unknown-linux-gnu", "mipsel-linux", "glibc", "mipsel-unknown-linux-gnu"), (Some("mipsel"), "mips", "mipsel", false)),
            (("mmix", "mmix-unknown-mmixware", "mmix-mmixware", "newlib", "mmix-unknown-mmixware"), (Some("mmix"), "mmix", "mmix", false)),
            (("msp430", "msp430-unknown-none-elf", "msp430-none", "newlib", "msp430-unknown-none-elf"), (Some("msp430"), "msp430", "msp430", false)),
            (("musl-power", "powerpc64le-unknown-linux-musl", "powerpc64le-linux", "musl", "powerpc64le-unknown-linux-musl"), (Some("ppc64le"), "powerpc", "ppc64le", false)),
            (("musl32", "i686-unknown-linux-musl", "i686-linux", "musl", "i686-unknown-linux-musl"), (Some("i386"), "i386", "i686", false)),
            (("musl64", "x86_64-unknown-linux-musl", "x86_64-linux", "musl", "x86_64-unknown-linux-musl"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("muslpi", "armv6l-unknown-linux-musleabihf", "armv6l-linux", "musl", "arm-unknown-linux-musleabihf"), (Some("arm"), "arm", "armv6l", false)),
            (("or1k", "or1k-unknown-none-elf", "or1k-none", "newlib", "or1k-unknown-none-elf"), (Some("or1k"), "or1k", "or1k", false)),
            (("pogoplug4", "armv5tel-unknown-linux-gnueabi", "armv5tel-linux", "glibc", "armv5te-unknown-linux-gnueabi"), (Some("arm"), "arm", "armv5tel", false)),
            (("powernv", "powerpc64le-unknown-linux-gnu", "powerpc64le-linux", "glibc", "powerpc64le-unknown-linux-gnu"), (Some("ppc64le"), "powerpc", "ppc64le", false)),
            (("ppc-embedded", "powerpc-unknown-none-eabi", "powerpc-none", "newlib", "powerpc-unknown-none-eabi"), (Some("ppc"), "powerpc", "ppc", false)),
            (("ppc32", "powerpc-unknown-linux-gnu", "powerpc-linux", "glibc", "powerpc-unknown-linux-gnu"), (Some("ppc"), "powerpc", "ppc", false)),
            (("ppc64", "powerpc64-unknown-linux-gnuabielfv2", "powerpc64-linux", "glibc", "powerpc64-unknown-linux-gnu"), (Some("ppc64"), "powerpc", "ppc64", false)),
            (("ppc64-elfv1", "powerpc64-unknown-linux-gnuabielfv1", "powerpc64-linux", "glibc", "powerpc64-unknown-linux-gnu"), (Some("ppc64"), "powerpc", "ppc64", false)),
            (("ppc64-elfv2", "powerpc64-unknown-linux-gnuabielfv2", "powerpc64-linux", "glibc", "powerpc64-unknown-linux-gnu"), (Some("ppc64"), "powerpc", "ppc64", false)),
            (("ppc64-musl", "powerpc64-unknown-linux-musl", "powerpc64-linux", "musl", "powerpc64-unknown-linux-musl"), (Some("ppc64"), "powerpc", "ppc64", false)),
            (("ppcle-embedded", "powerpcle-unknown-none-eabi", "powerpcle-none", "newlib", "powerpcle-unknown-none-eabi"), (Some("ppcle"), "powerpc", "ppcle", false)),
            (("raspberryPi", "armv6l-unknown-linux-gnueabihf", "armv6l-linux", "glibc", "arm-unknown-linux-gnueabihf"), (Some("arm"), "arm", "armv6l", false)),
            (("remarkable1", "armv7l-unknown-linux-gnueabihf", "armv7l-linux", "glibc", "armv7-unknown-linux-gnueabihf"), (Some("arm"), "arm", "armv7l", false)),
            (("remarkable2", "armv7l-unknown-linux-gnueabihf", "armv7l-linux", "glibc", "armv7-unknown-linux-gnueabihf"), (Some("arm"), "arm", "armv7l", false)),
            (("riscv32", "riscv32-unknown-linux-gnu", "riscv32-linux", "glibc", "riscv32gc-unknown-linux-gnu"), (Some("riscv32"), "riscv", "riscv32", false)),
            (("riscv32-embedded", "riscv32-unknown-none-elf", "riscv32-none", "newlib", "riscv32gc-unknown-none-elf"), (Some("riscv32"), "riscv", "riscv32", false)),
            (("riscv64", "riscv64-unknown-linux-gnu", "riscv64-linux", "glibc", "riscv64gc-unknown-linux-gnu"), (Some("riscv64"), "riscv", "riscv64", false)),
            (("riscv64-embedded", "riscv64-unknown-none-elf", "riscv64-none", "newlib", "riscv64gc-unknown-none-elf"), (Some("riscv64"), "riscv", "riscv64", false)),
            (("riscv64-musl", "riscv64-unknown-linux-musl", "riscv64-linux", "musl", "riscv64gc-unknown-linux-musl"), (Some("riscv64"), "riscv", "riscv64", false)),
            (("rx-embedded", "rx-unknown-none-elf", "rx-none", "newlib", "rx-unknown-none-elf"), (Some("rx"), "rx", "rx", false)),
            (("s390", "s390-unknown-linux-gnu", "s390-linux", "glibc", "s390-unknown-linux-gnu"), (None, "s390", "s390", false)),
            (("s390x", "s390x-unknown-linux-gnu", "s390x-linux", "glibc", "s390x-unknown-linux-gnu"), (Some("s390x"), "s390", "s390x", false)),
            (("sh4", "sh4-unknown-linux-gnu", "sh4-linux", "glibc", "sh4-unknown-linux-gnu"), (Some("sh4"), "sh4", "sh4", false)),
            (("sheevaplug", "armv5tel-unknown-linux-gnueabi", "armv5tel-linux", "glibc", "armv5te-unknown-linux-gnueabi"), (Some("arm"), "arm", "armv5tel", false)),
            (("ucrt64", "x86_64-w64-mingw32", "x86_64-windows", "ucrt", "x86_64-pc-windows-gnu"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("ucrtAarch64", "aarch64-w64-mingw32", "aarch64-windows", "ucrt", "aarch64-pc-windows-gnu"), (Some("aarch64"), "arm64", "aarch64", false)),
            (("vc4", "vc4-unknown-none-elf", "vc4-none", "newlib", "vc4-unknown-none-elf"), (Some("vc4"), "vc4", "vc4", false)),
            (("wasi32", "wasm32-unknown-wasi", "wasm32-wasi", "wasilibc", "wasm32-wasip1"), (Some("wasm32"), "wasm32", "wasm32", true)),
            (("wasm32-unknown-none", "wasm32-unknown-none", "wasm32-none", "none", "wasm32-unknown-none"), (Some("wasm32"), "wasm32", "wasm32", false)),
            (("x86_64-cygwin", "x86_64-pc-cygwin", "x86_64-cygwin", "cygwin", "x86_64-pc-cygwin"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("x86_64-darwin", "x86_64-apple-darwin", "x86_64-darwin", "libSystem", "x86_64-apple-darwin"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("x86_64-embedded", "x86_64-unknown-none-elf", "x86_64-none", "newlib", "x86_64-unknown-none-elf"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("x86_64-freebsd", "x86_64-unknown-freebsd", "x86_64-freebsd", "fblibc", "x86_64-unknown-freebsd"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("x86_64-netbsd", "x86_64-unknown-netbsd", "x86_64-netbsd", "nblibc", "x86_64-unknown-netbsd"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("x86_64-netbsd-llvm", "x86_64-unknown-netbsd", "x86_64-netbsd", "nblibc", "x86_64-unknown-netbsd"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("x86_64-openbsd", "x86_64-unknown-openbsd", "x86_64-openbsd", "oblibc", "x86_64-unknown-openbsd"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("x86_64-unknown-redox", "x86_64-unknown-redox", "x86_64-redox", "relibc", "x86_64-unknown-redox"), (Some("x86_64"), "x86_64", "x86_64", true)),
            (("x86_64-unknown-uefi", "x86_64-unknown-uefi", "x86_64-uefi", "native/impure", "x86_64-unknown-uefi"), (Some("x86_64"), "x86_64", "x86_64", false)),
            (("x86_64-windows", "x86_64-pc-windows-msvc", "x86_64-windows", "ucrt", "x86_64-pc-windows-msvc"), (Some("x86_64"), "x86_64", "x86_64", false)),
        ];
        assert_eq!(table.len(), catalog::CATALOG.len());
        for &((name, canonical, system, libc, rust), (qemu, linux, uname, is_static)) in table {
            let p = Platform::parse(name).expect(name);
            assert_eq!(p.canonical_config(), canonical, "{name}");
            assert_eq!(p.system(), system, "{name}");
            assert_eq!(p.libc().name(), libc, "{name}");
            assert_eq!(p.rust_target().as_deref(), Some(rust), "{name}");
            assert_eq!(p.nix_qemu_arch(), qemu, "{name}");
            assert_eq!(p.linux_arch(), Some(linux), "{name}");
            assert_eq!(p.uname_machine(), Some(uname), "{name}");
            assert_eq!(p.is_static(), is_static, "{name}");
        }
    }

    #[test]
    fn debian_names_of_the_linux_architectures_debian_has() {
        let cases = [
            ("amd64", "x86_64-linux-gnu", "x86_64", "x86_64"),
            ("arm64", "aarch64-linux-gnu", "aarch64", "arm64"),
            ("armel", "arm-linux-gnueabi", "arm", "arm"),
            ("armhf", "arm-linux-gnueabihf", "arm", "arm"),
            ("i386", "i386-linux-gnu", "i386", "i386"),
            ("mips64el", "mips64el-linux-gnuabi64", "mips64el", "mips"),
            ("ppc64el", "powerpc64le-linux-gnu", "ppc64le", "powerpc"),
            ("s390x", "s390x-linux-gnu", "s390x", "s390"),
            ("riscv64", "riscv64-linux-gnu", "riscv64", "riscv"),
        ];
        for (arch, multiarch, qemu, linux) in cases {
            let platform = Platform::parse(arch).expect(arch);
            assert_eq!(platform.debian_arch(), Some(arch));
            assert_eq!(platform.multiarch(), Some(multiarch), "{arch}");
            assert_eq!(platform.qemu_user(), Some(qemu), "{arch}");
            assert_eq!(platform.linux_arch(), Some(linux), "{arch}");
        }
        assert_eq!(
            Platform::parse("i386").expect("i386").debian_gnu_type(),
            Some("i686-linux-gnu")
        );
    }

    #[test]
    fn unknown_cpu_names_the_part_and_suggests() {
        let error = Platform::parse("risc64-unknown-linux-gnu").expect_err("risc64 is not a cpu");
        let message = error.to_string();
        assert!(message.contains("unknown cpu `risc64`"), "{message}");
        assert!(message.contains("did you mean `riscv64`"), "{message}");
        assert!(error
            .hint()
            .is_some_and(|hint| hint.contains("riscv64-unknown-linux-gnu")));
    }

    #[test]
    fn can_execute_follows_nixpkgs() {
        let parse = |s: &str| Platform::parse(s).expect(s);
        let yes = [
            ("x86_64-linux", "i686-linux"),
            ("x86_64-linux", "i386-linux"),
            ("x86_64-linux", "x86_64-unknown-linux-musl"),
            ("aarch64-linux", "armv8a-linux"),
            ("armv7l-linux", "armv6l-linux"),
            ("armv7a-linux", "armv5tel-linux"),
            ("mips64el-linux", "mipsel-linux"),
            ("riscv64-linux", "riscv32-linux"),
            ("powerpc64le-linux", "powerpcle-linux"),
        ];
        let no = [
            ("i686-linux", "x86_64-linux"),
            ("x86_64-linux", "aarch64-linux"),
            ("x86_64-linux", "x86_64-darwin"),
            ("aarch64-linux", "aarch64-android"),
            // Since nixpkgs 22.11, modes of a mode-switching CPU are not compatible.
            ("aarch64-linux", "armv7l-linux"),
            ("powerpc64-linux", "powerpc64le-linux"),
            ("mips64el-linux", "mips-linux"),
            ("aarch64-linux", "aarch64_be-linux"),
            ("x86_64-darwin", "x86_64-linux"),
        ];
        for (host, target) in yes {
            assert!(
                parse(host).can_execute(&parse(target)),
                "{host} runs {target}"
            );
        }
        for (host, target) in no {
            assert!(
                !parse(host).can_execute(&parse(target)),
                "{host} runs not {target}"
            );
        }
    }

    fn arbitrary_platform() -> impl proptest::strategy::Strategy<Value = Platform> {
        use proptest::prelude::*;
        (
            proptest::sample::select(Cpu::ALL),
            proptest::sample::select(Vendor::ALL),
            proptest::sample::select(Kernel::ALL),
            proptest::sample::select(Abi::ALL),
        )
            .prop_filter(
                "Linux and Windows always have an ABI (nixpkgs fills in `gnu`)",
                |(_, _, kernel, abi)| {
                    !(matches!(kernel, Kernel::Linux | Kernel::Windows) && *abi == Abi::Unknown)
                },
            )
            .prop_map(|(cpu, vendor, kernel, abi)| Platform::new(cpu, vendor, kernel, abi))
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        /// `Display` (the config) parses back to the same platform, and prints the same.
        #[test]
        fn config_round_trips(platform in arbitrary_platform()) {
            let text = platform.to_string();
            let parsed = Platform::parse(&text);
            proptest::prop_assert!(parsed.is_ok(), "{text}: {parsed:?}");
            let parsed = parsed.expect("checked");
            proptest::prop_assert_eq!(&parsed, &platform, "{}", text);
            proptest::prop_assert_eq!(parsed.to_string(), text);
        }

        /// The Nix double names a platform with the same cpu and kernel.
        #[test]
        fn system_round_trips(platform in arbitrary_platform()) {
            let system = platform.system();
            let parsed = Platform::parse(&system).expect("a double parses");
            proptest::prop_assert_eq!(parsed.cpu(), platform.cpu());
            // Like nixpkgs' `doubleFromSystem`, the double says `darwin` for iOS too.
            if platform.kernel().is_darwin() {
                proptest::prop_assert!(parsed.kernel().is_darwin());
            } else {
                proptest::prop_assert_eq!(parsed.kernel(), platform.kernel());
            }
            proptest::prop_assert_eq!(parsed.system(), system);
        }

        /// Every accessor answers for every platform without panicking, and the OCI name
        /// parses back to the same CPU.
        #[test]
        fn accessors_never_panic(platform in arbitrary_platform()) {
            let _ = (platform.rust_target(), platform.llvm_triple(), platform.debian_arch());
            let _ = (platform.qemu_user(), platform.linux_arch(), platform.uname_machine());
            let _ = (platform.elf(), platform.multiarch(), platform.nix_qemu_arch());
            if let Some(oci) = platform.oci_platform() {
                let parsed = Platform::parse(&oci).expect("an OCI name parses");
                proptest::prop_assert_eq!(parsed.oci_platform(), Some(oci));
            }
        }

        #[test]
        fn parse_never_panics(input in "\\PC{0,40}") {
            let _ = Platform::parse(&input);
        }

    }

    proptest::proptest! {
        // The error path computes suggestions (edit distances to ~300 names): fewer cases.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// Whatever name parses (catalog names, Debian architectures, Nix doubles and triples
        /// built from known and unknown parts), the names the platform renders parse back to
        /// it; the fuzz target `platform_parse` checks the same on any text.
        #[test]
        fn names_a_parsed_platform_renders_parse_back(
            input in proptest::prop_oneof![
                proptest::sample::select(crate::CATALOG).prop_map(|entry| entry.name.to_string()),
                proptest::sample::select(crate::DEBIAN_ARCHES).prop_map(|arch| arch.name.to_string()),
                proptest::sample::select(crate::DEBIAN_ARCHES).prop_map(|arch| arch.gnu_type.to_string()),
                proptest::collection::vec(
                    proptest::prop_oneof![
                        proptest::sample::select(Cpu::ALL).prop_map(|c| c.name().to_string()),
                        proptest::sample::select(Vendor::ALL).prop_map(|v| v.name().to_string()),
                        proptest::sample::select(Kernel::ALL).prop_map(|k| k.name().to_string()),
                        proptest::sample::select(Abi::ALL).prop_map(|a| a.name().to_string()),
                        "[a-z0-9_]{1,6}",
                    ],
                    1..5,
                ).prop_map(|parts| parts.join("-")),
            ],
        ) {
            if let Ok(platform) = Platform::parse(&input) {
                for (what, name) in [
                    ("config", platform.config()),
                    ("canonical config", platform.canonical_config()),
                    ("display name", platform.display_name()),
                ] {
                    let again = Platform::parse(&name);
                    proptest::prop_assert!(again.is_ok(), "{input}: its {what} `{name}`: {again:?}");
                    let again = again.expect("checked");
                    // A catalog entry says what a config cannot (`isStatic`, `ucrt64`'s
                    // `libc = "ucrt"`): its config names the same cpu, vendor, kernel and ABI;
                    // its catalog name, and every other name, the whole platform.
                    let same = if platform.catalog_name().is_some() && what != "display name" {
                        (again.cpu(), again.vendor(), again.kernel(), again.abi())
                            == (platform.cpu(), platform.vendor(), platform.kernel(), platform.abi())
                    } else {
                        again == platform
                    };
                    proptest::prop_assert!(same, "{input} is {platform:?}; its {what} `{name}` is {again:?}");
                }
            }
        }

        #[test]
        fn parse_of_near_names_never_panics(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(Cpu::ALL).prop_map(|c| c.name().to_string()),
                    proptest::sample::select(Kernel::ALL).prop_map(|k| k.name().to_string()),
                    proptest::sample::select(Abi::ALL).prop_map(|a| a.name().to_string()),
                    "[a-z0-9_.]{0,8}",
                ],
                0..6,
            ),
            separator in proptest::prop_oneof![proptest::strategy::Just("-"), proptest::strategy::Just("/")],
        ) {
            let input = parts.join(separator);
            if let Err(error) = Platform::parse(&input) {
                // Every error names the input and has a hint.
                let quoted = format!("`{input}`");
                proptest::prop_assert!(error.to_string().contains(&quoted), "{}", error);
                proptest::prop_assert!(error.hint().is_some());
            }
        }
    }
}
