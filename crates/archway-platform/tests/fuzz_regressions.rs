//! Inputs the fuzz targets (`fuzz/`, see fuzz/README.md) found to crash, kept as regression
//! tests in the stable suite, plus properties the fuzz targets check.

use std::path::Path;

use archway_platform::{identify, identify_prefix, BinaryFormat, Cpu};

/// Every file under `tests/data/fuzz-inspect/`: neither `identify` nor `identify_prefix` panics,
/// whatever file length is claimed.
#[test]
fn inspect_inputs_found_by_fuzzing_return() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-inspect");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("the regression inputs are committed") {
        let path = entry.expect("a directory entry").path();
        let bytes = std::fs::read(&path).expect("a regression input");
        let length = bytes.len() as u64;
        let _ = identify(&bytes);
        for claimed in [length, length.saturating_sub(1), length + 4096, u64::MAX] {
            let _ = identify_prefix(&bytes, claimed);
        }
        count += 1;
    }
    assert!(count >= 2, "{count} inputs in {}", dir.display());
}

/// object 0.36's wasm reader panicked (index out of bounds) on a module whose `name` section
/// names a function that does not exist; archway now checks the section layout itself.
#[test]
fn wasm_whose_preamble_repeats_is_malformed_not_a_panic() {
    let bytes = include_bytes!("data/fuzz-inspect/wasm-name-section-names-a-missing-function.wasm");
    let error = identify(bytes).expect_err("a section id of 0x61 is not WebAssembly");
    assert!(
        error.to_string().contains("malformed WebAssembly"),
        "{error}"
    );
}

/// A module clang built (`clang --target=wasm32 -nostdlib -Wl,--no-entry`) still identifies
/// with the section walker.
#[test]
fn wasm_built_by_clang_is_wasm32() {
    let bytes = include_bytes!("data/fuzz-inspect/clang-wasm32-library.wasm");
    let binary = identify(bytes).expect("a valid module");
    assert_eq!(binary.format, BinaryFormat::Wasm);
    assert_eq!(binary.platform.cpu(), Cpu::Wasm32);
}

/// The walker refuses what the core specification's section grammar refuses. (object needs 16
/// bytes to recognise a file at all, so each module starts with a 9-byte custom section.)
#[test]
fn wasm_section_layout_errors_are_reported() {
    let preamble = b"\0asm\x01\0\0\0\x00\x07\x06custom".to_vec();
    let module = identify(&preamble).expect("a module of one custom section is valid");
    assert_eq!(module.format, BinaryFormat::Wasm);
    let cases: &[(&[u8], &str)] = &[
        (b"\x01\x05\x00", "runs past the end"),
        (b"\x0e\x00", "unknown section id 14"),
        (b"\x01\xff\xff\xff\xff\xff", "cut or too large"),
        (b"\x00\x02\x05a", "name runs past its section"),
        (b"\x00\x02\x01\xff", "not UTF-8"),
    ];
    for (sections, expected) in cases {
        let bytes = [preamble.as_slice(), sections].concat();
        let error = identify(&bytes).expect_err("malformed");
        assert!(
            error.to_string().contains(expected),
            "{sections:?}: {error}"
        );
    }
    let version_2 = b"\0asm\x02\0\0\0\0\0\0\0\0\0\0\0";
    let error = identify(version_2).expect_err("version 2");
    assert!(error.to_string().contains("version 1"), "{error}");
}

/// Found by `platform_parse`: a catalog entry can say what its GNU config cannot. nixpkgs'
/// `ucrt64` is `{ config = "x86_64-w64-mingw32"; libc = "ucrt"; }`, and that config alone
/// means MSVCRT; so the config names the same cpu, vendor, kernel and ABI, and only the
/// catalog name gives back the whole platform.
#[test]
fn catalog_libc_is_kept_by_the_catalog_name_not_the_config() {
    let ucrt64 = archway_platform::Platform::parse("ucrt64").expect("a catalog name");
    let from_config = archway_platform::Platform::parse(&ucrt64.config()).expect("its config");
    assert_eq!(
        (
            from_config.cpu(),
            from_config.vendor(),
            from_config.kernel(),
            from_config.abi()
        ),
        (ucrt64.cpu(), ucrt64.vendor(), ucrt64.kernel(), ucrt64.abi())
    );
    assert_ne!(
        from_config.libc(),
        ucrt64.libc(),
        "the config cannot say UCRT"
    );
    let from_name = archway_platform::Platform::parse(&ucrt64.display_name()).expect("its name");
    assert_eq!(from_name, ucrt64);
}
