//! The running machine: its platform, and whether its kernel runs 32-bit compat binaries.
//! (The one place in this crate that does I/O.)
//!
//! The CPU comes from `uname -m` (the kernel's view, so a 32-bit archway on a 64-bit kernel
//! still sees the 64-bit machine); the ABI and C library from how archway itself was built
//! (a glibc archway runs on a glibc userland).
//!
//! 32-bit compat rule (documented in ARCHITECTURE.md): a 64-bit kernel runs its 32-bit
//! sibling's binaries when it was built with the compat option and it is not switched off at
//! boot:
//! - x86_64: `CONFIG_IA32_EMULATION=y` (arch/x86/Kconfig), unless the command line says
//!   `ia32_emulation=0`, or the kernel has `CONFIG_IA32_EMULATION_DEFAULT_DISABLED=y` and the
//!   command line does not say `ia32_emulation=1` (Documentation/admin-guide/kernel-parameters.txt).
//! - aarch64, ppc64, s390x, mips64, sparc64, riscv64: `CONFIG_COMPAT=y`. (On aarch64 the CPU
//!   must also implement AArch32 at EL0, which some recent cores do not; the kernel does not
//!   say so in a file we can read portably, so this is the one case we may over-report.)
//!
//! The kernel configuration is read from `/proc/config.gz` (`CONFIG_IKCONFIG_PROC`) or
//! `/boot/config-<release>` (Debian, Ubuntu, Fedora). When neither exists, we fall back to
//! the distributions' default: compat on for x86_64 (every major distribution enables
//! `IA32_EMULATION`), off elsewhere.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::cpu::Cpu;
use crate::triple::{Abi, Kernel, Vendor};
use crate::{Error, Platform};

/// What the host is and can run.
#[derive(Debug, Clone)]
pub struct Host {
    pub platform: Platform,
    /// The kernel runs the 32-bit sibling (x86_64 → i686, aarch64 → armv7) natively.
    pub compat32: bool,
}

impl Host {
    /// Probes the running machine.
    pub fn detect() -> Result<Host, Error> {
        let uname = rustix::system::uname();
        let machine = uname.machine().to_string_lossy().into_owned();
        let release = uname.release().to_string_lossy().into_owned();
        let platform = platform_for_machine(&machine)?;
        let config = read_kernel_options(Path::new("/"), &release, compat_options(platform.cpu()));
        let command_line = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
        let compat32 = compat32_supported(platform.cpu(), config.as_deref(), &command_line);
        Ok(Host { platform, compat32 })
    }

    /// Can this host run `target` binaries natively?
    ///
    /// nixpkgs' `canExecute`, except for 32-bit binaries on a 64-bit kernel, which is what
    /// the kernel's compat support decides: with it, x86_64 runs any 32-bit x86, aarch64 runs
    /// 32-bit little-endian ARM (nixpkgs only admits ARMv8 AArch32), ppc64 runs powerpc,
    /// s390x runs s390, mips64 runs mips; without it, none of them.
    pub fn runs_natively(&self, target: &Platform) -> bool {
        let host = &self.platform;
        if host.pointer_bits() == 64 && target.pointer_bits() == 32 {
            // x32 and ILP32 are separate kernel ABIs (CONFIG_X86_X32_ABI, ARM64_ILP32),
            // not the 32-bit compat personality.
            if matches!(target.abi(), Abi::Gnux32 | Abi::GnuIlp32 | Abi::Gnuabin32) {
                return host.can_execute(target) && host.abi() == target.abi();
            }
            return self.compat32
                && host.kernel() == target.kernel()
                && host.is_android() == target.is_android()
                && is_compat_sibling(host.cpu(), target.cpu());
        }
        host.can_execute(target)
    }
}

