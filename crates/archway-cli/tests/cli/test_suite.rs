//! `archway test` on a project without a test suite: built, a note, exit 0.

use std::fs;

use crate::support::archway;

#[test]
fn test_without_a_test_suite_builds_and_says_there_is_nothing_to_run() {
    let command = archway();
    let project = command.work_dir().join("plain");
    fs::create_dir_all(&project).expect("project directory");
    // As sl and tree: a makefile with `all` and `install`, no `check`/`test`/`tests`.
    fs::write(
        project.join("Makefile"),
        "all: hello\nhello: hello.c\n\t$(CC) -o hello hello.c\ninstall:\n\ttrue\n",
    )
    .expect("Makefile");
    fs::write(project.join("hello.c"), "int main(void) { return 0; }\n").expect("hello.c");
    let output = command.args(["test", "--json", "-C", "plain"]).run();
    output.assert_code(0);
    assert!(
        output.stderr.contains(
            "note: no test suite to run: the makefile has no `check`, `test` or `tests` target"
        ),
        "{}",
        output.stderr
    );
    let json: serde_json::Value = serde_json::from_str(&output.stdout).expect("json");
    assert_eq!(json["tested"], false, "{json}");
    assert_eq!(json["tests"]["status"], "none", "{json}");
    assert_eq!(
        json["tests"]["reason"],
        "the makefile has no `check`, `test` or `tests` target"
    );
    assert!(
        project
            .join("build/archway")
            .read_dir()
            .expect("build directory")
            .next()
            .is_some(),
        "the project was built"
    );
    // Without `--json`, the summary line says it too.
    let again = archway().arg("test").arg("-C").arg(&project).run();
    again.assert_code(0);
    assert!(
        again.stderr.contains("built (no test suite to run) for `"),
        "{}",
        again.stderr
    );
}

/// A CMake project whose tests are its own `test` target (yajl's layout): `ctest` alone finds
/// none and exits 0; archway runs the target, as debhelper's `make test` does, and its failure
/// fails the run.
#[test]
fn a_cmake_project_test_target_runs_when_ctest_has_no_tests() {
    let command = archway();
    let project = command.work_dir().join("custom");
    fs::create_dir_all(&project).expect("project directory");
    fs::write(
        project.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.13)\nproject(custom C)\n\
         add_executable(check_me check_me.c)\n\
         add_custom_target(test COMMAND check_me ${CMAKE_BINARY_DIR}/ran DEPENDS check_me)\n",
    )
    .expect("CMakeLists.txt");
    fs::write(
        project.join("check_me.c"),
        "#include <stdio.h>\n#include <stdlib.h>\n\
         int main(int argc, char **argv) {\n\
           FILE *f = fopen(argv[1], \"w\"); if (!f) return 2; fputs(\"ran\\n\", f); fclose(f);\n\
           return getenv(\"CHECK_ME_FAIL\") ? 1 : 0;\n}\n",
    )
    .expect("check_me.c");
    let output = command.args(["test", "--json", "-C", "custom"]).run();
    output.assert_code(0);
    assert!(
        output
            .stderr
            .contains("ctest has no tests; running the project's `test` target"),
        "{}",
        output.stderr
    );
    let json: serde_json::Value = serde_json::from_str(&output.stdout).expect("json");
    assert_eq!(json["tested"], true, "{json}");
    let build = project.join("build/archway");
    let ran = fs::read_dir(&build)
        .expect("build directory")
        .flatten()
        .map(|entry| entry.path().join("ran"))
        .find(|path| path.exists());
    assert!(ran.is_some(), "the project's test target ran");

    // A failing target fails the test run (exit 1: the build failed).
    let failing = archway()
        .env("CHECK_ME_FAIL", "1")
        .args(["test", "-C"])
        .arg(&project)
        .run();
    assert_ne!(failing.code, Some(0), "{}", failing.stderr);
    assert!(
        failing.stderr.contains("--target test"),
        "{}",
        failing.stderr
    );
}

/// A CMake project without tests: no `add_test`, no `test` target. `ctest` would say "No tests
/// were found!!!" and exit 0; archway says there is no test suite instead of "passed".
#[test]
fn a_cmake_project_without_tests_is_not_reported_as_passed() {
    let command = archway();
    let project = command.work_dir().join("plain-cmake");
    fs::create_dir_all(&project).expect("project directory");
    fs::write(
        project.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.13)\nproject(plain C)\nenable_testing()\n\
         add_executable(hello hello.c)\n",
    )
    .expect("CMakeLists.txt");
    fs::write(project.join("hello.c"), "int main(void) { return 0; }\n").expect("hello.c");
    let output = command.args(["test", "--json", "-C", "plain-cmake"]).run();
    output.assert_code(0);
    let json: serde_json::Value = serde_json::from_str(&output.stdout).expect("json");
    assert_eq!(json["tested"], false, "{json}");
    assert_eq!(json["tests"]["status"], "none", "{json}");
    assert!(
        json["tests"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("no `add_test`")),
        "{json}"
    );
}

