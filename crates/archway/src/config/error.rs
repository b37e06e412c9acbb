//! Everything that can be wrong with configuration: each error says where (file:line:column,
//! variable or flag) and what would be right.

use std::path::PathBuf;

use super::source::{Location, Source};

/// A configuration error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot read configuration file `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{location}: invalid TOML: {message}")]
    Syntax {
        location: Location,
        message: String,
        /// A fix for a mistake we can recognise (an unquoted `linux/arm64` in a header).
        hint: Option<String>,
    },
    #[error("{location}: unknown key `{key}` in `{section}`")]
    UnknownKey {
        location: Location,
        key: String,
        section: String,
        /// The closest valid key, when the unknown one looks like a typo.
        suggestion: Option<String>,
        valid: Vec<String>,
    },
    #[error("{location}: `{key}` must be {expected}, not {found}")]
    WrongType {
        location: Location,
        key: String,
        expected: String,
        found: String,
    },
    #[error("{location}: invalid `{key}` value `{value}`: expected {expected}")]
    InvalidValue {
        location: Location,
        key: String,
        value: String,
        expected: String,
        suggestion: Option<String>,
    },
    #[error("unknown target `{name}` ({origin})")]
    UnknownTarget {
        name: String,
        /// Where the name was written.
        origin: String,
        #[source]
        source: archway_platform::Error,
    },
    #[error("{location}: `{section}` configures the same platform `{platform}` as `{other}` at line {other_line}")]
    DuplicateTarget {
        location: Location,
        /// The section headers, as written in TOML (`[target."linux/arm64"]`).
        section: String,
        other: String,
        other_line: usize,
        platform: String,
    },
    #[error(
        "{origin}: `[cache] {key}` is only read from your own configuration file, not a project's"
    )]
    UserOnly {
        origin: String,
        key: String,
        /// The user file it belongs in.
        user_file: String,
    },
    #[error("profile `{name}` does not exist (selected by {origin})")]
    UnknownProfile {
        name: String,
        origin: Source,
        /// Every defined profile, sorted.
        available: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("environment variable `{variable}` has invalid value `{value}`: expected {expected}")]
    InvalidEnv {
        variable: String,
        value: String,
        expected: String,
        suggestion: Option<String>,
    },
    #[error("`{flag}` has invalid value `{value}`: expected {expected}")]
    InvalidFlag {
        flag: String,
        value: String,
        expected: String,
        suggestion: Option<String>,
    },
}

impl Error {
    /// The `hint:` line for the user, with what to write instead.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Read { .. } => Some("check the file's permissions, or remove it".to_string()),
            Error::Syntax {
                hint: Some(hint), ..
            } => Some(hint.clone()),
            Error::Syntax { .. } => {
                Some("fix the TOML syntax (https://toml.io/en/v1.0.0)".to_string())
            }
            Error::UnknownKey {
                suggestion: Some(suggestion),
                ..
            } => Some(format!("did you mean `{suggestion}`?")),
            Error::UnknownKey { valid, .. } => Some(format!(
                "valid keys here: {}",
                valid
                    .iter()
                    .map(|key| format!("`{key}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Error::WrongType { key, expected, .. } => Some(format!("write `{key}` as {expected}")),
            Error::InvalidValue {
                suggestion: Some(suggestion),
                key,
                ..
            } => Some(format!("did you mean `{key} = \"{suggestion}\"`?")),
            Error::InvalidEnv {
                suggestion: Some(suggestion),
                variable,
                ..
            } => Some(format!("did you mean `{variable}={suggestion}`?")),
            Error::InvalidFlag {
                suggestion: Some(suggestion),
                flag,
                ..
            } => Some(format!("did you mean `{flag} {suggestion}`?")),
            Error::InvalidValue { .. } | Error::InvalidEnv { .. } | Error::InvalidFlag { .. } => {
                None
            }
            Error::UnknownTarget { source, .. } => source.hint(),
            Error::UserOnly { key, user_file, .. } => Some(format!(
                "move `{key}` into `[cache]` of `{user_file}`: a project must not choose whose binaries you trust or what your key signs"
            )),
            Error::DuplicateTarget { section, other, .. } => Some(format!(
                "merge `{section}` into `{other}`: both name the same platform"
            )),
            Error::UnknownProfile {
                suggestion: Some(suggestion),
                ..
            } => Some(format!("did you mean `--profile {suggestion}`?")),
            Error::UnknownProfile {
                available, name, ..
            } if available.is_empty() => Some(format!(
                "no profile is defined: add a `[profile.{name}]` section to `archway.toml`"
            )),
            Error::UnknownProfile {
                available, name, ..
            } => Some(format!(
                "defined profiles: {}; or add a `[profile.{name}]` section to `archway.toml`",
                available
                    .iter()
                    .map(|profile| format!("`{profile}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}
