//! The one spelling of a build method, used by the configuration, the CLI and the planner.
//!
//! A [`Method`] is how a build runs; a [`MethodRequest`] is what the user asked for (`auto`, or
//! one method). Each method is implemented by a backend in [`crate::backend`].

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// How a build runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The target is the host's own platform: the host's compilers, tests run directly.
    Native,
    /// A cross toolchain on the host, with a sysroot of the target's own Debian packages.
    Cross,
    /// The target's root filesystem with a native prefix inside: the compiler, the shell and
    /// the build tools run on the host CPU, everything else is the target's, under QEMU.
    Hybrid,
    /// The target's root filesystem under QEMU: the target's own compiler and tools.
    Emulated,
}

impl Method {
    /// Every method, in the order `auto` considers them.
    pub const ALL: [Method; 4] = [
        Method::Native,
        Method::Cross,
        Method::Hybrid,
        Method::Emulated,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Native => "native",
            Method::Cross => "cross",
            Method::Hybrid => "hybrid",
            Method::Emulated => "emulated",
        }
    }

    /// Whether the method builds inside the target's root filesystem.
    pub fn uses_rootfs(self) -> bool {
        matches!(self, Method::Hybrid | Method::Emulated)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name is not `auto` or a method's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMethod(pub String);

impl fmt::Display for UnknownMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown method `{}` (expected one of {})",
            self.0,
            MethodRequest::NAMES
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

impl std::error::Error for UnknownMethod {}

impl FromStr for Method {
    type Err = UnknownMethod;
    fn from_str(input: &str) -> Result<Method, UnknownMethod> {
        Method::ALL
            .into_iter()
            .find(|method| method.name() == input)
            .ok_or_else(|| UnknownMethod(input.to_string()))
    }
}

/// What the user asked for: `--method auto|native|cross|hybrid|emulated`, `method = "…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MethodRequest {
    /// Native if the host runs the target, else cross if a toolchain (and sysroot) can serve,
    /// else hybrid, else emulated.
    #[default]
    Auto,
    Only(Method),
}

impl MethodRequest {
    /// Every accepted name.
    pub const NAMES: &'static [&'static str] = &["auto", "native", "cross", "hybrid", "emulated"];

    pub fn name(self) -> &'static str {
        match self {
            MethodRequest::Auto => "auto",
            MethodRequest::Only(method) => method.name(),
        }
    }

    /// The methods to consider, in order.
    pub fn candidates(self) -> Vec<Method> {
        match self {
            MethodRequest::Auto => Method::ALL.to_vec(),
            MethodRequest::Only(method) => vec![method],
        }
    }
}

impl FromStr for MethodRequest {
    type Err = UnknownMethod;
    fn from_str(input: &str) -> Result<MethodRequest, UnknownMethod> {
        if input == "auto" {
            return Ok(MethodRequest::Auto);
        }
        input.parse().map(MethodRequest::Only)
    }
}

impl fmt::Display for MethodRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for MethodRequest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for name in MethodRequest::NAMES {
            let request: MethodRequest = name.parse().expect("known");
            assert_eq!(request.to_string(), *name);
        }
        for method in Method::ALL {
            assert_eq!(method.name().parse::<Method>(), Ok(method));
        }
        let error = "qemu".parse::<MethodRequest>().expect_err("unknown");
        assert_eq!(
            error.to_string(),
            "unknown method `qemu` (expected one of `auto`, `native`, `cross`, `hybrid`, `emulated`)"
        );
        assert!("auto".parse::<Method>().is_err(), "auto is not a method");
    }

    #[test]
    fn auto_considers_every_method_in_order() {
        assert_eq!(MethodRequest::Auto.candidates(), Method::ALL.to_vec());
        assert_eq!(
            MethodRequest::Only(Method::Hybrid).candidates(),
            vec![Method::Hybrid]
        );
    }
}
