//! The build flow: choose the method, set its backend up, run the project's steps, report the
//! artifacts.
//!
//! [`prepare`] turns a [`BuildRequest`] into a [`Prepared`] build — the [`Plan`] (method and
//! why, toolchain, build directory, recipe) and the [`Executor`] the steps run in — by asking
//! the planner ([`crate::plan`], the only chooser) and then the chosen backend
//! ([`crate::backend`]); [`execute`] runs a plan's steps and returns the [`Outcome`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use archway_platform::host::Host;
use archway_platform::{Platform, Reporter};
use archway_toolchain::Request;

use crate::backend::{Job, RootfsRequest};
use crate::cmake_tests::CmakeTests;
use crate::emulation::TemporaryRegistration;
use crate::executor::{ChildOutput, Executor};
use crate::lock::{BuildDirLock, LockWait};
use crate::method::MethodRequest;
use crate::outcome::{
    find_artifacts, ArtifactSearch, Method, Outcome, Tests, Timing, INTERMEDIATE_DIRS,
};
use crate::project::{BuildSystem, Project};
use crate::steps::{
    cmake_target_step, command_step, recipe, Recipe, RecipeInput, SourceCopy, Step, StepKind,
    Toolset, DEFAULT_BUILD_ROOT,
};
use crate::Error;

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The project directory (`-C DIR`).
    pub project_dir: PathBuf,
    pub target: Platform,
    /// `auto` (the planner chooses) or one method.
    pub method: MethodRequest,
    /// The build directory: absolute, or relative to the project directory.
    /// Default: `build/archway/<target>` in the project.
    pub build_dir: Option<PathBuf>,
    /// Use this build system rather than the detected one.
    pub build_system: Option<BuildSystem>,
    /// Run this command in the target's environment instead of the project's build system.
    pub command: Vec<String>,
    /// The toolchain the configuration asks for (family, version, flags, overrides).
    pub toolchain: Request,
    /// `sysroot-packages`: the target libraries the cross method's sysroot must hold.
    pub sysroot_packages: Vec<String>,
    /// The root filesystem and the environment inside it (hybrid and emulated methods).
    pub rootfs: RootfsRequest,
    /// Why the target's own system is asked for (`rootfs-packages`, `--packages`): then the
    /// cross method does not serve.
    pub wants_rootfs: Option<String>,
    /// Extra arguments for the configure step (`--configure-arg`).
    pub configure_args: Vec<String>,
    /// Parallel jobs; `None`: the number of CPUs.
    pub jobs: Option<usize>,
    /// The cache directory (sysroots, root filesystems); `None`: none is used.
    pub cache_dir: Option<PathBuf>,
    /// Where the steps' output goes.
    pub output: ChildOutput,
    /// Report the whole method decision (`--explain`) through the reporter.
    pub explain: bool,
    /// When another build holds the build directory: wait, or fail (`--no-wait`).
    pub lock: LockWait,
}

impl BuildRequest {
    /// A request with defaults for everything but the project and the target.
    pub fn new(project_dir: impl Into<PathBuf>, target: Platform) -> BuildRequest {
        BuildRequest {
            project_dir: project_dir.into(),
            target,
            method: MethodRequest::Auto,
            build_dir: None,
            build_system: None,
            command: Vec::new(),
            toolchain: Request::default(),
            sysroot_packages: Vec::new(),
            rootfs: RootfsRequest::default(),
            wants_rootfs: None,
            configure_args: Vec::new(),
            jobs: None,
            cache_dir: crate::cache::cache_dir(),
            output: ChildOutput::ToStderr,
            explain: false,
            lock: LockWait::Wait,
        }
    }
}

/// What will run, decided before anything does.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Platform,
    pub method: Method,
    /// Why this method (for the user).
    pub reason: String,
    pub project_dir: PathBuf,
    /// `None` when the user gave a command.
    pub project: Option<Project>,
    pub build_dir: PathBuf,
    pub toolset: Toolset,
    /// The toolchain in a few words (`gcc 12.2.0 (aarch64-linux-gnu-gcc)`).
    pub toolchain: Option<String>,
    /// The emulator command for target programs (empty when native or none).
    pub emulator: Vec<String>,
    /// The project's steps (`None` when the user gave a command).
    pub recipe: Option<Recipe>,
    /// The user's command (`-- CMD...`).
    pub command: Option<Step>,
    /// The planner's decision (every method's verdict, for `--explain` and `--json`).
    pub decision: crate::plan::Plan,
    /// The root filesystem's suite the hybrid and emulated methods use (`None`: the
    /// architecture's default): the one asked for, or the one whose Rust builds the project.
    pub rootfs_suite: Option<String>,
    /// The dpkg status of the tree the build finds its headers and libraries in (see
    /// [`crate::backend::Environment::libraries`]).
    pub libraries: Option<PathBuf>,
}

