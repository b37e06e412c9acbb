//! Test support for every crate of the workspace: the one answer to "is this CI?", and the one
//! way a test that cannot run here says so.
//!
//! Tests that need root, the kernel or a tool (a cross compiler, QEMU, mmdebstrap) skip on a
//! machine without it, saying why on stderr; under CI (`scripts/test.sh` exports `CI=true`) the
//! same test fails instead, so a missing package can never make the suite pass by skipping.
//!
//! ```
//! use archway_platform::testing;
//!
//! // In a test: returns early outside CI when `meson` is missing, fails under CI.
//! # let have_meson = true;
//! if !testing::require(have_meson, "`meson` is not installed") {
//!     return;
//! }
//! ```
//!
//! Not part of archway's interface (hidden from the docs): it prints and panics, which library
//! code never does.

use std::ffi::OsStr;

/// True when `CI` is set to something other than empty, `false` (any case) or `0`: the tests
/// that need root, the kernel or a tool must run then.
pub fn in_ci() -> bool {
    means_ci(std::env::var_os("CI").as_deref())
}

/// The rule of [`in_ci`] on a value of `CI` (`None`: unset).
fn means_ci(value: Option<&OsStr>) -> bool {
    value.is_some_and(|value| {
        !value.is_empty() && !value.eq_ignore_ascii_case("false") && value != "0"
    })
}

/// A test that cannot run here: under CI panics with `required under CI: {why}`; elsewhere
/// prints `skipped: {why}` to stderr and returns `true` (the caller returns).
#[track_caller]
pub fn skip_unless_ci(why: &str) -> bool {
    skip_or_fail(in_ci(), why)
}

/// `true` when `condition` holds (the test runs); otherwise [`skip_unless_ci`]: `false` after
/// saying why outside CI, a panic under CI.
#[track_caller]
#[must_use = "return from the test when this is `false`"]
pub fn require(condition: bool, why: &str) -> bool {
    condition || !skip_unless_ci(why)
}

/// A [`crate::Reporter`] that keeps the notes it is given, for tests that check what a
/// library said (a warning, a decision) without a terminal.
#[derive(Debug, Default)]
pub struct Notes(std::sync::Mutex<Vec<String>>);

impl Notes {
    /// The notes so far, in order.
    pub fn all(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl crate::Reporter for Notes {
    fn start(&self, _task: &str, _total: Option<u64>) {}
    fn note(&self, message: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(message.to_string());
    }
}

#[track_caller]
fn skip_or_fail(ci: bool, why: &str) -> bool {
    if ci {
        panic!("required under CI: {why}");
    }
    eprintln!("skipped: {why}");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_means_set_and_not_empty_false_or_zero() {
        let cases: &[(Option<&str>, bool)] = &[
            (None, false),
            (Some(""), false),
            (Some("false"), false),
            (Some("False"), false),
            (Some("FALSE"), false),
            (Some("0"), false),
            (Some("true"), true),
            (Some("1"), true),
            (Some("yes"), true),
            (Some("woodpecker"), true),
            (Some("00"), true),
        ];
        for &(value, expected) in cases {
            assert_eq!(means_ci(value.map(OsStr::new)), expected, "CI={value:?}");
        }
    }

    #[test]
    fn outside_ci_a_missing_prerequisite_skips() {
        assert!(skip_or_fail(false, "`meson` is not installed"));
    }

    #[test]
    #[should_panic(expected = "required under CI: `meson` is not installed")]
    fn under_ci_a_missing_prerequisite_fails() {
        skip_or_fail(true, "`meson` is not installed");
    }

    #[test]
    fn require_runs_the_test_when_the_condition_holds_even_under_ci() {
        // Never reaches `skip_unless_ci`, so the environment's `CI` does not matter.
        assert!(require(true, "unused"));
    }
}
