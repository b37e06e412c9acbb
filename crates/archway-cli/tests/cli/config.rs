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

/// A plain-makefile C program the builds of these tests compile.
fn write_hello_project(work: &Path) {
    write(
        &work.join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
    );
    write(
        &work.join("Makefile"),
        "hello: hello.c\n\t$(CC) $(CFLAGS) -o $@ $<\n",
    );
}

/// The `--all-targets` table's rows, split into columns (the header left out).
fn table_rows(stdout: &str) -> Vec<Vec<&str>> {
    stdout
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect())
        .collect()
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

/// The GCC majors in the `.comment` section of a binary.
fn gcc_majors(binary: &Path) -> Vec<String> {
    use object::{Object, ObjectSection};
    let data =
        std::fs::read(binary).unwrap_or_else(|error| panic!("{}: {error}", binary.display()));
    let file = object::File::parse(&*data).expect("an object file");
    let comment = file
        .section_by_name(".comment")
        .expect("a .comment section");
    comment
        .data()
        .expect(".comment data")
        .split(|byte| *byte == 0)
        .filter_map(|entry| std::str::from_utf8(entry).ok())
        .filter(|entry| entry.starts_with("GCC: "))
        .filter_map(|entry| entry.rsplit(' ').next())
        .map(|version| version.split('.').next().unwrap_or("").to_string())
        .collect()
}

/// Root and `tools` (the system tests' prerequisites): `false` means skip (outside CI only;
/// under CI a missing piece fails the test).
fn root_with(tools: &[&str]) -> bool {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout == b"0\n");
    if !root && crate::support::skip_unless_ci("needs root (mmdebstrap, binfmt_misc)") {
        return false;
    }
    tools.iter().all(|tool| {
        crate::support::have_tool(tool)
            || !crate::support::skip_unless_ci(&format!("needs `{tool}`"))
    })
}

/// A qemu-aarch64 binfmt entry of this test's own (F flag, unique name; the kernel matches the
/// newest entry first), removed on drop.
struct Aarch64Entry(String);

impl Aarch64Entry {
    fn register() -> Aarch64Entry {
        // Unique per test too: the tests of this binary run in parallel threads.
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("archway-cli-config-aarch64-{}-{serial}", std::process::id());
        // QEMU's aarch64 magic and mask (scripts/qemu-binfmt-conf.sh).
        let line = format!(
            ":{name}:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/bin/qemu-aarch64-static:F"
        );
        // Parallel tests may run before anything mounted binfmt_misc.
        archway_binfmt::BinfmtFs::system()
            .mount()
            .expect("mount binfmt_misc");
        std::fs::write("/proc/sys/fs/binfmt_misc/register", line)
            .expect("registering a test binfmt entry");
        Aarch64Entry(name)
    }
}

impl Drop for Aarch64Entry {
    fn drop(&mut self) {
        let _ = std::fs::write(format!("/proc/sys/fs/binfmt_misc/{}", self.0), "-1");
    }
}

#[test]
fn emulated_shell_installs_and_selects_the_profiles_gcc_11() {
    if !root_with(&["mmdebstrap", "bwrap", "qemu-aarch64-static"]) {
        return;
    }
    let _entry = Aarch64Entry::register();
    let project = "[target.aarch64]\nrootfs-suite = \"bookworm\"\n\n[profile.gcc11]\ntoolchain = { family = \"gcc\", version = \"11\" }\n";
    let command = in_project(project, "");
    let src = command.work_dir().join("src");
    write(
        &src.join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
    );
    // The derived root filesystem (bookworm arm64 + gcc-11, g++-11) is cached in the machine's
    // cache, shared with the library's emulated configuration test.
    let output = command
        .real_cache()
        .args(["shell", "--target", "arm64", "--method", "emulated"])
        .args(["--profile", "gcc11"])
        .stdin("echo \"CC=$CC\" && $CC hello.c -o hello-profile && cc hello.c -o hello-default\n")
        .run();
    output.assert_code(0);
    assert!(output.stdout.contains("CC=gcc-11"), "{}", output.snapshot());
    assert_eq!(gcc_majors(&src.join("hello-profile")), ["11"]);
    assert_eq!(gcc_majors(&src.join("hello-default")), ["12"]);
}

/// A plain-Makefile C project with `archway.toml` = `config`, for the cross compilers.
fn c_project(config: &str) -> Option<Archway> {
    for tool in [
        "aarch64-linux-gnu-gcc",
        "aarch64-linux-gnu-gcc-11",
        "riscv64-linux-gnu-gcc",
    ] {
        if !crate::support::have_tool(tool)
            && crate::support::skip_unless_ci(&format!("needs `{tool}`"))
        {
            return None;
        }
    }
    let command = archway();
    let work = command.work_dir();
    write(&work.join("archway.toml"), config);
    write_hello_project(&work);
    Some(command)
}

