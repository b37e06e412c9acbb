//! Cross toolchains: what the user asks for ([`Request`]), what is installed ([`discover`]) and
//! the one a build uses ([`select`]).
//!
//! Debian names its cross compilers after the multiarch triple (`aarch64-linux-gnu-gcc`, with
//! versioned siblings `aarch64-linux-gnu-gcc-12`); MinGW's come in two thread models
//! (`x86_64-w64-mingw32-gcc-posix`, `-win32`); one clang serves every target it has a C library
//! for, given `--target`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use archway_platform::{Abi, Kernel, Libc, Platform, Vendor};
use serde::Serialize;

use crate::Error;

/// A compiler family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Gcc,
    Clang,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Gcc => "gcc",
            Family::Clang => "clang",
        })
    }
}

impl FromStr for Family {
    type Err = Error;
    fn from_str(input: &str) -> Result<Family, Error> {
        match input {
            "gcc" => Ok(Family::Gcc),
            "clang" => Ok(Family::Clang),
            _ => Err(Error::UnknownName {
                what: "compiler family",
                input: input.to_string(),
                expected: "gcc, clang",
            }),
        }
    }
}

/// A linker, chosen with the compiler driver's `-fuse-ld=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Linker {
    Bfd,
    Gold,
    Lld,
    Mold,
}

impl fmt::Display for Linker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Linker::Bfd => "bfd",
            Linker::Gold => "gold",
            Linker::Lld => "lld",
            Linker::Mold => "mold",
        })
    }
}

impl FromStr for Linker {
    type Err = Error;
    fn from_str(input: &str) -> Result<Linker, Error> {
        match input {
            "bfd" => Ok(Linker::Bfd),
            "gold" => Ok(Linker::Gold),
            "lld" => Ok(Linker::Lld),
            "mold" => Ok(Linker::Mold),
            _ => Err(Error::UnknownName {
                what: "linker",
                input: input.to_string(),
                expected: "bfd, gold, lld, mold",
            }),
        }
    }
}

/// What the user asked for: every field optional. The configuration layer fills it from
/// `archway.toml` (`[target.X]`, `[profile.P]`), `ARCHWAY_*` variables and flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub family: Option<Family>,
    /// A compiler version: `12`, `11`, or a longer prefix of the full version (`12.2`).
    pub version: Option<String>,
    pub cc: Option<PathBuf>,
    pub cxx: Option<PathBuf>,
    pub ar: Option<PathBuf>,
    pub ld: Option<PathBuf>,
    pub linker: Option<Linker>,
    /// A sysroot the user brings (e.g. a musl tree); wins over archway's own sysroot.
    pub sysroot: Option<PathBuf>,
    pub cflags: Vec<String>,
    pub cxxflags: Vec<String>,
    pub ldflags: Vec<String>,
    /// Extra variables for the build's environment (win over everything archway sets).
    pub env: BTreeMap<String, String>,
    /// The emulator to run target programs with, instead of `qemu-<name>-static`.
    pub emulator: Option<PathBuf>,
    /// The QEMU CPU model (`QEMU_CPU`, `-cpu`).
    pub qemu_cpu: Option<String>,
    /// archway's cache directory: Wine and the WASI runtime keep their runner there (and
    /// Wine its prefix, `wine/<config>`). Without it, Windows and WASI programs have no
    /// emulator.
    pub cache_dir: Option<PathBuf>,
    /// Directories mapped to fixed names in the outputs (`-ffile-prefix-map`,
    /// `--remap-path-prefix`): the build's source and build directories.
    pub path_maps: Vec<crate::reproducible::PathMap>,
}

