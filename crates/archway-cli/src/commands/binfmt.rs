//! `archway binfmt`: install, remove, inspect and export QEMU emulators registered with the
//! kernel's binfmt_misc, and the entries of Wine (`wine`: PE files) and the WASI runtime
//! (`wasm32-wasi`: WebAssembly modules).
//!
//! Data (status tables, `--json`, explanations, exports) goes to stdout; what happened to each
//! architecture during install/uninstall goes to stderr.
//!
//! For tests, `ARCHWAY_BINFMT_ROOT` points at a directory standing in for
//! `/proc/sys/fs/binfmt_misc` (writes have the kernel's effects, see `BinfmtFs::simulated`),
//! `ARCHWAY_BINFMT_RECORDS` at the ownership records and `ARCHWAY_BINFMT_PERSIST_DIR` at the
//! binfmt.d directory.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use archway_binfmt::export::{self, Format};
use archway_binfmt::interpreter::{self, Linkage, PreserveArgv0};
use archway_binfmt::magic::{self, QemuTarget};
use archway_binfmt::runtime::{self, RuntimeTarget};
use archway_binfmt::{
    BinfmtFs, Entry, FlagRequest, Handler, InstallOptions, InstallOutcome, Registration, Registry,
    Status,
};
use clap::Subcommand;
use serde::Serialize;

use crate::cli::Context;
use crate::report::Failure;

/// `println!` that never panics: stdout closed early (`archway binfmt status | head`) ends the
/// command quietly.
macro_rules! say {
    ($($arg:tt)*) => {
        emit(&format!("{}\n", format!($($arg)*)))
    };
}

fn emit(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {error}");
        std::process::exit(2);
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: BinfmtCommand,
}

