//! `archway rootfs create` is transactional and `archway rootfs verify` tells the truth: real
//! mmdebstrap runs (amd64, the host's own architecture, so no QEMU: about 100 s for a buildd
//! tree) in a cache on a small tmpfs this test mounts, fills, enlarges and unmounts.
//!
//! One test, in phases, because each phase needs the previous one's cache and one creation
//! costs most of the time this file may take in CI: a full disk, then SIGKILLs at seeded
//! random moments, then the creation that succeeds, then tampering.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;

/// The seeds of the kill delays (fixed, so a failure reproduces; printed with each delay).
const KILL_SEEDS: [u64; 3] = [7, 1_234, 99_991];
/// Kill delays are drawn from this range, in seconds: from "mmdebstrap is resolving" to
/// "dpkg is configuring" (a whole creation takes about 25 s with a fast mirror on this
/// project's machine; a kill that comes after it finished checks the finished entry instead).
const KILL_DELAY_SECONDS: std::ops::RangeInclusive<u64> = 2..=20;

/// A tmpfs mounted at a temporary directory; unmounted (lazily, so even with something still
/// open there) when dropped, panicking test or not.
struct Tmpfs {
    mount_point: PathBuf,
}

impl Tmpfs {
    fn mount(mount_point: &Path, size: &str) -> Tmpfs {
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(mount_point)
            .status()
            .expect("run mount");
        assert!(status.success(), "mounting a tmpfs at {mount_point:?}");
        Tmpfs {
            mount_point: mount_point.to_path_buf(),
        }
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.mount_point)
            .status()
            .expect("run mount");
        assert!(status.success(), "remounting {:?}", self.mount_point);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("--lazy")
            .arg(&self.mount_point)
            .status();
    }
}

/// SIGKILL to a whole process group (kill(1): a negative pid names a group), on drop too.
struct ProcessGroup(u32);

