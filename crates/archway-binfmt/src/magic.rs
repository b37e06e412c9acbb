//! The QEMU linux-user magic table: for every QEMU user-mode target, the ELF header bytes
//! (magic) and the bits that matter (mask) that QEMU's `scripts/qemu-binfmt-conf.sh` registers,
//! byte for byte (the late-2024 upstream script), and the CPU family QEMU uses to skip the host's
//! own targets.
//!
//! Debian's qemu-user-static ships the same definitions as `/usr/lib/binfmt.d/qemu-*.conf`,
//! generated from the script of the QEMU it packages. Bookworm's QEMU 7.2 differs from the
//! current script in masks only (older `\xfc`/`\xfe` OS-ABI bytes, the pre-2025 MIPS masks, and
//! Debian's own big-endian `microblaze` e_type bytes); the test at the end of this file compares
//! every entry and lists each known difference with its reason, so a new one fails the test.

use archway_platform::Platform;

use crate::entry::{EntryName, Flags, Registration, Rule};
use crate::error::Error;

/// One QEMU linux-user target (`qemu-<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QemuTarget {
    name: &'static str,
    family: &'static str,
    magic: &'static [u8],
    mask: &'static [u8],
}

impl QemuTarget {
    /// QEMU's name (`aarch64`, `ppc64le`, `mipsn32el`): the entry is `qemu-<name>`.
    pub fn name(&self) -> &'static str {
        self.name
    }
    /// QEMU's CPU family (`qemu_get_family`): targets of the host's family are not registered.
    pub fn family(&self) -> &'static str {
        self.family
    }
    pub fn magic(&self) -> &'static [u8] {
        self.magic
    }
    pub fn mask(&self) -> &'static [u8] {
        self.mask
    }
    /// The emulator's CPU name: `qemu-<cpu>`. Only `i486` differs (QEMU's script registers it
    /// with `qemu-i386`).
    pub fn emulator_cpu(&self) -> &'static str {
        match self.name {
            "i486" => "i386",
            name => name,
        }
    }
    /// The entry name QEMU's script and Debian use: `qemu-<name>`.
    pub fn entry_name(&self) -> String {
        format!("qemu-{}", self.name)
    }
    /// The magic rule (offset 0).
    pub fn rule(&self) -> Rule {
        Rule::Magic {
            offset: 0,
            magic: self.magic.to_vec(),
            mask: Some(self.mask.to_vec()),
        }
    }
    /// A registration of this target under `name` with `interpreter` and `flags`.
    pub fn registration(
        &self,
        name: EntryName,
        interpreter: impl Into<std::path::PathBuf>,
        flags: Flags,
    ) -> Result<Registration, Error> {
        Registration::new(name, self.rule(), interpreter, flags)
    }
    /// Does `rule` handle this target's binaries? The magic itself is a header of this target
    /// (its masked-off bytes are zero or typical values), so this asks whether `rule` accepts it.
    pub fn handled_by(&self, rule: &Rule) -> bool {
        let mut header = self.magic.to_vec();
        // Put a typical EI_OSABI (0 = SYSV) and e_type ET_EXEC/ET_DYN in place: the magic
        // already holds them.
        header.resize(64, 0);
        rule.matches(&header, None)
    }
}

