//! What a build produced: the artifacts with the platform each is for, the method, the
//! toolchain and the time each step took.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use archway_platform::BinaryKind;
use serde::Serialize;

use crate::project::{BuildSystem, Choice};
use crate::steps::StepKind;

pub use crate::plan::Method;

/// What kind of file an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    Executable,
    SharedLibrary,
    StaticLibrary,
}

impl ArtifactKind {
    pub fn name(self) -> &'static str {
        match self {
            ArtifactKind::Executable => "executable",
            ArtifactKind::SharedLibrary => "shared library",
            ArtifactKind::StaticLibrary => "static library",
        }
    }
}

/// One file the build produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    pub path: PathBuf,
    pub kind: ArtifactKind,
    /// The platform the file is for, as `archway inspect` names it (`aarch64-unknown-linux-gnu`);
    /// `None` when the format is not one archway identifies.
    pub platform: Option<String>,
    /// The machine field in the words of the file format (`ELF aarch64`, `PE x86-64`).
    pub machine: String,
}

/// The time one step took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timing {
    pub step: StepKind,
    pub command: String,
    pub duration: Duration,
    /// Skipped because nothing changed since the last time (configure).
    pub skipped: bool,
}

/// The result of `build` or `test`.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The target, canonical (`aarch64-unknown-linux-gnu`).
    pub target: String,
    pub method: Method,
    /// `None` for a user command (`-- CMD...`).
    pub build_system: Option<BuildSystem>,
    /// How the build system was chosen: the files found, the rule and its reason.
    pub build_system_choice: Option<Choice>,
    /// The toolchain, in a few words (`aarch64-linux-gnu-gcc 12.2.0`); `None` for native builds
    /// with the host's default compilers.
    pub toolchain: Option<String>,
    pub build_dir: PathBuf,
    pub artifacts: Vec<Artifact>,
    pub timings: Vec<Timing>,
    /// Whether tests ran (and passed: a failing test run is an error).
    pub tested: bool,
    /// What became of the tests `archway test` asked for (`None` for `archway build`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tests: Option<Tests>,
    pub total: Duration,
    /// Where the steps ran, in a few words: the sandbox and who they ran as (`bubblewrap over
    /// the host's system, as \`nobody\` (uid 65534), not root`); `None` when none ran (a
    /// build restored from the cache).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_in: Option<String>,
    /// What the build cache did (`None`: not used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<crate::build_cache::CacheReport>,
}

/// What `archway test` did about the project's tests; in `--json` as
/// `"tests": {"status": "passed"}` or `{"status": "none", "reason": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Tests {
    /// They ran and passed (a failing test run is an error).
    Passed,
    /// The project has no test suite (debhelper skips the tests of such a package too): it
    /// was built only, and `reason` says why there is nothing to run.
    None { reason: String },
}

/// Where to look for artifacts after a build.
#[derive(Debug, Clone)]
pub struct ArtifactSearch<'a> {
    pub root: &'a Path,
    /// Directory names never entered (`CMakeFiles`, `meson-private`, `.git`...).
    pub skip_dirs: &'a [&'a str],
    /// Paths never entered (other targets' build directories).
    pub skip_paths: &'a [PathBuf],
    /// Only files modified at or after this time (builds in the source tree).
    pub since: Option<SystemTime>,
    /// The tree was copied from this directory: files that exist there too are sources.
    pub copied_from: Option<&'a Path>,
}

/// Directories build systems fill with probes and intermediate files, not results.
pub const INTERMEDIATE_DIRS: &[&str] = &[
    ".git",
    ".archway",
    "CMakeFiles",
    "meson-private",
    "meson-logs",
    "meson-info",
    // Cargo: dependencies, build scripts (host programs) and fingerprints.
    "deps",
    ".fingerprint",
    "incremental",
    "build-script-build",
];

