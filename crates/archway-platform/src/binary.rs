//! Binary identification: which platform an ELF, PE/COFF, Mach-O or WebAssembly file is for.
//!
//! Pure: takes the file's bytes. Headers, notes and attribute sections are read with the
//! `object` crate (what the CPU must have: [`crate::requirements`]); the ELF ABI tag's
//! descriptor is read here with bounds checks. Any input gives `Ok` or an [`Error::Binary`],
//! never a panic.
//!
//! What the headers tell, and the rules used where they do not:
//! - ELF: `e_machine`, class and byte order give the CPU family and width; `e_flags` give the
//!   ARM float ABI (`EF_ARM_ABI_FLOAT_HARD`), MIPS n32 (`EF_MIPS_ABI2`) and release 6
//!   (`EF_MIPS_ARCH_*R6`), the PowerPC64 ELF ABI version; the ARM architecture version comes
//!   from `.ARM.attributes` (`Tag_CPU_arch`, ARM IHI 0045 "Addenda to the ARM ABI").
//!   The kernel comes from `EI_OSABI`, the interpreter path, or the ELF notes (`GNU` ABI tag,
//!   `FreeBSD`, `NetBSD`, `OpenBSD`, `Android`); the C library from the interpreter
//!   (`ld-musl-*` is musl, `/system/bin/linker*` is bionic) or the `GNU` ABI tag (glibc). A
//!   static binary with no OS note is assumed to be Linux with an unknown C library.
//! - PE: the COFF machine; the C runtime from the imported DLLs (`msvcrt.dll` → MinGW msvcrt,
//!   `ucrtbase.dll` / `api-ms-win-crt-*` → UCRT, `vcruntime*.dll` → MSVC); the EFI subsystems
//!   mean UEFI.
//! - Mach-O: the CPU type; `LC_BUILD_VERSION` / `LC_VERSION_MIN_*` tell macOS from iOS.
//! - WebAssembly: imports from `wasi_snapshot_preview1` / `wasi_unstable` mean WASI.

use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, FileKind, Object};
use serde::Serialize;

use crate::cpu::{Cpu, Endian};
use crate::requirements::{self, ArmArch, Requirements};
use crate::triple::{Abi, Kernel, Libc, Vendor};
use crate::{Error, Platform};

/// The container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BinaryFormat {
    Elf,
    Pe,
    MachO,
    Wasm,
}

impl BinaryFormat {
    pub fn name(self) -> &'static str {
        match self {
            BinaryFormat::Elf => "ELF",
            BinaryFormat::Pe => "PE",
            BinaryFormat::MachO => "Mach-O",
            BinaryFormat::Wasm => "WebAssembly",
        }
    }
}

/// What the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BinaryKind {
    Executable,
    SharedLibrary,
    /// A relocatable object (`.o`).
    Object,
    Core,
    Unknown,
}

impl BinaryKind {
    pub fn name(self) -> &'static str {
        match self {
            BinaryKind::Executable => "executable",
            BinaryKind::SharedLibrary => "shared library",
            BinaryKind::Object => "object file",
            BinaryKind::Core => "core dump",
            BinaryKind::Unknown => "unknown kind",
        }
    }
}

/// Statically or dynamically linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Linkage {
    /// Needs no dynamic loader (includes static-pie).
    Static,
    /// Loaded by an interpreter / the system's dynamic loader.
    Dynamic,
}

impl Linkage {
    pub fn name(self) -> &'static str {
        match self {
            Linkage::Static => "static",
            Linkage::Dynamic => "dynamic",
        }
    }
}

/// The raw ELF header fields that decided the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ElfHeader {
    pub machine: u16,
    pub class: u8,
    pub endian: Endian,
    pub flags: u32,
    pub os_abi: u8,
}

/// What a binary is for.
#[derive(Debug, Clone, Serialize)]
pub struct Binary {
    pub format: BinaryFormat,
    pub kind: BinaryKind,
    /// The platform it runs on (best reading of the headers; see the module docs).
    pub platform: Platform,
    /// The C library, when the file says (`None`: e.g. static with no OS note).
    pub libc: Option<Libc>,
    /// The ELF interpreter (`/lib/ld-linux-aarch64.so.1`) or Mach-O dynamic linker.
    pub interpreter: Option<String>,
    pub linkage: Linkage,
    pub elf: Option<ElfHeader>,
    /// What the CPU must have, as the file records it (ELF only; empty otherwise).
    pub requirements: Requirements,
}

/// Identifies the binary in `bytes`.
pub fn identify(bytes: &[u8]) -> Result<Binary, Error> {
    if bytes.is_empty() {
        return Err(Error::binary("the file is empty"));
    }
    let kind = FileKind::parse(bytes).map_err(|_| unrecognized(bytes))?;
    match kind {
        FileKind::Elf32 => {
            let file = object::read::elf::ElfFile32::<Endianness>::parse(bytes)
                .map_err(|error| malformed("ELF", error))?;
            identify_elf(&file, bytes)
        }
        FileKind::Elf64 => {
            let file = object::read::elf::ElfFile64::<Endianness>::parse(bytes)
                .map_err(|error| malformed("ELF", error))?;
            identify_elf(&file, bytes)
        }
        FileKind::Pe32 | FileKind::Pe64 => identify_pe(bytes),
        FileKind::MachO32 | FileKind::MachO64 => identify_macho(bytes),
        FileKind::MachOFat32 | FileKind::MachOFat64 => Err(Error::binary(
            "a universal (fat) Mach-O file holds several platforms; extract one with `lipo -thin <arch>`",
        )),
        FileKind::Wasm => identify_wasm(bytes),
        FileKind::Archive => Err(Error::binary(
            "a static library archive (`.a`), not a single binary; extract a member with `ar x`",
        )),
        other => Err(Error::binary(format!(
            "a {other:?} file, not an ELF, PE, Mach-O or WebAssembly binary"
        ))),
    }
}

