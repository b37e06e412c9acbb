//! The same hostile strings through every generator, checked with the real consumer: `sh`
//! (the `env` output and `config.site`), `fish`, `cmake -P` (the toolchain file) and
//! `meson setup` (the cross file, down to the compiler's argv). Each value must arrive byte
//! for byte, or — only where Meson's machine-file syntax cannot carry it — be refused.
//!
//! Under `CI` a missing tool fails the test; elsewhere the test says it skipped.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use archway_platform::Platform;
use archway_toolchain::{select, CrossEnv, Format, Request};

/// One hostile value, and whether a Meson cross file can hold it (see
/// `archway_platform::quote::meson_string`).
struct Case {
    value: String,
    meson: bool,
}

fn cases() -> Vec<Case> {
    let mut long = String::new();
    while long.len() < 64 * 1024 {
        long.push_str("x'y\"z\\$(id)`id`${HOME};#@V@]==] ");
    }
    long.truncate(64 * 1024);
    long.push('.');
    let case = |value: &str, meson: bool| Case {
        value: value.to_string(),
        meson,
    };
    vec![
        case("-DQUOTE=it's", true),
        case("-DDOUBLE=\"quoted\"", true),
        case(r"-DBACKSLASH=a\b\\c", true),
        case(r"trailing\", true),
        case("$(id)", true),
        case("`id`", true),
        case("${HOME}", true),
        case("$HOME", true),
        case("a;b", true),
        case("#not-a-comment", true),
        case("@VAR@", true),
        case("]]", true),
        case("]=]", true),
        case("]==]", true),
        case("[[x]]", true),
        case("-", true),
        case("--leading-dashes", true),
        case("", true),
        case("two words", true),
        case("tab\there", true),
        case("* ? [a] ~ {a,b} ! & | < > ( )", true),
        case("''x", true),
        case(&long, true),
        case("new\nline", false),
        case("\nleading newline", false),
        case("carriage\rreturn", false),
        case("'quoted'", false),
        case("a'''b", false),
        case(r"a'\b", false),
    ]
}

/// Is `program` on `PATH`? Missing: `false` after saying so, or a panic under `CI`.
#[track_caller]
fn have(program: &str) -> bool {
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            fs::metadata(dir.join(program)).is_ok_and(|meta| meta.permissions().mode() & 0o111 != 0)
        })
    });
    archway_platform::testing::require(
        found,
        &format!("`{program}` is not installed (scripts/test-packages.txt)"),
    )
}

