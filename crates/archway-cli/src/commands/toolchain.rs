//! `archway toolchain list|install|files`: the cross toolchains on this machine.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use archway_platform::Platform;
use archway_toolchain::{Family, Linker, Request, Toolchain};

use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Subcommand,
}

#[derive(Debug, clap::Subcommand)]
enum Subcommand {
    /// List the cross toolchains on PATH, with their version and the targets each serves.
    List {
        /// Only toolchains that build for this target.
        #[arg(long)]
        target: Option<String>,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Install the distribution's cross toolchain for a target (apt-get, as root).
    #[command(disable_version_flag = true)]
    Install {
        #[arg(long)]
        target: String,
        /// `gcc` (the default) or `clang`.
        #[arg(long)]
        family: Option<Family>,
        /// A compiler version (`11`, `12`).
        #[arg(long)]
        version: Option<String>,
        /// Print the command instead of running it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a CMake toolchain file, a Meson cross file, an autoconf config.site and a Cargo
    /// config for a target.
    #[command(disable_version_flag = true)]
    Files {
        #[arg(long)]
        target: String,
        /// The directory to write them into (created if missing).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        request: RequestArgs,
        /// Print the paths as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What a user can ask of the toolchain on the command line (`archway.toml` can say more).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RequestArgs {
    /// Compiler family: `gcc` or `clang`.
    #[arg(long)]
    pub family: Option<Family>,
    /// Compiler version (`11`, `12`).
    #[arg(long)]
    pub version: Option<String>,
    /// Linker: `bfd`, `gold`, `lld` or `mold`.
    #[arg(long)]
    pub linker: Option<Linker>,
    /// A sysroot of your own (instead of archway's for the target).
    #[arg(long)]
    pub sysroot: Option<PathBuf>,
    /// QEMU CPU model for running target programs (`QEMU_CPU`).
    #[arg(long)]
    pub qemu_cpu: Option<String>,
    /// Apply `[profile.NAME]` of `archway.toml` (the target's own section applies anyway).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

impl RequestArgs {
    /// The platform and the request for `target`: the configuration's settings for it
    /// (`archway.toml`, the user file, `ARCHWAY_*`), with these flags on top.
    pub fn resolve(&self, target: &str) -> anyhow::Result<(Platform, Request)> {
        let settings = super::config::settings_for(target, self.profile.as_deref())?;
        let mut request = settings.toolchain_request(&search_path());
        let flags = self.request();
        if flags.family.is_some() {
            // A family on the command line replaces the configured toolchain, version included.
            request.family = flags.family;
            request.version = None;
        }
        request.version = flags.version.or(request.version);
        request.linker = flags.linker.or(request.linker);
        request.sysroot = flags.sysroot.or(request.sysroot);
        request.qemu_cpu = flags.qemu_cpu.or(request.qemu_cpu);
        Ok((settings.target.value.platform, request))
    }

    pub fn request(&self) -> Request {
        Request {
            family: self.family,
            version: self.version.clone(),
            linker: self.linker,
            sysroot: self.sysroot.clone(),
            qemu_cpu: self.qemu_cpu.clone(),
            ..Request::default()
        }
    }
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    match args.command {
        Subcommand::List { target, json } => list(target.as_deref(), json, context.verbose > 0),
        Subcommand::Install {
            target,
            family,
            version,
            dry_run,
        } => install(&target, family, version.as_deref(), dry_run, context),
        Subcommand::Files {
            target,
            out,
            request,
            json,
        } => {
            let (platform, request) = request.resolve(&target)?;
            files(&platform, &out, &request, json)
        }
    }
}

pub(crate) fn parse_target(name: &str) -> anyhow::Result<Platform> {
    Ok(Platform::parse(name)?)
}

pub(crate) fn search_path() -> std::ffi::OsString {
    std::env::var_os("PATH").unwrap_or_default()
}

/// `full_paths` (`-v`): the compiler's path instead of its name.
fn list(target: Option<&str>, json: bool, full_paths: bool) -> anyhow::Result<ExitCode> {
    let target = target.map(parse_target).transpose()?;
    let toolchains: Vec<Toolchain> = archway_toolchain::discover(&search_path())
        .into_iter()
        .filter(|toolchain| {
            target
                .as_ref()
                .is_none_or(|target| toolchain.serves(target))
        })
        .collect();
    if json {
        let value: Vec<serde_json::Value> = toolchains
            .iter()
            .map(|toolchain| {
                let mut value = serde_json::to_value(toolchain).unwrap_or_default();
                if let Some(object) = value.as_object_mut() {
                    object.insert("target".into(), toolchain.target.canonical_config().into());
                }
                value
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    if toolchains.is_empty() {
        let (what, hint_target) = match &target {
            Some(target) => (
                format!(" for `{}`", target.display_name()),
                target.display_name(),
            ),
            None => (String::new(), "aarch64-multiplatform".to_string()),
        };
        eprintln!("no cross toolchains{what} found on PATH");
        eprintln!("hint: run `archway toolchain install --target {hint_target}`");
        return Ok(ExitCode::SUCCESS);
    }
    // One row per compiler: clang serves many targets.
    let mut rows: Vec<(String, String, String, Vec<String>)> = Vec::new();
    for toolchain in &toolchains {
        let name = if full_paths {
            toolchain.cc.display().to_string()
        } else {
            toolchain
                .cc
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let target = toolchain.target.canonical_config();
        match rows
            .iter_mut()
            .find(|row| row.0 == name && row.2 == toolchain.version)
        {
            Some(row) => row.3.push(target),
            None => rows.push((
                name,
                toolchain.family.to_string(),
                toolchain.version.clone(),
                vec![target],
            )),
        }
    }
    let width = rows.iter().map(|row| row.0.len()).max().unwrap_or(0).max(8);
    println!(
        "{:width$}  {:6} {:8} TARGETS",
        "COMPILER", "FAMILY", "VERSION"
    );
    for (name, family, version, targets) in rows {
        println!(
            "{name:width$}  {family:6} {version:8} {}",
            targets.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn install(
    target: &str,
    family: Option<Family>,
    version: Option<&str>,
    dry_run: bool,
    context: &Context,
) -> anyhow::Result<ExitCode> {
    let target = parse_target(target)?;
    let plan = archway_toolchain::install_plan(&target, family, version)?;
    if dry_run {
        println!("{}", plan.command.join(" "));
        for note in &plan.notes {
            eprintln!("note: {note}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let reporter = context.reporter();
    archway_toolchain::install(&plan, &reporter)
        .with_context(|| format!("cannot install a toolchain for `{}`", target.display_name()))?;
    let request = Request {
        family,
        version: version.map(str::to_string),
        ..Request::default()
    };
    match archway_toolchain::select(&target, &request, &search_path()) {
        Ok(toolchain) => eprintln!(
            "installed: {} {} ({})",
            toolchain.family,
            toolchain.version,
            toolchain.cc.display()
        ),
        Err(error) => eprintln!("installed {}, but: {error}", plan.packages.join(" ")),
    }
    for note in &plan.notes {
        eprintln!("note: {note}");
    }
    Ok(ExitCode::SUCCESS)
}

fn files(
    target: &Platform,
    out: &std::path::Path,
    request: &Request,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let cache = archway::cache::cache_dir();
    let mut env = archway_toolchain::CrossEnv::for_target(target, request, cache.as_deref())?;
    let files = archway_toolchain::write_files(&env, out)?;
    env.set_files(&files);
    if json {
        println!("{}", serde_json::to_string_pretty(&files)?);
    } else {
        for path in [
            &files.cmake_toolchain,
            &files.meson_cross,
            &files.config_site,
            &files.cargo_config,
        ] {
            println!("{}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
