//! `archway test`: build the project for a target, then run its own test suite through the
//! emulator (ctest with `CMAKE_CROSSCOMPILING_EMULATOR`, `meson test` with the exe_wrapper,
//! `make check` through binfmt_misc, `cargo test` with the runner).

use std::process::ExitCode;

use archway::build::Goal;

use crate::cli::Context;
use crate::commands::build::{run_goal, Common};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Run the tests even when this very build (same key) passed them before.
    #[arg(long)]
    pub rerun: bool,
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let mut options = args.common.options(Vec::new(), context)?;
    options.rerun = args.rerun;
    run_goal(&args.common, &options, Goal::Test, context)
}
