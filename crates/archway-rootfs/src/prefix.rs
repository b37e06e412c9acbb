//! Native prefixes: the host's own Debian tools (a cross compiler for the target, a shell,
//! make, the text tools, perl, python, cmake...) for the hybrid method.
//!
//! A prefix is an amd64 tree made by mmdebstrap (`--variant=essential` plus the tools) from the
//! *same suite* as the root filesystem it serves, so Debian's cross gcc in it is the same GCC
//! release as the root filesystem's own gcc (bookworm: 12.2, trixie: 14.2). It is cached like a
//! root filesystem (`<cache>/rootfs/prefix-<suite>-amd64-for-<arch>[-<hash>]/`, a partial
//! directory renamed into place under the entry's lock) and never changed afterwards; the
//! hybrid view (`hybrid.rs`) links its files into a copy of the root filesystem.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use archway_platform::Reporter;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bootstrap::{finish_tree, pull_entry, run_mmdebstrap, running_as_root};
use crate::store::unix_now;
use crate::{tree, Architecture, CreateOptions, Error, PackageName, RootfsKey, Store, Suite};

const METADATA_FILE: &str = "prefix.json";

/// Tools of the prefix besides the cross compiler. The programs a build runs most (the shell,
/// make, sed, grep, awk, the coreutils) and the build systems' own interpreters; each replaces
/// the root filesystem's program of the same name only where the root filesystem has one
/// (see `hybrid.rs`), so the set of programs a configure script finds stays the emulated one.
/// `tcc` compiles the `uname` shim when a view is made (it needs no libc headers).
const TOOLS: [&str; 23] = [
    "bash",
    "dash",
    "make",
    "sed",
    "grep",
    "mawk",
    "gawk",
    "coreutils",
    "findutils",
    "diffutils",
    "gzip",
    "bzip2",
    "xz-utils",
    "tar",
    "patch",
    "m4",
    "perl",
    "cmake",
    "ninja-build",
    "meson",
    "python3",
    "file",
    "tcc",
];

/// Identifies one native prefix: the suite, the native (host) architecture, the target whose
/// cross compiler it holds, and extra packages (e.g. `gcc-11-aarch64-linux-gnu` for a
/// toolchain override).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PrefixKey {
    pub suite: Suite,
    pub native: Architecture,
    pub target: Architecture,
    pub packages: BTreeSet<PackageName>,
    /// Packages of the *target* architecture, installed side by side with the amd64 ones
    /// through Debian's multiarch (`libstd-rust-dev:arm64`, `zlib1g-dev:arm64`): what a cross
    /// build links against when the prefix itself runs the build (Rust with Debian's standard
    /// library). Empty for the hybrid method's prefixes, whose names and records stay as they
    /// were.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub foreign: BTreeSet<PackageName>,
}

impl PrefixKey {
    /// The prefix that serves root filesystems of `rootfs`'s architecture and suite on an amd64
    /// host, with `extra` packages on top of the cross compiler and the tools.
    pub fn for_rootfs(
        rootfs: &RootfsKey,
        extra: impl IntoIterator<Item = PackageName>,
    ) -> Result<PrefixKey, Error> {
        let native = Architecture::Amd64;
        if rootfs.architecture == native {
            return Err(Error::HybridNotNeeded {
                architecture: rootfs.architecture,
            });
        }
        Ok(PrefixKey {
            suite: rootfs.suite,
            native,
            target: rootfs.architecture,
            packages: extra.into_iter().collect(),
            foreign: BTreeSet::new(),
        })
    }

    /// [`PrefixKey::for_rootfs`] with packages of the target architecture as well
    /// ([`PrefixKey::foreign`]): mmdebstrap then enables both architectures.
    pub fn with_foreign(mut self, foreign: impl IntoIterator<Item = PackageName>) -> PrefixKey {
        self.foreign.extend(foreign);
        self
    }

    /// A foreign package as apt names it: `zlib1g-dev:arm64`.
    fn foreign_name(&self, package: &PackageName) -> String {
        format!("{package}:{}", self.target)
    }

