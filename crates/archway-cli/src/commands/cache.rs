//! `archway cache stats|list|prune|clean`: the local build cache (`<cache dir>/store`);
//! `archway cache keygen`: a key pair that signs entries pushed to the shared cache.

use std::io::Write;

use anyhow::Context as _;
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
    /// Make a key pair that signs the entries this machine pushes to the shared cache; prints
    /// the `[cache]` lines to configure (never overwrites a key file).
    Keygen {
        /// The key's name, e.g. `ci.example.org-1` (Nix's `name:base64` key format).
        name: String,
        /// Where to write the secret key (default: `<config dir>/archway/NAME.secret`).
        #[arg(long, value_name = "PATH")]
        output: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// What `keygen` made (`--json`).
#[derive(Debug, serde::Serialize)]
struct Keygen {
    /// The public key line for `[cache] trusted-keys` (every machine that uses the entries).
    public_key: String,
    /// The secret key file (mode 0600) for `[cache] signing-key` (machines that push).
    secret_key_file: PathBuf,
}

fn keygen(name: &str, output: Option<PathBuf>, json: bool) -> anyhow::Result<ExitCode> {
    let secret_file = match output {
        Some(path) => path,
        None => {
            // The name becomes a file name here: nothing that leaves the directory.
            if name.contains('/') || name.starts_with('.') {
                return Err(Failure::user(
                    format!("the key name `{name}` cannot be a file name in the configuration directory"),
                    Some(format!(
                        "choose the file yourself: `archway cache keygen {name} --output PATH`"
                    )),
                )
                .into());
            }
            let config =
                archway::config::user_config_path(|variable| std::env::var_os(variable))
                    .ok_or_else(|| {
                        Failure::user(
                        "no configuration directory: neither `XDG_CONFIG_HOME` nor `HOME` is set",
                        Some(format!("give the file: `archway cache keygen {name} --output PATH`")),
                    )
                    })?;
            config.with_file_name(format!("{name}.secret"))
        }
    };
    let secret_file = std::path::absolute(&secret_file)
        .with_context(|| format!("resolving `{}`", secret_file.display()))?;
    let public = archway_cache::sign::generate_key_file(name, &secret_file)
        .map_err(|error| Failure::user(error.to_string(), error.hint()))?;
    let made = Keygen {
        public_key: public.to_string(),
        secret_key_file: secret_file,
    };
    let mut stdout = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut stdout, &made)?;
        writeln!(stdout)?;
    } else {
        eprintln!(
            "wrote the secret key `{}` (keep it private); the `[cache]` lines of your config.toml:",
            made.secret_key_file.display()
        );
        writeln!(stdout, "trusted-keys = [{}]", toml_string(&made.public_key))?;
        writeln!(
            stdout,
            "signing-key = {}",
            toml_string(&made.secret_key_file.to_string_lossy())
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `text` as a TOML basic string (quotes, backslashes and control characters escaped).
fn toml_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

pub fn run(args: Args, _context: &Context) -> anyhow::Result<ExitCode> {
    let store = || archway::build_cache::store_for(&args.directory);
    let mut stdout = std::io::stdout().lock();
    match args.command {
        Subcommand::Stats { json } => {
            let stats = store()?.stats()?;
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
            let entries = store()?.list()?;
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
            let store = store()?;
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
            let pruned = store()?.clean()?;
            print_pruned(&mut stdout, &pruned, json)?;
        }
        Subcommand::Keygen { name, output, json } => return keygen(&name, output, json),
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
