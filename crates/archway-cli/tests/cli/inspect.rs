//! `archway inspect` on real binaries compiled here by Debian's cross compilers, and on
//! files that are not binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{archway, have_tool, skip_unless_ci};

const HELLO: &str = "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n";

/// Compiles `hello.c` in `dir` with `compiler` and `flags` into `output`; `None` when the
/// compiler is missing outside CI.
fn compile(dir: &Path, compiler: &str, flags: &[&str], output: &str) -> Option<PathBuf> {
    if !have_tool(compiler) {
        skip_unless_ci(&format!("`{compiler}` is not installed"));
        return None;
    }
    let source = dir.join("hello.c");
    std::fs::write(&source, HELLO).expect("writing hello.c");
    let path = dir.join(output);
    let result = Command::new(compiler)
        .args(flags)
        .arg("-o")
        .arg(&path)
        .arg(&source)
        .output()
        .expect("running the compiler");
    assert!(
        result.status.success(),
        "`{compiler}` failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    Some(path)
}

/// The binaries the issue asks for: one per Debian cross compiler, a PE, a static one.
fn build_binaries(dir: &Path) -> Vec<PathBuf> {
    let builds: &[(&str, &[&str], &str)] = &[
        ("aarch64-linux-gnu-gcc", &[], "hello-arm64"),
        ("arm-linux-gnueabihf-gcc", &[], "hello-armhf"),
        ("riscv64-linux-gnu-gcc", &[], "hello-riscv64"),
        ("s390x-linux-gnu-gcc", &[], "hello-s390x"),
        ("powerpc64le-linux-gnu-gcc", &[], "hello-ppc64el"),
        ("i686-linux-gnu-gcc", &[], "hello-i386"),
        ("x86_64-w64-mingw32-gcc", &[], "hello.exe"),
        ("aarch64-linux-gnu-gcc", &["-static"], "hello-arm64-static"),
        (
            "aarch64-linux-gnu-gcc",
            &["-shared", "-fPIC"],
            "libhello-arm64.so",
        ),
    ];
    builds
        .iter()
        .filter_map(|(compiler, flags, output)| compile(dir, compiler, flags, output))
        .collect()
}

/// Drops the host-dependent `runs natively here` lines.
fn without_native_lines(text: &str) -> String {
    text.lines()
        .filter(|line| !line.trim_start().starts_with("runs natively here"))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn inspect_cross_compiled_binaries() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let binaries = build_binaries(dir.path());
    if binaries.len() < 9 {
        return;
    }
    let output = archway()
        .arg("inspect")
        .args(&binaries)
        .filter(dir.path().to_string_lossy(), "[BUILD]")
        .run();
    output.assert_code(0);
    insta::assert_snapshot!(without_native_lines(&output.filtered(&output.stdout)));
    // This host (x86_64 in CI) does not run the aarch64 binary natively; the hint names QEMU.
    if cfg!(target_arch = "x86_64") {
        assert!(
            output
                .stdout
                .contains("runs natively here  no (emulate with qemu-aarch64)"),
            "{}",
            output.stdout
        );
    }
}

#[test]
fn inspect_json_reports_platform_interpreter_and_linkage() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let Some(dynamic) = compile(dir.path(), "s390x-linux-gnu-gcc", &[], "hello-s390x") else {
        return;
    };
    let Some(static_binary) = compile(
        dir.path(),
        "riscv64-linux-gnu-gcc",
        &["-static"],
        "hello-riscv64-static",
    ) else {
        return;
    };
    let output = archway()
        .args(["inspect", "--json"])
        .arg(&dynamic)
        .arg(&static_binary)
        .run();
    output.assert_code(0);
    let value: serde_json::Value = serde_json::from_str(&output.stdout).expect("valid JSON");
    let s390x = &value[0];
    assert_eq!(s390x["system"], "s390x-linux");
    assert_eq!(s390x["platform"]["endian"], "big");
    assert_eq!(s390x["interpreter"], "/lib/ld64.so.1");
    assert_eq!(s390x["linkage"], "dynamic");
    assert_eq!(s390x["libc"], "glibc");
    assert_eq!(s390x["platform"]["debian_arch"], "s390x");
    let riscv = &value[1];
    assert_eq!(riscv["system"], "riscv64-linux");
    assert_eq!(riscv["linkage"], "static");
    assert_eq!(riscv["interpreter"], serde_json::Value::Null);
    // Hard double-float ABI (lp64d) in e_flags: EF_RISCV_FLOAT_ABI_DOUBLE.
    assert_eq!(
        riscv["elf"]["flags"].as_u64().map(|flags| flags & 0x6),
        Some(0x4)
    );
    if cfg!(target_arch = "x86_64") {
        assert_eq!(s390x["runs_natively"], false);
    }
}

