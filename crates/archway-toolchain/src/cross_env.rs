//! The cross environment: the variables, flags and emulator a build for one target runs with.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use archway_platform::quote::{
    fish_quoted, is_fish_variable_name, is_sh_variable_name, sh_quoted, sh_words,
};
use archway_platform::{Kernel, Libc, Platform};
use serde::Serialize;

use crate::files::GeneratedFiles;
use crate::{Error, Linker, Request, Sysroot, Toolchain};

/// Everything a build for one target needs, ready to be put into a process environment or
/// rendered into build-system files ([`crate::write_files`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossEnv {
    pub target: Platform,
    pub toolchain: Toolchain,
    /// `CC`, `CXX`, `AR`, ..., `PKG_CONFIG_*`, `CC_<rust triple>`, `CARGO_TARGET_<T>_*`,
    /// `QEMU_LD_PREFIX`, then the request's own `env` on top.
    pub vars: BTreeMap<String, String>,
    /// autotools' `--host` (`aarch64-linux-gnu`).
    pub host_triple: String,
    /// The command that runs a target program (`["/usr/bin/qemu-aarch64-static", "-L", "..."]`);
    /// empty when this host runs the target natively or no emulator exists for it.
    pub emulator: Vec<String>,
    /// The sysroot the compiler is given with `--sysroot`, if any.
    pub sysroot: Option<PathBuf>,
    /// Where target programs find their shared libraries and ELF interpreter (QEMU's `-L`): the
    /// sysroot, else the toolchain's own libc directory.
    pub library_prefix: Option<PathBuf>,
    /// Arguments for every compile and link, besides the toolchain's `--target` (`--sysroot=`).
    pub compile_args: Vec<String>,
    /// Compiler flags the user asked for (`CFLAGS`), and for C++.
    pub cflags: Vec<String>,
    pub cxxflags: Vec<String>,
    /// Link flags: `-fuse-ld=` and the user's `LDFLAGS`.
    pub ldflags: Vec<String>,
    /// `PKG_CONFIG_LIBDIR` entries (only the target's .pc files, never the host's).
    pub pkg_config_libdir: Vec<PathBuf>,
    /// The Rust target triple, when Rust has one.
    pub rust_target: Option<String>,
    /// The QEMU CPU model, if asked for.
    pub qemu_cpu: Option<String>,
    /// Directories mapped to fixed names in the outputs ([`crate::reproducible`]): part of
    /// `CC`/`CXX` and the CMake and Meson flags, and of rustc's flags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub path_maps: Vec<crate::reproducible::PathMap>,
}

/// How `archway env` prints the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `export NAME='value'` (POSIX sh, bash, zsh).
    Sh,
    /// `set -gx NAME 'value'`.
    Fish,
    /// One JSON object.
    Json,
}

impl CrossEnv {
    /// The environment for `toolchain`, with the request's flags and overrides, compiling
    /// against `sysroot` if given (the request's own `sysroot` wins). Looks for QEMU on `PATH`.
    pub fn new(
        toolchain: &Toolchain,
        request: &Request,
        sysroot: Option<&Sysroot>,
    ) -> Result<CrossEnv, Error> {
        let search_path = std::env::var_os("PATH").unwrap_or_default();
        let host = archway_platform::host::Host::detect().ok();
        let native = host
            .as_ref()
            .is_some_and(|host| host.runs_natively(&toolchain.target));
        CrossEnv::with_search_path(
            toolchain,
            request,
            sysroot.map(Sysroot::path).as_deref(),
            &search_path,
            native,
        )
    }

    /// The whole cross setup for `target`: selects the toolchain for the request on `PATH`,
    /// compiles against archway's sysroot for the target when one was filled (`sysroot add`),
    /// and for musl targets requires it (Debian's musl is the target's own `musl-dev`).
    pub fn for_target(
        target: &Platform,
        request: &Request,
        cache_dir: Option<&Path>,
    ) -> Result<CrossEnv, Error> {
        let search_path = std::env::var_os("PATH").unwrap_or_default();
        let toolchain = crate::select(target, request, &search_path)?;
        let sysroot = match cache_dir {
            Some(cache_dir) if target.debian_arch().is_some() => {
                Some(Sysroot::open(cache_dir, target)?).filter(Sysroot::exists)
            }
            _ => None,
        };
        CrossEnv::new(&toolchain, request, sysroot.as_ref())
    }

