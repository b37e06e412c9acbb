//! The local store: entries under `<cache dir>/store/`.
//!
//! ```text
//! <cache>/store/
//!   entries/<name>/record.json      what made it (method, times, toolchain, key inputs)
//!   entries/<name>/manifest.json    SHA-256, size and mode of every file, and record.json's
//!   entries/<name>/files/<path>     the artifacts at their paths relative to the build dir
//!   used/<name>                     empty; its modification time is the entry's last use
//!   tmp/<id>/, tmp/<id>.lock        inserts and pulls in progress (the writer holds the lock)
//!   lock                            shared by readers and inserters, exclusive for prune/clean
//! ```
//!
//! Invariants:
//! - An entry directory only appears by `renameat2(RENAME_NOREPLACE)` of a complete temporary
//!   directory in the same filesystem whose files, manifest and directory were `fsync`ed first:
//!   a process killed mid-insert leaves a `tmp/<id>` whose lock is free (removed by the next
//!   insert, `prune` or `clean`), never a partial entry. Of two processes inserting one name,
//!   the first rename wins and the other discards its copy.
//! - An entry is never modified; its last use is recorded outside it, so the directory can be
//!   pushed to a shared store as is.
//! - Every read checks every file against the manifest (hashing while copying): a corrupt or
//!   tampered entry is moved aside and removed, and the caller sees a miss.
//! - Manifest paths are relative, without `..`, and restored only below the target directory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use archway_platform::Reporter;
use rustix::fs::{FlockOperation, RenameFlags, CWD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::key::{Key, KeyInputs};
use crate::upstream::{Pulled, Upstream};

/// The version of the entry layout (record and manifest).
pub const ENTRY_FORMAT: u32 = 1;

/// A test hook: the inserting process kills itself with SIGKILL after writing this many files
/// of an entry (the SIGKILL-mid-insert test). Never set outside tests.
pub const KILL_HOOK_VARIABLE: &str = "ARCHWAY_CACHE_TEST_KILL_AFTER_FILES";

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot {action} `{}` in the build cache: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the artifact `{}` is not below the build directory `{}`", path.display(), root.display())]
    OutsideRoot { path: PathBuf, root: PathBuf },
    #[error("`{name}` is not a cache entry name (`build-<64 hex>` or `test-<64 hex>`)")]
    BadName { name: String },
}

impl StoreError {
    /// The command that fixes it, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            StoreError::Io { .. } => Some(
                "check the cache directory's permissions and free space, or build without it: `archway build --no-cache`".to_string(),
            ),
            StoreError::OutsideRoot { .. } => None,
            StoreError::BadName { .. } => Some("list the entries: `archway cache list`".to_string()),
        }
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// A build's artifacts.
    Build,
    /// A passed test run (no files: the record says it passed).
    Test,
}

impl EntryKind {
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::Build => "build",
            EntryKind::Test => "test",
        }
    }
}

/// An entry's name: `<kind>-<key>` (`[a-z0-9-]` only: safe as a file and an object name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntryName(String);

impl EntryName {
    pub fn new(kind: EntryKind, key: &Key) -> EntryName {
        EntryName(format!("{}-{key}", kind.name()))
    }

