//! `archway build`: configure and build the project for a target (or run a command in the
//! target's cross environment), then say what was built, with which toolchain, in how long.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use archway::build::Goal;
use archway::executor::ChildOutput;
use archway::outcome::Outcome;
use archway::project::BuildSystem;

use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Build every target of `[build] targets` in `archway.toml` in turn, then print a table:
    /// target, method, result, time, artifacts.
    #[arg(long, conflicts_with = "target")]
    pub all_targets: bool,
    /// Run this command in the target's cross environment instead of the project's build
    /// system (CC, CXX, AR, PKG_CONFIG_*, CMAKE_TOOLCHAIN_FILE, CONFIG_SITE... are set).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// The options `build` and `test` share.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// The platform to build for (`archway platform list` shows every name).
    /// Default: `ARCHWAY_TARGET`, else `[build] target` in `archway.toml`, else the host.
    #[arg(short, long)]
    pub target: Option<String>,
    /// Apply `[profile.NAME]` of `archway.toml`: its toolchain, flags, packages... for this
    /// build only (a target's section may also select one with `profile = "NAME"`).
    #[arg(short = 'p', long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The project directory.
    #[arg(
        short = 'C',
        long = "directory",
        value_name = "DIR",
        default_value = "."
    )]
    pub directory: PathBuf,
    /// How to build: `auto` (native when the host runs the target's programs, else cross when
    /// a cross toolchain (and sysroot) can serve, else hybrid, else emulated), `native`,
    /// `cross` (a cross toolchain), `hybrid` (the target's root filesystem with the compiler,
    /// shell and build tools running natively inside) or `emulated` (the target's root
    /// filesystem under QEMU, its own compiler). Default: `method` in `archway.toml`, else `auto`.
    #[arg(long, value_parser = crate::commands::config::parse_method)]
    pub method: Option<archway::method::MethodRequest>,
    /// Print the whole method decision (every method, why or why not, what would fix it).
    #[arg(long)]
    pub explain: bool,
    /// Register the binfmt_misc entry the hybrid and emulated methods need, if missing.
    #[arg(long)]
    pub setup: bool,
    /// Share the host's network inside the build sandbox (off by default).
    #[arg(long)]
    pub network: bool,
    /// Cross and native methods: run the project's steps directly on the host instead of in a
    /// bubblewrap sandbox (for trusted sources on a host without user namespaces).
    #[arg(long)]
    pub no_sandbox: bool,
    /// Let the project's steps write into its source tree (some test suites write there); with
    /// the cross and native methods as root they then run as root of their own user namespace,
    /// without capabilities (the emulated and hybrid methods' steps stay the sandbox's user).
    #[arg(long)]
    pub writable_source: bool,
    /// Hybrid and emulated methods: extra Debian packages in the root filesystem
    /// (comma-separated; a derived root filesystem, the base stays unchanged).
    #[arg(long, value_delimiter = ',', value_name = "PACKAGES")]
    pub packages: Vec<String>,
    /// Hybrid and emulated methods: the Debian suite of the root filesystem (`bookworm`, `trixie`).
    #[arg(long)]
    pub suite: Option<String>,
    /// The build directory; a relative one is from the current directory, as `cmake -B` takes
    /// it, not from `-C` (default: `build/archway/<target>` in the project).
    #[arg(long, value_name = "DIR")]
    pub build_dir: Option<PathBuf>,
    /// Use this build system instead of the detected one
    /// (cargo, meson, cmake, configure, make).
    #[arg(long, value_name = "NAME")]
    pub build_system: Option<BuildSystem>,
    /// An extra argument for the configure step (repeatable): `-DOPTION=ON` for CMake,
    /// `-Doption=value` for Meson, `--enable-x` for configure; for make and Cargo, an
    /// argument of the build command.
    #[arg(long = "configure-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub configure_args: Vec<String>,
    /// Parallel jobs (default: the number of CPUs).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Print the outcome as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Fail at once when another archway build uses the same build directory, instead of
    /// waiting for it to finish.
    #[arg(long)]
    pub no_wait: bool,
    /// Neither use nor fill the build cache: build for real (see `archway cache`).
    #[arg(long)]
    pub no_cache: bool,
}

