//! `archway rootfs`: create, list, remove, verify and enter emulated root filesystems.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use archway::emulated::{self, Emulated};
use archway_rootfs::{
    Architecture, CreateOptions, DeriveStrategy, EntryKind, Problem, RootfsKey, Store, Verification,
};

use super::prune::{human_age, human_size};
use crate::cli::Context;
use crate::report::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create (or find in the cache) a Debian root filesystem of the target's architecture.
    Create {
        #[command(flatten)]
        key: KeyArgs,
        /// How extra packages are added: `copy` (copy the cached base, apt-get install inside;
        /// needs root) or `fresh` (a new mmdebstrap run with the packages).
        #[arg(long, default_value = "copy", value_parser = ["copy", "fresh"])]
        derive: String,
        /// Register the binfmt_misc entry the root filesystem needs, if missing.
        #[arg(long)]
        setup: bool,
    },
    /// List the cached root filesystems: key, size, age.
    List {
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Remove a cached root filesystem (and the hybrid views made from it); with `--prefix`,
    /// the hybrid method's native prefix for that target and suite instead.
    Remove {
        #[command(flatten)]
        key: KeyArgs,
        /// Remove the native prefix(es) of the target's suite (every package set) and their
        /// views, not the root filesystem.
        #[arg(long)]
        prefix: bool,
    },
    /// Remove every cached root filesystem, native prefix and hybrid view that no build has
    /// used for `--unused-for` days; entries a build or a creation holds now are kept.
    Prune(super::prune::Args),
    /// Check a cached root filesystem against the manifest written when it was made: every
    /// file with its size (symlinks with their target), the packages of its dpkg status, and
    /// leftovers of an interrupted creation. Exits 1 when something is wrong.
    Verify {
        /// The target (`arm64`, `riscv64`...); not with `--all`.
        #[arg(long, short, required_unless_present = "all", conflicts_with = "all")]
        target: Option<String>,
        /// The Debian suite; default: bookworm, or trixie for riscv64.
        #[arg(long, conflicts_with = "all")]
        suite: Option<String>,
        /// Extra packages of a derived root filesystem, comma-separated.
        #[arg(long, value_delimiter = ',', conflicts_with_all = ["all", "prefix"])]
        packages: Vec<String>,
        /// Verify the native prefix(es) of the target's suite (the hybrid method's) instead.
        #[arg(long, conflicts_with = "all")]
        prefix: bool,
        /// Verify every entry of the cache: root filesystems, prefixes and hybrid views.
        #[arg(long)]
        all: bool,
        /// One JSON array of verifications on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Open an interactive shell inside a root filesystem (the current directory writable).
    Shell {
        #[command(flatten)]
        key: KeyArgs,
        /// Share the host's network (for apt).
        #[arg(long)]
        network: bool,
        /// Register the binfmt_misc entry the root filesystem needs, if missing.
        #[arg(long)]
        setup: bool,
    },
}

/// Which root filesystem: architecture, suite, extra packages.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyArgs {
    /// The target (`arm64`, `riscv64`, `aarch64-linux`, `linux/arm/v7`...) or a Debian architecture.
    #[arg(long, short)]
    pub target: String,
    /// The Debian suite (`bookworm`, `trixie`); default: bookworm, or trixie for riscv64.
    #[arg(long)]
    pub suite: Option<String>,
    /// Extra packages, comma-separated: a derived root filesystem (the base stays unchanged).
    #[arg(long, value_delimiter = ',')]
    pub packages: Vec<String>,
}

impl KeyArgs {
    pub fn key(&self) -> anyhow::Result<RootfsKey> {
        let architecture = architecture_of(&self.target)?;
        Ok(RootfsKey::from_names(
            architecture,
            self.suite.as_deref(),
            &self.packages,
        )?)
    }
}

/// A Debian architecture name directly, else any platform name archway accepts.
pub fn architecture_of(target: &str) -> anyhow::Result<Architecture> {
    if let Ok(architecture) = target.parse::<Architecture>() {
        return Ok(architecture);
    }
    let platform = archway_platform::Platform::parse(target)?;
    Ok(Architecture::from_platform(&platform)?)
}

