//! What CPU a binary needs, as its ELF file records it.
//!
//! Pure: read from the file's bytes with `object` (its attributes-section, note and
//! program-header readers); any input gives a value, never a panic. What is read:
//! - ARM: `.ARM.attributes`, vendor `aeabi` (ARM IHI 0045, "Addenda to, and Errata in, the ABI
//!   for the Arm Architecture", §2.5; binutils `include/elf/arm.h`): `Tag_CPU_arch` (6),
//!   `Tag_CPU_arch_profile` (7), `Tag_THUMB_ISA_use` (9), `Tag_FP_arch` (10),
//!   `Tag_Advanced_SIMD_arch` (12), `Tag_ABI_VFP_args` (28).
//! - RISC-V: `.riscv.attributes`, vendor `riscv` (RISC-V ELF psABI, "RISC-V ELF Attributes"):
//!   `Tag_RISCV_arch` (5), the ISA string (`rv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0_zicsr2p0...`).
//! - x86: the `GNU` property note (`NT_GNU_PROPERTY_TYPE_0`): `GNU_PROPERTY_X86_ISA_1_NEEDED`
//!   and `_USED` (x86-64 psABI §"Program Property"; written by `gcc -mneeded`, or by
//!   `ld -z x86-64-v3`, and by `as -mx86-used-note=yes`).
//! - MIPS: `e_flags` (`EF_MIPS_ARCH`, `EF_MIPS_ABI`, `EF_MIPS_ABI2`, `EF_MIPS_NAN2008`) and the
//!   `.MIPS.abiflags` section / `PT_MIPS_ABIFLAGS` segment (`Elf_MIPS_ABIFlags_v0`, binutils
//!   `include/elf/mips.h`: version u16, isa_level u8, isa_rev u8, gpr_size, cpr1_size,
//!   cpr2_size, fp_abi u8, then four u32).
//! - PowerPC64: the ELF ABI version in `e_flags & 3` (ppc64 psABI: 1 ELFv1, 2 ELFv2).
//!
//! What the attributes record is what the toolchain assembled *anywhere* in the file. A
//! library may hold code it only runs after checking the CPU at run time: Debian's armhf
//! `libc.so.6` records `Tag_FP_arch: VFPv3` and `Tag_Advanced_SIMD_arch: NEONv1` because glibc
//! carries NEON and VFP-D32 `memcpy` variants chosen by `AT_HWCAP` (glibc
//! `sysdeps/arm/armv7/multiarch/`), while its baseline is VFPv3-D16. So the FP and SIMD
//! architectures are reported as what the file *may use* ([`Certainty::MayUse`]); the
//! architecture version, Thumb-2, the VFP argument passing, the x86 `NEEDED` level, the RISC-V
//! ISA string and the MIPS ISA are what it *needs* ([`Certainty::Needs`]).

use std::collections::BTreeSet;
use std::fmt;

use object::elf;
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use object::Endianness;
use serde::{Serialize, Serializer};

/// Declares a closed set of values with a name each (`name()`, `Display`, serialized as the
/// name) and the number the file records, when there is one.
macro_rules! named_values {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The name `readelf -A` prints (or the architecture manual's).
            pub fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.name())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }
    };
}

named_values! {
    /// An ARM architecture version: the values of `Tag_CPU_arch` (binutils
    /// `include/elf/arm.h` `TAG_CPU_ARCH_*`; names as `readelf -A` prints them).
    pub enum ArmArch {
        V4 => "v4",
        V4T => "v4T",
        V5T => "v5T",
        V5TE => "v5TE",
        V5TEJ => "v5TEJ",
        V6 => "v6",
        V6KZ => "v6KZ",
        V6T2 => "v6T2",
        V6K => "v6K",
        V7 => "v7",
        V6M => "v6-M",
        V6SM => "v6S-M",
        V7EM => "v7E-M",
        V8A => "v8",
        V8R => "v8-R",
        V8MBase => "v8-M.baseline",
        V8MMain => "v8-M.mainline",
        V8_1MMain => "v8.1-M.mainline",
        V9A => "v9",
    }
}

impl ArmArch {
    /// The architecture for a `Tag_CPU_arch` value (0, "pre-v4", is not one archway runs).
    pub fn from_tag(value: u64) -> Option<ArmArch> {
        let arch = match value {
            1 => ArmArch::V4,
            2 => ArmArch::V4T,
            3 => ArmArch::V5T,
            4 => ArmArch::V5TE,
            5 => ArmArch::V5TEJ,
            6 => ArmArch::V6,
            7 => ArmArch::V6KZ,
            8 => ArmArch::V6T2,
            9 => ArmArch::V6K,
            10 => ArmArch::V7,
            11 => ArmArch::V6M,
            12 => ArmArch::V6SM,
            13 => ArmArch::V7EM,
            14 => ArmArch::V8A,
            15 => ArmArch::V8R,
            16 => ArmArch::V8MBase,
            17 => ArmArch::V8MMain,
            21 => ArmArch::V8_1MMain,
            22 => ArmArch::V9A,
            _ => return None,
        };
        Some(arch)
    }

    /// The `Tag_CPU_arch` value.
    pub fn tag(self) -> u64 {
        match self {
            ArmArch::V4 => 1,
            ArmArch::V4T => 2,
            ArmArch::V5T => 3,
            ArmArch::V5TE => 4,
            ArmArch::V5TEJ => 5,
            ArmArch::V6 => 6,
            ArmArch::V6KZ => 7,
            ArmArch::V6T2 => 8,
            ArmArch::V6K => 9,
            ArmArch::V7 => 10,
            ArmArch::V6M => 11,
            ArmArch::V6SM => 12,
            ArmArch::V7EM => 13,
            ArmArch::V8A => 14,
            ArmArch::V8R => 15,
            ArmArch::V8MBase => 16,
            ArmArch::V8MMain => 17,
            ArmArch::V8_1MMain => 21,
            ArmArch::V9A => 22,
        }
    }

