//! Layering and precedence, table-driven, against temp dirs with an injected environment.

use std::ffi::OsString;
use std::path::PathBuf;

use super::*;

/// A project directory with an optional `archway.toml`, an optional user file, and an
/// injected environment.
struct Fixture {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Fixture {
    fn new(project: &str, user: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("project/src")).expect("project dir");
        if !project.is_empty() {
            std::fs::write(dir.path().join("project/archway.toml"), project).expect("project");
        }
        if !user.is_empty() {
            std::fs::write(dir.path().join("user.toml"), user).expect("user file");
        }
        Fixture {
            dir,
            env: Vec::new(),
        }
    }

    fn env(mut self, pairs: &[(&str, &str)]) -> Fixture {
        self.env = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        self
    }

    fn project(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    fn load(&self) -> Result<Config, Error> {
        let env = |name: &str| {
            self.env
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| OsString::from(value))
        };
        // Commands run in a subdirectory: the project file is found by walking up.
        Config::load_with(
            &self.project().join("src"),
            Some(&self.dir.path().join("user.toml")),
            env,
        )
    }

    fn resolve(&self, flags: &Flags) -> Result<Settings, Error> {
        self.load()?.resolve(flags, &host())
    }

    /// A source as `project:LINE`, `user:LINE`, `$VARIABLE`, `--flag` or `default`.
    fn describe(&self, source: &Source) -> String {
        match source {
            Source::File { path, line, .. } if path.ends_with("archway.toml") => {
                format!("project:{line}")
            }
            Source::File { line, .. } => format!("user:{line}"),
            other => other.to_string(),
        }
    }

    /// An error's message with the temp dir replaced by `[DIR]`.
    fn message(&self, error: &Error) -> String {
        error
            .to_string()
            .replace(&self.dir.path().display().to_string(), "[DIR]")
    }
}

fn host() -> Platform {
    Platform::parse("x86_64-linux").expect("x86_64-linux is in the catalog")
}

fn flags(target: &str) -> Flags {
    Flags {
        target: Some(target.to_string()),
        ..Flags::default()
    }
}

