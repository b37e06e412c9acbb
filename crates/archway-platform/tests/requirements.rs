//! What CPU a binary needs, read from files the real Debian cross compilers make and from
//! Debian's own libraries, and the check against platforms' CPUs.
//!
//! These need the cross compilers and C libraries of scripts/test-packages.txt; outside CI
//! they skip with `skipped: <why>` when one is missing, under CI they fail
//! (`archway_platform::testing`).

use std::path::{Path, PathBuf};
use std::process::Command;

use archway_platform::baseline::{debian_baseline, DEBIAN_BASELINES};
use archway_platform::requirements::{ArmArch, ArmFp, ArmSimd, MipsAbi, MipsIsa, X86Level};
use archway_platform::testing::{require, skip_unless_ci};
use archway_platform::{identify, Certainty, CpuCapability, Platform, Requirements};

const SOURCE: &str = "int triple(int a) { return a * 3; }\nint main(void) { return triple(0); }\n";

/// Compiles [`SOURCE`] with `compiler` and `flags` (`-c` for an object file) into a temporary
/// directory and returns the output's bytes; `None` (after `skipped:`) when the compiler is
/// missing outside CI.
fn compile(compiler: &str, flags: &[&str]) -> Option<Vec<u8>> {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let source = directory.path().join("t.c");
    std::fs::write(&source, SOURCE).expect("write the source");
    let output = directory.path().join("t.out");
    let result = Command::new(compiler)
        .args(["-O2"])
        .args(flags)
        .arg(&source)
        .arg("-o")
        .arg(&output)
        .output();
    match result {
        Ok(result) if result.status.success() => Some(std::fs::read(&output).expect("read")),
        Ok(result) => panic!(
            "`{compiler} {}` failed: {}",
            flags.join(" "),
            String::from_utf8_lossy(&result.stderr)
        ),
        Err(error) => {
            skip_unless_ci(&format!("`{compiler}` is not available ({error})"));
            None
        }
    }
}

fn requirements_of(bytes: &[u8]) -> Requirements {
    identify(bytes).expect("identified").requirements
}

/// A Debian cross C library (`/usr/<triple>/lib/libc.so.6`), or `None` after `skipped:`.
fn debian_libc(triple: &str, package: &str) -> Option<(PathBuf, Vec<u8>)> {
    let path = Path::new("/usr").join(triple).join("lib/libc.so.6");
    if !require(
        path.exists(),
        &format!("`{}` is missing (install `{package}`)", path.display()),
    ) {
        return None;
    }
    let bytes = std::fs::read(&path).expect("read libc");
    Some((path, bytes))
}

fn capability(name: &str) -> CpuCapability {
    let platform = Platform::parse(name).expect(name);
    CpuCapability::of_platform(&platform).expect(name)
}

#[test]
fn armhf_defaults_record_armv7_thumb2_and_vfpv3_d16() {
    let Some(bytes) = compile("arm-linux-gnueabihf-gcc", &["-c"]) else {
        return;
    };
    let arm = requirements_of(&bytes).arm.expect("ARM attributes");
    assert_eq!(arm.arch, Some(ArmArch::V7));
    assert_eq!(arm.profile, Some('A'));
    assert!(arm.thumb2, "Debian's armhf gcc defaults to Thumb-2");
    assert_eq!(arm.fp, Some(ArmFp::Vfpv3D16));
    assert_eq!(arm.simd, None);
    assert!(arm.vfp_arguments);
    let requirements = requirements_of(&bytes);
    let pi = capability("raspberryPi").shortfalls(&requirements);
    let needed: Vec<&str> = pi
        .iter()
        .filter(|shortfall| shortfall.certainty == Certainty::Needs)
        .map(|shortfall| shortfall.needed.as_str())
        .collect();
    assert_eq!(needed, ["ARMv7", "Thumb-2"]);
    assert_eq!(
        pi[0].sentence("t.o", "raspberryPi"),
        "`t.o` needs ARMv7 (Tag_CPU_arch v7) but raspberryPi's CPU is ARMv6KZ"
    );
    assert_eq!(
        capability("armv7l-hf-multiplatform").shortfalls(&requirements),
        vec![]
    );
}

#[test]
fn armv6kz_vfp_arm_mode_records_v6kz_without_thumb2() {
    let Some(bytes) = compile(
        "arm-linux-gnueabihf-gcc",
        &["-c", "-march=armv6kz", "-mfpu=vfp", "-marm"],
    ) else {
        return;
    };
    let requirements = requirements_of(&bytes);
    let arm = requirements.arm.clone().expect("ARM attributes");
    assert_eq!(arm.arch, Some(ArmArch::V6KZ));
    assert!(!arm.thumb2);
    assert_eq!(arm.fp, Some(ArmFp::Vfpv2));
    assert_eq!(capability("raspberryPi").shortfalls(&requirements), vec![]);
    // remarkable2 (Cortex-A7, NEON-VFPv4) runs ARMv6KZ code too.
    assert_eq!(capability("remarkable2").shortfalls(&requirements), vec![]);
}

