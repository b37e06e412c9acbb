//! What a cache entry (root filesystem, native prefix, hybrid view) held when it was made.
//!
//! Two files beside the tree, written into the partial directory before its rename
//! ([`crate::Store`]'s commit), so an entry and its records appear together:
//! - `manifest.json` ([`Manifest`]): small — the packages of the tree's own
//!   `var/lib/dpkg/status` with their versions, the counts, and a sample of files for the quick
//!   check every build runs ([`quick_check`]);
//! - `files.json`: every file, directory and symlink under `root/` with its kind, size (files)
//!   or target (symlinks), for `archway rootfs verify`.
//!
//! Sizes, not hashes: on this project's machines walking and `lstat`ing the 11,728 entries of
//! an amd64 bookworm buildd tree (446 MiB) takes about 0.1 s, reading every byte 2.8 s and
//! hashing them with SHA-256 7.5 s — a verify that costs seconds would not be run. What sizes
//! miss is a same-size rewrite of a file, which nothing in archway does (trees are never
//! written after their rename; see ARCHITECTURE.md).
//!
//! Entries made before manifests existed have none: they are "unverified", still used by
//! builds, and `verify` says so.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The small record beside each tree.
pub(crate) const MANIFEST_FILE: &str = "manifest.json";
/// The file list beside each tree.
pub(crate) const FILES_FILE: &str = "files.json";
/// The tree's own package database (dpkg(1), FILES).
pub(crate) const STATUS: &str = "var/lib/dpkg/status";

/// The manifest format this archway writes and reads.
const FORMAT: u32 = 1;
/// How many recorded files the quick check looks at (one `lstat` each).
const SAMPLE_SIZE: usize = 32;

/// What the tree's dpkg status lists as installed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub architecture: String,
}

/// One entry of a tree as `files.json` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FileRecord {
    File {
        size: u64,
    },
    Symlink {
        target: String,
    },
    Directory,
    /// A device node, fifo or socket (a tree made as root keeps `dev/` nodes).
    Special,
}

impl FileRecord {
    /// How `verify` describes it: `1234 bytes`, `a symlink to `x``, `a directory`.
    pub fn describe(&self) -> String {
        match self {
            FileRecord::File { size } => format!("{size} bytes"),
            FileRecord::Symlink { target } => format!("a symlink to `{target}`"),
            FileRecord::Directory => "a directory".to_string(),
            FileRecord::Special => "a special file".to_string(),
        }
    }
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// Packages of the tree's dpkg status, sorted by name.
    pub packages: Vec<Package>,
    /// Entries in `files.json` (files, directories, symlinks, special files).
    pub entries: usize,
    /// Total size of the regular files, in bytes.
    pub bytes: u64,
    /// Paths (inside the tree) with UTF-8-less names, which `files.json` cannot hold.
    pub unrecorded: usize,
    /// A spread of recorded files for [`quick_check`].
    pub sample: BTreeMap<String, FileRecord>,
}

/// Records the tree `<entry>/root` into `<entry>/manifest.json` and `<entry>/files.json`.
pub(crate) fn write(entry: &Path) -> Result<Manifest, Error> {
    let tree = entry.join("root");
    let (files, unrecorded) = record_files(&tree)?;
    let status = fs::read_to_string(tree.join(STATUS)).unwrap_or_default();
    let step = (files.len() / SAMPLE_SIZE).max(1);
    let manifest = Manifest {
        format: FORMAT,
        packages: installed_packages(&status),
        entries: files.len(),
        bytes: files
            .values()
            .map(|record| match record {
                FileRecord::File { size } => *size,
                _ => 0,
            })
            .sum(),
        unrecorded,
        sample: files
            .iter()
            .step_by(step)
            .take(SAMPLE_SIZE)
            .map(|(path, record)| (path.clone(), record.clone()))
            .collect(),
    };
    write_json(&entry.join(FILES_FILE), &files)?;
    write_json(&entry.join(MANIFEST_FILE), &manifest)?;
    Ok(manifest)
}

/// `<entry>/manifest.json`; `None` for an entry made before manifests existed.
pub(crate) fn read(entry: &Path) -> Result<Option<Manifest>, Error> {
    let path = entry.join(MANIFEST_FILE);
    let manifest: Option<Manifest> = read_json(&path)?;
    match manifest {
        Some(manifest) if manifest.format != FORMAT => Err(Error::Io {
            action: "understand (a newer archway wrote it)",
            path,
            source: std::io::Error::from(std::io::ErrorKind::InvalidData),
        }),
        other => Ok(other),
    }
}