/// Identifies a binary from the first `prefix.len()` bytes of a file of `file_len` bytes, for
/// callers that bound what they read. When an ELF file's section header table lies beyond the
/// prefix (it is usually at the end), the table is dropped from a copy of the header
/// (`e_shoff`, `e_shnum`, `e_shstrndx` = 0) and the file is identified from its program
/// headers alone: without `.dynstr` and `.ARM.attributes`, a shared library's C library and a
/// 32-bit ARM file's exact architecture level may be unknown.
pub fn identify_prefix(prefix: &[u8], file_len: u64) -> Result<Binary, Error> {
    let complete = u64::try_from(prefix.len()).is_ok_and(|len| len >= file_len);
    if complete || !prefix.starts_with(b"\x7fELF") {
        return identify(prefix);
    }
    let class64 = prefix.get(4) == Some(&2);
    let little = prefix.get(5) != Some(&2);
    // (e_shoff offset, its width, e_shnum offset, e_shentsize offset): the ELF header layout
    // of the System V gABI for each class.
    let (shoff_at, shoff_width, shentsize_at, shnum_at, shstrndx_at) = if class64 {
        (0x28, 8, 0x3a, 0x3c, 0x3e)
    } else {
        (0x20, 4, 0x2e, 0x30, 0x32)
    };
    let read = |at: usize, width: usize| -> Option<u64> {
        let bytes = prefix.get(at..at + width)?;
        let mut value: u64 = 0;
        for index in 0..width {
            let byte = if little {
                bytes[width - 1 - index]
            } else {
                bytes[index]
            };
            value = value << 8 | u64::from(byte);
        }
        Some(value)
    };
    let table_end = read(shoff_at, shoff_width)
        .zip(read(shentsize_at, 2))
        .zip(read(shnum_at, 2))
        .and_then(|((offset, size), count)| offset.checked_add(size.checked_mul(count)?));
    match table_end {
        Some(end) if end > prefix.len() as u64 => {
            let mut copy = prefix.to_vec();
            for (at, width) in [(shoff_at, shoff_width), (shnum_at, 2), (shstrndx_at, 2)] {
                if let Some(field) = copy.get_mut(at..at + width) {
                    field.fill(0);
                }
            }
            identify(&copy)
        }
        _ => identify(prefix),
    }
}

fn unrecognized(bytes: &[u8]) -> Error {
    let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    if bytes.len() < 16
        && (bytes.starts_with(b"\x7fELF")
            || bytes.starts_with(b"MZ")
            || bytes.starts_with(b"\0asm")
            || bytes.starts_with(&[0xcf, 0xfa, 0xed, 0xfe]))
    {
        return Error::binary(format!(
            "truncated: only {} bytes, too short for a header",
            bytes.len()
        ));
    }
    Error::binary(format!(
        "not an ELF, PE, Mach-O or WebAssembly binary (starts with `{}`)",
        head.join(" ")
    ))
}

fn malformed(format: &str, error: object::read::Error) -> Error {
    Error::binary(format!("truncated or malformed {format} file: {error}"))
}

