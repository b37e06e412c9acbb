//! Operations: what the CLI's commands do, as library calls (like cargo's `ops`). Each loads
//! the configuration for the project, resolves it for the target, builds a
//! [`BuildRequest`], and lets the planner and the chosen backend do the rest; the CLI parses,
//! calls one operation and prints. Messages for people go through the [`Reporter`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use archway_platform::Reporter;

use crate::build::{execute, prepare, BuildRequest, Goal, Prepared};
use crate::build_cache::{self, BuildCache};
use crate::config::{Config, Flags, Settings, Source, Sourced};
use crate::executor::ChildOutput;
use crate::outcome::{Outcome, Tests};
use crate::project::BuildSystem;
use crate::Error;

/// What `archway build` and `archway test` take from the command line.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The project directory (`-C DIR`).
    pub directory: PathBuf,
    /// What the configuration layer takes from the flags (target, profile, method).
    pub flags: Flags,
    /// `--build-dir` (absolute): beats the configured `[build] build-dir`.
    pub build_dir: Option<PathBuf>,
    pub build_system: Option<BuildSystem>,
    /// `-- COMMAND...`: run this instead of the project's build system.
    pub command: Vec<String>,
    pub configure_args: Vec<String>,
    pub jobs: Option<usize>,
    /// Report every method's verdict.
    pub explain: bool,
    /// Register a missing binfmt_misc entry.
    pub setup: bool,
    /// Share the host's network inside a root filesystem.
    pub network: bool,
    /// `--no-sandbox`: the cross and native methods run the steps directly on the host.
    pub no_sandbox: bool,
    /// `--writable-source`: the cross and native methods' steps may write into the project.
    pub writable_source: bool,
    /// `--packages`: extra packages in the root filesystem.
    pub packages: Vec<String>,
    /// `--suite`: the root filesystem's suite.
    pub suite: Option<String>,
    /// Report each step (program, arguments, environment) before anything runs (`-v`).
    pub show_steps: bool,
    /// `-q`: the build's own output goes to `<build dir>/.archway/build.log`, not the terminal.
    pub quiet: bool,
    pub output: ChildOutput,
    /// `--no-wait`: fail at once when another build holds the build directory.
    pub no_wait: bool,
    /// `--no-cache`: neither read nor fill the build cache.
    pub no_cache: bool,
    /// `archway test --rerun`: run the tests even when this build passed them before.
    pub rerun: bool,
    /// Shows the shared cache's uploads and downloads of large entries (the CLI gives its
    /// progress reporter); `None`: they are not shown.
    pub transfer_progress: Option<TransferProgress>,
}

/// A reporter the shared cache keeps for its transfers (it outlives one call, so it is shared).
#[derive(Clone)]
pub struct TransferProgress(pub std::sync::Arc<dyn Reporter>);

impl std::fmt::Debug for TransferProgress {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("TransferProgress")
    }
}

impl BuildOptions {
    pub fn new(directory: impl Into<PathBuf>) -> BuildOptions {
        BuildOptions {
            directory: directory.into(),
            flags: Flags::default(),
            build_dir: None,
            build_system: None,
            command: Vec::new(),
            configure_args: Vec::new(),
            jobs: None,
            explain: false,
            setup: false,
            network: false,
            no_sandbox: false,
            writable_source: false,
            packages: Vec::new(),
            suite: None,
            show_steps: false,
            quiet: false,
            output: ChildOutput::ToStderr,
            no_wait: false,
            no_cache: false,
            rerun: false,
            transfer_progress: None,
        }
    }
}

/// The configuration of the project in `directory` (found by walking up from it).
pub fn load(directory: &Path) -> Result<Config, Error> {
    let directory = std::path::absolute(directory).map_err(|source| Error::Io {
        action: "resolve",
        path: directory.to_path_buf(),
        source,
    })?;
    Ok(Config::load(&directory)?)
}

