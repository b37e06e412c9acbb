//! CPUs: nixpkgs' `lib.systems.parse.cpuTypes`, plus the CPUs Debian has Linux ports for.
//!
//! One row per CPU in [`Cpu::info`]: name, family, width, byte order and its ELF machine, so
//! adding a CPU is adding one variant and one row.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Endian {
    Little,
    Big,
}

impl Endian {
    /// `little` or `big` (as `dpkg-architecture -q DEB_HOST_ARCH_ENDIAN` prints it).
    pub fn name(self) -> &'static str {
        match self {
            Endian::Little => "little",
            Endian::Big => "big",
        }
    }
}

impl fmt::Display for Endian {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The CPU of a platform (nixpkgs' `parsed.cpu`), e.g. `aarch64`, `armv7l`, `riscv64`.
///
/// `Display` prints the nixpkgs / GNU name; `FromStr` accepts exactly those names (the aliases
/// other tools use, `arm64`, `riscv64gc`, `armv7`, are handled by the triple parsers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
#[non_exhaustive]
pub enum Cpu {
    Arm,
    Armeb,
    Armv5tel,
    Armv6m,
    Armv6l,
    Armv7a,
    Armv7r,
    Armv7m,
    Armv7l,
    Armv8a,
    Armv8r,
    Armv8m,
    Aarch64,
    Aarch64Be,
    I386,
    I486,
    I586,
    I686,
    X86_64,
    Alpha,
    Arc,
    Avr,
    Avr32,
    Hppa,
    Ia64,
    Javascript,
    Loongarch64,
    M32r,
    M68k,
    Microblaze,
    Microblazeel,
    Mips,
    Mipsel,
    Mips64,
    Mips64el,
    Mipsisa32r6,
    Mipsisa32r6el,
    Mipsisa64r6,
    Mipsisa64r6el,
    Mmix,
    Msp430,
    Nios2,
    Or1k,
    Powerpc,
    Powerpcle,
    Powerpc64,
    Powerpc64le,
    Riscv32,
    Riscv64,
    Rx,
    S390,
    S390x,
    Sh3,
    Sh3eb,
    Sh4,
    Sh4eb,
    Sparc,
    Sparc64,
    Tilegx,
    Vc4,
    Wasm32,
    Wasm64,
}

/// The facts about one CPU.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuInfo {
    pub name: &'static str,
    pub family: &'static str,
    pub bits: u32,
    pub endian: Endian,
    /// ELF `e_machine` (`EM_*` from `<elf.h>`), when the CPU has ELF binaries.
    pub elf_machine: Option<u16>,
    /// nixpkgs' `cpu.version` for ARM (`"7"` for armv7l); 0 when nixpkgs has none.
    pub arm_version: u8,
}

const fn row(
    name: &'static str,
    family: &'static str,
    bits: u32,
    endian: Endian,
    elf_machine: Option<u16>,
    arm_version: u8,
) -> CpuInfo {
    CpuInfo {
        name,
        family,
        bits,
        endian,
        elf_machine,
        arm_version,
    }
}

use object::elf;
use Endian::{Big as B, Little as L};

impl Cpu {
    /// Every CPU, in declaration order.
    pub const ALL: &'static [Cpu] = &[
        Cpu::Arm,
        Cpu::Armeb,
        Cpu::Armv5tel,
        Cpu::Armv6m,
        Cpu::Armv6l,
        Cpu::Armv7a,
        Cpu::Armv7r,
        Cpu::Armv7m,
        Cpu::Armv7l,
        Cpu::Armv8a,
        Cpu::Armv8r,
        Cpu::Armv8m,
        Cpu::Aarch64,
        Cpu::Aarch64Be,
        Cpu::I386,
        Cpu::I486,
        Cpu::I586,
        Cpu::I686,
        Cpu::X86_64,
        Cpu::Alpha,
        Cpu::Arc,
        Cpu::Avr,
        Cpu::Avr32,
        Cpu::Hppa,
        Cpu::Ia64,
        Cpu::Javascript,
        Cpu::Loongarch64,
        Cpu::M32r,
        Cpu::M68k,
        Cpu::Microblaze,
        Cpu::Microblazeel,
        Cpu::Mips,
        Cpu::Mipsel,
        Cpu::Mips64,
        Cpu::Mips64el,
        Cpu::Mipsisa32r6,
        Cpu::Mipsisa32r6el,
        Cpu::Mipsisa64r6,
        Cpu::Mipsisa64r6el,
        Cpu::Mmix,
        Cpu::Msp430,
        Cpu::Nios2,
        Cpu::Or1k,
        Cpu::Powerpc,
        Cpu::Powerpcle,
        Cpu::Powerpc64,
        Cpu::Powerpc64le,
        Cpu::Riscv32,
        Cpu::Riscv64,
        Cpu::Rx,
        Cpu::S390,
        Cpu::S390x,
        Cpu::Sh3,
        Cpu::Sh3eb,
        Cpu::Sh4,
        Cpu::Sh4eb,
        Cpu::Sparc,
        Cpu::Sparc64,
        Cpu::Tilegx,
        Cpu::Vc4,
        Cpu::Wasm32,
        Cpu::Wasm64,
    ];

