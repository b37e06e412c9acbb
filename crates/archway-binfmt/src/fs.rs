//! The binfmt_misc filesystem: its `status` switch, its `register` file and one file per entry
//! (fs/binfmt_misc.c: `bm_status_write`, `bm_register_write`, `bm_entry_read`/`bm_entry_write`).
//!
//! The root is injected ([`BinfmtFs::new`]) so tests run against a temporary directory laid out
//! like the real filesystem; [`BinfmtFs::system`] is `/proc/sys/fs/binfmt_misc`.
//!
//! Every write is one `write(2)` call: the kernel parses each call on its own. `register` is
//! opened for appending, which the kernel ignores and which lets a plain file stand in for it.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::entry::{EntryName, Flags, Registration, Rule};
use crate::error::Error;

/// Where the kernel's binfmt_misc filesystem is mounted on every distribution.
pub const SYSTEM_ROOT: &str = "/proc/sys/fs/binfmt_misc";

/// One registered entry, read back from its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub enabled: bool,
    #[serde(flatten)]
    pub registration: Registration,
}

impl Entry {
    pub fn name(&self) -> &EntryName {
        self.registration.name()
    }

    /// Parses an entry file (`bm_entry_read` → `entry_status`):
    /// `enabled|disabled`, `interpreter PATH`, `flags: LETTERS`, then either
    /// `offset N` / `magic HEX` / optional `mask HEX`, or `extension .EXT`.
    pub fn parse(name: &str, text: &str) -> Result<Entry, String> {
        // The kernel ends each line with `\n` alone, and an interpreter or extension may end
        // in `\r`: `str::lines` would drop that `\r` (found by `fuzz/fuzz_targets/binfmt_entry.rs`).
        let mut lines = text.split('\n');
        let enabled = match lines.next() {
            Some("enabled") => true,
            Some("disabled") => false,
            other => {
                return Err(format!(
                    "first line is {other:?}, not `enabled` or `disabled`"
                ))
            }
        };
        let mut interpreter = None;
        let mut flags = None;
        let mut offset = None;
        let mut magic = None;
        let mut mask = None;
        let mut extension = None;
        for line in lines {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "interpreter" => interpreter = Some(value.to_string()),
                "flags:" => {
                    flags = Some(
                        Flags::parse(value)
                            .map_err(|_| format!("unknown flag letters `{value}`"))?,
                    )
                }
                "offset" => {
                    offset = Some(
                        value
                            .parse::<usize>()
                            .map_err(|_| format!("offset `{value}` is not a number"))?,
                    )
                }
                "magic" => magic = Some(unhex(value)?),
                "mask" => mask = Some(unhex(value)?),
                "extension" => {
                    extension = Some(value.strip_prefix('.').unwrap_or(value).to_string())
                }
                _ => {}
            }
        }
        let rule = match (extension, magic) {
            (Some(extension), _) => Rule::Extension { extension },
            (None, Some(magic)) => Rule::Magic {
                offset: offset.unwrap_or(0),
                magic,
                mask,
            },
            (None, None) => return Err("neither `magic` nor `extension` is given".into()),
        };
        let interpreter = interpreter.ok_or("no `interpreter` line")?;
        let name = EntryName::new(name).map_err(|e| e.to_string())?;
        let registration = Registration::new(name, rule, interpreter, flags.unwrap_or_default())
            .map_err(|e| match e {
                Error::InvalidLine { source, .. } => source.rule,
                other => other.to_string(),
            })?;
        Ok(Entry {
            enabled,
            registration,
        })
    }

    /// The file text the kernel shows for this entry (`entry_status`); the inverse of
    /// [`Entry::parse`], used to lay out fake roots in tests.
    pub fn render(&self) -> String {
        let registration = &self.registration;
        let mut text = format!(
            "{}\ninterpreter {}\nflags: {}\n",
            if self.enabled { "enabled" } else { "disabled" },
            registration.interpreter().display(),
            registration.flags()
        );
        match registration.rule() {
            Rule::Extension { extension } => text.push_str(&format!("extension .{extension}\n")),
            Rule::Magic {
                offset,
                magic,
                mask,
            } => {
                text.push_str(&format!(
                    "offset {offset}\nmagic {}\n",
                    crate::entry::hex(magic)
                ));
                if let Some(mask) = mask {
                    text.push_str(&format!("mask {}\n", crate::entry::hex(mask)));
                }
            }
        }
        text
    }
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 {
        return Err(format!("`{text}` has an odd number of hex digits"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("`{text}` is not hex"))
        })
        .collect()
}

