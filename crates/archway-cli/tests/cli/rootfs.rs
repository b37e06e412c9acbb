//! `archway rootfs` and `archway shell`: errors and listings (snapshots), and real runs against
//! the machine's cache of root filesystems.

use crate::support::{self, archway};

#[test]
fn rootfs_list_on_an_empty_cache() {
    let output = archway().args(["rootfs", "list"]).run();
    insta::assert_snapshot!(output.snapshot());
    let json = archway().args(["rootfs", "list", "--json"]).run();
    json.assert_code(0);
    assert_eq!(json.stdout.trim(), "[]");
}

#[test]
fn rootfs_create_refuses_a_suite_without_the_architecture() {
    let output = archway()
        .args([
            "rootfs", "create", "--target", "riscv64", "--suite", "bookworm",
        ])
        .run();
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn rootfs_create_rejects_an_unknown_suite() {
    let output = archway()
        .args(["rootfs", "create", "--target", "arm64", "--suite", "sid"])
        .run();
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn rootfs_create_rejects_an_invalid_package_name() {
    let output = archway()
        .args([
            "rootfs",
            "create",
            "--target",
            "arm64",
            "--packages",
            "gcc-11,Bad;rm",
        ])
        .run();
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn rootfs_create_for_a_platform_debian_does_not_port_to() {
    let output = archway()
        .args(["rootfs", "create", "--target", "x86_64-w64-mingw32"])
        .run();
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn rootfs_remove_of_a_missing_rootfs() {
    let output = archway()
        .args(["rootfs", "remove", "--target", "aarch64-linux"])
        .run();
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn shell_rejects_an_unknown_method() {
    let output = archway()
        .args(["shell", "--target", "arm64", "--method", "qemu"])
        .run();
    insta::assert_snapshot!(output.snapshot());
}

fn have_prerequisites() -> bool {
    // `id -u`: no new dependency just for this check.
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout == b"0\n");
    if !root {
        return !support::skip_unless_ci("needs root (mmdebstrap, binfmt_misc)");
    }
    for tool in ["mmdebstrap", "bwrap"] {
        if !support::have_tool(tool) {
            return !support::skip_unless_ci(&format!("needs `{tool}`"));
        }
    }
    true
}

#[test]
fn rootfs_create_list_and_shell_with_the_real_cache() {
    if !have_prerequisites() {
        return;
    }
    let _entry = support::emulation_for("aarch64-linux");
    // Cached across runs in the machine's cache: a warm machine finds it at once.
    let create = archway()
        .real_cache()
        .args(["rootfs", "create", "--target", "aarch64-linux"])
        .run();
    create.assert_code(0);
    let tree = std::path::PathBuf::from(create.stdout.trim());
    assert!(tree.join("usr/bin/gcc").exists(), "{}", create.snapshot());

    let list = archway()
        .real_cache()
        .args(["rootfs", "list", "--json"])
        .run();
    list.assert_code(0);
    let listed: serde_json::Value = serde_json::from_str(&list.stdout).expect("JSON");
    let entry = listed
        .as_array()
        .expect("an array")
        .iter()
        .find(|entry| entry["name"] == "arm64-bookworm")
        .unwrap_or_else(|| panic!("arm64-bookworm listed:\n{}", list.stdout));
    assert_eq!(entry["key"]["architecture"], "arm64");
    assert_eq!(entry["key"]["suite"], "bookworm");
    assert!(entry["size_bytes"].as_u64().unwrap_or(0) > 100 * 1024 * 1024);

    // The shell runs the root filesystem's own programs, under QEMU, in the current directory.
    let shell = archway()
        .real_cache()
        .args(["shell", "--target", "arm64", "--method", "emulated"])
        .stdin("uname -m; dpkg --print-architecture; pwd; touch made-inside; exit 7\n")
        .run();
    assert_eq!(shell.code, Some(7), "{}", shell.snapshot());
    let lines: Vec<&str> = shell.stdout.lines().collect();
    assert_eq!(lines[..2], ["aarch64", "arm64"], "{}", shell.snapshot());
    assert!(
        shell.filtered(&shell.stdout).contains("[TEMP]/work"),
        "{}",
        shell.snapshot()
    );
    assert!(shell.temp().join("work/made-inside").exists());
}

#[test]
fn an_emulated_build_of_a_project_under_root_s_home_as_root() {
    // archway as root on /root/<project> (a container, a CI job): the sandbox runs as nobody,
    // who could not read the root filesystem's own /root to bind its files next to the
    // project ("Can't find source path .../root/.bashrc: Permission denied").
    if !have_prerequisites() {
        return;
    }
    let _entry = support::emulation_for("aarch64-linux");
    let home = tempfile::Builder::new()
        .prefix("archway-test-")
        .tempdir_in("/root")
        .expect("a directory under /root");
    let project = home.path().join("project");
    std::fs::create_dir_all(&project).expect("project");
    std::fs::write(
        project.join("Makefile"),
        "all:\n\tprintf 'int main(void){return 0;}\\n' > ok.c && $(CC) -o ok ok.c\n\
         check:\n\t./ok && echo under-roots-home\n",
    )
    .expect("Makefile");
    let output = archway()
        .real_cache()
        .args(["test", "--target", "arm64", "--method", "emulated", "-C"])
        .arg(&project)
        .run();
    output.assert_code(0);
    assert!(
        output.stderr.contains("\nunder-roots-home\n"),
        "{}",
        output.stderr
    );
}

/// Whether an enabled binfmt_misc entry has this magic (hex, as the kernel prints it).
fn entry_with_magic(magic_hex: &str) -> bool {
    std::fs::read_dir("/proc/sys/fs/binfmt_misc")
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            std::fs::read_to_string(entry.path()).is_ok_and(|text| {
                text.starts_with("enabled") && text.contains(&format!("magic {magic_hex}"))
            })
        })
}

#[test]
fn shell_setup_registers_the_missing_binfmt_entry() {
    if !have_prerequisites() {
        return;
    }
    const RISCV64_MAGIC: &str = "7f454c460201010000000000000000000200f300";
    // With someone else's entry in place, `--setup` has nothing to do and must leave it.
    let preexisting = entry_with_magic(RISCV64_MAGIC);
    /// Uninstalls what `--setup` registered, even when an assertion fails — only archway's own
    /// entry (interpreter `qemu-riscv64-static`): naming an entry to `binfmt uninstall` removes
    /// it whoever made it, and Debian's (`.../qemu-binfmt/riscv64-binfmt-P`) is not the test's.
    struct Uninstall;
    impl Drop for Uninstall {
        fn drop(&mut self) {
            let archways = std::fs::read_to_string("/proc/sys/fs/binfmt_misc/qemu-riscv64")
                .is_ok_and(|text| text.contains("interpreter /usr/bin/qemu-riscv64-static"));
            if archways {
                let _ = archway()
                    .args(["binfmt", "uninstall", "qemu-riscv64"])
                    .run();
            }
        }
    }
    if !preexisting {
        let without = archway()
            .real_cache()
            .args(["shell", "--target", "riscv64", "--method", "emulated"])
            .run();
        insta::assert_snapshot!(without.snapshot());
    }
    let _uninstall = (!preexisting).then_some(Uninstall);
    let shell = archway()
        .real_cache()
        .args([
            "shell", "--target", "riscv64", "--method", "emulated", "--setup",
        ])
        .stdin("uname -m; . /etc/os-release; echo \"$VERSION_CODENAME\"\n")
        .run();
    shell.assert_code(0);
    if !preexisting {
        assert!(
            shell.stderr.contains("--setup: registered `qemu-riscv64`"),
            "{}",
            shell.snapshot()
        );
    }
    assert_eq!(
        shell.stdout.lines().collect::<Vec<_>>()[..2],
        ["riscv64", "trixie"],
        "{}",
        shell.snapshot()
    );
    assert!(entry_with_magic(RISCV64_MAGIC));
}

/// `archway shell` (auto: hybrid on this host) is the target's system with native tools:
/// `uname -m` and `dpkg` say aarch64/arm64, `make` and `gcc` are x86-64 programs, and the
/// shell's exit code is archway's.
#[test]
fn shell_auto_is_hybrid_with_native_tools_in_the_target_system() {
    if !have_prerequisites() {
        return;
    }
    let _entry = support::emulation_for("aarch64-linux");
    let shell = archway()
        .real_cache()
        .args(["shell", "--target", "arm64", "--explain"])
        .stdin(
            "uname -m; dpkg --print-architecture\n\
             od -An -tx1 -j18 -N2 /usr/bin/make | tr -d ' '\n\
             od -An -tx1 -j18 -N2 \"$(readlink -f /usr/bin/gcc)\" | tr -d ' '\n\
             exit 3\n",
        )
        .run();
    shell.assert_code(3);
    assert!(
        shell.stderr.contains("chosen: hybrid"),
        "{}",
        shell.snapshot()
    );
    assert!(
        shell.stderr.contains(
            "hybrid shell: bubblewrap in the arm64/bookworm root filesystem with a native prefix"
        ),
        "{}",
        shell.snapshot()
    );
    assert_eq!(
        shell.stdout.lines().collect::<Vec<_>>(),
        ["aarch64", "arm64", "3e00", "3e00"],
        "{}",
        shell.snapshot()
    );
}

/// zlib's source, fetched now with `apt-get source` into `directory`.
fn zlib_source(directory: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(directory).expect("mkdir");
    let output = std::process::Command::new("apt-get")
        .args(["source", "--quiet", "zlib"])
        .current_dir(directory)
        .output()
        .expect("run apt-get source");
    assert!(
        output.status.success(),
        "apt-get source zlib (deb-src entries needed): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read_dir(directory)
        .expect("read")
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.is_dir())
        .expect("unpacked zlib")
}

/// A `PATH` directory with every program of the system's but the cross compilers: the host
/// as it would be with no cross toolchain installed.
pub(crate) fn path_without_cross_compilers(directory: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(directory).expect("mkdir");
    for system in ["/usr/local/bin", "/usr/bin", "/usr/sbin"] {
        for entry in std::fs::read_dir(system).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let cross =
                name.contains("-linux-gnu") || name.starts_with("clang") || name.contains("mingw");
            let link = directory.join(&name);
            if !cross && !link.exists() {
                let _ = std::os::unix::fs::symlink(entry.path(), link);
            }
        }
    }
    directory.to_path_buf()
}

#[test]
fn build_auto_picks_cross_then_falls_back_to_hybrid_without_a_toolchain() {
    if !have_prerequisites() {
        return;
    }
    if !support::have_tool("aarch64-linux-gnu-gcc") {
        support::skip_unless_ci("needs `aarch64-linux-gnu-gcc`");
        return;
    }
    let _entry = support::emulation_for("aarch64-linux");
    let command = archway().real_cache();
    let source = zlib_source(&command.work_dir().join("zlib"));
    // zlib's CMake file needs win32/, which Debian's dfsg tarball leaves out: use configure.
    let cross = command
        .args([
            "build",
            "--target",
            "aarch64-linux",
            "--build-system",
            "configure",
            "--explain",
        ])
        .current_dir(&source)
        .run();
    cross.assert_code(0);
    assert!(
        cross.stderr.contains("(cross method: cross toolchain"),
        "{}",
        cross.snapshot()
    );
    assert!(
        cross.stderr.contains("chosen: cross"),
        "{}",
        cross.snapshot()
    );
    assert!(
        cross
            .stdout
            .contains("libz.so.1.2.13\tshared library\taarch64-unknown-linux-gnu"),
        "{}",
        cross.snapshot()
    );

    // The fallback (hybrid on this amd64 host) runs in the root filesystem through the aarch64
    // entry `_entry` holds for the whole test.
    let command = archway().real_cache();
    let source = zlib_source(&command.work_dir().join("zlib"));
    let path = path_without_cross_compilers(&command.temp().join("bin"));
    let emulated = command
        .env("PATH", &path)
        .args([
            "build",
            "--target",
            "aarch64-linux",
            "--build-system",
            "configure",
            "--explain",
        ])
        .current_dir(&source)
        .run();
    emulated.assert_code(0);
    assert!(
        emulated
            .stderr
            .contains("cross     no   no cross toolchain"),
        "{}",
        emulated.snapshot()
    );
    assert!(
        emulated.stderr.contains("(hybrid method: binfmt entry"),
        "{}",
        emulated.snapshot()
    );
    assert!(
        emulated.stderr.contains("with a native prefix"),
        "{}",
        emulated.snapshot()
    );
    assert!(
        emulated
            .stdout
            .contains("libz.so.1.2.13\tshared library\taarch64-unknown-linux-gnu"),
        "{}",
        emulated.snapshot()
    );
}

/// `archway rootfs prune` against a real build: the arm64 root filesystem an emulated build
/// runs in is held while the build runs, so a prune keeps it; the build marks it used, so a
/// prune of what is unused for 30 days keeps it after; with 0 days it goes. In a cache of its
/// own, seeded from the machine's (a copy) when that has the entry, else created.
#[test]
fn rootfs_prune_keeps_what_a_build_holds_and_removes_what_is_unused() {
    for tool in ["mmdebstrap", "bwrap", "qemu-aarch64-static"] {
        if !support::have_tool(tool)
            && support::skip_unless_ci(&format!("`{tool}` on PATH (rootfs prune)"))
        {
            return;
        }
    }
    // `None`: an entry of the machine's (Debian's qemu-aarch64) runs them already.
    let _emulation = support::emulation_for("aarch64");
    let command = archway();
    let cache = command.temp().join("cache");
    let rootfs = cache.join("rootfs");
    std::fs::create_dir_all(&rootfs).expect("cache");
    let machines = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/root/.cache"))
        .join("archway/rootfs/arm64-bookworm");
    if machines.join("rootfs.json").is_file() {
        let copied = std::process::Command::new("cp")
            .arg("-a")
            .arg(&machines)
            .arg(&rootfs)
            .status()
            .expect("cp");
        assert!(copied.success(), "copying {machines:?}");
    }
    let in_cache = || archway().env("ARCHWAY_CACHE_DIR", &cache);
    // Found (the copy passes the quick check) or made.
    in_cache()
        .args(["rootfs", "create", "--target", "arm64"])
        .run()
        .assert_code(0);
    let prune = |extra: &[&str]| support::pruned(&cache, "rootfs", "arm64-bookworm", extra);

    let project = command.work_dir().join("slow");
    let mut build = support::slow_build_started(&cache, &project, "emulated");
    // While the build runs in it: kept, whatever its age.
    assert_eq!(
        prune(&["--unused-for", "0"]),
        (serde_json::json!(false), serde_json::json!("in use"))
    );
    assert_eq!(
        build.wait_for(std::time::Duration::from_secs(300)),
        Ok(Some(0))
    );
    // A plain Makefile builds in a copy in the build directory.
    assert!(project
        .join("build/archway/aarch64-unknown-linux-gnu/built")
        .is_file());
    // The build marked it used.
    assert_eq!(
        prune(&[]),
        (serde_json::json!(false), serde_json::json!("used recently"))
    );
    assert_eq!(
        prune(&["--unused-for", "0", "--dry-run"]),
        (serde_json::json!(true), serde_json::Value::Null)
    );
    assert!(rootfs.join("arm64-bookworm/root/usr/bin").is_dir());
    let removed = in_cache()
        .args(["rootfs", "prune", "--unused-for", "0"])
        .run();
    removed.assert_code(0);
    assert!(
        removed.stderr.contains("removed arm64-bookworm (")
            && removed.stderr.contains("removed 1 of 1 entries"),
        "{}",
        removed.stderr
    );
    assert!(!rootfs.join("arm64-bookworm").exists());
}

/// The entries of binfmt_misc, by name.
fn binfmt_entries() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/proc/sys/fs/binfmt_misc")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name != "register" && name != "status")
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// i386 on this x86_64 host: the emulated method builds in the i386 root filesystem and runs
/// its programs directly, with no QEMU and no binfmt_misc entry registered (one would send
/// every i386 program of the host through QEMU); the test checks 4-byte pointers at run time.
#[test]
fn an_emulated_build_for_a_target_the_host_runs_needs_no_emulator() {
    for tool in ["mmdebstrap", "bwrap"] {
        if !support::have_tool(tool)
            && support::skip_unless_ci(&format!("`{tool}` on PATH (i386 root filesystem)"))
        {
            return;
        }
    }
    let command = archway().real_cache();
    let project = command.work_dir().join("pointers");
    std::fs::create_dir_all(&project).expect("project");
    std::fs::write(
        project.join("Makefile"),
        "all: pointers\npointers: pointers.c\n\t$(CC) -o pointers pointers.c\n\
         check: pointers\n\t./pointers | grep -x '4 bytes'\n",
    )
    .expect("Makefile");
    std::fs::write(
        project.join("pointers.c"),
        "#include <stdio.h>\nint main(void) {\n    printf(\"%zu bytes\\n\", sizeof(void *));\n    return 0;\n}\n",
    )
    .expect("pointers.c");
    let before = binfmt_entries();
    let output = command
        .args([
            "test",
            "--target",
            "i386",
            "--method",
            "emulated",
            "--explain",
            "-C",
        ])
        .arg(&project)
        .run();
    output.assert_code(0);
    // Unless an entry of the machine's already claims i386 programs.
    if !before
        .iter()
        .any(|name| name.contains("i386") || name.contains("i686"))
    {
        assert!(
            output.stderr.contains(
                "this host runs `i686-unknown-linux-gnu` programs itself (no emulator), \
                 i386/bookworm root filesystem"
            ),
            "{}",
            output.stderr
        );
    }
    assert!(
        output
            .stdout
            .contains("pointers\texecutable\ti686-unknown-linux-gnu")
            || output
                .stderr
                .contains("pointers\texecutable\ti686-unknown-linux-gnu"),
        "{}",
        output.stderr
    );
    assert_eq!(
        binfmt_entries()
            .iter()
            .filter(
                |name| !before.contains(name) && (name.contains("i386") || name.contains("i686"))
            )
            .count(),
        0
    );
}

/// A test that writes into the project's source tree (yajl's does) fails in the emulated
/// method's sandbox, which keeps the project read-only, and archway builds again in a
/// writable copy under the build directory, as the cross method does; the project stays as it
/// was. (i386: the host runs it, so no QEMU and no binfmt entry.)
#[test]
fn an_emulated_test_that_writes_into_its_source_passes_in_a_writable_copy() {
    for tool in ["mmdebstrap", "bwrap"] {
        if !support::have_tool(tool)
            && support::skip_unless_ci(&format!("`{tool}` on PATH (i386 root filesystem)"))
        {
            return;
        }
    }
    let command = archway().real_cache();
    let project = command.work_dir().join("writes");
    std::fs::create_dir_all(&project).expect("project");
    std::fs::write(
        project.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.13)\nproject(writes C)\nenable_testing()\n\
         add_executable(hello hello.c)\n\
         add_test(NAME writes COMMAND sh -c \"./hello > ${CMAKE_SOURCE_DIR}/result.txt\")\n",
    )
    .expect("CMakeLists.txt");
    std::fs::write(
        project.join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
    )
    .expect("hello.c");
    let output = command
        .args(["test", "--target", "i386", "--method", "emulated", "-C"])
        .arg(&project)
        .run();
    output.assert_code(0);
    assert!(
        output
            .stderr
            .contains("building again in a writable copy of it"),
        "{}",
        output.stderr
    );
    assert!(!project.join("result.txt").exists());
    let copy = project.join("build/archway/i686-unknown-linux-gnu/.archway/project");
    assert_eq!(
        std::fs::read_to_string(copy.join("result.txt")).expect("the copy's result"),
        "hello\n"
    );
}
