//! System tests of the cross method: real projects from Debian's source archive, configured,
//! built and tested for foreign architectures with the cross toolchains of this host, their
//! test suites run under QEMU. Every artifact's architecture is read back from the file.
//!
//! Needs: the cross compilers and QEMU of `scripts/test-packages.txt`, deb-src entries, and
//! root (a temporary binfmt_misc entry) where `make check` runs foreign programs directly.
//! Outside CI a missing piece skips the test with a note on stderr; under CI it fails
//! (`archway_platform::testing`).

mod emulation;
mod sources;

use archway::build::{execute, prepare, BuildRequest, Goal};
use archway::executor::ChildOutput;
use archway::method::{Method, MethodRequest};
use archway::outcome::{ArtifactKind, Outcome};
use archway::platform::{NoProgress, Platform};
use archway::project::BuildSystem;
use archway_platform::testing::{in_ci, require, skip_unless_ci};
use object::{Architecture, Object};

fn have_program(program: &str) -> bool {
    archway::executor::find_program(program, std::env::var_os("PATH").as_deref()).is_some()
}

/// One project built for one target.
struct Case<'a> {
    package: &'a str,
    target: &'a str,
    build_system: Option<BuildSystem>,
    configure_args: &'a [&'a str],
    goal: Goal,
    /// Programs the case needs besides the compiler archway selects.
    tools: &'a [&'a str],
    architecture: Architecture,
    big_endian: bool,
    /// File names that must be among the artifacts.
    expected: &'a [&'a str],
}

/// Builds (and tests) the case; `None` when skipped.
fn build(case: &Case<'_>) -> Option<Outcome> {
    for tool in case.tools.iter().chain(&["apt-get", "dpkg-source"]) {
        if !require(have_program(tool), &format!("`{tool}` on PATH")) {
            return None;
        }
    }
    let source = match sources::source(case.package) {
        Ok(source) => source,
        Err(error) => {
            skip_unless_ci(&format!("could not fetch `{}`: {error}", case.package));
            return None;
        }
    };
    let target = Platform::parse(case.target).expect("a known target");
    let build_dir = tempfile::Builder::new()
        .prefix(&format!("archway-{}-{}-", case.package, case.target))
        .tempdir()
        .expect("build directory");
    let log = build_dir.path().join("build.log");
    let mut request = BuildRequest::new(&source, target);
    request.method = MethodRequest::Only(Method::Cross);
    request.build_dir = Some(build_dir.path().join("out"));
    request.build_system = case.build_system;
    request.configure_args = case.configure_args.iter().map(|a| a.to_string()).collect();
    // The target's own libc from the cross toolchain: a sysroot other tests may have put in the
    // cache directory is not part of this test.
    request.cache_dir = None;
    request.output = ChildOutput::Log(log.clone());
    let prepared = prepare(&request, &NoProgress)
        .unwrap_or_else(|error| panic!("prepare {}: {error}", case.package));
    // The project's steps run in the host sandbox (archway::host_sandbox), not on the host.
    let executor = prepared.executor.describe();
    assert!(
        executor.starts_with("bubblewrap over the host's system, as "),
        "{executor}"
    );
    let outcome = match execute(
        &prepared.plan,
        case.goal,
        prepared.executor.as_ref(),
        &NoProgress,
    ) {
        Ok(outcome) => outcome,
        Err(archway::Error::NoEmulation { .. }) if !in_ci() => {
            skip_unless_ci(&format!(
                "no binfmt_misc entry for `{}` and not root",
                case.target
            ));
            return None;
        }
        Err(error) => {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(80).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "{} for {}: {error}\n--- last lines of the build log ---\n{}",
                case.package,
                case.target,
                tail.join("\n")
            );
        }
    };
    check_artifacts(case, &outcome);
    assert_eq!(outcome.tested, case.goal == Goal::Test);
    Some(outcome)
}