/// Every QEMU linux-user target, in the order of QEMU's `qemu_target_list`.
pub const TARGETS: &[QemuTarget] = &[
    QemuTarget {
        name: "i386",
        family: "i386",
        magic: b"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00",
        mask: b"\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "i486",
        family: "i386",
        magic: b"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x06\x00",
        mask: b"\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "x86_64",
        family: "i386",
        magic: b"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00",
        mask: b"\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "alpha",
        family: "alpha",
        magic: b"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x26\x90",
        mask: b"\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "arm",
        family: "arm",
        magic: b"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "armeb",
        family: "armeb",
        magic: b"\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "sparc",
        family: "sparc",
        magic: b"\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x02",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "sparc32plus",
        family: "sparc",
        magic: b"\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x12",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "sparc64",
        family: "sparc",
        magic: b"\x7f\x45\x4c\x46\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x2b",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "ppc",
        family: "ppc",
        magic: b"\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x14",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "ppc64",
        family: "ppc",
        magic: b"\x7f\x45\x4c\x46\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x15",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "ppc64le",
        family: "ppcle",
        magic: b"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x15\x00",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\x00",
    },
    QemuTarget {
        name: "m68k",
        family: "m68k",
        magic: b"\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x04",
        mask: b"\xff\xff\xff\xff\xff\xff\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "mips",
        family: "mips",
        magic: b"\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20",
    },
    QemuTarget {
        name: "mipsel",
        family: "mips",
        magic: b"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x00\x00",
    },
    QemuTarget {
        name: "mipsn32",
        family: "mips",
        magic: b"\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20",
    },
    QemuTarget {
        name: "mipsn32el",
        family: "mips",
        magic: b"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x00\x00",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x00\x00",
    },
    QemuTarget {
        name: "mips64",
        family: "mips",
        magic: b"\x7f\x45\x4c\x46\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "mips64el",
        family: "mips",
        magic: b"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "sh4",
        family: "sh4",
        magic: b"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x2a\x00",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "sh4eb",
        family: "sh4",
        magic: b"\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x2a",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "s390x",
        family: "s390x",
        magic: b"\x7f\x45\x4c\x46\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "aarch64",
        family: "arm",
        magic: b"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "aarch64_be",
        family: "armeb",
        magic: b"\x7f\x45\x4c\x46\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "hppa",
        family: "hppa",
        magic: b"\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x0f",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "riscv32",
        family: "riscv32",
        magic: b"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "riscv64",
        family: "riscv64",
        magic: b"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "xtensa",
        family: "xtensa",
        magic: b"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x5e\x00",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "xtensaeb",
        family: "xtensaeb",
        magic: b"\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x5e",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    // Deliberately not byte-identical to upstream: upstream's big-endian microblaze entry has
    // e_type in little-endian order (`\x02\x00`, mask `\xfe\xff`), which no big-endian ELF
    // file has, so it never matches. Debian's table and this one use `\x00\x02` / `\xff\xfe`.
    QemuTarget {
        name: "microblaze",
        family: "microblaze",
        magic: b"\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\xba\xab",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "microblazeel",
        family: "microblazeel",
        magic: b"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xab\xba",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "or1k",
        family: "or1k",
        magic: b"\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x5c",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
    QemuTarget {
        name: "hexagon",
        family: "hexagon",
        magic: b"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xa4\x00",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
    QemuTarget {
        name: "loongarch64",
        family: "loongarch",
        magic: b"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x02\x01",
        mask: b"\xff\xff\xff\xff\xff\xff\xff\xfc\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    },
];

/// Every target, in QEMU's order.
pub fn all() -> &'static [QemuTarget] {
    TARGETS
}

/// The target QEMU calls `name` (`aarch64`, `arm`, `ppc64le`).
pub fn for_qemu(name: &str) -> Option<&'static QemuTarget> {
    TARGETS.iter().find(|target| target.name == name)
}

/// The target emulating `platform` (through [`Platform::qemu_user`]).
pub fn for_platform(platform: &Platform) -> Option<&'static QemuTarget> {
    platform.qemu_user().and_then(for_qemu)
}

/// The names of all targets, for "supported" lists in errors.
pub fn names() -> Vec<String> {
    TARGETS
        .iter()
        .map(|target| target.name.to_string())
        .collect()
}

/// The targets whose binaries `rule` handles (usually one; none for a non-ELF entry).
pub fn emulated_by(rule: &Rule) -> Vec<&'static QemuTarget> {
    TARGETS
        .iter()
        .filter(|target| target.handled_by(rule))
        .collect()
}

