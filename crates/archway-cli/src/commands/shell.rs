//! `archway shell`: an interactive shell in a target's build environment.

use std::process::ExitCode;

use anyhow::Context as _;
use archway::method::MethodRequest;
use archway::ops::Shell;

use crate::cli::Context;
use crate::commands::rootfs::{self, KeyArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub key: KeyArgs,
    /// `auto` (native, else hybrid, else emulated), `native`, `cross`, `hybrid` or `emulated`.
    #[arg(long, default_value = "auto", value_parser = crate::commands::config::parse_method)]
    pub method: MethodRequest,
    /// Share the host's network inside the root filesystem.
    #[arg(long)]
    pub network: bool,
    /// Apply `[profile.NAME]` of `archway.toml` (its toolchain and rootfs packages).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Register the binfmt_misc entry the root filesystem needs, if missing.
    #[arg(long)]
    pub setup: bool,
    /// Print the whole method decision.
    #[arg(long)]
    pub explain: bool,
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let directory = std::env::current_dir().context("finding the current directory")?;
    let options = archway::ops::ShellOptions {
        directory: directory.clone(),
        target: args.key.target.clone(),
        profile: args.profile,
        method: args.method,
        suite: args.key.suite.clone(),
        packages: args.key.packages.clone(),
        network: args.network,
        setup: args.setup,
        explain: args.explain,
    };
    match archway::ops::shell(&options, &context.reporter())? {
        Shell::Sandbox {
            method,
            description,
            mut command,
            in_use: _in_use,
        } => {
            eprintln!(
                "{method} shell: {description}; `{}` is writable, `exit` leaves",
                directory.display()
            );
            let status = command
                .status()
                .map_err(|error| rootfs::missing_bwrap(error, "bwrap".into()))?;
            Ok(rootfs::exit_code(status))
        }
        Shell::Host { method } => {
            let shell = std::env::var_os("SHELL").unwrap_or_else(|| "/bin/sh".into());
            if method == archway::method::Method::Cross {
                eprintln!(
                    "cross shell: run `eval \"$(archway env --target {})\"` inside for CC, CXX, PKG_CONFIG_*",
                    args.key.target
                );
            }
            let status = std::process::Command::new(&shell)
                .status()
                .with_context(|| format!("running `{}`", shell.to_string_lossy()))?;
            Ok(rootfs::exit_code(status))
        }
    }
}
