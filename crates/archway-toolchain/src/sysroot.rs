//! Per-target sysroots filled with the target architecture's own Debian binary packages: the
//! "binary cache" of cross builds.
//!
//! apt does the dependency resolution and the downloads, with a private configuration (its own
//! `sources.list` with `[arch=arm64]`, lists and downloaded archives under the sysroot's
//! directory, `APT::Architecture=arm64`), so the host's dpkg architectures and package state
//! are never touched. `dpkg-deb -x` unpacks each package; its control paragraph goes into the
//! tree's own dpkg status file, so the next `add` only fetches what is new.
//!
//! Layout under the cache directory (one tree per Debian suite and architecture, so gnu and musl
//! targets of one architecture share it, and the emulated method can use the same tree):
//!
//! ```text
//! sysroots/bookworm-arm64/
//!   root/                          the target tree: usr/include, usr/lib/aarch64-linux-gnu, lib/ ...
//!     var/lib/dpkg/status          the packages in this tree (apt resolves against it)
//!     var/lib/archway/manifest.json  suite, architecture, requested and unpacked packages
//!     var/lib/archway/files.json   every file's size and every symlink's target, for `verify`
//!     var/lib/archway/relocated-from  the root its `.pc`/`.la` paths point into (shared entries)
//!   apt/                           apt's private etc, lists and downloaded archives
//!   apt.conf                       APT_CONFIG for every apt call
//!   staging/                       the next tree while an `add` builds it
//!   lock                           flock(2)ed while the tree changes
//!   in-use                         flock(2)ed shared by each build using the tree
//!   used                           its mtime: when a build last took the tree
//! ```
//!
//! Changes are transactional: an `add` builds the new tree in `staging/` (hard links to the
//! current tree's files plus the new packages), relocates it, checks that every package's
//! dependencies are in it, records its files, and only then exchanges it with `root/` in one
//! `renameat2(RENAME_EXCHANGE)`. The tree, its dpkg status and its manifest therefore change
//! together or not at all: a kill or a full disk at any point leaves the previous tree, and the
//! next `add` (holding the lock, so any `staging/` it finds is stale) starts over.
//!
//! After unpacking, absolute symlinks are made relative (so `libz.so -> /lib/...` does not
//! point at the host's file), `.pc` variables holding absolute paths get the sysroot's final
//! path (`.../root`) in front (pkgconf leaves paths already under `PKG_CONFIG_SYSROOT_DIR`
//! alone, so both ways of using them agree), and libtool `.la` files get the same for `libdir`
//! and `dependency_libs`.
//!
//! A shared cache ([`SysrootUpstream`]) holds trees as entries named by suite, architecture and
//! the package set they were filled for ([`upstream_name`]). A missing set is restored from
//! there before apt runs: the entry's tree is unpacked into `staging/`, its `.pc`/`.la` paths
//! moved from the root it was made at (`var/lib/archway/relocated-from`) to this one, its file
//! list recorded anew, checked, and exchanged like an `add`'s tree. A tree apt filled is offered.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use archway_platform::debian_names::{PackageName, Suite};
use archway_platform::{Libc, Platform, Reporter};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::Error;

pub use archway_platform::debian_names::DEFAULT_MIRROR;

/// The keyring apt checks the archive's signatures with (package `debian-archive-keyring`).
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// Where a tree keeps what archway knows about it, relative to the tree.
const MANIFEST: &str = "var/lib/archway/manifest.json";
/// In a sysroot's directory: shared-locked by each build using the tree ([`Sysroot::hold`]).
const IN_USE: &str = "in-use";
/// In a sysroot's directory: its mtime is the last time a build took the tree.
const USED: &str = "used";
const FILES: &str = "var/lib/archway/files.json";
/// The root the tree's `.pc` and `.la` paths point into (the sysroot's `root` when it was
/// filled), so that a tree restored elsewhere can be moved to its new root.
const RELOCATED_FROM: &str = "var/lib/archway/relocated-from";
/// The tree's dpkg status file (dpkg(1)'s `/var/lib/dpkg/status`), relative to the tree.
const STATUS: &str = "var/lib/dpkg/status";

/// The Debian archive architecture whose packages fill the sysroot. musl targets have their
/// own Debian architecture names (`musl-linux-arm64`), but the archive only has the glibc one,
/// whose `musl-dev` package carries musl for that CPU.
pub fn archive_architecture(target: &Platform) -> Result<&'static str, Error> {
    let architecture = target
        .debian_arch()
        .ok_or_else(|| Error::NoDebianArchitecture {
            target: target.display_name(),
        })?;
    Ok(architecture
        .strip_prefix("musl-linux-")
        .unwrap_or(architecture))
}

/// One unpacked package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub architecture: String,
}

/// What `var/lib/archway/manifest.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub suite: Suite,
    pub architecture: String,
    pub mirror: String,
    /// What users asked for, in order of first request.
    pub requested: Vec<PackageName>,
    /// Everything unpacked, dependencies included.
    pub packages: Vec<Package>,
}

/// The manifest of sysroots made before trees were transactional (`<directory>/manifest.json`,
/// beside the tree). Only its requested packages are read, to rebuild the tree from them.
#[derive(Debug, Deserialize)]
struct LegacyManifest {
    #[serde(default)]
    requested: Vec<String>,
}

/// One file of a tree as `files.json` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Entry {
    File { size: u64 },
    Symlink { target: String },
}

/// Something [`Sysroot::verify`] found wrong with a tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum Problem {
    /// No tree at all, or one without its manifest.
    NoTree,
    /// A tree made before trees were transactional: it has nothing to verify against.
    Legacy,
    /// A file the tree recorded is gone.
    Missing { path: String },
    /// A file is there but not as recorded (size, kind or symlink target).
    Changed {
        path: String,
        expected: String,
        found: String,
    },
    /// The dpkg status and the manifest disagree about a package.
    Status {
        package: String,
        manifest: Option<String>,
        status: Option<String>,
    },
    /// A package's dependency is not in the tree.
    UnmetDependency { package: String, dependency: String },
    /// A requested package is not in the tree.
    NotInstalled { package: String },
    /// The manifest, the file list or the status cannot be read.
    Unreadable { path: String, reason: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NoTree => f.write_str("there is no tree (or it has no manifest)"),
            Problem::Legacy => f.write_str(
                "the tree was made by an older archway and has no file list to check against",
            ),
            Problem::Missing { path } => write!(f, "`{path}` is missing"),
            Problem::Changed {
                path,
                expected,
                found,
            } => write!(f, "`{path}` changed: expected {expected}, found {found}"),
            Problem::Status {
                package,
                manifest,
                status,
            } => write!(
                f,
                "package `{package}` is {} in the manifest but {} in the dpkg status",
                manifest
                    .as_deref()
                    .map_or("absent".to_string(), |v| format!("`{v}`")),
                status
                    .as_deref()
                    .map_or("absent".to_string(), |v| format!("`{v}`")),
            ),
            Problem::UnmetDependency {
                package,
                dependency,
            } => write!(
                f,
                "package `{package}` depends on `{dependency}`, which is not in the tree"
            ),
            Problem::NotInstalled { package } => {
                write!(f, "requested package `{package}` is not in the tree")
            }
            Problem::Unreadable { path, reason } => write!(f, "cannot read `{path}`: {reason}"),
        }
    }
}

/// What [`Sysroot::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub packages: usize,
    pub files: usize,
    pub problems: Vec<Problem>,
}

/// A shared cache of sysroot trees behind the local one (archway-cache's shared store, joined
/// in the `archway` crate: this crate does not depend on archway-cache). Errors are messages
/// that [`Sysroot::add`] notes and goes on: a shared cache never fails a build.
pub trait SysrootUpstream: Send + Sync + fmt::Debug {
    /// Restores the entry `name` into `into` (a directory that does not exist yet). `Ok(Some)`
    /// describes where it came from (`signed by ci-1`), `Ok(None)`: the store lacks it.
    fn restore(&self, name: &str, into: &Path) -> Result<Option<String>, String>;
    /// Offers a complete tree (its directory, never written again) to the store.
    fn offer(&self, name: &str, directory: &Path) -> Result<(), String>;
}

/// The shared entry name of the tree of `suite` and `architecture` filled for `packages`:
/// `sysroot-bookworm-arm64-<12 hex digits>`, from the SHA-256 of the sorted, deduplicated names
/// (one per line), so the order they were asked in does not matter.
pub fn upstream_name(suite: Suite, architecture: &str, packages: &[PackageName]) -> String {
    let names: BTreeSet<&str> = packages.iter().map(PackageName::as_str).collect();
    let mut hasher = Sha256::new();
    for name in names {
        hasher.update(name.as_bytes());
        hasher.update(b"\n");
    }
    let digest = hasher.finalize();
    let hex: String = digest
        .iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sysroot-{suite}-{architecture}-{hex}")
}

/// A sysroot on disk (it may not exist yet: [`Sysroot::add`] creates it).
#[derive(Debug, Clone)]
pub struct Sysroot {
    directory: PathBuf,
    target: Platform,
    architecture: String,
    suite: Suite,
    mirror: String,
    upstream: Option<Arc<dyn SysrootUpstream>>,
}

/// What [`Sysroot::add`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AddOutcome {
    /// Packages unpacked by this call (the requested ones and new dependencies; every package
    /// when the tree was rebuilt).
    pub unpacked: Vec<Package>,
    /// The tree was rebuilt from scratch because the previous one failed verification (or was
    /// made by an older archway).
    pub rebuilt: bool,
    /// The tree came from the shared cache (`signed by ci-1`): apt did not run.
    pub restored: Option<String>,
}

/// One entry of [`Sysroot::list`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysrootInfo {
    /// The directory name (`bookworm-arm64`).
    pub name: String,
    pub path: PathBuf,
    pub manifest: Manifest,
    /// Seconds since a build last took it ([`Sysroot::hold`]) or its tree last changed.
    pub unused_seconds: u64,
}

/// A sysroot a build uses, from [`Sysroot::hold`]: a shared `flock(2)` on its lock, released
/// on drop (also when the process dies).
#[derive(Debug)]
pub struct SysrootInUse {
    _file: fs::File,
}

/// What [`Sysroot::prune`] did with one sysroot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrunedSysroot {
    /// The directory name (`bookworm-arm64`).
    pub name: String,
    /// Its size on disk: the tree, apt's lists and downloaded archives.
    pub size_bytes: u64,
    /// Seconds since a build last took it, or since its tree last changed.
    pub unused_seconds: u64,
    /// Removed (or, with `--dry-run`, would be).
    pub removed: bool,
    /// Why it stays: `used recently`, `in use` or `removed meanwhile`.
    pub kept_because: Option<&'static str>,
}

