//! What "run the tests" means for a configured CMake build: known only after configure.
//!
//! debhelper's CMake build system runs `make test` in the build directory
//! (`Debian::Debhelper::Buildsystem::cmake::test` hands over to the makefile build system with
//! `ARGS+=-jN`), which is whatever the project made of that name: CMake's own target running
//! `ctest` when the project calls `enable_testing()`, or the project's own
//! `add_custom_target(test …)` (yajl: its parsing and API tests are custom targets, and `ctest`
//! alone says "No tests were found!!!" and exits 0). archway does the same, and never counts an
//! empty run as tests that passed:
//! 1. tests registered with ctest (an `add_test` in a `CTestTestfile.cmake` of the build tree):
//!    `ctest`, as before;
//! 2. else a target of the project named `test`, read from CMake's file API (the
//!    `codemodel-v2` reply: CMake manual, cmake-file-api(7); its own `test` target is not
//!    listed there, only the project's): `cmake --build DIR --target test`;
//! 3. else there is no test suite, and the build says so.

use std::path::{Path, PathBuf};

/// The file-API query archway places before configure (an empty file asks for the reply).
const CODEMODEL_QUERY: &str = ".cmake/api/v1/query/codemodel-v2";
/// Where CMake writes its replies.
const REPLY_DIR: &str = ".cmake/api/v1/reply";

/// How a configured and built CMake tree is tested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmakeTests {
    /// ctest has this many tests.
    Ctest(usize),
    /// The project's own target of this name runs its tests.
    Target(String),
    /// Nothing to run: why.
    None(String),
}

/// Asks CMake, through its file API, to describe the targets when it configures `build_dir`.
///
/// # Errors
/// The query file cannot be written.
pub fn request_codemodel(build_dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let query = build_dir.join(CODEMODEL_QUERY);
    if query.exists() {
        return Ok(());
    }
    if let Some(parent) = query.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&query, b"")?;
    // CMake writes its reply next to the query, as whoever the build runs as: the new
    // directories get the build directory's owner (the sandbox's id once it has built there).
    let owner = std::fs::metadata(build_dir)?;
    let mut path = query.as_path();
    while path != build_dir {
        let metadata = std::fs::symlink_metadata(path)?;
        if (metadata.uid(), metadata.gid()) != (owner.uid(), owner.gid()) {
            std::os::unix::fs::lchown(path, Some(owner.uid()), Some(owner.gid()))?;
        }
        let Some(parent) = path.parent() else { break };
        path = parent;
    }
    Ok(())
}

/// The source directory a configured CMake build directory belongs to
/// (`CMAKE_HOME_DIRECTORY` in its `CMakeCache.txt`), if it is configured.
pub fn configured_source(build_dir: &Path) -> Option<PathBuf> {
    let cache = std::fs::read_to_string(build_dir.join("CMakeCache.txt")).ok()?;
    cache.lines().find_map(|line| {
        line.strip_prefix("CMAKE_HOME_DIRECTORY:INTERNAL=")
            .map(PathBuf::from)
    })
}

/// A build directory configured for other sources (the project was copied or moved with its
/// build directory) makes CMake refuse: "The source … does not match the source … used to
/// generate cache". Its cache is removed so that configure starts afresh, as CMake's own
/// message asks; returns the old source directory when it did.
///
/// # Errors
/// The cache could not be removed.
pub fn forget_other_source(build_dir: &Path, source: &Path) -> std::io::Result<Option<PathBuf>> {
    let Some(configured) = configured_source(build_dir) else {
        return Ok(None);
    };
    let same = configured == source
        || std::fs::canonicalize(&configured).ok() == std::fs::canonicalize(source).ok()
            && configured.exists();
    if same {
        return Ok(None);
    }
    std::fs::remove_file(build_dir.join("CMakeCache.txt"))?;
    match std::fs::remove_dir_all(build_dir.join("CMakeFiles")) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    Ok(Some(configured))
}

