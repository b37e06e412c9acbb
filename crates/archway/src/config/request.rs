//! What the resolved [`Settings`] ask of each method: the cross toolchain [`Request`], and the
//! packages and environment of an emulated build.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::PathBuf;

use archway_platform::Platform;
use archway_rootfs::{Architecture, RootfsKey};
use archway_toolchain::{find_program, Family, Linker, Request};

use super::{Settings, Toolchain};

/// What an emulated build needs from the configuration: the root filesystem's suite and extra
/// packages (a derived rootfs; the base is never changed), and the environment inside.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmulatedRequest {
    /// `rootfs-suite`; `None`: the rootfs crate's default for the architecture.
    pub suite: Option<String>,
    /// `rootfs-packages` plus what the toolchain and linker overrides need, sorted, unique.
    pub packages: Vec<String>,
    /// CC, CXX, AR, LD, CFLAGS, CXXFLAGS, LDFLAGS, QEMU_CPU and `env`, for inside the rootfs.
    pub env: BTreeMap<String, String>,
}

impl EmulatedRequest {
    /// The cached root filesystem to build in: the target's architecture, the suite asked for
    /// (else the architecture's default), and the extra packages — a derived root filesystem
    /// when there are any, so the base stays untouched.
    pub fn rootfs_key(&self, target: &Platform) -> Result<RootfsKey, archway_rootfs::Error> {
        let architecture = Architecture::from_platform(target)?;
        RootfsKey::from_names(architecture, self.suite.as_deref(), &self.packages)
    }
}

impl Settings {
    /// The cross toolchain request. Tool names without a `/` are looked up on `search_path`
    /// (the toolchain crate wants paths); one that is not found is passed as given, so that
    /// `select` reports it missing.
    pub fn toolchain_request(&self, search_path: &OsStr) -> Request {
        let overrides = &self.overrides;
        let tool = |name: &Option<super::Sourced<String>>| {
            name.as_ref().map(|name| {
                let name = &name.value;
                if name.contains('/') {
                    PathBuf::from(name)
                } else {
                    find_program(search_path, name).unwrap_or_else(|| PathBuf::from(name))
                }
            })
        };
        let flags = |flags: &Option<super::Sourced<Vec<String>>>| {
            flags
                .as_ref()
                .map(|flags| flags.value.clone())
                .unwrap_or_default()
        };
        Request {
            family: overrides.toolchain.as_ref().map(|t| t.value.family),
            version: overrides
                .toolchain
                .as_ref()
                .and_then(|t| t.value.version.clone()),
            cc: tool(&overrides.cc),
            cxx: tool(&overrides.cxx),
            ar: tool(&overrides.ar),
            ld: tool(&overrides.ld),
            linker: overrides.linker.as_ref().map(|linker| linker.value),
            sysroot: overrides
                .sysroot
                .as_ref()
                .map(|sysroot| sysroot.value.clone()),
            cflags: flags(&overrides.cflags),
            cxxflags: flags(&overrides.cxxflags),
            ldflags: flags(&overrides.ldflags),
            env: self.env(),
            emulator: overrides
                .emulator
                .as_ref()
                .map(|emulator| emulator.value.clone()),
            qemu_cpu: overrides.qemu_cpu.as_ref().map(|cpu| cpu.value.clone()),
            cache_dir: crate::cache::cache_dir(),
            // The backend that knows the directories fills them in.
            path_maps: Vec::new(),
        }
    }

    /// `sysroot-packages`: the target's own packages the cross sysroot must hold.
    pub fn sysroot_packages(&self) -> Vec<String> {
        let packages = self.overrides.sysroot_packages.as_ref();
        packages
            .map(|packages| packages.value.clone())
            .unwrap_or_default()
    }

    /// The `env` table, without sources.
    pub fn env(&self) -> BTreeMap<String, String> {
        let env = &self.overrides.env;
        env.iter()
            .map(|(name, value)| (name.clone(), value.value.clone()))
            .collect()
    }

