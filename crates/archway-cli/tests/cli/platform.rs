//! `archway platform list` / `show`.

use crate::support::archway;

#[test]
fn platform_list_table() {
    let output = archway().args(["platform", "list"]).run();
    output.assert_code(0);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn platform_list_json_has_every_catalog_entry() {
    let output = archway().args(["platform", "list", "--json"]).run();
    output.assert_code(0);
    let value: serde_json::Value = serde_json::from_str(&output.stdout).expect("valid JSON");
    let entries = value.as_array().expect("a JSON array");
    assert_eq!(entries.len(), 92);
    let first = &entries[0];
    for key in ["name", "config", "system", "debian_arch", "qemu_user"] {
        assert!(first.get(key).is_some(), "missing `{key}` in {first}");
    }
}

#[test]
fn platform_show_catalog_name() {
    let output = archway()
        .args(["platform", "show", "aarch64-multiplatform"])
        .run();
    output.assert_code(0);
    // The last line depends on the machine running the tests.
    let stdout: String = output
        .stdout
        .lines()
        .filter(|line| !line.starts_with("runs natively here"))
        .map(|line| format!("{line}\n"))
        .collect();
    insta::assert_snapshot!(stdout);
}

#[test]
fn platform_show_json_for_oci_name() {
    let output = archway()
        .args(["platform", "show", "linux/arm/v7", "--json"])
        .run();
    output.assert_code(0);
    let mut value: serde_json::Value = serde_json::from_str(&output.stdout).expect("valid JSON");
    value
        .as_object_mut()
        .expect("an object")
        .remove("runs_natively");
    insta::assert_json_snapshot!(value);
}

#[test]
fn platform_show_unknown_cpu_suggests() {
    let output = archway().args(["platform", "show", "risc64-linux"]).run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn platform_show_misspelled_catalog_name_suggests() {
    let output = archway()
        .args(["platform", "show", "aarch64-multiplatfrom"])
        .run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}

#[test]
fn platform_show_bad_oci_variant() {
    let output = archway().args(["platform", "show", "linux/arm/v9"]).run();
    output.assert_code(1);
    insta::assert_snapshot!(output.snapshot());
}