/// A plan with the executor its steps run in, holding its build directory's lock.
#[derive(Debug)]
pub struct Prepared {
    pub plan: Plan,
    pub executor: Box<dyn Executor>,
    /// One build per build directory: held from before the generated files are written to the
    /// end of the tests (while this lives).
    pub lock: BuildDirLock,
    /// The cache entries the steps run in, held as long (see [`crate::backend::Environment`]).
    pub in_use: Vec<crate::backend::Held>,
}

/// The per-target build directory: `<project>/build/archway/<target config>` unless given.
pub fn build_dir_for(project_dir: &Path, target: &Platform, given: Option<&Path>) -> PathBuf {
    match given {
        Some(dir) if dir.is_absolute() => dir.to_path_buf(),
        Some(dir) => project_dir.join(dir),
        None => project_dir.join(DEFAULT_BUILD_ROOT).join(target.config()),
    }
}

/// Chooses the method (the planner), runs its set-up (`--setup`'s binfmt entry, the sysroot's
/// packages, the root filesystem), writes the build-system files into `<build dir>/.archway/`
/// and computes the steps. `--explain` goes to `reporter` before anything is set up.
pub fn prepare(request: &BuildRequest, reporter: &dyn Reporter) -> Result<Prepared, Error> {
    let project_dir = std::path::absolute(&request.project_dir).map_err(|source| Error::Io {
        action: "resolve",
        path: request.project_dir.clone(),
        source,
    })?;
    if !project_dir.is_dir() {
        return Err(Error::ProjectMissing { path: project_dir });
    }
    let project = if request.command.is_empty() {
        Some(Project::detect(&project_dir, request.build_system)?)
    } else {
        None
    };
    if let (true, Some(project)) = (request.explain, &project) {
        reporter.note(project.explain().trim_end());
    }
    let target = request.target.clone();
    let build_dir = build_dir_for(&project_dir, &target, request.build_dir.as_deref());
    let lock = BuildDirLock::acquire(&build_dir, request.lock, reporter)?;
    let host = Host::detect()?;
    let cargo = project
        .as_ref()
        .is_some_and(|project| project.build_system == BuildSystem::Cargo);
    let rust_needs = cargo
        .then(|| crate::rust_needs::project_needs(&project_dir))
        .flatten();
    let decision = decide(request, &host, cargo, rust_needs.clone(), reporter)?;
    // The target's own cargo (emulated, hybrid) is its root filesystem's suite's.
    let rootfs = match (&rust_needs, decision.method.uses_rootfs()) {
        (Some(needs), true) => crate::rust::rootfs_for(&request.rootfs, &target, needs, reporter)?,
        _ => request.rootfs.clone(),
    };
    let job = Job {
        target: &target,
        host: Some(&host),
        project_dir: &project_dir,
        build_dir: &build_dir,
        build_system: project.as_ref().map(|project| project.build_system),
        toolchain: &request.toolchain,
        cache_dir: request.cache_dir.as_deref(),
        rootfs: &rootfs,
        sysroot_packages: &request.sysroot_packages,
        output: request.output.clone(),
    };
    let environment = crate::backend::get(decision.method).prepare(&job, reporter)?;
    let toolset = environment.toolset;
    let jobs = request.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    let recipe = project.as_ref().map(|project| {
        recipe(&RecipeInput {
            project,
            build_dir: &build_dir,
            toolset: &toolset,
            jobs,
            meson_configured: build_dir.join("meson-private/coredata.dat").is_file(),
            configure_args: &request.configure_args,
        })
    });
    let command = command_step(&request.command, &project_dir, &toolset);
    Ok(Prepared {
        plan: Plan {
            target,
            method: decision.method,
            reason: decision.reason(),
            project_dir,
            project,
            build_dir,
            toolset,
            toolchain: environment.toolchain,
            emulator: environment.emulator,
            recipe,
            command,
            decision,
            rootfs_suite: rootfs.suite.clone(),
            libraries: environment.libraries,
        },
        executor: environment.executor,
        lock,
        in_use: environment.in_use,
    })
}

