//! Debian architectures: what the archive serves and therefore what a root filesystem can be
//! built for. Suites, and which suite carries which architecture, are
//! [`archway_platform::debian_names`]'s (shared with the toolchain crate's sysroots).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Suite};

/// A Debian architecture a root filesystem can be built for (`dpkg --print-architecture`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    Amd64,
    Arm64,
    Armel,
    Armhf,
    I386,
    Mips64el,
    Ppc64el,
    Riscv64,
    S390x,
}

impl Architecture {
    pub const ALL: [Architecture; 9] = [
        Architecture::Amd64,
        Architecture::Arm64,
        Architecture::Armel,
        Architecture::Armhf,
        Architecture::I386,
        Architecture::Mips64el,
        Architecture::Ppc64el,
        Architecture::Riscv64,
        Architecture::S390x,
    ];

    /// The Debian name (`arm64`, `ppc64el`).
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Amd64 => "amd64",
            Architecture::Arm64 => "arm64",
            Architecture::Armel => "armel",
            Architecture::Armhf => "armhf",
            Architecture::I386 => "i386",
            Architecture::Mips64el => "mips64el",
            Architecture::Ppc64el => "ppc64el",
            Architecture::Riscv64 => "riscv64",
            Architecture::S390x => "s390x",
        }
    }

    /// The suites whose archive carries this architecture ([`Suite::carries`]).
    pub fn suites(self) -> &'static [Suite] {
        const BOTH: &[Suite] = &[Suite::Bookworm, Suite::Trixie];
        match (
            Suite::Bookworm.carries(self.name()),
            Suite::Trixie.carries(self.name()),
        ) {
            (true, true) => BOTH,
            (true, false) => &BOTH[..1],
            (false, true) => &BOTH[1..],
            (false, false) => &[],
        }
    }

    /// The suite used when none is asked for ([`Suite::default_for`]).
    pub fn default_suite(self) -> Suite {
        Suite::default_for(self.name())
            .expect("every architecture in `Architecture::ALL` is in some suite (tested)")
    }

    /// The QEMU linux-user name that runs this architecture's binaries (`qemu-<name>`).
    /// armel and armhf both run under `qemu-arm` (QEMU's `linux-user/arm`).
    pub fn qemu_user(self) -> &'static str {
        match self {
            Architecture::Amd64 => "x86_64",
            Architecture::Arm64 => "aarch64",
            Architecture::Armel | Architecture::Armhf => "arm",
            Architecture::I386 => "i386",
            Architecture::Mips64el => "mips64el",
            Architecture::Ppc64el => "ppc64le",
            Architecture::Riscv64 => "riscv64",
            Architecture::S390x => "s390x",
        }
    }

    /// The architecture of a platform, when Debian's archive builds a root filesystem for it.
    pub fn from_platform(platform: &archway_platform::Platform) -> Result<Architecture, Error> {
        let unsupported = || Error::UnsupportedPlatform {
            platform: platform.config(),
        };
        let name = platform.debian_arch().ok_or_else(unsupported)?;
        name.parse().map_err(|_| unsupported())
    }

    /// Checks that `suite` carries this architecture.
    pub fn check_suite(self, suite: Suite) -> Result<(), Error> {
        if self.suites().contains(&suite) {
            Ok(())
        } else {
            Err(Error::SuiteLacksArchitecture {
                architecture: self,
                suite,
            })
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Architecture {
    type Err = Error;
    fn from_str(input: &str) -> Result<Architecture, Error> {
        Architecture::ALL
            .into_iter()
            .find(|architecture| architecture.name() == input)
            .ok_or_else(|| Error::UnknownArchitecture {
                input: input.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for architecture in Architecture::ALL {
            assert_eq!(
                architecture.name().parse::<Architecture>().ok(),
                Some(architecture)
            );
        }
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!("aarch64".parse::<Architecture>().is_err());
        assert!("ARM64".parse::<Architecture>().is_err());
    }

    #[test]
    fn suite_availability_follows_the_archive() {
        let table = [
            (Architecture::Arm64, Suite::Bookworm, true),
            (Architecture::Arm64, Suite::Trixie, true),
            (Architecture::Riscv64, Suite::Bookworm, false),
            (Architecture::Riscv64, Suite::Trixie, true),
            (Architecture::Mips64el, Suite::Bookworm, true),
            (Architecture::Mips64el, Suite::Trixie, false),
            (Architecture::S390x, Suite::Trixie, true),
        ];
        for (architecture, suite, available) in table {
            assert_eq!(
                architecture.check_suite(suite).is_ok(),
                available,
                "{architecture} {suite}"
            );
        }
        assert_eq!(Architecture::Riscv64.default_suite(), Suite::Trixie);
        assert_eq!(Architecture::Arm64.default_suite(), Suite::Bookworm);
        for architecture in Architecture::ALL {
            assert!(!architecture.suites().is_empty(), "{architecture}");
            assert!(architecture
                .check_suite(architecture.default_suite())
                .is_ok());
        }
    }
}
