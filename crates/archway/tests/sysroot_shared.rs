//! A cross sysroot as a shared cache entry: one machine fills the arm64 bookworm sysroot with
//! apt and offers it to a real S3 server (moto's); another machine, whose cache lies at another
//! path and whose apt cannot reach any mirror, restores it, with its `.pc` files moved to its
//! own root, and it verifies.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use archway::build_cache::SysrootAdapter;
use archway_cache::shared::{Options, SharedStore};
use archway_cache::sign::generate_key_file;
use archway_cache::testing::{moto_or_skip, Moto};
use archway_cache::Upstream;
use archway_platform::debian_names::Suite;
use archway_platform::testing::in_ci;
use archway_platform::testing::Notes;
use archway_platform::{NoProgress, Platform};
use archway_toolchain::Sysroot;

/// Root (dpkg-deb keeps file owners) and Debian's tools; outside CI a machine without them
/// skips, loudly.
fn can_fill_sysroots() -> bool {
    let root = real_uid() == Some(0);
    let tools = ["apt-get", "dpkg-deb"].iter().all(|tool| {
        archway_toolchain::find_program(&std::env::var_os("PATH").unwrap_or_default(), tool)
            .is_some()
    });
    if root && tools {
        return true;
    }
    assert!(
        !in_ci(),
        "CI: filling a sysroot needs root, apt-get and dpkg-deb"
    );
    eprintln!("skipped: filling a sysroot needs root, apt-get and dpkg-deb");
    false
}

/// The real user id, from `/proc/self/status` (`Uid:` real effective saved fs).
fn real_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn a_sysroot_filled_on_one_machine_is_restored_on_another_without_apt() {
    if !can_fill_sysroots() {
        return;
    }
    let Some(moto) = moto_or_skip("a_sysroot_filled_on_one_machine_is_restored_on_another") else {
        return;
    };
    let work = tempfile::Builder::new()
        .prefix("archway-sysroot-entry-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir");
    let secret = work.path().join("ci.secret");
    let public = generate_key_file("ci-1", &secret).expect("keygen");
    let open = |signing_key: Option<&Path>| -> Arc<dyn Upstream> {
        let options = Options {
            url: moto.url("sysroots"),
            trusted_keys: vec![public.clone()],
            signing_key: signing_key.map(Path::to_path_buf),
            timeout: Duration::from_secs(5),
        };
        Arc::new(SharedStore::open_with_environment(&options, Moto::environment()).expect("open"))
    };
    let target = Platform::parse("aarch64-multiplatform").expect("aarch64");

    // The first machine fills its sysroot with apt and offers it.
    let first = Sysroot::open_with(
        &work.path().join("first"),
        &target,
        Suite::Bookworm,
        archway_toolchain::DEFAULT_MIRROR,
    )
    .expect("open")
    .with_upstream(SysrootAdapter::upstream(Some(open(Some(&secret)))));
    let started = Instant::now();
    let filled = first
        .add(&["zlib1g-dev"], &NoProgress)
        .expect("apt fills it");
    eprintln!("filled and pushed in {:?}", started.elapsed());
    assert!(filled.restored.is_none());
    assert!(!filled.unpacked.is_empty());

    // The second has its cache elsewhere and a mirror nothing listens on.
    let second = Sysroot::open_with(
        &work.path().join("second-cache"),
        &target,
        Suite::Bookworm,
        "http://127.0.0.1:9/debian",
    )
    .expect("open")
    .with_upstream(SysrootAdapter::upstream(Some(open(None))));
    let notes = Notes::default();
    let started = Instant::now();
    let restored = second.add(&["zlib1g-dev"], &notes).expect("restored");
    eprintln!("restored in {:?}", started.elapsed());
    assert_eq!(restored.restored.as_deref(), Some("signed by ci-1"));
    assert_eq!(notes.all(), Vec::<String>::new());
    assert!(
        !second.directory().join("apt").exists(),
        "apt never ran (its private state is made on first use)"
    );
    let pc = std::fs::read_to_string(
        second
            .path()
            .join("usr/lib/aarch64-linux-gnu/pkgconfig/zlib.pc"),
    )
    .expect("zlib.pc");
    let root = second.path().display().to_string();
    assert!(pc.contains(&format!("prefix={root}/usr\n")), "{pc}");
    assert!(!pc.contains(&first.path().display().to_string()), "{pc}");
    let verification = second.verify().expect("verify");
    assert_eq!(verification.problems, vec![]);
    assert_eq!(
        second.manifest().expect("manifest").packages,
        first.manifest().expect("manifest").packages
    );
}
