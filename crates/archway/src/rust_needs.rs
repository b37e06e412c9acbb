//! What a Cargo project asks of Rust, read from its manifests and lock before anything runs,
//! so that a Debian suite whose `rustc` cannot build it is not chosen (bookworm's 1.63 for a
//! project made by today's `cargo new`), and, when no suite's can, the error says so before
//! cargo's own message does.
//!
//! What is read (the Rust reference's editions table, cargo's changelog):
//! - `package.edition`, or the workspace's with `edition.workspace = true`: 2018 needs Rust
//!   1.31, 2021 needs 1.56, 2024 needs 1.85;
//! - `package.rust-version`, or the workspace's: as written (`1.70`, `1.70.1`);
//! - `resolver = "3"` (package or workspace): 1.84;
//! - `Cargo.lock`'s `version = 4`: cargo reads it from 1.78;
//! - a `rust-toolchain.toml` (or legacy `rust-toolchain`) whose channel is a release
//!   (`1.80`, `1.80.1`): rustup's pin, which any rustc as new builds too (`stable`, `nightly`
//!   and dated channels ask for nothing that can be compared);
//!
//! in the project's `Cargo.toml`, the workspace members it lists (a path, or a `dir/*`
//! pattern), and the nearest `Cargo.lock` at or above the project (where a workspace keeps
//! it). A manifest that does not parse asks for nothing: cargo's own error will say why.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::rust::RustVersion;

/// The most members of a workspace that are read: a bound on the work, far above real ones.
const MAX_MEMBERS: usize = 4096;

/// The newest Rust the project asks for, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RustNeeds {
    pub version: RustVersion,
    /// What asks for it, for the user: `` `edition = "2024"` in `Cargo.toml` ``.
    pub why: String,
}

impl fmt::Display for RustNeeds {
    /// `Rust 1.85 (`edition = "2024"` in `Cargo.toml`)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rust {} ({})", self.version, self.why)
    }
}

/// What the Cargo project in `project_dir` asks of Rust; `None` when it asks for nothing
/// newer than the 2015 edition (or its manifest cannot be read).
pub fn project_needs(project_dir: &Path) -> Option<RustNeeds> {
    let manifest = read_manifest(&project_dir.join("Cargo.toml"))?;
    let workspace = manifest
        .get("workspace")
        .cloned()
        .or_else(|| enclosing_workspace(project_dir));
    let mut found = Vec::new();
    needs_of_manifest(
        &manifest,
        workspace.as_ref(),
        Path::new("Cargo.toml"),
        &mut found,
    );
    if let Some(members) = manifest
        .get("workspace")
        .and_then(|workspace| workspace.get("members"))
        .and_then(toml::Value::as_array)
    {
        for member in member_directories(project_dir, members) {
            let relative = member
                .strip_prefix(project_dir)
                .unwrap_or(&member)
                .join("Cargo.toml");
            if let Some(member_manifest) = read_manifest(&member.join("Cargo.toml")) {
                needs_of_manifest(&member_manifest, workspace.as_ref(), &relative, &mut found);
            }
        }
    }
    if let Some((lock, version)) = lock_version(project_dir) {
        if version >= 4 {
            let shown = lock
                .strip_prefix(project_dir)
                .map(Path::to_path_buf)
                .unwrap_or(lock);
            found.push(RustNeeds {
                version: RustVersion {
                    major: 1,
                    minor: 78,
                },
                why: format!("`version = {version}` in `{}`", shown_path(&shown)),
            });
        }
    }
    if let Some(need) = toolchain_channel(project_dir) {
        found.push(need);
    }
    // The newest need; the first found of equal ones (the project's own manifest first).
    found.into_iter().reduce(|newest, need| {
        if need.version > newest.version {
            need
        } else {
            newest
        }
    })
}

fn read_manifest(path: &Path) -> Option<toml::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    toml::from_str(&text).ok()
}

/// The `[workspace]` of the manifest above `project_dir` that has one (a member built on
/// its own still inherits from it).
fn enclosing_workspace(project_dir: &Path) -> Option<toml::Value> {
    project_dir.ancestors().skip(1).find_map(|directory| {
        read_manifest(&directory.join("Cargo.toml"))?
            .get("workspace")
            .cloned()
    })
}

