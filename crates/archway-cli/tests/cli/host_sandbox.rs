//! The cross and native methods' steps run in a bubblewrap sandbox over the host's system
//! (`archway::host_sandbox`): a Makefile that writes outside its build directory fails and
//! changes nothing, the steps are not root and have no network, `--no-sandbox` runs them on
//! the host and says so. Needs bwrap, make and cc (skipped outside CI without them).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::support::{self, archway};

fn prerequisites(extra: &[&str]) -> bool {
    for tool in ["bwrap", "make", "cc"].iter().chain(extra) {
        if !support::have_tool(tool) && support::skip_unless_ci(&format!("`{tool}` on PATH")) {
            return false;
        }
    }
    true
}

use archway_rootfs::running_as_root;

/// A plain Makefile project whose `all` runs `recipe` (one shell line).
fn makefile_project(directory: &Path, recipe: &str, check: &str) {
    fs::create_dir_all(directory).expect("project dir");
    fs::write(
        directory.join("Makefile"),
        format!("all:\n\t{recipe}\n\ncheck:\n\t{check}\n"),
    )
    .expect("Makefile");
}

fn native_build(command: support::Archway, project: &str) -> support::Archway {
    command.args([
        "build",
        "--target",
        "x86_64-linux",
        "--method",
        "native",
        "-C",
        project,
    ])
}

/// Places a hostile Makefile tries to write: the project itself, archway's `HOME`, `/etc`,
/// `/usr/local`, and root's own home.
const ESCAPES: [&str; 5] = ["project", "home", "etc", "usr-local", "root"];

fn escape_target(escape: &str, command: &support::Archway) -> PathBuf {
    let unique = format!("archway-host-sandbox-{}", std::process::id());
    match escape {
        "project" => command.work_dir().join("hostile").join(unique),
        "home" => command.home().join(unique),
        "etc" => Path::new("/etc").join(unique),
        "usr-local" => Path::new("/usr/local").join(unique),
        _ => Path::new("/root").join(unique),
    }
}

#[test]
fn a_makefile_that_writes_outside_the_build_directory_fails_and_changes_nothing() {
    if !prerequisites(&[]) {
        return;
    }
    for escape in ESCAPES {
        let command = archway();
        let target = escape_target(escape, &command);
        makefile_project(
            &command.work_dir().join("hostile"),
            &format!("@touch {} && echo wrote it", target.display()),
            "true",
        );
        let output = native_build(command, "hostile").run();
        assert!(
            output
                .stderr
                .contains(&format!("touch: cannot touch '{}'", target.display())),
            "{escape}: {}",
            output.stderr
        );
        assert!(!target.exists(), "`{}` was written", target.display());
        if escape == "project" {
            // Into its own source tree: archway builds again in a writable copy, where the
            // project's path is the sandbox's own empty directory (the build directory's
            // parents), gone with it.
            assert!(
                output.stderr.contains("building again in a writable copy"),
                "{escape}: {}",
                output.stderr
            );
            // The same compilers in the copy (only the project's path differs, which they
            // map away): the build directory is not said to be another compiler's.
            assert!(
                !output.stderr.contains("made by another method or compiler"),
                "{escape}: {}",
                output.stderr
            );
            assert_eq!(output.code, Some(0), "{escape}: {}", output.stderr);
            continue;
        }
        assert_eq!(
            output.code,
            Some(2),
            "{escape}: make fails: {}",
            output.stderr
        );
        assert!(
            output.stderr.contains("error: build step failed: `make"),
            "{escape}: {}",
            output.stderr
        );
        // Not the project's tree: nothing to build again.
        assert!(
            !output.stderr.contains("writable copy"),
            "{escape}: {}",
            output.stderr
        );
        assert!(!output.stderr.contains("wrote it"));
    }
}

