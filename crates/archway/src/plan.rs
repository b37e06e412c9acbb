//! The automatic choice of a build method (`--method auto`, the default).
//!
//! nixpkgs builds natively when the build machine can execute the host platform, and
//! otherwise "transparently" through an emulated system. archway adds the fast path in between:
//! 1. **native** when the host runs the target's binaries itself (x86_64 runs i686);
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
use std::str::FromStr;

use serde::Serialize;

use archway_rootfs::Architecture;

/// How a build runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Native,
    Cross,
    Emulated,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Native, Method::Cross, Method::Emulated];

    pub fn name(self) -> &'static str {
        match self {
            Method::Native => "native",
            Method::Cross => "cross",
            Method::Emulated => "emulated",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the user asked for: `--method auto|native|cross|emulated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodRequest {
    #[default]
    Auto,
    Only(Method),
}

impl FromStr for MethodRequest {
    type Err = String;
    fn from_str(input: &str) -> Result<MethodRequest, String> {
        if input == "auto" {
            return Ok(MethodRequest::Auto);
        }
        Method::ALL
            .into_iter()
            .find(|method| method.name() == input)
            .map(MethodRequest::Only)
            .ok_or_else(|| format!("unknown method `{input}` (auto, native, cross, emulated)"))
    }
}

impl fmt::Display for MethodRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MethodRequest::Auto => f.write_str("auto"),
            MethodRequest::Only(method) => method.fmt(f),
        }
    }
}

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

/// Everything the choice depends on, gathered from the machine or made up by a test.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    /// The target as the user will recognise it (`riscv64-unknown-linux-gnu`).
    pub target: String,
    /// The host (`x86_64-unknown-linux-gnu`).
    pub host: String,
    /// The host executes the target's binaries itself (`Host::runs_natively`).
    pub runs_natively: bool,
    /// A usable cross toolchain for the target (`aarch64-linux-gnu-gcc 12.2.0`).
    pub toolchain: Option<String>,
    /// The command that installs a cross toolchain, when the distribution has one.
    pub toolchain_install: Option<String>,
    /// The project needs target libraries (`--packages`, the configuration).
    pub needs_libraries: bool,
    /// A sysroot with those libraries exists.
    pub sysroot_ready: bool,
    /// The command that fills the sysroot.
    pub sysroot_add: Option<String>,
    /// The Debian architecture of a root filesystem for the target (`None`: no Debian port).
    pub rootfs_architecture: Option<Architecture>,
    /// QEMU's user-mode name for the target (`aarch64`), if QEMU emulates it.
    pub qemu_name: Option<String>,
    /// The QEMU interpreter found on the host.
    pub qemu_interpreter: Option<PathBuf>,
    pub binfmt: BinfmtState,
}

impl Facts {
    /// The facts of this machine for `target`: the host probe, the cross toolchains and QEMU
    /// interpreters on `search_path` (normally `PATH`; a test can hide tools), and the
    /// system's binfmt_misc entries. `needs_libraries`/`sysroot_ready` come from the project
    /// and its configuration.
    pub fn gather(
        target: &archway_platform::Platform,
        host: &archway_platform::host::Host,
        search_path: &std::ffi::OsStr,
        needs_libraries: bool,
        sysroot_ready: bool,
    ) -> Facts {
        let target_name = target.config();
        let toolchain =
            archway_toolchain::select(target, &archway_toolchain::Request::default(), search_path)
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
        Facts {
            host: host.platform.config(),
            runs_natively: host.runs_natively(target),
            toolchain,
            toolchain_install,
            needs_libraries,
            sysroot_ready,
            sysroot_add: needs_libraries
                .then(|| format!("archway sysroot add --target {target_name} <packages>")),
            rootfs_architecture: Architecture::from_platform(target).ok(),
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
}

/// Work to do before the build can run with the chosen method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum Setup {
    /// Register the binfmt_misc entry for this QEMU target (`--setup` asked for it).
    InstallBinfmt { qemu_name: String },
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
        for decision in &self.decisions {
            write!(f, "\n  {}: {}", decision.method, decision.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for Unavailable {}

impl Unavailable {
    /// What to install for each method, one `method: command` per line.
    pub fn hint(&self) -> Option<String> {
        let fixes: Vec<String> = self
            .decisions
            .iter()
            .filter_map(|decision| {
                Some(format!(
                    "for {}: run `{}`",
                    decision.method,
                    decision.fix.as_ref()?
                ))
            })
            .collect();
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
        }],
        setup: Vec::new(),
        facts: facts.clone(),
    }
}

/// Chooses the method for `request` from `facts`. `setup` allows installing a missing binfmt
/// entry (`--setup`).
pub fn plan(request: MethodRequest, facts: &Facts, setup: bool) -> Result<Plan, Box<Unavailable>> {
    let order: &[Method] = match request {
        MethodRequest::Auto => &Method::ALL,
        MethodRequest::Only(method) => match method {
            Method::Native => &[Method::Native],
            Method::Cross => &[Method::Cross],
            Method::Emulated => &[Method::Emulated],
        },
    };
    let mut decisions = Vec::new();
    for &method in order {
        let (decision, steps) = judge(method, facts, setup);
        let usable = decision.usable;
        decisions.push(decision);
        if usable {
            return Ok(Plan {
                method,
                request,
                decisions,
                setup: steps,
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

fn judge(method: Method, facts: &Facts, setup: bool) -> (Decision, Vec<Setup>) {
    let verdict = |usable: bool, reason: String, fix: Option<String>| Decision {
        method,
        usable,
        reason,
        fix,
    };
    match method {
        Method::Native if facts.runs_natively => (
            verdict(
                true,
                format!("`{}` runs `{}` binaries natively", facts.host, facts.target),
                None,
            ),
            Vec::new(),
        ),
        Method::Native => (
            verdict(
                false,
                format!("`{}` cannot run `{}` binaries", facts.host, facts.target),
                None,
            ),
            Vec::new(),
        ),
        Method::Cross => (judge_cross(facts, verdict), Vec::new()),
        Method::Emulated => judge_emulated(facts, setup, verdict),
    }
}

fn judge_cross(
    facts: &Facts,
    verdict: impl Fn(bool, String, Option<String>) -> Decision,
) -> Decision {
    match &facts.toolchain {
        None => verdict(
            false,
            format!("no cross toolchain for `{}` is installed", facts.target),
            facts.toolchain_install.clone(),
        ),
        Some(toolchain) if facts.needs_libraries && !facts.sysroot_ready => verdict(
            false,
            format!(
                "`{toolchain}` is installed, but the sysroot lacks the libraries the project needs"
            ),
            facts.sysroot_add.clone(),
        ),
        Some(toolchain) => verdict(true, format!("cross toolchain `{toolchain}`"), None),
    }
}

fn judge_emulated(
    facts: &Facts,
    setup: bool,
    verdict: impl Fn(bool, String, Option<String>) -> Decision,
) -> (Decision, Vec<Setup>) {
    let Some(architecture) = facts.rootfs_architecture else {
        return (
            verdict(
                false,
                format!("Debian has no root filesystem for `{}`", facts.target),
                None,
            ),
            Vec::new(),
        );
    };
    let Some(qemu_name) = &facts.qemu_name else {
        return (
            verdict(
                false,
                format!("QEMU does not emulate `{}`", facts.target),
                None,
            ),
            Vec::new(),
        );
    };
    if facts.qemu_interpreter.is_none() {
        return (
            verdict(
                false,
                format!("`qemu-{qemu_name}` is not installed"),
                Some("apt-get install qemu-user-static".to_string()),
            ),
            Vec::new(),
        );
    }
    let rootfs = format!(
        "{architecture}/{} root filesystem",
        architecture.default_suite()
    );
    match &facts.binfmt {
        BinfmtState::Registered { entry, fix_binary } => {
            let flag = if *fix_binary { " (F)" } else { "" };
            (
                verdict(
                    true,
                    format!("binfmt entry `{entry}`{flag} runs QEMU, {rootfs}"),
                    None,
                ),
                Vec::new(),
            )
        }
        BinfmtState::Missing { can_install: true } if setup => (
            verdict(
                true,
                format!("`--setup` registers `qemu-{qemu_name}`, {rootfs}"),
                None,
            ),
            vec![Setup::InstallBinfmt {
                qemu_name: qemu_name.clone(),
            }],
        ),
        BinfmtState::Missing { can_install } => {
            let (fix, also) = if *can_install {
                (
                    format!("archway binfmt install {qemu_name}"),
                    " (`--setup` registers one)",
                )
            } else {
                (format!("sudo archway binfmt install {qemu_name}"), "")
            };
            (
                verdict(
                    false,
                    format!(
                        "no binfmt_misc entry runs `{}` binaries{also}",
                        facts.target
                    ),
                    Some(fix),
                ),
                Vec::new(),
            )
        }
    }
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
            toolchain: None,
            toolchain_install: Some(
                "archway toolchain install --target aarch64-unknown-linux-gnu".to_string(),
            ),
            needs_libraries: false,
            sysroot_ready: false,
            sysroot_add: Some(
                "archway sysroot add --target aarch64-unknown-linux-gnu libpng-dev".to_string(),
            ),
            rootfs_architecture: Some(Architecture::Arm64),
            qemu_name: Some("aarch64".to_string()),
            qemu_interpreter: None,
            binfmt: BinfmtState::Missing { can_install: false },
        }
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
    fn auto_prefers_native_then_cross_then_emulated() {
        let toolchain = Some("aarch64-linux-gnu-gcc 12.2.0".to_string());
        let qemu = Some(PathBuf::from("/usr/bin/qemu-aarch64-static"));
        // (facts, --setup, expected method or None, number of decisions made)
        let table: Vec<(&str, Facts, bool, Option<Method>, usize)> = vec![
            (
                "native host",
                with(|f| f.runs_natively = true),
                false,
                Some(Method::Native),
                1,
            ),
            (
                "native wins over cross",
                with(|f| {
                    f.runs_natively = true;
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
                3,
            ),
            (
                "missing entry without --setup",
                with(|f| {
                    f.qemu_interpreter = qemu.clone();
                    f.binfmt = BinfmtState::Missing { can_install: true }
                }),
                false,
                None,
                3,
            ),
            (
                "missing entry with --setup",
                with(|f| {
                    f.qemu_interpreter = qemu.clone();
                    f.binfmt = BinfmtState::Missing { can_install: true }
                }),
                true,
                Some(Method::Emulated),
                3,
            ),
            (
                "--setup cannot install without root",
                with(|f| f.qemu_interpreter = qemu.clone()),
                true,
                None,
                3,
            ),
            (
                "no interpreter",
                with(|f| f.binfmt = registered()),
                false,
                None,
                3,
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
                3,
            ),
            ("nothing at all", bare(), true, None, 3),
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
             \x20 emulated  yes  binfmt entry `qemu-aarch64` (F) runs QEMU, arm64/bookworm root filesystem\n\
             chosen: emulated\n"
        );
        assert!(plan
            .summary()
            .starts_with("method: emulated (binfmt entry `qemu-aarch64` (F)"));
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
