//! `archway binfmt` against a directory standing in for binfmt_misc (`ARCHWAY_BINFMT_ROOT`),
//! with fake interpreters, so the output is the same on every machine. The real kernel is
//! exercised by the archway-binfmt crate's system tests.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::{archway, Archway};

/// A test home with a fake binfmt_misc root, records and binfmt.d directories, and a `bin/`
/// of empty executable `qemu-<cpu>-static` files (which do not run, so `P` is never detected).
struct Setup {
    directory: tempfile::TempDir,
}

impl Setup {
    fn new(cpus: &[&str]) -> Setup {
        let directory = tempfile::Builder::new()
            .prefix("archway-binfmt-cli-")
            .tempdir()
            .expect("tempdir");
        for sub in ["root", "records", "binfmt.d", "bin"] {
            std::fs::create_dir_all(directory.path().join(sub)).expect("mkdir");
        }
        for cpu in cpus {
            let path = directory.path().join(format!("bin/qemu-{cpu}-static"));
            std::fs::write(&path, "").expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        Setup { directory }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.directory.path().join(sub)
    }

    fn archway(&self) -> Archway {
        archway()
            .env("ARCHWAY_BINFMT_ROOT", self.path("root"))
            .env("ARCHWAY_BINFMT_RECORDS", self.path("records"))
            .env("ARCHWAY_BINFMT_PERSIST_DIR", self.path("binfmt.d"))
            .env("PATH", self.path("bin"))
            .filter(self.directory.path().to_string_lossy(), "[SETUP]")
    }
}

fn write_riscv64_header(path: &Path) {
    let target = archway_binfmt::magic::for_qemu("riscv64").expect("riscv64");
    let mut header = target.magic().to_vec();
    header.resize(64, 0);
    std::fs::write(path, header).expect("write header");
}

#[test]
fn binfmt_install_status_uninstall() {
    let setup = Setup::new(&["aarch64", "riscv64", "arm"]);
    let output = setup
        .archway()
        .args([
            "binfmt",
            "install",
            "aarch64,linux/arm/v7",
            "riscv64-linux",
            "x86_64",
        ])
        .run();
    output.assert_code(0);
    insta::assert_snapshot!("install", output.snapshot());

    let output = setup.archway().args(["binfmt", "status"]).run();
    output.assert_code(0);
    let stdout = output.filtered(&output.stdout);
    assert!(
        stdout.starts_with("binfmt_misc: mounted at [SETUP]/root, enabled\n"),
        "{stdout}"
    );
    for name in ["qemu-aarch64", "qemu-arm", "qemu-riscv64"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(
            line.contains(" enabled ") && line.contains(" F ") && line.contains(" archway "),
            "{line}"
        );
    }

    let output = setup.archway().args(["binfmt", "status", "--json"]).run();
    output.assert_code(0);
    let value: serde_json::Value = serde_json::from_str(&output.stdout).expect("JSON");
    let emulators: Vec<&str> = value["emulators"]
        .as_array()
        .expect("emulators")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(emulators.len(), 3, "{value}");
    let supported: Vec<&str> = value["supported"]
        .as_array()
        .expect("supported")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for platform in ["linux/arm64", "linux/riscv64"] {
        assert!(supported.contains(&platform), "{supported:?}");
    }
    assert_eq!(value["entries"][0]["owner"], "archway");

    let output = setup.archway().args(["binfmt", "uninstall", "--all"]).run();
    output.assert_code(0);
    let output = setup.archway().args(["binfmt", "status"]).run();
    assert!(
        output.stdout.contains("no entries"),
        "{}",
        output.snapshot()
    );
}

#[test]
fn binfmt_install_unknown_architecture_lists_supported() {
    let setup = Setup::new(&[]);
    let output = setup
        .archway()
        .args(["binfmt", "install", "aarch64,vax"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
    assert_eq!(
        std::fs::read_dir(setup.path("root")).expect("root").count(),
        2,
        "nothing registered"
    );
}

#[test]
fn binfmt_install_missing_interpreter_says_what_to_install() {
    let setup = Setup::new(&[]);
    let output = setup.archway().args(["binfmt", "install", "s390x"]).run();
    output.assert_code(1);
    let stderr = output.filtered(&output.stderr);
    assert!(
        stderr.contains("interpreter missing: s390x: no `qemu-s390x-static` or `qemu-s390x`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: install QEMU's emulators: `sudo "),
        "{stderr}"
    );
}

#[test]
fn binfmt_install_bad_line_names_column_and_rule() {
    let setup = Setup::new(&[]);
    let output = setup
        .archway()
        .args([
            "binfmt",
            "install",
            "--line",
            r":name:M::\x7f\x45:\xff:/bin/q:F",
        ])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn binfmt_conflict_is_left_alone_unless_forced() {
    let setup = Setup::new(&["aarch64"]);
    let foreign = r":qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/bin/true:";
    // Registered by someone else (no archway record).
    archway_binfmt::BinfmtFs::simulated(setup.path("root"))
        .expect("simulated root")
        .register(&archway_binfmt::Registration::parse(foreign).expect("valid line"))
        .expect("register");

    let output = setup.archway().args(["binfmt", "install", "aarch64"]).run();
    output.assert_code(1);
    insta::assert_snapshot!("conflict", output.snapshot());

    let output = setup.archway().args(["binfmt", "uninstall", "--all"]).run();
    output.assert_code(0);
    assert!(
        setup.path("root/qemu-aarch64").exists(),
        "not archway's: kept"
    );

    let output = setup
        .archway()
        .args(["binfmt", "install", "--force", "aarch64"])
        .run();
    output.assert_code(0);
    insta::assert_snapshot!("forced", output.snapshot());
}

#[test]
fn binfmt_install_line_is_archways_and_uninstall_all_removes_it() {
    let setup = Setup::new(&[]);
    let line = r":my-format:M::\x7fELF\x02\x01\x01\x61::/bin/true:";
    setup
        .archway()
        .args(["binfmt", "install", "--line", line])
        .run()
        .assert_code(0);
    let output = setup
        .archway()
        .args(["binfmt", "install", "--line", line])
        .run();
    output.assert_code(0);
    assert!(
        output
            .stderr
            .contains("`my-format`: already present (identical)"),
        "{}",
        output.snapshot()
    );
    setup
        .archway()
        .args(["binfmt", "uninstall", "--all"])
        .run()
        .assert_code(0);
    assert!(!setup.path("root/my-format").exists());
}

#[test]
fn binfmt_explain_before_and_after_install() {
    let setup = Setup::new(&["riscv64"]);
    let file = setup.path("program");
    write_riscv64_header(&file);
    let output = setup.archway().args(["binfmt", "explain"]).arg(&file).run();
    output.assert_code(0);
    insta::assert_snapshot!("explain_nothing", output.snapshot());

    setup
        .archway()
        .args(["binfmt", "install", "riscv64"])
        .run()
        .assert_code(0);
    let output = setup.archway().args(["binfmt", "explain"]).arg(&file).run();
    output.assert_code(0);
    insta::assert_snapshot!("explain_entry", output.snapshot());

    setup
        .archway()
        .args(["binfmt", "disable", "qemu-riscv64"])
        .run()
        .assert_code(0);
    let output = setup
        .archway()
        .args(["binfmt", "explain", "--json"])
        .arg(&file)
        .run();
    let value: serde_json::Value = serde_json::from_str(&output.stdout).expect("JSON");
    assert_eq!(value["handler"], "none");
    assert_eq!(value["fix"], "sudo archway binfmt install riscv64");

    setup
        .archway()
        .args(["binfmt", "disable"])
        .run()
        .assert_code(0);
    assert_eq!(
        std::fs::read_to_string(setup.path("root/status")).expect("status"),
        "disabled\n"
    );
    setup
        .archway()
        .args(["binfmt", "enable"])
        .run()
        .assert_code(0);
    assert_eq!(
        std::fs::read_to_string(setup.path("root/status")).expect("status"),
        "enabled\n"
    );
}

#[test]
fn binfmt_explain_missing_file() {
    let setup = Setup::new(&[]);
    let output = setup
        .archway()
        .args(["binfmt", "explain", "/nonexistent/program"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn binfmt_export_formats() {
    let setup = Setup::new(&[]);
    for format in ["systemd", "debian", "nixos", "lines"] {
        let output = setup
            .archway()
            .args([
                "binfmt",
                "export",
                "--format",
                format,
                "riscv64",
                "--preserve-argv0",
                "yes",
            ])
            .run();
        output.assert_code(0);
        insta::assert_snapshot!(format!("export_{format}"), output.snapshot());
    }
}

#[test]
fn binfmt_persist_writes_binfmt_d() {
    let setup = Setup::new(&["riscv64"]);
    let output = setup
        .archway()
        .args(["binfmt", "install", "--persist", "riscv64"])
        .run();
    output.assert_code(0);
    let text = std::fs::read_to_string(setup.path("binfmt.d/archway-qemu-riscv64.conf"))
        .expect("persisted");
    assert!(
        text.lines().any(|l| l.starts_with(":qemu-riscv64:M::")),
        "{text}"
    );
    setup
        .archway()
        .args(["binfmt", "uninstall", "qemu-riscv64"])
        .run()
        .assert_code(0);
    assert!(!setup.path("binfmt.d/archway-qemu-riscv64.conf").exists());
}

/// As an ordinary user (root drops to `nobody` with setpriv), changing binfmt_misc fails with
/// the same command line prefixed by `sudo`. Nothing is registered: the kernel refuses first.
#[test]
fn binfmt_install_without_root_gives_the_sudo_command() {
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.starts_with(b"0\n"));
    // The test binary's directory may be private (a clone under /root): run a copy.
    let directory = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let binary = directory.path().join("archway");
    std::fs::copy(env!("CARGO_BIN_EXE_archway"), &binary).expect("copy archway");
    let mut command = if is_root {
        if !crate::support::have_tool("setpriv")
            && crate::support::skip_unless_ci("setpriv (util-linux) is missing")
        {
            return;
        }
        let mut command = std::process::Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&binary);
        command
    } else {
        std::process::Command::new(&binary)
    };
    let output = command
        .args(["binfmt", "install", "riscv64"])
        .env_remove("ARCHWAY_BINFMT_ROOT")
        .env("NO_COLOR", "1")
        .output()
        .expect("run archway");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // An entry already there (Debian's, enabled by update-binfmts, or a parallel test's) is
    // reported before anything needs root: a conflict (exit 1) or the same entry (exit 0).
    let conflict = stderr.contains("`qemu-riscv64` is registered with another interpreter");
    if conflict || stderr.contains("already present") {
        assert_eq!(
            output.status.code(),
            Some(if conflict { 1 } else { 0 }),
            "{stderr}"
        );
        return;
    }
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: permission denied: "), "{stderr}");
    assert!(stderr.contains("needs root"), "{stderr}");
    assert!(
        stderr.contains("hint: run it as root: `sudo archway binfmt install riscv64`"),
        "{stderr}"
    );
}
