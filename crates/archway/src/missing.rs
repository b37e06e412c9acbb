//! What a failed step's output says is missing, and the Debian package that ships it.
//!
//! [`find`] reads a build log for the usual shapes of a missing build dependency (a header the
//! compiler cannot open, a library the linker cannot find, a pkg-config module, a Meson
//! dependency, a CMake package configuration file) and returns the file that is missing;
//! [`search_contents`] looks that file up in Debian's Contents index
//! (`dists/<suite>/main/Contents-<arch>.gz`, the file `apt-file` searches: one line per file,
//! `path   section/package[,section/package...]`), and [`contents_index`] keeps a copy of that
//! index in the cache directory.
//!
//! ```
//! use archway::missing::{find, MissingKind};
//!
//! let log = "sl.c:42:10: fatal error: curses.h: No such file or directory\n";
//! let missing = find(log).unwrap();
//! assert_eq!(missing.kind, MissingKind::Header);
//! assert_eq!(missing.file(), "curses.h");
//! ```

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How old a cached Contents index may get before it is downloaded again (the archive's
/// stable suites change with point releases; a stale index still names the right package
/// nearly always, so a failed refresh keeps using it).
const CONTENTS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// What kind of file a build found missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingKind {
    /// A C/C++ header (`#include <curses.h>`).
    Header,
    /// A library the linker was asked for (`-lncurses`).
    Library,
    /// A pkg-config module (pkg-config, pkgconf, Meson's `dependency()`).
    PkgConfig,
    /// A CMake package configuration file (`find_package(Foo CONFIG)`).
    CmakePackage,
    /// A CMake find module's result (`Could NOT find ZLIB`): no file name follows from it.
    CmakeModule,
    /// A program a step ran that is not installed (`make: xmlto: No such file or directory`,
    /// `/bin/sh: 1: help2man: not found`): a build tool, from the host's packages.
    Program,
}

/// A missing build dependency, as the failed step's output named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub kind: MissingKind,
    /// The name as the tool gave it: `curses.h`, `ncurses` (for `-lncurses`), `zlib`, `Foo`.
    pub name: String,
    /// The output line it was read from.
    pub line: String,
}

/// A path (or the end of one) the Contents index is searched for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Candidate {
    /// Exactly this path.
    Path(String),
    /// Any path under `usr/` that ends in `/<file name>`.
    FileName(String),
}

impl Missing {
    /// The missing file's name for messages: `curses.h`, `libncurses.so`, `zlib.pc`,
    /// `FooConfig.cmake`; for a CMake find module, the package name.
    pub fn file(&self) -> String {
        match self.kind {
            MissingKind::Header | MissingKind::CmakeModule | MissingKind::Program => {
                self.name.clone()
            }
            MissingKind::Library => format!("lib{}.so", self.name),
            MissingKind::PkgConfig => format!("{}.pc", self.name),
            MissingKind::CmakePackage => format!("{}Config.cmake", self.name),
        }
    }

    /// The path to give `apt-file search` (the most likely one).
    pub fn search_path(&self, multiarch: &str) -> String {
        // A program may be an alternative's name (`figlet` is `figlet-figlet`'s): a substring
        // search finds the package's own name for it.
        if self.kind == MissingKind::Program {
            return format!("bin/{}", self.name);
        }
        match self.candidates(multiarch).first() {
            Some(Candidate::Path(path)) => path.clone(),
            Some(Candidate::FileName(name)) => name.clone(),
            None => self.file(),
        }
    }

    /// Where Debian's packages install the file, most likely first (Debian Policy §8.2 and
    /// the multiarch layout: headers in `/usr/include` or `/usr/include/<triplet>`,
    /// libraries and `.pc` files in `/usr/lib/<triplet>`, architecture-independent `.pc`
    /// files in `/usr/share/pkgconfig`).
    fn candidates(&self, multiarch: &str) -> Vec<Candidate> {
        match self.kind {
            MissingKind::Header => vec![
                Candidate::Path(format!("usr/include/{}", self.name)),
                Candidate::Path(format!("usr/include/{multiarch}/{}", self.name)),
            ],
            MissingKind::Library => vec![
                Candidate::Path(format!("usr/lib/{multiarch}/lib{}.so", self.name)),
                Candidate::Path(format!("usr/lib/{multiarch}/lib{}.a", self.name)),
                Candidate::Path(format!("lib/{multiarch}/lib{}.so", self.name)),
            ],
            MissingKind::PkgConfig => vec![
                Candidate::Path(format!("usr/lib/{multiarch}/pkgconfig/{}.pc", self.name)),
                Candidate::Path(format!("usr/share/pkgconfig/{}.pc", self.name)),
                Candidate::Path(format!("usr/lib/pkgconfig/{}.pc", self.name)),
            ],
            // CMake's search procedure (cmake-packages(7), find_package): `<Name>Config.cmake`
            // or `<lowercase-name>-config.cmake` in a `<prefix>/(lib/<arch>|lib|share)/cmake/
            // <name>*/` directory, among others.
            MissingKind::CmakePackage => vec![
                Candidate::FileName(format!("{}Config.cmake", self.name)),
                Candidate::FileName(format!("{}-config.cmake", self.name.to_lowercase())),
            ],
            MissingKind::CmakeModule => Vec::new(),
            MissingKind::Program => ["usr/bin", "bin", "usr/sbin", "sbin"]
                .into_iter()
                .map(|directory| Candidate::Path(format!("{directory}/{}", self.name)))
                .collect(),
        }
    }
}

/// The first missing build dependency `output` names, if any. CMake's status lines (`-- `)
/// report optional packages too (`-- Could NOT find X`, pkg_check_modules' `--   No package
/// 'x' found`): they count only when no error line names anything.
pub fn find(output: &str) -> Option<Missing> {
    let lines: Vec<&str> = output.lines().collect();
    let mut found = lines.iter().enumerate().filter_map(|(index, line)| {
        let kind_name = parse_line(line).or_else(|| {
            // CMake names the package on one line and the file names on the following ones.
            cmake_package(line, &lines[index + 1..])
        })?;
        Some(Missing {
            kind: kind_name.0,
            name: kind_name.1,
            line: line.trim().to_string(),
        })
    });
    let mut status = None;
    for missing in found.by_ref() {
        if !missing.line.starts_with("--") {
            return Some(missing);
        }
        status.get_or_insert(missing);
    }
    status
}

