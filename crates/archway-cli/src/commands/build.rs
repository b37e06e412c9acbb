//! `archway build`: configure and build the project for a target (or run a command in the
//! target's cross environment), then say what was built, with which toolchain, in how long.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use archway::build::{execute, prepare, BuildRequest, Goal};
use archway::executor::{ChildOutput, Executor, HostExecutor};
use archway::outcome::{Method, Outcome};
use archway::plan::MethodRequest;
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
    /// a cross toolchain is installed, else emulated), `native`, `cross` (a cross toolchain) or
    /// `emulated` (inside a Debian root filesystem of the target, under QEMU).
    /// Default: `method` in `archway.toml`, else `auto`.
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// Print the whole method decision (every method, why or why not, what would fix it).
    #[arg(long)]
    pub explain: bool,
    /// Register the binfmt_misc entry the emulated method needs, if missing.
    #[arg(long)]
    pub setup: bool,
    /// Emulated method: share the host's network inside the sandbox (off by default).
    #[arg(long)]
    pub network: bool,
    /// Emulated method: extra Debian packages in the root filesystem (comma-separated; a
    /// derived root filesystem, the base stays unchanged).
    #[arg(long, value_delimiter = ',', value_name = "PACKAGES")]
    pub packages: Vec<String>,
    /// Emulated method: the Debian suite of the root filesystem (`bookworm`, `trixie`).
    #[arg(long)]
    pub suite: Option<String>,
    /// The build directory (default: `build/archway/<target>` in the project).
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
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MethodArg {
    Auto,
    Native,
    Cross,
    Emulated,
}

impl Common {
    /// The library request for these options.
    /// The target, method, build directory and toolchain come from the configuration
    /// (`archway.toml`, the user file, `ARCHWAY_*`) with these flags on top.
    pub fn request(&self, command: Vec<String>, context: &Context) -> anyhow::Result<BuildRequest> {
        let settings = self.settings()?;
        let mut request =
            super::config::build::request(&self.directory, &settings, self.build_dir()?, context)?;
        self.customize(&mut request, command);
        Ok(request)
    }

    /// The configuration of the project (`-C DIR`) resolved for these flags: the target and
    /// everything `archway.toml`, the user file and `ARCHWAY_*` say for it.
    pub fn settings(&self) -> anyhow::Result<archway::config::Settings> {
        let config = super::config::build::load(&self.directory)?;
        let host = super::config::host_platform()?;
        Ok(config.resolve(&self.flags(), &host)?)
    }

