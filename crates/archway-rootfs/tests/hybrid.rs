//! System tests of the hybrid view: a real root filesystem and a real native prefix (both made
//! by mmdebstrap), QEMU through binfmt_misc for the target's own programs.
//!
//! Trees go to `ARCHWAY_CACHE_DIR` (else `~/.cache/archway`), so a warm machine reuses them.
//! Outside CI a missing prerequisite skips the test with a note; under CI it fails.
//! Each test remakes its view (removing a cached one first) to check that making it changes
//! neither the root filesystem nor the prefix.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use archway_platform::NoProgress;
use archway_rootfs::{Architecture, CreateOptions, PrefixKey, RootfsKey, Sandbox, Store, Suite};

fn prerequisites() -> bool {
    let mut missing = Vec::new();
    if !archway_rootfs::running_as_root() {
        missing.push("root".to_string());
    }
    for tool in ["mmdebstrap", "bwrap"] {
        if archway_rootfs::find_program(tool).is_none() {
            missing.push(format!("`{tool}`"));
        }
    }
    if !Path::new("/proc/sys/fs/binfmt_misc/register").exists() {
        missing.push("a mounted binfmt_misc".to_string());
    }
    if missing.is_empty() {
        return true;
    }
    !archway_platform::testing::skip_unless_ci(&format!("needs {}", missing.join(", ")))
}

fn store() -> Store {
    let cache = std::env::var_os("ARCHWAY_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/archway")))
        .expect("ARCHWAY_CACHE_DIR or HOME");
    Store::new(&cache)
}

/// Everything about a tree that making a view must not change: per path its type, mode,
/// owner, size, modification time and link target (link counts and ctime do change: `link(2)`
/// updates them), plus the dpkg status file's content.
fn snapshot(tree: &Path) -> BTreeMap<PathBuf, String> {
    let mut entries = BTreeMap::new();
    let mut pending = vec![tree.to_path_buf()];
    while let Some(path) = pending.pop() {
        let metadata = fs::symlink_metadata(&path).expect("inspect");
        let link = fs::read_link(&path).ok();
        entries.insert(
            path.strip_prefix(tree).expect("inside").to_path_buf(),
            format!(
                "{:o} {}:{} {} {}.{} {:?}",
                metadata.mode(),
                metadata.uid(),
                metadata.gid(),
                metadata.size(),
                metadata.mtime(),
                metadata.mtime_nsec(),
                link
            ),
        );
        if metadata.is_dir() {
            pending.extend(
                fs::read_dir(&path)
                    .expect("read")
                    .flatten()
                    .map(|e| e.path()),
            );
        }
    }
    let status = fs::read_to_string(tree.join("var/lib/dpkg/status")).unwrap_or_default();
    entries.insert(PathBuf::from("<dpkg status>"), status);
    entries
}

/// The ELF machine (`e_machine`, bytes 18-19 little-endian) of a file.
fn elf_machine(path: &Path) -> u16 {
    let bytes = fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert_eq!(&bytes[..4], b"\x7fELF", "{} is an ELF file", path.display());
    u16::from_le_bytes([bytes[18], bytes[19]])
}

const EM_X86_64: u16 = 62;