    /// How a person names it: `ARMv7`, `ARMv6KZ`, `ARMv8-A`.
    pub fn display_name(self) -> String {
        match self {
            ArmArch::V8A => "ARMv8-A".to_string(),
            ArmArch::V9A => "ARMv9-A".to_string(),
            other => format!("ARM{}", other.name()),
        }
    }

    /// The microcontroller (M) profile: Thumb only, no ARM state.
    pub fn is_m_profile(self) -> bool {
        matches!(
            self,
            ArmArch::V6M | ArmArch::V6SM | ArmArch::V7EM | ArmArch::V8MBase | ArmArch::V8MMain
        ) || self == ArmArch::V8_1MMain
    }

    /// Does the architecture have Thumb-2 (ARM ARM: ARMv6T2 and every later A/R/M-mainline
    /// architecture; ARMv6-M and ARMv8-M baseline have only a few 32-bit Thumb instructions)?
    pub fn has_thumb2(self) -> bool {
        matches!(
            self,
            ArmArch::V6T2
                | ArmArch::V7
                | ArmArch::V7EM
                | ArmArch::V8A
                | ArmArch::V8R
                | ArmArch::V8MMain
                | ArmArch::V8_1MMain
                | ArmArch::V9A
        )
    }

    /// Does a CPU of this architecture run code built for `needed`? The A/R line is a chain
    /// up to ARMv6, then forks: ARMv6K and ARMv6T2 are each a subset of ARMv7 but not of each
    /// other, ARMv6KZ is ARMv6K with the security extensions (ARM ARM, "ARMv6K" / "ARMv6T2" /
    /// "Security Extensions"). The M profile runs only M-profile (Thumb) code.
    pub fn includes(self, needed: ArmArch) -> bool {
        use ArmArch::*;
        if self == needed {
            return true;
        }
        let a_rank = |arch: ArmArch| -> Option<u8> {
            Some(match arch {
                V4 => 1,
                V4T => 2,
                V5T => 3,
                V5TE => 4,
                V5TEJ => 5,
                V6 => 6,
                V6K | V6T2 => 7,
                V6KZ => 8,
                V7 => 9,
                V8R => 10,
                V8A => 11,
                V9A => 12,
                _ => return None,
            })
        };
        let m_rank = |arch: ArmArch| -> Option<u8> {
            Some(match arch {
                V6M => 1,
                V6SM => 2,
                V8MBase => 3,
                V7EM => 4,
                V8MMain => 5,
                V8_1MMain => 6,
                _ => return None,
            })
        };
        match (self, needed) {
            // The forks: neither of ARMv6K/ARMv6KZ and ARMv6T2 includes the other.
            (V6K | V6KZ, V6T2) | (V6T2, V6K | V6KZ) => false,
            // ARMv8-R is not a superset of ARMv8-A, nor the reverse.
            (V8A | V9A, V8R) | (V8R, V8A | V9A) => false,
            _ => match (a_rank(self), a_rank(needed), m_rank(self), m_rank(needed)) {
                (Some(cpu), Some(code), _, _) => cpu >= code,
                (_, _, Some(cpu), Some(code)) => cpu >= code,
                _ => false,
            },
        }
    }
}

named_values! {
    /// An ARM floating-point architecture: the values of `Tag_FP_arch`.
    pub enum ArmFp {
        Vfpv1 => "VFPv1",
        Vfpv2 => "VFPv2",
        Vfpv3 => "VFPv3",
        Vfpv3D16 => "VFPv3-D16",
        Vfpv4 => "VFPv4",
        Vfpv4D16 => "VFPv4-D16",
        Armv8 => "FP for ARMv8",
        Armv8D16 => "FPv5/FP-D16 for ARMv8",
    }
}

impl ArmFp {
    /// The FP architecture for a `Tag_FP_arch` value (0 is "no FP").
    pub fn from_tag(value: u64) -> Option<ArmFp> {
        Some(match value {
            1 => ArmFp::Vfpv1,
            2 => ArmFp::Vfpv2,
            3 => ArmFp::Vfpv3,
            4 => ArmFp::Vfpv3D16,
            5 => ArmFp::Vfpv4,
            6 => ArmFp::Vfpv4D16,
            7 => ArmFp::Armv8,
            8 => ArmFp::Armv8D16,
            _ => return None,
        })
    }

    fn version(self) -> u8 {
        match self {
            ArmFp::Vfpv1 => 1,
            ArmFp::Vfpv2 => 2,
            ArmFp::Vfpv3 | ArmFp::Vfpv3D16 => 3,
            ArmFp::Vfpv4 | ArmFp::Vfpv4D16 => 4,
            ArmFp::Armv8 | ArmFp::Armv8D16 => 8,
        }
    }

    /// 32 double registers (VFPv1 and VFPv2 have 16; the `-D16` variants too).
    fn d32(self) -> bool {
        matches!(self, ArmFp::Vfpv3 | ArmFp::Vfpv4 | ArmFp::Armv8)
    }

    /// Does an FPU of this architecture run code built for `needed`? A later version has the
    /// earlier one's instructions; code using d16-d31 needs an FPU with 32 registers.
    pub fn includes(self, needed: ArmFp) -> bool {
        self.version() >= needed.version() && (self.d32() || !needed.d32())
    }
}