    /// The GNU triple of Debian's cross toolchain for the target (`aarch64-linux-gnu`): the
    /// package names (`gcc-<triple>`), the programs (`<triple>-gcc`) and `/usr/<triple>`.
    pub fn cross_triple(&self) -> &'static str {
        cross_triple(self.target)
    }

    /// The cache directory name: `prefix-bookworm-amd64-for-arm64`, plus `-<12 hex digits of
    /// the extra package set's SHA-256>` when there are extra packages.
    pub fn directory_name(&self) -> String {
        let base = format!("prefix-{}-{}-for-{}", self.suite, self.native, self.target);
        if self.packages.is_empty() && self.foreign.is_empty() {
            return base;
        }
        let mut hasher = Sha256::new();
        for package in &self.packages {
            hasher.update(package.as_str().as_bytes());
            hasher.update(b"\n");
        }
        // `name:arch` never equals a plain name, so the two sets cannot collide.
        for package in &self.foreign {
            hasher.update(self.foreign_name(package).as_bytes());
            hasher.update(b"\n");
        }
        format!("{base}-{}", hex12(&hasher.finalize()))
    }

    /// Every package mmdebstrap includes: Debian's cross gcc, g++, cpp and binutils for the
    /// target, the tools, and the extra packages.
    pub fn included_packages(&self) -> Vec<String> {
        let triple = self.cross_triple();
        let mut packages: Vec<String> = ["gcc", "g++", "cpp", "binutils"]
            .iter()
            .map(|tool| format!("{tool}-{triple}"))
            .collect();
        packages.extend(TOOLS.iter().map(|tool| tool.to_string()));
        packages.extend(self.packages.iter().map(|package| package.to_string()));
        packages.extend(
            self.foreign
                .iter()
                .map(|package| self.foreign_name(package)),
        );
        packages
    }

    /// The mmdebstrap command line that makes this prefix at `output`.
    pub fn mmdebstrap_arguments(
        &self,
        output: &Path,
        mirror: Option<&str>,
        tarball: bool,
    ) -> Vec<OsString> {
        let mut arguments: Vec<OsString> = vec![
            "--mode=unshare".into(),
            // essential: only the Essential:yes packages and what --include pulls in
            // (mmdebstrap(1), VARIANTS); no apt, no build-essential for the host.
            "--variant=essential".into(),
            // The first architecture is the native one; the others are added to dpkg's foreign
            // architectures (mmdebstrap(1), `--architectures`).
            if self.foreign.is_empty() {
                format!("--arch={}", self.native).into()
            } else {
                format!("--arch={},{}", self.native, self.target).into()
            },
            format!("--include={}", self.included_packages().join(",")).into(),
        ];
        if tarball {
            arguments.push("--format=tar".into());
            arguments.push("--skip=output/dev".into());
        } else {
            arguments.push("--format=directory".into());
        }
        arguments.push(self.suite.name().into());
        arguments.push(output.as_os_str().to_os_string());
        arguments.push(mirror.unwrap_or(crate::DEFAULT_MIRROR).into());
        arguments
    }
}

impl fmt::Display for PrefixKey {
    /// `amd64 tools for arm64/bookworm`, or `... +gcc-11-aarch64-linux-gnu`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} tools for {}/{}",
            self.native, self.target, self.suite
        )?;
        let names = self
            .packages
            .iter()
            .map(|package| package.to_string())
            .chain(
                self.foreign
                    .iter()
                    .map(|package| self.foreign_name(package)),
            );
        for (index, name) in names.enumerate() {
            f.write_str(if index == 0 { " +" } else { "," })?;
            f.write_str(&name)?;
        }
        Ok(())
    }
}

/// Debian's GNU triple for an architecture's cross toolchain (the `gcc-<triple>` packages of
/// the amd64 archive; i386's is `i686`, unlike its multiarch directory `i386-linux-gnu`).
pub fn cross_triple(architecture: Architecture) -> &'static str {
    match architecture {
        Architecture::Amd64 => "x86_64-linux-gnu",
        Architecture::Arm64 => "aarch64-linux-gnu",
        Architecture::Armel => "arm-linux-gnueabi",
        Architecture::Armhf => "arm-linux-gnueabihf",
        Architecture::I386 => "i686-linux-gnu",
        Architecture::Mips64el => "mips64el-linux-gnuabi64",
        Architecture::Ppc64el => "powerpc64le-linux-gnu",
        Architecture::Riscv64 => "riscv64-linux-gnu",
        Architecture::S390x => "s390x-linux-gnu",
    }
}

