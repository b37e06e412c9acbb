//! The sandboxed runner: a command inside a root filesystem with bubblewrap (`bwrap`).
//!
//! What the sandbox sees (bwrap(1)):
//! - the root filesystem read-only, as `/`;
//! - the paths given to [`Sandbox::bind`] (the project, its build directory) read-write at the
//!   same paths as on the host, so paths in logs and error messages match;
//! - a fresh `/proc` (`--proc`), a minimal `/dev` (`--dev`), tmpfs `/tmp`, `/var/tmp` and `/run`;
//! - no network (`--unshare-net`) unless [`Sandbox::network`] is set;
//! - nothing else of the host, and the root itself is remounted read-only (`--remount-ro /`),
//!   so a build that writes anywhere else fails with "Read-only file system".
//!
//! Mount points for the binds must be created inside a read-only tree without changing it, so
//! the new root is bwrap's own tmpfs: every top-level entry of the root filesystem is bound
//! read-only onto it, and a directory that is an ancestor of a bind is recreated on the tmpfs
//! with its other entries bound one by one ("carving" a path down to the bind).

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use crate::Error;

/// `PATH` inside the sandbox: Debian's default for root (`/etc/login.defs` ENV_SUPATH).
const SANDBOX_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Top-level directories the sandbox provides itself instead of taking them from the tree.
const PROVIDED: [&str; 5] = ["proc", "dev", "sys", "tmp", "run"];

/// A command runner inside one root filesystem.
#[derive(Debug, Clone)]
pub struct Sandbox {
    tree: PathBuf,
    writable: Vec<PathBuf>,
    read_only: Vec<PathBuf>,
    network: bool,
    writable_root: bool,
    interactive: bool,
    working_directory: Option<PathBuf>,
    environment: Vec<(OsString, OsString)>,
    bwrap: PathBuf,
}

impl Sandbox {
    /// A sandbox over the root filesystem tree at `tree` (e.g. [`crate::Rootfs::tree`]).
    pub fn new(tree: impl Into<PathBuf>) -> Sandbox {
        Sandbox {
            tree: tree.into(),
            writable: Vec::new(),
            read_only: Vec::new(),
            network: false,
            writable_root: false,
            interactive: false,
            working_directory: None,
            environment: Vec::new(),
            bwrap: PathBuf::from("bwrap"),
        }
    }

    /// Binds a host directory read-write at the same path (the project, the build directory).
    pub fn bind(mut self, path: impl Into<PathBuf>) -> Sandbox {
        self.writable.push(path.into());
        self
    }

    /// Binds a host path read-only at the same path (e.g. a binfmt interpreter without the
    /// `F` flag, which the kernel opens by path inside the sandbox).
    pub fn bind_read_only(mut self, path: impl Into<PathBuf>) -> Sandbox {
        self.read_only.push(path.into());
        self
    }

    /// Shares the host's network (and its `/etc/resolv.conf`); off by default.
    pub fn network(mut self, enabled: bool) -> Sandbox {
        self.network = enabled;
        self
    }

    /// Makes the whole tree writable and keeps root's capabilities: only for installing
    /// packages into a tree that is not yet in the cache (a derived root filesystem).
    pub fn writable_root(mut self, enabled: bool) -> Sandbox {
        self.writable_root = enabled;
        self
    }

    /// Keeps the controlling terminal usable (a shell); otherwise the command gets a new
    /// session (`--new-session`, so it cannot push input into the caller's terminal).
    pub fn interactive(mut self, enabled: bool) -> Sandbox {
        self.interactive = enabled;
        self
    }

    /// The working directory inside the sandbox (default: the first bind, else `/`).
    pub fn current_dir(mut self, path: impl Into<PathBuf>) -> Sandbox {
        self.working_directory = Some(path.into());
        self
    }

    /// Sets an environment variable inside (the environment is otherwise cleared).
    pub fn env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Sandbox {
        self.environment.push((name.into(), value.into()));
        self
    }