#[test]
fn method_precedence_table() {
    struct Case {
        name: &'static str,
        project: &'static str,
        user: &'static str,
        env: &'static [(&'static str, &'static str)],
        flags: Flags,
        expected: (MethodRequest, &'static str),
    }
    let arm64 = flags("arm64");
    let cases = [
        Case {
            name: "nothing set: the default",
            project: "",
            user: "",
            env: &[],
            flags: arm64.clone(),
            expected: (MethodRequest::Auto, "default"),
        },
        Case {
            name: "user [build]",
            project: "",
            user: "[build]\nmethod = \"emulated\"\n",
            env: &[],
            flags: arm64.clone(),
            expected: (MethodRequest::Only(Method::Emulated), "user:2"),
        },
        Case {
            name: "project [build] beats user [build]",
            project: "[build]\nmethod = \"cross\"\n",
            user: "[build]\nmethod = \"emulated\"\n",
            env: &[],
            flags: arm64.clone(),
            expected: (MethodRequest::Only(Method::Cross), "project:2"),
        },
        Case {
            name: "a user target section beats the project's [build]: more specific",
            project: "[build]\nmethod = \"cross\"\n",
            user: "[target.aarch64]\nmethod = \"emulated\"\n",
            env: &[],
            flags: arm64.clone(),
            expected: (MethodRequest::Only(Method::Emulated), "user:2"),
        },
        Case {
            name: "project target section beats user target section",
            project: "\n[target.\"linux/arm64\"]\nmethod = \"native\"\n",
            user: "[target.aarch64]\nmethod = \"emulated\"\n",
            env: &[],
            flags: arm64.clone(),
            expected: (MethodRequest::Only(Method::Native), "project:3"),
        },
        Case {
            name: "a section for another target does not apply",
            project: "[target.riscv64]\nmethod = \"emulated\"\n",
            user: "",
            env: &[],
            flags: arm64.clone(),
            expected: (MethodRequest::Auto, "default"),
        },
        Case {
            name: "environment beats the files",
            project: "[target.aarch64]\nmethod = \"emulated\"\n",
            user: "",
            env: &[("ARCHWAY_METHOD", "cross")],
            flags: arm64.clone(),
            expected: (MethodRequest::Only(Method::Cross), "$ARCHWAY_METHOD"),
        },
        Case {
            name: "flag beats environment",
            project: "",
            user: "",
            env: &[("ARCHWAY_METHOD", "cross")],
            flags: Flags {
                method: Some(MethodRequest::Only(Method::Emulated)),
                ..arm64.clone()
            },
            expected: (MethodRequest::Only(Method::Emulated), "--method"),
        },
        Case {
            name: "a profile that is defined but not selected changes nothing",
            project: "[build]\nmethod = \"cross\"\n[profile.slow]\nmethod = \"emulated\"\n",
            user: "",
            env: &[],
            flags: arm64.clone(),
            expected: (MethodRequest::Only(Method::Cross), "project:2"),
        },
        Case {
            name: "the selected profile beats the target section",
            project:
                "[target.aarch64]\nmethod = \"cross\"\n[profile.slow]\nmethod = \"emulated\"\n",
            user: "",
            env: &[],
            flags: Flags {
                profile: Some("slow".to_string()),
                ..arm64.clone()
            },
            expected: (MethodRequest::Only(Method::Emulated), "project:4"),
        },
        Case {
            name: "a user profile selected by the project's target section",
            project: "[target.aarch64]\nprofile = \"slow\"\n",
            user: "[profile.slow]\nmethod = \"emulated\"\n",
            env: &[],
            flags: arm64.clone(),
            expected: (MethodRequest::Only(Method::Emulated), "user:2"),
        },
        Case {
            name: "a target section's profile applies to its target only",
            project:
                "[target.riscv64]\nprofile = \"slow\"\n[profile.slow]\nmethod = \"emulated\"\n",
            user: "",
            env: &[],
            flags: arm64.clone(),
            expected: (MethodRequest::Auto, "default"),
        },
        Case {
            name: "ARCHWAY_PROFILE selects a profile",
            project: "[profile.slow]\nmethod = \"emulated\"\n",
            user: "",
            env: &[("ARCHWAY_PROFILE", "slow")],
            flags: arm64.clone(),
            expected: (MethodRequest::Only(Method::Emulated), "project:2"),
        },
    ];
    for case in cases {
        let fixture = Fixture::new(case.project, case.user).env(case.env);
        let settings = fixture.resolve(&case.flags).unwrap_or_else(|error| {
            panic!("{}: {}", case.name, fixture.message(&error));
        });
        let method = settings
            .overrides
            .method
            .clone()
            .expect("method is always set");
        assert_eq!(
            (method.value, fixture.describe(&method.source).as_str()),
            case.expected,
            "{}",
            case.name
        );
    }
}

#[test]
fn target_precedence_table() {
    /// Project file, user file, environment, flags → the target's config and its source.
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        Flags,
        &'static str,
        &'static str,
    );
    let cases: [Case; 5] = [
        (
            "",
            "",
            &[],
            Flags::default(),
            "x86_64-unknown-linux-gnu",
            "default",
        ),
        (
            "",
            "[build]\ntarget = \"riscv64\"\n",
            &[],
            Flags::default(),
            "riscv64-unknown-linux-gnu",
            "user:2",
        ),
        (
            "[build]\ntarget = \"riscv64-linux\"\n",
            "[build]\ntarget = \"s390x\"\n",
            &[],
            Flags::default(),
            "riscv64-unknown-linux-gnu",
            "project:2",
        ),
        (
            "[build]\ntarget = \"riscv64-linux\"\n",
            "",
            &[("ARCHWAY_TARGET", "linux/arm64")],
            Flags::default(),
            "aarch64-unknown-linux-gnu",
            "$ARCHWAY_TARGET",
        ),
        (
            "[build]\ntarget = \"riscv64-linux\"\n",
            "",
            &[("ARCHWAY_TARGET", "linux/arm64")],
            flags("s390x"),
            "s390x-unknown-linux-gnu",
            "--target",
        ),
    ];
    for (project, user, env, flags, config, source) in cases {
        let fixture = Fixture::new(project, user).env(env);
        let settings = fixture.resolve(&flags).expect("resolves");
        assert_eq!(
            settings.target.value.platform.config(),
            config,
            "{project} {user} {env:?}"
        );
        assert_eq!(fixture.describe(&settings.target.source), source);
    }
}