named_values! {
    /// ARM Advanced SIMD (NEON): the values of `Tag_Advanced_SIMD_arch`.
    pub enum ArmSimd {
        Neonv1 => "NEONv1",
        Neonv2 => "NEONv1 with Fused-MAC",
        Armv8 => "NEON for ARMv8",
        Armv8_1 => "NEON for ARMv8.1",
    }
}

impl ArmSimd {
    /// The SIMD architecture for a `Tag_Advanced_SIMD_arch` value (0 is none).
    pub fn from_tag(value: u64) -> Option<ArmSimd> {
        Some(match value {
            1 => ArmSimd::Neonv1,
            2 => ArmSimd::Neonv2,
            3 => ArmSimd::Armv8,
            4 => ArmSimd::Armv8_1,
            _ => return None,
        })
    }
}

/// What a 32-bit ARM file's `aeabi` attributes say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ArmRequirements {
    /// `Tag_CPU_arch`.
    pub arch: Option<ArmArch>,
    /// `Tag_CPU_arch_profile`: `A`, `R`, `M` or `S` (classic or A/R).
    pub profile: Option<char>,
    /// `Tag_THUMB_ISA_use` = 2: Thumb-2 instructions are used.
    pub thumb2: bool,
    /// `Tag_FP_arch` (`None`: no floating-point instructions).
    pub fp: Option<ArmFp>,
    /// `Tag_Advanced_SIMD_arch` (`None`: no NEON).
    pub simd: Option<ArmSimd>,
    /// `Tag_ABI_VFP_args` = 1: floating-point arguments in VFP registers (hard-float ABI).
    pub vfp_arguments: bool,
}

/// A RISC-V ISA: the base width and the set of extensions (`rv64gc` is `rv64` with `i m a f d
/// c zicsr zifencei`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiscvIsa {
    /// 32 or 64.
    pub xlen: u32,
    /// Extension names, lower case, without versions (`i`, `m`, `zicsr`).
    pub extensions: BTreeSet<String>,
    /// The text it was read from (`Tag_RISCV_arch`, or a `-march` value).
    pub text: String,
}

impl RiscvIsa {
    /// Parses `rv64i2p1_m2p0_a2p1_..._zicsr2p0` (binutils' canonical form, with versions) or
    /// `rv64gc` / `rv64imac_zicsr_zifencei` (a `-march` value). `None` for text that is not
    /// an ISA string.
    pub fn parse(text: &str) -> Option<RiscvIsa> {
        let lower = text.trim().to_ascii_lowercase();
        let rest = lower.strip_prefix("rv")?;
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let xlen: u32 = rest[..digits_end].parse().ok()?;
        if xlen != 32 && xlen != 64 && xlen != 128 {
            return None;
        }
        let mut extensions = BTreeSet::new();
        let mut first = true;
        for token in rest[digits_end..].split('_') {
            if token.is_empty() {
                continue;
            }
            // After the first token, each one is a multi-letter extension (`zicsr2p0`) or a
            // single letter with its version (`m2p0`, binutils' canonical form).
            if !first && token.starts_with(['z', 's', 'x']) {
                extensions.insert(strip_version(token).to_string());
            } else {
                let mut chars = token.chars().peekable();
                while let Some(letter) = chars.next() {
                    if !letter.is_ascii_lowercase() {
                        return None;
                    }
                    if matches!(letter, 'z' | 's' | 'x') {
                        // A multi-letter extension glued to the single letters: the rest.
                        let tail: String = std::iter::once(letter).chain(chars.by_ref()).collect();
                        extensions.insert(strip_version(&tail).to_string());
                        break;
                    }
                    extensions.insert(letter.to_string());
                    // Skip a version: digits, optionally `p` and digits.
                    while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                        chars.next();
                    }
                    if chars.peek() == Some(&'p') {
                        let mut lookahead = chars.clone();
                        lookahead.next();
                        if lookahead.peek().is_some_and(|c| c.is_ascii_digit()) {
                            chars.next();
                            while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                                chars.next();
                            }
                        }
                    }
                }
            }
            first = false;
        }
        if extensions.is_empty() {
            return None;
        }
        Some(RiscvIsa {
            xlen,
            extensions,
            text: text.to_string(),
        })
    }

    /// The extensions with everything they imply (RISC-V ISA manual, "ISA Extension Naming
    /// Conventions" and each extension's dependencies; gcc `riscv-common.cc`
    /// `riscv_implied_info`): `g` is `imafd_zicsr_zifencei`, `m` includes `zmmul`, `d`
    /// needs `f`, `c` includes `zca` (and `zcd` with `d`, `zcf` with `f` on RV32).
    pub fn implied(&self) -> BTreeSet<String> {
        const IMPLIES: &[(&str, &[&str])] = &[
            ("g", &["i", "m", "a", "f", "d", "zicsr", "zifencei"]),
            ("m", &["zmmul"]),
            ("a", &["zaamo", "zalrsc"]),
            ("f", &["zicsr"]),
            ("d", &["f"]),
            ("q", &["d"]),
            ("c", &["zca"]),
            ("b", &["zba", "zbb", "zbs"]),
            ("v", &["zve64d", "zvl128b"]),
            ("zve64d", &["zve64f", "d"]),
            ("zve64f", &["zve64x", "zve32f"]),
            ("zve64x", &["zve32x", "zvl64b"]),
            ("zve32f", &["zve32x", "f"]),
            ("zve32x", &["zvl32b", "zicsr"]),
            ("zvl128b", &["zvl64b"]),
            ("zvl64b", &["zvl32b"]),
        ];
        let mut all = self.extensions.clone();
        loop {
            let before = all.len();
            for (extension, implied) in IMPLIES {
                if all.contains(*extension) {
                    all.extend(implied.iter().map(|name| name.to_string()));
                }
            }
            if all.contains("c") && all.contains("d") {
                all.insert("zcd".to_string());
            }
            if self.xlen == 32 && all.contains("c") && all.contains("f") {
                all.insert("zcf".to_string());
            }
            if all.len() == before {
                return all;
            }
        }
    }

    /// The extensions `needed` uses that this ISA lacks (empty: it runs), or `None` when the
    /// widths differ.
    pub fn missing(&self, needed: &RiscvIsa) -> Option<Vec<String>> {
        if self.xlen != needed.xlen {
            return None;
        }
        let have = self.implied();
        Some(
            needed
                .extensions
                .iter()
                .filter(|extension| !have.contains(*extension))
                .cloned()
                .collect(),
        )
    }
}

