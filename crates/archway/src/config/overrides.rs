//! The keys `[build]`, `[target.<name>]` and `[profile.<name>]` share, their typed values, and
//! how each is read from TOML or from a string (environment variables, flags).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use toml_edit::Item;

use super::source::Sourced;

// The method is the façade's one type ([`crate::method`]): `auto` or one method.
use crate::method::MethodRequest;

fn parse_method(text: &str) -> Result<MethodRequest, Invalid> {
    text.parse()
        .map_err(|_| Invalid::choice(text, MethodRequest::NAMES))
}

// The linker and compiler family are the toolchain crate's own types: the configuration
// names what `archway_toolchain::select` picks from.
pub use archway_toolchain::{Family, Linker};

/// The names of [`Linker`] values, as written in configuration.
pub const LINKER_NAMES: &[&str] = &["bfd", "gold", "lld", "mold"];
/// The names of [`Family`] values, as written in configuration.
pub const FAMILY_NAMES: &[&str] = &["gcc", "clang"];

fn parse_linker(text: &str) -> Result<Linker, Invalid> {
    match text {
        "bfd" => Ok(Linker::Bfd),
        "gold" => Ok(Linker::Gold),
        "lld" => Ok(Linker::Lld),
        "mold" => Ok(Linker::Mold),
        _ => Err(Invalid::choice(text, LINKER_NAMES)),
    }
}

fn parse_family(text: &str) -> Result<Family, Invalid> {
    match text {
        "gcc" => Ok(Family::Gcc),
        "clang" => Ok(Family::Clang),
        _ => Err(Invalid::choice(text, FAMILY_NAMES)),
    }
}

/// `toolchain = { family = "gcc", version = "11" }`, or the short form `toolchain = "gcc-11"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Toolchain {
    pub family: Family,
    /// The major version (`11`), as Debian names its versioned compilers (`gcc-11`, `clang-16`).
    /// `None`: the distribution's default version.
    pub version: Option<String>,
}

impl Toolchain {
    fn check_version(version: &str) -> Result<(), Invalid> {
        let valid = !version.is_empty()
            && version
                .split('.')
                .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()));
        if valid {
            Ok(())
        } else {
            Err(Invalid::Value {
                value: version.to_string(),
                expected: "a version number such as `11` or `16`".to_string(),
                suggestion: None,
            })
        }
    }
}

impl FromStr for Toolchain {
    type Err = Invalid;
    /// `gcc`, `gcc-11`, `clang`, `clang-16`.
    fn from_str(text: &str) -> Result<Toolchain, Invalid> {
        let (family, version) = match text.split_once('-') {
            Some((family, version)) => (family, Some(version)),
            None => (text, None),
        };
        let family = parse_family(family).map_err(|_| {
            // `gcc11` → `gcc-11`: the dash is what is missing.
            let missing_dash = FAMILY_NAMES.iter().find_map(|name| {
                let version = text.strip_prefix(name)?;
                let digits = !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit());
                digits.then(|| format!("{name}-{version}"))
            });
            Invalid::Value {
                value: text.to_string(),
                expected: "`gcc`, `clang`, or one with a version such as `gcc-11`".to_string(),
                suggestion: missing_dash.or_else(|| strsim_closest(text, FAMILY_NAMES)),
            }
        })?;
        if let Some(version) = version {
            Toolchain::check_version(version)?;
        }
        Ok(Toolchain {
            family,
            version: version.map(str::to_string),
        })
    }
}

impl fmt::Display for Toolchain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(version) => write!(f, "{}-{version}", self.family),
            None => write!(f, "{}", self.family),
        }
    }
}

/// Why a value was refused (the caller adds the file position or the variable name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// The TOML type is wrong: `expected` says what the key takes.
    Type {
        expected: &'static str,
        found: &'static str,
        /// Byte span of the offending value, when it is nested (an array element, a table key).
        span: Option<std::ops::Range<usize>>,
    },
    /// The type is right but the value is not one archway accepts.
    Value {
        value: String,
        expected: String,
        suggestion: Option<String>,
    },
    /// A name inside a table that must follow a rule (`env` variable names).
    Name {
        name: String,
        expected: &'static str,
        /// Byte span of the name.
        span: Option<std::ops::Range<usize>>,
    },
    /// A key inside an inline table (`toolchain = { famly = ... }`).
    Key {
        key: String,
        valid: &'static [&'static str],
        span: Option<std::ops::Range<usize>>,
    },
}