    /// Checks a name given by a user or read from the disk.
    pub fn parse(text: &str) -> Result<EntryName, StoreError> {
        let bad = || StoreError::BadName {
            name: text.to_string(),
        };
        let (kind, key) = text.split_once('-').ok_or_else(bad)?;
        let kind = match kind {
            "build" => EntryKind::Build,
            "test" => EntryKind::Test,
            _ => return Err(bad()),
        };
        let key = Key::parse(key).ok_or_else(bad)?;
        Ok(EntryName::new(kind, &key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> EntryKind {
        if self.0.starts_with("test-") {
            EntryKind::Test
        } else {
            EntryKind::Build
        }
    }
}

impl std::fmt::Display for EntryName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What made an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub format: u32,
    pub kind: EntryKind,
    /// The build's key (a test entry's own key is derived from it and the test command).
    pub key: String,
    /// The target, canonical.
    pub target: String,
    pub method: String,
    pub build_system: Option<String>,
    /// The toolchain in a few words.
    pub toolchain: Option<String>,
    /// Seconds since the Unix epoch when the entry was made.
    pub created_unix: u64,
    /// How long the build (or the test run) took.
    pub seconds: f64,
    /// The test command (test entries).
    pub test_command: Option<String>,
    /// What went into the key.
    pub inputs: Option<KeyInputs>,
}

/// One file of an entry's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub sha256: String,
    pub size: u64,
    pub executable: bool,
}

/// `manifest.json`: every file under `files/` and the record's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub record_sha256: String,
    /// Relative path (with `/`) → file.
    pub files: BTreeMap<String, FileRecord>,
    /// Relative path → link target (a library's `libz.so -> libz.so.1.2.13`); the target
    /// must be a plain file name next to it.
    pub links: BTreeMap<String, String>,
}

impl Manifest {
    pub fn bytes(&self) -> u64 {
        self.files.values().map(|file| file.size).sum()
    }
}

/// A file to put into an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryFile {
    /// A regular file: where it is now, and its path relative to the build directory.
    File { source: PathBuf, relative: PathBuf },
    /// A symbolic link to a file in the same directory.
    Link { relative: PathBuf, target: String },
}

/// What [`Store::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The entry is new.
    Added,
    /// Another process (or an earlier build) put it there first: ours was discarded.
    AlreadyThere,
}

/// Where a hit came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Local,
    /// Pulled from the shared store, signed by `signer`.
    Shared {
        signer: String,
    },
}

/// A verified entry (restored, for a build).
#[derive(Debug, Clone)]
pub struct Hit {
    pub record: Record,
    pub origin: Origin,
    /// The restored files, relative to the directory restored into.
    pub files: Vec<PathBuf>,
    pub bytes: u64,
}

/// One line of `archway cache list`.
#[derive(Debug, Clone, Serialize)]
pub struct EntryInfo {
    pub name: String,
    pub kind: EntryKind,
    pub target: String,
    pub method: String,
    pub files: usize,
    pub bytes: u64,
    pub created_unix: u64,
    /// Seconds since the Unix epoch of the last use.
    pub used_unix: u64,
    /// The last use, precisely (the pruning order).
    #[serde(skip)]
    pub used: SystemTime,
}

/// `archway cache stats`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub directory: PathBuf,
    pub entries: usize,
    pub builds: usize,
    pub tests: usize,
    pub bytes: u64,
    pub max_size: Option<u64>,
    /// Unreadable entries (dropped at their next read or by `prune`).
    pub unreadable: usize,
}

/// What `prune` or `clean` removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pruned {
    pub removed: Vec<String>,
    pub bytes: u64,
    /// Leftovers of killed inserts.
    pub stale: usize,
}

