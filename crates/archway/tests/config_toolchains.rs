//! The configuration's toolchain overrides select real compilers: the same C program built for
//! aarch64 with the `gcc11` profile and with the default, and for riscv64 configured in the same
//! file; the `.comment` section of each binary says which GCC made it.
//!
//! Needs Debian's cross compilers (`gcc-aarch64-linux-gnu`, `gcc-11-aarch64-linux-gnu`,
//! `gcc-riscv64-linux-gnu`, in scripts/test-packages.txt). Skips outside CI without them.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use archway::config::{Config, Flags, Sourced};
use object::{Object, ObjectSection};

const PROJECT: &str = r#"
[build]
targets = ["aarch64", "riscv64"]
method = "cross"

[target.riscv64]
cflags = ["-O2"]

[profile.gcc11]
toolchain = { family = "gcc", version = "11" }
"#;

/// The same project, but aarch64 selects the profile in its own section.
const PROJECT_TARGET_PROFILE: &str = r#"
[build]
targets = ["aarch64", "riscv64"]

[target.aarch64]
profile = "gcc11"

[target.riscv64]
cflags = ["-O2"]

[profile.gcc11]
toolchain = { family = "gcc", version = "11" }
"#;

const PROGRAM: &str = "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n";

fn tools_present(search_path: &OsString) -> bool {
    let needed = [
        "aarch64-linux-gnu-gcc",
        "aarch64-linux-gnu-gcc-11",
        "riscv64-linux-gnu-gcc",
    ];
    let missing: Vec<&str> = needed
        .into_iter()
        .filter(|tool| archway_toolchain::find_program(search_path, tool).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    !archway_platform::testing::skip_unless_ci(&format!(
        "cross compilers not installed: {}",
        missing.join(", ")
    ))
}

/// The GCC versions named in a binary's `.comment` section (`12.2.0`...).
fn gcc_versions(binary: &Path) -> Vec<String> {
    let data = std::fs::read(binary).expect("reading the binary");
    let file = object::File::parse(&*data).expect("an object file");
    let section = file
        .section_by_name(".comment")
        .expect("a .comment section");
    let comment = section.data().expect(".comment data");
    comment
        .split(|byte| *byte == 0)
        .filter_map(|entry| std::str::from_utf8(entry).ok())
        .filter(|entry| entry.starts_with("GCC: "))
        .filter_map(|entry| entry.rsplit(' ').next().map(str::to_string))
        .collect()
}

/// Resolves the settings for `target` (with `profile`), selects the toolchain they ask for,
/// compiles [`PROGRAM`] with it and returns (compiler path, GCC majors in `.comment`).
fn build(project: &str, target: &str, profile: Option<&str>) -> (String, Vec<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("archway.toml"), project).expect("project file");
    std::fs::write(dir.path().join("hello.c"), PROGRAM).expect("source");
    let no_env = |_: &str| None;
    let config = Config::load_with(dir.path(), None, no_env).expect("config loads");
    let flags = Flags {
        profile: profile.map(str::to_string),
        ..Flags::default()
    };
    let target = Sourced::new(
        archway::config::Target::parse(target).expect("a target"),
        archway::config::Source::Default,
    );
    let settings = config
        .resolve_for(target, &flags)
        .expect("settings resolve");
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    let request = settings.toolchain_request(&search_path);
    let toolchain =
        archway_toolchain::select(&settings.target.value.platform, &request, &search_path)
            .expect("the configured toolchain is installed");
    let output = dir.path().join("hello");
    let mut command = toolchain.cc_command();
    let program = command.remove(0);
    let status = Command::new(&program)
        .args(command)
        .args(&request.cflags)
        .arg(dir.path().join("hello.c"))
        .arg("-o")
        .arg(&output)
        .status()
        .expect("running the compiler");
    assert!(status.success(), "{program} failed");
    let majors = gcc_versions(&output)
        .iter()
        .map(|version| version.split('.').next().unwrap_or("").to_string())
        .collect();
    let name = Path::new(&program)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or(program);
    (name, majors)
}

#[test]
fn profile_gcc11_selects_gcc_11_for_aarch64_and_the_default_stays_gcc_12() {
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    if !tools_present(&search_path) {
        return;
    }
    let (compiler, majors) = build(PROJECT, "aarch64", Some("gcc11"));
    assert_eq!(compiler, "aarch64-linux-gnu-gcc-11");
    assert_eq!(majors, ["11"], "aarch64 --profile gcc11");

    let (compiler, majors) = build(PROJECT, "arm64", None);
    assert!(compiler.starts_with("aarch64-linux-gnu-gcc"), "{compiler}");
    assert_eq!(majors, ["12"], "aarch64 without a profile");

    let (compiler, majors) = build(PROJECT, "riscv64", None);
    assert!(compiler.starts_with("riscv64-linux-gnu-gcc"), "{compiler}");
    assert_eq!(majors, ["12"], "riscv64");
}

#[test]
fn a_profile_selected_by_one_target_section_leaves_the_other_target_alone() {
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    if !tools_present(&search_path) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("archway.toml"), PROJECT_TARGET_PROFILE).expect("project");
    let no_env = |_: &str| None;
    let config = Config::load_with(dir.path(), None, no_env).expect("config loads");
    let targets = config.targets().expect("[build] targets").value;
    let mut results = Vec::new();
    for target in targets {
        let (compiler, majors) = build(PROJECT_TARGET_PROFILE, &target.name, None);
        results.push((target.platform.config(), compiler, majors));
    }
    assert_eq!(results[0].1, "aarch64-linux-gnu-gcc-11");
    assert_eq!(results[0].2, ["11"]);
    assert!(
        results[1].1.starts_with("riscv64-linux-gnu-gcc"),
        "{results:?}"
    );
    assert_eq!(results[1].2, ["12"]);
}
