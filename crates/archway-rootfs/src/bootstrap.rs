//! Creating root filesystems: mmdebstrap for a base, and a derived tree for extra packages.
//!
//! Everything is made inside a partial directory of the [`Store`] and renamed into place only
//! at the end, under the key's lock, so an interrupted creation (a killed process, a failed
//! download) leaves nothing a later build would use; the next creation removes the leftovers.
//!
//! mmdebstrap runs in its `unshare` mode (mmdebstrap(1), MODES): as root the user namespace is
//! kept (files get their real owners) but the mounts for `/proc` and `/dev` live in a private
//! mount namespace, so even a `SIGKILL` leaves no mount behind in the partial directory. As an
//! ordinary user it maps root to a subordinate uid; the output is then written as a tarball
//! and unpacked without owners, so the user can use and remove the tree without privileges.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use archway_platform::Reporter;

use crate::store::{explain_full_disk, unix_now, Metadata};
use crate::{tree, Error, Rootfs, RootfsKey, Sandbox, Store, DEFAULT_MIRROR};

/// How a root filesystem with extra packages is made from its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeriveStrategy {
    /// Copy the cached base (`cp --reflink=auto`) and `apt-get install` the extra packages
    /// inside it. Needs root (dpkg sets owners). Faster when the base is cached: only the extra
    /// packages are downloaded and configured under emulation (see docs/performance.md).
    #[default]
    CopyAndInstall,
    /// A fresh mmdebstrap run with the extra packages included. Works without root.
    Fresh,
}

/// Options for [`Store::ensure`].
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Debian mirror (default: [`DEFAULT_MIRROR`]).
    pub mirror: Option<String>,
    pub derive: DeriveStrategy,
    /// The mmdebstrap program (default: `mmdebstrap` from `PATH`).
    pub mmdebstrap: Option<PathBuf>,
    /// A shared store of root filesystems: a missing one is restored from it instead of
    /// created, and a created one is offered to it.
    pub upstream: Option<Arc<dyn RootfsUpstream>>,
}

/// A shared store behind the root filesystem cache (the façade adapts archway-cache's
/// `Upstream` to it; this crate does not depend on the cache crate).
///
/// Entries are whole cache entries (the `root/` tree and the records beside it) named
/// `rootfs-<directory name>` ([`upstream_name`]). A shared store never makes a creation fail:
/// its errors are messages, which [`Store::ensure`] reports as notes before creating the root
/// filesystem itself (restore) or keeping the one it made (offer).
pub trait RootfsUpstream: Send + Sync + std::fmt::Debug {
    /// Restores the entry `name` into `into` (a directory that does not exist yet). `Ok(Some)`
    /// describes where it came from (`signed by ci-1`), `Ok(None)`: the store lacks it.
    fn restore(&self, name: &str, into: &Path) -> Result<Option<String>, String>;
    /// Offers a complete entry (its directory, never written again) to the store.
    fn offer(&self, name: &str, directory: &Path) -> Result<(), String>;
}

/// The name of `key`'s entry in a shared store: `rootfs-arm64-bookworm`,
/// `rootfs-arm64-bookworm-306c27bcd218` (only `[a-z0-9-]`, as shared names must be).
pub fn upstream_name(key: &RootfsKey) -> String {
    format!("rootfs-{}", key.directory_name())
}

// The mirror is always passed explicitly (`DEFAULT_MIRROR` when none is given): without a
// mirror argument mmdebstrap also adds the `-updates` and `-security` suites of a stable
// release, whose indices change daily (a mirror mid-sync fails the whole creation) and which
// a build environment keyed by suite does not need.

/// Lines of a failing tool's output kept for the error message.
const LOG_TAIL_LINES: usize = 25;

