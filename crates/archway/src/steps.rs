//! The commands that configure, build and test a project: a [`Recipe`] of [`Step`]s.
//!
//! A recipe is data — program, arguments, directory, environment — computed from the
//! [`Project`], the build directory and a [`Toolset`], and run by an
//! [`Executor`](crate::executor::Executor). The cross method runs it on the host with a
//! [`Toolset::Cross`]; the emulated method runs the same recipe with [`Toolset::Native`]
//! inside a target root filesystem, so both methods build a project the same way.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::project::{Bootstrap, BuildSystem, ConfigureFlavor, Project};

/// What a step is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Configure,
    Build,
    Test,
    /// A command the user gave (`archway build -- CMD...`).
    Command,
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StepKind::Configure => "configure",
            StepKind::Build => "build",
            StepKind::Test => "test",
            StepKind::Command => "command",
        })
    }
}

/// One command: run `program args...` in `dir`, with `env` added to the inherited environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub kind: StepKind,
    pub program: String,
    pub args: Vec<String>,
    pub dir: PathBuf,
    pub env: BTreeMap<String, String>,
}

impl Step {
    fn new(kind: StepKind, program: &str, dir: &Path) -> Step {
        Step {
            kind,
            program: program.to_string(),
            args: Vec::new(),
            dir: dir.to_path_buf(),
            env: BTreeMap::new(),
        }
    }

    fn arg(mut self, arg: impl Into<String>) -> Step {
        self.args.push(arg.into());
        self
    }

    fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Step {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    fn envs(mut self, env: BTreeMap<String, String>) -> Step {
        self.env.extend(env);
        self
    }

    /// The command line, quoted for a POSIX shell (for messages and `--explain`).
    pub fn command_line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .map(shell_quote)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Quotes `word` for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    archway_platform::quote::sh_word(word).into_owned()
}

/// The files a cross build system reads (written by `archway_toolchain::write_files`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossFiles {
    pub cmake_toolchain: PathBuf,
    pub meson_cross: PathBuf,
    pub config_site: PathBuf,
    pub cargo_config: PathBuf,
}

/// A cross toolchain, reduced to what the steps need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossSetup {
    /// The GNU triple the target's tools are named for: Autoconf's `--host`.
    pub host_triple: String,
    /// The GNU triple of the machine running the build: Autoconf's `--build`.
    pub build_triple: String,
    /// The Rust target triple, where Rust has one.
    pub rust_target: Option<String>,
    /// The cross environment (CC, CXX, AR, PKG_CONFIG_LIBDIR, CARGO_TARGET_*...).
    pub vars: BTreeMap<String, String>,
    pub files: CrossFiles,
    /// Where the target's dynamic loader and libraries live, for QEMU when a foreign program
    /// is started through binfmt_misc (QEMU reads `QEMU_LD_PREFIX`, qemu-user's `-L`).
    pub loader_prefix: Option<PathBuf>,
    /// The target's C++ compiler when it is not installed (`CXX` names it all the same).
    pub missing_cxx: Option<archway_toolchain::MissingCompiler>,
}

impl CrossSetup {
    /// Variables every step of a cross build gets, whatever the build system.
    fn common_env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        if let Some(prefix) = &self.loader_prefix {
            env.insert("QEMU_LD_PREFIX".to_string(), prefix.display().to_string());
        }
        env
    }

    fn pkg_config_env(&self) -> BTreeMap<String, String> {
        self.vars
            .iter()
            .filter(|(key, _)| key.starts_with("PKG_CONFIG"))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }

    /// The whole environment: for configure scripts, makefiles and user commands.
    pub fn full_env(&self) -> BTreeMap<String, String> {
        let mut env = self.vars.clone();
        env.insert(
            "CMAKE_TOOLCHAIN_FILE".to_string(),
            self.files.cmake_toolchain.display().to_string(),
        );
        env.insert(
            "CONFIG_SITE".to_string(),
            self.files.config_site.display().to_string(),
        );
        env.extend(self.common_env());
        env
    }

    /// Only the variables scoped to the Rust target: plain `CC` would also reach the build
    /// scripts and proc macros Cargo compiles for the host (cc-rs reads `CC_<target>` first).
    fn cargo_env(&self) -> BTreeMap<String, String> {
        let Some(rust_target) = &self.rust_target else {
            return self.common_env();
        };
        let underscored = rust_target.replace('-', "_");
        let upper = underscored.to_ascii_uppercase();
        let mut env: BTreeMap<String, String> = self
            .vars
            .iter()
            .filter(|(key, _)| {
                key.ends_with(rust_target.as_str())
                    || key.ends_with(&underscored)
                    || key.contains(&format!("_{upper}_"))
                    || key.ends_with(&format!("_{upper}"))
            })
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        env.extend(self.common_env());
        env
    }
}

/// Which compilers the steps use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Toolset {
    /// The compilers found on PATH build for the machine the steps run on: the host for the
    /// native method, the target inside an emulated root filesystem.
    Native,
    Cross(Box<CrossSetup>),
}

