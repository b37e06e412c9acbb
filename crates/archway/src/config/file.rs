//! One configuration file (`archway.toml` or the user's `config.toml`), read with positions so
//! every value and every error knows its file:line:column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use archway_platform::Platform;
use toml_edit::{ImDocument, Item, TableLike};

use super::overrides::{item_type, strsim_closest, Base, Invalid, Overrides, Raw, KEYS};
use super::source::{Location, Source, Sourced};
use super::{Error, Target};

/// Keys only `[build]` has.
const BUILD_KEYS: &[&str] = &["target", "targets", "dir", "profile"];
const TOP_LEVEL_KEYS: &[&str] = &["build", "target", "profile", "cache"];
/// Keys of `[cache]`.
pub(crate) const CACHE_KEYS: &[&str] =
    &["enabled", "max-size", "url", "trusted-keys", "signing-key"];

/// `[cache]`: the build cache (each key checked here, so errors keep their file:line).
#[derive(Debug, Clone, Default)]
pub(crate) struct CacheSection {
    pub enabled: Option<Sourced<bool>>,
    pub max_size: Option<Sourced<u64>>,
    pub url: Option<Sourced<String>>,
    pub trusted_keys: Option<Sourced<Vec<archway_cache::TrustedKey>>>,
    /// Absolute, or relative to the file's directory.
    pub signing_key: Option<Sourced<PathBuf>>,
}

/// `[build]`: the project's targets and defaults that apply to every target.
#[derive(Debug, Clone, Default)]
pub(crate) struct BuildSection {
    pub target: Option<Sourced<Target>>,
    pub targets: Option<Sourced<Vec<Target>>>,
    /// As written: relative paths are relative to the project root, whichever file says it.
    pub dir: Option<Sourced<PathBuf>>,
    pub profile: Option<Sourced<String>>,
    pub overrides: Overrides,
}

/// `[target.<name>]`: applies when the target elaborates to the same platform as `name`.
#[derive(Debug, Clone)]
pub(crate) struct TargetSection {
    pub target: Target,
    pub location: Location,
    pub profile: Option<Sourced<String>>,
    pub overrides: Overrides,
}

/// `[profile.<name>]`: applies only when selected.
#[derive(Debug, Clone)]
pub(crate) struct ProfileSection {
    pub overrides: Overrides,
}

/// A parsed configuration file.
#[derive(Debug, Clone)]
pub(crate) struct ConfigFile {
    pub path: PathBuf,
    pub build: BuildSection,
    pub targets: Vec<TargetSection>,
    pub profiles: BTreeMap<String, ProfileSection>,
    pub cache: CacheSection,
}

