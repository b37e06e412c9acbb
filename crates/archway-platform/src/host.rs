//! The running machine: its platform, and whether its kernel runs 32-bit compat binaries.
//! (The one place in this crate that does I/O.)

use crate::{Error, Platform};

/// What the host is and can run.
#[derive(Debug, Clone)]
pub struct Host {
    pub platform: Platform,
    /// The kernel runs the 32-bit sibling (x86_64 → i686, aarch64 → armv7) natively.
    pub compat32: bool,
}

impl Host {
    /// Probes the running machine.
    pub fn detect() -> Result<Host, Error> {
        unimplemented!("skeleton")
    }
    /// Can this host run `target` binaries natively (platform rules plus compat support)?
    pub fn runs_natively(&self, target: &Platform) -> bool {
        let _ = target;
        unimplemented!("skeleton")
    }
}
