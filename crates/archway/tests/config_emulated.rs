//! The configuration's toolchain override holds in the emulated method: `gcc11` installs
//! `gcc-11` into a derived arm64 root filesystem and selects it there (`CC=gcc-11`); without the
//! profile the base root filesystem's own GCC 12 builds. The `.comment` section of each binary
//! says which GCC made it.
//!
//! Real mmdebstrap, bubblewrap and QEMU through binfmt_misc; the root filesystems go to the
//! normal cache directory (shared with the rootfs tests, so a warm machine reuses them). Needs
//! root; skips outside CI without it.

use std::path::Path;
use std::process::Stdio;

use archway::config::{Config, Flags, Settings, Source, Sourced, Target};
use archway_rootfs::{CreateOptions, Sandbox, Store};
use object::{Object, ObjectSection};

const PROJECT: &str = r#"
[build]
targets = ["aarch64", "riscv64"]

[target.aarch64]
method = "emulated"
rootfs-suite = "bookworm"

[target.riscv64]
method = "emulated"

[profile.gcc11]
toolchain = { family = "gcc", version = "11" }
"#;

const PROGRAM: &str = "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n";

fn prerequisites() -> bool {
    let mut missing = Vec::new();
    // `/proc/self` belongs to the process's effective user (proc(5)).
    let as_root = std::fs::metadata("/proc/self")
        .map(|meta| std::os::unix::fs::MetadataExt::uid(&meta) == 0)
        .unwrap_or(false);
    if !as_root {
        missing.push("root".to_string());
    }
    for tool in ["mmdebstrap", "bwrap", "qemu-aarch64-static"] {
        if archway_rootfs::find_program(tool).is_none() {
            missing.push(format!("`{tool}`"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    !archway_platform::testing::skip_unless_ci(&format!("needs {}", missing.join(", ")))
}

fn settings(project_dir: &Path, target: &str, profile: Option<&str>) -> Settings {
    let no_env = |_: &str| None;
    let config = Config::load_with(project_dir, None, no_env).expect("config loads");
    let flags = Flags {
        profile: profile.map(str::to_string),
        ..Flags::default()
    };
    let target = Sourced::new(Target::parse(target).expect("a target"), Source::Default);
    config
        .resolve_for(target, &flags)
        .expect("settings resolve")
}

/// The GCC majors named in a binary's `.comment` section.
fn gcc_majors(binary: &Path) -> Vec<String> {
    let data = std::fs::read(binary).expect("reading the binary");
    let file = object::File::parse(&*data).expect("an object file");
    assert_eq!(file.architecture(), object::Architecture::Aarch64);
    let section = file
        .section_by_name(".comment")
        .expect("a .comment section");
    section
        .data()
        .expect(".comment data")
        .split(|byte| *byte == 0)
        .filter_map(|entry| std::str::from_utf8(entry).ok())
        .filter(|entry| entry.starts_with("GCC: "))
        .filter_map(|entry| entry.rsplit(' ').next())
        .map(|version| version.split('.').next().unwrap_or("").to_string())
        .collect()
}

/// Builds `hello.c` inside the root filesystem the settings ask for, with their environment.
fn build_inside(store: &Store, project: &Path, settings: &Settings, output: &str) -> Vec<String> {
    let request = settings.emulated_request();
    let key = request
        .rootfs_key(&settings.target.value.platform)
        .expect("a root filesystem key");
    let (rootfs, created) = store
        .ensure(
            &key,
            &CreateOptions::default(),
            &archway_platform::NoProgress,
        )
        .expect("the root filesystem");
    eprintln!("root filesystem {key} (created now: {created})");
    let mut sandbox = Sandbox::new(rootfs.tree())
        .bind(project)
        .current_dir(project);
    for (name, value) in &request.env {
        sandbox = sandbox.env(name, value);
    }
    let script = format!("${{CC:-cc}} hello.c -o {output}");
    let result = sandbox
        .command("/bin/sh", ["-c", script.as_str()])
        .expect("a sandbox command")
        .stdin(Stdio::null())
        .output()
        .expect("running bwrap");
    assert!(
        result.status.success(),
        "building inside {key} failed:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    gcc_majors(&project.join(output))
}

#[test]
fn gcc11_profile_installs_and_selects_gcc_11_inside_a_derived_rootfs() {
    if !prerequisites() {
        return;
    }
    let _entry = archway_binfmt::testing::TemporaryEntry::register("aarch64", "config")
        .unwrap_or_else(|error| panic!("a binfmt entry for aarch64: {error}"));
    // Not under /tmp: the sandbox has its own tmpfs there.
    let project = tempfile::Builder::new()
        .prefix("archway-config-emulated-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("project dir");
    std::fs::write(project.path().join("archway.toml"), PROJECT).expect("project file");
    std::fs::write(project.path().join("hello.c"), PROGRAM).expect("source");
    let store = Store::new(&archway::cache::cache_dir().expect("a cache directory"));

    let gcc11 = settings(project.path(), "aarch64", Some("gcc11"));
    let request = gcc11.emulated_request();
    assert_eq!(request.packages, ["g++-11", "gcc-11"]);
    assert_eq!(
        request.env.get("CC").map(String::as_str),
        Some("gcc-11 -march=armv8-a")
    );
    assert_eq!(
        build_inside(&store, project.path(), &gcc11, "hello-gcc11"),
        ["11"]
    );

    let default = settings(project.path(), "arm64", None);
    let key = default
        .emulated_request()
        .rootfs_key(&default.target.value.platform)
        .expect("a key");
    assert!(
        key.is_base(),
        "no profile: the base root filesystem, not a derived one"
    );
    assert_eq!(
        build_inside(&store, project.path(), &default, "hello-default"),
        ["12"]
    );

    // The other target of the same file is not touched by aarch64's profile.
    let riscv = settings(project.path(), "riscv64", None);
    assert!(riscv.emulated_request().packages.is_empty());
    assert_eq!(riscv.emulated_request().env.get("CC"), None);
}