/// How long since a build last took the sysroot at `directory` (the mtime of its `used` mark,
/// [`Sysroot::hold`]) or its tree last changed (its manifest's), whichever is later; `None`
/// when it has neither.
fn unused_time(directory: &Path) -> Option<std::time::Duration> {
    let modified = |path: PathBuf| fs::metadata(path).and_then(|metadata| metadata.modified());
    let used = [
        modified(directory.join(USED)),
        modified(directory.join("root").join(MANIFEST)),
        modified(directory.join("manifest.json")),
    ]
    .into_iter()
    .flatten()
    .max()?;
    Some(
        std::time::SystemTime::now()
            .duration_since(used)
            .unwrap_or_default(),
    )
}

/// The state an `add` starts from.
enum Current {
    /// No usable tree: build a fresh one holding these earlier requests too.
    Fresh { carried: Vec<PackageName> },
    /// A verified tree with its manifest.
    Tree(Manifest),
}

impl Sysroot {
    /// The sysroot for `target` under `cache_dir`, from the architecture's default suite and
    /// the default mirror. Architectures no suite carries get bookworm here and an error from
    /// [`Sysroot::add`], so that opening (to see whether a sysroot exists) never fails.
    pub fn open(cache_dir: &Path, target: &Platform) -> Result<Sysroot, Error> {
        let architecture = archive_architecture(target)?;
        let suite = Suite::default_for(architecture).unwrap_or(Suite::Bookworm);
        Sysroot::open_with(cache_dir, target, suite, DEFAULT_MIRROR)
    }

    /// The sysroot for `target` from a given Debian suite and mirror.
    pub fn open_with(
        cache_dir: &Path,
        target: &Platform,
        suite: Suite,
        mirror: &str,
    ) -> Result<Sysroot, Error> {
        let architecture = archive_architecture(target)?;
        Ok(Sysroot {
            // Both parts are closed sets of plain names (`Suite`, dpkg's architecture table),
            // so the directory always stays inside `<cache>/sysroots`.
            directory: cache_dir
                .join("sysroots")
                .join(format!("{suite}-{architecture}")),
            target: target.clone(),
            architecture: architecture.to_string(),
            suite,
            mirror: mirror.trim_end_matches('/').to_string(),
            upstream: None,
        })
    }

    /// The sysroot with a shared cache that [`Sysroot::add`] restores missing package sets from
    /// and offers the trees it fills to.
    pub fn with_upstream(mut self, upstream: Option<Arc<dyn SysrootUpstream>>) -> Sysroot {
        self.upstream = upstream;
        self
    }

    /// The tree to give compilers as `--sysroot` and QEMU as `-L`.
    pub fn path(&self) -> PathBuf {
        self.directory.join("root")
    }