impl ConfigFile {
    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<ConfigFile, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        ConfigFile::parse(path, &text)
    }

    /// Checks `text`, read from `path` (relative paths in it are relative to its directory).
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, Error> {
        let parser = Parser { path, text };
        let document = ImDocument::parse(text).map_err(|error| {
            // toml_edit reports this span in characters, not bytes.
            let offset = error.span().map_or(0, |span| {
                text.char_indices()
                    .nth(span.start)
                    .map_or(text.len(), |(index, _)| index)
            });
            let location = Location::at(path, text, offset);
            let line = text.lines().nth(location.line - 1).unwrap_or("").trim();
            Error::Syntax {
                hint: header_hint(line),
                location,
                message: error.message().trim().replace('\n', "; "),
            }
        })?;
        let root = document.as_table();
        let mut file = ConfigFile {
            path: path.to_path_buf(),
            build: BuildSection::default(),
            targets: Vec::new(),
            profiles: BTreeMap::new(),
            cache: CacheSection::default(),
        };
        for (key, item) in root.iter() {
            let key_location = parser.key_location(root, key, None);
            match key {
                "build" => {
                    let table = parser.table(item, "build", &key_location)?;
                    file.build = parser.build(table)?;
                }
                "cache" => {
                    let table = parser.table(item, "cache", &key_location)?;
                    file.cache = parser.cache(table)?;
                }
                "target" => {
                    let table = parser.table(item, "target", &key_location)?;
                    for (name, item) in table.iter() {
                        let location = parser.key_location(table, name, item.span());
                        let section = header("target", name);
                        let inner = parser.table(item, &section, &location)?;
                        let target =
                            Target::parse(name).map_err(|source| Error::UnknownTarget {
                                name: name.to_string(),
                                origin: location.to_string(),
                                source,
                            })?;
                        let (profile, overrides) = parser.target(inner, &section)?;
                        if let Some(other) = file
                            .targets
                            .iter()
                            .find(|other| other.target.platform == target.platform)
                        {
                            return Err(Error::DuplicateTarget {
                                location,
                                section,
                                other: header("target", &other.target.name),
                                other_line: other.location.line,
                                platform: target.platform.config(),
                            });
                        }
                        file.targets.push(TargetSection {
                            target,
                            location,
                            profile,
                            overrides,
                        });
                    }
                }
                "profile" => {
                    let table = parser.table(item, "profile", &key_location)?;
                    for (name, item) in table.iter() {
                        let location = parser.key_location(table, name, item.span());
                        let section = header("profile", name);
                        let inner = parser.table(item, &section, &location)?;
                        let overrides = parser.overrides(inner, &section, &[])?;
                        file.profiles
                            .insert(name.to_string(), ProfileSection { overrides });
                    }
                }
                _ => {
                    return Err(unknown_key(
                        key_location,
                        key,
                        "the top level",
                        TOP_LEVEL_KEYS,
                    ))
                }
            }
        }
        Ok(file)
    }

    /// The `[target.<name>]` section for `platform`, if this file has one.
    pub fn target_section(&self, platform: &Platform) -> Option<&TargetSection> {
        self.targets
            .iter()
            .find(|section| &section.target.platform == platform)
    }
}

/// A section header as written in TOML: `[target.aarch64]`, `[target."linux/arm64"]`.
pub(crate) fn header(table: &str, name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if bare {
        format!("[{table}.{name}]")
    } else {
        format!("[{table}.{name:?}]")
    }
}

/// `[target.linux/arm64]` is not valid TOML (a bare key has no `/`; a `.` splits it): say how
/// to quote it.
fn header_hint(line: &str) -> Option<String> {
    let rest = line.strip_prefix('[')?.trim_start();
    let (section, name) = rest.split_once('.')?;
    let name = name.trim_end().strip_suffix(']').unwrap_or(name).trim();
    let quotable = matches!(section.trim(), "target" | "profile")
        && !name.is_empty()
        && !name.contains('"')
        && name.contains(['/', '.']);
    quotable.then(|| {
        format!(
            "quote a {} name that has a `/` or a `.`: `[{}.\"{name}\"]`",
            section.trim(),
            section.trim()
        )
    })
}

fn unknown_key(location: Location, key: &str, section: &str, valid: &[&str]) -> Error {
    Error::UnknownKey {
        location,
        key: key.to_string(),
        section: section.to_string(),
        suggestion: strsim_closest(key, valid),
        valid: valid.iter().map(|key| key.to_string()).collect(),
    }
}