impl Invalid {
    fn choice(value: &str, names: &[&str]) -> Invalid {
        Invalid::Value {
            value: value.to_string(),
            expected: one_of(names),
            suggestion: strsim_closest(value, names),
        }
    }
}

/// "one of `a`, `b`, `c`".
pub(crate) fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    format!("one of {}", quoted.join(", "))
}

/// The closest of `names` to `input`, when it is close enough to be a typo.
pub(crate) fn strsim_closest(input: &str, names: &[&str]) -> Option<String> {
    names
        .iter()
        .map(|name| (strsim::jaro_winkler(input, name), *name))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|left, right| left.0.total_cmp(&right.0))
        .map(|(_, name)| name.to_string())
}

/// What the override keys hold. Every field is optional: `None` means "not set here", and a
/// less specific layer (or archway's own choice) decides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Overrides {
    pub method: Option<Sourced<MethodRequest>>,
    pub toolchain: Option<Sourced<Toolchain>>,
    pub cc: Option<Sourced<String>>,
    pub cxx: Option<Sourced<String>>,
    pub ar: Option<Sourced<String>>,
    pub ld: Option<Sourced<String>>,
    pub sysroot: Option<Sourced<PathBuf>>,
    pub linker: Option<Sourced<Linker>>,
    pub cflags: Option<Sourced<Vec<String>>>,
    pub cxxflags: Option<Sourced<Vec<String>>>,
    pub ldflags: Option<Sourced<Vec<String>>>,
    /// Extra environment variables for the build; merged variable by variable across layers.
    pub env: BTreeMap<String, Sourced<String>>,
    pub sysroot_packages: Option<Sourced<Vec<String>>>,
    pub rootfs_suite: Option<Sourced<String>>,
    pub rootfs_packages: Option<Sourced<Vec<String>>>,
    pub emulator: Option<Sourced<PathBuf>>,
    pub qemu_cpu: Option<Sourced<String>>,
    /// `check-cpu`: what a build does when an artifact needs more than the platform's CPU has.
    pub check_cpu: Option<Sourced<archway_platform::CpuCheck>>,
    /// `gcc-arch`, `gcc-cpu`, ...: nixpkgs' `gcc` settings of the platform, in
    /// [`GCC_KEYS`] order (see [`Overrides::gcc_settings`]).
    pub gcc: [Option<Sourced<String>>; GCC_KEYS.len()],
}

/// The keys that set the platform's CPU the way nixpkgs' `crossSystem.gcc` does, each with
/// its `gcc` attribute (`gcc-float-abi` is `gcc.float-abi`).
pub const GCC_KEYS: [&str; 8] = [
    "gcc-arch",
    "gcc-cpu",
    "gcc-tune",
    "gcc-fpu",
    "gcc-float-abi",
    "gcc-float",
    "gcc-abi",
    "gcc-mode",
];

/// The values some `gcc-*` keys take (GCC's `--with-float`, `--with-mode`, `-mfloat-abi`).
fn gcc_choices(key: &str) -> Option<&'static [&'static str]> {
    match key {
        "gcc-float" => Some(&["soft", "hard"]),
        "gcc-mode" => Some(&["arm", "thumb"]),
        "gcc-float-abi" => Some(&["soft", "softfp", "hard"]),
        _ => None,
    }
}

/// A `gcc-*` value: one compiler-flag word of `[A-Za-z0-9._+-]` (it reaches `-march=...` on
/// command lines and in generated files), or one of the key's choices.
fn gcc_value(key: &str, raw: Raw<'_>) -> Result<String, Invalid> {
    let value = non_empty(text(raw, "a string")?)?;
    if let Some(choices) = gcc_choices(key) {
        if !choices.contains(&value) {
            return Err(Invalid::choice(value, choices));
        }
    }
    if !archway_platform::GccSettings::is_valid_value(value) {
        return Err(Invalid::Value {
            value: value.escape_debug().to_string(),
            expected: format!(
                "a GCC name such as `armv8.2-a` or `cortex-a7`: {}, not starting with `-`",
                archway_platform::gcc::VALUE_RULE
            ),
            suggestion: None,
        });
    }
    Ok(value.to_string())
}