#[test]
fn inspect_reports_each_bad_file_and_still_reports_the_good_ones() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let Some(good) = compile(dir.path(), "arm-linux-gnueabihf-gcc", &[], "hello-armhf") else {
        return;
    };
    let bytes = std::fs::read(&good).expect("reading the compiled binary");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").expect("writing a file");
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, b"this is not a binary\n").expect("writing a file");
    let truncated = dir.path().join("truncated");
    std::fs::write(&truncated, &bytes[..100]).expect("writing a file");
    let tiny = dir.path().join("tiny");
    std::fs::write(&tiny, &bytes[..10]).expect("writing a file");
    let missing = dir.path().join("does-not-exist");
    let output = archway()
        .arg("inspect")
        .args([&empty, &good, &garbage, &truncated, &tiny, &missing])
        .arg(dir.path())
        .filter(dir.path().to_string_lossy(), "[BUILD]")
        .run();
    output.assert_code(1);
    let text = format!(
        "----- stdout -----\n{}----- stderr -----\n{}",
        without_native_lines(&output.filtered(&output.stdout)),
        output.filtered(&output.stderr)
    );
    insta::assert_snapshot!(text);
}

#[test]
fn inspect_needs_a_file() {
    let output = archway().arg("inspect").run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

/// Runs `archway inspect <paths>` and fails (instead of hanging) when it takes longer than
/// `limit`; `unblock` runs first in that case, so the stuck process can end.
fn inspect_within(
    paths: &[&Path],
    limit: std::time::Duration,
    unblock: impl FnOnce(),
) -> crate::support::Output {
    let command = archway().arg("inspect").args(paths);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(command.run());
    });
    match receiver.recv_timeout(limit) {
        Ok(output) => output,
        Err(_) => {
            unblock();
            panic!("`archway inspect` did not finish within {limit:?}");
        }
    }
}

const PROMPTLY: std::time::Duration = std::time::Duration::from_secs(20);

#[test]
fn inspect_refuses_a_character_device_instead_of_reading_it_forever() {
    let output = inspect_within(&[Path::new("/dev/zero")], PROMPTLY, || {});
    output.assert_code(1);
    assert!(
        output
            .stderr
            .contains("caused by: it is a character device: only regular files are inspected"),
        "{}",
        output.stderr
    );
}

#[test]
fn inspect_refuses_a_fifo_without_blocking() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let fifo = dir.path().join("pipe");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("running mkfifo");
    assert!(made.success());
    let writer_path = fifo.clone();
    let output = inspect_within(&[&fifo], PROMPTLY, move || {
        // Opening the write end lets a reader blocked in open(2) go on (and see EOF).
        let _ = std::fs::OpenOptions::new().write(true).open(&writer_path);
    });
    output.assert_code(1);
    assert!(
        output
            .stderr
            .contains("caused by: it is a FIFO (named pipe)"),
        "{}",
        output.stderr
    );
}

#[test]
fn inspect_refuses_a_directory_by_name() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let output = inspect_within(&[dir.path()], PROMPTLY, || {});
    output.assert_code(1);
    assert!(
        output.stderr.contains("caused by: it is a directory"),
        "{}",
        output.stderr
    );
}

/// A 64-bit little-endian ELF header for an aarch64 executable without program or section
/// headers (System V gABI field layout).
fn aarch64_elf_header() -> Vec<u8> {
    let mut header = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    header.resize(16, 0);
    header.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    header.extend_from_slice(&183u16.to_le_bytes()); // e_machine: EM_AARCH64
    header.extend_from_slice(&1u32.to_le_bytes()); // e_version
    header.extend_from_slice(&0x400000u64.to_le_bytes()); // e_entry
    header.extend_from_slice(&0u64.to_le_bytes()); // e_phoff
    header.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    header.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for value in [64u16, 56, 0, 64, 0, 0] {
        // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        header.extend_from_slice(&value.to_le_bytes());
    }
    header
}

