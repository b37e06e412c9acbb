//! The shared store against a real S3 server (moto's), started by each test on its own port.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use archway_cache::shared::{Options, SharedStore};
use archway_cache::sign::{generate_key_file, PublicKey};
use archway_cache::{Pulled, Upstream, UpstreamError};
use common::Moto;

const TIMEOUT: Duration = Duration::from_secs(2);

/// A machine's view of the store: its own key file (if it signs) and trusted keys.
fn store(url: &str, signing_key: Option<&Path>, trusted: &[&PublicKey]) -> SharedStore {
    let options = Options {
        url: url.to_string(),
        trusted_keys: trusted.iter().map(|&key| key.clone()).collect(),
        signing_key: signing_key.map(Path::to_path_buf),
        timeout: TIMEOUT,
    };
    SharedStore::open_with_environment(&options, Moto::environment()).expect("open")
}

fn key_pair(directory: &Path, name: &str) -> (PathBuf, PublicKey) {
    let path = directory.join(format!("{name}.secret"));
    let public = generate_key_file(name, &path).expect("keygen");
    (path, public)
}

fn build_output(root: &Path) {
    fs::create_dir_all(root.join("lib/pkgconfig")).expect("mkdir");
    fs::write(root.join("lib/libz.a"), vec![42u8; 200_000]).expect("write");
    fs::write(root.join("lib/pkgconfig/zlib.pc"), b"Name: zlib\n").expect("write");
    std::os::unix::fs::symlink("libz.a", root.join("lib/libz-link.a")).expect("symlink");
    fs::write(root.join("record.json"), b"{\"method\":\"cross\"}").expect("write");
}

fn untrusted_reason(result: Result<Pulled, UpstreamError>) -> String {
    match result {
        Err(UpstreamError::Untrusted { reason, .. }) => reason,
        other => panic!("expected Untrusted, got {other:?}"),
    }
}

