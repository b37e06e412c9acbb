//! QEMU interpreters: finding them, telling static from dynamic, and deciding whether they
//! understand the `P` (preserve-argv0) flag.
//!
//! ## When archway sets `P`
//! With `P` the kernel passes `[interpreter, full path, original argv0, args...]`; an
//! interpreter that does not expect it would run the wrong program. QEMU expects it when:
//! - it is Debian's wrapper name `/usr/libexec/qemu-binfmt/<cpu>-binfmt-P` (Debian's patch
//!   `linux-user-binfmt-P.diff` keys on the `-binfmt-P` suffix of argv[0]; any kernel), or
//! - QEMU is 6.0 or newer (upstream commit 6e1c0d7b95 "linux-user: manage binfmt-misc
//!   preserve-arg[0] flag" reads `AT_FLAGS_PRESERVE_ARGV0` from the aux vector) **and** the kernel
//!   is 5.12 or newer (commit 2347961b11d4 "binfmt_misc: pass binfmt_misc flags to the
//!   interpreter" puts that bit in `AT_FLAGS`).
//!
//! The QEMU version comes from `<interpreter> --version` (`qemu-aarch64 version 7.2.22 ...`), run
//! once per directory of interpreters.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Candidate file names for target CPU `cpu`, in preference order: the static build first.
pub fn candidate_names(cpu: &str) -> [String; 2] {
    [format!("qemu-{cpu}-static"), format!("qemu-{cpu}")]
}

/// Finds `qemu-<cpu>-static`, then `qemu-<cpu>`, in `directories` (in order). Returns the path
/// found and the paths tried.
pub fn find(cpu: &str, directories: &[PathBuf]) -> (Option<PathBuf>, Vec<PathBuf>) {
    let mut tried = Vec::new();
    for name in candidate_names(cpu) {
        for directory in directories {
            let path = directory.join(&name);
            if is_executable(&path) {
                return (Some(path), tried);
            }
            tried.push(path);
        }
    }
    (None, tried)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The directories of `PATH`.
pub fn path_directories() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default()
}

/// Linkage of an interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Linkage {
    Static,
    Dynamic,
    /// Missing, unreadable, or not an ELF file.
    Unknown,
}

/// Static or dynamic: an ELF file is dynamic when it has a `PT_INTERP` program header. Reads only
/// the ELF header and the program header table (interpreters are megabytes).
pub fn linkage(path: &Path) -> Linkage {
    read_linkage(path).unwrap_or(Linkage::Unknown)
}

fn read_linkage(path: &Path) -> Option<Linkage> {
    use std::io::{Seek, SeekFrom};
    const PT_INTERP: u32 = 3;
    let mut file = std::fs::File::open(path).ok()?;
    let mut header = [0u8; 64];
    file.read_exact(&mut header[..52]).ok()?;
    let _ = file.read(&mut header[52..]);
    if &header[..4] != b"\x7fELF" {
        return None;
    }
    let is_64 = header[4] == 2;
    let little = header[5] == 1;
    let u16_at = |b: &[u8], at: usize| {
        let pair = [b[at], b[at + 1]];
        if little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    };
    let u32_at = |b: &[u8], at: usize| {
        let quad = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if little {
            u32::from_le_bytes(quad)
        } else {
            u32::from_be_bytes(quad)
        }
    };
    let (phoff, phentsize, phnum) = if is_64 {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(&header[32..40]);
        let phoff = if little {
            u64::from_le_bytes(eight)
        } else {
            u64::from_be_bytes(eight)
        };
        (phoff, u16_at(&header, 54), u16_at(&header, 56))
    } else {
        (
            u64::from(u32_at(&header, 28)),
            u16_at(&header, 42),
            u16_at(&header, 44),
        )
    };
    if phentsize < 4 || phnum == 0 {
        return Some(Linkage::Static);
    }
    let mut table = vec![0u8; usize::from(phentsize) * usize::from(phnum)];
    file.seek(SeekFrom::Start(phoff)).ok()?;
    file.read_exact(&mut table).ok()?;
    let dynamic = table
        .chunks_exact(usize::from(phentsize))
        .any(|entry| u32_at(entry, 0) == PT_INTERP);
    Some(if dynamic {
        Linkage::Dynamic
    } else {
        Linkage::Static
    })
}

/// `(major, minor)` of `qemu-<cpu> --version`'s first line (`qemu-aarch64 version 7.2.22 ...`).
pub fn parse_qemu_version(output: &str) -> Option<(u32, u32)> {
    let line = output.lines().next()?;
    let version = line
        .split_whitespace()
        .skip_while(|word| *word != "version")
        .nth(1)?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()
        .and_then(|part| part.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0);
    Some((major, minor))
}

/// `(major, minor)` of a kernel release string (`6.1.0-18-amd64`).
pub fn parse_kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The running kernel's `(major, minor)`.
pub fn kernel_version() -> Option<(u32, u32)> {
    parse_kernel_version(&rustix::system::uname().release().to_string_lossy())
}

/// Decides `P` for interpreters; caches QEMU versions by directory.
#[derive(Debug, Default)]
pub struct PreserveArgv0 {
    kernel: Option<(u32, u32)>,
    versions: Mutex<HashMap<PathBuf, Option<(u32, u32)>>>,
}

impl PreserveArgv0 {
    /// For the running kernel.
    pub fn detect() -> PreserveArgv0 {
        PreserveArgv0::for_kernel(kernel_version())
    }