impl Common {
    /// The operation's options for these flags (`command`: `-- CMD...`).
    pub fn options(
        &self,
        command: Vec<String>,
        context: &Context,
    ) -> anyhow::Result<archway::ops::BuildOptions> {
        let mut options = archway::ops::BuildOptions::new(&self.directory);
        options.flags = self.flags();
        options.build_dir = self.build_dir()?;
        options.build_system = self.build_system;
        options.output = if command.is_empty() {
            ChildOutput::ToStderr
        } else {
            ChildOutput::Inherit
        };
        options.command = command;
        options.configure_args = self.configure_args.clone();
        options.jobs = self.jobs;
        options.explain = self.explain;
        options.setup = self.setup;
        options.network = self.network;
        options.no_sandbox = self.no_sandbox;
        options.writable_source = self.writable_source;
        options.packages = self.packages.clone();
        options.suite = self.suite.clone();
        options.no_wait = self.no_wait;
        options.no_cache = self.no_cache;
        options.show_steps = context.verbose > 0 && !context.quiet;
        // `-q`: nothing but errors; the build's own output goes to a log the error names.
        options.quiet = context.quiet && options.command.is_empty();
        Ok(options)
    }

    /// What the configuration layer takes from the command line.
    pub fn flags(&self) -> archway::config::Flags {
        archway::config::Flags {
            target: self.target.clone(),
            profile: self.profile.clone(),
            method: self.method,
            build_dir: None,
        }
    }

    /// `--build-dir`, relative to where the user is, like `cmake -B`.
    pub fn build_dir(&self) -> anyhow::Result<Option<PathBuf>> {
        match &self.build_dir {
            Some(dir) => Ok(Some(
                std::path::absolute(dir).context("resolving `--build-dir`")?,
            )),
            None => Ok(None),
        }
    }
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let options = args.common.options(args.command, context)?;
    if args.all_targets {
        let results = archway::ops::build_all_targets(&options, &context.reporter())?;
        return Ok(all_targets_table(results, context));
    }
    run_goal(&args.common, &options, Goal::Build, context)
}

/// Runs `goal` through the operation, then prints the outcome.
pub fn run_goal(
    common: &Common,
    options: &archway::ops::BuildOptions,
    goal: Goal,
    context: &Context,
) -> anyhow::Result<ExitCode> {
    // One reporter for the build and the shared cache's transfers (their progress bars).
    let reporter = std::sync::Arc::new(context.reporter());
    let options = archway::ops::BuildOptions {
        transfer_progress: Some(archway::ops::TransferProgress(reporter.clone())),
        ..options.clone()
    };
    let outcome = archway::ops::build(&options, goal, reporter.as_ref())?;
    print_outcome(&outcome, common.json, context)?;
    Ok(ExitCode::SUCCESS)
}

/// The `--all-targets` table on stdout (target, method, result, time, artifacts); each failure
/// is reported as it would be alone. The exit code is the first failure's, else 0.
fn all_targets_table(results: Vec<archway::ops::TargetResult>, context: &Context) -> ExitCode {
    let mut first_failure = None;
    let mut cells = vec![[
        "TARGET".to_string(),
        "METHOD".to_string(),
        "RESULT".to_string(),
        "TIME".to_string(),
        "ARTIFACTS".to_string(),
    ]];
    for result in results {
        let time = format!("{:.1} s", result.time.as_secs_f64());
        let row = match result.result {
            Ok(outcome) => [
                result.target,
                outcome.method.to_string(),
                "ok".to_string(),
                time,
                artifacts(&outcome),
            ],
            Err(error) => {
                let code = crate::report::print(&anyhow::Error::from(error), context);
                first_failure.get_or_insert(code);
                [
                    result.target,
                    "-".to_string(),
                    "failed".to_string(),
                    time,
                    "-".to_string(),
                ]
            }
        };
        cells.push(row);
    }
    let width = |column: usize| cells.iter().map(|row| row[column].len()).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2), width(3)];
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
        println!("{}", line.trim_end());
    }
    first_failure.unwrap_or(ExitCode::SUCCESS)
}

