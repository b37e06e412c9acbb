//! Two clones of the same sources in two directories build to the same bytes: zlib from
//! Debian's source archive, copied into two directories of different path lengths, each built
//! cold for aarch64 with the cross method (its default build directory inside the tree, so the
//! build directory lies inside the source tree as usual), with debug information (`-g`, the
//! user's `CFLAGS`: they still reach the build) so that the compile directory and the file
//! names are in the output.
//!
//! The same with the hybrid method (the arm64 root filesystem and its prefix from the cache),
//! and a Rust program with the native method.
//!
//! Needs `aarch64-linux-gnu-gcc` and deb-src entries (and for the hybrid method root, bwrap,
//! mmdebstrap and QEMU): outside CI a missing piece skips with a note on stderr, under CI it
//! fails (`archway_platform::testing`).

#[path = "builds/sources.rs"]
mod sources;

use std::path::{Path, PathBuf};

use archway::build::{execute, prepare, BuildRequest, Goal};
use archway::emulation::TemporaryRegistration;
use archway::executor::ChildOutput;
use archway::method::{Method, MethodRequest};
use archway::platform::{NoProgress, Platform};
use archway_platform::testing::{require, skip_unless_ci};
use object::{Object, ObjectSection};

/// A copy of `source` at `destination` (regular files, directories and symlinks).
fn copy_tree(source: &Path, destination: &Path) {
    std::fs::create_dir_all(destination).expect("create the copy");
    for entry in std::fs::read_dir(source).expect("read the source") {
        let entry = entry.expect("directory entry");
        let kind = entry.file_type().expect("file type");
        let to = destination.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &to);
        } else if kind.is_symlink() {
            let target = std::fs::read_link(entry.path()).expect("read link");
            std::os::unix::fs::symlink(target, &to).expect("symlink");
        } else {
            // `copy` keeps the permissions (configure stays executable), not the times.
            std::fs::copy(entry.path(), &to).expect("copy a file");
        }
    }
}