/// The local store, with an optional shared store behind it.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    max_size: Option<u64>,
    upstream: Option<Box<dyn Upstream>>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// The store under `cache_dir` (`<cache dir>/store`; created on first insert).
    pub fn new(cache_dir: &Path) -> Store {
        Store {
            root: cache_dir.join("store"),
            max_size: None,
            upstream: None,
        }
    }

    /// Bounds the store: after each insert, the least recently used entries go until it fits.
    pub fn with_max_size(mut self, max_size: Option<u64>) -> Store {
        self.max_size = max_size;
        self
    }

    /// A shared store read on a local miss and given every local insert.
    pub fn with_upstream(mut self, upstream: Option<Box<dyn Upstream>>) -> Store {
        self.upstream = upstream;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn max_size(&self) -> Option<u64> {
        self.max_size
    }

    fn entries(&self) -> PathBuf {
        self.root.join("entries")
    }

    fn entry_dir(&self, name: &EntryName) -> PathBuf {
        self.entries().join(name.as_str())
    }

    fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn used_file(&self, name: &EntryName) -> PathBuf {
        self.root.join("used").join(name.as_str())
    }

    fn ensure_layout(&self) -> Result<(), StoreError> {
        for directory in [self.entries(), self.tmp(), self.root.join("used")] {
            std::fs::create_dir_all(&directory)
                .map_err(io_error("create directory", &directory))?;
        }
        Ok(())
    }

    /// The store-wide lock: shared for reads and inserts, exclusive for prune and clean.
    fn lock(&self, exclusive: bool) -> Result<File, StoreError> {
        self.ensure_layout()?;
        let path = self.root.join("lock");
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error("open the lock", &path))?;
        let operation = if exclusive {
            FlockOperation::LockExclusive
        } else {
            FlockOperation::LockShared
        };
        flock(&file, operation).map_err(io_error("lock", &path))?;
        Ok(file)
    }

    /// A new temporary directory `tmp/<id>` with its lock `tmp/<id>.lock` held (until the
    /// returned file is dropped).
    fn temporary(&self, purpose: &str) -> Result<(PathBuf, File), StoreError> {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let id = format!(
            "{purpose}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let lock_path = self.tmp().join(format!("{id}.lock"));
        let lock = File::create(&lock_path).map_err(io_error("create", &lock_path))?;
        flock(&lock, FlockOperation::LockExclusive).map_err(io_error("lock", &lock_path))?;
        Ok((self.tmp().join(id), lock))
    }

    /// Removes the temporary directories whose writer is gone (its lock is free).
    pub fn clean_stale(&self) -> Result<usize, StoreError> {
        let tmp = self.tmp();
        let Ok(listing) = std::fs::read_dir(&tmp) else {
            return Ok(0);
        };
        let mut removed = 0;
        for entry in listing.flatten() {
            let path = entry.path();
            if path
                .extension()
                .is_some_and(|extension| extension == "lock")
            {
                continue;
            }
            let lock_path = PathBuf::from(format!("{}.lock", path.display()));
            let free = match File::options().write(true).open(&lock_path) {
                Ok(lock) => {
                    if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_ok() {
                        let _ = std::fs::remove_dir_all(&path);
                        let _ = std::fs::remove_file(&lock_path);
                        true
                    } else {
                        false
                    }
                }
                // The lock is made before the directory and removed after it: no lock, no
                // writer (a cleaner removed the lock and was killed before the directory).
                Err(_) => {
                    let _ = std::fs::remove_dir_all(&path);
                    true
                }
            };
            if free {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Puts `files` and `record` in as the entry `name` (atomically), offers it to the shared
    /// store, and prunes to the size bound. A shared store's failure is a warning.
    pub fn insert(
        &self,
        name: &EntryName,
        record: &Record,
        files: &[EntryFile],
        reporter: &dyn Reporter,
    ) -> Result<Inserted, StoreError> {
        let _lock = self.lock(false)?;
        self.clean_stale()?;
        let destination = self.entry_dir(name);
        if destination.is_dir() {
            return Ok(Inserted::AlreadyThere);
        }
        let (temporary, temporary_lock) = self.temporary("insert")?;
        let result =
            write_entry(&temporary, record, files).and_then(|()| {
                match rename_no_replace(&temporary, &destination) {
                    Ok(()) => {
                        sync_directory(&self.entries())?;
                        Ok(Inserted::Added)
                    }
                    Err(error)
                        if matches!(
                            error.raw_os_error(),
                            Some(code) if code == rustix::io::Errno::EXIST.raw_os_error()
                                || code == rustix::io::Errno::NOTEMPTY.raw_os_error()
                        ) =>
                    {
                        Ok(Inserted::AlreadyThere)
                    }
                    Err(error) => Err(io_error("rename", &temporary)(error)),
                }
            });
        let _ = std::fs::remove_dir_all(&temporary);
        let lock_path = PathBuf::from(format!("{}.lock", temporary.display()));
        let _ = std::fs::remove_file(&lock_path);
        drop(temporary_lock);
        let inserted = result?;
        if inserted == Inserted::Added {
            self.touch(name);
            if let Some(upstream) = &self.upstream {
                if let Err(error) = upstream.push(name.as_str(), &destination) {
                    reporter.note(&warning(&error.to_string(), error.hint()));
                }
            }
        }
        drop(_lock);
        if let Some(max_size) = self.max_size {
            self.prune(max_size)?;
        }
        Ok(inserted)
    }

    /// The verified entry `name` restored into `into` (its files at their relative paths), or
    /// `None` on a miss. A corrupt local entry is dropped (a warning) and counts as a miss; on
    /// a local miss the shared store is asked, and what it gives is verified and inserted.
    pub fn restore(
        &self,
        name: &EntryName,
        into: &Path,
        reporter: &dyn Reporter,
    ) -> Result<Option<Hit>, StoreError> {
        self.read(name, Some(into), reporter)
    }

    /// The verified record of `name` (nothing restored): a cached test result.
    pub fn lookup(
        &self,
        name: &EntryName,
        reporter: &dyn Reporter,
    ) -> Result<Option<Hit>, StoreError> {
        self.read(name, None, reporter)
    }

    fn read(
        &self,
        name: &EntryName,
        into: Option<&Path>,
        reporter: &dyn Reporter,
    ) -> Result<Option<Hit>, StoreError> {
        let lock = self.lock(false)?;
        if let Some(mut hit) = self.read_local(name, into, reporter)? {
            hit.origin = Origin::Local;
            return Ok(Some(hit));
        }
        let Some(upstream) = &self.upstream else {
            return Ok(None);
        };
        let (temporary, temporary_lock) = self.temporary("pull")?;
        let pulled = upstream.pull(name.as_str(), &temporary);
        let signer = match pulled {
            Ok(Pulled::Restored { signer, .. }) => signer,
            Ok(Pulled::Absent) => {
                discard_temporary(&temporary, temporary_lock);
                return Ok(None);
            }
            Err(error) => {
                reporter.note(&warning(&error.to_string(), error.hint()));
                discard_temporary(&temporary, temporary_lock);
                return Ok(None);
            }
        };
        // The shared store's signature says who made it; the manifest says it arrived whole.
        if let Err(reason) = verify_entry(&temporary, None) {
            reporter.note(&format!(
                "warning: refused the shared cache entry `{name}`: {reason}"
            ));
            discard_temporary(&temporary, temporary_lock);
            return Ok(None);
        }
        let destination = self.entry_dir(name);
        let renamed = rename_no_replace(&temporary, &destination);
        discard_temporary(&temporary, temporary_lock);
        if renamed.is_ok() {
            sync_directory(&self.entries())?;
        }
        drop(lock);
        let hit = self.read_local(name, into, reporter)?;
        Ok(hit.map(|mut hit| {
            hit.origin = Origin::Shared { signer };
            hit
        }))
    }

    fn read_local(
        &self,
        name: &EntryName,
        into: Option<&Path>,
        reporter: &dyn Reporter,
    ) -> Result<Option<Hit>, StoreError> {
        let directory = self.entry_dir(name);
        if !directory.is_dir() {
            return Ok(None);
        }
        match verify_entry(&directory, into) {
            Ok((record, manifest)) => {
                self.touch(name);
                let mut files: Vec<PathBuf> = manifest.files.keys().map(PathBuf::from).collect();
                files.extend(manifest.links.keys().map(PathBuf::from));
                Ok(Some(Hit {
                    record,
                    origin: Origin::Local,
                    files,
                    bytes: manifest.bytes(),
                }))
            }
            Err(reason) => {
                reporter.note(&format!(
                    "warning: dropped the corrupt cache entry `{name}`: {reason}; building instead"
                ));
                self.drop_entry(name)?;
                Ok(None)
            }
        }
    }

    /// Moves an entry aside (atomically: readers see it or not) and removes it.
    fn drop_entry(&self, name: &EntryName) -> Result<(), StoreError> {
        let (aside, lock) = self.temporary("drop")?;
        match std::fs::rename(self.entry_dir(name), &aside) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_error("remove", &self.entry_dir(name))(error)),
        }
        let _ = std::fs::remove_file(self.used_file(name));
        discard_temporary(&aside, lock);
        Ok(())
    }

    fn touch(&self, name: &EntryName) {
        let path = self.used_file(name);
        // The last use only orders pruning: a failure to record it is not worth a warning.
        if let Ok(file) = File::create(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
    }

    /// Every entry, least recently used first (unreadable ones left out).
    pub fn list(&self) -> Result<Vec<EntryInfo>, StoreError> {
        Ok(self.scan()?.0)
    }

    fn scan(&self) -> Result<(Vec<EntryInfo>, usize), StoreError> {
        let entries = self.entries();
        let listing = match std::fs::read_dir(&entries) {
            Ok(listing) => listing,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Vec::new(), 0))
            }
            Err(error) => return Err(io_error("read directory", &entries)(error)),
        };
        let mut infos = Vec::new();
        let mut unreadable = 0;
        for entry in listing.flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name
                .to_str()
                .and_then(|text| EntryName::parse(text).ok())
            else {
                unreadable += 1;
                continue;
            };
            let directory = entry.path();
            let record: Option<Record> = read_json(&directory.join("record.json"));
            let manifest: Option<Manifest> = read_json(&directory.join("manifest.json"));
            let (Some(record), Some(manifest)) = (record, manifest) else {
                unreadable += 1;
                continue;
            };
            let used = std::fs::metadata(self.used_file(&name))
                .and_then(|meta| meta.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH + Duration::from_secs(record.created_unix));
            let used_unix = used
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |time| time.as_secs());
            infos.push(EntryInfo {
                name: name.to_string(),
                kind: record.kind,
                target: record.target,
                method: record.method,
                files: manifest.files.len() + manifest.links.len(),
                bytes: manifest.bytes(),
                created_unix: record.created_unix,
                used_unix,
                used,
            });
        }
        infos.sort_by(|a, b| {
            (a.used, a.created_unix, &a.name).cmp(&(b.used, b.created_unix, &b.name))
        });
        Ok((infos, unreadable))
    }

    pub fn stats(&self) -> Result<Stats, StoreError> {
        let (infos, unreadable) = self.scan()?;
        Ok(Stats {
            directory: self.root.clone(),
            entries: infos.len(),
            builds: infos
                .iter()
                .filter(|info| info.kind == EntryKind::Build)
                .count(),
            tests: infos
                .iter()
                .filter(|info| info.kind == EntryKind::Test)
                .count(),
            bytes: infos.iter().map(|info| info.bytes).sum(),
            max_size: self.max_size,
            unreadable,
        })
    }

    /// Removes the least recently used entries until the store holds at most `max_size` bytes
    /// (and every unreadable entry, and the leftovers of killed inserts).
    pub fn prune(&self, max_size: u64) -> Result<Pruned, StoreError> {
        let _lock = self.lock(true)?;
        let mut pruned = Pruned {
            stale: self.clean_stale()?,
            ..Pruned::default()
        };
        let (infos, _) = self.scan()?;
        let known: std::collections::BTreeSet<&str> =
            infos.iter().map(|info| info.name.as_str()).collect();
        if let Ok(listing) = std::fs::read_dir(self.entries()) {
            for entry in listing.flatten() {
                let file_name = entry.file_name().to_string_lossy().into_owned();
                if !known.contains(file_name.as_str()) {
                    let _ = std::fs::remove_dir_all(entry.path());
                    pruned.removed.push(file_name);
                }
            }
        }
        let mut total: u64 = infos.iter().map(|info| info.bytes).sum();
        for info in &infos {
            if total <= max_size {
                break;
            }
            let name = EntryName::parse(&info.name)?;
            self.drop_entry(&name)?;
            total = total.saturating_sub(info.bytes);
            pruned.bytes += info.bytes;
            pruned.removed.push(info.name.clone());
        }
        Ok(pruned)
    }

    /// Removes every entry.
    pub fn clean(&self) -> Result<Pruned, StoreError> {
        self.prune(0)
    }
}

