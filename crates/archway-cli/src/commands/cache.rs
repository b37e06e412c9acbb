//! `archway cache stats|list|prune|clean`: the local build cache (`<cache dir>/store`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use archway_cache::store::{format_size, parse_size, Pruned};

use crate::cli::Context;
use crate::report::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Subcommand,
    /// The project whose `[cache]` configuration applies (`max-size`).
    #[arg(
        short = 'C',
        long = "directory",
        value_name = "DIR",
        default_value = ".",
        global = true
    )]
    directory: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
enum Subcommand {
    /// Entries, bytes and the size bound.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Every entry, least recently used first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove the least recently used entries until the cache fits its bound (`--max-size`,
    /// else `[cache] max-size`), and the leftovers of interrupted inserts.
    Prune {
        /// The bound: `10GiB`, `500MB`, `1.5G`, or bytes.
        #[arg(long, value_name = "SIZE")]
        max_size: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove every entry.
    Clean {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args, _context: &Context) -> anyhow::Result<ExitCode> {
    let store = archway::build_cache::store_for(&args.directory)?;
    let mut stdout = std::io::stdout().lock();
    match args.command {
        Subcommand::Stats { json } => {
            let stats = store.stats()?;
            if json {
                serde_json::to_writer_pretty(&mut stdout, &stats)?;
                writeln!(stdout)?;
            } else {
                writeln!(stdout, "directory\t{}", stats.directory.display())?;
                writeln!(
                    stdout,
                    "entries\t{} ({} builds, {} test results)",
                    stats.entries, stats.builds, stats.tests
                )?;
                writeln!(stdout, "size\t{}", format_size(stats.bytes))?;
                writeln!(
                    stdout,
                    "max-size\t{}",
                    stats.max_size.map_or("unbounded".to_string(), format_size)
                )?;
                if stats.unreadable > 0 {
                    writeln!(
                        stdout,
                        "unreadable\t{} (`archway cache prune` removes them)",
                        stats.unreadable
                    )?;
                }
            }
        }
        Subcommand::List { json } => {
            let entries = store.list()?;
            if json {
                serde_json::to_writer_pretty(&mut stdout, &entries)?;
                writeln!(stdout)?;
            } else {
                for entry in entries {
                    writeln!(
                        stdout,
                        "{}\t{}\t{}\t{} files\t{}",
                        entry.name,
                        entry.target,
                        entry.method,
                        entry.files,
                        format_size(entry.bytes)
                    )?;
                }
            }
        }
        Subcommand::Prune { max_size, json } => {
            let bound = match max_size {
                Some(text) => parse_size(&text).ok_or_else(|| {
                    Failure::user(
                        format!("invalid `--max-size` value `{text}`: expected a size such as `10GiB`, `500MB` or `1.5G`"),
                        Some("archway cache prune --max-size 10GiB".to_string()),
                    )
                })?,
                None => store.max_size().ok_or_else(|| {
                    Failure::user(
                        "no size to prune to: neither `--max-size` nor `[cache] max-size` is set",
                        Some("archway cache prune --max-size 10GiB".to_string()),
                    )
                })?,
            };
            let pruned = store.prune(bound)?;
            print_pruned(&mut stdout, &pruned, json)?;
        }
        Subcommand::Clean { json } => {
            let pruned = store.clean()?;
            print_pruned(&mut stdout, &pruned, json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_pruned(stdout: &mut impl Write, pruned: &Pruned, json: bool) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *stdout, pruned)?;
        writeln!(stdout)?;
    } else {
        for name in &pruned.removed {
            writeln!(stdout, "{name}")?;
        }
        eprintln!(
            "removed {} entries ({}) and {} interrupted inserts",
            pruned.removed.len(),
            format_size(pruned.bytes),
            pruned.stale
        );
    }
    Ok(())
}
