//! Real cross compilers given each platform's CPU flags produce object files for that CPU:
//! ARM build attributes (`.ARM.attributes`, read with `object`'s attributes API) and MIPS
//! `e_flags`. Skips outside CI when a compiler is missing.

use std::path::Path;
use std::process::Command;

use archway_platform::Platform;
use object::read::elf::{FileHeader, SectionHeader};
use object::{elf, Endianness};

fn have(program: &str) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok();
    archway_platform::testing::require(found, &format!("`{program}` is not installed"))
}

/// Compiles a small C function with `compiler` and the platform's flags; the object's bytes.
fn compile(compiler: &str, platform: &Platform, dir: &Path) -> Vec<u8> {
    let source = dir.join("t.c");
    std::fs::write(
        &source,
        "double f(double a, double b) { return a * b + a; }\nint g(int a, int b) { return a * b; }\n",
    )
    .expect("source");
    let object = dir.join(format!("{}.o", platform.display_name()));
    let output = Command::new(compiler)
        .args(platform.compiler_flags())
        .args(["-O2", "-c"])
        .arg(&source)
        .arg("-o")
        .arg(&object)
        .output()
        .expect("run the compiler");
    assert!(
        output.status.success(),
        "{compiler} {:?}: {}",
        platform.compiler_flags(),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(&object).expect("object file")
}

/// Integer attributes (tag, value) and string ones (tag, text).
type Attributes = (Vec<(u64, u64)>, Vec<(u64, String)>);

/// The `aeabi` file-scope attributes.
fn arm_attributes(data: &[u8]) -> Attributes {
    let header = elf::FileHeader32::<Endianness>::parse(data).expect("ELF32");
    let endian = header.endian().expect("endian");
    let sections = header.sections(endian, data).expect("sections");
    let section = sections
        .iter()
        .find(|section| section.sh_type(endian) == elf::SHT_ARM_ATTRIBUTES)
        .expect(".ARM.attributes");
    let attributes = section
        .attributes(endian, data)
        .expect("attributes section");
    let mut integers = Vec::new();
    let mut strings = Vec::new();
    let mut subsections = attributes.subsections().expect("subsections");
    while let Some(subsection) = subsections.next().expect("subsection") {
        if subsection.vendor() != b"aeabi" {
            continue;
        }
        let mut subsubsections = subsection.subsubsections();
        while let Some(subsubsection) = subsubsections.next().expect("subsubsection") {
            if subsubsection.tag() != elf::Tag_File {
                continue;
            }
            let mut reader = subsubsection.attributes();
            while let Some(tag) = reader.read_tag().expect("tag") {
                // ARM IHI 0045 (addenda): Tag_CPU_raw_name (4), Tag_CPU_name (5) and
                // Tag_also_compatible_with (65, 67) are strings, Tag_compatibility (32) an
                // integer and a string; above 32 odd tags are strings, even ones integers.
                let is_string = matches!(tag, 4 | 5 | 65 | 67) || (tag > 32 && tag % 2 == 1);
                if tag == 32 {
                    let _ = reader.read_integer().expect("flag");
                    let _ = reader.read_string().expect("vendor");
                } else if is_string {
                    let text = reader.read_string().expect("string");
                    strings.push((tag, String::from_utf8_lossy(text).into_owned()));
                } else {
                    integers.push((tag, reader.read_integer().expect("integer")));
                }
            }
        }
    }
    (integers, strings)
}

fn integer(attributes: &[(u64, u64)], tag: u64) -> u64 {
    attributes
        .iter()
        .find(|(found, _)| *found == tag)
        .map_or(0, |(_, value)| *value)
}

// ARM IHI 0045: the tags and the values these platforms must have.
const TAG_CPU_ARCH: u64 = 6;
const TAG_ARM_ISA_USE: u64 = 8;
const TAG_THUMB_ISA_USE: u64 = 9;
const TAG_FP_ARCH: u64 = 10;
const TAG_ADVANCED_SIMD_ARCH: u64 = 12;
const TAG_CPU_NAME: u64 = 5;

#[test]
fn armhf_objects_carry_each_platforms_cpu_in_their_build_attributes() {
    if !have("arm-linux-gnueabihf-gcc") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // (platform, Tag_CPU_arch, Tag_FP_arch, Tag_Advanced_SIMD_arch, Thumb-2 allowed)
    let cases: &[(&str, u64, u64, u64, bool)] = &[
        // v6KZ (7), VFPv2 (2), no NEON, ARM code only.
        ("raspberryPi", 7, 2, 0, false),
        // v7 (10), VFPv3 (3), NEON (1): Cortex-A9.
        ("remarkable1", 10, 3, 1, true),
        // v7 (10), VFPv4 (5), NEON with FMA (2): Cortex-A7.
        ("remarkable2", 10, 5, 2, true),
        // v7 (10), VFPv3-D16 (4), no NEON.
        ("armv7l-hf-multiplatform", 10, 4, 0, true),
    ];
    for &(name, cpu_arch, fp_arch, simd, thumb2) in cases {
        let platform = Platform::parse(name).expect("catalog name");
        let data = compile("arm-linux-gnueabihf-gcc", &platform, dir.path());
        let (integers, strings) = arm_attributes(&data);
        assert_eq!(
            integer(&integers, TAG_CPU_ARCH),
            cpu_arch,
            "{name} Tag_CPU_arch {integers:?}"
        );
        assert_eq!(
            integer(&integers, TAG_FP_ARCH),
            fp_arch,
            "{name} Tag_FP_arch"
        );
        assert_eq!(
            integer(&integers, TAG_ADVANCED_SIMD_ARCH),
            simd,
            "{name} Tag_Advanced_SIMD_arch"
        );
        if !thumb2 {
            // ARM instructions allowed (1), no Thumb-2 (Tag_THUMB_ISA_use 2).
            assert_eq!(integer(&integers, TAG_ARM_ISA_USE), 1, "{name}");
            assert_ne!(integer(&integers, TAG_THUMB_ISA_USE), 2, "{name}");
        }
        // GCC 12 writes `.arch armv7-a` rather than `.cpu cortex-a9`: Tag_CPU_name names the
        // architecture (`7-A`), so only the architecture tags tell the CPUs apart.
        let cpu_name = strings.iter().find(|(tag, _)| *tag == TAG_CPU_NAME);
        assert!(cpu_name.is_some(), "{name}: Tag_CPU_name");
    }
}

#[test]
fn mipsel_objects_are_mips32r2_o32() {
    if !have("mipsel-linux-gnu-gcc") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, arch) in [
        ("mipsel-linux-gnu", elf::EF_MIPS_ARCH_32R2),
        // ben-nanonote: MIPS32 release 1, soft float (no FP in .MIPS.abiflags' fp_abi).
        ("ben-nanonote", elf::EF_MIPS_ARCH_32),
    ] {
        let platform = Platform::parse(name).expect("catalog name");
        let data = compile("mipsel-linux-gnu-gcc", &platform, dir.path());
        let header = elf::FileHeader32::<Endianness>::parse(&data[..]).expect("ELF32");
        let endian = header.endian().expect("endian");
        let flags = header.e_flags(endian);
        assert_eq!(flags & elf::EF_MIPS_ARCH, arch, "{name} e_flags {flags:#x}");
        assert_eq!(flags & elf::EF_MIPS_ABI, elf::EF_MIPS_ABI_O32, "{name}");
        assert_eq!(flags & elf::EF_MIPS_ABI2, 0, "{name}: not n32");
    }
}
