//! The automatic choice of a build method (`--method auto`, the default).
//!
//! nixpkgs builds natively when the build machine can execute the host platform, and
//! otherwise "transparently" through an emulated system. archway adds the fast path in between:
//! 1. **native** when the target is the host's own platform (not a 32-bit sibling it only runs:
//!    x86_64's `gcc` makes x86_64 programs, so i686 goes to cross, whose tests run directly);
//! 2. **cross** when a usable cross toolchain exists (and a sysroot, if the project needs
//!    target libraries);
//! 3. **emulated** when QEMU can run the target: an interpreter is installed, a binfmt_misc
//!    entry handles the target's binaries (or `--setup` may install one), and Debian has a
//!    root filesystem for the architecture.
//!
//! The decision is a pure function of injected [`Facts`] (so it is table-tested over fake
//! hosts, toolchains and registrations); [`Facts::gather`] collects them from the machine.
//! Every method's verdict is kept in [`Plan::decisions`] for `--explain`, and when nothing is
//! possible [`Unavailable`] says what to install for each method.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use archway_rootfs::Architecture;

pub use crate::method::{Method, MethodRequest};

/// Whether the kernel hands the target's binaries to an emulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "state")]
pub enum BinfmtState {
    /// An enabled binfmt_misc entry runs them.
    Registered {
        entry: String,
        /// The `F` flag: the kernel keeps the interpreter open, so it works inside a root
        /// filesystem that does not contain it.
        fix_binary: bool,
    },
    /// No entry runs them; `can_install` when archway could register one now (root, and
    /// binfmt_misc mounted or mountable).
    Missing { can_install: bool },
}

/// What the project and the user declare that the choice depends on.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    /// The cross toolchain the configuration asks for (family, version, tools).
    pub toolchain: archway_toolchain::Request,
    /// `sysroot-packages`: target libraries the cross method must find in its sysroot.
    pub sysroot_packages: Vec<String>,
    /// Every one of them is already in the sysroot.
    pub sysroot_ready: bool,
    /// Why the target's own system is asked for (`rootfs-packages`, `--packages`, `--suite`):
    /// then the cross method does not serve.
    pub wants_rootfs: Option<String>,
    /// The project is built by Cargo: the cross method then needs the target's Rust standard
    /// library (rustup's, or Debian's in a native prefix).
    pub cargo: bool,
    /// What the Cargo project asks of Rust: the suite of Debian's Rust is chosen by it.
    pub rust_needs: Option<crate::rust::RustNeeds>,
    /// The root filesystem's suite asked for (`--suite`, `rootfs-suite`).
    pub rootfs_suite: Option<String>,
}

/// Everything the choice depends on, gathered from the machine or made up by a test.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    /// The target as the user will recognise it (`riscv64-unknown-linux-gnu`).
    pub target: String,
    /// The host (`x86_64-unknown-linux-gnu`).
    pub host: String,
    /// The host executes the target's binaries itself (`Host::runs_natively`).
    pub runs_natively: bool,
    /// The target is the host's own platform, which its compilers build for: not a 32-bit
    /// sibling the host only runs (i686 on x86_64, whose `gcc` makes x86_64 programs).
    pub host_platform: bool,
    /// A usable cross toolchain for the target (`aarch64-linux-gnu-gcc 12.2.0`).
    pub toolchain: Option<String>,
    /// The command that installs a cross toolchain, when the distribution has one.
    pub toolchain_install: Option<String>,
    /// The project needs target libraries (`sysroot-packages`).
    pub needs_libraries: bool,
    /// A sysroot with those libraries exists.
    pub sysroot_ready: bool,
    /// archway can fill a sysroot for the target (Debian builds it, and there is a cache
    /// directory): a missing library is then a set-up step, not a reason against cross.
    pub sysroot_fillable: bool,
    /// The command that fills the sysroot.
    pub sysroot_add: Option<String>,
    /// Why the target's own system is asked for (see [`Declared::wants_rootfs`]).
    pub wants_rootfs: Option<String>,
    /// The Debian architecture of a root filesystem for the target (`None`: no Debian port).
    pub rootfs_architecture: Option<Architecture>,
    /// Its suite: the one asked for, else the one whose Rust builds a Cargo project
    /// ([`crate::rust::suite_for`]); `None`: the architecture's default.
    pub rootfs_suite: Option<archway_rootfs::Suite>,
    /// The target's CPU is below the baseline of Debian's libraries for its architecture
    /// (raspberryPi's ARMv6KZ with Debian armhf's ARMv7-A): what it lacks, and the ways out.
    /// The Debian sysroot, the cross toolchain's own libc and the root filesystem all are
    /// Debian's, so no method that links or runs them can serve.
    pub baseline_conflict: Option<(String, Option<String>)>,
    /// The configuration names a sysroot of its own (then Debian's baseline does not apply to
    /// the cross method).
    pub own_sysroot: bool,
    /// The native prefix of the hybrid method: `Ok(what it holds)` when it can be made for this
    /// host and target, else why not.
    pub hybrid_prefix: Result<String, String>,
    /// QEMU's user-mode name for the target (`aarch64`), if QEMU emulates it.
    pub qemu_name: Option<String>,
    /// What runs the target's programs and how, in a few words: `qemu-arm (cpu arm1176)`,
    /// `wine64`, or why QEMU's default model stands in (no model matches the CPU).
    pub emulator: Option<String>,
    /// The QEMU interpreter found on the host.
    pub qemu_interpreter: Option<PathBuf>,
    pub binfmt: BinfmtState,
    /// For a Cargo project: where the target's Rust standard library can come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust: Option<crate::rust::RustFacts>,
}