    /// The bwrap program to run (default: `bwrap` from `PATH`).
    pub fn bwrap_program(mut self, program: impl Into<PathBuf>) -> Sandbox {
        self.bwrap = program.into();
        self
    }

    /// The bwrap arguments that set up the sandbox (everything before the command).
    pub fn arguments(&self) -> Result<Vec<OsString>, Error> {
        let mut arguments = Arguments::default();
        for path in self.writable.iter().chain(&self.read_only) {
            check_bind_path(path)?;
        }
        if self.writable_root {
            arguments.push(["--bind"]).path(&self.tree).push(["/"]);
        } else {
            let binds: Vec<&Path> = self
                .writable
                .iter()
                .chain(&self.read_only)
                .map(PathBuf::as_path)
                .collect();
            carve(&mut arguments, &self.tree, Path::new("/"), &binds)?;
        }
        // /tmp and /var/tmp sticky and world-writable as on any system (bwrap's tmpfs default
        // is 0755): apt's unprivileged `_apt` methods write their temporary files there.
        arguments.push(["--proc", "/proc", "--dev", "/dev"]);
        arguments.push(["--perms", "1777", "--tmpfs", "/tmp", "--tmpfs", "/run"]);
        if !self.writable_root && self.tree.join("var/tmp").is_dir() {
            arguments.push(["--perms", "1777", "--tmpfs", "/var/tmp"]);
        }
        for path in &self.writable {
            arguments.push(["--bind"]).path(path).path(path);
        }
        for path in &self.read_only {
            arguments.push(["--ro-bind"]).path(path).path(path);
        }
        if self.network {
            // Only over an existing regular file: the tree is read-only, so bwrap could not
            // create the mount point.
            let inside = self.tree.join("etc/resolv.conf");
            let regular = fs::symlink_metadata(&inside).is_ok_and(|metadata| metadata.is_file());
            if regular && Path::new("/etc/resolv.conf").exists() {
                arguments.push(["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"]);
            }
        } else {
            arguments.push(["--unshare-net"]);
        }
        arguments.push([
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ]);
        arguments.push(["--hostname", "archway", "--die-with-parent"]);
        if !self.interactive {
            arguments.push(["--new-session"]);
        }
        if !self.writable_root {
            arguments.push(["--remount-ro", "/"]);
            if rustix::process::geteuid().is_root() {
                // Root inside without capabilities: it owns the files it made in the
                // project, but cannot remount, mount or bypass permissions.
                arguments.push(["--cap-drop", "ALL"]);
            }
        }
        arguments.push(["--clearenv", "--setenv", "PATH", SANDBOX_PATH]);
        arguments.push(["--setenv", "HOME", "/tmp", "--setenv", "LC_ALL", "C.UTF-8"]);
        if let Some(term) = std::env::var_os("TERM") {
            arguments.push(["--setenv"]).push(["TERM"]).os(&term);
        }
        for (name, value) in &self.environment {
            arguments.push(["--setenv"]).os(name).os(value);
        }
        let working_directory = self
            .working_directory
            .clone()
            .or_else(|| self.writable.first().cloned())
            .unwrap_or_else(|| PathBuf::from("/"));
        arguments.push(["--chdir"]).path(&working_directory);
        Ok(arguments.0)
    }

    /// The full `bwrap ... -- program args` command, ready to spawn.
    pub fn command<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Result<Command, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(&self.bwrap);
        command
            .args(self.arguments()?)
            .arg("--")
            .arg(program)
            .args(args);
        Ok(command)
    }
}

#[derive(Default)]
struct Arguments(Vec<OsString>);

impl Arguments {
    fn push<const N: usize>(&mut self, items: [&str; N]) -> &mut Arguments {
        self.0.extend(items.iter().map(OsString::from));
        self
    }
    fn path(&mut self, path: &Path) -> &mut Arguments {
        self.0.push(path.as_os_str().to_os_string());
        self
    }
    fn os(&mut self, value: &OsStr) -> &mut Arguments {
        self.0.push(value.to_os_string());
        self
    }
}