fn run(command: &mut Command) -> Vec<u8> {
    let output = command.output().expect("start the consumer");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// NUL-terminated records, as `printf '%s\0'` writes them.
fn records(bytes: &[u8]) -> Vec<String> {
    let mut records: Vec<String> = bytes
        .split(|&byte| byte == 0)
        .map(|record| String::from_utf8_lossy(record).into_owned())
        .collect();
    assert_eq!(records.pop().as_deref(), Some(""), "NUL-terminated");
    records
}

/// A temporary directory with wrapper compilers for aarch64 that run the host's `gcc`: every
/// argument between `-DARCHWAY_PROBE_BEGIN` and `-DARCHWAY_PROBE_END` is logged (NUL after
/// each) to `probe.<pid>` and left out, so the compile itself succeeds; so is the platform's
/// `-march=armv8-a`, which the host's `gcc` does not take.
struct Workspace {
    temp: tempfile::TempDir,
}

const BEGIN: &str = "-DARCHWAY_PROBE_BEGIN";
const END: &str = "-DARCHWAY_PROBE_END";

impl Workspace {
    fn new() -> Workspace {
        let temp = tempfile::Builder::new()
            .prefix("archway-hostile-")
            .tempdir()
            .expect("temp dir");
        let bin = temp.path().join("bin");
        fs::create_dir_all(&bin).expect("bin");
        let logs = temp.path().join("logs");
        fs::create_dir_all(&logs).expect("logs");
        for (name, real) in [("gcc", "gcc"), ("g++", "g++")] {
            let script = format!(
                "#!/bin/sh\ninside=0\nfor arg do\n  shift\n  case $inside/$arg in\n    0/{BEGIN}) inside=1; continue ;;\n    1/{END}) inside=0; continue ;;\n    1/*) printf '%s\\0' \"$arg\" >> '{}/probe.'$$; continue ;;\n    0/-march=*) continue ;;\n  esac\n  set -- \"$@\" \"$arg\"\ndone\nexec {real} \"$@\"\n",
                logs.display()
            );
            let path = bin.join(format!("aarch64-linux-gnu-{name}"));
            fs::write(&path, script).expect("wrapper");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        for tool in ["ar", "ranlib", "nm", "strip", "objcopy", "ld"] {
            std::os::unix::fs::symlink(
                format!("/usr/bin/{tool}"),
                bin.join(format!("aarch64-linux-gnu-{tool}")),
            )
            .expect("binutils link");
        }
        fs::create_dir_all(temp.path().join("aarch64-linux-gnu/include")).expect("libc dir");
        Workspace { temp }
    }

    fn path(&self) -> &Path {
        self.temp.path()
    }

    /// The cross environment with `flags` as `cflags` (between the probe markers).
    fn env(&self, flags: &[String]) -> CrossEnv {
        let search_path = self.path().join("bin").into_os_string();
        let target = Platform::parse("aarch64-multiplatform").expect("platform");
        let mut cflags = vec![BEGIN.to_string()];
        cflags.extend(flags.iter().cloned());
        cflags.push(END.to_string());
        let request = Request {
            cflags,
            ..Request::default()
        };
        let toolchain = select(&target, &request, &search_path).expect("the wrapper toolchain");
        CrossEnv::with_search_path(&toolchain, &request, None, &search_path, false).expect("env")
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        fs::write(&path, text).expect("write");
        path
    }
}

fn with_markers(values: &[String]) -> Vec<String> {
    std::iter::once(BEGIN.to_string())
        .chain(values.iter().cloned())
        .chain(std::iter::once(END.to_string()))
        .collect()
}

fn all_values() -> Vec<String> {
    cases().into_iter().map(|case| case.value).collect()
}

#[test]
fn env_output_for_sh_gives_back_every_value() {
    if !have("sh") {
        return;
    }
    let workspace = Workspace::new();
    let mut env = workspace.env(&[]);
    let values = all_values();
    let mut printer = String::from("printf '%s\\0'");
    for (index, value) in values.iter().enumerate() {
        env.vars.insert(format!("HOSTILE_{index}"), value.clone());
        printer.push_str(&format!(" \"$HOSTILE_{index}\""));
    }
    let script = workspace.write("env.sh", &env.render(Format::Sh).expect("sh names"));
    run(Command::new("sh").arg("-n").arg(&script));
    let output = run(Command::new("sh")
        .arg("-c")
        .arg(format!(". '{}'\n{printer}", script.display())));
    assert_eq!(records(&output), values);
}

#[test]
fn env_output_for_fish_gives_back_every_value() {
    if !have("fish") {
        return;
    }
    let workspace = Workspace::new();
    let mut env = workspace.env(&[]);
    let values = all_values();
    let mut printer = String::from("printf '%s\\0'");
    for (index, value) in values.iter().enumerate() {
        env.vars.insert(format!("HOSTILE_{index}"), value.clone());
        printer.push_str(&format!(" \"$HOSTILE_{index}\""));
    }
    let script = workspace.write("env.fish", &env.render(Format::Fish).expect("fish names"));
    run(Command::new("fish").arg("--no-execute").arg(&script));
    let output = run(Command::new("fish")
        .arg("--no-config")
        .arg("-c")
        .arg(format!("source '{}'\n{printer}", script.display())));
    assert_eq!(records(&output), values);
}

#[test]
fn env_output_refuses_names_a_shell_would_run_or_reject() {
    let workspace = Workspace::new();
    for name in ["$(touch pwned)", "A B", "A=B", "", "A;B", "A\nB"] {
        let mut env = workspace.env(&[]);
        env.vars.insert(name.to_string(), "1".to_string());
        for format in [Format::Sh, Format::Fish] {
            let error = env.render(format).expect_err(name);
            assert!(
                matches!(error, archway_toolchain::Error::VariableName { .. }),
                "{name:?}: {error}"
            );
        }
    }
    // fish takes a leading digit, POSIX sh does not.
    let mut env = workspace.env(&[]);
    env.vars.insert("1A".to_string(), "1".to_string());
    assert!(env.render(Format::Sh).is_err());
    let mut request = Request::default();
    request.env.insert("$(id)".to_string(), "1".to_string());
    let search_path = workspace.path().join("bin").into_os_string();
    let target = Platform::parse("aarch64-multiplatform").expect("platform");
    let toolchain = select(&target, &request, &search_path).expect("toolchain");
    assert!(CrossEnv::with_search_path(&toolchain, &request, None, &search_path, false).is_err());
}

#[test]
fn config_site_sourced_by_sh_gives_back_every_flag() {
    if !have("sh") {
        return;
    }
    let workspace = Workspace::new();
    let values = all_values();
    let env = workspace.env(&values);
    let site = workspace.write("config.site", &archway_toolchain::config_site(&env));
    run(Command::new("sh").arg("-n").arg(&site));
    // configure runs `$CC -c $CFLAGS ...` through `eval` (autoconf's `ac_compile`).
    let output = run(Command::new("sh")
        .env_remove("CFLAGS")
        .arg("-c")
        .arg(format!(
            ". '{}'\neval \"set -- $CFLAGS\"\nprintf '%s\\0' \"$@\"",
            site.display()
        )));
    assert_eq!(records(&output), with_markers(&values));
}

#[test]
fn cmake_toolchain_file_gives_back_every_flag() {
    if !have("cmake") || !have("sh") {
        return;
    }
    let workspace = Workspace::new();
    let values = all_values();
    let env = workspace.env(&values);
    let toolchain = workspace.write("toolchain.cmake", &archway_toolchain::cmake_toolchain(&env));
    let out = workspace.path().join("flags.txt");
    let script = workspace.write(
        "print.cmake",
        &format!(
            "include([[{}]])\nfile(WRITE [[{}]] \"${{CMAKE_C_FLAGS_INIT}}\")\n",
            toolchain.display(),
            out.display()
        ),
    );
    run(Command::new("cmake").arg("-P").arg(&script));
    let flags = fs::read_to_string(&out).expect("flags written by cmake");
    // The generated Makefiles and Ninja files run compile commands with `sh -c`.
    let words = workspace.write("words.sh", &format!("printf '%s\\0' {flags}\n"));
    let output = run(Command::new("sh").arg(&words));
    // The platform's CPU flags come first (`-march=armv8-a`), then the user's.
    let mut expected = env.target.compiler_flags();
    expected.extend(with_markers(&values));
    assert_eq!(records(&output), expected);
}

#[test]
fn meson_cross_file_carries_every_flag_it_accepts_to_the_compiler() {
    if !have("meson") || !have("ninja") || !have("gcc") {
        return;
    }
    let workspace = Workspace::new();
    let (accepted, refused): (Vec<Case>, Vec<Case>) =
        cases().into_iter().partition(|case| case.meson);
    for case in &refused {
        let env = workspace.env(std::slice::from_ref(&case.value));
        let error = archway_toolchain::meson_cross(&env).expect_err(&case.value);
        assert!(
            error.to_string().contains("Meson cross file"),
            "{:?}: {error}",
            case.value
        );
    }
    let values: Vec<String> = accepted.into_iter().map(|case| case.value).collect();
    let env = workspace.env(&values);
    let cross = workspace.write(
        "cross.ini",
        &archway_toolchain::meson_cross(&env).expect("accepted values"),
    );
    let source = workspace.path().join("project");
    fs::create_dir_all(&source).expect("project dir");
    fs::write(source.join("meson.build"), "project('probe', 'c')\n").expect("meson.build");
    run(Command::new("meson")
        .arg("setup")
        .arg("--cross-file")
        .arg(&cross)
        .arg(workspace.path().join("build"))
        .arg(&source));
    // Meson's sanity check compiles with `c_args`: the wrapper logged what gcc was given.
    let logs: Vec<PathBuf> = fs::read_dir(workspace.path().join("logs"))
        .expect("logs")
        .map(|entry| entry.expect("log entry").path())
        .collect();
    assert!(!logs.is_empty(), "the compiler never saw the flags");
    for log in logs {
        let logged = fs::read(&log).expect("log");
        assert_eq!(records(&logged), values, "{}", log.display());
    }
}
