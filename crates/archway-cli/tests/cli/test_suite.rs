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
