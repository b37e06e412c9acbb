//! Rust without rustup: where a Cargo build's standard library for the target comes from, and
//! Cargo inside a sandbox.
//!
//! A cross Cargo build needs the target's prebuilt standard library, made by *exactly* the
//! `rustc` that compiles the project (rlibs carry the compiler's version; rustc refuses others
//! with E0514). Two places have it:
//! - **rustup**: `rustup target add <triple>` puts it under the host rustc's sysroot
//!   (`<sysroot>/lib/rustlib/<triple>/lib`). Used whenever it is there, as before.
//! - **Debian**: every release architecture's `libstd-rust-dev:<arch>`, built by the suite's
//!   own `rustc` (bookworm 1.63, trixie 1.85). It only works with that `rustc` of that suite.
//!
//! For Debian's, archway runs the build in a *native prefix* ([`archway_rootfs::Prefix`]: an
//! amd64 mmdebstrap tree of the target's suite, the one the hybrid method uses) that also holds
//! `rustc`, `cargo`, `pkg-config` and, through multiarch (`mmdebstrap --architectures=amd64,
//! <arch>`), `libstd-rust-dev:<arch>` and the project's `sysroot-packages` as `<name>:<arch>`;
//! Debian's cross gcc of that suite links. Cargo runs in bubblewrap with the sandbox's identity
//! rules (as root: an unprivileged user), since build scripts and proc macros are the project's
//! own code. Why a prefix rather than `rustc --sysroot` over an extracted Debian `rustc`:
//! - trixie's rustc needs trixie's glibc (2.41) and `libLLVM-19`: extracted on a bookworm host
//!   (glibc 2.36) it does not start, while a prefix brings its suite's whole userland;
//! - build scripts and proc macros compile for the host: they need the host standard library
//!   *of the same rustc* (`libstd-rust-dev:amd64`) and a host linker (`gcc`, which Debian's
//!   `rustc` depends on), which apt resolves in the prefix, where `--sysroot` would need them
//!   assembled and their `LD_LIBRARY_PATH` kept away from the project's own programs;
//! - apt checks that `libstd-rust-dev:<arch>` and `rustc` are the same version (both come from
//!   one source package, `Multi-Arch: same`), so the pairing cannot drift.
//!
//! The emulated and hybrid methods use the root filesystem's own `cargo` (the hybrid view keeps
//! `cargo` and `rustc` emulated: the native prefix has neither, see `NATIVE_PROGRAMS`), so
//! they need no standard library from anywhere else.
//!
//! Cargo of any of these fetches crates from crates.io before the build, in a sandbox that
//! shares the host's network; the build itself runs offline. Debian's cargo before 1.70 would
//! clone crates.io's git index (often unreachable, and large): see [`SparseIndex`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use archway_platform::{Platform, Reporter};
use archway_rootfs::{Architecture, PackageName, PrefixKey, RootfsKey, Sandbox, Store, Suite};
use serde::Serialize;

use crate::backend::{Environment, Job};
use crate::emulated::SandboxExecutor;
use crate::executor::Executor;
use crate::project::BuildSystem;
pub use crate::rust_needs::RustNeeds;
use crate::steps::{CrossFiles, CrossSetup, Step, Toolset};
use crate::Error;

/// A Rust release (`1.63`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RustVersion {
    pub major: u32,
    pub minor: u32,
}

impl fmt::Display for RustVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The `rustc` (and `cargo`, `libstd-rust-dev`) a Debian suite ships: bookworm's `rustc`
/// 1.63.0+dfsg1-2, trixie's 1.85.0+dfsg3-1 (packages.debian.org/<suite>/rustc).
pub fn debian_rustc(suite: Suite) -> RustVersion {
    match suite {
        Suite::Bookworm => RustVersion {
            major: 1,
            minor: 63,
        },
        Suite::Trixie => RustVersion {
            major: 1,
            minor: 85,
        },
    }
}

/// The Rust target Debian's `rustc` builds for, and its `libstd-rust-dev:<arch>` holds, on each
/// architecture (`rustc -vV` on each port; debian/rules of the `rustc` source: `DEB_HOST_RUST_TYPE`).
/// A musl or other variant of the same CPU is not served by it.
/// The Rust target name of `target`: its own, else Debian's for its architecture.
pub fn rust_target_of(target: &Platform) -> Option<String> {
    target.rust_target().or_else(|| {
        Architecture::from_platform(target)
            .ok()
            .map(|architecture| debian_rust_target(architecture).to_string())
    })
}

pub fn debian_rust_target(architecture: Architecture) -> &'static str {
    match architecture {
        Architecture::Amd64 => "x86_64-unknown-linux-gnu",
        Architecture::Arm64 => "aarch64-unknown-linux-gnu",
        Architecture::Armel => "armv5te-unknown-linux-gnueabi",
        Architecture::Armhf => "armv7-unknown-linux-gnueabihf",
        Architecture::I386 => "i686-unknown-linux-gnu",
        Architecture::Mips64el => "mips64el-unknown-linux-gnuabi64",
        Architecture::Ppc64el => "powerpc64le-unknown-linux-gnu",
        Architecture::Riscv64 => "riscv64gc-unknown-linux-gnu",
        Architecture::S390x => "s390x-unknown-linux-gnu",
    }
}

