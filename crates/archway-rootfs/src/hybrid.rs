//! The hybrid view: a root filesystem whose build tools are native.
//!
//! A view is a tree the ordinary [`crate::Sandbox`] runs unchanged. It is a hard-link copy of a
//! root filesystem (`link(2)` for every file: no data is copied and no inode of the root
//! filesystem is ever written — a file that changes is unlinked and a new one linked or
//! written in its place) with the native [`Prefix`]'s `usr/` merged over it:
//!
//! - `usr/bin`, `usr/sbin`: a prefix program replaces the root filesystem's program of the
//!   same name, and only where the root filesystem has one — so a configure script finds the
//!   same set of programs as in the emulated build (a native `gawk` next to the target's
//!   `mawk` changes the generated Makefiles: `/work/shared/reference/hybrid.md`). Never taken
//!   from the prefix: whatever reports the machine or the package system (`uname`, `arch`,
//!   `dpkg*`, `ldd`, `ldconfig`, `getconf`, `setarch`, `lscpu`) and `pkg-config` (see below).
//!   Debian's own names line up: the target's `gcc-12` is a link to `<triple>-gcc-12`, which
//!   is the cross package's program, so `gcc`, `cc`, `as`, `ld`, `ar` become native.
//! - `usr/lib/<native multiarch>`, `usr/lib64`, `usr/lib/gcc-cross`, `usr/libexec/gcc-cross`,
//!   `usr/<triple>/bin`: the prefix wins (the native libraries, loader and cross compiler).
//! - `usr/<triple>/{include,lib}` (the cross C library) are *not* taken: Debian's cross gcc
//!   searches them before the target's `/usr/include` and links `Scrt1.o`/`libc.so` from them
//!   (measured with `gcc -v`). In the view `usr/<triple>/lib` is a link to the target's own
//!   `usr/lib/<multiarch>`, and `usr/<triple>/include/c++/<version>` holds links to the
//!   target's own libstdc++ headers, so the compiler uses the root filesystem's system only.
//! - everything else: a prefix file is added only where the root filesystem has none (perl's
//!   and python's native modules, the amd64 loader's `/lib64` link).
//!
//! `pkg-config` stays the target's program (emulated): Debian's native pkgconf searches
//! `/usr/lib/x86_64-linux-gnu/pkgconfig` and would miss the target's `.pc` files; its few short
//! runs cost little, and the emulated build's answers are kept exactly.
//!
//! The machine name: native programs calling `uname(2)` would see `x86_64`. The view's
//! `/etc/ld.so.preload` names `/usr/$LIB/libarchway-uname.so`; glibc expands `$LIB` there to the
//! loader's multiarch directory (`lib/x86_64-linux-gnu` for amd64 — checked with strace on
//! Debian's glibc 2.36), so the amd64 loader loads a shim reporting the target's machine
//! (taken from the root filesystem's own `uname -m` under QEMU) and the target's loader loads
//! an empty library of its own architecture.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use archway_platform::Reporter;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::prefix::{hex12, multiarch};
use crate::store::unix_now;
use crate::{tree, Error, Prefix, PrefixKey, Rootfs, RootfsKey, Sandbox, Store};

pub(crate) const METADATA_FILE: &str = "hybrid.json";

/// Bumped whenever the way a view is made changes, so old views are not reused.
const VIEW_FORMAT: u32 = 1;

const SHIM_SOURCE: &str = include_str!("hybrid/uname.c");
const SHIM_NAME: &str = "libarchway-uname.so";

/// Programs never taken from the prefix: they report the machine or the package system, and
/// must stay the target's (emulated) for `uname -m`, `dpkg --print-architecture`, `ldd` and
/// `getconf` to answer as in the emulated build. `pkg-config`: see the module doc.
const TARGET_ONLY: [&str; 15] = [
    "uname",
    "arch",
    "dpkg",
    "ldd",
    "ldconfig",
    "getconf",
    "setarch",
    "linux32",
    "linux64",
    "i386",
    "x86_64",
    "uname26",
    "lscpu",
    "pkgconf",
    "pkg-config",
];