    /// The facts table. Names, families, widths and byte orders follow nixpkgs'
    /// `lib/systems/parse.nix` `cpuTypes`; the CPUs nixpkgs lacks follow `dpkg`'s `cputable`.
    /// ELF machines are from `<elf.h>`.
    pub(crate) const fn info(self) -> CpuInfo {
        let arm = Some(elf::EM_ARM);
        let mips = Some(elf::EM_MIPS);
        match self {
            Cpu::Arm => row("arm", "arm", 32, L, arm, 0),
            Cpu::Armeb => row("armeb", "arm", 32, B, arm, 0),
            Cpu::Armv5tel => row("armv5tel", "arm", 32, L, arm, 5),
            Cpu::Armv6m => row("armv6m", "arm", 32, L, arm, 6),
            Cpu::Armv6l => row("armv6l", "arm", 32, L, arm, 6),
            Cpu::Armv7a => row("armv7a", "arm", 32, L, arm, 7),
            Cpu::Armv7r => row("armv7r", "arm", 32, L, arm, 7),
            Cpu::Armv7m => row("armv7m", "arm", 32, L, arm, 7),
            Cpu::Armv7l => row("armv7l", "arm", 32, L, arm, 7),
            Cpu::Armv8a => row("armv8a", "arm", 32, L, arm, 8),
            Cpu::Armv8r => row("armv8r", "arm", 32, L, arm, 8),
            Cpu::Armv8m => row("armv8m", "arm", 32, L, arm, 8),
            Cpu::Aarch64 => row("aarch64", "arm", 64, L, Some(elf::EM_AARCH64), 8),
            Cpu::Aarch64Be => row("aarch64_be", "arm", 64, B, Some(elf::EM_AARCH64), 8),
            Cpu::I386 => row("i386", "x86", 32, L, Some(elf::EM_386), 0),
            Cpu::I486 => row("i486", "x86", 32, L, Some(elf::EM_386), 0),
            Cpu::I586 => row("i586", "x86", 32, L, Some(elf::EM_386), 0),
            Cpu::I686 => row("i686", "x86", 32, L, Some(elf::EM_386), 0),
            Cpu::X86_64 => row("x86_64", "x86", 64, L, Some(elf::EM_X86_64), 0),
            Cpu::Alpha => row("alpha", "alpha", 64, L, Some(elf::EM_ALPHA), 0),
            Cpu::Arc => row("arc", "arc", 32, L, Some(elf::EM_ARC_COMPACT2), 0),
            // nixpkgs gives 8-bit AVR no byte order; a single byte is trivially little-endian.
            Cpu::Avr => row("avr", "avr", 8, L, Some(elf::EM_AVR), 0),
            Cpu::Avr32 => row("avr32", "avr32", 32, B, Some(0x18ad), 0),
            Cpu::Hppa => row("hppa", "hppa", 32, B, Some(elf::EM_PARISC), 0),
            Cpu::Ia64 => row("ia64", "ia64", 64, L, Some(elf::EM_IA_64), 0),
            Cpu::Javascript => row("javascript", "javascript", 32, L, None, 0),
            Cpu::Loongarch64 => row(
                "loongarch64",
                "loongarch",
                64,
                L,
                Some(elf::EM_LOONGARCH),
                0,
            ),
            Cpu::M32r => row("m32r", "m32r", 32, B, Some(elf::EM_M32R), 0),
            Cpu::M68k => row("m68k", "m68k", 32, B, Some(elf::EM_68K), 0),
            Cpu::Microblaze => row(
                "microblaze",
                "microblaze",
                32,
                B,
                Some(elf::EM_MICROBLAZE),
                0,
            ),
            Cpu::Microblazeel => row(
                "microblazeel",
                "microblaze",
                32,
                L,
                Some(elf::EM_MICROBLAZE),
                0,
            ),
            Cpu::Mips => row("mips", "mips", 32, B, mips, 0),
            Cpu::Mipsel => row("mipsel", "mips", 32, L, mips, 0),
            Cpu::Mips64 => row("mips64", "mips", 64, B, mips, 0),
            Cpu::Mips64el => row("mips64el", "mips", 64, L, mips, 0),
            Cpu::Mipsisa32r6 => row("mipsisa32r6", "mips", 32, B, mips, 0),
            Cpu::Mipsisa32r6el => row("mipsisa32r6el", "mips", 32, L, mips, 0),
            Cpu::Mipsisa64r6 => row("mipsisa64r6", "mips", 64, B, mips, 0),
            Cpu::Mipsisa64r6el => row("mipsisa64r6el", "mips", 64, L, mips, 0),
            Cpu::Mmix => row("mmix", "mmix", 64, B, Some(elf::EM_MMIX), 0),
            Cpu::Msp430 => row("msp430", "msp430", 16, L, Some(elf::EM_MSP430), 0),
            Cpu::Nios2 => row("nios2", "nios2", 32, L, Some(elf::EM_ALTERA_NIOS2), 0),
            Cpu::Or1k => row("or1k", "or1k", 32, B, Some(elf::EM_OPENRISC), 0),
            Cpu::Powerpc => row("powerpc", "power", 32, B, Some(elf::EM_PPC), 0),
            Cpu::Powerpcle => row("powerpcle", "power", 32, L, Some(elf::EM_PPC), 0),
            Cpu::Powerpc64 => row("powerpc64", "power", 64, B, Some(elf::EM_PPC64), 0),
            Cpu::Powerpc64le => row("powerpc64le", "power", 64, L, Some(elf::EM_PPC64), 0),
            Cpu::Riscv32 => row("riscv32", "riscv", 32, L, Some(elf::EM_RISCV), 0),
            Cpu::Riscv64 => row("riscv64", "riscv", 64, L, Some(elf::EM_RISCV), 0),
            Cpu::Rx => row("rx", "rx", 32, L, Some(elf::EM_RX), 0),
            Cpu::S390 => row("s390", "s390", 32, B, Some(elf::EM_S390), 0),
            Cpu::S390x => row("s390x", "s390", 64, B, Some(elf::EM_S390), 0),
            Cpu::Sh3 => row("sh3", "sh", 32, L, Some(elf::EM_SH), 0),
            Cpu::Sh3eb => row("sh3eb", "sh", 32, B, Some(elf::EM_SH), 0),
            Cpu::Sh4 => row("sh4", "sh", 32, L, Some(elf::EM_SH), 0),
            Cpu::Sh4eb => row("sh4eb", "sh", 32, B, Some(elf::EM_SH), 0),
            Cpu::Sparc => row("sparc", "sparc", 32, B, Some(elf::EM_SPARC), 0),
            Cpu::Sparc64 => row("sparc64", "sparc", 64, B, Some(elf::EM_SPARCV9), 0),
            Cpu::Tilegx => row("tilegx", "tilegx", 64, L, Some(elf::EM_TILEGX), 0),
            Cpu::Vc4 => row("vc4", "vc4", 32, L, None, 0),
            Cpu::Wasm32 => row("wasm32", "wasm", 32, L, None, 0),
            Cpu::Wasm64 => row("wasm64", "wasm", 64, L, None, 0),
        }
    }

