//! Running the target's programs on this host: a temporary binfmt_misc entry for as long as
//! something (a test suite, `make check`) needs to `exec` foreign binaries directly.
//!
//! Build systems that know an emulator (CMake's `CMAKE_CROSSCOMPILING_EMULATOR`, Meson's
//! `exe_wrapper`, Cargo's runner) prefix test programs with it. Makefiles and test scripts just
//! run `./example`, which only works when the kernel hands the foreign ELF file to QEMU: a
//! binfmt_misc entry. [`TemporaryRegistration`] makes sure one exists for the duration and
//! removes what it added — never an entry it did not create. Windows programs (`make check`
//! running `./example.exe`) get Wine's `MZ` entry and WASI modules the WASI runtime's `\0asm`
//! entry the same way, with archway's runner (`archway_toolchain::runner`) as the interpreter.
//!
//! ```no_run
//! # fn main() -> Result<(), archway::Error> {
//! let target = archway::platform::Platform::parse("riscv64").unwrap();
//! // `None`: an existing entry (or the host itself) runs riscv64 programs already.
//! let registration = archway::emulation::TemporaryRegistration::for_target(&target)?;
//! // ... run `make check` ...
//! drop(registration); // the temporary entry, if one was made, is removed
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use archway_binfmt::handler::{handler_for, native_targets};
use archway_binfmt::{magic, BinfmtFs, EntryName, Flags, Handler};
use archway_platform::Platform;

use crate::Error;

/// A binfmt_misc entry this process registered, shared by everyone in the process who needs
/// the same emulator, and removed when the last of them drops it.
#[derive(Debug, Clone)]
pub struct TemporaryRegistration {
    shared: Arc<Registered>,
}

#[derive(Debug)]
struct Registered {
    fs: BinfmtFs,
    name: EntryName,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Err(error) = self.fs.remove(self.name.as_str()) {
            tracing::warn!(entry = self.name.as_str(), %error, "could not remove the temporary binfmt_misc entry");
        }
    }
}

/// Temporary entries are named `archway-tmp-<pid>-<qemu>` (or `-wine`, `-wasm32-wasi`).
pub const TEMPORARY_PREFIX: &str = "archway-tmp-";

/// The live registrations of this process, by binfmt_misc root and QEMU name.
type Live = HashMap<(PathBuf, &'static str), Weak<Registered>>;

fn live() -> &'static Mutex<Live> {
    static LIVE: std::sync::OnceLock<Mutex<Live>> = std::sync::OnceLock::new();
    LIVE.get_or_init(|| Mutex::new(HashMap::new()))
}

impl TemporaryRegistration {
    /// Makes sure this host can `exec` `target`'s programs, on the system's binfmt_misc with
    /// QEMU found on `PATH`. `Ok(None)`: the host runs them natively or an enabled entry
    /// handles them already; nothing was registered.
    pub fn for_target(target: &Platform) -> Result<Option<TemporaryRegistration>, Error> {
        let directories = archway_binfmt::interpreter::path_directories();
        TemporaryRegistration::for_target_in(&BinfmtFs::system(), target, &directories)
    }

