//! Installing, removing, enabling and disabling QEMU entries, and archway's ownership record.
//!
//! ## Ownership
//! An entry belongs to archway when its current definition equals one archway wrote:
//! - a record file `<records>/<name>` (default `/run/archway/binfmt/<name>`) holding the line
//!   archway registered. `/run` is emptied at boot, exactly when the kernel forgets its entries,
//!   so records and entries share a lifetime; or
//! - a persisted `/etc/binfmt.d/archway-<name>.conf` (systemd-binfmt registers it at boot).
//!
//! The definition must still match (same magic, mask, interpreter, flags): if someone replaced
//! archway's entry by their own, it is theirs. `uninstall --all` removes only archway's entries;
//! any other entry goes only when named.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::entry::{EntryName, Flags, Registration};
use crate::error::Error;
use crate::fs::{BinfmtFs, Entry, Status};
use crate::interpreter::{self, Linkage, PreserveArgv0};
use crate::magic::{self, QemuTarget};

/// Default directory of ownership records.
pub const SYSTEM_RECORDS: &str = "/run/archway/binfmt";
/// systemd-binfmt's administrator directory (binfmt.d(5)).
pub const SYSTEM_PERSIST_DIR: &str = "/etc/binfmt.d";

/// Which flags to ask for. The default is QEMU's recommendation: `F` (works in chroots and
/// sandboxes), `P` where supported, no `O`, never `C` unless asked (it runs the interpreter with a
/// setuid binary's credentials: Debian and QEMU dropped it in 2025 as a privilege escalation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagRequest {
    pub fix_binary: bool,
    /// `None`: set it when the interpreter and kernel support it.
    pub preserve_argv0: Option<bool>,
    pub open_binary: bool,
    pub credentials: bool,
}

impl Default for FlagRequest {
    fn default() -> FlagRequest {
        FlagRequest {
            fix_binary: true,
            preserve_argv0: None,
            open_binary: false,
            credentials: false,
        }
    }
}

/// Options of [`Registry::install`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallOptions {
    /// Look for interpreters only here (default: `PATH`).
    pub interpreter_dir: Option<PathBuf>,
    /// Also write `/etc/binfmt.d/archway-<name>.conf`.
    pub persist: bool,
    /// Replace an entry of the same name with another definition.
    pub force: bool,
    /// Entry names are `<prefix><qemu name>`; `qemu-` like QEMU's script and Debian.
    pub name_prefix: String,
    pub flags: FlagRequest,
    /// Register even targets of the host's own family.
    pub include_native: bool,
}

impl Default for InstallOptions {
    fn default() -> InstallOptions {
        InstallOptions {
            interpreter_dir: None,
            persist: false,
            force: false,
            name_prefix: "qemu-".to_string(),
            flags: FlagRequest::default(),
            include_native: false,
        }
    }
}

/// A non-fatal problem with an installed entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "warning")]
pub enum Warning {
    /// `F` with a dynamically linked interpreter: the interpreter's shared libraries are loaded
    /// from the chroot or sandbox, where they are usually missing.
    DynamicInterpreterWithFixBinary { interpreter: PathBuf },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::DynamicInterpreterWithFixBinary { interpreter } => write!(
                f,
                "`{}` is dynamically linked: with the F flag it still needs its shared libraries \
                 inside chroots and sandboxes; install qemu-user-static for a static one",
                interpreter.display()
            ),
        }
    }
}

/// What [`Registry::install`] did for one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum InstallOutcome {
    Installed {
        registration: Registration,
        /// The entry `--force` replaced.
        replaced: Option<Registration>,
        /// Where it was persisted.
        persisted: Option<PathBuf>,
        warnings: Vec<Warning>,
    },
    /// An identical entry is registered (persisting it if asked).
    AlreadyPresent {
        registration: Registration,
        persisted: Option<PathBuf>,
    },
    /// An entry of that name has another definition; left alone.
    Conflict {
        existing: Registration,
        wanted: Registration,
        differences: Vec<&'static str>,
    },
    InterpreterMissing {
        target: &'static str,
        searched: Vec<PathBuf>,
        /// The command that installs it.
        install_command: String,
    },
    /// The host runs this target natively.
    SkippedNative {
        target: &'static str,
        family: String,
    },
}

/// Who put an entry there, as far as the system tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Owner {
    /// archway (its record or persisted file has this exact definition).
    Archway,
    /// A Debian package registered it through update-binfmts (`/usr/share/binfmts/<name>`).
    Package { package: String },
    /// systemd-binfmt registered it from a binfmt.d(5) file with this exact definition.
    BinfmtD { file: PathBuf },
    /// Nothing on disk explains it (registered by hand, a container, another tool).
    Unknown,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::Archway => f.write_str("archway"),
            Owner::Package { package } => write!(f, "package {package}"),
            Owner::BinfmtD { file } => write!(f, "{}", file.display()),
            Owner::Unknown => f.write_str("unknown"),
        }
    }
}

