//! The CPU baseline of each Debian architecture whose libraries archway links or runs, and the
//! refusal when a platform's CPU is below it.
//!
//! Every package of a Debian architecture is built with the distribution compiler's
//! defaults, so those defaults are the least CPU its libraries run on. Checked on Debian 12
//! (bookworm, GCC 12.2) with the cross compilers' own defaults and the libraries' records:
//! ```text
//! $ <triple>-gcc -Q --help=target | grep -E 'march=|mcpu=|mfpu=|mfloat-abi=|mthumb '
//! $ <triple>-gcc -v   (the --with-arch / --with-cpu / --with-fpu / --with-mode of the build)
//! ```
//! - armhf (`arm-linux-gnueabihf`): `--with-arch=armv7-a+fp --with-float=hard
//!   --with-mode=thumb`, `-march=armv7-a+fp` (GCC: `+fp` on ARMv7-A is VFPv3-D16), `-mthumb`
//!   enabled. `/usr/arm-linux-gnueabihf/lib/libc.so.6` records `Tag_CPU_arch: v7`,
//!   `Tag_THUMB_ISA_use: Thumb-2` (and `Tag_FP_arch: VFPv3`, `NEONv1` from glibc's
//!   HWCAP-selected string functions).
//! - armel (`arm-linux-gnueabi`): `--with-arch=armv5te --with-float=soft`, `-marm`;
//!   its `libc.so.6` records `Tag_CPU_arch: v5TE`, `Thumb-1`, no FP.
//! - i386 (`i686-linux-gnu`): `--with-arch-32=i686`.
//! - amd64 (`x86_64-linux-gnu`): `-march=x86-64`; `libc.so.6` carries
//!   `x86 ISA needed: x86-64-baseline`.
//! - arm64 (`aarch64-linux-gnu`): `-march=armv8-a`.
//! - ppc64el (`powerpc64le-linux-gnu`): `-mcpu` default, predefining `_ARCH_PWR8` and not
//!   `_ARCH_PWR9` (`-dM -E`): POWER8.
//! - riscv64 (`riscv64-linux-gnu`): `-march=rv64imafdc_zicsr_zifencei` (rv64gc); `libc.so.6`
//!   records `Tag_RISCV_arch: rv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0_zicsr2p0_zifencei2p0_zmmul1p0`.
//! - s390x (`s390x-linux-gnu`): `--with-arch=z196`, `-march=arch9`.
//! - mips64el (`mips64el-linux-gnuabi64`): `--with-arch-64=mips64r2`, `_MIPS_ARCH "mips64r2"`.
//! - mipsel (`mipsel-linux-gnu`): `--with-arch-32=mips32r2 --with-fp-32=xx`; `libc.so.6` has
//!   `e_flags` `mips32r2`, `.MIPS.abiflags` ISA MIPS32r2.

use std::fmt;

use crate::capability::CpuCapability;
use crate::cpu::Cpu;
use crate::Platform;

/// One Debian architecture's baseline, as `gcc` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebianBaseline {
    /// The Debian architecture (`armhf`).
    pub architecture: &'static str,
    pub cpu: Cpu,
    pub arch: Option<&'static str>,
    pub cpu_name: Option<&'static str>,
    pub fpu: Option<&'static str>,
    /// A catalog entry whose CPU is exactly this baseline, to suggest instead.
    pub platform: &'static str,
}

impl DebianBaseline {
    pub fn capability(&self) -> Option<CpuCapability> {
        CpuCapability::from_gcc(self.cpu, self.arch, self.cpu_name, self.fpu)
            .ok()
            .flatten()
    }
}

const fn baseline(
    architecture: &'static str,
    cpu: Cpu,
    arch: Option<&'static str>,
    cpu_name: Option<&'static str>,
    fpu: Option<&'static str>,
    platform: &'static str,
) -> DebianBaseline {
    DebianBaseline {
        architecture,
        cpu,
        arch,
        cpu_name,
        fpu,
        platform,
    }
}

/// Debian 12's release architectures (see the module docs for how each was checked).
pub const DEBIAN_BASELINES: &[DebianBaseline] = &[
    baseline("amd64", Cpu::X86_64, Some("x86-64"), None, None, "gnu64"),
    baseline(
        "arm64",
        Cpu::Aarch64,
        Some("armv8-a"),
        None,
        None,
        "aarch64-multiplatform",
    ),
    baseline(
        "armel",
        Cpu::Armv5tel,
        Some("armv5te"),
        None,
        None,
        "armv5tel-multiplatform",
    ),
    baseline(
        "armhf",
        Cpu::Armv7l,
        Some("armv7-a"),
        None,
        Some("vfpv3-d16"),
        "armv7l-hf-multiplatform",
    ),
    baseline("i386", Cpu::I686, Some("i686"), None, None, "gnu32"),
    baseline(
        "mips64el",
        Cpu::Mips64el,
        Some("mips64r2"),
        None,
        None,
        "mips64el-linux-gnuabi64",
    ),
    baseline(
        "mipsel",
        Cpu::Mipsel,
        Some("mips32r2"),
        None,
        None,
        "mipsel-linux-gnu",
    ),
    baseline(
        "ppc64el",
        Cpu::Powerpc64le,
        None,
        Some("power8"),
        None,
        "powernv",
    ),
    baseline(
        "riscv64",
        Cpu::Riscv64,
        Some("rv64gc"),
        None,
        None,
        "riscv64",
    ),
    baseline("s390x", Cpu::S390x, Some("z196"), None, None, "s390x"),
];