/// One output line: the kind and the name it says is missing.
fn parse_line(line: &str) -> Option<(MissingKind, String)> {
    let line = line.trim();
    // gcc: `sl.c:42:10: fatal error: curses.h: No such file or directory`.
    if let Some(at) = line
        .find("fatal error: ")
        .filter(|at| has_location(&line[..*at]))
    {
        let rest = &line[at + "fatal error: ".len()..];
        if let Some(name) = rest.strip_suffix(": No such file or directory") {
            return plain(name).map(|name| (MissingKind::Header, name));
        }
        // clang: `sl.c:42:10: fatal error: 'curses.h' file not found`.
        if let Some(name) = rest.strip_suffix(" file not found") {
            return quoted(name, '\'').map(|name| (MissingKind::Header, name));
        }
    }
    // GNU ld: `/usr/bin/aarch64-linux-gnu-ld: cannot find -lncurses` (binutils ≥ 2.40 adds
    // `: No such file or directory`); lld: `ld.lld: error: unable to find library -lncurses`.
    for marker in ["cannot find -l", "unable to find library -l"] {
        if let Some(rest) = after(line, marker) {
            let name = rest.split(':').next().unwrap_or(rest);
            return plain(name).map(|name| (MissingKind::Library, name));
        }
    }
    // pkgconf: `Package 'zlib', required by 'virtual:world', not found`;
    // pkg-config: `No package 'zlib' found`, `Package zlib was not found in the pkg-config
    // search path.`
    if let Some(rest) = line.strip_prefix("Package '") {
        if line.ends_with("not found") {
            return rest
                .split('\'')
                .next()
                .and_then(plain)
                .map(|name| (MissingKind::PkgConfig, name));
        }
    }
    if let Some(rest) = after(line, "No package '") {
        if let Some(name) = rest.strip_suffix("' found") {
            return plain(name).map(|name| (MissingKind::PkgConfig, name));
        }
    }
    if let Some(rest) = line.strip_prefix("Package ") {
        if let Some(name) = rest.strip_suffix(" was not found in the pkg-config search path.") {
            return plain(name).map(|name| (MissingKind::PkgConfig, name));
        }
    }
    // Meson: `meson.build:5:0: ERROR: Dependency "zlib" not found, tried pkgconfig and cmake`.
    // Meson's names for `dependency()` are pkg-config module names (a few special ones aside).
    if let Some(rest) = after(line, "ERROR: Dependency \"") {
        if let Some((name, tail)) = rest.split_once('"') {
            if tail.trim_start().starts_with("not found") {
                return plain(name).map(|name| (MissingKind::PkgConfig, name));
            }
        }
    }
    if let Some(name) = missing_program(line) {
        return Some((MissingKind::Program, name));
    }
    // CMake's find modules: `Could NOT find ZLIB (missing: ZLIB_LIBRARY ZLIB_INCLUDE_DIR)`.
    if let Some(rest) = after(line, "Could NOT find ") {
        let name = rest.split([' ', '(']).next().unwrap_or(rest);
        return plain(name).map(|name| (MissingKind::CmakeModule, name));
    }
    None
}

/// A program that make or a shell could not run, because it is not installed: make's
/// `make[1]: xmlto: No such file or directory` (make 4.3 and later, when `exec` fails) and
/// `make: xmlto: Command not found`, dash's `/bin/sh: 1: xmlto: not found`, bash's
/// `bash: line 1: xmlto: command not found`. A path (`./gen.sh`) is the project's own.
fn missing_program(line: &str) -> Option<String> {
    let (who, rest) = line.split_once(": ")?;
    let who = who.rsplit('/').next().unwrap_or(who);
    let from_make = who == "make" || (who.starts_with("make[") && who.ends_with(']'));
    if !from_make && !matches!(who, "sh" | "bash" | "dash") {
        return None;
    }
    let (name, message) = rest.split_once(": ")?;
    // The shells name the line first: `1: xmlto: not found`, `line 1: xmlto: ...`.
    let line_number = name.trim_start_matches("line ");
    if !from_make && !line_number.is_empty() && line_number.bytes().all(|b| b.is_ascii_digit()) {
        let (name, message) = message.split_once(": ")?;
        return program_name(name, message, false);
    }
    program_name(name, message, from_make)
}

/// `name` when `message` says it could not be run for want of the program.
fn program_name(name: &str, message: &str, from_make: bool) -> Option<String> {
    let missing = if from_make {
        matches!(message, "No such file or directory" | "Command not found")
    } else {
        matches!(message, "not found" | "command not found")
    };
    (missing && !name.contains('/'))
        .then(|| plain(name))
        .flatten()
}

/// CMake's `find_package` in config mode:
///
/// ```text
///   Could not find a package configuration file provided by "Foo" with any of
///   the following names:
///
///     FooConfig.cmake
///     foo-config.cmake
/// ```
///
/// The package only counts when the file names follow (that is what the Contents index can
/// be searched for).
fn cmake_package(line: &str, following: &[&str]) -> Option<(MissingKind, String)> {
    let rest = after(
        line.trim(),
        "Could not find a package configuration file provided by \"",
    )?;
    let name = plain(rest.split('"').next()?)?;
    let config = format!("{name}Config.cmake");
    let lowercase = format!("{}-config.cmake", name.to_lowercase());
    following
        .iter()
        .take(6)
        .any(|line| line.trim() == config || line.trim() == lowercase)
        .then_some((MissingKind::CmakePackage, name))
}

/// Whether a compiler diagnostic's prefix is a source location (`sl.c:42:10: `): `cc1: fatal
/// error: sl.c: No such file or directory` is a missing source file, not a missing header.
fn has_location(prefix: &str) -> bool {
    let parts: Vec<&str> = prefix
        .trim_end()
        .trim_end_matches(':')
        .rsplitn(3, ':')
        .collect();
    parts.len() == 3
        && parts[..2]
            .iter()
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
}

/// The text after `marker` in `line`.
fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.find(marker).map(|at| &line[at + marker.len()..])
}

/// `'name'` (or `‘name’`, gcc's quotes in a UTF-8 locale) without its quotes.
fn quoted(text: &str, quote: char) -> Option<String> {
    let text = text.trim();
    let inner = text
        .strip_prefix(quote)
        .and_then(|text| text.strip_suffix(quote))
        .or_else(|| {
            text.strip_prefix('\u{2018}')
                .and_then(|text| text.strip_suffix('\u{2019}'))
        })?;
    plain(inner)
}

/// A file or package name as a build names it: no spaces, no quotes, not empty, no `..`
/// component (it becomes part of a path searched for).
fn plain(name: &str) -> Option<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() < 256
        && !name.starts_with('/')
        && !name.split('/').any(|part| part == ".." || part.is_empty())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+/@".contains(c));
    ok.then(|| name.to_string())
}

/// Calls `each(path, package)` for every `usr/`, `lib/`, `bin/` and `sbin/` line of a (decompressed) Contents
/// index, with the first package the line names, until `each` returns `false`.
fn each_entry(
    mut contents: impl BufRead,
    mut each: impl FnMut(&str, &str) -> bool,
) -> std::io::Result<()> {
    let mut raw = Vec::new();
    loop {
        raw.clear();
        if contents.read_until(b'\n', &mut raw)? == 0 {
            return Ok(());
        }
        // Only `usr/`, `lib/` and the programs' `bin/` and `sbin/` paths can match: skip the
        // rest before any decoding.
        if ![&b"usr/"[..], b"lib/", b"bin/", b"sbin/"]
            .iter()
            .any(|prefix| raw.starts_with(prefix))
        {
            continue;
        }
        let Ok(line) = std::str::from_utf8(&raw) else {
            continue;
        };
        let line = line.trim_end();
        // The path may hold spaces; the package list is the last field.
        let Some((path, packages)) = line.rsplit_once([' ', '\t']) else {
            continue;
        };
        // `section/package[,section/package]`: the first package.
        let package = packages
            .split(',')
            .next()
            .and_then(|entry| entry.rsplit('/').next())
            .unwrap_or_default();
        if package
            .parse::<archway_platform::debian_names::PackageName>()
            .is_err()
        {
            continue;
        }
        if !each(path.trim_end(), package) {
            return Ok(());
        }
    }
}

/// Searches a (decompressed) Contents index for the package that ships `missing` for the
/// architecture whose multiarch triplet is `multiarch`: the package of the most likely path
/// (see [`Missing`]'s candidates) that is present. `Ok(None)`: no package ships it.
pub fn search_contents(
    contents: impl BufRead,
    missing: &Missing,
    multiarch: &str,
) -> std::io::Result<Option<String>> {
    let candidates = missing.candidates(multiarch);
    if candidates.is_empty() {
        return Ok(None);
    }
    // (candidate rank, package): the best so far; rank 0 ends the search.
    let mut best: Option<(usize, String)> = None;
    each_entry(contents, |path, package| {
        let rank = candidates.iter().position(|candidate| match candidate {
            Candidate::Path(wanted) => path == wanted,
            Candidate::FileName(name) => path
                .strip_suffix(name.as_str())
                .is_some_and(|directory| directory.ends_with('/') && path.starts_with("usr/")),
        });
        if let Some(rank) = rank {
            if best.as_ref().is_none_or(|(best, _)| rank < *best) {
                best = Some((rank, package.to_string()));
            }
        }
        best.as_ref().is_none_or(|(rank, _)| *rank > 0)
    })?;
    Ok(best.map(|(_, package)| package))
}

