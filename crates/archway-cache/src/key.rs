//! A build's key: the SHA-256 of everything that decides its outputs.
//!
//! [`KeyInputs`] gathers the inputs — the source tree's content, the platform with its CPU
//! settings, the method, the toolchain's identity, the target system (sysroot or root
//! filesystem) with its package versions, the build system, the steps with their arguments and
//! environments, the generated build-system files and the ambient variables that reach the
//! build — and [`KeyInputs::key`] hashes their canonical encoding: JSON of a versioned struct
//! whose maps are sorted (`BTreeMap`), so the same inputs give the same bytes on every machine.
//!
//! Nothing that does not decide the outputs goes in: no modification times, no inode numbers,
//! no absolute paths of the project, the build directory or the cache ([`PathMap`] rewrites
//! them to `${project}`, `${build}`, `${cache}` first), no order of environment variables.
//!
//! The source tree is walked from the project root, leaving out `.git` (anywhere), the build
//! directories and nothing else: `.gitignore` is not read. Files it ignores are hashed too, which
//! costs a spurious miss when such a file changes, never a wrong hit (Bazel and Nix likewise hash
//! what they are given, not what git tracks).
//!
//! ```
//! use archway_cache::key::{KeyInputs, SourceDigest};
//!
//! let project = tempfile::tempdir().unwrap();
//! std::fs::write(project.path().join("main.c"), "int main(void) { return 0; }\n").unwrap();
//! let mut inputs = KeyInputs::new("cross");
//! inputs.sources = SourceDigest::of_tree(project.path(), &[]).unwrap();
//! let key = inputs.key();
//! assert_eq!(key.to_string().len(), 64);
//! inputs.method = "emulated".to_string();
//! assert_ne!(inputs.key(), key);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The version of the key's encoding: bumped whenever what goes into [`KeyInputs`] or how it is
/// encoded changes, so old entries stop matching instead of matching wrongly.
pub const KEY_FORMAT: u32 = 1;

/// Why a key could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot {action} `{}` while hashing the build's inputs: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl KeyError {
    /// The command that fixes it, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            KeyError::Io { .. } => {
                Some("build without the cache: `archway build --no-cache`".to_string())
            }
        }
    }
}

/// A SHA-256 digest, shown as 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key([u8; 32]);

impl Key {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Key {
        Key(Sha256::digest(bytes).into())
    }

    /// A key derived from this one and `extra` (a test run: the build's key and the test
    /// command).
    pub fn derive(&self, purpose: &str, extra: &str) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(self.0);
        hasher.update(purpose.as_bytes());
        hasher.update([0]);
        hasher.update(extra.as_bytes());
        Key(hasher.finalize().into())
    }

    /// Parses 64 hex digits (either case).
    pub fn parse(text: &str) -> Option<Key> {
        if text.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            let pair = text.get(index * 2..index * 2 + 2)?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Key(bytes))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// 64 hex digits of the SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Key::of(bytes).to_string()
}

/// 64 hex digits of the SHA-256 of the file at `path` (read in blocks).
pub fn sha256_file(path: &Path) -> Result<String, KeyError> {
    let io = |action: &'static str| {
        move |source| KeyError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let mut file = std::fs::File::open(path).map_err(io("open"))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer).map_err(io("read"))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(Key(hasher.finalize().into()).to_string())
}

/// Digests of large files that rarely change (compilers: `cc1` is 30 MB), remembered by
/// device, inode, size, modification and change time — the file's identity as ccache's
/// `compiler_check = mtime` takes it — in one JSON file; a file whose identity changed is
/// hashed again. Losing or corrupting the memo file costs only time.
#[derive(Debug)]
pub struct DigestMemo {
    path: Option<PathBuf>,
    entries: std::sync::Mutex<BTreeMap<String, String>>,
    changed: std::sync::atomic::AtomicBool,
}

