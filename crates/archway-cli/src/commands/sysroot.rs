//! `archway sysroot add|list|remove|prune|path|verify`: per-target trees of the target's own Debian
//! packages.
//!
//! Suites and package names are checked here, where the user's words are read
//! (`archway_platform::debian_names`): a suite names a cache directory, a package name reaches
//! apt's command line.

use std::process::ExitCode;

use anyhow::Context as _;
use archway_platform::debian_names::{PackageName, Suite};
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
    /// Remove every sysroot that no build has used for `--unused-for` days; those a build or
    /// an `add` holds now are kept.
    Prune(super::prune::Args),
    /// Print the path of a target's sysroot.
    Path {
        #[arg(long)]
        target: String,
        #[arg(long)]
        suite: Option<String>,
    },
    /// Check a target's sysroot against its manifest: every file with its recorded size, the
    /// packages' versions and dependencies. Exits 1 when something is wrong.
    Verify {
        #[arg(long)]
        target: String,
        #[arg(long)]
        suite: Option<String>,
        #[arg(long)]
        json: bool,
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
    let suite = suite.map(str::parse::<Suite>).transpose()?;
    let platform = parse_target(target)?;
    let cache = cache_dir()?;
    Ok(match suite {
        Some(suite) => {
            Sysroot::open_with(&cache, &platform, suite, archway_toolchain::DEFAULT_MIRROR)?
        }
        None => Sysroot::open(&cache, &platform)?,
    })
}

/// The `add` arguments as package names; the first that is not one is the error.
fn package_names(words: &[String]) -> anyhow::Result<Vec<PackageName>> {
    Ok(words
        .iter()
        .map(|word| word.parse::<PackageName>())
        .collect::<Result<_, _>>()?)
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    match args.command {
        Subcommand::Add {
            target,
            suite,
            packages,
        } => {
            let packages = package_names(&packages)?;
            let reporter = context.reporter();
            // `[cache] url` of the configuration here, as `archway rootfs create` reads it: a
            // missing package set is restored from the shared cache, a filled one offered to
            // it. A configuration that cannot be read only costs the shared cache.
            let directory = std::env::current_dir().context("finding the current directory")?;
            let shared =
                archway::build_cache::shared_for(&directory, &reporter).unwrap_or_else(|error| {
                    eprintln!("warning: {error}; not using the shared cache");
                    None
                });
            let sysroot = open(&target, suite.as_deref())?
                .with_upstream(archway::build_cache::SysrootAdapter::upstream(shared));
            let outcome = sysroot
                .add(&packages, &reporter)
                .with_context(|| format!("cannot fill the sysroot for `{target}`"))?;
            if let (Some(origin), false) = (&outcome.restored, context.quiet) {
                eprintln!(
                    "restored the {} {} sysroot from the shared cache ({origin})",
                    sysroot.suite(),
                    sysroot.architecture()
                );
            } else if !context.quiet {
                let rebuilt = if outcome.rebuilt {
                    " (rebuilt: the previous tree was incomplete or from an older archway)"
                } else {
                    ""
                };
                eprintln!(
                    "{} packages unpacked into the {} {} sysroot{rebuilt}",
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
                    "{:20} {:9} {:8} {:7} REQUESTED / PATH",
                    "NAME", "PACKAGES", "SUITE", "UNUSED"
                );
                for sysroot in sysroots {
                    println!(
                        "{:20} {:9} {:8} {:7} {}\n{:48}{}",
                        sysroot.name,
                        sysroot.manifest.packages.len(),
                        sysroot.manifest.suite,
                        super::prune::human_age(sysroot.unused_seconds),
                        sysroot
                            .manifest
                            .requested
                            .iter()
                            .map(PackageName::as_str)
                            .collect::<Vec<_>>()
                            .join(" "),
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
        Subcommand::Prune(args) => {
            let pruned = Sysroot::prune(
                &cache_dir()?,
                args.unused_for(),
                args.dry_run,
                &archway_rootfs::tree::disk_usage,
            )?;
            let rows: Vec<_> = pruned
                .iter()
                .map(|entry| super::prune::Row {
                    name: &entry.name,
                    size_bytes: entry.size_bytes,
                    unused_seconds: entry.unused_seconds,
                    removed: entry.removed,
                    kept_because: entry.kept_because,
                })
                .collect();
            return super::prune::finish(&args, &pruned, &rows, "sysroots");
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
        Subcommand::Verify {
            target,
            suite,
            json,
        } => {
            let sysroot = open(&target, suite.as_deref())?;
            let verification = sysroot.verify()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&verification)?);
            }
            let name = format!("{} {}", sysroot.suite(), sysroot.architecture());
            if verification.problems.is_empty() {
                if !context.quiet {
                    eprintln!(
                        "the {name} sysroot is intact: {} packages, {} files",
                        verification.packages, verification.files
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            for problem in &verification.problems {
                eprintln!("{problem}");
            }
            let count = verification.problems.len();
            let problems = if count == 1 { "problem" } else { "problems" };
            return Err(Failure::user(
                format!("the {name} sysroot has {count} {problems}"),
                Some(format!(
                    "run `archway sysroot add --target {target}{}` to rebuild it from the downloaded packages",
                    suite.map(|suite| format!(" --suite {suite}")).unwrap_or_default()
                )),
            )
            .into());
        }
    }
    Ok(ExitCode::SUCCESS)
}