impl Store {
    /// The root filesystem for `key`: from the cache, or created now (a derived one from its
    /// base, creating the base first when needed). Returns whether it was created.
    pub fn ensure(
        &self,
        key: &RootfsKey,
        options: &CreateOptions,
        reporter: &dyn Reporter,
    ) -> Result<(Rootfs, bool), Error> {
        if let Some(rootfs) = self.get(key)? {
            return Ok((rootfs, false));
        }
        let as_root = running_as_root();
        let copy_from_base =
            !key.is_base() && options.derive == DeriveStrategy::CopyAndInstall && as_root;
        let base = if copy_from_base {
            Some(self.ensure(&key.base(), options, reporter)?.0)
        } else {
            None
        };
        let _lock = self.lock(key)?;
        // Someone else may have finished it while we waited for the lock.
        if let Some(rootfs) = self.get(key)? {
            return Ok((rootfs, false));
        }
        if let Some(upstream) = &options.upstream {
            if let Some(rootfs) = self.restore(upstream.as_ref(), key, reporter)? {
                return Ok((rootfs, true));
            }
        }
        let partial = self.partial_directory(key)?;
        let started = Instant::now();
        let result = match &base {
            Some(base) => install_into_copy(base, key, &partial, reporter),
            None => bootstrap(key, options, &partial, as_root, reporter),
        }
        .and_then(|made_by| {
            finish_tree(&partial.join("root"))?;
            let metadata = Metadata {
                key: key.clone(),
                created_unix: unix_now(),
                creation_seconds: started.elapsed().as_secs_f64(),
                made_by,
            };
            self.commit(&partial, metadata)
        });
        let rootfs = match result {
            Ok(rootfs) => rootfs,
            Err(error) => {
                // Best effort: the next creation removes it anyway (it is stale once our
                // lock is released).
                let _ = tree::remove_tree(&partial);
                return Err(explain_full_disk(error, self.root()));
            }
        };
        tracing::info!(key = %key, seconds = rootfs.metadata.creation_seconds, "root filesystem created");
        if let Some(upstream) = &options.upstream {
            reporter.start(&format!("sharing the {key} root filesystem"), None);
            let offered = upstream.offer(&upstream_name(key), &rootfs.directory);
            reporter.finish();
            if let Err(message) = offered {
                tracing::warn!(key = %key, message = %message, "not shared");
                reporter.note(&format!(
                    "warning: the {key} root filesystem was not shared: {message}"
                ));
            }
        }
        Ok((rootfs, true))
    }

    /// `key`'s entry from the shared store, committed into place (the caller holds the key's
    /// lock); `None` when the store lacks it, fails, or holds something that is not that
    /// root filesystem — then the caller creates it.
    fn restore(
        &self,
        upstream: &dyn RootfsUpstream,
        key: &RootfsKey,
        reporter: &dyn Reporter,
    ) -> Result<Option<Rootfs>, Error> {
        let partial = self.partial_directory(key)?;
        let started = Instant::now();
        let name = upstream_name(key);
        let what = format!("the {key} root filesystem");
        let Some((metadata, origin)) = pull_entry(
            upstream,
            &name,
            &partial,
            &what,
            reporter,
            |partial| match self.read_partial_metadata(partial)? {
                metadata if metadata.key == *key => Ok(metadata),
                metadata => Err(format!("the entry holds {}, not {key}", metadata.key)),
            },
        )?
        else {
            return Ok(None);
        };
        let metadata = Metadata {
            creation_seconds: started.elapsed().as_secs_f64(),
            made_by: format!(
                "restored from the shared cache ({origin}; made by {})",
                metadata.made_by
            ),
            created_unix: unix_now(),
            key: metadata.key,
        };
        let rootfs = self.commit(&partial, metadata).inspect_err(|_| {
            let _ = tree::remove_tree(&partial);
        })?;
        tracing::info!(key = %key, seconds = rootfs.metadata.creation_seconds, "root filesystem restored");
        Ok(Some(rootfs))
    }