const TWO_TARGETS: &str = r#"[build]
targets = ["aarch64", "riscv64"]
method = "cross"

[target.riscv64]
cflags = ["-O2"]

[profile.gcc11]
toolchain = { family = "gcc", version = "11" }
"#;

#[test]
fn build_profile_gcc11_selects_gcc_11_and_the_default_is_gcc_12() {
    for (profile, expected) in [(Some("gcc11"), "11"), (None, "12")] {
        let Some(command) = c_project(TWO_TARGETS) else {
            return;
        };
        let work = command.work_dir();
        let mut command = command.args(["build", "--target", "arm64"]);
        if let Some(profile) = profile {
            command = command.args(["--profile", profile]);
        }
        let output = command.run();
        output.assert_code(0);
        let binary = work.join("build/archway/aarch64-unknown-linux-gnu/hello");
        assert_eq!(gcc_majors(&binary), [expected], "profile {profile:?}");
    }
}

#[test]
fn build_all_targets_ends_with_a_table_and_scopes_the_profile_to_its_target() {
    let config = TWO_TARGETS.replace(
        "[target.riscv64]",
        "[target.aarch64]\nprofile = \"gcc11\"\n\n[target.riscv64]",
    );
    let Some(command) = c_project(&config) else {
        return;
    };
    let work = command.work_dir();
    let output = command.args(["build", "--all-targets"]).run();
    output.assert_code(0);
    let rows: Vec<Vec<&str>> = output
        .stdout
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["TARGET", "METHOD", "RESULT", "TIME", "ARTIFACTS"]);
    assert_eq!(rows.len(), 3, "{}", output.stdout);
    for (row, target) in rows[1..].iter().zip(["aarch64", "riscv64"]) {
        assert_eq!(row[..3], [target, "cross", "ok"], "{}", output.stdout);
        assert!(
            row[3].parse::<f64>().is_ok() && row[4] == "s",
            "{}",
            output.stdout
        );
        assert_eq!(row[5], "hello");
    }
    let majors = |config: &str| gcc_majors(&work.join("build/archway").join(config).join("hello"));
    assert_eq!(majors("aarch64-unknown-linux-gnu"), ["11"]);
    assert_eq!(
        majors("riscv64-unknown-linux-gnu"),
        ["12"],
        "riscv64 is unaffected"
    );
}

