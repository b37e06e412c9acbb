use super::*;
use crate::upstream::UpstreamError;
use archway_platform::testing::Notes;

fn record(kind: EntryKind) -> Record {
    Record {
        format: ENTRY_FORMAT,
        kind,
        key: "0".repeat(64),
        target: "aarch64-unknown-linux-gnu".into(),
        method: "cross".into(),
        build_system: Some("cmake".into()),
        toolchain: Some("gcc 12.2.0".into()),
        created_unix: now_unix(),
        seconds: 1.5,
        test_command: None,
        inputs: None,
    }
}

fn name(seed: u8) -> EntryName {
    EntryName::new(EntryKind::Build, &Key::of(&[seed]))
}

/// A build directory with two artifacts and a library link.
fn build_dir(root: &Path, content: &str) -> Vec<EntryFile> {
    std::fs::create_dir_all(root.join("lib")).expect("mkdir");
    std::fs::write(root.join("lib/libz.so.1.3"), format!("so {content}")).expect("write");
    std::fs::write(root.join("example"), format!("exe {content}")).expect("write");
    std::fs::set_permissions(root.join("example"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    vec![
        EntryFile::File {
            source: root.join("lib/libz.so.1.3"),
            relative: "lib/libz.so.1.3".into(),
        },
        EntryFile::File {
            source: root.join("example"),
            relative: "example".into(),
        },
        EntryFile::Link {
            relative: "lib/libz.so".into(),
            target: "libz.so.1.3".into(),
        },
    ]
}

#[test]
fn insert_then_restore_gives_the_same_files_elsewhere() {
    let temp = tempfile::tempdir().expect("temp");
    let store = Store::new(&temp.path().join("cache"));
    let files = build_dir(&temp.path().join("first"), "one");
    let notes = Notes::default();
    let key = name(1);
    assert!(store
        .restore(&key, temp.path(), &notes)
        .expect("miss")
        .is_none());
    assert_eq!(
        store
            .insert(&key, &record(EntryKind::Build), &files, &notes)
            .expect("insert"),
        Inserted::Added
    );
    let into = temp.path().join("second");
    let hit = store
        .restore(&key, &into, &notes)
        .expect("read")
        .expect("hit");
    assert_eq!(hit.origin, Origin::Local);
    assert_eq!(
        hit.record,
        record(EntryKind::Build).clone_with_time(hit.record.created_unix)
    );
    for relative in ["lib/libz.so.1.3", "example"] {
        assert_eq!(
            std::fs::read(into.join(relative)).expect("restored"),
            std::fs::read(temp.path().join("first").join(relative)).expect("original"),
        );
    }
    let mode = std::fs::metadata(into.join("example"))
        .expect("meta")
        .permissions()
        .mode();
    assert_ne!(mode & 0o111, 0, "the executable bit comes back");
    assert_eq!(
        std::fs::read_link(into.join("lib/libz.so")).expect("link"),
        Path::new("libz.so.1.3")
    );
    // A second insert of the same name keeps the first.
    assert_eq!(
        store
            .insert(&key, &record(EntryKind::Build), &files, &notes)
            .expect("insert"),
        Inserted::AlreadyThere
    );
    assert!(notes.all().is_empty(), "{:?}", notes.all());
    let list = store.list().expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].files, 3);
}

impl Record {
    fn clone_with_time(mut self, created_unix: u64) -> Record {
        self.created_unix = created_unix;
        self
    }
}

