//! `identify` (a whole file) and `identify_prefix` (the first bytes of a longer file, as
//! `archway inspect` reads at most 16 MiB) on any bytes.
//!
//! Properties: neither panics, whatever length the caller claims for the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = archway_platform::identify(data);
    // The claimed file length comes from the first 8 bytes' sum with the input length, so the
    // fuzzer explores both "the prefix is the whole file" and "the file is far longer".
    let length = data.len() as u64;
    let extra = data.iter().take(8).fold(0u64, |sum, byte| {
        sum.wrapping_mul(31).wrapping_add(u64::from(*byte))
    });
    let _ = archway_platform::identify_prefix(data, length);
    let _ = archway_platform::identify_prefix(data, length.saturating_add(extra));
    let _ = archway_platform::identify_prefix(data, u64::MAX);
    if let Some(shorter) = data.len().checked_sub(1) {
        // A file shorter than its prefix is a caller's lie; it must still not panic.
        let _ = archway_platform::identify_prefix(data, shorter as u64);
    }
});
