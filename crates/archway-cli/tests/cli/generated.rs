//! Shell completions and the man page come from the same clap definitions as the parser.

use crate::support::archway;

#[test]
fn completions_cover_every_subcommand_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = archway().args(["completions", shell]).run();
        output.assert_code(0);
        for subcommand in [
            "platform",
            "inspect",
            "binfmt",
            "toolchain",
            "sysroot",
            "build",
            "rootfs",
            "config",
        ] {
            assert!(
                output.stdout.contains(subcommand),
                "{shell} completions lack `{subcommand}`"
            );
        }
    }
}

#[test]
fn completions_reject_an_unknown_shell_as_a_user_error() {
    let output = archway().args(["completions", "tcsh"]).run();
    output.assert_code(1);
    assert!(
        output.stderr.contains("invalid value 'tcsh'"),
        "{}",
        output.stderr
    );
}

#[test]
fn man_page_renders_roff_with_every_subcommand() {
    let output = archway().arg("man").run();
    output.assert_code(0);
    assert!(
        output.stdout.starts_with(".ie") || output.stdout.contains(".TH archway"),
        "{}",
        output.stdout
    );
    for subcommand in ["binfmt", "rootfs", "toolchain"] {
        assert!(
            output.stdout.contains(subcommand),
            "man page lacks `{subcommand}`"
        );
    }
}

#[test]
fn man_writes_one_page_per_subcommand() {
    let run = archway();
    let out = run.temp().join("man");
    let output = run.args(["man", "--out"]).arg(&out).run();
    output.assert_code(0);
    for page in [
        "archway.1",
        "archway-build.1",
        "archway-binfmt.1",
        "archway-binfmt-install.1",
    ] {
        let text =
            std::fs::read_to_string(out.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is not a man page");
    }
}

#[test]
fn help_and_version_succeed_on_stdout() {
    let output = archway().arg("--help").run();
    output.assert_code(0);
    assert!(output.stdout.contains("Usage: archway"));
    let output = archway().arg("--version").run();
    output.assert_code(0);
    assert!(output.stdout.starts_with("archway "));
}