/// The planner's choice for `request` over this machine's facts; `--explain` is reported, and
/// the set-up steps that are not a backend's own (`--setup`'s binfmt entry) run here.
fn decide(
    request: &BuildRequest,
    host: &Host,
    cargo: bool,
    rust_needs: Option<crate::rust::RustNeeds>,
    reporter: &dyn Reporter,
) -> Result<crate::plan::Plan, Error> {
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    let declared = crate::plan::Declared {
        sysroot_packages: request.sysroot_packages.clone(),
        sysroot_ready: request.sysroot_packages.is_empty()
            || crate::backend::cross::sysroot_ready(
                request.cache_dir.as_deref(),
                &request.target,
                &request.sysroot_packages,
            ),
        wants_rootfs: request.wants_rootfs.clone(),
        toolchain: request.toolchain.clone(),
        cargo,
        rust_needs,
        rootfs_suite: request.rootfs.suite.clone(),
    };
    let facts = crate::plan::Facts::gather(&request.target, host, &search_path, &declared);
    let decision = match crate::plan::plan(request.method, &facts, request.rootfs.setup) {
        Ok(decision) => decision,
        Err(unavailable) => {
            if request.explain {
                reporter.note(
                    crate::plan::explain(
                        &unavailable.target,
                        &facts.host,
                        unavailable.request,
                        &unavailable.decisions,
                        None,
                    )
                    .trim_end(),
                );
            }
            return Err(Error::NoMethod(unavailable));
        }
    };
    if request.explain {
        reporter.note(decision.explain().trim_end());
    }
    for step in &decision.setup {
        if let crate::plan::Setup::InstallBinfmt { qemu_name } = step {
            crate::emulated::install_binfmt(qemu_name, reporter)?;
        }
    }
    Ok(decision)
}

/// What to run of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Configure and build.
    Build,
    /// Configure, build, then run the project's tests.
    Test,
}

