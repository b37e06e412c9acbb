//! Outputs that do not depend on where the tree lies: the source and build directories mapped
//! to fixed names in everything the compilers write, as reproducible builds do.
//!
//! - C and C++: `-ffile-prefix-map=OLD=NEW` (GCC ≥ 8, clang ≥ 10) rewrites `__FILE__`,
//!   `__BASE_FILE__`, the debug information's file names and `DW_AT_comp_dir` (it implies
//!   `-fmacro-prefix-map` and `-fdebug-prefix-map`). GCC splits the option at the first `=`
//!   (gcc/file-prefix-map.c `add_prefix_map`), so a directory whose path has one cannot be
//!   mapped and is left out. Debian's dpkg-buildflags adds the same option for every package
//!   (its `reproducible=+fixfilepath` feature, mapping the tree to `.`).
//! - Rust: `--remap-path-prefix=FROM=TO` (rustc splits at the last `=`).
//! - When several maps match, the one given last wins in GCC (the list is searched newest
//!   first) and in rustc: the build directory, often inside the source tree, is given last.
//!
//! The fixed names are absolute paths that exist nowhere, so a debugger shows a clear name
//! (`set substitute-path /archway/source DIR` in gdb finds the sources again).

use std::path::{Path, PathBuf};

use serde::Serialize;

/// What the source tree is called in the outputs.
pub const SOURCE_NAME: &str = "/archway/source";
/// What the build directory is called in the outputs.
pub const BUILD_NAME: &str = "/archway/build";

/// One directory and the fixed name it has in the outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathMap {
    /// The directory, absolute, as the compiler sees it.
    pub from: PathBuf,
    /// Its fixed name ([`SOURCE_NAME`], [`BUILD_NAME`]).
    pub to: String,
}

impl PathMap {
    /// The maps of one build: the source tree, then its build directory (last: it wins where
    /// it lies inside the source tree).
    pub fn for_build(source: &Path, build: &Path) -> Vec<PathMap> {
        vec![
            PathMap {
                from: source.to_path_buf(),
                to: SOURCE_NAME.to_string(),
            },
            PathMap {
                from: build.to_path_buf(),
                to: BUILD_NAME.to_string(),
            },
        ]
    }

    /// `-ffile-prefix-map=FROM=TO`, or `None` when GCC could not read it back (an `=` in the
    /// path, or a path that is not UTF-8).
    pub fn c_flag(&self) -> Option<String> {
        let from = self.from.to_str()?;
        if from.contains('=') || from.is_empty() {
            return None;
        }
        Some(format!("-ffile-prefix-map={from}={}", self.to))
    }

    /// `--remap-path-prefix=FROM=TO`, or `None` for a path that is not UTF-8 or that holds
    /// the separator of `CARGO_ENCODED_RUSTFLAGS` (0x1f).
    pub fn rust_flag(&self) -> Option<String> {
        let from = self.from.to_str()?;
        if from.contains('\u{1f}') || from.is_empty() {
            return None;
        }
        Some(format!("--remap-path-prefix={from}={}", self.to))
    }
}

/// The C and C++ compiler flags of `maps`, in order.
pub fn c_flags(maps: &[PathMap]) -> Vec<String> {
    maps.iter().filter_map(PathMap::c_flag).collect()
}

/// The rustc flags of `maps`, in order.
pub fn rust_flags(maps: &[PathMap]) -> Vec<String> {
    maps.iter().filter_map(PathMap::rust_flag).collect()
}

/// `CARGO_ENCODED_RUSTFLAGS` (flags separated by 0x1f, cargo's `build.rustflags` reference):
/// the user's own flags first — `CARGO_ENCODED_RUSTFLAGS` if set, else `RUSTFLAGS` split on
/// whitespace as Cargo splits it — then `extra`. Cargo reads the encoded form first, so the
/// user's flags still reach rustc.
pub fn encoded_rustflags(encoded: Option<&str>, plain: Option<&str>, extra: &[String]) -> String {
    let mut flags: Vec<String> = match (encoded, plain) {
        // Set but empty: no flags for Cargo either (it does not fall back to `RUSTFLAGS`).
        (Some(""), _) => Vec::new(),
        (Some(encoded), _) => encoded.split('\u{1f}').map(str::to_string).collect(),
        (None, Some(plain)) => plain.split_whitespace().map(str::to_string).collect(),
        (None, None) => Vec::new(),
    };
    flags.extend(extra.iter().cloned());
    flags.join("\u{1f}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_give_the_build_directory_last() {
        let maps = PathMap::for_build(Path::new("/src/zlib"), Path::new("/src/zlib/build/x"));
        assert_eq!(
            c_flags(&maps),
            [
                "-ffile-prefix-map=/src/zlib=/archway/source",
                "-ffile-prefix-map=/src/zlib/build/x=/archway/build",
            ]
        );
        assert_eq!(
            rust_flags(&maps),
            [
                "--remap-path-prefix=/src/zlib=/archway/source",
                "--remap-path-prefix=/src/zlib/build/x=/archway/build",
            ]
        );
    }

    #[test]
    fn paths_the_compilers_cannot_read_back_are_left_out() {
        let maps = PathMap::for_build(Path::new("/src/a=b"), Path::new("/b\u{1f}c"));
        // GCC splits at the first `=`; rustc at the last, so `a=b` is fine for it.
        assert_eq!(
            c_flags(&maps),
            ["-ffile-prefix-map=/b\u{1f}c=/archway/build"]
        );
        assert_eq!(
            rust_flags(&maps),
            ["--remap-path-prefix=/src/a=b=/archway/source"]
        );
        // Spaces are fine: each flag is one argument (quoted where it becomes sh words).
        let spaced = PathMap::for_build(Path::new("/my src"), Path::new("/my src/b"));
        assert_eq!(
            c_flags(&spaced)[0],
            "-ffile-prefix-map=/my src=/archway/source"
        );
    }

    #[test]
    fn encoded_rustflags_keep_the_users_flags_first() {
        let extra = vec!["--remap-path-prefix=/s=/archway/source".to_string()];
        let cases: &[(Option<&str>, Option<&str>, &str)] = &[
            (None, None, "--remap-path-prefix=/s=/archway/source"),
            (
                None,
                Some(" -C  opt-level=1 "),
                "-C\u{1f}opt-level=1\u{1f}--remap-path-prefix=/s=/archway/source",
            ),
            (
                Some("-Cdebuginfo=2\u{1f}--cfg=a b"),
                Some("-C opt-level=1"),
                "-Cdebuginfo=2\u{1f}--cfg=a b\u{1f}--remap-path-prefix=/s=/archway/source",
            ),
            (
                Some(""),
                Some("-Cdebuginfo=1"),
                "--remap-path-prefix=/s=/archway/source",
            ),
        ];
        for (encoded, plain, expected) in cases {
            assert_eq!(
                encoded_rustflags(*encoded, *plain, &extra),
                *expected,
                "{encoded:?} {plain:?}"
            );
        }
    }
}
