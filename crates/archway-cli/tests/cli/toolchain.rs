//! `archway toolchain`, `env`, `sysroot`, `run`: snapshots against stub tools, and system tests
//! with the real cross compilers, Debian's archive and QEMU.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, archway, Archway};

/// Stub compilers, binutils and QEMU in `<temp>/tools/bin`, with `PATH` set to only that.
fn with_stub_tools(command: Archway) -> Archway {
    let prefix = command.temp().join("tools");
    let bin = prefix.join("bin");
    fs::create_dir_all(&bin).expect("stub bin");
    let write = |name: &str, script: &str| {
        let path = bin.join(name);
        fs::write(&path, script).expect("stub");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
    };
    let compiler = |version: &str| {
        format!("#!/bin/sh\ncase \"$1\" in -dumpfullversion|-dumpversion) echo {version} ;; *) exit 1 ;; esac\n")
    };
    for (triple, version) in [
        ("aarch64-linux-gnu", "12.2.0"),
        ("riscv64-linux-gnu", "12.2.0"),
    ] {
        write(&format!("{triple}-gcc"), &compiler(version));
        write(&format!("{triple}-g++"), "#!/bin/sh\n");
        for tool in ["ar", "ranlib", "nm", "strip", "objcopy", "ld"] {
            write(&format!("{triple}-{tool}"), "#!/bin/sh\n");
        }
        fs::create_dir_all(prefix.join(triple).join("include")).expect("libc dir");
    }
    write("aarch64-linux-gnu-gcc-11", &compiler("11.3.0"));
    write("x86_64-w64-mingw32-gcc-posix", &compiler("12-posix"));
    write("clang", &compiler("14.0.6"));
    write("qemu-aarch64-static", "#!/bin/sh\n");
    command.env("PATH", &bin)
}

