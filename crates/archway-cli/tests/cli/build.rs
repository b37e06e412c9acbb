//! `archway build` and `archway test`: errors a user can cause (snapshots), and real cross
//! builds of a small CMake project with the host's cross compilers, tested under QEMU.

use std::fs;
use std::path::Path;

use crate::support::{self, archway};

/// A CMake project with a library, a program linking it, and a test that runs the program.
fn write_cmake_project(dir: &Path) {
    fs::create_dir_all(dir).expect("project dir");
    fs::write(
        dir.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.13)\nproject(greet C)\nenable_testing()\n\
         add_library(greet SHARED greet.c)\nadd_executable(hello hello.c)\n\
         target_link_libraries(hello greet)\nadd_test(NAME hello COMMAND hello)\n",
    )
    .expect("CMakeLists.txt");
    fs::write(dir.join("greet.c"), "int greet(void) { return 42; }\n").expect("greet.c");
    fs::write(
        dir.join("hello.c"),
        "#include <stdio.h>\nint greet(void);\nint main(void) { printf(\"%d\\n\", greet()); return greet() == 42 ? 0 : 1; }\n",
    )
    .expect("hello.c");
}

#[test]
fn build_without_a_build_system_says_what_archway_detects() {
    let command = archway();
    let project = command.work_dir().join("empty");
    fs::create_dir_all(&project).expect("project");
    let output = command
        .args(["build", "--target", "aarch64", "-C", "empty"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

/// An Automake project as a git checkout has it: `configure.ac` and `Makefile.am`, no
/// `configure`; `make check` runs the program.
fn write_automake_project(dir: &Path) {
    fs::create_dir_all(dir).expect("project dir");
    fs::write(
        dir.join("configure.ac"),
        "AC_INIT([hello], [1])\nAM_INIT_AUTOMAKE([foreign])\nAC_PROG_CC\n\
         AC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n",
    )
    .expect("configure.ac");
    fs::write(
        dir.join("Makefile.am"),
        "bin_PROGRAMS = hello\nhello_SOURCES = hello.c\nTESTS = hello\n",
    )
    .expect("Makefile.am");
    fs::write(
        dir.join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
    )
    .expect("hello.c");
    // The project's own script, which archway does not run (Debian's dh_autoreconf does not).
    fs::write(dir.join("autogen.sh"), "#!/bin/sh\nexit 1\n").expect("autogen.sh");
}

/// The files under `dir`, relative, leaving out `skip` (the build directories).
fn files_under(dir: &Path, skip: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).expect("read dir") {
            let path = entry.expect("entry").path();
            if path == skip {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                files.push(relative.display().to_string());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn build_with_only_configure_ac_and_no_autoreconf_says_what_to_install() {
    let command = archway();
    write_automake_project(&command.work_dir().join("autotools"));
    // A PATH with make (the build system's driver) and nothing else.
    let bin = command.temp().join("bin");
    fs::create_dir_all(&bin).expect("bin");
    let Some(make) = ["/usr/bin/make", "/bin/make"]
        .into_iter()
        .find(|path| Path::new(path).is_file())
    else {
        support::skip_unless_ci("`make` in /usr/bin");
        return;
    };
    std::os::unix::fs::symlink(make, bin.join("make")).expect("symlink make");
    let output = command
        .env("PATH", &bin)
        .args(["build", "-C", "autotools"])
        .run();
    output.assert_code(1);
    let stderr = output.filtered(&output.stderr);
    assert!(
        stderr.contains(
            "error: `autoreconf` is not installed on the host, but `configure.ac` without \
             `configure` needs it to generate `configure`\n\
             hint: run `apt-get install autoconf automake libtool autopoint gettext` as root"
        ),
        "{stderr}"
    );
    assert!(!output.temp().join("work/autotools/configure").exists());
}

#[test]
fn test_with_only_configure_ac_generates_configure_in_a_copy_like_dh_autoreconf() {
    if !cross_tools_present(&[
        "autoreconf",
        "automake",
        "make",
        "aarch64-linux-gnu-gcc",
        "qemu-aarch64-static",
    ]) {
        return;
    }
    let command = archway();
    let project = command.work_dir().join("autotools");
    write_automake_project(&project);
    let build_root = project.join("build");
    let before = files_under(&project, &build_root);
    // No build cache: the second build has to find the configured tree, not a restore.
    let output = command
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .args([
            "test",
            "--target",
            "aarch64-multiplatform",
            "-C",
            "autotools",
        ])
        .run();
    output.assert_code(0);
    let stderr = output.filtered(&output.stderr);
    assert!(
        stderr.contains("building configure project in `[TEMP]/work/autotools`"),
        "{stderr}"
    );
    assert!(stderr.contains("autoreconf --force --install"), "{stderr}");
    assert!(stderr.contains("PASS: hello"), "{stderr}");
    // Built where debhelper builds it: in the (copied) source tree.
    assert_eq!(
        output.stdout,
        "source/hello\texecutable\taarch64-unknown-linux-gnu\n"
    );
    // Nothing written into the source tree: `configure` is in the build directory's copy.
    assert_eq!(files_under(&project, &build_root), before);
    let build_dir = project.join("build/archway/aarch64-unknown-linux-gnu");
    assert!(build_dir.join("source/configure").is_file());

    // A second build, with the same home, reuses the copy and the configured tree.
    let temp = output.temp();
    let output = support::again_in(temp)
        .args([
            "build",
            "--target",
            "aarch64-multiplatform",
            "-C",
            "autotools",
        ])
        .run();
    output.assert_code(0);
    let stderr = output.filtered(&output.stderr);
    assert!(
        !stderr.contains("autoreconf --force"),
        "configured again:\n{stderr}"
    );
    assert!(
        stderr.contains("built for `aarch64-unknown-linux-gnu`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("restored from the build cache"),
        "{stderr}"
    );
    assert_eq!(files_under(&project, &build_root), before);
}

/// A hand-written `configure` in zlib's shape: it writes `Makefile` and `config.h` into the
/// directory it runs in and names the sources relative to it, so it only works in the tree.
fn write_handwritten_configure_project(dir: &Path) {
    fs::create_dir_all(dir.join("lib")).expect("project dir");
    let configure = dir.join("configure");
    fs::write(
        &configure,
        "#!/bin/sh\n# hand-written, like zlib's\n\
         echo '#define ANSWER 42' > config.h\ncp Makefile.in Makefile\n",
    )
    .expect("configure");
    let mut permissions = fs::metadata(&configure).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    fs::set_permissions(&configure, permissions).expect("chmod");
    fs::write(
        dir.join("Makefile.in"),
        "hello: hello.c lib/answer.h config.h\n\t$(CC) -I. -o hello hello.c\n\
         check: hello\n\t./hello\n",
    )
    .expect("Makefile.in");
    fs::write(dir.join("lib/answer.h"), "#include \"config.h\"\n").expect("answer.h");
    fs::write(
        dir.join("hello.c"),
        "#include <stdio.h>\n#include \"lib/answer.h\"\n\
         int main(void) { printf(\"%d\\n\", ANSWER); return ANSWER == 42 ? 0 : 1; }\n",
    )
    .expect("hello.c");
}

#[test]
fn test_runs_a_handwritten_configure_in_a_copy_of_the_tree_like_debhelper() {
    if !cross_tools_present(&["make", "aarch64-linux-gnu-gcc", "qemu-aarch64-static"]) {
        return;
    }
    let command = archway();
    let project = command.work_dir().join("zlibish");
    write_handwritten_configure_project(&project);
    let build_root = project.join("build");
    let before = files_under(&project, &build_root);
    let output = command
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .args(["test", "--target", "aarch64-multiplatform", "-C", "zlibish"])
        .run();
    output.assert_code(0);
    let stderr = output.filtered(&output.stderr);
    assert!(
        stderr.contains("`configure` runs in the source tree, as debhelper runs it"),
        "{stderr}"
    );
    // `./hello` printed the answer from the config.h that configure wrote into the copy.
    assert!(stderr.contains("\n42\n"), "{stderr}");
    assert_eq!(
        output.stdout,
        "source/hello\texecutable\taarch64-unknown-linux-gnu\n"
    );
    // The source tree is as it was: configure ran in the build directory's copy.
    assert_eq!(files_under(&project, &build_root), before);
    let copy = project.join("build/archway/aarch64-unknown-linux-gnu/source");
    assert!(copy.join("config.h").is_file());

    // A second build finds the copy configured and does not run configure again.
    let temp = output.temp();
    let output = support::again_in(temp)
        .args([
            "build",
            "--target",
            "aarch64-multiplatform",
            "-C",
            "zlibish",
        ])
        .run();
    output.assert_code(0);
    let stderr = output.filtered(&output.stderr);
    assert!(
        !stderr.contains("configure: "),
        "configured again:\n{stderr}"
    );
}

#[test]
fn a_target_program_started_by_a_test_sees_the_argv0_it_was_given() {
    // Through binfmt_misc, QEMU gets the full path unless the entry has `P`: sed's tests
    // compare messages that start with the program's name ("sed: -e expression #1...").
    if !cross_tools_present(&["make", "aarch64-linux-gnu-gcc", "qemu-aarch64-static"]) {
        return;
    }
    let command = archway();
    let project = command.work_dir().join("argv0");
    fs::create_dir_all(&project).expect("project dir");
    fs::write(
        project.join("Makefile"),
        "prog: prog.c\n\t$(CC) -o prog prog.c\ncheck: prog\n\t./prog\n\tPATH=.:$$PATH prog\n",
    )
    .expect("Makefile");
    fs::write(
        project.join("prog.c"),
        "#include <stdio.h>\nint main(int argc, char **argv) { printf(\"argv0=%s\\n\", argv[0]); return 0; }\n",
    )
    .expect("prog.c");
    let output = command
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .args(["test", "--target", "aarch64-multiplatform", "-C", "argv0"])
        .run();
    output.assert_code(0);
    let stderr = output.filtered(&output.stderr);
    assert!(stderr.contains("\nargv0=./prog\n"), "{stderr}");
    assert!(stderr.contains("\nargv0=prog\n"), "{stderr}");
}

#[test]
fn test_runs_the_project_autogen_when_configure_ac_includes_what_it_writes() {
    if !cross_tools_present(&[
        "autoreconf",
        "automake",
        "make",
        "aarch64-linux-gnu-gcc",
        "qemu-aarch64-static",
    ]) {
        return;
    }
    let command = archway();
    let project = command.work_dir().join("uvlike");
    write_automake_project(&project);
    // libuv's layout: configure.ac includes an m4 file that autogen.sh writes, then runs the
    // tools itself; autoreconf alone stops at "file ... does not exist".
    fs::write(
        project.join("configure.ac"),
        "AC_INIT([hello], [1])\nm4_include([m4/extra-flags.m4])\n\
         AM_INIT_AUTOMAKE([foreign] EXTRA_FLAGS)\nAC_PROG_CC\n\
         AC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n",
    )
    .expect("configure.ac");
    fs::write(
        project.join("autogen.sh"),
        "#!/bin/sh\nset -e\ntest \"$NOCONFIGURE\" = 1\nmkdir -p m4\n\
         echo 'm4_define([EXTRA_FLAGS], [subdir-objects])' > m4/extra-flags.m4\n\
         aclocal\nautoconf\nautomake --add-missing --copy\n",
    )
    .expect("autogen.sh");
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(
            project.join("autogen.sh"),
            fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
    }
    let build_root = project.join("build");
    let before = files_under(&project, &build_root);
    let output = command
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .args([
            "test",
            "--target",
            "aarch64-multiplatform",
            "--explain",
            "-C",
            "uvlike",
        ])
        .run();
    output.assert_code(0);
    let stderr = output.filtered(&output.stderr);
    assert!(
        stderr.contains("build system: configure (rule `bootstrap-script`)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`configure.ac` includes `m4/extra-flags.m4`, which the tree lacks"),
        "{stderr}"
    );
    assert!(stderr.contains("archway-bootstrap autogen.sh"), "{stderr}");
    // No fallback: the script made `configure` (the message, not the step's own text).
    assert!(!stderr.contains("archway: `autogen.sh`"), "{stderr}");
    assert!(stderr.contains("PASS: hello"), "{stderr}");
    // The script wrote into the copy, never into the source tree.
    assert_eq!(files_under(&project, &build_root), before);
    let copy = project.join("build/archway/aarch64-unknown-linux-gnu/source");
    assert!(copy.join("m4/extra-flags.m4").is_file());
    assert!(copy.join("configure").is_file());
}

#[test]
fn build_with_an_absent_build_system_and_an_unknown_target() {
    let command = archway();
    write_cmake_project(&command.work_dir().join("p"));
    let output = command
        .args([
            "build",
            "--target",
            "aarch64",
            "-C",
            "p",
            "--build-system",
            "meson",
        ])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!("absent_build_system", output.snapshot());

    let command = archway();
    write_cmake_project(&command.work_dir().join("p"));
    let output = command
        .args(["build", "--target", "aarch46", "-C", "p"])
        .run();
    output.assert_code(1);
    assert!(
        output.stderr.contains("did you mean `aarch64`"),
        "{}",
        output.stderr
    );
}

#[test]
fn build_without_a_cross_toolchain_names_what_to_install() {
    let command = archway();
    write_cmake_project(&command.work_dir().join("p"));
    let empty = command.temp().join("empty-path");
    fs::create_dir_all(&empty).expect("empty PATH dir");
    let output = command
        .env("PATH", &empty)
        .args([
            "build", "--target", "riscv64", "--method", "cross", "-C", "p",
        ])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn a_failing_command_exits_with_its_own_code() {
    let command = archway();
    fs::create_dir_all(command.work_dir().join("p")).expect("project");
    let output = command
        .args([
            "-q",
            "build",
            "--target",
            "x86_64-linux",
            "--method",
            "native",
            "-C",
            "p",
        ])
        .args(["--", "sh", "-c", "exit 7"])
        .run();
    output.assert_code(7);
    insta::assert_snapshot!(output.snapshot());
}

pub(crate) fn cross_tools_present(tools: &[&str]) -> bool {
    for tool in tools {
        if !support::have_tool(tool) && support::skip_unless_ci(&format!("`{tool}` on PATH")) {
            return false;
        }
    }
    true
}

#[test]
fn test_cross_builds_into_the_per_target_directory_and_runs_ctest_under_qemu() {
    if !cross_tools_present(&[
        "cmake",
        "ctest",
        "aarch64-linux-gnu-gcc",
        "qemu-aarch64-static",
    ]) {
        return;
    }
    let command = archway();
    let project = command.work_dir().join("greet");
    write_cmake_project(&project);
    let output = command
        .args(["test", "--target", "aarch64-multiplatform", "-C", "greet"])
        .run();
    output.assert_code(0);
    // stdout: the artifacts, relative to the build directory, with their platform.
    assert_eq!(
        output.stdout,
        "hello\texecutable\taarch64-unknown-linux-gnu\nlibgreet.so\tshared library\taarch64-unknown-linux-gnu\n"
    );
    let stderr = output.filtered(&output.stderr);
    assert!(stderr.contains("building cmake project in `[TEMP]/work/greet` for `aarch64-unknown-linux-gnu` (cross method"), "{stderr}");
    assert!(stderr.contains("toolchain: gcc "), "{stderr}");
    assert!(
        stderr.contains("100% tests passed, 0 tests failed out of 1"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("built and tested for `aarch64-unknown-linux-gnu` with the cross method in "),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("2 artifacts in `[TEMP]/work/greet/build/archway/aarch64-unknown-linux-gnu`"),
        "{stderr}"
    );
    assert!(output
        .temp()
        .join("work/greet/build/archway/aarch64-unknown-linux-gnu/hello")
        .is_file());
}

#[test]
fn quiet_prints_only_the_artifacts_and_a_failure_names_the_log() {
    if !cross_tools_present(&["cmake", "aarch64-linux-gnu-gcc", "qemu-aarch64-static"]) {
        return;
    }
    let command = archway();
    let project = command.work_dir().join("greet");
    write_cmake_project(&project);
    let output = command
        .args(["-q", "build", "--target", "aarch64", "-C", "greet"])
        .run();
    output.assert_code(0);
    assert_eq!(
        output.stderr, "",
        "-q: nothing on stderr, the build's output included"
    );
    assert!(output
        .stdout
        .contains("hello\texecutable\taarch64-unknown-linux-gnu"));

    // A compile error: only the error, which says where the compiler's output went.
    let project = output.temp().join("work/greet");
    fs::write(project.join("greet.c"), "int greet(void) { return 42 }\n").expect("break it");
    let failed = archway()
        .arg("-q")
        .args(["build", "--target", "aarch64", "-C"])
        .arg(&project)
        .run();
    assert_ne!(failed.code, Some(0));
    let log = project.join("build/archway/aarch64-unknown-linux-gnu/.archway/build.log");
    assert!(
        failed.stderr.starts_with("error: build step failed"),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains(&format!(
            "hint: the build's output is in `{}`",
            log.display()
        )),
        "{}",
        failed.stderr
    );
    let log = fs::read_to_string(log).expect("the log");
    assert!(log.contains("error: expected"), "{log}");
}

#[test]
fn build_natively_for_the_host_and_as_json() {
    if !cross_tools_present(&["cmake", "cc"]) {
        return;
    }
    let command = archway();
    write_cmake_project(&command.work_dir().join("greet"));
    let output = command
        .args([
            "build",
            "--target",
            "x86_64-linux",
            "--method",
            "native",
            "-C",
            "greet",
            "--json",
        ])
        .args(["--build-dir", "out"])
        .run();
    output.assert_code(0);
    let outcome: serde_json::Value = serde_json::from_str(&output.stdout).expect("JSON outcome");
    assert_eq!(outcome["method"], "native");
    assert_eq!(outcome["build_system"], "cmake");
    // How it was chosen: the files found and the rule, with its reason.
    let choice = &outcome["build_system_choice"];
    assert_eq!(choice["found"], serde_json::json!(["CMakeLists.txt"]));
    assert_eq!(choice["rule"], "cmake");
    assert!(choice["reason"]
        .as_str()
        .is_some_and(|reason| !reason.is_empty()));
    assert_eq!(outcome["target"], "x86_64-unknown-linux-gnu");
    let artifacts = outcome["artifacts"].as_array().expect("artifacts");
    assert_eq!(artifacts.len(), 2, "{}", output.stdout);
    assert!(artifacts
        .iter()
        .all(|a| a["platform"] == "x86_64-unknown-linux-gnu"));
    // `--build-dir` is relative to the working directory, like `cmake -B`.
    assert!(output.temp().join("work/out/hello").is_file());
}

#[test]
fn i686_on_x86_64_is_built_by_the_cross_compiler_and_tested_directly() {
    // x86_64 runs i686 programs, but its own gcc makes x86_64 ones: `auto` once took the
    // native method and reported x86_64 programs as i686. The cross compiler builds them;
    // the tests run without QEMU, the loader and the C library shown by the sysroot where
    // a Debian host with `libc6:i386` has them.
    if !cross_tools_present(&["cmake", "i686-linux-gnu-gcc"]) {
        return;
    }
    let command = archway().real_cache();
    write_cmake_project(&command.work_dir().join("greet"));
    let output = command
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .args(["test", "--target", "i386", "-C", "greet", "--json"])
        .run();
    output.assert_code(0);
    let outcome: serde_json::Value = serde_json::from_str(&output.stdout).expect("JSON outcome");
    assert_eq!(outcome["method"], "cross", "{}", output.stderr);
    let artifacts = outcome["artifacts"].as_array().expect("artifacts");
    assert!(!artifacts.is_empty());
    assert!(
        artifacts
            .iter()
            .all(|a| a["platform"] == "i686-unknown-linux-gnu"),
        "{}",
        output.stdout
    );
    assert!(
        output.stderr.contains("tests run directly"),
        "{}",
        output.stderr
    );
    assert!(!output.stderr.contains("qemu-i386"), "{}", output.stderr);
    // Asked for, the native method says why it cannot.
    let native = support::again_in(output.temp())
        .args([
            "build", "--target", "i386", "--method", "native", "-C", "greet",
        ])
        .run();
    native.assert_code(1);
    assert!(
        native
            .stderr
            .contains("its own compilers build `x86_64-unknown-linux-gnu` ones"),
        "{}",
        native.stderr
    );
}

#[test]
fn a_build_directory_made_by_another_compiler_starts_anew() {
    // A CMake build directory keeps its cached compiler, and make rebuilds nothing whose
    // source did not change: the objects of the native x86_64 gcc must not end up in an
    // aarch64 build.
    if !cross_tools_present(&["cmake", "cc", "aarch64-linux-gnu-gcc"]) {
        return;
    }
    let command = archway();
    write_cmake_project(&command.work_dir().join("greet"));
    let arguments = |target: &'static str, method: &'static str| {
        [
            "build",
            "--target",
            target,
            "--method",
            method,
            "-C",
            "greet",
            "--build-dir",
            "out",
            "--json",
        ]
    };
    let first = command
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .args(arguments("x86_64-linux", "native"))
        .run();
    first.assert_code(0);
    let build = |target, method| {
        support::again_in(first.temp())
            .args(arguments(target, method))
            .run()
    };
    let second = build("aarch64", "cross");
    second.assert_code(0);
    assert!(
        second
            .stderr
            .contains("the build directory was made by another method or compiler"),
        "{}",
        second.stderr
    );
    let outcome: serde_json::Value = serde_json::from_str(&second.stdout).expect("JSON outcome");
    let artifacts = outcome["artifacts"].as_array().expect("artifacts");
    assert!(
        artifacts
            .iter()
            .all(|a| a["platform"] == "aarch64-unknown-linux-gnu"),
        "{}",
        second.stdout
    );
    // The same method and compiler again: nothing to empty, configure skipped.
    let third = build("aarch64", "cross");
    third.assert_code(0);
    assert!(
        !third.stderr.contains("made by another method"),
        "{}",
        third.stderr
    );
}

/// A binary crate with one unit test, and the Rust installation of the machine (the test
/// home has none).
fn cargo_project(command: crate::support::Archway) -> crate::support::Archway {
    let project = command.work_dir().join("hello");
    fs::create_dir_all(project.join("src")).expect("src");
    fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .expect("Cargo.toml");
    fs::write(
        project.join("src/main.rs"),
        "fn answer() -> u32 { 42 }\nfn main() { println!(\"{}\", answer()); }\n\
         #[test]\nfn answers() { assert_eq!(answer(), 42); }\n",
    )
    .expect("main.rs");
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME").map_or_else(|| home.join(".cargo"), Into::into);
    let rustup_home =
        std::env::var_os("RUSTUP_HOME").map_or_else(|| home.join(".rustup"), Into::into);
    command
        .env("CARGO_HOME", cargo_home)
        .env("RUSTUP_HOME", rustup_home)
}

#[test]
fn cargo_tests_natively_and_cross_with_rustups_or_debians_std() {
    if !cross_tools_present(&["cargo", "rustc"]) {
        return;
    }
    let output = cargo_project(archway())
        .args([
            "test",
            "--target",
            "x86_64-linux",
            "--method",
            "native",
            "-C",
            "hello",
        ])
        .run();
    output.assert_code(0);
    assert_eq!(
        output.stdout,
        "debug/hello\texecutable\tx86_64-unknown-linux-gnu\n"
    );
    assert!(
        output.stderr.contains("test answers ... ok"),
        "{}",
        output.stderr
    );

    // Cross: with rustup's standard library of the target where it is installed, else with
    // Debian's in a native prefix (made once in the machine's cache; `zlib1g-dev` as in
    // `rust_debian.rs`, so both share one prefix).
    let libdir = std::process::Command::new("rustc")
        .args([
            "--print",
            "target-libdir",
            "--target",
            "aarch64-unknown-linux-gnu",
        ])
        .output()
        .expect("rustc");
    let installed = std::path::Path::new(String::from_utf8_lossy(&libdir.stdout).trim()).is_dir();
    let command = cargo_project(archway().real_cache());
    fs::write(
        command.work_dir().join("hello/archway.toml"),
        "[build]\nsysroot-packages = [\"zlib1g-dev\"]\n",
    )
    .expect("archway.toml");
    let output = command
        .args([
            "test", "--target", "aarch64", "--method", "cross", "-C", "hello",
        ])
        .run();
    output.assert_code(0);
    assert_eq!(
        output.stdout,
        "aarch64-unknown-linux-gnu/debug/hello\texecutable\taarch64-unknown-linux-gnu\n"
    );
    assert!(
        output.stderr.contains("test answers ... ok"),
        "{}",
        output.stderr
    );
    if !installed {
        assert!(
            output.stderr.contains("toolchain: Debian's rustc 1.63"),
            "{}",
            output.stderr
        );
        // Debian's cargo wrote the missing lockfile, as cargo on the host would.
        assert!(output.temp().join("work/hello/Cargo.lock").is_file());
    }
}

#[test]
fn a_command_runs_in_the_cross_environment_and_its_binaries_are_listed() {
    if !cross_tools_present(&["riscv64-linux-gnu-gcc"]) {
        return;
    }
    let command = archway();
    let project = command.work_dir().join("p");
    fs::create_dir_all(&project).expect("project");
    fs::write(project.join("hello.c"), "int main(void) { return 0; }\n").expect("hello.c");
    let output = command
        .args([
            "build", "--target", "riscv64", "--method", "cross", "-C", "p", "--",
        ])
        .args(["sh", "-c", "$CC -o hello hello.c && echo \"$CC\" > cc.txt"])
        .run();
    output.assert_code(0);
    assert_eq!(
        output.filtered(&output.stdout),
        "[TEMP]/work/p/hello\texecutable\triscv64-unknown-linux-gnu\n"
    );
    let cc = fs::read_to_string(output.temp().join("work/p/cc.txt")).expect("cc.txt");
    assert!(cc.contains("riscv64-linux-gnu-gcc"), "{cc}");
}

/// raspberryPi's ARMv6KZ cannot run Debian armhf's ARMv7 libraries: every method that would
/// link or run them is refused, naming both CPUs and the ways out.
#[test]
fn raspberry_pi_is_refused_below_debians_armhf_baseline() {
    let command = archway();
    write_cmake_project(&command.work_dir().join("p"));
    let output = command
        .args(["build", "--target", "raspberryPi", "-C", "p", "--explain"])
        .run();
    output.assert_code(1);
    let stderr = output.filtered(&output.stderr);
    assert!(stderr.contains("chosen: none"), "{stderr}");
    assert!(stderr.contains("ARMv6KZ"), "{stderr}");
    assert!(stderr.contains("armhf"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    insta::assert_snapshot!(output.snapshot());
}

/// A Debian patch leaves `Makefile.am` newer than the `Makefile.in` generated from it, and the
/// release's `aclocal.m4` comes from another Automake: make's rebuild rule would run this
/// machine's automake against it ("version mismatch", as libevent 2.1.12 on bookworm). archway
/// regenerates the whole build system with autoreconf in its copy first, as `dh_autoreconf`
/// does, and the patch reaches the build.
#[test]
fn a_patched_makefile_am_is_regenerated_before_configure() {
    if !cross_tools_present(&["autoreconf", "automake", "aarch64-linux-gnu-gcc"]) {
        return;
    }
    let command = archway();
    let project = command.work_dir().join("answer");
    fs::create_dir_all(&project).expect("project");
    fs::write(
        project.join("configure.ac"),
        "AC_INIT([answer], [1])\nAM_INIT_AUTOMAKE([foreign])\nAC_PROG_CC\n\
         AC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n",
    )
    .expect("configure.ac");
    let makefile_am = |answer: u32| {
        format!("bin_PROGRAMS = answer\nanswer_SOURCES = answer.c\nanswer_CPPFLAGS = -DANSWER={answer}\n")
    };
    fs::write(project.join("Makefile.am"), makefile_am(1)).expect("Makefile.am");
    fs::write(
        project.join("answer.c"),
        "#include <stdio.h>\n#define S(x) #x\n#define STR(x) S(x)\n\
         const char answer[] = \"the answer is \" STR(ANSWER);\n\
         int main(void) { return puts(answer) < 0; }\n",
    )
    .expect("answer.c");
    // The release: generated here, as its maintainers did.
    let generated = std::process::Command::new("autoreconf")
        .args(["--force", "--install"])
        .current_dir(&project)
        .output()
        .expect("autoreconf");
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    // As by another Automake: its version in `aclocal.m4` (and so in `configure`) is not this
    // machine's.
    let version = std::process::Command::new("automake")
        .arg("--version")
        .output()
        .expect("automake --version");
    let version = String::from_utf8_lossy(&version.stdout)
        .lines()
        .next()
        .and_then(|line| line.rsplit(' ').next())
        .map(str::to_string)
        .expect("automake's version");
    let aclocal = fs::read_to_string(project.join("aclocal.m4")).expect("aclocal.m4");
    assert!(aclocal.contains(&format!("[{version}]")), "{version}");
    fs::write(
        project.join("aclocal.m4"),
        aclocal.replace(&format!("[{version}]"), "[1.16.0]"),
    )
    .expect("aclocal.m4");
    for generated in ["configure", "Makefile.in"] {
        let text = fs::read(project.join(generated)).expect("generated file");
        fs::write(project.join(generated), text).expect("newer than aclocal.m4");
    }
    // The patch, later.
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(project.join("Makefile.am"), makefile_am(2)).expect("patched Makefile.am");

    let output = command
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .args([
            "build",
            "--target",
            "arm64",
            "--method",
            "cross",
            "--explain",
            "-C",
            "answer",
        ])
        .run();
    output.assert_code(0);
    assert!(
        output
            .stderr
            .contains("`Makefile.am` is newer than `Makefile.in` (a patch changed it)"),
        "{}",
        output.stderr
    );
    let program = project.join("build/archway/aarch64-unknown-linux-gnu/source/answer");
    let bytes = fs::read(&program).expect("the program");
    let has = |text: &[u8]| bytes.windows(text.len()).any(|window| window == text);
    assert!(
        has(b"the answer is 2") && !has(b"the answer is 1"),
        "the patch to Makefile.am did not reach the build: {}",
        output.stderr
    );
}