fn target_only(program: &str) -> bool {
    TARGET_ONLY.contains(&program)
        || program.starts_with("dpkg-")
        || program.ends_with("-pkg-config")
        || program.ends_with("-pkgconf")
}

/// What runs natively in a hybrid view, for `--explain`: every program of these kinds that the
/// root filesystem has (the exact list of a made view is [`HybridView::native_programs`]).
pub const NATIVE_PROGRAMS: &str = "the compiler and binutils (gcc, g++, cpp, cc1, as, ld, ar...), the shells (sh, bash), make, sed, grep, awk, the coreutils, find, diff, gzip, bzip2, xz, tar, patch, m4, perl, python3, cmake, ninja, meson and file";

/// What runs emulated in a hybrid view, for `--explain`.
pub const EMULATED_PROGRAMS: &str = "the programs the build makes (configure probes, tests), the target's libraries, uname, arch, dpkg, ldd, ldconfig, getconf and pkg-config";

/// What is recorded next to each view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HybridMetadata {
    pub rootfs: RootfsKey,
    pub rootfs_created_unix: u64,
    pub prefix: PrefixKey,
    pub prefix_created_unix: u64,
    /// The target's machine name the shim reports (`aarch64`, `riscv64`, `armv7l`).
    pub machine: String,
    /// The programs of `usr/bin` and `usr/sbin` that are the prefix's, sorted.
    pub native_programs: Vec<String>,
    pub created_unix: u64,
    pub creation_seconds: f64,
}

/// A complete hybrid view in the cache.
#[derive(Debug, Clone)]
pub struct HybridView {
    pub metadata: HybridMetadata,
    /// `<cache>/rootfs/hybrid-<rootfs name>-<hash>`.
    pub directory: PathBuf,
}

impl HybridView {
    /// The root of the tree (what becomes `/` in the sandbox).
    pub fn tree(&self) -> PathBuf {
        self.directory.join("root")
    }
    pub fn rootfs_key(&self) -> &RootfsKey {
        &self.metadata.rootfs
    }
    /// The programs in `/usr/bin` and `/usr/sbin` that run natively.
    pub fn native_programs(&self) -> &[String] {
        &self.metadata.native_programs
    }
    /// The cache directory name.
    pub fn name(&self) -> String {
        self.directory
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The view's cache name: `hybrid-<rootfs name>-<12 hex digits>` of a hash of both entries'
/// names and creation times (a re-created root filesystem or prefix makes a new view) and the
/// view format.
pub fn view_name(rootfs: &Rootfs, prefix: &Prefix) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "{VIEW_FORMAT}\n{}\n{}\n{}\n{}\n",
        rootfs.key().directory_name(),
        rootfs.metadata.created_unix,
        prefix.key().directory_name(),
        prefix.metadata.created_unix
    ));
    format!(
        "hybrid-{}-{}",
        rootfs.key().directory_name(),
        hex12(&hasher.finalize())
    )
}

