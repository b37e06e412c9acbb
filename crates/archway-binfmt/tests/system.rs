//! System tests on the real kernel: real registrations under unique names, real foreign binaries
//! built by Debian's cross compilers, run by path. Needs root and binfmt_misc; outside CI they
//! skip when those are missing, under `CI=true` they fail instead.
//!
//! Other entries may be registered on the machine (Debian's `qemu-*`, other tests'): these tests
//! never touch an entry they did not create, and every entry they create is removed by a guard
//! even when an assertion fails.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use archway_binfmt::interpreter::{self, PreserveArgv0};
use archway_binfmt::{
    magic, BinfmtFs, EntryName, Flags, Handler, InstallOptions, InstallOutcome, Registration,
    Registry, Rule,
};

/// The five architectures the issue names: QEMU target and Debian cross compiler.
const TARGETS: &[(&str, &str)] = &[
    ("aarch64", "aarch64-linux-gnu-gcc"),
    ("arm", "arm-linux-gnueabihf-gcc"),
    ("riscv64", "riscv64-linux-gnu-gcc"),
    ("s390x", "s390x-linux-gnu-gcc"),
    ("ppc64le", "powerpc64le-linux-gnu-gcc"),
];

const HELLO: &str = r#"
#include <stdio.h>
int main(int argc, char **argv) {
    printf("hello from %s argv0=%s args=%d\n", ARCH, argv[0], argc - 1);
    return 0;
}
"#;

/// The tests register entries that match each other's binaries (the s390x conflict entry matches
/// the s390x hello): one at a time, so "the newest entry handles it" holds within each test.
static KERNEL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serialize() -> std::sync::MutexGuard<'static, ()> {
    KERNEL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Root and a mounted binfmt_misc, or a skip (outside CI) / failure (in CI).
fn system_ready(test: &str) -> bool {
    let problem = if !rustix::process::geteuid().is_root() {
        Some("not root".to_string())
    } else {
        match BinfmtFs::system().mount() {
            Ok(_) => None,
            Err(error) => Some(format!("cannot mount binfmt_misc: {error}")),
        }
    };
    match problem {
        None => true,
        Some(why) => !archway_platform::testing::skip_unless_ci(&format!("{test}: {why}")),
    }
}

/// Removes every entry whose name starts with the test's unique prefix — only entries the test
/// created — when dropped, also on panic.
struct Cleanup {
    prefix: String,
}

