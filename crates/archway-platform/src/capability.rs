//! What a platform's CPU can run, and whether a binary's [`Requirements`] fit it.
//!
//! A [`CpuCapability`] is built from nixpkgs-style `gcc` settings (`arch`, `cpu`, `fpu`:
//! `lib/systems/platforms.nix`, the `-march` / `-mcpu` / `-mfpu` values GCC takes) with
//! [`CpuCapability::from_gcc`]; [`CpuCapability::of_platform`] takes them from the platform
//! ([`Platform::gcc`](crate::Platform::gcc): the catalog entry's, what the triple implies, or
//! the configuration's `gcc-*` keys) and otherwise uses what nixpkgs' `platforms.select` gives
//! the CPU (`armv6l` → `raspberrypi`, `armv7l` → `armv7l-hf-multiplatform`...).

use std::fmt;

use serde::Serialize;

use crate::cpu::Cpu;
use crate::requirements::{
    ArmArch, ArmFp, ArmSimd, Certainty, MipsIsa, Requirements, RiscvIsa, X86Level,
};
use crate::Platform;

/// What a CPU runs, per family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CpuCapability {
    /// 32-bit ARM: the architecture (Thumb-2 follows from it), the FPU, NEON.
    Arm {
        arch: ArmArch,
        fp: Option<ArmFp>,
        simd: Option<ArmSimd>,
    },
    /// AArch64: the architecture version (`8.0` for ARMv8-A, `8.2`, `9.0`).
    Aarch64 {
        major: u8,
        minor: u8,
    },
    /// x86: the ISA level, and 32 or 64 bits (`Baseline` is i686 on 32-bit x86).
    X86 {
        level: X86Level,
        bits: u32,
    },
    Riscv {
        isa: RiscvIsa,
    },
    Mips {
        isa: MipsIsa,
    },
    /// 64-bit POWER: the ISA's processor generation (8 for POWER8, ISA 2.07).
    Power {
        generation: u8,
    },
    /// z/Architecture: the architecture level (`arch9` is z196).
    S390 {
        level: u8,
    },
}

/// A `gcc` setting archway cannot interpret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {key} `{value}` for a {family} CPU")]
pub struct UnknownCpuSetting {
    /// The setting (`gcc-arch`, `gcc-cpu`, `gcc-fpu`).
    pub key: &'static str,
    pub value: String,
    /// The CPU family (`arm`, `x86`...).
    pub family: &'static str,
}

impl UnknownCpuSetting {
    pub fn hint(&self) -> Option<String> {
        Some(format!(
            "give a value GCC takes for `-m{}` (`{} --target-help` lists them), or leave `{}` unset for the platform's default",
            self.key.trim_start_matches("gcc-"),
            "gcc",
            self.key
        ))
    }
}