impl ProcessGroup {
    fn kill(&self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// splitmix64 (Steele, Lea, Flood 2014): a seeded draw without a dependency.
fn draw(seed: u64, range: &std::ops::RangeInclusive<u64>) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    range.start() + z % (range.end() - range.start() + 1)
}

/// The names in `<cache>/rootfs` that are not lock files: complete entries and partial ones.
fn cache_entries(cache: &Path) -> (Vec<String>, Vec<PathBuf>) {
    let mut complete = Vec::new();
    let mut partial = Vec::new();
    for entry in std::fs::read_dir(cache.join("rootfs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".lock") {
            continue;
        }
        if name.starts_with(".partial-") {
            partial.push(entry.path());
        } else {
            complete.push(name);
        }
    }
    partial.sort();
    (complete, partial)
}

fn verify(cache: &Path, extra: &[&str]) -> support::Output {
    support::archway()
        .env("ARCHWAY_CACHE_DIR", cache)
        .args(["rootfs", "verify", "--target", "amd64"])
        .args(extra)
        .run()
}

fn prerequisites() -> bool {
    archway_platform::testing::require(
        archway_rootfs::running_as_root(),
        "creating root filesystems in a tmpfs needs root",
    ) && archway_platform::testing::require(
        archway_rootfs::find_program("mmdebstrap").is_some(),
        "`mmdebstrap` is not installed",
    )
}

#[test]
fn rootfs_create_survives_a_full_disk_and_sigkill_and_verify_names_tampered_files() {
    if !prerequisites() {
        return;
    }
    let started = Instant::now();
    let temp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let cache = temp.path().join("cache");
    std::fs::create_dir(&cache).expect("mkdir");
    let tmpfs = Tmpfs::mount(&cache, "96m");
    let entry = cache.join("rootfs/amd64-bookworm");

    // (b) A full disk: a clear error naming the file system and the way out, no entry, nothing
    // partial left behind.
    let full = support::archway()
        .env("ARCHWAY_CACHE_DIR", &cache)
        .args(["rootfs", "create", "--target", "amd64"])
        .run();
    assert_eq!(full.code, Some(1), "{}", full.stderr);
    assert!(
        full.stderr
            .contains(&format!("error: no space left on `{}`", cache.display())),
        "{}",
        full.stderr
    );
    assert!(full.stderr.contains("ARCHWAY_CACHE_DIR"), "{}", full.stderr);
    assert_eq!(
        cache_entries(&cache),
        (Vec::new(), Vec::new()),
        "a failed creation leaves nothing"
    );
    let after_full = verify(&cache, &[]);
    assert_eq!(after_full.code, Some(1));
    assert!(
        after_full.stderr.contains("it is not in the cache"),
        "{}",
        after_full.stderr
    );
    eprintln!(
        "full disk: failed cleanly after {:?}:\n{}",
        started.elapsed(),
        full.stderr.lines().take(3).collect::<Vec<_>>().join("\n")
    );
    tmpfs.resize("1536m");

    // (a) SIGKILL to archway and everything it started, at seeded random moments.
    for seed in KILL_SEEDS {
        let delay = Duration::from_secs(draw(seed, &KILL_DELAY_SECONDS));
        let log = temp.path().join(format!("create-{seed}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_archway"))
            .args(["rootfs", "create", "--target", "amd64"])
            .env("ARCHWAY_CACHE_DIR", &cache)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .process_group(0)
            .spawn()
            .expect("spawn archway");
        let mut child = child;
        let group = ProcessGroup(child.id());
        let deadline = Instant::now() + delay;
        while Instant::now() < deadline && child.try_wait().expect("wait").is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
        let finished = child.try_wait().expect("wait");
        group.kill();
        let _ = child.wait();
        // mmdebstrap's own children die with the group; give the kernel a moment to reap.
        std::thread::sleep(Duration::from_secs(1));
        let (complete, partial) = cache_entries(&cache);
        eprintln!(
            "seed {seed}: killed after {delay:?} ({}), left {partial:?}",
            if finished.is_some() {
                "it had finished"
            } else {
                "running"
            }
        );
        if let Some(status) = finished {
            // A machine fast enough to finish first: then the entry must be whole.
            assert!(
                status.success(),
                "{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            let clean = verify(&cache, &[]);
            assert_eq!(clean.code, Some(0), "{}", clean.stderr);
            let removed = support::archway()
                .env("ARCHWAY_CACHE_DIR", &cache)
                .args(["rootfs", "remove", "--target", "amd64"])
                .run();
            assert_eq!(removed.code, Some(0), "{}", removed.stderr);
            continue;
        }
        assert!(
            complete.is_empty() && !entry.exists(),
            "a killed creation left a complete-looking entry: {complete:?}"
        );
        let after_kill = verify(&cache, &["--json"]);
        assert_eq!(after_kill.code, Some(1), "{}", after_kill.stderr);
        let reported: serde_json::Value =
            serde_json::from_str(&after_kill.stdout).expect("verify --json prints JSON");
        let problems = reported[0]["problems"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(problems[0]["problem"], "no-entry", "{problems:?}");
        let mut stale: Vec<PathBuf> = problems[1..]
            .iter()
            .map(|problem| {
                assert_eq!(problem["problem"], "stale-partial", "{problems:?}");
                PathBuf::from(problem["path"].as_str().unwrap_or_default())
            })
            .collect();
        stale.sort();
        assert_eq!(stale, partial, "verify reports exactly the leftovers");
    }

    // The next creation removes the leftovers and succeeds; verify is clean.
    let created = support::archway()
        .env("ARCHWAY_CACHE_DIR", &cache)
        .args(["rootfs", "create", "--target", "amd64"])
        .run();
    assert_eq!(created.code, Some(0), "{}", created.stderr);
    assert_eq!(
        cache_entries(&cache),
        (vec!["amd64-bookworm".to_string()], Vec::new())
    );
    let clean = verify(&cache, &[]);
    assert_eq!(clean.code, Some(0), "{}", clean.stderr);
    assert!(
        clean
            .stderr
            .contains("the root filesystem `amd64-bookworm` is intact:"),
        "{}",
        clean.stderr
    );
    eprintln!(
        "created after {:?}: {}",
        started.elapsed(),
        clean.stderr.trim()
    );

    // (c) Tampering: a deleted file and a changed size are named, with the repairing commands.
    let tree = entry.join("root");
    std::fs::remove_file(tree.join("usr/bin/dpkg")).expect("delete a file");
    let version = tree.join("etc/debian_version");
    let text = std::fs::read_to_string(&version).expect("read");
    std::fs::write(&version, format!("{text}tampered\n")).expect("change a size");
    let tampered = verify(&cache, &[]);
    assert_eq!(tampered.code, Some(1), "{}", tampered.stderr);
    for expected in [
        "`usr/bin/dpkg` is missing",
        "`etc/debian_version` changed: expected",
        "archway rootfs remove --target amd64 --suite bookworm && archway rootfs create --target amd64 --suite bookworm",
    ] {
        assert!(tampered.stderr.contains(expected), "{expected}:\n{}", tampered.stderr);
    }
    let everything = support::archway()
        .env("ARCHWAY_CACHE_DIR", &cache)
        .args(["rootfs", "verify", "--all"])
        .run();
    assert_eq!(everything.code, Some(1), "{}", everything.stderr);
    assert!(everything.stderr.contains("`usr/bin/dpkg` is missing"));
    eprintln!("done after {:?}", started.elapsed());
    drop(tmpfs);
}
