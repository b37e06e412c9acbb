//! The native method: the target is the host's own platform, so the host's own compilers
//! build and the tests run directly. A 32-bit sibling the host runs (i686 on x86_64) is not
//! native: the host's `gcc` makes x86_64 programs; the cross method builds for it, and its
//! tests run directly too.

use archway_platform::Reporter;
use archway_toolchain::reproducible::PathMap;

use super::{Backend, Environment, Job};
use crate::method::Method;
use crate::plan::{Facts, Verdict};
use crate::steps::Toolset;
use crate::Error;

#[derive(Debug)]
pub struct Native;

impl Backend for Native {
    fn method(&self) -> Method {
        Method::Native
    }

    fn judge(&self, facts: &Facts, _setup: bool) -> Verdict {
        if facts.runs_natively && !facts.host_platform {
            Verdict::new(
                Method::Native,
                false,
                format!(
                    "`{}` runs `{}` binaries, but its own compilers build `{}` ones: a cross \
                     toolchain builds them",
                    facts.host, facts.target, facts.host
                ),
                None,
            )
        } else if facts.runs_natively {
            Verdict::new(
                Method::Native,
                true,
                format!("`{}` runs `{}` binaries natively", facts.host, facts.target),
                None,
            )
        } else {
            Verdict::new(
                Method::Native,
                false,
                format!("`{}` cannot run `{}` binaries", facts.host, facts.target),
                None,
            )
        }
    }

    fn prepare(&self, job: &Job<'_>, reporter: &dyn Reporter) -> Result<Environment, Error> {
        Ok(Environment {
            toolset: Toolset::Native,
            // The configuration's compiler, flags and `env`, as the hybrid and emulated
            // methods get them inside (the host's own compilers build), in the host sandbox.
            // With the path maps and `SOURCE_DATE_EPOCH` (`crate::reproducible`).
            executor: crate::host_sandbox::executor(
                job,
                crate::reproducible::with_path_maps(
                    &job.rootfs.env,
                    &PathMap::for_build(job.project_dir, job.build_dir),
                    job.project_dir,
                    &|name| std::env::var(name).ok(),
                ),
                crate::host_sandbox::View::default(),
                reporter,
            )?,
            toolchain: None,
            emulator: Vec::new(),
            in_use: Vec::new(),
            libraries: Some(super::dpkg_status(std::path::Path::new("/"))),
        })
    }
}
