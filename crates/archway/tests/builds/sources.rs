//! Real third-party sources, fetched at test time from Debian's source archive with
//! `apt-get source` (never copied into the repository), once per test binary.
//!
//! Each package is unpacked without Debian's patches (`dpkg-source --skip-patches`): the tests
//! build the upstream project with its own test suite (Debian's libinih, for one, patches the
//! Meson tests out in favour of its own makefile).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

/// Where sources are kept: Cargo's scratch directory for integration tests (under `target/`),
/// so a second run does not fetch again. Builds never write here: every test builds into a
/// build directory of its own.
fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("debian-sources")
}

type Fetched = Arc<OnceLock<Result<PathBuf, String>>>;

/// The unpacked source tree of Debian source package `package`.
pub fn source(package: &str) -> Result<PathBuf, String> {
    static FETCHED: OnceLock<Mutex<HashMap<String, Fetched>>> = OnceLock::new();
    let slot = {
        let mut fetched = FETCHED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        fetched.entry(package.to_string()).or_default().clone()
    };
    slot.get_or_init(|| fetch(package)).clone()
}

fn fetch(package: &str) -> Result<PathBuf, String> {
    let tree = work_dir().join(package);
    if tree.is_dir() {
        return Ok(tree);
    }
    // Downloaded and unpacked in a directory of this process, renamed into place when complete:
    // an interrupted fetch never leaves a half tree that a later run would use.
    std::fs::create_dir_all(work_dir()).map_err(|e| e.to_string())?;
    let scratch = tempfile::Builder::new()
        .prefix(&format!("{package}."))
        .tempdir_in(work_dir())
        .map_err(|e| e.to_string())?;
    let download = scratch.path().join("download");
    std::fs::create_dir_all(&download).map_err(|e| e.to_string())?;
    // The host's deb-src entries first (scripts/test.sh adds bookworm's); some archives miss a
    // release's files, so then trixie's, through a private apt configuration that leaves the
    // host's apt state alone.
    let host = run(Command::new("apt-get")
        .args(["source", "--download-only", "-q", package])
        .current_dir(&download));
    if let Err(host_error) = host {
        let private = private_apt(&download)?;
        run(Command::new("apt-get")
            .args(&private)
            .args(["update", "-q"])
            .current_dir(&download))
        .map_err(|e| format!("{host_error}\nand the private apt update: {e}"))?;
        run(Command::new("apt-get")
            .args(&private)
            .args(["source", "--download-only", "-q", package])
            .current_dir(&download))
        .map_err(|e| format!("{host_error}\nand from trixie: {e}"))?;
    }
    let dsc = std::fs::read_dir(&download)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "dsc"))
        .ok_or_else(|| format!("`apt-get source {package}` left no .dsc file"))?;
    let unpacked = scratch.path().join("tree");
    run(Command::new("dpkg-source")
        .args(["--skip-patches", "-x"])
        .arg(&dsc)
        .arg(&unpacked)
        .current_dir(&download))?;
    match std::fs::rename(&unpacked, &tree) {
        Ok(()) => Ok(tree),
        // Another run of this test binary finished first.
        Err(_) if tree.is_dir() => Ok(tree),
        Err(e) => Err(format!(
            "could not move the source into `{}`: {e}",
            tree.display()
        )),
    }
}

/// apt options for a configuration of its own: trixie's deb-src, private lists and cache.
fn private_apt(dir: &Path) -> Result<Vec<String>, String> {
    let root = dir.join("apt");
    for sub in ["lists/partial", "cache/archives/partial", "sources.list.d"] {
        std::fs::create_dir_all(root.join(sub)).map_err(|e| e.to_string())?;
    }
    let list = root.join("sources.list");
    std::fs::write(
        &list,
        "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] \
         http://deb.debian.org/debian trixie main\n",
    )
    .map_err(|e| e.to_string())?;
    let option =
        |key: &str, value: &Path| vec!["-o".to_string(), format!("{key}={}", value.display())];
    Ok([
        option("Dir::Etc::SourceList", &list),
        option("Dir::Etc::SourceParts", &root.join("sources.list.d")),
        option("Dir::State::Lists", &root.join("lists")),
        option("Dir::Cache", &root.join("cache")),
    ]
    .concat())
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("could not run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