struct Parser<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Parser<'_> {
    fn location(&self, span: Option<std::ops::Range<usize>>) -> Location {
        Location::at(self.path, self.text, span.map_or(0, |span| span.start))
    }

    /// Where `key` is written in `table`, else where its value is, else the file start.
    fn key_location(
        &self,
        table: &dyn TableLike,
        key: &str,
        fallback: Option<std::ops::Range<usize>>,
    ) -> Location {
        let span = table.key(key).and_then(|key| key.span()).or(fallback);
        self.location(span)
    }

    fn table<'t>(
        &self,
        item: &'t Item,
        section: &str,
        location: &Location,
    ) -> Result<&'t dyn TableLike, Error> {
        item.as_table_like().ok_or_else(|| Error::WrongType {
            location: item
                .span()
                .map_or_else(|| location.clone(), |span| self.location(Some(span))),
            key: section.trim_matches(['[', ']']).to_string(),
            expected: "a table".to_string(),
            found: item_type(item).to_string(),
        })
    }

    fn base(&self) -> Base<'_> {
        Base(self.path.parent().unwrap_or(Path::new("/")))
    }

    /// The override keys of a section, plus the `extra` keys the caller handles itself.
    fn overrides(
        &self,
        table: &dyn TableLike,
        section: &str,
        extra: &[&str],
    ) -> Result<Overrides, Error> {
        let mut overrides = Overrides::default();
        for (key, item) in table.iter() {
            let key_location = self.key_location(table, key, item.span());
            if extra.contains(&key) {
                continue;
            }
            if !KEYS.contains(&key) {
                let valid: Vec<&str> = extra.iter().chain(KEYS).copied().collect();
                return Err(unknown_key(key_location, key, section, &valid));
            }
            let source = Source::file(&key_location, section);
            overrides
                .set(key, Raw::Toml(item), self.base(), source)
                .map_err(|invalid| self.invalid(invalid, key, section, item, &key_location))?;
        }
        Ok(overrides)
    }

    fn invalid(
        &self,
        invalid: Invalid,
        key: &str,
        section: &str,
        item: &Item,
        key_location: &Location,
    ) -> Error {
        let value_location = || {
            item.span()
                .map_or_else(|| key_location.clone(), |span| self.location(Some(span)))
        };
        match invalid {
            Invalid::Type {
                expected,
                found,
                span,
            } => Error::WrongType {
                location: span.map_or_else(value_location, |span| self.location(Some(span))),
                key: key.to_string(),
                expected: expected.to_string(),
                found: found.to_string(),
            },
            Invalid::Value {
                value,
                expected,
                suggestion,
            } => Error::InvalidValue {
                location: value_location(),
                key: key.to_string(),
                value,
                expected,
                suggestion,
            },
            Invalid::Name {
                name,
                expected,
                span,
            } => Error::InvalidValue {
                location: span.map_or_else(value_location, |span| self.location(Some(span))),
                key: key.to_string(),
                value: name,
                expected: expected.to_string(),
                suggestion: None,
            },
            Invalid::Key {
                key: inner,
                valid,
                span,
            } => unknown_key(
                span.map_or_else(value_location, |span| self.location(Some(span))),
                &inner,
                &format!("{section} {key}"),
                valid,
            ),
        }
    }

    fn string(
        &self,
        table: &dyn TableLike,
        key: &str,
        section: &str,
    ) -> Result<Sourced<String>, Error> {
        let item = table.get(key).unwrap_or(&Item::None);
        let location = self.key_location(table, key, item.span());
        let text = item.as_str().ok_or_else(|| Error::WrongType {
            location: item
                .span()
                .map_or_else(|| location.clone(), |span| self.location(Some(span))),
            key: key.to_string(),
            expected: "a string".to_string(),
            found: item_type(item).to_string(),
        })?;
        Ok(Sourced::new(
            text.to_string(),
            Source::file(&location, section),
        ))
    }

    fn target_name(
        &self,
        name: &str,
        span: Option<std::ops::Range<usize>>,
    ) -> Result<Target, Error> {
        Target::parse(name).map_err(|source| Error::UnknownTarget {
            name: name.to_string(),
            origin: self.location(span).to_string(),
            source,
        })
    }

    fn build(&self, table: &dyn TableLike) -> Result<BuildSection, Error> {
        const SECTION: &str = "[build]";
        let mut build = BuildSection {
            overrides: self.overrides(table, SECTION, BUILD_KEYS)?,
            ..BuildSection::default()
        };
        if table.contains_key("target") {
            let name = self.string(table, "target", SECTION)?;
            let span = table.get("target").and_then(Item::span);
            let target = self.target_name(&name.value, span)?;
            build.target = Some(Sourced::new(target, name.source));
        }
        if let Some(item) = table.get("targets") {
            let location = self.key_location(table, "targets", item.span());
            let wrong_type = |found: &str, span: Option<std::ops::Range<usize>>| Error::WrongType {
                location: span.map_or_else(|| location.clone(), |span| self.location(Some(span))),
                key: "targets".to_string(),
                expected: "an array of target names, e.g. `[\"aarch64\", \"riscv64\"]`".to_string(),
                found: found.to_string(),
            };
            let array = item
                .as_array()
                .ok_or_else(|| wrong_type(item_type(item), item.span()))?;
            let mut targets = Vec::new();
            for value in array.iter() {
                let name = value.as_str().ok_or_else(|| {
                    wrong_type(item_type(&Item::Value(value.clone())), value.span())
                })?;
                targets.push(self.target_name(name, value.span())?);
            }
            build.targets = Some(Sourced::new(targets, Source::file(&location, SECTION)));
        }
        if table.contains_key("dir") {
            build.dir = Some(self.string(table, "dir", SECTION)?.map(PathBuf::from));
        }
        if table.contains_key("profile") {
            build.profile = Some(self.string(table, "profile", SECTION)?);
        }
        Ok(build)
    }

    fn cache(&self, table: &dyn TableLike) -> Result<CacheSection, Error> {
        const SECTION: &str = "[cache]";
        let mut cache = CacheSection::default();
        for (key, item) in table.iter() {
            let location = self.key_location(table, key, item.span());
            let value_location = item
                .span()
                .map_or_else(|| location.clone(), |span| self.location(Some(span)));
            let source = Source::file(&location, SECTION);
            let wrong_type = |expected: &str| Error::WrongType {
                location: value_location.clone(),
                key: key.to_string(),
                expected: expected.to_string(),
                found: item_type(item).to_string(),
            };
            let invalid = |value: &str, expected: String| Error::InvalidValue {
                location: value_location.clone(),
                key: key.to_string(),
                value: value.chars().take(80).collect(),
                expected,
                suggestion: None,
            };
            match key {
                "enabled" => {
                    let enabled = item
                        .as_bool()
                        .ok_or_else(|| wrong_type("`true` or `false`"))?;
                    cache.enabled = Some(Sourced::new(enabled, source));
                }
                "max-size" => {
                    let text = item
                        .as_str()
                        .ok_or_else(|| wrong_type("a size in a string, e.g. `\"10GiB\"`"))?;
                    let bytes = archway_cache::store::parse_size(text).ok_or_else(|| {
                        invalid(
                            text,
                            "a size such as `10GiB`, `500MB` or `1.5G`".to_string(),
                        )
                    })?;
                    cache.max_size = Some(Sourced::new(bytes, source));
                }
                "url" => {
                    let text = item
                        .as_str()
                        .ok_or_else(|| wrong_type("a string, e.g. `\"s3://bucket/prefix\"`"))?;
                    archway_cache::settings::check_url(text)
                        .map_err(|expected| invalid(text, expected))?;
                    cache.url = Some(Sourced::new(text.to_string(), source));
                }
                "trusted-keys" => {
                    let expected = "an array of `name:base64` public keys";
                    let array = item.as_array().ok_or_else(|| wrong_type(expected))?;
                    let mut keys = Vec::new();
                    for value in array.iter() {
                        let text = value.as_str().ok_or_else(|| wrong_type(expected))?;
                        let key = text.parse::<archway_cache::TrustedKey>().map_err(|error| {
                            invalid(
                                text,
                                format!("an ed25519 public key `name:base64` ({})", error.reason()),
                            )
                        })?;
                        keys.push(key);
                    }
                    cache.trusted_keys = Some(Sourced::new(keys, source));
                }
                "signing-key" => {
                    let text = item
                        .as_str()
                        .ok_or_else(|| wrong_type("a path to a secret key file"))?;
                    if text.is_empty() || text.contains('\0') {
                        return Err(invalid(text, "a path to a secret key file".to_string()));
                    }
                    let path = self.base().0.join(text);
                    cache.signing_key = Some(Sourced::new(path, source));
                }
                _ => return Err(unknown_key(location, key, SECTION, CACHE_KEYS)),
            }
        }
        Ok(cache)
    }

    fn target(
        &self,
        table: &dyn TableLike,
        section: &str,
    ) -> Result<(Option<Sourced<String>>, Overrides), Error> {
        let overrides = self.overrides(table, section, &["profile"])?;
        let profile = if table.contains_key("profile") {
            Some(self.string(table, "profile", section)?)
        } else {
            None
        };
        Ok((profile, overrides))
    }
}
