//! Processes: no process of a build outlives archway, and one build per build directory at a
//! time. Real processes: archway is signalled alone (not its group, as `kill PID` or a service
//! manager does), and `/proc` is searched for the build's `sleep`s by a unique duration.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::support::{self, archway, Running};

/// A `sleep` argument no other process has: `300.<test pid><counter>` seconds.
fn unique_duration() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "300.{}{:03}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// The live processes whose last argument is `marker` (the `sleep`s, also under QEMU, where
/// the command line is `qemu-aarch64-static /usr/bin/sleep sleep 300.x`), and whether any
/// process at all (archway, bwrap, sh) still mentions it.
fn sleeps_with(marker: &str) -> (Vec<u32>, Vec<String>) {
    let mut sleeps = Vec::new();
    let mut mentions = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let zombie = std::fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        });
        let Ok(command_line) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let arguments: Vec<String> = command_line
            .split(|byte| *byte == 0)
            .filter(|argument| !argument.is_empty())
            .map(|argument| String::from_utf8_lossy(argument).into_owned())
            .collect();
        if zombie || !arguments.iter().any(|argument| argument.contains(marker)) {
            continue;
        }
        if arguments.last().is_some_and(|last| last == marker) {
            sleeps.push(pid);
        }
        mentions.push(format!("{pid}: {}", arguments.join(" ")));
    }
    (sleeps, mentions)
}

/// On drop, SIGKILL to every process that mentions the marker: a failing test leaves none.
struct Reaper(String);

