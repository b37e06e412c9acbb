//! Dependencies the suite's `rustc` can build: a Rust-version-aware `Cargo.lock` for a cargo
//! too old to make one.
//!
//! A project without a `Cargo.lock` (a library crate as published) gets one at its first
//! fetch, with the newest version of every dependency. Cargo 1.84 and later can prefer the
//! versions whose `rust-version` the running `rustc` meets (`resolver.incompatible-rust-versions
//! = "fallback"`, set by [`crate::rust::CargoExecutor`] for every fetch). Debian bookworm's cargo is
//! 1.63: it takes `libc 0.2.191`, which needs rustc 1.65, and the build stops with "package
//! `libc v0.2.191` cannot be built because it requires rustc 1.65 or newer".
//!
//! For such a cargo, archway does what the newer resolver does, after the fact: for every
//! locked crates.io package whose index entry asks for a newer `rustc`, it takes the newest
//! version of the same semver-compatible series (what a caret requirement allows) that is not
//! yanked and that the toolchain can build, and asks cargo for it: `cargo update -p
//! <name>@<from> --precise <to>`. Cargo itself checks that the whole graph still resolves. The
//! index entries come from the cache cargo keeps of the sparse index it has just read
//! (`registry/index/*/.cache/`): NUL-separated pairs of a version and its index line (JSON).
//!
//! Whether a version fits: by its `rust_version` when it declares one. One that does not is
//! judged by its `pubtime` (every index entry has it): published before the next Rust release
//! after the toolchain's, it was made for a compiler no newer than the toolchain. Cargo's own
//! fallback counts such a version as fitting, but a newer one may need what the old compiler
//! lacks: `compiler_builtins` 0.1.160 (2025-05) declares no `rust_version` and is
//! `edition = "2024"`, which cargo 1.63 cannot even parse. Rust releases every six weeks, from
//! 1.1 on: 1.N on 2015-05-14 + 42·N days.

use std::path::{Path, PathBuf};

use semver::Version;
use serde::Deserialize;

use crate::rust::RustVersion;

/// One version of a crate, as the crates.io index describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IndexEntry {
    pub vers: String,
    #[serde(default)]
    pub rust_version: Option<String>,
    #[serde(default)]
    pub yanked: bool,
    /// When it was published (RFC 3339, `2025-05-30T16:00:57Z`).
    #[serde(default)]
    pub pubtime: Option<String>,
}

/// A crates.io package of a `Cargo.lock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub name: String,
    pub version: String,
}

/// What to do about one locked package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Its `rust_version` is met (or it has none, or its index entry is not known).
    Fits,
    /// Lock `to` instead of `from`, whose `rust_version` is `needs`.
    Downgrade {
        name: String,
        from: String,
        to: String,
        needs: String,
    },
    /// No version of its series fits: the build will say what it needs.
    NoneFits {
        name: String,
        version: String,
        needs: String,
    },
}

/// The crates.io packages of a `Cargo.lock` (git, path and other registries' are left alone).
pub fn crates_io_packages(lock: &str) -> Vec<Locked> {
    let Ok(lock) = lock.parse::<toml::Table>() else {
        return Vec::new();
    };
    let Some(packages) = lock.get("package").and_then(toml::Value::as_array) else {
        return Vec::new();
    };
    packages
        .iter()
        .filter_map(|package| {
            let source = package.get("source")?.as_str()?;
            let crates_io = source == "registry+https://github.com/rust-lang/crates.io-index"
                || source == "sparse+https://index.crates.io/";
            if !crates_io {
                return None;
            }
            Some(Locked {
                name: package.get("name")?.as_str()?.to_string(),
                version: package.get("version")?.as_str()?.to_string(),
            })
        })
        .collect()
}

/// A crate's file in an index (cargo's layout: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`).
pub fn index_path(name: &str) -> Option<PathBuf> {
    let name = name.to_ascii_lowercase();
    // Crate names are ASCII letters, digits, `-` and `_`: anything else is no crate's.
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Some(match name.len() {
        1 => Path::new("1").join(&name),
        2 => Path::new("2").join(&name),
        3 => Path::new("3").join(&name[..1]).join(&name),
        _ => Path::new(&name[..2]).join(&name[2..4]).join(&name),
    })
}