/// The multiarch directory name of an architecture (`/usr/lib/<multiarch>`, `/usr/include/
/// <multiarch>`), from dpkg's `multiarch` table.
pub fn multiarch(architecture: Architecture) -> &'static str {
    match architecture {
        Architecture::I386 => "i386-linux-gnu",
        other => cross_triple(other),
    }
}

pub(crate) fn hex12(digest: &[u8]) -> String {
    digest
        .iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// What is recorded next to each prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrefixMetadata {
    pub key: PrefixKey,
    /// Seconds since the Unix epoch when creation finished.
    pub created_unix: u64,
    pub creation_seconds: f64,
    /// Disk usage of the tree when it was made.
    pub size_bytes: u64,
    /// `mmdebstrap (mmdebstrap 1.3.5)`.
    pub made_by: String,
}

/// A complete native prefix in the cache.
#[derive(Debug, Clone)]
pub struct Prefix {
    pub metadata: PrefixMetadata,
    /// `<cache>/rootfs/<name>`.
    pub directory: PathBuf,
}

impl Prefix {
    pub fn key(&self) -> &PrefixKey {
        &self.metadata.key
    }
    /// The root of the amd64 tree.
    pub fn tree(&self) -> PathBuf {
        self.directory.join("root")
    }
}

impl Store {
    /// The prefix for `key`, if cached.
    pub fn get_prefix(&self, key: &PrefixKey) -> Result<Option<Prefix>, Error> {
        let name = key.directory_name();
        Ok(self
            .read_usable_metadata::<PrefixMetadata>(&name, METADATA_FILE)?
            .map(|metadata| Prefix {
                metadata,
                directory: self.root().join(&name),
            }))
    }

    /// `key`'s prefix from the shared store (the entry named as its directory,
    /// `prefix-bookworm-amd64-for-arm64[-hash]`), committed into place (the caller holds the
    /// lock); `None` when the store lacks it, fails, or holds another prefix: then the caller
    /// creates it. The same checks as a root filesystem's restore (`Store::ensure`).
    fn restore_prefix(
        &self,
        upstream: &dyn crate::RootfsUpstream,
        key: &PrefixKey,
        reporter: &dyn Reporter,
    ) -> Result<Option<Prefix>, Error> {
        let name = key.directory_name();
        let partial = self.partial_directory_named(&name)?;
        let started = Instant::now();
        let what = format!("the native prefix {name}");
        let Some((recorded, origin)) =
            pull_entry(upstream, &name, &partial, &what, reporter, |partial| {
                let text =
                    std::fs::read_to_string(partial.join(METADATA_FILE)).map_err(|error| {
                        format!("the entry has no readable `{METADATA_FILE}` ({error})")
                    })?;
                match serde_json::from_str::<PrefixMetadata>(&text) {
                    Ok(recorded) if recorded.key == *key => Ok(recorded),
                    Ok(recorded) => Err(format!("the entry holds {}, not {key}", recorded.key)),
                    Err(error) => Err(format!("its `{METADATA_FILE}` is invalid: {error}")),
                }
            })?
        else {
            return Ok(None);
        };
        let metadata = PrefixMetadata {
            creation_seconds: started.elapsed().as_secs_f64(),
            made_by: format!(
                "restored from the shared cache ({origin}; made by {})",
                recorded.made_by
            ),
            created_unix: unix_now(),
            ..recorded
        };
        let directory = self
            .commit_named(&partial, &name, METADATA_FILE, &metadata)
            .inspect_err(|_| {
                let _ = tree::remove_tree(&partial);
            })?;
        tracing::info!(key = %key, seconds = metadata.creation_seconds, "native prefix restored");
        Ok(Some(Prefix {
            metadata,
            directory,
        }))
    }

