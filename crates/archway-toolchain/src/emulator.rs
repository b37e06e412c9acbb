//! The command that runs a target program on this host: QEMU user mode for Linux programs,
//! Wine for Windows programs, a WASI runtime for WASI modules (nixpkgs' `emulator`).
//!
//! `qemu-<name> -L <prefix>` makes QEMU look up the program's ELF interpreter and every absolute
//! path it opens under `<prefix>` first (QEMU's `linux-user/main.c`: `-L path` = `QEMU_LD_PREFIX`),
//! so a dynamically linked aarch64 program finds `/lib/ld-linux-aarch64.so.1` in the sysroot.
//! Running QEMU explicitly works whether or not a binfmt_misc entry is registered.
//!
//! Wine and the WASI runtime need settings that are not arguments (Wine's prefix and debug
//! channels are environment variables; Node.js's `node:wasi` needs a script), and the same
//! command must serve as CMake's `CMAKE_CROSSCOMPILING_EMULATOR`, Meson's `exe_wrapper`,
//! Cargo's runner and a binfmt_misc interpreter (one path, no arguments). So for them archway
//! writes a small executable *runner* into its cache and the command is that one file:
//! - `<cache>/wine/run-<config>`: sets `WINEPREFIX=<cache>/wine/<config>` (archway's own prefix,
//!   created once with `wineboot --init` under a lock, so parallel tests do not race to create
//!   it; `ARCHWAY_WINEPREFIX` replaces it: archway's build sandbox has the cache read-only and
//!   gives each build directory its own), `WINEDEBUG=-all` (Wine's diagnostics would mix with the program's output) and
//!   `WINEPATH` (the MinGW runtime DLLs: `libgcc_s_seh-1.dll`, `libstdc++-6.dll`,
//!   `libwinpthread-1.dll`), then `exec wine "$@"`.
//! - `<cache>/wasi/run`: `wasmtime run --dir=. "$@"` when wasmtime is installed, else Node.js's
//!   `node:wasi` (Node.js 20; no flag needed since 20.0, Node's `doc/api/wasi.md`) with
//!   `<cache>/wasi/run.mjs`, the host's `/` and `.` preopened.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use archway_platform::emulator::Emulator;
use archway_platform::quote::sh_quoted;
use archway_platform::Platform;

use crate::toolchain::find_program;
use crate::{Error, Request};

/// The emulator command for `target`, without the program: `[qemu, -L, prefix, -cpu, model]`
/// for Linux targets, `[<cache>/wine/run-<config>]` for Windows, `[<cache>/wasi/run]` for WASI.
///
/// `library_prefix` is the sysroot, or the toolchain's own libc directory
/// (`/usr/aarch64-linux-gnu`, MinGW's `/usr/x86_64-w64-mingw32`, whose DLLs Wine is told
/// about); `request.emulator` replaces the emulator, `request.qemu_cpu` adds `-cpu`; Wine and
/// the WASI runtime need `request.cache_dir` for their runner.
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
        None => match Emulator::for_platform(target) {
            Some(Emulator::Qemu { .. }) | None => find_qemu(target, search_path)?,
            Some(Emulator::Wine { .. } | Emulator::Wasi) => {
                let cache_dir = request
                    .cache_dir
                    .as_deref()
                    .ok_or_else(|| Error::NoCacheDir {
                        target: target.display_name(),
                    })?;
                runner(target, cache_dir, library_prefix, search_path)?
            }
        },
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

/// The runner of a Wine or WASI target, written (or rewritten, when its text changed) under
/// `cache_dir`: one executable that takes the program and its arguments, usable as a
/// binfmt_misc interpreter. QEMU targets have none: [`Error::NotEmulable`].
pub fn runner(
    target: &Platform,
    cache_dir: &Path,
    library_prefix: Option<&Path>,
    search_path: &OsStr,
) -> Result<PathBuf, Error> {
    match Emulator::for_platform(target) {
        Some(Emulator::Wine { bits }) => {
            wine_runner(target, bits, cache_dir, library_prefix, search_path)
        }
        Some(Emulator::Wasi) => wasi_runner(target, cache_dir, search_path),
        Some(Emulator::Qemu { .. }) | None => Err(Error::NotEmulable {
            target: target.display_name(),
        }),
    }
}