/// A CMake project copied with its build directory (`cp -a`, a moved checkout): CMake refuses
/// a cache made for other sources; archway configures afresh, saying why.
#[test]
fn a_copied_cmake_project_with_its_build_directory_configures_afresh() {
    let command = archway();
    let work = command.work_dir();
    let first = work.join("first");
    fs::create_dir_all(&first).expect("project directory");
    fs::write(
        first.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.13)\nproject(moved C)\nadd_executable(hello hello.c)\n",
    )
    .expect("CMakeLists.txt");
    fs::write(first.join("hello.c"), "int main(void) { return 0; }\n").expect("hello.c");
    // The output owns the temporary directory: kept until the end.
    let built = command.args(["build", "--no-cache", "-C", "first"]).run();
    built.assert_code(0);
    let second = work.join("second");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&first)
        .arg(&second)
        .status()
        .expect("cp");
    assert!(copied.success());
    let output = archway()
        .args(["build", "--no-cache", "-C"])
        .arg(&second)
        .run();
    output.assert_code(0);
    assert!(
        output.stderr.contains(&format!(
            "the build directory was configured for `{}`",
            first.display()
        )) && output.stderr.contains("configuring afresh"),
        "{}",
        output.stderr
    );
}

/// A test suite that writes into its own source tree (yajl's `run_tests.sh` writes
/// `cases/*.test` there): the sandbox keeps the project read-only, so archway builds again in
/// a writable copy under the build directory, and keeps building there; `--writable-source`
/// lets the steps write the project itself.
#[test]
fn a_test_suite_writing_into_its_source_tree_passes_in_a_writable_copy() {
    let command = archway();
    let project = command.work_dir().join("writes-source");
    fs::create_dir_all(&project).expect("project directory");
    fs::write(
        project.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.13)\nproject(writes C)\nadd_executable(writer writer.c)\n\
         add_custom_target(test COMMAND writer ${CMAKE_SOURCE_DIR}/result.test DEPENDS writer)\n",
    )
    .expect("CMakeLists.txt");
    fs::write(
        project.join("writer.c"),
        "#include <stdio.h>\nint main(int argc, char **argv) {\n\
           FILE *f = fopen(argv[1], \"w\"); if (!f) { perror(argv[1]); return 1; }\n\
           fputs(\"ran\\n\", f); return fclose(f) != 0;\n}\n",
    )
    .expect("writer.c");
    let first = command
        .args(["test", "--no-cache", "-C", "writes-source"])
        .run();
    first.assert_code(0);
    let build_dir = project.join("build/archway/x86_64-unknown-linux-gnu");
    let copy = build_dir.join(".archway/project");
    assert!(
        first.stderr.contains("Read-only file system")
            && first.stderr.contains(&format!(
                "it wrote into the project's source tree, which the sandbox keeps read-only; \
                 building again in a writable copy of it, `{}`",
                copy.display()
            )),
        "{}",
        first.stderr
    );
    // The build directory was emptied for the copy: nothing of another compiler's is in it.
    assert!(
        !first.stderr.contains("made by another method or compiler"),
        "{}",
        first.stderr
    );
    assert!(
        !project.join("result.test").exists(),
        "the project is untouched"
    );
    assert_eq!(
        fs::read_to_string(copy.join("result.test")).expect("written in the copy"),
        "ran\n"
    );
    assert!(
        build_dir.join("writer").is_file(),
        "built into the build directory"
    );

    // The next build goes to the copy at once, with the project's changes.
    let mut source = fs::read_to_string(project.join("writer.c")).expect("writer.c");
    source = source.replace("ran\\n", "ran again\\n");
    fs::write(project.join("writer.c"), source).expect("writer.c");
    let second = archway()
        .args(["test", "--no-cache", "-C"])
        .arg(&project)
        .run();
    second.assert_code(0);
    assert!(
        second
            .stderr
            .contains("building in the writable copy of the project")
            && !second.stderr.contains("Read-only file system"),
        "{}",
        second.stderr
    );
    assert_eq!(
        fs::read_to_string(copy.join("result.test")).expect("written in the copy"),
        "ran again\n"
    );

    // `--writable-source`: the project itself.
    let allowed = archway()
        .args(["test", "--no-cache", "--writable-source", "-C"])
        .arg(&project)
        .run();
    allowed.assert_code(0);
    assert_eq!(
        fs::read_to_string(project.join("result.test")).expect("written by the test suite"),
        "ran again\n"
    );
    drop(first);
}