/// Every kind of damage: a changed byte, a truncated file, an extra file, a missing file, an
/// edited record, a broken manifest. Each is dropped on read (a warning) and never restored.
#[test]
fn a_corrupt_entry_is_dropped_and_never_restored() {
    type Damage = fn(&Path);
    let damages: &[(&str, Damage)] = &[
        ("changed byte", |entry| {
            std::fs::write(entry.join("files/example"), "exe onf").expect("write")
        }),
        ("truncated", |entry| {
            std::fs::write(entry.join("files/lib/libz.so.1.3"), "so").expect("write")
        }),
        ("extra file", |entry| {
            std::fs::write(entry.join("files/evil"), "x").expect("write")
        }),
        ("missing file", |entry| {
            std::fs::remove_file(entry.join("files/example")).expect("rm")
        }),
        ("changed link", |entry| {
            std::fs::remove_file(entry.join("files/lib/libz.so")).expect("rm");
            std::os::unix::fs::symlink("/etc/passwd", entry.join("files/lib/libz.so")).expect("ln");
        }),
        ("edited record", |entry| {
            let path = entry.join("record.json");
            let text = std::fs::read_to_string(&path).expect("read");
            std::fs::write(&path, text.replace("cross", "native")).expect("write")
        }),
        ("broken manifest", |entry| {
            std::fs::write(entry.join("manifest.json"), "{").expect("write")
        }),
    ];
    for (what, damage) in damages {
        let temp = tempfile::tempdir().expect("temp");
        let store = Store::new(&temp.path().join("cache"));
        let files = build_dir(&temp.path().join("first"), "one");
        let notes = Notes::default();
        let key = name(2);
        store
            .insert(&key, &record(EntryKind::Build), &files, &notes)
            .expect("insert");
        damage(&store.entry_dir(&key));
        let into = temp.path().join("into");
        let read = store.restore(&key, &into, &notes).expect("read");
        assert!(read.is_none(), "{what}: a damaged entry was accepted");
        assert!(
            !store.entry_dir(&key).exists(),
            "{what}: the entry is dropped"
        );
        let restored: Vec<_> = std::fs::read_dir(&into)
            .map(|listing| listing.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(
            restored.iter().all(|path| path.is_dir()),
            "{what}: nothing restored: {restored:?}"
        );
        assert!(
            notes
                .all()
                .iter()
                .any(|note| note.contains("dropped the corrupt cache entry")),
            "{what}: {:?}",
            notes.all()
        );
        // And it can be inserted again.
        store
            .insert(&key, &record(EntryKind::Build), &files, &notes)
            .expect("again");
        assert!(
            store.restore(&key, &into, &notes).expect("read").is_some(),
            "{what}"
        );
    }
}

#[test]
fn entry_names_parse_only_their_own_form() {
    let key = name(3);
    assert_eq!(EntryName::parse(key.as_str()).expect("parse"), key);
    for bad in [
        "",
        "build-",
        "build-xyz",
        "rootfs-0000",
        &format!("../{}", key.as_str()),
        &format!("{}/x", key.as_str()),
    ] {
        assert!(EntryName::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn artifacts_outside_the_build_directory_are_refused() {
    let temp = tempfile::tempdir().expect("temp");
    let store = Store::new(&temp.path().join("cache"));
    let notes = Notes::default();
    for relative in ["../x", "/etc/passwd", ""] {
        let files = [EntryFile::File {
            source: temp.path().join("x"),
            relative: relative.into(),
        }];
        std::fs::write(temp.path().join("x"), "x").expect("write");
        let error = store
            .insert(&name(4), &record(EntryKind::Build), &files, &notes)
            .expect_err(relative);
        assert!(matches!(error, StoreError::OutsideRoot { .. }), "{error}");
    }
    let link = [EntryFile::Link {
        relative: "lib/libz.so".into(),
        target: "../../etc/passwd".into(),
    }];
    assert!(store
        .insert(&name(4), &record(EntryKind::Build), &link, &notes)
        .is_err());
    assert!(store.list().expect("list").is_empty());
}

#[test]
fn prune_removes_least_recently_used_first() {
    let temp = tempfile::tempdir().expect("temp");
    let store = Store::new(&temp.path().join("cache"));
    let notes = Notes::default();
    let mut names = Vec::new();
    for seed in 0..3u8 {
        let dir = temp.path().join(format!("b{seed}"));
        let files = build_dir(&dir, &"x".repeat(1000));
        store
            .insert(&name(seed), &record(EntryKind::Build), &files, &notes)
            .expect("insert");
        // Last use, oldest first: 0, 2, 1 (1 read last).
        names.push(name(seed));
    }
    let set_used = |name: &EntryName, seconds: u64| {
        let file = File::options()
            .write(true)
            .open(store.used_file(name))
            .expect("used");
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
            .expect("time");
    };
    set_used(&names[0], 1000);
    set_used(&names[2], 2000);
    set_used(&names[1], 3000);
    let each = store.list().expect("list")[0].bytes;
    let pruned = store.prune(each * 2).expect("prune");
    assert_eq!(pruned.removed, [names[0].to_string()]);
    let left: Vec<String> = store
        .list()
        .expect("list")
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(left, [names[2].to_string(), names[1].to_string()]);
    let stats = store.stats().expect("stats");
    assert_eq!((stats.entries, stats.builds, stats.bytes), (2, 2, each * 2));
    let cleaned = store.clean().expect("clean");
    assert_eq!(cleaned.removed.len(), 2);
    assert_eq!(store.stats().expect("stats").entries, 0);
}

#[test]
fn max_size_bounds_the_store_on_insert() {
    let temp = tempfile::tempdir().expect("temp");
    let notes = Notes::default();
    let files = build_dir(&temp.path().join("b"), &"y".repeat(5000));
    let store = Store::new(&temp.path().join("cache")).with_max_size(Some(12_000));
    for seed in 0..4u8 {
        store
            .insert(&name(seed), &record(EntryKind::Build), &files, &notes)
            .expect("insert");
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = store.stats().expect("stats");
    assert!(stats.bytes <= 12_000, "{stats:?}");
    assert_eq!(stats.entries, 1, "{stats:?}");
    assert!(store.list().expect("list")[0].name == name(3).to_string());
}

#[test]
fn test_entries_hold_a_record_only() {
    let temp = tempfile::tempdir().expect("temp");
    let store = Store::new(temp.path());
    let notes = Notes::default();
    let key = EntryName::new(EntryKind::Test, &Key::of(b"build").derive("test", "ctest"));
    assert!(store.lookup(&key, &notes).expect("read").is_none());
    let mut test = record(EntryKind::Test);
    test.test_command = Some("ctest".into());
    store.insert(&key, &test, &[], &notes).expect("insert");
    let hit = store.lookup(&key, &notes).expect("read").expect("hit");
    assert_eq!(hit.record.test_command.as_deref(), Some("ctest"));
    assert_eq!(store.stats().expect("stats").tests, 1);
}

#[test]
fn two_threads_inserting_one_name_leave_one_good_entry() {
    let temp = tempfile::tempdir().expect("temp");
    let cache = temp.path().join("cache");
    let files = build_dir(&temp.path().join("b"), &"z".repeat(200_000));
    let results: Vec<Inserted> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let cache = cache.clone();
                let files = files.clone();
                scope.spawn(move || {
                    // Each its own store value, as separate processes would have.
                    Store::new(&cache)
                        .insert(
                            &name(9),
                            &record(EntryKind::Build),
                            &files,
                            &Notes::default(),
                        )
                        .expect("insert")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        results.iter().filter(|r| **r == Inserted::Added).count(),
        1,
        "{results:?}"
    );
    let store = Store::new(&cache);
    assert!(store
        .restore(&name(9), &temp.path().join("into"), &Notes::default())
        .expect("read")
        .is_some());
    let leftovers: Vec<_> = std::fs::read_dir(store.tmp())
        .expect("tmp")
        .flatten()
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_stale_insert_is_cleaned_and_a_live_one_kept() {
    let temp = tempfile::tempdir().expect("temp");
    let store = Store::new(temp.path());
    store.ensure_layout().expect("layout");
    // A killed writer: its directory and a lock nobody holds.
    std::fs::create_dir_all(store.tmp().join("insert-1-2-3/files")).expect("mkdir");
    std::fs::write(store.tmp().join("insert-1-2-3.lock"), "").expect("lock");
    // A live writer.
    let (live, lock) = store.temporary("insert").expect("temporary");
    std::fs::create_dir_all(&live).expect("mkdir");
    assert_eq!(store.clean_stale().expect("clean"), 1);
    assert!(!store.tmp().join("insert-1-2-3").exists());
    assert!(live.exists(), "a held lock keeps its directory");
    drop(lock);
    assert_eq!(store.clean_stale().expect("clean"), 1);
    assert!(!live.exists());
}

/// A fake shared store: a directory of entry directories.
#[derive(Debug)]
struct FakeUpstream {
    root: PathBuf,
    fail: bool,
}

impl Upstream for FakeUpstream {
    fn pull(&self, name: &str, into: &Path) -> Result<Pulled, UpstreamError> {
        if self.fail {
            return Err(UpstreamError::Unreachable {
                url: "s3://fake".into(),
                reason: "connection refused".into(),
            });
        }
        let from = self.root.join(name);
        if !from.is_dir() {
            return Ok(Pulled::Absent);
        }
        copy_dir(&from, into);
        Ok(Pulled::Restored {
            signer: "fake-1".into(),
            bytes: 0,
        })
    }

    fn push(&self, name: &str, from: &Path) -> Result<(), UpstreamError> {
        if self.fail {
            return Err(UpstreamError::Unreachable {
                url: "s3://fake".into(),
                reason: "connection refused".into(),
            });
        }
        copy_dir(from, &self.root.join(name));
        Ok(())
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read").flatten() {
        let target = to.join(entry.file_name());
        let file_type = entry.file_type().expect("type");
        if file_type.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if file_type.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).expect("link"), &target)
                .expect("ln");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn a_local_insert_is_pushed_and_another_machine_pulls_it() {
    let temp = tempfile::tempdir().expect("temp");
    let shared = temp.path().join("shared");
    std::fs::create_dir_all(&shared).expect("mkdir");
    let upstream = |fail| -> Option<Box<dyn Upstream>> {
        Some(Box::new(FakeUpstream {
            root: shared.clone(),
            fail,
        }))
    };
    let notes = Notes::default();
    let files = build_dir(&temp.path().join("b"), "pushed");
    let first = Store::new(&temp.path().join("one")).with_upstream(upstream(false));
    first
        .insert(&name(5), &record(EntryKind::Build), &files, &notes)
        .expect("insert");
    assert!(shared
        .join(name(5).as_str())
        .join("manifest.json")
        .is_file());

    let second = Store::new(&temp.path().join("two")).with_upstream(upstream(false));
    let into = temp.path().join("into");
    let hit = second
        .restore(&name(5), &into, &notes)
        .expect("read")
        .expect("hit");
    assert_eq!(
        hit.origin,
        Origin::Shared {
            signer: "fake-1".into()
        }
    );
    assert_eq!(
        std::fs::read(into.join("example")).expect("restored"),
        b"exe pushed"
    );
    // Now local.
    let again = second
        .restore(&name(5), &into, &notes)
        .expect("read")
        .expect("hit");
    assert_eq!(again.origin, Origin::Local);

    // Absent upstream: a miss, quietly.
    assert!(second
        .restore(&name(6), &into, &notes)
        .expect("read")
        .is_none());
    assert!(notes.all().is_empty(), "{:?}", notes.all());

    // A tampered shared entry is refused, and not inserted locally.
    let tampered = shared.join(name(5).as_str()).join("files/example");
    std::fs::write(&tampered, "exe evil!").expect("write");
    let third = Store::new(&temp.path().join("three")).with_upstream(upstream(false));
    assert!(third
        .restore(&name(5), &into, &notes)
        .expect("read")
        .is_none());
    assert!(notes
        .all()
        .iter()
        .any(|n| n.contains("refused the shared cache entry")));
    assert!(third.list().expect("list").is_empty());
    assert_eq!(
        std::fs::read(into.join("example")).expect("kept"),
        b"exe pushed"
    );
}

#[test]
fn an_unreachable_upstream_warns_and_the_local_store_goes_on() {
    let temp = tempfile::tempdir().expect("temp");
    let notes = Notes::default();
    let store = Store::new(temp.path()).with_upstream(Some(Box::new(FakeUpstream {
        root: temp.path().join("nowhere"),
        fail: true,
    })));
    assert!(store
        .restore(&name(7), temp.path(), &notes)
        .expect("read")
        .is_none());
    let files = build_dir(&temp.path().join("b"), "x");
    assert_eq!(
        store
            .insert(&name(7), &record(EntryKind::Build), &files, &notes)
            .expect("insert"),
        Inserted::Added
    );
    let warnings = notes.all();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings
        .iter()
        .all(|w| w.starts_with("warning: the shared cache `s3://fake` is unreachable")));
    assert!(store
        .restore(&name(7), &temp.path().join("i"), &notes)
        .expect("read")
        .is_some());
}

#[test]
fn sizes_parse_and_hostile_ones_are_refused() {
    for (text, bytes) in [
        ("10GiB", 10u64 << 30),
        ("500 MB", 500_000_000),
        ("1.5G", 1_500_000_000),
        ("0", 0),
        ("123", 123),
        ("2KiB", 2048),
    ] {
        assert_eq!(parse_size(text), Some(bytes), "{text}");
    }
    for bad in [
        "",
        "G",
        "-1G",
        "1.2.3G",
        "10 parsecs",
        "99999999999999999999TiB",
        "1e9",
        "NaN",
    ] {
        assert_eq!(parse_size(bad), None, "{bad}");
    }
    assert_eq!(format_size(1536), "1.5 KiB");
    assert_eq!(format_size(12), "12 B");
}

#[test]
fn a_restore_never_writes_through_a_link_in_the_target_directory() {
    let temp = tempfile::tempdir().expect("temp");
    let store = Store::new(&temp.path().join("cache"));
    let notes = Notes::default();
    let files = build_dir(&temp.path().join("first"), "one");
    store
        .insert(&name(8), &record(EntryKind::Build), &files, &notes)
        .expect("insert");
    let into = temp.path().join("into");
    let outside = temp.path().join("outside");
    std::fs::create_dir_all(&into).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::os::unix::fs::symlink(&outside, into.join("lib")).expect("ln");
    assert!(store
        .restore(&name(8), &into, &notes)
        .expect("read")
        .is_none());
    assert_eq!(std::fs::read_dir(&outside).expect("outside").count(), 0);
}
