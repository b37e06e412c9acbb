//! The temporary binfmt_misc entry on the real kernel: registered when nothing runs the target,
//! shared within the process, removed with its last user — and a foreign program really runs.
//!
//! ppc64le: no build test here uses it, so no other test of this binary shares the entry.

use std::process::Command;

use archway::emulation::TemporaryRegistration;
use archway::platform::Platform;
use archway_binfmt::BinfmtFs;

use crate::{have_program, require};

#[test]
fn temporary_registration_runs_foreign_programs_and_is_removed_after_its_last_user() {
    for tool in ["powerpc64le-linux-gnu-gcc", "qemu-ppc64le-static"] {
        if !require(have_program(tool), &format!("`{tool}` on PATH")) {
            return;
        }
    }
    let fs = BinfmtFs::system();
    if !require(
        rustix::process::geteuid().is_root(),
        "root (binfmt_misc registrations)",
    ) {
        return;
    }
    if !fs.is_mounted() {
        fs.mount().expect("mount binfmt_misc");
    }
    let target = Platform::parse("ppc64le").expect("ppc64le");

    // A static program, so no target libraries are needed to run it.
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join("hello.c");
    std::fs::write(
        &source,
        "#include <stdio.h>\nint main(void) { puts(\"hello from ppc64le\"); return 3; }\n",
    )
    .expect("write");
    let program = dir.path().join("hello");
    let status = Command::new("powerpc64le-linux-gnu-gcc")
        .arg("-static")
        .arg("-o")
        .arg(&program)
        .arg(&source)
        .status()
        .expect("compile");
    assert!(status.success());

    let first = TemporaryRegistration::for_target(&target).expect("registration");
    let Some(first) = first else {
        // An entry someone else made (or the host) runs ppc64le already: nothing may be added.
        let names: Vec<String> = fs
            .entries()
            .expect("entries")
            .iter()
            .filter(|entry| entry.name().as_str().starts_with("archway-tmp-"))
            .map(|entry| entry.name().as_str().to_string())
            .collect();
        assert!(
            !names.iter().any(|name| name.ends_with("-ppc64le")),
            "an existing handler, yet a temporary entry: {names:?}"
        );
        let output = Command::new(&program)
            .output()
            .expect("runs through the existing entry");
        assert_eq!(output.status.code(), Some(3));
        return;
    };
    let name = first.name().to_string();
    assert_eq!(name, format!("archway-tmp-{}-ppc64le", std::process::id()));
    let entry = fs.entry(&name).expect("read").expect("registered");
    assert!(entry.registration.flags().fix_binary, "the F flag");

    let second = TemporaryRegistration::for_target(&target)
        .expect("registration")
        .expect("shared");
    assert_eq!(second.name(), name, "one entry per process and emulator");

    let output = Command::new(&program).output().expect("runs under QEMU");
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "hello from ppc64le\n"
    );

    drop(first);
    assert!(
        fs.entry(&name).expect("read").is_some(),
        "still used by the second"
    );
    drop(second);
    assert!(
        fs.entry(&name).expect("read").is_none(),
        "removed with its last user"
    );
}