fn warning(message: &str, hint: Option<String>) -> String {
    match hint {
        Some(hint) => format!("warning: {message}; going on without it\n  hint: {hint}"),
        None => format!("warning: {message}; going on without it"),
    }
}

fn discard_temporary(directory: &Path, lock: File) {
    let _ = std::fs::remove_dir_all(directory);
    let _ = std::fs::remove_file(format!("{}.lock", directory.display()));
    drop(lock);
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `flock(2)`, again after a signal interrupted the wait.
fn flock(file: &File, operation: FlockOperation) -> std::io::Result<()> {
    loop {
        match rustix::fs::flock(file, operation) {
            Err(rustix::io::Errno::INTR) => continue,
            result => return result.map_err(std::io::Error::from),
        }
    }
}

fn rename_no_replace(from: &Path, to: &Path) -> std::io::Result<()> {
    rustix::fs::renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE)
        .map_err(std::io::Error::from)
}

fn sync_directory(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|directory| directory.sync_all())
        .map_err(io_error("sync", path))
}

/// A relative path with only normal components, as `/`-separated text; `None` otherwise.
fn portable(relative: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?.to_string()),
            _ => return None,
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

/// A manifest path, checked (it may come from a shared store): relative, no `..`.
fn checked_relative(text: &str) -> Option<PathBuf> {
    let path = PathBuf::from(text);
    (portable(&path).as_deref() == Some(text)).then_some(path)
}