fn identify_elf<'data, H: FileHeader<Endian = Endianness>>(
    file: &object::read::elf::ElfFile<'data, H, &'data [u8]>,
    bytes: &'data [u8],
) -> Result<Binary, Error> {
    let endian = file.endian();
    let header = file.elf_header();
    let machine = header.e_machine(endian);
    let flags = header.e_flags(endian);
    let os_abi = header.e_ident().os_abi;
    let class: u8 = if header.is_class_64() { 64 } else { 32 };
    let byte_order = if header.is_little_endian() {
        Endian::Little
    } else {
        Endian::Big
    };
    let elf_header = ElfHeader {
        machine,
        class,
        endian: byte_order,
        flags,
        os_abi,
    };

    let mut interpreter = None;
    let mut has_dynamic = false;
    let mut os_note: Option<Kernel> = None;
    let mut gnu_note = false;
    let mut android_note = false;
    let program_headers = header
        .program_headers(endian, bytes)
        .map_err(|error| malformed("ELF", error))?;
    for segment in program_headers {
        if let Some(path) = segment
            .interpreter(endian, bytes)
            .map_err(|error| malformed("ELF", error))?
        {
            interpreter = Some(String::from_utf8_lossy(path).into_owned());
        }
        if segment.p_type(endian) == elf::PT_DYNAMIC {
            has_dynamic = true;
        }
        // Notes are a hint: a malformed note segment does not make the file unidentifiable.
        if let Ok(Some(mut notes)) = segment.notes(endian, bytes) {
            while let Ok(Some(note)) = notes.next() {
                match note.name() {
                    b"GNU" if note.n_type(endian) == elf::NT_GNU_ABI_TAG => {
                        // desc[0] is the OS: 0 Linux, 1 Hurd, 2 Solaris, 3 FreeBSD
                        // (glibc `csu/abi-note.S`).
                        let desc = note.desc();
                        let os = desc.get(..4).map(|word| match byte_order {
                            Endian::Little => {
                                u32::from_le_bytes([word[0], word[1], word[2], word[3]])
                            }
                            Endian::Big => u32::from_be_bytes([word[0], word[1], word[2], word[3]]),
                        });
                        if os == Some(0) {
                            gnu_note = true;
                            os_note = Some(Kernel::Linux);
                        }
                    }
                    b"FreeBSD" => os_note = Some(Kernel::Freebsd),
                    b"NetBSD" => os_note = Some(Kernel::Netbsd),
                    b"OpenBSD" => os_note = Some(Kernel::Openbsd),
                    b"Android" => android_note = true,
                    _ => {}
                }
            }
        }
    }

    let kind = match header.e_type(endian) {
        elf::ET_EXEC => BinaryKind::Executable,
        // A position-independent executable has an interpreter; a shared library does not
        // (static-pie has neither and is told apart by its entry point being set).
        elf::ET_DYN if interpreter.is_some() => BinaryKind::Executable,
        elf::ET_DYN if header.e_entry(endian).into() != 0 && !has_dynamic_soname(file) => {
            BinaryKind::Executable
        }
        elf::ET_DYN => BinaryKind::SharedLibrary,
        elf::ET_REL => BinaryKind::Object,
        elf::ET_CORE => BinaryKind::Core,
        _ => BinaryKind::Unknown,
    };
    let linkage = if interpreter.is_some() || (has_dynamic && kind == BinaryKind::SharedLibrary) {
        Linkage::Dynamic
    } else {
        Linkage::Static
    };

    let interpreter_name = interpreter
        .as_deref()
        .map(|path| path.rsplit('/').next().unwrap_or(path).to_string());
    let kernel = match os_abi {
        elf::ELFOSABI_FREEBSD => Kernel::Freebsd,
        elf::ELFOSABI_NETBSD => Kernel::Netbsd,
        elf::ELFOSABI_OPENBSD => Kernel::Openbsd,
        elf::ELFOSABI_SOLARIS => Kernel::Solaris,
        _ => match (os_note, interpreter.as_deref()) {
            (Some(kernel), _) => kernel,
            (None, Some("/libexec/ld-elf.so.1")) => Kernel::Freebsd,
            (None, Some("/usr/libexec/ld.elf_so")) => Kernel::Netbsd,
            (None, Some("/usr/libexec/ld.so")) => Kernel::Openbsd,
            _ => Kernel::Linux,
        },
    };
    let musl = interpreter_name
        .as_deref()
        .is_some_and(|name| name.starts_with("ld-musl-"));
    let android = android_note
        || interpreter
            .as_deref()
            .is_some_and(|path| path.starts_with("/system/bin/linker"));
    // Shared libraries have no interpreter; the C library they link (`DT_NEEDED`) is named
    // in the dynamic string table.
    let needed_libc = file
        .section_by_name(".dynstr")
        .and_then(|section| object::ObjectSection::data(&section).ok())
        .and_then(|strings| {
            let contains = |needle: &[u8]| strings.windows(needle.len()).any(|w| w == needle);
            if contains(b"libc.musl-") {
                Some(Libc::Musl)
            } else if contains(b"libc.so.6") {
                Some(Libc::Glibc)
            } else {
                None
            }
        });
    let libc = if kernel != Kernel::Linux {
        None
    } else if android {
        Some(Libc::Bionic)
    } else if musl || needed_libc == Some(Libc::Musl) {
        Some(Libc::Musl)
    } else if gnu_note || interpreter.is_some() || needed_libc == Some(Libc::Glibc) {
        Some(Libc::Glibc)
    } else {
        None
    };

    let cpu = elf_cpu(machine, class, byte_order, flags, file).ok_or_else(|| {
        Error::binary(format!(
            "ELF for machine {machine} (`e_machine`), which archway does not know"
        ))
    })?;
    let requirements = requirements::elf_requirements(file);
    // The linker sets `EF_ARM_ABI_FLOAT_HARD`; a relocatable object says hard-float only in
    // its attributes (`Tag_ABI_VFP_args`), so that counts too.
    let abi_flags = match &requirements.arm {
        Some(arm) if arm.vfp_arguments => flags | elf::EF_ARM_ABI_FLOAT_HARD,
        _ => flags,
    };
    let abi = if kernel != Kernel::Linux {
        Abi::Unknown
    } else {
        elf_linux_abi(cpu, class, abi_flags, libc)
    };
    let mut platform = Platform::new(cpu, Vendor::Unknown, kernel, abi);
    if linkage == Linkage::Static && kind == BinaryKind::Executable {
        platform = platform.with_static(true);
    }
    Ok(Binary {
        format: BinaryFormat::Elf,
        kind,
        platform,
        libc,
        interpreter,
        linkage,
        elf: Some(elf_header),
        requirements,
    })
}

/// Has a `DT_SONAME` (a shared library, as opposed to a static-pie executable)?
fn has_dynamic_soname<'data, H: FileHeader<Endian = Endianness>>(
    file: &object::read::elf::ElfFile<'data, H, &'data [u8]>,
) -> bool {
    let endian = file.endian();
    let data = file.data();
    for section in file.elf_section_table().iter() {
        if let Ok(Some((entries, _))) = section.dynamic(endian, data) {
            for entry in entries {
                let tag: u64 = entry.d_tag(endian).into();
                if tag == u64::from(elf::DT_SONAME) {
                    return true;
                }
            }
        }
    }
    false
}