/// The index lines of a cache file of cargo's: every NUL-separated piece that is a JSON
/// object of a version (the header and the version strings are skipped).
pub fn parse_index_cache(bytes: &[u8]) -> Vec<IndexEntry> {
    bytes
        .split(|&b| b == 0)
        .filter(|piece| piece.first() == Some(&b'{'))
        .filter_map(|piece| serde_json::from_slice::<IndexEntry>(piece).ok())
        .collect()
}

/// The cached index entries of `name` under a `CARGO_HOME`, from whichever index cargo used.
pub fn cached_entries(cargo_home: &Path, name: &str) -> Vec<IndexEntry> {
    let Some(relative) = index_path(name) else {
        return Vec::new();
    };
    let Ok(indexes) = std::fs::read_dir(cargo_home.join("registry/index")) else {
        return Vec::new();
    };
    for index in indexes.flatten() {
        if let Ok(bytes) = std::fs::read(index.path().join(".cache").join(&relative)) {
            let entries = parse_index_cache(&bytes);
            if !entries.is_empty() {
                return entries;
            }
        }
    }
    Vec::new()
}

/// `1.65`, `1.65.0` → 1.65 (what a `rustc` release needs to be at least).
fn rust_version(text: &str) -> Option<RustVersion> {
    let mut parts = text.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |minor| minor.parse().ok())?;
    Some(RustVersion { major, minor })
}

/// The day Rust `1.minor` was released (`YYYY-MM-DD`): every six weeks from 2015-05-14.
pub fn release_date(version: RustVersion) -> Option<String> {
    if version.major != 1 {
        return None;
    }
    // Days from 1970-01-01 to 2015-05-14, then the civil date of the sum (H. Hinnant's
    // days-to-civil algorithm, for the proleptic Gregorian calendar).
    let days = 16_569 + 42 * i64::from(version.minor);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

/// Whether `rustc` can build `entry`: by its `rust_version`, else by when it was published
/// (before the release after `rustc`'s), else (neither known) yes.
fn fits(entry: &IndexEntry, rustc: RustVersion) -> bool {
    if let Some(needs) = entry.rust_version.as_deref().and_then(rust_version) {
        return needs <= rustc;
    }
    let next = RustVersion {
        major: rustc.major,
        minor: rustc.minor + 1,
    };
    match (entry.pubtime.as_deref(), release_date(next)) {
        (Some(published), Some(next_release)) if published.len() >= 10 => {
            published[..10] < *next_release.as_str()
        }
        _ => true,
    }
}

/// What `entry` needs, in words, when it does not fit.
fn needs(entry: &IndexEntry, rustc: RustVersion) -> String {
    match (&entry.rust_version, &entry.pubtime) {
        (Some(version), _) => version.clone(),
        (None, Some(published)) => format!(
            "newer than {rustc} (no rust-version; published {})",
            published.get(..10).unwrap_or(published)
        ),
        (None, None) => String::new(),
    }
}

/// Versions a caret requirement on `version` accepts: the same major, or for 0.x the same
/// minor, or for 0.0.x the same patch.
fn same_series(version: &Version, other: &Version) -> bool {
    match (version.major, version.minor) {
        (0, 0) => other.major == 0 && other.minor == 0 && other.patch == version.patch,
        (0, minor) => other.major == 0 && other.minor == minor,
        (major, _) => other.major == major,
    }
}

/// What to do about `locked`, given its index entries, for a toolchain of `rustc`.
pub fn choose(locked: &Locked, entries: &[IndexEntry], rustc: RustVersion) -> Choice {
    let Some(current) = entries.iter().find(|entry| entry.vers == locked.version) else {
        return Choice::Fits;
    };
    if fits(current, rustc) {
        return Choice::Fits;
    }
    let needs = needs(current, rustc);
    let Ok(from) = Version::parse(&locked.version) else {
        return Choice::Fits;
    };
    let best = entries
        .iter()
        .filter(|entry| !entry.yanked && fits(entry, rustc))
        .filter_map(|entry| Version::parse(&entry.vers).ok())
        .filter(|version| {
            version < &from
                && same_series(&from, version)
                && (version.pre.is_empty() || !from.pre.is_empty())
        })
        .max();
    match best {
        Some(to) => Choice::Downgrade {
            name: locked.name.clone(),
            from: locked.version.clone(),
            to: to.to_string(),
            needs,
        },
        None => Choice::NoneFits {
            name: locked.name.clone(),
            version: locked.version.clone(),
            needs,
        },
    }
}

/// Every locked package of `lock` that needs another version for `rustc`.
pub fn choices(lock: &str, cargo_home: &Path, rustc: RustVersion) -> Vec<Choice> {
    crates_io_packages(lock)
        .iter()
        .map(|locked| choose(locked, &cached_entries(cargo_home, &locked.name), rustc))
        .filter(|choice| *choice != Choice::Fits)
        .collect()
}

/// A locked package that cargo would not build with the build's `rustc`, as its error says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooNew {
    /// The crate and its locked version (`libc`, `0.2.191`).
    pub name: String,
    pub version: String,
    /// The `rustc` it asks for (`1.65`) and the build's (`1.63.0`).
    pub requires: String,
    pub active: String,
}