impl CpuCapability {
    /// From `gcc` settings as nixpkgs writes them (`arch = "armv6kz"; fpu = "vfpv2";`), for a
    /// platform whose CPU is `cpu`; what is unset comes from the CPU's default
    /// ([`CpuCapability::default_for`]). `Ok(None)`: archway cannot tell for this family.
    pub fn from_gcc(
        cpu: Cpu,
        arch: Option<&str>,
        cpu_name: Option<&str>,
        fpu: Option<&str>,
    ) -> Result<Option<CpuCapability>, UnknownCpuSetting> {
        let family = cpu.family();
        let unknown = |key: &'static str, value: &str| UnknownCpuSetting {
            key,
            value: value.to_string(),
            family,
        };
        if arch.is_none() && cpu_name.is_none() && fpu.is_none() {
            return Ok(CpuCapability::default_for(cpu));
        }
        let capability = match family {
            "arm" if cpu.bits() == 32 => {
                let (arch_value, mut fp, mut simd) = match (arch, cpu_name) {
                    (Some(text), _) => arm_march(text).ok_or_else(|| unknown("gcc-arch", text))?,
                    (None, Some(text)) => arm_mcpu(text).ok_or_else(|| unknown("gcc-cpu", text))?,
                    (None, None) => match CpuCapability::default_for(cpu) {
                        Some(CpuCapability::Arm { arch, fp, simd }) => (arch, fp, simd),
                        _ => return Ok(None),
                    },
                };
                if let Some(text) = fpu.filter(|text| *text != "auto") {
                    (fp, simd) = arm_mfpu(text).ok_or_else(|| unknown("gcc-fpu", text))?;
                }
                CpuCapability::Arm {
                    arch: arch_value,
                    fp,
                    simd,
                }
            }
            "arm" => {
                let (major, minor) = match (arch, cpu_name) {
                    (Some(text), _) => {
                        aarch64_march(text).ok_or_else(|| unknown("gcc-arch", text))?
                    }
                    (None, Some(text)) => {
                        aarch64_mcpu(text).ok_or_else(|| unknown("gcc-cpu", text))?
                    }
                    (None, None) => (8, 0),
                };
                CpuCapability::Aarch64 { major, minor }
            }
            "x86" => {
                let text = arch.or(cpu_name).unwrap_or("");
                let level = if text.is_empty() {
                    match CpuCapability::default_for(cpu) {
                        Some(CpuCapability::X86 { level, .. }) => level,
                        _ => return Ok(None),
                    }
                } else {
                    x86_march(text).ok_or_else(|| {
                        unknown(
                            if arch.is_some() {
                                "gcc-arch"
                            } else {
                                "gcc-cpu"
                            },
                            text,
                        )
                    })?
                };
                CpuCapability::X86 {
                    level,
                    bits: cpu.bits(),
                }
            }
            "riscv" => match arch {
                Some(text) => CpuCapability::Riscv {
                    isa: RiscvIsa::parse(text).ok_or_else(|| unknown("gcc-arch", text))?,
                },
                None => return Ok(CpuCapability::default_for(cpu)),
            },
            "mips" => match arch.or(cpu_name) {
                Some(text) => CpuCapability::Mips {
                    isa: MipsIsa::from_march(text).ok_or_else(|| {
                        unknown(
                            if arch.is_some() {
                                "gcc-arch"
                            } else {
                                "gcc-cpu"
                            },
                            text,
                        )
                    })?,
                },
                None => return Ok(CpuCapability::default_for(cpu)),
            },
            "power" => match cpu_name.or(arch) {
                Some(text) => CpuCapability::Power {
                    generation: power_mcpu(text).ok_or_else(|| {
                        unknown(
                            if cpu_name.is_some() {
                                "gcc-cpu"
                            } else {
                                "gcc-arch"
                            },
                            text,
                        )
                    })?,
                },
                None => return Ok(CpuCapability::default_for(cpu)),
            },
            "s390" => match arch.or(cpu_name) {
                Some(text) => CpuCapability::S390 {
                    level: s390_march(text).ok_or_else(|| unknown("gcc-arch", text))?,
                },
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        Ok(Some(capability))
    }

    /// What the CPU gets with no `gcc` settings: nixpkgs' `platforms.select` (ARM by
    /// `cpu.version`: below 6 `sheevaplug` ARMv5TE, below 7 `raspberrypi` ARMv6KZ + VFPv2,
    /// else `armv7l-hf-multiplatform` ARMv7-A + VFPv3-D16) and GCC's own defaults elsewhere
    /// (x86-64 baseline; i686 for nixpkgs' `i686` configs; `armv8-a`; `rv64gc`; POWER8 for
    /// little-endian ppc64, whose ELFv2 ABI GCC only builds for POWER8 and later; MIPS32r2 /
    /// MIPS64r2 as nixpkgs' MIPS examples set). `None` where the default is not known.
    pub fn default_for(cpu: Cpu) -> Option<CpuCapability> {
        let arm = |arch, fp, simd| Some(CpuCapability::Arm { arch, fp, simd });
        match cpu {
            Cpu::Armv5tel => arm(ArmArch::V5TE, None, None),
            Cpu::Armv6l => arm(ArmArch::V6KZ, Some(ArmFp::Vfpv2), None),
            Cpu::Armv7l | Cpu::Armv7a => arm(ArmArch::V7, Some(ArmFp::Vfpv3D16), None),
            Cpu::Armv8a => arm(ArmArch::V8A, Some(ArmFp::Armv8), Some(ArmSimd::Armv8)),
            Cpu::Aarch64 | Cpu::Aarch64Be => Some(CpuCapability::Aarch64 { major: 8, minor: 0 }),
            Cpu::I386 | Cpu::I486 | Cpu::I586 => Some(CpuCapability::X86 {
                level: X86Level::BelowBaseline,
                bits: 32,
            }),
            Cpu::I686 => Some(CpuCapability::X86 {
                level: X86Level::Baseline,
                bits: 32,
            }),
            Cpu::X86_64 => Some(CpuCapability::X86 {
                level: X86Level::Baseline,
                bits: 64,
            }),
            Cpu::Riscv64 => RiscvIsa::parse("rv64gc").map(|isa| CpuCapability::Riscv { isa }),
            Cpu::Mips | Cpu::Mipsel => Some(CpuCapability::Mips {
                isa: MipsIsa {
                    level: 32,
                    release: 2,
                },
            }),
            Cpu::Mips64 | Cpu::Mips64el => Some(CpuCapability::Mips {
                isa: MipsIsa {
                    level: 64,
                    release: 2,
                },
            }),
            Cpu::Mipsisa32r6 | Cpu::Mipsisa32r6el => Some(CpuCapability::Mips {
                isa: MipsIsa {
                    level: 32,
                    release: 6,
                },
            }),
            Cpu::Mipsisa64r6 | Cpu::Mipsisa64r6el => Some(CpuCapability::Mips {
                isa: MipsIsa {
                    level: 64,
                    release: 6,
                },
            }),
            Cpu::Powerpc64le => Some(CpuCapability::Power { generation: 8 }),
            _ => None,
        }
    }

    /// The platform's CPU: its `gcc` settings, else the
    /// CPU's default. `None` when archway cannot tell.
    pub fn of_platform(platform: &Platform) -> Option<CpuCapability> {
        // The platform's own settings (nixpkgs' `gcc`, or the configuration's `gcc-*` keys).
        let gcc = platform.gcc();
        if gcc.arch.is_none() && gcc.cpu.is_none() && gcc.fpu.is_none() {
            return CpuCapability::default_for(platform.cpu());
        }
        CpuCapability::from_gcc(
            platform.cpu(),
            gcc.arch.as_deref(),
            gcc.cpu.as_deref(),
            gcc.fpu.as_deref(),
        )
        .ok()
        .flatten()
    }

    /// What a binary needs that this CPU lacks, most fundamental first (architecture, then
    /// Thumb-2, the FP argument registers, and what the file may use). Empty: it fits.
    /// Requirements of another CPU family are not compared (that is a platform mismatch).
    pub fn shortfalls(&self, requirements: &Requirements) -> Vec<Shortfall> {
        let mut found = Vec::new();
        let mut add = |certainty, needed: String, evidence: String, available: String| {
            found.push(Shortfall {
                certainty,
                needed,
                evidence,
                available,
            })
        };
        match (self, requirements) {
            (
                CpuCapability::Arm { arch, fp, simd },
                Requirements {
                    arm: Some(needs), ..
                },
            ) => {
                if let Some(needed) = needs.arch {
                    if !arch.includes(needed) {
                        add(
                            Certainty::Needs,
                            needed.display_name(),
                            format!("Tag_CPU_arch {needed}"),
                            format!("CPU is {}", arch.display_name()),
                        );
                    }
                }
                if needs.thumb2 && !arch.has_thumb2() {
                    add(
                        Certainty::Needs,
                        "Thumb-2".to_string(),
                        "Tag_THUMB_ISA_use Thumb-2".to_string(),
                        format!("CPU is {}, which has no Thumb-2", arch.display_name()),
                    );
                }
                if needs.vfp_arguments && fp.is_none() {
                    add(
                        Certainty::Needs,
                        "a VFP unit".to_string(),
                        "Tag_ABI_VFP_args VFP registers".to_string(),
                        "CPU has no FPU".to_string(),
                    );
                }
                if let Some(needed) = needs.fp {
                    if !fp.is_some_and(|have| have.includes(needed)) {
                        add(
                            Certainty::MayUse,
                            needed.to_string(),
                            format!("Tag_FP_arch {needed}"),
                            match fp {
                                Some(have) => format!("FPU is {have}"),
                                None => "CPU has no FPU".to_string(),
                            },
                        );
                    }
                }
                if let Some(needed) = needs.simd {
                    if !simd.is_some_and(|have| have >= needed) {
                        add(
                            Certainty::MayUse,
                            needed.to_string(),
                            format!("Tag_Advanced_SIMD_arch {needed}"),
                            match simd {
                                Some(have) => format!("SIMD unit is {have}"),
                                None => "CPU has no NEON".to_string(),
                            },
                        );
                    }
                }
            }
            (
                CpuCapability::Riscv { isa },
                Requirements {
                    riscv: Some(needed),
                    ..
                },
            ) => match isa.missing(needed) {
                Some(missing) if missing.is_empty() => {}
                Some(missing) => add(
                    Certainty::Needs,
                    format!("the `{}` extensions", missing.join("`, `")),
                    format!("Tag_RISCV_arch {}", needed.text),
                    format!("CPU is {}", isa.text),
                ),
                None => add(
                    Certainty::Needs,
                    format!("RV{}", needed.xlen),
                    format!("Tag_RISCV_arch {}", needed.text),
                    format!("CPU is {}", isa.text),
                ),
            },
            (
                CpuCapability::X86 { level, .. },
                Requirements {
                    x86: Some(needs), ..
                },
            ) => {
                if let Some(needed) = needs.needed.filter(|needed| needed > level) {
                    add(
                        Certainty::Needs,
                        needed.to_string(),
                        "GNU_PROPERTY_X86_ISA_1_NEEDED".to_string(),
                        format!("CPU is {self}"),
                    );
                }
                if let Some(used) = needs.used.filter(|used| used > level) {
                    add(
                        Certainty::MayUse,
                        used.to_string(),
                        "GNU_PROPERTY_X86_ISA_1_USED".to_string(),
                        format!("CPU is {self}"),
                    );
                }
            }
            (
                CpuCapability::Mips { isa },
                Requirements {
                    mips: Some(needs), ..
                },
            ) => {
                if let Some(needed) = needs.isa.filter(|needed| !isa.includes(*needed)) {
                    add(
                        Certainty::Needs,
                        needed.to_string(),
                        "ISA level in e_flags / .MIPS.abiflags".to_string(),
                        format!("CPU is {isa}"),
                    );
                }
            }
            _ => {}
        }
        found
    }

    /// What this CPU lacks of `baseline` (another capability of the same family), one short
    /// phrase each (`ARMv7 (has ARMv6KZ)`). `None` when the families differ.
    pub fn lacks(&self, baseline: &CpuCapability) -> Option<Vec<String>> {
        let mut missing = Vec::new();
        match (self, baseline) {
            (
                CpuCapability::Arm { arch, fp, simd },
                CpuCapability::Arm {
                    arch: base_arch,
                    fp: base_fp,
                    simd: base_simd,
                },
            ) => {
                if !arch.includes(*base_arch) {
                    missing.push(format!(
                        "{} (has {})",
                        base_arch.display_name(),
                        arch.display_name()
                    ));
                }
                if let Some(base_fp) = base_fp {
                    if !fp.is_some_and(|fp| fp.includes(*base_fp)) {
                        missing.push(match fp {
                            Some(fp) => format!("{base_fp} (has {fp})"),
                            None => format!("{base_fp} (has no FPU)"),
                        });
                    }
                }
                if base_arch.has_thumb2() && !arch.has_thumb2() {
                    missing.push("Thumb-2".to_string());
                }
                if let Some(base_simd) = base_simd {
                    if !simd.is_some_and(|simd| simd >= *base_simd) {
                        missing.push(base_simd.to_string());
                    }
                }
            }
            (
                CpuCapability::Aarch64 { major, minor },
                CpuCapability::Aarch64 {
                    major: base_major,
                    minor: base_minor,
                },
            ) => {
                if (major, minor) < (base_major, base_minor) {
                    missing.push(format!("{baseline} (has {self})"));
                }
            }
            (CpuCapability::X86 { level, .. }, CpuCapability::X86 { level: base, .. }) => {
                if level < base {
                    missing.push(format!("{baseline} (has {self})"));
                }
            }
            (CpuCapability::Riscv { isa }, CpuCapability::Riscv { isa: base }) => {
                match isa.missing(base) {
                    Some(lacking) if lacking.is_empty() => {}
                    Some(lacking) => missing.push(format!("`{}`", lacking.join("`, `"))),
                    None => missing.push(format!("RV{}", base.xlen)),
                }
            }
            (CpuCapability::Mips { isa }, CpuCapability::Mips { isa: base }) => {
                if !isa.includes(*base) {
                    missing.push(format!("{base} (has {isa})"));
                }
            }
            (CpuCapability::Power { generation }, CpuCapability::Power { generation: base }) => {
                if generation < base {
                    missing.push(format!("{baseline} (has {self})"));
                }
            }
            (CpuCapability::S390 { level }, CpuCapability::S390 { level: base }) => {
                if level < base {
                    missing.push(format!("{baseline} (has {self})"));
                }
            }
            _ => return None,
        }
        Some(missing)
    }
}

impl fmt::Display for CpuCapability {
    /// `ARMv6KZ + VFPv2`, `ARMv7 + VFPv3-D16 + Thumb-2`, `x86-64-v3`, `rv64gc`, `POWER8`,
    /// `z196 (arch9)`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpuCapability::Arm { arch, fp, simd } => {
                write!(formatter, "{}", arch.display_name())?;
                match fp {
                    Some(fp) => write!(formatter, " + {fp}")?,
                    None => write!(formatter, " soft-float")?,
                }
                if let Some(simd) = simd {
                    write!(formatter, " + {simd}")?;
                }
                if arch.has_thumb2() {
                    write!(formatter, " + Thumb-2")?;
                }
                Ok(())
            }
            CpuCapability::Aarch64 { major, minor: 0 } => write!(formatter, "ARMv{major}-A"),
            CpuCapability::Aarch64 { major, minor } => write!(formatter, "ARMv{major}.{minor}-A"),
            CpuCapability::X86 {
                level: X86Level::Baseline,
                bits: 32,
            } => write!(formatter, "i686"),
            CpuCapability::X86 {
                level: X86Level::BelowBaseline,
                ..
            } => write!(formatter, "i586 or older (no CMOV)"),
            CpuCapability::X86 { level, .. } => write!(formatter, "{level}"),
            CpuCapability::Riscv { isa } => write!(formatter, "{}", isa.text),
            CpuCapability::Mips { isa } => write!(formatter, "{isa}"),
            CpuCapability::Power { generation } => write!(formatter, "POWER{generation}"),
            CpuCapability::S390 { level } => match s390_model(*level) {
                Some(model) => write!(formatter, "{model} (arch{level})"),
                None => write!(formatter, "arch{level}"),
            },
        }
    }
}

