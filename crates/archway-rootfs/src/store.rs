//! The cache of root filesystems under the cache directory.
//!
//! Layout of `<cache>/rootfs/`:
//! ```text
//! arm64-bookworm/                 a complete root filesystem (only ever appears by rename)
//!     root/                       the tree
//!     rootfs.json                 its Metadata: key, creation time and duration, how it was made
//!     manifest.json               packages, counts and a sample of files (manifest.rs)
//!     files.json                  every entry of the tree with its size, kind or target
//! arm64-bookworm.lock             flock(2): exclusive for whoever creates or removes that key,
//!                                 shared for every build using it ([`InUse`]); its mtime is
//!                                 when a build last took it ([`Store::prune`] reads it)
//! .partial-arm64-bookworm-1234/   a creation in progress (pid 1234); stale once the lock is free
//! ```
//! A directory without the `.partial-` prefix is complete by construction: creation writes the
//! tree, its manifest and the metadata into the partial directory and renames it as the very
//! last step. An entry that fails the quick check ([`manifest::quick_check`]: its structure and a
//! sample of its files) is treated as absent, so the next creation replaces it.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::{manifest, tree, Error, RootfsKey};

pub(crate) const METADATA_FILE: &str = "rootfs.json";
const PARTIAL_PREFIX: &str = ".partial-";

/// What is recorded next to each root filesystem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub key: RootfsKey,
    /// Seconds since the Unix epoch when creation finished.
    pub created_unix: u64,
    /// How long creation took.
    pub creation_seconds: f64,
    /// How it was made (`mmdebstrap 1.3.5`, `copy of arm64-bookworm + apt-get install`).
    pub made_by: String,
}

/// A complete root filesystem in the cache.
#[derive(Debug, Clone)]
pub struct Rootfs {
    pub metadata: Metadata,
    /// `<cache>/rootfs/<name>`.
    pub directory: PathBuf,
}

impl Rootfs {
    pub fn key(&self) -> &RootfsKey {
        &self.metadata.key
    }
    /// The root of the tree (what becomes `/` in the sandbox).
    pub fn tree(&self) -> PathBuf {
        self.directory.join("root")
    }
}

/// One line of `archway rootfs list`.
#[derive(Debug, Clone, Serialize)]
pub struct RootfsInfo {
    pub key: RootfsKey,
    pub name: String,
    pub path: PathBuf,
    pub size_bytes: u64,
    pub created_unix: u64,
    pub age_seconds: u64,
    /// How long creation took.
    pub creation_seconds: f64,
    pub made_by: String,
}

/// The root filesystem cache, rooted at `<cache dir>/rootfs` (the cache directory is injected).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// An exclusive lock on one key; released on drop (closing the file releases the flock).
#[derive(Debug)]
pub struct KeyLock {
    _file: File,
}

/// A shared lock on one cache entry (a root filesystem, a native prefix or a hybrid view),
/// held while a build uses it: a removal waits for it, [`Store::prune`] leaves the entry
/// alone. Released on drop.
#[derive(Debug)]
pub struct InUse {
    _file: File,
}

/// What [`Store::prune`] did with one cache entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// The cache directory name (`arm64-bookworm-0123abcd4567`, `hybrid-…`, `prefix-…`).
    pub name: String,
    pub size_bytes: u64,
    /// Seconds since a build last used it (or since it was made, when none has).
    pub unused_seconds: u64,
    /// Removed (or would be, with `dry_run`); `false`: kept, see `kept_because`.
    pub removed: bool,
    /// Why it stays: `in use` (a build or a creation holds it) or `used recently`.
    pub kept_because: Option<&'static str>,
}

impl Store {
    /// The store inside `cache_dir` (e.g. `archway::cache::cache_dir()`).
    pub fn new(cache_dir: &Path) -> Store {
        Store {
            root: cache_dir.join("rootfs"),
        }
    }

    /// `<cache dir>/rootfs`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the root filesystem for `key` lives once complete.
    pub fn directory_of(&self, key: &RootfsKey) -> PathBuf {
        self.root.join(key.directory_name())
    }

