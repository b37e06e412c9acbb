//! `archway sysroot`: hostile suites and package names are refused before anything touches the
//! cache or apt; with root and Debian's archive, a killed or disk-starved `add` leaves the
//! previous tree and the next run repairs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{self, archway};

const HOSTILE_SUITES: &[&str] = &[
    "../../decoy",
    "/abs",
    "-o=Dir::Bin::dpkg=./x",
    "a b",
    "",
    "$(id)",
    "sid",
];
const HOSTILE_PACKAGES: &[&str] = &[
    "-o=Dir::Bin::dpkg=./x",
    "--option",
    "../x",
    "/abs",
    "a b",
    "",
    "$(id)",
];

#[test]
fn hostile_suites_are_refused_and_nothing_outside_the_cache_is_removed() {
    for suite in HOSTILE_SUITES {
        for command in ["add", "remove", "path", "verify"] {
            let run = archway();
            let cache = run.temp().join("cache");
            // What `<cache>/sysroots/<suite>-arm64` named before suites were checked.
            let decoy = run.temp().join("decoy-arm64");
            std::fs::create_dir_all(cache.join("sysroots")).expect("mkdir");
            std::fs::create_dir_all(&decoy).expect("mkdir");
            let output = run
                .env("ARCHWAY_CACHE_DIR", &cache)
                .args(["sysroot", command, "--target", "aarch64"])
                .arg(format!("--suite={suite}"))
                .run();
            output.assert_code(1);
            assert!(
                output.stderr.contains("error: unknown Debian suite"),
                "{command} --suite {suite:?}: {}",
                output.snapshot()
            );
            assert!(
                decoy.is_dir(),
                "{command} --suite {suite:?} removed the decoy"
            );
            assert!(
                !cache.join("sysroots").read_dir().expect("ls").any(|_| true),
                "{command} --suite {suite:?} wrote into the cache"
            );
        }
    }
    let output = archway()
        .args([
            "sysroot",
            "remove",
            "--target",
            "aarch64",
            "--suite",
            "../../../decoy",
        ])
        .run();
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn hostile_package_names_are_refused_before_apt_runs() {
    for package in HOSTILE_PACKAGES {
        let run = archway();
        let cache = run.temp().join("cache");
        let output = run
            .env("ARCHWAY_CACHE_DIR", &cache)
            .args(["sysroot", "add", "--target", "aarch64", "--", package])
            .run();
        output.assert_code(1);
        assert!(
            output.stderr.contains("is not a Debian package name"),
            "{package:?}: {}",
            output.snapshot()
        );
        assert!(!cache.exists(), "{package:?}: the cache was touched");
    }
    let output = archway()
        .args([
            "sysroot",
            "add",
            "--target",
            "aarch64",
            "--",
            "-o=Dir::Bin::dpkg=./x",
        ])
        .run();
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn hostile_package_names_in_archway_toml_are_refused_with_their_line() {
    for key in ["sysroot-packages", "rootfs-packages"] {
        for package in HOSTILE_PACKAGES {
            let run = archway();
            let project = run.work_dir();
            let quoted = package.replace('\\', "\\\\").replace('"', "\\\"");
            std::fs::write(
                project.join("archway.toml"),
                format!("[build]\n{key} = [\"zlib1g-dev\", \"{quoted}\"]\n"),
            )
            .expect("write archway.toml");
            let output = run.args(["config", "show"]).run();
            output.assert_code(1);
            assert!(
                output.stderr.contains("archway.toml:2:")
                    && output.stderr.contains(&format!("invalid `{key}` value"))
                    && output.stderr.contains("expected Debian package names"),
                "{key} = {package:?}: {}",
                output.snapshot()
            );
        }
    }
    let run = archway();
    std::fs::write(
        run.work_dir().join("archway.toml"),
        "[build]\nsysroot-packages = [\"-o=Dir::Bin::dpkg=./x\"]\n",
    )
    .expect("write archway.toml");
    insta::assert_snapshot!(run.args(["config", "show"]).run().snapshot());
}

/// Root (for the tmpfs and for dpkg-deb to keep file owners) and Debian's tools; outside CI a
/// machine without them skips, loudly.
fn can_fill_sysroots() -> bool {
    let uid = Command::new("id").arg("-u").output().expect("running id");
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return !support::skip_unless_ci("filling sysroots in these tests needs root");
    }
    for tool in ["apt-get", "dpkg-deb"] {
        if !support::have_tool(tool) {
            return !support::skip_unless_ci(&format!("`{tool}` is not installed"));
        }
    }
    true
}

/// `archway` with the cache at `cache`, outside the hermetic harness (the tests below need
/// to kill it and to reuse one cache across runs).
fn command(cache: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_archway"));
    command
        .args(args)
        .env("ARCHWAY_CACHE_DIR", cache)
        .env("NO_COLOR", "1")
        .env_remove("ARCHWAY_LOG")
        .stdin(Stdio::null());
    command
}

fn run(cache: &Path, args: &[&str]) -> (bool, String) {
    let output = command(cache, args).output().expect("running archway");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), stderr)
}

