//! Entries as compressed archives: a directory packed into a zstd-compressed tar, and unpacked
//! into a fresh directory without letting any entry write outside it.
//!
//! What a root filesystem needs is kept: every file type a Debian tree holds (files,
//! directories, symlinks, hard links within the tree, device nodes and fifos), full modes
//! (setuid and setgid included), numeric owners and modification times (whole seconds, as
//! tar's ustar/GNU headers carry them). Owners are restored only when running as root (only
//! root may give files away, chown(2)); modes and times always. Sockets are skipped: a socket
//! file is a leftover of a process, not content (GNU tar skips them too, "socket ignored").
//!
//! Packing walks the tree itself rather than using `tar::Builder::append_dir_all`, to record
//! hard links (a Debian buildd tree has a few, e.g. `perl` and `perl5.36.0`) and device numbers,
//! and in sorted order, so the same tree gives the same archive.
//!
//! Unpacking trusts nothing in the archive, signed or not: every path must be relative and free
//! of `..`, every directory on the way must be a real directory made by this unpacking (never a
//! symlink the archive planted earlier), no entry may replace one unpacked before, and a hard
//! link must point at a file unpacked before. Directory modes and times are applied last, so a
//! read-only directory can still be filled and its time is not disturbed by its children.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, Mode, Timespec, Timestamps, CWD};

/// zstd level for entries: level 3 (zstd's default) packs a 446 MiB Debian tree to about a
/// third of its size at well over 100 MiB/s on one core; higher levels cost far more time than
/// the transfer they save on a LAN or in a cloud region.
const COMPRESSION_LEVEL: i32 = 3;

/// Why an archive could not be made or unpacked.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An entry that would write outside the destination or over another entry.
    #[error("refused the archive entry `{entry}`: {reason}")]
    Hostile { entry: String, reason: String },
    /// Not a zstd-compressed tar, or truncated.
    #[error("the archive is damaged: {reason}")]
    Damaged { reason: String },
}

impl ArchiveError {
    fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ArchiveError + 'a {
        move |source| ArchiveError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    fn hostile(entry: &Path, reason: impl Into<String>) -> ArchiveError {
        ArchiveError::Hostile {
            entry: entry.display().to_string(),
            reason: reason.into(),
        }
    }
}

/// What [`pack`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PackSummary {
    /// Entries in the archive (files, directories, links, nodes).
    pub entries: u64,
    /// Bytes of file content before compression.
    pub content_bytes: u64,
}

/// Packs the tree under `directory` (not the directory itself) into `output` as a
/// zstd-compressed tar. Returns the writer, flushed.
pub fn pack<W: Write>(directory: &Path, output: W) -> Result<(W, PackSummary), ArchiveError> {
    let encoder = zstd::Encoder::new(output, COMPRESSION_LEVEL)
        .map_err(ArchiveError::io("start compressing", directory))?;
    let mut builder = tar::Builder::new(encoder);
    let mut summary = PackSummary::default();
    // (device, inode) of every multiply-linked file packed so far → its path in the archive.
    let mut linked: HashMap<(u64, u64), PathBuf> = HashMap::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let absolute = directory.join(&relative);
        let mut names: Vec<_> = fs::read_dir(&absolute)
            .map_err(ArchiveError::io("read", &absolute))?
            .map(|entry| entry.map(|entry| entry.file_name()))
            .collect::<Result<_, _>>()
            .map_err(ArchiveError::io("read", &absolute))?;
        names.sort();
        let mut subdirectories = Vec::new();
        for name in names {
            let relative = relative.join(&name);
            let path = directory.join(&relative);
            let metadata = fs::symlink_metadata(&path).map_err(ArchiveError::io("stat", &path))?;
            let appended = append(&mut builder, &relative, &path, &metadata, &mut linked)
                .map_err(ArchiveError::io("pack", &path))?;
            if appended {
                summary.entries += 1;
                if metadata.is_file() {
                    summary.content_bytes += metadata.len();
                }
            }
            if metadata.is_dir() {
                subdirectories.push(relative);
            }
        }
        // Depth first, in name order (the stack pops the last pushed first).
        pending.extend(subdirectories.into_iter().rev());
    }
    let encoder = builder
        .into_inner()
        .map_err(ArchiveError::io("write the archive of", directory))?;
    let output = encoder
        .finish()
        .map_err(ArchiveError::io("finish compressing", directory))?;
    Ok((output, summary))
}

