//! The parts of a triple (vendor, kernel, ABI, C library) and the parser for GNU configs,
//! Nix doubles and Rust target triples.
//!
//! The splitting rules follow nixpkgs' `mkSkeletonFromList` (`lib/systems/parse.nix`): 1 part
//! is only `avr`; 2 parts are a Nix double `cpu-kernel` (with `-cygwin`, `-windows` and `-elf`
//! special cases); 3 parts are `cpu-kernel-abi` (`arm-linux-gnueabihf`, `aarch64-none-elf`) or
//! `cpu-vendor-kernel` (`x86_64-w64-mingw32`, `x86_64-unknown-freebsd`); 4 parts are
//! `cpu-vendor-kernel-abi`. Where nixpkgs gives up ("ambiguous"), we accept the reading that
//! is unambiguous given the closed lists of names (e.g. `x86_64-pc-linux`).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::cpu::Cpu;
use crate::error::{unknown_part, Error};

macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(into = "&'static str")]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The name as it appears in triples and in nixpkgs.
            pub fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )*
                }
            }

            pub(crate) fn names() -> impl Iterator<Item = &'static str> {
                Self::ALL.iter().map(|value| value.name())
            }

            /// The value named exactly `text` (no error, no suggestions: for speculative
            /// lookups while splitting a triple).
            pub fn from_name(text: &str) -> Option<$name> {
                match text {
                    $( $text => Some($name::$variant), )*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> &'static str {
                value.name()
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(text: &str) -> Result<$name, Error> {
                $name::from_name(text)
                    .ok_or_else(|| unknown_part(text, $what, text, $name::names()))
            }
        }
    };
}

named_enum! {
    /// The vendor part of a triple.
    pub enum Vendor ("vendor") {
        Unknown => "unknown",
        Pc => "pc",
        Apple => "apple",
        W64 => "w64",
        None => "none",
    }
}

named_enum! {
    /// The kernel / operating system (nixpkgs' `parsed.kernel`; macOS is `darwin`).
    pub enum Kernel ("kernel") {
        Linux => "linux",
        Windows => "windows",
        Cygwin => "cygwin",
        Darwin => "darwin",
        Ios => "ios",
        Freebsd => "freebsd",
        Netbsd => "netbsd",
        Openbsd => "openbsd",
        Solaris => "solaris",
        Redox => "redox",
        Wasi => "wasi",
        Uefi => "uefi",
        Ghcjs => "ghcjs",
        Mmixware => "mmixware",
        /// Bare metal (`-none-elf`, `avr`).
        None => "none",
    }
}

named_enum! {
    /// The ABI part (`gnu`, `gnueabihf`, `musl`, `gnuabi64`, `eabi`, ...).
    pub enum Abi ("abi") {
        Gnu => "gnu",
        Gnueabi => "gnueabi",
        Gnueabihf => "gnueabihf",
        Gnuabi64 => "gnuabi64",
        Gnuabin32 => "gnuabin32",
        Gnuabielfv1 => "gnuabielfv1",
        Gnuabielfv2 => "gnuabielfv2",
        /// x86_64 with 32-bit pointers (Debian `x32`).
        Gnux32 => "gnux32",
        /// AArch64 with 32-bit pointers (Debian `arm64ilp32`).
        GnuIlp32 => "gnu_ilp32",
        /// PowerPC with the SPE unit (Debian `powerpcspe`).
        Gnuspe => "gnuspe",
        Musl => "musl",
        Musleabi => "musleabi",
        Musleabihf => "musleabihf",
        Muslabi64 => "muslabi64",
        Muslabin32 => "muslabin32",
        Uclibc => "uclibc",
        Uclibceabi => "uclibceabi",
        Uclibceabihf => "uclibceabihf",
        Android => "android",
        Androideabi => "androideabi",
        Eabi => "eabi",
        Eabihf => "eabihf",
        Elf => "elf",
        Msvc => "msvc",
        Unknown => "unknown",
    }
}

