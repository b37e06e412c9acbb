//! The one CLI test binary: runs the built `archway` in a temporary HOME and snapshots
//! exit code, stdout and stderr (insta). Add a `mod <area>;` line for your command.

mod support;

mod binfmt;
mod build;
mod cache;
mod config;
mod corpus_subset;
mod emulators;
mod generated;
mod host_sandbox;
mod hostile;
mod inspect;
mod missing_dependency;
mod platform;
mod processes;
mod rootfs;
mod rootfs_verify;
mod rust_debian;
mod shared_cache;
mod sysroot;
mod test_suite;
mod toolchain;