/// The global switch in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Enabled,
    Disabled,
}

/// A binfmt_misc filesystem at an injected root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinfmtFs {
    root: PathBuf,
    /// Plain files in a directory standing in for the kernel (see [`BinfmtFs::simulated`]).
    simulated: bool,
}

impl BinfmtFs {
    /// The filesystem at `root`: the kernel's, mounted there (or not yet).
    pub fn new(root: impl Into<PathBuf>) -> BinfmtFs {
        BinfmtFs {
            root: root.into(),
            simulated: false,
        }
    }

    /// A stand-in for tests: an ordinary directory where writes have the kernel's effects
    /// (registering creates the entry file or fails with `EEXIST`/`EINVAL`, or `ENOENT` for a
    /// missing `F` interpreter; `-1`/`0`/`1` remove, disable, enable). Creates `register` and an
    /// enabled `status` if missing. Directory order is the host filesystem's, not newest first.
    pub fn simulated(root: impl Into<PathBuf>) -> Result<BinfmtFs, Error> {
        let root = root.into();
        for (name, text) in [("register", ""), ("status", "enabled\n")] {
            let path = root.join(name);
            if !path.exists() {
                std::fs::write(&path, text).map_err(|e| Error::io("write", &path, e))?;
            }
        }
        Ok(BinfmtFs {
            root,
            simulated: true,
        })
    }

    /// The kernel's filesystem at `/proc/sys/fs/binfmt_misc`.
    pub fn system() -> BinfmtFs {
        BinfmtFs::new(SYSTEM_ROOT)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Mounted: the root has the filesystem's `register` file. (Looking at it triggers systemd's
    /// automount of `/proc/sys/fs/binfmt_misc` where there is one.)
    pub fn is_mounted(&self) -> bool {
        self.root.join("register").exists()
    }

    /// Mounts binfmt_misc at the root (`mount -t binfmt_misc binfmt_misc ROOT`). Does nothing
    /// when it is mounted already; returns whether it mounted.
    pub fn mount(&self) -> Result<bool, Error> {
        if self.is_mounted() {
            return Ok(false);
        }
        // The kernel creates the mount point when binfmt_misc is built in or loaded
        // (`register_sysctl_mount_point("fs/binfmt_misc")`); without it there is none.
        if !self.root.is_dir() {
            return Err(Error::NoKernelSupport {
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("`{}` does not exist", self.root.display()),
                ),
            });
        }
        rustix::mount::mount(
            "binfmt_misc",
            &self.root,
            "binfmt_misc",
            rustix::mount::MountFlags::empty(),
            "",
        )
        .map_err(|errno| {
            let source = std::io::Error::from(errno);
            if errno == rustix::io::Errno::NODEV {
                Error::NoKernelSupport { source }
            } else {
                Error::io("mount binfmt_misc at", &self.root, source)
            }
        })?;
        tracing::info!(root = %self.root.display(), "mounted binfmt_misc");
        Ok(true)
    }

    /// Errors with [`Error::NotMounted`] unless mounted.
    pub fn require_mounted(&self) -> Result<(), Error> {
        if self.is_mounted() {
            Ok(())
        } else {
            Err(Error::NotMounted {
                root: self.root.clone(),
            })
        }
    }

    /// The global switch.
    pub fn status(&self) -> Result<Status, Error> {
        self.require_mounted()?;
        let path = self.root.join("status");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
        match text.trim() {
            "enabled" => Ok(Status::Enabled),
            "disabled" => Ok(Status::Disabled),
            other => Err(Error::InvalidEntryFile {
                path,
                reason: format!("`{other}` is neither `enabled` nor `disabled`"),
            }),
        }
    }