#[derive(Debug, Subcommand)]
enum BinfmtCommand {
    /// Show binfmt_misc's state and every registered entry.
    Status {
        /// JSON: a superset of tonistiigi/binfmt's `{"supported": [...], "emulators": [...]}`.
        #[arg(long)]
        json: bool,
    },
    /// Register QEMU emulators (mounts binfmt_misc if needed).
    Install {
        /// Architectures (`aarch64`, `arm64`, `linux/arm/v7`, `riscv64-linux`, ...), comma- or
        /// space-separated, or `all`; `wine` (or `mingwW64`) and `wasi` (or `wasi32`) for the
        /// Windows and WASI entries.
        #[arg(value_name = "ARCH", required_unless_present_any = ["line", "from"])]
        architectures: Vec<String>,
        #[command(flatten)]
        flags: FlagArgs,
        /// Look for `qemu-<cpu>-static` / `qemu-<cpu>` only in this directory (default: PATH).
        #[arg(long, value_name = "DIR")]
        interpreter_dir: Option<PathBuf>,
        /// Also write /etc/binfmt.d/archway-<name>.conf so systemd-binfmt restores it at boot.
        #[arg(long)]
        persist: bool,
        /// Replace an entry of the same name that has another definition.
        #[arg(long)]
        force: bool,
        /// Register a raw line `:name:type:offset:magic:mask:interpreter:flags` (repeatable).
        #[arg(long, value_name = "LINE")]
        line: Vec<String>,
        /// Register every line of a binfmt.d(5) file.
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
    },
    /// Remove entries: the named ones (whoever made them), or with `--all` every entry archway
    /// installed.
    Uninstall {
        #[arg(
            value_name = "NAME",
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        names: Vec<String>,
        /// Every entry archway installed, and nothing else.
        #[arg(long)]
        all: bool,
    },
    /// Enable the named entries, or binfmt_misc as a whole.
    Enable {
        #[arg(value_name = "NAME")]
        names: Vec<String>,
    },
    /// Disable the named entries, or binfmt_misc as a whole.
    Disable {
        #[arg(value_name = "NAME")]
        names: Vec<String>,
    },
    /// Tell who runs FILE: the host, a binfmt_misc entry, a script interpreter, or nothing.
    Explain {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Print registrations for other tools: systemd binfmt.d, Debian update-binfmts, NixOS, raw.
    Export {
        #[arg(long, value_name = "FORMAT", value_parser = ["systemd", "debian", "nixos", "lines"])]
        format: String,
        #[arg(value_name = "ARCH", required = true)]
        architectures: Vec<String>,
        #[command(flatten)]
        flags: FlagArgs,
        /// Interpreter directory written into the registrations (default: where PATH has them,
        /// else /usr/bin).
        #[arg(long, value_name = "DIR")]
        interpreter_dir: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct FlagArgs {
    /// Pass argv[0] through (`P`): auto = when the QEMU and kernel support it.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "yes", "no"])]
    preserve_argv0: String,
    /// Let the kernel open the binary for QEMU (`O`).
    #[arg(long)]
    open_binary: bool,
    /// Run with the binary's credentials (`C`, implies `O`). Dangerous: a foreign setuid binary
    /// gives root to the interpreter.
    #[arg(long)]
    credentials: bool,
    /// Don't open the interpreter at registration (no `F`): chroots then need their own.
    #[arg(long)]
    no_fix_binary: bool,
    /// Also register the host's own CPU family.
    #[arg(long)]
    include_native: bool,
}

impl FlagArgs {
    fn request(&self) -> FlagRequest {
        FlagRequest {
            fix_binary: !self.no_fix_binary,
            preserve_argv0: match self.preserve_argv0.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            open_binary: self.open_binary,
            credentials: self.credentials,
        }
    }
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let registry = registry()?;
    let result = match args.command {
        BinfmtCommand::Status { json } => status(&registry, json),
        BinfmtCommand::Install {
            architectures,
            flags,
            interpreter_dir,
            persist,
            force,
            line,
            from,
        } => {
            let options = InstallOptions {
                interpreter_dir,
                persist,
                force,
                flags: flags.request(),
                include_native: flags.include_native,
                ..InstallOptions::default()
            };
            install(
                &registry,
                &architectures,
                &line,
                from.as_deref(),
                &options,
                context,
            )
        }
        BinfmtCommand::Uninstall { names, all } => uninstall(&registry, &names, all, context),
        BinfmtCommand::Enable { names } => switch(&registry, &names, true, context),
        BinfmtCommand::Disable { names } => switch(&registry, &names, false, context),
        BinfmtCommand::Explain { file, json } => explain(&registry, &file, json),
        BinfmtCommand::Export {
            format,
            architectures,
            flags,
            interpreter_dir,
        } => export(&registry, &format, &architectures, &flags, interpreter_dir),
    };
    result.map_err(with_sudo_hint)
}

/// Not root: say so and give the same command with `sudo`.
fn with_sudo_hint(error: anyhow::Error) -> anyhow::Error {
    let denied = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<archway_binfmt::Error>())
        .is_some_and(archway_binfmt::Error::is_permission_denied);
    if !denied {
        return error;
    }
    let arguments: Vec<String> = std::env::args()
        .skip(1)
        .map(|a| archway_platform::quote::sh_word(&a).into_owned())
        .collect();
    let message = error.to_string();
    anyhow::Error::new(Failure::user(
        message,
        Some(format!(
            "run it as root: `sudo archway {}`",
            arguments.join(" ")
        )),
    ))
}

fn registry() -> anyhow::Result<Registry> {
    let Some(root) = std::env::var_os("ARCHWAY_BINFMT_ROOT") else {
        return Ok(Registry::system());
    };
    let fs = BinfmtFs::simulated(PathBuf::from(root))?;
    let records = std::env::var_os("ARCHWAY_BINFMT_RECORDS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(archway_binfmt::SYSTEM_RECORDS));
    let persist = std::env::var_os("ARCHWAY_BINFMT_PERSIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(archway_binfmt::SYSTEM_PERSIST_DIR));
    let registry = Registry::new(
        fs,
        records,
        persist,
        interpreter::path_directories(),
        magic::host_family(),
        PreserveArgv0::detect(),
    );
    Ok(match archway_platform::host::Host::detect() {
        Ok(host) => registry.with_host(&host),
        Err(_) => registry,
    })
}

/// Resolves what the user typed: QEMU's own names first (`aarch64`, `ppc64le`, `mipsn32el`),
/// then every platform name the platform crate knows (`arm64`, `linux/arm/v7`, `riscv64-linux`).
fn resolve(architecture: &str) -> anyhow::Result<&'static QemuTarget> {
    if let Some(target) = magic::for_qemu(architecture) {
        return Ok(target);
    }
    let supported = magic::names().join(", ");
    let platform = archway_platform::Platform::parse(architecture).map_err(|error| {
        // The platform crate's suggestion ("did you mean ...") first, then what QEMU has.
        let suggestion = error
            .hint()
            .map(|hint| format!("{hint}; "))
            .unwrap_or_default();
        Failure::user(
            format!("unknown architecture `{architecture}` ({error})"),
            Some(format!("{suggestion}QEMU emulates: {supported}")),
        )
    })?;
    magic::for_platform(&platform).ok_or_else(|| {
        Failure::user(
            format!(
                "`{architecture}` ({}) has no QEMU user-mode emulator",
                platform.config()
            ),
            Some(format!("QEMU emulates: {supported}")),
        )
        .into()
    })
}

/// Takes out the words that name a non-QEMU entry: `wine`, `wasi`/`wasm32-wasi`, or a
/// platform Wine or the WASI runtime runs (`mingwW64`, `wasi32`). The rest are QEMU's.
fn split_runtimes(words: &[String]) -> (Vec<String>, Vec<&'static RuntimeTarget>) {
    let mut rest = Vec::new();
    let mut runtimes: Vec<&'static RuntimeTarget> = Vec::new();
    for word in words.iter().flat_map(|w| w.split(',')).map(str::trim) {
        let found = runtime::for_name(word).or_else(|| {
            let platform = archway_platform::Platform::parse(word).ok()?;
            runtime::for_platform(&platform)
        });
        match found {
            Some(target) if !runtimes.contains(&target) => runtimes.push(target),
            Some(_) => {}
            None => rest.push(word.to_string()),
        }
    }
    (rest, runtimes)
}

/// The interpreter of a non-QEMU entry: its program (`wine`, `wasmtime`) in `directory` or on
/// PATH, as Debian's and NixOS's entries name it; for WASI without wasmtime, archway's own
/// runner (Node.js's `node:wasi`) in the cache.
fn runtime_interpreter(
    target: &RuntimeTarget,
    directory: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let search_path = match directory {
        Some(directory) => directory.as_os_str().to_os_string(),
        None => std::env::var_os("PATH").unwrap_or_default(),
    };
    if let Some(found) = target
        .programs()
        .iter()
        .find_map(|program| archway_toolchain::find_program(&search_path, program))
    {
        return Ok(found);
    }
    if target.name() == runtime::WASI.name() {
        if let (Some(cache_dir), Ok(platform)) = (
            archway::cache::cache_dir(),
            archway_platform::Platform::parse("wasm32-wasi"),
        ) {
            if let Ok(runner) = archway_toolchain::runner(&platform, &cache_dir, None, &search_path)
            {
                return Ok(runner);
            }
        }
    }
    Err(Failure::user(
        format!(
            "interpreter missing: {}: no {} found",
            target.name(),
            target
                .programs()
                .iter()
                .map(|program| format!("`{program}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
        Some(format!("run `{}` as root", target.install_command())),
    )
    .into())
}

/// A non-QEMU entry with the flags asked for: `F` by default like QEMU's; `P` never (Wine and
/// wasmtime take the program as their first argument, not argv[0] after it).
fn runtime_registration(
    target: &RuntimeTarget,
    interpreter: PathBuf,
    request: &FlagRequest,
) -> anyhow::Result<Registration> {
    let flags = archway_binfmt::Flags {
        preserve_argv0: false,
        open_binary: request.open_binary || request.credentials,
        credentials: request.credentials,
        fix_binary: request.fix_binary,
    };
    let name = archway_binfmt::EntryName::new(target.name())?;
    Ok(target.registration(name, interpreter, flags)?)
}

/// `ARCH[,ARCH...]` words, or `all`: targets in QEMU's order, without repeats.
fn targets(words: &[String]) -> anyhow::Result<Vec<&'static QemuTarget>> {
    let mut targets: Vec<&'static QemuTarget> = Vec::new();
    for word in words.iter().flat_map(|w| w.split(',')).map(str::trim) {
        if word.is_empty() {
            continue;
        }
        if word == "all" {
            targets.extend(magic::all());
            continue;
        }
        targets.push(resolve(word)?);
    }
    let mut seen = std::collections::HashSet::new();
    targets.retain(|target| seen.insert(target.name()));
    Ok(targets)
}

#[derive(Debug, Serialize)]
struct EntryReport<'a> {
    name: &'a str,
    enabled: bool,
    interpreter: &'a Path,
    interpreter_exists: bool,
    interpreter_linkage: Linkage,
    flags: String,
    /// QEMU targets whose binaries this entry handles.
    emulates: Vec<&'static str>,
    /// Their OCI platforms.
    platforms: Vec<String>,
    owner: String,
    /// `type`, `offset`, `magic`, `mask` (hex) or `extension`.
    #[serde(flatten)]
    rule: &'a archway_binfmt::Rule,
    /// The registration line that recreates it.
    line: String,
}

#[derive(Debug, Serialize)]
struct StatusReport<'a> {
    /// OCI platforms this machine runs: natively or through an enabled entry.
    supported: Vec<String>,
    /// Names of every registered entry.
    emulators: Vec<&'a str>,
    root: &'a Path,
    mounted: bool,
    enabled: bool,
    entries: Vec<EntryReport<'a>>,
}

/// OCI platforms for a QEMU target name (through the platform crate).
fn oci_platforms(target: &QemuTarget) -> Vec<String> {
    archway_platform::Platform::parse(target.name())
        .ok()
        .and_then(|platform| platform.oci_platform())
        .into_iter()
        .collect()
}

fn status(registry: &Registry, json: bool) -> anyhow::Result<ExitCode> {
    let fs = registry.fs();
    let mounted = fs.is_mounted();
    let (entries, enabled) = if mounted {
        (fs.entries()?, fs.status()? == Status::Enabled)
    } else {
        (Vec::new(), false)
    };
    let reports: Vec<EntryReport> = entries
        .iter()
        .map(|entry| entry_report(registry, entry))
        .collect();

    let mut supported: Vec<String> = registry
        .native_targets()
        .iter()
        .flat_map(|t| oci_platforms(t))
        .collect();
    if enabled {
        for report in reports.iter().filter(|r| r.enabled) {
            supported.extend(report.platforms.iter().cloned());
        }
    }
    let mut seen = std::collections::HashSet::new();
    supported.retain(|platform| seen.insert(platform.clone()));

    let report = StatusReport {
        supported,
        emulators: entries.iter().map(|e| e.name().as_str()).collect(),
        root: fs.root(),
        mounted,
        enabled,
        entries: reports,
    };
    if json {
        say!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    if !mounted {
        say!("binfmt_misc: not mounted at {}", fs.root().display());
        eprintln!(
            "hint: `sudo archway binfmt install ARCH` mounts it, or `sudo mount -t binfmt_misc binfmt_misc {}`",
            fs.root().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "binfmt_misc: mounted at {}, {}",
        fs.root().display(),
        if enabled { "enabled" } else { "disabled" }
    );
    if report.entries.is_empty() {
        say!("no entries");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 6]> = report
        .entries
        .iter()
        .map(|e| {
            let interpreter = if !e.interpreter_exists {
                format!("{} (missing)", e.interpreter.display())
            } else {
                match e.interpreter_linkage {
                    Linkage::Static => format!("{} (static)", e.interpreter.display()),
                    Linkage::Dynamic => format!("{} (dynamic)", e.interpreter.display()),
                    Linkage::Unknown => e.interpreter.display().to_string(),
                }
            };
            [
                e.name.to_string(),
                if e.enabled { "enabled" } else { "disabled" }.to_string(),
                if e.emulates.is_empty() {
                    "-".to_string()
                } else {
                    e.emulates.join(",")
                },
                if e.flags.is_empty() {
                    "-".to_string()
                } else {
                    e.flags.clone()
                },
                e.owner.clone(),
                interpreter,
            ]
        })
        .collect();
    print_table(
        &["NAME", "STATE", "EMULATES", "FLAGS", "OWNER", "INTERPRETER"],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

fn entry_report<'a>(registry: &Registry, entry: &'a Entry) -> EntryReport<'a> {
    let interpreter = entry.registration.interpreter();
    let emulates = magic::emulated_by(entry.registration.rule());
    let runtimes = runtime::emulated_by(entry.registration.rule());
    EntryReport {
        name: entry.name().as_str(),
        enabled: entry.enabled,
        interpreter,
        interpreter_exists: interpreter.exists(),
        interpreter_linkage: interpreter::linkage(interpreter),
        flags: entry.registration.flags().to_string(),
        platforms: emulates.iter().flat_map(|t| oci_platforms(t)).collect(),
        emulates: emulates
            .iter()
            .map(|t| t.name())
            .chain(runtimes.iter().map(|t| t.name()))
            .collect(),
        owner: registry.owner(entry).to_string(),
        rule: entry.registration.rule(),
        line: entry.registration.render(),
    }
}

fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if index + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        say!("{}", text.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn install(
    registry: &Registry,
    architectures: &[String],
    lines: &[String],
    from: Option<&Path>,
    options: &InstallOptions,
    context: &Context,
) -> anyhow::Result<ExitCode> {
    // Validate everything the user typed before touching the kernel.
    let (architectures, runtimes) = split_runtimes(architectures);
    let architectures = &architectures[..];
    let targets = targets(architectures)?;
    let mut raw = Vec::new();
    for runtime in runtimes {
        let interpreter = runtime_interpreter(runtime, options.interpreter_dir.as_deref())?;
        raw.push(runtime_registration(runtime, interpreter, &options.flags)?);
    }
    for line in lines {
        raw.push(Registration::parse(line)?);
    }
    if let Some(file) = from {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            raw.push(
                Registration::parse(line)
                    .with_context(|| format!("in `{}` line {}", file.display(), number + 1))?,
            );
        }
    }
    if registry.ensure_mounted()? {
        note(
            context,
            &format!("mounted binfmt_misc at {}", registry.fs().root().display()),
        );
    }

    let mut problems = 0;
    let mut hint = None;
    // installed, already present, skipped as native
    let mut counts = (0, 0, 0);
    let many = targets.len() > 1;
    for target in targets {
        let outcome = registry.install_target(target, options)?;
        match &outcome {
            InstallOutcome::Installed { .. } => counts.0 += 1,
            InstallOutcome::AlreadyPresent { .. } => counts.1 += 1,
            InstallOutcome::SkippedNative { .. } => counts.2 += 1,
            _ => {}
        }
        let name = target.name();
        match &outcome {
            InstallOutcome::Installed {
                registration,
                replaced,
                persisted,
                warnings,
            } => {
                note(
                    context,
                    &format!(
                        "{name}: installed `{}` → {} (flags {})",
                        registration.name(),
                        registration.interpreter().display(),
                        flag_text(registration)
                    ),
                );
                if let Some(old) = replaced {
                    note(
                        context,
                        &format!(
                            "{name}: replaced the previous definition `{}`",
                            old.render()
                        ),
                    );
                }
                if let Some(path) = persisted {
                    note(context, &format!("{name}: persisted in {}", path.display()));
                }
                for warning in warnings {
                    eprintln!("warning: {name}: {warning}");
                }
            }
            InstallOutcome::AlreadyPresent {
                registration,
                persisted,
            } => {
                note(
                    context,
                    &format!(
                        "{name}: already present (`{}`, identical)",
                        registration.name()
                    ),
                );
                if let Some(path) = persisted {
                    note(context, &format!("{name}: persisted in {}", path.display()));
                }
            }
            InstallOutcome::Conflict {
                existing,
                differences,
                ..
            } => {
                problems += 1;
                eprintln!(
                    "conflict: {name}: `{}` is registered with another {} (interpreter {}, flags {}); left alone",
                    existing.name(),
                    differences.join(" and "),
                    existing.interpreter().display(),
                    flag_text(existing)
                );
                hint.get_or_insert_with(|| {
                    "`--force` replaces conflicting entries; `archway binfmt status` shows who owns them".to_string()
                });
            }
            InstallOutcome::InterpreterMissing {
                searched,
                install_command,
                ..
            } => {
                problems += 1;
                let searched: Vec<String> =
                    searched.iter().map(|p| p.display().to_string()).collect();
                eprintln!(
                    "interpreter missing: {name}: no `qemu-{}-static` or `qemu-{}` (looked in {})",
                    target.emulator_cpu(),
                    target.emulator_cpu(),
                    summarize(&searched)
                );
                hint = Some(format!("install QEMU's emulators: `{install_command}`"));
            }
            InstallOutcome::SkippedNative { family, .. } => {
                if !architectures.iter().any(|a| a == "all") {
                    note(
                        context,
                        &format!("{name}: skipped, this machine runs {name} binaries natively (QEMU family {family})"),
                    );
                }
            }
        }
    }
    if many {
        note(
            context,
            &format!(
                "{} installed, {} already present, {} not installed, {} run natively",
                counts.0, counts.1, problems, counts.2
            ),
        );
    }
    for registration in raw {
        let name = registration.name().to_string();
        match registry.install_registration(registration, Vec::new(), options)? {
            InstallOutcome::Installed { persisted, .. } => {
                note(context, &format!("`{name}`: installed"));
                if let Some(path) = persisted {
                    note(
                        context,
                        &format!("`{name}`: persisted in {}", path.display()),
                    );
                }
            }
            InstallOutcome::AlreadyPresent { .. } => {
                note(context, &format!("`{name}`: already present (identical)"))
            }
            InstallOutcome::Conflict { differences, .. } => {
                problems += 1;
                eprintln!(
                    "conflict: `{name}` is registered with another {}; left alone",
                    differences.join(" and ")
                );
                hint.get_or_insert_with(|| "`--force` replaces conflicting entries".to_string());
            }
            other => tracing::debug!(?other, "unexpected outcome for a raw line"),
        }
    }
    if problems > 0 {
        return Err(
            Failure::user(format!("{problems} architecture(s) not installed"), hint).into(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn summarize(paths: &[String]) -> String {
    if paths.len() <= 4 {
        paths.join(", ")
    } else {
        format!("{}, ... ({} places)", paths[..3].join(", "), paths.len())
    }
}

fn flag_text(registration: &Registration) -> String {
    let flags = registration.flags().to_string();
    if flags.is_empty() {
        "none".to_string()
    } else {
        flags
    }
}

fn note(context: &Context, message: &str) {
    if !context.quiet {
        eprintln!("{message}");
    }
}

fn uninstall(
    registry: &Registry,
    names: &[String],
    all: bool,
    context: &Context,
) -> anyhow::Result<ExitCode> {
    registry.fs().require_mounted()?;
    if all {
        let removed = registry.uninstall_owned()?;
        if removed.is_empty() {
            note(context, "no entries installed by archway");
        }
        for name in removed {
            note(context, &format!("removed `{name}`"));
        }
        return Ok(ExitCode::SUCCESS);
    }
    for name in names {
        let owned = registry
            .fs()
            .entry(name)?
            .is_some_and(|entry| registry.is_owned(&entry));
        registry.uninstall(name)?;
        if owned {
            note(context, &format!("removed `{name}`"));
        } else {
            note(
                context,
                &format!("removed `{name}` (not installed by archway)"),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn switch(
    registry: &Registry,
    names: &[String],
    enabled: bool,
    context: &Context,
) -> anyhow::Result<ExitCode> {
    let word = if enabled { "enabled" } else { "disabled" };
    if names.is_empty() {
        registry.set_status(if enabled {
            Status::Enabled
        } else {
            Status::Disabled
        })?;
        note(context, &format!("binfmt_misc {word}"));
        return Ok(ExitCode::SUCCESS);
    }
    for name in names {
        registry.set_enabled(name, enabled)?;
        note(context, &format!("`{name}` {word}"));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct Explanation<'a> {
    file: &'a Path,
    /// The QEMU targets whose header this is.
    architecture: Vec<&'static str>,
    #[serde(flatten)]
    handler: &'a Handler,
    /// What to run to make it work, when nothing handles it.
    fix: Option<String>,
}

fn explain(registry: &Registry, file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let mut header = Vec::with_capacity(256);
    std::fs::File::open(file)
        .and_then(|f| f.take(256).read_to_end(&mut header))
        .with_context(|| format!("cannot read `{}`", file.display()))?;
    let handler = registry
        .fs()
        .handler_for(&registry.native_targets(), &header, file)?;
    let mut padded = header.clone();
    padded.resize(64.max(padded.len()), 0);
    let architecture: Vec<&'static str> = magic::all()
        .iter()
        .filter(|target| target.rule().matches(&padded, None))
        .map(|target| target.name())
        .collect();
    let fix = match (&handler, architecture.first()) {
        (Handler::None, Some(target)) => Some(format!("sudo archway binfmt install {target}")),
        _ => None,
    };
    if json {
        let explanation = Explanation {
            file,
            architecture: architecture.clone(),
            handler: &handler,
            fix,
        };
        say!("{}", serde_json::to_string_pretty(&explanation)?);
        return Ok(ExitCode::SUCCESS);
    }
    let kind = match architecture.first() {
        Some(target) => format!("ELF program for {target}"),
        None if header.starts_with(b"\x7fELF") => {
            "an ELF file of an architecture QEMU does not emulate".to_string()
        }
        None => "not an ELF program".to_string(),
    };
    say!("{}: {kind}", file.display());
    match &handler {
        Handler::Entry {
            name,
            interpreter,
            also_matching,
        } => {
            say!(
                "handled by binfmt_misc entry `{name}`: {}",
                interpreter.display()
            );
            if !also_matching.is_empty() {
                let names: Vec<String> = also_matching.iter().map(|n| format!("`{n}`")).collect();
                say!(
                    "also matching, but registered earlier (by directory order): {}",
                    names.join(", ")
                );
            }
        }
        Handler::Native => say!("runs natively"),
        Handler::Script { interpreter } => say!("a script: runs with `{interpreter}`"),
        Handler::None => {
            say!("nothing handles it: running it fails with ENOEXEC (exec format error)");
            if let Some(fix) = fix {
                say!("to run it: `{fix}`");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn export(
    registry: &Registry,
    format: &str,
    architectures: &[String],
    flags: &FlagArgs,
    interpreter_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let format: Format = format.parse().map_err(|e: String| Failure::user(e, None))?;
    let options = InstallOptions {
        interpreter_dir: interpreter_dir.clone(),
        flags: flags.request(),
        ..InstallOptions::default()
    };
    let mut registrations = Vec::new();
    let (architectures, runtimes) = split_runtimes(architectures);
    for runtime in runtimes {
        // Exports are often for another machine: the usual path when this one has none.
        let interpreter =
            runtime_interpreter(runtime, interpreter_dir.as_deref()).unwrap_or_else(|_| {
                interpreter_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("/usr/bin"))
                    .join(runtime.programs()[0])
            });
        registrations.push(runtime_registration(
            runtime,
            interpreter,
            &flags.request(),
        )?);
    }
    for target in targets(&architectures)? {
        if !flags.include_native && registry.runs_natively(target) {
            continue;
        }
        let registration = match registry.planned(target, &options)? {
            Ok((registration, _)) => registration,
            // Exports are often for another machine: name the usual path.
            Err(_) => {
                let directory = interpreter_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("/usr/bin"));
                let name = archway_binfmt::EntryName::new(target.entry_name())?;
                let request = flags.request();
                let flags = archway_binfmt::Flags {
                    preserve_argv0: request.preserve_argv0.unwrap_or(false),
                    open_binary: request.open_binary || request.credentials,
                    credentials: request.credentials,
                    fix_binary: request.fix_binary,
                };
                target.registration(
                    name,
                    directory.join(format!("qemu-{}-static", target.emulator_cpu())),
                    flags,
                )?
            }
        };
        registrations.push(registration);
    }
    emit(&export::render(format, &registrations));
    Ok(ExitCode::SUCCESS)
}
