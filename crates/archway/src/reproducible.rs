//! Outputs that do not depend on where the tree lies or when it was built: two clones of the
//! same sources in two directories give the same bytes (reproducible-builds.org).
//!
//! Every method maps the source and build directories to fixed names
//! ([`archway_toolchain::reproducible`]): the cross method through its generated files and `CC`
//! ([`archway_toolchain::Request::path_maps`]); the native, hybrid and emulated methods, whose
//! build systems find the compiler themselves, through `CC`/`CXX` (after the configured
//! compiler and CPU flags, as those methods already pass the CPU flags) and
//! `CARGO_ENCODED_RUSTFLAGS` (after the user's own `CARGO_ENCODED_RUSTFLAGS` or `RUSTFLAGS`;
//! not when a Cargo configuration file sets `rustflags`, which the variable would silence).
//! The hybrid and emulated sandboxes bind the project and its build directory at their own
//! paths, so the same maps hold inside.
//!
//! `SOURCE_DATE_EPOCH` (reproducible-builds.org/specs/source-date-epoch) is the user's when set
//! (the configuration's `env`, else archway's own environment); otherwise a time taken from
//! the sources, so that it is the same for every clone of them:
//! 1. the committer time of `HEAD` when the project is a git work tree (`git log -1
//!    --format=%ct`): every clone of a commit has it, whatever the files' times;
//! 2. the date of the newest entry of `debian/changelog`, as dpkg-buildpackage sets it
//!    (dpkg's `Dpkg::Vendor::Debian`, from `dpkg-parsechangelog -STimestamp`);
//! 3. else 315532800 (1980-01-01, the earliest time a zip file holds), nixpkgs' stdenv default.
//!
//! Files' modification times are not used: a copy (`cp -r`, a fresh checkout) changes them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use archway_platform::quote::sh_words;
use archway_toolchain::reproducible::{c_flags, encoded_rustflags, rust_flags, PathMap};

/// nixpkgs' stdenv `SOURCE_DATE_EPOCH` when nothing better is known: 1980-01-01 00:00 UTC.
pub const FALLBACK_EPOCH: u64 = 315_532_800;

/// Where a `SOURCE_DATE_EPOCH` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochOrigin {
    User,
    GitCommit,
    DebianChangelog,
    Fallback,
}

/// `SOURCE_DATE_EPOCH` for the project at `root`: `user`'s value when given, else the rules of
/// the module documentation.
pub fn source_date_epoch(root: &Path, user: Option<&str>) -> (String, EpochOrigin) {
    if let Some(user) = user.filter(|value| !value.is_empty()) {
        return (user.to_string(), EpochOrigin::User);
    }
    if let Some(time) = git_commit_time(root) {
        return (time.to_string(), EpochOrigin::GitCommit);
    }
    if let Some(time) = std::fs::read_to_string(root.join("debian/changelog"))
        .ok()
        .as_deref()
        .and_then(changelog_time)
    {
        return (time.to_string(), EpochOrigin::DebianChangelog);
    }
    (FALLBACK_EPOCH.to_string(), EpochOrigin::Fallback)
}