/// [`search_contents`] for several files in one pass over the index (headers, libraries and
/// pkg-config modules: their candidates are exact paths; CMake's are not, and find nothing
/// here). The packages come in the order of `missing`.
pub fn search_contents_many(
    contents: impl BufRead,
    missing: &[Missing],
    multiarch: &str,
) -> std::io::Result<Vec<Option<String>>> {
    // Each exact path → (which missing file, its candidate rank).
    let mut wanted: std::collections::HashMap<String, Vec<(usize, usize)>> =
        std::collections::HashMap::new();
    for (index, file) in missing.iter().enumerate() {
        for (rank, candidate) in file.candidates(multiarch).into_iter().enumerate() {
            if let Candidate::Path(path) = candidate {
                wanted.entry(path).or_default().push((index, rank));
            }
        }
    }
    let mut best: Vec<Option<(usize, String)>> = vec![None; missing.len()];
    if !wanted.is_empty() {
        each_entry(contents, |path, package| {
            for &(index, rank) in wanted.get(path).into_iter().flatten() {
                if best[index].as_ref().is_none_or(|(best, _)| rank < *best) {
                    best[index] = Some((rank, package.to_string()));
                }
            }
            true
        })?;
    }
    Ok(best
        .into_iter()
        .map(|found| found.map(|(_, package)| package))
        .collect())
}

/// [`search_contents`] over a gzip-compressed Contents file.
pub fn search_contents_file(
    path: &Path,
    missing: &Missing,
    multiarch: &str,
) -> std::io::Result<Option<String>> {
    let file = std::fs::File::open(path)?;
    let reader = std::io::BufReader::with_capacity(
        1 << 16,
        flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file)),
    );
    search_contents(reader, missing, multiarch)
}

/// Where the Contents index of `suite` for `architecture` is kept: `<cache>/contents/`.
pub fn contents_path(cache_dir: &Path, suite: &str, architecture: &str) -> PathBuf {
    cache_dir
        .join("contents")
        .join(format!("{suite}-{architecture}.gz"))
}

/// The Contents index of `suite` for `architecture` from `mirror`, downloaded into the cache
/// directory when it is missing or older than a week (through apt's own downloader,
/// `apt-helper download-file`, which honours the host's apt proxy settings). `Err` says why
/// there is none.
pub fn contents_index(
    cache_dir: &Path,
    mirror: &str,
    suite: &str,
    architecture: &str,
) -> Result<PathBuf, String> {
    let path = contents_path(cache_dir, suite, architecture);
    let age = std::fs::metadata(&path)
        .and_then(|meta| meta.modified())
        .ok()
        .map(|modified| modified.elapsed().unwrap_or_default());
    if age.is_some_and(|age| age < CONTENTS_MAX_AGE) {
        return Ok(path);
    }
    let url = format!(
        "{}/dists/{suite}/main/Contents-{architecture}.gz",
        mirror.trim_end_matches('/')
    );
    let downloaded = download(&url, &path);
    match (downloaded, age) {
        (Ok(()), _) => Ok(path),
        // A stale index is better than none.
        (Err(_), Some(_)) => Ok(path),
        (Err(reason), None) => Err(reason),
    }
}

fn download(url: &str, path: &Path) -> Result<(), String> {
    let Some(directory) = path.parent() else {
        return Err(format!("`{}` has no parent directory", path.display()));
    };
    std::fs::create_dir_all(directory)
        .map_err(|error| format!("could not create `{}`: {error}", directory.display()))?;
    let partial = path.with_extension("gz.partial");
    tracing::debug!(url, "downloading the Contents index");
    let output = std::process::Command::new("/usr/lib/apt/apt-helper")
        // One retry: apt's default (3, with growing pauses) makes an offline build wait
        // seconds for an error that only explains another error.
        .args([
            "-o",
            "Acquire::Retries=1",
            "-o",
            "Acquire::http::Timeout=30",
            "download-file",
            url,
        ])
        .arg(&partial)
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|error| format!("could not run `apt-helper` (package `apt`): {error}"))?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&partial);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("apt-helper failed")
            .trim()
            .to_string();
        return Err(format!("could not download `{url}`: {reason}"));
    }
    std::fs::rename(&partial, path)
        .map_err(|error| format!("could not write `{}`: {error}", path.display()))
}

/// Where the Debian package goes so that the build finds it, for the method that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// The cross method: the target's sysroot (`archway sysroot add`, `sysroot-packages`).
    Sysroot { target: String },
    /// The hybrid and emulated methods: the root filesystem (`--packages`, `rootfs-packages`).
    Rootfs { target: String },
    /// The native method: the host's own packages.
    Host,
}

impl Fix {
    /// The exact way to add `package` (a Debian package name, or `PACKAGE` when unknown).
    pub fn instructions(&self, package: &str) -> String {
        self.instructions_for(&[package])
    }

    /// The exact way to add `packages` (Debian package names), all at once.
    pub fn instructions_for(&self, packages: &[&str]) -> String {
        let it = if packages.len() > 1 { "them" } else { "it" };
        let listed = packages.join(" ");
        let toml = packages
            .iter()
            .map(|package| format!("\"{package}\""))
            .collect::<Vec<_>>()
            .join(", ");
        match self {
            Fix::Sysroot { target } => format!(
                "add {it} to the sysroot with `archway sysroot add --target {target} {listed}` \
                 (or `sysroot-packages = [{toml}]` under `[build]` in `archway.toml`), then \
                 build again"
            ),
            Fix::Rootfs { .. } => format!(
                "build again with `--packages {}` (or `rootfs-packages = [{toml}]` under \
                 `[build]` in `archway.toml`)",
                packages.join(",")
            ),
            Fix::Host => format!("run `apt-get install {listed}` as root, then build again"),
        }
    }
}

/// A failed step's missing dependency, with the Debian package that ships it where the
/// Contents index could tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub missing: Missing,
    /// The Debian architecture (`arm64`) and suite (`bookworm`) that were searched.
    pub architecture: String,
    pub suite: String,
    /// The multiarch triplet (`aarch64-linux-gnu`) the paths were searched with.
    pub multiarch: String,
    /// `Ok(Some(package))`: it ships the file; `Ok(None)`: no package does; `Err`: why the
    /// Contents index could not be searched.
    pub package: Result<Option<String>, String>,
    pub fix: Fix,
    /// Where the project's own tree has a file of that name (a header), relative to it.
    pub shipped: Option<PathBuf>,
}

impl Diagnosis {
    /// The error message: what is missing and which package ships it.
    pub fn message(&self) -> String {
        let message = self.missing_message();
        match &self.shipped {
            Some(own) => format!(
                "{message}; the project has its own `{}`, which the failing command did not \
                 find: if that is the one meant, its include path is the problem, not a \
                 dependency",
                own.display()
            ),
            None => message,
        }
    }