/// binfmt.d(5) directories systemd-binfmt reads, in its precedence order.
const BINFMT_D_DIRS: &[&str] = &[
    "/etc/binfmt.d",
    "/run/binfmt.d",
    "/usr/local/lib/binfmt.d",
    "/usr/lib/binfmt.d",
];
/// update-binfmts(8) format directory.
const UPDATE_BINFMTS_DIR: &str = "/usr/share/binfmts";

fn file_defines(path: &Path, registration: &Registration) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| {
        text.lines()
            .filter(|line| !line.is_empty() && !line.starts_with(['#', ';']))
            .filter_map(|line| Registration::parse(line).ok())
            .any(|candidate| candidate.same_definition(registration))
    })
}

/// binfmt_misc plus archway's records: the state [`Registry`] manages.
#[derive(Debug)]
pub struct Registry {
    fs: BinfmtFs,
    records: PathBuf,
    persist_dir: PathBuf,
    search_path: Vec<PathBuf>,
    host_family: String,
    /// Targets the host runs itself: never registered unless asked.
    native: Vec<&'static QemuTarget>,
    preserve: PreserveArgv0,
}

impl Registry {
    /// The real system: `/proc/sys/fs/binfmt_misc`, `/run/archway/binfmt`, `/etc/binfmt.d`,
    /// `PATH`, the running kernel and machine.
    pub fn system() -> Registry {
        let registry = Registry::new(
            BinfmtFs::system(),
            SYSTEM_RECORDS,
            SYSTEM_PERSIST_DIR,
            interpreter::path_directories(),
            magic::host_family(),
            PreserveArgv0::detect(),
        );
        match archway_platform::host::Host::detect() {
            Ok(host) => registry.with_host(&host),
            Err(error) => {
                tracing::debug!(%error, "host probe failed; skipping the host's QEMU family");
                registry
            }
        }
    }

    /// Narrows "native" from QEMU's family rule to what `host` really runs: an aarch64 kernel
    /// without 32-bit compat support does not run arm binaries, so `qemu-arm` is registered
    /// there. Targets the platform crate cannot name keep the family rule.
    pub fn with_host(mut self, host: &archway_platform::host::Host) -> Registry {
        self.native.retain(|target| {
            archway_platform::Platform::parse(target.name())
                .map(|platform| host.runs_natively(&platform))
                .unwrap_or(true)
        });
        self
    }

    /// Everything injected (tests): the filesystem, records and persist directories, interpreter
    /// search path, host family and `P` rule.
    pub fn new(
        fs: BinfmtFs,
        records: impl Into<PathBuf>,
        persist_dir: impl Into<PathBuf>,
        search_path: Vec<PathBuf>,
        host_family: impl Into<String>,
        preserve: PreserveArgv0,
    ) -> Registry {
        let host_family = host_family.into();
        Registry {
            fs,
            records: records.into(),
            persist_dir: persist_dir.into(),
            search_path,
            native: crate::handler::native_targets(&host_family),
            host_family,
            preserve,
        }
    }

    pub fn fs(&self) -> &BinfmtFs {
        &self.fs
    }

    pub fn host_family(&self) -> &str {
        &self.host_family
    }