named_enum! {
    /// The C library (nixpkgs' `libc`; `none` where nixpkgs says `null`).
    pub enum Libc ("libc") {
        Glibc => "glibc",
        Musl => "musl",
        Uclibc => "uclibc",
        Bionic => "bionic",
        Msvcrt => "msvcrt",
        Ucrt => "ucrt",
        LibSystem => "libSystem",
        Wasilibc => "wasilibc",
        Relibc => "relibc",
        Newlib => "newlib",
        NewlibNano => "newlib-nano",
        Avrlibc => "avrlibc",
        Fblibc => "fblibc",
        Nblibc => "nblibc",
        Oblibc => "oblibc",
        Cygwin => "cygwin",
        /// nixpkgs' `"native/impure"`: no C library nixpkgs knows how to build.
        NativeImpure => "native/impure",
        None => "none",
    }
}

impl Kernel {
    /// Darwin family (macOS, iOS): nixpkgs `isDarwin`.
    pub fn is_darwin(self) -> bool {
        matches!(self, Kernel::Darwin | Kernel::Ios)
    }
    /// The executable format the kernel loads.
    pub fn exec_format(self) -> &'static str {
        match self {
            Kernel::Darwin | Kernel::Ios => "macho",
            Kernel::Windows | Kernel::Cygwin | Kernel::Uefi => "pe",
            Kernel::Wasi => "wasm",
            Kernel::None | Kernel::Ghcjs | Kernel::Mmixware => "unknown",
            _ => "elf",
        }
    }
}

impl Abi {
    /// The ARM float ABI the name implies: `Some(true)` hard-float, `Some(false)` soft-float.
    pub fn arm_hard_float(self) -> Option<bool> {
        match self {
            Abi::Gnueabihf | Abi::Musleabihf | Abi::Uclibceabihf | Abi::Eabihf => Some(true),
            Abi::Gnueabi | Abi::Musleabi | Abi::Uclibceabi | Abi::Eabi => Some(false),
            _ => None,
        }
    }
    /// musl ABIs (nixpkgs `isMusl`).
    pub fn is_musl(self) -> bool {
        matches!(
            self,
            Abi::Musl | Abi::Musleabi | Abi::Musleabihf | Abi::Muslabi64 | Abi::Muslabin32
        )
    }
    /// uClibc ABIs (nixpkgs `isUClibc`).
    pub fn is_uclibc(self) -> bool {
        matches!(self, Abi::Uclibc | Abi::Uclibceabi | Abi::Uclibceabihf)
    }
    /// glibc ABIs (nixpkgs `isGnu`).
    pub fn is_gnu(self) -> bool {
        matches!(
            self,
            Abi::Gnu
                | Abi::Gnueabi
                | Abi::Gnueabihf
                | Abi::Gnuabi64
                | Abi::Gnuabin32
                | Abi::Gnuabielfv1
                | Abi::Gnuabielfv2
                | Abi::Gnux32
                | Abi::GnuIlp32
                | Abi::Gnuspe
        )
    }
    /// Android ABIs (nixpkgs `isAndroid`).
    pub fn is_android(self) -> bool {
        matches!(self, Abi::Android | Abi::Androideabi)
    }
    /// MIPS n32 (nixpkgs `isMips64n32`).
    pub fn is_n32(self) -> bool {
        matches!(self, Abi::Gnuabin32 | Abi::Muslabin32)
    }
}

/// The four parts of a parsed triple, plus whether the text was a GNU config nixpkgs would
/// keep verbatim (as opposed to a Rust triple or a Nix double, which are renamed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts {
    pub cpu: Cpu,
    pub vendor: Vendor,
    pub kernel: Kernel,
    pub abi: Abi,
    /// The input is a GNU config (3 or 4 parts, or `avr`), kept as the platform's `config`.
    pub is_gnu_config: bool,
}