    /// The name nixpkgs and GNU configs use (`aarch64`, `armv7l`, `powerpc64le`).
    pub fn name(self) -> &'static str {
        self.info().name
    }
    /// The family (`arm`, `x86`, `riscv`, `power`, `mips`, ...), as nixpkgs' `cpu.family`.
    pub fn family(self) -> &'static str {
        self.info().family
    }
    /// 8, 16, 32 or 64.
    pub fn bits(self) -> u32 {
        self.info().bits
    }
    pub fn endian(self) -> Endian {
        self.info().endian
    }
    /// The ELF `e_machine` its binaries carry, if it has ELF binaries.
    pub fn elf_machine(self) -> Option<u16> {
        self.info().elf_machine
    }
    /// 32-bit ARM (nixpkgs `isAarch32`).
    pub fn is_aarch32(self) -> bool {
        self.family() == "arm" && self.bits() == 32
    }
    /// nixpkgs' `cpu.version` for ARM CPUs (`Some(7)` for `armv7l`).
    pub fn arm_version(self) -> Option<u8> {
        match self.info().arm_version {
            0 => None,
            version => Some(version),
        }
    }
    /// 64-bit MIPS (classic or release 6).
    pub fn is_mips64(self) -> bool {
        self.family() == "mips" && self.bits() == 64
    }

    /// nixpkgs' `parse.isCompatible a b`: can code built for `other` run on `self`?
    ///
    /// Transcribed from nixpkgs `lib/systems/parse.nix` (`isCompatible`): the x86 chain
    /// i386 < i486 < i586 < i686 < x86_64, the ARM version chains, 32-bit on 64-bit for
    /// PowerPC, MIPS, RISC-V, SPARC and wasm.
    pub fn is_compatible(self, other: Cpu) -> bool {
        // Search over "which CPUs directly run this code" edges, remembering visited CPUs
        // (the bi-endian pairs make the graph cyclic). Fewer than 64 CPUs: one bit each.
        let mut visited: u64 = 0;
        let mut stack = vec![other];
        while let Some(cpu) = stack.pop() {
            if cpu == self {
                return true;
            }
            let bit = 1u64 << (cpu as u32);
            if visited & bit != 0 {
                continue;
            }
            visited |= bit;
            stack.extend_from_slice(runners(cpu));
        }
        false
    }
}

