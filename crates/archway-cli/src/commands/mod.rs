//! One module per subcommand. Each has `Args` (clap) and `run(args, context)`.

pub mod binfmt;
pub mod build;
pub mod cache;
pub mod completions;
pub mod config;
pub mod env;
pub mod inspect;
pub mod platform;
mod prune;
pub mod rootfs;
pub mod run;
pub mod shell;
pub mod sysroot;
pub mod test;
pub mod toolchain;

use std::process::ExitCode;

use crate::cli::{Command, Context};

pub fn run(command: Command, context: &Context) -> anyhow::Result<ExitCode> {
    match command {
        Command::Platform(args) => platform::run(args, context),
        Command::Inspect(args) => inspect::run(args, context),
        Command::Binfmt(args) => binfmt::run(args, context),
        Command::Toolchain(args) => toolchain::run(args, context),
        Command::Sysroot(args) => sysroot::run(args, context),
        Command::Env(args) => env::run(args, context),
        Command::Build(args) => build::run(args, context),
        Command::Test(args) => test::run(args, context),
        Command::Run(args) => run::run(args, context),
        Command::Rootfs(args) => rootfs::run(args, context),
        Command::Shell(args) => shell::run(args, context),
        Command::Config(args) => config::run(args, context),
        Command::Cache(args) => cache::run(args, context),
        Command::Completions(args) => completions::run(args, context),
        Command::Man(args) => completions::man(args, context),
    }
}