    /// The complete root filesystem for `key`, if cached.
    /// One that fails the quick check ([`manifest::quick_check`]) is not returned: the next
    /// [`Store::ensure`] rebuilds it.
    pub fn get(&self, key: &RootfsKey) -> Result<Option<Rootfs>, Error> {
        let name = key.directory_name();
        Ok(self
            .read_usable_metadata::<Metadata>(&name, METADATA_FILE)?
            .map(|metadata| Rootfs {
                metadata,
                directory: self.root.join(&name),
            }))
    }

    /// [`Store::get`], or [`Error::NotFound`] with the command that creates it.
    pub fn require(&self, key: &RootfsKey) -> Result<Rootfs, Error> {
        self.get(key)?.ok_or_else(|| not_found(key))
    }

    /// Every complete root filesystem, sorted by key. Stale partial creations are removed on
    /// the way (their creator is gone).
    pub fn list(&self) -> Result<Vec<RootfsInfo>, Error> {
        self.clean_stale()?;
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(Error::io("read", &self.root)(error)),
        };
        let now = unix_now();
        let mut infos = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with('.') || !path.is_dir() {
                continue;
            }
            let metadata_path = path.join(METADATA_FILE);
            let Ok(text) = fs::read_to_string(&metadata_path) else {
                continue;
            };
            let metadata: Metadata =
                serde_json::from_str(&text).map_err(|source| Error::Metadata {
                    path: metadata_path,
                    source,
                })?;
            infos.push(RootfsInfo {
                size_bytes: tree::disk_usage(&path),
                age_seconds: now.saturating_sub(metadata.created_unix),
                created_unix: metadata.created_unix,
                creation_seconds: metadata.creation_seconds,
                made_by: metadata.made_by,
                key: metadata.key,
                name,
                path,
            });
        }
        infos.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(infos)
    }

    /// Removes the root filesystem for `key`; `false` when there was none.
    pub fn remove(&self, key: &RootfsKey) -> Result<bool, Error> {
        // Renamed first so that a reader never sees a half-deleted tree under the real name.
        self.remove_named(&key.directory_name())
    }

    /// Takes the exclusive lock for `key`, waiting for another creator or remover.
    pub fn lock(&self, key: &RootfsKey) -> Result<KeyLock, Error> {
        self.lock_named(&key.directory_name())
    }

    /// Takes the exclusive lock of the cache entry `name` (a root filesystem, a native prefix
    /// or a hybrid view: all share one naming and locking scheme).
    pub(crate) fn lock_named(&self, name: &str) -> Result<KeyLock, Error> {
        let file = self.open_lock(name)?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).map_err(|errno| {
            Error::Io {
                action: "lock",
                path: self.lock_path(name),
                source: errno.into(),
            }
        })?;
        Ok(KeyLock { _file: file })
    }

    /// Takes the shared lock of the cache entry at `directory` (one of this store's) for as
    /// long as the returned [`InUse`] lives, and marks the entry used now. Waits while the
    /// entry is being created or removed.
    pub fn hold(&self, directory: &Path) -> Result<InUse, Error> {
        let name = directory
            .file_name()
            .and_then(|name| name.to_str())
            .filter(|_| directory.parent() == Some(self.root.as_path()))
            .ok_or_else(|| Error::Io {
                action: "hold",
                path: directory.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not an entry of the root filesystem cache",
                ),
            })?;
        let file = self.open_lock(name)?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockShared).map_err(|errno| {
            Error::Io {
                action: "lock",
                path: self.lock_path(name),
                source: errno.into(),
            }
        })?;
        // The mark is a convenience for `prune`; a cache on a read-only mount still builds.
        if let Err(error) = file.set_modified(SystemTime::now()) {
            tracing::debug!(entry = name, %error, "cannot mark the cache entry used");
        }
        Ok(InUse { _file: file })
    }

    /// Seconds since a build last took the entry `name` (or since it was made); `None` when
    /// there is no such entry.
    pub fn unused_seconds(&self, name: &str) -> Option<u64> {
        self.last_used(name).map(|used| {
            SystemTime::now()
                .duration_since(used)
                .unwrap_or_default()
                .as_secs()
        })
    }

    /// When the entry `name` was last taken by a build ([`Store::hold`]: its lock file's
    /// mtime) or made (its directory's), whichever is later.
    fn last_used(&self, name: &str) -> Option<SystemTime> {
        let modified = |path: PathBuf| fs::metadata(path).and_then(|metadata| metadata.modified());
        match (
            modified(self.lock_path(name)),
            modified(self.root.join(name)),
        ) {
            (Ok(held), Ok(made)) => Some(held.max(made)),
            (Ok(time), Err(_)) | (Err(_), Ok(time)) => Some(time),
            (Err(_), Err(_)) => None,
        }
    }

    /// Removes every complete entry (root filesystems, native prefixes, hybrid views) that no
    /// build has used for `unused_for`, and that nobody holds now (a build, a creation or a
    /// removal: those are kept, as are entries used since). With `dry_run` nothing is removed.
    /// Stale partial creations are removed on the way. Returns every entry, sorted by name,
    /// with what was done.
    pub fn prune(&self, unused_for: Duration, dry_run: bool) -> Result<Vec<Pruned>, Error> {
        if !dry_run {
            self.clean_stale()?;
        }
        let names: Vec<String> = self
            .directory_names()?
            .into_iter()
            .filter(|name| self.root.join(name).is_dir())
            .collect();
        let now = SystemTime::now();
        let unused = |name: &str| {
            self.last_used(name)
                .and_then(|used| now.duration_since(used).ok())
                .unwrap_or_default()
        };
        let mut pruned = Vec::new();
        for name in names {
            // A hybrid view's files are hard links of its root filesystem's and prefix's:
            // removing it frees next to nothing.
            let view = self
                .root
                .join(&name)
                .join(crate::hybrid::METADATA_FILE)
                .is_file();
            let mut entry = Pruned {
                size_bytes: if view {
                    0
                } else {
                    tree::disk_usage(&self.root.join(&name))
                },
                unused_seconds: unused(&name).as_secs(),
                name,
                removed: false,
                kept_because: None,
            };
            if unused(&entry.name) < unused_for {
                entry.kept_because = Some("used recently");
                pruned.push(entry);
                continue;
            }
            let file = self.open_lock(&entry.name)?;
            if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
                .is_err()
            {
                entry.kept_because = Some("in use");
                pruned.push(entry);
                continue;
            }
            // A build may have taken and left it between the first look and the lock.
            if unused(&entry.name) < unused_for {
                entry.kept_because = Some("used recently");
                pruned.push(entry);
                continue;
            }
            // The lock file stays: another process may have it open, waiting.
            if !dry_run {
                self.remove_locked(&entry.name)?;
            }
            entry.removed = true;
            pruned.push(entry);
            drop(file);
        }
        Ok(pruned)
    }

    fn lock_path(&self, name: &str) -> PathBuf {
        self.root.join(format!("{name}.lock"))
    }

    fn open_lock(&self, name: &str) -> Result<File, Error> {
        fs::create_dir_all(&self.root).map_err(Error::io("create", &self.root))?;
        let path = self.lock_path(name);
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::io("open", path))
    }

    /// A fresh partial directory for `key` (the caller holds the key's lock).
    pub(crate) fn partial_directory(&self, key: &RootfsKey) -> Result<PathBuf, Error> {
        self.partial_directory_named(&key.directory_name())
    }

    /// A fresh partial directory for the cache entry `name` (the caller holds its lock).
    pub(crate) fn partial_directory_named(&self, name: &str) -> Result<PathBuf, Error> {
        self.remove_partials_of(name)?;
        let path = self
            .root
            .join(format!("{PARTIAL_PREFIX}{name}-{}", std::process::id()));
        fs::create_dir_all(&path).map_err(Error::io("create", &path))?;
        Ok(path)
    }

    /// Moves a finished partial directory into place, writing its metadata first.
    pub(crate) fn commit(&self, partial: &Path, metadata: Metadata) -> Result<Rootfs, Error> {
        let directory = self.commit_named(
            partial,
            &metadata.key.directory_name(),
            METADATA_FILE,
            &metadata,
        )?;
        Ok(Rootfs {
            metadata,
            directory,
        })
    }

    /// Writes the manifest of `<partial>/root` (manifest.rs) and `metadata` as
    /// `metadata_file` into a finished partial directory and renames it to `<store>/<name>`:
    /// the last step, so the name only ever holds a complete entry. An entry already there
    /// failed the quick check (else the caller, holding the lock, would have used it): it is
    /// renamed away and removed first.
    pub(crate) fn commit_named<M: Serialize>(
        &self,
        partial: &Path,
        name: &str,
        metadata_file: &str,
        metadata: &M,
    ) -> Result<PathBuf, Error> {
        let committed = (|| {
            manifest::write(partial)?;
            let metadata_path = partial.join(metadata_file);
            let text =
                serde_json::to_string_pretty(metadata).map_err(|source| Error::Metadata {
                    path: metadata_path.clone(),
                    source,
                })?;
            fs::write(&metadata_path, text).map_err(Error::io("write", &metadata_path))?;
            let directory = self.root.join(name);
            if fs::symlink_metadata(&directory).is_ok() {
                tracing::warn!(
                    entry = name,
                    "replacing a cache entry that failed its check"
                );
                let doomed = self.root.join(format!(
                    "{PARTIAL_PREFIX}{name}-removing-{}",
                    std::process::id()
                ));
                fs::rename(&directory, &doomed).map_err(Error::io("rename", &directory))?;
                tree::remove_tree(&doomed)?;
            }
            fs::rename(partial, &directory).map_err(Error::io("rename", partial))?;
            Ok(directory)
        })();
        committed.map_err(|error| explain_full_disk(error, &self.root))
    }

    /// [`Store::read_metadata`] of an entry that also passes the quick check every build runs
    /// ([`manifest::quick_check`]); a failing entry is logged and reported absent, so whoever
    /// wanted it creates it again.
    pub(crate) fn read_usable_metadata<M: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        metadata_file: &str,
    ) -> Result<Option<M>, Error> {
        let Some(metadata) = self.read_metadata(name, metadata_file)? else {
            return Ok(None);
        };
        match manifest::quick_check(&self.root.join(name)) {
            Ok(()) => Ok(Some(metadata)),
            Err(reason) => {
                tracing::warn!(entry = name, reason = %reason, "the cached entry fails its check; it will be made again");
                Ok(None)
            }
        }
    }

    /// Reads the metadata file of the cache entry `name`; `None` when it is not complete.
    pub(crate) fn read_metadata<M: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        metadata_file: &str,
    ) -> Result<Option<M>, Error> {
        let metadata_path = self.root.join(name).join(metadata_file);
        let text = match fs::read_to_string(&metadata_path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(Error::io("read", metadata_path)(error)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| Error::Metadata {
                path: metadata_path,
                source,
            })
    }

    /// The names of complete cache entries holding `metadata_file`, sorted.
    pub(crate) fn entries_with(&self, metadata_file: &str) -> Result<Vec<String>, Error> {
        self.clean_stale()?;
        self.entry_names(metadata_file)
    }

    /// [`Store::entries_with`] without removing stale partial directories first.
    pub(crate) fn entry_names(&self, metadata_file: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .directory_names()?
            .into_iter()
            .filter(|name| self.root.join(name).join(metadata_file).is_file())
            .collect())
    }

    /// The names in the store that are not partial or hidden (entries and their lock files),
    /// sorted.
    fn directory_names(&self) -> Result<Vec<String>, Error> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(Error::io("read", &self.root)(error)),
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Removes the cache entry `name` (renamed away first, under its lock); `false` when absent.
    pub(crate) fn remove_named(&self, name: &str) -> Result<bool, Error> {
        let _lock = self.lock_named(name)?;
        self.remove_locked(name)
    }

    /// [`Store::remove_named`] for a caller that holds the entry's lock.
    fn remove_locked(&self, name: &str) -> Result<bool, Error> {
        let directory = self.root.join(name);
        if !directory.exists() {
            return Ok(false);
        }
        let doomed = self.root.join(format!(
            "{PARTIAL_PREFIX}{name}-removing-{}",
            std::process::id()
        ));
        fs::rename(&directory, &doomed).map_err(Error::io("rename", &directory))?;
        tree::remove_tree(&doomed)?;
        Ok(true)
    }

    /// Removes the partial directories of one key (the caller holds its lock, so whoever made
    /// them is gone).
    fn remove_partials_of(&self, name: &str) -> Result<(), Error> {
        for (partial_name, path) in self.partials()? {
            if partial_owner(&partial_name) == Some(name) {
                tracing::info!(path = %path.display(), "removing an interrupted root filesystem creation");
                tree::remove_tree(&path)?;
            }
        }
        Ok(())
    }

    /// Removes every partial directory whose key is not locked by a live creator.
    pub fn clean_stale(&self) -> Result<Vec<PathBuf>, Error> {
        let mut removed = Vec::new();
        for (partial_name, path) in self.partials()? {
            let Some(name) = partial_owner(&partial_name) else {
                continue;
            };
            let file = self.open_lock(name)?;
            let free =
                rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
                    .is_ok();
            if free {
                tracing::info!(path = %path.display(), "removing a stale partial root filesystem");
                tree::remove_tree(&path)?;
                removed.push(path);
            }
        }
        Ok(removed)
    }

    /// The partial directories whose lock is free (their creator or remover is gone), with the
    /// entry name each belongs to; nothing is removed.
    pub(crate) fn stale_partials(&self) -> Result<Vec<(String, PathBuf)>, Error> {
        let mut stale = Vec::new();
        for (partial_name, path) in self.partials()? {
            let Some(name) = partial_owner(&partial_name) else {
                continue;
            };
            let file = self.open_lock(name)?;
            // Closing `file` releases the probe's lock again.
            if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
                .is_ok()
            {
                stale.push((name.to_string(), path));
            }
        }
        stale.sort();
        Ok(stale)
    }

    fn partials(&self) -> Result<Vec<(String, PathBuf)>, Error> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(Error::io("read", &self.root)(error)),
        };
        Ok(entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_str()?.to_string();
                name.starts_with(PARTIAL_PREFIX)
                    .then(|| (name, entry.path()))
            })
            .collect())
    }
}