impl Store {
    /// The hybrid view of `rootfs` with `prefix`: from the cache, or made now. Returns whether
    /// it was created. Neither the root filesystem nor the prefix is changed.
    pub fn ensure_hybrid(
        &self,
        rootfs: &Rootfs,
        prefix: &Prefix,
        reporter: &dyn Reporter,
    ) -> Result<(HybridView, bool), Error> {
        let (rootfs_key, prefix_key) = (rootfs.key(), prefix.key());
        if prefix_key.target != rootfs_key.architecture || prefix_key.suite != rootfs_key.suite {
            return Err(Error::PrefixMismatch {
                prefix: prefix_key.to_string(),
                rootfs: rootfs_key.to_string(),
            });
        }
        let name = view_name(rootfs, prefix);
        if let Some(view) = self.get_hybrid(&name)? {
            return Ok((view, false));
        }
        let _lock = self.lock_named(&name)?;
        if let Some(view) = self.get_hybrid(&name)? {
            return Ok((view, false));
        }
        let partial = self.partial_directory_named(&name)?;
        let started = Instant::now();
        reporter.start(&format!("making the hybrid view of {rootfs_key}"), None);
        let result = make_view(rootfs, prefix, &partial, &name, reporter);
        reporter.finish();
        let (machine, native_programs) = match result {
            Ok(made) => made,
            Err(error) => {
                let _ = tree::remove_tree(&partial);
                return Err(error);
            }
        };
        let metadata = HybridMetadata {
            rootfs: rootfs_key.clone(),
            rootfs_created_unix: rootfs.metadata.created_unix,
            prefix: prefix_key.clone(),
            prefix_created_unix: prefix.metadata.created_unix,
            machine,
            native_programs,
            created_unix: unix_now(),
            creation_seconds: started.elapsed().as_secs_f64(),
        };
        let directory = self.commit_named(&partial, &name, METADATA_FILE, &metadata)?;
        tracing::info!(view = %name, seconds = metadata.creation_seconds, "hybrid view created");
        Ok((
            HybridView {
                metadata,
                directory,
            },
            true,
        ))
    }

    /// The view named `name` (see [`view_name`]), if cached.
    pub fn get_hybrid(&self, name: &str) -> Result<Option<HybridView>, Error> {
        Ok(self
            .read_usable_metadata::<HybridMetadata>(name, METADATA_FILE)?
            .map(|metadata| HybridView {
                metadata,
                directory: self.root().join(name),
            }))
    }

    /// Every complete hybrid view, sorted by name.
    pub fn list_hybrid_views(&self) -> Result<Vec<HybridView>, Error> {
        let mut views = Vec::new();
        for name in self.entries_with(METADATA_FILE)? {
            if let Some(view) = self.get_hybrid(&name)? {
                views.push(view);
            }
        }
        Ok(views)
    }

    /// Removes the view named `name`; `false` when there was none.
    pub fn remove_hybrid_view(&self, name: &str) -> Result<bool, Error> {
        self.remove_named(name)
    }
}