impl Facts {
    /// The facts of this machine for `target`: the host probe, the cross toolchains and QEMU
    /// interpreters on `search_path` (normally `PATH`; a test can hide tools), and the
    /// system's binfmt_misc entries, with what the project and the user `declared`.
    pub fn gather(
        target: &archway_platform::Platform,
        host: &archway_platform::host::Host,
        search_path: &std::ffi::OsStr,
        declared: &Declared,
    ) -> Facts {
        let target_name = target.config();
        let toolchain = archway_toolchain::select(target, &declared.toolchain, search_path)
            .ok()
            .map(|toolchain| format!("{} {}", toolchain.cc.display(), toolchain.version));
        let toolchain_install = archway_toolchain::install_plan(target, None, None)
            .ok()
            .map(|_| format!("archway toolchain install --target {target_name}"));
        let qemu_name = target.qemu_user().map(str::to_string);
        let directories: Vec<PathBuf> = std::env::split_paths(search_path).collect();
        let qemu_interpreter = qemu_name
            .as_deref()
            .and_then(|name| archway_binfmt::interpreter::find(name, &directories).0);
        let binfmt = match &qemu_name {
            Some(name) => crate::emulated::binfmt_state(name),
            None => BinfmtState::Missing { can_install: false },
        };
        let rootfs_architecture = Architecture::from_platform(target).ok();
        let rootfs_suite = match &declared.rootfs_suite {
            // An unknown name is the root filesystem's error to give, when it is made.
            Some(name) => name.parse().ok(),
            // The suite whose Rust builds the project, else the newest, which the verdict
            // then names as too old.
            None => rootfs_architecture.and_then(|architecture| {
                declared.rust_needs.as_ref().map(|needs| {
                    crate::rust::suite_for(architecture, Some(needs))
                        .unwrap_or_else(|| crate::rust::newest_suite(architecture))
                })
            }),
        };
        let baseline_conflict = target
            .debian_arch()
            .and_then(|architecture| archway_platform::baseline_conflict(target, architecture))
            .map(|conflict| (conflict.to_string(), conflict.hint()));
        let needs_libraries = !declared.sysroot_packages.is_empty();
        let rust = declared.cargo.then(|| {
            crate::rust::RustFacts::gather(
                target,
                &host.platform,
                search_path,
                declared.rust_needs.clone(),
            )
        });
        Facts {
            rust,
            host: host.platform.config(),
            runs_natively: host.runs_natively(target),
            host_platform: host.platform.cpu() == target.cpu()
                && host.platform.kernel() == target.kernel()
                && host.platform.abi() == target.abi()
                && host.platform.libc() == target.libc(),
            toolchain,
            toolchain_install,
            needs_libraries,
            sysroot_ready: declared.sysroot_ready,
            sysroot_fillable: target.debian_arch().is_some() && crate::cache::cache_dir().is_some(),
            sysroot_add: needs_libraries.then(|| {
                format!(
                    "archway sysroot add --target {target_name} {}",
                    declared.sysroot_packages.join(" ")
                )
            }),
            wants_rootfs: declared.wants_rootfs.clone(),
            hybrid_prefix: crate::backend::hybrid::prefix_possible(
                &host.platform,
                rootfs_architecture,
            ),
            rootfs_architecture,
            rootfs_suite,
            baseline_conflict,
            own_sysroot: declared.toolchain.sysroot.is_some(),
            emulator: archway_platform::emulator::Emulator::for_platform(target).map(|emulator| {
                match target.qemu_cpu() {
                    archway_platform::QemuCpu::Model(model) => {
                        format!("{} (cpu {model})", emulator.name())
                    }
                    archway_platform::QemuCpu::Unmatched(why) => {
                        format!("{} (default cpu: {why})", emulator.name())
                    }
                    archway_platform::QemuCpu::Default => emulator.name(),
                }
            }),
            qemu_name,
            qemu_interpreter,
            binfmt,
            target: target_name,
        }
    }
}

