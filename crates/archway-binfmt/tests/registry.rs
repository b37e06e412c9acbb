//! The registry's logic against a simulated binfmt_misc root in a temporary directory.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use archway_binfmt::interpreter::PreserveArgv0;
use archway_binfmt::{
    magic, BinfmtFs, FlagRequest, InstallOptions, InstallOutcome, Registration, Registry, Status,
    Warning,
};

struct Fixture {
    _directory: tempfile::TempDir,
    root: PathBuf,
    records: PathBuf,
    persist: PathBuf,
    interpreters: PathBuf,
    registry: Registry,
}

fn fixture() -> Fixture {
    let directory = tempfile::tempdir().expect("tempdir");
    let root = directory.path().join("binfmt_misc");
    let records = directory.path().join("run");
    let persist = directory.path().join("binfmt.d");
    let interpreters = directory.path().join("bin");
    for path in [&root, &interpreters] {
        std::fs::create_dir_all(path).expect("mkdir");
    }
    for cpu in ["aarch64", "riscv64", "s390x", "x86_64"] {
        executable(&interpreters.join(format!("qemu-{cpu}-static")));
    }
    let fs = BinfmtFs::simulated(&root).expect("simulated root");
    let registry = Registry::new(
        fs,
        &records,
        &persist,
        vec![interpreters.clone()],
        "i386",
        PreserveArgv0::for_kernel(Some((5, 4))),
    );
    Fixture {
        _directory: directory,
        root,
        records,
        persist,
        interpreters,
        registry,
    }
}

fn executable(path: &Path) {
    std::fs::write(path, "").expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn target(name: &str) -> &'static magic::QemuTarget {
    magic::for_qemu(name).expect("target")
}

fn debian_aarch64() -> Registration {
    Registration::parse(&std::fs::read_to_string("tests/data/qemu-aarch64.conf").expect("fixture"))
        .expect("Debian's line parses")
}

#[test]
fn install_registers_with_fix_binary_and_records_ownership() {
    let f = fixture();
    let outcome = f
        .registry
        .install_target(target("aarch64"), &InstallOptions::default())
        .expect("install");
    let InstallOutcome::Installed {
        registration,
        replaced,
        persisted,
        warnings,
    } = outcome
    else {
        panic!("expected installed, got {outcome:?}")
    };
    assert_eq!(registration.name().as_str(), "qemu-aarch64");
    assert_eq!(
        registration.interpreter(),
        f.interpreters.join("qemu-aarch64-static")
    );
    assert_eq!(
        registration.flags().to_string(),
        "F",
        "old kernel: no P; never C or O by default"
    );
    assert_eq!((replaced, persisted, warnings), (None, None, vec![]));

    let entry = f
        .registry
        .fs()
        .entry("qemu-aarch64")
        .expect("read")
        .expect("registered");
    assert!(entry.enabled);
    assert!(entry.registration.same_definition(&registration));
    assert!(f.registry.is_owned(&entry));
    let record = std::fs::read_to_string(f.records.join("qemu-aarch64")).expect("record");
    assert_eq!(record.trim_end(), registration.render());
}

#[test]
fn installing_again_reports_already_present() {
    let f = fixture();
    let options = InstallOptions::default();
    f.registry
        .install_target(target("riscv64"), &options)
        .expect("install");
    let outcome = f
        .registry
        .install_target(target("riscv64"), &options)
        .expect("again");
    assert!(
        matches!(outcome, InstallOutcome::AlreadyPresent { .. }),
        "{outcome:?}"
    );
}

#[test]
fn conflicting_entry_is_reported_and_left_alone() {
    let f = fixture();
    let debian = debian_aarch64();
    f.registry
        .fs()
        .register(&debian)
        .expect("register Debian's entry");
    let before = std::fs::read_to_string(f.root.join("qemu-aarch64")).expect("entry file");

    let outcome = f
        .registry
        .install_target(target("aarch64"), &InstallOptions::default())
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
    assert_eq!(
        differences,
        vec!["interpreter", "flags"],
        "Debian's magic matches the same files"
    );
    assert_eq!(
        std::fs::read_to_string(f.root.join("qemu-aarch64")).expect("entry"),
        before
    );
    assert!(!f.records.join("qemu-aarch64").exists());
    let entry = f
        .registry
        .fs()
        .entry("qemu-aarch64")
        .expect("read")
        .expect("entry");
    assert!(!f.registry.is_owned(&entry));
}