    /// The directory holding the tree, apt's state and the lock.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    pub fn target(&self) -> &Platform {
        &self.target
    }

    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    pub fn suite(&self) -> Suite {
        self.suite
    }

    fn staging(&self) -> PathBuf {
        self.directory.join("staging")
    }

    fn legacy_manifest(&self) -> PathBuf {
        self.directory.join("manifest.json")
    }

    /// Has anything been unpacked yet?
    pub fn exists(&self) -> bool {
        self.path().join(MANIFEST).is_file() || self.legacy_manifest().is_file()
    }

    /// The manifest of the current tree, or an empty one for a sysroot not created yet.
    pub fn manifest(&self) -> Result<Manifest, Error> {
        Ok(
            read_json::<Manifest>(&self.path().join(MANIFEST))?.unwrap_or_else(|| Manifest {
                suite: self.suite,
                architecture: self.architecture.clone(),
                mirror: self.mirror.clone(),
                requested: Vec::new(),
                packages: Vec::new(),
            }),
        )
    }

    /// The C library development package every sysroot for this target holds.
    fn libc_package(&self) -> PackageName {
        let name = match self.target.libc() {
            Libc::Musl => "musl-dev",
            _ => "libc6-dev",
        };
        name.parse()
            .expect("`musl-dev` and `libc6-dev` are package names")
    }

    /// Fetches `packages` of the target architecture with their dependencies into the tree.
    /// The C library's development package always comes along. The new tree replaces the old
    /// one only once complete (see the module documentation); a tree that fails
    /// [`Sysroot::verify`] is rebuilt from the downloaded archives without being asked.
    ///
    /// Every name is checked to be a Debian package name (they reach apt's command line).
    pub fn add<P: AsRef<str>>(
        &self,
        packages: &[P],
        reporter: &dyn Reporter,
    ) -> Result<AddOutcome, Error> {
        let packages = packages
            .iter()
            .map(|name| name.as_ref().parse::<PackageName>())
            .collect::<Result<Vec<_>, _>>()?;
        fs::create_dir_all(&self.directory).map_err(io("create directory", &self.directory))?;
        let _lock = Lock::acquire(&self.directory.join("lock"))?;
        self.add_locked(&packages, reporter)
            .map_err(|error| error.disk_full(&self.directory, &self.target.display_name()))
    }

    fn add_locked(
        &self,
        packages: &[PackageName],
        reporter: &dyn Reporter,
    ) -> Result<AddOutcome, Error> {
        // Holding the lock: a staging tree left now is from a run that died.
        remove_if_present(&self.staging())?;
        remove_if_present(&self.directory.join("unpacking"))?;
        let current = self.current()?;
        let mut wanted: Vec<PackageName> = vec![self.libc_package()];
        let carried = match &current {
            Current::Fresh { carried } => carried.clone(),
            Current::Tree(manifest) => manifest.requested.clone(),
        };
        for package in carried.iter().chain(packages) {
            if !wanted.contains(package) {
                wanted.push(package.clone());
            }
        }
        // Everything asked for is there already: no apt run (reading the package lists alone
        // takes seconds, and builds call this every time with their `sysroot-packages`).
        if let Current::Tree(manifest) = &current {
            let present: BTreeSet<&str> =
                manifest.packages.iter().map(|p| p.name.as_str()).collect();
            if wanted
                .iter()
                .all(|package| present.contains(package.as_str()))
            {
                return Ok(AddOutcome::default());
            }
        }
        if !self.suite.carries(&self.architecture) {
            return Err(Error::SuiteLacksArchitecture {
                suite: self.suite,
                architecture: self.architecture.clone(),
            });
        }
        let name = upstream_name(self.suite, &self.architecture, &wanted);
        if let Some(upstream) = &self.upstream {
            match self.restore(upstream.as_ref(), &name, &wanted) {
                Ok(Some(origin)) => {
                    return Ok(AddOutcome {
                        unpacked: Vec::new(),
                        rebuilt: false,
                        restored: Some(origin),
                    })
                }
                Ok(None) => {}
                Err(message) => reporter.note(&format!(
                    "warning: cannot restore the sysroot `{name}` from the shared cache: {message}; filling it with apt"
                )),
            }
        }
        let status = match &current {
            Current::Tree(_) => self.path().join(STATUS),
            Current::Fresh { .. } => self.directory.join("apt").join(STATUS),
        };
        let apt = self.prepare_apt(&status)?;
        if matches!(current, Current::Fresh { .. }) {
            write_file(&status, "")?;
        }
        if apt.needs_update() {
            reporter.start(
                &format!(
                    "updating the {} {} package lists",
                    self.suite, self.architecture
                ),
                None,
            );
            let result = apt.run("apt-get", &["update"], &[]);
            reporter.finish();
            result?;
        }

        // Every archive the new tree needs, downloaded or not: `--print-uris` leaves out what is
        // in the archive cache already, so it looks at an empty one.
        let empty_cache = apt.base.join("var/cache/apt/empty");
        fs::create_dir_all(empty_cache.join("partial"))
            .map_err(io("create directory", &empty_cache))?;
        let empty_cache_option = format!("Dir::Cache::Archives={}/", empty_cache.display());
        let uris = apt.run(
            "apt-get",
            &["install", "--print-uris", "-qq", "-o", &empty_cache_option],
            &wanted,
        )?;
        let debs = parse_print_uris(&uris);
        reporter.start(&format!("downloading {} packages", debs.len()), None);
        let result = apt.run("apt-get", &["install", "--download-only", "-qq"], &wanted);
        reporter.finish();
        result?;

        let staging = Staging::create(self.staging())?;
        match &current {
            Current::Tree(_) => link_tree(&self.path(), staging.path())?,
            Current::Fresh { .. } => {
                let status_directory = staging.path().join("var/lib/dpkg");
                fs::create_dir_all(&status_directory)
                    .map_err(io("create directory", &status_directory))?;
            }
        }
        // The status is the one file of the tree that is appended to: a copy, never a link.
        let staged_status = staging.path().join(STATUS);
        let previous = fs::read(&status).unwrap_or_default();
        fs::write(&staged_status, previous).map_err(io("write", &staged_status))?;
        let strip = host_codename().as_deref() != Some(self.suite.name());
        let mut outcome = AddOutcome {
            unpacked: Vec::new(),
            rebuilt: matches!(current, Current::Fresh { .. }) && self.legacy_or_broken(),
            restored: None,
        };
        reporter.start("unpacking", Some(debs.len() as u64));
        for file_name in &debs {
            let deb = apt.archives().join(file_name);
            reporter.status(file_name);
            let package = unpack(&deb, staging.path(), &staged_status, strip)?;
            outcome.unpacked.push(package);
            reporter.advance(1);
        }
        reporter.finish();
        add_merged_usr_aliases(staging.path())?;
        relocate_tree(staging.path(), &self.path())?;

        let mut manifest = match current {
            Current::Tree(manifest) => manifest,
            Current::Fresh { .. } => self.manifest_template(),
        };
        for package in &wanted {
            if !manifest.requested.contains(package) {
                manifest.requested.push(package.clone());
            }
        }
        let mut all: BTreeSet<Package> = manifest.packages.into_iter().collect();
        for package in &outcome.unpacked {
            all.retain(|old| old.name != package.name);
            all.insert(package.clone());
        }
        manifest.packages = all.into_iter().collect();
        // What apt resolved must be complete before it replaces anything.
        let status_text = fs::read_to_string(&staged_status).map_err(io("read", &staged_status))?;
        let mut problems = check_status(&manifest, &status_text);
        if let Some(problem) = problems.pop() {
            return Err(Error::Unverified {
                path: staging.path().to_path_buf(),
                problem: problem.to_string(),
            });
        }
        let files = record_files(staging.path())?;
        write_json(&staging.path().join(FILES), &files)?;
        write_json(&staging.path().join(MANIFEST), &manifest)?;
        write_file(
            &staging.path().join(RELOCATED_FROM),
            &self.path().display().to_string(),
        )?;
        staging.commit(&self.path())?;
        // Only now is the old layout's state obsolete.
        remove_if_present(&self.legacy_manifest())?;
        if let Some(upstream) = &self.upstream {
            if let Err(message) = upstream.offer(&name, &self.path()) {
                reporter.note(&format!(
                    "warning: cannot offer the sysroot `{name}` to the shared cache: {message}"
                ));
            }
        }
        Ok(outcome)
    }

    /// The entry `name` from `upstream` as the new tree: unpacked into `staging/`, moved from
    /// the root it was made at to this one, checked, exchanged. `Ok(None)`: the store lacks it.
    /// Errors are messages (the caller notes them and runs apt).
    fn restore(
        &self,
        upstream: &dyn SysrootUpstream,
        name: &str,
        wanted: &[PackageName],
    ) -> Result<Option<String>, String> {
        let staging_path = self.staging();
        let origin = match upstream.restore(name, &staging_path)? {
            Some(origin) => origin,
            None => return Ok(None),
        };
        // From here the staged tree is removed unless committed.
        let staging = Staging {
            path: staging_path,
            committed: false,
        };
        let root = self.path();
        self.adopt(staging.path(), &root, wanted)
            .map_err(|error| error.to_string())?;
        staging.commit(&root).map_err(|error| error.to_string())?;
        remove_if_present(&self.legacy_manifest()).map_err(|error| error.to_string())?;
        Ok(Some(origin))
    }

    /// Makes the restored tree at `tree` this sysroot's next tree at `root`: its `.pc` and
    /// `.la` paths moved from the recorded root to `root` (then relocated as an `add` does),
    /// its file list recorded anew, and it must hold `wanted` for this suite and architecture
    /// with a status that agrees with its manifest.
    fn adopt(&self, tree: &Path, root: &Path, wanted: &[PackageName]) -> Result<(), Error> {
        let unverified = |problem: String| Error::Unverified {
            path: tree.to_path_buf(),
            problem,
        };
        let manifest = read_json::<Manifest>(&tree.join(MANIFEST))?
            .ok_or_else(|| unverified("the entry has no manifest".to_string()))?;
        if manifest.suite != self.suite || manifest.architecture != self.architecture {
            return Err(unverified(format!(
                "the entry holds a {} {} tree",
                manifest.suite, manifest.architecture
            )));
        }
        let previous_path = tree.join(RELOCATED_FROM);
        let previous = fs::read_to_string(&previous_path).map_err(io("read", &previous_path))?;
        let previous = Path::new(previous.trim_end_matches('\n'));
        if !previous.is_absolute() {
            return Err(unverified(format!(
                "`{RELOCATED_FROM}` holds `{}`, not an absolute path",
                previous.display()
            )));
        }
        move_root(tree, previous)?;
        relocate_tree(tree, root)?;
        let status_path = tree.join(STATUS);
        let status = fs::read_to_string(&status_path).map_err(io("read", &status_path))?;
        let mut problems = check_status(&manifest, &status);
        let present: BTreeSet<&str> = manifest.packages.iter().map(|p| p.name.as_str()).collect();
        if let Some(missing) = wanted.iter().find(|p| !present.contains(p.as_str())) {
            problems.push(Problem::NotInstalled {
                package: missing.to_string(),
            });
        }
        if let Some(problem) = problems.pop() {
            return Err(unverified(problem.to_string()));
        }
        let files = record_files(tree)?;
        write_json(&tree.join(FILES), &files)?;
        write_file(&tree.join(RELOCATED_FROM), &root.display().to_string())
    }

    fn manifest_template(&self) -> Manifest {
        Manifest {
            suite: self.suite,
            architecture: self.architecture.clone(),
            mirror: self.mirror.clone(),
            requested: Vec::new(),
            packages: Vec::new(),
        }
    }

    /// Was there something before that this `add` replaces wholesale?
    fn legacy_or_broken(&self) -> bool {
        self.path().exists() || self.legacy_manifest().exists()
    }

    /// The tree an `add` builds on: the current one when it verifies, else a fresh one that
    /// also holds what the old tree's users had asked for.
    fn current(&self) -> Result<Current, Error> {
        let manifest = match read_json::<Manifest>(&self.path().join(MANIFEST)) {
            Ok(Some(manifest)) => manifest,
            Ok(None) | Err(Error::Malformed { .. }) => {
                let carried = read_json::<LegacyManifest>(&self.legacy_manifest())
                    .ok()
                    .flatten()
                    .map(|legacy| {
                        // Names that were never valid (this used to be unchecked) are dropped.
                        legacy
                            .requested
                            .iter()
                            .filter_map(|name| name.parse().ok())
                            .collect()
                    })
                    .unwrap_or_default();
                return Ok(Current::Fresh { carried });
            }
            Err(error) => return Err(error),
        };
        let verification = self.verify_tree()?;
        if verification.problems.is_empty() {
            Ok(Current::Tree(manifest))
        } else {
            tracing::info!(
                problems = verification.problems.len(),
                "the sysroot fails verification: rebuilding it"
            );
            Ok(Current::Fresh {
                carried: manifest.requested,
            })
        }
    }

    /// Checks the tree against its manifest and file list: every recorded file present with its
    /// size (symlinks with their target), the dpkg status agreeing with the manifest, every
    /// package's dependencies and every requested package in the tree.
    pub fn verify(&self) -> Result<Verification, Error> {
        if !self.directory.exists() {
            return Ok(Verification {
                packages: 0,
                files: 0,
                problems: vec![Problem::NoTree],
            });
        }
        let _lock = Lock::acquire(&self.directory.join("lock"))?;
        self.verify_tree()
    }

    fn verify_tree(&self) -> Result<Verification, Error> {
        let root = self.path();
        let unreadable = |path: &Path, reason: String| Problem::Unreadable {
            path: path.display().to_string(),
            reason,
        };
        let mut verification = Verification {
            packages: 0,
            files: 0,
            problems: Vec::new(),
        };
        let manifest = match read_json::<Manifest>(&root.join(MANIFEST)) {
            Ok(Some(manifest)) => manifest,
            Ok(None) => {
                verification
                    .problems
                    .push(if self.legacy_manifest().exists() {
                        Problem::Legacy
                    } else {
                        Problem::NoTree
                    });
                return Ok(verification);
            }
            Err(error) => {
                verification
                    .problems
                    .push(unreadable(&root.join(MANIFEST), error.to_string()));
                return Ok(verification);
            }
        };
        verification.packages = manifest.packages.len();
        match fs::read_to_string(root.join(STATUS)) {
            Ok(status) => verification
                .problems
                .extend(check_status(&manifest, &status)),
            Err(error) => verification
                .problems
                .push(unreadable(&root.join(STATUS), error.to_string())),
        }
        match read_json::<BTreeMap<String, Entry>>(&root.join(FILES)) {
            Ok(Some(files)) => {
                verification.files = files.len();
                verification.problems.extend(check_files(&root, &files));
            }
            Ok(None) => verification.problems.push(unreadable(
                &root.join(FILES),
                "it does not exist".to_string(),
            )),
            Err(error) => verification
                .problems
                .push(unreadable(&root.join(FILES), error.to_string())),
        }
        Ok(verification)
    }

    /// Deletes the sysroot with its apt state.
    pub fn remove(&self) -> Result<(), Error> {
        if !self.directory.exists() {
            return Err(Error::NoSysroot {
                target: self.target.display_name(),
                path: self.directory.clone(),
            });
        }
        let _lock = Lock::acquire(&self.directory.join("lock"))?;
        // Every build using it ends first ([`Sysroot::hold`]).
        let _in_use = locked(
            &self.directory.join(IN_USE),
            rustix::fs::FlockOperation::LockExclusive,
            Create::File,
        )?;
        fs::remove_dir_all(&self.directory).map_err(io("remove", &self.directory))
    }

    /// Takes the sysroot for a build for as long as the returned [`SysrootInUse`] lives (a
    /// shared lock on `in-use`: `remove` waits for it, [`Sysroot::prune`] leaves the tree
    /// alone; an `add` goes on, its exchange of trees keeps every path valid), and marks it used
    /// now. Fails with [`Error::NoSysroot`] when there is no tree (a removal took it meanwhile).
    pub fn hold(&self) -> Result<SysrootInUse, Error> {
        let no_sysroot = || Error::NoSysroot {
            target: self.target.display_name(),
            path: self.directory.clone(),
        };
        let file = locked(
            &self.directory.join(IN_USE),
            rustix::fs::FlockOperation::LockShared,
            Create::File,
        )?
        .ok_or_else(no_sysroot)?;
        if !self.exists() {
            return Err(no_sysroot());
        }
        // The mark is a convenience for `prune`; a cache on a read-only mount still builds.
        let used = self.directory.join(USED);
        if let Err(error) = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&used)
            .and_then(|marker| marker.set_modified(std::time::SystemTime::now()))
        {
            tracing::debug!(path = %used.display(), %error, "cannot mark the sysroot used");
        }
        Ok(SysrootInUse { _file: file })
    }

    /// Removes every sysroot under `cache_dir` that no build has used for `unused_for` and
    /// that nobody holds now (a build, an `add`, a `verify`): those are kept, as are sysroots
    /// used since.
    /// With `dry_run` nothing is removed. `measure` gives a directory's size on disk. Returns
    /// every sysroot directory, sorted by name, with what was done.
    pub fn prune(
        cache_dir: &Path,
        unused_for: std::time::Duration,
        dry_run: bool,
        measure: &dyn Fn(&Path) -> u64,
    ) -> Result<Vec<PrunedSysroot>, Error> {
        let root = cache_dir.join("sysroots");
        let mut names: Vec<String> = match fs::read_dir(&root) {
            Ok(entries) => entries
                .flatten()
                .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
                .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
                .collect(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(Error::Io {
                    action: "read directory",
                    path: root,
                    source,
                })
            }
        };
        names.sort();
        let mut pruned = Vec::new();
        for name in names {
            let directory = root.join(&name);
            let unused = || unused_time(&directory).unwrap_or_default();
            let mut entry = PrunedSysroot {
                size_bytes: measure(&directory),
                unused_seconds: unused().as_secs(),
                name,
                removed: false,
                kept_because: None,
            };
            if unused() < unused_for {
                entry.kept_because = Some("used recently");
                pruned.push(entry);
                continue;
            }
            // Nobody building with it, nobody changing it.
            let exclusive = |name: &str| {
                locked(
                    &directory.join(name),
                    rustix::fs::FlockOperation::NonBlockingLockExclusive,
                    Create::File,
                )
            };
            let lock = match exclusive(IN_USE)? {
                Some(in_use) => exclusive("lock")?.map(|lock| (in_use, lock)),
                None => None,
            };
            let Some(lock) = lock else {
                // Taken, or gone (removed by someone else since the listing).
                entry.kept_because = Some(if directory.exists() {
                    "in use"
                } else {
                    "removed meanwhile"
                });
                pruned.push(entry);
                continue;
            };
            // A build may have taken and left it between the first look and the lock.
            if unused() < unused_for {
                entry.kept_because = Some("used recently");
                pruned.push(entry);
                continue;
            }
            // Those waiting on the lock file find it unlinked and take the next one.
            if !dry_run {
                fs::remove_dir_all(&directory).map_err(io("remove", &directory))?;
            }
            entry.removed = true;
            pruned.push(entry);
            drop(lock);
        }
        Ok(pruned)
    }

    /// Every sysroot under `cache_dir` (not those made by an older archway until an `add`
    /// rebuilds them: they have no manifest inside the tree).
    pub fn list(cache_dir: &Path) -> Result<Vec<SysrootInfo>, Error> {
        let directory = cache_dir.join("sysroots");
        let entries = match fs::read_dir(&directory) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Io {
                    action: "read directory",
                    path: directory,
                    source,
                })
            }
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(manifest) = read_json::<Manifest>(&path.join("root").join(MANIFEST))? else {
                continue;
            };
            found.push(SysrootInfo {
                name: entry.file_name().to_string_lossy().into_owned(),
                unused_seconds: unused_time(&path).unwrap_or_default().as_secs(),
                path: path.join("root"),
                manifest,
            });
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    /// The private apt setup (created on first use), resolving against `status`.
    fn prepare_apt(&self, status: &Path) -> Result<Apt, Error> {
        let base = self.directory.join("apt");
        for sub in [
            "etc/apt/apt.conf.d",
            "etc/apt/preferences.d",
            "etc/apt/trusted.gpg.d",
            "etc/apt/sources.list.d",
            "var/lib/apt/lists/partial",
            "var/cache/apt/archives/partial",
            "var/lib/dpkg",
            "var/log/apt",
        ] {
            let path = base.join(sub);
            fs::create_dir_all(&path).map_err(io("create directory", &path))?;
        }
        let sources = format!(
            "deb [arch={arch} signed-by={KEYRING}] {mirror} {suite} main\n",
            arch = self.architecture,
            mirror = self.mirror,
            suite = self.suite,
        );
        write_file(&base.join("etc/apt/sources.list"), &sources)?;
        // `Dir` roots etc, state, cache and log in the private tree; methods stay the host's
        // (`Dir::Bin::Methods` is absolute). No recommends: a sysroot holds what builds need.
        // No `pkgcache.bin` (apt.conf(5): an empty name keeps it in memory): it depends on the
        // status file, which changes with every tree, so apt would rewrite 35 MB each time.
        let config = format!(
            "Dir \"{base}/\";\n\
             Dir::State::status \"{status}\";\n\
             Dir::Cache::pkgcache \"\";\n\
             APT::Architecture \"{arch}\";\n\
             APT::Architectures {{ \"{arch}\"; }};\n\
             APT::Install-Recommends \"false\";\n\
             APT::Install-Suggests \"false\";\n\
             APT::Get::Assume-Yes \"true\";\n\
             Acquire::Languages \"none\";\n\
             Acquire::Retries \"3\";\n",
            base = base.display(),
            status = status.display(),
            arch = self.architecture,
        );
        let config_path = self.directory.join("apt.conf");
        write_file(&config_path, &config)?;
        Ok(Apt {
            base,
            config: config_path,
            sources,
        })
    }

    /// The `APT_CONFIG` file, for running apt by hand on this sysroot (`apt-cache search`).
    pub fn apt_config(&self) -> PathBuf {
        self.directory.join("apt.conf")
    }
}