#[track_caller]
fn assert_verified(cache: &Path, context: &str) {
    let (ok, stderr) = run(cache, &["sysroot", "verify", "--target", "aarch64"]);
    assert!(ok && stderr.contains("is intact"), "{context}: {stderr}");
    let directory = cache.join("sysroots/bookworm-arm64");
    assert!(
        !directory.join("staging").exists(),
        "{context}: staging left"
    );
    assert!(
        !directory.join("unpacking").exists(),
        "{context}: unpacking left"
    );
}

/// A small seeded generator (xorshift64): the kill points differ per seed and are the same
/// on every run.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn a_killed_add_leaves_a_tree_the_next_add_completes() {
    if !can_fill_sysroots() {
        return;
    }
    let temporary = tempfile::tempdir().expect("temp dir");
    let cache = temporary.path().join("cache");
    // Small packages whose archives are not downloaded yet in each round, so every killed
    // run has resolving, downloading, unpacking and committing to be interrupted in.
    let extra = [
        "libzstd-dev",
        "liblz4-dev",
        "libbz2-dev",
        "liblzma-dev",
        "libffi-dev",
    ];
    for (round, seed) in [0x9e37_79b9_u64, 7, 1_000_003, 42, 0xdead_beef]
        .into_iter()
        .enumerate()
    {
        let mut state = seed;
        // 0-3 s: the first round (no package lists yet) mostly dies in `apt-get update` or the
        // first download, later ones (0-1.5 s) anywhere from resolving to the exchange of the
        // trees.
        let range = if round == 0 { 3000 } else { 1500 };
        let delay = Duration::from_millis(next(&mut state) % range);
        let packages = ["zlib1g-dev", extra[round]];
        let mut args = vec!["sysroot", "add", "--target", "aarch64", "--"];
        args.extend(packages);
        // Its own process group, killed whole: what a terminal's ^\ or a CI timeout does
        // (apt-get and dpkg-deb die with it instead of holding apt's locks).
        let mut child = {
            use std::os::unix::process::CommandExt as _;
            command(&cache, &args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("spawning archway")
        };
        std::thread::sleep(delay);
        let group = format!("-{}", child.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .expect("running kill");
        assert!(killed.success() || child.try_wait().is_ok_and(|done| done.is_some()));
        let _ = child.wait();
        let staged = cache.join("sysroots/bookworm-arm64/staging").exists();
        let context = format!(
            "round {round}, seed {seed:#x}, killed after {delay:?} (staging left: {staged})"
        );
        let (ok, stderr) = run(&cache, &args);
        assert!(ok, "{context}: the next add failed: {stderr}");
        eprintln!("{context}: the next add said:\n{stderr}");
        assert_verified(&cache, &context);
        let listing = command(&cache, &["sysroot", "list", "--json"])
            .output()
            .expect("list");
        let listing = String::from_utf8_lossy(&listing.stdout);
        assert!(listing.contains(extra[round]), "{context}: {listing}");
    }
}

/// A tmpfs mounted on a private directory, unmounted (lazily, so a leftover process cannot
/// keep it) when dropped, also when the test fails.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: PathBuf, size: &str) -> Tmpfs {
        std::fs::create_dir_all(&path).expect("mkdir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("running mount");
        assert!(status.success(), "mount -t tmpfs failed");
        Tmpfs { path }
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.path)
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "remounting the tmpfs with size={size} failed"
        );
    }

    /// Bytes in use on the mount (`df --output=used`).
    fn used(&self) -> u64 {
        let output = Command::new("df")
            .args(["--block-size=1", "--output=used"])
            .arg(&self.path)
            .output()
            .expect("running df");
        let text = String::from_utf8_lossy(&output.stdout);
        let used = text
            .lines()
            .nth(1)
            .and_then(|line| line.trim().parse().ok());
        used.expect("df prints the used bytes")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[test]
fn a_full_disk_fails_clearly_keeps_the_tree_and_the_next_add_succeeds() {
    if !can_fill_sysroots() {
        return;
    }
    let temporary = tempfile::tempdir().expect("temp dir");
    let cache = temporary.path().join("cache");
    let tmpfs = Tmpfs::mount(cache.clone(), "512m");
    let (ok, stderr) = run(
        &cache,
        &["sysroot", "add", "--target", "aarch64", "zlib1g-dev"],
    );
    assert!(ok, "the first add failed: {stderr}");
    // Room for libssl-dev's archive (about 2.4 MB) but not for its unpacked files (about
    // 13 MB): the disk fills while the new tree is built.
    let room = tmpfs.used() + 4 * 1024 * 1024;
    tmpfs.resize(&room.to_string());
    let (ok, stderr) = run(
        &cache,
        &["sysroot", "add", "--target", "aarch64", "libssl-dev"],
    );
    assert!(!ok, "the add succeeded on a full disk: {stderr}");
    eprintln!("the add on a full disk said:\n{stderr}");
    assert!(
        stderr.contains("no space left on the file system holding")
            && stderr.contains("hint: free space there"),
        "{stderr}"
    );
    assert_verified(&cache, "after the failed add");
    let listing = command(&cache, &["sysroot", "list"])
        .output()
        .expect("list");
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(!listing.contains("libssl-dev"), "{listing}");
    tmpfs.resize("512m");
    let (ok, stderr) = run(
        &cache,
        &["sysroot", "add", "--target", "aarch64", "libssl-dev"],
    );
    assert!(ok, "the add with room again failed: {stderr}");
    assert_verified(&cache, "after the add with room");
    assert!(cache
        .join("sysroots/bookworm-arm64/root/usr/include/openssl/ssl.h")
        .is_file());
    drop(tmpfs);
}

/// `sysroot prune` leaves the sysroot a cross build is using, and removes it once unused; a
/// build marks it used. (A sysroot of libc6-dev alone: apt fetches a few megabytes.)
#[test]
fn sysroot_prune_keeps_what_a_cross_build_holds_and_removes_what_is_unused() {
    if !can_fill_sysroots() {
        return;
    }
    if !support::have_tool("aarch64-linux-gnu-gcc")
        && support::skip_unless_ci("`aarch64-linux-gnu-gcc` on PATH (sysroot prune)")
    {
        return;
    }
    let command = archway();
    let cache = command.temp().join("cache");
    let in_cache = || archway().env("ARCHWAY_CACHE_DIR", &cache);
    in_cache()
        .args(["sysroot", "add", "--target", "arm64"])
        .run()
        .assert_code(0);
    let prune = |extra: &[&str]| support::pruned(&cache, "sysroot", "bookworm-arm64", extra);

    let project = command.work_dir().join("slow");
    let mut build = support::slow_build_started(&cache, &project, "cross");
    // While the build uses it: kept, whatever its age; a removal waits for the build.
    assert_eq!(
        prune(&["--unused-for", "0"]),
        (serde_json::json!(false), serde_json::json!("in use"))
    );
    let mut removal = in_cache()
        .args(["sysroot", "remove", "--target", "arm64"])
        .spawn();
    std::thread::sleep(Duration::from_millis(500));
    let (removed, present) = (
        removal.has_ended(),
        cache.join("sysroots/bookworm-arm64/root").is_dir(),
    );
    if !build.has_ended() {
        assert!(
            !removed && present,
            "the removal did not wait for the build: {}",
            removal.stderr()
        );
    }
    assert_eq!(build.wait_for(Duration::from_secs(300)), Ok(Some(0)));
    assert!(project
        .join("build/archway/aarch64-unknown-linux-gnu/built")
        .is_file());
    assert_eq!(removal.wait_for(Duration::from_secs(60)), Ok(Some(0)));
    assert!(!cache.join("sysroots/bookworm-arm64").exists());

    // Made again; the next build marks it used.
    in_cache()
        .args(["sysroot", "add", "--target", "arm64"])
        .run()
        .assert_code(0);
    assert_eq!(
        prune(&[]),
        (serde_json::json!(false), serde_json::json!("used recently"))
    );
    assert_eq!(
        prune(&["--unused-for", "0", "--dry-run"]),
        (serde_json::json!(true), serde_json::Value::Null)
    );
    assert!(cache
        .join("sysroots/bookworm-arm64/root/usr/include")
        .is_dir());
    let removed = in_cache()
        .args(["sysroot", "prune", "--unused-for", "0"])
        .run();
    removed.assert_code(0);
    assert!(
        removed.stderr.contains("removed bookworm-arm64 (")
            && removed.stderr.contains("removed 1 of 1 sysroots"),
        "{}",
        removed.stderr
    );
    assert!(!cache.join("sysroots/bookworm-arm64").exists());
}

/// A `configure` that looks for `zlib.h` as Autoconf's `AC_CHECK_HEADER` does (a conftest
/// compiled, its errors in `config.log`) and makes `Makefile` from `Makefile.in` with the
/// answer in `DEFS`, on which no object depends, as Autoconf's makefiles do.
const OPTIONAL_ZLIB_CONFIGURE: &str = r#"#!/bin/sh
printf '#include <zlib.h>\n' > conftest.c
if $CC $CPPFLAGS $CFLAGS -c conftest.c -o conftest.o 2>>config.log; then have=1; else have=0; fi
rm -f conftest.c conftest.o
echo "checking for zlib.h... $have"
sed "s/@HAVE_ZLIB@/$have/" "$(dirname "$0")/Makefile.in" > Makefile
"#;

/// Its `check` fails without zlib, as a test suite fails for a feature configure left out.
const OPTIONAL_ZLIB_MAKEFILE_IN: &str = "DEFS = -DHAVE_ZLIB=@HAVE_ZLIB@
hello: hello.o
\t$(CC) $(CFLAGS) -o hello hello.o $(LDFLAGS)
hello.o: hello.c
\t$(CC) $(CFLAGS) $(DEFS) -c hello.c
check: hello
\ttest '$(DEFS)' = -DHAVE_ZLIB=1
";

fn optional_zlib_project(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).expect("project directory");
    let configure = dir.join("configure");
    std::fs::write(&configure, OPTIONAL_ZLIB_CONFIGURE).expect("configure");
    std::fs::set_permissions(&configure, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(dir.join("Makefile.in"), OPTIONAL_ZLIB_MAKEFILE_IN).expect("Makefile.in");
    std::fs::write(
        dir.join("hello.c"),
        "#include <stdio.h>\n#if HAVE_ZLIB\nconst char answer[] = \"zlib: yes\";\n#else\n\
         const char answer[] = \"zlib: no\";\n#endif\nint main(void) { return puts(answer) < 0; }\n",
    )
    .expect("hello.c");
}

/// What the built program says of zlib (`zlib: yes`, `zlib: no`), read from its bytes.
fn found_zlib(build_dir: &Path) -> &'static str {
    let program = walk_for(build_dir, "hello").expect("the program in the build directory");
    let bytes = std::fs::read(program).expect("program");
    let has = |text: &[u8]| bytes.windows(text.len()).any(|window| window == text);
    match (has(b"zlib: yes"), has(b"zlib: no")) {
        (true, false) => "zlib: yes",
        (false, true) => "zlib: no",
        _ => "neither or both",
    }
}