/// The committer time of `HEAD`, when `root` is the top of a git work tree (a project inside
/// an unrelated repository does not take that repository's time).
fn git_commit_time(root: &Path) -> Option<u64> {
    if !root.join(".git").exists() {
        return None;
    }
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["log", "-1", "--format=%ct"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

/// The time of the first (newest) entry of a Debian changelog: its trailer line
/// ` -- Name <address>  Mon, 23 Jan 2023 12:34:56 +0100` (deb-changelog(5), an RFC 5322 date).
pub fn changelog_time(changelog: &str) -> Option<u64> {
    let trailer = changelog.lines().find(|line| line.starts_with(" -- "))?;
    let (_, date) = trailer.split_once(">  ")?;
    rfc5322_time(date.trim())
}

/// `Mon, 23 Jan 2023 12:34:56 +0100` as seconds since the epoch (`None` before 1970 or when
/// malformed).
fn rfc5322_time(date: &str) -> Option<u64> {
    let date = date.split_once(", ").map_or(date, |(_, rest)| rest);
    let mut parts = date.split_whitespace();
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':');
    let hour: i64 = clock.next()?.parse().ok()?;
    let minute: i64 = clock.next()?.parse().ok()?;
    let second: i64 = clock.next().map_or(Some(0), |s| s.parse().ok())?;
    let zone = parts.next()?;
    let (sign, digits) = match zone.split_at_checked(1)? {
        ("+", digits) => (1, digits),
        ("-", digits) => (-1, digits),
        _ => return None,
    };
    if digits.len() != 4 || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset: i64 =
        digits[..2].parse::<i64>().ok()? * 3600 + digits[2..].parse::<i64>().ok()? * 60;
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - sign * offset;
    u64::try_from(seconds).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The variables of a build whose compilers are found by the build system itself (native,
/// hybrid, emulated): `base` (the configuration's `CC`, CPU flags, `env`) with the path maps
/// added to `CC` and `CXX` and to `CARGO_ENCODED_RUSTFLAGS`, and `SOURCE_DATE_EPOCH`.
/// `inherited` gives the variables the steps would otherwise inherit (archway's own
/// environment on the host; nothing in a sandbox).
pub fn with_path_maps(
    base: &BTreeMap<String, String>,
    maps: &[PathMap],
    project_dir: &Path,
    inherited: &dyn Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    let mut env = base.clone();
    let lookup = |name: &str| base.get(name).cloned().or_else(|| inherited(name));
    let flags = c_flags(maps);
    if !flags.is_empty() {
        // `gcc`/`g++` as in the configuration's CPU flags (config/request.rs): the names
        // autoconf tries first, and what `cc`/`c++` are on Debian.
        for (name, default) in [("CC", "gcc"), ("CXX", "g++")] {
            let compiler = lookup(name).unwrap_or_else(|| default.to_string());
            env.insert(name.to_string(), format!("{compiler} {}", sh_words(&flags)));
        }
    }
    let rust = rust_flags(maps);
    let encoded = lookup("CARGO_ENCODED_RUSTFLAGS");
    let plain = lookup("RUSTFLAGS");
    // Cargo takes its flags from one source only, the environment first: setting them there
    // would silence `rustflags` of a Cargo configuration file, so then they are left alone
    // (and Rust's paths unmapped) unless the user's environment already decides.
    let configured =
        encoded.is_none() && plain.is_none() && cargo_config_sets_rustflags(project_dir);
    if !rust.is_empty() && !configured {
        env.insert(
            "CARGO_ENCODED_RUSTFLAGS".to_string(),
            encoded_rustflags(encoded.as_deref(), plain.as_deref(), &rust),
        );
    }
    let user_epoch = lookup("SOURCE_DATE_EPOCH");
    let (epoch, _) = source_date_epoch(project_dir, user_epoch.as_deref());
    env.insert("SOURCE_DATE_EPOCH".to_string(), epoch);
    env
}

/// Whether a Cargo configuration file that applies to `project_dir` sets `rustflags`: the
/// project's directory and its ancestors' `.cargo/config.toml` (or `.cargo/config`), then
/// `$CARGO_HOME/config.toml` (Cargo's "Hierarchical structure"). A textual check: a file that
/// mentions `rustflags` counts.
fn cargo_config_sets_rustflags(project_dir: &Path) -> bool {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    let mut files = Vec::new();
    for directory in project_dir.ancestors() {
        files.push(directory.join(".cargo/config.toml"));
        files.push(directory.join(".cargo/config"));
    }
    if let Some(home) = cargo_home {
        files.push(home.join("config.toml"));
        files.push(home.join("config"));
    }
    files
        .iter()
        .any(|file| std::fs::read_to_string(file).is_ok_and(|text| text.contains("rustflags")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changelog_dates_are_read_as_dpkg_reads_them() {
        let changelog = "zlib (1:1.2.13.dfsg-1) unstable; urgency=medium\n\n  * New upstream.\n\n \
                         -- Mark Brown <broonie@debian.org>  Sat, 15 Oct 2022 13:28:49 +0100\n\n\
                         zlib (1:1.2.11.dfsg-4) unstable; urgency=medium\n\n \
                         -- Mark Brown <broonie@debian.org>  Sun, 08 May 2022 13:29:48 +0100\n";
        // date -d 'Sat, 15 Oct 2022 13:28:49 +0100' +%s
        assert_eq!(changelog_time(changelog), Some(1_665_836_929));
        let cases: &[(&str, Option<u64>)] = &[
            ("Thu, 01 Jan 1970 00:00:00 +0000", Some(0)),
            ("Tue, 01 Jan 1980 00:00:00 +0000", Some(FALLBACK_EPOCH)),
            ("Wed, 29 Feb 2024 23:59:59 -0130", Some(1_709_256_599)),
            ("Thu, 01 Jan 1970 00:00:00 +0100", None),
            ("Mon, 32 Jan 2023 00:00:00 +0000", None),
            ("Mon, 23 Foo 2023 00:00:00 +0000", None),
            ("Mon, 23 Jan 2023 00:00:00 0100", None),
            ("", None),
        ];
        for (date, expected) in cases {
            assert_eq!(rfc5322_time(date), *expected, "{date}");
        }
    }

    #[test]
    fn the_epoch_is_the_users_else_the_sources_never_the_clock() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            source_date_epoch(dir.path(), Some("1234")),
            ("1234".to_string(), EpochOrigin::User)
        );
        assert_eq!(
            source_date_epoch(dir.path(), None),
            (FALLBACK_EPOCH.to_string(), EpochOrigin::Fallback)
        );
        std::fs::create_dir(dir.path().join("debian")).expect("mkdir");
        std::fs::write(
            dir.path().join("debian/changelog"),
            "p (1) unstable; urgency=low\n\n  * x\n\n -- A <a@b>  Thu, 01 Jan 1970 00:01:40 +0000\n",
        )
        .expect("write");
        assert_eq!(
            source_date_epoch(dir.path(), None),
            ("100".to_string(), EpochOrigin::DebianChangelog)
        );
    }

    #[test]
    fn host_variables_append_to_the_users_compiler_and_rust_flags() {
        let project = tempfile::tempdir().expect("temp dir");
        let maps = PathMap::for_build(Path::new("/my src"), Path::new("/my src/build/a"));
        let mut base = BTreeMap::new();
        base.insert("CC".to_string(), "gcc-11 -march=armv6kz".to_string());
        base.insert("CFLAGS".to_string(), "-O1".to_string());
        let inherited = |name: &str| (name == "RUSTFLAGS").then(|| "-C opt-level=1".to_string());
        let env = with_path_maps(&base, &maps, project.path(), &inherited);
        assert_eq!(
            env["CC"],
            "gcc-11 -march=armv6kz '-ffile-prefix-map=/my src=/archway/source' \
             '-ffile-prefix-map=/my src/build/a=/archway/build'"
        );
        assert_eq!(
            env["CXX"],
            "g++ '-ffile-prefix-map=/my src=/archway/source' \
             '-ffile-prefix-map=/my src/build/a=/archway/build'"
        );
        // The user's CFLAGS reach the build untouched.
        assert_eq!(env["CFLAGS"], "-O1");
        assert_eq!(
            env["CARGO_ENCODED_RUSTFLAGS"],
            "-C\u{1f}opt-level=1\u{1f}--remap-path-prefix=/my src=/archway/source\u{1f}\
             --remap-path-prefix=/my src/build/a=/archway/build"
        );
        assert_eq!(env["SOURCE_DATE_EPOCH"], FALLBACK_EPOCH.to_string());

        // A Cargo configuration's rustflags are not silenced by the environment.
        std::fs::create_dir(project.path().join(".cargo")).expect("mkdir");
        std::fs::write(
            project.path().join(".cargo/config.toml"),
            "[build]\nrustflags = [\"-Ctarget-cpu=native\"]\n",
        )
        .expect("write");
        let env = with_path_maps(&base, &maps, project.path(), &|_| None);
        assert!(!env.contains_key("CARGO_ENCODED_RUSTFLAGS"), "{env:?}");
        assert!(env["CC"].contains("-ffile-prefix-map=/my src=/archway/source"));

        // The user's SOURCE_DATE_EPOCH wins.
        base.insert("SOURCE_DATE_EPOCH".to_string(), "42".to_string());
        let env = with_path_maps(&base, &maps, project.path(), &|_| None);
        assert_eq!(env["SOURCE_DATE_EPOCH"], "42");
    }
}
