//! What `rootfs prune` and `sysroot prune` print: one line per entry removed, then a summary.

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
pub fn print(rows: &[Row<'_>], dry_run: bool, unused_for_days: u32, entries: &str) {
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
