//! Debian architectures and suites: what the archive serves and therefore what a root
//! filesystem can be built for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// A Debian release a root filesystem is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// Debian 12.
    Bookworm,
    /// Debian 13.
    Trixie,
}

impl Suite {
    pub const ALL: [Suite; 2] = [Suite::Bookworm, Suite::Trixie];

    /// The codename, as apt and mmdebstrap spell it.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Bookworm => "bookworm",
            Suite::Trixie => "trixie",
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Suite {
    type Err = Error;
    fn from_str(input: &str) -> Result<Suite, Error> {
        Suite::ALL
            .into_iter()
            .find(|suite| suite.name() == input)
            .ok_or_else(|| Error::UnknownSuite {
                input: input.to_string(),
            })
    }
}

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

    /// The suites whose archive carries this architecture. From the `Architectures:` field of
    /// each suite's `Release` file on deb.debian.org: riscv64 became an official architecture
    /// only in trixie, and mips64el was dropped before trixie's release.
    pub fn suites(self) -> &'static [Suite] {
        match self {
            Architecture::Riscv64 => &[Suite::Trixie],
            Architecture::Mips64el => &[Suite::Bookworm],
            _ => &[Suite::Bookworm, Suite::Trixie],
        }
    }

    /// The suite used when none is asked for: the host's own release (bookworm) when the
    /// archive has it, else the first suite that carries the architecture.
    pub fn default_suite(self) -> Suite {
        self.suites()[0]
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
        for suite in Suite::ALL {
            assert_eq!(suite.to_string().parse::<Suite>().ok(), Some(suite));
        }
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!("aarch64".parse::<Architecture>().is_err());
        assert!("ARM64".parse::<Architecture>().is_err());
        assert!("sid".parse::<Suite>().is_err());
        assert!("".parse::<Suite>().is_err());
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
            assert!(architecture
                .check_suite(architecture.default_suite())
                .is_ok());
        }
    }
}