/// Appends one entry; `false` for what is skipped (sockets).
fn append<W: Write>(
    builder: &mut tar::Builder<W>,
    relative: &Path,
    path: &Path,
    metadata: &fs::Metadata,
    linked: &mut HashMap<(u64, u64), PathBuf>,
) -> io::Result<bool> {
    use std::os::unix::fs::FileTypeExt;
    let file_type = metadata.file_type();
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(metadata, tar::HeaderMode::Complete);
    header.set_size(0);
    if file_type.is_socket() {
        tracing::debug!(path = %path.display(), "socket skipped");
        return Ok(false);
    }
    if !file_type.is_dir() && metadata.nlink() > 1 {
        let identity = (metadata.dev(), metadata.ino());
        if let Some(first) = linked.get(&identity) {
            header.set_entry_type(tar::EntryType::Link);
            builder.append_link(&mut header, relative, first)?;
            return Ok(true);
        }
        linked.insert(identity, relative.to_path_buf());
    }
    if file_type.is_symlink() {
        let target = fs::read_link(path)?;
        builder.append_link(&mut header, relative, target)?;
    } else if file_type.is_file() {
        header.set_size(metadata.len());
        let file = fs::File::open(path)?;
        // A file that changes size while packed would corrupt the stream: take exactly the
        // size in the header (tar-rs pads a short read with an error, not silently).
        builder.append_data(&mut header, relative, file.take(metadata.len()))?;
    } else {
        if file_type.is_char_device() || file_type.is_block_device() {
            let device = metadata.rdev();
            header.set_device_major(rustix::fs::major(device))?;
            header.set_device_minor(rustix::fs::minor(device))?;
        }
        builder.append_data(&mut header, relative, io::empty())?;
    }
    Ok(true)
}

/// What [`unpack`] made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnpackSummary {
    pub entries: u64,
    pub content_bytes: u64,
}

/// A directory whose mode and times are applied after its content.
struct DirectoryMetadata {
    path: PathBuf,
    mode: u32,
    owner: Option<(u32, u32)>,
    mtime: i64,
}

/// Unpacks a zstd-compressed tar into `destination`, which must not exist (it is created).
/// On error, what was unpacked so far stays for the caller to remove.
pub fn unpack<R: Read>(input: R, destination: &Path) -> Result<UnpackSummary, ArchiveError> {
    let damaged = |error: io::Error| ArchiveError::Damaged {
        reason: error.to_string(),
    };
    fs::create_dir(destination).map_err(ArchiveError::io("create", destination))?;
    let decoder = zstd::Decoder::new(input).map_err(damaged)?;
    let mut archive = tar::Archive::new(decoder);
    let as_root = rustix::process::geteuid().is_root();
    let mut summary = UnpackSummary::default();
    let mut directories = Vec::new();
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let relative = safe_relative(&entry.path_bytes())?;
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode().map_err(damaged)? & 0o7777;
        let owner = if as_root {
            Some((
                u32::try_from(header.uid().map_err(damaged)?).unwrap_or(u32::MAX),
                u32::try_from(header.gid().map_err(damaged)?).unwrap_or(u32::MAX),
            ))
        } else {
            None
        };
        let mtime = i64::try_from(header.mtime().map_err(damaged)?).unwrap_or(0);
        if kind.is_pax_global_extensions() {
            continue;
        }
        prepare_parents(destination, &relative)?;
        let path = destination.join(&relative);
        if let Ok(existing) = fs::symlink_metadata(&path) {
            // A directory may be listed twice (tar does so after `--append`); anything else
            // would replace an entry unpacked before — the way to turn a symlink planted by
            // the archive into a write outside the destination.
            if !(kind.is_dir() && existing.is_dir() && !existing.file_type().is_symlink()) {
                return Err(ArchiveError::hostile(
                    &relative,
                    "it replaces an entry unpacked before",
                ));
            }
        }
        if kind.is_dir() {
            if fs::symlink_metadata(&path).is_err() {
                fs::create_dir(&path).map_err(ArchiveError::io("create", &path))?;
            }
            directories.push(DirectoryMetadata {
                path,
                mode,
                owner,
                mtime,
            });
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(ArchiveError::io("create", &path))?;
            let copied = io::copy(&mut entry, &mut file).map_err(damaged)?;
            summary.content_bytes += copied;
            drop(file);
            apply_metadata(&path, mode, owner, mtime, false)?;
        } else if kind.is_symlink() {
            let target = entry
                .link_name_bytes()
                .ok_or_else(|| ArchiveError::hostile(&relative, "a symlink without a target"))?;
            // The target may point anywhere (`/etc/alternatives/…` in every Debian tree):
            // it is never followed here, since nothing is written through an existing path.
            std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path)
                .map_err(ArchiveError::io("create the symlink", &path))?;
            apply_metadata(&path, mode, owner, mtime, true)?;
        } else if kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .ok_or_else(|| ArchiveError::hostile(&relative, "a hard link without a target"))?;
            let target = safe_relative(&target)?;
            prepare_parents(destination, &target)?;
            let source = destination.join(&target);
            match fs::symlink_metadata(&source) {
                Ok(metadata) if !metadata.is_dir() => {}
                _ => {
                    return Err(ArchiveError::hostile(
                        &relative,
                        format!(
                            "a hard link to `{}`, which is not a file unpacked before",
                            target.display()
                        ),
                    ))
                }
            }
            fs::hard_link(&source, &path).map_err(ArchiveError::io("link", &path))?;
        } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            let file_type = if kind.is_fifo() {
                rustix::fs::FileType::Fifo
            } else if kind.is_block_special() {
                rustix::fs::FileType::BlockDevice
            } else {
                rustix::fs::FileType::CharacterDevice
            };
            let major = header.device_major().map_err(damaged)?.unwrap_or(0);
            let minor = header.device_minor().map_err(damaged)?.unwrap_or(0);
            rustix::fs::mknodat(
                CWD,
                &path,
                file_type,
                Mode::from_raw_mode(0o600),
                rustix::fs::makedev(major, minor),
            )
            .map_err(|errno| ArchiveError::Io {
                action: "create the node",
                path: path.clone(),
                source: errno.into(),
            })?;
            apply_metadata(&path, mode, owner, mtime, false)?;
        } else {
            return Err(ArchiveError::hostile(
                &relative,
                format!("entries of type `{kind:?}` are not supported"),
            ));
        }
        summary.entries += 1;
    }
    // Children before parents: a parent's time is set after its last child was made.
    for directory in directories.iter().rev() {
        apply_metadata(
            &directory.path,
            directory.mode,
            directory.owner,
            directory.mtime,
            false,
        )?;
    }
    Ok(summary)
}