#[test]
fn env_prints_exports_for_the_selected_toolchain() {
    let output = with_stub_tools(archway())
        .args(["env", "--target", "aarch64-multiplatform"])
        .run();
    output.assert_code(0);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn env_as_json_with_gcc_11_and_fish() {
    let output = with_stub_tools(archway())
        .args([
            "env",
            "--target",
            "aarch64",
            "--version",
            "11",
            "--format",
            "json",
        ])
        .run();
    output.assert_code(0);
    insta::assert_snapshot!(output.snapshot());
    let output = with_stub_tools(archway())
        .args(["env", "--target", "riscv64", "--format", "fish"])
        .run();
    output.assert_code(0);
    assert!(output.stdout.contains("set -gx CC '"), "{}", output.stdout);
    assert!(
        !output.stdout.contains("RUNNER"),
        "no qemu-riscv64 stub, so no runner"
    );
}

#[test]
fn env_without_a_toolchain_names_the_install_command() {
    let output = with_stub_tools(archway())
        .args(["env", "--target", "s390x"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn env_for_apple_targets_says_no_toolchain_exists() {
    let output = with_stub_tools(archway())
        .args(["env", "--target", "aarch64-darwin"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn env_for_musl_without_a_sysroot_asks_for_one() {
    let output = with_stub_tools(archway())
        .args(["env", "--target", "aarch64-multiplatform-musl"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn toolchain_list_groups_compilers_with_their_targets() {
    let output = with_stub_tools(archway()).args(["toolchain", "list"]).run();
    output.assert_code(0);
    insta::assert_snapshot!(output.snapshot());
    let output = with_stub_tools(archway())
        .args(["toolchain", "list", "--target", "riscv64", "--json"])
        .run();
    output.assert_code(0);
    let list: serde_json::Value = serde_json::from_str(&output.stdout).expect("json");
    let targets: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|toolchain| toolchain["target"].as_str().expect("target"))
        .collect();
    assert_eq!(
        targets,
        ["riscv64-unknown-linux-gnu", "riscv64-unknown-linux-gnu"],
        "gcc and clang"
    );
}

#[test]
fn toolchain_install_dry_run_prints_the_apt_command() {
    let cases = [
        (vec!["--target", "riscv64"], "apt-get install -y --no-install-recommends gcc-riscv64-linux-gnu g++-riscv64-linux-gnu libc6-dev-riscv64-cross"),
        (vec!["--target", "aarch64-multiplatform", "--version", "11"], "apt-get install -y --no-install-recommends gcc-11-aarch64-linux-gnu g++-11-aarch64-linux-gnu libc6-dev-arm64-cross"),
        (vec!["--target", "gnu32"], "apt-get install -y --no-install-recommends gcc-i686-linux-gnu g++-i686-linux-gnu libc6-dev-i386-cross"),
        (vec!["--target", "mingwW64"], "apt-get install -y --no-install-recommends gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64"),
        (vec!["--target", "riscv64-musl"], "apt-get install -y --no-install-recommends clang lld"),
    ];
    for (args, expected) in cases {
        let output = archway()
            .args(["toolchain", "install", "--dry-run"])
            .args(&args)
            .run();
        output.assert_code(0);
        assert_eq!(output.stdout.trim(), expected, "{args:?}");
    }
    let output = archway()
        .args(["toolchain", "install", "--dry-run", "--target", "iphone64"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn toolchain_files_writes_all_four() {
    let command = with_stub_tools(archway());
    let out = command.temp().join("files");
    let output = command
        .args([
            "toolchain",
            "files",
            "--target",
            "aarch64-multiplatform",
            "--out",
        ])
        .arg(&out)
        .run();
    output.assert_code(0);
    insta::assert_snapshot!(output.snapshot());
    let meson = fs::read_to_string(out.join("meson-cross.ini")).expect("meson file");
    assert!(meson.contains("exe_wrapper = ['"), "{meson}");
    assert!(meson.contains("cpu_family = 'aarch64'"), "{meson}");
}

#[test]
fn run_refuses_a_missing_program() {
    let output = with_stub_tools(archway())
        .args(["run", "--target", "aarch64", "--", "./no-such-program"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn sysroot_list_and_remove_on_an_empty_cache() {
    let output = archway().args(["sysroot", "list"]).run();
    output.assert_code(0);
    insta::assert_snapshot!(output.snapshot());
    let output = archway()
        .args(["sysroot", "remove", "--target", "aarch64-multiplatform"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

// ---------------------------------------------------------------------------------------------
// System tests: the real cross compilers, Debian's archive, QEMU.

/// Skips outside CI (and fails under CI) when a tool is missing.
fn require(tools: &[&str]) -> bool {
    for tool in tools {
        if !support::have_tool(tool)
            && support::skip_unless_ci(&format!("`{tool}` is not installed"))
        {
            return false;
        }
    }
    true
}

/// `archway env --format json` for `target` with extra arguments, on the machine's real cache.
fn cross_env(target: &str, extra: &[&str]) -> BTreeMap<String, String> {
    let output = archway()
        .real_cache()
        .args(["env", "--format", "json", "--target", target])
        .args(extra)
        .run();
    output.assert_code(0);
    let value: serde_json::Value = serde_json::from_str(&output.stdout).expect("env json");
    serde_json::from_value(value["vars"].clone()).expect("vars")
}

/// Fills (or reuses) the real sysroot of `target` with `packages`.
fn sysroot_add(target: &str, packages: &[&str]) -> PathBuf {
    let output = archway()
        .real_cache()
        .args(["sysroot", "add", "--target", target])
        .args(packages)
        .run();
    output.assert_code(0);
    PathBuf::from(output.stdout.trim())
}

/// Compiles `source` with the environment's `$CC $LDFLAGS` and the given extra shell words.
fn compile(
    vars: &BTreeMap<String, String>,
    directory: &Path,
    source: &str,
    extra: &str,
) -> PathBuf {
    fs::write(directory.join("program.c"), source).expect("write source");
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("$CC $CFLAGS program.c -o program $LDFLAGS {extra}"))
        .envs(vars)
        .current_dir(directory)
        .output()
        .expect("sh");
    assert!(
        output.status.success(),
        "compiling failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    directory.join("program")
}

/// The ELF header's `e_machine`, and whether the program has an interpreter (`PT_INTERP`).
fn elf_machine_and_interpreter(path: &Path) -> (u16, bool) {
    let bytes = fs::read(path).expect("read binary");
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    let little = bytes[5] == 1;
    let u16_at = |offset: usize| {
        let pair = [bytes[offset], bytes[offset + 1]];
        if little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    };
    let u32_at = |offset: usize| {
        let quad = [
            bytes[offset],
            bytes[offset + 1],
            bytes[offset + 2],
            bytes[offset + 3],
        ];
        if little {
            u32::from_le_bytes(quad)
        } else {
            u32::from_be_bytes(quad)
        }
    };
    let machine = u16_at(18);
    let is_64 = bytes[4] == 2;
    let (phoff, phentsize, phnum) = if is_64 {
        (
            u32_at(32) as usize,
            u16_at(54) as usize,
            u16_at(56) as usize,
        )
    } else {
        (
            u32_at(28) as usize,
            u16_at(42) as usize,
            u16_at(44) as usize,
        )
    };
    const PT_INTERP: u32 = 3;
    let interpreter = (0..phnum).any(|index| u32_at(phoff + index * phentsize) == PT_INTERP);
    (machine, interpreter)
}

const EM_AARCH64: u16 = 183;
const EM_RISCV: u16 = 243;

/// Links libpng and zlib from the sysroot, prints both libraries' versions (run time and
/// compile time), exits 3.
const PNG_PROGRAM: &str = r#"#include <png.h>
#include <zlib.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (png == NULL) return 1;
    png_destroy_write_struct(&png, NULL);
    printf("libpng %s/%s zlib %s/%s\n", png_get_libpng_ver(NULL), PNG_LIBPNG_VER_STRING, zlibVersion(), ZLIB_VERSION);
    return strcmp(png_get_libpng_ver(NULL), PNG_LIBPNG_VER_STRING) == 0 ? 3 : 2;
}
"#;

#[test]
fn a_library_from_sysroot_add_links_and_runs_under_qemu() {
    if !require(&[
        "apt-get",
        "dpkg-deb",
        "aarch64-linux-gnu-gcc",
        "clang",
        "pkg-config",
        "qemu-aarch64-static",
    ]) {
        return;
    }
    let sysroot = sysroot_add("aarch64-multiplatform", &["libpng-dev"]);
    assert!(
        sysroot.join("usr/include/png.h").is_file(),
        "libpng-dev unpacked"
    );
    let link =
        fs::read_link(sysroot.join("usr/lib/aarch64-linux-gnu/libz.so")).expect("libz.so link");
    assert!(
        link.is_relative(),
        "symlinks stay inside the sysroot: {}",
        link.display()
    );
    let pc = fs::read_to_string(sysroot.join("usr/lib/aarch64-linux-gnu/pkgconfig/libpng16.pc"))
        .expect("pc");
    assert!(
        pc.contains(&format!("prefix={}/usr", sysroot.display())),
        "{pc}"
    );

    for family in ["gcc", "clang"] {
        let vars = cross_env("aarch64-multiplatform", &["--family", family]);
        assert_eq!(
            vars["PKG_CONFIG_SYSROOT_DIR"],
            sysroot.display().to_string()
        );
        let work = tempfile::tempdir().expect("temp");
        let program = compile(
            &vars,
            work.path(),
            PNG_PROGRAM,
            "$(pkg-config --cflags --libs libpng zlib)",
        );
        assert_eq!(
            elf_machine_and_interpreter(&program),
            (EM_AARCH64, true),
            "{family}"
        );

        let output = archway()
            .real_cache()
            .args(["run", "--target", "aarch64-multiplatform", "--"])
            .arg(&program)
            .run();
        assert_eq!(
            output.code,
            Some(3),
            "{family}: the program's own exit code\n{}",
            output.snapshot()
        );
        assert!(
            output.stdout.starts_with("libpng 1.6."),
            "{}",
            output.stdout
        );
    }
}

#[test]
fn musl_targets_build_static_binaries_that_run_under_qemu() {
    if !require(&[
        "apt-get",
        "dpkg-deb",
        "clang",
        "ld.lld",
        "llvm-objcopy",
        "qemu-aarch64-static",
        "qemu-riscv64-static",
    ]) {
        return;
    }
    let source = "#include <stdio.h>\nint main(int argc, char **argv) { printf(\"musl %d %s\\n\", argc, argv[1]); return 42; }\n";
    for (target, machine) in [
        ("aarch64-multiplatform-musl", EM_AARCH64),
        ("riscv64-musl", EM_RISCV),
    ] {
        let sysroot = sysroot_add(target, &[]);
        let vars = cross_env(target, &[]);
        assert!(
            vars["CC"].contains(&sysroot.display().to_string()),
            "{target}: {}",
            vars["CC"]
        );
        let work = tempfile::tempdir().expect("temp");
        let program = compile(&vars, work.path(), source, "");
        assert_eq!(
            elf_machine_and_interpreter(&program),
            (machine, false),
            "{target}: static"
        );
        let output = archway()
            .real_cache()
            .args(["run", "--target", target, "--"])
            .arg(&program)
            .arg("hello")
            .run();
        assert_eq!(output.code, Some(42), "{target}\n{}", output.snapshot());
        assert_eq!(output.stdout, "musl 2 hello\n");
    }
}

/// Runs a command in `directory`, panicking with its output when it fails.
fn run_in(directory: &Path, program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(directory)
        .output()
        .unwrap_or_else(|error| panic!("running {program}: {error}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{text}"
    );
    text
}

/// The generated CMake toolchain file and Meson cross file cross compile, and their emulator
/// runs target programs: CMake's `check_c_source_runs` (try_run) and `ctest`, `meson test`.
#[test]
fn generated_files_drive_cmake_and_meson_with_the_emulator() {
    if !require(&[
        "cmake",
        "meson",
        "ninja",
        "aarch64-linux-gnu-gcc",
        "qemu-aarch64-static",
    ]) {
        return;
    }
    let work = tempfile::tempdir().expect("temp");
    let files = work.path().join("files");
    archway()
        .real_cache()
        .args([
            "toolchain",
            "files",
            "--target",
            "aarch64-multiplatform",
            "--out",
        ])
        .arg(&files)
        .run()
        .assert_code(0);
    let project = work.path().join("project");
    fs::create_dir_all(&project).expect("project dir");
    fs::write(
        project.join("probe.c"),
        "#include <stdio.h>\nint main(int argc, char **argv) {\n#if defined(__aarch64__)\n  printf(\"aarch64 %s\\n\", argc > 1 ? argv[1] : \"\");\n  return 0;\n#else\n  return 1;\n#endif\n}\n",
    )
    .expect("probe.c");
    fs::write(
        project.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.13)\nproject(probe C)\ninclude(CheckCSourceRuns)\n\
         check_c_source_runs(\"int main(void) { return 0; }\" TARGET_PROGRAMS_RUN)\n\
         if(NOT TARGET_PROGRAMS_RUN)\n  message(FATAL_ERROR \"try_run could not run a target program\")\nendif()\n\
         add_executable(probe probe.c)\nenable_testing()\nadd_test(NAME probe COMMAND probe hello)\n\
         set_tests_properties(probe PROPERTIES PASS_REGULAR_EXPRESSION \"aarch64 hello\")\n",
    )
    .expect("CMakeLists.txt");
    fs::write(
        project.join("meson.build"),
        "project('probe', 'c')\nprobe = executable('probe', 'probe.c')\ntest('probe', probe, args: ['hello'])\n\
         assert(meson.is_cross_build(), 'a cross build')\nassert(meson.can_run_host_binaries(), 'the exe_wrapper runs target programs')\n",
    )
    .expect("meson.build");

    let toolchain_file = format!(
        "-DCMAKE_TOOLCHAIN_FILE={}",
        files.join("toolchain.cmake").display()
    );
    run_in(
        &project,
        "cmake",
        &[
            "-S",
            ".",
            "-B",
            "cmake-build",
            "-G",
            "Ninja",
            &toolchain_file,
        ],
    );
    run_in(&project, "cmake", &["--build", "cmake-build"]);
    let (machine, _) = elf_machine_and_interpreter(&project.join("cmake-build/probe"));
    assert_eq!(machine, EM_AARCH64);
    let tests =
        fs::read_to_string(project.join("cmake-build/CTestTestfile.cmake")).expect("ctest file");
    assert!(
        tests.contains("qemu-aarch64-static"),
        "ctest runs through QEMU:\n{tests}"
    );
    run_in(
        &project,
        "ctest",
        &["--test-dir", "cmake-build", "--output-on-failure"],
    );

    let cross_file = files.join("meson-cross.ini");
    let cross_file = cross_file.to_str().expect("utf-8 path");
    run_in(
        &project,
        "meson",
        &["setup", "--cross-file", cross_file, "meson-build"],
    );
    run_in(&project, "meson", &["compile", "-C", "meson-build"]);
    let (machine, _) = elf_machine_and_interpreter(&project.join("meson-build/probe"));
    assert_eq!(machine, EM_AARCH64);
    run_in(
        &project,
        "meson",
        &["test", "-C", "meson-build", "--print-errorlogs"],
    );
}

/// As root, `toolchain install` runs apt-get for Debian's versioned cross compiler and then
/// finds it (the test packages have it installed already, so apt has nothing to change).
#[test]
fn toolchain_install_runs_apt_and_selects_the_installed_compiler() {
    if !require(&["apt-get", "aarch64-linux-gnu-gcc-11"]) {
        return;
    }
    let is_root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .map(|ids| ids.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !is_root && support::skip_unless_ci("not root") {
        return;
    }
    let output = archway()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args([
            "toolchain",
            "install",
            "--target",
            "aarch64-multiplatform",
            "--version",
            "11",
        ])
        .run();
    output.assert_code(0);
    assert!(
        output.stderr.contains("installed: gcc 11."),
        "{}",
        output.snapshot()
    );
}
