//! The pkgsCross catalog: nixpkgs' `lib.systems.examples` names and their GNU configs.
//!
//! Source: `/work/shared/reference/pkgs-cross.md` (nixpkgs lib 26.11 `lib/systems/examples.nix`,
//! plus five older names the NixOS book lists). Where an example sets more than `config`
//! (`libc = "ucrt"`, `rustc.config`), the entry carries it, because nixpkgs' elaborated
//! attributes then differ from what the config alone gives.

use crate::triple::Libc;

/// One catalog entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CatalogEntry {
    /// The `pkgsCross` attribute name (`aarch64-multiplatform`).
    pub name: &'static str,
    /// The example's `config` (`aarch64-unknown-linux-gnu`).
    pub config: &'static str,
    /// The example's `libc`, when it overrides the one the config implies.
    pub libc: Option<Libc>,
    /// The example's `rustc.config`, when set.
    pub rust_target: Option<&'static str>,
}

const fn entry(
    name: &'static str,
    config: &'static str,
    libc: Option<Libc>,
    rust_target: Option<&'static str>,
) -> CatalogEntry {
    CatalogEntry {
        name,
        config,
        libc,
        rust_target,
    }
}

/// Every entry, sorted by name (byte order), as in the reference table.
pub static CATALOG: &[CatalogEntry] = &[
    entry(
        "aarch64-android",
        "aarch64-unknown-linux-android",
        None,
        None,
    ),
    entry(
        "aarch64-android-prebuilt",
        "aarch64-unknown-linux-android",
        None,
        Some("aarch64-linux-android"),
    ),
    entry("aarch64-darwin", "arm64-apple-darwin", None, None),
    entry("aarch64-embedded", "aarch64-none-elf", None, None),
    entry("aarch64-freebsd", "aarch64-unknown-freebsd", None, None),
    entry(
        "aarch64-multiplatform",
        "aarch64-unknown-linux-gnu",
        None,
        None,
    ),
    entry(
        "aarch64-multiplatform-musl",
        "aarch64-unknown-linux-musl",
        None,
        None,
    ),
    entry("aarch64-unknown-uefi", "aarch64-unknown-uefi", None, None),
    entry("aarch64-windows", "aarch64-pc-windows-msvc", None, None),
    entry("aarch64be-embedded", "aarch64_be-none-elf", None, None),
    entry("arc", "arc-unknown-linux-gnu", None, None),
    entry("arm-embedded", "arm-none-eabi", None, None),
    entry(
        "arm-embedded-nano",
        "arm-none-eabi",
        Some(Libc::NewlibNano),
        None,
    ),
    entry("armhf-embedded", "arm-none-eabihf", None, None),
    entry(
        "armv5tel-multiplatform",
        "armv5tel-unknown-linux-gnueabi",
        None,
        None,
    ),
    entry(
        "armv7a-android-prebuilt",
        "armv7a-unknown-linux-androideabi",
        None,
        Some("armv7-linux-androideabi"),
    ),
    entry(
        "armv7l-hf-multiplatform",
        "armv7l-unknown-linux-gnueabihf",
        None,
        None,
    ),
    entry("avr", "avr", None, None),
    entry("ben-nanonote", "mipsel-unknown-linux-uclibc", None, None),
    entry("bluefield2", "aarch64-unknown-linux-gnu", None, None),
    entry("fuloongminipc", "mipsel-unknown-linux-gnu", None, None),
    entry("ghcjs", "javascript-unknown-ghcjs", None, None),
    entry("gnu32", "i686-unknown-linux-gnu", None, None),
    entry("gnu64", "x86_64-unknown-linux-gnu", None, None),
    entry("i686-embedded", "i686-elf", None, None),
    entry("iphone32", "armv7a-apple-ios", None, None),
    entry("iphone32-simulator", "i686-apple-ios", None, None),
    entry("iphone64", "arm64-apple-ios", None, None),
    entry("iphone64-simulator", "x86_64-apple-ios", None, None),
    entry(
        "loongarch64-linux",
        "loongarch64-unknown-linux-gnu",
        None,
        None,
    ),
    entry(
        "loongarch64-linux-embedded",
        "loongarch64-unknown-linux-gnu",
        None,
        None,
    ),
    entry("m68k", "m68k-unknown-linux-gnu", None, None),
    entry(
        "microblaze-embedded",
        "microblazeel-none-elf",
        Some(Libc::Newlib),
        None,
    ),
    entry("mingw-msvcrt-i686", "i686-w64-mingw32", None, None),
    entry("mingw-msvcrt-x86_64", "x86_64-w64-mingw32", None, None),
    entry(
        "mingw-ucrt-aarch64",
        "aarch64-w64-mingw32",
        Some(Libc::Ucrt),
        None,
    ),
    entry(
        "mingw-ucrt-x86_64",
        "x86_64-w64-mingw32",
        Some(Libc::Ucrt),
        None,
    ),
    entry(
        "mingw-ucrt-x86_64-llvm",
        "x86_64-w64-mingw32",
        Some(Libc::Ucrt),
        None,
    ),
    entry("mingw32", "i686-w64-mingw32", None, None),
    entry("mingwW64", "x86_64-w64-mingw32", None, None),
    entry("mips-embedded", "mips-none-elf", None, None),
    entry("mips-linux-gnu", "mips-unknown-linux-gnu", None, None),
    entry("mips64-embedded", "mips64-none-elf", None, None),
    entry(
        "mips64-linux-gnuabi64",
        "mips64-unknown-linux-gnuabi64",
        None,
        None,
    ),
    entry(
        "mips64-linux-gnuabin32",
        "mips64-unknown-linux-gnuabin32",
        None,
        None,
    ),
    entry(
        "mips64el-linux-gnuabi64",
        "mips64el-unknown-linux-gnuabi64",
        None,
        None,
    ),
    entry(
        "mips64el-linux-gnuabin32",
        "mips64el-unknown-linux-gnuabin32",
        None,
        None,
    ),
    entry("mipsel-linux-gnu", "mipsel-unknown-linux-gnu", None, None),
    entry("mmix", "mmix-unknown-mmixware", Some(Libc::Newlib), None),
    entry("msp430", "msp430-elf", None, None),
    entry("musl-power", "powerpc64le-unknown-linux-musl", None, None),
    entry("musl32", "i686-unknown-linux-musl", None, None),
    entry("musl64", "x86_64-unknown-linux-musl", None, None),
    entry("muslpi", "armv6l-unknown-linux-musleabihf", None, None),
    entry("or1k", "or1k-elf", Some(Libc::Newlib), None),
    entry("pogoplug4", "armv5tel-unknown-linux-gnueabi", None, None),
    entry("powernv", "powerpc64le-unknown-linux-gnu", None, None),
    entry("ppc-embedded", "powerpc-none-eabi", None, None),
    entry("ppc32", "powerpc-unknown-linux-gnu", None, None),
    entry("ppc64", "powerpc64-unknown-linux-gnuabielfv2", None, None),
    entry(
        "ppc64-elfv1",
        "powerpc64-unknown-linux-gnuabielfv1",
        None,
        None,
    ),
    entry(
        "ppc64-elfv2",
        "powerpc64-unknown-linux-gnuabielfv2",
        None,
        None,
    ),
    entry("ppc64-musl", "powerpc64-unknown-linux-musl", None, None),
    entry("ppcle-embedded", "powerpcle-none-eabi", None, None),
    entry("raspberryPi", "armv6l-unknown-linux-gnueabihf", None, None),
    entry("remarkable1", "armv7l-unknown-linux-gnueabihf", None, None),
    entry("remarkable2", "armv7l-unknown-linux-gnueabihf", None, None),
    entry("riscv32", "riscv32-unknown-linux-gnu", None, None),
    entry("riscv32-embedded", "riscv32-none-elf", None, None),
    entry("riscv64", "riscv64-unknown-linux-gnu", None, None),
    entry("riscv64-embedded", "riscv64-none-elf", None, None),
    entry("riscv64-musl", "riscv64-unknown-linux-musl", None, None),
    entry("rx-embedded", "rx-none-elf", None, None),
    entry("s390", "s390-unknown-linux-gnu", None, None),
    entry("s390x", "s390x-unknown-linux-gnu", None, None),
    entry("sh4", "sh4-unknown-linux-gnu", None, None),
    entry("sheevaplug", "armv5tel-unknown-linux-gnueabi", None, None),
    entry("ucrt64", "x86_64-w64-mingw32", Some(Libc::Ucrt), None),
    entry("ucrtAarch64", "aarch64-w64-mingw32", Some(Libc::Ucrt), None),
    entry("vc4", "vc4-elf", Some(Libc::Newlib), None),
    entry("wasi32", "wasm32-unknown-wasi", None, None),
    entry("wasm32-unknown-none", "wasm32-unknown-none", None, None),
    entry("x86_64-cygwin", "x86_64-pc-cygwin", None, None),
    entry("x86_64-darwin", "x86_64-apple-darwin", None, None),
    entry("x86_64-embedded", "x86_64-elf", None, None),
    entry("x86_64-freebsd", "x86_64-unknown-freebsd", None, None),
    entry("x86_64-netbsd", "x86_64-unknown-netbsd", None, None),
    entry("x86_64-netbsd-llvm", "x86_64-unknown-netbsd", None, None),
    entry("x86_64-openbsd", "x86_64-unknown-openbsd", None, None),
    entry("x86_64-unknown-redox", "x86_64-unknown-redox", None, None),
    entry("x86_64-unknown-uefi", "x86_64-unknown-uefi", None, None),
    entry("x86_64-windows", "x86_64-pc-windows-msvc", None, None),
];

/// The entry named exactly `name`.
pub(crate) fn find(name: &str) -> Option<&'static CatalogEntry> {
    crate::index::catalog_entry(name)
}

/// The only entry whose name matches ignoring ASCII case (`raspberrypi` finds `raspberryPi`).
pub(crate) fn find_ignoring_case(name: &str) -> Option<&'static CatalogEntry> {
    let mut matches = CATALOG
        .iter()
        .filter(|entry| entry.name.eq_ignore_ascii_case(name));
    match (matches.next(), matches.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}
