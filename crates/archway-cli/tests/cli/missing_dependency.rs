//! A build that fails for a missing build dependency names the Debian package that ships it,
//! and builds once that package is in the sysroot.

use std::fs;
use std::path::Path;

use crate::support::{self, archway};

/// A C program that includes `<curses.h>` and links `-lncurses` (as `sl` does).
fn curses_project(dir: &Path) {
    fs::create_dir_all(dir).expect("project directory");
    fs::write(
        dir.join("hello.c"),
        "#include <curses.h>\nint main(void) { initscr(); endwin(); return 0; }\n",
    )
    .expect("hello.c");
    fs::write(
        dir.join("Makefile"),
        "hello: hello.c\n\t$(CC) $(CFLAGS) -o hello hello.c $(LDFLAGS) -lncurses\n",
    )
    .expect("Makefile");
}

#[test]
fn a_missing_library_names_its_debian_package_and_the_sysroot_package_fixes_it() {
    if !support::have_tool("aarch64-linux-gnu-gcc")
        && support::skip_unless_ci("`aarch64-linux-gnu-gcc` on PATH")
    {
        return;
    }
    // No sysroot (a fresh cache): the cross toolchain alone has no ncurses for arm64. Debian's
    // Contents index is shared with the machine's cache, so that a warm run downloads nothing.
    let command = archway();
    let contents = support::real_cache_dir().join("contents");
    fs::create_dir_all(&contents).expect("contents directory");
    let cache = command.home().join(".cache/archway");
    fs::create_dir_all(&cache).expect("cache directory");
    std::os::unix::fs::symlink(&contents, cache.join("contents")).expect("symlink");
    let project = command.work_dir().join("hello");
    curses_project(&project);
    let output = command
        .args([
            "build", "--target", "arm64", "--method", "cross", "-C", "hello",
        ])
        .run();
    assert_ne!(output.code, Some(0), "{}", output.snapshot());
    assert!(
        output
            .stderr
            .contains("is missing: Debian's `libncurses-dev` ships it for arm64"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains(
            "hint: add it to the sysroot with `archway sysroot add --target \
             aarch64-unknown-linux-gnu libncurses-dev`"
        ),
        "{}",
        output.stderr
    );
    // The compiler's own error still reached the terminal.
    assert!(output.stderr.contains("-lncurses"), "{}", output.stderr);

    // With the package the hint names, in the sysroot of the machine's cache.
    let command = archway().real_cache();
    let project = command.work_dir().join("hello");
    curses_project(&project);
    fs::write(
        project.join("archway.toml"),
        "[build]\nsysroot-packages = [\"libncurses-dev\"]\n",
    )
    .expect("archway.toml");
    let output = command
        .args([
            "build", "--target", "arm64", "--method", "cross", "-C", "hello",
        ])
        .run();
    output.assert_code(0);
    assert!(output.stdout.contains("hello"), "{}", output.snapshot());
}

/// A build tool the project runs and the host lacks (giflib's documentation runs `xmlto`):
/// the host's package, even in a cross build.
#[test]
fn a_missing_build_tool_names_the_hosts_package() {
    if !support::have_tool("aarch64-linux-gnu-gcc")
        && support::skip_unless_ci("`aarch64-linux-gnu-gcc` on PATH")
    {
        return;
    }
    // `gperf`: in Debian's archive, and on no machine these tests need (a program behind
    // an alternative, as `figlet` is, is not in the Contents index by that name).
    if support::have_tool("gperf") && support::skip_unless_ci("`gperf` is not installed") {
        return;
    }
    let command = archway();
    let contents = support::real_cache_dir().join("contents");
    fs::create_dir_all(&contents).expect("contents directory");
    let cache = command.home().join(".cache/archway");
    fs::create_dir_all(&cache).expect("cache directory");
    std::os::unix::fs::symlink(&contents, cache.join("contents")).expect("symlink");
    let project = command.work_dir().join("banner");
    fs::create_dir_all(&project).expect("project directory");
    fs::write(
        project.join("Makefile"),
        "banner.txt:\n\tgperf --version > banner.txt\n",
    )
    .expect("Makefile");
    let output = command
        .args([
            "build", "--target", "arm64", "--method", "cross", "-C", "banner",
        ])
        .run();
    assert_ne!(output.code, Some(0), "{}", output.snapshot());
    assert!(
        output
            .stderr
            .contains("error: the program `gperf` is not installed: Debian's `gperf` ships it"),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains("hint: run `apt-get install gperf` as root, then build again"),
        "{}",
        output.stderr
    );
}