/// QEMU's `qemu_get_family` for a `uname -m` value: the family whose targets the script skips
/// on this host.
pub fn family_of_machine(machine: &str) -> String {
    let armv = |suffix: char| {
        machine.len() >= 6
            && machine.starts_with("armv")
            && machine.as_bytes()[4].is_ascii_digit()
            && machine.as_bytes()[4] >= b'4'
            && machine.ends_with(suffix)
    };
    match machine {
        "amd64" | "i386" | "i486" | "i586" | "i686" | "i86pc" | "BePC" | "x86_64" => "i386".into(),
        m if m.starts_with("mips") => "mips".into(),
        "Power Macintosh" | "ppc64" | "powerpc" | "ppc" => "ppc".into(),
        "ppc64el" | "ppc64le" => "ppcle".into(),
        "arm" | "armel" | "armhf" | "arm64" | "aarch64" => "arm".into(),
        _ if armv('l') => "arm".into(),
        "armeb" | "aarch64_be" => "armeb".into(),
        _ if armv('b') => "armeb".into(),
        m if m.starts_with("sparc") => "sparc".into(),
        m if m.starts_with("loongarch") => "loongarch".into(),
        other => other.into(),
    }
}

/// The running machine's QEMU family (from `uname -m`).
pub fn host_family() -> String {
    let uname = rustix::system::uname();
    family_of_machine(&uname.machine().to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_qemu_target_once() {
        let expected = "i386 i486 alpha arm armeb sparc sparc32plus sparc64 ppc ppc64 ppc64le m68k mips mipsel mipsn32 \
             mipsn32el mips64 mips64el sh4 sh4eb s390x aarch64 aarch64_be hppa riscv32 riscv64 xtensa xtensaeb microblaze \
             microblazeel or1k x86_64 hexagon loongarch64";
        let mut expected: Vec<&str> = expected.split_whitespace().collect();
        let mut names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        expected.sort_unstable();
        names.sort_unstable();
        assert_eq!(names, expected);
    }

    #[test]
    fn every_magic_is_an_elf_header_with_an_equally_long_mask() {
        for target in TARGETS {
            assert_eq!(&target.magic[..4], b"\x7fELF", "{}", target.name);
            assert_eq!(target.magic.len(), target.mask.len(), "{}", target.name);
            assert!(target
                .registration(
                    EntryName::new(target.entry_name()).expect("name"),
                    "/q",
                    Flags::default()
                )
                .is_ok());
        }
    }

    #[test]
    fn each_target_handles_its_own_header_and_no_other() {
        for target in TARGETS {
            let handlers: Vec<&str> = emulated_by(&target.rule()).iter().map(|t| t.name).collect();
            assert_eq!(handlers, vec![target.name], "{}", target.name);
        }
    }

    #[test]
    fn every_magic_is_an_executable_header_in_its_own_byte_order() {
        for target in TARGETS {
            let e_type = match target.magic[5] {
                1 => u16::from_le_bytes([target.magic[16], target.magic[17]]),
                2 => u16::from_be_bytes([target.magic[16], target.magic[17]]),
                other => panic!("{}: EI_DATA {other}", target.name),
            };
            assert_eq!(
                e_type, 2,
                "{}: e_type is not ET_EXEC in the file's byte order",
                target.name
            );
            // ET_DYN (PIE) must match too: the mask clears the low bit of e_type.
            let mut pie = target.magic.to_vec();
            let low = if target.magic[5] == 1 { 16 } else { 17 };
            pie[low] = 3;
            assert!(target.rule().matches(&pie, None), "{}: PIE", target.name);
        }
    }

    #[test]
    fn mips_entries_tell_o32_from_n32_by_the_abi2_flag() {
        let o32 = for_qemu("mips").expect("mips");
        let n32 = for_qemu("mipsn32").expect("mipsn32");
        assert!(!o32.handled_by(&n32.rule()));
        assert!(!n32.handled_by(&o32.rule()));
    }

    #[test]
    fn platforms_map_to_their_qemu_target() {
        for (name, target) in [
            ("arm64", "aarch64"),
            ("linux/arm/v7", "arm"),
            ("riscv64-linux", "riscv64"),
            ("powerpc64le-linux-gnu", "ppc64le"),
            ("s390x", "s390x"),
            ("mips64el-linux-gnuabi64", "mips64el"),
            ("x86_64", "x86_64"),
        ] {
            let platform = Platform::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                for_platform(&platform).map(|t| t.name()),
                Some(target),
                "{name}"
            );
        }
    }

    #[test]
    fn host_family_follows_qemu_get_family() {
        for (machine, family) in [
            ("x86_64", "i386"),
            ("i686", "i386"),
            ("aarch64", "arm"),
            ("armv7l", "arm"),
            ("armv5tejl", "arm"),
            ("armv7b", "armeb"),
            ("aarch64_be", "armeb"),
            ("ppc64le", "ppcle"),
            ("ppc64", "ppc"),
            ("mips64", "mips"),
            ("sparc64", "sparc"),
            ("loongarch64", "loongarch"),
            ("riscv64", "riscv64"),
            ("s390x", "s390x"),
        ] {
            assert_eq!(family_of_machine(machine), family, "{machine}");
        }
    }
}