fn check_view(architecture: Architecture, suite: Suite, machine: &str, elf: u16, gcc: &str) {
    if !prerequisites() {
        return;
    }
    let store = store();
    let key = RootfsKey::new(architecture, suite, []).expect("valid key");
    let options = CreateOptions::default();
    // Registered first: creating a foreign tree runs its maintainer scripts under QEMU.
    let _binfmt =
        archway_binfmt::testing::TemporaryEntry::register(architecture.qemu_user(), "hybrid")
            .unwrap_or_else(|error| panic!("a binfmt entry for {architecture}: {error}"));
    let (rootfs, _) = store
        .ensure(&key, &options, &NoProgress)
        .expect("root filesystem");
    let prefix_key = PrefixKey::for_rootfs(&key, []).expect("prefix key");
    let started = Instant::now();
    let (prefix, created) = store
        .ensure_prefix(&prefix_key, &options, &NoProgress)
        .expect("native prefix");
    eprintln!(
        "prefix {}: {} ({:.1} s, {} MiB)",
        prefix_key,
        if created { "created" } else { "cached" },
        started.elapsed().as_secs_f64(),
        prefix.metadata.size_bytes >> 20
    );

    let name = archway_rootfs::view_name(&rootfs, &prefix);
    store
        .remove_hybrid_view(&name)
        .expect("remove the old view");
    let (rootfs_before, prefix_before) = (snapshot(&rootfs.tree()), snapshot(&prefix.tree()));
    let (view, created) = store
        .ensure_hybrid(&rootfs, &prefix, &NoProgress)
        .expect("hybrid view");
    assert!(created);
    eprintln!("view {name}: {:.1} s", view.metadata.creation_seconds);
    assert!(
        rootfs_before == snapshot(&rootfs.tree()),
        "the root filesystem changed"
    );
    assert!(
        prefix_before == snapshot(&prefix.tree()),
        "the prefix changed"
    );
    assert_eq!(view.metadata.machine, machine);
    for program in [gcc, "make", "sh", "bash", "sed", "grep", "perl"] {
        assert!(
            view.native_programs()
                .iter()
                .any(|native| native == program),
            "{program} is native: {:?}",
            view.native_programs()
        );
    }
    assert!(!view
        .native_programs()
        .iter()
        .any(|native| native == "uname" || native == "dpkg"));
    // What `gcc` resolves to in the view is an amd64 program: it can only run natively.
    let tree = view.tree();
    let resolve = |program: &str| {
        let mut path = tree.join("usr/bin").join(program);
        for _ in 0..10 {
            match fs::read_link(&path) {
                Ok(target) if target.is_absolute() => {
                    path = tree.join(target.strip_prefix("/").expect("absolute"))
                }
                Ok(target) => path = path.parent().expect("parent").join(target),
                Err(_) => break,
            }
        }
        path
    };
    for program in ["gcc", "cc", "g++", "as", "ld", "make", "sh", "perl"] {
        assert_eq!(
            elf_machine(&resolve(program)),
            EM_X86_64,
            "{program} is native"
        );
    }
    assert_eq!(elf_machine(&resolve("uname")), elf, "uname is the target's");

    let project = tempfile::tempdir().expect("temp dir");
    fs::write(
        project.path().join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
    )
    .expect("write");
    fs::write(
        project.path().join("hello.cc"),
        "#include <iostream>\n#include <string>\nint main() { std::string s(\"hi\"); std::cout << s << std::endl; }\n",
    )
    .expect("write");
    let run = |script: &str| {
        let output = Sandbox::new(view.tree())
            .bind(project.path())
            .command("/bin/sh", ["-c", script])
            .expect("command")
            .output()
            .expect("bwrap runs");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).trim().to_string(),
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        );
        assert!(output.status.success(), "`{script}`: {stdout}\n{stderr}");
        assert!(
            !stderr.contains("cannot be preloaded"),
            "`{script}`: {stderr}"
        );
        stdout
    };
    assert_eq!(run("uname -m"), machine);
    assert_eq!(run("dpkg --print-architecture"), architecture.name());
    assert_eq!(run("perl -MPOSIX -e 'print((POSIX::uname())[4])'"), machine);
    assert_eq!(run("gcc -dumpmachine"), prefix_key.cross_triple());
    assert_eq!(run("cc -o hello hello.c && ./hello"), "hello");
    assert_eq!(elf_machine(&project.path().join("hello")), elf);
    assert_eq!(run("c++ -o hello-cc hello.cc && ./hello-cc"), "hi");
    // The compiler uses the root filesystem's own C library and libstdc++ headers, not the
    // cross packages' copies.
    let first_header =
        run("echo '#include <stdio.h>' | gcc -E -H -x c - 2>&1 >/dev/null | head -n 1");
    assert_eq!(first_header, ". /usr/include/stdio.h");
    let libc = run("gcc -print-file-name=libc.so");
    assert!(
        libc.contains(archway_rootfs::multiarch(architecture)),
        "{libc}"
    );
    let string_header =
        run("echo '#include <string>' | g++ -E -H -x c++ - 2>&1 >/dev/null | head -n 1");
    let string_header = string_header.trim_start_matches(". ");
    let version = string_header
        .split('/')
        .rev()
        .nth(1)
        .expect("version directory");
    let inode = |path: &Path| fs::metadata(path).expect("header").ino();
    assert_eq!(
        inode(&view.tree().join(string_header.trim_start_matches('/'))),
        inode(
            &rootfs
                .tree()
                .join("usr/include/c++")
                .join(version)
                .join("string")
        ),
        "g++ reads the root filesystem's own <string> ({string_header})"
    );
    if view.tree().join("usr/bin/python3").exists() {
        assert_eq!(
            run("python3 -c 'import platform; print(platform.machine())'"),
            machine
        );
    }
}

#[test]
fn arm64_bookworm_view_runs_native_tools_as_the_target() {
    check_view(
        Architecture::Arm64,
        Suite::Bookworm,
        "aarch64",
        183,
        "aarch64-linux-gnu-gcc-12",
    );
}

#[test]
fn riscv64_trixie_view_runs_native_tools_as_the_target() {
    check_view(
        Architecture::Riscv64,
        Suite::Trixie,
        "riscv64",
        243,
        "riscv64-linux-gnu-gcc-14",
    );
}