/// The entry's path as a relative path of plain names; anything else is refused.
fn safe_relative(bytes: &[u8]) -> Result<PathBuf, ArchiveError> {
    let path = Path::new(OsStr::from_bytes(bytes));
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => relative.push(name),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(ArchiveError::hostile(path, "its path contains `..`"))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(ArchiveError::hostile(path, "its path is absolute"))
            }
        }
    }
    if relative.as_os_str().is_empty() {
        return Err(ArchiveError::hostile(path, "its path is empty"));
    }
    Ok(relative)
}

/// Makes sure every directory above `relative` is a real directory inside `destination`
/// (creating missing ones), never a symlink: unpacking `link/file` after `link -> /etc` would
/// otherwise write into `/etc`.
fn prepare_parents(destination: &Path, relative: &Path) -> Result<(), ArchiveError> {
    let mut current = destination.to_path_buf();
    let Some(parent) = relative.parent() else {
        return Ok(());
    };
    for component in parent.components() {
        current.push(component);
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => {
                return Err(ArchiveError::hostile(
                    relative,
                    format!(
                        "it lies below `{}`, which is not a directory (a symlink planted by the archive?)",
                        current.strip_prefix(destination).unwrap_or(&current).display()
                    ),
                ))
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&current).map_err(ArchiveError::io("create", &current))?;
            }
            Err(error) => return Err(ArchiveError::io("stat", &current)(error)),
        }
    }
    Ok(())
}

/// Owner (as root), then mode (chown(2) clears setuid/setgid, so after it), then times.
fn apply_metadata(
    path: &Path,
    mode: u32,
    owner: Option<(u32, u32)>,
    mtime: i64,
    is_symlink: bool,
) -> Result<(), ArchiveError> {
    let errno = |action: &'static str| {
        move |errno: rustix::io::Errno| ArchiveError::Io {
            action,
            path: path.to_path_buf(),
            source: errno.into(),
        }
    };
    if let Some((uid, gid)) = owner {
        // lchown: a symlink's own owner, never its target's.
        std::os::unix::fs::lchown(path, Some(uid), Some(gid))
            .map_err(ArchiveError::io("set the owner of", path))?;
    }
    if !is_symlink {
        // Symlinks have no mode of their own on Linux (symlink(7)).
        rustix::fs::chmod(path, Mode::from_raw_mode(mode)).map_err(errno("set the mode of"))?;
    }
    let time = Timespec {
        tv_sec: mtime,
        tv_nsec: 0,
    };
    rustix::fs::utimensat(
        CWD,
        path,
        &Timestamps {
            last_access: time,
            last_modification: time,
        },
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(errno("set the time of"))?;
    Ok(())
}
