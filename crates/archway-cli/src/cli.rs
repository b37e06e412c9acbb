//! The command-line definition (clap). Completions and the man page come from the same types.

use std::io::IsTerminal;

use clap::{Args, Parser, Subcommand};

use crate::commands;

/// Build software for another CPU architecture as easily as for your own machine.
///
/// Targets can be named as nixpkgs `pkgsCross` names (`aarch64-multiplatform`), short
/// aliases (`arm64`, `riscv64`), Nix doubles (`aarch64-linux`), GNU triples
/// (`arm-linux-gnueabihf`), Rust triples (`riscv64gc-unknown-linux-gnu`) or OCI platforms
/// (`linux/arm/v7`). `archway platform list` shows the catalog.
#[derive(Debug, Parser)]
#[command(
    name = "archway",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More output on stderr (-v: info, -vv: debug, -vvv: trace). Also `ARCHWAY_LOG=debug`.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List and show the platforms archway knows (the pkgsCross catalog and every alias).
    Platform(commands::platform::Args),
    /// Tell which platform binaries are for (ELF, PE, Mach-O, WebAssembly).
    Inspect(commands::inspect::Args),
    /// Install, remove and inspect QEMU emulators registered with the kernel's binfmt_misc.
    Binfmt(commands::binfmt::Args),
    /// List and install cross toolchains, and write build-system files for a target.
    Toolchain(commands::toolchain::Args),
    /// Fill per-target sysroots with the target's own distro packages.
    Sysroot(commands::sysroot::Args),
    /// Print the cross-build environment for a target (CC, PKG_CONFIG_*, CARGO_TARGET_*...).
    Env(commands::env::Args),
    /// Build the project for a target (native, cross or emulated, chosen automatically).
    Build(commands::build::Args),
    /// Build and run the project's own tests for a target, through the emulator.
    Test(commands::test::Args),
    /// Run a foreign program under QEMU with the target's sysroot.
    Run(commands::run::Args),
    /// Create, list and remove emulated root filesystems.
    Rootfs(commands::rootfs::Args),
    /// Open an interactive shell in a target's build environment.
    Shell(commands::shell::Args),
    /// Show the resolved configuration and where each value comes from.
    Config(commands::config::Args),
    /// Inspect and trim the build cache (builds and test results, keyed by their inputs).
    Cache(commands::cache::Args),
    /// Print shell completions to stdout.
    Completions(commands::completions::Args),
    /// Print the man page (roff) to stdout, or write one page per command into a directory.
    Man(commands::completions::ManArgs),
}

/// What every command gets: output preferences and the progress reporter.
#[derive(Debug)]
pub struct Context {
    pub verbose: u8,
    pub quiet: bool,
    /// stderr is a terminal: progress bars may be drawn.
    pub stderr_is_terminal: bool,
    /// Colour allowed (a terminal, and `NO_COLOR` unset).
    pub color: bool,
}

impl Context {
    pub fn new(global: &GlobalArgs) -> Context {
        let stderr_is_terminal = std::io::stderr().is_terminal();
        let color = stderr_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        crate::report::init_tracing(global.verbose, global.quiet);
        Context {
            verbose: global.verbose,
            quiet: global.quiet,
            stderr_is_terminal,
            color,
        }
    }

    /// The progress reporter for long work (hidden when stderr is not a terminal).
    pub fn reporter(&self) -> crate::progress::TerminalReporter {
        crate::progress::TerminalReporter::new(self.stderr_is_terminal && !self.quiet, self.quiet)
    }
}