/// Runs the plan's steps through `executor` and collects the artifacts.
///
/// For [`Goal::Test`] in a cross build whose tests start foreign programs directly, a binfmt_misc
/// entry must handle them: an existing one, or a [`TemporaryRegistration`] when archway may
/// create one (as root), removed again when the tests are done.
pub fn execute(
    plan: &Plan,
    goal: Goal,
    executor: &dyn Executor,
    reporter: &dyn Reporter,
) -> Result<Outcome, Error> {
    let started = Instant::now();
    let started_at = SystemTime::now();
    let mut timings = Vec::new();
    if let Some(command) = &plan.command {
        run_step(command, executor, reporter, &mut timings)?;
        let skip_paths = [
            plan.project_dir.join(DEFAULT_BUILD_ROOT),
            plan.build_dir.clone(),
        ];
        let artifacts = find_artifacts(&ArtifactSearch {
            root: &plan.project_dir,
            skip_dirs: INTERMEDIATE_DIRS,
            skip_paths: &skip_paths,
            since: Some(started_at),
            copied_from: None,
        });
        return Ok(outcome(plan, artifacts, timings, None, started));
    }
    let Some(recipe) = &plan.recipe else {
        return Ok(outcome(plan, Vec::new(), timings, None, started));
    };
    let (driver, package) = recipe.build_system.driver();
    if !executor.has_program(driver) {
        return Err(Error::ToolMissing {
            program: driver.to_string(),
            system: recipe.build_system,
            package,
        });
    }
    if recipe.bootstrap.is_some() && !executor.has_program("autoreconf") {
        return Err(Error::AutoreconfMissing {
            in_root_filesystem: matches!(plan.method, Method::Emulated | Method::Hybrid),
        });
    }
    std::fs::create_dir_all(&recipe.build_dir).map_err(|source| Error::Io {
        action: "create directory",
        path: recipe.build_dir.clone(),
        source,
    })?;
    // A build directory made by another method or compiler (the native method's x86_64 gcc,
    // then the cross method's i686 one) keeps that compiler's objects and caches, which the
    // build systems do not all notice (CMake keeps its cached compiler; make rebuilds nothing
    // whose source did not change): it starts anew.
    let made_by = recipe.build_dir.join(".archway").join("made-by");
    let maker = made_by_text(plan, recipe);
    let mut emptied = false;
    match std::fs::read_to_string(&made_by) {
        Ok(old) if old != maker => {
            reporter.note(&format!(
                "the build directory was made by another method or compiler ({}): emptying it",
                old.lines().next().unwrap_or_default()
            ));
            empty_build_directory(&recipe.build_dir)?;
            emptied = true;
        }
        _ => {}
    }
    write_file(&made_by, &maker)?;
    // Re-running configure rewrites headers and makefiles and so rebuilds everything: it is
    // skipped when the same configure commands already ran to completion in this build
    // directory, with the same packages to find (configure keeps what it did not find: jq's
    // looks for oniguruma.h once, and a sysroot given libonig-dev since would go unseen).
    let stamp = recipe.build_dir.join(".archway").join("configured");
    let commands = fingerprint(&recipe.configure);
    let fingerprint = format!("{commands}{}", installed(plan.libraries.as_deref()));
    if let Some(old) = std::fs::read_to_string(&stamp)
        .ok()
        .filter(|old| *old != fingerprint)
    {
        let packages_changed = old
            .strip_prefix(&commands)
            .is_some_and(|rest| rest.starts_with("installed "));
        let what = match (packages_changed, &plan.libraries) {
            (true, Some(libraries)) => {
                let tree = tree_of_status(libraries);
                if tree == Path::new("/") {
                    "this machine's packages changed".to_string()
                } else {
                    format!("the packages in `{}` changed", tree.display())
                }
            }
            _ => "configure's commands or environment changed".to_string(),
        };
        // A configured tree would keep what the old configuration made: Autoconf's makefiles
        // rebuild no object whose flags changed (jq's `-DHAVE_LIBONIG` is in `DEFS`, on which
        // no object depends), and CMake and Meson keep their checks' answers (CMake's cache,
        // Meson's `Has header ... : NO (cached)` through `--reconfigure`), which only other
        // packages change (their makefiles and ninja track flags and options). Such a tree
        // starts empty, as one made by another compiler does.
        let stale = match recipe.build_system {
            BuildSystem::Configure => true,
            BuildSystem::Cmake | BuildSystem::Meson => packages_changed,
            BuildSystem::Make | BuildSystem::Cargo => false,
        };
        if stale {
            reporter.note(&format!(
                "{what} since configure ran: emptying the build directory to configure afresh"
            ));
            empty_build_directory(&recipe.build_dir)?;
            emptied = true;
        } else {
            reporter.note(&format!("{what} since configure ran: configuring again"));
        }
    }
    if recipe.build_system == BuildSystem::Cmake {
        let source = plan
            .project
            .as_ref()
            .map_or(plan.project_dir.as_path(), |project| project.root.as_path());
        let forgotten = crate::cmake_tests::forget_other_source(&recipe.build_dir, source)
            .map_err(|source| Error::Io {
                action: "remove the CMake cache of other sources in",
                path: recipe.build_dir.clone(),
                source,
            })?;
        if let Some(old) = forgotten {
            reporter.note(&format!(
                "the build directory was configured for `{}` (a copied or moved project): configuring afresh",
                old.display()
            ));
        }
        // Which tests there are is known after configure (crate::cmake_tests).
        crate::cmake_tests::request_codemodel(&recipe.build_dir).map_err(|source| Error::Io {
            action: "write CMake's file-API query in",
            path: recipe.build_dir.clone(),
            source,
        })?;
    }
    if let Some(copy) = &recipe.copy {
        let copy_started = Instant::now();
        let why = match recipe.build_system {
            _ if recipe.bootstrap.is_some()
                && plan
                    .project
                    .as_ref()
                    .is_some_and(|project| project.configure.is_some()) =>
            {
                "the build system is regenerated in the copy"
            }
            _ if recipe.bootstrap.is_some() => "`configure` is generated in the copy",
            BuildSystem::Configure => "`configure` runs in the source tree, as debhelper runs it",
            _ => "a plain makefile builds in place",
        };
        reporter.note(&format!(
            "copying the source tree into `{}` ({why})",
            copy.to.display()
        ));
        sync_tree(copy)?;
        timings.push(Timing {
            step: StepKind::Configure,
            command: format!("copy {} {}", copy.from.display(), copy.to.display()),
            duration: copy_started.elapsed(),
            skipped: false,
        });
    }
    // The build system's own record of a configured tree must still be there too.
    let marker = match recipe.build_system {
        BuildSystem::Cmake => Some("CMakeCache.txt"),
        BuildSystem::Meson => Some("meson-private/coredata.dat"),
        BuildSystem::Configure => Some("Makefile"),
        BuildSystem::Make | BuildSystem::Cargo => None,
    };
    // Where configure ran: the build directory, or the copy it configured in place.
    let configured_dir = recipe
        .configure
        .last()
        .map_or(recipe.build_dir.as_path(), |step| step.dir.as_path());
    let configured = std::fs::read_to_string(&stamp).is_ok_and(|old| old == fingerprint)
        && marker.is_none_or(|marker| configured_dir.join(marker).exists());
    // An emptied directory has no Meson build left to `--reconfigure` ("Directory does not
    // contain a valid build tree"): set up anew (the fingerprint leaves the flag out).
    let mut configure = recipe.configure.clone();
    if emptied {
        for step in &mut configure {
            step.args.retain(|arg| arg != "--reconfigure");
        }
    }
    for step in &configure {
        if configured {
            timings.push(Timing {
                step: step.kind,
                command: step.command_line(),
                duration: Default::default(),
                skipped: true,
            });
            continue;
        }
        run_step(step, executor, reporter, &mut timings)?;
    }
    if !configured && !recipe.configure.is_empty() {
        write_file(&stamp, &fingerprint)?;
    }
    // Builds may run target programs too (bzip2's `all` runs its tests): same rule as tests,
    // but a build goes on without one.
    let wants_binfmt = recipe.tests_need_binfmt && plan.method == Method::Cross;
    let mut registration = None;
    if wants_binfmt {
        registration = TemporaryRegistration::for_target(&plan.target)
            .ok()
            .flatten();
    }
    for step in &recipe.build {
        run_step(step, executor, reporter, &mut timings)?;
    }
    let mut tests = None;
    let mut test_steps = recipe.test.clone();
    let mut no_tests = test_steps
        .is_empty()
        .then(|| no_test_suite(recipe.build_system));
    if goal == Goal::Test && recipe.build_system == BuildSystem::Cmake {
        match crate::cmake_tests::decide(&recipe.build_dir) {
            CmakeTests::Ctest(_) => {}
            CmakeTests::Target(target) => {
                reporter.note(&format!(
                    "ctest has no tests; running the project's `{target}` target, as `make {target}` does for debhelper"
                ));
                test_steps = recipe
                    .test
                    .iter()
                    .map(|ctest| cmake_target_step(ctest, &target))
                    .collect();
            }
            CmakeTests::None(reason) => no_tests = Some(reason),
        }
    }
    if let (Goal::Test, Some(reason)) = (goal, no_tests) {
        // No test suite (sl, tree, tinycdb): debhelper's dh_auto_test skips such a package's
        // tests, and so does archway, saying so.
        reporter.note(&format!("note: no test suite to run: {reason}"));
        tests = Some(Tests::None { reason });
    } else if goal == Goal::Test {
        if wants_binfmt && registration.is_none() {
            registration = TemporaryRegistration::for_target(&plan.target)?;
        }
        for step in &test_steps {
            run_step(step, executor, reporter, &mut timings)?;
        }
        tests = Some(Tests::Passed);
    }
    drop(registration);
    let copied_from = recipe.copy.as_ref().map(|copy| copy.from.as_path());
    let mut skip_dirs = INTERMEDIATE_DIRS.to_vec();
    if recipe.build_system == BuildSystem::Cargo {
        // Cargo's build-script outputs: programs for the host, not the target.
        skip_dirs.push("build");
    }
    let artifacts = find_artifacts(&ArtifactSearch {
        root: &recipe.build_dir,
        skip_dirs: &skip_dirs,
        skip_paths: &[],
        since: None,
        copied_from,
    });
    Ok(outcome(plan, artifacts, timings, tests, started))
}