pub fn store() -> anyhow::Result<Store> {
    let cache = archway::cache::cache_dir().ok_or_else(|| {
        Failure::user(
            "no cache directory: none of `ARCHWAY_CACHE_DIR`, `XDG_CACHE_HOME`, `HOME` is set",
            Some("set `ARCHWAY_CACHE_DIR=/path/to/cache`".to_string()),
        )
    })?;
    Ok(Store::new(&cache))
}

/// Fails with the exact fix when the kernel cannot run the architecture's binaries; with
/// `setup`, registers the missing binfmt_misc entry instead (as `archway binfmt install` does).
pub fn require_emulation(
    architecture: Architecture,
    setup: bool,
    context: &Context,
) -> anyhow::Result<()> {
    match archway::emulated::require_emulation(architecture, setup, &context.reporter()) {
        Err(archway::Error::NoEmulation { arch, .. }) => {
            let command = format!("archway binfmt install {arch}");
            let can_install = archway_rootfs::running_as_root();
            let hint = if can_install {
                format!("run `{command}`, or add `--setup`")
            } else {
                format!("run `sudo {command}`")
            };
            Err(Failure::user(
                format!("no binfmt_misc entry runs `{architecture}` binaries, so QEMU cannot run the root filesystem"),
                Some(hint),
            )
            .into())
        }
        other => Ok(other?),
    }
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Create { key, derive, setup } => {
            let derive = match derive.as_str() {
                "fresh" => DeriveStrategy::Fresh,
                _ => DeriveStrategy::CopyAndInstall,
            };
            create(&key, derive, setup, context)
        }
        Command::List { json } => list(json),
        Command::Remove { key, prefix } => remove(&key, prefix),
        Command::Prune(args) => prune(&args),
        Command::Verify {
            target,
            suite,
            packages,
            prefix,
            all: _, // without `--target` (clap requires one of the two)
            json,
        } => {
            let key = target
                .map(|target| {
                    KeyArgs {
                        target,
                        suite,
                        packages,
                    }
                    .key()
                })
                .transpose()?;
            verify(key.as_ref(), prefix, json, context)
        }
        Command::Shell {
            key,
            network,
            setup,
        } => shell(&key, network, setup, context),
    }
}

fn create(
    key_args: &KeyArgs,
    derive: DeriveStrategy,
    setup: bool,
    context: &Context,
) -> anyhow::Result<ExitCode> {
    let key = key_args.key()?;
    require_emulation(key.architecture, setup, context)?;
    let store = store()?;
    let reporter = context.reporter();
    // `[cache] url` of the configuration here (the user's file, or a project's): a missing
    // root filesystem is restored from the shared cache, a created one offered to it. A
    // configuration that cannot be read only costs the shared cache, never the creation.
    let directory = std::env::current_dir().context("finding the current directory")?;
    let shared = archway::build_cache::shared_for(&directory, &reporter).unwrap_or_else(|error| {
        eprintln!("warning: {error}; not using the shared cache");
        None
    });
    let options = CreateOptions {
        derive,
        upstream: archway::build_cache::RootfsAdapter::upstream(shared),
        ..CreateOptions::default()
    };
    let (rootfs, created) = store.ensure(&key, &options, &reporter)?;
    let size = archway_rootfs::tree::disk_usage(&rootfs.directory);
    if created {
        eprintln!(
            "created {key} in {:.0} s ({})",
            rootfs.metadata.creation_seconds,
            human_size(size)
        );
    } else {
        eprintln!("{key} is already in the cache ({})", human_size(size));
    }
    println!("{}", rootfs.tree().display());
    Ok(ExitCode::SUCCESS)
}