/// One requirement a CPU does not meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortfall {
    pub certainty: Certainty,
    /// What the binary needs (`ARMv7`, `Thumb-2`, `x86-64-v3`).
    pub needed: String,
    /// Where the file says so (`Tag_CPU_arch v7`).
    pub evidence: String,
    /// What the CPU has, as the end of a sentence (`CPU is ARMv6KZ`).
    pub available: String,
}

impl Shortfall {
    /// "`libc.so.6` needs ARMv7 (Tag_CPU_arch v7) but raspberryPi's CPU is ARMv6KZ".
    pub fn sentence(&self, file: &str, platform: &str) -> String {
        let verb = match self.certainty {
            Certainty::Needs => "needs",
            Certainty::MayUse => "may use",
        };
        format!(
            "`{file}` {verb} {} ({}) but {platform}'s {}",
            self.needed, self.evidence, self.available
        )
    }
}

/// GCC `-march` for 32-bit ARM: the architecture and the FPU/NEON its `+` extensions add
/// (GCC manual, "ARM Options", `-march`: `+fp` is VFPv2 on ARMv5TE/ARMv6 and VFPv3-D16 on
/// ARMv7; `+simd` is VFPv3 + NEONv1 on ARMv7-A, NEON for ARMv8 on ARMv8-A).
fn arm_march(text: &str) -> Option<(ArmArch, Option<ArmFp>, Option<ArmSimd>)> {
    let lower = text.to_ascii_lowercase();
    let mut parts = lower.split('+');
    let base = parts.next()?;
    let arch = match base {
        "armv4" => ArmArch::V4,
        "armv4t" => ArmArch::V4T,
        "armv5t" => ArmArch::V5T,
        "armv5te" => ArmArch::V5TE,
        "armv5tej" => ArmArch::V5TEJ,
        "armv6" | "armv6j" => ArmArch::V6,
        "armv6k" => ArmArch::V6K,
        "armv6kz" | "armv6zk" | "armv6z" => ArmArch::V6KZ,
        "armv6t2" => ArmArch::V6T2,
        "armv6-m" => ArmArch::V6M,
        "armv6s-m" => ArmArch::V6SM,
        "armv7" | "armv7-a" | "armv7ve" | "armv7-r" => ArmArch::V7,
        "armv7-m" | "armv7e-m" => ArmArch::V7EM,
        "armv8-a" | "armv8.1-a" | "armv8.2-a" | "armv8.3-a" | "armv8.4-a" | "armv8.5-a"
        | "armv8.6-a" => ArmArch::V8A,
        "armv8-r" => ArmArch::V8R,
        "armv8-m.base" => ArmArch::V8MBase,
        "armv8-m.main" => ArmArch::V8MMain,
        "armv8.1-m.main" => ArmArch::V8_1MMain,
        "armv9-a" => ArmArch::V9A,
        _ => return None,
    };
    // armv7ve is ARMv7-A with the virtualization extensions, which include VFPv4 (GCC's
    // `armv7ve` default `+fp` is VFPv4-D16).
    let v8 = matches!(arch, ArmArch::V8A | ArmArch::V9A | ArmArch::V8R);
    let (mut fp, mut simd) = (None, None);
    for extension in parts {
        match extension {
            "fp" if v8 => fp = Some(ArmFp::Armv8),
            "fp" if base == "armv7ve" => fp = Some(ArmFp::Vfpv4D16),
            "fp" if arch == ArmArch::V7 => fp = Some(ArmFp::Vfpv3D16),
            "fp" => fp = Some(ArmFp::Vfpv2),
            "fp.dp" => fp = Some(ArmFp::Armv8D16),
            "simd" if v8 => (fp, simd) = (Some(ArmFp::Armv8), Some(ArmSimd::Armv8)),
            "simd" if base == "armv7ve" => (fp, simd) = (Some(ArmFp::Vfpv4), Some(ArmSimd::Neonv2)),
            "simd" => (fp, simd) = (Some(ArmFp::Vfpv3), Some(ArmSimd::Neonv1)),
            "vfpv3-d16" | "vfpv3-d16-fp16" => fp = Some(ArmFp::Vfpv3D16),
            "vfpv3" | "vfpv3-fp16" => fp = Some(ArmFp::Vfpv3),
            "vfpv4-d16" => fp = Some(ArmFp::Vfpv4D16),
            "vfpv4" => fp = Some(ArmFp::Vfpv4),
            "neon" | "neon-fp16" => (fp, simd) = (Some(ArmFp::Vfpv3), Some(ArmSimd::Neonv1)),
            "neon-vfpv4" => (fp, simd) = (Some(ArmFp::Vfpv4), Some(ArmSimd::Neonv2)),
            "nofp" => (fp, simd) = (None, None),
            "nosimd" => simd = None,
            // Extensions that do not change what is compared here (crc, crypto, sec, mp...).
            _ => {}
        }
    }
    Some((arch, fp, simd))
}