/// The next tree, removed on drop unless [`Staging::commit`]ted (an error, a full disk, a
/// panic); a kill leaves it for the next `add` to remove.
struct Staging {
    path: PathBuf,
    committed: bool,
}

impl Staging {
    fn create(path: PathBuf) -> Result<Staging, Error> {
        fs::create_dir(&path).map_err(io("create directory", &path))?;
        Ok(Staging {
            path,
            committed: false,
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the staged tree at `root` in one step: `renameat2(RENAME_EXCHANGE)` when a tree is
    /// there (Linux 3.15; the old tree is then at the staging path and removed), `rename(2)`
    /// when none is.
    fn commit(mut self, root: &Path) -> Result<(), Error> {
        let exchange = |from: &Path, to: &Path| {
            rustix::fs::renameat_with(
                rustix::fs::CWD,
                from,
                rustix::fs::CWD,
                to,
                rustix::fs::RenameFlags::EXCHANGE,
            )
        };
        if fs::symlink_metadata(root).is_ok() {
            exchange(&self.path, root).map_err(|errno| Error::Io {
                action: "exchange the staged tree with",
                path: root.to_path_buf(),
                source: errno.into(),
            })?;
        } else {
            fs::rename(&self.path, root).map_err(io("move the staged tree to", root))?;
            self.committed = true;
            return Ok(());
        }
        // The old tree is at the staging path now; the new one is in place whatever happens
        // to the removal (a later `add` removes a leftover).
        self.committed = true;
        remove_if_present(&self.path)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            if let Err(error) = fs::remove_dir_all(&self.path) {
                tracing::warn!(path = %self.path.display(), %error, "cannot remove the staged tree");
            }
        }
    }
}

/// `io("create directory", path)`: the `map_err` of a file operation.
fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

fn remove_if_present(path: &Path) -> Result<(), Error> {
    let result = match fs::symlink_metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => Err(error),
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    };
    result.map_err(io("remove", path))
}

/// A copy of the tree `from` at `to` whose files are hard links (same file system: both are in
/// the sysroot's directory). Nothing writes into a linked file afterwards: unpacking replaces
/// files by rename, relocation rewrites by rename, and the status file is copied separately.
/// The manifest and file list are left out: the new tree gets its own.
fn link_tree(from: &Path, to: &Path) -> Result<(), Error> {
    let skip: [PathBuf; 3] = [from.join(MANIFEST), from.join(FILES), from.join(STATUS)];
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((source, destination)) = stack.pop() {
        let entries = fs::read_dir(&source).map_err(io("read directory", &source))?;
        for entry in entries {
            let entry = entry.map_err(io("read directory", &source))?;
            let path = entry.path();
            let target = destination.join(entry.file_name());
            let kind = entry.file_type().map_err(io("read", &path))?;
            if kind.is_dir() {
                fs::create_dir(&target).map_err(io("create directory", &target))?;
                let permissions = entry.metadata().map_err(io("read", &path))?.permissions();
                fs::set_permissions(&target, permissions)
                    .map_err(io("set permissions", &target))?;
                stack.push((path, target));
            } else if kind.is_symlink() {
                let link = fs::read_link(&path).map_err(io("read link", &path))?;
                std::os::unix::fs::symlink(&link, &target)
                    .map_err(io("create symlink", &target))?;
            } else if !skip.contains(&path) {
                fs::hard_link(&path, &target).map_err(io("link", &target))?;
            }
        }
    }
    Ok(())
}

/// Every regular file's size and every symlink's target under `root`, keyed by the path
/// inside it (the tree's own records left out). Names that are not UTF-8 are not recorded.
fn record_files(root: &Path) -> Result<BTreeMap<String, Entry>, Error> {
    let own: [PathBuf; 4] = [
        root.join(MANIFEST),
        root.join(FILES),
        root.join(STATUS),
        root.join(RELOCATED_FROM),
    ];
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(directory) = stack.pop() {
        let entries = fs::read_dir(&directory).map_err(io("read directory", &directory))?;
        for entry in entries {
            let entry = entry.map_err(io("read directory", &directory))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io("read", &path))?;
            if kind.is_dir() {
                stack.push(path);
                continue;
            }
            let Some(name) = path
                .strip_prefix(root)
                .ok()
                .and_then(Path::to_str)
                .map(str::to_string)
            else {
                continue;
            };
            if own.contains(&path) {
                continue;
            }
            let record = if kind.is_symlink() {
                let target = fs::read_link(&path).map_err(io("read link", &path))?;
                Entry::Symlink {
                    target: target.to_string_lossy().into_owned(),
                }
            } else {
                let size = entry.metadata().map_err(io("read", &path))?.len();
                Entry::File { size }
            };
            files.insert(name, record);
        }
    }
    Ok(files)
}

/// The recorded files of `root` that are gone or differ.
fn check_files(root: &Path, files: &BTreeMap<String, Entry>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (name, expected) in files {
        let path = root.join(name);
        let found = match fs::symlink_metadata(&path) {
            Err(_) => {
                problems.push(Problem::Missing { path: name.clone() });
                continue;
            }
            Ok(meta) if meta.file_type().is_symlink() => fs::read_link(&path)
                .map(|target| Entry::Symlink {
                    target: target.to_string_lossy().into_owned(),
                })
                .ok(),
            Ok(meta) if meta.is_file() => Some(Entry::File { size: meta.len() }),
            Ok(_) => None,
        };
        if found.as_ref() != Some(expected) {
            let describe = |entry: Option<&Entry>| match entry {
                Some(Entry::File { size }) => format!("{size} bytes"),
                Some(Entry::Symlink { target }) => format!("a symlink to `{target}`"),
                None => "a directory or special file".to_string(),
            };
            problems.push(Problem::Changed {
                path: name.clone(),
                expected: describe(Some(expected)),
                found: describe(found.as_ref()),
            });
        }
    }
    problems
}

/// One paragraph of a dpkg status file, the fields [`check_status`] needs.
struct StatusEntry<'a> {
    version: &'a str,
    depends: Vec<&'a str>,
}