/// The needs one manifest states, pushed onto `found`; `workspace` is the `[workspace]` its
/// `*.workspace = true` keys inherit from.
fn needs_of_manifest(
    manifest: &toml::Value,
    workspace: Option<&toml::Value>,
    shown: &Path,
    found: &mut Vec<RustNeeds>,
) {
    let shown = shown_path(shown);
    let inherited = |key: &str| {
        workspace
            .and_then(|workspace| workspace.get("package"))
            .and_then(|package| package.get(key))
    };
    // A key of `[package]`, or the workspace's when it says `{ workspace = true }`.
    let package_key = |key: &str| -> Option<&toml::Value> {
        let value = manifest.get("package")?.get(key)?;
        match value.get("workspace").and_then(toml::Value::as_bool) {
            Some(true) => inherited(key),
            _ => Some(value),
        }
    };
    let workspace_package = manifest
        .get("workspace")
        .and_then(|workspace| workspace.get("package"));
    let package_or_workspace = |key| {
        [
            package_key(key),
            workspace_package.and_then(|package| package.get(key)),
        ]
    };
    let resolvers = [
        manifest
            .get("package")
            .and_then(|package| package.get("resolver")),
        manifest
            .get("workspace")
            .and_then(|workspace| workspace.get("resolver")),
    ];
    let stated = [
        ("edition", package_or_workspace("edition")),
        ("rust-version", package_or_workspace("rust-version")),
        ("resolver", resolvers),
    ];
    for (key, values) in stated {
        for value in values.into_iter().flatten().filter_map(toml::Value::as_str) {
            // Only values `version_for` knows (digits and dots): safe to show as written.
            if let Some(version) = version_for(key, value) {
                found.push(RustNeeds {
                    version,
                    why: format!("`{key} = \"{}\"` in `{shown}`", value.trim()),
                });
            }
        }
    }
}

/// The Rust release that first understands `value` of the manifest's `key`.
fn version_for(key: &str, value: &str) -> Option<RustVersion> {
    let release = |minor| Some(RustVersion { major: 1, minor });
    match (key, value) {
        ("edition", "2018") => release(31),
        ("edition", "2021") => release(56),
        ("edition", "2024") => release(85),
        ("rust-version", _) => parse_rust_version(value),
        ("resolver", "3") => release(84),
        _ => None,
    }
}

/// `1.70` or `1.70.1` (the patch does not matter here); anything else is not a version.
fn parse_rust_version(text: &str) -> Option<RustVersion> {
    let mut parts = text.trim().split('.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    match parts.next() {
        None => {}
        Some(patch) if patch.parse::<u32>().is_ok() => {}
        Some(_) => return None,
    }
    parts
        .next()
        .is_none()
        .then_some(RustVersion { major, minor })
}

/// The directories `members` names under `project_dir`: plain relative paths, and `dir/*`
/// (every directory of `dir` with a `Cargo.toml`). Anything that leaves the project (an
/// absolute path, `..`) or another pattern is left out.
fn member_directories(project_dir: &Path, members: &[toml::Value]) -> Vec<PathBuf> {
    use std::path::Component;
    let mut directories = Vec::new();
    for member in members.iter().filter_map(toml::Value::as_str) {
        let path = Path::new(member);
        if !path
            .components()
            .all(|component| matches!(component, Component::Normal(_) | Component::CurDir))
        {
            continue;
        }
        match member.strip_suffix("/*") {
            Some(parent) if !parent.contains(['*', '?', '[']) => {
                let Ok(entries) = std::fs::read_dir(project_dir.join(parent)) else {
                    continue;
                };
                let mut found: Vec<PathBuf> = entries
                    .flatten()
                    .map(|entry| entry.path())
                    .filter(|path| path.join("Cargo.toml").is_file())
                    .collect();
                found.sort();
                directories.extend(found);
            }
            None if !member.contains(['*', '?', '[']) => {
                directories.push(project_dir.join(path));
            }
            _ => {}
        }
        if directories.len() >= MAX_MEMBERS {
            directories.truncate(MAX_MEMBERS);
            break;
        }
    }
    directories
}

