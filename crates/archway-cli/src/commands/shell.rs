//! `archway shell`: an interactive shell in a target's build environment.

use std::process::ExitCode;

use anyhow::Context as _;
use archway::emulated::{self, Emulated};
use archway::plan::{Method, MethodRequest};

use crate::cli::Context;
use crate::commands::rootfs::{self, KeyArgs};
use crate::report::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub key: KeyArgs,
    /// `auto` (native, else cross, else emulated), `native`, `cross` or `emulated`.
    #[arg(long, default_value = "auto")]
    pub method: String,
    /// Share the host's network inside the emulated environment.
    #[arg(long)]
    pub network: bool,
    /// Apply `[profile.NAME]` of `archway.toml` (its toolchain and rootfs packages).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Register the binfmt_misc entry the emulated environment needs, if missing.
    #[arg(long)]
    pub setup: bool,
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let request: MethodRequest = args.method.parse().map_err(|message: String| {
        Failure::user(message, Some("use `--method auto`".to_string()))
    })?;
    let key = args.key.key()?;
    let method = match request {
        MethodRequest::Only(method) => method,
        // A shell has no toolchain to choose: native when the host runs the target, else the
        // emulated system (a cross shell is `archway env` in the host's own shell).
        MethodRequest::Auto if emulated::host_runs(key.architecture) => Method::Native,
        MethodRequest::Auto => Method::Emulated,
    };
    match method {
        Method::Emulated => {
            rootfs::require_emulation(key.architecture, args.setup)?;
            let project = std::env::current_dir().context("finding the current directory")?;
            // The configuration's rootfs suite and packages, toolchain (`gcc-11` installed,
            // `CC=gcc-11`) and variables, for this target and profile.
            let (key, variables) = super::config::emulated_for(&args.key, args.profile.as_deref())?;
            let mut environment = Emulated::new(rootfs::store()?, key, project);
            environment.environment = variables;
            environment.network = args.network;
            environment.interpreter_to_bind =
                emulated::interpreter_to_bind(environment.key.architecture.qemu_user());
            rootfs::run_shell(&environment, context)
        }
        Method::Native | Method::Cross => {
            let shell = std::env::var_os("SHELL").unwrap_or_else(|| "/bin/sh".into());
            let mut command = std::process::Command::new(&shell);
            if method == Method::Cross {
                eprintln!("cross shell: run `eval \"$(archway env --target {})\"` inside for CC, CXX, PKG_CONFIG_*", args.key.target);
            }
            let status = command
                .status()
                .with_context(|| format!("running `{}`", shell.to_string_lossy()))?;
            Ok(rootfs::exit_code(status))
        }
    }
}