/// Why a project of `build_system` has no tests to run (its recipe has no test step).
fn no_test_suite(build_system: BuildSystem) -> String {
    match build_system {
        BuildSystem::Make | BuildSystem::Configure => {
            "the makefile has no `check`, `test` or `tests` target".to_string()
        }
        other => format!("the {other} project defines no tests"),
    }
}

pub(crate) fn outcome(
    plan: &Plan,
    artifacts: Vec<crate::outcome::Artifact>,
    timings: Vec<Timing>,
    tests: Option<Tests>,
    started: Instant,
) -> Outcome {
    Outcome {
        target: plan.target.config(),
        method: plan.method,
        build_system: plan.project.as_ref().map(|project| project.build_system),
        build_system_choice: plan.project.as_ref().map(|project| project.choice.clone()),
        toolchain: plan.toolchain.clone(),
        build_dir: plan.build_dir.clone(),
        artifacts,
        timings,
        tested: tests == Some(Tests::Passed),
        tests,
        total: started.elapsed(),
        runs_in: None,
        cache: None,
    }
}

fn run_step(
    step: &Step,
    executor: &dyn Executor,
    reporter: &dyn Reporter,
    timings: &mut Vec<Timing>,
) -> Result<(), Error> {
    let command = step.command_line();
    reporter.note(&format!("{}: {command}", step.kind));
    let started = Instant::now();
    // Where this step's output starts in the log: a failed step's own output is read.
    let transcript_start = executor
        .transcript()
        .and_then(|path| std::fs::metadata(path).ok())
        .map_or(0, |meta| meta.len());
    let code = executor.run(step)?;
    timings.push(Timing {
        step: step.kind,
        command: command.clone(),
        duration: started.elapsed(),
        skipped: false,
    });
    if code == Some(0) {
        Ok(())
    } else {
        Err(Error::StepFailed {
            step: step.kind,
            command,
            code,
            log: executor.log().map(Path::to_path_buf),
            transcript: executor.transcript().map(Path::to_path_buf),
            transcript_start,
        })
    }
}