#[test]
fn profile_overrides_only_the_targets_that_select_it() {
    let project = r#"
[build]
targets = ["aarch64", "riscv64"]

[target.aarch64]
profile = "gcc11"

[profile.gcc11]
toolchain = { family = "gcc", version = "11" }
rootfs-packages = ["gcc-11"]
"#;
    let fixture = Fixture::new(project, "");
    let config = fixture.load().expect("loads");
    let targets = config.targets().expect("targets are set").value;
    let names: Vec<&str> = targets.iter().map(|target| target.name.as_str()).collect();
    assert_eq!(names, ["aarch64", "riscv64"]);
    let mut toolchains = Vec::new();
    for target in targets {
        let settings = config
            .resolve_for(Sourced::new(target, Source::Default), &Flags::default())
            .expect("resolves");
        toolchains.push(settings.overrides.toolchain.map(|t| t.value.to_string()));
    }
    assert_eq!(toolchains, [Some("gcc-11".to_string()), None]);
}

#[test]
fn env_merges_by_variable_and_lists_replace() {
    let project = r#"
[build]
env = { A = "build", B = "build" }
cflags = ["-O2", "-g"]

[target.aarch64]
env.B = "target"
cflags = "-O3"
"#;
    let user = "[build]\nenv = { C = \"user\" }\ncflags = [\"-O0\"]\n";
    let fixture = Fixture::new(project, user);
    let settings = fixture.resolve(&flags("aarch64")).expect("resolves");
    let env: Vec<(String, String, String)> = settings
        .overrides
        .env
        .iter()
        .map(|(name, value)| {
            (
                name.clone(),
                value.value.clone(),
                fixture.describe(&value.source),
            )
        })
        .collect();
    assert_eq!(
        env,
        [
            ("A".into(), "build".into(), "project:3".into()),
            ("B".into(), "target".into(), "project:7".into()),
            ("C".into(), "user".into(), "user:2".into()),
        ]
    );
    let cflags = settings.overrides.cflags.expect("cflags");
    assert_eq!(cflags.value, ["-O3"]);
    assert_eq!(fixture.describe(&cflags.source), "project:8");
}

#[test]
fn paths_are_relative_to_their_file_and_the_build_dir_to_the_project() {
    let project =
        "[build]\ndir = \"out\"\n[target.aarch64]\nsysroot = \"musl-root\"\ncc = \"tools/cc\"\n";
    let fixture = Fixture::new(project, "[build]\nemulator = \"qemu/qemu-aarch64\"\n");
    let settings = fixture.resolve(&flags("aarch64")).expect("resolves");
    assert_eq!(settings.project_root, fixture.project());
    assert_eq!(settings.build_dir.value, fixture.project().join("out"));
    let overrides = settings.overrides;
    assert_eq!(
        overrides.sysroot.map(|s| s.value),
        Some(fixture.project().join("musl-root"))
    );
    let cc = fixture.project().join("tools/cc").display().to_string();
    assert_eq!(overrides.cc.map(|c| c.value), Some(cc));
    let emulator = fixture.dir.path().join("qemu/qemu-aarch64");
    assert_eq!(overrides.emulator.map(|e| e.value), Some(emulator));
}