#[test]
fn build_all_targets_without_targets_says_how_to_add_them() {
    let output = in_project("[build]\nmethod = \"cross\"\n", "")
        .args(["build", "--all-targets"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn emulated_build_with_the_profile_uses_gcc_11_and_without_it_gcc_12() {
    if !root_with(&["mmdebstrap", "bwrap", "qemu-aarch64-static"]) {
        return;
    }
    let _entry = Aarch64Entry::register();
    let project = "[target.aarch64]\nmethod = \"emulated\"\nrootfs-suite = \"bookworm\"\n\n[target.riscv64]\nmethod = \"cross\"\n\n[profile.gcc11]\ntoolchain = { family = \"gcc\", version = \"11\" }\n";
    for (profile, expected) in [(Some("gcc11"), "11"), (None, "12")] {
        let command = in_project(project, "");
        let work = command.work_dir();
        write(
            &work.join("hello.c"),
            "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
        );
        write(
            &work.join("Makefile"),
            "hello: hello.c\n\t$(CC) $(CFLAGS) -o $@ $<\n",
        );
        // The method comes from `[target.aarch64]`; the derived root filesystem (bookworm arm64
        // + gcc-11, g++-11) is the one the other emulated configuration tests use.
        let mut command = command
            .real_cache()
            .current_dir(&work)
            .args(["build", "--target", "arm64"]);
        if let Some(profile) = profile {
            command = command.args(["--profile", profile]);
        }
        let output = command.run();
        output.assert_code(0);
        assert!(output.stderr.contains("emulated"), "{}", output.snapshot());
        let binary = work.join("build/archway/aarch64-unknown-linux-gnu/hello");
        assert_eq!(gcc_majors(&binary), [expected], "profile {profile:?}");
    }
}

#[test]
fn all_targets_builds_aarch64_emulated_with_gcc_11_and_riscv64_cross_with_gcc_12() {
    if !root_with(&[
        "mmdebstrap",
        "bwrap",
        "qemu-aarch64-static",
        "riscv64-linux-gnu-gcc",
    ]) {
        return;
    }
    let _entry = Aarch64Entry::register();
    let project = "[build]\ntargets = [\"aarch64\", \"riscv64\"]\n\n[target.aarch64]\nmethod = \"emulated\"\nrootfs-suite = \"bookworm\"\nprofile = \"gcc11\"\n\n[target.riscv64]\nmethod = \"cross\"\n\n[profile.gcc11]\ntoolchain = { family = \"gcc\", version = \"11\" }\n";
    let command = in_project(project, "");
    let work = command.work_dir();
    write_hello_project(&work);
    let output = command
        .real_cache()
        .current_dir(&work)
        .args(["build", "--all-targets"])
        .run();
    output.assert_code(0);
    let rows = table_rows(&output.stdout);
    assert_eq!(rows.len(), 2, "{}", output.snapshot());
    assert_eq!(
        rows[0][..3],
        ["aarch64", "emulated", "ok"],
        "{}",
        output.stdout
    );
    assert_eq!(
        rows[1][..3],
        ["riscv64", "cross", "ok"],
        "{}",
        output.stdout
    );
    let majors = |config: &str| gcc_majors(&work.join("build/archway").join(config).join("hello"));
    assert_eq!(majors("aarch64-unknown-linux-gnu"), ["11"]);
    assert_eq!(
        majors("riscv64-unknown-linux-gnu"),
        ["12"],
        "riscv64 is unaffected"
    );
}

/// `--all-targets` with `method = auto` goes through the planner for each target: with no cross
/// compiler on the path, aarch64 and riscv64 both fall back to the hybrid method — aarch64 with
/// its profile's GCC 11 (the root filesystem's `gcc-11`, run natively from the prefix's
/// `gcc-11-aarch64-linux-gnu`), riscv64 with trixie's GCC 14.
#[test]
fn all_targets_with_auto_falls_back_to_hybrid_per_target_with_the_profiles_gcc() {
    if !root_with(&[
        "mmdebstrap",
        "bwrap",
        "qemu-aarch64-static",
        "qemu-riscv64-static",
    ]) {
        return;
    }
    let registrations = [
        crate::support::emulation_for("aarch64-linux"),
        crate::support::emulation_for("riscv64-linux"),
    ];
    let project = "[build]\ntargets = [\"aarch64\", \"riscv64\"]\n\n[target.aarch64]\nprofile = \"gcc11\"\n\n[profile.gcc11]\ntoolchain = { family = \"gcc\", version = \"11\" }\n";
    let command = in_project(project, "");
    let work = command.work_dir();
    write_hello_project(&work);
    let path = crate::rootfs::path_without_cross_compilers(&command.temp().join("bin"));
    let output = command
        .real_cache()
        .env("PATH", &path)
        .current_dir(&work)
        .args(["build", "--all-targets"])
        .run();
    drop(registrations);
    output.assert_code(0);
    let rows = table_rows(&output.stdout);
    assert_eq!(rows.len(), 2, "{}", output.snapshot());
    assert_eq!(
        rows[0][..3],
        ["aarch64", "hybrid", "ok"],
        "{}",
        output.snapshot()
    );
    assert_eq!(
        rows[1][..3],
        ["riscv64", "hybrid", "ok"],
        "{}",
        output.snapshot()
    );
    let majors = |config: &str| gcc_majors(&work.join("build/archway").join(config).join("hello"));
    assert_eq!(majors("aarch64-unknown-linux-gnu"), ["11"]);
    assert_eq!(
        majors("riscv64-unknown-linux-gnu"),
        ["14"],
        "trixie's own GCC"
    );
}

/// Every build checks its artifacts against the platform's CPU: a program compiled for
/// x86-64-v3 (its GNU property note says so) does not fit `gnu64`'s baseline x86-64: a warning
/// by default, a failure with `check-cpu = "error"`.
#[test]
fn check_cpu_warns_by_default_and_fails_with_error() {
    if !crate::support::have_tool("cc") && crate::support::skip_unless_ci("needs `cc`") {
        return;
    }
    let run = |check: &str| {
        let project = format!(
            "[build]\ntarget = \"gnu64\"\ncflags = [\"-march=x86-64-v3\", \"-mneeded\"]\n{check}"
        );
        let command = in_project(&project, "");
        let work = command.work_dir();
        write(
            &work.join("hello.c"),
            "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
        );
        write(
            &work.join("Makefile"),
            "hello: hello.c\n\t$(CC) $(CFLAGS) -o $@ $<\n",
        );
        command.current_dir(&work).args(["build"]).run()
    };
    let warned = run("");
    warned.assert_code(0);
    assert!(
        warned.stderr.contains("warning: `hello` needs x86-64-v3"),
        "{}",
        warned.snapshot()
    );
    let failed = run("check-cpu = \"error\"\n");
    failed.assert_code(1);
    assert!(
        failed.stderr.contains(
            "error: the build's artifacts need more than `x86_64-unknown-linux-gnu`'s CPU has"
        ),
        "{}",
        failed.snapshot()
    );
    assert!(failed.stderr.contains("hint: "), "{}", failed.snapshot());
}