/// One installed cross toolchain serving one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Toolchain {
    pub family: Family,
    /// The compiler's own version (`12.2.0`, `14.0.6`).
    pub version: String,
    /// The platform this toolchain builds for.
    pub target: Platform,
    /// The triple the tools are named after or given with `--target` (`aarch64-linux-gnu`,
    /// `x86_64-w64-mingw32`); also autotools' `--host`.
    pub triple: String,
    pub cc: PathBuf,
    pub cxx: Option<PathBuf>,
    /// Arguments every compiler call needs (clang's `--target=`); part of `CC`.
    pub target_args: Vec<String>,
    pub ar: PathBuf,
    pub ranlib: PathBuf,
    pub nm: PathBuf,
    pub strip: PathBuf,
    pub objcopy: PathBuf,
    pub ld: PathBuf,
    /// Arguments every link needs besides the target's (clang's `--ld-path=`).
    pub link_args: Vec<String>,
    /// The resource compiler, for Windows targets.
    pub windres: Option<PathBuf>,
    /// Where the toolchain's own C library lives (Debian: `/usr/aarch64-linux-gnu`), if any.
    pub libc_prefix: Option<PathBuf>,
    /// MinGW's thread model (`posix`, `win32`), when the compiler name carries one.
    pub variant: Option<String>,
    /// The linker the build should use (`-fuse-ld=`), if not the compiler's default.
    pub linker: Option<Linker>,
    /// This is the compiler's unversioned name (the distribution's default for the triple).
    pub default: bool,
}

/// A compiler the toolchain lacks, and the Debian package that installs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingCompiler {
    pub program: PathBuf,
    pub package: String,
}

impl Toolchain {
    /// The compiler version's major number (`12` for `12.2.0`, `12-posix`).
    pub fn major_version(&self) -> &str {
        major(&self.version)
    }

    /// `CC` as build systems take it: the compiler and the arguments every call needs.
    pub fn cc_command(&self) -> Vec<String> {
        let mut command = vec![self.cc.display().to_string()];
        command.extend(self.target_args.iter().cloned());
        command
    }

    /// `CXX`, like [`Toolchain::cc_command`]: the C++ compiler, or for a gcc without its g++
    /// the path Debian's g++ package would put it at ([`Toolchain::missing_cxx`]).
    pub fn cxx_command(&self) -> Option<Vec<String>> {
        let cxx = self.cxx_path()?;
        let mut command = vec![cxx.display().to_string()];
        command.extend(self.target_args.iter().cloned());
        Some(command)
    }

    /// The C++ compiler, or the one a gcc toolchain lacks. A cross build never falls back to
    /// the host's `g++`/`c++` (which a build system finds when `CXX` is unset, and whose
    /// objects fail only at the link, as "file in wrong format"): it names the target's own,
    /// so C++ fails at once saying which compiler is not there.
    pub fn cxx_path(&self) -> Option<PathBuf> {
        self.cxx
            .clone()
            .or_else(|| self.missing_cxx().map(|missing| missing.program))
    }

    /// A gcc toolchain whose g++ is not installed: the compiler and Debian's package for it
    /// (`g++-arm-linux-gnueabihf`, `g++-12-aarch64-linux-gnu`).
    pub fn missing_cxx(&self) -> Option<MissingCompiler> {
        if self.cxx.is_some() || self.family != Family::Gcc {
            return None;
        }
        let name = self.cc.file_name()?.to_str()?;
        let (before, after) = name.rsplit_once("-gcc")?;
        let program = self.cc.with_file_name(format!("{before}-g++{after}"));
        let version = after.strip_prefix('-').filter(|v| !v.is_empty());
        let package = match version {
            Some(version) if self.target.kernel() != Kernel::Windows => {
                format!("g++-{version}-{}", self.triple)
            }
            _ => format!("g++-{}", self.triple),
        };
        // MinGW's packages are named for the CPU, not the triple.
        let package = if self.target.kernel() == Kernel::Windows {
            match self.target.cpu().name() {
                "x86_64" => "g++-mingw-w64-x86-64".to_string(),
                "i686" => "g++-mingw-w64-i686".to_string(),
                _ => package,
            }
        } else {
            package
        };
        Some(MissingCompiler { program, package })
    }

    /// Does this toolchain build for `target`? Tools carry the multiarch or GNU triple; the
    /// vendor part does not matter (`aarch64-linux-gnu` serves `aarch64-unknown-linux-gnu`).
    pub fn serves(&self, target: &Platform) -> bool {
        match self.family {
            Family::Gcc => gnu_prefixes(target).contains(&self.triple),
            Family::Clang => {
                self.target == *target
                    || gnu_prefixes(target).contains(&self.triple)
                    || self.triple == target.llvm_triple()
            }
        }
    }
}

