//! Root filesystems through a shared store, from the shell (bench/cache.sh uses it until the
//! CLI reads `[cache] url`):
//!
//! ```text
//! shared_rootfs keygen NAME SECRET_FILE            prints the public key line
//! shared_rootfs push URL SECRET_FILE CACHE_DIR ARCH SUITE
//! shared_rootfs restore URL PUBLIC_KEY CACHE_DIR ARCH SUITE  prints seconds and archive bytes
//! ```
//!
//! Endpoint and credentials come from the `AWS_*` variables. `restore` is
//! `archway_rootfs::Store::ensure` with the shared store as its upstream and an mmdebstrap that
//! refuses to run, so it measures a restore and nothing else.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use archway_cache::shared::{Options, SharedStore, DEFAULT_TIMEOUT};
use archway_cache::{Pulled, Upstream};
use archway_rootfs::{
    upstream_name, Architecture, CreateOptions, RootfsKey, RootfsUpstream, Store,
};

/// The store, and the bytes its last restore downloaded.
#[derive(Debug)]
struct Adapter(SharedStore, AtomicU64);

impl RootfsUpstream for Adapter {
    fn restore(&self, name: &str, into: &Path) -> Result<Option<String>, String> {
        match self.0.pull(name, into) {
            Ok(Pulled::Restored { signer, bytes }) => {
                self.1.store(bytes, Ordering::Relaxed);
                Ok(Some(format!("signed by {signer}")))
            }
            Ok(Pulled::Absent) => Ok(None),
            Err(error) => Err(error.to_string()),
        }
    }

    fn offer(&self, name: &str, directory: &Path) -> Result<(), String> {
        self.0
            .push(name, directory)
            .map_err(|error| error.to_string())
    }
}

fn open(
    url: &str,
    trusted: Vec<&str>,
    signing_key: Option<PathBuf>,
) -> Result<SharedStore, String> {
    let options = Options {
        url: url.to_string(),
        trusted_keys: trusted
            .into_iter()
            .map(str::parse)
            .collect::<Result<_, archway_cache::sign::KeyError>>()
            .map_err(|error| error.to_string())?,
        signing_key,
        timeout: DEFAULT_TIMEOUT,
    };
    SharedStore::open(&options).map_err(|error| error.to_string())
}

fn key(architecture: &str, suite: &str) -> Result<RootfsKey, String> {
    let architecture: Architecture = architecture
        .parse()
        .map_err(|error: archway_rootfs::Error| error.to_string())?;
    RootfsKey::from_names(architecture, Some(suite), &[]).map_err(|error| error.to_string())
}

fn run(arguments: &[String]) -> Result<(), String> {
    let words: Vec<&str> = arguments.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["keygen", name, secret] => {
            let public = archway_cache::sign::generate_key_file(name, Path::new(secret))
                .map_err(|error| error.to_string())?;
            println!("{public}");
        }
        ["push", url, secret, cache, architecture, suite] => {
            let key = key(architecture, suite)?;
            let rootfs = Store::new(Path::new(cache))
                .require(&key)
                .map_err(|error| error.to_string())?;
            let store = open(url, Vec::new(), Some(PathBuf::from(secret)))?;
            let started = Instant::now();
            store
                .push(&upstream_name(&key), &rootfs.directory)
                .map_err(|error| error.to_string())?;
            println!("{:.2}", started.elapsed().as_secs_f64());
        }
        ["restore", url, public, cache, architecture, suite] => {
            let key = key(architecture, suite)?;
            let refuse = Path::new(cache).join("mmdebstrap-refuses");
            std::fs::create_dir_all(cache).map_err(|error| error.to_string())?;
            std::fs::write(&refuse, "#!/bin/sh\necho 'not restored' >&2\nexit 1\n")
                .map_err(|error| error.to_string())?;
            std::fs::set_permissions(&refuse, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .map_err(|error| error.to_string())?;
            let upstream = Arc::new(Adapter(open(url, vec![public], None)?, AtomicU64::new(0)));
            let options = CreateOptions {
                mmdebstrap: Some(refuse),
                upstream: Some(upstream.clone()),
                ..CreateOptions::default()
            };
            let started = Instant::now();
            let (rootfs, _) = Store::new(Path::new(cache))
                .ensure(&key, &options, &archway_platform::NoProgress)
                .map_err(|error| error.to_string())?;
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "{}: {}",
                rootfs.directory.display(),
                rootfs.metadata.made_by
            );
            // Seconds, and the archive's size.
            println!("{seconds:.2} {}", upstream.1.load(Ordering::Relaxed));
        }
        _ => return Err("usage: see the top of examples/shared_rootfs.rs".to_string()),
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match run(&arguments) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::from(1)
        }
    }
}