/// The CPUs that can directly run `target`'s code (one step of nixpkgs' `isCompatible`,
/// `lib/systems/parse.nix`). Since nixpkgs 22.11 the modes of a mode-switching CPU
/// (AArch32 on AArch64, the two byte orders of bi-endian CPUs) are not compatible.
fn runners(target: Cpu) -> &'static [Cpu] {
    use Cpu::*;
    match target {
        I386 => &[I486],
        I486 => &[I586],
        I586 => &[I686],
        // nixpkgs: "XXX: Not true in some cases. Like in WSL mode."
        I686 => &[X86_64],
        Arm => &[Armv5tel],
        Armv5tel => &[Armv6l],
        Armv6l => &[Armv6m],
        Armv6m => &[Armv7l],
        Armv7l => &[Armv7a, Armv7r, Armv7m],
        Aarch64 => &[Armv8a],
        Armv8a => &[Aarch64],
        Armv8r | Armv8m => &[Armv8a],
        Powerpc => &[Powerpc64],
        Powerpcle => &[Powerpc64le],
        Mips => &[Mips64],
        Mipsel => &[Mips64el],
        Riscv32 => &[Riscv64],
        Sparc => &[Sparc64],
        Wasm32 => &[Wasm64],
        _ => &[],
    }
}

impl fmt::Display for Cpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Cpu> for &'static str {
    fn from(cpu: Cpu) -> &'static str {
        cpu.name()
    }
}

impl FromStr for Cpu {
    type Err = crate::Error;
    fn from_str(name: &str) -> Result<Cpu, crate::Error> {
        Cpu::ALL
            .iter()
            .copied()
            .find(|cpu| cpu.name() == name)
            .ok_or_else(|| crate::error::unknown_part(name, "cpu", name, Cpu::names()))
    }
}

impl Cpu {
    pub(crate) fn names() -> impl Iterator<Item = &'static str> {
        Cpu::ALL.iter().map(|cpu| cpu.name())
    }
}