/// `<entry>/files.json`.
pub(crate) fn read_files(entry: &Path) -> Result<Option<BTreeMap<String, FileRecord>>, Error> {
    read_json(&entry.join(FILES_FILE))
}

/// The check every build runs before using a cached entry: the tree has the directories every
/// Debian system has and its package database, and (with a manifest) the sampled files are as
/// recorded. A few `lstat`s and one small JSON file: 0.55 ms in a debug build against the
/// amd64 bookworm buildd tree on a loaded 2-core machine, against the seconds of any build
/// (writing the manifest at creation took 0.33 s there, of a 25–100 s creation; `verify`'s walk
/// and file list 0.15 s). `Err` names what is wrong.
pub(crate) fn quick_check(entry: &Path) -> Result<(), String> {
    let tree = entry.join("root");
    for directory in ["usr/bin", "usr/lib", "etc"] {
        if !tree.join(directory).is_dir() {
            return Err(format!("`{directory}` is not a directory"));
        }
    }
    if !tree.join(STATUS).is_file() {
        return Err(format!("`{STATUS}` is missing"));
    }
    let manifest = match read(entry) {
        Ok(Some(manifest)) => manifest,
        // No manifest: made by an older archway, used unverified.
        Ok(None) => return Ok(()),
        Err(error) => return Err(error.to_string()),
    };
    for (path, expected) in &manifest.sample {
        let found = inspect(&tree.join(path));
        if found.as_ref() != Some(expected) {
            return Err(format!(
                "`{path}` changed: expected {}, found {}",
                expected.describe(),
                found.map_or("nothing".to_string(), |found| found.describe())
            ));
        }
    }
    Ok(())
}

/// What is at `path` now, as `files.json` would record it (`None`: nothing).
pub(crate) fn inspect(path: &Path) -> Option<FileRecord> {
    let metadata = fs::symlink_metadata(path).ok()?;
    let kind = metadata.file_type();
    Some(if kind.is_symlink() {
        FileRecord::Symlink {
            target: fs::read_link(path).ok()?.to_string_lossy().into_owned(),
        }
    } else if kind.is_dir() {
        FileRecord::Directory
    } else if kind.is_file() {
        FileRecord::File {
            size: metadata.len(),
        }
    } else {
        FileRecord::Special
    })
}

/// Every entry under `tree` keyed by its path inside it, and how many names were not UTF-8
/// (those are left out). Mount points are not crossed (a tree has none after its rename).
pub(crate) fn record_files(tree: &Path) -> Result<(BTreeMap<String, FileRecord>, usize), Error> {
    use std::os::unix::fs::MetadataExt;
    let device = fs::symlink_metadata(tree)
        .map_err(Error::io("inspect", tree))?
        .dev();
    let mut files = BTreeMap::new();
    let mut unrecorded = 0;
    let mut pending = vec![tree.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let entries = fs::read_dir(&directory).map_err(Error::io("read", &directory))?;
        for entry in entries {
            let entry = entry.map_err(Error::io("read", &directory))?;
            let path = entry.path();
            let Some(name) = path
                .strip_prefix(tree)
                .ok()
                .and_then(Path::to_str)
                .map(str::to_string)
            else {
                unrecorded += 1;
                continue;
            };
            let metadata = fs::symlink_metadata(&path).map_err(Error::io("inspect", &path))?;
            let record = if metadata.file_type().is_symlink() {
                let target = fs::read_link(&path).map_err(Error::io("read the link", &path))?;
                FileRecord::Symlink {
                    target: target.to_string_lossy().into_owned(),
                }
            } else if metadata.is_dir() {
                if metadata.dev() == device {
                    pending.push(path);
                }
                FileRecord::Directory
            } else if metadata.is_file() {
                FileRecord::File {
                    size: metadata.len(),
                }
            } else {
                FileRecord::Special
            };
            files.insert(name, record);
        }
    }
    Ok((files, unrecorded))
}