/// Debian's Wine (`wine` + `wine64`, `wine32:i386` for 32-bit programs) lays its loaders out
/// as `/usr/lib/wine/wine64` and `/usr/lib/wine/wine`; `/usr/bin/wine` picks one.
const DEBIAN_WINE_DIR: &str = "/usr/lib/wine";

fn wine_runner(
    target: &Platform,
    bits: u32,
    cache_dir: &Path,
    library_prefix: Option<&Path>,
    search_path: &OsStr,
) -> Result<PathBuf, Error> {
    let missing = || Error::EmulatorMissing {
        target: target.display_name(),
        emulator: "wine".to_string(),
        install: "apt-get install wine wine64".to_string(),
    };
    let wine = find_program(search_path, "wine").ok_or_else(missing)?;
    let wineboot = find_program(search_path, "wineboot").ok_or_else(missing)?;
    // Wine 8 in Debian bookworm runs 32-bit programs only with the 32-bit loader of
    // `wine32:i386` (the new WoW64 mode is not built in); without it `/usr/bin/wine` prints a
    // hint and fails. Checked only where Debian's layout is there to check.
    let debian = Path::new(DEBIAN_WINE_DIR);
    if bits == 32 && debian.join("wine64").exists() && !debian.join("wine").exists() {
        return Err(Error::EmulatorMissing {
            target: target.display_name(),
            emulator: "wine32".to_string(),
            install:
                "dpkg --add-architecture i386 && apt-get update && apt-get install wine32:i386"
                    .to_string(),
        });
    }
    let config = target.canonical_config();
    let directory = cache_dir.join("wine");
    let prefix = directory.join(&config);
    let dll_path = mingw_dll_directories(target, library_prefix, search_path)
        .iter()
        .map(|directory| directory.display().to_string())
        .collect::<Vec<_>>()
        // WINEPATH is a Windows search path: `;` between directories, Unix paths allowed.
        .join(";");
    let mut text = String::from("#!/bin/sh\n");
    let _ = writeln!(
        text,
        "# Written by archway: runs a `{config}` program with Wine in archway's own prefix."
    );
    let _ = writeln!(
        text,
        "WINEPREFIX={}",
        sh_quoted(&prefix.display().to_string())
    );
    // archway's build sandbox has the cache read-only and gives a writable prefix of its own.
    let _ = writeln!(
        text,
        "if [ -n \"${{ARCHWAY_WINEPREFIX:-}}\" ]; then WINEPREFIX=$ARCHWAY_WINEPREFIX; fi"
    );
    let _ = writeln!(text, "WINEDEBUG=-all");
    let _ = writeln!(text, "WINEPATH={}", sh_quoted(&dll_path));
    let _ = writeln!(text, "export WINEPREFIX WINEDEBUG WINEPATH");
    // Once per prefix, under a lock: `ctest -j` starts several programs at once, and each
    // would otherwise create the prefix (tens of seconds) and print Wine's notices.
    let _ = writeln!(text, "if [ ! -f \"$WINEPREFIX/system.reg\" ]; then");
    let _ = writeln!(
        text,
        "    flock \"$WINEPREFIX.lock\" sh -c '[ -f \"$WINEPREFIX/system.reg\" ] || \"$0\" --init >\"$WINEPREFIX.log\" 2>&1 || {{ cat \"$WINEPREFIX.log\" >&2; exit 1; }}' {} || exit 1",
        sh_quoted(&wineboot.display().to_string())
    );
    let _ = writeln!(text, "fi");
    let _ = writeln!(
        text,
        "exec {} \"$@\"",
        sh_quoted(&wine.display().to_string())
    );
    let path = directory.join(format!("run-{config}"));
    write_runner(&path, &text)?;
    Ok(path)
}