/// Builds the clone at `project` with `method`; the build directory.
fn build(project: &Path, method: Method) -> PathBuf {
    let target = Platform::parse("aarch64").expect("a known target");
    let mut request = BuildRequest::new(project, target);
    request.method = MethodRequest::Only(method);
    if method == Method::Cross {
        // The cross toolchain's own libc: a sysroot other tests may have put in the cache
        // directory is not part of this test. The hybrid method takes the root filesystem
        // and prefix from the usual cache directory (a warm machine reuses them).
        request.cache_dir = None;
    }
    // The user's CFLAGS, as the configuration gives them to each method: the cross
    // toolchain's request, and the variables of a build inside the root filesystem.
    request.toolchain.cflags = vec!["-g".to_string(), "-O2".to_string()];
    request
        .rootfs
        .env
        .insert("CFLAGS".to_string(), "-g -O2".to_string());
    let log = project.join("archway-build.log");
    request.output = ChildOutput::Log(log.clone());
    let prepared = prepare(&request, &NoProgress).expect("prepare the build");
    let outcome = execute(
        &prepared.plan,
        Goal::Build,
        prepared.executor.as_ref(),
        &NoProgress,
    )
    .unwrap_or_else(|error| {
        panic!(
            "zlib in `{}`: {error}\n{}",
            project.display(),
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    outcome.build_dir
}

#[test]
fn zlib_cross_builds_in_two_directories_are_byte_identical() {
    for tool in ["aarch64-linux-gnu-gcc", "apt-get", "dpkg-source", "make"] {
        let found =
            archway::executor::find_program(tool, std::env::var_os("PATH").as_deref()).is_some();
        if !require(found, &format!("`{tool}` on PATH")) {
            return;
        }
    }
    builds_in_two_directories_are_byte_identical(Method::Cross);
}

/// The hybrid method: the prefix's cross gcc inside the arm64 root filesystem, which binds
/// the project and its build directory at their own paths, so the same maps hold.
#[test]
fn zlib_hybrid_builds_in_two_directories_are_byte_identical() {
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
    if !missing.is_empty() {
        skip_unless_ci(&format!("needs {}", missing.join(", ")));
        return;
    }
    let target = Platform::parse("aarch64").expect("a known target");
    let _registration = TemporaryRegistration::for_target(&target).expect("a binfmt entry (root)");
    builds_in_two_directories_are_byte_identical(Method::Hybrid);
}

/// zlib copied into two directories of different lengths, built cold with `method` in each:
/// the shared and the static library are the same bytes, and hold neither directory.
fn builds_in_two_directories_are_byte_identical(method: Method) {
    let source = match sources::source("zlib") {
        Ok(source) => source,
        Err(error) => {
            skip_unless_ci(&format!("could not fetch `zlib`: {error}"));
            return;
        }
    };
    // Under Cargo's scratch directory: the sandbox's `/tmp` is its own.
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let short = tempfile::Builder::new()
        .prefix("z")
        .tempdir_in(scratch)
        .expect("temp dir");
    let long = tempfile::Builder::new()
        .prefix("archway-reproducible-a-much-longer-directory-name-")
        .tempdir_in(scratch)
        .expect("temp dir");
    let clones = [
        short.path().join("zlib"),
        // Not with a space: zlib's own configure cannot handle one (`test $SRCDIR`...).
        long.path().join("deeper/and-deeper/zlib"),
    ];
    let mut build_dirs = Vec::new();
    for clone in &clones {
        copy_tree(&source, clone);
        build_dirs.push(build(clone, method));
    }
    for name in ["libz.so.1.2.13", "libz.a"] {
        // zlib's hand-written configure builds in the copy of the tree (`<build dir>/source`).
        let built = |dir: &Path| dir.join(archway::steps::GENERATED_SOURCE_DIR).join(name);
        let first = std::fs::read(built(&build_dirs[0])).expect("first build's file");
        let second = std::fs::read(built(&build_dirs[1])).expect("second build's file");
        // The user's `-g` arrived: there is debug information to carry paths.
        if name.ends_with(".so.1.2.13") {
            let file = object::File::parse(&*first).expect("an ELF file");
            let debug_info = file.section_by_name(".debug_info").expect(".debug_info");
            assert!(debug_info.size() > 0);
        }
        for clone in &clones {
            let path = clone.to_str().expect("UTF-8 temp path").as_bytes();
            assert!(
                !first.windows(path.len()).any(|window| window == path)
                    && !second.windows(path.len()).any(|window| window == path),
                "{method}: `{name}` holds the path `{}`",
                clone.display()
            );
        }
        assert!(
            first == second,
            "{method}: `{name}` differs between `{}` and `{}` (compare with `cmp` and `readelf -wi`)",
            build_dirs[0].display(),
            build_dirs[1].display()
        );
    }
}

/// A Rust program built with the native method in two directories: rustc's debug information
/// and panic locations carry no directory (`--remap-path-prefix` through
/// `CARGO_ENCODED_RUSTFLAGS`), so the two executables are the same bytes.
#[test]
fn cargo_native_builds_in_two_directories_are_byte_identical() {
    let found =
        archway::executor::find_program("cargo", std::env::var_os("PATH").as_deref()).is_some();
    if !require(found, "`cargo` on PATH") {
        return;
    }
    let host = archway_platform::host::Host::detect().expect("the host");
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let short = tempfile::Builder::new()
        .prefix("c")
        .tempdir_in(scratch)
        .expect("temp dir");
    let long = tempfile::Builder::new()
        .prefix("archway-reproducible-a-much-longer-directory-name-")
        .tempdir_in(scratch)
        .expect("temp dir");
    let clones = [short.path().join("hello"), long.path().join("deeper/hello")];
    let mut programs = Vec::new();
    for clone in &clones {
        std::fs::create_dir_all(clone.join("src")).expect("src");
        std::fs::write(
            clone.join("Cargo.toml"),
            "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .expect("Cargo.toml");
        // Indexing panics with this file's location: a path in the program.
        std::fs::write(
            clone.join("src/main.rs"),
            "fn main() { let lengths: Vec<usize> = std::env::args().map(|a| a.len()).collect(); \
             println!(\"{}\", lengths[0]); }\n",
        )
        .expect("main.rs");
        let mut request = BuildRequest::new(clone, host.platform.clone());
        request.method = MethodRequest::Only(Method::Native);
        request.cache_dir = None;
        let log = clone.join("archway-build.log");
        request.output = ChildOutput::Log(log.clone());
        let prepared = prepare(&request, &NoProgress).expect("prepare the build");
        let outcome = execute(
            &prepared.plan,
            Goal::Build,
            prepared.executor.as_ref(),
            &NoProgress,
        )
        .unwrap_or_else(|error| {
            panic!(
                "{error}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        let program = outcome.build_dir.join("debug/hello");
        programs.push(std::fs::read(&program).expect("the program"));
    }
    for (clone, program) in clones.iter().zip(&programs) {
        let path = clone.to_str().expect("UTF-8 temp path").as_bytes();
        assert!(
            !program.windows(path.len()).any(|window| window == path),
            "the program holds `{}`",
            clone.display()
        );
    }
    assert!(programs[0] == programs[1], "the two programs differ");
}
