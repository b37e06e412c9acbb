//! `archway rootfs verify`: a cache entry against the manifest written when it was made.
//!
//! The full check walks the tree (about 0.1 s for an amd64 buildd tree: see `manifest.rs` for
//! why sizes and not hashes) and compares every entry with `files.json`, the tree's dpkg status
//! with the manifest's packages, and looks for what an interrupted creation leaves: a partial
//! directory whose lock is free. Builds run only [`crate::manifest::quick_check`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::PathBuf;

use serde::Serialize;

use crate::manifest::{self, FileRecord, Manifest};
use crate::{Error, PrefixKey, RootfsKey, Store};

/// The kind of a cache entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A root filesystem (`rootfs.json`).
    Rootfs,
    /// A native prefix of the hybrid method (`prefix.json`).
    Prefix,
    /// A hybrid view (`hybrid.json`).
    View,
}

impl EntryKind {
    pub const ALL: [EntryKind; 3] = [EntryKind::Rootfs, EntryKind::Prefix, EntryKind::View];

    /// The metadata file that marks a complete entry of this kind.
    pub(crate) fn metadata_file(self) -> &'static str {
        match self {
            EntryKind::Rootfs => "rootfs.json",
            EntryKind::Prefix => "prefix.json",
            EntryKind::View => "hybrid.json",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            EntryKind::Rootfs => "root filesystem",
            EntryKind::Prefix => "native prefix",
            EntryKind::View => "hybrid view",
        }
    }
}

/// Something [`Store::verify`] found wrong (or worth saying) about an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum Problem {
    /// No complete entry of that name.
    NoEntry,
    /// The entry fails the check every build runs (so the next build rebuilds it).
    Broken { reason: String },
    /// A recorded file is gone.
    Missing { path: String },
    /// A file is there but not as recorded (size, kind or symlink target).
    Changed {
        path: String,
        expected: String,
        found: String,
    },
    /// A file the manifest does not list.
    Added { path: String },
    /// The tree's dpkg status and the manifest disagree about a package.
    Package {
        package: String,
        manifest: Option<String>,
        status: Option<String>,
    },
    /// A directory an interrupted creation (or removal) left behind; its lock is free, so the
    /// next creation (or `archway rootfs list`) removes it.
    StalePartial { path: PathBuf },
    /// The manifest, the file list or the status cannot be read.
    Unreadable { path: PathBuf, reason: String },
}

impl Problem {
    /// Whether the entry itself is damaged (as opposed to leftovers next to it).
    pub fn damages_the_entry(&self) -> bool {
        !matches!(self, Problem::StalePartial { .. })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let version = |version: &Option<String>| {
            version
                .as_deref()
                .map_or("absent".to_string(), |version| format!("`{version}`"))
        };
        match self {
            Problem::NoEntry => f.write_str("it is not in the cache"),
            Problem::Broken { reason } => write!(
                f,
                "it fails the check every build runs ({reason}), so the next build rebuilds it"
            ),
            Problem::Missing { path } => write!(f, "`{path}` is missing"),
            Problem::Changed {
                path,
                expected,
                found,
            } => write!(f, "`{path}` changed: expected {expected}, found {found}"),
            Problem::Added { path } => write!(f, "`{path}` was added after creation"),
            Problem::Package {
                package,
                manifest,
                status,
            } => write!(
                f,
                "package `{package}` is {} in the manifest but {} in the tree's dpkg status",
                version(manifest),
                version(status)
            ),
            Problem::StalePartial { path } => write!(
                f,
                "`{}` is left over from an interrupted creation or removal",
                path.display()
            ),
            Problem::Unreadable { path, reason } => {
                write!(f, "cannot read `{}`: {reason}", path.display())
            }
        }
    }
}

/// What [`Store::verify`] found about one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub kind: EntryKind,
    /// The cache directory name (`amd64-bookworm`, `prefix-bookworm-amd64-for-arm64`).
    pub name: String,
    pub path: PathBuf,
    /// False for an entry made before archway wrote manifests: nothing to check it against
    /// but its structure.
    pub has_manifest: bool,
    pub packages: usize,
    /// Entries of the file list (files, directories, symlinks).
    pub files: usize,
    pub problems: Vec<Problem>,
}

impl Verification {
    /// Nothing wrong (an unverified entry with a sound structure is intact as far as can be told).
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// `the amd64/bookworm root filesystem`-style words for messages.
    pub fn describe(&self) -> String {
        format!("the {} `{}`", self.kind.noun(), self.name)
    }
}

impl Store {
    /// Checks the root filesystem of `key` against its manifest (and reports leftovers of an
    /// interrupted creation of it). Never changes anything.
    pub fn verify(&self, key: &RootfsKey) -> Result<Verification, Error> {
        self.verify_named(EntryKind::Rootfs, &key.directory_name())
    }