/// Parses the CPU part: nixpkgs names plus the spellings Apple, LLVM and Rust use.
/// Returns the CPU and whether the spelling is Rust/LLVM-only (`riscv64gc`, `armv7`).
pub(crate) fn parse_cpu(text: &str) -> Option<(Cpu, bool)> {
    if let Some(cpu) = crate::index::cpu(text) {
        return Some((cpu, false));
    }
    // Spellings GNU config.sub and Apple accept: kept as a given config (nixpkgs' own
    // `arm64-apple-darwin`).
    let gnu_alias = match text {
        "arm64" => Some(Cpu::Aarch64),
        "amd64" => Some(Cpu::X86_64),
        "ppc" => Some(Cpu::Powerpc),
        "ppcle" => Some(Cpu::Powerpcle),
        "ppc64" => Some(Cpu::Powerpc64),
        "ppc64le" => Some(Cpu::Powerpc64le),
        "sparcv9" => Some(Cpu::Sparc64),
        "js" => Some(Cpu::Javascript),
        _ => None,
    };
    if let Some(cpu) = gnu_alias {
        return Some((cpu, false));
    }
    let cpu = match text {
        // Rust target names (rustc's `target_arch` plus feature suffixes).
        "armv7" | "thumbv7neon" => Cpu::Armv7l,
        "armv5te" => Cpu::Armv5tel,
        "armv4t" => Cpu::Arm,
        "thumbv6m" => Cpu::Armv6m,
        "thumbv7m" | "thumbv7em" => Cpu::Armv7m,
        "thumbv8m.main" | "thumbv8m.base" => Cpu::Armv8m,
        "armv7r" | "armebv7r" => Cpu::Armv7r,
        _ => {
            // riscv64gc, riscv64imac, riscv32imc, riscv32i ...: base ISA plus extensions.
            let (base, extensions) = if let Some(rest) = text.strip_prefix("riscv64") {
                (Cpu::Riscv64, rest)
            } else if let Some(rest) = text.strip_prefix("riscv32") {
                (Cpu::Riscv32, rest)
            } else {
                return None;
            };
            if !extensions.is_empty()
                && extensions
                    .bytes()
                    .all(|b| b"imafdcgqvbhkpsxz_".contains(&b))
            {
                base
            } else {
                return None;
            }
        }
    };
    Some((cpu, true))
}

/// Parses the kernel part, with nixpkgs' aliases (`macos`, `win32`) and versioned BSD and
/// Darwin names (`freebsd14`, `darwin23`). The flag is true for Rust-only spellings.
fn parse_kernel(text: &str) -> Option<(Kernel, bool)> {
    if let Some(kernel) = Kernel::from_name(text) {
        return Some((kernel, false));
    }
    let versioned = |prefix: &str| {
        text.strip_prefix(prefix).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        })
    };
    let kernel = match text {
        "macos" | "macosx" => Kernel::Darwin,
        "watchos" | "tvos" => Kernel::Ios,
        "win32" => Kernel::Windows,
        "wasip1" | "wasip2" => return Some((Kernel::Wasi, true)),
        _ if versioned("macos") => Kernel::Darwin,
        // nixpkgs: any `darwin*` is Darwin and any `netbsd*` NetBSD (`netbsdelf`, `netbsd9.3`).
        _ if text.starts_with("darwin") => Kernel::Darwin,
        _ if text.starts_with("netbsd") => Kernel::Netbsd,
        _ if versioned("freebsd") => Kernel::Freebsd,
        _ if versioned("openbsd") => Kernel::Openbsd,
        _ => return None,
    };
    Some((kernel, false))
}

fn parse_vendor(text: &str) -> Option<Vendor> {
    Vendor::from_name(text)
}

fn parse_abi(text: &str) -> Option<Abi> {
    Abi::from_name(text)
}

/// nixpkgs' vendor default (`mkSystemFromSkeleton`): Apple for Darwin, `pc` for Windows.
fn default_vendor(kernel: Kernel) -> Vendor {
    if kernel.is_darwin() {
        Vendor::Apple
    } else if matches!(kernel, Kernel::Windows | Kernel::Cygwin) {
        Vendor::Pc
    } else {
        Vendor::Unknown
    }
}

/// nixpkgs' ABI default (`mkSystemFromSkeleton`): on Linux and Windows, 32-bit ARM gets
/// `gnueabihf` from ARMv6 on and `gnueabi` before, big-endian 64-bit PowerPC gets ELFv2,
/// everything else `gnu`; other kernels `unknown`.
pub(crate) fn default_abi(cpu: Cpu, kernel: Kernel) -> Abi {
    if matches!(kernel, Kernel::Linux | Kernel::Windows) {
        if cpu.is_aarch32() {
            if cpu.arm_version().unwrap_or(0) >= 6 {
                Abi::Gnueabihf
            } else {
                Abi::Gnueabi
            }
        } else if cpu.family() == "power" && cpu.bits() == 64 && cpu.endian() == crate::Endian::Big
        {
            Abi::Gnuabielfv2
        } else {
            Abi::Gnu
        }
    } else {
        Abi::Unknown
    }
}