/// The override keys, as written in TOML, in the order `config show` prints them.
pub const KEYS: &[&str] = &[
    "method",
    "toolchain",
    "cc",
    "cxx",
    "ar",
    "ld",
    "sysroot",
    "linker",
    "cflags",
    "cxxflags",
    "ldflags",
    "env",
    "sysroot-packages",
    "rootfs-suite",
    "rootfs-packages",
    "emulator",
    "qemu-cpu",
    "check-cpu",
    "gcc-arch",
    "gcc-cpu",
    "gcc-tune",
    "gcc-fpu",
    "gcc-float-abi",
    "gcc-float",
    "gcc-abi",
    "gcc-mode",
];

/// What an `env` variable name must be (POSIX's name rule, XBD 3.235).
pub const ENV_NAME_RULE: &str =
    "a variable name: a letter or `_`, then letters, digits and `_` (`[A-Za-z_][A-Za-z0-9_]*`)";

/// The environment variable for an override key: `qemu-cpu` → `ARCHWAY_QEMU_CPU`.
pub fn env_variable(key: &str) -> String {
    format!("ARCHWAY_{}", key.to_uppercase().replace('-', "_"))
}

/// What a value is read from: a TOML item, or a string (environment variable or flag).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    Toml(&'a Item),
    Text(&'a str),
}

/// How relative paths are made absolute: relative to the file that names them, or to the
/// working directory for variables and flags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Base<'a>(pub &'a Path);

impl Base<'_> {
    fn path(&self, text: &str) -> PathBuf {
        self.0.join(text)
    }

    /// A program (`cc`, `ar`...) stays a name looked up on `PATH` unless it has a `/`.
    fn program(&self, text: &str) -> String {
        if text.contains('/') {
            self.path(text).to_string_lossy().into_owned()
        } else {
            text.to_string()
        }
    }
}