/// Where a MinGW program's runtime DLLs are: the toolchain's `lib` and `bin` (`libwinpthread-1.dll`)
/// and GCC's own directory of the thread model the default compiler uses
/// (`/usr/lib/gcc/x86_64-w64-mingw32/12-win32`: `libgcc_s_seh-1.dll`, `libstdc++-6.dll`).
fn mingw_dll_directories(
    target: &Platform,
    library_prefix: Option<&Path>,
    search_path: &OsStr,
) -> Vec<PathBuf> {
    let triple = target.canonical_config();
    // Without a prefix from the toolchain (a binfmt_misc runner), MinGW's Debian one.
    let prefix = library_prefix
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new("/usr").join(&triple));
    let mut directories = vec![prefix.join("bin"), prefix.join("lib")];
    // Debian's `<triple>-gcc` is an alternative for `-gcc-win32` or `-gcc-posix`; the runtime
    // DLLs of the two thread models differ, so take the one the compiler links against.
    let model = find_program(search_path, &format!("{triple}-gcc"))
        .and_then(|gcc| std::fs::canonicalize(gcc).ok())
        .and_then(|gcc| gcc.file_name().and_then(OsStr::to_str).map(str::to_string))
        .and_then(|name| {
            ["posix", "win32"]
                .into_iter()
                .find(|model| name.ends_with(&format!("-{model}")))
        });
    let gcc_directory = Path::new("/usr/lib/gcc").join(&triple);
    if let (Some(model), Ok(entries)) = (model, std::fs::read_dir(&gcc_directory)) {
        let mut versions: Vec<PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(OsStr::to_str)
                    .is_some_and(|name| name.ends_with(&format!("-{model}")))
            })
            .collect();
        versions.sort();
        directories.extend(versions.pop());
    }
    directories.retain(|directory| directory.is_dir());
    directories
}

/// Node.js's WASI preview 1 host: `node:wasi` with the program's arguments, the environment,
/// `/` and `.` preopened (wasi-libc resolves relative paths against the `.` preopen), and the
/// module's exit code as the process's (`returnOnExit`).
const NODE_WASI_SCRIPT: &str = r#"// Written by archway: runs a WASI (preview 1) module with Node.js's node:wasi.
import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { WASI } from 'node:wasi';