/// One cached tree of any kind, for `rootfs list`.
#[derive(Debug, serde::Serialize)]
struct Entry {
    /// `rootfs`, `prefix` (the hybrid method's native tools) or `view` (a root filesystem with
    /// a prefix linked in; its files are hard links, so it adds next to nothing).
    kind: &'static str,
    /// Its key: a root filesystem's (architecture, suite, packages), a prefix's, or a view's
    /// two keys.
    key: serde_json::Value,
    /// What it is, in words (`arm64/bookworm`, `amd64 tools for arm64/bookworm`).
    description: String,
    name: String,
    path: PathBuf,
    size_bytes: u64,
    age_seconds: u64,
    /// Seconds since a build last ran in it (or since it was made).
    unused_seconds: u64,
    creation_seconds: f64,
}

fn entries(store: &Store) -> anyhow::Result<Vec<Entry>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    let mut entries: Vec<Entry> = store
        .list()?
        .into_iter()
        .map(|info| Entry {
            unused_seconds: store.unused_seconds(&info.name).unwrap_or(info.age_seconds),
            kind: "rootfs",
            key: serde_json::to_value(&info.key).unwrap_or_default(),
            description: info.key.to_string(),
            name: info.name,
            path: info.path,
            size_bytes: info.size_bytes,
            age_seconds: info.age_seconds,
            creation_seconds: info.creation_seconds,
        })
        .collect();
    for prefix in store.list_prefixes()? {
        entries.push(Entry {
            kind: "prefix",
            key: serde_json::to_value(&prefix.metadata.key).unwrap_or_default(),
            description: prefix.metadata.key.to_string(),
            name: prefix.metadata.key.directory_name(),
            size_bytes: prefix.metadata.size_bytes,
            age_seconds: now.saturating_sub(prefix.metadata.created_unix),
            unused_seconds: store
                .unused_seconds(&prefix.metadata.key.directory_name())
                .unwrap_or_default(),
            creation_seconds: prefix.metadata.creation_seconds,
            path: prefix.directory,
        });
    }
    for view in store.list_hybrid_views()? {
        entries.push(Entry {
            kind: "view",
            key: serde_json::json!({
                "rootfs": view.metadata.rootfs,
                "prefix": view.metadata.prefix,
            }),
            description: format!("{} + {}", view.metadata.rootfs, view.metadata.prefix),
            name: view.name(),
            // Its files are hard links of the root filesystem's and the prefix's.
            size_bytes: 0,
            age_seconds: now.saturating_sub(view.metadata.created_unix),
            unused_seconds: store.unused_seconds(&view.name()).unwrap_or_default(),
            creation_seconds: view.metadata.creation_seconds,
            path: view.directory,
        });
    }
    Ok(entries)
}

