//! An emulated root filesystem as a shared entry: the arm64 bookworm tree pushed to a real S3
//! server (moto's) by one machine and restored by `archway_rootfs::Store::ensure` on another,
//! identical to the last bit and able to run its arm64 binaries under QEMU.
//!
//! The tree comes from `ARCHWAY_CACHE_DIR` (else `~/.cache/archway`), where the rootfs tests
//! keep it; it is created there when missing (needs root and mmdebstrap: skipped outside CI).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use archway_cache::shared::{Options, SharedStore};
use archway_cache::sign::generate_key_file;
use archway_cache::{Pulled, Upstream};
use archway_rootfs::{
    find_program, running_as_root, upstream_name, Architecture, CreateOptions, RootfsKey,
    RootfsUpstream, Sandbox, Store, Suite,
};
use common::Moto;

/// How the façade connects the two crates: archway-cache's `Upstream` as the rootfs store's
/// `RootfsUpstream` (errors become the messages `Store::ensure` notes).
#[derive(Debug)]
struct Adapter(SharedStore);

impl RootfsUpstream for Adapter {
    fn restore(&self, name: &str, into: &Path) -> Result<Option<String>, String> {
        match self.0.pull(name, into) {
            Ok(Pulled::Restored { signer, .. }) => Ok(Some(format!("signed by {signer}"))),
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

fn cache_dir() -> PathBuf {
    std::env::var_os("ARCHWAY_CACHE_DIR")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/archway")))
        .expect("ARCHWAY_CACHE_DIR or HOME is set")
}

fn skip(why: &str) {
    assert!(!common::in_ci(), "CI: this test {why}");
    eprintln!("skipped: {why}");
}

#[test]
fn a_root_filesystem_restored_from_the_shared_store_is_the_same_tree_and_runs() {
    if !running_as_root() || find_program("bwrap").is_none() {
        return skip("needs root (a root filesystem has root-owned and setuid files) and bwrap");
    }
    // Registered first: creating the arm64 tree runs its maintainer scripts under QEMU.
    let entry = archway_binfmt::testing::TemporaryEntry::register("aarch64", "cache")
        .unwrap_or_else(|error| panic!("a binfmt entry for aarch64: {error}"));
    let key = RootfsKey::new(Architecture::Arm64, Suite::Bookworm, []).expect("key");
    let (original, _) = Store::new(&cache_dir())
        .ensure(
            &key,
            &CreateOptions::default(),
            &archway_platform::NoProgress,
        )
        .expect("the arm64/bookworm root filesystem");
    let Some(moto) = common::moto_or_skip("a_root_filesystem_restored_from_the_shared_store")
    else {
        return;
    };
    let work = tempfile::Builder::new()
        .prefix("archway-rootfs-entry-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir");
    let secret = work.path().join("ci.secret");
    let public = generate_key_file("ci-1", &secret).expect("keygen");
    let open = |signing_key: Option<&Path>| {
        let options = Options {
            url: moto.url("rootfs"),
            trusted_keys: vec![public.clone()],
            signing_key: signing_key.map(Path::to_path_buf),
            timeout: Duration::from_secs(5),
        };
        SharedStore::open_with_environment(&options, Moto::environment()).expect("open")
    };

    // The first machine shares the entry it has (what `ensure` does after creating one).
    let started = Instant::now();
    Adapter(open(Some(&secret)))
        .offer(&upstream_name(&key), &original.directory)
        .expect("push");
    eprintln!("pushed {key} in {:?}", started.elapsed());

    // The second machine has no root filesystem and an mmdebstrap that fails if run.
    let second = work.path().join("second-cache");
    std::fs::create_dir(&second).expect("mkdir");
    let failing = work.path().join("mmdebstrap");
    std::fs::write(&failing, "#!/bin/sh\necho 'must not run' >&2\nexit 1\n").expect("write");
    std::fs::set_permissions(
        &failing,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let options = CreateOptions {
        mmdebstrap: Some(failing),
        upstream: Some(Arc::new(Adapter(open(None)))),
        ..CreateOptions::default()
    };
    let store = Store::new(&second);
    let started = Instant::now();
    let (restored, created) = store
        .ensure(&key, &options, &archway_platform::NoProgress)
        .expect("restored");
    eprintln!("restored {key} in {:?}", started.elapsed());
    assert!(created);
    assert!(
        restored
            .metadata
            .made_by
            .starts_with("restored from the shared cache (signed by ci-1"),
        "{}",
        restored.metadata.made_by
    );

    // Every entry the same: kind, mode (setuid included), owner, time, size, target, links.
    let expected = common::describe_tree(&original.tree());
    let actual = common::describe_tree(&restored.tree());
    assert!(expected.len() > 10_000, "{} entries", expected.len());
    assert!(expected
        .get("usr/bin/su")
        .is_some_and(|line| line.contains("mode 4755")));
    assert_eq!(
        common::differences(&expected, &actual),
        Vec::<String>::new()
    );
    assert_eq!(
        common::different_contents(&original.tree(), &restored.tree()),
        Vec::<String>::new()
    );
    let verification = store.verify(&key).expect("verify");
    assert!(verification.is_clean(), "{:?}", verification.problems);

    // And it works: an arm64 binary of the restored tree runs under QEMU in the sandbox.
    let output = Sandbox::new(restored.tree())
        .bind_read_only(entry.interpreter())
        .command("/usr/bin/uname", ["-m"])
        .expect("command")
        .output()
        .expect("run uname");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "aarch64");
}
