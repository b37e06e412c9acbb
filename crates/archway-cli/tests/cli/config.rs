//! `archway config show` and every configuration error, as the user sees them.

use std::path::Path;

use crate::support::{archway, Archway};

const PROJECT: &str = r#"[build]
target = "riscv64-linux"
targets = ["aarch64", "riscv64"]

[target.aarch64]
profile = "gcc11"
cflags = ["-O2", "-g"]

[target.riscv64]
method = "emulated"
rootfs-suite = "trixie"

[profile.gcc11]
toolchain = { family = "gcc", version = "11" }
rootfs-packages = ["gcc-11", "g++-11"]
env = { CC_FOR_BUILD = "gcc" }
"#;

const USER: &str = r#"[build]
linker = "bfd"

[target.arm64]
qemu-cpu = "cortex-a72"
cflags = "-O0"
"#;

/// `archway` run in `work/src` of a project whose `work/archway.toml` is `project`, with
/// `user` as the user's config file (empty: none).
fn in_project(project: &str, user: &str) -> Archway {
    let command = archway();
    let work = command.work_dir();
    write(&work.join("archway.toml"), project);
    if !user.is_empty() {
        write(&command.home().join(".config/archway/config.toml"), user);
    }
    std::fs::create_dir_all(work.join("src")).expect("project subdirectory");
    command.current_dir(work.join("src"))
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("parent directory");
    std::fs::write(path, text).expect("writing a config file");
}

#[test]
fn config_show_default_target_from_the_project() {
    let output = in_project(PROJECT, USER).args(["config", "show"]).run();
    output.assert_code(0);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn config_show_target_section_matches_any_spelling_and_selects_its_profile() {
    let output = in_project(PROJECT, USER)
        .args(["config", "show", "--target", "linux/arm64"])
        .env("ARCHWAY_LDFLAGS", "-static")
        .run();
    output.assert_code(0);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn config_show_flags_beat_environment() {
    let output = in_project(PROJECT, "")
        .args(["config", "show", "-t", "riscv64", "--method", "cross"])
        .env("ARCHWAY_METHOD", "native")
        .env("ARCHWAY_PROFILE", "gcc11")
        .run();
    output.assert_code(0);
    let rows: Vec<&str> = output
        .stdout
        .lines()
        .filter(|line| line.starts_with("method") || line.starts_with("profile"))
        .collect();
    assert_eq!(rows.len(), 2, "{}", output.stdout);
    assert!(rows[0].ends_with("$ARCHWAY_PROFILE"), "{}", rows[0]);
    assert!(
        rows[1].contains("cross") && rows[1].ends_with("--method"),
        "{}",
        rows[1]
    );
}

#[test]
fn config_show_json() {
    let output = in_project(PROJECT, USER)
        .args(["config", "show", "--target", "aarch64", "--json"])
        .run();
    output.assert_code(0);
    let value: serde_json::Value =
        serde_json::from_str(&output.filtered(&output.stdout)).expect("valid JSON");
    insta::assert_json_snapshot!(value);
}

#[test]
fn config_show_without_any_file() {
    let output = archway()
        .args(["config", "show", "--target", "s390x"])
        .run();
    output.assert_code(0);
    insta::assert_snapshot!(output.snapshot());
}

/// Runs `config show` on a project file that is wrong: exit 1, and the snapshot.
fn error_for(project: &str, args: &[&str]) -> String {
    let output = in_project(project, "")
        .args(["config", "show"])
        .args(args)
        .run();
    output.assert_code(1);
    output.snapshot()
}

#[test]
fn error_unknown_key_names_the_closest() {
    insta::assert_snapshot!(error_for("[target.aarch64]\ncxflags = \"-O2\"\n", &[]));
}

#[test]
fn error_unknown_key_in_toolchain() {
    insta::assert_snapshot!(error_for(
        "[profile.gcc11]\ntoolchain = { family = \"gcc\", vesion = \"11\" }\n",
        &[]
    ));
}

#[test]
fn error_wrong_type_says_what_is_expected() {
    insta::assert_snapshot!(error_for("[build]\nrootfs-packages = 3\n", &[]));
}

#[test]
fn error_invalid_value_suggests() {
    insta::assert_snapshot!(error_for("[build]\nlinker = \"gould\"\n", &[]));
}

#[test]
fn error_unknown_target_section_suggests() {
    insta::assert_snapshot!(error_for("[target.arch64]\nmethod = \"cross\"\n", &[]));
}

#[test]
fn error_unknown_target_flag_suggests() {
    insta::assert_snapshot!(error_for("", &["--target", "riscv46"]));
}

#[test]
fn error_unknown_profile_lists_the_defined_ones() {
    insta::assert_snapshot!(error_for(
        "[profile.gcc11]\n[profile.clang]\n",
        &["--target", "arm64", "--profile", "release"]
    ));
}

#[test]
fn error_two_sections_for_one_platform() {
    insta::assert_snapshot!(error_for(
        "[target.aarch64]\nmethod = \"cross\"\n\n[target.\"linux/arm64\"]\nmethod = \"emulated\"\n",
        &[]
    ));
}

#[test]
fn error_unquoted_slash_in_a_section_name() {
    insta::assert_snapshot!(error_for("[target.linux/arm64]\n", &[]));
}

#[test]
fn error_invalid_environment_variable() {
    let output = in_project("", "")
        .args(["config", "show", "--target", "arm64"])
        .env("ARCHWAY_TOOLCHAIN", "gcc11")
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn error_in_the_user_file_points_at_it() {
    let output = in_project("", "[build]\nmethod = [\"cross\"]\n")
        .args(["config", "show", "--target", "arm64"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn env_follows_the_target_section_and_its_profile() {
    if !crate::support::have_tool("aarch64-linux-gnu-gcc-11")
        && crate::support::skip_unless_ci(
            "needs `aarch64-linux-gnu-gcc-11` (gcc-11-aarch64-linux-gnu)",
        )
    {
        return;
    }
    let cc = |project: &str, args: &[&str]| -> String {
        let output = in_project(project, "")
            .args(["env", "--format", "json"])
            .args(args)
            .run();
        output.assert_code(0);
        let value: serde_json::Value = serde_json::from_str(&output.stdout).expect("JSON");
        value["vars"]["CC"].as_str().unwrap_or_default().to_string()
    };
    let selected =
        "[target.aarch64]\nprofile = \"gcc11\"\n[profile.gcc11]\ntoolchain = \"gcc-11\"\n";
    assert!(cc(selected, &["--target", "arm64"]).contains("aarch64-linux-gnu-gcc-11"));
    let defined = "[profile.gcc11]\ntoolchain = \"gcc-11\"\n";
    assert!(!cc(defined, &["--target", "arm64"]).contains("gcc-11"));
    let flagged = cc(defined, &["--target", "arm64", "--profile", "gcc11"]);
    assert!(flagged.contains("aarch64-linux-gnu-gcc-11"), "{flagged}");
}