    /// [`TemporaryRegistration::for_target`] with the filesystem and the directories searched
    /// for `qemu-<cpu>-static` injected.
    pub fn for_target_in(
        fs: &BinfmtFs,
        target: &Platform,
        interpreter_directories: &[PathBuf],
    ) -> Result<Option<TemporaryRegistration>, Error> {
        // QEMU for Linux programs; Wine's `MZ` and the WASI runtime's `\0asm` entries
        // (NixOS's `boot.binfmt.emulatedSystems`) for Windows programs and WASI modules.
        let kind = match (
            magic::for_platform(target),
            archway_binfmt::runtime::for_platform(target),
        ) {
            (Some(qemu), _) => Kind::Qemu(qemu),
            (None, Some(runtime)) => Kind::Runtime(runtime),
            (None, None) => {
                return Err(Error::NoEmulator {
                    target: target.config(),
                })
            }
        };
        let no_emulation = || Error::NoEmulation {
            target: target.config(),
            arch: kind.name().to_string(),
        };
        let binfmt = |source| Error::Binfmt {
            target: target.config(),
            source,
        };
        // Held across the check and the registration: threads asking for the same emulator
        // get the same entry.
        let mut live = live()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (fs.root().to_path_buf(), kind.name());
        if let Some(shared) = live.get(&key).and_then(Weak::upgrade) {
            return Ok(Some(TemporaryRegistration { shared }));
        }
        // A header the target's rule matches: its magic, padded to the kernel's buffer size.
        let mut header = kind.magic().to_vec();
        header.resize(128, 0);
        let native = native_targets(&magic::host_family());
        let probe = Path::new("/archway-probe");
        let handler = if fs.is_mounted() {
            remove_abandoned(fs);
            let entries = fs.entries().map_err(binfmt)?;
            let status = fs.status().map_err(binfmt)?;
            handler_for(&entries, status, &native, &header, probe)
        } else {
            handler_for(
                &[],
                archway_binfmt::Status::Disabled,
                &native,
                &header,
                probe,
            )
        };
        match handler {
            // Another archway process's temporary entry goes away when that process is done:
            // not something to rely on.
            Handler::Entry { name, .. } if name.as_str().starts_with(TEMPORARY_PREFIX) => {}
            Handler::Entry { .. } | Handler::Native => return Ok(None),
            Handler::Script { .. } | Handler::None => {}
        }
        if !rustix::process::geteuid().is_root() {
            return Err(no_emulation());
        }
        if !fs.is_mounted() {
            fs.mount().map_err(binfmt)?;
        }
        let interpreter = match kind {
            Kind::Qemu(qemu) => {
                let (interpreter, _tried) =
                    archway_binfmt::interpreter::find(qemu.emulator_cpu(), interpreter_directories);
                interpreter.ok_or_else(no_emulation)?
            }
            // archway's runner: Wine in archway's own prefix, or the WASI runtime with the
            // host's directories preopened (`archway_toolchain::runner`).
            Kind::Runtime(_) => {
                let cache_dir = crate::cache::cache_dir().ok_or(Error::NoCacheDir)?;
                let search_path = std::env::join_paths(interpreter_directories).unwrap_or_default();
                archway_toolchain::runner(target, &cache_dir, None, &search_path)?
            }
        };
        let name = EntryName::new(format!(
            "{TEMPORARY_PREFIX}{}-{}",
            std::process::id(),
            kind.name()
        ))
        .map_err(binfmt)?;
        // F: the kernel opens the interpreter now, so programs run in any mount namespace.
        // P, when QEMU understands it: a program sees the argv[0] it was started with, not
        // its full path (sed's tests compare messages that start with `sed:`), as it would
        // natively. archway's Wine and WASI runners take no `P`.
        let flags = Flags {
            fix_binary: true,
            preserve_argv0: matches!(kind, Kind::Qemu(_))
                && archway_binfmt::interpreter::PreserveArgv0::detect().supported(&interpreter),
            ..Flags::default()
        };
        let registration = match kind {
            Kind::Qemu(qemu) => qemu.registration(name.clone(), interpreter, flags),
            Kind::Runtime(runtime) => runtime.registration(name.clone(), interpreter, flags),
        }
        .map_err(binfmt)?;
        fs.register(&registration).map_err(|source| {
            if source.is_permission_denied() {
                no_emulation()
            } else {
                binfmt(source)
            }
        })?;
        tracing::info!(
            entry = name.as_str(),
            "registered a temporary binfmt_misc entry"
        );
        let shared = Arc::new(Registered {
            fs: fs.clone(),
            name,
        });
        live.insert(key, Arc::downgrade(&shared));
        // A signal between the build's steps ends archway without running the drop.
        static UNDO: std::sync::Once = std::sync::Once::new();
        UNDO.call_once(|| crate::process::on_interrupt(remove_live));
        Ok(Some(TemporaryRegistration { shared }))
    }

    /// The entry's name (`archway-tmp-<pid>-<qemu>`, `archway-tmp-<pid>-wine`).
    pub fn name(&self) -> &str {
        self.shared.name.as_str()
    }
}

