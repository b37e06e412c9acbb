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
        Ok((rootfs, true))
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

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Architecture, Suite};

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
