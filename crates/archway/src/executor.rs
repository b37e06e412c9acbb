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

    /// A few words for the user: where the steps run and, for a sandbox, as whom.
    fn describe(&self) -> String;

    /// The file the steps' output goes to instead of the terminal (`-q`), if any.
    fn log(&self) -> Option<&Path> {
        None
    }

    /// The file holding a copy of the steps' output (the log, or the copy kept of what went
    /// to the terminal), read to say what a failed step was missing.
    fn transcript(&self) -> Option<&Path> {
        self.log()
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
    /// Both to our stderr, as [`ChildOutput::ToStderr`], and appended to this file: a failed
    /// step's output is read again afterwards ([`crate::missing`]).
    Tee(std::path::PathBuf),
}

impl ChildOutput {
    /// The log file, for [`ChildOutput::Log`].
    pub fn log(&self) -> Option<&Path> {
        match self {
            ChildOutput::Log(path) => Some(path),
            _ => None,
        }
    }

    /// The file that receives a copy of the output: [`ChildOutput::Log`]'s or
    /// [`ChildOutput::Tee`]'s.
    pub fn transcript(&self) -> Option<&Path> {
        match self {
            ChildOutput::Log(path) | ChildOutput::Tee(path) => Some(path),
            _ => None,
        }
    }

    /// Points `command`'s stdout and stderr where this says (a log file is opened for append).
    /// For [`ChildOutput::Tee`] a thread copies the output; [`Copier::finish`] waits for it
    /// once the command has ended and been dropped.
    pub fn apply(&self, command: &mut Command) -> Result<Option<Copier>, Error> {
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
            ChildOutput::Tee(path) => {
                let io = |action| {
                    move |source| Error::Io {
                        action,
                        path: path.clone(),
                        source,
                    }
                };
                // The copy is a convenience: without it the output still reaches the terminal.
                let open = || {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::File::options()
                        .create(true)
                        .append(true)
                        .open(path)
                };
                let Ok(log) = open() else {
                    tracing::debug!(log = %path.display(), "cannot open the build log");
                    command.stdout(stderr_handle());
                    return Ok(None);
                };
                // Both ends are close-on-exec (pipe2(O_CLOEXEC)): the child gets the write end
                // as its stdout and stderr only.
                let (reader, writer) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                    .map_err(|errno| io("create a pipe for")(std::io::Error::from(errno)))?;
                let copy = writer.try_clone().map_err(io("create a pipe for"))?;
                command.stdout(writer).stderr(copy);
                return Ok(Some(Copier::start(std::fs::File::from(reader), log)));
            }
        }
        Ok(None)
    }
}

/// Copies a step's output to archway's stderr and a log file ([`ChildOutput::Tee`]).
#[derive(Debug)]
pub struct Copier {
    done: std::sync::mpsc::Receiver<()>,
}

impl Copier {
    fn start(mut reader: std::fs::File, mut log: std::fs::File) -> Copier {
        use std::io::{Read, Write};
        let (sender, done) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut stderr = std::io::stderr();
            let mut buffer = [0u8; 16 * 1024];
            loop {
                match reader.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(read) => {
                        let _ = stderr.write_all(&buffer[..read]);
                        let _ = log.write_all(&buffer[..read]);
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = sender.send(());
        });
        Copier { done }
    }

    /// Waits until the output has been copied: the pipe's end of file, once every process
    /// holding its write end has ended. A process the step left running in the background
    /// may hold it for longer; after two seconds the copy goes on without being waited for.
    pub fn finish(self) {
        let _ = self.done.recv_timeout(std::time::Duration::from_secs(2));
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
        let copier = self.output.apply(&mut command)?;
        tracing::debug!(program = %step.program, args = ?step.args, dir = %step.dir.display(), "running step");
        let ended = run_supervised(&mut command, step, &self.output, |source| Error::Spawn {
            command: step.command_line(),
            source,
        });
        // The command holds the pipe's write end until it is dropped.
        drop(command);
        if let Some(copier) = copier {
            copier.finish();
        }
        ended
    }

    fn has_program(&self, program: &str) -> bool {
        find_program(program, std::env::var_os("PATH").as_deref()).is_some()
    }

    fn describe(&self) -> String {
        // The cross and native methods use this only with `--no-sandbox`.
        "the host itself, unsandboxed".to_string()
    }

    fn log(&self) -> Option<&Path> {
        self.output.log()
    }

    fn transcript(&self) -> Option<&Path> {
        self.output.transcript()
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
    fn tee_output_keeps_a_copy_of_stdout_and_stderr_in_the_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("logs/build.log");
        let executor = HostExecutor {
            output: ChildOutput::Tee(log.clone()),
            env: Default::default(),
        };
        let code = executor
            .run(&step(
                "sh",
                &["-c", "echo out; echo err >&2; exit 3"],
                dir.path(),
            ))
            .expect("ran");
        assert_eq!(code, Some(3));
        assert_eq!(executor.transcript(), Some(log.as_path()));
        assert_eq!(executor.log(), None, "the output went to the terminal too");
        let copied = std::fs::read_to_string(&log).expect("log");
        assert!(
            copied.contains("out\n") && copied.contains("err\n"),
            "{copied}"
        );
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