    /// For a given kernel version (tests).
    pub fn for_kernel(kernel: Option<(u32, u32)>) -> PreserveArgv0 {
        PreserveArgv0 {
            kernel,
            versions: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `interpreter` handles the `P` flag (see the module documentation).
    pub fn supported(&self, interpreter: &Path) -> bool {
        let name = interpreter
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        if name.ends_with("-binfmt-P") {
            return true;
        }
        if self.kernel.is_none_or(|version| version < (5, 12)) {
            return false;
        }
        self.qemu_version(interpreter)
            .is_some_and(|version| version >= (6, 0))
    }

    fn qemu_version(&self, interpreter: &Path) -> Option<(u32, u32)> {
        let canonical =
            std::fs::canonicalize(interpreter).unwrap_or_else(|_| interpreter.to_path_buf());
        let directory = canonical
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut versions = self
            .versions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(version) = versions.get(&directory) {
            return *version;
        }
        let version = std::process::Command::new(&canonical)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|output| output.status.success())
            .and_then(|output| parse_qemu_version(&String::from_utf8_lossy(&output.stdout)));
        tracing::debug!(interpreter = %canonical.display(), ?version, "qemu version");
        versions.insert(directory, version);
        version
    }
}

/// The command that installs QEMU's static user-mode emulators on this distribution, from
/// `/etc/os-release` (`ID`, `ID_LIKE`).
pub fn install_command() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    install_command_for(&text)
}

/// [`install_command`] for a given `/etc/os-release` text.
pub fn install_command_for(os_release: &str) -> String {
    let mut ids = Vec::new();
    for line in os_release.lines() {
        if let Some(value) = line
            .strip_prefix("ID=")
            .or_else(|| line.strip_prefix("ID_LIKE="))
        {
            ids.extend(
                value
                    .trim_matches('"')
                    .split_whitespace()
                    .map(str::to_string),
            );
        }
    }
    for id in &ids {
        let command = match id.as_str() {
            "debian" | "ubuntu" => "sudo apt-get install qemu-user-static",
            "fedora" | "rhel" | "centos" => "sudo dnf install qemu-user-static",
            "arch" => "sudo pacman -S qemu-user-static",
            "opensuse" | "suse" | "opensuse-tumbleweed" | "opensuse-leap" => {
                "sudo zypper install qemu-linux-user"
            }
            "alpine" => "sudo apk add qemu-openrc qemu-aarch64 qemu-riscv64",
            "gentoo" => "sudo emerge app-emulation/qemu (with USE=static-user)",
            _ => continue,
        };
        return command.to_string();
    }
    "sudo apt-get install qemu-user-static".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_qemu_versions() {
        assert_eq!(
            parse_qemu_version(
                "qemu-aarch64 version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright"
            ),
            Some((7, 2))
        );
        assert_eq!(
            parse_qemu_version("qemu-riscv64 version 10.0.0\n"),
            Some((10, 0))
        );
        assert_eq!(
            parse_qemu_version("qemu-x version 5.2.0rc1\n"),
            Some((5, 2))
        );
        assert_eq!(parse_qemu_version("garbage"), None);
    }

    #[test]
    fn parses_kernel_versions() {
        assert_eq!(parse_kernel_version("6.1.0-18-amd64"), Some((6, 1)));
        assert_eq!(parse_kernel_version("5.12.0"), Some((5, 12)));
        assert_eq!(parse_kernel_version("x"), None);
    }

    #[test]
    fn debian_binfmt_p_wrapper_always_preserves_argv0() {
        let rule = PreserveArgv0::for_kernel(Some((4, 19)));
        assert!(rule.supported(Path::new("/usr/libexec/qemu-binfmt/aarch64-binfmt-P")));
    }

    #[test]
    fn old_kernel_cannot_tell_qemu_about_preserve_argv0() {
        let rule = PreserveArgv0::for_kernel(Some((5, 11)));
        assert!(!rule.supported(Path::new("/usr/bin/qemu-aarch64-static")));
    }

    #[test]
    fn interpreter_that_does_not_run_gets_no_preserve_argv0() {
        let rule = PreserveArgv0::for_kernel(Some((6, 1)));
        assert!(!rule.supported(Path::new("/nonexistent/qemu-aarch64-static")));
    }

    #[test]
    fn finds_static_before_dynamic_and_reports_what_it_tried() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().expect("tempdir");
        let write = |name: &str| {
            let path = directory.path().join(name);
            std::fs::write(&path, "").expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        };
        let directories = vec![directory.path().to_path_buf()];
        let (found, tried) = find("riscv64", &directories);
        assert_eq!(found, None);
        assert_eq!(tried.len(), 2);
        write("qemu-riscv64");
        assert_eq!(
            find("riscv64", &directories).0,
            Some(directory.path().join("qemu-riscv64"))
        );
        write("qemu-riscv64-static");
        assert_eq!(
            find("riscv64", &directories).0,
            Some(directory.path().join("qemu-riscv64-static"))
        );
    }

    #[test]
    fn tells_static_from_dynamic_binaries() {
        // /bin/sh is dynamically linked on every distribution these tests run on.
        assert_eq!(linkage(Path::new("/bin/sh")), Linkage::Dynamic);
        assert_eq!(linkage(Path::new("/nonexistent")), Linkage::Unknown);
        let qemu = Path::new("/usr/bin/qemu-aarch64-static");
        if archway_platform::testing::require(qemu.exists(), "qemu-user-static not installed") {
            assert_eq!(linkage(qemu), Linkage::Static);
        }
    }

    #[test]
    fn install_command_follows_os_release() {
        assert_eq!(
            install_command_for("ID=debian\n"),
            "sudo apt-get install qemu-user-static"
        );
        assert_eq!(
            install_command_for("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n"),
            "sudo apt-get install qemu-user-static"
        );
        assert_eq!(
            install_command_for("ID=fedora\n"),
            "sudo dnf install qemu-user-static"
        );
    }
}