    fn missing_message(&self) -> String {
        let file = self.missing.file();
        let architecture = &self.architecture;
        match (&self.package, self.missing.kind) {
            (_, MissingKind::CmakeModule) => format!(
                "CMake could not find `{file}`: install its development package for \
                 {architecture}"
            ),
            (Ok(Some(package)), MissingKind::Program) => {
                format!("the program `{file}` is not installed: Debian's `{package}` ships it")
            }
            (Ok(Some(package)), _) => {
                format!("`{file}` is missing: Debian's `{package}` ships it for {architecture}")
            }
            (Ok(None), MissingKind::Program) => format!(
                "the program `{file}` is not installed, and no package of Debian {} ships a \
                 program by that name (it may be an alternative's, which packages ship under \
                 another)",
                self.suite
            ),
            (Ok(None), _) => format!(
                "`{file}` is missing, and no package of Debian {} ships it for {architecture}",
                self.suite
            ),
            (Err(reason), _) => {
                format!("`{file}` is missing (which Debian package ships it is unknown: {reason})")
            }
        }
    }

    /// The `hint:` line: the exact fix, or how to find the package.
    pub fn hint(&self) -> String {
        match &self.package {
            Ok(Some(package)) => self.fix.instructions(package),
            _ => format!(
                "find the package that ships it with `apt-file search --architecture {} {}` \
                 (for Debian {}), then {}",
                self.architecture,
                self.missing.search_path(&self.multiarch),
                self.suite,
                self.fix.instructions("PACKAGE")
            ),
        }
    }
}

/// Looks `missing` up in the Contents indexes of `suite` for `architecture`, then for
/// architecture-independent packages (`Contents-all`: header-only libraries, `.pc` files in
/// `/usr/share/pkgconfig`), downloading them into `cache_dir` when needed.
pub fn lookup(
    cache_dir: &Path,
    mirror: &str,
    suite: &str,
    architecture: &str,
    multiarch: &str,
    missing: &Missing,
) -> Result<Option<String>, String> {
    if missing.kind == MissingKind::CmakeModule {
        return Ok(None);
    }
    for index in [architecture, "all"] {
        let path = contents_index(cache_dir, mirror, suite, index)?;
        let found = search_contents_file(&path, missing, multiarch)
            .map_err(|error| format!("could not read `{}`: {error}", path.display()))?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// How much of the end of a build log is read: the failing step's error is near its end.
/// The missing dependency of a failed step, from its output in `log` (from byte `start`, at
/// most the last 4 MiB).
#[cfg(test)]
fn find_in_log(log: &Path, start: u64) -> Option<Missing> {
    find(&crate::error::transcript_tail(log, start)?)
}

/// Turns a failed step whose log names a missing dependency into
/// [`Error::MissingDependency`](crate::Error::MissingDependency); any other error is returned
/// as it is.
pub(crate) fn diagnose(
    error: crate::Error,
    plan: &crate::build::Plan,
    request: &crate::build::BuildRequest,
) -> crate::Error {
    let Some(missing) = error.failed_step_output().and_then(|output| find(&output)) else {
        return error;
    };
    // A header the project has in its own tree: the package may still be what is meant (a
    // vendored copy beside a system dependency), but the message says so.
    let shipped = match missing.kind {
        MissingKind::Header => shipped_at(&request.project_dir, &missing.name),
        _ => None,
    };
    let (Some(architecture), Some(multiarch)) =
        (plan.target.debian_arch(), plan.target.multiarch())
    else {
        return error;
    };
    let (mut fix, suite) = fix_for(plan, architecture);
    // A build tool runs on the host in a cross build: the host's package, not the sysroot's.
    if missing.kind == MissingKind::Program && matches!(fix, Fix::Sysroot { .. }) {
        fix = Fix::Host;
    }
    let package = match &request.cache_dir {
        Some(cache_dir) => lookup(
            cache_dir,
            archway_platform::debian_names::DEFAULT_MIRROR,
            &suite,
            architecture,
            multiarch,
            &missing,
        ),
        None => Err("no cache directory to keep Debian's Contents index in".to_string()),
    };
    crate::Error::MissingDependency {
        diagnosis: Box::new(Diagnosis {
            missing,
            architecture: architecture.to_string(),
            suite,
            multiarch: multiarch.to_string(),
            package,
            fix,
            shipped,
        }),
        step: Box::new(error),
    }
}

/// What configure looked for and did not find, though a Debian package ships it: the errors
/// of its checks in its log (`config.log`, `meson-logs/meson-log.txt`, CMake's error log). A
/// project configured without an optional dependency may fail later for want of it (jq's
/// regular expressions without `oniguruma.h`), with nothing in the failing step's output that
/// names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WentWithout {
    /// The configure log the checks were read from.
    pub log: PathBuf,
    /// Each package, with the files configure missed that it ships (`oniguruma.h`,
    /// `libonig.so`), in the order configure looked for them.
    pub packages: Vec<(String, Vec<String>)>,
    /// Packages left out of `packages` (beyond [`WentWithout::SHOWN`]).
    pub more: usize,
    /// The Debian architecture searched (`s390x`).
    pub architecture: String,
    pub fix: Fix,
    /// Whether the packages were kept to those the project's `debian/control` build-depends
    /// on (its maintainers' list of what the build needs).
    pub declared: bool,
}

impl WentWithout {
    /// How many packages the hint names.
    pub const SHOWN: usize = 4;

    /// The `hint:` line: what configure went without, and the command that adds it.
    pub fn hint(&self) -> String {
        let what: Vec<String> = self
            .packages
            .iter()
            .map(|(package, files)| {
                let files: Vec<String> = files.iter().map(|file| format!("`{file}`")).collect();
                format!("{} (in `{package}`)", files.join(", "))
            })
            .collect();
        let more = match self.more {
            0 => String::new(),
            more => format!(" and {more} more package(s)"),
        };
        let names: Vec<&str> = self
            .packages
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        let declared = if self.declared {
            " and the project's `debian/control` build-depends on"
        } else {
            ""
        };
        format!(
            "configure went without {}{more}, which Debian ships for {}{declared} (`{}`): if \
             the failure comes from what it left out, {}",
            what.join("; "),
            self.architecture,
            self.log.display(),
            self.fix.instructions_for(&names)
        )
    }
}

/// The headers, libraries and pkg-config modules a configure log says its checks did not
/// find (each once, in order), from the compiler's, linker's and pkg-config's own errors and
/// Meson's `Run-time dependency X found: NO`.
pub fn configure_misses(log: &str) -> Vec<Missing> {
    /// Enough for any configure script; a log with more is not read further.
    const MAX: usize = 500;
    let mut misses: Vec<Missing> = Vec::new();
    for line in log.lines() {
        let found = parse_line(line).or_else(|| {
            let rest = after(line, "Run-time dependency ")?;
            let (name, answer) = rest.split_once(" found: ")?;
            answer
                .starts_with("NO")
                .then(|| plain(name))
                .flatten()
                .map(|name| (MissingKind::PkgConfig, name))
        });
        let Some((kind, name)) = found else {
            continue;
        };
        if !matches!(
            kind,
            MissingKind::Header | MissingKind::Library | MissingKind::PkgConfig
        ) || misses
            .iter()
            .any(|known| known.kind == kind && known.name == name)
        {
            continue;
        }
        misses.push(Missing {
            kind,
            name,
            line: line.trim().to_string(),
        });
        if misses.len() == MAX {
            break;
        }
    }
    misses
}

/// [`lookup`] for several files: one pass over each Contents index.
pub fn lookup_many(
    cache_dir: &Path,
    mirror: &str,
    suite: &str,
    architecture: &str,
    multiarch: &str,
    missing: &[Missing],
) -> Result<Vec<Option<String>>, String> {
    let mut packages: Vec<Option<String>> = vec![None; missing.len()];
    for index in [architecture, "all"] {
        let open: Vec<usize> = (0..missing.len())
            .filter(|at| packages[*at].is_none())
            .collect();
        if open.is_empty() {
            break;
        }
        let path = contents_index(cache_dir, mirror, suite, index)?;
        let wanted: Vec<Missing> = open.iter().map(|at| missing[*at].clone()).collect();
        let file = std::fs::File::open(&path)
            .map_err(|error| format!("could not read `{}`: {error}", path.display()))?;
        let reader = std::io::BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file)),
        );
        let found = search_contents_many(reader, &wanted, multiarch)
            .map_err(|error| format!("could not read `{}`: {error}", path.display()))?;
        for (at, package) in open.into_iter().zip(found) {
            packages[at] = package;
        }
    }
    Ok(packages)
}