#[test]
fn without_a_project_file_the_working_directory_is_the_root() {
    let fixture = Fixture::new("", "");
    let settings = fixture.resolve(&Flags::default()).expect("resolves");
    assert_eq!(settings.project_root, fixture.project().join("src"));
    assert_eq!(settings.project_file, None);
    assert_eq!(
        settings.build_dir.value,
        fixture.project().join("src/build/archway")
    );
    assert_eq!(settings.build_dir.source, Source::Default);
}

#[test]
fn every_override_key_has_an_environment_variable() {
    let env: Vec<(String, String)> = [
        ("ARCHWAY_TOOLCHAIN", "clang-16"),
        ("ARCHWAY_CC", "my-cc"),
        ("ARCHWAY_CXX", "my-cxx"),
        ("ARCHWAY_AR", "my-ar"),
        ("ARCHWAY_LD", "my-ld"),
        ("ARCHWAY_SYSROOT", "/sysroot"),
        ("ARCHWAY_LINKER", "lld"),
        ("ARCHWAY_CFLAGS", "-O1"),
        ("ARCHWAY_CXXFLAGS", "-O2"),
        ("ARCHWAY_LDFLAGS", "-s"),
        ("ARCHWAY_SYSROOT_PACKAGES", "libssl-dev"),
        ("ARCHWAY_ROOTFS_SUITE", "trixie"),
        ("ARCHWAY_ROOTFS_PACKAGES", "gcc-11,make"),
        ("ARCHWAY_EMULATOR", "/qemu"),
        ("ARCHWAY_QEMU_CPU", "cortex-a72"),
        ("ARCHWAY_CHECK_CPU", "error"),
        ("ARCHWAY_GCC_ARCH", "armv8.2-a"),
        ("ARCHWAY_GCC_CPU", "cortex-a76"),
        ("ARCHWAY_GCC_TUNE", "cortex-a76"),
        ("ARCHWAY_GCC_FPU", "neon"),
        ("ARCHWAY_GCC_FLOAT_ABI", "hard"),
        ("ARCHWAY_GCC_FLOAT", "hard"),
        ("ARCHWAY_GCC_ABI", "lp64"),
        ("ARCHWAY_GCC_MODE", "arm"),
        ("ARCHWAY_METHOD", "emulated"),
        ("ARCHWAY_BUILD_DIR", "/out"),
    ]
    .iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect();
    let mut fixture = Fixture::new("", "");
    fixture.env = env;
    let settings = fixture.resolve(&flags("arm64")).expect("resolves");
    let rows = settings.rows();
    for row in &rows {
        match row.key.as_str() {
            "target" | "profile" | "env" => continue,
            key => assert!(
                matches!(&row.source, Source::Env { variable } if *variable == env_variable(key)),
                "{key} came from {}",
                row.source
            ),
        }
    }
    assert_eq!(settings.build_dir.value, PathBuf::from("/out"));
}