    /// The emulated method's rootfs packages and environment. The toolchain override becomes
    /// the distribution's versioned compiler inside the target system: `gcc-11` and `g++-11`
    /// installed, `CC=gcc-11`, `CXX=g++-11` (Debian's names, e.g. `apt-cache show gcc-11`).
    pub fn emulated_request(&self) -> EmulatedRequest {
        let overrides = &self.overrides;
        let mut packages: Vec<String> = overrides
            .rootfs_packages
            .as_ref()
            .map(|packages| packages.value.clone())
            .unwrap_or_default();
        let mut env = BTreeMap::new();
        if let Some(toolchain) = &overrides.toolchain {
            let (cc, cxx) = compiler_names(&toolchain.value);
            packages.extend(compiler_packages(&toolchain.value));
            env.insert("CC".to_string(), cc);
            env.insert("CXX".to_string(), cxx);
        }
        match overrides.linker.as_ref().map(|linker| linker.value) {
            Some(Linker::Lld) => packages.push("lld".to_string()),
            Some(Linker::Mold) => packages.push("mold".to_string()),
            // bfd and gold are binutils, in every build-ready rootfs.
            Some(_) | None => {}
        }
        for (name, value) in [
            ("CC", &overrides.cc),
            ("CXX", &overrides.cxx),
            ("AR", &overrides.ar),
            ("LD", &overrides.ld),
        ] {
            if let Some(value) = value {
                env.insert(name.to_string(), value.value.clone());
            }
        }
        let mut ldflags = overrides
            .ldflags
            .as_ref()
            .map(|flags| flags.value.clone())
            .unwrap_or_default();
        if let Some(linker) = &overrides.linker {
            ldflags.push(format!("-fuse-ld={}", linker.value));
        }
        for (name, flags) in [
            (
                "CFLAGS",
                overrides.cflags.as_ref().map(|flags| flags.value.clone()),
            ),
            (
                "CXXFLAGS",
                overrides.cxxflags.as_ref().map(|flags| flags.value.clone()),
            ),
            ("LDFLAGS", Some(ldflags)),
        ] {
            if let Some(flags) = flags.filter(|flags| !flags.is_empty()) {
                env.insert(name.to_string(), flags.join(" "));
            }
        }
        // The platform's CPU (`-march=armv6kz -mfpu=vfpv2 -marm`) goes with the compiler, as
        // in the cross method (nixpkgs' cc-wrapper does the same): in CFLAGS it would replace
        // the build system's own defaults (autoconf's `-g -O2`). The values are checked where
        // read (`[A-Za-z0-9._+-]`), so they need no quoting.
        let cpu_flags = self.target.value.platform.compiler_flags();
        if !cpu_flags.is_empty() {
            for (name, default) in [("CC", "gcc"), ("CXX", "g++")] {
                let compiler = env.get(name).map_or(default, String::as_str).to_string();
                env.insert(
                    name.to_string(),
                    format!("{compiler} {}", cpu_flags.join(" ")),
                );
            }
        }
        let platform = &self.target.value.platform;
        // qemu-user reads QEMU_CPU from its environment (qemu linux-user/main.c), also when
        // the kernel starts it through binfmt_misc. An explicit model wins; else the one that
        // runs the platform's CPU (`arm1176` for raspberryPi).
        let qemu_cpu = overrides
            .qemu_cpu
            .as_ref()
            .map(|cpu| cpu.value.clone())
            .or_else(|| platform.qemu_cpu().model().map(str::to_string));
        if let Some(cpu) = qemu_cpu {
            env.insert("QEMU_CPU".to_string(), cpu);
        }
        // `env` wins over everything archway sets, as in the cross method.
        env.extend(self.env());
        packages.sort();
        packages.dedup();
        EmulatedRequest {
            suite: overrides
                .rootfs_suite
                .as_ref()
                .map(|suite| suite.value.clone()),
            packages,
            env,
        }
    }
}

/// `gcc-11`/`g++-11`, `clang-16`/`clang++-16`, or the unversioned names.
fn compiler_names(toolchain: &Toolchain) -> (String, String) {
    let (cc, cxx) = match toolchain.family {
        Family::Gcc => ("gcc", "g++"),
        Family::Clang => ("clang", "clang++"),
    };
    match &toolchain.version {
        Some(version) => (format!("{cc}-{version}"), format!("{cxx}-{version}")),
        None => (cc.to_string(), cxx.to_string()),
    }
}