impl DigestMemo {
    /// The memo in `path` (read now; `None`: remember nothing).
    pub fn open(path: Option<&Path>) -> DigestMemo {
        let entries = path
            .and_then(|path| std::fs::read(path).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        DigestMemo {
            path: path.map(Path::to_path_buf),
            entries: std::sync::Mutex::new(entries),
            changed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The SHA-256 of the file at `path`, from the memo when its identity is unchanged.
    pub fn sha256(&self, path: &Path) -> Result<String, KeyError> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).map_err(|source| KeyError::Io {
            action: "inspect",
            path: path.to_path_buf(),
            source,
        })?;
        let identity = format!(
            "{}\0{}:{}:{}:{}.{}:{}.{}",
            path.display(),
            meta.dev(),
            meta.ino(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec()
        );
        if let Ok(entries) = self.entries.lock() {
            if let Some(digest) = entries.get(&identity) {
                return Ok(digest.clone());
            }
        }
        let digest = sha256_file(path)?;
        if let Ok(mut entries) = self.entries.lock() {
            // Entries of replaced files linger; a bound keeps the file small.
            if entries.len() > 4096 {
                entries.clear();
            }
            entries.insert(identity, digest.clone());
            self.changed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(digest)
    }

    /// Writes the memo back when it learnt something (atomically: a temporary file renamed).
    pub fn save(&self) {
        let Some(path) = &self.path else {
            return;
        };
        if !self.changed.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let Ok(entries) = self.entries.lock() else {
            return;
        };
        let Ok(bytes) = serde_json::to_vec(&*entries) else {
            return;
        };
        let temporary = PathBuf::from(format!("{}.{}", path.display(), std::process::id()));
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if std::fs::write(&temporary, bytes).is_ok() && std::fs::rename(&temporary, path).is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
    }
}

/// The source tree's content: one digest over every file's relative path, kind, executable
/// bit and content (or link target).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceDigest {
    pub digest: String,
    /// Regular files and symbolic links hashed.
    pub files: u64,
    /// Bytes of the regular files.
    pub bytes: u64,
}

impl SourceDigest {
    /// Walks `root` (symbolic links are hashed as links, never followed), leaving out every
    /// `.git` and the directories in `exclude` (absolute paths: the build directories).
    ///
    /// Each entry feeds the hash, in byte order of the relative paths, as
    /// `<kind> <relative path>\0<sha256 of content | link target>\n`, where kind is `f` (file),
    /// `x` (a file with any executable bit) or `l` (link). Directories count only through what
    /// they hold (git keeps no empty ones either); sockets and fifos are left out.
    pub fn of_tree(root: &Path, exclude: &[PathBuf]) -> Result<SourceDigest, KeyError> {
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| KeyError::Io {
                action,
                path,
                source,
            }
        };
        let mut hasher = Sha256::new();
        let mut files = 0u64;
        let mut bytes = 0u64;
        // A stack of relative directories; each directory's entries are sorted, and the
        // directories below are visited in that same order (pushed reversed).
        let mut pending = vec![PathBuf::new()];
        while let Some(relative) = pending.pop() {
            let directory = root.join(&relative);
            let mut entries = Vec::new();
            for entry in std::fs::read_dir(&directory).map_err(io("read directory", &directory))? {
                let entry = entry.map_err(io("read directory", &directory))?;
                entries.push(entry.file_name());
            }
            entries.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            let mut subdirectories = Vec::new();
            for name in entries {
                if name == ".git" {
                    continue;
                }
                let path = directory.join(&name);
                if exclude.iter().any(|excluded| excluded == &path) {
                    continue;
                }
                let relative_path = relative.join(&name);
                let meta = std::fs::symlink_metadata(&path).map_err(io("inspect", &path))?;
                let file_type = meta.file_type();
                let (kind, content) = if file_type.is_dir() {
                    subdirectories.push(relative_path);
                    continue;
                } else if file_type.is_symlink() {
                    let target = std::fs::read_link(&path).map_err(io("read link", &path))?;
                    ("l", target.as_os_str().as_bytes().to_vec())
                } else if file_type.is_file() {
                    bytes += meta.len();
                    let executable = meta.permissions().mode() & 0o111 != 0;
                    let kind = if executable { "x" } else { "f" };
                    (kind, sha256_file(&path)?.into_bytes())
                } else {
                    continue;
                };
                files += 1;
                hasher.update(kind.as_bytes());
                hasher.update(b" ");
                hasher.update(relative_path.as_os_str().as_bytes());
                hasher.update([0]);
                hasher.update(&content);
                hasher.update(b"\n");
            }
            // Depth-first in sorted order: a directory's subtree comes where its name sorts.
            // (The hash sees files before subdirectories within one directory; any fixed order
            // is canonical, and this one is cheap.)
            pending.extend(subdirectories.into_iter().rev());
        }
        Ok(SourceDigest {
            digest: Key(hasher.finalize().into()).to_string(),
            files,
            bytes,
        })
    }
}

/// The target platform: its canonical name and its CPU settings (nixpkgs' `gcc` attributes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformInputs {
    /// `aarch64-unknown-linux-gnu`.
    pub config: String,
    /// `arch`, `cpu`, `fpu`, `float-abi`...: what reaches `-march=` and friends.
    pub cpu: BTreeMap<String, String>,
    /// Static linking, the C library.
    pub libc: String,
    pub is_static: bool,
}

