//! Lookup tables built once: name → catalog entry, Debian architecture, CPU; (CPU, ABI) →
//! Debian architecture. Parsing is on the path of every command, so these replace linear
//! scans of the ~300 names (see docs/performance.md).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;

use crate::catalog::{CatalogEntry, CATALOG};
use crate::cpu::Cpu;
use crate::debian::{DebianArch, DEBIAN_ARCHES};
use crate::triple::Abi;
use crate::{NameForm, Platform};

/// The keys are short, trusted, static names, so a cheap multiplicative hash over 8-byte
/// words (the "Fx" hash of rustc) beats SipHash here.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WordHash(u64);

impl WordHash {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for WordHash {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type Map<K, V> = HashMap<K, V, BuildHasherDefault<WordHash>>;

static CATALOG_BY_NAME: LazyLock<Map<&'static str, &'static CatalogEntry>> =
    LazyLock::new(|| CATALOG.iter().map(|entry| (entry.name, entry)).collect());

static DEBIAN_BY_NAME: LazyLock<Map<&'static str, &'static DebianArch>> =
    LazyLock::new(|| DEBIAN_ARCHES.iter().map(|arch| (arch.name, arch)).collect());

static DEBIAN_BY_PARTS: LazyLock<Map<(Cpu, Abi), &'static DebianArch>> = LazyLock::new(|| {
    let mut map = Map::default();
    // The first row that lists a (cpu, abi) pair wins, as in a linear scan of the table.
    for arch in DEBIAN_ARCHES {
        for &cpu in arch.cpus {
            for &abi in arch.abis {
                map.entry((cpu, abi)).or_insert(arch);
            }
        }
    }
    map
});

static CPU_BY_NAME: LazyLock<Map<&'static str, Cpu>> =
    LazyLock::new(|| Cpu::ALL.iter().map(|&cpu| (cpu.name(), cpu)).collect());

pub(crate) fn catalog_entry(name: &str) -> Option<&'static CatalogEntry> {
    CATALOG_BY_NAME.get(name).copied()
}

pub(crate) fn debian_arch(name: &str) -> Option<&'static DebianArch> {
    DEBIAN_BY_NAME.get(name).copied()
}

pub(crate) fn debian_arch_for(cpu: Cpu, abi: Abi) -> Option<&'static DebianArch> {
    DEBIAN_BY_PARTS.get(&(cpu, abi)).copied()
}

pub(crate) fn cpu(name: &str) -> Option<Cpu> {
    CPU_BY_NAME.get(name).copied()
}

/// Every name in archway's vocabulary, elaborated: catalog names and configs, aliases,
/// Debian architectures and GNU types, the Rust targets and doubles of all of them, OCI names.
/// Built on first use (~600 names, well under a millisecond).
static KNOWN: LazyLock<Map<Cow<'static, str>, (Platform, NameForm)>> = LazyLock::new(|| {
    let mut names: Vec<Cow<'static, str>> = Vec::new();
    for entry in CATALOG {
        names.push(Cow::Borrowed(entry.name));
        names.push(Cow::Borrowed(entry.config));
    }
    for arch in DEBIAN_ARCHES {
        names.push(Cow::Borrowed(arch.name));
        names.push(Cow::Borrowed(arch.gnu_type));
        names.push(Cow::Borrowed(arch.multiarch));
    }
    names.extend(
        [
            "aarch64",
            "x86_64",
            "386",
            "ppc64le",
            "mips64le",
            "mipsle",
            "arm",
            "loongarch64",
        ]
        .map(Cow::Borrowed),
    );
    let mut map = Map::default();
    let mut derived: Vec<String> = Vec::new();
    for name in names {
        if map.contains_key(&name) {
            continue;
        }
        let Ok((mut platform, form)) = Platform::parse_uncached(&name) else {
            continue;
        };
        // Keep the given config as the static name itself: cloning it then costs nothing.
        if platform.config() == *name {
            platform = platform.with_given_config(name.clone());
        }
        derived.extend(platform.rust_target());
        derived.push(platform.system());
        derived.push(platform.canonical_config());
        derived.extend(platform.oci_platform());
        map.insert(name, (platform, form));
    }
    for name in derived {
        if map.contains_key(name.as_str()) {
            continue;
        }
        if let Ok((platform, form)) = Platform::parse_uncached(&name) {
            // A derived name is an owned string: keep no borrowed copy of it in the value.
            let platform = platform.without_given_config_if_canonical();
            map.insert(Cow::Owned(name), (platform, form));
        }
    }
    map
});

/// How many parses a process does before it builds [`KNOWN`]: building it costs about as
/// much as 1000 parses (0.7 ms), which a one-shot CLI call should not pay.
const PARSES_BEFORE_TABLE: usize = 256;

static PARSES: AtomicUsize = AtomicUsize::new(0);

/// The elaborated platform for a name in archway's vocabulary, once this process has parsed
/// enough names for the table to pay off.
pub(crate) fn known(name: &str) -> Option<&'static (Platform, NameForm)> {
    if PARSES.load(Ordering::Relaxed) < PARSES_BEFORE_TABLE {
        PARSES.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    KNOWN.get(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table is a cache: every entry is what the parser gives for its name.
    #[test]
    fn known_names_match_the_parser() {
        assert!(KNOWN.len() > 400, "{} names", KNOWN.len());
        for (name, (platform, form)) in KNOWN.iter() {
            let (parsed, parsed_form) = Platform::parse_uncached(name).expect("a known name");
            assert_eq!(platform, &parsed, "{name}");
            assert_eq!(form, &parsed_form, "{name}");
            assert_eq!(platform.config(), parsed.config(), "{name}");
            assert_eq!(platform.catalog_name(), parsed.catalog_name(), "{name}");
        }
    }
}