/// How a cargo reaches crates.io's sparse index (`https://index.crates.io/`) instead of
/// cloning the git index: unstable `-Z sparse-registry` before 1.68, the
/// `registries.crates-io.protocol = "sparse"` setting in 1.68 and 1.69, the default from 1.70
/// (the Rust blog, "Rust 1.68.0" and "Rust 1.70.0").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparseIndex {
    /// `cargo -Z sparse-registry`, allowed on a stable cargo only with its release channel
    /// overridden (`__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=nightly`, read by cargo's
    /// `features::channel()`): unlike `RUSTC_BOOTSTRAP=1` it does not reach rustc, so crates
    /// that probe for nightly features in their build scripts still see a stable compiler.
    Unstable,
    /// `CARGO_REGISTRIES_CRATES_IO_PROTOCOL=sparse`.
    Setting,
    /// Nothing to do.
    Default,
}

impl SparseIndex {
    pub fn for_cargo(version: RustVersion) -> SparseIndex {
        match version.minor {
            _ if version.major > 1 => SparseIndex::Default,
            0..=67 => SparseIndex::Unstable,
            68..=69 => SparseIndex::Setting,
            _ => SparseIndex::Default,
        }
    }

    /// Arguments before cargo's subcommand.
    fn arguments(self) -> &'static [&'static str] {
        match self {
            SparseIndex::Unstable => &["-Z", "sparse-registry"],
            SparseIndex::Setting | SparseIndex::Default => &[],
        }
    }

    fn environment(self) -> &'static [(&'static str, &'static str)] {
        match self {
            SparseIndex::Unstable => {
                &[("__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS", "nightly")]
            }
            SparseIndex::Setting => &[("CARGO_REGISTRIES_CRATES_IO_PROTOCOL", "sparse")],
            SparseIndex::Default => &[],
        }
    }
}

/// Debian's Rust for one target: the architecture's `libstd-rust-dev` and the suite's `rustc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DebianRust {
    pub architecture: Architecture,
    pub suite: Suite,
    pub version: RustVersion,
}

impl fmt::Display for DebianRust {
    /// `Debian's rustc 1.63 with libstd-rust-dev:arm64 (bookworm)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Debian's rustc {} with libstd-rust-dev:{} ({})",
            self.version, self.architecture, self.suite
        )
    }
}

/// What the choice of a Cargo build's standard library depends on, gathered from the machine
/// or made up by a test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RustFacts {
    /// The target as the user will recognise it.
    pub target: String,
    /// The Rust target triple (`None`: Rust has no target for the platform).
    pub triple: Option<String>,
    /// rustup's standard library for the target (`<sysroot>/lib/rustlib/<triple>`), when the
    /// host `rustc` has one.
    pub rustup_std: Option<PathBuf>,
    /// Debian's Rust for the target, or why there is none for this host and target.
    pub debian: Result<DebianRust, String>,
    /// Debian has a root filesystem for the target (so its own cargo can build emulated).
    pub debian_port: bool,
    /// What the project's manifests and lock ask of Rust ([`crate::rust_needs`]).
    pub needs: Option<RustNeeds>,
}

/// How to get a Rust new enough for the project ([`Error::ProjectNeedsNewerRust`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RustFix {
    /// rustup's standard library for the target, for the cross method.
    Rustup { rust_target: String },
    /// A root filesystem of a newer suite (the emulated and hybrid methods).
    Suite { suite: Suite, version: RustVersion },
    /// No suite's Rust is new enough: the cross method with rustup's.
    CrossWithRustup { rust_target: String },
}

/// The root filesystem for a Cargo project built with the target's own cargo (the emulated
/// and hybrid methods): when the user named no suite, the oldest whose `rustc` meets the
/// project's `needs` (said on `reporter` when it is not the default one); an error naming
/// the fix when the named suite's, or every suite's, is too old.
pub fn rootfs_for(
    request: &crate::backend::RootfsRequest,
    target: &Platform,
    needs: &RustNeeds,
    reporter: &dyn Reporter,
) -> Result<crate::backend::RootfsRequest, Error> {
    let Ok(architecture) = Architecture::from_platform(target) else {
        return Ok(request.clone());
    };
    let newer = suite_for(architecture, Some(needs));
    let rust_target = target
        .rust_target()
        .unwrap_or_else(|| debian_rust_target(architecture).to_string());
    let too_old = |debian: String| Error::ProjectNeedsNewerRust {
        needs: needs.clone(),
        debian,
        fix: match newer {
            Some(suite) => RustFix::Suite {
                suite,
                version: debian_rustc(suite),
            },
            None => RustFix::CrossWithRustup {
                rust_target: rust_target.clone(),
            },
        },
    };
    match request.suite.as_deref().map(str::parse::<Suite>) {
        // An unknown suite is the root filesystem's own error to give.
        Some(Err(_)) => Ok(request.clone()),
        Some(Ok(suite)) if debian_rustc(suite) >= needs.version => Ok(request.clone()),
        Some(Ok(suite)) => Err(too_old(format!(
            "the {architecture}/{suite} root filesystem's rustc is {}",
            debian_rustc(suite)
        ))),
        None => match newer {
            Some(suite) if suite == architecture.default_suite() => Ok(request.clone()),
            Some(suite) => {
                reporter.note(&format!(
                    "root filesystem: {architecture}/{suite}, whose rustc {} builds the project \
                     (it needs {needs})",
                    debian_rustc(suite)
                ));
                Ok(crate::backend::RootfsRequest {
                    suite: Some(suite.name().to_string()),
                    ..request.clone()
                })
            }
            None => {
                let newest = newest_suite(architecture);
                Err(too_old(format!(
                    "Debian's newest rustc for {architecture} is {} ({newest})",
                    debian_rustc(newest)
                )))
            }
        },
    }
}

/// The newest suite that carries `architecture` (the one with the newest Rust).
pub fn newest_suite(architecture: Architecture) -> Suite {
    Suite::ALL
        .into_iter()
        .filter(|suite| suite.carries(architecture.name()))
        .max()
        .unwrap_or_else(|| architecture.default_suite())
}