/// GCC `-mcpu` for 32-bit ARM: the architecture and default FPU of the cores nixpkgs names
/// (GCC `config/arm/arm-cpus.in`).
fn arm_mcpu(text: &str) -> Option<(ArmArch, Option<ArmFp>, Option<ArmSimd>)> {
    let lower = text.to_ascii_lowercase();
    let base = lower.split('+').next()?;
    Some(match base {
        "arm926ej-s" => (ArmArch::V5TEJ, None, None),
        "xscale" | "iwmmxt" | "iwmmxt2" => (ArmArch::V5TE, None, None),
        "arm1136jf-s" => (ArmArch::V6, Some(ArmFp::Vfpv2), None),
        "arm1176jzf-s" => (ArmArch::V6KZ, Some(ArmFp::Vfpv2), None),
        "arm1156t2f-s" => (ArmArch::V6T2, Some(ArmFp::Vfpv2), None),
        "cortex-a5" | "cortex-a7" | "cortex-a15" | "cortex-a17" => {
            (ArmArch::V7, Some(ArmFp::Vfpv4), Some(ArmSimd::Neonv2))
        }
        "cortex-a8" | "cortex-a9" => (ArmArch::V7, Some(ArmFp::Vfpv3), Some(ArmSimd::Neonv1)),
        "cortex-a32" | "cortex-a35" | "cortex-a53" | "cortex-a57" | "cortex-a72" | "cortex-a73" => {
            (ArmArch::V8A, Some(ArmFp::Armv8), Some(ArmSimd::Armv8))
        }
        _ => return None,
    })
}