#[test]
fn force_replaces_a_conflicting_entry() {
    let f = fixture();
    f.registry
        .fs()
        .register(&debian_aarch64())
        .expect("register");
    let options = InstallOptions {
        force: true,
        ..InstallOptions::default()
    };
    let outcome = f
        .registry
        .install_target(target("aarch64"), &options)
        .expect("install");
    let InstallOutcome::Installed {
        replaced,
        registration,
        ..
    } = outcome
    else {
        panic!("expected installed, got {outcome:?}")
    };
    assert_eq!(replaced, Some(debian_aarch64()));
    let entry = f
        .registry
        .fs()
        .entry("qemu-aarch64")
        .expect("read")
        .expect("entry");
    assert!(entry.registration.same_definition(&registration));
}

#[test]
fn host_family_is_skipped_unless_asked() {
    let f = fixture();
    let outcome = f
        .registry
        .install_target(target("x86_64"), &InstallOptions::default())
        .expect("install");
    assert_eq!(
        outcome,
        InstallOutcome::SkippedNative {
            target: "x86_64",
            family: "i386".into()
        }
    );
    let options = InstallOptions {
        include_native: true,
        ..InstallOptions::default()
    };
    let outcome = f
        .registry
        .install_target(target("x86_64"), &options)
        .expect("install");
    assert!(
        matches!(outcome, InstallOutcome::Installed { .. }),
        "{outcome:?}"
    );
}

#[test]
fn missing_interpreter_names_what_was_searched_and_how_to_install() {
    let f = fixture();
    let outcome = f
        .registry
        .install_target(target("ppc64le"), &InstallOptions::default())
        .expect("install");
    let InstallOutcome::InterpreterMissing {
        target,
        searched,
        install_command,
    } = outcome
    else {
        panic!("expected missing interpreter, got {outcome:?}")
    };
    assert_eq!(target, "ppc64le");
    assert_eq!(
        searched,
        vec![
            f.interpreters.join("qemu-ppc64le-static"),
            f.interpreters.join("qemu-ppc64le")
        ]
    );
    assert!(install_command.contains("qemu-user"), "{install_command}");
    assert_eq!(f.registry.fs().entries().expect("entries"), vec![]);
}