/// A source tree copied into the build directory first: for build systems that only build in
/// the source tree (plain makefiles), so each target gets its own objects, and for trees whose
/// `configure` is generated first (into `<build dir>/source`, never into the source tree).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceCopy {
    pub from: PathBuf,
    pub to: PathBuf,
    /// Paths under `from` left out (the build directories, `.git`).
    pub exclude: Vec<PathBuf>,
}

/// Everything needed to build and test one project for one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipe {
    pub build_system: BuildSystem,
    /// The directory the build writes into.
    pub build_dir: PathBuf,
    pub copy: Option<SourceCopy>,
    /// How `configure` is generated before it runs (the first configure step does it), so the
    /// build checks the tool is there first.
    pub bootstrap: Option<Bootstrap>,
    pub configure: Vec<Step>,
    pub build: Vec<Step>,
    /// Empty when the project has no test target.
    pub test: Vec<Step>,
    /// Whether the test steps may start foreign programs directly (so they need binfmt_misc):
    /// the emulator a build system knows (ctest's `CMAKE_CROSSCOMPILING_EMULATOR`, Meson's
    /// `exe_wrapper`) only wraps some tests, and makefiles know none. Cargo's runner wraps
    /// every test binary.
    pub tests_need_binfmt: bool,
}

/// The shell program that runs a project's bootstrap script (`$1`) in the copy, and
/// `autoreconf --force --install` when the script fails or leaves no `configure`. A script
/// that runs `configure` all the same (NOCONFIGURE is a convention, not a rule) leaves a
/// configured tree, which Automake's out-of-tree `configure` refuses ("source directory
/// already configured; run \"make distclean\" there first", automake's `AM_INIT_AUTOMAKE`):
/// it is cleaned first. One step, so the host and the sandbox run it alike.
const BOOTSTRAP_SHELL: &str = "if [ -x \"$1\" ]; then \"./$1\"; else sh \"./$1\"; fi; status=$?; \
     if [ -f config.status ]; then echo \"archway: \\`$1\\` ran configure in the copy; \
     cleaning it with make distclean\" >&2; make distclean >/dev/null 2>&1 || rm -f config.status; fi; \
     if [ \"$status\" -eq 0 ] && [ -f configure ]; then exit 0; fi; \
     if [ \"$status\" -ne 0 ]; then why=\"exited with status $status\"; else why=\"left no configure\"; fi; \
     echo \"archway: \\`$1\\` $why (its output is above); running autoreconf --force --install\" >&2; \
     exec autoreconf --force --install";

/// The step that generates `configure` in the copy `dir`.
fn bootstrap_step(bootstrap: Bootstrap, dir: &Path) -> Step {
    match bootstrap {
        Bootstrap::Autoreconf => {
            Step::new(StepKind::Configure, "autoreconf", dir).args(["--force", "--install"])
        }
        // NOCONFIGURE=1: the GNOME/freedesktop convention for `autogen.sh` (GNOME's "Build
        // API"; BuildStream's autotools element exports it for every script).
        Bootstrap::Script(script) => Step::new(StepKind::Configure, "sh", dir)
            .args([
                "-c",
                BOOTSTRAP_SHELL,
                "archway-bootstrap",
                script.file_name(),
            ])
            .envs(BTreeMap::from([(
                "NOCONFIGURE".to_string(),
                "1".to_string(),
            )])),
    }
}

/// The step that runs a CMake project's own test target instead of `ctest` (see
/// [`crate::cmake_tests`]): built from the recipe's `ctest` step, with its directory and
/// environment (the cross emulator, pkg-config's variables).
pub fn cmake_target_step(ctest: &Step, target: &str) -> Step {
    Step::new(StepKind::Test, "cmake", &ctest.dir)
        .arg("--build")
        .arg(path_arg(&ctest.dir))
        .args(["--target", target])
        .envs(ctest.env.clone())
}

/// Inputs to [`recipe`].
#[derive(Debug, Clone)]
pub struct RecipeInput<'a> {
    pub project: &'a Project,
    pub build_dir: &'a Path,
    pub toolset: &'a Toolset,
    /// Parallel jobs (`-j`).
    pub jobs: usize,
    /// The build directory holds a configured Meson build already (`meson setup --reconfigure`).
    pub meson_configured: bool,
    /// Extra arguments for the configure step (`-DOPTION=ON`, `-Doption=true`, `--static`),
    /// or for `make` and `cargo build` when there is none.
    pub configure_args: &'a [String],
}