/// GCC `-mfpu` (GCC manual, "ARM Options").
fn arm_mfpu(text: &str) -> Option<(Option<ArmFp>, Option<ArmSimd>)> {
    Some(match text.to_ascii_lowercase().as_str() {
        "vfp" | "vfpv2" => (Some(ArmFp::Vfpv2), None),
        "vfpv3-d16" | "vfpv3-d16-fp16" | "vfpv3xd" | "vfpv3xd-fp16" => {
            (Some(ArmFp::Vfpv3D16), None)
        }
        "vfpv3" | "vfpv3-fp16" => (Some(ArmFp::Vfpv3), None),
        "vfpv4-d16" | "fpv4-sp-d16" => (Some(ArmFp::Vfpv4D16), None),
        "vfpv4" => (Some(ArmFp::Vfpv4), None),
        "neon" | "neon-fp16" => (Some(ArmFp::Vfpv3), Some(ArmSimd::Neonv1)),
        "neon-vfpv4" => (Some(ArmFp::Vfpv4), Some(ArmSimd::Neonv2)),
        "fpv5-d16" | "fpv5-sp-d16" => (Some(ArmFp::Armv8D16), None),
        "fp-armv8" => (Some(ArmFp::Armv8), None),
        "neon-fp-armv8" | "crypto-neon-fp-armv8" => (Some(ArmFp::Armv8), Some(ArmSimd::Armv8)),
        "none" => (None, None),
        _ => return None,
    })
}