    /// [`Store::verify`] for a native prefix.
    pub fn verify_prefix(&self, key: &PrefixKey) -> Result<Verification, Error> {
        self.verify_named(EntryKind::Prefix, &key.directory_name())
    }

    /// [`Store::verify`] for the hybrid view named `name`.
    pub fn verify_hybrid(&self, name: &str) -> Result<Verification, Error> {
        self.verify_named(EntryKind::View, name)
    }

    /// Every entry of every kind, and every stale partial directory (as a [`Problem::NoEntry`]
    /// entry of its owner's name when the owner has no complete entry), sorted by name.
    pub fn verify_all(&self) -> Result<Vec<Verification>, Error> {
        let mut verifications = Vec::new();
        let mut names = BTreeSet::new();
        for kind in EntryKind::ALL {
            for name in self.entry_names(kind.metadata_file())? {
                names.insert(name.clone());
                verifications.push(self.verify_named(kind, &name)?);
            }
        }
        let orphans: BTreeMap<String, Vec<PathBuf>> = self.stale_partials()?.into_iter().fold(
            BTreeMap::new(),
            |mut orphans, (owner, path)| {
                if !names.contains(&owner) {
                    orphans.entry(owner).or_insert_with(Vec::new).push(path);
                }
                orphans
            },
        );
        for (name, paths) in orphans {
            let mut problems = vec![Problem::NoEntry];
            problems.extend(paths.into_iter().map(|path| Problem::StalePartial { path }));
            verifications.push(Verification {
                kind: kind_of_name(&name),
                path: self.root().join(&name),
                name,
                has_manifest: false,
                packages: 0,
                files: 0,
                problems,
            });
        }
        verifications.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(verifications)
    }

    pub(crate) fn verify_named(&self, kind: EntryKind, name: &str) -> Result<Verification, Error> {
        let directory = self.root().join(name);
        let mut verification = Verification {
            kind,
            name: name.to_string(),
            path: directory.clone(),
            has_manifest: false,
            packages: 0,
            files: 0,
            problems: Vec::new(),
        };
        for (owner, path) in self.stale_partials()? {
            if owner == name {
                verification.problems.push(Problem::StalePartial { path });
            }
        }
        if !directory.join(kind.metadata_file()).is_file() {
            verification.problems.insert(0, Problem::NoEntry);
            return Ok(verification);
        }
        if let Err(reason) = manifest::quick_check(&directory) {
            verification.problems.push(Problem::Broken { reason });
        }
        let manifest = match manifest::read(&directory) {
            Ok(Some(manifest)) => manifest,
            Ok(None) => return Ok(verification),
            Err(error) => {
                verification.problems.push(Problem::Unreadable {
                    path: directory.join(manifest::MANIFEST_FILE),
                    reason: error.to_string(),
                });
                return Ok(verification);
            }
        };
        verification.has_manifest = true;
        verification.packages = manifest.packages.len();
        let tree = directory.join("root");
        let status_path = tree.join(manifest::STATUS);
        match fs::read_to_string(&status_path) {
            Ok(status) => verification
                .problems
                .extend(compare_packages(&manifest, &status)),
            Err(error) => verification.problems.push(Problem::Unreadable {
                path: status_path,
                reason: error.to_string(),
            }),
        }
        let recorded = match manifest::read_files(&directory) {
            Ok(Some(recorded)) => recorded,
            Ok(None) => {
                verification.problems.push(Problem::Unreadable {
                    path: directory.join(manifest::FILES_FILE),
                    reason: "it does not exist".to_string(),
                });
                return Ok(verification);
            }
            Err(error) => {
                verification.problems.push(Problem::Unreadable {
                    path: directory.join(manifest::FILES_FILE),
                    reason: error.to_string(),
                });
                return Ok(verification);
            }
        };
        verification.files = recorded.len();
        let found = if tree.is_dir() {
            manifest::record_files(&tree)?.0
        } else {
            BTreeMap::new()
        };
        verification
            .problems
            .extend(compare_files(&recorded, &found));
        Ok(verification)
    }
}

/// The recorded entries against what the tree holds now.
fn compare_files(
    recorded: &BTreeMap<String, FileRecord>,
    found: &BTreeMap<String, FileRecord>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (path, expected) in recorded {
        match found.get(path) {
            None => problems.push(Problem::Missing { path: path.clone() }),
            Some(actual) if actual != expected => problems.push(Problem::Changed {
                path: path.clone(),
                expected: expected.describe(),
                found: actual.describe(),
            }),
            Some(_) => {}
        }
    }
    for path in found.keys() {
        if !recorded.contains_key(path) {
            problems.push(Problem::Added { path: path.clone() });
        }
    }
    problems
}