/// `zicsr2p0` → `zicsr`, `zve32x1p0` → `zve32x`, `zvl128b` → `zvl128b`.
fn strip_version(token: &str) -> &str {
    let bytes = token.as_bytes();
    let mut end = bytes.len();
    while end > 0 && bytes[end - 1].is_ascii_digit() {
        end -= 1;
    }
    if end < bytes.len() && end > 1 && bytes[end - 1] == b'p' {
        let mut major = end - 1;
        while major > 0 && bytes[major - 1].is_ascii_digit() {
            major -= 1;
        }
        if major < end - 1 && major > 0 {
            return &token[..major];
        }
    }
    if end < bytes.len() && end > 0 && !bytes[end - 1].is_ascii_digit() {
        // `zve32x1` (major version only): the digits after the last letter.
        return &token[..end];
    }
    token
}

named_values! {
    /// An x86 ISA level (x86-64 psABI "Micro-architecture levels"; `GNU_PROPERTY_X86_ISA_1_*`
    /// bits). `BelowBaseline` is a CPU without CMOV/CX8 (i386 to i586): no file records it.
    pub enum X86Level {
        BelowBaseline => "below baseline",
        Baseline => "x86-64-baseline",
        V2 => "x86-64-v2",
        V3 => "x86-64-v3",
        V4 => "x86-64-v4",
    }
}

impl X86Level {
    /// The highest level in a `GNU_PROPERTY_X86_ISA_1_*` bit set (each level's bit is set
    /// alone by `ld -z x86-64-vN`; `gcc -mneeded` sets the lower ones too).
    pub fn from_bits(bits: u32) -> Option<X86Level> {
        if bits & elf::GNU_PROPERTY_X86_ISA_1_V4 != 0 {
            Some(X86Level::V4)
        } else if bits & elf::GNU_PROPERTY_X86_ISA_1_V3 != 0 {
            Some(X86Level::V3)
        } else if bits & elf::GNU_PROPERTY_X86_ISA_1_V2 != 0 {
            Some(X86Level::V2)
        } else if bits & elf::GNU_PROPERTY_X86_ISA_1_BASELINE != 0 {
            Some(X86Level::Baseline)
        } else {
            None
        }
    }
}

/// The x86 ISA property notes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct X86Requirements {
    /// `GNU_PROPERTY_X86_ISA_1_NEEDED`: the loader may refuse a CPU below it.
    pub needed: Option<X86Level>,
    /// `GNU_PROPERTY_X86_ISA_1_USED`: instructions present, possibly behind a CPU check.
    pub used: Option<X86Level>,
}

/// A MIPS ISA: a legacy level (MIPS I-V) or MIPS32/MIPS64 with a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MipsIsa {
    /// 1-5 (MIPS I-V), 32 or 64.
    pub level: u8,
    /// The release of MIPS32/MIPS64 (1, 2, 3, 5, 6); 0 for the legacy levels.
    pub release: u8,
}

impl MipsIsa {
    /// From `e_flags & EF_MIPS_ARCH` (`<elf.h>`).
    pub fn from_flags(flags: u32) -> Option<MipsIsa> {
        let (level, release) = match flags & elf::EF_MIPS_ARCH {
            elf::EF_MIPS_ARCH_1 => (1, 0),
            elf::EF_MIPS_ARCH_2 => (2, 0),
            elf::EF_MIPS_ARCH_3 => (3, 0),
            elf::EF_MIPS_ARCH_4 => (4, 0),
            elf::EF_MIPS_ARCH_5 => (5, 0),
            elf::EF_MIPS_ARCH_32 => (32, 1),
            elf::EF_MIPS_ARCH_64 => (64, 1),
            elf::EF_MIPS_ARCH_32R2 => (32, 2),
            elf::EF_MIPS_ARCH_64R2 => (64, 2),
            elf::EF_MIPS_ARCH_32R6 => (32, 6),
            elf::EF_MIPS_ARCH_64R6 => (64, 6),
            _ => return None,
        };
        Some(MipsIsa { level, release })
    }