/// The compilers and tools that run: their version and a hash of each binary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolchainInputs {
    /// `gcc 12.2.0`, as the compiler reports it; empty when none is identified.
    pub version: String,
    /// Tool name (`CC`, `cc1`, `as`, `ld`) → SHA-256 of the binary it runs.
    pub binaries: BTreeMap<String, String>,
}

/// The target's libraries and headers: a sysroot or a root filesystem and its packages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemInputs {
    /// `sysroot`, `rootfs`, `host` or `none`.
    pub kind: String,
    /// The sysroot's suite and architecture, the root filesystem's key name.
    pub name: String,
    /// Package → version (with `:architecture` when not the system's own).
    pub packages: BTreeMap<String, String>,
}

/// One configure, build or test step, with the machine's paths mapped away.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepInputs {
    pub kind: String,
    pub program: String,
    pub args: Vec<String>,
    pub dir: String,
    pub env: BTreeMap<String, String>,
}

/// Everything that decides a build's outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInputs {
    /// [`KEY_FORMAT`].
    pub format: u32,
    pub sources: SourceDigest,
    pub platform: PlatformInputs,
    /// `native`, `cross`, `hybrid`, `emulated`.
    pub method: String,
    pub toolchain: ToolchainInputs,
    pub system: SystemInputs,
    /// `cmake`, `meson`, ... or empty for a user command.
    pub build_system: String,
    /// Configure and build steps (the test steps key a test run, not the build).
    pub steps: Vec<StepInputs>,
    /// Generated build-system files (CMake toolchain, Meson cross file, config.site) by name →
    /// SHA-256 of their content with paths mapped away.
    pub files: BTreeMap<String, String>,
    /// Variables of archway's own environment that reach the build (`CFLAGS`, `MAKEFLAGS`...).
    pub environment: BTreeMap<String, String>,
}

impl KeyInputs {
    /// Inputs with only the method set (the rest filled in by the caller).
    pub fn new(method: &str) -> KeyInputs {
        KeyInputs {
            format: KEY_FORMAT,
            method: method.to_string(),
            ..KeyInputs::default()
        }
    }

