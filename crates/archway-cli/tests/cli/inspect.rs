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