#[test]
fn steps_are_not_root_have_no_network_and_own_their_build_directory() {
    if !prerequisites(&[]) {
        return;
    }
    let command = archway();
    let project = command.work_dir().join("facts");
    makefile_project(
        &project,
        "id -u > uid && cat /proc/net/dev > net && printf 'int main(void){return 0;}' > main.c \
         && $(CC) -o main main.c",
        "./main",
    );
    let output = command
        .args([
            "test",
            "--target",
            "x86_64-linux",
            "--method",
            "native",
            "-C",
            "facts",
            "--json",
            "--explain",
        ])
        .run();
    output.assert_code(0);
    let build = project.join("build/archway/x86_64-unknown-linux-gnu");
    let uid: u32 = fs::read_to_string(build.join("uid"))
        .expect("uid")
        .trim()
        .parse()
        .expect("a number");
    let expected = if running_as_root() {
        archway_rootfs::SANDBOX_ID
    } else {
        // This process's own user: the owner of what it created.
        fs::metadata(output.temp()).expect("temp dir").uid()
    };
    assert_eq!(uid, expected, "`id -u` in a build step");
    assert_ne!(fs::metadata(build.join("main")).expect("main").uid(), 0);
    assert_eq!(
        fs::metadata(build.join("main")).expect("main").uid(),
        expected
    );
    let interfaces: Vec<String> = fs::read_to_string(build.join("net"))
        .expect("net")
        .lines()
        .filter_map(|line| {
            line.split_once(':')
                .map(|(name, _)| name.trim().to_string())
        })
        .collect();
    assert_eq!(interfaces, ["lo"], "only the sandbox's own loopback");
    let outcome: serde_json::Value = serde_json::from_str(&output.stdout).expect("JSON outcome");
    let runs_in = outcome["runs_in"].as_str().expect("runs_in");
    assert!(
        runs_in.starts_with("bubblewrap over the host's system, as "),
        "{runs_in}"
    );
    assert!(
        output.stderr.contains(&format!("running in: {runs_in}")),
        "--explain says it: {}",
        output.stderr
    );
    if running_as_root() {
        assert_eq!(
            runs_in,
            "bubblewrap over the host's system, as `nobody` (uid 65534), not root"
        );
    }
}

#[test]
fn a_cross_build_runs_sandboxed_and_its_tests_run_under_qemu() {
    if !prerequisites(&["aarch64-linux-gnu-gcc", "qemu-aarch64-static"]) {
        return;
    }
    let command = archway();
    let project = command.work_dir().join("cross");
    makefile_project(
        &project,
        "id -u > uid && printf 'int main(void){return 0;}' > main.c && $(CC) -o main main.c",
        "./main && echo ran-the-aarch64-program",
    );
    let output = command
        .args([
            "test", "--target", "aarch64", "--method", "cross", "-C", "cross",
        ])
        .run();
    output.assert_code(0);
    assert!(
        output.stderr.contains("ran-the-aarch64-program"),
        "{}",
        output.stderr
    );
    let build = project.join("build/archway/aarch64-unknown-linux-gnu");
    let uid = fs::read_to_string(build.join("uid")).expect("uid");
    assert_ne!(uid.trim(), "0");
    assert_eq!(
        output.stdout,
        "main\texecutable\taarch64-unknown-linux-gnu\n"
    );
}

#[test]
fn no_sandbox_runs_the_steps_on_the_host_and_says_so() {
    if !prerequisites(&[]) {
        return;
    }
    let command = archway();
    let outside = command.temp().join("outside");
    makefile_project(
        &command.work_dir().join("trusted"),
        &format!("touch {}", outside.display()),
        "true",
    );
    let output = native_build(command, "trusted")
        .args(["--no-sandbox", "--json"])
        .run();
    output.assert_code(0);
    let outcome: serde_json::Value = serde_json::from_str(&output.stdout).expect("JSON outcome");
    assert_eq!(outcome["runs_in"], "the host itself, unsandboxed");
    assert!(outside.exists(), "the step ran on the host");
    assert!(
        output.stderr.contains(
            "warning: --no-sandbox: the project's configure, build and test steps run directly \
             on the host"
        ),
        "{}",
        output.stderr
    );
}

#[test]
fn a_users_own_command_may_write_into_the_project() {
    if !prerequisites(&[]) {
        return;
    }
    let command = archway();
    makefile_project(&command.work_dir().join("tree"), "true", "true");
    let output = native_build(command, "tree")
        .args(["--", "sh", "-c", "touch built-in-the-tree"])
        .run();
    output.assert_code(0);
    assert!(output.temp().join("work/tree/built-in-the-tree").exists());
}