    /// From `-march` (`mips32r2`, `mips64r6`, `mips3`, `loongson2f`...).
    pub fn from_march(text: &str) -> Option<MipsIsa> {
        let text = text.to_ascii_lowercase();
        // GCC's `mips-cpus.def`: the Loongson 2E/2F are MIPS III with vendor extensions,
        // Loongson 3A MIPS64r2.
        let (level, release) = match text.as_str() {
            "loongson2e" | "loongson2f" | "r4000" | "vr4300" => (3, 0),
            "loongson3a" | "gs464" | "gs464e" | "gs264e" | "octeon" | "octeon2" | "octeon3" => {
                (64, 2)
            }
            "r3000" => (1, 0),
            "r6000" => (2, 0),
            "r10000" | "r12000" | "r8000" => (4, 0),
            "4kc" | "4kec" | "24kc" | "24kec" | "34kc" | "74kc" | "m14k" | "1004kc" => (32, 2),
            "4km" | "4kp" | "jz4740" | "xburst" => (32, 1),
            "5kc" | "5kf" | "20kc" => (64, 1),
            "p5600" | "interaptiv" | "m5100" => (32, 5),
            "i6400" | "p6600" | "i6500" => (64, 6),
            other => {
                let rest = other.strip_prefix("mips")?;
                match rest {
                    "1" | "2" | "3" | "4" | "5" => (rest.parse().ok()?, 0),
                    "32" | "64" => (rest.parse().ok()?, 1),
                    _ => {
                        let (width, release) = rest.split_once('r')?;
                        let width: u8 = width.parse().ok()?;
                        let release: u8 = release.parse().ok()?;
                        if !matches!(width, 32 | 64) || !matches!(release, 1..=6) {
                            return None;
                        }
                        (width, release)
                    }
                }
            }
        };
        Some(MipsIsa { level, release })
    }

    /// Does a CPU of this ISA run code for `needed`? MIPS32 includes MIPS II, MIPS64 includes
    /// MIPS V, a later release includes the earlier ones, and release 6 removed instructions
    /// (branch-likely, unaligned loads...) so it runs only release-6 code ("MIPS Architecture
    /// For Programmers Volume I", "Release 6").
    pub fn includes(self, needed: MipsIsa) -> bool {
        let r6 = |isa: MipsIsa| isa.release >= 6;
        if r6(self) || r6(needed) {
            return r6(self) && r6(needed) && self.level >= needed.level;
        }
        let legacy = |isa: MipsIsa| isa.level <= 5;
        match (legacy(self), legacy(needed)) {
            (true, true) => self.level >= needed.level,
            (false, true) => self.level == 64 || needed.level <= 2,
            (true, false) => false,
            (false, false) => self.level >= needed.level && self.release >= needed.release,
        }
    }
}

impl fmt::Display for MipsIsa {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.level, self.release) {
            (level @ 1..=5, _) => {
                let roman = ["I", "II", "III", "IV", "V"][usize::from(level - 1)];
                write!(formatter, "MIPS {roman}")
            }
            (width, 1) => write!(formatter, "MIPS{width}"),
            (width, release) => write!(formatter, "MIPS{width}r{release}"),
        }
    }
}

impl Serialize for MipsIsa {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

named_values! {
    /// A MIPS ABI (`e_flags & EF_MIPS_ABI`, `EF_MIPS_ABI2`, the ELF class).
    pub enum MipsAbi {
        O32 => "o32",
        N32 => "n32",
        N64 => "n64",
        O64 => "o64",
        Eabi32 => "eabi32",
        Eabi64 => "eabi64",
    }
}

/// What a MIPS file's header and `.MIPS.abiflags` say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MipsRequirements {
    /// The ISA (`.MIPS.abiflags` `isa_level`/`isa_rev` when present: it also tells releases 3
    /// and 5, which `e_flags` cannot; else `EF_MIPS_ARCH`).
    pub isa: Option<MipsIsa>,
    pub abi: Option<MipsAbi>,
    /// `.MIPS.abiflags` `fp_abi` (`Val_GNU_MIPS_ABI_FP_*`: 1 double, 2 single, 3 soft,
    /// 5 FPXX, 6 FP64, 7 FP64A).
    pub fp_abi: Option<u8>,
    /// `EF_MIPS_NAN2008`: IEEE 754-2008 NaNs (release 6 CPUs, some release 5 ones).
    pub nan2008: bool,
}

/// What CPU a binary needs, as far as its file records it. `Default` is "nothing recorded".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Requirements {
    pub arm: Option<ArmRequirements>,
    /// `Tag_RISCV_arch`.
    pub riscv: Option<RiscvIsa>,
    pub x86: Option<X86Requirements>,
    pub mips: Option<MipsRequirements>,
    /// PowerPC64 ELF ABI version (`e_flags & 3`: 1 ELFv1, 2 ELFv2, 0 unspecified).
    pub powerpc64_abi: Option<u8>,
}

impl Requirements {
    /// Nothing recorded.
    pub fn is_empty(&self) -> bool {
        self == &Requirements::default()
    }