const [program, ...args] = process.argv.slice(2);
const wasi = new WASI({
  version: 'preview1',
  args: [program, ...args],
  env: process.env,
  preopens: { '/': '/', '.': '.' },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(program));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
"#;

fn wasi_runner(target: &Platform, cache_dir: &Path, search_path: &OsStr) -> Result<PathBuf, Error> {
    let directory = cache_dir.join("wasi");
    let mut text = String::from("#!/bin/sh\n# Written by archway: runs a WASI module.\n");
    if let Some(wasmtime) = find_program(search_path, "wasmtime") {
        let _ = writeln!(
            text,
            "exec {} run --dir=. \"$@\"",
            sh_quoted(&wasmtime.display().to_string())
        );
    } else if let Some(node) = find_program(search_path, "node") {
        let script = directory.join("run.mjs");
        write_runner(&script, NODE_WASI_SCRIPT)?;
        // `--no-warnings`: Node marks WASI experimental and would say so on every run.
        let _ = writeln!(
            text,
            "exec {} --no-warnings {} \"$@\"",
            sh_quoted(&node.display().to_string()),
            sh_quoted(&script.display().to_string())
        );
    } else {
        return Err(Error::EmulatorMissing {
            target: target.display_name(),
            emulator: "a WASI runtime (`wasmtime` or Node.js 20's `node`)".to_string(),
            install: "apt-get install nodejs".to_string(),
        });
    }
    let path = directory.join("run");
    write_runner(&path, &text)?;
    Ok(path)
}

/// Writes an executable file unless it already holds `text`: to a temporary name, then
/// `rename(2)`, so a program being started never sees half a runner.
fn write_runner(path: &Path, text: &str) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    if std::fs::read_to_string(path).is_ok_and(|existing| existing == text) {
        return Ok(());
    }
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    };
    let directory = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(directory).map_err(io("create", directory))?;
    let file_name = path.file_name().and_then(OsStr::to_str).unwrap_or("runner");
    let temporary = directory.join(format!(".{file_name}.{}", std::process::id()));
    std::fs::write(&temporary, text).map_err(io("write", &temporary))?;
    std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o755))
        .map_err(io("make executable", &temporary))?;
    std::fs::rename(&temporary, path).map_err(io("rename", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stub_bin(names: &[&str]) -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().expect("temp dir");
        for name in names {
            let path = bin.path().join(name);
            std::fs::write(&path, "#!/bin/sh\n").expect("stub");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        bin
    }

    fn request(cache: &Path) -> Request {
        Request {
            cache_dir: Some(cache.to_path_buf()),
            ..Request::default()
        }
    }

    #[test]
    fn windows_targets_run_through_a_wine_runner_with_archways_prefix() {
        let bin = stub_bin(&["wine", "wineboot"]);
        let cache = tempfile::tempdir().expect("cache");
        let target = Platform::parse("mingwW64").expect("mingwW64");
        let command = emulator_command(
            &target,
            &request(cache.path()),
            None,
            bin.path().as_os_str(),
        )
        .expect("wine");
        let runner = cache.path().join("wine/run-x86_64-w64-mingw32");
        assert_eq!(command, [runner.display().to_string()]);
        let text = std::fs::read_to_string(&runner).expect("runner");
        let prefix = cache.path().join("wine/x86_64-w64-mingw32");
        assert!(
            text.contains(&format!("WINEPREFIX='{}'\n", prefix.display())),
            "{text}"
        );
        assert!(text.contains("WINEDEBUG=-all\n"), "{text}");
        assert!(
            text.ends_with(&format!(
                "exec '{}' \"$@\"\n",
                bin.path().join("wine").display()
            )),
            "{text}"
        );
    }

    #[test]
    fn without_wine_the_error_names_debians_packages() {
        let bin = stub_bin(&[]);
        let cache = tempfile::tempdir().expect("cache");
        let target = Platform::parse("mingwW64").expect("mingwW64");
        let error = emulator_command(
            &target,
            &request(cache.path()),
            None,
            bin.path().as_os_str(),
        )
        .expect_err("no wine");
        assert_eq!(
            error.hint().as_deref(),
            Some("run `apt-get install wine wine64` as root")
        );
    }

    #[test]
    fn wasi_modules_run_with_node_when_wasmtime_is_missing_and_wasmtime_when_present() {
        let cache = tempfile::tempdir().expect("cache");
        let target = Platform::parse("wasi32").expect("wasi32");
        let node = stub_bin(&["node"]);
        let command = emulator_command(
            &target,
            &request(cache.path()),
            None,
            node.path().as_os_str(),
        )
        .expect("node");
        let runner = cache.path().join("wasi/run");
        assert_eq!(command, [runner.display().to_string()]);
        let text = std::fs::read_to_string(&runner).expect("runner");
        assert!(text.contains("--no-warnings"), "{text}");
        assert!(cache.path().join("wasi/run.mjs").is_file());

        let both = stub_bin(&["node", "wasmtime"]);
        emulator_command(
            &target,
            &request(cache.path()),
            None,
            both.path().as_os_str(),
        )
        .expect("wasmtime");
        let text = std::fs::read_to_string(&runner).expect("runner");
        assert!(text.contains("wasmtime' run --dir=. \"$@\""), "{text}");

        let none = stub_bin(&[]);
        let error = emulator_command(
            &target,
            &request(cache.path()),
            None,
            none.path().as_os_str(),
        )
        .expect_err("no runtime");
        assert_eq!(
            error.hint().as_deref(),
            Some("run `apt-get install nodejs` as root")
        );
    }

    #[test]
    fn a_target_no_emulator_runs_is_an_error_without_a_hint_to_install_qemu() {
        let bin = stub_bin(&["qemu-aarch64-static"]);
        let target = Platform::parse("aarch64-darwin").expect("darwin");
        let error = emulator_command(&target, &Request::default(), None, bin.path().as_os_str())
            .expect_err("darwin");
        assert!(matches!(error, Error::NotEmulable { .. }), "{error:?}");
    }
}
