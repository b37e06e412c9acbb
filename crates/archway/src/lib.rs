//! The archway library façade: builds for another architecture, the emulation they need, the
//! cache.
//!
//! - [`project`] detects the build system (CMake, Meson, `configure`, a plain Makefile, Cargo).
//! - [`steps`] turns a project, a build directory and a [`steps::Toolset`] into a
//!   [`steps::Recipe`]: the configure, build and test commands with their environments.
//! - [`executor`] is where steps run ([`executor::HostExecutor`] on this machine; the emulated
//!   method runs the same recipe in a sandbox, and the cross and native methods in one over
//!   the host's own system: [`host_sandbox`]).
//! - [`method`] is the one spelling of a build method; [`plan`] chooses one over the machine's
//!   facts; [`backend`] holds one module per method (judge, set up, give the toolset and the
//!   executor).
//! - [`build`] is the flow: [`build::prepare`] asks the planner and the chosen backend and
//!   writes the build-system files, [`build::execute`] runs the steps and returns an
//!   [`outcome::Outcome`] with every artifact's platform and the time each step took.
//! - [`ops`] holds what the CLI's commands do (build, test, `--all-targets`, shell).
//! - [`build_cache`] keys a prepared plan, restores a hit before configure and stores a
//!   successful build (and its passed tests) through [`archway_cache`].
//! - [`emulation`] registers a temporary binfmt_misc entry while tests run foreign programs.
//!
//! ```no_run
//! use archway::build::{execute, prepare, BuildRequest, Goal};
//! use archway::platform::{NoProgress, Platform};
//!
//! let target = Platform::parse("riscv64").unwrap();
//! let prepared = prepare(&BuildRequest::new("path/to/zlib", target), &NoProgress).unwrap();
//! let outcome = execute(&prepared.plan, Goal::Test, prepared.executor.as_ref(), &NoProgress).unwrap();
//! for artifact in &outcome.artifacts {
//!     println!("{} {:?}", artifact.path.display(), artifact.platform);
//! }
//! ```

pub mod backend;
pub mod build;
pub mod build_cache;
pub mod cache;
pub mod cmake_tests;
pub mod config;
pub mod emulated;
pub mod emulation;
mod error;
pub mod executor;
pub mod host_sandbox;
pub mod lock;
pub mod method;
pub mod missing;
pub mod msrv;
pub mod ops;
pub mod outcome;
pub mod plan;
pub mod process;
pub mod project;
pub mod reproducible;
pub mod rust;
pub mod rust_needs;
pub mod steps;

pub use archway_platform as platform;
pub use error::Error;