    /// One line per requirement for people (`ARMv7 (Tag_CPU_arch v7)`, `Thumb-2`...).
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(arm) = &self.arm {
            if let Some(arch) = arm.arch {
                let profile = match arm.profile {
                    Some(profile @ ('A' | 'R' | 'M')) => format!("-{profile}"),
                    _ => String::new(),
                };
                let name = arch.display_name();
                let name = if name.ends_with("-A") || name.contains("-M") {
                    name
                } else {
                    format!("{name}{profile}")
                };
                lines.push(format!("{name} (Tag_CPU_arch {arch})"));
            }
            if arm.thumb2 {
                lines.push("Thumb-2 (Tag_THUMB_ISA_use)".to_string());
            }
            if arm.vfp_arguments {
                lines
                    .push("VFP registers for arguments (Tag_ABI_VFP_args, hard-float)".to_string());
            }
            if let Some(fp) = arm.fp {
                lines.push(format!("may use {fp} (Tag_FP_arch)"));
            }
            if let Some(simd) = arm.simd {
                lines.push(format!("may use {simd} (Tag_Advanced_SIMD_arch)"));
            }
        }
        if let Some(riscv) = &self.riscv {
            lines.push(format!("{} (Tag_RISCV_arch)", riscv.text));
        }
        if let Some(x86) = &self.x86 {
            if let Some(needed) = x86.needed {
                lines.push(format!("{needed} (GNU_PROPERTY_X86_ISA_1_NEEDED)"));
            }
            if let Some(used) = x86.used {
                lines.push(format!("may use {used} (GNU_PROPERTY_X86_ISA_1_USED)"));
            }
        }
        if let Some(mips) = &self.mips {
            if let Some(isa) = mips.isa {
                lines.push(format!("{isa} (ISA level)"));
            }
            if let Some(abi) = mips.abi {
                lines.push(format!("{abi} ABI"));
            }
            if let Some(name) = mips.fp_abi.and_then(mips_fp_abi_name) {
                lines.push(format!("{name} (FP ABI)"));
            }
            if mips.nan2008 {
                lines.push("IEEE 754-2008 NaN (EF_MIPS_NAN2008)".to_string());
            }
        }
        if let Some(version) = self.powerpc64_abi {
            let name = match version {
                1 => "ELFv1 ABI (e_flags 1)".to_string(),
                2 => "ELFv2 ABI (e_flags 2)".to_string(),
                other => format!("ABI version {other} (e_flags)"),
            };
            lines.push(name);
        }
        lines
    }
}

/// `Val_GNU_MIPS_ABI_FP_*` (binutils `include/elf/mips.h`).
fn mips_fp_abi_name(value: u8) -> Option<&'static str> {
    Some(match value {
        1 => "hard float, double precision",
        2 => "hard float, single precision",
        3 => "soft float",
        4 => "hard float, 64-bit FPU with 32-bit registers (deprecated)",
        5 => "hard float, FPXX",
        6 => "hard float, FP64",
        7 => "hard float, FP64A",
        _ => return None,
    })
}

/// Whether a finding is certain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Certainty {
    /// The file cannot run on a CPU without it.
    Needs,
    /// The file holds such instructions, possibly behind a run-time CPU check (see the module
    /// docs): worth a warning, not a refusal.
    MayUse,
}

/// What an ELF file records about the CPU it needs.
pub(crate) fn elf_requirements<'data, H: FileHeader<Endian = Endianness>>(
    file: &object::read::elf::ElfFile<'data, H, &'data [u8]>,
) -> Requirements {
    let endian = file.endian();
    let header = file.elf_header();
    let machine = header.e_machine(endian);
    let flags = header.e_flags(endian);
    let mut requirements = Requirements::default();
    match machine {
        elf::EM_ARM => {
            requirements.arm = attributes_of(file, elf::SHT_ARM_ATTRIBUTES, b"aeabi")
                .map(|tags| arm_requirements(&tags));
        }
        elf::EM_RISCV => {
            requirements.riscv =
                attributes_of(file, elf::SHT_RISCV_ATTRIBUTES, b"riscv").and_then(|tags| {
                    tags.iter().find_map(|(tag, value)| match (tag, value) {
                        (5, AttributeValue::Text(text)) => RiscvIsa::parse(text),
                        _ => None,
                    })
                });
        }
        elf::EM_386 | elf::EM_X86_64 => {
            requirements.x86 = x86_requirements(file);
        }
        elf::EM_MIPS => {
            let class64 = header.is_class_64();
            let abi = match flags & elf::EF_MIPS_ABI {
                elf::EF_MIPS_ABI_O32 => Some(MipsAbi::O32),
                elf::EF_MIPS_ABI_O64 => Some(MipsAbi::O64),
                elf::EF_MIPS_ABI_EABI32 => Some(MipsAbi::Eabi32),
                elf::EF_MIPS_ABI_EABI64 => Some(MipsAbi::Eabi64),
                _ if flags & elf::EF_MIPS_ABI2 != 0 => Some(MipsAbi::N32),
                _ if class64 => Some(MipsAbi::N64),
                // A 32-bit file with no ABI bits: o32 (binutils `elf32-mips.c` default).
                _ => Some(MipsAbi::O32),
            };
            let abiflags = mips_abiflags(file);
            let isa = abiflags
                .and_then(|(level, release, _)| match (level, release) {
                    (1..=5, _) => Some(MipsIsa { level, release: 0 }),
                    (32 | 64, 1..=6) => Some(MipsIsa { level, release }),
                    _ => None,
                })
                .or_else(|| MipsIsa::from_flags(flags));
            requirements.mips = Some(MipsRequirements {
                isa,
                abi,
                fp_abi: abiflags.map(|(_, _, fp_abi)| fp_abi).filter(|&fp| fp != 0),
                nan2008: flags & elf::EF_MIPS_NAN2008 != 0,
            });
        }
        elf::EM_PPC64 => {
            let version = (flags & elf::EF_PPC64_ABI) as u8;
            requirements.powerpc64_abi = (version != 0).then_some(version);
        }
        _ => {}
    }
    requirements
}

/// One attribute's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AttributeValue {
    Number(u64),
    Text(String),
}