impl Cleanup {
    fn new(test: &str) -> Cleanup {
        Cleanup {
            prefix: format!("archway-tmp-test-{}-{test}-", std::process::id()),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let fs = BinfmtFs::system();
        let Ok(entries) = fs.entries() else { return };
        for entry in entries {
            if entry.name().as_str().starts_with(&self.prefix) {
                if let Err(error) = fs.remove(entry.name().as_str()) {
                    eprintln!("cleanup: cannot remove `{}`: {error}", entry.name());
                }
            }
        }
    }
}

fn registry(state: &Path) -> Registry {
    Registry::new(
        BinfmtFs::system(),
        state.join("run"),
        state.join("binfmt.d"),
        interpreter::path_directories(),
        magic::host_family(),
        PreserveArgv0::detect(),
    )
}

/// Builds a static hello for `target` with `compiler` into `directory`.
fn build_hello(directory: &Path, target: &str, compiler: &str) -> PathBuf {
    let source = directory.join("hello.c");
    std::fs::write(&source, HELLO).expect("write source");
    let output = directory.join(format!("hello-{target}"));
    let result = Command::new(compiler)
        .args(["-static", "-O2", &format!("-DARCH=\"{target}\""), "-o"])
        .arg(&output)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{compiler}` (apt-get install gcc-{compiler}): {e}")
        });
    assert!(
        result.status.success(),
        "{compiler} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    output
}

fn header(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("read binary");
    bytes[..bytes.len().min(256)].to_vec()
}

fn explain(registry: &Registry, path: &Path) -> Handler {
    registry
        .fs()
        .handler_for(&registry.native_targets(), &header(path), path)
        .expect("explain")
}

#[test]
fn installed_entries_run_foreign_static_binaries_by_path() {
    if !system_ready("installed_entries_run_foreign_static_binaries_by_path") {
        return;
    }
    let _serial = serialize();
    let cleanup = Cleanup::new("run");
    let state = tempfile::tempdir().expect("tempdir");
    let registry = registry(state.path());
    let options = InstallOptions {
        name_prefix: cleanup.prefix.clone(),
        ..InstallOptions::default()
    };
    for (target, compiler) in TARGETS {
        let qemu = magic::for_qemu(target).expect("table has target");
        let binary = build_hello(state.path(), target, compiler);

        let outcome = registry.install_target(qemu, &options).expect("install");
        let InstallOutcome::Installed {
            registration,
            warnings,
            ..
        } = outcome
        else {
            panic!("{target}: expected installed, got {outcome:?}")
        };
        assert_eq!(warnings, vec![], "{target}: qemu-user-static is static");
        assert!(registration.flags().fix_binary, "{target}: F by default");
        assert!(
            !registration.flags().credentials,
            "{target}: never C by default"
        );

        // explain: our entry is the newest matching one, so the kernel picks it.
        match explain(&registry, &binary) {
            Handler::Entry { name, .. } => assert_eq!(name, *registration.name(), "{target}"),
            other => panic!("{target}: expected our entry, got {other:?}"),
        }

        let output = Command::new(&binary)
            .args(["a", "b"])
            .output()
            .expect("run by path");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{target}: {output:?}");
        assert!(
            stdout.starts_with(&format!("hello from {target} ")),
            "{target}: {stdout}"
        );
        assert!(stdout.trim_end().ends_with("args=2"), "{target}: {stdout}");
        if registration.flags().preserve_argv0 {
            // P: QEMU gets the caller's argv[0] (AT_FLAGS_PRESERVE_ARGV0) and passes it on.
            let output = Command::new(&binary)
                .arg0("custom-name")
                .output()
                .expect("run with argv0");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                stdout.contains("argv0=custom-name "),
                "{target}: P kept argv0: {stdout}"
            );
        } else {
            assert!(
                stdout.contains(&format!("argv0={} ", binary.display())),
                "{target}: {stdout}"
            );
        }
    }

    // uninstall --all: exactly the five entries this test installed.
    let mut removed: Vec<String> = registry
        .uninstall_owned()
        .expect("uninstall owned")
        .iter()
        .map(|name| name.to_string())
        .collect();
    removed.sort();
    let mut expected: Vec<String> = TARGETS
        .iter()
        .map(|(target, _)| format!("{}{target}", cleanup.prefix))
        .collect();
    expected.sort();
    assert_eq!(removed, expected);
    let left = registry.fs().entries().expect("entries");
    assert!(left
        .iter()
        .all(|entry| !entry.name().as_str().starts_with(&cleanup.prefix)));
}

/// A riscv64 binary with an EI_PAD byte no QEMU entry accepts (their masks require zero
/// padding), and an entry that accepts only that byte: the only possible handler is the test's,
/// whatever else is registered, so disabling it must leave nothing.
#[test]
fn disabled_entry_makes_exec_fail_with_enoexec_then_enable_restores_it() {
    if !system_ready("disabled_entry_makes_exec_fail_with_enoexec_then_enable_restores_it") {
        return;
    }
    let _serial = serialize();
    let cleanup = Cleanup::new("disable");
    let state = tempfile::tempdir().expect("tempdir");
    let registry = registry(state.path());
    let binary = build_hello(state.path(), "riscv64", "riscv64-linux-gnu-gcc");
    const PAD: usize = 15;
    let mut bytes = std::fs::read(&binary).expect("read");
    bytes[PAD] = 0x5a;
    std::fs::write(&binary, &bytes).expect("write");

    let qemu = magic::for_qemu("riscv64").expect("riscv64");
    let mut magic = qemu.magic().to_vec();
    magic[PAD] = 0x5a;
    let interpreter = interpreter::find("riscv64", &interpreter::path_directories())
        .0
        .expect("qemu-riscv64-static is installed (apt-get install qemu-user-static)");
    let name = EntryName::new(format!("{}riscv64-pad", cleanup.prefix)).expect("name");
    let registration = Registration::new(
        name.clone(),
        Rule::Magic {
            offset: 0,
            magic,
            mask: Some(qemu.mask().to_vec()),
        },
        &interpreter,
        Flags {
            fix_binary: true,
            ..Flags::default()
        },
    )
    .expect("valid");
    registry.fs().register(&registration).expect("register");

    // Our own matching logic agrees that only this entry handles the file.
    match explain(&registry, &binary) {
        Handler::Entry {
            name: handler,
            also_matching,
            ..
        } => {
            assert_eq!(handler, name);
            assert_eq!(also_matching, vec![]);
        }
        other => panic!("expected our entry, got {other:?}"),
    }
    let output = Command::new(&binary).output().expect("runs");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("hello from riscv64"));

    registry.set_enabled(name.as_str(), false).expect("disable");
    assert_eq!(explain(&registry, &binary), Handler::None);
    let error = Command::new(&binary)
        .output()
        .expect_err("nothing handles it");
    assert_eq!(
        error.raw_os_error(),
        Some(rustix::io::Errno::NOEXEC.raw_os_error()),
        "{error}"
    );

    registry.set_enabled(name.as_str(), true).expect("enable");
    let output = Command::new(&binary).output().expect("runs again");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("hello from riscv64"));
}

/// Debian's own definition, registered under the name archway wants: archway reports the
/// conflict, replaces nothing, and `uninstall --all` leaves it (it is not archway's).
#[test]
fn coexists_with_debians_entries_and_reports_the_conflict() {
    if !system_ready("coexists_with_debians_entries_and_reports_the_conflict") {
        return;
    }
    let _serial = serialize();
    let cleanup = Cleanup::new("debian");
    let state = tempfile::tempdir().expect("tempdir");
    let registry = registry(state.path());
    let conf = Path::new("/usr/lib/binfmt.d/qemu-s390x.conf");
    let text = std::fs::read_to_string(conf)
        .expect("Debian's qemu-user-static binfmt.d files (apt-get install qemu-user-static)");
    let line = text.lines().find(|l| l.starts_with(':')).expect("a line");
    let debian = Registration::parse(line).expect("Debian's line parses");
    let name = EntryName::new(format!("{}s390x", cleanup.prefix)).expect("name");
    let debian = debian.renamed(name.clone());
    registry
        .fs()
        .register(&debian)
        .expect("register Debian's definition");
    let before = std::fs::read_to_string(registry.fs().root().join(name.as_str())).expect("entry");

    let options = InstallOptions {
        name_prefix: cleanup.prefix.clone(),
        ..InstallOptions::default()
    };
    let outcome = registry
        .install_target(magic::for_qemu("s390x").expect("s390x"), &options)
        .expect("install");
    let InstallOutcome::Conflict {
        existing,
        differences,
        ..
    } = outcome
    else {
        panic!("expected a conflict, got {outcome:?}")
    };
    assert_eq!(existing, debian);
    assert!(differences.contains(&"interpreter"), "{differences:?}");
    let after = std::fs::read_to_string(registry.fs().root().join(name.as_str())).expect("entry");
    assert_eq!(after, before, "nothing replaced");

    assert_eq!(registry.uninstall_owned().expect("uninstall"), vec![]);
    assert!(registry.fs().entry(name.as_str()).expect("read").is_some());

    // Debian's definition runs s390x binaries too (through its -binfmt-P wrapper).
    let binary = build_hello(state.path(), "s390x", "s390x-linux-gnu-gcc");
    let output = Command::new(&binary).output().expect("runs");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("hello from s390x"));
}

/// The kernel lists entries newest first: the order `handler_for` relies on.
#[test]
fn directory_order_is_newest_registration_first() {
    if !system_ready("directory_order_is_newest_registration_first") {
        return;
    }
    let _serial = serialize();
    let cleanup = Cleanup::new("order");
    let fs = BinfmtFs::system();
    let qemu = magic::for_qemu("hexagon").expect("hexagon");
    let names: Vec<String> = ["first", "second", "third"]
        .iter()
        .map(|n| format!("{}{n}", cleanup.prefix))
        .collect();
    for name in &names {
        // No F: the interpreter need not exist, and nothing is run.
        let registration = qemu
            .registration(
                EntryName::new(name.clone()).expect("name"),
                "/nonexistent/qemu-hexagon",
                Flags::default(),
            )
            .expect("valid");
        fs.register(&registration).expect("register");
    }
    let listed: Vec<String> = fs
        .entries()
        .expect("entries")
        .into_iter()
        .map(|entry| entry.name().to_string())
        .filter(|name| name.starts_with(&cleanup.prefix))
        .collect();
    let mut newest_first = names.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    let entry = fs.entry(&names[0]).expect("read").expect("entry");
    assert_eq!(
        entry.registration.rule(),
        &qemu.rule(),
        "read back byte for byte"
    );
}