/// The log of the project's configure step, where its checks' errors are.
fn configure_log(recipe: &crate::steps::Recipe) -> Option<PathBuf> {
    use crate::project::BuildSystem;
    let candidates = match recipe.build_system {
        BuildSystem::Configure => vec![recipe.configure.last()?.dir.join("config.log")],
        BuildSystem::Meson => vec![recipe.build_dir.join("meson-logs/meson-log.txt")],
        // CMake 3.26 and later keep one YAML log; earlier ones the failed checks apart.
        BuildSystem::Cmake => vec![
            recipe.build_dir.join("CMakeFiles/CMakeConfigureLog.yaml"),
            recipe.build_dir.join("CMakeFiles/CMakeError.log"),
        ],
        BuildSystem::Make | BuildSystem::Cargo => Vec::new(),
    };
    candidates.into_iter().find(|path| path.is_file())
}

/// A failed test or configure step (whose output named nothing missing) of a project whose configure went
/// without files that Debian packages ship becomes
/// [`Error::ConfiguredWithout`](crate::Error::ConfiguredWithout), whose hint names them; any
/// other error is returned as it is. It reads the Contents index as [`diagnose`] does.
pub(crate) fn diagnose_went_without(
    error: crate::Error,
    plan: &crate::build::Plan,
    request: &crate::build::BuildRequest,
) -> crate::Error {
    /// The end of a configure log that is read: checks come first, but a huge log is cut.
    const MAX_LOG: u64 = 16 << 20;
    // Tests that fail for a feature left out, a configure that later stops for it; a build
    // step's compiler errors are the project's own (and not worth a Contents search).
    use crate::steps::StepKind;
    if !matches!(
        error,
        crate::Error::StepFailed {
            step: StepKind::Test | StepKind::Configure,
            ..
        }
    ) {
        return error;
    }
    let (Some(recipe), Some(cache_dir)) = (&plan.recipe, &request.cache_dir) else {
        return error;
    };
    let Some(log) = configure_log(recipe) else {
        return error;
    };
    let Some(text) = read_head(&log, MAX_LOG) else {
        return error;
    };
    let misses = configure_misses(&text);
    let (Some(architecture), Some(multiarch)) =
        (plan.target.debian_arch(), plan.target.multiarch())
    else {
        return error;
    };
    if misses.is_empty() {
        return error;
    }
    let (fix, suite) = fix_for(plan, architecture);
    let Ok(found) = lookup_many(
        cache_dir,
        archway_platform::debian_names::DEFAULT_MIRROR,
        &suite,
        architecture,
        multiarch,
        &misses,
    ) else {
        return error;
    };
    // The maintainers' list, when the project has one, says which of them the build is
    // meant to have; configure's portability checks find other platforms' headers in
    // unrelated packages (`io.h`, Windows' C library, in libowfat-dev).
    let declared = build_depends(&plan.project_dir);
    let mut packages: Vec<(String, Vec<String>)> = Vec::new();
    for (missing, package) in misses.iter().zip(found) {
        let Some(package) = package else {
            continue;
        };
        if missing.kind == MissingKind::Header
            && OTHER_PLATFORMS_HEADERS.contains(&missing.name.as_str())
        {
            continue;
        }
        if declared
            .as_ref()
            .is_some_and(|declared| !declared.contains(&package))
        {
            continue;
        }
        match packages.iter_mut().find(|(known, _)| *known == package) {
            Some((_, files)) => files.push(missing.file()),
            None => packages.push((package, vec![missing.file()])),
        }
    }
    if packages.is_empty() {
        return error;
    }
    let more = packages.len().saturating_sub(WentWithout::SHOWN);
    packages.truncate(WentWithout::SHOWN);
    crate::Error::ConfiguredWithout {
        without: Box::new(WentWithout {
            log,
            packages,
            more,
            architecture: architecture.to_string(),
            fix,
            declared: declared.is_some(),
        }),
        step: Box::new(error),
    }
}

/// Headers of other systems' C libraries that configure scripts look for (Windows' and DOS's,
/// gnulib's portability checks): on Linux a package that ships one by that name is something
/// else.
const OTHER_PLATFORMS_HEADERS: &[&str] = &[
    "io.h",
    "process.h",
    "direct.h",
    "conio.h",
    "dos.h",
    "share.h",
    "windows.h",
    "winsock.h",
    "winsock2.h",
    "ws2tcpip.h",
    "wincrypt.h",
    "malloc/malloc.h",
];

/// The packages the source stanza of `<project>/debian/control` build-depends on
/// (`Build-Depends`, `-Arch`, `-Indep`; every alternative, without versions, architectures
/// and profiles); `None` without that file.
fn build_depends(project: &Path) -> Option<std::collections::BTreeSet<String>> {
    let control = read_head(&project.join("debian/control"), 1 << 20)?;
    let source = control.split("\n\n").next().unwrap_or_default();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in source.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let mut packages = std::collections::BTreeSet::new();
    for (_, value) in fields.iter().filter(|(name, _)| {
        matches!(
            name.as_str(),
            "build-depends" | "build-depends-arch" | "build-depends-indep"
        )
    }) {
        for alternative in value.split([',', '|']) {
            let name = alternative
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .split(':')
                .next()
                .unwrap_or_default();
            if name
                .parse::<archway_platform::debian_names::PackageName>()
                .is_ok()
            {
                packages.insert(name.to_string());
            }
        }
    }
    Some(packages)
}

/// Where the package goes for the method that ran, and the Debian suite searched.
fn fix_for(plan: &crate::build::Plan, architecture: &str) -> (Fix, String) {
    use crate::method::Method;
    let target = plan.target.config();
    let (fix, suite) = match plan.method {
        Method::Cross => (Fix::Sysroot { target }, None),
        Method::Hybrid | Method::Emulated => (Fix::Rootfs { target }, plan.rootfs_suite.clone()),
        Method::Native => (Fix::Host, None),
    };
    let suite = suite.unwrap_or_else(|| {
        archway_platform::debian_names::Suite::default_for(architecture)
            .unwrap_or(archway_platform::debian_names::Suite::Bookworm)
            .to_string()
    });
    (fix, suite)
}