/// The artifacts' names relative to the build directory, or their count when many.
fn artifacts(outcome: &Outcome) -> String {
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

fn print_outcome(outcome: &Outcome, json: bool, context: &Context) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut stdout, outcome)?;
        writeln!(stdout)?;
        return Ok(());
    }
    // The artifacts are the data: one per line on stdout, tab-separated.
    for artifact in &outcome.artifacts {
        let shown = artifact
            .path
            .strip_prefix(&outcome.build_dir)
            .unwrap_or(&artifact.path);
        writeln!(
            stdout,
            "{}\t{}\t{}",
            shown.display(),
            artifact.kind.name(),
            artifact.platform.as_deref().unwrap_or(&artifact.machine)
        )?;
    }
    if context.quiet {
        return Ok(());
    }
    let steps = step_times(&outcome.timings);
    let verb = match &outcome.tests {
        Some(archway::outcome::Tests::Passed) => "built and tested",
        Some(archway::outcome::Tests::None { .. }) => "built (no test suite to run)",
        None => "built",
    };
    match &outcome.cache {
        Some(cache) if cache.hit => eprintln!(
            "{verb} for `{}` with the {} method: restored from the build cache (key {}) in {:.2} s",
            outcome.target,
            outcome.method,
            cache.key,
            outcome.total.as_secs_f64(),
        ),
        _ => eprintln!(
            "{verb} for `{}` with the {} method in {:.1} s ({})",
            outcome.target,
            outcome.method,
            outcome.total.as_secs_f64(),
            steps.join(", ")
        ),
    }
    if let Some(toolchain) = &outcome.toolchain {
        eprintln!("toolchain: {toolchain}");
    }
    eprintln!(
        "{} artifact{} in `{}`",
        outcome.artifacts.len(),
        if outcome.artifacts.len() == 1 {
            ""
        } else {
            "s"
        },
        outcome.build_dir.display()
    );
    Ok(())
}

/// The time each kind of step took, for the summary line: consecutive steps of a kind as one
/// (`autoreconf` and `configure` are one configure), the copy of the source tree apart, and
/// `(up to date)` for a kind whose steps were all skipped.
fn step_times(timings: &[archway::outcome::Timing]) -> Vec<String> {
    let mut groups: Vec<(String, f64, bool)> = Vec::new();
    for timing in timings {
        let label = if timing.step == archway::steps::StepKind::Configure
            && timing.command.starts_with("copy ")
        {
            "copy".to_string()
        } else {
            timing.step.to_string()
        };
        let seconds = if timing.skipped {
            0.0
        } else {
            timing.duration.as_secs_f64()
        };
        match groups.last_mut() {
            Some((last, total, all_skipped)) if *last == label => {
                *total += seconds;
                *all_skipped &= timing.skipped;
            }
            _ => groups.push((label, seconds, timing.skipped)),
        }
    }
    groups
        .into_iter()
        .map(|(label, seconds, all_skipped)| {
            if all_skipped {
                format!("{label} (up to date)")
            } else {
                format!("{label} {seconds:.1} s")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway::outcome::Timing;
    use archway::steps::StepKind;
    use std::time::Duration;

    fn timing(step: StepKind, command: &str, seconds: f64, skipped: bool) -> Timing {
        Timing {
            step,
            command: command.to_string(),
            duration: Duration::from_secs_f64(seconds),
            skipped,
        }
    }

    #[test]
    fn the_summary_gives_each_kind_of_step_once_and_the_copy_apart() {
        // jq's first build: the copy, autoreconf and configure, then make and make check.
        let first = [
            timing(StepKind::Configure, "copy /p /p/build/source", 0.1, false),
            timing(
                StepKind::Configure,
                "autoreconf --force --install",
                7.4,
                false,
            ),
            timing(
                StepKind::Configure,
                "/p/build/source/configure",
                10.9,
                false,
            ),
            timing(StepKind::Build, "make -j2", 18.3, false),
            timing(StepKind::Test, "make check", 195.9, false),
        ];
        assert_eq!(
            step_times(&first),
            [
                "copy 0.1 s",
                "configure 18.3 s",
                "build 18.3 s",
                "test 195.9 s"
            ]
        );
        // Again: configure skipped, the copy synced.
        let again = [
            timing(StepKind::Configure, "copy /p /p/build/source", 0.0, false),
            timing(
                StepKind::Configure,
                "autoreconf --force --install",
                0.0,
                true,
            ),
            timing(StepKind::Configure, "/p/build/source/configure", 0.0, true),
            timing(StepKind::Build, "make -j2", 0.4, false),
        ];
        assert_eq!(
            step_times(&again),
            ["copy 0.0 s", "configure (up to date)", "build 0.4 s"]
        );
        assert!(step_times(&[]).is_empty());
    }
}
