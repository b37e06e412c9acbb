//! The build cache in the build flow: the key of a prepared [`Plan`], the lookup before
//! configure, the insert after a successful build (and test run).
//!
//! What is cached: a project build's artifacts (what `build` lists, with the library links next
//! to them) relative to the build directory, and a passed test run's record. A user command
//! (`-- CMD...`) is not cached: its outputs are found by time in the source tree, not at paths
//! a key can promise.
//!
//! What goes into the key ([`key_inputs`]): see [`archway_cache::key`]. The machine's paths
//! (project, build and cache directories) are mapped away; the parallel job count is too
//! (`-j4` and `-j8` build the same files). Variables of archway's own environment reach a host
//! build (the steps inherit it): those known to change outputs are keyed ([`AMBIENT`]); a
//! sandboxed build gets none of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use archway_cache::key::{
    sha256_hex, KeyInputs, PathMap, PlatformInputs, SourceDigest, StepInputs, SystemInputs,
    ToolchainInputs,
};
use archway_cache::store::{EntryFile, EntryKind, EntryName, Origin, Record, Store};
use archway_cache::{CacheSettings, Key, Pulled, SharedStore, Upstream};
use archway_platform::Reporter;
use archway_rootfs::RootfsUpstream;
use archway_toolchain::SysrootUpstream;

use crate::build::{BuildRequest, Plan};
use crate::method::Method;
use crate::outcome::{identify_file, Outcome};
use crate::steps::{Step, Toolset, DEFAULT_BUILD_ROOT};
use crate::Error;

/// Variables of archway's environment that change what a host build produces, by name or
/// prefix (`CMAKE_`...): compilers and flags (GNU make's and autoconf's implicit variables),
/// the search paths GCC reads (gcc(1) ENVIRONMENT), pkg-config's, make's, CMake's and Cargo's,
/// and `SOURCE_DATE_EPOCH` (reproducible-builds.org).
pub const AMBIENT: &[&str] = &[
    "AR",
    "AS",
    "CC",
    "CFLAGS",
    "COMPILER_PATH",
    "CPATH",
    "CPLUS_INCLUDE_PATH",
    "CPP",
    "CPPFLAGS",
    "CXX",
    "CXXFLAGS",
    "C_INCLUDE_PATH",
    "FC",
    "FFLAGS",
    "GCC_EXEC_PREFIX",
    "GNUMAKEFLAGS",
    "LD",
    "LDFLAGS",
    "LIBRARY_PATH",
    "LIBS",
    "MAKEFLAGS",
    "MFLAGS",
    "NM",
    "OBJCOPY",
    "PKG_CONFIG",
    "PKG_CONFIG_LIBDIR",
    "PKG_CONFIG_PATH",
    "PKG_CONFIG_SYSROOT_DIR",
    "RANLIB",
    "RUSTC",
    "RUSTFLAGS",
    "SOURCE_DATE_EPOCH",
    "STRIP",
    "CARGO_BUILD_",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_INCREMENTAL",
    "CARGO_PROFILE_",
    "CARGO_TARGET_",
    "CARGO_UNSTABLE_",
    "CMAKE_",
    "DEB_",
    "MESON",
];

/// The cache as one build uses it.
#[derive(Debug)]
pub struct BuildCache {
    pub store: Store,
    /// `archway test --rerun`: run the tests even when this build passed them before.
    pub rerun_tests: bool,
}

impl BuildCache {
    /// The cache for a build with `settings`, or `None` when it is off (`enabled = false`,
    /// `--no-cache`, or no cache directory). `shared`: the store [`open_shared`] opened.
    pub fn open(
        settings: &CacheSettings,
        cache_dir: Option<&Path>,
        rerun_tests: bool,
        shared: Option<Arc<dyn Upstream>>,
    ) -> Option<BuildCache> {
        if !settings.enabled {
            return None;
        }
        let store = Store::new(cache_dir?)
            .with_max_size(settings.max_size)
            .with_upstream(shared.map(|shared| Box::new(shared) as Box<dyn Upstream>));
        Some(BuildCache { store, rerun_tests })
    }
}