    /// [`CrossEnv::new`] with the search path (for QEMU) and whether the host runs the target
    /// natively (then no emulator) injected.
    pub fn with_search_path(
        toolchain: &Toolchain,
        request: &Request,
        sysroot: Option<&Path>,
        search_path: &OsStr,
        runs_natively: bool,
    ) -> Result<CrossEnv, Error> {
        let target = toolchain.target.clone();
        let sysroot = request
            .sysroot
            .clone()
            .or_else(|| sysroot.map(Path::to_path_buf));
        // Debian has no musl cross toolchain: its musl is the target's own musl-dev, in a
        // sysroot. Without one, clang would quietly compile against nothing usable.
        if target.libc() == Libc::Musl && request.sysroot.is_none() {
            let has_musl = sysroot
                .as_ref()
                .zip(musl_triple(&target))
                .is_some_and(|(sysroot, triple)| sysroot.join("usr/include").join(triple).is_dir());
            if !has_musl {
                return Err(Error::MuslSysrootMissing {
                    target: target.display_name(),
                });
            }
        }
        let library_prefix = sysroot.clone().or_else(|| toolchain.libc_prefix.clone());

        // The platform's CPU (`-march=armv6kz -mfpu=vfpv2 -marm`) goes where nixpkgs'
        // cc-wrapper puts it (`cc-cflags-before`): into every compile and link, as part of
        // `CC`, so a build's own `CFLAGS` (and autoconf's `-g -O2` default) stay as they are.
        let mut compile_args = target.compiler_flags();
        if let Some(sysroot) = &sysroot {
            compile_args.push(format!("--sysroot={}", sysroot.display()));
            compile_args.extend(musl_args(&target, sysroot));
        }
        let mut ldflags = toolchain.link_args.clone();
        if let Some(linker) = toolchain.linker {
            ldflags.push(fuse_ld(linker).to_string());
        }
        if target.libc() == Libc::Musl {
            // Debian's musl-dev has a static libc.a; a static program needs no interpreter,
            // so it runs under QEMU and on any machine of the target architecture.
            ldflags.push("-static".to_string());
        }
        ldflags.extend(request.ldflags.iter().cloned());

        let mut pkg_config_libdir = pkg_config_libdir(&target, sysroot.as_deref());
        // A toolchain's own prefix without a multiarch layout (MinGW's `/usr/x86_64-w64-mingw32`)
        // keeps its .pc files in `lib/pkgconfig`.
        if let (None, None, Some(prefix)) = (&sysroot, target.multiarch(), &toolchain.libc_prefix) {
            pkg_config_libdir.insert(0, prefix.join("lib/pkgconfig"));
        }

        let emulator = if runs_natively || crate::Emulator::for_platform(&target).is_none() {
            Vec::new()
        } else {
            match crate::emulator_command(&target, request, library_prefix.as_deref(), search_path)
            {
                Ok(command) => command,
                Err(error) => {
                    tracing::debug!(%error, "no emulator: target programs cannot run on this host");
                    Vec::new()
                }
            }
        };

        // An explicit model wins; else the one that runs the platform's CPU.
        let qemu_cpu = request
            .qemu_cpu
            .clone()
            .or_else(|| target.qemu_cpu().model().map(str::to_string));
        let mut env = CrossEnv {
            host_triple: toolchain.triple.clone(),
            rust_target: target.rust_target(),
            target,
            toolchain: toolchain.clone(),
            vars: BTreeMap::new(),
            emulator,
            sysroot,
            library_prefix,
            compile_args,
            cflags: request.cflags.clone(),
            cxxflags: request.cxxflags.clone(),
            ldflags,
            pkg_config_libdir,
            qemu_cpu,
            path_maps: request.path_maps.clone(),
        };
        env.vars = env.compute_vars();
        // Names reach `export NAME=...` for `eval` and the build's environment: only POSIX
        // names are safe there (the configuration checks them too, with their file position).
        if let Some(name) = request.env.keys().find(|name| !is_sh_variable_name(name)) {
            return Err(Error::VariableName {
                name: name.clone(),
                shell: "POSIX sh",
            });
        }
        env.vars.extend(request.env.clone());
        Ok(env)
    }

    /// `CC`: the compiler, its `--target`, `--sysroot` and the libc arguments, then the path
    /// maps, as one word list. The maps go with the compiler like the CPU flags: in `CFLAGS`
    /// they would replace the build's own defaults (autoconf's `-g -O2`).
    pub fn cc(&self) -> Vec<String> {
        let mut command = self.toolchain.cc_command();
        command.extend(self.compile_args.iter().cloned());
        command.extend(self.path_map_flags());
        command
    }