/// GCC `-march` for AArch64: `armv8-a`, `armv8.2-a+fp16`, `armv9-a`.
fn aarch64_march(text: &str) -> Option<(u8, u8)> {
    let lower = text.to_ascii_lowercase();
    let base = lower.split('+').next()?;
    let version = base.strip_prefix("armv")?.strip_suffix("-a")?;
    let (major, minor) = match version.split_once('.') {
        Some((major, minor)) => (major.parse().ok()?, minor.parse().ok()?),
        None => (version.parse().ok()?, 0),
    };
    (major == 8 || major == 9).then_some((major, minor))
}

/// GCC `-mcpu` for AArch64: the architecture version of common cores (GCC
/// `config/aarch64/aarch64-cores.def`).
fn aarch64_mcpu(text: &str) -> Option<(u8, u8)> {
    let lower = text.to_ascii_lowercase();
    Some(match lower.split('+').next()? {
        "generic" | "cortex-a35" | "cortex-a53" | "cortex-a57" | "cortex-a72" | "cortex-a73"
        | "thunderx" | "xgene1" => (8, 0),
        "thunderx2t99" => (8, 1),
        "cortex-a55" | "cortex-a65" | "cortex-a75" | "cortex-a76" | "cortex-a77" | "cortex-a78"
        | "cortex-x1" | "neoverse-n1" | "neoverse-e1" => (8, 2),
        "neoverse-v1" => (8, 4),
        "cortex-a510" | "cortex-a710" | "cortex-x2" | "neoverse-n2" | "neoverse-v2" => (9, 0),
        _ => return None,
    })
}