fn list(json: bool) -> anyhow::Result<ExitCode> {
    let entries = entries(&store()?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        eprintln!(
            "no root filesystems in the cache (`archway rootfs create --target arm64` makes one)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let width = entries
        .iter()
        .map(|entry| entry.description.len())
        .max()
        .unwrap_or(3)
        .max(3);
    println!(
        "{:<6}  {:<width$}  {:>9}  {:>8}  {:>8}  PATH",
        "KIND", "KEY", "SIZE", "AGE", "UNUSED"
    );
    for entry in &entries {
        let size = if entry.kind == "view" {
            "(links)".to_string()
        } else {
            human_size(entry.size_bytes)
        };
        println!(
            "{:<6}  {:<width$}  {:>9}  {:>8}  {:>8}  {}",
            entry.kind,
            entry.description,
            size,
            human_age(entry.age_seconds),
            human_age(entry.unused_seconds),
            entry.path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(key_args: &KeyArgs, prefix: bool) -> anyhow::Result<ExitCode> {
    let key = key_args.key()?;
    let store = store()?;
    if prefix {
        for prefix in prefixes_for(&store, &key)? {
            remove_views(&store, |view| view.metadata.prefix == prefix.metadata.key)?;
            store.remove_prefix(&prefix.metadata.key)?;
            eprintln!("removed the native prefix {}", prefix.metadata.key);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if store.remove(&key)? {
        remove_views(&store, |view| view.metadata.rootfs == key)?;
        eprintln!("removed {key}");
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure::user(
            format!("no `{key}` root filesystem in the cache"),
            Some("`archway rootfs list` shows what is cached".to_string()),
        )
        .into())
    }
}

fn prune(args: &super::prune::Args) -> anyhow::Result<ExitCode> {
    let entries = store()?.prune(args.unused_for(), args.dry_run)?;
    let rows: Vec<_> = entries
        .iter()
        .map(|entry| super::prune::Row {
            name: &entry.name,
            size_bytes: entry.size_bytes,
            unused_seconds: entry.unused_seconds,
            removed: entry.removed,
            kept_because: entry.kept_because,
        })
        .collect();
    super::prune::finish(args, &entries, &rows, "entries")
}

/// The native prefixes (every package set) of `key`'s architecture and suite; an error naming
/// them when there is none.
fn prefixes_for(store: &Store, key: &RootfsKey) -> anyhow::Result<Vec<archway_rootfs::Prefix>> {
    let prefixes: Vec<_> = store
        .list_prefixes()?
        .into_iter()
        .filter(|prefix| {
            prefix.metadata.key.target == key.architecture && prefix.metadata.key.suite == key.suite
        })
        .collect();
    if prefixes.is_empty() {
        return Err(Failure::user(
            format!(
                "no native prefix for `{}/{}` in the cache",
                key.architecture, key.suite
            ),
            Some("`archway rootfs list` shows what is cached".to_string()),
        )
        .into());
    }
    Ok(prefixes)
}

/// `archway rootfs verify`: problems on stderr, one line a clean entry, exit 1 with the
/// repairing command when anything is wrong.
fn verify(
    key: Option<&RootfsKey>,
    prefix: bool,
    json: bool,
    context: &Context,
) -> anyhow::Result<ExitCode> {
    let store = store()?;
    let verifications = match key {
        None => store.verify_all()?,
        Some(key) if prefix => prefixes_for(&store, key)?
            .iter()
            .map(|prefix| store.verify_prefix(&prefix.metadata.key))
            .collect::<Result<_, _>>()?,
        Some(key) => vec![store.verify(key)?],
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&verifications)?);
    }
    let mut failing = Vec::new();
    for verification in &verifications {
        if verification.is_clean() {
            if !context.quiet {
                eprintln!("{}", summary(verification));
            }
            continue;
        }
        eprintln!("{}:", verification.describe());
        for problem in &verification.problems {
            eprintln!("  {problem}");
        }
        failing.push(verification);
    }
    if verifications.is_empty() && !context.quiet {
        eprintln!(
            "nothing in the cache to verify ({})",
            store.root().display()
        );
    }
    let Some(first) = failing.first() else {
        return Ok(ExitCode::SUCCESS);
    };
    let count = failing.len();
    let message = if count == 1 {
        format!("{} is not as it was made", first.describe())
    } else {
        format!("{count} cache entries are not as they were made")
    };
    let hints: Vec<String> = failing
        .iter()
        .map(|verification| repair_hint(verification, key))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Err(Failure::user(message, Some(hints.join("\n      "))).into())
}

/// `the root filesystem `amd64-bookworm` is intact: 93 packages, 11728 files`.
fn summary(verification: &Verification) -> String {
    if verification.has_manifest {
        format!(
            "{} is intact: {} packages, {} files",
            verification.describe(),
            verification.packages,
            verification.files
        )
    } else {
        format!(
            "{} is unverified: made before archway recorded manifests, only its structure was checked",
            verification.describe()
        )
    }
}

/// The command that repairs what `verification` found.
fn repair_hint(verification: &Verification, key: Option<&RootfsKey>) -> String {
    let only_leftovers = verification
        .problems
        .iter()
        .all(|problem| matches!(problem, Problem::NoEntry | Problem::StalePartial { .. }));
    let has_entry = !verification.problems.contains(&Problem::NoEntry);
    // The key's own words when the user named it, else the ones the entry's name stands for.
    let key_words = key
        .filter(|key| key.directory_name() == verification.name)
        .map(|key| {
            let mut words = format!("--target {} --suite {}", key.architecture, key.suite);
            if !key.is_base() {
                let packages: Vec<&str> = key.packages.iter().map(|p| p.as_str()).collect();
                words.push_str(&format!(" --packages {}", packages.join(",")));
            }
            words
        });
    match (verification.kind, key_words) {
        _ if only_leftovers && !has_entry => match verification.kind {
            EntryKind::Rootfs => format!(
                "`archway rootfs create{}` removes the leftovers and makes it",
                key.map(|key| format!(" --target {} --suite {}", key.architecture, key.suite))
                    .unwrap_or_default()
            ),
            _ => "`archway rootfs list` removes leftovers of interrupted creations".to_string(),
        },
        _ if only_leftovers => {
            "`archway rootfs list` removes leftovers of interrupted creations".to_string()
        }
        (EntryKind::Rootfs, Some(words)) => format!(
            "run `archway rootfs remove {words} && archway rootfs create {words}` to make it again"
        ),
        (EntryKind::Rootfs, None) => format!(
            "run `archway rootfs remove` and `archway rootfs create` with the target and suite of `{}` to make it again",
            verification.name
        ),
        (EntryKind::Prefix, _) => format!(
            "run `archway rootfs remove --prefix` with the target and suite of `{}`; the next hybrid build makes it again",
            verification.name
        ),
        (EntryKind::View, _) => format!(
            "remove `{}`; the next hybrid build makes the view again from its root filesystem and prefix",
            verification.path.display()
        ),
    }
}

/// Removes the hybrid views `made_from` selects (they would never be used again).
fn remove_views(
    store: &Store,
    made_from: impl Fn(&archway_rootfs::HybridView) -> bool,
) -> anyhow::Result<()> {
    for view in store.list_hybrid_views()? {
        if made_from(&view) {
            store.remove_hybrid_view(&view.name())?;
        }
    }
    Ok(())
}

fn shell(
    key_args: &KeyArgs,
    network: bool,
    setup: bool,
    context: &Context,
) -> anyhow::Result<ExitCode> {
    let key = key_args.key()?;
    require_emulation(key.architecture, setup, context)?;
    let project = std::env::current_dir().context("finding the current directory")?;
    let mut emulated = Emulated::new(store()?, key, project);
    emulated.network = network;
    emulated.interpreter_to_bind =
        emulated::interpreter_to_bind(emulated.key.architecture.qemu_user());
    run_shell(&emulated, context)
}

/// An interactive shell in the emulated environment; its exit code becomes ours.
pub fn run_shell(emulated: &Emulated, context: &Context) -> anyhow::Result<ExitCode> {
    let (rootfs, _in_use) = emulated.ensure_held_rootfs(&context.reporter())?;
    eprintln!(
        "shell in {} ({}); `{}` is writable, `exit` leaves",
        emulated.key,
        rootfs.tree().display(),
        emulated.project.display()
    );
    let status = emulated
        .sandbox(&rootfs)
        .interactive(true)
        .env("PS1", format!("({}) \\w\\$ ", emulated.key.architecture))
        .command("/bin/bash", ["--norc", "-i"])?
        .status()
        .map_err(|error| missing_bwrap(error, PathBuf::from("bwrap")))?;
    Ok(exit_code(status))
}

pub fn missing_bwrap(error: std::io::Error, program: PathBuf) -> anyhow::Error {
    if error.kind() == std::io::ErrorKind::NotFound {
        archway_rootfs::Error::ToolMissing {
            tool: "bwrap",
            package: "bubblewrap",
        }
        .into()
    } else {
        anyhow::Error::new(error).context(format!("running `{}`", program.display()))
    }
}

/// The exit code of a finished command (a signal: 128 + its number, as shells report it).
pub fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(u8::try_from(code).unwrap_or(2)),
        (None, Some(signal)) => ExitCode::from(u8::try_from(128 + signal).unwrap_or(2)),
        (None, None) => ExitCode::from(2),
    }
}