fn kill_hook() -> Option<usize> {
    std::env::var(KILL_HOOK_VARIABLE).ok()?.parse().ok()
}

/// Writes a complete entry into `directory` (which does not exist): files, record, manifest,
/// each `fsync`ed, then the directories.
fn write_entry(directory: &Path, record: &Record, files: &[EntryFile]) -> Result<(), StoreError> {
    let kill_after = kill_hook();
    let mut written = 0usize;
    let count = |written: &mut usize| {
        *written += 1;
        if kill_after == Some(*written) {
            // The test of a killed insert: die exactly here, as SIGKILL would.
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::Kill,
            );
        }
    };
    let files_dir = directory.join("files");
    std::fs::create_dir_all(&files_dir).map_err(io_error("create directory", &files_dir))?;
    let mut manifest = Manifest {
        format: ENTRY_FORMAT,
        record_sha256: String::new(),
        files: BTreeMap::new(),
        links: BTreeMap::new(),
    };
    let mut directories = vec![files_dir.clone()];
    for file in files {
        let relative = match file {
            EntryFile::File { relative, .. } | EntryFile::Link { relative, .. } => relative,
        };
        let Some(text) = portable(relative) else {
            return Err(StoreError::OutsideRoot {
                path: relative.clone(),
                root: PathBuf::from("."),
            });
        };
        let destination = files_dir.join(relative);
        if let Some(parent) = destination.parent() {
            if !parent.is_dir() {
                std::fs::create_dir_all(parent).map_err(io_error("create directory", parent))?;
                directories.push(parent.to_path_buf());
            }
        }
        match file {
            EntryFile::File { source, .. } => {
                let (sha256, size, executable) = copy_hashing(source, &destination, true)?;
                manifest.files.insert(
                    text,
                    FileRecord {
                        sha256,
                        size,
                        executable,
                    },
                );
            }
            EntryFile::Link { target, .. } => {
                if checked_link(target).is_none() {
                    return Err(StoreError::OutsideRoot {
                        path: PathBuf::from(target),
                        root: PathBuf::from("."),
                    });
                }
                std::os::unix::fs::symlink(target, &destination)
                    .map_err(io_error("create link", &destination))?;
                manifest.links.insert(text, target.clone());
            }
        }
        count(&mut written);
    }
    let record_bytes = serde_json::to_vec_pretty(record).unwrap_or_default();
    manifest.record_sha256 = crate::key::sha256_hex(&record_bytes);
    write_synced(&directory.join("record.json"), &record_bytes)?;
    count(&mut written);
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    write_synced(&directory.join("manifest.json"), &manifest_bytes)?;
    count(&mut written);
    for directory in directories.iter().rev() {
        sync_directory(directory)?;
    }
    sync_directory(directory)
}