/// The host's platform: the target when nothing names one.
pub fn host_platform() -> Result<archway_platform::Platform, Error> {
    Ok(archway_platform::host::Host::detect()?.platform)
}

/// The configuration of `options.directory` resolved for its flags.
pub fn settings(options: &BuildOptions) -> Result<Settings, Error> {
    Ok(load(&options.directory)?.resolve(&options.flags, &host_platform()?)?)
}

/// The library request for resolved `settings` with `options` on top.
pub fn request(options: &BuildOptions, settings: &Settings) -> BuildRequest {
    let platform = settings.target.value.platform.clone();
    let mut request = BuildRequest::new(&options.directory, platform.clone());
    request.method = settings.method();
    request.build_dir = match &options.build_dir {
        Some(dir) => Some(dir.clone()),
        None if settings.build_dir.source != Source::Default => {
            Some(settings.build_dir.value.join(platform.config()))
        }
        None => None,
    };
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    request.toolchain = settings.toolchain_request(&search_path);
    request.sysroot_packages = settings.sysroot_packages();
    let emulated = settings.emulated_request();
    let configured_packages = settings
        .overrides
        .rootfs_packages
        .as_ref()
        .filter(|packages| !packages.value.is_empty());
    request.wants_rootfs = if !options.packages.is_empty() {
        Some("`--packages`".to_string())
    } else if options.suite.is_some() {
        Some("`--suite`".to_string())
    } else {
        configured_packages.map(|packages| format!("`rootfs-packages` from {}", packages.source))
    };
    request.rootfs = crate::backend::RootfsRequest {
        suite: options.suite.clone().or(emulated.suite),
        packages: options
            .packages
            .iter()
            .chain(&emulated.packages)
            .cloned()
            .collect(),
        env: emulated.env,
        network: options.network,
        unsandboxed: options.no_sandbox,
        writable_source: options.writable_source,
        setup: options.setup,
        upstream: None,
        sysroot_upstream: None,
    };
    request.build_system = options.build_system;
    request.command = options.command.clone();
    request.configure_args = options.configure_args.clone();
    request.jobs = options.jobs;
    request.output = options.output.clone();
    if options.quiet {
        let project_dir =
            std::path::absolute(&options.directory).unwrap_or_else(|_| options.directory.clone());
        let build_dir =
            crate::build::build_dir_for(&project_dir, &platform, request.build_dir.as_deref());
        // Emptied once the build directory is this build's (see `run`).
        request.output = ChildOutput::Log(build_dir.join(".archway").join("build.log"));
    } else if request.output == ChildOutput::ToStderr && request.command.is_empty() {
        // The output goes to the terminal and into the same log, so that a failed step's
        // missing dependency can be named ([`crate::missing`]).
        let project_dir =
            std::path::absolute(&options.directory).unwrap_or_else(|_| options.directory.clone());
        let build_dir =
            crate::build::build_dir_for(&project_dir, &platform, request.build_dir.as_deref());
        request.output = ChildOutput::Tee(build_dir.join(".archway").join("build.log"));
    }
    request.explain = options.explain;
    request.lock = if options.no_wait {
        crate::lock::LockWait::Fail
    } else {
        crate::lock::LockWait::Wait
    };
    request
}