/// Makes the view's tree in `<partial>/root`; returns the machine name and the native programs.
fn make_view(
    rootfs: &Rootfs,
    prefix: &Prefix,
    partial: &Path,
    name: &str,
    reporter: &dyn Reporter,
) -> Result<(String, Vec<String>), Error> {
    let view = partial.join("root");
    let target = rootfs.key().architecture;
    let step_error = |step: &'static str, status: String, output: String| Error::HybridView {
        view: name.to_string(),
        step,
        status,
        output,
        architecture: target,
    };

    reporter.status("asking the target for its machine name");
    let output = Sandbox::new(rootfs.tree())
        .command("uname", ["-m"])?
        .output()
        .map_err(Error::io("run `bwrap` in", rootfs.tree()))?;
    let machine = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let plausible = !machine.is_empty()
        && machine.len() < 65
        && machine
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if !output.status.success() || !plausible {
        return Err(step_error(
            "running the target's `uname -m`",
            output.status.to_string(),
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }

    reporter.status("linking the root filesystem");
    link_copy(&rootfs.tree(), &view)?;

    reporter.status("merging the native prefix");
    let mut merge = Merge {
        native_multiarch: multiarch(prefix.key().native),
        triple: prefix.key().cross_triple(),
        native_programs: BTreeSet::new(),
    };
    merge.directory(
        &prefix.tree().join("usr"),
        &view.join("usr"),
        Path::new("usr"),
    )?;
    merge.cross_system(rootfs, prefix, &view)?;
    let lib64 = view.join("lib64");
    if fs::symlink_metadata(&lib64).is_err() {
        // The amd64 loader's path is `/lib64/ld-linux-x86-64.so.2` (x86-64 psABI §5.2.1).
        std::os::unix::fs::symlink("usr/lib64", &lib64).map_err(Error::io("create", &lib64))?;
    }

    reporter.status("building the uname shim");
    install_shim(prefix, partial, &view, &machine, target, &step_error)?;
    Ok((machine, merge.native_programs.into_iter().collect()))
}

/// Compiles the shim (tcc, native) and the target's empty library (the cross gcc) inside the
/// prefix, installs both as `usr/lib/<multiarch>/libarchway-uname.so` and names them in
/// `/etc/ld.so.preload`.
fn install_shim(
    prefix: &Prefix,
    partial: &Path,
    view: &Path,
    machine: &str,
    target: crate::Architecture,
    step_error: &dyn Fn(&'static str, String, String) -> Error,
) -> Result<(), Error> {
    let build = partial.join("shim");
    fs::create_dir_all(&build).map_err(Error::io("create", &build))?;
    let source = build.join("uname.c");
    fs::write(&source, SHIM_SOURCE).map_err(Error::io("write", &source))?;
    let empty = build.join("empty.c");
    fs::write(
        &empty,
        "/* archway: the target's side of /etc/ld.so.preload does nothing */\n",
    )
    .map_err(Error::io("write", &empty))?;
    let native_multiarch = multiarch(prefix.key().native);
    let libc = format!("/usr/lib/{native_multiarch}/libc.so.6");
    let define = format!("-DARCHWAY_MACHINE=\"{machine}\"");
    let cross_gcc = format!("{}-gcc", prefix.key().cross_triple());
    let sandbox = Sandbox::new(prefix.tree()).bind(&build).current_dir(&build);
    let commands: [(&'static str, &str, Vec<&str>); 2] = [
        (
            "compiling the uname shim with the prefix's tcc",
            "tcc",
            vec![
                "-shared",
                "-nostdlib",
                &define,
                "-o",
                "native.so",
                "uname.c",
                &libc,
            ],
        ),
        (
            "compiling the target's empty preload library with the cross gcc",
            &cross_gcc,
            vec!["-shared", "-nostdlib", "-o", "target.so", "empty.c"],
        ),
    ];
    for (step, program, arguments) in commands {
        let output = run(sandbox.command(program, arguments)?, &build)?;
        if !output.status.success() {
            return Err(step_error(
                step,
                output.status.to_string(),
                String::from_utf8_lossy(&output.stderr).trim().to_string(),
            ));
        }
    }
    for (built, architecture_directory) in [
        ("native.so", native_multiarch),
        ("target.so", multiarch(target)),
    ] {
        let destination = view
            .join("usr/lib")
            .join(architecture_directory)
            .join(SHIM_NAME);
        replace_with_copy(&build.join(built), &destination, 0o644)?;
    }
    tree::remove_tree(&build)?;
    // Keep a line the root filesystem itself had (none in Debian's trees), and never write
    // into its inode: the view's file is a new one.
    let preload = view.join("etc/ld.so.preload");
    let mut text = fs::read_to_string(&preload).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("/usr/$LIB/{SHIM_NAME}\n"));
    unlink_if_present(&preload)?;
    fs::write(&preload, text).map_err(Error::io("write", &preload))
}

fn run(mut command: Command, directory: &Path) -> Result<std::process::Output, Error> {
    command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(Error::io("run `bwrap` in", directory))
}

/// Where a path of the prefix's `usr/` goes in the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    /// `usr/bin`, `usr/sbin`: replaces only a program the root filesystem has.
    Program,
    /// The native libraries, loader and cross compiler: the prefix's copy wins.
    PrefixWins,
    /// The cross C library (`usr/<triple>/include`, `usr/<triple>/lib`): not taken.
    Skipped,
    /// Anything else: added where the root filesystem has nothing.
    AddMissing,
}

struct Merge {
    native_multiarch: &'static str,
    triple: &'static str,
    native_programs: BTreeSet<String>,
}

impl Merge {
    fn zone(&self, relative: &Path) -> Zone {
        let parent = relative.parent().unwrap_or(Path::new(""));
        if parent == Path::new("usr/bin") || parent == Path::new("usr/sbin") {
            return Zone::Program;
        }
        let cross = Path::new("usr").join(self.triple);
        if relative.starts_with(cross.join("include")) || relative.starts_with(cross.join("lib")) {
            return Zone::Skipped;
        }
        let wins = [
            Path::new("usr/lib").join(self.native_multiarch),
            PathBuf::from("usr/lib64"),
            PathBuf::from("usr/lib/gcc-cross"),
            PathBuf::from("usr/libexec/gcc-cross"),
            cross,
        ];
        if wins.iter().any(|root| relative.starts_with(root)) {
            Zone::PrefixWins
        } else {
            Zone::AddMissing
        }
    }

    /// Merges the prefix directory `source` (at `relative` in the tree) into the view's `view`.
    fn directory(&mut self, source: &Path, view: &Path, relative: &Path) -> Result<(), Error> {
        for (name, from) in sorted_entries(source)? {
            let relative = relative.join(&name);
            let to = view.join(&name);
            let zone = self.zone(&relative);
            let from_metadata = fs::symlink_metadata(&from).map_err(Error::io("inspect", &from))?;
            let to_metadata = fs::symlink_metadata(&to).ok();
            match zone {
                Zone::Skipped => {}
                Zone::Program => {
                    let program = name.to_string_lossy();
                    let replaceable = to_metadata.as_ref().is_some_and(|m| !m.is_dir());
                    if from_metadata.is_dir() || target_only(&program) || !replaceable {
                        continue;
                    }
                    unlink_if_present(&to)?;
                    place(&from, &to, &from_metadata)?;
                    self.native_programs.insert(program.into_owned());
                }
                Zone::PrefixWins | Zone::AddMissing => {
                    let wins = zone == Zone::PrefixWins;
                    match (&to_metadata, from_metadata.is_dir()) {
                        (Some(existing), true) if existing.is_dir() => {
                            self.directory(&from, &to, &relative)?;
                        }
                        (None, true) => {
                            create_directory_like(&to, &from_metadata)?;
                            self.directory(&from, &to, &relative)?;
                        }
                        (Some(_), true) if wins => {
                            unlink_if_present(&to)?;
                            create_directory_like(&to, &from_metadata)?;
                            self.directory(&from, &to, &relative)?;
                        }
                        (None, false) => place(&from, &to, &from_metadata)?,
                        (Some(existing), false) if wins => {
                            if existing.is_dir() {
                                tree::remove_tree(&to)?;
                            } else {
                                unlink_if_present(&to)?;
                            }
                            place(&from, &to, &from_metadata)?;
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// `usr/<triple>/lib` → the target's own `usr/lib/<multiarch>`, and the target's own
    /// libstdc++ headers where Debian's cross g++ looks for them
    /// (`usr/<triple>/include/c++/<version>` and its `<triple>/` subdirectory).
    fn cross_system(&self, rootfs: &Rootfs, prefix: &Prefix, view: &Path) -> Result<(), Error> {
        let target_multiarch = multiarch(rootfs.key().architecture);
        let cross = view.join("usr").join(self.triple);
        fs::create_dir_all(&cross).map_err(Error::io("create", &cross))?;
        let lib = cross.join("lib");
        if fs::symlink_metadata(&lib).is_err() {
            std::os::unix::fs::symlink(format!("../lib/{target_multiarch}"), &lib)
                .map_err(Error::io("create", &lib))?;
        }
        let prefix_headers = prefix
            .tree()
            .join("usr")
            .join(self.triple)
            .join("include/c++");
        let Ok(versions) = sorted_entries(&prefix_headers) else {
            return Ok(()); // no cross g++ in the prefix
        };
        let rootfs_tree = rootfs.tree();
        for (version, from_prefix) in versions {
            let destination = cross.join("include/c++").join(&version);
            if fs::symlink_metadata(&destination).is_ok() {
                continue;
            }
            let own = rootfs_tree.join("usr/include/c++").join(&version);
            if !own.is_dir() {
                // The root filesystem has no libstdc++ headers of this version (no g++ of
                // it): its g++ would fail too; keep the cross package's.
                link_copy(&from_prefix, &destination)?;
                continue;
            }
            link_copy(&own, &destination)?;
            let own_target = rootfs_tree
                .join("usr/include")
                .join(target_multiarch)
                .join("c++")
                .join(&version);
            if own_target.is_dir() {
                link_copy(&own_target, &destination.join(self.triple))?;
            }
        }
        Ok(())
    }
}

fn sorted_entries(directory: &Path) -> Result<Vec<(std::ffi::OsString, PathBuf)>, Error> {
    let mut entries: Vec<_> = fs::read_dir(directory)
        .map_err(Error::io("read", directory))?
        .map(|entry| entry.map(|entry| (entry.file_name(), entry.path())))
        .collect::<Result<_, _>>()
        .map_err(Error::io("read", directory))?;
    entries.sort();
    Ok(entries)
}

/// A hard-link copy of a whole tree (`cp -a -l`, GNU coreutils: directories are made anew with
/// their modes, owners and times; files are linked; symbolic links are copied).
fn link_copy(source: &Path, destination: &Path) -> Result<(), Error> {
    if let Some(parent) = destination.parent() {
        fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
    }
    let output = Command::new("cp")
        .arg("-a")
        .arg("-l")
        .arg("--no-target-directory")
        .arg("--")
        .arg(source)
        .arg(destination)
        .output()
        .map_err(Error::io("run `cp` to link", source))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(Error::Io {
            action: "link a copy of",
            path: source.to_path_buf(),
            source: std::io::Error::other(
                String::from_utf8_lossy(&output.stderr).trim().to_string(),
            ),
        })
    }
}

/// Puts the prefix's `from` at `to` (which does not exist): a symbolic link is copied, a file
/// is hard-linked (copied when the two trees are on different filesystems).
fn place(from: &Path, to: &Path, metadata: &fs::Metadata) -> Result<(), Error> {
    if metadata.file_type().is_symlink() {
        let target = fs::read_link(from).map_err(Error::io("read", from))?;
        return std::os::unix::fs::symlink(target, to).map_err(Error::io("create", to));
    }
    match fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(error) if error.raw_os_error() == Some(rustix::io::Errno::XDEV.raw_os_error()) => {
            replace_with_copy(from, to, metadata.permissions().mode())
        }
        Err(error) => Err(Error::io("link", to)(error)),
    }
}

/// Writes a new file at `destination` (unlinking what was there) with `from`'s content.
fn replace_with_copy(from: &Path, destination: &Path, mode: u32) -> Result<(), Error> {
    unlink_if_present(destination)?;
    fs::copy(from, destination).map_err(Error::io("copy to", destination))?;
    fs::set_permissions(destination, fs::Permissions::from_mode(mode))
        .map_err(Error::io("set the mode of", destination))
}

fn unlink_if_present(path: &Path) -> Result<(), Error> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(Error::io("remove", path)(error)),
    }
}

fn create_directory_like(path: &Path, like: &fs::Metadata) -> Result<(), Error> {
    fs::create_dir(path).map_err(Error::io("create", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(like.mode() & 0o7777))
        .map_err(Error::io("set the mode of", path))?;
    if crate::running_as_root() {
        std::os::unix::fs::chown(path, Some(like.uid()), Some(like.gid()))
            .map_err(Error::io("set the owner of", path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge() -> Merge {
        Merge {
            native_multiarch: "x86_64-linux-gnu",
            triple: "aarch64-linux-gnu",
            native_programs: BTreeSet::new(),
        }
    }

    #[test]
    fn zones_follow_the_merge_rule() {
        let merge = merge();
        let table = [
            ("usr/bin/make", Zone::Program),
            ("usr/sbin/ldconfig", Zone::Program),
            ("usr/lib/x86_64-linux-gnu/libc.so.6", Zone::PrefixWins),
            ("usr/lib64/ld-linux-x86-64.so.2", Zone::PrefixWins),
            (
                "usr/lib/gcc-cross/aarch64-linux-gnu/12/cc1",
                Zone::PrefixWins,
            ),
            ("usr/aarch64-linux-gnu/bin/as", Zone::PrefixWins),
            ("usr/aarch64-linux-gnu/lib/libc.so", Zone::Skipped),
            ("usr/aarch64-linux-gnu/include/stdio.h", Zone::Skipped),
            ("usr/share/perl/5.36/strict.pm", Zone::AddMissing),
            ("usr/lib/python3.11/os.py", Zone::AddMissing),
            ("usr/bin", Zone::AddMissing),
            ("usr/lib/aarch64-linux-gnu/libc.so.6", Zone::AddMissing),
        ];
        for (path, zone) in table {
            assert_eq!(merge.zone(Path::new(path)), zone, "{path}");
        }
    }

    #[test]
    fn machine_reporting_programs_stay_the_targets() {
        for program in [
            "uname",
            "arch",
            "dpkg",
            "dpkg-architecture",
            "ldd",
            "getconf",
            "pkg-config",
            "aarch64-linux-gnu-pkg-config",
        ] {
            assert!(target_only(program), "{program}");
        }
        for program in ["gcc", "make", "sh", "aarch64-linux-gnu-gcc-12", "python3"] {
            assert!(!target_only(program), "{program}");
        }
    }

    /// A fake root filesystem and prefix on disk: the merge replaces only programs the root
    /// filesystem has, never writes through its inodes, adds missing files, skips the cross C
    /// library.
    #[test]
    fn merging_replaces_by_unlinking_and_keeps_the_target_system() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (rootfs, prefix, view) = (
            dir.path().join("rootfs"),
            dir.path().join("prefix"),
            dir.path().join("view"),
        );
        let write = |path: PathBuf, text: &str| {
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, text).expect("write");
        };
        write(rootfs.join("usr/bin/make"), "target make");
        write(rootfs.join("usr/bin/uname"), "target uname");
        write(rootfs.join("usr/share/doc/make/copyright"), "target doc");
        write(prefix.join("usr/bin/make"), "native make");
        write(prefix.join("usr/bin/uname"), "native uname");
        write(prefix.join("usr/bin/python3"), "native python");
        write(prefix.join("usr/share/doc/make/copyright"), "native doc");
        write(prefix.join("usr/share/perl5/Native.pm"), "native module");
        write(
            prefix.join("usr/lib/x86_64-linux-gnu/libc.so.6"),
            "amd64 libc",
        );
        write(prefix.join("usr/aarch64-linux-gnu/bin/as"), "native as");
        write(
            prefix.join("usr/aarch64-linux-gnu/include/stdio.h"),
            "cross libc",
        );
        link_copy(&rootfs, &view).expect("link copy");
        let mut merge = merge();
        merge
            .directory(&prefix.join("usr"), &view.join("usr"), Path::new("usr"))
            .expect("merge");
        let read = |path: &str| fs::read_to_string(view.join(path)).ok();
        assert_eq!(read("usr/bin/make").as_deref(), Some("native make"));
        assert_eq!(read("usr/bin/uname").as_deref(), Some("target uname"));
        assert_eq!(read("usr/bin/python3"), None, "not in the root filesystem");
        assert_eq!(
            read("usr/share/doc/make/copyright").as_deref(),
            Some("target doc")
        );
        assert_eq!(
            read("usr/share/perl5/Native.pm").as_deref(),
            Some("native module")
        );
        assert_eq!(
            read("usr/lib/x86_64-linux-gnu/libc.so.6").as_deref(),
            Some("amd64 libc")
        );
        assert_eq!(
            read("usr/aarch64-linux-gnu/bin/as").as_deref(),
            Some("native as")
        );
        assert_eq!(read("usr/aarch64-linux-gnu/include/stdio.h"), None);
        assert_eq!(
            fs::read_to_string(rootfs.join("usr/bin/make"))
                .ok()
                .as_deref(),
            Some("target make"),
            "the root filesystem's inode is untouched"
        );
        assert_eq!(
            merge.native_programs.into_iter().collect::<Vec<_>>(),
            ["make"]
        );
    }
}