/// One method's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub method: Method,
    pub usable: bool,
    /// Why (`x86_64 cannot run riscv64 binaries`, `aarch64-linux-gnu-gcc 12.2.0`).
    pub reason: String,
    /// The command that would make this method usable.
    pub fix: Option<String>,
    /// What to do instead, in words, when no command fixes it (a CPU below Debian's baseline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

/// Work to do before the build can run with the chosen method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum Setup {
    /// Register the binfmt_misc entry for this QEMU target (`--setup` asked for it).
    InstallBinfmt { qemu_name: String },
    /// Put the project's `sysroot-packages` into the target's sysroot.
    FillSysroot,
}

/// One method's verdict with the work it needs first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    pub setup: Vec<Setup>,
}

impl Verdict {
    /// A verdict without set-up work.
    pub fn new(method: Method, usable: bool, reason: String, fix: Option<String>) -> Verdict {
        Verdict {
            decision: Decision {
                method,
                usable,
                reason,
                fix,
                advice: None,
            },
            setup: Vec::new(),
        }
    }

    /// Unusable for `reason`, with `advice` in words instead of a command.
    pub fn refused(method: Method, reason: String, advice: Option<String>) -> Verdict {
        let mut verdict = Verdict::new(method, false, reason, None);
        verdict.decision.advice = advice;
        verdict
    }

    pub fn with_setup(mut self, setup: Setup) -> Verdict {
        self.setup.push(setup);
        self
    }
}

/// The chosen method and why.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub method: Method,
    pub request: MethodRequest,
    /// The verdict of every method considered, in the order considered.
    pub decisions: Vec<Decision>,
    pub setup: Vec<Setup>,
    pub facts: Facts,
}