/// `archway build` / `archway test` for the configured (or given) target.
pub fn build(
    options: &BuildOptions,
    goal: Goal,
    reporter: &dyn Reporter,
) -> Result<Outcome, Error> {
    let config = load(&options.directory)?;
    let settings = config.resolve(&options.flags, &host_platform()?)?;
    let cache = config.cache()?;
    let retry_in = |copy: PathBuf, build_dir: PathBuf| {
        let mut retry = options.clone();
        retry.directory = copy;
        retry.build_dir = Some(build_dir);
        retry.writable_source = true;
        retry
    };
    let copies = options.command.is_empty() && !options.writable_source && !options.no_sandbox;
    if copies {
        // An earlier build went to the copy: this one does too, with the project's changes.
        let project = std::path::absolute(&options.directory).map_err(|source| Error::Io {
            action: "resolve",
            path: options.directory.clone(),
            source,
        })?;
        let build_dir = crate::build::build_dir_for(
            &project,
            &settings.target.value.platform,
            request(options, &settings).build_dir.as_deref(),
        );
        let copy = build_dir.join(".archway").join(WRITABLE_COPY_DIR);
        if copy.is_dir() {
            reporter.note(&format!(
                "building in the writable copy of the project, `{}`: an earlier build's steps \
                 wrote into its source tree",
                copy.display()
            ));
            crate::build::sync_tree(&copy_of(&project, &build_dir, &copy))?;
            return run(
                &retry_in(copy, build_dir),
                &settings,
                &cache,
                goal,
                reporter,
            );
        }
    }
    match run(options, &settings, &cache, goal, reporter) {
        // The project's own steps wrote into its source tree (yajl's test suite writes its
        // results next to its cases): build again in a writable copy of it, as Debian and
        // Nix build in an unpacked copy. The project itself stays read-only; the same
        // settings, so the configuration found above the project still applies.
        Err(Error::SourceReadOnly {
            project,
            build_dir,
            step,
        }) if copies => {
            let copy = build_dir.join(".archway").join(WRITABLE_COPY_DIR);
            reporter.note(&format!(
                "{step}: it wrote into the project's source tree, which the sandbox keeps \
                 read-only; building again in a writable copy of it, `{}` (`--writable-source` \
                 lets the steps write the project itself)",
                copy.display()
            ));
            writable_copy(&project, &build_dir, &copy)?;
            run(
                &retry_in(copy, build_dir),
                &settings,
                &cache,
                goal,
                reporter,
            )
        }
        other => other,
    }
}

/// Where a project whose steps write into its source tree is copied, under
/// `<build dir>/.archway`.
pub const WRITABLE_COPY_DIR: &str = "project";

/// Empties `build_dir` of the first attempt, which was configured for the project itself, and
/// copies the project to `copy`.
fn writable_copy(project: &Path, build_dir: &Path, copy: &Path) -> Result<(), Error> {
    crate::build::empty_build_directory(build_dir)?;
    crate::build::sync_tree(&copy_of(project, build_dir, copy))
}

/// The copy of `project` at `copy`, without its `.git` and build directories.
fn copy_of(project: &Path, build_dir: &Path, copy: &Path) -> crate::steps::SourceCopy {
    crate::steps::SourceCopy {
        from: project.to_path_buf(),
        to: copy.to_path_buf(),
        exclude: vec![
            project.join(".git"),
            project.join(crate::steps::DEFAULT_BUILD_ROOT),
            build_dir.to_path_buf(),
        ],
    }
}