#[test]
fn misspelled_variables_are_found_and_other_crates_variables_are_not() {
    let names = [
        "ARCHWAY_TOOLCHIAN",
        "ARCHWAY_PROFLIE",
        "ARCHWAY_CFLAG",
        "ARCHWAY_TOOLCHAIN",
        "ARCHWAY_BINFMT_ROOT",
        "ARCHWAY_BINFMT_RECORDS",
        "ARCHWAY_BINFMT_PERSIST_DIR",
        "ARCHWAY_CACHE_DIR",
        "ARCHWAY_HOST_TRIPLE",
        "ARCHWAY_TEST_KILLED_CREATION_CACHE",
        "ARCHWAY_STEP_TEST",
        "ARCHWAY_AS",
        "PATH",
    ];
    let found = misspelled_variables(names.iter().map(|name| name.to_string()));
    let expected = [
        ("ARCHWAY_CFLAG", "ARCHWAY_CFLAGS"),
        ("ARCHWAY_PROFLIE", "ARCHWAY_PROFILE"),
        ("ARCHWAY_TOOLCHIAN", "ARCHWAY_TOOLCHAIN"),
    ];
    let found: Vec<(&str, &str)> = found
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn project_file_is_found_from_a_subdirectory() {
    let fixture = Fixture::new("[build]\n", "");
    let config = fixture.load().expect("loads");
    assert_eq!(
        config.project_file(),
        Some(fixture.project().join("archway.toml").as_path())
    );
    assert_eq!(config.user_file(), None);
}

#[test]
fn user_config_path_follows_xdg_then_home() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    };
    assert_eq!(
        user_config_path(env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])),
        Some(PathBuf::from("/x/archway/config.toml"))
    );
    assert_eq!(
        user_config_path(env(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/h")])),
        Some(PathBuf::from("/h/.config/archway/config.toml"))
    );
    assert_eq!(user_config_path(env(&[])), None);
}

/// Each error: the message (with its position) and the hint.
#[test]
fn errors_say_where_and_what_would_be_right() {
    let cases: &[(&str, &str, Flags, &str, &str)] = &[
        (
            "[build]\ntarget = \"aarch64\"\n\n[target.aarch64]\ncflag = [\"-O2\"]\n",
            "",
            Flags::default(),
            "[DIR]/project/archway.toml:5:1: unknown key `cflag` in `[target.aarch64]`",
            "did you mean `cflags`?",
        ),
        (
            "[profile.gcc11]\ntoolchain = { famly = \"gcc\" }\n",
            "",
            Flags::default(),
            "[DIR]/project/archway.toml:2:15: unknown key `famly` in `[profile.gcc11] toolchain`",
            "did you mean `family`?",
        ),
        (
            "[bild]\n",
            "",
            Flags::default(),
            "[DIR]/project/archway.toml:1:2: unknown key `bild` in `the top level`",
            "did you mean `build`?",
        ),
        (
            "[target.aarch64]\ncflags = 3\n",
            "",
            Flags::default(),
            "[DIR]/project/archway.toml:2:10: `cflags` must be an array of strings, e.g. `[\"-O2\", \"-g\"]`, or one string, not an integer",
            "write `cflags` as an array of strings, e.g. `[\"-O2\", \"-g\"]`, or one string",
        ),
        (
            "[target.aarch64]\nmethod = \"crosss\"\n",
            "",
            Flags::default(),
            "[DIR]/project/archway.toml:2:10: invalid `method` value `crosss`: expected one of `auto`, `native`, `cross`, `hybrid`, `emulated`",
            "did you mean `method = \"cross\"`?",
        ),
        (
            "[build]\ntargets = [\"aarch64\", 7]\n",
            "",
            Flags::default(),
            "[DIR]/project/archway.toml:2:23: `targets` must be an array of target names, e.g. `[\"aarch64\", \"riscv64\"]`, not an integer",
            "write `targets` as an array of target names, e.g. `[\"aarch64\", \"riscv64\"]`",
        ),
        (
            "[target.aarch64]\nmethod = \"cross\"\n[target.arm64]\nmethod = \"emulated\"\n",
            "",
            Flags::default(),
            "[DIR]/project/archway.toml:3:9: `[target.arm64]` configures the same platform `aarch64-unknown-linux-gnu` as `[target.aarch64]` at line 1",
            "merge `[target.arm64]` into `[target.aarch64]`: both name the same platform",
        ),
        (
            "[build]\nmethod = \"cross\"\n[profile.gcc11]\n[profile.clang]\n",
            "",
            Flags {
                profile: Some("gcc12".to_string()),
                ..Flags::default()
            },
            "profile `gcc12` does not exist (selected by --profile)",
            "did you mean `--profile gcc11`?",
        ),
        (
            "[profile.clang]\n",
            "",
            Flags {
                profile: Some("release".to_string()),
                ..Flags::default()
            },
            "profile `release` does not exist (selected by --profile)",
            "defined profiles: `clang`; or add a `[profile.release]` section to `archway.toml`",
        ),
        (
            "[build]\nmethod = \"cross\"\nmethod = \"native\"\n",
            "",
            Flags::default(),
            "[DIR]/project/archway.toml:3:1: invalid TOML: duplicate key `method` in table `build`",
            "fix the TOML syntax (https://toml.io/en/v1.0.0)",
        ),
        (
            "[target.linux/arm64]\n",
            "",
            Flags::default(),
            "[DIR]/project/archway.toml:1:14: invalid TOML: invalid table header; expected `.`, `]`",
            "quote a target name that has a `/` or a `.`: `[target.\"linux/arm64\"]`",
        ),
    ];
    for (project, user, flags, message, hint) in cases {
        let fixture = Fixture::new(project, user);
        let error = fixture.resolve(flags).expect_err(project);
        assert_eq!(fixture.message(&error), *message, "{project}");
        assert_eq!(error.hint().as_deref(), Some(*hint), "{project}");
    }
}

#[test]
fn invalid_environment_values_name_the_variable() {
    let fixture = Fixture::new("", "").env(&[("ARCHWAY_LINKER", "gol")]);
    let error = fixture.load().expect_err("gol is no linker");
    assert_eq!(
        error.to_string(),
        "environment variable `ARCHWAY_LINKER` has invalid value `gol`: expected one of `bfd`, `gold`, `lld`, `mold`"
    );
    assert_eq!(
        error.hint().as_deref(),
        Some("did you mean `ARCHWAY_LINKER=gold`?")
    );
}

#[test]
fn unknown_target_names_point_at_the_section() {
    let fixture = Fixture::new("\n[target.aarch46]\n", "");
    let error = fixture.load().expect_err("aarch46 is no target");
    let message = fixture.message(&error);
    assert!(
        message.starts_with("unknown target `aarch46` ([DIR]/project/archway.toml:2:9)"),
        "{message}"
    );
}

#[test]
fn no_input_panics() {
    // Arbitrary bytes, half-written files and wrong shapes give errors, never panics.
    let inputs = [
        "target = 3",
        "[target]\naarch64 = 1",
        "[profile]\nx = []",
        "[[build]]",
        "[build]\ntarget = [1]",
        "[build]\ndir = 1",
        "[target.aarch64]\nenv = 1",
        "[target.aarch64]\nenv = { A = [] }",
        "[target.aarch64]\ntoolchain = []",
        "[target.aarch64]\nprofile = 1",
        "[build",
        "é = \"",
    ];
    for input in inputs {
        let fixture = Fixture::new(input, "");
        assert!(fixture.load().is_err(), "{input}");
    }
}

#[test]
fn settings_rows_serialize_with_structured_sources() {
    // `Settings` serializes (for `config show --json`) with structured sources.
    let fixture = Fixture::new("[build]\nmethod = \"cross\"\n", "");
    let settings = fixture.resolve(&flags("aarch64")).expect("resolves");
    let json = serde_json::to_value(settings.rows()).expect("rows serialize");
    let method = json
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["key"] == "method"))
        .expect("a method row");
    assert_eq!(method["value"], "cross");
    assert_eq!(method["source"]["kind"], "file");
    assert_eq!(method["source"]["line"], 2);
}

