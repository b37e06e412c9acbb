//! The `archway` command. Data goes to stdout, everything for humans to stderr.

mod cli;
mod commands;
mod progress;
mod report;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` print and succeed; a usage error is the user's (exit 1, not
        // clap's default 2, which the house style keeps for unexpected failures).
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let context = cli::Context::new(&cli.global);
    match commands::run(cli.command, &context) {
        Ok(code) => code,
        Err(error) => report::print(&error, &context),
    }
}