/// The CPU for an ELF header.
fn elf_cpu<'data, H: FileHeader<Endian = Endianness>>(
    machine: u16,
    class: u8,
    endian: Endian,
    flags: u32,
    file: &object::read::elf::ElfFile<'data, H, &'data [u8]>,
) -> Option<Cpu> {
    let little = endian == Endian::Little;
    let cpu = match machine {
        elf::EM_X86_64 => Cpu::X86_64,
        // i386 binaries from Debian and most distributions target i686.
        elf::EM_386 => Cpu::I686,
        elf::EM_AARCH64 if little => Cpu::Aarch64,
        elf::EM_AARCH64 => Cpu::Aarch64Be,
        elf::EM_ARM if !little => Cpu::Armeb,
        elf::EM_ARM => arm_cpu(file, flags),
        elf::EM_MIPS => {
            let arch = flags & elf::EF_MIPS_ARCH;
            let r6 = arch == elf::EF_MIPS_ARCH_32R6 || arch == elf::EF_MIPS_ARCH_64R6;
            let wide = class == 64 || flags & elf::EF_MIPS_ABI2 != 0;
            match (r6, wide, little) {
                (false, false, false) => Cpu::Mips,
                (false, false, true) => Cpu::Mipsel,
                (false, true, false) => Cpu::Mips64,
                (false, true, true) => Cpu::Mips64el,
                (true, false, false) => Cpu::Mipsisa32r6,
                (true, false, true) => Cpu::Mipsisa32r6el,
                (true, true, false) => Cpu::Mipsisa64r6,
                (true, true, true) => Cpu::Mipsisa64r6el,
            }
        }
        elf::EM_PPC if little => Cpu::Powerpcle,
        elf::EM_PPC => Cpu::Powerpc,
        elf::EM_PPC64 if little => Cpu::Powerpc64le,
        elf::EM_PPC64 => Cpu::Powerpc64,
        elf::EM_RISCV if class == 64 => Cpu::Riscv64,
        elf::EM_RISCV => Cpu::Riscv32,
        elf::EM_S390 if class == 64 => Cpu::S390x,
        elf::EM_S390 => Cpu::S390,
        elf::EM_SPARC | elf::EM_SPARC32PLUS => Cpu::Sparc,
        elf::EM_SPARCV9 => Cpu::Sparc64,
        elf::EM_SH if little => Cpu::Sh4,
        elf::EM_SH => Cpu::Sh4eb,
        elf::EM_MICROBLAZE if little => Cpu::Microblazeel,
        elf::EM_MICROBLAZE => Cpu::Microblaze,
        other => {
            // The CPUs with one ELF machine of their own.
            return Cpu::ALL.iter().copied().find(|cpu| {
                cpu.elf_machine() == Some(other)
                    && (cpu.bits() == u32::from(class) || cpu.bits() < 32 && class == 32)
            });
        }
    };
    Some(cpu)
}

/// 32-bit little-endian ARM: the architecture version from `.ARM.attributes`
/// (`Tag_CPU_arch`, read with `object`'s attributes reader), else what the float ABI implies
/// for Debian (hard-float is armhf, ARMv7).
fn arm_cpu<'data, H: FileHeader<Endian = Endianness>>(
    file: &object::read::elf::ElfFile<'data, H, &'data [u8]>,
    flags: u32,
) -> Cpu {
    use ArmArch::*;
    match requirements::arm_architecture(file) {
        Some(V4 | V4T) => Cpu::Arm,
        Some(V5T | V5TE | V5TEJ) => Cpu::Armv5tel,
        Some(V6 | V6KZ | V6T2 | V6K) => Cpu::Armv6l,
        Some(V6M | V6SM) => Cpu::Armv6m,
        Some(V7) => Cpu::Armv7l,
        Some(V7EM) => Cpu::Armv7m,
        Some(V8A | V9A) => Cpu::Armv8a,
        Some(V8R) => Cpu::Armv8r,
        Some(V8MBase | V8MMain | V8_1MMain) => Cpu::Armv8m,
        _ if flags & elf::EF_ARM_ABI_FLOAT_HARD != 0 => Cpu::Armv7l,
        _ => Cpu::Armv5tel,
    }
}

/// The Linux ABI name for an ELF's CPU, class and flags.
fn elf_linux_abi(cpu: Cpu, class: u8, flags: u32, libc: Option<Libc>) -> Abi {
    let musl = libc == Some(Libc::Musl);
    let android = libc == Some(Libc::Bionic);
    if cpu.is_aarch32() {
        let hard = flags & elf::EF_ARM_ABI_FLOAT_HARD != 0;
        return match (android, musl, hard) {
            (true, _, _) => Abi::Androideabi,
            (false, true, true) => Abi::Musleabihf,
            (false, true, false) => Abi::Musleabi,
            (false, false, true) => Abi::Gnueabihf,
            (false, false, false) => Abi::Gnueabi,
        };
    }
    if android {
        return Abi::Android;
    }
    if cpu.is_mips64() {
        let n32 = class == 32;
        return match (musl, n32) {
            (true, true) => Abi::Muslabin32,
            (true, false) => Abi::Muslabi64,
            (false, true) => Abi::Gnuabin32,
            (false, false) => Abi::Gnuabi64,
        };
    }
    if musl {
        return Abi::Musl;
    }
    match (cpu, class) {
        (Cpu::X86_64, 32) => Abi::Gnux32,
        (Cpu::Aarch64 | Cpu::Aarch64Be, 32) => Abi::GnuIlp32,
        // ppc64 psABI: e_flags 1 = ELFv1, 2 = ELFv2.
        (Cpu::Powerpc64, _) if flags & 3 == 2 => Abi::Gnuabielfv2,
        (Cpu::Powerpc64, _) if flags & 3 == 1 => Abi::Gnuabielfv1,
        _ => Abi::Gnu,
    }
}

