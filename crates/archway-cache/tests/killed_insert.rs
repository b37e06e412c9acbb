//! A process killed (SIGKILL) in the middle of an insert leaves nothing a later read accepts.
//!
//! The test runs this same test binary again as the inserting child, with the store's kill hook
//! set to each point of the insert in turn (after the first file, ..., after the manifest); the
//! child dies by SIGKILL there, and the parent checks what is left.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use archway_cache::key::Key;
use archway_cache::store::{EntryFile, EntryKind, EntryName, Record, Store, KILL_HOOK_VARIABLE};
use archway_platform::NoProgress;

const CHILD_VARIABLE: &str = "ARCHWAY_CACHE_TEST_CHILD_DIR";

fn name() -> EntryName {
    EntryName::new(EntryKind::Build, &Key::of(b"killed"))
}

fn record() -> Record {
    Record {
        format: archway_cache::store::ENTRY_FORMAT,
        kind: EntryKind::Build,
        key: "0".repeat(64),
        target: "aarch64-unknown-linux-gnu".into(),
        method: "cross".into(),
        build_system: None,
        toolchain: None,
        created_unix: 0,
        seconds: 0.0,
        test_command: None,
        inputs: None,
    }
}

fn files(root: &Path) -> Vec<EntryFile> {
    (0..3)
        .map(|index| {
            let relative = PathBuf::from(format!("lib/file{index}"));
            let source = root.join(&relative);
            std::fs::create_dir_all(source.parent().expect("parent")).expect("mkdir");
            std::fs::write(&source, vec![index as u8; 100_000]).expect("write");
            EntryFile::File { source, relative }
        })
        .collect()
}

/// The child's part: insert into the store named by the environment (and die on the way).
/// Run directly (without the variable), it inserts into a temporary store and checks the entry.
#[test]
fn child_insert() {
    let temp = tempfile::tempdir().expect("temp");
    let directory = std::env::var_os(CHILD_VARIABLE)
        .map(PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    let files = files(&directory.join("build"));
    let store = Store::new(&directory.join("cache"));
    store
        .insert(&name(), &record(), &files, &NoProgress)
        .expect("insert");
    assert!(store
        .restore(&name(), &directory.join("restored"), &NoProgress)
        .expect("read")
        .is_some());
}

#[test]
fn a_sigkill_at_any_point_of_an_insert_leaves_no_entry() {
    if std::env::var_os(CHILD_VARIABLE).is_some() {
        return;
    }
    let executable = std::env::current_exe().expect("test binary");
    // 3 files, the record, the manifest: 5 writes; the last point is after the manifest, just
    // before the directories are synced and renamed.
    for point in 1..=5 {
        let temp = tempfile::tempdir().expect("temp");
        let status = std::process::Command::new(&executable)
            .args(["--exact", "child_insert", "--test-threads=1", "--nocapture"])
            .env(CHILD_VARIABLE, temp.path())
            .env(KILL_HOOK_VARIABLE, point.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run the child");
        assert_eq!(
            status.signal(),
            Some(9),
            "point {point}: the child died by SIGKILL"
        );
        let cache = temp.path().join("cache");
        let store = Store::new(&cache);
        let leftovers = std::fs::read_dir(cache.join("store/tmp"))
            .expect("tmp")
            .count();
        assert!(
            leftovers > 0,
            "point {point}: the killed insert left its temporary directory"
        );
        assert!(
            store.list().expect("list").is_empty(),
            "point {point}: a killed insert is not an entry"
        );
        let into = temp.path().join("into");
        assert!(
            store
                .restore(&name(), &into, &NoProgress)
                .expect("read")
                .is_none(),
            "point {point}: a read accepted a killed insert"
        );
        assert!(!into.exists(), "point {point}: nothing restored");
        // The next insert cleans the leftovers and succeeds.
        let files = files(&temp.path().join("build"));
        store
            .insert(&name(), &record(), &files, &NoProgress)
            .expect("insert after the kill");
        assert!(store
            .restore(&name(), &into, &NoProgress)
            .expect("read")
            .is_some());
        assert_eq!(
            std::fs::read_dir(cache.join("store/tmp"))
                .expect("tmp")
                .count(),
            0,
            "point {point}: the stale insert was cleaned"
        );
    }
}
