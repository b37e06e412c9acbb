//! Emulators that are not QEMU: Wine runs the tests of Windows builds (mingwW64) and a WASI
//! runtime those of WASI builds (wasi32): through CMake's `CMAKE_CROSSCOMPILING_EMULATOR`,
//! through a temporary binfmt_misc entry for `make check`, through `archway run`, and through
//! an entry `archway binfmt install` registers.
//!
//! Wine's first start (`wineboot --init`) takes tens of seconds: every test here shares one
//! cache (so one Wine prefix), kept in Cargo's per-target test directory between runs.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{self, archway};

/// The cache all tests of this file share (its build cache is off: a second run of the suite
/// would restore these builds instead of running them).
fn shared_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("emulators-cache")
}

fn tools_present(tools: &[&str]) -> bool {
    tools.iter().all(|tool| {
        support::have_tool(tool) || !support::skip_unless_ci(&format!("`{tool}` on PATH"))
    })
}

fn wine_present() -> bool {
    tools_present(&["x86_64-w64-mingw32-gcc", "wine", "wineboot"])
}

fn wasi_present() -> bool {
    tools_present(&["clang", "node"])
        && (Path::new("/usr/include/wasm32-wasi/stdio.h").is_file()
            || !support::skip_unless_ci("Debian's `wasi-libc` (/usr/include/wasm32-wasi)"))
}

/// Root: `/proc/self` belongs to the process's effective user.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|metadata| metadata.uid() == 0)
}

/// A CMake project whose test checks a library's answer (42), like `build.rs`'s, with the
/// library static: wasm32 has no shared libraries.
fn write_cmake_project(dir: &Path, library: &str) {
    fs::create_dir_all(dir).expect("project dir");
    fs::write(
        dir.join("CMakeLists.txt"),
        format!(
            "cmake_minimum_required(VERSION 3.13)\nproject(greet C)\nenable_testing()\n\
             add_library(greet {library} greet.c)\nadd_executable(hello hello.c)\n\
             target_link_libraries(hello greet)\nadd_test(NAME hello COMMAND hello)\n"
        ),
    )
    .expect("CMakeLists.txt");
    fs::write(dir.join("greet.c"), "int greet(void) { return 42; }\n").expect("greet.c");
    fs::write(
        dir.join("hello.c"),
        "#include <stdio.h>\nint greet(void);\nint main(void) { printf(\"greet=%d\\n\", greet()); return greet() == 42 ? 0 : 1; }\n",
    )
    .expect("hello.c");
}

/// A configure project whose `make check` runs the program it built as `./adler$(EXEEXT)`:
/// only the kernel (binfmt_misc) can run it. `configure` finds `EXEEXT` the way autoconf's
/// `_AC_COMPILER_EXEEXT` does: it compiles a program and looks at what appeared.
fn write_configure_project(dir: &Path, expected: &str) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir).expect("project dir");
    let configure = dir.join("configure");
    fs::write(
        &configure,
        "#!/bin/sh\nsrcdir=$(dirname \"$0\")\n\
         printf 'int main(void) { return 0; }\\n' > conftest.c\n\
         ${CC:-cc} $CFLAGS $LDFLAGS -o conftest conftest.c || exit 1\n\
         if [ -f conftest.exe ]; then exeext=.exe; else exeext=; fi\n\
         rm -f conftest conftest.exe conftest.c\n\
         printf 'CC = %s\\nCFLAGS = %s\\nLDFLAGS = %s\\nEXEEXT = %s\\nsrcdir = %s\\n' \"${CC:-cc}\" \"$CFLAGS\" \"$LDFLAGS\" \"$exeext\" \"$srcdir\" > Makefile\n\
         cat \"$srcdir/Makefile.in\" >> Makefile\n",
    )
    .expect("configure");
    fs::set_permissions(&configure, fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::write(
        dir.join("Makefile.in"),
        format!(
            "all: adler$(EXEEXT)\nadler$(EXEEXT): $(srcdir)/adler.c\n\t$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(srcdir)/adler.c\n\
             check: all\n\t./adler$(EXEEXT) Wikipedia {expected}\n"
        ),
    )
    .expect("Makefile.in");
    // Adler-32 (RFC 1950) of argv[1], compared with argv[2]: "Wikipedia" is 11e60398.
    fs::write(
        dir.join("adler.c"),
        "#include <stdio.h>\n#include <string.h>\n\
         int main(int argc, char **argv) {\n\
           unsigned long a = 1, b = 0; char text[16];\n\
           for (const char *s = argv[1]; *s; s++) { a = (a + (unsigned char)*s) % 65521; b = (b + a) % 65521; }\n\
           snprintf(text, sizeof text, \"%08lx\", (b << 16) | a);\n\
           printf(\"adler32=%s\\n\", text);\n\
           return strcmp(text, argv[2]) == 0 ? 0 : 1;\n}\n",
    )
    .expect("adler.c");
}

