//! `archway platform list` and `archway platform show <name>`.

use std::fmt::Write as _;
use std::process::ExitCode;

use archway_platform::host::Host;
use archway_platform::{Platform, CATALOG};

use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: PlatformCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum PlatformCommand {
    /// List the pkgsCross catalog: name, GNU config, Nix system, Debian architecture, QEMU.
    List {
        /// Print JSON (every attribute of every platform) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show every attribute of one platform, named any way archway accepts.
    ///
    /// Without a name, shows the machine archway runs on.
    Show {
        /// A catalog name (`aarch64-multiplatform`), alias (`arm64`), Nix double
        /// (`aarch64-linux`), GNU or Rust triple, or OCI platform (`linux/arm64`).
        platform: Option<String>,
        /// Print JSON instead of `key  value` lines.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args, _context: &Context) -> anyhow::Result<ExitCode> {
    match args.command {
        PlatformCommand::List { json } => list(json),
        PlatformCommand::Show { platform, json } => show(platform.as_deref(), json),
    }
}

/// Writes data to stdout. A closed pipe (`archway platform list | head`) ends the output
/// quietly instead of panicking like `print!` would.
pub(crate) fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn dash(value: Option<&str>) -> &str {
    value.unwrap_or("-")
}

fn list(json: bool) -> anyhow::Result<ExitCode> {
    let platforms: Vec<Platform> = CATALOG.iter().map(Platform::from_entry).collect();
    let mut out = String::new();
    if json {
        out = serde_json::to_string_pretty(&platforms)?;
        out.push('\n');
    } else {
        let rows: Vec<[String; 5]> = platforms
            .iter()
            .map(|p| {
                [
                    p.display_name(),
                    p.config(),
                    p.system(),
                    dash(p.debian_arch()).to_string(),
                    dash(p.qemu_user()).to_string(),
                ]
            })
            .collect();
        let header = ["NAME", "CONFIG", "SYSTEM", "DEBIAN", "QEMU"].map(str::to_string);
        let mut widths = [0usize; 5];
        for row in std::iter::once(&header).chain(&rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.len());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
                if index + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let _ = write!(line, "{cell:width$}  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn show(name: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let host = Host::detect();
    let platform = match name {
        Some(name) => Platform::parse(name)?,
        None => host
            .as_ref()
            .map(|host| host.platform.clone())
            .map_err(|error| anyhow::anyhow!("{error}"))?,
    };
    let runs_natively = host.as_ref().ok().map(|host| host.runs_natively(&platform));
    if json {
        let mut value = serde_json::to_value(&platform)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("runs_natively".to_string(), runs_natively.into());
        }
        write_stdout(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    let cpu = platform.cpu();
    let yes_no = |value: bool| if value { "yes" } else { "no" };
    let elf = platform.elf().map(|elf| {
        let mut text = format!(
            "machine {} class ELF{} {}-endian",
            elf.machine, elf.class, elf.endian
        );
        if elf.flags_mask != 0 {
            let _ = write!(text, " flags {:#x} (mask {:#x})", elf.flags, elf.flags_mask);
        }
        text
    });
    // The model archway gives QEMU, or why there is none (QEMU's default then runs more
    // than the platform's CPU does).
    let qemu_cpu = match platform.qemu_cpu() {
        archway_platform::QemuCpu::Model(model) => model.to_string(),
        archway_platform::QemuCpu::Default => "- (QEMU's default)".to_string(),
        archway_platform::QemuCpu::Unmatched(reason) => format!("- ({reason})"),
    };
    let rows: Vec<(&str, String)> = vec![
        ("name", dash(platform.catalog_name()).to_string()),
        ("config", platform.config()),
        ("canonical config", platform.canonical_config()),
        ("system", platform.system()),
        ("cpu", cpu.to_string()),
        ("cpu family", cpu.family().to_string()),
        ("bits", cpu.bits().to_string()),
        ("pointer bits", platform.pointer_bits().to_string()),
        ("endian", cpu.endian().to_string()),
        ("vendor", platform.vendor().to_string()),
        ("kernel", platform.kernel().to_string()),
        ("abi", platform.abi().to_string()),
        ("libc", platform.libc().to_string()),
        ("static", yes_no(platform.is_static()).to_string()),
        (
            "rust target",
            dash(platform.rust_target().as_deref()).to_string(),
        ),
        ("llvm triple", platform.llvm_triple()),
        (
            "oci platform",
            dash(platform.oci_platform().as_deref()).to_string(),
        ),
        ("debian arch", dash(platform.debian_arch()).to_string()),
        (
            "debian gnu type",
            dash(platform.debian_gnu_type()).to_string(),
        ),
        ("multiarch", dash(platform.multiarch()).to_string()),
        ("gcc", platform.gcc().summary()),
        (
            "compiler flags",
            dash(
                Some(platform.compiler_flags().join(" "))
                    .filter(|flags| !flags.is_empty())
                    .as_deref(),
            )
            .to_string(),
        ),
        ("qemu user", dash(platform.qemu_user()).to_string()),
        ("qemu cpu", qemu_cpu),
        // nixpkgs' `emulator`: QEMU, Wine (`wine64`), the WASI runtime (`wasmtime`).
        (
            "emulator",
            archway_platform::emulator::Emulator::for_platform(&platform)
                .map(|emulator| emulator.name())
                .unwrap_or_else(|| "-".to_string()),
        ),
        ("nix qemuArch", dash(platform.nix_qemu_arch()).to_string()),
        ("linux arch", dash(platform.linux_arch()).to_string()),
        ("uname -m", dash(platform.uname_machine()).to_string()),
        ("exec format", platform.kernel().exec_format().to_string()),
        ("elf", dash(elf.as_deref()).to_string()),
        (
            "runs natively here",
            dash(runs_natively.map(yes_no)).to_string(),
        ),
    ];
    let width = rows.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in rows {
        let _ = writeln!(out, "{key:width$}  {value}");
    }
    write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}
