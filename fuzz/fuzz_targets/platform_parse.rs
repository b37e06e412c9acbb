//! `Platform::parse` on any text: catalog names, aliases, OCI platforms, Nix doubles, GNU and
//! Rust triples, and everything near them.
//!
//! Properties: parsing never panics; every accessor answers; the names a parsed platform
//! renders (`config`, `canonical_config`, `display_name`, `Display`, the OCI platform) parse
//! again to the same platform (the same cpu, vendor, kernel and ABI where a catalog entry adds
//! what a config cannot say).
#![no_main]

use archway_platform::Platform;
use libfuzzer_sys::fuzz_target;

/// `name` parses to `original`. A catalog entry carries attributes its GNU config cannot say
/// (nixpkgs' `pkgsStatic` entries set `isStatic`, `ucrt64` sets `libc = "ucrt"` on
/// `x86_64-w64-mingw32`), so a config rendered from a catalog platform names the same cpu,
/// vendor, kernel and ABI; every other name parses to an equal platform.
fn assert_same(original: &Platform, name: &str, what: &str, input: &str, whole: bool) {
    let again = match Platform::parse(name) {
        Ok(again) => again,
        Err(error) => panic!("{input:?} parsed; its {what} {name:?} does not: {error}"),
    };
    let same = if whole || original.catalog_name().is_none() {
        again == *original
    } else {
        (again.cpu(), again.vendor(), again.kernel(), again.abi())
            == (
                original.cpu(),
                original.vendor(),
                original.kernel(),
                original.abi(),
            )
    };
    assert!(
        same,
        "{input:?} parsed to {original:?}; its {what} {name:?} parsed to {again:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(platform) = Platform::parse(input) else {
        return;
    };
    assert_same(&platform, &platform.config(), "config", input, false);
    assert_same(
        &platform,
        &platform.canonical_config(),
        "canonical config",
        input,
        false,
    );
    assert_same(&platform, &platform.to_string(), "Display", input, false);
    // The catalog name, when there is one: the whole platform.
    assert_same(
        &platform,
        &platform.display_name(),
        "display name",
        input,
        true,
    );
    if let Some(oci) = platform.oci_platform() {
        let again = Platform::parse(&oci)
            .unwrap_or_else(|error| panic!("{input:?}: OCI name {oci:?} fails: {error}"));
        assert_eq!(again.oci_platform(), Some(oci), "{input:?}");
    }
    // Every accessor answers for every platform.
    let _ = (
        platform.rust_target(),
        platform.llvm_triple(),
        platform.debian_arch(),
    );
    let _ = (
        platform.qemu_user(),
        platform.linux_arch(),
        platform.uname_machine(),
    );
    let _ = (
        platform.elf(),
        platform.multiarch(),
        platform.nix_qemu_arch(),
    );
    let _ = (platform.system(), platform.catalog_name());
});
