//! `archway config show`: every resolved setting, with the file:line, variable or flag it came
//! from.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use archway::config::{Config, Flags, MethodRequest, Row, Settings};

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
    /// Resolve as if `--method` had been given (auto, native, cross, hybrid, emulated).
    #[arg(long, value_parser = parse_method)]
    pub method: Option<MethodRequest>,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// For `--method` flags: the library's names and messages.
pub fn parse_method(text: &str) -> Result<MethodRequest, String> {
    text.parse::<MethodRequest>().map_err(|_| {
        format!(
            "expected one of {}",
            MethodRequest::NAMES
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