/// GCC `-march` for x86: the micro-architecture levels and common names (GCC manual, "x86
/// Options"; levels per the x86-64 psABI: v2 adds SSE4.2/POPCNT, v3 AVX2/BMI2/FMA, v4
/// AVX-512).
fn x86_march(text: &str) -> Option<X86Level> {
    Some(match text.to_ascii_lowercase().as_str() {
        "i386" | "i486" | "i586" | "pentium" | "pentium-mmx" | "lakemont" | "k6" | "winchip-c6" => {
            X86Level::BelowBaseline
        }
        "i686" | "pentiumpro" | "pentium2" | "pentium3" | "pentium4" | "prescott" | "nocona"
        | "core2" | "athlon" | "k8" | "x86-64" | "bonnell" | "atom" => X86Level::Baseline,
        "x86-64-v2" | "nehalem" | "westmere" | "sandybridge" | "ivybridge" | "silvermont"
        | "goldmont" | "btver2" | "bdver1" | "bdver2" => X86Level::V2,
        "x86-64-v3" | "haswell" | "broadwell" | "skylake" | "alderlake" | "znver1" | "znver2"
        | "znver3" | "bdver4" => X86Level::V3,
        "x86-64-v4" | "skylake-avx512" | "cascadelake" | "icelake-server" | "sapphirerapids"
        | "znver4" => X86Level::V4,
        _ => return None,
    })
}

/// GCC `-mcpu` for POWER: `power8`, `pwr8` (rs6000 names).
fn power_mcpu(text: &str) -> Option<u8> {
    let lower = text.to_ascii_lowercase();
    let number = lower
        .strip_prefix("power")
        .or_else(|| lower.strip_prefix("pwr"))?;
    number
        .parse()
        .ok()
        .filter(|generation| (4..=11).contains(generation))
}

/// GCC `-march` for s390: `z196` or `arch9` (GCC manual, "S/390 and zSeries Options").
fn s390_march(text: &str) -> Option<u8> {
    let lower = text.to_ascii_lowercase();
    if let Some(level) = lower.strip_prefix("arch") {
        return level.parse().ok().filter(|level| (5..=15).contains(level));
    }
    (5..=15)
        .find(|level| s390_model(*level).is_some_and(|model| model.eq_ignore_ascii_case(&lower)))
}