mod never_panics {
    use std::path::Path;

    use proptest::prelude::*;

    use crate::config::file::ConfigFile;

    /// Lines built from the pieces real files have, so the checks past the TOML parser run.
    fn line() -> impl Strategy<Value = String> {
        let headers = prop::sample::select(vec![
            "[build]",
            "[target.aarch64]",
            "[target.\"linux/arm64\"]",
            "[target.arm64]",
            "[target.nonsense]",
            "[profile.gcc11]",
            "[target.aarch64.env]",
            "[[build]]",
            "[target]",
        ]);
        let keys = prop::sample::select(vec![
            "method",
            "toolchain",
            "cc",
            "sysroot",
            "linker",
            "cflags",
            "env",
            "rootfs-suite",
            "rootfs-packages",
            "qemu-cpu",
            "profile",
            "target",
            "targets",
            "dir",
            "famly",
            "toolchain.family",
            "toolchain.version",
            "env.A",
        ]);
        let values = prop::sample::select(vec![
            "\"cross\"",
            "\"gcc-11\"",
            "{ family = \"gcc\", version = 11 }",
            "{ famly = 1 }",
            "[\"-O2\", 3]",
            "[]",
            "3",
            "-1",
            "true",
            "1979-05-27",
            "\"\"",
            "\"é/..\"",
            "{ A = \"1\" }",
            "[\"aarch64\", \"riscv46\"]",
            "\"linux/arm64\"",
            "{",
        ]);
        prop_oneof![
            headers.prop_map(str::to_string),
            (keys, values).prop_map(|(key, value)| format!("{key} = {value}")),
            "\\PC{0,20}",
        ]
    }

