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
        Err(error) => match interrupted(&error) {
            // Not an error of the build: one line, and the shell's code for the signal.
            Some(interrupted) => {
                eprintln!("{interrupted}");
                ExitCode::from(interrupted.exit_code())
            }
            None => report::print(&error, &context),
        },
    }
}

/// The interruption (SIGINT, SIGTERM...) that ended the build, if one did.
fn interrupted(error: &anyhow::Error) -> Option<&archway::Error> {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<archway::Error>())
        .find(|cause| matches!(cause, archway::Error::Interrupted { .. }))
}