fn identify_pe(bytes: &[u8]) -> Result<Binary, Error> {
    let file = object::File::parse(bytes).map_err(|error| malformed("PE", error))?;
    let architecture = file.architecture();
    use object::Architecture as A;
    let cpu = match architecture {
        A::X86_64 => Cpu::X86_64,
        A::I386 => Cpu::I686,
        A::Aarch64 => Cpu::Aarch64,
        A::Arm => Cpu::Armv7a,
        other => {
            return Err(Error::binary(format!(
                "PE for architecture {other:?}, which archway does not know"
            )))
        }
    };
    let imports = file.imports().map_err(|error| malformed("PE", error))?;
    let mut dlls: Vec<String> = imports
        .iter()
        .map(|import| String::from_utf8_lossy(import.library()).to_ascii_lowercase())
        .collect();
    dlls.sort();
    dlls.dedup();
    let imports_dll = |pattern: &dyn Fn(&str) -> bool| dlls.iter().any(|dll| pattern(dll));
    let subsystem = pe_subsystem(bytes);
    let is_efi = matches!(subsystem, Some(10..=13));
    let (kernel, vendor, abi, libc) = if is_efi {
        (Kernel::Uefi, Vendor::Unknown, Abi::Unknown, None)
    } else if imports_dll(&|dll| dll.starts_with("vcruntime")) {
        (Kernel::Windows, Vendor::Pc, Abi::Msvc, Some(Libc::Ucrt))
    } else if imports_dll(&|dll| dll == "ucrtbase.dll" || dll.starts_with("api-ms-win-crt-")) {
        (Kernel::Windows, Vendor::W64, Abi::Gnu, Some(Libc::Ucrt))
    } else if imports_dll(&|dll| dll == "msvcrt.dll") {
        (Kernel::Windows, Vendor::W64, Abi::Gnu, Some(Libc::Msvcrt))
    } else {
        (Kernel::Windows, Vendor::W64, Abi::Gnu, None)
    };
    let mut platform = Platform::new(cpu, vendor, kernel, abi);
    if let Some(libc) = libc {
        platform = platform.with_libc(libc);
    }
    let kind = match file.kind() {
        object::ObjectKind::Dynamic => BinaryKind::SharedLibrary,
        object::ObjectKind::Executable => BinaryKind::Executable,
        _ => BinaryKind::Unknown,
    };
    Ok(Binary {
        format: BinaryFormat::Pe,
        kind,
        platform,
        libc,
        interpreter: None,
        linkage: if dlls.is_empty() {
            Linkage::Static
        } else {
            Linkage::Dynamic
        },
        elf: None,
        requirements: Requirements::default(),
    })
}

/// The PE optional header's `Subsystem` (10-13 are the EFI ones, winnt.h).
fn pe_subsystem(bytes: &[u8]) -> Option<u16> {
    let pe_offset = u32::from_le_bytes(bytes.get(0x3c..0x40)?.try_into().ok()?) as usize;
    // Signature (4) + COFF header (20), then the optional header; Subsystem is at offset 68
    // in both PE32 and PE32+.
    let at = pe_offset.checked_add(24 + 68)?;
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn identify_macho(bytes: &[u8]) -> Result<Binary, Error> {
    use object::macho;
    use object::read::macho::{MachHeader, MachOFile32, MachOFile64};
    fn details<'data, Mach: MachHeader<Endian = Endianness>>(
        file: &object::read::macho::MachOFile<'data, Mach, &'data [u8]>,
        bytes: &'data [u8],
    ) -> Result<(u32, u32, Option<String>, Kernel), Error> {
        let endian = file.endian();
        let header = file.macho_header();
        let mut commands = header
            .load_commands(endian, bytes, 0)
            .map_err(|error| malformed("Mach-O", error))?;
        let mut dylinker = None;
        let mut kernel = Kernel::Darwin;
        while let Some(command) = commands
            .next()
            .map_err(|error| malformed("Mach-O", error))?
        {
            match command.cmd() {
                macho::LC_LOAD_DYLINKER => {
                    if let Ok(object::read::macho::LoadCommandVariant::LoadDylinker(
                        dylinker_command,
                    )) = command.variant()
                    {
                        if let Ok(name) = command.string(endian, dylinker_command.name) {
                            dylinker = Some(String::from_utf8_lossy(name).into_owned());
                        }
                    }
                }
                macho::LC_BUILD_VERSION => {
                    if let Ok(build) = command.data::<macho::BuildVersionCommand<Endianness>>() {
                        // PLATFORM_IOS 2, TVOS 3, WATCHOS 4, IOSSIMULATOR 7.. (mach-o/loader.h)
                        if matches!(build.platform.get(endian), 2..=4 | 7..=9) {
                            kernel = Kernel::Ios;
                        }
                    }
                }
                macho::LC_VERSION_MIN_IPHONEOS
                | macho::LC_VERSION_MIN_TVOS
                | macho::LC_VERSION_MIN_WATCHOS => kernel = Kernel::Ios,
                _ => {}
            }
        }
        Ok((
            header.cputype(endian),
            header.filetype(endian),
            dylinker,
            kernel,
        ))
    }
    let (cputype, filetype, dylinker, kernel) = if bytes.get(..4) == Some(&[0xcf, 0xfa, 0xed, 0xfe])
        || bytes.get(..4) == Some(&[0xfe, 0xed, 0xfa, 0xcf])
    {
        let file = MachOFile64::<Endianness>::parse(bytes).map_err(|e| malformed("Mach-O", e))?;
        details(&file, bytes)?
    } else {
        let file = MachOFile32::<Endianness>::parse(bytes).map_err(|e| malformed("Mach-O", e))?;
        details(&file, bytes)?
    };
    let cpu = match cputype {
        macho::CPU_TYPE_X86_64 => Cpu::X86_64,
        macho::CPU_TYPE_X86 => Cpu::I686,
        macho::CPU_TYPE_ARM64 => Cpu::Aarch64,
        macho::CPU_TYPE_ARM => Cpu::Armv7a,
        macho::CPU_TYPE_POWERPC => Cpu::Powerpc,
        macho::CPU_TYPE_POWERPC64 => Cpu::Powerpc64,
        other => {
            return Err(Error::binary(format!(
                "Mach-O for CPU type {other:#x}, which archway does not know"
            )))
        }
    };
    let kind = match filetype {
        macho::MH_EXECUTE => BinaryKind::Executable,
        macho::MH_DYLIB | macho::MH_BUNDLE => BinaryKind::SharedLibrary,
        macho::MH_OBJECT => BinaryKind::Object,
        macho::MH_CORE => BinaryKind::Core,
        _ => BinaryKind::Unknown,
    };
    let linkage = if dylinker.is_some() || kind == BinaryKind::SharedLibrary {
        Linkage::Dynamic
    } else {
        Linkage::Static
    };
    Ok(Binary {
        format: BinaryFormat::MachO,
        kind,
        platform: Platform::new(cpu, Vendor::Apple, kernel, Abi::Unknown),
        libc: Some(Libc::LibSystem),
        interpreter: dylinker,
        linkage,
        elf: None,
        requirements: Requirements::default(),
    })
}