/// The shared store of `[cache] url`, or `None`: no url, the cache is off, or it cannot be
/// set up (a warning says why, and the command uses the local store only). Nothing is
/// contacted yet: an unreachable store shows at its first use, as a warning too.
/// `progress` draws the transfers of large entries.
pub fn open_shared(
    settings: &CacheSettings,
    reporter: &dyn Reporter,
    progress: Option<Arc<dyn Reporter>>,
) -> Option<Arc<dyn Upstream>> {
    if !settings.enabled {
        return None;
    }
    let shared = settings.shared.as_ref()?;
    match SharedStore::open(shared) {
        Ok(store) => Some(Arc::new(match progress {
            Some(progress) => store.with_reporter(progress),
            None => store,
        })),
        Err(error) => {
            let mut message = format!("warning: {error}; using the local cache only");
            if let Some(hint) = error.hint() {
                message.push_str(&format!("\n  hint: {hint}"));
            }
            reporter.note(&message);
            None
        }
    }
}

/// The shared store of the project in `directory`'s configuration, for commands outside a
/// build (`archway rootfs create`).
pub fn shared_for(
    directory: &Path,
    reporter: &dyn Reporter,
) -> Result<Option<Arc<dyn Upstream>>, Error> {
    let settings = crate::ops::load(directory)?.cache()?;
    Ok(open_shared(&settings, reporter, None))
}

/// A shared store as the root filesystem store's upstream (`CreateOptions::upstream`): a
/// missing root filesystem is restored from the `rootfs-<key>` entry instead of running
/// mmdebstrap, and one created here is offered (pushed when a signing key is set).
///
/// It lives here because archway-rootfs does not depend on archway-cache: this crate joins them.
#[derive(Debug, Clone)]
pub struct RootfsAdapter(pub Arc<dyn Upstream>);

impl RootfsAdapter {
    /// [`RootfsAdapter`] around `shared`, as `CreateOptions::upstream` takes it.
    pub fn upstream(shared: Option<Arc<dyn Upstream>>) -> Option<Arc<dyn RootfsUpstream>> {
        shared.map(|shared| Arc::new(RootfsAdapter(shared)) as Arc<dyn RootfsUpstream>)
    }
}

impl RootfsUpstream for RootfsAdapter {
    fn restore(&self, name: &str, into: &Path) -> Result<Option<String>, String> {
        restore_entry(self.0.as_ref(), name, into)
    }

    fn offer(&self, name: &str, directory: &Path) -> Result<(), String> {
        offer_entry(self.0.as_ref(), name, directory)
    }
}

/// A shared store as a sysroot's upstream (`Sysroot::with_upstream`): a package set missing
/// from the local sysroot is restored from its `sysroot-<suite>-<arch>-<hex>` entry instead of
/// running apt, and a tree apt filled is offered (pushed when a signing key is set).
#[derive(Debug, Clone)]
pub struct SysrootAdapter(pub Arc<dyn Upstream>);

impl SysrootAdapter {
    /// [`SysrootAdapter`] around `shared`, as `Sysroot::with_upstream` takes it.
    pub fn upstream(shared: Option<Arc<dyn Upstream>>) -> Option<Arc<dyn SysrootUpstream>> {
        shared.map(|shared| Arc::new(SysrootAdapter(shared)) as Arc<dyn SysrootUpstream>)
    }
}

impl SysrootUpstream for SysrootAdapter {
    fn restore(&self, name: &str, into: &Path) -> Result<Option<String>, String> {
        restore_entry(self.0.as_ref(), name, into)
    }

    fn offer(&self, name: &str, directory: &Path) -> Result<(), String> {
        offer_entry(self.0.as_ref(), name, directory)
    }
}

/// `Upstream::pull` as the environment stores' hooks take it: the signer, or the message.
fn restore_entry(shared: &dyn Upstream, name: &str, into: &Path) -> Result<Option<String>, String> {
    match shared.pull(name, into) {
        Ok(Pulled::Restored { signer, .. }) => Ok(Some(format!("signed by {signer}"))),
        Ok(Pulled::Absent) => Ok(None),
        Err(error) => Err(with_hint(&error.to_string(), error.hint())),
    }
}

fn offer_entry(shared: &dyn Upstream, name: &str, directory: &Path) -> Result<(), String> {
    shared
        .push(name, directory)
        .map_err(|error| with_hint(&error.to_string(), error.hint()))
}

fn with_hint(message: &str, hint: Option<String>) -> String {
    match hint {
        Some(hint) => format!("{message}\n  hint: {hint}"),
        None => message.to_string(),
    }
}

/// The local store as the configuration of the project in `directory` sets it up (`max-size`),
/// for `archway cache`.
pub fn store_for(directory: &Path) -> Result<Store, Error> {
    let settings = crate::ops::load(directory)?.cache()?;
    let cache_dir = crate::cache::cache_dir().ok_or(Error::NoCacheDir)?;
    Ok(Store::new(&cache_dir).with_max_size(settings.max_size))
}