fn run(
    options: &BuildOptions,
    settings: &Settings,
    cache_settings: &archway_cache::CacheSettings,
    goal: Goal,
    reporter: &dyn Reporter,
) -> Result<Outcome, Error> {
    // Opened once for the build's entry and the environments it needs (root filesystems).
    let shared = if options.no_cache {
        None
    } else {
        build_cache::open_shared(
            cache_settings,
            reporter,
            options
                .transfer_progress
                .as_ref()
                .map(|progress| progress.0.clone()),
        )
    };
    let mut request = request(options, settings);
    request.rootfs.upstream = build_cache::RootfsAdapter::upstream(shared.clone());
    request.rootfs.sysroot_upstream = build_cache::SysrootAdapter::upstream(shared.clone());
    let Prepared {
        plan,
        executor,
        lock: _lock,
        in_use: _in_use,
    } = prepare(&request, reporter)?;
    if let ChildOutput::Log(log) | ChildOutput::Tee(log) = &request.output {
        // `-q`'s log holds this build's output only (the build directory's lock is held).
        let _ = std::fs::write(log, "");
    }
    let what = match &plan.project {
        Some(project) => format!(
            "{} project in `{}`",
            project.build_system,
            project.root.display()
        ),
        None => format!("`{}`", request.command.join(" ")),
    };
    reporter.note(&format!(
        "building {what} for `{}` ({} method: {})",
        plan.target.config(),
        plan.method,
        plan.reason
    ));
    if let Some(project) = &plan.project {
        if !project.alternatives.is_empty() {
            let others: Vec<_> = project.alternatives.iter().map(|s| s.name()).collect();
            reporter.note(&format!(
                "  also found: {} (choose with `--build-system NAME`)",
                others.join(", ")
            ));
        }
    }
    if let Some(toolchain) = &plan.toolchain {
        reporter.note(&format!("toolchain: {toolchain}"));
    }
    // The host methods' sandbox is said with `--explain` (and in `--json`'s `runs_in`).
    if plan.method.uses_rootfs() || options.explain {
        reporter.note(&format!("running in: {}", executor.describe()));
    }
    if options.show_steps {
        for line in describe_steps(&plan) {
            reporter.note(&line);
        }
    }
    let cache = if options.no_cache || plan.recipe.is_none() {
        None
    } else {
        BuildCache::open(
            cache_settings,
            request.cache_dir.as_deref(),
            options.rerun,
            shared,
        )
    };
    let cache = match (cache, build_cache::uncacheable(&plan)) {
        (Some(_), Some(reason)) => {
            reporter.note(reason);
            None
        }
        (cache, _) => cache,
    };
    let mut keyed = None;
    if let Some(cache) = &cache {
        let build_root = configured_build_root(options, settings, &plan.project_dir);
        match build_cache::key_inputs(&plan, &request, build_root.as_deref()) {
            Ok(inputs) => {
                let key = inputs.key();
                if options.explain {
                    reporter.note(&format!("cache key: {key}"));
                    for line in inputs.summary() {
                        reporter.note(&format!("  {line}"));
                    }
                }
                let wanted =
                    goal == Goal::Build || build_cache::tests_passed(cache, &key, &plan, reporter);
                if wanted {
                    if let Some((mut outcome, origin)) =
                        build_cache::restore(cache, &key, &plan, reporter)?
                    {
                        outcome.tested = goal == Goal::Test;
                        outcome.tests = outcome.tested.then_some(Tests::Passed);
                        outcome.cache = Some(build_cache::CacheReport {
                            key: key.to_string(),
                            hit: true,
                            test_hit: goal == Goal::Test,
                            origin: Some(match origin {
                                archway_cache::store::Origin::Local => "local".to_string(),
                                archway_cache::store::Origin::Shared { signer } => {
                                    format!("shared, signed by {signer}")
                                }
                            }),
                            inputs: options.explain.then(|| inputs.clone()),
                        });
                        check_cpu(settings, &plan.target, &outcome, reporter)?;
                        return Ok(outcome);
                    }
                }
                keyed = Some(inputs);
            }
            Err(error) => reporter.note(&format!(
                "warning: cannot compute the build's cache key: {error}; building without the cache"
            )),
        }
    }
    let mut outcome = execute(&plan, goal, executor.as_ref(), reporter)
        .map_err(|error| crate::host_sandbox::namespace_refused(error, plan.method))
        .map_err(|error| crate::missing::diagnose(error, &plan, &request))
        .map_err(|error| crate::host_sandbox::diagnose(error, &plan, &request))
        .map_err(|error| crate::host_sandbox::diagnose_compiler(error, &plan))
        .map_err(|error| crate::msrv::diagnose(error, &plan))
        .map_err(|error| crate::missing::diagnose_went_without(error, &plan, &request))?;
    outcome.runs_in = Some(executor.describe());
    check_cpu(settings, &plan.target, &outcome, reporter)?;
    if let (Some(cache), Some(inputs)) = (&cache, &keyed) {
        build_cache::insert(cache, inputs, &plan, &outcome, reporter);
        outcome.cache = Some(build_cache::CacheReport {
            key: inputs.key().to_string(),
            hit: false,
            test_hit: false,
            origin: None,
            inputs: options.explain.then(|| inputs.clone()),
        });
    }
    Ok(outcome)
}