/// Before a signal ends archway between steps ([`crate::process::on_interrupt`]): removes
/// this process's temporary entries, which their drop would have removed.
fn remove_live() {
    let live = live()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for registered in live.values().filter_map(Weak::upgrade) {
        match registered.fs.remove(registered.name.as_str()) {
            Ok(()) => tracing::info!(
                entry = registered.name.as_str(),
                "interrupted: removed the temporary binfmt_misc entry"
            ),
            // Its drop may have run meanwhile, on the thread that was ending the build.
            Err(archway_binfmt::Error::NoSuchEntry { .. }) => {}
            Err(error) => tracing::warn!(
                entry = registered.name.as_str(),
                %error,
                "could not remove the temporary binfmt_misc entry"
            ),
        }
        // The upgraded reference must not run the drop, which would try again.
        std::mem::forget(registered);
    }
}

/// Removes the temporary entries of archway processes that are gone (killed before they could
/// remove their own: SIGKILL, a crash), so an interrupted run leaves nothing the next one does
/// not repair. Only `archway-tmp-<pid>-…` names whose process does not exist; as root only.
fn remove_abandoned(fs: &BinfmtFs) {
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let Ok(entries) = fs.entries() else {
        return;
    };
    for entry in entries {
        let name = entry.name().as_str();
        let Some(pid) = abandoned_pid(name) else {
            continue;
        };
        if rustix::process::Pid::from_raw(pid).is_none_or(|pid| !gone(pid)) {
            continue;
        }
        match fs.remove(name) {
            Ok(()) => tracing::info!(
                entry = name,
                "removed the temporary binfmt_misc entry of a process that is gone"
            ),
            Err(error) => {
                tracing::warn!(entry = name, %error, "could not remove an abandoned temporary entry")
            }
        }
    }
}

/// The process id in a temporary entry's name (`archway-tmp-<pid>-<emulator>`); `None` for
/// other names (the tests' `archway-tmp-test-…` included).
fn abandoned_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(TEMPORARY_PREFIX)?;
    let (pid, emulator) = rest.split_once('-')?;
    if emulator.is_empty() || pid.is_empty() || !pid.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok().filter(|pid| *pid > 0)
}

/// Whether a build may rely on the binfmt_misc entry `name` for its whole run: any entry but
/// another archway process's temporary one, which goes when that process ends (a build that
/// took it would lose its emulator halfway). A temporary entry of this process or of one of its
/// ancestors (a test harness, a wrapper) outlives this process, so it counts.
pub fn lasting_entry(name: &str) -> bool {
    match abandoned_pid(name) {
        None => true,
        Some(pid) => ancestors().contains(&pid),
    }
}

/// This process's id and its ancestors' (`/proc/<pid>/stat`'s parent ids, up to 1).
fn ancestors() -> Vec<i32> {
    let mut chain = vec![std::process::id() as i32];
    while let Some(&pid) = chain.last() {
        let Some(parent) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| parent_of(&stat))
        else {
            break;
        };
        if parent <= 0 || chain.contains(&parent) {
            break;
        }
        chain.push(parent);
    }
    chain
}

/// The parent id in a `/proc/<pid>/stat` line: the field after the state, which follows the
/// command name's closing parenthesis (the name itself may hold spaces and parentheses).
fn parent_of(stat: &str) -> Option<i32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether signalling `pid` failed because no such process exists (not for lack of rights).
fn gone(pid: rustix::process::Pid) -> bool {
    rustix::process::test_kill_process(pid) == Err(rustix::io::Errno::SRCH)
}