/// As root over a user's project, a step that may write the project runs as that user: root of
/// a user namespace would still own, and so read, the host's root-only files (`/etc/shadow`).
#[test]
fn as_root_a_writable_project_of_a_user_runs_as_that_user() {
    if !prerequisites(&[]) {
        return;
    }
    if !running_as_root() {
        support::skip_unless_ci("needs root (a project of another user)");
        return;
    }
    const OWNER: u32 = 65533;
    let command = archway();
    let tree = command.work_dir().join("users-tree");
    makefile_project(&tree, "true", "true");
    // The user can reach their project (the temporary directory is root's, 0700).
    for directory in [command.temp().to_path_buf(), command.work_dir()] {
        fs::set_permissions(
            &directory,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
    }
    let chowned = std::process::Command::new("chown")
        .args(["-R", &format!("{OWNER}:{OWNER}")])
        .arg(&tree)
        .status()
        .expect("chown");
    assert!(chowned.success());
    let output = native_build(command, "users-tree")
        .args([
            "--",
            "sh",
            "-c",
            "id -u > uid; cat /etc/shadow > leaked 2>/dev/null; true",
        ])
        .run();
    output.assert_code(0);
    let tree = output.temp().join("work/users-tree");
    let uid = fs::read_to_string(tree.join("uid")).expect("uid written into the project");
    assert_eq!(uid.trim(), OWNER.to_string());
    assert_eq!(
        fs::metadata(tree.join("leaked")).expect("leaked").len(),
        0,
        "/etc/shadow was readable"
    );
}

/// A directory for `PATH` with links to `tools` (from /usr/bin or /bin) and nothing else.
fn path_of(command: &support::Archway, tools: &[&str]) -> Option<std::path::PathBuf> {
    let bin = command.temp().join("bin");
    fs::create_dir_all(&bin).expect("bin");
    for tool in tools {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|directory| Path::new(directory).join(tool))
            .find(|path| path.is_file())?;
        std::os::unix::fs::symlink(found, bin.join(tool)).expect("symlink a tool");
    }
    Some(bin)
}

#[test]
fn without_bwrap_the_build_says_what_to_install() {
    let command = archway();
    makefile_project(&command.work_dir().join("plain"), "true", "true");
    // A PATH with make (the build system's driver) and nothing else: bwrap is missing, and
    // so are the tools that, as root, make the sandbox's user namespace before bwrap starts
    // (`setpriv`, `unshare`, `sh`); bwrap is what the error names.
    let Some(bin) = path_of(&command, &["make"]) else {
        support::skip_unless_ci("`make` in /usr/bin");
        return;
    };
    let output = native_build(command.env("PATH", &bin), "plain").run();
    output.assert_code(1);
    assert!(
        output.stderr.contains(
            "error: `bwrap` is not installed\nhint: run `apt-get install bubblewrap` as root"
        ),
        "{}",
        output.stderr
    );
}

#[test]
fn the_sandbox_finds_the_base_systems_tools_without_path() {
    if !prerequisites(&[]) {
        return;
    }
    let command = archway();
    // `;`: make runs the line with `/bin/sh`, whose `:` needs nothing from `PATH`.
    makefile_project(&command.work_dir().join("plain"), ":;", ":;");
    // `PATH` has only the build's driver and bwrap: as root, `setpriv`, `unshare` and `sh`
    // (Essential in Debian) come from the system's directories.
    let Some(bin) = path_of(&command, &["make", "bwrap"]) else {
        support::skip_unless_ci("`make` and `bwrap` in /usr/bin");
        return;
    };
    let output = native_build(command.env("PATH", &bin), "plain").run();
    output.assert_code(0);
}

