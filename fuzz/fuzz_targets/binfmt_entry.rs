//! The binfmt_misc registration-line parser (`:name:type:offset:magic:mask:interpreter:flags`,
//! the kernel's `fs/binfmt_misc.c` `create_entry`) and the entry-file parser (what
//! `/proc/sys/fs/binfmt_misc/<name>` shows).
//!
//! Properties: neither parser panics on any bytes; whatever parses renders to text that parses
//! again to the same value.
#![no_main]

use archway_binfmt::{Entry, Registration};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The kernel takes bytes; the parser takes `&str`, so invalid UTF-8 becomes U+FFFD here,
    // which still exercises every length and delimiter rule.
    let text = String::from_utf8_lossy(data);

    if let Ok(registration) = Registration::parse(&text) {
        let line = registration.render();
        match Registration::parse(&line) {
            Ok(again) => assert_eq!(again, registration, "input {text:?} rendered as {line:?}"),
            Err(error) => panic!("input {text:?} rendered as {line:?}, which fails: {error}"),
        }
    }

    // The entry-file form: the first line is the entry's name, the rest its file.
    let (name, file) = text.split_once('\n').unwrap_or(("fuzz", &text));
    if let Ok(entry) = Entry::parse(name, file) {
        let rendered = entry.render();
        match Entry::parse(entry.name().as_str(), &rendered) {
            Ok(again) => assert_eq!(again, entry, "entry file {file:?} rendered as {rendered:?}"),
            Err(error) => {
                panic!("entry file {file:?} rendered as {rendered:?}, which fails: {error}")
            }
        }
    }
});