#[test]
fn remarkable2_settings_record_vfpv4_and_neon() {
    let Some(bytes) = compile(
        "arm-linux-gnueabihf-gcc",
        &[
            "-c",
            "-mcpu=cortex-a7",
            "-mfpu=neon-vfpv4",
            "-mfloat-abi=hard",
        ],
    ) else {
        return;
    };
    let requirements = requirements_of(&bytes);
    let arm = requirements.arm.clone().expect("ARM attributes");
    assert_eq!(arm.arch, Some(ArmArch::V7));
    assert_eq!(arm.fp, Some(ArmFp::Vfpv4));
    // NEON is recorded only where it is used; a scalar function does not need it.
    assert!(
        matches!(arm.simd, None | Some(ArmSimd::Neonv2)),
        "{:?}",
        arm.simd
    );
    assert_eq!(capability("remarkable2").shortfalls(&requirements), vec![]);
    // armv7l-hf-multiplatform (VFPv3-D16) lacks VFPv4: a warning, not a refusal.
    let shortfalls = capability("armv7l-hf-multiplatform").shortfalls(&requirements);
    assert!(!shortfalls.is_empty());
    assert!(shortfalls
        .iter()
        .all(|shortfall| shortfall.certainty == Certainty::MayUse));
}

#[test]
fn armel_defaults_record_armv5te_soft_float() {
    let Some(bytes) = compile("arm-linux-gnueabi-gcc", &["-c"]) else {
        return;
    };
    let arm = requirements_of(&bytes).arm.expect("ARM attributes");
    assert_eq!(arm.arch, Some(ArmArch::V5TE));
    assert!(!arm.thumb2);
    assert_eq!(arm.fp, None);
    assert!(!arm.vfp_arguments);
}

#[test]
fn riscv64_defaults_record_rv64gc() {
    let Some(bytes) = compile("riscv64-linux-gnu-gcc", &["-c"]) else {
        return;
    };
    let requirements = requirements_of(&bytes);
    let isa = requirements.riscv.clone().expect("Tag_RISCV_arch");
    assert_eq!(isa.xlen, 64);
    assert!(
        isa.text.starts_with("rv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0"),
        "{}",
        isa.text
    );
    assert_eq!(capability("riscv64").shortfalls(&requirements), vec![]);
    let imac =
        CpuCapability::from_gcc(archway_platform::Cpu::Riscv64, Some("rv64imac"), None, None)
            .expect("rv64imac")
            .expect("riscv");
    let shortfalls = imac.shortfalls(&requirements);
    assert_eq!(shortfalls.len(), 1);
    assert!(shortfalls[0].needed.contains("`d`"), "{:?}", shortfalls[0]);
}

#[test]
fn x86_64_v3_needed_note_comes_from_mneeded_and_the_linker() {
    // GCC 12 writes the ISA note only when asked: `-mneeded` in the object, `-z x86-64-v3`
    // at link time. Plain `-march=x86-64-v3` records nothing.
    let Some(plain) = compile("x86_64-linux-gnu-gcc", &["-c", "-march=x86-64-v3"]) else {
        return;
    };
    assert_eq!(requirements_of(&plain).x86, None);
    let Some(object) = compile(
        "x86_64-linux-gnu-gcc",
        &["-c", "-march=x86-64-v3", "-mneeded"],
    ) else {
        return;
    };
    let needs = requirements_of(&object).x86.expect("the property note");
    assert_eq!(needs.needed, Some(X86Level::V3));
    let Some(linked) = compile(
        "x86_64-linux-gnu-gcc",
        &["-march=x86-64-v3", "-Wl,-z,x86-64-v3"],
    ) else {
        return;
    };
    let requirements = requirements_of(&linked);
    assert_eq!(
        requirements.x86.clone().expect("note").needed,
        Some(X86Level::V3)
    );
    let shortfalls = capability("gnu64").shortfalls(&requirements);
    assert_eq!(shortfalls.len(), 1);
    assert_eq!(
        shortfalls[0].sentence("t", "gnu64"),
        "`t` needs x86-64-v3 (GNU_PROPERTY_X86_ISA_1_NEEDED) but gnu64's CPU is x86-64-baseline"
    );
}