fn walk_for(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|file| file == name) && path.is_file() {
            return Some(path);
        }
        if path.is_dir() {
            if let Some(found) = walk_for(&path, name) {
                return Some(found);
            }
        }
    }
    None
}

/// A test suite that fails for a feature configure left out: the hint names the file
/// configure missed and the package, and once it is in the sysroot the next build configures
/// afresh and passes, though configure's commands did not change.
#[test]
fn a_package_added_to_the_sysroot_makes_configure_run_again() {
    if !can_fill_sysroots() {
        return;
    }
    if !support::have_tool("aarch64-linux-gnu-gcc")
        && support::skip_unless_ci("`aarch64-linux-gnu-gcc` on PATH (configure again)")
    {
        return;
    }
    let command = archway();
    let cache = command.temp().join("cache");
    let in_cache = || archway().env("ARCHWAY_CACHE_DIR", &cache);
    in_cache()
        .args(["sysroot", "add", "--target", "arm64"])
        .run()
        .assert_code(0);
    // Debian's Contents index, shared with the machine's cache (a warm run downloads nothing).
    let contents = support::real_cache_dir().join("contents");
    std::fs::create_dir_all(&contents).expect("contents directory");
    std::os::unix::fs::symlink(&contents, cache.join("contents")).expect("symlink");
    let project = command.work_dir().join("hello");
    optional_zlib_project(&project);
    let build_dir = project.join("out");
    let run = |goal: &str| {
        in_cache()
            .env("ARCHWAY_CACHE_ENABLED", "false")
            .args([goal, "--target", "arm64", "--method", "cross"])
            .arg("-C")
            .arg(&project)
            .arg("--build-dir")
            .arg(&build_dir)
            .run()
    };
    let first = run("test");
    assert_ne!(first.code, Some(0), "{}", first.snapshot());
    assert_eq!(found_zlib(&build_dir), "zlib: no", "{}", first.stderr);
    let config_log = build_dir.join("source/config.log");
    assert!(
        first.stderr.contains(&format!(
            "hint: configure went without `zlib.h` (in `zlib1g-dev`), which Debian ships for \
             arm64 (`{}`): if the failure comes from what it left out, add it to the sysroot \
             with `archway sysroot add --target aarch64-unknown-linux-gnu zlib1g-dev`",
            config_log.display()
        )),
        "{}",
        first.stderr
    );
    // The failing step's own error stays the message.
    assert!(
        first
            .stderr
            .contains("error: test step failed: `make check` exited with code 2"),
        "{}",
        first.stderr
    );

    in_cache()
        .args(["sysroot", "add", "--target", "arm64", "zlib1g-dev"])
        .run()
        .assert_code(0);
    let second = run("test");
    second.assert_code(0);
    assert!(
        second.stderr.contains(&format!(
            "the packages in `{}` changed since configure ran: emptying the build directory \
             to configure afresh",
            cache.join("sysroots/bookworm-arm64/root").display()
        )),
        "{}",
        second.stderr
    );
    // Configured again and rebuilt: make alone would have kept `hello.o`, whose flags
    // (`DEFS`) changed but not its source.
    assert_eq!(found_zlib(&build_dir), "zlib: yes", "{}", second.stderr);
    let written = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let makefile = build_dir.join("source/Makefile");
    let configured_at = written(&makefile);

    // Nothing changed since: configure is skipped.
    let third = run("build");
    third.assert_code(0);
    assert!(
        !third.stderr.contains("since configure ran"),
        "{}",
        third.stderr
    );
    assert_eq!(written(&makefile), configured_at, "configure ran again");
    assert_eq!(found_zlib(&build_dir), "zlib: yes");
}