    /// The canonical encoding: compact JSON of this struct (fields in declaration order, maps
    /// sorted by key).
    pub fn canonical(&self) -> Vec<u8> {
        // Serialising plain strings, numbers, vectors and string-keyed maps cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The build's key.
    pub fn key(&self) -> Key {
        Key::of(&self.canonical())
    }

    /// One line per input, for `archway build --explain`.
    pub fn summary(&self) -> Vec<String> {
        let short = |hex: &str| hex.get(..12).unwrap_or(hex).to_string();
        let mut lines = vec![
            format!(
                "sources: {} ({} files, {} bytes)",
                short(&self.sources.digest),
                self.sources.files,
                self.sources.bytes
            ),
            format!(
                "platform: {}{}{}",
                self.platform.config,
                if self.platform.is_static {
                    " (static)"
                } else {
                    ""
                },
                if self.platform.cpu.is_empty() {
                    String::new()
                } else {
                    let cpu: Vec<String> = self
                        .platform
                        .cpu
                        .iter()
                        .map(|(name, value)| format!("{name}={value}"))
                        .collect();
                    format!(", cpu {}", cpu.join(" "))
                }
            ),
            format!("method: {}", self.method),
        ];
        let binaries: Vec<String> = self
            .toolchain
            .binaries
            .iter()
            .map(|(name, digest)| format!("{name} {}", short(digest)))
            .collect();
        lines.push(format!(
            "toolchain: {}{}",
            if self.toolchain.version.is_empty() {
                "unidentified"
            } else {
                &self.toolchain.version
            },
            if binaries.is_empty() {
                String::new()
            } else {
                format!(" [{}]", binaries.join(", "))
            }
        ));
        let system: Vec<&str> = [self.system.kind.as_str(), self.system.name.as_str()]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect();
        lines.push(format!(
            "system: {} ({} packages)",
            system.join(" "),
            self.system.packages.len()
        ));
        lines.push(format!(
            "build system: {}",
            if self.build_system.is_empty() {
                "none (a command)"
            } else {
                &self.build_system
            }
        ));
        for step in &self.steps {
            let command: Vec<&str> = std::iter::once(step.program.as_str())
                .chain(step.args.iter().map(String::as_str))
                .collect();
            lines.push(format!(
                "{} step: {} ({} variables)",
                step.kind,
                command.join(" "),
                step.env.len()
            ));
        }
        for (name, digest) in &self.files {
            lines.push(format!("file {name}: {}", short(digest)));
        }
        let environment: Vec<String> = self
            .environment
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        lines.push(format!(
            "environment: {}",
            if environment.is_empty() {
                "nothing from archway's own".to_string()
            } else {
                environment.join(" ")
            }
        ));
        lines
    }
}

/// Rewrites the machine's own paths in text (arguments, variables, generated files) to
/// placeholders, so a tree in another directory, or another cache directory, keys the same.
/// The longest path is replaced first (the build directory usually lies in the project).
#[derive(Debug, Clone, Default)]
pub struct PathMap {
    pairs: Vec<(String, &'static str)>,
}

impl PathMap {
    pub fn new(project: &Path, build: &Path, cache: Option<&Path>) -> PathMap {
        let mut pairs = vec![
            (project.to_string_lossy().into_owned(), "${project}"),
            (build.to_string_lossy().into_owned(), "${build}"),
        ];
        if let Some(cache) = cache {
            pairs.push((cache.to_string_lossy().into_owned(), "${cache}"));
        }
        pairs.retain(|(path, _)| path.len() > 1);
        pairs.sort_by_key(|pair| std::cmp::Reverse(pair.0.len()));
        PathMap { pairs }
    }