    /// The `rootfs.json` of a restored entry, or why it is unusable.
    fn read_partial_metadata(&self, partial: &Path) -> Result<Metadata, String> {
        let path = partial.join(crate::store::METADATA_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("the entry has no readable `rootfs.json` ({error})"))?;
        serde_json::from_str(&text)
            .map_err(|error| format!("its `rootfs.json` is invalid ({error})"))
    }
}

/// Pulls the shared entry `name` into `partial` (an empty directory, removed first: the upstream
/// unpacks into one that does not exist yet) and checks it: `check` reads what the entry says it
/// is (a signed entry may still be another key's tree, a mislabelled push), then the same quick
/// check every build runs. Returns what `check` read and who signed it; `None` when the store
/// lacks the entry, fails, or holds something else — noted, the partial directory removed, and
/// the caller creates `what` instead.
pub(crate) fn pull_entry<M>(
    upstream: &dyn RootfsUpstream,
    name: &str,
    partial: &Path,
    what: &str,
    reporter: &dyn Reporter,
    check: impl FnOnce(&Path) -> Result<M, String>,
) -> Result<Option<(M, String)>, Error> {
    std::fs::remove_dir(partial).map_err(Error::io("remove", partial))?;
    reporter.start(&format!("restoring {what}"), None);
    let restored = upstream.restore(name, partial);
    reporter.finish();
    let checked = match restored {
        Ok(None) => return Ok(None),
        Ok(Some(origin)) => check(partial).and_then(|metadata| {
            crate::manifest::quick_check(partial)
                .map(|()| (metadata, origin))
                .map_err(|reason| format!("the entry fails its check: {reason}"))
        }),
        Err(message) => Err(message),
    };
    match checked {
        Ok(found) => Ok(Some(found)),
        Err(reason) => {
            tracing::warn!(name, reason = %reason, "not restored from the shared cache");
            reporter.note(&format!(
                "warning: not restoring {what} from the shared cache: {reason}; creating it"
            ));
            if std::fs::symlink_metadata(partial).is_ok() {
                let _ = tree::remove_tree(partial);
            }
            Ok(None)
        }
    }
}

/// The mmdebstrap command line for `key` writing to `output` (a directory, or a tarball).
pub fn mmdebstrap_arguments(
    key: &RootfsKey,
    output: &Path,
    mirror: Option<&str>,
    tarball: bool,
) -> Vec<OsString> {
    let mut arguments: Vec<OsString> = vec![
        "--mode=unshare".into(),
        // buildd: Essential + apt + build-essential — a build-ready system (mmdebstrap(1), VARIANTS).
        "--variant=buildd".into(),
        format!("--arch={}", key.architecture).into(),
    ];
    if !key.is_base() {
        let packages: Vec<&str> = key
            .packages
            .iter()
            .map(|package| package.as_str())
            .collect();
        arguments.push(format!("--include={}", packages.join(",")).into());
    }
    if tarball {
        // Device nodes cannot be unpacked without privileges; the sandbox provides /dev.
        arguments.push("--format=tar".into());
        arguments.push("--skip=output/dev".into());
    } else {
        arguments.push("--format=directory".into());
    }
    arguments.push(key.suite.name().into());
    arguments.push(output.as_os_str().to_os_string());
    arguments.push(mirror.unwrap_or(DEFAULT_MIRROR).into());
    arguments
}

fn bootstrap(
    key: &RootfsKey,
    options: &CreateOptions,
    partial: &Path,
    as_root: bool,
    reporter: &dyn Reporter,
) -> Result<String, Error> {
    run_mmdebstrap(
        options,
        partial,
        as_root,
        &key.to_string(),
        &format!("creating the {key} root filesystem"),
        |output, tarball| mmdebstrap_arguments(key, output, options.mirror.as_deref(), tarball),
        reporter,
    )
}