fn identify_wasm(bytes: &[u8]) -> Result<Binary, Error> {
    // The module structure is checked here rather than by object's wasm reader: object 0.36
    // indexes its function table with indices read from the file (a `name` section naming a
    // function past the last one panics, found by `fuzz/fuzz_targets/inspect.rs`), and only the
    // section layout matters for identifying the module.
    check_wasm_sections(bytes).map_err(|problem| {
        Error::binary(format!(
            "truncated or malformed WebAssembly file: {problem}"
        ))
    })?;
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|window| window == needle);
    let wasi = contains(b"wasi_snapshot_preview1") || contains(b"wasi_unstable");
    let kernel = if wasi { Kernel::Wasi } else { Kernel::None };
    let platform = Platform::new(Cpu::Wasm32, Vendor::Unknown, kernel, Abi::Unknown);
    Ok(Binary {
        format: BinaryFormat::Wasm,
        kind: BinaryKind::Executable,
        libc: wasi.then_some(Libc::Wasilibc),
        platform,
        interpreter: None,
        linkage: Linkage::Static,
        elf: None,
        requirements: Requirements::default(),
    })
}

/// Reads an unsigned LEB128 number of at most 32 bits at `*at`, advancing `*at` (WebAssembly
/// core specification, 5.2.2 "Integers": at most `ceil(32 / 7)` = 5 bytes).
fn read_wasm_u32(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let mut value: u64 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(value).ok();
        }
    }
    None
}

