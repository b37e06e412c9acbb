//! `archway run --target X -- PROG ARGS...`: a foreign program under its emulator: QEMU user
//! mode for Linux programs, Wine for Windows programs, a WASI runtime for WASI modules.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::Context as _;
use archway_toolchain::{gnu_prefixes, Request, Sysroot};

use super::toolchain::search_path;
use crate::cli::Context;
use crate::report::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    target: String,
    /// Where the program's libraries and ELF interpreter are (QEMU `-L`); default: archway's
    /// sysroot for the target, else the cross toolchain's libc (`/usr/<triple>`).
    #[arg(long)]
    sysroot: Option<PathBuf>,
    /// QEMU CPU model (`-cpu`, like `QEMU_CPU`).
    #[arg(long)]
    qemu_cpu: Option<String>,
    /// An emulator to use instead of `qemu-<arch>-static` (Wine, the WASI runtime).
    #[arg(long)]
    emulator: Option<PathBuf>,
    /// Apply `[profile.NAME]` of `archway.toml`.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// The program and its arguments.
    #[arg(last = true, required = true, num_args = 1..)]
    command: Vec<OsString>,
}

pub fn run(args: Args, _context: &Context) -> anyhow::Result<ExitCode> {
    // `archway.toml` may set the emulator, the QEMU CPU and a sysroot for the target; the
    // flags win.
    let settings = super::config::settings_for(&args.target, args.profile.as_deref())?;
    let configured = settings.toolchain_request(&search_path());
    let target = settings.target.value.platform.clone();
    let runs_natively = archway_platform::host::Host::detect()
        .map(|host| host.runs_natively(&target))
        .unwrap_or(false);
    let (program, program_args) = args
        .command
        .split_first()
        .expect("clap requires at least one value");
    // QEMU takes a path, not a command name: resolve bare names on PATH like a shell does.
    let program = resolve_program(program)?;
    let program = program.as_os_str();
    let mut command = if runs_natively {
        Command::new(program)
    } else {
        let prefix = args
            .sysroot
            .clone()
            .or(configured.sysroot.clone())
            .or_else(|| library_prefix(&target));
        let request = Request {
            qemu_cpu: args.qemu_cpu.clone().or(configured.qemu_cpu.clone()),
            emulator: args.emulator.clone().or(configured.emulator.clone()),
            // Wine's prefix and the WASI runner live in the cache.
            cache_dir: configured.cache_dir.clone(),
            ..Request::default()
        };
        let emulator = archway_toolchain::emulator_command(
            &target,
            &request,
            prefix.as_deref(),
            &search_path(),
        )?;
        let mut command = Command::new(&emulator[0]);
        command.args(&emulator[1..]).arg(program);
        command
    };
    command.args(program_args);
    tracing::debug!(?command, "running");
    let status = command
        .status()
        .with_context(|| format!("could not run `{}`", program.to_string_lossy()))?;
    Ok(ExitCode::from(exit_code(status)))
}

fn resolve_program(program: &std::ffi::OsStr) -> anyhow::Result<PathBuf> {
    let path = PathBuf::from(program);
    let found = if path.components().count() > 1 {
        path.is_file().then_some(path)
    } else {
        archway_toolchain::find_program(&search_path(), &program.to_string_lossy())
    };
    found.ok_or_else(|| {
        Failure::user(
            format!("no program `{}`", program.to_string_lossy()),
            Some("give the path of a program built for the target (`./hello`)".to_string()),
        )
        .into()
    })
}

/// The program's own exit code; a signal becomes 128 + its number, as shells report it.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(2),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(2),
        (None, None) => 2,
    }
}

/// archway's sysroot for the target if it was filled, else Debian's cross libc directory.
fn library_prefix(target: &archway_platform::Platform) -> Option<PathBuf> {
    if let Some(cache) = archway::cache::cache_dir() {
        if let Ok(sysroot) = Sysroot::open(&cache, target) {
            if sysroot.exists() {
                return Some(sysroot.path());
            }
        }
    }
    gnu_prefixes(target)
        .into_iter()
        .map(|prefix| PathBuf::from("/usr").join(prefix))
        .find(|path| path.is_dir())
}
