//! Error reporting: `error: ...`, `caused by: ...` lines, then a `hint:` with the fixing command.
//!
//! Exit codes: 0 success, 1 user or input error, 2 unexpected failure, or the build's own code.

use std::fmt;
use std::process::ExitCode;

use crate::cli::Context;

/// A CLI-level failure with its own hint and exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
    pub code: u8,
}

impl Failure {
    /// A user or input error (exit 1).
    pub fn user(message: impl Into<String>, hint: impl Into<Option<String>>) -> Failure {
        Failure {
            message: message.into(),
            hint: hint.into(),
            code: 1,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The hint of the first error in the chain that has one. Each library crate's `Error` has a
/// `hint()`; add a line here when a crate gains one.
fn hint_of(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<Failure>() {
            return e.hint.clone();
        }
        if let Some(e) = cause.downcast_ref::<archway_platform::Error>() {
            return e.hint();
        }
        if let Some(e) = cause.downcast_ref::<archway::config::Error>() {
            return e.hint();
        }
        if let Some(e) = cause.downcast_ref::<archway_toolchain::Error>() {
            return e.hint();
        }
        if let Some(e) = cause.downcast_ref::<archway_binfmt::Error>() {
            return e.hint();
        }
        if let Some(e) = cause.downcast_ref::<archway_rootfs::Error>() {
            return e.hint();
        }
        if let Some(e) = cause.downcast_ref::<archway_cache::StoreError>() {
            return e.hint();
        }
        if let Some(e) = cause.downcast_ref::<archway::plan::Unavailable>() {
            return e.hint();
        }
        if let Some(e) = cause.downcast_ref::<archway::Error>() {
            return e.hint();
        }
        None
    })
}

fn code_of(error: &anyhow::Error) -> u8 {
    error
        .chain()
        .find_map(|cause| {
            if let Some(e) = cause.downcast_ref::<archway::Error>() {
                return Some(e.exit_code());
            }
            cause.downcast_ref::<Failure>().map(|f| f.code)
        })
        .unwrap_or(1)
}

/// Prints `error` to stderr in the house format and returns the exit code.
pub fn print(error: &anyhow::Error, context: &Context) -> ExitCode {
    let (red, bold, reset) = if context.color {
        ("\x1b[31;1m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    eprintln!("{red}error{reset}: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if let Some(hint) = hint_of(error) {
        eprintln!("{bold}hint{reset}: {hint}");
    }
    ExitCode::from(code_of(error))
}

/// Sets up tracing on stderr: `-v` info, `-vv` debug, `-vvv` trace; `ARCHWAY_LOG` overrides.
pub fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("ARCHWAY_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
