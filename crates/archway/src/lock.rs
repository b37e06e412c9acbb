//! One build per build directory at a time: an exclusive `flock(2)` on
//! `<build dir>/.archway/lock`, held from before configure to the end of the tests.
//!
//! Two builds of one directory would run two `make`s over the same objects and race on the
//! configure stamp; builds of different directories (other targets) never wait for each other.
//! The kernel releases the lock when its holder ends, however it ends, so a lock is never
//! stale; the holder writes its pid into the file only to name it in the waiting message.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use archway_platform::Reporter;
use rustix::fs::FlockOperation;

use crate::Error;

/// What a build does when another one holds its build directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockWait {
    /// Say so and wait for it to finish.
    #[default]
    Wait,
    /// Fail at once ([`Error::BuildDirBusy`], `--no-wait`).
    Fail,
}

/// The build directory's lock, held until dropped.
#[derive(Debug)]
pub struct BuildDirLock {
    _file: File,
    path: PathBuf,
}

impl BuildDirLock {
    /// Locks `build_dir` (creating `<build dir>/.archway/`), waiting for another holder or
    /// failing as `wait` says; the wait is reported through `reporter`.
    pub fn acquire(
        build_dir: &Path,
        wait: LockWait,
        reporter: &dyn Reporter,
    ) -> Result<BuildDirLock, Error> {
        let directory = build_dir.join(".archway");
        std::fs::create_dir_all(&directory).map_err(|source| Error::Io {
            action: "create directory",
            path: directory.clone(),
            source,
        })?;
        let path = directory.join("lock");
        let io = |action: &'static str| {
            let path = path.clone();
            move |source| Error::Io {
                action,
                path,
                source,
            }
        };
        // Not truncated on open: the holder's pid is in it.
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("open the lock"))?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                let holder = holder(&mut file);
                if wait == LockWait::Fail {
                    return Err(Error::BuildDirBusy {
                        dir: build_dir.to_path_buf(),
                        pid: holder,
                    });
                }
                let pid = holder
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                reporter.note(&format!(
                    "waiting for another archway build of `{}`{pid} to finish...",
                    build_dir.display()
                ));
                flock(&file, FlockOperation::LockExclusive).map_err(io("lock"))?;
            }
            Err(error) => return Err(io("lock")(error)),
        }
        let pid = format!("{}\n", std::process::id());
        file.set_len(0).map_err(io("write"))?;
        file.write_all_at(pid.as_bytes(), 0).map_err(io("write"))?;
        Ok(BuildDirLock { _file: file, path })
    }

    /// `<build dir>/.archway/lock`.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `flock(2)`, again after a signal interrupted the wait (a handled SIGCONT, say).
fn flock(file: &File, operation: FlockOperation) -> std::io::Result<()> {
    loop {
        match rustix::fs::flock(file, operation) {
            Err(rustix::io::Errno::INTR) => continue,
            result => return result.map_err(std::io::Error::from),
        }
    }
}

/// The pid the holder wrote (none while it is still writing it).
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_platform::testing::Notes;

    #[test]
    fn a_second_lock_of_one_directory_fails_or_waits_and_others_do_not() {
        let temp = tempfile::tempdir().expect("temp dir");
        let build_dir = temp.path().join("build");
        let notes = Notes::default();
        let first = BuildDirLock::acquire(&build_dir, LockWait::Fail, &notes).expect("free");
        let written = std::fs::read_to_string(first.path()).expect("lock file");
        assert_eq!(written, format!("{}\n", std::process::id()));

        // flock(2) locks belong to the open file description: a second open conflicts even
        // in the same process.
        let error = BuildDirLock::acquire(&build_dir, LockWait::Fail, &notes).expect_err("busy");
        assert!(
            matches!(&error, Error::BuildDirBusy { dir, pid: Some(pid) }
                if dir == &build_dir && *pid == std::process::id()),
            "{error:?}"
        );
        assert_eq!(error.exit_code(), 1);
        assert!(error.hint().is_some_and(|hint| hint.contains("--no-wait")));

        // Another build directory is another lock.
        let other = temp.path().join("other");
        BuildDirLock::acquire(&other, LockWait::Fail, &notes).expect("another directory");

        let waiter = {
            let build_dir = build_dir.clone();
            std::thread::spawn(move || {
                let notes = Notes::default();
                let lock = BuildDirLock::acquire(&build_dir, LockWait::Wait, &notes);
                (lock.is_ok(), notes.all())
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!waiter.is_finished(), "waits while the first holds it");
        drop(first);
        let (locked, notes) = waiter.join().expect("waiter");
        assert!(locked);
        assert_eq!(
            notes,
            [format!(
                "waiting for another archway build of `{}` (pid {}) to finish...",
                build_dir.display(),
                std::process::id()
            )]
        );
    }
}