/// What the cache did for one build (`--json`, the summary line).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CacheReport {
    /// The build's key.
    pub key: String,
    /// The build came from the cache.
    pub hit: bool,
    /// The tests' pass came from the cache.
    pub test_hit: bool,
    /// `local`, or `shared, signed by NAME` (hits).
    pub origin: Option<String>,
    /// What went into the key (`--explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<KeyInputs>,
}

/// Why `plan` is built without the cache though the cache is on: a Cargo project without a
/// `Cargo.lock` (in its directory or a parent's, where a workspace keeps it), whose
/// dependencies are whatever crates.io has when it builds, so no key of its files names them.
/// Its build writes the lock (as `cargo build` does), and the next build is cached.
pub fn uncacheable(plan: &Plan) -> Option<&'static str> {
    let cargo = plan
        .recipe
        .as_ref()
        .is_some_and(|recipe| recipe.build_system == crate::project::BuildSystem::Cargo);
    let locked = plan
        .project_dir
        .ancestors()
        .any(|directory| directory.join("Cargo.lock").is_file());
    (cargo && !locked).then_some(
        "not cached: the Cargo project has no `Cargo.lock`, so its dependencies are what \
         crates.io has today; this build writes one, and the next build is cached",
    )
}

/// Everything that decides the outputs of `plan` (see the module docs).
pub fn key_inputs(
    plan: &Plan,
    request: &BuildRequest,
    build_root: Option<&Path>,
) -> Result<KeyInputs, Error> {
    let project_dir = &plan.project_dir;
    let build_dir = &plan.build_dir;
    let map = PathMap::new(project_dir, build_dir, request.cache_dir.as_deref());
    let mut exclude = vec![project_dir.join(DEFAULT_BUILD_ROOT), build_dir.clone()];
    exclude.extend(build_root.map(Path::to_path_buf));
    let mut inputs = KeyInputs::new(plan.method.name());
    inputs.sources = SourceDigest::of_tree(project_dir, &exclude).map_err(key_error)?;
    let target = &plan.target;
    inputs.platform = PlatformInputs {
        config: target.canonical_config(),
        cpu: target
            .gcc()
            .entries()
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
        libc: format!("{:?}", target.libc()),
        is_static: target.is_static(),
    };
    let memo = archway_cache::key::DigestMemo::open(
        request
            .cache_dir
            .as_deref()
            .map(|cache| cache.join("store").join("binary-digests.json"))
            .as_deref(),
    );
    inputs.toolchain = toolchain_inputs(plan, &memo);
    memo.save();
    inputs.system = system_inputs(plan, request);
    if let Some(recipe) = &plan.recipe {
        inputs.build_system = recipe.build_system.name().to_string();
        inputs.steps = recipe
            .configure
            .iter()
            .chain(&recipe.build)
            .map(|step| step_inputs(step, &map))
            .collect();
    }
    if let Toolset::Cross(cross) = &plan.toolset {
        let files = &cross.files;
        for path in [
            &files.cmake_toolchain,
            &files.meson_cross,
            &files.config_site,
            &files.cargo_config,
        ] {
            if let Ok(text) = std::fs::read_to_string(path) {
                let name = path
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default();
                inputs
                    .files
                    .insert(name, sha256_hex(map.apply(&text).as_bytes()));
            }
        }
    }
    if !plan.method.uses_rootfs() {
        for (name, value) in std::env::vars_os() {
            let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else {
                continue;
            };
            // `CARGO_TARGET_DIR` only moves Cargo's output; cargo sets `CARGO_PKG_*` and
            // friends for its own children (archway's test suite), which reach no build.
            let keyed = name != "CARGO_TARGET_DIR"
                && AMBIENT.iter().any(|known| {
                    name == *known
                        || (known.ends_with('_') && name.starts_with(known))
                        || (*known == "MESON" && name.starts_with("MESON"))
                });
            if keyed {
                inputs
                    .environment
                    .insert(name.to_string(), map.apply(value));
            }
        }
    }
    // `.git` is not hashed, but a git work tree's `HEAD` commit time may become the build's
    // `SOURCE_DATE_EPOCH` (`crate::reproducible`), which `__DATE__` and archive timestamps
    // carry: two commits with the same files are two builds. Key the value the build gets.
    let user_epoch = request
        .rootfs
        .env
        .get("SOURCE_DATE_EPOCH")
        .cloned()
        .or_else(|| std::env::var("SOURCE_DATE_EPOCH").ok());
    let (epoch, _) = crate::reproducible::source_date_epoch(project_dir, user_epoch.as_deref());
    inputs
        .environment
        .insert("SOURCE_DATE_EPOCH (the build's)".to_string(), epoch);
    // The configuration's variables for a build with the target's own compilers (inside the
    // root filesystem, or the host's for the native method); a cross build has its own (in
    // the steps' environments).
    let own_compilers = plan.method != Method::Cross;
    for (name, value) in request.rootfs.env.iter().filter(|_| own_compilers) {
        inputs
            .environment
            .insert(format!("configured {name}"), map.apply(value));
    }
    Ok(inputs)
}