/// The configured `[build] dir` (absolute), when it sets this build's directory: every
/// target's build directory is below it, so the source tree's digest leaves it out.
fn configured_build_root(
    options: &BuildOptions,
    settings: &Settings,
    project_dir: &Path,
) -> Option<PathBuf> {
    if options.build_dir.is_some() || settings.build_dir.source == Source::Default {
        return None;
    }
    let root = project_dir.join(&settings.build_dir.value);
    // Never the project or a directory above it (`dir = "."`): that would leave every source
    // out of the key.
    Some(root).filter(|root| !project_dir.starts_with(root))
}

/// The artifacts against the platform's CPU (`check-cpu`: warn by default, `error` fails the
/// build, `off`): a binary that needs more than the CPU has would stop with an illegal
/// instruction on the device, even where the emulator runs it.
fn check_cpu(
    settings: &Settings,
    target: &archway_platform::Platform,
    outcome: &Outcome,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let check = settings
        .overrides
        .check_cpu
        .as_ref()
        .map(|check| check.value)
        .unwrap_or_default();
    if check == archway_platform::CpuCheck::Off {
        return Ok(());
    }
    let paths: Vec<PathBuf> = outcome
        .artifacts
        .iter()
        .map(|artifact| artifact.path.clone())
        .collect();
    let findings = archway_platform::check_artifacts(target, &paths);
    let mut failing = Vec::new();
    for finding in &findings {
        if finding.fails(check) {
            failing.push(finding.message.clone());
        } else {
            reporter.note(&format!("warning: {}", finding.message));
        }
    }
    if failing.is_empty() {
        Ok(())
    } else {
        Err(Error::CpuCheck {
            target: target.config(),
            findings: failing,
        })
    }
}

/// Every step with the environment it adds, for `-v`.
fn describe_steps(plan: &crate::build::Plan) -> Vec<String> {
    let steps = plan.recipe.iter().flat_map(|recipe| {
        recipe
            .configure
            .iter()
            .chain(&recipe.build)
            .chain(&recipe.test)
    });
    let mut lines = Vec::new();
    for step in steps.chain(&plan.command) {
        lines.push(format!(
            "  {} step, in `{}`:",
            step.kind,
            step.dir.display()
        ));
        for (key, value) in &step.env {
            lines.push(format!("    {key}={}", crate::steps::shell_quote(value)));
        }
        lines.push(format!("    {}", step.command_line()));
    }
    lines
}

/// One target of `--all-targets`.
#[derive(Debug)]
pub struct TargetResult {
    /// The target as the configuration names it.
    pub target: String,
    pub result: Result<Outcome, Error>,
    pub time: Duration,
}

