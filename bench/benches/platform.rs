//! Parse + elaborate throughput: archway's `Platform::parse` side by side with
//! target-lexicon's `Triple::from_str` on the same inputs, in one criterion run.
//!
//! `cargo bench -p archway-bench --bench platform`; numbers in docs/performance.md.

use std::hint::black_box;
use std::str::FromStr;

use archway_platform::Platform;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Triples both libraries accept (GNU and Rust spellings).
const TRIPLES: &[&str] = &[
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-gnu",
    "armv7-unknown-linux-gnueabihf",
    "riscv64gc-unknown-linux-gnu",
    "powerpc64le-unknown-linux-gnu",
    "s390x-unknown-linux-gnu",
    "i686-unknown-linux-gnu",
    "mips64el-unknown-linux-gnuabi64",
    "x86_64-unknown-linux-musl",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-gnu",
    "x86_64-unknown-freebsd",
    "wasm32-wasip1",
    "arm-unknown-linux-gnueabi",
    "loongarch64-unknown-linux-gnu",
    "aarch64-linux-android",
];

/// Valid triples outside archway's table of known names (the full parser runs).
const UNCOMMON: &[&str] = &[
    "x86_64-pc-linux-gnu",
    "sparc64-unknown-linux-gnu",
    "thumbv7em-none-eabihf",
    "i586-unknown-linux-musl",
    "armv7-unknown-linux-musleabihf",
    "aarch64-unknown-none",
    "riscv32imac-unknown-none-elf",
    "powerpc-unknown-linux-gnuspe",
];

/// Names only archway accepts: catalog names, aliases, Nix doubles, OCI platforms.
const OTHER_FORMS: &[&str] = &[
    "aarch64-multiplatform",
    "raspberryPi",
    "mingwW64",
    "arm64",
    "armhf",
    "ppc64el",
    "aarch64-linux",
    "riscv64-linux",
    "linux/arm/v7",
    "linux/arm64/v8",
];

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(TRIPLES.len() as u64));
    group.bench_function("archway Platform::parse", |b| {
        b.iter(|| {
            for input in TRIPLES {
                black_box(Platform::parse(black_box(input)).ok());
            }
        })
    });
    group.bench_function("target-lexicon Triple::from_str", |b| {
        b.iter(|| {
            for input in TRIPLES {
                black_box(target_lexicon::Triple::from_str(black_box(input)).ok());
            }
        })
    });
    group.finish();

    // Parse, then ask for the names a build needs (what `archway build` does per target).
    let mut group = c.benchmark_group("parse+elaborate");
    group.throughput(Throughput::Elements(TRIPLES.len() as u64));
    group.bench_function("archway parse + config/debian/qemu/rust", |b| {
        b.iter(|| {
            for input in TRIPLES {
                if let Ok(platform) = Platform::parse(black_box(input)) {
                    black_box(platform.canonical_config());
                    black_box(platform.debian_gnu_type());
                    black_box(platform.qemu_user());
                    black_box(platform.rust_target());
                }
            }
        })
    });
    group.bench_function("target-lexicon from_str + to_string", |b| {
        b.iter(|| {
            for input in TRIPLES {
                if let Ok(triple) = target_lexicon::Triple::from_str(black_box(input)) {
                    black_box(triple.to_string());
                    black_box(triple.pointer_width().ok());
                    black_box(triple.endianness().ok());
                }
            }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("uncommon triples");
    group.throughput(Throughput::Elements(UNCOMMON.len() as u64));
    group.bench_function("archway Platform::parse", |b| {
        b.iter(|| {
            for input in UNCOMMON {
                black_box(Platform::parse(black_box(input)).ok());
            }
        })
    });
    group.bench_function("target-lexicon Triple::from_str", |b| {
        b.iter(|| {
            for input in UNCOMMON {
                black_box(target_lexicon::Triple::from_str(black_box(input)).ok());
            }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("archway-only forms");
    group.throughput(Throughput::Elements(OTHER_FORMS.len() as u64));
    group.bench_function("catalog names, aliases, doubles, OCI", |b| {
        b.iter(|| {
            for input in OTHER_FORMS {
                black_box(Platform::parse(black_box(input)).ok());
            }
        })
    });
    group.bench_function("unknown names (error + suggestions)", |b| {
        b.iter(|| {
            for input in ["risc64-linux", "aarch64-multiplatfrom", "linux/arm/v9"] {
                black_box(Platform::parse(black_box(input)).err());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
