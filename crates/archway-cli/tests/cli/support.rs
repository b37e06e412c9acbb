//! Running the built `archway` binary for tests.
//!
//! Every run gets its own temporary `HOME`, `XDG_CACHE_HOME`, `XDG_CONFIG_HOME` and
//! `XDG_DATA_HOME`, `NO_COLOR=1`, and no `ARCHWAY_*` variables from the environment, so
//! results do not depend on the machine's configuration. [`Output::snapshot`] renders a run
//! for insta with the temporary paths replaced by `[TEMP]`.
//!
//! ```ignore
//! let output = support::archway().args(["platform", "show", "arm64"]).run();
//! assert_eq!(output.code, Some(0));
//! insta::assert_snapshot!(output.snapshot());
//! ```

#![allow(dead_code)] // Each test module uses a different part of the helper.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A prepared `archway` invocation with an isolated environment.
#[derive(Debug)]
pub struct Archway {
    temp: tempfile::TempDir,
    command: Command,
    stdin: Option<Vec<u8>>,
    filters: Vec<(String, String)>,
}

/// archway again in an earlier run's work directory, with its home and without the build
/// cache: the second build has to find what the first one left.
pub fn again_in(temp: &Path) -> Archway {
    archway()
        .current_dir(temp.join("work"))
        .env("HOME", temp.join("home"))
        .env("XDG_CACHE_HOME", temp.join("home/.cache"))
        .env("XDG_CONFIG_HOME", temp.join("home/.config"))
        .env("XDG_DATA_HOME", temp.join("home/.local/share"))
        .env("ARCHWAY_CACHE_ENABLED", "false")
}

/// `archway` with a fresh temporary home.
pub fn archway() -> Archway {
    let temp = tempfile::Builder::new()
        .prefix("archway-cli-test-")
        .tempdir()
        .expect("creating a temporary directory for the test home");
    let home = temp.path().join("home");
    for dir in [
        "home",
        "home/.cache",
        "home/.config",
        "home/.local/share",
        "work",
    ] {
        std::fs::create_dir_all(temp.path().join(dir)).expect("creating the test home");
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_archway"));
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if key_text.starts_with("ARCHWAY_")
            || key_text == "RUST_LOG"
            || key_text == "CLICOLOR_FORCE"
        {
            command.env_remove(&key);
        }
    }
    command
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .current_dir(temp.path().join("work"));
    Archway {
        temp,
        command,
        stdin: None,
        filters: Vec::new(),
    }
}

impl Archway {
    /// The temporary directory (holds `home/` and the working directory `work/`).
    pub fn temp(&self) -> &Path {
        self.temp.path()
    }
    /// The working directory the command runs in (`<temp>/work`) unless changed.
    pub fn work_dir(&self) -> PathBuf {
        self.temp.path().join("work")
    }
    /// The temporary `HOME`.
    pub fn home(&self) -> PathBuf {
        self.temp.path().join("home")
    }
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Archway {
        self.command.arg(arg);
        self
    }
    pub fn args<I, S>(mut self, args: I) -> Archway
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Archway {
        self.command.env(key, value);
        self
    }
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Archway {
        self.command.env_remove(key);
        self
    }
    /// Use the machine's real cache (`$XDG_CACHE_HOME` of the test process, or
    /// `~/.cache`), for tests whose setup is expensive (root filesystems).
    pub fn real_cache(mut self) -> Archway {
        self.command.env("XDG_CACHE_HOME", real_xdg_cache());
        // The build cache of a shared cache directory would turn the next run's builds into
        // restores: these tests are about the builds.
        self.command.env("ARCHWAY_CACHE_ENABLED", "false");
        self
    }
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Archway {
        self.command.current_dir(dir);
        self
    }
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Archway {
        self.stdin = Some(bytes.into());
        self
    }
    /// Replace `from` with `to` in the snapshot (for paths and values that vary per run).
    pub fn filter(mut self, from: impl Into<String>, to: impl Into<String>) -> Archway {
        self.filters.push((from.into(), to.into()));
        self
    }

    /// Runs to completion and captures everything.
    pub fn run(mut self) -> Output {
        use std::io::Write;
        self.command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.command.spawn().expect("spawning the archway binary");
        if let Some(bytes) = self.stdin.take() {
            let mut stdin = child.stdin.take().expect("stdin is piped");
            // A command that exits without reading stdin closes the pipe: not our failure.
            let _ = stdin.write_all(&bytes);
        }
        let output = child.wait_with_output().expect("waiting for archway");
        let mut filters = self.filters;
        // Longest first, so `/tmp/x/work` is not half-replaced by `/tmp/x`.
        let temp = self.temp.path().to_string_lossy().into_owned();
        if let Ok(canonical) = self.temp.path().canonicalize() {
            let canonical = canonical.to_string_lossy().into_owned();
            if canonical != temp {
                filters.push((canonical, "[TEMP]".to_string()));
            }
        }
        filters.push((temp, "[TEMP]".to_string()));
        filters.push((
            env!("CARGO_BIN_EXE_archway").to_string(),
            "[ARCHWAY]".to_string(),
        ));
        Output {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            filters,
            _temp: self.temp,
        }
    }
}

impl Archway {
    /// Runs archway as the last arguments of `wrapper` (a program and its arguments), with
    /// the arguments, environment and directory given so far.
    pub fn under(mut self, wrapper: &[&OsStr]) -> Archway {
        let (program, arguments) = wrapper.split_first().expect("a wrapper program");
        let mut command = Command::new(program);
        command
            .args(arguments)
            .arg(self.command.get_program())
            .args(self.command.get_args());
        for (key, value) in self.command.get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        if let Some(directory) = self.command.get_current_dir() {
            command.current_dir(directory);
        }
        self.command = command;
        self
    }