#[test]
fn interpreter_dir_overrides_the_search_path() {
    let f = fixture();
    let other = tempfile::tempdir().expect("tempdir");
    executable(&other.path().join("qemu-s390x"));
    let options = InstallOptions {
        interpreter_dir: Some(other.path().to_path_buf()),
        ..InstallOptions::default()
    };
    let outcome = f
        .registry
        .install_target(target("s390x"), &options)
        .expect("install");
    let InstallOutcome::Installed { registration, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(registration.interpreter(), other.path().join("qemu-s390x"));
}

#[test]
fn dynamic_interpreter_with_fix_binary_warns() {
    let f = fixture();
    let other = tempfile::tempdir().expect("tempdir");
    // /bin/sh is dynamically linked: it stands in for a dynamic qemu-riscv64.
    std::os::unix::fs::symlink("/bin/sh", other.path().join("qemu-riscv64")).expect("symlink");
    let options = InstallOptions {
        interpreter_dir: Some(other.path().to_path_buf()),
        ..InstallOptions::default()
    };
    let outcome = f
        .registry
        .install_target(target("riscv64"), &options)
        .expect("install");
    let InstallOutcome::Installed { warnings, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        warnings,
        vec![Warning::DynamicInterpreterWithFixBinary {
            interpreter: other.path().join("qemu-riscv64")
        }]
    );
}

#[test]
fn requested_flags_are_used_and_credentials_imply_open_binary() {
    let f = fixture();
    let options = InstallOptions {
        flags: FlagRequest {
            fix_binary: false,
            preserve_argv0: Some(true),
            open_binary: false,
            credentials: true,
        },
        ..InstallOptions::default()
    };
    let outcome = f
        .registry
        .install_target(target("s390x"), &options)
        .expect("install");
    let InstallOutcome::Installed { registration, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(registration.flags().to_string(), "PC");
    assert!(registration.flags().open_binary);
}

#[test]
fn uninstall_all_removes_only_entries_archway_owns() {
    let f = fixture();
    f.registry
        .fs()
        .register(&debian_aarch64())
        .expect("foreign entry");
    let options = InstallOptions::default();
    f.registry
        .install_target(target("riscv64"), &options)
        .expect("install");
    f.registry
        .install_target(target("s390x"), &options)
        .expect("install");

    let mut removed: Vec<String> = f
        .registry
        .uninstall_owned()
        .expect("uninstall")
        .into_iter()
        .map(|name| name.to_string())
        .collect();
    removed.sort();
    assert_eq!(removed, vec!["qemu-riscv64", "qemu-s390x"]);
    let left: Vec<String> = f
        .registry
        .fs()
        .entries()
        .expect("entries")
        .iter()
        .map(|entry| entry.name().to_string())
        .collect();
    assert_eq!(left, vec!["qemu-aarch64"]);
    assert!(!f.records.join("qemu-riscv64").exists());
}

#[test]
fn an_entry_replaced_by_someone_else_is_no_longer_owned() {
    let f = fixture();
    f.registry
        .install_target(target("aarch64"), &InstallOptions::default())
        .expect("install");
    // Someone removes archway's entry and registers their own under the same name.
    f.registry.fs().remove("qemu-aarch64").expect("remove");
    f.registry
        .fs()
        .register(&debian_aarch64())
        .expect("register");
    assert_eq!(f.registry.uninstall_owned().expect("uninstall"), vec![]);
    assert!(f
        .registry
        .fs()
        .entry("qemu-aarch64")
        .expect("read")
        .is_some());
}

#[test]
fn foreign_entries_go_when_named() {
    let f = fixture();
    f.registry
        .fs()
        .register(&debian_aarch64())
        .expect("foreign entry");
    f.registry.uninstall("qemu-aarch64").expect("uninstall");
    assert!(f
        .registry
        .fs()
        .entry("qemu-aarch64")
        .expect("read")
        .is_none());
    let error = f.registry.uninstall("qemu-aarch64").expect_err("gone");
    assert!(
        error
            .to_string()
            .contains("no binfmt_misc entry named `qemu-aarch64`"),
        "{error}"
    );
    assert!(error.hint().is_some());
}

#[test]
fn persist_writes_binfmt_d_and_counts_as_ownership() {
    let f = fixture();
    let options = InstallOptions {
        persist: true,
        ..InstallOptions::default()
    };
    let outcome = f
        .registry
        .install_target(target("riscv64"), &options)
        .expect("install");
    let InstallOutcome::Installed {
        persisted,
        registration,
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    let path = f.persist.join("archway-qemu-riscv64.conf");
    assert_eq!(persisted, Some(path.clone()));
    let text = std::fs::read_to_string(&path).expect("persisted file");
    let line = text.lines().find(|l| l.starts_with(':')).expect("a line");
    assert_eq!(Registration::parse(line).expect("parses"), registration);

    // The run-time record is gone after a reboot; the persisted file still proves ownership.
    std::fs::remove_dir_all(&f.records).expect("clear records");
    let entry = f
        .registry
        .fs()
        .entry("qemu-riscv64")
        .expect("read")
        .expect("entry");
    assert!(f.registry.is_owned(&entry));
    f.registry.uninstall("qemu-riscv64").expect("uninstall");
    assert!(!path.exists());
}

#[test]
fn enable_disable_entry_and_global_switch() {
    let f = fixture();
    f.registry
        .install_target(target("riscv64"), &InstallOptions::default())
        .expect("install");
    f.registry
        .set_enabled("qemu-riscv64", false)
        .expect("disable");
    let entry = f
        .registry
        .fs()
        .entry("qemu-riscv64")
        .expect("read")
        .expect("entry");
    assert!(!entry.enabled);
    assert!(f.registry.is_owned(&entry), "disabling keeps ownership");
    f.registry
        .set_enabled("qemu-riscv64", true)
        .expect("enable");
    assert!(
        f.registry
            .fs()
            .entry("qemu-riscv64")
            .expect("read")
            .expect("entry")
            .enabled
    );

    f.registry.set_status(Status::Disabled).expect("global off");
    assert_eq!(f.registry.fs().status().expect("status"), Status::Disabled);
    f.registry.set_status(Status::Enabled).expect("global on");
    assert_eq!(f.registry.fs().status().expect("status"), Status::Enabled);

    assert!(f.registry.set_enabled("nope", true).is_err());
}

#[test]
fn unmounted_root_is_an_error_with_the_mount_command() {
    let directory = tempfile::tempdir().expect("tempdir");
    let fs = BinfmtFs::new(directory.path());
    let registry = Registry::new(
        fs,
        directory.path().join("run"),
        directory.path().join("binfmt.d"),
        vec![PathBuf::from("/usr/bin")],
        "i386",
        PreserveArgv0::for_kernel(None),
    );
    let error = registry.owned().expect_err("not mounted");
    let hint = error.hint().expect("hint");
    assert!(hint.contains("mount -t binfmt_misc binfmt_misc"), "{hint}");
}

#[test]
fn arm_is_registered_on_an_aarch64_host_without_32_bit_compat() {
    use archway_platform::host::Host;
    let platform = archway_platform::Platform::parse("aarch64").expect("aarch64");
    let names = |registry: &Registry| -> Vec<&str> {
        registry.native_targets().iter().map(|t| t.name()).collect()
    };
    let f = fixture();
    let registry = Registry::new(
        f.registry.fs().clone(),
        &f.records,
        &f.persist,
        vec![f.interpreters.clone()],
        "arm",
        PreserveArgv0::for_kernel(None),
    );
    let without = registry.with_host(&Host {
        platform: platform.clone(),
        compat32: false,
    });
    assert_eq!(names(&without), vec!["aarch64"]);
    assert!(!without.runs_natively(target("arm")));

    let registry = Registry::new(
        f.registry.fs().clone(),
        &f.records,
        &f.persist,
        vec![f.interpreters.clone()],
        "arm",
        PreserveArgv0::for_kernel(None),
    );
    let with = registry.with_host(&Host {
        platform,
        compat32: true,
    });
    assert_eq!(names(&with), vec!["arm", "aarch64"]);
}

#[test]
fn handler_for_target_finds_an_existing_entry_of_any_name() {
    let f = fixture();
    assert_eq!(
        f.registry
            .handler_for_target(target("aarch64"))
            .expect("read"),
        None
    );
    f.registry
        .fs()
        .register(&debian_aarch64())
        .expect("register");
    let entry = f
        .registry
        .handler_for_target(target("aarch64"))
        .expect("read")
        .expect("entry");
    assert_eq!(entry.name().as_str(), "qemu-aarch64");
    assert_eq!(
        f.registry
            .handler_for_target(target("riscv64"))
            .expect("read"),
        None
    );
    f.registry
        .set_enabled("qemu-aarch64", false)
        .expect("disable");
    assert_eq!(
        f.registry
            .handler_for_target(target("aarch64"))
            .expect("read"),
        None
    );
}

#[test]
fn uninstall_all_also_removes_persisted_files_of_unregistered_entries() {
    let f = fixture();
    let options = InstallOptions {
        persist: true,
        ..InstallOptions::default()
    };
    f.registry
        .install_target(target("s390x"), &options)
        .expect("install");
    // A reboot without systemd-binfmt: the entry is gone, the persisted file stays.
    f.registry.fs().remove("qemu-s390x").expect("remove");
    std::fs::write(f.persist.join("other-tool.conf"), "# not archway's\n").expect("write");
    let removed = f.registry.uninstall_owned().expect("uninstall");
    assert_eq!(
        removed.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        vec!["qemu-s390x"]
    );
    assert!(!f.persist.join("archway-qemu-s390x.conf").exists());
    assert!(f.persist.join("other-tool.conf").exists());
}
