//! Configuration: `archway.toml` in the project, the user's `config.toml`, `ARCHWAY_*`
//! environment variables and command-line flags, resolved for one target (and profile) into
//! [`Settings`] where every value remembers its [`Source`].
//!
//! Precedence, highest first: flag > environment > project file > user file > default.
//! Within the files, a more specific section wins: the selected `[profile.<name>]`, then the
//! `[target.<name>]` matching the target, then `[build]` — each looked up in the project file
//! first, then in the user's. A more specific value replaces a less specific one, except `env`,
//! which merges variable by variable.
//!
//! `[target.<name>]` sections match by the elaborated platform, so `[target.aarch64]` applies
//! to `--target arm64` and `--target linux/arm64`. Two sections of one file that name the same
//! platform are an error (there is no way to tell which the author meant).
//!
//! ```
//! use archway::config::{Config, Flags, Method, MethodRequest};
//! use archway::platform::Platform;
//!
//! let project = tempfile::tempdir().unwrap();
//! std::fs::write(
//!     project.path().join("archway.toml"),
//!     r#"
//! [build]
//! target = "aarch64"
//!
//! [target.arm64]
//! method = "cross"
//! profile = "gcc11"
//!
//! [profile.gcc11]
//! toolchain = { family = "gcc", version = "11" }
//! "#,
//! )
//! .unwrap();
//! let no_env = |_: &str| None;
//! let config = Config::load_with(project.path(), None, no_env).unwrap();
//! let host = Platform::parse("x86_64-linux").unwrap();
//! let settings = config.resolve(&Flags::default(), &host).unwrap();
//! assert_eq!(settings.target.value.platform.config(), "aarch64-unknown-linux-gnu");
//! assert_eq!(settings.method(), MethodRequest::Only(Method::Cross));
//! assert_eq!(settings.overrides.toolchain.unwrap().value.to_string(), "gcc-11");
//! ```

// Configuration errors carry positions, names and suggestions (~130 bytes); they are made once
// per command, on the way out, so boxing them would buy nothing.
#![allow(clippy::result_large_err)]

mod error;
mod file;
mod overrides;
mod request;
mod source;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use archway_platform::Platform;
use serde::Serialize;

pub use crate::method::{Method, MethodRequest};
pub use error::Error;
pub use overrides::{env_variable, Family, Linker, Overrides, Toolchain, KEYS};
pub use request::EmulatedRequest;
pub use source::{Location, Source, Sourced};

use file::ConfigFile;
use overrides::{Base, Invalid, Raw};

/// The project file's name.
pub const PROJECT_FILE: &str = "archway.toml";

/// The build directory when nothing sets one, relative to the project root.
pub const DEFAULT_BUILD_DIR: &str = "build/archway";

/// A target as the user named it, and the platform that name elaborates to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The name as written (`arm64`, `linux/arm64`, `aarch64-multiplatform`).
    pub name: String,
    pub platform: Platform,
}