#[test]
fn mips_defaults_record_mips32r2_o32_and_mips64r2_n64() {
    if let Some(bytes) = compile("mipsel-linux-gnu-gcc", &["-c"]) {
        let mips = requirements_of(&bytes).mips.expect("MIPS flags");
        assert_eq!(
            mips.isa,
            Some(MipsIsa {
                level: 32,
                release: 2
            })
        );
        assert_eq!(mips.abi, Some(MipsAbi::O32));
        assert_eq!(mips.fp_abi, Some(5), "Debian's mipsel is FPXX");
        let requirements = requirements_of(&bytes);
        assert_eq!(
            capability("mipsel-linux-gnu").shortfalls(&requirements),
            vec![]
        );
        assert_eq!(
            capability("fuloongminipc").shortfalls(&requirements).len(),
            1
        );
    }
    if let Some(bytes) = compile("mips64el-linux-gnuabi64-gcc", &["-c"]) {
        let mips = requirements_of(&bytes).mips.expect("MIPS flags");
        assert_eq!(
            mips.isa,
            Some(MipsIsa {
                level: 64,
                release: 2
            })
        );
        assert_eq!(mips.abi, Some(MipsAbi::N64));
    }
}

#[test]
fn ppc64le_records_the_elfv2_abi() {
    let Some(bytes) = compile("powerpc64le-linux-gnu-gcc", &["-c"]) else {
        return;
    };
    assert_eq!(requirements_of(&bytes).powerpc64_abi, Some(2));
}

/// The baselines archway assumes agree with what Debian's own C libraries record.
#[test]
fn debian_libraries_record_their_baselines() {
    if let Some((path, bytes)) = debian_libc("arm-linux-gnueabihf", "libc6-armhf-cross") {
        let requirements = requirements_of(&bytes);
        let arm = requirements.arm.clone().expect("attributes");
        assert_eq!(arm.arch, Some(ArmArch::V7), "{}", path.display());
        assert!(arm.thumb2);
        // glibc's HWCAP-selected NEON string functions make the file record more than its
        // baseline: VFPv3 (32 registers) and NEONv1, as what it may use.
        assert_eq!(arm.fp, Some(ArmFp::Vfpv3));
        assert_eq!(arm.simd, Some(ArmSimd::Neonv1));
        let armhf = debian_baseline("armhf")
            .and_then(|baseline| baseline.capability())
            .expect("armhf");
        assert!(armhf
            .shortfalls(&requirements)
            .iter()
            .all(|shortfall| shortfall.certainty == Certainty::MayUse));
    }
    if let Some((_, bytes)) = debian_libc("arm-linux-gnueabi", "libc6-armel-cross") {
        let arm = requirements_of(&bytes).arm.expect("attributes");
        assert_eq!(arm.arch, Some(ArmArch::V5TE));
        assert_eq!(arm.fp, None);
    }
    if let Some((_, bytes)) = debian_libc("riscv64-linux-gnu", "libc6-riscv64-cross") {
        let requirements = requirements_of(&bytes);
        let riscv64 = debian_baseline("riscv64")
            .and_then(|baseline| baseline.capability())
            .expect("riscv64");
        assert_eq!(riscv64.shortfalls(&requirements), vec![]);
    }
    if let Some((_, bytes)) = debian_libc("mipsel-linux-gnu", "libc6-mipsel-cross") {
        let mips = requirements_of(&bytes).mips.expect("flags");
        assert_eq!(
            mips.isa,
            Some(MipsIsa {
                level: 32,
                release: 2
            })
        );
    }
    let libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
    if libc.exists() {
        let requirements = requirements_of(&std::fs::read(libc).expect("read"));
        let needed = requirements.x86.and_then(|x86| x86.needed);
        assert_eq!(needed, Some(X86Level::Baseline));
    }
}

/// The baselines agree with the compilers' own defaults: an object each Debian cross
/// compiler makes with no flags fits its architecture's baseline, with nothing to spare in
/// the architecture version.
#[test]
fn debian_compiler_defaults_fit_their_baselines() {
    let compilers = [
        ("armhf", "arm-linux-gnueabihf-gcc"),
        ("armel", "arm-linux-gnueabi-gcc"),
        ("riscv64", "riscv64-linux-gnu-gcc"),
        ("mipsel", "mipsel-linux-gnu-gcc"),
        ("mips64el", "mips64el-linux-gnuabi64-gcc"),
    ];
    assert!(DEBIAN_BASELINES.len() >= compilers.len());
    for (architecture, compiler) in compilers {
        let Some(bytes) = compile(compiler, &["-c"]) else {
            continue;
        };
        let baseline = debian_baseline(architecture)
            .and_then(|baseline| baseline.capability())
            .expect(architecture);
        assert_eq!(
            baseline.shortfalls(&requirements_of(&bytes)),
            vec![],
            "{compiler} defaults exceed the {architecture} baseline {baseline}"
        );
    }
}