/// The first package a build's output says needs a newer `rustc`, in either of cargo's
/// wordings: before 1.77, "package `libc v0.2.191` cannot be built because it requires rustc
/// 1.65 or newer, while the currently active rustc version is 1.63.0"; since, "rustc 1.85.0 is
/// not supported by the following package:" and a line "  foo@1.2.3 requires rustc 1.86".
/// Every part is checked (a crate name, a semver version, Rust versions), so what reaches the
/// hint's command is never other text of the log.
pub fn too_new(output: &str) -> Option<TooNew> {
    let lines: Vec<&str> = output.lines().collect();
    lines.iter().enumerate().find_map(|(index, line)| {
        old_wording(line).or_else(|| {
            let active = line
                .split("rustc ")
                .nth(1)?
                .strip_suffix(" is not supported by the following package:")
                .or_else(|| {
                    line.split("rustc ")
                        .nth(1)?
                        .strip_suffix(" is not supported by the following packages:")
                })?;
            let next = lines.get(index + 1)?.trim();
            let (package, requires) = next.split_once(" requires rustc ")?;
            let (name, version) = package.split_once('@')?;
            checked(name, version, requires.trim(), active)
        })
    })
}

fn old_wording(line: &str) -> Option<TooNew> {
    let rest = line.split("package `").nth(1)?;
    let (package, rest) = rest.split_once('`')?;
    let (name, version) = package.split_once(" v")?;
    let rest = rest.strip_prefix(" cannot be built because it requires rustc ")?;
    let (requires, rest) = rest.split_once(" or newer")?;
    let active = rest
        .split("currently active rustc version is ")
        .nth(1)?
        .trim()
        .trim_end_matches('.');
    checked(name, version, requires, active)
}

fn checked(name: &str, version: &str, requires: &str, active: &str) -> Option<TooNew> {
    let rust = |text: &str| {
        text.split('.').count() <= 3
            && text
                .split('.')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    };
    (index_path(name).is_some()
        && Version::parse(version).is_ok()
        && rust(requires)
        && rust(active))
    .then(|| TooNew {
        name: name.to_string(),
        version: version.to_string(),
        requires: requires.to_string(),
        active: active.to_string(),
    })
}

/// The version of `too_new`'s crate to pin instead: the newest of its series the build's
/// `rustc` builds, from the index entries cargo cached under `cargo_home`.
pub fn fitting_version(too_new: &TooNew, cargo_home: &Path) -> Option<String> {
    let rustc = rust_version(&too_new.active)?;
    let locked = Locked {
        name: too_new.name.clone(),
        version: too_new.version.clone(),
    };
    match choose(&locked, &cached_entries(cargo_home, &too_new.name), rustc) {
        Choice::Downgrade { to, .. } => Some(to),
        _ => None,
    }
}