    /// `text` with each path replaced by its placeholder.
    pub fn apply(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (path, placeholder) in &self.pairs {
            text = text.replace(path.as_str(), placeholder);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> KeyInputs {
        let mut inputs = KeyInputs::new("cross");
        inputs.sources = SourceDigest {
            digest: "a".repeat(64),
            files: 3,
            bytes: 100,
        };
        inputs.platform = PlatformInputs {
            config: "aarch64-unknown-linux-gnu".into(),
            cpu: BTreeMap::from([("arch".into(), "armv8-a".into())]),
            libc: "glibc".into(),
            is_static: false,
        };
        inputs.toolchain = ToolchainInputs {
            version: "gcc 12.2.0".into(),
            binaries: BTreeMap::from([("CC".into(), "b".repeat(64))]),
        };
        inputs.system = SystemInputs {
            kind: "sysroot".into(),
            name: "bookworm-arm64".into(),
            packages: BTreeMap::from([("libc6-dev".into(), "2.36-9".into())]),
        };
        inputs.build_system = "cmake".into();
        inputs.steps = vec![StepInputs {
            kind: "configure".into(),
            program: "cmake".into(),
            args: vec!["-S".into(), "${project}".into()],
            dir: "${build}".into(),
            env: BTreeMap::from([("CC".into(), "aarch64-linux-gnu-gcc".into())]),
        }];
        inputs.files = BTreeMap::from([("toolchain.cmake".into(), "c".repeat(64))]);
        inputs.environment = BTreeMap::from([("CFLAGS".into(), "-O2".into())]);
        inputs
    }

    /// Every input, changed one at a time: each gives another key.
    #[test]
    fn every_input_changes_the_key() {
        let base = sample();
        let key = base.key();
        type Change = fn(&mut KeyInputs);
        let changes: &[(&str, Change)] = &[
            ("format", |i| i.format += 1),
            ("sources", |i| i.sources.digest = "d".repeat(64)),
            ("platform", |i| {
                i.platform.config = "riscv64-unknown-linux-gnu".into()
            }),
            ("cpu", |i| {
                i.platform.cpu.insert("arch".into(), "armv8.2-a".into());
            }),
            ("static", |i| i.platform.is_static = true),
            ("libc", |i| i.platform.libc = "musl".into()),
            ("method", |i| i.method = "emulated".into()),
            ("compiler version", |i| {
                i.toolchain.version = "gcc 13".into()
            }),
            ("compiler binary", |i| {
                i.toolchain.binaries.insert("CC".into(), "e".repeat(64));
            }),
            ("system kind", |i| i.system.kind = "rootfs".into()),
            ("system package version", |i| {
                i.system
                    .packages
                    .insert("libc6-dev".into(), "2.36-10".into());
            }),
            ("system package added", |i| {
                i.system.packages.insert("zlib1g-dev".into(), "1".into());
            }),
            ("build system", |i| i.build_system = "meson".into()),
            ("argument", |i| i.steps[0].args.push("-DX=1".into())),
            ("argument order", |i| i.steps[0].args.reverse()),
            ("step env", |i| {
                i.steps[0].env.insert("CFLAGS".into(), "-O3".into());
            }),
            ("step program", |i| i.steps[0].program = "cmake3".into()),
            ("generated file", |i| {
                i.files.insert("toolchain.cmake".into(), "f".repeat(64));
            }),
            ("environment", |i| {
                i.environment.insert("CFLAGS".into(), "-O3".into());
            }),
            ("environment added", |i| {
                i.environment.insert("LDFLAGS".into(), "-s".into());
            }),
        ];
        for (name, change) in changes {
            let mut changed = base.clone();
            change(&mut changed);
            assert_ne!(changed.key(), key, "changing the {name} keeps the key");
        }
    }

    #[test]
    fn the_encoding_is_stable_and_versioned() {
        // Pinned: a change of the encoding must bump KEY_FORMAT (and this value).
        let text = String::from_utf8(KeyInputs::new("native").canonical()).expect("utf-8");
        assert!(text.starts_with("{\"format\":1,\"sources\":{"), "{text}");
        assert_eq!(
            KeyInputs::new("native").key(),
            KeyInputs::new("native").key()
        );
    }

    #[test]
    fn key_parses_its_own_display_and_rejects_others() {
        let key = sample().key();
        assert_eq!(Key::parse(&key.to_string()), Some(key));
        assert_eq!(Key::parse(&key.to_string().to_uppercase()), Some(key));
        for bad in ["", "00", &"g".repeat(64), &"0".repeat(63), &"é".repeat(32)] {
            assert_eq!(Key::parse(bad), None, "{bad}");
        }
        assert_ne!(key.derive("test", "make check"), key);
        assert_ne!(
            key.derive("test", "make check"),
            key.derive("test", "ctest")
        );
    }

    #[test]
    fn path_map_replaces_the_longest_path_first() {
        let map = PathMap::new(
            Path::new("/home/a/zlib"),
            Path::new("/home/a/zlib/build/archway/x"),
            Some(Path::new("/home/a/.cache/archway")),
        );
        assert_eq!(
            map.apply("-S /home/a/zlib -B /home/a/zlib/build/archway/x --sysroot=/home/a/.cache/archway/s"),
            "-S ${project} -B ${build} --sysroot=${cache}/s"
        );
    }

    fn write_tree(root: &Path, files: &[(&str, &str)]) {
        for (path, content) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, content).expect("write");
        }
    }