/// What a build directory's objects depend on beyond its configure options: the method, the
/// target and the compilers the steps name (`CC`, `CXX`, a CMake toolchain file's). The
/// paths of the project and the build directory are not part of it: the compilers map them
/// to `/archway/source` and `/archway/build`, and the writable copy a build moves to
/// (`<build dir>/.archway/project`) is the same project. The longer path is replaced first:
/// either may hold the other.
fn made_by_text(plan: &Plan, recipe: &crate::steps::Recipe) -> String {
    let mut text = compilers_text(plan, recipe);
    let mut paths = [
        (plan.project_dir.to_str(), "$PROJECT"),
        (recipe.build_dir.to_str(), "$BUILD"),
    ];
    paths.sort_by_key(|(path, _)| std::cmp::Reverse(path.map_or(0, str::len)));
    for (path, name) in paths {
        if let Some(path) = path.filter(|path| path.len() > 1) {
            text = text.replace(path, name);
        }
    }
    text
}

fn compilers_text(plan: &Plan, recipe: &crate::steps::Recipe) -> String {
    let mut text = format!(
        "the {} method for `{}`\n",
        plan.method,
        plan.target.config()
    );
    for step in recipe.configure.iter().chain(&recipe.build) {
        for name in ["CC", "CXX", "RUSTC"] {
            if let Some(value) = step.env.get(name) {
                text.push_str(&format!("{name}={value}\n"));
            }
        }
        for arg in &step.args {
            if arg.starts_with("-DCMAKE_TOOLCHAIN_FILE=") || arg.starts_with("CC=") {
                text.push_str(arg);
                text.push('\n');
            }
        }
    }
    text
}

/// Empties `build_dir` but for archway's own `.archway` (the lock, the log, the toolchain
/// files) and forgets that it was configured.
pub(crate) fn empty_build_directory(build_dir: &Path) -> Result<(), Error> {
    let io = Error::io;
    for entry in std::fs::read_dir(build_dir).map_err(io("read directory", build_dir))? {
        let entry = entry.map_err(io("read directory", build_dir))?;
        if entry.file_name() == ".archway" {
            continue;
        }
        let path = entry.path();
        let removed = if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(io("remove", &path))?;
    }
    let stamp = build_dir.join(".archway").join("configured");
    match std::fs::remove_file(&stamp) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(io("remove", &stamp)(error))
        }
        _ => Ok(()),
    }
}

