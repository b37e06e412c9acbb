//! Whole directory trees: measuring, copying and removing root filesystems safely.
//!
//! A root filesystem may still have something mounted inside it when its creator was killed
//! (a `/proc` or `/dev` of a chroot), so removal first detaches every mount below the tree and
//! then never crosses onto another filesystem — the host's `/dev` must never be emptied.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// Disk usage of a tree in bytes (allocated blocks, hard links counted once, not crossing
/// filesystems), like `du -sx`.
pub fn disk_usage(path: &Path) -> u64 {
    let Ok(top) = fs::symlink_metadata(path) else {
        return 0;
    };
    let device = top.dev();
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut pending = vec![path.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(metadata) = fs::symlink_metadata(&current) else {
            continue;
        };
        if metadata.dev() != device {
            continue;
        }
        if metadata.nlink() > 1 && !metadata.is_dir() && !seen.insert(metadata.ino()) {
            continue;
        }
        // st_blocks is in 512-byte units whatever the filesystem's block size (stat(2)).
        total += metadata.blocks() * 512;
        if metadata.is_dir() {
            if let Ok(entries) = fs::read_dir(&current) {
                pending.extend(entries.flatten().map(|entry| entry.path()));
            }
        }
    }
    total
}

/// Mount points at or below `path`, deepest first, from `/proc/self/mountinfo` (field 5 is the
/// mount point, with spaces and other bytes octal-escaped: proc(5)).
fn mounts_below(path: &Path) -> Vec<PathBuf> {
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut mounts: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape_mountinfo(field)))
        .filter(|mount| mount.starts_with(path))
        .collect();
    mounts.sort_by_key(|mount| std::cmp::Reverse(mount.components().count()));
    mounts
}

fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\' {
            let digits = field.get(index + 1..index + 4);
            if let Some(value) = digits.and_then(|digits| u8::from_str_radix(digits, 8).ok()) {
                out.push(value);
                index += 4;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes a whole tree: detaches mounts inside it, then deletes without crossing filesystems.
/// A missing tree is not an error.
pub fn remove_tree(path: &Path) -> Result<(), Error> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    for mount in mounts_below(path) {
        // MNT_DETACH: a lazy unmount also works while something still has files open there.
        rustix::mount::unmount(&mount, rustix::mount::UnmountFlags::DETACH).map_err(|errno| {
            Error::Io {
                action: "unmount",
                path: mount.clone(),
                source: errno.into(),
            }
        })?;
    }
    let device = fs::symlink_metadata(path)
        .map_err(Error::io("inspect", path))?
        .dev();
    remove_on_device(path, device)
}

fn remove_on_device(path: &Path, device: u64) -> Result<(), Error> {
    let metadata = fs::symlink_metadata(path).map_err(Error::io("inspect", path))?;
    if metadata.dev() != device {
        // Something is mounted here that could not be detached: leave it, and fail below
        // when its parent cannot be removed, rather than deleting another filesystem.
        return Err(Error::Io {
            action: "remove (another filesystem is mounted at)",
            path: path.to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::ResourceBusy),
        });
    }
    if metadata.is_dir() {
        // A root filesystem has read-only directories (`/proc`, `/sys` are 0555): make each
        // one writable before deleting its entries, as `rm -rf` does for the owner.
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o700 != 0o700 {
            let _ = fs::set_permissions(
                path,
                fs::Permissions::from_mode(metadata.permissions().mode() | 0o700),
            );
        }
        for entry in fs::read_dir(path).map_err(Error::io("read", path))? {
            let entry = entry.map_err(Error::io("read", path))?;
            remove_on_device(&entry.path(), device)?;
        }
        fs::remove_dir(path).map_err(Error::io("remove", path))
    } else {
        fs::remove_file(path).map_err(Error::io("remove", path))
    }
}

/// Copies a tree with everything preserved (owners, modes, links, extended attributes),
/// sharing blocks where the filesystem can (`cp --reflink=auto`, GNU coreutils).
pub fn copy_tree(source: &Path, destination: &Path) -> Result<(), Error> {
    let output = Command::new("cp")
        .arg("-a")
        .arg("--reflink=auto")
        .arg("--")
        .arg(source)
        .arg(destination)
        .output()
        .map_err(Error::io("run `cp` to copy", source))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(Error::Io {
            action: "copy",
            path: source.to_path_buf(),
            source: std::io::Error::other(
                String::from_utf8_lossy(&output.stderr).trim().to_string(),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo(r"/tmp/a\040b"), "/tmp/a b");
        assert_eq!(unescape_mountinfo(r"/plain"), "/plain");
        assert_eq!(unescape_mountinfo(r"/end\"), r"/end\");
        assert_eq!(unescape_mountinfo(r"/x\134y"), r"/x\y");
    }

    #[test]
    fn remove_tree_deletes_read_only_directories_and_ignores_missing_ones() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let tree = dir.path().join("tree");
        fs::create_dir_all(tree.join("proc/sub")).expect("mkdir");
        fs::write(tree.join("proc/sub/file"), "x").expect("write");
        std::os::unix::fs::symlink("/etc/passwd", tree.join("link")).expect("symlink");
        fs::set_permissions(tree.join("proc"), fs::Permissions::from_mode(0o555)).expect("chmod");
        remove_tree(&tree).expect("removed");
        assert!(!tree.exists());
        assert!(
            Path::new("/etc/passwd").exists(),
            "symlink target untouched"
        );
        remove_tree(&tree).expect("missing tree is fine");
    }

    #[test]
    fn disk_usage_counts_hard_links_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("a"), vec![1u8; 64 * 1024]).expect("write");
        let single = disk_usage(dir.path());
        fs::hard_link(dir.path().join("a"), dir.path().join("b")).expect("link");
        assert_eq!(disk_usage(dir.path()), single);
        assert!(single >= 64 * 1024);
    }
}
