//! Reading binaries from files, boundedly, and checking a build's artifacts against the
//! platform's CPU.
//!
//! Like [`crate::host`], this module does I/O (it reads the files it is given); everything it
//! decides is pure ([`crate::identify_prefix`], [`CpuCapability::shortfalls`]).

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use crate::capability::{CpuCapability, Shortfall};
use crate::requirements::Certainty;
use crate::{identify_prefix, Binary, Platform};

/// At most this much of a file is read. Every header `identify` looks at (ELF, PE, Mach-O,
/// wasm, the ELF program headers, interpreter and notes) sits near the start of a binary; an
/// ELF section table beyond it is left out (`identify_prefix`), and with it the attribute
/// sections (a 16 MiB prefix holds all of Debian's `libc.so.6`, 1-2 MiB).
pub const READ_LIMIT: u64 = 16 * 1024 * 1024;

/// Reads and identifies one file; the error is a `caused by:` text. Only regular files are
/// read, and only up to [`READ_LIMIT`]: `/dev/zero` would never end and a FIFO would block.
pub fn read_binary(path: &Path) -> Result<Binary, String> {
    let metadata = std::fs::metadata(path).map_err(|error| format!("cannot read it: {error}"))?;
    not_regular(&metadata)?;
    let file = std::fs::File::open(path).map_err(|error| format!("cannot read it: {error}"))?;
    // Checked again on the open file: the path may have been replaced in between.
    let metadata = file
        .metadata()
        .map_err(|error| format!("cannot read it: {error}"))?;
    not_regular(&metadata)?;
    let mut prefix = Vec::new();
    file.take(READ_LIMIT)
        .read_to_end(&mut prefix)
        .map_err(|error| format!("cannot read it: {error}"))?;
    identify_prefix(&prefix, metadata.len()).map_err(|error| error.to_string())
}

/// An error naming what `metadata` is when it is not a regular file.
fn not_regular(metadata: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_file() {
        return Ok(());
    }
    if kind.is_dir() {
        return Err(
            "it is a directory: name the binaries in it (`archway inspect DIR/*`)".to_string(),
        );
    }
    let what = if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    };
    Err(format!(
        "it is {what}: only regular files are inspected (copy the binary into a file first)"
    ))
}

/// What to do when a build's artifacts need more than the platform's CPU: the configuration
/// key `check-cpu` (`[build]`, `[target.X]`, `[profile.X]`) and the flag `--check-cpu`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CpuCheck {
    /// No check.
    Off,
    /// Report each finding as a warning; the build succeeds (the default).
    #[default]
    Warn,
    /// A finding of [`Certainty::Needs`] fails the build.
    Error,
}

impl CpuCheck {
    pub const ALL: &'static [CpuCheck] = &[CpuCheck::Off, CpuCheck::Warn, CpuCheck::Error];

    pub fn name(self) -> &'static str {
        match self {
            CpuCheck::Off => "off",
            CpuCheck::Warn => "warn",
            CpuCheck::Error => "error",
        }
    }
}

impl fmt::Display for CpuCheck {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for CpuCheck {
    type Err = String;
    fn from_str(text: &str) -> Result<CpuCheck, String> {
        CpuCheck::ALL
            .iter()
            .copied()
            .find(|check| check.name() == text)
            .ok_or_else(|| format!("`{text}` is not one of `off`, `warn`, `error`"))
    }
}

/// One artifact that does not fit the platform's CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub path: PathBuf,
    pub shortfall: Shortfall,
    /// The sentence for people: "`libc.so.6` needs ARMv7 (Tag_CPU_arch v7) but
    /// raspberryPi's CPU is ARMv6KZ".
    pub message: String,
}

impl Finding {
    /// Does it fail a check of level `check`?
    pub fn fails(&self, check: CpuCheck) -> bool {
        check == CpuCheck::Error && self.shortfall.certainty == Certainty::Needs
    }
}

/// The findings for one identified binary: what it needs that `platform`'s CPU lacks. No
/// findings when archway does not know the platform's CPU, or the binary is for another
/// family of CPU (a host tool built alongside, checked by its own platform).
pub fn check_binary(platform: &Platform, path: &Path, binary: &Binary) -> Vec<Finding> {
    let Some(capability) = CpuCapability::of_platform(platform) else {
        return Vec::new();
    };
    if binary.platform.cpu().family() != platform.cpu().family() {
        return Vec::new();
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let platform_name = platform.display_name();
    capability
        .shortfalls(&binary.requirements)
        .into_iter()
        .map(|shortfall| Finding {
            path: path.to_path_buf(),
            message: shortfall.sentence(&name, &platform_name),
            shortfall,
        })
        .collect()
}

/// Checks a build's artifacts against `platform`'s CPU: every finding, in the order of
/// `paths`, most fundamental first within a file. Files that are not binaries archway reads
/// (scripts, data) are skipped.
pub fn check_artifacts(platform: &Platform, paths: &[PathBuf]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for path in paths {
        if let Ok(binary) = read_binary(path) {
            findings.extend(check_binary(platform, path, &binary));
        }
    }
    findings
}

/// Why `binary` is not for `platform` at all, if it is not: an ELF file whose header does not
/// match the platform's ([`Platform::elf`]: machine, class, byte order, the float-ABI /
/// n32 / ELFv2 flags), or another CPU family or kernel. ("is for armv5tel-linux
/// (`armv5tel-unknown-linux-gnueabi`)".)
pub fn platform_mismatch(platform: &Platform, binary: &Binary) -> Option<String> {
    let found = &binary.platform;
    let differs = match (platform.elf(), binary.elf) {
        (Some(expectation), Some(header)) => {
            // An ARM object file says hard-float only in `Tag_ABI_VFP_args` (the linker sets
            // `EF_ARM_ABI_FLOAT_HARD`).
            let flags = match &binary.requirements.arm {
                Some(arm) if arm.vfp_arguments => header.flags | object::elf::EF_ARM_ABI_FLOAT_HARD,
                _ => header.flags,
            };
            !expectation.matches(header.machine, header.class, header.endian, flags)
        }
        _ => {
            found.cpu().family() != platform.cpu().family()
                || found.pointer_bits() != platform.pointer_bits()
        }
    } || found.kernel() != platform.kernel();
    differs.then(|| format!("is for {} (`{}`)", found.system(), found.config()))
}
