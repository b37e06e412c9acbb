//! `archway inspect FILE...`: which platform each binary is for, and what CPU it needs.
//!
//! Every file is reported; a file that cannot be read or identified gets its own error on
//! stderr and the exit code is 1, but the other files are still reported. With `--target X`,
//! each file is also checked against X's CPU: the first file that needs more than X has (an
//! architecture version, Thumb-2, an ISA level...) or is for another platform fails the
//! command (exit 1), naming the file and the requirement; what a file only *may* use (FP and
//! SIMD units a library may select at run time) is a warning.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use archway_platform::artifacts::{check_binary, platform_mismatch, read_binary};
use archway_platform::host::Host;
use archway_platform::{Binary, Certainty, CpuCapability, Finding, Platform};

use super::platform::write_stdout;
use crate::cli::Context;
use crate::report::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The files to inspect (executables, shared libraries, object files).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print JSON (one object per file) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Check that each file runs on this platform's CPU; fail (exit 1) on the first that
    /// needs more than it has.
    #[arg(long, value_name = "PLATFORM")]
    pub target: Option<String>,
}

/// What `--target` found for one file.
struct Verdict {
    /// "is for x86_64-linux (...)", when the file is not for the platform at all.
    mismatch: Option<String>,
    findings: Vec<Finding>,
}

impl Verdict {
    /// The sentence of the first failing requirement.
    fn failure(&self, path: &Path, platform: &Platform) -> Option<String> {
        if let Some(mismatch) = &self.mismatch {
            return Some(format!(
                "`{}` {mismatch}, not {}",
                file_name(path),
                platform.display_name()
            ));
        }
        self.findings
            .iter()
            .find(|finding| finding.shortfall.certainty == Certainty::Needs)
            .map(|finding| finding.message.clone())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let target = args.target.as_deref().map(Platform::parse).transpose()?;
    let capability = target.as_ref().and_then(CpuCapability::of_platform);
    let host = Host::detect().ok();
    let mut failures = 0usize;
    let mut first_failure: Option<String> = None;
    let mut failing_files = 0usize;
    let mut warnings: Vec<String> = Vec::new();
    let mut json_entries = Vec::new();
    let mut text = String::new();
    let (yellow, red, bold, reset) = if context.color {
        ("\x1b[33;1m", "\x1b[31;1m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    for path in &args.files {
        match read_binary(path) {
            Ok(binary) => {
                let runs_natively = host
                    .as_ref()
                    .map(|host| host.runs_natively(&binary.platform));
                let verdict = target.as_ref().map(|platform| Verdict {
                    mismatch: platform_mismatch(platform, &binary),
                    findings: check_binary(platform, path, &binary),
                });
                if let (Some(platform), Some(verdict)) = (&target, &verdict) {
                    if let Some(sentence) = verdict.failure(path, platform) {
                        failing_files += 1;
                        first_failure.get_or_insert(sentence);
                    } else {
                        warnings.extend(
                            verdict
                                .findings
                                .iter()
                                .filter(|finding| finding.shortfall.certainty == Certainty::MayUse)
                                .map(|finding| finding.message.clone()),
                        );
                    }
                }
                let check = target.as_ref().zip(verdict.as_ref());
                if args.json {
                    json_entries.push(json_entry(path, &binary, runs_natively, check));
                } else {
                    render(&mut text, path, &binary, runs_natively, check);
                }
            }
            Err(reason) => {
                failures += 1;
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
    for warning in &warnings {
        eprintln!("{yellow}warning{reset}: {warning} (it may choose at run time; check it runs)");
    }
    if let (Some(platform), None) = (&target, &capability) {
        eprintln!(
            "{yellow}warning{reset}: archway does not know the CPU of `{}`; only the platform was checked",
            platform.display_name()
        );
    }
    if failures > 0 {
        eprintln!(
            "{bold}hint{reset}: `archway inspect` reads ELF, PE/COFF, Mach-O and WebAssembly executables and libraries; check the path with `file <path>`"
        );
    }
    if let (Some(platform), Some(sentence)) = (&target, first_failure) {
        let more = match failing_files {
            0 | 1 => String::new(),
            2 => " (and 1 more file)".to_string(),
            count => format!(" (and {} more files)", count - 1),
        };
        let cpu = capability.map_or_else(String::new, |cpu| format!(" ({cpu})"));
        return Err(Failure::user(
            format!("{sentence}{more}"),
            format!(
                "build it for {}'s CPU{cpu}: `archway env --target {}` gives the compiler for it; `archway inspect --target PLATFORM FILE` checks another platform",
                platform.display_name(),
                platform.display_name()
            ),
        )
        .into());
    }
    if failures > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn yes_no(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

fn render(
    out: &mut String,
    path: &Path,
    binary: &Binary,
    runs_natively: Option<bool>,
    check: Option<(&Platform, &Verdict)>,
) {
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
    if binary.format == archway_platform::BinaryFormat::Elf {
        let needs = binary.requirements.describe();
        if needs.is_empty() {
            rows.push(("cpu needs", "nothing recorded".to_string()));
        }
        for (index, line) in needs.into_iter().enumerate() {
            rows.push((if index == 0 { "cpu needs" } else { "" }, line));
        }
    }
    let fits_label;
    if let Some((platform, verdict)) = check {
        fits_label = format!("fits {}", platform.display_name());
        let value = match (&verdict.mismatch, verdict.failure(path, platform)) {
            (Some(mismatch), _) => format!("no: {mismatch}"),
            (None, Some(_)) => {
                let needs: Vec<String> = verdict
                    .findings
                    .iter()
                    .filter(|finding| finding.shortfall.certainty == Certainty::Needs)
                    .map(|finding| format!("needs {}", finding.shortfall.needed))
                    .collect();
                format!("no: {}", needs.join(", "))
            }
            (None, None) if verdict.findings.is_empty() => "yes".to_string(),
            (None, None) => {
                let may: Vec<String> = verdict
                    .findings
                    .iter()
                    .map(|finding| finding.shortfall.needed.clone())
                    .collect();
                format!("yes, unless it uses {} without checking", may.join(", "))
            }
        };
        rows.push((fits_label.as_str(), value));
    }
    let width = rows.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    for (key, value) in rows {
        let _ = writeln!(out, "  {key:width$}  {value}");
    }
}

fn json_entry(
    path: &Path,
    binary: &Binary,
    runs_natively: Option<bool>,
    check: Option<(&Platform, &Verdict)>,
) -> serde_json::Value {
    let check = check.map(|(platform, verdict)| {
        serde_json::json!({
            "platform": platform.display_name(),
            "fits": verdict.failure(path, platform).is_none(),
            "mismatch": verdict.mismatch,
            "findings": verdict.findings,
        })
    });
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
        "requirements": binary.requirements,
        "check": check,
    })
}