/// The steps for `input.project`'s build system.
pub fn recipe(input: &RecipeInput<'_>) -> Recipe {
    let RecipeInput {
        project,
        build_dir,
        toolset,
        jobs,
        meson_configured,
        configure_args,
    } = *input;
    let source = project.root.as_path();
    let jobs = jobs.max(1).to_string();
    let cross = match toolset {
        Toolset::Cross(cross) => Some(cross.as_ref()),
        Toolset::Native => None,
    };
    let mut recipe = Recipe {
        build_system: project.build_system,
        build_dir: build_dir.to_path_buf(),
        copy: None,
        bootstrap: None,
        configure: Vec::new(),
        build: Vec::new(),
        test: Vec::new(),
        tests_need_binfmt: false,
    };
    match project.build_system {
        BuildSystem::Cmake => {
            let env = cross.map(|c| {
                let mut env = c.pkg_config_env();
                env.extend(c.common_env());
                env
            });
            let env = env.unwrap_or_default();
            let mut configure = Step::new(StepKind::Configure, "cmake", build_dir)
                .arg("-S")
                .arg(path_arg(source))
                .arg("-B")
                .arg(path_arg(build_dir));
            if let Some(cross) = cross {
                configure = configure.arg(format!(
                    "-DCMAKE_TOOLCHAIN_FILE={}",
                    cross.files.cmake_toolchain.display()
                ));
            }
            recipe.configure.push(
                configure
                    .args(configure_args.iter().cloned())
                    .envs(env.clone()),
            );
            recipe.build.push(
                Step::new(StepKind::Build, "cmake", build_dir)
                    .args(["--build", &path_arg(build_dir), "--parallel", &jobs])
                    .envs(env.clone()),
            );
            recipe.test.push(
                Step::new(StepKind::Test, "ctest", build_dir)
                    .args(["--test-dir", &path_arg(build_dir)])
                    .args(["--output-on-failure", "--parallel", &jobs])
                    .envs(env),
            );
            // ctest puts CMAKE_CROSSCOMPILING_EMULATOR only in front of commands that name an
            // executable target (CMake manual, add_test); a path (`COMMAND ./cJSON_test`) is
            // started directly.
            recipe.tests_need_binfmt = cross.is_some();
        }
        BuildSystem::Meson => {
            // Meson reads CC and friends from the environment for the *build* machine in a
            // cross build (Meson manual, "Cross compilation": the cross file describes the
            // host machine), so only the emulator's loader prefix is passed.
            let env = cross.map(CrossSetup::common_env).unwrap_or_default();
            let mut setup = Step::new(StepKind::Configure, "meson", build_dir).arg("setup");
            if meson_configured {
                setup = setup.arg("--reconfigure");
            }
            if let Some(cross) = cross {
                setup = setup
                    .arg("--cross-file")
                    .arg(path_arg(&cross.files.meson_cross));
            }
            recipe.configure.push(
                setup
                    .args(configure_args.iter().cloned())
                    .arg(path_arg(build_dir))
                    .arg(path_arg(source))
                    .envs(env.clone()),
            );
            recipe.build.push(
                Step::new(StepKind::Build, "meson", build_dir)
                    .args(["compile", "-C", &path_arg(build_dir), "-j", &jobs])
                    .envs(env.clone()),
            );
            recipe.test.push(
                Step::new(StepKind::Test, "meson", build_dir)
                    .args(["test", "-C", &path_arg(build_dir), "--print-errorlogs"])
                    .args(["--num-processes", &jobs])
                    .envs(env),
            );
            // A test may be a script that starts a built program itself (libinih's
            // tests/runtest.sh); the exe_wrapper only wraps tests that are programs.
            recipe.tests_need_binfmt = cross.is_some();
        }
        BuildSystem::Configure => {
            let env = cross.map(CrossSetup::full_env).unwrap_or_default();
            // configure, make and the tests run in the source tree, as debhelper runs them
            // ("in source (default)", Debian::Debhelper::Buildsystem::autoconf: some sources
            // build only there, libconfig 1.5's tests find its header by `-I../lib`) and as
            // nixpkgs' stdenv does; a hand-written configure is meant to run there too (zlib's
            // finds its own `zconf.h` only there). In a copy under the build directory, so the
            // source tree stays as it was; the copy is made when the build starts.
            let copy = SourceCopy {
                from: source.to_path_buf(),
                to: build_dir.join(GENERATED_SOURCE_DIR),
                exclude: vec![
                    source.join(".git"),
                    source.join(DEFAULT_BUILD_ROOT),
                    build_dir.to_path_buf(),
                ],
            };
            let work = copy.to.clone();
            let script = path_arg(&work.join("configure"));
            // Where the Makefile's template is read from: the source, or the copy once the
            // bootstrap has generated it.
            let mut tree = project.root.clone();
            recipe.copy = Some(copy);
            if let Some(bootstrap) = project.bootstrap {
                // dh_autoreconf runs `autoreconf -f -i` in the source tree (dh_autoreconf(1));
                // archway runs it, or the project's script, in the copy.
                recipe.bootstrap = project.bootstrap;
                recipe.configure.push(bootstrap_step(bootstrap, &work));
                tree = work.clone();
            }
            let mut configure = Step::new(StepKind::Configure, &script, &work);
            if let (Some(cross), Some(ConfigureFlavor::Autoconf)) = (cross, project.configure) {
                // Both, as dpkg-buildpackage passes them: with only --host, Autoconf guesses
                // the build machine and may decide it is not cross compiling at all
                // (autoconf manual, "Specifying target triplets").
                configure = configure
                    .arg(format!("--build={}", cross.build_triple))
                    .arg(format!("--host={}", cross.host_triple));
            }
            recipe.configure.push(
                configure
                    .args(configure_args.iter().cloned())
                    .envs(env.clone()),
            );
            recipe.build.push(
                Step::new(StepKind::Build, "make", &work)
                    .arg(format!("-j{jobs}"))
                    .envs(env.clone()),
            );
            // Automake always generates `check`; hand-written makefiles mostly follow it
            // (zlib's `check: test`). A hand-written Makefile.in may define only `test`
            // (sqlite3: "No rule to make target 'check'"): its targets are those of the
            // Makefile configure makes from it. A `configure` that makes no Makefile leaves the
            // one the tree ships (brotli's prints where to find a real build system; its
            // Makefile has `test`). debhelper runs the first of `test`, `check` that exists
            // (Debian::Debhelper::Buildsystem::makefile); none there: no test suite.
            let template = ["Makefile.in", "Makefile"]
                .into_iter()
                .map(|name| tree.join(name))
                .find(|path| path.is_file());
            let target = match &template {
                Some(template) => make_test_target(template),
                None => Some("check"),
            };
            if let Some(target) = target {
                recipe.test.push(
                    Step::new(StepKind::Test, "make", &work)
                        .arg(target)
                        .envs(env),
                );
            }
            recipe.tests_need_binfmt = cross.is_some();
        }
        BuildSystem::Make => {
            let env = cross.map(CrossSetup::full_env).unwrap_or_default();
            // Makefiles often assign `CC = gcc` themselves, which beats the environment;
            // command-line variables beat both (GNU make manual, "Overriding Variables").
            // Only the tools, not the flags: the makefile's own CFLAGS must stay.
            let overrides: Vec<String> = cross
                .map(|cross| {
                    MAKE_TOOL_VARIABLES
                        .iter()
                        .filter_map(|name| {
                            cross.vars.get(*name).map(|value| format!("{name}={value}"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            recipe.copy = Some(SourceCopy {
                from: source.to_path_buf(),
                to: build_dir.to_path_buf(),
                // The build directory lives inside the project: never copy it into itself,
                // nor other targets' build directories.
                exclude: vec![
                    source.join(".git"),
                    source.join(DEFAULT_BUILD_ROOT),
                    build_dir.to_path_buf(),
                ],
            });
            recipe.build.push(
                Step::new(StepKind::Build, "make", build_dir)
                    .arg(format!("-j{jobs}"))
                    .args(overrides.clone())
                    .args(configure_args.iter().cloned())
                    .envs(env.clone()),
            );
            if let Some(target) = make_test_target(&project.marker) {
                recipe.test.push(
                    Step::new(StepKind::Test, "make", build_dir)
                        .arg(target)
                        .args(overrides)
                        .envs(env),
                );
            }
            recipe.tests_need_binfmt = cross.is_some();
        }
        BuildSystem::Cargo => {
            let mut common = vec![
                "--manifest-path".to_string(),
                path_arg(&project.marker),
                "--target-dir".to_string(),
                path_arg(build_dir),
                "--jobs".to_string(),
                jobs.clone(),
            ];
            let mut env = BTreeMap::new();
            if let Some(cross) = cross {
                if let Some(rust_target) = &cross.rust_target {
                    common.extend(["--target".to_string(), rust_target.clone()]);
                }
                common.extend(["--config".to_string(), path_arg(&cross.files.cargo_config)]);
                env = cross.cargo_env();
            }
            recipe.build.push(
                Step::new(StepKind::Build, "cargo", &project.root)
                    .arg("build")
                    .args(common.clone())
                    .args(configure_args.iter().cloned())
                    .envs(env.clone()),
            );
            recipe.test.push(
                Step::new(StepKind::Test, "cargo", &project.root)
                    .arg("test")
                    .args(common)
                    .envs(env),
            );
        }
    }
    recipe
}

/// Where a tree whose `configure` is generated is copied, under the build directory.
pub const GENERATED_SOURCE_DIR: &str = "source";

/// Where per-target build directories go by default, relative to the project root.
pub const DEFAULT_BUILD_ROOT: &str = "build/archway";

/// The variables a plain makefile gets on its command line in a cross build: the compilers
/// (what debhelper's makefile build system overrides, `%DEB_DEFAULT_TOOLS` in
/// Debian::Debhelper::Buildsystem::makefile), and the two binutils whose host versions refuse
/// a foreign ELF file (`strip`, `objcopy`: "Unable to recognise the format"). The others stay in
/// the environment, which beats make's built-in defaults but not the makefile's own assignment
/// (GNU make manual, "Variables from the Environment"), as dpkg's buildtools.mk sets them only
/// where the makefile did not: `LD`, because many makefiles link through the compiler driver
/// with `LD = $(CC)` (tinycdb, found by the corpus: a command-line `LD=<triple>-ld` beat it and
/// the link lost libc); `AR`, `RANLIB`, `NM` and `OBJDUMP`, because makefiles give them their
/// own flags (Lua's `AR= ar rcu`: a command-line `AR=<triple>-ar` dropped `rcu`), and the
/// host's versions read the target's objects anyway (binutils' generic ELF targets).
const MAKE_TOOL_VARIABLES: &[&str] = &["CC", "CXX", "STRIP", "OBJCOPY"];

/// The test target a plain makefile defines: `check`, else `test`, else `tests`. A rule may
/// name several targets (nettle's `all check install uninstall:`); an assignment (`check :=`,
/// `check ::=`) is none.
fn make_test_target(makefile: &Path) -> Option<&'static str> {
    let text = std::fs::read_to_string(makefile).ok()?;
    let rule_targets = |line: &str| -> Vec<String> {
        if line.starts_with(['\t', ' ', '#']) {
            return Vec::new();
        }
        let Some((targets, rest)) = line.split_once(':') else {
            return Vec::new();
        };
        if rest.starts_with('=') || rest.starts_with(":=") || targets.contains('=') {
            return Vec::new();
        }
        targets.split_whitespace().map(str::to_string).collect()
    };
    let defines = |target: &str| {
        text.lines()
            .any(|line| rule_targets(line).iter().any(|name| name == target))
    };
    ["check", "test", "tests"]
        .into_iter()
        .find(|target| defines(target))
}

/// A user command run in the environment of `toolset`, in `dir`.
pub fn command_step(command: &[String], dir: &Path, toolset: &Toolset) -> Option<Step> {
    let (program, args) = command.split_first()?;
    let env = match toolset {
        Toolset::Cross(cross) => cross.full_env(),
        Toolset::Native => BTreeMap::new(),
    };
    Some(
        Step::new(StepKind::Command, program, dir)
            .args(args.iter().cloned())
            .envs(env),
    )
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::BootstrapScript;

    fn cross_setup(root: &Path) -> CrossSetup {
        let vars = [
            ("AR", "aarch64-linux-gnu-ar"),
            (
                "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
                "aarch64-linux-gnu-gcc",
            ),
            ("CC", "aarch64-linux-gnu-gcc"),
            ("CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc"),
            ("CXX", "aarch64-linux-gnu-g++"),
            (
                "PKG_CONFIG_LIBDIR",
                "/sysroot/usr/lib/aarch64-linux-gnu/pkgconfig",
            ),
            ("RANLIB", "aarch64-linux-gnu-ranlib"),
        ];
        let files = root.join("build/archway/aarch64-unknown-linux-gnu/.archway");
        CrossSetup {
            missing_cxx: None,
            host_triple: "aarch64-linux-gnu".to_string(),
            build_triple: "x86_64-linux-gnu".to_string(),
            rust_target: Some("aarch64-unknown-linux-gnu".to_string()),
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            files: CrossFiles {
                cmake_toolchain: files.join("toolchain.cmake"),
                meson_cross: files.join("cross.ini"),
                config_site: files.join("config.site"),
                cargo_config: files.join("cargo.toml"),
            },
            loader_prefix: Some(PathBuf::from("/usr/aarch64-linux-gnu")),
        }
    }

    /// Renders a recipe with the temp dir replaced, for snapshots.
    fn render(recipe: &Recipe, root: &Path) -> String {
        let mut out = format!("build system: {}\n", recipe.build_system);
        out.push_str(&format!(
            "tests need binfmt: {}\n",
            recipe.tests_need_binfmt
        ));
        if let Some(copy) = &recipe.copy {
            out.push_str(&format!(
                "copy {} -> {}\n",
                copy.from.display(),
                copy.to.display()
            ));
        }
        for step in recipe
            .configure
            .iter()
            .chain(&recipe.build)
            .chain(&recipe.test)
        {
            out.push_str(&format!(
                "[{}] in {}\n  {}\n",
                step.kind,
                step.dir.display(),
                step.command_line()
            ));
            for (key, value) in &step.env {
                out.push_str(&format!("  env {key}={value}\n"));
            }
        }
        out.replace(&root.display().to_string(), "<project>")
    }

    fn snapshot(
        files: &[(&str, &str)],
        toolset: fn(&Path) -> Toolset,
        forced: Option<BuildSystem>,
    ) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).expect("write");
        }
        let project = Project::detect(dir.path(), forced).expect("detect");
        let build_dir = dir.path().join("build/archway/aarch64-unknown-linux-gnu");
        let toolset = toolset(dir.path());
        let recipe = recipe(&RecipeInput {
            project: &project,
            build_dir: &build_dir,
            toolset: &toolset,
            jobs: 2,
            meson_configured: false,
            configure_args: &[],
        });
        render(&recipe, dir.path())
    }

    fn cross(root: &Path) -> Toolset {
        Toolset::Cross(Box::new(cross_setup(root)))
    }

    fn native(_: &Path) -> Toolset {
        Toolset::Native
    }

    #[test]
    fn cmake_cross_recipe() {
        insta::assert_snapshot!(snapshot(&[("CMakeLists.txt", "")], cross, None));
    }

    #[test]
    fn meson_cross_recipe() {
        insta::assert_snapshot!(snapshot(&[("meson.build", "")], cross, None));
    }

    #[test]
    fn autoconf_cross_recipe() {
        let script = "#!/bin/sh\n# Generated by GNU Autoconf 2.71 for hello 2.12.\n";
        insta::assert_snapshot!(snapshot(&[("configure", script)], cross, None));
    }

    #[test]
    fn configure_ac_cross_recipe_generates_configure_in_a_copy() {
        // libyaml as Debian ships it: configure.ac, CMakeLists.txt, autogen.sh, no configure.
        insta::assert_snapshot!(snapshot(
            &[
                ("configure.ac", "AC_INIT([yaml], [0.2.5])\n"),
                ("CMakeLists.txt", ""),
                ("autogen.sh", "#!/bin/sh\nautoreconf -f -i\n"),
            ],
            cross,
            None
        ));
    }

    #[test]
    fn configure_ac_copy_leaves_out_the_build_directories() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("configure.in"), "AC_INIT([x], [1])\n").expect("write");
        let project = Project::detect(dir.path(), None).expect("detect");
        let build_dir = dir.path().join("build/archway/native");
        let recipe = recipe(&RecipeInput {
            project: &project,
            build_dir: &build_dir,
            toolset: &Toolset::Native,
            jobs: 1,
            meson_configured: false,
            configure_args: &["--disable-shared".to_string()],
        });
        assert_eq!(recipe.bootstrap, Some(Bootstrap::Autoreconf));
        let copy = recipe.copy.expect("copy");
        assert_eq!(copy.from, dir.path());
        assert_eq!(copy.to, build_dir.join("source"));
        assert!(copy.exclude.contains(&build_dir));
        assert!(copy.exclude.contains(&dir.path().join(".git")));
        let [autoreconf, configure] = &recipe.configure[..] else {
            panic!("two configure steps: {:?}", recipe.configure);
        };
        assert_eq!(autoreconf.command_line(), "autoreconf --force --install");
        assert_eq!(autoreconf.dir, copy.to);
        // Native: no --build/--host, the user's arguments after.
        assert_eq!(configure.program, path_arg(&copy.to.join("configure")));
        assert_eq!(configure.dir, copy.to);
        assert_eq!(configure.args, ["--disable-shared"]);
    }

    #[test]
    fn configure_ac_that_needs_the_project_script_runs_it_in_the_copy() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("configure.ac"),
            "m4_include([m4/libuv-extra-automake-flags.m4])\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("autogen.sh"), "#!/bin/sh\n").expect("write");
        let project = Project::detect(dir.path(), None).expect("detect");
        let build_dir = dir.path().join("build/archway/native");
        let recipe = recipe(&RecipeInput {
            project: &project,
            build_dir: &build_dir,
            toolset: &Toolset::Native,
            jobs: 1,
            meson_configured: false,
            configure_args: &[],
        });
        let script = Bootstrap::Script(BootstrapScript::AutogenSh);
        assert_eq!(recipe.bootstrap, Some(script));
        let copy = recipe.copy.expect("copy").to;
        let [bootstrap, configure] = &recipe.configure[..] else {
            panic!("two configure steps: {:?}", recipe.configure);
        };
        assert_eq!(bootstrap, &bootstrap_step(script, &copy));
        assert_eq!(
            bootstrap.env.get("NOCONFIGURE").map(String::as_str),
            Some("1")
        );
        assert_eq!(
            bootstrap.args.last().map(String::as_str),
            Some("autogen.sh")
        );
        assert_eq!(configure.program, path_arg(&copy.join("configure")));
    }

    /// Runs the bootstrap step of `script` in a temp dir holding `files` (name, text,
    /// executable), with a stub `autoreconf` first on PATH that records it ran and writes
    /// `configure` (or fails, with `autoreconf_fails`). The exit status, stderr, the dir.
    fn run_bootstrap(
        script: BootstrapScript,
        files: &[(&str, &str, bool)],
        autoreconf_fails: bool,
    ) -> (Option<i32>, String, tempfile::TempDir) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let tree = dir.path().join("source");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&tree).expect("tree");
        std::fs::create_dir_all(&bin).expect("bin");
        let autoreconf = if autoreconf_fails {
            "#!/bin/sh\necho autoreconf failed >&2\nexit 1\n".to_string()
        } else {
            format!(
                "#!/bin/sh\necho \"$*\" > {}\necho generated > configure\n",
                path_arg(&dir.path().join("autoreconf-ran"))
            )
        };
        let mut all: Vec<(PathBuf, String, bool)> = files
            .iter()
            .map(|(name, text, executable)| (tree.join(name), text.to_string(), *executable))
            .collect();
        all.push((bin.join("autoreconf"), autoreconf, true));
        for (path, text, executable) in all {
            std::fs::write(&path, text).expect("write");
            let mode = if executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        let step = bootstrap_step(Bootstrap::Script(script), &tree);
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output = std::process::Command::new(&step.program)
            .args(&step.args)
            .envs(&step.env)
            .env("PATH", path)
            .current_dir(&step.dir)
            .output()
            .expect("run sh");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
            dir,
        )
    }

    #[test]
    fn bootstrap_script_that_makes_configure_is_enough() {
        // NOCONFIGURE=1 reaches the script; a non-executable one runs with `sh`.
        for executable in [true, false] {
            let (code, stderr, dir) = run_bootstrap(
                BootstrapScript::AutogenSh,
                &[(
                    "autogen.sh",
                    "#!/bin/sh\ntest \"$NOCONFIGURE\" = 1 || exit 9\necho generated > configure\n",
                    executable,
                )],
                false,
            );
            assert_eq!(code, Some(0), "{stderr}");
            assert!(dir.path().join("source/configure").is_file());
            assert!(!dir.path().join("autoreconf-ran").exists(), "{stderr}");
        }
    }

    #[test]
    fn bootstrap_script_that_fails_falls_back_to_autoreconf_and_says_why() {
        let (code, stderr, dir) = run_bootstrap(
            BootstrapScript::Bootstrap,
            &[(
                "bootstrap",
                "#!/bin/sh\necho gtkdocize: not found >&2\nexit 3\n",
                true,
            )],
            false,
        );
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stderr.contains("gtkdocize: not found"), "{stderr}");
        assert!(
            stderr.contains(
                "archway: `bootstrap` exited with status 3 (its output is above); running \
                 autoreconf --force --install"
            ),
            "{stderr}"
        );
        let ran = std::fs::read_to_string(dir.path().join("autoreconf-ran")).expect("ran");
        assert_eq!(ran, "--force --install\n");
    }

    #[test]
    fn bootstrap_script_that_leaves_no_configure_falls_back_to_autoreconf() {
        let (code, stderr, dir) = run_bootstrap(
            BootstrapScript::AutogenSh,
            &[("autogen.sh", "#!/bin/sh\nexit 0\n", true)],
            false,
        );
        assert_eq!(code, Some(0), "{stderr}");
        assert!(
            stderr.contains("`autogen.sh` left no configure"),
            "{stderr}"
        );
        assert!(dir.path().join("autoreconf-ran").is_file());
    }

    #[test]
    fn bootstrap_fails_when_the_script_and_autoreconf_both_fail() {
        let (code, stderr, _dir) = run_bootstrap(
            BootstrapScript::AutogenSh,
            &[(
                "autogen.sh",
                "#!/bin/sh\necho aclocal: error >&2\nexit 1\n",
                true,
            )],
            true,
        );
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains("aclocal: error"), "{stderr}");
        assert!(stderr.contains("autoreconf failed"), "{stderr}");
    }

    #[test]
    fn bootstrap_cleans_a_configure_the_script_ran_anyway() {
        // An old-style autogen.sh that ignores NOCONFIGURE and ends with `./configure "$@"`.
        let autogen = "#!/bin/sh\necho generated > configure\n\
                       printf 'distclean:\\n\\trm -f config.status Makefile\\n' > Makefile\n\
                       touch config.status\n";
        let (code, stderr, dir) = run_bootstrap(
            BootstrapScript::AutogenSh,
            &[("autogen.sh", autogen, true)],
            false,
        );
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stderr.contains("ran configure in the copy"), "{stderr}");
        assert!(!dir.path().join("source/config.status").exists());
        assert!(dir.path().join("source/configure").is_file());
        assert!(!dir.path().join("autoreconf-ran").exists());
    }

    #[test]
    fn handwritten_configure_cross_recipe() {
        insta::assert_snapshot!(snapshot(
            &[("configure", "#!/bin/sh\n"), ("CMakeLists.txt", "")],
            cross,
            Some(BuildSystem::Configure)
        ));
    }

    #[test]
    fn makefile_cross_recipe() {
        let makefile = "CC=gcc\nall: prog\ntest: prog\n\t./prog\ncheck: test\n";
        insta::assert_snapshot!(snapshot(&[("Makefile", makefile)], cross, None));
    }

    #[test]
    fn makefile_keeps_its_own_linker_and_archiver_and_gets_the_cross_ones_from_the_environment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let makefile = "LD = $(CC)\nAR = ar rcu\nall: prog\nprog: prog.o\n\t$(LD) -o $@ prog.o\n";
        std::fs::write(dir.path().join("Makefile"), makefile).expect("write");
        let project = Project::detect(dir.path(), None).expect("detect");
        let mut setup = cross_setup(dir.path());
        setup
            .vars
            .insert("LD".to_string(), "aarch64-linux-gnu-ld".to_string());
        let recipe = recipe(&RecipeInput {
            project: &project,
            build_dir: &dir.path().join("b"),
            toolset: &Toolset::Cross(Box::new(setup)),
            jobs: 1,
            meson_configured: false,
            configure_args: &[],
        });
        let build = &recipe.build[0];
        assert!(
            build
                .args
                .iter()
                .any(|arg| arg == "CC=aarch64-linux-gnu-gcc"),
            "{:?}",
            build.args
        );
        for name in ["LD", "AR", "RANLIB"] {
            assert!(
                !build
                    .args
                    .iter()
                    .any(|arg| arg.starts_with(&format!("{name}="))),
                "{:?}",
                build.args
            );
        }
        assert_eq!(
            build.env.get("LD").map(String::as_str),
            Some("aarch64-linux-gnu-ld")
        );
        assert_eq!(
            build.env.get("AR").map(String::as_str),
            Some("aarch64-linux-gnu-ar")
        );
    }

    #[test]
    fn configure_tests_with_the_target_its_makefile_template_defines() {
        let cases: &[(Option<&str>, &str)] = &[
            // No template (zlib's hand-written configure writes Makefile from Makefile.in,
            // but a project may have neither): automake's `check`.
            (None, "check"),
            (Some("all: lib\ncheck: check-am\ntest: check\n"), "check"),
            // sqlite3 3.40's Makefile.in: `test:` and `fulltest:`, no `check:`.
            (
                Some("all: sqlite3\ntest:\t$(TESTPROGS)\nfulltest: alltest\n"),
                "test",
            ),
            // nettle 3.8's Makefile.in: one rule for four targets.
            (
                Some("all check install uninstall:\n\t$(MAKE) $@-here\ncheck-here:\n"),
                "check",
            ),
            // An assignment is not a rule; a later `test` target is.
            (Some("check := yes\ncheck ::= no\ntest :: prog\n"), "test"),
        ];
        for (template, expected) in cases {
            let files: Vec<(&str, &str)> = template
                .iter()
                .map(|template| ("Makefile.in", *template))
                .collect();
            assert_eq!(
                configure_test_target(&files).as_deref(),
                Some(*expected),
                "{template:?}"
            );
        }
    }

    /// The test target of a `configure` project with `files` besides its `configure`.
    fn configure_test_target(files: &[(&str, &str)]) -> Option<String> {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("configure"), "#!/bin/sh\n").expect("write");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let project = Project::detect(dir.path(), Some(BuildSystem::Configure)).expect("detect");
        let recipe = recipe(&RecipeInput {
            project: &project,
            build_dir: &dir.path().join("b"),
            toolset: &Toolset::Native,
            jobs: 1,
            meson_configured: false,
            configure_args: &[],
        });
        let step = recipe.test.first()?;
        assert_eq!(step.args.len(), 1, "{:?}", step.args);
        Some(step.args[0].clone())
    }

    #[test]
    fn a_configure_that_makes_no_makefile_tests_with_the_shipped_makefiles_target() {
        // brotli 1.0.9: `configure` only prints where the real build systems are; the shipped
        // Makefile builds and has `test`. Without any test target: no test step.
        for (makefile, expected) in [
            (
                "all: test\ntest: brotli\n\ttests/roundtrip_test.sh\n",
                Some("test"),
            ),
            ("all: prog\nclean:\n\trm -f prog\n", None),
        ] {
            let target = configure_test_target(&[("Makefile", makefile)]);
            assert_eq!(target.as_deref(), expected, "{makefile:?}");
        }
    }

    #[test]
    fn cargo_cross_recipe() {
        insta::assert_snapshot!(snapshot(&[("Cargo.toml", "")], cross, None));
    }

    #[test]
    fn native_recipes_have_no_cross_files_or_environment() {
        insta::assert_snapshot!(snapshot(&[("meson.build", "")], native, None));
        insta::assert_snapshot!(snapshot(&[("CMakeLists.txt", "")], native, None));
    }

    #[test]
    fn meson_reconfigures_a_configured_build_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("meson.build"), "").expect("write");
        let project = Project::detect(dir.path(), None).expect("detect");
        let recipe = recipe(&RecipeInput {
            project: &project,
            build_dir: &dir.path().join("b"),
            toolset: &Toolset::Native,
            jobs: 1,
            meson_configured: true,
            configure_args: &["-Dtests=true".to_string()],
        });
        assert_eq!(
            recipe.configure[0].args[..3],
            ["setup", "--reconfigure", "-Dtests=true"]
        );
    }

    #[test]
    fn make_test_target_prefers_check_then_test() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cases: &[(&str, Option<&str>)] = &[
            ("all:\ncheck: all\ntest: all\n", Some("check")),
            ("all:\ntest : all\n", Some("test")),
            ("tests: a b\n", Some("tests")),
            ("all:\ntest := 1\n", None),
            ("all:\n", None),
        ];
        for (text, expected) in cases {
            let makefile = dir.path().join("Makefile");
            std::fs::write(&makefile, text).expect("write");
            assert_eq!(make_test_target(&makefile), *expected, "{text:?}");
        }
    }

    #[test]
    fn shell_quote_quotes_only_when_needed() {
        assert_eq!(shell_quote("make"), "make");
        assert_eq!(shell_quote("-DCMAKE_X=/a/b"), "-DCMAKE_X=/a/b");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn command_step_gets_the_whole_cross_environment() {
        let root = Path::new("/p");
        let step = command_step(&["make".into(), "-j2".into()], root, &cross(root)).expect("step");
        assert_eq!(step.program, "make");
        assert_eq!(
            step.env.get("CC").map(String::as_str),
            Some("aarch64-linux-gnu-gcc")
        );
        assert!(step.env.contains_key("CMAKE_TOOLCHAIN_FILE"));
        assert_eq!(
            step.env.get("QEMU_LD_PREFIX").map(String::as_str),
            Some("/usr/aarch64-linux-gnu")
        );
        assert!(command_step(&[], root, &Toolset::Native).is_none());
    }
}