/// The suite whose Rust builds a project with `needs` for `architecture`: the oldest that
/// carries the architecture and whose `rustc` is new enough (the default suite when the
/// project asks for nothing newer than it has); `None` when no suite's is.
pub fn suite_for(architecture: Architecture, needs: Option<&RustNeeds>) -> Option<Suite> {
    let default = architecture.default_suite();
    match needs {
        Some(needs) if needs.version > debian_rustc(default) => Suite::ALL
            .into_iter()
            .filter(|suite| suite.carries(architecture.name()))
            .find(|suite| debian_rustc(*suite) >= needs.version),
        _ => Some(default),
    }
}

/// Where the standard library of a cross Cargo build comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StdSource {
    /// The host rustc's own (`rustup target add`): cargo runs on the host.
    Rustup(PathBuf),
    /// Debian's, in a native prefix of its suite.
    Debian(DebianRust),
}

impl RustFacts {
    /// The facts for `target`: the host `rustc` on `search_path` and its sysroot, and whether a
    /// native prefix can be made for the target on `host` (Debian's programs are amd64), of
    /// the suite whose Rust meets the project's `needs` ([`suite_for`]).
    pub fn gather(
        target: &Platform,
        host: &Platform,
        search_path: &std::ffi::OsStr,
        needs: Option<RustNeeds>,
    ) -> RustFacts {
        let triple = target.rust_target();
        let rustup_std = triple
            .as_ref()
            .and_then(|_| archway_toolchain::rust_std(target, search_path).ok())
            .map(|found| found.path);
        let debian = match Architecture::from_platform(target) {
            Err(_) => Err(format!("Debian has no port for `{}`", target.config())),
            Ok(architecture) if triple.as_deref() != Some(debian_rust_target(architecture)) => {
                Err(format!(
                    "Debian's libstd-rust-dev:{architecture} is for `{}`, not `{}`",
                    debian_rust_target(architecture),
                    triple.as_deref().unwrap_or("none")
                ))
            }
            Ok(architecture) => crate::backend::hybrid::prefix_possible(host, Some(architecture))
                .map(|_| {
                    let suite = suite_for(architecture, needs.as_ref())
                        .unwrap_or_else(|| newest_suite(architecture));
                    DebianRust {
                        architecture,
                        suite,
                        version: debian_rustc(suite),
                    }
                }),
        };
        RustFacts {
            target: target.config(),
            triple,
            rustup_std,
            debian,
            debian_port: Architecture::from_platform(target).is_ok(),
            needs,
        }
    }

    /// rustup's standard library when it is installed, else Debian's; an error naming both
    /// causes and both fixes when neither serves. Pure.
    pub fn choose(&self) -> Result<StdSource, Error> {
        let Some(triple) = &self.triple else {
            return Err(Error::NoRustTarget {
                target: self.target.clone(),
            });
        };
        if let Some(path) = &self.rustup_std {
            return Ok(StdSource::Rustup(path.clone()));
        }
        match &self.debian {
            Ok(debian) => match &self.needs {
                Some(needs) if needs.version > debian.version => {
                    Err(Error::ProjectNeedsNewerRust {
                        needs: needs.clone(),
                        debian: format!(
                            "Debian's newest rustc for {} is {} ({})",
                            debian.architecture, debian.version, debian.suite
                        ),
                        fix: RustFix::Rustup {
                            rust_target: triple.clone(),
                        },
                    })
                }
                _ => Ok(StdSource::Debian(debian.clone())),
            },
            Err(why) => Err(Error::RustTargetMissing {
                rust_target: triple.clone(),
                debian: why.clone(),
                emulated: self.debian_port,
            }),
        }
    }
}

/// The native prefix that builds with Debian's Rust: the suite's `rustc`, `cargo`,
/// `pkg-config` and CA certificates (amd64), the target's `libstd-rust-dev` and `libraries`
/// (`sysroot-packages`, as `<name>:<arch>`).
pub fn prefix_key(debian: &DebianRust, libraries: &[String]) -> Result<PrefixKey, Error> {
    let base = RootfsKey::new(debian.architecture, debian.suite, [])?;
    let names = |names: &[&str]| -> Vec<PackageName> {
        names.iter().filter_map(|name| name.parse().ok()).collect()
    };
    // Validated like `rootfs-packages` (a name never starts with `-`, no `:`).
    let libraries =
        RootfsKey::from_names(debian.architecture, Some(debian.suite.name()), libraries)?;
    Ok(PrefixKey::for_rootfs(
        &base,
        names(&["rustc", "cargo", "pkg-config", "ca-certificates"]),
    )?
    .with_foreign(
        names(&["libstd-rust-dev"])
            .into_iter()
            .chain(libraries.packages),
    ))
}

