//! Per-target sysroots filled with the target architecture's own Debian binary packages: the
//! "binary cache" of cross builds.
//!
//! apt does the dependency resolution and the downloads, with a private configuration (its own
//! `sources.list` with `[arch=arm64]`, state, cache and `dpkg` status under the sysroot's
//! directory, `APT::Architecture=arm64`), so the host's dpkg architectures and package state
//! are never touched. `dpkg-deb -x` unpacks each package into the tree; its control paragraph is
//! appended to the private status file, so the next `add` only fetches what is new.
//!
//! Layout under the cache directory (one tree per Debian suite and architecture, so gnu and musl
//! targets of one architecture share it, and the emulated method can use the same tree):
//!
//! ```text
//! sysroots/bookworm-arm64/
//!   root/            the target tree: usr/include, usr/lib/aarch64-linux-gnu, lib/ ...
//!   apt/             apt's private etc, lists, archives and dpkg status
//!   apt.conf         APT_CONFIG for every apt call
//!   manifest.json    suite, architecture, requested and unpacked packages
//!   lock             flock(2)ed while the tree changes
//! ```
//!
//! After unpacking, absolute symlinks are made relative (so `libz.so -> /lib/...` does not
//! point at the host's file), `.pc` variables holding absolute paths get the sysroot in front
//! (pkgconf leaves paths already under `PKG_CONFIG_SYSROOT_DIR` alone, so both ways of using
//! them agree), and libtool `.la` files get the same for `libdir` and `dependency_libs`.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use archway_platform::{Libc, Platform, Reporter};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The Debian archive every sysroot is filled from, unless told otherwise.
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// The keyring apt checks the archive's signatures with (package `debian-archive-keyring`).
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// The suite a sysroot for `architecture` comes from: bookworm (the host's release) where it
/// is an official architecture, trixie for riscv64 (official only from trixie on).
pub fn default_suite(architecture: &str) -> &'static str {
    match architecture {
        "riscv64" | "loong64" => "trixie",
        _ => "bookworm",
    }
}

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

/// What `manifest.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub suite: String,
    pub architecture: String,
    pub mirror: String,
    /// What users asked for, in order of first request.
    pub requested: Vec<String>,
    /// Everything unpacked, dependencies included.
    pub packages: Vec<Package>,
}

/// A sysroot on disk (it may not exist yet: [`Sysroot::add`] creates it).
#[derive(Debug, Clone)]
pub struct Sysroot {
    directory: PathBuf,
    target: Platform,
    architecture: String,
    suite: String,
    mirror: String,
}

/// What [`Sysroot::add`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AddOutcome {
    /// Packages unpacked by this call (the requested ones and new dependencies).
    pub unpacked: Vec<Package>,
}

/// One entry of [`Sysroot::list`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysrootInfo {
    /// The directory name (`bookworm-arm64`).
    pub name: String,
    pub path: PathBuf,
    pub manifest: Manifest,
}

impl Sysroot {
    /// The sysroot for `target` under `cache_dir`, from the default suite and mirror.
    pub fn open(cache_dir: &Path, target: &Platform) -> Result<Sysroot, Error> {
        let architecture = archive_architecture(target)?;
        Sysroot::open_with(
            cache_dir,
            target,
            default_suite(architecture),
            DEFAULT_MIRROR,
        )
    }

    /// The sysroot for `target` from a given Debian suite and mirror.
    pub fn open_with(
        cache_dir: &Path,
        target: &Platform,
        suite: &str,
        mirror: &str,
    ) -> Result<Sysroot, Error> {
        let architecture = archive_architecture(target)?;
        Ok(Sysroot {
            directory: cache_dir
                .join("sysroots")
                .join(format!("{suite}-{architecture}")),
            target: target.clone(),
            architecture: architecture.to_string(),
            suite: suite.to_string(),
            mirror: mirror.trim_end_matches('/').to_string(),
        })
    }

    /// The tree to give compilers as `--sysroot` and QEMU as `-L`.
    pub fn path(&self) -> PathBuf {
        self.directory.join("root")
    }