/// CMake keeps its checks' answers in its cache (`HAVE_ZLIB_H`): a package added to the
/// sysroot since must reach the build all the same.
#[test]
fn a_package_added_to_the_sysroot_reaches_cmakes_cached_checks() {
    if !can_fill_sysroots() {
        return;
    }
    if !crate::build::cross_tools_present(&["cmake", "aarch64-linux-gnu-gcc"]) {
        return;
    }
    let command = archway();
    let cache = command.temp().join("cache");
    let in_cache = || archway().env("ARCHWAY_CACHE_DIR", &cache);
    in_cache()
        .args(["sysroot", "add", "--target", "arm64"])
        .run()
        .assert_code(0);
    let project = command.work_dir().join("hello");
    std::fs::create_dir_all(&project).expect("project directory");
    std::fs::write(
        project.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.13)\nproject(hello C)\ninclude(CheckIncludeFile)\n\
         check_include_file(zlib.h HAVE_ZLIB_H)\nadd_executable(hello hello.c)\n\
         if(HAVE_ZLIB_H)\n  target_compile_definitions(hello PRIVATE HAVE_ZLIB=1)\nendif()\n",
    )
    .expect("CMakeLists.txt");
    std::fs::write(
        project.join("hello.c"),
        "#include <stdio.h>\n#if HAVE_ZLIB\nconst char answer[] = \"zlib: yes\";\n#else\n\
         const char answer[] = \"zlib: no\";\n#endif\nint main(void) { return puts(answer) < 0; }\n",
    )
    .expect("hello.c");
    let build_dir = project.join("out");
    let build = || {
        in_cache()
            .env("ARCHWAY_CACHE_ENABLED", "false")
            .args(["build", "--target", "arm64", "--method", "cross"])
            .arg("-C")
            .arg(&project)
            .arg("--build-dir")
            .arg(&build_dir)
            .run()
    };
    let first = build();
    first.assert_code(0);
    assert_eq!(found_zlib(&build_dir), "zlib: no", "{}", first.stderr);
    in_cache()
        .args(["sysroot", "add", "--target", "arm64", "zlib1g-dev"])
        .run()
        .assert_code(0);
    let second = build();
    second.assert_code(0);
    assert!(
        second
            .stderr
            .contains("changed since configure ran: emptying the build directory"),
        "{}",
        second.stderr
    );
    assert_eq!(found_zlib(&build_dir), "zlib: yes", "{}", second.stderr);
}