    /// What the configuration layer takes from the command line.
    pub fn flags(&self) -> archway::config::Flags {
        archway::config::Flags {
            target: self.target.clone(),
            profile: self.profile.clone(),
            method: self.method.map(|method| match method {
                MethodArg::Auto => archway::config::Method::Auto,
                MethodArg::Native => archway::config::Method::Native,
                MethodArg::Cross => archway::config::Method::Cross,
                MethodArg::Emulated => archway::config::Method::Emulated,
            }),
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

    /// The options that are not configuration.
    pub fn customize(&self, request: &mut BuildRequest, command: Vec<String>) {
        request.build_system = self.build_system;
        request.jobs = self.jobs;
        request.configure_args = self.configure_args.clone();
        request.command = command;
    }
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    if args.all_targets {
        let common = &args.common;
        let customize =
            |request: &mut BuildRequest| common.customize(request, args.command.clone());
        let emulated = |settings: &archway::config::Settings, plan: &archway::build::Plan| {
            emulated_executor(common, settings, plan, ChildOutput::ToStderr, context)
        };
        return super::config::build::all_targets(
            &common.directory,
            &common.flags(),
            common.build_dir()?,
            &customize,
            &emulated,
            context,
        );
    }
    let request = args.common.request(args.command, context)?;
    run_goal(&args.common, request, Goal::Build, context)
}

/// The method for `request` (`None`: automatic): the automatic choice over this machine's
/// facts, or the method asked for (emulated: checked, so a missing piece gets its fix);
/// `--setup` steps run here.
fn choose_method(common: &Common, request: &BuildRequest) -> anyhow::Result<archway::plan::Plan> {
    let host = archway::platform::host::Host::detect()?;
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    let facts = archway::plan::Facts::gather(&request.target, &host, &search_path, false, false);
    let request_method = match request.method {
        None => MethodRequest::Auto,
        // Their own setup says precisely what is missing (the compiler names looked for).
        Some(method @ (Method::Native | Method::Cross)) => {
            return Ok(archway::plan::asked_for(method, &facts))
        }
        Some(method) => MethodRequest::Only(method),
    };
    let decision = match archway::plan::plan(request_method, &facts, common.setup) {
        Ok(decision) => decision,
        Err(unavailable) => {
            if common.explain {
                eprint!(
                    "{}",
                    archway::plan::explain(
                        &unavailable.target,
                        &facts.host,
                        unavailable.request,
                        &unavailable.decisions,
                        None
                    )
                );
            }
            return Err(archway::Error::NoMethod(unavailable).into());
        }
    };
    if common.explain {
        eprint!("{}", decision.explain());
    }
    for step in &decision.setup {
        match step {
            archway::plan::Setup::InstallBinfmt { qemu_name } => {
                crate::commands::rootfs::install_binfmt(qemu_name)?
            }
        }
    }
    Ok(decision)
}

/// The emulated method's executor: the root filesystem (created or derived when missing, with
/// `--packages`, `--suite` and the configuration's rootfs settings) and its sandbox.
pub fn emulated_executor(
    common: &Common,
    settings: &archway::config::Settings,
    plan: &archway::build::Plan,
    output: ChildOutput,
    context: &Context,
) -> anyhow::Result<archway::emulated::SandboxExecutor> {
    use crate::commands::rootfs;
    let mut packages = common.packages.clone();
    // The build system's own tool comes from the target's archive too (the buildd base has
    // make and gcc, not cmake, meson or cargo): a derived root filesystem, cached once.
    if let Some(recipe) = &plan.recipe {
        let (_, package) = recipe.build_system.driver();
        if package != "make" && !packages.iter().any(|existing| existing == package) {
            packages.push(package.to_string());
        }
    }
    let (key, variables) =
        crate::commands::config::emulated_key(settings, common.suite.as_deref(), &packages)?;
    rootfs::require_emulation(key.architecture, common.setup)?;
    let qemu = key.architecture.qemu_user();
    let mut environment =
        archway::emulated::Emulated::new(rootfs::store()?, key, &plan.project_dir);
    environment.network = common.network;
    environment.environment = variables;
    environment.extra_writable = vec![plan.build_dir.clone()];
    environment.interpreter_to_bind = archway::emulated::interpreter_to_bind(qemu);
    let rootfs = environment.ensure_rootfs(&context.reporter())?;
    Ok(archway::emulated::SandboxExecutor::new(
        &environment,
        &rootfs,
        output,
    ))
}

/// Prepares and runs `goal`, then prints the outcome.
pub fn run_goal(
    common: &Common,
    mut request: BuildRequest,
    goal: Goal,
    context: &Context,
) -> anyhow::Result<ExitCode> {
    let json = common.json;
    let reporter = context.reporter();
    let decision = choose_method(common, &request)?;
    request.method = Some(decision.method);
    let request = &request;
    let mut plan = prepare(request)?;
    plan.reason = decision.reason();
    if !context.quiet {
        let what = match &plan.project {
            Some(project) => format!(
                "{} project in `{}`",
                project.build_system,
                project.root.display()
            ),
            None => format!("`{}`", request.command.join(" ")),
        };
        eprintln!(
            "building {what} for `{}` ({} method: {})",
            plan.target.config(),
            plan.method,
            plan.reason
        );
        if let Some(project) = &plan.project {
            if !project.alternatives.is_empty() {
                let others: Vec<_> = project.alternatives.iter().map(|s| s.name()).collect();
                eprintln!(
                    "  also found: {} (choose with `--build-system NAME`)",
                    others.join(", ")
                );
            }
        }
        if let Some(toolchain) = &plan.toolchain {
            eprintln!("toolchain: {toolchain}");
        }
        if context.verbose > 0 {
            print_steps(&plan);
        }
    }
    let output = if plan.command.is_some() {
        ChildOutput::Inherit
    } else {
        ChildOutput::ToStderr
    };
    let outcome = if plan.method == Method::Emulated {
        let executor = emulated_executor(common, &common.settings()?, &plan, output, context)?;
        if !context.quiet {
            eprintln!("running in: {}", executor.describe());
        }
        execute(&plan, goal, &executor, &reporter)?
    } else {
        execute(&plan, goal, &HostExecutor { output }, &reporter)?
    };
    print_outcome(&outcome, json, context)?;
    Ok(ExitCode::SUCCESS)
}

/// `-v`: every step with the environment it adds, before anything runs.
fn print_steps(plan: &archway::build::Plan) {
    let steps = plan.recipe.iter().flat_map(|recipe| {
        recipe
            .configure
            .iter()
            .chain(&recipe.build)
            .chain(&recipe.test)
    });
    for step in steps.chain(&plan.command) {
        eprintln!("  {} step, in `{}`:", step.kind, step.dir.display());
        for (key, value) in &step.env {
            eprintln!("    {key}={}", archway::steps::shell_quote(value));
        }
        eprintln!("    {}", step.command_line());
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
    let steps: Vec<String> = outcome
        .timings
        .iter()
        .map(|timing| {
            if timing.skipped {
                format!("{} (up to date)", timing.step)
            } else {
                format!("{} {:.1} s", timing.step, timing.duration.as_secs_f64())
            }
        })
        .collect();
    let verb = if outcome.tested {
        "built and tested"
    } else {
        "built"
    };
    eprintln!(
        "{verb} for `{}` with the {} method in {:.1} s ({})",
        outcome.target,
        outcome.method,
        outcome.total.as_secs_f64(),
        steps.join(", ")
    );
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