/// The first `max` bytes of `path` as text (invalid UTF-8 replaced).
fn read_head(path: &Path, max: u64) -> Option<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(max)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Where the source tree at `root` has a file whose path ends with `header` (`libconfig.h`,
/// `openssl/ssl.h`), relative to `root`, leaving out `.git` and archway's build directories;
/// the walk stops after a bounded number of entries (a huge tree then counts as not having it).
fn shipped_at(root: &Path, header: &str) -> Option<PathBuf> {
    const MAX_ENTRIES: usize = 200_000;
    let last = header.split('/').rfind(|part| !part.is_empty())?;
    crate::project::find_in_source_tree(root, MAX_ENTRIES, |path| {
        if path.file_name()?.to_str() != Some(last) {
            return None;
        }
        let relative = path.strip_prefix(root).ok()?;
        relative.ends_with(header).then(|| relative.to_path_buf())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_the_project_has_itself_is_found_in_its_tree() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("lib")).expect("mkdir");
        std::fs::write(root.join("lib/libconfig.h"), "").expect("write");
        std::fs::create_dir_all(root.join("include/openssl")).expect("mkdir");
        std::fs::write(root.join("include/openssl/ssl.h"), "").expect("write");
        std::fs::create_dir_all(root.join("build/archway/x/usr/include")).expect("mkdir");
        std::fs::write(root.join("build/archway/x/usr/include/curses.h"), "").expect("write");
        let at = |header: &str| shipped_at(root, header);
        assert_eq!(at("libconfig.h"), Some(PathBuf::from("lib/libconfig.h")));
        assert_eq!(
            at("openssl/ssl.h"),
            Some(PathBuf::from("include/openssl/ssl.h"))
        );
        assert_eq!(at("ssl.h/openssl"), None);
        assert_eq!(at("other/ssl.h"), None);
        // Not the project's: what archway's build directories hold.
        assert_eq!(at("curses.h"), None);
        assert_eq!(at(""), None);
    }

    fn kind_and_name(output: &str) -> Option<(MissingKind, String)> {
        find(output).map(|missing| (missing.kind, missing.name))
    }

    #[test]
    fn real_error_lines_name_the_missing_file() {
        use MissingKind::*;
        let cases: &[(&str, MissingKind, &str)] = &[
            // GNU make 4.3 (bookworm) running a program, directly and through /bin/sh
            // (dash); bash; giflib's documentation without xmlto.
            (
                "make[1]: xmlto: No such file or directory",
                Program,
                "xmlto",
            ),
            ("make: help2man: Command not found", Program, "help2man"),
            ("/bin/sh: 1: xmlto: not found", Program, "xmlto"),
            ("sh: 1: ronn: not found", Program, "ronn"),
            ("bash: line 1: gperf: command not found", Program, "gperf"),
            // gcc 12 (bookworm), sl without libncurses-dev.
            (
                "sl.c:42:10: fatal error: curses.h: No such file or directory",
                Header,
                "curses.h",
            ),
            (
                "src/main.c:3:10: fatal error: openssl/ssl.h: No such file or directory",
                Header,
                "openssl/ssl.h",
            ),
            // clang 14.
            ("sl.c:42:10: fatal error: 'curses.h' file not found", Header, "curses.h"),
            // GNU ld 2.40 (bookworm) and 2.38; lld.
            (
                "/usr/lib/gcc-cross/aarch64-linux-gnu/12/../../../../aarch64-linux-gnu/bin/ld: \
                 cannot find -lncurses: No such file or directory",
                Library,
                "ncurses",
            ),
            ("/usr/bin/ld: cannot find -lz", Library, "z"),
            ("ld.lld: error: unable to find library -lssl", Library, "ssl"),
            // pkgconf 1.8 (bookworm's pkg-config), freedesktop pkg-config 0.29.
            (
                "Package 'libpng', required by 'virtual:world', not found",
                PkgConfig,
                "libpng",
            ),
            ("No package 'zlib' found", PkgConfig, "zlib"),
            ("--   No package 'libpcre2-8' found", PkgConfig, "libpcre2-8"),
            (
                "Package glib-2.0 was not found in the pkg-config search path.",
                PkgConfig,
                "glib-2.0",
            ),
            // Meson 1.0.
            (
                "meson.build:12:0: ERROR: Dependency \"libsystemd\" not found, tried pkgconfig",
                PkgConfig,
                "libsystemd",
            ),
            (
                "../meson.build:5:6: ERROR: Dependency \"zlib\" not found, tried pkgconfig and cmake",
                PkgConfig,
                "zlib",
            ),
            // CMake 3.25's FindPackageHandleStandardArgs.
            (
                "  Could NOT find ZLIB (missing: ZLIB_LIBRARY ZLIB_INCLUDE_DIR)",
                CmakeModule,
                "ZLIB",
            ),
        ];
        for (line, kind, name) in cases {
            let output =
                format!("make[1]: Entering directory '/b'\n{line}\nmake: *** [all] Error 1\n");
            assert_eq!(
                kind_and_name(&output),
                Some((*kind, name.to_string())),
                "{line}"
            );
        }
    }

    #[test]
    fn cmake_config_packages_count_only_with_their_file_names() {
        let output = "\
CMake Error at CMakeLists.txt:7 (find_package):
  By not providing \"Findfmt.cmake\" in CMAKE_MODULE_PATH this project has
  asked CMake to find a package configuration file provided by \"fmt\", but
  CMake did not find one.

  Could not find a package configuration file provided by \"fmt\" with any of
  the following names:

    fmtConfig.cmake
    fmt-config.cmake
";
        let missing = find(output).expect("found");
        assert_eq!(missing.kind, MissingKind::CmakePackage);
        assert_eq!(missing.name, "fmt");
        assert_eq!(missing.file(), "fmtConfig.cmake");
        // Without the file names (a truncated log) nothing is derivable.
        assert_eq!(
            find("  Could not find a package configuration file provided by \"fmt\" with any of\n"),
            None
        );
    }

    #[test]
    fn ordinary_errors_and_hostile_names_are_not_missing_dependencies() {
        for output in [
            "",
            "sl.c:42:10: error: 'x' undeclared (first use in this function)",
            "cc1: fatal error: sl.c: No such file or directory",
            "a.c:1:10: fatal error: ../../x.h: No such file or directory",
            "a.c:1:10: fatal error: /usr/include/x.h: No such file or directory",
            "No package 'a b' found",
            "make: *** No rule to make target 'all'.  Stop.",
            // The project's own script, a missing input file, a program that ran and failed.
            "make[1]: ./gen.sh: No such file or directory",
            "/bin/sh: 1: ./configure: not found",
            "Makefile:12: deps.mk: No such file or directory",
            "sh: 1: $(id): not found",
            "xmlto: error: no such file",
            "make: xmlto: Permission denied",
        ] {
            assert_eq!(find(output), None, "{output}");
        }
        // A CMake status line about an optional package gives way to the error.
        let output = "-- Could NOT find PNG (missing: PNG_LIBRARY)\n\
                      --   No package 'libwebp' found\n\
                      -- Configuring done\n\
                      a.c:1:10: fatal error: zlib.h: No such file or directory\n";
        assert_eq!(
            find(output).map(|missing| missing.name),
            Some("zlib.h".to_string())
        );
        assert_eq!(
            find("-- Could NOT find PNG (missing: PNG_LIBRARY)\n").map(|missing| missing.name),
            Some("PNG".to_string())
        );
        // The first missing file counts, not a later consequence.
        let output = "a.c:1:10: fatal error: zlib.h: No such file or directory\n\
                      /usr/bin/ld: cannot find -lz\n";
        assert_eq!(
            find(output).map(|missing| missing.name),
            Some("zlib.h".to_string())
        );
    }

    const CONTENTS: &str = "\
bin/ls                                                  utils/coreutils
usr/bin/xmlto                                           text/xmlto
usr/include/aarch64-linux-gnu/openssl/opensslconf.h     libdevel/libssl-dev
usr/include/curses.h                                    libdevel/libncurses-dev
usr/include/ncursesw/curses.h                           libdevel/libncurses-dev
usr/include/openssl/ssl.h                               libdevel/libssl-dev,libdevel/libwolfssl-dev
usr/lib/aarch64-linux-gnu/cmake/fmt/fmt-config.cmake    libdevel/libfmt-dev
usr/lib/aarch64-linux-gnu/libncurses.a                  libdevel/libncurses-static
usr/lib/aarch64-linux-gnu/libncurses.so                 libdevel/libncurses-dev
usr/lib/aarch64-linux-gnu/pkgconfig/zlib.pc             libdevel/zlib1g-dev
usr/share/doc/a file with spaces/curses.h               doc/strange-doc
usr/share/pkgconfig/bash-completion.pc                  shells/bash-completion
";

    fn missing(kind: MissingKind, name: &str) -> Missing {
        Missing {
            kind,
            name: name.to_string(),
            line: String::new(),
        }
    }

    #[test]
    fn contents_names_the_package_of_the_most_likely_path() {
        use MissingKind::*;
        let cases: &[(MissingKind, &str, Option<&str>)] = &[
            (Header, "curses.h", Some("libncurses-dev")),
            (Header, "ncursesw/curses.h", Some("libncurses-dev")),
            (Header, "openssl/ssl.h", Some("libssl-dev")),
            (Header, "openssl/opensslconf.h", Some("libssl-dev")),
            // The shared library's package beats the static one listed before it.
            (Library, "ncurses", Some("libncurses-dev")),
            (PkgConfig, "zlib", Some("zlib1g-dev")),
            (PkgConfig, "bash-completion", Some("bash-completion")),
            (CmakePackage, "fmt", Some("libfmt-dev")),
            (Program, "xmlto", Some("xmlto")),
            (Program, "ls", Some("coreutils")),
            (Program, "nothere", None),
            (Header, "nothere.h", None),
            (CmakeModule, "ZLIB", None),
        ];
        for (kind, name, package) in cases {
            let found = search_contents(
                CONTENTS.as_bytes(),
                &missing(*kind, name),
                "aarch64-linux-gnu",
            )
            .expect("read");
            assert_eq!(found.as_deref(), *package, "{name}");
        }
        // Another architecture's multiarch paths do not count.
        let found = search_contents(
            CONTENTS.as_bytes(),
            &missing(Library, "ncurses"),
            "riscv64-linux-gnu",
        )
        .expect("read");
        assert_eq!(found, None);
    }

    #[test]
    fn one_pass_over_contents_finds_every_file_as_the_single_search_does() {
        use MissingKind::*;
        let files = [
            missing(Header, "curses.h"),
            missing(Library, "ncurses"),
            missing(PkgConfig, "zlib"),
            missing(Header, "nothere.h"),
            // Not an exact path: the one-pass search leaves it.
            missing(CmakePackage, "fmt"),
        ];
        let found =
            search_contents_many(CONTENTS.as_bytes(), &files, "aarch64-linux-gnu").expect("read");
        assert_eq!(
            found,
            [
                Some("libncurses-dev".to_string()),
                Some("libncurses-dev".to_string()),
                Some("zlib1g-dev".to_string()),
                None,
                None,
            ]
        );
        assert_eq!(
            search_contents_many(CONTENTS.as_bytes(), &[], "aarch64-linux-gnu").expect("read"),
            Vec::<Option<String>>::new()
        );
    }

    /// Lines as configure logs hold them: jq's `config.log` on s390x, a Meson log, CMake's
    /// error log; and lines that name nothing missing.
    const CONFIGURE_LOG: &str = "\
configure:20292: checking for oniguruma.h
conftest.c:131:10: fatal error: oniguruma.h: No such file or directory
  131 | #include <oniguruma.h>
compilation terminated.
| #include <oniguruma.h>
configure:20295: checking for onig_version in -lonig
/usr/bin/s390x-linux-gnu-ld: cannot find -lonig: No such file or directory
collect2: error: ld returned 1 exit status
conftest.c:20:10: fatal error: oniguruma.h: No such file or directory
Package 'libpcre2-8', required by 'virtual:world', not found
Run-time dependency libsystemd found: NO (tried pkgconfig and cmake)
Run-time dependency zlib found: YES 1.2.13
/tmp/b/CMakeFiles/CMakeScratch/TryCompile-x/CheckIncludeFile.c:1:10: fatal error: sys/capability.h: No such file or directory
conftest.c:5:3: error: 'foo' undeclared (first use in this function)
cc1: fatal error: conftest.c: No such file or directory
Could NOT find ZLIB (missing: ZLIB_LIBRARY)
";

    #[test]
    fn a_configure_log_gives_each_file_its_checks_missed_once() {
        use MissingKind::*;
        let misses: Vec<(MissingKind, String)> = configure_misses(CONFIGURE_LOG)
            .into_iter()
            .map(|missing| (missing.kind, missing.name))
            .collect();
        assert_eq!(
            misses,
            [
                (Header, "oniguruma.h".to_string()),
                (Library, "onig".to_string()),
                (PkgConfig, "libpcre2-8".to_string()),
                (PkgConfig, "libsystemd".to_string()),
                (Header, "sys/capability.h".to_string()),
            ]
        );
        assert!(configure_misses("").is_empty());
        // Hostile names are not files to search for.
        assert!(configure_misses("x.c:1:1: fatal error: ../../etc/passwd: No such file or directory\nRun-time dependency $(id) found: NO\n").is_empty());
    }

    #[test]
    fn the_went_without_hint_names_the_files_their_packages_and_the_command() {
        let without = WentWithout {
            log: PathBuf::from("/b/source/config.log"),
            packages: vec![
                (
                    "libonig-dev".to_string(),
                    vec!["oniguruma.h".to_string(), "libonig.so".to_string()],
                ),
                (
                    "libcap-dev".to_string(),
                    vec!["sys/capability.h".to_string()],
                ),
            ],
            more: 0,
            architecture: "s390x".to_string(),
            fix: Fix::Sysroot {
                target: "s390x-unknown-linux-gnu".to_string(),
            },
            declared: false,
        };
        assert_eq!(
            without.hint(),
            "configure went without `oniguruma.h`, `libonig.so` (in `libonig-dev`); \
             `sys/capability.h` (in `libcap-dev`), which Debian ships for s390x \
             (`/b/source/config.log`): if the failure comes from what it left out, add them to \
             the sysroot with `archway sysroot add --target s390x-unknown-linux-gnu libonig-dev \
             libcap-dev` (or `sysroot-packages = [\"libonig-dev\", \"libcap-dev\"]` under \
             `[build]` in `archway.toml`), then build again"
        );
        let rootfs = WentWithout {
            more: 3,
            fix: Fix::Rootfs {
                target: "s390x-unknown-linux-gnu".to_string(),
            },
            ..without
        };
        let hint = rootfs.hint();
        assert!(hint.contains("and 3 more package(s)"), "{hint}");
        assert!(
            hint.contains("`--packages libonig-dev,libcap-dev`"),
            "{hint}"
        );
        let declared = WentWithout {
            declared: true,
            ..rootfs
        };
        let hint = declared.hint();
        assert!(
            hint.contains(
                "which Debian ships for s390x and the project's `debian/control` build-depends \
                 on (`/b/source/config.log`)"
            ),
            "{hint}"
        );
        // One package reads as it always did.
        assert_eq!(
            Fix::Host.instructions("libfoo-dev"),
            "run `apt-get install libfoo-dev` as root, then build again"
        );
    }

    #[test]
    fn debian_control_gives_the_packages_the_build_depends_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(build_depends(dir.path()), None);
        std::fs::create_dir(dir.path().join("debian")).expect("debian");
        // jq's stanza, with the other shapes Debian Policy §7.1 allows.
        std::fs::write(
            dir.path().join("debian/control"),
            "Source: jq\nSection: utils\nBuild-Depends: debhelper-compat (= 13),\n bison,\n \
             libonig-dev,\n ruby-ronn:native,\n valgrind [amd64 i386] <!nocheck>,\n \
             libfoo-dev | libbar-dev\nbuild-depends-indep: doc-base\nHomepage: x\n\n\
             Package: jq\nDepends: libc6\n",
        )
        .expect("control");
        let packages = build_depends(dir.path()).expect("a control file");
        let expected = [
            "bison",
            "debhelper-compat",
            "doc-base",
            "libbar-dev",
            "libfoo-dev",
            "libonig-dev",
            "ruby-ronn",
            "valgrind",
        ];
        assert_eq!(
            packages.iter().map(String::as_str).collect::<Vec<_>>(),
            expected
        );
    }

    /// A name read from a build's output: searched for as a path, shown to the user.
    fn harmless(name: &str) -> bool {
        !name.is_empty()
            && !name.starts_with('/')
            && !name.split('/').any(|part| part == ".." || part.is_empty())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-+/@".contains(c))
    }

    proptest::proptest! {
        /// Build logs are the project's: any text, and lines shaped like the errors read,
        /// with any name in them.
        #[test]
        fn any_log_reads_without_panic_and_yields_only_harmless_names(
            noise in "\\PC*",
            name in "\\PC{0,40}",
            shape in 0usize..8,
        ) {
            let line = match shape {
                0 => format!("a.c:1:2: fatal error: {name}: No such file or directory"),
                1 => format!("/usr/bin/ld: cannot find -l{name}"),
                2 => format!("Package '{name}', required by 'virtual:world', not found"),
                3 => format!("make[1]: {name}: No such file or directory"),
                4 => format!("/bin/sh: 1: {name}: not found"),
                5 => format!("Run-time dependency {name} found: NO"),
                6 => format!("meson.build:1:0: ERROR: Dependency \"{name}\" not found"),
                _ => name.clone(),
            };
            let log = format!("{noise}\n{line}\n{noise}");
            if let Some(missing) = find(&log) {
                proptest::prop_assert!(harmless(&missing.name), "{:?}", missing.name);
            }
            for missing in configure_misses(&log) {
                proptest::prop_assert!(harmless(&missing.name), "{:?}", missing.name);
            }
        }
    }

    #[test]
    fn a_missing_program_is_the_hosts_to_install() {
        let program = Diagnosis {
            missing: missing(MissingKind::Program, "xmlto"),
            architecture: "s390x".to_string(),
            suite: "bookworm".to_string(),
            multiarch: "s390x-linux-gnu".to_string(),
            package: Ok(Some("xmlto".to_string())),
            fix: Fix::Host,
            shipped: None,
        };
        assert_eq!(
            program.message(),
            "the program `xmlto` is not installed: Debian's `xmlto` ships it"
        );
        assert_eq!(
            program.hint(),
            "run `apt-get install xmlto` as root, then build again"
        );
        let alternative = Diagnosis {
            missing: missing(MissingKind::Program, "figlet"),
            package: Ok(None),
            ..program
        };
        assert!(
            alternative
                .message()
                .starts_with("the program `figlet` is not installed, and no package"),
            "{}",
            alternative.message()
        );
        assert!(
            alternative.hint().starts_with(
                "find the package that ships it with `apt-file search --architecture s390x \
                 bin/figlet`"
            ),
            "{}",
            alternative.hint()
        );
    }

    #[test]
    fn the_message_and_hint_say_the_package_or_how_to_find_it() {
        let diagnosis = |package: Result<Option<String>, String>, fix: Fix| Diagnosis {
            missing: missing(MissingKind::Header, "curses.h"),
            architecture: "arm64".to_string(),
            suite: "bookworm".to_string(),
            multiarch: "aarch64-linux-gnu".to_string(),
            package,
            fix,
            shipped: None,
        };
        let sysroot = Fix::Sysroot {
            target: "aarch64-unknown-linux-gnu".to_string(),
        };
        let found = diagnosis(Ok(Some("libncurses-dev".to_string())), sysroot.clone());
        assert_eq!(
            found.message(),
            "`curses.h` is missing: Debian's `libncurses-dev` ships it for arm64"
        );
        assert!(
            found.hint().starts_with(
                "add it to the sysroot with `archway sysroot add --target \
                 aarch64-unknown-linux-gnu libncurses-dev`"
            ),
            "{}",
            found.hint()
        );
        let rootfs = diagnosis(
            Ok(Some("libncurses-dev".to_string())),
            Fix::Rootfs {
                target: "riscv64".to_string(),
            },
        );
        assert!(
            rootfs
                .hint()
                .starts_with("build again with `--packages libncurses-dev`"),
            "{}",
            rootfs.hint()
        );
        let offline = diagnosis(Err("could not download `x`".to_string()), sysroot);
        assert_eq!(
            offline.message(),
            "`curses.h` is missing (which Debian package ships it is unknown: could not \
             download `x`)"
        );
        assert!(
            offline.hint().starts_with(
                "find the package that ships it with `apt-file search --architecture arm64 \
                 usr/include/curses.h` (for Debian bookworm), then add it to the sysroot with \
                 `archway sysroot add --target aarch64-unknown-linux-gnu PACKAGE`"
            ),
            "{}",
            offline.hint()
        );
        let none = diagnosis(Ok(None), Fix::Host);
        assert_eq!(
            none.message(),
            "`curses.h` is missing, and no package of Debian bookworm ships it for arm64"
        );
        assert!(none
            .hint()
            .ends_with("then run `apt-get install PACKAGE` as root, then build again"));
        // libconfig 1.5 built out of its tree: its tests' `-I../lib` missed its own header.
        let own = Diagnosis {
            shipped: Some(PathBuf::from("lib/curses.h")),
            ..diagnosis(Ok(Some("libncurses-dev".to_string())), Fix::Host)
        };
        assert_eq!(
            own.message(),
            "`curses.h` is missing: Debian's `libncurses-dev` ships it for arm64; the project \
             has its own `lib/curses.h`, which the failing command did not find: if that is \
             the one meant, its include path is the problem, not a dependency"
        );
    }

    #[test]
    fn only_the_failed_steps_output_in_the_log_is_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("build.log");
        let earlier = "configure: No package 'optional' found\n";
        let failed = "/usr/bin/ld: cannot find -lz\n";
        std::fs::write(&log, format!("{earlier}{failed}")).expect("write");
        let start = earlier.len() as u64;
        assert_eq!(
            find_in_log(&log, 0).map(|missing| missing.name),
            Some("optional".to_string())
        );
        assert_eq!(
            find_in_log(&log, start).map(|missing| missing.name),
            Some("z".to_string())
        );
        assert_eq!(find_in_log(&dir.path().join("absent.log"), 0), None);
    }

    #[test]
    fn a_compressed_contents_file_is_searched() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = contents_path(dir.path(), "bookworm", "arm64");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let mut encoder = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).expect("create"),
            flate2::Compression::fast(),
        );
        encoder.write_all(CONTENTS.as_bytes()).expect("write");
        encoder.finish().expect("finish");
        let found = search_contents_file(
            &path,
            &missing(MissingKind::Header, "curses.h"),
            "aarch64-linux-gnu",
        )
        .expect("read");
        assert_eq!(found.as_deref(), Some("libncurses-dev"));
        // A fresh cached index is used as it is: no download (nothing listens on the discard port).
        assert_eq!(
            contents_index(dir.path(), "http://127.0.0.1:9/debian", "bookworm", "arm64"),
            Ok(path)
        );
        let missing_index =
            contents_index(dir.path(), "http://127.0.0.1:9/debian", "trixie", "arm64");
        assert!(missing_index.is_err(), "{missing_index:?}");
    }
}