/// The Debian packages that provide [`compiler_names`]: `gcc-11` and `g++-11`; `clang-16`
/// (which ships `clang++-16` too).
fn compiler_packages(toolchain: &Toolchain) -> Vec<String> {
    let suffix = toolchain
        .version
        .as_ref()
        .map(|version| format!("-{version}"))
        .unwrap_or_default();
    match toolchain.family {
        Family::Gcc => vec![format!("gcc{suffix}"), format!("g++{suffix}")],
        Family::Clang => vec![format!("clang{suffix}")],
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::path::Path;

    use archway_platform::Platform;

    use crate::config::{Config, Flags};

    fn settings(project: &str, flags: &Flags) -> crate::config::Settings {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("archway.toml"), project).expect("project file");
        let no_env = |_: &str| None::<OsString>;
        let config = Config::load_with(dir.path(), None, no_env).expect("loads");
        let host = Platform::parse("x86_64-linux").expect("host");
        config.resolve(flags, &host).expect("resolves")
    }

    const PROJECT: &str = r#"
[target.aarch64]
cflags = ["-O2"]
linker = "lld"
qemu-cpu = "cortex-a72"
rootfs-packages = ["zlib1g-dev"]
sysroot-packages = ["libssl-dev"]
env = { CC = "my-cc-wins" }

[target.riscv64]
cc = "/opt/cc"

[profile.gcc11]
toolchain = { family = "gcc", version = "11" }
"#;

    fn flags(target: &str, profile: Option<&str>) -> Flags {
        Flags {
            target: Some(target.to_string()),
            profile: profile.map(str::to_string),
            ..Flags::default()
        }
    }

    #[test]
    fn toolchain_request_carries_every_override() {
        let bin = tempfile::tempdir().expect("bin dir");
        let settings = settings(PROJECT, &flags("arm64", Some("gcc11")));
        let request = settings.toolchain_request(bin.path().as_os_str());
        assert_eq!(request.family, Some(archway_toolchain::Family::Gcc));
        assert_eq!(request.version.as_deref(), Some("11"));
        assert_eq!(request.cflags, ["-O2"]);
        assert_eq!(request.linker, Some(archway_toolchain::Linker::Lld));
        assert_eq!(request.qemu_cpu.as_deref(), Some("cortex-a72"));
        assert_eq!(
            request.env.get("CC").map(String::as_str),
            Some("my-cc-wins")
        );
        assert_eq!(request.cc, None);
        assert_eq!(settings.sysroot_packages(), ["libssl-dev"]);
    }

    #[test]
    fn toolchain_request_finds_named_tools_on_the_search_path() {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().expect("bin dir");
        let tool = bin.path().join("my-gcc");
        std::fs::write(&tool, "#!/bin/sh\n").expect("tool");
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let settings = settings(
            "[build]\ncc = \"my-gcc\"\ncxx = \"absent-g++\"\n",
            &flags("arm64", None),
        );
        let request = settings.toolchain_request(bin.path().as_os_str());
        assert_eq!(request.cc.as_deref(), Some(tool.as_path()));
        assert_eq!(request.cxx.as_deref(), Some(Path::new("absent-g++")));
    }

    #[test]
    fn emulated_request_installs_and_selects_the_versioned_compiler() {
        let settings = settings(PROJECT, &flags("aarch64", Some("gcc11")));
        let emulated = settings.emulated_request();
        assert_eq!(emulated.packages, ["g++-11", "gcc-11", "lld", "zlib1g-dev"]);
        let env: Vec<(&str, &str)> = emulated
            .env
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        assert_eq!(
            env,
            [
                // `env` wins over everything archway sets.
                ("CC", "my-cc-wins"),
                ("CFLAGS", "-O2"),
                ("CXX", "g++-11 -march=armv8-a"),
                ("LDFLAGS", "-fuse-ld=lld"),
                ("QEMU_CPU", "cortex-a72"),
            ]
        );
    }

    #[test]
    fn gcc_keys_set_the_platform_cpu_with_their_source() {
        let project = "[target.x86_64-linux]\ngcc-arch = \"x86-64-v3\"\n\n[profile.newer]\ngcc-arch = \"armv8.2-a\"\n";
        let x86 = settings(project, &flags("x86_64-linux", None));
        assert_eq!(
            x86.target.value.platform.compiler_flags(),
            ["-march=x86-64-v3"]
        );
        let arm = settings(project, &flags("aarch64-multiplatform", Some("newer")));
        assert_eq!(
            arm.target.value.platform.compiler_flags(),
            ["-march=armv8.2-a"]
        );
        let row = arm
            .overrides
            .rows()
            .into_iter()
            .find(|(key, _)| key == "gcc-arch")
            .and_then(|(_, value)| value)
            .expect("a gcc-arch row");
        assert_eq!(row.value, "armv8.2-a");
        assert!(
            row.source.to_string().contains("[profile.newer]"),
            "{}",
            row.source
        );
    }

    #[test]
    fn gcc_values_that_are_not_one_compiler_word_are_refused_at_their_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let no_env = |_: &str| None::<OsString>;
        for (text, shown) in [
            (
                "gcc-arch = \"armv8-a -fplugin=/tmp/x.so\"",
                "`armv8-a -fplugin=/tmp/x.so`",
            ),
            ("gcc-cpu = \"-mcpu=x\"", "`-mcpu=x`"),
            ("gcc-float = \"softfp\"", "one of `soft`, `hard`"),
            ("gcc-mode = \"thumb2\"", "one of `arm`, `thumb`"),
        ] {
            let project = format!("[target.raspberryPi]\n{text}\n");
            std::fs::write(dir.path().join("archway.toml"), &project).expect("project file");
            let error = Config::load_with(dir.path(), None, no_env).expect_err(text);
            let message = error.to_string();
            assert!(message.contains("archway.toml:2:"), "{message}");
            assert!(message.contains(shown), "{message}");
        }
    }

    #[test]
    fn emulated_request_compiles_for_the_platform_cpu_and_runs_its_qemu_model() {
        let pi = settings(PROJECT, &flags("raspberryPi", None));
        let env = pi.emulated_request().env;
        // With the compiler (CFLAGS would replace the build system's `-g -O2`).
        assert_eq!(env["CC"], "gcc -march=armv6kz -mfpu=vfpv2 -marm");
        assert_eq!(env["CXX"], "g++ -march=armv6kz -mfpu=vfpv2 -marm");
        assert!(!env.contains_key("CFLAGS"));
        assert_eq!(env["QEMU_CPU"], "arm1176");
        // A configured CPU replaces the platform's, down to the QEMU model.
        let project = "[target.raspberryPi]\ngcc-cpu = \"cortex-a7\"\ngcc-fpu = \"neon-vfpv4\"\n";
        let configured = settings(project, &flags("raspberryPi", None));
        let env = configured.emulated_request().env;
        assert_eq!(env["CC"], "gcc -mcpu=cortex-a7 -mfpu=neon-vfpv4");
        assert_eq!(env["QEMU_CPU"], "cortex-a7");
    }

    #[test]
    fn emulated_request_for_an_unconfigured_target_is_empty() {
        let settings = settings(PROJECT, &flags("ppc64le", None));
        assert_eq!(
            settings.emulated_request(),
            super::EmulatedRequest::default()
        );
        let riscv = settings_for_riscv();
        assert_eq!(
            riscv.emulated_request().env.get("CC").map(String::as_str),
            Some("/opt/cc")
        );
        assert!(riscv.emulated_request().packages.is_empty());
    }

    fn settings_for_riscv() -> crate::config::Settings {
        settings(PROJECT, &flags("riscv64", None))
    }

    #[test]
    fn rootfs_key_is_derived_from_the_base_by_the_packages() {
        let settings = settings(PROJECT, &flags("aarch64", Some("gcc11")));
        let platform = &settings.target.value.platform;
        let key = settings
            .emulated_request()
            .rootfs_key(platform)
            .expect("a key");
        assert_eq!(key.architecture.to_string(), "arm64");
        assert!(!key.is_base());
        let packages: Vec<&str> = key
            .packages
            .iter()
            .map(|package| package.as_str())
            .collect();
        assert_eq!(packages, ["g++-11", "gcc-11", "lld", "zlib1g-dev"]);
        let plain = settings_for_riscv();
        let key = plain
            .emulated_request()
            .rootfs_key(&plain.target.value.platform)
            .expect("a key");
        assert!(key.is_base());
        assert_eq!(key.suite.to_string(), "trixie");
    }

    #[test]
    fn clang_maps_to_debian_names() {
        let settings = settings(
            "[build]\ntoolchain = { family = \"clang\", version = 16 }\n",
            &flags("arm64", None),
        );
        let emulated = settings.emulated_request();
        assert_eq!(emulated.packages, ["clang-16"]);
        assert_eq!(emulated.env["CC"], "clang-16 -march=armv8-a");
        assert_eq!(emulated.env["CXX"], "clang++-16 -march=armv8-a");
    }
}