/// The nearest `Cargo.lock` at or above `project_dir` and its `version` (1 when it has none:
/// the oldest format).
fn lock_version(project_dir: &Path) -> Option<(PathBuf, i64)> {
    let lock = project_dir
        .ancestors()
        .map(|directory| directory.join("Cargo.lock"))
        .find(|lock| lock.is_file())?;
    let text = std::fs::read_to_string(&lock).ok()?;
    let value: toml::Value = toml::from_str(&text).ok()?;
    let version = value
        .get("version")
        .and_then(toml::Value::as_integer)
        .unwrap_or(1);
    Some((lock, version))
}

/// The release a `rust-toolchain.toml` or `rust-toolchain` file at or above `project_dir`
/// pins (the nearest one, as rustup looks for it), as a need.
fn toolchain_channel(project_dir: &Path) -> Option<RustNeeds> {
    let pinned = toolchain_file(project_dir)?;
    Some(RustNeeds {
        version: parse_rust_version(&pinned.channel)?,
        why: pinned.to_string(),
    })
}

/// The channel a `rust-toolchain.toml` or `rust-toolchain` file pins, and which file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedToolchain {
    pub channel: String,
    /// `rust-toolchain.toml` or `rust-toolchain`.
    pub file: &'static str,
}

impl std::fmt::Display for PinnedToolchain {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "`channel = \"{}\"` in `{}`",
            self.channel, self.file
        )
    }
}