/// The manifest against the tree's dpkg status: the same packages at the same versions, every
/// `Depends`/`Pre-Depends` satisfied by a package or a `Provides` in the tree, and every
/// requested package present. Version constraints are not compared: apt resolved them against
/// the archive, and what this catches is a package missing altogether.
fn check_status(manifest: &Manifest, status: &str) -> Vec<Problem> {
    let mut entries: BTreeMap<&str, StatusEntry<'_>> = BTreeMap::new();
    let mut provided: BTreeSet<&str> = BTreeSet::new();
    for paragraph in status.split("\n\n") {
        let field = |name: &str| {
            paragraph.lines().find_map(|line| {
                line.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .map(str::trim)
            })
        };
        let Some(package) = field("Package") else {
            continue;
        };
        let mut depends = Vec::new();
        for relation in [field("Depends"), field("Pre-Depends")]
            .into_iter()
            .flatten()
        {
            depends.extend(relation.split(',').map(str::trim).filter(|d| !d.is_empty()));
        }
        for provide in field("Provides").into_iter().flat_map(|p| p.split(',')) {
            provided.insert(relation_name(provide));
        }
        entries.insert(
            package,
            StatusEntry {
                version: field("Version").unwrap_or_default(),
                depends,
            },
        );
    }
    let mut problems = Vec::new();
    let in_manifest: BTreeMap<&str, &str> = manifest
        .packages
        .iter()
        .map(|package| (package.name.as_str(), package.version.as_str()))
        .collect();
    let names: BTreeSet<&str> = in_manifest.keys().chain(entries.keys()).copied().collect();
    for name in names {
        let manifest_version = in_manifest.get(name).copied();
        let status_version = entries.get(name).map(|entry| entry.version);
        if manifest_version != status_version {
            problems.push(Problem::Status {
                package: name.to_string(),
                manifest: manifest_version.map(str::to_string),
                status: status_version.map(str::to_string),
            });
        }
    }
    for (package, entry) in &entries {
        for dependency in &entry.depends {
            let satisfied = dependency
                .split('|')
                .map(relation_name)
                .any(|name| entries.contains_key(name) || provided.contains(name));
            if !satisfied {
                problems.push(Problem::UnmetDependency {
                    package: package.to_string(),
                    dependency: dependency.to_string(),
                });
            }
        }
    }
    for package in &manifest.requested {
        let name = package.as_str();
        if !entries.contains_key(name) && !provided.contains(name) {
            problems.push(Problem::NotInstalled {
                package: name.to_string(),
            });
        }
    }
    problems
}

/// `libc6 (>= 2.36)` → `libc6`; `python3:any` → `python3` (deb-control(5) relation fields).
fn relation_name(relation: &str) -> &str {
    let name = relation.split_whitespace().next().unwrap_or_default();
    let name = name.split('(').next().unwrap_or_default();
    name.split(':').next().unwrap_or_default()
}

/// apt with the sysroot's private configuration.
struct Apt {
    base: PathBuf,
    config: PathBuf,
    sources: String,
}

impl Apt {
    fn archives(&self) -> PathBuf {
        self.base.join("var/cache/apt/archives")
    }

    /// No package lists yet, lists older than a day, or a changed `sources.list`.
    fn needs_update(&self) -> bool {
        let stamp = self.base.join("var/lib/apt/lists/archway-updated");
        let fresh = fs::read_to_string(&stamp)
            .ok()
            .is_some_and(|sources| sources == self.sources)
            && fs::metadata(&stamp)
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age.as_secs() < 24 * 3600);
        !fresh
    }

    /// Runs `program options... -- packages...`. The `--` ends apt's option parsing
    /// (apt-pkg's `CommandLine::Parse`), a second guard after [`PackageName`]'s own rule that
    /// no name starts with `-`.
    fn run(
        &self,
        program: &str,
        options: &[&str],
        packages: &[PackageName],
    ) -> Result<String, Error> {
        let mut args: Vec<&str> = options.to_vec();
        if !packages.is_empty() {
            args.push("--");
            args.extend(packages.iter().map(PackageName::as_str));
        }
        let command_line = format!(
            "APT_CONFIG={} {program} {}",
            self.config.display(),
            args.join(" ")
        );
        tracing::debug!(command = %command_line, "running apt");
        let output = Command::new(program)
            .args(&args)
            .env("APT_CONFIG", &self.config)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("LC_ALL", "C")
            .output()
            .map_err(|source| Error::Spawn {
                command: command_line.clone(),
                source,
            })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail = tail_lines(&stderr, 6);
            let hint = if stderr.contains("Unable to locate package") {
                Some(format!(
                    "names are the target's Debian binary packages; search them with `APT_CONFIG={} apt-cache search NAME`",
                    self.config.display()
                ))
            } else {
                None
            };
            return Err(Error::CommandFailed {
                command: command_line,
                status: output.status.to_string(),
                output: crate::error::CommandOutput(tail),
                hint,
            });
        }
        if args.first() == Some(&"update") {
            // A failed fetch of one index still exits 0 with a `W:`/`E:` line: then don't mark
            // the lists fresh, so the next `add` retries.
            let stderr = String::from_utf8_lossy(&output.stderr);
            if !stderr
                .lines()
                .any(|line| line.starts_with("E:") || line.starts_with("W: Failed"))
            {
                write_file(
                    &self.base.join("var/lib/apt/lists/archway-updated"),
                    &self.sources,
                )?;
            }
        }
        Ok(stdout)
    }
}

fn tail_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// The `.deb` file names of `apt-get install --print-uris` (`'URL' FILE SIZE HASH` lines).
fn parse_print_uris(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|line| line.starts_with('\''))
        .filter_map(|line| line.split_whitespace().nth(1))
        .filter(|file| file.ends_with(".deb"))
        .map(str::to_string)
        .collect()
}

/// Unpacks one `.deb` into `root` and appends it to the dpkg status file `status`; with
/// `strip`, its static objects lose their debug information first.
fn unpack(deb: &Path, root: &Path, status: &Path, strip: bool) -> Result<Package, Error> {
    let control = run_tool(Command::new("dpkg-deb").arg("--field").arg(deb))?;
    // Unpack beside the tree, then move into it with /lib, /bin, /sbin folded into /usr:
    // `dpkg-deb -x` would replace the tree's `lib -> usr/lib` symlink with a directory.
    let staging = root.with_file_name("unpacking");
    remove_if_present(&staging)?;
    run_tool(
        Command::new("dpkg-deb")
            .arg("--extract")
            .arg(deb)
            .arg(&staging),
    )?;
    if strip {
        strip_static_debug_info(&staging);
    }
    merge_into_merged_usr(&staging, root)?;
    remove_if_present(&staging)?;
    let field = |name: &str| {
        control
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .map(str::to_string)
    };
    let package = Package {
        name: field("Package").ok_or_else(|| Error::Malformed {
            path: deb.to_path_buf(),
            reason: "no `Package` field".to_string(),
        })?,
        version: field("Version").unwrap_or_default(),
        architecture: field("Architecture").unwrap_or_default(),
    };
    // dpkg's status format: the control paragraph with a `Status` line (`dpkg(1)`, the status
    // database); apt then counts the package as installed and its Provides as satisfied.
    let mut paragraph = String::new();
    for line in control.lines() {
        paragraph.push_str(line);
        paragraph.push('\n');
        if line.starts_with("Package: ") {
            paragraph.push_str("Status: install ok installed\n");
        }
    }
    paragraph.push('\n');
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(status)
        .map_err(|source| Error::Io {
            action: "open",
            path: status.to_path_buf(),
            source,
        })?;
    file.write_all(paragraph.as_bytes())
        .map_err(|source| Error::Io {
            action: "write",
            path: status.to_path_buf(),
            source,
        })?;
    Ok(package)
}

fn run_tool(command: &mut Command) -> Result<String, Error> {
    let command_line = format!("{command:?}").replace('"', "");
    let output = command.output().map_err(|source| Error::Spawn {
        command: command_line.clone(),
        source,
    })?;
    if !output.status.success() {
        return Err(Error::CommandFailed {
            command: command_line,
            status: output.status.to_string(),
            output: crate::error::CommandOutput(tail_lines(
                &String::from_utf8_lossy(&output.stderr),
                6,
            )),
            hint: None,
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The top-level directories a merged-/usr system keeps only as symlinks into `/usr`
/// (Debian's DEP 17; trixie packages ship their files under `/usr` already, bookworm's still
/// under `/lib` too).
const MERGED_USR: [&str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// `lib -> usr/lib` and friends: always `bin`, `sbin` and `lib` (linker scripts such as
/// `libc.so` name `/lib/<multiarch>/libc.so.6`, ELF interpreters live in `/lib`), the others
/// where `/usr` has them (`lib64` holds amd64's `ld-linux-x86-64.so.2`).
fn add_merged_usr_aliases(root: &Path) -> Result<(), Error> {
    for alias in MERGED_USR {
        let always = matches!(alias, "bin" | "sbin" | "lib");
        let target = root.join("usr").join(alias);
        let link = root.join(alias);
        if fs::symlink_metadata(&link).is_err() && (always || target.is_dir()) {
            fs::create_dir_all(&target).map_err(|source| Error::Io {
                action: "create directory",
                path: target.clone(),
                source,
            })?;
            std::os::unix::fs::symlink(Path::new("usr").join(alias), &link).map_err(|source| {
                Error::Io {
                    action: "create symlink",
                    path: link.clone(),
                    source,
                }
            })?;
        }
    }
    Ok(())
}

/// Moves an unpacked package from `staging` into the merged-/usr tree `root`.
fn merge_into_merged_usr(staging: &Path, root: &Path) -> Result<(), Error> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    };
    fs::create_dir_all(root.join("usr")).map_err(io("create directory", root))?;
    let entries = fs::read_dir(staging).map_err(io("read directory", staging))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let from = entry.path();
        let merged = MERGED_USR.iter().any(|alias| name == *alias);
        let to = if merged {
            let alias = root.join(&name);
            if fs::symlink_metadata(&alias).is_err() {
                std::os::unix::fs::symlink(Path::new("usr").join(&name), &alias)
                    .map_err(io("create symlink", &alias))?;
            }
            root.join("usr").join(&name)
        } else {
            root.join(&name)
        };
        move_tree(&from, &to)?;
    }
    Ok(())
}

/// Moves `from` to `to`, merging directories and replacing files.
fn move_tree(from: &Path, to: &Path) -> Result<(), Error> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    };
    let from_is_dir = fs::symlink_metadata(from)
        .map_err(io("read", from))?
        .is_dir();
    let to_meta = fs::symlink_metadata(to).ok();
    match to_meta {
        Some(meta) if from_is_dir && meta.is_dir() => {
            for entry in fs::read_dir(from)
                .map_err(io("read directory", from))?
                .flatten()
            {
                move_tree(&entry.path(), &to.join(entry.file_name()))?;
            }
            Ok(())
        }
        Some(meta) => {
            if meta.is_dir() {
                fs::remove_dir_all(to).map_err(io("remove", to))?;
            } else {
                fs::remove_file(to).map_err(io("remove", to))?;
            }
            fs::rename(from, to).map_err(io("move", from))
        }
        None => {
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(io("create directory", parent))?;
            }
            fs::rename(from, to).map_err(io("move", from))
        }
    }
}

