//! The platform crate's error.

/// Everything that can go wrong naming or identifying a platform.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A target name that no rule accepts.
    #[error("unknown platform `{input}`: {reason}{}", did_you_mean(suggestions))]
    Unknown {
        input: String,
        /// Which part is wrong and why (`unknown cpu `risc64``).
        reason: String,
        /// Closest valid names for the wrong part, best first.
        suggestions: Vec<String>,
        /// The whole input with the wrong part replaced by the best suggestion.
        corrected: Option<String>,
    },
    /// Bytes that are not a binary archway can identify (empty, truncated, unknown format).
    #[error("{reason}")]
    Binary { reason: String },
    /// The running machine could not be probed.
    #[error("cannot detect the host platform: {reason}")]
    Host { reason: String },
    /// A Debian suite archway does not know (it also names a cache directory).
    #[error("unknown Debian suite `{}`", input.escape_debug())]
    UnknownSuite { input: String },
    /// A word that is not a Debian binary package name (Debian Policy §5.6.1).
    #[error("`{}` is not a Debian package name: {reason}", input.escape_debug())]
    InvalidPackageName { input: String, reason: String },
    /// A value that a generated file's syntax cannot carry unchanged.
    #[error("cannot write `{}` into {syntax}: {reason}", shortened(value))]
    Unquotable {
        value: String,
        /// Where it was to go (`a Meson cross file`).
        syntax: &'static str,
        reason: &'static str,
    },
}

/// A value for a message: long ones (a 64 KiB flag) cut to their start.
fn shortened(value: &str) -> String {
    const LIMIT: usize = 80;
    match value.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}...", &value[..end]),
        None => value.to_string(),
    }
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        [first, rest @ ..] => {
            let rest: Vec<String> = rest.iter().map(|s| format!("`{s}`")).collect();
            format!("; did you mean `{first}` (or {})?", rest.join(", "))
        }
    }
}

impl Error {
    /// The `hint:` line for the user, with the command that fixes it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Unknown {
                corrected: Some(corrected),
                ..
            } => Some(format!(
                "use `{corrected}`; `archway platform list` shows every name"
            )),
            Error::Unknown { .. } => Some(
                "`archway platform list` shows every name; `archway platform show <name>` checks one"
                    .to_string(),
            ),
            Error::Binary { .. } => Some(
                "`archway inspect` reads ELF, PE/COFF, Mach-O and WebAssembly executables and libraries"
                    .to_string(),
            ),
            Error::Host { .. } => Some(
                "name the platform explicitly, e.g. `--target x86_64-linux`".to_string(),
            ),
            Error::UnknownSuite { .. } => Some(format!(
                "use one of {}, or leave the suite out for the architecture's default",
                crate::debian_names::Suite::quoted_names()
            )),
            Error::InvalidPackageName { .. } => Some(
                "give Debian binary package names such as `zlib1g-dev`; `apt-cache search WORD` finds them"
                    .to_string(),
            ),
            Error::Unquotable { .. } => Some(
                "change the value in `archway.toml` (`archway config show` says where it is set)"
                    .to_string(),
            ),
        }
    }

    pub(crate) fn unknown(input: &str, reason: String, suggestions: Vec<String>) -> Error {
        let corrected = suggestions.first().cloned();
        Error::Unknown {
            input: input.to_string(),
            reason,
            suggestions,
            corrected,
        }
    }

    #[allow(dead_code)] // used by binary identification
    pub(crate) fn binary(reason: impl Into<String>) -> Error {
        Error::Binary {
            reason: reason.into(),
        }
    }
}

/// 1 for equal strings, 0 for nothing in common: optimal string alignment distance (edits
/// plus adjacent transpositions, the common typos `riscv46`, `amr64`) over the longer length.
pub(crate) fn similarity(a: &str, b: &str) -> f64 {
    let longest = a.chars().count().max(b.chars().count());
    if longest == 0 {
        return 1.0;
    }
    1.0 - strsim::osa_distance(a, b) as f64 / longest as f64
}

/// Names from `candidates` close to `wrong`, best first (at most three).
pub(crate) fn closest<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let wrong_lower = wrong.to_ascii_lowercase();
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|candidate| {
            let score = similarity(&wrong_lower, &candidate.to_ascii_lowercase());
            (score, candidate)
        })
        .filter(|(score, _)| *score >= 0.6)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut names: Vec<&str> = Vec::new();
    for (_, name) in scored {
        if !names.contains(&name) {
            names.push(name);
        }
        if names.len() == 3 {
            break;
        }
    }
    names
}

/// "unknown cpu `risc64`; did you mean `riscv64`?" for one part of `input`.
pub(crate) fn unknown_part<'a>(
    input: &str,
    what: &str,
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Error {
    let suggestions: Vec<String> = closest(wrong, candidates)
        .into_iter()
        .map(str::to_string)
        .collect();
    let corrected = suggestions.first().map(|best| {
        if input == wrong {
            best.clone()
        } else {
            // Replace the wrong part where it stands (parts are separated by `-` or `/`).
            input
                .split_inclusive(['-', '/'])
                .map(|piece| {
                    let (body, separator) = match piece.strip_suffix(['-', '/']) {
                        Some(body) => (body, &piece[body.len()..]),
                        None => (piece, ""),
                    };
                    if body == wrong {
                        format!("{best}{separator}")
                    } else {
                        piece.to_string()
                    }
                })
                .collect()
        }
    });
    Error::Unknown {
        input: input.to_string(),
        reason: format!("unknown {what} `{wrong}`"),
        suggestions,
        corrected,
    }
}