/// What the steps of a cross Cargo build in the prefix get: Debian's cross gcc as linker and
/// as cc-rs's compiler for the target, the target's pkg-config directories (multiarch), QEMU
/// (bound from the host at `qemu`) as the runner. All scoped to the Rust target, so build
/// scripts and proc macros build for the host with its `cc` and its pkg-config paths.
pub fn prefix_variables(
    target: &Platform,
    architecture: Architecture,
    triple: &str,
    qemu: Option<&Path>,
) -> BTreeMap<String, String> {
    let cross = archway_rootfs::cross_triple(architecture);
    let multiarch = archway_rootfs::multiarch(architecture);
    let underscored = triple.replace('-', "_");
    let cargo = format!("CARGO_TARGET_{}", underscored.to_ascii_uppercase());
    let mut vars = BTreeMap::new();
    vars.insert(format!("CC_{underscored}"), format!("{cross}-gcc"));
    vars.insert(format!("CXX_{underscored}"), format!("{cross}-g++"));
    vars.insert(format!("AR_{underscored}"), format!("{cross}-ar"));
    vars.insert(format!("{cargo}_LINKER"), format!("{cross}-gcc"));
    // The pkg-config crate reads `<VARIABLE>_<target>` first (its `targetted_env_var`); the
    // `.pc` files of `<name>:<arch>` say `libdir=${prefix}/lib/<multiarch>`, which Debian's
    // cross gcc searches too.
    vars.insert(
        format!("PKG_CONFIG_LIBDIR_{underscored}"),
        format!("/usr/lib/{multiarch}/pkgconfig:/usr/share/pkgconfig"),
    );
    vars.insert(
        format!("PKG_CONFIG_ALLOW_CROSS_{underscored}"),
        "1".to_string(),
    );
    if let Some(qemu) = qemu {
        let mut runner = vec![qemu.display().to_string()];
        if let Some(model) = target.qemu_cpu().model() {
            runner.extend(["-cpu".to_string(), model.to_string()]);
        }
        vars.insert(format!("{cargo}_RUNNER"), runner.join(" "));
    }
    let flags = target.rustc_cpu_flags();
    if !flags.is_empty() {
        vars.insert(format!("{cargo}_RUSTFLAGS"), flags.join(" "));
    }
    vars
}

/// The native prefix for `debian` with `libraries`, created when missing.
pub fn ensure_prefix(
    cache_dir: &Path,
    debian: &DebianRust,
    libraries: &[String],
    reporter: &dyn Reporter,
) -> Result<archway_rootfs::Prefix, Error> {
    let key = prefix_key(debian, libraries)?;
    let (prefix, created) =
        Store::new(cache_dir).ensure_prefix(&key, &Default::default(), reporter)?;
    if created {
        reporter.note(&format!(
            "created the native prefix {} in {:.0} s",
            key.directory_name(),
            prefix.metadata.creation_seconds
        ));
    }
    Ok(prefix)
}

/// The host's CA bundle: crates.io is reached through the host's network, so through whatever
/// the host trusts on it (a proxy's own authority too), like `/etc/resolv.conf`.
const HOST_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Cargo in a sandbox: before the first cargo step, `cargo fetch` downloads the crates into
/// `CARGO_HOME` (in the build directory, the only place a build writes) in a copy of the
/// sandbox that shares the host's network; every step then runs offline in the sandbox
/// without network, so the project's build scripts cannot reach it.
#[derive(Debug)]
pub struct CargoExecutor {
    inner: SandboxExecutor,
    fetch: SandboxExecutor,
    sparse: SparseIndex,
    /// `CARGO_HOME`, where the fetch leaves cargo's cache of the index.
    cargo_home: PathBuf,
    /// A Debian `rustc` older than cargo's Rust-version-aware resolver (1.84): the `Cargo.lock`
    /// a fetch makes is fitted to it ([`crate::msrv`]).
    fit_to: Option<RustVersion>,
    /// Whether the fetch ran (and its failure, an exit code, to give again).
    fetched: Mutex<Option<Option<i32>>>,
}

impl CargoExecutor {
    /// Wraps `inner` (a sandbox without network) for a cargo of `version` whose crates go to
    /// `<build_dir>/.archway/cargo-home`.
    pub fn new(
        mut inner: SandboxExecutor,
        build_dir: &Path,
        version: RustVersion,
    ) -> CargoExecutor {
        let cargo_home = build_dir.join(".archway/cargo-home");
        let sparse = SparseIndex::for_cargo(version);
        let mut sandbox = inner
            .sandbox
            .clone()
            .env("CARGO_HOME", cargo_home.as_os_str());
        for (name, value) in sparse.environment() {
            sandbox = sandbox.env(name, value);
        }
        // Cargo 1.84 and later lock the newest versions the running rustc can build (older
        // ones ignore the setting; see `fit_to`).
        let mut fetch = sandbox
            .clone()
            .network(true)
            .env("CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS", "fallback");
        if Path::new(HOST_CA_BUNDLE).is_file() {
            fetch = fetch
                .bind_read_only(HOST_CA_BUNDLE)
                .env("CARGO_HTTP_CAINFO", HOST_CA_BUNDLE);
        }
        inner.sandbox = sandbox.env("CARGO_NET_OFFLINE", "true");
        let fetch = SandboxExecutor {
            sandbox: fetch,
            tree: inner.tree.clone(),
            description: inner.description.clone(),
            output: inner.output.clone(),
        };
        CargoExecutor {
            inner,
            fetch,
            sparse,
            cargo_home,
            fit_to: None,
            fetched: Mutex::new(None),
        }
    }

    /// For a Debian cargo and rustc of `version`: below 1.84, whose cargo locks the newest
    /// versions whatever they need, the `Cargo.lock` a fetch makes is fitted to that rustc.
    pub fn fitting_dependencies_to(mut self, version: RustVersion) -> CargoExecutor {
        const RESOLVER_WITH_RUST_VERSIONS: RustVersion = RustVersion {
            major: 1,
            minor: 84,
        };
        self.fit_to = (version < RESOLVER_WITH_RUST_VERSIONS).then_some(version);
        self
    }

    /// Cargo's arguments: the sparse index's first, then `args`.
    fn cargo_arguments<S: AsRef<str>>(&self, args: &[S]) -> Vec<String> {
        self.sparse
            .arguments()
            .iter()
            .copied()
            .chain(args.iter().map(AsRef::as_ref))
            .map(str::to_string)
            .collect()
    }

