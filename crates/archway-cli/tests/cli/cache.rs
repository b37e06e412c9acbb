//! The build cache with real cross builds of zlib (Debian's source, for aarch64): a clean copy
//! of the same sources in another directory restores the first build's artifacts, a one-line
//! change misses, two concurrent builds fill one store, a build killed in the middle of its
//! insert leaves no entry; and `archway cache stats|list|prune|clean`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use crate::support::{self, archway};

const TARGET: &str = "aarch64-linux";
const TARGET_CONFIG: &str = "aarch64-unknown-linux-gnu";

/// zlib's unpacked source, fetched once per test binary (`apt-get source`), or why not.
fn zlib_tree() -> Result<&'static Path, String> {
    static TREE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    TREE.get_or_init(|| {
        let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cache-test-zlib");
        if let Some(tree) = unpacked(&directory) {
            return Ok(tree);
        }
        let scratch =
            tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
        let output = std::process::Command::new("apt-get")
            .args(["source", "--quiet", "zlib"])
            .current_dir(scratch.path())
            .output()
            .map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        // Renamed into place whole: a parallel or interrupted run never sees half a tree.
        let _ = std::fs::rename(scratch.path(), &directory);
        unpacked(&directory).ok_or_else(|| "`apt-get source zlib` left no tree".to_string())
    })
    .as_deref()
    .map_err(Clone::clone)
}

fn unpacked(directory: &Path) -> Option<PathBuf> {
    std::fs::read_dir(directory)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.is_dir())
}

/// A clean copy of zlib's tree at `to` (`cp -a`: modes and links as they are).
fn copy_of_zlib(to: &Path) -> Option<PathBuf> {
    let tree = match zlib_tree() {
        Ok(tree) => tree,
        Err(error) => {
            support::skip_unless_ci(&format!("could not fetch zlib: {error}"));
            return None;
        }
    };
    std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(tree)
        .arg(to)
        .status()
        .expect("cp");
    assert!(status.success());
    Some(to.to_path_buf())
}

fn tools_present() -> bool {
    for tool in ["aarch64-linux-gnu-gcc", "apt-get", "make"] {
        if !support::have_tool(tool) && support::skip_unless_ci(&format!("`{tool}` on PATH")) {
            return false;
        }
    }
    true
}

/// `archway build` of the zlib copy in `project` with the store under `cache` (`XDG_CACHE_HOME`).
fn build(cache: &Path, project: &Path) -> support::Archway {
    archway()
        .env("XDG_CACHE_HOME", cache)
        .args(["build", "--target", TARGET, "--method", "cross"])
        // zlib's CMake file needs win32/, which Debian's dfsg tarball leaves out.
        .args(["--build-system", "configure", "--json", "-C"])
        .arg(project)
}

fn outcome(output: &support::Output) -> serde_json::Value {
    output.assert_code(0);
    serde_json::from_str(&output.stdout)
        .unwrap_or_else(|error| panic!("JSON outcome: {error}\n{}", output.snapshot()))
}

fn build_dir(project: &Path) -> PathBuf {
    project.join("build/archway").join(TARGET_CONFIG)
}

