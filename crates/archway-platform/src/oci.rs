//! OCI / Docker platforms (`linux/arm64`, `linux/arm/v7`): `os/architecture[/variant]`.
//!
//! Names are Go's `GOOS`/`GOARCH` as the OCI image index spec uses them
//! (image-spec `image-index.md`, "platform"); ARM variants `v5`/`v6`/`v7`/`v8` as containerd's
//! `platforms.Normalize` does (`linux/arm` means `v7`, `linux/arm64` means `v8`).

use crate::cpu::Cpu;
use crate::error::unknown_part;
use crate::triple::{Abi, Kernel, Vendor};
use crate::{Error, Platform};

const OSES: &[&str] = &[
    "linux", "windows", "darwin", "ios", "freebsd", "netbsd", "openbsd", "solaris", "wasip1",
];
const ARCHES: &[&str] = &[
    "amd64", "386", "arm64", "arm", "ppc64le", "ppc64", "s390x", "riscv64", "mips", "mipsle",
    "mips64", "mips64le", "loong64", "wasm",
];

/// Parses `os/arch[/variant]`.
pub(crate) fn parse(input: &str) -> Result<Platform, Error> {
    let parts: Vec<&str> = input.split('/').collect();
    let (os, arch, variant) = match parts.as_slice() {
        [os, arch] => (*os, *arch, None),
        [os, arch, variant] => (*os, *arch, Some(*variant)),
        _ => {
            return Err(Error::unknown(
                input,
                "an OCI platform is `os/architecture` or `os/architecture/variant`".to_string(),
                Vec::new(),
            ))
        }
    };
    let kernel = match os {
        "linux" => Kernel::Linux,
        "windows" => Kernel::Windows,
        "darwin" => Kernel::Darwin,
        "ios" => Kernel::Ios,
        "freebsd" => Kernel::Freebsd,
        "netbsd" => Kernel::Netbsd,
        "openbsd" => Kernel::Openbsd,
        "solaris" => Kernel::Solaris,
        "wasip1" => Kernel::Wasi,
        _ => return Err(unknown_part(input, "OCI os", os, OSES.iter().copied())),
    };
    let bad_variant = |variant: &str, allowed: &[&'static str]| {
        unknown_part(
            input,
            &format!("`{arch}` variant"),
            variant,
            allowed.iter().copied(),
        )
    };
    let cpu = match (arch, variant) {
        ("amd64", None | Some("v1" | "v2" | "v3" | "v4")) => Cpu::X86_64,
        ("amd64", Some(other)) => return Err(bad_variant(other, &["v1", "v2", "v3", "v4"])),
        ("386", None) => Cpu::I686,
        ("arm64", None | Some("v8" | "v8.0" | "v9")) => Cpu::Aarch64,
        ("arm64", Some(other)) => return Err(bad_variant(other, &["v8", "v9"])),
        ("arm", None | Some("v7")) => Cpu::Armv7l,
        ("arm", Some("v6")) => Cpu::Armv6l,
        ("arm", Some("v5")) => Cpu::Armv5tel,
        ("arm", Some(other)) => return Err(bad_variant(other, &["v5", "v6", "v7"])),
        ("ppc64le", None) => Cpu::Powerpc64le,
        ("ppc64", None) => Cpu::Powerpc64,
        ("s390x", None) => Cpu::S390x,
        ("riscv64", None | Some("rva20u64" | "rva22u64" | "rva23u64")) => Cpu::Riscv64,
        ("mips", None) => Cpu::Mips,
        ("mipsle", None) => Cpu::Mipsel,
        ("mips64", None) => Cpu::Mips64,
        ("mips64le", None) => Cpu::Mips64el,
        ("loong64", None) => Cpu::Loongarch64,
        ("wasm", None) => Cpu::Wasm32,
        (known, Some(other)) if ARCHES.contains(&known) => return Err(bad_variant(other, &[])),
        _ => {
            return Err(unknown_part(
                input,
                "OCI architecture",
                arch,
                ARCHES.iter().copied(),
            ))
        }
    };
    let (vendor, abi) = match kernel {
        Kernel::Linux => (
            Vendor::Unknown,
            match cpu {
                Cpu::Armv7l | Cpu::Armv6l => Abi::Gnueabihf,
                Cpu::Armv5tel => Abi::Gnueabi,
                Cpu::Mips64 | Cpu::Mips64el => Abi::Gnuabi64,
                Cpu::Powerpc64 => Abi::Gnu,
                _ => Abi::Gnu,
            },
        ),
        // Windows images are MinGW-compatible PE; archway builds them with MinGW.
        Kernel::Windows => (Vendor::W64, Abi::Gnu),
        Kernel::Darwin | Kernel::Ios => (Vendor::Apple, Abi::Unknown),
        _ => (Vendor::Unknown, Abi::Unknown),
    };
    if cpu == Cpu::Wasm32 && kernel != Kernel::Wasi {
        return Err(Error::unknown(
            input,
            "`wasm` goes with the `wasip1` os".to_string(),
            vec!["wasip1/wasm".to_string()],
        ));
    }
    Ok(Platform::new(cpu, vendor, kernel, abi))
}

/// `os/arch[/variant]` for a platform, where OCI has names for both.
pub(crate) fn render(platform: &Platform) -> Option<String> {
    let os = match platform.kernel() {
        Kernel::Linux => "linux",
        Kernel::Windows => "windows",
        Kernel::Darwin => "darwin",
        Kernel::Ios => "ios",
        Kernel::Freebsd => "freebsd",
        Kernel::Netbsd => "netbsd",
        Kernel::Openbsd => "openbsd",
        Kernel::Solaris => "solaris",
        Kernel::Wasi => "wasip1",
        _ => return None,
    };
    // Pointer-narrowed ABIs (x32, ILP32, n32) have no GOARCH.
    if platform.pointer_bits() != platform.cpu().bits() {
        return None;
    }
    let arch = match platform.cpu() {
        Cpu::X86_64 => "amd64",
        Cpu::I386 | Cpu::I486 | Cpu::I586 | Cpu::I686 => "386",
        Cpu::Aarch64 => "arm64",
        // Plain `arm` hard-float is Debian's armhf, which is ARMv7.
        Cpu::Arm if platform.abi().arm_hard_float() == Some(true) => "arm/v7",
        Cpu::Arm | Cpu::Armv5tel => "arm/v5",
        Cpu::Armv6l | Cpu::Armv6m => "arm/v6",
        Cpu::Armv7a | Cpu::Armv7l | Cpu::Armv7r | Cpu::Armv7m => "arm/v7",
        Cpu::Armv8a | Cpu::Armv8r | Cpu::Armv8m => "arm/v7",
        Cpu::Powerpc64le => "ppc64le",
        Cpu::Powerpc64 => "ppc64",
        Cpu::S390x => "s390x",
        Cpu::Riscv64 => "riscv64",
        Cpu::Mips => "mips",
        Cpu::Mipsel => "mipsle",
        Cpu::Mips64 => "mips64",
        Cpu::Mips64el => "mips64le",
        Cpu::Loongarch64 => "loong64",
        Cpu::Wasm32 if platform.kernel() == Kernel::Wasi => "wasm",
        _ => return None,
    };
    Some(format!("{os}/{arch}"))
}