/// `.partial-arm64-bookworm-1234` → `arm64-bookworm`;
/// `.partial-arm64-bookworm-removing-1234` → `arm64-bookworm`.
fn partial_owner(partial_name: &str) -> Option<&str> {
    let rest = partial_name.strip_prefix(PARTIAL_PREFIX)?;
    let (name, pid) = rest.rsplit_once('-')?;
    if pid.is_empty() || !pid.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some(name.strip_suffix("-removing").unwrap_or(name))
}

pub(crate) fn not_found(key: &RootfsKey) -> Error {
    let mut create_args = format!("--target {} --suite {}", key.architecture, key.suite);
    if !key.is_base() {
        let packages: Vec<&str> = key
            .packages
            .iter()
            .map(|package| package.as_str())
            .collect();
        create_args.push_str(&format!(" --packages {}", packages.join(",")));
    }
    Error::NotFound {
        key: key.to_string(),
        create_args,
    }
}

/// An error of a creation in the store at `store_root`, made [`Error::DiskFull`] when its cause is a full
/// file system (`ENOSPC`/`EDQUOT` from a write here, or those words in the tool's output).
pub(crate) fn explain_full_disk(error: Error, store_root: &Path) -> Error {
    // write(2): ENOSPC "no room for the data", EDQUOT "the user's quota ... exhausted";
    // strerror(ENOSPC) is "No space left on device" in glibc, which apt, dpkg and tar print.
    let (no_space, quota) = (
        rustix::io::Errno::NOSPC.raw_os_error(),
        rustix::io::Errno::DQUOT.raw_os_error(),
    );
    let full = match &error {
        Error::Io { source, .. } => {
            source.raw_os_error() == Some(no_space) || source.raw_os_error() == Some(quota)
        }
        Error::Bootstrap { log_tail, .. } | Error::Install { log_tail, .. } => {
            // apt checks before downloading: "You don't have enough free space in %s."
            // (apt-pkg/acquire.cc); dpkg and tar fail on the write itself.
            log_tail.contains("No space left on device")
                || log_tail.contains("Disk quota exceeded")
                || log_tail.contains("enough free space in")
        }
        _ => false,
    };
    if !full {
        return error;
    }
    Error::DiskFull {
        filesystem: mount_point_of(store_root),
        cache: store_root.to_path_buf(),
        cause: error.to_string(),
    }
}