fn s390_model(level: u8) -> Option<&'static str> {
    Some(match level {
        5 => "z900",
        6 => "z990",
        7 => "z9-ec",
        8 => "z10",
        9 => "z196",
        10 => "zEC12",
        11 => "z13",
        12 => "z14",
        13 => "z15",
        14 => "z16",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(cpu: Cpu, arch: Option<&str>, mcpu: Option<&str>, fpu: Option<&str>) -> String {
        CpuCapability::from_gcc(cpu, arch, mcpu, fpu)
            .expect("known settings")
            .expect("a known family")
            .to_string()
    }

    #[test]
    fn gcc_settings_give_capabilities() {
        let cases = [
            (
                Cpu::Armv6l,
                Some("armv6kz"),
                None,
                Some("vfpv2"),
                "ARMv6KZ + VFPv2",
            ),
            (
                Cpu::Armv7l,
                Some("armv7-a"),
                None,
                Some("vfpv3-d16"),
                "ARMv7 + VFPv3-D16 + Thumb-2",
            ),
            (
                Cpu::Armv7l,
                None,
                Some("cortex-a7"),
                Some("neon-vfpv4"),
                "ARMv7 + VFPv4 + NEONv1 with Fused-MAC + Thumb-2",
            ),
            (
                Cpu::Armv7l,
                None,
                Some("cortex-a9"),
                Some("neon"),
                "ARMv7 + VFPv3 + NEONv1 + Thumb-2",
            ),
            (
                Cpu::Armv5tel,
                Some("armv5te"),
                None,
                None,
                "ARMv5TE soft-float",
            ),
            (
                Cpu::Armv7l,
                Some("armv7-a+fp"),
                None,
                None,
                "ARMv7 + VFPv3-D16 + Thumb-2",
            ),
            (
                Cpu::Aarch64,
                Some("armv8.2-a+fp16"),
                None,
                None,
                "ARMv8.2-A",
            ),
            (Cpu::X86_64, Some("x86-64-v3"), None, None, "x86-64-v3"),
            (Cpu::I686, Some("i686"), None, None, "i686"),
            (
                Cpu::I686,
                Some("pentium"),
                None,
                None,
                "i586 or older (no CMOV)",
            ),
            (Cpu::Riscv64, Some("rv64gc"), None, None, "rv64gc"),
            (Cpu::Mipsel, Some("loongson2f"), None, None, "MIPS III"),
            (Cpu::Powerpc64le, None, Some("power9"), None, "POWER9"),
            (Cpu::S390x, Some("z196"), None, None, "z196 (arch9)"),
            (Cpu::S390x, Some("arch12"), None, None, "z14 (arch12)"),
        ];
        for (cpu, arch, mcpu, fpu, expected) in cases {
            assert_eq!(
                from(cpu, arch, mcpu, fpu),
                expected,
                "{arch:?} {mcpu:?} {fpu:?}"
            );
        }
        let error = CpuCapability::from_gcc(Cpu::Armv6l, Some("armv6zz"), None, None)
            .expect_err("unknown arch");
        assert_eq!(
            error.to_string(),
            "unknown gcc-arch `armv6zz` for a arm CPU"
        );
        assert!(
            CpuCapability::from_gcc(Cpu::Armv6l, Some("armv6kz"), None, Some("vfpv9")).is_err()
        );
    }

    #[test]
    fn catalog_entries_get_their_nixpkgs_cpu() {
        let cases = [
            ("raspberryPi", "ARMv6KZ + VFPv2"),
            ("armv7l-hf-multiplatform", "ARMv7 + VFPv3-D16 + Thumb-2"),
            (
                "remarkable2",
                "ARMv7 + VFPv4 + NEONv1 with Fused-MAC + Thumb-2",
            ),
            ("armv6l-linux", "ARMv6KZ + VFPv2"),
            ("gnu64", "x86-64-baseline"),
        ];
        for (name, expected) in cases {
            let platform = Platform::parse(name).expect(name);
            let capability = CpuCapability::of_platform(&platform).expect(name);
            assert_eq!(capability.to_string(), expected, "{name}");
        }
        // Every catalog entry's CPU settings are understood: a capability, or a family this
        // module does not model (LoongArch: never refused, `inspect` says the CPU is unknown).
        for entry in crate::catalog::CATALOG {
            let platform = Platform::parse(entry.name).expect(entry.name);
            let gcc = platform.gcc();
            if gcc.arch.is_some() || gcc.cpu.is_some() || gcc.fpu.is_some() {
                assert!(
                    CpuCapability::from_gcc(
                        platform.cpu(),
                        gcc.arch.as_deref(),
                        gcc.cpu.as_deref(),
                        gcc.fpu.as_deref()
                    )
                    .is_ok(),
                    "{}: {gcc:?}",
                    entry.name
                );
            }
        }
    }

    #[test]
    fn lacks_names_what_is_missing() {
        let pi =
            CpuCapability::of_platform(&Platform::parse("raspberryPi").expect("pi")).expect("pi");
        let armhf = CpuCapability::from_gcc(Cpu::Armv7l, Some("armv7-a"), None, Some("vfpv3-d16"))
            .expect("armhf")
            .expect("armhf");
        assert_eq!(
            pi.lacks(&armhf),
            Some(vec![
                "ARMv7 (has ARMv6KZ)".to_string(),
                "VFPv3-D16 (has VFPv2)".to_string(),
                "Thumb-2".to_string()
            ])
        );
        assert_eq!(armhf.lacks(&pi), Some(vec![]));
        let x86 = CpuCapability::default_for(Cpu::X86_64).expect("x86");
        assert_eq!(pi.lacks(&x86), None);
    }
}