/// The binary format's outer structure (WebAssembly core specification, 5.5 "Modules"): the
/// preamble `\0asm` version 1, then sections, each an id (0 to 12, and 13 for the exception
/// handling proposal's tags), a LEB128 size and that many bytes, which must lie in the file;
/// a custom section (id 0) starts with a UTF-8 name inside the section.
fn check_wasm_sections(bytes: &[u8]) -> Result<(), String> {
    match bytes.get(..8) {
        Some(b"\0asm\x01\0\0\0") => {}
        Some(preamble) if preamble.starts_with(b"\0asm") => {
            return Err("only version 1 of the binary format exists".to_string())
        }
        _ => return Err("the 8-byte preamble is missing".to_string()),
    }
    let mut at = 8;
    while let Some(&id) = bytes.get(at) {
        if id > 13 {
            return Err(format!("unknown section id {id} at offset {at}"));
        }
        at += 1;
        let size = read_wasm_u32(bytes, &mut at).ok_or_else(|| {
            format!(
                "the size of the section at offset {} is cut or too large",
                at - 1
            )
        })?;
        let end = at
            .checked_add(size as usize)
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| format!("a section of {size} bytes runs past the end of the file"))?;
        if id == 0 {
            let mut name_at = at;
            let length = read_wasm_u32(&bytes[..end], &mut name_at)
                .ok_or("a custom section's name length is cut")?;
            let name = name_at
                .checked_add(length as usize)
                .and_then(|name_end| bytes[..end].get(name_at..name_end))
                .ok_or("a custom section's name runs past its section")?;
            std::str::from_utf8(name).map_err(|_| "a custom section's name is not UTF-8")?;
        }
        at = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A minimal ELF header (no sections, no segments) with the given identity.
    fn elf_header(class: u8, little: bool, machine: u16, flags: u32, e_type: u16) -> Vec<u8> {
        let wide = class == 64;
        let size = if wide { 64 } else { 52 };
        let mut bytes = vec![0u8; size];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[4] = if wide { 2 } else { 1 };
        bytes[5] = if little { 1 } else { 2 };
        bytes[6] = 1;
        let put16 = |bytes: &mut Vec<u8>, at: usize, value: u16| {
            let raw = if little {
                value.to_le_bytes()
            } else {
                value.to_be_bytes()
            };
            bytes[at..at + 2].copy_from_slice(&raw);
        };
        let put32 = |bytes: &mut Vec<u8>, at: usize, value: u32| {
            let raw = if little {
                value.to_le_bytes()
            } else {
                value.to_be_bytes()
            };
            bytes[at..at + 4].copy_from_slice(&raw);
        };
        put16(&mut bytes, 16, e_type);
        put16(&mut bytes, 18, machine);
        put32(&mut bytes, 20, 1);
        let (flags_at, ehsize_at) = if wide { (48, 52) } else { (36, 40) };
        put32(&mut bytes, flags_at, flags);
        put16(&mut bytes, ehsize_at, size as u16);
        bytes
    }

    #[test]
    fn elf_headers_map_to_platforms() {
        let cases: &[(u8, bool, u16, u32, &str)] = &[
            (64, true, elf::EM_X86_64, 0, "x86_64-unknown-linux-gnu"),
            (32, true, elf::EM_X86_64, 0, "x86_64-unknown-linux-gnux32"),
            (32, true, elf::EM_386, 0, "i686-unknown-linux-gnu"),
            (64, true, elf::EM_AARCH64, 0, "aarch64-unknown-linux-gnu"),
            (
                64,
                false,
                elf::EM_AARCH64,
                0,
                "aarch64_be-unknown-linux-gnu",
            ),
            (
                32,
                true,
                elf::EM_ARM,
                elf::EF_ARM_EABI_VER5 | elf::EF_ARM_ABI_FLOAT_HARD,
                "armv7l-unknown-linux-gnueabihf",
            ),
            (
                32,
                true,
                elf::EM_ARM,
                elf::EF_ARM_EABI_VER5 | elf::EF_ARM_ABI_FLOAT_SOFT,
                "armv5tel-unknown-linux-gnueabi",
            ),
            (64, true, elf::EM_MIPS, 0, "mips64el-unknown-linux-gnuabi64"),
            (
                32,
                false,
                elf::EM_MIPS,
                elf::EF_MIPS_ABI2,
                "mips64-unknown-linux-gnuabin32",
            ),
            (32, true, elf::EM_MIPS, 0, "mipsel-unknown-linux-gnu"),
            (
                64,
                true,
                elf::EM_MIPS,
                elf::EF_MIPS_ARCH_64R6,
                "mipsisa64r6el-unknown-linux-gnuabi64",
            ),
            (64, true, elf::EM_PPC64, 2, "powerpc64le-unknown-linux-gnu"),
            (
                64,
                false,
                elf::EM_PPC64,
                1,
                "powerpc64-unknown-linux-gnuabielfv1",
            ),
            (
                64,
                false,
                elf::EM_PPC64,
                2,
                "powerpc64-unknown-linux-gnuabielfv2",
            ),
            (32, false, elf::EM_PPC, 0, "powerpc-unknown-linux-gnu"),
            (64, true, elf::EM_RISCV, 5, "riscv64-unknown-linux-gnu"),
            (32, true, elf::EM_RISCV, 5, "riscv32-unknown-linux-gnu"),
            (64, false, elf::EM_S390, 0, "s390x-unknown-linux-gnu"),
            (32, false, elf::EM_S390, 0, "s390-unknown-linux-gnu"),
            (
                64,
                true,
                elf::EM_LOONGARCH,
                3,
                "loongarch64-unknown-linux-gnu",
            ),
            (64, false, elf::EM_SPARCV9, 0, "sparc64-unknown-linux-gnu"),
            (32, false, elf::EM_68K, 0, "m68k-unknown-linux-gnu"),
            (32, true, elf::EM_SH, 0, "sh4-unknown-linux-gnu"),
            (64, true, elf::EM_ALPHA, 0, "alpha-unknown-linux-gnu"),
            (32, false, elf::EM_PARISC, 0, "hppa-unknown-linux-gnu"),
        ];
        for &(class, little, machine, flags, config) in cases {
            let bytes = elf_header(class, little, machine, flags, elf::ET_EXEC);
            let binary = identify(&bytes).unwrap_or_else(|e| panic!("{config}: {e}"));
            assert_eq!(binary.platform.canonical_config(), config);
            assert_eq!(binary.format, BinaryFormat::Elf);
            assert_eq!(binary.linkage, Linkage::Static);
            // The platform's own expectation matches the header it came from.
            let expectation = binary.platform.elf().expect("an ELF platform");
            let endian = if little { Endian::Little } else { Endian::Big };
            assert!(
                expectation.matches(machine, class, endian, flags),
                "{config}: {expectation:?}"
            );
        }
    }

    #[test]
    fn empty_garbage_and_truncated_inputs_are_errors() {
        assert_eq!(
            identify(b"").expect_err("empty").to_string(),
            "the file is empty"
        );
        let garbage = identify(b"#!/bin/sh\necho hi\n").expect_err("a script");
        assert!(garbage.to_string().contains("not an ELF, PE, Mach-O"));
        let truncated = identify(b"\x7fELF\x02\x01").expect_err("6 bytes");
        assert!(truncated.to_string().contains("truncated"), "{truncated}");
        let header = elf_header(64, true, elf::EM_AARCH64, 0, elf::ET_EXEC);
        let half = identify(&header[..40]).expect_err("half a header");
        assert!(half.to_string().contains("truncated"), "{half}");
    }

    #[test]
    fn unknown_machine_is_named() {
        let bytes = elf_header(64, true, 0x7777, 0, elf::ET_EXEC);
        let error = identify(&bytes).expect_err("machine 0x7777");
        assert!(error.to_string().contains("30583"), "{error}");
    }

    /// A little-endian ELF32 file of `machine` with one section of `section_type` holding
    /// `data` (and the section name table).
    pub(crate) fn elf32_with_section(
        machine: u16,
        flags: u32,
        e_type: u16,
        section_type: u32,
        data: &[u8],
    ) -> Vec<u8> {
        let mut bytes = elf_header(32, true, machine, flags, e_type);
        let data_at = bytes.len();
        bytes.extend_from_slice(data);
        let names_at = bytes.len();
        let names = b"\0.attributes\0.shstrtab\0";
        bytes.extend_from_slice(names);
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
        let table_at = bytes.len();
        let section = |name: u32, kind: u32, offset: usize, size: usize| -> Vec<u8> {
            [name, kind, 0, 0, offset as u32, size as u32, 0, 0, 1, 0]
                .iter()
                .flat_map(|word| word.to_le_bytes())
                .collect()
        };
        bytes.extend(section(0, 0, 0, 0));
        bytes.extend(section(1, section_type, data_at, data.len()));
        bytes.extend(section(13, elf::SHT_STRTAB, names_at, names.len()));
        bytes[32..36].copy_from_slice(&(table_at as u32).to_le_bytes());
        bytes[46..48].copy_from_slice(&40u16.to_le_bytes());
        bytes[48..50].copy_from_slice(&3u16.to_le_bytes());
        bytes[50..52].copy_from_slice(&2u16.to_le_bytes());
        bytes
    }

    /// An `.ARM.attributes` section: 'A', one `aeabi` subsection with one `Tag_File`
    /// sub-subsection holding `attributes`.
    fn aeabi_section(attributes: &[u8]) -> Vec<u8> {
        let file_length = (1 + 4 + attributes.len()) as u32;
        let subsection_length = (4 + 6) as u32 + file_length;
        [
            b"A".as_slice(),
            &subsection_length.to_le_bytes(),
            b"aeabi\0",
            &[1],
            &file_length.to_le_bytes(),
            attributes,
        ]
        .concat()
    }

    #[test]
    fn arm_attributes_give_the_architecture_version() {
        // Tag_CPU_name (5) "7-A", Tag_CPU_arch (6) = 10 (v7), Tag_THUMB_ISA_use (9) = 2,
        // Tag_FP_arch (10) = 4 (VFPv3-D16), Tag_ABI_VFP_args (28) = 1.
        let attributes = [b"\x057-A\0".as_slice(), &[6, 10, 9, 2, 10, 4, 28, 1]].concat();
        let bytes = elf32_with_section(
            elf::EM_ARM,
            elf::EF_ARM_EABI_VER5 | elf::EF_ARM_ABI_FLOAT_HARD,
            elf::ET_REL,
            elf::SHT_ARM_ATTRIBUTES,
            &aeabi_section(&attributes),
        );
        let binary = identify(&bytes).expect("an ARM object");
        assert_eq!(binary.platform.cpu(), Cpu::Armv7l);
        let arm = binary.requirements.arm.expect("attributes");
        assert_eq!(arm.arch, Some(ArmArch::V7));
        assert!(arm.thumb2 && arm.vfp_arguments);
        assert_eq!(arm.fp, Some(requirements::ArmFp::Vfpv3D16));
        // Tag_CPU_arch 7 (v6KZ) on a soft-float file: ARMv6, not the float ABI's guess.
        let bytes = elf32_with_section(
            elf::EM_ARM,
            elf::EF_ARM_EABI_VER5,
            elf::ET_REL,
            elf::SHT_ARM_ATTRIBUTES,
            &aeabi_section(&[6, 7]),
        );
        assert_eq!(identify(&bytes).expect("v6").platform.cpu(), Cpu::Armv6l);
        // A truncated section: what was read before the fault, no panic.
        let section = aeabi_section(&[6, 10]);
        let bytes = elf32_with_section(
            elf::EM_ARM,
            elf::EF_ARM_EABI_VER5 | elf::EF_ARM_ABI_FLOAT_HARD,
            elf::ET_REL,
            elf::SHT_ARM_ATTRIBUTES,
            &section[..section.len() - 1],
        );
        let binary = identify(&bytes).expect("still identified");
        assert_eq!(binary.platform.cpu(), Cpu::Armv7l);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = identify(&bytes);
        }

        #[test]
        fn random_bytes_after_a_magic_never_panic(
            magic in prop_oneof![
                Just(b"\x7fELF\x02\x01\x01".to_vec()),
                Just(b"\x7fELF\x01\x02\x01".to_vec()),
                Just(b"MZ".to_vec()),
                Just(b"\0asm\x01\0\0\0".to_vec()),
                Just(vec![0xcf, 0xfa, 0xed, 0xfe]),
                Just(vec![0xca, 0xfe, 0xba, 0xbe]),
            ],
            tail in proptest::collection::vec(any::<u8>(), 0..1024),
        ) {
            let bytes = [magic, tail].concat();
            let _ = identify(&bytes);
        }

        #[test]
        fn random_attribute_and_note_sections_never_panic(
            machine in prop_oneof![
                Just(elf::EM_ARM),
                Just(elf::EM_RISCV),
                Just(elf::EM_386),
                Just(elf::EM_MIPS),
            ],
            section_type in prop_oneof![
                Just(elf::SHT_ARM_ATTRIBUTES),
                Just(elf::SHT_NOTE),
                Just(0x7000_002au32),
            ],
            start in prop_oneof![Just(b"A".to_vec()), Just(Vec::new())],
            body in proptest::collection::vec(any::<u8>(), 0..256),
            cut in 0usize..400,
        ) {
            let data = [start, body].concat();
            let bytes = elf32_with_section(machine, 0, elf::ET_REL, section_type, &data);
            let _ = identify(&bytes);
            let _ = identify(&bytes[..cut.min(bytes.len())]);
            let _ = identify_prefix(&bytes[..cut.min(bytes.len())], bytes.len() as u64);
        }

        #[test]
        fn corrupted_headers_never_panic(
            machine in any::<u16>(),
            flags in any::<u32>(),
            class in prop_oneof![Just(32u8), Just(64u8)],
            little in any::<bool>(),
            cut in 0usize..64,
            flip in proptest::collection::vec((0usize..64, any::<u8>()), 0..8),
        ) {
            let mut bytes = elf_header(class, little, machine, flags, elf::ET_DYN);
            for (at, value) in flip {
                if at < bytes.len() {
                    bytes[at] = value;
                }
            }
            bytes.truncate(cut.max(1));
            let _ = identify(&bytes);
        }

        /// `archway inspect` reads a bounded prefix and passes the file's length: any prefix,
        /// with any claimed length (shorter than the prefix included), returns.
        #[test]
        fn prefix_of_random_bytes_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            extra in prop_oneof![Just(0u64), 0u64..1 << 20, Just(u64::MAX)],
            shorter in any::<bool>(),
        ) {
            let length = bytes.len() as u64;
            let claimed = if shorter { length.saturating_sub(1) } else { length.saturating_add(extra) };
            let _ = identify_prefix(&bytes, claimed);
        }

        /// A real-looking ELF header whose section header table points anywhere, cut anywhere,
        /// in a file of any claimed length: the table is dropped or read, never indexed out of
        /// bounds.
        #[test]
        fn prefix_of_corrupted_headers_never_panics(
            machine in any::<u16>(),
            class in prop_oneof![Just(32u8), Just(64u8)],
            little in any::<bool>(),
            tail in proptest::collection::vec(any::<u8>(), 0..256),
            flip in proptest::collection::vec((0usize..64, any::<u8>()), 0..8),
            cut in 1usize..320,
            claimed in any::<u64>(),
        ) {
            let mut bytes = [elf_header(class, little, machine, 0, elf::ET_EXEC), tail].concat();
            for (at, value) in flip {
                if at < bytes.len() {
                    bytes[at] = value;
                }
            }
            bytes.truncate(cut);
            let _ = identify_prefix(&bytes, claimed);
            let _ = identify_prefix(&bytes, bytes.len() as u64);
        }
    }
}