    /// The directory holding the tree, apt's state and the manifest.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    pub fn target(&self) -> &Platform {
        &self.target
    }

    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    pub fn suite(&self) -> &str {
        &self.suite
    }

    /// Has anything been unpacked yet?
    pub fn exists(&self) -> bool {
        self.directory.join("manifest.json").is_file()
    }

    /// The manifest, or an empty one for a sysroot not created yet.
    pub fn manifest(&self) -> Result<Manifest, Error> {
        read_manifest(&self.directory.join("manifest.json")).map(|manifest| {
            manifest.unwrap_or_else(|| Manifest {
                suite: self.suite.clone(),
                architecture: self.architecture.clone(),
                mirror: self.mirror.clone(),
                ..Manifest::default()
            })
        })
    }

    /// The C library development package every sysroot for this target holds.
    fn libc_package(&self) -> &'static str {
        match self.target.libc() {
            Libc::Musl => "musl-dev",
            _ => "libc6-dev",
        }
    }

    /// Fetches `packages` of the target architecture with their dependencies and unpacks the
    /// ones not already there. The C library's development package always comes along.
    pub fn add(&self, packages: &[String], reporter: &dyn Reporter) -> Result<AddOutcome, Error> {
        fs::create_dir_all(&self.directory).map_err(|source| Error::Io {
            action: "create directory",
            path: self.directory.clone(),
            source,
        })?;
        let _lock = Lock::acquire(&self.directory.join("lock"))?;
        let mut wanted: Vec<String> = vec![self.libc_package().to_string()];
        for package in packages {
            if !wanted.contains(package) {
                wanted.push(package.clone());
            }
        }
        // Everything asked for is there already: no apt run (reading the package lists alone
        // takes seconds, and builds call this every time with their `sysroot-packages`).
        let manifest = self.manifest()?;
        let unpacked: BTreeSet<&str> = manifest.packages.iter().map(|p| p.name.as_str()).collect();
        if wanted
            .iter()
            .all(|package| unpacked.contains(package.as_str()))
        {
            return Ok(AddOutcome::default());
        }
        let apt = self.prepare_apt()?;

        if apt.needs_update() {
            reporter.start(
                &format!(
                    "updating the {} {} package lists",
                    self.suite, self.architecture
                ),
                None,
            );
            let result = apt.run("apt-get", &["update"]);
            reporter.finish();
            result?;
        }

        let mut install_args = vec!["install", "--print-uris", "-qq"];
        install_args.extend(wanted.iter().map(String::as_str));
        let uris = apt.run("apt-get", &install_args)?;
        let debs = parse_print_uris(&uris);

        let mut outcome = AddOutcome::default();
        if !debs.is_empty() {
            reporter.start(&format!("downloading {} packages", debs.len()), None);
            let mut download_args = vec!["install", "--download-only", "-qq"];
            download_args.extend(wanted.iter().map(String::as_str));
            let result = apt.run("apt-get", &download_args);
            reporter.finish();
            result?;

            let root = self.path();
            fs::create_dir_all(&root).map_err(|source| Error::Io {
                action: "create directory",
                path: root.clone(),
                source,
            })?;
            reporter.start("unpacking", Some(debs.len() as u64));
            for file_name in &debs {
                let deb = apt.archives().join(file_name);
                reporter.status(file_name);
                let package = unpack(&deb, &root, &apt.status_file())?;
                outcome.unpacked.push(package);
                reporter.advance(1);
            }
            reporter.finish();
            add_merged_usr_aliases(&root)?;
            relocate_tree(&root)?;
            if host_codename().as_deref() != Some(self.suite.as_str()) {
                strip_static_debug_info(&root);
            }
        }

        let mut manifest = self.manifest()?;
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
        write_manifest(&self.directory.join("manifest.json"), &manifest)?;
        Ok(outcome)
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
        fs::remove_dir_all(&self.directory).map_err(|source| Error::Io {
            action: "remove",
            path: self.directory.clone(),
            source,
        })
    }

    /// Every sysroot under `cache_dir`.
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
            let Some(manifest) = read_manifest(&path.join("manifest.json"))? else {
                continue;
            };
            found.push(SysrootInfo {
                name: entry.file_name().to_string_lossy().into_owned(),
                path: path.join("root"),
                manifest,
            });
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    /// The private apt setup (created on first use).
    fn prepare_apt(&self) -> Result<Apt, Error> {
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
            fs::create_dir_all(&path).map_err(|source| Error::Io {
                action: "create directory",
                path,
                source,
            })?;
        }
        let status = base.join("var/lib/dpkg/status");
        if !status.exists() {
            write_file(&status, "")?;
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
        let config = format!(
            "Dir \"{base}/\";\n\
             Dir::State::status \"{status}\";\n\
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

    fn status_file(&self) -> PathBuf {
        self.base.join("var/lib/dpkg/status")
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

    fn run(&self, program: &str, args: &[&str]) -> Result<String, Error> {
        let command_line = format!(
            "APT_CONFIG={} {program} {}",
            self.config.display(),
            args.join(" ")
        );
        tracing::debug!(command = %command_line, "running apt");
        let output = Command::new(program)
            .args(args)
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

/// Unpacks one `.deb` into `root` and records it in the private dpkg status.
fn unpack(deb: &Path, root: &Path, status: &Path) -> Result<Package, Error> {
    let control = run_tool(Command::new("dpkg-deb").arg("--field").arg(deb))?;
    // Unpack beside the tree, then move into it with /lib, /bin, /sbin folded into /usr:
    // `dpkg-deb -x` would replace the tree's `lib -> usr/lib` symlink with a directory.
    let staging = root.with_file_name("unpacking");
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|source| Error::Io {
            action: "remove",
            path: staging.clone(),
            source,
        })?;
    }
    run_tool(
        Command::new("dpkg-deb")
            .arg("--extract")
            .arg(deb)
            .arg(&staging),
    )?;
    merge_into_merged_usr(&staging, root)?;
    let _ = fs::remove_dir_all(&staging);
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

/// Makes the tree self-contained: absolute symlinks relative, `.pc` and `.la` paths inside.
pub fn relocate_tree(root: &Path) -> Result<(), Error> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(directory) = stack.pop() {
        let entries = fs::read_dir(&directory).map_err(|source| Error::Io {
            action: "read directory",
            path: directory.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_symlink() {
                relativize_symlink(root, &path)?;
            } else if kind.is_file() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.ends_with(".pc") {
                    rewrite_file(&path, |text| relocate_pc(text, root))?;
                } else if name.ends_with(".la") {
                    rewrite_file(&path, |text| relocate_la(text, root))?;
                }
            }
        }
    }
    Ok(())
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
/// stays as Debian ships it.
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
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let variable = line.split_once('=').filter(|(name, _)| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        });
        match variable {
            Some((name, value)) if value.starts_with('/') && !value.starts_with(&root_text) => {
                out.push_str(name);
                out.push('=');
                out.push_str(&root_text);
                out.push_str(value);
            }
            _ => out.push_str(line),
        }
    }
    out
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

fn read_manifest(path: &Path) -> Result<Option<Manifest>, Error> {
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

fn write_manifest(path: &Path, manifest: &Manifest) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(manifest).map_err(|error| Error::Malformed {
        path: path.to_path_buf(),
        reason: error.to_string(),
    })?;
    write_file(path, &(text + "\n"))
}

/// An exclusive `flock(2)` on a file, released on drop (also when the process dies).
struct Lock {
    _file: fs::File,
}

impl Lock {
    fn acquire(path: &Path) -> Result<Lock, Error> {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|source| Error::Io {
                action: "open",
                path: path.to_path_buf(),
                source,
            })?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).map_err(|errno| {
            Error::Io {
                action: "lock",
                path: path.to_path_buf(),
                source: errno.into(),
            }
        })?;
        Ok(Lock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn pc_variables_with_absolute_paths_move_inside_the_root_once() {
        let root = Path::new("/cache/root");
        let pc = "prefix=/usr\nexec_prefix=${prefix}\nlibdir=${prefix}/lib/aarch64-linux-gnu\n\nName: zlib\nLibs: -L${libdir} -lz\n";
        let relocated = relocate_pc(pc, root);
        assert!(relocated.starts_with("prefix=/cache/root/usr\nexec_prefix=${prefix}\n"));
        assert!(relocated.contains("Libs: -L${libdir} -lz\n"));
        assert_eq!(relocate_pc(&relocated, root), relocated, "idempotent");
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
        relocate_tree(root).expect("relocate");
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
