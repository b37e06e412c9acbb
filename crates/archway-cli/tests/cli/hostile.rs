//! Hostile and oversized configuration values through the commands that print or write them:
//! `archway env` (names that would run under `eval`, a cache it cannot write) and
//! `archway config show` (values wider than `format!` can pad).

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::{archway, Archway};

/// Stub aarch64 GNU tools in `<temp>/tools/bin`, with `PATH` set to only that.
fn with_stub_aarch64(command: Archway) -> Archway {
    let prefix = command.temp().join("tools");
    let bin = prefix.join("bin");
    fs::create_dir_all(&bin).expect("stub bin");
    let write = |name: &str, script: &str| {
        let path = bin.join(name);
        fs::write(&path, script).expect("stub");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
    };
    write(
        "aarch64-linux-gnu-gcc",
        "#!/bin/sh\ncase \"$1\" in -dumpfullversion|-dumpversion) echo 12.2.0 ;; *) exit 1 ;; esac\n",
    );
    for tool in ["g++", "ar", "ranlib", "nm", "strip", "objcopy", "ld"] {
        write(&format!("aarch64-linux-gnu-{tool}"), "#!/bin/sh\n");
    }
    fs::create_dir_all(prefix.join("aarch64-linux-gnu/include")).expect("libc dir");
    command.env("PATH", &bin)
}

/// `archway` in a project whose `archway.toml` is `project`.
fn in_project(project: &str) -> Archway {
    let command = archway();
    fs::write(command.work_dir().join("archway.toml"), project).expect("archway.toml");
    command
}

#[test]
fn env_refuses_a_variable_name_that_would_run_under_eval() {
    let marker = "archway-hostile-name-marker";
    for format in ["sh", "fish", "json"] {
        let project = format!(
            "[target.aarch64]\ncflags = [\"-O2\"]\nenv = {{ \"$(touch {marker})\" = \"1\" }}\n"
        );
        let command = with_stub_aarch64(in_project(&project));
        let work = command.work_dir();
        let output = command
            .args(["env", "--target", "aarch64", "--format", format])
            .run();
        output.assert_code(1);
        assert!(output.stdout.is_empty(), "{format}: {}", output.stdout);
        assert!(
            output
                .stderr
                .contains("archway.toml:3:9: invalid `env` value `$(touch")
                && output.stderr.contains("[A-Za-z_][A-Za-z0-9_]*"),
            "{format}: {}",
            output.stderr
        );
        assert!(!work.join(marker).exists());
    }
}

#[test]
fn env_prints_the_variables_when_the_cache_cannot_take_the_build_files() {
    // A cache path below a regular file cannot be created, for root too (a read-only
    // directory would not stop root).
    let command = with_stub_aarch64(archway());
    let blocker = command.temp().join("cache-is-a-file");
    fs::write(&blocker, "").expect("blocker file");
    let output = command
        .env("ARCHWAY_CACHE_DIR", blocker.join("cache"))
        .args(["env", "--target", "aarch64"])
        .run();
    output.assert_code(0);
    assert!(
        output
            .stdout
            .contains("/tools/bin/aarch64-linux-gnu-gcc -march=armv8-a'\nexport CXX="),
        "{}",
        output.stdout
    );
    assert!(!output.stdout.contains("CMAKE_TOOLCHAIN_FILE"));
    assert!(
        output
            .stderr
            .contains("note: `CMAKE_TOOLCHAIN_FILE` and `CONFIG_SITE` are not set")
            && output
                .stderr
                .contains("hint: write the files elsewhere with `archway toolchain files --target aarch64 --out DIR`"),
        "{}",
        output.stderr
    );
}

#[test]
fn env_values_survive_eval_byte_for_byte() {
    let value = "it's \"$(id)\" `id` ${HOME} \\ ; # \n end";
    let project = format!(
        "[target.aarch64]\nenv = {{ HOSTILE = {} }}\n",
        toml_basic_string(value)
    );
    let output = with_stub_aarch64(in_project(&project))
        .args(["env", "--target", "aarch64"])
        .run();
    output.assert_code(0);
    let script = format!("{}\nprintf '%s' \"$HOSTILE\"", output.stdout);
    let shell = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("sh");
    assert!(shell.status.success(), "{}", output.stdout);
    assert_eq!(String::from_utf8_lossy(&shell.stdout), value);
}

#[test]
fn config_show_prints_a_70000_character_value() {
    let long = "x".repeat(70_000);
    let project = format!("[build]\ncflags = [\"-DLONG={long}\"]\nqemu-cpu = \"{long}\"\n");
    let output = in_project(&project)
        .args(["config", "show", "--target", "aarch64"])
        .run();
    output.assert_code(0);
    let stdout = output.filtered(&output.stdout);
    let row = stdout
        .lines()
        .find(|line| line.starts_with("cflags"))
        .expect("a cflags row");
    assert!(row.contains(&format!("-DLONG={long}")));
    assert!(
        row.ends_with(&format!(
            "-DLONG={long}  [TEMP]/work/archway.toml:2 [build]"
        )),
        "{}",
        &row[row.len() - 80..]
    );
}

/// A TOML basic string for `value` (escapes `"`, `\` and control characters).
fn toml_basic_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
