//! Discovery, selection, the cross environment and the generated files against stub compilers
//! on a temporary search path (no real toolchain involved).

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use archway_platform::Platform;
use archway_toolchain::{discover, select, CrossEnv, Error, Family, Linker, Request};

/// A temporary prefix with `bin/` on the search path and stub tools in it.
struct Stubs {
    temp: tempfile::TempDir,
}

impl Stubs {
    fn new() -> Stubs {
        let temp = tempfile::Builder::new()
            .prefix("archway-toolchain-stubs-")
            .tempdir()
            .expect("temp dir");
        fs::create_dir_all(temp.path().join("bin")).expect("bin dir");
        Stubs { temp }
    }

    fn bin(&self) -> PathBuf {
        self.temp.path().join("bin")
    }

    fn prefix(&self) -> &Path {
        self.temp.path()
    }

    fn search_path(&self) -> OsString {
        self.bin().into_os_string()
    }

    /// A compiler that answers `-dumpfullversion`/`-dumpversion` with `version`.
    fn compiler(&self, name: &str, version: &str, banner: &str) -> &Stubs {
        let script = format!(
            "#!/bin/sh\ncase \"$1\" in\n  -dumpfullversion|-dumpversion) echo {version} ;;\n  --version) echo '{banner}' ;;\n  *) exit 1 ;;\nesac\n"
        );
        self.file(name, &script)
    }

    fn tool(&self, name: &str) -> &Stubs {
        self.file(name, "#!/bin/sh\nexit 0\n")
    }

    /// Writes an executable stub. Not with `fs::write` at its path: a test in another thread
    /// that forks while the stub is open for writing gives its child a copy of the descriptor
    /// (until that child's `exec`), and running the stub meanwhile fails with `ETXTBSY`
    /// ("Text file busy"), which made a version read as `unknown` under load. The content goes
    /// to a scratch file; `cp`, another process, makes the stub, and no descriptor of this
    /// process ever has it open for writing.
    fn file(&self, name: &str, contents: &str) -> &Stubs {
        let path = self.bin().join(name);
        let scratch = self.temp.path().join(format!("{name}.scratch"));
        fs::write(&scratch, contents).expect("write stub");
        fs::set_permissions(&scratch, fs::Permissions::from_mode(0o755)).expect("chmod stub");
        let copied = std::process::Command::new("cp")
            .arg("-p")
            .arg(&scratch)
            .arg(&path)
            .status()
            .expect("cp");
        assert!(copied.success(), "cp {name}");
        fs::remove_file(&scratch).expect("remove scratch");
        self
    }

    fn symlink(&self, name: &str, target: &str) -> &Stubs {
        std::os::unix::fs::symlink(target, self.bin().join(name)).expect("symlink stub");
        self
    }

    /// Debian's cross GCC for a triple: gcc, g++, binutils, the versioned alias and the libc dir.
    fn debian_cross(&self, triple: &str, version: &str) -> &Stubs {
        let major = version.split('.').next().unwrap_or(version);
        self.compiler(
            &format!("{triple}-gcc-{major}"),
            version,
            "gcc (Debian) stub",
        )
        .symlink(&format!("{triple}-gcc"), &format!("{triple}-gcc-{major}"))
        .tool(&format!("{triple}-g++-{major}"))
        .symlink(&format!("{triple}-g++"), &format!("{triple}-g++-{major}"));
        for tool in ["ar", "ranlib", "nm", "strip", "objcopy", "ld"] {
            self.tool(&format!("{triple}-{tool}"));
        }
        fs::create_dir_all(self.prefix().join(triple).join("include")).expect("libc dir");
        self
    }

    fn qemu(&self, name: &str) -> &Stubs {
        self.tool(&format!("qemu-{name}-static"))
    }
}

fn platform(name: &str) -> Platform {
    Platform::parse(name).expect("a valid platform name")
}