/// The nearest `rust-toolchain.toml` or `rust-toolchain` file at or above `project_dir` (as
/// rustup looks for it) and the channel it pins; `None` without one, or when it names none.
pub fn toolchain_file(project_dir: &Path) -> Option<PinnedToolchain> {
    project_dir.ancestors().find_map(|directory| {
        ["rust-toolchain.toml", "rust-toolchain"]
            .into_iter()
            .map(|file| (file, directory.join(file)))
            .find(|(_, path)| path.is_file())
            .map(|(file, path)| {
                let text = std::fs::read_to_string(path).ok()?;
                // The legacy file may be the channel alone on one line.
                let channel = match toml::from_str::<toml::Value>(&text) {
                    Ok(value) => value
                        .get("toolchain")?
                        .get("channel")?
                        .as_str()?
                        .to_string(),
                    Err(_) => text.trim().to_string(),
                };
                // A channel is a short word; anything else is not shown back.
                let channel = channel.trim();
                (!channel.is_empty()
                    && channel.len() <= 64
                    && channel
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
                .then(|| PinnedToolchain {
                    channel: channel.to_string(),
                    file,
                })
            })
    })?
}

/// A path for a message: as it is when printable, else with its control characters escaped.
fn shown_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    if text.chars().any(|c| c.is_control() || c == '`') {
        text.escape_debug().to_string()
    } else {
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("directories");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    fn needs(files: &[(&str, &str)]) -> Option<(String, String)> {
        let dir = project(files);
        project_needs(dir.path()).map(|needs| (needs.version.to_string(), needs.why))
    }

    #[test]
    fn a_new_projects_edition_and_lock_ask_for_their_rust() {
        // What `cargo new` and `cargo generate-lockfile` of cargo 1.95 write.
        assert_eq!(
            needs(&[
                (
                    "Cargo.toml",
                    "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n"
                ),
                ("Cargo.lock", "# generated\nversion = 4\n\n[[package]]\nname = \"p\"\nversion = \"0.1.0\"\n"),
            ]),
            Some((
                "1.85".to_string(),
                "`edition = \"2024\"` in `Cargo.toml`".to_string()
            ))
        );
        // A 2021 project with a version 4 lock: the lock asks more.
        assert_eq!(
            needs(&[
                (
                    "Cargo.toml",
                    "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"
                ),
                ("Cargo.lock", "version = 4\n"),
            ]),
            Some((
                "1.78".to_string(),
                "`version = 4` in `Cargo.lock`".to_string()
            ))
        );
        // A 2015 project with a version 3 lock asks for nothing.
        assert_eq!(
            needs(&[
                (
                    "Cargo.toml",
                    "[package]\nname = \"p\"\nversion = \"0.1.0\"\n"
                ),
                ("Cargo.lock", "version = 3\n"),
            ]),
            None
        );
    }

    #[test]
    fn rust_version_and_resolver_are_read() {
        assert_eq!(
            needs(&[(
                "Cargo.toml",
                "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2018\"\nrust-version = \"1.70.1\"\n"
            )]),
            Some((
                "1.70".to_string(),
                "`rust-version = \"1.70.1\"` in `Cargo.toml`".to_string()
            ))
        );
        assert_eq!(
            needs(&[(
                "Cargo.toml",
                "[workspace]\nresolver = \"3\"\nmembers = []\n"
            )]),
            Some((
                "1.84".to_string(),
                "`resolver = \"3\"` in `Cargo.toml`".to_string()
            ))
        );
    }

    #[test]
    fn workspace_members_and_inherited_keys_are_read() {
        let files = [
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"app\", \"crates/*\"]\n\n[workspace.package]\nedition = \"2021\"\nrust-version = \"1.80\"\n",
            ),
            (
                "app/Cargo.toml",
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition.workspace = true\n",
            ),
            (
                "crates/core/Cargo.toml",
                "[package]\nname = \"core\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
            ),
            ("crates/notes.txt", "not a crate"),
        ];
        assert_eq!(
            needs(&files),
            Some((
                "1.85".to_string(),
                "`edition = \"2024\"` in `crates/core/Cargo.toml`".to_string()
            ))
        );
        // A member built on its own inherits from the workspace above it, and its lock is
        // the workspace's.
        let dir = project(&[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"app\"]\n\n[workspace.package]\nrust-version = \"1.80\"\n",
            ),
            (
                "app/Cargo.toml",
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nrust-version.workspace = true\n",
            ),
            ("Cargo.lock", "version = 3\n"),
        ]);
        let needs = project_needs(&dir.path().join("app")).expect("needs");
        assert_eq!(needs.version.to_string(), "1.80");
        assert_eq!(needs.why, "`rust-version = \"1.80\"` in `Cargo.toml`");
    }

    #[test]
    fn hostile_or_broken_manifests_ask_for_nothing_and_never_panic() {
        for manifest in [
            "",
            "not toml [[[",
            "[package]\nedition = 2024\n",
            "[package]\nedition = \"2030\"\n",
            "[package]\nrust-version = \"1\"\n",
            "[package]\nrust-version = \"1.x\"\n",
            "[package]\nrust-version = \"99999999999.1\"\n",
            "[package]\nrust-version = \"1.2.3.4\"\n",
            "[package]\nedition = { workspace = true }\n",
            "[workspace]\nmembers = [\"../outside\", \"/etc\", \"a/**\", 7]\n",
            "package = 3\n",
        ] {
            let dir = project(&[("Cargo.toml", manifest)]);
            assert_eq!(project_needs(dir.path()), None, "{manifest}");
        }
        assert_eq!(project_needs(Path::new("/nonexistent/project")), None);
        // A member outside the project is not read.
        let dir = project(&[
            ("outside/Cargo.toml", "[package]\nedition = \"2024\"\n"),
            ("p/Cargo.toml", "[workspace]\nmembers = [\"../outside\"]\n"),
        ]);
        assert_eq!(project_needs(&dir.path().join("p")), None);
    }

    #[test]
    fn a_toolchain_files_release_channel_is_a_need() {
        let manifest = (
            "Cargo.toml",
            "[package]\nname = \"p\"\nversion = \"0.1.0\"\n",
        );
        assert_eq!(
            needs(&[
                manifest,
                ("rust-toolchain.toml", "[toolchain]\nchannel = \"1.80\"\n")
            ]),
            Some((
                "1.80".to_string(),
                "`channel = \"1.80\"` in `rust-toolchain.toml`".to_string()
            ))
        );
        assert_eq!(
            needs(&[manifest, ("rust-toolchain", "1.79.0\n")]),
            Some((
                "1.79".to_string(),
                "`channel = \"1.79.0\"` in `rust-toolchain`".to_string()
            ))
        );
        for channel in ["stable", "nightly-2025-01-01", "1.80-beta", "`1.80`"] {
            assert_eq!(
                needs(&[
                    manifest,
                    (
                        "rust-toolchain.toml",
                        &format!("[toolchain]\nchannel = \"{channel}\"\n")
                    )
                ]),
                None,
                "{channel}"
            );
        }
    }

    #[test]
    fn the_toolchain_file_says_its_channel_even_when_it_is_not_a_release() {
        let dir = project(&[(
            "rust-toolchain.toml",
            "[toolchain]\nchannel = \"nightly\"\n",
        )]);
        let pinned = toolchain_file(dir.path()).expect("a toolchain file");
        assert_eq!(pinned.channel, "nightly");
        assert_eq!(
            pinned.to_string(),
            "`channel = \"nightly\"` in `rust-toolchain.toml`"
        );
        // Found from a member below it, as rustup does.
        let member = dir.path().join("crates/member");
        std::fs::create_dir_all(&member).expect("member");
        assert_eq!(toolchain_file(&member), Some(pinned));
        // A channel that is not a plain word is not shown back.
        for text in [
            "[toolchain]\nchannel = \"a`b\"\n",
            "[toolchain]\nchannel = \"\"\n",
            "\n",
        ] {
            let dir = project(&[("rust-toolchain.toml", text)]);
            assert_eq!(toolchain_file(dir.path()), None, "{text:?}");
        }
        let legacy = project(&[("rust-toolchain", "nightly-2025-01-01\n")]);
        assert_eq!(
            toolchain_file(legacy.path()).map(|pinned| pinned.channel),
            Some("nightly-2025-01-01".to_string())
        );
    }

    #[test]
    fn a_lock_without_a_version_is_the_oldest_format() {
        let dir = project(&[
            (
                "Cargo.toml",
                "[package]\nname = \"p\"\nversion = \"0.1.0\"\n",
            ),
            (
                "Cargo.lock",
                "[[package]]\nname = \"p\"\nversion = \"0.1.0\"\n",
            ),
        ]);
        assert_eq!(
            lock_version(dir.path()).map(|(_, version)| version),
            Some(1)
        );
    }

    mod arbitrary {
        use super::*;
        use proptest::prelude::*;

        /// Manifest lines made of the keys that are read, with values of any shape.
        fn line() -> impl Strategy<Value = String> {
            let keys = prop::sample::select(vec![
                "edition",
                "rust-version",
                "resolver",
                "members",
                "edition.workspace",
                "rust-version.workspace",
                "version",
                "channel",
            ]);
            let values = prop_oneof![
                Just("\"2024\"".to_string()),
                Just("true".to_string()),
                Just("[\"a\", \"b/*\", \"../c\", \"/d\"]".to_string()),
                "\"[0-9.]{0,12}\"",
                "\"\\PC{0,12}\"",
                "-?[0-9]{1,20}",
            ];
            let headers = prop::sample::select(vec![
                "[package]",
                "[workspace]",
                "[workspace.package]",
                "[toolchain]",
                "[[package]]",
            ]);
            prop_oneof![
                headers.prop_map(str::to_string),
                (keys, values).prop_map(|(key, value)| format!("{key} = {value}")),
                "\\PC{0,20}",
            ]
        }

        proptest! {
            /// Whatever the manifests, lock and toolchain file hold, the answer comes back, and
            /// what it says is one line of printable text.
            #[test]
            fn any_project_files_return_a_printable_answer(
                manifest in prop::collection::vec(line(), 0..10),
                member in prop::collection::vec(line(), 0..6),
                lock in prop::collection::vec(line(), 0..4),
                toolchain in prop::collection::vec(line(), 0..3),
            ) {
                let dir = project(&[
                    ("Cargo.toml", &manifest.join("\n")),
                    ("a/Cargo.toml", &member.join("\n")),
                    ("b/x/Cargo.toml", &member.join("\n")),
                    ("Cargo.lock", &lock.join("\n")),
                    ("rust-toolchain.toml", &toolchain.join("\n")),
                ]);
                if let Some(needs) = project_needs(dir.path()) {
                    prop_assert!(
                        !needs.why.chars().any(char::is_control),
                        "{:?}",
                        needs.why
                    );
                }
            }
        }
    }

    #[test]
    fn paths_with_control_characters_are_escaped_in_messages() {
        assert_eq!(shown_path(Path::new("a\nb/Cargo.toml")), "a\\nb/Cargo.toml");
        assert_eq!(
            shown_path(Path::new("crates/x/Cargo.toml")),
            "crates/x/Cargo.toml"
        );
    }
}