    /// A cargo command in the fetch's sandbox (network, the new `Cargo.lock` writable).
    fn cargo(
        &self,
        fetcher: &SandboxExecutor,
        step: &Step,
        args: &[&str],
    ) -> Result<Option<i32>, Error> {
        fetcher.run(&Step {
            kind: step.kind,
            program: "cargo".to_string(),
            args: self.cargo_arguments(args),
            dir: step.dir.clone(),
            env: BTreeMap::new(),
        })
    }

    /// Fits a `Cargo.lock` the fetch has just made to `rustc` ([`crate::msrv`]): each locked
    /// package that needs a newer rustc goes back to the newest of its series that does not,
    /// by `cargo update --precise`, until none is left (a few rounds: an older version may
    /// lock other dependencies). A version cargo refuses stays, and the build says what it
    /// needs.
    fn fit_lock(
        &self,
        fetcher: &SandboxExecutor,
        step: &Step,
        manifest: &str,
        lock: &Path,
        rustc: RustVersion,
    ) -> Result<(), Error> {
        let mut refused: Vec<String> = Vec::new();
        for _ in 0..8 {
            let text = std::fs::read_to_string(lock).unwrap_or_default();
            let downgrades: Vec<(String, String, String)> =
                crate::msrv::choices(&text, &self.cargo_home, rustc)
                    .into_iter()
                    .filter_map(|choice| match choice {
                        crate::msrv::Choice::Downgrade { name, from, to, .. } => {
                            Some((name, from, to))
                        }
                        _ => None,
                    })
                    .filter(|(name, from, _)| !refused.contains(&format!("{name}@{from}")))
                    .collect();
            if downgrades.is_empty() {
                break;
            }
            for (name, from, to) in downgrades {
                let spec = format!("{name}@{from}");
                let code = self.cargo(
                    fetcher,
                    step,
                    &[
                        "update",
                        "--manifest-path",
                        manifest,
                        "-p",
                        &spec,
                        "--precise",
                        &to,
                    ],
                )?;
                if code != Some(0) {
                    refused.push(spec);
                }
            }
        }
        Ok(())
    }

    /// `cargo fetch` for the manifest of `step`, once.
    fn fetch_once(&self, step: &Step) -> Result<Option<i32>, Error> {
        let mut fetched = self
            .fetched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(code) = *fetched {
            return Ok(code);
        }
        let manifest = step
            .args
            .iter()
            .position(|arg| arg == "--manifest-path")
            .and_then(|position| step.args.get(position + 1));
        let mut fetch = vec!["fetch"];
        if let Some(manifest) = manifest {
            fetch.extend(["--manifest-path", manifest.as_str()]);
        }
        // Cargo writes `Cargo.lock` next to the workspace's manifest when there is none (as
        // `cargo build` on the host would), and the project is read-only in the sandbox: an
        // empty file (cargo reads it as an empty resolve) is bound writable for the fetch
        // alone, which runs none of the project's code. Removed again if it stays empty. It is
        // bound as a build directory: as root, a plain writable bind would make the fetch
        // host root without capabilities, which cannot write the `CARGO_HOME` handed to the
        // sandbox's id; the file goes back to the project's owner afterwards.
        let mut fetcher = self.fetch.clone();
        let new_lock = manifest
            .map(|manifest| Path::new(manifest).with_file_name("Cargo.lock"))
            .filter(|lock| !lock.exists());
        if let Some(lock) = &new_lock {
            std::fs::write(lock, "").map_err(|source| Error::Io {
                action: "create",
                path: lock.clone(),
                source,
            })?;
            fetcher.sandbox = fetcher.sandbox.bind_build_directory(lock);
        }
        // For a Debian cargo older than its Rust-version-aware resolver, the new lock is made
        // first and fitted to the rustc, so that only the versions it keeps are downloaded.
        if let (Some(lock), Some(manifest), Some(rustc)) = (&new_lock, manifest, self.fit_to) {
            let made = self.cargo(
                &fetcher,
                step,
                &["generate-lockfile", "--manifest-path", manifest],
            );
            if matches!(made, Ok(Some(0))) {
                self.fit_lock(&fetcher, step, manifest, lock, rustc)?;
            }
        }
        let code = self.cargo(&fetcher, step, &fetch);
        if let Some(lock) = &new_lock {
            if std::fs::metadata(lock).is_ok_and(|metadata| metadata.len() == 0) {
                let _ = std::fs::remove_file(lock);
            } else if let Some(owner) = lock.parent().and_then(|dir| std::fs::metadata(dir).ok()) {
                use std::os::unix::fs::MetadataExt;
                let _ = std::os::unix::fs::lchown(lock, Some(owner.uid()), Some(owner.gid()));
            }
        }
        let code = code?;
        *fetched = Some(code);
        Ok(code)
    }
}

impl Executor for CargoExecutor {
    fn run(&self, step: &Step) -> Result<Option<i32>, Error> {
        if step.program != "cargo" {
            return self.inner.run(step);
        }
        let fetched = self.fetch_once(step)?;
        if fetched != Some(0) {
            return Ok(fetched);
        }
        let mut step = step.clone();
        step.args = self.cargo_arguments(&step.args);
        self.inner.run(&step)
    }