/// The baseline of a Debian architecture, if archway knows it.
pub fn debian_baseline(architecture: &str) -> Option<&'static DebianBaseline> {
    DEBIAN_BASELINES
        .iter()
        .find(|baseline| baseline.architecture == architecture)
}

/// A platform whose CPU is below the baseline of the Debian packages it would use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct BaselineConflict {
    /// The platform as the user named it (`raspberryPi`).
    pub platform: String,
    /// Its CPU (`ARMv6KZ + VFPv2`).
    pub cpu: String,
    /// The Debian architecture (`armhf`).
    pub architecture: String,
    /// The baseline (`ARMv7 + VFPv3-D16 + Thumb-2`).
    pub baseline: String,
    /// What the CPU lacks (`ARMv7 (has ARMv6KZ)`, `Thumb-2`).
    pub missing: Vec<String>,
    /// A platform with the baseline's CPU (`armv7l-hf-multiplatform`).
    pub instead: String,
}

impl fmt::Display for BaselineConflict {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}'s CPU ({}) is below the baseline of Debian's `{}` packages ({}): it lacks {}, so \
             programs linked with or run on Debian's `{}` libraries would stop with an illegal \
             instruction on it",
            self.platform,
            self.cpu,
            self.architecture,
            self.baseline,
            self.missing.join(", "),
            self.architecture,
        )
    }
}

impl BaselineConflict {
    /// The ways out, most self-contained first.
    pub fn hint(&self) -> Option<String> {
        Some(format!(
            "build without Debian's libraries (a freestanding program, `-ffreestanding -nostdlib`, \
             or a self-contained static build with a C library built for this CPU); or give a \
             sysroot built for it (`sysroot = \"/path/to/sysroot\"` under `[target.{}]` in \
             `archway.toml`); or build for a platform Debian's `{}` supports \
             (`--target {}`)",
            self.platform, self.architecture, self.instead
        ))
    }
}

/// Is `platform`'s CPU below the baseline of the Debian architecture `architecture` (whose
/// sysroot or root filesystem it would use)? `None` when it is not, or when archway knows
/// either CPU too little to tell (an unknown CPU is not refused).
pub fn baseline_conflict(platform: &Platform, architecture: &str) -> Option<BaselineConflict> {
    let baseline = debian_baseline(architecture)?;
    let wanted = baseline.capability()?;
    let cpu = CpuCapability::of_platform(platform)?;
    let missing = cpu.lacks(&wanted)?;
    if missing.is_empty() {
        return None;
    }
    Some(BaselineConflict {
        platform: platform.display_name(),
        cpu: cpu.to_string(),
        architecture: architecture.to_string(),
        baseline: wanted.to_string(),
        missing,
        instead: baseline.platform.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_baseline_is_understood_and_its_platform_meets_it() {
        for baseline in DEBIAN_BASELINES {
            let capability = baseline.capability();
            assert!(capability.is_some(), "{}", baseline.architecture);
            let platform = Platform::parse(baseline.platform).expect(baseline.platform);
            assert_eq!(
                platform.debian_arch(),
                Some(baseline.architecture),
                "{}",
                baseline.platform
            );
            assert_eq!(
                baseline_conflict(&platform, baseline.architecture),
                None,
                "{}",
                baseline.platform
            );
        }
    }

    #[test]
    fn platforms_below_the_baseline_conflict() {
        let cases = [
            ("raspberryPi", "armhf", true),
            ("muslpi", "armhf", true),
            ("remarkable1", "armhf", false),
            ("remarkable2", "armhf", false),
            ("armv7l-hf-multiplatform", "armhf", false),
            ("raspberryPi", "armel", false),
            ("sheevaplug", "armhf", true),
            ("gnu64", "amd64", false),
            ("i486-linux", "i386", true),
            ("fuloongminipc", "mipsel", true),
            ("ben-nanonote", "mipsel", true),
            ("s390x", "s390x", false),
        ];
        for (name, architecture, conflict) in cases {
            let platform = Platform::parse(name).expect(name);
            assert_eq!(
                baseline_conflict(&platform, architecture).is_some(),
                conflict,
                "{name} on {architecture}"
            );
        }
        assert_eq!(
            baseline_conflict(&Platform::parse("raspberryPi").expect("pi"), "sparc64"),
            None
        );
    }
}