/// The packages of the dpkg status `status` as one line (a digest of their names, architectures
/// and versions); empty without one.
fn installed(status: Option<&Path>) -> String {
    let Some(status) = status else {
        return String::new();
    };
    let packages = crate::build_cache::dpkg_packages(status, &|_| true);
    let mut text = String::new();
    for (package, version) in &packages {
        text.push_str(&format!("{package} {version}\n"));
    }
    format!(
        "installed {}\n",
        archway_cache::key::sha256_hex(text.as_bytes())
    )
}

/// The tree a dpkg status belongs to (`<tree>/var/lib/dpkg/status`).
fn tree_of_status(status: &Path) -> &Path {
    status.ancestors().nth(4).unwrap_or(status)
}

/// The configure steps as text: commands, directories and environments. Meson's
/// `--reconfigure` only says that a previous setup exists, so it does not count.
fn fingerprint(steps: &[Step]) -> String {
    let mut text = String::new();
    for step in steps {
        let mut step = step.clone();
        step.args.retain(|arg| arg != "--reconfigure");
        text.push_str(&format!(
            "{}\n{}\n",
            step.dir.display(),
            step.command_line()
        ));
        let env: BTreeMap<_, _> = step.env.iter().collect();
        for (key, value) in env {
            text.push_str(&format!("{key}={value}\n"));
        }
    }
    text
}