fn test_project(target: &str, project: &str, setup: impl FnOnce(&Path)) -> support::Output {
    let command = archway()
        .env("ARCHWAY_CACHE_DIR", shared_cache())
        .env("ARCHWAY_CACHE_ENABLED", "false");
    setup(&command.work_dir().join(project));
    command
        .args(["test", "--target", target, "-C", project])
        .run()
}

#[test]
fn mingw_w64_cmake_tests_pass_under_wine() {
    if !(wine_present() && tools_present(&["cmake", "ctest"])) {
        return;
    }
    let output = test_project("mingwW64", "cmake", |dir| {
        write_cmake_project(dir, "SHARED")
    });
    output.assert_code(0);
    let all = format!("{}{}", output.stdout, output.stderr);
    assert!(all.contains("100% tests passed"), "{}", output.snapshot());
    assert!(all.contains("hello.exe"), "{}", output.snapshot());
    assert!(all.contains("libgreet.dll"), "{}", output.snapshot());
}

#[test]
fn mingw_w64_make_check_runs_the_exe_through_a_temporary_wine_entry() {
    if !wine_present() {
        return;
    }
    if !archway_platform::testing::require(
        is_root(),
        "not root (make check needs a binfmt_misc entry)",
    ) {
        return;
    }
    let passing = test_project("mingwW64", "configure", |dir| {
        write_configure_project(dir, "11e60398")
    });
    passing.assert_code(0);
    assert!(
        passing.stderr.contains("adler32=11e60398") || passing.stdout.contains("adler32=11e60398"),
        "{}",
        passing.snapshot()
    );
    // The program's own verdict reaches make: a wrong expectation fails the step.
    let failing = test_project("mingwW64", "configure", |dir| {
        write_configure_project(dir, "00000000")
    });
    assert_ne!(failing.code, Some(0), "{}", failing.snapshot());
    assert!(
        failing.stderr.contains("`make check`"),
        "{}",
        failing.snapshot()
    );
}

#[test]
fn wasi32_cmake_and_configure_tests_pass_under_the_wasi_runtime() {
    if !(wasi_present() && tools_present(&["cmake", "ctest"])) {
        return;
    }
    let output = test_project("wasi32", "cmake", |dir| write_cmake_project(dir, "STATIC"));
    output.assert_code(0);
    let all = format!("{}{}", output.stdout, output.stderr);
    assert!(all.contains("100% tests passed"), "{}", output.snapshot());
    assert!(all.contains("wasm32-unknown-wasi"), "{}", output.snapshot());
    if !archway_platform::testing::require(
        is_root(),
        "not root (make check needs a binfmt_misc entry)",
    ) {
        return;
    }
    let output = test_project("wasi32", "configure", |dir| {
        write_configure_project(dir, "11e60398")
    });
    output.assert_code(0);
    let all = format!("{}{}", output.stdout, output.stderr);
    assert!(all.contains("adler32=11e60398"), "{}", output.snapshot());
}

/// Compiles `main` for `target` with `compiler` into `<dir>/<name>`.
fn compile(compiler: &[&str], dir: &Path, name: &str) -> PathBuf {
    fs::create_dir_all(dir).expect("dir");
    let source = dir.join("exit.c");
    fs::write(
        &source,
        "#include <stdio.h>\nint main(int argc, char **argv) { printf(\"args=%d %s\\n\", argc, argc > 1 ? argv[1] : \"-\"); return 3; }\n",
    )
    .expect("source");
    let output = dir.join(name);
    let status = std::process::Command::new(compiler[0])
        .args(&compiler[1..])
        .arg("-o")
        .arg(&output)
        .arg(&source)
        .status()
        .expect("compiler");
    assert!(status.success(), "{compiler:?} failed");
    output
}

#[test]
fn run_passes_arguments_and_the_exit_code_through_wine_and_the_wasi_runtime() {
    if !(wine_present() && wasi_present()) {
        return;
    }
    let command = archway();
    let dir = command.work_dir();
    let exe = compile(&["x86_64-w64-mingw32-gcc"], &dir, "exit.exe");
    let output = command
        .env("ARCHWAY_CACHE_DIR", shared_cache())
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .arg("run")
        .args(["--target", "mingwW64", "--"])
        .arg(&exe)
        .arg("windows")
        .run();
    output.assert_code(3);
    assert_eq!(output.stdout.replace('\r', ""), "args=2 windows\n");

    let command = archway();
    let dir = command.work_dir();
    let wasm = compile(&["clang", "--target=wasm32-wasi"], &dir, "exit.wasm");
    let output = command
        .env("ARCHWAY_CACHE_DIR", shared_cache())
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .arg("run")
        .args(["--target", "wasi32", "--"])
        .arg(&wasm)
        .arg("wasi")
        .run();
    output.assert_code(3);
    assert_eq!(output.stdout, "args=2 wasi\n");
}