impl Target {
    pub fn parse(name: &str) -> Result<Target, archway_platform::Error> {
        Ok(Target {
            name: name.to_string(),
            platform: Platform::parse(name)?,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.platform.config();
        if config == self.name {
            f.write_str(&self.name)
        } else {
            write!(f, "{} ({config})", self.name)
        }
    }
}

/// What the command line says (the highest layer). Relative paths are taken as given: the CLI
/// makes them absolute against its working directory.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--target`.
    pub target: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--method`.
    pub method: Option<MethodRequest>,
    /// `--build-dir`.
    pub build_dir: Option<PathBuf>,
}

/// The `ARCHWAY_*` environment variables, checked.
#[derive(Debug, Clone, Default)]
struct EnvLayer {
    target: Option<Sourced<Target>>,
    profile: Option<Sourced<String>>,
    build_dir: Option<Sourced<PathBuf>>,
    /// `ARCHWAY_CACHE_ENABLED`: `[cache] enabled` for this environment (a CI job, a test run).
    cache_enabled: Option<Sourced<bool>>,
    overrides: Overrides,
}

impl EnvLayer {
    fn read(working_dir: &Path, env: &dyn Fn(&str) -> Option<OsString>) -> Result<EnvLayer, Error> {
        let text = |variable: &str| -> Result<Option<String>, Error> {
            match env(variable) {
                None => Ok(None),
                Some(value) if value.is_empty() => Ok(None),
                Some(value) => value
                    .into_string()
                    .map(Some)
                    .map_err(|value| Error::InvalidEnv {
                        variable: variable.to_string(),
                        value: value.to_string_lossy().into_owned(),
                        expected: "UTF-8 text".to_string(),
                        suggestion: None,
                    }),
            }
        };
        let mut layer = EnvLayer::default();
        if let Some(name) = text("ARCHWAY_TARGET")? {
            let target = Target::parse(&name).map_err(|source| Error::UnknownTarget {
                name: name.clone(),
                origin: "$ARCHWAY_TARGET".to_string(),
                source,
            })?;
            layer.target = Some(Sourced::new(target, Source::env("ARCHWAY_TARGET")));
        }
        if let Some(profile) = text("ARCHWAY_PROFILE")? {
            layer.profile = Some(Sourced::new(profile, Source::env("ARCHWAY_PROFILE")));
        }
        if let Some(dir) = text("ARCHWAY_BUILD_DIR")? {
            layer.build_dir = Some(Sourced::new(
                PathBuf::from(dir),
                Source::env("ARCHWAY_BUILD_DIR"),
            ));
        }
        if let Some(value) = text("ARCHWAY_CACHE_ENABLED")? {
            let enabled = match value.as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    return Err(Error::InvalidEnv {
                        variable: "ARCHWAY_CACHE_ENABLED".to_string(),
                        value,
                        expected: "`true` or `false`".to_string(),
                        suggestion: None,
                    })
                }
            };
            layer.cache_enabled = Some(Sourced::new(enabled, Source::env("ARCHWAY_CACHE_ENABLED")));
        }
        for key in KEYS.iter().filter(|key| **key != "env") {
            let variable = env_variable(key);
            if let Some(value) = text(&variable)? {
                layer
                    .overrides
                    .set(
                        key,
                        Raw::Text(&value),
                        Base(working_dir),
                        Source::env(&variable),
                    )
                    .map_err(|invalid| {
                        invalid_text(invalid, &value, |value, expected, suggestion| {
                            Error::InvalidEnv {
                                variable: variable.clone(),
                                value,
                                expected,
                                suggestion,
                            }
                        })
                    })?;
            }
        }
        Ok(layer)
    }
}

/// An [`Invalid`] for a value given as text (a variable or a flag).
fn invalid_text(
    invalid: Invalid,
    text: &str,
    make: impl FnOnce(String, String, Option<String>) -> Error,
) -> Error {
    match invalid {
        Invalid::Value {
            value,
            expected,
            suggestion,
        } => make(value, expected, suggestion),
        Invalid::Type { expected, .. } | Invalid::Name { expected, .. } => {
            make(text.to_string(), expected.to_string(), None)
        }
        Invalid::Key { valid, .. } => make(text.to_string(), overrides::one_of(valid), None),
    }
}

/// Every configuration layer, loaded and checked. [`Config::resolve`] picks the values for one
/// target.
#[derive(Debug, Clone)]
pub struct Config {
    project_root: PathBuf,
    /// Where the user file is looked for (it may not exist).
    user_candidate: Option<PathBuf>,
    project: Option<ConfigFile>,
    user: Option<ConfigFile>,
    env: EnvLayer,
}

impl Config {
    /// Loads the configuration for a command run in `working_dir`, from the real environment.
    pub fn load(working_dir: &Path) -> Result<Config, Error> {
        let names = std::env::vars_os().filter_map(|(name, _)| name.into_string().ok());
        for (variable, meant) in misspelled_variables(names) {
            tracing::warn!("`{variable}` is not a variable archway reads; did you mean `{meant}`?");
        }
        let env = |name: &str| std::env::var_os(name);
        Config::load_with(working_dir, user_config_path(env).as_deref(), env)
    }

    /// [`Config::load`] with the user file and the environment injected (`None`: no user file).
    pub fn load_with(
        working_dir: &Path,
        user_file: Option<&Path>,
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Config, Error> {
        let project_path = find_project_file(working_dir);
        let project_root = project_path
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(working_dir)
            .to_path_buf();
        let project = project_path.as_deref().map(ConfigFile::read).transpose()?;
        let user = match user_file {
            Some(path) if path.is_file() => Some(ConfigFile::read(path)?),
            _ => None,
        };
        let env = EnvLayer::read(working_dir, &env)?;
        tracing::debug!(
            project = ?project.as_ref().map(|file| &file.path),
            user = ?user.as_ref().map(|file| &file.path),
            "configuration loaded"
        );
        Ok(Config {
            project_root,
            user_candidate: user_file.map(Path::to_path_buf),
            project,
            user,
            env,
        })
    }

    /// A configuration from the text of a project file at `project_root/archway.toml`, with
    /// no user file and no environment: [`Config::load_with`] without the file system, for the
    /// fuzz targets (`fuzz/fuzz_targets/config_load.rs`), which parse millions of files.
    #[doc(hidden)]
    pub fn from_project_text(project_root: &Path, text: &str) -> Result<Config, Error> {
        let project = ConfigFile::parse(&project_root.join(PROJECT_FILE), text)?;
        Ok(Config {
            project_root: project_root.to_path_buf(),
            user_candidate: None,
            project: Some(project),
            user: None,
            env: EnvLayer::default(),
        })
    }

    /// The directory holding `archway.toml`, or the working directory when there is none.
    pub fn project_root(&self) -> &Path {
        &self.project_root
    }

    /// The project file, when one was found.
    pub fn project_file(&self) -> Option<&Path> {
        self.project.as_ref().map(|file| file.path.as_path())
    }

    /// The user file, when it exists.
    pub fn user_file(&self) -> Option<&Path> {
        self.user.as_ref().map(|file| file.path.as_path())
    }

    /// Where the user file is looked for, whether or not it exists.
    pub fn user_file_candidate(&self) -> Option<&Path> {
        self.user_candidate.as_deref()
    }

    /// The files, project first.
    fn files(&self) -> impl Iterator<Item = &ConfigFile> {
        self.project.iter().chain(self.user.iter())
    }

    /// Every profile defined in either file, sorted.
    pub fn profiles(&self) -> Vec<String> {
        let names: BTreeSet<&String> = self.files().flat_map(|file| file.profiles.keys()).collect();
        names.into_iter().cloned().collect()
    }

    /// `[cache]`, resolved: each key from the project file, else the user file, else the
    /// default (enabled, unbounded, no shared store). `trusted-keys` and `signing-key` are read
    /// from the user file only: a cloned project must not decide whose prebuilt binaries replace
    /// the sources you read, or what your key signs (Nix likewise takes `trusted-public-keys`
    /// only from trusted users).
    pub fn cache(&self) -> Result<archway_cache::CacheSettings, Error> {
        if let Some(project) = &self.project {
            let user_file = self.user_candidate.as_ref().map_or_else(
                || "~/.config/archway/config.toml".to_string(),
                |path| path.display().to_string(),
            );
            let user_only = [
                (
                    "trusted-keys",
                    project.cache.trusted_keys.as_ref().map(|k| &k.source),
                ),
                (
                    "signing-key",
                    project.cache.signing_key.as_ref().map(|k| &k.source),
                ),
            ];
            for (key, source) in user_only {
                if let Some(source) = source {
                    return Err(Error::UserOnly {
                        origin: source.to_string(),
                        key: key.to_string(),
                        user_file,
                    });
                }
            }
        }
        let sections: Vec<&file::CacheSection> = self.files().map(|file| &file.cache).collect();
        let first = |pick: &dyn Fn(&file::CacheSection) -> bool| {
            sections.iter().copied().find(|section| pick(section))
        };
        let enabled = match &self.env.cache_enabled {
            Some(enabled) => enabled.value,
            None => first(&|s| s.enabled.is_some())
                .and_then(|s| s.enabled.as_ref())
                .is_none_or(|enabled| enabled.value),
        };
        let max_size = first(&|s| s.max_size.is_some())
            .and_then(|s| s.max_size.as_ref())
            .map(|size| size.value);
        let url = first(&|s| s.url.is_some()).and_then(|s| s.url.as_ref());
        let user = self.user.as_ref().map(|file| &file.cache);
        let shared = url.map(|url| archway_cache::SharedSettings {
            url: url.value.clone(),
            trusted_keys: user
                .and_then(|cache| cache.trusted_keys.as_ref())
                .map(|keys| keys.value.clone())
                .unwrap_or_default(),
            signing_key: user
                .and_then(|cache| cache.signing_key.as_ref())
                .map(|path| path.value.clone()),
            timeout: archway_cache::settings::DEFAULT_TIMEOUT,
        });
        Ok(archway_cache::CacheSettings {
            enabled,
            max_size,
            shared,
        })
    }

    /// `[build] targets` (project, else user): what `archway build --all-targets` builds.
    pub fn targets(&self) -> Option<Sourced<Vec<Target>>> {
        self.files().find_map(|file| file.build.targets.clone())
    }

    /// The target the flags, the environment or `[build] target` name; else `host`.
    pub fn target(&self, flags: &Flags, host: &Platform) -> Result<Sourced<Target>, Error> {
        if let Some(name) = &flags.target {
            let target = Target::parse(name).map_err(|source| Error::UnknownTarget {
                name: name.clone(),
                origin: "`--target`".to_string(),
                source,
            })?;
            return Ok(Sourced::new(target, Source::flag("--target")));
        }
        if let Some(target) = &self.env.target {
            return Ok(target.clone());
        }
        if let Some(target) = self.files().find_map(|file| file.build.target.clone()) {
            return Ok(target);
        }
        let host = Target {
            name: host.config(),
            platform: host.clone(),
        };
        Ok(Sourced::new(host, Source::Default))
    }

    /// The settings for the target the flags, environment or files name (else the host).
    pub fn resolve(&self, flags: &Flags, host: &Platform) -> Result<Settings, Error> {
        let target = self.target(flags, host)?;
        self.resolve_for(target, flags)
    }

    /// The settings for `target` (e.g. each of [`Config::targets`]); `flags.target` is ignored.
    pub fn resolve_for(&self, target: Sourced<Target>, flags: &Flags) -> Result<Settings, Error> {
        let platform = &target.value.platform;
        let target_sections: Vec<_> = self
            .files()
            .filter_map(|file| file.target_section(platform))
            .collect();

        let profile = flags
            .profile
            .clone()
            .map(|name| Sourced::new(name, Source::flag("--profile")))
            .or_else(|| self.env.profile.clone())
            .or_else(|| {
                target_sections
                    .iter()
                    .find_map(|section| section.profile.clone())
            })
            .or_else(|| self.files().find_map(|file| file.build.profile.clone()));
        let profile_sections: Vec<_> = match &profile {
            None => Vec::new(),
            Some(name) => {
                let sections: Vec<_> = self
                    .files()
                    .filter_map(|file| file.profiles.get(&name.value))
                    .collect();
                if sections.is_empty() {
                    let available = self.profiles();
                    let names: Vec<&str> = available.iter().map(String::as_str).collect();
                    return Err(Error::UnknownProfile {
                        name: name.value.clone(),
                        origin: name.source.clone(),
                        suggestion: overrides::strsim_closest(&name.value, &names),
                        available,
                    });
                }
                sections
            }
        };

        let mut overrides = Overrides::default();
        if let Some(method) = flags.method {
            overrides.method = Some(Sourced::new(method, Source::flag("--method")));
        }
        overrides.fill_from(&self.env.overrides);
        for section in &profile_sections {
            overrides.fill_from(&section.overrides);
        }
        for section in &target_sections {
            overrides.fill_from(&section.overrides);
        }
        for file in self.files() {
            overrides.fill_from(&file.build.overrides);
        }
        if overrides.method.is_none() {
            overrides.method = Some(Sourced::new(MethodRequest::Auto, Source::Default));
        }

        let build_dir = flags
            .build_dir
            .clone()
            .map(|dir| Sourced::new(dir, Source::flag("--build-dir")))
            .or_else(|| self.env.build_dir.clone())
            .or_else(|| self.files().find_map(|file| file.build.dir.clone()))
            .unwrap_or_else(|| Sourced::new(PathBuf::from(DEFAULT_BUILD_DIR), Source::Default))
            .map(|dir| self.project_root.join(dir));

        // The platform's CPU as configured (`gcc-arch`...), over the one its name gives.
        let mut target = target;
        let gcc = overrides.gcc_settings();
        if !gcc.is_empty() {
            let platform = target.value.platform.clone();
            target.value.platform = platform.with_gcc_overrides(&gcc);
        }
        Ok(Settings {
            target,
            profile,
            project_root: self.project_root.clone(),
            project_file: self.project_file().map(Path::to_path_buf),
            user_file: self.user_file().map(Path::to_path_buf),
            build_dir,
            overrides,
        })
    }
}

/// The variables the configuration reads besides the override keys'.
const OTHER_VARIABLES: &[&str] = &[
    "ARCHWAY_TARGET",
    "ARCHWAY_PROFILE",
    "ARCHWAY_BUILD_DIR",
    "ARCHWAY_CACHE_ENABLED",
    // Read elsewhere: the cache crate and the CLI's log filter.
    "ARCHWAY_CACHE_DIR",
    "ARCHWAY_LOG",
];

/// `ARCHWAY_*` names that look like a typo of a configuration variable (`ARCHWAY_TOOLCHIAN`),
/// with the one probably meant. Names other crates read (`ARCHWAY_BINFMT_ROOT`) are too far
/// from every configuration variable to be reported.
pub fn misspelled_variables(names: impl Iterator<Item = String>) -> Vec<(String, String)> {
    let known: Vec<String> = KEYS
        .iter()
        .filter(|key| **key != "env")
        .map(|key| env_variable(key))
        .chain(OTHER_VARIABLES.iter().map(|name| name.to_string()))
        .collect();
    let mut found = Vec::new();
    for name in names {
        let Some(suffix) = name.strip_prefix("ARCHWAY_") else {
            continue;
        };
        if known.contains(&name) || suffix.len() < 3 {
            continue;
        }
        let closest = known
            .iter()
            .map(|known| {
                (
                    strsim::osa_distance(suffix, &known["ARCHWAY_".len()..]),
                    known,
                )
            })
            .filter(|(distance, _)| *distance <= 2)
            .min_by_key(|(distance, _)| *distance);
        if let Some((_, meant)) = closest {
            found.push((name, meant.clone()));
        }
    }
    found.sort();
    found
}

/// The user's file: `$XDG_CONFIG_HOME/archway/config.toml`, else
/// `$HOME/.config/archway/config.toml`.
pub fn user_config_path(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let non_empty = |name: &str| {
        env(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    // The XDG base directory spec: a relative XDG_CONFIG_HOME is invalid and ignored.
    let config_home = non_empty("XDG_CONFIG_HOME")
        .filter(|dir| dir.is_absolute())
        .or_else(|| non_empty("HOME").map(|home| home.join(".config")))?;
    Some(config_home.join("archway").join("config.toml"))
}

/// The nearest `archway.toml` in `start` or one of its parents.
pub fn find_project_file(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(PROJECT_FILE))
        .find(|path| path.is_file())
}

/// The configuration resolved for one target: what a build uses.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub target: Sourced<Target>,
    /// The selected profile, if any.
    pub profile: Option<Sourced<String>>,
    pub project_root: PathBuf,
    pub project_file: Option<PathBuf>,
    pub user_file: Option<PathBuf>,
    /// Absolute: the base of the per-target build directories.
    pub build_dir: Sourced<PathBuf>,
    /// Every override key; `method` is always set (default `auto`).
    pub overrides: Overrides,
}

/// One line of `archway config show`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub key: String,
    /// `None`: not set (archway decides).
    pub value: Option<String>,
    pub source: Source,
}

impl Settings {
    pub fn method(&self) -> MethodRequest {
        self.overrides
            .method
            .as_ref()
            .map_or(MethodRequest::Auto, |method| method.value)
    }

    /// Every key with its value and source, in a stable order, for people and for `--json`.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows = vec![
            Row {
                key: "target".to_string(),
                value: Some(self.target.value.to_string()),
                source: self.target.source.clone(),
            },
            Row {
                key: "profile".to_string(),
                value: self.profile.as_ref().map(|profile| profile.value.clone()),
                source: self
                    .profile
                    .as_ref()
                    .map_or(Source::Default, |profile| profile.source.clone()),
            },
            Row {
                key: "build-dir".to_string(),
                value: Some(self.build_dir.value.display().to_string()),
                source: self.build_dir.source.clone(),
            },
        ];
        rows.extend(
            self.overrides
                .rows()
                .into_iter()
                .map(|(key, value)| match value {
                    Some(value) => Row {
                        key,
                        value: Some(value.value),
                        source: value.source,
                    },
                    None => Row {
                        key,
                        value: None,
                        source: Source::Default,
                    },
                }),
        );
        rows
    }
}

#[cfg(test)]
mod tests;