    const TREE: &[(&str, &str)] = &[
        ("CMakeLists.txt", "project(z C)\n"),
        ("src/a.c", "int a;\n"),
        ("src/sub/b.c", "int b;\n"),
        ("zz.h", "#pragma once\n"),
    ];

    #[test]
    fn two_clones_in_different_directories_digest_the_same() {
        let first = tempfile::tempdir().expect("temp");
        let second = tempfile::tempdir().expect("temp");
        write_tree(first.path(), TREE);
        // Written in another order, with other times, with a .git and a build directory.
        for (path, content) in TREE.iter().rev() {
            write_tree(second.path(), &[(path, content)]);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        write_tree(
            second.path(),
            &[(".git/HEAD", "ref: x\n"), ("build/archway/x/o.o", "obj")],
        );
        let exclude = [second.path().join("build/archway")];
        let a = SourceDigest::of_tree(first.path(), &[]).expect("digest");
        let b = SourceDigest::of_tree(second.path(), &exclude).expect("digest");
        assert_eq!(a, b);
        assert_eq!(a.files, 4);

        // Not excluded: the build directory counts.
        let c = SourceDigest::of_tree(second.path(), &[]).expect("digest");
        assert_ne!(a, c);
    }

    #[test]
    fn content_names_modes_and_links_change_the_digest_and_times_do_not() {
        let dir = tempfile::tempdir().expect("temp");
        let root = dir.path();
        write_tree(root, TREE);
        let digest = || SourceDigest::of_tree(root, &[]).expect("digest").digest;
        let base = digest();

        let file = root.join("src/a.c");
        let handle = std::fs::File::options()
            .write(true)
            .open(&file)
            .expect("open");
        handle
            .set_modified(std::time::SystemTime::UNIX_EPOCH)
            .expect("time");
        drop(handle);
        assert_eq!(digest(), base, "a modification time is not an input");

        std::fs::write(&file, "int a = 1;\n").expect("write");
        assert_ne!(digest(), base, "content");
        std::fs::write(&file, "int a;\n").expect("write");
        assert_eq!(digest(), base);

        let mut permissions = std::fs::metadata(&file).expect("meta").permissions();
        permissions.set_mode(0o755);
        std::fs::set_permissions(&file, permissions.clone()).expect("chmod");
        assert_ne!(digest(), base, "executable bit");
        permissions.set_mode(0o600);
        std::fs::set_permissions(&file, permissions).expect("chmod");
        assert_eq!(digest(), base, "only the executable bit counts");

        std::fs::rename(&file, root.join("src/c.c")).expect("rename");
        assert_ne!(digest(), base, "name");
        std::fs::rename(root.join("src/c.c"), &file).expect("rename");

        std::os::unix::fs::symlink("a.c", root.join("src/link.c")).expect("symlink");
        let linked = digest();
        assert_ne!(linked, base, "a new link");
        std::fs::remove_file(root.join("src/link.c")).expect("rm");
        std::os::unix::fs::symlink("sub/b.c", root.join("src/link.c")).expect("symlink");
        assert_ne!(digest(), linked, "a link's target");
        std::fs::remove_file(root.join("src/link.c")).expect("rm");

        // A file moved between directories with the same bytes elsewhere: other paths.
        std::fs::rename(root.join("src/sub/b.c"), root.join("src/b.c")).expect("mv");
        assert_ne!(digest(), base, "directory structure");
    }

    #[test]
    fn the_digest_memo_rehashes_a_changed_file_only() {
        let dir = tempfile::tempdir().expect("temp");
        let file = dir.path().join("cc1");
        let memo_path = dir.path().join("memo.json");
        std::fs::write(&file, "one").expect("write");
        let memo = DigestMemo::open(Some(&memo_path));
        assert_eq!(memo.sha256(&file).expect("digest"), sha256_hex(b"one"));
        memo.save();
        let again = DigestMemo::open(Some(&memo_path));
        assert_eq!(again.sha256(&file).expect("digest"), sha256_hex(b"one"));
        // Rewritten (same size): another change time, so hashed again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&file, "two").expect("write");
        assert_eq!(again.sha256(&file).expect("digest"), sha256_hex(b"two"));
        // A corrupt memo is no memo.
        std::fs::write(&memo_path, "{").expect("write");
        assert_eq!(
            DigestMemo::open(Some(&memo_path))
                .sha256(&file)
                .expect("digest"),
            sha256_hex(b"two")
        );
    }

    proptest! {
        /// The order environment variables are inserted in never matters; any value change does.
        #[test]
        fn environment_order_is_not_an_input(
            variables in proptest::collection::btree_map("[A-Z_]{1,8}", "[ -~]{0,12}", 1..8),
            seed in any::<u64>(),
        ) {
            let mut shuffled: Vec<_> = variables.clone().into_iter().collect();
            let length = shuffled.len();
            shuffled.rotate_left((seed as usize) % length);
            let mut first = sample();
            first.environment = variables.clone();
            let mut second = sample();
            second.environment = shuffled.into_iter().collect();
            prop_assert_eq!(first.key(), second.key());

            let (name, value) = variables.iter().next().expect("one variable");
            let mut third = sample();
            third.environment = variables.clone();
            third.environment.insert(name.clone(), format!("{value}!"));
            prop_assert_ne!(first.key(), third.key());
        }

        /// Any file's content change changes the tree's digest, however small.
        #[test]
        fn any_content_change_changes_the_digest(
            contents in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..5),
            which in any::<usize>(),
            byte in any::<u8>(),
        ) {
            let dir = tempfile::tempdir().expect("temp");
            for (index, content) in contents.iter().enumerate() {
                std::fs::write(dir.path().join(format!("f{index}")), content).expect("write");
            }
            let before = SourceDigest::of_tree(dir.path(), &[]).expect("digest");
            let index = which % contents.len();
            let mut changed = contents[index].clone();
            changed.push(byte);
            std::fs::write(dir.path().join(format!("f{index}")), &changed).expect("write");
            let after = SourceDigest::of_tree(dir.path(), &[]).expect("digest");
            prop_assert_ne!(before.digest, after.digest);
        }

        /// The project's absolute path never reaches the inputs through mapped steps.
        #[test]
        fn mapped_steps_do_not_depend_on_the_project_path(
            first in "/[a-z]{1,10}/[a-z]{1,10}",
            second in "/[a-z]{1,10}/[a-z]{1,10}",
        ) {
            let step = |project: &str| {
                let project = Path::new(project);
                let build = project.join("build/archway/x");
                let map = PathMap::new(project, &build, None);
                map.apply(&format!("-S {} -B {}", project.display(), build.display()))
            };
            prop_assert_eq!(step(&first), step(&second));
        }
    }
}
