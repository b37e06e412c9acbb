//! System tests of the emulated method: real root filesystems made by mmdebstrap, real QEMU
//! through binfmt_misc, real third-party sources fetched with `apt-get source` at test time.
//!
//! Root filesystems go to the normal cache directory, so a warm machine reuses them; tests that
//! need the same one wait on its lock. Each test that needs a binfmt entry registers its own
//! (unique name, removed on drop) unless one already runs that architecture.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use archway::emulated::{self, Emulated};
use archway_rootfs::{Architecture, CreateOptions, RootfsKey, Store, Suite};

/// `true` when the test can run; outside CI a missing prerequisite skips (saying why), under
/// `CI` it fails.
fn prerequisites() -> bool {
    let mut missing = Vec::new();
    if !archway_rootfs::running_as_root() {
        missing.push("root".to_string());
    }
    for tool in ["mmdebstrap", "bwrap", "apt-get", "dpkg-source"] {
        if archway_rootfs::find_program(tool).is_none() {
            missing.push(format!("`{tool}`"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    !archway_platform::testing::skip_unless_ci(&format!("needs {}", missing.join(", ")))
}

fn store() -> Store {
    Store::new(&archway::cache::cache_dir().expect("a cache directory (HOME is set)"))
}

/// A binfmt entry this test registered (unique name, `F` flag, removed on drop even when the
/// test fails); `None` when the host runs the architecture natively.
fn binfmt_entry(architecture: Architecture) -> Option<archway_binfmt::testing::TemporaryEntry> {
    if emulated::host_runs(architecture) {
        return None;
    }
    let entry =
        archway_binfmt::testing::TemporaryEntry::register(architecture.qemu_user(), "emulated")
            .unwrap_or_else(|error| panic!("a binfmt entry for {architecture}: {error}"));
    Some(entry)
}

/// Downloads and unpacks a Debian source package into a fresh directory; returns the
/// directory and the unpacked source tree.
fn apt_source(package: &str) -> (tempfile::TempDir, PathBuf) {
    // Not under /tmp: the sandbox's /tmp is its own tmpfs, and a project elsewhere exercises
    // carving its path through the read-only tree.
    let directory = tempfile::Builder::new()
        .prefix("archway-emulated-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir");
    let output = Command::new("apt-get")
        .args(["source", "--quiet", package])
        .current_dir(directory.path())
        .output()
        .expect("run apt-get source");
    assert!(
        output.status.success(),
        "apt-get source {package} failed (deb-src entries needed):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let source = std::fs::read_dir(directory.path())
        .expect("read")
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.is_dir())
        .expect("an unpacked source tree");
    (directory, source)
}

/// ELF `e_machine` of a file (little-endian targets only, which is all these tests build).
fn elf_machine(path: &Path) -> u16 {
    let bytes =
        std::fs::read(path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    assert_eq!(&bytes[..4], b"\x7fELF", "{} is not ELF", path.display());
    u16::from_le_bytes([bytes[18], bytes[19]])
}

fn build_zlib_inside(architecture: Architecture, suite: Suite, expected_machine: u16) {
    if !prerequisites() {
        return;
    }
    let _entry = binfmt_entry(architecture);
    let key = RootfsKey::new(architecture, suite, []).expect("valid key");
    let (_directory, source) = apt_source("zlib");
    let emulated = Emulated::new(store(), key, &source);
    let rootfs = emulated
        .ensure_rootfs(&archway_platform::NoProgress)
        .expect("root filesystem");
    assert!(rootfs.tree().join("usr/bin/gcc").exists());
    let started = Instant::now();
    let output = emulated
        .sandbox(&rootfs)
        .command(
            "/bin/sh",
            ["-c", "./configure && make -j\"$(nproc)\" && make check"],
        )
        .expect("sandbox command")
        .stdin(Stdio::null())
        .output()
        .expect("run bwrap");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "zlib build or make check failed in {architecture}:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("*** zlib test OK ***"),
        "make check ran the tests:\n{stdout}"
    );
    eprintln!(
        "zlib in {architecture}/{suite}: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The artifacts are the target's: built by the root filesystem's own (native) gcc.
    assert_eq!(elf_machine(&source.join("example")), expected_machine);
    assert_eq!(
        elf_machine(&source.join("libz.so.1.2.13")),
        expected_machine
    );
}

#[test]
fn zlib_builds_and_passes_make_check_in_arm64_bookworm() {
    const EM_AARCH64: u16 = 183;
    build_zlib_inside(Architecture::Arm64, Suite::Bookworm, EM_AARCH64);
}

#[test]
fn zlib_builds_and_passes_make_check_in_riscv64_trixie() {
    const EM_RISCV: u16 = 243;
    build_zlib_inside(Architecture::Riscv64, Suite::Trixie, EM_RISCV);
}

#[test]
fn writes_outside_the_project_fail_and_change_nothing() {
    if !prerequisites() {
        return;
    }
    let _entry = binfmt_entry(Architecture::Arm64);
    let key = RootfsKey::new(Architecture::Arm64, Suite::Bookworm, []).expect("valid key");
    let area = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let (project, outside) = (area.path().join("project"), area.path().join("outside"));
    std::fs::create_dir_all(project.join("build/archway/aarch64")).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    let emulated = Emulated::new(store(), key, &project);
    let rootfs = emulated
        .ensure_rootfs(&archway_platform::NoProgress)
        .expect("root filesystem");
    let run = |script: &str| {
        emulated
            .sandbox(&rootfs)
            .command("/bin/sh", ["-c", script])
            .expect("sandbox command")
            .stdin(Stdio::null())
            .output()
            .expect("run bwrap")
    };
    // Inside the project and its build directory: allowed.
    let inside = run("echo ok > build/archway/aarch64/artifact && echo ok > top-level");
    assert!(
        inside.status.success(),
        "{}",
        String::from_utf8_lossy(&inside.stderr)
    );
    assert!(project.join("build/archway/aarch64/artifact").exists());
    assert!(project.join("top-level").exists());
    // Anywhere else: the host next to the project, the root filesystem, its root directory.
    let escapes = [
        outside.join("escaped"),
        PathBuf::from("/etc/archway-escaped"),
        PathBuf::from("/usr/bin/archway-escaped"),
        PathBuf::from("/archway-escaped"),
    ];
    for target in &escapes {
        let script = format!("echo escaped > '{}'", target.display());
        let output = run(&format!(
            "set -e; echo before > build/archway/aarch64/marker-ok; {script}"
        ));
        assert!(
            !output.status.success(),
            "writing {} succeeded",
            target.display()
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            // Read-only inside the tree; outside it the directory does not exist (dash says
            // "Directory nonexistent").
            [
                "Read-only file system",
                "Directory nonexistent",
                "No such file"
            ]
            .iter()
            .any(|reason| stderr.contains(reason)),
            "{stderr}"
        );
    }
    assert!(!outside.join("escaped").exists());
    assert_eq!(
        std::fs::read_dir(&outside).expect("read").count(),
        0,
        "nothing appeared outside"
    );
    for inside_tree in [
        "etc/archway-escaped",
        "usr/bin/archway-escaped",
        "archway-escaped",
    ] {
        assert!(
            !rootfs.tree().join(inside_tree).exists(),
            "the root filesystem changed: {inside_tree}"
        );
    }
    // And no network: a new network namespace has only the loopback interface.
    let network = run("cat /proc/net/dev");
    let devices = String::from_utf8_lossy(&network.stdout);
    assert!(network.status.success());
    assert!(
        !devices
            .lines()
            .skip(2)
            .any(|line| !line.trim_start().starts_with("lo:")),
        "{devices}"
    );
}

/// The creation that `an_interrupted_creation_leaves_no_rootfs_and_the_next_succeeds` kills:
/// does nothing unless that test started this process.
#[test]
fn child_process_creating_a_rootfs() {
    let Some(cache) = std::env::var_os("ARCHWAY_TEST_KILLED_CREATION_CACHE") else {
        return;
    };
    let key = RootfsKey::new(Architecture::Amd64, Suite::Bookworm, []).expect("valid key");
    let _ = Store::new(Path::new(&cache)).ensure(
        &key,
        &CreateOptions::default(),
        &archway_platform::NoProgress,
    );
}

#[test]
fn an_interrupted_creation_leaves_no_rootfs_and_the_next_succeeds() {
    if !prerequisites() {
        return;
    }
    // amd64: the host's own architecture, so creation needs no emulation and stays quick.
    let cache = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let store = Store::new(cache.path());
    let key = RootfsKey::new(Architecture::Amd64, Suite::Bookworm, []).expect("valid key");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_process_creating_a_rootfs",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ARCHWAY_TEST_KILLED_CREATION_CACHE", cache.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn the creating process");
    /// SIGKILL to the whole process group (kill(1): a negative pid names a group).
    struct KillGroup(u32);
    impl Drop for KillGroup {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.0)])
                .status();
        }
    }
    let guard = KillGroup(child.id());
    // Wait until mmdebstrap is midway: packages unpacked into the partial tree.
    let deadline = Instant::now() + Duration::from_secs(600);
    let partial = loop {
        let found = std::fs::read_dir(store.root())
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .find(|path| path.join("root/usr/bin").is_dir());
        if let Some(partial) = found {
            break partial;
        }
        assert!(
            Instant::now() < deadline,
            "mmdebstrap never started unpacking"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "creation ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    drop(guard); // SIGKILL to the whole process group: the test process and mmdebstrap
    let _ = child.wait();
    // Give mmdebstrap's own children a moment to die with it.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        partial.exists(),
        "the killed creation left its partial directory"
    );
    assert!(
        store.get(&key).expect("read the cache").is_none(),
        "no rootfs after a killed creation"
    );
    assert!(store.list().expect("list").is_empty());
    assert!(
        !partial.exists(),
        "listing removed the stale partial directory"
    );
    let (rootfs, created) = store
        .ensure(
            &key,
            &CreateOptions::default(),
            &archway_platform::NoProgress,
        )
        .expect("the next creation succeeds");
    assert!(created);
    assert!(rootfs.tree().join("usr/bin/gcc").exists());
    let leftovers: Vec<_> = std::fs::read_dir(store.root())
        .expect("read")
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    archway_rootfs::tree::remove_tree(&rootfs.directory).expect("clean up");
}

fn real_facts(target: &str, search_path: &std::ffi::OsStr) -> archway::plan::Facts {
    let target = archway_platform::Platform::parse(target).expect("a known target");
    let host = archway_platform::host::Host::detect().expect("probe the host");
    archway::plan::Facts::gather(
        &target,
        &host,
        search_path,
        &archway::plan::Declared::default(),
    )
}

#[test]
fn auto_picks_cross_where_a_cross_compiler_is_installed() {
    if !prerequisites() {
        return;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if !archway_platform::testing::require(
        archway_rootfs::find_program("aarch64-linux-gnu-gcc").is_some(),
        "needs `aarch64-linux-gnu-gcc` (gcc-aarch64-linux-gnu)",
    ) {
        return;
    }
    let facts = real_facts("aarch64-linux", &path);
    let plan =
        archway::plan::plan(archway::plan::MethodRequest::Auto, &facts, false).expect("a method");
    assert_eq!(
        plan.method,
        archway::plan::Method::Cross,
        "{}",
        plan.explain()
    );
    assert!(
        plan.summary().contains("aarch64-linux-gnu-gcc"),
        "{}",
        plan.summary()
    );
}

#[test]
fn auto_falls_back_to_hybrid_then_emulated_without_a_cross_toolchain() {
    if !prerequisites() {
        return;
    }
    // The same target with every toolchain hidden: only the QEMU interpreter is on the path.
    let tools = tempfile::tempdir().expect("temp dir");
    let (interpreter, _) = archway_binfmt::interpreter::find(
        "aarch64",
        &archway_binfmt::interpreter::path_directories(),
    );
    let interpreter = interpreter.expect("qemu-user-static installed (CI installs it)");
    std::os::unix::fs::symlink(&interpreter, tools.path().join("qemu-aarch64-static"))
        .expect("symlink");
    let _entry = binfmt_entry(Architecture::Arm64);
    let mut facts = real_facts("aarch64-linux", tools.path().as_os_str());
    let plan =
        archway::plan::plan(archway::plan::MethodRequest::Auto, &facts, false).expect("a method");
    assert_eq!(
        plan.method,
        archway::plan::Method::Hybrid,
        "this amd64 host makes a native prefix: {}",
        plan.explain()
    );
    assert!(
        plan.explain().contains("cross     no   no cross toolchain"),
        "{}",
        plan.explain()
    );
    // Where no prefix can be made (another host CPU), emulated remains.
    facts.hybrid_prefix = Err("not an amd64 host".to_string());
    let plan =
        archway::plan::plan(archway::plan::MethodRequest::Auto, &facts, false).expect("a method");
    assert_eq!(
        plan.method,
        archway::plan::Method::Emulated,
        "{}",
        plan.explain()
    );
    // And another Debian architecture (mips64el), its cross compiler hidden the same way.
    let _mips = binfmt_entry(Architecture::Mips64el);
    let (mips_interpreter, _) = archway_binfmt::interpreter::find(
        "mips64el",
        &archway_binfmt::interpreter::path_directories(),
    );
    std::os::unix::fs::symlink(
        mips_interpreter.expect("qemu-user-static installed (CI installs it)"),
        tools.path().join("qemu-mips64el-static"),
    )
    .expect("symlink");
    let facts = real_facts("mips64el-linux-gnuabi64", tools.path().as_os_str());
    let plan =
        archway::plan::plan(archway::plan::MethodRequest::Auto, &facts, false).expect("a method");
    assert_eq!(
        plan.method,
        archway::plan::Method::Hybrid,
        "{}",
        plan.explain()
    );
    assert_eq!(facts.rootfs_architecture, Some(Architecture::Mips64el));
}

#[test]
fn a_derived_rootfs_has_its_packages_and_the_base_stays_unchanged() {
    if !prerequisites() {
        return;
    }
    let _entry = binfmt_entry(Architecture::Arm64);
    let store = store();
    let base_key = RootfsKey::new(Architecture::Arm64, Suite::Bookworm, []).expect("valid key");
    let (base, _) = store
        .ensure(
            &base_key,
            &CreateOptions::default(),
            &archway_platform::NoProgress,
        )
        .expect("base root filesystem");
    let base_status = std::fs::read(base.tree().join("var/lib/dpkg/status")).expect("dpkg status");
    // zlib's headers: small, and absent from the build-essential base.
    let key = RootfsKey::new(
        Architecture::Arm64,
        Suite::Bookworm,
        ["zlib1g-dev".parse().expect("valid")],
    )
    .expect("valid key");
    let (derived, _) = store
        .ensure(
            &key,
            &CreateOptions::default(),
            &archway_platform::NoProgress,
        )
        .expect("derived root filesystem");
    assert_ne!(derived.directory, base.directory);
    assert!(derived.tree().join("usr/include/zlib.h").exists());
    assert!(
        !base.tree().join("usr/include/zlib.h").exists(),
        "the base was changed"
    );
    assert_eq!(
        std::fs::read(base.tree().join("var/lib/dpkg/status")).expect("dpkg status"),
        base_status,
        "the base's package database was changed"
    );
    // The derived system works: its compiler finds the new header.
    let project = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    std::fs::write(
        project.path().join("z.c"),
        "#include <zlib.h>\n#include <stdio.h>\nint main(void) { puts(zlibVersion()); return 0; }\n",
    )
    .expect("write");
    let emulated = Emulated::new(store.clone(), key, project.path());
    let output = emulated
        .sandbox(&derived)
        .command("/bin/sh", ["-c", "gcc z.c -o z -lz && ./z"])
        .expect("sandbox command")
        .stdin(Stdio::null())
        .output()
        .expect("run bwrap");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("1.2.13"));
}