    fn has_program(&self, program: &str) -> bool {
        self.inner.has_program(program)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn log(&self) -> Option<&Path> {
        self.inner.log()
    }

    fn transcript(&self) -> Option<&Path> {
        self.inner.transcript()
    }
}

/// The cross method with Debian's Rust: the native prefix (created when missing), the
/// variables and Cargo configuration for it, and Cargo in a sandbox over it.
pub(crate) fn prepare_cross(
    job: &Job<'_>,
    debian: &DebianRust,
    reporter: &dyn Reporter,
) -> Result<Environment, Error> {
    let target = job.target;
    let triple = target.rust_target().ok_or_else(|| Error::NoRustTarget {
        target: target.config(),
    })?;
    let cache = job.cache_dir.ok_or(Error::NoCacheDir)?;
    let (prefix, in_use) = crate::emulated::held(
        &Store::new(cache),
        || ensure_prefix(cache, debian, job.sysroot_packages, reporter),
        |prefix| prefix.directory.clone(),
    )?;
    // The host's QEMU, bound into the sandbox at its own path: the prefix's multiarch tree
    // holds the target's loader and libraries at their usual places, so QEMU needs no `-L`.
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    let directories: Vec<PathBuf> = std::env::split_paths(&search_path).collect();
    let qemu = target
        .qemu_user()
        .and_then(|name| archway_binfmt::interpreter::find(name, &directories).0);
    let mut vars = prefix_variables(target, debian.architecture, &triple, qemu.as_deref());
    // The configuration's `env`, as the rustup path's `CrossEnv` takes it.
    vars.extend(job.toolchain.env.clone());
    let files_dir = job.build_dir.join(".archway");
    let cargo_config = files_dir.join("cargo-config.toml");
    std::fs::create_dir_all(&files_dir).map_err(|source| Error::Io {
        action: "create directory",
        path: files_dir.clone(),
        source,
    })?;
    std::fs::write(&cargo_config, cargo_config_text(&triple, debian, &vars)).map_err(|source| {
        Error::Io {
            action: "write",
            path: cargo_config.clone(),
            source,
        }
    })?;
    let cross = archway_rootfs::cross_triple(debian.architecture);
    let emulator: Vec<String> = vars
        .get(&format!(
            "CARGO_TARGET_{}_RUNNER",
            triple.replace('-', "_").to_ascii_uppercase()
        ))
        .map(|runner| runner.split(' ').map(str::to_string).collect())
        .unwrap_or_default();
    let inner = SandboxExecutor {
        sandbox: sandbox(
            &prefix.tree(),
            job.project_dir,
            job.build_dir,
            qemu.as_deref(),
            job.rootfs.writable_source,
        ),
        tree: prefix.tree(),
        description: format!(
            "bubblewrap in the native prefix {} ({debian})",
            prefix.key().directory_name()
        ),
        output: job.output.clone(),
    };
    Ok(Environment {
        toolset: Toolset::Cross(Box::new(CrossSetup {
            host_triple: cross.to_string(),
            build_triple: job
                .host
                .map(|host| host.platform.config())
                .unwrap_or_default(),
            rust_target: Some(triple),
            vars,
            // Only Cargo's is written: this toolset serves Cargo projects alone.
            files: CrossFiles {
                cmake_toolchain: files_dir.join("toolchain.cmake"),
                meson_cross: files_dir.join("cross.ini"),
                config_site: files_dir.join("config.site"),
                cargo_config,
            },
            loader_prefix: None,
            missing_cxx: None,
        })),
        executor: Box::new(
            CargoExecutor::new(inner, job.build_dir, debian.version)
                .fitting_dependencies_to(debian.version),
        ),
        toolchain: Some(format!("{debian}, {cross}-gcc, in a native prefix")),
        emulator,
        in_use: vec![in_use.into()],
        // The sysroot-packages are the prefix's.
        libraries: Some(crate::backend::dpkg_status(&prefix.tree())),
    })
}

/// The Cargo configuration of a build in the prefix (`cargo --config <file>`): the same
/// linker, runner and flags as the variables, for a user who runs cargo there by hand.
fn cargo_config_text(triple: &str, debian: &DebianRust, vars: &BTreeMap<String, String>) -> String {
    let quote = |value: &str| format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""));
    let cargo = format!(
        "CARGO_TARGET_{}",
        triple.replace('-', "_").to_ascii_uppercase()
    );
    let mut out =
        format!("# Generated by archway: {debian} in a native prefix.\n[target.{triple}]\n");
    for (key, variable) in [("linker", "LINKER"), ("runner", "RUNNER")] {
        if let Some(value) = vars.get(&format!("{cargo}_{variable}")) {
            out.push_str(&format!("{key} = {}\n", quote(value)));
        }
    }
    if let Some(flags) = vars.get(&format!("{cargo}_RUSTFLAGS")) {
        let words: Vec<String> = flags.split(' ').map(quote).collect();
        out.push_str(&format!("rustflags = [{}]\n", words.join(", ")));
    }
    out
}

/// The executor of a root-filesystem method: Cargo projects get [`CargoExecutor`] around the
/// sandbox, with the cargo of the root filesystem's suite.
pub(crate) fn root_filesystem_executor(
    inner: SandboxExecutor,
    job: &Job<'_>,
    suite: Suite,
) -> Box<dyn Executor> {
    if job.build_system == Some(BuildSystem::Cargo) {
        Box::new(
            CargoExecutor::new(inner, job.build_dir, debian_rustc(suite))
                .fitting_dependencies_to(debian_rustc(suite)),
        )
    } else {
        Box::new(inner)
    }
}