    /// The prefix for `key`: from the cache, the shared store (`options.upstream`), or made now
    /// with mmdebstrap (then offered to the shared store). Returns whether it was created.
    pub fn ensure_prefix(
        &self,
        key: &PrefixKey,
        options: &CreateOptions,
        reporter: &dyn Reporter,
    ) -> Result<(Prefix, bool), Error> {
        if let Some(prefix) = self.get_prefix(key)? {
            return Ok((prefix, false));
        }
        let name = key.directory_name();
        let _lock = self.lock_named(&name)?;
        if let Some(prefix) = self.get_prefix(key)? {
            return Ok((prefix, false));
        }
        if let Some(upstream) = &options.upstream {
            if let Some(prefix) = self.restore_prefix(upstream.as_ref(), key, reporter)? {
                return Ok((prefix, true));
            }
        }
        let partial = self.partial_directory_named(&name)?;
        let started = Instant::now();
        let result = run_mmdebstrap(
            options,
            &partial,
            running_as_root(),
            &key.to_string(),
            &format!("creating the native prefix ({key})"),
            |output, tarball| key.mmdebstrap_arguments(output, options.mirror.as_deref(), tarball),
            reporter,
        );
        let made_by = match result {
            Ok(made_by) => made_by,
            Err(error) => {
                let _ = tree::remove_tree(&partial);
                return Err(explain_missing_cross_compiler(key, error));
            }
        };
        finish_tree(&partial.join("root"))?;
        let metadata = PrefixMetadata {
            key: key.clone(),
            created_unix: unix_now(),
            creation_seconds: started.elapsed().as_secs_f64(),
            size_bytes: tree::disk_usage(&partial.join("root")),
            made_by,
        };
        let directory = self.commit_named(&partial, &name, METADATA_FILE, &metadata)?;
        tracing::info!(key = %key, seconds = metadata.creation_seconds, "native prefix created");
        if let Some(upstream) = &options.upstream {
            reporter.start(&format!("sharing the native prefix {name}"), None);
            let offered = upstream.offer(&name, &directory);
            reporter.finish();
            if let Err(message) = offered {
                tracing::warn!(key = %key, message = %message, "not shared");
                reporter.note(&format!(
                    "warning: the native prefix {name} was not shared: {message}"
                ));
            }
        }
        Ok((
            Prefix {
                metadata,
                directory,
            },
            true,
        ))
    }

    /// Every complete prefix, sorted by key.
    pub fn list_prefixes(&self) -> Result<Vec<Prefix>, Error> {
        let mut prefixes = Vec::new();
        for name in self.entries_with(METADATA_FILE)? {
            if let Some(metadata) = self.read_metadata::<PrefixMetadata>(&name, METADATA_FILE)? {
                prefixes.push(Prefix {
                    metadata,
                    directory: self.root().join(&name),
                });
            }
        }
        prefixes.sort_by(|a, b| a.metadata.key.cmp(&b.metadata.key));
        Ok(prefixes)
    }

    /// Removes the prefix for `key`; `false` when there was none. Views made from it keep
    /// working (they hold hard links, not references).
    pub fn remove_prefix(&self, key: &PrefixKey) -> Result<bool, Error> {
        self.remove_named(&key.directory_name())
    }
}