impl Drop for Reaper {
    fn drop(&mut self) {
        let (_, mentions) = sleeps_with(&self.0);
        for mention in mentions {
            if let Some((pid, _)) = mention.split_once(':') {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
    }
}

fn send(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Waits until `count` sleeps with `marker` run (the build is under way).
fn wait_for_sleeps(marker: &str, count: usize, build: &mut Running, limit: Duration) {
    let deadline = Instant::now() + limit;
    while sleeps_with(marker).0.len() < count {
        assert!(
            !build.has_ended(),
            "the build ended before its sleeps started:\n{}",
            build.stderr()
        );
        assert!(
            Instant::now() < deadline,
            "no {count} sleeps after {limit:?}:\n{}",
            build.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `command` (a build whose step runs two `sleep`s of the marker's length), sends
/// `signal` to archway alone once they run, then checks that archway ends with 128 + signal
/// and its one-line message, and that nothing of the build is left.
fn signal_ends_every_process(
    command: support::Archway,
    marker: &str,
    signal: (&str, i32),
    startup: Duration,
    grace: Duration,
) {
    let _reaper = Reaper(marker.to_string());
    let mut build = command.spawn();
    wait_for_sleeps(marker, 2, &mut build, startup);
    let sent = Instant::now();
    send(signal.0, build.pid());
    let code = build
        .wait_for(grace + Duration::from_secs(10))
        .unwrap_or_else(|stderr| panic!("archway still runs after SIG{}:\n{stderr}", signal.0));
    let took = sent.elapsed();
    // Whatever archway's exit, none of its build may outlive it.
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut left = sleeps_with(marker).1;
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left = sleeps_with(marker).1;
    }
    assert!(
        left.is_empty(),
        "processes of the build outlived archway (SIG{}):\n{}\narchway's stderr:\n{}",
        signal.0,
        left.join("\n"),
        build.stderr()
    );
    assert_eq!(code, Some(128 + signal.1), "{}", build.stderr());
    let stderr = build.stderr();
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("interrupted: stopped `sh -c ") && last.ends_with("` and its children"),
        "{stderr}"
    );
    assert!(took <= grace + Duration::from_secs(3), "took {took:?}");
}

fn sleeping_command(marker: &str) -> String {
    format!("sleep {marker} & sleep {marker}; wait")
}

#[test]
fn sigterm_to_archway_ends_every_process_of_the_build() {
    let marker = unique_duration();
    let command = archway().args(["build", "--", "sh", "-c", &sleeping_command(&marker)]);
    signal_ends_every_process(
        command,
        &marker,
        ("TERM", 15),
        Duration::from_secs(20),
        Duration::ZERO,
    );
}

#[test]
fn sigint_to_archway_ends_every_process_of_a_makefile_build() {
    let marker = unique_duration();
    let project = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        project.path().join("Makefile"),
        format!("all:\n\tsh -c '{}'\n", sleeping_command(&marker)),
    )
    .expect("Makefile");
    let command = archway().arg("build").arg("-C").arg(project.path());
    // make starts `sh`, which starts the sleeps: the message names make's own command.
    let _reaper = Reaper(marker.clone());
    signal_ends_every_process_named(command, &marker, ("INT", 2), "make");
}

/// As [`signal_ends_every_process`], for a project build whose step is `program`.
fn signal_ends_every_process_named(
    command: support::Archway,
    marker: &str,
    signal: (&str, i32),
    program: &str,
) {
    let mut build = command.spawn();
    wait_for_sleeps(marker, 2, &mut build, Duration::from_secs(20));
    send(signal.0, build.pid());
    let code = build
        .wait_for(Duration::from_secs(10))
        .unwrap_or_else(|stderr| panic!("archway still runs after SIG{}:\n{stderr}", signal.0));
    std::thread::sleep(Duration::from_millis(200));
    let left = sleeps_with(marker).1;
    assert!(
        left.is_empty(),
        "processes of the build outlived archway (SIG{}):\n{}\narchway's stderr:\n{}",
        signal.0,
        left.join("\n"),
        build.stderr()
    );
    assert_eq!(code, Some(128 + signal.1), "{}", build.stderr());
    let stderr = build.stderr();
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|last| last.starts_with(&format!("interrupted: stopped `{program}"))),
        "{stderr}"
    );
}

#[test]
fn a_build_that_ignores_the_signal_is_killed_after_the_grace_period() {
    let marker = unique_duration();
    let script = format!("trap '' TERM INT; {}", sleeping_command(&marker));
    let command = archway().args(["build", "--", "sh", "-c", &script]);
    signal_ends_every_process(
        command,
        &marker,
        ("TERM", 15),
        Duration::from_secs(20),
        Duration::from_secs(5),
    );
}

#[test]
fn sigterm_to_archway_ends_the_emulated_sandbox() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout == b"0\n");
    let tools = ["bwrap", "qemu-aarch64-static"]
        .iter()
        .all(|tool| support::have_tool(tool));
    if !root || !tools {
        support::skip_unless_ci("needs root, `bwrap` and `qemu-aarch64-static`");
        return;
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .unwrap_or_default();
    if !cache
        .join("archway/rootfs/arm64-bookworm/root/usr/bin/sh")
        .exists()
    {
        // Creating it takes minutes: the rootfs tests' work, done here only under CI.
        if !archway_platform::testing::in_ci() {
            eprintln!(
                "skipped: needs the cached arm64-bookworm root filesystem \
                 (`archway rootfs create --target arm64`)"
            );
            return;
        }
        archway()
            .real_cache()
            .args(["rootfs", "create", "--target", "arm64"])
            .run()
            .assert_code(0);
    }
    let _entry = support::emulation_for("aarch64-linux");
    let marker = unique_duration();
    let work = tempfile::tempdir().expect("temp dir");
    let command = archway().real_cache().args([
        "build",
        "--method",
        "emulated",
        "--target",
        "arm64",
        "-C",
        &work.path().display().to_string(),
        "--",
        "sh",
        "-c",
        // A pipeline rather than `&`: dash gives a background job `/dev/null` as its input.
        &format!("sleep {marker} | sleep {marker}"),
    ]);
    signal_ends_every_process(
        command,
        &marker,
        ("TERM", 15),
        Duration::from_secs(60),
        Duration::ZERO,
    );
}

/// A plain makefile that fails when another make runs in the same directory: `busy` exists
/// while it builds. It touches `started` once it is under way: in the build directory, the
/// only place a step may write (the host sandbox); the path it returns.
fn racing_project(project: &Path) -> std::path::PathBuf {
    std::fs::write(
        project.join("Makefile"),
        "all:\n\ttest ! -e busy\n\ttouch busy started\n\tsleep 1\n\trm busy\n\techo built > out\n",
    )
    .expect("Makefile");
    let host = archway_platform::host::Host::detect().expect("the host");
    project
        .join("build/archway")
        .join(host.platform.config())
        .join("started")
}

fn wait_until_exists(path: &Path, build: &mut Running) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(
            !build.has_ended() && Instant::now() < deadline,
            "the first build did not start:\n{}",
            build.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_second_build_of_one_build_directory_waits_for_the_first() {
    let temp = tempfile::tempdir().expect("temp dir");
    let project = temp.path().join("project");
    std::fs::create_dir(&project).expect("project");
    let started = racing_project(&project);
    let build = || archway().arg("build").arg("-C").arg(&project);
    for pair in 0..6 {
        let _ = std::fs::remove_file(&started);
        let mut first = build().spawn();
        wait_until_exists(&started, &mut first);
        let mut second = build().spawn();
        let first_code = first.wait_for(Duration::from_secs(60));
        let second_code = second.wait_for(Duration::from_secs(60));
        assert_eq!(
            first_code,
            Ok(Some(0)),
            "pair {pair}: the first failed:\n{}",
            first.stderr()
        );
        assert_eq!(
            second_code,
            Ok(Some(0)),
            "pair {pair}: the second failed:\n{}",
            second.stderr()
        );
        let stderr = second.stderr();
        let build_dir = project.join("build/archway");
        assert!(
            stderr.lines().any(|line| {
                line.starts_with(&format!(
                    "waiting for another archway build of `{}/",
                    build_dir.display()
                )) && line.ends_with(&format!("` (pid {}) to finish...", first.pid()))
            }),
            "pair {pair}: the second did not say it waits:\n{stderr}"
        );
    }
}

#[test]
fn no_wait_fails_at_once_while_another_build_holds_the_directory() {
    let temp = tempfile::tempdir().expect("temp dir");
    let project = temp.path().join("project");
    std::fs::create_dir(&project).expect("project");
    let started = racing_project(&project);
    let build = || archway().arg("build").arg("-C").arg(&project);
    for pair in 0..3 {
        let _ = std::fs::remove_file(&started);
        let mut first = build().spawn();
        wait_until_exists(&started, &mut first);
        let second = build().arg("--no-wait").run();
        // Another build directory of the same project does not wait for the first.
        let elsewhere = build()
            .arg("--no-wait")
            .arg("--build-dir")
            .arg(temp.path().join(format!("elsewhere-{pair}")))
            .arg("--")
            .arg("true")
            .run();
        assert!(
            !first.has_ended(),
            "pair {pair}: the first build ended before the second gave up:\n{}",
            first.stderr()
        );
        assert_eq!(second.code, Some(1), "pair {pair}: {}", second.snapshot());
        assert!(
            second.stderr.contains(&format!("(pid {})", first.pid()))
                && second.stderr.contains("error: another archway build of `")
                && second.stderr.contains(
                    "hint: leave out `--no-wait` to wait for it, or build into another \
                     directory with `--build-dir DIR`"
                ),
            "pair {pair}: {}",
            second.snapshot()
        );
        elsewhere.assert_code(0);
        assert_eq!(
            first.wait_for(Duration::from_secs(60)),
            Ok(Some(0)),
            "pair {pair}: {}",
            first.stderr()
        );
    }
}