/// Who runs the target's programs: a QEMU target or a non-QEMU runtime (Wine, WASI).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Qemu(&'static magic::QemuTarget),
    Runtime(&'static archway_binfmt::runtime::RuntimeTarget),
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Qemu(qemu) => qemu.name(),
            Kind::Runtime(runtime) => runtime.name(),
        }
    }

    fn magic(self) -> &'static [u8] {
        match self {
            Kind::Qemu(qemu) => qemu.magic(),
            Kind::Runtime(runtime) => runtime.magic(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_another_processs_temporary_entry_is_not_relied_on() {
        assert!(lasting_entry("qemu-aarch64"));
        assert!(lasting_entry("archway-aarch64"));
        // The tests' own names carry no process id.
        assert!(lasting_entry("archway-tmp-test-cache-aarch64-12-0"));
        assert!(lasting_entry(&format!(
            "archway-tmp-{}-aarch64",
            std::process::id()
        )));
        // The parent (the test harness's runner, or a shell) outlives this process.
        let parent = rustix::process::getppid().map_or(0, |pid| pid.as_raw_nonzero().get());
        assert!(lasting_entry(&format!("archway-tmp-{parent}-s390x")));
        // A process that is not an ancestor: its entry may go at any time.
        let mut other = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        assert!(!lasting_entry(&format!("archway-tmp-{}-s390x", other.id())));
        let _ = other.kill();
        let _ = other.wait();
        assert_eq!(parent_of("42 (a) b) c) S 17 42 42 0"), Some(17));
        assert_eq!(parent_of("42 (sh) S"), None);
        assert_eq!(parent_of(""), None);
    }

    /// A binfmt_misc look-alike in a temp dir: `register`, `status` and entry files in the
    /// kernel's format (Documentation/admin-guide/binfmt-misc.rst).
    fn fake_binfmt(status: &str, entries: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("register"), "").expect("register");
        std::fs::write(dir.path().join("status"), format!("{status}\n")).expect("status");
        for (name, text) in entries {
            std::fs::write(dir.path().join(name), text).expect("entry");
        }
        dir
    }

    const QEMU_AARCH64: &str =
        "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: F\noffset 0\n\
        magic 7f454c460201010000000000000000000200b700\n\
        mask ffffffffffffff00fffffffffffffffffeffffff\n";

    #[test]
    fn an_enabled_entry_for_the_target_means_nothing_is_registered() {
        let dir = fake_binfmt("enabled", &[("qemu-aarch64", QEMU_AARCH64)]);
        let target = Platform::parse("aarch64").expect("aarch64");
        let registration =
            TemporaryRegistration::for_target_in(&BinfmtFs::new(dir.path()), &target, &[])
                .expect("checked");
        assert!(registration.is_none());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("register")).expect("read"),
            ""
        );
    }

    #[test]
    fn another_processes_temporary_entry_is_not_relied_on() {
        if !archway_platform::testing::require(
            rustix::process::geteuid().is_root(),
            "not root (only root registers entries)",
        ) {
            return;
        }
        let dir = fake_binfmt("enabled", &[("archway-tmp-1-aarch64", QEMU_AARCH64)]);
        let interpreters = tempfile::tempdir().expect("temp dir");
        let qemu = interpreters.path().join("qemu-aarch64");
        std::fs::write(&qemu, "").expect("qemu");
        std::fs::set_permissions(&qemu, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let target = Platform::parse("aarch64").expect("aarch64");
        let registration = TemporaryRegistration::for_target_in(
            &BinfmtFs::new(dir.path()),
            &target,
            &[interpreters.path().to_path_buf()],
        )
        .expect("registered");
        assert!(registration.is_some(), "an entry of our own");
    }

    #[test]
    fn a_qemu_that_understands_preserve_argv0_gets_the_p_flag() {
        if !archway_platform::testing::require(
            rustix::process::geteuid().is_root(),
            "not root (only root registers entries)",
        ) {
            return;
        }
        let dir = fake_binfmt("enabled", &[]);
        let interpreters = tempfile::tempdir().expect("temp dir");
        let qemu = interpreters.path().join("qemu-s390x-static");
        std::fs::write(&qemu, "#!/bin/sh\necho 'qemu-s390x version 7.2.0'\n").expect("qemu");
        std::fs::set_permissions(&qemu, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let target = Platform::parse("s390x").expect("s390x");
        let registration = TemporaryRegistration::for_target_in(
            &BinfmtFs::new(dir.path()),
            &target,
            &[interpreters.path().to_path_buf()],
        )
        .expect("registered")
        .expect("a new entry");
        let line = std::fs::read_to_string(dir.path().join("register")).expect("read");
        // QEMU 6.0 and later read the flag from AT_FLAGS, which kernels from 5.12 pass.
        let kernel = archway_binfmt::interpreter::PreserveArgv0::detect();
        let flags = if kernel.supported(&qemu) { "PF" } else { "F" };
        assert!(
            line.trim_end()
                .ends_with(&format!(":{}:{flags}", qemu.display())),
            "{line}"
        );
        drop(registration);
    }

    #[test]
    fn only_temporary_entries_of_processes_that_are_gone_are_abandoned() {
        assert_eq!(abandoned_pid("archway-tmp-4242-aarch64"), Some(4242));
        assert_eq!(abandoned_pid("archway-tmp-7-wasm32-wasi"), Some(7));
        for name in [
            "archway-tmp-test-cache-aarch64-12-0",
            "archway-tmp--aarch64",
            "archway-tmp-12",
            "archway-tmp-0-arm",
            "qemu-aarch64",
            "archway-aarch64",
        ] {
            assert_eq!(abandoned_pid(name), None, "{name}");
        }
        if !archway_platform::testing::require(
            rustix::process::geteuid().is_root(),
            "not root (only root removes entries)",
        ) {
            return;
        }
        // A process that has exited (and been reaped) is gone; this one is not.
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let dead = child.id();
        child.wait().expect("wait");
        let dead_name = format!("archway-tmp-{dead}-aarch64");
        let live_name = format!("archway-tmp-{}-riscv64", std::process::id());
        let dir = fake_binfmt(
            "enabled",
            &[
                (dead_name.as_str(), QEMU_AARCH64),
                (live_name.as_str(), QEMU_AARCH64),
                ("archway-tmp-test-x-aarch64-1-0", QEMU_AARCH64),
                ("qemu-aarch64", QEMU_AARCH64),
            ],
        );
        remove_abandoned(&BinfmtFs::new(dir.path()));
        // The kernel removes an entry when `-1` is written to it; the fake's file keeps the
        // rest of its text after the two bytes.
        let written = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect("entry");
        assert!(
            written(&dead_name).starts_with("-1"),
            "{}",
            written(&dead_name)
        );
        assert_eq!(written(&live_name), QEMU_AARCH64);
        assert_eq!(written("archway-tmp-test-x-aarch64-1-0"), QEMU_AARCH64);
        assert_eq!(written("qemu-aarch64"), QEMU_AARCH64);
    }

    #[test]
    fn the_host_itself_needs_no_entry() {
        let dir = fake_binfmt("enabled", &[]);
        let host = archway_platform::host::Host::detect().expect("host");
        let registration =
            TemporaryRegistration::for_target_in(&BinfmtFs::new(dir.path()), &host.platform, &[])
                .expect("checked");
        assert!(registration.is_none());
    }

    #[test]
    fn without_a_handler_a_temporary_entry_with_the_f_flag_is_written_to_register() {
        if !rustix::process::geteuid().is_root() {
            // Not root: the answer is the error with the install hint.
            let dir = fake_binfmt("enabled", &[]);
            let target = Platform::parse("riscv64").expect("riscv64");
            let error =
                TemporaryRegistration::for_target_in(&BinfmtFs::new(dir.path()), &target, &[])
                    .expect_err("not root");
            assert!(matches!(error, Error::NoEmulation { .. }));
            assert!(error
                .hint()
                .expect("hint")
                .contains("archway binfmt install riscv64"));
            return;
        }
        // A disabled global switch counts as no handler, like an absent entry.
        let dir = fake_binfmt("disabled", &[("qemu-aarch64", QEMU_AARCH64)]);
        let interpreters = tempfile::tempdir().expect("temp dir");
        let qemu = interpreters.path().join("qemu-aarch64-static");
        std::fs::write(&qemu, "").expect("qemu");
        std::fs::set_permissions(&qemu, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let target = Platform::parse("aarch64").expect("aarch64");
        let fs = BinfmtFs::new(dir.path());
        let registration = TemporaryRegistration::for_target_in(
            &fs,
            &target,
            &[interpreters.path().to_path_buf()],
        )
        .expect("registered")
        .expect("a new entry");
        let expected_name = format!("archway-tmp-{}-aarch64", std::process::id());
        assert_eq!(registration.name(), expected_name);
        let line = std::fs::read_to_string(dir.path().join("register")).expect("read");
        assert!(
            line.starts_with(&format!(":{expected_name}:M::\\x7f\\x45\\x4c\\x46")),
            "{line}"
        );
        assert!(
            line.trim_end().ends_with(&format!(":{}:F", qemu.display())),
            "{line}"
        );

        // A second user in the process shares it: nothing more is written.
        let second = TemporaryRegistration::for_target_in(&fs, &target, &[])
            .expect("shared")
            .expect("the same entry");
        assert_eq!(second.name(), expected_name);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("register")).expect("read"),
            line
        );
    }

    /// Where [`holds_a_temporary_entry`] registers (a simulated binfmt_misc), when it runs as the
    /// child of [`a_signal_between_steps_removes_the_temporary_entry`].
    const HOLD_IN: &str = "ARCHWAY_TEST_HOLD_ENTRY_IN";

    #[test]
    fn a_signal_between_steps_removes_the_temporary_entry() {
        use std::io::BufRead;
        use std::os::unix::process::ExitStatusExt;
        if !archway_platform::testing::require(
            rustix::process::geteuid().is_root(),
            "not root (only root registers entries)",
        ) {
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        // This test binary again, running only the helper below: no step runs in it.
        let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "emulation::tests::holds_a_temporary_entry",
                "--include-ignored",
                "--nocapture",
            ])
            .env(HOLD_IN, dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("helper started");
        let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let name = stdout
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix("registered ").map(str::to_string));
        let Some(name) = name else {
            let status = child.wait().expect("helper ended");
            panic!("the helper registered nothing ({status})");
        };
        assert_eq!(name, format!("archway-tmp-{}-aarch64", child.id()));
        let entry = dir.path().join("binfmt").join(&name);
        assert!(entry.exists(), "the helper's entry {}", entry.display());

        rustix::process::kill_process(
            rustix::process::Pid::from_child(&child),
            rustix::process::Signal::Term,
        )
        .expect("SIGTERM");
        let status = child.wait().expect("helper ended");
        // Ended by the signal, as without a handler, and without its entry.
        assert_eq!(
            status.signal(),
            Some(signal_hook::consts::SIGTERM),
            "{status}"
        );
        assert!(!entry.exists(), "{} outlived the process", entry.display());
    }

    #[test]
    #[ignore = "a helper: a_signal_between_steps_removes_the_temporary_entry runs it"]
    fn holds_a_temporary_entry() {
        let Some(dir) = std::env::var_os(HOLD_IN).map(PathBuf::from) else {
            return;
        };
        let root = dir.join("binfmt");
        std::fs::create_dir(&root).expect("binfmt root");
        let fs = BinfmtFs::simulated(&root).expect("simulated binfmt_misc");
        let qemu = dir.join("qemu-aarch64-static");
        std::fs::write(&qemu, "").expect("qemu");
        std::fs::set_permissions(&qemu, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let target = Platform::parse("aarch64").expect("aarch64");
        let registration =
            TemporaryRegistration::for_target_in(&fs, &target, std::slice::from_ref(&dir))
                .expect("registered")
                .expect("a new entry");
        println!("registered {}", registration.name());
        // Until the signal ends the process: archway between two steps.
        std::thread::sleep(std::time::Duration::from_secs(60));
        panic!("no signal came");
    }

    #[test]
    fn a_target_no_emulator_runs_is_an_error() {
        let dir = fake_binfmt("enabled", &[]);
        let target = Platform::parse("aarch64-darwin").expect("darwin");
        let error = TemporaryRegistration::for_target_in(&BinfmtFs::new(dir.path()), &target, &[])
            .expect_err("no emulator for Darwin");
        assert!(matches!(error, Error::NoEmulator { .. }), "{error:?}");
    }
}