/// Makes the tree at `tree` self-contained for use at `root` (where it will be once committed;
/// the same path when relocating in place): absolute symlinks relative, `.pc` and `.la` paths
/// under `root`.
pub fn relocate_tree(tree: &Path, root: &Path) -> Result<(), Error> {
    walk_tree(tree, &mut |path, kind| {
        if kind.is_symlink() {
            relativize_symlink(tree, path)
        } else {
            rewrite_metadata(
                path,
                |text| relocate_pc(text, root),
                |text| relocate_la(text, root),
            )
        }
    })
}

/// Takes `previous` (the root a restored tree was relocated to) back out of its `.pc` and `.la`
/// paths, so that [`relocate_tree`] can put the new root in front of them.
fn move_root(tree: &Path, previous: &Path) -> Result<(), Error> {
    walk_tree(tree, &mut |path, kind| {
        if kind.is_symlink() {
            return Ok(());
        }
        rewrite_metadata(
            path,
            |text| unrelocate_pc(text, previous),
            |text| unrelocate_la(text, previous),
        )
    })
}

/// Calls `visit` with every regular file and symlink below `tree` (directories are walked,
/// not visited; entries whose type cannot be read are skipped).
fn walk_tree(
    tree: &Path,
    visit: &mut dyn FnMut(&Path, fs::FileType) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut stack = vec![tree.to_path_buf()];
    while let Some(directory) = stack.pop() {
        let entries = fs::read_dir(&directory).map_err(io("read directory", &directory))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_symlink() || kind.is_file() {
                visit(&path, kind)?;
            }
        }
    }
    Ok(())
}

/// Rewrites a pkg-config `.pc` file with `pc` and a libtool `.la` file with `la`; other files
/// stay as they are.
fn rewrite_metadata(
    path: &Path,
    pc: impl Fn(&str) -> String,
    la: impl Fn(&str) -> String,
) -> Result<(), Error> {
    let name = path.file_name().map(|name| name.to_string_lossy());
    match name {
        Some(name) if name.ends_with(".pc") => rewrite_file(path, pc),
        Some(name) if name.ends_with(".la") => rewrite_file(path, la),
        _ => Ok(()),
    }
}

/// `/old/root/usr/lib` → `/usr/lib`; other paths unchanged (`/old/rootx` is not under it).
fn strip_root<'a>(path: &'a str, root: &str) -> &'a str {
    match path.strip_prefix(root) {
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

/// The inverse of [`relocate_pc`]: `prefix=<root>/usr` → `prefix=/usr`.
fn unrelocate_pc(text: &str, root: &Path) -> String {
    let root_text = root.display().to_string();
    map_pc_variables(text, |value| {
        Some(strip_root(value, &root_text).to_string())
    })
}

/// A `.pc` file with each variable's value (`name=value` lines; not `Name: value` keywords)
/// replaced by what `change` makes of it; `None` keeps the line as it is.
fn map_pc_variables(text: &str, change: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let variable = line.split_once('=').filter(|(name, _)| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        });
        match variable.and_then(|(name, value)| Some((name, change(value)?))) {
            Some((name, value)) => {
                out.push_str(name);
                out.push('=');
                out.push_str(&value);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// The inverse of [`relocate_la`], for `libdir` and `dependency_libs`.
fn unrelocate_la(text: &str, root: &Path) -> String {
    let root_text = root.display().to_string();
    let unrelocate = |word: &str| -> String {
        match word.strip_prefix("-L") {
            Some(path) => format!("-L{}", strip_root(path, &root_text)),
            None => strip_root(word, &root_text).to_string(),
        }
    };
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let rewritten = ["libdir='", "dependency_libs='"].iter().find_map(|key| {
            let value = line.strip_prefix(key)?;
            let (inner, rest) = value.split_once('\'')?;
            let words: Vec<String> = inner.split_whitespace().map(unrelocate).collect();
            Some(format!("{key}{}'{rest}", words.join(" ")))
        });
        out.push_str(rewritten.as_deref().unwrap_or(line));
    }
    out
}

/// `root/usr/lib/x/libz.so -> /lib/x/libz.so.1` becomes `-> ../../../lib/x/libz.so.1`.
fn relativize_symlink(root: &Path, link: &Path) -> Result<(), Error> {
    let Ok(target) = fs::read_link(link) else {
        return Ok(());
    };
    let Ok(inside) = target.strip_prefix("/") else {
        return Ok(());
    };
    let depth = link
        .parent()
        .and_then(|parent| parent.strip_prefix(root).ok())
        .map(|relative| relative.components().count())
        .unwrap_or(0);
    let mut relative = PathBuf::new();
    for _ in 0..depth {
        relative.push("..");
    }
    relative.push(inside);
    let io = |source| Error::Io {
        action: "relink",
        path: link.to_path_buf(),
        source,
    };
    fs::remove_file(link).map_err(io)?;
    std::os::unix::fs::symlink(&relative, link).map_err(io)
}

/// The host's Debian/Ubuntu codename (`VERSION_CODENAME` in `/etc/os-release`).
fn host_codename() -> Option<String> {
    let text = fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("VERSION_CODENAME="))
        .map(|value| value.trim_matches('"').to_string())
}

/// Removes debug information from the static objects and archives of a tree from a newer
/// suite than the host's. Their DWARF 5 can carry relocations the host's older linkers do not
/// know (trixie's riscv64 objects use `R_RISCV_SET_ULEB128`/`R_RISCV_SUB_ULEB128`, relocation
/// types 60 and 61, from binutils 2.41; bookworm's ld 2.40 and lld 14 reject them), and static
/// linking never needs them. `llvm-objcopy` handles every architecture; without it the tree
/// stays as Debian ships it. Runs on one unpacked package before it joins the tree, so files
/// linked from the previous tree are never rewritten.
fn strip_static_debug_info(root: &Path) {
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    let Some(objcopy) = crate::find_program(&search_path, "llvm-objcopy") else {
        tracing::warn!("llvm-objcopy not found: static libraries keep their debug information");
        return;
    };
    let mut stack = vec![root.join("usr/lib"), root.join("lib")];
    while let Some(directory) = stack.pop() {
        let Ok(entries) = fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && (name.ends_with(".o") || name.ends_with(".a")) {
                let status = Command::new(&objcopy)
                    .arg("--strip-debug")
                    .arg(&path)
                    .status();
                if !status.is_ok_and(|status| status.success()) {
                    tracing::warn!(path = %path.display(), "could not strip debug information");
                }
            }
        }
    }
}

fn rewrite_file(path: &Path, change: impl Fn(&str) -> String) -> Result<(), Error> {
    let Ok(text) = fs::read_to_string(path) else {
        return Ok(()); // not UTF-8: not a file we know how to fix
    };
    let changed = change(&text);
    if changed != text {
        write_file(path, &changed)?;
    }
    Ok(())
}

/// `prefix=/usr` → `prefix=<root>/usr` (every variable holding an absolute path).
fn relocate_pc(text: &str, root: &Path) -> String {
    let root_text = root.display().to_string();
    map_pc_variables(text, |value| {
        (value.starts_with('/') && !value.starts_with(&root_text))
            .then(|| format!("{root_text}{value}"))
    })
}

/// libtool archives: absolute paths in `libdir` and `dependency_libs` moved inside the root.
fn relocate_la(text: &str, root: &Path) -> String {
    let root_text = root.display().to_string();
    let relocate = |word: &str| -> String {
        let (flag, path) = match word.strip_prefix("-L") {
            Some(path) => ("-L", path),
            None => ("", word),
        };
        if path.starts_with('/') && !path.starts_with(&root_text) {
            format!("{flag}{root_text}{path}")
        } else {
            word.to_string()
        }
    };
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let rewritten = ["libdir='", "dependency_libs='"].iter().find_map(|key| {
            let value = line.strip_prefix(key)?;
            let (inner, rest) = value.split_once('\'')?;
            let words: Vec<String> = inner.split_whitespace().map(relocate).collect();
            Some(format!("{key}{}'{rest}", words.join(" ")))
        });
        out.push_str(rewritten.as_deref().unwrap_or(line));
    }
    out
}

fn write_file(path: &Path, contents: &str) -> Result<(), Error> {
    let mut temporary = OsString::from(path.as_os_str());
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    fs::write(&temporary, contents)
        .and_then(|()| fs::rename(&temporary, path))
        .map_err(|source| Error::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
}

/// The JSON file at `path`, `None` when there is none.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, Error> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|error| Error::Malformed {
            path: path.to_path_buf(),
            reason: error.to_string(),
        })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value).map_err(|error| Error::Malformed {
        path: path.to_path_buf(),
        reason: error.to_string(),
    })?;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io("create directory", parent))?;
    }
    write_file(path, &(text + "\n"))
}

/// An exclusive `flock(2)` on a file, released on drop (also when the process dies).
struct Lock {
    _file: fs::File,
}

