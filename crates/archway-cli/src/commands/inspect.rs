//! `archway inspect FILE...`: which platform each binary is for.
//!
//! Every file is reported; a file that cannot be read or identified gets its own error on
//! stderr and the exit code is 1, but the other files are still reported.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use archway_platform::host::Host;
use archway_platform::{identify_prefix, Binary};

use super::platform::write_stdout;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The files to inspect (executables, shared libraries, object files).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print JSON (one object per file) instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let host = Host::detect().ok();
    let mut failures = 0usize;
    let mut json_entries = Vec::new();
    let mut text = String::new();
    for path in &args.files {
        match inspect_file(path) {
            Ok(binary) => {
                let runs_natively = host
                    .as_ref()
                    .map(|host| host.runs_natively(&binary.platform));
                if args.json {
                    json_entries.push(json_entry(path, &binary, runs_natively));
                } else {
                    render(&mut text, path, &binary, runs_natively);
                }
            }
            Err(reason) => {
                failures += 1;
                let (red, reset) = if context.color {
                    ("\x1b[31;1m", "\x1b[0m")
                } else {
                    ("", "")
                };
                eprintln!(
                    "{red}error{reset}: cannot inspect `{}`\n  caused by: {reason}",
                    path.display()
                );
                if args.json {
                    json_entries.push(serde_json::json!({
                        "path": path.display().to_string(),
                        "error": reason,
                    }));
                }
            }
        }
    }
    if args.json {
        write_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json_entries)?
        ))?;
    } else {
        write_stdout(&text)?;
    }
    if failures > 0 {
        let bold = if context.color { "\x1b[1m" } else { "" };
        let reset = if context.color { "\x1b[0m" } else { "" };
        eprintln!(
            "{bold}hint{reset}: `archway inspect` reads ELF, PE/COFF, Mach-O and WebAssembly executables and libraries; check the path with `file <path>`"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// At most this much of a file is read. Every header `identify` looks at (ELF, PE, Mach-O,
/// wasm, and the ELF program headers, interpreter and notes) sits near the start of a binary;
/// an ELF section table beyond it is left out (`identify_prefix`).
const READ_LIMIT: u64 = 16 * 1024 * 1024;

/// Reads and identifies one file; the error is the `caused by:` text. Only regular files are
/// read, and only up to [`READ_LIMIT`]: `/dev/zero` would never end and a FIFO would block.
fn inspect_file(path: &Path) -> Result<Binary, String> {
    let metadata = std::fs::metadata(path).map_err(|error| format!("cannot read it: {error}"))?;
    not_regular(&metadata)?;
    let file = std::fs::File::open(path).map_err(|error| format!("cannot read it: {error}"))?;
    // Checked again on the open file: the path may have been replaced in between.
    let metadata = file
        .metadata()
        .map_err(|error| format!("cannot read it: {error}"))?;
    not_regular(&metadata)?;
    let mut prefix = Vec::new();
    file.take(READ_LIMIT)
        .read_to_end(&mut prefix)
        .map_err(|error| format!("cannot read it: {error}"))?;
    identify_prefix(&prefix, metadata.len()).map_err(|error| error.to_string())
}

/// An error naming what `metadata` is when it is not a regular file.
fn not_regular(metadata: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_file() {
        return Ok(());
    }
    if kind.is_dir() {
        return Err(
            "it is a directory: name the binaries in it (`archway inspect DIR/*`)".to_string(),
        );
    }
    let what = if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    };
    Err(format!(
        "it is {what}: only regular files are inspected (copy the binary into a file first)"
    ))
}

fn yes_no(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

fn render(out: &mut String, path: &Path, binary: &Binary, runs_natively: Option<bool>) {
    let platform = &binary.platform;
    let _ = writeln!(out, "{}", path.display());
    let mut rows: Vec<(&str, String)> = vec![
        (
            "format",
            format!("{} {}", binary.format.name(), binary.kind.name()),
        ),
        (
            "platform",
            format!("{} ({})", platform.system(), platform.config()),
        ),
        (
            "cpu",
            format!(
                "{}, {}-bit, {}-endian",
                platform.cpu(),
                platform.pointer_bits(),
                platform.cpu().endian()
            ),
        ),
        (
            "libc",
            binary
                .libc
                .map_or("unknown".to_string(), |libc| libc.to_string()),
        ),
    ];
    if let Some(arch) = platform.debian_arch() {
        rows.push(("debian arch", arch.to_string()));
    }
    rows.push(("linkage", binary.linkage.name().to_string()));
    rows.push((
        "interpreter",
        binary
            .interpreter
            .clone()
            .unwrap_or_else(|| "-".to_string()),
    ));
    let mut native = yes_no(runs_natively).to_string();
    if runs_natively == Some(false) {
        if let Some(qemu) = platform.qemu_user() {
            let _ = write!(native, " (emulate with qemu-{qemu})");
        }
    }
    rows.push(("runs natively here", native));
    let width = rows.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    for (key, value) in rows {
        let _ = writeln!(out, "  {key:width$}  {value}");
    }
}

fn json_entry(path: &Path, binary: &Binary, runs_natively: Option<bool>) -> serde_json::Value {
    serde_json::json!({
        "path": path.display().to_string(),
        "format": binary.format,
        "kind": binary.kind,
        "system": binary.platform.system(),
        "config": binary.platform.config(),
        "platform": binary.platform,
        "libc": binary.libc,
        "linkage": binary.linkage,
        "interpreter": binary.interpreter,
        "elf": binary.elf,
        "runs_natively": runs_natively,
    })
}