#[test]
fn run_for_32_bit_windows_without_wine32_gives_the_commands_that_add_it() {
    if Path::new("/usr/lib/wine/wine").exists() || !Path::new("/usr/lib/wine/wine64").exists() {
        eprintln!("skipped: needs Debian's wine64 without wine32:i386");
        return;
    }
    let output = archway()
        .env("ARCHWAY_CACHE_DIR", shared_cache())
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .args(["run", "--target", "mingw32", "--", "/bin/true"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

/// Removes a binfmt_misc entry when dropped, so a failing test leaves nothing behind.
struct RemoveEntry(String);

impl Drop for RemoveEntry {
    fn drop(&mut self) {
        let path = Path::new("/proc/sys/fs/binfmt_misc").join(&self.0);
        if path.exists() {
            if let Err(error) = fs::write(&path, "-1") {
                eprintln!("could not remove the test entry `{}`: {error}", self.0);
            }
        }
    }
}

#[test]
fn binfmt_installed_wine_entry_runs_an_exe_directly() {
    if !wine_present() {
        return;
    }
    if !archway_platform::testing::require(is_root(), "not root (binfmt_misc registration)") {
        return;
    }
    // The entry `binfmt export` writes, under a name of this test's own.
    let exported = archway()
        .args(["binfmt", "export", "--format", "lines", "wine"])
        .run();
    exported.assert_code(0);
    let line = exported.stdout.trim();
    assert!(line.starts_with(":wine:M::\\x4d\\x5a::"), "{line}");
    let name = format!("archway-tmp-test-wine-{}", std::process::id());
    let line = line.replacen(":wine:", &format!(":{name}:"), 1);
    let _remove = RemoveEntry(name.clone());
    archway()
        .args(["binfmt", "install", "--line", &line])
        .run()
        .assert_code(0);
    let status = archway().args(["binfmt", "status"]).run();
    let row = status
        .stdout
        .lines()
        .find(|row| row.starts_with(&name))
        .unwrap_or_else(|| panic!("no `{name}` row\n{}", status.stdout));
    assert!(row.contains(" wine "), "{row}");

    let dir = tempfile::tempdir().expect("temp dir");
    let exe = compile(&["x86_64-w64-mingw32-gcc"], dir.path(), "direct.exe");
    // The Wine prefix is made by archway's runner (`wineboot --init` under its lock) before
    // the kernel starts Wine directly: a Wine started on a prefix another test's runner is
    // still making fails (seen under load: exit code 1).
    archway()
        .env("ARCHWAY_CACHE_DIR", shared_cache())
        .env("ARCHWAY_CACHE_ENABLED", "false")
        .arg("run")
        .args(["--target", "mingwW64", "--"])
        .arg(&exe)
        .arg("runner")
        .run()
        .assert_code(3);
    let output = std::process::Command::new(&exe)
        .arg("kernel")
        .env("WINEPREFIX", shared_cache().join("wine/x86_64-w64-mingw32"))
        .env("WINEDEBUG", "-all")
        .output()
        .expect("the kernel runs the .exe through the entry");
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).replace('\r', ""),
        "args=2 kernel\n"
    );
    archway()
        .args(["binfmt", "uninstall", &name])
        .run()
        .assert_code(0);
    assert!(!Path::new("/proc/sys/fs/binfmt_misc").join(&name).exists());
}

/// `archway run` runs the platform's own CPU: a freestanding ARMv6 program runs for raspberryPi
/// (QEMU's `arm1176`), one with an ARMv7-only instruction (`movw`) dies of SIGILL there
/// (exit 128 + 4) and runs for armv7l-hf-multiplatform.
#[test]
fn run_uses_the_platforms_own_cpu_model() {
    for tool in ["arm-linux-gnueabihf-gcc", "qemu-arm-static"] {
        if !support::have_tool(tool) && support::skip_unless_ci(&format!("needs `{tool}`")) {
            return;
        }
    }
    let command = archway();
    let work = command.work_dir();
    let build = |name: &str, extra: &str| {
        let source = work.join(format!("{name}.S"));
        std::fs::write(
            &source,
            format!(
                ".arm\n.global _start\n_start:\n mov r0, #1\n adr r1, message\n mov r2, #3\n mov r7, #4\n svc #0\n {extra}\n mov r0, #0\n mov r7, #1\n svc #0\nmessage:\n .ascii \"ok\\n\"\n"
            ),
        )
        .expect("source");
        let status = std::process::Command::new("arm-linux-gnueabihf-gcc")
            .args(["-nostdlib", "-static", "-march=armv7-a+fp", "-marm", "-o"])
            .arg(work.join(name))
            .arg(&source)
            .status()
            .expect("compiler");
        assert!(status.success());
    };
    build("armv6", "nop");
    build("armv7", "movw r3, #0x1234");
    let armv6 = command
        .args(["run", "--target", "raspberryPi", "--", "./armv6"])
        .run();
    armv6.assert_code(0);
    assert_eq!(armv6.stdout, "ok\n");
    let run = |target: &str| {
        archway()
            .current_dir(armv6.temp().join("work"))
            .args(["run", "--target", target, "--", "./armv7"])
            .run()
    };
    let on_pi = run("raspberryPi");
    on_pi.assert_code(128 + 4);
    assert_eq!(on_pi.stdout, "ok\n", "runs up to the ARMv7 instruction");
    run("armv7l-hf-multiplatform").assert_code(0);
}