    /// Turns binfmt_misc as a whole on or off (`1` / `0` to `status`).
    pub fn set_status(&self, status: Status) -> Result<(), Error> {
        self.require_mounted()?;
        let value = match status {
            Status::Enabled => "1",
            Status::Disabled => "0",
        };
        self.write_file(&self.root.join("status"), value.as_bytes(), "write")
    }

    /// All entries, in directory order. The kernel matches newest registrations first; the
    /// directory lists entries newest first too (libfs `dcache_readdir` walks the root's children,
    /// to which each new dentry is added at the head), so this order is the kernel's matching
    /// order — except that a name looked up before it was registered (a negative dentry, e.g.
    /// from `ls qemu-foo`) keeps the older position. There is no exact way to read the order from
    /// the filesystem; see [`crate::handler`].
    pub fn entries(&self) -> Result<Vec<Entry>, Error> {
        self.require_mounted()?;
        let reader = std::fs::read_dir(&self.root).map_err(|e| Error::io("list", &self.root, e))?;
        let mut entries = Vec::new();
        for item in reader {
            let item = item.map_err(|e| Error::io("list", &self.root, e))?;
            let name = item.file_name();
            let Some(name) = name.to_str() else { continue };
            if name == "register" || name == "status" {
                continue;
            }
            match self.read_entry(name)? {
                Some(entry) => entries.push(entry),
                None => continue,
            }
        }
        Ok(entries)
    }

    /// The entry called `name`, if registered.
    pub fn entry(&self, name: &str) -> Result<Option<Entry>, Error> {
        self.require_mounted()?;
        if EntryName::new(name).is_err() {
            return Ok(None);
        }
        self.read_entry(name)
    }

    fn read_entry(&self, name: &str) -> Result<Option<Entry>, Error> {
        let path = self.root.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            // Removed between listing and reading.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        Entry::parse(name, &text)
            .map(Some)
            .map_err(|reason| Error::InvalidEntryFile { path, reason })
    }

    /// Registers `registration` (one write to `register`). The kernel answers `EEXIST` for a
    /// taken name and, with the `F` flag, `ENOENT` or `EACCES` when it cannot open the
    /// interpreter; both come back as [`Error::Rejected`] with the errno.
    pub fn register(&self, registration: &Registration) -> Result<(), Error> {
        self.require_mounted()?;
        let path = self.root.join("register");
        let line = registration.render();
        if self.simulated {
            return self.simulate_register(registration, line);
        }
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        match file.write(line.as_bytes()) {
            Ok(n) if n == line.len() => {
                tracing::info!(name = %registration.name(), "registered binfmt_misc entry");
                Ok(())
            }
            Ok(n) => Err(Error::Rejected {
                line,
                source: std::io::Error::other(format!("short write of {n} bytes")),
            }),
            // Not allowed to write at all: not root. Otherwise a permission error comes from
            // the kernel opening an `F` interpreter.
            Err(e) if crate::error::is_permission(&e) && !can_write(&path) => {
                Err(Error::io("write", &path, e))
            }
            Err(source) => Err(Error::Rejected { line, source }),
        }
    }

    /// Removes entry `name` (`-1` to its file).
    pub fn remove(&self, name: &str) -> Result<(), Error> {
        self.write_entry(name, b"-1")
    }

    /// Enables or disables entry `name` (`1` / `0` to its file).
    pub fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), Error> {
        self.write_entry(name, if enabled { b"1" } else { b"0" })
    }

    fn write_entry(&self, name: &str, value: &[u8]) -> Result<(), Error> {
        self.require_mounted()?;
        if self.entry(name)?.is_none() {
            return Err(Error::NoSuchEntry {
                name: name.to_string(),
            });
        }
        self.write_file(&self.root.join(name), value, "write")
    }

    fn write_file(&self, path: &Path, value: &[u8], operation: &'static str) -> Result<(), Error> {
        if self.simulated {
            return self.simulate_write(path, value);
        }
        let mut file = OpenOptions::new()
            .write(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        file.write(value)
            .map(|_| ())
            .map_err(|e| Error::io(operation, path, e))
    }
}

