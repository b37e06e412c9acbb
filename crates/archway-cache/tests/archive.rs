//! Entry archives: exact round trips, and hostile archives refused without writing outside.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use archway_cache::archive::{self, ArchiveError};

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A tree with every kind of entry a root filesystem holds.
fn sample_tree(root: &Path) {
    fs::create_dir_all(root.join("usr/bin")).expect("mkdir");
    fs::create_dir_all(root.join("empty")).expect("mkdir");
    fs::write(root.join("usr/bin/tool"), b"#!/bin/sh\necho tool\n").expect("write");
    set_mode(&root.join("usr/bin/tool"), 0o755);
    fs::write(root.join("usr/bin/su"), b"setuid binary").expect("write");
    set_mode(&root.join("usr/bin/su"), 0o4755);
    fs::write(root.join("usr/bin/wall"), b"setgid binary").expect("write");
    set_mode(&root.join("usr/bin/wall"), 0o2755);
    fs::hard_link(root.join("usr/bin/tool"), root.join("usr/bin/tool-again")).expect("link");
    std::os::unix::fs::symlink("tool", root.join("usr/bin/relative")).expect("symlink");
    std::os::unix::fs::symlink("/etc/alternatives/x", root.join("usr/bin/absolute"))
        .expect("symlink");
    std::os::unix::fs::symlink("../nowhere", root.join("dangling")).expect("symlink");
    fs::write(root.join("large"), vec![7u8; 3 << 20]).expect("write");
    fs::write(root.join("secret"), b"0600").expect("write");
    set_mode(&root.join("secret"), 0o600);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        root.join("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o640),
        0,
    )
    .expect("mkfifo");
    if rustix::process::geteuid().is_root() {
        // /dev/null's numbers (Linux Documentation/admin-guide/devices.txt: char 1, 3).
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("null"),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o666),
            rustix::fs::makedev(1, 3),
        )
        .expect("mknod");
        std::os::unix::fs::chown(root.join("usr/bin/wall"), Some(0), Some(5)).expect("chown");
        std::os::unix::fs::lchown(root.join("dangling"), Some(1), Some(1)).expect("lchown");
    }
    // A read-only directory with content: unpacking must fill it before closing it.
    fs::create_dir(root.join("proc")).expect("mkdir");
    fs::write(root.join("proc/inside"), b"x").expect("write");
    set_mode(&root.join("proc"), 0o555);
}

fn pack_to_vec(directory: &Path) -> Vec<u8> {
    archive::pack(directory, Vec::new()).expect("pack").0
}

#[test]
fn packing_and_unpacking_keeps_every_kind_of_entry() {
    let work = tempfile::tempdir().expect("tempdir");
    let source = work.path().join("source");
    fs::create_dir(&source).expect("mkdir");
    sample_tree(&source);
    let bytes = pack_to_vec(&source);
    let destination = work.path().join("destination");
    let summary = archive::unpack(bytes.as_slice(), &destination).expect("unpack");
    assert!(summary.content_bytes >= 3 << 20);
    let expected = common::describe_tree(&source);
    assert!(expected["usr/bin/tool-again"].contains("linked with usr/bin/tool"));
    assert!(expected["usr/bin/su"].contains("mode 4755"));
    let actual = common::describe_tree(&destination);
    assert_eq!(
        common::differences(&expected, &actual),
        Vec::<String>::new()
    );
    assert_eq!(
        common::different_contents(&source, &destination),
        Vec::<String>::new()
    );
    // The same tree packs to the same bytes (sorted walk, no time of packing inside).
    assert_eq!(pack_to_vec(&source), bytes);
    set_mode(&source.join("proc"), 0o755);
    set_mode(&destination.join("proc"), 0o755);
}

#[test]
fn unpacking_refuses_an_existing_destination() {
    let work = tempfile::tempdir().expect("tempdir");
    let bytes = pack_to_vec(work.path());
    let error = archive::unpack(bytes.as_slice(), work.path()).expect_err("exists");
    assert!(matches!(error, ArchiveError::Io { .. }), "{error}");
}