fn key_error(error: archway_cache::key::KeyError) -> Error {
    match error {
        archway_cache::key::KeyError::Io {
            action,
            path,
            source,
        } => Error::Io {
            action,
            path,
            source,
        },
    }
}

/// A step with the machine's paths and the job count mapped away.
fn step_inputs(step: &Step, map: &PathMap) -> StepInputs {
    let mut args = Vec::new();
    let mut after_jobs_flag = false;
    for arg in &step.args {
        let digits = |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_digit());
        let mapped = if after_jobs_flag && digits(arg) {
            "${jobs}".to_string()
        } else if let Some(count) = arg.strip_prefix("-j").filter(|count| digits(count)) {
            let _ = count;
            "-j${jobs}".to_string()
        } else if let Some((flag, count)) = arg.split_once('=').filter(|(flag, count)| {
            matches!(*flag, "--jobs" | "--parallel" | "-j") && digits(count)
        }) {
            let _ = count;
            format!("{flag}=${{jobs}}")
        } else {
            map.apply(arg)
        };
        after_jobs_flag = matches!(arg.as_str(), "-j" | "--jobs" | "--parallel" | "-J");
        args.push(mapped);
    }
    StepInputs {
        kind: step.kind.to_string(),
        program: map.apply(&step.program),
        args,
        dir: map.apply(&step.dir.to_string_lossy()),
        env: step
            .env
            .iter()
            .map(|(name, value)| (name.clone(), map.apply(value)))
            .collect(),
    }
}

/// The compilers' version and the hashes of the binaries that run: the cross toolchain's
/// tools (and GCC's own `cc1`, `cc1plus`, `collect2`, `as`, `ld`), or the host's `cc`/`c++`
/// for the native method. Inside a root filesystem the compilers are its packages
/// ([`system_inputs`]).
fn toolchain_inputs(plan: &Plan, memo: &archway_cache::key::DigestMemo) -> ToolchainInputs {
    let mut toolchain = ToolchainInputs {
        version: plan
            .toolchain
            .as_deref()
            .map(|text| text.split(" (").next().unwrap_or(text).to_string())
            .unwrap_or_default(),
        binaries: BTreeMap::new(),
    };
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    let mut tools: Vec<(String, String)> = Vec::new();
    match (&plan.toolset, plan.method) {
        (Toolset::Cross(cross), _) => {
            for name in ["CC", "CXX", "AR", "LD", "RANLIB", "STRIP", "NM", "OBJCOPY"] {
                if let Some(value) = cross.vars.get(name) {
                    if let Some(program) = value.split_whitespace().next() {
                        tools.push((name.to_string(), program.to_string()));
                    }
                }
            }
        }
        (Toolset::Native, Method::Native) => {
            tools.push(("CC".to_string(), "cc".to_string()));
            tools.push(("CXX".to_string(), "c++".to_string()));
        }
        (Toolset::Native, _) => return toolchain,
    }
    let compiler = tools
        .iter()
        .find(|(name, _)| name == "CC")
        .and_then(|(_, program)| find_program(program, &search_path));
    if let Some(compiler) = &compiler {
        if toolchain.version.is_empty() {
            toolchain.version = first_line_of(compiler, &["--version"]).unwrap_or_default();
        }
        // What the driver runs: the programs `-print-prog-name` names (GCC; clang answers
        // with the bare name, which is then not found and left out).
        for internal in ["cc1", "cc1plus", "collect2", "as", "ld"] {
            let argument = format!("-print-prog-name={internal}");
            if let Some(path) = first_line_of(compiler, &[&argument]) {
                if let Some(path) = find_program(&path, &search_path) {
                    tools.push((internal.to_string(), path.display().to_string()));
                }
            }
        }
    }
    for (name, program) in tools {
        if let Some(path) = find_program(&program, &search_path) {
            if let Ok(digest) = memo.sha256(&path) {
                toolchain.binaries.insert(name, digest);
            }
        }
    }
    toolchain
}