#[test]
fn a_clean_copy_hits_with_the_same_artifacts_and_a_one_line_change_misses() {
    if !tools_present() {
        return;
    }
    let work = tempfile::tempdir().expect("temp");
    let cache = work.path().join("cache");
    let Some(first) = copy_of_zlib(&work.path().join("one/zlib")) else {
        return;
    };

    // Killed in the middle of the insert (after 2 of its files): no entry is left.
    let killed = build(&cache, &first)
        .env("ARCHWAY_CACHE_TEST_KILL_AFTER_FILES", "2")
        .run();
    assert_eq!(
        killed.code,
        None,
        "killed by SIGKILL: {}",
        killed.snapshot()
    );
    let store = cache.join("archway/store");
    let entries = || -> Vec<String> {
        std::fs::read_dir(store.join("entries"))
            .map(|listing| {
                listing
                    .flatten()
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(entries().is_empty(), "a killed insert left {:?}", entries());

    // The same build again: a miss (the killed insert is nothing), then a real insert.
    let cold = build(&cache, &first).run();
    let cold_outcome = outcome(&cold);
    assert_eq!(cold_outcome["cache"]["hit"], false, "{}", cold.snapshot());
    let key = cold_outcome["cache"]["key"]
        .as_str()
        .expect("key")
        .to_string();
    assert_eq!(entries(), [format!("build-{key}")]);
    let artifacts = cold_outcome["artifacts"]
        .as_array()
        .expect("artifacts")
        .len();
    assert!(artifacts >= 4, "{}", cold.stdout);

    // A clean copy of the same sources elsewhere: a hit, the same artifacts, the same bytes.
    let Some(second) = copy_of_zlib(&work.path().join("two/elsewhere/zlib")) else {
        return;
    };
    let started = Instant::now();
    let warm = build(&cache, &second).arg("--explain").run();
    let elapsed = started.elapsed();
    let warm_outcome = outcome(&warm);
    eprintln!(
        "cache hit: `archway build` took {:.3} s in all (the restore itself: {:.3} s)",
        elapsed.as_secs_f64(),
        warm_outcome["total"]["secs"].as_f64().unwrap_or(0.0)
            + warm_outcome["total"]["nanos"].as_f64().unwrap_or(0.0) / 1e9
    );
    assert_eq!(warm_outcome["cache"]["hit"], true, "{}", warm.snapshot());
    assert_eq!(warm_outcome["cache"]["key"], key.as_str());
    assert!(
        warm.stderr.contains(&format!("cache key: {key}")),
        "{}",
        warm.stderr
    );
    assert!(warm.stderr.contains("  sources: "), "{}", warm.stderr);
    assert!(warm.stderr.contains("cache hit: build-"), "{}", warm.stderr);
    assert_eq!(
        warm_outcome["cache"]["inputs"]["platform"]["config"],
        TARGET_CONFIG
    );
    let warm_artifacts = warm_outcome["artifacts"].as_array().expect("artifacts");
    assert_eq!(warm_artifacts.len(), artifacts, "{}", warm.stdout);
    for artifact in warm_artifacts {
        let restored = PathBuf::from(artifact["path"].as_str().expect("path"));
        let relative = restored
            .strip_prefix(build_dir(&second))
            .expect("in the build dir");
        let stored = store
            .join("entries")
            .join(format!("build-{key}"))
            .join("files")
            .join(relative);
        let built = build_dir(&first).join(relative);
        let bytes = std::fs::read(&restored).expect("restored");
        assert_eq!(
            bytes,
            std::fs::read(&stored).expect("stored"),
            "{}",
            relative.display()
        );
        assert_eq!(
            bytes,
            std::fs::read(&built).expect("built"),
            "{}",
            relative.display()
        );
    }
    assert_eq!(
        // zlib's hand-written configure builds in the copy of the tree, `source`.
        std::fs::read_link(build_dir(&second).join("source/libz.so")).expect("the library link"),
        Path::new("libz.so.1.2.13")
    );

    // `--no-cache`: the real thing, and nothing about the cache in the outcome.
    let Some(third) = copy_of_zlib(&work.path().join("three/zlib")) else {
        return;
    };
    let uncached = outcome(&build(&cache, &third).arg("--no-cache").run());
    assert!(uncached["cache"].is_null(), "{uncached}");
    assert!(!uncached["timings"].as_array().expect("timings").is_empty());

    // A one-line change: a miss, another key.
    let file = second.join("adler32.c");
    let mut text = std::fs::read_to_string(&file).expect("adler32.c");
    text.push_str("/* one more line */\n");
    std::fs::write(&file, text).expect("write");
    let changed = outcome(&build(&cache, &second).run());
    assert_eq!(changed["cache"]["hit"], false, "{changed}");
    assert_ne!(changed["cache"]["key"], key.as_str());
    assert_eq!(entries().len(), 2);

    // A corrupted entry is dropped and the build runs.
    let library = store
        .join("entries")
        .join(format!("build-{key}"))
        .join("files/libz.a");
    std::fs::write(&library, b"!<arch>\nnot zlib").expect("corrupt");
    let Some(fourth) = copy_of_zlib(&work.path().join("four/zlib")) else {
        return;
    };
    let rebuilt = build(&cache, &fourth).run();
    let rebuilt_outcome = outcome(&rebuilt);
    assert_eq!(
        rebuilt_outcome["cache"]["hit"],
        false,
        "{}",
        rebuilt.snapshot()
    );
    assert!(
        rebuilt.stderr.contains("dropped the corrupt cache entry"),
        "{}",
        rebuilt.stderr
    );
    assert_eq!(
        rebuilt_outcome["cache"]["key"],
        key.as_str(),
        "rebuilt and stored again"
    );

    // `archway cache`.
    let cache_command = |args: &[&str]| {
        let output = archway()
            .env("XDG_CACHE_HOME", &cache)
            .arg("cache")
            .args(args)
            .run();
        output.assert_code(0);
        serde_json::from_str::<serde_json::Value>(&output.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}", output.snapshot()))
    };
    let stats = cache_command(&["stats", "--json"]);
    assert_eq!(stats["entries"], 2, "{stats}");
    assert_eq!(stats["builds"], 2, "{stats}");
    let list = cache_command(&["list", "--json"]);
    assert_eq!(list.as_array().expect("list").len(), 2);
    assert_eq!(list[0]["target"], TARGET_CONFIG);
    let one = list[1]["bytes"].as_u64().expect("bytes");
    let pruned = cache_command(&["prune", "--max-size", &one.to_string(), "--json"]);
    assert_eq!(
        pruned["removed"].as_array().expect("removed").len(),
        1,
        "{pruned}"
    );
    assert_eq!(
        pruned["removed"][0], list[0]["name"],
        "the least recently used goes"
    );
    let cleaned = cache_command(&["clean", "--json"]);
    assert_eq!(cleaned["removed"].as_array().expect("removed").len(), 1);
    assert_eq!(cache_command(&["stats", "--json"])["entries"], 0);
    let refused = archway()
        .env("XDG_CACHE_HOME", &cache)
        .args(["cache", "prune", "--max-size", "lots"])
        .run();
    refused.assert_code(1);
    assert!(
        refused.stderr.contains("invalid `--max-size` value `lots`"),
        "{}",
        refused.stderr
    );
}

#[test]
fn two_concurrent_builds_fill_one_store() {
    if !tools_present() {
        return;
    }
    let work = tempfile::tempdir().expect("temp");
    let cache = work.path().join("cache");
    let (Some(first), Some(second)) = (
        copy_of_zlib(&work.path().join("a/zlib")),
        copy_of_zlib(&work.path().join("b/zlib")),
    ) else {
        return;
    };
    let mut one = build(&cache, &first).arg("-j1").spawn();
    let mut two = build(&cache, &second).arg("-j1").spawn();
    let limit = std::time::Duration::from_secs(900);
    assert_eq!(one.wait_for(limit), Ok(Some(0)), "{}", one.stderr());
    assert_eq!(two.wait_for(limit), Ok(Some(0)), "{}", two.stderr());
    let entries: Vec<_> = std::fs::read_dir(cache.join("archway/store/entries"))
        .expect("entries")
        .flatten()
        .collect();
    assert_eq!(entries.len(), 1, "one key, one entry: {entries:?}");
    let leftovers: Vec<_> = std::fs::read_dir(cache.join("archway/store/tmp"))
        .expect("tmp")
        .flatten()
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The entry is whole: a third copy restores it.
    let Some(third) = copy_of_zlib(&work.path().join("c/zlib")) else {
        return;
    };
    let hit = outcome(&build(&cache, &third).run());
    assert_eq!(hit["cache"]["hit"], true, "{hit}");
}

/// A CMake project with one test, built for the host (the native method: fast).
fn write_tested_project(dir: &Path) {
    std::fs::create_dir_all(dir).expect("project dir");
    std::fs::write(
        dir.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.13)\nproject(answer C)\nenable_testing()\n\
         add_executable(answer answer.c)\nadd_test(NAME answer COMMAND answer)\n",
    )
    .expect("CMakeLists.txt");
    std::fs::write(dir.join("answer.c"), "int main(void) { return 0; }\n").expect("answer.c");
}

#[test]
fn passed_tests_are_not_run_again_until_rerun_or_an_input_changes() {
    for tool in ["cmake", "ctest", "cc"] {
        if !support::have_tool(tool) && support::skip_unless_ci(&format!("`{tool}` on PATH")) {
            return;
        }
    }
    let work = tempfile::tempdir().expect("temp");
    let cache = work.path().join("cache");
    let project = work.path().join("answer");
    write_tested_project(&project);
    let test = || {
        archway()
            .env("XDG_CACHE_HOME", &cache)
            .args([
                "test",
                "--target",
                "x86_64-linux",
                "--method",
                "native",
                "--json",
                "-C",
            ])
            .arg(&project)
    };
    let ran_tests = |outcome: &serde_json::Value| {
        outcome["timings"]
            .as_array()
            .expect("timings")
            .iter()
            .any(|timing| timing["step"] == "test")
    };
    let first = outcome(&test().run());
    assert!(ran_tests(&first), "{first}");
    assert_eq!(first["tested"], true);
    assert_eq!(first["cache"]["hit"], false);

    let second_run = test().run();
    let second = outcome(&second_run);
    assert_eq!(second["tested"], true, "{second}");
    assert_eq!(
        second["cache"]["test_hit"],
        true,
        "{}",
        second_run.snapshot()
    );
    assert!(!ran_tests(&second), "{second}");
    assert!(
        second_run
            .stderr
            .contains("the tests passed for this build before"),
        "{}",
        second_run.stderr
    );

    // `--rerun`: the real thing.
    let rerun = outcome(&test().arg("--rerun").run());
    assert!(ran_tests(&rerun), "{rerun}");

    // A variable that reaches the build is an input: another key, tests run.
    let flagged = outcome(&test().env("CFLAGS", "-O1").run());
    assert!(ran_tests(&flagged), "{flagged}");
    assert_ne!(flagged["cache"]["key"], first["cache"]["key"]);

    // A build of the same inputs is a hit of the build the tests ran on.
    let built = outcome(
        &archway()
            .env("XDG_CACHE_HOME", &cache)
            .args([
                "build",
                "--target",
                "x86_64-linux",
                "--method",
                "native",
                "--json",
                "-C",
            ])
            .arg(&project)
            .run(),
    );
    assert_eq!(built["cache"]["hit"], true, "{built}");
    assert_eq!(built["cache"]["key"], first["cache"]["key"]);
}

#[test]
fn an_unlocked_cargo_project_is_not_cached_until_it_has_its_lock() {
    // The native method with the host's cargo: no sysroot, so a fresh cache directory.
    if !support::have_tool("cargo") && support::skip_unless_ci("`cargo` on PATH") {
        return;
    }
    let work = tempfile::tempdir().expect("temp");
    let project = work.path().join("unlocked");
    std::fs::create_dir_all(project.join("src")).expect("mkdir");
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"unlocked\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("write");
    std::fs::write(project.join("src/main.rs"), "fn main() {}\n").expect("write");
    let build = || {
        archway()
            .env("XDG_CACHE_HOME", work.path().join("cache"))
            .env("ARCHWAY_CACHE_ENABLED", "true")
            .args(["build", "--json", "-C"])
            .arg(&project)
            .run()
    };
    // Without a lock the dependencies are crates.io's of the day: no key names them.
    let first = build();
    let first_outcome = outcome(&first);
    assert!(
        first
            .stderr
            .contains("not cached: the Cargo project has no `Cargo.lock`"),
        "{}",
        first.snapshot()
    );
    assert!(first_outcome["cache"].is_null(), "{}", first.snapshot());
    assert!(
        project.join("Cargo.lock").is_file(),
        "the build wrote the lock"
    );
    // With the lock it wrote, the project is cached like any other.
    let second = build();
    assert_eq!(
        outcome(&second)["cache"]["hit"],
        false,
        "{}",
        second.snapshot()
    );
    let third = build();
    assert_eq!(
        outcome(&third)["cache"]["hit"],
        true,
        "{}",
        third.snapshot()
    );
}