/// Does a 64-bit `host` CPU's compat mode run 32-bit `target` code? (The 32-bit sibling the
/// kernel's compat layer serves: `arch/*/kernel/` compat syscall tables.)
fn is_compat_sibling(host: Cpu, target: Cpu) -> bool {
    match host {
        Cpu::X86_64 => target.family() == "x86",
        Cpu::Aarch64 => target.is_aarch32() && target.endian() == crate::Endian::Little,
        Cpu::Powerpc64 => target == Cpu::Powerpc,
        Cpu::S390x => target == Cpu::S390,
        Cpu::Mips64 => target == Cpu::Mips,
        Cpu::Mips64el => target == Cpu::Mipsel,
        Cpu::Sparc64 => target == Cpu::Sparc,
        Cpu::Riscv64 => target == Cpu::Riscv32,
        _ => false,
    }
}

/// The host platform for a `uname -m` machine name, with the ABI archway was built for.
pub fn platform_for_machine(machine: &str) -> Result<Platform, Error> {
    let little = cfg!(target_endian = "little");
    let cpu = match machine {
        "x86_64" | "amd64" => Cpu::X86_64,
        "i386" => Cpu::I386,
        "i486" => Cpu::I486,
        "i586" => Cpu::I586,
        "i686" => Cpu::I686,
        "aarch64" | "arm64" => Cpu::Aarch64,
        "aarch64_be" => Cpu::Aarch64Be,
        "armv5tel" | "armv5tejl" => Cpu::Armv5tel,
        "armv6l" => Cpu::Armv6l,
        "armv7l" => Cpu::Armv7l,
        // A 32-bit kernel on an ARMv8 CPU.
        "armv8l" => Cpu::Armv8a,
        "ppc64le" => Cpu::Powerpc64le,
        "ppc64" => Cpu::Powerpc64,
        "ppc" => Cpu::Powerpc,
        "ppcle" => Cpu::Powerpcle,
        "s390x" => Cpu::S390x,
        "s390" => Cpu::S390,
        "riscv64" => Cpu::Riscv64,
        "riscv32" => Cpu::Riscv32,
        "loongarch64" => Cpu::Loongarch64,
        // The kernel's `uname -m` does not carry MIPS byte order; our own build does.
        "mips64" if little => Cpu::Mips64el,
        "mips64" => Cpu::Mips64,
        "mips" if little => Cpu::Mipsel,
        "mips" => Cpu::Mips,
        "sparc64" => Cpu::Sparc64,
        "sparc" => Cpu::Sparc,
        "m68k" => Cpu::M68k,
        "alpha" => Cpu::Alpha,
        "parisc" | "parisc64" => Cpu::Hppa,
        "ia64" => Cpu::Ia64,
        "sh4" => Cpu::Sh4,
        "or1k" => Cpu::Or1k,
        other => {
            return Err(Error::Host {
                reason: format!("unknown machine `{other}` from `uname -m`"),
            })
        }
    };
    let musl = cfg!(target_env = "musl");
    let abi = if cpu.is_aarch32() {
        match (musl, cfg!(target_abi = "eabihf")) {
            (false, true) => Abi::Gnueabihf,
            (false, false) => Abi::Gnueabi,
            (true, true) => Abi::Musleabihf,
            (true, false) => Abi::Musleabi,
        }
    } else if cpu.is_mips64() {
        if musl {
            Abi::Muslabi64
        } else {
            Abi::Gnuabi64
        }
    } else if musl {
        Abi::Musl
    } else {
        Abi::Gnu
    };
    Ok(Platform::new(cpu, Vendor::Unknown, Kernel::Linux, abi))
}

/// The kernel configuration options that decide 32-bit compat for `cpu`: the option itself,
/// and on x86_64 `CONFIG_IA32_EMULATION_DEFAULT_DISABLED`, which Kconfig defines right after
/// it (arch/x86/Kconfig).
fn compat_options(cpu: Cpu) -> &'static [&'static str] {
    match cpu {
        Cpu::X86_64 => &[
            "CONFIG_IA32_EMULATION",
            "CONFIG_IA32_EMULATION_DEFAULT_DISABLED",
        ],
        _ => &["CONFIG_COMPAT"],
    }
}

