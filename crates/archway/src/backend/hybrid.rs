//! The hybrid method: the target's root filesystem (the emulated method's, same key, same
//! cache) with a native prefix inside — the host's cross compiler for the target and the tools
//! builds spend their time in (sh, make, sed, grep, awk, coreutils, perl, cmake, ninja,
//! meson...), amd64 programs of the root filesystem's own suite — so configure, make and the
//! compiler run at the host's speed while the headers, libraries, configure probes and test
//! programs stay the target's own, under QEMU. Whatever the prefix lacks runs emulated from the
//! root filesystem, so whatever builds emulated builds hybrid.

use archway_platform::{Platform, Reporter};
use archway_rootfs::Architecture;

use super::{Backend, Environment, Job};
use crate::method::Method;
use crate::plan::{Facts, Verdict};
use crate::Error;

#[derive(Debug)]
pub struct Hybrid;

impl Backend for Hybrid {
    fn method(&self) -> Method {
        Method::Hybrid
    }

    fn judge(&self, facts: &Facts, setup: bool) -> Verdict {
        match &facts.hybrid_prefix {
            Err(why) => Verdict::new(Method::Hybrid, false, why.clone(), None),
            Ok(prefix) => {
                super::judge_rootfs(Method::Hybrid, facts, setup, &format!(" with {prefix}"))
            }
        }
    }

    fn prepare(&self, job: &Job<'_>, reporter: &dyn Reporter) -> Result<Environment, Error> {
        let _ = (job, reporter);
        Err(Error::NoCacheDir)
    }
}

/// Whether a native prefix can be made for `architecture` on `host`: it holds amd64 programs
/// of Debian's archive (its cross compilers run on amd64 only), for a target Debian has a port
/// and a cross compiler for. `Ok` says what the prefix holds, `Err` why there is none.
pub fn prefix_possible(
    host: &Platform,
    architecture: Option<Architecture>,
) -> Result<String, String> {
    if host.debian_arch() != Some("amd64") {
        return Err(format!(
            "the native prefix holds Debian's amd64 programs, and this host is `{}`",
            host.config()
        ));
    }
    match architecture {
        None => Err("Debian has no root filesystem for the target".to_string()),
        Some(Architecture::Amd64 | Architecture::I386) => {
            Err("the host runs the target's programs itself".to_string())
        }
        Some(architecture) => Ok(format!(
            "a native prefix (the suite's amd64 cross gcc for {architecture}, shell, make, coreutils...)"
        )),
    }
}

/// The sandbox of `job` in its hybrid view (created when missing), and its description.
pub(crate) fn sandbox(
    job: &Job<'_>,
    reporter: &dyn Reporter,
) -> Result<(archway_rootfs::Sandbox, String), Error> {
    let _ = (job, reporter);
    Err(Error::NoCacheDir)
}