/// A bind must be absolute, normal (no `..`), and not inside what the sandbox provides itself.
fn check_bind_path(path: &Path) -> Result<(), Error> {
    let unsupported = |reason| Error::UnsupportedBindPath {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_absolute() {
        return Err(unsupported("it is not an absolute path"));
    }
    if path
        .components()
        .any(|component| matches!(component, Component::ParentDir | Component::CurDir))
    {
        return Err(unsupported("it contains `.` or `..`"));
    }
    let top = path
        .components()
        .nth(1)
        .map(|component| component.as_os_str());
    match top {
        None => Err(unsupported("the whole filesystem cannot be bound")),
        Some(top)
            if ["proc", "dev", "sys"]
                .iter()
                .any(|provided| top == OsStr::new(provided)) =>
        {
            Err(unsupported(
                "the sandbox provides its own `/proc`, `/dev` and `/sys`",
            ))
        }
        Some(_) => Ok(()),
    }
}

/// Binds the entries of `host_directory` (a directory of the tree) at `inside`, recursing into
/// directories that contain a bind destination instead of binding them whole.
fn carve(
    arguments: &mut Arguments,
    host_directory: &Path,
    inside: &Path,
    binds: &[&Path],
) -> Result<(), Error> {
    let mut entries: Vec<_> = fs::read_dir(host_directory)
        .map_err(Error::io("read", host_directory))?
        .flatten()
        .collect();
    entries.sort_by_key(|entry| entry.file_name());
    let at_top = inside == Path::new("/");
    for entry in entries {
        let name = entry.file_name();
        if at_top && PROVIDED.iter().any(|provided| name == OsStr::new(provided)) {
            continue;
        }
        let destination = inside.join(&name);
        let source = entry.path();
        if binds.iter().any(|bind| *bind == destination) {
            continue; // the bind itself covers it; bwrap creates the mount point on the tmpfs
        }
        let contains_bind = binds.iter().any(|bind| bind.starts_with(&destination));
        let metadata = fs::symlink_metadata(&source).map_err(Error::io("inspect", &source))?;
        if metadata.file_type().is_symlink() {
            if contains_bind {
                return Err(Error::UnsupportedBindPath {
                    path: destination,
                    reason: "it is a symbolic link in the root filesystem",
                });
            }
            let target = fs::read_link(&source).map_err(Error::io("read", &source))?;
            arguments
                .push(["--symlink"])
                .path(&target)
                .path(&destination);
        } else if contains_bind && metadata.is_dir() {
            arguments.push(["--dir"]).path(&destination);
            carve(arguments, &source, &destination, binds)?;
        } else {
            arguments
                .push(["--ro-bind"])
                .path(&source)
                .path(&destination);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for directory in [
            "usr/bin", "etc", "home", "var/lib", "var/tmp", "proc", "tmp", "dev", "root",
        ] {
            fs::create_dir_all(dir.path().join(directory)).expect("mkdir");
        }
        std::os::unix::fs::symlink("usr/bin", dir.path().join("bin")).expect("symlink");
        fs::write(dir.path().join("etc/resolv.conf"), "").expect("write");
        dir
    }

    fn strings(arguments: &[OsString]) -> Vec<String> {
        arguments
            .iter()
            .map(|argument| argument.to_string_lossy().into_owned())
            .collect()
    }

    fn contains_sequence(haystack: &[String], needle: &[&str]) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window.iter().zip(needle).all(|(a, b)| a == b))
    }

    #[test]
    fn the_tree_is_bound_read_only_and_the_project_read_write() {
        let tree = fake_tree();
        let root = tree.path().to_string_lossy().into_owned();
        let sandbox = Sandbox::new(tree.path()).bind("/home/user/project");
        let arguments = strings(&sandbox.arguments().expect("arguments"));
        assert!(contains_sequence(
            &arguments,
            &["--ro-bind", &format!("{root}/usr"), "/usr"]
        ));
        assert!(contains_sequence(
            &arguments,
            &["--symlink", "usr/bin", "/bin"]
        ));
        // /home is carved: recreated on the tmpfs, the project bound inside it.
        assert!(contains_sequence(&arguments, &["--dir", "/home"]));
        assert!(!arguments
            .iter()
            .any(|argument| argument == &format!("{root}/home")));
        assert!(contains_sequence(
            &arguments,
            &["--bind", "/home/user/project", "/home/user/project"]
        ));
        assert!(contains_sequence(&arguments, &["--remount-ro", "/"]));
        assert!(contains_sequence(&arguments, &["--unshare-net"]));
        assert!(contains_sequence(
            &arguments,
            &["--chdir", "/home/user/project"]
        ));
        assert!(!arguments
            .iter()
            .any(|argument| argument == &format!("{root}/proc")));
        assert!(contains_sequence(
            &arguments,
            &["--proc", "/proc", "--dev", "/dev"]
        ));
    }

    #[test]
    fn carving_keeps_the_siblings_of_a_bind() {
        let tree = fake_tree();
        let root = tree.path().to_string_lossy().into_owned();
        let arguments = strings(
            &Sandbox::new(tree.path())
                .bind("/var/tmp/project")
                .arguments()
                .expect("arguments"),
        );
        assert!(contains_sequence(&arguments, &["--dir", "/var"]));
        assert!(contains_sequence(
            &arguments,
            &["--ro-bind", &format!("{root}/var/lib"), "/var/lib"]
        ));
        assert!(contains_sequence(&arguments, &["--dir", "/var/tmp"]));
    }

    #[test]
    fn network_shares_resolv_conf_instead_of_unsharing() {
        let tree = fake_tree();
        let arguments = strings(
            &Sandbox::new(tree.path())
                .network(true)
                .arguments()
                .expect("arguments"),
        );
        assert!(!arguments.contains(&"--unshare-net".to_string()));
        if Path::new("/etc/resolv.conf").exists() {
            assert!(contains_sequence(
                &arguments,
                &["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"]
            ));
        }
    }

    #[test]
    fn writable_root_binds_the_tree_itself() {
        let tree = fake_tree();
        let root = tree.path().to_string_lossy().into_owned();
        let arguments = strings(
            &Sandbox::new(tree.path())
                .writable_root(true)
                .arguments()
                .expect("arguments"),
        );
        assert!(contains_sequence(&arguments, &["--bind", &root, "/"]));
        assert!(!arguments.contains(&"--remount-ro".to_string()));
        assert!(!arguments.contains(&"--cap-drop".to_string()));
    }

    #[test]
    fn bind_paths_are_checked() {
        let tree = fake_tree();
        for bad in [
            "relative/path",
            "/proc/self",
            "/dev/shm/x",
            "/",
            "/home/../etc",
            "/bin/project",
        ] {
            let result = Sandbox::new(tree.path()).bind(bad).arguments();
            assert!(result.is_err(), "{bad}");
        }
        assert!(Sandbox::new(tree.path())
            .bind("/tmp/project")
            .arguments()
            .is_ok());
        assert!(Sandbox::new(tree.path())
            .bind("/srv/new/place")
            .arguments()
            .is_ok());
    }

    #[test]
    fn environment_is_cleared_then_set() {
        let tree = fake_tree();
        let arguments = strings(
            &Sandbox::new(tree.path())
                .env("CFLAGS", "-O2")
                .arguments()
                .expect("arguments"),
        );
        let clear = arguments
            .iter()
            .position(|argument| argument == "--clearenv")
            .expect("clearenv");
        let set = arguments
            .iter()
            .position(|argument| argument == "CFLAGS")
            .expect("CFLAGS");
        assert!(clear < set);
        assert!(contains_sequence(
            &arguments,
            &["--setenv", "CFLAGS", "-O2"]
        ));
    }
}
