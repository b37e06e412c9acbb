//! Inputs the fuzz target `binfmt_entry` (`fuzz/`, see fuzz/README.md) found to break a
//! property, kept as regression tests in the stable suite. Each file under
//! `tests/data/fuzz-binfmt_entry/` is what the target reads: an entry's name on the first line,
//! then its entry file.

use std::path::Path;

use archway_binfmt::{Entry, Registration};

/// The target's properties, on one input: a registration line or an entry file that parses
/// renders to text that parses to the same value.
fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(registration) = Registration::parse(&text) {
        let line = registration.render();
        assert_eq!(
            Registration::parse(&line).ok(),
            Some(registration),
            "{line:?}"
        );
    }
    let (name, file) = text.split_once('\n').unwrap_or(("fuzz", &text));
    if let Ok(entry) = Entry::parse(name, file) {
        let rendered = entry.render();
        assert_eq!(
            Entry::parse(entry.name().as_str(), &rendered),
            Ok(entry),
            "{rendered:?}"
        );
    }
}

#[test]
fn inputs_found_by_fuzzing_keep_their_properties() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-binfmt_entry");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("the regression inputs are committed") {
        let path = entry.expect("a directory entry").path();
        check(&std::fs::read(&path).expect("a regression input"));
        count += 1;
    }
    assert!(count >= 1, "no inputs in {}", dir.display());
}

/// The kernel ends each line of an entry file with `\n` alone (fs/binfmt_misc.c
/// `entry_status`), and an interpreter or extension may end in `\r`: reading the file with
/// `str::lines` dropped that `\r`, so the entry read back was not the one registered.
#[test]
fn entry_file_keeps_a_trailing_carriage_return() {
    let text = "enabled\ninterpreter /usr/bin/qemu\r\nflags: F\nextension .exe\r\n";
    let entry = Entry::parse("crlf", text).expect("a valid entry file");
    assert_eq!(
        entry.registration.interpreter(),
        Path::new("/usr/bin/qemu\r")
    );
    assert_eq!(
        entry.registration.rule(),
        &archway_binfmt::Rule::Extension {
            extension: "exe\r".to_string()
        }
    );
    assert_eq!(Entry::parse("crlf", &entry.render()), Ok(entry));
}
