//! Where steps run: the seam between *what* to run (a [`Step`]) and *how* (on the host, or in
//! a sandboxed target root filesystem).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::process::{Ended, Group};
use crate::steps::Step;
use crate::Error;

/// Runs steps. [`HostExecutor`] runs them on this machine; the emulated method implements this
/// for its sandbox, so the same [`Recipe`](crate::steps::Recipe) builds in both.
pub trait Executor: std::fmt::Debug {
    /// Runs `step` to completion; `Ok` with the exit code (`None`: killed by a signal).
    /// `Err` only when it could not be started.
    fn run(&self, step: &Step) -> Result<Option<i32>, Error>;

    /// Whether `program` can be started (checked before the first step, to say which package
    /// is missing rather than failing midway).
    fn has_program(&self, program: &str) -> bool;

    /// A few words for the user: `host`, `bubblewrap in <rootfs>`.
    fn describe(&self) -> String;

    /// The file the steps' output goes to, if any.
    fn log(&self) -> Option<&Path> {
        None
    }
}

/// Where a child's standard output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildOutput {
    /// To our stderr: stdout carries archway's own data, a build's chatter is for humans.
    ToStderr,
    /// Inherited unchanged (a user command whose output is the point).
    Inherit,
    /// Discarded (benchmarks).
    Null,
    /// Both stdout and stderr appended to this file (tests keep the log to show on failure).
    Log(std::path::PathBuf),
}

impl ChildOutput {
    /// The log file, for [`ChildOutput::Log`].
    pub fn log(&self) -> Option<&Path> {
        match self {
            ChildOutput::Log(path) => Some(path),
            _ => None,
        }
    }

    /// Points `command`'s stdout and stderr where this says (a log file is opened for append).
    pub fn apply(&self, command: &mut Command) -> Result<(), Error> {
        match self {
            ChildOutput::ToStderr => {
                command.stdout(stderr_handle());
            }
            ChildOutput::Inherit => {}
            ChildOutput::Null => {
                command.stdout(Stdio::null()).stderr(Stdio::null());
            }
            ChildOutput::Log(path) => {
                let io = |source| Error::Io {
                    action: "open the log",
                    path: path.clone(),
                    source,
                };
                let log = std::fs::File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(io)?;
                let copy = log.try_clone().map_err(io)?;
                command.stdout(log).stderr(copy);
            }
        }
        Ok(())
    }
}

/// Runs steps as child processes of archway.
#[derive(Debug, Clone)]
pub struct HostExecutor {
    pub output: ChildOutput,
    /// Variables every step gets, under the step's own (the native method's CC, CFLAGS, `env`).
    pub env: std::collections::BTreeMap<String, String>,
}

impl Default for HostExecutor {
    fn default() -> HostExecutor {
        HostExecutor {
            output: ChildOutput::ToStderr,
            env: Default::default(),
        }
    }
}

impl Executor for HostExecutor {
    fn run(&self, step: &Step) -> Result<Option<i32>, Error> {
        let mut command = Command::new(&step.program);
        command
            .args(&step.args)
            .current_dir(&step.dir)
            .envs(&self.env)
            .envs(&step.env);
        self.output.apply(&mut command)?;
        tracing::debug!(program = %step.program, args = ?step.args, dir = %step.dir.display(), "running step");
        run_supervised(&mut command, step, &self.output, |source| Error::Spawn {
            command: step.command_line(),
            source,
        })
    }

    fn has_program(&self, program: &str) -> bool {
        find_program(program, std::env::var_os("PATH").as_deref()).is_some()
    }

    fn describe(&self) -> String {
        "host".to_string()
    }

    fn log(&self) -> Option<&Path> {
        self.output.log()
    }
}

/// Runs a step's `command` under the [process supervisor](crate::process): in its own process
/// group with standard input from `/dev/null` (a build step must not wait for the terminal:
/// read from a background group, it would stop on SIGTTIN), except a user's command whose
/// output is inherited, which keeps standard input and, when that is a terminal, archway's
/// group (job control, as `archway run`). `spawn_error` says why it could not start.
pub(crate) fn run_supervised(
    command: &mut Command,
    step: &Step,
    output: &ChildOutput,
    spawn_error: impl FnOnce(std::io::Error) -> Error,
) -> Result<Option<i32>, Error> {
    use std::io::IsTerminal;
    let group = if *output != ChildOutput::Inherit {
        command.stdin(Stdio::null());
        Group::Own
    } else if std::io::stdin().is_terminal() {
        Group::Inherited
    } else {
        Group::Own
    };
    match crate::process::run(command, group).map_err(spawn_error)? {
        Ended::Exited(status) => Ok(status.code()),
        Ended::Interrupted { signal } => Err(Error::Interrupted {
            signal,
            command: step.command_line(),
        }),
    }
}

pub(crate) fn stderr_handle() -> Stdio {
    use std::os::fd::AsFd;
    match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => Stdio::from(fd),
        Err(_) => Stdio::inherit(),
    }
}

/// Looks `program` up the way `execvp` does: a name with a slash is a path, anything else is
/// searched in `path`.
pub fn find_program(program: &str, path: Option<&std::ffi::OsStr>) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |candidate: &Path| {
        candidate
            .metadata()
            .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.contains('/') {
        let candidate = Path::new(program);
        return executable(candidate).then(|| candidate.to_path_buf());
    }
    std::env::split_paths(path?)
        .map(|dir| dir.join(program))
        .find(|candidate| executable(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use crate::steps::StepKind;

    fn step(program: &str, args: &[&str], dir: &Path) -> Step {
        Step {
            kind: StepKind::Command,
            program: program.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            dir: dir.to_path_buf(),
            env: BTreeMap::from([("ARCHWAY_STEP_TEST".to_string(), "yes".to_string())]),
        }
    }

    #[test]
    fn host_executor_runs_in_the_directory_with_the_environment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let executor = HostExecutor {
            output: ChildOutput::Null,
            env: Default::default(),
        };
        let script = "test \"$ARCHWAY_STEP_TEST\" = yes && pwd > out";
        let code = executor
            .run(&step("sh", &["-c", script], dir.path()))
            .expect("ran");
        assert_eq!(code, Some(0));
        let written = std::fs::read_to_string(dir.path().join("out")).expect("out");
        assert_eq!(
            Path::new(written.trim()),
            dir.path().canonicalize().expect("canonical")
        );
    }

    #[test]
    fn host_executor_returns_the_exit_code_and_reports_missing_programs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let executor = HostExecutor {
            output: ChildOutput::Null,
            env: Default::default(),
        };
        assert_eq!(
            executor
                .run(&step("sh", &["-c", "exit 7"], dir.path()))
                .expect("ran"),
            Some(7)
        );
        let error = executor
            .run(&step("archway-no-such-program", &[], dir.path()))
            .expect_err("missing");
        assert!(matches!(error, Error::Spawn { .. }));
        assert!(!executor.has_program("archway-no-such-program"));
        assert!(executor.has_program("sh"));
    }

    #[test]
    fn find_program_searches_the_given_path_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let tool = dir.path().join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").expect("write");
        assert_eq!(
            find_program("tool", Some(dir.path().as_os_str())),
            None,
            "not executable"
        );
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(
            find_program("tool", Some(dir.path().as_os_str())),
            Some(tool.clone())
        );
        assert_eq!(find_program("tool", None), None);
        assert_eq!(find_program(&tool.display().to_string(), None), Some(tool));
    }
}
