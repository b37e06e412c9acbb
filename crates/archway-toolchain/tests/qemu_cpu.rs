//! The emulator command runs each platform's own CPU (the command `archway run` uses): a
//! freestanding ARMv6 program runs for raspberryPi; one with an ARMv7-only instruction dies
//! of SIGILL there and runs for armv7l-hf-multiplatform. Real QEMU and a real cross compiler.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use archway_platform::Platform;
use archway_toolchain::{emulator_command, Request};

fn have(program: &str) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok();
    archway_platform::testing::require(found, &format!("`{program}` is not installed"))
}

/// `_start`: write(1, "ok\n", 3), then `extra` (one instruction), then exit(0). No libc:
/// Debian's armhf libc is ARMv7 code itself.
fn program(dir: &Path, name: &str, extra: &str) -> std::path::PathBuf {
    let source = dir.join(format!("{name}.S"));
    std::fs::write(
        &source,
        format!(
            ".arm\n.global _start\n_start:\n mov r0, #1\n adr r1, message\n mov r2, #3\n mov r7, #4\n svc #0\n {extra}\n mov r0, #0\n mov r7, #1\n svc #0\nmessage:\n .ascii \"ok\\n\"\n"
        ),
    )
    .expect("source");
    let binary = dir.join(name);
    // Assembled for ARMv7-A so `movw` is accepted; the ARMv6 program has no ARMv7 instruction.
    let output = Command::new("arm-linux-gnueabihf-gcc")
        .args(["-nostdlib", "-static", "-march=armv7-a+fp", "-marm", "-o"])
        .arg(&binary)
        .arg(&source)
        .output()
        .expect("run the compiler");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    binary
}

fn run(target: &str, binary: &Path) -> std::process::Output {
    let platform = Platform::parse(target).expect("catalog name");
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    let command = emulator_command(&platform, &Request::default(), None, &search_path)
        .expect("qemu-arm on PATH");
    Command::new(&command[0])
        .args(&command[1..])
        .arg(binary)
        .output()
        .expect("run qemu")
}

#[test]
fn armv7_only_code_dies_on_the_raspberry_pi_cpu_and_runs_on_armv7() {
    if !have("arm-linux-gnueabihf-gcc") || !have("qemu-arm-static") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let armv6 = program(dir.path(), "armv6", "nop");
    // MOVW is ARMv6T2 and later: ARM1176 (ARMv6KZ) has no such encoding.
    let armv7 = program(dir.path(), "armv7", "movw r3, #0x1234");

    let output = run("raspberryPi", &armv6);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(output.stdout, b"ok\n");

    let output = run("raspberryPi", &armv7);
    assert_eq!(output.stdout, b"ok\n", "runs up to the ARMv7 instruction");
    // qemu-user re-raises the guest's signal on itself (linux-user/signal.c dump_core_and_abort).
    assert_eq!(output.status.signal(), Some(libc_sigill()), "{output:?}");

    let output = run("armv7l-hf-multiplatform", &armv7);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(output.stdout, b"ok\n");
}

/// SIGILL is 4 on Linux (asm-generic/signal.h).
fn libc_sigill() -> i32 {
    4
}