impl Overrides {
    /// Sets `key` (one of [`KEYS`]) from `raw`. `source` is recorded on the value.
    pub(crate) fn set(
        &mut self,
        key: &str,
        raw: Raw<'_>,
        base: Base<'_>,
        source: super::Source,
    ) -> Result<(), Invalid> {
        match key {
            "method" => {
                self.method = Some(Sourced::new(parse_method(text(raw, "a string")?)?, source))
            }
            "toolchain" => self.toolchain = Some(Sourced::new(toolchain(raw)?, source)),
            "cc" => self.cc = Some(Sourced::new(base.program(text(raw, "a string")?), source)),
            "cxx" => self.cxx = Some(Sourced::new(base.program(text(raw, "a string")?), source)),
            "ar" => self.ar = Some(Sourced::new(base.program(text(raw, "a string")?), source)),
            "ld" => self.ld = Some(Sourced::new(base.program(text(raw, "a string")?), source)),
            "sysroot" => {
                let path = base.path(non_empty(text(raw, "a path string")?)?);
                self.sysroot = Some(Sourced::new(path, source));
            }
            "emulator" => {
                let path = base.path(non_empty(text(raw, "a path string")?)?);
                self.emulator = Some(Sourced::new(path, source));
            }
            "linker" => {
                self.linker = Some(Sourced::new(parse_linker(text(raw, "a string")?)?, source))
            }
            "cflags" => self.cflags = Some(Sourced::new(words(raw, false)?, source)),
            "cxxflags" => self.cxxflags = Some(Sourced::new(words(raw, false)?, source)),
            "ldflags" => self.ldflags = Some(Sourced::new(words(raw, false)?, source)),
            "sysroot-packages" => {
                self.sysroot_packages = Some(Sourced::new(package_names(raw)?, source))
            }
            "rootfs-packages" => {
                self.rootfs_packages = Some(Sourced::new(package_names(raw)?, source))
            }
            "rootfs-suite" => {
                let suite = non_empty(text(raw, "a string")?)?.to_string();
                if suite
                    .parse::<archway_platform::debian_names::Suite>()
                    .is_err()
                {
                    let names =
                        archway_platform::debian_names::Suite::ALL.map(|suite| suite.name());
                    return Err(Invalid::choice(&suite, &names));
                }
                self.rootfs_suite = Some(Sourced::new(suite, source));
            }
            "check-cpu" => {
                let value = text(raw, "a string")?;
                let check = value
                    .parse::<archway_platform::CpuCheck>()
                    .map_err(|_| Invalid::choice(value, &["off", "warn", "error"]))?;
                self.check_cpu = Some(Sourced::new(check, source));
            }
            "qemu-cpu" => {
                let cpu = non_empty(text(raw, "a string")?)?.to_string();
                self.qemu_cpu = Some(Sourced::new(cpu, source));
            }
            key if GCC_KEYS.contains(&key) => {
                let index = GCC_KEYS.iter().position(|name| *name == key);
                if let Some(slot) = index.and_then(|index| self.gcc.get_mut(index)) {
                    *slot = Some(Sourced::new(gcc_value(key, raw)?, source));
                }
            }
            "env" => {
                let Raw::Toml(item) = raw else {
                    return Err(Invalid::Type {
                        expected: "a table of strings",
                        found: "a string",
                        span: None,
                    });
                };
                let table = item.as_table_like().ok_or(Invalid::Type {
                    expected: "a table of strings, e.g. `env = { PKG_CONFIG = \"pkgconf\" }`",
                    found: item_type(item),
                    span: None,
                })?;
                for (name, value) in table.iter() {
                    // `archway env` prints `export NAME=...` for `eval`: a name is only safe
                    // there, and only exportable at all, if it is a POSIX name.
                    if !archway_platform::quote::is_sh_variable_name(name) {
                        return Err(Invalid::Name {
                            name: name.to_string(),
                            expected: ENV_NAME_RULE,
                            span: table.key(name).and_then(|key| key.span()),
                        });
                    }
                    let value = value.as_str().ok_or_else(|| Invalid::Type {
                        expected: "a string (each `env` value)",
                        found: item_type(value),
                        span: value.span(),
                    })?;
                    self.env.insert(
                        name.to_string(),
                        Sourced::new(value.to_string(), source.clone()),
                    );
                }
            }
            _ => unreachable_key(key)?,
        }
        Ok(())
    }

    /// Fills every value not set in `self` from `lower` (a less specific layer).
    pub(crate) fn fill_from(&mut self, lower: &Overrides) {
        fn fill<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        fill(&mut self.method, &lower.method);
        fill(&mut self.toolchain, &lower.toolchain);
        fill(&mut self.cc, &lower.cc);
        fill(&mut self.cxx, &lower.cxx);
        fill(&mut self.ar, &lower.ar);
        fill(&mut self.ld, &lower.ld);
        fill(&mut self.sysroot, &lower.sysroot);
        fill(&mut self.linker, &lower.linker);
        fill(&mut self.cflags, &lower.cflags);
        fill(&mut self.cxxflags, &lower.cxxflags);
        fill(&mut self.ldflags, &lower.ldflags);
        for (name, value) in &lower.env {
            self.env
                .entry(name.clone())
                .or_insert_with(|| value.clone());
        }
        fill(&mut self.sysroot_packages, &lower.sysroot_packages);
        fill(&mut self.rootfs_suite, &lower.rootfs_suite);
        fill(&mut self.check_cpu, &lower.check_cpu);
        fill(&mut self.rootfs_packages, &lower.rootfs_packages);
        fill(&mut self.emulator, &lower.emulator);
        fill(&mut self.qemu_cpu, &lower.qemu_cpu);
        for (mine, theirs) in self.gcc.iter_mut().zip(&lower.gcc) {
            fill(mine, theirs);
        }
    }