    /// Starts the command without waiting for it: standard input from `/dev/null`, standard
    /// output and error into files of the temporary directory. Dropping the [`Running`] kills
    /// it (SIGKILL) if it still runs.
    pub fn spawn(mut self) -> Running {
        let create = |name: &str| {
            std::fs::File::create(self.temp.path().join(name)).expect("creating an output file")
        };
        self.command
            .stdin(Stdio::null())
            .stdout(create("stdout"))
            .stderr(create("stderr"));
        let child = self.command.spawn().expect("spawning the archway binary");
        Running {
            child,
            temp: self.temp,
        }
    }
}

/// An `archway` started by [`Archway::spawn`].
#[derive(Debug)]
pub struct Running {
    child: std::process::Child,
    temp: tempfile::TempDir,
}

impl Running {
    /// archway's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.temp.path().join("stderr")).unwrap_or_default()
    }

    /// Whether it has ended (it is reaped then).
    pub fn has_ended(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits at most `limit` for it to end: its exit code (`None`: killed by a signal), or
    /// `Err` with its stderr when it still runs.
    pub fn wait_for(&mut self, limit: std::time::Duration) -> Result<Option<i32>, String> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Ok(status.code());
            }
            if std::time::Instant::now() >= deadline {
                return Err(self.stderr());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a run produced. Keeps the temporary directory alive until dropped.
#[derive(Debug)]
pub struct Output {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    filters: Vec<(String, String)>,
    _temp: tempfile::TempDir,
}

impl Output {
    /// The temporary directory of the run (still present while `self` lives).
    pub fn temp(&self) -> &Path {
        self._temp.path()
    }

    /// Applies the filters (temporary paths → `[TEMP]`, binary path → `[ARCHWAY]`).
    pub fn filtered(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (from, to) in &self.filters {
            if !from.is_empty() {
                text = text.replace(from.as_str(), to);
            }
        }
        text
    }

    /// `exit code`, `stdout` and `stderr` in one filtered text, for `insta::assert_snapshot!`.
    pub fn snapshot(&self) -> String {
        let code = match self.code {
            Some(code) => code.to_string(),
            None => "killed by a signal".to_string(),
        };
        format!(
            "success: {}\nexit_code: {code}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            self.code == Some(0),
            self.filtered(&self.stdout),
            self.filtered(&self.stderr)
        )
    }

    /// Panics with the whole output unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Output {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\n{}",
            self.snapshot()
        );
        self
    }
}

/// The workspace's one rule: tests that need a tool or root must run under CI, and may only
/// skip (saying why) outside it.
pub use archway_platform::testing::skip_unless_ci;

/// Is `program` on PATH?
/// The test process's `$XDG_CACHE_HOME`, or `~/.cache`.
fn real_xdg_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/root/.cache"))
}

/// The machine's archway cache directory, as [`Archway::real_cache`] gives it.
pub fn real_cache_dir() -> PathBuf {
    real_xdg_cache().join("archway")
}

pub fn have_tool(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// A binfmt_misc entry for `target` while the guard lives, when no enabled entry runs it yet:
/// archway's own temporary registration (unique name, `F` flag, shared by the tests of this
/// process and removed when the last one drops it). Needs root.
pub fn emulation_for(target: &str) -> Option<archway::emulation::TemporaryRegistration> {
    let platform = archway_platform::Platform::parse(target).expect("a valid target");
    archway::emulation::TemporaryRegistration::for_target(&platform)
        .expect("registering a temporary binfmt entry (as root)")
}

/// `archway <kind> prune --json EXTRA...` (`rootfs` or `sysroot`) over the cache directory
/// `cache`: the `removed` and `kept_because` it gives the entry `name`.
pub fn pruned(
    cache: &Path,
    kind: &str,
    name: &str,
    extra: &[&str],
) -> (serde_json::Value, serde_json::Value) {
    let output = archway()
        .env("ARCHWAY_CACHE_DIR", cache)
        .args([kind, "prune", "--json"])
        .args(extra)
        .run();
    output.assert_code(0);
    let entries: serde_json::Value =
        serde_json::from_str(&output.stdout).expect("prune --json prints JSON");
    let entry = entries
        .as_array()
        .and_then(|entries| entries.iter().find(|entry| entry["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {entries}"));
    (entry["removed"].clone(), entry["kept_because"].clone())
}

/// `archway build --target arm64 --method METHOD` of a project at `project` whose build step
/// takes 4 s, with the cache directory `cache`, returned once that step runs (while the build
/// holds what it uses).
pub fn slow_build_started(cache: &Path, project: &Path, method: &str) -> Running {
    std::fs::create_dir_all(project).expect("project");
    std::fs::write(
        project.join("Makefile"),
        "all:\n\tsleep 4 && touch built\n\ncheck:\n\ttrue\n",
    )
    .expect("Makefile");
    let mut build = archway()
        .env("ARCHWAY_CACHE_DIR", cache)
        .args(["build", "--target", "arm64", "--method", method, "-C"])
        .arg(project)
        .spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !build.stderr().contains("build: make") {
        assert!(
            !build.has_ended() && std::time::Instant::now() < deadline,
            "the build did not start its step: {}",
            build.stderr()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    build
}