fn write_file(path: &Path, contents: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Io {
            action: "create directory",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, contents).map_err(|source| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// Copies `copy.from` into `copy.to`, keeping modification times, and skipping files whose size
/// and time already match: a second build only recompiles what changed. As root, what it
/// creates belongs to the owner of `copy.to`'s build directory: the sandbox's id once a
/// sandbox has had it handed over, so the build can write next to the copied files.
pub fn sync_tree(copy: &SourceCopy) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let io = Error::io;
    // `copy.to` is the build directory itself (a plain Makefile) or a new directory in it.
    let owner = [Some(copy.to.as_path()), copy.to.parent()]
        .into_iter()
        .flatten()
        .find_map(|path| std::fs::metadata(path).ok())
        .filter(|_| rustix::process::geteuid().is_root())
        .map(|metadata| (metadata.uid(), metadata.gid()))
        .filter(|owner| *owner != (0, 0));
    let give = |path: &Path| match owner {
        Some((user, group)) => std::os::unix::fs::lchown(path, Some(user), Some(group))
            .map_err(io("change the owner of", path)),
        None => Ok(()),
    };
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let from_dir = copy.from.join(&relative);
        let to_dir = copy.to.join(&relative);
        std::fs::create_dir_all(&to_dir).map_err(io("create directory", &to_dir))?;
        give(&to_dir)?;
        for entry in std::fs::read_dir(&from_dir).map_err(io("read directory", &from_dir))? {
            let entry = entry.map_err(io("read directory", &from_dir))?;
            let from = entry.path();
            if copy.exclude.contains(&from) {
                continue;
            }
            let to = to_dir.join(entry.file_name());
            let file_type = entry.file_type().map_err(io("inspect", &from))?;
            if file_type.is_dir() {
                pending.push(relative.join(entry.file_name()));
            } else if file_type.is_symlink() {
                let link = std::fs::read_link(&from).map_err(io("read link", &from))?;
                if std::fs::read_link(&to).ok().as_ref() != Some(&link) {
                    let _ = std::fs::remove_file(&to);
                    std::os::unix::fs::symlink(&link, &to).map_err(io("create link", &to))?;
                    give(&to)?;
                }
            } else if file_type.is_file() {
                let meta = entry.metadata().map_err(io("inspect", &from))?;
                let modified = meta.modified().map_err(io("inspect", &from))?;
                let current = std::fs::metadata(&to).ok();
                let same = current.is_some_and(|current| {
                    current.len() == meta.len() && current.modified().ok() == Some(modified)
                });
                if !same {
                    std::fs::copy(&from, &to).map_err(io("copy", &from))?;
                    let file = std::fs::File::options()
                        .write(true)
                        .open(&to)
                        .map_err(io("open", &to))?;
                    file.set_modified(modified)
                        .map_err(io("set the time of", &to))?;
                    give(&to)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_tree_copies_once_keeps_times_and_skips_excluded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = dir.path().join("src");
        std::fs::create_dir_all(source.join("sub")).expect("mkdir");
        std::fs::create_dir_all(source.join("build/archway/x")).expect("mkdir");
        std::fs::write(source.join("Makefile"), "all:\n").expect("write");
        std::fs::write(source.join("sub/a.c"), "int a;\n").expect("write");
        std::os::unix::fs::symlink("a.c", source.join("sub/link.c")).expect("symlink");
        let target = source.join("build/archway/x");
        let copy = SourceCopy {
            from: source.clone(),
            to: target.clone(),
            exclude: vec![source.join("build/archway"), target.clone()],
        };
        sync_tree(&copy).expect("sync");
        assert_eq!(
            std::fs::read_to_string(target.join("sub/a.c")).expect("read"),
            "int a;\n"
        );
        assert_eq!(
            std::fs::read_link(target.join("sub/link.c")).expect("link"),
            Path::new("a.c")
        );
        assert!(
            !target.join("build/archway").exists(),
            "the build directory is not copied into itself"
        );
        let time = |path: &Path| {
            std::fs::metadata(path)
                .and_then(|m| m.modified())
                .expect("time")
        };
        assert_eq!(
            time(&target.join("Makefile")),
            time(&source.join("Makefile"))
        );

        // A file built in the copy survives a second sync; a changed source is copied again.
        std::fs::write(target.join("prog"), "built").expect("write");
        std::fs::write(source.join("sub/a.c"), "int a = 1;\n").expect("write");
        sync_tree(&copy).expect("sync again");
        assert_eq!(
            std::fs::read_to_string(target.join("sub/a.c")).expect("read"),
            "int a = 1;\n"
        );
        assert!(target.join("prog").exists());
    }

    #[test]
    fn fingerprint_changes_with_command_and_environment() {
        let step = Step {
            kind: StepKind::Configure,
            program: "cmake".into(),
            args: vec!["-S".into(), ".".into()],
            dir: PathBuf::from("/b"),
            env: BTreeMap::from([("A".to_string(), "1".to_string())]),
        };
        let mut other = step.clone();
        other.env.insert("A".into(), "2".into());
        assert_ne!(
            fingerprint(std::slice::from_ref(&step)),
            fingerprint(&[other])
        );
        assert_eq!(
            fingerprint(std::slice::from_ref(&step)),
            fingerprint(&[step])
        );
    }

    #[test]
    fn the_installed_line_changes_with_the_packages_and_only_with_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let status = crate::backend::dpkg_status(dir.path());
        std::fs::create_dir_all(status.parent().expect("parent")).expect("dpkg dir");
        let paragraph = |package: &str, version: &str, state: &str| {
            format!(
                "Package: {package}\nStatus: {state}\nArchitecture: arm64\nVersion: {version}\n\n"
            )
        };
        let libc = paragraph("libc6-dev", "2.36-9", "install ok installed");
        std::fs::write(&status, &libc).expect("status");
        let before = installed(Some(&status));
        assert!(
            before.starts_with("installed ") && before.ends_with('\n'),
            "{before}"
        );
        assert_eq!(installed(Some(&status)), before);

        // A package added (jq's libonig-dev): another line.
        let onig = paragraph("libonig-dev", "6.9.8-1", "install ok installed");
        std::fs::write(&status, format!("{libc}{onig}")).expect("status");
        let added = installed(Some(&status));
        assert_ne!(added, before);
        // The same packages in another order, or one only half-installed: what configure
        // finds did not change.
        let removed = paragraph("libfoo-dev", "1", "deinstall ok config-files");
        std::fs::write(&status, format!("{onig}{removed}{libc}")).expect("status");
        assert_eq!(installed(Some(&status)), added);
        // Another version: another line.
        let newer = paragraph("libonig-dev", "6.9.9-1", "install ok installed");
        std::fs::write(&status, format!("{libc}{newer}")).expect("status");
        assert_ne!(installed(Some(&status)), added);

        assert_eq!(installed(None), "");
        assert_eq!(tree_of_status(&status), dir.path());
        assert_eq!(
            tree_of_status(&crate::backend::dpkg_status(Path::new("/"))),
            Path::new("/")
        );
    }
}