/// Parses a GNU config, Nix double or Rust triple (anything with `-` separated parts).
pub(crate) fn parse_triple(input: &str) -> Result<Parts, Error> {
    // At most 4 parts: split into a fixed array (no allocation on this hot path).
    let mut storage = [""; 4];
    let mut count = 0;
    for part in input.split('-') {
        if count == 4 {
            return Err(Error::unknown(
                input,
                format!(
                    "a triple has at most 4 parts (cpu-vendor-kernel-abi), `{input}` has {}",
                    input.split('-').count()
                ),
                Vec::new(),
            ));
        }
        storage[count] = part;
        count += 1;
    }
    let parts = &storage[..count];
    if parts.iter().any(|part| part.is_empty()) {
        return Err(Error::unknown(
            input,
            "empty part between `-` separators".to_string(),
            Vec::new(),
        ));
    }
    let cpu_text = parts[0];
    let (cpu, cpu_is_rust) = parse_cpu(cpu_text).ok_or_else(|| {
        unknown_part(
            input,
            "cpu",
            cpu_text,
            Cpu::names().chain(["arm64", "amd64"]),
        )
    })?;
    let with_defaults = |vendor: Option<Vendor>, kernel: Kernel, abi: Option<Abi>, gnu: bool| {
        let abi = abi.unwrap_or_else(|| default_abi(cpu, kernel));
        let mut cpu = cpu;
        // Rust's `armv7-linux-androideabi` is nixpkgs' `armv7a` (Android is ARMv7-A).
        if cpu_is_rust && cpu == Cpu::Armv7l && abi == Abi::Androideabi {
            cpu = Cpu::Armv7a;
        }
        Parts {
            cpu,
            vendor: vendor.unwrap_or_else(|| default_vendor(kernel)),
            kernel,
            abi,
            is_gnu_config: gnu && !cpu_is_rust,
        }
    };
    let kernel_error = |text: &str| {
        unknown_part(
            input,
            "kernel",
            text,
            Kernel::names().chain(["elf", "mingw32", "macos"]),
        )
    };
    match parts {
        [_] => {
            // nixpkgs: "Target specification with 1 components is ambiguous" except `avr`.
            if cpu == Cpu::Avr {
                Ok(Parts {
                    cpu,
                    vendor: Vendor::Unknown,
                    kernel: Kernel::None,
                    abi: Abi::Unknown,
                    is_gnu_config: true,
                })
            } else {
                Err(Error::unknown(
                    input,
                    format!(
                        "a cpu alone does not name a platform; add a kernel, e.g. `{cpu_text}-linux`"
                    ),
                    vec![format!("{cpu_text}-linux")],
                ))
            }
        }
        [_, second] => match *second {
            // nixpkgs reads `x86_64-cygwin` as `x86_64-pc-cygwin`.
            "cygwin" => Ok(with_defaults(Some(Vendor::Pc), Kernel::Cygwin, None, false)),
            "windows" => Ok(with_defaults(None, Kernel::Windows, Some(Abi::Msvc), false)),
            // `i686-elf`, `msp430-elf`: bare metal; a GNU config nixpkgs keeps.
            "elf" => Ok(with_defaults(
                Some(Vendor::Unknown),
                Kernel::None,
                Some(Abi::Elf),
                true,
            )),
            kernel_text => {
                let (kernel, kernel_is_rust) =
                    parse_kernel(kernel_text).ok_or_else(|| kernel_error(kernel_text))?;
                let _ = kernel_is_rust;
                Ok(with_defaults(None, kernel, None, false))
            }
        },
        [_, second, third] => {
            let second = *second;
            let third = *third;
            if second == "apple" {
                let (kernel, rust) = parse_kernel(third).ok_or_else(|| kernel_error(third))?;
                return Ok(with_defaults(Some(Vendor::Apple), kernel, None, !rust));
            }
            if third == "mingw32" {
                let vendor = parse_vendor(second)
                    .ok_or_else(|| unknown_part(input, "vendor", second, Vendor::names()))?;
                return Ok(with_defaults(Some(vendor), Kernel::Windows, None, true));
            }
            // cpu-kernel-abi: `arm-linux-gnueabihf`, `aarch64-none-elf`, `aarch64-linux-android`.
            if let (Some((kernel, kernel_rust)), Some(abi)) =
                (parse_kernel(second), parse_abi(third))
            {
                if parse_vendor(second).is_none() || kernel == Kernel::None {
                    return Ok(with_defaults(
                        Some(Vendor::Unknown),
                        kernel,
                        Some(abi),
                        !kernel_rust,
                    ));
                }
            }
            // cpu-vendor-kernel: `x86_64-unknown-freebsd`, `wasm32-unknown-wasi`,
            // `wasm32-wasip1` is 2 parts; Rust's `wasm32-unknown-unknown` is bare.
            if let Some(vendor) = parse_vendor(second) {
                if third == "unknown" && cpu.family() == "wasm" {
                    return Ok(with_defaults(Some(vendor), Kernel::None, None, false));
                }
                let (kernel, rust) = parse_kernel(third).ok_or_else(|| {
                    unknown_part(
                        input,
                        "kernel",
                        third,
                        Kernel::names().chain(Abi::names()).chain(["mingw32"]),
                    )
                })?;
                return Ok(with_defaults(Some(vendor), kernel, None, !rust));
            }
            if parse_kernel(second).is_some() {
                return Err(unknown_part(input, "abi", third, Abi::names()));
            }
            Err(unknown_part(
                input,
                "vendor or kernel",
                second,
                Vendor::names().chain(Kernel::names()),
            ))
        }
        [_, vendor_text, kernel_text, abi_text] => {
            let vendor = parse_vendor(vendor_text)
                .ok_or_else(|| unknown_part(input, "vendor", vendor_text, Vendor::names()))?;
            let (kernel, kernel_rust) =
                parse_kernel(kernel_text).ok_or_else(|| kernel_error(kernel_text))?;
            let abi = parse_abi(abi_text)
                .ok_or_else(|| unknown_part(input, "abi", abi_text, Abi::names()))?;
            Ok(with_defaults(Some(vendor), kernel, Some(abi), !kernel_rust))
        }
        _ => Err(Error::unknown(
            input,
            "empty platform name".to_string(),
            Vec::new(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_round_trip() {
        for &vendor in Vendor::ALL {
            assert_eq!(vendor.name().parse::<Vendor>().ok(), Some(vendor));
        }
        for &kernel in Kernel::ALL {
            assert_eq!(kernel.name().parse::<Kernel>().ok(), Some(kernel));
        }
        for &abi in Abi::ALL {
            assert_eq!(abi.name().parse::<Abi>().ok(), Some(abi));
        }
        for &libc in Libc::ALL {
            assert_eq!(libc.name().parse::<Libc>().ok(), Some(libc));
        }
        for &cpu in Cpu::ALL {
            assert_eq!(cpu.name().parse::<Cpu>().ok(), Some(cpu));
            assert_eq!(cpu.to_string(), cpu.name());
        }
    }

    #[test]
    fn splitting_rules() {
        // (input, cpu, vendor, kernel, abi, kept as config)
        let cases = [
            (
                "avr",
                Cpu::Avr,
                Vendor::Unknown,
                Kernel::None,
                Abi::Unknown,
                true,
            ),
            (
                "i686-elf",
                Cpu::I686,
                Vendor::Unknown,
                Kernel::None,
                Abi::Elf,
                true,
            ),
            (
                "x86_64-windows",
                Cpu::X86_64,
                Vendor::Pc,
                Kernel::Windows,
                Abi::Msvc,
                false,
            ),
            (
                "x86_64-cygwin",
                Cpu::X86_64,
                Vendor::Pc,
                Kernel::Cygwin,
                Abi::Unknown,
                false,
            ),
            (
                "armv7l-linux",
                Cpu::Armv7l,
                Vendor::Unknown,
                Kernel::Linux,
                Abi::Gnueabihf,
                false,
            ),
            (
                "armv5tel-linux",
                Cpu::Armv5tel,
                Vendor::Unknown,
                Kernel::Linux,
                Abi::Gnueabi,
                false,
            ),
            (
                "powerpc64-linux",
                Cpu::Powerpc64,
                Vendor::Unknown,
                Kernel::Linux,
                Abi::Gnuabielfv2,
                false,
            ),
            (
                "aarch64-darwin",
                Cpu::Aarch64,
                Vendor::Apple,
                Kernel::Darwin,
                Abi::Unknown,
                false,
            ),
            (
                "arm-none-eabi",
                Cpu::Arm,
                Vendor::Unknown,
                Kernel::None,
                Abi::Eabi,
                true,
            ),
            (
                "aarch64-linux-gnu",
                Cpu::Aarch64,
                Vendor::Unknown,
                Kernel::Linux,
                Abi::Gnu,
                true,
            ),
            (
                "x86_64-w64-mingw32",
                Cpu::X86_64,
                Vendor::W64,
                Kernel::Windows,
                Abi::Gnu,
                true,
            ),
            (
                "arm64-apple-ios",
                Cpu::Aarch64,
                Vendor::Apple,
                Kernel::Ios,
                Abi::Unknown,
                true,
            ),
            (
                "x86_64-unknown-freebsd14.1",
                Cpu::X86_64,
                Vendor::Unknown,
                Kernel::Freebsd,
                Abi::Unknown,
                true,
            ),
            (
                "i686-unknown-netbsdelf",
                Cpu::I686,
                Vendor::Unknown,
                Kernel::Netbsd,
                Abi::Unknown,
                true,
            ),
            (
                "wasm32-unknown-wasi",
                Cpu::Wasm32,
                Vendor::Unknown,
                Kernel::Wasi,
                Abi::Unknown,
                true,
            ),
            (
                "wasm32-wasip1",
                Cpu::Wasm32,
                Vendor::Unknown,
                Kernel::Wasi,
                Abi::Unknown,
                false,
            ),
            (
                "wasm32-unknown-unknown",
                Cpu::Wasm32,
                Vendor::Unknown,
                Kernel::None,
                Abi::Unknown,
                false,
            ),
            (
                "riscv64gc-unknown-linux-gnu",
                Cpu::Riscv64,
                Vendor::Unknown,
                Kernel::Linux,
                Abi::Gnu,
                false,
            ),
            (
                "armv7-linux-androideabi",
                Cpu::Armv7a,
                Vendor::Unknown,
                Kernel::Linux,
                Abi::Androideabi,
                false,
            ),
            (
                "thumbv7em-none-eabihf",
                Cpu::Armv7m,
                Vendor::Unknown,
                Kernel::None,
                Abi::Eabihf,
                false,
            ),
            (
                "x86_64-pc-windows-msvc",
                Cpu::X86_64,
                Vendor::Pc,
                Kernel::Windows,
                Abi::Msvc,
                true,
            ),
            (
                "mips64el-unknown-linux-gnuabi64",
                Cpu::Mips64el,
                Vendor::Unknown,
                Kernel::Linux,
                Abi::Gnuabi64,
                true,
            ),
        ];
        for (input, cpu, vendor, kernel, abi, kept) in cases {
            let parts = parse_triple(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(
                (
                    parts.cpu,
                    parts.vendor,
                    parts.kernel,
                    parts.abi,
                    parts.is_gnu_config
                ),
                (cpu, vendor, kernel, abi, kept),
                "{input}"
            );
        }
    }

    #[test]
    fn wrong_parts_are_named() {
        let cases = [
            ("risc64-linux", "unknown cpu `risc64`", Some("riscv64")),
            ("aarch64-linx", "unknown kernel `linx`", Some("linux")),
            ("aarch64-linux-gnuu", "unknown abi `gnuu`", Some("gnu")),
            ("x86_64-pcc-linux-gnu", "unknown vendor `pcc`", Some("pc")),
            (
                "aarch64",
                "a cpu alone does not name a platform",
                Some("aarch64-linux"),
            ),
            ("a-b-c-d-e", "at most 4 parts", None),
            ("aarch64--linux", "empty part", None),
        ];
        for (input, reason, suggestion) in cases {
            let error = parse_triple(input).expect_err(input);
            let Error::Unknown {
                reason: got,
                suggestions,
                ..
            } = &error
            else {
                panic!("{input}: {error:?}");
            };
            assert!(got.contains(reason), "{input}: {got}");
            assert_eq!(
                suggestions.first().map(String::as_str),
                suggestion,
                "{input}"
            );
        }
    }
}
