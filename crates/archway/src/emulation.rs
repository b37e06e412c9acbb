//! Running the target's programs on this host: a temporary binfmt_misc entry for as long as
//! something (a test suite, `make check`) needs to `exec` foreign binaries directly.
//!
//! Build systems that know an emulator (CMake's `CMAKE_CROSSCOMPILING_EMULATOR`, Meson's
//! `exe_wrapper`, Cargo's runner) prefix test programs with it. Makefiles and test scripts just
//! run `./example`, which only works when the kernel hands the foreign ELF file to QEMU: a
//! binfmt_misc entry. [`TemporaryRegistration`] makes sure one exists for the duration and
//! removes what it added — never an entry it did not create.
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
        let qemu = magic::for_platform(target).ok_or_else(|| Error::NoEmulator {
            target: target.config(),
        })?;
        let no_emulation = || Error::NoEmulation {
            target: target.config(),
            arch: qemu.name().to_string(),
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
        let key = (fs.root().to_path_buf(), qemu.name());
        if let Some(shared) = live.get(&key).and_then(Weak::upgrade) {
            return Ok(Some(TemporaryRegistration { shared }));
        }
        // A header the target's rule matches: its magic, padded to the kernel's buffer size.
        let mut header = qemu.magic().to_vec();
        header.resize(128, 0);
        let native = native_targets(&magic::host_family());
        let probe = Path::new("/archway-probe");
        let handler = if fs.is_mounted() {
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
            Handler::Entry { .. } | Handler::Native => return Ok(None),
            Handler::Script { .. } | Handler::None => {}
        }
        if !rustix::process::geteuid().is_root() {
            return Err(no_emulation());
        }
        if !fs.is_mounted() {
            fs.mount().map_err(binfmt)?;
        }
        let (interpreter, _tried) =
            archway_binfmt::interpreter::find(qemu.emulator_cpu(), interpreter_directories);
        let Some(interpreter) = interpreter else {
            return Err(no_emulation());
        };
        let name = EntryName::new(format!(
            "archway-tmp-{}-{}",
            std::process::id(),
            qemu.name()
        ))
        .map_err(binfmt)?;
        // F: the kernel opens the interpreter now, so programs run in any mount namespace.
        let flags = Flags {
            fix_binary: true,
            ..Flags::default()
        };
        let registration = qemu
            .registration(name.clone(), interpreter, flags)
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
        Ok(Some(TemporaryRegistration { shared }))
    }

    /// The entry's name (`archway-tmp-<pid>-<qemu>`).
    pub fn name(&self) -> &str {
        self.shared.name.as_str()
    }
}