/// The `Tag_File` attributes of the `vendor` subsection of the first section of type
/// `section_type`, read with `object`'s `AttributesSection`. `None` when the file has no such
/// section; a malformed one gives the attributes read before the fault.
fn attributes_of<'data, H: FileHeader<Endian = Endianness>>(
    file: &object::read::elf::ElfFile<'data, H, &'data [u8]>,
    section_type: u32,
    vendor: &[u8],
) -> Option<Vec<(u64, AttributeValue)>> {
    let endian = file.endian();
    let section = file
        .elf_section_table()
        .iter()
        .find(|section| section.sh_type(endian) == section_type)?;
    let attributes = section.attributes(endian, file.data()).ok()?;
    let mut values = Vec::new();
    let Ok(subsections) = attributes.subsections() else {
        return Some(values);
    };
    for subsection in subsections {
        let Ok(subsection) = subsection else { break };
        if subsection.vendor() != vendor {
            continue;
        }
        for subsubsection in subsection.subsubsections() {
            let Ok(subsubsection) = subsubsection else {
                break;
            };
            // Tag_Section / Tag_Symbol attributes apply to parts of the file; a requirement
            // of any part is one of the file.
            let mut reader = subsubsection.attributes();
            while let Ok(Some(tag)) = reader.read_tag() {
                let value = if attribute_is_text(vendor, tag) {
                    match reader.read_string() {
                        Ok(text) => {
                            AttributeValue::Text(String::from_utf8_lossy(text).into_owned())
                        }
                        Err(_) => break,
                    }
                } else if vendor == b"aeabi" && tag == 32 {
                    // Tag_compatibility: a flag (ULEB128), then a vendor name.
                    if reader.read_integer().is_err() || reader.read_string().is_err() {
                        break;
                    }
                    continue;
                } else {
                    match reader.read_integer() {
                        Ok(number) => AttributeValue::Number(number),
                        Err(_) => break,
                    }
                };
                values.push((tag, value));
            }
        }
    }
    Some(values)
}

/// Whether an attribute's value is a NUL-terminated string. ARM (IHI 0045 §2.2.6): the
/// string tags below 32 are `Tag_CPU_raw_name` (4) and `Tag_CPU_name` (5); above 32, odd tags
/// are strings. RISC-V (psABI): odd tags are strings, even ones ULEB128.
fn attribute_is_text(vendor: &[u8], tag: u64) -> bool {
    if vendor == b"aeabi" {
        tag == 4 || tag == 5 || (tag > 32 && tag % 2 == 1)
    } else {
        tag % 2 == 1
    }
}

fn arm_requirements(tags: &[(u64, AttributeValue)]) -> ArmRequirements {
    let mut arm = ArmRequirements::default();
    for (tag, value) in tags {
        let AttributeValue::Number(number) = value else {
            continue;
        };
        match tag {
            6 => arm.arch = ArmArch::from_tag(*number),
            7 => {
                arm.profile = u8::try_from(*number)
                    .ok()
                    .filter(u8::is_ascii_uppercase)
                    .map(char::from)
            }
            9 => arm.thumb2 = *number == 2,
            10 => arm.fp = ArmFp::from_tag(*number),
            12 => arm.simd = ArmSimd::from_tag(*number),
            28 => arm.vfp_arguments = *number == 1,
            _ => {}
        }
    }
    arm
}

/// `Tag_CPU_arch` of a 32-bit ARM file, for identification.
pub(crate) fn arm_architecture<'data, H: FileHeader<Endian = Endianness>>(
    file: &object::read::elf::ElfFile<'data, H, &'data [u8]>,
) -> Option<ArmArch> {
    attributes_of(file, elf::SHT_ARM_ATTRIBUTES, b"aeabi")
        .and_then(|tags| arm_requirements(&tags).arch)
}

/// The x86 ISA properties, from the note segments (executables, libraries) or, when there
/// are none, the note sections (relocatable objects).
fn x86_requirements<'data, H: FileHeader<Endian = Endianness>>(
    file: &object::read::elf::ElfFile<'data, H, &'data [u8]>,
) -> Option<X86Requirements> {
    let endian = file.endian();
    let data = file.data();
    let mut needed: Option<u32> = None;
    let mut used: Option<u32> = None;
    let mut read_note = |note: object::read::elf::Note<'data, H>| {
        let Some(mut properties) = note.gnu_properties(endian) else {
            return;
        };
        while let Ok(Some(property)) = properties.next() {
            let Ok(bits) = property.data_u32(endian) else {
                continue;
            };
            match property.pr_type() {
                elf::GNU_PROPERTY_X86_ISA_1_NEEDED => *needed.get_or_insert(0) |= bits,
                elf::GNU_PROPERTY_X86_ISA_1_USED => *used.get_or_insert(0) |= bits,
                _ => {}
            }
        }
    };
    let mut from_segments = false;
    if let Ok(segments) = file.elf_header().program_headers(endian, data) {
        for segment in segments {
            // PT_GNU_PROPERTY repeats the PT_NOTE that holds the same note: read PT_NOTE only.
            if segment.p_type(endian) != elf::PT_NOTE {
                continue;
            }
            if let Ok(Some(mut notes)) = segment.notes(endian, data) {
                from_segments = true;
                while let Ok(Some(note)) = notes.next() {
                    read_note(note);
                }
            }
        }
    }
    if !from_segments {
        for section in file.elf_section_table().iter() {
            if let Ok(Some(mut notes)) = section.notes(endian, data) {
                while let Ok(Some(note)) = notes.next() {
                    read_note(note);
                }
            }
        }
    }
    if needed.is_none() && used.is_none() {
        return None;
    }
    Some(X86Requirements {
        needed: needed.and_then(X86Level::from_bits),
        used: used.and_then(X86Level::from_bits),
    })
}

