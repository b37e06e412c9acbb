//! The names archway hands to Debian's tools: suites, binary package names and the archive.
//!
//! Both consumers of Debian's archive use them — the toolchain crate's sysroots (apt with a
//! private configuration) and the rootfs crate's root filesystems (mmdebstrap, apt inside the
//! tree) — so they are validated once, here, where a user's word becomes a value: a suite is
//! one of the [`Suite`]s archway knows (it also names a cache directory, so `../x` must never
//! get through), and a [`PackageName`] follows Debian Policy §5.6.1 (it reaches apt's command
//! line, where a word starting with `-` would be read as one of apt's own options).
//!
//! ```
//! use archway_platform::debian_names::{PackageName, Suite};
//!
//! assert_eq!("trixie".parse::<Suite>().unwrap(), Suite::Trixie);
//! assert!("../decoy".parse::<Suite>().is_err());
//! assert_eq!(Suite::default_for("riscv64"), Some(Suite::Trixie));
//! assert!("libz-dev".parse::<PackageName>().is_ok());
//! assert!("-o=Dir::Bin::dpkg=./x".parse::<PackageName>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The Debian archive sysroots and root filesystems are filled from, unless told otherwise.
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// A Debian release archway builds sysroots and root filesystems from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// Debian 12, the host release archway is developed on.
    Bookworm,
    /// Debian 13.
    Trixie,
}

impl Suite {
    /// Every suite, oldest first (the order [`Suite::default_for`] prefers).
    pub const ALL: [Suite; 2] = [Suite::Bookworm, Suite::Trixie];

    /// The codename, as apt and mmdebstrap spell it.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Bookworm => "bookworm",
            Suite::Trixie => "trixie",
        }
    }

    /// The architectures the suite's archive on deb.debian.org carries: the `Architectures:`
    /// field of its `Release` file (`all` left out). riscv64 became an official architecture
    /// only in trixie; mipsel and mips64el were dropped before trixie's release.
    pub fn architectures(self) -> &'static [&'static str] {
        match self {
            Suite::Bookworm => &[
                "amd64", "arm64", "armel", "armhf", "i386", "mips64el", "mipsel", "ppc64el",
                "s390x",
            ],
            Suite::Trixie => &[
                "amd64", "arm64", "armel", "armhf", "i386", "ppc64el", "riscv64", "s390x",
            ],
        }
    }

    /// Does this suite's archive have packages for the Debian `architecture` (`arm64`)?
    pub fn carries(self, architecture: &str) -> bool {
        self.architectures().contains(&architecture)
    }

    /// The suite used when none is asked for: the host's own release (bookworm) where the
    /// archive has the architecture, else the first suite that does; `None` for an
    /// architecture only Debian Ports builds (`loong64`, `powerpc`).
    pub fn default_for(architecture: &str) -> Option<Suite> {
        Suite::ALL
            .into_iter()
            .find(|suite| suite.carries(architecture))
    }

    /// `` `bookworm`, `trixie` `` for messages.
    pub fn quoted_names() -> String {
        Suite::ALL
            .iter()
            .map(|suite| format!("`{suite}`"))
            .collect::<Vec<_>>()
            .join(", ")
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

/// A Debian binary package name, validated by Debian Policy §5.6.1: lowercase letters, digits,
/// `+`, `-` and `.`; at least two characters; starting with a letter or digit. The last rule is
/// what keeps a name from ever being read as an option by apt (`-o=Dir::Bin::dpkg=./x`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PackageName(String);

impl PackageName {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Why `input` is not a package name, or `None` when it is one.
    fn problem(input: &str) -> Option<String> {
        let mut characters = input.chars();
        let Some(first) = characters.next() else {
            return Some("it is empty".to_string());
        };
        if first == '-' {
            return Some("it starts with `-`, so apt would read it as an option".to_string());
        }
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Some(format!(
                "it starts with `{}`, not a lowercase letter or digit",
                first.escape_debug()
            ));
        }
        if let Some(wrong) = input
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(*c)))
        {
            let shown = if wrong.is_whitespace() {
                "white space".to_string()
            } else {
                format!("`{}`", wrong.escape_debug())
            };
            return Some(format!(
                "{shown} is not allowed (only lowercase letters, digits, `+`, `-` and `.`)"
            ));
        }
        if characters.next().is_none() {
            return Some("it has only one character".to_string());
        }
        None
    }
}

