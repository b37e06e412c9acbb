//! The toolchain crate's error.

use std::path::PathBuf;

/// Everything that can go wrong finding a toolchain, filling a sysroot or writing build files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No installed toolchain serves the target (with the requested family/version).
    #[error(
        "no cross toolchain for `{target}`{wanted} found on PATH (looked for {})",
        quoted(looked_for)
    )]
    NotFound {
        /// The target's name as a GNU config (`aarch64-unknown-linux-gnu`).
        target: String,
        /// ` (gcc 11)` when a family or version was asked for, else empty.
        wanted: String,
        /// The compiler names that were looked for, best first.
        looked_for: Vec<String>,
        /// The `archway toolchain install ...` command that fixes it.
        install: String,
    },
    /// A target for which no toolchain exists on Linux hosts (darwin, ios, msvc).
    #[error("no cross toolchain for `{target}` exists for Linux hosts: {reason}")]
    Unsupported { target: String, reason: String },
    /// A target Debian has no cross packages for.
    #[error("Debian has no cross toolchain packages for `{target}`")]
    NoPackages { target: String },
    /// apt does not know these packages (another version, or lists not updated).
    #[error("the package `{packages}` is not available from this machine's apt sources")]
    Unavailable { packages: String },
    /// An explicitly given tool (from `archway.toml` or a flag) does not exist.
    #[error("the {role} `{path}` does not exist or is not executable")]
    ToolMissing { role: &'static str, path: PathBuf },
    /// The compiler family or linker name is not one archway knows.
    #[error("unknown {what} `{input}` (expected one of: {expected})")]
    UnknownName {
        what: &'static str,
        input: String,
        expected: &'static str,
    },
    /// The target has no Debian architecture, so there are no packages to fill a sysroot with.
    #[error("`{target}` has no Debian architecture, so archway cannot fill a sysroot for it")]
    NoDebianArchitecture { target: String },
    /// The suite's archive has no packages for this architecture.
    #[error("Debian `{suite}` has no `{architecture}` packages")]
    SuiteLacksArchitecture {
        suite: archway_platform::debian_names::Suite,
        architecture: String,
    },
    /// A suite or package name that is not one (`archway_platform::debian_names`).
    #[error(transparent)]
    DebianName(#[from] archway_platform::Error),
    /// The file system holding the sysroot filled up; the previous tree is unchanged.
    #[error("no space left on the file system holding `{path}`")]
    DiskFull {
        path: PathBuf,
        target: String,
        #[source]
        source: Box<Error>,
    },
    /// A staged tree failed its check before replacing the current one (which is unchanged).
    #[error("the new sysroot tree at `{path}` is incomplete: {problem}")]
    Unverified { path: PathBuf, problem: String },
    /// `sysroot remove` or a build asked for a sysroot that was never created.
    #[error("there is no sysroot for `{target}` (looked in `{path}`)")]
    NoSysroot { target: String, path: PathBuf },
    /// A musl target without a sysroot holding the target's musl.
    #[error("building for `{target}` needs the target's musl C library in a sysroot")]
    MuslSysrootMissing { target: String },
    /// No QEMU user-mode emulator for the target on this machine.
    #[error("no QEMU user-mode emulator for `{target}` found (looked for {looked_for})")]
    NoEmulator { target: String, looked_for: String },
    /// No emulator archway knows runs this target's programs on Linux (QEMU user mode covers
    /// Linux programs, Wine x86 Windows ones, a WASI runtime `wasm32` WASI modules).
    #[error("no emulator runs `{target}` programs on this host (QEMU user mode runs Linux programs, Wine x86 Windows programs, a WASI runtime wasm32 modules)")]
    NotEmulable { target: String },
    /// The emulator for the target (Wine, a WASI runtime) is not installed.
    #[error("{emulator} is needed to run `{target}` programs and is not installed")]
    EmulatorMissing {
        target: String,
        emulator: String,
        /// The command that installs it, run as root.
        install: String,
    },
    /// Wine and the WASI runtime keep their runner (and Wine its prefix) in the cache.
    #[error("running `{target}` programs needs archway's cache directory, and none is known")]
    NoCacheDir { target: String },
    /// The Rust standard library for the target is not installed.
    #[error("the Rust standard library for `{triple}` is not installed (looked in `{path}`)")]
    RustStdMissing { triple: String, path: PathBuf },
    /// The target has no Rust triple.
    #[error("Rust has no target for `{target}`")]
    NoRustTarget { target: String },
    /// Installing needs root.
    #[error("installing the toolchain for `{target}` needs root")]
    NotRoot { target: String, command: String },
    /// A program could not be started.
    #[error("could not run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// A program ran and failed.
    #[error("`{command}` failed ({status})")]
    CommandFailed {
        command: String,
        status: String,
        /// The last lines of its stderr, for the `caused by:` line.
        #[source]
        output: CommandOutput,
        hint: Option<String>,
    },
    /// A file or directory could not be read or written.
    #[error("cannot {action} `{path}`")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A value (a flag, a path) that a generated file's syntax cannot carry unchanged.
    #[error("cannot write the {file}")]
    Unquotable {
        /// `Meson cross file`.
        file: &'static str,
        #[source]
        source: archway_platform::Error,
    },
    /// An environment variable name a shell cannot assign (from `env` in `archway.toml`).
    #[error("`{name}` is not a valid environment variable name for {shell}")]
    VariableName { name: String, shell: &'static str },
    /// A package list or manifest did not have the expected form.
    #[error("cannot understand `{path}`: {reason}")]
    Malformed { path: PathBuf, reason: String },
}

/// `ENOSPC`, as `std::io::Error` reports it.
fn is_disk_full(error: &std::io::Error) -> bool {
    error.raw_os_error() == Some(rustix::io::Errno::NOSPC.raw_os_error())
}

impl Error {
    /// This error as [`Error::DiskFull`] when it comes from a full disk: a file operation that
    /// failed with `ENOSPC`, or apt or dpkg-deb saying so (they report it as text).
    pub(crate) fn disk_full(self, path: &std::path::Path, target: &str) -> Error {
        let full = match &self {
            Error::Io { source, .. } => is_disk_full(source),
            Error::CommandFailed { output, .. } => output.0.contains("No space left on device"),
            _ => false,
        };
        if full {
            Error::DiskFull {
                path: path.to_path_buf(),
                target: target.to_string(),
                source: Box::new(self),
            }
        } else {
            self
        }
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tail of a failed program's output, shown as the `caused by:` of [`Error::CommandFailed`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CommandOutput(pub String);

impl Error {
    /// The `hint:` line for the user, with the command that fixes it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NotFound { install, .. } => Some(format!("run `{install}`")),
            Error::Unsupported { .. } => Some(
                "build it on a machine of that kind, or pick a Linux or MinGW target (`archway platform list`)"
                    .to_string(),
            ),
            Error::Unavailable { .. } => Some(
                "run `apt-get update` as root; `apt-cache search --names-only '^gcc-'` lists the cross compilers your release has".to_string(),
            ),
            Error::NoPackages { .. } => Some(
                "give a compiler explicitly: `cc = \"/path/to/gcc\"` under `[target.<name>]` in archway.toml".to_string(),
            ),
            Error::ToolMissing { .. } => {
                Some("fix the path in archway.toml or on the command line".to_string())
            }
            Error::UnknownName { .. } => None,
            Error::NoDebianArchitecture { .. } => Some(
                "give a sysroot you made yourself: `sysroot = \"/path\"` under `[target.<name>]` in archway.toml"
                    .to_string(),
            ),
            Error::SuiteLacksArchitecture { architecture, .. } => {
                match archway_platform::debian_names::Suite::default_for(architecture) {
                    Some(suite) => Some(format!("use `--suite {suite}`")),
                    None => Some(format!(
                        "no Debian release has `{architecture}` (only Debian Ports builds it): give a sysroot you made yourself with `sysroot = \"/path\"` in archway.toml"
                    )),
                }
            }
            Error::DebianName(error) => error.hint(),
            Error::DiskFull { target, .. } => Some(format!(
                "free space there (or set `ARCHWAY_CACHE_DIR` to a larger disk), then run `archway sysroot add --target {target}` again; the previous sysroot is unchanged"
            )),
            Error::Unverified { .. } => Some(
                "this is a bug in archway or an inconsistent mirror; the previous sysroot is unchanged, so builds keep working"
                    .to_string(),
            ),
            Error::NoSysroot { target, .. } => Some(format!(
                "`archway sysroot list` shows the sysroots; `archway sysroot add --target {target} PACKAGE...` creates one"
            )),
            Error::MuslSysrootMissing { target } => Some(format!(
                "run `archway sysroot add --target {target}` (it fetches the target's own Debian `musl-dev`)"
            )),
            Error::NoEmulator { .. } => {
                Some("run `apt-get install qemu-user-static` as root".to_string())
            }
            Error::NotEmulable { .. } => None,
            Error::EmulatorMissing { install, .. } => Some(format!("run `{install}` as root")),
            Error::NoCacheDir { .. } => Some(
                "set `ARCHWAY_CACHE_DIR` (or `HOME`) to a directory archway may write to".to_string(),
            ),
            Error::RustStdMissing { triple, .. } => Some(format!("run `rustup target add {triple}`")),
            Error::NoRustTarget { .. } => None,
            Error::NotRoot { command, .. } => Some(format!("run `sudo {command}`")),
            Error::Spawn { command, .. }
                if command.contains("apt-get") || command.contains("apt-cache") || command.contains("dpkg-deb") =>
            {
                Some(
                    "archway fills sysroots and installs toolchains with Debian's apt and dpkg: run it on a Debian or Ubuntu host"
                        .to_string(),
                )
            }
            Error::Spawn { command, .. } if command.contains("rustc") => {
                Some("install Rust with rustup (https://rustup.rs), then `rustup target add <triple>`".to_string())
            }
            Error::Spawn { .. } => None,
            Error::CommandFailed { hint, .. } => hint.clone(),
            Error::Io { .. } | Error::Malformed { .. } => None,
            Error::Unquotable { source, .. } => source.hint(),
            Error::VariableName { .. } => Some(
                "rename it in the `env` table of `archway.toml`: a letter or `_`, then letters, digits and `_`"
                    .to_string(),
            ),
        }
    }
}
