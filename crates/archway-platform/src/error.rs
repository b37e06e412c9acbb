//! The platform crate's error.

/// Everything that can go wrong naming or identifying a platform.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A target name that no rule accepts.
    #[error("unknown platform `{input}`: {reason}")]
    Unknown {
        input: String,
        reason: String,
        /// Closest valid names, best first.
        suggestions: Vec<String>,
    },
}

impl Error {
    /// The `hint:` line for the user, with the command that fixes it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Unknown { suggestions, .. } if !suggestions.is_empty() => Some(format!(
                "did you mean `{}`? (`archway platform list` shows every name)",
                suggestions[0]
            )),
            Error::Unknown { .. } => Some("`archway platform list` shows every name".to_string()),
        }
    }
}