/// The lines of the kernel's build configuration under `root` (`/proc/config.gz`, else
/// `/boot/config-<release>`) that set `options`, if the configuration is readable.
///
/// The file is ~10 000 lines (~200 KB inflated); reading stops a few lines after the first
/// option, because the others (`options[1..]`) are defined right after it in Kconfig.
pub fn read_kernel_options(root: &Path, release: &str, options: &[&str]) -> Option<String> {
    let reader: Box<dyn BufRead> = match std::fs::File::open(root.join("proc/config.gz")) {
        // Bounded: refuse to inflate anything much larger than a kernel config.
        Ok(file) => Box::new(BufReader::new(
            flate2::read::GzDecoder::new(file).take(16 << 20),
        )),
        Err(_) => Box::new(BufReader::new(
            std::fs::File::open(root.join("boot").join(format!("config-{release}"))).ok()?,
        )),
    };
    let sets = |line: &str, option: &str| {
        line.strip_prefix(option)
            .is_some_and(|rest| rest.starts_with('='))
            || line
                .strip_prefix("# ")
                .and_then(|rest| rest.strip_prefix(option))
                == Some(" is not set")
    };
    let mut found = String::new();
    let mut lines_left: Option<usize> = None;
    for line in reader.lines() {
        let Ok(line) = line else {
            break;
        };
        if options.iter().any(|option| sets(&line, option)) {
            found.push_str(&line);
            found.push('\n');
            if options.first().is_some_and(|first| sets(&line, first)) {
                lines_left = Some(8);
            }
        }
        if let Some(left) = lines_left.as_mut() {
            if *left == 0 {
                break;
            }
            *left -= 1;
        }
    }
    Some(found)
}