/// The mount point of the file system holding `path` (or its nearest existing ancestor): the
/// highest ancestor on the same device (`st_dev`, stat(2)), as `df` reports it.
pub(crate) fn mount_point_of(path: &Path) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let path = path
        .ancestors()
        .find_map(|ancestor| fs::canonicalize(ancestor).ok())
        .unwrap_or_else(|| path.to_path_buf());
    let Ok(device) = fs::metadata(&path).map(|metadata| metadata.dev()) else {
        return path;
    };
    let mut mount_point = path.clone();
    for ancestor in path.ancestors().skip(1) {
        match fs::metadata(ancestor) {
            Ok(metadata) if metadata.dev() == device => mount_point = ancestor.to_path_buf(),
            _ => break,
        }
    }
    mount_point
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Architecture, Suite};

    pub(crate) fn key(packages: &[&str]) -> RootfsKey {
        RootfsKey::new(
            Architecture::Arm64,
            Suite::Bookworm,
            packages.iter().map(|name| name.parse().expect("valid")),
        )
        .expect("valid key")
    }

    fn fake_partial(store: &Store, key: &RootfsKey) -> PathBuf {
        let partial = store.partial_directory(key).expect("partial");
        manifest::tests::fake_entry(&partial);
        partial
    }

    /// A committed fake root filesystem for `key`.
    pub(crate) fn commit_fake(store: &Store, key: &RootfsKey) -> Rootfs {
        let _lock = store.lock(key).expect("lock");
        let partial = fake_partial(store, key);
        store.commit(&partial, metadata(key)).expect("commit")
    }

    fn metadata(key: &RootfsKey) -> Metadata {
        Metadata {
            key: key.clone(),
            created_unix: unix_now(),
            creation_seconds: 1.5,
            made_by: "test".to_string(),
        }
    }

    /// Sets the entry's directory and lock file as last touched `days` ago.
    fn age(store: &Store, rootfs: &Rootfs, days: u64) {
        let then = SystemTime::now() - Duration::from_secs(days * 86_400);
        let name = rootfs.key().directory_name();
        for path in [rootfs.directory.clone(), store.lock_path(&name)] {
            File::open(&path)
                .and_then(|file| file.set_modified(then))
                .expect("set mtime");
        }
    }

    #[test]
    fn prune_removes_what_no_build_used_for_long_and_keeps_what_is_held_or_recent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path());
        let old = commit_fake(&store, &key(&["cmake"]));
        let held = commit_fake(&store, &key(&["meson"]));
        let recent = commit_fake(&store, &key(&[]));
        let month = Duration::from_secs(30 * 86_400);
        age(&store, &old, 40);
        age(&store, &recent, 2);
        let in_use = store.hold(&held.directory).expect("hold");
        // Taken long ago and still held: in use.
        age(&store, &held, 40);

        let by_name = |pruned: Vec<Pruned>| {
            pruned
                .into_iter()
                .map(|entry| (entry.name, (entry.removed, entry.kept_because)))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let expected = |old_removed| {
            [
                ("arm64-bookworm".to_string(), (false, Some("used recently"))),
                (
                    old.key().directory_name(),
                    (old_removed, None::<&'static str>),
                ),
                (held.key().directory_name(), (false, Some("in use"))),
            ]
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>()
        };
        // A dry run says what would go and removes nothing.
        assert_eq!(
            by_name(store.prune(month, true).expect("dry run")),
            expected(true)
        );
        assert!(old.tree().is_dir());
        assert_eq!(
            by_name(store.prune(month, false).expect("prune")),
            expected(true)
        );
        assert!(!old.directory.exists());
        assert!(held.tree().is_dir() && recent.tree().is_dir());
        assert!(store.get(old.key()).expect("get").is_none());
        // Released, the long-unused entry goes too; the recent one stays for a shorter bar.
        drop(in_use);
        let pruned = by_name(
            store
                .prune(Duration::from_secs(86_400), false)
                .expect("prune"),
        );
        assert_eq!(pruned[&held.key().directory_name()], (true, None));
        assert_eq!(pruned["arm64-bookworm"], (true, None));
        assert!(store.prune(month, false).expect("prune").is_empty());
        // A build holding an entry marks it used now.
        let fresh = commit_fake(&store, &key(&[]));
        age(&store, &fresh, 40);
        let _held = store.hold(&fresh.directory).expect("hold");
        assert!(store.last_used("arm64-bookworm").is_some_and(|used| used
            .elapsed()
            .is_ok_and(|elapsed| elapsed < Duration::from_secs(3600))));
        // Only this store's entries can be held.
        assert!(store.hold(dir.path()).is_err());
        assert!(store
            .hold(&dir.path().join("rootfs/../rootfs/x/y"))
            .is_err());
    }

    #[test]
    fn partial_names_map_to_their_key() {
        assert_eq!(
            partial_owner(".partial-arm64-bookworm-1234"),
            Some("arm64-bookworm")
        );
        assert_eq!(
            partial_owner(".partial-arm64-bookworm-removing-77"),
            Some("arm64-bookworm")
        );
        assert_eq!(
            partial_owner(".partial-arm64-bookworm-abc123def456-9"),
            Some("arm64-bookworm-abc123def456")
        );
        assert_eq!(partial_owner(".partial-x-"), None);
        assert_eq!(partial_owner("arm64-bookworm"), None);
    }

    #[test]
    fn a_partial_creation_is_invisible_until_committed() {
        let cache = tempfile::tempdir().expect("temp dir");
        let store = Store::new(cache.path());
        let key = key(&[]);
        let lock = store.lock(&key).expect("lock");
        let partial = fake_partial(&store, &key);
        assert!(store.get(&key).expect("get").is_none());
        assert!(store.list().expect("list").is_empty());
        assert!(partial.exists(), "a locked partial is not stale");
        let rootfs = store.commit(&partial, metadata(&key)).expect("commit");
        drop(lock);
        assert!(rootfs.tree().join("usr/bin/gcc").exists());
        let listed = store.list().expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].key, key);
        assert_eq!(listed[0].name, "arm64-bookworm");
        assert!(listed[0].size_bytes > 0);
        assert_eq!(
            store.get(&key).expect("get").map(|r| r.metadata),
            Some(metadata(&key)).map(|m| Metadata {
                created_unix: listed[0].created_unix,
                ..m
            })
        );
    }

    #[test]
    fn stale_partials_are_removed_and_never_listed() {
        let cache = tempfile::tempdir().expect("temp dir");
        let store = Store::new(cache.path());
        let key = key(&["gcc-11"]);
        let partial = {
            let _lock = store.lock(&key).expect("lock");
            fake_partial(&store, &key)
        };
        // The creator is gone (its lock released) without committing.
        assert!(partial.exists());
        assert_eq!(store.clean_stale().expect("clean"), vec![partial.clone()]);
        assert!(!partial.exists());
        assert!(store.get(&key).expect("get").is_none());
    }

    #[test]
    fn remove_deletes_only_the_named_key() {
        let cache = tempfile::tempdir().expect("temp dir");
        let store = Store::new(cache.path());
        let (base, derived) = (key(&[]), key(&["libz-dev"]));
        for key in [&base, &derived] {
            let _lock = store.lock(key).expect("lock");
            let partial = fake_partial(&store, key);
            store.commit(&partial, metadata(key)).expect("commit");
        }
        assert!(store.remove(&derived).expect("remove"));
        assert!(!store.remove(&derived).expect("second remove"));
        assert!(store.get(&base).expect("get").is_some());
        assert!(store.get(&derived).expect("get").is_none());
        let error = store.require(&derived).expect_err("gone");
        assert_eq!(
            error.hint().as_deref(),
            Some("run `archway rootfs create --target arm64 --suite bookworm --packages libz-dev`")
        );
    }

    #[test]
    fn unreadable_metadata_is_an_error_naming_the_file() {
        let cache = tempfile::tempdir().expect("temp dir");
        let store = Store::new(cache.path());
        let key = key(&[]);
        fs::create_dir_all(store.directory_of(&key)).expect("mkdir");
        fs::write(store.directory_of(&key).join(METADATA_FILE), "{not json").expect("write");
        let error = store.get(&key).expect_err("bad metadata");
        assert!(error.to_string().contains("rootfs.json"), "{error}");
    }
}