fn file_names(paths: impl IntoIterator<Item = PathBuf>) -> Vec<String> {
    paths
        .into_iter()
        .map(|path| {
            path.file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn discover_finds_debian_gnu_mingw_and_clang_once_each() {
    let stubs = Stubs::new();
    stubs
        .debian_cross("aarch64-linux-gnu", "12.2.0")
        .compiler("aarch64-linux-gnu-gcc-11", "11.3.0", "gcc")
        .compiler("x86_64-w64-mingw32-gcc-posix", "12-posix", "gcc")
        .compiler("x86_64-w64-mingw32-gcc-win32", "12-win32", "gcc")
        .symlink("x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-gcc-win32")
        .compiler("clang-14", "14.0.6", "Debian clang version 14.0.6")
        .symlink("clang", "clang-14")
        .tool("ld.lld")
        .tool("llvm-ar")
        // Not cross compilers: must not be listed.
        .compiler("c89-gcc", "12", "gcc")
        .compiler("aarch64-linux-gnu-gcc-ar-12", "12", "gcc");

    let found = discover(&stubs.search_path());
    let summary: Vec<(String, Family, String, String)> = found
        .iter()
        .map(|toolchain| {
            (
                toolchain
                    .cc
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned(),
                toolchain.family,
                toolchain.version.clone(),
                toolchain.triple.clone(),
            )
        })
        .collect();
    let expected = [
        (
            "aarch64-linux-gnu-gcc",
            Family::Gcc,
            "12.2.0",
            "aarch64-linux-gnu",
        ),
        (
            "aarch64-linux-gnu-gcc-11",
            Family::Gcc,
            "11.3.0",
            "aarch64-linux-gnu",
        ),
        ("clang", Family::Clang, "14.0.6", "aarch64-linux-gnu"),
        (
            "x86_64-w64-mingw32-gcc",
            Family::Gcc,
            "12-win32",
            "x86_64-w64-mingw32",
        ),
        (
            "x86_64-w64-mingw32-gcc-posix",
            Family::Gcc,
            "12-posix",
            "x86_64-w64-mingw32",
        ),
    ];
    let expected: Vec<(String, Family, String, String)> = expected
        .iter()
        .map(|(cc, family, version, triple)| {
            (
                cc.to_string(),
                *family,
                version.to_string(),
                triple.to_string(),
            )
        })
        .collect();
    assert_eq!(summary, expected);

    let gcc = &found[0];
    assert!(gcc.default);
    assert_eq!(file_names(gcc.cxx.clone()), ["aarch64-linux-gnu-g++"]);
    assert_eq!(file_names([gcc.ar.clone()]), ["aarch64-linux-gnu-ar"]);
    assert_eq!(
        gcc.libc_prefix.as_deref(),
        Some(stubs.prefix().join("aarch64-linux-gnu").as_path())
    );
    let gcc11 = &found[1];
    assert!(!gcc11.default);
    assert_eq!(gcc11.cxx, None, "no g++-11 stub, so no C++ compiler");
    // CXX names the target's own g++ all the same, never the host's, and the error can say
    // which package brings it.
    let missing = gcc11.missing_cxx().expect("g++-11 is missing");
    assert_eq!(
        file_names([missing.program.clone()]),
        ["aarch64-linux-gnu-g++-11"]
    );
    assert_eq!(missing.program.parent(), gcc11.cc.parent());
    assert_eq!(missing.package, "g++-11-aarch64-linux-gnu");
    assert_eq!(
        gcc11.cxx_command().expect("CXX")[0],
        missing.program.display().to_string()
    );
    assert_eq!(gcc.missing_cxx(), None);
    assert_eq!(
        found[2].missing_cxx(),
        None,
        "clang's C++ is not a gcc package"
    );
    let clang = &found[2];
    assert_eq!(clang.target_args, ["--target=aarch64-linux-gnu"]);
    assert_eq!(
        file_names([clang.ar.clone(), clang.ld.clone()]),
        ["llvm-ar", "ld.lld"]
    );
    assert_eq!(clang.linker, Some(Linker::Lld));
    assert_eq!(found[4].variant.as_deref(), Some("posix"));
}

#[test]
fn select_prefers_the_default_gcc_and_honours_family_and_version() {
    let stubs = Stubs::new();
    stubs
        .debian_cross("aarch64-linux-gnu", "12.2.0")
        .compiler("aarch64-linux-gnu-gcc-11", "11.3.0", "gcc")
        .compiler("clang", "14.0.6", "clang");
    let path = stubs.search_path();
    let target = platform("aarch64-multiplatform");

    let default = select(&target, &Request::default(), &path).expect("default");
    assert_eq!(file_names([default.cc.clone()]), ["aarch64-linux-gnu-gcc"]);
    assert_eq!(default.target, target, "the target as asked for");

    let gcc11 = Request {
        family: Some(Family::Gcc),
        version: Some("11".into()),
        ..Request::default()
    };
    let chosen = select(&target, &gcc11, &path).expect("gcc 11");
    assert_eq!(file_names([chosen.cc]), ["aarch64-linux-gnu-gcc-11"]);

    let clang = Request {
        family: Some(Family::Clang),
        ..Request::default()
    };
    let chosen = select(&target, &clang, &path).expect("clang");
    assert_eq!(chosen.family, Family::Clang);
    assert_eq!(chosen.target_args, ["--target=aarch64-linux-gnu"]);

    let linker = Request {
        linker: Some(Linker::Gold),
        ..Request::default()
    };
    assert_eq!(
        select(&target, &linker, &path).expect("gold").linker,
        Some(Linker::Gold)
    );
}

#[test]
fn select_names_what_it_looked_for_and_the_install_command() {
    let stubs = Stubs::new();
    stubs.debian_cross("aarch64-linux-gnu", "12.2.0");
    let request = Request {
        version: Some("13".into()),
        ..Request::default()
    };
    let error = select(
        &platform("aarch64-multiplatform"),
        &request,
        &stubs.search_path(),
    )
    .expect_err("no gcc 13");
    assert_eq!(
        error.to_string(),
        "no cross toolchain for `aarch64-multiplatform` (version 13) found on PATH (looked for `aarch64-linux-gnu-gcc-13`, `aarch64-unknown-linux-gnu-gcc-13`)"
    );
    assert_eq!(
        error.hint().as_deref(),
        Some("run `archway toolchain install --target aarch64-multiplatform --version 13`")
    );

    let error = select(
        &platform("riscv64"),
        &Request::default(),
        &stubs.search_path(),
    )
    .expect_err("no riscv64");
    assert!(matches!(error, Error::NotFound { .. }), "{error}");
    assert!(
        error.to_string().contains("`riscv64-linux-gnu-gcc`"),
        "{error}"
    );
}

#[test]
fn apple_and_msvc_targets_are_refused_plainly() {
    let stubs = Stubs::new();
    stubs.compiler("clang", "14.0.6", "clang");
    for name in ["aarch64-darwin", "iphone64", "aarch64-windows"] {
        let error =
            select(&platform(name), &Request::default(), &stubs.search_path()).expect_err(name);
        assert!(
            matches!(error, Error::Unsupported { .. }),
            "{name}: {error}"
        );
        assert!(
            error.to_string().contains("exists for Linux hosts"),
            "{error}"
        );
    }
}

#[test]
fn musl_targets_fall_back_to_clang_with_the_llvm_triple() {
    let stubs = Stubs::new();
    stubs
        .debian_cross("aarch64-linux-gnu", "12.2.0")
        .compiler("clang", "14.0.6", "clang");
    let target = platform("aarch64-multiplatform-musl");
    let toolchain =
        select(&target, &Request::default(), &stubs.search_path()).expect("clang for musl");
    assert_eq!(toolchain.family, Family::Clang);
    assert_eq!(
        toolchain.target_args,
        ["--target=aarch64-unknown-linux-musl"]
    );
    assert_eq!(toolchain.triple, "aarch64-unknown-linux-musl");
}

#[test]
fn explicit_compiler_paths_win_and_missing_ones_are_errors() {
    let stubs = Stubs::new();
    stubs.debian_cross("aarch64-linux-gnu", "12.2.0").compiler(
        "my-cc",
        "9.9.9",
        "gcc (custom) 9.9.9",
    );
    let target = platform("aarch64-multiplatform");
    let request = Request {
        cc: Some(stubs.bin().join("my-cc")),
        ..Request::default()
    };
    let toolchain = select(&target, &request, &stubs.search_path()).expect("explicit");
    assert_eq!(toolchain.cc, stubs.bin().join("my-cc"));
    assert_eq!(toolchain.version, "9.9.9");

    let request = Request {
        cc: Some(stubs.bin().join("missing-cc")),
        ..Request::default()
    };
    let error = select(&target, &request, &stubs.search_path()).expect_err("missing");
    assert!(error.to_string().starts_with("the C compiler `"), "{error}");
    assert!(error.hint().is_some());
}

#[test]
fn cross_env_sets_compilers_pkg_config_cargo_and_the_emulator() {
    let stubs = Stubs::new();
    stubs
        .debian_cross("aarch64-linux-gnu", "12.2.0")
        .qemu("aarch64");
    let path = stubs.search_path();
    let target = platform("aarch64-multiplatform");
    let request = Request {
        cflags: vec!["-O2".into()],
        qemu_cpu: Some("cortex-a72".into()),
        env: [("EXTRA".to_string(), "1".to_string())].into(),
        ..Request::default()
    };
    let toolchain = select(&target, &request, &path).expect("toolchain");
    let sysroot = stubs.prefix().join("sysroot");
    let env = CrossEnv::with_search_path(&toolchain, &request, Some(&sysroot), &path, false)
        .expect("env");
    let bin = stubs.bin().display().to_string();
    let root = sysroot.display().to_string();
    let var = |name: &str| {
        env.vars
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} unset"))
    };
    assert_eq!(
        var("CC"),
        format!("{bin}/aarch64-linux-gnu-gcc -march=armv8-a --sysroot={root}")
    );
    assert_eq!(
        var("CXX"),
        format!("{bin}/aarch64-linux-gnu-g++ -march=armv8-a --sysroot={root}")
    );
    assert_eq!(var("AR"), format!("{bin}/aarch64-linux-gnu-ar"));
    assert_eq!(var("CFLAGS"), "-O2");
    assert_eq!(
        var("PKG_CONFIG_LIBDIR"),
        format!("{root}/usr/lib/aarch64-linux-gnu/pkgconfig:{root}/usr/lib/pkgconfig:{root}/usr/share/pkgconfig")
    );
    assert_eq!(var("PKG_CONFIG_SYSROOT_DIR"), root);
    assert_eq!(var("CC_aarch64_unknown_linux_gnu"), var("CC"));
    assert_eq!(
        var("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"),
        format!("{bin}/aarch64-linux-gnu-gcc")
    );
    assert_eq!(
        var("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"),
        format!("{bin}/qemu-aarch64-static -L {root} -cpu cortex-a72")
    );
    assert_eq!(var("QEMU_CPU"), "cortex-a72");
    assert_eq!(var("QEMU_LD_PREFIX"), root);
    assert_eq!(var("EXTRA"), "1");
    assert_eq!(env.host_triple, "aarch64-linux-gnu");
    assert_eq!(
        env.emulator,
        [
            format!("{bin}/qemu-aarch64-static"),
            "-L".into(),
            root.clone(),
            "-cpu".into(),
            "cortex-a72".into()
        ]
    );
}

#[test]
fn the_platform_cpu_reaches_the_compiler_rustc_and_qemu() {
    let stubs = Stubs::new();
    stubs
        .debian_cross("arm-linux-gnueabihf", "12.2.0")
        .qemu("arm");
    let path = stubs.search_path();
    let bin = stubs.bin().display().to_string();
    let target = platform("raspberryPi");
    let toolchain = select(&target, &Request::default(), &path).expect("toolchain");
    let env = CrossEnv::with_search_path(&toolchain, &Request::default(), None, &path, false)
        .expect("env");
    assert_eq!(
        env.vars["CC"],
        format!("{bin}/arm-linux-gnueabihf-gcc -march=armv6kz -mfpu=vfpv2 -marm")
    );
    assert_eq!(env.vars["QEMU_CPU"], "arm1176");
    assert_eq!(env.emulator[env.emulator.len() - 2..], ["-cpu", "arm1176"]);
    // The generated files carry it: CMake's and Meson's flags, config.site's CC, Cargo's
    // link arguments (rustc's own arm-unknown-linux-gnueabihf is already ARMv6 + VFPv2).
    let cmake = archway_toolchain::cmake_toolchain(&env);
    assert!(
        cmake.contains("CMAKE_C_FLAGS_INIT [[-march=armv6kz -mfpu=vfpv2 -marm]]"),
        "{cmake}"
    );
    let meson = archway_toolchain::meson_cross(&env).expect("meson");
    assert!(
        meson.contains("c_args = ['-march=armv6kz', '-mfpu=vfpv2', '-marm']"),
        "{meson}"
    );
    assert!(archway_toolchain::config_site(&env).contains("-march=armv6kz"));
    assert!(archway_toolchain::cargo_config(&env).contains("\"link-arg=-march=armv6kz\""));

    // remarkable2: rustc gets the Cortex-A7 and its NEON-VFPv4; an explicit model wins.
    let target = platform("remarkable2");
    let request = Request {
        qemu_cpu: Some("max".into()),
        ..Request::default()
    };
    let toolchain = select(&target, &request, &path).expect("toolchain");
    let env = CrossEnv::with_search_path(&toolchain, &request, None, &path, false).expect("env");
    assert_eq!(env.vars["QEMU_CPU"], "max");
    let rustflags = &env.vars["CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUSTFLAGS"];
    assert!(
        rustflags.starts_with("-C target-cpu=cortex-a7 -C target-feature=+neon,+vfp4 "),
        "{rustflags}"
    );
    assert!(archway_toolchain::cargo_config(&env)
        .contains("rustflags = [\"-C\", \"target-cpu=cortex-a7\""));
}

#[test]
fn natively_runnable_targets_get_no_emulator() {
    let stubs = Stubs::new();
    stubs.debian_cross("i686-linux-gnu", "12.2.0").qemu("i386");
    let target = platform("gnu32");
    let toolchain = select(&target, &Request::default(), &stubs.search_path()).expect("i686");
    let env = CrossEnv::with_search_path(
        &toolchain,
        &Request::default(),
        None,
        &stubs.search_path(),
        true,
    )
    .expect("env");
    assert!(env.emulator.is_empty());
    assert!(!env.vars.keys().any(|name| name.ends_with("_RUNNER")));
    // Without a sysroot only the target's multiarch and shared .pc directories, never the
    // host's /usr/lib/pkgconfig.
    assert_eq!(
        env.vars["PKG_CONFIG_LIBDIR"],
        "/usr/lib/i386-linux-gnu/pkgconfig:/usr/share/pkgconfig"
    );
}

#[test]
fn generated_files_match_their_snapshots() {
    let stubs = Stubs::new();
    stubs
        .debian_cross("riscv64-linux-gnu", "12.2.0")
        .compiler("clang", "14.0.6", "clang")
        .tool("ld.lld")
        .qemu("riscv64");
    let path = stubs.search_path();
    let target = platform("riscv64");
    let out = stubs.prefix().join("files");
    let temp = stubs.prefix().display().to_string();
    for (family, name) in [(Family::Gcc, "gcc"), (Family::Clang, "clang")] {
        let request = Request {
            family: Some(family),
            cflags: vec!["-O2".into()],
            ..Request::default()
        };
        let toolchain = select(&target, &request, &path).expect("toolchain");
        let sysroot = stubs.prefix().join("sysroot");
        let mut env =
            CrossEnv::with_search_path(&toolchain, &request, Some(&sysroot), &path, false)
                .expect("env");
        let files = archway_toolchain::write_files(&env, &out).expect("write");
        env.set_files(&files);
        assert_eq!(
            env.vars["CMAKE_TOOLCHAIN_FILE"],
            files.cmake_toolchain.display().to_string()
        );
        for (kind, file) in [
            ("cmake", &files.cmake_toolchain),
            ("meson", &files.meson_cross),
            ("config_site", &files.config_site),
            ("cargo", &files.cargo_config),
        ] {
            let text = fs::read_to_string(file)
                .expect("read")
                .replace(&temp, "[TEMP]");
            insta::assert_snapshot!(format!("{name}_{kind}"), text);
        }
        let shell = env
            .render(archway_toolchain::Format::Sh)
            .expect("names are POSIX names")
            .replace(&temp, "[TEMP]");
        insta::assert_snapshot!(format!("{name}_env_sh"), shell);
    }
}

/// The source and build directories reach every generated file as `-ffile-prefix-map`
/// (compile flags only, after the user's CPU flags and before their `CFLAGS`) and rustc's
/// `--remap-path-prefix`, quoted for each consumer (a space in the path).
#[test]
fn generated_files_map_the_source_and_build_directories() {
    let stubs = Stubs::new();
    stubs
        .debian_cross("aarch64-linux-gnu", "12.2.0")
        .qemu("aarch64");
    let path = stubs.search_path();
    let target = platform("aarch64");
    let out = stubs.prefix().join("files");
    let temp = stubs.prefix().display().to_string();
    let request = Request {
        cflags: vec!["-O1".into()],
        path_maps: archway_toolchain::reproducible::PathMap::for_build(
            Path::new("/home/me/my src/zlib"),
            Path::new("/home/me/my src/zlib/build/archway/aarch64-unknown-linux-gnu"),
        ),
        ..Request::default()
    };
    let toolchain = select(&target, &request, &path).expect("toolchain");
    let mut env =
        CrossEnv::with_search_path(&toolchain, &request, None, &path, false).expect("env");
    let files = archway_toolchain::write_files(&env, &out).expect("write");
    env.set_files(&files);
    let source_map = "-ffile-prefix-map=/home/me/my src/zlib=/archway/source";
    assert!(
        env.cc().iter().any(|arg| arg == source_map),
        "{:?}",
        env.cc()
    );
    // User CFLAGS stay theirs: the maps go with the compiler, not into CFLAGS.
    assert_eq!(env.vars["CFLAGS"], "-O1");
    // Not into link arguments: rustc gets its own remapping instead.
    assert!(!env
        .rust_link_args()
        .iter()
        .any(|arg| arg.contains("prefix-map")));
    assert!(env
        .rust_flags()
        .contains(&"--remap-path-prefix=/home/me/my src/zlib=/archway/source".to_string()));
    let mut all = String::new();
    for (kind, file) in [
        ("cmake", &files.cmake_toolchain),
        ("meson", &files.meson_cross),
        ("config_site", &files.config_site),
        ("cargo", &files.cargo_config),
    ] {
        let text = fs::read_to_string(file).expect("read");
        all.push_str(&format!("==> {kind}\n{}", text.replace(&temp, "[TEMP]")));
    }
    insta::assert_snapshot!("path_maps_files", all);
}

#[test]
fn rust_std_is_found_in_the_rustc_sysroot_or_reported_with_the_rustup_command() {
    let stubs = Stubs::new();
    let rust_sysroot = stubs.prefix().join("rust");
    stubs.file(
        "rustc",
        &format!("#!/bin/sh\necho {}\n", rust_sysroot.display()),
    );
    fs::create_dir_all(rust_sysroot.join("lib/rustlib/aarch64-unknown-linux-gnu/lib"))
        .expect("std dir");

    let found =
        archway_toolchain::rust_std(&platform("aarch64-multiplatform"), &stubs.search_path())
            .expect("installed");
    assert_eq!(
        found.path,
        rust_sysroot.join("lib/rustlib/aarch64-unknown-linux-gnu")
    );

    let error = archway_toolchain::rust_std(&platform("riscv64"), &stubs.search_path())
        .expect_err("not installed");
    assert!(matches!(error, Error::RustStdMissing { .. }), "{error}");
    assert_eq!(
        error.hint().as_deref(),
        Some("run `rustup target add riscv64gc-unknown-linux-gnu`")
    );
}

#[test]
fn mingw_env_has_windres_and_its_prefix_pkg_config_but_no_qemu() {
    let stubs = Stubs::new();
    stubs
        .debian_cross("x86_64-w64-mingw32", "12-win32")
        .tool("x86_64-w64-mingw32-windres")
        .qemu("x86_64");
    let target = platform("mingwW64");
    let toolchain = select(&target, &Request::default(), &stubs.search_path()).expect("mingw");
    let env = CrossEnv::with_search_path(
        &toolchain,
        &Request::default(),
        None,
        &stubs.search_path(),
        false,
    )
    .expect("env");
    let prefix = stubs.prefix().join("x86_64-w64-mingw32");
    assert_eq!(
        env.vars["PKG_CONFIG_LIBDIR"],
        format!("{}/lib/pkgconfig:/usr/share/pkgconfig", prefix.display())
    );
    assert_eq!(
        env.vars["RC"],
        stubs
            .bin()
            .join("x86_64-w64-mingw32-windres")
            .display()
            .to_string()
    );
    assert!(
        env.emulator.is_empty(),
        "QEMU user mode does not run Windows programs"
    );
    assert!(!env.vars.contains_key("QEMU_LD_PREFIX"));
    assert_eq!(env.host_triple, "x86_64-w64-mingw32");
    assert!(archway_toolchain::cmake_toolchain(&env).contains("set(CMAKE_SYSTEM_NAME Windows)"));
}

#[test]
fn musl_env_needs_a_sysroot_with_musl_and_links_statically_against_it() {
    let stubs = Stubs::new();
    stubs
        .debian_cross("aarch64-linux-gnu", "12.2.0")
        .compiler("clang", "14.0.6", "clang")
        .tool("ld.lld");
    let target = platform("aarch64-multiplatform-musl");
    let toolchain = select(&target, &Request::default(), &stubs.search_path()).expect("clang");
    let sysroot = stubs.prefix().join("sysroot");
    let error = CrossEnv::with_search_path(
        &toolchain,
        &Request::default(),
        Some(&sysroot),
        &stubs.search_path(),
        false,
    )
    .expect_err("no musl in the sysroot yet");
    assert!(matches!(error, Error::MuslSysrootMissing { .. }), "{error}");
    assert_eq!(
        error.hint().as_deref(),
        Some("run `archway sysroot add --target aarch64-multiplatform-musl` (it fetches the target's own Debian `musl-dev`)")
    );

    fs::create_dir_all(sysroot.join("usr/include/aarch64-linux-musl")).expect("musl headers");
    let env = CrossEnv::with_search_path(
        &toolchain,
        &Request::default(),
        Some(&sysroot),
        &stubs.search_path(),
        false,
    )
    .expect("env");
    let root = sysroot.display();
    assert_eq!(
        env.vars["CC"],
        format!(
            "{}/clang --target=aarch64-unknown-linux-musl -march=armv8-a --sysroot={root} -isystem{root}/usr/include/aarch64-linux-musl -L{root}/usr/lib/aarch64-linux-musl -B{root}/usr/lib/aarch64-linux-musl",
            stubs.bin().display()
        )
    );
    assert_eq!(env.vars["LDFLAGS"], "-fuse-ld=lld -static");
}

/// bookworm's Meson (1.0.1) reads only `pkgconfig`, Meson ≥ 1.3 `pkg-config` (and accepts
/// `pkgconfig` next to it when both name the same program): without the old name every
/// `dependency()` of a cross build fails ("Pkg-config binary for machine 1 not found").
#[test]
fn meson_cross_names_pkg_config_for_old_and_new_meson() {
    let stubs = Stubs::new();
    stubs.debian_cross("aarch64-linux-gnu", "12.2.0");
    let path = stubs.search_path();
    let toolchain = select(
        &platform("aarch64-multiplatform"),
        &Request::default(),
        &path,
    )
    .expect("toolchain");
    let env = CrossEnv::with_search_path(&toolchain, &Request::default(), None, &path, false)
        .expect("env");
    let meson = archway_toolchain::meson_cross(&env).expect("meson");
    let binaries: Vec<&str> = meson
        .lines()
        .skip_while(|line| *line != "[binaries]")
        .take_while(|line| !line.is_empty())
        .collect();
    let value_of = |name: &str| {
        binaries
            .iter()
            .find_map(|line| line.strip_prefix(&format!("{name} = ")))
            .map(str::to_owned)
    };
    assert_eq!(
        value_of("pkgconfig").as_deref(),
        Some("'pkg-config'"),
        "{meson}"
    );
    assert_eq!(value_of("pkg-config"), value_of("pkgconfig"), "{meson}");
}
