//! Rust targets: is the standard library for the target installed?
//!
//! `rustc --print sysroot` names the toolchain's root; a target's prebuilt standard library is
//! `<sysroot>/lib/rustlib/<triple>/lib` (what `rustup target add` installs).

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use archway_platform::Platform;
use serde::Serialize;

use crate::toolchain::find_program;
use crate::Error;

/// The installed standard library of one Rust target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RustStd {
    pub triple: String,
    /// `<sysroot>/lib/rustlib/<triple>`.
    pub path: PathBuf,
}

/// Finds the standard library for `target` of the `rustc` on `search_path`.
pub fn rust_std(target: &Platform, search_path: &OsStr) -> Result<RustStd, Error> {
    let triple = target.rust_target().ok_or_else(|| Error::NoRustTarget {
        target: target.display_name(),
    })?;
    let rustc = find_program(search_path, "rustc").unwrap_or_else(|| PathBuf::from("rustc"));
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|source| Error::Spawn {
            command: format!("{} --print sysroot", rustc.display()),
            source,
        })?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let path = sysroot.join("lib/rustlib").join(&triple);
    if output.status.success() && path.join("lib").is_dir() {
        Ok(RustStd { triple, path })
    } else {
        Err(Error::RustStdMissing { triple, path })
    }
}