/// The table against Debian's `/usr/lib/binfmt.d/qemu-*.conf` (qemu-user-static), entry by entry.
#[cfg(test)]
mod debian_tests {
    use super::*;
    use std::path::Path;

    /// Where Debian's (bookworm, QEMU 7.2) definitions differ from the current script, and why.
    /// Each is checked to still be there, so the list cannot go stale silently.
    /// (target, field, byte index, Debian's byte, the table's byte)
    const KNOWN_DIFFERENCES: &[(&str, &str, usize, u8, u8)] = &[
        // Older scripts masked EI_OSABI with 0xfc (SYSV/HPUX/NetBSD/Linux); the current one
        // ignores it (0x00) for every target.
        ("ppc", "mask", 7, 0xfc, 0x00),
        ("ppc64", "mask", 7, 0xfc, 0x00),
        ("ppc64le", "mask", 7, 0xfc, 0x00),
        ("s390x", "mask", 7, 0xfc, 0x00),
        ("sh4", "mask", 7, 0xfc, 0x00),
        ("sh4eb", "mask", 7, 0xfc, 0x00),
        ("sparc", "mask", 7, 0xfc, 0x00),
        ("sparc32plus", "mask", 7, 0xfc, 0x00),
        ("sparc64", "mask", 7, 0xfc, 0x00),
        // alpha and m68k: the current script clears the low bit of EI_DATA/EI_VERSION (alpha,
        // like x86) and of EI_VERSION (m68k); QEMU 7.2 compared them exactly.
        ("alpha", "mask", 5, 0xff, 0xfe),
        ("alpha", "mask", 6, 0xff, 0xfe),
        ("m68k", "mask", 6, 0xff, 0xfe),
        // MIPS: the 2025 masks ignore EI_ABIVERSION (byte 8) entirely and pin e_version = 1.
        ("mips", "mask", 8, 0xfe, 0x00),
        ("mips", "magic", 23, 0x00, 0x01),
        ("mips", "mask", 20, 0x00, 0xff),
        ("mips", "mask", 21, 0x00, 0xff),
        ("mips", "mask", 22, 0x00, 0xff),
        ("mips", "mask", 23, 0x00, 0xff),
        ("mipsel", "mask", 8, 0xfe, 0x00),
        ("mipsel", "magic", 20, 0x00, 0x01),
        ("mipsel", "mask", 20, 0x00, 0xff),
        ("mipsel", "mask", 21, 0x00, 0xff),
        ("mipsel", "mask", 22, 0x00, 0xff),
        ("mipsel", "mask", 23, 0x00, 0xff),
        ("mipsn32", "mask", 8, 0xfe, 0x00),
        ("mipsn32", "magic", 23, 0x00, 0x01),
        ("mipsn32", "mask", 20, 0x00, 0xff),
        ("mipsn32", "mask", 21, 0x00, 0xff),
        ("mipsn32", "mask", 22, 0x00, 0xff),
        ("mipsn32", "mask", 23, 0x00, 0xff),
        ("mipsn32el", "mask", 8, 0xfe, 0x00),
        ("mipsn32el", "magic", 20, 0x00, 0x01),
        ("mipsn32el", "mask", 20, 0x00, 0xff),
        ("mipsn32el", "mask", 21, 0x00, 0xff),
        ("mipsn32el", "mask", 22, 0x00, 0xff),
        ("mipsn32el", "mask", 23, 0x00, 0xff),
        // Debian's little-endian o32/n32 entries stop at byte 36 (the low byte of e_flags,
        // which holds EF_MIPS_ABI2); upstream's are 40 bytes like the big-endian ones.
        ("mipsel", "length", 0, 37, 40),
        ("mipsn32el", "length", 0, 37, 40),
        ("mips64", "mask", 8, 0xfe, 0x00),
        ("mips64el", "mask", 8, 0xfe, 0x00),
    ];