/// Builds in a chroot: a directory (no mount point) holding every top-level directory of the
/// host, bound in a private mount namespace that ends with the test. The kernel refuses a
/// chrooted process a user namespace, so the sandbox cannot start, and the error says why.
#[test]
fn in_a_chroot_the_sandbox_that_cannot_start_says_so() {
    if !prerequisites(&["unshare", "chroot"]) {
        return;
    }
    if !running_as_root() {
        support::skip_unless_ci("a chroot needs root");
        return;
    }
    let command = archway();
    makefile_project(&command.work_dir().join("plain"), "touch built", "true");
    let new_root = command.temp().join("new-root");
    fs::create_dir_all(&new_root).expect("new root");
    let script = r#"
        set -e
        new=$1; shift
        for entry in /*; do
            name=${entry#/}
            if [ -L "$entry" ]; then
                ln -s "$(readlink "$entry")" "$new/$name"
            elif [ -d "$entry" ]; then
                mkdir -p "$new/$name"
                mount --rbind "$entry" "$new/$name"
            fi
        done
        exec chroot "$new" sh -c 'cd "$0" && exec "$@"' "$PWD" "$@"
    "#;
    let output = native_build(command, "plain")
        .under(&[
            "unshare".as_ref(),
            "--mount".as_ref(),
            "--propagation".as_ref(),
            "private".as_ref(),
            "--".as_ref(),
            "sh".as_ref(),
            "-c".as_ref(),
            script.as_ref(),
            "sh".as_ref(),
            new_root.as_os_str(),
        ])
        .run();
    output.assert_code(1);
    assert!(
        output.stderr.contains(
            "error: the build sandbox (bubblewrap) cannot start on this host: unshare: unshare \
             failed: Operation not permitted\nhint: archway runs in a chroot, where the kernel \
             refuses the sandbox its user namespace"
        ),
        "{}",
        output.stderr
    );
    assert!(!output
        .temp()
        .join("work/plain/build/archway/x86_64-unknown-linux-gnu/built")
        .exists());
    // Nothing stays bound: the mount namespace ended with the command.
    assert!(new_root.join("usr").is_dir() && !new_root.join("etc/os-release").exists());
}

/// A seccomp filter as Docker's default profile has for a container without `CAP_SYS_ADMIN`:
/// `unshare` and `clone` with `CLONE_NEWUSER` get EPERM, `clone3` ENOSYS (so that libc falls
/// back to `clone`). Runs its arguments under it.
const DOCKERS_SECCOMP: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

int main(int argc, char **argv) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {
        .len = sizeof filter / sizeof filter[0],
        .filter = filter,
    };
    if (argc < 2 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
        perror("seccomp");
        return 125;
    }
    execvp(argv[1], argv + 1);
    perror(argv[1]);
    return 127;
}
"#;

/// Under a seccomp filter like a Docker container's, the sandbox cannot start, and the error
/// names the filter and the container options that lift it.
#[test]
fn under_a_containers_seccomp_filter_the_sandbox_that_cannot_start_says_so() {
    if !prerequisites(&[]) {
        return;
    }
    let command = archway();
    makefile_project(&command.work_dir().join("plain"), "touch built", "true");
    let source = command.temp().join("seccomp.c");
    let filter = command.temp().join("seccomp");
    fs::write(&source, DOCKERS_SECCOMP).expect("seccomp.c");
    let compiled = std::process::Command::new("cc")
        .arg("-o")
        .arg(&filter)
        .arg(&source)
        .output()
        .expect("cc");
    assert!(
        compiled.status.success(),
        "{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let output = native_build(command, "plain")
        .under(&[filter.as_os_str()])
        .run();
    output.assert_code(1);
    assert!(
        output.stderr.contains(
            "error: the build sandbox (bubblewrap) cannot start on this host: "
        ) && output.stderr.contains(
            "hint: a seccomp filter is on archway's process (`Seccomp: 2` in /proc/self/status)"
        ) && output
            .stderr
            .contains("`--security-opt seccomp=unconfined --security-opt apparmor=unconfined`"),
        "{}",
        output.stderr
    );
    assert!(!output
        .temp()
        .join("work/plain/build/archway/x86_64-unknown-linux-gnu/built")
        .exists());
}

#[test]
fn a_sandbox_that_cannot_start_is_one_error_with_a_hint() {
    if !prerequisites(&[]) {
        return;
    }
    let command = archway();
    makefile_project(&command.work_dir().join("plain"), "touch built", "true");
    // bwrap as a kernel without user namespaces for users answers it (bubblewrap.c).
    let bin = command.temp().join("bin");
    fs::create_dir_all(&bin).expect("bin");
    let fake = bin.join("bwrap");
    fs::write(
        &fake,
        "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n",
    )
    .expect("fake bwrap");
    fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let output = native_build(command.env("PATH", path), "plain").run();
    output.assert_code(1);
    assert!(
        output.stderr.contains(
            "error: the build sandbox (bubblewrap) cannot start on this host: setting up uid \
             map: Permission denied\nhint: "
        ),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("`--no-sandbox`"),
        "{}",
        output.stderr
    );
    assert!(!output
        .temp()
        .join("work/plain/build/archway/x86_64-unknown-linux-gnu/built")
        .exists());
}

#[test]
fn a_cross_build_hides_the_hosts_valgrind_which_cannot_run_target_programs() {
    // json-c's and sed's test suites use valgrind whenever it is on PATH and then fail on
    // every target program; a Debian cross build has none. A native build keeps it.
    if !prerequisites(&["valgrind", "aarch64-linux-gnu-gcc"]) {
        return;
    }
    let probe = "if command -v valgrind >/dev/null; then echo valgrind-usable; \
                 else echo valgrind-hidden; fi";
    let command = archway();
    makefile_project(&command.work_dir().join("tools"), probe, "true");
    let output = command
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .args(["build", "--target", "aarch64-multiplatform", "-C", "tools"])
        .run();
    output.assert_code(0);
    let stderr = output.filtered(&output.stderr);
    assert!(stderr.contains("\nvalgrind-hidden\n"), "{stderr}");
    assert!(
        stderr.contains("hidden from the steps: the host's `/usr/bin/valgrind.bin`")
            || stderr.contains("hidden from the steps: the host's `/usr/bin/valgrind`"),
        "{stderr}"
    );
    // The host's file is as it was.
    assert!(Path::new("/usr/bin/valgrind").is_file());

    let command = archway();
    makefile_project(&command.work_dir().join("tools"), probe, "true");
    let output = native_build(command, "tools")
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .run();
    output.assert_code(0);
    let stderr = output.filtered(&output.stderr);
    assert!(stderr.contains("\nvalgrind-usable\n"), "{stderr}");
    assert!(!stderr.contains("hidden from the steps"), "{stderr}");
}

#[test]
fn a_cross_build_sees_the_sysroot_where_debian_multiarch_puts_it() {
    // Tcl's /usr/lib/tclConfig.sh sources /usr/lib/<multiarch>/tcl8.6/tclConfig.sh, and
    // `*-config` scripts name `-L/usr/lib/<multiarch>`: in a Debian cross build the target's
    // `-dev` packages are installed there. Through `-L/usr/lib/aarch64-linux-gnu`, ld takes
    // the C library's linker script from there, outside `--sysroot`, so its
    // `/lib/ld-linux-aarch64.so.1` must be there too. The host's own libraries stay.
    if !prerequisites(&["aarch64-linux-gnu-gcc"]) {
        return;
    }
    let command = archway().real_cache();
    let project = command.work_dir().join("multiarch");
    makefile_project(
        &project,
        "$(CC) -o zversion zversion.c -L/usr/lib/aarch64-linux-gnu -lz \
         && test -e /usr/lib/ld-linux-aarch64.so.1 && test -d /usr/include/aarch64-linux-gnu/bits \
         && test -e /usr/lib/x86_64-linux-gnu/libc.so.6 && echo multiarch-view",
        "./zversion",
    );
    fs::write(
        project.join("zversion.c"),
        "#include <stdio.h>\n#include <zlib.h>\n\
         int main(void) { printf(\"zlib %s\\n\", zlibVersion()); return 0; }\n",
    )
    .expect("zversion.c");
    fs::write(
        project.join("archway.toml"),
        "[build]\nsysroot-packages = [\"zlib1g-dev\"]\n",
    )
    .expect("archway.toml");
    let output = command
        .args([
            "test",
            "--target",
            "aarch64",
            "--method",
            "cross",
            "-C",
            "multiarch",
        ])
        .run();
    output.assert_code(0);
    assert!(
        output.stderr.contains("\nmultiarch-view\n"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("\nzlib 1."), "{}", output.stderr);
    // Only the sandbox shows it: the host's own directory has no arm64 zlib.
    assert!(
        !Path::new("/usr/lib/aarch64-linux-gnu/libz.so").exists()
            || Path::new("/var/lib/dpkg/info/zlib1g-dev:arm64.list").exists()
    );
}

#[test]
fn a_cross_build_keeps_its_sysroot_when_another_archway_adds_packages_meanwhile() {
    // Adding packages replaces the sysroot's tree (RENAME_EXCHANGE, the old tree removed). A
    // step that had the old tree bound lost its libraries midway (the corpus' i386 tests:
    // "cannot execute: required file not found"); the view links to the sysroot's path.
    // A private cache, so that the second package really replaces the tree on every run.
    if !prerequisites(&["aarch64-linux-gnu-gcc"]) {
        return;
    }
    let command = archway();
    let temp = command.temp().to_path_buf();
    let project = command.work_dir().join("replaced");
    let out = command.work_dir().join("out");
    let (waiting, ready) = (out.join("waiting"), out.join("ready"));
    makefile_project(
        &project,
        &format!(
            "touch {waiting} && i=0; while [ ! -e {ready} ] && [ $$i -lt 600 ]; do \
             sleep 0.2; i=$$((i+1)); done; test -e /usr/lib/aarch64-linux-gnu/libz.so.1 \
             && test -e /usr/lib/aarch64-linux-gnu/libogg.so.0 && echo view-follows-the-sysroot",
            waiting = waiting.display(),
            ready = ready.display()
        ),
        "true",
    );
    fs::write(
        project.join("archway.toml"),
        "[build]\nsysroot-packages = [\"zlib1g-dev\"]\n",
    )
    .expect("archway.toml");
    let mut build = command
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .args([
            "build", "--target", "aarch64", "--method", "cross", "-C", "replaced",
        ])
        .args(["--build-dir", "out"])
        .spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while !waiting.exists() {
        assert!(!build.has_ended(), "{}", build.stderr());
        assert!(std::time::Instant::now() < deadline, "{}", build.stderr());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let sysroot = support::again_in(&temp)
        .args(["sysroot", "path", "--target", "aarch64"])
        .run();
    sysroot.assert_code(0);
    let tree = PathBuf::from(sysroot.stdout.trim());
    let before = fs::metadata(&tree).expect("the sysroot tree").ino();
    support::again_in(&temp)
        .args(["sysroot", "add", "--target", "aarch64", "libogg-dev"])
        .run()
        .assert_code(0);
    let after = fs::metadata(&tree).expect("the sysroot tree").ino();
    assert_ne!(before, after, "adding a package replaces the tree");
    fs::write(&ready, "").expect("ready");
    let code = build
        .wait_for(std::time::Duration::from_secs(300))
        .expect("the build ends");
    let stderr = build.stderr();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("\nview-follows-the-sysroot\n"), "{stderr}");
}

#[test]
fn a_cross_build_that_writes_its_source_tree_moves_to_a_copy_with_the_same_compilers() {
    if !prerequisites(&["aarch64-linux-gnu-gcc"]) {
        return;
    }
    let command = archway();
    let project = command.work_dir().join("writer");
    makefile_project(
        &project,
        &format!("@touch {}", project.join("written").display()),
        "true",
    );
    let output = command
        .args([
            "build",
            "--target",
            "arm64",
            "--method",
            "cross",
            "--no-cache",
            "-C",
        ])
        .arg(&project)
        .run();
    output.assert_code(0);
    assert!(
        output.stderr.contains("building again in a writable copy"),
        "{}",
        output.stderr
    );
    // The cross compilers' flags name the project's path (`-ffile-prefix-map`), which differs
    // in the copy; they are the same compilers, so the build directory is not said to be
    // another's (it was emptied for the copy already).
    assert!(
        !output.stderr.contains("made by another method or compiler"),
        "{}",
        output.stderr
    );
    assert!(
        !project.join("written").exists(),
        "the project is untouched"
    );
}