/// A sandbox over `tree` for a Cargo build of `project_dir` into `build_dir`: the project
/// read-only (writable with `project_writable`, `--writable-source`), the build directory
/// writable (handed to the sandbox's user as root), `bind` read-only at its own path. The
/// writable copy of a project (`ops::WRITABLE_COPY_DIR`) is in the build directory: bound
/// with it, as the sandbox's user.
pub fn sandbox(
    tree: &Path,
    project_dir: &Path,
    build_dir: &Path,
    bind: Option<&Path>,
    project_writable: bool,
) -> Sandbox {
    let mut sandbox = Sandbox::new(tree).current_dir(project_dir);
    if !project_dir.starts_with(build_dir) {
        sandbox = if project_writable {
            sandbox.bind(project_dir)
        } else {
            sandbox.bind_read_only(project_dir)
        };
    }
    let mut sandbox = sandbox.bind_build_directory(build_dir);
    if let Some(path) = bind {
        sandbox = sandbox.bind_read_only(path);
    }
    sandbox
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(rustup: bool, debian: Result<Suite, &str>) -> RustFacts {
        RustFacts {
            target: "aarch64-unknown-linux-gnu".to_string(),
            triple: Some("aarch64-unknown-linux-gnu".to_string()),
            rustup_std: rustup.then(|| PathBuf::from("/r/lib/rustlib/aarch64-unknown-linux-gnu")),
            debian: debian
                .map(|suite| DebianRust {
                    architecture: Architecture::Arm64,
                    suite,
                    version: debian_rustc(suite),
                })
                .map_err(str::to_string),
            debian_port: true,
            needs: None,
        }
    }

    fn needs(minor: u32, why: &str) -> RustNeeds {
        RustNeeds {
            version: RustVersion { major: 1, minor },
            why: why.to_string(),
        }
    }

    #[test]
    fn the_suite_is_the_oldest_whose_rust_meets_the_project() {
        use Architecture::*;
        let table = [
            (Arm64, None, Some(Suite::Bookworm)),
            (Arm64, Some(63), Some(Suite::Bookworm)),
            (Arm64, Some(78), Some(Suite::Trixie)),
            (Arm64, Some(85), Some(Suite::Trixie)),
            (Arm64, Some(86), None),
            (Riscv64, Some(56), Some(Suite::Trixie)),
            // mips64el is not in trixie.
            (Mips64el, Some(85), None),
            (Mips64el, Some(63), Some(Suite::Bookworm)),
        ];
        for (architecture, minor, suite) in table {
            let needs = minor.map(|minor| needs(minor, "test"));
            assert_eq!(
                suite_for(architecture, needs.as_ref()),
                suite,
                "{architecture} {minor:?}"
            );
        }
    }

    #[test]
    fn debian_rust_too_old_for_the_project_is_refused_with_the_rustup_command() {
        let mut facts = facts(false, Ok(Suite::Trixie));
        facts.needs = Some(needs(85, "`edition = \"2024\"` in `Cargo.toml`"));
        assert!(matches!(facts.choose(), Ok(StdSource::Debian(_))));
        facts.needs = Some(needs(86, "`rust-version = \"1.86\"` in `Cargo.toml`"));
        let error = facts.choose().expect_err("1.85 is too old");
        assert_eq!(
            error.to_string(),
            "the project needs Rust 1.86 (`rust-version = \"1.86\"` in `Cargo.toml`), and \
             Debian's newest rustc for arm64 is 1.85 (trixie)"
        );
        assert_eq!(
            error.hint().as_deref(),
            Some(
                "run `rustup target add aarch64-unknown-linux-gnu`: the cross method then builds \
                 with rustup's Rust"
            )
        );
        // rustup's standard library serves whatever the project asks (its rustc is the
        // user's own choice).
        let mut rustup = facts.clone();
        rustup.rustup_std = Some(PathBuf::from("/r"));
        assert!(matches!(rustup.choose(), Ok(StdSource::Rustup(_))));
    }

    #[test]
    fn the_root_filesystem_suite_follows_the_projects_rust() {
        use archway_platform::testing::Notes;
        let arm64 = Platform::parse("arm64").expect("arm64");
        let edition = needs(85, "`edition = \"2024\"` in `Cargo.toml`");
        let notes = Notes::default();
        // No suite named: trixie, said.
        let chosen = rootfs_for(&Default::default(), &arm64, &edition, &notes).expect("trixie");
        assert_eq!(chosen.suite.as_deref(), Some("trixie"));
        assert_eq!(
            notes.all(),
            ["root filesystem: arm64/trixie, whose rustc 1.85 builds the project (it needs Rust \
              1.85 (`edition = \"2024\"` in `Cargo.toml`))"]
        );
        // A project bookworm serves keeps the default, silently.
        let notes = Notes::default();
        let old =
            rootfs_for(&Default::default(), &arm64, &needs(56, "2021"), &notes).expect("bookworm");
        assert_eq!((old.suite, notes.all().len()), (None, 0));
        // A named suite too old: the fix is the suite that serves.
        let bookworm = crate::backend::RootfsRequest {
            suite: Some("bookworm".to_string()),
            ..Default::default()
        };
        let error = rootfs_for(&bookworm, &arm64, &edition, &notes).expect_err("too old");
        assert!(error
            .to_string()
            .ends_with("and the arm64/bookworm root filesystem's rustc is 1.63"));
        assert_eq!(
            error.hint().as_deref(),
            Some("use `--suite trixie` (Debian's rustc 1.85 there)")
        );
        // No suite serves: rustup's Rust with the cross method.
        let error = rootfs_for(&Default::default(), &arm64, &needs(90, "x"), &notes)
            .expect_err("none serves");
        assert!(error
            .to_string()
            .ends_with("and Debian's newest rustc for arm64 is 1.85 (trixie)"));
        assert_eq!(
            error.hint().as_deref(),
            Some(
                "run `rustup target add aarch64-unknown-linux-gnu` and build with `--method \
                 cross` (rustup's Rust)"
            )
        );
    }

    #[test]
    fn rustup_std_wins_when_installed() {
        assert_eq!(
            facts(true, Ok(Suite::Bookworm)).choose().expect("serves"),
            StdSource::Rustup(PathBuf::from("/r/lib/rustlib/aarch64-unknown-linux-gnu"))
        );
        assert!(matches!(
            facts(true, Err("no prefix")).choose(),
            Ok(StdSource::Rustup(_))
        ));
    }

    #[test]
    fn debian_std_serves_without_rustup() {
        let StdSource::Debian(debian) = facts(false, Ok(Suite::Bookworm)).choose().expect("serves")
        else {
            panic!("Debian's expected");
        };
        assert_eq!(debian.version.to_string(), "1.63");
        assert_eq!(
            debian.to_string(),
            "Debian's rustc 1.63 with libstd-rust-dev:arm64 (bookworm)"
        );
    }

    #[test]
    fn neither_names_both_causes_and_the_rustup_command() {
        let error = facts(false, Err("this host is `aarch64-unknown-linux-gnu`"))
            .choose()
            .expect_err("nothing serves");
        let message = error.to_string();
        assert!(message.contains("`aarch64-unknown-linux-gnu`"), "{message}");
        assert!(message.contains("this host is"), "{message}");
        let hint = error.hint().expect("a hint");
        assert!(
            hint.contains("`rustup target add aarch64-unknown-linux-gnu`"),
            "{hint}"
        );
        assert!(hint.contains("--method emulated"), "{hint}");
    }

    #[test]
    fn versions_pair_with_their_suite() {
        assert_eq!(
            debian_rustc(Suite::Bookworm),
            RustVersion {
                major: 1,
                minor: 63
            }
        );
        assert_eq!(
            debian_rustc(Suite::Trixie),
            RustVersion {
                major: 1,
                minor: 85
            }
        );
        assert_eq!(
            SparseIndex::for_cargo(debian_rustc(Suite::Bookworm)),
            SparseIndex::Unstable
        );
        assert_eq!(
            SparseIndex::for_cargo(debian_rustc(Suite::Trixie)),
            SparseIndex::Default
        );
        assert_eq!(
            SparseIndex::for_cargo(RustVersion {
                major: 1,
                minor: 68
            }),
            SparseIndex::Setting
        );
    }

    #[test]
    fn gathered_facts_pair_each_architecture_with_its_default_suite() {
        let host = Platform::parse("x86_64-linux").expect("host");
        let riscv = RustFacts::gather(
            &Platform::parse("riscv64").expect("riscv64"),
            &host,
            std::ffi::OsStr::new("/nonexistent"),
            None,
        );
        assert_eq!(riscv.rustup_std, None, "no rustc on the search path");
        let debian = riscv.debian.expect("riscv64 has Debian's rust");
        assert_eq!((debian.suite, debian.version.minor), (Suite::Trixie, 85));
        let arm = RustFacts::gather(
            &Platform::parse("arm64").expect("arm64"),
            &Platform::parse("aarch64-linux").expect("host"),
            std::ffi::OsStr::new("/nonexistent"),
            None,
        );
        assert!(arm.debian.is_err(), "the prefix is amd64's: {arm:?}");
        let musl = RustFacts::gather(
            &Platform::parse("aarch64-unknown-linux-musl").expect("musl"),
            &host,
            std::ffi::OsStr::new("/nonexistent"),
            None,
        );
        assert!(musl.debian.is_err(), "{musl:?}");
        // ARMv6 (raspberryPi) maps to Debian's armhf, whose std is built for ARMv7.
        let armv6 = RustFacts::gather(
            &Platform::parse("raspberryPi").expect("raspberryPi"),
            &host,
            std::ffi::OsStr::new("/nonexistent"),
            None,
        );
        assert_eq!(
            armv6.debian,
            Err(
                "Debian's libstd-rust-dev:armhf is for `armv7-unknown-linux-gnueabihf`, not \
                 `arm-unknown-linux-gnueabihf`"
                    .to_string()
            )
        );
        for architecture in Architecture::ALL {
            let gnu = Platform::parse(debian_rust_target(architecture)).expect("a triple");
            assert_eq!(
                Architecture::from_platform(&gnu).ok(),
                Some(architecture),
                "{architecture}"
            );
        }
    }

    #[test]
    fn the_prefix_holds_rust_and_the_target_libraries_as_multiarch() {
        let debian = DebianRust {
            architecture: Architecture::Riscv64,
            suite: Suite::Trixie,
            version: debian_rustc(Suite::Trixie),
        };
        let key = prefix_key(&debian, &["zlib1g-dev".to_string()]).expect("valid");
        let included = key.included_packages();
        for package in [
            "rustc",
            "cargo",
            "gcc-riscv64-linux-gnu",
            "libstd-rust-dev:riscv64",
            "zlib1g-dev:riscv64",
        ] {
            assert!(
                included.iter().any(|name| name == package),
                "{package}: {included:?}"
            );
        }
        assert!(prefix_key(&debian, &["-o=x".to_string()]).is_err());
        assert!(prefix_key(&debian, &["zlib1g-dev:amd64".to_string()]).is_err());
    }

    #[test]
    fn prefix_variables_are_scoped_to_the_rust_target() {
        let target = Platform::parse("riscv64").expect("riscv64");
        let vars = prefix_variables(
            &target,
            Architecture::Riscv64,
            "riscv64gc-unknown-linux-gnu",
            Some(Path::new("/usr/bin/qemu-riscv64-static")),
        );
        assert_eq!(
            vars.get("CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_LINKER")
                .map(String::as_str),
            Some("riscv64-linux-gnu-gcc")
        );
        assert_eq!(
            vars.get("PKG_CONFIG_LIBDIR_riscv64gc_unknown_linux_gnu")
                .map(String::as_str),
            Some("/usr/lib/riscv64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
        );
        assert!(vars
            .get("CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_RUNNER")
            .is_some_and(|runner| runner.starts_with("/usr/bin/qemu-riscv64-static")));
        assert!(
            vars.keys()
                .all(|name| name.contains("riscv64gc") || name.contains("RISCV64GC")),
            "{vars:?}"
        );
    }
}