    #[test]
    fn table_matches_debian_binfmt_d_files_except_known_differences() {
        let directory = Path::new("/usr/lib/binfmt.d");
        if !directory.join("qemu-aarch64.conf").exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "Debian's qemu-user-static binfmt.d files are missing under CI"
            );
            eprintln!("skipped: /usr/lib/binfmt.d/qemu-*.conf not installed (qemu-user-static)");
            return;
        }
        let mut compared = Vec::new();
        let mut differences = Vec::new();
        for item in std::fs::read_dir(directory).expect("read /usr/lib/binfmt.d") {
            let path = item.expect("entry").path();
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let Some(target_name) = file
                .strip_prefix("qemu-")
                .and_then(|f| f.strip_suffix(".conf"))
            else {
                continue;
            };
            let text = std::fs::read_to_string(&path).expect("read conf");
            let line = text
                .lines()
                .find(|line| !line.is_empty() && !line.starts_with(['#', ';']))
                .expect("a registration line");
            let registration =
                Registration::parse(line).unwrap_or_else(|e| panic!("{file}: {e}: {:?}", e.hint()));
            assert_eq!(registration.name().as_str(), format!("qemu-{target_name}"));
            let Some(target) = for_qemu(target_name) else {
                // cris: QEMU 7.2 still had it; QEMU 9.2 removed the CRIS linux-user target.
                assert_eq!(target_name, "cris", "Debian ships a target the table lacks");
                continue;
            };
            let Rule::Magic {
                offset,
                magic,
                mask,
            } = registration.rule()
            else {
                panic!("{file}: not a magic entry")
            };
            assert_eq!(*offset, 0, "{file}");
            let mask = mask.as_ref().expect("a mask");
            if magic.len() != target.magic.len() {
                differences.push((
                    target.name,
                    "length",
                    0,
                    magic.len() as u8,
                    target.magic.len() as u8,
                ));
            }
            for (field, debian, ours) in [
                ("magic", magic.as_slice(), target.magic),
                ("mask", mask.as_slice(), target.mask),
            ] {
                for (index, (&d, &o)) in debian.iter().zip(ours).enumerate() {
                    if d != o {
                        differences.push((target.name, field, index, d, o));
                    }
                }
            }
            // Whatever the byte differences, both definitions handle the target's binaries.
            assert!(
                target.handled_by(registration.rule()),
                "{file}: Debian's entry misses our header"
            );
            compared.push(target.name);
        }
        let mut expected: Vec<_> = KNOWN_DIFFERENCES.to_vec();
        expected.sort();
        differences.sort();
        assert_eq!(differences, expected, "differences from Debian's files");
        assert!(compared.len() >= 28, "compared only {compared:?}");
    }
}
