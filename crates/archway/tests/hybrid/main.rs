//! System tests of the hybrid method: real root filesystems (arm64/bookworm, riscv64/trixie),
//! real native prefixes from Debian's archive, real QEMU through binfmt_misc, real projects from
//! Debian's source archive (configure, CMake, Meson).
//!
//! For each project and target: the hybrid build and its own test suite pass, the artifacts are
//! the target's (ELF machine read with `object`), and what configure decided (config.h, zconf.h,
//! CMake's cache, Meson's introspection) equals what the emulated method's configure step — the
//! target's own compiler and shell under QEMU — decides. Root filesystems and prefixes go to the
//! normal cache directory, so a warm machine reuses them.

#[path = "../builds/sources.rs"]
mod sources;

use std::path::{Path, PathBuf};

use archway::build::{execute, prepare, BuildRequest, Goal, Prepared};
use archway::emulation::TemporaryRegistration;
use archway::executor::ChildOutput;
use archway::method::{Method, MethodRequest};
use archway::outcome::{ArtifactKind, Outcome};
use archway::platform::{NoProgress, Platform};
use archway::project::BuildSystem;
use object::Object;

/// `true` when the test can run; outside CI a missing prerequisite skips (saying why), under
/// `CI` it fails.
fn prerequisites() -> bool {
    let mut missing = Vec::new();
    if !archway_rootfs::running_as_root() {
        missing.push("root".to_string());
    }
    for tool in [
        "mmdebstrap",
        "bwrap",
        "apt-get",
        "dpkg-source",
        "qemu-aarch64-static",
    ] {
        if archway_rootfs::find_program(tool).is_none() {
            missing.push(format!("`{tool}`"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    !archway_platform::testing::skip_unless_ci(&format!("needs {}", missing.join(", ")))
}

/// One project for one target.
struct Case {
    package: &'static str,
    target: &'static str,
    build_system: BuildSystem,
    machine: object::Architecture,
    /// Artifacts that must be there.
    expected: &'static [&'static str],
    /// Files of the build directory that hold configure's decisions, compared between the
    /// hybrid and the emulated configure step (Meson's log: only its detections and checks).
    decisions: &'static [&'static str],
}

/// A prepared build of `case` with `method` into a fresh build directory, its output logged.
fn prepared(case: &Case, method: Method, source: &Path, build_dir: &Path) -> Prepared {
    let target = Platform::parse(case.target).expect("a known target");
    let mut request = BuildRequest::new(source, target);
    request.method = MethodRequest::Only(method);
    request.build_dir = Some(build_dir.to_path_buf());
    request.build_system = Some(case.build_system);
    request.output = ChildOutput::Log(log_of(build_dir));
    std::fs::create_dir_all(build_dir).expect("build directory");
    prepare(&request, &NoProgress).unwrap_or_else(|error| {
        panic!(
            "prepare {} for {} ({method}): {error}\nhint: {:?}",
            case.package,
            case.target,
            error.hint()
        )
    })
}

fn log_of(build_dir: &Path) -> PathBuf {
    build_dir.with_extension("log")
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Builds and tests `case` with the hybrid method, runs the emulated method's configure step on
/// the same sources, and compares what both decided.
fn hybrid_equals_emulated(case: &Case) {
    if !prerequisites() {
        return;
    }
    let source = sources::source(case.package)
        .unwrap_or_else(|error| panic!("fetching {}: {error}", case.package));
    let target = Platform::parse(case.target).expect("a known target");
    let _registration = TemporaryRegistration::for_target(&target).expect("a binfmt entry (root)");
    let scratch = tempfile::Builder::new()
        .prefix(&format!("archway-hybrid-{}-{}-", case.package, case.target))
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("scratch directory");

    let hybrid_dir = scratch.path().join("hybrid");
    let hybrid = prepared(case, Method::Hybrid, &source, &hybrid_dir);
    assert_eq!(hybrid.plan.method, Method::Hybrid);
    assert!(
        hybrid.executor.describe().contains("native prefix"),
        "{}",
        hybrid.executor.describe()
    );
    let started = std::time::Instant::now();
    let outcome = execute(
        &hybrid.plan,
        Goal::Test,
        hybrid.executor.as_ref(),
        &NoProgress,
    )
    .unwrap_or_else(|error| {
        panic!(
            "hybrid {} for {}: {error}\n--- log ---\n{}",
            case.package,
            case.target,
            tail(&log_of(&hybrid_dir))
        )
    });
    eprintln!(
        "{} for {}: hybrid build and tests in {:.1} s",
        case.package,
        case.target,
        started.elapsed().as_secs_f64()
    );
    assert!(outcome.tested);
    check_artifacts(case, &outcome);

    // The emulated method's configure step: the target's own gcc, shell and tools under QEMU.
    let emulated_dir = scratch.path().join("emulated");
    let emulated = prepared(case, Method::Emulated, &source, &emulated_dir);
    let recipe = emulated.plan.recipe.as_ref().expect("a recipe");
    std::fs::create_dir_all(&recipe.build_dir).expect("build directory");
    let started = std::time::Instant::now();
    // A configure project runs in a copy of the tree, as `build` makes it.
    if let Some(copy) = &recipe.copy {
        archway::build::sync_tree(copy).expect("the copy of the source tree");
    }
    for step in &recipe.configure {
        let code = emulated.executor.run(step).expect("the step starts");
        assert_eq!(
            code,
            Some(0),
            "emulated configure of {} for {}:\n{}",
            case.package,
            case.target,
            tail(&log_of(&emulated_dir))
        );
    }
    eprintln!(
        "{} for {}: emulated configure in {:.1} s",
        case.package,
        case.target,
        started.elapsed().as_secs_f64()
    );
    for file in case.decisions {
        let read = |dir: &Path| {
            let text = std::fs::read_to_string(dir.join(file))
                .unwrap_or_else(|error| panic!("{}: {error}", dir.join(file).display()));
            normalize(&text, dir, file)
        };
        let (hybrid_text, emulated_text) = (read(&hybrid_dir), read(&emulated_dir));
        assert!(
            hybrid_text == emulated_text,
            "{} for {}: `{file}` differs between hybrid and emulated:\n{}",
            case.package,
            case.target,
            difference(&hybrid_text, &emulated_text)
        );
    }
}

/// The build directory's own path, and values that differ from one run to the next, out.
fn normalize(text: &str, build_dir: &Path, file: &str) -> String {
    let text = text.replace(&build_dir.display().to_string(), "<BUILD>");
    let volatile = |line: &str| {
        // CMake's cache: where cmake itself and the build directory are, nothing decided.
        line.starts_with("CMAKE_CACHEFILE_DIR:")
            || line.starts_with("# For build in directory:")
            || line.contains("_BINARY_DIR:STATIC=")
    };
    // Meson's log: the machines it detected and every check's answer (bookworm's Meson 1.0 has
    // no intro-machines.json); the rest is timings and command lines.
    let decision = |line: &str| {
        !file.ends_with("meson-log.txt")
            || line.contains(" machine cpu")
            || line.ends_with(": YES")
            || line.ends_with(": NO")
            || line.contains(" found: ")
    };
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|line| !volatile(line) && decision(line))
        .collect();
    if file.ends_with(".json") {
        lines.sort_unstable();
    }
    lines.join("\n")
}

/// The lines only one side has.
fn difference(hybrid: &str, emulated: &str) -> String {
    let hybrid_lines: Vec<&str> = hybrid.lines().collect();
    let emulated_lines: Vec<&str> = emulated.lines().collect();
    let mut out = String::new();
    for line in &hybrid_lines {
        if !emulated_lines.contains(line) {
            out.push_str(&format!("hybrid only:   {line}\n"));
        }
    }
    for line in &emulated_lines {
        if !hybrid_lines.contains(line) {
            out.push_str(&format!("emulated only: {line}\n"));
        }
    }
    out
}

/// Every artifact is the target's (read with `object`), and the expected ones are there.
fn check_artifacts(case: &Case, outcome: &Outcome) {
    let names: Vec<String> = outcome
        .artifacts
        .iter()
        .filter_map(|artifact| artifact.path.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    for expected in case.expected {
        assert!(
            names.iter().any(|name| name == expected),
            "{} for {}: `{expected}` not among {names:?}",
            case.package,
            case.target
        );
    }
    for artifact in &outcome.artifacts {
        if artifact.kind == ArtifactKind::StaticLibrary {
            continue;
        }
        let bytes = std::fs::read(&artifact.path).expect("artifact readable");
        let file = object::File::parse(&*bytes)
            .unwrap_or_else(|e| panic!("`{}` is not a binary: {e}", artifact.path.display()));
        assert_eq!(
            file.architecture(),
            case.machine,
            "{}",
            artifact.path.display()
        );
    }
}

#[test]
fn zlib_configure_hybrid_equals_emulated_arm64() {
    hybrid_equals_emulated(&Case {
        package: "zlib",
        target: "aarch64-linux",
        build_system: BuildSystem::Configure,
        machine: object::Architecture::Aarch64,
        expected: &["libz.so.1.2.13", "example"],
        decisions: &["source/zconf.h", "source/Makefile"],
    });
}

#[test]
fn zlib_configure_hybrid_equals_emulated_riscv64() {
    hybrid_equals_emulated(&Case {
        package: "zlib",
        target: "riscv64-linux",
        build_system: BuildSystem::Configure,
        machine: object::Architecture::Riscv64,
        expected: &["libz.so.1.2.13", "example"],
        decisions: &["source/zconf.h", "source/Makefile"],
    });
}

#[test]
fn xz_utils_configure_hybrid_equals_emulated_arm64() {
    hybrid_equals_emulated(&Case {
        package: "xz-utils",
        target: "aarch64-linux",
        build_system: BuildSystem::Configure,
        machine: object::Architecture::Aarch64,
        expected: &["liblzma.so.5.4.1", "xz"],
        decisions: &["source/config.h"],
    });
}

#[test]
fn xz_utils_configure_hybrid_equals_emulated_riscv64() {
    hybrid_equals_emulated(&Case {
        package: "xz-utils",
        target: "riscv64-linux",
        build_system: BuildSystem::Configure,
        machine: object::Architecture::Riscv64,
        expected: &["liblzma.so.5.4.1", "xz"],
        decisions: &["source/config.h"],
    });
}

#[test]
fn cjson_cmake_hybrid_equals_emulated_arm64() {
    hybrid_equals_emulated(&Case {
        package: "cjson",
        target: "aarch64-linux",
        build_system: BuildSystem::Cmake,
        machine: object::Architecture::Aarch64,
        expected: &["libcjson.so.1.7.15", "cJSON_test"],
        decisions: &["CMakeCache.txt"],
    });
}

#[test]
fn cjson_cmake_hybrid_equals_emulated_riscv64() {
    hybrid_equals_emulated(&Case {
        package: "cjson",
        target: "riscv64-linux",
        build_system: BuildSystem::Cmake,
        machine: object::Architecture::Riscv64,
        expected: &["libcjson.so.1.7.15", "cJSON_test"],
        decisions: &["CMakeCache.txt"],
    });
}

#[test]
fn libinih_meson_hybrid_equals_emulated_arm64() {
    hybrid_equals_emulated(&Case {
        package: "libinih",
        target: "aarch64-linux",
        build_system: BuildSystem::Meson,
        machine: object::Architecture::Aarch64,
        expected: &["libinih.so.0", "unittest_multi"],
        decisions: &[
            "meson-logs/meson-log.txt",
            "meson-info/intro-buildoptions.json",
        ],
    });
}

#[test]
fn libinih_meson_hybrid_equals_emulated_riscv64() {
    hybrid_equals_emulated(&Case {
        package: "libinih",
        target: "riscv64-linux",
        build_system: BuildSystem::Meson,
        machine: object::Architecture::Riscv64,
        expected: &["libinih.so.0", "unittest_multi"],
        decisions: &[
            "meson-logs/meson-log.txt",
            "meson-info/intro-buildoptions.json",
        ],
    });
}

/// A build step that calls a program the prefix does not hold (`dpkg`, kept the target's on
/// purpose) still works: it runs emulated from the root filesystem, and says the target's
/// architecture; the build's own shell and compiler are the prefix's x86-64 programs.
#[test]
fn a_tool_the_prefix_lacks_runs_emulated_from_the_rootfs() {
    if !prerequisites() {
        return;
    }
    let target = Platform::parse("aarch64-linux").expect("target");
    let _registration = TemporaryRegistration::for_target(&target).expect("a binfmt entry (root)");
    let project = tempfile::Builder::new()
        .prefix("archway-hybrid-tool-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("project");
    std::fs::write(
        project.path().join("Makefile"),
        "all: hello\n\
         \tdpkg --print-architecture > architecture.txt\n\
         \tod -An -tx1 -j18 -N2 \"$$(command -v make)\" | tr -d ' \\n' > make-machine.txt\n\
         \tod -An -tx1 -j18 -N2 \"$$(readlink -f \"$$(command -v gcc)\")\" | tr -d ' \\n' > gcc-machine.txt\n\
         hello: hello.c\n\
         \t$(CC) -O2 -o hello hello.c\n\
         check: hello\n\
         \t./hello\n",
    )
    .expect("Makefile");
    std::fs::write(
        project.path().join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
    )
    .expect("hello.c");
    let mut request = BuildRequest::new(project.path(), target);
    request.method = MethodRequest::Only(Method::Hybrid);
    request.build_system = Some(BuildSystem::Make);
    let log = project.path().join("build.log");
    request.output = ChildOutput::Log(log.clone());
    let prepared = prepare(&request, &NoProgress).expect("prepare");
    let outcome = execute(
        &prepared.plan,
        Goal::Test,
        prepared.executor.as_ref(),
        &NoProgress,
    )
    .unwrap_or_else(|error| panic!("{error}\n{}", tail(&log)));
    let built = &outcome.build_dir;
    let read = |name: &str| std::fs::read_to_string(built.join(name)).expect(name);
    assert_eq!(
        read("architecture.txt").trim(),
        "arm64",
        "dpkg ran emulated"
    );
    // e_machine, little-endian: 0x3e 0x00 is x86-64.
    assert_eq!(read("make-machine.txt"), "3e00", "make is native");
    assert_eq!(read("gcc-machine.txt"), "3e00", "gcc is native");
    let hello = std::fs::read(built.join("hello")).expect("hello");
    let file = object::File::parse(&*hello).expect("an ELF file");
    assert_eq!(file.architecture(), object::Architecture::Aarch64);
}