impl Lock {
    /// Waits for the exclusive lock at `path`, making the file (and its directory) when a
    /// removal took them.
    fn acquire(path: &Path) -> Result<Lock, Error> {
        let file = locked(
            path,
            rustix::fs::FlockOperation::LockExclusive,
            Create::FileAndDirectory,
        )?
        .ok_or_else(|| Error::Io {
            action: "lock",
            path: path.to_path_buf(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        Ok(Lock { _file: file })
    }
}

/// What [`locked`] makes when the lock file is not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Create {
    /// The file, in its directory if that still exists (else `None`).
    File,
    /// The file and its directory.
    FileAndDirectory,
}

/// The lock file at `path` with `operation` taken on it, once the file locked is still the one
/// at `path`: a sysroot's locks live in its directory, so a removal (`sysroot remove`, `prune`)
/// unlinks them while others wait on them, and a lock on an unlinked file would lock nothing.
/// `None` when the file is gone (and not to be made), or (non-blocking) when it is taken.
fn locked(
    path: &Path,
    operation: rustix::fs::FlockOperation,
    create: Create,
) -> Result<Option<fs::File>, Error> {
    use std::os::unix::fs::MetadataExt as _;
    let io = |action: &'static str| {
        move |source: std::io::Error| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    loop {
        if create == Create::FileAndDirectory {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(io("create directory"))?;
            }
        }
        let file = match fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
        {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if create == Create::FileAndDirectory {
                    continue;
                }
                return Ok(None);
            }
            Err(error) => return Err(io("open")(error)),
        };
        match rustix::fs::flock(&file, operation) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
            Err(errno) => return Err(io("lock")(errno.into())),
        }
        let held = file.metadata().map_err(io("stat"))?;
        match fs::metadata(path) {
            Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => return Ok(Some(file)),
            Ok(_) => continue,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if create != Create::FileAndDirectory {
                    return Ok(None);
                }
            }
            Err(error) => return Err(io("stat")(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_platform::testing::Notes;

    #[test]
    fn print_uris_lines_give_deb_file_names() {
        let output = "'http://deb.debian.org/debian/pool/main/z/zlib/zlib1g_1%3a1.2.13.dfsg-1_arm64.deb' zlib1g_1%3a1.2.13.dfsg-1_arm64.deb 82744 MD5Sum:6b\n\
                      W: something\n";
        assert_eq!(
            parse_print_uris(output),
            vec!["zlib1g_1%3a1.2.13.dfsg-1_arm64.deb"]
        );
        assert!(parse_print_uris("").is_empty());
    }

    fn manifest(requested: &[&str], packages: &[(&str, &str)]) -> Manifest {
        Manifest {
            suite: Suite::Bookworm,
            architecture: "arm64".to_string(),
            mirror: DEFAULT_MIRROR.to_string(),
            requested: requested
                .iter()
                .map(|name| name.parse().expect("valid test name"))
                .collect(),
            packages: packages
                .iter()
                .map(|(name, version)| Package {
                    name: name.to_string(),
                    version: version.to_string(),
                    architecture: "arm64".to_string(),
                })
                .collect(),
        }
    }

    const STATUS_TEXT: &str = "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nDepends: libgcc-s1\nDescription: x\n continued\n\n\
Package: libgcc-s1\nStatus: install ok installed\nVersion: 12.2.0-14\nProvides: libgcc1 (= 1:12.2.0-14)\n\n\
Package: zlib1g-dev\nStatus: install ok installed\nVersion: 1:1.2.13\nDepends: libc6 (>= 2.34), libgcc1 | foo, debconf (>= 0.5) | debconf-2.0:any\n\n";

    #[test]
    fn status_agreeing_with_the_manifest_has_no_problems_but_each_disagreement_is_one() {
        let packages = [
            ("libc6", "2.36-9"),
            ("libgcc-s1", "12.2.0-14"),
            ("zlib1g-dev", "1:1.2.13"),
        ];
        let complete = STATUS_TEXT.replace(", debconf (>= 0.5) | debconf-2.0:any", "");
        assert_eq!(
            check_status(&manifest(&["zlib1g-dev"], &packages), &complete),
            vec![]
        );
        let problems = check_status(
            &manifest(&["zlib1g-dev", "libpng-dev"], &packages[..2]),
            STATUS_TEXT,
        );
        assert_eq!(
            problems,
            vec![
                Problem::Status {
                    package: "zlib1g-dev".to_string(),
                    manifest: None,
                    status: Some("1:1.2.13".to_string()),
                },
                Problem::UnmetDependency {
                    package: "zlib1g-dev".to_string(),
                    dependency: "debconf (>= 0.5) | debconf-2.0:any".to_string(),
                },
                Problem::NotInstalled {
                    package: "libpng-dev".to_string(),
                },
            ]
        );
    }

    #[test]
    fn a_linked_copy_shares_files_and_verification_sees_changes() {
        let temporary = tempfile::tempdir().expect("temp dir");
        let from = temporary.path().join("root");
        fs::create_dir_all(from.join("usr/include")).expect("mkdir");
        fs::create_dir_all(from.join("var/lib/dpkg")).expect("mkdir");
        fs::write(from.join("usr/include/zlib.h"), "int z;\n").expect("write");
        fs::write(from.join(STATUS), "Package: x\n").expect("write");
        std::os::unix::fs::symlink("usr/lib", from.join("lib")).expect("symlink");
        let to = temporary.path().join("staging");
        fs::create_dir(&to).expect("mkdir");
        link_tree(&from, &to).expect("link");
        assert!(
            !to.join(STATUS).exists(),
            "the status is copied, never linked"
        );
        assert_eq!(
            fs::read_link(to.join("lib")).expect("link"),
            Path::new("usr/lib")
        );
        use std::os::unix::fs::MetadataExt as _;
        let inode = |path: &Path| fs::metadata(path).expect("stat").ino();
        assert_eq!(
            inode(&from.join("usr/include/zlib.h")),
            inode(&to.join("usr/include/zlib.h"))
        );
        let files = record_files(&to).expect("record");
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(check_files(&to, &files).is_empty());
        fs::write(to.join("usr/include/zlib.h"), "int zz;\n").expect("write");
        fs::remove_file(to.join("lib")).expect("remove");
        assert_eq!(
            check_files(&to, &files),
            vec![
                Problem::Missing {
                    path: "lib".to_string()
                },
                Problem::Changed {
                    path: "usr/include/zlib.h".to_string(),
                    expected: "7 bytes".to_string(),
                    found: "8 bytes".to_string(),
                },
            ]
        );
    }

    /// A shared cache in a directory: entries are copies of trees (`cp -a`).
    #[derive(Debug)]
    struct DirectoryUpstream(PathBuf);

    impl SysrootUpstream for DirectoryUpstream {
        fn restore(&self, name: &str, into: &Path) -> Result<Option<String>, String> {
            let entry = self.0.join(name);
            if !entry.exists() {
                return Ok(None);
            }
            let status = Command::new("cp")
                .arg("-a")
                .arg(&entry)
                .arg(into)
                .status()
                .map_err(|error| error.to_string())?;
            if !status.success() {
                return Err(format!("cp failed: {status}"));
            }
            Ok(Some("a directory".to_string()))
        }

        fn offer(&self, name: &str, directory: &Path) -> Result<(), String> {
            let status = Command::new("cp")
                .arg("-a")
                .arg(directory)
                .arg(self.0.join(name))
                .status()
                .map_err(|error| error.to_string())?;
            status
                .success()
                .then_some(())
                .ok_or_else(|| format!("cp failed: {status}"))
        }
    }

    /// The arm64 bookworm sysroot under `cache`, with a mirror nothing listens on: an apt run
    /// cannot fill it.
    fn unreachable_sysroot(cache: &Path) -> Sysroot {
        let target = Platform::parse("aarch64-multiplatform").expect("aarch64");
        Sysroot::open_with(cache, &target, Suite::Bookworm, "http://127.0.0.1:9/debian")
            .expect("open")
    }

    /// A tree as `add` leaves it, with libc6-dev and zlib1g-dev (no dependencies) and a `.pc`
    /// and a `.la` file, without apt.
    fn fill_by_hand(sysroot: &Sysroot) {
        let root = sysroot.path();
        let lib = root.join("usr/lib/aarch64-linux-gnu");
        fs::create_dir_all(lib.join("pkgconfig")).expect("mkdir");
        fs::create_dir_all(root.join("var/lib/dpkg")).expect("mkdir");
        fs::create_dir_all(root.join("var/lib/archway")).expect("mkdir");
        fs::write(
            lib.join("pkgconfig/zlib.pc"),
            "prefix=/usr\nlibdir=${prefix}/lib/aarch64-linux-gnu\nLibs: -L${libdir} -lz\n",
        )
        .expect("write");
        fs::write(
            lib.join("libz.la"),
            "libdir='/usr/lib/aarch64-linux-gnu'\ndependency_libs=' -L/usr/lib/aarch64-linux-gnu -lm'\n",
        )
        .expect("write");
        fs::write(lib.join("libz.so.1"), "ELF").expect("write");
        std::os::unix::fs::symlink("/usr/lib/aarch64-linux-gnu/libz.so.1", lib.join("libz.so"))
            .expect("symlink");
        fs::write(
            root.join(STATUS),
            "Package: libc6-dev\nVersion: 2.36-9\n\nPackage: zlib1g-dev\nVersion: 1:1.2.13\n",
        )
        .expect("write");
        relocate_tree(&root, &root).expect("relocate");
        let mut manifest = sysroot.manifest_template();
        manifest.requested = vec![
            "libc6-dev".parse().expect("name"),
            "zlib1g-dev".parse().expect("name"),
        ];
        for (name, version) in [("libc6-dev", "2.36-9"), ("zlib1g-dev", "1:1.2.13")] {
            manifest.packages.push(Package {
                name: name.to_string(),
                version: version.to_string(),
                architecture: "arm64".to_string(),
            });
        }
        write_json(&root.join(MANIFEST), &manifest).expect("manifest");
        write_json(&root.join(FILES), &record_files(&root).expect("record")).expect("files");
        write_file(&root.join(RELOCATED_FROM), &root.display().to_string()).expect("write");
    }

    /// Sets the times `prune` reads (the `used` mark's and the manifest's) `days` back.
    fn age(sysroot: &Sysroot, days: u64) {
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(days * 86_400);
        for path in [
            sysroot.directory().join(USED),
            sysroot.path().join(MANIFEST),
        ] {
            let file = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .expect("open");
            file.set_modified(then).expect("set mtime");
        }
    }

    fn prune_all(cache: &Path, dry_run: bool) -> Vec<(String, bool, Option<&'static str>)> {
        let month = std::time::Duration::from_secs(30 * 86_400);
        Sysroot::prune(cache, month, dry_run, &|_| 7)
            .expect("prune")
            .into_iter()
            .map(|entry| (entry.name, entry.removed, entry.kept_because))
            .collect()
    }

    #[test]
    fn prune_removes_what_no_build_used_and_keeps_what_one_holds_or_used_recently() {
        let cache = tempfile::tempdir().expect("tempdir");
        let old = unreachable_sysroot(cache.path());
        fill_by_hand(&old);
        age(&old, 45);
        let target = Platform::parse("riscv64").expect("riscv64");
        let recent =
            Sysroot::open_with(cache.path(), &target, Suite::Trixie, DEFAULT_MIRROR).expect("open");
        fill_by_hand(&recent);
        age(&recent, 3);
        assert_eq!(
            Sysroot::list(cache.path())
                .expect("list")
                .iter()
                .map(|info| (info.name.as_str(), info.unused_seconds / 86_400))
                .collect::<Vec<_>>(),
            [("bookworm-arm64", 45), ("trixie-riscv64", 3)]
        );

        // Held by a build: kept, however old (the hold marks it used: age it again).
        let in_use = old.hold().expect("hold");
        age(&old, 45);
        assert_eq!(
            prune_all(cache.path(), false),
            [
                ("bookworm-arm64".to_string(), false, Some("in use")),
                ("trixie-riscv64".to_string(), false, Some("used recently")),
            ]
        );
        drop(in_use);

        // A dry run says what would go and leaves it.
        assert_eq!(
            prune_all(cache.path(), true)[0],
            ("bookworm-arm64".to_string(), true, None)
        );
        assert!(old.exists());
        let pruned = Sysroot::prune(
            cache.path(),
            std::time::Duration::from_secs(30 * 86_400),
            false,
            &|path| u64::from(path.ends_with("bookworm-arm64")) * 7,
        )
        .expect("prune");
        assert_eq!(
            (
                pruned[0].removed,
                pruned[0].size_bytes,
                pruned[0].unused_seconds / 86_400
            ),
            (true, 7, 45)
        );
        assert!(!old.directory().exists());
        assert!(recent.exists());
        assert!(matches!(old.hold(), Err(Error::NoSysroot { .. })));
    }

    #[test]
    fn a_removal_waits_for_the_builds_holding_the_sysroot_and_an_add_does_not() {
        let cache = tempfile::tempdir().expect("tempdir");
        let sysroot = unreachable_sysroot(cache.path());
        fill_by_hand(&sysroot);
        let held = sysroot.hold().expect("hold");
        let add = locked(
            &sysroot.directory().join("lock"),
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
            Create::File,
        )
        .expect("lock");
        assert!(add.is_some(), "an add goes on beside a build");
        drop(add);
        let removal = {
            let cache = cache.path().to_path_buf();
            std::thread::spawn(move || unreachable_sysroot(&cache).remove())
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!removal.is_finished(), "the removal waits for the build");
        assert!(sysroot.exists());
        drop(held);
        removal.join().expect("thread").expect("removed");
        assert!(!sysroot.directory().exists());
        assert!(matches!(sysroot.hold(), Err(Error::NoSysroot { .. })));
    }

    #[test]
    fn lockers_waiting_on_a_removal_lock_anew_not_the_unlinked_files() {
        let cache = tempfile::tempdir().expect("tempdir");
        let sysroot = unreachable_sysroot(cache.path());
        fill_by_hand(&sysroot);
        let in_use = sysroot.directory().join(IN_USE);
        let exclusive = |path: &Path| {
            locked(
                path,
                rustix::fs::FlockOperation::LockExclusive,
                Create::File,
            )
            .expect("lock")
            .expect("there")
        };

        // A hold waiting on a removal finds the sysroot gone.
        let removal = exclusive(&in_use);
        let waiting = {
            let cache = cache.path().to_path_buf();
            std::thread::spawn(move || unreachable_sysroot(&cache).hold().map(|_| ()))
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!waiting.is_finished(), "a hold waits for the removal");
        fs::remove_dir_all(sysroot.directory()).expect("remove");
        drop(removal);
        assert!(matches!(
            waiting.join().expect("thread"),
            Err(Error::NoSysroot { .. })
        ));

        // An `add` waiting on a removal locks a new lock file, not the unlinked one: another
        // add conflicts with it.
        fill_by_hand(&sysroot);
        let removal = Lock::acquire(&sysroot.directory().join("lock")).expect("lock");
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let adding = {
            let lock = sysroot.directory().join("lock");
            std::thread::spawn(move || {
                let lock = Lock::acquire(&lock).expect("lock");
                locked_tx.send(()).expect("send");
                release_rx.recv().ok();
                drop(lock);
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        fs::remove_dir_all(sysroot.directory()).expect("remove");
        drop(removal);
        locked_rx.recv().expect("the waiting add took the lock");
        let other = locked(
            &sysroot.directory().join("lock"),
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
            Create::File,
        )
        .expect("lock");
        assert!(
            other.is_none(),
            "the add holds the lock file now at the path"
        );
        release_tx.send(()).expect("send");
        adding.join().expect("thread");
        fill_by_hand(&sysroot);
        sysroot.hold().expect("held once free");
    }

    #[test]
    fn upstream_names_key_the_sorted_package_set() {
        let names = |list: &[&str]| -> Vec<PackageName> {
            list.iter()
                .map(|name| name.parse().expect("name"))
                .collect()
        };
        let one = upstream_name(
            Suite::Bookworm,
            "arm64",
            &names(&["zlib1g-dev", "libc6-dev"]),
        );
        assert_eq!(
            one,
            upstream_name(
                Suite::Bookworm,
                "arm64",
                &names(&["libc6-dev", "zlib1g-dev"])
            )
        );
        let hex = one.strip_prefix("sysroot-bookworm-arm64-").expect("prefix");
        assert_eq!(hex.len(), 12);
        assert!(hex
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(
            one,
            upstream_name(Suite::Bookworm, "arm64", &names(&["libc6-dev"]))
        );
        assert_ne!(
            one,
            upstream_name(Suite::Trixie, "arm64", &names(&["zlib1g-dev", "libc6-dev"]))
        );
    }

    #[test]
    fn a_sysroot_restored_into_another_cache_points_into_it_and_verifies_without_apt() {
        let temporary = tempfile::tempdir().expect("temp dir");
        let first = unreachable_sysroot(&temporary.path().join("cache-a"));
        fill_by_hand(&first);
        assert_eq!(first.verify().expect("verify").problems, vec![]);
        let shared = temporary.path().join("shared");
        fs::create_dir(&shared).expect("mkdir");
        let upstream = DirectoryUpstream(shared.clone());
        let wanted: Vec<PackageName> = vec![
            "libc6-dev".parse().expect("name"),
            "zlib1g-dev".parse().expect("name"),
        ];
        let name = upstream_name(Suite::Bookworm, "arm64", &wanted);
        upstream.offer(&name, &first.path()).expect("offer");

        let second = unreachable_sysroot(&temporary.path().join("cache-b"))
            .with_upstream(Some(Arc::new(DirectoryUpstream(shared))));
        let notes = Notes::default();
        let outcome = second.add(&["zlib1g-dev"], &notes).expect("restored");
        assert_eq!(outcome.restored.as_deref(), Some("a directory"));
        assert!(outcome.unpacked.is_empty());
        assert_eq!(notes.all().len(), 0);
        assert!(
            !second.directory().join("apt").exists(),
            "apt never ran (its private state is made on first use)"
        );
        let root = second.path();
        let root_text = root.display().to_string();
        let lib = root.join("usr/lib/aarch64-linux-gnu");
        let pc = fs::read_to_string(lib.join("pkgconfig/zlib.pc")).expect("read");
        assert!(pc.starts_with(&format!("prefix={root_text}/usr\n")), "{pc}");
        assert!(!pc.contains(&first.path().display().to_string()), "{pc}");
        let la = fs::read_to_string(lib.join("libz.la")).expect("read");
        assert_eq!(
            la,
            format!(
                "libdir='{root_text}/usr/lib/aarch64-linux-gnu'\ndependency_libs='-L{root_text}/usr/lib/aarch64-linux-gnu -lm'\n"
            )
        );
        assert_eq!(
            fs::read_to_string(root.join(RELOCATED_FROM)).expect("read"),
            root_text
        );
        assert!(lib.join("libz.so").exists(), "relative symlinks resolve");
        let verification = second.verify().expect("verify");
        assert_eq!(verification.problems, vec![]);
        assert_eq!(verification.packages, 2);
        assert!(!second.staging().exists());
        // Everything is there now: no restore, no apt.
        assert_eq!(
            second.add(&["zlib1g-dev"], &notes).expect("add"),
            AddOutcome::default()
        );
    }

    #[test]
    fn an_entry_without_its_recorded_root_is_refused_and_leaves_nothing() {
        let temporary = tempfile::tempdir().expect("temp dir");
        let first = unreachable_sysroot(&temporary.path().join("cache-a"));
        fill_by_hand(&first);
        fs::remove_file(first.path().join(RELOCATED_FROM)).expect("remove");
        let shared = temporary.path().join("shared");
        fs::create_dir(&shared).expect("mkdir");
        let upstream = DirectoryUpstream(shared);
        let wanted: Vec<PackageName> = vec!["libc6-dev".parse().expect("name")];
        let name = upstream_name(Suite::Bookworm, "arm64", &wanted);
        upstream.offer(&name, &first.path()).expect("offer");
        let second = unreachable_sysroot(&temporary.path().join("cache-b"));
        fs::create_dir_all(second.directory()).expect("mkdir");
        let refused = second
            .restore(&upstream, &name, &wanted)
            .expect_err("refused");
        assert!(refused.contains("relocated-from"), "{refused}");
        assert!(!second.path().exists());
        assert!(!second.staging().exists());
        // An absent entry is no error.
        assert_eq!(
            second.restore(&upstream, "sysroot-bookworm-arm64-000000000000", &wanted),
            Ok(None)
        );
    }

    #[test]
    fn pc_variables_with_absolute_paths_move_inside_the_root_once() {
        let root = Path::new("/cache/root");
        let pc = "prefix=/usr\nexec_prefix=${prefix}\nlibdir=${prefix}/lib/aarch64-linux-gnu\n\nName: zlib\nLibs: -L${libdir} -lz\n";
        let relocated = relocate_pc(pc, root);
        assert!(relocated.starts_with("prefix=/cache/root/usr\nexec_prefix=${prefix}\n"));
        assert!(relocated.contains("Libs: -L${libdir} -lz\n"));
        assert_eq!(relocate_pc(&relocated, root), relocated, "idempotent");
        assert_eq!(unrelocate_pc(&relocated, root), pc, "the inverse");
    }

    #[test]
    fn la_files_keep_their_libraries_inside_the_root() {
        let root = Path::new("/r");
        let la = "dlname='libfoo.so.1'\nlibdir='/usr/lib/x'\ndependency_libs=' -L/usr/lib/x /usr/lib/x/libbar.la -lm'\n";
        let relocated = relocate_la(la, root);
        assert_eq!(
            relocated,
            "dlname='libfoo.so.1'\nlibdir='/r/usr/lib/x'\ndependency_libs='-L/r/usr/lib/x /r/usr/lib/x/libbar.la -lm'\n"
        );
        assert_eq!(relocate_la(&relocated, root), relocated);
    }

    #[test]
    fn absolute_symlinks_become_relative_inside_the_root() {
        let temporary = tempfile::tempdir().expect("temp dir");
        let root = temporary.path();
        fs::create_dir_all(root.join("usr/lib/x")).expect("mkdir");
        fs::create_dir_all(root.join("lib/x")).expect("mkdir");
        fs::write(root.join("lib/x/libz.so.1"), "").expect("write");
        std::os::unix::fs::symlink("/lib/x/libz.so.1", root.join("usr/lib/x/libz.so"))
            .expect("symlink");
        std::os::unix::fs::symlink("libz.so.1", root.join("lib/x/libz.so")).expect("symlink");
        relocate_tree(root, root).expect("relocate");
        assert_eq!(
            fs::read_link(root.join("usr/lib/x/libz.so")).expect("link"),
            Path::new("../../../lib/x/libz.so.1")
        );
        assert!(
            root.join("usr/lib/x/libz.so").exists(),
            "resolves inside the root"
        );
        assert_eq!(
            fs::read_link(root.join("lib/x/libz.so")).expect("link"),
            Path::new("libz.so.1")
        );
    }
}
