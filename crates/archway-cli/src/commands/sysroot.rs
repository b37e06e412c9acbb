//! `archway sysroot add|list|remove|path`: per-target trees of the target's own Debian packages.

use std::process::ExitCode;

use anyhow::Context as _;
use archway_toolchain::Sysroot;

use super::toolchain::parse_target;
use crate::cli::Context;
use crate::report::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Subcommand,
}

#[derive(Debug, clap::Subcommand)]
enum Subcommand {
    /// Fetch the target architecture's own Debian packages (with their dependencies) into its
    /// sysroot. The C library's development package always comes along.
    Add {
        #[arg(long)]
        target: String,
        /// Debian suite (default: bookworm; trixie for riscv64).
        #[arg(long)]
        suite: Option<String>,
        /// Debian binary package names (`libpng-dev`, `libssl-dev`).
        packages: Vec<String>,
    },
    /// List the sysroots in the cache.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a target's sysroot.
    Remove {
        #[arg(long)]
        target: String,
        #[arg(long)]
        suite: Option<String>,
    },
    /// Print the path of a target's sysroot.
    Path {
        #[arg(long)]
        target: String,
        #[arg(long)]
        suite: Option<String>,
    },
}

fn cache_dir() -> anyhow::Result<std::path::PathBuf> {
    archway::cache::cache_dir().ok_or_else(|| {
        Failure::user(
            "no cache directory: none of `ARCHWAY_CACHE_DIR`, `XDG_CACHE_HOME`, `HOME` is set",
            Some("run with `ARCHWAY_CACHE_DIR=/path/to/cache`".to_string()),
        )
        .into()
    })
}

fn open(target: &str, suite: Option<&str>) -> anyhow::Result<Sysroot> {
    let platform = parse_target(target)?;
    let cache = cache_dir()?;
    Ok(match suite {
        Some(suite) => {
            Sysroot::open_with(&cache, &platform, suite, archway_toolchain::DEFAULT_MIRROR)?
        }
        None => Sysroot::open(&cache, &platform)?,
    })
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    match args.command {
        Subcommand::Add {
            target,
            suite,
            packages,
        } => {
            let sysroot = open(&target, suite.as_deref())?;
            let reporter = context.reporter();
            let outcome = sysroot
                .add(&packages, &reporter)
                .with_context(|| format!("cannot fill the sysroot for `{target}`"))?;
            if !context.quiet {
                eprintln!(
                    "{} packages unpacked into the {} {} sysroot",
                    outcome.unpacked.len(),
                    sysroot.suite(),
                    sysroot.architecture()
                );
            }
            println!("{}", sysroot.path().display());
        }
        Subcommand::List { json } => {
            let sysroots = Sysroot::list(&cache_dir()?)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&sysroots)?);
            } else if sysroots.is_empty() {
                eprintln!("no sysroots yet");
                eprintln!(
                    "hint: run `archway sysroot add --target aarch64-multiplatform libpng-dev`"
                );
            } else {
                println!(
                    "{:20} {:9} {:8} REQUESTED / PATH",
                    "NAME", "PACKAGES", "SUITE"
                );
                for sysroot in sysroots {
                    println!(
                        "{:20} {:9} {:8} {}\n{:40}{}",
                        sysroot.name,
                        sysroot.manifest.packages.len(),
                        sysroot.manifest.suite,
                        sysroot.manifest.requested.join(" "),
                        "",
                        sysroot.path.display()
                    );
                }
            }
        }
        Subcommand::Remove { target, suite } => {
            let sysroot = open(&target, suite.as_deref())?;
            sysroot.remove()?;
            if !context.quiet {
                eprintln!("removed {}", sysroot.directory().display());
            }
        }
        Subcommand::Path { target, suite } => {
            let sysroot = open(&target, suite.as_deref())?;
            if !sysroot.exists() {
                return Err(archway_toolchain::Error::NoSysroot {
                    target,
                    path: sysroot.directory().to_path_buf(),
                }
                .into());
            }
            println!("{}", sysroot.path().display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