/// Decides how to test the configured tree in `build_dir`.
pub fn decide(build_dir: &Path) -> CmakeTests {
    let registered = count_registered_tests(build_dir);
    if registered > 0 {
        return CmakeTests::Ctest(registered);
    }
    if project_targets(build_dir).iter().any(|name| name == "test") {
        return CmakeTests::Target("test".to_string());
    }
    CmakeTests::None(
        "the CMake project registers no tests with ctest (no `add_test`) and has no `test` target"
            .to_string(),
    )
}

/// The `add_test(` lines of every `CTestTestfile.cmake` under `build_dir` (CMake writes one
/// per directory with tests, `subdirs()` linking them: the count is the same as ctest's).
pub fn count_registered_tests(build_dir: &Path) -> usize {
    let mut count = 0;
    let mut pending = vec![build_dir.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            if kind.is_dir() {
                // CMake's own scratch space and the copy of the sources hold no test files.
                if name != "CMakeFiles" && name != ".cmake" && name != ".git" {
                    pending.push(entry.path());
                }
            } else if kind.is_file() && name == "CTestTestfile.cmake" {
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    count += text
                        .lines()
                        .filter(|line| line.trim_start().starts_with("add_test("))
                        .count();
                }
            }
        }
    }
    count
}

/// The names of the project's targets in CMake's newest codemodel reply (empty when there is
/// none: an older CMake, or a tree configured before archway asked).
pub fn project_targets(build_dir: &Path) -> Vec<String> {
    let reply = build_dir.join(REPLY_DIR);
    let Some(index) = newest_index(&reply) else {
        return Vec::new();
    };
    let Some(codemodel) = read_json(&index).and_then(|index| codemodel_file(&index)) else {
        return Vec::new();
    };
    let Some(codemodel) = read_json(&reply.join(codemodel)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = codemodel["configurations"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|configuration| configuration["targets"].as_array().into_iter().flatten())
        .filter_map(|target| target["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `index-*.json` files sort by time in their names; the last one is the newest
/// (cmake-file-api(7), "Reply Index File").
fn newest_index(reply: &Path) -> Option<PathBuf> {
    let mut indexes: Vec<PathBuf> = std::fs::read_dir(reply)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("index-") && name.ends_with(".json"))
        })
        .collect();
    indexes.sort();
    indexes.pop()
}

/// The reply file of the `codemodel` object the index lists (a bare name in the reply dir).
fn codemodel_file(index: &serde_json::Value) -> Option<String> {
    index["objects"].as_array()?.iter().find_map(|object| {
        let file = object["jsonFile"].as_str()?;
        // Only a file name: a reply naming another directory is not CMake's.
        let plain = !file.contains('/') && file.starts_with("codemodel-v2-");
        (object["kind"] == "codemodel" && plain).then(|| file.to_string())
    })
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn codemodel(build: &Path, targets: &[&str]) {
        let reply = build.join(REPLY_DIR);
        let targets: Vec<serde_json::Value> = targets
            .iter()
            .map(|name| serde_json::json!({"name": name, "id": format!("{name}::@1"), "jsonFile": format!("target-{name}.json")}))
            .collect();
        write(
            &reply.join("codemodel-v2-abc.json"),
            &serde_json::json!({"configurations": [{"name": "", "targets": targets}]}).to_string(),
        );
        write(
            &reply.join("index-2026-12-04T19-00-00-0000.json"),
            &serde_json::json!({"objects": [{"kind": "codemodel", "version": {"major": 2}, "jsonFile": "codemodel-v2-abc.json"}]}).to_string(),
        );
    }

    #[test]
    fn registered_tests_are_counted_across_subdirectories() {
        let build = tempfile::tempdir().expect("temp dir");
        write(
            &build.path().join("CTestTestfile.cmake"),
            "# CMake generated Testfile\nsubdirs(\"tests\")\n",
        );
        write(
            &build.path().join("tests/CTestTestfile.cmake"),
            "add_test([=[one]=] \"/b/one\")\nset_tests_properties([=[one]=] PROPERTIES _BACKTRACE_TRIPLES \"x\")\nadd_test([=[two]=] \"/b/two\")\n",
        );
        write(
            &build.path().join("CMakeFiles/CTestTestfile.cmake"),
            "add_test(ignored \"/x\")\n",
        );
        assert_eq!(count_registered_tests(build.path()), 2);
        codemodel(build.path(), &["test"]);
        assert_eq!(decide(build.path()), CmakeTests::Ctest(2));
    }

    #[test]
    fn a_project_test_target_runs_when_ctest_has_none() {
        let build = tempfile::tempdir().expect("temp dir");
        // enable_testing() without add_test: the file exists, empty of tests.
        write(
            &build.path().join("CTestTestfile.cmake"),
            "# CMake generated Testfile\n",
        );
        codemodel(build.path(), &["yajl", "yajl_s", "test", "test-api"]);
        assert_eq!(decide(build.path()), CmakeTests::Target("test".to_string()));
    }

    #[test]
    fn no_tests_and_no_target_is_no_test_suite() {
        let build = tempfile::tempdir().expect("temp dir");
        codemodel(build.path(), &["hello"]);
        assert!(matches!(decide(build.path()), CmakeTests::None(_)));
        // No reply at all (an old CMake): the same.
        let bare = tempfile::tempdir().expect("temp dir");
        assert!(matches!(decide(bare.path()), CmakeTests::None(_)));
    }

    #[test]
    fn hostile_or_broken_replies_give_no_targets() {
        let build = tempfile::tempdir().expect("temp dir");
        let reply = build.path().join(REPLY_DIR);
        write(&reply.join("index-1.json"), "{not json");
        assert!(project_targets(build.path()).is_empty());
        write(
            &reply.join("index-2.json"),
            r#"{"objects": [{"kind": "codemodel", "jsonFile": "../../../../etc/passwd"}]}"#,
        );
        assert!(project_targets(build.path()).is_empty());
        write(
            &reply.join("index-3.json"),
            r#"{"objects": [{"kind": "codemodel", "jsonFile": "codemodel-v2-x.json"}]}"#,
        );
        write(
            &reply.join("codemodel-v2-x.json"),
            r#"{"configurations": 7}"#,
        );
        assert!(project_targets(build.path()).is_empty());
    }

    #[test]
    fn a_cache_of_other_sources_is_forgotten_and_one_of_these_kept() {
        let build = tempfile::tempdir().expect("temp dir");
        let source = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            forget_other_source(build.path(), source.path()).expect("nothing"),
            None
        );
        let cache = |home: &Path| {
            write(
                &build.path().join("CMakeCache.txt"),
                &format!(
                    "# This is the CMakeCache file.\nCMAKE_HOME_DIRECTORY:INTERNAL={}\n",
                    home.display()
                ),
            );
            write(&build.path().join("CMakeFiles/cmake.check_cache"), "x");
        };
        cache(source.path());
        assert_eq!(
            forget_other_source(build.path(), source.path()).expect("kept"),
            None
        );
        assert!(build.path().join("CMakeCache.txt").exists());
        cache(Path::new("/elsewhere/hello"));
        assert_eq!(
            forget_other_source(build.path(), source.path()).expect("forgotten"),
            Some(PathBuf::from("/elsewhere/hello"))
        );
        assert!(!build.path().join("CMakeCache.txt").exists());
        assert!(!build.path().join("CMakeFiles").exists());
    }

    #[test]
    fn the_query_is_placed_once() {
        let build = tempfile::tempdir().expect("temp dir");
        request_codemodel(build.path()).expect("query");
        request_codemodel(build.path()).expect("again");
        assert!(build.path().join(CODEMODEL_QUERY).is_file());
    }
}