/// Runs mmdebstrap with `arguments(output, tarball)` into `<partial>/root`: straight into the
/// directory as root, else through a tarball unpacked without owners (see the module doc).
/// Returns how the tree was made, for the metadata.
pub(crate) fn run_mmdebstrap(
    options: &CreateOptions,
    partial: &Path,
    as_root: bool,
    key: &str,
    label: &str,
    arguments: impl Fn(&Path, bool) -> Vec<OsString>,
    reporter: &dyn Reporter,
) -> Result<String, Error> {
    let program = match &options.mmdebstrap {
        Some(program) => program.clone(),
        None => find_program("mmdebstrap").ok_or(Error::ToolMissing {
            tool: "mmdebstrap",
            package: "mmdebstrap",
        })?,
    };
    let tree = partial.join("root");
    let tarball = partial.join("root.tar");
    let output = if as_root { &tree } else { &tarball };
    let mut command = Command::new(&program);
    command.args(arguments(output, !as_root));
    reporter.start(label, None);
    let result = run_logged(command, reporter);
    reporter.finish();
    let (status, log_tail) = result?;
    if !status.success() {
        let error = Error::Bootstrap {
            key: key.to_string(),
            status: status.to_string(),
            log_tail,
        };
        // The partial directory is `<store root>/.partial-…`.
        return Err(match partial.parent() {
            Some(store_root) => explain_full_disk(error, store_root),
            None => error,
        });
    }
    if !as_root {
        std::fs::create_dir_all(&tree).map_err(Error::io("create", &tree))?;
        let output = Command::new("tar")
            .arg("--extract")
            .arg("--no-same-owner")
            .arg("--file")
            .arg(&tarball)
            .arg("--directory")
            .arg(&tree)
            .output()
            .map_err(Error::io("run `tar` to unpack", &tarball))?;
        if !output.status.success() {
            return Err(Error::Bootstrap {
                key: key.to_string(),
                status: format!("unpacking with tar: {}", output.status),
                log_tail: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        std::fs::remove_file(&tarball).map_err(Error::io("remove", &tarball))?;
    }
    Ok(format!("mmdebstrap ({})", mmdebstrap_version(&program)))
}

fn install_into_copy(
    base: &Rootfs,
    key: &RootfsKey,
    partial: &Path,
    reporter: &dyn Reporter,
) -> Result<String, Error> {
    let tree = partial.join("root");
    reporter.start(&format!("copying {}", base.key()), None);
    let copied = tree::copy_tree(&base.tree(), &tree);
    reporter.finish();
    copied?;
    let packages: Vec<&str> = key
        .packages
        .iter()
        .map(|package| package.as_str())
        .collect();
    // Package names are validated (Debian Policy characters only), so the script is safe to
    // compose. The lists are removed again to keep the tree small, as mmdebstrap does.
    let script = format!(
        "apt-get update && apt-get install --yes --no-install-recommends -- {} && apt-get clean && rm -rf /var/lib/apt/lists/*",
        packages.join(" ")
    );
    let command = Sandbox::new(&tree)
        .writable_root(true)
        .network(true)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .current_dir("/")
        .command("/bin/sh", ["-c", script.as_str()])?;
    reporter.start(
        &format!("installing {} into {}", packages.join(", "), key.base()),
        None,
    );
    let result = run_logged(command, reporter);
    reporter.finish();
    let (status, log_tail) = result?;
    if !status.success() {
        return Err(Error::Install {
            key: key.base().to_string(),
            packages: packages.join(", "),
            status: status.to_string(),
            log_tail,
        });
    }
    Ok(format!(
        "copy of {} + apt-get install",
        key.base().directory_name()
    ))
}

/// Prepares a finished tree for the read-only sandbox: `/etc/resolv.conf` must exist as a
/// mount point for `--network` (bwrap cannot create it in a read-only tree).
pub(crate) fn finish_tree(tree: &Path) -> Result<(), Error> {
    let resolv = tree.join("etc/resolv.conf");
    if std::fs::symlink_metadata(&resolv).is_err() {
        std::fs::write(&resolv, "").map_err(Error::io("create", &resolv))?;
    }
    Ok(())
}

/// Runs `command`, passing each output line to the reporter, and returns its status and the
/// last lines of its output (both streams: mmdebstrap writes its progress, `I: ...`, to
/// stderr, apt writes to stdout).
pub(crate) fn run_logged(
    mut command: Command,
    reporter: &dyn Reporter,
) -> Result<(std::process::ExitStatus, String), Error> {
    let program = PathBuf::from(command.get_program());
    tracing::debug!(command = ?command, "running");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => Error::Io {
                action: "find the program",
                path: program.clone(),
                source,
            },
            _ => Error::io("run", &program)(source),
        })?;
    let tail = std::sync::Mutex::new(VecDeque::with_capacity(LOG_TAIL_LINES));
    let follow = |stream: Box<dyn std::io::Read + Send>| {
        for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line).trim_end().to_string();
            tracing::debug!(line = %line, "output");
            if let Some(progress) = line.strip_prefix("I: ") {
                reporter.status(progress);
            }
            if let Ok(mut tail) = tail.lock() {
                if tail.len() == LOG_TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        }
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    std::thread::scope(|scope| {
        if let Some(stderr) = stderr {
            scope.spawn(|| follow(Box::new(stderr)));
        }
        if let Some(stdout) = stdout {
            follow(Box::new(stdout));
        }
    });
    let status = child.wait().map_err(Error::io("wait for", &program))?;
    let tail = tail.into_inner().unwrap_or_default();
    Ok((status, Vec::from(tail).join("\n")))
}

fn mmdebstrap_version(program: &Path) -> String {
    Command::new(program)
        .arg("--version")
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .filter(|version| !version.is_empty())
        .unwrap_or_else(|| "mmdebstrap".to_string())
}

/// Whether this process runs as root (mmdebstrap's root-owned trees, registering binfmt
/// entries and copy-and-install derivation need it).
pub fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The first executable `name` on `PATH`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|directory| directory.join(name))
        .find(|candidate| is_executable(candidate))
}

pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Architecture, Suite};
    use archway_platform::testing::Notes;

    /// A stand-in mmdebstrap: `--version` answers; otherwise the output (second to last
    /// argument) gets a small Debian-looking tree (a tarball when asked for `--format=tar`), or,
    /// with `FAIL` set, the script prints `FAIL` as its last output and exits 1.
    fn stub_mmdebstrap(directory: &Path, fail: Option<&str>) -> PathBuf {
        let program = directory.join("mmdebstrap");
        let failure = fail.map_or(String::new(), |message| {
            format!("echo '{message}' >&2; exit 1\n")
        });
        let script = format!(
            r#"#!/bin/sh
[ "$1" = --version ] && {{ echo 'mmdebstrap stub'; exit 0; }}
{failure}for argument; do previous=$output; output=$argument; done
output=$previous
tree=$output
case "$output" in *.tar) tree=$(mktemp -d) ;; esac
mkdir -p "$tree/usr/bin" "$tree/usr/lib" "$tree/etc" "$tree/var/lib/dpkg"
printf 'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36\n' > "$tree/var/lib/dpkg/status"
echo stub > "$tree/usr/bin/gcc"
case "$output" in *.tar) tar --create --file "$output" --directory "$tree" . ;; esac
"#
        );
        std::fs::write(&program, script).expect("write the stub");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        program
    }

    fn amd64() -> RootfsKey {
        RootfsKey::new(Architecture::Amd64, Suite::Bookworm, []).expect("valid key")
    }

    /// A shared store that is a directory of entries, counting what it is asked.
    #[derive(Debug, Default)]
    struct DirectoryUpstream {
        root: PathBuf,
        failure: Option<String>,
        offered: std::sync::Mutex<Vec<String>>,
    }

    impl RootfsUpstream for DirectoryUpstream {
        fn restore(&self, name: &str, into: &Path) -> Result<Option<String>, String> {
            if let Some(failure) = &self.failure {
                return Err(failure.clone());
            }
            let entry = self.root.join(name);
            if !entry.exists() {
                return Ok(None);
            }
            tree::copy_tree(&entry, into).map_err(|error| error.to_string())?;
            Ok(Some("signed by test-1".to_string()))
        }

        fn offer(&self, name: &str, directory: &Path) -> Result<(), String> {
            self.offered
                .lock()
                .map_err(|_| "poisoned".to_string())?
                .push(name.to_string());
            if let Some(failure) = &self.failure {
                return Err(failure.clone());
            }
            tree::copy_tree(directory, &self.root.join(name)).map_err(|error| error.to_string())
        }
    }

    #[test]
    fn a_created_root_filesystem_is_offered_and_a_second_machine_restores_it() {
        let shared = tempfile::tempdir().expect("temp dir");
        let first = tempfile::tempdir().expect("temp dir");
        let second = tempfile::tempdir().expect("temp dir");
        let upstream = Arc::new(DirectoryUpstream {
            root: shared.path().to_path_buf(),
            ..DirectoryUpstream::default()
        });
        let key = amd64();
        let options = CreateOptions {
            mmdebstrap: Some(stub_mmdebstrap(first.path(), None)),
            upstream: Some(upstream.clone()),
            ..CreateOptions::default()
        };
        let (made, created) = Store::new(first.path())
            .ensure(&key, &options, &archway_platform::NoProgress)
            .expect("create");
        assert!(created);
        assert!(made.metadata.made_by.starts_with("mmdebstrap"));
        assert_eq!(
            *upstream.offered.lock().expect("lock"),
            vec!["rootfs-amd64-bookworm".to_string()]
        );

        // The second machine's mmdebstrap would fail: only a restore can succeed.
        let options = CreateOptions {
            mmdebstrap: Some(stub_mmdebstrap(second.path(), Some("must not run"))),
            upstream: Some(upstream.clone()),
            ..CreateOptions::default()
        };
        let store = Store::new(second.path());
        let (restored, created) = store
            .ensure(&key, &options, &archway_platform::NoProgress)
            .expect("restore");
        assert!(created, "made on this machine now");
        assert!(
            restored.metadata.made_by.starts_with(
                "restored from the shared cache (signed by test-1; made by mmdebstrap"
            ),
            "{}",
            restored.metadata.made_by
        );
        assert!(restored.tree().join("usr/bin/gcc").is_file());
        assert!(store.verify(&key).expect("verify").is_clean());
        // Restored entries are not offered back.
        assert_eq!(upstream.offered.lock().expect("lock").len(), 1);
        let leftovers = std::fs::read_dir(store.root())
            .expect("read")
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with('.'))
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn a_created_native_prefix_is_offered_and_a_second_machine_restores_it() {
        let shared = tempfile::tempdir().expect("temp dir");
        let first = tempfile::tempdir().expect("temp dir");
        let second = tempfile::tempdir().expect("temp dir");
        let upstream = Arc::new(DirectoryUpstream {
            root: shared.path().to_path_buf(),
            ..DirectoryUpstream::default()
        });
        let rootfs = RootfsKey::new(Architecture::Arm64, Suite::Bookworm, []).expect("key");
        let key = crate::PrefixKey::for_rootfs(&rootfs, []).expect("prefix key");
        let options = CreateOptions {
            mmdebstrap: Some(stub_mmdebstrap(first.path(), None)),
            upstream: Some(upstream.clone()),
            ..CreateOptions::default()
        };
        let (made, created) = Store::new(first.path())
            .ensure_prefix(&key, &options, &archway_platform::NoProgress)
            .expect("create");
        assert!(created);
        assert_eq!(
            *upstream.offered.lock().expect("lock"),
            vec![key.directory_name()]
        );

        // The second machine's mmdebstrap would fail: only a restore can succeed.
        let options = CreateOptions {
            mmdebstrap: Some(stub_mmdebstrap(second.path(), Some("must not run"))),
            upstream: Some(upstream.clone()),
            ..CreateOptions::default()
        };
        let store = Store::new(second.path());
        let (restored, created) = store
            .ensure_prefix(&key, &options, &archway_platform::NoProgress)
            .expect("restore");
        assert!(created);
        assert!(
            restored
                .metadata
                .made_by
                .starts_with("restored from the shared cache (signed by test-1; made by "),
            "{}",
            restored.metadata.made_by
        );
        assert_eq!(restored.metadata.key, made.metadata.key);
        assert!(restored.directory.join("root/usr/bin/gcc").is_file());
        assert_eq!(upstream.offered.lock().expect("lock").len(), 1);
        let (again, created) = store
            .ensure_prefix(&key, &options, &archway_platform::NoProgress)
            .expect("cached");
        assert!(!created, "{:?}", again.metadata);

        // An entry under another prefix's name is refused, and the creation then runs (and
        // fails here, with the stub's message: nothing else was used).
        let other = crate::PrefixKey::for_rootfs(
            &rootfs,
            ["gcc-11-aarch64-linux-gnu".parse().expect("name")],
        )
        .expect("key");
        tree::copy_tree(&made.directory, &shared.path().join(other.directory_name()))
            .expect("copy");
        let notes = Notes::default();
        let error = store
            .ensure_prefix(&other, &options, &notes)
            .expect_err("refused, then mmdebstrap fails");
        assert!(error.to_string().contains("must not run"), "{error}");
        let notes = notes.all();
        assert!(
            notes
                .iter()
                .any(|note| note.contains("not restoring the native prefix")
                    && note.contains("the entry holds")),
            "{notes:?}"
        );
    }

    #[test]
    fn a_failing_or_mislabelled_shared_store_never_stops_a_creation() {
        let shared = tempfile::tempdir().expect("temp dir");
        let cache = tempfile::tempdir().expect("temp dir");
        let key = amd64();
        // An entry under amd64's name that holds another root filesystem.
        let other = RootfsKey::new(Architecture::Arm64, Suite::Bookworm, []).expect("key");
        let elsewhere = tempfile::tempdir().expect("temp dir");
        let (wrong, _) = Store::new(elsewhere.path())
            .ensure(
                &other,
                &CreateOptions {
                    mmdebstrap: Some(stub_mmdebstrap(elsewhere.path(), None)),
                    ..CreateOptions::default()
                },
                &archway_platform::NoProgress,
            )
            .expect("create");
        tree::copy_tree(&wrong.directory, &shared.path().join(upstream_name(&key))).expect("copy");
        for (failure, expected) in [
            (None, "holds arm64/bookworm, not amd64/bookworm"),
            (
                Some("the shared cache `s3://x` is unreachable: timed out".to_string()),
                "unreachable",
            ),
        ] {
            let store = Store::new(cache.path());
            store.remove(&key).expect("remove");
            let notes = Notes::default();
            let options = CreateOptions {
                mmdebstrap: Some(stub_mmdebstrap(cache.path(), None)),
                upstream: Some(Arc::new(DirectoryUpstream {
                    root: shared.path().to_path_buf(),
                    failure: failure.clone(),
                    ..DirectoryUpstream::default()
                })),
                ..CreateOptions::default()
            };
            let (rootfs, created) = store
                .ensure(&key, &options, &notes)
                .expect("created anyway");
            assert!(created);
            assert!(rootfs.metadata.made_by.starts_with("mmdebstrap"));
            let notes = notes.all().join("\n");
            assert!(notes.contains(expected), "{notes}");
            if failure.is_some() {
                assert!(notes.contains("was not shared"), "{notes}");
            }
        }
    }

    #[test]
    fn an_entry_failing_the_quick_check_is_rebuilt_by_the_next_ensure() {
        let cache = tempfile::tempdir().expect("temp dir");
        let store = Store::new(cache.path());
        let options = CreateOptions {
            mmdebstrap: Some(stub_mmdebstrap(cache.path(), None)),
            ..CreateOptions::default()
        };
        let key = amd64();
        let (rootfs, created) = store
            .ensure(&key, &options, &archway_platform::NoProgress)
            .expect("create");
        assert!(created);
        assert!(store.verify(&key).expect("verify").is_clean());
        let (_, created) = store
            .ensure(&key, &options, &archway_platform::NoProgress)
            .expect("cached");
        assert!(!created, "a sound entry is used as it is");
        std::fs::remove_dir_all(rootfs.tree().join("usr/bin")).expect("break it");
        assert!(store.get(&key).expect("get").is_none());
        let (rootfs, created) = store
            .ensure(&key, &options, &archway_platform::NoProgress)
            .expect("rebuild");
        assert!(created, "the broken entry was rebuilt");
        assert!(rootfs.tree().join("usr/bin/gcc").is_file());
        let verification = store.verify(&key).expect("verify");
        assert!(verification.is_clean(), "{:?}", verification.problems);
        let leftovers: Vec<String> = std::fs::read_dir(store.root())
            .expect("read")
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_full_disk_is_reported_as_such_with_the_file_system_and_leaves_no_entry() {
        let cache = tempfile::tempdir().expect("temp dir");
        let store = Store::new(cache.path());
        let options = CreateOptions {
            mmdebstrap: Some(stub_mmdebstrap(
                cache.path(),
                Some("E: Write error - write (28: No space left on device)"),
            )),
            ..CreateOptions::default()
        };
        let key = amd64();
        let error = store
            .ensure(&key, &options, &archway_platform::NoProgress)
            .expect_err("the disk is full");
        let Error::DiskFull { filesystem, .. } = &error else {
            panic!("not a disk-full error: {error}");
        };
        assert!(
            store.root().starts_with(filesystem),
            "{} holds {}",
            filesystem.display(),
            store.root().display()
        );
        assert!(
            error.to_string().starts_with("no space left on `"),
            "{error}"
        );
        assert!(
            error
                .hint()
                .is_some_and(|hint| hint.contains("ARCHWAY_CACHE_DIR")),
            "{:?}",
            error.hint()
        );
        assert!(store.get(&key).expect("get").is_none());
        assert_eq!(
            store.verify(&key).expect("verify").problems,
            [crate::Problem::NoEntry]
        );
    }

    #[test]
    fn mmdebstrap_gets_the_architecture_suite_and_packages() {
        let key = RootfsKey::new(
            Architecture::Riscv64,
            Suite::Trixie,
            [
                "libz-dev".parse().expect("valid"),
                "gcc-11".parse().expect("valid"),
            ],
        )
        .expect("valid key");
        let arguments: Vec<String> =
            mmdebstrap_arguments(&key, Path::new("/cache/x/root"), None, false)
                .into_iter()
                .map(|argument| argument.to_string_lossy().into_owned())
                .collect();
        assert_eq!(
            arguments,
            [
                "--mode=unshare",
                "--variant=buildd",
                "--arch=riscv64",
                "--include=gcc-11,libz-dev",
                "--format=directory",
                "trixie",
                "/cache/x/root",
                "http://deb.debian.org/debian"
            ]
        );
        let base = key.base();
        let tar: Vec<String> = mmdebstrap_arguments(
            &base,
            Path::new("/o.tar"),
            Some("http://mirror/debian"),
            true,
        )
        .into_iter()
        .map(|argument| argument.to_string_lossy().into_owned())
        .collect();
        assert!(!tar.iter().any(|argument| argument.starts_with("--include")));
        assert!(tar.contains(&"--format=tar".to_string()));
        assert_eq!(tar.last().map(String::as_str), Some("http://mirror/debian"));
    }
}
