//! The configuration loader on any `archway.toml`: TOML syntax, the section and key checks,
//! target names elaborated to platforms, then resolution for a few targets and profiles.
//!
//! Property: loading and resolving never panic; every error renders with its hint.
#![no_main]

use std::path::Path;

use archway::config::{Config, Flags};
use archway::platform::Platform;
use libfuzzer_sys::fuzz_target;

/// Targets people build for, named in several forms, so `[target.<name>]` sections match.
const TARGETS: &[&str] = &[
    "aarch64-linux",
    "armhf",
    "linux/riscv64",
    "x86_64-w64-mingw32",
];

fn render(error: &archway::config::Error) {
    let _ = (error.to_string(), error.hint());
}

fn resolve(config: &Config, flags: &Flags, host: &Platform) {
    match config.resolve(flags, host) {
        Ok(settings) => {
            let _ = (settings.method(), settings.rows());
        }
        Err(error) => render(&error),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::from_project_text(Path::new("/project"), text) {
        Ok(config) => config,
        Err(error) => return render(&error),
    };
    let Ok(host) = Platform::parse("x86_64-unknown-linux-gnu") else {
        return;
    };
    let _ = (
        config.profiles(),
        config.project_file(),
        config.project_root(),
    );
    // `[cache]`: resolved, or refused with a message (`trusted-keys` in a project file).
    if let Err(error) = config.cache() {
        render(&error);
    }
    // What the file itself selects (`[build] target`, `profile`), else the host.
    resolve(&config, &Flags::default(), &host);
    for target in TARGETS {
        let flags = Flags {
            target: Some((*target).to_string()),
            ..Flags::default()
        };
        resolve(&config, &flags, &host);
    }
    // Every profile the file defines, and one it does not (the suggestion path).
    for profile in config
        .profiles()
        .into_iter()
        .chain(["no-such-profile".to_string()])
    {
        let flags = Flags {
            profile: Some(profile),
            ..Flags::default()
        };
        resolve(&config, &flags, &host);
    }
    // `[build] targets`, as `archway build --all-targets` resolves them.
    if let Some(targets) = config.targets() {
        for target in targets.value {
            let sourced = archway::config::Sourced::new(target, targets.source.clone());
            match config.resolve_for(sourced, &Flags::default()) {
                Ok(settings) => {
                    let _ = settings.rows();
                }
                Err(error) => render(&error),
            }
        }
    }
});