    proptest! {
        #[test]
        fn parsing_any_file_returns_instead_of_panicking(lines in prop::collection::vec(line(), 0..12)) {
            let _ = ConfigFile::parse(Path::new("archway.toml"), &lines.join("\n"));
        }

        #[test]
        fn parsing_arbitrary_text_returns_instead_of_panicking(text in "\\PC{0,300}") {
            let _ = ConfigFile::parse(Path::new("archway.toml"), &text);
        }

        /// Past parsing: resolving any file that loads, for the target and profile it selects
        /// and for a few named ones, returns (the fuzz target `config_load` does the same on
        /// any bytes).
        #[test]
        fn resolving_any_file_returns_instead_of_panicking(
            lines in prop::collection::vec(line(), 0..12),
            target in prop::sample::select(vec![None, Some("aarch64"), Some("linux/arm64"), Some("armhf"), Some("riscv46")]),
            profile in prop::sample::select(vec![None, Some("gcc11"), Some("missing")]),
        ) {
            let Ok(config) = crate::config::Config::from_project_text(Path::new("/project"), &lines.join("\n")) else {
                return Ok(());
            };
            let host = archway_platform::Platform::parse("x86_64-linux").map_err(|e| TestCaseError::fail(e.to_string()))?;
            let flags = crate::config::Flags {
                target: target.map(str::to_string),
                profile: profile.map(str::to_string),
                ..crate::config::Flags::default()
            };
            match config.resolve(&flags, &host) {
                Ok(settings) => {
                    let _ = settings.rows();
                }
                Err(error) => {
                    let _ = (error.to_string(), error.hint());
                }
            }
        }
    }
}

#[test]
fn env_variable_name_that_is_not_a_posix_name_is_refused_at_its_line_and_column() {
    let project = "[build]\ncflags = [\"-O2\"]\n\n[target.aarch64]\nenv = { OK = \"1\", \"$(touch /tmp/pwned)\" = \"1\" }\n";
    let error = Fixture::new(project, "").load().expect_err("bad name");
    match &error {
        Error::InvalidValue {
            location,
            key,
            value,
            ..
        } => {
            assert_eq!((location.line, location.column), (5, 19), "{error}");
            assert_eq!(key, "env");
            assert_eq!(value, "$(touch /tmp/pwned)");
        }
        other => panic!("{other:?}"),
    }
    let table_form = "[target.aarch64.env]\n\"A B\" = \"1\"\n";
    let error = Fixture::new(table_form, "").load().expect_err("bad name");
    assert!(
        matches!(&error, Error::InvalidValue { location, .. } if location.line == 2),
        "{error:?}"
    );
}