#[test]
fn an_entry_pushed_by_one_machine_is_restored_on_another() {
    let Some(moto) = common::moto_or_skip("an_entry_pushed_by_one_machine_is_restored_on_another")
    else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let (secret, public) = key_pair(work.path(), "ci-1");
    let url = moto.url("team/archway");
    let first = store(&url, Some(&secret), &[&public]);
    let second = store(&url, None, &[&public]);

    let output = work.path().join("first/cache/build-1a2b");
    build_output(&output);
    assert_eq!(
        second
            .pull("build-1a2b", &work.path().join("second/absent"))
            .expect("pull"),
        Pulled::Absent
    );
    first.push("build-1a2b", &output).expect("push");
    // Pushing again finds the record and sends nothing.
    first.push("build-1a2b", &output).expect("push again");

    let restored = work.path().join("second/cache/build-1a2b");
    let pulled = second.pull("build-1a2b", &restored).expect("pull");
    let Pulled::Restored { signer, bytes } = pulled else {
        panic!("expected a restored entry, got {pulled:?}");
    };
    assert_eq!(signer, "ci-1");
    assert!(bytes > 0);
    assert_eq!(
        common::differences(
            &common::describe_tree(&output),
            &common::describe_tree(&restored)
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        common::different_contents(&output, &restored),
        Vec::<String>::new()
    );
    // Nothing but the entry is left beside it (no download or partial directory).
    let beside: Vec<_> = fs::read_dir(work.path().join("second/cache"))
        .expect("read_dir")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(beside, vec!["build-1a2b"]);

    // An existing directory is neither unpacked over nor removed.
    let error = second
        .pull("build-1a2b", &restored)
        .expect_err("exists already");
    assert!(matches!(error, UpstreamError::Io { .. }), "{error}");
    assert!(restored.join("record.json").is_file());

    // A machine without a signing key pushes nothing.
    second
        .push("build-3c4d", &output)
        .expect("push without key");
    assert_eq!(
        first
            .pull("build-3c4d", &work.path().join("first/cache/build-3c4d"))
            .expect("pull"),
        Pulled::Absent
    );
}

#[test]
fn tampered_unsigned_and_untrusted_entries_are_refused() {
    let Some(moto) = common::moto_or_skip("tampered_unsigned_and_untrusted_entries_are_refused")
    else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let (secret, public) = key_pair(work.path(), "ci-1");
    let (_, stranger) = key_pair(work.path(), "stranger-1");
    let url = moto.url("prefix");
    let pusher = store(&url, Some(&secret), &[&public]);
    let output = work.path().join("output");
    build_output(&output);
    pusher.push("build-aa", &output).expect("push");
    let destination = |name: &str| work.path().join("restore").join(name);

    // Trusting only another key.
    let distrustful = store(&url, None, &[&stranger]);
    let reason = untrusted_reason(distrustful.pull("build-aa", &destination("a")));
    assert!(
        reason.contains("signed by `ci-1`, which is not in `[cache] trusted-keys`"),
        "{reason}"
    );
    assert!(!destination("a").exists());

    // The archive altered in the store.
    let record: serde_json::Value =
        serde_json::from_slice(&moto.get("prefix/build-aa.json")).expect("record");
    let sha256 = record["archive_sha256"].as_str().expect("hash").to_string();
    let archive_key = format!("prefix/build-aa-{sha256}.tar.zst");
    let mut archive = moto.get(&archive_key);
    let middle = archive.len() / 2;
    archive[middle] ^= 0xff;
    moto.put(&archive_key, &archive);
    let trusting = store(&url, None, &[&public]);
    let reason = untrusted_reason(trusting.pull("build-aa", &destination("b")));
    assert!(reason.contains("its archive was altered"), "{reason}");
    assert!(!destination("b").exists());
    // Nothing was made: the parent directory is made only for a verified archive.
    let leftovers = fs::read_dir(work.path().join("restore")).map_or(0, |entries| entries.count());
    assert_eq!(leftovers, 0, "the download was not removed");

    // The record rewritten to another archive (the attacker's own upload): bad signature.
    let mut forged = record.clone();
    forged["archive_sha256"] = serde_json::Value::String("0".repeat(64));
    moto.put(
        "prefix/build-aa.json",
        &serde_json::to_vec(&forged).expect("json"),
    );
    let reason = untrusted_reason(trusting.pull("build-aa", &destination("c")));
    assert!(
        reason.contains("does not match the trusted key `ci-1`"),
        "{reason}"
    );

    // The signature removed.
    let mut unsigned = record.clone();
    unsigned["signature"] = serde_json::Value::Null;
    moto.put(
        "prefix/build-aa.json",
        &serde_json::to_vec(&unsigned).expect("json"),
    );
    let reason = untrusted_reason(trusting.pull("build-aa", &destination("d")));
    assert!(reason.contains("not signed"), "{reason}");

    // No record at all for an archive that is there: absent, never used.
    moto.put(&format!("prefix/build-bb-{sha256}.tar.zst"), &archive);
    assert_eq!(
        trusting.pull("build-bb", &destination("e")).expect("pull"),
        Pulled::Absent
    );
}

#[test]
fn a_stopped_server_is_unreachable_within_the_timeout() {
    let Some(mut moto) = common::moto_or_skip("a_stopped_server_is_unreachable_within_the_timeout")
    else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let (secret, public) = key_pair(work.path(), "ci-1");
    let url = moto.url("prefix");
    let machine = store(&url, Some(&secret), &[&public]);
    let output = work.path().join("output");
    build_output(&output);
    machine
        .push("build-aa", &output)
        .expect("push while running");
    moto.stop();

    // Each call may take the timeout once (plus a little for retries' bookkeeping).
    let limit = TIMEOUT + Duration::from_secs(2);
    let started = Instant::now();
    let pulled = machine.pull("build-aa", &work.path().join("restored"));
    assert!(
        matches!(pulled, Err(UpstreamError::Unreachable { .. })),
        "{pulled:?}"
    );
    assert!(
        started.elapsed() < limit,
        "pull took {:?}",
        started.elapsed()
    );
    assert!(!work.path().join("restored").exists());

    let started = Instant::now();
    let pushed = machine.push("build-bb", &output);
    assert!(
        matches!(pushed, Err(UpstreamError::Unreachable { .. })),
        "{pushed:?}"
    );
    assert!(
        started.elapsed() < limit,
        "push took {:?}",
        started.elapsed()
    );
    let error = pushed.expect_err("unreachable");
    assert!(error.to_string().contains("is unreachable"), "{error}");
    assert!(error.hint().is_some());
}

#[test]
fn a_silent_endpoint_is_unreachable_within_the_timeout() {
    // A listener that accepts connections and never answers: a hung store, not a refused one.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let _held = std::thread::spawn(move || {
        let connections: Vec<_> = listener.incoming().take(8).collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(connections);
    });
    let machine = store(
        &format!("s3://bucket/prefix?endpoint=http://127.0.0.1:{port}"),
        None,
        &[],
    );
    let started = Instant::now();
    let pulled = machine.pull("build-aa", Path::new("/nonexistent/never-created"));
    assert!(
        matches!(pulled, Err(UpstreamError::Unreachable { .. })),
        "{pulled:?}"
    );
    assert!(
        started.elapsed() < TIMEOUT + Duration::from_secs(2),
        "pull took {:?}",
        started.elapsed()
    );
}