/// A crate that only a nightly `rustc` compiles, from a failed cargo step's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NightlyOnly {
    /// The compiler's error line (`error[E0554]: ...`).
    pub line: String,
    /// The crate cargo could not compile, when its output names it.
    pub krate: Option<String>,
}

/// A stable `rustc` refusing unstable features (`#![feature]`, `-Z` flags): error E0554.
pub fn nightly_only(output: &str) -> Option<NightlyOnly> {
    let line = output
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("error[E0554]"))?;
    let krate = output
        .lines()
        .filter_map(|line| line.split("could not compile `").nth(1))
        .find_map(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_string())
        .filter(|name| {
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    Some(NightlyOnly {
        line: line.chars().take(200).collect(),
        krate,
    })
}

/// A failed cargo step whose log says a locked package needs a newer `rustc` becomes
/// [`crate::Error::RustTooOld`], with the version to pin when cargo's index cache knows one;
/// one whose log says a crate needs a nightly `rustc` becomes [`crate::Error::NeedsNightlyRust`].
pub(crate) fn diagnose(error: crate::Error, plan: &crate::build::Plan) -> crate::Error {
    let Some(text) = error.failed_step_output() else {
        return error;
    };
    if let Some(nightly) = nightly_only(&text) {
        return crate::Error::NeedsNightlyRust {
            nightly: Box::new(nightly),
            pinned: crate::rust_needs::toolchain_file(&plan.project_dir)
                .filter(|pinned| pinned.channel.starts_with("nightly")),
            rust_target: crate::rust::rust_target_of(&plan.target),
            step: Box::new(error),
        };
    }
    let Some(too_new) = too_new(&text) else {
        return error;
    };
    let fitting = fitting_version(&too_new, &plan.build_dir.join(".archway/cargo-home"));
    crate::Error::RustTooOld {
        too_new: Box::new(too_new),
        fitting,
        step: Box::new(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUST_1_63: RustVersion = RustVersion {
        major: 1,
        minor: 63,
    };

    fn entry(vers: &str, rust_version: Option<&str>, yanked: bool) -> IndexEntry {
        IndexEntry {
            vers: vers.to_string(),
            rust_version: rust_version.map(str::to_string),
            yanked,
            pubtime: None,
        }
    }

    fn published(vers: &str, pubtime: &str) -> IndexEntry {
        IndexEntry {
            pubtime: Some(pubtime.to_string()),
            ..entry(vers, None, false)
        }
    }

    #[test]
    fn rust_releases_fall_every_six_weeks() {
        let release = |minor| release_date(RustVersion { major: 1, minor });
        assert_eq!(release(63).as_deref(), Some("2022-08-11"));
        assert_eq!(release(64).as_deref(), Some("2022-09-22"));
        assert_eq!(release(85).as_deref(), Some("2025-02-20"));
        assert_eq!(release(86).as_deref(), Some("2025-04-03"));
        assert_eq!(release(1).as_deref(), Some("2015-06-25"));
        assert_eq!(release_date(RustVersion { major: 2, minor: 0 }), None);
    }

    #[test]
    fn a_version_without_rust_version_fits_when_published_before_the_next_release() {
        // compiler_builtins as the index has it: no rust_version; 0.1.160 is edition 2024.
        let entries = vec![
            published("0.1.79", "2022-08-30T00:00:00Z"),
            published("0.1.80", "2022-09-21T23:59:59Z"),
            published("0.1.81", "2022-09-22T00:00:01Z"),
            published("0.1.160", "2025-05-30T16:00:57Z"),
        ];
        assert_eq!(
            choose(&locked("compiler_builtins", "0.1.160"), &entries, RUST_1_63),
            Choice::Downgrade {
                name: "compiler_builtins".to_string(),
                from: "0.1.160".to_string(),
                to: "0.1.80".to_string(),
                needs: "newer than 1.63 (no rust-version; published 2025-05-30)".to_string(),
            }
        );
        // For trixie's 1.85 the same version is too new (after 1.86's 2025-04-03)...
        let rust_1_85 = RustVersion {
            major: 1,
            minor: 85,
        };
        assert!(matches!(
            choose(&locked("compiler_builtins", "0.1.160"), &entries, rust_1_85),
            Choice::Downgrade { .. }
        ));
        // ...and a declared rust_version wins over the date.
        let declared = IndexEntry {
            rust_version: Some("1.63".to_string()),
            ..published("0.2.183", "2026-03-01T00:00:00Z")
        };
        assert_eq!(
            choose(&locked("libc", "0.2.183"), &[declared], RUST_1_63),
            Choice::Fits
        );
    }

    fn locked(name: &str, version: &str) -> Locked {
        Locked {
            name: name.to_string(),
            version: version.to_string(),
        }
    }

    /// What crates.io's index said of libc (2026-12): rust_version from 0.2.163 on, 1.65 from
    /// 0.2.184, a yanked 0.2.165, and 1.0 alphas.
    fn libc() -> Vec<IndexEntry> {
        vec![
            entry("0.2.139", None, false),
            entry("0.2.163", Some("1.19"), false),
            entry("0.2.165", Some("1.63"), true),
            entry("0.2.182", Some("1.63"), false),
            entry("0.2.183", Some("1.63"), false),
            entry("1.0.0-alpha.3", Some("1.63"), false),
            entry("0.2.184", Some("1.65"), false),
            entry("0.2.191", Some("1.65"), false),
        ]
    }

    #[test]
    fn a_version_too_new_for_the_toolchain_goes_back_to_the_newest_that_fits_in_its_series() {
        assert_eq!(
            choose(&locked("libc", "0.2.191"), &libc(), RUST_1_63),
            Choice::Downgrade {
                name: "libc".to_string(),
                from: "0.2.191".to_string(),
                to: "0.2.183".to_string(),
                needs: "1.65".to_string(),
            }
        );
        // Trixie's 1.85 builds it as it is.
        let rust_1_85 = RustVersion {
            major: 1,
            minor: 85,
        };
        assert_eq!(
            choose(&locked("libc", "0.2.191"), &libc(), rust_1_85),
            Choice::Fits
        );
    }

    #[test]
    fn yanked_pre_release_and_other_series_versions_are_never_chosen() {
        let entries = vec![
            entry("1.9.0", None, false),
            entry("2.0.0-rc.1", Some("1.60"), false),
            entry("2.0.1", Some("1.60"), true),
            entry("2.1.0", Some("1.70"), false),
        ];
        // 1.9.0 is another series, 2.0.0-rc.1 a pre-release, 2.0.1 yanked.
        assert_eq!(
            choose(&locked("x", "2.1.0"), &entries, RUST_1_63),
            Choice::NoneFits {
                name: "x".to_string(),
                version: "2.1.0".to_string(),
                needs: "1.70".to_string(),
            }
        );
        // 0.x: the minor is the series; 0.0.x: the patch.
        let zero = vec![
            entry("0.3.9", None, false),
            entry("0.4.1", None, false),
            entry("0.4.2", Some("1.80"), false),
        ];
        assert!(matches!(
            choose(&locked("y", "0.4.2"), &zero, RUST_1_63),
            Choice::Downgrade { ref to, .. } if to == "0.4.1"
        ));
        let zero_zero = vec![
            entry("0.0.3", None, false),
            entry("0.0.4", Some("1.80"), false),
        ];
        assert!(matches!(
            choose(&locked("z", "0.0.4"), &zero_zero, RUST_1_63),
            Choice::NoneFits { .. }
        ));
    }

    #[test]
    fn versions_without_a_rust_version_or_an_index_entry_are_left_alone() {
        assert_eq!(
            choose(&locked("libc", "0.2.139"), &libc(), RUST_1_63),
            Choice::Fits
        );
        assert_eq!(
            choose(&locked("gone", "1.0.0"), &[], RUST_1_63),
            Choice::Fits
        );
        // An unparsable rust_version asks for nothing.
        let odd = vec![entry("1.0.0", Some("one point sixty"), false)];
        assert_eq!(
            choose(&locked("odd", "1.0.0"), &odd, RUST_1_63),
            Choice::Fits
        );
    }

    #[test]
    fn the_lock_s_crates_io_packages_are_read_and_others_left_out() {
        let lock = r#"
version = 3

[[package]]
name = "libc"
version = "0.2.191"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "memchr"
version = "2.7.4"
source = "sparse+https://index.crates.io/"

[[package]]
name = "libz-sys"
version = "1.1.8"

[[package]]
name = "private"
version = "1.0.0"
source = "registry+https://example.com/index"

[[package]]
name = "from-git"
version = "0.1.0"
source = "git+https://example.com/repo#abc"
"#;
        assert_eq!(
            crates_io_packages(lock),
            vec![locked("libc", "0.2.191"), locked("memchr", "2.7.4")]
        );
        assert!(crates_io_packages("not [toml").is_empty());
        assert!(crates_io_packages("version = 3").is_empty());
    }

    #[test]
    fn index_paths_follow_cargo_s_layout_and_refuse_what_no_crate_is_called() {
        assert_eq!(index_path("a"), Some(PathBuf::from("1/a")));
        assert_eq!(index_path("cc"), Some(PathBuf::from("2/cc")));
        assert_eq!(index_path("syn"), Some(PathBuf::from("3/s/syn")));
        assert_eq!(index_path("Libc"), Some(PathBuf::from("li/bc/libc")));
        assert_eq!(
            index_path("pkg-config"),
            Some(PathBuf::from("pk/g-/pkg-config"))
        );
        for hostile in ["", "../../etc", "a/b", "..", "x\0y", "é"] {
            assert_eq!(index_path(hostile), None, "{hostile:?}");
        }
    }

    #[test]
    fn cargo_s_cache_file_is_read_past_its_header_and_version_strings() {
        // As cargo writes it: a cache version, the index format (u32), the index's own version
        // string, then version/JSON pairs, each NUL-terminated.
        let mut bytes = vec![3u8, 2, 0, 0, 0];
        bytes.extend_from_slice(b"Unknown\0");
        for line in [
            r#"{"name":"libc","vers":"0.2.182","deps":[],"cksum":"x","features":{},"yanked":false,"rust_version":"1.63"}"#,
            r#"{"name":"libc","vers":"0.2.191","deps":[],"cksum":"y","features":{},"yanked":false,"rust_version":"1.65","v":2}"#,
            r#"{"broken json"#,
        ] {
            let vers = if line.contains("0.2.182") {
                "0.2.182"
            } else {
                "0.2.191"
            };
            bytes.extend_from_slice(vers.as_bytes());
            bytes.push(0);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(0);
        }
        let entries = parse_index_cache(&bytes);
        assert_eq!(
            entries,
            vec![
                entry("0.2.182", Some("1.63"), false),
                entry("0.2.191", Some("1.65"), false)
            ]
        );

        let home = tempfile::tempdir().expect("a temporary CARGO_HOME");
        let dir = home
            .path()
            .join("registry/index/index.crates.io-e139d0d48fed7772/.cache/li/bc");
        std::fs::create_dir_all(&dir).expect("the index cache directory");
        std::fs::write(dir.join("libc"), &bytes).expect("the cache file");
        assert_eq!(cached_entries(home.path(), "libc"), entries);
        assert!(cached_entries(home.path(), "serde").is_empty());
        let lock = "[[package]]\nname = \"libc\"\nversion = \"0.2.191\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        assert_eq!(
            choices(lock, home.path(), RUST_1_63),
            vec![Choice::Downgrade {
                name: "libc".to_string(),
                from: "0.2.191".to_string(),
                to: "0.2.182".to_string(),
                needs: "1.65".to_string(),
            }]
        );
    }
    #[test]
    fn cargo_s_rust_version_errors_are_read_in_both_wordings() {
        let old = "error: package `libc v0.2.191` cannot be built because it requires rustc \
                   1.65 or newer, while the currently active rustc version is 1.63.0\n";
        let expected = TooNew {
            name: "libc".to_string(),
            version: "0.2.191".to_string(),
            requires: "1.65".to_string(),
            active: "1.63.0".to_string(),
        };
        assert_eq!(too_new(old), Some(expected));
        let new = "   Compiling foo v0.1.0\nerror: rustc 1.85.0 is not supported by the \
                   following packages:\n  clap@4.6.0 requires rustc 1.87\n  \
                   clap_lex@1.0.0 requires rustc 1.87\n";
        let found = too_new(new).expect("the new wording");
        assert_eq!(
            (found.name.as_str(), found.version.as_str()),
            ("clap", "4.6.0")
        );
        assert_eq!(
            (found.requires.as_str(), found.active.as_str()),
            ("1.87", "1.85.0")
        );
        // Text that only looks like it, or hostile names, is not taken into a hint.
        for output in [
            "error: package `$(reboot) v1.0.0` cannot be built because it requires rustc \
             1.65 or newer, while the currently active rustc version is 1.63.0",
            "error: package `libc v0.2.191; rm -rf /` cannot be built because it requires \
             rustc 1.65 or newer, while the currently active rustc version is 1.63.0",
            "error: package `libc v0.2.191` cannot be built because it requires rustc \
             1.65`x` or newer, while the currently active rustc version is 1.63.0",
            "error: rustc 1.85.0 is not supported by the following package:\n  \
             a b@1.0.0 requires rustc 1.87",
            "error[E0658]: use of unstable library feature",
            "",
        ] {
            assert_eq!(too_new(output), None, "{output}");
        }
    }

    #[test]
    fn the_fitting_version_comes_from_cargo_s_index_cache() {
        let home = tempfile::tempdir().expect("temp dir");
        let cache = home
            .path()
            .join("registry/index/index.crates.io-6f17d22bba15001f/.cache")
            .join(index_path("libc").expect("a crate name"));
        std::fs::create_dir_all(cache.parent().expect("parent")).expect("mkdir");
        let mut bytes = b"\x03\x00\x00\x00\x00etag\x00".to_vec();
        for (version, rust) in [
            ("0.2.150", "1.63"),
            ("0.2.171", "1.63"),
            ("0.2.191", "1.65"),
        ] {
            bytes.extend_from_slice(version.as_bytes());
            bytes.push(0);
            bytes.extend_from_slice(
                format!(r#"{{"name":"libc","vers":"{version}","rust_version":"{rust}"}}"#)
                    .as_bytes(),
            );
            bytes.push(0);
        }
        std::fs::write(&cache, bytes).expect("write");
        let too_new = TooNew {
            name: "libc".to_string(),
            version: "0.2.191".to_string(),
            requires: "1.65".to_string(),
            active: "1.63.0".to_string(),
        };
        assert_eq!(
            fitting_version(&too_new, home.path()).as_deref(),
            Some("0.2.171")
        );
        let empty = tempfile::tempdir().expect("temp dir");
        assert_eq!(fitting_version(&too_new, empty.path()), None);
    }

    #[test]
    fn a_stable_rustc_refusing_a_feature_names_the_crate() {
        let output = "   Compiling nightly v0.1.0 (/src)\n\
            error[E0554]: `#![feature]` may not be used on the stable release channel\n \
            --> src/lib.rs:1:1\n\
            error: could not compile `nightly` due to previous error\n";
        assert_eq!(
            nightly_only(output),
            Some(NightlyOnly {
                line: "error[E0554]: `#![feature]` may not be used on the stable release channel"
                    .to_string(),
                krate: Some("nightly".to_string()),
            })
        );
        // Without cargo's summary line the crate is not known; a name that is not a crate's
        // is not taken.
        let alone = "error[E0554]: `#![feature]` may not be used on the stable release channel\n";
        assert_eq!(nightly_only(alone).and_then(|found| found.krate), None);
        let odd = format!("{alone}error: could not compile `a b` (lib)\n");
        assert_eq!(nightly_only(&odd).and_then(|found| found.krate), None);
        // Other errors are not this one.
        assert_eq!(nightly_only("error[E0433]: failed to resolve\n"), None);
        assert_eq!(nightly_only(""), None);
    }
}