    /// The targets whose binaries the host runs itself.
    pub fn native_targets(&self) -> Vec<&'static QemuTarget> {
        self.native.clone()
    }

    /// Does the host run `target`'s binaries itself?
    pub fn runs_natively(&self, target: &QemuTarget) -> bool {
        self.native
            .iter()
            .any(|native| native.name() == target.name())
    }

    /// `/etc/binfmt.d/archway-<name>.conf`.
    pub fn persist_path(&self, name: &EntryName) -> PathBuf {
        self.persist_dir.join(format!("archway-{name}.conf"))
    }

    fn record_path(&self, name: &EntryName) -> PathBuf {
        self.records.join(name.as_str())
    }

    /// Mounts binfmt_misc if needed; returns whether it mounted.
    pub fn ensure_mounted(&self) -> Result<bool, Error> {
        self.fs.mount()
    }

    /// Installs the emulator for `platform`.
    pub fn install(
        &self,
        platform: &archway_platform::Platform,
        options: &InstallOptions,
    ) -> Result<InstallOutcome, Error> {
        let target = magic::for_platform(platform).ok_or_else(|| Error::UnknownTarget {
            name: platform.to_string_for_errors(),
            supported: magic::names(),
        })?;
        self.install_target(target, options)
    }

    /// The registration archway would write for `target` (`None`: no interpreter found).
    pub fn planned(
        &self,
        target: &QemuTarget,
        options: &InstallOptions,
    ) -> Result<Result<(Registration, Vec<Warning>), InstallOutcome>, Error> {
        let directories = match &options.interpreter_dir {
            Some(directory) => vec![directory.clone()],
            None => self.search_path.clone(),
        };
        let (found, searched) = interpreter::find(target.emulator_cpu(), &directories);
        let Some(interpreter_path) = found else {
            return Ok(Err(InstallOutcome::InterpreterMissing {
                target: target.name(),
                searched,
                install_command: interpreter::install_command(),
            }));
        };
        let request = options.flags;
        let flags = Flags {
            preserve_argv0: request
                .preserve_argv0
                .unwrap_or_else(|| self.preserve.supported(&interpreter_path)),
            open_binary: request.open_binary || request.credentials,
            credentials: request.credentials,
            fix_binary: request.fix_binary,
        };
        let mut warnings = Vec::new();
        if flags.fix_binary && interpreter::linkage(&interpreter_path) == Linkage::Dynamic {
            warnings.push(Warning::DynamicInterpreterWithFixBinary {
                interpreter: interpreter_path.clone(),
            });
        }
        let name = EntryName::new(format!("{}{}", options.name_prefix, target.name()))?;
        Ok(Ok((
            target.registration(name, interpreter_path, flags)?,
            warnings,
        )))
    }

    /// Installs `target`'s emulator: skips the host's family, finds the interpreter, compares
    /// with an entry of the same name, registers, records ownership, persists if asked.
    pub fn install_target(
        &self,
        target: &'static QemuTarget,
        options: &InstallOptions,
    ) -> Result<InstallOutcome, Error> {
        if !options.include_native && self.runs_natively(target) {
            return Ok(InstallOutcome::SkippedNative {
                target: target.name(),
                family: self.host_family.clone(),
            });
        }
        let (wanted, warnings) = match self.planned(target, options)? {
            Ok(plan) => plan,
            Err(outcome) => return Ok(outcome),
        };
        self.install_registration(wanted, warnings, options)
    }

    /// Registers `wanted` as archway's (a QEMU plan or a line the user gave): compares with an
    /// entry of the same name (identical → already present; different → conflict unless
    /// `force`), registers, records ownership, persists if asked.
    pub fn install_registration(
        &self,
        wanted: Registration,
        warnings: Vec<Warning>,
        options: &InstallOptions,
    ) -> Result<InstallOutcome, Error> {
        self.fs.require_mounted()?;
        let mut replaced = None;
        if let Some(existing) = self.fs.entry(wanted.name().as_str())? {
            if existing.registration.same_definition(&wanted) {
                let persisted = self.persist_if_asked(&wanted, options)?;
                return Ok(InstallOutcome::AlreadyPresent {
                    registration: wanted,
                    persisted,
                });
            }
            if !options.force {
                return Ok(InstallOutcome::Conflict {
                    differences: existing.registration.differences(&wanted),
                    existing: existing.registration,
                    wanted,
                });
            }
            self.fs.remove(wanted.name().as_str())?;
            replaced = Some(existing);
        }
        if let Err(error) = self.fs.register(&wanted) {
            // Put back what --force removed, so a failed replacement changes nothing.
            if let Some(old) = &replaced {
                if let Err(restore) = self.fs.register(&old.registration) {
                    tracing::warn!(name = %old.name(), error = %restore, "could not restore replaced entry");
                } else if !old.enabled {
                    let _ = self.fs.set_enabled(old.name().as_str(), false);
                }
            }
            return Err(error);
        }
        self.write_record(&wanted)?;
        let persisted = self.persist_if_asked(&wanted, options)?;
        Ok(InstallOutcome::Installed {
            registration: wanted,
            replaced: replaced.map(|entry| entry.registration),
            persisted,
            warnings,
        })
    }

    fn write_record(&self, registration: &Registration) -> Result<(), Error> {
        std::fs::create_dir_all(&self.records)
            .map_err(|e| Error::io("create directory", &self.records, e))?;
        let path = self.record_path(registration.name());
        std::fs::write(&path, format!("{}\n", registration.render()))
            .map_err(|e| Error::io("write", &path, e))
    }

    fn persist_if_asked(
        &self,
        registration: &Registration,
        options: &InstallOptions,
    ) -> Result<Option<PathBuf>, Error> {
        if !options.persist {
            return Ok(None);
        }
        std::fs::create_dir_all(&self.persist_dir)
            .map_err(|e| Error::io("create directory", &self.persist_dir, e))?;
        let path = self.persist_path(registration.name());
        std::fs::write(
            &path,
            crate::export::systemd(std::slice::from_ref(registration)),
        )
        .map_err(|e| Error::io("write", &path, e))?;
        Ok(Some(path))
    }

    /// The entry the kernel would use for `target`'s binaries right now (the newest enabled entry
    /// whose rule accepts the target's header; `None` when binfmt_misc is off, unmounted, or
    /// nothing matches). Lets callers use an existing registration (Debian's `qemu-*`, say)
    /// instead of installing their own.
    pub fn handler_for_target(&self, target: &QemuTarget) -> Result<Option<Entry>, Error> {
        if !self.fs.is_mounted() || self.fs.status()? == Status::Disabled {
            return Ok(None);
        }
        Ok(self
            .fs
            .entries()?
            .into_iter()
            .find(|entry| entry.enabled && target.handled_by(entry.registration.rule())))
    }

    /// Whether archway owns `entry` (see the module documentation).
    pub fn is_owned(&self, entry: &Entry) -> bool {
        file_defines(&self.record_path(entry.name()), &entry.registration)
            || file_defines(&self.persist_path(entry.name()), &entry.registration)
    }

    /// Who registered `entry`: archway, a package (update-binfmts), a binfmt.d file
    /// (systemd-binfmt), or unknown.
    pub fn owner(&self, entry: &Entry) -> Owner {
        if self.is_owned(entry) {
            return Owner::Archway;
        }
        let name = entry.name().as_str();
        // update-binfmts keeps the package's definition in /usr/share/binfmts/<name>.
        let package_file = Path::new(UPDATE_BINFMTS_DIR).join(name);
        if let Ok(text) = std::fs::read_to_string(&package_file) {
            if let Some(package) = text.lines().find_map(|line| line.strip_prefix("package ")) {
                return Owner::Package {
                    package: package.trim().to_string(),
                };
            }
        }
        for directory in BINFMT_D_DIRS {
            let Ok(reader) = std::fs::read_dir(directory) else {
                continue;
            };
            let mut files: Vec<PathBuf> = reader
                .filter_map(|item| item.ok().map(|item| item.path()))
                .filter(|path| path.extension().is_some_and(|e| e == "conf"))
                .collect();
            files.sort();
            if let Some(file) = files
                .into_iter()
                .find(|file| file_defines(file, &entry.registration))
            {
                return Owner::BinfmtD { file };
            }
        }
        Owner::Unknown
    }

    /// Entries archway owns.
    pub fn owned(&self) -> Result<Vec<Entry>, Error> {
        Ok(self
            .fs
            .entries()?
            .into_iter()
            .filter(|entry| self.is_owned(entry))
            .collect())
    }

    /// Removes entry `name` (whoever owns it), its record and its persisted file.
    pub fn uninstall(&self, name: &str) -> Result<(), Error> {
        let entry_name = EntryName::new(name)?;
        let persisted = self.persist_path(&entry_name);
        match self.fs.entry(name)? {
            Some(_) => self.fs.remove(name)?,
            None if persisted.exists() => {}
            None => {
                return Err(Error::NoSuchEntry {
                    name: name.to_string(),
                })
            }
        }
        self.forget(&entry_name)
    }

    fn forget(&self, name: &EntryName) -> Result<(), Error> {
        for path in [self.record_path(name), self.persist_path(name)] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove", &path, e)),
            }
        }
        Ok(())
    }

    /// Removes every entry archway owns, and every `archway-*.conf` it persisted (also for
    /// entries not registered right now, e.g. after a boot without systemd-binfmt); returns the
    /// names.
    pub fn uninstall_owned(&self) -> Result<Vec<EntryName>, Error> {
        let mut removed = Vec::new();
        for entry in self.owned()? {
            self.fs.remove(entry.name().as_str())?;
            self.forget(entry.name())?;
            removed.push(entry.name().clone());
        }
        if let Ok(reader) = std::fs::read_dir(&self.persist_dir) {
            for item in reader.flatten() {
                let file = item.file_name();
                let Some(name) = file
                    .to_str()
                    .and_then(|f| f.strip_prefix("archway-"))
                    .and_then(|f| f.strip_suffix(".conf"))
                else {
                    continue;
                };
                let Ok(name) = EntryName::new(name) else {
                    continue;
                };
                self.forget(&name)?;
                if !removed.contains(&name) {
                    removed.push(name);
                }
            }
        }
        Ok(removed)
    }

    /// Enables or disables entry `name`.
    pub fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), Error> {
        self.fs.set_enabled(name, enabled)
    }

    /// Turns binfmt_misc as a whole on or off.
    pub fn set_status(&self, status: Status) -> Result<(), Error> {
        self.fs.set_status(status)
    }
}

/// How a platform is named in errors.
trait ForErrors {
    fn to_string_for_errors(&self) -> String;
}

impl ForErrors for archway_platform::Platform {
    fn to_string_for_errors(&self) -> String {
        self.config()
    }
}