/// `.MIPS.abiflags`: (isa_level, isa_rev, fp_abi), from the `PT_MIPS_ABIFLAGS` segment (kept
/// when a caller drops the section table) or the `SHT_MIPS_ABIFLAGS` section.
fn mips_abiflags<'data, H: FileHeader<Endian = Endianness>>(
    file: &object::read::elf::ElfFile<'data, H, &'data [u8]>,
) -> Option<(u8, u8, u8)> {
    /// `SHT_MIPS_ABIFLAGS` (binutils `include/elf/mips.h`; not in `object`).
    const SHT_MIPS_ABIFLAGS: u32 = 0x7000_002a;
    let endian = file.endian();
    let data = file.data();
    let from_segment = file
        .elf_header()
        .program_headers(endian, data)
        .ok()
        .and_then(|segments| {
            segments
                .iter()
                .find(|segment| segment.p_type(endian) == elf::PT_MIPS_ABIFLAGS)
                .and_then(|segment| segment.data(endian, data).ok())
        });
    let bytes = from_segment.or_else(|| {
        file.elf_section_table()
            .iter()
            .find(|section| section.sh_type(endian) == SHT_MIPS_ABIFLAGS)
            .and_then(|section| section.data(endian, data).ok())
    })?;
    // Elf_MIPS_ABIFlags_v0: version (u16), isa_level, isa_rev, gpr_size, cpr1_size,
    // cpr2_size, fp_abi (u8 each), ... Single bytes: no byte order to mind.
    let abiflags = object::read::Bytes(bytes);
    let level = *abiflags.read_at::<u8>(2).ok()?;
    let release = *abiflags.read_at::<u8>(3).ok()?;
    let fp_abi = *abiflags.read_at::<u8>(7).ok()?;
    Some((level, release, fp_abi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn riscv_isa_strings_parse_with_and_without_versions() {
        let canonical =
            RiscvIsa::parse("rv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0_zicsr2p0_zifencei2p0_zmmul1p0")
                .expect("binutils' string");
        assert_eq!(canonical.xlen, 64);
        let names: Vec<&str> = canonical.extensions.iter().map(String::as_str).collect();
        assert_eq!(
            names,
            ["a", "c", "d", "f", "i", "m", "zicsr", "zifencei", "zmmul"]
        );
        let gc = RiscvIsa::parse("rv64gc").expect("-march");
        assert_eq!(gc.missing(&canonical), Some(vec![]));
        let imac = RiscvIsa::parse("rv64imac").expect("-march");
        assert_eq!(
            imac.missing(&canonical),
            Some(vec![
                "d".to_string(),
                "f".to_string(),
                "zicsr".to_string(),
                "zifencei".to_string()
            ])
        );
        assert_eq!(RiscvIsa::parse("rv32gc").expect("rv32").missing(&gc), None);
        let vector = RiscvIsa::parse("rv64gcv_zvl256b").expect("vector");
        assert!(vector.implied().contains("zve32x"));
        assert_eq!(strip_version("zve32x1p0"), "zve32x");
        assert_eq!(strip_version("zvl128b"), "zvl128b");
        assert_eq!(strip_version("zicsr2"), "zicsr");
        for bad in ["", "rv", "x86", "rv63i", "rv64", "rv64I!"] {
            assert_eq!(RiscvIsa::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn arm_architectures_form_the_manual_order() {
        use ArmArch::*;
        let cases = [
            (V7, V6KZ, true),
            (V6KZ, V7, false),
            (V6KZ, V6K, true),
            (V6K, V6KZ, false),
            (V6KZ, V6T2, false),
            (V6T2, V6K, false),
            (V7, V6T2, true),
            (V6KZ, V5TE, true),
            (V8A, V7, true),
            (V8A, V8R, false),
            (V7EM, V6M, true),
            (V7, V6M, false),
            (V6M, V4T, false),
        ];
        for (cpu, code, runs) in cases {
            assert_eq!(cpu.includes(code), runs, "{cpu} runs {code}");
        }
        for arch in ArmArch::ALL {
            assert_eq!(ArmArch::from_tag(arch.tag()), Some(*arch));
            assert!(arch.includes(*arch));
        }
        assert!(ArmFp::Vfpv4D16.includes(ArmFp::Vfpv3D16));
        assert!(!ArmFp::Vfpv4D16.includes(ArmFp::Vfpv3));
        assert!(!ArmFp::Vfpv2.includes(ArmFp::Vfpv3D16));
        assert!(ArmFp::Vfpv3.includes(ArmFp::Vfpv2));
    }

    #[test]
    fn mips_isas_include_their_predecessors_but_release_6_stands_apart() {
        let isa = |text| MipsIsa::from_march(text).expect(text);
        let cases = [
            ("mips32r2", "mips32", true),
            ("mips32", "mips32r2", false),
            ("mips64r2", "mips32r2", true),
            ("mips32r2", "mips64", false),
            ("mips32r2", "mips2", true),
            ("mips32r2", "mips3", false),
            ("mips64r2", "mips5", true),
            ("loongson2f", "mips3", true),
            ("loongson2f", "mips32", false),
            ("mips64r6", "mips64r2", false),
            ("mips64r6", "mips32r6", true),
            ("mips64r2", "mips32r6", false),
        ];
        for (cpu, code, runs) in cases {
            assert_eq!(isa(cpu).includes(isa(code)), runs, "{cpu} runs {code}");
        }
        assert_eq!(isa("mips32r2").to_string(), "MIPS32r2");
        assert_eq!(isa("mips3").to_string(), "MIPS III");
        assert_eq!(MipsIsa::from_march("mips32r9"), None);
    }

    #[test]
    fn x86_levels_come_from_the_highest_bit() {
        assert_eq!(X86Level::from_bits(0b0111), Some(X86Level::V3));
        assert_eq!(X86Level::from_bits(0b0101), Some(X86Level::V3));
        assert_eq!(X86Level::from_bits(1), Some(X86Level::Baseline));
        assert_eq!(X86Level::from_bits(0), None);
        assert_eq!(X86Level::from_bits(0x10), None);
    }
}
