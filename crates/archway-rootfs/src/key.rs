//! What identifies a root filesystem: architecture, suite and the extra packages in it.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Architecture, Error, PackageName, Suite};

/// Identifies one cached root filesystem. The base of an (architecture, suite) has no extra
/// packages; any extra package makes a derived root filesystem with its own directory, so the
/// base is never changed by a build that needs more.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RootfsKey {
    pub architecture: Architecture,
    pub suite: Suite,
    /// Packages on top of the build-ready base (`build-essential` and its dependencies).
    pub packages: BTreeSet<PackageName>,
}

impl RootfsKey {
    /// A key, checking that the suite carries the architecture.
    pub fn new(
        architecture: Architecture,
        suite: Suite,
        packages: impl IntoIterator<Item = PackageName>,
    ) -> Result<RootfsKey, Error> {
        architecture.check_suite(suite)?;
        Ok(RootfsKey {
            architecture,
            suite,
            packages: packages.into_iter().collect(),
        })
    }

    /// A key from the words a user writes (a flag or the configuration): the suite's name, else
    /// the architecture's default suite, and package names (blank entries ignored).
    pub fn from_names(
        architecture: Architecture,
        suite: Option<&str>,
        packages: &[String],
    ) -> Result<RootfsKey, Error> {
        let suite = match suite {
            Some(suite) => suite.parse::<Suite>()?,
            None => architecture.default_suite(),
        };
        let packages = packages
            .iter()
            .map(|name| name.trim())
            .filter(|name| !name.is_empty())
            .map(str::parse::<PackageName>)
            .collect::<Result<Vec<_>, _>>()?;
        RootfsKey::new(architecture, suite, packages)
    }

    /// The base key for this key's architecture and suite (no extra packages).
    pub fn base(&self) -> RootfsKey {
        RootfsKey {
            architecture: self.architecture,
            suite: self.suite,
            packages: BTreeSet::new(),
        }
    }

    pub fn is_base(&self) -> bool {
        self.packages.is_empty()
    }

    /// The directory name in the cache: `arm64-bookworm` for a base, and
    /// `arm64-bookworm-<12 hex digits of the package set's SHA-256>` for a derived one (a hash,
    /// because package lists can be long; the full list is in the metadata).
    pub fn directory_name(&self) -> String {
        let base = format!("{}-{}", self.architecture, self.suite);
        if self.is_base() {
            return base;
        }
        let mut hasher = Sha256::new();
        for package in &self.packages {
            hasher.update(package.as_str().as_bytes());
            hasher.update(b"\n");
        }
        let digest = hasher.finalize();
        let hex: String = digest
            .iter()
            .take(6)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("{base}-{hex}")
    }
}

impl fmt::Display for RootfsKey {
    /// `arm64/bookworm`, or `arm64/bookworm+gcc-11,libz-dev`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.architecture, self.suite)?;
        for (index, package) in self.packages.iter().enumerate() {
            f.write_str(if index == 0 { "+" } else { "," })?;
            f.write_str(package.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packages(names: &[&str]) -> Vec<PackageName> {
        names
            .iter()
            .map(|name| name.parse().expect("valid test name"))
            .collect()
    }

    #[test]
    fn from_names_defaults_the_suite_and_ignores_blank_packages() {
        let names = [" gcc-11 ".to_string(), String::new(), "cmake".to_string()];
        let key = RootfsKey::from_names(Architecture::Riscv64, None, &names).expect("valid key");
        assert_eq!(key.suite, Architecture::Riscv64.default_suite());
        assert_eq!(
            key.packages,
            packages(&["cmake", "gcc-11"]).into_iter().collect()
        );
        assert!(RootfsKey::from_names(Architecture::Arm64, Some("sid"), &[]).is_err());
        assert!(
            RootfsKey::from_names(Architecture::Arm64, None, &["Bad_Name".to_string()]).is_err()
        );
    }

    #[test]
    fn directory_names_identify_the_package_set_regardless_of_order() {
        let base = RootfsKey::new(Architecture::Arm64, Suite::Bookworm, []).expect("valid");
        assert_eq!(base.directory_name(), "arm64-bookworm");
        let one = RootfsKey::new(
            Architecture::Arm64,
            Suite::Bookworm,
            packages(&["gcc-11", "libz-dev"]),
        );
        let other = RootfsKey::new(
            Architecture::Arm64,
            Suite::Bookworm,
            packages(&["libz-dev", "gcc-11"]),
        );
        let (one, other) = (one.expect("valid"), other.expect("valid"));
        assert_eq!(one.directory_name(), other.directory_name());
        assert!(one.directory_name().starts_with("arm64-bookworm-"));
        assert_eq!(one.directory_name().len(), "arm64-bookworm-".len() + 12);
        let third = RootfsKey::new(Architecture::Arm64, Suite::Bookworm, packages(&["gcc-11"]));
        assert_ne!(third.expect("valid").directory_name(), one.directory_name());
        assert_eq!(one.base(), base);
        assert_eq!(one.to_string(), "arm64/bookworm+gcc-11,libz-dev");
    }

    #[test]
    fn keys_refuse_a_suite_without_the_architecture() {
        assert!(RootfsKey::new(Architecture::Riscv64, Suite::Bookworm, []).is_err());
        assert!(RootfsKey::new(Architecture::Riscv64, Suite::Trixie, []).is_ok());
    }
}