/// The leading `N` of `N.M.P`, `N-posix`.
fn major(version: &str) -> &str {
    let end = version
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(version.len());
    &version[..end]
}

/// Does `have` (`12.2.0`) satisfy the requested `want` (`12`, `12.2`)?
pub(crate) fn version_matches(want: &str, have: &str) -> bool {
    let have_numeric = have
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .unwrap_or("");
    have_numeric == want
        || have_numeric
            .strip_prefix(want)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The names a GNU toolchain for `target` may carry as prefix, best first: Debian's multiarch
/// triple, the GNU config without and with its vendor.
pub fn gnu_prefixes(target: &Platform) -> Vec<String> {
    let mut prefixes = Vec::new();
    // Debian's cross tools carry the GNU type, which differs from the multiarch triple on
    // i386 (`i686-linux-gnu-gcc`, `/usr/lib/i386-linux-gnu`).
    if let Some(gnu_type) = target.debian_gnu_type() {
        prefixes.push(gnu_type.to_string());
    }
    if let Some(multiarch) = target.multiarch() {
        prefixes.push(multiarch.to_string());
    }
    let config = target.config();
    let parts: Vec<&str> = config.split('-').collect();
    // `i686-unknown-linux-gnu` → `i686-linux-gnu` (Debian's i386 cross gcc is named so, while
    // its multiarch triple is `i386-linux-gnu`).
    if parts.len() == 4 {
        prefixes.push(format!("{}-{}-{}", parts[0], parts[2], parts[3]));
    }
    prefixes.push(config);
    let mut seen = BTreeSet::new();
    prefixes.retain(|prefix| seen.insert(prefix.clone()));
    prefixes
}

/// Targets for which no toolchain runs on a Linux host, and why.
fn unsupported_reason(target: &Platform) -> Option<String> {
    if target.kernel().is_darwin() || target.vendor() == Vendor::Apple {
        return Some(
            "Apple's SDK and linker are licensed for Apple hardware only and Debian ships no darwin or ios cross toolchain"
                .to_string(),
        );
    }
    if target.abi() == Abi::Msvc {
        return Some(
            "the MSVC compiler and Windows SDK run only on Windows; use a MinGW target such as `mingw-ucrt-x86_64` instead"
                .to_string(),
        );
    }
    None
}

/// [`Error::Unsupported`] for targets no Linux host has a toolchain for.
pub(crate) fn check_supported(target: &Platform) -> Result<(), Error> {
    match unsupported_reason(target) {
        Some(reason) => Err(Error::Unsupported {
            target: target.display_name(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The executables on a search path, by file name; the first directory wins, as for `PATH`.
pub(crate) fn executables(search_path: &OsStr) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    for directory in std::env::split_paths(search_path) {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let path = entry.path();
            if !found.contains_key(&name) && is_executable(&path) {
                found.insert(name, path);
            }
        }
    }
    found
}

/// A regular file (after symlinks) with an execute bit.
pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Finds one program on a search path.
pub fn find_program(search_path: &OsStr, name: &str) -> Option<PathBuf> {
    std::env::split_paths(search_path)
        .map(|directory| directory.join(name))
        .find(|path| is_executable(path))
}

/// A GNU compiler name split up: `x86_64-w64-mingw32-gcc-12-posix` → triple, `12`, `posix`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GnuName {
    triple: String,
    version: Option<String>,
    variant: Option<String>,
}

fn parse_gnu_name(name: &str) -> Option<GnuName> {
    let mut rest = name;
    let mut variant = None;
    for suffix in ["-posix", "-win32"] {
        if let Some(stripped) = rest.strip_suffix(suffix) {
            variant = Some(suffix[1..].to_string());
            rest = stripped;
        }
    }
    let mut version = None;
    if let Some((head, tail)) = rest.rsplit_once('-') {
        if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit() || c == '.') {
            version = Some(tail.to_string());
            rest = head;
        }
    }
    let triple = rest.strip_suffix("-gcc")?;
    // A triple has at least cpu-kernel (`c89-gcc` and `x86_64-gcc` are not cross compilers).
    if triple.matches('-').count() < 1 {
        return None;
    }
    Some(GnuName {
        triple: triple.to_string(),
        version,
        variant,
    })
}

/// Runs `program args` and returns the first line of stdout.
fn first_line(program: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .next()
        .map(|line| line.trim().to_string())
        .filter(|line| !line.is_empty())
}

fn gcc_version(compiler: &Path) -> Option<String> {
    // `-dumpfullversion` (GCC 7+) gives `12.2.0` where `-dumpversion` may give just `12`.
    first_line(compiler, &["-dumpfullversion", "-dumpversion"])
}

fn clang_version(compiler: &Path) -> Option<String> {
    first_line(compiler, &["-dumpversion"])
}

/// Finds `name` among the executables, or keeps the bare name (the shell resolves it later).
fn tool(executables: &BTreeMap<String, PathBuf>, names: &[String]) -> PathBuf {
    names
        .iter()
        .find_map(|name| executables.get(name).cloned())
        .unwrap_or_else(|| PathBuf::from(&names[0]))
}

fn gnu_toolchain(
    executables: &BTreeMap<String, PathBuf>,
    name: &GnuName,
    cc: PathBuf,
    version: String,
    target: Platform,
) -> Toolchain {
    let triple = &name.triple;
    let suffix = format!(
        "{}{}",
        name.version
            .as_ref()
            .map(|v| format!("-{v}"))
            .unwrap_or_default(),
        name.variant
            .as_ref()
            .map(|v| format!("-{v}"))
            .unwrap_or_default()
    );
    let cxx = executables.get(&format!("{triple}-g++{suffix}")).cloned();
    let binutil = |tool_name: &str| tool(executables, &[format!("{triple}-{tool_name}")]);
    let windres = (target.kernel() == Kernel::Windows)
        .then(|| executables.get(&format!("{triple}-windres")).cloned())
        .flatten();
    let libc_prefix = cc
        .parent()
        .and_then(Path::parent)
        .map(|prefix| prefix.join(triple))
        .filter(|prefix| prefix.is_dir());
    Toolchain {
        family: Family::Gcc,
        version,
        target,
        triple: triple.clone(),
        cc,
        cxx,
        target_args: Vec::new(),
        ar: binutil("ar"),
        ranlib: binutil("ranlib"),
        nm: binutil("nm"),
        strip: binutil("strip"),
        objcopy: binutil("objcopy"),
        ld: binutil("ld"),
        link_args: Vec::new(),
        windres,
        libc_prefix,
        variant: name.variant.clone(),
        linker: None,
        default: name.version.is_none(),
    }
}

/// A clang toolchain for one target: clang's `--target`, LLVM's binutils and lld when present,
/// else the GNU binutils of the triple.
fn clang_toolchain(
    executables: &BTreeMap<String, PathBuf>,
    clang: &Path,
    clang_version_suffix: Option<&str>,
    version: String,
    target: Platform,
    triple: String,
    libc_prefix: Option<PathBuf>,
) -> Toolchain {
    let suffixed = |base: &str| -> Vec<String> {
        match clang_version_suffix {
            Some(v) => vec![format!("{base}-{v}"), base.to_string()],
            None => vec![base.to_string()],
        }
    };
    let llvm_or_gnu = |llvm: &str, gnu: &str| {
        let mut names = suffixed(llvm);
        names.push(format!("{triple}-{gnu}"));
        tool(executables, &names)
    };
    let cxx_names = suffixed("clang++");
    let cxx = cxx_names
        .iter()
        .find_map(|name| executables.get(name).cloned());
    let lld = suffixed("ld.lld")
        .iter()
        .find_map(|name| executables.get(name).cloned());
    let windres =
        (target.kernel() == Kernel::Windows).then(|| llvm_or_gnu("llvm-windres", "windres"));
    let lld_lacks_relaxation =
        target.cpu().family() == "riscv" && major(&version).parse::<u32>().unwrap_or(0) < 15;
    // Without lld, clang needs the GNU ld of the CPU; it finds it only for Debian's glibc
    // triples, so name it: musl objects link with the glibc toolchain's ld just as well.
    let gnu_ld = target
        .debian_gnu_type()
        .map(|gnu_type| gnu_type.replace("musl", "gnu"))
        .and_then(|gnu_type| executables.get(&format!("{gnu_type}-ld")).cloned());
    let (ld, link_args) = match (&lld, lld_lacks_relaxation, gnu_ld) {
        (Some(lld), false, _) => (lld.clone(), Vec::new()),
        (_, _, Some(gnu_ld)) => {
            let args = vec![format!("--ld-path={}", gnu_ld.display())];
            (gnu_ld, args)
        }
        _ => (tool(executables, &[format!("{triple}-ld")]), Vec::new()),
    };
    Toolchain {
        family: Family::Clang,
        version,
        target,
        target_args: vec![format!("--target={triple}")],
        cc: clang.to_path_buf(),
        cxx,
        ar: llvm_or_gnu("llvm-ar", "ar"),
        ranlib: llvm_or_gnu("llvm-ranlib", "ranlib"),
        nm: llvm_or_gnu("llvm-nm", "nm"),
        strip: llvm_or_gnu("llvm-strip", "strip"),
        objcopy: llvm_or_gnu("llvm-objcopy", "objcopy"),
        ld,
        link_args,
        windres,
        libc_prefix,
        variant: None,
        // clang's own linker knows every target; GNU ld only its own triple. But lld before
        // 15 cannot do RISC-V linker relaxation (`R_RISCV_ALIGN requires unimplemented linker
        // relaxation`, and Debian's riscv64 objects are built relaxable): GNU ld there.
        linker: lld.filter(|_| !lld_lacks_relaxation).map(|_| Linker::Lld),
        default: clang_version_suffix.is_none(),
        triple,
    }
}

/// The clang executables on the search path: `clang` and `clang-N`, one per real binary.
fn clangs(executables: &BTreeMap<String, PathBuf>) -> Vec<(String, PathBuf, Option<String>)> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    // Unversioned first, so it wins the deduplication and is marked the default.
    let mut names: Vec<&String> = executables
        .keys()
        .filter(|name| {
            name.as_str() == "clang"
                || name
                    .strip_prefix("clang-")
                    .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    names.sort_by_key(|name| (name.len(), name.to_string()));
    for name in names {
        let path = &executables[name];
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        if seen.insert(canonical) {
            let suffix = name.strip_prefix("clang-").map(str::to_string);
            found.push((name.clone(), path.clone(), suffix));
        }
    }
    found
}

/// The C libraries a clang can use without a sysroot: Debian's cross libc directories
/// (`/usr/<triple>`, installed with `libc6-dev-<arch>-cross` or MinGW) next to its `bin/`.
fn clang_libc_dirs(clang: &Path) -> Vec<(String, Platform, PathBuf)> {
    let Some(prefix) = clang.parent().and_then(Path::parent) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(prefix) else {
        return Vec::new();
    };
    let mut found: Vec<(String, Platform, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            if !name.contains('-') || !entry.path().join("include").is_dir() {
                return None;
            }
            let platform = Platform::parse(&name).ok()?;
            Some((name, platform, entry.path()))
        })
        .collect();
    // Debian's `wasi-libc` uses the multiarch layout instead (`/usr/include/wasm32-wasi`,
    // `/usr/lib/wasm32-wasi`), which Debian's clang searches for `--target=wasm32-wasi`.
    let wasi = "wasm32-wasi";
    if prefix.join("include").join(wasi).is_dir() && prefix.join("lib").join(wasi).is_dir() {
        if let Ok(platform) = Platform::parse(wasi) {
            found.push((wasi.to_string(), platform, prefix.to_path_buf()));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Every cross toolchain on `search_path` (normally `PATH`): GNU `<triple>-gcc[-N][-posix|-win32]`
/// and clang (one entry per target it has a C library for). Compilers reached through several
/// names (`aarch64-linux-gnu-gcc` → `aarch64-linux-gnu-gcc-12`) are listed once, under the
/// shortest name.
pub fn discover(search_path: &OsStr) -> Vec<Toolchain> {
    discover_triples(search_path, None, true)
}

/// [`discover`], probing only GNU compilers named after one of `triples` (each probe runs the
/// compiler, so `select` asks only the ones that can serve its target).
fn discover_triples(
    search_path: &OsStr,
    triples: Option<&[String]>,
    clang: bool,
) -> Vec<Toolchain> {
    let executables = executables(search_path);
    let mut toolchains = Vec::new();

    // GNU: shortest names first so the unversioned default wins over its versioned alias.
    let mut gnu: Vec<(&String, GnuName)> = executables
        .keys()
        .filter_map(|name| parse_gnu_name(name).map(|parsed| (name, parsed)))
        .filter(|(_, parsed)| triples.is_none_or(|triples| triples.contains(&parsed.triple)))
        .collect();
    gnu.sort_by_key(|(name, _)| (name.len(), name.to_string()));
    let mut seen_files = BTreeSet::new();
    let mut seen_compilers = BTreeSet::new();
    for (name, parsed) in gnu {
        let path = executables[name].clone();
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if !seen_files.insert(canonical) {
            continue;
        }
        let Ok(target) = Platform::parse(&parsed.triple) else {
            tracing::debug!(compiler = %name, "not a known triple, skipped");
            continue;
        };
        let Some(version) = gcc_version(&path) else {
            tracing::debug!(compiler = %name, "does not answer -dumpfullversion, skipped");
            continue;
        };
        // Distinct files can be the same compiler: Debian's alternatives make
        // `x86_64-w64-mingw32-gcc` and `-gcc-12` copies of `-gcc-12-win32`, whose version
        // (`12-win32`) carries the thread model.
        if !seen_compilers.insert((parsed.triple.clone(), version.clone())) {
            continue;
        }
        toolchains.push(gnu_toolchain(&executables, &parsed, path, version, target));
    }

    let clang_compilers = if clang {
        clangs(&executables)
    } else {
        Vec::new()
    };
    for (name, clang, suffix) in clang_compilers {
        let Some(version) = clang_version(&clang) else {
            tracing::debug!(compiler = %name, "does not answer -dumpversion, skipped");
            continue;
        };
        for (triple, target, libc_prefix) in clang_libc_dirs(&clang) {
            toolchains.push(clang_toolchain(
                &executables,
                &clang,
                suffix.as_deref(),
                version.clone(),
                target,
                triple,
                Some(libc_prefix),
            ));
        }
    }
    toolchains.sort_by(|a, b| {
        (a.target.config(), a.family, !a.default, &a.cc).cmp(&(
            b.target.config(),
            b.family,
            !b.default,
            &b.cc,
        ))
    });
    toolchains
}

/// The command that installs a toolchain for `target` (shown in hints).
fn install_command(target: &Platform, request: &Request) -> String {
    let mut command = format!(
        "archway toolchain install --target {}",
        target.display_name()
    );
    if let Some(family) = request.family {
        command.push_str(&format!(" --family {family}"));
    }
    if let Some(version) = &request.version {
        command.push_str(&format!(" --version {version}"));
    }
    command
}

/// Picks the toolchain a build for `target` uses: the explicit compiler of the request if any;
/// else the installed one matching the requested family and version, preferring GCC (the
/// distribution's own cross compiler) and unversioned defaults; else, for musl targets or when
/// the request brings a sysroot, clang with `--target`.
pub fn select(
    target: &Platform,
    request: &Request,
    search_path: &OsStr,
) -> Result<Toolchain, Error> {
    check_supported(target)?;
    let mut toolchain = match &request.cc {
        Some(cc) => explicit(target, request, cc, search_path)?,
        None => installed(target, request, search_path)?,
    };
    if let Some(cxx) = &request.cxx {
        check_tool("C++ compiler", cxx)?;
        toolchain.cxx = Some(cxx.clone());
    }
    if let Some(ar) = &request.ar {
        check_tool("archiver", ar)?;
        toolchain.ar = ar.clone();
    }
    if let Some(ld) = &request.ld {
        check_tool("linker", ld)?;
        toolchain.ld = ld.clone();
    }
    if let Some(linker) = request.linker {
        toolchain.linker = Some(linker);
    }
    // The platform as the user named it (`aarch64-multiplatform`), not as parsed from the
    // compiler's name (`aarch64-linux-gnu`).
    toolchain.target = target.clone();
    Ok(toolchain)
}

fn check_tool(role: &'static str, path: &Path) -> Result<(), Error> {
    if is_executable(path) {
        Ok(())
    } else {
        Err(Error::ToolMissing {
            role,
            path: path.to_path_buf(),
        })
    }
}

fn installed(
    target: &Platform,
    request: &Request,
    search_path: &OsStr,
) -> Result<Toolchain, Error> {
    let triples = gnu_prefixes(target);
    // clang starts slowly (~40 ms): ask it only when GCC cannot serve the request.
    let mut candidates = Vec::new();
    if request.family != Some(Family::Clang) {
        candidates = candidates_from(
            discover_triples(search_path, Some(&triples), false),
            target,
            request,
        );
    }
    if candidates.is_empty() && request.family != Some(Family::Gcc) {
        candidates = candidates_from(
            discover_triples(search_path, Some(&triples), true),
            target,
            request,
        );
    }
    candidates.sort_by_key(|toolchain| (toolchain.family, !toolchain.default));
    if let Some(found) = candidates.into_iter().next() {
        return Ok(found);
    }
    installed_fallback(target, request, search_path)
}

/// The discovered toolchains that serve `target` with the requested family and version.
fn candidates_from(found: Vec<Toolchain>, target: &Platform, request: &Request) -> Vec<Toolchain> {
    found
        .into_iter()
        .filter(|toolchain| toolchain.serves(target))
        .filter(|toolchain| {
            request
                .family
                .is_none_or(|family| toolchain.family == family)
        })
        .filter(|toolchain| {
            request
                .version
                .as_deref()
                .is_none_or(|want| version_matches(want, &toolchain.version))
        })
        .collect()
}

/// No discovered toolchain fits: clang for a target it has no `/usr/<triple>` libc for, else
/// the error naming what was looked for.
fn installed_fallback(
    target: &Platform,
    request: &Request,
    search_path: &OsStr,
) -> Result<Toolchain, Error> {
    // clang builds for any target once it has a C library: the user's sysroot, or archway's
    // (musl targets always come with one: Debian has no musl cross gcc).
    let clang_allowed = request.family != Some(Family::Gcc)
        && (request.sysroot.is_some()
            || target.libc() == Libc::Musl
            || request.family == Some(Family::Clang));
    if clang_allowed {
        let executables = executables(search_path);
        let wanted = clangs(&executables)
            .into_iter()
            .find_map(|(_, path, suffix)| {
                let version = clang_version(&path)?;
                let matches = request
                    .version
                    .as_deref()
                    .is_none_or(|want| version_matches(want, &version));
                matches.then_some((path, suffix, version))
            });
        if let Some((clang, suffix, version)) = wanted {
            let triple = clang_triple(target);
            return Ok(clang_toolchain(
                &executables,
                &clang,
                suffix.as_deref(),
                version,
                target.clone(),
                triple,
                None,
            ));
        }
    }

    let mut looked_for: Vec<String> = Vec::new();
    if request.family != Some(Family::Clang) {
        let suffix = request
            .version
            .as_ref()
            .map(|v| format!("-{v}"))
            .unwrap_or_default();
        looked_for.extend(
            gnu_prefixes(target)
                .iter()
                .map(|p| format!("{p}-gcc{suffix}")),
        );
    }
    if clang_allowed {
        looked_for.push(match &request.version {
            Some(v) => format!("clang-{v}"),
            None => "clang".to_string(),
        });
    }
    let wanted = match (request.family, &request.version) {
        (Some(family), Some(version)) => format!(" ({family} {version})"),
        (Some(family), None) => format!(" ({family})"),
        (None, Some(version)) => format!(" (version {version})"),
        (None, None) => String::new(),
    };
    Err(Error::NotFound {
        target: target.display_name(),
        wanted,
        looked_for,
        install: install_command(target, request),
    })
}

/// The triple clang gets with `--target`: Debian's multiarch triple where there is one (clang
/// then finds Debian's cross libgcc and libc), else the LLVM triple.
fn clang_triple(target: &Platform) -> String {
    match (target.libc(), target.debian_gnu_type()) {
        (Libc::Glibc, Some(gnu_type)) => gnu_type.to_string(),
        _ => target.llvm_triple(),
    }
}

/// A toolchain from an explicit compiler path (`cc = "/opt/x/bin/aarch64-linux-musl-gcc"`).
fn explicit(
    target: &Platform,
    request: &Request,
    cc: &Path,
    search_path: &OsStr,
) -> Result<Toolchain, Error> {
    check_tool("C compiler", cc)?;
    let version_text = Command::new(cc)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    let family = request.family.unwrap_or(if version_text.contains("clang") {
        Family::Clang
    } else {
        Family::Gcc
    });
    // Tools next to the compiler first (`/opt/x/bin/aarch64-linux-musl-ar`), then PATH.
    let mut path = cc
        .parent()
        .map(|dir| dir.as_os_str().to_os_string())
        .unwrap_or_default();
    if !search_path.is_empty() {
        path.push(":");
        path.push(search_path);
    }
    let executables = executables(&path);
    let file_name = cc.file_name().and_then(OsStr::to_str).unwrap_or("");
    match family {
        Family::Gcc => {
            let version = gcc_version(cc).unwrap_or_else(|| "unknown".to_string());
            let name = parse_gnu_name(file_name).unwrap_or_else(|| GnuName {
                triple: first_line(cc, &["-dumpmachine"]).unwrap_or_else(|| target.config()),
                version: None,
                variant: None,
            });
            Ok(gnu_toolchain(
                &executables,
                &name,
                cc.to_path_buf(),
                version,
                target.clone(),
            ))
        }
        Family::Clang => {
            let version = clang_version(cc).unwrap_or_else(|| "unknown".to_string());
            Ok(clang_toolchain(
                &executables,
                cc,
                file_name.strip_prefix("clang-"),
                version,
                target.clone(),
                clang_triple(target),
                None,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_names_split_into_triple_version_and_thread_model() {
        let cases = [
            (
                "aarch64-linux-gnu-gcc",
                Some(("aarch64-linux-gnu", None, None)),
            ),
            (
                "aarch64-linux-gnu-gcc-12",
                Some(("aarch64-linux-gnu", Some("12"), None)),
            ),
            (
                "x86_64-w64-mingw32-gcc-posix",
                Some(("x86_64-w64-mingw32", None, Some("posix"))),
            ),
            (
                "x86_64-w64-mingw32-gcc-12-win32",
                Some(("x86_64-w64-mingw32", Some("12"), Some("win32"))),
            ),
            ("aarch64-linux-gnu-gcc-ar-12", None),
            ("aarch64-linux-gnu-g++", None),
            ("c89-gcc", None),
            ("gcc", None),
            ("gcc-12", None),
        ];
        for (input, expected) in cases {
            let parsed = parse_gnu_name(input);
            let expected = expected.map(
                |(triple, version, variant): (&str, Option<&str>, Option<&str>)| GnuName {
                    triple: triple.to_string(),
                    version: version.map(str::to_string),
                    variant: variant.map(str::to_string),
                },
            );
            assert_eq!(parsed, expected, "{input}");
        }
    }

    #[test]
    fn versions_match_by_prefix_of_components() {
        assert!(version_matches("12", "12.2.0"));
        assert!(version_matches("12.2", "12.2.0"));
        assert!(version_matches("12", "12-posix"));
        assert!(version_matches("12", "12"));
        assert!(!version_matches("1", "12.2.0"));
        assert!(!version_matches("11", "12.2.0"));
        assert!(!version_matches("12.20", "12.2.0"));
    }

    #[test]
    fn family_and_linker_names_round_trip() {
        for family in [Family::Gcc, Family::Clang] {
            assert_eq!(family.to_string().parse::<Family>().ok(), Some(family));
        }
        for linker in [Linker::Bfd, Linker::Gold, Linker::Lld, Linker::Mold] {
            assert_eq!(linker.to_string().parse::<Linker>().ok(), Some(linker));
        }
        assert!("msvc".parse::<Family>().is_err());
        assert!("ld".parse::<Linker>().is_err());
    }
}