/// Does a kernel of this CPU, configuration and command line run 32-bit compat binaries?
/// (See the module documentation for the rule and its sources.)
pub fn compat32_supported(cpu: Cpu, config: Option<&str>, command_line: &str) -> bool {
    let enabled = |option: &str| {
        config.map(|text| {
            text.lines()
                .any(|line| line.trim() == format!("{option}=y"))
        })
    };
    let boot_parameter = |name: &str| {
        command_line
            .split_whitespace()
            .take_while(|word| *word != "--")
            .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_string)
    };
    match cpu {
        Cpu::X86_64 => {
            let Some(built_in) = enabled("CONFIG_IA32_EMULATION") else {
                return true;
            };
            if !built_in {
                return false;
            }
            let default_off = enabled("CONFIG_IA32_EMULATION_DEFAULT_DISABLED") == Some(true);
            match boot_parameter("ia32_emulation").as_deref() {
                Some("0" | "false" | "n" | "no" | "off") => false,
                Some("1" | "true" | "y" | "yes" | "on") => true,
                _ => !default_off,
            }
        }
        Cpu::Aarch64
        | Cpu::Powerpc64
        | Cpu::Powerpc64le
        | Cpu::S390x
        | Cpu::Mips64
        | Cpu::Mips64el
        | Cpu::Sparc64
        | Cpu::Riscv64 => enabled("CONFIG_COMPAT") == Some(true),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(machine: &str, compat32: bool) -> Host {
        Host {
            platform: platform_for_machine(machine).expect(machine),
            compat32,
        }
    }

    fn parse(name: &str) -> Platform {
        Platform::parse(name).expect(name)
    }

    #[test]
    fn ia32_emulation_rule() {
        let on = "CONFIG_IA32_EMULATION=y\n";
        let off = "# CONFIG_IA32_EMULATION is not set\n";
        let default_off = "CONFIG_IA32_EMULATION=y\nCONFIG_IA32_EMULATION_DEFAULT_DISABLED=y\n";
        assert!(compat32_supported(Cpu::X86_64, Some(on), "quiet"));
        assert!(!compat32_supported(Cpu::X86_64, Some(off), "quiet"));
        assert!(!compat32_supported(
            Cpu::X86_64,
            Some(on),
            "quiet ia32_emulation=0"
        ));
        assert!(!compat32_supported(Cpu::X86_64, Some(default_off), ""));
        assert!(compat32_supported(
            Cpu::X86_64,
            Some(default_off),
            "ia32_emulation=1"
        ));
        // Arguments after `--` go to init, not the kernel.
        assert!(compat32_supported(
            Cpu::X86_64,
            Some(on),
            "quiet -- ia32_emulation=0"
        ));
        // No configuration to read: the distributions' default.
        assert!(compat32_supported(Cpu::X86_64, None, ""));
        assert!(!compat32_supported(Cpu::Aarch64, None, ""));
        assert!(compat32_supported(
            Cpu::Aarch64,
            Some("CONFIG_COMPAT=y\n"),
            ""
        ));
        assert!(!compat32_supported(Cpu::Riscv64, Some(on), ""));
    }

    #[test]
    fn reads_gzipped_and_plain_kernel_configs() {
        use std::io::Write;
        let root = tempfile::tempdir().expect("temporary root");
        let options = ["CONFIG_COMPAT", "CONFIG_IA32_EMULATION"];
        assert_eq!(
            read_kernel_options(root.path(), "6.1.0-test", &options),
            None
        );
        std::fs::create_dir_all(root.path().join("boot")).expect("boot dir");
        std::fs::write(
            root.path().join("boot/config-6.1.0-test"),
            "CONFIG_64BIT=y\nCONFIG_COMPAT=y\n# CONFIG_COMPAT_VDSO is not set\n",
        )
        .expect("writing config");
        assert_eq!(
            read_kernel_options(root.path(), "6.1.0-test", &options).as_deref(),
            Some("CONFIG_COMPAT=y\n")
        );
        std::fs::create_dir_all(root.path().join("proc")).expect("proc dir");
        let file = std::fs::File::create(root.path().join("proc/config.gz")).expect("config.gz");
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        gz.write_all(b"# CONFIG_IA32_EMULATION is not set\nCONFIG_X=y\n")
            .expect("compressing");
        gz.finish().expect("finishing");
        // /proc/config.gz wins over /boot.
        assert_eq!(
            read_kernel_options(root.path(), "6.1.0-test", &options).as_deref(),
            Some("# CONFIG_IA32_EMULATION is not set\n")
        );
    }

    #[test]
    fn runs_natively_uses_compat_for_32_bit_siblings() {
        let x86 = host("x86_64", true);
        assert!(x86.runs_natively(&parse("x86_64-linux")));
        assert!(x86.runs_natively(&parse("i386")));
        assert!(!host("x86_64", false).runs_natively(&parse("i386")));
        assert!(!x86.runs_natively(&parse("arm64")));
        assert!(
            !x86.runs_natively(&parse("x32")),
            "x32 is its own kernel ABI"
        );
        let arm = host("aarch64", true);
        assert!(arm.runs_natively(&parse("armhf")));
        assert!(arm.runs_natively(&parse("armel")));
        assert!(!host("aarch64", false).runs_natively(&parse("armhf")));
        assert!(!arm.runs_natively(&parse("i386")));
        assert!(host("s390x", true).runs_natively(&parse("s390")));
    }

    #[test]
    fn unknown_machine_is_an_error() {
        let error = platform_for_machine("vax").expect_err("vax");
        assert!(error.to_string().contains("`vax`"));
    }

    #[test]
    fn detect_probes_this_machine() {
        let host = Host::detect().expect("uname works on Linux");
        assert_eq!(host.platform.kernel(), Kernel::Linux);
        assert!(host.runs_natively(&host.platform));
        let machine = rustix::system::uname()
            .machine()
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            platform_for_machine(&machine).expect("known"),
            host.platform
        );
    }
}
