//! `rootfs prune` and `sysroot prune`: their arguments, and what they print (one JSON array,
//! or one line per entry removed, then a summary).

use std::process::ExitCode;

/// The arguments both take.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Days without a build using it (a build marks what it uses); 0 removes everything no one
    /// holds now.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub unused_for: u32,
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// One JSON array on stdout: every entry with what was done.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    pub fn unused_for(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.unused_for) * 86_400)
    }
}

/// What a prune did: `entries` as JSON with `--json`, else `rows` (the same entries) printed.
pub fn finish<T: serde::Serialize>(
    args: &Args,
    entries: &[T],
    rows: &[Row<'_>],
    what: &str,
) -> anyhow::Result<ExitCode> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(entries)?);
    } else {
        print(rows, args.dry_run, args.unused_for, what);
    }
    Ok(ExitCode::SUCCESS)
}

/// One cache entry a prune looked at.
pub struct Row<'a> {
    pub name: &'a str,
    pub size_bytes: u64,
    pub unused_seconds: u64,
    pub removed: bool,
    pub kept_because: Option<&'a str>,
}

/// Prints the removed `rows` and the summary on stderr (`entries` names them: `entries`,
/// `sysroots`).
fn print(rows: &[Row<'_>], dry_run: bool, unused_for_days: u32, entries: &str) {
    let verb = if dry_run { "would remove" } else { "removed" };
    let removed: Vec<_> = rows.iter().filter(|row| row.removed).collect();
    for row in &removed {
        eprintln!(
            "{verb} {} ({}, unused for {})",
            row.name,
            human_size(row.size_bytes),
            human_age(row.unused_seconds)
        );
    }
    let in_use = rows
        .iter()
        .filter(|row| row.kept_because == Some("in use"))
        .count();
    let recent = rows
        .iter()
        .filter(|row| row.kept_because == Some("used recently"))
        .count();
    eprintln!(
        "{verb} {} of {} {entries} ({}); kept {recent} used in the last {unused_for_days} days \
         and {in_use} in use",
        removed.len(),
        rows.len(),
        human_size(removed.iter().map(|row| row.size_bytes).sum()),
    );
}

pub fn human_size(bytes: u64) -> String {
    let mebibytes = bytes as f64 / (1024.0 * 1024.0);
    if mebibytes >= 1024.0 {
        format!("{:.1} GiB", mebibytes / 1024.0)
    } else {
        format!("{mebibytes:.0} MiB")
    }
}

pub fn human_age(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{seconds}s"),
        60..=3599 => format!("{}m", seconds / 60),
        3600..=86399 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86400),
    }
}