/// The manifest's packages against the tree's dpkg status: same names, same versions.
fn compare_packages(manifest: &Manifest, status: &str) -> Vec<Problem> {
    let key = |package: &manifest::Package| {
        (
            format!("{}:{}", package.name, package.architecture),
            package.version.clone(),
        )
    };
    let recorded: BTreeMap<String, String> = manifest.packages.iter().map(key).collect();
    let installed: BTreeMap<String, String> = manifest::installed_packages(status)
        .iter()
        .map(key)
        .collect();
    let names: BTreeSet<&String> = recorded.keys().chain(installed.keys()).collect();
    names
        .into_iter()
        .filter(|name| recorded.get(*name) != installed.get(*name))
        .map(|name| Problem::Package {
            package: name.clone(),
            manifest: recorded.get(name).cloned(),
            status: installed.get(name).cloned(),
        })
        .collect()
}

/// The kind an entry's name says it is (`prefix-…`, `hybrid-…`, else a root filesystem).
fn kind_of_name(name: &str) -> EntryKind {
    if name.starts_with("prefix-") {
        EntryKind::Prefix
    } else if name.starts_with("hybrid-") {
        EntryKind::View
    } else {
        EntryKind::Rootfs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{commit_fake, key};

    #[test]
    fn a_fresh_entry_is_clean_and_each_tampering_is_named() {
        let cache = tempfile::tempdir().expect("temp dir");
        let store = Store::new(cache.path());
        let key = key(&[]);
        let rootfs = commit_fake(&store, &key);
        let clean = store.verify(&key).expect("verify");
        assert!(clean.is_clean(), "{:?}", clean.problems);
        assert!(clean.has_manifest);
        assert_eq!(clean.packages, 2);

        let tree = rootfs.tree();
        fs::remove_file(tree.join("usr/bin/gcc")).expect("remove");
        fs::write(tree.join("etc/hostname"), "a different size\n").expect("write");
        fs::write(tree.join("etc/new"), "").expect("write");
        let status = fs::read_to_string(tree.join(manifest::STATUS)).expect("read");
        fs::write(
            tree.join(manifest::STATUS),
            status.replace("5.2.15-2+b2", "5.2.15-3"),
        )
        .expect("write");
        let problems = store.verify(&key).expect("verify").problems;
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            problems.contains(&Problem::Missing {
                path: "usr/bin/gcc".to_string()
            }),
            "{shown:?}"
        );
        assert!(
            problems.contains(&Problem::Changed {
                path: "etc/hostname".to_string(),
                expected: "8 bytes".to_string(),
                found: "17 bytes".to_string()
            }),
            "{shown:?}"
        );
        assert!(problems.contains(&Problem::Added {
            path: "etc/new".to_string()
        }));
        assert!(problems.contains(&Problem::Package {
            package: "bash:amd64".to_string(),
            manifest: Some("5.2.15-2+b2".to_string()),
            status: Some("5.2.15-3".to_string()),
        }));
    }

    #[test]
    fn an_entry_without_a_manifest_is_unverified_not_broken() {
        let cache = tempfile::tempdir().expect("temp dir");
        let store = Store::new(cache.path());
        let key = key(&[]);
        let rootfs = commit_fake(&store, &key);
        fs::remove_file(rootfs.directory.join(manifest::MANIFEST_FILE)).expect("remove");
        let verification = store.verify(&key).expect("verify");
        assert!(verification.is_clean(), "{:?}", verification.problems);
        assert!(!verification.has_manifest);
        // Its structure is still checked.
        fs::remove_dir_all(rootfs.tree().join("usr/bin")).expect("remove");
        let problems = store.verify(&key).expect("verify").problems;
        assert!(
            matches!(&problems[..], [Problem::Broken { reason }] if reason.contains("usr/bin")),
            "{problems:?}"
        );
    }

    #[test]
    fn leftovers_of_an_interrupted_creation_are_reported_with_no_entry() {
        let cache = tempfile::tempdir().expect("temp dir");
        let store = Store::new(cache.path());
        let key = key(&["libz-dev"]);
        let partial = {
            let _lock = store.lock(&key).expect("lock");
            store.partial_directory(&key).expect("partial")
        };
        let verification = store.verify(&key).expect("verify");
        assert_eq!(
            verification.problems,
            [
                Problem::NoEntry,
                Problem::StalePartial {
                    path: partial.clone()
                }
            ]
        );
        assert!(partial.exists(), "verify changes nothing");
        let all = store.verify_all().expect("verify all");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].name, key.directory_name());
        // A partial whose lock is held is a creation in progress, not a leftover.
        let _lock = store.lock(&key).expect("lock");
        assert_eq!(
            store.verify(&key).expect("verify").problems,
            [Problem::NoEntry]
        );
    }
}