/// Walks the tree and identifies every executable, shared and static library in it.
/// Symbolic links are not followed (`libz.so -> libz.so.1.2.13` is one artifact).
pub fn find_artifacts(search: &ArtifactSearch<'_>) -> Vec<Artifact> {
    let mut artifacts = Vec::new();
    let mut pending = vec![search.root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_dir() {
                let name = entry.file_name();
                let skipped_name = search
                    .skip_dirs
                    .iter()
                    .any(|skip| name.to_str() == Some(skip));
                if !skipped_name && !search.skip_paths.contains(&path) {
                    pending.push(path);
                }
                continue;
            }
            if !file_type.is_file() {
                continue;
            }
            if let Some(since) = search.since {
                let modified = entry.metadata().and_then(|meta| meta.modified());
                if modified.map(|time| time < since).unwrap_or(true) {
                    continue;
                }
            }
            let copied = search.copied_from.is_some_and(|source| {
                path.strip_prefix(search.root)
                    .map(|relative| source.join(relative).exists())
                    .unwrap_or(false)
            });
            if copied {
                continue;
            }
            if let Some(artifact) = identify_file(&path) {
                artifacts.push(artifact);
            }
        }
    }
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    artifacts
}

/// Identifies one file, `None` when it is not a binary artifact (sources, objects, scripts).
pub fn identify_file(path: &Path) -> Option<Artifact> {
    use std::io::Read;
    let mut head = Vec::with_capacity(8);
    std::fs::File::open(path)
        .and_then(|file| file.take(8).read_to_end(&mut head))
        .ok()?;
    // Read whole files only when the first bytes say binary: build trees are mostly sources.
    let archive = head.starts_with(b"!<arch>\n");
    if !archive && !looks_binary(&head) {
        return None;
    }
    let bytes = if archive {
        // An archive is for the platform of its members: identify its first object with code.
        first_archive_member(path)?
    } else {
        std::fs::read(path).ok()?
    };
    let binary = match archway_platform::identify(&bytes) {
        Ok(binary) => binary,
        // MinGW archives hold COFF objects, which carry a machine but no platform.
        Err(_) if archive => return Some(coff_member(path, &bytes)),
        Err(_) => return None,
    };
    let kind = match (archive, binary.kind) {
        (true, _) => ArtifactKind::StaticLibrary,
        (false, BinaryKind::Executable) => ArtifactKind::Executable,
        (false, BinaryKind::SharedLibrary) => ArtifactKind::SharedLibrary,
        // Objects, core dumps: intermediate files, not results.
        (false, _) => return None,
    };
    Some(Artifact {
        path: path.to_path_buf(),
        kind,
        platform: Some(binary.platform.config()),
        machine: format!("{} {}", binary.format.name(), binary.platform.cpu().name()),
    })
}

/// ELF, PE (`MZ`), Mach-O (either byte order, 32/64-bit) or WebAssembly.
fn looks_binary(head: &[u8]) -> bool {
    const MAGIC: [&[u8]; 7] = [
        b"\x7fELF",
        b"MZ",
        &[0xfe, 0xed, 0xfa, 0xce],
        &[0xfe, 0xed, 0xfa, 0xcf],
        &[0xce, 0xfa, 0xed, 0xfe],
        &[0xcf, 0xfa, 0xed, 0xfe],
        b"\0asm",
    ];
    MAGIC.iter().any(|magic| head.starts_with(magic))
}

/// A static library whose first object is not a file the platform crate identifies (COFF):
/// the machine as `object` names it, no platform.
fn coff_member(path: &Path, bytes: &[u8]) -> Artifact {
    use object::Object;
    let machine = object::File::parse(bytes)
        .map(|file| format!("COFF {:?}", file.architecture()).to_lowercase())
        .unwrap_or_else(|_| "unknown".to_string());
    Artifact {
        path: path.to_path_buf(),
        kind: ArtifactKind::StaticLibrary,
        platform: None,
        machine,
    }
}

