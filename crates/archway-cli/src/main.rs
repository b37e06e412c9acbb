//! The `archway` command. Data goes to stdout, everything for humans to stderr.

mod cli;
mod commands;
mod progress;
mod report;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let context = cli::Context::new(&cli.global);
    match commands::run(cli.command, &context) {
        Ok(code) => code,
        Err(error) => report::print(&error, &context),
    }
}
