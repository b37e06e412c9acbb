//! Where a resolved value came from: a file position, an environment variable, a flag, or the
//! built-in default.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A position in a configuration file (1-based line and column, as editors count them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The position of byte `offset` of `text`, read from `path`. Columns count characters.
    pub fn at(path: &Path, text: &str, offset: usize) -> Location {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |index| index + 1);
        let column = before[line_start..].chars().count() + 1;
        Location {
            path: path.to_path_buf(),
            line,
            column,
        }
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// Where one resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// archway's built-in default (or, for the target, the host).
    Default,
    /// A configuration file: the line of the value and the section it is in (`[target.arm64]`).
    File {
        path: PathBuf,
        line: usize,
        section: String,
    },
    /// An `ARCHWAY_*` environment variable.
    Env { variable: String },
    /// A command-line flag (`--profile`).
    Flag { flag: String },
}

impl Source {
    pub(crate) fn file(location: &Location, section: &str) -> Source {
        Source::File {
            path: location.path.clone(),
            line: location.line,
            section: section.to_string(),
        }
    }

    pub(crate) fn env(variable: &str) -> Source {
        Source::Env {
            variable: variable.to_string(),
        }
    }

    pub(crate) fn flag(flag: &str) -> Source {
        Source::Flag {
            flag: flag.to_string(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File {
                path,
                line,
                section,
            } => write!(f, "{}:{line} {section}", path.display()),
            Source::Env { variable } => write!(f, "${variable}"),
            Source::Flag { flag } => f.write_str(flag),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Sourced<T> {
    pub fn new(value: T, source: Source) -> Sourced<T> {
        Sourced { value, source }
    }

    /// The same source with a transformed value.
    pub fn map<U>(self, transform: impl FnOnce(T) -> U) -> Sourced<U> {
        Sourced {
            value: transform(self.value),
            source: self.source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters_from_one() {
        let text = "a = 1\n[b]\n  é = 2\n";
        let path = Path::new("f.toml");
        assert_eq!(Location::at(path, text, 0).to_string(), "f.toml:1:1");
        assert_eq!(Location::at(path, text, 6).to_string(), "f.toml:2:1");
        // `é` is two bytes: the `=` after it is the 5th character of line 3.
        let equals = text
            .find('=')
            .map(|_| text.rfind('=').unwrap_or(0))
            .unwrap_or(0);
        assert_eq!(Location::at(path, text, equals).to_string(), "f.toml:3:5");
        // Offsets past the end or inside a character do not panic.
        assert_eq!(Location::at(path, text, 999).line, 4);
        assert_eq!(Location::at(path, text, 13).line, 3);
    }

    #[test]
    fn sources_display_as_users_write_them() {
        let file = Source::File {
            path: PathBuf::from("/p/archway.toml"),
            line: 4,
            section: "[target.arm64]".to_string(),
        };
        assert_eq!(file.to_string(), "/p/archway.toml:4 [target.arm64]");
        assert_eq!(Source::env("ARCHWAY_CC").to_string(), "$ARCHWAY_CC");
        assert_eq!(Source::flag("--profile").to_string(), "--profile");
        assert_eq!(Source::Default.to_string(), "default");
    }
}