/// A link target: one plain file name (the link and its file share a directory).
fn checked_link(target: &str) -> Option<()> {
    let path = Path::new(target);
    (path.components().count() == 1
        && matches!(path.components().next(), Some(Component::Normal(_))))
    .then_some(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut file = File::create(path).map_err(io_error("create", path))?;
    file.write_all(bytes).map_err(io_error("write", path))?;
    file.sync_all().map_err(io_error("sync", path))
}

/// Copies `from` to `to` (created), hashing on the way; `fsync`s `to` when `sync` (into the
/// store; a restore into a build directory needs no more durability than the build's own).
fn copy_hashing(from: &Path, to: &Path, sync: bool) -> Result<(String, u64, bool), StoreError> {
    let mut source = File::open(from).map_err(io_error("open", from))?;
    let executable = source
        .metadata()
        .map_err(io_error("inspect", from))?
        .permissions()
        .mode()
        & 0o111
        != 0;
    let mut destination = File::create(to).map_err(io_error("create", to))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let read = source.read(&mut buffer).map_err(io_error("read", from))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        destination
            .write_all(&buffer[..read])
            .map_err(io_error("write", to))?;
        size += read as u64;
    }
    let mode = if executable { 0o755 } else { 0o644 };
    destination
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(io_error("set the mode of", to))?;
    if sync {
        destination.sync_all().map_err(io_error("sync", to))?;
    }
    Ok((hex(hasher.finalize().as_slice()), size, executable))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Checks the entry in `directory` against its manifest — the record's digest, every file's
/// digest and size, no file missing and none extra — restoring the files into `into` on the
/// way when given (each to a temporary name, renamed into place only when all of them check).
fn verify_entry(directory: &Path, into: Option<&Path>) -> Result<(Record, Manifest), String> {
    let manifest: Manifest = read_json(&directory.join("manifest.json"))
        .ok_or_else(|| "its manifest is missing or unreadable".to_string())?;
    if manifest.format != ENTRY_FORMAT {
        return Err(format!("unknown entry format {}", manifest.format));
    }
    let record_bytes = std::fs::read(directory.join("record.json"))
        .map_err(|error| format!("its record is unreadable: {error}"))?;
    if crate::key::sha256_hex(&record_bytes) != manifest.record_sha256 {
        return Err("its record does not match the manifest".to_string());
    }
    let record: Record = serde_json::from_slice(&record_bytes)
        .map_err(|error| format!("its record is unreadable: {error}"))?;
    let files_dir = directory.join("files");
    // No file beyond the manifest's.
    let mut present = Vec::new();
    list_tree(&files_dir, Path::new(""), &mut present)
        .map_err(|error| format!("cannot read its files: {error}"))?;
    let expected = manifest.files.len() + manifest.links.len();
    if present.len() != expected
        || present.iter().any(|path| {
            !manifest.files.contains_key(path.as_str()) && !manifest.links.contains_key(path)
        })
    {
        return Err("its files differ from the manifest".to_string());
    }
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for (text, file) in &manifest.files {
            let relative = checked_relative(text).ok_or_else(|| format!("a bad path `{text}`"))?;
            let source = files_dir.join(&relative);
            let (sha256, size) = match into {
                Some(into) => {
                    through_link(into, &relative)?;
                    let destination = into.join(&relative);
                    if let Some(parent) = destination.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(|error| format!("cannot restore `{text}`: {error}"))?;
                    }
                    let temporary = PathBuf::from(format!(
                        "{}.archway-restore-{}",
                        destination.display(),
                        std::process::id()
                    ));
                    staged.push((temporary.clone(), destination));
                    let (sha256, size, _) = copy_hashing(&source, &temporary, false)
                        .map_err(|error| format!("cannot restore `{text}`: {error}"))?;
                    let mode = if file.executable { 0o755 } else { 0o644 };
                    std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(mode))
                        .map_err(|error| format!("cannot restore `{text}`: {error}"))?;
                    (sha256, size)
                }
                None => {
                    let sha256 = crate::key::sha256_file(&source)
                        .map_err(|error| format!("cannot read `{text}`: {error}"))?;
                    let size = std::fs::metadata(&source)
                        .map(|meta| meta.len())
                        .unwrap_or(0);
                    (sha256, size)
                }
            };
            if sha256 != file.sha256 || size != file.size {
                return Err(format!("the file `{text}` does not match its digest"));
            }
        }
        for (text, target) in &manifest.links {
            let relative = checked_relative(text).ok_or_else(|| format!("a bad path `{text}`"))?;
            checked_link(target).ok_or_else(|| format!("a bad link target `{target}`"))?;
            let actual = std::fs::read_link(files_dir.join(&relative))
                .map_err(|error| format!("cannot read the link `{text}`: {error}"))?;
            if actual != Path::new(target) {
                return Err(format!("the link `{text}` does not match the manifest"));
            }
            if let Some(into) = into {
                through_link(into, &relative)?;
                let destination = into.join(&relative);
                let temporary = PathBuf::from(format!(
                    "{}.archway-restore-{}",
                    destination.display(),
                    std::process::id()
                ));
                let _ = std::fs::remove_file(&temporary);
                std::os::unix::fs::symlink(target, &temporary)
                    .map_err(|error| format!("cannot restore `{text}`: {error}"))?;
                staged.push((temporary, destination));
            }
        }
        Ok(())
    })();
    if let Err(reason) = result {
        for (temporary, _) in &staged {
            let _ = std::fs::remove_file(temporary);
        }
        return Err(reason);
    }
    for (temporary, destination) in &staged {
        if std::fs::symlink_metadata(destination).is_ok_and(|meta| meta.is_dir()) {
            let _ = std::fs::remove_file(temporary);
            return Err(format!(
                "cannot restore over the directory `{}`",
                destination.display()
            ));
        }
        std::fs::rename(temporary, destination)
            .map_err(|error| format!("cannot restore `{}`: {error}", destination.display()))?;
    }
    Ok((record, manifest))
}