/// The object of an archive that speaks for it: the first with code, else the first with
/// build attributes (`.ARM.attributes`, `.riscv.attributes`), else the first. A Rust `.rlib`
/// starts with `lib.rmeta`, an object that only wraps rustc's metadata: no code and no build
/// attributes, so an armhf one (`e_flags` 0) reads as an ARMv5 soft-float object. A crate of
/// generics alone compiles to objects without code, but they still carry the attributes.
fn first_archive_member(path: &Path) -> Option<Vec<u8>> {
    let data = std::fs::read(path).ok()?;
    let archive = object::read::archive::ArchiveFile::parse(&*data).ok()?;
    let objects: Vec<(u8, &[u8])> = archive
        .members()
        .flatten()
        .filter_map(|member| member.data(&*data).ok())
        .filter_map(|bytes| {
            object::File::parse(bytes)
                .ok()
                .map(|file| (rank(&file), bytes))
        })
        .collect();
    // The earliest of the best rank.
    let best = objects.iter().map(|(rank, _)| *rank).max()?;
    objects
        .iter()
        .find(|(rank, _)| *rank == best)
        .map(|(_, bytes)| bytes.to_vec())
}

/// How well an object speaks for its platform: 2 with code (a non-empty executable
/// section), 1 with a build attributes section, 0 otherwise.
fn rank(file: &object::File<'_>) -> u8 {
    use object::{Object, ObjectSection, SectionKind};
    let code = file
        .sections()
        .any(|section| section.kind() == SectionKind::Text && section.size() > 0);
    let attributes = file.sections().any(|section| {
        section
            .name()
            .is_ok_and(|name| name.ends_with(".attributes"))
    });
    match (code, attributes) {
        (true, _) => 2,
        (false, true) => 1,
        (false, false) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Compiles `main.c` with the host's `cc` into `output` with `flags`; false when no `cc`.
    fn compile(dir: &Path, output: &str, flags: &[&str]) -> bool {
        let source = dir.join("main.c");
        std::fs::write(&source, "int main(void) { return 0; }\n").expect("write");
        match Command::new("cc")
            .args(flags)
            .arg("-o")
            .arg(dir.join(output))
            .arg(&source)
            .status()
        {
            Ok(status) => status.success(),
            Err(_) => false,
        }
    }

    /// Runs `program` with `args` in `dir`; false when it is missing or fails.
    fn run_in(dir: &Path, program: &str, args: &[&str]) -> bool {
        Command::new(program)
            .args(args)
            .current_dir(dir)
            .status()
            .is_ok_and(|status| status.success())
    }

    #[test]
    fn an_archive_is_identified_by_its_first_object_with_code() {
        // As a Rust rlib: first an object without code (rustc's `lib.rmeta`; here the host's
        // compile of data alone), then the target's code.
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::write(root.join("data.c"), "int answer = 42;\n").expect("write");
        std::fs::write(root.join("code.c"), "int twice(int x) { return 2 * x; }\n").expect("write");
        let made = run_in(root, "cc", &["-c", "data.c", "-o", "1-data.o"])
            && run_in(
                root,
                "aarch64-linux-gnu-gcc",
                &["-c", "code.c", "-o", "2-code.o"],
            )
            && run_in(root, "ar", &["rc", "libmixed.a", "1-data.o", "2-code.o"]);
        if !archway_platform::testing::require(made, "cc, aarch64-linux-gnu-gcc and ar") {
            return;
        }
        let artifact = identify_file(&root.join("libmixed.a")).expect("a static library");
        assert_eq!(artifact.kind, ArtifactKind::StaticLibrary);
        assert_eq!(
            artifact.platform.as_deref(),
            Some("aarch64-unknown-linux-gnu"),
            "{artifact:?}"
        );
        // Without code anywhere, the first object still names the platform.
        assert!(run_in(root, "ar", &["rc", "libdata.a", "1-data.o"]));
        let data_only = identify_file(&root.join("libdata.a")).expect("a static library");
        assert_eq!(
            data_only.platform.as_deref(),
            Some("x86_64-unknown-linux-gnu"),
            "{data_only:?}"
        );
    }

    #[test]
    fn an_archive_without_code_is_identified_by_its_first_object_with_build_attributes() {
        // As the rlib of a crate of generics alone on armhf: first rustc's metadata (an ARM
        // object with `e_flags` 0 and no attributes, which reads as ARMv5 soft-float), then
        // an object with no code but the hard-float attributes.
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::write(root.join("meta.bin"), "metadata\n").expect("write");
        std::fs::write(root.join("data.c"), "int answer = 42;\n").expect("write");
        let made = run_in(
            root,
            "arm-linux-gnueabihf-ld",
            &["-r", "-b", "binary", "-o", "1-meta.o", "meta.bin"],
        ) && run_in(
            root,
            "arm-linux-gnueabihf-gcc",
            &["-c", "data.c", "-o", "2-data.o"],
        ) && run_in(
            root,
            "ar",
            &["rc", "libgeneric.rlib", "1-meta.o", "2-data.o"],
        ) && run_in(root, "ar", &["rc", "libmeta.a", "1-meta.o"]);
        if !archway_platform::testing::require(made, "arm-linux-gnueabihf-gcc, -ld and ar") {
            return;
        }
        let artifact = identify_file(&root.join("libgeneric.rlib")).expect("a static library");
        assert_eq!(
            artifact.platform.as_deref(),
            Some("armv7l-unknown-linux-gnueabihf"),
            "{artifact:?}"
        );
        // The metadata alone is what the rule falls back to, and it names another platform:
        // the test above would pass for the wrong reason if it did not.
        let meta = identify_file(&root.join("libmeta.a")).expect("a static library");
        assert_ne!(meta.platform, artifact.platform, "{meta:?}");
    }

    #[test]
    fn find_artifacts_lists_binaries_and_skips_objects_probes_and_sources() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("CMakeFiles/3.25.1/CompilerIdC")).expect("mkdir");
        if !archway_platform::testing::require(compile(root, "prog", &[]), "no `cc`") {
            return;
        }
        assert!(compile(root, "main.o", &["-c"]));
        assert!(compile(root, "libthing.so.1", &["-shared", "-fPIC"]));
        assert!(compile(root, "CMakeFiles/3.25.1/CompilerIdC/a.out", &[]));
        std::fs::write(root.join("script.sh"), "#!/bin/sh\n").expect("write");
        std::os::unix::fs::symlink("libthing.so.1", root.join("libthing.so")).expect("symlink");
        let artifacts = find_artifacts(&ArtifactSearch {
            root,
            skip_dirs: INTERMEDIATE_DIRS,
            skip_paths: &[],
            since: None,
            copied_from: None,
        });
        let found: Vec<(String, ArtifactKind)> = artifacts
            .iter()
            .map(|a| {
                (
                    a.path
                        .strip_prefix(root)
                        .expect("inside")
                        .display()
                        .to_string(),
                    a.kind,
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                ("libthing.so.1".to_string(), ArtifactKind::SharedLibrary),
                ("prog".to_string(), ArtifactKind::Executable),
            ]
        );
        let host = archway_platform::host::Host::detect().expect("host");
        assert_eq!(
            artifacts[1].platform.as_deref(),
            Some(host.platform.config().as_str())
        );
    }

    #[test]
    fn find_artifacts_leaves_out_files_copied_from_the_source() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (source, copy) = (dir.path().join("source"), dir.path().join("copy"));
        std::fs::create_dir_all(&source).expect("mkdir");
        std::fs::create_dir_all(&copy).expect("mkdir");
        if !archway_platform::testing::require(compile(&source, "prebuilt", &[]), "no `cc`") {
            return;
        }
        std::fs::copy(source.join("prebuilt"), copy.join("prebuilt")).expect("copy");
        assert!(compile(&copy, "built", &[]));
        let artifacts = find_artifacts(&ArtifactSearch {
            root: &copy,
            skip_dirs: INTERMEDIATE_DIRS,
            skip_paths: &[],
            since: None,
            copied_from: Some(&source),
        });
        let names: Vec<_> = artifacts
            .iter()
            .map(|a| a.path.file_name().expect("name"))
            .collect();
        assert_eq!(names, ["built"]);
    }
}
