//! The archway library façade: configuration, planning (method choice), builds, cache.
//!
//! SKELETON: modules arrive with their issues (config.rs, plan.rs, build.rs, cache.rs).

pub mod cache;
pub mod config;
pub mod emulated;
pub mod plan;

pub use archway_platform as platform;