    /// The configured `gcc-*` keys as settings to lay over the platform's own
    /// ([`archway_platform::Platform::with_gcc_overrides`]).
    pub fn gcc_settings(&self) -> archway_platform::GccSettings {
        let value = |key: &str| {
            let index = GCC_KEYS.iter().position(|name| *name == key)?;
            let sourced = self.gcc.get(index)?.as_ref()?;
            Some(std::borrow::Cow::Owned(sourced.value.clone()))
        };
        archway_platform::GccSettings {
            arch: value("gcc-arch"),
            cpu: value("gcc-cpu"),
            tune: value("gcc-tune"),
            fpu: value("gcc-fpu"),
            float_abi: value("gcc-float-abi"),
            float: value("gcc-float"),
            abi: value("gcc-abi"),
            mode: value("gcc-mode"),
            ..archway_platform::GccSettings::default()
        }
    }

    /// Each key with its value rendered for people (`None`: not set), in [`KEYS`] order;
    /// `env` gives one row per variable (`env.NAME`).
    pub fn rows(&self) -> Vec<(String, Option<Sourced<String>>)> {
        fn row<T>(
            key: &str,
            value: &Option<Sourced<T>>,
            render: impl Fn(&T) -> String,
        ) -> (String, Option<Sourced<String>>) {
            let rendered = value
                .as_ref()
                .map(|sourced| Sourced::new(render(&sourced.value), sourced.source.clone()));
            (key.to_string(), rendered)
        }
        let list = |values: &Vec<String>| values.join(" ");
        let path = |path: &PathBuf| path.display().to_string();
        let mut rows = vec![
            row("method", &self.method, MethodRequest::to_string),
            row("toolchain", &self.toolchain, Toolchain::to_string),
            row("cc", &self.cc, String::clone),
            row("cxx", &self.cxx, String::clone),
            row("ar", &self.ar, String::clone),
            row("ld", &self.ld, String::clone),
            row("sysroot", &self.sysroot, path),
            row("linker", &self.linker, Linker::to_string),
            row("cflags", &self.cflags, list),
            row("cxxflags", &self.cxxflags, list),
            row("ldflags", &self.ldflags, list),
        ];
        if self.env.is_empty() {
            rows.push(("env".to_string(), None));
        }
        for (name, value) in &self.env {
            rows.push((format!("env.{name}"), Some(value.clone())));
        }
        rows.extend([
            row("sysroot-packages", &self.sysroot_packages, list),
            row("rootfs-suite", &self.rootfs_suite, String::clone),
            row("check-cpu", &self.check_cpu, |check| check.to_string()),
            row("rootfs-packages", &self.rootfs_packages, list),
            row("emulator", &self.emulator, path),
            row("qemu-cpu", &self.qemu_cpu, String::clone),
        ]);
        for (key, value) in GCC_KEYS.iter().zip(&self.gcc) {
            rows.push(row(key, value, String::clone));
        }
        rows
    }
}

fn unreachable_key(key: &str) -> Result<(), Invalid> {
    // Callers check keys against KEYS first; refuse rather than panic if one slips through.
    Err(Invalid::Key {
        key: key.to_string(),
        valid: KEYS,
        span: None,
    })
}

/// The TOML type name used in messages (`a string`, `an integer`...).
pub(crate) fn item_type(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Value(value) => match value {
            toml_edit::Value::String(_) => "a string",
            toml_edit::Value::Integer(_) => "an integer",
            toml_edit::Value::Float(_) => "a float",
            toml_edit::Value::Boolean(_) => "a boolean",
            toml_edit::Value::Datetime(_) => "a date-time",
            toml_edit::Value::Array(_) => "an array",
            toml_edit::Value::InlineTable(_) => "a table",
        },
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
    }
}

fn text<'a>(raw: Raw<'a>, expected: &'static str) -> Result<&'a str, Invalid> {
    match raw {
        Raw::Text(text) => Ok(text),
        Raw::Toml(item) => item.as_str().ok_or(Invalid::Type {
            expected,
            found: item_type(item),
            span: None,
        }),
    }
}