/// apt's "Unable to locate package gcc-<triple>" means the suite's amd64 archive has no cross
/// compiler for the target: say so instead of showing only mmdebstrap's log.
fn explain_missing_cross_compiler(key: &PrefixKey, error: Error) -> Error {
    match error {
        Error::Bootstrap { log_tail, .. }
            if log_tail.contains(&format!(
                "Unable to locate package gcc-{}",
                key.cross_triple()
            )) =>
        {
            Error::NoCrossCompiler {
                architecture: key.target,
                suite: key.suite,
                package: format!("gcc-{}", key.cross_triple()),
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs(architecture: Architecture, suite: Suite) -> RootfsKey {
        RootfsKey::new(architecture, suite, []).expect("valid key")
    }

    #[test]
    fn prefix_names_follow_suite_and_target() {
        let key = PrefixKey::for_rootfs(&rootfs(Architecture::Arm64, Suite::Bookworm), [])
            .expect("arm64 has a prefix");
        assert_eq!(key.directory_name(), "prefix-bookworm-amd64-for-arm64");
        assert_eq!(key.to_string(), "amd64 tools for arm64/bookworm");
        let extra = PrefixKey::for_rootfs(
            &rootfs(Architecture::Riscv64, Suite::Trixie),
            ["gcc-13-riscv64-linux-gnu".parse().expect("valid")],
        )
        .expect("riscv64 has a prefix");
        assert!(extra
            .directory_name()
            .starts_with("prefix-trixie-amd64-for-riscv64-"));
        assert_eq!(
            extra.directory_name().len(),
            "prefix-trixie-amd64-for-riscv64-".len() + 12
        );
        assert!(PrefixKey::for_rootfs(&rootfs(Architecture::Amd64, Suite::Bookworm), []).is_err());
    }

    #[test]
    fn mmdebstrap_includes_the_cross_toolchain_and_the_tools() {
        let key = PrefixKey::for_rootfs(
            &rootfs(Architecture::Armhf, Suite::Trixie),
            ["gcc-13-arm-linux-gnueabihf".parse().expect("valid")],
        )
        .expect("armhf");
        let arguments: Vec<String> = key
            .mmdebstrap_arguments(Path::new("/c/p/root"), None, false)
            .into_iter()
            .map(|argument| argument.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            arguments[..3],
            ["--mode=unshare", "--variant=essential", "--arch=amd64"]
        );
        let include = arguments[3].strip_prefix("--include=").expect("include");
        let included: Vec<&str> = include.split(',').collect();
        for package in [
            "gcc-arm-linux-gnueabihf",
            "g++-arm-linux-gnueabihf",
            "cpp-arm-linux-gnueabihf",
            "binutils-arm-linux-gnueabihf",
            "make",
            "tcc",
            "gcc-13-arm-linux-gnueabihf",
        ] {
            assert!(included.contains(&package), "{package} in {include}");
        }
        assert_eq!(
            arguments[arguments.len() - 3..],
            ["trixie", "/c/p/root", "http://deb.debian.org/debian"]
        );
    }

    #[test]
    fn foreign_packages_enable_the_target_architecture_and_change_the_name() {
        let plain = PrefixKey::for_rootfs(
            &rootfs(Architecture::Arm64, Suite::Bookworm),
            ["rustc".parse().expect("valid")],
        )
        .expect("arm64");
        let key = plain
            .clone()
            .with_foreign(["libstd-rust-dev".parse().expect("valid")]);
        assert_ne!(plain.directory_name(), key.directory_name());
        let arguments: Vec<String> = key
            .mmdebstrap_arguments(Path::new("/c/p/root"), None, false)
            .into_iter()
            .map(|argument| argument.to_string_lossy().into_owned())
            .collect();
        assert_eq!(arguments[2], "--arch=amd64,arm64");
        assert!(
            arguments[3].ends_with(",rustc,libstd-rust-dev:arm64"),
            "{}",
            arguments[3]
        );
        assert_eq!(
            key.to_string(),
            "amd64 tools for arm64/bookworm +rustc,libstd-rust-dev:arm64"
        );
        // A prefix recorded before foreign packages existed still reads, with none.
        let mut recorded = serde_json::to_value(&plain).expect("serialize");
        assert!(recorded.get("foreign").is_none());
        recorded["packages"] = serde_json::json!([]);
        let read: PrefixKey = serde_json::from_value(recorded).expect("deserialize");
        assert!(read.foreign.is_empty());
        assert_eq!(read.directory_name(), "prefix-bookworm-amd64-for-arm64");
    }

    #[test]
    fn triples_and_multiarch_differ_only_for_i386() {
        for architecture in Architecture::ALL {
            let (triple, multiarch) = (cross_triple(architecture), multiarch(architecture));
            assert_eq!(triple == multiarch, architecture != Architecture::I386);
        }
        assert_eq!(cross_triple(Architecture::Ppc64el), "powerpc64le-linux-gnu");
    }

    #[test]
    fn a_missing_cross_compiler_is_named() {
        let key = PrefixKey::for_rootfs(&rootfs(Architecture::Mips64el, Suite::Bookworm), [])
            .expect("mips64el");
        let error = explain_missing_cross_compiler(
            &key,
            Error::Bootstrap {
                key: key.to_string(),
                status: "exit status: 1".to_string(),
                log_tail: "E: Unable to locate package gcc-mips64el-linux-gnuabi64".to_string(),
            },
        );
        assert!(matches!(error, Error::NoCrossCompiler { .. }), "{error:?}");
        assert!(error
            .hint()
            .is_some_and(|hint| hint.contains("--method emulated")));
    }
}
