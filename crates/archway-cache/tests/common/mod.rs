//! Test support: a real S3 server (moto's) and an exact description of a directory tree.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

// Each test file uses a different part (the archive tests no server).
#[allow(unused_imports)]
pub use archway_cache::testing::{moto_or_skip, Moto};
#[allow(unused_imports)]
pub use archway_platform::testing::in_ci;

/// Everything an archive must keep about a tree, one line per entry: kind, mode, owner,
/// modification time (seconds), size or target or device, and for hard-linked files the first
/// path of their group within the tree (links to files outside the tree do not count).
pub fn describe_tree(root: &Path) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
    let mut pending = vec![PathBuf::new()];
    let mut metadata_of = BTreeMap::new();
    while let Some(relative) = pending.pop() {
        for entry in fs::read_dir(root.join(&relative)).expect("read_dir") {
            let entry = entry.expect("entry");
            let relative = relative.join(entry.file_name());
            let metadata = fs::symlink_metadata(root.join(&relative)).expect("lstat");
            let name = relative.to_string_lossy().into_owned();
            if metadata.is_dir() {
                pending.push(relative);
            } else if metadata.nlink() > 1 {
                inodes
                    .entry((metadata.dev(), metadata.ino()))
                    .or_default()
                    .push(name.clone());
            }
            metadata_of.insert(name, metadata);
        }
    }
    let mut group_of = BTreeMap::new();
    for paths in inodes.values().filter(|paths| paths.len() > 1) {
        let first = paths.iter().min().expect("non-empty").clone();
        for path in paths {
            group_of.insert(path.clone(), first.clone());
        }
    }
    for (name, metadata) in metadata_of {
        let file_type = metadata.file_type();
        let what = if file_type.is_symlink() {
            format!(
                "symlink -> {}",
                fs::read_link(root.join(&name)).expect("readlink").display()
            )
        } else if file_type.is_dir() {
            "directory".to_string()
        } else if file_type.is_file() {
            format!("file {} bytes", metadata.len())
        } else if file_type.is_char_device() || file_type.is_block_device() {
            format!("device {:x}", metadata.rdev())
        } else if file_type.is_fifo() {
            "fifo".to_string()
        } else {
            "socket".to_string()
        };
        let mode = if file_type.is_symlink() {
            0
        } else {
            metadata.mode() & 0o7777
        };
        let group = group_of
            .get(&name)
            .map(|first| format!(" linked with {first}"))
            .unwrap_or_default();
        entries.insert(
            name,
            format!(
                "{what} mode {mode:o} owner {}:{} mtime {}{group}",
                metadata.uid(),
                metadata.gid(),
                metadata.mtime()
            ),
        );
    }
    entries
}

/// The paths whose file content differs between two trees with the same description.
pub fn different_contents(left: &Path, right: &Path) -> Vec<String> {
    let mut different = Vec::new();
    for (name, line) in describe_tree(left) {
        if !line.starts_with("file ") {
            continue;
        }
        let same = fs::read(left.join(&name)).ok() == fs::read(right.join(&name)).ok();
        if !same {
            different.push(name);
        }
    }
    different
}

/// Lines of `expected` that `actual` lacks or has otherwise, for a readable failure.
pub fn differences(
    expected: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, line) in expected {
        match actual.get(name) {
            Some(other) if other == line => {}
            Some(other) => lines.push(format!("{name}: {line} ≠ {other}")),
            None => lines.push(format!("{name}: missing")),
        }
    }
    for name in actual.keys().filter(|name| !expected.contains_key(*name)) {
        lines.push(format!("{name}: extra"));
    }
    lines
}