fn first_line_of(program: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    output.status.success().then_some(())?;
    let text = String::from_utf8_lossy(&output.stdout);
    Some(text.lines().next()?.trim().to_string())
}

/// `program` as a canonical path: itself when it holds a `/`, else the first match on
/// `search_path`.
fn find_program(program: &str, search_path: &std::ffi::OsStr) -> Option<PathBuf> {
    let candidate = if program.contains('/') {
        PathBuf::from(program)
    } else {
        std::env::split_paths(search_path)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())?
    };
    std::fs::canonicalize(candidate).ok()
}

/// The target's libraries and headers: the sysroot's manifest (cross), the root filesystem's
/// key and packages (hybrid, emulated), and the host's build tools and C library (native and
/// cross: the cross compilers' own libc and the build tools are host packages).
fn system_inputs(plan: &Plan, request: &BuildRequest) -> SystemInputs {
    let mut system = SystemInputs {
        kind: "host".to_string(),
        name: "dpkg".to_string(),
        packages: BTreeMap::new(),
    };
    let cache = request.cache_dir.as_deref();
    match plan.method {
        Method::Native | Method::Cross => {
            let triple = match &plan.toolset {
                Toolset::Cross(cross) => Some(cross.host_triple.replace('_', "-")),
                Toolset::Native => None,
            };
            system.packages = host_packages(triple.as_deref());
            if plan.method == Method::Cross {
                if let Some(cache) = cache {
                    if let Ok(sysroot) = archway_toolchain::Sysroot::open(cache, &plan.target) {
                        if sysroot.exists() {
                            if let Ok(manifest) = sysroot.manifest() {
                                system.kind = "sysroot".to_string();
                                system.name =
                                    format!("{}-{}", manifest.suite, manifest.architecture);
                                for package in manifest.packages {
                                    system.packages.insert(
                                        format!("{}:{}", package.name, package.architecture),
                                        package.version,
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        Method::Hybrid | Method::Emulated => {
            system.kind = "rootfs".to_string();
            let job = crate::backend::Job {
                target: &plan.target,
                host: None,
                project_dir: &plan.project_dir,
                build_dir: &plan.build_dir,
                build_system: plan.project.as_ref().map(|project| project.build_system),
                toolchain: &request.toolchain,
                cache_dir: cache,
                rootfs: &request.rootfs,
                sysroot_packages: &request.sysroot_packages,
                output: request.output.clone(),
            };
            if let (Ok(key), Some(cache)) = (crate::backend::emulated::rootfs_key(&job), cache) {
                system.name = key.directory_name();
                // The tree's own dpkg status: what is installed, whatever made the tree (its
                // manifest.json is a later record, absent from older trees).
                let status = archway_rootfs::Store::new(cache)
                    .directory_of(&key)
                    .join("root/var/lib/dpkg/status");
                system.packages = dpkg_packages(&status, &|_| true);
            }
            if plan.method == Method::Hybrid {
                // The compilers, shell and tools that run come from the native prefix: its
                // packages (an amd64 Debian tree) are inputs too.
                if let (Ok(key), Some(cache)) = (crate::backend::hybrid::prefix_key(&job), cache) {
                    let name = key.directory_name();
                    let status = archway_rootfs::Store::new(cache)
                        .root()
                        .join(&name)
                        .join("root/var/lib/dpkg/status");
                    for (package, version) in dpkg_packages(&status, &|_| true) {
                        system.packages.insert(format!("prefix {package}"), version);
                    }
                    system.name = format!("{} + {name}", system.name);
                }
            }
        }
    }
    system
}

/// The host's packages that build: compilers, binutils, the C library, the build systems, and
/// every package for the cross `triple` (Debian's `gcc-12-aarch64-linux-gnu`,
/// `libc6-dev-arm64-cross`...), from dpkg's status file.
fn host_packages(triple: Option<&str>) -> BTreeMap<String, String> {
    const PREFIXES: &[&str] = &[
        "libc6",
        "gcc",
        "g++",
        "cpp",
        "binutils",
        "libstdc++",
        "libgcc",
        "clang",
        "llvm",
        "lld",
        "cmake",
        "meson",
        "ninja-build",
        "make",
        "autoconf",
        "automake",
        "libtool",
        "pkgconf",
        "rustc",
        "cargo",
        "linux-libc-dev",
    ];
    dpkg_packages(Path::new("/var/lib/dpkg/status"), &|package| {
        PREFIXES.iter().any(|prefix| package.starts_with(prefix))
            || package.ends_with("-cross")
            || triple.is_some_and(|triple| package.contains(triple))
    })
}

/// The installed packages of a dpkg status file that `wanted` picks, as
/// `name:architecture` → version.
pub(crate) fn dpkg_packages(
    status: &Path,
    wanted: &dyn Fn(&str) -> bool,
) -> BTreeMap<String, String> {
    let mut packages = BTreeMap::new();
    let Ok(status) = std::fs::read_to_string(status) else {
        return packages;
    };
    for paragraph in status.split("\n\n") {
        let field = |name: &str| {
            paragraph
                .lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
        };
        let (Some(package), Some(version), Some(state)) =
            (field("Package"), field("Version"), field("Status"))
        else {
            continue;
        };
        if state.ends_with(" installed") && wanted(package) {
            let architecture = field("Architecture").unwrap_or("");
            packages.insert(format!("{package}:{architecture}"), version.to_string());
        }
    }
    packages
}

/// The entry name of a test run of the build `key` with its test commands.
pub fn test_entry(key: &Key, plan: &Plan) -> EntryName {
    let map = PathMap::new(&plan.project_dir, &plan.build_dir, None);
    let commands: Vec<String> = plan
        .recipe
        .iter()
        .flat_map(|recipe| &recipe.test)
        .map(|step| {
            let inputs = step_inputs(step, &map);
            serde_json::to_string(&inputs).unwrap_or_default()
        })
        .collect();
    EntryName::new(EntryKind::Test, &key.derive("test", &commands.join("\n")))
}

/// Restores the build entry `key` into the build directory: the outcome, or `None` on a miss.
pub fn restore(
    cache: &BuildCache,
    key: &Key,
    plan: &Plan,
    reporter: &dyn Reporter,
) -> Result<Option<(Outcome, Origin)>, Error> {
    let started = Instant::now();
    let name = EntryName::new(EntryKind::Build, key);
    let hit = match cache.store.restore(&name, &plan.build_dir, reporter) {
        Ok(Some(hit)) => hit,
        Ok(None) => return Ok(None),
        Err(error) => {
            warn(reporter, &error.to_string(), error.hint());
            return Ok(None);
        }
    };
    give_to_the_build_directory_owner(
        &plan.build_dir,
        hit.files
            .iter()
            .map(|relative| plan.build_dir.join(relative)),
    );
    let artifacts = hit
        .files
        .iter()
        .map(|relative| plan.build_dir.join(relative))
        // The library links come back too, but `build` lists the files they name.
        .filter(|path| std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_file()))
        .filter_map(|path| identify_file(&path))
        .collect();
    let origin = match &hit.origin {
        Origin::Local => "local".to_string(),
        Origin::Shared { signer } => format!("shared, signed by `{signer}`"),
    };
    reporter.note(&format!(
        "cache hit: build-{key} ({origin}): restored {} files ({}) in {:.0} ms, built in {:.1} s originally",
        hit.files.len(),
        archway_cache::store::format_size(hit.bytes),
        started.elapsed().as_secs_f64() * 1000.0,
        hit.record.seconds,
    ));
    let outcome = crate::build::outcome(plan, artifacts, Vec::new(), None, started);
    Ok(Some((outcome, hit.origin)))
}

/// As root, restored files (and the directories made for them) get the build directory's
/// owner: a sandbox was handed the directory (`archway_rootfs::SANDBOX_ID`), and a later build
/// in it rewrites what was restored. Best effort: a file left root's fails that build loudly.
fn give_to_the_build_directory_owner(build_dir: &Path, restored: impl Iterator<Item = PathBuf>) {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let Ok(metadata) = std::fs::metadata(build_dir) else {
        return;
    };
    let (user, group) = (metadata.uid(), metadata.gid());
    if (user, group) == (0, 0) {
        return;
    }
    for path in restored {
        for owned in path
            .ancestors()
            .take_while(|ancestor| *ancestor != build_dir)
        {
            if let Err(error) = std::os::unix::fs::lchown(owned, Some(user), Some(group)) {
                tracing::debug!(path = %owned.display(), %error, "cannot give a restored file to the build directory's owner");
            }
        }
    }
}

/// Whether the tests of `key` passed before (and the entry still checks).
pub fn tests_passed(cache: &BuildCache, key: &Key, plan: &Plan, reporter: &dyn Reporter) -> bool {
    if cache.rerun_tests {
        return false;
    }
    let name = test_entry(key, plan);
    match cache.store.lookup(&name, reporter) {
        Ok(Some(hit)) => {
            reporter.note(&format!(
                "cache hit: {name}: the tests passed for this build before (in {:.1} s); `--rerun` runs them again",
                hit.record.seconds
            ));
            true
        }
        Ok(None) => false,
        Err(error) => {
            warn(reporter, &error.to_string(), error.hint());
            false
        }
    }
}

/// Puts a successful build (and its passed tests) into the store; a failure is a warning.
pub fn insert(
    cache: &BuildCache,
    inputs: &KeyInputs,
    plan: &Plan,
    outcome: &Outcome,
    reporter: &dyn Reporter,
) {
    let key = inputs.key();
    let build_seconds: f64 = outcome
        .timings
        .iter()
        .filter(|timing| timing.step != crate::steps::StepKind::Test)
        .map(|timing| timing.duration.as_secs_f64())
        .sum();
    let test_seconds: f64 = outcome
        .timings
        .iter()
        .filter(|timing| timing.step == crate::steps::StepKind::Test)
        .map(|timing| timing.duration.as_secs_f64())
        .sum();
    let record = |kind: EntryKind, seconds: f64, test_command: Option<String>| Record {
        format: archway_cache::store::ENTRY_FORMAT,
        kind,
        key: key.to_string(),
        target: plan.target.config(),
        method: plan.method.name().to_string(),
        build_system: plan
            .project
            .as_ref()
            .map(|project| project.build_system.name().to_string()),
        toolchain: plan.toolchain.clone(),
        created_unix: archway_cache::store::now_unix(),
        seconds,
        test_command,
        inputs: Some(inputs.clone()),
    };
    let files = match entry_files(&plan.build_dir, outcome) {
        Ok(files) => files,
        Err(reason) => {
            warn(reporter, &format!("not cached: {reason}"), None);
            return;
        }
    };
    let name = EntryName::new(EntryKind::Build, &key);
    if let Err(error) = cache.store.insert(
        &name,
        &record(EntryKind::Build, build_seconds, None),
        &files,
        reporter,
    ) {
        warn(reporter, &error.to_string(), error.hint());
        return;
    }
    if outcome.tested {
        let command = plan
            .recipe
            .iter()
            .flat_map(|recipe| &recipe.test)
            .map(Step::command_line)
            .collect::<Vec<_>>()
            .join(" && ");
        let test = test_entry(&key, plan);
        if let Err(error) = cache.store.insert(
            &test,
            &record(EntryKind::Test, test_seconds, Some(command)),
            &[],
            reporter,
        ) {
            warn(reporter, &error.to_string(), error.hint());
        }
    }
}

/// The artifacts relative to the build directory, and the symbolic links next to them that
/// name them (`libz.so -> libz.so.1.3`).
fn entry_files(build_dir: &Path, outcome: &Outcome) -> Result<Vec<EntryFile>, String> {
    let mut files = Vec::new();
    let mut directories = std::collections::BTreeSet::new();
    let mut names = std::collections::BTreeSet::new();
    for artifact in &outcome.artifacts {
        let relative = artifact
            .path
            .strip_prefix(build_dir)
            .map_err(|_| {
                format!(
                    "the artifact `{}` is outside the build directory",
                    artifact.path.display()
                )
            })?
            .to_path_buf();
        if let Some(parent) = artifact.path.parent() {
            directories.insert(parent.to_path_buf());
        }
        names.insert(artifact.path.clone());
        files.push(EntryFile::File {
            source: artifact.path.clone(),
            relative,
        });
    }
    for directory in directories {
        let Ok(listing) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in listing.flatten() {
            let path = entry.path();
            let Ok(target) = std::fs::read_link(&path) else {
                continue;
            };
            let Some(target) = target.to_str().filter(|t| !t.contains('/')) else {
                continue;
            };
            if names.contains(&directory.join(target)) {
                if let Ok(relative) = path.strip_prefix(build_dir) {
                    files.push(EntryFile::Link {
                        relative: relative.to_path_buf(),
                        target: target.to_string(),
                    });
                }
            }
        }
    }
    Ok(files)
}

fn warn(reporter: &dyn Reporter, message: &str, hint: Option<String>) {
    match hint {
        Some(hint) => reporter.note(&format!(
            "warning: {message}; building without the cache\n  hint: {hint}"
        )),
        None => reporter.note(&format!("warning: {message}; building without the cache")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_platform::testing::Notes;

    #[test]
    fn restored_files_get_the_owner_of_a_handed_over_build_directory() {
        use std::os::unix::fs::MetadataExt;
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: changing owners needs root");
            return;
        }
        let build = tempfile::tempdir().expect("temp dir");
        let file = build.path().join("lib/libz.a");
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&file, "").expect("write");
        // Not handed over yet: nothing changes.
        give_to_the_build_directory_owner(build.path(), [file.clone()].into_iter());
        assert_eq!(std::fs::metadata(&file).expect("file").uid(), 0);
        std::os::unix::fs::chown(build.path(), Some(65534), Some(65534)).expect("chown");
        give_to_the_build_directory_owner(build.path(), [file.clone()].into_iter());
        for path in [&file, &build.path().join("lib")] {
            let metadata = std::fs::metadata(path).expect("inspect");
            assert_eq!(
                (metadata.uid(), metadata.gid()),
                (65534, 65534),
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn job_counts_and_paths_are_mapped_out_of_steps() {
        let step = |args: &[&str], dir: &str| Step {
            kind: crate::steps::StepKind::Build,
            program: "make".into(),
            args: args.iter().map(|arg| arg.to_string()).collect(),
            dir: PathBuf::from(dir),
            env: BTreeMap::from([("VPATH".to_string(), format!("{dir}/src"))]),
        };
        let map = |root: &str| {
            PathMap::new(
                Path::new(root),
                &Path::new(root).join("build/archway/x"),
                None,
            )
        };
        let first = step_inputs(
            &step(&["-j4", "-C", "/a/p/build/archway/x"], "/a/p"),
            &map("/a/p"),
        );
        let second = step_inputs(
            &step(&["-j16", "-C", "/b/q/build/archway/x"], "/b/q"),
            &map("/b/q"),
        );
        assert_eq!(first, second);
        assert_eq!(first.args, ["-j${jobs}", "-C", "${build}"]);
        let cmake = step_inputs(
            &step(&["--build", ".", "--parallel", "8", "--jobs=3"], "/a/p"),
            &map("/a/p"),
        );
        assert_eq!(
            cmake.args,
            ["--build", ".", "--parallel", "${jobs}", "--jobs=${jobs}"]
        );
        // A number that is not a job count stays.
        let other = step_inputs(&step(&["-O", "8"], "/a/p"), &map("/a/p"));
        assert_eq!(other.args, ["-O", "8"]);
    }

    #[test]
    fn dpkg_status_gives_the_installed_packages_picked() {
        let dir = tempfile::tempdir().expect("temp");
        let status = dir.path().join("status");
        std::fs::write(
            &status,
            "Package: make\nStatus: install ok installed\nArchitecture: amd64\nVersion: 4.3-4.1\n\n\
             Package: make-doc\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 1\n\n\
             Package: zsh\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.9\n",
        )
        .expect("write");
        assert_eq!(
            dpkg_packages(&status, &|name| name.starts_with("make")),
            BTreeMap::from([("make:amd64".to_string(), "4.3-4.1".to_string())])
        );
        assert_eq!(dpkg_packages(&status, &|_| true).len(), 2);
        assert!(dpkg_packages(&dir.path().join("none"), &|_| true).is_empty());
    }

    #[test]
    fn a_shared_store_that_cannot_be_set_up_is_a_warning_and_off_is_off() {
        let shared = |signing_key: Option<PathBuf>| archway_cache::SharedSettings {
            url: "s3://team-cache/archway?endpoint=http://127.0.0.1:9".to_string(),
            trusted_keys: Vec::new(),
            signing_key,
            timeout: archway_cache::settings::DEFAULT_TIMEOUT,
        };
        let settings = |enabled, signing_key| CacheSettings {
            enabled,
            max_size: None,
            shared: Some(shared(signing_key)),
        };
        let notes = Notes::default();
        // Nothing is contacted on opening: a store that does not listen still opens.
        assert!(open_shared(&settings(true, None), &notes, None).is_some());
        assert!(open_shared(&settings(false, None), &notes, None).is_none());
        assert!(open_shared(&CacheSettings::default(), &notes, None).is_none());
        assert!(notes.all().is_empty());

        let missing = PathBuf::from("/nonexistent/archway-test.secret");
        assert!(open_shared(&settings(true, Some(missing)), &notes, None).is_none());
        let notes = notes.all();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("warning: ")
                && notes[0].contains("archway-test.secret")
                && notes[0].contains("using the local cache only")
                && notes[0].contains("hint: "),
            "{notes:?}"
        );
    }
}