impl BinfmtFs {
    fn simulate_register(&self, registration: &Registration, line: String) -> Result<(), Error> {
        let errno = |errno: rustix::io::Errno| Error::Rejected {
            line: line.clone(),
            source: std::io::Error::from(errno),
        };
        // The kernel re-parses what it is given.
        Registration::parse(&line).map_err(|_| errno(rustix::io::Errno::INVAL))?;
        let path = self.root.join(registration.name().as_str());
        if path.exists() {
            return Err(errno(rustix::io::Errno::EXIST));
        }
        if registration.flags().fix_binary
            && std::fs::File::open(registration.interpreter()).is_err()
        {
            return Err(errno(rustix::io::Errno::NOENT));
        }
        let entry = Entry {
            enabled: true,
            registration: registration.clone(),
        };
        std::fs::write(&path, entry.render()).map_err(|e| Error::io("write", &path, e))
    }

    fn simulate_write(&self, path: &Path, value: &[u8]) -> Result<(), Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        let is_status = path.file_name() == Some(std::ffi::OsStr::new("status"));
        let enabled = match value {
            b"1" => "enabled",
            b"0" => "disabled",
            b"-1" if is_status => {
                for entry in self.entries()? {
                    let entry_path = self.root.join(entry.name().as_str());
                    std::fs::remove_file(&entry_path)
                        .map_err(|e| Error::io("remove", &entry_path, e))?;
                }
                return Ok(());
            }
            b"-1" => return std::fs::remove_file(path).map_err(|e| Error::io("remove", path, e)),
            _ => {
                return Err(Error::io(
                    "write",
                    path,
                    std::io::Error::from(rustix::io::Errno::INVAL),
                ))
            }
        };
        let rest = text.split_once('\n').map(|(_, rest)| rest).unwrap_or("");
        let new_text = if is_status {
            format!("{enabled}\n")
        } else {
            format!("{enabled}\n{rest}")
        };
        std::fs::write(path, new_text).map_err(|e| Error::io("write", path, e))
    }
}

/// Whether we may write `path` at all: tells "not root" apart from the kernel failing to open an
/// `F` interpreter with a permission error.
fn can_write(path: &Path) -> bool {
    rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const QEMU_ARM_FILE: &str = "enabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\nflags: POF\noffset 0\nmagic 7f454c4601010100000000000000000002002800\nmask ffffffffffffff00fffffffffffffffffeffffff\n";

    #[test]
    fn parses_kernel_entry_file() {
        let entry = Entry::parse("qemu-arm", QEMU_ARM_FILE).expect("valid");
        assert!(entry.enabled);
        assert_eq!(entry.registration.flags().to_string(), "POF");
        assert_eq!(entry.render(), QEMU_ARM_FILE);
    }

    #[test]
    fn parses_extension_entry_file() {
        let text = "disabled\ninterpreter /usr/bin/wine\nflags: \nextension .exe\n";
        let entry = Entry::parse("wine", text).expect("valid");
        assert!(!entry.enabled);
        assert_eq!(
            entry.registration.rule(),
            &Rule::Extension {
                extension: "exe".into()
            }
        );
        assert_eq!(entry.render(), text);
    }

    #[test]
    fn rejects_garbage_entry_file() {
        assert!(Entry::parse("x", "maybe\n").is_err());
        assert!(Entry::parse(
            "x",
            "enabled\ninterpreter /q\nflags: \noffset 0\nmagic 7g\n"
        )
        .is_err());
        assert!(Entry::parse("x", "enabled\nflags: \noffset 0\nmagic 7f\n").is_err());
    }

    #[test]
    fn unmounted_root_says_not_mounted() {
        let root = tempfile::tempdir().expect("tempdir");
        let fs = BinfmtFs::new(root.path());
        assert!(!fs.is_mounted());
        assert!(matches!(fs.entries(), Err(Error::NotMounted { .. })));
        assert!(matches!(fs.status(), Err(Error::NotMounted { .. })));
    }
}