impl FromStr for PackageName {
    type Err = Error;
    fn from_str(input: &str) -> Result<PackageName, Error> {
        match PackageName::problem(input) {
            None => Ok(PackageName(input.to_string())),
            Some(reason) => Err(Error::InvalidPackageName {
                input: input.to_string(),
                reason,
            }),
        }
    }
}

impl TryFrom<String> for PackageName {
    type Error = Error;
    fn try_from(value: String) -> Result<PackageName, Error> {
        value.parse()
    }
}

impl From<PackageName> for String {
    fn from(value: PackageName) -> String {
        value.0
    }
}

impl AsRef<str> for PackageName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What users and hostile configuration files have been seen to pass, each with the
    /// part of the reason the message must carry.
    const HOSTILE: &[(&str, &str)] = &[
        ("", "empty"),
        ("a", "one character"),
        ("-gcc", "starts with `-`"),
        ("-o=Dir::Bin::dpkg=./x", "starts with `-`"),
        ("--option", "starts with `-`"),
        ("+x", "starts with `+`"),
        ("GCC", "starts with `G`"),
        ("gcc 11", "white space"),
        ("a b", "white space"),
        ("gcc;rm", "`;`"),
        ("gcc/x", "`/`"),
        ("gcc_11", "`_`"),
        ("../x", "starts with `.`"),
        ("/abs", "starts with `/`"),
        ("$(id)", "starts with `$`"),
        ("zlib1g-dev:arm64", "`:`"),
        ("zlib\n", "white space"),
        ("zlib\u{7}", "`\\u{7}`"),
    ];

    #[test]
    fn package_names_follow_debian_policy() {
        for good in [
            "gcc-11",
            "libz-dev",
            "g++",
            "libstdc++6",
            "0ad",
            "python3.11",
        ] {
            assert_eq!(good.parse::<PackageName>().expect(good).as_str(), good);
        }
        for (bad, reason) in HOSTILE {
            let error = bad.parse::<PackageName>().expect_err(bad).to_string();
            assert!(error.contains(reason), "{bad:?}: {error}");
            assert!(error.contains("is not a Debian package name"), "{error}");
        }
    }

    #[test]
    fn package_names_deserialize_only_when_valid() {
        let name: PackageName = serde_json::from_str("\"libz-dev\"").expect("valid");
        assert_eq!(name.as_str(), "libz-dev");
        assert!(serde_json::from_str::<PackageName>("\"-o=x\"").is_err());
    }

    #[test]
    fn suites_round_trip_and_refuse_anything_else() {
        for suite in Suite::ALL {
            assert_eq!(suite.to_string().parse::<Suite>().ok(), Some(suite));
        }
        for bad in [
            "sid",
            "",
            "Bookworm",
            "../../decoy",
            "/abs",
            "bookworm/",
            "$(id)",
        ] {
            let error = bad.parse::<Suite>().expect_err(bad);
            assert!(error.to_string().starts_with("unknown Debian suite"));
            assert!(error.hint().is_some_and(|hint| hint.contains("`bookworm`")));
        }
    }

    #[test]
    fn default_suites_follow_the_archive() {
        let table = [
            ("arm64", Some(Suite::Bookworm)),
            ("amd64", Some(Suite::Bookworm)),
            ("mips64el", Some(Suite::Bookworm)),
            ("riscv64", Some(Suite::Trixie)),
            ("loong64", None),
            ("powerpc", None),
            ("", None),
        ];
        for (architecture, suite) in table {
            assert_eq!(Suite::default_for(architecture), suite, "{architecture}");
        }
        assert!(Suite::Trixie.carries("riscv64"));
        assert!(!Suite::Bookworm.carries("riscv64"));
        assert!(!Suite::Trixie.carries("mips64el"));
    }
}
