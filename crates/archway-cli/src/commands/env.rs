//! `archway env --target X`: the cross environment as shell exports or JSON.

use std::process::ExitCode;

use archway_toolchain::{CrossEnv, Format};

use super::toolchain::RequestArgs;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
#[command(disable_version_flag = true)]
pub struct Args {
    #[arg(long)]
    target: String,
    /// Output: `sh` (`eval "$(archway env --target X)"`), `fish` or `json`.
    #[arg(long, default_value = "sh", value_parser = ["sh", "fish", "json"])]
    format: String,
    #[command(flatten)]
    request: RequestArgs,
}

pub fn run(args: Args, _context: &Context) -> anyhow::Result<ExitCode> {
    let (target, request) = args.request.resolve(&args.target)?;
    let cache = archway::cache::cache_dir();
    let mut env = CrossEnv::for_target(&target, &request, cache.as_deref())?;
    // CMAKE_TOOLCHAIN_FILE and CONFIG_SITE need files to point at: kept in the cache, one
    // directory per target, rewritten on every call so they follow the toolchain. They are
    // extras: when they cannot be written (a read-only cache), the variables are still
    // printed, without those two, and a note says so.
    if let Some(cache) = &cache {
        let directory = cache.join("toolchain-files").join(target.config());
        match archway_toolchain::write_files(&env, &directory) {
            Ok(files) => env.set_files(&files),
            Err(error) => {
                eprintln!(
                    "note: `CMAKE_TOOLCHAIN_FILE` and `CONFIG_SITE` are not set: {error}{}",
                    caused_by(&error)
                );
                eprintln!(
                    "hint: write the files elsewhere with `archway toolchain files --target {} --out DIR`",
                    args.target
                );
            }
        }
    }
    // Cargo builds need the target's prebuilt standard library; say so now rather than
    // leaving it to `can't find crate for core` later.
    if let Err(error @ archway_toolchain::Error::RustStdMissing { .. }) =
        archway_toolchain::rust_std(&target, &super::toolchain::search_path())
    {
        eprintln!("note: {error}");
        if let Some(hint) = error.hint() {
            eprintln!("hint: for Cargo builds, {hint}");
        }
    }
    let format = match args.format.as_str() {
        "fish" => Format::Fish,
        "json" => Format::Json,
        _ => Format::Sh,
    };
    print!("{}", env.render(format)?);
    Ok(ExitCode::SUCCESS)
}

/// `: <cause>` for the first source of `error`, if any (the I/O error behind a write).
fn caused_by(error: &dyn std::error::Error) -> String {
    error
        .source()
        .map(|source| format!(": {source}"))
        .unwrap_or_default()
}