#[test]
fn a_damaged_archive_is_reported_as_damaged() {
    let work = tempfile::tempdir().expect("tempdir");
    fs::write(work.path().join("file"), vec![1u8; 100_000]).expect("write");
    let bytes = pack_to_vec(work.path());
    let truncated = &bytes[..bytes.len() / 2];
    let error =
        archive::unpack(truncated, &work.path().join("out")).expect_err("truncated archive");
    assert!(matches!(error, ArchiveError::Damaged { .. }), "{error}");
    let error =
        archive::unpack(&b"not zstd at all"[..], &work.path().join("out2")).expect_err("garbage");
    assert!(matches!(error, ArchiveError::Damaged { .. }), "{error}");
}

/// One raw tar entry, with the name and link bytes written as given (tar-rs's own setters
/// refuse `..`, which is exactly what a hostile archive contains).
fn raw_entry(
    builder: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    link: &str,
    data: &[u8],
) {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(data.len() as u64);
    header.set_cksum();
    builder.append(&header, data).expect("append");
}

/// name, type, link target, content.
type RawEntry<'a> = (&'a str, tar::EntryType, &'a str, &'a [u8]);

fn hostile_archive(entries: &[RawEntry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, kind, link, data) in entries {
        raw_entry(&mut builder, name, *kind, link, data);
    }
    let tar = builder.into_inner().expect("tar");
    zstd::encode_all(tar.as_slice(), 3).expect("zstd")
}

#[test]
fn hostile_archives_are_refused_and_write_nothing_outside() {
    use tar::EntryType::{Directory, Link, Regular, Symlink};
    let work = tempfile::tempdir().expect("tempdir");
    let outside = work.path().join("outside");
    fs::create_dir(&outside).expect("mkdir");
    fs::write(outside.join("victim"), b"original").expect("write");
    let outside_text = outside.to_string_lossy().into_owned();
    let victim = format!("{outside_text}/victim");
    let cases: Vec<(&str, Vec<RawEntry>, &str)> = vec![
        (
            "parent directory",
            vec![("../outside/victim", Regular, "", b"evil")],
            "`..`",
        ),
        (
            "parent inside the path",
            vec![("a/../../outside/victim", Regular, "", b"evil")],
            "`..`",
        ),
        (
            "absolute path",
            vec![(&victim, Regular, "", b"evil")],
            "absolute",
        ),
        (
            "write through a planted directory symlink",
            vec![
                ("escape", Symlink, &outside_text, b""),
                ("escape/victim", Regular, "", b"evil"),
            ],
            "not a directory",
        ),
        (
            "write over a planted file symlink",
            vec![
                ("victim", Symlink, &victim, b""),
                ("victim", Regular, "", b"evil"),
            ],
            "replaces an entry",
        ),
        (
            "hard link out of the destination",
            vec![("link", Link, "../outside/victim", b"")],
            "`..`",
        ),
        (
            "hard link to an absolute path",
            vec![("link", Link, &victim, b"")],
            "absolute",
        ),
        (
            "hard link through a planted symlink",
            vec![
                ("escape", Symlink, &outside_text, b""),
                ("link", Link, "escape/victim", b""),
            ],
            "not a directory",
        ),
        (
            "hard link to a symlink, then a write through it",
            vec![
                ("pointer", Symlink, &victim, b""),
                ("link", Link, "pointer", b""),
                ("link", Regular, "", b"evil"),
            ],
            "replaces an entry",
        ),
        (
            "directory over a symlink",
            vec![
                ("escape", Symlink, &outside_text, b""),
                ("escape", Directory, "", b""),
                ("escape/victim", Regular, "", b"evil"),
            ],
            "replaces an entry",
        ),
    ];
    for (index, (what, entries, expected)) in cases.into_iter().enumerate() {
        let bytes = hostile_archive(&entries);
        let destination = work.path().join(format!("destination-{index}"));
        let error = archive::unpack(bytes.as_slice(), &destination).expect_err(what);
        assert!(
            matches!(error, ArchiveError::Hostile { .. }) && error.to_string().contains(expected),
            "{what}: {error}"
        );
        assert_eq!(
            fs::read(outside.join("victim")).expect("victim"),
            b"original",
            "{what}"
        );
        assert_eq!(
            fs::read_dir(&outside).expect("outside").count(),
            1,
            "{what}: something was created outside"
        );
    }
}