/// No method can build for the target: every verdict, with what to install for each.
#[derive(Debug, Clone, Serialize)]
pub struct Unavailable {
    pub target: String,
    pub request: MethodRequest,
    pub decisions: Vec<Decision>,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.request {
            MethodRequest::Auto => write!(f, "no build method works for `{}`", self.target)?,
            MethodRequest::Only(method) => write!(
                f,
                "the `{method}` method cannot build for `{}`",
                self.target
            )?,
        }
        // Methods refused for the same reason share one line.
        let mut shown: Vec<(Vec<Method>, &str)> = Vec::new();
        for decision in &self.decisions {
            match shown
                .iter_mut()
                .find(|(_, reason)| *reason == decision.reason)
            {
                Some((methods, _)) => methods.push(decision.method),
                None => shown.push((vec![decision.method], &decision.reason)),
            }
        }
        for (methods, reason) in shown {
            let names: Vec<&str> = methods.iter().map(|method| method.name()).collect();
            write!(f, "\n  {}: {reason}", names.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for Unavailable {}

impl Unavailable {
    /// What to install for each method, one `method: command` per line.
    pub fn hint(&self) -> Option<String> {
        // Methods with the same fix share one line, as their reasons do.
        let mut grouped: Vec<(Vec<&str>, &str)> = Vec::new();
        for decision in &self.decisions {
            let Some(fix) = &decision.fix else { continue };
            match grouped.iter_mut().find(|(_, shared)| shared == fix) {
                Some((methods, _)) => methods.push(decision.method.name()),
                None => grouped.push((vec![decision.method.name()], fix)),
            }
        }
        let mut fixes: Vec<String> = grouped
            .into_iter()
            .map(|(methods, fix)| format!("for {}: run `{fix}`", methods.join(", ")))
            .collect();
        for decision in &self.decisions {
            if let Some(advice) = &decision.advice {
                if !fixes.contains(advice) {
                    fixes.push(advice.clone());
                }
            }
        }
        (!fixes.is_empty()).then(|| fixes.join("\n      "))
    }
}

/// A plan for a method the user named, taken as given (the method's own setup reports what is
/// missing with its most specific error, e.g. the compiler names a cross build looked for).
pub fn asked_for(method: Method, facts: &Facts) -> Plan {
    Plan {
        method,
        request: MethodRequest::Only(method),
        decisions: vec![Decision {
            method,
            usable: true,
            reason: format!("`--method {method}` was asked for"),
            fix: None,
            advice: None,
        }],
        setup: Vec::new(),
        facts: facts.clone(),
    }
}

/// Chooses the method for `request` from `facts`: the first backend, in [`Method::ALL`]
/// order, whose verdict is usable. `setup` allows installing a missing binfmt entry (`--setup`).
/// The only place a method is chosen.
pub fn plan(request: MethodRequest, facts: &Facts, setup: bool) -> Result<Plan, Box<Unavailable>> {
    choose(request, &request.candidates(), facts, setup)
}

/// [`plan`] for an interactive shell: there is no cross shell (`archway env` sets up the
/// host's own), so `auto` considers native, hybrid and emulated.
pub fn plan_shell(
    request: MethodRequest,
    facts: &Facts,
    setup: bool,
) -> Result<Plan, Box<Unavailable>> {
    let candidates: Vec<Method> = request
        .candidates()
        .into_iter()
        .filter(|method| request != MethodRequest::Auto || *method != Method::Cross)
        .collect();
    choose(request, &candidates, facts, setup)
}

fn choose(
    request: MethodRequest,
    candidates: &[Method],
    facts: &Facts,
    setup: bool,
) -> Result<Plan, Box<Unavailable>> {
    if let MethodRequest::Only(method @ Method::Cross) = request {
        // Their own set-up says precisely what is missing (the compiler names looked for).
        let verdict = crate::backend::get(method).judge(facts, setup);
        if !verdict.decision.usable {
            return Ok(asked_for(method, facts));
        }
    }
    let mut decisions = Vec::new();
    for &method in candidates {
        let verdict = crate::backend::get(method).judge(facts, setup);
        let usable = verdict.decision.usable;
        decisions.push(verdict.decision);
        if usable {
            return Ok(Plan {
                method,
                request,
                decisions,
                setup: verdict.setup,
                facts: facts.clone(),
            });
        }
    }
    Err(Box::new(Unavailable {
        target: facts.target.clone(),
        request,
        decisions,
    }))
}

impl Plan {
    /// Why this method, with why not the ones before it:
    /// `no cross toolchain ...; binfmt entry ...` (for the build's first line).
    pub fn reason(&self) -> String {
        let chosen = self
            .decisions
            .last()
            .map(|decision| decision.reason.as_str())
            .unwrap_or("");
        let rejected: Vec<String> = self.decisions[..self.decisions.len().saturating_sub(1)]
            .iter()
            .map(|decision| format!("not {}: {}", decision.method, decision.reason))
            .collect();
        if rejected.is_empty() {
            chosen.to_string()
        } else {
            format!("{chosen}; {}", rejected.join("; "))
        }
    }

    /// The one line for the user: `method: emulated (binfmt entry ...; not cross: ...)`.
    pub fn summary(&self) -> String {
        format!("method: {} ({})", self.method, self.reason())
    }

    /// The whole decision for `--explain`, one method a line.
    pub fn explain(&self) -> String {
        explain(
            &self.facts.target,
            &self.facts.host,
            self.request,
            &self.decisions,
            Some(self.method),
        )
    }
}

/// `--explain` for a plan or for an [`Unavailable`].
pub fn explain(
    target: &str,
    host: &str,
    request: MethodRequest,
    decisions: &[Decision],
    chosen: Option<Method>,
) -> String {
    let mut out = format!("target `{target}` on host `{host}`, method {request}\n");
    for method in Method::ALL {
        match decisions.iter().find(|decision| decision.method == method) {
            Some(decision) => {
                let mark = if decision.usable { "yes" } else { "no " };
                out.push_str(&format!(
                    "  {:<9} {mark}  {}\n",
                    method.name(),
                    decision.reason
                ));
                if let Some(fix) = &decision.fix {
                    out.push_str(&format!("  {:<9}      fix: `{fix}`\n", ""));
                }
                if let Some(advice) = &decision.advice {
                    out.push_str(&format!("  {:<9}      {advice}\n", ""));
                }
            }
            None => out.push_str(&format!("  {:<9} -    not considered\n", method.name())),
        }
    }
    match chosen {
        Some(method) => out.push_str(&format!("chosen: {method}\n")),
        None => out.push_str("chosen: none\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An x86_64 host building for aarch64 with nothing installed.
    fn bare() -> Facts {
        Facts {
            target: "aarch64-unknown-linux-gnu".to_string(),
            host: "x86_64-unknown-linux-gnu".to_string(),
            runs_natively: false,
            host_platform: false,
            toolchain: None,
            toolchain_install: Some(
                "archway toolchain install --target aarch64-unknown-linux-gnu".to_string(),
            ),
            needs_libraries: false,
            sysroot_ready: false,
            sysroot_fillable: false,
            wants_rootfs: None,
            hybrid_prefix: Err("this host is not amd64".to_string()),
            sysroot_add: Some(
                "archway sysroot add --target aarch64-unknown-linux-gnu libpng-dev".to_string(),
            ),
            rootfs_architecture: Some(Architecture::Arm64),
            rootfs_suite: None,
            baseline_conflict: None,
            own_sysroot: false,
            emulator: Some("qemu-aarch64 (cpu cortex-a53)".to_string()),
            qemu_name: Some("aarch64".to_string()),
            qemu_interpreter: None,
            binfmt: BinfmtState::Missing { can_install: false },
            rust: None,
        }
    }

    #[test]
    fn a_target_the_host_runs_needs_no_emulator_unless_an_entry_claims_it() {
        let native = with(|f| f.runs_natively = true);
        let verdict = crate::backend::get(Method::Emulated).judge(&native, false);
        assert!(verdict.decision.usable, "{verdict:?}");
        assert!(
            verdict.decision.reason.starts_with(
                "this host runs `aarch64-unknown-linux-gnu` programs itself (no emulator)"
            ),
            "{verdict:?}"
        );
        assert!(verdict.setup.is_empty());
        // A binfmt entry that claims them runs them: that is what is said.
        let claimed = with(|f| {
            f.runs_natively = true;
            f.qemu_interpreter = Some(PathBuf::from("/usr/bin/qemu-aarch64-static"));
            f.binfmt = registered()
        });
        let verdict = crate::backend::get(Method::Emulated).judge(&claimed, false);
        assert!(
            verdict.decision.usable
                && verdict
                    .decision
                    .reason
                    .starts_with("binfmt entry `qemu-aarch64`")
        );
        // Not run by the host: an emulator is still needed.
        let verdict = crate::backend::get(Method::Emulated).judge(&bare(), false);
        assert!(!verdict.decision.usable, "{verdict:?}");
    }

    fn registered() -> BinfmtState {
        BinfmtState::Registered {
            entry: "qemu-aarch64".to_string(),
            fix_binary: true,
        }
    }

    fn with(change: impl Fn(&mut Facts)) -> Facts {
        let mut facts = bare();
        change(&mut facts);
        facts
    }

    #[test]
    fn auto_prefers_native_then_cross_then_hybrid_then_emulated() {
        let toolchain = Some("aarch64-linux-gnu-gcc 12.2.0".to_string());
        let qemu = Some(PathBuf::from("/usr/bin/qemu-aarch64-static"));
        // (facts, --setup, expected method or None, number of decisions made)
        let table: Vec<(&str, Facts, bool, Option<Method>, usize)> = vec![
            (
                "native host",
                with(|f| {
                    f.runs_natively = true;
                    f.host_platform = true
                }),
                false,
                Some(Method::Native),
                1,
            ),
            (
                "native wins over cross",
                with(|f| {
                    f.runs_natively = true;
                    f.host_platform = true;
                    f.toolchain = toolchain.clone()
                }),
                false,
                Some(Method::Native),
                1,
            ),
            (
                "toolchain",
                with(|f| f.toolchain = toolchain.clone()),
                false,
                Some(Method::Cross),
                2,
            ),
            (
                "a 32-bit sibling the host runs: its compilers build 64-bit programs",
                with(|f| {
                    f.runs_natively = true;
                    f.toolchain = toolchain.clone()
                }),
                false,
                Some(Method::Cross),
                2,
            ),
            (
                "cross wins over emulated",
                with(|f| {
                    f.toolchain = toolchain.clone();
                    f.qemu_interpreter = qemu.clone();
                    f.binfmt = registered()
                }),
                false,
                Some(Method::Cross),
                2,
            ),
            (
                "toolchain without needed sysroot falls back",
                with(|f| {
                    f.toolchain = toolchain.clone();
                    f.needs_libraries = true;
                    f.qemu_interpreter = qemu.clone();
                    f.binfmt = registered()
                }),
                false,
                Some(Method::Emulated),
                4,
            ),
            (
                "toolchain, sysroot fillable: cross fills it",
                with(|f| {
                    f.toolchain = toolchain.clone();
                    f.needs_libraries = true;
                    f.sysroot_fillable = true
                }),
                false,
                Some(Method::Cross),
                2,
            ),
            (
                "rootfs packages declared: not cross",
                with(|f| {
                    f.toolchain = toolchain.clone();
                    f.wants_rootfs = Some("`rootfs-packages`".to_string());
                    f.qemu_interpreter = qemu.clone();
                    f.binfmt = registered()
                }),
                false,
                Some(Method::Emulated),
                4,
            ),
            (
                "hybrid before emulated when a prefix can be made",
                with(|f| {
                    f.hybrid_prefix = Ok("a native prefix".to_string());
                    f.qemu_interpreter = qemu.clone();
                    f.binfmt = registered()
                }),
                false,
                Some(Method::Hybrid),
                3,
            ),
            (
                "cross still wins over hybrid",
                with(|f| {
                    f.toolchain = toolchain.clone();
                    f.hybrid_prefix = Ok("a native prefix".to_string());
                    f.qemu_interpreter = qemu.clone();
                    f.binfmt = registered()
                }),
                false,
                Some(Method::Cross),
                2,
            ),
            (
                "rootfs asked for: hybrid",
                with(|f| {
                    f.toolchain = toolchain.clone();
                    f.wants_rootfs = Some("`--packages`".to_string());
                    f.hybrid_prefix = Ok("a native prefix".to_string());
                    f.qemu_interpreter = qemu.clone();
                    f.binfmt = registered()
                }),
                false,
                Some(Method::Hybrid),
                3,
            ),
            (
                "toolchain with needed sysroot",
                with(|f| {
                    f.toolchain = toolchain.clone();
                    f.needs_libraries = true;
                    f.sysroot_ready = true
                }),
                false,
                Some(Method::Cross),
                2,
            ),
            (
                "registered emulator",
                with(|f| {
                    f.qemu_interpreter = qemu.clone();
                    f.binfmt = registered()
                }),
                false,
                Some(Method::Emulated),
                4,
            ),
            (
                "a 32-bit sibling the host runs, no toolchain: its root filesystem, no emulator",
                with(|f| {
                    f.runs_natively = true;
                    f.qemu_interpreter = None;
                    f.binfmt = BinfmtState::Missing { can_install: false }
                }),
                false,
                Some(Method::Emulated),
                4,
            ),
            (
                "a 32-bit sibling the host runs, without QEMU for it at all",
                with(|f| {
                    f.runs_natively = true;
                    f.qemu_name = None;
                    f.emulator = None
                }),
                false,
                Some(Method::Emulated),
                4,
            ),
            (
                "missing entry without --setup",
                with(|f| {
                    f.qemu_interpreter = qemu.clone();
                    f.binfmt = BinfmtState::Missing { can_install: true }
                }),
                false,
                None,
                4,
            ),
            (
                "missing entry with --setup",
                with(|f| {
                    f.qemu_interpreter = qemu.clone();
                    f.binfmt = BinfmtState::Missing { can_install: true }
                }),
                true,
                Some(Method::Emulated),
                4,
            ),
            (
                "--setup cannot install without root",
                with(|f| f.qemu_interpreter = qemu.clone()),
                true,
                None,
                4,
            ),
            (
                "no interpreter",
                with(|f| f.binfmt = registered()),
                false,
                None,
                4,
            ),
            (
                "no debian port",
                with(|f| {
                    f.rootfs_architecture = None;
                    f.qemu_interpreter = qemu.clone();
                    f.binfmt = registered()
                }),
                false,
                None,
                4,
            ),
            ("nothing at all", bare(), true, None, 4),
        ];
        for (name, facts, setup, expected, considered) in table {
            let result = plan(MethodRequest::Auto, &facts, setup);
            let (method, decisions) = match &result {
                Ok(plan) => (Some(plan.method), plan.decisions.len()),
                Err(unavailable) => (None, unavailable.decisions.len()),
            };
            assert_eq!(method, expected, "{name}");
            assert_eq!(decisions, considered, "{name}: decisions");
        }
    }

    #[test]
    fn a_cpu_below_debians_baseline_rules_out_every_debian_method() {
        let conflict = (
            "raspberryPi's CPU (ARMv6KZ + VFPv2) is below Debian armhf's baseline".to_string(),
            Some("give a sysroot of your own".to_string()),
        );
        let facts = with(|f| {
            f.toolchain = Some("arm-linux-gnueabihf-gcc 12.2.0".to_string());
            f.hybrid_prefix = Ok("a native prefix".to_string());
            f.qemu_interpreter = Some(PathBuf::from("/usr/bin/qemu-arm-static"));
            f.binfmt = registered();
            f.baseline_conflict = Some(conflict.clone());
        });
        let unavailable = plan(MethodRequest::Auto, &facts, false).expect_err("no method");
        assert_eq!(unavailable.decisions.len(), 4);
        for decision in &unavailable.decisions[1..] {
            assert_eq!(decision.reason, conflict.0, "{:?}", decision.method);
        }
        assert!(unavailable
            .hint()
            .is_some_and(|hint| hint.contains("give a sysroot of your own")));
        // A sysroot of the user's own: cross serves again.
        let own = Facts {
            own_sysroot: true,
            ..facts
        };
        assert_eq!(
            plan(MethodRequest::Auto, &own, false)
                .expect("cross")
                .method,
            Method::Cross
        );
    }

    #[test]
    fn setup_is_planned_only_when_the_entry_is_missing() {
        let facts = with(|f| {
            f.qemu_interpreter = Some(PathBuf::from("/usr/bin/qemu-aarch64-static"));
            f.binfmt = BinfmtState::Missing { can_install: true };
        });
        let plan = plan(MethodRequest::Auto, &facts, true).expect("emulated with setup");
        assert_eq!(
            plan.setup,
            vec![Setup::InstallBinfmt {
                qemu_name: "aarch64".to_string()
            }]
        );
        let facts = with(|f| {
            f.qemu_interpreter = Some(PathBuf::from("/usr/bin/qemu-aarch64-static"));
            f.binfmt = registered();
        });
        assert!(super::plan(MethodRequest::Auto, &facts, true)
            .expect("emulated")
            .setup
            .is_empty());
    }

    #[test]
    fn an_explicit_method_is_judged_alone() {
        let facts = with(|f| f.toolchain = Some("aarch64-linux-gnu-gcc 12".to_string()));
        let emulated =
            plan(MethodRequest::Only(Method::Emulated), &facts, false).expect_err("no qemu");
        assert_eq!(emulated.decisions.len(), 1);
        assert_eq!(
            emulated.to_string(),
            "the `emulated` method cannot build for `aarch64-unknown-linux-gnu`\n  emulated: `qemu-aarch64` is not installed"
        );
        assert_eq!(
            emulated.hint().as_deref(),
            Some("for emulated: run `apt-get install qemu-user-static`")
        );
        let cross = plan(MethodRequest::Only(Method::Cross), &facts, false).expect("cross");
        assert_eq!(cross.method, Method::Cross);
        assert!(plan(MethodRequest::Only(Method::Native), &facts, false).is_err());
    }

    #[test]
    fn nothing_possible_says_what_to_install_for_each_method() {
        let unavailable = plan(MethodRequest::Auto, &bare(), false).expect_err("nothing installed");
        let hint = unavailable.hint().expect("hint");
        assert!(
            hint.contains(
                "for cross: run `archway toolchain install --target aarch64-unknown-linux-gnu`"
            ),
            "{hint}"
        );
        assert!(
            hint.contains("for emulated: run `apt-get install qemu-user-static`"),
            "{hint}"
        );
        let missing_entry =
            with(|f| f.qemu_interpreter = Some(PathBuf::from("/usr/bin/qemu-aarch64-static")));
        let hint = plan(MethodRequest::Auto, &missing_entry, false)
            .expect_err("no entry")
            .hint()
            .expect("hint");
        assert!(
            hint.contains("for emulated: run `sudo archway binfmt install aarch64`"),
            "{hint}"
        );
    }

    #[test]
    fn explain_lists_every_method() {
        let facts = with(|f| {
            f.qemu_interpreter = Some(PathBuf::from("/usr/bin/qemu-aarch64-static"));
            f.binfmt = registered();
        });
        let plan = plan(MethodRequest::Auto, &facts, false).expect("emulated");
        assert_eq!(
            plan.explain(),
            "target `aarch64-unknown-linux-gnu` on host `x86_64-unknown-linux-gnu`, method auto\n\
             \x20 native    no   `x86_64-unknown-linux-gnu` cannot run `aarch64-unknown-linux-gnu` binaries\n\
             \x20 cross     no   no cross toolchain for `aarch64-unknown-linux-gnu` is installed\n\
             \x20                fix: `archway toolchain install --target aarch64-unknown-linux-gnu`\n\
             \x20 hybrid    no   this host is not amd64\n\
             \x20 emulated  yes  binfmt entry `qemu-aarch64` (F) runs qemu-aarch64 (cpu cortex-a53), arm64/bookworm root filesystem\n\
             chosen: emulated\n"
        );
        assert!(plan
            .summary()
            .starts_with("method: emulated (binfmt entry `qemu-aarch64` (F)"));
    }

    #[test]
    fn the_root_filesystem_verdict_names_its_suite_and_refuses_a_rust_too_old() {
        let emulated = |facts: &Facts| {
            plan(MethodRequest::Only(Method::Emulated), facts, false)
                .map(|plan| plan.reason())
                .map_err(|unavailable| {
                    unavailable
                        .decisions
                        .iter()
                        .map(|verdict| verdict.reason.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
        };
        let ready = |f: &mut Facts| {
            f.qemu_interpreter = Some(PathBuf::from("/usr/bin/qemu-aarch64-static"));
            f.binfmt = registered();
        };
        // The suite asked for is the one named.
        let trixie = with(|f| {
            ready(f);
            f.rootfs_suite = Some(archway_rootfs::Suite::Trixie);
        });
        let reason = emulated(&trixie).expect("emulated serves");
        assert!(reason.ends_with("arm64/trixie root filesystem"), "{reason}");
        // A Cargo project asking more than the suite's rustc: refused, with rustup's way.
        let too_old = with(|f| {
            ready(f);
            let mut rust = rust(false, true).expect("facts");
            rust.needs = Some(crate::rust::RustNeeds {
                version: crate::rust::RustVersion {
                    major: 1,
                    minor: 85,
                },
                why: "`edition = \"2024\"` in `Cargo.toml`".to_string(),
            });
            f.rust = Some(rust);
        });
        let refused = emulated(&too_old).expect_err("bookworm's 1.63 is too old");
        assert!(
            refused.contains(
                "the arm64/bookworm root filesystem's rustc 1.63 is older than the project \
                 needs (Rust 1.85 (`edition = \"2024\"` in `Cargo.toml`))"
            ),
            "{refused}"
        );
        // Trixie's serves: the hint says so.
        let hint = plan(MethodRequest::Only(Method::Emulated), &too_old, false)
            .expect_err("refused")
            .hint();
        assert_eq!(
            hint.as_deref(),
            Some("use `--suite trixie` (Debian's rustc 1.85 there)")
        );
    }

    #[test]
    fn methods_with_one_fix_share_its_hint_line() {
        let facts = with(|f| {
            f.qemu_interpreter = Some(PathBuf::from("/usr/bin/qemu-aarch64-static"));
            f.binfmt = registered();
            let mut rust = rust(false, true).expect("facts");
            rust.needs = Some(crate::rust::RustNeeds {
                version: crate::rust::RustVersion {
                    major: 1,
                    minor: 90,
                },
                why: "`rust-version = \"1.90\"` in `Cargo.toml`".to_string(),
            });
            f.rust = Some(rust);
            f.rootfs_suite = Some(archway_rootfs::Suite::Trixie);
        });
        let unavailable = plan(MethodRequest::Auto, &facts, false).expect_err("none serves");
        assert_eq!(
            unavailable.hint().as_deref(),
            Some("for cross, emulated: run `rustup target add aarch64-unknown-linux-gnu`")
        );
    }

    fn rust(rustup: bool, debian: bool) -> Option<crate::rust::RustFacts> {
        Some(crate::rust::RustFacts {
            target: "aarch64-unknown-linux-gnu".to_string(),
            triple: Some("aarch64-unknown-linux-gnu".to_string()),
            rustup_std: rustup.then(|| PathBuf::from("/r/lib/rustlib/aarch64-unknown-linux-gnu")),
            debian: if debian {
                Ok(crate::rust::DebianRust {
                    architecture: Architecture::Arm64,
                    suite: archway_rootfs::Suite::Bookworm,
                    version: crate::rust::debian_rustc(archway_rootfs::Suite::Bookworm),
                })
            } else {
                Err("the native prefix holds Debian's amd64 programs, and this host is `aarch64-unknown-linux-gnu`".to_string())
            },
            debian_port: true,
            needs: None,
        })
    }

    #[test]
    fn cargo_projects_cross_with_rustups_std_or_debians_else_fall_through() {
        let toolchain = Some("aarch64-linux-gnu-gcc 12.2.0".to_string());
        let emulated = |f: &mut Facts| {
            f.qemu_interpreter = Some(PathBuf::from("/usr/bin/qemu-aarch64-static"));
            f.binfmt = registered();
        };
        // rustup's std: the host's cross toolchain is needed, as for C.
        let rustup = with(|f| {
            f.rust = rust(true, true);
            f.toolchain = toolchain.clone();
        });
        let chosen = plan(MethodRequest::Auto, &rustup, false).expect("cross");
        assert_eq!(chosen.method, Method::Cross);
        assert_eq!(chosen.reason(), "cross toolchain `aarch64-linux-gnu-gcc 12.2.0`, tests run by qemu-aarch64 (cpu cortex-a53); not native: `x86_64-unknown-linux-gnu` cannot run `aarch64-unknown-linux-gnu` binaries");
        // Debian's std: no host toolchain needed, the prefix brings the suite's.
        let debian = with(|f| {
            f.rust = rust(false, true);
            emulated(f);
        });
        let chosen = plan(MethodRequest::Auto, &debian, false).expect("cross");
        assert_eq!(chosen.method, Method::Cross);
        assert!(
            chosen.decisions[1].reason.starts_with(
                "no rustup standard library for `aarch64-unknown-linux-gnu`: Debian's rustc 1.63 \
                 with libstd-rust-dev:arm64 (bookworm), cargo and the cross gcc in a native prefix, \
                 tests run by qemu-aarch64"
            ),
            "{}",
            chosen.decisions[1].reason
        );
        // Neither: emulated, and --explain says why not cross and how to fix it.
        let neither = with(|f| {
            f.rust = rust(false, false);
            f.toolchain = toolchain.clone();
            emulated(f);
        });
        let chosen = plan(MethodRequest::Auto, &neither, false).expect("emulated");
        assert_eq!(chosen.method, Method::Emulated);
        let explained = chosen.explain();
        assert!(
            explained.contains(
                "  cross     no   the Rust standard library for `aarch64-unknown-linux-gnu` is not \
                 installed (rustup), and Debian's cannot serve: the native prefix holds Debian's \
                 amd64 programs, and this host is `aarch64-unknown-linux-gnu`\n\
                 \x20                fix: `rustup target add aarch64-unknown-linux-gnu`\n"
            ),
            "{explained}"
        );
        // Nothing at all: the hint names rustup's command.
        let nothing = with(|f| f.rust = rust(false, false));
        let hint = plan(MethodRequest::Auto, &nothing, false)
            .expect_err("nothing")
            .hint()
            .expect("hint");
        assert!(
            hint.contains("for cross: run `rustup target add aarch64-unknown-linux-gnu`"),
            "{hint}"
        );
    }

    #[test]
    fn method_requests_parse() {
        assert_eq!("auto".parse(), Ok(MethodRequest::Auto));
        assert_eq!(
            "emulated".parse(),
            Ok(MethodRequest::Only(Method::Emulated))
        );
        assert!("qemu".parse::<MethodRequest>().is_err());
        for method in Method::ALL {
            assert_eq!(
                MethodRequest::Only(method).to_string().parse(),
                Ok(MethodRequest::Only(method))
            );
        }
    }
}