fn non_empty(text: &str) -> Result<&str, Invalid> {
    if text.trim().is_empty() {
        Err(Invalid::Value {
            value: text.to_string(),
            expected: "a non-empty value".to_string(),
            suggestion: None,
        })
    } else {
        Ok(text)
    }
}

/// A package list ([`words`]) whose every entry is a Debian package name: they reach apt's
/// command line, where a word starting with `-` would be one of apt's options.
fn package_names(raw: Raw<'_>) -> Result<Vec<String>, Invalid> {
    let names = words(raw, true)?;
    for name in &names {
        if let Err(error) = name.parse::<archway_platform::debian_names::PackageName>() {
            let reason = match error {
                archway_platform::Error::InvalidPackageName { reason, .. } => reason,
                other => other.to_string(),
            };
            return Err(Invalid::Value {
                value: name.escape_debug().to_string(),
                expected: format!("Debian package names ({reason})"),
                suggestion: None,
            });
        }
    }
    Ok(names)
}

/// A list: a TOML array of strings, or one string split at whitespace (and at commas for
/// package lists, which never contain them). Flags are not shell-unquoted: use an array for
/// a flag that contains a space.
fn words(raw: Raw<'_>, packages: bool) -> Result<Vec<String>, Invalid> {
    let expected = if packages {
        "an array of package names, e.g. `[\"libssl-dev\", \"zlib1g-dev\"]`"
    } else {
        "an array of strings, e.g. `[\"-O2\", \"-g\"]`, or one string"
    };
    let split = |text: &str| -> Vec<String> {
        text.split(|c: char| c.is_whitespace() || (packages && c == ','))
            .filter(|word| !word.is_empty())
            .map(str::to_string)
            .collect()
    };
    match raw {
        Raw::Text(text) => Ok(split(text)),
        Raw::Toml(item) => {
            if let Some(text) = item.as_str() {
                return Ok(split(text));
            }
            let array = item.as_array().ok_or(Invalid::Type {
                expected,
                found: item_type(item),
                span: None,
            })?;
            array
                .iter()
                .map(|value| {
                    value
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| Invalid::Type {
                            expected,
                            found: item_type(&Item::Value(value.clone())),
                            span: value.span(),
                        })
                })
                .collect()
        }
    }
}

const TOOLCHAIN_KEYS: &[&str] = &["family", "version"];