/// Every artifact is for the case's architecture — read from the file with `object`, not from
/// archway's own identification — and the expected ones are there.
fn check_artifacts(case: &Case<'_>, outcome: &Outcome) {
    let names: Vec<String> = outcome
        .artifacts
        .iter()
        .filter_map(|artifact| artifact.path.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    for expected in case.expected {
        assert!(
            names.iter().any(|name| name == expected),
            "{} for {}: `{expected}` not among the artifacts {names:?}",
            case.package,
            case.target
        );
    }
    for artifact in &outcome.artifacts {
        let bytes = std::fs::read(&artifact.path).expect("artifact readable");
        let bytes = if artifact.kind == ArtifactKind::StaticLibrary {
            first_member(&bytes)
        } else {
            bytes
        };
        let file = object::File::parse(&*bytes)
            .unwrap_or_else(|e| panic!("`{}` is not a binary: {e}", artifact.path.display()));
        assert_eq!(
            file.architecture(),
            case.architecture,
            "`{}` is for {:?}",
            artifact.path.display(),
            file.architecture()
        );
        assert_eq!(
            file.is_little_endian(),
            !case.big_endian,
            "{}",
            artifact.path.display()
        );
    }
}

fn first_member(bytes: &[u8]) -> Vec<u8> {
    let archive = object::read::archive::ArchiveFile::parse(bytes).expect("an ar archive");
    archive
        .members()
        .flatten()
        .filter_map(|member| member.data(bytes).ok())
        .find(|data| object::File::parse(*data).is_ok())
        .expect("an object in the archive")
        .to_vec()
}

fn zlib(target: &str, architecture: Architecture, big_endian: bool, tools: &[&str]) {
    build(&Case {
        package: "zlib",
        target,
        // zlib also ships CMakeLists.txt, which detection prefers: this is the configure path.
        build_system: Some(BuildSystem::Configure),
        configure_args: &[],
        goal: Goal::Test,
        tools,
        architecture,
        big_endian,
        expected: &[
            "libz.so.1.2.13",
            "libz.a",
            "example",
            "minigzip",
            "example64",
        ],
    });
}

#[test]
fn zlib_configure_make_check_aarch64() {
    zlib(
        "aarch64",
        Architecture::Aarch64,
        false,
        &["aarch64-linux-gnu-gcc", "qemu-aarch64-static"],
    );
}

#[test]
fn zlib_configure_make_check_riscv64() {
    zlib(
        "riscv64",
        Architecture::Riscv64,
        false,
        &["riscv64-linux-gnu-gcc", "qemu-riscv64-static"],
    );
}

#[test]
fn zlib_configure_make_check_big_endian_s390x() {
    zlib(
        "s390x",
        Architecture::S390x,
        true,
        &["s390x-linux-gnu-gcc", "qemu-s390x-static"],
    );
}

#[test]
fn zlib_configure_builds_for_mingw_x86_64() {
    build(&Case {
        package: "zlib",
        target: "x86_64-w64-mingw32",
        build_system: Some(BuildSystem::Configure),
        // zlib's configure cannot link a DLL with MinGW (it asks for `-lc`): the static library
        // and the programs, as zlib's own win32/Makefile.gcc builds by default.
        configure_args: &["--static"],
        goal: Goal::Build,
        tools: &["x86_64-w64-mingw32-gcc"],
        architecture: Architecture::X86_64,
        big_endian: false,
        expected: &["libz.a", "example.exe", "minigzip.exe"],
    });
}

fn cjson(target: &str, architecture: Architecture, tools: &[&str]) {
    build(&Case {
        package: "cjson",
        target,
        build_system: None,
        configure_args: &[],
        goal: Goal::Test,
        tools,
        architecture,
        big_endian: false,
        expected: &["libcjson.so.1.7.15", "cJSON_test"],
    });
}

#[test]
fn cjson_cmake_ctest_aarch64() {
    cjson(
        "aarch64",
        Architecture::Aarch64,
        &[
            "cmake",
            "ctest",
            "aarch64-linux-gnu-gcc",
            "qemu-aarch64-static",
        ],
    );
}

#[test]
fn cjson_cmake_ctest_riscv64() {
    cjson(
        "riscv64",
        Architecture::Riscv64,
        &[
            "cmake",
            "ctest",
            "riscv64-linux-gnu-gcc",
            "qemu-riscv64-static",
        ],
    );
}

fn libinih(target: &str, architecture: Architecture, tools: &[&str]) {
    build(&Case {
        package: "libinih",
        target,
        build_system: None,
        configure_args: &[],
        goal: Goal::Test,
        tools,
        architecture,
        big_endian: false,
        expected: &["libinih.so.0", "unittest_multi"],
    });
}

#[test]
fn libinih_meson_test_aarch64() {
    libinih(
        "aarch64",
        Architecture::Aarch64,
        &[
            "meson",
            "ninja",
            "aarch64-linux-gnu-g++",
            "qemu-aarch64-static",
        ],
    );
}

#[test]
fn libinih_meson_test_riscv64() {
    libinih(
        "riscv64",
        Architecture::Riscv64,
        &[
            "meson",
            "ninja",
            "riscv64-linux-gnu-g++",
            "qemu-riscv64-static",
        ],
    );
}

fn bzip2(target: &str, architecture: Architecture, tools: &[&str]) {
    build(&Case {
        package: "bzip2",
        target,
        build_system: None,
        configure_args: &[],
        goal: Goal::Test,
        tools,
        architecture,
        big_endian: false,
        expected: &["bzip2", "bzip2recover", "libbz2.a"],
    });
}

#[test]
fn bzip2_plain_makefile_make_check_aarch64() {
    bzip2(
        "aarch64",
        Architecture::Aarch64,
        &["make", "aarch64-linux-gnu-gcc", "qemu-aarch64-static"],
    );
}

#[test]
fn bzip2_plain_makefile_make_check_riscv64() {
    bzip2(
        "riscv64",
        Architecture::Riscv64,
        &["make", "riscv64-linux-gnu-gcc", "qemu-riscv64-static"],
    );
}

/// Lua's makefiles give the archiver its flags (`AR= ar rcu`) and hard-code `CC= gcc`: the
/// compiler must be the cross one, the archiver keep its flags. (No test suite at the top.)
fn lua(target: &str, architecture: Architecture, big_endian: bool, tools: &[&str]) {
    build(&Case {
        package: "lua5.4",
        target,
        build_system: None,
        configure_args: &[],
        goal: Goal::Build,
        tools,
        architecture,
        big_endian,
        expected: &["lua", "luac", "liblua.a"],
    });
}

#[test]
fn lua_plain_makefile_with_its_own_archiver_flags_aarch64() {
    lua(
        "aarch64",
        Architecture::Aarch64,
        false,
        &["make", "aarch64-linux-gnu-gcc"],
    );
}

#[test]
fn lua_plain_makefile_with_its_own_archiver_flags_big_endian_s390x() {
    lua(
        "s390x",
        Architecture::S390x,
        true,
        &["make", "s390x-linux-gnu-gcc"],
    );
}

/// brotli 1.0.9's `configure` is a stub that only names the real build systems; debhelper (as
/// archway) runs it and then the shipped Makefile, whose tests are its `test` target.
#[test]
fn brotli_stub_configure_then_the_shipped_makefile_and_its_test_target_riscv64() {
    build(&Case {
        package: "brotli",
        target: "riscv64",
        build_system: None,
        configure_args: &[],
        goal: Goal::Test,
        tools: &["make", "riscv64-linux-gnu-gcc", "qemu-riscv64-static"],
        architecture: Architecture::Riscv64,
        big_endian: false,
        expected: &["brotli"],
    });
}

/// The files of the tree at `root`, relative and sorted.
fn tree_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("read source directory")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                files.push(relative.to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// libyaml as Debian ships it: `configure.ac`, `CMakeLists.txt`, no `configure`. Debian builds
/// it with dh_autoreconf and the generated `configure`; so does archway, in a copy of the tree
/// under the build directory, and `make check` runs the test programs under QEMU.
#[test]
fn libyaml_autoreconf_configure_make_check_aarch64() {
    let before = match sources::source("libyaml") {
        Ok(tree) => {
            assert!(
                !tree.join("configure").exists(),
                "the tree ships `configure`"
            );
            tree_files(&tree)
        }
        Err(error) => {
            skip_unless_ci(&format!("could not fetch `libyaml`: {error}"));
            return;
        }
    };
    let outcome = build(&Case {
        package: "libyaml",
        target: "aarch64",
        build_system: None,
        configure_args: &[],
        goal: Goal::Test,
        tools: &[
            "autoreconf",
            "automake",
            "libtoolize",
            "make",
            "aarch64-linux-gnu-gcc",
            "qemu-aarch64-static",
        ],
        architecture: Architecture::Aarch64,
        big_endian: false,
        expected: &["libyaml.a"],
    });
    if outcome.is_none() {
        return;
    }
    let tree = sources::source("libyaml").expect("fetched above");
    assert_eq!(tree_files(&tree), before, "the source tree changed");
}