/// The installed packages of a dpkg status file (deb-control(5) paragraphs; `Status:` ending
/// in `installed`), sorted by name and architecture.
pub(crate) fn installed_packages(status: &str) -> Vec<Package> {
    let mut packages: Vec<Package> = status
        .split("\n\n")
        .filter_map(|paragraph| {
            let field = |name: &str| {
                paragraph.lines().find_map(|line| {
                    line.strip_prefix(name)
                        .and_then(|rest| rest.strip_prefix(':'))
                        .map(str::trim)
                })
            };
            let installed = field("Status").is_some_and(|status| status.ends_with(" installed"));
            installed.then(|| Package {
                name: field("Package").unwrap_or_default().to_string(),
                version: field("Version").unwrap_or_default().to_string(),
                architecture: field("Architecture").unwrap_or_default().to_string(),
            })
        })
        .filter(|package| !package.name.is_empty())
        .collect();
    packages.sort();
    packages
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, Error> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Error::io("read", path)(error)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| Error::Metadata {
            path: path.to_path_buf(),
            source,
        })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let text = serde_json::to_string(value).map_err(|source| Error::Metadata {
        path: path.to_path_buf(),
        source,
    })?;
    fs::write(path, text).map_err(Error::io("write", path))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const STATUS_TEXT: &str = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n";

    /// A small Debian-looking tree in `<entry>/root`.
    pub(crate) fn fake_entry(entry: &Path) {
        let tree = entry.join("root");
        for directory in ["usr/bin", "usr/lib", "etc", "var/lib/dpkg"] {
            fs::create_dir_all(tree.join(directory)).expect("mkdir");
        }
        fs::write(tree.join(STATUS), STATUS_TEXT).expect("write");
        fs::write(tree.join("usr/bin/gcc"), "not really gcc").expect("write");
        fs::write(tree.join("etc/hostname"), "archway\n").expect("write");
        std::os::unix::fs::symlink("usr/bin", tree.join("bin")).expect("symlink");
    }

    #[test]
    fn installed_packages_come_from_the_status_sorted_and_without_removed_ones() {
        let packages = installed_packages(STATUS_TEXT);
        let names: Vec<(&str, &str)> = packages
            .iter()
            .map(|package| (package.name.as_str(), package.version.as_str()))
            .collect();
        assert_eq!(
            names,
            [("bash", "5.2.15-2+b2"), ("libc6", "2.36-9+deb12u4")]
        );
    }

    #[test]
    fn a_written_manifest_records_every_entry_and_reads_back() {
        let entry = tempfile::tempdir().expect("temp dir");
        fake_entry(entry.path());
        let written = write(entry.path()).expect("write");
        assert_eq!(read(entry.path()).expect("read"), Some(written.clone()));
        let files = read_files(entry.path()).expect("read").expect("present");
        assert_eq!(files.len(), written.entries);
        assert_eq!(
            files.get("usr/bin/gcc"),
            Some(&FileRecord::File { size: 14 })
        );
        assert_eq!(
            files.get("bin"),
            Some(&FileRecord::Symlink {
                target: "usr/bin".to_string()
            })
        );
        assert_eq!(files.get("usr/lib"), Some(&FileRecord::Directory));
        assert_eq!(written.packages.len(), 2);
        assert!(quick_check(entry.path()).is_ok());
    }

    #[test]
    fn the_quick_check_fails_without_usr_bin_or_the_status_or_with_a_changed_sample() {
        let entry = tempfile::tempdir().expect("temp dir");
        fake_entry(entry.path());
        // No manifest: unverified, but the structure is still checked.
        assert!(quick_check(entry.path()).is_ok());
        write(entry.path()).expect("write");
        fs::write(entry.path().join("root/etc/hostname"), "changed size\n").expect("write");
        let error = quick_check(entry.path()).expect_err("a sampled file changed");
        assert!(error.contains("etc/hostname"), "{error}");

        let entry = tempfile::tempdir().expect("temp dir");
        fake_entry(entry.path());
        fs::remove_file(entry.path().join("root").join(STATUS)).expect("remove");
        assert!(quick_check(entry.path())
            .expect_err("no status")
            .contains("dpkg/status"));
        fs::remove_dir_all(entry.path().join("root/usr/bin")).expect("remove");
        assert!(quick_check(entry.path())
            .expect_err("no usr/bin")
            .contains("usr/bin"));
    }

    #[test]
    fn a_manifest_of_another_format_is_an_error_not_a_silent_pass() {
        let entry = tempfile::tempdir().expect("temp dir");
        fake_entry(entry.path());
        let mut manifest = write(entry.path()).expect("write");
        manifest.format = FORMAT + 1;
        write_json(&entry.path().join(MANIFEST_FILE), &manifest).expect("write");
        assert!(read(entry.path()).is_err());
        assert!(quick_check(entry.path()).is_err());
    }
}