fn toolchain(raw: Raw<'_>) -> Result<Toolchain, Invalid> {
    let expected = "a table such as `{ family = \"gcc\", version = \"11\" }`, or a string such as `\"gcc-11\"`";
    let item = match raw {
        Raw::Text(text) => return text.parse(),
        Raw::Toml(item) => item,
    };
    if let Some(text) = item.as_str() {
        return text.parse();
    }
    let table = item.as_table_like().ok_or(Invalid::Type {
        expected,
        found: item_type(item),
        span: None,
    })?;
    for (key, _) in table.iter() {
        if !TOOLCHAIN_KEYS.contains(&key) {
            let span = table.key(key).and_then(|key| key.span());
            return Err(Invalid::Key {
                key: key.to_string(),
                valid: TOOLCHAIN_KEYS,
                span,
            });
        }
    }
    let family_item = table.get("family").ok_or(Invalid::Value {
        value: "{ ... }".to_string(),
        expected: "a `family` key (`gcc` or `clang`)".to_string(),
        suggestion: None,
    })?;
    let family = family_item.as_str().ok_or_else(|| Invalid::Type {
        expected: "a string (`family`: `gcc` or `clang`)",
        found: item_type(family_item),
        span: family_item.span(),
    })?;
    let family = parse_family(family)?;
    let version = match table.get("version") {
        None => None,
        Some(item) => {
            // `version = 11` and `version = "11"` both read naturally; accept both.
            let version = match (item.as_str(), item.as_integer()) {
                (Some(text), _) => text.to_string(),
                (None, Some(number)) if number >= 0 => number.to_string(),
                _ => {
                    return Err(Invalid::Type {
                        expected: "a string or a number (`version`, e.g. `\"11\"`)",
                        found: item_type(item),
                        span: item.span(),
                    })
                }
            };
            Toolchain::check_version(&version)?;
            Some(version)
        }
    };
    Ok(Toolchain { family, version })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn item(text: &str) -> Item {
        // An `ImDocument` keeps the spans errors point at.
        let document =
            toml_edit::ImDocument::parse(format!("value = {text}")).expect("test TOML is valid");
        document.as_table()["value"].clone()
    }

    fn set(key: &str, raw: Raw<'_>) -> Result<Overrides, Invalid> {
        let mut overrides = Overrides::default();
        overrides.set(key, raw, Base(Path::new("/project")), Source::Default)?;
        Ok(overrides)
    }

    #[test]
    fn toolchain_reads_table_and_short_forms() {
        let gcc11 = Toolchain {
            family: Family::Gcc,
            version: Some("11".to_string()),
        };
        for form in [
            "{ family = \"gcc\", version = \"11\" }",
            "{ family = \"gcc\", version = 11 }",
            "\"gcc-11\"",
        ] {
            let overrides = set("toolchain", Raw::Toml(&item(form))).expect(form);
            assert_eq!(
                overrides.toolchain.map(|t| t.value),
                Some(gcc11.clone()),
                "{form}"
            );
        }
        let clang = set("toolchain", Raw::Text("clang")).expect("clang");
        assert_eq!(
            clang.toolchain.map(|t| t.value.to_string()),
            Some("clang".to_string())
        );
    }

    #[test]
    fn toolchain_refuses_bad_families_versions_and_keys() {
        let cases = [
            ("{ family = \"gnu\" }", "value"),
            ("{ family = \"gcc\", version = \"eleven\" }", "value"),
            ("{ family = \"gcc\", version = -1 }", "type"),
            ("{ famly = \"gcc\" }", "key"),
            ("{ version = \"11\" }", "value"),
            ("\"gcc11\"", "value"),
            ("\"gcc-\"", "value"),
            ("11", "type"),
        ];
        for (form, kind) in cases {
            let error = set("toolchain", Raw::Toml(&item(form))).expect_err(form);
            let actual = match error {
                Invalid::Type { .. } => "type",
                Invalid::Value { .. } => "value",
                Invalid::Key { .. } => "key",
                Invalid::Name { .. } => "name",
            };
            assert_eq!(actual, kind, "{form}");
        }
    }

    #[test]
    fn flags_and_packages_take_arrays_or_strings() {
        let from_array = set("cflags", Raw::Toml(&item("[\"-O2\", \"-g\"]"))).expect("array");
        let from_string = set("cflags", Raw::Text(" -O2  -g ")).expect("string");
        assert_eq!(
            from_array.cflags.map(|f| f.value),
            from_string.cflags.map(|f| f.value)
        );
        let packages = set("rootfs-packages", Raw::Text("gcc-11,libz-dev make")).expect("list");
        assert_eq!(
            packages.rootfs_packages.map(|p| p.value),
            Some(vec!["gcc-11".into(), "libz-dev".into(), "make".into()])
        );
        assert!(matches!(
            set("ldflags", Raw::Toml(&item("[\"-s\", 3]"))),
            Err(Invalid::Type {
                found: "an integer",
                span: Some(_),
                ..
            })
        ));
        assert!(matches!(
            set("cxxflags", Raw::Toml(&item("true"))),
            Err(Invalid::Type {
                found: "a boolean",
                ..
            })
        ));
    }

    #[test]
    fn package_lists_and_suites_refuse_what_is_not_a_debian_name() {
        for key in ["sysroot-packages", "rootfs-packages"] {
            for hostile in [
                "[\"-o=Dir::Bin::dpkg=./x\"]",
                "[\"--option\"]",
                "[\"a b\"]",
                "[\"\"]",
                "[\"$(id)\"]",
                "[\"../x\"]",
                "[\"/abs\"]",
            ] {
                let error = set(key, Raw::Toml(&item(hostile))).expect_err(hostile);
                assert!(
                    matches!(&error, Invalid::Value { expected, .. } if expected.starts_with("Debian package names (")),
                    "{key} = {hostile}: {error:?}"
                );
            }
            assert!(set(key, Raw::Text("-o=Dir::Bin::dpkg=./x")).is_err());
        }
        for hostile in ["../../decoy", "/abs", "sid", "$(id)"] {
            assert!(matches!(
                set("rootfs-suite", Raw::Text(hostile)),
                Err(Invalid::Value { .. })
            ));
        }
        assert!(set("rootfs-suite", Raw::Text("trixie")).is_ok());
    }

    #[test]
    fn enums_refuse_unknown_names_with_a_suggestion() {
        assert_eq!(
            set("method", Raw::Text("crosss")).expect_err("crosss"),
            Invalid::Value {
                value: "crosss".to_string(),
                expected: "one of `auto`, `native`, `cross`, `hybrid`, `emulated`".to_string(),
                suggestion: Some("cross".to_string()),
            }
        );
        assert!(set("linker", Raw::Text("ldd")).is_err());
        assert_eq!(
            set("linker", Raw::Text("mold"))
                .expect("mold")
                .linker
                .map(|l| l.value),
            Some(Linker::Mold)
        );
    }

    #[test]
    fn relative_paths_resolve_against_the_base_and_program_names_stay() {
        let overrides = set("sysroot", Raw::Text("musl-root")).expect("sysroot");
        assert_eq!(
            overrides.sysroot.map(|s| s.value),
            Some(PathBuf::from("/project/musl-root"))
        );
        let named = set("cc", Raw::Text("aarch64-linux-gnu-gcc-11")).expect("cc");
        assert_eq!(
            named.cc.map(|c| c.value),
            Some("aarch64-linux-gnu-gcc-11".into())
        );
        let relative = set("cc", Raw::Text("tools/cc")).expect("cc");
        assert_eq!(
            relative.cc.map(|c| c.value),
            Some("/project/tools/cc".into())
        );
        assert!(set("emulator", Raw::Text("  ")).is_err());
    }

    #[test]
    fn env_takes_a_table_of_strings_only() {
        let overrides = set("env", Raw::Toml(&item("{ A = \"1\", B = \"2\" }"))).expect("env");
        assert_eq!(overrides.env.len(), 2);
        assert!(set("env", Raw::Toml(&item("{ A = 1 }"))).is_err());
        assert!(set("env", Raw::Text("A=1")).is_err());
    }

    #[test]
    fn env_names_must_be_posix_names() {
        for table in [
            r#"{ "$(touch /tmp/pwned)" = "1" }"#,
            r#"{ "A B" = "1" }"#,
            r#"{ "1A" = "1" }"#,
            r#"{ "A-B" = "1" }"#,
            r#"{ "" = "1" }"#,
            r#"{ "A;id" = "1" }"#,
        ] {
            match set("env", Raw::Toml(&item(table))) {
                Err(Invalid::Name { expected, .. }) => assert_eq!(expected, ENV_NAME_RULE),
                other => panic!("{table}: {other:?}"),
            }
        }
        assert!(set("env", Raw::Toml(&item(r#"{ _A1 = "1" }"#))).is_ok());
    }

    #[test]
    fn env_variable_names_follow_the_keys() {
        assert_eq!(env_variable("qemu-cpu"), "ARCHWAY_QEMU_CPU");
        assert_eq!(env_variable("cc"), "ARCHWAY_CC");
    }

    #[test]
    fn fill_from_keeps_the_more_specific_value_and_merges_env() {
        let mut high = set("cc", Raw::Text("high-cc")).expect("cc");
        high.env
            .insert("A".into(), Sourced::new("high".into(), Source::flag("--x")));
        let mut low = set("cc", Raw::Text("low-cc")).expect("cc");
        low.linker = Some(Sourced::new(Linker::Lld, Source::Default));
        low.env
            .insert("A".into(), Sourced::new("low".into(), Source::Default));
        low.env
            .insert("B".into(), Sourced::new("low".into(), Source::Default));
        high.fill_from(&low);
        assert_eq!(high.cc.map(|c| c.value), Some("high-cc".into()));
        assert_eq!(high.linker.map(|l| l.value), Some(Linker::Lld));
        assert_eq!(high.env["A"].value, "high");
        assert_eq!(high.env["B"].value, "low");
    }
}
