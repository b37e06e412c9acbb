//! `archway config show`: every resolved setting, with the file:line, variable or flag it came
//! from.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use archway::config::{Config, Flags, Method, Row, Settings};

use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Subcommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum Subcommand {
    /// Show every resolved value and where it comes from (file:line, variable, flag, default).
    ///
    /// Precedence: flag > `ARCHWAY_*` variable > `archway.toml` (found by walking up from the
    /// working directory) > `$XDG_CONFIG_HOME/archway/config.toml` > default. Within the files,
    /// the selected `[profile.NAME]` beats `[target.NAME]`, which beats `[build]`.
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The target to resolve for (any name archway accepts: `arm64`, `riscv64-linux`...).
    /// Default: `ARCHWAY_TARGET`, `[build] target`, else the host.
    #[arg(long, short = 't')]
    pub target: Option<String>,
    /// Apply the `[profile.NAME]` section.
    #[arg(long, short = 'p')]
    pub profile: Option<String>,
    /// Resolve as if `--method` had been given (auto, native, cross, emulated).
    #[arg(long, value_parser = parse_method)]
    pub method: Option<Method>,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// For `--method` flags: the library's names and messages.
pub fn parse_method(text: &str) -> Result<Method, String> {
    text.parse::<Method>().map_err(|_| {
        format!(
            "expected one of {}",
            Method::NAMES
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

pub fn run(args: Args, _context: &Context) -> anyhow::Result<ExitCode> {
    match args.command {
        Subcommand::Show(args) => show(args),
    }
}

/// Loads the configuration for the current directory.
pub fn load() -> anyhow::Result<Config> {
    let working_dir = std::env::current_dir().context("cannot read the working directory")?;
    Ok(Config::load(&working_dir)?)
}

/// The host's platform: the target when nothing names one.
pub fn host_platform() -> anyhow::Result<archway::platform::Platform> {
    Ok(archway_platform::host::Host::detect()?.platform)
}

/// The settings for `target` (a name as the user wrote it) with `profile`, from the
/// configuration of the current directory: what commands that take `--target` build with.
pub fn settings_for(target: &str, profile: Option<&str>) -> anyhow::Result<Settings> {
    let config = load()?;
    let flags = Flags {
        target: Some(target.to_string()),
        profile: profile.map(str::to_string),
        ..Flags::default()
    };
    Ok(config.resolve(&flags, &host_platform()?)?)
}

/// The emulated environment for `key` (`--target`, `--suite`, `--packages`) under the
/// configuration: see [`emulated_key`]. A target named only as a Debian architecture gets no
/// configuration.
pub fn emulated_for(
    key: &super::rootfs::KeyArgs,
    profile: Option<&str>,
) -> anyhow::Result<(archway_rootfs::RootfsKey, Vec<(String, String)>)> {
    if archway::platform::Platform::parse(&key.target).is_err() {
        return Ok((key.key()?, Vec::new()));
    }
    let settings = settings_for(&key.target, profile)?;
    emulated_key(&settings, key.suite.as_deref(), &key.packages)
}

/// The root filesystem key and the variables inside for resolved `settings`: `suite` (a
/// flag) else the configuration's `rootfs-suite`; `packages` (flags) plus `rootfs-packages`
/// and the toolchain's packages (`gcc-11`, `g++-11`); `CC=gcc-11`, flags, `QEMU_CPU`, `env`.
pub fn emulated_key(
    settings: &Settings,
    suite: Option<&str>,
    packages: &[String],
) -> anyhow::Result<(archway_rootfs::RootfsKey, Vec<(String, String)>)> {
    let request = settings.emulated_request();
    let merged = super::rootfs::KeyArgs {
        target: settings.target.value.name.clone(),
        suite: suite.map(str::to_string).or(request.suite.clone()),
        packages: packages.iter().chain(&request.packages).cloned().collect(),
    };
    Ok((merged.key()?, request.env.into_iter().collect()))
}

fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let config = load()?;
    let flags = Flags {
        target: args.target,
        profile: args.profile,
        method: args.method,
        build_dir: None,
    };
    let settings = config.resolve(&flags, &host_platform()?)?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &json(&settings))?;
        writeln!(stdout)?;
    } else {
        let user_file = match (&settings.user_file, config.user_file_candidate()) {
            (Some(path), _) => path.display().to_string(),
            (None, Some(candidate)) => format!("(none: `{}` does not exist)", candidate.display()),
            (None, None) => "(none: neither `XDG_CONFIG_HOME` nor `HOME` is set)".to_string(),
        };
        let project_file = settings.project_file.as_ref().map_or_else(
            || "(none: no `archway.toml` here or in a parent directory)".to_string(),
            |path| path.display().to_string(),
        );
        writeln!(stdout, "project file: {project_file}")?;
        writeln!(stdout, "user file:    {user_file}\n")?;
        write!(stdout, "{}", table(&settings))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn json(settings: &Settings) -> serde_json::Value {
    serde_json::json!({
        "project_root": settings.project_root,
        "project_file": settings.project_file,
        "user_file": settings.user_file,
        "target": {
            "name": settings.target.value.name,
            "config": settings.target.value.platform.config(),
        },
        "values": settings.rows(),
    })
}

/// `KEY  VALUE  SOURCE`, aligned; unset values show as `-` (archway decides).
fn table(settings: &Settings) -> String {
    let mut out = String::new();
    let mut rows: Vec<Row> = settings.rows();
    // The build directory reads best relative to the project, where it usually is.
    if let Some(row) = rows.iter_mut().find(|row| row.key == "build-dir") {
        if let Ok(relative) = settings
            .build_dir
            .value
            .strip_prefix(&settings.project_root)
        {
            row.value = Some(relative.display().to_string());
        }
    }
    let cells: Vec<[String; 3]> =
        std::iter::once(["KEY".to_string(), "VALUE".to_string(), "SOURCE".to_string()])
            .chain(rows.into_iter().map(|row| {
                [
                    row.key,
                    row.value.unwrap_or_else(|| "-".to_string()),
                    row.source.to_string(),
                ]
            }))
            .collect();
    let key_width = cells.iter().map(|row| row[0].len()).max().unwrap_or(0);
    let value_width = cells
        .iter()
        .map(|row| row[1].chars().count())
        .max()
        .unwrap_or(0);
    // Padded by hand: `format!`'s `{:width$}` panics for widths above `u16::MAX`, and a
    // value (a long flag list) can be wider than that.
    let pad = |text: &str, width: usize, count: usize| {
        format!("{text}{}", " ".repeat(width.saturating_sub(count)))
    };
    for [key, value, source] in cells {
        let line = format!(
            "{}  {}  {source}",
            pad(&key, key_width, key.len()),
            pad(&value, value_width, value.chars().count())
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// What `archway build` and `archway test` take from the configuration: the target, the method,
/// the build directory and the toolchain, resolved for one target.
pub mod build {
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;
    use std::time::{Duration, Instant};

    use anyhow::Context as _;
    use archway::build::{execute, prepare, BuildRequest, Goal};
    use archway::config::{Config, Flags, Method, Settings, Source, Sourced};
    use archway::executor::{ChildOutput, HostExecutor};

    use crate::cli::Context;
    use crate::report::Failure;

    /// The configuration of the project in `directory` (found by walking up from it).
    pub fn load(directory: &Path) -> anyhow::Result<Config> {
        let directory = std::path::absolute(directory)
            .with_context(|| format!("resolving `{}`", directory.display()))?;
        Ok(Config::load(&directory)?)
    }

    /// A build request for the resolved `settings`. `build_dir_flag` (already absolute) beats
    /// the configured `[build] dir`, under which each target gets its own directory.
    pub fn request(
        directory: &Path,
        settings: &Settings,
        build_dir_flag: Option<PathBuf>,
        context: &Context,
    ) -> anyhow::Result<BuildRequest> {
        let platform = settings.target.value.platform.clone();
        let mut request = BuildRequest::new(directory, platform.clone());
        request.method = match settings.method() {
            Method::Auto => None,
            Method::Native => Some(archway::outcome::Method::Native),
            Method::Cross => Some(archway::outcome::Method::Cross),
            Method::Emulated => Some(archway::outcome::Method::Emulated),
        };
        request.build_dir = match build_dir_flag {
            Some(dir) => Some(dir),
            None if settings.build_dir.source != Source::Default => {
                Some(settings.build_dir.value.join(platform.config()))
            }
            None => None,
        };
        let search_path = std::env::var_os("PATH").unwrap_or_default();
        request.toolchain = settings.toolchain_request(&search_path);
        let packages = settings.sysroot_packages();
        // The emulated method takes its packages into the root filesystem instead.
        let uses_sysroot = matches!(request.method, None | Some(archway::outcome::Method::Cross));
        if !packages.is_empty() && uses_sysroot {
            if let Some(cache) = &request.cache_dir {
                let sysroot = archway_toolchain::Sysroot::open(cache, &platform)?;
                sysroot.add(&packages, &context.reporter())?;
            }
        }
        Ok(request)
    }

    /// One row of the `--all-targets` table.
    struct Row {
        target: String,
        method: String,
        result: &'static str,
        time: Duration,
        artifacts: String,
    }

    /// `archway build --all-targets`: every target of `[build] targets` in turn (a failure
    /// does not stop the others), then a table on stdout. The exit code is the first
    /// failure's, else 0.
    pub fn all_targets(
        directory: &Path,
        flags: &Flags,
        build_dir_flag: Option<PathBuf>,
        customize: &dyn Fn(&mut BuildRequest),
        emulated: &dyn Fn(
            &Settings,
            &archway::build::Plan,
        ) -> anyhow::Result<archway::emulated::SandboxExecutor>,
        context: &Context,
    ) -> anyhow::Result<ExitCode> {
        let config = load(directory)?;
        let Some(targets) = config.targets() else {
            let file = config.project_file().map_or_else(
                || config.project_root().join("archway.toml"),
                Path::to_path_buf,
            );
            return Err(Failure::user(
                "`--all-targets` needs a list of targets, and the configuration has none",
                Some(format!(
                    "add `targets = [\"aarch64\", \"riscv64\"]` under `[build]` in `{}`",
                    file.display()
                )),
            )
            .into());
        };
        let executor = HostExecutor {
            output: ChildOutput::ToStderr,
        };
        let reporter = context.reporter();
        let mut rows = Vec::new();
        let mut first_failure = None;
        for target in &targets.value {
            let started = Instant::now();
            let target_source = Sourced::new(target.clone(), targets.source.clone());
            let result = config
                .resolve_for(target_source, flags)
                .map_err(anyhow::Error::from)
                .and_then(|settings| {
                    let mut request =
                        request(directory, &settings, build_dir_flag.clone(), context)?;
                    customize(&mut request);
                    let plan = prepare(&request)?;
                    if !context.quiet {
                        eprintln!(
                            "building for `{}` ({} method: {})",
                            target.name, plan.method, plan.reason
                        );
                    }
                    if plan.method == archway::outcome::Method::Emulated {
                        // Inside the target's root filesystem, with the configuration's
                        // packages and variables (the host executor would use host compilers).
                        let sandbox = emulated(&settings, &plan)?;
                        return Ok(execute(&plan, Goal::Build, &sandbox, &reporter)?);
                    }
                    Ok(execute(&plan, Goal::Build, &executor, &reporter)?)
                });
            let row = match result {
                Ok(outcome) => Row {
                    target: target.name.clone(),
                    method: outcome.method.to_string(),
                    result: "ok",
                    time: started.elapsed(),
                    artifacts: artifacts(&outcome),
                },
                Err(error) => {
                    let code = crate::report::print(&error, context);
                    first_failure.get_or_insert(code);
                    Row {
                        target: target.name.clone(),
                        method: "-".to_string(),
                        result: "failed",
                        time: started.elapsed(),
                        artifacts: "-".to_string(),
                    }
                }
            };
            rows.push(row);
        }
        print!("{}", table(&rows));
        Ok(first_failure.unwrap_or(ExitCode::SUCCESS))
    }

    /// The artifacts' names relative to the build directory, or their count when many.
    fn artifacts(outcome: &archway::outcome::Outcome) -> String {
        let names: Vec<String> = outcome
            .artifacts
            .iter()
            .map(|artifact| {
                let path = artifact
                    .path
                    .strip_prefix(&outcome.build_dir)
                    .unwrap_or(&artifact.path);
                path.display().to_string()
            })
            .collect();
        match names.len() {
            0 => "none".to_string(),
            1..=3 => names.join(", "),
            count => format!("{count} files ({}, ...)", names[..2].join(", ")),
        }
    }

    fn table(rows: &[Row]) -> String {
        let cells: Vec<[String; 5]> = std::iter::once([
            "TARGET".to_string(),
            "METHOD".to_string(),
            "RESULT".to_string(),
            "TIME".to_string(),
            "ARTIFACTS".to_string(),
        ])
        .chain(rows.iter().map(|row| {
            [
                row.target.clone(),
                row.method.clone(),
                row.result.to_string(),
                format!("{:.1} s", row.time.as_secs_f64()),
                row.artifacts.clone(),
            ]
        }))
        .collect();
        let width = |column: usize| cells.iter().map(|row| row[column].len()).max().unwrap_or(0);
        let widths = [width(0), width(1), width(2), width(3)];
        let mut out = String::new();
        for row in &cells {
            let line = format!(
                "{:w0$}  {:w1$}  {:w2$}  {:>w3$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}
