//! The QEMU user-mode command that runs a target program on this host.
//!
//! `qemu-<name> -L <prefix>` makes QEMU look up the program's ELF interpreter and every absolute
//! path it opens under `<prefix>` first (QEMU's `linux-user/main.c`: `-L path` = `QEMU_LD_PREFIX`),
//! so a dynamically linked aarch64 program finds `/lib/ld-linux-aarch64.so.1` in the sysroot.
//! Running QEMU explicitly works whether or not a binfmt_misc entry is registered.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use archway_platform::Platform;

use crate::toolchain::find_program;
use crate::{Error, Request};

/// The emulator command for `target`: `[qemu, -L, prefix, -cpu, model]`, without the program.
///
/// `library_prefix` is the sysroot, or the toolchain's own libc directory
/// (`/usr/aarch64-linux-gnu`); `request.emulator` replaces QEMU, `request.qemu_cpu` adds `-cpu`.
pub fn emulator_command(
    target: &Platform,
    request: &Request,
    library_prefix: Option<&Path>,
    search_path: &OsStr,
) -> Result<Vec<String>, Error> {
    let program = match &request.emulator {
        Some(program) => {
            if !crate::toolchain::is_executable(program) {
                return Err(Error::ToolMissing {
                    role: "emulator",
                    path: program.clone(),
                });
            }
            program.clone()
        }
        None => find_qemu(target, search_path)?,
    };
    let is_qemu = program
        .file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|name| name.starts_with("qemu-"));
    let mut command = vec![program.display().to_string()];
    if is_qemu {
        if let Some(prefix) = library_prefix {
            command.push("-L".to_string());
            command.push(prefix.display().to_string());
        }
        // An explicit model wins; else the one that runs the platform's CPU (`arm1176`).
        let cpu = (request.qemu_cpu.as_deref()).or_else(|| target.qemu_cpu().model());
        if let Some(cpu) = cpu {
            command.push("-cpu".to_string());
            command.push(cpu.to_string());
        }
    }
    Ok(command)
}

/// `qemu-<name>-static` (Debian's `qemu-user-static`), else `qemu-<name>` (`qemu-user`).
pub fn find_qemu(target: &Platform, search_path: &OsStr) -> Result<PathBuf, Error> {
    let name = target.qemu_user().ok_or_else(|| Error::NotEmulable {
        target: target.display_name(),
    })?;
    let candidates = [format!("qemu-{name}-static"), format!("qemu-{name}")];
    candidates
        .iter()
        .find_map(|candidate| find_program(search_path, candidate))
        .ok_or_else(|| Error::NoEmulator {
            target: target.display_name(),
            looked_for: candidates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(" and "),
        })
}