#[test]
fn inspect_reads_a_bounded_prefix_of_a_100_mib_sparse_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let sparse = dir.path().join("sparse");
    std::fs::write(&sparse, aarch64_elf_header()).expect("writing the header");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&sparse)
        .and_then(|file| file.set_len(100 * 1024 * 1024))
        .expect("extending to 100 MiB");
    let started = std::time::Instant::now();
    let output = inspect_within(&[&sparse], PROMPTLY, || {});
    output.assert_code(0);
    assert!(
        output
            .stdout
            .contains("aarch64-linux (aarch64-unknown-linux-gnu)"),
        "{}",
        output.stdout
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn inspect_identifies_a_binary_whose_section_table_is_beyond_the_read_limit() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("big.c"),
        "char big[20 << 20] = {1};\nint main(void) { return big[0]; }\n",
    )
    .expect("writing big.c");
    let source = dir.path().join("big.c");
    if !have_tool("aarch64-linux-gnu-gcc") {
        skip_unless_ci("`aarch64-linux-gnu-gcc` is not installed");
        return;
    }
    let binary = dir.path().join("big");
    let built = Command::new("aarch64-linux-gnu-gcc")
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .status()
        .expect("running the compiler");
    assert!(built.success());
    let size = std::fs::metadata(&binary).expect("size").len();
    assert!(size > 20 << 20, "{size}");
    let output = inspect_within(&[&binary], PROMPTLY, || {});
    output.assert_code(0);
    assert!(
        output.stdout.contains("aarch64-unknown-linux-gnu")
            && output.stdout.contains("/lib/ld-linux-aarch64.so.1"),
        "{}",
        output.stdout
    );
}

/// Debian's armhf C library (from `libc6-armhf-cross`), or `None` after `skipped:`.
fn debian_armhf_libc() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/arm-linux-gnueabihf/lib/libc.so.6");
    if !path.exists() {
        skip_unless_ci("`/usr/arm-linux-gnueabihf/lib/libc.so.6` is missing (`libc6-armhf-cross`)");
        return None;
    }
    Some(path)
}

#[test]
fn inspect_target_refuses_debian_armhf_libc_for_raspberry_pi() {
    let Some(libc) = debian_armhf_libc() else {
        return;
    };
    let output = archway()
        .args(["inspect", "--target", "raspberryPi"])
        .arg(&libc)
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(format!(
        "----- stdout -----\n{}----- stderr -----\n{}",
        without_native_lines(&output.stdout),
        output.stderr
    ));
}

#[test]
fn inspect_target_accepts_debian_armhf_libc_for_armv7l_with_warnings() {
    let Some(libc) = debian_armhf_libc() else {
        return;
    };
    let output = archway()
        .args(["inspect", "--target", "armv7l-hf-multiplatform", "--json"])
        .arg(&libc)
        .run();
    output.assert_code(0);
    let value: serde_json::Value = serde_json::from_str(&output.stdout).expect("valid JSON");
    let entry = &value[0];
    assert_eq!(entry["requirements"]["arm"]["arch"], "v7");
    assert_eq!(entry["requirements"]["arm"]["thumb2"], true);
    assert_eq!(entry["check"]["fits"], true);
    let certainties: Vec<&str> = entry["check"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|finding| finding["shortfall"]["certainty"].as_str())
        .collect();
    assert_eq!(certainties, ["may-use", "may-use"]);
    assert!(
        output
            .stderr
            .contains("warning: `libc.so.6` may use NEONv1 (Tag_Advanced_SIMD_arch NEONv1)"),
        "{}",
        output.stderr
    );
}

#[test]
fn inspect_target_passes_armv6_code_for_raspberry_pi_and_names_the_first_offender() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let Some(armv6) = compile(
        dir.path(),
        "arm-linux-gnueabihf-gcc",
        &["-c", "-march=armv6kz", "-mfpu=vfp", "-marm"],
        "armv6.o",
    ) else {
        return;
    };
    let Some(armv7) = compile(dir.path(), "arm-linux-gnueabihf-gcc", &["-c"], "armv7.o") else {
        return;
    };
    let Some(x86) = compile(dir.path(), "x86_64-linux-gnu-gcc", &["-c"], "x86.o") else {
        return;
    };
    let passing = archway()
        .args(["inspect", "--target", "raspberryPi"])
        .arg(&armv6)
        .run();
    passing.assert_code(0);
    assert!(
        passing.stdout.contains("fits raspberryPi    yes"),
        "{}",
        passing.stdout
    );
    let failing = archway()
        .args(["inspect", "--target", "raspberryPi"])
        .args([&armv6, &armv7, &x86])
        .run();
    failing.assert_code(1);
    assert!(
        failing.stderr.starts_with(
            "error: `armv7.o` needs ARMv7 (Tag_CPU_arch v7) but raspberryPi's CPU is ARMv6KZ (and 1 more file)\n"
        ),
        "{}",
        failing.stderr
    );
    assert!(
        failing.stdout.contains("no: is for x86_64-linux"),
        "{}",
        failing.stdout
    );
}