#[test]
fn cache_section_resolves_project_then_user_and_keys_from_the_user_only() {
    let key = archway_cache::sign::SigningKey::generate("ci-1")
        .expect("generate")
        .public_key()
        .to_string();
    let key = key.split_once(':').map_or("", |(_, data)| data).to_string();
    let fixture = Fixture::new(
        "[cache]\nmax-size = \"10GiB\"\nurl = \"s3://team-cache/archway\"\n",
        &format!(
            "[cache]\nenabled = false\nmax-size = \"1G\"\ntrusted-keys = [\"ci-1:{key}\"]\nsigning-key = \"keys/me.sec\"\n"
        ),
    );
    let cache = fixture.load().expect("load").cache().expect("cache");
    assert!(!cache.enabled, "the user file's `enabled`");
    assert_eq!(
        cache.max_size,
        Some(10 << 30),
        "the project's `max-size` wins"
    );
    let shared = cache.shared.expect("a url");
    assert_eq!(shared.url, "s3://team-cache/archway");
    assert_eq!(shared.trusted_keys.len(), 1);
    assert_eq!(shared.trusted_keys[0].name(), "ci-1");
    assert_eq!(
        shared.signing_key,
        Some(fixture.dir.path().join("keys/me.sec")),
        "relative to the user file"
    );

    let forced =
        Fixture::new("[cache]\nenabled = true\n", "").env(&[("ARCHWAY_CACHE_ENABLED", "false")]);
    assert!(!forced.load().expect("load").cache().expect("cache").enabled);
    let hostile = Fixture::new("", "").env(&[("ARCHWAY_CACHE_ENABLED", "maybe")]);
    assert!(hostile.load().is_err());

    let defaults = Fixture::new("", "")
        .load()
        .expect("load")
        .cache()
        .expect("cache");
    assert_eq!(defaults, archway_cache::CacheSettings::default());
    assert!(defaults.enabled);

    let project_keys = Fixture::new(&format!("[cache]\ntrusted-keys = [\"evil:{key}\"]\n"), "");
    let error = project_keys
        .load()
        .expect("load")
        .cache()
        .expect_err("refused");
    assert!(matches!(error, Error::UserOnly { .. }), "{error}");
    assert!(error.hint().is_some_and(|hint| hint.contains("user.toml")));
}

#[test]
fn cache_section_refuses_hostile_values_with_their_line() {
    // 16 bytes of base64, where a public key has 32.
    let short = "AwMDAwMDAwMDAwMDAwMDAw==";
    let cases = [
        ("enabled = \"yes\"", "`enabled` must be `true` or `false`"),
        ("max-size = 10", "`max-size` must be a size in a string"),
        ("max-size = \"-1G\"", "invalid `max-size` value `-1G`"),
        ("max-size = \"99999999999999TiB\"", "invalid `max-size`"),
        ("url = \"http://x\"", "invalid `url` value `http://x`"),
        ("url = \"s3://A\"", "invalid `url`"),
        ("trusted-keys = \"k:x\"", "`trusted-keys` must be an array"),
        ("trusted-keys = [1]", "`trusted-keys` must be an array"),
        (&format!("trusted-keys = [\"k:{short}\"]"), "has 32"),
        ("trusted-keys = [\"nocolon\"]", "expected `name:base64`"),
        ("signing-key = \"\"", "invalid `signing-key`"),
        ("max-sise = \"1G\"", "unknown key `max-sise` in `[cache]`"),
    ];
    for (line, expected) in cases {
        let fixture = Fixture::new("", &format!("[cache]\n{line}\n"));
        let error = fixture.load().expect_err(line);
        let message = fixture.message(&error);
        assert!(message.contains(expected), "{line}: {message}");
        assert!(message.contains("user.toml:2"), "{line}: {message}");
    }
    let fixture = Fixture::new("cache = 1\n", "");
    assert!(fixture.load().is_err());
}