    /// `CXX`, like [`CrossEnv::cc`]; `None` when the toolchain has no C++ compiler.
    pub fn cxx(&self) -> Option<Vec<String>> {
        let mut command = self.toolchain.cxx_command()?;
        command.extend(self.compile_args.iter().cloned());
        command.extend(self.path_map_flags());
        Some(command)
    }

    /// `-ffile-prefix-map=` for each of [`CrossEnv::path_maps`] (compile only: not for links).
    pub fn path_map_flags(&self) -> Vec<String> {
        crate::reproducible::c_flags(&self.path_maps)
    }

    fn compute_vars(&self) -> BTreeMap<String, String> {
        let toolchain = &self.toolchain;
        let mut vars = BTreeMap::new();
        let mut set = |name: &str, value: String| {
            vars.insert(name.to_string(), value);
        };
        let cc = sh_words(self.cc());
        set("CC", cc.clone());
        let cxx = self.cxx().map(sh_words);
        if let Some(cxx) = &cxx {
            set("CXX", cxx.clone());
        }
        set("AR", toolchain.ar.display().to_string());
        set("RANLIB", toolchain.ranlib.display().to_string());
        set("NM", toolchain.nm.display().to_string());
        set("STRIP", toolchain.strip.display().to_string());
        set("OBJCOPY", toolchain.objcopy.display().to_string());
        set("LD", toolchain.ld.display().to_string());
        if let Some(windres) = &toolchain.windres {
            set("RC", windres.display().to_string());
            set("WINDRES", windres.display().to_string());
        }
        if !self.cflags.is_empty() {
            set("CFLAGS", sh_words(&self.cflags));
        }
        if !self.cxxflags.is_empty() {
            set("CXXFLAGS", sh_words(&self.cxxflags));
        }
        if !self.ldflags.is_empty() {
            set("LDFLAGS", sh_words(&self.ldflags));
        }
        set("PKG_CONFIG_LIBDIR", join_paths(&self.pkg_config_libdir));
        // pkg-config prefixes every -I/-L path of the target's .pc files with the sysroot.
        if let Some(sysroot) = &self.sysroot {
            set("PKG_CONFIG_SYSROOT_DIR", sysroot.display().to_string());
        }
        // QEMU user mode runs Linux programs only.
        if self.target.kernel() == Kernel::Linux {
            if let Some(prefix) = &self.library_prefix {
                // Read by qemu-user like `-L`, also when binfmt_misc starts QEMU (`make check`).
                set("QEMU_LD_PREFIX", prefix.display().to_string());
            }
            if let Some(cpu) = &self.qemu_cpu {
                set("QEMU_CPU", cpu.clone());
            }
        }
        if let Some(rust) = &self.rust_target {
            // cc-rs reads `CC_<target>` with the triple's dashes as underscores.
            let underscored = rust.replace('-', "_");
            set(&format!("CC_{underscored}"), cc.clone());
            if let Some(cxx) = &cxx {
                set(&format!("CXX_{underscored}"), cxx.clone());
            }
            set(
                &format!("AR_{underscored}"),
                toolchain.ar.display().to_string(),
            );
            let cargo = format!("CARGO_TARGET_{}", underscored.to_uppercase());
            set(
                &format!("{cargo}_LINKER"),
                toolchain.cc.display().to_string(),
            );
            let rustflags = self.rust_flags();
            if !rustflags.is_empty() {
                set(&format!("{cargo}_RUSTFLAGS"), sh_words(&rustflags));
            }
            if !self.emulator.is_empty() {
                set(&format!("{cargo}_RUNNER"), sh_words(&self.emulator));
            }
        }
        vars
    }

    /// rustc flags: the platform's CPU (`-C target-cpu=`, where LLVM knows it), then
    /// [`CrossEnv::rust_link_args`], then the path maps (`--remap-path-prefix`).
    pub fn rust_flags(&self) -> Vec<String> {
        let mut flags = self.target.rustc_cpu_flags();
        flags.extend(self.rust_link_args());
        flags.extend(crate::reproducible::rust_flags(&self.path_maps));
        flags
    }

    /// rustc flags that pass the compiler driver's target arguments through to the linker.
    pub fn rust_link_args(&self) -> Vec<String> {
        self.toolchain
            .target_args
            .iter()
            .chain(&self.compile_args)
            .chain(&self.ldflags)
            .flat_map(|arg| ["-C".to_string(), format!("link-arg={arg}")])
            .collect()
    }