/// Refuses a path whose directories below `into` include a symbolic link: writing through it
/// could land outside the directory restored into (a build may have made such a link).
fn through_link(into: &Path, relative: &Path) -> Result<(), String> {
    let mut path = into.to_path_buf();
    let mut components = relative.components().peekable();
    while let Some(component) = components.next() {
        if components.peek().is_none() {
            break;
        }
        path.push(component);
        if std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.file_type().is_symlink()) {
            return Err(format!(
                "cannot restore below the symbolic link `{}`",
                path.display()
            ));
        }
    }
    Ok(())
}

/// The files and links below `directory`, as `/`-joined relative paths.
fn list_tree(directory: &Path, relative: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        let file_type = entry.file_type()?;
        let path = relative.join(entry.file_name());
        if file_type.is_dir() {
            list_tree(&entry.path(), &path, out)?;
        } else {
            out.push(portable(&path).unwrap_or_else(|| "\0invalid".to_string()));
        }
    }
    Ok(())
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// Parses a size: bytes, or a number with `K`, `M`, `G`, `T` (powers of 1000, and `B` allowed
/// after) or `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024); `10GiB`, `500 MB`, `1.5G`.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() || number.matches('.').count() > 1 {
        return None;
    }
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KB" | "k" | "kB" => 1000,
        "M" | "MB" => 1000_u64.pow(2),
        "G" | "GB" => 1000_u64.pow(3),
        "T" | "TB" => 1000_u64.pow(4),
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return None,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut bytes = whole.checked_mul(multiplier)?;
    if !fraction.is_empty() {
        let digits = fraction.len().min(9) as u32;
        let fraction: u64 = fraction.get(..digits as usize)?.parse().ok()?;
        bytes = bytes.checked_add(fraction.checked_mul(multiplier)? / 10_u64.pow(digits))?;
    }
    Some(bytes)
}

/// A size for people: `1.5 GiB`, `300 KiB`, `12 B`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests;
