//! Where archway keeps its cache: root filesystems, sysroots, downloaded packages.

use std::path::PathBuf;

/// The cache directory: `$ARCHWAY_CACHE_DIR`, else `$XDG_CACHE_HOME/archway`, else
/// `$HOME/.cache/archway`. `None` when none of these is set (no home directory).
pub fn cache_dir() -> Option<PathBuf> {
    cache_dir_from(|name| std::env::var_os(name))
}

/// [`cache_dir`] with the environment injected (for tests).
pub fn cache_dir_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let non_empty = |name: &str| {
        env(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = non_empty("ARCHWAY_CACHE_DIR") {
        return Some(dir);
    }
    // The XDG base directory spec says relative values are invalid and must be ignored.
    if let Some(dir) = non_empty("XDG_CACHE_HOME").filter(|dir| dir.is_absolute()) {
        return Some(dir.join("archway"));
    }
    non_empty("HOME").map(|home| home.join(".cache").join("archway"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    #[test]
    fn cache_dir_prefers_archway_then_xdg_then_home() {
        let all = [
            ("ARCHWAY_CACHE_DIR", "/a"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(cache_dir_from(env(&all)), Some(PathBuf::from("/a")));
        assert_eq!(
            cache_dir_from(env(&all[1..])),
            Some(PathBuf::from("/x/archway"))
        );
        assert_eq!(
            cache_dir_from(env(&all[2..])),
            Some(PathBuf::from("/h/.cache/archway"))
        );
        assert_eq!(cache_dir_from(env(&[])), None);
    }

    #[test]
    fn cache_dir_ignores_relative_xdg_and_empty_values() {
        let pairs = [
            ("ARCHWAY_CACHE_DIR", ""),
            ("XDG_CACHE_HOME", "rel"),
            ("HOME", "/h"),
        ];
        assert_eq!(
            cache_dir_from(env(&pairs)),
            Some(PathBuf::from("/h/.cache/archway"))
        );
    }
}
