//! `archway rootfs` — SKELETON, filled in by its issue's owner.

use std::process::ExitCode;

use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, _context: &Context) -> anyhow::Result<ExitCode> {
    super::not_yet("rootfs")
}
