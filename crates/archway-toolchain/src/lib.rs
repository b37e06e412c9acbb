//! Cross toolchains, the cross environment, generated build-system files and per-target
//! sysroots: archway's "method 1" (build with a cross toolchain), with the target's libraries
//! taken prebuilt from the distribution's own packages for that architecture.
//!
//! - [`discover`] lists the toolchains on a search path (GNU `<triple>-gcc[-N]`, MinGW
//!   `-posix`/`-win32`, clang per target it has a C library for); [`select`] picks one for a
//!   target and a [`Request`] (family, version, explicit tools, flags, sysroot, emulator).
//! - [`install_plan`] / [`install`]: the distribution's cross toolchain packages.
//! - [`Sysroot`]: the target architecture's own Debian packages, resolved by apt with a private
//!   configuration and unpacked under the cache directory.
//! - [`CrossEnv`]: `CC`, `CXX`, `AR`, ..., `PKG_CONFIG_*`, `CC_<rust triple>`,
//!   `CARGO_TARGET_<T>_{LINKER,RUNNER}`, autotools' `--host` and the QEMU command;
//!   [`write_files`] renders it as a CMake toolchain file, a Meson cross file, a `config.site`
//!   and a Cargo configuration.
//! - [`emulator_command`]: `qemu-<name>-static -L <sysroot>` for running Linux target programs,
//!   a Wine or WASI [`runner`] in the cache for Windows programs and WASI modules.
//!
//! System state is injected: the search path (normally `PATH`) and the cache directory are
//! arguments, so tests run against stub tools in temporary directories.
//!
//! ```no_run
//! use archway_platform::Platform;
//! use archway_toolchain::{select, write_files, CrossEnv, Request};
//!
//! let target = Platform::parse("aarch64-multiplatform")?;
//! let path = std::env::var_os("PATH").unwrap_or_default();
//! let toolchain = select(&target, &Request::default(), &path)?;
//! let mut env = CrossEnv::new(&toolchain, &Request::default(), None)?;
//! let files = write_files(&env, std::path::Path::new("build/cross"))?;
//! env.set_files(&files);
//! assert_eq!(env.vars["CC"], "/usr/bin/aarch64-linux-gnu-gcc");
//! assert_eq!(env.host_triple, "aarch64-linux-gnu");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cross_env;
mod emulator;
mod error;
mod files;
mod install;
pub mod reproducible;
mod rust;
mod sysroot;
mod toolchain;

pub use cross_env::{CrossEnv, Format};
pub use emulator::{emulator_command, find_qemu, runner, Emulator};
pub use error::{CommandOutput, Error};
pub use files::{
    cargo_config, cmake_toolchain, config_site, meson_cross, write_files, GeneratedFiles,
};
pub use install::{install, install_plan, InstallPlan};
pub use rust::{rust_std, RustStd};
pub use sysroot::{
    upstream_name, AddOutcome, Manifest, Package, Problem, PrunedSysroot, Sysroot, SysrootInUse,
    SysrootInfo, SysrootUpstream, Verification, DEFAULT_MIRROR,
};
pub use toolchain::{
    discover, find_program, gnu_prefixes, select, Family, Linker, MissingCompiler, Request,
    Toolchain,
};