    /// Adds the variables that point at generated files: `CMAKE_TOOLCHAIN_FILE` and autoconf's
    /// `CONFIG_SITE`.
    pub fn set_files(&mut self, files: &GeneratedFiles) {
        self.vars.insert(
            "CMAKE_TOOLCHAIN_FILE".to_string(),
            files.cmake_toolchain.display().to_string(),
        );
        self.vars.insert(
            "CONFIG_SITE".to_string(),
            files.config_site.display().to_string(),
        );
    }

    /// The environment as text for a shell, or as JSON. A variable name the shell cannot
    /// assign is refused rather than printed: `eval "$(archway env)"` would run it.
    pub fn render(&self, format: Format) -> Result<String, Error> {
        let mut out = String::new();
        let host_var = ("ARCHWAY_HOST_TRIPLE".to_string(), self.host_triple.clone());
        let vars = self
            .vars
            .clone()
            .into_iter()
            .chain(std::iter::once(host_var));
        match format {
            Format::Sh | Format::Fish => {
                let _ = writeln!(
                    out,
                    "# archway cross environment for {}",
                    self.target.display_name()
                );
                let _ = writeln!(out, "# autotools: ./configure --host={}", self.host_triple);
                for (name, value) in vars {
                    if format == Format::Sh {
                        if !is_sh_variable_name(&name) {
                            return Err(Error::VariableName {
                                name,
                                shell: "POSIX sh",
                            });
                        }
                        let _ = writeln!(out, "export {name}={}", sh_quoted(&value));
                    } else {
                        if !is_fish_variable_name(&name) {
                            return Err(Error::VariableName {
                                name,
                                shell: "fish",
                            });
                        }
                        let _ = writeln!(out, "set -gx {name} {}", fish_quoted(&value));
                    }
                }
            }
            Format::Json => {
                let value = serde_json::json!({
                    "target": self.target.display_name(),
                    "host_triple": self.host_triple,
                    "emulator": self.emulator,
                    "sysroot": self.sysroot,
                    "vars": self.vars,
                });
                out = serde_json::to_string_pretty(&value).unwrap_or_default();
                out.push('\n');
            }
        }
        Ok(out)
    }
}

/// `-fuse-ld=` for a linker.
pub(crate) fn fuse_ld(linker: Linker) -> &'static str {
    match linker {
        Linker::Bfd => "-fuse-ld=bfd",
        Linker::Gold => "-fuse-ld=gold",
        Linker::Lld => "-fuse-ld=lld",
        Linker::Mold => "-fuse-ld=mold",
    }
}

/// Where the target's `.pc` files are: Debian's multiarch directory and the shared ones.
fn pkg_config_libdir(target: &Platform, sysroot: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let root = sysroot.unwrap_or(Path::new("/"));
    if let Some(multiarch) = target.multiarch() {
        dirs.push(root.join("usr/lib").join(multiarch).join("pkgconfig"));
    }
    // On the host, `/usr/lib/pkgconfig` may hold host-architecture files; Debian's own cross
    // wrapper (`<triple>-pkg-config`, pkgconf's `cross-personality`) leaves it out too.
    if sysroot.is_some() {
        dirs.push(root.join("usr/lib/pkgconfig"));
    }
    dirs.push(root.join("usr/share/pkgconfig"));
    dirs
}

/// Arguments that point the compiler at Debian's musl inside a sysroot: musl-dev installs its
/// headers and libraries under the musl multiarch triple (`/usr/include/aarch64-linux-musl`,
/// `/usr/lib/aarch64-linux-musl`), which compilers do not search on their own.
fn musl_args(target: &Platform, sysroot: &Path) -> Vec<String> {
    if target.libc() != Libc::Musl {
        return Vec::new();
    }
    let Some(triple) = musl_triple(target) else {
        return Vec::new();
    };
    let include = sysroot.join("usr/include").join(&triple);
    let lib = sysroot.join("usr/lib").join(&triple);
    if !include.is_dir() {
        return Vec::new();
    }
    vec![
        format!("-isystem{}", include.display()),
        format!("-L{}", lib.display()),
        format!("-B{}", lib.display()),
    ]
}

/// Debian's musl multiarch triple (`aarch64-linux-musl`, `arm-linux-musleabihf`): where
/// musl-dev puts its headers and libraries.
pub(crate) fn musl_triple(target: &Platform) -> Option<String> {
    (target.libc() == Libc::Musl)
        .then(|| target.multiarch().map(str::to_string))
        .flatten()
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_are_quoted_per_word() {
        assert_eq!(
            sh_words(["gcc", "--sysroot=/a b", ""]),
            "gcc '--sysroot=/a b' ''"
        );
        assert_eq!(sh_words(["-DX=$(id)", "a;b"]), "'-DX=$(id)' 'a;b'");
    }
}