/// Meson keeps its checks' answers through `--reconfigure` (`Has header "zlib.h" : NO
/// (cached)`): a package added to the sysroot since must reach the build all the same; and a
/// Meson tree emptied for another compiler is set up anew, not reconfigured.
#[test]
fn a_package_added_to_the_sysroot_reaches_mesons_cached_checks() {
    if !can_fill_sysroots() {
        return;
    }
    if !crate::build::cross_tools_present(&["meson", "ninja", "cc", "aarch64-linux-gnu-gcc"]) {
        return;
    }
    let command = archway();
    let cache = command.temp().join("cache");
    let in_cache = || archway().env("ARCHWAY_CACHE_DIR", &cache);
    in_cache()
        .args(["sysroot", "add", "--target", "arm64"])
        .run()
        .assert_code(0);
    let project = command.work_dir().join("hello");
    std::fs::create_dir_all(&project).expect("project directory");
    std::fs::write(
        project.join("meson.build"),
        "project('hello', 'c')\nif meson.get_compiler('c').has_header('zlib.h')\n  \
         add_project_arguments('-DHAVE_ZLIB=1', language: 'c')\nendif\n\
         executable('hello', 'hello.c')\n",
    )
    .expect("meson.build");
    std::fs::write(
        project.join("hello.c"),
        "#include <stdio.h>\n#if HAVE_ZLIB\nconst char answer[] = \"zlib: yes\";\n#else\n\
         const char answer[] = \"zlib: no\";\n#endif\nint main(void) { return puts(answer) < 0; }\n",
    )
    .expect("hello.c");
    let build_dir = project.join("out");
    let build = |target: &str, method: &str| {
        in_cache()
            .env("ARCHWAY_CACHE_ENABLED", "false")
            .args(["build", "--target", target, "--method", method])
            .arg("-C")
            .arg(&project)
            .arg("--build-dir")
            .arg(&build_dir)
            .run()
    };
    let first = build("arm64", "cross");
    first.assert_code(0);
    assert_eq!(found_zlib(&build_dir), "zlib: no", "{}", first.stderr);
    in_cache()
        .args(["sysroot", "add", "--target", "arm64", "zlib1g-dev"])
        .run()
        .assert_code(0);
    let second = build("arm64", "cross");
    second.assert_code(0);
    assert!(
        second
            .stderr
            .contains("changed since configure ran: emptying the build directory"),
        "{}",
        second.stderr
    );
    assert_eq!(found_zlib(&build_dir), "zlib: yes", "{}", second.stderr);

    // The host's compiler into the same directory: emptied, and set up anew.
    let native = build("x86_64-linux", "native");
    native.assert_code(0);
    assert!(
        native
            .stderr
            .contains("the build directory was made by another method or compiler"),
        "{}",
        native.stderr
    );
}