/// `archway build --all-targets`: every target of `[build] targets` in turn, each through the
/// planner in its own method (a failure does not stop the others).
pub fn build_all_targets(
    options: &BuildOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<TargetResult>, Error> {
    let config = load(&options.directory)?;
    let Some(targets) = config.targets() else {
        let file = config.project_file().map_or_else(
            || config.project_root().join("archway.toml"),
            Path::to_path_buf,
        );
        return Err(Error::NoTargets { file });
    };
    let mut results = Vec::new();
    for target in &targets.value {
        if crate::process::interrupted().is_some() {
            // Ctrl-C stopped a target's step: the others are not started.
            break;
        }
        let started = Instant::now();
        let target_source = Sourced::new(target.clone(), targets.source.clone());
        let result = config
            .resolve_for(target_source, &options.flags)
            .map_err(Error::from)
            .and_then(|settings| {
                let cache = config.cache()?;
                run(options, &settings, &cache, Goal::Build, reporter)
            });
        results.push(TargetResult {
            target: target.name.clone(),
            result,
            time: started.elapsed(),
        });
    }
    Ok(results)
}

/// What `archway shell` takes from the command line.
#[derive(Debug, Clone)]
pub struct ShellOptions {
    /// The working directory: writable inside, at the same path.
    pub directory: PathBuf,
    /// The target (any name archway accepts).
    pub target: String,
    pub profile: Option<String>,
    pub method: crate::method::MethodRequest,
    pub suite: Option<String>,
    pub packages: Vec<String>,
    pub network: bool,
    pub setup: bool,
    pub explain: bool,
}

/// Where `archway shell` runs.
#[derive(Debug)]
pub enum Shell {
    /// The host's own shell (native, or cross: `archway env` sets the compilers up in it).
    Host { method: crate::method::Method },
    /// An interactive shell inside the target's root filesystem: run `command`.
    Sandbox {
        method: crate::method::Method,
        /// The environment in a few words (`bubblewrap in the arm64/bookworm root filesystem`).
        description: String,
        command: Box<std::process::Command>,
        /// The cache entries the shell runs in, held while it runs (see `rootfs prune`).
        in_use: Vec<archway_rootfs::InUse>,
    },
}

/// `archway shell`: chooses the method with the planner (there is no cross shell: `auto` means
/// native, else hybrid, else emulated), sets up its root filesystem and gives the interactive
/// shell to run.
pub fn shell(options: &ShellOptions, reporter: &dyn Reporter) -> Result<Shell, Error> {
    let config = load(&options.directory)?;
    let flags = Flags {
        target: Some(options.target.clone()),
        profile: options.profile.clone(),
        method: Some(options.method),
        build_dir: None,
    };
    let settings = config.resolve(&flags, &host_platform()?)?;
    let build_options = BuildOptions {
        packages: options.packages.clone(),
        suite: options.suite.clone(),
        network: options.network,
        setup: options.setup,
        ..BuildOptions::new(&options.directory)
    };
    let mut request = request(&build_options, &settings);
    let shared = build_cache::open_shared(&config.cache()?, reporter, None);
    request.rootfs.upstream = build_cache::RootfsAdapter::upstream(shared.clone());
    request.rootfs.sysroot_upstream = build_cache::SysrootAdapter::upstream(shared);
    let host = archway_platform::host::Host::detect()?;
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    let declared = crate::plan::Declared {
        wants_rootfs: request.wants_rootfs.clone(),
        toolchain: request.toolchain.clone(),
        rootfs_suite: request.rootfs.suite.clone(),
        ..crate::plan::Declared::default()
    };
    let facts = crate::plan::Facts::gather(&request.target, &host, &search_path, &declared);
    let decision =
        crate::plan::plan_shell(options.method, &facts, options.setup).map_err(Error::NoMethod)?;
    if options.explain {
        reporter.note(decision.explain().trim_end());
    }
    for step in &decision.setup {
        if let crate::plan::Setup::InstallBinfmt { qemu_name } = step {
            crate::emulated::install_binfmt(qemu_name, reporter)?;
        }
    }
    let method = decision.method;
    if !method.uses_rootfs() {
        return Ok(Shell::Host { method });
    }
    let directory = std::path::absolute(&options.directory).map_err(|source| Error::Io {
        action: "resolve",
        path: options.directory.clone(),
        source,
    })?;
    let job = crate::backend::Job {
        target: &request.target,
        host: Some(&host),
        project_dir: &directory,
        build_dir: &directory,
        build_system: None,
        toolchain: &request.toolchain,
        cache_dir: request.cache_dir.as_deref(),
        rootfs: &request.rootfs,
        sysroot_packages: &[],
        output: ChildOutput::Inherit,
    };
    let (sandbox, description, in_use) = crate::backend::sandbox(method, &job, reporter)?;
    let architecture = archway_rootfs::Architecture::from_platform(&request.target)?;
    let command = sandbox
        .interactive(true)
        .env("PS1", format!("({architecture} {method}) \\w\\$ "))
        .command("/bin/bash", ["--norc", "-i"])?;
    Ok(Shell::Sandbox {
        method,
        description,
        command: Box::new(command),
        in_use,
    })
}
